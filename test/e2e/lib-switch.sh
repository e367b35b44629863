# shellcheck shell=bash
# Switch-mode helpers for test/e2e/switch.sh, on top of lib.sh and lib-xmpp.sh.
#
# This file owns the LAN side of a switch-mode router: a Linux bridge br0 in
# the router's namespace, "plain devices" (one namespace each, one veth into
# the router's bridge, a fixed MAC, nothing of IPOP on them), dnsmasq serving
# DHCP on the bridge, a busybox udhcpc client on each device, the
# controller configuration of a switch overlay, small python3 UDP tools for
# broadcast and multicast counting, and readers for tincan's MAC table.
# Every process goes through nsbg (lib-xmpp.sh), so lib.sh's EXIT trap stops
# exactly what was started here.
#
# Source lib.sh, then lib-xmpp.sh, then this file, then call e2e_init and
# switch_tools_write.

SW_NET=10.50	# the virtual LAN: 10.50.0.0/16
SW_MTU=1400	# the overlay's TAP MTU, pushed to the devices by DHCP

# ---- the LAN of a router --------------------------------------------------------

# lan_add R N: bridge br0 in router R holding 10.50.0.N/16.  Multicast
# snooping is off: without an IGMP querier on the LAN the bridge would
# otherwise forward a group only where it happened to see a report.
lan_add()
{
	local ns
	ns=$(ns_name "$1")
	ip -n "$ns" link add br0 type bridge forward_delay 0 stp_state 0 \
		mcast_snooping 0 || return 1
	ip -n "$ns" addr add "$SW_NET.0.$2/16" dev br0 &&
		ip -n "$ns" link set br0 up
}

# device_add R DEV MAC: namespace DEV whose eth0 (MAC) is a veth into R's
# br0; the router's end is called DEV too.  No address: DHCP gives it.
device_add()
{
	local r=$1 dev=$2 mac=$3 rns dns
	rns=$(ns_name "$r")
	dns=$(ns_name "$dev")
	ns_add "$dev" || return 1
	ip link add eth0 netns "$dns" address "$mac" type veth \
		peer name "$dev" netns "$rns" || return 1
	ip -n "$rns" link set "$dev" master br0 &&
		ip -n "$rns" link set "$dev" up &&
		ip -n "$dns" link set eth0 up
}

# dev_mac DEV: the MAC of DEV's eth0.
dev_mac()
{
	nsx "$1" cat /sys/class/net/eth0/address
}

# ---- DHCP -------------------------------------------------------------------

# dhcp_start R N FIRST LAST MAC=IP...: dnsmasq in R on br0, DHCP only (no
# DNS), range FIRST-LAST with netmask 255.255.0.0 and MTU SW_MTU.  It answers
# only the MACs given (each with its fixed IP): every router's dnsmasq sees
# every DISCOVER once the LANs are joined, so the others' clients must be
# ignored, not offered an address.  Log: $E2E_TMP/R.dnsmasq.log.
dhcp_start()
{
	local r=$1 n=$2 first=$3 last=$4 h args=()
	shift 4
	for h in "$@"; do
		args+=("--dhcp-host=${h%%=*},${h#*=}")
	done
	nsbg "$r" "$E2E_TMP/$r.dnsmasq.log" dnsmasq --keep-in-foreground \
		--conf-file=/dev/null --no-resolv --no-hosts --port=0 \
		--user=root --group=root \
		--interface=br0 --bind-interfaces \
		--listen-address="$SW_NET.0.$n" \
		--pid-file="$E2E_TMP/$r.dnsmasq.pid" \
		--dhcp-leasefile="$E2E_TMP/$r.leases" \
		--dhcp-range="$first,$last,255.255.0.0,1h" \
		--dhcp-option=option:mtu,"$SW_MTU" \
		--dhcp-option=option:router \
		--dhcp-ignore='tag:!known' --no-ping \
		--log-facility=- --log-dhcp "${args[@]}"
	e2e_track_log "$E2E_TMP/$r.dnsmasq.log"
	wait_until 10 ns_listens "$r" udp :67
}

# switch_tools_write: the udhcpc event script and the python3 UDP and raw
# Ethernet tools.
switch_tools_write()
{
	raw_tools_write
	cat >"$E2E_TMP/udhcpc.sh" <<-'EOF'
		#!/bin/sh
		# udhcpc event script: apply a lease to the interface and record
		# "ip mask serverid mtu" in $LEASE_OUT.
		case $1 in
		deconfig)
			ip -4 addr flush dev "$interface"
			;;
		bound|renew)
			ip -4 addr flush dev "$interface"
			[ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
			ip addr add "$ip/$subnet" broadcast "${broadcast:-+}" \
				dev "$interface" || exit 1
			echo "$ip $subnet $serverid $mtu" >"$LEASE_OUT"
			;;
		esac
		exit 0
	EOF
	chmod 0755 "$E2E_TMP/udhcpc.sh"

	cat >"$E2E_TMP/udp-listen.py" <<-'EOF'
		# udp-listen.py PORT GROUP|- IFADDR READYFILE: print "payload source"
		# for every datagram on PORT (joining GROUP on IFADDR unless "-")
		# until killed; READYFILE appears once the socket is bound.
		import socket, sys
		port, group, ifaddr, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		s.bind(("", port))
		if group != "-":
		    mreq = socket.inet_aton(group) + socket.inet_aton(ifaddr)
		    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
		open(ready, "w").close()
		while True:
		    data, src = s.recvfrom(4096)
		    print(data.decode("ascii", "replace"), src[0], flush=True)
	EOF

	cat >"$E2E_TMP/udp-send.py" <<-'EOF'
		# udp-send.py DST PORT PAYLOAD IFADDR: one datagram, broadcast allowed,
		# multicast out of IFADDR with TTL 1 and no local loopback.
		import socket, sys
		dst, port, payload, ifaddr = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
		s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
		s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
		s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
		s.sendto(payload.encode(), (dst, port))
	EOF
}

raw_tools_write()
{
	cat >"$E2E_TMP/raw-frames.py" <<-'EOF'
		# raw-frames.py send DSTMAC MARKER: two Ethernet frames out of eth0,
		#   MARKER-tagged with 802.1Q VLAN 7 (inner ethertype 0x88b5), and
		#   MARKER-plain, untagged with ethertype 0x88b5 (local experimental).
		# raw-frames.py listen MARKER SECONDS READYFILE: print "NAME vlan=V
		#   type=0xT" for every frame on eth0 carrying MARKER (the tag may
		#   arrive inline or stripped into the packet socket's aux data).
		import select, socket, struct, sys, time
		SOL_PACKET, PACKET_AUXDATA, VLAN_VALID = 263, 8, 0x10
		s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
		s.bind(("eth0", 0))
		src = s.getsockname()[4]
		if sys.argv[1] == "send":
		    dst = bytes.fromhex(sys.argv[2].replace(":", ""))
		    m = sys.argv[3].encode()
		    pad = lambda b: b + bytes(max(0, 60 - len(b)))
		    s.send(pad(dst + src + struct.pack("!HHH", 0x8100, 7, 0x88b5) + m + b"-tagged"))
		    s.send(pad(dst + src + struct.pack("!H", 0x88b5) + m + b"-plain"))
		    sys.exit(0)
		m = sys.argv[2].encode()
		s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
		open(sys.argv[4], "w").close()
		end = time.time() + float(sys.argv[3])
		while time.time() < end:
		    if not select.select([s], [], [], 0.1)[0]:
		        continue
		    data, anc, _, _ = s.recvmsg(65535, socket.CMSG_SPACE(64))
		    i = data.find(m)
		    if i < 0:
		        continue
		    vlan, etype = "-", struct.unpack("!H", data[12:14])[0]
		    if etype == 0x8100:
		        vlan, etype = struct.unpack("!HH", data[14:18])
		        vlan &= 0xfff
		    for lvl, typ, cd in anc:
		        if lvl == SOL_PACKET and typ == PACKET_AUXDATA and len(cd) >= 20:
		            st, _, _, _, _, tci, _ = struct.unpack("IIIHHHH", cd[:20])
		            if st & VLAN_VALID:
		                vlan = tci & 0xfff
		    name = data[i:].split(b"\0")[0].decode("ascii", "replace")
		    print(name, "vlan=%s" % vlan, "type=0x%04x" % etype, flush=True)
	EOF
}

# dhcp_client DEV: busybox udhcpc on DEV's eth0 until a lease (at most about
# 10 s), recorded in $E2E_TMP/DEV.lease as "ip mask serverid mtu".
dhcp_client()
{
	rm -f "$E2E_TMP/$1.lease"
	LEASE_OUT=$E2E_TMP/$1.lease nsx "$1" timeout 15 busybox udhcpc \
		-f -q -n -t 10 -T 1 -O mtu -i eth0 -s "$E2E_TMP/udhcpc.sh" \
		>"$E2E_TMP/$1.udhcpc.log" 2>&1
}

# lease_field DEV K: field K (1 ip, 2 mask, 3 server, 4 mtu) of DEV's lease.
lease_field()
{
	awk -v k="$2" '{ print $k }' "$E2E_TMP/$1.lease" 2>/dev/null
}

# ---- UDP broadcast and multicast counting ----------------------------------------

# udp_listen DEV PORT GROUP|-: a listener on DEV (output in
# $E2E_TMP/DEV.udp.PORT); waits until it is bound.
udp_listen()
{
	local dev=$1 port=$2 group=$3 ready=$E2E_TMP/$1.udp.$2.ready
	rm -f "$ready" "$E2E_TMP/$dev.udp.$port"
	nsbg "$dev" "$E2E_TMP/$dev.udp.$port" timeout 120 python3 \
		"$E2E_TMP/udp-listen.py" "$port" "$group" \
		"$(lease_field "$dev" 1)" "$ready"
	wait_until 10 test -e "$ready"
}

# udp_send DEV DST PORT PAYLOAD: one datagram from DEV.
udp_send()
{
	nsx "$1" timeout 5 python3 "$E2E_TMP/udp-send.py" "$2" "$3" "$4" \
		"$(lease_field "$1" 1)"
}

# udp_count DEV PORT PAYLOAD: datagrams with PAYLOAD that DEV received on PORT.
udp_count()
{
	local n
	n=$(grep -c "^$3 " "$E2E_TMP/$1.udp.$2" 2>/dev/null)
	echo "${n:-0}"
}

# dev_counter DEV NAME: a counter of DEV's eth0 (rx_packets, tx_packets...).
dev_counter()
{
	nsx "$1" cat "/sys/class/net/eth0/statistics/$2"
}

# ---- controller and tincan state -----------------------------------------------

# switch_config NAME USER PASS GROUP [SECRET_TEXT]: configuration of router
# NAME (its tincan is NAME too): one switch overlay "lan" on TAP ipop0, a
# port of br0.  Written to $(ctl_dir NAME)/controller.yaml.
switch_config()
{
	local name=$1 user=$2 pass=$3 group=$4 secret=${5:-} d
	config_common "$name" "$user" "$pass" "$secret" || return 1
	d=$(ctl_dir "$name")
	cat >>"$d/controller.yaml" <<-EOF
		  - name: lan
		    type: switch
		    tap: ipop0
		    bridge: br0
		    group: $group
		    mtu: $SW_MTU
	EOF
	[[ -z $secret ]] || echo "    secret_file: group-secret" >>"$d/controller.yaml"
}

# mac_table NAME: "mac peer_uid" lines of NAME's switch MAC tables ("-"
# stands for the local side, peer_uid "").
mac_table()
{
	ctl "$1" --json status |
		jq -r '.overlays[]? | select(.mode == "switch") | .mac_table[]? |
			"\(.mac | ascii_downcase) \(if (.peer_uid // "") == "" then "-" else .peer_uid end)"'
}

# mac_behind NAME MAC UID: NAME's MAC table has MAC behind peer UID ("-":
# local).
mac_behind()
{
	mac_table "$1" | grep -qx "$2 $3"
}

# overlay_field NAME FIELD: FIELD of NAME's first switch overlay in status.
overlay_field()
{
	ctl "$1" --json status |
		jq -er --arg f "$2" '[.overlays[]? | select(.mode == "switch")][0][$f]'
}

# links_tx_packets NAME: sum of tx_packets over NAME's links (stats).
links_tx_packets()
{
	ctl "$1" --json stats |
		jq -er '[.. | objects | .tx_packets? // empty] | add // 0'
}
