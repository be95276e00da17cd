/*
 * infer_fast: the common POST /predict and KServe v1 bodies without
 * jansson.  A request of the shape
 *
 *	{"features": [n, ...]}			(POST /predict only)
 *	{"instances": [[n, ...], ...]}
 *	{"inputs": [[n, ...], ...]}		(KServe v1 only)
 *
 * (any JSON whitespace between tokens, each n a JSON number or null, every
 * row exactly the model's number of features) is read straight into the
 * feature matrix, with no tree of JSON values.  Anything else, and
 * anything that would be refused (a wrong row length, too many rows, a
 * number that does not fit a float32, an integer beyond 18 digits), is not
 * handled here: the caller parses it again with jansson, so refusals and
 * their messages come from one place only.
 *
 * Exactness: jansson reads a number without '.', 'e' or 'E' with strtoll
 * and others with strtod, and infer_value rounds the result to float32;
 * this file does the same conversions.  An integer of at most 18 digits is
 * read exactly into an int64_t.  A real whose digits fit in 2^53 and whose
 * decimal exponent is at most 22 in magnitude is one exact integer
 * multiplied or divided by an exact power of ten: a single correctly
 * rounded IEEE operation, so the same double as strtod (Clinger's fast
 * path); every other real goes through strtod itself.
 */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/infer.h"
#include "infer/infer_impl.h"

#define INFER_FAST_MAX_DIGITS	19	/* digits an uint64_t always holds */
#define INFER_FAST_MAX_INT	18	/* digits of an exact int64_t */
#define INFER_FAST_MAX_TOKEN	64	/* longer numbers: jansson */
#define INFER_FAST_MAX_EXP	22	/* 10^22 is the last exact double */

/* The bytes left to read. */
struct infer_scan {
	const char	*p;
	const char	*end;
};

static const double infer_fast_pow10[INFER_FAST_MAX_EXP + 1] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* Skip JSON whitespace. */
static void
infer_fast_ws(struct infer_scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' ||
	    *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

/* Skip whitespace, then the bytes of word; 0, or -1 if they differ. */
static int
infer_fast_lit(struct infer_scan *s, const char *word)
{
	size_t	 n = strlen(word);

	infer_fast_ws(s);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

/* Skip whitespace, then the byte c; 0, or -1 if it is not there. */
static int
infer_fast_char(struct infer_scan *s, char c)
{
	infer_fast_ws(s);
	if (s->p == s->end || *s->p != c)
		return -1;
	s->p++;
	return 0;
}

/* Whether c is an ASCII digit. */
static int
infer_fast_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The double strtod makes of the len bytes at tok (a JSON number); 0, or
 * -1 if strtod does not read exactly those bytes. */
static int
infer_fast_strtod(const char *tok, size_t len, double *d)
{
	char	 buf[INFER_FAST_MAX_TOKEN + 1], *end;

	if (len > INFER_FAST_MAX_TOKEN)
		return -1;
	memcpy(buf, tok, len);
	buf[len] = '\0';
	errno = 0;
	*d = strtod(buf, &end);
	return end == buf + len && errno != ERANGE ? 0 : -1;
}

/*
 * Read a JSON number (RFC 8259 grammar, as jansson's lexer takes it) into
 * *x as a float32; 0, or -1 if not handled here (not a number, or one
 * jansson would take otherwise or refuse).
 */
static int
infer_fast_number(struct infer_scan *s, float *x)
{
	const char	*tok = s->p, *p = s->p, *end = s->end;
	uint64_t	 mant = 0;
	int		 neg = 0, digits = 0, exp10 = 0, real = 0, e = 0;
	int		 eneg = 0, edigits = 0;
	double		 d;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p == end || !infer_fast_digit(*p))
		return -1;
	if (*p == '0' && p + 1 < end && infer_fast_digit(p[1]))
		return -1;		/* a leading zero: jansson refuses */
	for (; p < end && infer_fast_digit(*p); p++)
		if (digits++ < INFER_FAST_MAX_DIGITS)
			mant = mant * 10 + (uint64_t)(*p - '0');
		else
			exp10++;
	if (p < end && *p == '.') {
		real = 1;
		if (++p == end || !infer_fast_digit(*p))
			return -1;
		for (; p < end && infer_fast_digit(*p); p++)
			if (digits++ < INFER_FAST_MAX_DIGITS) {
				mant = mant * 10 + (uint64_t)(*p - '0');
				exp10--;
			}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = 1;
		if (++p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p == end || !infer_fast_digit(*p))
			return -1;
		for (; p < end && infer_fast_digit(*p); p++)
			if (edigits++ < 6)
				e = e * 10 + (*p - '0');
		if (edigits > 6)
			e = 999999;	/* far out of range: strtod decides */
		exp10 += eneg ? -e : e;
	}
	s->p = p;
	if (!real) {
		if (digits > INFER_FAST_MAX_INT)
			return -1;	/* strtoll may refuse: jansson */
		d = (double)(neg ? -(int64_t)mant : (int64_t)mant);
	} else if (digits <= INFER_FAST_MAX_DIGITS &&
	    mant <= (UINT64_C(1) << 53) && exp10 >= -INFER_FAST_MAX_EXP &&
	    exp10 <= INFER_FAST_MAX_EXP) {
		d = (double)mant;
		d = exp10 < 0 ? d / infer_fast_pow10[-exp10] :
		    d * infer_fast_pow10[exp10];
		if (neg)
			d = -d;
	} else if (infer_fast_strtod(tok, (size_t)(p - tok), &d) == -1)
		return -1;
	*x = (float)d;
	return isfinite(*x) ? 0 : -1;
}

/* Read a row "[v, ...]" of exactly cols values into x; 0, or -1. */
static int
infer_fast_row(struct infer_scan *s, float *x, size_t cols)
{
	size_t	 c;

	if (infer_fast_char(s, '[') == -1)
		return -1;
	for (c = 0; c < cols; c++) {
		if (c > 0 && infer_fast_char(s, ',') == -1)
			return -1;
		infer_fast_ws(s);
		if (s->p < s->end && *s->p == 'n') {
			if (infer_fast_lit(s, "null") == -1)
				return -1;
			x[c] = NAN;
		} else if (infer_fast_number(s, &x[c]) == -1)
			return -1;
	}
	return infer_fast_char(s, ']');
}

/* Read the rows of "[row, ...]" into b (b->cols set); 0, or -1. */
static int
infer_fast_rows(struct infer_scan *s, size_t max_rows, struct infer_batch *b)
{
	size_t	 cap;

	if (infer_fast_char(s, '[') == -1)
		return -1;
	/* A row takes at least 2 * cols + 1 bytes: "[0,0,...,0]". */
	cap = (size_t)(s->end - s->p) / (2 * b->cols + 1) + 1;
	if (cap > max_rows)
		cap = max_rows;
	if (cap == 0 || (b->x = malloc(cap * b->cols * sizeof(*b->x))) == NULL)
		return -1;
	for (;;) {
		if (b->rows == cap || infer_fast_row(s, b->x + b->rows *
		    b->cols, b->cols) == -1)
			return -1;
		b->rows++;
		infer_fast_ws(s);
		if (s->p == s->end || *s->p != ',')
			break;
		s->p++;
	}
	return infer_fast_char(s, ']');
}

/* Try the fast path of infer_parse_predict; see infer_impl.h. */
int
infer_fast_predict(const char *body, size_t len, size_t cols,
    size_t max_rows, int v1, struct infer_batch *b)
{
	struct infer_scan	 s = { body, body + len };
	int			 rc = -1;

	memset(b, 0, sizeof(*b));
	b->cols = cols;
	if (cols == 0 || max_rows == 0 || infer_fast_char(&s, '{') == -1)
		return -1;
	if (!v1 && infer_fast_lit(&s, "\"features\"") == 0) {
		if (infer_fast_char(&s, ':') == 0 &&
		    (b->x = malloc(cols * sizeof(*b->x))) != NULL &&
		    infer_fast_row(&s, b->x, cols) == 0) {
			b->rows = 1;
			rc = 0;
		}
	} else if ((infer_fast_lit(&s, "\"instances\"") == 0 ||
	    (v1 && infer_fast_lit(&s, "\"inputs\"") == 0)) &&
	    infer_fast_char(&s, ':') == 0)
		rc = infer_fast_rows(&s, max_rows, b);
	if (rc == 0 && infer_fast_char(&s, '}') == 0) {
		infer_fast_ws(&s);
		if (s.p == s.end)
			return 0;
	}
	free(b->x);
	memset(b, 0, sizeof(*b));
	return -1;
}
