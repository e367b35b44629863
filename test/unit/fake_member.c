/*
 * The fake io of fake_member.h.  No suite of its own.
 */
#include <check.h>
#include <stdarg.h>
#include <string.h>

#include <glib.h>
#include <sodium.h>

#include "common/uid.h"
#include "test/unit/fake_member.h"

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void add(struct rec *r, char *line)
{
	g_ptr_array_add(r->log, line);
}

static void fake_request(void *ctx, Ipop__Request *req, const char *tag)
{
	struct rec *r = ctx;
	const Ipop__CreateOverlay *co = req->create_overlay;
	const Ipop__MapPeer *mp = req->map_peer;

	add(r, g_strdup_printf("req %s %d", tag, req->kind_case));
	if (req->kind_case == IPOP__REQUEST__KIND_CREATE_OVERLAY)
		add(r, g_strdup_printf("overlay %d %d %s/%u %s/%u %s", co->mode,
				       co->translation, or_dash(co->ipv4),
				       co->ipv4_prefix, or_dash(co->ipv6),
				       co->ipv6_prefix, or_dash(co->bridge)));
	if (req->kind_case == IPOP__REQUEST__KIND_CREATE_OVERLAY)
		add(r, g_strdup_printf(
			   "ondemand %llu %u",
			   (unsigned long long)co->ondemand_bytes_per_s,
			   co->ondemand_idle_ms));
	if (req->kind_case == IPOP__REQUEST__KIND_MAP_PEER)
		add(r, g_strdup_printf("map %s %s %s %s %d", mp->peer_uid,
				       or_dash(mp->ipv4), or_dash(mp->ipv6),
				       or_dash(mp->peer_ipv4), mp->remove));
	if (req->kind_case == IPOP__REQUEST__KIND_CREATE_LINK)
		add(r, g_strdup_printf("link %s %d", req->create_link->peer_uid,
				       req->create_link->kind));
	if (req->kind_case == IPOP__REQUEST__KIND_SET_LINK_KIND)
		add(r,
		    g_strdup_printf("kind %s %d", req->set_link_kind->peer_uid,
				    req->set_link_kind->kind));
}

static void fake_signal(void *ctx, const char *to, const struct ctl_sig *s)
{
	struct rec *r = ctx;

	add(r, g_strdup_printf("sig %s %d %d", to, s->kind, s->ack));
	if (s->kind == CTL_SIG_ADVERTISE)
		add(r, g_strdup_printf("adv %s %s", or_dash(s->ipv4),
				       or_dash(s->ipv6)));
	if (s->kind == CTL_SIG_LINK)
		add(r, g_strdup_printf("cands %s", or_dash(s->seen)));
}

static enum ctl_sub fake_sub(void *ctx, const char *bare)
{
	struct rec *r = ctx;

	(void)bare;
	return r->sub;
}

struct ctl_member_io fake_io(struct rec *r, const char *my_jid,
			     const char *state_dir)
{
	struct ctl_member_io io = {.request = fake_request,
				   .signal = fake_signal,
				   .subscription = fake_sub,
				   .ctx = r,
				   .my_jid = my_jid,
				   .state_dir = state_dir,
				   .relink_ms = FAKE_RELINK_MS};

	r->log = g_ptr_array_new_with_free_func(g_free);
	r->sub = CTL_SUB_BOTH;
	return io;
}

void fake_free(struct rec *r)
{
	g_ptr_array_free(r->log, TRUE);
}

void fake_cfg(struct ctl_overlay_config *cfg, enum ctl_overlay_type type,
	      const char *name, const char *group)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->type = type;
	cfg->name = (char *)(uintptr_t)name;
	cfg->tap = (char *)(uintptr_t) "ipop0";
	cfg->group = (char *)(uintptr_t)group;
	cfg->mtu = 1400;
	memset(cfg->psk, 7, sizeof(cfg->psk));
	/* What the config parser gives a gvpn overlay without the keys. */
	cfg->topo = (struct ipop_topo_params){IPOP_TOPO_DEFAULT_SUCCESSORS,
					      IPOP_TOPO_DEFAULT_CHORDS,
					      IPOP_TOPO_DEFAULT_MAX_LINKS};
	cfg->ondemand_threshold = CTL_ONDEMAND_THRESHOLD_DEFAULT;
	cfg->ondemand_idle = CTL_ONDEMAND_IDLE_DEFAULT;
}

struct ctl_members *fake_policy(struct rec *r,
				const struct ctl_overlay_config *cfg,
				const struct ctl_member_ops *ops,
				const char *my_jid, const char *state_dir)
{
	struct ctl_member_io io = fake_io(r, my_jid, state_dir);
	uint8_t key[IPOP_KEY_LEN] = {1};
	struct ctl_members *e = ctl_member_new(cfg, FAKE_MY_UID, key, ops, &io);

	ck_assert_ptr_nonnull(e);
	return e;
}

struct ctl_members *fake_ready(struct ctl_members *e)
{
	ctl_member_adopt(e, NULL);
	fake_reply(e, "overlay", NULL, IPOP__STATUS__OK);
	return e;
}

void fake_adopt_link(struct ctl_members *e, const char *overlay,
		     const char *uid)
{
	Ipop__OverlayInfo info = IPOP__OVERLAY_INFO__INIT;
	Ipop__LinkInfo li = IPOP__LINK_INFO__INIT, *lis[1] = {&li};

	info.name = (char *)(uintptr_t)overlay;
	li.peer_uid = (char *)(uintptr_t)uid;
	info.links = lis;
	info.n_links = 1;
	ctl_member_adopt(e, &info);
}

void fake_assert_joined(const struct rec *r, const char *jid, const char *uid)
{
	ck_assert(logged(r, "sig %s %d 1", jid, CTL_SIG_ADVERTISE));
	ck_assert(logged(r, "req create:%s %d", uid,
			 IPOP__REQUEST__KIND_CREATE_LINK));
	ck_assert(logged(r, "req local:%s %d", uid,
			 IPOP__REQUEST__KIND_GET_LOCAL_CANDIDATES));
}

void fake_link_up(const struct rec *r, struct ctl_members *e,
		  const char *overlay, const char *jid,
		  const struct ctl_sig *adv)
{
	struct ctl_sig link;

	fake_reply(e, "create", adv->uid, IPOP__STATUS__OK);
	fake_link(&link, adv, "");
	ctl_member_signal(e, jid, &link);
	ck_assert(logged(r, "req add:%s %d", adv->uid,
			 IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES));
	fake_link_event(e, overlay, adv->uid, IPOP__LINK_STATE__CONNECTED);
	ck_assert_uint_eq(ctl_member_connected(e), 1);
}

void fake_kept_until_failed(const struct rec *r, struct ctl_members *e,
			    const char *overlay, const char *uid)
{
	ck_assert_uint_eq(ctl_member_count(e), 1);
	ck_assert_uint_eq(count_prefix(r, "req remove:"), 0);
	fake_link_event(e, overlay, uid, IPOP__LINK_STATE__FAILED);
	ck_assert(logged(r, "req remove:%s %d", uid,
			 IPOP__REQUEST__KIND_REMOVE_LINK));
	ck_assert_uint_eq(ctl_member_count(e), 0);
}

void fake_finish(struct rec *r, struct ctl_members *e)
{
	fake_free(r);
	ctl_member_free(e);
}

void fake_check_admit(const struct ctl_member_ops *ops,
		      const struct ctl_overlay_config *cfg,
		      const struct admit_case *c)
{
	struct ctl_overlay_config with = *cfg;
	uint8_t wrong[sizeof(cfg->psk)];
	const char *why = NULL;
	struct ctl_sig s;
	size_t i;
	bool ok;

	with.has_secret = c->secret;
	for (i = 0; i < sizeof(wrong); i++)
		wrong[i] = cfg->psk[i] ^ 0xff;
	fake_adv(&s, c->group, c->ip);
	if (c->proof) {
		ctl_sig_proof(c->proof == 2 ? wrong : cfg->psk, s.group, s.uid,
			      s.key, s.proof);
		s.has_proof = true;
	}
	ok = ctl_member_admits(ops, &with, c->self ? s.uid : FAKE_MY_UID,
			       c->sub, &s, &why);
	ck_assert_msg(ok == c->admit, "%s: got %d (%s)", c->name, ok,
		      why ? why : "");
	if (!ok)
		ck_assert_ptr_nonnull(why);
}

bool logged(const struct rec *r, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *line = NULL;
	guint i;

	va_start(ap, fmt);
	line = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	for (i = 0; i < r->log->len; i++)
		if (!strcmp(r->log->pdata[i], line))
			return true;
	return false;
}

unsigned count_prefix(const struct rec *r, const char *prefix)
{
	unsigned n = 0;
	guint i;

	for (i = 0; i < r->log->len; i++)
		n += g_str_has_prefix(r->log->pdata[i], prefix);
	return n;
}

void fake_adv(struct ctl_sig *s, const char *group, const char *ipv4)
{
	uint8_t priv[32];

	memset(s, 0, sizeof(*s));
	s->kind = CTL_SIG_ADVERTISE;
	randombytes_buf(priv, sizeof(priv));
	crypto_scalarmult_base(s->key, priv);
	ipop_uid_from_key(s->key, s->uid);
	g_strlcpy(s->overlay, "theirs", sizeof(s->overlay));
	g_strlcpy(s->group, group, sizeof(s->group));
	g_strlcpy(s->ipv4, ipv4, sizeof(s->ipv4));
}

void fake_link(struct ctl_sig *link, const struct ctl_sig *adv,
	       const char *seen)
{
	memset(link, 0, sizeof(*link));
	link->kind = CTL_SIG_LINK;
	g_strlcpy(link->uid, adv->uid, sizeof(link->uid));
	g_strlcpy(link->to, FAKE_MY_UID, sizeof(link->to));
	g_strlcpy(link->overlay, adv->overlay, sizeof(link->overlay));
	g_strlcpy(link->seen, seen, sizeof(link->seen));
	/* base64 of a packed IceCredentials{ufrag "abcd", pwd "abc...v"} */
	link->cands =
	    (char *)(uintptr_t) "CgRhYmNkEhZhYmNkZWZnaGlqa2xtbm9wcXJzdHV2";
}

char *fake_cands(const char *ufrag)
{
	Ipop__IceCredentials c = IPOP__ICE_CREDENTIALS__INIT;
	uint8_t buf[128];
	size_t len;

	c.ufrag = (char *)(uintptr_t)ufrag;
	c.pwd = (char *)(uintptr_t) "abcdefghijklmnopqrstuvwxyz";
	len = ipop__ice_credentials__pack(&c, buf);
	return g_base64_encode(buf, len);
}

void fake_bye(struct ctl_sig *bye, const struct ctl_sig *adv)
{
	memset(bye, 0, sizeof(*bye));
	bye->kind = CTL_SIG_BYE;
	g_strlcpy(bye->uid, adv->uid, sizeof(bye->uid));
	g_strlcpy(bye->overlay, adv->overlay, sizeof(bye->overlay));
}

void fake_link_event(struct ctl_members *e, const char *overlay,
		     const char *uid, Ipop__LinkState st)
{
	Ipop__Event ev = IPOP__EVENT__INIT;
	Ipop__LinkStateChangedEvent ls = IPOP__LINK_STATE_CHANGED_EVENT__INIT;

	ls.overlay = (char *)(uintptr_t)overlay;
	ls.peer_uid = (char *)(uintptr_t)uid;
	ls.state = st;
	ev.kind_case = IPOP__EVENT__KIND_LINK_STATE;
	ev.link_state = &ls;
	ctl_member_event(e, &ev);
}

void fake_reply(struct ctl_members *e, const char *op, const char *uid,
		Ipop__Status st)
{
	Ipop__Response resp = IPOP__RESPONSE__INIT;
	g_autofree char *tag = g_strdup_printf("%s:%s", op, uid ? uid : "");

	resp.status = st;
	ctl_member_tincan_reply(e, tag, &resp);
}

void fake_local(struct ctl_members *e, const char *uid, const char *ufrag)
{
	Ipop__Response resp = IPOP__RESPONSE__INIT;
	Ipop__IceCredentials creds = IPOP__ICE_CREDENTIALS__INIT;
	g_autofree char *tag = g_strdup_printf("local:%s", uid);

	creds.ufrag = (char *)(uintptr_t)ufrag;
	creds.pwd = (char *)(uintptr_t) "abcdefghijklmnopqrstuvwxyz";
	resp.result_case = IPOP__RESPONSE__RESULT_LOCAL;
	resp.local = &creds;
	ctl_member_tincan_reply(e, tag, &resp);
}

/* The engine's remake of a failed link has been logged (or 1 s passed). */
bool fake_wait_relink(const struct rec *r, const char *uid)
{
	gint64 end = g_get_monotonic_time() + G_USEC_PER_SEC;

	while (!logged(r, "req relink:%s %d", uid,
		       IPOP__REQUEST__KIND_REMOVE_LINK) &&
	       g_get_monotonic_time() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(5000);
	return logged(r, "req relink:%s %d", uid,
		      IPOP__REQUEST__KIND_REMOVE_LINK);
}
