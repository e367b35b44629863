/*
 * The metrics command: asks tincan for its metrics (GetMetrics) and prints
 * the Prometheus text exactly as the --metrics listener serves it, or with
 * --json one document {"metrics": TEXT}.
 */
#include <stdio.h>
#include <string.h>

#include "tools/ipopctl/client.h"
#include "tools/ipopctl/json.h"

int cmd_metrics(struct ctl *c, struct args *a)
{
	Ipop__Envelope *env = NULL;
	Ipop__Request req;
	Ipop__GetMetrics gm;
	const char *text;
	struct json j;
	int r;

	(void)a;
	r = client_open(c);
	if (r != CTL_OK)
		return r;
	ipop__get_metrics__init(&gm);
	ipop__request__init(&req);
	req.kind_case = IPOP__REQUEST__KIND_GET_METRICS;
	req.get_metrics = &gm;
	r = client_expect(c, &req, IPOP__RESPONSE__RESULT_METRICS, "GetMetrics",
			  "Metrics", &env);
	if (r != CTL_OK)
		return r;
	text = env->response->metrics->text;
	if (c->json) {
		json_begin(&j);
		json_sep(&j, "metrics");
		json_escape(j.s, text);
		json_end(&j);
	} else {
		fputs(text, stdout);
	}
	ipop__envelope__free_unpacked(env, NULL);
	return CTL_OK;
}
