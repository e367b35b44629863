#!/bin/bash
# End-to-end fault test: controller handover and survival of every daemon's
# failure, on a two-member GroupVPN whose members both sit behind NAT
# routers, signalling through a real Prosody server, with coturn for STUN
# and TURN.
#
#                               ns "pub" (router)                     ns "sink"
#          Prosody c2s 100.64.0.3:5222 (plain)   coturn TURN 100.64.0.1:3478
#                                                       STUN 100.64.0.2:3478
#                      100.64.1.1            100.64.2.1
#                          |                     |
#                      100.64.1.2 (wan)      100.64.2.2 (wan)
#                       ns nat1               ns nat2
#                       MASQUERADE            MASQUERADE
#                       10.1.0.1              10.2.0.1
#                          |                     |
#                       10.1.0.2              10.2.0.2
#                        ns m1                 ns m2
#
#   each member runs ipop-tincan + ipop-controller, overlay "gvpn" on ipop0,
#   group "lab" with a group secret: m1 10.77.0.1/24, m2 10.77.0.2/24.
#
# Scenarios, each measured ("# measured: ..." lines) and asserted:
#  1. handover: ping m1 -> m2 at 100/s while m1's controller is restarted
#     three times and then replaced by ipopctl (map-peer re-sending the
#     existing mapping) and started again: zero packets lost; the link is
#     the same afterwards (pair, last handshake, counters not reset); an
#     iperf3 TCP stream across one more restart has no 0.5 s interval
#     without data.
#  2. SIGKILL of m1's tincan, new tincan on the same state dir: same uid,
#     the controller reconnects, traffic back within TINCAN_BACK_S (m2's
#     link takes the new credentials as an ICE restart).
#  3. Prosody SIGKILLed for 20 s, then restarted: ping -i 0.2 across the
#     overlay loses nothing; both controllers come back online within
#     PROSODY_BACK_S (they reconnect at once, then every 1.5 s at most).
#     3b. Prosody killed again and m1's tincan SIGKILLed and restarted
#     meanwhile: no traffic while its new link cannot be signalled, then
#     traffic back within RELINK_XMPP_S of Prosody's restart.
#  4. Underlay faults under a 100/s ping, each link repairing itself
#     (PROTOCOL.md §15), lost pings printed: nat1's WAN link down for 10 s,
#     then up: traffic back within CUT_BACK_S of the restore (probes every
#     200 ms while the peer is silent), the recovery logged once by each
#     side and counted in ipopctl status; conntrack -F on nat1: back within
#     CUT_BACK_S; direct UDP between the two NATs dropped in pub (TURN still
#     reachable): the link moves to the relay within RELAY_S, and back to a
#     direct pair within DIRECT_S of the drop's end; NAT rebinding (nat1's
#     public ports move to another range, conntrack flushed): traffic back
#     within REBIND_S.
#  5. graceful shutdown: SIGTERM to m1's controller says bye (m2 keeps the
#     link while m1's tincan still carries it: a restarted controller must
#     change nothing); SIGTERM to m1's tincan then removes its TAP and socket,
#     and m2 drops m1 within 10 s.

# shellcheck disable=SC2317 # functions run through check/wait_until
set -u -o pipefail
# shellcheck source=test/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=test/e2e/lib-xmpp.sh
. "$(dirname "$0")/lib-xmpp.sh"
# shellcheck source=test/e2e/lib-faults.sh
. "$(dirname "$0")/lib-faults.sh"
# shellcheck disable=SC2034 # E2E_ERR is read by lib.sh's tap_fail

e2e_require_root
e2e_require_tools "$TINCAN" "$IPOPCTL" "$CONTROLLER" prosody iperf3 ss \
	conntrack
e2e_init
controller_snapshot || exit 1

declare -A VIP=([m1]=10.77.0.1 [m2]=10.77.0.2) UID_OF=()
GROUP=lab
SECRET="faults e2e group secret: 0c4f9a1e7b2d"
RUN0=$(now_ms)

# Bounds this test states for recovery after a fault.
TINCAN_BACK_S=3		# SIGKILLed tincan restarted -> traffic back (0.6 s before)
PROSODY_BACK_S=3	# Prosody restarted -> both controllers online (target 2)
CUT_BACK_S=2		# underlay restored / conntrack flushed -> traffic back (target 1)
RELAY_S=4		# direct UDP dropped -> traffic back over TURN (target 3)
DIRECT_S=20		# direct UDP back -> the link on a direct pair again
REBIND_S=2		# NAT's public port changed -> traffic back (target 1;
			# 0.80-1.01 s in 7 runs since tincan's fast path answers
			# the peer's checks, 0.8-4.1 s before)
RELINK_XMPP_S=4		# tincan restarted while XMPP was down -> traffic back
			# after the server's restart (online ~0.5 s, then a link)
BYE_S=10		# controller SIGTERM -> peer dropped the member

# ---- network, Prosody, coturn, members ---------------------------------------

must "public router pub" pub_add
must "NAT router nat1" nat_add nat1 1
must "m1 behind nat1" host_add nat1 1 m1 2
must "NAT router nat2" nat_add nat2 2
must "m2 behind nat2" host_add nat2 2 m2 2
must "Prosody configuration" prosody_setup
xmpp_account m1 pw-m1
xmpp_account m2 pw-m2
xmpp_roster m1 m2=both
xmpp_roster m2 m1=both
must "start Prosody in pub" prosody_start
must "start coturn in pub" turn_start
for m in m1 m2; do
	must "configuration of $m" member_config "$m" "$m" "pw-$m" \
		"${VIP[$m]}" "$GROUP" "$SECRET"
	must "start ipop-tincan $m" tincan_start "$m" "$m"
	UID_OF[$m]=$(tincan_uid "$m")
	must "uid of $m" test -n "${UID_OF[$m]}"
done
T=$(now_ms)
controller_start m1 m1
controller_start m2 m2

if ping_until m1 "${VIP[m2]}" 30 >/dev/null; then
	tap_ok "m1 pings m2 by virtual IP through both NATs"
	tap_note "measured: overlay up $(($(now_ms) - T)) ms after the controllers started"
else
	tap_fail "m1 pings m2 by virtual IP through both NATs"
	echo "Bail out! the overlay never came up"
	exit 1
fi
tap_note "m1's link to m2: $(link_snap m1 "${UID_OF[m2]}")"

# daemons_check WHAT: a TAP line saying whether both members' tincans and
# controllers still run; any that died (a crash in an earlier scenario) is
# started again, so each scenario tests its own fault.
daemons_check()
{
	local m dead=() pid
	E2E_ERR=""
	for m in m1 m2; do
		pid=${TINCAN_PID[$m]:-}
		if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
			dead+=("$m's tincan")
			E2E_ERR+="$m's tincan died; its last lines:"$'\n'
			E2E_ERR+=$(grep -v 'control: client' "$E2E_TMP/$m.log" | tail -n 6)$'\n'
			[[ -n $pid ]] && wait "$pid" 2>/dev/null
			must "restart $m's tincan" tincan_start "$m" "$m"
		fi
		pid=${CTL_PID[$m]:-}
		if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
			dead+=("$m's controller")
			E2E_ERR+="$m's controller died; its last lines:"$'\n'
			E2E_ERR+=$(tail -n 6 "$(ctl_log "$m")")$'\n'
			[[ -n $pid ]] && wait "$pid" 2>/dev/null
			controller_start "$m" "$m"
		fi
	done
	if ((${#dead[@]} == 0)); then
		tap_ok "$1: both members' tincan and controller still run"
	else
		tap_fail "$1: both members' tincan and controller still run (dead: ${dead[*]}; restarted)"
	fi
}

# members_reset: stop both members (SIGKILL what does not stop) and start
# them again from their state dirs: a clean slate for the next scenario.
members_reset()
{
	local m
	for m in m1 m2; do
		controller_stop "$m" >/dev/null 2>&1 ||
			kill -KILL "${CTL_PID[$m]}" 2>/dev/null
		tincan_stop "$m" >/dev/null 2>&1 ||
			kill -KILL "${TINCAN_PID[$m]}" 2>/dev/null
	done
	pid_wait_gone 5 "${CTL_PID[@]}" "${TINCAN_PID[@]}"
	for m in m1 m2; do
		must "reset: start $m's tincan" tincan_start "$m" "$m"
		controller_start "$m" "$m"
	done
}

# overlay_ready WHAT: before a scenario, both members must run and the
# overlay must carry pings both ways (20 s).  When it does not (an earlier
# scenario broke it), both members are reset so the scenario still runs.
overlay_ready()
{
	daemons_check "$1"
	if ping_until m1 "${VIP[m2]}" 20 >/dev/null &&
		ping_until m2 "${VIP[m1]}" 5 >/dev/null; then
		tap_ok "$1: the overlay works before it starts"
		return 0
	fi
	E2E_ERR="m1 link: $(link_snap m1 "${UID_OF[m2]}" 2>&1); m2 link: $(link_snap m2 "${UID_OF[m1]}" 2>&1)"
	tap_fail "$1: the overlay works before it starts (both members reset)"
	members_reset
	if ping_until m1 "${VIP[m2]}" 20 >/dev/null &&
		ping_until m2 "${VIP[m1]}" 5 >/dev/null; then
		tap_note "$1: the overlay works after resetting both members"
		return 0
	fi
	tap_note "$1: the overlay does not work even after a reset"
	return 1
}

# report_loss NAME DESC T0: TAP line "DESC" ok when the stopped flow NAME
# lost nothing; the holes (relative to T0) go into the report.
report_loss()
{
	local st tx rx
	st=$(flow_stats "$1") || st="0 0"
	read -r tx rx <<<"$st"
	tap_note "measured: $2: $tx sent, $rx received, $((tx - rx)) lost"
	if ((tx > 0 && tx == rx)); then
		tap_ok "$2: zero packets lost"
	else
		E2E_ERR="ping summary: $(grep -E 'transmitted' "$(flow_log "$1")")"$'\n'
		E2E_ERR+="missing replies (time of the last reply before each hole, from the start):"$'\n'
		E2E_ERR+=$(flow_holes "$1" "$3")
		tap_fail "$2: zero packets lost"
	fi
}

# log_marks: current line counts of every controller and tincan log, so a
# scenario can show what was logged during it (log_since).
declare -A MARK=()
log_marks()
{
	local f
	for f in "$E2E_TMP"/m[12].log "$E2E_TMP"/m[12].ctl.log; do
		MARK[$f]=$(lines_of "$f")
	done
}
# log_since PATTERN: matching lines logged since log_marks, per log.
log_since()
{
	local f
	for f in "${!MARK[@]}"; do
		grep_since "$f" "${MARK[$f]}" "$1" | sed "s|^|$(basename "$f"): |"
	done
}
# Lines that show a link being torn down or remade, in either daemon.
REMAKE='leaves|remaking|relink|removing stale|linking to|link .*(closed|removed|created)|remove[-_ ]link|create[-_ ]link'

# ---- 1. controller handover ---------------------------------------------------

overlay_ready "handover"
S1=$(link_snap m1 "${UID_OF[m2]}")
S2=$(link_snap m2 "${UID_OF[m1]}")
tap_note "before the handover: m1 -> m2 link: $S1"
tap_note "before the handover: m2 -> m1 link: $S2"
log_marks
flow_start hand m1 "${VIP[m2]}" 0.01
H0=$(now_ms)
wait_until 5 flow_has_since hand "$H0" 50
for i in 1 2 3; do
	TS=$(($(now_ms) - H0))
	if ctl_restart m1 m1 15; then
		tap_ok "handover $i: m1's controller restarted, adopted tincan's overlay, online"
		tap_note "measured: controller restart $i: SIGTERM at +$TS ms, online again $RESTART_MS ms later"
	else
		tap_fail "handover $i: m1's controller restarted, adopted tincan's overlay, online"
	fi
	sleep 1
done

# The scripted controller: the daemon stops, ipopctl takes over (a mutating
# command says Hello as CONTROLLER) re-sending the mapping tincan already
# has, checks the link, and hands back by starting the daemon again.
T=$(now_ms)
tap_note "scripted handover: SIGTERM at +$((T - H0)) ms"
check "scripted handover: m1's controller stops (exit 0)" controller_stop m1
MAP=$(mapping_ipv4 m1 "${UID_OF[m2]}")
check "scripted handover: ipopctl map-peer as CONTROLLER re-sends m2's mapping ($MAP)" \
	ctl m1 map-peer gvpn "${UID_OF[m2]}" --ipv4 "$MAP"
# The script also adds a link of its own (to a made-up peer) and removes it.
FAKE_KEY=$(head -c 32 /dev/urandom | base64)
FAKE_UID=$(python3 -c 'import base64,hashlib,sys; print(hashlib.blake2b(base64.b64decode(sys.argv[1]), digest_size=20).hexdigest())' "$FAKE_KEY")
check "scripted handover: ipopctl create-link to another peer" \
	ctl m1 create-link gvpn "$FAKE_UID" "$FAKE_KEY"
check "scripted handover: tincan holds the script's link" has_link m1 "$FAKE_UID"
check "scripted handover: ipopctl remove-link of it" \
	ctl m1 remove-link gvpn "$FAKE_UID"
check "scripted handover: the script's link is gone" eval "! has_link m1 $FAKE_UID"
check "scripted handover: the link is still connected under the script" \
	test "$(snap_field "$(link_snap m1 "${UID_OF[m2]}")" 2)" = connected
sleep 1
BASE=$(ctl_counts m1)
controller_start m1 m1
if wait_until 15 ctl_fresh m1 "$BASE" adopted online; then
	tap_ok "scripted handover: the daemon takes back over, adopts, online"
	tap_note "measured: scripted handover and hand-back took $(($(now_ms) - T)) ms (online at +$(($(now_ms) - H0)) ms)"
else
	E2E_ERR=$(tail -n 5 "$(ctl_log m1)")
	tap_fail "scripted handover: the daemon takes back over, adopts, online"
fi
sleep 2
flow_stop hand
tap_note "handover sequence lasted $(($(now_ms) - H0)) ms (times +N are from the start of the ping)"
report_loss hand "ping -i 0.01 m1 -> m2 across 3 controller restarts and a scripted handover" "$H0"

# The link must be the one from before: same pair, same handshake (rekeying
# comes only every 120 s), counters not reset.
A1=$(link_snap m1 "${UID_OF[m2]}")
A2=$(link_snap m2 "${UID_OF[m1]}")
tap_note "after the handover: m1 -> m2 link: $A1"
tap_note "after the handover: m2 -> m1 link: $A2"
# same_link BEFORE AFTER: uid, state, pair and handshake equal, counters grew.
same_link()
{
	local f
	for f in 1 2 3 4 5; do
		[[ $(snap_field "$1" $f) == "$(snap_field "$2" $f)" ]] || return 1
	done
	(($(snap_field "$2" 6) >= $(snap_field "$1" 6) &&
		$(snap_field "$2" 7) >= $(snap_field "$1" 7)))
}
REMADE=$(log_since "$REMAKE")
for side in m1 m2; do
	if [[ $side == m1 ]]; then b=$S1 a=$A1; else b=$S2 a=$A2; fi
	if same_link "$b" "$a"; then
		tap_ok "handover: $side's link is the same link (pair, last handshake, counters kept)"
	else
		E2E_ERR="before: $b"$'\n'"after:  $a"$'\n'"(fields: peer state local remote last_handshake_ms tx_packets rx_packets)"
		[[ -n $REMADE ]] && E2E_ERR+=$'\n'"logged during the handover:"$'\n'"$REMADE"
		tap_fail "handover: $side's link is the same link (pair, last handshake, counters kept)"
	fi
done

# iperf3 TCP m1 -> m2 for 20 s, intervals of 0.5 s, across one more restart.
overlay_ready "iperf3 across a restart"
nsbg m2 "$E2E_TMP/iperf3-server.log" iperf3 -s -1 -J -i 0.5 -B "${VIP[m2]}" -p 5201
IPERF_JSON=$E2E_TMP/iperf3.json
if wait_until 10 ns_listens m2 tcp "${VIP[m2]}:5201"; then
	S1=$(link_snap m1 "${UID_OF[m2]}")
	log_marks
	ip netns exec "$(ns_name m1)" timeout 30 iperf3 -c "${VIP[m2]}" \
		-p 5201 -t 20 -i 0.5 -J --get-server-output >"$IPERF_JSON" 2>&1 &
	IPERF_PID=$!
	run_track_pid "$IPERF_PID"
	I0=$(now_ms)
	sleep 6
	R0=$(($(now_ms) - I0))
	if ctl_restart m1 m1 15; then
		tap_ok "iperf3: m1's controller restarted during the stream, online again"
		tap_note "measured: controller restart during iperf3 from +$R0 ms, SIGTERM to online $RESTART_MS ms"
	else
		tap_fail "iperf3: m1's controller restarted during the stream, online again"
	fi
	pid_wait_gone 32 "$IPERF_PID"
	wait "$IPERF_PID"
	# Receiver's intervals when the server sent them, else the sender's.
	BYTES=$(jq -r '(.server_output_json.intervals // .intervals) |
		map(.sum.bytes) | @tsv' "$IPERF_JSON" 2>/dev/null)
	MBPS=$(jq -r '.end.sum_received.bits_per_second / 1e6 | floor' \
		"$IPERF_JSON" 2>/dev/null)
	read -r -a IV <<<"$BYTES"
	ZERO=$(printf '%s\n' "${IV[@]}" | awk '$1 == 0 { n++ } END { print n + 0 }')
	MIN=$(printf '%s\n' "${IV[@]}" | sort -n | head -n 1)
	tap_note "measured: iperf3 TCP m1 -> m2 ${MBPS:-?} Mbit/s over 20 s; ${#IV[@]} intervals of 0.5 s, smallest ${MIN:-?} bytes, $ZERO empty"
	if ((${#IV[@]} >= 30 && ZERO == 0)); then
		tap_ok "iperf3 across a controller restart: no 0.5 s interval without data (no stall > 1 s)"
	else
		E2E_ERR="bytes per 0.5 s interval: ${BYTES:-none}"$'\n'$(head -c 1500 "$IPERF_JSON")
		tap_fail "iperf3 across a controller restart: no 0.5 s interval without data (no stall > 1 s)"
	fi
	A1=$(link_snap m1 "${UID_OF[m2]}")
	if same_link "$S1" "$A1"; then
		tap_ok "iperf3: the link survived the restart as the same link"
	else
		E2E_ERR="before: $S1"$'\n'"after:  $A1"$'\n'"$(log_since "$REMAKE")"
		tap_fail "iperf3: the link survived the restart as the same link"
	fi
else
	E2E_ERR="iperf3 server did not listen on ${VIP[m2]}:5201"
	tap_fail "iperf3 across a controller restart: no 0.5 s interval without data (no stall > 1 s)"
fi

# ---- 2. SIGKILL of tincan -----------------------------------------------------------

overlay_ready "tincan SIGKILL"
log_marks
BASE=$(ctl_counts m1)
flow_start kill m1 "${VIP[m2]}" 0.05
kill -KILL "${TINCAN_PID[m1]}"
pid_wait_gone 5 "${TINCAN_PID[m1]}"
wait "${TINCAN_PID[m1]}" 2>/dev/null
check "SIGKILLed tincan's TAP vanished with it" \
	wait_until 5 eval "! nsx m1 ip link show ipop0"
sleep 1
T=$(now_ms)
must "a new ipop-tincan starts on m1's state dir (the socket path is reused)" \
	tincan_start m1 m1
TA=$(($(now_ms) - T))
check "m1's uid is unchanged after the tincan restart" \
	test "$(tincan_uid m1)" = "${UID_OF[m1]}"
if wait_until 10 ctl_fresh m1 "$BASE" tincan; then
	tap_ok "m1's controller reconnects to the new tincan"
	tap_note "measured: controller reconnected to tincan $(($(now_ms) - T)) ms after tincan restart (tincan answered after $TA ms)"
else
	E2E_ERR=$(tail -n 8 "$(ctl_log m1)")
	tap_fail "m1's controller reconnects to the new tincan"
fi
if wait_until "$TINCAN_BACK_S" flow_has_since kill "$T"; then
	FIRST=$(flow_replies kill | awk -v t0="$T" '$1 >= t0 { print $1 - t0; exit }')
	tap_ok "traffic m1 -> m2 back within $TINCAN_BACK_S s of the tincan restart"
	tap_note "measured: traffic back $FIRST ms after tincan restart"
	log_since 'ICE restart|takes over|recovered|connected|remaking|linking to' |
		grep -v 'control: client' | sort -k2 | head -n 14 | sed 's/^/# logged: /'
else
	E2E_ERR="m1: $(link_snap m1 "${UID_OF[m2]}" 2>&1)"$'\n'"m2: $(link_snap m2 "${UID_OF[m1]}" 2>&1)"$'\n'$(log_since 'link|gvpn|tincan:' | tail -n 20)
	tap_fail "traffic m1 -> m2 back within $TINCAN_BACK_S s of the tincan restart"
fi
flow_stop kill

# ---- 3. Prosody killed for 20 s ------------------------------------------------------------

overlay_ready "Prosody outage"
BASE1=$(ctl_counts m1)
BASE2=$(ctl_counts m2)
OFF1=$(log_count "$(ctl_log m1)" "XMPP offline")
OFF2=$(log_count "$(ctl_log m2)" "XMPP offline")
offline_both()
{
	(($(log_count "$(ctl_log m1)" "XMPP offline") > OFF1 &&
		$(log_count "$(ctl_log m2)" "XMPP offline") > OFF2))
}
log_marks
flow_start x12 m1 "${VIP[m2]}" 0.2
flow_start x21 m2 "${VIP[m1]}" 0.2
wait_until 5 flow_has_since x12 "$(now_ms)" 3
X0=$(now_ms)
kill -KILL "$PROSODY_PID"
pid_wait_gone 5 "$PROSODY_PID"
wait "$PROSODY_PID" 2>/dev/null
PROSODY_PID=""
check "both controllers notice the XMPP server is gone" wait_until 10 offline_both
W=$((20000 - ($(now_ms) - X0)))
((W > 0)) && sleep "$((W / 1000)).$(printf '%03d' $((W % 1000)))"
must "Prosody starts again after 20 s" prosody_start
T=$(now_ms)
tap_note "Prosody was down for $((T - X0)) ms"
online_both() { ctl_fresh m1 "$BASE1" online && ctl_fresh m2 "$BASE2" online; }
if wait_until 40 online_both; then
	MS=$(($(now_ms) - T))
	tap_ok "both controllers are online again after the Prosody restart"
	tap_note "measured: controllers back online $MS ms after Prosody restarted"
	if ((MS <= PROSODY_BACK_S * 1000)); then
		tap_ok "both controllers online within $PROSODY_BACK_S s of the Prosody restart"
	else
		E2E_ERR=$(log_since 'xmpp: (reconnecting|recovered)' | tail -n 12)
		tap_fail "both controllers online within $PROSODY_BACK_S s of the Prosody restart"
	fi
	log_since 'xmpp: recovered' | sed 's/^/# logged: /'
else
	E2E_ERR=$(log_since 'xmpp|XMPP' | tail -n 12)
	tap_fail "both controllers are online again after the Prosody restart"
fi
sleep 2
flow_stop x12
flow_stop x21
report_loss x12 "ping -i 0.2 m1 -> m2 across the Prosody outage" "$X0"
report_loss x21 "ping -i 0.2 m2 -> m1 across the Prosody outage" "$X0"

# ---- 3b. m1's tincan restarted while Prosody is down ------------------------------------
# Its new link cannot be signalled until the server is back; then it must
# be relinked at once (the controllers resend every link's candidates when
# they are online again), not after a relink timer.

overlay_ready "tincan restart during a Prosody outage"
log_marks
BASE=$(ctl_counts m1)
BASE2=$(ctl_counts m2)
OFF1=$(log_count "$(ctl_log m1)" "XMPP offline")
OFF2=$(log_count "$(ctl_log m2)" "XMPP offline")
flow_start rs m1 "${VIP[m2]}" 0.05
wait_until 5 flow_has_since rs "$(now_ms)" 3
kill -KILL "$PROSODY_PID"
pid_wait_gone 5 "$PROSODY_PID"
wait "$PROSODY_PID" 2>/dev/null
PROSODY_PID=""
check "Prosody down again: both controllers notice" wait_until 10 offline_both
kill -KILL "${TINCAN_PID[m1]}"
pid_wait_gone 5 "${TINCAN_PID[m1]}"
wait "${TINCAN_PID[m1]}" 2>/dev/null
must "a new ipop-tincan starts on m1's state dir while Prosody is down" \
	tincan_start m1 m1
check "m1's controller reconnects to the new tincan while Prosody is down" \
	wait_until 10 ctl_fresh m1 "$BASE" tincan
sleep 2
TD=$(now_ms)
sleep 1
# A new link needs the peer's candidates: nothing can carry until signalling.
check "no traffic m1 -> m2 while m1's new link cannot be signalled" \
	test "$(flow_count_since rs "$TD")" -eq 0
must "Prosody starts again" prosody_start
T=$(now_ms)
if wait_until "$RELINK_XMPP_S" flow_has_since rs "$T"; then
	FIRST=$(flow_replies rs | awk -v t0="$T" '$1 >= t0 { print $1 - t0; exit }')
	tap_ok "m1's new tincan relinked within $RELINK_XMPP_S s of Prosody's restart"
	tap_note "measured: tincan restarted during a Prosody outage: traffic back $FIRST ms after Prosody restarted"
else
	E2E_ERR="m1: $(link_snap m1 "${UID_OF[m2]}" 2>&1); m2: $(link_snap m2 "${UID_OF[m1]}" 2>&1)"$'\n'$(log_since 'link|gvpn|XMPP|xmpp' | tail -n 20)
	tap_fail "m1's new tincan relinked within $RELINK_XMPP_S s of Prosody's restart"
fi
back_online() { ctl_fresh m1 "$BASE" online && ctl_fresh m2 "$BASE2" online; }
check "both controllers online again" wait_until 10 back_online
flow_stop rs

# ---- 4. underlay faults on nat1 (after the XMPP outage: a conntrack flush
# also strands m1's XMPP TCP session until m1 sends on it) -----------------------------------------------------------

# recovery NAME T0 BOUND_S DESC: wait (bounded) until flow NAME settled after
# T0 (no silence > 350 ms for 1 s); TAP line and measurement.
recovery()
{
	local ms
	if wait_until "$(($3 + 1))" flow_settled "$1" "$2" 350 1000; then
		ms=$(flow_settled "$1" "$2" 350 1000)
		if ((ms <= $3 * 1000)); then
			tap_ok "$4: traffic back within $3 s"
		else
			E2E_ERR="recovered only after $ms ms"
			tap_fail "$4: traffic back within $3 s"
		fi
		tap_note "measured: $4: traffic back $ms ms after it"
	else
		E2E_ERR="no steady replies $3 s after it; m1: $(link_snap m1 "${UID_OF[m2]}" 2>&1); m2: $(link_snap m2 "${UID_OF[m1]}" 2>&1)"$'\n'$(log_since 'link|gvpn|XMPP|xmpp' | tail -n 20)
		tap_fail "$4: traffic back within $3 s"
	fi
}

# flow_lost NAME DESC FAULT_MS: prints the lost count of stopped flow NAME
# and its longest silence from a second before the fault at FAULT_MS on.
flow_lost()
{
	local tx rx
	read -r tx rx <<<"$(flow_stats "$1" || echo "0 0")"
	tap_note "measured: $2: $((tx - rx)) of $tx pings (100/s) lost, longest silence $(flow_max_gap "$1" "$(($3 - 1000))") ms"
}

# recoveries NAME PEER: the link's recovery count in ipopctl status.
recoveries()
{
	ctl "$1" --json status | jq -er --arg p "$2" '
		[.overlays[]?.links[]? | select(.peer_uid == $p)] | first |
		.repair.recoveries'
}

# path_of NAME PEER: "direct" or "relay" for the link's selected pair.
path_of()
{
	local s
	s=$(link_snap "$1" "$2") || return 1
	if [[ $(snap_field "$s" 3) == relay/* || $(snap_field "$s" 4) == relay/* ]]; then
		echo relay
	else
		echo direct
	fi
}
on_path() { [[ $(path_of "$1" "$2") == "$3" ]]; }

overlay_ready "underlay cut"
log_marks
R1=$(recoveries m1 "${UID_OF[m2]}")
R2=$(recoveries m2 "${UID_OF[m1]}")
flow_start cut m1 "${VIP[m2]}" 0.01
wait_until 5 flow_has_since cut "$(now_ms)" 50
TD=$(now_ms)
check "nat1's WAN link goes down" nsx nat1 ip link set wan down
sleep 10
check "nat1's WAN link comes back (link up, default route again)" \
	eval 'nsx nat1 ip link set wan up &&
		nsx nat1 ip route replace default via 100.64.1.1'
T=$(now_ms)
tap_note "nat1's WAN was down for $((T - TD)) ms"
recovery cut "$T" "$CUT_BACK_S" "nat1's WAN restored after 10 s down"
sleep 0.5
log_since 'failed|remaking|recovered|ICE restart|XMPP (on|off)line|has a new link' |
	grep -v 'control: client' | sort -k2 | head -n 12 | sed 's/^/# logged since the cut: /'
flow_stop cut
flow_lost cut "nat1's WAN down for 10 s" "$TD"
for side in m1 m2; do
	n=$(log_since 'recovered: traffic back after [0-9]+ ms' | grep -c "^$side.log:")
	if ((n == 1)); then
		tap_ok "the WAN cut's recovery is logged once by $side's tincan, with its duration and cause"
	else
		E2E_ERR=$(log_since 'recovered' | head -n 5)
		tap_fail "the WAN cut's recovery is logged once by $side's tincan, with its duration and cause ($n lines)"
	fi
done
recovered_both()
{
	local a b
	a=$(recoveries m1 "${UID_OF[m2]}") || a=none
	b=$(recoveries m2 "${UID_OF[m1]}") || b=none
	echo "recoveries: m1 $R1 -> $a, m2 $R2 -> $b"
	[[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]] && ((a > R1 && b > R2))
}
check "the recovery is counted in ipopctl status on both sides" recovered_both

overlay_ready "conntrack flush"
log_marks
flow_start ct m1 "${VIP[m2]}" 0.01
wait_until 5 flow_has_since ct "$(now_ms)" 50
T=$(now_ms)
check "conntrack -F on nat1" nsx nat1 conntrack -F
recovery ct "$T" "$CUT_BACK_S" "conntrack flushed on nat1"
sleep 1
flow_stop ct
flow_lost ct "conntrack flush" "$T"

# Relay fallback: pub drops UDP between the two NATs' public addresses, so
# only the TURN relay (pub's own address) still joins them.
# direct_udp -I|-D: inserts or deletes pub's drops of direct UDP.
direct_udp()
{
	nsx pub iptables "$1" FORWARD -p udp -s 100.64.1.2 -d 100.64.2.2 -j DROP &&
		nsx pub iptables "$1" FORWARD -p udp -s 100.64.2.2 -d 100.64.1.2 -j DROP
}
both_direct() { on_path m1 "${UID_OF[m2]}" direct && on_path m2 "${UID_OF[m1]}" direct; }
# rebind -I|-D: nat1's UDP to public ports 61000-61999 (or back), and its
# mappings flushed.
rebind()
{
	local at=()
	[[ $1 == -I ]] && at=(1)
	nsx nat1 iptables -t nat "$1" POSTROUTING "${at[@]}" \
		-o wan -p udp -j MASQUERADE --to-ports 61000-61999 &&
		nsx nat1 conntrack -F
}
overlay_ready "relay fallback"
log_marks
tap_note "before the fallback: m1's link to m2: $(link_snap m1 "${UID_OF[m2]}")"
flow_start rly m1 "${VIP[m2]}" 0.01
wait_until 5 flow_has_since rly "$(now_ms)" 50
T=$(now_ms)
TR=$T
check "pub drops direct UDP between nat1 and nat2 (TURN stays reachable)" \
	direct_udp -I
recovery rly "$T" "$RELAY_S" "direct UDP dropped, TURN reachable"
if wait_until 2 on_path m1 "${UID_OF[m2]}" relay; then
	tap_ok "the link moved to the TURN relay"
else
	E2E_ERR="m1: $(link_snap m1 "${UID_OF[m2]}")"
	tap_fail "the link moved to the TURN relay"
fi
tap_note "on the relay: m1's link to m2: $(link_snap m1 "${UID_OF[m2]}")"
sleep 1
T=$(now_ms)
check "pub lets direct UDP through again" \
	direct_udp -D
if wait_until "$DIRECT_S" both_direct; then
	tap_ok "the link is back on a direct pair within $DIRECT_S s"
	tap_note "measured: back on a direct pair $(($(now_ms) - T)) ms after direct UDP returned"
else
	E2E_ERR="m1: $(link_snap m1 "${UID_OF[m2]}")"$'\n'$(log_since 'ICE restart|direct|relay' | tail -n 8)
	tap_fail "the link is back on a direct pair within $DIRECT_S s"
fi
sleep 1
flow_stop rly
flow_lost rly "relay fallback and back" "$TR"
log_since 'recovered|ICE restart|fell back|direct path|takes over' |
	sort -k2 | head -n 12 | sed 's/^/# logged: /'

# NAT rebinding: nat1 maps UDP to another port range and forgets its
# mappings, so m1's public port changes under a running link.
overlay_ready "NAT rebinding"
log_marks
S1=$(link_snap m2 "${UID_OF[m1]}")
flow_start rb m1 "${VIP[m2]}" 0.01
wait_until 5 flow_has_since rb "$(now_ms)" 50
T=$(now_ms)
check "nat1 moves its public UDP ports to 61000-61999 and flushes conntrack" \
	rebind -I
recovery rb "$T" "$REBIND_S" "nat1's public port changed"
sleep 1
flow_stop rb
flow_lost rb "NAT rebinding" "$T"
tap_note "m2's link to m1 before: $S1"
tap_note "m2's link to m1 after:  $(link_snap m2 "${UID_OF[m1]}")"
log_since 'recovered|ICE restart|moved to|takes over' | sort -k2 |
	head -n 10 | sed 's/^/# logged: /'
check "nat1's port range restored" rebind -D

# ---- 5. graceful shutdown ----------------------------------------------------------------

overlay_ready "graceful shutdown"
M2LOG=$(ctl_log m2)
M2L0=$(lines_of "$M2LOG")
check "m1's controller exits 0 on SIGTERM" controller_stop m1
bye_logged()
{
	grep_since "$M2LOG" "$M2L0" "m1@$XMPP_DOMAIN/[^ ]* said bye" |
		grep -q .
}
check "m2's controller logged m1's bye" wait_until 10 bye_logged
check "m2 keeps the working link after the bye (m1's tincan still runs)" \
	ping_ok m1 10.77.0.2
check "m1's tincan exits 0 on SIGTERM" tincan_stop m1
T=$(now_ms)
if wait_until "$BYE_S" eval "! has_link m2 ${UID_OF[m1]}"; then
	tap_ok "m2 drops m1 within $BYE_S s of m1's tincan SIGTERM"
	tap_note "measured: m2 dropped m1's link $(($(now_ms) - T)) ms after tincan SIGTERM"
else
	E2E_ERR="m2 still holds: $(link_snap m2 "${UID_OF[m1]}")"
	tap_fail "m2 drops m1 within $BYE_S s of m1's tincan SIGTERM"
fi
check "m1's TAP ipop0 is gone" eval "! nsx m1 ip link show ipop0"
check "m1's control socket is gone" test ! -e "$(tincan_sock m1)"
check "nothing else: m2's tincan still runs, its ipop0 is still there" \
	eval "kill -0 ${TINCAN_PID[m2]} && nsx m2 ip link show ipop0"

tap_note "total run time $(($(now_ms) - RUN0)) ms"
tap_done
