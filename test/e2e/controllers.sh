#!/bin/bash
# Two controllers on one tincan (PROTOCOL.md §12): on each host,
# ipop-controller runs GroupVPN over Prosody in overlay "gvpn" and the
# Python example examples/static-mesh owns overlay "mesh".
#
#                      ns "pub" (router)
#        Prosody c2s 100.64.0.3:5222     coturn 100.64.0.1/.2:3478
#             100.64.11.1          100.64.12.1
#                  |                    |
#             100.64.11.2          100.64.12.2
#                ns m1                ns m2
#   ipop-tincan  m1.sock              m2.sock
#   gvpn  ipop0     10.77.0.1/24  <-> 10.77.0.2   ipop-controller (XMPP)
#   mesh  ipopmesh  10.88.0.1/24  <-> 10.88.0.2   static_mesh.py (files in
#                                                 a shared directory)
#
# Asserted: neither overlay pings before its controller runs; both carry
# traffic at once; a client claiming neither overlay is DENIED on each,
# with the owner (ipop-controller, static-mesh) named, and each running
# controller owns exactly its overlay; each of the four controllers is
# restarted under a 100 pps ping on both overlays with zero loss (the lost
# counts are printed); tincan m2 restarted, both controllers rebuild their
# overlay there and both overlays ping again; ipopctl as an observer sees
# both overlays with connected links; and the code snippets of
# docs/write-a-controller.md run against two tincans.

# shellcheck disable=SC2317 # functions run through check/wait_until
set -u -o pipefail
# shellcheck source=test/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=test/e2e/lib-xmpp.sh
. "$(dirname "$0")/lib-xmpp.sh"
# shellcheck source=test/e2e/lib-faults.sh
. "$(dirname "$0")/lib-faults.sh"
# shellcheck disable=SC2034 # E2E_ERR is read by lib.sh's tap_fail

# Debian's python3 (python3-protobuf), whatever python3 comes first in PATH.
PY=${PYTHON:-/usr/bin/python3}
MESH=$IPOP_ROOT/examples/static-mesh
e2e_require_root
e2e_require_tools "$TINCAN" "$IPOPCTL" "$CONTROLLER" prosody protoc "$PY"
if ! "$PY" -c 'import google.protobuf' 2>/dev/null; then
	echo "# skip: $PY has no google.protobuf (install python3-protobuf)"
	exit 77
fi
e2e_init
controller_snapshot || exit 1

# The Python classes, generated at test time from this tree's schema.
PYPROTO=$E2E_TMP/python
mkdir -p "$PYPROTO" && protoc -I"$IPOP_ROOT/proto" --python_out="$PYPROTO" \
	"$IPOP_ROOT/proto/ipop.proto" || exit 1
export IPOP_PYTHON_PROTO=$PYPROTO

HOSTS=(m1 m2)
declare -A GVIP=([m1]=10.77.0.1 [m2]=10.77.0.2) MVIP=([m1]=10.88.0.1 [m2]=10.88.0.2)
declare -A MESH_PID=()
XCHG=$E2E_TMP/exchange

must "public router pub" pub_add
must "m1 on the public network" pubhost_add m1 11
must "m2 on the public network" pubhost_add m2 12
must "Prosody configuration" prosody_setup
xmpp_account m1 pw-m1
xmpp_account m2 pw-m2
xmpp_roster m1 m2=both
xmpp_roster m2 m1=both
must "start Prosody in pub" prosody_start
must "start coturn in pub" turn_start
for h in "${HOSTS[@]}"; do
	must "configuration of $h's ipop-controller (overlay gvpn)" \
		member_config "$h" "$h" "pw-$h" "${GVIP[$h]}" lab
	must "start ipop-tincan $h" tincan_start "$h" "$h"
done

# The static-mesh peers file: the same on both hosts.
PEERS=$E2E_TMP/mesh.peers
{
	echo "overlay mesh"
	echo "tap ipopmesh"
	echo "prefix 24"
	for h in "${HOSTS[@]}"; do
		echo "$(IPOP_PYTHON_PROTO=$PYPROTO "$PY" "$MESH/static_mesh.py" identity \
			--socket "$(tincan_sock "$h")") ${MVIP[$h]}"
	done
} >"$PEERS"
check "static_mesh.py identity prints both tincans' peer lines" \
	test "$(grep -c '^peer [0-9a-f]\{40\} [A-Za-z0-9+/]\{43\}= ' "$PEERS")" -eq 2

mesh_log() { echo "$E2E_TMP/$1.mesh.log"; }
mesh_start()
{
	nsbg "$1" "$(mesh_log "$1")" "$PY" -u "$MESH/static_mesh.py" run \
		--socket "$(tincan_sock "$1")" --peers "$PEERS" --exchange "$XCHG"
	MESH_PID[$1]=$NSBG_PID
	e2e_track_log "$(mesh_log "$1")"
}
mesh_stop()
{
	local pid=${MESH_PID[$1]:-}
	[[ -n $pid ]] || return 1
	kill -TERM "$pid" 2>/dev/null || return 1
	pid_wait_gone 5 "$pid" || return 124
	wait "$pid" 2>/dev/null
	return 0
}
# mesh_adoptions NAME: adoption lines in NAME's static-mesh log.
mesh_adoptions() { log_count "$(mesh_log "$1")" "adopted overlay mesh"; }
mesh_adopted_since() { (($(mesh_adoptions "$1") > $2)); }

# owner_probe SOCK OVERLAY: a scoped controller that claims nothing tries to
# change OVERLAY; prints tincan's message (fails unless it is DENIED).
owner_probe()
{
	PYTHONPATH=$MESH "$PY" - "$1" "$2" <<-'PYEOF'
		import sys
		from ipop_client import Tincan, ipop_pb2
		t = Tincan(sys.argv[1], name="probe")
		r = t.call(ipop_pb2.Request(map_peer=ipop_pb2.MapPeer(
		    overlay=sys.argv[2], peer_uid="ab" * 20, ipv4="10.1.2.3")), check=False)
		print(r.message)
		sys.exit(0 if r.status == ipop_pb2.DENIED else 1)
	PYEOF
}
# loss_report NAME DESC: one TAP line, ok when the stopped flow NAME lost
# nothing; prints the sent/received/lost counts (the holes on failure).
loss_report()
{
	local tx rx
	read -r tx rx <<<"$(flow_stats "$1" || echo 0 0)"
	tap_note "measured: $2: $tx sent, $rx received, $((tx - rx)) lost"
	if ((tx > 0 && tx == rx)); then
		tap_ok "$2: zero packets lost"
	else
		E2E_ERR=$(flow_holes "$1" "$H0")
		tap_fail "$2: zero packets lost"
	fi
}
# mesh_links: links static-mesh created, in both logs.
mesh_links() { cat "$(mesh_log m1)" "$(mesh_log m2)" | grep -c "link to .* created"; }

check_fails "before the controllers: no mesh overlay (m1 cannot ping 10.88.0.2)" \
	nsx m1 ping -n -c 1 -W 0.5 10.88.0.2
check_fails "before the controllers: no gvpn overlay (m1 cannot ping 10.77.0.2)" \
	nsx m1 ping -n -c 1 -W 0.5 10.77.0.2

T0=$(now_ms)
for h in "${HOSTS[@]}"; do
	controller_start "$h" "$h"
	mesh_start "$h"
done
check "gvpn (ipop-controller) carries m1 -> m2 pings" ping_until m1 10.77.0.2 30
check "mesh (static-mesh) carries m1 -> m2 pings" ping_until m1 10.88.0.2 30
tap_note "measured: both overlays pinging $(($(now_ms) - T0)) ms after the controllers started"
# both_ping: 20 pings m2 -> m1 on each overlay, both at once, all answered.
both_ping()
{
	local p
	nsx m2 ping -n -q -c 20 -i 0.05 -W 1 10.77.0.1 >/dev/null &
	p=$!
	nsx m2 ping -n -q -c 20 -i 0.05 -W 1 10.88.0.1 >/dev/null && wait "$p"
}
check "both at once: m2 -> m1 on gvpn and mesh in parallel (20 pings each)" both_ping

# ---- ownership ----------------------------------------------------------------
for h in "${HOSTS[@]}"; do
	MSG=$(owner_probe "$(tincan_sock "$h")" mesh)
	check "$h: a change of mesh by a non-owner is DENIED naming static-mesh ($MSG)" \
		grep -q "(static-mesh) owns it" <<<"$MSG"
	MSG=$(owner_probe "$(tincan_sock "$h")" gvpn)
	check "$h: a change of gvpn by a non-owner is DENIED naming ipop-controller ($MSG)" \
		grep -q "(ipop-controller) owns it" <<<"$MSG"
	check "$h: tincan logs ipop-controller as a scoped controller owning 1 overlay" \
		grep -q "owns 1 overlays" "$(tincan_log "$h")"
done
check_fails "no controller was replaced or had an overlay taken" \
	grep -qE "taken by|disconnected: replaced" "$(tincan_log m1)" "$(tincan_log m2)"
check_fails "ipop-controller never touched mesh (no DENIED in its logs)" \
	grep -qi "denied" "$(ctl_log m1)" "$(ctl_log m2)"

# ---- each controller restarted under a 100 pps ping on both overlays --------
LINKS0=$(mesh_links)
flow_start g m1 10.77.0.2 0.01
flow_start m m1 10.88.0.2 0.01
H0=$(now_ms)
wait_until 5 flow_has_since g "$H0" 20
wait_until 5 flow_has_since m "$H0" 20
for h in "${HOSTS[@]}"; do
	if ctl_restart "$h" "$h" 15; then
		tap_ok "$h's ipop-controller restarted and adopted gvpn"
		tap_note "measured: $h ipop-controller restart: online again in $RESTART_MS ms"
	else
		tap_fail "$h's ipop-controller restarted and adopted gvpn"
	fi
	n=$(mesh_adoptions "$h")
	t=$(now_ms)
	check "$h's static-mesh stops on SIGTERM" mesh_stop "$h"
	mesh_start "$h"
	check "$h's static-mesh restarted and adopted mesh (1 link)" \
		wait_until 10 mesh_adopted_since "$h" "$n"
	tap_note "measured: $h static-mesh restart: adopted in $(($(now_ms) - t)) ms"
	sleep 1
done
flow_stop g
flow_stop m
loss_report g "ping -i 0.01 m1 -> m2 over gvpn across the 4 controller restarts"
loss_report m "ping -i 0.01 m1 -> m2 over mesh across the 4 controller restarts"
check "the restarts recreated no mesh link ($LINKS0 created before, $(mesh_links) after)" \
	test "$(mesh_links)" -eq "$LINKS0"

# ---- tincan m2 restarted: both controllers rebuild their overlay ------------
check "tincan m2 stops" tincan_stop m2
must "tincan m2 starts again" tincan_start m2 m2
check "gvpn pings again after the tincan restart" ping_until m1 10.77.0.2 30
check "mesh pings again after the tincan restart" ping_until m1 10.88.0.2 30
check "static-mesh on m2 reconnected and created its overlay again" \
	grep -q "created overlay mesh" "$(mesh_log m2)"

# ---- ipopctl as observer ----------------------------------------------------
ST=$(ctl m1 --json status)
check "ipopctl status (observer) on m1 shows both overlays" \
	test "$(jq -r '[.overlays[].name] | sort | join(",")' <<<"$ST")" = gvpn,mesh
check "ipopctl status shows a connected link in each overlay" \
	test "$(jq '[.overlays[] | select([.links[]? | select(.state == "connected")] | length == 1)] | length' <<<"$ST")" -eq 2

# ---- the guide's snippets -----------------------------------------------------
GUIDE_OUT=$E2E_TMP/guide.out
if timeout 60 "$PY" "$IPOP_ROOT/test/e2e/guide-snippets.py" \
	"$IPOP_ROOT/docs/write-a-controller.md" "$(tincan_sock m1)" \
	"$(tincan_sock m2)" >"$GUIDE_OUT" 2>&1; then
	tap_ok "every python snippet of docs/write-a-controller.md runs ($(grep -c '^snippet' "$GUIDE_OUT") snippets)"
else
	E2E_ERR=$(tail -n 20 "$GUIDE_OUT")
	tap_fail "every python snippet of docs/write-a-controller.md runs"
fi

tap_done
