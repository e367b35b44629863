# shellcheck shell=bash disable=SC2034
# Helpers for tools/bench: one temp dir and one namespace prefix per run,
# process bookkeeping with a single EXIT trap, bounded waits, the two test
# topologies (a direct veth, and two hosts each behind its own NAT router),
# and the measurements (ping, iperf3 TCP/UDP, /proc CPU and RSS, medians).
#
# Nothing here touches the root namespace's addresses, routes or firewall:
# every interface, address and iptables rule lives in a namespace this run
# created, and the cleanup stops only processes this run started (the PIDs
# it recorded, then whatever still runs inside its own namespaces).

BN_PREFIX="ipb$$-"	# namespace prefix, unique per run
BN_TMP=""		# temp dir: configs, sockets, state, logs
BN_PIDS=()		# processes this run started
BN_NETNS=()		# namespaces this run created
BN_KEEP=0		# --keep: leave the temp dir for inspection
CLK_TCK=$(getconf CLK_TCK)

# ---- basics -------------------------------------------------------------------

bn_log() { printf '# %s\n' "$*" >&2; }

now_us()
{
	local t=${EPOCHREALTIME/./}
	echo $((10#$t))
}

now_ms() { echo $(($(now_us) / 1000)); }

# wait_until TIMEOUT_MS CMD...: run CMD every 20 ms until it succeeds (0) or
# TIMEOUT_MS have passed (1).  CMD's output is discarded.
wait_until()
{
	local deadline=$(($(now_ms) + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		(($(now_ms) >= deadline)) && return 1
		sleep 0.02
	done
}

# pid_wait_gone TIMEOUT_MS PID...: bounded wait until none of PID is alive.
pid_wait_gone()
{
	local deadline=$(($(now_ms) + $1)) p alive
	shift
	while :; do
		alive=0
		for p in "$@"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		((alive)) || return 0
		(($(now_ms) >= deadline)) && return 1
		sleep 0.02
	done
}

# pid_stop PID...: SIGTERM, a bounded wait, then SIGKILL; reaps our children.
pid_stop()
{
	local p
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null
	done
	if ! pid_wait_gone 3000 "$@"; then
		for p in "$@"; do
			kill -KILL "$p" 2>/dev/null
		done
		pid_wait_gone 2000 "$@"
	fi
	for p in "$@"; do
		wait "$p" 2>/dev/null
	done
	return 0
}

bn_init()
{
	BN_TMP=$(mktemp -d /tmp/ipop-bench.XXXXXX) || exit 1
	chmod 0711 "$BN_TMP"
	trap bn_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

bn_cleanup()
{
	local rc=$? p ns alive=()
	trap - EXIT INT TERM HUP
	for p in "${BN_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && alive+=("$p")
	done
	((${#alive[@]})) && pid_stop "${alive[@]}"
	for ns in "${BN_NETNS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	for ns in "${BN_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [[ -n $BN_TMP && -d $BN_TMP ]]; then
		if ((BN_KEEP)); then
			bn_log "kept $BN_TMP"
		else
			rm -rf "$BN_TMP"
		fi
	fi
	exit "$rc"
}

bn_track() { BN_PIDS+=("$1"); }

# ---- namespaces -------------------------------------------------------------------

nsx()
{
	local ns=$1
	shift
	ip netns exec "${BN_PREFIX}$ns" "$@"
}

ns_add()
{
	local ns=${BN_PREFIX}$1
	ip netns add "$ns" || return 1
	BN_NETNS+=("$ns")
	ip -n "$ns" link set lo up
}

# ns_del NS...: stop what runs there (only our namespaces), then delete.
ns_del()
{
	local n ns p i
	if [[ -n $STUN_PID ]]; then
		pid_stop "$STUN_PID"
		STUN_PID=""
	fi
	for n in "$@"; do
		ns=${BN_PREFIX}$n
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
		for i in "${!BN_NETNS[@]}"; do
			[[ ${BN_NETNS[i]} == "$ns" ]] && unset 'BN_NETNS[i]'
		done
	done
	return 0
}

# veth_add NS_A IF_A ADDR_A NS_B IF_B ADDR_B: a veth pair created directly in
# both namespaces, addressed and up (an empty ADDR leaves that end bare).
veth_add()
{
	local a=${BN_PREFIX}$1 b=${BN_PREFIX}$4
	ip link add "$2" netns "$a" type veth peer name "$5" netns "$b" ||
		return 1
	if [[ -n $3 ]]; then
		ip -n "$a" addr add "$3" dev "$2" || return 1
	fi
	if [[ -n $6 ]]; then
		ip -n "$b" addr add "$6" dev "$5" || return 1
	fi
	ip -n "$a" link set "$2" up && ip -n "$b" link set "$5" up
}

# Set by the topology functions:
HOST_A=""	# sender namespace
HOST_B=""	# receiver namespace
UNDER_DST=""	# the address A uses to reach B on the underlay
STUN_ADDR=""	# STUN server ip:port for tincan (NAT topology only)
STUN_PID=""	# coturn
TOPO_NS=()	# namespaces of the current topology

# topo_direct: A 10.99.0.1 -- veth -- B 10.99.0.2.
topo_direct()
{
	TOPO_NS=(da db)
	ns_add da && ns_add db &&
		veth_add da eth0 10.99.0.1/24 db eth0 10.99.0.2/24 || return 1
	HOST_A=da HOST_B=db UNDER_DST=10.99.0.2 STUN_ADDR=""
}

# nat_router NS IDX: WAN 100.64.IDX.2/24 (gateway pub 100.64.IDX.1), LAN
# 10.IDX.0.1/24 with one host 10.IDX.0.2 in namespace h$IDX.  MASQUERADE on
# the WAN; NEW or INVALID packets arriving on the WAN are dropped (to the
# router and forwarded), as a home router does and as the ICE tests need.
nat_router()
{
	local r=$1 i=$2 h=h$2
	ns_add "$r" && ns_add "$h" || return 1
	veth_add pub "wan$i" "100.64.$i.1/24" "$r" wan "100.64.$i.2/24" &&
		veth_add "$r" lan "10.$i.0.1/24" "$h" eth0 "10.$i.0.2/24" ||
		return 1
	ip -n "${BN_PREFIX}$r" route add default via "100.64.$i.1" &&
		ip -n "${BN_PREFIX}$h" route add default via "10.$i.0.1" &&
		nsx "$r" sysctl -qw net.ipv4.ip_forward=1 &&
		nsx "$r" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE
}

nat_drop_unsolicited()
{
	nsx "$1" iptables -A INPUT -i wan -m conntrack \
		--ctstate NEW,INVALID -j DROP &&
		nsx "$1" iptables -A FORWARD -i wan -m conntrack \
			--ctstate NEW,INVALID -j DROP
}

# nat_forward NS PROTO PORT DST: a port forward (DNAT) from the WAN to DST.
nat_forward()
{
	nsx "$1" iptables -t nat -A PREROUTING -i wan -p "$2" --dport "$3" \
		-j DNAT --to-destination "$4"
}

# topo_nat: two hosts, each behind its own NAT, the NATs joined by a router:
#   h1 10.1.0.2 - n1 (100.64.1.2) - pub (STUN 100.64.0.2) - n2 (100.64.2.2) - h2 10.2.0.2
# n2 forwards the ports fastd, tinc and iperf3 listen on (and ICMP echo) to
# h2, like a home router with port forwards: neither fastd nor tinc 1.0 can
# cross two NATs without one.  tincan uses none of them (ICE with STUN).
topo_nat()
{
	TOPO_NS=(pub n1 h1 n2 h2)
	ns_add pub || return 1
	nsx pub sysctl -qw net.ipv4.ip_forward=1 &&
		ip -n "${BN_PREFIX}pub" addr add 100.64.0.2/32 dev lo &&
		nat_router n1 1 && nat_router n2 2 || return 1
	nat_forward n2 tcp 5201 10.2.0.2 && nat_forward n2 udp 5201 10.2.0.2 &&
		nat_forward n2 udp 10000 10.2.0.2 &&
		nat_forward n2 tcp 655 10.2.0.2 && nat_forward n2 udp 655 10.2.0.2 &&
		nsx n2 iptables -t nat -A PREROUTING -i wan -p icmp \
			--icmp-type echo-request -j DNAT --to-destination 10.2.0.2 &&
		nsx n2 iptables -A FORWARD -i wan -m conntrack --ctstate DNAT \
			-j ACCEPT || return 1
	nat_drop_unsolicited n1 && nat_drop_unsolicited n2 || return 1
	HOST_A=h1 HOST_B=h2 UNDER_DST=100.64.2.2 STUN_ADDR=100.64.0.2:3478
	stun_start
}

# stun_start: coturn in pub as a STUN-only server (tincan gathers its
# server-reflexive candidates from it).
stun_start()
{
	local d=$BN_TMP/stun
	mkdir -p "$d" || return 1
	cat >"$d/turn.conf" <<-EOF
		listening-ip=100.64.0.2
		listening-port=3478
		stun-only
		no-rfc5780
		no-tls
		no-dtls
		no-cli
		no-multicast-peers
		userdb=$d/turndb
		pidfile=$d/turnserver.pid
		log-file=stdout
		simple-log
	EOF
	ip netns exec "${BN_PREFIX}pub" turnserver -c "$d/turn.conf" \
		>"$d/turnserver.log" 2>&1 &
	STUN_PID=$!
	bn_track $!
	wait_until 10000 udp_listening pub 100.64.0.2:3478
}

# udp_listening NS ADDR:PORT / tcp_listening NS PORT
udp_listening() { nsx "$1" ss -Hlun | grep -qF "$2 "; }
tcp_listening() { nsx "$1" ss -Hltn | grep -qE "[:*]$2 "; }
udp_port_bound() { nsx "$1" ss -Hlun | grep -qE ":$2 "; }

# ---- measurements -------------------------------------------------------------------

# proc_ticks PID: utime + stime (all threads), in clock ticks.
proc_ticks()
{
	local s f
	s=$(<"/proc/$1/stat") || return 1
	s=${s##*) }
	read -ra f <<<"$s"
	echo $((f[11] + f[12]))
}

# proc_rss_kb PID: VmRSS in kB.
proc_rss_kb()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# ping_avg NS DST: average RTT in ms of 20 pings 0.05 s apart ("" if none).
ping_avg()
{
	nsx "$1" ping -n -q -c 20 -i 0.05 -W 1 -w 5 "$2" 2>/dev/null |
		sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p'
}

# iperf_server NS: a one-shot iperf3 server on port 5201; sets IPERF_SPID
# (the iperf3 process itself: ip netns exec execs it) and waits until that
# process listens.
iperf_server()
{
	ip netns exec "${BN_PREFIX}$1" iperf3 -s -1 -p 5201 \
		>>"$BN_TMP/iperf3-server.log" 2>&1 &
	IPERF_SPID=$!
	bn_track "$IPERF_SPID"
	wait_until 5000 pid_listening "$1" 5201 "$IPERF_SPID"
}

# pid_listening NS PORT PID: PID has a TCP socket listening on PORT.
pid_listening()
{
	nsx "$1" ss -Hltnp "sport = :$2" | grep -qF "pid=$3,"
}

iperf_server_done()
{
	pid_wait_gone 3000 "$IPERF_SPID" || pid_stop "$IPERF_SPID"
	wait "$IPERF_SPID" 2>/dev/null
	return 0
}

# iperf_client NS DST SECONDS OUT ARGS...: one bounded iperf3 run, JSON to OUT.
iperf_client()
{
	local ns=$1 dst=$2 t=$3 out=$4
	shift 4
	nsx "$ns" timeout $((t + 20)) iperf3 -c "$dst" -p 5201 -t "$t" -J \
		"$@" >"$out" 2>"$out.err"
}

# median V...: the median of the numeric arguments ("" when none).
median()
{
	(($#)) || return 0
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2];
		      else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# fmt V DIGITS: a number with DIGITS decimals, or "n/a".
fmt()
{
	[[ -n $1 ]] || { echo n/a; return; }
	awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'
}
