/*
 * test_model_lgbm: LightGBM text models too small to get wrong, with
 * answers worked out by hand from LightGBM's Tree::NumericalDecision,
 * CategoricalDecision and Predict: each missing type and default
 * direction, the zero threshold, a double threshold a float32 input
 * crosses, categories (truncated, negative, unseen, NaN), linear leaves,
 * average_output, the sigmoid parameter and raw scores.
 * tests/integration/test_lgbm.py compares whole models with an
 * independent reference; these pin the rules one at a time.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inferd/model.h"
#include "../lib/scratch.h"

#define HEAD(nf, names, obj) \
	"tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\n" \
	"label_index=0\nmax_feature_idx=" nf "\nobjective=" obj "\n" \
	"feature_names=" names "\nfeature_infos=" names "\n"

/* One numerical split on feature 0 at 0.30000000000000004 (the double
 * above 0.3), leaves -1 (left) and 1; decision_type dt. */
static const char *
split_model(int dt, char *buf, size_t len)
{
	snprintf(buf, len, HEAD("0", "a", "regression")
	    "\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\n"
	    "threshold=0.30000000000000004\ndecision_type=%d\n"
	    "left_child=-1\nright_child=-2\nleaf_value=-1 1\n"
	    "is_linear=0\nshrinkage=1\n\n\nend of trees\n", dt);
	return buf;
}

/* Write text to name in the scratch directory and load it. */
static struct model *
load_text(const char *name, const char *text)
{
	char		 path[512], err[512];
	FILE		*f;
	struct model	*m;

	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	m = model_load(path, err, sizeof(err));
	if (m == NULL)
		fail_msg("%s", err);
	return m;
}

/* The prediction (or raw score) for one row of one feature. */
static double
one(const struct model *m, double x, int raw)
{
	double	 y;

	model_predict_double(m, &x, 1, &y, raw);
	return y;
}

static void
test_numerical_missing_types(void **state)
{
	char		 buf[1024];
	struct model	*m;
	float		 xf = 0.3f;
	double		 y;

	(void)state;
	/* type None (0): NaN is 0, which is <= 0.3...: left */
	m = load_text("none.txt", split_model(0, buf, sizeof(buf)));
	assert_true(model_wants_double(m));
	assert_string_equal(model_platform(m), "lightgbm");
	assert_string_equal(model_booster(m), "gbdt");
	assert_string_equal(model_name(m), "none");
	assert_true(one(m, NAN, 0) == -1.0);
	assert_true(one(m, 0.3, 0) == -1.0);	/* 0.3 <= 0.30000000000000004 */
	assert_true(one(m, 0.30000000000000004, 0) == -1.0);
	assert_true(one(m, 0.3000000000000001, 0) == 1.0);
	/* the same 0.3 as a float32 is 0.30000001192...: right */
	model_predict(m, &xf, 1, &y);
	assert_true(y == 1.0);
	model_free(m);
	/* type NaN (2) default right (8), default left (10) */
	m = load_text("nanr.txt", split_model(8, buf, sizeof(buf)));
	assert_true(one(m, NAN, 0) == 1.0);
	assert_true(one(m, 0.0, 0) == -1.0);
	model_free(m);
	m = load_text("nanl.txt", split_model(10, buf, sizeof(buf)));
	assert_true(one(m, NAN, 0) == -1.0);
	assert_true(one(m, 1.0, 0) == 1.0);
	model_free(m);
	/* type Zero (1) default right (4): 0, |x| <= 1e-35f and NaN go
	 * right; anything else compares */
	m = load_text("zero.txt", split_model(4, buf, sizeof(buf)));
	assert_true(one(m, 0.0, 0) == 1.0);
	assert_true(one(m, -0.0, 0) == 1.0);
	assert_true(one(m, 1e-36, 0) == 1.0);
	assert_true(one(m, (double)1e-35f, 0) == 1.0);
	assert_true(one(m, NAN, 0) == 1.0);
	assert_true(one(m, 2e-35, 0) == -1.0);
	assert_true(one(m, -5.0, 0) == -1.0);
	assert_true(one(m, 0.5, 0) == 1.0);
	model_free(m);
}

static void
test_zero_threshold(void **state)
{
	struct model	*m;

	(void)state;
	/* threshold 1e-36 with type None: a value up to 1e-35f is read as
	 * 0, which is <= 1e-36: left, even 5e-36 (> 1e-36 as it is) */
	m = load_text("zthr.txt", HEAD("0", "a", "regression")
	    "\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\n"
	    "threshold=1e-36\ndecision_type=0\n"
	    "left_child=-1\nright_child=-2\nleaf_value=-1 1\n"
	    "is_linear=0\nshrinkage=1\n\n\nend of trees\n");
	assert_true(one(m, 5e-36, 0) == -1.0);
	assert_true(one(m, 2e-35, 0) == 1.0);
	assert_true(one(m, -5e-36, 0) == -1.0);
	model_free(m);
}

static void
test_categorical(void **state)
{
	struct model	*m;

	(void)state;
	/* categories {0, 33}: words 1 and 2; in the set goes left (10) */
	m = load_text("cat.txt", HEAD("0", "c", "regression")
	    "\nTree=0\nnum_leaves=2\nnum_cat=1\nsplit_feature=0\n"
	    "threshold=0\ndecision_type=1\n"
	    "left_child=-1\nright_child=-2\nleaf_value=10 20\n"
	    "cat_boundaries=0 2\ncat_threshold=1 2\n"
	    "is_linear=0\nshrinkage=1\n\n\nend of trees\n");
	assert_true(one(m, 0.0, 0) == 10.0);
	assert_true(one(m, 0.7, 0) == 10.0);	/* truncated to 0 */
	assert_true(one(m, -0.5, 0) == 10.0);	/* (int)-0.5 is 0 */
	assert_true(one(m, 33.9, 0) == 10.0);
	assert_true(one(m, 1.0, 0) == 20.0);
	assert_true(one(m, 32.0, 0) == 20.0);
	assert_true(one(m, 64.0, 0) == 20.0);	/* beyond the bitset */
	assert_true(one(m, -1.0, 0) == 20.0);	/* negative */
	assert_true(one(m, NAN, 0) == 20.0);	/* NaN goes right */
	assert_true(one(m, 3e9, 0) == 20.0);	/* beyond int */
	model_free(m);
}

static void
test_linear_average_sigmoid(void **state)
{
	struct model	*m;
	double		 x[2] = { 3.0, NAN }, y[2];

	(void)state;
	/* one linear leaf: 1 + 2 * x, or the leaf value 7 when x is NaN */
	m = load_text("lin.txt", HEAD("0", "a", "regression")
	    "\nTree=0\nnum_leaves=1\nnum_cat=0\nsplit_feature=\nthreshold=\n"
	    "decision_type=\nleft_child=\nright_child=\nleaf_value=7\n"
	    "is_linear=1\nleaf_const=1\nnum_features=1\nleaf_features=0  \n"
	    "leaf_coeff=2  \nshrinkage=1\n\n\nend of trees\n");
	model_predict_double(m, x, 2, y, 0);
	assert_true(y[0] == 7.0 && y[1] == 7.0);
	x[0] = 4.0;
	model_predict_double(m, x, 1, y, 0);
	assert_true(y[0] == 9.0);
	model_free(m);
	/* average_output: (1 + 3) / 2, then sigmoid:2 */
	m = load_text("rf.txt", HEAD("0", "a", "binary sigmoid:2")
	    "average_output\n"
	    "\nTree=0\nnum_leaves=1\nnum_cat=0\nleaf_value=1\n"
	    "is_linear=0\nshrinkage=1\n\n\n"
	    "Tree=1\nnum_leaves=1\nnum_cat=0\nleaf_value=3\n"
	    "is_linear=0\nshrinkage=1\n\n\nend of trees\n");
	assert_string_equal(model_booster(m), "rf");
	assert_true(one(m, 0.0, 1) == 4.0);	/* raw: not averaged */
	assert_true(one(m, 0.0, 0) == 1.0 / (1.0 + exp(-2.0 * 2.0)));
	model_free(m);
}

static void
test_refused(void **state)
{
	char	 path[512], err[512];
	FILE	*f;

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.txt", scratch_dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(HEAD("0", "a", "regresion") "\nTree=0\nnum_leaves=1\n"
	    "num_cat=0\nleaf_value=1\n\nend of trees\n", f);
	assert_int_equal(fclose(f), 0);
	assert_null(model_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "bad.txt: line 7: objective "
	    "\"regresion\" is not one LightGBM writes"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numerical_missing_types),
		cmocka_unit_test(test_zero_threshold),
		cmocka_unit_test(test_categorical),
		cmocka_unit_test(test_linear_average_sigmoid),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, scratch_setup, scratch_cleanup);
}
