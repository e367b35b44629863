/*
 * GroupVPN policy decisions (the membership engine of member.c run by
 * gvpn.c's ops), driven without XMPP or tincan: a fake io records every
 * tincan request and signal the policy makes.
 */
#include <check.h>
#include <string.h>

#include <glib.h>

#include "common/names.h"
#include "controller/gvpn.h"
#include "test/unit/fake_member.h"

static struct ctl_overlay_config cfg;

static void cfg_init(void)
{
	fake_cfg(&cfg, CTL_OVERLAY_GVPN, "gv", "lab");
	cfg.ipv4 = (char *)(uintptr_t) "10.10.0.1";
	cfg.ipv4_prefix = 24;
}

static const struct admit_case admits[] = {
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
	cfg_init();
	fake_check_admit(&ctl_gvpn_ops, &cfg, &admits[_i]);
}
END_TEST

static struct ctl_members *new_policy(struct rec *r)
{
	cfg_init();
	return fake_policy(r, &cfg, &ctl_gvpn_ops, NULL, NULL);
}

/* A policy whose overlay tincan has just created. */
static struct ctl_members *ready_policy(struct rec *r)
{
	return fake_ready(new_policy(r));
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

	fake_adv(&adv, "lab", "10.10.0.2");
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
	fake_finish(&r, g);
}
END_TEST

/* The XMPP server going away reports everyone unavailable, and a restarted
 * controller says bye: a working link stays until it fails; a link that is
 * not working goes at once. */
START_TEST(test_offline_keeps_working_link)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	struct ctl_sig adv, bye;
	char line[160];

	fake_adv(&adv, "lab", "10.10.0.2");
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__CONNECTED);
	ck_assert_uint_eq(ctl_member_connected(g), 1);

	ctl_member_presence(g, "bob@x/dev", false);
	fake_kept_until_failed(&r, g, "gv", adv.uid);

	/* Back, connected, then a bye (a controller restart): kept while it
	 * works, removed when it fails. */
	g_ptr_array_set_size(r.log, 0);
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__CONNECTED);
	fake_bye(&bye, &adv);
	ctl_member_signal(g, "bob@x/dev", &bye);
	fake_kept_until_failed(&r, g, "gv", adv.uid);

	/* A bye for a link that is not working removes it at once. */
	g_ptr_array_set_size(r.log, 0);
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_link_event(g, "gv", adv.uid, IPOP__LINK_STATE__CONNECTING);
	ctl_member_signal(g, "bob@x/dev", &bye);
	g_snprintf(line, sizeof(line), "req remove:%s 8", adv.uid);
	ck_assert(logged(&r, "%s", line));
	ck_assert_uint_eq(ctl_member_count(g), 0);
	fake_finish(&r, g);
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
	fake_adv(&adv, "lab", "10.10.0.66");
	ctl_member_signal(g, "eve@x/dev", &adv);
	ck_assert_uint_eq(ctl_member_count(g), 0);
	g_snprintf(line, sizeof(line), "req create:%s 5", adv.uid);
	ck_assert(!logged(&r, "%s", line));
	ck_assert(!logged(&r, "sig eve@x/dev 1 0"));
	ck_assert(!logged(&r, "sig eve@x/dev 1 1"));

	/* A friend who is then unfriended loses the link. */
	r.sub = CTL_SUB_BOTH;
	fake_adv(&adv, "lab", "10.10.0.3");
	ctl_member_signal(g, "carol@x/a", &adv);
	ck_assert_uint_eq(ctl_member_count(g), 1);
	ctl_member_roster(g, "carol@x", CTL_SUB_TO);
	ck_assert_uint_eq(ctl_member_count(g), 0);
	g_snprintf(line, sizeof(line), "req remove:%s 8", adv.uid);
	ck_assert(logged(&r, "%s", line));
	fake_finish(&r, g);
}
END_TEST

/* Adopting a running tincan keeps its links: no CreateLink for them. */
START_TEST(test_adopt_keeps_links)
{
	struct rec r;
	struct ctl_members *g = new_policy(&r);
	struct ctl_sig adv;
	char line[160];

	fake_adv(&adv, "lab", "10.10.0.2");
	fake_adopt_link(g, "gv", adv.uid);
	ck_assert(!logged(&r, "req overlay: 2"));
	ctl_member_signal(g, "bob@x/dev", &adv);
	g_snprintf(line, sizeof(line), "req create:%s 5", adv.uid);
	ck_assert(!logged(&r, "%s", line));
	g_snprintf(line, sizeof(line), "req map:%s 9", adv.uid);
	ck_assert(logged(&r, "%s", line));
	fake_finish(&r, g);
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
	fake_adv(&adv, "lab", "10.10.0.2");
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
	fake_finish(&r, g);
}
END_TEST

/* Candidates bound to a link of ours that is gone are not added (they
 * would make us remake a working link); ours go out again instead. */
START_TEST(test_stale_candidates_ignored)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	Ipop__Response ok = IPOP__RESPONSE__INIT;
	struct ctl_sig adv, link;
	char tag[80], line[160];

	fake_adv(&adv, "lab", "10.10.0.2");
	ctl_member_signal(g, "bob@x/dev", &adv);
	g_snprintf(tag, sizeof(tag), "create:%s", adv.uid);
	ctl_member_tincan_reply(g, tag, &ok);
	/* Our link's credentials go out (ufrag "mine"). */
	fake_local(g, adv.uid, "mine");
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
	fake_finish(&r, g);
}
END_TEST

/* Our link is new and its candidates have not gone out yet: the peer
 * cannot be bound to it, so candidates bound to some ufrag of ours are
 * for a link gone (signalling lagged behind a remake).  Taken, our new
 * link's checks were answered by a peer still bound to our old one and
 * only our side selected a pair.  They are dropped, ours go out bound to
 * the peer's ufrag of now, and its answer to them goes in. */
START_TEST(test_bound_before_ours_went_out_ignored)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	struct ctl_sig adv, link;

	fake_adv(&adv, "lab", "10.10.0.2");
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_reply(g, "create", adv.uid, IPOP__STATUS__OK);
	g_ptr_array_set_size(r.log, 0);
	fake_link(&link, &adv, "gone1");
	ctl_member_signal(g, "bob@x/dev", &link);
	ck_assert(!logged(&r, "req add:%s 6", adv.uid));
	ck_assert(logged(&r, "req local:%s 7", adv.uid));
	ck_assert(!logged(&r, "req relink:%s 8", adv.uid));
	/* Unbound candidates (a peer's new link) go in as before. */
	g_ptr_array_set_size(r.log, 0);
	fake_link(&link, &adv, "");
	ctl_member_signal(g, "bob@x/dev", &link);
	ck_assert(logged(&r, "req add:%s 6", adv.uid));
	/* Ours go out; the peer's answer, bound to them, goes in. */
	fake_local(g, adv.uid, "mine");
	g_ptr_array_set_size(r.log, 0);
	fake_link(&link, &adv, "mine");
	ctl_member_signal(g, "bob@x/dev", &link);
	ck_assert(logged(&r, "req add:%s 6", adv.uid));
	fake_finish(&r, g);
}
END_TEST

/* A link signal from adv, unbound, whose candidates carry ufrag (the
 * blob lives in buf). */
static void unbound_link(struct ctl_sig *link, const struct ctl_sig *adv,
			 const char *ufrag, char **buf)
{
	g_free(*buf);
	*buf = fake_cands(ufrag);
	fake_link(link, adv, "");
	link->cands = *buf;
}

/* The peer's tincan restarted while our link to its old one still ran:
 * its new link's candidates come unbound while ours last went out bound
 * to its old link.  They go in, and ours go out again at once, bound to
 * the new link (its end has none of ours), whether our link connects or
 * is connected.  Unbound candidates that are the old link's, or that
 * meet ours sent unbound (two ends linking at once), draw no answer. */
START_TEST(test_new_link_of_peer_answered)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	struct ctl_sig adv, link;
	g_autofree char *buf = NULL;
	int round;

	fake_adv(&adv, "lab", "10.10.0.2");
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_reply(g, "create", adv.uid, IPOP__STATUS__OK);
	fake_local(g, adv.uid, "mine");
	ck_assert(logged(&r, "cands -"));
	/* Two ends linking at once: both unbound, no answer. */
	g_ptr_array_set_size(r.log, 0);
	unbound_link(&link, &adv, "old0", &buf);
	ctl_member_signal(g, "bob@x/dev", &link);
	ck_assert(logged(&r, "req add:%s 6", adv.uid));
	ck_assert(!logged(&r, "req local:%s 7", adv.uid));
	fake_reply(g, "add", adv.uid, IPOP__STATUS__OK);
	/* Ours go out again (an ICE restart of ours), bound to "old0". */
	fake_local(g, adv.uid, "mine2");
	ck_assert(logged(&r, "cands old0"));
	for (round = 0; round < 2; round++) {
		if (round == 1) {
			fake_link_event(g, "gv", adv.uid,
					IPOP__LINK_STATE__CONNECTED);
			ck_assert_uint_eq(ctl_member_connected(g), 1);
		}
		/* The old link's candidates, resent: nothing to answer. */
		g_ptr_array_set_size(r.log, 0);
		unbound_link(&link, &adv, round ? "new1" : "old0", &buf);
		ctl_member_signal(g, "bob@x/dev", &link);
		ck_assert(!logged(&r, "req local:%s 7", adv.uid));
		/* The peer's new link: answered, bound to it. */
		unbound_link(&link, &adv, round ? "new2" : "new1", &buf);
		ctl_member_signal(g, "bob@x/dev", &link);
		ck_assert(logged(&r, "req add:%s 6", adv.uid));
		ck_assert(logged(&r, "req local:%s 7", adv.uid));
		fake_local(g, adv.uid, "mine2");
		ck_assert(logged(&r, "cands %s", round ? "new2" : "new1"));
		/* Its resend draws no second answer. */
		g_ptr_array_set_size(r.log, 0);
		ctl_member_signal(g, "bob@x/dev", &link);
		ck_assert(!logged(&r, "req local:%s 7", adv.uid));
	}
	fake_finish(&r, g);
}
END_TEST

/* The peer remade its link bound to ours (seen = our ufrag) while ours is
 * bound to its old one: our add fails with EXISTS and we remake.  The new
 * link must not take those candidates (they are bound to the link just
 * removed, and the peer would have to remake in turn, for ever): ours go
 * out unbound and the peer's next ones go in. */
START_TEST(test_relink_drops_bound_candidates)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	struct ctl_sig adv, link;

	fake_adv(&adv, "lab", "10.10.0.2");
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_reply(g, "create", adv.uid, IPOP__STATUS__OK);
	fake_local(g, adv.uid, "mine");
	fake_link(&link, &adv, "mine");
	ctl_member_signal(g, "bob@x/dev", &link);
	ck_assert(logged(&r, "req add:%s 6", adv.uid));
	fake_reply(g, "add", adv.uid, IPOP__STATUS__EXISTS);
	ck_assert(logged(&r, "req relink:%s 8", adv.uid));
	g_ptr_array_set_size(r.log, 0);
	fake_reply(g, "relink", adv.uid, IPOP__STATUS__OK);
	ck_assert(logged(&r, "req create:%s 5", adv.uid));
	fake_reply(g, "create", adv.uid, IPOP__STATUS__OK);
	ck_assert(!logged(&r, "req add:%s 6", adv.uid));
	/* The peer's remade link, bound to nothing yet or to our new one. */
	fake_link(&link, &adv, "");
	ctl_member_signal(g, "bob@x/dev", &link);
	ck_assert(logged(&r, "req add:%s 6", adv.uid));
	fake_finish(&r, g);
}
END_TEST

/* Both ends restarted ICE at once: the peer's restart ("abcd") is bound
 * to our stream before our restart ("mine2"), which still runs.  It goes
 * to tincan (which binds the two restarts to each other); before, it was
 * taken for candidates of a link gone and both ends remade their links,
 * each cutting the other's off (faults.sh relay fallback: 6.5 s). */
START_TEST(test_crossing_restarts_added)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	struct ctl_sig adv, link;

	fake_adv(&adv, "lab", "10.10.0.2");
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_reply(g, "create", adv.uid, IPOP__STATUS__OK);
	fake_local(g, adv.uid, "mine");
	fake_local(g, adv.uid, "mine2");
	g_ptr_array_set_size(r.log, 0);
	fake_link(&link, &adv, "mine");
	ctl_member_signal(g, "bob@x/dev", &link);
	ck_assert(logged(&r, "req add:%s 6", adv.uid));
	ck_assert(!logged(&r, "req relink:%s 8", adv.uid));
	/* Bound to one before that: gone, ours go out again instead. */
	g_ptr_array_set_size(r.log, 0);
	fake_link(&link, &adv, "mine0");
	ctl_member_signal(g, "bob@x/dev", &link);
	ck_assert(!logged(&r, "req add:%s 6", adv.uid));
	fake_finish(&r, g);
}
END_TEST

/* During a long outage our restarts ran one after another ("mine2",
 * "mine3": each given up, none took over) while the peer, cut off from
 * XMPP, kept its view of our first stream.  Its restart, bound to that
 * stream, is for this link and goes to tincan; taken for a link gone,
 * both ends remade their links (faults.sh's WAN cut, once in five). */
START_TEST(test_restart_bound_to_first_stream_added)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	struct ctl_sig adv, link;
	char ufrag[16];

	fake_adv(&adv, "lab", "10.10.0.2");
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_reply(g, "create", adv.uid, IPOP__STATUS__OK);
	/* The first stream, then more restarts than the ufrags kept. */
	for (int i = 1; i <= CTL_MEMBER_UFRAGS + 3; i++) {
		g_snprintf(ufrag, sizeof(ufrag), i == 1 ? "mine" : "mine%d", i);
		fake_local(g, adv.uid, ufrag);
	}
	for (int i = 1; i <= 3; i++) {
		g_ptr_array_set_size(r.log, 0);
		fake_link(&link, &adv,
			  i == 1   ? "mine"
			  : i == 2 ? "mine11"
				   : "mine3");
		ctl_member_signal(g, "bob@x/dev", &link);
		ck_assert_msg(logged(&r, "req add:%s 6", adv.uid) == (i != 3),
			      "bound to %s", link.seen);
		ck_assert(!logged(&r, "req relink:%s 8", adv.uid));
	}
	fake_finish(&r, g);
}
END_TEST

/* Our link is bound to the peer's link "abcd" and the peer's new link
 * ("wxyz") to a link of ours that is gone: resending ours would only make
 * the peer resend its own, for ever.  Ours is remade instead. */
START_TEST(test_both_links_stale_remade)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	Ipop__IceCredentials creds = IPOP__ICE_CREDENTIALS__INIT, other = creds;
	struct ctl_sig adv, link;
	uint8_t buf[64];
	size_t len;

	fake_adv(&adv, "lab", "10.10.0.2");
	ctl_member_signal(g, "bob@x/dev", &adv);
	fake_reply(g, "create", adv.uid, IPOP__STATUS__OK);
	fake_local(g, adv.uid, "mine");
	fake_link(&link, &adv, "mine");
	ctl_member_signal(g, "bob@x/dev", &link);
	fake_reply(g, "add", adv.uid, IPOP__STATUS__OK); /* bound to abcd */
	g_ptr_array_set_size(r.log, 0);
	fake_link(&link, &adv, "old1"); /* abcd again: only ours resent */
	ctl_member_signal(g, "bob@x/dev", &link);
	ck_assert(logged(&r, "req local:%s 7", adv.uid));
	ck_assert(!logged(&r, "req relink:%s 8", adv.uid));
	other.ufrag = (char *)(uintptr_t) "wxyz";
	other.pwd = creds.pwd;
	len = ipop__ice_credentials__pack(&other, buf);
	link.cands = g_base64_encode(buf, len);
	ctl_member_signal(g, "bob@x/dev", &link);
	ck_assert(logged(&r, "req relink:%s 8", adv.uid));
	g_free(link.cands);
	g_ptr_array_set_size(r.log, 0);
	fake_reply(g, "relink", adv.uid, IPOP__STATUS__OK);
	fake_reply(g, "create", adv.uid, IPOP__STATUS__OK);
	ck_assert(!logged(&r, "req add:%s 6", adv.uid)); /* nothing bound */
	fake_finish(&r, g);
}
END_TEST

static void count_refusal(const gchar *domain, GLogLevelFlags level,
			  const gchar *msg, gpointer data)
{
	(void)domain;
	(void)level;
	if (strstr(msg, "not admitting") != NULL)
		++*(int *)data;
}

/* Anybody may advertise: refusals are logged at most 10 a second, so a
 * stranger cannot flood the log (audit, issue 18). */
START_TEST(test_refusals_bounded)
{
	struct rec r;
	struct ctl_members *g = ready_policy(&r);
	struct ctl_sig adv;
	int logged_n = 0;
	guint h = g_log_set_handler("controller", G_LOG_LEVEL_MESSAGE,
				    count_refusal, &logged_n);

	r.sub = CTL_SUB_NONE;
	for (int i = 0; i < 100; i++) {
		char jid[32];

		g_snprintf(jid, sizeof(jid), "eve@x/r%d", i);
		fake_adv(&adv, "lab", "10.10.0.9");
		ctl_member_signal(g, jid, &adv);
	}
	g_log_remove_handler("controller", h);
	ck_assert_uint_eq(ctl_member_count(g), 0);
	/* 10, or up to 20 if a second began during the loop. */
	ck_assert_int_ge(logged_n, 10);
	ck_assert_int_le(logged_n, 20);
	fake_finish(&r, g);
}
END_TEST

/* The label of the last MapPeer, recorded on the way to fake_io's log. */
static char *seen_label;
static void (*fake_request_fn)(void *ctx, Ipop__Request *req, const char *tag);

static void label_request(void *ctx, Ipop__Request *req, const char *tag)
{
	if (req->kind_case == IPOP__REQUEST__KIND_MAP_PEER) {
		g_free(seen_label);
		seen_label = g_strdup(req->map_peer->label);
	}
	fake_request_fn(ctx, req, tag);
}

/* A member's full JID may be 3071 bytes and hold bidi and C1 controls; the
 * mapping's label (at most 127 printable bytes, or tincan refuses the whole
 * mapping) is the JID escaped and cut (audit, issue 18). */
START_TEST(test_label_of_long_jid)
{
	g_autoptr(GString) jid = g_string_new("bob@x/");
	struct ctl_member_io io;
	struct ctl_members *g;
	uint8_t key[32] = {1};
	struct ctl_sig adv;
	struct rec r;

	for (int i = 0; i < 60; i++) /* U+202E, U+009B */
		g_string_append(jid, "\xe2\x80\xae\xc2\x9b");
	cfg_init();
	io = fake_io(&r, NULL, NULL);
	fake_request_fn = io.request;
	io.request = label_request;
	g = ctl_member_new(&cfg, FAKE_MY_UID, key, &ctl_gvpn_ops, &io);
	ck_assert_ptr_nonnull(g);
	fake_ready(g);
	fake_adv(&adv, "lab", "10.10.0.2");
	ctl_member_signal(g, jid->str, &adv);
	ck_assert_ptr_nonnull(seen_label);
	ck_assert_uint_le(strlen(seen_label), IPOP_LABEL_MAX);
	ck_assert(ipop_label_is_valid(seen_label));
	ck_assert(g_utf8_validate(seen_label, -1, NULL));
	ck_assert_ptr_null(strstr(seen_label, "\xe2\x80\xae"));
	ck_assert_ptr_null(strstr(seen_label, "\xc2\x9b"));
	ck_assert(g_str_has_prefix(seen_label, "bob@x/\\u{202E}"));
	fake_finish(&r, g);
	g_clear_pointer(&seen_label, g_free);
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
	tcase_add_test(tc, test_relink_drops_bound_candidates);
	tcase_add_test(tc, test_both_links_stale_remade);
	tcase_add_test(tc, test_crossing_restarts_added);
	tcase_add_test(tc, test_restart_bound_to_first_stream_added);
	tcase_add_test(tc, test_bound_before_ours_went_out_ignored);
	tcase_add_test(tc, test_new_link_of_peer_answered);
	tcase_add_test(tc, test_label_of_long_jid);
	tcase_add_test(tc, test_refusals_bounded);
	suite_add_tcase(s, tc);
	return s;
}
