/*
 * expo_pb: the families of expo.h's EXPO_FAMILIES as delimited protobuf
 * MetricFamily messages.  The messages are built on the stack, pointing at
 * the snapshot's numbers and at constant strings (protobuf-c only reads
 * them while packing), and packed one family at a time.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "metrics/metrics.pb-c.h"

#include "inferd/expo.h"
#include "inferd/expo_pb.h"
#include "inferd/shm.h"

typedef Io__Prometheus__Client__MetricFamily	PbFamily;
typedef Io__Prometheus__Client__Metric		PbMetric;
typedef Io__Prometheus__Client__LabelPair	PbLabel;
typedef Io__Prometheus__Client__Histogram	PbHistogram;
typedef Io__Prometheus__Client__Bucket		PbBucket;
typedef Io__Prometheus__Client__BucketSpan	PbSpan;
typedef Io__Prometheus__Client__Exemplar	PbExemplar;
typedef Io__Prometheus__Client__Timestamp	PbTimestamp;

/* The exemplars of one histogram, built on the stack. */
struct expo_pb_exemplars {
	PbExemplar	 ex[CONFIG_MAX_BUCKETS + 1], *exp[CONFIG_MAX_BUCKETS + 1];
	PbLabel		 lp[CONFIG_MAX_BUCKETS + 1], *lpp[CONFIG_MAX_BUCKETS + 1];
	PbTimestamp	 ts[CONFIG_MAX_BUCKETS + 1];
	size_t		 n;
};

#define EXPO_PB_MAX_BUCKETS	(CONFIG_MAX_BUCKETS > SHM_ROWS_NB ?	\
	(CONFIG_MAX_BUCKETS > SHM_COMPUTE_NB ? CONFIG_MAX_BUCKETS :	\
	SHM_COMPUTE_NB) : SHM_ROWS_NB)
#define EXPO_PB_GAP		2	/* empty buckets kept inside a span */

/* A string protobuf-c reads but never writes. */
static char *
expo_pb_str(const char *s)
{
	return (char *)(uintptr_t)s;
}

/* Append mf, preceded by its length as a varint; 0 or -1. */
static int
expo_pb_put(struct evbuffer *out, const PbFamily *mf)
{
	size_t		 len = io__prometheus__client__metric_family__get_packed_size(
			    mf), v, n = 0;
	uint8_t		 hdr[10], *buf;
	int		 rc;

	for (v = len; v >= 0x80; v >>= 7)
		hdr[n++] = (uint8_t)(v | 0x80);
	hdr[n++] = (uint8_t)v;
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return -1;
	io__prometheus__client__metric_family__pack(mf, buf);
	rc = evbuffer_add(out, hdr, n) == 0 && evbuffer_add(out, buf, len) ==
	    0 ? 0 : -1;
	free(buf);
	return rc;
}

/* Fill mf as family id with n metrics. */
static void
expo_pb_family(PbFamily *mf, enum expo_family_id id, PbMetric **metrics,
    size_t n)
{
	const struct expo_family *f = &expo_families[id];

	io__prometheus__client__metric_family__init(mf);
	mf->name = expo_pb_str(f->name);
	mf->help = expo_pb_str(f->help);
	mf->has_type = 1;
	if (strcmp(f->type, "counter") == 0)
		mf->type = IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER;
	else if (strcmp(f->type, "histogram") == 0)
		mf->type = IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM;
	else
		mf->type = IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE;
	mf->n_metric = n;
	mf->metric = metrics;
}

/*
 * One family of one sample of value v, labelled by nlabels pairs (may be
 * 0) of labels; a counter or a gauge as the family's type says.
 */
static int
expo_pb_single(struct evbuffer *out, enum expo_family_id id,
    const char *const *labels, size_t nlabels, double v)
{
	PbFamily	 mf;
	PbMetric	 m, *mp = &m;
	PbLabel		 lp[3], *lpp[3];
	Io__Prometheus__Client__Counter c;
	Io__Prometheus__Client__Gauge	g;
	size_t		 i;

	io__prometheus__client__metric__init(&m);
	for (i = 0; i < nlabels && i < 3; i++) {
		io__prometheus__client__label_pair__init(&lp[i]);
		lp[i].name = expo_pb_str(labels[2 * i]);
		lp[i].value = expo_pb_str(labels[2 * i + 1]);
		lpp[i] = &lp[i];
	}
	m.n_label = i;
	m.label = lpp;
	expo_pb_family(&mf, id, &mp, 1);
	if (mf.type == IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER) {
		io__prometheus__client__counter__init(&c);
		c.has_value = 1;
		c.value = v;
		m.counter = &c;
	} else {
		io__prometheus__client__gauge__init(&g);
		g.has_value = 1;
		g.value = v;
		m.gauge = &g;
	}
	return expo_pb_put(out, &mf);
}

/* Reloads refused, by what: config, then model. */
static int
expo_pb_reloads(struct evbuffer *out, const struct expo_metrics *em)
{
	static const char *const what[2] = { "config", "model" };
	const uint64_t	 v[2] = { em->reload_failures_config,
			    em->reload_failures_model };
	PbFamily	 mf;
	PbMetric	 m[2], *mp[2];
	PbLabel		 lp[2], *lpp[2];
	Io__Prometheus__Client__Counter c[2];
	size_t		 i;

	for (i = 0; i < 2; i++) {
		io__prometheus__client__metric__init(&m[i]);
		io__prometheus__client__label_pair__init(&lp[i]);
		io__prometheus__client__counter__init(&c[i]);
		lp[i].name = expo_pb_str("what");
		lp[i].value = expo_pb_str(what[i]);
		lpp[i] = &lp[i];
		m[i].n_label = 1;
		m[i].label = &lpp[i];
		c[i].has_value = 1;
		c[i].value = (double)v[i];
		m[i].counter = &c[i];
		mp[i] = &m[i];
	}
	expo_pb_family(&mf, EXPO_F_RELOAD_FAILURES, mp, 2);
	return expo_pb_put(out, &mf);
}

/* Requests shed by admission control, by reason, zeros too. */
static int
expo_pb_shed(struct evbuffer *out, const struct shm_snapshot *snap)
{
	PbFamily	 mf;
	PbMetric	 m[SHM_NSHED], *mp[SHM_NSHED];
	PbLabel		 lp[SHM_NSHED], *lpp[SHM_NSHED];
	Io__Prometheus__Client__Counter c[SHM_NSHED];
	size_t		 i;

	for (i = 0; i < SHM_NSHED; i++) {
		io__prometheus__client__metric__init(&m[i]);
		io__prometheus__client__label_pair__init(&lp[i]);
		io__prometheus__client__counter__init(&c[i]);
		lp[i].name = expo_pb_str("reason");
		lp[i].value = expo_pb_str(shm_shed_names[i]);
		lpp[i] = &lp[i];
		m[i].n_label = 1;
		m[i].label = &lpp[i];
		c[i].has_value = 1;
		c[i].value = (double)snap->shed[i];
		m[i].counter = &c[i];
		mp[i] = &m[i];
	}
	expo_pb_family(&mf, EXPO_F_SHED, mp, SHM_NSHED);
	return expo_pb_put(out, &mf);
}

/* Requests by handler and code: the pairs the text format writes. */
static int
expo_pb_requests(struct evbuffer *out, const struct expo_metrics *em)
{
	const struct shm_snapshot *snap = em->snap;
	PbFamily	 mf;
	PbMetric	 m[SHM_NHANDLERS * SHM_NCODES], *mp[SHM_NHANDLERS *
			    SHM_NCODES];
	PbLabel		 lp[SHM_NHANDLERS * SHM_NCODES][2], *lpp[
			    SHM_NHANDLERS * SHM_NCODES][2];
	Io__Prometheus__Client__Counter c[SHM_NHANDLERS * SHM_NCODES];
	char		 code[SHM_NCODES][8];
	size_t		 h, k, n = 0;

	for (k = 0; k < SHM_NCODES; k++)
		snprintf(code[k], sizeof(code[k]), "%d", shm_code_values[k]);
	for (h = 0; h < SHM_NHANDLERS; h++) {
		for (k = 0; k < SHM_NCODES; k++) {
			if (snap->requests[h][k] == 0 &&
			    !(h == em->handler_main && k == SHM_C_200))
				continue;
			io__prometheus__client__metric__init(&m[n]);
			io__prometheus__client__label_pair__init(&lp[n][0]);
			io__prometheus__client__label_pair__init(&lp[n][1]);
			io__prometheus__client__counter__init(&c[n]);
			lp[n][0].name = expo_pb_str("handler");
			lp[n][0].value = expo_pb_str(em->handler_names[h]);
			lp[n][1].name = expo_pb_str("code");
			lp[n][1].value = code[k];
			lpp[n][0] = &lp[n][0];
			lpp[n][1] = &lp[n][1];
			m[n].n_label = 2;
			m[n].label = lpp[n];
			c[n].has_value = 1;
			c[n].value = (double)snap->requests[h][k];
			m[n].counter = &c[n];
			mp[n] = &m[n];
			n++;
		}
	}
	expo_pb_family(&mf, EXPO_F_REQUESTS, mp, n);
	return expo_pb_put(out, &mf);
}

/*
 * The native buckets of snap in h: schema, zero bucket, and spans of the
 * non-empty buckets (gaps of up to EXPO_PB_GAP empty ones kept inside a
 * span) with their counts as deltas.  span, spanp and delta have room for
 * SHM_NATIVE_N entries.
 */
static void
expo_pb_native(PbHistogram *h, const struct shm_snapshot *snap, PbSpan *span,
    PbSpan **spanp, int64_t *delta)
{
	int64_t	prev = 0;
	size_t	i, ns = 0, nd = 0;
	int	k, next = 0;

	h->has_schema = 1;
	h->schema = SHM_NATIVE_SCHEMA;
	h->has_zero_threshold = 1;
	h->zero_threshold = SHM_NATIVE_ZERO;
	h->has_zero_count = 1;
	h->zero_count = snap->native_zero;
	for (i = 0; i < SHM_NATIVE_N; i++) {
		if (snap->native[i] == 0)
			continue;
		k = (int)i + SHM_NATIVE_MIN;
		if (ns == 0 || k - next > EXPO_PB_GAP) {
			io__prometheus__client__bucket_span__init(&span[ns]);
			span[ns].has_offset = span[ns].has_length = 1;
			span[ns].offset = ns == 0 ? k : k - next;
			spanp[ns] = &span[ns];
			ns++;
		}
		for (; ns > 0 && next < k && span[ns - 1].length > 0; next++) {
			delta[nd++] = -prev;
			prev = 0;
			span[ns - 1].length++;
		}
		delta[nd++] = (int64_t)snap->native[i] - prev;
		prev = (int64_t)snap->native[i];
		span[ns - 1].length++;
		next = k + 1;
	}
	h->n_positive_span = ns;
	h->positive_span = spanp;
	h->n_positive_delta = nd;
	h->positive_delta = delta;
}

/*
 * Fill exs->ex[i] from c (labelled trace_id or request_id, value,
 * timestamp) and return it.
 */
static PbExemplar *
expo_pb_exemplar(struct expo_pb_exemplars *exs, size_t i,
    const struct shm_exemplar_copy *c)
{
	PbExemplar	*e = &exs->ex[i];

	io__prometheus__client__exemplar__init(e);
	io__prometheus__client__label_pair__init(&exs->lp[i]);
	io__prometheus__client__timestamp__init(&exs->ts[i]);
	exs->lp[i].name = expo_pb_str(c->kind == SHM_EXEMPLAR_TRACE ?
	    "trace_id" : "request_id");
	exs->lp[i].value = expo_pb_str(c->id);
	exs->lpp[i] = &exs->lp[i];
	e->n_label = 1;
	e->label = &exs->lpp[i];
	e->has_value = 1;
	e->value = c->value;
	exs->ts[i].has_seconds = exs->ts[i].has_nanos = 1;
	exs->ts[i].seconds = c->time_ms / 1000;
	exs->ts[i].nanos = (int32_t)(c->time_ms % 1000) * 1000000;
	e->timestamp = &exs->ts[i];
	exs->exp[exs->n++] = e;
	return e;
}

/*
 * A histogram family: classic buckets for bounds[0..nb-1] with cumulative
 * counts cum (cum[nb] is the count), and the native buckets of snap when
 * native is set.
 */
static int
expo_pb_hist(struct evbuffer *out, enum expo_family_id id,
    const double *bounds, size_t nb, const uint64_t *cum, double sum,
    const struct shm_snapshot *native)
{
	PbFamily	 mf;
	PbMetric	 m, *mp = &m;
	PbHistogram	 h;
	PbBucket	 b[EXPO_PB_MAX_BUCKETS], *bp[EXPO_PB_MAX_BUCKETS];
	PbSpan		 span[SHM_NATIVE_N], *spanp[SHM_NATIVE_N];
	int64_t		 delta[SHM_NATIVE_N];
	struct expo_pb_exemplars exs;
	size_t		 i;

	exs.n = 0;
	io__prometheus__client__metric__init(&m);
	io__prometheus__client__histogram__init(&h);
	h.has_sample_count = h.has_sample_sum = 1;
	h.sample_count = cum[nb];
	h.sample_sum = sum;
	for (i = 0; i < nb; i++) {
		io__prometheus__client__bucket__init(&b[i]);
		b[i].has_cumulative_count = b[i].has_upper_bound = 1;
		b[i].cumulative_count = cum[i];
		b[i].upper_bound = bounds[i];
		bp[i] = &b[i];
		if (native != NULL && native->exemplars[i].kind !=
		    SHM_EXEMPLAR_NONE)
			b[i].exemplar = expo_pb_exemplar(&exs, exs.n,
			    &native->exemplars[i]);
	}
	h.n_bucket = nb;
	h.bucket = bp;
	if (native != NULL) {
		expo_pb_native(&h, native, span, spanp, delta);
		/*
		 * The +Inf bucket has no Bucket message: its exemplar goes
		 * only with the native buckets' exemplars, which are all of
		 * them (each value lies in one native bucket; a native
		 * histogram's exemplars are matched to buckets by value).
		 */
		if (native->exemplars[nb].kind != SHM_EXEMPLAR_NONE)
			expo_pb_exemplar(&exs, exs.n, &native->exemplars[nb]);
		h.n_exemplars = exs.n;
		h.exemplars = exs.exp;
	}
	m.histogram = &h;
	expo_pb_family(&mf, id, &mp, 1);
	return expo_pb_put(out, &mf);
}

/* Write every family. */
int
expo_pb_write(struct evbuffer *out, const struct expo_metrics *em)
{
	const struct shm_snapshot *s = em->snap;
	const struct procstat *p = &em->proc;
	const char *build[2] = { "version", em->version };
	const char *model[6] = { "name", em->model_name, "sha256",
	    em->model_sha256, "objective", em->model_objective };

	if (expo_pb_hist(out, EXPO_F_LATENCY, s->bounds, s->nbuckets,
	    s->cumulative, s->sum, s) == -1 ||
	    expo_pb_hist(out, EXPO_F_COMPUTE, shm_compute_bounds,
	    SHM_COMPUTE_NB, s->compute_cumulative, s->compute_seconds,
	    NULL) == -1 ||
	    expo_pb_hist(out, EXPO_F_ROWS, shm_rows_bounds, SHM_ROWS_NB,
	    s->rows_cumulative, (double)s->rows_sum, NULL) == -1 ||
	    expo_pb_requests(out, em) == -1 ||
	    expo_pb_single(out, EXPO_F_SLOW_REQUESTS, NULL, 0,
	    (double)s->slow_requests) == -1 ||
	    expo_pb_single(out, EXPO_F_ACCESS_LOG_ERRORS, NULL, 0,
	    (double)s->access_log_errors) == -1 ||
	    expo_pb_shed(out, s) == -1)
		return -1;
	if (expo_pb_single(out, EXPO_F_IN_FLIGHT, NULL, 0,
	    (double)s->in_flight) == -1 ||
	    expo_pb_single(out, EXPO_F_WORKERS, NULL, 0, em->workers) == -1 ||
	    expo_pb_single(out, EXPO_F_WORKERS_ALIVE, NULL, 0,
	    em->workers_alive) == -1 ||
	    expo_pb_single(out, EXPO_F_WORKERS_STALLED, NULL, 0,
	    em->workers_stalled) == -1 ||
	    expo_pb_single(out, EXPO_F_RESTARTS, NULL, 0,
	    (double)em->worker_restarts) == -1 ||
	    expo_pb_single(out, EXPO_F_STALLS, NULL, 0,
	    (double)em->worker_stalls) == -1 ||
	    expo_pb_single(out, EXPO_F_START_FAILURES, NULL, 0,
	    (double)em->worker_start_failures) == -1 ||
	    expo_pb_single(out, EXPO_F_MODEL, model, 3, 1) == -1 ||
	    expo_pb_reloads(out, em) == -1 ||
	    expo_pb_single(out, EXPO_F_BUILD, build, 1, 1) == -1)
		return -1;
	if (expo_pb_single(out, EXPO_F_CPU, NULL, 0, p->cpu_seconds) == -1 ||
	    expo_pb_single(out, EXPO_F_RSS, NULL, 0, p->resident_bytes) ==
	    -1 ||
	    expo_pb_single(out, EXPO_F_VSIZE, NULL, 0, p->virtual_bytes) ==
	    -1 ||
	    expo_pb_single(out, EXPO_F_OPEN_FDS, NULL, 0, p->open_fds) == -1 ||
	    expo_pb_single(out, EXPO_F_MAX_FDS, NULL, 0, p->max_fds) == -1 ||
	    expo_pb_single(out, EXPO_F_START_TIME, NULL, 0,
	    em->start_time) == -1)
		return -1;
	return 0;
}
