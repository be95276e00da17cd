/*
 * test_infer: the wire formats of POST /predict and KServe v1: parsing
 * good requests (rows as arrays or keyed by feature name), a corpus of
 * malformed ones (each with its status and message), the exact response
 * texts, and the one JSON error format.  The OIP's are test_infer_oip.c.
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

#include "infer_common.h"

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

/* jansson's allocator when the process is out of memory. */
static void *
failing_malloc(size_t n)
{
	(void)n;
	return NULL;
}

/*
 * Out of memory while parsing is the server's failure: 500, never the
 * "invalid JSON at line -1" a client would be blamed with.
 */
static void
test_out_of_memory_is_500(void **state)
{
	static const char *const	bodies[] = {
		"{\"instances\": [{\"age\": 1, \"bmi\": 2, \"dose\": 3}]}",
		"{\"inputs\": [{\"name\": \"x\", \"shape\": [1, 3], "
		    "\"datatype\": \"FP32\", \"data\": [1, 2, 3]}]}",
	};
	static const enum infer_proto	protos[] = { INFER_PREDICT, INFER_OIP };
	struct infer_batch		 b;
	struct infer_error		 err;
	size_t				 i;

	(void)state;
	for (i = 0; i < 2; i++) {
		json_set_alloc_funcs(failing_malloc, free);
		memset(&err, 0, sizeof(err));
		if (infer_parse(protos[i], bodies[i], strlen(bodies[i]), named,
		    10, &b, &err) == 0)
			free(b.x);
		json_set_alloc_funcs(malloc, free);
		if (err.status != 500 || strstr(err.msg, "out of memory") ==
		    NULL)
			fail_msg("body %zu: %d %s", i, err.status, err.msg);
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
	/* KServe v1: instances or inputs, as KServe's servers read them */
	parse_bad(INFER_V1, "{\"features\": [1, 2, 3]}", named, 400,
	    "no \"instances\" or \"inputs\"; send {\"instances\"");
	parse_bad(INFER_V1, "{\"instances\": 3}", named, 400, "instances: "
	    "expected an array of rows, got a number");
	parse_ok(INFER_V1, "{\"inputs\": [{\"bmi\": 1.5}, [1, 2, 3]]}", named,
	    &b);
	assert_int_equal(b.rows, 2);
	assert_true(isnan(b.x[0]) && b.x[1] == 1.5f && b.x[5] == 3.0f);
	free(b.x);
	parse_bad(INFER_V1, "{\"inputs\": 3}", named, 400, "inputs: "
	    "expected an array of rows, got a number");
	parse_bad(INFER_V1, "{\"inputs\": []}", named, 400, "inputs: empty "
	    "batch");
	parse_bad(INFER_V1, "{\"inputs\": [[1, 2]]}", named, 400,
	    "inputs[0]");
	parse_bad(INFER_V1, "{\"inputs\": [[1, 2, 3]], \"instances\": "
	    "[[1, 2, 3]]}", named, 400, "both \"instances\" and \"inputs\"");
	/* /predict has no "inputs" */
	parse_bad(INFER_PREDICT, "{\"inputs\": [[1, 2, 3]]}", named, 400,
	    "no \"features\" or \"instances\"");
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
		cmocka_unit_test(test_out_of_memory_is_500),
		cmocka_unit_test(test_predict_too_many_rows),
		cmocka_unit_test(test_format_numbers),
		cmocka_unit_test(test_format_multiclass),
		cmocka_unit_test(test_rows_by_name),
		cmocka_unit_test(test_duplicate_names_refused),
		cmocka_unit_test(test_format_error),
		cmocka_unit_test(test_error_messages_are_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
