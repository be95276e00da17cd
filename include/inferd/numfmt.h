/*
 * numfmt: a number in the shortest decimal form that reads back as the
 * same value.  One algorithm for the exposition's doubles and for the
 * predictions' float32 values.  Pure module: writes into the caller's
 * buffer.
 */
#ifndef INFERD_NUMFMT_H
#define INFERD_NUMFMT_H

#include <stddef.h>

/* Room for any number numfmt writes, with its NUL and two bytes to spare
 * (for a ".0" the caller may append). */
#define NUMFMT_LEN	48

/*
 * Write v with the fewest significant digits that strtod reads back as v,
 * without an exponent from 1e-4 up to 1e16 (as Python's repr does):
 * "0.005", "2", "1e+20", "-0".  NaN and infinities are written "NaN",
 * "+Inf" and "-Inf".  Returns the length written.
 */
size_t	 numfmt_double(char buf[NUMFMT_LEN], double v);
/* The same for a float32: the fewest digits that strtof reads back as v,
 * e.g. "0.1" for 0.1f, where numfmt_double writes 0.10000000149011612. */
size_t	 numfmt_float(char buf[NUMFMT_LEN], float v);
/* numfmt_float by the plain search alone (printf and strtof), which its
 * exact integer fast path must match: for tests. */
size_t	 numfmt_float_slow(char buf[NUMFMT_LEN], float v);

#endif /* INFERD_NUMFMT_H */
