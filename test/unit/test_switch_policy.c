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

static void cfg_init(void)
{
	fake_cfg(&cfg, CTL_OVERLAY_SWITCH, "sw", "routers");
	cfg.bridge = (char *)(uintptr_t) "br0";
}

static const struct admit_case admits[] = {
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
	cfg_init();
	fake_check_admit(&ctl_switch_ops, &cfg, &admits[_i]);
}
END_TEST

static struct ctl_members *new_policy(struct rec *r)
{
	cfg_init();
	return fake_policy(r, &cfg, &ctl_switch_ops, "r1@x", NULL);
}

static struct ctl_members *ready_policy(struct rec *r)
{
	return fake_ready(new_policy(r));
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
	fake_finish(&r, e);
}
END_TEST

/* A router joins (link, candidates, never a mapping), its link comes up,
 * it says bye (kept while the link works) and the link fails. */
START_TEST(test_router_lifecycle)
{
	struct rec r;
	struct ctl_members *e = ready_policy(&r);
	struct ctl_sig adv, bye;

	fake_adv(&adv, "routers", "");
	ctl_member_presence(e, "r2@x/gw", true);
	ctl_member_signal(e, "r2@x/gw", &adv);
	fake_assert_joined(&r, "r2@x/gw", adv.uid);
	ck_assert_uint_eq(ctl_member_count(e), 1);

	fake_link_up(&r, e, "sw", "r2@x/gw", &adv);

	fake_bye(&bye, &adv);
	ctl_member_signal(e, "r2@x/gw", &bye);
	fake_kept_until_failed(&r, e, "sw", adv.uid);
	ck_assert_uint_eq(count_prefix(&r, "req map:"), 0);
	ck_assert_uint_eq(count_prefix(&r, "map "), 0);
	fake_finish(&r, e);
}
END_TEST

/* A failed link that tincan does not repair within the relink delay
 * (FAKE_RELINK_MS here) is remade by the side with the smaller uid (ours
 * is all ones, so a peer's uid starting with a higher digit waits on us);
 * not at once, which would spoil tincan's own repair. */
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
	ck_assert_uint_eq(count_prefix(&r, "req relink:"), 0);
	ck_assert(fake_wait_relink(&r, adv.uid));
	fake_reply(e, "relink", adv.uid, IPOP__STATUS__OK);
	ck_assert(logged(&r, "req create:%s %d", adv.uid,
			 IPOP__REQUEST__KIND_CREATE_LINK));
	ck_assert_uint_eq(count_prefix(&r, "req map:"), 0);
	fake_finish(&r, e);
}
END_TEST

/* A failed link that comes back within the delay is not remade. */
START_TEST(test_repaired_link_kept)
{
	struct rec r;
	struct ctl_members *e = ready_policy(&r);
	struct ctl_sig adv;
	gint64 end;

	do
		fake_adv(&adv, "routers", "");
	while (strcmp(FAKE_MY_UID, adv.uid) >= 0);
	ctl_member_signal(e, "r2@x/gw", &adv);
	fake_reply(e, "create", adv.uid, IPOP__STATUS__OK);
	g_ptr_array_set_size(r.log, 0);
	fake_link_event(e, "sw", adv.uid, IPOP__LINK_STATE__FAILED);
	fake_link_event(e, "sw", adv.uid, IPOP__LINK_STATE__CONNECTED);
	end = g_get_monotonic_time() + 4 * FAKE_RELINK_MS * 1000;
	while (g_get_monotonic_time() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(5000);
	ck_assert_uint_eq(count_prefix(&r, "req relink:"), 0);
	ck_assert_uint_eq(count_prefix(&r, "req remove:"), 0);
	fake_finish(&r, e);
}
END_TEST

/* A restarted controller adopts the running overlay and its link: no
 * CreateOverlay, no CreateLink, candidates asked again. */
START_TEST(test_restart_adopts)
{
	struct rec r;
	struct ctl_members *e = new_policy(&r);
	struct ctl_sig adv;

	fake_adv(&adv, "routers", "");
	fake_adopt_link(e, "sw", adv.uid);
	ctl_member_signal(e, "r2@x/gw", &adv);
	ck_assert_uint_eq(count_prefix(&r, "req overlay:"), 0);
	ck_assert_uint_eq(count_prefix(&r, "req create:"), 0);
	ck_assert(logged(&r, "req local:%s %d", adv.uid,
			 IPOP__REQUEST__KIND_GET_LOCAL_CANDIDATES));
	ck_assert_uint_eq(count_prefix(&r, "req map:"), 0);
	fake_finish(&r, e);
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
	tcase_add_test(tc, test_repaired_link_kept);
	tcase_add_test(tc, test_restart_adopts);
	suite_add_tcase(s, tc);
	return s;
}
