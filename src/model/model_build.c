/*
 * model_build: a parsed XGBoost model document to a struct model.
 *
 * The document is a jansson tree whatever the file's format (see
 * model_build.h).  This file reads the learner (objective, feature and
 * class counts, base_score) and the gbtree booster (trees and their output
 * groups); each tree's node arrays are fetched by the table model_cols
 * into plain C arrays, whose structure model_tree.c checks.  Every error
 * names the JSON path at fault, e.g. "learner.gradient_booster.model.
 * trees[3].left_children[7]: index 99 out of range (tree has 15 nodes)".
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inferd/jsonutil.h"
#include "inferd/model.h"
#include "model/model_build.h"
#include "model/model_impl.h"
#include "model/model_tree.h"
#include "model/modelfmt.h"

#define MODEL_BOOSTER_PATH	"learner.gradient_booster"
#define MODEL_TREE_PATH		"learner.gradient_booster.model.trees"
#define MODEL_PARAM_PATH	"learner.learner_model_param"

/* How a per-node array's entries are read into struct model_tree_src. */
enum model_col_type {
	MODEL_COL_INT,		/* a JSON integer, into long long */
	MODEL_COL_FLOAT,	/* a JSON number, into float */
	MODEL_COL_BOOL,		/* a boolean or 0/1, into unsigned char */
	MODEL_COL_LENGTH	/* not read; only its length is checked */
};

/*
 * The per-node arrays of a tree, in the order they are checked.  Every one
 * present must have num_nodes entries (or as many as left_children when
 * tree_param has no num_nodes); dest is where the entries go.
 */
static const struct model_col {
	const char		*key;
	enum model_col_type	 type;
	int			 optional;
	size_t			 dest;	/* offsetof in struct model_tree_src */
} model_cols[] = {
	{ "left_children",	MODEL_COL_INT,	 0,
	    offsetof(struct model_tree_src, left) },
	{ "right_children",	MODEL_COL_INT,	 0,
	    offsetof(struct model_tree_src, right) },
	{ "split_indices",	MODEL_COL_INT,	 0,
	    offsetof(struct model_tree_src, feat) },
	{ "split_conditions",	MODEL_COL_FLOAT, 0,
	    offsetof(struct model_tree_src, cond) },
	{ "default_left",	MODEL_COL_BOOL,	 0,
	    offsetof(struct model_tree_src, dleft) },
	{ "split_type",		MODEL_COL_INT,	 1,
	    offsetof(struct model_tree_src, stype) },
	{ "base_weights",	MODEL_COL_LENGTH, 1, 0 },
	{ "loss_changes",	MODEL_COL_LENGTH, 1, 0 },
	{ "sum_hessian",	MODEL_COL_LENGTH, 1, 0 },
	{ "parents",		MODEL_COL_LENGTH, 1, 0 },
};
#define MODEL_NCOLS	(sizeof(model_cols) / sizeof(model_cols[0]))

/* Read entry i of array a (column col of tree t) into the column's
 * destination array. */
static int
model_col_entry(struct model_err *e, const struct model_col *col, json_t *a,
    size_t t, size_t i, void *dest)
{
	json_t		*v = json_array_get(a, i);
	const char	*want;
	double		 d;

	switch (col->type) {
	case MODEL_COL_INT:
		if (json_is_integer(v)) {
			((long long *)dest)[i] = json_integer_value(v);
			return 0;
		}
		want = "an integer";
		break;
	case MODEL_COL_FLOAT:
		/* NaN (a categorical split's condition) is null, and
		 * infinities are strings, in both formats' documents. */
		if (modelfmt_number(v, &d) == 0) {
			((float *)dest)[i] = (float)d;
			return 0;
		}
		want = "a number";
		break;
	case MODEL_COL_BOOL:
		if (json_is_boolean(v) || (json_is_integer(v) &&
		    (json_integer_value(v) == 0 || json_integer_value(v) == 1))) {
			((unsigned char *)dest)[i] = json_is_true(v) ||
			    (json_is_integer(v) && json_integer_value(v) == 1);
			return 0;
		}
		want = "a boolean or 0/1";
		break;
	default:
		return 0;
	}
	return model_fail(e, MODEL_TREE_PATH "[%zu].%s[%zu]: expected %s, got "
	    "%s", t, col->key, i, want,
	    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
}

/* Read every entry of array a (column col of tree t, n entries) into a
 * new array stored at the column's place in src. */
static int
model_col_read(struct model_err *e, const struct model_col *col, json_t *a,
    size_t t, struct model_tree_src *src)
{
	static const size_t	 size[] = { sizeof(long long), sizeof(float),
	    sizeof(unsigned char) };
	char			*base = (char *)src + col->dest;
	void			*dest;
	size_t			 i;

	if (col->type == MODEL_COL_LENGTH)
		return 0;
	if ((dest = calloc(src->n + 1, size[col->type])) == NULL)
		return model_fail(e, MODEL_TREE_PATH "[%zu].%s: out of memory",
		    t, col->key);
	/* The member at col->dest has the pointer type of col->type. */
	switch (col->type) {
	case MODEL_COL_INT:
		*(long long **)(void *)base = dest;
		break;
	case MODEL_COL_FLOAT:
		*(float **)(void *)base = dest;
		break;
	default:
		*(unsigned char **)(void *)base = dest;
		break;
	}
	for (i = 0; i < src->n; i++)
		if (model_col_entry(e, col, a, t, i, dest) == -1)
			return -1;
	return 0;
}

/* Free the arrays model_tree_fetch allocated. */
static void
model_tree_src_free(struct model_tree_src *src)
{
	free(src->left);
	free(src->right);
	free(src->feat);
	free(src->cond);
	free(src->dleft);
	free(src->stype);
	free(src->cat_beg);
	free(src->cat_len);
	free(src->cats);
}

/*
 * Fetch the per-node arrays of tree t into src, as model_cols says.  First
 * every array's presence and length (src->n is num_nodes, or SIZE_MAX to
 * take left_children's length, named by nwhat), then every entry.
 */
static int
model_tree_fetch(struct model_err *e, json_t *tree, size_t t,
    const char *nwhat, struct model_tree_src *src)
{
	json_t	*a[MODEL_NCOLS];
	size_t	 i;

	for (i = 0; i < MODEL_NCOLS; i++) {
		a[i] = json_object_get(tree, model_cols[i].key);
		if (a[i] == NULL && model_cols[i].optional)
			continue;
		if (a[i] == NULL)
			return model_fail(e, MODEL_TREE_PATH "[%zu].%s: "
			    "missing", t, model_cols[i].key);
		if (!json_is_array(a[i]))
			return model_fail(e, MODEL_TREE_PATH "[%zu].%s: "
			    "expected an array, got %s", t, model_cols[i].key,
			    jsonutil_type_name(a[i], JSONUTIL_INTEGER_REAL));
		if (src->n == SIZE_MAX)
			src->n = json_array_size(a[i]);
		else if (json_array_size(a[i]) != src->n)
			return model_fail(e, MODEL_TREE_PATH "[%zu].%s: %zu "
			    "entries, but %s %zu", t, model_cols[i].key,
			    json_array_size(a[i]), nwhat, src->n);
	}
	for (i = 0; i < MODEL_NCOLS; i++)
		if (a[i] != NULL &&
		    model_col_read(e, &model_cols[i], a[i], t, src) == -1)
			return -1;
	return 0;
}

/* Read tree t's tree_param, if any: num_nodes into *n (left as SIZE_MAX
 * if absent), and refuse vector leaves. */
static int
model_tree_param(struct model_err *e, json_t *tree, size_t t, size_t *n)
{
	json_t	*param = json_object_get(tree, "tree_param");
	char	 path[128];
	size_t	 size_leaf;

	if (param == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s.trees[%zu].tree_param",
	    e->gbm_path != NULL ? e->gbm_path : MODEL_GBM_PATH, t);
	if (!json_is_object(param))
		return model_fail(e, "%s: expected an object, got %s", path,
		    jsonutil_type_name(param, JSONUTIL_INTEGER_REAL));
	if (json_object_get(param, "num_nodes") != NULL &&
	    model_get_count(e, param, path, "num_nodes", 0, MODEL_MAX_NODES,
	    n) == -1)
		return -1;
	if (model_get_count(e, param, path, "size_leaf_vector", 0,
	    MODEL_MAX_GROUPS, &size_leaf) == -1)
		return -1;
	if (size_leaf > 1)
		return model_fail(e, "%s.size_leaf_vector: vector leaves (%zu) "
		    "are not supported (train with "
		    "multi_strategy=one_output_per_tree)", path, size_leaf);
	return 0;
}

/* Check tree t and append its nodes to m; set *tr (see model_tree_add). */
static int
model_build_tree(struct model_err *e, struct model *m, json_t *tree,
    size_t t, float weight, struct model_tree *tr)
{
	struct model_tree_src	 src;
	int			 ret = -1;

	memset(&src, 0, sizeof(src));
	src.n = SIZE_MAX;
	if (!json_is_object(tree))
		return model_fail(e, MODEL_TREE_PATH "[%zu]: expected an "
		    "object, got %s", t,
		    jsonutil_type_name(tree, JSONUTIL_INTEGER_REAL));
	if (model_tree_param(e, tree, t, &src.n) == -1)
		return -1;
	if (model_tree_fetch(e, tree, t, src.n == SIZE_MAX ?
	    "left_children has" : "tree_param.num_nodes is", &src) == -1 ||
	    model_cats_fetch(e, tree, t, &src) == -1 ||
	    model_tree_add(e, m, &src, t, weight, tr) == -1)
		goto out;
	ret = 0;
out:
	model_tree_src_free(&src);
	return ret;
}

/* Read num_feature, num_class and num_target: the feature count, the
 * output groups (classes or targets) and the outputs per row. */
static int
model_build_counts(struct model_err *e, struct model *m, json_t *param)
{
	size_t	 nclass, ntarget;

	if (model_get_count(e, param, MODEL_PARAM_PATH, "num_feature",
	    SIZE_MAX, MODEL_MAX_FEATURES, &m->nfeatures) == -1 ||
	    model_get_count(e, param, MODEL_PARAM_PATH, "num_class", 0,
	    MODEL_MAX_GROUPS, &nclass) == -1 ||
	    model_get_count(e, param, MODEL_PARAM_PATH, "num_target", 1,
	    MODEL_MAX_GROUPS, &ntarget) == -1)
		return -1;
	if (m->nfeatures == 0)
		return model_fail(e, MODEL_PARAM_PATH ".num_feature: must be "
		    "at least 1");
	if (m->obj->multiclass) {
		if (nclass < 2)
			return model_fail(e, MODEL_PARAM_PATH ".num_class: "
			    "%zu, but %s needs at least 2 classes", nclass,
			    m->obj->name);
		if (ntarget > 1)
			return model_fail(e, MODEL_PARAM_PATH ".num_target: "
			    "%zu targets with %s are not supported", ntarget,
			    m->obj->name);
		m->ngroups = nclass;
	} else {
		if (nclass > 1)
			return model_fail(e, MODEL_PARAM_PATH ".num_class: "
			    "%zu classes, but objective %s is not "
			    "multi-class", nclass, m->obj->name);
		m->ngroups = ntarget > 0 ? ntarget : 1;
	}
	m->noutputs = m->obj->transform == MODEL_ARGMAX ? 1 : m->ngroups;
	return 0;
}

/* Read the objective and the learner's parameters into m. */
static int
model_build_learner(struct model_err *e, struct model *m, json_t *learner)
{
	json_t	*param;

	if (model_objective_read(e, m, learner) == -1)
		return -1;
	if ((param = model_get_object(e, learner, "learner",
	    "learner_model_param")) == NULL)
		return -1;
	if (model_build_counts(e, m, param) == -1 ||
	    model_base_read(e, m, param) == -1 ||
	    model_best_read(e, m, learner) == -1)
		return -1;
	return 0;
}

/*
 * Find the booster: gbtree's trees are in gb.model; dart's in
 * gb.gbtree.model, with weight_drop beside (*dropp); gblinear is built by
 * model_linear.c (*gbmp is then NULL).
 */
static int
model_booster_find(struct model_err *e, struct model *m, json_t *gb,
    json_t **gbmp, json_t **dropp)
{
	static const char *const names[] = { "gbtree", "dart", "gblinear" };
	json_t		*name = json_object_get(gb, "name"), *inner;
	size_t		 i;

	*gbmp = *dropp = NULL;
	if (!json_is_string(name))
		return model_fail(e, MODEL_BOOSTER_PATH ".name: %s", name ==
		    NULL ? "missing" : "expected a string");
	for (i = 0; i < 3; i++)
		if (strcmp(json_string_value(name), names[i]) == 0)
			m->booster = names[i];
	if (m->booster == NULL)
		return model_fail(e, MODEL_BOOSTER_PATH ".name: booster \"%s\" "
		    "is not one of gbtree, dart, gblinear",
		    json_string_value(name));
	if (strcmp(m->booster, "gblinear") == 0)
		return model_linear_build(e, m, gb);
	if (strcmp(m->booster, "dart") == 0) {
		if ((inner = model_get_object(e, gb, MODEL_BOOSTER_PATH,
		    "gbtree")) == NULL)
			return -1;
		/* Messages about the trees name gbtree.model's path. */
		e->gbm_path = MODEL_BOOSTER_PATH ".gbtree.model";
		*dropp = json_object_get(gb, "weight_drop");
		if (!json_is_array(*dropp))
			return model_fail(e, MODEL_BOOSTER_PATH ".weight_drop: "
			    "%s", *dropp == NULL ? "missing" :
			    "expected an array");
		gb = inner;
	}
	if ((*gbmp = model_get_object(e, gb, MODEL_BOOSTER_PATH, "model")) ==
	    NULL)
		return -1;
	return 0;
}

/*
 * Count the rounds: trees / (num_parallel_tree x output groups), and the
 * trees served (m->ntrees): all, or with model_trees = best those of the
 * rounds up to best_iteration.
 */
static int
model_booster_rounds(struct model_err *e, struct model *m, json_t *gparam,
    size_t ntrees)
{
	size_t	 npt = 1, layer;

	if (gparam != NULL && model_get_count(e, gparam, MODEL_BOOSTER_PATH
	    ".model.gbtree_model_param", "num_parallel_tree", 1,
	    MODEL_MAX_NODES, &npt) == -1)
		return -1;
	layer = (npt == 0 ? 1 : npt) * m->ngroups;
	m->rounds = ntrees / layer;
	m->served_rounds = m->rounds;
	m->ntrees = ntrees;
	if (e->lim->trees != MODEL_TREES_BEST || m->best_rounds == 0 ||
	    m->best_rounds >= m->rounds)
		return 0;
	if (ntrees % layer != 0)
		return model_fail(e, MODEL_BOOSTER_PATH ".model.trees: %zu "
		    "trees are not whole rounds of %zu (num_parallel_tree %zu "
		    "x %zu groups); model_trees = best cannot cut them",
		    ntrees, layer, npt, m->ngroups);
	m->served_rounds = m->best_rounds;
	m->ntrees = m->best_rounds * layer;
	return 0;
}

/* Check gbm's trees and tree_info (NULL if absent) against
 * gbtree_model_param and the output groups; count the rounds. */
static int
model_booster_trees(struct model_err *e, struct model *m, json_t *gbm,
    json_t **treesp, json_t **infop)
{
	json_t	*trees, *info, *gparam;
	size_t	 n, ntrees_param;

	trees = json_object_get(gbm, "trees");
	if (!json_is_array(trees))
		return model_fail(e, MODEL_TREE_PATH ": %s", trees == NULL ?
		    "missing" : "expected an array");
	n = json_array_size(trees);
	if ((gparam = json_object_get(gbm, "gbtree_model_param")) != NULL &&
	    !json_is_object(gparam))
		gparam = NULL;
	if (gparam != NULL) {
		if (model_get_count(e, gparam, MODEL_BOOSTER_PATH ".model."
		    "gbtree_model_param", "num_trees", n, SIZE_MAX - 1,
		    &ntrees_param) == -1)
			return -1;
		if (ntrees_param != n)
			return model_fail(e, MODEL_BOOSTER_PATH ".model."
			    "gbtree_model_param.num_trees: %zu, but trees has "
			    "%zu entries", ntrees_param, n);
	}
	info = json_object_get(gbm, "tree_info");
	if (info == NULL && m->ngroups > 1)
		return model_fail(e, MODEL_BOOSTER_PATH ".model.tree_info: "
		    "missing (needed with %zu output groups)", m->ngroups);
	if (info != NULL && !json_is_array(info))
		return model_fail(e, MODEL_BOOSTER_PATH ".model.tree_info: "
		    "expected an array, got %s",
		    jsonutil_type_name(info, JSONUTIL_INTEGER_REAL));
	if (info != NULL && json_array_size(info) != n)
		return model_fail(e, MODEL_BOOSTER_PATH ".model.tree_info: %zu "
		    "entries, but trees has %zu", json_array_size(info), n);
	*treesp = trees;
	*infop = info;
	return model_booster_rounds(e, m, gparam, n);
}

/* Allocate m's node, leaf, tree and group arrays once, for all the nodes
 * the served trees' left_children declare. */
static int
model_booster_alloc(struct model_err *e, struct model *m, json_t *trees)
{
	json_t	*v;
	size_t	 t, total = 0;

	for (t = 0; t < m->ntrees; t++) {
		v = json_object_get(json_array_get(trees, t), "left_children");
		if (json_is_array(v))
			total += json_array_size(v);
		if (total > MODEL_MAX_NODES)
			return model_fail(e, MODEL_TREE_PATH ": more than %zu "
			    "nodes", MODEL_MAX_NODES);
	}
	if (total == 0)
		total = 1;
	if ((m->nodes = calloc(total, sizeof(*m->nodes))) == NULL ||
	    (m->leaf = calloc(total, sizeof(*m->leaf))) == NULL ||
	    (m->trees = calloc(m->ntrees + 1, sizeof(*m->trees))) == NULL ||
	    (m->group_end = calloc(m->ngroups, sizeof(*m->group_end))) ==
	    NULL)
		return model_fail(e, "out of memory for %zu nodes", total);
	return 0;
}

/* The output group of tree t: tree_info[t], or 0 without tree_info; and
 * its weight: dart's weight_drop[t], or 1. */
static int
model_booster_group(struct model_err *e, const struct model *m,
    json_t *info, json_t *drop, size_t t, unsigned *group, float *weight)
{
	json_t		*v;
	long long	 gi;
	double		 w;

	*group = 0;
	*weight = 1.0f;
	if (drop != NULL) {
		v = json_array_get(drop, t);
		if (modelfmt_number(v, &w) == -1 || !isfinite(w))
			return model_fail(e, MODEL_BOOSTER_PATH ".weight_drop"
			    "[%zu]: %s", t, v == NULL ? "missing (one weight "
			    "per tree)" : "not a finite number");
		*weight = (float)w;
	}
	if (info == NULL)
		return 0;
	v = json_array_get(info, t);
	if (!json_is_integer(v))
		return model_fail(e, MODEL_BOOSTER_PATH ".model.tree_info[%zu]: "
		    "expected an integer, got %s", t,
		    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
	gi = json_integer_value(v);
	if (gi < 0 || (unsigned long long)gi >= m->ngroups)
		return model_fail(e, MODEL_BOOSTER_PATH ".model.tree_info[%zu]: "
		    "group %lld out of range (the model has %zu output group%s: "
		    "num_class %s)", t, gi, m->ngroups, m->ngroups == 1 ? "" :
		    "s", m->obj->multiclass ? "says so" : "is 0 or 1");
	*group = (unsigned)gi;
	return 0;
}

/* Order trs[] by group into m->trees (file order within one group); every
 * class of a multi-class model must have as many trees. */
static int
model_booster_order(struct model_err *e, struct model *m,
    const struct model_tree *trs, const unsigned *group, size_t *count)
{
	size_t	 t, g;

	for (g = 1; m->obj->multiclass && g < m->ngroups; g++)
		if (count[g] != count[0])
			return model_fail(e, MODEL_BOOSTER_PATH ".model."
			    "tree_info: class %zu has %zu trees but class 0 "
			    "has %zu (does num_class %zu match the trees?)", g,
			    count[g], count[0], m->ngroups);
	for (g = 1; g < m->ngroups; g++)
		count[g] += count[g - 1];
	for (g = 0; g < m->ngroups; g++)
		m->group_end[g] = count[g];
	for (t = m->ntrees; t-- > 0;)
		m->trees[--count[group[t]]] = trs[t];
	return 0;
}

/* Read the tree booster (gbtree or dart): every served tree and its output
 * group; the trees go into m->trees ordered by group. */
static int
model_build_trees(struct model_err *e, struct model *m, json_t *gbm,
    json_t *drop)
{
	json_t			*trees = NULL, *info = NULL;
	struct model_tree	*trs = NULL;
	unsigned		*group = NULL;
	size_t			 t, *count = NULL;
	float			 w;
	int			 ret = -1;

	if (model_booster_trees(e, m, gbm, &trees, &info) == -1 ||
	    model_booster_alloc(e, m, trees) == -1)
		return -1;
	if (drop != NULL && json_array_size(drop) != json_array_size(trees))
		return model_fail(e, MODEL_BOOSTER_PATH ".weight_drop: %zu "
		    "weights, but there are %zu trees", json_array_size(drop),
		    json_array_size(trees));
	if ((trs = calloc(m->ntrees + 1, sizeof(*trs))) == NULL ||
	    (group = calloc(m->ntrees + 1, sizeof(*group))) == NULL ||
	    (count = calloc(m->ngroups + 1, sizeof(*count))) == NULL) {
		model_fail(e, "out of memory for %zu trees", m->ntrees);
		goto out;
	}
	/* A tree fits the precounted total: model_tree_add adds at most as
	 * many nodes as left_children has. */
	for (t = 0; t < m->ntrees; t++) {
		if (model_booster_group(e, m, info, drop, t, &group[t],
		    &w) == -1 || model_build_tree(e, m,
		    json_array_get(trees, t), t, w, &trs[t]) == -1)
			goto out;
		count[group[t]]++;
	}
	ret = model_booster_order(e, m, trs, group, count);
out:
	free(trs);
	free(group);
	free(count);
	return ret;
}

/* A feature's name and index, to sort the names. */
struct model_feature_key {
	const char	*name;
	size_t		 index;
};

/* Order feature keys by name. */
static int
model_feature_cmp(const void *a, const void *b)
{
	return strcmp(((const struct model_feature_key *)a)->name,
	    ((const struct model_feature_key *)b)->name);
}

/*
 * Read learner.KEY (feature_names or feature_types), an array of strings,
 * into *out: NULL when absent or empty (XGBoost writes [] then), else
 * exactly num_feature strings without NUL bytes.
 */
static int
model_feature_strings(struct model_err *e, const struct model *m,
    json_t *learner, const char *key, char ***out)
{
	json_t	*a = json_object_get(learner, key), *v;
	size_t	 i;

	*out = NULL;
	if (a == NULL || (json_is_array(a) && json_array_size(a) == 0))
		return 0;
	if (!json_is_array(a))
		return model_fail(e, "learner.%s: expected an array of strings, "
		    "got %s", key, jsonutil_type_name(a, JSONUTIL_INTEGER_REAL));
	if (json_array_size(a) != m->nfeatures)
		return model_fail(e, "learner.%s: %zu entries, but num_feature "
		    "is %zu", key, json_array_size(a), m->nfeatures);
	if ((*out = calloc(m->nfeatures, sizeof(**out))) == NULL)
		return model_fail(e, "learner.%s: out of memory", key);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) !=
		    json_string_length(v))
			return model_fail(e, "learner.%s[%zu]: expected a string "
			    "without NUL bytes, got %s", key, i,
			    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
		if (((*out)[i] = malloc(json_string_length(v) + 1)) == NULL)
			return model_fail(e, "learner.%s: out of memory", key);
		memcpy((*out)[i], json_string_value(v),
		    json_string_length(v) + 1);
	}
	return 0;
}

/*
 * Read the feature names and types the learner carries, and
 * index the names for model_feature_find.  Names must be unique, as
 * XGBoost requires: a request's row keyed by name must mean one feature.
 */
static int
model_build_features(struct model_err *e, struct model *m, json_t *learner)
{
	struct model_feature_key	*k;
	size_t				 i;

	if (model_feature_strings(e, m, learner, "feature_names",
	    &m->feature_names) == -1 ||
	    model_feature_strings(e, m, learner, "feature_types",
	    &m->feature_types) == -1)
		return -1;
	if (m->feature_names == NULL)
		return 0;
	if ((k = calloc(m->nfeatures, sizeof(*k))) == NULL ||
	    (m->feature_order = calloc(m->nfeatures,
	    sizeof(*m->feature_order))) == NULL) {
		free(k);
		return model_fail(e, "learner.feature_names: out of memory");
	}
	for (i = 0; i < m->nfeatures; i++) {
		k[i].name = m->feature_names[i];
		k[i].index = i;
	}
	qsort(k, m->nfeatures, sizeof(*k), model_feature_cmp);
	for (i = 0; i < m->nfeatures; i++) {
		if (i > 0 && strcmp(k[i - 1].name, k[i].name) == 0) {
			model_fail(e, "learner.feature_names[%zu]: \"%.64s\" is "
			    "also feature_names[%zu]; names must be unique",
			    k[i].index > k[i - 1].index ? k[i].index :
			    k[i - 1].index, k[i].name, k[i].index >
			    k[i - 1].index ? k[i - 1].index : k[i].index);
			free(k);
			return -1;
		}
		m->feature_order[i] = k[i].index;
	}
	free(k);
	return 0;
}

/* Fill m from a parsed model document; see model_build.h. */
int
model_build(struct model *m, json_t *root, struct model_err *e)
{
	json_t	*learner, *gb, *gbm, *drop;

	if (!json_is_object(root))
		return model_fail(e, "top level: expected an object, got %s "
		    "(not an XGBoost model)",
		    jsonutil_type_name(root, JSONUTIL_INTEGER_REAL));
	learner = json_object_get(root, "learner");
	if (!json_is_object(learner))
		return model_fail(e, "learner: %s (not an XGBoost model; save "
		    "it with Booster.save_model(\"model.json\"))",
		    learner == NULL ? "missing" : "expected an object");
	if (model_build_learner(e, m, learner) == -1 ||
	    (gb = model_get_object(e, learner, "learner",
	    "gradient_booster")) == NULL ||
	    model_booster_find(e, m, gb, &gbm, &drop) == -1 ||
	    (gbm != NULL && model_build_trees(e, m, gbm, drop) == -1) ||
	    model_build_features(e, m, learner) == -1)
		return -1;
	return 0;
}
