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
	return numfmt_shortest(buf, (double)v, 1);
}
