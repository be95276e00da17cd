/*
 * jsonutil: helpers on jansson values.
 */
#include <jansson.h>

#include "inferd/jsonutil.h"

/* Name v's type for a message; see jsonutil.h. */
const char *
jsonutil_type_name(const json_t *v, enum jsonutil_numbers numbers)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return "an object";
	case JSON_ARRAY:	return "an array";
	case JSON_STRING:	return "a string";
	case JSON_INTEGER:
		return numbers == JSONUTIL_NUMBER ? "a number" : "an integer";
	case JSON_REAL:
		return numbers == JSONUTIL_NUMBER ? "a number" :
		    "a real number";
	case JSON_TRUE:		/* FALLTHROUGH */
	case JSON_FALSE:	return "a boolean";
	case JSON_NULL:		return "null";
	}
	return "unknown";
}
