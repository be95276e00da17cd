/*
 * jsonutil: helpers on jansson values.
 */
#include <stddef.h>

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

/*
 * Count a JSON text's values and nesting; see jsonutil.h.  A value starts
 * at '{', '[', '"' (unless the string is a key, i.e. followed by ':'), or
 * at the first byte of a number or literal; a key is told from a string
 * value by the ':' after it.
 */
int
jsonutil_census(const char *p, size_t len, size_t max_depth,
    size_t max_values, struct jsonutil_census *c)
{
	const char	*end = p + len, *q;
	size_t		 depth = 0;
	int		 in_token = 0;

	c->objects = c->arrays = c->scalars = c->depth = 0;
	while (p < end) {
		switch (*p) {
		case '{':
		case '[':
			in_token = 0;
			if (*p == '{')
				c->objects++;
			else
				c->arrays++;
			if (++depth > c->depth)
				c->depth = depth;
			if (depth > max_depth)
				return -1;
			break;
		case '}':
		case ']':
			in_token = 0;
			if (depth > 0)
				depth--;
			break;
		case '"':
			in_token = 0;
			for (q = p + 1; q < end && *q != '"'; q++)
				if (*q == '\\')
					q++;
			if (q >= end)
				return 0;	/* unterminated: jansson's say */
			p = q;
			/* a key if the next byte past whitespace is ':' */
			for (q = p + 1; q < end && (*q == ' ' || *q == '\t' ||
			    *q == '\n' || *q == '\r'); q++)
				;
			if (q < end && *q == ':')
				break;
			c->scalars++;
			break;
		case ',':
		case ':':
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			in_token = 0;
			break;
		default:
			if (!in_token)
				c->scalars++;
			in_token = 1;
			break;
		}
		if (c->objects + c->arrays + c->scalars > max_values)
			return -1;
		p++;
	}
	return 0;
}

/* The valid UTF-8 sequence at s; see jsonutil.h. */
size_t
jsonutil_utf8_len(const unsigned char *s, size_t n)
{
	unsigned	c = s[0], min, need, i;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		min = 0x80;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		min = 0x800;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		min = 0x10000;
		c &= 0x07;
	} else
		return 0;
	if (n < need + 1)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return need + 1;
}
