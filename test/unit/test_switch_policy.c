/*
 * Switch-mode policy decisions (the membership engine of member.c run by
 * switch.c's ops), driven without XMPP or tincan through the fake io of
 * fake_member.h: routers need no overlay address, the overlay is a
 * switch port of the bridge, and no member is ever mapped (tincan learns
 * MAC addresses).  Not to be confused with test_switch.c, which tests
 * tincan's learning switch.
 */
#include <check.h>
#include <string.h>

#include <glib.h>

#include "controller/switch.h"
#include "test/unit/fake_member.h"

static struct ctl_overlay_config cfg;
static uint8_t psk[32];

static void cfg_init(bool secret)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.type = CTL_OVERLAY_SWITCH;
	cfg.name = (char *)(uintptr_t) "sw";
	cfg.tap = (char *)(uintptr_t) "ipop0";
	cfg.bridge = (char *)(uintptr_t) "br0";
	cfg.group = (char *)(uintptr_t) "routers";
	cfg.mtu = 1400;
	cfg.has_secret = secret;
	memset(psk, 7, sizeof(psk));
	memcpy(cfg.psk, psk, 32);
}

static const struct {
	const char *name;
	bool secret;
	enum ctl_sub sub;
	const char *group;
	const char *ip;
	int proof; /* 0 none, 1 right psk, 2 wrong psk */
	bool self;
	bool admit;
} admits[] = {
    {"no address", false, CTL_SUB_BOTH, "routers", "", 0, false, true},
    {"with an address", false, CTL_SUB_BOTH, "routers", "10.1.0.2", 0, false,
     true},
    {"other group", false, CTL_SUB_BOTH, "x", "", 0, false, false},
    {"no subscription", false, CTL_SUB_NONE, "routers", "", 0, false, false},
    {"myself", false, CTL_SUB_BOTH, "routers", "", 0, true, false},
    {"secret, proof", true, CTL_SUB_BOTH, "routers", "", 1, false, true},
    {"secret, no proof", true, CTL_SUB_BOTH, "routers", "", 0, false, false},
    {"secret, wrong proof", true, CTL_SUB_BOTH, "routers", "", 2, false, false},
};

START_TEST(test_admits)
{
	struct ctl_sig s;
	uint8_t wrong[32];
	const char *why = NULL;
	bool ok;

	memset(wrong, 9, sizeof(wrong));
	cfg_init(admits[_i].secret);
	fake_adv(&s, admits[_i].group, admits[_i].ip);
	if (admits[_i].proof) {
		ctl_sig_proof(admits[_i].proof == 2 ? wrong : psk, s.group,
			      s.uid, s.key, s.proof);
		s.has_proof = true;
	}
	ok = ctl_member_admits(&ctl_switch_ops, &cfg,
			       admits[_i].self ? s.uid : FAKE_MY_UID,
			       admits[_i].sub, &s, &why);
	ck_assert_msg(ok == admits[_i].admit, "%s: got %d (%s)",
		      admits[_i].name, ok, why ? why : "");
	if (!ok)
		ck_assert_ptr_nonnull(why);
}
END_TEST

static struct ctl_members *new_policy(struct rec *r)
{
	struct ctl_member_io io = fake_io(r, "r1@x", NULL);
	uint8_t key[32] = {1};

	cfg_init(false);
	return ctl_member_new(&cfg, FAKE_MY_UID, key, &ctl_switch_ops, &io);
}

static struct ctl_members *ready_policy(struct rec *r)
{
	struct ctl_members *e = new_policy(r);

	ctl_member_adopt(e, NULL);
	fake_reply(e, "overlay", NULL, IPOP__STATUS__OK);
	return e;
}

static void finish(struct rec *r, struct ctl_members *e)
{
	fake_free(r);
	ctl_member_free(e);
}

/* The overlay is a switch port of the bridge, without translation or an
 * address; the advertisement carries none either. */
START_TEST(test_overlay_and_advert)
{
	struct rec r;
	struct ctl_members *e = new_policy(&r);

	ctl_member_adopt(e, NULL);
	ck_assert(
	    logged(&r, "req overlay: %d", IPOP__REQUEST__KIND_CREATE_OVERLAY));
	ck_assert(
	    logged(&r, "overlay %d 0 -/0 -/0 br0", IPOP__OVERLAY_MODE__SWITCH));
	fake_reply(e, "overlay", NULL, IPOP__STATUS__OK);
	ctl_member_presence(e, "r2@x/gw", true);
	ck_assert(logged(&r, "sig r2@x/gw 1 0"));
	ck_assert(logged(&r, "adv - -"));
	finish(&r, e);
}
END_TEST

/* A router joins (link, candidates, never a mapping), its link comes up,
 * it says bye (kept while the link works) and the link fails. */
START_TEST(test_router_lifecycle)
{
	struct rec r;
	struct ctl_members *e = ready_policy(&r);
	struct ctl_sig adv, link, bye;

	fake_adv(&adv, "routers", "");
	ctl_member_presence(e, "r2@x/gw", true);
	ctl_member_signal(e, "r2@x/gw", &adv);
	ck_assert(logged(&r, "sig r2@x/gw 1 1"));
	ck_assert(logged(&r, "req create:%s %d", adv.uid,
			 IPOP__REQUEST__KIND_CREATE_LINK));
	ck_assert(logged(&r, "req local:%s %d", adv.uid,
			 IPOP__REQUEST__KIND_GET_LOCAL_CANDIDATES));
	ck_assert_uint_eq(ctl_member_count(e), 1);

	fake_reply(e, "create", adv.uid, IPOP__STATUS__OK);
	fake_link(&link, &adv, "");
	ctl_member_signal(e, "r2@x/gw", &link);
	ck_assert(logged(&r, "req add:%s %d", adv.uid,
			 IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES));
	fake_link_event(e, "sw", adv.uid, IPOP__LINK_STATE__CONNECTED);
	ck_assert_uint_eq(ctl_member_connected(e), 1);

	fake_bye(&bye, &adv);
	ctl_member_signal(e, "r2@x/gw", &bye);
	ck_assert_uint_eq(ctl_member_count(e), 1);
	ck_assert_uint_eq(count_prefix(&r, "req remove:"), 0);
	fake_link_event(e, "sw", adv.uid, IPOP__LINK_STATE__FAILED);
	ck_assert(logged(&r, "req remove:%s %d", adv.uid,
			 IPOP__REQUEST__KIND_REMOVE_LINK));
	ck_assert_uint_eq(ctl_member_count(e), 0);
	ck_assert_uint_eq(count_prefix(&r, "req map:"), 0);
	ck_assert_uint_eq(count_prefix(&r, "map "), 0);
	finish(&r, e);
}
END_TEST

/* A failed link is remade by the side with the smaller uid (ours is all
 * ones, so a peer's uid starting with a higher digit waits on us). */
START_TEST(test_failed_link_remade)
{
	struct rec r;
	struct ctl_members *e = ready_policy(&r);
	struct ctl_sig adv;

	do
		fake_adv(&adv, "routers", "");
	while (strcmp(FAKE_MY_UID, adv.uid) >= 0);
	ctl_member_signal(e, "r2@x/gw", &adv);
	fake_reply(e, "create", adv.uid, IPOP__STATUS__OK);
	g_ptr_array_set_size(r.log, 0);
	fake_link_event(e, "sw", adv.uid, IPOP__LINK_STATE__FAILED);
	ck_assert(logged(&r, "req relink:%s %d", adv.uid,
			 IPOP__REQUEST__KIND_REMOVE_LINK));
	fake_reply(e, "relink", adv.uid, IPOP__STATUS__OK);
	ck_assert(logged(&r, "req create:%s %d", adv.uid,
			 IPOP__REQUEST__KIND_CREATE_LINK));
	ck_assert_uint_eq(count_prefix(&r, "req map:"), 0);
	finish(&r, e);
}
END_TEST

/* A restarted controller adopts the running overlay and its link: no
 * CreateOverlay, no CreateLink, candidates asked again. */
START_TEST(test_restart_adopts)
{
	struct rec r;
	struct ctl_members *e = new_policy(&r);
	Ipop__OverlayInfo info = IPOP__OVERLAY_INFO__INIT;
	Ipop__LinkInfo li = IPOP__LINK_INFO__INIT, *lis[1] = {&li};
	struct ctl_sig adv;

	fake_adv(&adv, "routers", "");
	info.name = (char *)(uintptr_t) "sw";
	li.peer_uid = adv.uid;
	info.links = lis;
	info.n_links = 1;
	ctl_member_adopt(e, &info);
	ctl_member_signal(e, "r2@x/gw", &adv);
	ck_assert_uint_eq(count_prefix(&r, "req overlay:"), 0);
	ck_assert_uint_eq(count_prefix(&r, "req create:"), 0);
	ck_assert(logged(&r, "req local:%s %d", adv.uid,
			 IPOP__REQUEST__KIND_GET_LOCAL_CANDIDATES));
	ck_assert_uint_eq(count_prefix(&r, "req map:"), 0);
	finish(&r, e);
}
END_TEST

Suite *suite_switch_policy(void)
{
	Suite *s = suite_create("switch_policy");
	TCase *tc = tcase_create("admits");

	tcase_add_loop_test(tc, test_admits, 0, G_N_ELEMENTS(admits));
	suite_add_tcase(s, tc);
	tc = tcase_create("policy");
	tcase_add_test(tc, test_overlay_and_advert);
	tcase_add_test(tc, test_router_lifecycle);
	tcase_add_test(tc, test_failed_link_remade);
	tcase_add_test(tc, test_restart_adopts);
	suite_add_tcase(s, tc);
	return s;
}
