/*
 * infer: what the request formats share (see infer.h, infer_impl.h); the
 * dispatch by protocol is infer_proto.c's, above the formats.
 *
 * Requests are parsed with jansson; every error names the place in the
 * request that is wrong (instances[2][5], inputs[0].shape, ...) and what to
 * send instead.  Responses are written into an evbuffer: the numbers are
 * float32 values printed with the fewest digits that read back as the
 * same float32, so a client parsing them gets exactly what the model
 * computed.
 */
#include "autoconf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "inferd/infer.h"
#include "infer/infer_impl.h"
#include "inferd/jsonutil.h"
#include "inferd/model.h"
#include "inferd/numfmt.h"
#include "inferd/reply.h"

/* Fill err with status and a formatted message; return -1. */
int
infer_fail(struct infer_error *err, int status, const char *fmt, ...)
{
	va_list	 ap;

	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Refuse a body holding more values than any valid batch; see
 * infer_impl.h.  A valid /predict or v1 batch holds one object or array
 * per row and one value per feature; an OIP batch at most two values per
 * feature and row (one tensor per feature of shape [rows, 1] nests each
 * value in an array) plus a few per tensor (name, shape, datatype,
 * parameters).  The bounds are twice that and a constant, so that no
 * valid request comes near them, and they cut the values jansson may build
 * for a refusal to a small multiple of a valid maximum batch's: without
 * them a 1 MiB body of [{},{},...] builds 350,000 objects before its 413.
 */
int
infer_bound(const char *body, size_t len, const struct model *m,
    size_t max_rows, int oip, struct infer_error *err)
{
	struct jsonutil_census	 c;
	size_t			 cols = model_nfeatures(m);
	size_t			 max_values, max_objects;

	max_values = 2 * max_rows * (cols + 1) + 64;
	if (oip) {
		max_values += 16 * (cols + 1);
		max_objects = 2 * (cols + 1) + 64;
	} else
		max_objects = max_rows + 64;
	if (jsonutil_census(body, len, INFER_MAX_DEPTH, max_values,
	    &c) == -1) {
		if (c.depth > INFER_MAX_DEPTH)
			return infer_fail(err, 400, "request body nests more "
			    "than %d levels deep; no request needs that many",
			    INFER_MAX_DEPTH);
		return infer_fail(err, 413, "request body holds more than "
		    "%zu JSON values, more than a batch of max_batch_rows "
		    "(%zu) rows of %zu features needs; split the batch",
		    max_values, max_rows, cols);
	}
	if (c.objects > max_objects)
		return infer_fail(err, 413, "request body holds %zu JSON "
		    "objects, more than the %zu a batch of max_batch_rows "
		    "(%zu) rows needs; split the batch", c.objects,
		    max_objects, max_rows);
	return 0;
}

/* Parse body as a JSON object; see infer_impl.h. */
json_t *
infer_load(const char *body, size_t len, const char *hint,
    struct infer_error *err)
{
	json_error_t	 jerr;
	json_t		*root;

	if (len == 0) {
		infer_fail(err, 400, "empty request body; send %s", hint);
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		/*
		 * Out of memory is the server's failure, not the client's: a
		 * 500.  jansson says so with json_error_out_of_memory, or
		 * (when it cannot even start its lexer) with no error at all:
		 * line -1 and an empty text.
		 */
		if (json_error_code(&jerr) == json_error_out_of_memory ||
		    (jerr.line == -1 && jerr.text[0] == '\0'))
			infer_fail(err, 500, "out of memory parsing a request "
			    "body of %zu bytes", len);
		else
			infer_fail(err, 400, "invalid JSON at line %d, column "
			    "%d: %s; the body must be JSON: %s", jerr.line,
			    jerr.column, jerr.text, hint);
		return NULL;
	}
	if (!json_is_object(root)) {
		infer_fail(err, 400, "request body is %s; send %s",
		    jsonutil_type_name(root, JSONUTIL_NUMBER), hint);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* One JSON value to a feature; see infer_impl.h. */
int
infer_value(const json_t *v, float *out)
{
	double	 d;

	switch (json_typeof(v)) {
	case JSON_NULL:
		*out = NAN;
		return 0;
	case JSON_INTEGER:
		d = (double)json_integer_value(v);
		break;
	case JSON_REAL:
		d = json_real_value(v);
		break;
	default:
		return 1;
	}
	*out = (float)d;
	return isfinite(*out) ? 0 : 2;
}

/* The feature called name; see infer_impl.h. */
int
infer_feature_find(const struct model *m, const char *name, size_t *i)
{
	const char	*p;
	size_t		 n = 0;

	if (model_feature_name(m, 0) != NULL)
		return model_feature_find(m, name, i);
	/* XGBoost's default names: "f" and a decimal index, no leading 0. */
	if (name[0] != 'f' || name[1] < '0' || name[1] > '9' ||
	    (name[1] == '0' && name[2] != '\0'))
		return -1;
	for (p = name + 1; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (size_t)(*p - '0');
		if (n >= model_nfeatures(m))
			return -1;
	}
	if (*p != '\0')
		return -1;
	*i = n;
	return 0;
}

/* Read the object row (keyed by feature name) into x. */
static int
infer_row_object(const json_t *row, const char *path, size_t r,
    const struct model *m, float *x, double *xd, struct infer_error *err)
{
	const char	*key;
	json_t		*v;
	size_t		 c, cols = model_nfeatures(m);

	for (c = 0; c < cols; c++) {
		x[c] = NAN;
		if (xd != NULL)
			xd[c] = NAN;
	}
	json_object_foreach((json_t *)row, key, v) {
		if (infer_feature_find(m, key, &c) == -1)
			return infer_fail(err, 400, "%s (row %zu): unknown "
			    "feature \"%.64s\"; the model's features are %s",
			    path, r, key, model_feature_name(m, 0) != NULL ?
			    "in GET /v2/models/{name}" : "f0, f1, ... (it has "
			    "no feature_names)");
		switch (infer_value(v, &x[c])) {
		case 1:
			return infer_fail(err, 400, "%s.%.64s (row %zu, column "
			    "%zu): expected a number or null, got %s", path, key,
			    r, c, jsonutil_type_name(v, JSONUTIL_NUMBER));
		case 2:
			if (xd != NULL)
				break;
			return infer_fail(err, 400, "%s.%.64s (row %zu, column "
			    "%zu): %g does not fit a 32-bit float", path, key, r,
			    c, json_number_value(v));
		}
		if (xd != NULL)
			xd[c] = json_is_null(v) ? NAN : json_number_value(v);
	}
	return 0;
}

/* Read row r (a JSON array or object named path) into x; see
 * infer_impl.h. */
int
infer_row(const json_t *row, const char *path, size_t r,
    const struct model *m, float *x, double *xd, struct infer_error *err)
{
	size_t	 c, cols = model_nfeatures(m);
	json_t	*v;

	if (json_is_object(row))
		return infer_row_object(row, path, r, m, x, xd, err);
	if (!json_is_array(row))
		return infer_fail(err, 400, "%s (row %zu): expected an array of "
		    "%zu features or an object keyed by feature name, got %s",
		    path, r, cols, jsonutil_type_name(row, JSONUTIL_NUMBER));
	if (json_array_size(row) != cols)
		return infer_fail(err, 400, "%s (row %zu): expected %zu "
		    "features, got %zu", path, r, cols, json_array_size(row));
	json_array_foreach(row, c, v) {
		switch (infer_value(v, &x[c])) {
		case 1:
			return infer_fail(err, 400, "%s[%zu] (row %zu, column "
			    "%zu): expected a number or null, got %s", path, c,
			    r, c, jsonutil_type_name(v, JSONUTIL_NUMBER));
		case 2:
			if (xd != NULL)
				break;
			return infer_fail(err, 400, "%s[%zu] (row %zu, column "
			    "%zu): %g does not fit a 32-bit float", path, c, r,
			    c, json_number_value(v));
		}
		if (xd != NULL)
			xd[c] = json_is_null(v) ? NAN : json_number_value(v);
	}
	return 0;
}

/*
 * Append a prediction.  A float32 value (all of the model's outputs are)
 * gets the fewest digits that read back as the same float32; anything else
 * gets all 17 digits, which also read back exactly; NaN and infinities,
 * which JSON cannot spell, become null.
 */
int
infer_add_number(struct evbuffer *out, double v)
{
	char	 tmp[NUMFMT_LEN];
	float	 f;
	size_t	 n;

	if (!isfinite(v))
		return evbuffer_add(out, "null", 4);
	f = (float)v;
	if ((double)f == v)
		n = numfmt_float(tmp, f);
	else
		n = (size_t)snprintf(tmp, sizeof(tmp), "%.17g", v);
	return evbuffer_add(out, tmp, n);
}

/* Append v in decimal, without the printf family. */
int
infer_add_size(struct evbuffer *out, size_t v)
{
	char	 tmp[24], *p = tmp + sizeof(tmp);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return evbuffer_add(out, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* Append s as is. */
int
infer_add_str(struct evbuffer *out, const char *s)
{
	return evbuffer_add(out, s, strlen(s));
}

/* Append a model's readiness; see infer_impl.h. */
int
infer_add_ready(struct evbuffer *out, const struct model *m)
{
	int	 rc = 0;

	rc |= infer_add_str(out, "{\"name\":");
	rc |= reply_json_string(out, model_name(m));
	rc |= infer_add_str(out, ",\"ready\":true}");
	return rc == 0 ? 0 : -1;
}
