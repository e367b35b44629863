#!/usr/bin/env bash
# The systemd units as systemd runs them, confinement included, although
# CI has no systemd as PID 1: the host's root is overlaid on a tmpfs (all
# writes go there) and booted with systemd-nspawn in a private network
# namespace (only its own loopback; nothing of the host's network is seen
# or touched).  Inside, the debs are installed with dpkg, and the checks
# are: ipop-tincan.service runs as the user ipop with only CAP_NET_ADMIN,
# no new privileges and a seccomp filter; it creates an L3 TAP with IPv4
# and IPv6 (DAD off through the writable /proc/sys/net/ipv6/conf) and a
# switch-mode TAP on a bridge; a libnice link to an unconfined tincan in a
# namespace of the container carries pings; ipop-controller.service and
# the instance ipop-controller@lab (with ipop-tincan@lab) connect to their
# sockets as the user ipop-controller; SIGUSR1 changes its level; the
# journal files its lines as notice; without @chown in the filter the start
# fails (the filter is enforced); purging with everything running leaves no
# user, unit or state.  Then the container is shut down and the overlay
# dropped.  Needs root, systemd-nspawn (systemd-container), overlayfs,
# dpkg-buildpackage.  Prints TAP lines; exits 1 if a check failed, 77 when
# a tool is missing.

IPOP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if ((EUID != 0)); then
	echo "# skip: needs root"
	exit 77
fi
for t in systemd-nspawn dpkg-buildpackage nsenter; do
	if ! command -v "$t" >/dev/null; then
		echo "# skip: $t not found (apt-get install systemd-container dpkg-dev debhelper)"
		exit 77
	fi
done

T=$(mktemp -d /tmp/ipop-units.XXXXXX) || exit 1
NSPID=
cleanup()
{
	local i
	if [[ -n $NSPID ]] && kill -0 "$NSPID" 2>/dev/null; then
		# nspawn turns SIGTERM into an orderly halt of the container.
		kill -TERM "$NSPID" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			kill -0 "$NSPID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$NSPID" 2>/dev/null
		wait "$NSPID" 2>/dev/null
	fi
	mountpoint -q "$T/root" && umount -l "$T/root"
	mountpoint -q "$T/t" && umount -l "$T/t"
	rm -rf "$T"
}
trap cleanup EXIT

# shellcheck source=test/lib/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/tap.sh"

# The debs, without the unit tests (packaging.sh builds them with).
if DEB_BUILD_OPTIONS=nocheck "$IPOP_ROOT/packaging/build" deb "$T/pkg" \
	>"$T/build.log" 2>&1; then
	ok "debs built"
else
	sed 's/^/# /' "$T/build.log"
	not_ok "debs built"
	echo "1..$N"
	exit 1
fi

# The host's root, overlaid on a tmpfs: the container writes only there.
mkdir -p "$T/t" "$T/root"
if ! mount -t tmpfs -o size=1G ipop-units "$T/t" ||
	! mkdir -p "$T/t/upper" "$T/t/work" ||
	! mount -t overlay ipop-units -o \
		"lowerdir=/,upperdir=$T/t/upper,workdir=$T/t/work" "$T/root"; then
	not_ok "overlay of / on a tmpfs"
	echo "1..$N"
	exit 1
fi
mkdir -p "$T/root/var/tmp/ipop-units"
cp "$T"/pkg/ipop-tincan_*.deb "$T"/pkg/ipop-controller_*.deb \
	"$T/root/var/tmp/ipop-units/"

start=$SECONDS
systemd-nspawn -D "$T/root" --private-network --register=no --keep-unit \
	--link-journal=no -M "ipop-units-$$" \
	--uuid="$(tr -d '-' </proc/sys/kernel/random/uuid)" \
	-b --console=pipe -- --unit=basic.target >"$T/console.log" 2>&1 &
NSPID=$!
LEADER=
for ((i = 0; i < 100; i++)); do
	LEADER=$(ps -o pid= --ppid "$NSPID" 2>/dev/null | tr -d ' ' | head -n 1)
	if [[ -n $LEADER ]] &&
		nsenter -t "$LEADER" -a systemctl is-system-running 2>/dev/null |
		grep -qE '^(running|degraded)$'; then
		break
	fi
	sleep 0.2
done
# in_c CMD...: CMD inside the container (all its namespaces).
in_c()
{
	nsenter -t "$LEADER" -a "$@"
}
if [[ -n $LEADER ]] && in_c systemctl is-system-running 2>/dev/null |
	grep -qE '^(running|degraded)$'; then
	ok "container booted with systemd as PID 1 in $((SECONDS - start)) s"
else
	sed 's/^/# /' "$T/console.log"
	not_ok "container booted with systemd as PID 1"
	echo "1..$N"
	exit 1
fi

# As on a machine with udev (mode 0666), and without the image's
# policy-rc.d, so that the package starts its service as usual.
in_c sh -c 'chmod 0666 /dev/net/tun; rm -f /usr/sbin/policy-rc.d'
check "dpkg -i installs both debs" in_c sh -c \
	'dpkg -i /var/tmp/ipop-units/*.deb >/var/tmp/ipop-units/dpkg.log 2>&1'
# active UNIT...: every unit is active within 5 s.
active()
{
	local i
	for ((i = 0; i < 50; i++)); do
		in_c systemctl is-active --quiet "$@" && return 0
		sleep 0.1
	done
	in_c systemctl status --no-pager "$@" | sed 's/^/# /'
	return 1
}
check "the package started ipop-tincan.service" active ipop-tincan.service
TPID=$(in_c systemctl show -p MainPID --value ipop-tincan.service)
in_c cat "/proc/$TPID/status" >"$T/status" 2>/dev/null
check "tincan runs as the user ipop" \
	grep -qE "^Uid:[[:space:]]+$(in_c id -u ipop)[[:space:]]" "$T/status"
check "tincan holds CAP_NET_ADMIN alone (effective, ambient, bounding)" \
	bash -c "grep -qx 'CapEff:[[:space:]]*0000000000001000' '$T/status' &&
		grep -qx 'CapAmb:[[:space:]]*0000000000001000' '$T/status' &&
		grep -qx 'CapBnd:[[:space:]]*0000000000001000' '$T/status'"
check "tincan has no new privileges and a seccomp filter" \
	bash -c "grep -qx 'NoNewPrivs:[[:space:]]*1' '$T/status' &&
		grep -qx 'Seccomp:[[:space:]]*2' '$T/status'"

check "an L3 TAP with IPv4 and IPv6 addresses" in_c ipopctl create-overlay \
	ov1 --tap ipop0 --ipv4 10.77.0.1/24 --ipv6 fd77::1/64
check "its addresses are set" grep -q '10\.77\.0\.1/24 fd77::1/64' \
	<(in_c ip -br addr show ipop0)
check "DAD is off on it (/proc/sys/net/ipv6/conf is writable)" \
	grep -qx 0 <(in_c cat /proc/sys/net/ipv6/conf/ipop0/accept_dad)
check "a switch-mode TAP on a bridge" in_c ipopctl create-overlay ov2 \
	--tap ipop1 --mode switch --bridge br-ipop
check "the bridge has the TAP as its port" \
	grep -q 'master br-ipop' <(in_c ip -o link show ipop1)

# A link: a veth into a namespace of the container, an unconfined tincan
# there, candidates exchanged by hand.
cat >"$T/root/var/tmp/ipop-units/link.sh" <<'EOF'
set -eu
ip netns add peer
ip link add vA type veth peer name vB
ip link set vB netns peer
ip addr add 10.99.0.1/24 dev vA
ip link set vA up
ip -n peer addr add 10.99.0.2/24 dev vB
ip -n peer link set vB up
ip -n peer link set lo up
D=/var/tmp/ipop-units/peer
mkdir -p $D
ip netns exec peer /usr/sbin/ipop-tincan --foreground --socket $D/s.sock \
	--state-dir $D/state >$D/log 2>&1 &
for i in $(seq 50); do [ -S $D/s.sock ] && break; sleep 0.1; done
P="ipopctl --socket $D/s.sock"
key() { $1 --json status | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]])' "$2"; }
UA=$(key ipopctl uid); KA=$(key ipopctl public_key)
UB=$(key "$P" uid); KB=$(key "$P" public_key)
$P create-overlay ov1 --tap ipopB --ipv4 10.77.0.2/24 >/dev/null
ipopctl create-link ov1 "$UB" "$KB" >/dev/null
$P create-link ov1 "$UA" "$KA" >/dev/null
CA=$(ipopctl candidates ov1 "$UB")
CB=$($P candidates ov1 "$UA")
ipopctl add-candidates ov1 "$UB" "$CB" >/dev/null
$P add-candidates ov1 "$UA" "$CA" >/dev/null
ipopctl map-peer ov1 "$UB" --ipv4 10.77.0.2 >/dev/null
$P map-peer ov1 "$UA" --ipv4 10.77.0.1 >/dev/null
ipopctl --timeout 10000 wait-link ov1 "$UB" >/dev/null
ping -c 2 -W 2 -q 10.77.0.2 >/dev/null
EOF
check "a libnice link from the confined tincan carries pings" \
	in_c timeout 30 bash /var/tmp/ipop-units/link.sh
check "its log has the link up with the pair" grep -q \
	'selected pair host 10\.99\.0\.1:[0-9]* -> host 10\.99\.0\.2' \
	<(in_c journalctl -u ipop-tincan.service -o cat --no-pager)

# The controllers, with an XMPP server that is not there (they reconnect):
# what matters is the socket, the user and the log.
in_c sh -c 'cd /etc/ipop &&
	sed "s/server: xmpp.example.org/server: 127.0.0.1/" \
		/usr/share/doc/ipop/examples/controller-gvpn.yaml >controller.yaml &&
	sed -e "s/server: xmpp.example.org/server: 127.0.0.1/" \
		-e "s/tap: ipop0/tap: lab0/" \
		/usr/share/doc/ipop/examples/controller-gvpn.yaml >lab.yaml &&
	printf pw >xmpp-password && head -c 32 /dev/urandom >group-secret &&
	chown ipop-controller xmpp-password group-secret &&
	chmod 600 xmpp-password group-secret'
in_c systemctl start ipop-controller.service ipop-controller@lab.service
check "ipop-controller.service and ipop-controller@lab.service run" \
	active ipop-controller.service ipop-controller@lab.service
check "ipop-controller@lab started its own ipop-tincan@lab.service" \
	active ipop-tincan@lab.service
# logged UNIT PATTERN: the unit's journal has a line matching PATTERN
# within 5 s.
logged()
{
	local i
	for ((i = 0; i < 50; i++)); do
		in_c journalctl -u "$1" -o cat --no-pager | grep -q "$2" &&
			return 0
		sleep 0.1
	done
	in_c journalctl -u "$1" -o cat --no-pager | tail -n 5 | sed 's/^/# /'
	return 1
}
check "the controller (user ipop-controller) is tincan's CONTROLLER" \
	logged ipop-controller.service 'tincan: connected as CONTROLLER'
check "the instance is the CONTROLLER of /run/ipop-lab/tincan.sock" \
	logged ipop-controller@lab.service 'tincan: connected as CONTROLLER'
check "the instance's TAP is in its own tincan" \
	grep -q '^  tap  *lab0$' \
	<(in_c ipopctl --socket /run/ipop-lab/tincan.sock status)
in_c systemctl kill -s SIGUSR1 ipop-controller.service
check "SIGUSR1: the controller logs 'log level now info (SIGUSR1)'" \
	logged ipop-controller.service 'log level now info (SIGUSR1)'
check "journal: no timestamps, [message] lines filed as notice (5)" \
	python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.strip()]
msg = [l for l in lines if l.get("MESSAGE", "").startswith("[message] ")]
sys.exit(0 if msg and all(l.get("PRIORITY") == "5" for l in msg) else 1)
' < <(in_c journalctl -u ipop-controller.service -o json --no-pager)

# Without @chown the filter refuses the socket's chown: the start fails.
in_c sh -c 'mkdir -p /run/systemd/system/ipop-tincan.service.d &&
	printf "[Service]\nSystemCallFilter=\nSystemCallFilter=@system-service\nSystemCallFilter=~@privileged @resources\n" \
		>/run/systemd/system/ipop-tincan.service.d/no-chown.conf &&
	systemctl daemon-reload && systemctl restart ipop-tincan.service'
sleep 0.5
check "without @chown tincan cannot give its socket a group (filter enforced)" \
	logged ipop-tincan.service 'control socket /run/ipop/tincan.sock: Operation not permitted'
in_c sh -c 'rm -r /run/systemd/system/ipop-tincan.service.d &&
	systemctl daemon-reload && systemctl reset-failed ipop-tincan.service &&
	systemctl restart ipop-tincan.service'
check "with it, it starts again" active ipop-tincan.service

# Purge with everything running.
in_c sh -c 'kill $(ip netns pids peer) 2>/dev/null; ip netns del peer'
check "dpkg -P purges both, instances running" in_c sh -c \
	'dpkg -P ipop-controller ipop-tincan >/var/tmp/ipop-units/purge.log 2>&1'
check "purged: no ipop unit is loaded" \
	test -z "$(in_c systemctl list-units 'ipop*' --all --no-legend --plain)"
check "purged: users ipop, ipop-controller and group ipop gone" \
	in_c sh -c '! getent passwd ipop ipop-controller && ! getent group ipop'
check "purged: /var/lib/ipop*, /run/ipop* gone (/etc/ipop keeps the admin's files)" \
	in_c sh -c '! ls -d /var/lib/ipop /var/lib/ipop-controller /run/ipop \
		/run/ipop-lab 2>/dev/null | grep -q . && test -f /etc/ipop/lab.yaml'

echo "1..$N"
exit $FAILED
