/*
 * expo: Prometheus text format 0.0.4 and OpenMetrics 1.0.0.
 *
 * The two differ in little: OpenMetrics names a counter family without its
 * _total suffix, has an info type, escapes '"' in HELP and ends with
 * "# EOF".  Both get bucket bounds written as "1.0", never "1".
 */
#include "autoconf.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "inferd/expo.h"
#include "inferd/numfmt.h"
#include "inferd/routes.h"
#include "inferd/shm.h"

#define EXPO_ACCEPT_MAX	1024	/* bytes of Accept considered; else text */

/* Write v in numfmt's shortest round-trip form, with ".0" added to an
 * integral value ("1.0", "2.5", "+Inf"), as Prometheus' own clients write
 * bucket bounds; return the length. */
static size_t
expo_format_double(char buf[NUMFMT_LEN], double v)
{
	size_t	len;

	len = numfmt_double(buf, v);
	if (strspn(buf, "-0123456789") == len) {
		memcpy(buf + len, ".0", 3);
		len += 2;
	}
	return len;
}

/* Append a double as expo_format_double writes it. */
int
expo_write_double(struct evbuffer *out, double v)
{
	char	buf[NUMFMT_LEN];
	size_t	len;

	len = expo_format_double(buf, v);
	return evbuffer_add(out, buf, len);
}

/* Append s escaped: backslash and newline always, '"' when quote. */
static int
expo_escape(struct evbuffer *out, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		const char *rep = NULL;

		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '\n')
			rep = "\\n";
		else if (*s == '"' && quote)
			rep = "\\\"";
		if (rep != NULL ? evbuffer_add(out, rep, strlen(rep)) :
		    evbuffer_add(out, s, 1))
			return -1;
	}
	return 0;
}

/*
 * Append the HELP and TYPE lines of a family.  name is the sample name
 * (with _total or _info); OpenMetrics names the family without the suffix.
 */
int
expo_write_family(struct evbuffer *out, enum expo_format fmt, const char *name,
    const char *type, const char *help)
{
	char	family[128];
	size_t	len;

	strlcpy(family, name, sizeof(family));
	len = strlen(family);
	if (fmt == EXPO_OPENMETRICS) {
		if (strcmp(type, "counter") == 0 && len > 6 &&
		    strcmp(family + len - 6, "_total") == 0)
			family[len - 6] = '\0';
		if (strcmp(type, "info") == 0 && len > 5 &&
		    strcmp(family + len - 5, "_info") == 0)
			family[len - 5] = '\0';
	} else if (strcmp(type, "info") == 0)
		type = "gauge";
	if (evbuffer_add_printf(out, "# HELP %s ", family) < 0 ||
	    expo_escape(out, help, fmt == EXPO_OPENMETRICS) == -1 ||
	    evbuffer_add_printf(out, "\n# TYPE %s %s\n", family, type) < 0)
		return -1;
	return 0;
}

/* Append `name{k="v",...} ` for nlabels pairs in labels (may be 0). */
static int
expo_sample(struct evbuffer *out, const char *name, const char *const *labels,
    size_t nlabels)
{
	size_t	i;

	if (evbuffer_add_printf(out, "%s", name) < 0)
		return -1;
	for (i = 0; i < nlabels; i++) {
		if (evbuffer_add_printf(out, "%s%s=\"", i == 0 ? "{" : ",",
		    labels[2 * i]) < 0 ||
		    expo_escape(out, labels[2 * i + 1], 1) == -1 ||
		    evbuffer_add(out, "\"", 1))
			return -1;
	}
	if (nlabels > 0 && evbuffer_add(out, "}", 1))
		return -1;
	return evbuffer_add(out, " ", 1);
}

/* A sample with an unsigned integer value. */
static int
expo_uint(struct evbuffer *out, const char *name, const char *const *labels,
    size_t nlabels, uint64_t v)
{
	if (expo_sample(out, name, labels, nlabels) == -1)
		return -1;
	return evbuffer_add_printf(out, "%llu\n", (unsigned long long)v) < 0 ?
	    -1 : 0;
}

/* A sample with a floating-point value. */
static int
expo_double(struct evbuffer *out, const char *name, const char *const *labels,
    size_t nlabels, double v)
{
	if (expo_sample(out, name, labels, nlabels) == -1 ||
	    expo_write_double(out, v) == -1)
		return -1;
	return evbuffer_add(out, "\n", 1);
}

/* The latency histogram. */
static int
expo_histogram(struct evbuffer *out, enum expo_format fmt,
    const struct shm_snapshot *snap)
{
	const char	*le[2] = { "le", NULL };
	char		 bound[NUMFMT_LEN];
	size_t		 b;

	if (expo_write_family(out, fmt, "prediction_latency_seconds", "histogram",
	    "Time from the arrival of an inference request to its response, "
	    "requested delay included.") == -1)
		return -1;
	for (b = 0; b <= snap->nbuckets; b++) {
		if (b == snap->nbuckets)
			strlcpy(bound, "+Inf", sizeof(bound));
		else
			expo_format_double(bound, snap->bounds[b]);
		le[1] = bound;
		if (expo_uint(out, "prediction_latency_seconds_bucket", le, 1,
		    snap->cumulative[b]) == -1)
			return -1;
	}
	if (expo_uint(out, "prediction_latency_seconds_count", NULL, 0,
	    snap->count) == -1 ||
	    expo_double(out, "prediction_latency_seconds_sum", NULL, 0,
	    snap->sum) == -1)
		return -1;
	return 0;
}

/* Requests by handler and code; only pairs that occurred, in table order. */
static int
expo_requests(struct evbuffer *out, enum expo_format fmt,
    const struct shm_snapshot *snap)
{
	const char	*labels[4] = { "handler", NULL, "code", NULL };
	char		 code[8];
	size_t		 h, c;

	if (expo_write_family(out, fmt, "inferd_http_requests_total", "counter",
	    "HTTP requests answered by the workers, by handler and status "
	    "code.") == -1)
		return -1;
	for (h = 0; h < ROUTES_NHANDLERS; h++) {
		for (c = 0; c < SHM_NCODES; c++) {
			if (snap->requests[h][c] == 0 &&
			    !(h == ROUTES_H_PREDICT && c == SHM_C_200))
				continue;
			snprintf(code, sizeof(code), "%d", shm_code_values[c]);
			labels[1] = routes_handler_names[h];
			labels[3] = code;
			if (expo_uint(out, "inferd_http_requests_total", labels,
			    2, snap->requests[h][c]) == -1)
				return -1;
		}
	}
	return 0;
}

/* Write every family. */
int
expo_write(struct evbuffer *out, enum expo_format fmt,
    const struct expo_metrics *m)
{
	const char *build[2] = { "version", m->version };
	const char *model[6] = { "name", m->model_name, "sha256",
	    m->model_sha256, "objective", m->model_objective };

	if (expo_histogram(out, fmt, m->snap) == -1 ||
	    expo_requests(out, fmt, m->snap) == -1)
		return -1;
	if (expo_write_family(out, fmt, "inferd_http_requests_in_flight", "gauge",
	    "Requests the workers are answering now.") == -1 ||
	    expo_uint(out, "inferd_http_requests_in_flight", NULL, 0,
	    (uint64_t)m->snap->in_flight) == -1)
		return -1;
	if (expo_write_family(out, fmt, "inferd_workers", "gauge",
	    "Worker processes configured.") == -1 ||
	    expo_uint(out, "inferd_workers", NULL, 0, m->workers) == -1 ||
	    expo_write_family(out, fmt, "inferd_workers_alive", "gauge",
	    "Worker processes running now.") == -1 ||
	    expo_uint(out, "inferd_workers_alive", NULL, 0,
	    m->workers_alive) == -1 ||
	    expo_write_family(out, fmt, "inferd_worker_restarts_total", "counter",
	    "Workers the master replaced after they died.") == -1 ||
	    expo_uint(out, "inferd_worker_restarts_total", NULL, 0,
	    m->worker_restarts) == -1)
		return -1;
	if (expo_write_family(out, fmt, "inferd_model_info", "info",
	    "The model being served.") == -1 ||
	    expo_uint(out, "inferd_model_info", model, 3, 1) == -1 ||
	    expo_write_family(out, fmt, "inferd_model_load_failures_total",
	    "counter", "Model loads (start-up or reload) that failed.") ==
	    -1 ||
	    expo_uint(out, "inferd_model_load_failures_total", NULL, 0,
	    m->model_load_failures) == -1)
		return -1;
	if (expo_write_family(out, fmt, "inferd_build_info", "info",
	    "inferd's version.") == -1 ||
	    expo_uint(out, "inferd_build_info", build, 1, 1) == -1 ||
	    expo_write_family(out, fmt, "process_start_time_seconds", "gauge",
	    "Start time of the master process since the Unix epoch in "
	    "seconds.") == -1 ||
	    expo_double(out, "process_start_time_seconds", NULL, 0,
	    m->start_time) == -1)
		return -1;
	if (fmt == EXPO_OPENMETRICS && evbuffer_add_printf(out, "# EOF\n") < 0)
		return -1;
	return 0;
}

/* Parse the q parameter of one media range; 1 when absent. */
static double
expo_q(const char *params)
{
	const char	*q;

	for (q = params; (q = strchr(q, ';')) != NULL; q++) {
		while (q[1] == ' ')
			q++;
		if (strncasecmp(q + 1, "q=", 2) == 0)
			return strtod(q + 3, NULL);
	}
	return 1.0;
}

/* Pick OpenMetrics when the client prefers it at least as much as text. */
enum expo_format
expo_negotiate(const char *accept)
{
	char	 buf[EXPO_ACCEPT_MAX], *range, *save = NULL;
	double	 om = 0, text = 0, q;

	if (accept == NULL || strlcpy(buf, accept, sizeof(buf)) >= sizeof(buf))
		return EXPO_TEXT;
	for (range = strtok_r(buf, ",", &save); range != NULL;
	    range = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*range))
			range++;
		q = expo_q(range);
		if (strncasecmp(range, "application/openmetrics-text", 28) ==
		    0 && q > om)
			om = q;
		else if ((strncasecmp(range, "text/plain", 10) == 0 ||
		    strncmp(range, "*/*", 3) == 0) && q > text)
			text = q;
	}
	return om > 0 && om >= text ? EXPO_OPENMETRICS : EXPO_TEXT;
}

/* Content-Type of a format. */
const char *
expo_content_type(enum expo_format fmt)
{
	if (fmt == EXPO_OPENMETRICS)
		return "application/openmetrics-text; version=1.0.0; "
		    "charset=utf-8";
	return "text/plain; version=0.0.4; charset=utf-8";
}
