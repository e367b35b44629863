#!/bin/bash
# End-to-end test of the SocialVPN: three users with two devices each, every
# device its own ipop-tincan + ipop-controller logging into a real XMPP
# server (Prosody, or ejabberd with IPOP_XMPP_SERVER=ejabberd) under its
# user's account (resource: the device's uid), accounts made by in-band
# registration, friendships made and broken by real subscription exchanges
# from an XMPP client.
#
#                              ns "pub" (router)
#        XMPP c2s 100.64.0.3:5222 (plain)      coturn TURN 100.64.0.1:3478
#                                                     STUN 100.64.0.2:3478
#   100.64.11.1   100.64.2.1    100.64.13.1   100.64.4.1    100.64.5.1   100.64.16.1
#        |             |             |             |             |            |
#   100.64.11.2   100.64.2.2    100.64.13.2   100.64.4.2    100.64.5.2   100.64.16.2
#      ns a1        ns nat2        ns b1        ns nat4       ns nat5       ns c2
#                   MASQUERADE                  MASQUERADE    MASQUERADE
#                   10.2.0.1                    10.4.0.1      10.5.0.1
#                      |                           |             |
#                   10.2.0.2                    10.4.0.2      10.5.0.2
#                    ns a2                       ns b2         ns c1
#
#   alice@ipop.test: a1, a2     bob@ipop.test: b1, b2     carol@ipop.test: c1, c2
#   friendships (subscribe/subscribed both ways): alice<->bob, bob<->carol
#   every device: overlay "social", type svpn, TAP ipop0, subnet 172.31.0.0/16,
#   its own address 172.31.0.1 (the default); a1 pins b1 at 172.31.200.200,
#   c2 pins b2 at 172.31.0.2 (the others derive addresses from the uids)
#
# Asserted: the subscription exchanges leave `both` in the pushes and in
# the server's stored rosters; each device's view (ipopctl mappings) holds
# exactly its own user's other device and its friends' devices, labelled
# with their full JIDs, at distinct addresses of the subnet, with the peers'
# own address 172.31.0.1; all 22 allowed ordered pairs ping by local-view
# address (alice's devices each other and bob's, bob's everyone's, carol's
# bob's and each other), IPv6 (untranslated, uid-derived) too; alice and
# carol never hold a link or a mapping to each other (sampled every second
# all run long) and no ping between them gets through; iperf3 TCP and UDP,
# a UDP echo (whose server sees the client at the client's address in the
# server's view), a fragmented ping, all through translation; one device
# restarted keeps its address in every view and its view of the others;
# bob removing carol from his roster drops every bob<->carol link and
# mapping within 10 s, pings between them fail, and every other mapping is
# unchanged and still pings.  Measurements are "# measured" lines.

# shellcheck disable=SC2317 # functions run through check/wait_until
set -u -o pipefail
# shellcheck source=test/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=test/e2e/lib-xmpp.sh
. "$(dirname "$0")/lib-xmpp.sh"
# shellcheck source=test/e2e/lib-svpn.sh
. "$(dirname "$0")/lib-svpn.sh"
# shellcheck disable=SC2034 # E2E_ERR is read by lib.sh's tap_fail

e2e_require_root
e2e_require_tools "$TINCAN" "$IPOPCTL" "$CONTROLLER" "$(xmpp_server_tool)" \
	iperf3 ss python3
e2e_init
controller_snapshot || exit 1
SRV=$(xmpp_server_name)

DEVICES=(a1 a2 b1 b2 c1 c2)
declare -A USER_OF=([a1]=alice [a2]=alice [b1]=bob [b2]=bob [c1]=carol
	[c2]=carol)
declare -A UID_OF=() NAME_OF=()
FRIENDS=" alice:bob bob:carol "	# current friendships, both orders checked
SELF_IP=172.31.0.1
PIN_IP=172.31.200.200		# a1's pinned address for b1
PIN_IP2=172.31.0.2		# c2's pinned address for b2

# ---- network, the XMPP server, coturn -------------------------------------------

must "public router pub" pub_add
must "a1 on the public network" pubhost_add a1 11
must "NAT router nat2" nat_add nat2 2
must "a2 behind nat2" host_add nat2 2 a2 2
must "b1 on the public network" pubhost_add b1 13
must "NAT router nat4" nat_add nat4 4
must "b2 behind nat4" host_add nat4 4 b2 2
must "NAT router nat5" nat_add nat5 5
must "c1 behind nat5" host_add nat5 5 c1 2
must "c2 on the public network" pubhost_add c2 16
must "$SRV configuration" xmpp_server_setup
must "start $SRV in pub" xmpp_server_start
must "start coturn in pub" turn_start
check "in-band registration of alice, bob and carol (rosters start empty)" \
	xmpp_register a1 alice:pw-alice bob:pw-bob carol:pw-carol

# ---- friendships by real subscription exchanges ----------------------------

# befriend NS A B: the exchange, run from NS; its output is kept.
befriend()
{
	social "$1" befriend "$2" "pw-$2" "$3" "pw-$3" >"$E2E_TMP/friend.$2.$3" &&
		grep -qx "$2@$XMPP_DOMAIN: $3@$XMPP_DOMAIN=both" "$E2E_TMP/friend.$2.$3" &&
		grep -qx "$3@$XMPP_DOMAIN: $2@$XMPP_DOMAIN=both" "$E2E_TMP/friend.$2.$3"
}
check "alice and bob befriend each other from a2 (behind nat2): subscribe, subscribed, both ways; pushes say both" \
	befriend a2 alice bob
check "bob and carol befriend each other from c1 (behind nat5): pushes say both" \
	befriend c1 bob carol
check "$SRV's stored rosters: alice has bob, bob has alice and carol, carol has bob, all both" \
	test "$(for u in alice bob carol; do xmpp_stored_roster $u | sort | sed "s/^/$u:/"; done | paste -sd' ')" = \
	"alice:bob both bob:alice both bob:carol both carol:bob both"

# ---- tincans, configurations, controllers ---------------------------------------

for d in "${DEVICES[@]}"; do
	must "start ipop-tincan $d" tincan_start "$d" "$d"
	UID_OF[$d]=$(tincan_uid "$d")
	must "uid of $d" test -n "${UID_OF[$d]}"
	NAME_OF[${UID_OF[$d]}]=$d
done
for d in "${DEVICES[@]}"; do
	if [[ $d == a1 ]]; then
		must "configuration of a1 (pins b1)" svpn_member_config a1 alice \
			pw-alice "${UID_OF[b1]}=$PIN_IP"
	elif [[ $d == c2 ]]; then
		must "configuration of c2 (pins b2)" svpn_member_config c2 carol \
			pw-carol "${UID_OF[b2]}=$PIN_IP2"
	else
		must "configuration of $d" svpn_member_config "$d" \
			"${USER_OF[$d]}" "pw-${USER_OF[$d]}"
	fi
done
check "ipop-controller --check-config accepts the svpn configuration" \
	"$CONTROLLER" --config "$(ctl_dir a1)/controller.yaml" --check-config

# allowed X Y: X and Y are different devices of one user or of friends.
allowed()
{
	local u=${USER_OF[$1]} v=${USER_OF[$2]}
	[[ $1 != "$2" ]] || return 1
	[[ $u == "$v" || $FRIENDS == *" $u:$v "* || $FRIENDS == *" $v:$u "* ]]
}

# expected_of X: the devices X should see, sorted.
expected_of()
{
	local y
	for y in "${DEVICES[@]}"; do
		allowed "$1" "$y" && echo "$y"
	done
}

# seen_of X: the devices X maps, by name, sorted ("?uid" for strangers).
seen_of()
{
	local uid rest
	svpn_view "$1" | while read -r uid rest; do
		echo "${NAME_OF[$uid]:-?$uid}"
	done | sort
}

# views_are_expected [DEV...]: each device maps exactly what it should and
# holds a connected link to each of them.
views_are_expected()
{
	local x y devs=("$@")
	((${#devs[@]})) || devs=("${DEVICES[@]}")
	for x in "${devs[@]}"; do
		[[ "$(seen_of "$x")" == "$(expected_of "$x")" ]] || return 1
		for y in $(expected_of "$x"); do
			link_connected "$x" "${UID_OF[$y]}" || return 1
		done
	done
}

# separated X Y: X holds neither a link nor a mapping to Y.
separated()
{
	local st
	st=$(svpn_status "$1") || return 1
	! jq -e --arg u "${UID_OF[$2]}" \
		'[.overlays[]? | (.links[]?, .mappings[]?) | select(.peer_uid == $u)] | length > 0' \
		<<<"$st" >/dev/null
}

# The watcher: every second, every pair that must stay apart (alice and
# carol; bob and carol once the unfriending has settled: listed in
# $E2E_TMP/apart).  A failed status read (a device restarting) is skipped.
apart_list()
{
	local x y
	for x in a1 a2 c1 c2; do
		for y in a1 a2 c1 c2; do
			[[ ${USER_OF[$x]} != "${USER_OF[$y]}" ]] && echo "$x $y"
		done
	done
}
apart_list >"$E2E_TMP/apart"
watch_apart()
{
	local x y st
	while :; do
		while read -r x y; do
			st=$(svpn_status "$x" 2>/dev/null) || continue
			jq -e --arg u "${UID_OF[$y]}" \
				'[.overlays[]? | (.links[]?, .mappings[]?) | select(.peer_uid == $u)] | length > 0' \
				<<<"$st" >/dev/null 2>&1 &&
				echo "$(now_ms) $x holds a link or mapping to $y"
		done <"$E2E_TMP/apart"
		sleep 1
	done
}

T0=$(now_ms)
for d in "${DEVICES[@]}"; do
	controller_start "$d" "$d"
done
: >"$E2E_TMP/apart.log"
watch_apart >>"$E2E_TMP/apart.log" 2>/dev/null &
WATCH_PID=$!
run_track_pid "$WATCH_PID"

if wait_until 60 views_are_expected; then
	tap_ok "every device maps and links exactly its own other device and its friends' devices"
	tap_note "measured: views complete and links connected $(($(now_ms) - T0)) ms after controller start"
else
	E2E_ERR=$(for d in "${DEVICES[@]}"; do
		echo "$d expects: $(expected_of "$d" | paste -sd' ') sees: $(seen_of "$d" | paste -sd' ') links: $(links_of "$d" | paste -sd,)"
	done)
	tap_fail "every device maps and links exactly its own other device and its friends' devices"
	echo "Bail out! the SocialVPN never formed; nothing else can be judged"
	exit 1
fi

# ---- the views ----------------------------------------------------------------

declare -A VIEW=()	# "X Y" -> Y's IPv4 in X's view
declare -A V6=()	# Y -> Y's own IPv6
# load_views: VIEW from every device's mappings.
load_views()
{
	local x uid v4 rest
	VIEW=()
	for x in "${DEVICES[@]}"; do
		while read -r uid v4 rest; do
			[[ -n ${NAME_OF[$uid]:-} ]] && VIEW["$x ${NAME_OF[$uid]}"]=$v4
		done < <(svpn_view "$x")
	done
}
load_views
for d in "${DEVICES[@]}"; do
	V6[$d]=$(own_ipv6 "$d")
done

# view_ok X: X's own address is 172.31.0.1/16; each mapping has the full
# JID as label, the peer's own address 172.31.0.1, an address of the subnet
# other than X's own and distinct from the others; IPv6 = the peer's own.
view_ok()
{
	local x=$1 uid v4 pv4 v6 label y used=" "
	[[ $(svpn_status "$x" | jq -r '.overlays[0].ipv4') == "$SELF_IP/16" ]] ||
		{ echo "$x: own address $(svpn_status "$x" | jq -r '.overlays[0].ipv4')"; return 1; }
	while read -r uid v4 pv4 v6 label; do
		y=${NAME_OF[$uid]:-?}
		[[ $label == "${USER_OF[$y]:-?}@$XMPP_DOMAIN/$uid" ]] ||
			{ echo "$x: label of $y is $label"; return 1; }
		[[ $pv4 == "$SELF_IP" ]] ||
			{ echo "$x: peer_ipv4 of $y is $pv4"; return 1; }
		[[ $v4 == 172.31.* && $v4 != "$SELF_IP" && $used != *" $v4 "* ]] ||
			{ echo "$x: bad or duplicate address $v4 for $y"; return 1; }
		[[ $v6 == "${V6[$y]:-none}" ]] ||
			{ echo "$x: IPv6 of $y is $v6, its own is ${V6[$y]:-none}"; return 1; }
		used+="$v4 "
	done < <(svpn_view "$x")
}
for d in "${DEVICES[@]}"; do
	check "$d's view: own 172.31.0.1/16; labels are full JIDs; peers' own address 172.31.0.1; distinct addresses; uid-derived IPv6" \
		view_ok "$d"
done
check "a1's view holds b1 at its pinned address $PIN_IP" \
	test "${VIEW[a1 b1]:-}" = "$PIN_IP"
check "c2's view holds b2 at its pinned address $PIN_IP2" \
	test "${VIEW[c2 b2]:-}" = "$PIN_IP2"
check "a1's view is persisted in its state dir (svpn-social.addrs)" \
	grep -q "^${UID_OF[a2]} ${VIEW[a1 a2]:-none}\$" \
	"$(ctl_dir a1)/state/svpn-social.addrs"
tap_note "local views (device: other=address in its view):"
for x in "${DEVICES[@]}"; do
	line=""
	for y in "${DEVICES[@]}"; do
		[[ -n ${VIEW["$x $y"]:-} ]] && line+=" $y=${VIEW["$x $y"]}"
	done
	tap_note "  $x (${USER_OF[$x]}):$line"
done

# ---- the access matrix ------------------------------------------------------------

# ping_never NS DST: ping_fails (no reply, from an existing namespace and
# interface); prints "none".
ping_never() { ping_fails "$1" "$2" && echo none; }

# pings MODE TIMEOUT "SRC DST ADDR"...: all in parallel; MODE reach (until
# a reply, within TIMEOUT s) or never (no reply).  Sets RES to the lines
# "SRC DST ADDR RESULT" and BAD to the failures.
pings()
{
	local mode=$1 timeout=$2 spec s d a i=0 pids=() t0
	shift 2
	t0=$(now_ms)
	for spec in "$@"; do
		read -r s d a <<<"$spec"
		i=$((i + 1))
		if [[ $mode == reach ]]; then
			ping_until "$s" "$a" "$timeout" >"$E2E_TMP/ping.$i" &
		else
			ping_never "$s" "$a" >"$E2E_TMP/ping.$i" &
		fi
		pids+=($!)
		run_track_pid $!
	done
	for s in "${pids[@]}"; do
		wait "$s"
	done
	RES=""
	BAD=""
	i=0
	for spec in "$@"; do
		i=$((i + 1))
		a=$(cat "$E2E_TMP/ping.$i" 2>/dev/null)
		if [[ $mode == reach && -n $a ]]; then
			RES+="$spec $((a - t0))"$'\n'
		elif [[ $mode == never && $a == none ]]; then
			RES+="$spec none"$'\n'
		else
			RES+="$spec FAIL"$'\n'
			BAD+="$spec; "
		fi
	done
}

# pings_check DESC MODE TIMEOUT SPEC...: one TAP line for a pings run.
pings_check()
{
	local desc=$1
	shift
	pings "$@"
	if [[ -z $BAD ]]; then
		tap_ok "$desc"
	else
		E2E_ERR="failed: $BAD"
		tap_fail "$desc"
	fi
}

# allowed_specs [DEV...]: "SRC DST ADDR" for every allowed ordered pair
# (with an end in DEV... when given), ADDR = DST's address in SRC's view.
allowed_specs()
{
	local x y
	for x in "${DEVICES[@]}"; do
		for y in "${DEVICES[@]}"; do
			allowed "$x" "$y" || continue
			if (($#)) && [[ " $* " != *" $x "* && " $* " != *" $y "* ]]; then
				continue
			fi
			echo "$x $y ${VIEW["$x $y"]:-0.0.0.0}"
		done
	done
}

# apart_specs X... / Y...: for pairs that must not reach each other, every
# address Y has in anybody's view (unless it means somebody else in X's
# view) and Y's IPv6.
apart_specs()
{
	local x y k v taken
	while read -r x y; do
		taken=" "
		for k in "${!VIEW[@]}"; do
			[[ $k == "$x "* ]] && taken+="${VIEW[$k]} "
		done
		for k in "${!VIEW[@]}"; do
			[[ $k == *" $y" ]] || continue
			v=${VIEW[$k]}
			[[ $taken == *" $v "* ]] && continue
			echo "$x $y $v"
			taken+="$v "
		done
		[[ -n ${V6[$y]:-} ]] && echo "$x $y ${V6[$y]}"
	done
}

mapfile -t ALLOWED < <(allowed_specs)
pings_check "all ${#ALLOWED[@]} allowed ordered pairs ping by local-view address" \
	reach 20 "${ALLOWED[@]}"
tap_note "first reply per pair (ms after the batch started):"
awk 'NF { printf "#   %s -> %s (%s)  %s\n", $1, $2, $3, $4 }' <<<"$RES"

check_fails "sanity: the link/mapping probe does see a1's link to b1" \
	separated a1 b1
check_fails "sanity: the unreachability probe does see a1 reach b1" \
	ping_never a1 "${VIEW[a1 b1]}"
mapfile -t APART < <(apart_specs <"$E2E_TMP/apart")
pings_check "alice's and carol's devices reach none of each other's addresses (${#APART[@]} probes, IPv6 too)" \
	never 0 "${APART[@]}"
while read -r x y; do
	check "$x holds no link or mapping to $y" separated "$x" "$y"
done <"$E2E_TMP/apart"

V6PAIRS=()
for p in a1:b2 b2:c1 c2:c1 a2:a1; do
	V6PAIRS+=("${p%:*} ${p#*:} ${V6[${p#*:}]:-::}")
done
pings_check "IPv6 (untranslated, uid-derived) pings: a1->b2, b2->c1, c2->c1, a2->a1" \
	reach 10 "${V6PAIRS[@]}"

# ---- traffic through translation ------------------------------------------------------

# iperf X Y MODE: iperf3 from X to Y's address in X's view; MODE tcp or udp.
# Prints Mbit/s (and for UDP, the loss in percent).
iperf_run()
{
	local x=$1 y=$2 mode=$3 out opts=()
	nsbg "$y" "$E2E_TMP/iperf3-$y.log" iperf3 -s -1 -B "$SELF_IP" -p 5201
	wait_until 10 ns_listens "$y" tcp "$SELF_IP:5201" || { echo "no iperf3 server on $y"; return 1; }
	[[ $mode == udp ]] && opts=(-u -b 100M -l 1200)
	out=$(nsx "$x" timeout 20 iperf3 -c "${VIEW["$x $y"]}" -p 5201 -t 2 \
		"${opts[@]}" -J 2>&1) || { head -c 2000 <<<"$out"; return 1; }
	if [[ $mode == tcp ]]; then
		jq -er '.end.sum_received.bits_per_second | select(. > 0) |
			. / 1e6 | floor' <<<"$out"
	else
		jq -er '.end.sum | select(.packets > 0 and .lost_percent < 50) |
			"\(.bits_per_second / 1e6 | floor) \(.lost_percent | floor)"' <<<"$out"
	fi
}

# iperf_check DESC X Y MODE
iperf_check()
{
	local r
	if r=$(iperf_run "$2" "$3" "$4"); then
		tap_ok "$1"
		if [[ $4 == tcp ]]; then
			tap_note "measured: iperf3 TCP $2 -> $3 through translation: $r Mbit/s"
		else
			tap_note "measured: iperf3 UDP $2 -> $3 through translation: ${r% *} Mbit/s, ${r#* }% lost"
		fi
	else
		E2E_ERR=$r
		tap_fail "$1"
	fi
}
iperf_check "iperf3 TCP a2 -> b2 (both NATed) through translation" a2 b2 tcp
iperf_check "iperf3 TCP c2 -> b1 through translation" c2 b1 tcp
iperf_check "iperf3 UDP c1 -> b2 (both NATed) through translation" c1 b2 udp

# udp_echo X Y: a datagram echo server on Y prints each sender's address;
# X sends 20 datagrams of various sizes to Y's address in its view, every
# one must come back intact, and Y must have seen X at X's address in Y's
# view.
udp_echo()
{
	local x=$1 y=$2 seen
	nsbg "$y" "$E2E_TMP/echo-$y.log" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("172.31.0.1", 7007))
s.settimeout(15)
for _ in range(20):
    d, a = s.recvfrom(65535)
    print(a[0], flush=True)
    s.sendto(d, a)
'
	wait_until 10 ns_listens "$y" udp "$SELF_IP:7007" || { echo "no echo server on $y"; return 1; }
	nsx "$x" timeout 15 python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i in range(20):
    d = os.urandom(1 + i * 67)
    s.sendto(d, (sys.argv[1], 7007))
    r, _ = s.recvfrom(65535)
    if r != d:
        sys.exit("datagram %d came back altered" % i)
' "${VIEW["$x $y"]}" || return 1
	seen=$(sort -u "$E2E_TMP/echo-$y.log")
	[[ $seen == "${VIEW["$y $x"]}" ]] ||
		{ echo "$y saw $x as '$seen', its view says ${VIEW["$y $x"]}"; return 1; }
}
check "UDP echo b1 -> c2: 20 datagrams (1-1274 bytes) back intact; c2 sees b1 at b1's address in c2's view" \
	udp_echo b1 c2
check "UDP echo b1 -> a1: a1 sees b1 at its pinned address $PIN_IP" \
	udp_echo b1 a1
check "a1 -> b1 ping of 3000 bytes (fragmented) through translation" \
	nsx a1 ping -n -q -c 2 -s 3000 -W 2 "${VIEW[a1 b1]}"
check "c1 -> c2 ping by local-view address with 1372-byte payload" \
	nsx c1 ping -n -q -c 2 -s 1372 -W 2 "${VIEW[c1 c2]}"

# ---- a device restarts: addresses stay ------------------------------------------------

declare -A VIEW0=()
for k in "${!VIEW[@]}"; do VIEW0[$k]=${VIEW[$k]}; done

# views_same DEV: every view of DEV and DEV's view of everyone as in VIEW0.
views_same()
{
	local k out=""
	for k in "${!VIEW0[@]}"; do
		[[ $k == "$1 "* || $k == *" $1" ]] || continue
		[[ ${VIEW[$k]:-} == "${VIEW0[$k]}" ]] ||
			out+="$k: ${VIEW0[$k]} -> ${VIEW[$k]:-none}; "
	done
	[[ -z $out ]] || { echo "$out"; return 1; }
}

ADDRS_B2=$(ctl_dir b2)/state/svpn-social.addrs
cp "$ADDRS_B2" "$E2E_TMP/b2.addrs.before" 2>/dev/null
T=$(now_ms)
check "b2 stops cleanly (controller, then tincan, both exit 0)" member_stop b2
if wait_until 10 gone_from b2 "${DEVICES[@]}"; then
	tap_ok "b2's links vanish from the others within 10 s"
	tap_note "measured: b2 gone from the others' links $(($(now_ms) - T)) ms after SIGTERM"
else
	tap_fail "b2's links vanish from the others within 10 s"
fi
T=$(now_ms)
must "restart ipop-tincan b2" tincan_start b2 b2
check "b2's uid is unchanged after the restart" test "$(tincan_uid b2)" = "${UID_OF[b2]}"
controller_start b2 b2
if wait_until 30 views_are_expected; then
	tap_ok "b2 back: every view and link as expected again"
	tap_note "measured: b2 back in every view, links connected $(($(now_ms) - T)) ms after its restart"
else
	E2E_ERR="b2 sees: $(seen_of b2 | paste -sd' ')"
	tap_fail "b2 back: every view and link as expected again"
fi
load_views
check "b2's persisted table (svpn-social.addrs) is unchanged by the restart" \
	cmp "$E2E_TMP/b2.addrs.before" "$ADDRS_B2"
check "b2 keeps its address in every view, and its view of the others is unchanged" \
	views_same b2
mapfile -t P < <(allowed_specs b2)
pings_check "b2's ${#P[@]} allowed ordered pairs ping again" reach 15 "${P[@]}"

# ---- bob unfriends carol ------------------------------------------------------------

for k in "${!VIEW[@]}"; do VIEW0[$k]=${VIEW[$k]}; done
bc_apart()
{
	local x y
	for x in b1 b2; do
		for y in c1 c2; do
			separated "$x" "$y" || return 1
			separated "$y" "$x" || return 1
		done
	done
}
mapfile -t BC < <(for x in b1 b2; do for y in c1 c2; do
	echo "$x $y ${VIEW["$x $y"]}"
	echo "$y $x ${VIEW["$y $x"]}"
done; done)

T=$(now_ms)
check "bob removes carol from his roster (client on b1; carol's roster shows none)" \
	social b1 unfriend bob pw-bob carol pw-carol
FRIENDS=" alice:bob "
if wait_until 10 bc_apart; then
	tap_ok "every bob<->carol link and mapping is gone within 10 s"
	tap_note "measured: bob<->carol links and mappings gone $(($(now_ms) - T)) ms after the roster removal"
else
	E2E_ERR=$(for x in b1 b2 c1 c2; do echo "$x sees: $(seen_of "$x" | paste -sd' ')"; done)
	tap_fail "every bob<->carol link and mapping is gone within 10 s"
fi
for x in b1 b2; do
	for y in c1 c2; do
		echo "$x $y"
		echo "$y $x"
	done
done >>"$E2E_TMP/apart"
pings_check "bob's and carol's devices no longer reach each other (old addresses)" \
	never 0 "${BC[@]}"
check "the remaining views are exactly as expected (no link or mapping lost or added)" \
	views_are_expected
load_views
remaining_same()
{
	local k out=""
	for k in "${!VIEW0[@]}"; do
		# shellcheck disable=SC2086
		allowed ${k% *} ${k#* } || continue
		[[ ${VIEW[$k]:-} == "${VIEW0[$k]}" ]] ||
			out+="$k: ${VIEW0[$k]} -> ${VIEW[$k]:-none}; "
	done
	[[ -z $out ]] || { echo "$out"; return 1; }
}
check "every remaining mapping keeps its address" remaining_same
mapfile -t ALLOWED < <(allowed_specs)
pings_check "all ${#ALLOWED[@]} remaining allowed pairs still ping (alice<->bob, a1<->a2, b1<->b2, c1<->c2)" \
	reach 10 "${ALLOWED[@]}"

# ---- the end -------------------------------------------------------------------------

mapfile -t APART < <(apart_specs <"$E2E_TMP/apart")
pings_check "at the end, no ping between alice and carol, nor bob and carol (${#APART[@]} probes)" \
	never 0 "${APART[@]}"
kill "$WATCH_PID" 2>/dev/null
pid_wait_gone 5 "$WATCH_PID"
if [[ -s $E2E_TMP/apart.log ]]; then
	E2E_ERR=$(head -n 20 "$E2E_TMP/apart.log")
	tap_fail "sampled every second all run long: alice and carol (and, after the removal, bob and carol) never held a link or mapping to each other"
else
	tap_ok "sampled every second all run long: alice and carol (and, after the removal, bob and carol) never held a link or mapping to each other"
fi
tap_note "total run time: $(($(now_ms) - T0)) ms from first controller start"
tap_done
