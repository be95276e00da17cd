/*
 * test_numfmt: the shortest decimal that reads back as the same value.
 * numfmt_double's spellings (as Python's repr: no exponent from 1e-4 up
 * to 1e16, NaN and the infinities as the exposition writes them) and
 * round trips; numfmt_float's exact integer fast path against its
 * printf-and-strtof search, on random and chosen float32s.
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

#include "inferd/numfmt.h"

/* numfmt_double(v) must write want. */
static void
double_is(double v, const char *want)
{
	char	 buf[NUMFMT_LEN];
	size_t	 n = numfmt_double(buf, v);

	if (n != strlen(want) || strcmp(buf, want) != 0)
		fail_msg("numfmt_double(%a): \"%s\" (%zu), want \"%s\"", v, buf,
		    n, want);
}

/* numfmt_float(v) must write want. */
static void
float_is(float v, const char *want)
{
	char	 buf[NUMFMT_LEN];
	size_t	 n = numfmt_float(buf, v);

	if (n != strlen(want) || strcmp(buf, want) != 0)
		fail_msg("numfmt_float(%a): \"%s\" (%zu), want \"%s\"",
		    (double)v, buf, n, want);
}

static void
test_double_spellings(void **state)
{
	(void)state;
	double_is(0.005, "0.005");
	double_is(2, "2");
	double_is(0, "0");
	double_is(-0.0, "-0");
	double_is(0.1, "0.1");
	double_is(1e20, "1e+20");
	double_is(1e16, "1e+16");
	double_is(9999999999999998.0, "9999999999999998");
	double_is(1e-4, "0.0001");
	double_is(9.9e-5, "9.9e-05");
	double_is(0.25, "0.25");
	double_is(2.5, "2.5");
	double_is(-7.125, "-7.125");
	double_is(1.0 / 3, "0.3333333333333333");
	double_is(5e-324, "5e-324");
	double_is(1.7976931348623157e308, "1.7976931348623157e+308");
	double_is(NAN, "NaN");
	double_is(INFINITY, "+Inf");
	double_is(-INFINITY, "-Inf");
}

static void
test_float_spellings(void **state)
{
	(void)state;
	float_is(0.1f, "0.1");
	float_is(0.5f, "0.5");
	float_is(16777216.0f, "16777216");
	float_is(-3.0f, "-3");
	float_is(-0.0f, "-0");
	float_is(1e-4f, "0.0001");
	float_is(3.4028235e38f, "3.4028235e+38");
	float_is(1e-45f, "1e-45");
	float_is((float)NAN, "NaN");
	float_is((float)INFINITY, "+Inf");
	float_is(-(float)INFINITY, "-Inf");
}

/* Random doubles read back as themselves, in at most 17 digits. */
static void
test_double_round_trip(void **state)
{
	char		 buf[NUMFMT_LEN];
	uint64_t	 bits = 88172645463325252ull;
	double		 v;
	size_t		 i;

	(void)state;
	for (i = 0; i < 200000; i++) {
		bits ^= bits << 13;
		bits ^= bits >> 7;
		bits ^= bits << 17;
		memcpy(&v, &bits, sizeof(v));
		if (!isfinite(v))
			continue;
		numfmt_double(buf, v);
		if (strtod(buf, NULL) != v)
			fail_msg("%a written \"%s\" reads back as %a", v, buf,
			    strtod(buf, NULL));
		if (strlen(buf) > 24)
			fail_msg("%a written \"%s\": too long", v, buf);
	}
}

/* numfmt_float (fast path) writes what numfmt_float_slow writes. */
static void
same_text(float v)
{
	char	 a[NUMFMT_LEN], b[NUMFMT_LEN];
	size_t	 la = numfmt_float(a, v), lb = numfmt_float_slow(b, v);

	if (la != lb || strcmp(a, b) != 0)
		fail_msg("%a: fast \"%s\", search \"%s\"", (double)v, a, b);
}

/* The float32 formatter's fast path matches the search, bit for bit. */
static void
test_numfmt_fast(void **state)
{
	static const float chosen[] = {
		0.1f, 0.5f, 1.0f, -1.0f, 0.0f, -0.0f, 1e-4f, 9.9999997e-5f,
		1e-5f, 3.8e-6f, 1e-6f, 1e-38f, 1.17549435e-38f, 1e-45f,
		16777216.0f, 16777215.0f, 1e10f, 123456792.0f, 1e16f, 1e15f,
		9.999999e15f, 1e17f, 3.4028235e38f, 2.5e34f, 0.3f, 2.0f / 3,
		0.9999999f, 0.99999994f, 0.0123456789f, 7.038531e-26f,
		(float)INFINITY, -(float)INFINITY, (float)NAN,
	};
	uint32_t	 bits = 11, u;
	float		 v;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(chosen) / sizeof(chosen[0]); i++)
		same_text(chosen[i]);
	for (i = 0; i < 300000; i++) {
		bits ^= bits << 13;
		bits ^= bits >> 17;
		bits ^= bits << 5;
		/* every other one a probability: exponents of 2^-18 to 1 */
		u = i % 2 ? bits : 0x36800000u + bits % 0x08800000u;
		memcpy(&v, &u, sizeof(v));
		same_text(v);
	}
	for (u = 0x3f7fff00u; u < 0x3f800100u; u++) {	/* near 1 */
		memcpy(&v, &u, sizeof(v));
		same_text(v);
	}
	/* both edges of every binade, where the gap below is narrower */
	for (u = 1; u < 0xff; u++)
		for (i = 0; i < 6; i++) {
			bits = u << 23 | (i < 3 ? (uint32_t)i : 0x7fffffu - (i - 3));
			memcpy(&v, &bits, sizeof(v));
			same_text(v);
			same_text(-v);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_double_spellings),
		cmocka_unit_test(test_float_spellings),
		cmocka_unit_test(test_double_round_trip),
		cmocka_unit_test(test_numfmt_fast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
