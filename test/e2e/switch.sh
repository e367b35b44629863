#!/bin/bash
# End-to-end test of switch mode: three routers, one of them behind a NAT
# router, join their LANs into one Ethernet broadcast domain.  The devices on
# the LANs run nothing of IPOP: plain namespaces with a DHCP client.
#
#                               ns "pub" (router)
#          Prosody c2s 100.64.0.3:5222 (plain)   coturn TURN 100.64.0.1:3478
#                                                       STUN 100.64.0.2:3478
#            100.64.11.1          100.64.12.1          100.64.3.1      (sink)
#                 |                    |                    |
#            100.64.11.2          100.64.12.2          100.64.3.2
#               ns r1                ns r2               ns nat3  MASQUERADE
#                 |                    |                 10.3.0.1
#                 |                    |                    |
#                 |                    |                 10.3.0.2
#                 |                    |                   ns r3
#                br0                  br0                  br0
#           10.50.0.1/16         10.50.0.2/16         10.50.0.3/16
#            /   |   \            /   |   \            /   |   \
#        ipop0  d1a  d1b      ipop0  d2a  d2b      ipop0  d3a  d3b
#
#   every router rN: ipop-tincan + ipop-controller, overlay "lan" of type
#   switch on TAP ipop0 (MTU 1400), group "campus", group secret; br0 is
#   created by this script before the controller starts (the controller asks
#   tincan to attach ipop0 to it); dnsmasq on br0 serves DHCP (no DNS) for
#   its own two devices only, from 10.50.N.10-50 (/16), MTU 1400:
#     d1a 02:50:01:00:00:0a -> 10.50.1.10   d1b 02:50:01:00:00:0b -> 10.50.1.11
#     d2a 02:50:02:00:00:0a -> 10.50.2.10   d2b 02:50:02:00:00:0b -> 10.50.2.11
#     d3a 02:50:03:00:00:0a -> 10.50.3.10   d3b 02:50:03:00:00:0b -> 10.50.3.11
#   (--dhcp-ignore=tag:!known: once the LANs are one, every dnsmasq sees
#   every DISCOVER, and must leave the other routers' devices alone).
#
# Asserted: the routers form a full mesh of connected links; each overlay
# reports mode switch on br0 and ipop0 is a port of br0; DHCP, run after the
# overlay is up, gives every device its address from its own router (server
# id, range, MTU) while the other routers' dnsmasq saw and ignored its
# DISCOVER; all 30 ordered device pairs ping; ARP on each device resolves
# every remote device to its real MAC; full-MTU frames (DF), IPv6
# link-local, 802.1Q-tagged frames (VLAN 7) and a private ethertype pass
# unchanged; one broadcast datagram from a device on each LAN arrives
# exactly once at every other device, with no storm (device rx and tincan
# link tx counters stay small); a multicast group (239.1.2.3) reaches its
# members on the other LANs exactly once; every router's MAC table has each
# device behind the right peer uid (or local); no router's tincan ever
# selected a candidate pair on the virtual LAN (10.50/16: the bridge's
# address must not become a path for the overlay itself).  iperf3 TCP between
# devices on different routers is measured ("# measured" lines).

# shellcheck disable=SC2317 # functions run through check/wait_until
set -u -o pipefail
# shellcheck source=test/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=test/e2e/lib-xmpp.sh
. "$(dirname "$0")/lib-xmpp.sh"
# shellcheck source=test/e2e/lib-switch.sh
. "$(dirname "$0")/lib-switch.sh"
# shellcheck disable=SC2034 # E2E_ERR is read by lib.sh's tap_fail

e2e_require_root
e2e_require_tools "$TINCAN" "$IPOPCTL" "$CONTROLLER" prosody iperf3 ss \
	dnsmasq busybox python3
e2e_init
controller_snapshot || exit 1
switch_tools_write

ROUTERS=(r1 r2 r3)
DEVICES=(d1a d1b d2a d2b d3a d3b)
declare -A RIDX=([r1]=1 [r2]=2 [r3]=3)
declare -A ROUTER_OF=() MAC=() WANT_IP=() UID_OF=() NAME_OF=() IP=()
for d in "${DEVICES[@]}"; do
	n=${d:1:1}
	ROUTER_OF[$d]=r$n
	case $d in
	*a) MAC[$d]=02:50:0$n:00:00:0a WANT_IP[$d]=$SW_NET.$n.10 ;;
	*b) MAC[$d]=02:50:0$n:00:00:0b WANT_IP[$d]=$SW_NET.$n.11 ;;
	esac
	IP[$d]=${WANT_IP[$d]}
done
GROUP=campus
SECRET="switch e2e group secret: 3c9a51f0e7d24b68"
T_START=$(now_ms)

# ---- network, Prosody, coturn -----------------------------------------------

must "public router pub" pub_add
must "r1 on the public network" pubhost_add r1 11
must "r2 on the public network" pubhost_add r2 12
must "NAT router nat3" nat_add nat3 3
must "r3 behind nat3" host_add nat3 3 r3 2
for r in "${ROUTERS[@]}"; do
	must "bridge br0 in $r" lan_add "$r" "${RIDX[$r]}"
done
for d in "${DEVICES[@]}"; do
	must "device $d on ${ROUTER_OF[$d]}'s br0" \
		device_add "${ROUTER_OF[$d]}" "$d" "${MAC[$d]}"
done
must "Prosody configuration" prosody_setup
for r in "${ROUTERS[@]}"; do
	xmpp_account "$r" "pw-$r"
	others=()
	for o in "${ROUTERS[@]}"; do
		[[ $o == "$r" ]] || others+=("$o=both")
	done
	xmpp_roster "$r" "${others[@]}"
done
must "start Prosody in pub" prosody_start
must "start coturn in pub" turn_start

for r in "${ROUTERS[@]}"; do
	n=${RIDX[$r]}
	hosts=()
	for d in "${DEVICES[@]}"; do
		[[ ${ROUTER_OF[$d]} == "$r" ]] && hosts+=("${MAC[$d]}=${WANT_IP[$d]}")
	done
	must "dnsmasq (DHCP) on $r's br0" dhcp_start "$r" "$n" \
		"$SW_NET.$n.10" "$SW_NET.$n.50" "${hosts[@]}"
done
check_fails "before the overlay, r1 cannot reach r2's bridge address" \
	nsx r1 ping -n -c 1 -W 0.5 "$SW_NET.0.2"

for r in "${ROUTERS[@]}"; do
	must "configuration of $r" switch_config "$r" "$r" "pw-$r" "$GROUP" \
		"$SECRET"
done
check "ipop-controller --check-config accepts a switch overlay" \
	"$CONTROLLER" --config "$(ctl_dir r3)/controller.yaml" --check-config

# ---- routers: tincan, then the controllers ----------------------------------------

for r in "${ROUTERS[@]}"; do
	must "start ipop-tincan $r" tincan_start "$r" "$r"
	UID_OF[$r]=$(tincan_uid "$r")
	must "uid of $r" test -n "${UID_OF[$r]}"
	NAME_OF[${UID_OF[$r]}]=$r
done
T0=$(now_ms)
for r in "${ROUTERS[@]}"; do
	controller_start "$r" "$r"
done

mesh_up()
{
	local r
	for r in "${ROUTERS[@]}"; do
		(($(connected_count "$r" 2>/dev/null) == 2)) || return 1
	done
}
if wait_until 60 mesh_up; then
	tap_ok "full mesh: every router holds 2 connected links"
	tap_note "measured: mesh of 3 routers up $(($(now_ms) - T0)) ms after controller start"
else
	E2E_ERR=$(for r in "${ROUTERS[@]}"; do echo "$r: $(links_of "$r" | paste -sd,)"; done)
	tap_fail "full mesh: every router holds 2 connected links"
fi
for r in "${ROUTERS[@]}"; do
	check "$r: overlay reports mode switch on bridge br0" \
		test "$(overlay_field "$r" mode)/$(overlay_field "$r" bridge)" = switch/br0
	check "$r: ipop0 is a port of br0" \
		bash -c "ip -n $(ns_name "$r") -o link show ipop0 | grep -q 'master br0'"
done
check "r1 reaches r2's and r3's bridge addresses across the overlay" \
	bash -c "ip netns exec $(ns_name r1) ping -n -c 1 -W 2 $SW_NET.0.2 &&
		ip netns exec $(ns_name r1) ping -n -c 1 -W 2 $SW_NET.0.3"

# ---- DHCP over the joined LAN ---------------------------------------------------

T=$(now_ms)
pids=()
for d in "${DEVICES[@]}"; do
	dhcp_client "$d" &
	pids+=($!)
	run_track_pid $!
done
for p in "${pids[@]}"; do
	wait "$p"
done
tap_note "measured: 6 DHCP clients done in $(($(now_ms) - T)) ms"
for d in "${DEVICES[@]}"; do
	r=${ROUTER_OF[$d]}
	got="$(lease_field "$d" 1) $(lease_field "$d" 3) $(lease_field "$d" 2) $(lease_field "$d" 4)"
	want="${WANT_IP[$d]} $SW_NET.0.${RIDX[$r]} 255.255.0.0 $SW_MTU"
	if [[ $got == "$want" ]]; then
		tap_ok "$d got ${WANT_IP[$d]}/16 (MTU $SW_MTU) by DHCP from its own router $r"
	else
		E2E_ERR="lease (ip server mask mtu): '$got', wanted '$want'"$'\n'
		E2E_ERR+=$(tail -n 5 "$E2E_TMP/$d.udhcpc.log")
		tap_fail "$d got ${WANT_IP[$d]}/16 (MTU $SW_MTU) by DHCP from its own router $r"
	fi
done

# ignored_foreign R: R's dnsmasq logged an ignored DISCOVER from each device
# of the other routers (proof that DHCP broadcasts crossed the overlay).
ignored_foreign()
{
	local r=$1 d log=$E2E_TMP/$1.dnsmasq.log
	for d in "${DEVICES[@]}"; do
		[[ ${ROUTER_OF[$d]} == "$r" ]] && continue
		grep -qiE "DHCPDISCOVER.*${MAC[$d]} ignored" "$log" || {
			echo "no ignored DISCOVER from $d (${MAC[$d]})"
			return 1
		}
	done
}
for r in "${ROUTERS[@]}"; do
	check "$r's dnsmasq saw and ignored the other LANs' DISCOVERs" \
		ignored_foreign "$r"
done

# ---- unicast, ARP, MTU, IPv6 ------------------------------------------------------

ALL=()
for a in "${DEVICES[@]}"; do
	for b in "${DEVICES[@]}"; do
		[[ $a == "$b" ]] || ALL+=("$a:$b")
	done
done
pairs_wait 20 "$(now_ms)" IP "${ALL[@]}"
bad=$(awk '$3 == "-" { printf "%s->%s ", $1, $2 }' <<<"$RES")
max=$(awk '$3 != "-" && $3 + 0 > m + 0 { m = $3 } END { print m + 0 }' <<<"$RES")
if [[ -z $bad ]]; then
	tap_ok "every device pings every other device (30 ordered pairs, 24 across routers)"
	tap_note "measured: all 30 pairs answered within $max ms"
else
	E2E_ERR="no reply for: $bad"
	tap_fail "every device pings every other device (30 ordered pairs, 24 across routers)"
fi

# arp_ok DEV: DEV's neighbour table maps every other router's devices to
# their real MACs.
arp_ok()
{
	local d=$1 o line
	for o in "${DEVICES[@]}"; do
		[[ ${ROUTER_OF[$o]} == "${ROUTER_OF[$d]}" ]] && continue
		line=$(nsx "$d" ip neigh show "${IP[$o]}" dev eth0)
		grep -qi "lladdr ${MAC[$o]} " <<<"$line " || {
			echo "$d: ${IP[$o]} ($o): '${line:-no entry}', wanted ${MAC[$o]}"
			return 1
		}
	done
}
for d in "${DEVICES[@]}"; do
	check "ARP on $d resolves the 4 remote devices to their real MACs" arp_ok "$d"
done

check "full-size frames pass: d1a -> d3b ping of 1400-byte packets with DF" \
	nsx d1a ping -n -q -c 3 -i 0.2 -W 2 -M "do" -s $((SW_MTU - 28)) "${IP[d3b]}"

ll_of() { nsx "$1" ip -6 -o addr show dev eth0 scope link | awk '{ print $4 }' | cut -d/ -f1; }
ll_ready() { [[ -n $(ll_of "$1") ]] && ! nsx "$1" ip -6 -o addr show dev eth0 tentative | grep -q .; }
wait_until 10 ll_ready d3b
wait_until 10 ll_ready d1a
check "IPv6 link-local passes: d1a pings d3b's fe80:: address" \
	nsx d1a ping -6 -n -q -c 2 -i 0.2 -W 2 "$(ll_of d3b)%eth0"

# Raw frames d1a -> d3b: one 802.1Q-tagged (VLAN 7), one of a private
# ethertype; both must arrive unchanged (tag, ethertype, payload).
must "raw frame listener on d3b" nsbg d3b "$E2E_TMP/d3b.raw" timeout 20 \
	python3 "$E2E_TMP/raw-frames.py" listen "raw-$$" 10 "$E2E_TMP/d3b.raw.ready"
RAW_PID=$NSBG_PID
must "raw frame listener ready" wait_until 10 test -e "$E2E_TMP/d3b.raw.ready"
check "d1a sends a VLAN 7 tagged and a 0x88b5 Ethernet frame to d3b's MAC" \
	nsx d1a timeout 5 python3 "$E2E_TMP/raw-frames.py" send "${MAC[d3b]}" "raw-$$"
raw_got() { grep -qx "$1" "$E2E_TMP/d3b.raw"; }
check "802.1Q-tagged frame passes with its tag (VLAN 7, inner type 0x88b5)" \
	wait_until 5 raw_got "raw-$$-tagged vlan=7 type=0x88b5"
check "a frame of a private ethertype (0x88b5) passes untagged" \
	wait_until 5 raw_got "raw-$$-plain vlan=- type=0x88b5"
kill "$RAW_PID" 2>/dev/null

# ---- broadcast: exactly once everywhere, no storm -----------------------------------

BPORT=5300
for d in "${DEVICES[@]}"; do
	must "broadcast listener on $d" udp_listen "$d" "$BPORT" -
done
declare -A RX0=() TX0=()
for d in "${DEVICES[@]}"; do RX0[$d]=$(dev_counter "$d" rx_packets); done
for r in "${ROUTERS[@]}"; do TX0[$r]=$(links_tx_packets "$r"); done
BSENDERS=(d1a d2b d3a)
for s in "${BSENDERS[@]}"; do
	check "$s sends one UDP datagram to $SW_NET.255.255:$BPORT" \
		udp_send "$s" "$SW_NET.255.255" "$BPORT" "bcast-$s"
done

# all_got PORT PAYLOAD SENDER: every device but SENDER received PAYLOAD.
all_got()
{
	local d
	for d in "${DEVICES[@]}"; do
		[[ $d == "$3" ]] && continue
		(($(udp_count "$d" "$1" "$2") >= 1)) || return 1
	done
}
for s in "${BSENDERS[@]}"; do
	wait_until 5 all_got "$BPORT" "bcast-$s" "$s"
done
sleep 1	# room for late duplicates or a storm to show
# once_each PORT PAYLOAD SENDER: every device but SENDER holds PAYLOAD exactly once.
once_each()
{
	local d n bad=""
	for d in "${DEVICES[@]}"; do
		[[ $d == "$3" ]] && continue
		n=$(udp_count "$d" "$1" "$2")
		((n == 1)) || bad+="$d:$n "
	done
	[[ -z $bad ]] && return 0
	echo "receptions other than 1: $bad"
	return 1
}
for s in "${BSENDERS[@]}"; do
	check "broadcast from $s arrives exactly once at each of the 5 other devices" \
		once_each "$BPORT" "bcast-$s" "$s"
done
rxmax=0
for d in "${DEVICES[@]}"; do
	dx=$(($(dev_counter "$d" rx_packets) - RX0[$d]))
	((dx > rxmax)) && rxmax=$dx
done
txmax=0
for r in "${ROUTERS[@]}"; do
	dx=$(($(links_tx_packets "$r") - TX0[$r]))
	((dx > txmax)) && txmax=$dx
done
tap_note "measured: during the broadcast phase at most $rxmax frames reached a device, at most $txmax packets left a router's links"
check "no storm: each device received < 100 frames in the broadcast phase" \
	test "$rxmax" -lt 100
check "no storm: each router's links sent < 200 packets in the broadcast phase" \
	test "$txmax" -lt 200

# ---- multicast ----------------------------------------------------------------------

MGROUP=239.1.2.3
MPORT=5301
for d in "${DEVICES[@]}"; do
	must "multicast route on $d" nsx "$d" ip route replace 224.0.0.0/4 dev eth0
	must "$d joins $MGROUP" udp_listen "$d" "$MPORT" "$MGROUP"
done
MSENDERS=(d2a d3b)
for s in "${MSENDERS[@]}"; do
	check "$s sends one datagram to $MGROUP:$MPORT" \
		udp_send "$s" "$MGROUP" "$MPORT" "mcast-$s"
done
for s in "${MSENDERS[@]}"; do
	wait_until 5 all_got "$MPORT" "mcast-$s" "$s"
done
sleep 0.5
for s in "${MSENDERS[@]}"; do
	check "multicast from $s reaches the group's members on all LANs exactly once" \
		once_each "$MPORT" "mcast-$s" "$s"
done

# ---- MAC tables -------------------------------------------------------------------

# macs_right R: R's MAC table holds every device, behind its router's uid
# or local ("-") for R's own devices.
macs_right()
{
	local r=$1 d want table line bad=""
	table=$(mac_table "$r") || return 1
	for d in "${DEVICES[@]}"; do
		want=-
		[[ ${ROUTER_OF[$d]} == "$r" ]] || want=${UID_OF[${ROUTER_OF[$d]}]}
		grep -qx "${MAC[$d]} $want" <<<"$table" ||
			bad+="$d (${MAC[$d]}) not behind ${NAME_OF[$want]:-local}; "
	done
	[[ -z $bad ]] && return 0
	echo "$bad"
	echo "table:"
	while read -r line; do echo "  $line"; done <<<"$table"
	return 1
}
for r in "${ROUTERS[@]}"; do
	check "$r's MAC table: each device behind the right router (own ones local)" \
		macs_right "$r"
done
tap_note "r1 MAC table (mac, behind):"
mac_table r1 | while read -r m u; do
	echo "#   $m ${NAME_OF[$u]:-local}"
done

# ---- throughput -------------------------------------------------------------------

# iperf_pair SRC DST PORT: iperf3 TCP SRC -> DST for 3 s; one TAP line and a
# "# measured" line.
iperf_pair()
{
	local src=$1 dst=$2 port=$3 out mbps desc
	desc="iperf3 TCP $src -> $dst (${ROUTER_OF[$src]} -> ${ROUTER_OF[$dst]}) carries data"
	nsbg "$dst" "$E2E_TMP/iperf3-$dst.log" iperf3 -s -1 -B "${IP[$dst]}" -p "$port"
	if ! wait_until 10 ns_listens "$dst" tcp "${IP[$dst]}:$port"; then
		E2E_ERR="iperf3 server did not listen on ${IP[$dst]}:$port"
		tap_fail "$desc"
		return
	fi
	out=$(nsx "$src" timeout 20 iperf3 -c "${IP[$dst]}" -p "$port" -t 3 -J 2>&1)
	mbps=$(jq -r '.end.sum_received.bits_per_second / 1e6 | floor' <<<"$out" 2>/dev/null)
	if [[ ${mbps:-} =~ ^[0-9]+$ ]] && ((mbps > 0)); then
		tap_ok "$desc"
		tap_note "measured: iperf3 TCP $src -> $dst (${ROUTER_OF[$src]} -> ${ROUTER_OF[$dst]}): $mbps Mbit/s"
	else
		E2E_ERR=$(head -c 2000 <<<"$out")
		tap_fail "$desc"
	fi
}
iperf_pair d1a d2a 5201
iperf_pair d1b d3a 5202
read -r rtt recv < <(ping_rtt d2b "${IP[d3b]}" 10)
tap_note "measured: ping d2b -> d3b (r2 -> r3 behind NAT): avg $rtt ms, $recv/10 replies"

# own_lan_pairs R: R's tincan never selected a candidate pair on the
# virtual LAN (10.50/16): a link over its own overlay would carry itself.
own_lan_pairs()
{
	! grep -E "selected pair .*(host|srflx|relay|prflx) $SW_NET\\." "$E2E_TMP/$1.log"
}
for r in "${ROUTERS[@]}"; do
	check "$r: no link ever ran over the virtual LAN itself (no $SW_NET.x candidate pair)" \
		own_lan_pairs "$r"
done
for r in "${ROUTERS[@]}"; do
	tap_note "$r links: $(ctl "$r" --json status | jq -r '.overlays[]?.links[]? | "\(.peer_uid) \(.state) \(.pair.local // "-") -> \(.pair.remote // "-")"' |
		while read -r u rest; do printf '%s %s; ' "${NAME_OF[$u]:-?}" "$rest"; done)"
done

tap_note "total run time: $(($(now_ms) - T_START)) ms"
tap_done
