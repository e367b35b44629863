# shellcheck shell=bash disable=SC2034
# Where this tree's programs are and how a script drives an ipop-tincan: its
# socket and log in the run's temp dir, ipopctl against it, starting it in a
# namespace.  Shared by the end-to-end tests, the demos and the bench.
#
# Needs wait.sh, proc.sh and ns.sh.  BUILD (default build, relative to the
# tree), TINCAN and IPOPCTL may be set by the caller.

IPOP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case ${BUILD:-build} in
/*) IPOP_BUILD=${BUILD} ;;
*) IPOP_BUILD=$IPOP_ROOT/${BUILD:-build} ;;
esac
TINCAN=${TINCAN:-$IPOP_BUILD/ipop-tincan}
IPOPCTL=${IPOPCTL:-$IPOP_BUILD/ipopctl}
declare -A TINCAN_PID=()
TINCAN_EXTRA=()	# more options for every tincan_spawn (e.g. --cipher NAME)

tincan_sock() { echo "$RUN_TMP/$1.sock"; }
tincan_log() { echo "$RUN_TMP/$1.log"; }

# ctl NAME ARGS...: ipopctl against tincan NAME (runs in the root namespace:
# the Unix socket works across namespaces).  Bounded by timeout(1) too.
ctl()
{
	local name=$1
	shift
	timeout 60 "$IPOPCTL" --socket "$(tincan_sock "$name")" "$@"
}

# tincan_spawn NAME NS: start ipop-tincan NAME in namespace NS, in the
# foreground in the background, logging at TINCAN_LOG_LEVEL (default
# debug); not waited for.  Sets TINCAN_PID[NAME].
tincan_spawn()
{
	local name=$1 ns=$2
	ip netns exec "$(ns_name "$ns")" "$TINCAN" --socket "$(tincan_sock "$name")" \
		--state-dir "$RUN_TMP/$name.state" \
		--log-level "${TINCAN_LOG_LEVEL:-debug}" \
		--foreground "${TINCAN_EXTRA[@]}" >>"$(tincan_log "$name")" 2>&1 &
	TINCAN_PID[$name]=$!
	run_track_pid $!
}

# tincan_answers NAME: bounded wait (10 s) until tincan NAME answers echo.
tincan_answers() { wait_until 10 ctl "$1" echo ready; }
