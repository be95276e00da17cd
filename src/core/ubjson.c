/*
 * ubjson: decode UBJSON into a jansson tree.
 *
 * XGBoost's writer (src/common/json.cc, UBJWriter, 1.6 to 3.x) uses a
 * small subset: objects '{' with keys as 'L' + int64 length + bytes and a
 * closing '}'; arrays '[' '#' 'L' count with no closing ']'; typed arrays
 * '[' '$' type '#' 'L' count, type one of d (float32), D (float64, 2.x+),
 * i, U, I, l, L; scalars Z T F d i I l L and strings 'S' 'L' length.  This
 * decoder takes all of UBJSON draft 12 but for typed containers of
 * non-numeric types, which XGBoost never writes and which could hold
 * billions of elements in no bytes at all.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "inferd/ubjson.h"

/* A decode in progress. */
struct ubj {
	const unsigned char	*p;
	size_t			 len;
	size_t			 pos;
	int			 depth;
	const char		*name;
	char			*err;
	size_t			 errlen;
};

static json_t	*ubj_value(struct ubj *);
static void	 ubj_fail(struct ubj *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Write "name: byte at: message" into the error buffer (first error wins). */
static void
ubj_fail(struct ubj *u, size_t at, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (u->errlen == 0 || u->err[0] != '\0')
		return;
	n = snprintf(u->err, u->errlen, "%s: byte %zu: ", u->name, at);
	if (n < 0 || (size_t)n >= u->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(u->err + n, u->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Bytes not yet consumed. */
static size_t
ubj_left(const struct ubj *u)
{
	return u->len - u->pos;
}

/* Make sure n more bytes are there for what; 0, or -1 with the error set. */
static int
ubj_need(struct ubj *u, size_t n, const char *what)
{
	if (ubj_left(u) >= n)
		return 0;
	ubj_fail(u, u->pos, "truncated: %s needs %zu bytes, %zu left", what, n,
	    ubj_left(u));
	return -1;
}

/* Name a marker byte for messages: 'x' if printable, else its hex code. */
static const char *
ubj_marker_name(int c, char *buf, size_t len)
{
	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "0x%02x", (unsigned)c);
	return buf;
}

/* Size of the payload of a fixed-size numeric type, or 0 if it is not one. */
static size_t
ubj_numeric_size(int type)
{
	switch (type) {
	case 'i': case 'U': case 'C':
		return 1;
	case 'I':
		return 2;
	case 'l': case 'd':
		return 4;
	case 'L': case 'D':
		return 8;
	}
	return 0;
}

/* Read an n-byte big-endian unsigned integer (the caller checked n bytes). */
static uint64_t
ubj_be(struct ubj *u, size_t n)
{
	uint64_t	 v = 0;
	size_t		 i;

	for (i = 0; i < n; i++)
		v = (v << 8) | u->p[u->pos + i];
	u->pos += n;
	return v;
}

/* Read the payload of integer type (i U I l L) into *out; 0 or -1. */
static int
ubj_int_payload(struct ubj *u, int type, int64_t *out)
{
	size_t	 n = ubj_numeric_size(type);
	uint64_t v;

	if (ubj_need(u, n, "an integer") == -1)
		return -1;
	v = ubj_be(u, n);
	switch (type) {
	case 'i':	*out = (int8_t)v; break;
	case 'U':	*out = (uint8_t)v; break;
	case 'I':	*out = (int16_t)v; break;
	case 'l':	*out = (int32_t)v; break;
	default:	*out = (int64_t)v; break;
	}
	return 0;
}

/* Read a marker and a non-negative integer: a length or count; 0 or -1. */
static int
ubj_length(struct ubj *u, const char *what, int64_t *out)
{
	size_t	 at = u->pos;
	int	 type;
	char	 b[8];

	if (ubj_need(u, 1, what) == -1)
		return -1;
	type = u->p[u->pos++];
	if (type != 'i' && type != 'U' && type != 'I' && type != 'l' &&
	    type != 'L') {
		ubj_fail(u, at, "%s: expected an integer marker (i U I l L), "
		    "got %s", what, ubj_marker_name(type, b, sizeof(b)));
		return -1;
	}
	if (ubj_int_payload(u, type, out) == -1)
		return -1;
	if (*out < 0) {
		ubj_fail(u, at, "%s %lld is negative", what, (long long)*out);
		return -1;
	}
	return 0;
}

/* A float as jansson holds it: NaN is null, +/-inf "Infinity"/"-Infinity". */
static json_t *
ubj_real(double v)
{
	if (isnan(v))
		return json_null();
	if (isinf(v))
		return json_string(v > 0 ? "Infinity" : "-Infinity");
	return json_real(v);
}

/* The payload of numeric type (checked by the caller) as a jansson value. */
static json_t *
ubj_numeric(struct ubj *u, int type)
{
	uint64_t	 v;
	uint32_t	 w;
	float		 f;
	double		 d;
	int64_t		 i;
	char		 c;

	switch (type) {
	case 'd':
		w = (uint32_t)ubj_be(u, 4);
		memcpy(&f, &w, sizeof(f));
		return ubj_real(f);
	case 'D':
		v = ubj_be(u, 8);
		memcpy(&d, &v, sizeof(d));
		return ubj_real(d);
	case 'C':
		c = (char)u->p[u->pos++];
		return json_stringn(&c, 1);	/* NULL unless ASCII */
	}
	(void)ubj_int_payload(u, type, &i);
	return json_integer((json_int_t)i);
}

/* A string of a marker-given length; NULL on error. */
static json_t *
ubj_string(struct ubj *u, size_t at)
{
	int64_t	 n;
	json_t	*s;

	if (ubj_length(u, "string length", &n) == -1)
		return NULL;
	if ((uint64_t)n > ubj_left(u)) {
		ubj_fail(u, at, "string length %lld exceeds the %zu bytes left",
		    (long long)n, ubj_left(u));
		return NULL;
	}
	if ((s = json_stringn((const char *)u->p + u->pos, (size_t)n)) == NULL)
		ubj_fail(u, at, "string is not valid UTF-8");
	u->pos += (size_t)n;
	return s;
}

/* A high-precision number: a length-prefixed string spelling a number. */
static json_t *
ubj_high_precision(struct ubj *u, size_t at)
{
	json_t		*s, *v;
	json_error_t	 jerr;

	if ((s = ubj_string(u, at)) == NULL)
		return NULL;
	v = json_loadb(json_string_value(s), json_string_length(s),
	    JSON_DECODE_ANY, &jerr);
	if (v == NULL || !json_is_number(v)) {
		ubj_fail(u, at, "high-precision number \"%.40s\" is not a "
		    "number", json_string_value(s));
		json_decref(v);
		v = NULL;
	}
	json_decref(s);
	return v;
}

/*
 * After '[' or '{': read the optional '$' type and '#' count.  *type is 0
 * when untyped, *count -1 when uncounted.  A count is checked against the
 * bytes left: each element needs at least min_bytes (plus the type's size).
 */
static int
ubj_container_header(struct ubj *u, const char *what, size_t min_bytes,
    int *type, int64_t *count)
{
	size_t	 at, esize;
	char	 b[8];

	*type = 0;
	*count = -1;
	if (ubj_left(u) > 0 && u->p[u->pos] == '$') {
		at = ++u->pos;
		if (ubj_need(u, 1, "a container type") == -1)
			return -1;
		*type = u->p[u->pos++];
		if (ubj_numeric_size(*type) == 0) {
			ubj_fail(u, at, "%s of type %s: only numeric types are "
			    "supported", what, ubj_marker_name(*type, b,
			    sizeof(b)));
			return -1;
		}
		if (ubj_left(u) == 0 || u->p[u->pos] != '#') {
			ubj_fail(u, u->pos, "typed %s without a '#' count",
			    what);
			return -1;
		}
	}
	if (ubj_left(u) > 0 && u->p[u->pos] == '#') {
		at = u->pos++;
		if (ubj_length(u, "count", count) == -1)
			return -1;
		esize = min_bytes + (*type ? ubj_numeric_size(*type) : 1);
		if ((uint64_t)*count > ubj_left(u) / esize) {
			ubj_fail(u, at, "%s count %lld exceeds the %zu bytes "
			    "left", what, (long long)*count, ubj_left(u));
			return -1;
		}
	}
	return 0;
}

/* Skip no-op markers; return the next byte, or -1 at the end of input. */
static int
ubj_peek(struct ubj *u)
{
	while (u->pos < u->len && u->p[u->pos] == 'N')
		u->pos++;
	return u->pos < u->len ? u->p[u->pos] : -1;
}

/* One element of a container of the given type (0: marker-led). */
static json_t *
ubj_element(struct ubj *u, int type)
{
	size_t	 at = u->pos;
	json_t	*v;

	if (type == 0)
		return ubj_value(u);
	/* the header check guarantees the bytes are there */
	if ((v = ubj_numeric(u, type)) == NULL)
		ubj_fail(u, at, type == 'C' ? "char is not ASCII" :
		    "out of memory");
	return v;
}

/* The elements of an array whose '[' has been read. */
static json_t *
ubj_array(struct ubj *u, size_t at)
{
	json_t	*a, *v;
	int64_t	 count, i;
	int	 type;

	if (ubj_container_header(u, "array", 0, &type, &count) == -1)
		return NULL;
	if ((a = json_array()) == NULL)
		goto nomem;
	for (i = 0; count < 0 || i < count; i++) {
		if (count < 0) {
			if (ubj_peek(u) == -1) {
				ubj_fail(u, u->pos, "truncated: array opened "
				    "at byte %zu has no ']'", at);
				goto fail;
			}
			if (u->p[u->pos] == ']') {
				u->pos++;
				break;
			}
		}
		if ((v = ubj_element(u, type)) == NULL)
			goto fail;
		if (json_array_append_new(a, v) == -1)
			goto nomem;
	}
	return a;
nomem:
	ubj_fail(u, at, "out of memory");
fail:
	json_decref(a);
	return NULL;
}

/* One key and its value into object o; 0 or -1. */
static int
ubj_member(struct ubj *u, json_t *o, int type)
{
	size_t		 at = u->pos, klen;
	int64_t		 n;
	const char	*key;
	json_t		*v;

	if (ubj_length(u, "key length", &n) == -1)
		return -1;
	if ((uint64_t)n > ubj_left(u)) {
		ubj_fail(u, at, "key length %lld exceeds the %zu bytes left",
		    (long long)n, ubj_left(u));
		return -1;
	}
	key = (const char *)u->p + u->pos;
	klen = (size_t)n;
	u->pos += klen;
	if (json_object_getn(o, key, klen) != NULL) {
		ubj_fail(u, at, "duplicate key \"%.*s\"", (int)(klen > 64 ? 64 :
		    klen), key);
		return -1;
	}
	if ((v = ubj_element(u, type)) == NULL)
		return -1;
	if (json_object_setn_new(o, key, klen, v) == -1) {
		ubj_fail(u, at, "key is not valid UTF-8 (or out of memory)");
		return -1;
	}
	return 0;
}

/* The members of an object whose '{' has been read. */
static json_t *
ubj_object(struct ubj *u, size_t at)
{
	json_t	*o;
	int64_t	 count, i;
	int	 type;

	/* a member is at least a 2-byte key length and a 1-byte value */
	if (ubj_container_header(u, "object", 2, &type, &count) == -1)
		return NULL;
	if ((o = json_object()) == NULL) {
		ubj_fail(u, at, "out of memory");
		return NULL;
	}
	for (i = 0; count < 0 || i < count; i++) {
		if (count < 0) {
			if (ubj_peek(u) == -1) {
				ubj_fail(u, u->pos, "truncated: object opened "
				    "at byte %zu has no '}'", at);
				goto fail;
			}
			if (u->p[u->pos] == '}') {
				u->pos++;
				break;
			}
		}
		if (ubj_member(u, o, type) == -1)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* A container, one level deeper. */
static json_t *
ubj_container(struct ubj *u, int marker, size_t at)
{
	json_t	*v;

	if (u->depth >= UBJSON_MAX_DEPTH) {
		ubj_fail(u, at, "containers nested deeper than %d",
		    UBJSON_MAX_DEPTH);
		return NULL;
	}
	u->depth++;
	v = marker == '[' ? ubj_array(u, at) : ubj_object(u, at);
	u->depth--;
	return v;
}

/* One marker-led value, no-ops before it skipped. */
static json_t *
ubj_value(struct ubj *u)
{
	size_t	 at;
	int	 c;
	char	 b[8];

	if (ubj_peek(u) == -1) {
		ubj_fail(u, u->pos, "truncated: a value expected");
		return NULL;
	}
	at = u->pos;
	c = u->p[u->pos++];
	switch (c) {
	case 'Z':	return json_null();
	case 'T':	return json_true();
	case 'F':	return json_false();
	case 'S':	return ubj_string(u, at);
	case 'H':	return ubj_high_precision(u, at);
	case '[':	/* FALLTHROUGH */
	case '{':	return ubj_container(u, c, at);
	}
	if (ubj_numeric_size(c) == 0) {
		ubj_fail(u, at, "unknown marker %s", ubj_marker_name(c, b,
		    sizeof(b)));
		return NULL;
	}
	if (ubj_need(u, ubj_numeric_size(c), "a number") == -1)
		return NULL;
	return ubj_element(u, c);
}

/* Decode one UBJSON value; NULL with err filled on failure. */
json_t *
ubjson_decode(const void *buf, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct ubj	 u = { buf, len, 0, 0, name, err, errlen };
	json_t		*v;

	if (errlen > 0)
		err[0] = '\0';
	if ((v = ubj_value(&u)) == NULL) {
		ubj_fail(&u, u.pos, "out of memory");
		return NULL;
	}
	if (ubj_peek(&u) != -1) {
		ubj_fail(&u, u.pos, "%zu bytes of trailing data after the "
		    "value", ubj_left(&u));
		json_decref(v);
		return NULL;
	}
	return v;
}
