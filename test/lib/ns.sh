# shellcheck shell=bash
# Network namespaces, veth pairs and NAT routers for the test scripts, the
# demos and the bench.
#
# Every name given to these helpers is short ("h1", "pub") and is prefixed
# with this run's RUN_PREFIX; every namespace created here is recorded in
# RUN_NETNS, so proc.sh's cleanup deletes it.  Every interface, address and
# iptables rule lives in such a namespace: nothing here touches the root
# namespace's addresses, routes or firewall.
#
# Needs proc.sh (and run_init called before the first ns_add).

ns_name() { echo "${RUN_PREFIX}$1"; }

# nsx NS CMD...: run CMD in this run's namespace NS.  Not for background
# processes whose PID is tracked: `nsx ... &` forks a subshell, and $! would
# be that shell rather than the process (use nsbg, or `ip netns exec ... &`).
nsx()
{
	local ns=$1
	shift
	ip netns exec "${RUN_PREFIX}$ns" "$@"
}

# nsbg NS LOG CMD...: start CMD in namespace NS in the background, output
# appended to LOG; NSBG_PID is CMD's own pid (ip netns exec execs it), so
# signals sent to it reach CMD itself.  The PID is tracked for the cleanup.
nsbg()
{
	local ns=$1 log=$2
	shift 2
	ip netns exec "${RUN_PREFIX}$ns" "$@" >>"$log" 2>&1 &
	NSBG_PID=$!
	run_track_pid "$NSBG_PID"
}

# ns_listens NS tcp|udp [ADDR]:PORT: a socket in NS listens on (TCP) or is
# bound to (UDP) PORT, on ADDR when given (":PORT" matches any address).
ns_listens()
{
	local flags=-Hltn
	[[ $2 == udp ]] && flags=-Hlun
	nsx "$1" ss "$flags" | grep -qF -- "$3 "
}

# ns_exists NS: this run's namespace NS exists.
ns_exists() { [[ -e /run/netns/${RUN_PREFIX}$1 ]]; }

ns_add()
{
	local ns=${RUN_PREFIX}$1
	ip netns add "$ns" || return 1
	RUN_NETNS+=("$ns")
	ip -n "$ns" link set lo up
}

# ns_del NS...: kill what still runs there, then delete (this run's only).
ns_del()
{
	local n ns i
	for n in "$@"; do
		ns=${RUN_PREFIX}$n
		ns_kill_all "$ns"
		ip netns del "$ns" 2>/dev/null
		for i in "${!RUN_NETNS[@]}"; do
			[[ ${RUN_NETNS[i]} == "$ns" ]] && unset 'RUN_NETNS[i]'
		done
	done
	return 0
}

# veth_add NS_A IF_A NS_B IF_B [ADDR_A [ADDR_B]]: a veth pair created
# directly in both namespaces and up; an ADDR given (CIDR) is added to its
# end.
veth_add()
{
	local a=${RUN_PREFIX}$1 b=${RUN_PREFIX}$3
	ip link add "$2" netns "$a" type veth peer name "$4" netns "$b" ||
		return 1
	if [[ -n ${5:-} ]]; then
		ip -n "$a" addr add "$5" dev "$2" || return 1
	fi
	if [[ -n ${6:-} ]]; then
		ip -n "$b" addr add "$6" dev "$4" || return 1
	fi
	ip -n "$a" link set "$2" up && ip -n "$b" link set "$4" up
}

# nat_add NAT IDX: a NAT router with WAN 100.64.IDX.2/24 (gateway: namespace
# pub, 100.64.IDX.1, which must exist) and a LAN 10.IDX.0.0/24 whose hosts
# are added by host_add.  MASQUERADE on the WAN; new or invalid packets
# arriving on the WAN are dropped, both to the router itself and forwarded,
# like a home router (and without it, an early connectivity check can steal
# the NAT's port mapping, see TESTBED).  A port forward needs its FORWARD
# ACCEPT inserted (-I) before these drops.
nat_add()
{
	local nat=$1 idx=$2
	ns_add "$nat" || return 1
	veth_add pub "wan$idx" "$nat" wan "100.64.$idx.1/24" "100.64.$idx.2/24" &&
		ip -n "$(ns_name "$nat")" route add default via "100.64.$idx.1" ||
		return 1
	nsx "$nat" sysctl -qw net.ipv4.ip_forward=1 &&
		nsx "$nat" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE &&
		nsx "$nat" iptables -A INPUT -i wan -m conntrack \
			--ctstate NEW,INVALID -j DROP &&
		nsx "$nat" iptables -A FORWARD -i wan -m conntrack \
			--ctstate NEW,INVALID -j DROP
}

# host_add NAT IDX HOST N: host HOST at 10.IDX.0.N/24 behind NAT.  The LAN
# is routed rather than bridged (no bridge device on this kernel): one veth
# per host, the router's end holds 10.IDX.0.1/32 and answers ARP for the
# other hosts (proxy ARP), so hosts on one LAN still reach each other.
host_add()
{
	local nat=$1 idx=$2 host=$3 n=$4 rns hns
	rns=$(ns_name "$nat")
	hns=$(ns_name "$host")
	ns_add "$host" || return 1
	veth_add "$host" eth0 "$nat" "v$host" || return 1
	ip -n "$rns" addr add "10.$idx.0.1/32" dev "v$host" &&
		ip -n "$rns" route add "10.$idx.0.$n/32" dev "v$host" &&
		nsx "$nat" sysctl -qw "net.ipv4.conf.v$host.proxy_arp=1" &&
		nsx "$nat" sysctl -qw "net.ipv4.neigh.v$host.proxy_delay=0" &&
		ip -n "$hns" addr add "10.$idx.0.$n/24" dev eth0 &&
		ip -n "$hns" route add default via "10.$idx.0.1"
}
