/*
 * SocialVPN policy decisions (the membership engine of member.c run by
 * svpn.c's ops), driven without XMPP or tincan through the fake io of
 * fake_member.h: admission, the translated overlay, local-view mappings
 * that survive a restart, own devices, leaving, and a full subnet.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "controller/svpn.h"
#include "test/unit/fake_member.h"

#define MY_JID "alice@x"

static struct ctl_overlay_config cfg;
static char *dir; /* the state dir of one test */

static void cfg_init(const char *subnet, unsigned prefix, const char *self)
{
	fake_cfg(&cfg, CTL_OVERLAY_SVPN, "sv", "socialvpn");
	cfg.ipv4 = (char *)(uintptr_t)self;
	cfg.ipv4_prefix = prefix;
	inet_pton(AF_INET, subnet, cfg.subnet);
	cfg.subnet_prefix = prefix;
}

static void setup(void)
{
	dir = g_dir_make_tmp("ipop-svpn-XXXXXX", NULL);
	ck_assert_ptr_nonnull(dir);
	cfg_init("172.31.0.0", 16, "172.31.0.1");
}

static void teardown(void)
{
	g_autofree char *f = g_build_filename(dir, "svpn-sv.addrs", NULL);

	g_unlink(f);
	g_rmdir(dir);
	g_free(dir);
}

static struct ctl_members *new_policy(struct rec *r)
{
	return fake_policy(r, &cfg, &ctl_svpn_ops, MY_JID, dir);
}

/* A policy whose overlay tincan has just created. */
static struct ctl_members *ready_policy(struct rec *r)
{
	return fake_ready(new_policy(r));
}

/* The view address tincan was told for uid (remove 0), or "". */
static void view_of(const struct rec *r, const char *uid,
		    char v4[INET_ADDRSTRLEN])
{
	g_autofree char *prefix = g_strdup_printf("map %s ", uid);
	char v6[INET6_ADDRSTRLEN], peer[INET_ADDRSTRLEN];
	int remove;
	guint i;

	v4[0] = '\0';
	for (i = 0; i < r->log->len; i++) {
		const char *l = r->log->pdata[i];
		if (g_str_has_prefix(l, prefix) &&
		    sscanf(l + strlen(prefix), "%15s %45s %15s %d", v4, v6,
			   peer, &remove) == 4 &&
		    !remove)
			return;
	}
	v4[0] = '\0';
}

static const struct admit_case admits[] = {
    {"friend", false, CTL_SUB_BOTH, "socialvpn", "172.31.0.2", 0, false, true},
    /* Everyone may use the same address in its own view. */
    {"same own address", false, CTL_SUB_BOTH, "socialvpn", "172.31.0.1", 0,
     false, true},
    {"stranger", false, CTL_SUB_TO, "socialvpn", "172.31.0.9", 0, false, false},
    {"half friend", false, CTL_SUB_FROM, "socialvpn", "172.31.0.9", 0, false,
     false},
    {"no address", false, CTL_SUB_BOTH, "socialvpn", "", 0, false, false},
    {"other group", false, CTL_SUB_BOTH, "lab", "172.31.0.2", 0, false, false},
    {"myself", false, CTL_SUB_BOTH, "socialvpn", "172.31.0.2", 0, true, false},
};

START_TEST(test_admits)
{
	fake_check_admit(&ctl_svpn_ops, &cfg, &admits[_i]);
}
END_TEST

START_TEST(test_ipv6_of_uid)
{
	char v6[INET6_ADDRSTRLEN];

	ctl_svpn_ipv6("0123456789abcdef0123456789abcdef01234567", v6);
	ck_assert_str_eq(v6, "fd69:706f:7076:123:4567:89ab:cdef:123");
	ctl_svpn_ipv6(FAKE_MY_UID, v6);
	ck_assert_str_eq(v6, "fd69:706f:7076:1111:1111:1111:1111:1111");
}
END_TEST

/* The overlay translates and carries our uid-derived IPv6; so does our
 * advertisement. */
START_TEST(test_overlay_and_advert)
{
	struct rec r;
	struct ctl_members *e = new_policy(&r);

	ctl_member_adopt(e, NULL);
	ck_assert(
	    logged(&r, "req overlay: %d", IPOP__REQUEST__KIND_CREATE_OVERLAY));
	ck_assert(logged(&r, "overlay %d 1 172.31.0.1/16 %s/48 -",
			 IPOP__OVERLAY_MODE__L3,
			 "fd69:706f:7076:1111:1111:1111:1111:1111"));
	fake_reply(e, "overlay", NULL, IPOP__STATUS__OK);
	ctl_member_presence(e, "bob@x/dev", true);
	ck_assert(logged(&r, "sig bob@x/dev 1 0"));
	ck_assert(logged(&r, "adv 172.31.0.1 %s",
			 "fd69:706f:7076:1111:1111:1111:1111:1111"));
	fake_finish(&r, e);
}
END_TEST

/* A friend joins (mapped to its address in our view, translated from the
 * one it uses), its link comes up, it goes offline (kept while the link
 * works) and the link fails (link and mapping go). */
START_TEST(test_friend_lifecycle)
{
	struct rec r;
	struct ctl_members *e = ready_policy(&r);
	struct ctl_sig adv;
	char view[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
	uint8_t a[4];

	fake_adv(&adv, "socialvpn", "172.31.0.1");
	ctl_member_presence(e, "bob@x/dev", true);
	ctl_member_signal(e, "bob@x/dev", &adv);
	fake_assert_joined(&r, "bob@x/dev", adv.uid);
	view_of(&r, adv.uid, view);
	ck_assert_str_ne(view, "");
	ck_assert_str_ne(view, "172.31.0.1"); /* never our own address */
	ck_assert_int_eq(inet_pton(AF_INET, view, a), 1);
	ck_assert_uint_eq(a[0], 172);
	ck_assert_uint_eq(a[1], 31);
	ctl_svpn_ipv6(adv.uid, v6);
	ck_assert(logged(&r, "map %s %s %s 172.31.0.1 0", adv.uid, view, v6));
	ck_assert_uint_eq(ctl_member_count(e), 1);

	fake_link_up(&r, e, "sv", "bob@x/dev", &adv);

	g_ptr_array_set_size(r.log, 0);
	ctl_member_presence(e, "bob@x/dev", false);
	fake_kept_until_failed(&r, e, "sv", adv.uid);
	ck_assert(logged(&r, "map %s 172.31.0.1 - - 1", adv.uid));
	fake_finish(&r, e);
}
END_TEST

/* This user's other devices are members without a roster entry and are
 * never unfriended; strangers are not; a friend who is unfriended goes. */
START_TEST(test_own_devices_and_unfriend)
{
	struct rec r;
	struct ctl_members *e = ready_policy(&r);
	struct ctl_sig phone, eve, bob;

	r.sub = CTL_SUB_NONE;
	ctl_member_presence(e, MY_JID "/phone", true);
	ck_assert(logged(&r, "sig " MY_JID "/phone 1 0"));
	fake_adv(&phone, "socialvpn", "172.31.0.1");
	ctl_member_signal(e, MY_JID "/phone", &phone);
	ck_assert_uint_eq(ctl_member_count(e), 1);
	ctl_member_roster(e, MY_JID, CTL_SUB_NONE);
	ck_assert_uint_eq(ctl_member_count(e), 1);

	ctl_member_presence(e, "eve@x/dev", true);
	ck_assert(!logged(&r, "sig eve@x/dev 1 0"));
	fake_adv(&eve, "socialvpn", "172.31.0.1");
	ctl_member_signal(e, "eve@x/dev", &eve);
	ck_assert_uint_eq(ctl_member_count(e), 1);
	ck_assert(!logged(&r, "req create:%s %d", eve.uid,
			  IPOP__REQUEST__KIND_CREATE_LINK));

	r.sub = CTL_SUB_BOTH;
	fake_adv(&bob, "socialvpn", "172.31.0.1");
	ctl_member_signal(e, "bob@x/dev", &bob);
	ck_assert_uint_eq(ctl_member_count(e), 2);
	ctl_member_roster(e, "bob@x", CTL_SUB_TO);
	ck_assert_uint_eq(ctl_member_count(e), 1);
	ck_assert(logged(&r, "req remove:%s %d", bob.uid,
			 IPOP__REQUEST__KIND_REMOVE_LINK));
	fake_finish(&r, e);
}
END_TEST

/* A restarted controller adopts tincan's link (no CreateLink) and maps the
 * friend to the same view address, read back from the state dir. */
START_TEST(test_restart_keeps_view)
{
	struct rec r;
	struct ctl_members *e = ready_policy(&r);
	struct ctl_sig adv;
	char before[INET_ADDRSTRLEN], after[INET_ADDRSTRLEN];

	fake_adv(&adv, "socialvpn", "172.31.0.7");
	ctl_member_signal(e, "bob@x/dev", &adv);
	view_of(&r, adv.uid, before);
	ck_assert_str_ne(before, "");
	fake_finish(&r, e);

	e = new_policy(&r);
	fake_adopt_link(e, "sv", adv.uid);
	ck_assert_uint_eq(count_prefix(&r, "req overlay:"), 0);
	ctl_member_signal(e, "bob@x/dev", &adv);
	ck_assert(!logged(&r, "req create:%s %d", adv.uid,
			  IPOP__REQUEST__KIND_CREATE_LINK));
	view_of(&r, adv.uid, after);
	ck_assert_str_eq(after, before);
	fake_finish(&r, e);
}
END_TEST

/* A /30 holds two hosts: ours and one friend's.  A second friend still
 * gets a link but no mapping. */
START_TEST(test_subnet_full)
{
	struct rec r;
	struct ctl_members *e;
	struct ctl_sig bob, carol;
	char view[INET_ADDRSTRLEN];

	cfg_init("10.0.0.0", 30, "10.0.0.1");
	e = ready_policy(&r);
	fake_adv(&bob, "socialvpn", "10.0.0.1");
	ctl_member_signal(e, "bob@x/dev", &bob);
	view_of(&r, bob.uid, view);
	ck_assert_str_eq(view, "10.0.0.2");
	fake_adv(&carol, "socialvpn", "10.0.0.1");
	ctl_member_signal(e, "carol@x/dev", &carol);
	ck_assert(logged(&r, "req create:%s %d", carol.uid,
			 IPOP__REQUEST__KIND_CREATE_LINK));
	ck_assert(!logged(&r, "req map:%s %d", carol.uid,
			  IPOP__REQUEST__KIND_MAP_PEER));
	ck_assert_uint_eq(ctl_member_count(e), 2);
	fake_finish(&r, e);
}
END_TEST

/* A uid the address table refuses gets no mapping (map used to go on
 * with an unset address; audit, issue 18). */
START_TEST(test_map_bad_uid)
{
	struct rec r;
	struct ctl_member_io io = fake_io(&r, MY_JID, dir);
	const struct ctl_peer p = {"bob@x/dev", "not-a-uid", "172.31.0.2", ""};
	struct ctl_mapping m;
	void *state = NULL;

	ck_assert_int_eq(ctl_svpn_ops.init(&state, &cfg, FAKE_MY_UID, &io), 0);
	ck_assert(!ctl_svpn_ops.map(state, &p, false, &m));
	ctl_svpn_ops.fini(state);
	fake_free(&r);
}
END_TEST

/* An address table that cannot be opened leaves the overlay unmanaged. */
START_TEST(test_unusable_state_dir)
{
	struct rec r;
	g_autofree char *file = g_build_filename(dir, "svpn-sv.addrs", NULL);
	g_autofree char *under = g_build_filename(file, "sub", NULL);
	struct ctl_member_io io;
	uint8_t key[32] = {1};

	ck_assert(g_file_set_contents(file, "", 0, NULL));
	io = fake_io(&r, MY_JID, under);
	ck_assert_ptr_null(
	    ctl_member_new(&cfg, FAKE_MY_UID, key, &ctl_svpn_ops, &io));
	fake_free(&r);
}
END_TEST

Suite *suite_svpn(void)
{
	Suite *s = suite_create("svpn");
	TCase *tc = tcase_create("admits");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_admits, 0, G_N_ELEMENTS(admits));
	tcase_add_test(tc, test_ipv6_of_uid);
	suite_add_tcase(s, tc);
	tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_overlay_and_advert);
	tcase_add_test(tc, test_friend_lifecycle);
	tcase_add_test(tc, test_own_devices_and_unfriend);
	tcase_add_test(tc, test_restart_keeps_view);
	tcase_add_test(tc, test_subnet_full);
	tcase_add_test(tc, test_unusable_state_dir);
	tcase_add_test(tc, test_map_bad_uid);
	suite_add_tcase(s, tc);
	return s;
}
