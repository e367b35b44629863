#!/usr/bin/env bash
# tincan's control socket under abuse: one ipop-tincan in a namespace of its
# own (its TAPs live there; no traffic leaves it), its socket in a temp dir:
#
#   control-socket.py --(AF_UNIX)--> ipop-tincan --socket $TMP/t.sock  [ns ctl]
#
# Garbage, a 2 GiB length, wrong versions and a request before Hello are each
# answered with an error and the connection closed; every request kind from
# both roles (an observer's changes DENIED and without effect, its queries
# answered; a controller's requests done); a second controller replaces the
# first; hostile client strings reach the log escaped, one event per line;
# and through all of it tincan keeps serving a client that stayed connected.
# Also the socket mode.
# Prints TAP lines; exits 1 if any check failed, 77 when it cannot run.

LIB=$(dirname "${BASH_SOURCE[0]}")/../lib
# shellcheck source=test/lib/wait.sh
. "$LIB/wait.sh"
# shellcheck source=test/lib/proc.sh
. "$LIB/proc.sh"
# shellcheck source=test/lib/ns.sh
. "$LIB/ns.sh"
# shellcheck source=test/lib/tincan.sh
. "$LIB/tincan.sh"

if [[ ! -x $TINCAN || ! -x $IPOPCTL ]] || ! command -v python3 >/dev/null; then
	echo "# skip: needs build/ipop-tincan, build/ipopctl and python3"
	exit 77
fi
if ((EUID != 0)); then
	echo "# skip: needs root (a network namespace and TAP devices)"
	exit 77
fi

run_init ctlsock ipc
TMP=$RUN_TMP
SOCK=$TMP/t.sock
ns_add ctl || exit 1
ip netns exec "$(ns_name ctl)" "$TINCAN" --foreground --socket "$SOCK" \
	--state-dir "$TMP/state" \
	--log-level info 2>"$TMP/tincan.log" &
PID=$!
run_track_pid "$PID"
wait_until 5 "$IPOPCTL" --socket "$SOCK" echo x

N=0
FAILED=0
tap()
{
	N=$((N + 1))
	if [[ $1 == 0 ]]; then
		echo "ok $N - $2"
	else
		echo "not ok $N - $2"
		FAILED=$((FAILED + 1))
	fi
}

mode=$(stat -c %a "$SOCK" 2>/dev/null)
[[ $mode == 660 ]]
tap $? "the control socket has mode 0660 (got $mode)"

# The python client numbers its own checks; renumber them into ours.
while read -r line; do
	case $line in
	"ok "*) tap 0 "${line#ok * - }" ;;
	"not ok "*) tap 1 "${line#not ok * - }" ;;
	"1.."*) PLAN=${line#1..} ;;
	esac
done < <(timeout 90 python3 "$IPOP_ROOT/test/e2e/control-socket.py" \
	"$SOCK" "$TMP/tincan.log")
# A client that died half-way would leave checks out: its plan says.
[[ ${PLAN:-} && $PLAN -gt 0 && $PLAN -eq $((N - 1)) ]]
tap $? "control-socket.py ran all its checks (plan ${PLAN:-none})"

kill -0 "$PID" 2>/dev/null
tap $? "ipop-tincan is still running"
grep -q "sent a bad frame" "$TMP/tincan.log"
tap $? "tincan logged the bad frames"
if ((FAILED)); then
	echo "# tincan log:"
	sed 's/^/#   /' "$TMP/tincan.log" | tail -n 20
fi
echo "1..$N"
exit $((FAILED > 0))
