# shellcheck shell=bash
# The demos' topology picture: demo_graph NODE NAME writes what ipopctl
# graph says NODE sees as DOT into build/NAME.dot and, when graphviz is
# installed, renders it with dot -Tpng into build/NAME.png; it says where
# the files are (owned by the user behind sudo, if any).  Sourced by
# tools/demo and tools/demo-gvpn after test/e2e/lib.sh (ctl, demo_say).

demo_graph()
{
	local node=$1 out=$IPOP_BUILD/$2 f
	demo_say "Topology as $node sees it (ipopctl graph)"
	if ! ctl "$node" graph >"$out.dot"; then
		echo "  ipopctl graph failed" >&2
		return 1
	fi
	echo "[$node] \$ ipopctl --socket $(tincan_sock "$node") graph > $out.dot"
	if command -v dot >/dev/null 2>&1; then
		if dot -Tpng "$out.dot" -o "$out.png"; then
			echo "  picture: $out.png"
		else
			echo "  dot could not render $out.dot" >&2
		fi
	else
		echo "  graphviz is not installed (tools/install-deps installs it):" \
			"the DOT text is in $out.dot"
	fi
	for f in "$out.dot" "$out.png"; do
		[[ -e $f && -n ${SUDO_UID:-} ]] &&
			chown "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$f"
	done
	return 0
}
