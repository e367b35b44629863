# shellcheck shell=bash disable=SC2034
# One run of a test script, demo or bench: its temp dir, its namespace
# prefix, the processes it started and the namespaces it created, and the
# single EXIT trap that undoes all of it.
#
# The cleanup stops exactly the PIDs this run recorded (SIGTERM, a bounded
# wait, then SIGKILL), then whatever still runs inside this run's own
# namespaces, deletes those namespaces and removes the temp dir.  It never
# signals a process by name and never touches the root namespace's network.
#
# Needs wait.sh.  Source it, then call run_init; register what you start with
# run_track_pid (ns.sh's ns_add registers namespaces itself).

RUN_PREFIX=""		# namespace prefix, unique per run (set by run_init)
RUN_TMP=""		# temp dir: configs, sockets, state, logs
RUN_PIDS=()		# processes this run started
RUN_NETNS=()		# namespaces this run created
RUN_KEEP=${RUN_KEEP:-0}	# 1: leave the temp dir for inspection
RUN_LOG=run_note	# how the cleanup reports (a function taking a line)

run_note() { printf '# %s\n' "$*"; }

# run_init TAG PREFIX: temp dir /tmp/ipop-TAG.XXXXXX, namespace prefix
# "PREFIX$$-" (unique per run), the traps.
run_init()
{
	RUN_PREFIX="$2$$-"
	RUN_TMP=$(mktemp -d "/tmp/ipop-$1.XXXXXX") || exit 1
	chmod 0711 "$RUN_TMP"
	trap run_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

run_track_pid() { RUN_PIDS+=("$1"); }

# pid_stop PID...: SIGTERM, a bounded wait (5 s), then SIGKILL (and 2 s
# more); reaps those that are our children.  Always returns 0.
pid_stop()
{
	local p
	(($#)) || return 0
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null
	done
	if ! pid_wait_gone 5 "$@"; then
		for p in "$@"; do
			kill -KILL "$p" 2>/dev/null
		done
		pid_wait_gone 2 "$@"
	fi
	for p in "$@"; do
		wait "$p" 2>/dev/null
	done
	return 0
}

# ns_kill_all NS: SIGKILL whatever still runs in namespace NS (full name).
ns_kill_all()
{
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
}

run_cleanup()
{
	local rc=$? p ns alive=()
	trap - EXIT INT TERM HUP
	for p in "${RUN_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && alive+=("$p")
	done
	pid_stop "${alive[@]}"
	for ns in "${RUN_NETNS[@]}"; do
		ns_kill_all "$ns"
	done
	for ns in "${RUN_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [[ -n $RUN_TMP && -d $RUN_TMP ]]; then
		if [[ $RUN_KEEP == 1 ]]; then
			"$RUN_LOG" "kept $RUN_TMP"
		else
			rm -rf "$RUN_TMP"
		fi
	fi
	exit "$rc"
}
