/*
 * test_infer_oip: the Open Inference Protocol's request and response
 * formats: the one [rows, features] tensor and per-feature tensors, every
 * datatype and its range, outputs, id, metadata, and a corpus of
 * malformed requests with their statuses and messages.
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
	    "\"data\":[0.26894143,0.7310586]},{\"name\":\"label\",\"datatype\":"
	    "\"INT64\",\"shape\":[2],\"data\":[0,1]}]}", oip_head(tiny));
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
	assert_int_equal(b.outputs, INFER_OUT_PREDICT | INFER_OUT_LABEL);
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
	/* the class picked: the first most probable */
	b.outputs = INFER_OUT_LABEL;
	s = fmt(INFER_OIP, tri, &b, y);
	assert_non_null(strstr(s, "\"outputs\":[{\"name\":\"label\","
	    "\"datatype\":\"INT64\",\"shape\":[1],\"data\":[1]}]}"));
	free(s);
	y[0] = 0.5;
	s = fmt(INFER_OIP, tri, &b, y);
	assert_non_null(strstr(s, "\"data\":[0]}]}"));
	free(s);
	s = fmt_meta(infer_format_oip_metadata, tiny);
	snprintf(want, sizeof(want), "{\"name\":\"tiny\",\"versions\":"
	    "[\"%.12s\"],\"platform\":\"xgboost\",\"inputs\":[{\"name\":"
	    "\"input-0\",\"datatype\":\"FP32\",\"shape\":[-1,3]}],\"outputs\":"
	    "[{\"name\":\"predict\",\"datatype\":\"FP32\",\"shape\":[-1],"
	    "\"parameters\":{\"objective\":\"binary:logistic\",\"content\":"
	    "\"probability of class 1\"}},{\"name\":\"label\",\"datatype\":"
	    "\"INT64\",\"shape\":[-1],\"parameters\":{\"class_labels\":"
	    "[\"0\",\"1\"]}}]}", model_sha256(tiny));
	assert_string_equal(s, want);
	free(s);
	s = fmt_meta(infer_format_oip_metadata, tri);
	assert_non_null(strstr(s, "\"outputs\":[{\"name\":\"predict\","
	    "\"datatype\":\"FP32\",\"shape\":[-1,3],\"parameters\":{"
	    "\"objective\":\"multi:softprob\",\"content\":\"class "
	    "probabilities\",\"class_labels\":[\"0\",\"1\",\"2\"]}},"
	    "{\"name\":\"label\",\"datatype\":\"INT64\",\"shape\":[-1],"
	    "\"parameters\":{\"class_labels\":[\"0\",\"1\",\"2\"]}}]}"));
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
	    "outputs[0].name: unknown output \"proba\"; this model's outputs "
	    "are \"predict\", \"label\"" },
	{ "{\"outputs\": [\"predict\"], \"inputs\": []}", 400, "outputs[0]: "
	    "expected {\"name\": ...}, one of this model's outputs: "
	    "\"predict\", \"label\"" },
	{ "{\"outputs\": [{\"name\": \"label\"}, {\"name\": \"label\"}], "
	    "\"inputs\": []}", 400, "outputs[1].name: \"label\" asked for "
	    "twice" },
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
	oip_dtype("INT16", "-32768, 32767, -1", x);
	assert_true(x[0] == -32768.0f && x[1] == 32767.0f && x[2] == -1.0f);
	oip_dtype_bad("INT16", "32768, 0, 0", "32768 is out of range for "
	    "INT16 (-32768 to 32767)");
	oip_dtype_bad("INT16", "-32769, 0, 0", "-32769 is out of range for "
	    "INT16");
	oip_dtype_bad("INT16", "65535, 0, 0", "out of range for INT16");
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


int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oip_parse),
		cmocka_unit_test(test_oip_format),
		cmocka_unit_test(test_oip_malformed),
		cmocka_unit_test(test_oip_datatypes),
		cmocka_unit_test(test_oip_per_feature),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
