# shellcheck shell=bash disable=SC2034
# Shared helpers for the end-to-end scripts in test/e2e and for tools/demo.
#
# The run itself (temp dir, namespace prefix, tracked PIDs, the one EXIT
# trap), namespaces, veths, NAT routers, bounded waits (in seconds), pings
# and starting a tincan come from test/lib/ (sourced here).  This file owns
# the rest a scenario needs besides its own assertions: the root check
# (exit 77 = skip), the standard topology with its public router, a private
# coturn, ipopctl wrappers, and TAP-style ok/not ok reporting with the logs
# shown on failure.  Nothing here touches the root namespace's addresses,
# routes or firewall.
#
# Source it, then call e2e_init.  It sets no shell options of its own.

# shellcheck source=test/lib/wait.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/wait.sh"
# shellcheck source=test/lib/proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/proc.sh"
# shellcheck source=test/lib/ns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ns.sh"
# shellcheck source=test/lib/ping.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/ping.sh"
# shellcheck source=test/lib/tincan.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/tincan.sh"

E2E_TMP=""		# this run's RUN_TMP (set by e2e_init)
E2E_PREFIX=""		# this run's RUN_PREFIX (set by e2e_init)
E2E_LOGS=()		# logs whose tail is shown on failure
E2E_ERR=""		# stderr of the last failed run_step
declare -A E2E_LOG_MARK=()	# log -> lines already shown
TAP_N=0
TAP_FAILED=0
RUN_KEEP=${E2E_KEEP:-0}	# E2E_KEEP=1 keeps the temp dir

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
	run_init e2e ipt
	E2E_TMP=$RUN_TMP
	E2E_PREFIX=$RUN_PREFIX
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

e2e_track_log() { E2E_LOGS+=("$1"); }

# ---- demos (tools/demo, tools/demo-gvpn) -----------------------------------

demo_say() { printf '\n==> %s\n' "$*"; }

# demo_step DESC CMD...: run a step; on failure show why and stop (the trap
# cleans up).
demo_step()
{
	local desc=$1
	shift
	if ! run_step "$@"; then
		echo "demo: FAILED: $desc" >&2
		# shellcheck disable=SC2001
		sed 's/^/    /' <<<"$E2E_ERR" >&2
		e2e_dump_logs >&2
		exit 1
	fi
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
	run_track_pid $!
	e2e_track_log "$E2E_TMP/turnserver.log"
	wait_until 10 turn_listening
}

# turn_listening: coturn's UDP sockets on both addresses are bound.
turn_listening()
{
	ns_listens pub udp "$TURN_IP:$TURN_PORT" &&
		ns_listens pub udp "$STUN_IP:$TURN_PORT"
}

# stun_mapped HOST: the reflexive address coturn sees for HOST (ip only).
# turnutils_stunclient never retransmits nor gives up: bound it.
stun_mapped()
{
	nsx "$1" timeout 2 turnutils_stunclient -p "$TURN_PORT" "$STUN_IP" 2>&1 |
		sed -n 's/.*UDP reflexive addr: *\([0-9.]*\):[0-9]*.*/\1/p' | head -n 1
}

# ---- ipop-tincan and ipopctl ------------------------------------------------

# tincan_start NAME NS: start ipop-tincan NAME in namespace NS (debug log,
# shown on failure); wait until it answers.
tincan_start()
{
	tincan_spawn "$1" "$2"
	e2e_track_log "$(tincan_log "$1")"
	tincan_answers "$1"
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

# link_wait NAME OVERLAY PEER TIMEOUT_S: until NAME's link to PEER is
# connected (ipopctl's --timeout is in milliseconds).
link_wait()
{
	local uid ms
	ms=$(ms_of "$4") || return 1
	uid=$(tincan_uid "$3") || return 1
	ctl "$1" --timeout "$ms" wait-link "$2" "$uid"
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
