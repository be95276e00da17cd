/*
 * infer: request parsing and response formatting for POST /predict and for
 * the Open Inference Protocol (KServe v2) REST API.
 *
 * Requests are parsed with jansson; every error names the place in the
 * request that is wrong (instances[2][5], inputs[0].shape, ...) and what to
 * send instead.  Responses are written by hand into a growing buffer: the
 * numbers are float32 values printed with the fewest digits that read back
 * as the same float32, so a client parsing them gets exactly what the model
 * computed.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inferd/infer.h"
#include "inferd/jsonutil.h"
#include "inferd/model.h"
#include "inferd/numfmt.h"

/* OIP: the name of the one output and of the input the metadata shows. */
#define INFER_OUTPUT_NAME	"predict"
#define INFER_INPUT_NAME	"input-0"
#define INFER_PLATFORM		"xgboost_json"
/* Nesting accepted in OIP "data" beyond the flat list ([rows][features]). */
#define INFER_MAX_DATA_DEPTH	8

static int	infer_fail(struct infer_error *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Fill err with status and a formatted message; return -1. */
static int
infer_fail(struct infer_error *err, int status, const char *fmt, ...)
{
	va_list	 ap;

	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Parse body as a JSON object; 400 naming line and column if it is not. */
static json_t *
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
		infer_fail(err, 400, "invalid JSON at line %d, column %d: %s",
		    jerr.line, jerr.column, jerr.text);
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

/*
 * Turn one JSON value into a feature: a number (rounded to float32, as
 * XGBoost's DMatrix does) or null (missing, NaN).  Returns 0, or 1 if v is
 * not a number or null, or 2 if it does not fit a float32.
 */
static int
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

/* Read row r (a JSON array named path) of cols features into x. */
static int
infer_row(const json_t *row, const char *path, size_t r, size_t cols,
    float *x, struct infer_error *err)
{
	size_t	 c;
	json_t	*v;

	if (!json_is_array(row))
		return infer_fail(err, 400, "%s (row %zu): expected an array of "
		    "%zu features, got %s", path, r, cols, jsonutil_type_name(row, JSONUTIL_NUMBER));
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
			return infer_fail(err, 400, "%s[%zu] (row %zu, column "
			    "%zu): %g does not fit a 32-bit float", path, c, r,
			    c, json_number_value(v));
		}
	}
	return 0;
}

/* Parse a POST /predict body; see infer.h. */
int
infer_parse_predict(const char *body, size_t len, const struct model *m,
    size_t max_rows, struct infer_batch *b, struct infer_error *err)
{
	static const char	*hint = "{\"features\": [...]} for one row or "
	    "{\"instances\": [[...], ...]} for a batch";
	json_t			*root, *feat, *inst, *row;
	char			 path[32];
	size_t			 r, cols = model_nfeatures(m);

	memset(b, 0, sizeof(*b));
	if ((root = infer_load(body, len, hint, err)) == NULL)
		return -1;
	feat = json_object_get(root, "features");
	inst = json_object_get(root, "instances");
	if (feat != NULL && inst != NULL) {
		infer_fail(err, 400, "both \"features\" and \"instances\" "
		    "given; send %s", hint);
		goto fail;
	}
	if (feat == NULL && inst == NULL) {
		infer_fail(err, 400, "no \"features\" or \"instances\"; send %s",
		    hint);
		goto fail;
	}
	if (feat != NULL) {
		if (!json_is_array(feat)) {
			infer_fail(err, 400, "features: expected an array of "
			    "%zu numbers, got %s", cols, jsonutil_type_name(feat, JSONUTIL_NUMBER));
			goto fail;
		}
		b->rows = 1;
	} else {
		if (!json_is_array(inst)) {
			infer_fail(err, 400, "instances: expected an array of "
			    "rows, got %s", jsonutil_type_name(inst, JSONUTIL_NUMBER));
			goto fail;
		}
		b->rows = json_array_size(inst);
		if (b->rows == 0) {
			infer_fail(err, 400, "instances: empty batch; send at "
			    "least one row");
			goto fail;
		}
		if (b->rows > max_rows) {
			infer_fail(err, 413, "instances: %zu rows, more than "
			    "the limit of %zu (max_batch_rows); split the "
			    "batch", b->rows, max_rows);
			goto fail;
		}
	}
	b->cols = cols;
	if ((b->x = calloc(b->rows * cols, sizeof(*b->x))) == NULL) {
		infer_fail(err, 500, "out of memory for %zu rows", b->rows);
		goto fail;
	}
	if (feat != NULL) {
		if (infer_row(feat, "features", 0, cols, b->x, err) == -1)
			goto fail;
	} else {
		json_array_foreach(inst, r, row) {
			snprintf(path, sizeof(path), "instances[%zu]", r);
			if (infer_row(row, path, r, cols, b->x + r * cols,
			    err) == -1)
				goto fail;
		}
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	free(b->x);
	memset(b, 0, sizeof(*b));
	return -1;
}

/* State of the flattening of an OIP "data" array into the batch. */
struct infer_flat {
	float			*x;
	size_t			 need;	/* rows * cols */
	size_t			 cols;
	size_t			 n;	/* values seen, may pass need */
	struct infer_error	*err;
};

/* Append the numbers of array a (nested up to INFER_MAX_DATA_DEPTH) in
 * row-major order. */
static int
infer_flatten(struct infer_flat *f, const json_t *a, int depth)
{
	size_t	 i;
	json_t	*v;
	float	 val;

	if (depth > INFER_MAX_DATA_DEPTH)
		return infer_fail(f->err, 400, "inputs[0].data: nested deeper "
		    "than [rows][features]");
	json_array_foreach(a, i, v) {
		if (json_is_array(v)) {
			if (infer_flatten(f, v, depth + 1) == -1)
				return -1;
			continue;
		}
		switch (infer_value(v, &val)) {
		case 1:
			return infer_fail(f->err, 400, "inputs[0].data: value "
			    "%zu (row %zu, column %zu) is %s; expected a "
			    "number or null", f->n, f->n / f->cols,
			    f->n % f->cols, jsonutil_type_name(v, JSONUTIL_NUMBER));
		case 2:
			return infer_fail(f->err, 400, "inputs[0].data: value "
			    "%zu (row %zu, column %zu): %g does not fit a "
			    "32-bit float", f->n, f->n / f->cols,
			    f->n % f->cols, json_number_value(v));
		}
		if (f->n < f->need)
			f->x[f->n] = val;
		f->n++;
	}
	return 0;
}

/* Check the optional OIP "outputs": only "predict" may be asked for. */
static int
infer_oip_outputs(const json_t *outs, struct infer_error *err)
{
	size_t	 i;
	json_t	*o, *name;

	if (outs == NULL)
		return 0;
	if (!json_is_array(outs))
		return infer_fail(err, 400, "outputs: expected an array, got "
		    "%s", jsonutil_type_name(outs, JSONUTIL_NUMBER));
	json_array_foreach(outs, i, o) {
		name = json_is_object(o) ? json_object_get(o, "name") : NULL;
		if (!json_is_string(name))
			return infer_fail(err, 400, "outputs[%zu]: expected "
			    "{\"name\": \"" INFER_OUTPUT_NAME "\"}", i);
		if (strcmp(json_string_value(name), INFER_OUTPUT_NAME) != 0)
			return infer_fail(err, 400, "outputs[%zu].name: unknown "
			    "output \"%.64s\"; this model has one output, \""
			    INFER_OUTPUT_NAME "\"", i,
			    json_string_value(name));
	}
	return 0;
}

/* The OIP request's "id" (a string, echoed back) into b->id; the
 * optional "parameters" must be an object and "outputs" name "predict". */
static int
infer_oip_envelope(const json_t *root, struct infer_batch *b,
    struct infer_error *err)
{
	json_t	*v;

	if ((v = json_object_get(root, "id")) != NULL) {
		if (!json_is_string(v))
			return infer_fail(err, 400, "id: expected a string, got "
			    "%s", jsonutil_type_name(v, JSONUTIL_NUMBER));
		if (json_string_length(v) >= sizeof(b->id) ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return infer_fail(err, 400, "id: longer than %zu bytes "
			    "or holds a NUL", sizeof(b->id) - 1);
		memcpy(b->id, json_string_value(v), json_string_length(v) + 1);
	}
	if ((v = json_object_get(root, "parameters")) != NULL &&
	    !json_is_object(v))
		return infer_fail(err, 400, "parameters: expected an object, "
		    "got %s", jsonutil_type_name(v, JSONUTIL_NUMBER));
	return infer_oip_outputs(json_object_get(root, "outputs"), err);
}

/* The one input tensor of the request, with a name and a datatype of FP32
 * or FP64; NULL with err filled if there is not exactly one such. */
static json_t *
infer_oip_input(const json_t *root, const char *hint, struct infer_error *err)
{
	json_t		*inputs, *in, *v;
	const char	*dt;

	inputs = json_object_get(root, "inputs");
	if (!json_is_array(inputs)) {
		infer_fail(err, 400, "inputs: %s; send %s", inputs == NULL ?
		    "missing" : "expected an array", hint);
		return NULL;
	}
	if (json_array_size(inputs) != 1) {
		infer_fail(err, 400, "inputs: expected exactly one input "
		    "tensor, got %zu", json_array_size(inputs));
		return NULL;
	}
	in = json_array_get(inputs, 0);
	if (!json_is_object(in)) {
		infer_fail(err, 400, "inputs[0]: expected an object, got %s; "
		    "send %s", jsonutil_type_name(in, JSONUTIL_NUMBER), hint);
		return NULL;
	}
	if (!json_is_string(json_object_get(in, "name"))) {
		infer_fail(err, 400, "inputs[0].name: missing or not a "
		    "string (use \"" INFER_INPUT_NAME "\")");
		return NULL;
	}
	v = json_object_get(in, "datatype");
	if (!json_is_string(v)) {
		infer_fail(err, 400, "inputs[0].datatype: missing or not a "
		    "string (use \"FP32\" or \"FP64\")");
		return NULL;
	}
	dt = json_string_value(v);
	if (strcmp(dt, "FP32") != 0 && strcmp(dt, "FP64") != 0) {
		infer_fail(err, 400, "inputs[0].datatype: \"%.32s\" is not "
		    "supported; use \"FP32\" or \"FP64\"", dt);
		return NULL;
	}
	return in;
}

/* Check the input's shape, [rows, cols] with 1 .. max_rows rows, and set
 * *rows. */
static int
infer_oip_shape(const json_t *in, size_t cols, size_t max_rows, size_t *rows,
    struct infer_error *err)
{
	json_t		*shape = json_object_get(in, "shape");
	long long	 s0, s1;

	if (!json_is_array(shape) || json_array_size(shape) != 2 ||
	    !json_is_integer(json_array_get(shape, 0)) ||
	    !json_is_integer(json_array_get(shape, 1)) ||
	    (s0 = json_integer_value(json_array_get(shape, 0))) < 0 ||
	    (s1 = json_integer_value(json_array_get(shape, 1))) < 0)
		return infer_fail(err, 400, "inputs[0].shape: expected [rows, "
		    "features] with %zu features, e.g. [1, %zu]", cols, cols);
	if ((unsigned long long)s1 != cols)
		return infer_fail(err, 400, "inputs[0].shape: %lld features, "
		    "but the model takes %zu", s1, cols);
	if (s0 == 0)
		return infer_fail(err, 400, "inputs[0].shape: 0 rows; send at "
		    "least one row");
	if ((unsigned long long)s0 > max_rows)
		return infer_fail(err, 413, "inputs[0].shape: %lld rows, more "
		    "than the limit of %zu (max_batch_rows); split the batch",
		    s0, max_rows);
	*rows = (size_t)s0;
	return 0;
}

/* Read the input's "data" (flat or nested) into b->x, which this
 * allocates for b->rows x b->cols values; len is the body's size. */
static int
infer_oip_data(const json_t *in, size_t len, struct infer_batch *b,
    struct infer_error *err)
{
	json_t			*data = json_object_get(in, "data");
	struct infer_flat	 f;

	if (!json_is_array(data))
		return infer_fail(err, 400, "inputs[0].data: %s", data == NULL ?
		    "missing" : "expected an array of numbers");
	/* n values take at least 2n - 1 bytes: do not allocate for a shape
	 * the body cannot fill. */
	if (b->rows * b->cols > len / 2 + 1)
		return infer_fail(err, 400, "inputs[0].data: a body of %zu "
		    "bytes cannot hold the %zu values of shape [%zu, %zu]", len,
		    b->rows * b->cols, b->rows, b->cols);
	if ((b->x = calloc(b->rows * b->cols, sizeof(*b->x))) == NULL)
		return infer_fail(err, 500, "out of memory for %zu rows",
		    b->rows);
	f.x = b->x;
	f.need = b->rows * b->cols;
	f.cols = b->cols;
	f.n = 0;
	f.err = err;
	if (infer_flatten(&f, data, 0) == -1)
		return -1;
	if (f.n != f.need)
		return infer_fail(err, 400, "inputs[0].data: %zu values, but "
		    "shape [%zu, %zu] needs %zu", f.n, b->rows, b->cols, f.need);
	return 0;
}

/* Parse an OIP v2 inference request; see infer.h. */
int
infer_parse_oip(const char *body, size_t len, const struct model *m,
    size_t max_rows, struct infer_batch *b, struct infer_error *err)
{
	static const char	*hint = "{\"inputs\": [{\"name\": \""
	    INFER_INPUT_NAME "\", \"shape\": [rows, features], "
	    "\"datatype\": \"FP32\", \"data\": [...]}]}";
	json_t			*root, *in;
	size_t			 rows = 0;

	memset(b, 0, sizeof(*b));
	if ((root = infer_load(body, len, hint, err)) == NULL)
		return -1;
	if (infer_oip_envelope(root, b, err) == -1 ||
	    (in = infer_oip_input(root, hint, err)) == NULL ||
	    infer_oip_shape(in, model_nfeatures(m), max_rows, &rows,
	    err) == -1)
		goto fail;
	b->rows = rows;
	b->cols = model_nfeatures(m);
	if (infer_oip_data(in, len, b, err) == -1)
		goto fail;
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	free(b->x);
	memset(b, 0, sizeof(*b));
	return -1;
}

/* A growing output buffer; a failed allocation sticks (failed = 1). */
struct infer_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 failed;
};

/* Make room for n more bytes and the NUL. */
static int
infer_buf_reserve(struct infer_buf *b, size_t n)
{
	size_t	 cap;
	char	*p;

	if (b->failed)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	cap = b->cap > 0 ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Append n bytes. */
static void
infer_buf_add(struct infer_buf *b, const char *s, size_t n)
{
	if (infer_buf_reserve(b, n) == -1)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append a NUL-terminated string. */
static void
infer_buf_str(struct infer_buf *b, const char *s)
{
	infer_buf_add(b, s, strlen(s));
}

/* Append an unsigned integer. */
static void
infer_buf_size(struct infer_buf *b, size_t v)
{
	char	 tmp[24];
	int	 n;

	n = snprintf(tmp, sizeof(tmp), "%zu", v);
	infer_buf_add(b, tmp, (size_t)n);
}

/*
 * Append a prediction.  A float32 value (all of the model's outputs are)
 * gets the fewest digits that read back as the same float32; anything else
 * gets all 17 digits, which also read back exactly; NaN and infinities,
 * which JSON cannot spell, become null.
 */
static void
infer_buf_number(struct infer_buf *b, double v)
{
	char	 tmp[NUMFMT_LEN];
	float	 f;
	size_t	 n;

	if (!isfinite(v)) {
		infer_buf_add(b, "null", 4);
		return;
	}
	f = (float)v;
	if ((double)f == v)
		n = numfmt_float(tmp, f);
	else
		n = (size_t)snprintf(tmp, sizeof(tmp), "%.17g", v);
	infer_buf_add(b, tmp, n);
}

/* Whether s is valid UTF-8 (no overlong forms, no surrogates). */
static int
infer_utf8_valid(const unsigned char *s)
{
	unsigned	 c, min, need, i;

	while ((c = *s++) != 0) {
		if (c < 0x80)
			continue;
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
		for (i = 0; i < need; i++, s++) {
			if ((*s & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (*s & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
	}
	return 1;
}

/* Append s as a JSON string; bytes of invalid UTF-8 become '?'. */
static void
infer_buf_json_string(struct infer_buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	int			 utf8 = infer_utf8_valid(p);
	char			 tmp[8];

	infer_buf_add(b, "\"", 1);
	for (; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			infer_buf_add(b, "\\\"", 2);
			break;
		case '\\':
			infer_buf_add(b, "\\\\", 2);
			break;
		case '\n':
			infer_buf_add(b, "\\n", 2);
			break;
		case '\t':
			infer_buf_add(b, "\\t", 2);
			break;
		default:
			if (*p < 0x20) {
				snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
				infer_buf_add(b, tmp, 6);
			} else if (*p >= 0x80 && !utf8)
				infer_buf_add(b, "?", 1);
			else
				infer_buf_add(b, (const char *)p, 1);
		}
	}
	infer_buf_add(b, "\"", 1);
}

/* Hand over the buffer's string, or NULL if an allocation failed. */
static char *
infer_buf_finish(struct infer_buf *b)
{
	if (b->failed || b->p == NULL) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

/* Format {"predictions": [...]}; see infer.h. */
char *
infer_format_predict(const struct model *m, const double *y, size_t rows)
{
	struct infer_buf	 b = { NULL, 0, 0, 0 };
	size_t			 r, k, nout = model_noutputs(m);

	infer_buf_reserve(&b, 16 + rows * nout * 12);
	infer_buf_str(&b, "{\"predictions\":[");
	for (r = 0; r < rows; r++) {
		if (r > 0)
			infer_buf_add(&b, ",", 1);
		if (nout == 1) {
			infer_buf_number(&b, y[r]);
			continue;
		}
		infer_buf_add(&b, "[", 1);
		for (k = 0; k < nout; k++) {
			if (k > 0)
				infer_buf_add(&b, ",", 1);
			infer_buf_number(&b, y[r * nout + k]);
		}
		infer_buf_add(&b, "]", 1);
	}
	infer_buf_str(&b, "]}");
	return infer_buf_finish(&b);
}

/* Append the OIP shape of the output: [rows] or [rows, noutputs], with
 * rows == -1 for metadata. */
static void
infer_buf_out_shape(struct infer_buf *b, const struct model *m, size_t rows,
    int any_rows)
{
	infer_buf_str(b, "\"shape\":[");
	if (any_rows)
		infer_buf_str(b, "-1");
	else
		infer_buf_size(b, rows);
	if (model_noutputs(m) > 1) {
		infer_buf_add(b, ",", 1);
		infer_buf_size(b, model_noutputs(m));
	}
	infer_buf_add(b, "]", 1);
}

/* Format an OIP v2 inference response; see infer.h. */
char *
infer_format_oip(const struct model *m, const struct infer_batch *batch,
    const double *y)
{
	struct infer_buf	 b = { NULL, 0, 0, 0 };
	size_t			 i, n = batch->rows * model_noutputs(m);

	infer_buf_reserve(&b, 128 + n * 12);
	infer_buf_str(&b, "{\"model_name\":");
	infer_buf_json_string(&b, model_name(m));
	infer_buf_str(&b, ",\"id\":");
	infer_buf_json_string(&b, batch->id);
	infer_buf_str(&b, ",\"outputs\":[{\"name\":\"" INFER_OUTPUT_NAME
	    "\",\"datatype\":\"FP64\",");
	infer_buf_out_shape(&b, m, batch->rows, 0);
	infer_buf_str(&b, ",\"data\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			infer_buf_add(&b, ",", 1);
		infer_buf_number(&b, y[i]);
	}
	infer_buf_str(&b, "]}]}");
	return infer_buf_finish(&b);
}

/* Format OIP v2 model metadata; see infer.h. */
char *
infer_format_oip_metadata(const struct model *m)
{
	struct infer_buf	 b = { NULL, 0, 0, 0 };

	infer_buf_str(&b, "{\"name\":");
	infer_buf_json_string(&b, model_name(m));
	infer_buf_str(&b, ",\"versions\":[],\"platform\":\"" INFER_PLATFORM
	    "\",\"inputs\":[{\"name\":\"" INFER_INPUT_NAME "\",\"datatype\":"
	    "\"FP32\",\"shape\":[-1,");
	infer_buf_size(&b, model_nfeatures(m));
	infer_buf_str(&b, "]}],\"outputs\":[{\"name\":\"" INFER_OUTPUT_NAME
	    "\",\"datatype\":\"FP64\",");
	infer_buf_out_shape(&b, m, 0, 1);
	infer_buf_str(&b, "}]}");
	return infer_buf_finish(&b);
}

/* Format OIP model readiness; see infer.h. */
char *
infer_format_oip_ready(const struct model *m)
{
	struct infer_buf	 b = { NULL, 0, 0, 0 };

	infer_buf_str(&b, "{\"name\":");
	infer_buf_json_string(&b, model_name(m));
	infer_buf_str(&b, ",\"ready\":true}");
	return infer_buf_finish(&b);
}

/* Format {"error": msg}; see infer.h. */
char *
infer_format_error(const char *msg)
{
	struct infer_buf	 b = { NULL, 0, 0, 0 };

	infer_buf_str(&b, "{\"error\":");
	infer_buf_json_string(&b, msg);
	infer_buf_str(&b, "}");
	return infer_buf_finish(&b);
}
