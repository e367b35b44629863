# shellcheck shell=bash
# Bounded waits for the test scripts, the demos and the bench.
#
# One time unit everywhere: every timeout and interval a helper of test/lib
# takes is in SECONDS, and may carry up to three decimals ("10", "0.5",
# "2.25").  Times that are measured and printed (now_ms, ping_until's
# output) are integer milliseconds.  Nothing here waits without a bound.
#
# WAIT_STEP is wait_until's polling interval (seconds, default 0.1); the
# bench sets it lower, because it times what it waits for.

WAIT_STEP=${WAIT_STEP:-0.1}

# now_us / now_ms: wall clock in microseconds / milliseconds.
now_us()
{
	local t=${EPOCHREALTIME/./}
	echo $((10#$t))
}

now_ms() { echo $(($(now_us) / 1000)); }

# ms_of SECS: SECS (an integer or up to three decimals) in milliseconds.
ms_of()
{
	local frac
	if ! [[ $1 =~ ^([0-9]+)(\.([0-9]{1,3}))?$ ]]; then
		echo "ms_of: '$1' is not a number of seconds" >&2
		return 1
	fi
	frac=${BASH_REMATCH[3]}000
	echo $((10#${BASH_REMATCH[1]} * 1000 + 10#${frac:0:3}))
}

# deadline_in SECS: the now_ms value SECS seconds from now.
deadline_in()
{
	local ms
	ms=$(ms_of "$1") || return 1
	echo $(($(now_ms) + ms))
}

# wait_until TIMEOUT_S CMD...: run CMD every WAIT_STEP seconds until it
# succeeds (0) or TIMEOUT_S seconds have passed (1).  CMD's output is
# discarded.
wait_until()
{
	local deadline
	deadline=$(deadline_in "$1") || return 1
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		(($(now_ms) >= deadline)) && return 1
		sleep "$WAIT_STEP"
	done
}

# pid_wait_gone TIMEOUT_S PID...: bounded wait until none of PID is alive.
pid_wait_gone()
{
	local deadline p alive
	deadline=$(deadline_in "$1") || return 1
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
