/* Unit tests of shm: bucket placement, recording and aggregation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "inferd/routes.h"
#include "inferd/shm.h"

static const double bounds[] = { 0.1, 0.5, 1.0, 2.5 };
#define NB	(sizeof(bounds) / sizeof(bounds[0]))

/* A segment of nslots in heap memory. */
static struct shm_segment *
seg_new(size_t nslots)
{
	struct shm_segment	*seg = calloc(1, sizeof(*seg));
	void			*mem = aligned_alloc(64, shm_size(nslots));

	assert_non_null(seg);
	assert_non_null(mem);
	memset(mem, 0, shm_size(nslots));
	shm_init(seg, mem, nslots, bounds, NB);
	return seg;
}

/* Record one request of handler h answered status, observed if obs. */
static void
rec(struct shm_segment *seg, size_t slot, unsigned h, int status, int obs,
    double seconds)
{
	struct shm_request rq = { .handler = h, .status = status,
	    .observe = obs, .latency = seconds };

	shm_record(seg, &seg->slots[slot], &rq);
}

static void
seg_free(struct shm_segment *seg)
{
	free(seg->hdr);
	free(seg);
}

static void
test_layout(void **state)
{
	struct shm_segment *seg = seg_new(3);

	assert_int_equal(sizeof(struct shm_slot) % 64, 0);
	assert_int_equal((uintptr_t)&seg->slots[1] % 64, 0);
	assert_int_equal(seg->hdr->nslots, 3);
	assert_int_equal(seg->hdr->nbuckets, NB);
	seg_free(seg);
}

static void
test_bucket_index(void **state)
{
	/* An observation equal to a bound belongs to that bound (le). */
	assert_int_equal(shm_bucket_index(bounds, NB, 0.0), 0);
	assert_int_equal(shm_bucket_index(bounds, NB, 0.1), 0);
	assert_int_equal(shm_bucket_index(bounds, NB, 0.1000001), 1);
	assert_int_equal(shm_bucket_index(bounds, NB, 1.0), 2);
	assert_int_equal(shm_bucket_index(bounds, NB, 1.5), 3);
	assert_int_equal(shm_bucket_index(bounds, NB, 2.5), 3);
	assert_int_equal(shm_bucket_index(bounds, NB, 3.0), 4);	/* +Inf */
	assert_int_equal(shm_bucket_index(bounds, NB, 1e300), 4);
}

static void
test_code_index(void **state)
{
	assert_int_equal(shm_code_index(200), SHM_C_200);
	assert_int_equal(shm_code_index(413), SHM_C_413);
	assert_int_equal(shm_code_index(418), SHM_C_500);
	assert_int_equal(shm_code_values[SHM_C_404], 404);
	assert_string_equal(routes_handler_names[ROUTES_H_V2_INFER],
	    "/v2/models/{name}/infer");
}

static void
test_aggregate(void **state)
{
	struct shm_segment	*seg = seg_new(3);
	struct shm_snapshot	 snap;

	rec(seg, 0, ROUTES_H_PREDICT, 200, 1, 0.05);
	rec(seg, 0, ROUTES_H_PREDICT, 200, 1, 1.0);
	rec(seg, 1, ROUTES_H_PREDICT, 500, 1, 2.0);
	rec(seg, 1, ROUTES_H_PREDICT, 400, 1, 0.001);	/* not observed */
	rec(seg, 2, ROUTES_H_V2_INFER, 200, 1, 7.0);
	rec(seg, 2, ROUTES_H_HEALTHZ, 200, 0, 0.001);
	atomic_store(&seg->slots[1].in_flight, 2);
	atomic_store(&seg->slots[2].in_flight, 1);

	shm_snapshot(seg, &snap);
	assert_int_equal(snap.nbuckets, NB);
	assert_int_equal(snap.cumulative[0], 1);	/* <= 0.1 */
	assert_int_equal(snap.cumulative[1], 1);	/* <= 0.5 */
	assert_int_equal(snap.cumulative[2], 2);	/* <= 1.0 */
	assert_int_equal(snap.cumulative[3], 3);	/* <= 2.5 */
	assert_int_equal(snap.cumulative[4], 4);	/* +Inf */
	assert_int_equal(snap.count, 4);		/* healthz not observed */
	assert_true(snap.sum > 10.049 && snap.sum < 10.051);
	assert_int_equal(snap.requests[ROUTES_H_PREDICT][SHM_C_200], 2);
	assert_int_equal(snap.requests[ROUTES_H_PREDICT][SHM_C_400], 1);
	assert_int_equal(snap.requests[ROUTES_H_PREDICT][SHM_C_500], 1);
	assert_int_equal(snap.native_count, 4);
	assert_int_equal(snap.requests[ROUTES_H_V2_INFER][SHM_C_200], 1);
	assert_int_equal(snap.requests[ROUTES_H_HEALTHZ][SHM_C_200], 1);
	assert_int_equal(snap.in_flight, 3);
	seg_free(seg);
}

/* A scrape taken between two others never shows less than the first. */
static void
test_monotonic(void **state)
{
	struct shm_segment	*seg = seg_new(2);
	struct shm_snapshot	 a, b;
	size_t			 i, k;

	shm_snapshot(seg, &a);
	for (i = 0; i < 1000; i++) {
		rec(seg, i % 2, ROUTES_H_PREDICT, 200, 1,
		    (double)(i % 40) / 10.0);
		shm_snapshot(seg, &b);
		for (k = 0; k <= NB; k++) {
			assert_true(b.cumulative[k] >= a.cumulative[k]);
			if (k > 0)
				assert_true(b.cumulative[k] >=
				    b.cumulative[k - 1]);
		}
		assert_int_equal(b.cumulative[NB], b.count);
		assert_int_equal(b.native_count, b.count);
		a = b;
	}
	assert_int_equal(a.count, 1000);
	seg_free(seg);
}

static void
test_create_destroy(void **state)
{
	struct shm_segment	seg = { 0 };
	char			path[128];

	assert_int_equal(shm_create(&seg, 4, bounds, NB), 0);
	/* Mapped, and already unlinked: nobody can open it by name. */
	snprintf(path, sizeof(path), "/dev/shm%s", seg.name);
	assert_int_equal(strncmp(seg.name, "/inferd.", 8), 0);
	assert_int_equal(access(path, F_OK), -1);
	struct shm_request	rq = { .handler = ROUTES_H_PREDICT,
				    .status = 200, .observe = 1, .latency = 0.2 };

	shm_record(&seg, &seg.slots[3], &rq);
	shm_destroy(&seg);
	assert_int_equal(access(path, F_OK), -1);
}

/* Only valid requests are observed: 2xx, 3xx, 5xx and 499. */
static void
test_observed(void **state)
{
	struct shm_segment	*seg = seg_new(1);
	struct shm_snapshot	 snap;
	static const int	 yes[] = { 200, 204, 302, 499, 500, 503 };
	static const int	 no[] = { 400, 404, 405, 413, 429, 498 };
	size_t			 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(shm_observed(yes[i]));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		assert_false(shm_observed(no[i]));
		rec(seg, 0, ROUTES_H_PREDICT, no[i], 1, 0.01);
	}
	shm_snapshot(seg, &snap);
	assert_int_equal(snap.count, 0);
	assert_int_equal(snap.native_count, 0);
	assert_int_equal(snap.sum_ns, 0);
	rec(seg, 0, ROUTES_H_PREDICT, 499, 1, 3.0);
	rec(seg, 0, ROUTES_H_PREDICT, 503, 1, 0.2);
	shm_snapshot(seg, &snap);
	assert_int_equal(snap.count, 2);
	seg_free(seg);
}

/*
 * The native index: a latency equal to a bucket's upper bound (as
 * Prometheus computes it) is in that bucket, the next double is in the
 * next one; over the whole range, and at its two ends.
 */
static void
test_native_index(void **state)
{
	int	k;
	double	ub, lb = SHM_NATIVE_ZERO;

	assert_int_equal(shm_native_index(1.0), 0);
	assert_true(shm_native_upper(0) == 1.0);
	assert_true(shm_native_upper(16) == 2.0);
	assert_true(shm_native_upper(-16) == 0.5);
	assert_true(shm_native_upper(SHM_NATIVE_MAX) == 4096.0);
	assert_true(shm_native_upper(SHM_NATIVE_MIN - 1) == SHM_NATIVE_ZERO);
	for (k = SHM_NATIVE_MIN; k <= SHM_NATIVE_MAX; k++) {
		ub = shm_native_upper(k);
		/* Schema 4: each bound is 2^(1/16) times the previous. */
		assert_true(fabs(ub / lb - 1.0442737824274138) < 1e-12);
		assert_int_equal(shm_native_index(ub), k);
		assert_int_equal(shm_native_index(nextafter(lb, INFINITY)), k);
		assert_int_equal(shm_native_index(sqrt(lb * ub)), k);
		if (k < SHM_NATIVE_MAX)
			assert_int_equal(shm_native_index(nextafter(ub,
			    INFINITY)), k + 1);
		lb = ub;
	}
	assert_int_equal(shm_native_index(SHM_NATIVE_ZERO), SHM_NATIVE_MIN - 1);
	assert_int_equal(shm_native_index(0.0), SHM_NATIVE_MIN - 1);
	assert_int_equal(shm_native_index(-1.0), SHM_NATIVE_MIN - 1);
	assert_int_equal(shm_native_index(NAN), SHM_NATIVE_MIN - 1);
	assert_int_equal(shm_native_index(5000.0), SHM_NATIVE_MAX);
	assert_int_equal(shm_native_index(1e300), SHM_NATIVE_MAX);
	assert_int_equal(shm_native_index(INFINITY), SHM_NATIVE_MAX);
}

/* The classic index found through the native map is the binary search's. */
static void
test_classic_via_native(void **state)
{
	static const double	 close[] = { 0.001, 1.0, 1.01, 1.02, 1.03, 5.0 };
	struct shm_segment	 seg;
	void			*mem = aligned_alloc(64, shm_size(1));
	struct shm_snapshot	 a, b;
	double			 v;
	size_t			 want, i;

	assert_non_null(mem);
	memset(mem, 0, shm_size(1));
	/* Bounds closer together than a native bucket is wide. */
	shm_init(&seg, mem, 1, close, 6);
	shm_snapshot(&seg, &a);
	for (v = 1e-7; v < 1e4; v *= 1.0031) {
		rec(&seg, 0, ROUTES_H_PREDICT, 200, 1, v);
		want = shm_bucket_index(close, 6, v);
		shm_snapshot(&seg, &b);
		for (i = 0; i <= 6; i++)
			assert_int_equal(b.buckets[i] - a.buckets[i],
			    i == want);
		a = b;
	}
	for (i = 0; i < 6; i++) {
		rec(&seg, 0, ROUTES_H_PREDICT, 200, 1, close[i]);
		rec(&seg, 0, ROUTES_H_PREDICT, 200, 1, nextafter(close[i],
		    INFINITY));
		shm_snapshot(&seg, &b);
		assert_int_equal(b.buckets[i] - a.buckets[i], 1);
		assert_int_equal(b.buckets[i + 1] - a.buckets[i + 1], 1);
		a = b;
	}
	free(mem);
}

/* Model work: compute seconds and rows, only when the model ran. */
static void
test_work(void **state)
{
	struct shm_segment	*seg = seg_new(1);
	struct shm_snapshot	 snap;
	struct shm_request	 rq = { .handler = ROUTES_H_PREDICT,
				    .status = 200, .observe = 1,
				    .latency = 0.5, .rows = 3,
				    .compute = 0.0002 };

	shm_record(seg, &seg->slots[0], &rq);
	rq.rows = 0;
	shm_record(seg, &seg->slots[0], &rq);
	shm_snapshot(seg, &snap);
	assert_int_equal(snap.compute_count, 1);
	assert_int_equal(snap.rows_count, 1);
	assert_int_equal(snap.rows_sum, 3);
	assert_int_equal(snap.compute_cumulative[3], 0);	/* <= 100 us */
	assert_int_equal(snap.compute_cumulative[4], 1);	/* <= 250 us */
	assert_int_equal(snap.rows_cumulative[1], 0);		/* <= 2 */
	assert_int_equal(snap.rows_cumulative[2], 1);		/* <= 5 */
	assert_true(fabs(snap.compute_seconds - 0.0002) < 1e-9);
	seg_free(seg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_bucket_index),
		cmocka_unit_test(test_code_index),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_create_destroy),
		cmocka_unit_test(test_observed),
		cmocka_unit_test(test_native_index),
		cmocka_unit_test(test_classic_via_native),
		cmocka_unit_test(test_work),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
