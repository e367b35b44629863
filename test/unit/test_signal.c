/*
 * Tests of controller/signal.c: every kind survives encode/decode, a table
 * of broken attribute sets (each field missing or wrong in each way) is
 * refused with the expected reason, a uid that is not the hash of the key
 * is refused, unknown extra attributes are ignored, and the group proof
 * accepts the right secret only.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <sodium.h>

#include "controller/signal.h"
#include "tincan/identity.h"

static uint8_t key[32];
static char uid[IPOP_UID_SIZE];
static char key_b64[64];

static void setup(void)
{
	g_autofree char *b = NULL;

	ck_assert_int_ge(sodium_init(), 0);
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	ipop_uid_from_key(key, uid);
	b = g_base64_encode(key, sizeof(key));
	g_strlcpy(key_b64, b, sizeof(key_b64));
}

static struct ctl_sig make_advertise(void)
{
	struct ctl_sig s = {.kind = CTL_SIG_ADVERTISE};

	memcpy(s.uid, uid, sizeof(s.uid));
	memcpy(s.key, key, sizeof(key));
	strcpy(s.overlay, "ov1");
	strcpy(s.group, "team@example");
	strcpy(s.ipv4, "10.1.0.2");
	return s;
}

/* Valid advertise attributes, as a peer would send them. */
static GHashTable *advertise_attrs(void)
{
	struct ctl_sig s = make_advertise();

	return ctl_sig_encode(&s);
}

static GHashTable *link_attrs(void)
{
	struct ctl_sig s = {.kind = CTL_SIG_LINK};
	GHashTable *t;

	memcpy(s.uid, uid, sizeof(s.uid));
	memset(s.to, 'a', 40);
	strcpy(s.overlay, "ov1");
	s.cands = g_strdup("QUJDRA==");
	strcpy(s.seen, "Ab+/9");
	t = ctl_sig_encode(&s);
	ctl_sig_clear(&s);
	return t;
}

static GHashTable *bye_attrs(void)
{
	struct ctl_sig s = {.kind = CTL_SIG_BYE};

	memcpy(s.uid, uid, sizeof(s.uid));
	strcpy(s.overlay, "ov1");
	return ctl_sig_encode(&s);
}

START_TEST(test_advertise_round_trip)
{
	struct ctl_sig s = make_advertise(), d;
	g_autoptr(GHashTable) t = NULL;
	char why[128];

	strcpy(s.ipv6, "fd00::2");
	s.has_proof = true;
	memset(s.proof, 0x5a, sizeof(s.proof));
	s.ack = true;
	t = ctl_sig_encode(&s);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(g_hash_table_lookup(t, "kind"), "advertise");
	ck_assert_str_eq(g_hash_table_lookup(t, "ack"), "1");
	ck_assert_int_eq(ctl_sig_decode(t, &d, why, sizeof(why)), 0);
	ck_assert_int_eq(d.kind, CTL_SIG_ADVERTISE);
	ck_assert_str_eq(d.uid, uid);
	ck_assert_mem_eq(d.key, key, 32);
	ck_assert_str_eq(d.overlay, "ov1");
	ck_assert_str_eq(d.group, "team@example");
	ck_assert_str_eq(d.ipv4, "10.1.0.2");
	ck_assert_str_eq(d.ipv6, "fd00::2");
	ck_assert(d.has_proof);
	ck_assert_mem_eq(d.proof, s.proof, sizeof(s.proof));
	ck_assert(d.ack);
	ck_assert_ptr_null(d.cands);
	ctl_sig_clear(&d);
}
END_TEST

START_TEST(test_advertise_minimal)
{
	g_autoptr(GHashTable) t = advertise_attrs();
	struct ctl_sig d;

	ck_assert_ptr_null(g_hash_table_lookup(t, "ipv6"));
	ck_assert_ptr_null(g_hash_table_lookup(t, "proof"));
	ck_assert_ptr_null(g_hash_table_lookup(t, "ack"));
	ck_assert_int_eq(ctl_sig_decode(t, &d, NULL, 0), 0);
	ck_assert_str_eq(d.ipv6, "");
	ck_assert(!d.has_proof);
	ck_assert(!d.ack);
	/* ack="0" is the explicit form of the default. */
	g_hash_table_insert(t, g_strdup("ack"), g_strdup("0"));
	ck_assert_int_eq(ctl_sig_decode(t, &d, NULL, 0), 0);
	ck_assert(!d.ack);
}
END_TEST

START_TEST(test_link_round_trip)
{
	g_autoptr(GHashTable) t = link_attrs();
	struct ctl_sig d;
	char why[128];

	ck_assert_str_eq(g_hash_table_lookup(t, "kind"), "link");
	ck_assert_int_eq(ctl_sig_decode(t, &d, why, sizeof(why)), 0);
	ck_assert_int_eq(d.kind, CTL_SIG_LINK);
	ck_assert_str_eq(d.uid, uid);
	ck_assert_str_eq(d.to, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ck_assert_str_eq(d.overlay, "ov1");
	ck_assert_str_eq(d.cands, "QUJDRA==");
	ck_assert_str_eq(d.seen, "Ab+/9");
	ctl_sig_clear(&d);
	ck_assert_ptr_null(d.cands);
	ck_assert_str_eq(d.uid, "");
}
END_TEST

START_TEST(test_bye_round_trip)
{
	g_autoptr(GHashTable) t = bye_attrs();
	struct ctl_sig d;

	ck_assert_str_eq(g_hash_table_lookup(t, "kind"), "bye");
	ck_assert_uint_eq(g_hash_table_size(t), 3);
	ck_assert_int_eq(ctl_sig_decode(t, &d, NULL, 0), 0);
	ck_assert_int_eq(d.kind, CTL_SIG_BYE);
	ck_assert_str_eq(d.uid, uid);
	ck_assert_str_eq(d.overlay, "ov1");
}
END_TEST

START_TEST(test_encode_bad_kind)
{
	struct ctl_sig s = {.kind = 0};

	ck_assert_ptr_null(ctl_sig_encode(&s));
	s.kind = 42;
	ck_assert_ptr_null(ctl_sig_encode(&s));
	ck_assert_ptr_null(ctl_sig_encode(NULL));
}
END_TEST

/* Extra attributes from a newer peer are ignored. */
START_TEST(test_unknown_attrs_ignored)
{
	g_autoptr(GHashTable) t = advertise_attrs();
	struct ctl_sig d;

	g_hash_table_insert(t, g_strdup("flavour"), g_strdup("<&>"));
	g_hash_table_insert(t, g_strdup("xmlns"), g_strdup(CTL_SIGNAL_NS));
	ck_assert_int_eq(ctl_sig_decode(t, &d, NULL, 0), 0);
}
END_TEST

enum base { ADV, LNK, BYE };

struct bad {
	enum base base;
	const char *name;
	const char *value; /* NULL: remove the attribute */
	const char *why;
};

static const char long_b64[] =
    "QUJD"; /* repeated by the test to exceed CTL_SIG_MAX_BLOB */

static const struct bad bad_cases[] = {
    {ADV, "kind", NULL, "missing kind"},
    {ADV, "kind", "advertize", "unknown kind"},
    {ADV, "kind", "", "unknown kind"},
    {ADV, "kind", "ADVERTISE", "unknown kind"},
    {ADV, "uid", NULL, "missing uid"},
    {ADV, "uid", "", "bad uid"},
    {ADV, "uid", "0123456789abcdef0123456789abcdef0123456", "bad uid"},
    {ADV, "uid", "0123456789abcdef0123456789abcdef012345678", "bad uid"},
    {ADV, "uid", "0123456789ABCDEF0123456789abcdef01234567", "bad uid"},
    {ADV, "uid", "0123456789abcdef0123456789abcdef0123456g", "bad uid"},
    {ADV, "uid", "0123456789abcdef0123456789abcdef01234567",
     "uid does not match key"},
    {ADV, "overlay", NULL, "missing overlay"},
    {ADV, "overlay", "", "bad overlay"},
    {ADV, "overlay", "a b", "bad overlay"},
    {ADV, "overlay", "ov/1", "bad overlay"},
    {ADV, "overlay", "ov@1", "bad overlay"},
    {ADV, "overlay", "123456789012345678901234567890123", "bad overlay"},
    {ADV, "key", NULL, "missing key"},
    {ADV, "key", "", "key is not 32 bytes"},
    {ADV, "key", "AAAA", "key is not 32 bytes"},
    /* 33 bytes */
    {ADV, "key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
     "key is not 32 bytes"},
    /* junk character GLib would silently skip */
    {ADV, "key",
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!A=", "key is not 32 bytes"},
    /* non-canonical trailing bits */
    {ADV, "key",
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", "key is not 32 bytes"},
    {ADV, "key",
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "uid does not match key"},
    {ADV, "group", NULL, "missing group"},
    {ADV, "group", "", "bad group"},
    {ADV, "group", "a group", "bad group"},
    {ADV, "group", "g\"1", "bad group"},
    {ADV, "group",
     "12345678901234567890123456789012345678901234567890123456789012345",
     "bad group"},
    {ADV, "ipv4", "", "bad ipv4"},
    {ADV, "ipv4", "10.1.0", "bad ipv4"},
    {ADV, "ipv4", "10.1.0.256", "bad ipv4"},
    {ADV, "ipv4", "10.1.0.2/24", "bad ipv4"},
    {ADV, "ipv4", "fd00::1", "bad ipv4"},
    {ADV, "ipv4", "010.001.000.002.", "bad ipv4"},
    {ADV, "ipv6", "", "bad ipv6"},
    {ADV, "ipv6", "fd00::1::2", "bad ipv6"},
    {ADV, "ipv6", "10.1.0.2", "bad ipv6"},
    {ADV, "ipv6", "0000:0000:0000:0000:0000:ffff:255.255.255.255xx",
     "bad ipv6"},
    {ADV, "proof", "", "bad proof"},
    {ADV, "proof", "AAAA", "bad proof"},
    {ADV, "proof", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "bad proof"},
    {ADV, "ack", "", "bad ack"},
    {ADV, "ack", "yes", "bad ack"},
    {ADV, "ack", "10", "bad ack"},
    {LNK, "to", NULL, "missing to"},
    {LNK, "to", "", "bad to"},
    {LNK, "to", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "bad to"},
    {LNK, "cands", NULL, "missing cands"},
    {LNK, "seen", "abc", "bad seen"},
    {LNK, "seen", "abc d", "bad seen"},
    {LNK, "seen", "ab<c>", "bad seen"},
    {LNK, "cands", "", "bad cands"},
    {LNK, "cands", "QUJ", "bad cands"},
    {LNK, "cands", "QU<D", "bad cands"},
    {LNK, "cands", "QUJD RA==", "bad cands"},
    {LNK, "cands", long_b64, "bad cands"},
    {LNK, "uid", NULL, "missing uid"},
    {LNK, "overlay", "", "bad overlay"},
    {LNK, "kind", "links", "unknown kind"},
    {BYE, "uid", "x", "bad uid"},
    {BYE, "overlay", NULL, "missing overlay"},
    {BYE, "kind", "hello", "unknown kind"},
};

START_TEST(test_bad_attrs)
{
	const struct bad *b = &bad_cases[_i];
	g_autoptr(GHashTable) t = NULL;
	struct ctl_sig d;
	char why[128];

	t = b->base == ADV   ? advertise_attrs()
	    : b->base == LNK ? link_attrs()
			     : bye_attrs();
	if (b->value == NULL) {
		g_hash_table_remove(t, b->name);
	} else if (b->value == long_b64) {
		GString *s = g_string_new(NULL);

		while (s->len <= CTL_SIG_MAX_BLOB)
			g_string_append(s, long_b64);
		g_hash_table_insert(t, g_strdup(b->name),
				    g_string_free(s, FALSE));
	} else {
		g_hash_table_insert(t, g_strdup(b->name), g_strdup(b->value));
	}
	memset(&d, 0x55, sizeof(d));
	ck_assert_int_eq(ctl_sig_decode(t, &d, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, b->why) != NULL,
		      "case %d (%s=%s): why '%s', want '%s'", _i, b->name,
		      b->value ? b->value : "(none)", why, b->why);
	/* out is cleared on failure */
	ck_assert_ptr_null(d.cands);
	ck_assert_str_eq(d.uid, "");
}
END_TEST

/* A blob of exactly the maximum size is accepted. */
START_TEST(test_cands_max)
{
	g_autoptr(GHashTable) t = link_attrs();
	char *blob = g_malloc(CTL_SIG_MAX_BLOB + 1);
	struct ctl_sig d;

	memset(blob, 'A', CTL_SIG_MAX_BLOB);
	blob[CTL_SIG_MAX_BLOB] = '\0';
	g_hash_table_insert(t, g_strdup("cands"), blob);
	ck_assert_int_eq(ctl_sig_decode(t, &d, NULL, 0), 0);
	ck_assert_uint_eq(strlen(d.cands), CTL_SIG_MAX_BLOB);
	ctl_sig_clear(&d);
}
END_TEST

START_TEST(test_decode_null)
{
	struct ctl_sig d;
	char why[64];

	ck_assert_int_eq(ctl_sig_decode(NULL, &d, why, sizeof(why)), -EINVAL);
	/* a tiny why buffer is truncated, never overrun */
	{
		g_autoptr(GHashTable) t = bye_attrs();
		char small[4] = "xyz";

		g_hash_table_remove(t, "uid");
		ck_assert_int_eq(ctl_sig_decode(t, &d, small, 2), -EINVAL);
		ck_assert_str_eq(small, "m");
	}
}
END_TEST

/* Another key's uid with this key: the advertise is refused. */
START_TEST(test_uid_key_mismatch)
{
	g_autoptr(GHashTable) t = advertise_attrs();
	uint8_t other[32];
	char other_uid[IPOP_UID_SIZE];
	struct ctl_sig d;
	char why[128];

	memset(other, 0x11, sizeof(other));
	ipop_uid_from_key(other, other_uid);
	g_hash_table_insert(t, g_strdup("uid"), g_strdup(other_uid));
	ck_assert_int_eq(ctl_sig_decode(t, &d, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "uid does not match key"));
}
END_TEST

START_TEST(test_proof)
{
	uint8_t psk[32], wrong[32];
	struct ctl_sig s = make_advertise(), d;
	g_autoptr(GHashTable) t = NULL;

	memset(psk, 0x42, sizeof(psk));
	memcpy(wrong, psk, sizeof(psk));
	wrong[31] ^= 1;
	ck_assert(!ctl_sig_proof_ok(&s, psk)); /* no proof at all */
	ctl_sig_proof(psk, s.group, s.uid, s.key, s.proof);
	s.has_proof = true;
	t = ctl_sig_encode(&s);
	ck_assert_int_eq(ctl_sig_decode(t, &d, NULL, 0), 0);
	ck_assert(ctl_sig_proof_ok(&d, psk));
	ck_assert(!ctl_sig_proof_ok(&d, wrong));

	/* tampered: proof bit, group, uid or key changed after signing */
	d.proof[0] ^= 0x80;
	ck_assert(!ctl_sig_proof_ok(&d, psk));
	d.proof[0] ^= 0x80;
	ck_assert(ctl_sig_proof_ok(&d, psk));
	strcpy(d.group, "team@exampl");
	ck_assert(!ctl_sig_proof_ok(&d, psk));
	strcpy(d.group, "team@example");
	d.uid[0] = d.uid[0] == 'a' ? 'b' : 'a';
	ck_assert(!ctl_sig_proof_ok(&d, psk));
	memcpy(d.uid, s.uid, sizeof(d.uid));
	d.key[5] ^= 1;
	ck_assert(!ctl_sig_proof_ok(&d, psk));
}
END_TEST

/* The separators matter: moving a byte between group and uid changes it. */
START_TEST(test_proof_separator)
{
	uint8_t psk[32] = {1}, k[32] = {2}, a[32], b[32];

	ctl_sig_proof(psk, "ab", "c", k, a);
	ctl_sig_proof(psk, "a", "bc", k, b);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

Suite *suite_signal(void)
{
	Suite *s = suite_create("signal");
	TCase *tc = tcase_create("codec");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_advertise_round_trip);
	tcase_add_test(tc, test_advertise_minimal);
	tcase_add_test(tc, test_link_round_trip);
	tcase_add_test(tc, test_bye_round_trip);
	tcase_add_test(tc, test_encode_bad_kind);
	tcase_add_test(tc, test_unknown_attrs_ignored);
	tcase_add_loop_test(tc, test_bad_attrs, 0, G_N_ELEMENTS(bad_cases));
	tcase_add_test(tc, test_cands_max);
	tcase_add_test(tc, test_decode_null);
	tcase_add_test(tc, test_uid_key_mismatch);
	tcase_add_test(tc, test_proof);
	tcase_add_test(tc, test_proof_separator);
	suite_add_tcase(s, tc);
	return s;
}
