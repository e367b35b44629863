# shellcheck shell=bash
# Fault-injection helpers for test/e2e/faults.sh, on top of lib.sh and
# lib-xmpp.sh.
#
# This file owns what those two do not: background ping "flows" whose
# replies carry wall-clock timestamps (ping -D), so a scenario can say when
# traffic stopped and when it came back relative to an event it caused;
# loss accounting from ping's own summary; snapshots of one link's fields
# from `ipopctl --json status`; and waiting for a controller's log to show a
# fresh adoption or login.  Every process is tracked through lib.sh, so its
# EXIT trap stops exactly what was started here.
#
# Source lib.sh, lib-xmpp.sh, then this file, then call e2e_init.

declare -A FLOW_PID=()

flow_log() { echo "$E2E_TMP/flow.$1"; }

# flow_start NAME SRC DST INTERVAL_S: ping DST from namespace SRC every
# INTERVAL_S in the background until flow_stop, every reply timestamped.
# Intervals below 0.2 s need root (the tests run as root).
flow_start()
{
	local log
	log=$(flow_log "$1")
	: >"$log"
	nsbg "$2" "$log" ping -n -D -i "$4" -w 280 "$3"
	FLOW_PID[$1]=$NSBG_PID
}

# flow_stop NAME: SIGINT (ping then prints its summary), bounded wait.
flow_stop()
{
	local pid=${FLOW_PID[$1]:-}
	[[ -n $pid ]] || return 1
	kill -INT "$pid" 2>/dev/null
	pid_wait_gone 5 "$pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	FLOW_PID[$1]=""
	return 0
}

# flow_stats NAME: "SENT RECEIVED" from ping's summary (after flow_stop).
# SIGINT ends ping at once: a request sent in the last moment, whose
# reply was still on its way, counts as sent but not received.  So when
# the very last request (icmp_seq == SENT) has no reply, it is not counted.
flow_stats()
{
	local line tx rx last
	line=$(grep -E 'packets transmitted' "$(flow_log "$1")")
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$line")
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$line")
	[[ -n $tx && -n $rx ]] || return 1
	last=$(flow_replies "$1" | awk -v s="$tx" '$2 == s { print "y"; exit }')
	((tx > 0)) && [[ -z $last ]] && tx=$((tx - 1))
	echo "$tx $rx"
}

# flow_replies NAME: "MS SEQ" per reply (MS: unix ms when it arrived).
flow_replies()
{
	awk '/bytes from/ && /^\[/ {
		t = $1; gsub(/[][]/, "", t); split(t, p, ".");
		s = ""; for (i = 2; i <= NF; i++) if ($i ~ /^icmp_seq=/) s = substr($i, 10);
		printf "%s%s %s\n", p[1], substr(p[2] "000", 1, 3), s
	}' "$(flow_log "$1")"
}

# flow_count_since NAME T0_MS: replies that arrived at or after T0_MS.
flow_count_since()
{
	flow_replies "$1" | awk -v t0="$2" '$1 >= t0 { n++ } END { print n + 0 }'
}

flow_has_since() { (($(flow_count_since "$1" "$2") >= ${3:-1})); }

# flow_settled NAME T0_MS GAP_MS RUN_MS: traffic is back after an event at
# T0_MS.  Looks at the replies since T0_MS (T0_MS itself counting as the
# last one before them): the recovery point is the first reply after the
# last silence longer than GAP_MS.  Succeeds, printing recovery point - T0
# in ms, when replies have kept coming for at least RUN_MS since it.
flow_settled()
{
	flow_replies "$1" | awk -v t0="$2" -v gap="$3" -v run="$4" '
		$1 < t0 { next }
		{ if ($1 - last > gap || start == "") start = $1; last = $1 }
		BEGIN { last = t0; start = "" }
		END {
			if (start == "" || last - start < run) exit 1
			print start - t0
		}'
}

# flow_holes NAME T0_MS: the unanswered icmp_seq ranges of a stopped flow,
# each with when the last reply before it arrived, relative to T0_MS
# ("seq 120-135 (16) after +1520 ms"); at most 20 lines.
flow_holes()
{
	local tx
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$(flow_log "$1")")
	flow_replies "$1" | sort -n -k2 | awk -v t0="$2" -v tx="${tx:-0}" '
		function hole(from, to) {
			printf "seq %d-%d (%d) after %+d ms\n", from, to,
				to - from + 1, pt - t0
		}
		BEGIN { prev = 0; pt = t0 }
		$2 > prev + 1 { hole(prev + 1, $2 - 1) }
		{ prev = $2; pt = $1 }
		END { if (tx > prev) hole(prev + 1, tx) }' | head -n 20
}

# flow_max_gap NAME FROM_MS: the longest silence between replies since FROM_MS.
flow_max_gap()
{
	flow_replies "$1" | awk -v t0="$2" '
		$1 < t0 { next }
		{ if (n++ && $1 - last > m) m = $1 - last; last = $1 }
		END { print m + 0 }'
}

# ---- link and controller state ----------------------------------------------

# link_snap NAME PEER_UID: one line "peer_uid state local remote handshake
# tx_packets rx_packets" for NAME's link to PEER_UID, from status.
link_snap()
{
	ctl "$1" --json status | jq -er --arg p "$2" '
		[.overlays[]?.links[]? | select(.peer_uid == $p)] | first |
		"\(.peer_uid) \(.state) \(.pair.local // "-" | gsub(" "; "/"))" +
		" \(.pair.remote // "-" | gsub(" "; "/")) \(.last_handshake_ms)" +
		" \(.tx_packets) \(.rx_packets)"'
}

# snap_field SNAP N: field N (1-based) of a link_snap line.
snap_field()
{
	local -a f
	read -r -a f <<<"$1"
	echo "${f[$(($2 - 1))]:-}"
}

# mapping_ipv4 NAME PEER_UID: the IPv4 address NAME maps to PEER_UID.
mapping_ipv4()
{
	ctl "$1" --json status | jq -er --arg p "$2" '
		[.overlays[]?.mappings[]? | select(.peer_uid == $p) | .ipv4] |
		first'
}

# ctl_counts NAME: "ADOPTED ONLINE CONNECTED" lines so far in NAME's
# controller log (adoption of tincan's overlay, XMPP login, Hello to tincan).
ctl_counts()
{
	local log
	log=$(ctl_log "$1")
	echo "$(log_count "$log" "adopted overlay with")" \
		"$(log_count "$log" "XMPP online as")" \
		"$(log_count "$log" "tincan: connected as CONTROLLER")"
}

# ctl_fresh NAME BASE WHICH...: NAME's controller log gained, relative to
# BASE (a ctl_counts line), lines of each WHICH (adopted, online, tincan).
ctl_fresh()
{
	local name=$1 w i
	local -a base now
	read -r -a base <<<"$2"
	read -r -a now <<<"$(ctl_counts "$name")"
	shift 2
	for w in "$@"; do
		case $w in
		adopted) i=0 ;;
		online) i=1 ;;
		tincan) i=2 ;;
		*) return 2 ;;
		esac
		((${now[$i]} > ${base[$i]})) || return 1
	done
}

# ctl_restart NAME NS TIMEOUT_S: SIGTERM NAME's controller, start it again,
# wait until the new one adopted tincan's overlay and is online in XMPP.
# Sets RESTART_MS to the time from SIGTERM to online (not run it in $(...):
# the new controller's pid must be recorded in this shell).
RESTART_MS=""
# shellcheck disable=SC2034 # RESTART_MS is read by the caller
ctl_restart()
{
	local name=$1 ns=$2 base t0 rc
	RESTART_MS=""
	base=$(ctl_counts "$name")
	t0=$(now_ms)
	controller_stop "$name"
	rc=$?
	if ((rc != 0)); then
		E2E_ERR="controller $name: SIGTERM -> exit $rc"
		return 1
	fi
	controller_start "$name" "$ns"
	if ! wait_until "$3" ctl_fresh "$name" "$base" adopted online; then
		E2E_ERR="controller $name: no adoption and login within $3 s"$'\n'
		E2E_ERR+=$(grep -v 'control: client' "$(ctl_log "$name")" | tail -n 6)
		return 1
	fi
	RESTART_MS=$(($(now_ms) - t0))
}

# grep_since FILE LINE0 PATTERN: lines after line LINE0 of FILE matching
# PATTERN (extended regexp), at most 10.
grep_since()
{
	tail -n +"$(($2 + 1))" "$1" 2>/dev/null | grep -E -- "$3" | head -n 10
}

lines_of() { wc -l <"$1" 2>/dev/null || echo 0; }
