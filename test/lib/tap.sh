# TAP lines for the small scenarios that do not need test/e2e/lib.sh (no
# namespaces): ok DESC, not_ok DESC, check DESC CMD... (one line for a
# command's success).  N counts the lines, FAILED is 1 after any not ok.
# shellcheck shell=bash

N=0
FAILED=0
ok()
{
	N=$((N + 1))
	echo "ok $N - $1"
}
not_ok()
{
	N=$((N + 1))
	FAILED=1
	echo "not ok $N - $1"
}
check()
{
	local desc=$1
	shift
	if "$@"; then
		ok "$desc"
	else
		not_ok "$desc"
	fi
}
