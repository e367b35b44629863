#!/bin/bash
# End-to-end test of the friendship life cycle, driven from XMPP with
# `ipop-controller friends`, in a SocialVPN and a GroupVPN, against Prosody
# (or ejabberd with IPOP_XMPP_SERVER=ejabberd; test/e2e/ejabberd.sh).
# Accounts are made by in-band registration; every friendship change is a
# real roster or subscription stanza sent by the friends command while the
# daemons run.  The time for the links to follow each change is measured
# from the command's exit and printed ("# measured" lines, in seconds).
#
#                               ns "pub" (router)
#          XMPP c2s 100.64.0.3:5222 (plain)   coturn TURN 100.64.0.1:3478
#                                                    STUN 100.64.0.2:3478
#     100.64.11.1 100.64.12.1  100.64.3.1  100.64.14.1  100.64.21.1 ..22.1 ..23.1
#          |           |           |           |           |       |      |
#     100.64.11.2 100.64.12.2  100.64.3.2  100.64.14.2  100.64.21.2 ..22.2 ..23.2
#        ns a1       ns b1      ns nat3      ns c1        ns g1   ns g2  ns g3
#                               MASQUERADE
#                               10.3.0.1 - 10.3.0.2 ns b2
#
#   SocialVPN "social" (svpn, default xmpp.auto_approve: false):
#     alice: a1   bob: b1, b2 (b2 behind nat3)   carol: c1
#   GroupVPN "gvpn", group "lab", a group secret, 10.78.0.N/24:
#     g1, g2 with xmpp.auto_approve: true, friends from the start;
#     g3 (auto_approve false) joins with `friends add`
#
# Asserted, SocialVPN: alice's `friends add bob` leaves her request pending
# (bob's controllers approve nothing: no link, bob's `friends list` says
# pending, his log says how to answer); bob's `friends approve alice`
# makes the friendship mutual (alice's controller approves bob's request
# back by itself) and a1 links to b1 and b2 and pings them; carol's
# request refused by alice leaves carol with no subscription and no link;
# b2 going offline drops its link and coming back restores it; alice's
# `friends remove bob` drops every alice<->bob link and mapping; bob
# adding alice again and her approval bring them back.  GroupVPN: g3's
# `friends add` to g1 and g2 is approved and asked back by their
# controllers (auto_approve) and g3 links to both; g1 removing g3 drops
# g1<->g3 while g2<->g3 stays; g2 offline and back.  Usage errors exit 2,
# a missing request or contact exits 1.

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
# shellcheck disable=SC2034 # E2E_ERR is read by lib.sh's tap_fail

e2e_require_root
e2e_require_tools "$TINCAN" "$IPOPCTL" "$CONTROLLER" "$(xmpp_server_tool)" \
	python3 ss
e2e_init
controller_snapshot || exit 1
SRV=$(xmpp_server_name)
D=$XMPP_DOMAIN

SOCIAL=(a1 b1 b2 c1)
GROUP=(g1 g2 g3)
declare -A USER_OF=([a1]=alice [b1]=bob [b2]=bob [c1]=carol [g1]=g1 [g2]=g2
	[g3]=g3)
declare -A UID_OF=()
SECRET="friends e2e group secret: 0d9c41e7"

# ---- network, server, accounts ---------------------------------------------------

must "public router pub" pub_add
must "a1 on the public network" pubhost_add a1 11
must "b1 on the public network" pubhost_add b1 12
must "NAT router nat3" nat_add nat3 3
must "b2 behind nat3" host_add nat3 3 b2 2
must "c1 on the public network" pubhost_add c1 14
must "g1 on the public network" pubhost_add g1 21
must "g2 on the public network" pubhost_add g2 22
must "g3 on the public network" pubhost_add g3 23
must "$SRV configuration" xmpp_server_setup
must "start $SRV in pub" xmpp_server_start
must "start coturn in pub" turn_start
check "in-band registration of alice, bob, g1, g2, g3 (empty rosters)" \
	xmpp_register a1 alice:pw-alice bob:pw-bob g1:pw-g1 g2:pw-g2 g3:pw-g3
check "carol's account made with $SRV's admin command (docs/servers.md)" \
	xmpp_admin_register carol pw-carol
check "carol logs in (raw c2s stream, SASL PLAIN, bind)" \
	xmpp_login_ok c1 carol pw-carol
check "g1 and g2 are friends from the start (subscription exchange)" \
	xmpp_client g1 mesh g1:pw-g1 g2:pw-g2

for d in "${SOCIAL[@]}"; do
	must "configuration of $d" svpn_member_config "$d" "${USER_OF[$d]}" \
		"pw-${USER_OF[$d]}"
done
for i in 1 2 3; do
	must "configuration of g$i" member_config "g$i" "g$i" "pw-g$i" \
		"10.78.0.$i" lab "$SECRET"
done
for g in g1 g2; do
	sed -i 's/^  tls: off$/&\n  auto_approve: true/' "$(ctl_dir "$g")/controller.yaml"
done
check "--check-config accepts xmpp.auto_approve: true" \
	"$CONTROLLER" --config "$(ctl_dir g1)/controller.yaml" --check-config

# docs_configs: every ```yaml block of docs/planning.md passes
# --check-config (next to a password file and a group secret).
docs_configs()
{
	local dir=$E2E_TMP/docs n=0 f
	mkdir -p "$dir" && chmod 0700 "$dir" || return 1
	printf 'pw\n' >"$dir/xmpp-password" && chmod 0600 "$dir/xmpp-password"
	printf 'docs group secret 0123456789' >"$dir/group-secret" &&
		chmod 0600 "$dir/group-secret"
	awk -v d="$dir" '/^```yaml$/ { n++; f = d "/doc" n ".yaml"; next }
		/^```$/ { f = ""; next } f { print > f }' \
		"$(dirname "$0")/../../docs/planning.md"
	for f in "$dir"/doc*.yaml; do
		[[ -e $f ]] || return 1
		"$CONTROLLER" --config "$f" --check-config >/dev/null || return 1
		n=$((n + 1))
	done
	((n == 3))
}
check "the 3 configurations of docs/planning.md pass --check-config" docs_configs

for d in "${SOCIAL[@]}" "${GROUP[@]}"; do
	must "start ipop-tincan $d" tincan_start "$d" "$d"
	UID_OF[$d]=$(tincan_uid "$d")
	must "uid of $d" test -n "${UID_OF[$d]}"
done
for d in "${SOCIAL[@]}" "${GROUP[@]}"; do
	controller_start "$d" "$d"
done

online() { grep -qF "XMPP online as" "$(ctl_log "$1")"; }
all_online()
{
	local d
	for d in "${SOCIAL[@]}" "${GROUP[@]}"; do
		online "$d" || return 1
	done
}
must "every controller is online" wait_until 20 all_online

# ---- usage ------------------------------------------------------------------------

check "friends with no command exits 2" friends_exits a1 2
check "friends frobnicate exits 2" friends_exits a1 2 frobnicate
check "friends add with a resource exits 2" friends_exits a1 2 add "bob@$D/x"
check "friends add of the account itself exits 2" friends_exits a1 2 add "alice@$D"
empty_list() { friends "$1" list && [[ -z $OUT ]]; }
check "friends list on an empty roster prints nothing, exits 0" empty_list a1
check "friends approve without a pending request exits 1" \
	friends_exits a1 1 approve "bob@$D"
check "friends remove of a stranger exits 1" friends_exits a1 1 remove "bob@$D"

# ---- SocialVPN: request, approval --------------------------------------------------

AB=("a1 b1" "a1 b2")
check "alice: friends add bob -> bob none asked" \
	friends_says a1 "bob@$D none asked" add "bob@$D"
stays "the request alone makes no link (bob's controllers do not auto-approve) for 3 s" \
	3 all_unlinked "${AB[@]}"
check "bob's controllers logged the pending request and how to answer it" \
	grep -qF "subscription request of alice@$D is pending: approve it with" \
	"$(ctl_log b1)"
check "bob: friends list shows alice's request pending" \
	friends_says b2 "alice@$D none pending" list
check "bob: friends approve alice (approves, asks back) -> alice from asked (or both)" \
	friends_says_either b1 "alice@$D from asked" "alice@$D both" approve "alice@$D"
follows "after bob's approval, a1 links to b1 and b2" 15 all_linked "${AB[@]}"
check "alice's controller approved bob's request back by itself" \
	grep -qF "approved subscription request of bob@$D (a contact we follow)" \
	"$(ctl_log a1)"
check "alice: friends list -> bob both" friends_says a1 "bob@$D both" list
check "a1 pings b2 (behind nat3) at b2's address in a1's view" view_ping a1 b2
check "b1 pings a1 at a1's address in b1's view" view_ping b1 a1

# ---- SocialVPN: refusal --------------------------------------------------------------

check "carol: friends add alice" friends_says c1 "alice@$D none asked" add "alice@$D"
# list_is NAME LINE,LINE...: NAME's friends list is exactly that.
list_is() { friends "$1" list && [[ $(paste -sd, <<<"$OUT") == "$2" ]]; }
check "alice: friends list shows carol's request pending, bob both" \
	list_is a1 "bob@$D both,carol@$D none pending"
check "alice: friends refuse carol" friends_says a1 "carol@$D refused" refuse "carol@$D"
check "carol: friends list -> alice none (her request answered, no subscription)" \
	friends_says c1 "alice@$D none" list
check "alice: friends refuse carol again exits 1 (nothing pending)" \
	friends_exits a1 1 refuse "carol@$D"
check "a1 and c1 hold no link or mapping to each other" all_unlinked "a1 c1"

# ---- SocialVPN: a friend's device goes offline and comes back ----------------------------

FR_MS=""
check "b2 stops (controller, then tincan)" member_stop b2
follows "b2 offline: a1's link to b2 is gone" 15 unlinked a1 b2
check "a1 still linked to b1" linked a1 b1
FR_MS=""
must "restart ipop-tincan b2" tincan_start b2 b2
controller_start b2 b2
follows "b2 back: a1 and b2 linked again (from b2's restart)" 20 all_linked "a1 b2"

# ---- SocialVPN: removal and re-adding ------------------------------------------------------

check "alice: friends remove bob" friends_says a1 "bob@$D removed" remove "bob@$D"
follows "after the removal, every alice<->bob link and mapping is gone" 15 \
	all_unlinked "${AB[@]}"
no_friend() { friends "$1" list && ! grep -q "^$2@$D both" <<<"$OUT"; }
check "bob: friends list no longer holds alice as a friend" no_friend b1 alice
check "b1 and b2 stay linked to each other (same account)" all_linked "b1 b2"
check "bob: friends add alice again" friends "b1" add "alice@$D"
check "alice: friends approve bob (approves, asks back)" \
	friends_says_either a1 "bob@$D from asked" "bob@$D both" approve "bob@$D"
follows "re-added: a1 links to b1 and b2 again" 15 all_linked "${AB[@]}"
check "a1 pings b1 again at b1's address in a1's view" view_ping a1 b1

# ---- GroupVPN: joining, removal, offline -----------------------------------------------------

FR_MS=""
follows "g1 and g2 (friends from the start) are linked" 15 all_linked "g1 g2"
check "g3 holds no link before asking" all_unlinked "g1 g3" "g2 g3"
# g1 approves at once (xmpp.auto_approve) and asks back, so the command may
# already see that answer: asked, or approved (to), with g1's request pending.
friends_add_answered()
{
	friends g3 add "g1@$D" &&
		grep -qxE -- "g1@$D (none asked|to|to pending|both)" <<<"$OUT"
}
check "g3: friends add g1 (asked, or already approved by g1)" friends_add_answered
check "g3: friends add g2" friends g3 add "g2@$D"
follows "g1's and g2's controllers approve and ask back (auto_approve): g3 links to both" \
	15 all_linked "g1 g3" "g2 g3"
check "g1 logged the approval under xmpp.auto_approve" \
	grep -qF "approved subscription request of g3@$D and asked back (xmpp.auto_approve)" \
	"$(ctl_log g1)"
check "g3 pings g1 by virtual IP" ping_ok g3 10.78.0.1 2
check "g3 pings g2 by virtual IP" ping_ok g3 10.78.0.2 2
check "g1: friends list -> g2 both, g3 both" list_is g1 "g2@$D both,g3@$D both"
check "g1: friends remove g3" friends_says g1 "g3@$D removed" remove "g3@$D"
follows "g1 removed g3: the g1<->g3 link is gone" 15 all_unlinked "g1 g3"
check "g2<->g3 and g1<->g2 stay linked" all_linked "g2 g3" "g1 g2"
FR_MS=""
check "g2 stops" member_stop g2
gone_from_g2() { unlinked g1 g2 && unlinked g3 g2; }
follows "g2 offline: g1 and g3 hold no link to it" 15 gone_from_g2
FR_MS=""
must "restart ipop-tincan g2" tincan_start g2 g2
controller_start g2 g2
follows "g2 back: linked to g1 and g3 again (from g2's restart)" 20 \
	all_linked "g1 g2" "g2 g3"
check "and g1<->g3 stays apart" all_unlinked "g1 g3"
tap_done
