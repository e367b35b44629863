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
# Also the socket mode, and who may connect to a socket given to a group
# (--socket-group: as primary or supplementary group).  Then
# control-socket-scale.py: strings with a NUL or invalid UTF-8 refused; 500
# idle connections while `ipopctl status` works;
# 100,000 mappings created and read back whole by paged GetState and by
# `ipopctl status --json`; an empty GetState over them answered TOO_BIG.
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

CONTROLLER=${CONTROLLER:-$IPOP_BUILD/ipop-controller}
if [[ ! -x $TINCAN || ! -x $IPOPCTL || ! -x $CONTROLLER ]] ||
	! command -v python3 >/dev/null; then
	echo "# skip: needs build/ipop-tincan, build/ipopctl, build/ipop-controller and python3"
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

# The python clients number their own checks; renumber them into ours.
# run_py SECONDS SCRIPT ARGS...
run_py()
{
	local limit=$1 script=$2 before=$N line
	shift 2
	PLAN=
	while read -r line; do
		case $line in
		"ok "*) tap 0 "${line#ok * - }" ;;
		"not ok "*) tap 1 "${line#not ok * - }" ;;
		"1.."*) PLAN=${line#1..} ;;
		"# "*) echo "$line" ;;
		esac
	done < <(timeout "$limit" python3 "$IPOP_ROOT/test/e2e/$script" "$@")
	# A client that died half-way would leave checks out: its plan says.
	[[ ${PLAN:-} && $PLAN -gt 0 && $PLAN -eq $((N - before)) ]]
	tap $? "$script ran all its checks (plan ${PLAN:-none})"
}

run_py 60 control-socket.py "$SOCK" "$TMP/tincan.log"
run_py 60 control-socket-scale.py "$SOCK" "$TMP/tincan.log" "$IPOPCTL"

# A controller (re)started against that tincan adopts the large overlay:
# it reads the whole state page by page (the unpaged answer is TOO_BIG).
# Its XMPP server is a closed port inside the namespace; adoption needs
# only tincan.
echo secret >"$TMP/xmpp-password"
chmod 600 "$TMP/xmpp-password"
cat >"$TMP/controller.yaml" <<YAML
tincan:
  socket: $SOCK
state_dir: $TMP/ctl-state
xmpp:
  jid: big@ipop.test
  password_file: xmpp-password
  server: 127.0.0.1
  port: 1
  tls: off
overlays:
  - name: big
    type: gvpn
    tap: ctlbig
    address: 10.0.0.1/8
    group: big@ipop.test
YAML
for run in 1 2; do
	clog=$TMP/controller-$run.log
	start=$(date +%s%N)
	ip netns exec "$(ns_name ctl)" "$CONTROLLER" --config "$TMP/controller.yaml" \
		--log-level info 2>"$clog" &
	CPID=$!
	run_track_pid "$CPID"
	wait_until 20 grep -q "adopted overlay with" "$clog"
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	read_line=$(grep -o "state read: .*" "$clog" | head -n 1)
	[[ $rc == 0 && $read_line == *" 100000 mappings"* ]]
	tap $? "controller start $run adopts the overlay with its 100000 mappings ($read_line, adopted $ms ms after start)"
	echo "# figure: controller start $run: adopted $ms ms after start ($read_line)"
	kill "$CPID" 2>/dev/null
	wait "$CPID" 2>/dev/null
	if ((rc)); then
		sed 's/^/#   /' "$clog" | tail -n 10
	fi
done

# Who may connect: a second tincan gives its socket to the group "users"
# (--socket-group); ipopctl runs as nobody with the group as its primary
# group, as a supplementary one (a user added to the group, without sg), or
# not at all.  The socket and a copy of ipopctl sit in a directory nobody
# may traverse (the run's temp dir is mode 0711).
GDIR=$TMP/group
mkdir -m 0755 "$GDIR"
install -m 0755 "$IPOPCTL" "$GDIR/ipopctl"
ip netns exec "$(ns_name ctl)" "$TINCAN" --foreground --socket "$GDIR/g.sock" \
	--state-dir "$TMP/gstate" --socket-group users \
	--log-level info 2>"$TMP/tincan-g.log" &
GPID=$!
run_track_pid "$GPID"
wait_until 5 "$IPOPCTL" --socket "$GDIR/g.sock" echo x
USERS_GID=$(getent group users | cut -d: -f3)
# as_nobody GROUPS_OPTION... CMD: ipopctl echo as uid nobody.
as_nobody()
{
	setpriv --reuid nobody "$@" "$GDIR/ipopctl" --socket "$GDIR/g.sock" echo x \
		>/dev/null 2>&1
}
[[ $(stat -c %G "$GDIR/g.sock") == users ]]
tap $? "--socket-group users: the socket file's group is users"
as_nobody --regid nogroup --clear-groups
tap $((!$?)) "nobody, in no group of the socket: refused (mode 0660)"
as_nobody --regid "$USERS_GID" --clear-groups
tap $? "nobody with users as its primary group: admitted"
as_nobody --regid nogroup --groups "$USERS_GID"
tap $? "nobody with users as a supplementary group (SO_PEERGROUPS): admitted"
grep -q "refused connection" "$TMP/tincan-g.log"
tap $((!$?)) "tincan refused none of them (the file's mode did, before tincan)"
kill "$GPID" 2>/dev/null
wait "$GPID" 2>/dev/null

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
