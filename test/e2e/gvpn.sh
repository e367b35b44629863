#!/bin/bash
# End-to-end test of ipop-controller: a GroupVPN of four members signalling
# through a real XMPP server (Prosody, or ejabberd with
# IPOP_XMPP_SERVER=ejabberd), two of them behind NAT routers, with coturn
# for STUN and TURN.  Accounts are made by in-band registration and
# friendships by real subscribe/subscribed exchanges from an XMPP client.
#
#                               ns "pub" (router)
#          XMPP c2s 100.64.0.3:5222 (plain)      coturn TURN 100.64.0.1:3478
#                                                       STUN 100.64.0.2:3478
#     100.64.11.1  100.64.12.1   100.64.3.1    100.64.4.1   100.64.21.1  100.64.22.1
#          |            |            |             |            |            |
#     100.64.11.2  100.64.12.2   100.64.3.2    100.64.4.2   100.64.21.2  100.64.22.2
#       ns m1        ns m2       ns nat3       ns nat4        ns eve     ns mallory
#                                MASQUERADE    MASQUERADE
#                                10.3.0.1      10.4.0.1
#                                    |             |
#                                10.3.0.2      10.4.0.2
#                                  ns m3         ns m4
#
#   every host runs ipop-tincan + ipop-controller, overlay "gvpn" on ipop0:
#     m1..m4    10.77.0.1-4/24, group "lab", group secret file (same bytes)
#     eve       10.77.0.66, group "lab", same secret, but no mutual
#               subscription with anyone: she asked every member and they
#               approved without asking back, so the members' rosters say
#               "from" eve (she sees them, they do not see her); then hers
#               is forged to "both" with the server's admin facility, so
#               her controller pushes advertisements at them like a client
#               that ignores the subscription would
#     mallory   10.77.0.99, group "lab", mutual subscription with every
#               member, but no group secret
#
# Asserted: all 12 ordered member pairs ping by virtual IP (the time from
# controller start is printed); iperf3 TCP across the NATed pair m3 -> m4;
# eve and mallory never hold a connected link nor appear in a member's links
# (sampled all through the run) and cannot ping members; a member stopped
# cleanly vanishes from the others' links within 10 s and rejoins when
# started again; with the XMPP server stopped and restarted, pings across the overlay
# keep flowing through the outage, the controllers reconnect, and a member
# started after the restart joins.  The server's name in the descriptions
# is the one in use.  Measurements are "# measured" lines.

# shellcheck disable=SC2317 # functions run through check/wait_until
set -u -o pipefail
# shellcheck source=test/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=test/e2e/lib-xmpp.sh
. "$(dirname "$0")/lib-xmpp.sh"
# shellcheck disable=SC2034 # E2E_ERR is read by lib.sh's tap_fail

e2e_require_root
e2e_require_tools "$TINCAN" "$IPOPCTL" "$CONTROLLER" "$(xmpp_server_tool)" \
	python3 iperf3 ss
e2e_init
SRV=$(xmpp_server_name)

controller_snapshot || exit 1

MEMBERS=(m1 m2 m3 m4)
OUTSIDERS=(eve mallory)
declare -A VIP=([m1]=10.77.0.1 [m2]=10.77.0.2 [m3]=10.77.0.3 [m4]=10.77.0.4
	[eve]=10.77.0.66 [mallory]=10.77.0.99)
declare -A UID_OF=() NAME_OF=()
GROUP=lab
SECRET="gvpn e2e group secret: 6b1f0c9e3d2a4758"

# ---- network, the XMPP server, coturn ------------------------------------------

must "public router pub" pub_add
must "m1 on the public network" pubhost_add m1 11
must "m2 on the public network" pubhost_add m2 12
must "NAT router nat3" nat_add nat3 3
must "m3 behind nat3" host_add nat3 3 m3 2
must "NAT router nat4" nat_add nat4 4
must "m4 behind nat4" host_add nat4 4 m4 2
must "eve on the public network" pubhost_add eve 21
must "mallory on the public network" pubhost_add mallory 22
must "$SRV configuration" xmpp_server_setup
T=$(now_ms)
must "start $SRV in pub" xmpp_server_start
tap_note "measured: $SRV listening $(($(now_ms) - T)) ms after its start"
must "start coturn in pub" turn_start

# accounts USER...: "USER:pw-USER" each.
accounts()
{
	local u
	for u in "$@"; do echo "$u:pw-$u"; done
}
# shellcheck disable=SC2046
check "in-band registration of the 6 accounts (from m1)" \
	xmpp_register m1 $(accounts "${MEMBERS[@]}" "${OUTSIDERS[@]}")
T=$(now_ms)
# shellcheck disable=SC2046
check "m1..m4 and mallory befriend each other pairwise by subscribe/subscribed exchanges (from m2)" \
	xmpp_client m2 mesh $(accounts "${MEMBERS[@]}" mallory)
# shellcheck disable=SC2046
check "eve asks every member, they approve without asking back (from eve)" \
	xmpp_client eve follow $(accounts eve "${MEMBERS[@]}")
tap_note "measured: rosters made through XMPP in $(($(now_ms) - T)) ms"
check "eve's own roster forged to both with $SRV's admin facility" \
	xmpp_forge_both eve "${MEMBERS[@]}"
check "$SRV stored m1's roster: m2..m4 and mallory both, eve from" \
	test "$(xmpp_stored_roster m1 | sort | paste -sd' ')" = \
	"eve from m2 both m3 both m4 both mallory both"
check "m3 logs into $SRV through nat3 (raw c2s stream, SASL PLAIN, bind)" \
	xmpp_login_ok m3 m3 pw-m3
check "m4 leaves through nat4 (STUN sees 100.64.4.2)" \
	test "$(stun_mapped m4)" = 100.64.4.2
check_fails "m3 cannot reach m4's LAN address directly" \
	nsx m3 ping -n -c 1 -W 0.5 10.4.0.2

for m in "${MEMBERS[@]}"; do
	must "configuration of $m" member_config "$m" "$m" "pw-$m" \
		"${VIP[$m]}" "$GROUP" "$SECRET"
done
must "configuration of eve" member_config eve eve pw-eve "${VIP[eve]}" \
	"$GROUP" "$SECRET"
must "configuration of mallory" member_config mallory mallory pw-mallory \
	"${VIP[mallory]}" "$GROUP"
check "ipop-controller --check-config accepts the generated configuration" \
	"$CONTROLLER" --config "$(ctl_dir m3)/controller.yaml" --check-config

# ---- tincans, then every controller at once -----------------------------------

for n in "${MEMBERS[@]}" "${OUTSIDERS[@]}"; do
	must "start ipop-tincan $n" tincan_start "$n" "$n"
	UID_OF[$n]=$(tincan_uid "$n")
	must "uid of $n" test -n "${UID_OF[$n]}"
	NAME_OF[${UID_OF[$n]}]=$n
done

# pairs_of NAME...: ordered member pairs with at least one end in NAME...
# (every pair when no NAME is given).
pairs_of()
{
	local a b
	for a in "${MEMBERS[@]}"; do
		for b in "${MEMBERS[@]}"; do
			[[ $a == "$b" ]] && continue
			if (($# == 0)) || [[ " $* " == *" $a "* || " $* " == *" $b "* ]]; then
				echo "$a:$b"
			fi
		done
	done
}

# report_pairs DESC: one TAP line for the last pairs_wait (its result in
# RES); sets REPORT_MAX to the slowest pair's time.
report_pairs()
{
	local desc=$1 bad max
	bad=$(awk '$3 == "-" { printf "%s->%s ", $1, $2 }' <<<"$RES")
	max=$(awk '$3 != "-" && $3 + 0 > m + 0 { m = $3 } END { print m + 0 }' <<<"$RES")
	if [[ -z $bad ]]; then
		tap_ok "$desc"
	else
		E2E_ERR="no reply for: $bad"
		tap_fail "$desc"
	fi
	REPORT_MAX=$max
}

T0=$(now_ms)
for n in "${MEMBERS[@]}" "${OUTSIDERS[@]}"; do
	controller_start "$n" "$n"
done

# The outsiders are watched for the whole run, once a second.
watch_outsiders()
{
	local o m n pat
	pat="^(${UID_OF[eve]}|${UID_OF[mallory]}) "
	while :; do
		for o in "${OUTSIDERS[@]}"; do
			n=$(connected_count "$o" 2>/dev/null)
			((${n:-0} > 0)) && echo "$(now_ms) $o has $n connected link(s)"
		done
		for m in "${MEMBERS[@]}"; do
			links_of "$m" 2>/dev/null | grep -E "$pat" |
				sed "s/^/$(now_ms) $m holds a link: /"
		done
		sleep 1
	done
}
: >"$E2E_TMP/outsiders.txt"
watch_outsiders >>"$E2E_TMP/outsiders.txt" 2>/dev/null &
WATCH_PID=$!
run_track_pid "$WATCH_PID"

mapfile -t ALL < <(pairs_of)
pairs_wait 60 "$T0" VIP "${ALL[@]}"
report_pairs "every member pings every other by virtual IP (12 ordered pairs)"
tap_note "first reply per pair, ms after controller start:"
awk '{ printf "#   %s -> %s  %s\n", $1, $2, $3 }' <<<"$RES"
tap_note "measured: time from controller start to all pairs pinging: $REPORT_MAX ms"

# link_table NAME: "peer state local->remote" for NAME's links, by name.
link_table()
{
	local uid state lt rt
	ctl "$1" --json status |
		jq -r '.overlays[]?.links[]? | "\(.peer_uid) \(.state) \(.local_type) \(.remote_type)"' |
		while read -r uid state lt rt; do
			echo "${NAME_OF[$uid]:-${uid:0:12}} $state $lt->$rt"
		done
}
for m in "${MEMBERS[@]}"; do
	check "$m holds 3 connected links" test "$(connected_count "$m")" -eq 3
	tap_note "$m links: $(link_table "$m" | paste -sd, | sed 's/,/, /g')"
done

# ---- iperf3 across the NATed pair ------------------------------------------------

nsbg m4 "$E2E_TMP/iperf3-server.log" iperf3 -s -1 -B "${VIP[m4]}" -p 5201
if wait_until 10 ns_listens m4 tcp "${VIP[m4]}:5201"; then
	IPERF=$(nsx m3 timeout 20 iperf3 -c "${VIP[m4]}" -p 5201 -t 3 -J 2>&1)
	MBPS=$(jq -r '.end.sum_received.bits_per_second / 1e6 | floor' <<<"$IPERF" 2>/dev/null)
	if [[ ${MBPS:-} =~ ^[0-9]+$ ]] &&
		jq -e '.end.sum_received.bits_per_second > 0' <<<"$IPERF" >/dev/null; then
		tap_ok "iperf3 TCP m3 -> m4 across both NATs carries data"
		tap_note "measured: iperf3 TCP m3 -> m4 (both NATed): $MBPS Mbit/s"
	else
		E2E_ERR=$(head -c 2000 <<<"$IPERF")
		tap_fail "iperf3 TCP m3 -> m4 across both NATs carries data"
	fi
else
	E2E_ERR="iperf3 server did not listen on ${VIP[m4]}:5201"
	tap_fail "iperf3 TCP m3 -> m4 across both NATs carries data"
fi

# ---- the outsiders -------------------------------------------------------------

outsiders_checks()
{
	local when=$1 o m
	for o in "${OUTSIDERS[@]}"; do
		check "$when: $o holds no connected link" \
			test "$(connected_count "$o")" -eq 0
	done
	for m in "${MEMBERS[@]}"; do
		if [[ -z ${TINCAN_PID[$m]:-} ]] || ! kill -0 "${TINCAN_PID[$m]}" 2>/dev/null; then
			continue
		fi
		check_fails "$when: $m holds no link to eve or mallory" \
			has_link_to_outsider "$m"
	done
}
has_link_to_outsider()
{
	has_link "$1" "${UID_OF[eve]}" || has_link "$1" "${UID_OF[mallory]}"
}

outsiders_checks "after the mesh formed"
check "eve cannot ping m1" ping_fails eve "${VIP[m1]}"
check "mallory cannot ping m2" ping_fails mallory "${VIP[m2]}"
check "m3 cannot ping mallory" ping_fails m3 "${VIP[mallory]}"
check "the members refused mallory for want of the group secret" \
	grep -q "not admitting mallory@$XMPP_DOMAIN/[^:]*: no group secret proof" \
	"$(ctl_log m1)"
check "the members refused eve for want of a mutual subscription" \
	grep -q "not admitting eve@$XMPP_DOMAIN/[^:]*: no mutual subscription" \
	"$(ctl_log m3)"

# ---- a member stops cleanly and comes back ------------------------------------------

T=$(now_ms)
check "m4 stops cleanly (controller, then tincan, both exit 0)" member_stop m4
if wait_until 10 gone_from m4 "${MEMBERS[@]}"; then
	tap_ok "m4 disappears from the others' links within 10 s"
	tap_note "measured: m4 gone from m1..m3's links $(($(now_ms) - T)) ms after SIGTERM"
else
	E2E_ERR="links to m4 still held: $(for x in m1 m2 m3; do links_of "$x" | grep "^${UID_OF[m4]}" | sed "s/^/$x: /"; done)"
	tap_fail "m4 disappears from the others' links within 10 s"
fi
check "m3 cannot ping m4 while it is away" ping_fails m3 "${VIP[m4]}"

T=$(now_ms)
must "restart ipop-tincan m4" tincan_start m4 m4
check "m4's uid is unchanged after the restart" test "$(tincan_uid m4)" = "${UID_OF[m4]}"
controller_start m4 m4
mapfile -t P4 < <(pairs_of m4)
pairs_wait 30 "$T" VIP "${P4[@]}"
report_pairs "m4 started again: its 6 ordered pairs ping again"
tap_note "measured: m4 back, all its pairs pinging $REPORT_MAX ms after restart"

# ---- the XMPP server restarts under a running overlay ----------------------------

# m2 sits out the restart: it is started afterwards and must still join.
check "m2 stops cleanly before the XMPP restart" member_stop m2
wait_until 10 gone_from m2 "${MEMBERS[@]}"

RUNNING=(m1 m3 m4 eve mallory)
declare -A OFF0=() ON0=()
# shellcheck disable=SC2034 # read through a nameref in all_logged
for n in "${RUNNING[@]}"; do
	OFF0[$n]=$(log_count "$(ctl_log "$n")" "XMPP offline")
	ON0[$n]=$(log_count "$(ctl_log "$n")" "XMPP online as")
done

# bg_ping NAME SRC DST: ping every 0.2 s in the background until stopped.
declare -A BGPING=()
bg_ping()
{
	nsbg "$2" "$E2E_TMP/bgping.$1" ping -n -i 0.2 -w 120 "${VIP[$3]}"
	BGPING[$1]=$NSBG_PID
}
replies()
{
	local n
	n=$(grep -c 'bytes from' "$E2E_TMP/bgping.$1" 2>/dev/null)
	echo "${n:-0}"
}
replies_at_least() { (($(replies "$1") >= $2)); }

# all_logged TEXT BASE: every running controller's log holds more lines
# with TEXT than the associative array BASE says it held before.
all_logged()
{
	local what=$1 n
	local -n base=$2
	for n in "${RUNNING[@]}"; do
		(($(log_count "$(ctl_log "$n")" "$what") > ${base[$n]})) ||
			return 1
	done
}

bg_ping nat m3 m4
bg_ping pub m1 m3
wait_until 10 replies_at_least nat 5

T=$(now_ms)
check "$SRV stops" xmpp_server_stop
check "every running controller notices the XMPP server is gone" \
	wait_until 10 all_logged "XMPP offline" OFF0
# Keep the server down for a while; the overlay must carry traffic meanwhile.
R0=$(replies nat)
wait_until 10 replies_at_least nat $((R0 + 10))
R1=$(replies nat)
tap_note "$SRV down; m3 -> m4 replies during the outage so far: $((R1 - R0))"
check "pings m3 -> m4 answered while $SRV is down" test $((R1 - R0)) -ge 10
OUTAGE=$(($(now_ms) - T))
must "$SRV starts again" xmpp_server_start
T=$(now_ms)
if wait_until 40 all_logged "XMPP online as" ON0; then
	tap_ok "every running controller reconnects to the restarted server"
	tap_note "measured: controllers back online $(($(now_ms) - T)) ms after $SRV restarted (outage $OUTAGE ms)"
else
	E2E_ERR=$(for n in "${RUNNING[@]}"; do echo "$n: $(grep -F "XMPP" "$(ctl_log "$n")" | tail -n 3)"; done)
	tap_fail "every running controller reconnects to the restarted server"
fi

T=$(now_ms)
must "start ipop-tincan m2 after the restart" tincan_start m2 m2
controller_start m2 m2
mapfile -t P2 < <(pairs_of m2)
pairs_wait 30 "$T" VIP "${P2[@]}"
report_pairs "m2, started after the XMPP restart, joins: its 6 ordered pairs ping"
tap_note "measured: m2 joined (all its pairs pinging) $REPORT_MAX ms after its start"

# Stop the background pings and count what was lost.
for k in nat pub; do
	kill -INT "${BGPING[$k]}" 2>/dev/null
	pid_wait_gone 5 "${BGPING[$k]}"
	wait "${BGPING[$k]}" 2>/dev/null
done
for k in nat pub; do
	stats=$(grep -E 'packets transmitted' "$E2E_TMP/bgping.$k")
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$stats")
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$stats")
	lost=$((${tx:-0} - ${rx:-0}))
	case $k in
	nat) what="m3 -> m4" ;;
	pub) what="m1 -> m3" ;;
	esac
	tap_note "measured: ping -i 0.2 $what across the $SRV restart: ${tx:-0} sent, ${rx:-0} received, $lost lost"
	if [[ -n $tx ]] && ((tx > 0 && lost <= 1)); then
		tap_ok "ping $what keeps working through the $SRV restart (<= 1 lost)"
	else
		E2E_ERR="ping statistics: ${stats:-none}"
		tap_fail "ping $what keeps working through the $SRV restart (<= 1 lost)"
	fi
done

# ---- the end state ---------------------------------------------------------------

pairs_wait 20 "$(now_ms)" VIP "${ALL[@]}"
report_pairs "at the end, all 12 ordered member pairs still ping"
outsiders_checks "at the end"
check "eve cannot ping m4" ping_fails eve "${VIP[m4]}"
check "mallory cannot ping m3" ping_fails mallory "${VIP[m3]}"
kill "$WATCH_PID" 2>/dev/null
pid_wait_gone 5 "$WATCH_PID"
if [[ -s $E2E_TMP/outsiders.txt ]]; then
	E2E_ERR=$(head -n 20 "$E2E_TMP/outsiders.txt")
	tap_fail "sampled every second all run long: no link between members and eve or mallory"
else
	tap_ok "sampled every second all run long: no link between members and eve or mallory"
fi
tap_note "total run time: $(($(now_ms) - T0)) ms from first controller start"
tap_done
