/*
 * test_refusal_cost: a request body that will be refused costs no more
 * CPU than a valid batch of the largest size (max_batch_rows rows) costs
 * to parse, in every protocol.  The refused bodies are the size of
 * max_body_bytes' default (1 MiB): rows of empty objects or arrays, a flat
 * list of numbers, too many valid rows, rows of the wrong length, deep
 * nesting, OIP tensors and outputs by the thousand.  The bound is loose
 * (three times the valid batch, plus 5 ms for a shared machine); the
 * figures are printed.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inferd/infer.h"
#include "inferd/model.h"

#include "infer_common.h"

#define COLS		32
#define MAX_ROWS	1000
#define BODY		(1 << 20)

static struct model	*wide;

/* A model of COLS features, one stump on feature 0. */
static int
setup_wide(void **state)
{
	char	 text[2048];

	if (setup(state) != 0)
		return -1;
	snprintf(text, sizeof(text),
	    "{\"learner\":{\"gradient_booster\":{\"name\":\"gbtree\","
	    "\"model\":{\"tree_info\":[0],\"trees\":[" STUMP("-1", "1") "]}},"
	    "\"learner_model_param\":{\"base_score\":\"5E-1\","
	    "\"num_class\":\"0\",\"num_feature\":\"%d\"},"
	    "\"objective\":{\"name\":\"binary:logistic\"}}}", COLS);
	return (wide = load("wide.json", text)) == NULL ? -1 : 0;
}

static int
teardown_wide(void **state)
{
	model_free(wide);
	return teardown(state);
}

/* A growing text (doubling: a 1 MiB body is 350,000 appends). */
struct text {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
add(struct text *t, const char *s)
{
	size_t	 n = strlen(s);

	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	memcpy(t->p + t->len, s, n + 1);
	t->len += n;
}

/* head, then unit repeated (joined by commas) up to about BODY bytes,
 * then tail. */
static char *
fill(const char *head, const char *unit, const char *tail)
{
	struct text	 t = { NULL, 0, 0 };
	size_t		 u = strlen(unit) + 1, n;

	add(&t, head);
	for (n = 0; t.len + u + strlen(tail) < BODY; n++) {
		if (n > 0)
			add(&t, ",");
		add(&t, unit);
	}
	add(&t, tail);
	return t.p;
}

/* CPU seconds of the best of three parses of body; *status its status
 * (200 when it parsed). */
static double
cost(enum infer_proto proto, const char *body, int *status)
{
	struct infer_batch	 b;
	struct infer_error	 err;
	struct timespec		 t0, t1;
	double			 s, best = 1e9;
	int			 i;

	for (i = 0; i < 3; i++) {
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
		if (infer_parse(proto, body, strlen(body), wide, MAX_ROWS, &b,
		    &err) == 0) {
			*status = 200;
			free(b.x);
		} else
			*status = err.status;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
		s = (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (s < best)
			best = s;
	}
	return best;
}

/* A valid row: COLS numbers, as an array or keyed by name. */
static char *
row(int keyed)
{
	struct text	 t = { NULL, 0, 0 };
	char		 tmp[32];
	int		 c;

	add(&t, keyed ? "{" : "[");
	for (c = 0; c < COLS; c++) {
		if (keyed)
			snprintf(tmp, sizeof(tmp), "%s\"f%d\":0.%d", c ? "," :
			    "", c, 1000 + c);
		else
			snprintf(tmp, sizeof(tmp), "%s0.%d", c ? "," : "",
			    1000 + c);
		add(&t, tmp);
	}
	add(&t, keyed ? "}" : "]");
	return t.p;
}

/* A body of n copies of unit between head and tail. */
static char *
times(const char *head, const char *unit, size_t n, const char *tail)
{
	struct text	 t = { NULL, 0, 0 };
	size_t		 i;

	add(&t, head);
	for (i = 0; i < n; i++) {
		if (i > 0)
			add(&t, ",");
		add(&t, unit);
	}
	add(&t, tail);
	return t.p;
}

static void
test_refusal_bounded(void **state)
{
	char		*keyed = row(1), *plain = row(0), *valid, *body;
	char		*deep;
	double		 ref, c;
	int		 status, i;
	const struct {
		enum infer_proto	 proto;
		const char		*name, *head, *unit, *tail;
	} bad[] = {
		{ INFER_PREDICT, "predict [{},...]", "{\"instances\":[", "{}",
		    "]}" },
		{ INFER_PREDICT, "predict [[],...]", "{\"instances\":[", "[]",
		    "]}" },
		{ INFER_PREDICT, "predict [1,...]", "{\"instances\":[", "1",
		    "]}" },
		{ INFER_PREDICT, "predict [[1,2],...]", "{\"instances\":[",
		    "[1,2]", "]}" },
		{ INFER_PREDICT, "predict features [{},...]",
		    "{\"features\":[", "{}", "]}" },
		{ INFER_V1, "v1 [{},...]", "{\"instances\":[", "{}", "]}" },
		{ INFER_V1, "v1 [{\"f0\":1},...]", "{\"instances\":[",
		    "{\"f0\":1}", "]}" },
		{ INFER_OIP, "oip data [{},...]", "{\"inputs\":[{\"name\":"
		    "\"input-0\",\"shape\":[1,32],\"datatype\":\"FP32\","
		    "\"data\":[", "{}", "]}]}" },
		{ INFER_OIP, "oip data [[],...]", "{\"inputs\":[{\"name\":"
		    "\"input-0\",\"shape\":[1,32],\"datatype\":\"FP32\","
		    "\"data\":[", "[]", "]}]}" },
		{ INFER_OIP, "oip outputs", "{\"inputs\":[],\"outputs\":[",
		    "{\"name\":\"predict\"}", "]}" },
		{ INFER_OIP, "oip inputs", "{\"inputs\":[", "{\"name\":\"f0\","
		    "\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}", "]}" },
		{ INFER_OIP, "oip parameters", "{\"parameters\":{\"a\":[",
		    "{}", "]},\"inputs\":[]}" },
	};

	(void)state;
	/* The reference: a valid maximum batch of rows keyed by name, which
	 * only jansson parses (the dearest valid form). */
	valid = times("{\"instances\":[", keyed, MAX_ROWS, "]}");
	ref = cost(INFER_PREDICT, valid, &status);
	assert_int_equal(status, 200);
	printf("# valid %d rows x %d keyed: %.2f ms (%zu bytes)\n", MAX_ROWS,
	    COLS, ref * 1e3, strlen(valid));
	free(valid);
	valid = times("{\"instances\":[", plain, MAX_ROWS, "]}");
	c = cost(INFER_PREDICT, valid, &status);
	assert_int_equal(status, 200);
	printf("# valid %d rows x %d arrays: %.2f ms\n", MAX_ROWS, COLS,
	    c * 1e3);
	free(valid);

	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		body = fill(bad[i].head, bad[i].unit, bad[i].tail);
		c = cost(bad[i].proto, body, &status);
		printf("# refused %-26s %d after %.2f ms\n", bad[i].name,
		    status, c * 1e3);
		assert_true(status == 400 || status == 413);
		assert_true(c <= 3 * ref + 0.005);
		free(body);
	}
	/* too many valid rows, and rows one feature short */
	body = times("{\"instances\":[", plain, BODY / strlen(plain) - 1, "]}");
	c = cost(INFER_PREDICT, body, &status);
	printf("# refused %-26s %d after %.2f ms\n", "too many rows", status,
	    c * 1e3);
	assert_int_equal(status, 413);
	assert_true(c <= 3 * ref + 0.005);
	free(body);
	plain[strlen(plain) - 7] = ']';
	plain[strlen(plain) - 6] = '\0';
	body = times("{\"instances\":[", plain, MAX_ROWS, "]}");
	c = cost(INFER_PREDICT, body, &status);
	printf("# refused %-26s %d after %.2f ms\n", "short rows", status,
	    c * 1e3);
	assert_int_equal(status, 400);
	assert_true(c <= 3 * ref + 0.005);
	free(body);
	/* nesting */
	assert_non_null(deep = malloc(BODY + 1));
	memset(deep, '[', BODY);
	deep[BODY] = '\0';
	memcpy(deep, "{\"instances\":", 13);
	c = cost(INFER_PREDICT, deep, &status);
	printf("# refused %-26s %d after %.2f ms\n", "deep", status, c * 1e3);
	assert_int_equal(status, 400);
	assert_true(c <= 3 * ref + 0.005);
	free(deep);
	free(keyed);
	free(plain);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusal_bounded),
	};

	return cmocka_run_group_tests(tests, setup_wide, teardown_wide);
}
