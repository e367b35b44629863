# shellcheck shell=bash
# XMPP helpers for the GroupVPN end-to-end test and demo, on top of lib.sh.
#
# This file owns what lib.sh does not: a private Prosody server in the
# "pub" namespace (plain c2s, accounts and rosters written straight into its
# data directory), hosts sitting directly on the public network, member
# configurations for ipop-controller, and starting and stopping a member
# (its ipop-tincan plus its controller).  Every process is tracked through
# lib.sh, so its EXIT trap stops exactly what was started here.
#
# Source lib.sh first, then this file, then call e2e_init.

CONTROLLER=${CONTROLLER:-$IPOP_BUILD/ipop-controller}

XMPP_IP=100.64.0.3	# Prosody's c2s address, on pub's loopback
XMPP_PORT=5222
XMPP_DOMAIN=ipop.test
XMPP_DATA=""		# Prosody's data directory (set by prosody_setup)
PROSODY_PID=""
declare -A CTL_PID=()

# e2e_dump_logs (replaces lib.sh's): the tail of every tracked log without
# the lines that drown the interesting ones (ipopctl connecting to tincan,
# coturn's per-packet notes).
e2e_dump_logs()
{
	local f
	declare -A seen=()
	for f in "${E2E_LOGS[@]}"; do
		[[ -s $f && -z ${seen[$f]:-} ]] || continue
		seen[$f]=1
		echo "# --- last lines of $(basename "$f") ---"
		grep -vE 'control: client|incoming packet|lifetime updated|Local relay addr|: new, realm' "$f" |
			tail -n "${E2E_TAIL:-15}" | sed 's/^/#   /'
	done
}

# ---- Prosody ----------------------------------------------------------------

# prosody_setup: config and empty data directory under the temp dir; adds
# XMPP_IP to pub (call after pub_add).
prosody_setup()
{
	local d=$E2E_TMP/prosody
	mkdir -p "$d/data" "$d/certs" || return 1
	chmod 0700 "$d/data"
	XMPP_DATA=$d/data/${XMPP_DOMAIN//./%2e}
	mkdir -p "$XMPP_DATA/accounts" "$XMPP_DATA/roster" || return 1
	ip -n "$(ns_name pub)" addr add "$XMPP_IP/32" dev lo || return 1
	cat >"$d/prosody.cfg.lua" <<-EOF
		-- Private Prosody for one ipop-c end-to-end run (plain c2s: tests only).
		run_as_root = true
		daemonize = false
		pidfile = "$d/prosody.pid"
		data_path = "$d/data"
		certificates = "$d/certs"
		admin_socket = "$d/admin.sock"
		interfaces = { "$XMPP_IP" }
		c2s_ports = { $XMPP_PORT }
		s2s_ports = { }
		c2s_direct_tls_ports = { }
		http_ports = { }
		https_ports = { }
		log = { info = "$E2E_TMP/prosody.log" }
		modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "posix" }
		modules_disabled = { "s2s"; "offline" }
		authentication = "internal_plain"
		storage = "internal"
		c2s_require_encryption = false
		allow_unencrypted_plain_auth = true
		VirtualHost "$XMPP_DOMAIN"
	EOF
	e2e_track_log "$E2E_TMP/prosody.log"
}

# prosody_start: run Prosody in the foreground in pub; wait until it listens.
prosody_start()
{
	nsbg pub "$E2E_TMP/prosody.out" \
		prosody -F --config "$E2E_TMP/prosody/prosody.cfg.lua"
	PROSODY_PID=$NSBG_PID
	wait_until 10 ns_listens pub tcp "$XMPP_IP:$XMPP_PORT"
}

# prosody_stop: SIGTERM and a bounded wait.
prosody_stop()
{
	[[ -n $PROSODY_PID ]] || return 1
	kill -TERM "$PROSODY_PID" 2>/dev/null || return 1
	pid_wait_gone 5 "$PROSODY_PID" || return 1
	wait "$PROSODY_PID" 2>/dev/null
	PROSODY_PID=""
	return 0
}

# xmpp_account USER PASS: an account, written straight into the data dir.
xmpp_account()
{
	printf 'return {\n\t["password"] = "%s";\n};\n' "$2" \
		>"$XMPP_DATA/accounts/$1.dat"
}

# xmpp_roster USER PEER=SUB...: USER's whole roster (SUB: both, to, from).
# Prosody then routes presence as if the subscriptions had been exchanged.
xmpp_roster()
{
	local user=$1 e
	shift
	{
		printf 'return {\n'
		printf '\t[false] = { ["version"] = 1; ["pending"] = {}; };\n'
		for e in "$@"; do
			printf '\t["%s@%s"] = { ["subscription"] = "%s"; ["groups"] = {}; };\n' \
				"${e%%=*}" "$XMPP_DOMAIN" "${e#*=}"
		done
		printf '};\n'
	} >"$XMPP_DATA/roster/$user.dat"
}

# xmpp_login_ok NS USER PASS: from namespace NS, open a c2s stream, log in
# with SASL PLAIN and bind a resource.  Proves Prosody is reachable from NS
# and accepts the account, without needing the controller.
xmpp_login_ok()
{
	local auth
	auth=$(printf '\0%s\0%s' "$2" "$3" | base64 -w0)
	# shellcheck disable=SC2016
	nsx "$1" timeout 5 bash -c '
		exec 3<>"/dev/tcp/$0/$1" || exit 1
		hdr="<?xml version=\"1.0\"?><stream:stream to=\"$2\" xmlns=\"jabber:client\" xmlns:stream=\"http://etherx.jabber.org/streams\" version=\"1.0\">"
		# upto TEXT: read the stream until TEXT, print what was read
		upto() {
			local buf="" c
			while IFS= read -r -d "" -n 1 c <&3; do
				buf+=$c
				[[ $buf == *"$1"* ]] && { printf "%s" "$buf"; return 0; }
			done
			return 1
		}
		printf "%s" "$hdr" >&3
		upto "</stream:features>" | grep -q PLAIN || exit 2
		printf "<auth xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\" mechanism=\"PLAIN\">%s</auth>" "$3" >&3
		upto ">" | grep -q "<success" || exit 3
		printf "%s" "$hdr" >&3
		upto "</stream:features>" | grep -q bind || exit 4
		printf "<iq type=\"set\" id=\"b1\"><bind xmlns=\"urn:ietf:params:xml:ns:xmpp-bind\"><resource>probe</resource></bind></iq>" >&3
		upto "</iq>" | grep -q "<jid>" || exit 5
		printf "</stream:stream>" >&3
	' "$XMPP_IP" "$XMPP_PORT" "$XMPP_DOMAIN" "$auth"
}

# ---- hosts on the public network --------------------------------------------

# pubhost_add HOST IDX: HOST at 100.64.IDX.2/24, routed by pub (100.64.IDX.1),
# no NAT in between.
pubhost_add()
{
	local host=$1 idx=$2
	ns_add "$host" || return 1
	veth_add pub "wan$idx" "$host" eth0 || return 1
	ip -n "$(ns_name pub)" addr add "100.64.$idx.1/24" dev "wan$idx" &&
		ip -n "$(ns_name "$host")" addr add "100.64.$idx.2/24" dev eth0 &&
		ip -n "$(ns_name "$host")" route add default via "100.64.$idx.1"
}

# ---- members: ipop-tincan + ipop-controller ---------------------------------

# controller_snapshot: run a copy of ipop-controller (lib.sh's e2e_init does
# the same for ipop-tincan and ipopctl), so a rebuild during the run cannot
# swap it.
controller_snapshot()
{
	mkdir -p "$E2E_TMP/bin" && cp "$CONTROLLER" "$E2E_TMP/bin/" || return 1
	CONTROLLER=$E2E_TMP/bin/$(basename "$CONTROLLER")
}

ctl_dir() { echo "$E2E_TMP/$1.ctl"; }
ctl_log() { echo "$E2E_TMP/$1.ctl.log"; }

# config_common NAME USER PASS [SECRET_TEXT]: start $(ctl_dir NAME)/controller.yaml
# for NAME (its tincan is NAME too) logging in as USER: the password file
# (and, with SECRET_TEXT, a group-secret file), tincan, state dir, XMPP and
# ICE settings of this run, up to "overlays:".  Callers append the overlay.
config_common()
{
	local name=$1 user=$2 pass=$3 secret=${4:-} d
	d=$(ctl_dir "$name")
	mkdir -p "$d" && chmod 0700 "$d" || return 1
	printf '%s\n' "$pass" >"$d/xmpp-password" && chmod 0600 "$d/xmpp-password"
	if [[ -n $secret ]]; then
		printf '%s' "$secret" >"$d/group-secret" &&
			chmod 0600 "$d/group-secret"
	fi
	cat >"$d/controller.yaml" <<-EOF
		# ipop-controller configuration of $name, generated for one test or demo run
		tincan:
		  socket: $(tincan_sock "$name")
		state_dir: $d/state
		xmpp:
		  jid: $user@$XMPP_DOMAIN
		  password_file: xmpp-password
		  server: $XMPP_IP
		  port: $XMPP_PORT
		  tls: off
		ice:
		  stun:
		    - $STUN_IP:$TURN_PORT
		  turn:
		    - server: $TURN_IP:$TURN_PORT
		      user: $TURN_USER
		      password: $TURN_PASS
		overlays:
	EOF
}

# member_config NAME USER PASS VIP GROUP [SECRET_TEXT]: configuration of
# member NAME (its tincan is NAME too) in $(ctl_dir NAME)/controller.yaml.
# With SECRET_TEXT the overlay gets a secret_file holding it.
member_config()
{
	local name=$1 user=$2 pass=$3 vip=$4 group=$5 secret=${6:-} d
	config_common "$name" "$user" "$pass" "$secret" || return 1
	d=$(ctl_dir "$name")
	cat >>"$d/controller.yaml" <<-EOF
		  - name: gvpn
		    type: gvpn
		    tap: ipop0
		    address: $vip/24
		    group: $group
	EOF
	[[ -z $secret ]] || echo "    secret_file: group-secret" >>"$d/controller.yaml"
}

# controller_start NAME NS: ipop-controller for member NAME in namespace NS.
controller_start()
{
	local name=$1 ns=$2 log
	log=$(ctl_log "$name")
	nsbg "$ns" "$log" "$CONTROLLER" \
		--config "$(ctl_dir "$name")/controller.yaml" --log-level debug
	CTL_PID[$name]=$NSBG_PID
	e2e_track_log "$log"
}

# controller_stop NAME: SIGTERM, bounded wait; the controller's exit code
# (124 when it did not exit within 5 s).
controller_stop()
{
	local pid=${CTL_PID[$1]:-}
	[[ -n $pid ]] || return 1
	kill -TERM "$pid" 2>/dev/null || return 1
	pid_wait_gone 5 "$pid" || return 124
	wait "$pid"
}

# member_start NAME NS: its tincan (waits until it answers), then its controller.
member_start()
{
	tincan_start "$1" "$2" && controller_start "$1" "$2"
}

# member_stop NAME: clean stop, controller first, then tincan.
member_stop()
{
	controller_stop "$1" && tincan_stop "$1"
}

# ---- overlay state ----------------------------------------------------------

# links_of NAME: "peer_uid state" lines of NAME's links in every overlay.
links_of()
{
	ctl "$1" --json status |
		jq -r '.overlays[]?.links[]? | "\(.peer_uid) \(.state)"'
}

# connected_count NAME: number of NAME's connected links.
connected_count()
{
	links_of "$1" | grep -c ' connected$'
}

# has_link NAME UID: NAME holds a link (any state) to UID.
has_link()
{
	links_of "$1" | grep -q "^$2 "
}

# gone_from NAME OTHER...: none of the OTHERs (NAME itself skipped) holds
# a link to NAME's uid (UID_OF).
gone_from()
{
	local name=$1 x
	shift
	for x in "$@"; do
		[[ $x == "$name" ]] && continue
		has_link "$x" "${UID_OF[$name]}" && return 1
	done
	return 0
}

# link_connected NAME UID: NAME's link to UID is connected.
link_connected()
{
	links_of "$1" | grep -qx "$2 connected"
}

# log_count FILE PATTERN: lines of FILE matching PATTERN (fixed string).
log_count()
{
	grep -cF -- "$2" "$1" 2>/dev/null || true
}
