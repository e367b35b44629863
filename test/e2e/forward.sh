#!/bin/bash
# GroupVPN hop-by-hop forwarding in the dataplane (PROTOCOL.md §14), with
# five tincans and no controller: ipopctl alone wires them.
#
#                          ns "lan" (router, proxy ARP)
#        10.1.0.2    10.1.0.3    10.1.0.4    10.1.0.5    10.1.0.6
#          n0          n1          n2          n3          n4
#     (named by uid order after start: n0 < n1 < ... < n4 on the ring)
#
#   overlay links:  ring  n0-n1  n1-n2  n2-n3  n3-n4  n4-n0
#                   chords n0-n2  n1-n3         (no n0-n3 link)
#   overlay 10.254.0.(10+i) on ni; every node maps every other.
#
# Asserted from ipopctl --json status: n0 -> n3 (no direct link) goes over
# n2 by the greedy ring rule, the very first ping included, and n2 counts
# what it passed on; iperf3 TCP over one intermediate member carries data
# (figures against a direct link printed); set-route n3 via n1 on n0
# overrides the greedy choice; routes looping between n0 and n1 for a
# member nobody links to are cut by the hop limit and counted; SIGKILL of
# n2 moves n0 -> n3 onto n1; iperf3 over the overlay path raises
# route_traffic; an on-demand link n0-n3 takes the traffic directly and,
# once idle, raises link_idle.

# Helpers below run through check/must, which shellcheck cannot follow.
# shellcheck disable=SC2317
set -u -o pipefail
# shellcheck source=test/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

OV=gvpn
N=5
IDLE_MS=1500
RATE=200000 # bytes/s: route_traffic past this
e2e_require_tools "$TINCAN" "$IPOPCTL" iperf3 jq ss
e2e_init

# ---- topology and tincans ---------------------------------------------------

lan_up()
{
	local i
	ns_add lan && nsx lan sysctl -qw net.ipv4.ip_forward=1 || return 1
	for i in $(seq 0 $((N - 1))); do
		host_add lan 1 "h$i" $((i + 2)) || return 1
	done
}
must "build the LAN of five hosts" lan_up

declare -A UID_OF=() KEY_OF=()
names=()
for i in $(seq 0 $((N - 1))); do
	must "start ipop-tincan t$i in h$i" tincan_start "t$i" "h$i"
	UID_OF[t$i]=$(tincan_uid "t$i")
	KEY_OF[t$i]=$(tincan_pubkey "t$i")
	names+=("t$i")
done
# n0..n4: the tincans in uid order, and the host each runs in.
mapfile -t ORDER < <(for t in "${names[@]}"; do echo "${UID_OF[$t]} $t"; done |
	sort | cut -d' ' -f2)
declare -A NODE=() HOST=() ADDR=()
for i in $(seq 0 $((N - 1))); do
	NODE[n$i]=${ORDER[i]}
	HOST[n$i]=h${ORDER[i]#t}
	ADDR[n$i]=10.254.0.$((10 + i))
done
u() { echo "${UID_OF[${NODE[$1]}]}"; }
c() {
	local n=$1
	shift
	ctl "${NODE[$n]}" "$@"
}
tap_note "ring order: $(for i in $(seq 0 $((N - 1))); do printf '%s ' "n$i=${NODE[n$i]}"; done)"

for i in $(seq 0 $((N - 1))); do
	must "create-overlay on n$i" c "n$i" create-overlay "$OV" --tap ipop0 \
		--ipv4 "${ADDR[n$i]}/24" --ondemand-rate "$RATE" \
		--ondemand-idle "$IDLE_MS"
done
for i in $(seq 0 $((N - 1))); do
	for j in $(seq 0 $((N - 1))); do
		((i == j)) && continue
		must "map n$j on n$i" c "n$i" map-peer "$OV" "$(u "n$j")" \
			--ipv4 "${ADDR[n$j]}"
	done
done

# pair A B [KIND]: a link between nodes A and B (both ends), not waited for.
pair()
{
	local a=$1 b=$2 kind=${3:-successor} ba bb
	c "$a" create-link "$OV" "$(u "$b")" "${KEY_OF[${NODE[$b]}]}" --kind "$kind" &&
		c "$b" create-link "$OV" "$(u "$a")" "${KEY_OF[${NODE[$a]}]}" --kind "$kind" &&
		ba=$(c "$a" candidates "$OV" "$(u "$b")") &&
		bb=$(c "$b" candidates "$OV" "$(u "$a")") &&
		c "$b" add-candidates "$OV" "$(u "$a")" "$ba" &&
		c "$a" add-candidates "$OV" "$(u "$b")" "$bb"
}
up() { c "$1" --timeout 15000 wait-link "$OV" "$(u "$2")"; }

LINKS="n0:n1 n1:n2 n2:n3 n3:n4 n4:n0 n0:n2:chord n1:n3:chord"
for l in $LINKS; do
	IFS=: read -r a b k <<<"$l"
	must "link $a - $b" pair "$a" "$b" "${k:-successor}"
done
for l in $LINKS; do
	IFS=: read -r a b _ <<<"$l"
	check "link $a - $b connected" up "$a" "$b"
	check "link $b - $a connected" up "$b" "$a"
done

# ---- state probes -------------------------------------------------------------

st() { c "$1" --json status; }
# mapping N PEER FIELD: a field of N's mapping of PEER.
mapping() {
	st "$1" | jq -er --arg p "$(u "$2")" --arg f "$3" \
		'.overlays[0].mappings[] | select(.peer_uid == $p) | .[$f]'
}
ovf() { st "$1" | jq -er --arg f "$2" '.overlays[0][$f]'; }
linkf() {
	st "$1" | jq -er --arg p "$(u "$2")" --arg f "$3" \
		'.overlays[0].links[] | select(.peer_uid == $p) | .[$f]'
}
via_is() {
	local v
	v=$(mapping "$1" "$2" via_uid) || return 1
	echo "via_uid $v, want $(u "$3")"
	[[ $v == "$(u "$3")" ]]
}
grew() { # grew OLD NEW: NEW > OLD
	echo "before $1, after $2"
	(($2 > $1))
}
kind_is() {
	local k
	k=$(linkf "$1" "$2" kind) || return 1
	echo "kind $k"
	[[ $k == "$3" ]]
}
ping1() { nsx "${HOST[$1]}" ping -n -q -c 1 -W 2 -w 2 "${ADDR[$2]}" >/dev/null; }

check "n0's link to n2 is a chord, to n1 a successor (status --json)" \
	kind_is n0 n2 chord
check "status shows n1 as successor of n0" kind_is n0 n1 successor
check "n0 has no link to n3" test -z "$(linkf n0 n3 state 2>/dev/null)"

# ---- greedy forwarding ---------------------------------------------------------

f2=$(ovf n2 forwarded_packets)
check "the very first ping n0 -> n3 arrives (no direct link)" ping1 n0 n3
check "n0 routes n3 over n2 (greedy ring rule)" via_is n0 n3 n2
check "n2 passed frames on (forwarded_packets)" grew "$f2" "$(ovf n2 forwarded_packets)"
check "n0 counts frames forwarded to n3" test "$(mapping n0 n3 fwd_tx_packets)" -ge 1
check "n3 counts frames forwarded from n0" test "$(mapping n3 n0 fwd_rx_packets)" -ge 1
check "ping n3 -> n0 (replies over n4)" ping1 n3 n0

ctl "${NODE[n0]}" status | sed 's/^/# status n0: /'
read -r rtt_fwd _ < <(ping_rtt "${HOST[n0]}" "${ADDR[n3]}" 10)
read -r rtt_dir _ < <(ping_rtt "${HOST[n0]}" "${ADDR[n1]}" 10)
tap_note "measured ping RTT n0 -> n3 forwarded over n2: $rtt_fwd ms; n0 -> n1 direct: $rtt_dir ms"

iperf_mbps() { # iperf_mbps SRC DST SECONDS: prints Mbit/s
	local json=$E2E_TMP/iperf.$1.$2.json bps
	nsx "${HOST[$2]}" timeout 20 iperf3 -s -1 -B "${ADDR[$2]}" \
		>"$E2E_TMP/iperf-srv.log" 2>&1 &
	run_track_pid $!
	wait_until 5 ns_listens "${HOST[$2]}" tcp "${ADDR[$2]}:5201" || return 1
	nsx "${HOST[$1]}" timeout 20 iperf3 -c "${ADDR[$2]}" -t "$3" -J >"$json" ||
		return 1
	bps=$(jq -er '.end.sum_received.bits_per_second' "$json") || return 1
	awk -v b="$bps" 'BEGIN { printf "%.1f\n", b / 1e6; exit !(b > 0) }'
}

EVENTS=$E2E_TMP/events.n0.json
ctl "${NODE[n0]}" --timeout 0 events >"$EVENTS" 2>&1 &
run_track_pid $!
EV_PID=$!

mbps_dir=$(iperf_mbps n0 n1 3) || mbps_dir=none
check "iperf3 TCP n0 -> n1 over the direct link" test "$mbps_dir" != none
mbps_fwd=$(iperf_mbps n0 n3 3) || mbps_fwd=none
check "iperf3 TCP n0 -> n3 over one intermediate member (n2)" test "$mbps_fwd" != none
tap_note "measured iperf3 TCP 3 s: direct n0 -> n1 $mbps_dir Mbit/s; forwarded n0 -> n2 -> n3 $mbps_fwd Mbit/s"
has_event() { # has_event KIND PEER_NODE
	jq -e --arg k "$1" --arg p "$(u "$2")" \
		'select(.event == $k and .peer_uid == $p)' "$EVENTS" >/dev/null
}
check "route_traffic for n3 raised on n0 under iperf3" wait_until 3 has_event route_traffic n3
tap_note "route_traffic events: $(jq -c 'select(.event == "route_traffic") | .bytes_per_s' "$EVENTS" | tr '\n' ' ')"

# ---- an installed route wins over the greedy rule --------------------------------

must "set-route on n0: n3 via n1" c n0 set-route "$OV" "$(u n3)" "$(u n1)"
f1=$(ovf n1 forwarded_packets)
check "ping n0 -> n3 with the installed route" ping1 n0 n3
check "n0 now routes n3 over n1" via_is n0 n3 n1
check "status says the route is installed" test "$(mapping n0 n3 route_installed)" = true
check "n1 passed the frames on" grew "$f1" "$(ovf n1 forwarded_packets)"
must "set-route --remove on n0" c n0 set-route "$OV" "$(u n3)" --remove
check "n0 is back on the greedy route (n2)" via_is n0 n3 n2
check_fails "set-route refuses via == dest" c n0 set-route "$OV" "$(u n3)" "$(u n3)"

# ---- a routing loop is cut by the hop limit ----------------------------------------

GHOST=0123456789abcdef0123456789abcdef01234567
must "map a member nobody links to on n0" c n0 map-peer "$OV" "$GHOST" --ipv4 10.254.0.99
must "set-route on n0: ghost via n1" c n0 set-route "$OV" "$GHOST" "$(u n1)"
must "set-route on n1: ghost via n0 (a loop)" c n1 set-route "$OV" "$GHOST" "$(u n0)"
h0=$(ovf n0 dropped_hop_limit) h1=$(ovf n1 dropped_hop_limit)
nsx "${HOST[n0]}" ping -n -q -c 3 -i 0.2 -W 1 -w 2 10.254.0.99 >/dev/null 2>&1
hop_drops() {
	local a b
	a=$(ovf n0 dropped_hop_limit) && b=$(ovf n1 dropped_hop_limit) || return 1
	echo "dropped_hop_limit n0 $h0 -> $a, n1 $h1 -> $b"
	((a + b >= h0 + h1 + 3))
}
check "the looping frames are dropped at the hop limit and counted" wait_until 3 hop_drops
tap_note "forwarded_packets after the loop: n0 $(ovf n0 forwarded_packets), n1 $(ovf n1 forwarded_packets)"

# ---- the middle member dies -------------------------------------------------------

kill -KILL "${TINCAN_PID[${NODE[n2]}]}"
t0=$(now_ms)
if check "after SIGKILL of n2, n0 reaches n3 again" ping_until "${HOST[n0]}" "${ADDR[n3]}" 10 0.2; then
	tap_note "measured reroute after SIGKILL of n2: $(($(now_ms) - t0)) ms (stale next hop after 1.5 s, link dead after 3.5 s)"
fi
check "n0 routes n3 over n1 now" via_is n0 n3 n1

# ---- an on-demand link takes over, then goes idle ----------------------------------

# A TCP flow n0 -> n3 (over n1 now) while the on-demand link comes up:
# frames move onto it held behind the last forwarded ones (§14.3).
MOVE=$E2E_TMP/iperf.move.json
nsx "${HOST[n3]}" timeout 20 iperf3 -s -1 -B "${ADDR[n3]}" >/dev/null 2>&1 &
run_track_pid $!
wait_until 5 ns_listens "${HOST[n3]}" tcp "${ADDR[n3]}:5201"
nsx "${HOST[n0]}" timeout 20 iperf3 -c "${ADDR[n3]}" -t 4 -i 0.25 -J >"$MOVE" 2>&1 &
IPERF_PID=$!
run_track_pid $IPERF_PID
sleep 1.5
must "on-demand link n0 - n3" pair n0 n3 on-demand
check "on-demand link n0 - n3 connected" up n0 n3
wait "$IPERF_PID"
# no_stall: every 0.25 s interval of the flow carried data.
no_stall()
{
	local min
	min=$(jq -er '[.intervals[].sum.bytes] | min' "$MOVE") || return 1
	echo "smallest 0.25 s interval: $min bytes"
	((min > 0))
}
check "iperf3 n0 -> n3 never stalled while moving onto the direct link" no_stall
tap_note "measured move onto the on-demand link under iperf3: $(jq -r '"\(.end.sum_received.bits_per_second / 1e6 | floor) Mbit/s, \(.end.sum_sent.retransmits) retransmits"' "$MOVE" 2>/dev/null)"
check "the flow ended on the direct link (n0 -> n3 tx bytes)" \
	test "$(linkf n0 n3 tx_bytes)" -gt 1000000
check "the link's kind is on-demand" kind_is n0 n3 on-demand
tx0=$(mapping n0 n3 fwd_tx_packets)
check "ping n0 -> n3 over the direct link" ping1 n0 n3
check "no more frames forwarded to n3" test "$(mapping n0 n3 fwd_tx_packets)" = "$tx0"
# no_via: n0's mapping of n3 has no next hop (status prints "" as null).
no_via()
{
	local v
	v=$(st n0 | jq -r --arg p "$(u n3)" \
		'.overlays[0].mappings[] | select(.peer_uid == $p) | .via_uid')
	echo "via_uid [$v]"
	[[ -z $v || $v == null ]]
}
check "n0's mapping of n3 names no next hop now" no_via
check "link_idle for n3 raised on n0 once the link is idle" wait_until 5 has_event link_idle n3
check "link_idle raised once per idle spell" \
	test "$(jq -c --arg p "$(u n3)" 'select(.event == "link_idle" and .peer_uid == $p)' "$EVENTS" | wc -l)" = 1
kill "$EV_PID" 2>/dev/null

tap_done
