#!/bin/bash
# End-to-end test of tincan's metrics (--metrics, ipopctl metrics) and of
# ipopctl graph, checked against the state ipopctl status reports.
#
#    ns "a"                                            ns "b"
#    ipop-tincan t1 --metrics 127.0.0.1:9586           ipop-tincan t2 --metrics 127.0.0.1:9586
#    eth0 10.9.0.1/24 ------------ veth ------------ eth0 10.9.0.2/24
#    ipop0 10.254.0.1/24  (overlay "vpn", one link)   ipop0 10.254.0.2/24
#
# ipopctl in the root namespace wires the link over the tincans' Unix
# sockets; curl scrapes each listener on the loopback of its own namespace.
# Asserted: a bad --metrics address is a start-up error and a non-loopback
# one a warning; the listener answers GET /metrics (content type of the
# text format, HTTP/1.0 and 1.1), 404 another path, 405 another method, 503
# beyond its client cap and closes a silent client after its timeout; link
# state and path type match status; during iperf3 every status counter lies
# between the two scrapes around it, counters only grow, and the bytes
# counted over the run are iperf3's plus headers; ipopctl metrics names the
# same metrics; promtool accepts the text; a cut path counts a flap; ipopctl
# graph is DOT that dot renders, naming both peers.

# Helpers below run through check/must, which shellcheck cannot follow.
# shellcheck disable=SC2317
set -u -o pipefail
# shellcheck source=test/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

OV=vpn
MPORT=9586
URL=http://127.0.0.1:$MPORT
e2e_require_tools "$TINCAN" "$IPOPCTL" iperf3 ss curl python3
e2e_init

# metrics_start NAME NS [ADDR]: tincan NAME in NS with --metrics (default
# on the namespace's loopback), info log; waits until it answers.
metrics_start()
{
	local name=$1 ns=$2 addr=${3:-127.0.0.1:$MPORT}
	ip netns exec "$(ns_name "$ns")" "$TINCAN" --socket "$(tincan_sock "$name")" \
		--state-dir "$E2E_TMP/$name.state" --log-level info --foreground \
		--metrics "$addr" >>"$(tincan_log "$name")" 2>&1 &
	TINCAN_PID[$name]=$!
	run_track_pid $!
	e2e_track_log "$(tincan_log "$name")"
	tincan_answers "$name"
}

# scrape NS FILE: GET /metrics in NS into FILE (headers in FILE.hdr).
scrape()
{
	local code
	code=$(nsx "$1" curl -sS --max-time 5 -o "$2" -D "$2.hdr" \
		-w '%{http_code}' "$URL/metrics") || return 1
	E2E_ERR="HTTP $code"
	[[ $code == 200 ]]
}

# http_code NS CURL-ARGS...: the status curl got.
http_code()
{
	local ns=$1
	shift
	nsx "$ns" curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$@"
}

# mval FILE NAME PEER [LABEL=VALUE]: the value of a link metric of PEER.
mval()
{
	local key="$2{overlay=\"$OV\",peer=\"$3\"${4:+,$4}}"
	awk -v k="$key" 'index($0, k " ") == 1 { print $2; f = 1 } END { exit !f }' "$1"
}

# sval NAME PEER FIELD: a link's field from ipopctl status --json.
sval()
{
	ctl "$1" status --json |
		jq -er --arg ov "$OV" --arg p "$2" --arg f "$3" \
			'.overlays[] | select(.name == $ov) | .links[] |
			select(.peer_uid == $p) | .[$f]'
}

# names FILE: the metric names of an exposition text, sorted.
names() { sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$1" | sort; }

# ---- topology and start-up ---------------------------------------------------------

must "namespaces a and b with a veth between them" \
	eval 'ns_add a && ns_add b && veth_add a eth0 b eth0 10.9.0.1/24 10.9.0.2/24'

bad_addr()
{
	local out rc
	out=$(nsx a "$TINCAN" --foreground --socket "$E2E_TMP/bad.sock" \
		--state-dir "$E2E_TMP/bad.state" --metrics 127.0.0.1:99999 2>&1)
	rc=$?
	E2E_ERR="exit $rc: $out"
	((rc != 0)) && [[ $out == *"--metrics"*"IPv4:PORT or [IPv6]:PORT"* ]] &&
		[[ ! -e $E2E_TMP/bad.sock ]]
}
check "a bad --metrics address is a start-up error that says why" bad_addr

must "start t1 in a (--metrics 127.0.0.1:$MPORT)" metrics_start t1 a
must "start t2 in b (--metrics 127.0.0.1:$MPORT)" metrics_start t2 b
U1=$(tincan_uid t1) && U2=$(tincan_uid t2)
must "read uids" test -n "${U1:-}" -a -n "${U2:-}"
tap_note "t1 uid $U1, t2 uid $U2"

public_warns()
{
	metrics_start t3 a 10.9.0.1:9587 || return 1
	grep -q "not a loopback address" "$(tincan_log t3)" &&
		test "$(http_code a "http://10.9.0.1:9587/metrics")" = 200
}
check "a non-loopback --metrics address serves, with a warning in the log" \
	public_warns
check "t3 exits 0 on SIGTERM" tincan_stop t3

# ---- the listener ------------------------------------------------------------------

check "GET /metrics answers 200" scrape a "$E2E_TMP/m0"
check "Content-Type is the text format 0.0.4" \
	grep -qix 'content-type: text/plain; version=0.0.4'$'\r' "$E2E_TMP/m0.hdr"
check "HTTP/1.0 is answered too" \
	test "$(http_code a -0 "$URL/metrics")" = 200
check "another path gets 404" test "$(http_code a "$URL/")" = 404
check "another path gets 404 (/metrics/x)" \
	test "$(http_code a "$URL/metrics/x")" = 404
check "POST gets 405" test "$(http_code a -X POST -d x=1 "$URL/metrics")" = 405
check "HEAD gets 405" test "$(http_code a -I "$URL/metrics")" = 405

# Idle clients: one over the cap gets 503 at once; a silent one is closed
# by the server after its timeout (TC_HTTP_TIMEOUT_MS, 5 s).
idle_clients()
{
	nsx a timeout 20 python3 - "$MPORT" <<-'EOF'
		import socket, sys, time
		port = int(sys.argv[1])
		idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
		time.sleep(0.3)
		extra = socket.create_connection(("127.0.0.1", port))
		extra.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
		extra.settimeout(3)
		got = extra.recv(64)
		assert got.startswith(b"HTTP/1.1 503"), got
		t0 = time.monotonic()
		idle[0].settimeout(10)
		assert idle[0].recv(1) == b""
		waited = time.monotonic() - t0
		assert 3.5 < waited < 8, waited
		print("silent client closed after %.1f s" % waited)
	EOF
}
check "over the client cap: 503; a silent client is closed after ~5 s" \
	idle_clients
check "the listener serves again once they are gone" \
	wait_until 5 scrape a "$E2E_TMP/m0"

# ---- a link ------------------------------------------------------------------------

for i in 1 2; do
	must "create-overlay on t$i" ctl "t$i" create-overlay "$OV" --tap ipop0 \
		--ipv4 "10.254.0.$i/24"
done
must "create-link t1 -> t2" link_create t1 "$OV" t2
must "create-link t2 -> t1" link_create t2 "$OV" t1
must "exchange candidate blobs" link_exchange "$OV" t1 t2
must "map-peer on t1" peer_map t1 "$OV" t2 --ipv4 10.254.0.2 --label 'bob "b\2"'
must "map-peer on t2" peer_map t2 "$OV" t1 --ipv4 10.254.0.1 --label alice
check "wait-link: t1's link is connected" link_wait t1 "$OV" t2 15
check "wait-link: t2's link is connected" link_wait t2 "$OV" t1 15
check "ping a -> b over the overlay" wait_until 10 ping_ok a 10.254.0.2

state_matches()
{
	local st m
	st=$(sval t1 "$U2" state) && scrape a "$E2E_TMP/m1" || return 1
	m=$(mval "$E2E_TMP/m1" ipop_link_state "$U2" "state=\"$st\"")
	E2E_ERR="status says $st; ipop_link_state{state=\"$st\"} is ${m:-absent}"
	[[ $st == connected && $m == 1 ]] &&
		[[ $(grep -c "^ipop_link_state{overlay=\"$OV\",peer=\"$U2\",.*} 1$" "$E2E_TMP/m1") == 1 ]]
}
check "ipop_link_state: connected is 1, as status says, and only it" state_matches

path_matches()
{
	local lt rt want=srflx m
	lt=$(sval t1 "$U2" local_type) && rt=$(sval t1 "$U2" remote_type) || return 1
	[[ $lt == host && $rt == host ]] && want=host
	[[ $lt == relay || $rt == relay ]] && want=relay
	m=$(mval "$E2E_TMP/m1" ipop_link_path_type "$U2" "type=\"$want\"")
	E2E_ERR="pair $lt/$rt; ipop_link_path_type{type=\"$want\"} is ${m:-absent}"
	[[ $m == 1 && $want == host ]]
}
check "ipop_link_path_type: host is 1, as the pair in status says" path_matches

handshaked()
{
	local h
	h=$(mval "$E2E_TMP/m1" ipop_link_handshakes_total "$U2") || return 1
	E2E_ERR="handshakes $h"
	((h >= 1)) && mval "$E2E_TMP/m1" ipop_link_rtt_seconds "$U2" >/dev/null &&
		mval "$E2E_TMP/m1" ipop_link_last_handshake_timestamp_seconds "$U2" >/dev/null
}
check "a handshake is counted; RTT and handshake time are present" handshaked
check "ipop_peer_info carries the label, escaped" \
	grep -qF "ipop_peer_info{overlay=\"$OV\",peer=\"$U2\",label=\"bob \\\"b\\\\2\\\"\",ipv4=\"10.254.0.2\",ipv6=\"\"} 1" "$E2E_TMP/m1"

# ---- counters during iperf3 --------------------------------------------------------

# bracket FIELD METRIC: the metric scraped before and after status's value
# of FIELD holds it between them (t1's link to t2).
bracket()
{
	local a s b
	scrape a "$E2E_TMP/ba" && s=$(sval t1 "$U2" "$1") &&
		scrape a "$E2E_TMP/bb" || return 1
	a=$(mval "$E2E_TMP/ba" "$2" "$U2") && b=$(mval "$E2E_TMP/bb" "$2" "$U2") ||
		return 1
	echo "$2: $a <= status $s <= $b"
	E2E_ERR="$2: scrape $a, status $s, scrape $b"
	((a <= s && s <= b))
}

scrape a "$E2E_TMP/pre-a" && scrape b "$E2E_TMP/pre-b"
nsbg b "$E2E_TMP/iperf3-server.log" iperf3 -s -1 -B 10.254.0.2
must "iperf3 server listens in b" wait_until 5 ns_listens b tcp 10.254.0.2:5201
nsbg a "$E2E_TMP/iperf3-client.err" timeout 30 iperf3 -c 10.254.0.2 -t 4 \
	--logfile "$E2E_TMP/iperf3.json" -J
IPERF_PID=$NSBG_PID
sleep 1
t0=$(now_ms)
check "scrape during iperf3 answers" scrape a "$E2E_TMP/during"
tap_note "measured scrape during iperf3: $(($(now_ms) - t0)) ms"
for f in tx_bytes:ipop_link_tx_bytes_total rx_bytes:ipop_link_rx_bytes_total \
	tx_packets:ipop_link_tx_packets_total rx_packets:ipop_link_rx_packets_total; do
	check "during iperf3: status ${f%%:*} lies between two scrapes" \
		bracket "${f%%:*}" "${f#*:}"
done
check "iperf3 finished" wait "$IPERF_PID"
scrape a "$E2E_TMP/post-a" && scrape b "$E2E_TMP/post-b"

grows()
{
	local f=$1 m a b c
	for m in ipop_link_tx_bytes_total ipop_link_rx_bytes_total \
		ipop_link_tx_packets_total ipop_link_rx_packets_total; do
		a=$(mval "$E2E_TMP/pre-$f" "$m" "$2") && b=$(mval "$E2E_TMP/during" "$m" "$U2") &&
			c=$(mval "$E2E_TMP/post-$f" "$m" "$2") || return 1
		[[ $f == b ]] && b=$a
		echo "$m: $a, $b, $c"
		((a <= b && b <= c && a < c)) || return 1
	done
}
check "counters only grow (before, during, after iperf3) on t1" grows a "$U2"
check "counters only grow on t2" grows b "$U1"

# bytes_match: over the iperf3 run, t1 sent and t2 received iperf3's bytes
# plus Ethernet/IP/TCP headers and ACKs (at most 10 % more, plus 2 MiB).
bytes_match()
{
	local sent tx rx
	sent=$(jq -er '.end.sum_sent.bytes' "$E2E_TMP/iperf3.json") || return 1
	tx=$(($(mval "$E2E_TMP/post-a" ipop_link_tx_bytes_total "$U2") -
		$(mval "$E2E_TMP/pre-a" ipop_link_tx_bytes_total "$U2")))
	rx=$(($(mval "$E2E_TMP/post-b" ipop_link_rx_bytes_total "$U1") -
		$(mval "$E2E_TMP/pre-b" ipop_link_rx_bytes_total "$U1")))
	IPERF_NOTE="iperf3 sent $sent B; t1 tx +$tx B, t2 rx +$rx B"
	E2E_ERR=$IPERF_NOTE
	local max=$((sent + sent / 10 + (2 << 20)))
	((tx >= sent && tx <= max && rx >= sent && rx <= max))
}
IPERF_NOTE=none
check "bytes counted over the run are iperf3's plus headers (t1 tx, t2 rx)" \
	bytes_match
tap_note "measured $IPERF_NOTE"

quiet_equal()
{
	local m s
	scrape a "$E2E_TMP/q" && s=$(sval t1 "$U2" tx_bytes) || return 1
	m=$(mval "$E2E_TMP/q" ipop_link_tx_bytes_total "$U2")
	E2E_ERR="metrics $m, status $s"
	((s >= m && s - m < 65536))
}
check "after the run, tx_bytes agree with status (within 64 KiB)" quiet_equal

# ---- ipopctl metrics, promtool -----------------------------------------------------

same_names()
{
	ctl t1 metrics >"$E2E_TMP/ctl.txt" && scrape a "$E2E_TMP/http.txt" || return 1
	diff <(names "$E2E_TMP/ctl.txt") <(names "$E2E_TMP/http.txt") &&
		(($(names "$E2E_TMP/ctl.txt" | wc -l) >= 20))
}
check "ipopctl metrics names the same metrics as the listener" same_names
check "ipopctl metrics and the listener agree on the link's state" \
	test "$(mval "$E2E_TMP/ctl.txt" ipop_link_state "$U2" 'state="connected"')" = 1
check "every sample of the text belongs to a family with HELP and TYPE" \
	bash -c "! grep -v '^#' '$E2E_TMP/http.txt' | sed 's/[{ ].*//' | sort -u |
		grep -vxFf <(sed -n 's/^# HELP \([a-z_]*\) .*/\1/p' '$E2E_TMP/http.txt')"
if command -v promtool >/dev/null; then
	check "promtool check metrics accepts the text" \
		bash -c "promtool check metrics <'$E2E_TMP/http.txt'"
else
	tap_ok "promtool check metrics accepts the text # SKIP promtool not installed"
fi

# ---- a flap ------------------------------------------------------------------------

flapped()
{
	scrape a "$E2E_TMP/f" || return 1
	E2E_ERR="flaps $(mval "$E2E_TMP/f" ipop_link_flaps_total "$U2"), failed $(mval "$E2E_TMP/f" ipop_link_state "$U2" 'state="failed"')"
	[[ $(mval "$E2E_TMP/f" ipop_link_flaps_total "$U2") == 1 &&
		$(mval "$E2E_TMP/f" ipop_link_state "$U2" 'state="failed"') == 1 ]]
}
back_up()
{
	scrape a "$E2E_TMP/f" &&
		[[ $(mval "$E2E_TMP/f" ipop_link_state "$U2" 'state="connected"') == 1 ]]
}
# Both ways: liveness is any authenticated packet from the peer.
cut() { nsx b iptables "$1" INPUT -s 10.9.0.1 -p udp -j DROP &&
	nsx b iptables "$1" OUTPUT -d 10.9.0.1 -p udp -j DROP; }
must "cut the path (b drops UDP from and to a)" cut -I
check "the cut link fails: ipop_link_flaps_total 1, state failed" \
	wait_until 10 flapped
must "restore the path" cut -D
check "the link comes back: state connected again" wait_until 10 back_up

# ---- ipopctl graph -----------------------------------------------------------------

graph_names_both()
{
	ctl t1 graph >"$E2E_TMP/g.dot" || return 1
	E2E_ERR=$(cat "$E2E_TMP/g.dot")
	grep -qF "\"$U1\" [label=\"this node" "$E2E_TMP/g.dot" &&
		grep -qF "\"$OV/$U2\" [label=\"bob \\\"b\\\\2\\\"" "$E2E_TMP/g.dot" &&
		grep -qF "\"$U1\" -- \"$OV/$U2\" [label=\"connected\\nhost" "$E2E_TMP/g.dot"
}
check "ipopctl graph names both peers, the label and a connected host edge" \
	graph_names_both
check "ipopctl graph --overlay $OV writes the same (one overlay)" \
	bash -c "diff <('$IPOPCTL' --socket '$(tincan_sock t1)' graph --overlay $OV) '$E2E_TMP/g.dot'"
check_fails "ipopctl graph --overlay nosuch fails" ctl t1 graph --overlay nosuch
if command -v dot >/dev/null; then
	check "dot -Tsvg renders t1's graph" \
		bash -c "dot -Tsvg '$E2E_TMP/g.dot' >'$E2E_TMP/g.svg' && grep -q '<svg' '$E2E_TMP/g.svg'"
	check "dot -Tsvg renders t2's graph" \
		bash -c "'$IPOPCTL' --socket '$(tincan_sock t2)' graph | dot -Tsvg >/dev/null"
else
	tap_ok "dot -Tsvg renders the graphs # SKIP graphviz not installed"
fi

check "t1 exits 0 on SIGTERM" tincan_stop t1
check "t2 exits 0 on SIGTERM" tincan_stop t2
tap_done
