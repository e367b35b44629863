/*
 * The metrics listener harness's seeds: requests as Prometheus, curl and
 * wget send them, the refusals the unit tests list (other paths, methods
 * and versions, bad header lines, a bare LF request), a request split
 * across a body, and --metrics addresses.
 */
#include <string.h>

#include "test/fuzz/seeds/seeds.h"

static const struct {
	const char *name, *text;
} http[] = {
    {"prometheus",
     "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9586\r\n"
     "User-Agent: Prometheus/2.42.0\r\nAccept: application/openmetrics-text;"
     "version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
     "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n"
     "\r\n"},
    {"curl", "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9586\r\n"
	     "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"},
    {"http10", "GET /metrics HTTP/1.0\r\n\r\n"},
    {"lf-only", "GET /metrics HTTP/1.1\nHost: x\n\n"},
    {"query", "GET /metrics?x=1 HTTP/1.1\r\n\r\n"},
    {"not-found", "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n"},
    {"post", "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"},
    {"head", "HEAD /metrics HTTP/1.1\r\n\r\n"},
    {"http2", "GET /metrics HTTP/2.0\r\n\r\n"},
    {"preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
    {"no-version", "GET /metrics\r\n\r\n"},
    {"bad-header", "GET /metrics HTTP/1.1\r\nNoColon\r\n\r\n"},
    {"folded", "GET /metrics HTTP/1.1\r\nA: b\r\n c\r\n\r\n"},
    {"incomplete", "GET /metrics HTTP/1.1\r\nHost: x\r\n"},
    {"addr-v4", "127.0.0.1:9586"},
    {"addr-v6", "[::1]:9586"},
    {"addr-mapped", "[::ffff:127.0.0.1]:9586"},
    {"addr-bad-port", "127.0.0.1:65536"},
    {"escape", "alice \"a\\b\"\nnext"},
};

void http_seeds(void)
{
	size_t i;

	for (i = 0; i < sizeof(http) / sizeof(http[0]); i++)
		put("fuzz_http", http[i].name, http[i].text,
		    strlen(http[i].text));
}
