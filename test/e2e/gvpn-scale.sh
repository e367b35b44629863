#!/bin/bash
# End-to-end test of GroupVPN's bounded overlay (PROTOCOL.md §14): sixteen
# members, each its own ipop-tincan + ipop-controller, one Prosody, two of
# them behind NAT routers, with a small degree bound (successors 1, chords
# 2, max_links 4), so most pairs have no direct link and tincan forwards
# hop by hop.
#
#                               ns "pub" (router)
#          Prosody c2s 100.64.0.3:5222          coturn 100.64.0.1/.2:3478
#     100.64.11.1 ... 100.64.24.1        100.64.3.1          100.64.4.1
#          |               |                 |                   |
#     100.64.11.2 ... 100.64.24.2        100.64.3.2          100.64.4.2
#       ns s1    ...   ns s14            ns nat3 (MASQ)      ns nat4 (MASQ)
#                                        10.3.0.2 ns s15     10.4.0.2 ns s16
#
#   overlay "gvpn" on ipop0, 10.77.0.1-16/24, group "lab", everyone friends
#   with everyone (Prosody roster files), ondemand_threshold 100000 B/s,
#   ondemand_idle 4 s.
#
# Asserted from `ipopctl --json status`, not from logs: no member holds
# more than max_links links that are not on demand (sampled every 0.5 s;
# excursions while it forms and within 2 s of the SIGKILL below are
# counted and printed; links to the dead member, kept until they fail,
# aside) and fewer than the 15 a full mesh needs; every member pings every
# other (240 ordered pairs, time from the controllers' start printed); a
# pair without a direct link is forwarded (via_uid set); iperf3 between two
# non-neighbours gets an on-demand link within 8 s and no 0.2 s interval
# run of iperf3 without data adds up to 1 s; after the idle timeout that
# link is gone and the pair still pings; a member whose tincan and
# controller are SIGKILLed is routed around (the time from the kill to the
# first reply of a ping that went through it is printed) and every pair
# of the 15 left pings again; restarted, within 2 s of its first link's
# handshake it reaches every other member and each of them reaches it
# (the 30 pairs ping 20 times a second at once, the first reply of each
# timed), and every pair of the 16 pings again.  Measurements are
# "# measured" lines.

# shellcheck disable=SC2317 # functions run through check/wait_until
set -u -o pipefail
# shellcheck source=test/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=test/e2e/lib-xmpp.sh
. "$(dirname "$0")/lib-xmpp.sh"
# shellcheck source=test/e2e/lib-gvpn.sh
. "$(dirname "$0")/lib-gvpn.sh"
# shellcheck disable=SC2034 # E2E_ERR is read by lib.sh's tap_fail

e2e_require_root
e2e_require_tools "$TINCAN" "$IPOPCTL" "$CONTROLLER" prosody iperf3 jq
TINCAN_LOG_LEVEL=${TINCAN_LOG_LEVEL:-info}
e2e_init
controller_snapshot || exit 1

N=16
MAX_LINKS=4
IDLE_S=4
MEMBERS=()
declare -A VIP=() UID_OF=() NAME_OF=()
for i in $(seq 1 $N); do
	MEMBERS+=("s$i")
	VIP[s$i]=10.77.0.$i
done

# ---- network, Prosody, coturn ---------------------------------------------

must "public router pub" pub_add
for i in $(seq 1 14); do
	must "s$i on the public network" pubhost_add "s$i" $((10 + i))
done
must "NAT router nat3" nat_add nat3 3
must "s15 behind nat3" host_add nat3 3 s15 2
must "NAT router nat4" nat_add nat4 4
must "s16 behind nat4" host_add nat4 4 s16 2
must "Prosody configuration" prosody_setup
for m in "${MEMBERS[@]}"; do
	xmpp_account "$m" "pw-$m"
	peers=()
	for p in "${MEMBERS[@]}"; do
		[[ $p == "$m" ]] || peers+=("$p=both")
	done
	xmpp_roster "$m" "${peers[@]}"
done
must "start Prosody in pub" prosody_start
must "start coturn in pub" turn_start

for m in "${MEMBERS[@]}"; do
	must "configuration of $m" member_config "$m" "$m" "pw-$m" "${VIP[$m]}" lab
	cat >>"$(ctl_dir "$m")/controller.yaml" <<-EOF
		    successors: 1
		    chords: 2
		    max_links: $MAX_LINKS
		    ondemand_threshold: 100000
		    ondemand_idle: $IDLE_S
	EOF
done
check "ipop-controller --check-config accepts the bounded overlay's keys" \
	"$CONTROLLER" --config "$(ctl_dir s1)/controller.yaml" --check-config

for m in "${MEMBERS[@]}"; do
	must "start ipop-tincan $m" tincan_start "$m" "$m"
	UID_OF[$m]=$(tincan_uid "$m")
	NAME_OF[${UID_OF[$m]}]=$m
done

MAX_SEEN=0
# sample_bound NAME...: the largest bounded link count now, folded into
# MAX_SEEN; false if a member exceeds MAX_LINKS.
sample_bound()
{
	local m c ok=0
	for m in "$@"; do
		c=$(bounded_links "$m")
		((c > MAX_SEEN)) && MAX_SEEN=$c
		((c > MAX_LINKS)) && ok=1
	done
	return "$ok"
}

ALIVE=("${MEMBERS[@]}")
# sampler: checks the bound every 0.5 s in the background until killed
# (its verdict in $E2E_TMP/bound).
sampler()
{
	local m c
	echo 0 >"$E2E_TMP/bound.max"
	while :; do
		dead=$(cat "$E2E_TMP/dead" 2>/dev/null)
		while read -r m; do
			# A link to a member that went away is kept until it
			# fails (an XMPP outage must not cut the overlay), while
			# the others link around it: not counted.
			c=$(kinds_of "$m" 2>/dev/null | awk -v dead="$dead" \
				'$3 != "on-demand" && (dead == "" || index(dead, $1) == 0)' |
				wc -l) || continue
			if ((c > $(cat "$E2E_TMP/bound.max"))); then
				echo "$c" >"$E2E_TMP/bound.max"
			fi
			((c > MAX_LINKS)) &&
				echo "$(now_ms) $m $c" >>"$E2E_TMP/bound.over"
		done <"$E2E_TMP/alive"
		sleep 0.5
	done
}

# ---- start every controller at once ---------------------------------------

printf '%s\n' "${ALIVE[@]}" >"$E2E_TMP/alive"
T0=$(now_ms)
for m in "${MEMBERS[@]}"; do
	controller_start "$m" "$m"
done
sampler &
SAMPLER=$!
run_track_pid $SAMPLER

all_pairs 40 "$T0" "${MEMBERS[@]}"
if [[ -z $PAIRS_BAD ]]; then
	tap_ok "all $PAIRS_OK ordered pairs of the $N members ping"
else
	E2E_ERR="no reply:$PAIRS_BAD"
	tap_fail "all $((N * (N - 1))) ordered pairs of the $N members ping"
fi
T_SETTLED=$((T0 + PAIRS_MAX))
tap_note "measured: every pair pinging $PAIRS_MAX ms after the controllers started (sources in parallel, destinations in turn; slowest pair $PAIRS_WORST ms)"

# The topology settled: links per member.
sleep 1
total=0 most=0
for m in "${MEMBERS[@]}"; do
	c=$(bounded_links "$m")
	total=$((total + c))
	((c > most)) && most=$c
done
tap_note "measured: links per member (on-demand aside): most $most, mean $(awk -v t=$total -v n=$N 'BEGIN { printf "%.2f", t / n }'), $((total / 2)) links in all (a full mesh: $((N * (N - 1) / 2)))"
check "no member holds more than max_links = $MAX_LINKS links (now)" \
	sample_bound "${MEMBERS[@]}"
check "the overlay is not a full mesh (at most $MAX_LINKS of 15 links)" \
	test "$most" -le $MAX_LINKS

# ---- a forwarded pair, iperf3, the on-demand link ---------------------------

# Two members without a direct link whose frames go over others.
A="" B=""
for a in s1 s2 s3 s4 s5 s6 s7 s8; do
	for b in "${MEMBERS[@]}"; do
		[[ $a == "$b" ]] && continue
		if [[ -z $(link_kind "$a" "$b") && -n $(via "$a" "$b") &&
			-z $(link_kind "$b" "$a") ]]; then
			A=$a B=$b
			break 2
		fi
	done
done
if [[ -n $A ]]; then
	tap_ok "$A and $B have no direct link; $A forwards to $B via ${NAME_OF[$(via "$A" "$B")]:-?}"
else
	tap_fail "two members without a direct link, forwarded over others"
	A=s1 B=s9
fi
check "$A pings $B over the overlay path" ping_ok "$A" "${VIP[$B]}"

nsbg "$B" "$E2E_TMP/iperf3.s.log" iperf3 -s -1 -B "${VIP[$B]}"
IPS=$NSBG_PID
wait_until 5 ns_listens "$B" tcp "${VIP[$B]}:5201"
TI=$(now_ms)
nsbg "$A" "$E2E_TMP/iperf3.json" iperf3 -c "${VIP[$B]}" -t 8 -i 0.2 -J
IPC=$NSBG_PID
od_up()
{
	[[ $(link_kind "$A" "$B") == "on-demand connected" ]]
}
if wait_until 8 od_up; then
	tap_ok "iperf3 $A -> $B: an on-demand link comes up"
	tap_note "measured: on-demand link $A - $B connected $(($(now_ms) - TI)) ms after iperf3 started"
else
	E2E_ERR="$A's link to $B: '$(link_kind "$A" "$B")'"
	tap_fail "iperf3 $A -> $B: an on-demand link comes up"
fi
check "$B holds the on-demand link too" \
	test "$(link_kind "$B" "$A")" = "on-demand connected"
pid_wait_gone 15 "$IPC"
wait "$IPC" 2>/dev/null
pid_wait_gone 3 "$IPS" || kill "$IPS" 2>/dev/null
# The longest run of 0.2 s intervals without data.
STALL=$(jq -r '[.intervals[].sum.bytes] | reduce .[] as $b ({run: 0, max: 0};
	if $b == 0 then .run += 1 | .max = ([.max, .run] | max) else .run = 0 end) | .max' \
	"$E2E_TMP/iperf3.json" 2>/dev/null)
MBPS=$(jq -r '.end.sum_received.bits_per_second / 1e6 | floor' "$E2E_TMP/iperf3.json" 2>/dev/null)
NIV=$(jq -r '.intervals | length' "$E2E_TMP/iperf3.json" 2>/dev/null)
tap_note "measured: iperf3 $A -> $B over 8 s: ${MBPS:-?} Mbit/s, longest run of empty 0.2 s intervals: ${STALL:-?} (of ${NIV:-?})"
# A run that never connected has no intervals, and so no stall: it must
# have carried data over (nearly) all 40 of them.
if [[ $STALL =~ ^[0-9]+$ && $MBPS =~ ^[0-9]+$ && $NIV =~ ^[0-9]+$ ]] &&
	((STALL < 5 && MBPS > 0 && NIV >= 35)); then
	tap_ok "iperf3 never stalls for 1 s while its flow moves onto the on-demand link"
else
	E2E_ERR=$(head -c 600 "$E2E_TMP/iperf3.json")
	tap_fail "iperf3 never stalls for 1 s while its flow moves onto the on-demand link"
fi

TIDLE=$(now_ms)
od_gone() { [[ -z $(link_kind "$A" "$B") && -z $(link_kind "$B" "$A") ]]; }
if wait_until $((IDLE_S + 8)) od_gone; then
	tap_ok "the idle on-demand link $A - $B is removed at both ends"
	tap_note "measured: on-demand link gone $(($(now_ms) - TIDLE)) ms after iperf3 ended (ondemand_idle ${IDLE_S} s)"
else
	E2E_ERR="links: $A: '$(link_kind "$A" "$B")', $B: '$(link_kind "$B" "$A")'"
	tap_fail "the idle on-demand link $A - $B is removed at both ends"
fi
check "$A still pings $B over the overlay path" ping_ok "$A" "${VIP[$B]}"

# rejoin_ping SRC DST: SRC pings DST 20 times a second (bounded by -w)
# into $E2E_TMP/rejoin.SRC-DST; the pid joins RJ_PIDS, the pair RJ_PAIRS.
RJ_PIDS=() RJ_PAIRS=()
rejoin_ping()
{
	nsbg "$1" "$E2E_TMP/rejoin.$1-$2" \
		ping -n -D -O -i 0.05 -W 1 -w 60 "${VIP[$2]}"
	RJ_PIDS+=("$NSBG_PID")
	RJ_PAIRS+=("$1-$2")
}

# rejoin_all: every pair of RJ_PAIRS had a reply since TR.
rejoin_all()
{
	local p
	for p in "${RJ_PAIRS[@]}"; do
		first_reply "$E2E_TMP/rejoin.$p" "$TR" >/dev/null || return 1
	done
}

# rejoin_figures: per pair of RJ_PAIRS its first reply since TR, in ms
# after TU (0 if before): REJ_MAX, REJ_WORST ("SRC->DST MS"), REJ_TO and
# REJ_FROM (the most of the pairs to K, from K), REJ_BAD (pairs without).
rejoin_figures()
{
	local p t
	REJ_MAX=0 REJ_WORST="-" REJ_TO=0 REJ_FROM=0 REJ_BAD=""
	for p in "${RJ_PAIRS[@]}"; do
		if ! t=$(first_reply "$E2E_TMP/rejoin.$p" "$TR"); then
			REJ_BAD+=" ${p/-/->}"
			continue
		fi
		t=$((t > TU ? t - TU : 0))
		if [[ $p == "$K"-* ]]; then
			((t > REJ_FROM)) && REJ_FROM=$t
		else
			((t > REJ_TO)) && REJ_TO=$t
		fi
		((t >= REJ_MAX)) && REJ_MAX=$t REJ_WORST="${p/-/->} $t"
	done
}

# ---- SIGKILL a member that carries a forwarded pair -------------------------

# X -> Y forwarded via K.
X="" Y="" K=""
for x in "${MEMBERS[@]}"; do
	for y in "${MEMBERS[@]}"; do
		[[ $x == "$y" ]] && continue
		v=$(via "$x" "$y")
		[[ -n $v && -n ${NAME_OF[$v]:-} ]] || continue
		X=$x Y=$y K=${NAME_OF[$v]}
		break 2
	done
done
if [[ -z $K ]]; then
	tap_fail "a pair forwarded over a third member"
else
	tap_ok "$X reaches $Y via $K"
	nsbg "$X" "$E2E_TMP/kill.ping" ping -n -D -O -i 0.05 -W 1 "${VIP[$Y]}"
	PP=$NSBG_PID
	sleep 1
	ALIVE=()
	for m in "${MEMBERS[@]}"; do [[ $m == "$K" ]] || ALIVE+=("$m"); done
	printf '%s\n' "${ALIVE[@]}" >"$E2E_TMP/alive"
	echo "${UID_OF[$K]}" >"$E2E_TMP/dead"
	TK=$(now_ms)
	kill -KILL "${CTL_PID[$K]}" "${TINCAN_PID[$K]}"
	back()
	{
		awk -v t="$TK" '/bytes from/ { gsub(/[\[\]]/, "", $1);
			if ($1 * 1000 > t + 0) { found = 1 } } END { exit !found }' \
			"$E2E_TMP/kill.ping"
	}
	if wait_until 15 back; then
		FIRST=$(awk -v t="$TK" '/bytes from/ { gsub(/[\[\]]/, "", $1);
			ms = $1 * 1000; if (ms > t + 0) { print int(ms - t); exit } }' \
			"$E2E_TMP/kill.ping")
		tap_ok "$X -> $Y is routed around the SIGKILLed $K"
		sleep 1
		# The longest silence between replies (20 a second) from 1 s
		# before the kill on: the outage the kill caused.
		GAP=$(awk -v t="$TK" '/bytes from/ { gsub(/[\[\]]/, "", $1);
			ms = int($1 * 1000); if (ms < t - 1000) next;
			if (last && ms - last > gap) gap = ms - last; last = ms }
			END { print gap + 0 }' "$E2E_TMP/kill.ping")
		tap_note "measured: $X -> $Y: first reply ${FIRST} ms after $K was SIGKILLed; longest gap between replies around the kill ${GAP} ms (ping -i 0.05)"
		check "$X -> $Y: the kill interrupts it for at most 2.5 s" \
			test "$GAP" -le 2500
	else
		tap_fail "$X -> $Y is routed around the SIGKILLed $K"
	fi
	kill -INT "$PP" 2>/dev/null
	pid_wait_gone 3 "$PP"
	T=$(now_ms)
	all_pairs 20 "$T" "${ALIVE[@]}"
	if [[ -z $PAIRS_BAD ]]; then
		tap_ok "all $PAIRS_OK ordered pairs of the 15 left ping"
	else
		E2E_ERR="no reply:$PAIRS_BAD"
		tap_fail "all ordered pairs of the 15 left ping"
	fi
	tap_note "measured: every pair of the 15 left pinging $PAIRS_MAX ms after the check began (slowest pair $PAIRS_WORST ms)"

	# The killed member comes back (same key, same uid) as a new member:
	# within 2 s of its first link being up, every other member reaches it
	# and it reaches every other member.  Timed without a probing loop's
	# own cost: the others ping K 20 times a second from before the
	# restart on, K pings them all from its first link on, all at once.
	for m in "${ALIVE[@]}"; do rejoin_ping "$m" "$K"; done
	TR=$(now_ms)
	must "restart ipop-tincan $K" tincan_start "$K" "$K"
	check "$K's uid is unchanged after the restart" \
		test "$(tincan_uid "$K")" = "${UID_OF[$K]}"
	: >"$E2E_TMP/dead"
	printf '%s\n' "${MEMBERS[@]}" >"$E2E_TMP/alive"
	controller_start "$K" "$K"
	# first_link: K has a connected link; TU is when the first one
	# completed its handshake (tincan's wall clock), not when a poll,
	# slowed by the start, saw it.
	first_link()
	{
		TU=$(ctl "$K" --json status | jq -er '[.overlays[]?.links[]? |
			select(.state == "connected") | .last_handshake_ms] | min // empty')
	}
	# K pings the others as soon as its TAP has its address.
	tap_up() { nsx "$K" ip -4 -o addr show dev ipop0 | grep -qF " ${VIP[$K]}/"; }
	WAIT_STEP=0.02 wait_until 20 tap_up
	for m in "${ALIVE[@]}"; do rejoin_ping "$K" "$m"; done
	if WAIT_STEP=0.02 wait_until 20 first_link; then
		TP=$(now_ms)
		[[ $TU =~ ^[0-9]+$ ]] && ((TU <= TP)) || TU=$TP
		tap_note "measured: $K's first link connected $((TU - TR)) ms after its restart (seen by polling $((TP - TU)) ms later)"
		wait_until 10 rejoin_all
		kill -INT "${RJ_PIDS[@]}" 2>/dev/null
		pid_wait_gone 3 "${RJ_PIDS[@]}"
		rejoin_figures
		if [[ -z $REJ_BAD ]]; then
			tap_ok "$K back: it reaches the 15 others and each of them reaches it"
		else
			E2E_ERR="no reply:$REJ_BAD"
			tap_fail "$K back: it reaches the 15 others and each of them reaches it"
		fi
		tap_note "measured: $K back: reachable to and from all 15 others $REJ_MAX ms after its first link was up (slowest pair $REJ_WORST ms; to $K at most $REJ_TO ms, from $K $REJ_FROM ms; ping -i 0.05, the 30 pairs at once)"
		check "$K back: reachable to and from every other member within 2 s of its first link" \
			test "$REJ_MAX" -le 2000
		all_pairs 20 "$TU" "${MEMBERS[@]}"
		if [[ -z $PAIRS_BAD ]]; then
			tap_ok "$K back: all $PAIRS_OK ordered pairs of the $N members ping"
		else
			E2E_ERR="no reply:$PAIRS_BAD"
			tap_fail "$K back: all ordered pairs of the $N members ping"
		fi
		tap_note "measured: $K back: every pair pinging $PAIRS_MAX ms after its first link was up (checked after the above; sources in parallel, destinations in turn; slowest pair $PAIRS_WORST ms)"
	else
		tap_fail "$K's first link connected within 20 s of its restart"
	fi
fi

kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
# Members learn of each other one by one at start-up, and of a death each
# a moment apart, so for a moment two ends may disagree on an edge (one has
# dropped it, the other has not yet and already holds its new one):
# counted, not failed, before the overlay first settled (every pair
# pinging) and within 2 s of the SIGKILL; at any other time, none.
touch "$E2E_TMP/bound.over"
TKW=${TK:-0}
EARLY=$(awk -v t="$T_SETTLED" '$1 <= t' "$E2E_TMP/bound.over" | wc -l)
KILLW=$(awk -v t="$T_SETTLED" -v k="$TKW" '$1 > t && $1 >= k && $1 <= k + 2000' \
	"$E2E_TMP/bound.over" | wc -l)
# The rejoin relinks its neighbours like a small start-up: the same
# allowance, until every pair pinged again.
TRW=${TR:-0} TRE=$((${TU:-${TR:-0}} + PAIRS_MAX))
REJW=$(awk -v r="$TRW" -v e="$TRE" '$1 >= r && $1 <= e' "$E2E_TMP/bound.over" | wc -l)
LATE=$(awk -v t="$T_SETTLED" -v k="$TKW" -v r="$TRW" -v e="$TRE" \
	'$1 > t && !($1 >= k && $1 <= k + 2000) && !(r > 0 && $1 >= r && $1 <= e) { print $2 "=" $3 }' \
	"$E2E_TMP/bound.over")
tap_note "measured: samples above max_links = $MAX_LINKS while the overlay formed: $EARLY, within 2 s of the SIGKILL: $KILLW, while the killed member rejoined: $REJW (most seen all run: $(cat "$E2E_TMP/bound.max"))"
if [[ -z $LATE ]]; then
	tap_ok "sampled every 0.5 s all run long: no member above max_links = $MAX_LINKS (but while the overlay formed or relinked around the kill)"
else
	E2E_ERR=$(sort -u <<<"$LATE" | head -n 10)
	tap_fail "sampled every 0.5 s all run long: no member above max_links = $MAX_LINKS (but while the overlay formed or relinked around the kill)"
fi

tap_done
