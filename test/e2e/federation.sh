#!/bin/bash
# End-to-end test of friends on two federated XMPP servers: Prosody serving
# a.test and ejabberd serving b.test, each in its own namespace, joined by
# server-to-server federation (s2s on 5269, STARTTLS with certificates of a
# CA made for this run, verified both ways, no dialback; names from a hosts
# file in the servers' mount namespaces, no DNS: test/e2e/lib-fed.sh).
# Accounts by in-band registration on each server; every friendship change
# is a real subscription or roster stanza sent by `ipop-controller friends`
# and carried across s2s.  The time for the links to follow each change is
# printed ("# measured (...)" lines, in seconds, from the command's exit).
#
#                ns "pub" (router, coturn 100.64.0.1/.2:3478)
#     100.64.31.1  100.64.32.1  100.64.11.1  100.64.12.1  100.64.21.1  100.64.22.1
#          |            |            |            |            |            |
#     100.64.31.2  100.64.32.2  100.64.11.2  100.64.12.2  100.64.21.2  100.64.22.2
#     ns srva      ns srvb      ns a1        ns b1        ns g1        ns g2
#     Prosody      ejabberd     alice@a.test bob@b.test   ga@a.test    gb@b.test
#     a.test       b.test       SocialVPN "social"        GroupVPN "gvpn", group
#     c2s 5222     c2s 5222                               "lab", 10.79.0.1, .2;
#     s2s 5269     s2s 5269                               gb: xmpp.auto_approve
#
# Asserted: alice's `friends add bob@b.test` reaches bob's server (his
# `friends list` shows it pending) and makes no link; bob's approval makes
# the friendship mutual (alice's controller approves his request back),
# both servers hold a TLS s2s stream authenticated by certificate, a1 and
# b1 link and ping each other both ways at the addresses of their views;
# bob's device going offline drops the link and coming back restores it;
# alice's `friends remove` drops the link on both sides; bob's new request
# and alice's approval bring it back.  GroupVPN: ga's `friends add gb@b.test`
# is approved and asked back by gb's controller (auto_approve) and ga's
# controller approves back; g1 and g2 link and ping by virtual address; gb's
# removal drops the link, ga's new request brings it back.  ejabberd
# restarting: b.test's controllers come back online and both links are
# there again.

# shellcheck disable=SC2317 # functions run through check/wait_until
set -u -o pipefail
# shellcheck source=test/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=test/e2e/lib-xmpp.sh
. "$(dirname "$0")/lib-xmpp.sh"
# shellcheck source=test/e2e/lib-svpn.sh
. "$(dirname "$0")/lib-svpn.sh"
# shellcheck source=test/e2e/lib-friends.sh
. "$(dirname "$0")/lib-friends.sh"
# shellcheck source=test/e2e/lib-fed.sh
. "$(dirname "$0")/lib-fed.sh"
# shellcheck disable=SC2034 # E2E_ERR is read by lib.sh's tap_fail

export PATH=$PATH:/usr/sbin
e2e_require_root
e2e_require_tools "$TINCAN" "$IPOPCTL" "$CONTROLLER" prosody ejabberdctl \
	openssl unshare python3 ss lua5.4
if ! fed_have_unbound; then
	echo "# skip: Prosody's s2s needs lua-unbound here (tools/install-deps installs lua-unbound)"
	exit 77
fi
e2e_init
controller_snapshot || exit 1

declare -A DOM_OF=([a1]=a.test [b1]=b.test [g1]=a.test [g2]=b.test)
declare -A USER_OF=([a1]=alice [b1]=bob [g1]=ga [g2]=gb)
declare -A UID_OF=()
MEMBERS=(a1 b1 g1 g2)
SECRET="federation e2e group secret: 5be03a71"
A=a.test
B=b.test

# ---- network, servers, accounts ----------------------------------------------------

must "public router pub, server hosts srva and srvb" fed_network
must "a1 on the public network" pubhost_add a1 11
must "b1 on the public network" pubhost_add b1 12
must "g1 on the public network" pubhost_add g1 21
must "g2 on the public network" pubhost_add g2 22
must "a CA and certificates for a.test and b.test" fed_certs
must "Prosody configuration (a.test)" fed_prosody_setup
must "ejabberd configuration (b.test)" fed_ejabberd_setup
t0=$(now_ms)
must "start Prosody in srva (c2s and s2s listen)" fed_prosody_start
must "start ejabberd in srvb (c2s and s2s listen)" fed_ejabberd_start
tap_note "both servers up in $(secs "$t0") s"
must "start coturn in pub" turn_start
check "in-band registration of alice and ga on Prosody (a.test)" \
	fed_client a1 $A register alice:pw-alice ga:pw-ga
check "in-band registration of bob and gb on ejabberd (b.test)" \
	fed_client b1 $B register bob:pw-bob gb:pw-gb

for d in a1 b1; do
	XMPP_DOMAIN=${DOM_OF[$d]} XMPP_IP=${FED_IP[${DOM_OF[$d]}]} \
		must "configuration of $d" svpn_member_config "$d" \
		"${USER_OF[$d]}" "pw-${USER_OF[$d]}"
done
for i in 1 2; do
	XMPP_DOMAIN=${DOM_OF[g$i]} XMPP_IP=${FED_IP[${DOM_OF[g$i]}]} \
		must "configuration of g$i" member_config "g$i" "${USER_OF[g$i]}" \
		"pw-${USER_OF[g$i]}" "10.79.0.$i" lab "$SECRET"
done
for d in "${MEMBERS[@]}"; do
	must "$d's controller verifies its server's certificate (xmpp.tls: required)" \
		fed_tls "$d"
done
sed -i 's/^  tls: required$/&\n  auto_approve: true/' "$(ctl_dir g2)/controller.yaml"
check "--check-config accepts g2's configuration" \
	"$CONTROLLER" --config "$(ctl_dir g2)/controller.yaml" --check-config

# s2s_lines: the s2s_* settings of a config (stdin), "key=value" or
# "key:value", comments, a trailing ";" and blanks around = or : dropped.
s2s_lines()
{
	sed -nE 's/[[:space:]]*(--|#).*//; s/;[[:space:]]*$//
		s/^[[:space:]]*(s2s_[a-z_]+)[[:space:]]*([=:])[[:space:]]*/\1\2/p'
}

# docs_s2s_settings: every s2s_* setting in the code blocks of
# docs/servers.md's federation section is in this run's configuration of
# that server (Lua "=": Prosody's, YAML ":": ejabberd's), with the same
# value unless the value is a path.
docs_s2s_settings()
{
	local l cfg n=0
	while read -r l; do
		cfg=$FED_EJ_DIR/etc/ejabberd.yml
		[[ $l == *=* ]] && cfg=$E2E_TMP/prosody-a/prosody.cfg.lua
		[[ $l =~ ^(s2s_[a-z_]+[=:])[\"]?/ ]] && l=${BASH_REMATCH[1]}
		s2s_lines <"$cfg" | grep -qF -- "$l" ||
			{ echo "docs/servers.md: $l is not in $cfg"; return 1; }
		n=$((n + 1))
	done < <(awk '/^## Federation/ { f = 1; next } /^## / { f = 0 }
		f && /^```/ { c = !c; next } f && c' \
		"$(dirname "$0")/../../docs/servers.md" | s2s_lines)
	((n >= 5))
}
check "the s2s settings docs/servers.md shows are the ones this run uses" \
	docs_s2s_settings

for d in "${MEMBERS[@]}"; do
	must "start ipop-tincan $d" tincan_start "$d" "$d"
	UID_OF[$d]=$(tincan_uid "$d")
	must "uid of $d" test -n "${UID_OF[$d]}"
done
for d in "${MEMBERS[@]}"; do
	controller_start "$d" "$d"
done
online() { grep -qF "XMPP online as" "$(ctl_log "$1")"; }
all_online()
{
	local d
	for d in "${MEMBERS[@]}"; do
		online "$d" || return 1
	done
}
must "every controller is online (two on each server)" wait_until 20 all_online
all_tls()
{
	local d
	for d in "${MEMBERS[@]}"; do
		grep -qE "xmpp: logged in as .* \(TLS\)$" "$(ctl_log "$d")" || return 1
	done
}
check "every controller logged in over TLS (STARTTLS, the run's CA)" all_tls

# grep_seq FILE RE1 RE2: a line matching RE1, later one matching RE2.
grep_seq() { awk -v a="$2" -v b="$3" '$0 ~ a { s = 1 } s && index($0, b) { f = 1 } END { exit !f }' "$1"; }
# list_has NAME LINE: NAME's friends list holds LINE.
list_has() { friends "$1" list && grep -qxF -- "$2" <<<"$OUT"; }
# s2s_up: each server holds an established s2s connection.
s2s_up() { (($(fed_s2s_count "$A") > 0 && $(fed_s2s_count "$B") > 0)); }

# ---- SocialVPN: a request across servers, its approval -------------------------------

FOLLOWS_TAG="Prosody a.test -> ejabberd b.test"
check "alice@a.test: friends add bob@b.test -> bob none asked" \
	friends_says a1 "bob@$B none asked" add "bob@$B"
follows "alice's request crosses s2s to bob's running controllers (logged as pending)" \
	15 grep -qF "subscription request of alice@$A is pending" "$(ctl_log b1)"
check "bob: friends list shows alice's request pending" \
	list_has b1 "alice@$A none pending"
# Without dialback on either side, an s2s stream completes only with SASL
# EXTERNAL, that is with a certificate the other server verified.
check "a.test -> b.test: ejabberd accepted Prosody's certificate (SASL EXTERNAL)" \
	grep -qF "Accepted inbound s2s EXTERNAL authentication a.test -> b.test" \
	"$FED_EJ_DIR/log/ejabberd.log"
check "a.test -> b.test: Prosody's outgoing stream is TLS and complete" \
	grep_seq "$E2E_TMP/prosody-a.log" "s2sout.*Stream encrypted" \
	"Outgoing s2s connection a.test->b.test complete"
stays "the request alone makes no link for 2 s" 2 all_unlinked "a1 b1"
check "bob@b.test: friends approve alice@a.test -> alice from asked (or both)" \
	friends_says_either b1 "alice@$A from asked" "alice@$A both" approve "alice@$A"
follows "after bob's approval, a1 and b1 link" 20 all_linked "a1 b1"
# The approval and the presence that follows went b.test -> a.test.
b_to_a()
{
	grep -qF "Accepting SASL EXTERNAL identity from b.test" "$E2E_TMP/prosody-a.log" &&
		grep -qF "Accepted outbound s2s EXTERNAL authentication b.test -> a.test" \
			"$FED_EJ_DIR/log/ejabberd.log"
}
check "b.test -> a.test: Prosody accepted ejabberd's certificate (SASL EXTERNAL)" \
	b_to_a
check "s2s streams are up at both servers" s2s_up
ej_s2s()
{
	[[ $(fed_ejabberdctl outgoing_s2s_number) -ge 1 &&
		$(fed_ejabberdctl incoming_s2s_number) -ge 1 ]]
}
check "ejabberdctl outgoing_s2s_number and incoming_s2s_number (docs/servers.md) >= 1" ej_s2s
pr_s2s()
{
	local out
	out=$(fed_prosodyctl shell s2s show) || return 1
	printf '%s\n' "$out" | sed 's/^/# prosodyctl shell s2s show | /'
	# Session | Host | Dir | Remote | IPv | Security | SASL | Dialback
	awk -F '[[:space:]]*[|][[:space:]]*' '$2 == "a.test" && $4 == "b.test" &&
		$6 ~ /^TLS/ && $7 == "Succeeded" && $8 ~ /^Not used/ { d[$3] = 1 }
		END { exit !(d["-->"] && d["<--"]) }' <<<"$out"
}
check "prosodyctl shell s2s show (docs/servers.md): both directions TLS, SASL EXTERNAL, no dialback" \
	pr_s2s
check "alice's controller approved bob's request back by itself" \
	grep -qF "approved subscription request of bob@$B (a contact we follow)" \
	"$(ctl_log a1)"
check "alice: friends list -> bob@b.test both" list_has a1 "bob@$B both"
check "bob: friends list -> alice@a.test both" list_has b1 "alice@$A both"
check "a1 pings b1 at b1's address in a1's view" view_ping a1 b1
check "b1 pings a1 at a1's address in b1's view" view_ping b1 a1

# ---- SocialVPN: bob's device offline and back ---------------------------------------------

FR_MS=""
FOLLOWS_TAG="ejabberd b.test -> Prosody a.test"
check "b1 stops (controller, then tincan)" member_stop b1
follows "b1 offline (unavailable presence across s2s): a1's link to b1 is gone" \
	15 unlinked a1 b1
FR_MS=""
must "restart ipop-tincan b1" tincan_start b1 b1
controller_start b1 b1
follows "b1 back: a1 and b1 linked again (from b1's restart)" 20 all_linked "a1 b1"

# ---- SocialVPN: removal and re-adding --------------------------------------------------------

FOLLOWS_TAG="Prosody a.test -> ejabberd b.test"
check "alice: friends remove bob@b.test" \
	friends_says a1 "bob@$B removed" remove "bob@$B"
follows "after the removal, a1<->b1 links and mappings are gone on both sides" \
	15 all_unlinked "a1 b1"
no_friend() { friends "$1" list && ! grep -q "^$2 both" <<<"$OUT"; }
check "bob: friends list no longer holds alice as a friend" no_friend b1 "alice@$A"
FOLLOWS_TAG="ejabberd b.test -> Prosody a.test"
PENDING_BEFORE=$(log_count "$(ctl_log a1)" "subscription request of bob@$B is pending")
check "bob: friends add alice@a.test again" friends b1 add "alice@$A"
pending_at_a1()
{
	(($(log_count "$(ctl_log a1)" "subscription request of bob@$B is pending") > PENDING_BEFORE))
}
follows "bob's new request crosses s2s to alice's running controller (logged as pending)" \
	15 pending_at_a1
check "alice: friends list shows bob's request pending" \
	list_has a1 "bob@$B none pending"
FOLLOWS_TAG="Prosody a.test -> ejabberd b.test"
check "alice: friends approve bob@b.test (approves, asks back)" \
	friends_says_either a1 "bob@$B from asked" "bob@$B both" approve "bob@$B"
follows "re-added: a1 and b1 link again" 20 all_linked "a1 b1"
check "a1 pings b1 again" view_ping a1 b1
check "b1 pings a1 again" view_ping b1 a1

# ---- GroupVPN across servers ---------------------------------------------------------------

FR_MS=""
check "g1 and g2 hold no link before asking" all_unlinked "g1 g2"
check "and g1 cannot ping g2 by virtual IP (no reply)" ping_fails g1 10.79.0.2
check "ga@a.test: friends add gb@b.test" friends g1 add "gb@$B"
follows "gb's controller approves and asks back (auto_approve), ga's approves back: g1 and g2 link" \
	20 all_linked "g1 g2"
check "g2 logged the approval under xmpp.auto_approve" \
	grep -qF "approved subscription request of ga@$A and asked back (xmpp.auto_approve)" \
	"$(ctl_log g2)"
check "g1 pings g2 by virtual IP" ping_ok g1 10.79.0.2 2
check "g2 pings g1 by virtual IP" ping_ok g2 10.79.0.1 2
FOLLOWS_TAG="ejabberd b.test -> Prosody a.test"
check "gb: friends remove ga@a.test" friends_says g2 "ga@$A removed" remove "ga@$A"
follows "gb removed ga: the g1<->g2 link is gone on both sides" 15 \
	all_unlinked "g1 g2"
FOLLOWS_TAG="Prosody a.test -> ejabberd b.test"
check "ga: friends add gb@b.test again" friends g1 add "gb@$B"
follows "re-added (gb's controller approves at once): g1 and g2 link again" 20 \
	all_linked "g1 g2"
check "g1 pings g2 by virtual IP again" ping_ok g1 10.79.0.2 2

# ---- b.test's server restarts ----------------------------------------------------------------

# Its users' controllers reconnect, the s2s streams are made again, and the
# friendships (stored on both servers) bring the links back.
FR_MS=""
FOLLOWS_TAG="ejabberd b.test restart"
declare -A ONLINE_BEFORE=([b1]=$(log_count "$(ctl_log b1)" "XMPP online as")
	[g2]=$(log_count "$(ctl_log g2)" "XMPP online as"))
t0=$(now_ms)
check "ejabberd (b.test) stops" fed_ejabberd_stop
tap_note "ejabberd stopped in $(secs "$t0") s; then a1-b1 $(linked a1 b1 &&
	echo still linked || echo unlinked), g1-g2 $(linked g1 g2 &&
	echo still linked || echo unlinked)"
check "ejabberd starts again" fed_ejabberd_start
back_online()
{
	local d
	for d in b1 g2; do
		(($(log_count "$(ctl_log "$d")" "XMPP online as") > ONLINE_BEFORE[$d])) ||
			return 1
	done
}
follows "b1's and g2's controllers are online again at b.test" 30 back_online
follows "after the restart, a1-b1 and g1-g2 are linked" 20 \
	all_linked "a1 b1" "g1 g2"
check "a1 pings b1 after the restart" view_ping a1 b1
check "g2 pings g1 after the restart" ping_ok g2 10.79.0.1 2

# ---- shutdown ----------------------------------------------------------------------------------

for d in "${MEMBERS[@]}"; do
	check "member $d stops cleanly" member_stop "$d"
done
check "Prosody stops" fed_prosody_stop
check "ejabberd stops" fed_ejabberd_stop
tap_done
