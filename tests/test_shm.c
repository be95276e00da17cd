/* Unit tests of shm: bucket placement, recording and aggregation. */
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

	shm_record(seg, &seg->slots[0], ROUTES_H_PREDICT, 200, 1, 0.05);
	shm_record(seg, &seg->slots[0], ROUTES_H_PREDICT, 200, 1, 1.0);
	shm_record(seg, &seg->slots[1], ROUTES_H_PREDICT, 400, 1, 2.0);
	shm_record(seg, &seg->slots[2], ROUTES_H_V2_INFER, 200, 1, 7.0);
	shm_record(seg, &seg->slots[2], ROUTES_H_HEALTHZ, 200, 0, 0.001);
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
		shm_record(seg, &seg->slots[i % 2], ROUTES_H_PREDICT, 200, 1,
		    (double)(i % 40) / 10.0);
		shm_snapshot(seg, &b);
		for (k = 0; k <= NB; k++) {
			assert_true(b.cumulative[k] >= a.cumulative[k]);
			if (k > 0)
				assert_true(b.cumulative[k] >=
				    b.cumulative[k - 1]);
		}
		assert_int_equal(b.cumulative[NB], b.count);
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
	snprintf(path, sizeof(path), "/dev/shm%s", seg.name);
	assert_int_equal(access(path, F_OK), 0);
	shm_record(&seg, &seg.slots[3], ROUTES_H_PREDICT, 200, 1, 0.2);
	shm_destroy(&seg);
	assert_int_equal(access(path, F_OK), -1);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
