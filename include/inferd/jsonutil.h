/*
 * jsonutil: what the model builder and the request parsers say about
 * jansson values, in one place.
 */
#ifndef INFERD_JSONUTIL_H
#define INFERD_JSONUTIL_H

#include <stddef.h>

#include <jansson.h>

/* How numbers are named: a request's JSON has numbers; a model file
 * stores indices as integers, so there "an integer" and "a real number"
 * tell the user what is wrong. */
enum jsonutil_numbers {
	JSONUTIL_NUMBER,	/* "a number" */
	JSONUTIL_INTEGER_REAL	/* "an integer", "a real number" */
};

/* Name v's type for a message: "an object", "an array", "a string",
 * "a number" (or "an integer", "a real number"), "a boolean", "null". */
const char	*jsonutil_type_name(const json_t *v, enum jsonutil_numbers);

/*
 * What a JSON text holds, counted without building it: its objects, its
 * arrays, its other values (strings, numbers, literals; object keys are
 * not values) and its deepest nesting.  Filled by jsonutil_census.
 */
struct jsonutil_census {
	size_t	 objects;
	size_t	 arrays;
	size_t	 scalars;
	size_t	 depth;
};

/*
 * Count the len bytes at p in one pass and no allocation, as a cheap look
 * before jansson builds a value per element.  Stops as soon as the nesting
 * passes max_depth or the values (objects + arrays + scalars) pass
 * max_values, and returns -1 then (the counts so far in c); 0 otherwise.
 * It checks no syntax: a body it passes is still parsed by jansson, which
 * judges it.
 */
int		 jsonutil_census(const char *p, size_t len, size_t max_depth,
		    size_t max_values, struct jsonutil_census *c);

/*
 * The length (2 to 4) of the valid UTF-8 sequence of a non-ASCII code
 * point at s, n bytes left, or 0 when the bytes are not one (a stray
 * continuation byte, an overlong form, a surrogate, above U+10FFFF, cut
 * short).  What a JSON string may carry as it is.
 */
size_t		 jsonutil_utf8_len(const unsigned char *s, size_t n);

#endif /* INFERD_JSONUTIL_H */
