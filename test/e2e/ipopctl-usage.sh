#!/usr/bin/env bash
# ipopctl's command-line contract without a daemon (no root, no namespaces):
# bad usage exits 2 with a message naming the problem, and is caught before
# any connection is attempted (the socket path given does not exist, so a
# connection attempt would exit 3 instead); an absent, wrong or silent socket
# exits 3.  Prints TAP lines; exits 1 if any check failed.
#
#   ipopctl --socket $TMP/absent.sock ...   -> 2 (input checked first) or 3
#   ipopctl --socket $TMP/silent.sock ...   -> a listener that never answers

IPOP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case ${BUILD:-build} in
/*) IPOP_BUILD=${BUILD} ;;
*) IPOP_BUILD=$IPOP_ROOT/${BUILD:-build} ;;
esac
IPOPCTL=${IPOPCTL:-$IPOP_BUILD/ipopctl}

if [[ ! -x $IPOPCTL ]]; then
	echo "# skip: $IPOPCTL not built (run make)"
	exit 77
fi

TMP=$(mktemp -d /tmp/ipopctl-usage.XXXXXX) || exit 1
LISTENER_PID=""
cleanup()
{
	if [[ -n $LISTENER_PID ]]; then
		kill "$LISTENER_PID" 2>/dev/null
		wait "$LISTENER_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

N=0
FAILED=0
ABSENT=$TMP/absent.sock
UID_OK=0123456789abcdef0123456789abcdef01234567
KEY_OK=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=
NAME33=abcdefghijklmnopqrstuvwxyz-0123_.
RULE_CHARS='\[A-Za-z0-9\._-\]'

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok()
{
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	sed 's/^/#   /' "$TMP/err" "$TMP/out" 2>/dev/null | head -n 8
}

# expect RC PATTERN DESC -- ARGS...: runs ipopctl ARGS (bounded), checks the
# exit status and that stderr+stdout match the extended regex PATTERN.
expect()
{
	local want=$1 pat=$2 desc=$3 rc
	shift 4
	timeout 10 "$IPOPCTL" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	if [[ $rc -ne $want ]]; then
		not_ok "$desc (exit $rc, expected $want)"
	elif ! cat "$TMP/err" "$TMP/out" | grep -Eq -- "$pat"; then
		not_ok "$desc (output does not match /$pat/)"
	else
		ok "$desc"
	fi
}

A=(--socket "$ABSENT")

# ---- usage errors: exit 2, before connecting ----
expect 2 'no command' "no command is a usage error" --
expect 2 "unknown command 'frobnicate'" "unknown command is named" -- frobnicate
expect 2 'unknown option --bogus' "unknown option is named" -- "${A[@]}" status --bogus
expect 2 'missing arguments' "missing arguments" -- "${A[@]}" create-link ov
expect 2 'too many arguments' "too many arguments" -- "${A[@]}" status extra
expect 2 '40 lowercase hex' "short uid rejected" -- "${A[@]}" create-link ov 0123abc "$KEY_OK"
expect 2 '40 lowercase hex' "uppercase uid rejected" -- "${A[@]}" remove-link ov "${UID_OK^^}"
expect 2 'exactly 32' "public key of 31 bytes rejected" -- "${A[@]}" create-link ov "$UID_OK" \
	"$(head -c 31 /dev/zero | base64)"
expect 2 'exactly 32' "public key with junk characters rejected" -- "${A[@]}" create-link ov \
	"$UID_OK" "${KEY_OK:0:20}*${KEY_OK:21}"
expect 2 'exactly 32' "public key in a non-canonical spelling rejected" -- "${A[@]}" create-link ov \
	"$UID_OK" "${KEY_OK:0:42}h="
expect 2 'prefix must be 0\.\.32' "IPv4 prefix /33 rejected" -- "${A[@]}" create-overlay ov --tap t0 --ipv4 10.0.0.1/33
expect 2 'expected A\.B\.C\.D/PREFIX' "IPv4 without prefix rejected" -- "${A[@]}" create-overlay ov --tap t0 --ipv4 10.0.0.1
expect 2 'not an IPv4' "bad IPv4 address rejected" -- "${A[@]}" create-overlay ov --tap t0 --ipv4 10.0.0.256/24
expect 2 'prefix must be 0\.\.128' "IPv6 prefix /129 rejected" -- "${A[@]}" create-overlay ov --tap t0 --ipv6 fd00::1/129
expect 2 '--tap IFNAME is required' "create-overlay without --tap" -- "${A[@]}" create-overlay ov
expect 2 "must be 1-15 characters of $RULE_CHARS" "TAP name over 15 bytes rejected" -- "${A[@]}" create-overlay ov \
	--tap abcdefghijklmnop
expect 2 "--tap 't 0' must be 1-15" "TAP name with a space rejected" -- "${A[@]}" create-overlay ov --tap 't 0'
expect 2 "--bridge 'br/0' must be 1-15" "bridge name with a slash rejected" -- "${A[@]}" create-overlay ov --tap t0 \
	--mode switch --bridge br/0
# Overlay names follow tincan's rule (common/names.h), checked by ipopctl.
expect 2 "NAME '$NAME33' must be 1-32 characters of $RULE_CHARS" "33-character overlay name rejected" -- \
	"${A[@]}" create-overlay "$NAME33" --tap t0
expect 3 'cannot connect' "32-character overlay name accepted" -- "${A[@]}" create-overlay "${NAME33:1}" --tap t0
expect 2 "OVERLAY '$NAME33' must be 1-32" "33-character OVERLAY of a link command rejected" -- \
	"${A[@]}" remove-link "$NAME33" "$UID_OK"
expect 2 "OVERLAY 'o:v' must be 1-32" "overlay name with ':' rejected" -- "${A[@]}" stats o:v
expect 2 "NAME '' must be 1-32" "empty overlay name rejected" -- "${A[@]}" remove-overlay ''
expect 2 'l3 or switch' "bad --mode rejected" -- "${A[@]}" create-overlay ov --tap t0 --mode bridge
expect 2 'mtu must be' "bad --mtu rejected" -- "${A[@]}" create-overlay ov --tap t0 --mtu 99999
expect 2 'mtu must be 576\.\.9000' "--mtu above tincan's 9000 rejected" -- "${A[@]}" create-overlay ov --tap t0 --mtu 9001
expect 3 'cannot connect' "--mtu 9000 accepted" -- "${A[@]}" create-overlay ov --tap t0 --mtu 9000
printf 'short' >"$TMP/psk.bad"
chmod 600 "$TMP/psk.bad"
expect 2 '32 raw bytes or 64 hex' "PSK file of the wrong size rejected" -- "${A[@]}" create-overlay ov --tap t0 \
	--psk-file "$TMP/psk.bad"
expect 2 'psk-file .*No such file' "missing PSK file rejected" -- "${A[@]}" create-overlay ov --tap t0 \
	--psk-file "$TMP/nonexistent"
printf '%s\n' 000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F >"$TMP/psk.hex"
chmod 644 "$TMP/psk.hex"
expect 2 "accessible by group or others \(mode 0644\): run chmod 600 $TMP/psk.hex" \
	"PSK file readable by others rejected" -- "${A[@]}" create-overlay ov --tap t0 --psk-file "$TMP/psk.hex"
chmod 600 "$TMP/psk.hex"
expect 3 'cannot connect' "PSK file of 64 hex digits, mode 0600, accepted" -- "${A[@]}" create-overlay ov --tap t0 \
	--psk-file "$TMP/psk.hex"
expect 2 'psk-file .* is not a regular file' "PSK file that is a directory rejected" -- "${A[@]}" create-overlay ov \
	--tap t0 --psk-file "$TMP"
expect 2 'port must be 1\.\.65535' "STUN port 0 rejected" -- "${A[@]}" set-ice --stun 192.0.2.1:0
expect 2 'expected IP:PORT' "STUN without port rejected" -- "${A[@]}" set-ice --stun 192.0.2.1
expect 2 'not an IP address' "STUN host name rejected" -- "${A[@]}" set-ice --stun stun.example:3478
expect 2 'IP:PORT,USER,PASS' "TURN without password rejected" -- "${A[@]}" set-ice --turn 192.0.2.1:3478,user
STUN9=()
for _ in {1..9}; do STUN9+=(--stun 192.0.2.1:3478); done
expect 2 'at most 8 --stun' "more STUN servers than tincan takes rejected" -- "${A[@]}" set-ice "${STUN9[@]}"
expect 2 'give VIA_UID, or --remove' "set-route needs VIA_UID or --remove" -- "${A[@]}" set-route ov "$UID_OK"
expect 2 'give VIA_UID, or --remove' "set-route takes not both" -- "${A[@]}" set-route ov "$UID_OK" "$UID_OK" --remove
expect 2 '40 lowercase hex' "set-route: malformed via uid rejected" -- "${A[@]}" set-route ov "$UID_OK" 0123
expect 3 'cannot connect' "set-route --remove accepted" -- "${A[@]}" set-route ov "$UID_OK" --remove
expect 2 'link kind must be' "set-link-kind: unknown kind rejected" -- "${A[@]}" set-link-kind ov "$UID_OK" ring
expect 3 'cannot connect' "set-link-kind on-demand accepted" -- "${A[@]}" set-link-kind ov "$UID_OK" on-demand
expect 2 'link kind must be' "create-link --kind: unknown kind rejected" -- "${A[@]}" create-link ov "$UID_OK" "$KEY_OK" --kind ring
expect 2 'ondemand-rate must be' "create-overlay: non-numeric --ondemand-rate rejected" -- "${A[@]}" create-overlay ov --tap t0 --ondemand-rate fast
expect 2 'ondemand-idle must be' "create-overlay: --ondemand-idle over 32 bits rejected" -- "${A[@]}" create-overlay ov --tap t0 --ondemand-idle 4294967296
expect 2 'expected aa:bb:cc:dd:ee:ff' "malformed MAC rejected" -- "${A[@]}" map-peer ov "$UID_OK" --mac 02:00:00:00:00
expect 2 'multicast' "multicast MAC rejected" -- "${A[@]}" map-peer ov "$UID_OK" --mac 01:00:5e:00:00:01
expect 2 'not an IPv6' "bad mapped IPv6 rejected" -- "${A[@]}" map-peer ov "$UID_OK" --ipv6 fd00::zz
expect 2 'label must be at most 127 bytes' "label with a control character rejected" -- "${A[@]}" map-peer ov \
	"$UID_OK" --ipv4 10.0.0.2 --label $'a\tb'
expect 2 'not valid base64' "candidate blob that is not base64" -- "${A[@]}" add-candidates ov "$UID_OK" 'not base64!'
expect 2 'does not decode' "candidate blob that is not IceCredentials" -- "${A[@]}" add-candidates ov "$UID_OK" \
	"$(printf '\377\377\377\377' | base64)"
expect 2 'LEVEL must be' "unknown log level rejected" -- "${A[@]}" log-level loud
expect 2 'error\|critical\|warning\|message\|info\|debug' "log level error names every level" -- \
	"${A[@]}" log-level loud
expect 3 'cannot connect' "log level critical accepted" -- "${A[@]}" log-level critical
expect 2 'timeout must be' "non-numeric --timeout rejected" -- --timeout soon "${A[@]}" status
expect 2 'needs a value' "--socket without a value" -- status --socket
expect 2 'longer than' "socket path too long for sun_path" -- --socket "/tmp/$(printf 'x%.0s' {1..120})" status
expect 2 'wait-link OVERLAY PEER_UID' "usage line names the command's arguments" -- "${A[@]}" wait-link ov

# ---- help ----
expect 0 'usage: ipopctl' "--help exits 0" -- --help
missing=""
for cmd in status create-overlay remove-overlay set-ice create-link candidates add-candidates \
	map-peer remove-link set-route set-link-kind stats wait-link events log-level echo metrics \
	graph help; do
	grep -Eq "^  $cmd " "$TMP/out" || missing="$missing $cmd"
done
if [[ -z $missing ]]; then ok "--help lists every command"; else not_ok "--help lacks:$missing"; fi
expect 0 'usage: ipopctl' "help command exits 0" -- help
expect 0 'log-level .*critical' "--help lists the critical log level" -- --help

# ---- connection errors: exit 3 ----
expect 3 "cannot connect to $ABSENT" "absent socket exits 3 and names the path" -- "${A[@]}" echo hi
IPOP_SOCKET=$TMP/env.sock timeout 10 "$IPOPCTL" echo hi >"$TMP/out" 2>"$TMP/err"
rc=$?
if [[ $rc -eq 3 ]] && grep -q "$TMP/env.sock" "$TMP/err"; then
	ok "IPOP_SOCKET is used when --socket is absent"
else
	not_ok "IPOP_SOCKET is used when --socket is absent (exit $rc)"
fi
: >"$TMP/plain-file"
expect 3 'cannot connect' "a regular file is not a socket" -- --socket "$TMP/plain-file" status

# A listener that accepts and never answers: the per-reply timeout applies.
if command -v python3 >/dev/null 2>&1; then
	python3 - "$TMP/silent.sock" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(8)
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)
EOF
	LISTENER_PID=$!
	for _ in $(seq 50); do [[ -S $TMP/silent.sock ]] && break; sleep 0.1; done
	t0=${EPOCHREALTIME/./}
	expect 3 'no reply within 300 ms' "silent daemon: --timeout 300 exits 3" -- \
		--socket "$TMP/silent.sock" --timeout 300 status
	t1=${EPOCHREALTIME/./}
	ms=$(((t1 - t0) / 1000))
	if ((ms >= 250 && ms < 3000)); then
		ok "silent daemon: gave up after ${ms} ms"
	else
		not_ok "silent daemon: gave up after ${ms} ms (expected about 300)"
	fi
	# A daemon that closes right after accepting: EOF is a protocol error.
	kill "$LISTENER_PID" 2>/dev/null
	wait "$LISTENER_PID" 2>/dev/null
	rm -f "$TMP/silent.sock"
	python3 - "$TMP/closing.sock" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(8)
while True:
    c, _ = s.accept()
    c.close()
EOF
	LISTENER_PID=$!
	for _ in $(seq 50); do [[ -S $TMP/closing.sock ]] && break; sleep 0.1; done
	expect 3 'closed by tincan|connection lost|send failed' "daemon closing at once exits 3" -- \
		--socket "$TMP/closing.sock" status
else
	N=$((N + 1))
	echo "ok $N - # SKIP python3 not found (silent-daemon checks)"
fi

echo "1..$N"
if ((FAILED > 0)); then
	echo "# $FAILED of $N failed"
	exit 1
fi
exit 0
