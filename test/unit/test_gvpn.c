/*
 * GroupVPN policy decisions (the membership engine of member.c run by
 * gvpn.c's ops), driven without XMPP or tincan: a fake io records every
 * tincan request and signal the policy makes.
 */
#include <check.h>
#include <string.h>

#include <glib.h>
#include <sodium.h>

#include "common/uid.h"
#include "controller/gvpn.h"
#include "test/unit/fake_member.h"

#define MY_UID FAKE_MY_UID

static struct ctl_overlay_config cfg;
static uint8_t psk[32];

static void cfg_init(bool secret)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.type = CTL_OVERLAY_GVPN;
	cfg.name = (char *)(uintptr_t) "gv";
	cfg.tap = (char *)(uintptr_t) "ipop0";
	cfg.ipv4 = (char *)(uintptr_t) "10.10.0.1";
	cfg.ipv4_prefix = 24;
	cfg.group = (char *)(uintptr_t) "lab";
	cfg.mtu = 1400;
	cfg.has_secret = secret;
	memset(psk, 7, sizeof(psk));
	memcpy(cfg.psk, psk, 32);
}

/* An advertisement from a fresh identity. */
static void make_adv(struct ctl_sig *s, const char *ip, bool proof,
		     const uint8_t *key_psk)
{
	uint8_t priv[32];

	memset(s, 0, sizeof(*s));
	s->kind = CTL_SIG_ADVERTISE;
	randombytes_buf(priv, 32);
	crypto_scalarmult_base(s->key, priv);
	ipop_uid_from_key(s->key, s->uid);
	g_strlcpy(s->overlay, "theirs", sizeof(s->overlay));
	g_strlcpy(s->group, "lab", sizeof(s->group));
	g_strlcpy(s->ipv4, ip, sizeof(s->ipv4));
	if (proof) {
		ctl_sig_proof(key_psk, s->group, s->uid, s->key, s->proof);
		s->has_proof = true;
	}
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
    {"member", false, CTL_SUB_BOTH, "lab", "10.10.0.2", 0, false, true},
    {"no subscription", false, CTL_SUB_NONE, "lab", "10.10.0.2", 0, false,
     false},
    {"only to", false, CTL_SUB_TO, "lab", "10.10.0.2", 0, false, false},
    {"only from", false, CTL_SUB_FROM, "lab", "10.10.0.2", 0, false, false},
    {"other group", false, CTL_SUB_BOTH, "other", "10.10.0.2", 0, false, false},
    {"myself", false, CTL_SUB_BOTH, "lab", "10.10.0.2", 0, true, false},
    {"my address", false, CTL_SUB_BOTH, "lab", "10.10.0.1", 0, false, false},
    {"no address", false, CTL_SUB_BOTH, "lab", "", 0, false, false},
    {"secret, proof", true, CTL_SUB_BOTH, "lab", "10.10.0.2", 1, false, true},
    {"secret, no proof", true, CTL_SUB_BOTH, "lab", "10.10.0.2", 0, false,
     false},
    {"secret, wrong proof", true, CTL_SUB_BOTH, "lab", "10.10.0.2", 2, false,
     false},
    {"no secret, proof anyway", false, CTL_SUB_BOTH, "lab", "10.10.0.2", 1,
     false, true},
};

START_TEST(test_admits)
{
	struct ctl_sig s;
	uint8_t wrong[32];
	const char *why = NULL;
	bool ok;

	memset(wrong, 9, sizeof(wrong));
	cfg_init(admits[_i].secret);
	make_adv(&s, admits[_i].ip, admits[_i].proof != 0,
		 admits[_i].proof == 2 ? wrong : psk);
	g_strlcpy(s.group, admits[_i].group, sizeof(s.group));
	if (admits[_i].proof)
		ctl_sig_proof(admits[_i].proof == 2 ? wrong : psk, s.group,
			      s.uid, s.key, s.proof);
	ok = ctl_member_admits(&ctl_gvpn_ops, &cfg,
			       admits[_i].self ? s.uid : MY_UID, admits[_i].sub,
			       &s, &why);
	ck_assert_msg(ok == admits[_i].admit, "%s: got %d (%s)",
		      admits[_i].name, ok, why ? why : "");
	if (!ok)
		ck_assert_ptr_nonnull(why);
}
END_TEST

static struct ctl_members *new_policy(struct rec *r)
{
	struct ctl_member_io io = fake_io(r, NULL, NULL);
	uint8_t key[32] = {1};

	cfg_init(false);
	return ctl_member_new(&cfg, MY_UID, key, &ctl_gvpn_ops, &io);
}

/* A policy whose overlay tincan has just created. */
static struct ctl_members *ready_policy(struct rec *r)
{
	Ipop__Response ok = IPOP__RESPONSE__INIT;
	struct ctl_members *g = new_policy(r);

	ctl_member_adopt(g, NULL);
	ctl_member_tincan_reply(g, "overlay:", &ok);
	return g;
}

static void finish(struct rec *r, struct ctl_members *g)
{
	fake_free(r);
	ctl_member_free(g);
}

/* Overlay creation, advertisement both ways, link and candidates. */
START_TEST(test_member_lifecycle)
{
	struct rec r;
	struct ctl_members *g = new_policy(&r);
	Ipop__Response ok = IPOP__RESPONSE__INIT;
	struct ctl_sig adv;
	char line[160];

	ctl_member_adopt(g, NULL);
	ck_assert(logged(&r, "req overlay: 2")); /* CreateOverlay */
	ctl_member_tincan_reply(g, "overlay:", &ok);

	ctl_member_presence(g, "bob@x/dev", true);
	ck_assert(logged(&r, "sig bob@x/dev 1 0")); /* advertise */

	make_adv(&adv, "10.10.0.2", false, NULL);
	ctl_member_signal(g, "bob@x/dev", &adv);
	ck_assert(logged(&r, "sig bob@x/dev 1 1")); /* answered, ack */
	g_snprintf(line, sizeof(line), "req create:%s 5", adv.uid);
	ck_assert(logged(&r, "%s", line));
	g_snprintf(line, sizeof(line), "req map:%s 9", adv.uid);
	ck_assert(logged(&r, "%s", line));
	ck_assert_uint_eq(ctl_member_count(g), 1);

	/* An ack is never answered again (no advertise ping-pong). */
	g_ptr_array_set_size(r.log, 0);
	adv.ack = true;
	ctl_member_signal(g, "bob@x/dev", &adv);
	ck_assert(!logged(&r, "sig bob@x/dev 1 1"));
	g_snprintf(line, sizeof(line), "req create:%s 5", adv.uid);
	ck_assert(!logged(&r, "%s", line)); /* idempotent */

	/* Offline: link and mapping go. */
	ctl_member_presence(g, "bob@x/dev", false);
	g_snprintf(line, sizeof(line), "req remove:%s 8", adv.uid);
	ck_assert(logged(&r, "%s", line));
	ck_assert_uint_eq(ctl_member_count(g), 0);
	finish(&r, g);
}
END_TEST

/* The XMPP server going away reports everyone unavailable, and a restarted
 * controller says bye: a working link stays until it fails; a link that is
 * not working goes at once. */
START_TEST(test_offline_keeps_working_link)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	struct ctl_sig adv, bye = {.kind = CTL_SIG_BYE};
	char line[160];

	make_adv(&adv, "10.10.0.2", false, NULL);
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__CONNECTED);
	ck_assert_uint_eq(ctl_member_connected(g), 1);
	g_snprintf(line, sizeof(line), "req remove:%s 8", adv.uid);

	ctl_member_presence(g, "bob@x/dev", false);
	ck_assert(!logged(&r, "%s", line));
	ck_assert_uint_eq(ctl_member_count(g), 1);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__FAILED);
	ck_assert(logged(&r, "%s", line));
	ck_assert_uint_eq(ctl_member_count(g), 0);

	/* Back, connected, then a bye (a controller restart): kept while it
	 * works, removed when it fails. */
	g_ptr_array_set_size(r.log, 0);
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__CONNECTED);
	g_strlcpy(bye.uid, adv.uid, sizeof(bye.uid));
	g_strlcpy(bye.overlay, adv.overlay, sizeof(bye.overlay));
	ctl_member_signal(g, "bob@x/dev", &bye);
	ck_assert(!logged(&r, "%s", line));
	ck_assert_uint_eq(ctl_member_count(g), 1);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__FAILED);
	ck_assert(logged(&r, "%s", line));
	ck_assert_uint_eq(ctl_member_count(g), 0);

	/* A bye for a link that is not working removes it at once. */
	g_ptr_array_set_size(r.log, 0);
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__CONNECTING);
	ctl_member_signal(g, "bob@x/dev", &bye);
	ck_assert(logged(&r, "%s", line));
	ck_assert_uint_eq(ctl_member_count(g), 0);
	finish(&r, g);
}
END_TEST

START_TEST(test_unfriend_and_strangers)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	struct ctl_sig adv;
	char line[160];

	/* A stranger (no mutual subscription) gets nothing. */
	r.sub = CTL_SUB_FROM;
	ctl_member_presence(g, "eve@x/dev", true);
	make_adv(&adv, "10.10.0.66", false, NULL);
	ctl_member_signal(g, "eve@x/dev", &adv);
	ck_assert_uint_eq(ctl_member_count(g), 0);
	g_snprintf(line, sizeof(line), "req create:%s 5", adv.uid);
	ck_assert(!logged(&r, "%s", line));
	ck_assert(!logged(&r, "sig eve@x/dev 1 0"));
	ck_assert(!logged(&r, "sig eve@x/dev 1 1"));

	/* A friend who is then unfriended loses the link. */
	r.sub = CTL_SUB_BOTH;
	make_adv(&adv, "10.10.0.3", false, NULL);
	ctl_member_signal(g, "carol@x/a", &adv);
	ck_assert_uint_eq(ctl_member_count(g), 1);
	ctl_member_roster(g, "carol@x", CTL_SUB_TO);
	ck_assert_uint_eq(ctl_member_count(g), 0);
	g_snprintf(line, sizeof(line), "req remove:%s 8", adv.uid);
	ck_assert(logged(&r, "%s", line));
	finish(&r, g);
}
END_TEST

/* Adopting a running tincan keeps its links: no CreateLink for them. */
START_TEST(test_adopt_keeps_links)
{
	struct rec r;
	struct ctl_members *g = new_policy(&r);
	Ipop__OverlayInfo info = IPOP__OVERLAY_INFO__INIT;
	Ipop__LinkInfo li = IPOP__LINK_INFO__INIT, *lis[1] = {&li};
	struct ctl_sig adv;
	char line[160];

	make_adv(&adv, "10.10.0.2", false, NULL);
	info.name = (char *)(uintptr_t) "gv";
	li.peer_uid = adv.uid;
	info.links = lis;
	info.n_links = 1;
	ctl_member_adopt(g, &info);
	ck_assert(!logged(&r, "req overlay: 2"));
	ctl_member_signal(g, "bob@x/dev", &adv);
	g_snprintf(line, sizeof(line), "req create:%s 5", adv.uid);
	ck_assert(!logged(&r, "%s", line));
	g_snprintf(line, sizeof(line), "req map:%s 9", adv.uid);
	ck_assert(logged(&r, "%s", line));
	finish(&r, g);
}
END_TEST

/* The peer remade its link: our add is refused with EXISTS, so ours is
 * removed and made again, and the candidates go in afterwards. */
START_TEST(test_relink_on_new_credentials)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	Ipop__Response ok = IPOP__RESPONSE__INIT, exists = IPOP__RESPONSE__INIT;
	struct ctl_sig adv, link;
	char tag[80], line[160];

	exists.status = IPOP__STATUS__EXISTS;
	make_adv(&adv, "10.10.0.2", false, NULL);
	ctl_member_signal(g, "bob@x/dev", &adv);
	g_snprintf(tag, sizeof(tag), "create:%s", adv.uid);
	ctl_member_tincan_reply(g, tag, &ok);

	fake_link(&link, &adv, "");
	ctl_member_signal(g, "bob@x/dev", &link);
	g_snprintf(line, sizeof(line), "req add:%s 6", adv.uid);
	ck_assert(logged(&r, "%s", line));

	g_ptr_array_set_size(r.log, 0);
	g_snprintf(tag, sizeof(tag), "add:%s", adv.uid);
	ctl_member_tincan_reply(g, tag, &exists);
	g_snprintf(line, sizeof(line), "req relink:%s 8", adv.uid);
	ck_assert(logged(&r, "%s", line));
	g_snprintf(tag, sizeof(tag), "relink:%s", adv.uid);
	ctl_member_tincan_reply(g, tag, &ok);
	g_snprintf(line, sizeof(line), "req create:%s 5", adv.uid);
	ck_assert(logged(&r, "%s", line));
	g_snprintf(tag, sizeof(tag), "create:%s", adv.uid);
	ctl_member_tincan_reply(g, tag, &ok);
	g_snprintf(line, sizeof(line), "req add:%s 6", adv.uid);
	ck_assert(logged(&r, "%s", line));
	finish(&r, g);
}
END_TEST

/* Candidates bound to a link of ours that is gone are not added (they
 * would make us remake a working link); ours go out again instead. */
START_TEST(test_stale_candidates_ignored)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	Ipop__Response ok = IPOP__RESPONSE__INIT, local = IPOP__RESPONSE__INIT;
	Ipop__IceCredentials creds = IPOP__ICE_CREDENTIALS__INIT;
	struct ctl_sig adv, link;
	char tag[80], line[160];

	make_adv(&adv, "10.10.0.2", false, NULL);
	ctl_member_signal(g, "bob@x/dev", &adv);
	g_snprintf(tag, sizeof(tag), "create:%s", adv.uid);
	ctl_member_tincan_reply(g, tag, &ok);
	/* Our link's credentials go out (ufrag "mine"). */
	creds.ufrag = (char *)(uintptr_t) "mine";
	creds.pwd = (char *)(uintptr_t) "abcdefghijklmnopqrstuvwxyz";
	local.result_case = IPOP__RESPONSE__RESULT_LOCAL;
	local.local = &creds;
	g_snprintf(tag, sizeof(tag), "local:%s", adv.uid);
	ctl_member_tincan_reply(g, tag, &local);
	ck_assert(logged(&r, "sig bob@x/dev 2 0"));

	fake_link(&link, &adv, "old1");
	g_ptr_array_set_size(r.log, 0);
	ctl_member_signal(g, "bob@x/dev", &link);
	g_snprintf(line, sizeof(line), "req add:%s 6", adv.uid);
	ck_assert(!logged(&r, "%s", line));
	g_snprintf(line, sizeof(line), "req local:%s 7", adv.uid);
	ck_assert(logged(&r, "%s", line));

	/* Bound to our current link: added. */
	g_strlcpy(link.seen, "mine", sizeof(link.seen));
	ctl_member_signal(g, "bob@x/dev", &link);
	g_snprintf(line, sizeof(line), "req add:%s 6", adv.uid);
	ck_assert(logged(&r, "%s", line));
	finish(&r, g);
}
END_TEST

Suite *suite_gvpn(void)
{
	Suite *s = suite_create("gvpn");
	TCase *tc = tcase_create("admits");

	tcase_add_loop_test(tc, test_admits, 0, G_N_ELEMENTS(admits));
	suite_add_tcase(s, tc);
	tc = tcase_create("policy");
	tcase_add_test(tc, test_member_lifecycle);
	tcase_add_test(tc, test_unfriend_and_strangers);
	tcase_add_test(tc, test_offline_keeps_working_link);
	tcase_add_test(tc, test_adopt_keeps_links);
	tcase_add_test(tc, test_relink_on_new_credentials);
	tcase_add_test(tc, test_stale_candidates_ignored);
	suite_add_tcase(s, tc);
	return s;
}
