/*
 * test_ubjson: the UBJSON decoder and the model format module on hand-made
 * byte strings (every marker, optimized containers, forged counts, depth)
 * and on a real XGBoost 1.7 model saved both ways: the two formats give the
 * same tree, and every truncation of either is an error, never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/modelfmt.h"
#include "inferd/ubjson.h"

#include "ubjson_model.h"

static char	 err[512];

/* Decode a string literal's bytes (embedded NULs included). */
#define DEC(s)	ubjson_decode((s), sizeof(s) - 1, "t.ubj", err, sizeof(err))

/* Decode s, which must fail with a message containing want. */
#define FAILS(s, want) do {						\
	json_t *v_ = DEC(s);						\
	assert_null(v_);						\
	if (strstr(err, (want)) == NULL)				\
		fail_msg("error \"%s\" lacks \"%s\"", err, (want));	\
} while (0)

/* Decode s and compare its compact JSON dump with want. */
static void
check_dump(const char *s, size_t n, const char *want)
{
	json_t	*v;
	char	*d;

	v = ubjson_decode(s, n, "t.ubj", err, sizeof(err));
	if (v == NULL)
		fail_msg("decode failed: %s", err);
	d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	assert_non_null(d);
	assert_string_equal(d, want);
	free(d);
	json_decref(v);
}
#define DUMP(s, want)	check_dump((s), sizeof(s) - 1, (want))

/* Every scalar marker, with every length marker for strings. */
static void
test_scalars(void **state)
{
	DUMP("Z", "null");
	DUMP("T", "true");
	DUMP("F", "false");
	DUMP("i\xff", "-1");
	DUMP("U\xff", "255");
	DUMP("I\x80\x00", "-32768");
	DUMP("l\x7f\xff\xff\xff", "2147483647");
	DUMP("L\x80\x00\x00\x00\x00\x00\x00\x00", "-9223372036854775808");
	DUMP("d\x3f\xc0\x00\x00", "1.5");
	/* float32 0.1 widens exactly, not to the double nearest 0.1 */
	DUMP("d\x3d\xcc\xcc\xcd", "0.10000000149011612");
	DUMP("D\xbf\xf8\x00\x00\x00\x00\x00\x00", "-1.5");
	DUMP("Si\x02hi", "\"hi\"");
	DUMP("SU\x00", "\"\"");
	DUMP("SI\x00\x02\xc3\xa9", "\"\xc3\xa9\"");
	DUMP("Sl\x00\x00\x00\x01x", "\"x\"");
	DUMP("SL\x00\x00\x00\x00\x00\x00\x00\x01y", "\"y\"");
	DUMP("Ca", "\"a\"");
	DUMP("Hi\x04" "1.25", "1.25");
	DUMP("Hi\x03" "-17", "-17");
	DUMP("NNNZN", "null");		/* no-ops around a value */
}

/* Non-finite floats: NaN is null, infinities the strings. */
static void
test_nonfinite(void **state)
{
	double	 d;

	DUMP("d\x7f\xc0\x00\x00", "null");
	DUMP("d\xff\xc0\x00\x01", "null");
	DUMP("d\x7f\x80\x00\x00", "\"Infinity\"");
	DUMP("d\xff\x80\x00\x00", "\"-Infinity\"");
	DUMP("D\x7f\xf8\x00\x00\x00\x00\x00\x00", "null");
	DUMP("D\xff\xf0\x00\x00\x00\x00\x00\x00", "\"-Infinity\"");
	DUMP("[$d#i\x03\x7f\xc0\x00\x00\x3f\x80\x00\x00\x7f\x80\x00\x00",
	    "[null,1.0,\"Infinity\"]");

	assert_int_equal(modelfmt_number(json_null(), &d), 0);
	assert_true(isnan(d));
	json_t *s = json_string("-Infinity");
	assert_int_equal(modelfmt_number(s, &d), 0);
	assert_true(isinf(d) && d < 0);
	json_decref(s);
	s = json_string("Infinity");
	assert_int_equal(modelfmt_number(s, &d), 0);
	assert_true(isinf(d) && d > 0);
	json_decref(s);
	s = json_string("NaN");
	assert_int_equal(modelfmt_number(s, &d), -1);
	json_decref(s);
	s = json_integer(-3);
	assert_int_equal(modelfmt_number(s, &d), 0);
	assert_true(d == -3);
	json_decref(s);
	assert_int_equal(modelfmt_number(json_true(), &d), -1);
}

/* Arrays and objects in every form: plain, counted, typed. */
static void
test_containers(void **state)
{
	DUMP("[]", "[]");
	DUMP("[i\x01Z[]]", "[1,null,[]]");
	DUMP("[NTNF]", "[true,false]");
	DUMP("[#L\x00\x00\x00\x00\x00\x00\x00\x02i\x01i\x02", "[1,2]");
	DUMP("[#i\x00", "[]");
	/* the typed arrays XGBoost writes: float32, int32, int64, uint8 */
	DUMP("[$d#L\x00\x00\x00\x00\x00\x00\x00\x02"
	    "\x3f\x80\x00\x00\xc0\x00\x00\x00", "[1.0,-2.0]");
	DUMP("[$l#L\x00\x00\x00\x00\x00\x00\x00\x02"
	    "\xff\xff\xff\xff\x7f\xff\xff\xff", "[-1,2147483647]");
	DUMP("[$L#L\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\x00\x00\x00\x01\x00\x00\x00\x00", "[4294967296]");
	DUMP("[$U#L\x00\x00\x00\x00\x00\x00\x00\x03\x00\x01\xff",
	    "[0,1,255]");
	/* and the ones 2.x/3.x may write: int8, int16, float64 */
	DUMP("[$i#U\x02\xff\x7f", "[-1,127]");
	DUMP("[$I#U\x01\xff\xfe", "[-2]");
	DUMP("[$D#U\x01\x40\x00\x00\x00\x00\x00\x00\x00", "[2.0]");
	DUMP("[$C#i\x02" "ab", "[\"a\",\"b\"]");
	DUMP("[$l#L\x00\x00\x00\x00\x00\x00\x00\x00", "[]");
	/* objects: XGBoost's 'L' keys, short keys, counted and typed */
	DUMP("{}", "{}");
	DUMP("{L\x00\x00\x00\x00\x00\x00\x00\x01" "aZ}", "{\"a\":null}");
	DUMP("{i\x01" "bi\x02i\x01" "a[]}", "{\"a\":[],\"b\":2}");
	DUMP("{#i\x02i\x01" "aTi\x01" "bF", "{\"a\":true,\"b\":false}");
	DUMP("{$U#i\x02i\x01" "a\x05i\x01" "b\x06", "{\"a\":5,\"b\":6}");
	DUMP("{Ni\x01" "aZN}", "{\"a\":null}");
	DUMP("{i\x00Z}", "{\"\":null}");
}

/* Nesting up to the limit works, one more level is refused. */
static void
test_depth(void **state)
{
	char	 buf[2 * UBJSON_MAX_DEPTH + 4];
	json_t	*v;
	int	 i;

	for (i = 0; i < UBJSON_MAX_DEPTH; i++) {
		buf[i] = '[';
		buf[UBJSON_MAX_DEPTH + i] = ']';
	}
	v = ubjson_decode(buf, 2 * UBJSON_MAX_DEPTH, "t.ubj", err,
	    sizeof(err));
	assert_non_null(v);
	json_decref(v);
	memmove(buf + 1, buf, 2 * UBJSON_MAX_DEPTH);
	buf[0] = '[';
	buf[2 * UBJSON_MAX_DEPTH + 1] = ']';
	v = ubjson_decode(buf, 2 * UBJSON_MAX_DEPTH + 2, "t.ubj", err,
	    sizeof(err));
	assert_null(v);
	assert_string_equal(err, "t.ubj: byte 64: containers nested deeper "
	    "than 64");
}

/* Counts and lengths that the input cannot hold fail before allocating. */
static void
test_forged(void **state)
{
	FAILS("[$l#L\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00",
	    "byte 3: array count 4294967295 exceeds the 4 bytes left");
	FAILS("[$d#L\x7f\xff\xff\xff\xff\xff\xff\xff",
	    "array count 9223372036854775807 exceeds the 0 bytes left");
	/* 3 int32 need 12 bytes, 11 are there */
	FAILS("[$l#i\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
	    "array count 3 exceeds the 11 bytes left");
	FAILS("[#L\x00\x00\x00\x00\x00\x00\x00\x03ZZ",
	    "byte 1: array count 3 exceeds the 2 bytes left");
	FAILS("{#l\x10\x00\x00\x00i\x01" "aZ",
	    "object count 268435456 exceeds the 4 bytes left");
	FAILS("[#L\xff\xff\xff\xff\xff\xff\xff\xff", "count -1 is negative");
	FAILS("SL\x00\x00\x00\x00\x00\x01\x00\x00" "abc",
	    "byte 0: string length 65536 exceeds the 3 bytes left");
	FAILS("Si\xff", "string length -1 is negative");
	FAILS("{L\x00\x00\x00\x00\x7f\x00\x00\x00" "aZ}",
	    "byte 1: key length 2130706432 exceeds the 3 bytes left");
}

/* Everything else that is not a well-formed value. */
static void
test_malformed(void **state)
{
	FAILS("", "byte 0: truncated: a value expected");
	FAILS("x", "byte 0: unknown marker 'x'");
	FAILS("\x01", "byte 0: unknown marker 0x01");
	FAILS("ZZ", "byte 1: 1 bytes of trailing data after the value");
	FAILS("l\x00\x00", "byte 1: truncated: a number needs 4 bytes, 2 left");
	FAILS("[Z", "byte 2: truncated: array opened at byte 0 has no ']'");
	FAILS("{i\x01" "aZ", "truncated: object opened at byte 0 has no '}'");
	FAILS("{i\x01" "a", "truncated: a value expected");
	FAILS("{i\x01" "aZi\x01" "aT}", "byte 5: duplicate key \"a\"");
	FAILS("{SZ}", "key length: expected an integer marker (i U I l L), "
	    "got 'S'");
	FAILS("S" "d\x00\x00\x00\x01", "string length: expected an integer "
	    "marker");
	FAILS("Si\x02\xc3\x28", "byte 0: string is not valid UTF-8");
	FAILS("{i\x01\xffZ}", "key is not valid UTF-8");
	FAILS("C\xe9", "char is not ASCII");
	FAILS("[$S#i\x01i\x01" "a", "array of type 'S': only numeric types");
	FAILS("[$Z#L\x7f\x00\x00\x00\x00\x00\x00\x00", "only numeric types");
	FAILS("[$li\x01", "typed array without a '#' count");
	FAILS("[$", "truncated: a container type needs 1 bytes, 0 left");
	FAILS("Hi\x03" "abc", "high-precision number \"abc\" is not a number");
	FAILS("Hi\x14" "12345678901234567890", "is not a number");
	FAILS("]", "unknown marker ']'");
}

/* Deep-compare two trees, reals as the float32 XGBoost holds. */
static int
same_f32(const json_t *a, const json_t *b)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	if (json_is_real(a) && json_is_real(b))
		return (float)json_real_value(a) == (float)json_real_value(b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!same_f32(json_array_get(a, i),
			    json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, k, v)
			if (!same_f32(v, json_object_get(b, k)))
				return 0;
		return 1;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

/* A real model: UBJSON and JSON (with its bare NaN) give the same tree. */
static void
test_real_model(void **state)
{
	json_t	*u, *j, *sc;

	u = modelfmt_parse(tiny_ubj, sizeof(tiny_ubj), "tiny.ubj", err,
	    sizeof(err));
	if (u == NULL)
		fail_msg("%s", err);
	j = modelfmt_parse(tiny_json, sizeof(tiny_json) - 1, "tiny.json", err,
	    sizeof(err));
	if (j == NULL)
		fail_msg("%s", err);
	assert_true(same_f32(u, j));
	sc = NULL;
	assert_int_equal(json_unpack(u, "{s:{s:{s:{s:[{s:o}]}}}}", "learner",
	    "gradient_booster", "model", "trees", "split_conditions", &sc), 0);
	assert_int_equal(json_array_size(sc), 7);
	assert_true(json_is_null(json_array_get(sc, 0)));
	assert_true((float)json_real_value(json_array_get(sc, 1)) ==
	    6.326199E-2f);
	json_decref(u);
	json_decref(j);
}

/* Every proper prefix of a real model is an error, never a crash. */
static void
test_truncated_everywhere(void **state)
{
	json_t	*v;
	size_t	 n;

	for (n = 0; n < sizeof(tiny_ubj); n++) {
		err[0] = '\0';
		v = ubjson_decode(tiny_ubj, n, "tiny.ubj", err, sizeof(err));
		if (v != NULL)
			fail_msg("UBJSON prefix of %zu bytes decoded", n);
		if (strncmp(err, "tiny.ubj: byte ", 15) != 0)
			fail_msg("prefix %zu: bad error \"%s\"", n, err);
	}
	for (n = 0; n < sizeof(tiny_json) - 1; n++) {
		err[0] = '\0';
		v = modelfmt_parse(tiny_json, n, "tiny.json", err, sizeof(err));
		if (v != NULL)
			fail_msg("JSON prefix of %zu bytes parsed", n);
		if (strncmp(err, "tiny.json: ", 11) != 0)
			fail_msg("prefix %zu: bad error \"%s\"", n, err);
	}
}

/* Every byte of a real model changed to a few values: decoded or refused. */
static void
test_corrupted_everywhere(void **state)
{
	static const unsigned char vals[] = { 0x00, 0xff, 0x7f, '[', '{', 'L',
	    'N', ']' };
	unsigned char	 buf[sizeof(tiny_ubj)];
	json_t		*v;
	size_t		 i, k;

	for (i = 0; i < sizeof(tiny_ubj); i++)
		for (k = 0; k < sizeof(vals); k++) {
			memcpy(buf, tiny_ubj, sizeof(buf));
			buf[i] = vals[k];
			err[0] = '\0';
			v = ubjson_decode(buf, sizeof(buf), "c.ubj", err,
			    sizeof(err));
			if (v == NULL && err[0] == '\0')
				fail_msg("byte %zu = %u: no error", i, vals[k]);
			json_decref(v);
		}
}

/* Formats are told from the bytes; the refused ones say how to re-save. */
static void
test_sniff(void **state)
{
	json_t	*v;
	char	 raw[200];

	assert_int_equal(modelfmt_sniff("{\"learner\"", 10), MODELFMT_JSON);
	assert_int_equal(modelfmt_sniff(" \n\t{ \"a\"", 8), MODELFMT_JSON);
	assert_int_equal(modelfmt_sniff("{}", 2), MODELFMT_JSON);
	assert_int_equal(modelfmt_sniff(tiny_ubj, sizeof(tiny_ubj)),
	    MODELFMT_UBJSON);
	assert_int_equal(modelfmt_sniff("{i\x01" "aZ}", 6), MODELFMT_UBJSON);
	assert_int_equal(modelfmt_sniff("binf\x00\x00\x00\x3f", 8),
	    MODELFMT_BINARY);
	assert_int_equal(modelfmt_sniff("bs64AAAA", 8), MODELFMT_BASE64);
	assert_int_equal(modelfmt_sniff("CONFIG-offset:\x10", 15),
	    MODELFMT_SNAPSHOT);
	assert_int_equal(modelfmt_sniff("", 0), MODELFMT_UNKNOWN);
	assert_int_equal(modelfmt_sniff("{", 1), MODELFMT_JSON);
	assert_int_equal(modelfmt_sniff("\x00\x00\x00\x3f", 4),
	    MODELFMT_UNKNOWN);

	/* the binary format without "binf" (XGBoost < 1.0): by the names
	 * after the 136-byte LearnerModelParam */
	memset(raw, 0, sizeof(raw));
	raw[136] = 15;
	memcpy(raw + 144, "binary:logistic", 15);
	raw[159] = 6;
	memcpy(raw + 167, "gbtree", 6);
	assert_int_equal(modelfmt_sniff(raw, 173), MODELFMT_BINARY);
	assert_int_equal(modelfmt_sniff(raw, 172), MODELFMT_UNKNOWN);
	raw[172] = 'X';
	assert_int_equal(modelfmt_sniff(raw, 173), MODELFMT_UNKNOWN);
	raw[172] = 'e';
	raw[150] = 'X';		/* no ':' in the objective */
	assert_int_equal(modelfmt_sniff(raw, 173), MODELFMT_UNKNOWN);
	v = modelfmt_parse("binf\x00\x00\x00\x3f", 8, "m.bin", err,
	    sizeof(err));
	assert_null(v);
	assert_string_equal(err, "m.bin: XGBoost binary model, byte 4: "
	    "truncated: LearnerModelParam needs 136 bytes, 4 left (the file "
	    "is cut short or not an XGBoost model; if XGBoost loads it, "
	    "re-save it with save_model(\"model.json\"))");
	v = modelfmt_parse("bs64AAAA", 8, "m.b64", err, sizeof(err));
	assert_null(v);
	assert_non_null(strstr(err, "base64 format, which inferd does not "
	    "read"));
	v = modelfmt_parse("\x00\x01\x02", 3, "m.x", err, sizeof(err));
	assert_null(v);
	assert_string_equal(err, "m.x: not an XGBoost JSON, UBJSON or binary model "
	    "(first bytes 00 01 02); if XGBoost can load it, load it with "
	    "XGBoost and re-save it with save_model(\"model.json\") or "
	    "save_model(\"model.ubj\")");
	v = modelfmt_parse("", 0, "e.json", err, sizeof(err));
	assert_null(v);
	assert_string_equal(err, "e.json: empty file, not an XGBoost model");
}

/* Bare NaN / Infinity tokens become valid JSON, strings are untouched. */
static void
test_json_rewrite(void **state)
{
	static const char in[] = "[NaN,Infinity,-Infinity,+Infinity,"
	    "\"NaN\\\"NaN\",1E0]";
	char	*out, *d;
	size_t	 n;
	json_t	*v;

	out = modelfmt_json_rewrite(in, sizeof(in) - 1, &n);
	assert_non_null(out);
	assert_string_equal(out, "[null,\"Infinity\",\"-Infinity\","
	    "\"Infinity\",\"NaN\\\"NaN\",1E0]");
	assert_int_equal(n, strlen(out));
	/* offsets map back: the start of each token, and past them */
	assert_int_equal(modelfmt_json_origin(in, sizeof(in) - 1, 0), 0);
	assert_int_equal(modelfmt_json_origin(in, sizeof(in) - 1, 3), 1);
	assert_int_equal(modelfmt_json_origin(in, sizeof(in) - 1, 5), 4);
	assert_int_equal(modelfmt_json_origin(in, sizeof(in) - 1, 6), 5);
	assert_int_equal(modelfmt_json_origin(in, sizeof(in) - 1, n - 1),
	    sizeof(in) - 2);
	free(out);

	v = modelfmt_parse("{\"a\":[NaN,-Infinity]}", 21, "m.json", err,
	    sizeof(err));
	assert_non_null(v);
	d = json_dumps(v, JSON_COMPACT);
	assert_string_equal(d, "{\"a\":[null,\"-Infinity\"]}");
	free(d);
	json_decref(v);
}

/* JSON errors name the byte, line and column of the original text. */
static void
test_json_errors(void **state)
{
	static const char bad[] = "{\"a\":[NaN,NaN,\n  NaN, x]}";
	json_t	*v;

	v = modelfmt_parse(bad, sizeof(bad) - 1, "m.json", err, sizeof(err));
	assert_null(v);
	if (strncmp(err, "m.json: byte 22 (line 2, column 8): not valid "
	    "JSON: ", 48) != 0)
		fail_msg("%s", err);
	v = modelfmt_parse("{\"a\":1,\"a\":2}", 13, "m.json", err,
	    sizeof(err));
	assert_null(v);
	assert_non_null(strstr(err, "duplicate object key"));
	v = modelfmt_parse("{\"a\":[NaN", 9, "m.json", err, sizeof(err));
	assert_null(v);
	assert_non_null(strstr(err, "truncated JSON"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_nonfinite),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_forged),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_real_model),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_corrupted_everywhere),
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_json_rewrite),
		cmocka_unit_test(test_json_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
