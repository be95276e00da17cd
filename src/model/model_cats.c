/*
 * model_cats: a tree's categorical splits, from the four arrays XGBoost
 * writes (src/tree/tree_model.cc, SaveCategoricalSplit) to per-node ranges
 * for model_tree.c.
 *
 *	categories_nodes	ascending ids of the categorical nodes
 *	categories_segments	where each one's categories start
 *	categories_sizes	how many it has
 *	categories		the category codes, node after node
 *
 * Checked here: the three per-node arrays have one entry per categorical
 * node, each node is a categorical split (split_type 1) and each
 * categorical split has an entry, every range lies inside categories, and
 * every code is from 0 to 2^24 - 1 (XGBoost sends larger and negative
 * values left, so a larger code could never match).
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdlib.h>

#include <jansson.h>

#include "inferd/jsonutil.h"
#include "model/model_impl.h"
#include "model/model_tree.h"

#define MODEL_TREE_PATH	"learner.gradient_booster.model.trees"

/* The four arrays, in the order they are read. */
static const char *const model_cat_keys[] = {
	"categories", "categories_nodes", "categories_segments",
	"categories_sizes"
};

/* Read array key of tree t (every entry an integer from 0 to max) into a
 * new array *out of *n entries. */
static int
model_cats_array(struct model_err *e, json_t *tree, size_t t,
    const char *key, long long max, long long **out, size_t *n)
{
	json_t		*a = json_object_get(tree, key), *v;
	size_t		 i;

	*out = NULL;
	*n = 0;
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return model_fail(e, MODEL_TREE_PATH "[%zu].%s: expected an "
		    "array, got %s", t, key,
		    jsonutil_type_name(a, JSONUTIL_INTEGER_REAL));
	*n = json_array_size(a);
	if ((*out = calloc(*n + 1, sizeof(**out))) == NULL)
		return model_fail(e, MODEL_TREE_PATH "[%zu].%s: out of memory",
		    t, key);
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v))
			return model_fail(e, MODEL_TREE_PATH "[%zu].%s[%zu]: "
			    "expected an integer, got %s", t, key, i,
			    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
		(*out)[i] = json_integer_value(v);
		if ((*out)[i] < 0 || (*out)[i] > max)
			return model_fail(e, MODEL_TREE_PATH "[%zu].%s[%zu]: "
			    "%lld out of range (0 to %lld)", t, key, i,
			    (*out)[i], max);
	}
	return 0;
}

/* Give each node of nodes[k] its range segs[k], sizes[k] in src. */
static int
model_cats_ranges(struct model_err *e, size_t t, struct model_tree_src *src,
    const long long *nodes, const long long *segs, const long long *sizes,
    size_t k)
{
	size_t	 i, o;

	for (i = 0; i < k; i++) {
		o = (size_t)nodes[i];
		if (i > 0 && nodes[i] <= nodes[i - 1])
			return model_fail(e, MODEL_TREE_PATH "[%zu]."
			    "categories_nodes[%zu]: %lld after %lld (must "
			    "increase)", t, i, nodes[i], nodes[i - 1]);
		if (src->stype == NULL || src->stype[o] != 1)
			return model_fail(e, MODEL_TREE_PATH "[%zu]."
			    "categories_nodes[%zu]: node %zu is not a "
			    "categorical split (split_type is not 1)", t, i, o);
		if ((size_t)sizes[i] > src->ncats ||
		    (size_t)segs[i] > src->ncats - (size_t)sizes[i])
			return model_fail(e, MODEL_TREE_PATH "[%zu]."
			    "categories_segments[%zu]: %lld + %lld categories "
			    "is past the end of categories (%zu)", t, i,
			    segs[i], sizes[i], src->ncats);
		src->cat_beg[o] = segs[i];
		src->cat_len[o] = sizes[i];
	}
	for (o = 0; src->stype != NULL && o < src->n; o++)
		if (src->stype[o] == 1 && src->cat_beg[o] == -1 &&
		    src->left[o] != -1)
			return model_fail(e, MODEL_TREE_PATH "[%zu].split_type"
			    "[%zu]: a categorical split, but categories_nodes "
			    "does not list node %zu", t, o, o);
	return 0;
}

/* Read tree t's categorical split arrays into src; see model_tree.h. */
int
model_cats_fetch(struct model_err *e, json_t *tree, size_t t,
    struct model_tree_src *src)
{
	long long	*a[4] = { NULL, NULL, NULL, NULL };
	size_t		 n[4], i;
	int		 ret = -1;

	for (i = 0; i < 4; i++)
		if (model_cats_array(e, tree, t, model_cat_keys[i],
		    i == 0 ? MODEL_CAT_LIMIT - 1 : i == 1 ?
		    (long long)src->n - 1 : (long long)MODEL_MAX_NODES,
		    &a[i], &n[i]) == -1)
			goto out;
	for (i = 2; i < 4; i++)
		if (n[i] != n[1]) {
			model_fail(e, MODEL_TREE_PATH "[%zu].%s: %zu entries, "
			    "but categories_nodes has %zu", t,
			    model_cat_keys[i], n[i], n[1]);
			goto out;
		}
	for (i = 0; src->stype != NULL && i < src->n; i++)
		if (src->stype[i] != 0 && src->stype[i] != 1) {
			model_fail(e, MODEL_TREE_PATH "[%zu].split_type[%zu]: "
			    "%lld is neither 0 (numerical) nor 1 (categorical)",
			    t, i, src->stype[i]);
			goto out;
		}
	if ((src->cat_beg = malloc((src->n + 1) * sizeof(long long))) ==
	    NULL || (src->cat_len = calloc(src->n + 1, sizeof(long long))) ==
	    NULL) {
		model_fail(e, MODEL_TREE_PATH "[%zu]: out of memory", t);
		goto out;
	}
	for (i = 0; i < src->n; i++)
		src->cat_beg[i] = -1;
	src->cats = a[0];
	src->ncats = n[0];
	a[0] = NULL;
	ret = model_cats_ranges(e, t, src, a[1], a[2], a[3], n[1]);
out:
	for (i = 0; i < 4; i++)
		free(a[i]);
	return ret;
}
