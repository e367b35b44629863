/*
 * The links of a bounded (GroupVPN) overlay, member_links.c, driven through
 * the fake io: every member is mapped but only topology neighbours are
 * linked, with their kind; a leave or a join relinks at once; route_traffic
 * makes an on-demand link and link_idle removes it; candidates from a
 * member that is not a neighbour are taken as an on-demand link; a failed
 * on-demand link is not remade; a kind change is a SetLinkKind.  Uids are
 * chosen so the ring order is plain: this node is 11..11, members 22..22
 * up to 88..88.
 */
#include <check.h>
#include <string.h>

#include <glib.h>

#include "controller/gvpn.h"
#include "test/unit/fake_member.h"

static struct ctl_overlay_config cfg;

/* A ring only (1 successor, no chords, 2 links): our neighbours are the
 * members just before and just after us. */
static struct ctl_members *ring_policy(struct rec *r)
{
	fake_cfg(&cfg, CTL_OVERLAY_GVPN, "gv", "lab");
	cfg.ipv4 = (char *)(uintptr_t) "10.10.0.1";
	cfg.ipv4_prefix = 24;
	cfg.topo = (struct ipop_topo_params){1, 0, 2};
	cfg.ondemand_threshold = 5000;
	cfg.ondemand_idle = 7;
	return fake_ready(fake_policy(r, &cfg, &ctl_gvpn_ops, NULL, NULL));
}

static const char *uid_of(char c)
{
	static char uids[16][IPOP_UID_SIZE];
	char *u = uids[(c - '0') & 15];

	memset(u, c, IPOP_UID_SIZE - 1);
	u[IPOP_UID_SIZE - 1] = '\0';
	return u;
}

static const char *jid_of(char c)
{
	static char jids[16][16];
	char *j = jids[(c - '0') & 15];

	g_snprintf(j, 16, "m%c@x/d", c);
	return j;
}

/* Member c (uid cc..cc) advertises itself. */
static void join(struct ctl_members *e, char c)
{
	struct ctl_sig adv;
	char ip[16];

	g_snprintf(ip, sizeof(ip), "10.10.0.%d", c - '0' + 10);
	fake_adv(&adv, "lab", ip);
	g_strlcpy(adv.uid, uid_of(c), sizeof(adv.uid));
	ctl_member_signal(e, jid_of(c), &adv);
}

static void traffic(struct ctl_members *e, char c, bool idle)
{
	Ipop__Event ev = IPOP__EVENT__INIT;
	Ipop__RouteTrafficEvent rt = IPOP__ROUTE_TRAFFIC_EVENT__INIT;
	Ipop__LinkIdleEvent li = IPOP__LINK_IDLE_EVENT__INIT;

	rt.overlay = li.overlay = (char *)(uintptr_t) "gv";
	rt.peer_uid = li.peer_uid = (char *)(uintptr_t)uid_of(c);
	rt.bytes_per_s = 90000;
	li.idle_ms = 7000;
	if (idle) {
		ev.kind_case = IPOP__EVENT__KIND_LINK_IDLE;
		ev.link_idle = &li;
	} else {
		ev.kind_case = IPOP__EVENT__KIND_ROUTE_TRAFFIC;
		ev.route_traffic = &rt;
	}
	ctl_member_event(e, &ev);
}

static bool linked_as(const struct rec *r, char c, int kind)
{
	return logged(r, "link %s %d", uid_of(c), kind);
}

static bool unlinked(const struct rec *r, char c)
{
	return logged(r, "req unlink:%s %d", uid_of(c),
		      IPOP__REQUEST__KIND_REMOVE_LINK);
}

START_TEST(test_maps_all_links_neighbours)
{
	struct rec r;
	struct ctl_members *e = ring_policy(&r);
	char c;

	ck_assert(logged(&r, "ondemand 5000 7000"));
	for (c = '2'; c <= '8'; c++)
		join(e, c);
	for (c = '2'; c <= '8'; c++)
		ck_assert(logged(&r, "map %s 10.10.0.%d - - 0", uid_of(c),
				 c - '0' + 10));
	ck_assert(linked_as(&r, '2', IPOP__LINK_KIND__LINK_KIND_SUCCESSOR));
	ck_assert(linked_as(&r, '8', IPOP__LINK_KIND__LINK_KIND_SUCCESSOR));
	/* On the way each newcomer was our predecessor in turn: its link
	 * went when the next one came.  Left: 2 and 8. */
	ck_assert_uint_eq(count_prefix(&r, "link "), 7);
	for (c = '3'; c <= '7'; c++)
		ck_assert(unlinked(&r, c));
	ck_assert(!unlinked(&r, '2'));
	ck_assert(!unlinked(&r, '8'));
	fake_finish(&r, e);
}
END_TEST

/* Our successor leaves: the next one is linked at once; a member joining
 * between us and it takes its place (and its link goes). */
START_TEST(test_leave_and_join_relink)
{
	struct rec r;
	struct ctl_members *e = ring_policy(&r);
	char c;

	for (c = '2'; c <= '8'; c++)
		join(e, c);
	g_ptr_array_set_size(r.log, 0);
	ctl_member_presence(e, jid_of('2'), false);
	ck_assert(logged(&r, "map %s 10.10.0.12 - - 1", uid_of('2')));
	ck_assert(linked_as(&r, '3', IPOP__LINK_KIND__LINK_KIND_SUCCESSOR));
	ck_assert_uint_eq(count_prefix(&r, "link "), 1);
	g_ptr_array_set_size(r.log, 0);
	join(e, '2');
	ck_assert(linked_as(&r, '2', IPOP__LINK_KIND__LINK_KIND_SUCCESSOR));
	ck_assert(unlinked(&r, '3'));
	ck_assert(!unlinked(&r, '8'));
	fake_finish(&r, e);
}
END_TEST

/* Traffic makes an on-demand link; idle removes it; a second idle or
 * traffic to a neighbour changes nothing. */
START_TEST(test_ondemand_link)
{
	struct rec r;
	struct ctl_members *e = ring_policy(&r);
	char c;

	for (c = '2'; c <= '8'; c++)
		join(e, c);
	g_ptr_array_set_size(r.log, 0);
	traffic(e, '5', false);
	ck_assert(linked_as(&r, '5', IPOP__LINK_KIND__LINK_KIND_ON_DEMAND));
	traffic(e, '5', false); /* again while it exists: nothing */
	traffic(e, '2', false); /* a neighbour: already linked */
	ck_assert_uint_eq(count_prefix(&r, "link "), 1);
	traffic(e, '5', true);
	ck_assert(unlinked(&r, '5'));
	traffic(e, '5', true);
	traffic(e, '2', true); /* tincan never says so of a successor */
	ck_assert_uint_eq(count_prefix(&r, "req unlink:"), 1);
	/* Traffic again: a new on-demand link. */
	traffic(e, '5', false);
	ck_assert_uint_eq(count_prefix(&r, "link "), 2);
	fake_finish(&r, e);
}
END_TEST

/* Candidates from a member that is not a neighbour: it wants the link,
 * we take it as on demand; when it fails it is not remade. */
START_TEST(test_peer_asked_link)
{
	struct rec r;
	struct ctl_members *e = ring_policy(&r);
	struct ctl_sig adv, link;
	char c;

	for (c = '2'; c <= '8'; c++)
		join(e, c);
	g_ptr_array_set_size(r.log, 0);
	memset(&adv, 0, sizeof(adv));
	g_strlcpy(adv.uid, uid_of('4'), sizeof(adv.uid));
	g_strlcpy(adv.overlay, "theirs", sizeof(adv.overlay));
	fake_link(&link, &adv, "");
	ctl_member_signal(e, jid_of('4'), &link);
	ck_assert(linked_as(&r, '4', IPOP__LINK_KIND__LINK_KIND_ON_DEMAND));
	fake_reply(e, "create", uid_of('4'), IPOP__STATUS__OK);
	ck_assert(logged(&r, "req add:%s %d", uid_of('4'),
			 IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES));
	g_ptr_array_set_size(r.log, 0);
	fake_link_event(e, "gv", uid_of('4'), IPOP__LINK_STATE__FAILED);
	ck_assert(unlinked(&r, '4'));
	ck_assert_uint_eq(ctl_member_count(e), 7); /* still a member */
	/* The peer's link resends the same candidates while it connects:
	 * not remade (both ends of such a link, each taking the other's as
	 * on demand, remade each other's links for minutes); a new link of
	 * the peer's is taken again. */
	g_ptr_array_set_size(r.log, 0);
	ctl_member_signal(e, jid_of('4'), &link);
	ck_assert(!linked_as(&r, '4', IPOP__LINK_KIND__LINK_KIND_ON_DEMAND));
	link.cands = fake_cands("wxyz");
	ctl_member_signal(e, jid_of('4'), &link);
	g_free(link.cands);
	ck_assert(linked_as(&r, '4', IPOP__LINK_KIND__LINK_KIND_ON_DEMAND));
	fake_reply(e, "create", uid_of('4'), IPOP__STATUS__OK);
	fake_link_event(e, "gv", uid_of('4'), IPOP__LINK_STATE__FAILED);
	g_ptr_array_set_size(r.log, 0);
	/* A failed successor link is left to tincan's repair, and remade
	 * after the relink delay as before (we have the smaller uid of the
	 * two); the on-demand one is not remade even then. */
	fake_link_event(e, "gv", uid_of('2'), IPOP__LINK_STATE__FAILED);
	ck_assert(!logged(&r, "req relink:%s %d", uid_of('2'),
			  IPOP__REQUEST__KIND_REMOVE_LINK));
	ck_assert(fake_wait_relink(&r, uid_of('2')));
	ck_assert(!logged(&r, "req relink:%s %d", uid_of('4'),
			  IPOP__REQUEST__KIND_REMOVE_LINK));
	fake_finish(&r, e);
}
END_TEST

/* An on-demand link whose peer becomes our successor keeps the link and
 * changes its kind; it is then no longer idled away.  When the topology
 * loses the edge again the link is on demand once more (it was wanted
 * for traffic) and idles away as such. */
START_TEST(test_kind_change)
{
	struct rec r;
	struct ctl_members *e = ring_policy(&r);
	char c;

	for (c = '2'; c <= '8'; c++)
		join(e, c);
	traffic(e, '3', false);
	ck_assert(linked_as(&r, '3', IPOP__LINK_KIND__LINK_KIND_ON_DEMAND));
	g_ptr_array_set_size(r.log, 0);
	ctl_member_presence(e, jid_of('2'), false);
	ck_assert(logged(&r, "kind %s %d", uid_of('3'),
			 IPOP__LINK_KIND__LINK_KIND_SUCCESSOR));
	ck_assert_uint_eq(count_prefix(&r, "link "), 0);
	traffic(e, '3', true);
	ck_assert(!unlinked(&r, '3'));
	join(e, '2');
	ck_assert(logged(&r, "kind %s %d", uid_of('3'),
			 IPOP__LINK_KIND__LINK_KIND_ON_DEMAND));
	ck_assert(!unlinked(&r, '3'));
	traffic(e, '3', true);
	ck_assert(unlinked(&r, '3'));
	fake_finish(&r, e);
}
END_TEST

/* A member whose controller went away with its link still working keeps
 * the link (an XMPP outage must not cut the overlay) but leaves the
 * topology: the others are linked around it at once. */
START_TEST(test_away_member_linked_around)
{
	struct rec r;
	struct ctl_members *e = ring_policy(&r);
	char c;

	for (c = '2'; c <= '8'; c++)
		join(e, c);
	fake_reply(e, "create", uid_of('2'), IPOP__STATUS__OK);
	fake_link_event(e, "gv", uid_of('2'), IPOP__LINK_STATE__CONNECTED);
	g_ptr_array_set_size(r.log, 0);
	ctl_member_presence(e, jid_of('2'), false);
	ck_assert(!unlinked(&r, '2'));
	ck_assert(!logged(&r, "req remove:%s %d", uid_of('2'),
			  IPOP__REQUEST__KIND_REMOVE_LINK));
	ck_assert(linked_as(&r, '3', IPOP__LINK_KIND__LINK_KIND_SUCCESSOR));
	fake_link_event(e, "gv", uid_of('2'), IPOP__LINK_STATE__FAILED);
	ck_assert(logged(&r, "req remove:%s %d", uid_of('2'),
			 IPOP__REQUEST__KIND_REMOVE_LINK));
	ck_assert_uint_eq(ctl_member_count(e), 6);
	fake_finish(&r, e);
}
END_TEST

/* Bad topology parameters (not from the parser) refuse the overlay. */
START_TEST(test_bad_params_refused)
{
	struct rec r;
	struct ctl_member_io io = fake_io(&r, NULL, NULL);
	uint8_t key[IPOP_KEY_LEN] = {1};

	fake_cfg(&cfg, CTL_OVERLAY_GVPN, "gv", "lab");
	cfg.topo = (struct ipop_topo_params){3, 0, 4};
	ck_assert_ptr_null(
	    ctl_member_new(&cfg, FAKE_MY_UID, key, &ctl_gvpn_ops, &io));
	fake_free(&r);
}
END_TEST

extern Suite *suite_member_links(void);

Suite *suite_member_links(void)
{
	Suite *s = suite_create("member_links");
	TCase *tc = tcase_create("member_links");

	tcase_add_test(tc, test_maps_all_links_neighbours);
	tcase_add_test(tc, test_leave_and_join_relink);
	tcase_add_test(tc, test_ondemand_link);
	tcase_add_test(tc, test_peer_asked_link);
	tcase_add_test(tc, test_kind_change);
	tcase_add_test(tc, test_away_member_linked_around);
	tcase_add_test(tc, test_bad_params_refused);
	suite_add_tcase(s, tc);
	return s;
}
