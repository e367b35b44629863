# shellcheck shell=bash
# XMPP helpers for the GroupVPN end-to-end test and demo, on top of lib.sh.
#
# This file owns what lib.sh does not: a private XMPP server in the "pub"
# namespace (plain c2s), either Prosody or ejabberd as IPOP_XMPP_SERVER says
# (xmpp_server_setup/start/stop; accounts by in-band registration and
# rosters by real subscription exchanges through xmpp-client.py; the older
# prosody_* helpers, with accounts and rosters written straight into
# Prosody's data directory, remain for the scenarios that want only a
# quick server), hosts sitting directly on the public network, member
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
# The server of xmpp_server_*: prosody (default) or ejabberd.
IPOP_XMPP_SERVER=${IPOP_XMPP_SERVER:-prosody}
XMPP_CLIENT=${XMPP_CLIENT:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/xmpp-client.py}
EJ_DIR=""		# ejabberd's private tree (set by ejabberd_setup)
EJ_OPTS=()		# ejabberdctl options of the last ejabberd_tree
EJ_PUB_OPTS=()		# those of EJ_DIR
EJ_DIST_PORT=4370	# Erlang distribution, on pub's loopback only
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
		modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "posix"; "register" }
		modules_disabled = { "s2s"; "offline" }
		allow_registration = true
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

# ---- ejabberd ----------------------------------------------------------------

# ejabberd_tree DIR COMMENT: a private ejabberd tree at DIR (config, spool,
# logs; world-traversable, as ejabberdctl switches to user ejabberd) and its
# ejabberdctl.cfg: Erlang distribution on the namespace's loopback with a
# fresh cookie.  Sets EJ_OPTS to the options that point ejabberdctl at it.
ejabberd_tree()
{
	local d=$1 cookie
	mkdir -p "$d/etc" "$d/spool" "$d/log" || return 1
	chmod 0755 "$d" "$d/etc"
	chown ejabberd: "$d/spool" "$d/log" || return 1
	cookie=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
	cat >"$d/etc/ejabberdctl.cfg" <<-EOF
		# $2
		ERLANG_NODE=ejabberd@localhost
		INET_DIST_INTERFACE=127.0.0.1
		ERL_DIST_PORT=$EJ_DIST_PORT
		ERL_OPTIONS="-setcookie $cookie"
		EJABBERD_PID_PATH=$d/spool/ejabberd.pid
	EOF
	EJ_OPTS=(--config-dir "$d/etc" --config "$d/etc/ejabberd.yml"
		--ctl-config "$d/etc/ejabberdctl.cfg" --spool "$d/spool"
		--logs "$d/log")
}

# ejabberd_yml_accounts [SHAPER...]: the part of ejabberd.yml after
# "listen" that every test server shares: internal plain-text accounts,
# in-band registration without throttle, no shapers (besides c2s_shaper,
# each SHAPER named, for example s2s_shaper), roster without versioning.
ejabberd_yml_accounts()
{
	local shaper
	cat <<-EOF
		auth_method: internal
		auth_password_format: plain
		registration_timeout: infinity
		acl:
		  local:
		    user_regexp: ""
		access_rules:
		  c2s:
		    allow: all
		  register:
		    allow: all
		shaper_rules:
		  max_user_sessions: 10
		  c2s_shaper: none
	EOF
	for shaper in "$@"; do
		printf '  %s: none\n' "$shaper"
	done
	cat <<-EOF
		modules:
		  mod_admin_extra: {}
		  mod_disco: {}
		  mod_ping: {}
		  mod_roster:
		    versioning: false
		  mod_register:
		    access: register
		    ip_access: all
		    welcome_message: {}
	EOF
}

# ejabberd_tree_done DIR: Erlang's resolver reads the hosts file, then DNS
# (as Debian's default); the files readable by user ejabberd; the log
# tracked.
ejabberd_tree_done()
{
	local d=$1
	printf '{lookup,["file","native"]}.\n{host,{127,0,0,1}, ["localhost"]}.\n' \
		>"$d/etc/inetrc"
	chmod 0644 "$d/etc/ejabberd.yml" "$d/etc/ejabberdctl.cfg" "$d/etc/inetrc"
	e2e_track_log "$d/log/ejabberd.log"
}

# ejabberd_setup: the private ejabberd tree of this run under the temp dir,
# plain c2s on XMPP_IP; adds XMPP_IP to pub (call after pub_add).
ejabberd_setup()
{
	local d=$E2E_TMP/ejabberd
	EJ_DIR=$d
	ejabberd_tree "$d" "Private ejabberd for one ipop-c end-to-end run." ||
		return 1
	EJ_PUB_OPTS=("${EJ_OPTS[@]}")
	ip -n "$(ns_name pub)" addr add "$XMPP_IP/32" dev lo || return 1
	{
		cat <<-EOF
			# Private ejabberd for one ipop-c end-to-end run (plain c2s: tests only).
			hosts:
			  - $XMPP_DOMAIN
			loglevel: info
			log_rotate_count: 0
			listen:
			  -
			    port: $XMPP_PORT
			    ip: "$XMPP_IP"
			    module: ejabberd_c2s
			    max_stanza_size: 262144
			    shaper: none
			    access: c2s
			    starttls_required: false
		EOF
		ejabberd_yml_accounts
	} >"$d/etc/ejabberd.yml"
	ejabberd_tree_done "$d"
}

# ejabberdctl_run ARGS...: ejabberdctl against the private node (from pub).
ejabberdctl_run()
{
	nsx pub timeout 20 ejabberdctl "${EJ_PUB_OPTS[@]}" "$@"
}

# ejabberd_start: ejabberd in the foreground in pub (tracked); waits until
# c2s listens.
ejabberd_start()
{
	nsbg pub "$E2E_TMP/ejabberd.out" ejabberdctl "${EJ_PUB_OPTS[@]}" foreground
	EJ_PID=$NSBG_PID
	wait_until 20 ns_listens pub tcp "$XMPP_IP:$XMPP_PORT"
}

xmpp_not_listening() { ! ns_listens pub tcp "$XMPP_IP:$XMPP_PORT"; }

# ejabberd_stop: `ejabberdctl stop`, then a bounded wait for the node.
ejabberd_stop()
{
	[[ -n ${EJ_PID:-} ]] || return 1
	ejabberdctl_run stop >/dev/null 2>&1 || kill -TERM "$EJ_PID" 2>/dev/null
	if ! pid_wait_gone 15 "$EJ_PID"; then
		ns_kill_all "$(ns_name pub)"	# the beam ignores the wrapper's TERM
		return 1
	fi
	wait "$EJ_PID" 2>/dev/null
	wait_until 10 xmpp_not_listening
	EJ_PID=""
}

# ---- either server ------------------------------------------------------------

xmpp_server_setup()
{
	case $IPOP_XMPP_SERVER in
	prosody) prosody_setup ;;
	ejabberd) ejabberd_setup ;;
	*) echo "IPOP_XMPP_SERVER must be prosody or ejabberd" >&2; return 1 ;;
	esac
}
xmpp_server_start() { "${IPOP_XMPP_SERVER}_start"; }
xmpp_server_stop() { "${IPOP_XMPP_SERVER}_stop"; }

# xmpp_server_name: "Prosody" or "ejabberd", for test descriptions.
xmpp_server_name()
{
	[[ $IPOP_XMPP_SERVER == ejabberd ]] && echo ejabberd || echo Prosody
}

# xmpp_server_tool: the server's own program (for e2e_require_tools).
xmpp_server_tool()
{
	[[ $IPOP_XMPP_SERVER == ejabberd ]] && echo ejabberdctl || echo prosody
}

# xmpp_client NS CMD ARGS...: the test client (xmpp-client.py) from
# namespace NS, bounded.
xmpp_client()
{
	local ns=$1
	shift
	nsx "$ns" timeout 60 python3 "$XMPP_CLIENT" --server "$XMPP_IP" \
		--port "$XMPP_PORT" --domain "$XMPP_DOMAIN" "$@"
}

# xmpp_admin_register USER PASS: an account made with the server's own
# administration command, as docs/servers.md shows it (prosodyctl
# register, ejabberdctl register).
xmpp_admin_register()
{
	if [[ $IPOP_XMPP_SERVER == ejabberd ]]; then
		ejabberdctl_run register "$1" "$XMPP_DOMAIN" "$2" >/dev/null
	else
		nsx pub timeout 20 prosodyctl --config "$E2E_TMP/prosody/prosody.cfg.lua" \
			register "$1" "$XMPP_DOMAIN" "$2" >/dev/null
	fi
}

# xmpp_register NS USER:PASS...: in-band registration from NS.
xmpp_register() { xmpp_client "$1" register "${@:2}" >/dev/null; }

# xmpp_stored_roster USER: USER's roster as the server stored it, one
# "contact subscription" line each (bare user names): Prosody's data file,
# or `ejabberdctl get_roster`.
xmpp_stored_roster()
{
	if [[ $IPOP_XMPP_SERVER == ejabberd ]]; then
		ejabberdctl_run get_roster "$1" "$XMPP_DOMAIN" |
			awk -F '\t' -v d="@$XMPP_DOMAIN" \
				'index($1, d) { print substr($1, 1, index($1, d) - 1), $3 }'
		return
	fi
	local f=$XMPP_DATA/roster/$1.dat
	[[ -r $f ]] || return 0
	tr -d ' \t\n' <"$f" |
		grep -oP '\["[^"]+@\Q'"$XMPP_DOMAIN"'\E"\]=\{(?:[^{}]|\{[^{}]*\})*\}' |
		sed -nE 's/^\["([^@"]+)@[^"]*"\].*\["subscription"\]="([a-z]+)".*/\1 \2/p'
}

# xmpp_stored_sub USER CONTACT: CONTACT's subscription in USER's stored
# roster ("absent" when there is no entry).
xmpp_stored_sub()
{
	xmpp_stored_roster "$1" | awk -v c="$2" '$1 == c { print $2; f = 1 }
		END { if (!f) print "absent" }'
}

# xmpp_forge_both USER CONTACT...: make USER's own roster say `both` for
# each CONTACT behind the contacts' backs, with the server's admin
# facility (Prosody's roster file, ejabberdctl add_rosteritem).  XMPP
# itself cannot produce this; it stands for a client that ignores the
# subscription rules.  Call while USER is offline.
xmpp_forge_both()
{
	local user=$1 c
	shift
	if [[ $IPOP_XMPP_SERVER == ejabberd ]]; then
		for c in "$@"; do
			ejabberdctl_run add_rosteritem "$user" "$XMPP_DOMAIN" \
				"$c" "$XMPP_DOMAIN" "$c" "" both >/dev/null || return 1
		done
		return 0
	fi
	local e=()
	for c in "$@"; do e+=("$c=both"); done
	xmpp_roster "$user" "${e[@]}"
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
	# It holds a TURN password: 0600, as ipop-controller.yaml(5) asks.
	chmod 0600 "$d/controller.yaml"
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
