#!/usr/bin/env bash
# The transport cipher of a link, chosen in its handshake: two tincans in two
# namespaces joined by a veth (no NAT, no STUN: host candidates only),
#
#   h1 10.96.0.1 --veth-- h2 10.96.0.2     tincans t1 and t2, overlay 10.254.1.x
#
# each started with a --cipher, then linked: auto/auto gives AES-256-GCM
# where this CPU has AES-NI and PCLMUL (ChaCha20-Poly1305 otherwise), a side
# forced to chacha20-poly1305 gives ChaCha20-Poly1305 on both ends, and
# aes-256-gcm against chacha20-poly1305 never connects and says why in the
# responder's log.  Each pairing is checked in `ipopctl --json stats`
# (LinkInfo.cipher) on both ends, with a ping across.  Prints TAP lines.

# Helpers below run through check/must, which shellcheck cannot follow.
# shellcheck disable=SC2317
set -u -o pipefail
# shellcheck source=test/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

OV=vpn
e2e_require_tools "$TINCAN" "$IPOPCTL"
e2e_init

AES=0
if grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo; then
	AES=1
fi

must "build h1 -- veth -- h2" eval 'ns_add h1 && ns_add h2 &&
	veth_add h1 eth0 h2 eth0 10.96.0.1/24 10.96.0.2/24'

# start_pair CIPHER1 CIPHER2: fresh tincans t1 (h1) and t2 (h2) with those
# --cipher values, each with the overlay.
start_pair()
{
	local i c
	for i in 1 2; do
		c=$1
		((i == 2)) && c=$2
		TINCAN_EXTRA=(--cipher "$c")
		tincan_start "t$i" "h$i" || return 1
		ctl "t$i" create-overlay "$OV" --tap ipop0 \
			--ipv4 "10.254.1.$i/24" >/dev/null || return 1
	done
	TINCAN_EXTRA=()
}

# link_pair: the link both ways, mapped, candidates exchanged.
link_pair()
{
	link_create t1 "$OV" t2 && link_create t2 "$OV" t1 &&
		peer_map t1 "$OV" t2 --ipv4 10.254.1.2 &&
		peer_map t2 "$OV" t1 --ipv4 10.254.1.1 &&
		link_exchange "$OV" t1 t2
}

# ciphers_are WANT: both ends report WANT for the link.
ciphers_are()
{
	local a b
	a=$(link_field t1 "$OV" "$(tincan_uid t2)" cipher) || a=
	b=$(link_field t2 "$OV" "$(tincan_uid t1)" cipher) || b=
	echo "t1 says '$a', t2 says '$b', expected '$1'"
	[[ $a == "$1" && $b == "$1" ]]
}

stop_pair()
{
	tincan_stop t1
	tincan_stop t2
	return 0
}

# pairing C1 C2 WANT: t1 --cipher C1, t2 --cipher C2 connect with WANT.
pairing()
{
	must "start t1 --cipher $1, t2 --cipher $2" start_pair "$1" "$2"
	must "link t1 <-> t2" link_pair
	check "t1 --cipher $1 / t2 --cipher $2: connected" \
		link_wait t1 "$OV" t2 15
	check "t1 --cipher $1 / t2 --cipher $2: both ends use $3" ciphers_are "$3"
	check "t1 --cipher $1 / t2 --cipher $2: ping across" \
		wait_until 5 ping_ok h1 10.254.1.2
	stop_pair
}

if ((AES)); then
	pairing auto auto aes-256-gcm
	pairing aes-256-gcm auto aes-256-gcm
else
	pairing auto auto chacha20-poly1305
	check "aes-256-gcm refused at start without AES-NI" \
		bash -c "! '$TINCAN' --cipher aes-256-gcm --version"
fi
pairing auto chacha20-poly1305 chacha20-poly1305
pairing chacha20-poly1305 auto chacha20-poly1305

# No suite in common: the handshake fails, the responder says why.
refused_logged()
{
	local n
	n=$(cat "$(tincan_log t1)" "$(tincan_log t2)" |
		grep -c 'no transport cipher this node accepts')
	echo "$n such lines in the logs"
	((n > 0))
}
if ((AES)); then
	must "start t1 --cipher aes-256-gcm, t2 --cipher chacha20-poly1305" \
		start_pair aes-256-gcm chacha20-poly1305
	must "link t1 <-> t2" link_pair
	check_fails "aes-256-gcm against chacha20-poly1305 does not connect" \
		link_wait t1 "$OV" t2 4
	check "the refusal names the cipher (log)" refused_logged
	check "no cipher reported for the link" ciphers_are ""
	stop_pair
fi

check "unknown --cipher is a start-up error" \
	bash -c "! '$TINCAN' --cipher rot13 --version 2>/dev/null"

tap_done
