/*
 * test_infer_fast: POST /predict's and KServe v1's fast path
 * (src/infer/infer_fast.c) against the jansson path it stands in for: on every
 * body it takes, both must give bit-identical float32 features (values,
 * null, exponents, negative zero, huge and tiny numbers, whitespace), and
 * every body it declines must still be parsed, or refused with the same
 * message, by jansson.  Plus random numbers in every JSON spelling.
 * (The answers' numbers are tests/unit/test_numfmt.c's.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/infer.h"
#include "infer/infer_impl.h"
#include "inferd/model.h"

#include "infer_common.h"

#define MAX_ROWS	4

/*
 * Parse body both ways (tiny: 3 features); fast says whether the fast
 * path must take it (1) or leave it (0), -1 either.  Whatever it takes, jansson must read the same bits;
 * infer_parse's answer must be jansson's in every case.  Whether the
 * fast path took it.
 */
static int
agree(const char *body, int v1, int fast)
{
	struct infer_batch	 bf, bj, bp;
	struct infer_error	 ej, ep;
	size_t			 len = strlen(body);
	int			 rf, rj, rp;

	memset(&ej, 0, sizeof(ej));
	memset(&ep, 0, sizeof(ep));
	rf = infer_fast_predict(body, len, model_nfeatures(tiny), MAX_ROWS,
	    v1, &bf);
	rj = infer_parse_predict_json(body, len, tiny, MAX_ROWS, &bj, &ej,
	    v1);
	rp = infer_parse_predict(body, len, tiny, MAX_ROWS, &bp, &ep, v1);
	if (fast >= 0 && rf != (fast ? 0 : -1))
		fail_msg("fast path %s \"%s\"", rf == 0 ? "took" : "declined",
		    body);
	if (rf == 0) {
		if (rj != 0)
			fail_msg("jansson refused \"%s\": %s", body, ej.msg);
		assert_int_equal(bf.rows, bj.rows);
		assert_int_equal(bf.cols, bj.cols);
		if (memcmp(bf.x, bj.x, bf.rows * bf.cols * sizeof(float)))
			fail_msg("different features for \"%s\"", body);
	}
	assert_int_equal(rp, rj);
	if (rp == 0) {
		assert_int_equal(bp.rows, bj.rows);
		assert_memory_equal(bp.x, bj.x, bp.rows * bp.cols *
		    sizeof(float));
	} else {
		assert_int_equal(ep.status, ej.status);
		assert_string_equal(ep.msg, ej.msg);
	}
	free(bf.x);
	free(bj.x);
	free(bp.x);
	return rf == 0;
}

/* Bodies the fast path takes, in both protocols where they apply. */
static void
test_fast_taken(void **state)
{
	static const char *const features[] = {
		"{\"features\":[17.99,10.38,122.8]}",
		"{\"features\":[0,-0,-0.0]}",
		"{\"features\":[0.0,-0e5,0e-400]}",
		"{\"features\":[null,null,null]}",
		"{\"features\":[1e38,3.4028234e38,-3.4028235e38]}",
		"{\"features\":[1e-45,1.4e-45,1e-46]}",
		"{\"features\":[1.17549435e-38,7e-39,-1e-40]}",
		"{\"features\":[16777217,16777216.5,-16777219]}",
		"{\"features\":[123456789012345678,-999999999999999999,"
		    "9007199254740993]}",
		"{\"features\":[9007199254740993.0,0.1,0.30000000000000004]}",
		"{\"features\":[1E5,1e+5,1e-5]}",
		"{\"features\":[12345678901234567890123.0,1.5e22,1.5e23]}",
		"{\"features\":[0.000000000000000000000000001234,"
		    "1.00000005960464477539062,1.0000000596046448]}",
		"{\"features\":[2.5e-8,1e-22,1e22]}",
		"{\"features\":[3.0000001192092896,1e00001,7e-000003]}",
		" \t\r\n{ \"features\" :\n[ 1 , null ,\t-2.5 ] \r}\n ",
	};
	static const char *const instances[] = {
		"{\"instances\":[[1,2,3]]}",
		"{\"instances\":[[1,2,3],[4,5,6],[null,0.5,-7e-3],[8,9,10]]}",
		"{ \"instances\" : [ [1, 2, 3] , [ 4,5,6 ] ] }",
		"{\"instances\":[[0.1,0.2,0.3],[1e-7,2e-7,3e-7]]}",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		agree(features[i], 0, 1);
		agree(features[i], 1, 0);	/* v1 has no "features" */
	}
	for (i = 0; i < sizeof(instances) / sizeof(instances[0]); i++) {
		agree(instances[i], 0, 1);
		agree(instances[i], 1, 1);
	}
	/* KServe v1's "inputs": fast for v1, not a /predict body */
	agree("{\"inputs\":[[1,2,3],[null,0.5,-7e-3]]}", 1, 1);
	agree("{\"inputs\":[[1,2,3],[null,0.5,-7e-3]]}", 0, 0);
	agree("{ \"inputs\" : [ [1, 2, 3] ] }", 1, 1);
}

/* Bodies the fast path leaves to jansson: other shapes, errors. */
static void
test_fast_declined(void **state)
{
	static const char *const bodies[] = {
		"", " ", "{", "[]", "null", "{}", "{\"features\":[1,2]}",
		"{\"features\":[1,2,3,4]}", "{\"features\":[1,2,3],}",
		"{\"features\":[1,2,3]} x", "{\"features\":[1,2,3]}{}",
		"{\"features\":[1,2,3],\"extra\":1}",
		"{\"extra\":1,\"features\":[1,2,3]}",
		"{\"features\":{\"f0\":1}}", "{\"features\":[01,2,3]}",
		"{\"features\":[1.,2,3]}", "{\"features\":[.5,2,3]}",
		"{\"features\":[+1,2,3]}", "{\"features\":[1e,2,3]}",
		"{\"features\":[1e+,2,3]}", "{\"features\":[-,2,3]}",
		"{\"features\":[1x,2,3]}", "{\"features\":[nul,2,3]}",
		"{\"features\":[nullx,2,3]}", "{\"features\":[true,2,3]}",
		"{\"features\":[\"1\",2,3]}", "{\"features\":[1,2,3,]}",
		"{\"features\":[1 2 3]}", "{\"features\":[NaN,2,3]}",
		"{\"features\":[Infinity,2,3]}", "{\"features\":[1e39,2,3]}",
		"{\"features\":[-1e400,2,3]}", "{\"features\":[1e-400,2,3]}",
		"{\"features\":[1234567890123456789,2,3]}",
		"{\"features\":[99999999999999999999,2,3]}",
		"{\"features\":[0x10,2,3]}", "{\"feature\\u0073\":[1,2,3]}",
		"{\"features\":[1,2,3],\"features\":[1,2,3]}",
		"{\"features\":[1,2,3],\"instances\":[[1,2,3]]}",
		"{\"instances\":[]}", "{\"instances\":[[]]}",
		"{\"instances\":[[1,2,3],]}", "{\"instances\":[[1,2,3]],}",
		"{\"instances\":[[1,2,3],[1,2]]}", "{\"instances\":[1,2,3]}",
		"{\"instances\":[[1,2,3],[4,5,6],[7,8,9],[1,2,3],[4,5,6]]}",
		"{\"instances\":[{\"f0\":1}]}", "{\"instances\":[[1,2,3]]]}",
		"{\"features\":[1,2,\xff]}",
		"{\"features\":[12345678901234567890123,2,3]}",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		agree(bodies[i], 0, 0);
		agree(bodies[i], 1, 0);
	}
}

/* Append to s a random JSON spelling of a random number. */
static void
random_number(char *s, size_t size)
{
	char	 digits[40];
	int	 n = 1 + rand() % 25, point = rand() % (n + 1), i, k = 0;

	digits[k++] = (char)('1' + rand() % 9);
	for (i = 1; i < n; i++)
		digits[k++] = (char)('0' + (rand() % 3 ? rand() % 10 : 0));
	digits[k] = '\0';
	if (rand() % 4 == 0)
		digits[0] = '0', n = 1, digits[1] = '\0', point = 1;
	snprintf(s + strlen(s), size - strlen(s), "%s", rand() % 2 ? "-" :
	    "");
	if (point == 0 || point == n)
		snprintf(s + strlen(s), size - strlen(s), "%s", digits);
	else
		snprintf(s + strlen(s), size - strlen(s), "%.*s.%s", point,
		    digits, digits + point);
	if (rand() % 2)
		snprintf(s + strlen(s), size - strlen(s), "%s%s%d",
		    rand() % 2 ? "e" : "E", rand() % 3 == 0 ? "+" :
		    rand() % 2 ? "-" : "", rand() % 50);
}

/* Random numbers: whatever the fast path takes, jansson reads the same. */
static void
test_fast_random(void **state)
{
	char	 body[256];
	int	 i, c, taken = 0;

	(void)state;
	srand(11);
	for (i = 0; i < 200000; i++) {
		snprintf(body, sizeof(body), "{\"features\":[");
		for (c = 0; c < 3; c++) {
			if (c > 0)
				strcat(body, ",");
			random_number(body, sizeof(body));
		}
		strcat(body, "]}");
		taken += agree(body, 0, -1);
	}
	/* Most of them are in the fast path's reach (the others have long
	 * mantissas or large exponents): it must not decline them all. */
	if (taken < 100000)
		fail_msg("the fast path took only %d of 200000", taken);
}

/* The double path keeps strtod's double of each value beside its
 * float32: values a float32 cannot tell apart stay apart. */
static void
test_fast_double(void **state)
{
	static const char	*nums[] = { "0.3", "0.30000000000000004",
				    "1e-36", "-0.0", "123456789012345678",
				    "2.5e-300", "0.1234567890123456789" };
	char			 body[512];
	struct infer_batch	 b;
	size_t			 i, n = sizeof(nums) / sizeof(nums[0]);
	double			 d;

	(void)state;
	snprintf(body, sizeof(body), "{\"instances\":[[%s,%s,%s,%s,%s,%s,"
	    "%s,null]]}", nums[0], nums[1], nums[2], nums[3], nums[4],
	    nums[5], nums[6]);
	assert_int_equal(infer_fast_predict_double(body, strlen(body), n + 1,
	    10, 0, &b), 0);
	assert_non_null(b.xd);
	for (i = 0; i < n; i++) {
		d = strtod(nums[i], NULL);
		if (memcmp(&b.xd[i], &d, sizeof(d)) != 0)
			fail_msg("%s: %.17g, strtod %.17g", nums[i], b.xd[i], d);
		assert_true(b.x[i] == (float)d);
	}
	assert_true(isnan(b.xd[n]) && isnan(b.x[n]));
	assert_true(b.xd[0] != b.xd[1] && b.x[0] == b.x[1]);
	free(b.x);
	free(b.xd);
	/* the float32 path leaves xd NULL */
	assert_int_equal(infer_fast_predict(body, strlen(body), n + 1, 10, 0,
	    &b), 0);
	assert_null(b.xd);
	free(b.x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_taken),
		cmocka_unit_test(test_fast_declined),
		cmocka_unit_test(test_fast_random),
		cmocka_unit_test(test_fast_double),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
