/*
 * Unit tests of expo_pb: what it encodes, protobuf-c's unpack reads back,
 * family by family, with the fields Prometheus uses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "metrics/metrics.pb-c.h"

#include "inferd/expo.h"
#include "inferd/expo_pb.h"
#include "inferd/routes.h"
#include "inferd/shm.h"

typedef Io__Prometheus__Client__MetricFamily	PbFamily;

static struct shm_snapshot	snap;
static struct expo_metrics	metrics;
static PbFamily			*fam[EXPO_NFAMILIES + 1];
static size_t			 nfam;

/* Decode the delimited stream of b into fam[]. */
static void
decode(struct evbuffer *b)
{
	size_t		 len = evbuffer_get_length(b), off = 0, n;
	uint8_t		*p = evbuffer_pullup(b, -1);
	unsigned	 shift;

	nfam = 0;
	while (off < len) {
		assert_true(nfam < EXPO_NFAMILIES + 1);
		for (n = 0, shift = 0; p[off] & 0x80; off++, shift += 7)
			n |= (size_t)(p[off] & 0x7f) << shift;
		n |= (size_t)p[off++] << shift;
		assert_true(off + n <= len);
		fam[nfam] = io__prometheus__client__metric_family__unpack(NULL,
		    n, p + off);
		assert_non_null(fam[nfam]);
		nfam++;
		off += n;
	}
}

static void
release(void)
{
	while (nfam > 0)
		io__prometheus__client__metric_family__free_unpacked(
		    fam[--nfam], NULL);
}

/* The family called name. */
static PbFamily *
family(const char *name)
{
	size_t	i;

	for (i = 0; i < nfam; i++)
		if (strcmp(fam[i]->name, name) == 0)
			return fam[i];
	fail_msg("no family %s", name);
	return NULL;
}

static void
encode(void)
{
	struct evbuffer	*b = evbuffer_new();

	assert_non_null(b);
	assert_int_equal(expo_pb_write(b, &metrics), 0);
	decode(b);
	evbuffer_free(b);
}

static int
setup(void **state)
{
	int	k;

	memset(&snap, 0, sizeof(snap));
	snap.nbuckets = 3;
	snap.bounds[0] = 0.5;
	snap.bounds[1] = 1.0;
	snap.bounds[2] = 10.0;
	snap.cumulative[0] = 5;
	snap.cumulative[1] = 7;
	snap.cumulative[2] = 8;
	snap.cumulative[3] = 9;
	snap.count = 9;
	snap.sum = 14.25;
	/* Native: 1 in the zero bucket, 2 in bucket -3, 3 in -1 (a gap of
	 * one, kept in the span), 4 in 40 (a gap of 40: a new span). */
	snap.native_zero = 1;
	k = shm_native_index(shm_native_upper(-3));
	assert_int_equal(k, -3);
	snap.native[-3 - SHM_NATIVE_MIN] = 2;
	snap.native[-1 - SHM_NATIVE_MIN] = 3;
	snap.native[40 - SHM_NATIVE_MIN] = 4;
	snap.native_count = 10;
	snap.requests[ROUTES_H_PREDICT][SHM_C_200] = 8;
	snap.requests[ROUTES_H_V2_INFER][SHM_C_499] = 1;
	snap.rows_cumulative[SHM_ROWS_NB] = 0;
	metrics = (struct expo_metrics){
		.handler_names = routes_handler_names,
		.handler_main = ROUTES_H_PREDICT,
		.snap = &snap, .workers = 2, .workers_alive = 1,
		.worker_restarts = 3, .start_time = 1700000000.5,
		.version = "1.2.3", .model_name = "bc",
		.model_sha256 = "abc", .model_objective = "binary:logistic",
		.proc = { .cpu_seconds = 1.25, .resident_bytes = 4096,
		    .virtual_bytes = 8192, .open_fds = 9, .max_fds = 2048 },
	};
	return 0;
}

/* Every family of the text format, in its order, with its HELP. */
static void
test_families(void **state)
{
	size_t	i;

	encode();
	assert_int_equal(nfam, EXPO_NFAMILIES);
	for (i = 0; i < nfam; i++) {
		assert_string_equal(fam[i]->name, expo_families[i].name);
		assert_string_equal(fam[i]->help, expo_families[i].help);
		assert_true(fam[i]->has_type);
	}
	release();
}

/* The latency histogram: classic buckets and native spans and deltas. */
static void
test_latency(void **state)
{
	PbFamily				*f;
	Io__Prometheus__Client__Histogram	*h;

	encode();
	f = family("prediction_latency_seconds");
	assert_int_equal(f->type,
	    IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM);
	assert_int_equal(f->n_metric, 1);
	h = f->metric[0]->histogram;
	assert_non_null(h);
	assert_int_equal(h->sample_count, 9);
	assert_true(h->sample_sum == 14.25);
	assert_int_equal(h->n_bucket, 3);
	assert_true(h->bucket[1]->upper_bound == 1.0);
	assert_int_equal(h->bucket[1]->cumulative_count, 7);
	assert_int_equal(h->bucket[2]->cumulative_count, 8);
	assert_true(h->has_schema);
	assert_int_equal(h->schema, 4);
	assert_true(h->zero_threshold == SHM_NATIVE_ZERO);
	assert_int_equal(h->zero_count, 1);
	assert_int_equal(h->n_positive_span, 2);
	assert_int_equal(h->positive_span[0]->offset, -3);
	assert_int_equal(h->positive_span[0]->length, 3);	/* -3..-1 */
	assert_int_equal(h->positive_span[1]->offset, 40);	/* 0..39 */
	assert_int_equal(h->positive_span[1]->length, 1);
	assert_int_equal(h->n_positive_delta, 4);
	assert_int_equal(h->positive_delta[0], 2);
	assert_int_equal(h->positive_delta[1], -2);
	assert_int_equal(h->positive_delta[2], 3);
	assert_int_equal(h->positive_delta[3], 1);
	/* The other histograms are classic only. */
	h = family("inferd_model_compute_seconds")->metric[0]->histogram;
	assert_false(h->has_schema);
	assert_int_equal(h->n_bucket, SHM_COMPUTE_NB);
	assert_int_equal(h->n_positive_span, 0);
	release();
}

/* No native observation: still a native histogram (zero threshold set). */
static void
test_latency_empty(void **state)
{
	Io__Prometheus__Client__Histogram	*h;

	memset(snap.native, 0, sizeof(snap.native));
	snap.native_zero = 0;
	encode();
	h = family("prediction_latency_seconds")->metric[0]->histogram;
	assert_true(h->has_zero_threshold && h->zero_threshold > 0);
	assert_int_equal(h->n_positive_span, 0);
	assert_int_equal(h->n_positive_delta, 0);
	release();
}

/* Counters, gauges and info families with their labels. */
static void
test_samples(void **state)
{
	PbFamily	*f;
	size_t		 i;
	int		 seen = 0;

	encode();
	f = family("inferd_http_requests_total");
	assert_int_equal(f->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER);
	assert_int_equal(f->n_metric, 2);
	for (i = 0; i < f->n_metric; i++) {
		assert_int_equal(f->metric[i]->n_label, 2);
		assert_string_equal(f->metric[i]->label[0]->name, "handler");
		assert_string_equal(f->metric[i]->label[1]->name, "code");
		if (strcmp(f->metric[i]->label[1]->value, "499") == 0) {
			assert_string_equal(f->metric[i]->label[0]->value,
			    "/v2/models/{name}/infer");
			assert_true(f->metric[i]->counter->value == 1);
			seen++;
		}
	}
	assert_int_equal(seen, 1);
	f = family("inferd_model_info");
	assert_int_equal(f->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE);
	assert_int_equal(f->metric[0]->n_label, 3);
	assert_string_equal(f->metric[0]->label[2]->value, "binary:logistic");
	assert_true(f->metric[0]->gauge->value == 1);
	f = family("process_cpu_seconds_total");
	assert_true(f->metric[0]->counter->value == 1.25);
	f = family("process_max_fds");
	assert_true(f->metric[0]->gauge->value == 2048);
	f = family("process_start_time_seconds");
	assert_true(f->metric[0]->gauge->value == 1700000000.5);
	f = family("inferd_workers_alive");
	assert_true(f->metric[0]->gauge->value == 1);
	release();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_families, setup),
		cmocka_unit_test_setup(test_latency, setup),
		cmocka_unit_test_setup(test_latency_empty, setup),
		cmocka_unit_test_setup(test_samples, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
