/*
 * infer_oip: the Open Inference Protocol (KServe v2) REST API for a
 * tabular model: inference requests and responses, model and server
 * metadata, model readiness.
 *
 * A request carries either one tensor of shape [rows, features] (any name
 * that is not a feature's), or one tensor per feature, named as the
 * model's features (feature_names, or XGBoost's f0, f1, ... without them),
 * each of shape [rows] or [rows, 1]; a feature with no tensor is missing
 * in every row.  Every numeric datatype of the protocol is taken, each
 * value checked against its datatype's range and then rounded to the
 * float32 the model computes in (FP16 values first to the nearest FP16,
 * since that is what the client's tensor holds); a LightGBM model, which
 * computes in double, also gets FP64 and integer values unrounded.  JSON
 * null marks a missing value in any datatype (inferd's extension: the
 * protocol's JSON cannot spell NaN).
 *
 * The outputs are a table, infer_oip_outs: "predict", FP32 (every value
 * an XGBoost model computes is a float32; FP64 for a LightGBM model,
 * whose values are doubles) of shape [rows] or [rows, outputs], for
 * every model, and "label", INT64 of shape [rows], the class a classifier
 * picks; each says in the metadata what its values are and, for a
 * classifier, the class labels of its columns.  A new output is one entry
 * there (and its INFER_OUT_ bit).  The version of the model is
 * the first INFER_VERSION_LEN hex digits of its file's SHA-256: it names
 * exactly the bytes that answered, and changes when SIGHUP loads others.
 */
#include "autoconf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "inferd/infer.h"
#include "infer/infer_impl.h"
#include "inferd/jsonutil.h"
#include "inferd/model.h"
#include "inferd/reply.h"

#define INFER_OUTPUT_NAME	"predict"
#define INFER_INPUT_NAME	"input-0"
#define INFER_SERVER_NAME	"inferd"
/* Nesting accepted in "data" beyond the flat list ([rows][features]). */
#define INFER_MAX_DATA_DEPTH	8
#define INFER_HINT	"{\"inputs\": [{\"name\": \"" INFER_INPUT_NAME "\", " \
	"\"shape\": [rows, features], \"datatype\": \"FP32\", \"data\": " \
	"[...]}]} or one tensor per feature, named as the model's features"
#define INFER_DTYPES	"BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, " \
	"INT32, INT64, FP16, FP32 or FP64"

/* A datatype of the protocol and what its JSON values may be. */
enum infer_kind {
	INFER_BOOL,
	INFER_INT,	/* a JSON integer in [min, max] */
	INFER_FP16,
	INFER_FP	/* a JSON number; FP32 and FP64 */
};

static const struct infer_dtype {
	const char	*name;
	enum infer_kind	 kind;
	long long	 min, max;
} infer_dtypes[] = {
	{ "BOOL",	INFER_BOOL,	0, 1 },
	{ "UINT8",	INFER_INT,	0, UINT8_MAX },
	{ "UINT16",	INFER_INT,	0, UINT16_MAX },
	{ "UINT32",	INFER_INT,	0, UINT32_MAX },
	/* jansson holds integers up to INT64_MAX: larger UINT64 values are
	 * refused as invalid JSON. */
	{ "UINT64",	INFER_INT,	0, INT64_MAX },
	{ "INT8",	INFER_INT,	INT8_MIN, INT8_MAX },
	{ "INT16",	INFER_INT,	INT16_MIN, INT16_MAX },
	{ "INT32",	INFER_INT,	INT32_MIN, INT32_MAX },
	{ "INT64",	INFER_INT,	INT64_MIN, INT64_MAX },
	{ "FP16",	INFER_FP16,	0, 0 },
	{ "FP32",	INFER_FP,	0, 0 },
	{ "FP64",	INFER_FP,	0, 0 },
};
#define INFER_NDTYPES	(sizeof(infer_dtypes) / sizeof(infer_dtypes[0]))

/* One input tensor of a request, checked. */
struct infer_tensor {
	const json_t		*json;
	const char		*name;
	const struct infer_dtype *dt;
	size_t			 rows;
	size_t			 feature;	/* per-feature tensors */
};

/* Where the values of one tensor go, and how far they have come. */
struct infer_flat {
	float			*x;
	double			*xd;		/* the same unrounded, or NULL */
	size_t			 stride;	/* between two values in x */
	size_t			 need;		/* values the shape holds */
	size_t			 cols;		/* per row; 1 per feature */
	size_t			 n;		/* values seen, may pass need */
	size_t			 i;		/* inputs[i] */
	const struct infer_dtype *dt;
	struct infer_error	*err;
};

/*
 * Round d to the nearest FP16 value (ties to even, as a conversion does)
 * into *out; -1 if it overflows FP16's range (largest 65504).
 */
static int
infer_half(double d, float *out)
{
	double	 a = fabs(d), q, r;
	int	 e;

	if (a < 0x1p-14)
		q = 0x1p-24;		/* subnormal: fixed spacing */
	else {
		(void)frexp(a, &e);	/* a = m * 2^e, 0.5 <= m < 1 */
		q = ldexp(1.0, e - 11);	/* 10 fraction bits */
	}
	r = nearbyint(a / q) * q;
	if (r > 65504.0)
		return -1;
	*out = (float)copysign(r, d);
	return 0;
}

/* Say where value f->n of tensor f->i is: "(row R, column C)" or
 * "(row R)". */
static const char *
infer_where(const struct infer_flat *f, char *buf, size_t len)
{
	if (f->cols > 1)
		snprintf(buf, len, "inputs[%zu].data: value %zu (row %zu, "
		    "column %zu)", f->i, f->n, f->n / f->cols, f->n % f->cols);
	else
		snprintf(buf, len, "inputs[%zu].data: value %zu (row %zu)",
		    f->i, f->n, f->n);
	return buf;
}

/* Convert one JSON value of datatype f->dt into *val. */
static int
infer_elem(struct infer_flat *f, const json_t *v, float *val)
{
	const struct infer_dtype *dt = f->dt;
	char			 w[96];
	long long		 iv;

	if (json_is_null(v)) {
		*val = NAN;
		return 0;
	}
	switch (dt->kind) {
	case INFER_BOOL:
		if (!json_is_boolean(v))
			return infer_fail(f->err, 400, "%s is %s; expected true, "
			    "false or null for BOOL", infer_where(f, w,
			    sizeof(w)), jsonutil_type_name(v, JSONUTIL_NUMBER));
		*val = json_is_true(v) ? 1.0f : 0.0f;
		return 0;
	case INFER_INT:
		if (!json_is_integer(v))
			return infer_fail(f->err, 400, "%s is %s; expected an "
			    "integer or null for %s", infer_where(f, w,
			    sizeof(w)), jsonutil_type_name(v,
			    JSONUTIL_INTEGER_REAL), dt->name);
		iv = json_integer_value(v);
		if (iv < dt->min || iv > dt->max)
			return infer_fail(f->err, 400, "%s: %lld is out of range "
			    "for %s (%lld to %lld)", infer_where(f, w,
			    sizeof(w)), iv, dt->name, dt->min, dt->max);
		*val = (float)iv;
		return 0;
	default:
		break;
	}
	if (!json_is_number(v))
		return infer_fail(f->err, 400, "%s is %s; expected a number or "
		    "null", infer_where(f, w, sizeof(w)),
		    jsonutil_type_name(v, JSONUTIL_NUMBER));
	if (dt->kind == INFER_FP16) {
		if (infer_half(json_number_value(v), val) == -1)
			return infer_fail(f->err, 400, "%s: %g does not fit FP16 "
			    "(largest 65504)", infer_where(f, w, sizeof(w)),
			    json_number_value(v));
		return 0;
	}
	if (infer_value(v, val) != 0 && f->xd == NULL)
		return infer_fail(f->err, 400, "%s: %g does not fit a 32-bit "
		    "float (the model computes in float32)", infer_where(f, w,
		    sizeof(w)), json_number_value(v));
	return 0;
}

/*
 * The double a value checked by infer_elem (val, as float32) gives a model
 * that computes in double: FP64 and integer data as they are, FP32 and
 * FP16 data rounded as declared (the client's tensor holds those).
 */
static double
infer_elem_double(const struct infer_flat *f, const json_t *v, float val)
{
	if (json_is_null(v))
		return NAN;
	if (f->dt->kind == INFER_INT)
		return (double)json_integer_value(v);
	if (f->dt->kind == INFER_FP && strcmp(f->dt->name, "FP64") == 0)
		return json_number_value(v);
	return (double)val;
}

/* Append the values of array a (nested up to INFER_MAX_DATA_DEPTH) in
 * row-major order. */
static int
infer_flatten(struct infer_flat *f, const json_t *a, int depth)
{
	size_t	 i;
	json_t	*v;
	float	 val;

	if (depth > INFER_MAX_DATA_DEPTH)
		return infer_fail(f->err, 400, "inputs[%zu].data: nested deeper "
		    "than [rows][features]", f->i);
	json_array_foreach(a, i, v) {
		if (json_is_array(v)) {
			if (infer_flatten(f, v, depth + 1) == -1)
				return -1;
			continue;
		}
		if (infer_elem(f, v, &val) == -1)
			return -1;
		if (f->n < f->need)
			f->x[f->n * f->stride] = val;
		if (f->n < f->need && f->xd != NULL)
			f->xd[f->n * f->stride] = infer_elem_double(f, v, val);
		f->n++;
	}
	return 0;
}

/*
 * The model's outputs.  has: whether this model has it (NULL: every
 * model); width: values per row (1: shape [rows]); data: append row r's
 * values from the model's predictions y; params: append the metadata's
 * "parameters" members (after a comma), or NULL.
 */
struct infer_oip_out {
	const char	*name;
	unsigned	 bit;		/* INFER_OUT_* */
	const char	*datatype;
	int		(*has)(const struct model *);
	size_t		(*width)(const struct model *);
	int		(*data)(struct evbuffer *, const struct model *,
			    const double *y, const size_t *labels, size_t r);
	int		(*params)(struct evbuffer *, const struct model *);
};

/* Whether the model is a classifier whose "predict" is probabilities:
 * one per class (multi:softprob) or of class 1 (binary:logistic).  Its
 * classes are 0 .. n-1, as XGBoost's XGBClassifier numbers them. */
static size_t
infer_oip_nclasses(const struct model *m)
{
	const char	*obj = model_objective(m);

	if (model_nclasses(m) > 0)	/* a classifier that names its classes */
		return model_nclasses(m);
	if (strcmp(obj, "multi:softprob") == 0)
		return model_noutputs(m);
	if (strcmp(obj, "binary:logistic") == 0 && model_noutputs(m) == 1)
		return 2;
	return 0;
}

static int
infer_oip_is_classifier(const struct model *m)
{
	return infer_oip_nclasses(m) > 0;
}

static size_t
infer_oip_width_one(const struct model *m)
{
	(void)m;
	return 1;
}

/* "predict": the model's outputs for row r. */
static int
infer_oip_predict_data(struct evbuffer *out, const struct model *m,
    const double *y, const size_t *labels, size_t r)
{
	size_t	 k, n = model_noutputs(m);
	int	 rc = 0;

	(void)labels;
	for (k = 0; k < n; k++) {
		if (k > 0)
			rc |= evbuffer_add(out, ",", 1);
		rc |= infer_add_number(out, y[r * n + k]);
	}
	return rc;
}

/* Class label k of a model that names its classes (an ONNX classifier):
 * a number (INT64) or a string (BYTES). */
static int
infer_oip_label(struct evbuffer *out, const struct model *m, size_t k)
{
	if (model_class_labels_int(m))
		return infer_add_str(out, model_class_label(m, k));
	return reply_json_string(out, model_class_label(m, k));
}

/*
 * "label": the class picked for row r.  A model that names its classes
 * picked it itself (labels, what ONNX Runtime's label output holds);
 * otherwise the first most probable class (numpy's argmax, as
 * XGBClassifier.predict), or probability > 0.5.
 */
static int
infer_oip_label_data(struct evbuffer *out, const struct model *m,
    const double *y, const size_t *labels, size_t r)
{
	size_t	 k, best = 0, n = model_noutputs(m);

	if (labels != NULL)
		return infer_oip_label(out, m, labels[r]);
	if (n == 1)
		return infer_add_size(out, y[r] > 0.5 ? 1 : 0);
	for (k = 1; k < n; k++)
		if (y[r * n + k] > y[r * n + best])
			best = k;
	return infer_add_size(out, best);
}

/* ,"class_labels":["0",...] for a classifier. */
static int
infer_oip_class_labels(struct evbuffer *out, const struct model *m)
{
	size_t	 k, n = infer_oip_nclasses(m);
	int	 rc = 0;

	for (k = 0; k < n; k++) {
		rc |= infer_add_str(out, k == 0 ? ",\"class_labels\":[" :
		    ",");
		if (model_nclasses(m) > 0) {	/* as ONNX names them */
			rc |= infer_oip_label(out, m, k);
			continue;
		}
		rc |= evbuffer_add(out, "\"", 1);
		rc |= infer_add_size(out, k);
		rc |= evbuffer_add(out, "\"", 1);
	}
	if (n > 0)
		rc |= evbuffer_add(out, "]", 1);
	return rc;
}

/* "predict"'s parameters: the objective, what the values are and, for
 * a classifier, its class labels. */
static int
infer_oip_predict_params(struct evbuffer *out, const struct model *m)
{
	const char	*obj = model_objective(m), *what;
	int		 rc = 0;

	if (strcmp(obj, "multi:softprob") == 0)
		what = "class probabilities";
	else if (strcmp(obj, "binary:logistic") == 0)
		what = "probability of class 1";
	else if (strcmp(obj, "multi:softmax") == 0)
		what = "class";
	else
		what = "model output";
	rc |= infer_add_str(out, ",\"objective\":");
	rc |= reply_json_string(out, obj);
	rc |= infer_add_str(out, ",\"content\":");
	rc |= reply_json_string(out, what);
	if (strcmp(obj, "multi:softprob") == 0 || model_nclasses(m) > 0)
		rc |= infer_oip_class_labels(out, m);
	return rc;
}

static const struct infer_oip_out infer_oip_outs[] = {
	{ INFER_OUTPUT_NAME, INFER_OUT_PREDICT, NULL, NULL, model_noutputs,
	    infer_oip_predict_data, infer_oip_predict_params },
	{ "label", INFER_OUT_LABEL, "INT64", infer_oip_is_classifier,
	    infer_oip_width_one, infer_oip_label_data,
	    infer_oip_class_labels },
};
#define INFER_OIP_NOUTS	(sizeof(infer_oip_outs) / sizeof(infer_oip_outs[0]))

/* Output o's datatype for model m: its own, or (NULL) the model's values'
 * (FP64 for a LightGBM model, FP32 for the others). */
static const char *
infer_oip_dtype(const struct infer_oip_out *o, const struct model *m)
{
	if (o->bit == INFER_OUT_LABEL && model_nclasses(m) > 0 &&
	    !model_class_labels_int(m))
		return "BYTES";		/* an ONNX classifier's string labels */
	if (o->datatype != NULL)
		return o->datatype;
	return model_wants_double(m) ? "FP64" : "FP32";
}

/* Whether model m has output o. */
static int
infer_oip_has(const struct infer_oip_out *o, const struct model *m)
{
	return o->has == NULL || o->has(m);
}

/* The names of m's outputs, for messages: "predict", "label". */
static void
infer_oip_out_names(const struct model *m, char *buf, size_t len)
{
	size_t	 i, o = 0;
	int	 n;

	buf[0] = '\0';
	for (i = 0; i < INFER_OIP_NOUTS; i++) {
		if (!infer_oip_has(&infer_oip_outs[i], m))
			continue;
		n = snprintf(buf + o, len - o, "%s\"%s\"", o == 0 ? "" : ", ",
		    infer_oip_outs[i].name);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += (size_t)n;
	}
}

/* Read the optional "outputs" into b->outputs: absent or [] is every
 * output the model has (as Triton does), else each must be named once. */
static int
infer_oip_outputs(const json_t *outs, const struct model *m,
    struct infer_batch *b, struct infer_error *err)
{
	size_t	 i, k;
	json_t	*o, *name, *p;
	char	 names[128];

	b->outputs = 0;
	for (k = 0; k < INFER_OIP_NOUTS; k++)
		if (infer_oip_has(&infer_oip_outs[k], m))
			b->outputs |= infer_oip_outs[k].bit;
	if (outs == NULL)
		return 0;
	if (!json_is_array(outs))
		return infer_fail(err, 400, "outputs: expected an array, got "
		    "%s", jsonutil_type_name(outs, JSONUTIL_NUMBER));
	if (json_array_size(outs) > 0)
		b->outputs = 0;
	infer_oip_out_names(m, names, sizeof(names));
	json_array_foreach(outs, i, o) {
		name = json_is_object(o) ? json_object_get(o, "name") : NULL;
		if (!json_is_string(name))
			return infer_fail(err, 400, "outputs[%zu]: expected "
			    "{\"name\": ...}, one of this model's outputs: %s",
			    i, names);
		for (k = 0; k < INFER_OIP_NOUTS; k++)
			if (infer_oip_has(&infer_oip_outs[k], m) &&
			    strcmp(json_string_value(name),
			    infer_oip_outs[k].name) == 0)
				break;
		if (k == INFER_OIP_NOUTS)
			return infer_fail(err, 400, "outputs[%zu].name: unknown "
			    "output \"%.64s\"; this model's outputs are %s", i,
			    json_string_value(name), names);
		if (b->outputs & infer_oip_outs[k].bit)
			return infer_fail(err, 400, "outputs[%zu].name: \"%s\" "
			    "asked for twice", i, infer_oip_outs[k].name);
		if ((p = json_object_get(o, "parameters")) != NULL &&
		    !json_is_object(p))
			return infer_fail(err, 400, "outputs[%zu].parameters: "
			    "expected an object", i);
		b->outputs |= infer_oip_outs[k].bit;
	}
	return 0;
}

/* The request's "id" (a string, echoed back) into b->id; the optional
 * "parameters" must be an object; "outputs" into b->outputs. */
static int
infer_oip_envelope(const json_t *root, const struct model *m,
    struct infer_batch *b, struct infer_error *err)
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
		b->has_id = 1;
	}
	if ((v = json_object_get(root, "parameters")) != NULL &&
	    !json_is_object(v))
		return infer_fail(err, 400, "parameters: expected an object, "
		    "got %s", jsonutil_type_name(v, JSONUTIL_NUMBER));
	return infer_oip_outputs(json_object_get(root, "outputs"), m, b, err);
}

/* Check inputs[i]'s name, datatype and parameters into t. */
static int
infer_oip_tensor(const json_t *in, size_t i, struct infer_tensor *t,
    struct infer_error *err)
{
	json_t	*v;
	size_t	 k;

	if (!json_is_object(in))
		return infer_fail(err, 400, "inputs[%zu]: expected an object, "
		    "got %s; send %s", i, jsonutil_type_name(in,
		    JSONUTIL_NUMBER), INFER_HINT);
	t->json = in;
	v = json_object_get(in, "name");
	if (!json_is_string(v))
		return infer_fail(err, 400, "inputs[%zu].name: missing or not a "
		    "string (use \"" INFER_INPUT_NAME "\" for a [rows, features] "
		    "tensor, or a feature's name)", i);
	t->name = json_string_value(v);
	v = json_object_get(in, "datatype");
	if (!json_is_string(v))
		return infer_fail(err, 400, "inputs[%zu].datatype: missing or "
		    "not a string (use one of " INFER_DTYPES ")", i);
	for (k = 0; k < INFER_NDTYPES; k++)
		if (strcmp(json_string_value(v), infer_dtypes[k].name) == 0)
			t->dt = &infer_dtypes[k];
	if (t->dt == NULL)
		return infer_fail(err, 400, "inputs[%zu].datatype: \"%.32s\" is "
		    "not supported; use one of " INFER_DTYPES, i,
		    json_string_value(v));
	if ((v = json_object_get(in, "parameters")) != NULL &&
	    !json_is_object(v))
		return infer_fail(err, 400, "inputs[%zu].parameters: expected "
		    "an object", i);
	return 0;
}

/*
 * Check inputs[i]'s shape: [rows, cols] when cols > 0 (the one tensor of
 * all features), else [rows] or [rows, 1] (one feature); 1 .. max_rows
 * rows.  Sets t->rows.
 */
static int
infer_oip_shape(struct infer_tensor *t, size_t i, size_t cols,
    size_t max_rows, struct infer_error *err)
{
	json_t		*shape = json_object_get(t->json, "shape"), *d;
	size_t		 k, n = json_array_size(shape);
	long long	 dim[2] = { 0, 1 };

	if (!json_is_array(shape) || n < 1 || n > 2)
		n = 0;
	json_array_foreach(shape, k, d) {
		if (n == 0 || !json_is_integer(d) ||
		    (dim[k] = json_integer_value(d)) < 0) {
			n = 0;
			break;
		}
	}
	if (n == 0 || (cols > 0 && n != 2))
		return cols > 0 ? infer_fail(err, 400, "inputs[%zu].shape: "
		    "expected [rows, features] with %zu features, e.g. [1, %zu]",
		    i, cols, cols) : infer_fail(err, 400, "inputs[%zu].shape: "
		    "expected [rows] or [rows, 1] for one feature", i);
	if (cols > 0 && (unsigned long long)dim[1] != cols)
		return infer_fail(err, 400, "inputs[%zu].shape: %lld features, "
		    "but the model takes %zu", i, dim[1], cols);
	if (cols == 0 && dim[1] != 1)
		return infer_fail(err, 400, "inputs[%zu].shape: a feature's "
		    "tensor is [rows] or [rows, 1], not [%lld, %lld]", i,
		    dim[0], dim[1]);
	if (dim[0] == 0)
		return infer_fail(err, 400, "inputs[%zu].shape: 0 rows; send at "
		    "least one row", i);
	if ((unsigned long long)dim[0] > max_rows)
		return infer_fail(err, 413, "inputs[%zu].shape: %lld rows, more "
		    "than the limit of %zu (max_batch_rows); split the batch",
		    i, dim[0], max_rows);
	t->rows = (size_t)dim[0];
	return 0;
}

/* Read tensor t (inputs[i]) into x, every stride-th float, as many values
 * as the shape holds (cols per row), and into xd as doubles unless NULL. */
static int
infer_oip_data(const struct infer_tensor *t, size_t i, float *x, double *xd,
    size_t stride, size_t cols, struct infer_error *err)
{
	json_t			*data = json_object_get(t->json, "data");
	struct infer_flat	 f;

	if (!json_is_array(data))
		return infer_fail(err, 400, "inputs[%zu].data: %s", i,
		    data != NULL ? "expected an array of numbers" :
		    json_object_get(json_object_get(t->json, "parameters"),
		    "binary_data_size") != NULL ? "missing (binary tensor data "
		    "is not supported; send JSON)" : "missing");
	memset(&f, 0, sizeof(f));
	f.x = x;
	f.xd = xd;
	f.stride = stride;
	f.need = t->rows * cols;
	f.cols = cols;
	f.i = i;
	f.dt = t->dt;
	f.err = err;
	if (infer_flatten(&f, data, 0) == -1)
		return -1;
	if (f.n != f.need)
		return infer_fail(err, 400, "inputs[%zu].data: %zu values, but "
		    "shape [%zu, %zu] needs %zu", i, f.n, t->rows, cols, f.need);
	return 0;
}

/*
 * Check every input tensor into t[] (n of them) and find the rows: the
 * one tensor of all features (*matrix set), or one tensor per feature,
 * each feature at most once, every tensor with the same rows.
 */
static int
infer_oip_inputs(const json_t *inputs, const struct model *m,
    size_t max_rows, struct infer_tensor *t, int *matrix, size_t *rows,
    struct infer_error *err)
{
	size_t	 i, k, n = json_array_size(inputs);

	for (i = 0; i < n; i++)
		if (infer_oip_tensor(json_array_get(inputs, i), i, &t[i],
		    err) == -1)
			return -1;
	*matrix = n == 1 && infer_feature_find(m, t[0].name, &k) == -1;
	if (*matrix) {
		if (infer_oip_shape(&t[0], 0, model_nfeatures(m), max_rows,
		    err) == -1)
			return -1;
		*rows = t[0].rows;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (infer_feature_find(m, t[i].name, &t[i].feature) == -1)
			return infer_fail(err, 400, "inputs[%zu].name: \"%.64s\" "
			    "is not a feature of the model; with several "
			    "inputs, each is one feature's tensor, named as "
			    "in GET /v2/models/{name}", i, t[i].name);
		for (k = 0; k < i; k++)
			if (t[k].feature == t[i].feature)
				return infer_fail(err, 400, "inputs[%zu].name: "
				    "feature \"%.64s\" given twice (also "
				    "inputs[%zu])", i, t[i].name, k);
		if (infer_oip_shape(&t[i], i, 0, max_rows, err) == -1)
			return -1;
		if (t[i].rows != t[0].rows)
			return infer_fail(err, 400, "inputs[%zu].shape: %zu "
			    "rows, but inputs[0] has %zu", i, t[i].rows,
			    t[0].rows);
	}
	*rows = t[0].rows;
	return 0;
}

/* Read the inputs' data into b->x, which this allocates (NaN where no
 * tensor gives a feature), and b->xd for a model that computes in double
 * (dbl); len is the body's size. */
static int
infer_oip_fill(const struct infer_tensor *t, size_t n, int matrix,
    size_t len, int dbl, struct infer_batch *b, struct infer_error *err)
{
	size_t	 i, given = matrix ? b->rows * b->cols : b->rows * n;

	/* n values take at least 2n - 1 bytes: do not allocate for a shape
	 * the body cannot fill. */
	if (given > len / 2 + 1)
		return infer_fail(err, 400, "inputs: a body of %zu bytes cannot "
		    "hold the %zu values the shapes declare", len, given);
	if ((b->x = malloc(b->rows * b->cols * sizeof(*b->x))) == NULL ||
	    (dbl && (b->xd = malloc(b->rows * b->cols *
	    sizeof(*b->xd))) == NULL))
		return infer_fail(err, 500, "out of memory for %zu rows",
		    b->rows);
	if (matrix)
		return infer_oip_data(&t[0], 0, b->x, b->xd, 1, b->cols, err);
	for (i = 0; i < b->rows * b->cols; i++) {
		b->x[i] = NAN;
		if (b->xd != NULL)
			b->xd[i] = NAN;
	}
	for (i = 0; i < n; i++)
		if (infer_oip_data(&t[i], i, b->x + t[i].feature,
		    b->xd != NULL ? b->xd + t[i].feature : NULL, b->cols, 1,
		    err) == -1)
			return -1;
	return 0;
}

/* Parse an OIP inference request; see infer_impl.h. */
int
infer_parse_oip(const char *body, size_t len, const struct model *m,
    size_t max_rows, struct infer_batch *b, struct infer_error *err)
{
	json_t			*root, *inputs;
	struct infer_tensor	*t = NULL;
	size_t			 n;
	int			 matrix;

	memset(b, 0, sizeof(*b));
	if ((root = infer_load(body, len, INFER_HINT, err)) == NULL)
		return -1;
	if (infer_oip_envelope(root, m, b, err) == -1)
		goto fail;
	inputs = json_object_get(root, "inputs");
	if (!json_is_array(inputs) || json_array_size(inputs) == 0) {
		infer_fail(err, 400, "inputs: %s; send %s", inputs == NULL ?
		    "missing" : json_is_array(inputs) ? "no input tensor" :
		    "expected an array", INFER_HINT);
		goto fail;
	}
	n = json_array_size(inputs);
	if ((t = calloc(n, sizeof(*t))) == NULL) {
		infer_fail(err, 500, "out of memory for %zu inputs", n);
		goto fail;
	}
	b->cols = model_nfeatures(m);
	if (infer_oip_inputs(inputs, m, max_rows, t, &matrix, &b->rows,
	    err) == -1 || infer_oip_fill(t, n, matrix, len,
	    model_wants_double(m), b, err) == -1)
		goto fail;
	free(t);
	json_decref(root);
	return 0;
fail:
	free(t);
	json_decref(root);
	free(b->x);
	free(b->xd);
	memset(b, 0, sizeof(*b));
	return -1;
}

/* The datatype of the model's inputs and outputs, as a JSON string: FP64
 * for a model that computes in double (LightGBM), else FP32. */
static const char *
infer_model_dtype(const struct model *m)
{
	return model_wants_double(m) ? "\"FP64\"" : "\"FP32\"";
}

/* Append the model's version (a JSON string's contents). */
static int
infer_add_version(struct evbuffer *out, const struct model *m)
{
	return evbuffer_add(out, model_sha256(m), INFER_VERSION_LEN);
}

/* Open output o's object, after a comma unless first: its name, datatype
 * and shape, [rows] or [rows, width] (-1 rows for any, in metadata). */
static int
infer_add_out_head(struct evbuffer *out, const struct infer_oip_out *o,
    const struct model *m, int first, size_t rows, int any_rows)
{
	int	 rc = 0;

	rc |= infer_add_str(out, first ? "{\"name\":\"" : ",{\"name\":\"");
	rc |= infer_add_str(out, o->name);
	rc |= infer_add_str(out, "\",\"datatype\":\"");
	rc |= infer_add_str(out, infer_oip_dtype(o, m));
	rc |= infer_add_str(out, "\",\"shape\":[");
	rc |= any_rows ? infer_add_str(out, "-1") : infer_add_size(out, rows);
	if (o->width(m) > 1) {
		rc |= evbuffer_add(out, ",", 1);
		rc |= infer_add_size(out, o->width(m));
	}
	rc |= evbuffer_add(out, "]", 1);
	return rc;
}

/* Format an OIP inference response; see infer_impl.h. */
int
infer_format_oip(struct evbuffer *out, const struct model *m,
    const struct infer_batch *b, const double *y)
{
	const struct infer_oip_out	*o;
	size_t				 k, r, n = b->rows * model_noutputs(m);
	size_t				*labels = NULL;
	double				*scratch;
	int				 rc = 0, first = 1;

	/* A model that picks its classes itself (an ONNX classifier) says
	 * which, from the rows predicted again (the label is asked for
	 * rarely). */
	if ((b->outputs & INFER_OUT_LABEL) && model_nclasses(m) > 0) {
		scratch = calloc(n + 1, sizeof(*scratch));
		labels = calloc(b->rows + 1, sizeof(*labels));
		if (scratch == NULL || labels == NULL) {
			free(scratch);
			free(labels);
			return -1;
		}
		model_predict_labels(m, b->x, b->rows, scratch, labels);
		free(scratch);
	}
	rc |= evbuffer_expand(out, 160 + n * 12);
	rc |= infer_add_str(out, "{\"model_name\":");
	rc |= reply_json_string(out, model_name(m));
	rc |= infer_add_str(out, ",\"model_version\":\"");
	rc |= infer_add_version(out, m);
	rc |= evbuffer_add(out, "\"", 1);
	if (b->has_id) {
		rc |= infer_add_str(out, ",\"id\":");
		rc |= reply_json_string(out, b->id);
	}
	rc |= infer_add_str(out, ",\"outputs\":[");
	for (k = 0; k < INFER_OIP_NOUTS; k++) {
		o = &infer_oip_outs[k];
		if (!(b->outputs & o->bit) || !infer_oip_has(o, m))
			continue;
		rc |= infer_add_out_head(out, o, m, first, b->rows, 0);
		first = 0;
		rc |= infer_add_str(out, ",\"data\":[");
		for (r = 0; r < b->rows; r++) {
			if (r > 0)
				rc |= evbuffer_add(out, ",", 1);
			rc |= o->data(out, m, y, labels, r);
		}
		rc |= infer_add_str(out, "]}");
	}
	rc |= infer_add_str(out, "]}");
	free(labels);
	return rc == 0 ? 0 : -1;
}

/*
 * Append the model's inputs: one tensor per feature (its name, and its
 * XGBoost type as parameters.feature_type) when the model has feature
 * names, else the one [-1, features] tensor (with parameters.feature_types
 * when the model has types).
 */
static int
infer_add_inputs(struct evbuffer *out, const struct model *m)
{
	size_t	 i, n = model_nfeatures(m);
	int	 rc = 0;

	if (model_feature_name(m, 0) == NULL) {
		rc |= infer_add_str(out, "{\"name\":\"" INFER_INPUT_NAME
		    "\",\"datatype\":");
		rc |= infer_add_str(out, infer_model_dtype(m));
		rc |= infer_add_str(out, ",\"shape\":[-1,");
		rc |= infer_add_size(out, n);
		rc |= evbuffer_add(out, "]", 1);
		for (i = 0; model_feature_type(m, 0) != NULL && i < n; i++) {
			rc |= infer_add_str(out, i == 0 ? ",\"parameters\":"
			    "{\"feature_types\":[" : ",");
			rc |= reply_json_string(out, model_feature_type(m, i));
		}
		if (model_feature_type(m, 0) != NULL)
			rc |= infer_add_str(out, "]}");
		return rc | evbuffer_add(out, "}", 1);
	}
	for (i = 0; i < n; i++) {
		rc |= infer_add_str(out, i == 0 ? "{\"name\":" : ",{\"name\":");
		rc |= reply_json_string(out, model_feature_name(m, i));
		rc |= infer_add_str(out, ",\"datatype\":");
		rc |= infer_add_str(out, infer_model_dtype(m));
		rc |= infer_add_str(out, ",\"shape\":[-1]");
		if (model_feature_type(m, i) != NULL) {
			rc |= infer_add_str(out, ",\"parameters\":"
			    "{\"feature_type\":");
			rc |= reply_json_string(out, model_feature_type(m, i));
			rc |= evbuffer_add(out, "}", 1);
		}
		rc |= evbuffer_add(out, "}", 1);
	}
	return rc;
}

/* Format OIP model metadata; see infer.h. */
int
infer_format_oip_metadata(struct evbuffer *out, const struct model *m)
{
	const struct infer_oip_out	*o;
	struct evbuffer			*tmp;
	size_t				 k;
	int				 rc = 0, first = 1;

	rc |= infer_add_str(out, "{\"name\":");
	rc |= reply_json_string(out, model_name(m));
	rc |= infer_add_str(out, ",\"versions\":[\"");
	rc |= infer_add_version(out, m);
	rc |= infer_add_str(out, "\"],\"platform\":");
	rc |= reply_json_string(out, model_platform(m));
	rc |= infer_add_str(out, ",\"inputs\":[");
	rc |= infer_add_inputs(out, m);
	rc |= infer_add_str(out, "],\"outputs\":[");
	for (k = 0; k < INFER_OIP_NOUTS; k++) {
		o = &infer_oip_outs[k];
		if (!infer_oip_has(o, m))
			continue;
		rc |= infer_add_out_head(out, o, m, first, 0, 1);
		first = 0;
		if (o->params != NULL) {
			/* the members start with a comma: drop it */
			rc |= infer_add_str(out, ",\"parameters\":{");
			if ((tmp = evbuffer_new()) == NULL ||
			    o->params(tmp, m) == -1) {
				rc = -1;
			} else if (evbuffer_get_length(tmp) > 0) {
				evbuffer_drain(tmp, 1);
				rc |= evbuffer_add_buffer(out, tmp);
			}
			if (tmp != NULL)
				evbuffer_free(tmp);
			rc |= evbuffer_add(out, "}", 1);
		}
		rc |= evbuffer_add(out, "}", 1);
	}
	rc |= infer_add_str(out, "]}");
	return rc == 0 ? 0 : -1;
}

/* Format OIP model readiness; see infer.h. */
int
infer_format_oip_ready(struct evbuffer *out, const struct model *m)
{
	return infer_add_ready(out, m);
}

/* Format OIP server metadata; see infer.h.  No extension of the protocol
 * is offered (binary tensor data, classification, ... are not). */
int
infer_format_oip_server(struct evbuffer *out)
{
	return infer_add_str(out, "{\"name\":\"" INFER_SERVER_NAME "\","
	    "\"version\":\"" PACKAGE_VERSION "\",\"extensions\":[]}") == 0 ?
	    0 : -1;
}

/* Whether v names the version served; see infer.h. */
int
infer_oip_version_is(const struct model *m, const char *v, size_t len)
{
	return len == INFER_VERSION_LEN &&
	    memcmp(v, model_sha256(m), INFER_VERSION_LEN) == 0;
}
