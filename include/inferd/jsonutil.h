/*
 * jsonutil: what the model builder and the request parsers say about
 * jansson values, in one place.
 */
#ifndef INFERD_JSONUTIL_H
#define INFERD_JSONUTIL_H

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

#endif /* INFERD_JSONUTIL_H */
