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

#include <jansson.h>

#include "inferd/infer.h"
#include "inferd/model.h"

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
	return 0;
}

/* Free the models and remove the scratch directory. */
static int
teardown(void **state)
{
	(void)state;
	model_free(tiny);
	model_free(tri);
	return rmdir(tmpdir);
}

/* Parse body with parse; it must succeed. */
static void
parse_ok(int (*parse)(const char *, size_t, const struct model *, size_t,
    struct infer_batch *, struct infer_error *), const char *body,
    const struct model *m, struct infer_batch *b)
{
	struct infer_error	 err;

	if (parse(body, strlen(body), m, 1000, b, &err) != 0)
		fail_msg("%s: %d %s", body, err.status, err.msg);
}

static void
test_predict_features(void **state)
{
	struct infer_batch	 b;

	(void)state;
	parse_ok(infer_parse_predict, "{\"features\": [0.25, null, 7]}", tiny,
	    &b);
	assert_int_equal(b.rows, 1);
	assert_int_equal(b.cols, 3);
	assert_true(b.x[0] == 0.25f);
	assert_true(isnan(b.x[1]));
	assert_true(b.x[2] == 7.0f);
	assert_string_equal(b.id, "");
	free(b.x);
	/* doubles are rounded to float32 as numpy's astype(float32) does */
	parse_ok(infer_parse_predict, "{\"features\": [0.1, -1e-3, "
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
	parse_ok(infer_parse_predict, "{\"instances\": [[0, 0, 0], "
	    "[1, 1, 1], [null, null, null]]}", tiny, &b);
	assert_int_equal(b.rows, 3);
	assert_true(b.x[3] == 1.0f);
	assert_true(isnan(b.x[8]));
	model_predict(tiny, b.x, b.rows, y);
	s = infer_format_predict(tiny, y, b.rows);
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
	    "numbers, got a string" },
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
	    "an array of 3 features, got a number" },
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
	struct infer_batch	 b;
	struct infer_error	 err;
	size_t			 i;
	const struct bad_request *r;

	(void)state;
	for (i = 0; i < sizeof(bad_predict) / sizeof(bad_predict[0]); i++) {
		r = &bad_predict[i];
		memset(&err, 0, sizeof(err));
		if (infer_parse_predict(r->body, strlen(r->body), tiny, 1000,
		    &b, &err) != -1)
			fail_msg("accepted: %s", r->body);
		if (err.status != r->status || strstr(err.msg, r->want) ==
		    NULL)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", r->body,
			    err.status, err.msg, r->status, r->want);
		assert_null(b.x);
		if (getenv("TEST_VERBOSE") != NULL)
			fprintf(stderr, "%d %s\n", err.status, err.msg);
	}
}

static void
test_predict_too_many_rows(void **state)
{
	struct infer_batch	 b;
	struct infer_error	 err;
	const char		*body = "{\"instances\": [[1,2,3],[1,2,3],"
	    "[1,2,3]]}";

	(void)state;
	assert_int_equal(infer_parse_predict(body, strlen(body), tiny, 2, &b,
	    &err), -1);
	assert_int_equal(err.status, 413);
	assert_string_equal(err.msg, "instances: 3 rows, more than the limit "
	    "of 2 (max_batch_rows); split the batch");
	assert_int_equal(infer_parse_predict(body, strlen(body), tiny, 3, &b,
	    &err), 0);
	free(b.x);
}

static void
test_format_numbers(void **state)
{
	const double	 y[] = { 0.5, (double)0.1f, (double)(1.0f / 3.0f),
	    NAN, 0.1, -0.0, 1e-30, (double)3.4028235e38f, 2.0 };
	char		*s;

	(void)state;
	s = infer_format_predict(tiny, y, sizeof(y) / sizeof(y[0]));
	assert_string_equal(s, "{\"predictions\":[0.5,0.1,0.33333334,null,"
	    "0.10000000000000001,-0,1.0000000000000001e-30,3.4028235e+38,2]}");
	free(s);
	s = infer_format_predict(tiny, y, 0);
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
	parse_ok(infer_parse_predict, "{\"instances\": [[0, 0, 0], [1, 0, "
	    "0]]}", tri, &b);
	model_predict(tri, b.x, b.rows, y);
	s = infer_format_predict(tri, y, b.rows);
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

static void
test_oip_parse(void **state)
{
	struct infer_batch	 b;
	double			 y[2];
	char			*s;

	(void)state;
	parse_ok(infer_parse_oip, "{\"id\": \"req-1\", \"inputs\": [{\"name\": "
	    "\"input-0\", \"shape\": [2, 3], \"datatype\": \"FP32\", "
	    "\"data\": [0, 0, 0, 1, null, 2.5]}]}", tiny, &b);
	assert_int_equal(b.rows, 2);
	assert_int_equal(b.cols, 3);
	assert_string_equal(b.id, "req-1");
	assert_true(isnan(b.x[4]));
	assert_true(b.x[5] == 2.5f);
	model_predict(tiny, b.x, b.rows, y);
	s = infer_format_oip(tiny, &b, y);
	assert_string_equal(s, "{\"model_name\":\"tiny\",\"id\":\"req-1\","
	    "\"outputs\":[{\"name\":\"predict\",\"datatype\":\"FP64\","
	    "\"shape\":[2],\"data\":[0.26894143,0.7310586]}]}");
	free(s);
	free(b.x);
	/* nested data, FP64, parameters and outputs, no id */
	parse_ok(infer_parse_oip, "{\"parameters\": {}, \"inputs\": [{\"name\": "
	    "\"x\", \"shape\": [2, 3], \"datatype\": \"FP64\", \"parameters\": "
	    "{}, \"data\": [[0, 0, 0], [1, 1, 1]]}], \"outputs\": [{\"name\": "
	    "\"predict\"}]}", tri, &b);
	assert_string_equal(b.id, "");
	assert_true(b.x[3] == 1.0f);
	free(b.x);
}

static void
test_oip_format(void **state)
{
	struct infer_batch	 b;
	double			 y[3] = { 0.25, 0.5, 0.25 };
	char			*s;

	(void)state;
	memset(&b, 0, sizeof(b));
	b.rows = 1;
	b.cols = 3;
	strcpy(b.id, "a\"b\\c");
	s = infer_format_oip(tri, &b, y);
	assert_string_equal(s, "{\"model_name\":\"tri\",\"id\":\"a\\\"b\\\\c\","
	    "\"outputs\":[{\"name\":\"predict\",\"datatype\":\"FP64\","
	    "\"shape\":[1,3],\"data\":[0.25,0.5,0.25]}]}");
	free(s);
	s = infer_format_oip_metadata(tiny);
	assert_string_equal(s, "{\"name\":\"tiny\",\"versions\":[],"
	    "\"platform\":\"xgboost_json\",\"inputs\":[{\"name\":\"input-0\","
	    "\"datatype\":\"FP32\",\"shape\":[-1,3]}],\"outputs\":[{\"name\":"
	    "\"predict\",\"datatype\":\"FP64\",\"shape\":[-1]}]}");
	free(s);
	s = infer_format_oip_metadata(tri);
	assert_non_null(strstr(s, "\"outputs\":[{\"name\":\"predict\","
	    "\"datatype\":\"FP64\",\"shape\":[-1,3]}]}"));
	free(s);
}

static const struct bad_request bad_oip[] = {
	{ "", 400, "empty request body" },
	{ "{\"inputs\": [}", 400, "invalid JSON at line 1, column 13" },
	{ "42", 400, "invalid JSON" },
	{ "[]", 400, "request body is an array; send {\"inputs\"" },
	{ "{}", 400, "inputs: missing" },
	{ "{\"inputs\": {}}", 400, "inputs: expected an array" },
	{ "{\"inputs\": []}", 400, "inputs: expected exactly one input tensor, "
	    "got 0" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 3], \"datatype\": "
	    "\"FP32\", \"data\": [1, 2, 3]}, {\"name\": \"b\", \"shape\": [1, "
	    "3], \"datatype\": \"FP32\", \"data\": [1, 2, 3]}]}", 400,
	    "expected exactly one input tensor, got 2" },
	{ "{\"inputs\": [7]}", 400, "inputs[0]: expected an object, got a "
	    "number" },
	{ "{\"inputs\": [{\"shape\": [1, 3], \"datatype\": \"FP32\", "
	    "\"data\": [1, 2, 3]}]}", 400, "inputs[0].name: missing" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 3], \"data\": "
	    "[1, 2, 3]}]}", 400, "inputs[0].datatype: missing" },
	{ "{\"inputs\": [{\"name\": \"a\", \"shape\": [1, 3], \"datatype\": "
	    "\"INT64\", \"data\": [1, 2, 3]}]}", 400, "inputs[0].datatype: "
	    "\"INT64\" is not supported; use \"FP32\" or \"FP64\"" },
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
	struct infer_batch	 b;
	struct infer_error	 err;
	size_t			 i;
	const struct bad_request *r;

	(void)state;
	for (i = 0; i < sizeof(bad_oip) / sizeof(bad_oip[0]); i++) {
		r = &bad_oip[i];
		memset(&err, 0, sizeof(err));
		if (infer_parse_oip(r->body, strlen(r->body), tiny, 1000, &b,
		    &err) != -1)
			fail_msg("accepted: %s", r->body);
		if (err.status != r->status || strstr(err.msg, r->want) ==
		    NULL)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", r->body,
			    err.status, err.msg, r->status, r->want);
		assert_null(b.x);
		if (getenv("TEST_VERBOSE") != NULL)
			fprintf(stderr, "%d %s\n", err.status, err.msg);
	}
}

static void
test_format_error(void **state)
{
	char	*s;
	json_t	*j;

	(void)state;
	s = infer_format_error("bad \"x\"\\ \n\t\x01 caf\xc3\xa9");
	assert_string_equal(s, "{\"error\":\"bad \\\"x\\\"\\\\ \\n\\t\\u0001 "
	    "caf\xc3\xa9\"}");
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
	    "bad \"x\"\\ \n\t\x01 caf\xc3\xa9");
	json_decref(j);
	free(s);
	/* invalid UTF-8 still gives valid JSON */
	s = infer_format_error("caf\xe9 \xc3");
	assert_string_equal(s, "{\"error\":\"caf? ?\"}");
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
	assert_int_equal(infer_parse_predict(body, strlen(body), tiny, 10, &b,
	    &err), -1);
	s = infer_format_error(err.msg);
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
		cmocka_unit_test(test_format_error),
		cmocka_unit_test(test_error_messages_are_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
