/*
 * The candidates two members' controllers exchange for a link between
 * them: ours going out (tincan's local candidates, asked for again and
 * resent while the link connects), the peer's coming in, and which link
 * of ours they are for.  Link generations are ufrags: struct member's
 * local_ufrag, ours (every stream our link has had), remote_ufrag,
 * pending_ufrag, answer_ufrag and dropped_peer.  Candidates bound to a
 * link of ours that is gone are not taken; when both ends are bound to
 * links gone, ours is remade.  Part of the membership engine (member.c),
 * whose tables it reads; it owns nothing.
 */
#define G_LOG_DOMAIN "controller"

#include <string.h>

#include "common/log.h"
#include "controller/member_int.h"

/* Whether ufrag is one of our link's (struct member's ours). */
static bool ours_has(const struct member *m, const char *ufrag)
{
	guint h = g_str_hash(ufrag);

	for (unsigned i = 0; i < m->n_ours; i++)
		if (m->ours[i] == h)
			return true;
	return false;
}

/* Remembers a ufrag of our link's: the first, then the newest. */
static void ours_add(struct member *m, const char *ufrag)
{
	guint h = g_str_hash(ufrag);

	if (ours_has(m, ufrag))
		return;
	if (m->n_ours == CTL_MEMBER_UFRAGS) {
		memmove(&m->ours[1], &m->ours[2],
			(CTL_MEMBER_UFRAGS - 2) * sizeof(m->ours[0]));
		m->n_ours--;
	}
	m->ours[m->n_ours++] = h;
}

void ctl_cands_forget(struct member *m)
{
	m->local_ufrag[0] = m->remote_ufrag[0] = m->sent_seen[0] = '\0';
	m->n_ours = 0;
}

void ctl_cands_send(struct ctl_members *e, struct member *m,
		    const Ipop__IceCredentials *local)
{
	struct ctl_sig s = {.kind = CTL_SIG_LINK};
	size_t len = ipop__ice_credentials__get_packed_size(local);
	g_autofree uint8_t *buf = g_malloc(len ? len : 1);

	ipop__ice_credentials__pack(local, buf);
	g_strlcpy(s.uid, e->my_uid, sizeof(s.uid));
	g_strlcpy(s.to, m->uid, sizeof(s.to));
	g_strlcpy(s.overlay, e->cfg->name, sizeof(s.overlay));
	s.cands = g_base64_encode(buf, len);
	ours_add(m, local->ufrag);
	g_strlcpy(m->local_ufrag, local->ufrag, sizeof(m->local_ufrag));
	g_strlcpy(s.seen,
		  m->answer_ufrag[0] ? m->answer_ufrag : m->remote_ufrag,
		  sizeof(s.seen));
	g_strlcpy(m->sent_seen, s.seen, sizeof(m->sent_seen));
	m->answer_ufrag[0] = '\0';
	m->cands_sent_us = g_get_monotonic_time();
	g_debug("overlay %s: candidates to %s", e->cfg->name,
		IPOP_LOG_STR(m->jid));
	e->io.signal(e->io.ctx, m->jid, &s);
	g_free(s.cands);
}

void ctl_cands_ask(struct ctl_members *e, struct member *m)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__GetLocalCandidates glc = IPOP__GET_LOCAL_CANDIDATES__INIT;

	glc.overlay = e->cfg->name;
	glc.peer_uid = m->uid;
	req.kind_case = IPOP__REQUEST__KIND_GET_LOCAL_CANDIDATES;
	req.get_local_candidates = &glc;
	ctl_member_request(e, &req, "local", m->uid);
}

void ctl_cands_add(struct ctl_members *e, struct member *m, const char *blob)
{
	Ipop__Request req = IPOP__REQUEST__INIT;
	Ipop__AddRemoteCandidates arc = IPOP__ADD_REMOTE_CANDIDATES__INIT;
	Ipop__IceCredentials *ic;
	g_autofree guchar *raw = NULL;
	gsize len = 0;

	raw = g_base64_decode(blob, &len);
	ic = ipop__ice_credentials__unpack(NULL, len, raw); /* untrusted */
	if (!ic) {
		g_message("overlay %s: undecodable candidates from %s",
			  e->cfg->name, IPOP_LOG_STR(m->jid));
		return;
	}
	g_strlcpy(m->pending_ufrag, ic->ufrag, sizeof(m->pending_ufrag));
	arc.overlay = e->cfg->name;
	arc.peer_uid = m->uid;
	arc.remote = ic;
	req.kind_case = IPOP__REQUEST__KIND_ADD_REMOTE_CANDIDATES;
	req.add_remote_candidates = &arc;
	/* Kept until tincan accepts them: a remade link needs them again. */
	if (m->pending != blob) {
		g_free(m->pending);
		m->pending = g_strdup(blob);
	}
	ctl_member_request(e, &req, "add", m->uid);
	ipop__ice_credentials__free_unpacked(ic, NULL);
}

/* The peer's link is bound to a link of ours that is gone and ours to one
 * of its links that is gone too: neither can take the other's candidates,
 * and resending ours would only make the peer resend its own, for ever.
 * Ours is remade, unbound (the candidates in hand are bound to it); the
 * peer adds the new one, or remakes its own to it. */
static void both_stale(struct ctl_members *e, struct member *m)
{
	g_message("overlay %s: our link to %s and its link to us are bound to "
		  "links gone; remaking ours",
		  e->cfg->name, IPOP_LOG_STR(m->jid));
	g_free(m->pending);
	m->pending = NULL;
	m->pending_bound = false;
	ctl_member_remove_link(e, m->uid, "relink");
}

/* The ufrag of a candidate blob (untrusted: from a peer), "" if none. */
static void blob_ufrag(const char *blob, char *out, size_t n)
{
	g_autofree guchar *raw = NULL;
	Ipop__IceCredentials *ic;
	gsize len = 0;

	out[0] = '\0';
	raw = g_base64_decode(blob, &len);
	ic = ipop__ice_credentials__unpack(NULL, len, raw);
	if (!ic)
		return;
	if (ic->ufrag && strlen(ic->ufrag) < n)
		g_strlcpy(out, ic->ufrag, n);
	ipop__ice_credentials__free_unpacked(ic, NULL);
}

/* Whether candidates bound to our ufrag seen ("": to none) are for a
 * link of ours that is gone.  A stream of our link's is not gone (see
 * struct member's ours): two restarts that cross are bound to the stream
 * before ours, and tincan binds them to each other.  Nor is a link
 * adopted from tincan, whose ufrags this controller never sent.  A link
 * whose candidates have not gone out yet cannot be what the peer is
 * bound to: taken, such candidates had our new link check a peer still
 * bound to our old one, whose answers passed (libnice checks only its
 * own ufrag) while its own checks, under our old ufrag, failed; only our
 * side selected a pair (gvpn at 32 members: links failed ICE by the
 * hundred when signalling lagged by seconds). */
static bool bound_to_gone(struct ctl_members *e, const struct member *m,
			  const char *seen)
{
	if (!seen[0])
		return false;
	if (m->local_ufrag[0])
		return !ours_has(m, seen);
	return m->linked && !g_hash_table_contains(e->adopted, m->uid);
}

/* Whether candidates under the peer's ufrag are those of its link to
 * the one we dropped, resent while its end connects: no new wish for a
 * link (see struct member's dropped_peer); a new link of the peer's, or
 * one we want, is made. */
static bool resent_for_dropped(struct ctl_members *e, const struct member *m,
			       const char *ufrag)
{
	if (m->linked || !m->dropped_peer || !e->bounded ||
	    ctl_links_wanted(e, m))
		return false;
	if (!ufrag[0] || g_str_hash(ufrag) != m->dropped_peer)
		return false;
	g_debug("overlay %s: candidates from %s for the link we dropped; not "
		"remade",
		e->cfg->name, IPOP_LOG_STR(m->jid));
	return true;
}

/* Candidates bound to no link of ours came for our link, while ours last
 * went out bound to another link of the peer's: the peer's link is new
 * (its tincan restarted) and has none of ours, which went to the link
 * gone, and tincan, which takes the peer's candidates onto a stream it
 * already has where it can, may gather nothing new to send.  Ours (the
 * newest stream's) go out again at once, bound to the new link's ufrag,
 * instead of at our next resend, or never once our link is connected.  A
 * member restarted while its neighbours' links to it still ran waited
 * 3.5-8 s for its links to them (gvpn-scale's rejoin, 1 run in 16).
 * Ours that went out unbound reach any link of the peer's, so two ends
 * that make their links at once do not answer each other. */
static void answer_new_link(struct ctl_members *e, struct member *m,
			    const struct ctl_sig *s, const char *ufrag)
{
	if (s->seen[0] || !m->local_ufrag[0] || !m->sent_seen[0] || !ufrag[0] ||
	    strcmp(ufrag, m->sent_seen) == 0)
		return;
	g_debug("overlay %s: %s has a new link without our candidates; ours "
		"again",
		e->cfg->name, IPOP_LOG_STR(m->jid));
	g_strlcpy(m->answer_ufrag, ufrag, sizeof(m->answer_ufrag));
	ctl_cands_ask(e, m);
}

void ctl_cands_signal(struct ctl_members *e, const char *jid,
		      const struct ctl_sig *s)
{
	struct member *m = g_hash_table_lookup(e->by_jid, jid);
	char ufrag[CTL_SIG_MAX_UFRAG]; /* the peer's, in s->cands */

	/* Signals go to every overlay; only the one holding the member
	 * under the sender's overlay name takes them. */
	if (!m || strcmp(m->overlay, s->overlay))
		return;
	if (strcmp(m->uid, s->uid) || strcmp(s->to, e->my_uid)) {
		g_message(
		    "overlay %s: candidates from %s for another node dropped",
		    e->cfg->name, IPOP_LOG_STR(jid));
		return;
	}
	blob_ufrag(s->cands, ufrag, sizeof(ufrag));
	/* Bound to a link of ours that is gone: the peer gets our current
	 * candidates (again) and answers for the current link. */
	if (bound_to_gone(e, m, s->seen)) {
		g_debug("overlay %s: candidates from %s for an older link",
			e->cfg->name, IPOP_LOG_STR(jid));
		/* Ours go out bound to the peer's ufrag of now: after two ICE
		 * restarts at once, each side's view of the other is old. */
		g_strlcpy(m->answer_ufrag, ufrag, sizeof(m->answer_ufrag));
		if (m->linked && m->remote_ufrag[0] && m->answer_ufrag[0] &&
		    strcmp(m->answer_ufrag, m->remote_ufrag)) {
			both_stale(e, m);
			return;
		}
		if (m->linked)
			ctl_cands_ask(e, m);
		return;
	}
	if (resent_for_dropped(e, m, ufrag))
		return;
	g_free(m->pending);
	m->pending = g_strdup(s->cands);
	m->pending_bound = s->seen[0] != '\0';
	/* A bounded overlay takes a link it does not want as on demand: the
	 * peer wants it (traffic, or a topology view not yet ours). */
	if (e->bounded && !m->linked && !ctl_links_wanted(e, m))
		m->ondemand = true;
	if (!m->linked)
		ctl_member_ensure_link(e,
				       m); /* candidates go in once it exists */
	else if (g_hash_table_contains(e->adopted, m->uid) ||
		 m->state != IPOP__LINK_STATE__LINK_STATE_UNSPECIFIED) {
		ctl_cands_add(e, m, m->pending);
		answer_new_link(e, m, s, ufrag);
	}
}

/* Signals can be lost (an XMPP session silently dead behind a NAT that
 * lost its mapping): a link that is not connected sends its candidates
 * again every CTL_MEMBER_RESEND_MS.  The peer adds them idempotently. */
gboolean ctl_cands_resend(gpointer data)
{
	struct ctl_members *e = data;
	gint64 now = g_get_monotonic_time();
	GHashTableIter it;
	gpointer p;

	g_hash_table_iter_init(&it, e->by_jid);
	while (g_hash_table_iter_next(&it, NULL, &p)) {
		struct member *m = p;
		if (m->linked && m->state != IPOP__LINK_STATE__CONNECTED &&
		    m->local_ufrag[0] &&
		    now - m->cands_sent_us >= CTL_MEMBER_RESEND_MS * 1000)
			ctl_cands_ask(e, m);
	}
	return G_SOURCE_CONTINUE;
}
