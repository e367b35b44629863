/*
 * libFuzzer harness for the metrics listener's input: the HTTP request
 * parser and the --metrics address parser (tincan/metrics_http.c), and the
 * label escaping of tincan/metrics.c.  The request is parsed whole and at
 * every prefix length a byte plan picks: the answer must be a known
 * status, and once a prefix is decided (not incomplete) every longer one
 * must get the same answer, as the server answers at the first decided
 * read.  200 only for a GET of /metrics.  The input as a string goes to
 * the address parser (a result is IPv4 or IPv6 with a port) and to the
 * escaper (no raw newline, no unescaped quote).
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "tincan/metrics.h"
#include "tincan/metrics_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_known(enum tc_http_status st)
{
	switch (st) {
	case TC_HTTP_INCOMPLETE:
	case TC_HTTP_OK:
	case TC_HTTP_BAD_REQUEST:
	case TC_HTTP_NOT_FOUND:
	case TC_HTTP_BAD_METHOD:
	case TC_HTTP_TOO_LARGE:
	case TC_HTTP_BAD_VERSION:
		return true;
	default:
		return false;
	}
}

static void requests(const uint8_t *data, size_t size)
{
	enum tc_http_status whole = tc_http_parse(data, size), st;
	enum tc_http_status decided = TC_HTTP_INCOMPLETE;
	size_t n, step = size > 0 ? 1 + data[0] % 16 : 1;

	assert(is_known(whole));
	if (whole == TC_HTTP_OK)
		assert(size >= 13 && memcmp(data, "GET /metrics", 12) == 0);
	for (n = 0; n <= size; n += step) {
		st = tc_http_parse(data, n);
		assert(is_known(st));
		if (decided != TC_HTTP_INCOMPLETE)
			assert(st == decided);
		decided = st;
	}
	if (decided != TC_HTTP_INCOMPLETE)
		assert(whole == decided);
}

static void addresses(const char *s)
{
	struct sockaddr_storage sa;
	socklen_t len = 0;
	char why[160];

	if (tc_http_parse_addr(s, &sa, &len, why, sizeof(why)) == 0) {
		assert(sa.ss_family == AF_INET || sa.ss_family == AF_INET6);
		assert(((struct sockaddr_in *)&sa)->sin_port != 0);
		(void)tc_http_is_loopback(&sa);
	} else {
		assert(strstr(why, "is not IPv4:PORT") != NULL);
	}
}

static void escaping(const char *s)
{
	GString *out = g_string_new(NULL);
	size_t i;

	tc_metrics_escape(out, s);
	assert(strchr(out->str, '\n') == NULL);
	for (i = 0; i < out->len; i++) {
		if (out->str[i] == '\\') {
			assert(i + 1 < out->len);
			assert(strchr("\\\"n", out->str[i + 1]) != NULL);
			i++;
		} else {
			assert(out->str[i] != '"');
		}
	}
	g_string_free(out, TRUE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = g_strndup((const char *)data, size);

	requests(data, size);
	addresses(s);
	escaping(s);
	g_free(s);
	return 0;
}
