/*
 * Tests of tincan/owners.c, the ownership rules of PROTOCOL.md §12: a
 * scoped controller claims overlays (existing or not), a later claim takes
 * over just that overlay and names the old owner, claims go when their
 * controller disconnects, changes to another's overlay are refused, and a
 * controller that claims nothing keeps version 1's whole-node behaviour.
 * Each case is a script of steps over one table.  And the wall around it:
 * every request a controller alone may send either names the overlay it
 * changes (tc_adapter_request_overlay) or is one of the node-wide ones, so
 * a new request kind cannot slip past the ownership check.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "tincan/adapter.h"
#include "tincan/control.h"
#include "tincan/owners.h"

enum op { END, WHOLE, CLAIM, RELEASE, DROP, MAY, OWNER };

struct step {
	enum op op;
	unsigned id;
	const char *name;
	int want; /* WHOLE/CLAIM: the old owner; RELEASE/MAY: 0 or -errno;
		     OWNER: the owner */
};

static const struct {
	const char *what;
	struct step steps[12];
} cases[] = {
    {"a claim, even of an overlay that does not exist yet, owns it",
     {{CLAIM, 1, "work", 0},
      {MAY, 1, "work", 0},
      {MAY, 1, "home", -EPERM},
      {OWNER, 0, "work", 1},
      {OWNER, 0, "home", 0}}},
    {"taking over moves just that overlay; the old owner is named",
     {{CLAIM, 1, "work", 0},
      {CLAIM, 1, "home", 0},
      {CLAIM, 2, "home", 1},
      {MAY, 1, "home", -EPERM},
      {MAY, 2, "home", 0},
      {MAY, 1, "work", 0},
      {MAY, 2, "work", -EPERM}}},
    {"claiming what one owns is no takeover",
     {{CLAIM, 1, "work", 0}, {CLAIM, 1, "work", 0}, {OWNER, 0, "work", 1}}},
    {"disconnect releases every claim and nothing else",
     {{CLAIM, 1, "work", 0},
      {CLAIM, 1, "lab", 0},
      {CLAIM, 2, "home", 0},
      {DROP, 1, NULL, 0},
      {OWNER, 0, "work", 0},
      {OWNER, 0, "lab", 0},
      {OWNER, 0, "home", 2},
      {CLAIM, 3, "work", 0}}},
    {"release gives up one claim; another's claim cannot be released",
     {{CLAIM, 1, "work", 0},
      {RELEASE, 2, "work", -ENOENT},
      {RELEASE, 1, "home", -ENOENT},
      {RELEASE, 1, "work", 0},
      {OWNER, 0, "work", 0},
      {MAY, 1, "work", -EPERM}}},
    {"old clients: the whole-node controller may change every overlay",
     {{WHOLE, 1, NULL, 0},
      {MAY, 1, "work", 0},
      {MAY, 1, "anything", 0},
      {MAY, 1, NULL, 0}}},
    {"old clients: a new whole-node controller replaces the old one",
     {{WHOLE, 1, NULL, 0},
      {WHOLE, 2, NULL, 1},
      {MAY, 1, "work", -EPERM},
      {MAY, 2, "work", 0},
      {WHOLE, 2, NULL, 0}}},
    {"a scoped claim takes an overlay from the whole-node controller",
     {{WHOLE, 1, NULL, 0},
      {CLAIM, 2, "mesh", 1},
      {MAY, 1, "mesh", -EPERM},
      {MAY, 1, "work", 0},
      {MAY, 2, "work", -EPERM},
      {DROP, 2, NULL, 0},
      {OWNER, 0, "mesh", 1}}},
    {"a whole-node controller leaves scoped claims alone",
     {{CLAIM, 2, "mesh", 0},
      {WHOLE, 1, NULL, 0},
      {MAY, 1, "mesh", -EPERM},
      {MAY, 2, "mesh", 0},
      {DROP, 1, NULL, 0},
      {MAY, 1, "work", -EPERM},
      {OWNER, 0, "work", 0},
      {OWNER, 0, "mesh", 2}}},
    {"node-wide requests are open to every controller",
     {{CLAIM, 2, "mesh", 0}, {MAY, 2, NULL, 0}, {MAY, 3, NULL, 0}}},
    {"client id 0 (nobody) may do nothing",
     {{MAY, 0, NULL, -EPERM}, {MAY, 0, "work", -EPERM}}},
};

static void run(struct tc_owners *o, const struct step *s, const char *what)
{
	unsigned prev = 99;

	switch (s->op) {
	case WHOLE:
		ck_assert_msg(tc_owners_set_whole(o, s->id) ==
				  (unsigned)s->want,
			      "%s: whole %u", what, s->id);
		ck_assert(tc_owners_is_whole(o, s->id));
		break;
	case CLAIM:
		ck_assert_int_eq(tc_owners_claim(o, s->id, s->name, &prev), 0);
		ck_assert_msg(prev == (unsigned)s->want,
			      "%s: claim %s by %u took it from %u", what,
			      s->name, s->id, prev);
		ck_assert_uint_eq(tc_owners_owner(o, s->name), s->id);
		ck_assert(tc_owners_is_claimed(o, s->name));
		break;
	case RELEASE:
		ck_assert_int_eq(tc_owners_release(o, s->id, s->name), s->want);
		break;
	case DROP:
		tc_owners_drop(o, s->id);
		ck_assert_uint_eq(tc_owners_count(o, s->id), 0);
		ck_assert(!tc_owners_is_whole(o, s->id));
		break;
	case MAY:
		ck_assert_msg(tc_owners_may(o, s->id, s->name) == s->want,
			      "%s: may %u change %s", what, s->id,
			      s->name ? s->name : "(node)");
		break;
	case OWNER:
		ck_assert_msg(tc_owners_owner(o, s->name) == (unsigned)s->want,
			      "%s: owner of %s", what, s->name);
		break;
	case END:
		break;
	}
}

START_TEST(test_rules)
{
	struct tc_owners *o = tc_owners_new();
	const struct step *s;

	for (s = cases[_i].steps; s->op != END; s++)
		run(o, s, cases[_i].what);
	tc_owners_free(o);
}
END_TEST

/* One controller cannot grow the table without bound. */
START_TEST(test_claim_limit)
{
	struct tc_owners *o = tc_owners_new();
	unsigned i, prev;
	char name[16];

	for (i = 0; i < TC_OWNERS_MAX_CLAIMS; i++) {
		g_snprintf(name, sizeof(name), "ov%u", i);
		ck_assert_int_eq(tc_owners_claim(o, 1, name, &prev), 0);
	}
	ck_assert_int_eq(tc_owners_claim(o, 1, "onemore", &prev), -ENOSPC);
	ck_assert_uint_eq(tc_owners_owner(o, "onemore"), 0);
	/* Claiming one it holds is still fine, and others are unaffected. */
	ck_assert_int_eq(tc_owners_claim(o, 1, "ov0", &prev), 0);
	ck_assert_int_eq(tc_owners_claim(o, 2, "onemore", &prev), 0);
	ck_assert_uint_eq(tc_owners_count(o, 1), TC_OWNERS_MAX_CLAIMS);
	tc_owners_drop(o, 1);
	ck_assert_uint_eq(tc_owners_count(o, 1), 0);
	ck_assert_uint_eq(tc_owners_owner(o, "onemore"), 2);
	tc_owners_free(o);
	tc_owners_free(NULL);
}
END_TEST

/* Requests that change no overlay, or are answered by control.c itself. */
static bool is_node_wide(unsigned kind)
{
	return kind == IPOP__REQUEST__KIND_SET_ICE_SERVERS ||
	       kind == IPOP__REQUEST__KIND_SET_LOG_LEVEL ||
	       kind == IPOP__REQUEST__KIND_CLAIM_OVERLAY ||
	       kind == IPOP__REQUEST__KIND_RELEASE_OVERLAY;
}

START_TEST(test_every_change_names_its_overlay)
{
	const ProtobufCMessageDescriptor *d = &ipop__request__descriptor;
	unsigned i, changes = 0;

	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		Ipop__Request req = IPOP__REQUEST__INIT;
		void *body;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE ||
		    tc_control_role_check(IPOP__ROLE__OBSERVER,
					  (Ipop__Request__KindCase)f->id) !=
			-EPERM)
			continue;
		changes++;
		body = g_malloc0(
		    ((const ProtobufCMessageDescriptor *)f->descriptor)
			->sizeof_message);
		protobuf_c_message_init(f->descriptor, body);
		req.kind_case = (Ipop__Request__KindCase)f->id;
		memcpy((char *)&req + f->offset, &body, sizeof(body));
		ck_assert_msg(is_node_wide(f->id) !=
				  (tc_adapter_request_overlay(&req) != NULL),
			      "request %s: names its overlay or is node-wide",
			      f->name);
		g_free(body);
	}
	ck_assert_uint_ge(changes, 10);
}
END_TEST

Suite *suite_owners(void)
{
	Suite *s = suite_create("owners");
	TCase *tc = tcase_create("rules");

	tcase_add_loop_test(tc, test_rules, 0, G_N_ELEMENTS(cases));
	tcase_add_test(tc, test_claim_limit);
	tcase_add_test(tc, test_every_change_names_its_overlay);
	suite_add_tcase(s, tc);
	return s;
}
