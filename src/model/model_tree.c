/*
 * model_tree: the structural checks on one tree and its breadth-first
 * renumbering into the model's flat node array.
 *
 * The walk starts at the root and visits each reachable node once.  What
 * the evaluator relies on is checked on the way: a node has two children
 * or none, every child index is in range, no node is reached twice (no
 * cycle, no shared subtree), every split feature is below num_feature, a
 * numerical split's condition is not NaN and a leaf's value is finite.
 * Nodes that no path reaches are dropped.  A categorical split's set
 * becomes a bit set in m->cats.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/model.h"
#include "model/model_impl.h"
#include "model/model_tree.h"

#define MODEL_TREE_PATH	"learner.gradient_booster.model.trees"

/* The state of one breadth-first walk over a tree's n nodes. */
struct model_walk {
	struct model_err		*e;
	const struct model_tree_src	*src;
	size_t				 t;	/* tree number, for messages */
	size_t				*queue;	/* file indices, in visit order */
	uint32_t			*newidx; /* file index -> visit order */
	uint32_t			*depth;	/* by visit order */
	size_t				 tail;	/* nodes queued */
	float				 weight; /* multiplies every leaf */
};

/* Turn the node at file index o into a leaf at flat index k. */
static int
model_tree_leaf(struct model_walk *w, struct model *m, size_t o, size_t k)
{
	const struct model_tree_src	*s = w->src;
	long long			 l = s->left[o], r = s->right[o];

	if (l != r)
		return model_fail(w->e, MODEL_TREE_PATH "[%zu].%s[%zu]: %lld, "
		    "but %s[%zu] is -1 (a leaf has no children)", w->t,
		    l == -1 ? "right_children" : "left_children", o,
		    l == -1 ? r : l,
		    l == -1 ? "left_children" : "right_children", o);
	if (!isfinite(s->cond[o]))
		return model_fail(w->e, MODEL_TREE_PATH "[%zu].split_conditions"
		    "[%zu]: leaf value %g is not finite", w->t, o,
		    (double)s->cond[o]);
	/* dart: XGBoost multiplies leaf by weight_drop in float at each
	 * prediction; the product is the same made once here. */
	m->leaf[k] = s->cond[o] * w->weight;
	m->nodes[k].cond = NAN;
	m->nodes[k].feat = MODEL_NODE_DEFAULT_LEFT;
	m->nodes[k].left = (uint32_t)k;
	return 0;
}

/* Check that child c (named by which, of node o) is in range. */
static int
model_tree_range(struct model_walk *w, const char *which, size_t o,
    long long c)
{
	if (c < 0 || (unsigned long long)c >= w->src->n)
		return model_fail(w->e, MODEL_TREE_PATH "[%zu].%s[%zu]: index "
		    "%lld out of range (tree has %zu nodes)", w->t, which, o,
		    c, w->src->n);
	return 0;
}

/* Queue child c (named by which, of node o at visit position pos) unless
 * it was reached before. */
static int
model_tree_queue(struct model_walk *w, const char *which, size_t o,
    size_t pos, long long c)
{
	/* newidx[c] is 0 until c is reached; the root is reached first and
	 * may be no one's child, so a second arrival shows at once. */
	if (c == 0 || w->newidx[c] != 0)
		return model_fail(w->e, MODEL_TREE_PATH "[%zu].%s[%zu]: node "
		    "%lld is reached twice (cycle or shared subtree)", w->t,
		    which, o, c);
	w->newidx[c] = (uint32_t)w->tail;
	w->depth[w->tail] = w->depth[pos] + 1;
	w->queue[w->tail++] = (size_t)c;
	return 0;
}

/* Append the bit set of node o's categories to m->cats and point nd at
 * it.  model_cats_fetch has checked every category is below
 * MODEL_CAT_LIMIT. */
static int
model_tree_catset(struct model_walk *w, struct model *m, size_t o,
    struct model_node *nd)
{
	const struct model_tree_src	*s = w->src;
	const long long			*c = s->cats + s->cat_beg[o];
	size_t				 i, n = (size_t)s->cat_len[o], words;
	size_t				 cap;
	long long			 max = 0;
	uint32_t			*set;

	for (i = 0; i < n; i++)
		if (c[i] > max)
			max = c[i];
	words = (size_t)max / 32 + 1;
	if (words + 1 > MODEL_MAX_CAT_WORDS - m->ncats)
		return model_fail(w->e, MODEL_TREE_PATH "[%zu].categories: the "
		    "category sets need more than %zu words (limit)", w->t,
		    MODEL_MAX_CAT_WORDS);
	if (m->ncats + words + 1 > m->catcap) {
		cap = m->catcap * 2 > m->ncats + words + 1 ? m->catcap * 2 :
		    m->ncats + words + 1 + 64;
		if ((set = realloc(m->cats, cap * sizeof(*set))) == NULL)
			return model_fail(w->e, MODEL_TREE_PATH "[%zu]: out of "
			    "memory for category sets", w->t);
		m->cats = set;
		m->catcap = cap;
	}
	set = m->cats + m->ncats;
	memset(set, 0, (words + 1) * sizeof(*set));
	set[0] = (uint32_t)words;
	for (i = 0; i < n; i++)
		set[1 + c[i] / 32] |= (uint32_t)1 << (c[i] % 32);
	nd->cats = (uint32_t)m->ncats;
	nd->feat |= MODEL_NODE_CATEGORICAL;
	m->ncats += words + 1;
	return 0;
}

/* Make the node at file index o (visit position pos) a split at flat index
 * base + pos, its children queued. */
static int
model_tree_split(struct model_walk *w, struct model *m, size_t o,
    size_t pos, size_t base)
{
	const struct model_tree_src	*s = w->src;
	struct model_node		*nd = &m->nodes[base + pos];
	long long			 l = s->left[o], r = s->right[o];
	long long			 f = s->feat[o];

	if (model_tree_range(w, "left_children", o, l) == -1 ||
	    model_tree_range(w, "right_children", o, r) == -1)
		return -1;
	if (l == r)	/* both children one node: the left names it first */
		return model_fail(w->e, MODEL_TREE_PATH "[%zu].left_children"
		    "[%zu]: node %lld is reached twice (cycle or shared "
		    "subtree)", w->t, o, l);
	if (model_tree_queue(w, "left_children", o, pos, l) == -1 ||
	    model_tree_queue(w, "right_children", o, pos, r) == -1)
		return -1;
	if (f < 0 || (unsigned long long)f >= m->nfeatures)
		return model_fail(w->e, MODEL_TREE_PATH "[%zu].split_indices"
		    "[%zu]: feature %lld out of range (num_feature is %zu)",
		    w->t, o, f, m->nfeatures);
	nd->feat = (uint32_t)f | (s->dleft[o] ? MODEL_NODE_DEFAULT_LEFT : 0);
	if (s->stype != NULL && s->stype[o] == 1) {
		if (model_tree_catset(w, m, o, nd) == -1)
			return -1;
	} else if (isnan(s->cond[o]))
		return model_fail(w->e, MODEL_TREE_PATH "[%zu].split_conditions"
		    "[%zu]: NaN in a numerical split", w->t, o);
	else
		nd->cond = s->cond[o];
	nd->left = (uint32_t)(base + w->newidx[l]);
	m->leaf[base + pos] = 0.0f;
	return 0;
}

/* Check tree t and append its reachable nodes; see model_tree.h. */
int
model_tree_add(struct model_err *e, struct model *m,
    const struct model_tree_src *src, size_t t, float weight,
    struct model_tree *tr)
{
	struct model_walk	 w = { e, src, t, NULL, NULL, NULL, 1, weight };
	size_t			 head, o, base = m->nnodes, n = src->n;
	uint32_t		 maxdepth = 0;
	int			 ret = -1;

	if (n == 0)
		return model_fail(e, MODEL_TREE_PATH "[%zu].left_children: "
		    "tree has no nodes", t);
	if (n > MODEL_MAX_NODES - m->nnodes)
		return model_fail(e, MODEL_TREE_PATH "[%zu]: too many nodes in "
		    "the model (limit %zu)", t, MODEL_MAX_NODES);
	if ((w.queue = calloc(n, sizeof(*w.queue))) == NULL ||
	    (w.newidx = calloc(n, sizeof(*w.newidx))) == NULL ||
	    (w.depth = calloc(n, sizeof(*w.depth))) == NULL) {
		model_fail(e, MODEL_TREE_PATH "[%zu]: out of memory", t);
		goto out;
	}
	/* The queue ends after at most n nodes: none is queued twice. */
	for (head = 0; head < w.tail; head++) {
		o = w.queue[head];
		if (w.depth[head] > maxdepth)
			maxdepth = w.depth[head];
		if (maxdepth > e->lim->max_depth) {
			model_fail(e, MODEL_TREE_PATH "[%zu]: deeper than %u "
			    "levels (max_tree_depth)", t, e->lim->max_depth);
			goto out;
		}
		if (src->left[o] == -1 || src->right[o] == -1) {
			if (model_tree_leaf(&w, m, o, base + head) == -1)
				goto out;
		} else if (model_tree_split(&w, m, o, head, base) == -1)
			goto out;
	}
	tr->root = (uint32_t)base;
	tr->depth = maxdepth;
	m->nnodes += w.tail;
	ret = 0;
out:
	free(w.queue);
	free(w.newidx);
	free(w.depth);
	return ret;
}
