/*
 * Tests of the configuration's parts below the schema: the value parsers
 * of controller/cfgvalue.h (a table of texts, each accepted with its
 * result or refused with the start of its message), the secret files of
 * controller/secret.h (mode, missing, too long, too short or empty, a
 * directory, line ends of a password file, the PSK hash) and the YAML tree
 * of controller/cfgtree.h (lines and columns, refused constructs).  Secret
 * files live in a mkdtemp directory.
 */
#include <check.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

#include "controller/cfgtree.h"
#include "controller/cfgvalue.h"
#include "controller/config.h"
#include "controller/secret.h"

/* ---- value parsers ------------------------------------------------------ */

enum parser {
	P_PORT,
	P_MTU, /* cfg_value_uint 576-9000 */
	P_CHOICE2,
	P_CHOICE3,
	P_OVERLAY,
	P_IFNAME,
	P_GROUP, /* cfg_value_name 64 "@" */
	P_UID,
	P_MAXLEN, /* 4 bytes */
	P_JID,
	P_HOST,
	P_HOSTPORT,
	P_V4HOST,
	P_V6HOST,
	P_SUBNET,
	P_V4,
};

static const struct value_case {
	enum parser p;
	const char *in;
	const char *out; /* accepted: the result as text; NULL: refused */
	const char *why; /* refused: how the message starts */
} values[] = {
    {P_PORT, "1", "1", NULL},
    {P_PORT, "65535", "65535", NULL},
    {P_PORT, "0", NULL, "must be 1-65535"},
    {P_PORT, "65536", NULL, "must be 1-65535"},
    {P_PORT, "", NULL, "must be 1-65535"},
    {P_PORT, "+1", NULL, "must be 1-65535"},
    {P_PORT, " 1", NULL, "must be 1-65535"},
    {P_PORT, "0000000001", NULL, "must be 1-65535"},
    {P_MTU, "000001400", "1400", NULL},
    {P_MTU, "575", NULL, "must be 576-9000"},
    {P_MTU, "9001", NULL, "must be 576-9000"},
    {P_CHOICE2, "off", "2", NULL},
    {P_CHOICE2, "Off", NULL, "must be required or off, not 'Off'"},
    {P_CHOICE3, "switch", "3", NULL},
    {P_CHOICE3, "vpn", NULL, "must be gvpn, svpn or switch, not 'vpn'"},
    {P_OVERLAY, "a.b_c-D9", "a.b_c-D9", NULL},
    {P_OVERLAY, "abcdefghijklmnopqrstuvwxyz012345",
     "abcdefghijklmnopqrstuvwxyz012345", NULL},
    {P_OVERLAY, "abcdefghijklmnopqrstuvwxyz0123456", NULL,
     "'abcdefghijklmnopqrstuvwxyz0123456' is longer than 32 bytes"},
    {P_OVERLAY, "", NULL, "must not be empty"},
    {P_OVERLAY, "a b", NULL, "'a b' may only contain A-Z a-z 0-9 . _ -"},
    {P_OVERLAY, "a@b", NULL, "'a@b' may only contain A-Z a-z 0-9 . _ -"},
    {P_OVERLAY, "caf\xc3\xa9", NULL, "'caf\xc3\xa9' may only contain"},
    {P_IFNAME, "ipop-0123456789", "ipop-0123456789", NULL},
    {P_IFNAME, "ipop-01234567890", NULL,
     "'ipop-01234567890' is longer than 15 bytes"},
    {P_IFNAME, ".", NULL, "'.' is not an interface name"},
    {P_IFNAME, "..", NULL, "'..' is not an interface name"},
    {P_IFNAME, "ipop/0", NULL, "'ipop/0' may only contain"},
    {P_GROUP, "home@example.org", "home@example.org", NULL},
    {P_GROUP, "g!", NULL, "'g!' may only contain A-Z a-z 0-9 . _ - @"},
    {P_UID, "00112233445566778899aabbccddeeff00112233",
     "00112233445566778899aabbccddeeff00112233", NULL},
    {P_UID, "00112233445566778899AABBCCDDEEFF00112233", NULL,
     "'00112233445566778899AABBCCDDEEFF00112233' must be a device uid (40 "
     "lowercase hex digits)"},
    {P_UID, "0011223344556677889900112233445566778899a", NULL,
     "'0011223344556677889900112233445566778899a' must be a device uid"},
    {P_UID, "abc", NULL, "'abc' must be a device uid"},
    {P_MAXLEN, "abcd", "abcd", NULL},
    /* the value may be a password: it is not quoted */
    {P_MAXLEN, "abcde", NULL, "must be at most 4 bytes"},
    {P_JID, "alice@example.org", "alice@example.org", NULL},
    {P_JID, "alice", NULL,
     "'alice' is not a bare JID (user@domain, no resource)"},
    {P_JID, "@example.org", NULL, "'@example.org' is not a bare JID"},
    {P_JID, "alice@", NULL, "'alice@' is not a bare JID"},
    {P_JID, "a@b@c", NULL, "'a@b@c' is not a bare JID"},
    {P_JID, "a@b/res", NULL, "'a@b/res' is not a bare JID"},
    {P_JID, "a b@c", NULL, "'a b@c' is not a bare JID"},
    {P_HOST, "xmpp.example.org", "xmpp.example.org", NULL},
    {P_HOST, "2001:db8::1", "2001:db8::1", NULL},
    {P_HOST, "-x.org", NULL, "'-x.org' is not a host name or IP address"},
    {P_HOST, "bad host", NULL, "'bad host' is not a host name or IP address"},
    {P_HOSTPORT, "192.0.2.1", "192.0.2.1 3478", NULL},
    {P_HOSTPORT, "192.0.2.1:3479", "192.0.2.1 3479", NULL},
    {P_HOSTPORT, "[2001:db8::1]:19302", "2001:db8::1 19302", NULL},
    {P_HOSTPORT, "[2001:db8::1]", "2001:db8::1 3478", NULL},
    {P_HOSTPORT, "2001:db8::2", "2001:db8::2 3478", NULL},
    {P_HOSTPORT, "192.0.2.1:65535", "192.0.2.1 65535", NULL},
    {P_HOSTPORT, "192.0.2.1:65536", NULL,
     "'192.0.2.1:65536' must be a numeric IP address with an optional :PORT "
     "(host names are not resolved; write IPv6 as [addr]:port)"},
    {P_HOSTPORT, "192.0.2.1:0", NULL, "'192.0.2.1:0' must be a numeric IP"},
    {P_HOSTPORT, "192.0.2.1:", NULL, "'192.0.2.1:' must be a numeric IP"},
    {P_HOSTPORT, "192.0.2.1:+1", NULL, "'192.0.2.1:+1' must be a numeric IP"},
    {P_HOSTPORT, "[192.0.2.1]:3478", NULL,
     "'[192.0.2.1]:3478' must be a numeric IP"},
    {P_HOSTPORT, "[2001:db8::1]3478", NULL,
     "'[2001:db8::1]3478' must be a numeric IP"},
    {P_HOSTPORT, "stun.example.org:3478", NULL,
     "'stun.example.org:3478' must be a numeric IP"},
    {P_V4HOST, "10.0.0.1/24", "10.0.0.1 24", NULL},
    {P_V4HOST, "10.0.0.2/30", "10.0.0.2 30", NULL},
    {P_V4HOST, "10.0.0.0/24", NULL,
     "'10.0.0.0/24' is the network or broadcast address of its subnet"},
    {P_V4HOST, "10.0.0.255/24", NULL,
     "'10.0.0.255/24' is the network or broadcast address"},
    {P_V4HOST, "10.0.0.1/31", NULL,
     "'10.0.0.1/31' must be an IPv4 address with a prefix length A.B.C.D/P, P "
     "1-30"},
    {P_V4HOST, "10.0.0.1/0", NULL, "'10.0.0.1/0' must be an IPv4 address"},
    {P_V4HOST, "10.0.0.1", NULL, "'10.0.0.1' must be an IPv4 address"},
    {P_V4HOST, "10.0.0.1/24x", NULL, "'10.0.0.1/24x' must be an IPv4 address"},
    {P_V4HOST, "fd00::1/64", NULL, "'fd00::1/64' must be an IPv4 address"},
    {P_V6HOST, "fd00::1/64", "fd00::1 64", NULL},
    {P_V6HOST, "fd00::1/128", "fd00::1 128", NULL},
    {P_V6HOST, "fd00::1/129", NULL,
     "'fd00::1/129' must be an IPv6 address with a prefix length ADDR/P, P "
     "1-128"},
    {P_V6HOST, "10.0.0.1/24", NULL, "'10.0.0.1/24' must be an IPv6 address"},
    {P_SUBNET, "172.31.0.0/16", "172.31.0.0 16", NULL},
    {P_SUBNET, "10.0.0.0/8", "10.0.0.0 8", NULL},
    {P_SUBNET, "10.0.0.0/7", NULL,
     "'10.0.0.0/7' must be an IPv4 subnet A.B.C.D/P, P 8-30"},
    {P_SUBNET, "10.0.0.0/31", NULL, "'10.0.0.0/31' must be an IPv4 subnet"},
    {P_SUBNET, "10.9.0.1/16", NULL, "'10.9.0.1/16' has host bits set"},
    {P_V4, "172.31.9.9", "172.31.9.9", NULL},
    {P_V4, "172.31.9", NULL, "'172.31.9' must be an IPv4 address"},
    {P_V4, "172.31.9.9/32", NULL, "'172.31.9.9/32' must be an IPv4 address"},
};

static const struct cfg_choice tls2[] = {{"required", 1}, {"off", 2}};
static const struct cfg_choice types3[] = {
    {"gvpn", 1}, {"svpn", 2}, {"switch", 3}};

static char *v4_text(const uint8_t a[4], unsigned prefix)
{
	return g_strdup_printf("%u.%u.%u.%u %u", a[0], a[1], a[2], a[3],
			       prefix);
}

/* Runs one parser; on success *out gets its result as text. */
static int run_parser(const struct value_case *c, char **out, char **why)
{
	g_autofree char *addr = NULL;
	unsigned u = 0;
	uint16_t port = 0;
	uint8_t a[4];
	int v = 0, r;

	switch (c->p) {
	case P_PORT:
		r = cfg_value_port(c->in, &port, why);
		u = port;
		break;
	case P_MTU:
		r = cfg_value_uint(c->in, 576, 9000, &u, why);
		break;
	case P_CHOICE2:
		r = cfg_value_choice(c->in, tls2, 2, &v, why);
		u = (unsigned)v;
		break;
	case P_CHOICE3:
		r = cfg_value_choice(c->in, types3, 3, &v, why);
		u = (unsigned)v;
		break;
	case P_OVERLAY:
		r = cfg_value_overlay_name(c->in, why);
		break;
	case P_IFNAME:
		r = cfg_value_ifname(c->in, why);
		break;
	case P_GROUP:
		r = cfg_value_name(c->in, 64, "@", why);
		break;
	case P_UID:
		r = cfg_value_uid(c->in, why);
		break;
	case P_MAXLEN:
		r = cfg_value_max_len(c->in, 4, why);
		break;
	case P_JID:
		r = cfg_value_bare_jid(c->in, why);
		break;
	case P_HOST:
		r = cfg_value_host(c->in, why);
		break;
	case P_HOSTPORT:
		r = cfg_value_hostport(c->in, 3478, &addr, &port, why);
		if (r == 0)
			*out = g_strdup_printf("%s %u", addr, port);
		return r;
	case P_V4HOST:
		r = cfg_value_ipv4_host(c->in, &addr, &u, why);
		if (r == 0)
			*out = g_strdup_printf("%s %u", addr, u);
		return r;
	case P_V6HOST:
		r = cfg_value_ipv6_host(c->in, &addr, &u, why);
		if (r == 0)
			*out = g_strdup_printf("%s %u", addr, u);
		return r;
	case P_SUBNET:
		r = cfg_value_ipv4_subnet(c->in, a, &u, why);
		if (r == 0)
			*out = v4_text(a, u);
		return r;
	case P_V4:
		r = cfg_value_ipv4(c->in, a, why);
		if (r == 0)
			*out = g_strdup_printf("%u.%u.%u.%u", a[0], a[1], a[2],
					       a[3]);
		return r;
	default:
		ck_abort_msg("no such parser");
		return -1;
	}
	if (r == 0)
		*out = c->p <= P_CHOICE3 ? g_strdup_printf("%u", u)
					 : g_strdup(c->in);
	return r;
}

START_TEST(test_value)
{
	const struct value_case *c = &values[_i];
	g_autofree char *out = NULL, *why = NULL;
	int r = run_parser(c, &out, &why);

	if (c->out != NULL) {
		ck_assert_msg(r == 0, "row %d (%s): refused: %s", _i, c->in,
			      why ? why : "");
		ck_assert_ptr_null(why);
		ck_assert_str_eq(out, c->out);
	} else {
		ck_assert_msg(r == -EINVAL, "row %d (%s): accepted", _i, c->in);
		ck_assert_ptr_null(out);
		ck_assert_msg(why != NULL && strstr(why, c->why) == why,
			      "row %d: got \"%s\", want \"%s...\"", _i,
			      why ? why : "(null)", c->why);
	}
}
END_TEST

/* ---- secret files ------------------------------------------------------- */

static char dir[] = "/tmp/test-cfgvalue-XXXXXX";

static char *path_of(const char *name)
{
	return g_build_filename(dir, name, NULL);
}

static void put(const char *name, const void *data, size_t len, int mode)
{
	g_autofree char *p = path_of(name);

	ck_assert(g_file_set_contents(p, data, (gssize)len, NULL));
	ck_assert_int_eq(g_chmod(p, mode), 0);
}

static void setup(void)
{
	char *big = g_malloc0(CTL_SECRET_MAX + 1);

	ck_assert_ptr_nonnull(g_mkdtemp(dir));
	memset(big, 'x', CTL_SECRET_MAX + 1);
	put("secret", "0123456789abcdef", 16, 0600);
	put("short", "0123456789abcde", 15, 0600);
	put("empty", "", 0, 0600);
	put("loose", "0123456789abcdef", 16, 0644);
	put("group-readable", "0123456789abcdef", 16, 0640);
	put("max", big, CTL_SECRET_MAX, 0600);
	put("big", big, CTL_SECRET_MAX + 1, 0600);
	put("pw", "s3cret\r\n", 8, 0600);
	put("pw-bare", "s3cret", 6, 0600);
	put("pw-two", "s3cret\nmore\n", 12, 0600);
	put("pw-blank", "\n\n", 2, 0600);
	put("pw-nul", "s3\0cret", 7, 0600);
	put("pw-big", big, CTL_PASSWORD_MAX + 1, 0600);
	g_free(big);
}

static void teardown(void)
{
	static const char *const files[] = {
	    "secret",	"short",  "empty",  "loose",   "group-readable",
	    "max",	"big",	  "pw",	    "pw-bare", "pw-two",
	    "pw-blank", "pw-nul", "pw-big",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *p = path_of(files[i]);

		g_unlink(p);
	}
	g_rmdir(dir);
}

/* The message starts with want, in which "@F@" stands for the path. */
static void check_why(const char *why, const char *file, const char *want)
{
	g_autoptr(GString) w = g_string_new(want);

	g_string_replace(w, "@F@", file, 0);
	ck_assert_msg(why != NULL && strstr(why, w->str) == why,
		      "got \"%s\", want \"%s...\"", why ? why : "(null)",
		      w->str);
}

static const struct psk_case {
	const char *file;
	int ret;
	const char *why;
} psk_cases[] = {
    {"loose", -EPERM,
     "'@F@' is accessible by group or others (mode 0644): run chmod 600 on it"},
    {"group-readable", -EPERM,
     "'@F@' is accessible by group or others (mode 0640)"},
    {"none", -ENOENT, "cannot open '@F@': No such file or directory"},
    {"big", -EFBIG, "cannot read '@F@': too large"},
    {"short", -EINVAL, "'@F@' is too short (15 bytes, at least 16)"},
    {"empty", -EINVAL, "'@F@' is too short (0 bytes, at least 16)"},
    {"", -EINVAL, "'@F@' is not a regular file"}, /* the directory */
};

START_TEST(test_psk_refused)
{
	const struct psk_case *c = &psk_cases[_i];
	g_autofree char *file = path_of(c->file), *why = NULL;
	uint8_t psk[IPOP_PSK_LEN] = {0}, zero[IPOP_PSK_LEN] = {0};

	ck_assert_int_eq(ctl_secret_read_psk(file, psk, &why), c->ret);
	check_why(why, file, c->why);
	ck_assert_mem_eq(psk, zero, sizeof(psk));
}
END_TEST

/* The PSK is the BLAKE2b hash of the file's bytes, up to the largest. */
START_TEST(test_psk)
{
	static const char *const files[] = {"secret", "max"};
	g_autofree char *file = path_of(files[_i]), *why = NULL;
	g_autofree char *data = NULL;
	uint8_t psk[IPOP_PSK_LEN], want[IPOP_PSK_LEN];
	gsize len;

	ck_assert(g_file_get_contents(file, &data, &len, NULL));
	ck_assert_int_eq(sodium_init() >= 0, 1);
	crypto_generichash(want, sizeof(want), (const uint8_t *)data, len, NULL,
			   0);
	ck_assert_int_eq(ctl_secret_read_psk(file, psk, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_mem_eq(psk, want, sizeof(psk));
}
END_TEST

static const struct pw_case {
	const char *file;
	const char *password; /* NULL: refused */
	const char *why;
} pw_cases[] = {
    {"pw", "s3cret", NULL},
    {"pw-bare", "s3cret", NULL},
    {"pw-two", NULL, "the password file must hold one non-empty line"},
    {"pw-blank", NULL, "the password file must hold one non-empty line"},
    {"pw-nul", NULL, "the password file must hold one non-empty line"},
    {"empty", NULL, "'@F@' is too short (0 bytes, at least 1)"},
    {"pw-big", NULL, "cannot read '@F@': too large"},
    {"loose", NULL, "'@F@' is accessible by group or others (mode 0644)"},
    {"none", NULL, "cannot open '@F@': No such file"},
};

START_TEST(test_password)
{
	const struct pw_case *c = &pw_cases[_i];
	g_autofree char *file = path_of(c->file), *why = NULL, *pw = NULL;
	int r = ctl_secret_read_password(file, &pw, &why);

	if (c->password != NULL) {
		ck_assert_msg(r == 0, "%s: %s", c->file, why ? why : "");
		ck_assert_str_eq(pw, c->password);
	} else {
		ck_assert_int_lt(r, 0);
		ck_assert_ptr_null(pw);
		check_why(why, file, c->why);
	}
}
END_TEST

/* The generic reader hands back the bytes in a buffer one larger. */
START_TEST(test_secret_read)
{
	g_autofree char *file = path_of("secret"), *why = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	ck_assert_int_eq(ctl_secret_read(file, 1, 16, &buf, &len, &why), 0);
	ck_assert_uint_eq(len, 16);
	ck_assert_mem_eq(buf, "0123456789abcdef", 16);
	sodium_free(buf);
	buf = NULL;
	ck_assert_int_eq(ctl_secret_read(file, 1, 15, &buf, &len, &why),
			 -EFBIG);
	ck_assert_ptr_null(buf);
	check_why(why, file, "cannot read '@F@': too large");
}
END_TEST

/* ---- the tree ----------------------------------------------------------- */

START_TEST(test_tree_positions)
{
	static const char yaml[] = "a: 1\n"
				   "b:\n"
				   "  - x\n"
				   "  -   {c: 'q'}\n";
	g_autoptr(GError) err = NULL;
	g_autoptr(cfg_tree) t = cfg_tree_load(yaml, strlen(yaml), "t", &err);
	const struct cfg_node *b, *item, *map, *q;

	ck_assert_msg(t != NULL, "%s", err ? err->message : "");
	ck_assert_int_eq(t->kind, CFG_MAP);
	ck_assert_uint_eq(t->kids->len, 4);
	b = t->kids->pdata[3];
	ck_assert_int_eq(b->kind, CFG_LIST);
	ck_assert_str_eq(cfg_kind_name(b), "a list");
	item = b->kids->pdata[0];
	ck_assert_uint_eq(item->line, 3);
	ck_assert_uint_eq(item->column, 5);
	ck_assert(item->plain);
	map = b->kids->pdata[1];
	ck_assert_int_eq(map->kind, CFG_MAP);
	ck_assert_uint_eq(map->line, 4);
	ck_assert_uint_eq(map->column, 7);
	q = map->kids->pdata[1];
	ck_assert_str_eq(q->str, "q");
	ck_assert(!q->plain);
	ck_assert_uint_eq(q->line, 4);
	ck_assert_uint_eq(q->column, 11);
}
END_TEST

START_TEST(test_tree_refused)
{
	g_autoptr(GString) deep = g_string_new("a: ");
	g_autoptr(GError) err = NULL;

	for (int i = 0; i < 20; i++)
		g_string_append_c(deep, '[');
	ck_assert_ptr_null(cfg_tree_load(deep->str, deep->len, "d.yaml", &err));
	ck_assert(g_error_matches(err, CTL_CONFIG_ERROR, 0));
	ck_assert_str_eq(err->message, "d.yaml:1: nesting too deep");
	g_clear_error(&err);
	ck_assert_ptr_null(cfg_tree_load("a: 1\n---\nb: 2\n", 14, "m", &err));
	ck_assert_str_eq(err->message,
			 "m:2: only one YAML document is allowed");
	g_clear_error(&err);
	ck_assert_ptr_null(cfg_tree_load("a: *x\n", 6, "m", &err));
	ck_assert_str_eq(err->message,
			 "m:1: YAML anchors and aliases are not supported");
	cfg_node_free(NULL);
}
END_TEST

Suite *suite_cfgvalue(void)
{
	Suite *s = suite_create("cfgvalue");
	TCase *tv = tcase_create("values");
	TCase *ts = tcase_create("secrets");
	TCase *tt = tcase_create("tree");

	tcase_add_loop_test(tv, test_value, 0, G_N_ELEMENTS(values));
	suite_add_tcase(s, tv);
	tcase_add_unchecked_fixture(ts, setup, teardown);
	tcase_add_loop_test(ts, test_psk_refused, 0, G_N_ELEMENTS(psk_cases));
	tcase_add_loop_test(ts, test_psk, 0, 2);
	tcase_add_loop_test(ts, test_password, 0, G_N_ELEMENTS(pw_cases));
	tcase_add_test(ts, test_secret_read);
	suite_add_tcase(s, ts);
	tcase_add_test(tt, test_tree_positions);
	tcase_add_test(tt, test_tree_refused);
	suite_add_tcase(s, tt);
	return s;
}
