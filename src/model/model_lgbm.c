/*
 * model_lgbm: LightGBM's text model, read and evaluated.
 *
 * The format is what LightGBM's GBDT::SaveModelToString writes (read here
 * as its GBDT::LoadModelFromString and Tree::Tree(const char *) read it):
 * a first line "tree", header lines key=value (version, num_class,
 * num_tree_per_iteration, label_index, max_feature_idx, objective,
 * average_output, feature_names, feature_infos, tree_sizes), then for each
 * tree a line "Tree=N" and its key=value lines up to a blank line, then
 * "end of trees" and sections (feature importances, parameters) that
 * prediction does not need.  A tree of n leaves has n - 1 internal nodes;
 * a child below 0 is the leaf ~child.
 *
 * Evaluation follows LightGBM's Tree::Predict, GBDT::PredictRaw and the
 * objectives' ConvertOutput, all in double:
 *
 *  - a value v with |v| <= kZeroThreshold (1e-35f) is 0, as LightGBM's
 *    row readers store it (c_api.cpp's RowFunctionFrom...);
 *  - numerical node (Tree::NumericalDecision): missing type None or Zero
 *    makes NaN 0; type Zero sends 0 (|v| <= 1e-35f) and type NaN sends NaN
 *    the default way (decision_type bit 2 set: left); else v <= threshold
 *    goes left;
 *  - categorical node (Tree::CategoricalDecision, LightGBM 3.3 and later):
 *    NaN and values whose integer part is below 0 go right; otherwise the
 *    integer part (C's truncation; 2^31 and above go right, as x86's
 *    conversion makes them negative) goes left when its bit is set in the
 *    node's bitset (cat_boundaries / cat_threshold);
 *  - a linear tree's leaf is leaf_const + sum of coeff * value, or the
 *    plain leaf_value when one of its features is NaN;
 *  - tree outputs are added per class in iteration order from 0;
 *    average_output (random forest) divides by the number of iterations,
 *    then the objective transforms (sigmoid with its sigmoid: parameter,
 *    exp, softmax, log1p(exp), sign * x^2 for "sqrt").
 *
 * Why double features: LightGBM compares double feature values with double
 * thresholds, and its thresholds are not float32 values.  A request value
 * rounded to float32 can land on the other side of a threshold (0.3 as
 * float32 is 0.30000001192..., above a threshold of 0.3000000000000001),
 * so the daemon parses features of a LightGBM model into double
 * (model_wants_double) and calls model_predict_double; float32 input
 * through model_predict is widened exactly, which is what LightGBM does
 * with a float32 array.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/model.h"
#include "model/model_impl.h"
#include "model/model_lgbm.h"

#define LGBM_ZERO	((double)1e-35f)	/* LightGBM's kZeroThreshold */
#define LGBM_MISS_NONE	0
#define LGBM_MISS_ZERO	1
#define LGBM_MISS_NAN	2

/*
 * A node of the flat array: each tree laid out breadth-first, a node's
 * children adjacent (right = left + 1).  A numerical node holds its
 * threshold made to compare raw values (lgbm_thr) and in feat, beside the
 * feature, what LightGBM's NumericalDecision does with NaN and zero; a
 * categorical node the offset in lgbm.cats of its bitset (the word count,
 * then the words); a leaf has threshold +inf, no flags and itself as left
 * child, so a row that reached it stays (its value is in lgbm.leaf).
 */
struct lgbm_node {
	union {
		double	 thr;
		uint64_t cats;
	};
	uint32_t	 feat;
	uint32_t	 left;
};

#define LGBM_F_NANRIGHT	0x80000000u	/* NaN goes right */
#define LGBM_F_ZERO	0x40000000u	/* missing type Zero: |v| <= K is
					 * missing */
#define LGBM_F_ZRIGHT	0x20000000u	/* ... and goes right */
#define LGBM_F_CAT	0x10000000u	/* categorical split */
#define LGBM_F_MASK	0x0fffffffu	/* the feature */

/* A tree: its root in lgbm.nodes, the steps to any leaf, its kind. */
struct lgbm_tree {
	uint32_t	 root;
	uint32_t	 depth;
	int		 linear;
};

/* The objective's transform (ConvertOutput). */
enum lgbm_tf {
	LGBM_TF_NONE,
	LGBM_TF_SQRT,		/* sign(x) * x * x */
	LGBM_TF_SIGMOID,	/* 1 / (1 + exp(-sigmoid * x)), per output */
	LGBM_TF_EXP,
	LGBM_TF_LOG1PEXP,	/* cross_entropy_lambda */
	LGBM_TF_SOFTMAX
};

struct lgbm {
	struct model_objective	 obj;
	char			*objective;	/* the objective line as is */
	enum lgbm_tf		 tf;
	double			 sigmoid;
	int			 average;
	size_t			 iters;		/* ntrees / ngroups */
	struct lgbm_tree	*trees;
	size_t			 ntrees, treecap;
	struct lgbm_node	*nodes;
	size_t			 nnodes, nodecap;
	double			*leaf;		/* by node: a leaf's value */
	/* linear trees, by leaf node: constant, feature count and offset
	 * in lfeat / lcoef */
	int			 linear;
	int			 zero;		/* a node of missing type Zero */
	double			*lconst;
	uint32_t		*lnfeat, *loff;
	size_t			 lcap;
	uint32_t		*lfeat;
	double			*lcoef;
	size_t			 nlin, lincap;
	uint32_t		*cats;
	size_t			 ncats, catcap;
};

/* What a LightGBM objective is: its name, its transform, whether it takes
 * sqrt, sigmoid: or num_class: (>1 classes). */
static const struct lgbm_objective {
	const char	*name;
	enum lgbm_tf	 tf;
	int		 sqrt;		/* "sqrt" is honoured */
	int		 sigmoid;	/* sigmoid:X is read */
	int		 multi;		/* num_class:K is read */
} lgbm_objectives[] = {
	{ "regression",			LGBM_TF_NONE,		1, 0, 0 },
	{ "regression_l1",		LGBM_TF_NONE,		1, 0, 0 },
	{ "huber",			LGBM_TF_NONE,		0, 0, 0 },
	{ "fair",			LGBM_TF_NONE,		1, 0, 0 },
	{ "quantile",			LGBM_TF_NONE,		1, 0, 0 },
	{ "mape",			LGBM_TF_NONE,		1, 0, 0 },
	{ "poisson",			LGBM_TF_EXP,		0, 0, 0 },
	{ "gamma",			LGBM_TF_EXP,		0, 0, 0 },
	{ "tweedie",			LGBM_TF_EXP,		0, 0, 0 },
	{ "binary",			LGBM_TF_SIGMOID,	0, 1, 0 },
	{ "cross_entropy",		LGBM_TF_SIGMOID,	0, 0, 0 },
	{ "cross_entropy_lambda",	LGBM_TF_LOG1PEXP,	0, 0, 0 },
	{ "multiclass",			LGBM_TF_SOFTMAX,	0, 0, 1 },
	{ "multiclassova",		LGBM_TF_SIGMOID,	0, 1, 1 },
	{ "lambdarank",			LGBM_TF_NONE,		0, 0, 0 },
	{ "rank_xendcg",		LGBM_TF_NONE,		0, 0, 0 },
	{ "custom",			LGBM_TF_NONE,		0, 0, 0 },
};

/* The text being read: the whole buffer and the line at hand. */
struct lgbm_text {
	struct model_err	*e;
	const char		*p, *end;	/* next line */
	const char		*line;		/* this line */
	size_t			 len;		/* its length without EOL */
	size_t			 lineno;	/* from 1 */
};

/* Keys of a tree block that prediction reads. */
enum lgbm_key {
	K_NUM_LEAVES, K_NUM_CAT, K_SPLIT_FEATURE, K_THRESHOLD,
	K_DECISION_TYPE, K_LEFT_CHILD, K_RIGHT_CHILD, K_LEAF_VALUE,
	K_CAT_BOUNDARIES, K_CAT_THRESHOLD, K_IS_LINEAR, K_LEAF_CONST,
	K_NUM_FEATURES, K_LEAF_FEATURES, K_LEAF_COEFF, K_NKEYS
};

static const char *const lgbm_keys[K_NKEYS] = {
	"num_leaves", "num_cat", "split_feature", "threshold",
	"decision_type", "left_child", "right_child", "leaf_value",
	"cat_boundaries", "cat_threshold", "is_linear", "leaf_const",
	"num_features", "leaf_features", "leaf_coeff"
};

/* A key's value in a block: where it is and on which line. */
struct lgbm_val {
	const char	*s;
	size_t		 len;
	size_t		 lineno;
};

/* Free what the LightGBM part of a model owns. */
void
model_lgbm_free(struct lgbm *g)
{
	if (g == NULL)
		return;
	free(g->objective);
	free(g->trees);
	free(g->nodes);
	free(g->leaf);
	free(g->lconst);
	free(g->lnfeat);
	free(g->loff);
	free(g->lfeat);
	free(g->lcoef);
	free(g->cats);
	free(g);
}

/* Make room for need elements of size sz in *p (capacity *cap). */
static int
lgbm_grow(void **p, size_t *cap, size_t need, size_t sz)
{
	size_t	 n = *cap == 0 ? 64 : *cap;
	void	*q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if ((q = reallocarray(*p, n, sz)) == NULL)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* Advance t to the next line; 0, or -1 at the end of the text. */
static int
lgbm_next_line(struct lgbm_text *t)
{
	const char	*nl;

	if (t->p >= t->end)
		return -1;
	t->line = t->p;
	nl = memchr(t->p, '\n', (size_t)(t->end - t->p));
	t->len = (size_t)((nl != NULL ? nl : t->end) - t->p);
	t->p = nl != NULL ? nl + 1 : t->end;
	if (t->len > 0 && t->line[t->len - 1] == '\r')
		t->len--;
	t->lineno++;
	return 0;
}

/* Whether the line at hand is exactly s. */
static int
lgbm_line_is(const struct lgbm_text *t, const char *s)
{
	return t->len == strlen(s) && memcmp(t->line, s, t->len) == 0;
}

/* Whether the line at hand starts with s. */
static int
lgbm_line_starts(const struct lgbm_text *t, const char *s)
{
	return t->len >= strlen(s) && memcmp(t->line, s, strlen(s)) == 0;
}

/* Split the line at hand at its first '=' into key and value; -1 if it
 * has none. */
static int
lgbm_kv(const struct lgbm_text *t, size_t *klen, struct lgbm_val *v)
{
	const char	*eq = memchr(t->line, '=', t->len);

	if (eq == NULL)
		return -1;
	*klen = (size_t)(eq - t->line);
	v->s = eq + 1;
	v->len = t->len - *klen - 1;
	v->lineno = t->lineno;
	return 0;
}

/*
 * The next space-separated word of [*p, end): its start, its length in
 * *len, and *p past it; NULL when only spaces are left.  Single or
 * repeated spaces separate words, as LightGBM writes them.
 */
static const char *
lgbm_word(const char **p, const char *end, size_t *len)
{
	const char	*tok;

	while (*p < end && **p == ' ')
		(*p)++;
	if (*p == end)
		return NULL;
	tok = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	*len = (size_t)(*p - tok);
	return tok;
}

/*
 * Read the n numbers of v (named key, of tree tree or the header when
 * tree is SIZE_MAX), separated by single or repeated spaces, into dbl
 * (doubles) or lng (integers in [lo, hi]).  0, or -1 naming the line, the
 * key and the entry at fault.
 */
static int
lgbm_numbers(struct model_err *e, const struct lgbm_val *v, const char *key,
    size_t n, double *dbl, long long *lng, long long lo, long long hi)
{
	char		 buf[64];
	const char	*p = v->s, *end = v->s + v->len, *tok;
	char		*ep;
	size_t		 i = 0, len;

	while ((tok = lgbm_word(&p, end, &len)) != NULL) {
		if (i == n)
			return model_fail(e, "line %zu: %s: more than the %zu "
			    "values expected", v->lineno, key, n);
		if (len >= sizeof(buf))
			return model_fail(e, "line %zu: %s[%zu]: number too "
			    "long (%zu bytes)", v->lineno, key, i, len);
		memcpy(buf, tok, len);
		buf[len] = '\0';
		errno = 0;
		if (dbl != NULL) {
			dbl[i] = strtod(buf, &ep);
			if (ep != buf + len || len == 0)
				return model_fail(e, "line %zu: %s[%zu]: \"%s\" "
				    "is not a number", v->lineno, key, i, buf);
		} else {
			lng[i] = strtoll(buf, &ep, 10);
			if (ep != buf + len || len == 0)
				return model_fail(e, "line %zu: %s[%zu]: \"%s\" "
				    "is not an integer", v->lineno, key, i,
				    buf);
			if (errno == ERANGE || lng[i] < lo || lng[i] > hi)
				return model_fail(e, "line %zu: %s[%zu]: %s out "
				    "of range [%lld, %lld]", v->lineno, key, i,
				    buf, lo, hi);
		}
		i++;
	}
	if (i != n)
		return model_fail(e, "line %zu: %s: %zu values, expected %zu",
		    v->lineno, key, i, n);
	return 0;
}

/* One integer value in [lo, hi]. */
static int
lgbm_int(struct model_err *e, const struct lgbm_val *v, const char *key,
    long long lo, long long hi, long long *out)
{
	return lgbm_numbers(e, v, key, 1, NULL, out, lo, hi);
}

/* LightGBM's Common::Pow: base^power by halving, thirding and peeling, in
 * that order (not pow(3): the roundings must be LightGBM's). */
static double
lgbm_pow(double base, int power)
{
	if (power == 0)
		return 1.0;
	if (power % 2 == 0)
		return lgbm_pow(base * base, power / 2);
	if (power % 3 == 0)
		return lgbm_pow(base * base * base, power / 3);
	return base * lgbm_pow(base, power - 1);
}

/*
 * LightGBM's Common::Atof, which reads an objective's sigmoid: parameter
 * (not strtod: it rounds more than once, and the value must be the one
 * LightGBM computes with): integer digits, fraction digits over a power of
 * ten, an exponent applied by factors of 1e50, 1e8 and 10.  0 with *out,
 * or -1 if s is not all such a number.
 */
static int
lgbm_atof(const char *s, double *out)
{
	const char	*p = s;
	double		 sign = 1.0, value = 0.0, right = 0.0, scale = 1.0;
	unsigned	 expon = 0;
	int		 nn = 0, frac = 0, digits = 0;

	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1.0 : 1.0;
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		value = value * 10.0 + (*p - '0');
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++, nn++)
			right = (*p - '0') + right * 10.0;
		value += right / lgbm_pow(10.0, nn);
	}
	if (digits > 0 && (*p == 'e' || *p == 'E')) {
		if (*++p == '-' || *p == '+')
			frac = *p++ == '-';
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++)
			if ((expon = expon * 10 + (unsigned)(*p - '0')) > 308)
				expon = 309;
		if (expon > 308)
			expon = 308;
		for (; expon >= 50; expon -= 50)
			scale *= 1e50;
		for (; expon >= 8; expon -= 8)
			scale *= 1e8;
		for (; expon > 0; expon--)
			scale *= 10.0;
	}
	if (digits == 0 || *p != '\0')
		return -1;
	*out = sign * (frac ? value / scale : value * scale);
	return 0;
}

/* The objective line: its name, transform and parameters. */
static int
lgbm_objective(struct model_err *e, struct lgbm *g, const struct lgbm_val *v,
    size_t nclass)
{
	const struct lgbm_objective	*o = NULL;
	const char			*p, *end = v->s + v->len, *tok;
	char				 buf[64], *ep;
	size_t				 i, len, k;
	int				 sqrt = 0, first = 1;
	double				 sig = -1.0, nc = -1.0;

	if (memchr(v->s, '\0', v->len) != NULL)
		return model_fail(e, "line %zu: objective: NUL byte in the line",
		    v->lineno);
	if ((g->objective = strndup(v->s, v->len)) == NULL)
		return model_fail(e, "out of memory");
	g->obj.name = g->objective;
	for (p = v->s; (tok = lgbm_word(&p, end, &len)) != NULL; first = 0) {
		if (first) {
			for (i = 0; i < sizeof(lgbm_objectives) /
			    sizeof(lgbm_objectives[0]); i++)
				if (strlen(lgbm_objectives[i].name) == len &&
				    memcmp(lgbm_objectives[i].name, tok,
				    len) == 0)
					o = &lgbm_objectives[i];
			if (o == NULL)
				return model_fail(e, "line %zu: objective \"%.*s\" "
				    "is not one LightGBM writes (regression, "
				    "regression_l1, huber, fair, quantile, "
				    "mape, poisson, gamma, tweedie, binary, "
				    "cross_entropy, cross_entropy_lambda, "
				    "multiclass, multiclassova, lambdarank, "
				    "rank_xendcg, custom); check the line, or "
				    "re-save the model with LightGBM",
				    v->lineno,
				    (int)(len > 64 ? 64 : len), tok);
			continue;
		}
		if (len == 4 && memcmp(tok, "sqrt", 4) == 0) {
			sqrt = 1;
			continue;
		}
		if (len >= sizeof(buf) || memchr(tok, ':', len) == NULL)
			continue;	/* LightGBM ignores what it does not
					 * know */
		memcpy(buf, tok, len);
		buf[len] = '\0';
		k = (size_t)(strchr(buf, ':') - buf);
		buf[k] = '\0';
		if (strcmp(buf, "sigmoid") == 0 && o->sigmoid) {
			if (lgbm_atof(buf + k + 1, &sig) == -1)
				return model_fail(e, "line %zu: objective: "
				    "sigmoid:%s is not a number", v->lineno,
				    buf + k + 1);
		} else if (strcmp(buf, "num_class") == 0 && o->multi) {
			nc = strtod(buf + k + 1, &ep);
			if (*ep != '\0' || ep == buf + k + 1)
				return model_fail(e, "line %zu: objective: "
				    "num_class:%s is not a number", v->lineno,
				    buf + k + 1);
		}
	}
	if (o == NULL)
		return model_fail(e, "line %zu: objective: empty", v->lineno);
	g->tf = o->tf;
	if (sqrt && o->sqrt)
		g->tf = LGBM_TF_SQRT;
	if (o->tf == LGBM_TF_SIGMOID && o->sigmoid) {
		if (!(sig > 0.0))
			return model_fail(e, "line %zu: objective %s: "
			    "sigmoid:%g, expected one above 0 (LightGBM "
			    "writes sigmoid:1 by default)", v->lineno, o->name,
			    sig);
		g->sigmoid = sig;
	} else
		g->sigmoid = 1.0;
	if (o->multi ? nc != (double)nclass : nclass != 1)
		return model_fail(e, "line %zu: objective %s with num_class=%zu "
		    "in the header%s", v->lineno, o->name, nclass, o->multi ?
		    ": its num_class: parameter differs" :
		    ": expected num_class=1");
	g->obj.transform = o->tf == LGBM_TF_SOFTMAX ? MODEL_SOFTMAX :
	    o->tf == LGBM_TF_SIGMOID ? MODEL_SIGMOID : o->tf == LGBM_TF_EXP ?
	    MODEL_EXP : MODEL_IDENTITY;
	g->obj.multiclass = o->multi;
	return 0;
}

/* Feature names: max_feature_idx + 1 unique names separated by spaces. */
static int
lgbm_feature_names(struct model_err *e, struct model *m,
    const struct lgbm_val *v)
{
	const char	*p = v->s, *end = v->s + v->len, *tok;
	size_t		 i = 0, j, len, lo, hi, mid;
	int		 c;

	if ((m->feature_names = calloc(m->nfeatures,
	    sizeof(*m->feature_names))) == NULL ||
	    (m->feature_order = calloc(m->nfeatures,
	    sizeof(*m->feature_order))) == NULL)
		return model_fail(e, "feature_names: out of memory");
	while ((tok = lgbm_word(&p, end, &len)) != NULL) {
		if (i == m->nfeatures)
			return model_fail(e, "line %zu: feature_names: more than "
			    "max_feature_idx + 1 = %zu names", v->lineno,
			    m->nfeatures);
		if ((m->feature_names[i] = strndup(tok, len)) == NULL)
			return model_fail(e, "feature_names: out of memory");
		if (strlen(m->feature_names[i]) != len)
			return model_fail(e, "line %zu: feature_names[%zu]: "
			    "NUL byte in a name", v->lineno, i);
		/* insertion into the sorted order, refusing a duplicate */
		lo = 0;
		hi = i;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			c = strcmp(m->feature_names[i],
			    m->feature_names[m->feature_order[mid]]);
			if (c == 0)
				return model_fail(e, "line %zu: "
				    "feature_names[%zu]: \"%.64s\" is also "
				    "feature_names[%zu]; names must be unique",
				    v->lineno, i, m->feature_names[i],
				    m->feature_order[mid]);
			if (c < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		for (j = i; j > lo; j--)
			m->feature_order[j] = m->feature_order[j - 1];
		m->feature_order[lo] = i;
		i++;
	}
	if (i != m->nfeatures)
		return model_fail(e, "line %zu: feature_names: %zu names, but "
		    "max_feature_idx + 1 = %zu", v->lineno, i, m->nfeatures);
	return 0;
}

/* Read the header, from the line after "tree" to the first "Tree=". */
static int
lgbm_header(struct lgbm_text *t, struct model *m, struct lgbm *g,
    size_t *ntrees_declared)
{
	static const char *const keys[] = { "version", "num_class",
	    "num_tree_per_iteration", "label_index", "max_feature_idx",
	    "objective", "feature_names", "feature_infos", "tree_sizes",
	    "average_output" };
	enum { H_VERSION, H_NUM_CLASS, H_NTPI, H_LABEL, H_MAXFEAT, H_OBJ,
	    H_NAMES, H_INFOS, H_SIZES, H_AVG, H_N };
	struct model_err	*e = t->e;
	struct lgbm_val		 v[H_N], kv;
	long long		 x;
	size_t			 k, klen, nclass, i;
	const char		*p;

	memset(v, 0, sizeof(v));
	for (;;) {
		if (lgbm_next_line(t) == -1)
			return model_fail(e, "line %zu: end of file in the "
			    "header: no \"Tree=0\" line (a LightGBM model "
			    "with no trees?)", t->lineno);
		if (lgbm_line_starts(t, "Tree="))
			break;
		if (t->len == 0)
			continue;
		if (lgbm_line_is(t, "end of trees"))
			return model_fail(e, "line %zu: a model with no trees",
			    t->lineno);
		if (lgbm_kv(t, &klen, &kv) == -1) {
			kv.s = t->line + t->len;
			kv.len = 0;
			kv.lineno = t->lineno;
			klen = t->len;
		}
		for (k = 0; k < H_N; k++)
			if (strlen(keys[k]) == klen &&
			    memcmp(keys[k], t->line, klen) == 0)
				break;
		if (k == H_N)
			continue;	/* a key prediction does not use */
		if (v[k].s != NULL)
			return model_fail(e, "line %zu: %s given twice (first "
			    "on line %zu)", t->lineno, keys[k], v[k].lineno);
		v[k] = kv;
	}
	for (k = 0; k < H_N; k++)
		if (v[k].s == NULL && k != H_NTPI && k != H_OBJ &&
		    k != H_SIZES && k != H_AVG)
			return model_fail(e, "header: no %s line (not a model "
			    "LightGBM saved, or cut short)", keys[k]);
	if (!((v[H_VERSION].len == 2 && v[H_VERSION].s[0] == 'v' &&
	    v[H_VERSION].s[1] >= '2' && v[H_VERSION].s[1] <= '4')))
		return model_fail(e, "line %zu: version=%.*s: inferd reads "
		    "LightGBM's text models v2 to v4 (re-save the model with "
		    "LightGBM 4's Booster.save_model)", v[H_VERSION].lineno,
		    (int)(v[H_VERSION].len > 16 ? 16 : v[H_VERSION].len),
		    v[H_VERSION].s);
	if (lgbm_int(e, &v[H_NUM_CLASS], "num_class", 1,
	    (long long)MODEL_MAX_GROUPS, &x) == -1)
		return -1;
	nclass = (size_t)x;
	if (v[H_NTPI].s != NULL) {
		if (lgbm_int(e, &v[H_NTPI], "num_tree_per_iteration", 1,
		    (long long)MODEL_MAX_GROUPS, &x) == -1)
			return -1;
		if ((size_t)x != nclass)
			return model_fail(e, "line %zu: num_tree_per_iteration="
			    "%lld but num_class=%zu; inferd serves models "
			    "with one tree per class and iteration",
			    v[H_NTPI].lineno, x, nclass);
	}
	if (lgbm_int(e, &v[H_LABEL], "label_index", 0, INT_MAX, &x) == -1 ||
	    lgbm_int(e, &v[H_MAXFEAT], "max_feature_idx", 0,
	    (long long)MODEL_MAX_FEATURES - 1, &x) == -1)
		return -1;
	m->nfeatures = (size_t)x + 1;
	m->ngroups = m->noutputs = nclass;
	g->average = v[H_AVG].s != NULL;
	if (v[H_OBJ].s != NULL) {
		if (lgbm_objective(e, g, &v[H_OBJ], nclass) == -1)
			return -1;
	} else {
		/* no objective line: LightGBM predicts raw scores */
		g->obj.name = "none";
		g->tf = LGBM_TF_NONE;
		g->obj.transform = MODEL_IDENTITY;
	}
	if (lgbm_feature_names(e, m, &v[H_NAMES]) == -1)
		return -1;
	/* feature_infos: one token per feature, checked for its count */
	for (i = 0, p = v[H_INFOS].s; p < v[H_INFOS].s + v[H_INFOS].len;) {
		while (p < v[H_INFOS].s + v[H_INFOS].len && *p == ' ')
			p++;
		if (p == v[H_INFOS].s + v[H_INFOS].len)
			break;
		while (p < v[H_INFOS].s + v[H_INFOS].len && *p != ' ')
			p++;
		i++;
	}
	if (i != m->nfeatures)
		return model_fail(e, "line %zu: feature_infos: %zu entries, but "
		    "max_feature_idx + 1 = %zu", v[H_INFOS].lineno, i,
		    m->nfeatures);
	*ntrees_declared = SIZE_MAX;
	if (v[H_SIZES].s != NULL) {
		for (i = 0, p = v[H_SIZES].s; p < v[H_SIZES].s +
		    v[H_SIZES].len;) {
			while (p < v[H_SIZES].s + v[H_SIZES].len && *p == ' ')
				p++;
			if (p == v[H_SIZES].s + v[H_SIZES].len)
				break;
			while (p < v[H_SIZES].s + v[H_SIZES].len && *p != ' ')
				p++;
			i++;
		}
		*ntrees_declared = i;
	}
	return 0;
}

/* Read the key=value lines of a tree block into v, up to a blank line or
 * the end of the text.  head is the "Tree=N" line number. */
static int
lgbm_block(struct lgbm_text *t, size_t tree, struct lgbm_val v[K_NKEYS])
{
	struct lgbm_val	 kv;
	size_t		 k, klen;

	memset(v, 0, sizeof(*v) * K_NKEYS);
	while (lgbm_next_line(t) == 0 && t->len > 0) {
		if (t->p >= t->end && t->line[t->len] != '\n' &&
		    t->line[t->len] != '\r')
			return model_fail(t->e, "line %zu: Tree=%zu: the file "
			    "ends inside the tree (cut short)", t->lineno, tree);
		if (lgbm_kv(t, &klen, &kv) == -1)
			return model_fail(t->e, "line %zu: Tree=%zu: \"%.*s\" is "
			    "not a key=value line (a tree ends at a blank line)",
			    t->lineno, tree, (int)(t->len > 64 ? 64 : t->len),
			    t->line);
		for (k = 0; k < K_NKEYS; k++)
			if (strlen(lgbm_keys[k]) == klen &&
			    memcmp(lgbm_keys[k], t->line, klen) == 0)
				break;
		if (k == K_NKEYS)
			continue;
		if (v[k].s != NULL)
			return model_fail(t->e, "line %zu: Tree=%zu: %s given "
			    "twice (first on line %zu)", t->lineno, tree,
			    lgbm_keys[k], v[k].lineno);
		v[k] = kv;
	}
	return 0;
}

/* Scratch arrays for one tree, grown as needed. */
struct lgbm_scratch {
	long long	*feat, *dt, *left, *right, *cb, *ct, *nf, *lf, *lf_at;
	double		*thr, *leaf, *lconst, *lcoef;
	long long	*stack;
	uint32_t	*seen;		/* per node then per leaf, tree mark */
	size_t		 cap, catcap, lincap;
};

static void
lgbm_scratch_free(struct lgbm_scratch *s)
{
	free(s->feat);
	free(s->dt);
	free(s->left);
	free(s->right);
	free(s->cb);
	free(s->ct);
	free(s->nf);
	free(s->lf);
	free(s->lf_at);
	free(s->thr);
	free(s->leaf);
	free(s->lconst);
	free(s->lcoef);
	free(s->stack);
	free(s->seen);
}

/* Room for a tree of n leaves. */
static int
lgbm_scratch_room(struct lgbm_scratch *s, size_t n)
{
	size_t	 c;

	if (n <= s->cap)
		return 0;
	c = n;
	if ((s->feat = reallocarray(s->feat, c, sizeof(long long))) == NULL ||
	    (s->dt = reallocarray(s->dt, c, sizeof(long long))) == NULL ||
	    (s->left = reallocarray(s->left, c, sizeof(long long))) == NULL ||
	    (s->right = reallocarray(s->right, c, sizeof(long long))) ==
	    NULL ||
	    (s->nf = reallocarray(s->nf, c, sizeof(long long))) == NULL ||
	    (s->lf_at = reallocarray(s->lf_at, c, sizeof(long long))) ==
	    NULL ||
	    (s->thr = reallocarray(s->thr, c, sizeof(double))) == NULL ||
	    (s->leaf = reallocarray(s->leaf, c, sizeof(double))) == NULL ||
	    (s->lconst = reallocarray(s->lconst, c, sizeof(double))) == NULL ||
	    (s->stack = reallocarray(s->stack, 2 * c,
	    sizeof(long long))) == NULL ||
	    (s->seen = reallocarray(s->seen, 2 * c, sizeof(uint32_t))) ==
	    NULL)
		return -1;
	s->cap = c;
	return 0;
}

/* Check the shape of tree `tree' (nl leaves, children in s) from its root:
 * every node and leaf reached once, depth within max_tree_depth. */
static int
lgbm_shape(struct lgbm_text *t, size_t tree, size_t nl,
    struct lgbm_scratch *s, size_t lineno)
{
	size_t		 sp = 0, i, ni = nl - 1;
	long long	 n, c, d;
	int		 side;

	memset(s->seen, 0, 2 * nl * sizeof(*s->seen));
	s->stack[sp++] = 0;		/* node 0 at depth 0, packed */
	s->seen[0] = 1;
	while (sp > 0) {
		n = s->stack[--sp];
		d = n >> 32;
		n &= 0xffffffffLL;
		if ((unsigned long long)d + 1 > t->e->lim->max_depth)
			return model_fail(t->e, "line %zu: Tree=%zu: deeper than "
			    "%u levels (max_tree_depth)", lineno, tree,
			    t->e->lim->max_depth);
		for (side = 0; side < 2; side++) {
			c = side ? s->right[n] : s->left[n];
			if (c >= 0 ? (size_t)c >= ni : (size_t)~c >= nl)
				return model_fail(t->e, "line %zu: Tree=%zu: "
				    "%s_child[%lld] = %lld out of range (%zu "
				    "internal nodes, %zu leaves)", lineno, tree,
				    side ? "right" : "left", n, c, ni, nl);
			i = c >= 0 ? (size_t)c : ni + (size_t)~c;
			if (s->seen[i]++)
				return model_fail(t->e, "line %zu: Tree=%zu: "
				    "%s_child[%lld] = %lld is reached twice (not "
				    "a tree)", lineno, tree, side ? "right" :
				    "left", n, c);
			if (c >= 0)
				s->stack[sp++] = c | ((d + 1) << 32);
		}
	}
	for (i = 0; i < ni + nl; i++)
		if (!s->seen[i])
			return model_fail(t->e, "line %zu: Tree=%zu: %s %zu is "
			    "never reached from the root", lineno, tree,
			    i < ni ? "node" : "leaf", i < ni ? i : i - ni);
	return 0;
}

/*
 * A numerical split's threshold t made to compare the raw value: LightGBM
 * compares the value with |v| <= kZeroThreshold made 0, and
 * z(v) <= t  <=>  v <= lgbm_thr(t)  for every non-NaN v, so the walk
 * needs no zeroing step.  For t >= 0, values up to K compare as 0 (left):
 * max(t, K).  For t < 0, values from -K up compare as 0 (right): the
 * double below -K when t >= -K, else t.
 */
static double
lgbm_thr(double t)
{
	if (t >= 0.0)
		return t > LGBM_ZERO ? t : LGBM_ZERO;
	return t < -LGBM_ZERO ? t : nextafter(-LGBM_ZERO, -INFINITY);
}

/*
 * Lay tree `tree' (checked, in s) out in g's flat arrays in breadth-first
 * order, so that a node's children are adjacent; leaves become nodes that
 * step to themselves.  Linear leaves get their constant and the offset of
 * their features in g->lfeat (lin0 + the tree's running count).
 */
static void
lgbm_layout(struct lgbm *g, struct lgbm_scratch *s, size_t nl, size_t cat0,
    int lin, size_t lin0)
{
	struct lgbm_node	*nd;
	struct lgbm_tree	*tr = &g->trees[g->ntrees];
	size_t			 ni = nl - 1, n = ni + nl, head, tail = 1;
	size_t			 base = g->nnodes, k, l;
	long long		 c, mt, dt;
	uint32_t		 depth = 0;

	/* s->stack: the file's codes (node >= 0, leaf < 0) in BFS order;
	 * s->seen: their depths */
	s->stack[0] = ni > 0 ? 0 : -1;
	s->seen[0] = 0;
	for (head = 0; head < n; head++) {
		c = s->stack[head];
		nd = &g->nodes[base + head];
		if (s->seen[head] > depth)
			depth = s->seen[head];
		if (c < 0) {
			l = (size_t)~c;
			nd->thr = INFINITY;
			nd->feat = 0;
			nd->left = (uint32_t)(base + head);
			g->leaf[base + head] = s->leaf[l];
			if (lin) {
				g->lconst[base + head] = s->lconst[l];
				g->lnfeat[base + head] = (uint32_t)s->nf[l];
				g->loff[base + head] = (uint32_t)(lin0 +
				    (size_t)s->lf_at[l]);
			}
			continue;
		}
		nd->left = (uint32_t)(base + tail);
		s->stack[tail] = s->left[c];
		s->stack[tail + 1] = s->right[c];
		s->seen[tail] = s->seen[tail + 1] = s->seen[head] + 1;
		tail += 2;
		g->leaf[base + head] = 0.0;
		dt = s->dt[c];
		nd->feat = (uint32_t)s->feat[c];
		if (dt & 1) {
			k = (size_t)s->thr[c];
			nd->cats = (uint64_t)(cat0 + (size_t)s->cb[k] + k);
			nd->feat |= LGBM_F_CAT;
			continue;
		}
		mt = (dt >> 2) & 3;
		nd->thr = lgbm_thr(s->thr[c]);
		if (mt == LGBM_MISS_NONE ? 0.0 > s->thr[c] : !(dt & 2))
			nd->feat |= LGBM_F_NANRIGHT;
		if (mt == LGBM_MISS_ZERO) {
			nd->feat |= LGBM_F_ZERO | (!(dt & 2) ? LGBM_F_ZRIGHT : 0);
			g->zero = 1;
		}
	}
	tr->root = (uint32_t)base;
	tr->depth = depth;
	tr->linear = lin;
	g->nnodes += n;
	g->ntrees++;
}

/* Read one tree block, the line "Tree=N" at hand, into g. */
static int
lgbm_tree(struct lgbm_text *t, struct model *m, struct lgbm *g, size_t tree,
    struct lgbm_scratch *s)
{
	struct model_err	*e = t->e;
	struct lgbm_val		 v[K_NKEYS];
	long long		 x, ncat = 0, lin = 0;
	size_t			 head = t->lineno, nl, ni, i, j, nlin = 0;
	size_t			 cat0, lin0 = g->nlin;
	char			 name[32];
	int			 k;

	snprintf(name, sizeof(name), "Tree=%zu", tree);
	if (t->len != strlen(name) || memcmp(t->line, name, t->len) != 0)
		return model_fail(e, "line %zu: \"%.*s\", expected \"%s\" (trees "
		    "are numbered from 0)", t->lineno,
		    (int)(t->len > 32 ? 32 : t->len), t->line, name);
	if (lgbm_block(t, tree, v) == -1)
		return -1;
	for (k = K_NUM_LEAVES; k <= K_LEAF_VALUE; k++)
		if (v[k].s == NULL && (k == K_NUM_LEAVES || k == K_NUM_CAT ||
		    k == K_LEAF_VALUE))
			return model_fail(e, "line %zu: Tree=%zu: no %s line",
			    head, tree, lgbm_keys[k]);
	if (lgbm_int(e, &v[K_NUM_LEAVES], "num_leaves", 1,
	    (long long)MODEL_MAX_NODES / 2, &x) == -1 ||
	    lgbm_int(e, &v[K_NUM_CAT], "num_cat", 0,
	    (long long)MODEL_MAX_NODES, &ncat) == -1)
		return -1;
	nl = (size_t)x;
	ni = nl - 1;
	if (v[K_IS_LINEAR].s != NULL && lgbm_int(e, &v[K_IS_LINEAR],
	    "is_linear", 0, 1, &lin) == -1)
		return -1;
	if (g->nnodes + ni + nl > MODEL_MAX_NODES)
		return model_fail(e, "line %zu: Tree=%zu: more than %zu nodes "
		    "in all trees", head, tree, MODEL_MAX_NODES);
	if (lgbm_scratch_room(s, nl) == -1 ||
	    lgbm_grow((void **)&g->trees, &g->treecap, tree + 1,
	    sizeof(*g->trees)) == -1 ||
	    lgbm_grow((void **)&g->nodes, &g->nodecap, g->nnodes + ni + nl,
	    sizeof(*g->nodes)) == -1 ||
	    (g->leaf = reallocarray(g->leaf, g->nodecap,
	    sizeof(*g->leaf))) == NULL)
		return model_fail(e, "out of memory");
	if (lgbm_numbers(e, &v[K_LEAF_VALUE], "leaf_value", nl, s->leaf,
	    NULL, 0, 0) == -1)
		return -1;
	if (ni > 0) {
		for (k = K_SPLIT_FEATURE; k <= K_RIGHT_CHILD; k++)
			if (v[k].s == NULL && k != K_DECISION_TYPE)
				return model_fail(e, "line %zu: Tree=%zu: no %s "
				    "line (a tree of %zu leaves has %zu "
				    "splits)", head, tree, lgbm_keys[k], nl,
				    ni);
		if (lgbm_numbers(e, &v[K_SPLIT_FEATURE], "split_feature", ni,
		    NULL, s->feat, 0, (long long)m->nfeatures - 1) == -1 ||
		    lgbm_numbers(e, &v[K_THRESHOLD], "threshold", ni, s->thr,
		    NULL, 0, 0) == -1 ||
		    lgbm_numbers(e, &v[K_LEFT_CHILD], "left_child", ni, NULL,
		    s->left, -(long long)nl, (long long)ni - 1) == -1 ||
		    lgbm_numbers(e, &v[K_RIGHT_CHILD], "right_child", ni,
		    NULL, s->right, -(long long)nl, (long long)ni - 1) == -1)
			return -1;
		if (v[K_DECISION_TYPE].s != NULL) {
			if (lgbm_numbers(e, &v[K_DECISION_TYPE],
			    "decision_type", ni, NULL, s->dt, 0, 127) == -1)
				return -1;
		} else
			memset(s->dt, 0, ni * sizeof(*s->dt));
		if (lgbm_shape(t, tree, nl, s, head) == -1)
			return -1;
	}
	/* categorical bitsets, each as its word count then its words */
	cat0 = g->ncats;
	if (ncat > 0) {
		if (v[K_CAT_BOUNDARIES].s == NULL ||
		    v[K_CAT_THRESHOLD].s == NULL)
			return model_fail(e, "line %zu: Tree=%zu: num_cat=%lld "
			    "but no %s line", head, tree, ncat,
			    v[K_CAT_BOUNDARIES].s == NULL ? "cat_boundaries" :
			    "cat_threshold");
		if ((size_t)ncat > ni)
			return model_fail(e, "line %zu: Tree=%zu: num_cat=%lld "
			    "but only %zu splits", head, tree, ncat, ni);
		if ((s->cb = reallocarray(s->cb, (size_t)ncat + 1,
		    sizeof(long long))) == NULL)
			return model_fail(e, "out of memory");
		if (lgbm_numbers(e, &v[K_CAT_BOUNDARIES], "cat_boundaries",
		    (size_t)ncat + 1, NULL, s->cb, 0,
		    (long long)MODEL_MAX_CAT_WORDS) == -1)
			return -1;
		for (j = 0; j <= (size_t)ncat; j++)
			if (j == 0 ? s->cb[0] != 0 : s->cb[j] < s->cb[j - 1])
				return model_fail(e, "line %zu: cat_boundaries[%zu]: "
				    "%lld, expected boundaries from 0 that never "
				    "decrease", v[K_CAT_BOUNDARIES].lineno, j,
				    s->cb[j]);
		if (g->ncats + (size_t)s->cb[ncat] + (size_t)ncat >
		    MODEL_MAX_CAT_WORDS)
			return model_fail(e, "line %zu: Tree=%zu: more than %zu "
			    "words of category sets in all trees", head, tree,
			    MODEL_MAX_CAT_WORDS);
		if ((s->ct = reallocarray(s->ct, (size_t)s->cb[ncat] + 1,
		    sizeof(long long))) == NULL ||
		    lgbm_grow((void **)&g->cats, &g->catcap, g->ncats +
		    (size_t)s->cb[ncat] + (size_t)ncat, sizeof(*g->cats)) ==
		    -1)
			return model_fail(e, "out of memory");
		if (lgbm_numbers(e, &v[K_CAT_THRESHOLD], "cat_threshold",
		    (size_t)s->cb[ncat], NULL, s->ct, 0, UINT32_MAX) == -1)
			return -1;
	}
	for (i = 0; i < ni; i++) {
		if (s->dt[i] & 1) {
			/* threshold is the index of the node's bitset */
			if (!(s->thr[i] >= 0.0 && s->thr[i] < (double)ncat &&
			    s->thr[i] == floor(s->thr[i])))
				return model_fail(e, "line %zu: threshold[%zu]: "
				    "%.17g, expected the index of a category "
				    "set below num_cat=%lld (decision_type[%zu] "
				    "is categorical)", v[K_THRESHOLD].lineno, i,
				    s->thr[i], ncat, i);
		} else if (((s->dt[i] >> 2) & 3) > LGBM_MISS_NAN)
			return model_fail(e, "line %zu: decision_type[%zu]: %lld "
			    "has missing type 3 (LightGBM's are 0 None, 1 Zero, "
			    "2 NaN)", v[K_DECISION_TYPE].lineno, i, s->dt[i]);
		else if (isnan(s->thr[i]))
			return model_fail(e, "line %zu: threshold[%zu]: NaN",
			    v[K_THRESHOLD].lineno, i);
	}
	/* linear leaves: constant, features and coefficients */
	if (lin) {
		if (v[K_LEAF_CONST].s != NULL) {
			if (lgbm_numbers(e, &v[K_LEAF_CONST], "leaf_const", nl,
			    s->lconst, NULL, 0, 0) == -1)
				return -1;
		} else
			memset(s->lconst, 0, nl * sizeof(*s->lconst));
		if (v[K_NUM_FEATURES].s != NULL) {
			if (lgbm_numbers(e, &v[K_NUM_FEATURES], "num_features",
			    nl, NULL, s->nf, 0, (long long)m->nfeatures) == -1)
				return -1;
		} else
			memset(s->nf, 0, nl * sizeof(*s->nf));
		for (i = 0; i < nl; i++) {
			s->lf_at[i] = (long long)nlin;
			nlin += (size_t)s->nf[i];
		}
		if (nlin > 0 && (v[K_LEAF_FEATURES].s == NULL ||
		    v[K_LEAF_COEFF].s == NULL))
			return model_fail(e, "line %zu: Tree=%zu: num_features "
			    "adds up to %zu but no %s line", head, tree, nlin,
			    v[K_LEAF_FEATURES].s == NULL ? "leaf_features" :
			    "leaf_coeff");
		if (g->nlin + nlin > MODEL_MAX_NODES)
			return model_fail(e, "line %zu: Tree=%zu: more than %zu "
			    "linear coefficients in all trees", head, tree,
			    MODEL_MAX_NODES);
		if ((nlin > 0 && ((s->lf = reallocarray(s->lf, nlin,
		    sizeof(long long))) == NULL || (s->lcoef =
		    reallocarray(s->lcoef, nlin, sizeof(double))) == NULL ||
		    lgbm_grow((void **)&g->lfeat, &g->lincap, g->nlin + nlin,
		    sizeof(*g->lfeat)) == -1 || (g->lcoef =
		    reallocarray(g->lcoef, g->lincap, sizeof(*g->lcoef))) ==
		    NULL)) ||
		    lgbm_grow((void **)&g->lconst, &g->lcap, g->nodecap,
		    sizeof(*g->lconst)) == -1 ||
		    (g->lnfeat = reallocarray(g->lnfeat, g->lcap,
		    sizeof(*g->lnfeat))) == NULL ||
		    (g->loff = reallocarray(g->loff, g->lcap,
		    sizeof(*g->loff))) == NULL)
			return model_fail(e, "out of memory");
		if (nlin > 0 && (lgbm_numbers(e, &v[K_LEAF_FEATURES],
		    "leaf_features", nlin, NULL, s->lf, 0,
		    (long long)m->nfeatures - 1) == -1 ||
		    lgbm_numbers(e, &v[K_LEAF_COEFF], "leaf_coeff", nlin,
		    s->lcoef, NULL, 0, 0) == -1))
			return -1;
		for (j = 0; j < nlin; j++) {
			g->lfeat[g->nlin + j] = (uint32_t)s->lf[j];
			g->lcoef[g->nlin + j] = s->lcoef[j];
		}
		g->nlin += nlin;
		g->linear = 1;
	}
	if (ncat > 0)
		for (j = 0; j < (size_t)ncat; j++) {
			g->cats[g->ncats++] = (uint32_t)(s->cb[j + 1] - s->cb[j]);
			for (x = s->cb[j]; x < s->cb[j + 1]; x++)
				g->cats[g->ncats++] = (uint32_t)s->ct[x];
		}
	lgbm_layout(g, s, nl, cat0, (int)lin, lin0);
	return 0;
}

/* Fill m from a LightGBM text model; see model_lgbm.h. */
int
model_lgbm_build(struct model *m, const char *buf, size_t len,
    struct model_err *e)
{
	struct lgbm_text	 t = { e, buf, buf + len, NULL, 0, 0 };
	struct lgbm_scratch	 s;
	struct lgbm		*g;
	size_t			 declared = SIZE_MAX, n = 0;
	int			 rc = -1;

	memset(&s, 0, sizeof(s));
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return model_fail(e, "out of memory");
	m->lgbm = g;
	m->obj = &g->obj;
	if (lgbm_next_line(&t) == -1 || !lgbm_line_is(&t, "tree"))
		return model_fail(e, "line 1: expected \"tree\" (not a LightGBM "
		    "text model)");
	if (lgbm_header(&t, m, g, &declared) == -1)
		goto out;
	for (;;) {
		if (lgbm_tree(&t, m, g, n, &s) == -1)
			goto out;
		n++;
		/* blank lines, then the next tree or the end of trees */
		while (lgbm_next_line(&t) == 0 && t.len == 0)
			;
		if (t.p >= t.end && t.len == 0)
			break;
		if (!lgbm_line_starts(&t, "Tree="))
			break;
	}
	if (!lgbm_line_is(&t, "end of trees")) {
		model_fail(e, "line %zu: expected \"Tree=%zu\" or \"end of "
		    "trees\"%s", t.lineno, n, t.p >= t.end ? " (the file is "
		    "cut short)" : "");
		goto out;
	}
	if (declared != SIZE_MAX && declared != n) {
		model_fail(e, "tree_sizes names %zu trees but the file has %zu",
		    declared, n);
		goto out;
	}
	if (n % m->ngroups != 0) {
		model_fail(e, "%zu trees, not a multiple of num_class=%zu (one "
		    "tree per class and iteration)", n, m->ngroups);
		goto out;
	}
	g->iters = n / m->ngroups;
	m->ntrees = n;
	m->rounds = m->served_rounds = g->iters;
	m->booster = g->average ? "rf" : "gbdt";
	rc = 0;
out:
	lgbm_scratch_free(&s);
	return rc;
}

/*
 * One step down from flat node i (see struct lgbm_node): a numerical node
 * sends v right when v > thr (the threshold made to compare raw values,
 * lgbm_thr), NaN the way LGBM_F_NANRIGHT says, and for missing type Zero a
 * value within kZeroThreshold of 0 the way LGBM_F_ZRIGHT says; a leaf
 * (thr +inf, no flags) stays.  A categorical node (cat models only):
 * NaN, a negative integer part or one from 2^31 up goes right; a category
 * in the node's bitset goes left.
 */
static inline __attribute__((always_inline)) uint32_t
lgbm_step(const struct lgbm *g, int cat, int zero, int dbl, uint32_t i,
    const float *xf, const double *xd)
{
	const struct lgbm_node	*nd = &g->nodes[i];
	uint32_t		 f = nd->feat, c, isn, gt, z;
	const uint32_t		*set;
	double			 v;

	v = dbl ? xd[f & LGBM_F_MASK] : (double)xf[f & LGBM_F_MASK];
	if (cat && (f & LGBM_F_CAT)) {
		if (!(v > -1.0 && v < 2147483648.0))
			return nd->left + 1;
		c = (uint32_t)(int32_t)v;
		set = g->cats + nd->cats;
		return nd->left + (c / 32 < set[0] ?
		    !((set[1 + c / 32] >> (c % 32)) & 1u) : 1u);
	}
	isn = (uint32_t)(v != v);
	gt = (uint32_t)(v > nd->thr);
	if (!zero)
		return nd->left + (gt | (isn & (f >> 31)));
	/* one compare, not a short-circuit && that compiles to a branch */
	z = ((f >> 30) & 1u) & (uint32_t)(fabs(v) <= LGBM_ZERO);
	return nd->left + ((gt & ~z) | (isn & (f >> 31)) | (z & ((f >> 29) &
	    1u)));
}

/* Feature f of a row as LightGBM's row readers leave it: |v| <=
 * kZeroThreshold is 0. */
static inline __attribute__((always_inline)) double
lgbm_value(int dbl, const float *xf, const double *xd, uint32_t f)
{
	double	 v = dbl ? xd[f] : (double)xf[f];

	return fabs(v) <= LGBM_ZERO ? 0.0 : v;
}

/* A linear tree's output at leaf node l (Tree::Predict): the constant
 * plus coefficient times value, or the plain leaf value when one of the
 * leaf's features is NaN. */
static double
lgbm_linear(const struct lgbm *g, int dbl, uint32_t l, const float *xf,
    const double *xd)
{
	double		 o = g->lconst[l], v;
	uint32_t	 i, at = g->loff[l];

	/* indexed, not pointers: lfeat is NULL when no leaf has features */
	for (i = 0; i < g->lnfeat[l]; i++) {
		v = lgbm_value(dbl, xf, xd, g->lfeat[at + i]);
		if (isnan(v))
			return g->leaf[l];
		o += g->lcoef[at + i] * v;
	}
	return o;
}

/* The objective's ConvertOutput on a row's k outputs, in place. */
static void
lgbm_convert(const struct lgbm *g, double *o, size_t k)
{
	size_t	 i;
	double	 wmax, wsum;

	switch (g->tf) {
	case LGBM_TF_NONE:
		break;
	case LGBM_TF_SQRT:
		for (i = 0; i < k; i++)
			o[i] = (o[i] > 0.0 ? 1.0 : o[i] < 0.0 ? -1.0 : 0.0) *
			    o[i] * o[i];
		break;
	case LGBM_TF_SIGMOID:
		for (i = 0; i < k; i++)
			o[i] = 1.0 / (1.0 + exp(-g->sigmoid * o[i]));
		break;
	case LGBM_TF_EXP:
		for (i = 0; i < k; i++)
			o[i] = exp(o[i]);
		break;
	case LGBM_TF_LOG1PEXP:
		for (i = 0; i < k; i++)
			o[i] = log1p(exp(o[i]));
		break;
	case LGBM_TF_SOFTMAX:
		wmax = o[0];
		for (i = 1; i < k; i++)
			wmax = o[i] > wmax ? o[i] : wmax;
		wsum = 0.0;
		for (i = 0; i < k; i++) {
			o[i] = exp(o[i] - wmax);
			wsum += o[i];
		}
		for (i = 0; i < k; i++)
			o[i] /= wsum;
		break;
	}
}

#define LGBM_LANES	16	/* rows walked side by side */

/*
 * The raw score of group k for the LGBM_LANES rows at rf[] / rd[] into
 * acc: its trees in iteration order, each added in double as
 * GBDT::PredictRaw does.  The rows go down each tree together (a fixed
 * number of steps, leaves stepping to themselves), which overlaps their
 * walks and keeps the tree in cache.
 */
static inline __attribute__((always_inline)) void
lgbm_lanes(const struct lgbm *g, int cat, int zero, int dbl, size_t k,
    size_t K,
    const float *const rf[LGBM_LANES], const double *const rd[LGBM_LANES],
    double acc[LGBM_LANES])
{
	const struct lgbm_tree	*tr;
	uint32_t		 idx[LGBM_LANES], d;
	size_t			 it;
	int			 j;

	for (j = 0; j < LGBM_LANES; j++)
		acc[j] = 0.0;
	for (it = 0; it < g->iters; it++) {
		tr = &g->trees[it * K + k];
		for (j = 0; j < LGBM_LANES; j++)
			idx[j] = tr->root;
		for (d = 0; d < tr->depth; d++)
			for (j = 0; j < LGBM_LANES; j++)
				idx[j] = lgbm_step(g, cat, zero, dbl, idx[j],
				    dbl ? NULL : rf[j], dbl ? rd[j] : NULL);
		if (!tr->linear)
			for (j = 0; j < LGBM_LANES; j++)
				acc[j] += g->leaf[idx[j]];
		else
			for (j = 0; j < LGBM_LANES; j++)
				acc[j] += lgbm_linear(g, dbl, idx[j],
				    dbl ? NULL : rf[j], dbl ? rd[j] : NULL);
	}
}

/* The raw score of group k for one row. */
static inline __attribute__((always_inline)) double
lgbm_row(const struct lgbm *g, int cat, int zero, int dbl, size_t k,
    size_t K, const float *rf, const double *rd)
{
	const struct lgbm_tree	*tr;
	uint32_t		 i, d;
	size_t			 it;
	double			 acc = 0.0;

	for (it = 0; it < g->iters; it++) {
		tr = &g->trees[it * K + k];
		i = tr->root;
		for (d = 0; d < tr->depth; d++)
			i = lgbm_step(g, cat, zero, dbl, i, rf, rd);
		acc += tr->linear ? lgbm_linear(g, dbl, i, rf, rd) : g->leaf[i];
	}
	return acc;
}

/*
 * Predict nrows rows, the kinds of step and input fixed by cat and dbl:
 * LGBM_LANES rows at a time (a short last block repeats its last row in
 * the spare lanes; fewer than 4 rows go one at a time), then per row
 * average_output and the objective's transform unless raw.
 */
static inline __attribute__((always_inline)) void
lgbm_predict(const struct model *m, int cat, int zero, int dbl,
    const float *xf, const double *xd, size_t nrows, double *out, int raw)
{
	const struct lgbm	*g = m->lgbm;
	const float		*rf[LGBM_LANES];
	const double		*rd[LGBM_LANES];
	double			 acc[LGBM_LANES], *o;
	size_t			 r, k, j, n, i, K = m->ngroups;
	size_t			 nf = m->nfeatures;

	for (r = 0; r < nrows; r += n) {
		n = nrows - r < LGBM_LANES ? nrows - r : LGBM_LANES;
		if (n < 4) {
			n = 1;
			for (k = 0; k < K; k++)
				out[r * K + k] = lgbm_row(g, cat, zero, dbl, k,
				    K,
				    dbl ? NULL : xf + r * nf,
				    dbl ? xd + r * nf : NULL);
		} else {
			for (j = 0; j < LGBM_LANES; j++) {
				i = r + (j < n ? j : n - 1);
				rf[j] = dbl ? NULL : xf + i * nf;
				rd[j] = dbl ? xd + i * nf : NULL;
			}
			for (k = 0; k < K; k++) {
				lgbm_lanes(g, cat, zero, dbl, k, K, rf, rd,
				    acc);
				for (j = 0; j < n; j++)
					out[(r + j) * K + k] = acc[j];
			}
		}
		if (raw)
			continue;
		for (j = 0; j < n; j++) {
			o = out + (r + j) * K;
			if (g->average)
				for (k = 0; k < K; k++)
					o[k] /= (double)g->iters;
			lgbm_convert(g, o, K);
		}
	}
}

/* One instance of lgbm_predict per kind of model and input. */
#define LGBM_PREDICT(name, cat, zero, dbl)				\
static void								\
name(const struct model *m, const float *xf, const double *xd,	\
    size_t nrows, double *out, int raw)					\
{									\
	lgbm_predict(m, cat, zero, dbl, xf, xd, nrows, out, raw);	\
}
LGBM_PREDICT(lgbm_predict_f, 0, 0, 0)
LGBM_PREDICT(lgbm_predict_fz, 0, 1, 0)
LGBM_PREDICT(lgbm_predict_fc, 1, 0, 0)
LGBM_PREDICT(lgbm_predict_fcz, 1, 1, 0)
LGBM_PREDICT(lgbm_predict_d, 0, 0, 1)
LGBM_PREDICT(lgbm_predict_dz, 0, 1, 1)
LGBM_PREDICT(lgbm_predict_dc, 1, 0, 1)
LGBM_PREDICT(lgbm_predict_dcz, 1, 1, 1)

/*
 * Predict nrows rows; see model_lgbm.h.  The walk is compiled for each
 * kind of model (categorical splits or not, missing type Zero anywhere or
 * not) and input (double or float32), so that a step does only what the
 * model needs.
 */
void
model_lgbm_predict(const struct model *m, const float *xf, const double *xd,
    size_t nrows, double *out, int raw)
{
	static void (*const fn[8])(const struct model *, const float *,
	    const double *, size_t, double *, int) = {
		lgbm_predict_f, lgbm_predict_fz, lgbm_predict_fc,
		lgbm_predict_fcz, lgbm_predict_d, lgbm_predict_dz,
		lgbm_predict_dc, lgbm_predict_dcz
	};
	const struct lgbm	*g = m->lgbm;

	fn[(xd != NULL) * 4 + (g->ncats > 0) * 2 + g->zero](m, xf, xd, nrows,
	    out, raw);
}
