# shellcheck shell=bash
# Helpers for GroupVPN's bounded overlay (PROTOCOL.md §14), shared by
# test/e2e/gvpn-scale.sh and tools/bench-gvpn, on top of lib.sh and
# lib-xmpp.sh: a member's links with their kind and its next hops, read
# from `ipopctl --json status`, and every ordered pair of a member set
# pinging, timed.  Members are named by their tincan; VIP[NAME] holds each
# member's overlay address and UID_OF[NAME] its uid.

# kinds_of NAME: "peer_uid state kind" lines of NAME's links.
kinds_of()
{
	ctl "$1" --json status |
		jq -r '.overlays[]?.links[]? | "\(.peer_uid) \(.state) \(.kind)"'
}

# bounded_links NAME: number of NAME's links that are not on demand.
bounded_links()
{
	kinds_of "$1" | awk '$3 != "on-demand"' | wc -l
}

# via NAME DST: the next hop tincan NAME forwards DST's frames to ("" with
# a direct link or unreachable).
via()
{
	ctl "$1" --json status | jq -r --arg u "${UID_OF[$2]}" \
		'.overlays[]?.mappings[]? | select(.peer_uid == $u) | .via_uid // ""'
}

# link_kind NAME DST: the kind of NAME's link to DST and its state, or "".
link_kind()
{
	kinds_of "$1" | awk -v u="${UID_OF[$2]}" '$1 == u { print $3, $2 }'
}

# all_pairs TIMEOUT_S T0 NAME...: every ordered pair of NAMEs pings (each
# source tries its destinations in turn, sources in parallel).  Sets
# PAIRS_OK (count), PAIRS_BAD (list), PAIRS_MAX (ms since T0 of the last
# first reply) and PAIRS_WORST (the longest one pair waited for its first
# reply, "SRC->DST MS").
all_pairs()
{
	local timeout=$1 t0=$2 a b pids=() f
	shift 2
	for a in "$@"; do
		(
			for b in "$@"; do
				[[ $a == "$b" ]] && continue
				s=$(now_ms)
				if t=$(ping_until "$a" "${VIP[$b]}" "$timeout" 0.1); then
					echo "$b $((t - t0)) $((t - s))"
				else
					echo "$b - -"
				fi
			done >"$E2E_TMP/pairs.$a"
		) &
		pids+=($!)
		run_track_pid $!
	done
	for a in "${pids[@]}"; do wait "$a"; done
	PAIRS_OK=0 PAIRS_BAD="" PAIRS_MAX=0 PAIRS_WORST="- 0"
	for a in "$@"; do
		f=$E2E_TMP/pairs.$a
		while read -r b t w; do
			if [[ $t == - ]]; then
				PAIRS_BAD+=" $a->$b"
			else
				PAIRS_OK=$((PAIRS_OK + 1))
				((t > PAIRS_MAX)) && PAIRS_MAX=$t
				((w > ${PAIRS_WORST#* })) && PAIRS_WORST="$a->$b $w"
			fi
		done <"$f"
	done
}

# first_reply LOG T0: the time (ms, as now_ms) of the first reply at or
# after T0 in LOG, the output of `ping -D`; fails without one.
first_reply()
{
	awk -v t="$2" '/bytes from/ { gsub(/[\[\]]/, "", $1); ms = int($1 * 1000);
		if (ms >= t + 0) { printf "%.0f\n", ms; found = 1; exit } } END { exit !found }' "$1"
}
