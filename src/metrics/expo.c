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

const struct expo_family expo_families[EXPO_NFAMILIES] = {
#define X(id, n, t, h)	[EXPO_F_##id] = { .name = n, .type = t, .help = h },
	EXPO_FAMILIES(X)
#undef X
};

/* The HELP and TYPE lines of family id. */
static int
expo_family(struct evbuffer *out, enum expo_format fmt, enum expo_family_id id)
{
	const struct expo_family *f = &expo_families[id];

	return expo_write_family(out, fmt, f->name, f->type, f->help);
}

/*
 * Append the OpenMetrics exemplar of a bucket sample, before its newline:
 * " # {trace_id=\"...\"} 0.612 1733400000.123".
 */
static int
expo_exemplar(struct evbuffer *out, const struct shm_exemplar_copy *ex)
{
	if (evbuffer_add_printf(out, " # {%s=\"", ex->kind ==
	    SHM_EXEMPLAR_TRACE ? "trace_id" : "request_id") < 0 ||
	    expo_escape(out, ex->id, 1) == -1 ||
	    evbuffer_add(out, "\"} ", 3) == -1 ||
	    expo_write_double(out, ex->value) == -1 ||
	    evbuffer_add_printf(out, " %lld.%03lld",
	    (long long)(ex->time_ms / 1000),
	    (long long)(ex->time_ms % 1000)) < 0)
		return -1;
	return 0;
}

/*
 * A histogram family id: cumulative counts for bounds[0..nb-1] and +Inf
 * (cum[nb], which is count), then _count and _sum.  In OpenMetrics, a
 * bucket with an exemplar in ex (NULL: none) carries it.
 */
static int
expo_hist(struct evbuffer *out, enum expo_format fmt, enum expo_family_id id,
    const double *bounds, size_t nb, const uint64_t *cum, double sum,
    const struct shm_exemplar_copy *ex)
{
	const char	*name = expo_families[id].name;
	const char	*le[2] = { "le", NULL };
	char		 sample[128], bound[NUMFMT_LEN];
	size_t		 b;

	if (expo_family(out, fmt, id) == -1)
		return -1;
	snprintf(sample, sizeof(sample), "%s_bucket", name);
	for (b = 0; b <= nb; b++) {
		if (b == nb)
			strlcpy(bound, "+Inf", sizeof(bound));
		else
			expo_format_double(bound, bounds[b]);
		le[1] = bound;
		if (fmt == EXPO_OPENMETRICS && ex != NULL &&
		    ex[b].kind != SHM_EXEMPLAR_NONE) {
			if (expo_sample(out, sample, le, 1) == -1 ||
			    evbuffer_add_printf(out, "%llu",
			    (unsigned long long)cum[b]) < 0 ||
			    expo_exemplar(out, &ex[b]) == -1 ||
			    evbuffer_add(out, "\n", 1) == -1)
				return -1;
		} else if (expo_uint(out, sample, le, 1, cum[b]) == -1)
			return -1;
	}
	snprintf(sample, sizeof(sample), "%s_count", name);
	if (expo_uint(out, sample, NULL, 0, cum[nb]) == -1)
		return -1;
	snprintf(sample, sizeof(sample), "%s_sum", name);
	return expo_double(out, sample, NULL, 0, sum);
}

/* The three histograms. */
static int
expo_histograms(struct evbuffer *out, enum expo_format fmt,
    const struct shm_snapshot *snap)
{
	if (expo_hist(out, fmt, EXPO_F_LATENCY, snap->bounds, snap->nbuckets,
	    snap->cumulative, snap->sum, snap->exemplars) == -1 ||
	    expo_hist(out, fmt, EXPO_F_COMPUTE, shm_compute_bounds,
	    SHM_COMPUTE_NB, snap->compute_cumulative,
	    snap->compute_seconds, NULL) == -1 ||
	    expo_hist(out, fmt, EXPO_F_ROWS, shm_rows_bounds, SHM_ROWS_NB,
	    snap->rows_cumulative, (double)snap->rows_sum, NULL) == -1)
		return -1;
	return 0;
}

/* A family of one unlabelled sample. */
static int
expo_single(struct evbuffer *out, enum expo_format fmt,
    enum expo_family_id id, double v)
{
	const char	*name = expo_families[id].name;

	if (expo_family(out, fmt, id) == -1)
		return -1;
	/* Counts are written as integers ("2"), seconds as doubles. */
	if (id != EXPO_F_CPU && id != EXPO_F_START_TIME && v >= 0 &&
	    v < 9007199254740992.0 && v == floor(v))
		return expo_uint(out, name, NULL, 0, (uint64_t)v);
	return expo_double(out, name, NULL, 0, v);
}

/* Requests by handler and code; only pairs that occurred, in table order. */
static int
expo_requests(struct evbuffer *out, enum expo_format fmt,
    const struct expo_metrics *m)
{
	const struct shm_snapshot *snap = m->snap;
	const char	*labels[4] = { "handler", NULL, "code", NULL };
	char		 code[8];
	size_t		 h, c;

	if (expo_family(out, fmt, EXPO_F_REQUESTS) == -1)
		return -1;
	for (h = 0; h < SHM_NHANDLERS; h++) {
		for (c = 0; c < SHM_NCODES; c++) {
			if (snap->requests[h][c] == 0 &&
			    !(h == m->handler_main && c == SHM_C_200))
				continue;
			snprintf(code, sizeof(code), "%d", shm_code_values[c]);
			labels[1] = m->handler_names[h];
			labels[3] = code;
			if (expo_uint(out, "inferd_http_requests_total", labels,
			    2, snap->requests[h][c]) == -1)
				return -1;
		}
	}
	return 0;
}

/* Requests shed by admission control, by reason (every reason, zeros
 * too, so that rate() has a series from the start). */
static int
expo_shed(struct evbuffer *out, enum expo_format fmt,
    const struct shm_snapshot *snap)
{
	const char	*labels[2] = { "reason", NULL };
	size_t		 i;

	if (expo_family(out, fmt, EXPO_F_SHED) == -1)
		return -1;
	for (i = 0; i < SHM_NSHED; i++) {
		labels[1] = shm_shed_names[i];
		if (expo_uint(out, "inferd_requests_shed_total", labels, 1,
		    snap->shed[i]) == -1)
			return -1;
	}
	return 0;
}

/* Reloads (SIGHUP) refused, by what was at fault. */
static int
expo_reloads(struct evbuffer *out, enum expo_format fmt,
    const struct expo_metrics *m)
{
	const char	*what[2] = { "what", "config" };

	if (expo_family(out, fmt, EXPO_F_RELOAD_FAILURES) == -1 ||
	    expo_uint(out, "inferd_reload_failures_total", what, 1,
	    m->reload_failures_config) == -1)
		return -1;
	what[1] = "model";
	return expo_uint(out, "inferd_reload_failures_total", what, 1,
	    m->reload_failures_model);
}

/* Write every family. */
int
expo_write(struct evbuffer *out, enum expo_format fmt,
    const struct expo_metrics *m)
{
	const char *build[2] = { "version", m->version };
	const char *model[6] = { "name", m->model_name, "sha256",
	    m->model_sha256, "objective", m->model_objective };
	const struct procstat *p = &m->proc;

	if (expo_histograms(out, fmt, m->snap) == -1 ||
	    expo_requests(out, fmt, m) == -1 ||
	    expo_single(out, fmt, EXPO_F_SLOW_REQUESTS,
	    (double)m->snap->slow_requests) == -1 ||
	    expo_single(out, fmt, EXPO_F_ACCESS_LOG_ERRORS,
	    (double)m->snap->access_log_errors) == -1 ||
	    expo_shed(out, fmt, m->snap) == -1 ||
	    expo_single(out, fmt, EXPO_F_IN_FLIGHT,
	    (double)m->snap->in_flight) == -1 ||
	    expo_single(out, fmt, EXPO_F_WORKERS, m->workers) == -1 ||
	    expo_single(out, fmt, EXPO_F_WORKERS_ALIVE, m->workers_alive) ==
	    -1 ||
	    expo_single(out, fmt, EXPO_F_WORKERS_STALLED,
	    m->workers_stalled) == -1 ||
	    expo_single(out, fmt, EXPO_F_RESTARTS,
	    (double)m->worker_restarts) == -1 ||
	    expo_single(out, fmt, EXPO_F_STALLS,
	    (double)m->worker_stalls) == -1 ||
	    expo_single(out, fmt, EXPO_F_START_FAILURES,
	    (double)m->worker_start_failures) == -1)
		return -1;
	if (expo_family(out, fmt, EXPO_F_MODEL) == -1 ||
	    expo_uint(out, "inferd_model_info", model, 3, 1) == -1 ||
	    expo_reloads(out, fmt, m) == -1 ||
	    expo_family(out, fmt, EXPO_F_BUILD) == -1 ||
	    expo_uint(out, "inferd_build_info", build, 1, 1) == -1)
		return -1;
	if (expo_single(out, fmt, EXPO_F_CPU, p->cpu_seconds) == -1 ||
	    expo_single(out, fmt, EXPO_F_RSS, p->resident_bytes) == -1 ||
	    expo_single(out, fmt, EXPO_F_VSIZE, p->virtual_bytes) == -1 ||
	    expo_single(out, fmt, EXPO_F_OPEN_FDS, p->open_fds) == -1 ||
	    expo_single(out, fmt, EXPO_F_MAX_FDS, p->max_fds) == -1 ||
	    expo_single(out, fmt, EXPO_F_START_TIME, m->start_time) == -1)
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

/* Whether a protobuf media range asks for delimited MetricFamily. */
static int
expo_pb_range(const char *params)
{
	return strcasestr(params, "proto=io.prometheus.client.MetricFamily") !=
	    NULL && strcasestr(params, "encoding=delimited") != NULL;
}

/* The format of the highest q; protobuf, then OpenMetrics, on a tie. */
enum expo_format
expo_negotiate(const char *accept)
{
	char	 buf[EXPO_ACCEPT_MAX], *range, *save = NULL;
	double	 pb = 0, om = 0, text = 0, q;

	if (accept == NULL || strlcpy(buf, accept, sizeof(buf)) >= sizeof(buf))
		return EXPO_TEXT;
	for (range = strtok_r(buf, ",", &save); range != NULL;
	    range = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*range))
			range++;
		q = expo_q(range);
		if (strncasecmp(range, "application/vnd.google.protobuf", 31) ==
		    0 && expo_pb_range(range) && q > pb)
			pb = q;
		else if (strncasecmp(range, "application/openmetrics-text",
		    28) == 0 && q > om)
			om = q;
		else if ((strncasecmp(range, "text/plain", 10) == 0 ||
		    strncmp(range, "*/*", 3) == 0) && q > text)
			text = q;
	}
	if (pb > 0 && pb >= om && pb >= text)
		return EXPO_PROTOBUF;
	return om > 0 && om >= text ? EXPO_OPENMETRICS : EXPO_TEXT;
}

/* Content-Type of a format. */
const char *
expo_content_type(enum expo_format fmt)
{
	if (fmt == EXPO_PROTOBUF)
		return "application/vnd.google.protobuf; "
		    "proto=io.prometheus.client.MetricFamily; "
		    "encoding=delimited";
	if (fmt == EXPO_OPENMETRICS)
		return "application/openmetrics-text; version=1.0.0; "
		    "charset=utf-8";
	return "text/plain; version=0.0.4; charset=utf-8";
}
