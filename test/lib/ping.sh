# shellcheck shell=bash disable=SC2034
# Reachability probes between this run's namespaces (ns.sh), for the test
# scripts, the demos and the bench.  Timeouts in seconds (wait.sh); times
# printed in milliseconds.  Each ping is bounded by its own -w deadline.

# ping_fam DST: -6 for an IPv6 address, -4 otherwise.
ping_fam() { [[ $1 == *:* ]] && echo -6 || echo -4; }

# ping_ok NS DST [COUNT]: at least one reply within about COUNT seconds.
ping_ok()
{
	nsx "$1" ping "$(ping_fam "$2")" -n -q -c "${3:-1}" -W 1 \
		-w "$((${3:-1} + 1))" "$2" >/dev/null
}

# ping_fails NS DST: a proof that NS cannot reach DST, not merely that the
# probe went wrong: namespace NS exists, the interface its route to DST
# leaves by exists, and ping sends three probes and exits 1 (no reply).  A
# missing namespace, no route, or any other ping error (exit 2) is a
# failure, reported on stderr.
ping_fails()
{
	local ns=$1 dst=$2 route dev rc
	if ! ns_exists "$ns"; then
		echo "ping_fails: namespace $(ns_name "$ns") does not exist" >&2
		return 1
	fi
	route=$(ip -n "$(ns_name "$ns")" route get "$dst" 2>&1)
	dev=$(sed -n 's/.* dev \([^ ]*\).*/\1/p' <<<"$route" | head -n 1)
	if [[ -z $dev ]] || ! ip -n "$(ns_name "$ns")" link show dev "$dev" \
		>/dev/null 2>&1; then
		echo "ping_fails: $ns has no interface towards $dst: $route" >&2
		return 1
	fi
	nsx "$ns" ping "$(ping_fam "$dst")" -n -q -c 3 -i 0.3 -W 1 -w 3 \
		"$dst" >/dev/null 2>&1
	rc=$?
	((rc == 1)) && return 0
	if ((rc == 0)); then
		echo "ping_fails: $ns got a reply from $dst (via $dev)" >&2
	else
		echo "ping_fails: ping $dst in $ns failed with exit $rc, not 1" >&2
	fi
	return 1
}

# ping_until NS DST TIMEOUT_S [STEP_S]: a probe every STEP_S (default 0.05;
# one ping process per second, -w 1, so a missing route or interface is
# retried) until the first reply or TIMEOUT_S; prints now_ms at the reply.
ping_until()
{
	local deadline fam step=${4:-0.05}
	fam=$(ping_fam "$2")
	deadline=$(deadline_in "$3") || return 1
	while (($(now_ms) < deadline)); do
		if nsx "$1" ping "$fam" -n -q -c 1 -i "$step" -W 1 -w 1 "$2" \
			>/dev/null 2>&1; then
			now_ms
			return 0
		fi
		sleep "$step"
	done
	return 1
}

# pairs_wait TIMEOUT_S T0 MAP SRC:DST...: all pairs ping in parallel, each
# until its first reply; DST's address is ${MAP[DST]} (MAP names an
# associative array).  Sets RES to one line "SRC DST MS" per pair (MS since
# T0, from now_ms, or "-" without a reply).
pairs_wait()
{
	local timeout=$1 t0=$2 p pids=() f
	local -n pw_addr=$3
	shift 3
	for p in "$@"; do
		f=$RUN_TMP/pair.${p%%:*}.${p#*:}
		rm -f "$f"
		ping_until "${p%%:*}" "${pw_addr[${p#*:}]}" "$timeout" >"$f" &
		pids+=($!)
		run_track_pid $!
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	RES=$(for p in "$@"; do
		f=$RUN_TMP/pair.${p%%:*}.${p#*:}
		if [[ -s $f ]]; then
			echo "${p%%:*} ${p#*:} $(($(cat "$f") - t0))"
		else
			echo "${p%%:*} ${p#*:} -"
		fi
	done)
}

# ping_rtt NS DST COUNT [INTERVAL_S]: prints "avg_ms received" for COUNT
# pings INTERVAL_S apart (default 0.1), within COUNT * INTERVAL_S + 3 s;
# avg_ms is "none" without a reply.
ping_rtt()
{
	local out recv avg step
	step=$(ms_of "${4:-0.1}") || return 1
	out=$(nsx "$1" ping "$(ping_fam "$2")" -n -q -c "$3" -i "${4:-0.1}" \
		-W 1 -w "$(($3 * step / 1000 + 3))" "$2" 2>/dev/null)
	recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
	avg=$(sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$out")
	echo "${avg:-none} ${recv:-0}"
}
