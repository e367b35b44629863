# shellcheck shell=bash
# Shared helpers for the end-to-end scripts in test/e2e and for tools/demo.
#
# This file owns everything a scenario needs besides its own assertions: the
# root check (exit 77 = skip), one temp dir and one name prefix per run,
# network namespaces joined by veth pairs, NAT routers, a private coturn,
# ipop-tincan processes with their sockets and logs, ipopctl wrappers, bounded
# polling and TAP-style ok/not ok reporting.  One EXIT trap undoes all of it:
# it stops exactly the processes this run started and whatever still runs in
# this run's namespaces, deletes the namespaces and removes the temp dir.
# Nothing here touches the root namespace's addresses, routes or firewall.
#
# Source it, then call e2e_init.  It sets no shell options of its own.

IPOP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case ${BUILD:-build} in
/*) IPOP_BUILD=${BUILD} ;;
*) IPOP_BUILD=$IPOP_ROOT/${BUILD:-build} ;;
esac
TINCAN=${TINCAN:-$IPOP_BUILD/ipop-tincan}
IPOPCTL=${IPOPCTL:-$IPOP_BUILD/ipopctl}

E2E_PREFIX="ipt$$-"	# namespace prefix, unique per run
E2E_TMP=""		# temp dir: configs, sockets, state, logs
E2E_PIDS=()		# processes this run started
E2E_NETNS=()		# namespaces this run created
E2E_LOGS=()		# logs whose tail is shown on failure
E2E_ERR=""		# stderr of the last failed run_step
declare -A TINCAN_PID=()
declare -A E2E_LOG_MARK=()	# log -> lines already shown
TAP_N=0
TAP_FAILED=0

# Addresses of the standard topology (inside its namespaces only).
TURN_IP=100.64.0.1	# coturn: TURN (and relay addresses)
STUN_IP=100.64.0.2	# coturn again: STUN on a second address, see turn_start
TURN_PORT=3478
TURN_USER=ipop
TURN_PASS=ipop-test-pass
TURN_REALM=ipop.test

# ---- basics -----------------------------------------------------------------

e2e_require_root()
{
	if ((EUID != 0)); then
		echo "# skip: $(basename "$0") needs root (network namespaces)"
		exit 77
	fi
}

# e2e_require_tools CMD...: skip when a tool is missing (run tools/install-deps).
e2e_require_tools()
{
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1 && [[ ! -x $c ]]; then
			echo "# skip: $c not found (run tools/install-deps, then make)"
			exit 77
		fi
	done
}

e2e_init()
{
	e2e_require_root
	e2e_require_tools ip iptables jq ping turnserver turnutils_stunclient \
		timeout
	E2E_TMP=$(mktemp -d /tmp/ipop-e2e.XXXXXX) || exit 1
	chmod 0711 "$E2E_TMP"
	trap e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	e2e_snapshot_bins
}

# e2e_snapshot_bins: run copies of ipop-tincan and ipopctl, so a rebuild
# during the run (make in another shell) neither breaks nor mixes versions.
e2e_snapshot_bins()
{
	local b
	mkdir -p "$E2E_TMP/bin" || return 1
	for b in TINCAN IPOPCTL; do
		[[ -x ${!b} ]] || continue
		cp "${!b}" "$E2E_TMP/bin/" || continue
		printf -v "$b" '%s' "$E2E_TMP/bin/$(basename "${!b}")"
	done
}

now_ms()
{
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# wait_until TIMEOUT_S CMD...: run CMD every 0.1 s until it succeeds (0) or
# TIMEOUT_S seconds have passed (1).  CMD's output is discarded.
wait_until()
{
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		(($(now_ms) >= deadline)) && return 1
		sleep 0.1
	done
}

# pid_wait_gone TIMEOUT_S PID...: bounded wait until none of PID is alive.
pid_wait_gone()
{
	local deadline=$(($(now_ms) + $1 * 1000)) p alive
	shift
	while :; do
		alive=0
		for p in "$@"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		((alive)) || return 0
		(($(now_ms) >= deadline)) && return 1
		sleep 0.05
	done
}

e2e_track_pid() { E2E_PIDS+=("$1"); }
e2e_track_log() { E2E_LOGS+=("$1"); }

e2e_cleanup()
{
	local rc=$? p ns alive=()
	trap - EXIT INT TERM HUP
	for p in "${E2E_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null && alive+=("$p")
	done
	if ((${#alive[@]})) && ! pid_wait_gone 5 "${alive[@]}"; then
		for p in "${alive[@]}"; do
			kill -KILL "$p" 2>/dev/null
		done
		pid_wait_gone 2 "${alive[@]}"
	fi
	for ns in "${E2E_NETNS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	for ns in "${E2E_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [[ -n $E2E_TMP && -d $E2E_TMP ]]; then
		if [[ ${E2E_KEEP:-0} == 1 ]]; then
			echo "# kept $E2E_TMP"
		else
			rm -rf "$E2E_TMP"
		fi
	fi
	exit "$rc"
}

# ---- TAP reporting ----------------------------------------------------------

# e2e_dump_logs: the tail of what each log gained since the last dump.
e2e_dump_logs()
{
	local f n from
	for f in "${E2E_LOGS[@]}"; do
		[[ -s $f ]] || continue
		n=$(wc -l <"$f")
		from=${E2E_LOG_MARK[$f]:-0}
		E2E_LOG_MARK[$f]=$n
		((n > from)) || continue
		echo "# --- $(basename "$f"), last of lines $((from + 1))-$n ---"
		tail -n +"$((from + 1))" "$f" | tail -n "${E2E_TAIL:-30}" |
			sed 's/^/#   /'
	done
}

tap_ok()
{
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}

tap_fail()
{
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
	[[ -n $E2E_ERR ]] && sed 's/^/#   /' <<<"$E2E_ERR"
	E2E_ERR=""
	e2e_dump_logs
}

tap_note() { echo "# $*"; }

# check DESC CMD...: ok when CMD succeeds.
check()
{
	local desc=$1
	shift
	if run_step "$@"; then
		tap_ok "$desc"
	else
		tap_fail "$desc"
		return 1
	fi
}

# check_fails DESC CMD...: ok when CMD fails.
check_fails()
{
	local desc=$1
	shift
	if run_step "$@"; then
		E2E_ERR="command succeeded but should have failed: $*"$'\n'
		E2E_ERR+=$(head -c 4000 "$E2E_TMP/step.out")
		tap_fail "$desc"
		return 1
	fi
	E2E_ERR=""
	tap_ok "$desc"
}

# run_step CMD...: run CMD quietly; when it fails, keep its exit code and
# output in E2E_ERR for the report.
run_step()
{
	local errf=$E2E_TMP/step.out rc
	"$@" >"$errf" 2>&1
	rc=$?
	if ((rc != 0)); then
		E2E_ERR="$* -> exit $rc"$'\n'"$(head -c 4000 "$errf")"
	fi
	return "$rc"
}

# must DESC CMD...: a wiring step the rest of the script depends on; on
# failure report it and stop the script.
must()
{
	local desc=$1
	shift
	run_step "$@" && return 0
	tap_fail "$desc"
	echo "Bail out! $desc"
	exit 1
}

# tap_done: print the plan and exit with the result.
tap_done()
{
	echo "1..$TAP_N"
	((TAP_FAILED == 0)) && exit 0
	exit 1
}

# ---- namespaces and links ---------------------------------------------------

ns_name() { echo "${E2E_PREFIX}$1"; }

# nsx NS CMD...: run CMD in this run's namespace NS.  Not for background
# processes whose PID is tracked: `nsx ... &` forks a subshell, and $! would
# be that shell rather than the process (use `ip netns exec ... &` instead).
nsx()
{
	local ns=$1
	shift
	ip netns exec "${E2E_PREFIX}$ns" "$@"
}

ns_add()
{
	local ns=${E2E_PREFIX}$1
	ip netns add "$ns" || return 1
	E2E_NETNS+=("$ns")
	ip -n "$ns" link set lo up
}

# veth_add NS_A IF_A NS_B IF_B: a veth pair created directly in both namespaces.
veth_add()
{
	ip link add "$2" netns "${E2E_PREFIX}$1" type veth \
		peer name "$4" netns "${E2E_PREFIX}$3" || return 1
	ip -n "${E2E_PREFIX}$1" link set "$2" up &&
		ip -n "${E2E_PREFIX}$3" link set "$4" up
}

# pub_add: the public network, a router that also holds coturn's addresses
# (on its loopback device, as /32s: this kernel has no dummy or bridge
# devices, and coturn only refuses 127/8 peers, not addresses on lo).  NAT WAN
# legs are routed through it, so iptables in it can cut the direct path
# between two NATs while coturn stays reachable from both.
#
# Its default route leads to "sink", a namespace that forwards nothing and
# silently swallows what it gets, like the Internet does with packets for
# private addresses.  Without it, coturn relaying an ICE check to a peer's
# host candidate (10.x) gets ENETUNREACH from sendmsg and closes the whole
# allocation, and relayed links then fail.
pub_add()
{
	ns_add pub || return 1
	ns_add sink || return 1
	veth_add pub sink0 sink sink0 || return 1
	ip -n "$(ns_name pub)" addr add 100.64.255.1/30 dev sink0 &&
		ip -n "$(ns_name sink)" addr add 100.64.255.2/30 dev sink0 &&
		ip -n "$(ns_name pub)" route add default via 100.64.255.2 &&
		nsx sink sysctl -qw net.ipv4.ip_forward=0 &&
		nsx pub sysctl -qw net.ipv4.ip_forward=1 &&
		ip -n "$(ns_name pub)" addr add "$TURN_IP/32" dev lo &&
		ip -n "$(ns_name pub)" addr add "$STUN_IP/32" dev lo
}

# nat_add NAT IDX: a NAT router with WAN 100.64.IDX.2/24 (gateway pub
# 100.64.IDX.1) and a LAN 10.IDX.0.0/24 whose hosts are added by host_add.
# MASQUERADE on the WAN; new or invalid packets arriving on the WAN are
# dropped, both to the router itself and forwarded, like a home router (and
# without it, an early connectivity check can steal the NAT's port mapping,
# see TESTBED).
nat_add()
{
	local nat=$1 idx=$2 ns
	ns=$(ns_name "$nat")
	ns_add "$nat" || return 1
	veth_add pub "wan$idx" "$nat" wan || return 1
	ip -n "$(ns_name pub)" addr add "100.64.$idx.1/24" dev "wan$idx" &&
		ip -n "$ns" addr add "100.64.$idx.2/24" dev wan &&
		ip -n "$ns" route add default via "100.64.$idx.1" || return 1
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

# pub_block_direct A B: drop everything forwarded between two WAN addresses
# in pub (coturn, local to pub, stays reachable from both).
pub_block_direct()
{
	nsx pub iptables -I FORWARD -s "$1" -d "$2" -j DROP &&
		nsx pub iptables -I FORWARD -s "$2" -d "$1" -j DROP
}

# topo_two_nats: the standard topology:
#   sink -- pub (router, coturn) -- nat1 (100.64.1.2) -- LAN 10.1.0.0/24 -- h1 (.2)
#                        -- nat2 (100.64.2.2) -- LAN 10.2.0.0/24 -- h2 (.2)
topo_two_nats()
{
	pub_add &&
		nat_add nat1 1 && nat_add nat2 2 &&
		host_add nat1 1 h1 2 && host_add nat2 2 h2 2
}

# ---- coturn -----------------------------------------------------------------

# turn_start: coturn in pub, configured only from the temp dir.  It listens
# on TURN_IP and STUN_IP; clients use TURN_IP for TURN and STUN_IP for STUN,
# because one ip:port used for both slowed libnice's gathering to 2 s.
# RFC 5780 (offered by default with two addresses) is off: its
# CHANGE-REQUEST answers come from an address the NATs drop, and
# turnutils_stunclient then waits for them forever.
turn_start()
{
	local d=$E2E_TMP/turn
	mkdir -p "$d" || return 1
	cat >"$d/turn.conf" <<-EOF
		listening-ip=$TURN_IP
		listening-ip=$STUN_IP
		listening-port=$TURN_PORT
		relay-ip=$TURN_IP
		min-port=49152
		max-port=49999
		lt-cred-mech
		user=$TURN_USER:$TURN_PASS
		realm=$TURN_REALM
		userdb=$d/turndb
		fingerprint
		no-tls
		no-dtls
		no-cli
		no-tcp-relay
		no-multicast-peers
		no-rfc5780
		pidfile=$d/turnserver.pid
		log-file=stdout
		simple-log
		verbose
	EOF
	ip netns exec "$(ns_name pub)" turnserver -c "$d/turn.conf" \
		>"$E2E_TMP/turnserver.log" 2>&1 &
	e2e_track_pid $!
	e2e_track_log "$E2E_TMP/turnserver.log"
	wait_until 10 turn_listening
}

# turn_listening: coturn's UDP sockets on both addresses are bound.
turn_listening()
{
	local out
	out=$(nsx pub ss -Hlun) || return 1
	grep -qF "$TURN_IP:$TURN_PORT " <<<"$out" &&
		grep -qF "$STUN_IP:$TURN_PORT " <<<"$out"
}

# stun_mapped HOST: the reflexive address coturn sees for HOST (ip only).
# turnutils_stunclient never retransmits nor gives up: bound it.
stun_mapped()
{
	nsx "$1" timeout 2 turnutils_stunclient -p "$TURN_PORT" "$STUN_IP" 2>&1 |
		sed -n 's/.*UDP reflexive addr: *\([0-9.]*\):[0-9]*.*/\1/p' | head -n 1
}

# ---- ipop-tincan and ipopctl ------------------------------------------------

tincan_sock() { echo "$E2E_TMP/$1.sock"; }

# ctl NAME ARGS...: ipopctl against tincan NAME (runs in the root namespace:
# the Unix socket works across namespaces).  Bounded by timeout(1) too.
ctl()
{
	local name=$1
	shift
	timeout 60 "$IPOPCTL" --socket "$(tincan_sock "$name")" "$@"
}

# tincan_start NAME NS: start ipop-tincan NAME in namespace NS, in the
# foreground in the background, logging at debug level; wait until it answers.
tincan_start()
{
	local name=$1 ns=$2 log=$E2E_TMP/$1.log
	ip netns exec "$(ns_name "$ns")" "$TINCAN" --socket "$(tincan_sock "$name")" \
		--state-dir "$E2E_TMP/$name.state" --log-level debug \
		--foreground >>"$log" 2>&1 &
	TINCAN_PID[$name]=$!
	e2e_track_pid $!
	e2e_track_log "$log"
	wait_until 10 ctl "$name" echo ready
}

# tincan_stop NAME: SIGTERM and a bounded wait; returns tincan's exit code
# (or 124 when it did not exit within 5 s).
tincan_stop()
{
	local pid=${TINCAN_PID[$1]}
	kill -TERM "$pid" 2>/dev/null || return 1
	pid_wait_gone 5 "$pid" || return 124
	wait "$pid"
}

tincan_uid() { ctl "$1" --json status | jq -er .uid; }
tincan_pubkey() { ctl "$1" --json status | jq -er .public_key; }

# link_field NAME OVERLAY PEER_UID FIELD: one field of a link from stats.
link_field()
{
	ctl "$1" --json stats "$2" |
		jq -er --arg p "$3" --arg f "$4" \
			'.links[] | select(.peer_uid == $p) | .[$f]'
}

# link_create NAME OVERLAY PEER [PUBKEY]: NAME creates a link to tincan PEER,
# pinned to PEER's real public key unless PUBKEY is given.
link_create()
{
	local name=$1 ov=$2 peer=$3 key=${4:-} uid
	uid=$(tincan_uid "$peer") || return 1
	[[ -n $key ]] || key=$(tincan_pubkey "$peer") || return 1
	ctl "$name" create-link "$ov" "$uid" "$key"
}

# link_exchange OVERLAY A B: hand each side's candidate blob to the other.
link_exchange()
{
	local ov=$1 a=$2 b=$3 ua ub ba bb
	ua=$(tincan_uid "$a") && ub=$(tincan_uid "$b") || return 1
	ba=$(ctl "$a" candidates "$ov" "$ub") || return 1
	bb=$(ctl "$b" candidates "$ov" "$ua") || return 1
	[[ -n $ba && -n $bb ]] || return 1
	ctl "$b" add-candidates "$ov" "$ua" "$ba" &&
		ctl "$a" add-candidates "$ov" "$ub" "$bb"
}

# peer_map NAME OVERLAY PEER [map-peer options]: map addresses to PEER's uid.
peer_map()
{
	local name=$1 ov=$2 peer=$3 uid
	shift 3
	uid=$(tincan_uid "$peer") || return 1
	ctl "$name" map-peer "$ov" "$uid" "$@"
}

# link_wait NAME OVERLAY PEER TIMEOUT_MS: until NAME's link to PEER is connected.
link_wait()
{
	local uid
	uid=$(tincan_uid "$3") || return 1
	ctl "$1" --timeout "$4" wait-link "$2" "$uid"
}

link_remove()
{
	local uid
	uid=$(tincan_uid "$3") || return 1
	ctl "$1" remove-link "$2" "$uid"
}

# ice_set NAME: STUN and TURN at this run's coturn.
ice_set()
{
	ctl "$1" set-ice --stun "$STUN_IP:$TURN_PORT" \
		--turn "$TURN_IP:$TURN_PORT,$TURN_USER,$TURN_PASS"
}

# ---- traffic ----------------------------------------------------------------

# ping_ok NS DST [COUNT]: at least one reply within about COUNT seconds.
ping_ok()
{
	nsx "$1" ping -n -q -c "${3:-1}" -W 1 -w "$((${3:-1} + 1))" "$2" >/dev/null
}

# ping_fails NS DST: three probes, no reply.
ping_fails()
{
	! nsx "$1" ping -n -q -c 3 -i 0.3 -W 1 -w 3 "$2" >/dev/null
}

# ping_rtt NS DST COUNT: prints "avg_ms received" for COUNT pings 0.1 s apart.
ping_rtt()
{
	local out recv avg
	out=$(nsx "$1" ping -n -q -c "$3" -i 0.1 -W 1 -w "$(($3 + 2))" "$2")
	recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
	avg=$(sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$out")
	echo "${avg:-none} ${recv:-0}"
}
