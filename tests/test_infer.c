/*
 * test_infer: the wire formats of POST /predict and of the Open Inference
 * Protocol: parsing good requests, a corpus of malformed ones (each with
 * its status and message), and the exact response texts.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L	/* mkdtemp */
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "inferd/infer.h"
#include "inferd/model.h"
#include "inferd/reply.h"

/* A model of 3 features: one stump on feature 0 (< 0.5: -1, else +1). */
#define TINY_FMT \
	"{\"learner\":{\"gradient_booster\":{\"name\":\"gbtree\","	\
	"\"model\":{\"tree_info\":%s,\"trees\":[%s]}},"			\
	"\"learner_model_param\":{\"base_score\":\"5E-1\","		\
	"\"num_class\":\"%s\",\"num_feature\":\"3\"},"			\
	"\"objective\":{\"name\":\"%s\"}}}"
#define STUMP(lo, hi) \
	"{\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"	\
	"\"split_indices\":[0,0,0],\"split_conditions\":[0.5," lo "," hi "]," \
	"\"default_left\":[0,0,0]}"

static char		 tmpdir[] = "/tmp/test_infer.XXXXXX";
static struct model	*tiny;		/* binary:logistic, "tiny" */
static struct model	*tri;		/* multi:softprob, 3 classes */
static struct model	*named;		/* tiny with feature names, types */

#define NAMES	"\"feature_names\":[\"age\",\"bmi\",\"dose\"],"
#define TYPES	"\"feature_types\":[\"q\",\"c\",\"int\"],"

/* Write a model file in tmpdir and load it. */
static struct model *
load(const char *name, const char *text)
{
	char		 path[300], err[256];
	FILE		*fp;
	struct model	*m;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return NULL;
	fputs(text, fp);
	fclose(fp);
	m = model_load(path, err, sizeof(err));
	if (m == NULL)
		fprintf(stderr, "%s\n", err);
	unlink(path);
	return m;
}

/* Make the scratch directory and load both models. */
static int
setup(void **state)
{
	char	 text[2048];

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(text, sizeof(text), TINY_FMT, "[0]", STUMP("-1", "1"), "0",
	    "binary:logistic");
	if ((tiny = load("tiny.json", text)) == NULL)
		return -1;
	snprintf(text, sizeof(text), TINY_FMT, "[0,1,2]", STUMP("-1", "1")
	    "," STUMP("0", "0") "," STUMP("1", "-1"), "3", "multi:softprob");
	if ((tri = load("tri.json", text)) == NULL)
		return -1;
	snprintf(text, sizeof(text), TINY_FMT, "[0]", STUMP("-1", "1"), "0",
	    "binary:logistic");
	/* {"learner":{ NAMES TYPES ... */
	memmove(text + 12 + strlen(NAMES TYPES), text + 12,
	    strlen(text + 12) + 1);
	memcpy(text + 12, NAMES TYPES, strlen(NAMES TYPES));
	if ((named = load("named.json", text)) == NULL)
		return -1;
	return 0;
}

/* Free the models and remove the scratch directory. */
static int
teardown(void **state)
{
	(void)state;
	model_free(tiny);
	model_free(tri);
	model_free(named);
	return rmdir(tmpdir);
}

/* Parse body in protocol proto; it must succeed. */
static void
parse_ok(enum infer_proto proto, const char *body, const struct model *m,
    struct infer_batch *b)
{
	struct infer_error	 err;

	if (infer_parse(proto, body, strlen(body), m, 1000, b, &err) != 0)
		fail_msg("%s: %d %s", body, err.status, err.msg);
}

/* Parse body in protocol proto; it must fail with status and a message
 * holding want. */
static void
parse_bad(enum infer_proto proto, const char *body, const struct model *m,
    int status, const char *want)
{
	struct infer_batch	 b;
	struct infer_error	 err;

	memset(&err, 0, sizeof(err));
	if (infer_parse(proto, body, strlen(body), m, 1000, &b, &err) != -1)
		fail_msg("accepted: %s", body);
	if (err.status != status || strstr(err.msg, want) == NULL)
		fail_msg("%s: got %d \"%s\", want %d \"%s\"", body,
		    err.status, err.msg, status, want);
	assert_null(b.x);
	if (getenv("TEST_VERBOSE") != NULL)
		fprintf(stderr, "%d %s\n", err.status, err.msg);
}

/* A formatter's text as a malloc'd string (the buffer is freed). */
static char *
take(struct evbuffer *buf)
{
	size_t	 len = evbuffer_get_length(buf);
	char	*s = malloc(len + 1);

	assert_non_null(s);
	evbuffer_remove(buf, s, len);
	s[len] = '\0';
	evbuffer_free(buf);
	return s;
}

/* infer_format_predict's text. */
static char *
fmt_predict(const struct model *m, const double *y, size_t rows)
{
	struct evbuffer	*buf = evbuffer_new();

	assert_int_equal(infer_format_predict(buf, m, y, rows), 0);
	return take(buf);
}

/* infer_format's text for protocol proto. */
static char *
fmt(enum infer_proto proto, const struct model *m,
    const struct infer_batch *b, const double *y)
{
	struct evbuffer	*buf = evbuffer_new();

	assert_int_equal(infer_format(buf, proto, m, b, y), 0);
	return take(buf);
}

/* A metadata formatter's text. */
static char *
fmt_meta(int (*f)(struct evbuffer *, const struct model *),
    const struct model *m)
{
	struct evbuffer	*buf = evbuffer_new();

	assert_int_equal(f(buf, m), 0);
	return take(buf);
}

static void
test_predict_features(void **state)
{
	struct infer_batch	 b;

	(void)state;
	parse_ok(INFER_PREDICT, "{\"features\": [0.25, null, 7]}", tiny,
	    &b);
	assert_int_equal(b.rows, 1);
	assert_int_equal(b.cols, 3);
	assert_true(b.x[0] == 0.25f);
	assert_true(isnan(b.x[1]));
	assert_true(b.x[2] == 7.0f);
	assert_string_equal(b.id, "");
	free(b.x);
	/* doubles are rounded to float32 as numpy's astype(float32) does */
	parse_ok(INFER_PREDICT, "{\"features\": [0.1, -1e-3, "
	    "16777217], \"extra\": true}", tiny, &b);
	assert_true(b.x[0] == 0.1f);
	assert_true(b.x[1] == (float)-1e-3);
	assert_true(b.x[2] == 16777216.0f);
	free(b.x);
}

static void
test_predict_instances(void **state)
{
	struct infer_batch	 b;
	double			 y[3];
	char			*s;

	(void)state;
	parse_ok(INFER_PREDICT, "{\"instances\": [[0, 0, 0], "
	    "[1, 1, 1], [null, null, null]]}", tiny, &b);
	assert_int_equal(b.rows, 3);
	assert_true(b.x[3] == 1.0f);
	assert_true(isnan(b.x[8]));
	model_predict(tiny, b.x, b.rows, y);
	s = fmt_predict(tiny, y, b.rows);
	assert_string_equal(s, "{\"predictions\":[0.26894143,0.7310586,"
	    "0.7310586]}");
	free(s);
	free(b.x);
}

/* A malformed request and what it must get back. */
struct bad_request {
	const char	*body;
	int		 status;
	const char	*want;
};

static const struct bad_request bad_predict[] = {
	{ "", 400, "empty request body" },
	{ "{\"features\": [1, 2, 3]", 400, "invalid JSON at line 1, column "
	    "22: " },
	{ "{\"features\":\n [1, 2,, 3]}", 400, "invalid JSON at line 2, "
	    "column 8" },
	{ "[1, 2, 3]", 400, "request body is an array; send {\"features\"" },
	{ "{}", 400, "no \"features\" or \"instances\"" },
	{ "{\"feature\": [1, 2, 3]}", 400, "no \"features\" or \"instances\"" },
	{ "{\"features\": [1, 2, 3], \"instances\": [[1, 2, 3]]}", 400,
	    "both \"features\" and \"instances\"" },
	{ "{\"features\": [1, 2]}", 400, "features (row 0): expected 3 "
	    "features, got 2" },
	{ "{\"features\": [1, 2, 3, 4]}", 400, "expected 3 features, got 4" },
	{ "{\"features\": \"1,2,3\"}", 400, "features: expected an array of 3 "
	    "numbers or an object keyed by feature name, got a string" },
	{ "{\"features\": {\"f0\": 1, \"f3\": 2}}", 400, "features (row 0): "
	    "unknown feature \"f3\"; the model's features are f0, f1, ..." },
	{ "{\"features\": {\"f01\": 1}}", 400, "unknown feature \"f01\"" },
	{ "{\"instances\": [[1, 2, 3], {\"f1\": \"x\"}]}", 400,
	    "instances[1].f1 (row 1, column 1): expected a number or null, got "
	    "a string" },
	{ "{\"features\": [1, \"2\", 3]}", 400, "features[1] (row 0, column "
	    "1): expected a number or null, got a string" },
	{ "{\"features\": [1, true, 3]}", 400, "got a boolean" },
	{ "{\"features\": [[1, 2, 3]]}", 400, "expected 3 features, got 1" },
	{ "{\"features\": [1, 2, 1e39]}", 400, "features[2] (row 0, column 2): "
	    "1e+39 does not fit a 32-bit float" },
	{ "{\"features\": [1, 2, NaN]}", 400, "invalid JSON" },
	{ "{\"instances\": []}", 400, "instances: empty batch" },
	{ "{\"instances\": {}}", 400, "instances: expected an array of rows, "
	    "got an object" },
	{ "{\"instances\": [1, 2, 3]}", 400, "instances[0] (row 0): expected "
	    "an array of 3 features or an object keyed by feature name, got a "
	    "number" },
	{ "{\"instances\": [[1, 2, 3], [1, 2]]}", 400, "instances[1] (row 1): "
	    "expected 3 features, got 2" },
	{ "{\"instances\": [[1, 2, 3], [1, 2, {}]]}", 400, "instances[1][2] "
	    "(row 1, column 2): expected a number or null, got an object" },
	{ "{\"features\": [1, 2, 3], \"features\": [1, 2, 3]}", 400,
	    "duplicate object key" },
	{ "{\"features\": [1, 2, 3]} trailing", 400, "invalid JSON" },
};

static void
test_predict_malformed(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad_predict) / sizeof(bad_predict[0]); i++)
		parse_bad(INFER_PREDICT, bad_predict[i].body, tiny,
		    bad_predict[i].status, bad_predict[i].want);
}

static void
test_predict_too_many_rows(void **state)
{
	struct infer_batch	 b;
	struct infer_error	 err;
	const char		*body = "{\"instances\": [[1,2,3],[1,2,3],"
	    "[1,2,3]]}";

	(void)state;
	assert_int_equal(infer_parse(INFER_PREDICT, body, strlen(body), tiny, 2,
	    &b, &err), -1);
	assert_int_equal(err.status, 413);
	assert_string_equal(err.msg, "instances: 3 rows, more than the limit "
	    "of 2 (max_batch_rows); split the batch");
	assert_int_equal(infer_parse(INFER_PREDICT, body, strlen(body), tiny, 3,
	    &b, &err), 0);
	free(b.x);
}

static void
test_format_numbers(void **state)
{
	const double	 y[] = { 0.5, (double)0.1f, (double)(1.0f / 3.0f),
	    NAN, 0.1, -0.0, 1e-30, (double)3.4028235e38f, 2.0 };
	char		*s;

	(void)state;
	s = fmt_predict(tiny, y, sizeof(y) / sizeof(y[0]));
	assert_string_equal(s, "{\"predictions\":[0.5,0.1,0.33333334,null,"
	    "0.10000000000000001,-0,1.0000000000000001e-30,3.4028235e+38,2]}");
	free(s);
	s = fmt_predict(tiny, y, 0);
	assert_string_equal(s, "{\"predictions\":[]}");
	free(s);
}

static void
test_format_multiclass(void **state)
{
	struct infer_batch	 b;
	double			 y[6];
	char			*s;
	json_t			*j;

	(void)state;
	assert_int_equal(model_noutputs(tri), 3);
	parse_ok(INFER_PREDICT, "{\"instances\": [[0, 0, 0], [1, 0, "
	    "0]]}", tri, &b);
	model_predict(tri, b.x, b.rows, y);
	s = fmt_predict(tri, y, b.rows);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "predictions")),
	    2);
	assert_int_equal(json_array_size(json_array_get(json_object_get(j,
	    "predictions"), 0)), 3);
	json_decref(j);
	/* margins (-1, 0, 1) and (1, 0, -1): softmax of them */
	assert_string_equal(s, "{\"predictions\":[[0.09003057,0.24472848,"
	    "0.66524094],[0.66524094,0.24472848,0.09003057]]}");
	free(s);
	free(b.x);
}

/* The OIP response's head for model m: name and version. */
static const char *
oip_head(const struct model *m)
{
	static char	 buf[128];

	snprintf(buf, sizeof(buf), "{\"model_name\":\"%s\",\"model_version\":"
	    "\"%.12s\"", model_name(m), model_sha256(m));
	return buf;
}

static void
test_oip_parse(void **state)
{
	struct infer_batch	 b;
	double			 y[2];
	char			*s, want[512];

	(void)state;
	parse_ok(INFER_OIP, "{\"id\": \"req-1\", \"inputs\": [{\"name\": "
	    "\"input-0\", \"shape\": [2, 3], \"datatype\": \"FP32\", "
	    "\"data\": [0, 0, 0, 1, null, 2.5]}]}", tiny, &b);
	assert_int_equal(b.rows, 2);
	assert_int_equal(b.cols, 3);
	assert_true(b.has_id);
	assert_string_equal(b.id, "req-1");
	assert_true(isnan(b.x[4]));
	assert_true(b.x[5] == 2.5f);
	model_predict(tiny, b.x, b.rows, y);
	s = fmt(INFER_OIP, tiny, &b, y);
	snprintf(want, sizeof(want), "%s,\"id\":\"req-1\",\"outputs\":[{"
	    "\"name\":\"predict\",\"datatype\":\"FP32\",\"shape\":[2],"
	    "\"data\":[0.26894143,0.7310586]}]}", oip_head(tiny));
	assert_string_equal(s, want);
	free(s);
	free(b.x);
	/* nested data, FP64, parameters and outputs, no id: none echoed */
	parse_ok(INFER_OIP, "{\"parameters\": {}, \"inputs\": [{\"name\": "
	    "\"x\", \"shape\": [2, 3], \"datatype\": \"FP64\", \"parameters\": "
	    "{}, \"data\": [[0, 0, 0], [1, 1, 1]]}], \"outputs\": [{\"name\": "
	    "\"predict\", \"parameters\": {\"binary_data\": false}}]}", tiny,
	    &b);
	assert_false(b.has_id);
	assert_true(b.x[3] == 1.0f);
	assert_int_equal(b.outputs, INFER_OUT_PREDICT);
	model_predict(tiny, b.x, b.rows, y);
	s = fmt(INFER_OIP, tiny, &b, y);
	assert_null(strstr(s, "\"id\""));
	free(s);
	free(b.x);
	/* an empty id is echoed; "outputs": [] is every output */
	parse_ok(INFER_OIP, "{\"id\": \"\", \"outputs\": [], \"inputs\": [{"
	    "\"name\": \"x\", \"shape\": [1, 3], \"datatype\": \"FP32\", "
	    "\"data\": [0, 0, 0]}]}", tiny, &b);
	assert_int_equal(b.outputs, INFER_OUT_PREDICT);
	model_predict(tiny, b.x, b.rows, y);
	s = fmt(INFER_OIP, tiny, &b, y);
	assert_non_null(strstr(s, ",\"id\":\"\",\"outputs\":[{\"name\":"
	    "\"predict\""));
	free(s);
	free(b.x);
}

static void
test_oip_format(void **state)
{
	struct infer_batch	 b;
	double			 y[3] = { 0.25, 0.5, 0.25 };
	char			*s, want[512];
	struct evbuffer		*buf;

	(void)state;
	memset(&b, 0, sizeof(b));
	b.rows = 1;
	b.cols = 3;
	b.has_id = 1;
	b.outputs = INFER_OUT_PREDICT;
	strcpy(b.id, "a\"b\\c");
	s = fmt(INFER_OIP, tri, &b, y);
	snprintf(want, sizeof(want), "%s,\"id\":\"a\\\"b\\\\c\",\"outputs\":"
	    "[{\"name\":\"predict\",\"datatype\":\"FP32\",\"shape\":[1,3],"
	    "\"data\":[0.25,0.5,0.25]}]}", oip_head(tri));
	assert_string_equal(s, want);
	free(s);
	s = fmt_meta(infer_format_oip_metadata, tiny);
	snprintf(want, sizeof(want), "{\"name\":\"tiny\",\"versions\":"
	    "[\"%.12s\"],\"platform\":\"xgboost\",\"inputs\":[{\"name\":"
	    "\"input-0\",\"datatype\":\"FP32\",\"shape\":[-1,3]}],\"outputs\":"
	    "[{\"name\":\"predict\",\"datatype\":\"FP32\",\"shape\":[-1]}]}",
	    model_sha256(tiny));
	assert_string_equal(s, want);
	free(s);
	s = fmt_meta(infer_format_oip_metadata, tri);
	assert_non_null(strstr(s, "\"outputs\":[{\"name\":\"predict\","
	    "\"datatype\":\"FP32\",\"shape\":[-1,3]}]}"));
	free(s);
	/* with feature names: one input per feature, with its type */
	s = fmt_meta(infer_format_oip_metadata, named);
	assert_non_null(strstr(s, "\"inputs\":[{\"name\":\"age\",\"datatype\":"
	    "\"FP32\",\"shape\":[-1],\"parameters\":{\"feature_type\":\"q\"}},"
	    "{\"name\":\"bmi\",\"datatype\":\"FP32\",\"shape\":[-1],"
	    "\"parameters\":{\"feature_type\":\"c\"}},{\"name\":\"dose\","
	    "\"datatype\":\"FP32\",\"shape\":[-1],\"parameters\":"
	    "{\"feature_type\":\"int\"}}],"));
	free(s);
	s = fmt_meta(infer_format_oip_ready, tiny);
	assert_string_equal(s, "{\"name\":\"tiny\",\"ready\":true}");
	free(s);
	s = fmt_meta(infer_format_v1_status, tiny);
	assert_string_equal(s, "{\"name\":\"tiny\",\"ready\":true}");
	free(s);
	buf = evbuffer_new();
	assert_int_equal(infer_format_oip_server(buf), 0);
	s = take(buf);
	assert_non_null(strstr(s, "{\"name\":\"inferd\",\"version\":\""));
	assert_non_null(strstr(s, "\",\"extensions\":[]}"));
	free(s);
	assert_true(infer_oip_version_is(tiny, model_sha256(tiny), 12));
	assert_false(infer_oip_version_is(tiny, model_sha256(tiny), 11));
	assert_false(infer_oip_version_is(tiny, "1", 1));
}

static const struct bad_request bad_oip[] = {
	{ "", 400, "empty request body" },
	{ "{\"inputs\": [}", 400, "invalid JSON at line 1, column 13" },
	{ "42", 400, "invalid JSON" },
	{ "[]", 400, "request body is an array; send {\"inputs\"" },
	{ "{}", 400, "inputs: missing" },
	{ "{\"inputs\": {}}", 400, "inputs: expected an array" },
	{ "{\"inputs\": []}", 400, "inputs: no input tensor" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 3], \"datatype\": "
	    "\"FP32\", \"data\": [1, 2, 3]}, {\"name\": \"b\", \"shape\": [1, "
	    "3], \"datatype\": \"FP32\", \"data\": [1, 2, 3]}]}", 400,
	    "inputs[0].name: \"a\" is not a feature of the model; with several "
	    "inputs, each is one feature's tensor" },
	{ "{\"inputs\": [7]}", 400, "inputs[0]: expected an object, got a "
	    "number" },
	{ "{\"inputs\": [{\"shape\": [1, 3], \"datatype\": \"FP32\", "
	    "\"data\": [1, 2, 3]}]}", 400, "inputs[0].name: missing" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 3], \"data\": "
	    "[1, 2, 3]}]}", 400, "inputs[0].datatype: missing" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 3], \"datatype\": "
	    "\"INT128\", \"data\": [1, 2, 3]}]}", 400, "inputs[0].datatype: "
	    "\"INT128\" is not supported; use one of BOOL, UINT8, " },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 3], \"datatype\": "
	    "\"BYTES\", \"data\": [\"x\"]}]}", 400, "\"BYTES\" is not "
	    "supported" },
	{ "{\"inputs\": [{\"name\": \"a\", \"datatype\": \"FP32\", \"data\": "
	    "[1, 2, 3]}]}", 400, "inputs[0].shape: expected [rows, features] "
	    "with 3 features, e.g. [1, 3]" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [3], \"datatype\": "
	    "\"FP32\", \"data\": [1, 2, 3]}]}", 400, "inputs[0].shape: "
	    "expected [rows, features]" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, -3], \"datatype\": "
	    "\"FP32\", \"data\": [1, 2, 3]}]}", 400, "inputs[0].shape: "
	    "expected [rows, features]" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 2.5], \"datatype\": "
	    "\"FP32\", \"data\": [1, 2, 3]}]}", 400, "inputs[0].shape: "
	    "expected [rows, features]" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 4], \"datatype\": "
	    "\"FP32\", \"data\": [1, 2, 3, 4]}]}", 400, "inputs[0].shape: 4 "
	    "features, but the model takes 3" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [0, 3], \"datatype\": "
	    "\"FP32\", \"data\": []}]}", 400, "inputs[0].shape: 0 rows" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [5000, 3], \"datatype\": "
	    "\"FP32\", \"data\": []}]}", 413, "inputs[0].shape: 5000 rows, "
	    "more than the limit of 1000 (max_batch_rows)" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [2, 3], \"datatype\": "
	    "\"FP32\", \"data\": [1, 2, 3]}]}", 400, "inputs[0].data: 3 values, "
	    "but shape [2, 3] needs 6" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 3], \"datatype\": "
	    "\"FP32\", \"data\": [1, 2, 3, 4, 5]}]}", 400, "inputs[0].data: 5 "
	    "values, but shape [1, 3] needs 3" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 3], \"datatype\": "
	    "\"FP32\"}]}", 400, "inputs[0].data: missing" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 3], \"datatype\": "
	    "\"FP32\", \"data\": \"1,2,3\"}]}", 400, "inputs[0].data: expected "
	    "an array of numbers" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [2, 3], \"datatype\": "
	    "\"FP32\", \"data\": [1, 2, 3, 4, \"5\", 6]}]}", 400,
	    "inputs[0].data: value 4 (row 1, column 1) is a string; expected a "
	    "number or null" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 3], \"datatype\": "
	    "\"FP32\", \"data\": [[[[[[[[[[1, 2, 3]]]]]]]]]]}]}", 400,
	    "nested deeper than [rows][features]" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 3], \"datatype\": "
	    "\"FP32\", \"data\": [1, 2, -1e300]}]}", 400, "value 2 (row 0, "
	    "column 2): -1e+300 does not fit a 32-bit float" },
	{ "{\"id\": 5, \"inputs\": []}", 400, "id: expected a string, got a "
	    "number" },
	{ "{\"id\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxx\", \"inputs\": []}", 400, "id: longer than "
	    "127 bytes" },
	{ "{\"parameters\": [], \"inputs\": []}", 400, "parameters: expected "
	    "an object, got an array" },
	{ "{\"outputs\": [{\"name\": \"proba\"}], \"inputs\": []}", 400,
	    "outputs[0].name: unknown output \"proba\"; this model has one "
	    "output, \"predict\"" },
	{ "{\"outputs\": [\"predict\"], \"inputs\": []}", 400, "outputs[0]: "
	    "expected {\"name\": \"predict\"}" },
	{ "{\"outputs\": {}, \"inputs\": []}", 400, "outputs: expected an "
	    "array" },
};

static void
test_oip_malformed(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad_oip) / sizeof(bad_oip[0]); i++)
		parse_bad(INFER_OIP, bad_oip[i].body, tiny, bad_oip[i].status,
		    bad_oip[i].want);
}

/* Parse one tensor of datatype dt holding the JSON values vals (3 of
 * them: one row of tiny) into x[0..2]. */
static void
oip_dtype(const char *dt, const char *vals, float x[3])
{
	struct infer_batch	 b;
	char			 body[512];

	snprintf(body, sizeof(body), "{\"inputs\": [{\"name\": \"in\", "
	    "\"shape\": [1, 3], \"datatype\": \"%s\", \"data\": [%s]}]}", dt,
	    vals);
	parse_ok(INFER_OIP, body, tiny, &b);
	memcpy(x, b.x, 3 * sizeof(*x));
	free(b.x);
}

/* The same, which must fail with want. */
static void
oip_dtype_bad(const char *dt, const char *vals, const char *want)
{
	char	 body[512];

	snprintf(body, sizeof(body), "{\"inputs\": [{\"name\": \"in\", "
	    "\"shape\": [1, 3], \"datatype\": \"%s\", \"data\": [%s]}]}", dt,
	    vals);
	parse_bad(INFER_OIP, body, tiny, 400, want);
}

static void
test_oip_datatypes(void **state)
{
	float	 x[3];

	(void)state;
	oip_dtype("BOOL", "true, false, null", x);
	assert_true(x[0] == 1.0f && x[1] == 0.0f && isnan(x[2]));
	oip_dtype_bad("BOOL", "true, 1, 0", "value 1 (row 0, column 1) is a "
	    "number; expected true, false or null for BOOL");
	oip_dtype("UINT8", "0, 255, null", x);
	assert_true(x[0] == 0.0f && x[1] == 255.0f && isnan(x[2]));
	oip_dtype_bad("UINT8", "0, 256, 1", "256 is out of range for UINT8 (0 "
	    "to 255)");
	oip_dtype_bad("UINT8", "-1, 2, 1", "-1 is out of range for UINT8");
	oip_dtype("UINT16", "65535, 0, 1", x);
	assert_true(x[0] == 65535.0f);
	oip_dtype_bad("UINT16", "65536, 0, 1", "out of range for UINT16");
	oip_dtype("UINT32", "4294967295, 0, 1", x);
	assert_true(x[0] == 4294967296.0f);	/* rounded to float32 */
	oip_dtype_bad("UINT32", "4294967296, 0, 1", "out of range for UINT32");
	oip_dtype("UINT64", "9223372036854775807, 0, 1", x);
	assert_true(x[0] == 9223372036854775808.0f);
	oip_dtype_bad("UINT64", "-5, 0, 1", "out of range for UINT64");
	oip_dtype("INT8", "-128, 127, 0", x);
	assert_true(x[0] == -128.0f && x[1] == 127.0f);
	oip_dtype_bad("INT8", "-129, 0, 0", "-129 is out of range for INT8 "
	    "(-128 to 127)");
	oip_dtype_bad("INT8", "1.0, 0, 0", "value 0 (row 0, column 0) is a "
	    "real number; expected an integer or null for INT8");
	oip_dtype_bad("INT16", "32768, 0, 0", "out of range for INT16");
	oip_dtype("INT32", "-2147483648, 16777217, 0", x);
	assert_true(x[0] == -2147483648.0f && x[1] == 16777216.0f);
	oip_dtype_bad("INT32", "2147483648, 0, 0", "out of range for INT32");
	oip_dtype("INT64", "-9223372036854775808, 3, null", x);
	assert_true(x[0] == -9223372036854775808.0f && x[1] == 3.0f &&
	    isnan(x[2]));
	oip_dtype_bad("INT64", "\"3\", 0, 0", "is a string; expected an "
	    "integer or null for INT64");
	/* FP16: to the nearest half first (0.1 is 0.0999755859375 there) */
	oip_dtype("FP16", "0.1, 65504, 1e-8", x);
	assert_true(x[0] == 0.0999755859375f && x[1] == 65504.0f &&
	    x[2] == 0.0f);
	oip_dtype("FP16", "-2.5, 65519, 5.960464477539063e-08", x);
	assert_true(x[0] == -2.5f && x[1] == 65504.0f &&
	    x[2] == 5.960464477539063e-08f);
	oip_dtype_bad("FP16", "65520, 0, 0", "65520 does not fit FP16 "
	    "(largest 65504)");
	oip_dtype_bad("FP16", "true, 0, 0", "is a boolean; expected a number "
	    "or null");
	oip_dtype("FP32", "0.1, 7, null", x);
	assert_true(x[0] == 0.1f && x[1] == 7.0f && isnan(x[2]));
	oip_dtype_bad("FP32", "1e39, 0, 0", "1e+39 does not fit a 32-bit "
	    "float");
	oip_dtype("FP64", "0.1, -3, 1e-300", x);
	assert_true(x[0] == 0.1f && x[1] == -3.0f && x[2] == 0.0f);
	oip_dtype_bad("FP64", "1e300, 0, 0", "does not fit a 32-bit float");
	oip_dtype_bad("BYTES", "\"a\", \"b\", \"c\"", "\"BYTES\" is not "
	    "supported");
}

static void
test_oip_per_feature(void **state)
{
	struct infer_batch	 b;

	(void)state;
	/* shapes [rows] and [rows, 1], datatypes per tensor; "bmi" absent:
	 * missing in every row */
	parse_ok(INFER_OIP, "{\"inputs\": [{\"name\": \"dose\", \"shape\": "
	    "[2], \"datatype\": \"INT64\", \"data\": [5, 6]}, {\"name\": "
	    "\"age\", \"shape\": [2, 1], \"datatype\": \"FP64\", \"data\": "
	    "[[61.5], [null]]}]}", named, &b);
	assert_int_equal(b.rows, 2);
	assert_int_equal(b.cols, 3);
	assert_true(b.x[0] == 61.5f && isnan(b.x[1]) && b.x[2] == 5.0f);
	assert_true(isnan(b.x[3]) && isnan(b.x[4]) && b.x[5] == 6.0f);
	free(b.x);
	/* one feature named as the model's: per-feature, not a matrix */
	parse_ok(INFER_OIP, "{\"inputs\": [{\"name\": \"bmi\", \"shape\": "
	    "[1], \"datatype\": \"BOOL\", \"data\": [true]}]}", named, &b);
	assert_true(isnan(b.x[0]) && b.x[1] == 1.0f && isnan(b.x[2]));
	free(b.x);
	/* the one [rows, features] tensor still works on a named model */
	parse_ok(INFER_OIP, "{\"inputs\": [{\"name\": \"input-0\", \"shape\": "
	    "[1, 3], \"datatype\": \"FP32\", \"data\": [1, 2, 3]}]}", named,
	    &b);
	assert_true(b.x[0] == 1.0f && b.x[2] == 3.0f);
	free(b.x);
	/* a model without names takes XGBoost's f0, f1, ... */
	parse_ok(INFER_OIP, "{\"inputs\": [{\"name\": \"f2\", \"shape\": [1], "
	    "\"datatype\": \"FP32\", \"data\": [4]}, {\"name\": \"f0\", "
	    "\"shape\": [1], \"datatype\": \"UINT8\", \"data\": [3]}]}", tiny,
	    &b);
	assert_true(b.x[0] == 3.0f && isnan(b.x[1]) && b.x[2] == 4.0f);
	free(b.x);
	parse_bad(INFER_OIP, "{\"inputs\": [{\"name\": \"age\", \"shape\": "
	    "[1], \"datatype\": \"FP32\", \"data\": [1]}, {\"name\": \"agee\", "
	    "\"shape\": [1], \"datatype\": \"FP32\", \"data\": [1]}]}", named,
	    400, "inputs[1].name: \"agee\" is not a feature of the model");
	parse_bad(INFER_OIP, "{\"inputs\": [{\"name\": \"age\", \"shape\": "
	    "[1], \"datatype\": \"FP32\", \"data\": [1]}, {\"name\": \"age\", "
	    "\"shape\": [1], \"datatype\": \"FP32\", \"data\": [1]}]}", named,
	    400, "inputs[1].name: feature \"age\" given twice (also "
	    "inputs[0])");
	parse_bad(INFER_OIP, "{\"inputs\": [{\"name\": \"age\", \"shape\": "
	    "[2], \"datatype\": \"FP32\", \"data\": [1, 2]}, {\"name\": "
	    "\"bmi\", \"shape\": [3], \"datatype\": \"FP32\", \"data\": [1, 2, "
	    "3]}]}", named, 400, "inputs[1].shape: 3 rows, but inputs[0] has "
	    "2");
	parse_bad(INFER_OIP, "{\"inputs\": [{\"name\": \"age\", \"shape\": "
	    "[1, 3], \"datatype\": \"FP32\", \"data\": [1, 2, 3]}]}", named,
	    400, "inputs[0].shape: a feature's tensor is [rows] or [rows, 1], "
	    "not [1, 3]");
	parse_bad(INFER_OIP, "{\"inputs\": [{\"name\": \"age\", \"shape\": "
	    "[2], \"datatype\": \"FP32\", \"data\": [1, 2, 3]}]}", named, 400,
	    "inputs[0].data: 3 values, but shape [2, 1] needs 2");
	parse_bad(INFER_OIP, "{\"inputs\": [{\"name\": \"age\", \"shape\": "
	    "[2], \"datatype\": \"INT8\", \"data\": [1, 200]}]}", named, 400,
	    "inputs[0].data: value 1 (row 1): 200 is out of range for INT8");
	parse_bad(INFER_OIP, "{\"inputs\": [{\"name\": \"age\", \"shape\": "
	    "[2000], \"datatype\": \"FP32\", \"data\": []}]}", named, 413,
	    "inputs[0].shape: 2000 rows, more than the limit of 1000");
	parse_bad(INFER_OIP, "{\"inputs\": [{\"name\": \"f3\", \"shape\": "
	    "[1], \"datatype\": \"FP32\", \"data\": [1]}, {\"name\": \"f0\", "
	    "\"shape\": [1], \"datatype\": \"FP32\", \"data\": [1]}]}", tiny,
	    400, "inputs[0].name: \"f3\" is not a feature of the model");
	parse_bad(INFER_OIP, "{\"inputs\": [{\"name\": \"age\", \"shape\": "
	    "[1], \"datatype\": \"FP32\", \"parameters\": {"
	    "\"binary_data_size\": 4}}]}", named, 400, "inputs[0].data: "
	    "missing (binary tensor data is not supported; send JSON)");
}

static void
test_rows_by_name(void **state)
{
	struct infer_batch	 b;
	size_t			 i;

	(void)state;
	assert_string_equal(model_feature_name(named, 1), "bmi");
	assert_string_equal(model_feature_type(named, 2), "int");
	assert_null(model_feature_name(tiny, 0));
	assert_null(model_feature_type(tiny, 0));
	assert_int_equal(model_feature_find(named, "dose", &i), 0);
	assert_int_equal(i, 2);
	assert_int_equal(model_feature_find(named, "Dose", &i), -1);
	assert_int_equal(model_feature_find(tiny, "f0", &i), -1);
	/* objects: a key left out is missing; mixed with arrays */
	parse_ok(INFER_PREDICT, "{\"instances\": [{\"age\": 61, \"bmi\": null}, "
	    "[1, 2, 3], {}]}", named, &b);
	assert_int_equal(b.rows, 3);
	assert_true(b.x[0] == 61.0f && isnan(b.x[1]) && isnan(b.x[2]));
	assert_true(b.x[3] == 1.0f && b.x[5] == 3.0f);
	assert_true(isnan(b.x[6]) && isnan(b.x[7]) && isnan(b.x[8]));
	free(b.x);
	parse_ok(INFER_PREDICT, "{\"features\": {\"dose\": 2}}", named, &b);
	assert_true(isnan(b.x[0]) && b.x[2] == 2.0f);
	free(b.x);
	parse_ok(INFER_V1, "{\"instances\": [{\"bmi\": 1.5}]}", named, &b);
	assert_true(b.x[1] == 1.5f);
	free(b.x);
	parse_ok(INFER_PREDICT, "{\"features\": {\"f1\": 9}}", tiny, &b);
	assert_true(isnan(b.x[0]) && b.x[1] == 9.0f);
	free(b.x);
	parse_bad(INFER_PREDICT, "{\"instances\": [[1, 2, 3], {\"age\": 1, "
	    "\"height\": 2}]}", named, 400, "instances[1] (row 1): unknown "
	    "feature \"height\"; the model's features are in GET "
	    "/v2/models/{name}");
	parse_bad(INFER_PREDICT, "{\"instances\": [{\"f0\": 1}]}", named, 400,
	    "unknown feature \"f0\"");
	parse_bad(INFER_PREDICT, "{\"instances\": [{\"age\": [1]}]}", named,
	    400, "instances[0].age (row 0, column 0): expected a number or "
	    "null, got an array");
	parse_bad(INFER_PREDICT, "{\"instances\": [{\"age\": 1, \"age\": 2}]}",
	    named, 400, "duplicate object key");
	/* KServe v1: instances only */
	parse_bad(INFER_V1, "{\"features\": [1, 2, 3]}", named, 400,
	    "no \"instances\"; send {\"instances\"");
	parse_bad(INFER_V1, "{\"instances\": 3}", named, 400, "instances: "
	    "expected an array of rows, got a number");
}

static void
test_duplicate_names_refused(void **state)
{
	char		 text[2048], path[300], err[256];
	const char	*dup = "\"feature_names\":[\"a\",\"b\",\"a\"],";
	FILE		*fp;

	(void)state;
	snprintf(text, sizeof(text), TINY_FMT, "[0]", STUMP("-1", "1"), "0",
	    "binary:logistic");
	memmove(text + 12 + strlen(dup), text + 12, strlen(text + 12) + 1);
	memcpy(text + 12, dup, strlen(dup));
	snprintf(path, sizeof(path), "%s/dup.json", tmpdir);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	assert_null(model_load(path, err, sizeof(err)));
	unlink(path);
	assert_non_null(strstr(err, "learner.feature_names[2]: \"a\" is also "
	    "feature_names[0]; names must be unique"));
}

static void
test_format_error(void **state)
{
	char	*s;
	json_t	*j;

	(void)state;
	s = take(reply_error_new("%s", "bad \"x\"\\ \n\t\x01 caf\xc3\xa9"));
	assert_string_equal(s, "{\"error\":\"bad \\\"x\\\"\\\\ \\n\\t\\u0001 "
	    "caf\xc3\xa9\"}\n");
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
	    "bad \"x\"\\ \n\t\x01 caf\xc3\xa9");
	json_decref(j);
	free(s);
	/* invalid UTF-8 still gives valid JSON */
	s = take(reply_error_new("%s", "caf\xe9 \xc3"));
	assert_string_equal(s, "{\"error\":\"caf? ?\"}\n");
	free(s);
}

static void
test_error_messages_are_json(void **state)
{
	struct infer_batch	 b;
	struct infer_error	 err;
	char			*s;
	json_t			*j;
	const char		*body = "{\"features\": [1, \"\xc3\xa9\\\"\", 3]}";

	(void)state;
	assert_int_equal(infer_parse(INFER_PREDICT, body, strlen(body), tiny,
	    10, &b, &err), -1);
	s = take(reply_error_new("%s", err.msg));
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
	    err.msg);
	json_decref(j);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_predict_features),
		cmocka_unit_test(test_predict_instances),
		cmocka_unit_test(test_predict_malformed),
		cmocka_unit_test(test_predict_too_many_rows),
		cmocka_unit_test(test_format_numbers),
		cmocka_unit_test(test_format_multiclass),
		cmocka_unit_test(test_oip_parse),
		cmocka_unit_test(test_oip_format),
		cmocka_unit_test(test_oip_malformed),
		cmocka_unit_test(test_oip_datatypes),
		cmocka_unit_test(test_oip_per_feature),
		cmocka_unit_test(test_rows_by_name),
		cmocka_unit_test(test_duplicate_names_refused),
		cmocka_unit_test(test_format_error),
		cmocka_unit_test(test_error_messages_are_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
