/*
 * Tests of the controller configuration: a config using every key, a
 * minimal one with its defaults, the documented example in etc/ (loaded
 * next to its password and secret files, so relative names are resolved
 * against the config's directory), and a table of invalid configs, each
 * with the exact message fragment (file, line and key) it must produce.
 * Secret files live in a mkdtemp directory; "@D@" in a config text stands
 * for that directory.
 */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/config.h"

#define EXAMPLE "../../etc/controller-gvpn.yaml"
#define SECRET "0123456789abcdef0123456789abcdef"

static char dir[] = "/tmp/test-config-XXXXXX";

static void put(const char *name, const char *text, int mode)
{
	g_autofree char *p = g_build_filename(dir, name, NULL);

	ck_assert(g_file_set_contents(p, text, -1, NULL));
	ck_assert_int_eq(g_chmod(p, mode), 0);
}

static void setup(void)
{
	ck_assert_ptr_nonnull(g_mkdtemp(dir));
	put("secret", SECRET, 0600);
	put("short", "0123456", 0600);
	put("loose", SECRET, 0644);
	put("pw", "s3cret\n", 0600);
	put("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
	{
		g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);

		ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	}
	put("foreign", SECRET, 0600);
	if (geteuid() == 0) {
		g_autofree char *f = g_build_filename(dir, "foreign", NULL);

		ck_assert_int_eq(chown(f, 65534, 65534), 0);
	}
}

static void teardown(void)
{
	static const char *const files[] = {"secret", "short", "loose",	 "pw",
					    "ca.pem", "fifo",  "foreign"};

	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *p = g_build_filename(dir, files[i], NULL);

		g_unlink(p);
	}
	g_rmdir(dir);
}

static char *subst(const char *text)
{
	g_autoptr(GString) s = g_string_new(text);

	g_string_replace(s, "@D@", dir, 0);
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static struct ctl_config *parse_ok(const char *text)
{
	g_autofree char *t = subst(text);
	g_autoptr(GError) err = NULL;
	struct ctl_config *c = ctl_config_parse(t, strlen(t), "t.yaml", &err);

	ck_assert_msg(c != NULL, "unexpected error: %s",
		      err ? err->message : "(none)");
	return c;
}

static const char full_yaml[] =
    "tincan:\n"
    "  socket: /tmp/ipop/tincan.sock\n"
    "state_dir: /tmp/ipop/state\n"
    "xmpp:\n"
    "  jid: alice@example.org\n"
    "  password_file: @D@/pw\n"
    "  server: 127.0.0.1\n"
    "  port: 5223\n"
    "  tls: off\n"
    "  ca_file: @D@/ca.pem\n"
    "  auto_approve: true\n"
    "ice:\n"
    "  stun: ['192.0.2.1:3479', 192.0.2.2, '[2001:db8::1]:19302', "
    "'2001:db8::2']\n"
    "  turn:\n"
    "    - server: 192.0.2.3:3478\n"
    "      user: u\n"
    "      password: p\n"
    "    - {server: '[2001:db8::3]', user: u2, password: p2}\n"
    "overlays:\n"
    "  - name: home\n"
    "    type: gvpn\n"
    "    tap: ipop0\n"
    "    address: 10.10.0.1/16\n"
    "    address6: fd00::1/64\n"
    "    group: home@example.org\n"
    "    secret_file: @D@/secret\n"
    "    mtu: 1280\n"
    "    successors: 3\n"
    "    chords: 5\n"
    "    max_links: 10\n"
    "    ondemand_threshold: 0\n"
    "    ondemand_idle: 60\n"
    "  - name: work.2\n"
    "    type: gvpn\n"
    "    tap: ipop-work\n"
    "    address: 10.20.0.2/30\n"
    "    group: work\n";

static void check_server(const struct ctl_ice_server *s, const char *addr,
			 unsigned port)
{
	ck_assert_str_eq(s->address, addr);
	ck_assert_uint_eq(s->port, port);
}

static void check_full_ice(const struct ctl_config *c)
{
	ck_assert_uint_eq(c->n_stun, 4);
	check_server(&c->stun[0], "192.0.2.1", 3479);
	check_server(&c->stun[1], "192.0.2.2", 3478);
	check_server(&c->stun[2], "2001:db8::1", 19302);
	check_server(&c->stun[3], "2001:db8::2", 3478);
	ck_assert_uint_eq(c->n_turn, 2);
	check_server(&c->turn[0], "192.0.2.3", 3478);
	ck_assert_str_eq(c->turn[0].user, "u");
	ck_assert_str_eq(c->turn[0].password, "p");
	check_server(&c->turn[1], "2001:db8::3", 3478);
	ck_assert_str_eq(c->turn[1].password, "p2");
}

static void check_full_overlays(const struct ctl_config *c)
{
	const struct ctl_overlay_config *o = &c->overlays[0];
	uint8_t psk[CTL_PSK_LEN];

	ck_assert_uint_eq(c->n_overlays, 2);
	ck_assert_str_eq(o->name, "home");
	ck_assert_int_eq(o->type, CTL_OVERLAY_GVPN);
	ck_assert_str_eq(o->tap, "ipop0");
	ck_assert_str_eq(o->ipv4, "10.10.0.1");
	ck_assert_uint_eq(o->ipv4_prefix, 16);
	ck_assert_str_eq(o->ipv6, "fd00::1");
	ck_assert_uint_eq(o->ipv6_prefix, 64);
	ck_assert_str_eq(o->group, "home@example.org");
	ck_assert_uint_eq(o->mtu, 1280);
	ck_assert_uint_eq(o->topo.successors, 3);
	ck_assert_uint_eq(o->topo.chords, 5);
	ck_assert_uint_eq(o->topo.max_links, 10);
	ck_assert_uint_eq(o->ondemand_threshold, 0);
	ck_assert_uint_eq(o->ondemand_idle, 60);
	ck_assert(o->has_secret);
	crypto_generichash(psk, sizeof(psk), (const uint8_t *)SECRET,
			   strlen(SECRET), NULL, 0);
	ck_assert_mem_eq(o->psk, psk, sizeof(psk));
	o = &c->overlays[1];
	ck_assert_str_eq(o->name, "work.2");
	ck_assert_str_eq(o->tap, "ipop-work");
	ck_assert_uint_eq(o->ipv4_prefix, 30);
	ck_assert(!o->has_secret);
	ck_assert_ptr_null(o->ipv6);
	ck_assert_uint_eq(o->mtu, CTL_MTU_DEFAULT);
	ck_assert_uint_eq(o->topo.successors, IPOP_TOPO_DEFAULT_SUCCESSORS);
	ck_assert_uint_eq(o->topo.chords, IPOP_TOPO_DEFAULT_CHORDS);
	ck_assert_uint_eq(o->topo.max_links, IPOP_TOPO_DEFAULT_MAX_LINKS);
	ck_assert_uint_eq(o->ondemand_threshold,
			  CTL_ONDEMAND_THRESHOLD_DEFAULT);
	ck_assert_uint_eq(o->ondemand_idle, CTL_ONDEMAND_IDLE_DEFAULT);
}

START_TEST(test_full)
{
	struct ctl_config *c = parse_ok(full_yaml);
	g_autofree char *ca = g_build_filename(dir, "ca.pem", NULL);

	ck_assert_str_eq(c->path, "t.yaml");
	ck_assert_str_eq(c->tincan_socket, "/tmp/ipop/tincan.sock");
	ck_assert_str_eq(c->state_dir, "/tmp/ipop/state");
	ck_assert_str_eq(c->jid, "alice@example.org");
	ck_assert_str_eq(c->password, "s3cret");
	ck_assert_str_eq(c->server, "127.0.0.1");
	ck_assert_uint_eq(c->port, 5223);
	ck_assert_int_eq(c->tls, CTL_TLS_OFF);
	ck_assert_str_eq(c->ca_file, ca);
	ck_assert(c->auto_approve);
	check_full_ice(c);
	check_full_overlays(c);
	ctl_config_free(c);
}
END_TEST

/* The kB that /proc/self/smaps reports locked for the mapping holding p,
 * or -1 if no mapping holds it. */
static long locked_kb(const void *p)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	uintptr_t a = (uintptr_t)p, lo, hi;
	bool in = false;

	ck_assert(g_file_get_contents("/proc/self/smaps", &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (size_t i = 0; lines[i] != NULL; i++) {
		long kb;

		if (sscanf(lines[i], "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) ==
		    2)
			in = a >= lo && a < hi;
		else if (in && sscanf(lines[i], "Locked: %ld kB", &kb) == 1)
			return kb;
	}
	return -1;
}

/* AddressSanitizer turns mlock into a no-op. */
#if defined(__SANITIZE_ADDRESS__)
#define MLOCK_WORKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MLOCK_WORKS 0
#endif
#endif
#ifndef MLOCK_WORKS
#define MLOCK_WORKS 1
#endif

/* The group secrets live in locked memory (sodium_malloc), not in the
 * swappable heap (audit, issue 18). */
START_TEST(test_psk_locked)
{
	struct ctl_config *c = parse_ok(full_yaml);
	struct rlimit rl;

	ck_assert(c->overlays[0].has_secret);
	if (!MLOCK_WORKS || (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
			     geteuid() != 0 && rl.rlim_cur < 1024 * 1024)) {
		fprintf(stderr, "# SKIP config:psk_locked: no mlock here "
				"(AddressSanitizer or RLIMIT_MEMLOCK)\n");
		ctl_config_free(c);
		return;
	}
	ck_assert_int_gt(locked_kb(c->overlays[0].psk), 0);
	ctl_config_free(c);
}
END_TEST

#define MIN_XMPP "xmpp:\n  jid: bob@example.net\n  password: pw\n"
#define MIN_OVERLAY                                                            \
	"overlays:\n  - name: o\n    type: gvpn\n    tap: t0\n"                \
	"    address: 10.0.0.1/24\n    group: g\n"

START_TEST(test_minimal)
{
	struct ctl_config *c = parse_ok(MIN_XMPP MIN_OVERLAY);

	ck_assert_str_eq(c->tincan_socket, "/run/ipop/tincan.sock");
	ck_assert_str_eq(c->state_dir, "/var/lib/ipop-controller");
	ck_assert_str_eq(c->password, "pw");
	ck_assert_str_eq(c->server, "example.net");
	ck_assert_uint_eq(c->port, 5222);
	ck_assert_int_eq(c->tls, CTL_TLS_REQUIRED);
	ck_assert_ptr_null(c->ca_file);
	ck_assert(!c->auto_approve);
	ck_assert_uint_eq(c->n_stun, 0);
	ck_assert_uint_eq(c->n_turn, 0);
	ck_assert_uint_eq(c->n_overlays, 1);
	ck_assert_uint_eq(c->overlays[0].mtu, 1400);
	ck_assert(!c->overlays[0].has_secret);
	ck_assert_ptr_null(c->overlays[0].ipv6);
	ctl_config_free(c);
	ctl_config_free(NULL);
}
END_TEST

static void count_warning(const gchar *domain, GLogLevelFlags level,
			  const gchar *msg, gpointer data)
{
	(void)domain;
	(void)level;
	if (strstr(msg, "readable by group or others") != NULL)
		++*(int *)data;
}

/* The loader reads at most 1 MiB: /dev/zero is refused, not read until
 * memory runs out; an inline password in a file others can read is
 * accepted with a warning (audit, issue 18). */
START_TEST(test_load_bounds)
{
	g_autofree char *file = g_build_filename(dir, "inline.yaml", NULL);
	g_autoptr(GError) err = NULL;
	struct ctl_config *c;
	int warned = 0;
	guint h;

	ck_assert_ptr_null(ctl_config_load("/dev/zero", &err));
	ck_assert_ptr_nonnull(strstr(err->message, "larger than"));
	h = g_log_set_handler("controller", G_LOG_LEVEL_WARNING, count_warning,
			      &warned);
	put("inline.yaml", MIN_XMPP MIN_OVERLAY, 0600);
	c = ctl_config_load(file, NULL);
	ck_assert_ptr_nonnull(c);
	ctl_config_free(c);
	ck_assert_int_eq(warned, 0);
	ck_assert_int_eq(g_chmod(file, 0644), 0);
	c = ctl_config_load(file, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->password, "pw");
	ctl_config_free(c);
	ck_assert_int_eq(warned, 1);
	g_log_remove_handler("controller", h);
	g_unlink(file);
}
END_TEST

/* A secret file of another user is refused (audit, issue 18). */
START_TEST(test_foreign_secret)
{
	g_autofree char *text =
	    subst(MIN_XMPP MIN_OVERLAY "    secret_file: @D@/foreign\n");
	g_autofree char *want =
	    subst("t.yaml:10: key 'overlays[0].secret_file': '@D@/foreign' "
		  "belongs to another user");
	g_autoptr(GError) err = NULL;

	if (geteuid() != 0) {
		fprintf(stderr, "# SKIP config:foreign_secret: needs root\n");
		return;
	}
	ck_assert_ptr_null(
	    ctl_config_parse(text, strlen(text), "t.yaml", &err));
	ck_assert_msg(strstr(err->message, want) == err->message, "got \"%s\"",
		      err->message);
}
END_TEST

/* The example, copied next to the password and secret files it names by
 * relative paths, loads; so relative names follow the config file. */
START_TEST(test_example)
{
	g_autofree char *text = NULL, *copy = NULL, *pw = NULL, *sec = NULL;
	g_autoptr(GError) err = NULL;
	struct ctl_config *c;
	gsize len;

	ck_assert(g_file_get_contents(EXAMPLE, &text, &len, NULL));
	copy = g_build_filename(dir, "example.yaml", NULL);
	pw = g_build_filename(dir, "xmpp-password", NULL);
	sec = g_build_filename(dir, "group-secret", NULL);
	ck_assert(g_file_set_contents(copy, text, (gssize)len, NULL));
	put("xmpp-password", "from-the-file\n", 0600);
	put("group-secret", SECRET, 0600);
	c = ctl_config_load(copy, &err);
	g_unlink(copy);
	g_unlink(pw);
	g_unlink(sec);
	ck_assert_msg(c != NULL, "%s", err ? err->message : "");
	ck_assert_str_eq(c->path, copy);
	ck_assert_str_eq(c->password, "from-the-file");
	ck_assert_uint_eq(c->n_overlays, 1);
	ck_assert(c->overlays[0].has_secret);
	ck_assert_int_eq(c->overlays[0].type, CTL_OVERLAY_GVPN);
	ctl_config_free(c);
}
END_TEST

/* The SocialVPN and switch examples load too, next to their files. */
START_TEST(test_examples_other)
{
	static const struct {
		const char *file;
		enum ctl_overlay_type type;
		bool secret;
	} ex[] = {
	    {"../../etc/controller-svpn.yaml", CTL_OVERLAY_SVPN, false},
	    {"../../etc/controller-switch.yaml", CTL_OVERLAY_SWITCH, true},
	};
	g_autofree char *text = NULL, *copy = NULL, *pw = NULL, *sec = NULL;
	g_autoptr(GError) err = NULL;
	struct ctl_config *c;
	gsize len;

	ck_assert(g_file_get_contents(ex[_i].file, &text, &len, NULL));
	copy = g_build_filename(dir, "example.yaml", NULL);
	pw = g_build_filename(dir, "xmpp-password", NULL);
	sec = g_build_filename(dir, "group-secret", NULL);
	ck_assert(g_file_set_contents(copy, text, (gssize)len, NULL));
	put("xmpp-password", "from-the-file\n", 0600);
	put("group-secret", SECRET, 0600);
	c = ctl_config_load(copy, &err);
	g_unlink(copy);
	g_unlink(pw);
	g_unlink(sec);
	ck_assert_msg(c != NULL, "%s: %s", ex[_i].file,
		      err ? err->message : "");
	ck_assert_str_eq(c->password, "from-the-file");
	ck_assert_uint_eq(c->n_overlays, 1);
	ck_assert_int_eq(c->overlays[0].type, ex[_i].type);
	ck_assert(c->overlays[0].has_secret == ex[_i].secret);
	ctl_config_free(c);
}
END_TEST

/* Without the secret files the example fails, naming the resolved path. */
START_TEST(test_load_errors)
{
	g_autoptr(GError) err = NULL;
	struct ctl_config *c = ctl_config_load(EXAMPLE, &err);

	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err->message, EXAMPLE ":") == err->message &&
			  strstr(err->message,
				 "key 'xmpp.password_file': cannot open "
				 "'../../etc/xmpp-password'"),
		      "%s", err->message);
	g_clear_error(&err);
	ck_assert_ptr_null(ctl_config_load("no/such/config.yaml", &err));
	ck_assert(g_error_matches(err, CTL_CONFIG_ERROR, 0));
	ck_assert_ptr_nonnull(strstr(err->message, "no/such/config.yaml"));
}
END_TEST

#define X MIN_XMPP    /* lines 1-3 */
#define O MIN_OVERLAY /* 6 lines */
#define O_HEAD "overlays:\n  - name: o\n    type: gvpn\n    tap: t0\n"
#define STUN9                                                                  \
	"1.1.1.1, 1.1.1.2, 1.1.1.3, 1.1.1.4, 1.1.1.5, 1.1.1.6, "               \
	"1.1.1.7, 1.1.1.8, 1.1.1.9"
#define TURN "{server: 1.2.3.4, user: u, password: p}"
#define X16 "xxxxxxxxxxxxxxxx"
#define X128 X16 X16 X16 X16 X16 X16 X16 X16 /* tincan takes 127 */

/* SocialVPN defaults and pins; switch mode with its bridge. */
START_TEST(test_svpn_switch)
{
	static const char yaml[] = MIN_XMPP
	    "overlays:\n"
	    "  - {name: s, type: svpn, tap: t0,\n"
	    "     pins: [{device: 00112233445566778899aabbccddeeff00112233,"
	    " address: 172.31.9.9}]}\n"
	    "  - {name: w, type: switch, tap: t1, group: lan, bridge: br0}\n";
	static const uint8_t pin[4] = {172, 31, 9, 9};
	static const uint8_t net[4] = {172, 31, 0, 0};
	g_autoptr(GError) err = NULL;
	struct ctl_config *c =
	    ctl_config_parse(yaml, strlen(yaml), "t.yaml", &err);

	ck_assert_msg(c != NULL, "%s", err ? err->message : "");
	ck_assert_int_eq(c->overlays[0].type, CTL_OVERLAY_SVPN);
	ck_assert_mem_eq(c->overlays[0].subnet, net, 4);
	ck_assert_uint_eq(c->overlays[0].subnet_prefix, 16);
	ck_assert_str_eq(c->overlays[0].ipv4, "172.31.0.1");
	ck_assert_uint_eq(c->overlays[0].ipv4_prefix, 16);
	ck_assert_str_eq(c->overlays[0].group, "socialvpn");
	ck_assert_uint_eq(c->overlays[0].n_pins, 1);
	ck_assert_str_eq(c->overlays[0].pins[0].device,
			 "00112233445566778899aabbccddeeff00112233");
	ck_assert_mem_eq(c->overlays[0].pins[0].v4, pin, 4);
	ck_assert_int_eq(c->overlays[1].type, CTL_OVERLAY_SWITCH);
	ck_assert_str_eq(c->overlays[1].bridge, "br0");
	ck_assert_ptr_null(c->overlays[1].ipv4);
	ctl_config_free(c);
}
END_TEST

static const struct bad {
	const char *yaml;
	const char *want;
} bad[] = {
    /* structure */
    {"", "t.yaml:1: the configuration is empty"},
    {"# only a comment\n", "t.yaml:1: the configuration is empty"},
    {"- a\n- b\n",
     "t.yaml:1: the top level must be a mapping of keys, not a list"},
    {"hello\n",
     "t.yaml:1: the top level must be a mapping of keys, not a single value"},
    {X "  port: [5222\n",
     "t.yaml:5: YAML syntax error: did not find expected ',' or ']'"},
    {"xmpp:\n  jid: a@b\n\tpassword: x\n",
     "t.yaml:3: YAML syntax error: found a tab character that violates "
     "indentation"},
    {X "  server: &h 127.0.0.1\n",
     "t.yaml:4: YAML anchors and aliases are not supported"},
    {"xmpp: &x\n  jid: a@b\n",
     "t.yaml:1: YAML anchors and aliases are not supported"},
    {X O "ice:\n  stun: [*a]\n",
     "t.yaml:11: YAML anchors and aliases are not supported"},
    {X O "---\n" X O, "t.yaml:10: only one YAML document is allowed"},
    {"xmpp:\n  jid: a@b\n  password: \"x\\0y\"\n",
     "t.yaml:3: NUL byte in a value"},
    /* unknown and duplicate keys */
    /* A socket path that does not fit sun_path (audit, issue 18). */
    {"tincan:\n  socket: /" X128 "\n" X O,
     "t.yaml:2: key 'tincan.socket': longer than 107 bytes"},
    {X "  prot: 5222\n",
     "t.yaml:4: key 'xmpp.prot': unknown key (expected one of: jid, password, "
     "password_file, server, port, tls, ca_file, auto_approve)"},
    {X "  auto_approve: yes\n",
     "t.yaml:4: key 'xmpp.auto_approve': must be false or true, not 'yes'"},
    {"xmmp:\n  jid: a@b\n", "t.yaml:1: key 'xmmp': unknown key (expected one "
			    "of: tincan, state_dir, xmpp, ice, overlays)"},
    {X O "    gruop: g\n", "t.yaml:10: key 'overlays[0].gruop': unknown key"},
    {X "  jid: c@d\n",
     "t.yaml:4: key 'xmpp.jid': duplicate key (first on line 2)"},
    {X "xmpp:\n  jid: c@d\n",
     "t.yaml:4: key 'xmpp': duplicate key (first on line 1)"},
    {"{[a]: 1}\n", "t.yaml:1: key '(top level)': a key must be a plain name"},
    /* required keys */
    {O, "t.yaml:1: key 'xmpp': required key is missing"},
    {X, "t.yaml:1: key 'overlays': required key is missing"},
    {"xmpp:\n  password: x\n",
     "t.yaml:2: key 'xmpp.jid': required key is missing"},
    {"xmpp:\n  jid: a@b\n  port: 5222\n",
     "t.yaml:2: key 'xmpp.password': required key is missing (give password or "
     "password_file)"},
    {X "overlays:\n  - type: gvpn\n    tap: t0\n",
     "t.yaml:5: key 'overlays[0].name': required key is missing"},
    {X "overlays:\n  - name: o\n    tap: t0\n",
     "t.yaml:5: key 'overlays[0].type': required key is missing"},
    {X "overlays:\n  - name: o\n    type: gvpn\n",
     "t.yaml:5: key 'overlays[0].tap': required key is missing"},
    {X O_HEAD "    group: g\n", "t.yaml:5: key 'overlays[0].address': required "
				"key is missing (type gvpn needs it)"},
    {X O_HEAD "    address: 10.0.0.1/24\n",
     "t.yaml:5: key 'overlays[0].group': required key is missing (type gvpn "
     "needs it)"},
    {X "ice:\n  turn:\n    - server: 1.2.3.4:3478\n      user: u\n",
     "t.yaml:6: key 'ice.turn[0].password': required key is missing"},
    {X "ice:\n  turn:\n    - {server: 1.2.3.4, password: p}\n",
     "t.yaml:6: key 'ice.turn[0].user': required key is missing"},
    /* wrong types */
    {"xmpp:\n  - jid: a@b\n",
     "t.yaml:2: key 'xmpp': must be a mapping, not a list"},
    {"xmpp: alice\n",
     "t.yaml:1: key 'xmpp': must be a mapping, not a single value"},
    {"xmpp:\n  jid: {a: b}\n",
     "t.yaml:2: key 'xmpp.jid': must be a single value, not a mapping"},
    {X "  port: [1]\n", "t.yaml:4: key 'xmpp.port': must be 1-65535"},
    {X "overlays:\n  name: o\n",
     "t.yaml:5: key 'overlays': must be a list, not a mapping"},
    {X "overlays:\n  - o\n",
     "t.yaml:5: key 'overlays[0]': must be a mapping, not a single value"},
    {X "ice:\n  stun: 1.2.3.4\n",
     "t.yaml:5: key 'ice.stun': must be a list, not a single value"},
    {X "ice:\n  turn: [1.2.3.4]\n",
     "t.yaml:5: key 'ice.turn[0]': must be a mapping, not a single value"},
    {"state_dir: [a]\n",
     "t.yaml:1: key 'state_dir': must be a single value, not a list"},
    {"tincan: /run/x\n",
     "t.yaml:1: key 'tincan': must be a mapping, not a single value"},
    /* xmpp values */
    {X "  port: 0\n", "t.yaml:4: key 'xmpp.port': must be 1-65535"},
    {X "  port: 65536\n", "t.yaml:4: key 'xmpp.port': must be 1-65535"},
    {X "  port: 52x\n", "t.yaml:4: key 'xmpp.port': must be 1-65535"},
    {X "  port: -1\n", "t.yaml:4: key 'xmpp.port': must be 1-65535"},
    {X "  tls: yes\n",
     "t.yaml:4: key 'xmpp.tls': must be required or off, not 'yes'"},
    {X "  server: bad host\n", "t.yaml:4: key 'xmpp.server': 'bad host' is not "
			       "a host name or IP address"},
    {X "  ca_file: @D@/missing.pem\n",
     "t.yaml:4: key 'xmpp.ca_file': cannot read '@D@/missing.pem'"},
    {"xmpp:\n  jid: a@b/res\n",
     "t.yaml:2: key 'xmpp.jid': 'a@b/res' is not a bare JID"},
    {"xmpp:\n  jid: alice\n",
     "t.yaml:2: key 'xmpp.jid': 'alice' is not a bare JID"},
    {"xmpp:\n  jid: a@b\n  password:\n",
     "t.yaml:3: key 'xmpp.password': must not be empty"},
    {X "  password_file: @D@/pw\n",
     "t.yaml:4: key 'xmpp.password_file': give either xmpp.password or "
     "xmpp.password_file, not both"},
    {"xmpp:\n  password_file: @D@/pw\n  password: x\n",
     "t.yaml:3: key 'xmpp.password': give either"},
    {"xmpp:\n  jid: a@b\n  password_file: no-such-file\n",
     "t.yaml:3: key 'xmpp.password_file': cannot open 'no-such-file': No such "
     "file"},
    {"xmpp:\n  jid: a@b\n  password_file: @D@/loose\n",
     "t.yaml:3: key 'xmpp.password_file': '@D@/loose' is accessible by group "
     "or others (mode 0644)"},
    {"xmpp:\n  jid: a@b\n  password_file: @D@/fifo\n",
     "t.yaml:3: key 'xmpp.password_file': '@D@/fifo' is not a regular file"},
    {"xmpp:\n  jid: a@b\n  password_file: @D@\n",
     "t.yaml:3: key 'xmpp.password_file': '@D@' is not a regular file"},
    /* ice values */
    {X "ice:\n  stun: [stun.example.org]\n",
     "t.yaml:5: key 'ice.stun[0]': 'stun.example.org' must be a numeric IP "
     "address with an optional :PORT (host names are not resolved; write IPv6 "
     "as [addr]:port)"},
    {X "ice:\n  stun:\n    - 1.2.3.4\n    - 1.2.3.4:0\n",
     "t.yaml:7: key 'ice.stun[1]': '1.2.3.4:0' must be a numeric IP address"},
    {X "ice:\n  stun: ['1.2.3.4:']\n",
     "t.yaml:5: key 'ice.stun[0]': '1.2.3.4:' must be a numeric IP"},
    {X "ice:\n  stun: ['[2001:db8::1]3478']\n",
     "t.yaml:5: key 'ice.stun[0]': '[2001:db8::1]3478' must be a numeric IP"},
    {X "ice:\n  stun: ['[1.2.3.4]:3478']\n",
     "t.yaml:5: key 'ice.stun[0]': '[1.2.3.4]:3478' must be a numeric IP"},
    {X "ice:\n  stun: [" STUN9 "]\n",
     "t.yaml:5: key 'ice.stun': at most 8 entries are allowed (9 given)"},
    {X "ice:\n  turn: [" TURN "," TURN "," TURN "," TURN "," TURN "," TURN
       "," TURN "," TURN "," TURN "]\n",
     "t.yaml:5: key 'ice.turn': at most 8 entries are allowed (9 given)"},
    {X "ice:\n  turn:\n    - server: turn.example.org:3478\n",
     "t.yaml:6: key 'ice.turn[0].server': 'turn.example.org:3478' must be a "
     "numeric IP address"},
    {X "ice:\n  turn:\n    - {server: 1.2.3.4, user: u, password: " X128 "}\n",
     "t.yaml:6: key 'ice.turn[0].password': must be at most 127 bytes"},
    {X "ice:\n  turn:\n    - {server: 1.2.3.4, password: p, user: " X128 "}\n",
     "t.yaml:6: key 'ice.turn[0].user': must be at most 127 bytes"},
    {X "ice:\n  sturn: []\n",
     "t.yaml:5: key 'ice.sturn': unknown key (expected one of: stun, turn)"},
    /* overlay values */
    {X "overlays: []\n",
     "t.yaml:4: key 'overlays': at least one overlay is required"},
    {X O "    address6: fd00::1\n",
     "t.yaml:10: key 'overlays[0].address6': 'fd00::1' must be an IPv6 address "
     "with a prefix length"},
    {X O_HEAD "    address: 10.0.0/24\n",
     "t.yaml:8: key 'overlays[0].address': '10.0.0/24' must be an IPv4 address "
     "with a prefix length A.B.C.D/P, P 1-30"},
    {X O_HEAD "    address: 10.0.0.1\n",
     "t.yaml:8: key 'overlays[0].address': '10.0.0.1' must be an IPv4"},
    {X O_HEAD "    address: 10.0.0.1/31\n",
     "t.yaml:8: key 'overlays[0].address': '10.0.0.1/31' must be an IPv4"},
    {X O_HEAD "    address: 10.0.0.1/0\n",
     "t.yaml:8: key 'overlays[0].address': '10.0.0.1/0' must be an IPv4"},
    {X O_HEAD "    address: 10.0.0.1/2x\n",
     "t.yaml:8: key 'overlays[0].address': '10.0.0.1/2x' must be an IPv4"},
    {X O_HEAD "    address: fd00::1/64\n",
     "t.yaml:8: key 'overlays[0].address': 'fd00::1/64' must be an IPv4"},
    {X O_HEAD "    address: 10.0.0.0/24\n",
     "t.yaml:8: key 'overlays[0].address': '10.0.0.0/24' is the network or "
     "broadcast address"},
    {X O_HEAD "    address: 10.0.0.255/24\n",
     "t.yaml:8: key 'overlays[0].address': '10.0.0.255/24' is the network or "
     "broadcast address"},
    {X "overlays:\n  - name: o\n    type: switch\n    tap: t0\n    group: g\n",
     "t.yaml:5: key 'overlays[0].bridge': required key is missing (type switch "
     "needs it)"},
    {X "overlays:\n  - name: o\n    type: svpn\n    tap: t0\n    address: "
       "10.0.0.1/24\n",
     "t.yaml:5: key 'overlays[0].address': '10.0.0.1/24' must lie in the "
     "subnet with its prefix /16"},
    {X "overlays:\n  - name: o\n    type: svpn\n    tap: t0\n    subnet: "
       "10.9.0.0/16\n    address: 10.9.3.4/24\n",
     "t.yaml:5: key 'overlays[0].address': '10.9.3.4/24' must lie in the "
     "subnet"},
    {X "overlays:\n  - name: o\n    type: svpn\n    tap: t0\n    subnet: "
       "10.9.0.1/16\n",
     "t.yaml:8: key 'overlays[0].subnet': '10.9.0.1/16' has host bits set"},
    {X "overlays:\n  - name: o\n    type: svpn\n    tap: t0\n    subnet: "
       "10.9.0.0/7\n",
     "t.yaml:8: key 'overlays[0].subnet': '10.9.0.0/7' must be an IPv4 subnet"},
    {X "overlays:\n  - name: o\n    type: svpn\n    tap: t0\n    pins: "
       "[{device: abc, address: 172.31.9.9}]\n",
     "t.yaml:8: key 'overlays[0].pins[0].device': 'abc' must be a device uid"},
    {X "overlays:\n  - name: o\n    type: svpn\n    tap: t0\n    pins: "
       "[{device: 0000000000000000000000000000000000000000}]\n",
     "t.yaml:8: key 'overlays[0].pins[0].address': required key is missing"},
    {X O_HEAD "    address: 10.0.0.1/24\n    group: g\n    bridge: br0\n",
     "t.yaml:5: key 'overlays[0].bridge': only for type switch"},
    {X
     "overlays:\n  - name: o\n    type: svpn\n    tap: t0\n    pins: [{device: "
     "0000000000000000000000000000000000000000, address: 10.9.9.9}]\n",
     "t.yaml:5: key 'overlays[0].pins': pin 0: address is not a free host of "
     "the subnet"},
    {X
     "overlays:\n  - name: o\n    type: svpn\n    tap: t0\n    pins: [{device: "
     "0000000000000000000000000000000000000000, address: 172.31.0.1}]\n",
     "t.yaml:5: key 'overlays[0].pins': pin 0: address is not a free host"},
    {X
     "overlays:\n  - name: o\n    type: svpn\n    tap: t0\n    pins: [{device: "
     "0000000000000000000000000000000000000000, address: 172.31.0.9}, {device: "
     "1000000000000000000000000000000000000000, address: 172.31.0.9}]\n",
     "t.yaml:5: key 'overlays[0].pins': pins 0 and 1 share a device or an "
     "address"},
    {X "overlays:\n  - name: o\n    type: svpn\n    tap: t0\n    address6: "
       "fd00::1/64\n",
     "t.yaml:5: key 'overlays[0].address6': not for type svpn"},
    {X O_HEAD
     "    address: 10.0.0.1/24\n    group: g\n    subnet: 10.0.0.0/16\n",
     "t.yaml:5: key 'overlays[0].subnet': only for type svpn"},
    {X "overlays:\n  - name: o\n    type: vpn\n",
     "t.yaml:6: key 'overlays[0].type': must be gvpn, svpn or switch, not "
     "'vpn'"},
    {X "overlays:\n  - name: a b\n", "t.yaml:5: key 'overlays[0].name': 'a b' "
				     "may only contain A-Z a-z 0-9 . _ -"},
    {X "overlays:\n  - name: abcdefghijklmnopqrstuvwxyz0123456\n",
     "t.yaml:5: key 'overlays[0].name': 'abcdefghijklmnopqrstuvwxyz0123456' is "
     "longer than 32 bytes"},
    {X "overlays:\n  - name: \"\"\n",
     "t.yaml:5: key 'overlays[0].name': must not be empty"},
    {X "overlays:\n  - tap: ''\n",
     "t.yaml:5: key 'overlays[0].tap': must not be empty"},
    {X "overlays:\n  - tap: ..\n",
     "t.yaml:5: key 'overlays[0].tap': '..' is not an interface name"},
    {X "overlays:\n  - tap: ipop-very-long-tap\n",
     "t.yaml:5: key 'overlays[0].tap': 'ipop-very-long-tap' is longer than 15 "
     "bytes"},
    {X "overlays:\n  - tap: ipop/0\n",
     "t.yaml:5: key 'overlays[0].tap': 'ipop/0' may only contain"},
    {X O_HEAD "    group: g!\n", "t.yaml:8: key 'overlays[0].group': 'g!' may "
				 "only contain A-Z a-z 0-9 . _ - @"},
    {X O "    successors: 0\n",
     "t.yaml:10: key 'overlays[0].successors': must be 1-16"},
    {X O "    chords: 33\n",
     "t.yaml:10: key 'overlays[0].chords': must be 0-32"},
    {X O "    ondemand_idle: 86401\n",
     "t.yaml:10: key 'overlays[0].ondemand_idle': must be 0-86400"},
    {X O "    successors: 3\n    max_links: 5\n",
     "t.yaml:5: key 'overlays[0].max_links': max_links must be at least 2 * "
     "successors"},
    {X "overlays:\n  - name: o\n    type: svpn\n    tap: t0\n    chords: 3\n",
     "t.yaml:5: key 'overlays[0].chords': only for type gvpn"},
    {X O "    mtu: 575\n",
     "t.yaml:10: key 'overlays[0].mtu': must be 576-9000"},
    {X O "    mtu: 9001\n",
     "t.yaml:10: key 'overlays[0].mtu': must be 576-9000"},
    {X O "    secret_file: @D@/short\n",
     "t.yaml:10: key 'overlays[0].secret_file': '@D@/short' is too short (7 "
     "bytes, at least 16)"},
    {X O "    secret_file: @D@/loose\n",
     "t.yaml:10: key 'overlays[0].secret_file': '@D@/loose' is accessible by "
     "group or others (mode 0644): run chmod 600 on it"},
    /* A FIFO is refused, not waited on for ever (audit, issue 18). */
    {X O "    secret_file: @D@/fifo\n",
     "t.yaml:10: key 'overlays[0].secret_file': '@D@/fifo' is not a regular "
     "file"},
    {X O "    secret_file: @D@/none\n",
     "t.yaml:10: key 'overlays[0].secret_file': cannot open '@D@/none': No "
     "such file"},
    {X O "  - name: o\n", "t.yaml:10: key 'overlays[1].name': duplicate "
			  "overlay name 'o' (also overlays[0])"},
    {X O "  - name: p\n    tap: t0\n",
     "t.yaml:11: key 'overlays[1].tap': duplicate tap 't0' (also overlays[0])"},
};

START_TEST(test_bad)
{
	const struct bad *b = &bad[_i];
	g_autofree char *text = subst(b->yaml), *want = subst(b->want);
	g_autoptr(GError) err = NULL;
	struct ctl_config *c;

	c = ctl_config_parse(text, strlen(text), "t.yaml", &err);
	ck_assert_msg(c == NULL, "row %d parsed", _i);
	ck_assert(g_error_matches(err, CTL_CONFIG_ERROR, 0));
	ck_assert_msg(strstr(err->message, want) == err->message,
		      "row %d: got \"%s\", want \"%s...\"", _i, err->message,
		      want);
}
END_TEST

/* Seventeen overlays are one too many. */
START_TEST(test_too_many_overlays)
{
	g_autoptr(GString) s = g_string_new(MIN_XMPP "overlays:\n");
	g_autoptr(GError) err = NULL;

	for (int i = 0; i < CTL_MAX_OVERLAYS + 1; i++)
		g_string_append_printf(s,
				       "  - {name: o%d, type: gvpn, tap: t%d, "
				       "address: 10.0.%d.1/24, group: g}\n",
				       i, i, i);
	ck_assert_ptr_null(ctl_config_parse(s->str, s->len, "t.yaml", &err));
	ck_assert_str_eq(err->message, "t.yaml:5: key 'overlays': at most 16 "
				       "entries are allowed (17 given)");
	g_string_truncate(s, strrchr(s->str, '\n') - s->str);
	g_string_truncate(s, strrchr(s->str, '\n') - s->str + 1);
	ctl_config_free(parse_ok(s->str));
}
END_TEST

Suite *suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_psk_locked);
	tcase_add_test(tc, test_foreign_secret);
	tcase_add_test(tc, test_load_bounds);
	tcase_add_test(tc, test_minimal);
	tcase_add_test(tc, test_svpn_switch);
	tcase_add_test(tc, test_example);
	tcase_add_loop_test(tc, test_examples_other, 0, 2);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_too_many_overlays);
	tcase_add_loop_test(tc, test_bad, 0, G_N_ELEMENTS(bad));
	suite_add_tcase(s, tc);
	return s;
}
