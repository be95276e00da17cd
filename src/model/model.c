/*
 * model: the evaluator.  XGBoost gbtree, dart and gblinear models, checked
 * and laid out by the builder (model_build.c, model_tree.c; see
 * model_impl.h), evaluated with no check and no allocation: this file
 * needs neither jansson nor I/O, so a benchmark or fuzzer can link it
 * alone.
 *
 * Trees live in one flat node array, renumbered in breadth-first order so
 * that the two children of a node are adjacent: the next node is left +
 * (go right), with no branch on the child layout.
 *
 * Arithmetic follows XGBoost 1.7's CPU predictor exactly: features and
 * split conditions are float, a missing value (NaN) takes the node's
 * default direction, a row's margin starts at base_score (turned into a
 * margin by the objective's ProbToMargin) and each tree's leaf is added in
 * float in tree order; the objective's transform (sigmoid, exp, hinge,
 * softmax, argmax) is done in float as XGBoost's common/math.h and
 * objectives do it.  A categorical split sends a value right when its
 * category is in the node's set (XGBoost's common::Decision).
 */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/model.h"
#include "model/model_impl.h"
#include "model/model_lgbm.h"

/* Free the feature names and types of m. */
static void
model_features_free(struct model *m)
{
	size_t	 i;

	for (i = 0; i < m->nfeatures; i++) {
		if (m->feature_names != NULL)
			free(m->feature_names[i]);
		if (m->feature_types != NULL)
			free(m->feature_types[i]);
	}
	free(m->feature_names);
	free(m->feature_types);
	free(m->feature_order);
}

/* Free a model and everything it owns; NULL is fine. */
void
model_free(struct model *m)
{
	if (m == NULL)
		return;
	free(m->name);
	free(m->base);
	free(m->trees);
	free(m->leaf);
	free(m->group_end);
	free(m->nodes);
	free(m->cats);
	free(m->linear);
	model_features_free(m);
	model_lgbm_free(m->lgbm);
	model_onnx_free(m->onnx);
	free(m);
}

/* Number of input features a row must have. */
size_t
model_nfeatures(const struct model *m)
{
	return m->nfeatures;
}

/* Number of outputs per row. */
size_t
model_noutputs(const struct model *m)
{
	return m->noutputs;
}

/* Number of trees. */
size_t
model_ntrees(const struct model *m)
{
	return m->ntrees;
}

/* The objective's name as the file gives it. */
const char *
model_objective(const struct model *m)
{
	return m->obj->name;
}

/* "gbtree", "dart" or "gblinear". */
const char *
model_booster(const struct model *m)
{
	return m->booster;
}

/* The library the model is from; see model.h. */
const char *
model_platform(const struct model *m)
{
	if (m->onnx != NULL)
		return "onnx";
	return m->lgbm != NULL ? "lightgbm" : "xgboost";
}

/* The model's name: the file's base name without ".json" / ".ubj". */
const char *
model_name(const struct model *m)
{
	return m->name;
}

/* Hex SHA-256 of the model file. */
const char *
model_sha256(const struct model *m)
{
	return m->sha256;
}

/* The name of feature i, or NULL. */
const char *
model_feature_name(const struct model *m, size_t i)
{
	return m->feature_names != NULL && i < m->nfeatures ?
	    m->feature_names[i] : NULL;
}

/* XGBoost's type of feature i, or NULL. */
const char *
model_feature_type(const struct model *m, size_t i)
{
	return m->feature_types != NULL && i < m->nfeatures ?
	    m->feature_types[i] : NULL;
}

/* Binary search of feature_order for name. */
int
model_feature_find(const struct model *m, const char *name, size_t *i)
{
	size_t	 lo = 0, hi = m->nfeatures, mid;
	int	 c;

	if (m->feature_order == NULL)
		return -1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, m->feature_names[m->feature_order[mid]]);
		if (c == 0) {
			*i = m->feature_order[mid];
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * One step down from node i (see struct model_node): v < cond goes left,
 * a missing value goes the default way, a leaf stays where it is.
 */
static inline uint32_t
model_step(const struct model_node *nodes, uint32_t i, const float *row)
{
	const struct model_node	*nd = &nodes[i];
	float			 v = row[nd->feat & MODEL_NODE_FEATURE_MASK];

	return nd->left + ((uint32_t)(v >= nd->cond) |
	    ((~nd->feat >> 31) & (uint32_t)(v != v)));
}

/* The float whose bits are u. */
static inline float
model_bits_float(uint32_t u)
{
	float	 f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/*
 * One step down from node i of a model with categorical splits.  For a
 * categorical node, as XGBoost's common::Decision: a missing value goes
 * the default way; a value below 0 or from 2^24 up goes left; otherwise
 * its category (the value truncated to an integer) goes right if it is in
 * the node's set, left if not.
 */
static inline uint32_t
model_step_cat(const struct model_node *nodes, const uint32_t *cats,
    uint32_t i, const float *row)
{
	const struct model_node	*nd = &nodes[i];
	const uint32_t		*set;
	float			 v;
	uint32_t		 c;

	if (!(nd->feat & MODEL_NODE_CATEGORICAL))
		return model_step(nodes, i, row);
	v = row[nd->feat & MODEL_NODE_FEATURE_MASK];
	if (isnan(v))
		return nd->left + !(nd->feat & MODEL_NODE_DEFAULT_LEFT);
	set = cats + nd->cats;
	if (set[0] == MODEL_CATS_EQUAL)
		return nd->left + (v == model_bits_float(set[1]));
	if (!(v >= 0.0f && v < (float)MODEL_CAT_LIMIT))
		return nd->left;
	c = (uint32_t)v;
	if (c / 32 >= set[0])
		return nd->left;
	return nd->left + ((set[1 + c / 32] >> (c % 32)) & 1u);
}

/* A step of either kind: cat is a constant where it is called, so each
 * caller compiles to one kind with no test. */
static inline __attribute__((always_inline)) uint32_t
model_next(const struct model *m, int cat, uint32_t i, const float *row)
{
	return cat ? model_step_cat(m->nodes, m->cats, i, row) :
	    model_step(m->nodes, i, row);
}

/* XGBoost's common::Sigmoid, in float: the exponent is capped at 88.7 so
 * that a very negative margin gives a tiny probability, not 0. */
static inline float
model_sigmoid(float x)
{
	return 1.0f / (expf(fminf(-x, 88.7f)) + 1.0f + 1e-16f);
}

/*
 * Sum the trees of group g for one row, from the group's base margin, in
 * tree order as XGBoost does.  Four trees are walked side by side: their
 * walks are independent, so the CPU overlaps their loads.
 */
static inline __attribute__((always_inline)) float
model_margin_row(const struct model *m, int cat, size_t g, const float *row)
{
	const struct model_tree	*tr = m->trees + (g == 0 ? 0 :
				    m->group_end[g - 1]);
	const struct model_tree	*end = m->trees + m->group_end[g];
	uint32_t		 i0, i1, i2, i3, d, depth;
	float			 acc = m->base[g];

	for (; end - tr >= 4; tr += 4) {
		i0 = tr[0].root;
		i1 = tr[1].root;
		i2 = tr[2].root;
		i3 = tr[3].root;
		depth = tr[0].depth;
		if (tr[1].depth > depth)
			depth = tr[1].depth;
		if (tr[2].depth > depth)
			depth = tr[2].depth;
		if (tr[3].depth > depth)
			depth = tr[3].depth;
		for (d = 0; d < depth; d++) {
			i0 = model_next(m, cat, i0, row);
			i1 = model_next(m, cat, i1, row);
			i2 = model_next(m, cat, i2, row);
			i3 = model_next(m, cat, i3, row);
		}
		acc += m->leaf[i0];
		acc += m->leaf[i1];
		acc += m->leaf[i2];
		acc += m->leaf[i3];
	}
	for (; tr < end; tr++) {
		i0 = tr->root;
		for (d = 0; d < tr->depth; d++)
			i0 = model_next(m, cat, i0, row);
		acc += m->leaf[i0];
	}
	return acc;
}

#define MODEL_LANES	16	/* rows walked side by side in a batch */

/*
 * Sum the trees of group g for the MODEL_LANES rows row[] into acc, each
 * from the group's base margin in tree order.  The rows go down each tree
 * together, which overlaps their walks and keeps the tree in cache.
 */
static inline __attribute__((always_inline)) void
model_margin_lanes(const struct model *m, int cat, size_t g,
    const float *const row[MODEL_LANES], float acc[MODEL_LANES])
{
	const struct model_tree	*tr = m->trees + (g == 0 ? 0 :
				    m->group_end[g - 1]);
	const struct model_tree	*end = m->trees + m->group_end[g];
	uint32_t		 idx[MODEL_LANES], d;
	int			 j;

	for (j = 0; j < MODEL_LANES; j++)
		acc[j] = m->base[g];
	for (; tr < end; tr++) {
		for (j = 0; j < MODEL_LANES; j++)
			idx[j] = tr->root;
		for (d = 0; d < tr->depth; d++)
			for (j = 0; j < MODEL_LANES; j++)
				idx[j] = model_next(m, cat, idx[j], row[j]);
		for (j = 0; j < MODEL_LANES; j++)
			acc[j] += m->leaf[idx[j]];
	}
}

/* Softmax over the n class margins in o, in place, as XGBoost's
 * common::Softmax: float exponentials, a double sum, a float division. */
static void
model_softmax(double *o, size_t n)
{
	size_t	 g;
	float	 wmax, e;
	double	 wsum = 0.0;

	wmax = (float)o[0];
	for (g = 1; g < n; g++)
		wmax = fmaxf((float)o[g], wmax);
	for (g = 0; g < n; g++) {
		e = expf((float)o[g] - wmax);
		o[g] = (double)e;
		wsum += (double)e;
	}
	for (g = 0; g < n; g++)
		o[g] = (double)((float)o[g] / (float)wsum);
}

/*
 * Turn the margins of group g for rows r0 .. r0 + n - 1 into outputs.
 * For argmax, best[] and bestm[] carry the running maximum across groups
 * (XGBoost's FindMaxIndex: the first strict maximum); for softmax the
 * margins wait in out until the last group.
 */
static void
model_finish(const struct model *m, size_t g, const float *margin, size_t n,
    double *out, size_t r0, size_t *best, float *bestm)
{
	size_t	 j;
	double	*o;

	for (j = 0; j < n; j++) {
		o = out + (r0 + j) * m->noutputs;
		switch (m->obj->transform) {
		case MODEL_IDENTITY:
			o[g] = (double)margin[j];
			break;
		case MODEL_SIGMOID:
			o[g] = (double)model_sigmoid(margin[j]);
			break;
		case MODEL_EXP:
			o[g] = (double)expf(margin[j]);
			break;
		case MODEL_HINGE:
			o[g] = margin[j] > 0.0f ? 1.0 : 0.0;
			break;
		case MODEL_SOFTMAX:
			o[g] = (double)margin[j];
			if (g == m->ngroups - 1)
				model_softmax(o, m->ngroups);
			break;
		case MODEL_ARGMAX:
			if (g == 0 || margin[j] > bestm[j]) {
				bestm[j] = margin[j];
				best[j] = g;
			}
			if (g == m->ngroups - 1)
				o[0] = (double)best[j];
			break;
		}
	}
}

/* The margin of group g for one row of a gblinear model, as XGBoost's
 * gblinear.cc: bias plus base margin, then x * weight for each present
 * feature in order, in float; a missing feature adds nothing. */
static float
model_margin_linear(const struct model *m, size_t g, const float *row)
{
	const float	*w = m->linear;
	size_t		 i, ng = m->ngroups, nf = m->nfeatures;
	float		 psum = w[nf * ng + g] + m->base[g];

	for (i = 0; i < nf; i++)
		if (!isnan(row[i]))
			psum += row[i] * w[i * ng + g];
	return psum;
}

/*
 * Predict nrows rows of a tree model into out, the kind of step fixed by
 * cat.  Rows go down the trees MODEL_LANES at a time (a short last block
 * repeats its last row in the spare lanes); a batch of fewer than 4 rows
 * goes one row at a time.
 */
static inline __attribute__((always_inline)) void
model_predict_trees(const struct model *m, int cat, const float *x,
    size_t nrows, double *out)
{
	const float	*row[MODEL_LANES];
	size_t		 r, g, j, n, nf = m->nfeatures, best[MODEL_LANES];
	float		 margin[MODEL_LANES], bestm[MODEL_LANES];

	for (r = 0; r < nrows; r += n) {
		n = nrows - r < MODEL_LANES ? nrows - r : MODEL_LANES;
		if (n < 4) {
			n = 1;
			for (g = 0; g < m->ngroups; g++) {
				margin[0] = model_margin_row(m, cat, g,
				    x + r * nf);
				model_finish(m, g, margin, 1, out, r, best,
				    bestm);
			}
			continue;
		}
		for (j = 0; j < MODEL_LANES; j++)
			row[j] = x + (r + (j < n ? j : n - 1)) * nf;
		for (g = 0; g < m->ngroups; g++) {
			model_margin_lanes(m, cat, g, row, margin);
			model_finish(m, g, margin, n, out, r, best, bestm);
		}
	}
}

/*
 * ONNX tree ensembles.  The trees give each group's raw sum (or, for MIN
 * and MAX, its extreme leaf, NaN when no tree weighed the group); what ONNX
 * Runtime does next is done here in the same float operations, after its
 * tree_ensemble_aggregator.h and ml_common.h (ComputeLogistic,
 * ComputeProbit, ComputeSoftmax, ComputeSoftmaxZero, write_scores).
 */

/* 1 / (1 + exp(-|x|)), mirrored for x < 0. */
static float
model_onnx_logistic(float x)
{
	float	 v = 1.0f / (1.0f + expf(-fabsf(x)));

	return x < 0.0f ? 1.0f - v : v;
}

/* sqrt(2) * erfinv(2x - 1) with Winitzki's approximation of erfinv, its
 * constant pi the float M_PI as ONNX Runtime's ErfInv has it. */
static float
model_onnx_probit(float x)
{
	float	 y = 2.0f * x - 1.0f, sgn, l, v, v2, v3;

	sgn = y < 0.0f ? -1.0f : 1.0f;
	y = (1.0f - y) * (1.0f + y);
	l = logf(y);
	v = 2.0f / (3.14159265358979323846f * 0.147f) + 0.5f * l;
	v2 = 1.0f / 0.147f * l;
	v3 = -v + sqrtf(v * v - v2);
	return 1.41421356f * (sgn * sqrtf(v3));
}

/* Softmax over o[0 .. n - 1] in float; zero: SOFTMAX_ZERO, where a score
 * within 1e-7 of zero is scaled by exp(-max) and left out of the sum. */
static void
model_onnx_softmax(double *o, size_t n, int zero)
{
	float	 vmax = -FLT_MAX, sum = 0.0f, v, eneg;
	size_t	 k;

	for (k = 0; k < n; k++)
		if ((float)o[k] > vmax)
			vmax = (float)o[k];
	eneg = expf(-vmax);
	for (k = 0; k < n; k++) {
		v = (float)o[k];
		if (zero && !(v > 0.0000001f || v < -0.0000001f)) {
			o[k] = (double)(v * eneg);
			continue;
		}
		v = expf(v - vmax);
		o[k] = (double)v;
		sum += v;
	}
	for (k = 0; k < n; k++)
		o[k] = (double)((float)o[k] / sum);
}

/* ONNX Runtime's write_scores: n scores in o (n is 1 or more; o has room
 * for 2), post_transform post, second the binary case's way of making two
 * scores of one (-1: none). */
static void
model_onnx_write(double *o, size_t n, enum model_post post, int second)
{
	size_t	 k;
	float	 s0;

	if (n >= 2) {
		switch (post) {
		case MODEL_POST_PROBIT:
			for (k = 0; k < n; k++)
				o[k] = (double)model_onnx_probit((float)o[k]);
			break;
		case MODEL_POST_LOGISTIC:
			for (k = 0; k < n; k++)
				o[k] = (double)model_onnx_logistic((float)o[k]);
			break;
		case MODEL_POST_SOFTMAX:
			model_onnx_softmax(o, n, 0);
			break;
		case MODEL_POST_SOFTMAX_ZERO:
			model_onnx_softmax(o, n, 1);
			break;
		case MODEL_POST_NONE:
			break;
		}
		return;
	}
	s0 = (float)o[0];
	o[1] = 0.0;
	if (post == MODEL_POST_PROBIT) {
		o[0] = (double)model_onnx_probit(s0);
		return;
	}
	switch (second) {
	case 0:
	case 1:
		o[0] = (double)(1.0f - s0);
		o[1] = (double)s0;
		break;
	case 2:
	case 3:
		if (post == MODEL_POST_LOGISTIC) {
			o[0] = (double)model_onnx_logistic(-s0);
			o[1] = (double)model_onnx_logistic(s0);
		} else if (second == 2) {
			o[0] = (double)-s0;
			o[1] = (double)s0;
		} else
			o[1] = (double)-s0;
		break;
	}
}

/* A regressor's targets: aggregate, base values, post_transform. */
static void
model_onnx_regress(const struct model *m, double *o)
{
	const struct model_onnx	*ox = m->onnx;
	size_t			 k, n = m->ngroups;
	float			 sc, b;
	int			 h, use;

	use = ox->nbase == n;
	for (k = 0; k < n; k++) {
		sc = (float)o[k];
		h = !isnan(sc);
		/* one target: ONNX Runtime's "origin", base_values[0] */
		b = use ? ox->base[k] : 0.0f;
		switch (ox->agg) {
		case MODEL_AGG_SUM:
			sc = use ? sc + b : sc;
			break;
		case MODEL_AGG_AVERAGE:
			sc = use ? sc / ox->ntrees + b : sc / ox->ntrees;
			break;
		case MODEL_AGG_MIN:
		case MODEL_AGG_MAX:
			sc = h ? (n == 1 ? sc + b : b + sc) : b;
			break;
		}
		o[k] = (double)sc;
	}
	/* One target: ONNX Runtime applies PROBIT only. */
	if (n == 1) {
		if (ox->post == MODEL_POST_PROBIT)
			o[0] = (double)model_onnx_probit((float)o[0]);
	} else
		model_onnx_write(o, n, ox->post, -1);
}

/* A classifier's classes: base values, the label (as ONNX Runtime's
 * TreeAggregatorClassifier::FinalizeScores), post_transform. */
static size_t
model_onnx_classify(const struct model *m, double *o)
{
	const struct model_onnx	*ox = m->onnx;
	size_t			 k, n = m->ngroups, size, label = 0;
	unsigned char		 h0, h1;
	float			 best = 0.0f, pos;
	int			 second = -1, found = 0;

	if (n > 2) {
		for (k = 0; k < n; k++) {
			if (k < ox->nbase)
				o[k] = (double)(ox->has[k] ? (float)o[k] +
				    ox->base[k] : ox->base[k]);
			if ((ox->has[k] || k < ox->nbase) &&
			    (!found || (float)o[k] > best)) {
				found = 1;
				label = k;
				best = (float)o[k];
			}
		}
		model_onnx_write(o, n, ox->post, -1);
		return label;
	}
	h0 = ox->has[0];
	h1 = ox->has[1];
	size = 2;
	if (ox->nbase == 2) {
		if (h1) {
			o[1] = (double)(ox->base[1] + (float)o[0]);
			o[0] = (double)-(float)o[1];
		} else {
			o[1] = (double)((float)o[1] + ox->base[1]);
			o[0] = (double)((float)o[0] + ox->base[0]);
		}
	} else if (ox->nbase == 1) {
		o[0] = (double)((float)o[0] + ox->base[0]);
		size = h1 ? 2 : 1;
	} else {
		second = 3;
		size = h1 ? 2 : 1;
	}
	pos = size == 2 && h1 ? (float)o[1] : h0 ? (float)o[0] : 0.0f;
	if (ox->binary_case) {
		if (ox->all_positive) {
			second = pos > 0.5f ? 0 : 1;
			label = pos > 0.5f;
		} else {
			second = pos > 0.0f ? 2 : 3;
			label = pos > 0.0f;
		}
	} else
		label = pos > 0.0f;
	model_onnx_write(o, size, ox->post, second);
	return label;
}

/* The graph's operators after the ensemble, as ONNX's Sigmoid, Exp and
 * Softmax (last axis) define them. */
static void
model_onnx_ops(const struct model *m, double *o)
{
	const struct model_onnx	*ox = m->onnx;
	size_t			 i, k, n = m->noutputs;
	float			 vmax, sum;

	for (i = 0; i < ox->nops; i++) {
		if (ox->ops[i] == MODEL_OP_SIGMOID) {
			for (k = 0; k < n; k++)
				o[k] = (double)(1.0f / (1.0f +
				    expf(-(float)o[k])));
			continue;
		}
		if (ox->ops[i] == MODEL_OP_EXP) {
			for (k = 0; k < n; k++)
				o[k] = (double)expf((float)o[k]);
			continue;
		}
		vmax = (float)o[0];
		for (k = 1; k < n; k++)
			vmax = fmaxf(vmax, (float)o[k]);
		sum = 0.0f;
		for (k = 0; k < n; k++) {
			o[k] = (double)expf((float)o[k] - vmax);
			sum += (float)o[k];
		}
		for (k = 0; k < n; k++)
			o[k] = (double)((float)o[k] / sum);
	}
}

/* MIN or MAX: group g's extreme leaf for one row, NaN when no tree of
 * the group weighs it. */
static float
model_onnx_extreme(const struct model *m, size_t g, const float *row)
{
	const struct model_tree	*tr = m->trees + (g == 0 ? 0 :
				    m->group_end[g - 1]);
	const struct model_tree	*end = m->trees + m->group_end[g];
	int			 cat = m->ncats > 0;
	uint32_t		 i, d;
	float			 acc = NAN, w;

	for (; tr < end; tr++) {
		i = tr->root;
		for (d = 0; d < tr->depth; d++)
			i = cat ? model_step_cat(m->nodes, m->cats, i, row) :
			    model_step(m->nodes, i, row);
		w = m->leaf[i];
		if (isnan(w))
			continue;
		if (isnan(acc) || (m->onnx->agg == MODEL_AGG_MIN ? w < acc :
		    w > acc))
			acc = w;
	}
	return acc;
}

/* Predict nrows rows of an ONNX ensemble; labels may be NULL. */
static void
model_onnx_predict(const struct model *m, const float *x, size_t nrows,
    double *out, size_t *labels)
{
	size_t	 r, g, label;
	double	*o;

	if (m->onnx->agg == MODEL_AGG_MIN || m->onnx->agg == MODEL_AGG_MAX) {
		for (r = 0; r < nrows; r++)
			for (g = 0; g < m->ngroups; g++)
				out[r * m->noutputs + g] = (double)
				    model_onnx_extreme(m, g, x + r *
				    m->nfeatures);
	} else if (m->ncats > 0)
		model_predict_trees(m, 1, x, nrows, out);
	else
		model_predict_trees(m, 0, x, nrows, out);
	for (r = 0; r < nrows; r++) {
		o = out + r * m->noutputs;
		label = m->onnx->classifier ? model_onnx_classify(m, o) :
		    (model_onnx_regress(m, o), 0);
		model_onnx_ops(m, o);
		if (labels != NULL)
			labels[r] = label;
	}
}

/* Free what model_onnx.c allocated; NULL is fine. */
void
model_onnx_free(struct model_onnx *ox)
{
	size_t	 k;

	if (ox == NULL)
		return;
	for (k = 0; ox->labels != NULL && ox->labels[k] != NULL; k++)
		free(ox->labels[k]);
	free(ox->labels);
	free(ox->base);
	free(ox->has);
	free(ox);
}

/* Predict nrows rows into out, and each row's class into labels; see
 * model.h. */
void
model_predict_labels(const struct model *m, const float *x, size_t nrows,
    double *out, size_t *labels)
{
	size_t	 r, g, best[1];
	float	 margin[1], bestm[1];

	if (m->onnx != NULL) {
		model_onnx_predict(m, x, nrows, out, labels);
		return;
	}
	if (labels != NULL)
		memset(labels, 0, nrows * sizeof(*labels));
	if (m->lgbm != NULL)
		model_lgbm_predict(m, x, NULL, nrows, out, 0);
	else if (m->linear != NULL) {
		for (r = 0; r < nrows; r++)
			for (g = 0; g < m->ngroups; g++) {
				margin[0] = model_margin_linear(m, g,
				    x + r * m->nfeatures);
				model_finish(m, g, margin, 1, out, r, best,
				    bestm);
			}
	} else if (m->ncats > 0)
		model_predict_trees(m, 1, x, nrows, out);
	else
		model_predict_trees(m, 0, x, nrows, out);
}

/* Whether the model compares features in double; see model.h. */
int
model_wants_double(const struct model *m)
{
	return m->lgbm != NULL;
}

/* Whether the model has raw scores that differ from its predictions. */
int
model_has_raw(const struct model *m)
{
	return m->lgbm != NULL;
}

/*
 * Predict from double features; see model.h.  A LightGBM model reads them
 * as they are; any other model computes in float32, so the rows are
 * rounded to float32 a block at a time (the one allocation here: a model
 * of that kind is given float32 rows by the daemon).
 */
void
model_predict_double(const struct model *m, const double *x, size_t nrows,
    double *out, int raw)
{
	size_t	 r, n, i, nf = m->nfeatures, block = 64;
	float	*xf;

	if (m->lgbm != NULL) {
		model_lgbm_predict(m, NULL, x, nrows, out, raw);
		return;
	}
	if ((xf = calloc(block * nf, sizeof(*xf))) == NULL) {
		for (i = 0; i < nrows * m->noutputs; i++)
			out[i] = NAN;
		return;
	}
	for (r = 0; r < nrows; r += n) {
		n = nrows - r < block ? nrows - r : block;
		for (i = 0; i < n * nf; i++)
			xf[i] = (float)x[r * nf + i];
		model_predict(m, xf, n, out + r * m->noutputs);
	}
	free(xf);
}

/* Predict nrows rows into out; see model.h. */
void
model_predict(const struct model *m, const float *x, size_t nrows,
    double *out)
{
	model_predict_labels(m, x, nrows, out, NULL);
}

/* The number of classes of a classifier, 0 for any other model. */
size_t
model_nclasses(const struct model *m)
{
	return m->onnx != NULL && m->onnx->classifier ? m->ngroups : 0;
}

/* The label of class k (< model_nclasses) as the model names it. */
const char *
model_class_label(const struct model *m, size_t k)
{
	return model_nclasses(m) > k ? m->onnx->labels[k] : NULL;
}

/* Whether the class labels are integers (ONNX classlabels_int64s). */
int
model_class_labels_int(const struct model *m)
{
	return m->onnx != NULL && m->onnx->labels_int;
}
