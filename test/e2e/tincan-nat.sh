#!/bin/bash
# End-to-end test of the ipop-tincan dataplane through two NATs and coturn.
#
#      ns "sink" (default route of pub: swallows packets for private addresses)
#                             |
#                          ns "pub" (router)
#                coturn: TURN 100.64.0.1:3478, STUN 100.64.0.2:3478
#                 100.64.1.1 /          \ 100.64.2.1
#                           /            \
#          100.64.1.2 wan  /              \  wan 100.64.2.2
#               ns "nat1" (MASQUERADE)    ns "nat2" (MASQUERADE)
#                10.1.0.1  |               |  10.2.0.1   (new/invalid from wan dropped)
#                          |               +------------------+
#                10.1.0.2  |      10.2.0.2 |         10.2.0.3 |
#                   ns "h1"           ns "h2"             ns "h3"
#                 ipop-tincan t1    ipop-tincan t2      ipop-tincan t3
#              ipop0 10.254.0.1    ipop0 10.254.0.2    ipop0 10.254.0.3
#               fd00:254::1/64      fd00:254::2/64      fd00:254::3/64
#
# ipopctl runs in the root namespace against the tincans' Unix sockets in the
# temp dir and is the only thing that wires them.  Asserted: no overlay
# traffic before a link exists; IPv4, IPv6 and TCP (iperf3) across once it is
# up; traffic keeps flowing with no client connected; a peer pinned to the
# wrong public key never connects; with the direct path between the NATs cut
# a fresh link comes up through the TURN relay; remove-link stops traffic;
# SIGTERM exits cleanly.  Measurements are printed as "# measured" lines.

# Helpers below run through check/must, which shellcheck cannot follow.
# shellcheck disable=SC2317
set -u -o pipefail
# shellcheck source=test/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

OV=vpn
e2e_require_tools "$TINCAN" "$IPOPCTL" iperf3 ss
e2e_init

# ---- topology -----------------------------------------------------------------

must "build namespaces and NAT routers" topo_two_nats
must "add h3 behind nat2" host_add nat2 2 h3 3
must "start coturn" turn_start

check "h1's traffic leaves through nat1 (STUN sees 100.64.1.2)" \
	test "$(stun_mapped h1)" = 100.64.1.2
check "h2's traffic leaves through nat2 (STUN sees 100.64.2.2)" \
	test "$(stun_mapped h2)" = 100.64.2.2
check_fails "h1 cannot reach h2's LAN address directly" \
	nsx h1 ping -n -c 1 -W 1 10.2.0.2

# ---- tincans --------------------------------------------------------------------

must "start ipop-tincan t1 in h1" tincan_start t1 h1
must "start ipop-tincan t2 in h2" tincan_start t2 h2
must "start ipop-tincan t3 in h3" tincan_start t3 h3
U1=$(tincan_uid t1) && U2=$(tincan_uid t2) && U3=$(tincan_uid t3)
must "read uids with ipopctl --json status" test -n "${U1:-}" -a -n "${U2:-}" -a -n "${U3:-}"
tap_note "t1 uid $U1, t2 uid $U2, t3 uid $U3"

for i in 1 2 3; do
	must "create-overlay on t$i" ctl "t$i" create-overlay "$OV" --tap ipop0 \
		--ipv4 "10.254.0.$i/24" --ipv6 "fd00:254::$i/64"
	must "set-ice on t$i" ice_set "t$i"
done
overlay_listed()
{
	ctl t1 --json status |
		jq -e --arg ov "$OV" '.overlays[] | select(.name == $ov and .tap == "ipop0")'
}
check "ipopctl --json status lists the overlay and its TAP on t1" overlay_listed

check "no overlay ping h1 -> h2 before a link exists" ping_fails h1 10.254.0.2

# ---- a direct link through both NATs ----------------------------------------------

# link_is_down NAME PEER_UID: the link exists and is not connected.
link_is_down()
{
	local st
	st=$(link_field "$1" "$OV" "$2" state) || return 1
	echo "state $st"
	[[ -n $st && $st != connected ]]
}

# link_uses_relay NAME PEER_UID: either end of the selected pair is a relay.
link_uses_relay()
{
	local l r
	l=$(link_field "$1" "$OV" "$2" local_type) || l=
	r=$(link_field "$1" "$OV" "$2" remote_type) || r=
	echo "local_type $l, remote_type $r"
	[[ $l == relay || $r == relay ]]
}

# link_is_direct NAME PEER_UID: a selected pair with no relay at either end.
link_is_direct()
{
	local l r
	l=$(link_field "$1" "$OV" "$2" local_type) &&
		r=$(link_field "$1" "$OV" "$2" remote_type) || return 1
	echo "local_type $l, remote_type $r"
	[[ -n $l && -n $r && $l != relay && $r != relay ]]
}

# link_counts_both_ways NAME PEER_UID: tx and rx packet counters moved.
link_counts_both_ways()
{
	local tx rx
	tx=$(link_field "$1" "$OV" "$2" tx_packets) &&
		rx=$(link_field "$1" "$OV" "$2" rx_packets) || return 1
	echo "tx_packets $tx, rx_packets $rx"
	((tx > 0 && rx > 0))
}

# connect_pair A B N_A N_B TIMEOUT_S: wire a link between tincans A and B
# (overlay addresses .N_A and .N_B) with ipopctl only and wait until both
# ends are connected.  Sets SETUP_MS to the time from create-link to both
# wait-links returning.
connect_pair()
{
	local a=$1 b=$2 ia=$3 ib=$4 tmo=$5 t0 rc=0
	t0=$(now_ms)
	must "create-link $a -> $b" link_create "$a" "$OV" "$b"
	must "create-link $b -> $a" link_create "$b" "$OV" "$a"
	must "exchange candidate blobs $a <-> $b" link_exchange "$OV" "$a" "$b"
	must "map-peer on $a" peer_map "$a" "$OV" "$b" --ipv4 "10.254.0.$ib" \
		--ipv6 "fd00:254::$ib"
	must "map-peer on $b" peer_map "$b" "$OV" "$a" --ipv4 "10.254.0.$ia" \
		--ipv6 "fd00:254::$ia"
	check "wait-link: $a's link to $b is connected" \
		link_wait "$a" "$OV" "$b" "$tmo" || rc=1
	check "wait-link: $b's link to $a is connected" \
		link_wait "$b" "$OV" "$a" "$tmo" || rc=1
	SETUP_MS=$(($(now_ms) - t0))
	return "$rc"
}

# unpair A B: remove-link on both ends.
unpair()
{
	must "remove-link $1 -> $2" link_remove "$1" "$OV" "$2"
	must "remove-link $2 -> $1" link_remove "$2" "$OV" "$1"
}

# measure_rtt NS DST LABEL: avg RTT of 10 pings as a "# measured" line.
measure_rtt()
{
	local avg recv
	read -r avg recv < <(ping_rtt "$1" "$2" 10)
	tap_note "measured ping RTT $3: avg $avg ms ($recv/10 replies)"
}

if connect_pair t1 t2 1 2 15; then
	tap_note "measured link setup (direct, create-link to wait-link): $SETUP_MS ms"
fi
tap_note "t1 selected pair: $(link_field t1 "$OV" "$U2" pair | jq -c . 2>/dev/null)"
check "the direct link punched through both NATs (no relay)" link_is_direct t1 "$U2"
check "ping h1 -> h2 over the overlay (IPv4)" wait_until 10 ping_ok h1 10.254.0.2
check "ping h2 -> h1 over the overlay (IPv4)" wait_until 10 ping_ok h2 10.254.0.1
check "ping h1 -> h2 over the overlay (IPv6)" wait_until 10 ping_ok h1 fd00:254::2
check "ipopctl stats counts packets both ways on t1" link_counts_both_ways t1 "$U2"

# Both ends run --cipher auto: AES-256-GCM where this CPU has AES-NI and
# PCLMUL (both tincans run on it), ChaCha20-Poly1305 otherwise.
link_cipher_is()
{
	local a b
	a=$(link_field t1 "$OV" "$U2" cipher) && b=$(link_field t2 "$OV" "$U1" cipher) || return 1
	echo "t1 says $a, t2 says $b, expected $1"
	[[ $a == "$1" && $b == "$1" ]]
}
WANT_CIPHER=chacha20-poly1305
if grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo; then
	WANT_CIPHER=aes-256-gcm
fi
check "both ends report the link's cipher, $WANT_CIPHER (stats)" link_cipher_is "$WANT_CIPHER"
measure_rtt h1 10.254.0.2 "(direct)"

# ---- TCP throughput -----------------------------------------------------------------

iperf_run()
{
	local json=$E2E_TMP/iperf3.json bps
	nsx h1 timeout 30 iperf3 -c 10.254.0.2 -t 3 -J >"$json" || return 1
	bps=$(jq -er '.end.sum_received.bits_per_second' "$json") || return 1
	IPERF_MBPS=$(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }')
	awk -v b="$bps" 'BEGIN { exit !(b > 0) }'
}

ip netns exec "$(ns_name h2)" iperf3 -s -1 -B 10.254.0.2 \
	>"$E2E_TMP/iperf3-server.log" 2>&1 &
run_track_pid $!
IPERF_MBPS=none
if wait_until 5 ns_listens h2 tcp 10.254.0.2:5201; then
	check "iperf3 TCP h1 -> h2 across the overlay carries data" iperf_run
	tap_note "measured iperf3 TCP h1 -> h2 (direct, 3 s): $IPERF_MBPS Mbit/s"
else
	E2E_ERR=$(cat "$E2E_TMP/iperf3-server.log")
	tap_fail "iperf3 server listens in h2"
fi

# 16 MiB of random bytes over one TCP connection to DST, SHA-256 compared at
# the receiver: TSO segmentation, partial checksums carried across the link,
# coalesced UDP reads and joined TCP writes all sit on this path.
bulk_intact()
{
	local dst=$1 f=$E2E_TMP/bulk.bin rx=$E2E_TMP/bulk.rx pid want
	head -c $((16 << 20)) /dev/urandom >"$f" || return 1
	want=$(sha256sum <"$f" | cut -d' ' -f1)
	rm -f "$rx"
	nsx h2 timeout 30 python3 -c '
import hashlib, socket
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 5300)); s.listen(1)
c, _ = s.accept(); h = hashlib.sha256()
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    h.update(b)
print(h.hexdigest())' >"$rx" &
	pid=$!
	wait_until 5 ns_listens h2 tcp :5300 || return 1
	nsx h1 timeout 30 python3 -c '
import socket, sys
c = socket.create_connection((sys.argv[1], 5300), timeout=20)
with open(sys.argv[2], "rb") as f:
    c.sendall(f.read())
c.close()' "$dst" "$f" || return 1
	wait "$pid" || return 1
	E2E_ERR="received SHA-256 $(cat "$rx"), sent $want"
	[[ $(cat "$rx") == "$want" ]]
}

check "16 MiB over TCP h1 -> h2 (IPv4) arrive intact (SHA-256)" \
	bulk_intact 10.254.0.2
check "16 MiB over TCP h1 -> h2 (IPv6) arrive intact (SHA-256)" \
	bulk_intact fd00:254::2

# The receiver wrote those segments to its TAP joined: status says how many.
segments_joined()
{
	local st frames segs
	st=$(ctl t2 --json status) || return 1
	frames=$(jq -er ".overlays[] | select(.name == \"$OV\") | .joined_frames" <<<"$st") &&
		segs=$(jq -er ".overlays[] | select(.name == \"$OV\") | .joined_segments" <<<"$st") &&
		jq -e ".overlays[] | select(.name == \"$OV\") | .offload" <<<"$st" >/dev/null ||
		return 1
	JOINED="$segs segments in $frames frames"
	E2E_ERR="joined_frames $frames, joined_segments $segs"
	((frames > 0 && segs >= 2 * frames))
}

JOINED=none
check "t2's TAP has offloads and joined received TCP segments (status)" \
	segments_joined
tap_note "t2 joined $JOINED"

# ---- no client connected ------------------------------------------------------------

# Every ipopctl call above was its own process and has exited: the links are
# now carried by tincan alone.  Ping for three seconds and require (almost)
# every reply.
pings_keep_flowing()
{
	local avg recv
	read -r avg recv < <(ping_rtt h1 10.254.0.2 30)
	echo "$recv/30 replies (avg $avg ms)"
	((recv >= 29))
}
# no_client NAME: tincan NAME has no accepted control connection open.
no_client()
{
	local open
	open=$(nsx h1 ss -Hxn state established | grep -cF "$(tincan_sock "$1")")
	echo "$open open control connections"
	((open == 0))
}
check "t1 has no control client connected" no_client t1
check "ping keeps flowing for 3 s with no client connected" pings_keep_flowing

# ---- a member sends only as itself -----------------------------------------------

# h1 gives its TAP t3's overlay address too and pings h2 from it: t1 carries
# the packets (the kernel picks t2's route), t2 must drop every one of them
# as a spoofed source instead of handing them to h2.
malformed_on() { ctl "$1" --json status | jq -er ".overlays[0].dropped_malformed"; }
spoofed_dropped()
{
	local before after sent=5
	before=$(malformed_on t2) || return 1
	nsx h1 ip addr add 10.254.0.3/32 dev ipop0 || return 1
	nsx h1 ping -n -q -c "$sent" -i 0.2 -W 1 -I 10.254.0.3 10.254.0.2 >/dev/null
	nsx h1 ip addr del 10.254.0.3/32 dev ipop0
	after=$(malformed_on t2) || return 1
	echo "t2 dropped $((after - before)) of $sent packets from t1 sent as t3"
	((after - before >= sent))
}
check "a member's packets sent from another member's address are dropped" \
	spoofed_dropped
check "ping h1 -> h2 from its own address still works afterwards" \
	wait_until 5 ping_ok h1 10.254.0.2

# ---- a peer pinned to the wrong public key ------------------------------------------

# uid_of_key B64: the uid tincan derives from a public key (hex of a 20-byte
# BLAKE2b), so that the pinned wrong key passes create-link's consistency check.
uid_of_key()
{
	base64 -d <<<"$1" | b2sum -l 160 | cut -d' ' -f1
}

# wrong_key below|above UID: a random public key whose uid sorts below (or
# above) UID.  The end with the lower uid starts the handshake, so this picks
# whether t1, holding the wrong key for t3, takes the starter's part.
wrong_key()
{
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import base64, hashlib, os, sys
side, uid = sys.argv[1], sys.argv[2]
for _ in range(1000000):
    k = os.urandom(32)
    u = hashlib.blake2b(k, digest_size=20).hexdigest()
    if (u < uid) == (side == "below"):
        print(base64.b64encode(k).decode())
        sys.exit(0)
sys.exit(1)
EOF
}

# log_lines NAME: the number of lines in a tincan's log so far.
log_lines()
{
	wc -l <"$(tincan_log "$1")"
}

# new_log_count NAME FROM REGEX: lines matching REGEX after line FROM.
new_log_count()
{
	tail -n +"$(($2 + 1))" "$(tincan_log "$1")" | grep -cE "$3"
}

K1=$(tincan_pubkey t1)
must "uid derivation matches tincan's (b2sum -l 160)" test "$(uid_of_key "$K1")" = "$U1"
REFUSED="handshake (initiation|response) refused: (the peer's static key|its mac1|it does not open)"
NO_INIT="no handshake initiation from the peer [0-9]+ s after ICE connected"

# refusal_logged FROM1 FROM3 NEITHER: what the two logs say since lines FROM1
# (t1) and FROM3 (t3).  When either end starts the handshake, the other side's
# refusal is logged with its reason, rate-limited (1-6 lines), and no end
# claims to be waiting; when neither does (NEITHER=1), both ends say that no
# initiation came.
refusal_logged()
{
	local refused waiting
	refused=$(($(new_log_count t1 "$1" "$REFUSED") + $(new_log_count t3 "$2" "$REFUSED")))
	waiting=$(($(new_log_count t1 "$1" "$NO_INIT") + $(new_log_count t3 "$2" "$NO_INIT")))
	echo "$refused 'handshake refused' and $waiting 'no handshake initiation' lines in t1's and t3's logs"
	if (($3)); then
		((refused == 0 && waiting == 2))
	else
		((refused >= 1 && refused <= 6 && waiting == 0))
	fi
}

# wrong_key_case below|above: t1 pins a key that is not t3's (a fresh random one
# whose uid sorts below or above t1's); t3 links to t1 with t1's real key, and
# the candidate blobs are exchanged between these two links, so ICE can
# connect but the handshake must not.  Run once with t1 starting the
# handshake and once without; t3 starts when its uid is below t1's, so over
# the two cases one of them has both ends or neither starting.
wrong_key_case()
{
	local side=$1 wk uw from1 from3 t1_starts t3_starts neither=0 who
	wk=$(wrong_key "$side" "$U1")
	must "a random key whose uid sorts $side t1's" test -n "$wk"
	uw=$(uid_of_key "$wk")
	[[ $side == above ]] && t1_starts=1 || t1_starts=0
	[[ $(printf '%s\n' "$U3" "$U1" | LC_ALL=C sort | head -n1) == "$U3" ]] &&
		t3_starts=1 || t3_starts=0
	((t1_starts || t3_starts)) || neither=1
	who="t1 starts $t1_starts, t3 starts $t3_starts"
	tap_note "wrong key ($side): pinned uid $uw; $who"
	from1=$(log_lines t1) && from3=$(log_lines t3)
	must "create-link t1 -> $uw (a wrong key, candidates from t3)" \
		ctl t1 create-link "$OV" "$uw" "$wk"
	must "create-link t3 -> t1" link_create t3 "$OV" t1
	must "exchange candidate blobs t1 <-> t3" exchange_wrong "$uw"
	must "map-peer on t1" ctl t1 map-peer "$OV" "$uw" --ipv4 10.254.0.3 --ipv6 fd00:254::3
	must "map-peer on t3" peer_map t3 "$OV" t1 --ipv4 10.254.0.1 --ipv6 fd00:254::1
	check_fails "wrong key ($side): t1's link is not connected within 10 s" \
		ctl t1 --timeout 10000 wait-link "$OV" "$uw"
	check "wrong key ($side): t3's link to t1 is not connected either" link_is_down t3 "$U1"
	check "wrong key ($side): ping h1 -> h3 fails" ping_fails h1 10.254.0.3
	check "wrong key ($side): ping h3 -> h1 fails" ping_fails h3 10.254.0.1
	tap_note "t1's link state after the attempt: $(link_field t1 "$OV" "$uw" state)"
	if ((neither)); then
		check "wrong key ($side, $who): both ends log that no initiation came" \
			refusal_logged "$from1" "$from3" 1
	else
		check "wrong key ($side, $who): the refused handshake is logged with its reason, rate-limited" \
			refusal_logged "$from1" "$from3" 0
	fi
	must "remove-link t1 -> $uw" ctl t1 remove-link "$OV" "$uw"
	must "remove t1's mapping of $uw" ctl t1 map-peer "$OV" "$uw" --remove
	must "remove-link t3 -> t1" link_remove t3 "$OV" t1
}

# exchange_wrong UW: swaps the candidate blobs of t1's link to UW and t3's to t1.
exchange_wrong()
{
	local b1 b3
	b1=$(ctl t1 candidates "$OV" "$1") && b3=$(ctl t3 candidates "$OV" "$U1") &&
		ctl t3 add-candidates "$OV" "$U1" "$b1" &&
		ctl t1 add-candidates "$OV" "$1" "$b3"
}

wrong_key_case above
wrong_key_case below

# ---- remove-link --------------------------------------------------------------------

unpair t1 t2
check "remove-link stops traffic (direct): ping h1 -> h2 fails" \
	ping_fails h1 10.254.0.2

# ---- through the TURN relay ---------------------------------------------------------

must "cut the direct path between the NATs in pub" \
	pub_block_direct 100.64.1.2 100.64.2.2
check "coturn is still reachable from h1 after the cut" \
	test "$(stun_mapped h1)" = 100.64.1.2
if connect_pair t1 t2 1 2 20; then
	tap_note "measured link setup (TURN relay): $SETUP_MS ms"
fi
tap_note "t1 selected pair: $(link_field t1 "$OV" "$U2" pair | jq -c . 2>/dev/null)"
check "the fresh link goes through the TURN relay (stats)" link_uses_relay t1 "$U2"
check "ping h1 -> h2 through the relay (IPv4)" wait_until 10 ping_ok h1 10.254.0.2
check "ping h2 -> h1 through the relay (IPv6)" wait_until 10 ping_ok h2 fd00:254::1
measure_rtt h1 10.254.0.2 "(TURN relay)"
unpair t1 t2
check "remove-link stops traffic (relay): ping h1 -> h2 fails" \
	ping_fails h1 10.254.0.2

# ---- shutdown -----------------------------------------------------------------------

check "t2 exits 0 on SIGTERM" tincan_stop t2
check "t2 removed its control socket" test ! -e "$(tincan_sock t2)"
check "t2 removed its TAP" bash -c "! ip -n $(ns_name h2) link show ipop0"

tap_done
