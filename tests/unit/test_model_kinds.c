/*
 * test_model_kinds: the loader's newer paths on small hand-written
 * models: categorical splits (XGBoost's rule for unseen, negative, large
 * and fractional values), dart weights, gblinear, the exp and hinge
 * transforms, multi-target quantile models, model_trees = best, the load
 * limits and a FIFO; and one corrupt model per new error message.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L	/* mkdtemp, mkfifo */
#endif

#include <sys/stat.h>

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

#include "inferd/model.h"

#include "scratch.h"

/* A stump on feature 0: x < COND goes left (missing: left). */
#define STUMP(cond, l, r) \
	"{\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"	\
	"\"split_indices\":[0,0,0],\"split_conditions\":[" cond "," l ","	\
	r "],\"default_left\":[1,0,0],\"split_type\":[0,0,0],"		\
	"\"categories\":[],\"categories_nodes\":[],"			\
	"\"categories_segments\":[],\"categories_sizes\":[]}"

/* A categorical stump on feature 0: categories 1, 3 and 40 go right
 * (+1), anything else left (-1), missing left. */
#define CAT_STUMP \
	"{\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"	\
	"\"split_indices\":[0,0,0],\"split_conditions\":[NaN,-1,1],"	\
	"\"default_left\":[1,0,0],\"split_type\":[1,0,0],"		\
	"\"categories\":[1,3,40],\"categories_nodes\":[0],"		\
	"\"categories_segments\":[0],\"categories_sizes\":[3]}"

/* A categorical stump on feature 0 whose set is the categories cats (a
 * JSON list of n): in the set right (+1), else left (-1), missing left. */
#define CAT_STUMP_OF(cats, n) \
	"{\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"	\
	"\"split_indices\":[0,0,0],\"split_conditions\":[NaN,-1,1],"	\
	"\"default_left\":[1,0,0],\"split_type\":[1,0,0],"		\
	"\"categories\":" cats ",\"categories_nodes\":[0],"		\
	"\"categories_segments\":[0],\"categories_sizes\":[" n "]}"

/* A model: attributes, booster object, objective, base_score, num_target
 * and num_feature. */
#define MODEL_FMT \
	"{\"learner\":{\"attributes\":{%s},\"gradient_booster\":%s,"	\
	"\"learner_model_param\":{\"base_score\":\"%s\",\"num_class\":"	\
	"\"%s\",\"num_target\":\"%s\",\"num_feature\":\"2\"},"		\
	"\"objective\":{\"name\":\"%s\"}},\"version\":[1,7,4]}"

#define GBTREE(info, trees) \
	"{\"name\":\"gbtree\",\"model\":{\"gbtree_model_param\":{"	\
	"\"num_parallel_tree\":\"1\"},\"tree_info\":" info ","		\
	"\"trees\":[" trees "]}}"


/* Write model text built from the arguments to a file; return its path. */
static const char *
write_model(const char *attrs, const char *gb, const char *base,
    const char *nclass, const char *ntarget, const char *objective)
{
	static char	 path[300];
	static int	 n;
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/m%d.json", scratch_dir, n++);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, MODEL_FMT, attrs, gb, base, nclass, ntarget, objective);
	assert_int_equal(fclose(fp), 0);
	return path;
}

/* Load path with lim (NULL: defaults); fail the test unless it loads. */
static struct model *
load(const char *path, const struct model_limits *lim)
{
	char		 err[1024];
	struct model	*m;

	if ((m = model_load_limits(path, lim, err, sizeof(err))) == NULL)
		fail_msg("model_load: %s", err);
	return m;
}

/* Load path, which must fail with a message containing want. */
static void
refused(const char *path, const struct model_limits *lim, const char *want)
{
	char		 err[1024];
	struct model	*m;

	m = model_load_limits(path, lim, err, sizeof(err));
	if (m != NULL) {
		model_free(m);
		fail_msg("loaded, but expected \"%s\"", want);
	}
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	if (getenv("TEST_VERBOSE") != NULL)
		fprintf(stderr, "%s\n", err);
}

/* Predict one row (x0, x1) of a one-output model. */
static double
predict1(const struct model *m, float x0, float x1)
{
	float	 x[2] = { x0, x1 };
	double	 y;

	model_predict(m, x, 1, &y);
	return y;
}

static void
test_categorical_rule(void **state)
{
	/* value, expected: in the set {1, 3, 40} right (+1), else left */
	static const struct { float v; double y; } cases[] = {
		{ 1, 1 }, { 3, 1 }, { 40, 1 }, { 2, -1 }, { 0, -1 },
		{ 41, -1 }, { 39, -1 }, { 1000, -1 }, { -1, -1 },
		{ -0.5f, -1 }, { 2.5f, -1 }, { 3.999f, 1 }, { 1.5f, 1 },
		{ 40.9f, 1 }, { 1e9f, -1 }, { 16777216.0f, -1 },
		{ INFINITY, -1 }, { -INFINITY, -1 }, { NAN, -1 },
	};
	struct model	*m;
	float		 x[2 * 19];
	double		 y[19];
	size_t		 i, n = sizeof(cases) / sizeof(cases[0]);

	(void)state;
	m = load(write_model("", GBTREE("[0]", CAT_STUMP), "0", "0", "1",
	    "reg:squarederror"), NULL);
	for (i = 0; i < n; i++) {
		x[2 * i] = cases[i].v;
		x[2 * i + 1] = 0.0f;
		assert_true(predict1(m, cases[i].v, 0) == cases[i].y);
	}
	model_predict(m, x, n, y);	/* the batched walk agrees */
	for (i = 0; i < n; i++)
		if (y[i] != cases[i].y)
			fail_msg("row %zu (%g): %g, want %g", i,
			    (double)cases[i].v, y[i], cases[i].y);
	model_free(m);
}

/*
 * A category one word past a set is not in it: the sets of two trees lie
 * one after the other (a word count, then the words), so a bound off by
 * one would read the next set's word count as the first set's bits.  Set
 * {1} is one word; the next set's count (1) has bit 0 set, which is
 * category 32 for a walk that reads one word too far.
 */
static void
test_categorical_set_bound(void **state)
{
	static const float	 v[] = { 32, 33, 63, 64, 95, 96, 1, 0 };
	static const double	 want[] = { -2, -2, -2, -2, -2, -2, 0, 0 };
	struct model		*m;
	float			 x[2 * 8];
	double			 y[8];
	size_t			 i;

	(void)state;
	m = load(write_model("", GBTREE("[0,0]", CAT_STUMP_OF("[1]", "1") ","
	    CAT_STUMP_OF("[0]", "1")), "0", "0", "1", "reg:squarederror"),
	    NULL);
	for (i = 0; i < 8; i++) {
		x[2 * i] = v[i];
		x[2 * i + 1] = 0.0f;
		if (predict1(m, v[i], 0) != want[i])
			fail_msg("category %g: %g, want %g", (double)v[i],
			    predict1(m, v[i], 0), want[i]);
	}
	model_predict(m, x, 8, y);	/* the batched walk agrees */
	for (i = 0; i < 8; i++)
		if (y[i] != want[i])
			fail_msg("batched, category %g: %g, want %g",
			    (double)v[i], y[i], want[i]);
	model_free(m);
}

/*
 * The sigmoid as XGBoost's common::Sigmoid: the exponent clamped at 88.7
 * (expf stays finite) and 1e-16 in the denominator, in float32.  A very
 * negative margin gives a tiny positive number, not 0.
 */
static void
test_sigmoid_clamp(void **state)
{
	struct model	*m;
	double		 want = (double)(1.0f / (expf(88.7f) + 1.0f + 1e-16f));

	(void)state;
	m = load(write_model("", GBTREE("[0]", STUMP("0.5", "-100", "100")),
	    "0.5", "0", "1", "binary:logistic"), NULL);
	assert_true(want > 0);
	if (predict1(m, 0, 0) != want)
		fail_msg("sigmoid(-100): %a, want %a", predict1(m, 0, 0), want);
	assert_true(predict1(m, 1, 0) == 1.0);
	model_free(m);
}

static void
test_dart_weights(void **state)
{
	struct model	*m;

	(void)state;
	m = load(write_model("", "{\"name\":\"dart\",\"gbtree\":"
	    GBTREE("[0,0]", STUMP("0.5", "-1", "1") "," STUMP("0.5", "0.25",
	    "3")) ",\"weight_drop\":[0.5,2]}", "0", "0", "1",
	    "reg:squarederror"), NULL);
	assert_string_equal(model_booster(m), "dart");
	assert_true(predict1(m, 0, 0) == -0.5 + 0.5);
	assert_true(predict1(m, 1, 0) == 0.5 + 6);
	model_free(m);
}

static void
test_gblinear(void **state)
{
	struct model	*m;
	double		 y[2];
	float		 x[2] = { 1.0f, NAN };

	(void)state;
	m = load(write_model("", "{\"name\":\"gblinear\",\"model\":{"
	    "\"weights\":[2,-1,0.5]}}", "1", "0", "1", "reg:squarederror"),
	    NULL);
	assert_string_equal(model_booster(m), "gblinear");
	assert_true(predict1(m, 1, 3) == 0.5 + 1 + 2 - 3);
	assert_true(predict1(m, NAN, 3) == 0.5 + 1 - 3);	/* skipped */
	model_free(m);
	/* two classes: weight of feature i for class g at i * 2 + g */
	m = load(write_model("", "{\"name\":\"gblinear\",\"model\":{"
	    "\"weights\":[1,-1,0,0,0,0]}}", "0.5", "2", "1",
	    "multi:softmax"), NULL);
	assert_true(predict1(m, 1, 0) == 0);
	assert_true(predict1(m, -1, 0) == 1);
	/* a tie goes to the first class, as XGBoost's FindMaxIndex */
	assert_true(predict1(m, 0, 0) == 0);
	assert_true(predict1(m, NAN, 0) == 0);
	model_free(m);
	m = load(write_model("", "{\"name\":\"gblinear\",\"model\":{"
	    "\"weights\":[1,-1,0,0,0,0]}}", "0.5", "2", "1",
	    "multi:softprob"), NULL);
	model_predict(m, x, 1, y);
	assert_float_equal(y[0], 1 / (1 + exp(-2.0)), 1e-6);
	model_free(m);
}

static void
test_exp_hinge_quantile(void **state)
{
	const char	*gb = GBTREE("[0]", STUMP("0.5", "-1", "1"));
	struct model	*m;
	float		 x[2] = { 1.0f, 0.0f };
	double		 y[2];

	(void)state;
	/* base_score 2 is margin logf(2); exp gives it back */
	m = load(write_model("", gb, "2", "0", "1", "count:poisson"), NULL);
	assert_true(predict1(m, 1, 0) == (double)expf(logf(2.0f) + 1.0f));
	model_free(m);
	m = load(write_model("", gb, "5E-1", "0", "1", "survival:cox"), NULL);
	assert_true(predict1(m, 0, 0) == (double)expf(logf(0.5f) - 1.0f));
	model_free(m);
	m = load(write_model("", gb, "5E-1", "0", "1", "binary:hinge"), NULL);
	assert_true(predict1(m, 1, 0) == 1.0);
	assert_true(predict1(m, 0, 0) == 0.0);
	model_free(m);
	m = load(write_model("", gb, "[5E-1]", "0", "1", "rank:ndcg"), NULL);
	assert_true(predict1(m, 1, 0) == 1.5);
	model_free(m);
	/* 2.x/3.x quantile model: one target per alpha, base per target */
	m = load(write_model("", GBTREE("[0,1]", STUMP("0.5", "-1", "1") ","
	    STUMP("0.5", "-2", "2")), "[1E1,2E1]", "0", "2",
	    "reg:quantileerror"), NULL);
	assert_int_equal(model_noutputs(m), 2);
	model_predict(m, x, 1, y);
	assert_true(y[0] == 11.0 && y[1] == 22.0);
	model_free(m);
}

static void
test_model_trees_best(void **state)
{
	struct model_limits lim = { MODEL_DEFAULT_MAX_BYTES,
			    MODEL_DEFAULT_MAX_DEPTH, MODEL_TREES_BEST };
	const char	*path;
	struct model	*m;
	char		 note[512];

	(void)state;
	path = write_model("\"best_iteration\":\"1\"", GBTREE("[0,0,0]",
	    STUMP("0.5", "1", "1") "," STUMP("0.5", "2", "2") ","
	    STUMP("0.5", "4", "4")), "0", "0", "1", "reg:squarederror");
	m = load(path, &lim);
	assert_int_equal(model_ntrees(m), 2);
	assert_true(predict1(m, 0, 0) == 3.0);
	assert_int_equal(model_trees_note(m, note, sizeof(note)), 1);
	assert_non_null(strstr(note, "serving 2 of 3 rounds, up to "
	    "best_iteration 1 (model_trees = best; model_trees = all"));
	model_free(m);
	m = load(path, NULL);
	assert_int_equal(model_ntrees(m), 3);
	assert_true(predict1(m, 0, 0) == 7.0);
	assert_int_equal(model_trees_note(m, note, sizeof(note)), 1);
	assert_non_null(strstr(note, "best_iteration 1 (2 rounds) but "
	    "serving all 3 rounds"));
	model_free(m);
	/* best_iteration at the last round, as 1.7 sets it: no note */
	m = load(write_model("\"best_iteration\":\"0\"", GBTREE("[0]",
	    STUMP("0.5", "1", "1")), "0", "0", "1", "reg:squarederror"),
	    &lim);
	assert_int_equal(model_trees_note(m, note, sizeof(note)), 0);
	model_free(m);
}

static void
test_limits_and_fifo(void **state)
{
	struct model_limits lim = { 100, MODEL_DEFAULT_MAX_DEPTH,
			    MODEL_TREES_ALL };
	const char	*path;
	char		 fifo[300];

	(void)state;
	path = write_model("", GBTREE("[0]", STUMP("0.5", "1", "1")), "0",
	    "0", "1", "reg:squarederror");
	refused(path, &lim, "bytes, more than max_model_bytes (100)");
	lim.max_bytes = MODEL_DEFAULT_MAX_BYTES;
	lim.max_depth = 0;
	refused(path, &lim, "trees[0]: deeper than 0 levels (max_tree_depth)");
	snprintf(fifo, sizeof(fifo), "%s/fifo.json", scratch_dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	refused(fifo, NULL, "fifo.json: is a FIFO, not a regular file");
}

/* A corrupt model and the message it must give. */
struct corrupt {
	const char	*gb;
	const char	*objective;
	const char	*base;
	const char	*attrs;
	const char	*want;
};

#define BAD_CAT(k, v) \
	GBTREE("[0]", "{\"left_children\":[1,-1,-1],\"right_children\":"	\
	"[2,-1,-1],\"split_indices\":[0,0,0],\"split_conditions\":"	\
	"[NaN,-1,1],\"default_left\":[1,0,0],\"split_type\":[1,0,0]," k	\
	"\"categories\":" v "}")

static const struct corrupt corrupt[] = {
	{ BAD_CAT("\"categories_nodes\":[1],\"categories_segments\":[0],"
	    "\"categories_sizes\":[1],", "[1]"), NULL, NULL, NULL,
	    "trees[0].categories_nodes[0]: node 1 is not a categorical split" },
	{ BAD_CAT("\"categories_nodes\":[0],\"categories_segments\":[0],"
	    "\"categories_sizes\":[1],", "[16777216]"), NULL, NULL, NULL,
	    "trees[0].categories[0]: 16777216 out of range (0 to 16777215)" },
	{ BAD_CAT("\"categories_nodes\":[0],\"categories_segments\":[1],"
	    "\"categories_sizes\":[2],", "[1,3]"), NULL, NULL, NULL,
	    "trees[0].categories_segments[0]: 1 + 2 categories is past the "
	    "end of categories (2)" },
	{ BAD_CAT("\"categories_nodes\":[0],\"categories_segments\":[0],",
	    "[1]"), NULL, NULL, NULL,
	    "trees[0].categories_sizes: 0 entries, but categories_nodes has 1" },
	{ BAD_CAT("\"categories_nodes\":[0],\"categories_segments\":[0],"
	    "\"categories_sizes\":[1],", "[-3]"), NULL, NULL, NULL,
	    "trees[0].categories[0]: -3 out of range" },
	{ "{\"name\":\"dart\",\"gbtree\":" GBTREE("[0,0]", STUMP("0.5", "1",
	    "1") "," STUMP("0.5", "1", "1")) ",\"weight_drop\":[0.5]}", NULL,
	    NULL, NULL, "learner.gradient_booster.weight_drop: 1 weights, but "
	    "there are 2 trees" },
	{ "{\"name\":\"dart\",\"gbtree\":" GBTREE("[0]", STUMP("0.5", "1",
	    "1")) ",\"weight_drop\":[NaN]}", NULL, NULL, NULL,
	    "learner.gradient_booster.weight_drop[0]: not a finite number" },
	{ "{\"name\":\"dart\",\"gbtree\":" GBTREE("[0]", STUMP("NaN", "1",
	    "1")) ",\"weight_drop\":[1]}", NULL, NULL, NULL,
	    "learner.gradient_booster.gbtree.model.trees[0].split_conditions"
	    "[0]: NaN in a numerical split" },
	{ "{\"name\":\"gblinear\",\"model\":{\"weights\":[1,2]}}", NULL, NULL,
	    NULL, "learner.gradient_booster.model.weights: 2 entries, but "
	    "(num_feature 2 + 1) x 1 output group is 3" },
	{ "{\"name\":\"gblinear\",\"model\":{\"weights\":[1,Infinity,0]}}",
	    NULL, NULL, NULL,
	    "learner.gradient_booster.model.weights[1]: inf is not finite" },
	{ NULL, "count:poisson", "0", NULL, "learner.learner_model_param."
	    "base_score: 0 is not positive as count:poisson needs" },
	{ NULL, "reg:gamma", "-1", NULL, "base_score: -1 is not positive" },
	{ NULL, NULL, NULL, "\"best_iteration\":\"x\"",
	    "learner.attributes.best_iteration: \"x\" is not a count" },
};

static void
test_corrupt(void **state)
{
	const struct corrupt	*c;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		c = &corrupt[i];
		refused(write_model(c->attrs ? c->attrs : "", c->gb ? c->gb :
		    GBTREE("[0]", STUMP("0.5", "1", "1")), c->base ? c->base :
		    "0.5", "0", "1", c->objective ? c->objective :
		    "reg:squarederror"), NULL, c->want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_categorical_rule),
		cmocka_unit_test(test_categorical_set_bound),
		cmocka_unit_test(test_sigmoid_clamp),
		cmocka_unit_test(test_dart_weights),
		cmocka_unit_test(test_gblinear),
		cmocka_unit_test(test_exp_hinge_quantile),
		cmocka_unit_test(test_model_trees_best),
		cmocka_unit_test(test_limits_and_fifo),
		cmocka_unit_test(test_corrupt),
	};

	return cmocka_run_group_tests(tests, scratch_setup,
	    scratch_cleanup);
}
