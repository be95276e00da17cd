/*
 * model_err: the model loaders' error reporting and the two lookups every
 * part of the builder uses (model_build.h, model_impl.h).  A unit of its
 * own so that the builder and its parts (objective, linear, trees,
 * categories) all call down into it and never into each other in a circle.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inferd/jsonutil.h"
#include "model/model_build.h"
#include "model/model_impl.h"

/* Write "file: message" into the error buffer; see model_impl.h. */
int
model_fail(struct model_err *e, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (e->len == 0)
		return -1;
	n = snprintf(e->buf, e->len, "%s: ", e->file);
	if (n < 0 || (size_t)n >= e->len)
		return -1;
	/* A dart model's trees are one level down: name the real path. */
	if (e->gbm_path != NULL && strncmp(fmt, MODEL_GBM_PATH,
	    strlen(MODEL_GBM_PATH)) == 0) {
		n += snprintf(e->buf + n, e->len - (size_t)n, "%s",
		    e->gbm_path);
		if ((size_t)n >= e->len)
			return -1;
		fmt += strlen(MODEL_GBM_PATH);
	}
	va_start(ap, fmt);
	vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Member key of obj as an object; see model_build.h. */
json_t *
model_get_object(struct model_err *e, json_t *obj, const char *path,
    const char *key)
{
	json_t	*v = json_object_get(obj, key);

	if (v == NULL) {
		model_fail(e, "%s.%s: missing", path, key);
		return NULL;
	}
	if (!json_is_object(v)) {
		model_fail(e, "%s.%s: expected an object, got %s", path, key,
		    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
		return NULL;
	}
	return v;
}

/* A count parameter, string or integer; see model_build.h. */
int
model_get_count(struct model_err *e, json_t *obj, const char *path,
    const char *key, size_t dflt, size_t max, size_t *out)
{
	json_t			*v = json_object_get(obj, key);
	const char		*s;
	char			*end;
	unsigned long long	 n;

	if (v == NULL) {
		if (dflt == SIZE_MAX)
			return model_fail(e, "%s.%s: missing", path, key);
		*out = dflt;
		return 0;
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return model_fail(e, "%s.%s: negative value %lld",
			    path, key, (long long)json_integer_value(v));
		n = (unsigned long long)json_integer_value(v);
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		errno = 0;
		n = strtoull(s, &end, 10);
		if (*s < '0' || *s > '9' || *end != '\0' || errno != 0)
			return model_fail(e, "%s.%s: \"%s\" is not a count",
			    path, key, s);
	} else
		return model_fail(e, "%s.%s: expected a count, got %s", path,
		    key, jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
	if (n > max)
		return model_fail(e, "%s.%s: %llu is too large (limit %zu)",
		    path, key, n, max);
	*out = (size_t)n;
	return 0;
}
