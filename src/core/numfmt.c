/*
 * numfmt: shortest round-trip decimal numbers.
 *
 * The search is the plain one: try 1, 2, ... significant digits with
 * "%.*g" until the text reads back as the value (at most 17 for a double,
 * 9 for a float32), then, where "%g" chose an exponent for a number from
 * 1e-4 up to 1e16, the fewest decimals with "%.*f" that read back.  Slower
 * than Ryu or Grisu but short, and exact by construction: every candidate
 * is checked by the C library's own correctly rounded strtod/strtof.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/numfmt.h"

#define NUMFMT_DOUBLE_DIGITS	17	/* enough for any double */
#define NUMFMT_FLOAT_DIGITS	9	/* enough for any float32 */
#define NUMFMT_MAX_ZEROS	4	/* leading zeros after the point, 1e-4 */

/* Whether the text s reads back as v (as a float32 when single). */
static int
numfmt_reads_back(const char *s, double v, int single)
{
	if (single)
		return strtof(s, NULL) == (float)v;
	return strtod(s, NULL) == v;
}

/* Write v as numfmt.h describes; single: as a float32. */
static size_t
numfmt_shortest(char *buf, double v, int single)
{
	char	 fixed[NUMFMT_LEN];
	int	 prec, maxprec;

	if (isnan(v))
		return (size_t)snprintf(buf, NUMFMT_LEN, "NaN");
	if (isinf(v))
		return (size_t)snprintf(buf, NUMFMT_LEN, "%s",
		    v > 0 ? "+Inf" : "-Inf");
	maxprec = single ? NUMFMT_FLOAT_DIGITS : NUMFMT_DOUBLE_DIGITS;
	for (prec = 1; prec < maxprec; prec++) {
		snprintf(buf, NUMFMT_LEN, "%.*g", prec, v);
		if (numfmt_reads_back(buf, v, single))
			break;
	}
	if (prec == maxprec)
		snprintf(buf, NUMFMT_LEN, "%.*g", prec, v);
	if (strchr(buf, 'e') == NULL || fabs(v) < 1e-4 || fabs(v) >= 1e16)
		return strlen(buf);
	for (prec = 0; prec <= maxprec + NUMFMT_MAX_ZEROS; prec++) {
		snprintf(fixed, sizeof(fixed), "%.*f", prec, v);
		if (numfmt_reads_back(fixed, v, single)) {
			memcpy(buf, fixed, sizeof(fixed));
			break;
		}
	}
	return strlen(buf);
}

/*
 * The float32 fast path: the same text as numfmt_shortest's search, found
 * with exact integer arithmetic instead of printf and strtof.  A normal
 * float32 v = m * 2^e (m of 24 bits) from 2^-18 up to 2^114 is, scaled by
 * 10^k (k = 2 - e when e < 2, else 0), the integer V = 4m * 5^k (or
 * 4m * 2^(e-2)) below 2^126, and so are the two ends of the interval of
 * decimals that strtof reads back as v: L = (4m - 2) * unit (4m - 1 at
 * the bottom of a binade, where the gap below is half as wide) and
 * H = (4m + 2) * unit, each included when m is even (ties go to even).
 * printf's rounding of v to some digits is V rounded half to even at a
 * power of ten; the candidate reads back iff it lies in [L, H].
 */
typedef unsigned __int128	numfmt_u128;

#define NUMFMT_FAST_MAXK	43	/* 4m * 5^43 < 2^126 */
#define NUMFMT_FAST_MAXE	90	/* 4m * 2^88 < 2^114: room to round */

static const uint64_t numfmt_pow5[28] = {
	UINT64_C(1), UINT64_C(5), UINT64_C(25), UINT64_C(125), UINT64_C(625),
	UINT64_C(3125), UINT64_C(15625), UINT64_C(78125), UINT64_C(390625),
	UINT64_C(1953125), UINT64_C(9765625), UINT64_C(48828125),
	UINT64_C(244140625), UINT64_C(1220703125), UINT64_C(6103515625),
	UINT64_C(30517578125), UINT64_C(152587890625),
	UINT64_C(762939453125), UINT64_C(3814697265625),
	UINT64_C(19073486328125), UINT64_C(95367431640625),
	UINT64_C(476837158203125), UINT64_C(2384185791015625),
	UINT64_C(11920928955078125), UINT64_C(59604644775390625),
	UINT64_C(298023223876953125), UINT64_C(1490116119384765625),
	UINT64_C(7450580596923828125)
};

static const uint64_t numfmt_pow10_64[20] = {
	UINT64_C(1), UINT64_C(10), UINT64_C(100), UINT64_C(1000),
	UINT64_C(10000), UINT64_C(100000), UINT64_C(1000000),
	UINT64_C(10000000), UINT64_C(100000000), UINT64_C(1000000000),
	UINT64_C(10000000000), UINT64_C(100000000000),
	UINT64_C(1000000000000), UINT64_C(10000000000000),
	UINT64_C(100000000000000), UINT64_C(1000000000000000),
	UINT64_C(10000000000000000), UINT64_C(100000000000000000),
	UINT64_C(1000000000000000000), UINT64_C(10000000000000000000)
};

/* 10^n, n at most 38. */
static numfmt_u128
numfmt_pow10(int n)
{
	if (n <= 19)
		return numfmt_pow10_64[n];
	return (numfmt_u128)numfmt_pow10_64[19] * numfmt_pow10_64[n - 19];
}

/* The ends of the round-trip interval and whether they read back. */
struct numfmt_span {
	numfmt_u128	 lo;
	numfmt_u128	 hi;
	int		 closed;	/* m even: the ends read back as v */
};

/* V rounded half to even at 10^t (t <= 38); *ok if it reads back. */
static numfmt_u128
numfmt_round(numfmt_u128 v, int t, const struct numfmt_span *sp, int *ok)
{
	numfmt_u128	 p, c, r;

	if (t > 0) {
		p = numfmt_pow10(t);
		c = v / p;
		r = v - c * p;
		if (r > p / 2 || (r == p / 2 && (c & 1)))
			c++;
		v = c * p;
	}
	*ok = (v > sp->lo && v < sp->hi) ||
	    (sp->closed && (v == sp->lo || v == sp->hi));
	return v;
}

/* Write the decimal digits of u (below 10^20) at p; their count. */
static int
numfmt_digits(char *p, uint64_t u)
{
	char	 tmp[24];
	int	 n = 0, i;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* Write c * 10^x (c without trailing zeros) as "%.{prec}g" does. */
static size_t
numfmt_fast_g(char *buf, int neg, uint64_t c, int x, int prec)
{
	char	 ds[24], *p = buf;
	int	 n = numfmt_digits(ds, c), i;

	x += n - 1;		/* the exponent of the leading digit */
	if (neg)
		*p++ = '-';
	if (x < -4 || x >= prec) {
		*p++ = ds[0];
		if (n > 1) {
			*p++ = '.';
			memcpy(p, ds + 1, (size_t)n - 1);
			p += n - 1;
		}
		*p++ = 'e';
		*p++ = x < 0 ? '-' : '+';
		if (x < 0)
			x = -x;
		if (x < 10)
			*p++ = '0';
		p += numfmt_digits(p, (uint64_t)x);
	} else if (x >= 0) {
		for (i = 0; i <= x; i++)
			*p++ = i < n ? ds[i] : '0';
		if (n > x + 1) {
			*p++ = '.';
			memcpy(p, ds + x + 1, (size_t)(n - x - 1));
			p += n - x - 1;
		}
	} else {
		*p++ = '0';
		*p++ = '.';
		for (i = -1; i > x; i--)
			*p++ = '0';
		memcpy(p, ds, (size_t)n);
		p += n;
	}
	*p = '\0';
	return (size_t)(p - buf);
}

/* Write w / 10^k with prec decimals as "%.{prec}f" does (w a multiple
 * of 10^(k - prec) when k > prec; k at most 38). */
static size_t
numfmt_fast_f(char *buf, int neg, numfmt_u128 w, int k, int prec)
{
	numfmt_u128	 one = numfmt_pow10(k);
	char		*p = buf;
	int		 i;

	if (neg)
		*p++ = '-';
	p += numfmt_digits(p, (uint64_t)(w / one));
	if (prec > 0) {
		*p++ = '.';
		w %= one;
		for (i = 0; i < prec; i++) {
			if (i < k) {
				one /= 10;
				*p++ = (char)('0' + (int)(w / one));
				w %= one;
			} else
				*p++ = '0';
		}
	}
	*p = '\0';
	return (size_t)(p - buf);
}

/* numfmt_float's text for v by the fast path, or 0 if v is out of its
 * range (zero, subnormal, tiny, huge, not finite). */
static size_t
numfmt_float_fast(char *buf, float v)
{
	struct numfmt_span	 sp;
	numfmt_u128		 w, c, unit;
	uint32_t		 bits, m;
	int			 e, k, neg, nd, prec, t, ok = 0, below;

	memcpy(&bits, &v, sizeof(bits));
	neg = (int)(bits >> 31);
	e = (int)((bits >> 23) & 0xff);
	if (e == 0 || e == 0xff)
		return 0;
	m = (bits & 0x7fffff) | 0x800000;
	below = (bits & 0x7fffff) == 0 && e > 1 ? 1 : 2;
	e -= 150;		/* v = m * 2^e */
	if (e < 2 - NUMFMT_FAST_MAXK || e > NUMFMT_FAST_MAXE)
		return 0;
	k = e < 2 ? 2 - e : 0;
	if (k > 27)
		unit = (numfmt_u128)numfmt_pow5[27] * numfmt_pow5[k - 27];
	else if (k > 0)
		unit = numfmt_pow5[k];
	else
		unit = (numfmt_u128)1 << (e - 2);
	w = (numfmt_u128)(4 * m) * unit;
	sp.lo = (numfmt_u128)(4 * m - (uint32_t)below) * unit;
	sp.hi = (numfmt_u128)(4 * m + 2) * unit;
	sp.closed = (m & 1) == 0;
	for (nd = 1; nd < 38 && w >= numfmt_pow10(nd); nd++)
		;
	for (prec = 1; prec < NUMFMT_FLOAT_DIGITS; prec++) {
		c = numfmt_round(w, nd - prec, &sp, &ok);
		if (ok)
			break;
	}
	if (!ok)
		c = numfmt_round(w, nd - prec, &sp, &ok);
	t = nd - prec > 0 ? nd - prec : 0;
	c /= numfmt_pow10(t);
	while (c % 10 == 0) {
		c /= 10;
		t++;
	}
	numfmt_fast_g(buf, neg, (uint64_t)c, t - k, prec);
	if (strchr(buf, 'e') == NULL || fabs(v) < 1e-4 || fabs(v) >= 1e16)
		return strlen(buf);
	for (prec = 0; prec <= NUMFMT_FLOAT_DIGITS + NUMFMT_MAX_ZEROS &&
	    k <= 38; prec++) {
		c = numfmt_round(w, k - prec, &sp, &ok);
		if (ok)
			return numfmt_fast_f(buf, neg, c, k, prec);
	}
	return strlen(buf);
}

/* Shortest round-trip form of a double; see numfmt.h. */
size_t
numfmt_double(char buf[NUMFMT_LEN], double v)
{
	return numfmt_shortest(buf, v, 0);
}

/* Shortest round-trip form of a float32; see numfmt.h. */
size_t
numfmt_float(char buf[NUMFMT_LEN], float v)
{
	size_t	 n;

	if ((n = numfmt_float_fast(buf, v)) > 0)
		return n;
	return numfmt_shortest(buf, (double)v, 1);
}

/* The search of numfmt_float without its fast path; see numfmt.h. */
size_t
numfmt_float_slow(char buf[NUMFMT_LEN], float v)
{
	return numfmt_shortest(buf, (double)v, 1);
}
