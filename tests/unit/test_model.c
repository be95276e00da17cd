/*
 * test_model: the XGBoost JSON loader and evaluator on small hand-written
 * models: every objective, missing values, base_score forms, and one
 * corrupt model per error the loader reports.  Also SHA-256 test vectors.
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

#include <sha2.h>

#include "inferd/model.h"

#include "scratch.h"

/*
 * Tree A, 2 features:
 *   0: f0 < 0.5 (missing: left)  -> 1 / 2
 *   1: f1 < 2.0 (missing: right) -> 3 / 4
 *   2: leaf 0.25    3: leaf -0.5    4: leaf 0.75
 * default_left as integers, as XGBoost 1.7 writes it.
 */
#define TREE_A \
	"{\"base_weights\":[0,0,0,0,0],\"categories\":[],"		\
	"\"default_left\":[1,0,0,0,0],\"id\":0,"			\
	"\"left_children\":[1,3,-1,-1,-1],"				\
	"\"loss_changes\":[1,1,0,0,0],"					\
	"\"parents\":[2147483647,0,0,1,1],"				\
	"\"right_children\":[2,4,-1,-1,-1],"				\
	"\"split_conditions\":[0.5,2.0,0.25,-0.5,0.75],"		\
	"\"split_indices\":[0,1,0,0,0],\"split_type\":[0,0,0,0,0],"	\
	"\"sum_hessian\":[5,3,2,1,2],"					\
	"\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"2\","	\
	"\"num_nodes\":\"5\",\"size_leaf_vector\":\"0\"}}"

/*
 * Tree B: f1 < 0 (missing: right), children stored out of order (left is
 * node 2, right node 1), default_left as booleans, no tree_param.
 *   left: leaf 0.125, right: leaf -0.125
 */
#define TREE_B \
	"{\"default_left\":[false,false,false],"			\
	"\"left_children\":[2,-1,-1],\"right_children\":[1,-1,-1],"	\
	"\"split_conditions\":[0,-0.125,0.125],"			\
	"\"split_indices\":[1,0,0]}"

#define MODEL_FMT \
	"{\"learner\":{\"attributes\":{},\"feature_names\":[],"		\
	"\"feature_types\":[],\"gradient_booster\":{\"model\":{"	\
	"\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","		\
	"\"num_trees\":\"2\",\"size_leaf_vector\":\"0\"},"		\
	"\"tree_info\":%s,\"trees\":[" TREE_A "," TREE_B "]},"		\
	"\"name\":\"gbtree\"},\"learner_model_param\":{"		\
	"\"base_score\":%s,\"boost_from_average\":\"1\","		\
	"\"num_class\":\"%s\",\"num_feature\":\"2\","			\
	"\"num_target\":\"1\"},\"objective\":{\"name\":\"%s\"}},"	\
	"\"version\":[1,7,4]}"

static int	 tmpcount;

/* Write text to a new file in scratch_dir named name; return its path. */
static char *
write_file(const char *name, const char *text, size_t len)
{
	static char	 path[256];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	tmpcount++;
	return path;
}

/* Build a model with trees A and B (a binary model uses both for one
 * output; a 2-class model gives A to class 0 and B to class 1). */
static char *
make_model(const char *objective, const char *base_score,
    const char *num_class, const char *tree_info)
{
	static char	 text[8192];

	snprintf(text, sizeof(text), MODEL_FMT, tree_info, base_score,
	    num_class, objective);
	return text;
}

/* Return a malloc'd copy of s with the first "from" replaced by "to";
 * fails the test if from is not there. */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char	*p = strstr(s, from);
	char		*r;
	size_t		 n;

	if (p == NULL)
		fail_msg("\"%s\" not in the model text", from);
	n = strlen(s) - strlen(from) + strlen(to) + 1;
	r = malloc(n);
	assert_non_null(r);
	snprintf(r, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	return r;
}

/* Load model text; fail the test unless it loads. */
static struct model *
load_text(const char *text)
{
	char		 err[512];
	struct model	*m;

	m = model_load(write_file("m.json", text, strlen(text)), err,
	    sizeof(err));
	if (m == NULL)
		fail_msg("model_load: %s", err);
	return m;
}

/* Load model text that must fail, and check the message has want. */
static void
expect_error(const char *text, size_t len, const char *want)
{
	char		 err[512];
	struct model	*m;

	m = model_load(write_file("bad.json", text, len), err, sizeof(err));
	if (m != NULL) {
		model_free(m);
		fail_msg("loaded, but expected error \"%s\"", want);
	}
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	if (strncmp(err, scratch_dir, strlen(scratch_dir)) != 0)
		fail_msg("error \"%s\" does not name the file", err);
	if (getenv("TEST_VERBOSE") != NULL)
		fprintf(stderr, "%s\n", err);
}

/* The rows every evaluator test uses, and tree A's and B's leaves. */
static const float rows[][2] = {
	{ 0.1f, 1.0f },		/* A: -0.5   B: right -0.125 */
	{ 0.1f, 3.0f },		/* A: 0.75   B: -0.125 */
	{ 0.9f, -1.0f },	/* A: 0.25   B: left 0.125 */
	{ NAN, 1.0f },		/* A: missing goes left, -0.5; B: -0.125 */
	{ 0.1f, NAN },		/* A: missing goes right, 0.75; B: missing right */
	{ 0.5f, 0.0f },		/* A: equal goes right, 0.25; B: equal right */
	{ NAN, NAN },		/* A: left then right, 0.75; B: right */
};
#define NROWS	(sizeof(rows) / sizeof(rows[0]))
static const float leaf_a[NROWS] = { -0.5f, 0.75f, 0.25f, -0.5f, 0.75f, 0.25f,
	0.75f };
static const float leaf_b[NROWS] = { -0.125f, -0.125f, 0.125f, -0.125f,
	-0.125f, -0.125f, -0.125f };

/* Predict all rows with m into out. */
static void
predict_rows(const struct model *m, double *out)
{
	model_predict(m, &rows[0][0], NROWS, out);
}

static void
test_squarederror(void **state)
{
	struct model	*m;
	double		 y[NROWS];
	size_t		 i;

	(void)state;
	m = load_text(make_model("reg:squarederror", "\"5E-1\"", "0", "[0,0]"));
	assert_int_equal(model_nfeatures(m), 2);
	assert_int_equal(model_noutputs(m), 1);
	assert_int_equal(model_ntrees(m), 2);
	assert_string_equal(model_objective(m), "reg:squarederror");
	assert_string_equal(model_name(m), "m");
	predict_rows(m, y);
	for (i = 0; i < NROWS; i++)
		assert_true(y[i] == (double)(0.5f + leaf_a[i] + leaf_b[i]));
	assert_true(y[0] == -0.125);
	assert_true(y[1] == 1.125);
	model_free(m);
}

static void
test_reg_linear_alias_and_base_forms(void **state)
{
	static const char *forms[] = { "\"[5E-1]\"", "0.5", "\"0.5\"",
	    "\" [ 5E-1 ] \"" };
	struct model	*m;
	double		 y[NROWS];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		m = load_text(make_model("reg:linear", forms[i], "0", "[0,0]"));
		predict_rows(m, y);
		assert_true(y[0] == -0.125);
		assert_true(y[2] == 0.875);
		model_free(m);
	}
}

static void
test_binary_logistic(void **state)
{
	struct model	*m;
	double		 y[NROWS];
	size_t		 i;
	float		 margin;

	(void)state;
	m = load_text(make_model("binary:logistic", "\"5E-1\"", "0", "[0,0]"));
	predict_rows(m, y);
	for (i = 0; i < NROWS; i++) {
		/* base 0.5 is margin 0 */
		margin = 0.0f + leaf_a[i] + leaf_b[i];
		assert_true(y[i] == (double)(1.0f / (1.0f + expf(-margin))));
	}
	assert_float_equal(y[0], 1.0 / (1.0 + exp(0.625)), 1e-7);
	model_free(m);
}

static void
test_reg_logistic_base(void **state)
{
	struct model	*m;
	double		 y[NROWS];
	float		 margin;

	(void)state;
	m = load_text(make_model("reg:logistic", "\"2E-1\"", "0", "[0,0]"));
	predict_rows(m, y);
	/* base_score 0.2 is margin logit(0.2) = -log(4) */
	margin = -logf(1.0f / 0.2f - 1.0f) + leaf_a[1] + leaf_b[1];
	assert_true(y[1] == (double)(1.0f / (1.0f + expf(-margin))));
	assert_float_equal(y[1], 1.0 / (1.0 + exp(log(4.0) - 0.625)), 1e-7);
	model_free(m);
}

static void
test_binary_logitraw(void **state)
{
	struct model	*m;
	double		 y[NROWS];

	(void)state;
	/* XGBoost keeps logitraw's base_score as a margin. */
	m = load_text(make_model("binary:logitraw", "\"2E-1\"", "0", "[0,0]"));
	predict_rows(m, y);
	assert_true(y[1] == (double)(0.2f + 0.75f - 0.125f));
	model_free(m);
}

static void
test_multi_softprob(void **state)
{
	struct model	*m;
	double		 y[NROWS * 2];
	size_t		 i;
	float		 m0, m1, mx, e0, e1;
	double		 sum;

	(void)state;
	m = load_text(make_model("multi:softprob", "\"5E-1\"", "2", "[0,1]"));
	assert_int_equal(model_noutputs(m), 2);
	predict_rows(m, y);
	for (i = 0; i < NROWS; i++) {
		m0 = 0.5f + leaf_a[i];
		m1 = 0.5f + leaf_b[i];
		mx = fmaxf(m0, m1);
		e0 = expf(m0 - mx);
		e1 = expf(m1 - mx);
		sum = (double)e0 + (double)e1;
		assert_true(y[2 * i] == (double)(e0 / (float)sum));
		assert_true(y[2 * i + 1] == (double)(e1 / (float)sum));
		assert_float_equal(y[2 * i] + y[2 * i + 1], 1.0, 1e-6);
	}
	model_free(m);
}

static void
test_multi_softmax(void **state)
{
	struct model	*m;
	double		 y[NROWS];
	size_t		 i;

	(void)state;
	/* trees in the other order: class 0 has B, class 1 has A */
	m = load_text(make_model("multi:softmax", "\"5E-1\"", "2", "[1,0]"));
	assert_int_equal(model_noutputs(m), 1);
	predict_rows(m, y);
	for (i = 0; i < NROWS; i++)
		assert_true(y[i] == (leaf_a[i] > leaf_b[i] ? 1.0 : 0.0));
	model_free(m);
}

static void
test_deep_chain(void **state)
{
	/* A chain of 2000 nodes going left: deep trees need no recursion. */
	enum { N = 2001 };
	struct model_limits lim = { MODEL_DEFAULT_MAX_BYTES, 0,
			    MODEL_TREES_ALL };
	char		*text, *p, *path, err[512];
	size_t		 cap = (size_t)N * 64 + 4096, i;
	struct model	*m;
	float		 x[2] = { 0.0f, 0.0f };
	double		 y;

	(void)state;
	text = p = malloc(cap);
	assert_non_null(text);
	p += sprintf(p, "{\"learner\":{\"gradient_booster\":{\"name\":"
	    "\"gbtree\",\"model\":{\"tree_info\":[0],\"trees\":[{"
	    "\"left_children\":[");
	for (i = 0; i < N; i++)	/* internal 2k -> 2k+2 (left), 2k+1 */
		p += sprintf(p, "%s%ld", i ? "," : "", i % 2 == 0 &&
		    i + 2 < N ? (long)i + 2 : -1L);
	p += sprintf(p, "],\"right_children\":[");
	for (i = 0; i < N; i++)
		p += sprintf(p, "%s%ld", i ? "," : "", i % 2 == 0 &&
		    i + 2 < N ? (long)i + 1 : -1L);
	p += sprintf(p, "],\"split_conditions\":[");
	for (i = 0; i < N; i++)
		p += sprintf(p, "%s%s", i ? "," : "", i == N - 1 ? "42" : "1");
	p += sprintf(p, "],\"split_indices\":[");
	for (i = 0; i < N; i++)
		p += sprintf(p, "%s%d", i ? "," : "", (int)(i / 2 % 2));
	p += sprintf(p, "],\"default_left\":[");
	for (i = 0; i < N; i++)
		p += sprintf(p, "%s0", i ? "," : "");
	sprintf(p, "]}]}},\"learner_model_param\":{\"base_score\":\"0\","
	    "\"num_feature\":\"2\"},\"objective\":{\"name\":"
	    "\"reg:squarederror\"}}}");
	path = write_file("chain.json", text, strlen(text));
	free(text);
	/* 1000 levels: over the default max_tree_depth, refused by name */
	assert_null(model_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "trees[0]: deeper than 256 levels "
	    "(max_tree_depth)"));
	lim.max_depth = 999;
	assert_null(model_load_limits(path, &lim, err, sizeof(err)));
	assert_non_null(strstr(err, "deeper than 999 levels"));
	lim.max_depth = 1000;
	m = model_load_limits(path, &lim, err, sizeof(err));
	if (m == NULL)
		fail_msg("model_load: %s", err);
	model_predict(m, x, 1, &y);
	assert_true(y == 42.0);
	model_free(m);
}

static void
test_sha256_and_name(void **state)
{
	struct model	*m;
	char		 hex[SHA256_DIGEST_STRING_LENGTH], err[256];
	const char	*text = make_model("binary:logistic", "\"5E-1\"", "0",
	    "[0,0]");

	(void)state;
	m = model_load(write_file("breast.cancer.json", text, strlen(text)),
	    err, sizeof(err));
	assert_non_null(m);
	SHA256Data((const uint8_t *)text, strlen(text), hex);
	assert_string_equal(model_sha256(m), hex);
	assert_string_equal(model_name(m), "breast.cancer");
	model_free(m);
	m = model_load(write_file("noext", text, strlen(text)), err,
	    sizeof(err));
	assert_non_null(m);
	assert_string_equal(model_name(m), "noext");
	model_free(m);
}

/* The digest the model's sha256 comes from: libmd's, lowercase hex. */
static void
test_sha256_vectors(void **state)
{
	SHA2_CTX	 ctx;
	uint8_t		 d[SHA256_DIGEST_LENGTH];
	char		 hex[SHA256_DIGEST_STRING_LENGTH], *million;
	size_t		 i;

	(void)state;
	SHA256Data((const uint8_t *)"", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	SHA256Data((const uint8_t *)"abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	SHA256Data((const uint8_t *)"abcdbcdecdefdefgefghfghighijhijkijkljklm"
	    "klmnlmnomnopnopq", 56, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
	million = malloc(1000000);
	assert_non_null(million);
	memset(million, 'a', 1000000);
	SHA256Init(&ctx);
	for (i = 0; i < 1000000; i += 999)	/* odd-sized pieces */
		SHA256Update(&ctx, (const uint8_t *)million + i,
		    i + 999 > 1000000 ? 1000000 - i : 999);
	SHA256Final(d, &ctx);
	free(million);
	assert_int_equal(d[0], 0xcd);
	assert_int_equal(d[1], 0xc7);
	assert_int_equal(d[31], 0xd0);
}

/* One corrupt model: text built from the good one by a replacement. */
struct corrupt {
	const char	*from;
	const char	*to;
	const char	*want;
};

static const struct corrupt corrupt_models[] = {
	{ "\"learner\":{", "\"learner\":}",
	    "(line 1, column 12): not valid JSON" },
	{ "{\"learner\"", "[\"learner\"",
	    "not an XGBoost JSON, UBJSON or binary model (first bytes 5b 22" },
	{ "\"learner\":", "\"learnr\":", "learner: missing (not an XGBoost" },
	{ "\"name\":\"reg:squarederror\"", "\"name\":\"reg:nosuch\"",
	    "learner.objective.name: \"reg:nosuch\" is not an objective of "
	    "XGBoost 1.7 to 3.x" },
	{ "\"name\":\"reg:squarederror\"",
	    "\"name\":\"reg:expectileerror\"",
	    "learner.objective.name: objective \"reg:expectileerror\" is not "
	    "supported: its output is a cumulative softplus" },
	{ "\"name\":\"gbtree\"", "\"name\":\"gbforest\"",
	    "learner.gradient_booster.name: booster \"gbforest\" is not one "
	    "of gbtree, dart, gblinear" },
	{ "\"name\":\"gbtree\"", "\"name\":\"dart\"",
	    "learner.gradient_booster.gbtree: missing" },
	{ "\"name\":\"gbtree\"", "\"name\":\"gblinear\"",
	    "learner.gradient_booster.model.weights: missing" },
	{ "\"left_children\":[1,3,-1,-1,-1]",
	    "\"left_children\":[1,99,-1,-1,-1]",
	    "learner.gradient_booster.model.trees[0].left_children[1]: index "
	    "99 out of range (tree has 5 nodes)" },
	{ "\"right_children\":[2,4,-1,-1,-1]",
	    "\"right_children\":[-5,4,-1,-1,-1]",
	    "trees[0].right_children[0]: index -5 out of range" },
	{ "\"left_children\":[2,-1,-1]", "\"left_children\":[2,-1,7]",
	    "trees[1].left_children[2]: 7, but right_children[2] is -1" },
	{ "\"left_children\":[1,3,-1,-1,-1]",
	    "\"left_children\":[1,0,-1,-1,-1]",
	    "trees[0].left_children[1]: node 0 is reached twice (cycle" },
	{ "\"right_children\":[2,4,-1,-1,-1]",
	    "\"right_children\":[2,2,-1,-1,-1]",
	    "trees[0].right_children[1]: node 2 is reached twice" },
	{ "\"left_children\":[1,3,-1,-1,-1]",
	    "\"left_children\":[1,1,-1,-1,-1]",
	    "trees[0].left_children[1]: node 1 is reached twice" },
	{ "\"split_conditions\":[0.5,2.0,0.25,-0.5,0.75]",
	    "\"split_conditions\":[0.5,2.0,0.25,-0.5]",
	    "trees[0].split_conditions: 4 entries, but tree_param.num_nodes "
	    "is 5" },
	{ "\"right_children\":[1,-1,-1]", "\"right_children\":[1,-1]",
	    "trees[1].right_children: 2 entries, but left_children has 3" },
	{ "\"sum_hessian\":[5,3,2,1,2]", "\"sum_hessian\":[5,3,2,1,2,6]",
	    "trees[0].sum_hessian: 6 entries" },
	{ "\"default_left\":[1,0,0,0,0]", "\"default_left\":\"yes\"",
	    "trees[0].default_left: expected an array, got a string" },
	{ "\"split_conditions\":[0,-0.125,0.125],", "",
	    "trees[1].split_conditions: missing" },
	{ "\"split_indices\":[0,1,0,0,0]", "\"split_indices\":[0,7,0,0,0]",
	    "trees[0].split_indices[1]: feature 7 out of range (num_feature "
	    "is 2)" },
	{ "\"split_indices\":[0,1,0,0,0]", "\"split_indices\":[0,-1,0,0,0]",
	    "trees[0].split_indices[1]: feature -1 out of range" },
	{ "\"split_conditions\":[0.5,", "\"split_conditions\":[\"0.5\",",
	    "trees[0].split_conditions[0]: expected a number, got a string" },
	{ "\"default_left\":[1,0,0,0,0]", "\"default_left\":[2,0,0,0,0]",
	    "trees[0].default_left[0]: expected a boolean or 0/1" },
	{ "\"split_type\":[0,0,0,0,0]", "\"split_type\":[0,1,0,0,0]",
	    "trees[0].split_type[1]: a categorical split, but "
	    "categories_nodes does not list node 1" },
	{ "\"split_type\":[0,0,0,0,0]", "\"split_type\":[0,2,0,0,0]",
	    "trees[0].split_type[1]: 2 is neither 0 (numerical) nor 1" },
	{ "\"split_conditions\":[0.5,", "\"split_conditions\":[NaN,",
	    "trees[0].split_conditions[0]: NaN in a numerical split" },
	{ "\"split_conditions\":[0,-0.125,", "\"split_conditions\":[0,NaN,",
	    "trees[1].split_conditions[1]: leaf value nan is not finite" },
	{ "\"split_conditions\":[0,-0.125,",
	    "\"split_conditions\":[0,-Infinity,",
	    "trees[1].split_conditions[1]: leaf value -inf is not finite" },
	{ "\"size_leaf_vector\":\"0\"}}", "\"size_leaf_vector\":\"3\"}}",
	    "trees[0].tree_param.size_leaf_vector: vector leaves (3)" },
	{ "\"num_nodes\":\"5\"", "\"num_nodes\":\"five\"",
	    "trees[0].tree_param.num_nodes: \"five\" is not a count" },
	{ "\"left_children\":[2,-1,-1]", "\"left_children\":[2,-1.5,-1]",
	    "trees[1].left_children[1]: expected an integer, got a real" },
	{ "\"tree_info\":[0,0]", "\"tree_info\":[0]",
	    "learner.gradient_booster.model.tree_info: 1 entries, but trees "
	    "has 2" },
	{ "\"tree_info\":[0,0]", "\"tree_info\":[0,1]",
	    "tree_info[1]: group 1 out of range (the model has 1 output "
	    "group: num_class is 0 or 1)" },
	{ "\"num_trees\":\"2\"", "\"num_trees\":\"3\"",
	    "gbtree_model_param.num_trees: 3, but trees has 2 entries" },
	{ "\"base_score\":\"5E-1\"", "\"base_score\":\"abc\"",
	    "learner.learner_model_param.base_score: \"abc\" is not a number" },
	{ "\"base_score\":\"5E-1\"", "\"base_score\":\"[5E-1\"",
	    "base_score: \"[5E-1\": missing ']'" },
	{ "\"base_score\":\"5E-1\"", "\"base_score\":\"[1,2]\"",
	    "base_score: \"[1,2]\" has more than 1 values" },
	{ "\"num_feature\":\"2\",\"num_target\"", "\"num_target\"",
	    "learner.learner_model_param.num_feature: missing" },
	{ "\"num_feature\":\"2\",\"num_target\"",
	    "\"num_feature\":\"0\",\"num_target\"",
	    "num_feature: must be at least 1" },
	{ "\"num_class\":\"0\"", "\"num_class\":\"3\"",
	    "num_class: 3 classes, but objective reg:squarederror is not "
	    "multi-class" },
	{ "\"trees\":[", "\"trees\":[7,",
	    "gbtree_model_param.num_trees: 2, but trees has 3 entries" },
};

static void
test_corrupt_models(void **state)
{
	const char	*good;
	char		*bad;
	size_t		 i;

	(void)state;
	good = make_model("reg:squarederror", "\"5E-1\"", "0", "[0,0]");
	for (i = 0; i < sizeof(corrupt_models) / sizeof(corrupt_models[0]);
	    i++) {
		bad = replace(good, corrupt_models[i].from,
		    corrupt_models[i].to);
		expect_error(bad, strlen(bad), corrupt_models[i].want);
		free(bad);
	}
}

static void
test_corrupt_model_file(void **state)
{
	const char	*good;
	char		 err[256], *bad, path[300];
	struct model	*m;

	(void)state;
	good = make_model("reg:squarederror", "\"5E-1\"", "0", "[0,0]");
	/* truncated: half a model */
	expect_error(good, strlen(good) / 2, "truncated JSON");
	expect_error(good, 0, "file is empty");
	expect_error("[1,2,3]", 7, "not an XGBoost JSON, UBJSON or binary model");
	expect_error("\"x\"", 3, "not an XGBoost JSON, UBJSON or binary model");
	expect_error("binf\0\0\0?", 8, "XGBoost binary model, byte 4: "
	    "truncated: LearnerModelParam needs 136 bytes, 4 left");
	expect_error("{\"learner\":{}}", 14, "learner.objective: missing");
	expect_error("{\"learner\":{\"objective\":{\"name\":7}}}", 36,
	    "learner.objective.name: expected a string");
	bad = replace(good, "\"trees\":[" TREE_A "," TREE_B "]",
	    "\"trees\":[{\"left_children\":[],\"right_children\":[],"
	    "\"split_indices\":[],\"split_conditions\":[],"
	    "\"default_left\":[]}," TREE_B "]");
	expect_error(bad, strlen(bad), "trees[0].left_children: tree has no "
	    "nodes");
	free(bad);
	snprintf(path, sizeof(path), "%s/does-not-exist.json", scratch_dir);
	m = model_load(path, err, sizeof(err));
	assert_null(m);
	assert_non_null(strstr(err, "does-not-exist.json: cannot open: No "
	    "such file"));
	m = model_load(scratch_dir, err, sizeof(err));
	assert_null(m);
	assert_non_null(strstr(err, "is a directory, not a regular file"));
	/* a tiny error buffer is not overrun */
	m = model_load(path, err, 8);
	assert_null(m);
	assert_int_equal(strlen(err), 7);
}

static void
test_corrupt_multiclass(void **state)
{
	const char	*good;
	char		*bad;

	(void)state;
	good = make_model("multi:softprob", "\"5E-1\"", "2", "[0,1]");
	bad = replace(good, "\"num_class\":\"2\"", "\"num_class\":\"3\"");
	expect_error(bad, strlen(bad), "tree_info: class 2 has 0 trees but "
	    "class 0 has 1 (does num_class 3 match the trees?)");
	free(bad);
	bad = replace(good, "\"tree_info\":[0,1]", "\"tree_info\":[0,5]");
	expect_error(bad, strlen(bad), "tree_info[1]: group 5 out of range "
	    "(the model has 2 output groups: num_class says so)");
	free(bad);
	bad = replace(good, "\"num_class\":\"2\"", "\"num_class\":\"0\"");
	expect_error(bad, strlen(bad), "num_class: 0, but multi:softprob "
	    "needs at least 2 classes");
	free(bad);
	bad = replace(good, "\"tree_info\":[0,1],", "");
	expect_error(bad, strlen(bad), "tree_info: missing");
	free(bad);
	bad = replace(good, "\"tree_info\":[0,1]", "\"tree_info\":[0,\"1\"]");
	expect_error(bad, strlen(bad), "tree_info[1]: expected an integer");
	free(bad);
	good = make_model("binary:logistic", "\"1.5\"", "0", "[0,0]");
	expect_error(good, strlen(good), "base_score: 1.5 is not in (0, 1) as "
	    "binary:logistic needs");
	good = make_model("multi:softprob", "\"[0.1,0.2,0.3]\"", "2", "[0,1]");
	expect_error(good, strlen(good), "base_score: \"[0.1,0.2,0.3]\" has "
	    "more than 2 values");
}

static void
test_per_class_base_score(void **state)
{
	struct model	*m;
	double		 y[NROWS];

	(void)state;
	m = load_text(make_model("multi:softmax", "\"[0,2]\"", "2", "[0,1]"));
	predict_rows(m, y);
	assert_true(y[1] == 1.0);	/* 0 + 0.75 < 2 - 0.125 */
	model_free(m);
}

static void
test_batch_equals_rows(void **state)
{
	static const char *objs[][3] = {
		{ "binary:logistic", "0", "[0,0]" },
		{ "multi:softprob", "2", "[0,1]" },
		{ "multi:softmax", "2", "[1,0]" },
	};
	enum { N = 53 };
	float		 x[N][2];
	double		 batch[N * 2], one[2];
	struct model	*m;
	size_t		 i, k, o, n;

	(void)state;
	for (i = 0; i < N; i++) {
		x[i][0] = i % 7 == 0 ? NAN : (float)i / N;
		x[i][1] = i % 5 == 0 ? NAN : (float)(i % 9) - 4.0f;
	}
	for (k = 0; k < sizeof(objs) / sizeof(objs[0]); k++) {
		m = load_text(make_model(objs[k][0], "\"5E-1\"", objs[k][1],
		    objs[k][2]));
		o = model_noutputs(m);
		/* every batch size from 1 to N, against rows one by one */
		for (n = 1; n <= N; n += n < 20 ? 1 : 11) {
			model_predict(m, &x[0][0], n, batch);
			for (i = 0; i < n; i++) {
				model_predict(m, x[i], 1, one);
				assert_memory_equal(one, batch + i * o,
				    o * sizeof(double));
			}
		}
		model_free(m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_squarederror),
		cmocka_unit_test(test_reg_linear_alias_and_base_forms),
		cmocka_unit_test(test_binary_logistic),
		cmocka_unit_test(test_reg_logistic_base),
		cmocka_unit_test(test_binary_logitraw),
		cmocka_unit_test(test_multi_softprob),
		cmocka_unit_test(test_multi_softmax),
		cmocka_unit_test(test_per_class_base_score),
		cmocka_unit_test(test_deep_chain),
		cmocka_unit_test(test_batch_equals_rows),
		cmocka_unit_test(test_sha256_and_name),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_corrupt_models),
		cmocka_unit_test(test_corrupt_model_file),
		cmocka_unit_test(test_corrupt_multiclass),
	};

	return cmocka_run_group_tests(tests, scratch_setup,
	    scratch_cleanup);
}
