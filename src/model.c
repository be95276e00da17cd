/*
 * model: XGBoost gbtree models read from XGBoost's JSON format and
 * evaluated natively.
 *
 * The loader checks everything the evaluator relies on, so that prediction
 * needs no check at all: every child index is in range, every node is
 * reached at most once from its root (no cycle, no shared subtree), every
 * split feature is below num_feature, every tree belongs to a valid output
 * group.  Trees are then copied into one flat node array, renumbered in
 * breadth-first order so that the two children of a node are adjacent: the
 * next node is left + (go right), with no branch on the child layout.
 *
 * Arithmetic follows XGBoost 1.7's CPU predictor exactly: features and
 * split conditions are float, a missing value (NaN) takes the node's
 * default direction, a row's margin starts at base_score (turned into a
 * margin by the objective's ProbToMargin) and each tree's leaf is added in
 * float in tree order; the objective's transform (sigmoid, softmax, argmax)
 * is done in float as XGBoost's common/math.h does it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sha2.h>

#include "inferd/jsonutil.h"
#include "inferd/model.h"

/* Limits on what a model file may declare; all are far above real models. */
#define MODEL_MAX_FILE_BYTES	((size_t)1 << 30)	/* 1 GiB */
#define MODEL_MAX_FEATURES	((size_t)1 << 20)
#define MODEL_MAX_GROUPS	((size_t)1 << 16)	/* classes or targets */
#define MODEL_MAX_NODES		((size_t)1 << 30)	/* all trees together */

#define NODE_DEFAULT_LEFT	0x80000000u	/* in model_node.feat */
#define NODE_FEATURE_MASK	0x7fffffffu

/*
 * One tree node.  A step from node i goes to nodes[left + go_right] with
 *
 *	v = row[feat & NODE_FEATURE_MASK]
 *	go_right = (v >= cond) | (!(feat & NODE_DEFAULT_LEFT) & isnan(v))
 *
 * which is "v < cond goes left, a missing value goes the default way".  A
 * leaf is a node that steps to itself whatever the row: cond is NaN (so
 * v >= cond is false), it has the default-left flag and left is its own
 * index.  A tree is then walked in exactly `depth' steps with no test for
 * leaves, and its output is leaf[] of the node reached.
 */
struct model_node {
	float		 cond;
	uint32_t	 feat;
	uint32_t	 left;
};

/* Where a tree starts in the node array, and how many steps it takes. */
struct model_tree {
	uint32_t	 root;
	uint32_t	 depth;
};

enum model_transform {
	MODEL_IDENTITY,		/* margin as is */
	MODEL_SIGMOID,		/* 1 / (1 + exp(-margin)) */
	MODEL_SOFTMAX,		/* per-class probabilities */
	MODEL_ARGMAX		/* index of the largest class margin */
};

/* The objectives understood, how their predictions are transformed and
 * whether base_score is a probability (turned into a logit: binary:logitraw
 * keeps it as a margin, as XGBoost 1.3 and later do). */
static const struct model_objective {
	const char		*name;
	enum model_transform	 transform;
	int			 logit_base;
	int			 multiclass;
} model_objectives[] = {
	{ "reg:squarederror",	MODEL_IDENTITY,	0, 0 },
	{ "reg:linear",		MODEL_IDENTITY,	0, 0 },
	{ "reg:logistic",	MODEL_SIGMOID,	1, 0 },
	{ "binary:logistic",	MODEL_SIGMOID,	1, 0 },
	{ "binary:logitraw",	MODEL_IDENTITY,	0, 0 },	/* XGBoost#6517 */
	{ "multi:softprob",	MODEL_SOFTMAX,	0, 1 },
	{ "multi:softmax",	MODEL_ARGMAX,	0, 1 },
};

struct model {
	char			*name;
	char			 sha256[SHA256_DIGEST_STRING_LENGTH];
	const struct model_objective *obj;
	size_t			 nfeatures;
	size_t			 ngroups;	/* classes, targets or 1 */
	size_t			 noutputs;
	float			*base;		/* ngroups margins */
	size_t			 ntrees;
	struct model_tree	*trees;		/* by group, then tree order */
	size_t			*group_end;	/* trees[group_end[g-1]..] */
	struct model_node	*nodes;
	float			*leaf;		/* leaf value of each node */
	size_t			 nnodes;
};

/* Where a load is, for error messages: the file and a buffer to fill. */
struct model_loader {
	const char	*file;
	char		*err;
	size_t		 errlen;
};

static int	model_fail(struct model_loader *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Write "file: message" into the loader's error buffer; return -1. */
static int
model_fail(struct model_loader *ld, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (ld->errlen == 0)
		return -1;
	n = snprintf(ld->err, ld->errlen, "%s: ", ld->file);
	if (n < 0 || (size_t)n >= ld->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Get member key of object obj (at JSON path "path") as an object; fail
 * naming path.key if absent or not an object. */
static json_t *
model_get_object(struct model_loader *ld, json_t *obj, const char *path,
    const char *key)
{
	json_t	*v = json_object_get(obj, key);

	if (v == NULL) {
		model_fail(ld, "%s.%s: missing", path, key);
		return NULL;
	}
	if (!json_is_object(v)) {
		model_fail(ld, "%s.%s: expected an object, got %s", path, key,
		    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
		return NULL;
	}
	return v;
}

/*
 * Read a count parameter that XGBoost stores as a decimal string ("30"),
 * accepting a JSON integer too.  Absent: *out = dflt, unless dflt is
 * SIZE_MAX (required).  Values above max fail.
 */
static int
model_get_count(struct model_loader *ld, json_t *obj, const char *path,
    const char *key, size_t dflt, size_t max, size_t *out)
{
	json_t			*v = json_object_get(obj, key);
	const char		*s;
	char			*end;
	unsigned long long	 n;

	if (v == NULL) {
		if (dflt == SIZE_MAX)
			return model_fail(ld, "%s.%s: missing", path, key);
		*out = dflt;
		return 0;
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return model_fail(ld, "%s.%s: negative value %lld",
			    path, key, (long long)json_integer_value(v));
		n = (unsigned long long)json_integer_value(v);
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		errno = 0;
		n = strtoull(s, &end, 10);
		if (*s < '0' || *s > '9' || *end != '\0' || errno != 0)
			return model_fail(ld, "%s.%s: \"%s\" is not a count",
			    path, key, s);
	} else
		return model_fail(ld, "%s.%s: expected a count, got %s", path,
		    key, jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
	if (n > max)
		return model_fail(ld, "%s.%s: %llu is too large (limit %zu)",
		    path, key, n, max);
	*out = (size_t)n;
	return 0;
}

/*
 * Parse base_score: a float as a string ("5E-1", XGBoost 1.7), a bracketed
 * list of them ("[5E-1]" or "[0.1,0.2,0.3]", XGBoost 2.x and later) or a
 * JSON number.  Fills up to max values; returns how many, or -1.
 */
static int
model_get_base_score(struct model_loader *ld, json_t *param, float *out,
    size_t max, size_t *count)
{
	const char	*path = "learner.learner_model_param.base_score";
	json_t		*v = json_object_get(param, "base_score");
	const char	*s, *p;
	char		*end;
	size_t		 n = 0;
	int		 bracket = 0;

	if (v == NULL) {
		out[0] = 0.5f;		/* XGBoost's default */
		*count = 1;
		return 0;
	}
	if (json_is_number(v)) {
		out[0] = (float)json_number_value(v);
		*count = 1;
		return 0;
	}
	if (!json_is_string(v))
		return model_fail(ld, "%s: expected a string, got %s", path,
		    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
	s = p = json_string_value(v);
	while (*p == ' ')
		p++;
	if (*p == '[') {
		bracket = 1;
		p++;
	}
	for (;;) {
		while (*p == ' ')
			p++;
		if (n == max)
			return model_fail(ld, "%s: \"%s\" has more than %zu "
			    "values", path, s, max);
		errno = 0;
		out[n] = strtof(p, &end);
		if (end == p || errno == ERANGE || !isfinite(out[n]))
			return model_fail(ld, "%s: \"%s\" is not a number or "
			    "list of numbers", path, s);
		n++;
		p = end;
		while (*p == ' ')
			p++;
		if (*p != ',')
			break;
		if (!bracket)
			return model_fail(ld, "%s: \"%s\" is not a number",
			    path, s);
		p++;
	}
	if (bracket && *p++ != ']')
		return model_fail(ld, "%s: \"%s\": missing ']'", path, s);
	while (*p == ' ')
		p++;
	if (*p != '\0')
		return model_fail(ld, "%s: \"%s\" is not a number", path, s);
	*count = n;
	return 0;
}

/* The node arrays of one tree as found in the file, before checking. */
struct model_tree_json {
	json_t	*left, *right, *feat, *cond, *dleft, *stype;
};

/* Fetch array "name" of tree t; it must have n entries (or set n when
 * *n is SIZE_MAX).  optional: absence is not an error (returns NULL with
 * *failed = 0). */
static json_t *
model_tree_array(struct model_loader *ld, json_t *tree, size_t t,
    const char *name, int optional, size_t *n, const char **nwhat,
    int *failed)
{
	json_t	*a = json_object_get(tree, name);

	*failed = 0;
	if (a == NULL) {
		if (!optional) {
			model_fail(ld, "learner.gradient_booster.model.trees"
			    "[%zu].%s: missing", t, name);
			*failed = 1;
		}
		return NULL;
	}
	if (!json_is_array(a)) {
		model_fail(ld, "learner.gradient_booster.model.trees[%zu].%s: "
		    "expected an array, got %s", t, name, jsonutil_type_name(a, JSONUTIL_INTEGER_REAL));
		*failed = 1;
		return NULL;
	}
	if (*n == SIZE_MAX) {
		*n = json_array_size(a);
	} else if (json_array_size(a) != *n) {
		model_fail(ld, "learner.gradient_booster.model.trees[%zu].%s: "
		    "%zu entries, but %s %zu", t, name, json_array_size(a),
		    *nwhat, *n);
		*failed = 1;
		return NULL;
	}
	return a;
}

/* Read entry i of integer array name of tree t into *out. */
static int
model_tree_int(struct model_loader *ld, json_t *a, size_t t,
    const char *name, size_t i, long long *out)
{
	json_t	*v = json_array_get(a, i);

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	return model_fail(ld, "learner.gradient_booster.model.trees[%zu].%s"
	    "[%zu]: expected an integer, got %s", t, name, i,
	    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
}

/*
 * Check tree t and append its reachable nodes to m->nodes, renumbered
 * breadth-first from the root so that siblings are adjacent; set *tr to
 * where its root is and how deep it is.
 */
static int
model_load_tree(struct model_loader *ld, struct model *m, json_t *tree,
    size_t t, struct model_tree *tr)
{
	static const char *const optional_arrays[] = {
		"base_weights", "loss_changes", "sum_hessian", "parents"
	};
	const char	*tp = "learner.gradient_booster.model.trees";
	struct model_tree_json tj;
	json_t		*param, *v;
	const char	*nwhat = "tree_param.num_nodes is";
	char		 ppath[128];
	size_t		 i, n, head, tail, size_leaf, base;
	size_t		*queue = NULL;
	uint32_t	*newidx = NULL, *depth = NULL, maxdepth = 0;
	long long	 l, r, f;
	int		 failed, dl, ret = -1;

	if (!json_is_object(tree))
		return model_fail(ld, "%s[%zu]: expected an object, got %s",
		    tp, t, jsonutil_type_name(tree, JSONUTIL_INTEGER_REAL));
	n = SIZE_MAX;
	param = json_object_get(tree, "tree_param");
	if (param != NULL) {
		snprintf(ppath, sizeof(ppath), "%s[%zu].tree_param", tp, t);
		if (!json_is_object(param))
			return model_fail(ld, "%s: expected an object, got %s",
			    ppath, jsonutil_type_name(param, JSONUTIL_INTEGER_REAL));
		if (json_object_get(param, "num_nodes") != NULL &&
		    model_get_count(ld, param, ppath, "num_nodes", 0,
		    MODEL_MAX_NODES, &n) == -1)
			return -1;
		if (model_get_count(ld, param, ppath, "size_leaf_vector", 0,
		    MODEL_MAX_GROUPS, &size_leaf) == -1)
			return -1;
		if (size_leaf > 1)
			return model_fail(ld, "%s.size_leaf_vector: vector "
			    "leaves (%zu) are not supported (train with "
			    "multi_strategy=one_output_per_tree)", ppath,
			    size_leaf);
	}
	if (n == SIZE_MAX)
		nwhat = "left_children has";
	tj.left = model_tree_array(ld, tree, t, "left_children", 0, &n,
	    &nwhat, &failed);
	if (failed)
		return -1;
	tj.right = model_tree_array(ld, tree, t, "right_children", 0, &n,
	    &nwhat, &failed);
	if (failed)
		return -1;
	tj.feat = model_tree_array(ld, tree, t, "split_indices", 0, &n,
	    &nwhat, &failed);
	if (failed)
		return -1;
	tj.cond = model_tree_array(ld, tree, t, "split_conditions", 0, &n,
	    &nwhat, &failed);
	if (failed)
		return -1;
	tj.dleft = model_tree_array(ld, tree, t, "default_left", 0, &n,
	    &nwhat, &failed);
	if (failed)
		return -1;
	tj.stype = model_tree_array(ld, tree, t, "split_type", 1, &n,
	    &nwhat, &failed);
	if (failed)
		return -1;
	for (i = 0; i < sizeof(optional_arrays) / sizeof(optional_arrays[0]);
	    i++) {
		model_tree_array(ld, tree, t, optional_arrays[i], 1, &n,
		    &nwhat, &failed);
		if (failed)
			return -1;
	}
	if (n == 0)
		return model_fail(ld, "%s[%zu].left_children: tree has no "
		    "nodes", tp, t);
	if (n > MODEL_MAX_NODES - m->nnodes)
		return model_fail(ld, "%s[%zu]: too many nodes in the model "
		    "(limit %zu)", tp, t, MODEL_MAX_NODES);

	if ((queue = calloc(n, sizeof(*queue))) == NULL ||
	    (newidx = calloc(n, sizeof(*newidx))) == NULL ||
	    (depth = calloc(n, sizeof(*depth))) == NULL) {
		model_fail(ld, "%s[%zu]: out of memory", tp, t);
		goto out;
	}
	/*
	 * Breadth-first walk from the root.  newidx[i] is 0 until node i is
	 * reached (the root is reached first, and no child may be node 0),
	 * so reaching a node twice, which a cycle or a shared subtree does,
	 * is seen at once, and the walk ends after at most n nodes.
	 */
	base = m->nnodes;
	queue[0] = 0;
	head = 0;
	tail = 1;
	while (head < tail) {
		struct model_node *nd;
		size_t	 o = queue[head];
		size_t	 k = base + head;

		head++;
		nd = &m->nodes[k];
		if (model_tree_int(ld, tj.left, t, "left_children", o,
		    &l) == -1 ||
		    model_tree_int(ld, tj.right, t, "right_children", o,
		    &r) == -1)
			goto out;
		v = json_array_get(tj.cond, o);
		if (!json_is_number(v)) {
			model_fail(ld, "%s[%zu].split_conditions[%zu]: "
			    "expected a number, got %s", tp, t, o,
			    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
			goto out;
		}
		m->leaf[k] = (float)json_number_value(v);
		nd->cond = m->leaf[k];
		if (depth[head - 1] > maxdepth)
			maxdepth = depth[head - 1];
		if (l == -1 || r == -1) {
			if (l != r) {
				model_fail(ld, "%s[%zu].%s[%zu]: %lld, but "
				    "%s[%zu] is -1 (a leaf has no children)",
				    tp, t, l == -1 ? "right_children" :
				    "left_children", o, l == -1 ? r : l,
				    l == -1 ? "left_children" :
				    "right_children", o);
				goto out;
			}
			nd->cond = NAN;
			nd->feat = NODE_DEFAULT_LEFT;
			nd->left = (uint32_t)k;
			continue;
		}
		if (l < 0 || (unsigned long long)l >= n) {
			model_fail(ld, "%s[%zu].left_children[%zu]: index %lld "
			    "out of range (tree has %zu nodes)", tp, t, o, l, n);
			goto out;
		}
		if (r < 0 || (unsigned long long)r >= n) {
			model_fail(ld, "%s[%zu].right_children[%zu]: index "
			    "%lld out of range (tree has %zu nodes)", tp, t, o,
			    r, n);
			goto out;
		}
		if (l == 0 || newidx[l] != 0 || l == r) {
			model_fail(ld, "%s[%zu].left_children[%zu]: node %lld "
			    "is reached twice (cycle or shared subtree)", tp,
			    t, o, l);
			goto out;
		}
		newidx[l] = (uint32_t)tail;
		depth[tail] = depth[head - 1] + 1;
		queue[tail++] = (size_t)l;
		if (r == 0 || newidx[r] != 0) {
			model_fail(ld, "%s[%zu].right_children[%zu]: node %lld "
			    "is reached twice (cycle or shared subtree)", tp,
			    t, o, r);
			goto out;
		}
		newidx[r] = (uint32_t)tail;
		depth[tail] = depth[head - 1] + 1;
		queue[tail++] = (size_t)r;
		if (model_tree_int(ld, tj.feat, t, "split_indices", o,
		    &f) == -1)
			goto out;
		if (f < 0 || (unsigned long long)f >= m->nfeatures) {
			model_fail(ld, "%s[%zu].split_indices[%zu]: feature "
			    "%lld out of range (num_feature is %zu)", tp, t, o,
			    f, m->nfeatures);
			goto out;
		}
		v = json_array_get(tj.dleft, o);
		if (json_is_boolean(v))
			dl = json_is_true(v);
		else if (json_is_integer(v) && (json_integer_value(v) == 0 ||
		    json_integer_value(v) == 1))
			dl = json_integer_value(v) == 1;
		else {
			model_fail(ld, "%s[%zu].default_left[%zu]: expected a "
			    "boolean or 0/1, got %s", tp, t, o,
			    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
			goto out;
		}
		if (tj.stype != NULL) {
			v = json_array_get(tj.stype, o);
			if (!json_is_integer(v) || json_integer_value(v) != 0) {
				model_fail(ld, "%s[%zu].split_type[%zu]: "
				    "categorical splits are not supported",
				    tp, t, o);
				goto out;
			}
		}
		nd->feat = (uint32_t)f | (dl ? NODE_DEFAULT_LEFT : 0);
		nd->left = (uint32_t)(base + newidx[l]);
		m->leaf[k] = 0.0f;
	}
	tr->root = (uint32_t)base;
	tr->depth = maxdepth;
	m->nnodes += tail;
	ret = 0;
out:
	free(queue);
	free(newidx);
	free(depth);
	return ret;
}

/* Read the objective and the learner's parameters into m. */
static int
model_load_learner(struct model_loader *ld, struct model *m, json_t *learner)
{
	json_t		*obj, *param, *name;
	const char	*s;
	size_t		 i, nclass, ntarget, nbase = 0;
	float		 b;

	if ((obj = model_get_object(ld, learner, "learner", "objective")) ==
	    NULL)
		return -1;
	name = json_object_get(obj, "name");
	if (!json_is_string(name))
		return model_fail(ld, "learner.objective.name: %s", name ==
		    NULL ? "missing" : "expected a string");
	s = json_string_value(name);
	for (i = 0; i < sizeof(model_objectives) / sizeof(model_objectives[0]);
	    i++)
		if (strcmp(s, model_objectives[i].name) == 0)
			m->obj = &model_objectives[i];
	if (m->obj == NULL)
		return model_fail(ld, "learner.objective.name: objective \"%s\" "
		    "is not supported (supported: reg:squarederror, "
		    "reg:logistic, binary:logistic, binary:logitraw, "
		    "multi:softprob, multi:softmax)", s);

	if ((param = model_get_object(ld, learner, "learner",
	    "learner_model_param")) == NULL)
		return -1;
	if (model_get_count(ld, param, "learner.learner_model_param",
	    "num_feature", SIZE_MAX, MODEL_MAX_FEATURES, &m->nfeatures) == -1 ||
	    model_get_count(ld, param, "learner.learner_model_param",
	    "num_class", 0, MODEL_MAX_GROUPS, &nclass) == -1 ||
	    model_get_count(ld, param, "learner.learner_model_param",
	    "num_target", 1, MODEL_MAX_GROUPS, &ntarget) == -1)
		return -1;
	if (m->nfeatures == 0)
		return model_fail(ld, "learner.learner_model_param.num_feature: "
		    "must be at least 1");
	if (m->obj->multiclass) {
		if (nclass < 2)
			return model_fail(ld, "learner.learner_model_param."
			    "num_class: %zu, but %s needs at least 2 classes",
			    nclass, m->obj->name);
		if (ntarget > 1)
			return model_fail(ld, "learner.learner_model_param."
			    "num_target: %zu targets with %s are not "
			    "supported", ntarget, m->obj->name);
		m->ngroups = nclass;
	} else {
		if (nclass > 1)
			return model_fail(ld, "learner.learner_model_param."
			    "num_class: %zu classes, but objective %s is not "
			    "multi-class", nclass, m->obj->name);
		m->ngroups = ntarget > 0 ? ntarget : 1;
	}
	m->noutputs = m->obj->transform == MODEL_ARGMAX ? 1 : m->ngroups;

	if ((m->base = calloc(m->ngroups, sizeof(*m->base))) == NULL)
		return model_fail(ld, "out of memory");
	if (model_get_base_score(ld, param, m->base, m->ngroups, &nbase) == -1)
		return -1;
	if (nbase != 1 && nbase != m->ngroups)
		return model_fail(ld, "learner.learner_model_param.base_score: "
		    "%zu values for %zu outputs", nbase, m->ngroups);
	for (i = 0; i < m->ngroups; i++) {
		b = m->base[nbase == 1 ? 0 : i];
		if (m->obj->logit_base) {
			/* XGBoost's LogisticRegression::ProbToMargin. */
			if (!(b > 0.0f && b < 1.0f))
				return model_fail(ld, "learner."
				    "learner_model_param.base_score: %g is "
				    "not in (0, 1) as %s needs", (double)b,
				    m->obj->name);
			b = -logf(1.0f / b - 1.0f);
		}
		m->base[i] = b;
	}
	return 0;
}

/* Read the gbtree booster: every tree, and the output group of each. */
static int
model_load_booster(struct model_loader *ld, struct model *m, json_t *learner)
{
	const char	*gp = "learner.gradient_booster";
	json_t		*gb, *name, *gbm, *trees, *info, *tree, *v, *gparam;
	size_t		 t, g, total, ntrees_param, *count = NULL;
	struct model_tree *trs = NULL;
	unsigned	*group = NULL;
	long long	 gi;
	int		 ret = -1;

	if ((gb = model_get_object(ld, learner, "learner",
	    "gradient_booster")) == NULL)
		return -1;
	name = json_object_get(gb, "name");
	if (!json_is_string(name))
		return model_fail(ld, "%s.name: %s", gp, name == NULL ?
		    "missing" : "expected a string");
	if (strcmp(json_string_value(name), "gbtree") != 0)
		return model_fail(ld, "%s.name: booster \"%s\" is not "
		    "supported (only gbtree)", gp, json_string_value(name));
	if ((gbm = model_get_object(ld, gb, gp, "model")) == NULL)
		return -1;
	trees = json_object_get(gbm, "trees");
	if (!json_is_array(trees))
		return model_fail(ld, "%s.model.trees: %s", gp, trees == NULL ?
		    "missing" : "expected an array");
	m->ntrees = json_array_size(trees);
	if ((gparam = json_object_get(gbm, "gbtree_model_param")) != NULL &&
	    json_is_object(gparam)) {
		if (model_get_count(ld, gparam, "learner.gradient_booster.model."
		    "gbtree_model_param", "num_trees", m->ntrees, SIZE_MAX - 1,
		    &ntrees_param) == -1)
			return -1;
		if (ntrees_param != m->ntrees)
			return model_fail(ld, "%s.model.gbtree_model_param."
			    "num_trees: %zu, but trees has %zu entries", gp,
			    ntrees_param, m->ntrees);
	}
	info = json_object_get(gbm, "tree_info");
	if (info == NULL && m->ngroups > 1)
		return model_fail(ld, "%s.model.tree_info: missing (needed "
		    "with %zu output groups)", gp, m->ngroups);
	if (info != NULL && !json_is_array(info))
		return model_fail(ld, "%s.model.tree_info: expected an array, "
		    "got %s", gp, jsonutil_type_name(info, JSONUTIL_INTEGER_REAL));
	if (info != NULL && json_array_size(info) != m->ntrees)
		return model_fail(ld, "%s.model.tree_info: %zu entries, but "
		    "trees has %zu", gp, json_array_size(info), m->ntrees);

	/* Total node count, to allocate the flat array once. */
	total = 0;
	json_array_foreach(trees, t, tree) {
		v = json_object_get(tree, "left_children");
		if (json_is_array(v))
			total += json_array_size(v);
		if (total > MODEL_MAX_NODES)
			return model_fail(ld, "%s.model.trees: more than %zu "
			    "nodes", gp, MODEL_MAX_NODES);
	}
	if (total == 0)
		total = 1;
	if ((m->nodes = calloc(total, sizeof(*m->nodes))) == NULL ||
	    (m->leaf = calloc(total, sizeof(*m->leaf))) == NULL ||
	    (trs = calloc(m->ntrees + 1, sizeof(*trs))) == NULL ||
	    (group = calloc(m->ntrees + 1, sizeof(*group))) == NULL ||
	    (count = calloc(m->ngroups + 1, sizeof(*count))) == NULL ||
	    (m->trees = calloc(m->ntrees + 1, sizeof(*m->trees))) == NULL ||
	    (m->group_end = calloc(m->ngroups, sizeof(*m->group_end))) ==
	    NULL) {
		model_fail(ld, "out of memory for %zu nodes", total);
		goto out;
	}
	json_array_foreach(trees, t, tree) {
		if (info != NULL) {
			v = json_array_get(info, t);
			if (!json_is_integer(v)) {
				model_fail(ld, "%s.model.tree_info[%zu]: "
				    "expected an integer, got %s", gp, t,
				    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
				goto out;
			}
			gi = json_integer_value(v);
			if (gi < 0 || (unsigned long long)gi >= m->ngroups) {
				model_fail(ld, "%s.model.tree_info[%zu]: group "
				    "%lld out of range (the model has %zu "
				    "output group%s: num_class %s)", gp, t, gi,
				    m->ngroups, m->ngroups == 1 ? "" : "s",
				    m->obj->multiclass ? "says so" :
				    "is 0 or 1");
				goto out;
			}
			group[t] = (unsigned)gi;
		}
		/* A tree fits the precounted total: model_load_tree adds
		 * at most as many nodes as left_children has. */
		if (model_load_tree(ld, m, tree, t, &trs[t]) == -1)
			goto out;
		count[group[t]]++;
	}
	/* Every class of a multi-class model has as many trees. */
	for (g = 1; m->obj->multiclass && g < m->ngroups; g++)
		if (count[g] != count[0]) {
			model_fail(ld, "%s.model.tree_info: class %zu has %zu "
			    "trees but class 0 has %zu (does num_class %zu "
			    "match the trees?)", gp, g, count[g], count[0],
			    m->ngroups);
			goto out;
		}
	/* Order trees by group, keeping their order within a group. */
	for (g = 1; g < m->ngroups; g++)
		count[g] += count[g - 1];
	for (g = 0; g < m->ngroups; g++)
		m->group_end[g] = count[g];
	for (t = m->ntrees; t-- > 0;)
		m->trees[--count[group[t]]] = trs[t];
	ret = 0;
out:
	free(trs);
	free(group);
	free(count);
	return ret;
}

/* Read the whole file at ld->file into a malloc'd, NUL-terminated buffer. */
static char *
model_read_file(struct model_loader *ld, size_t *lenp)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len, off;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(ld->file, O_RDONLY)) == -1) {
		model_fail(ld, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		model_fail(ld, "fstat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		model_fail(ld, "not a regular file");
		goto out;
	}
	if ((unsigned long long)st.st_size > MODEL_MAX_FILE_BYTES) {
		model_fail(ld, "file is %lld bytes, more than the limit of %zu",
		    (long long)st.st_size, MODEL_MAX_FILE_BYTES);
		goto out;
	}
	len = (size_t)st.st_size;
	if (len == 0) {
		model_fail(ld, "file is empty (expected an XGBoost JSON model)");
		goto out;
	}
	if ((buf = malloc(len + 1)) == NULL) {
		model_fail(ld, "out of memory for %zu bytes", len);
		goto out;
	}
	for (off = 0; off < len; off += (size_t)n) {
		n = read(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			model_fail(ld, "read: %s", n == 0 ?
			    "file shrank while reading" : strerror(errno));
			free(buf);
			buf = NULL;
			goto out;
		}
	}
	buf[len] = '\0';
	*lenp = len;
out:
	close(fd);
	return buf;
}

/* Set m->name to the base name of path without a ".json" suffix. */
static int
model_set_name(struct model *m, const char *path)
{
	const char	*b = strrchr(path, '/');
	size_t		 n;

	b = b != NULL ? b + 1 : path;
	n = strlen(b);
	if (n > 5 && strcmp(b + n - 5, ".json") == 0)
		n -= 5;
	if (n == 0) {
		b = "model";
		n = 5;
	}
	if ((m->name = malloc(n + 1)) == NULL)
		return -1;
	memcpy(m->name, b, n);
	m->name[n] = '\0';
	return 0;
}

/* Load and check an XGBoost JSON model; NULL with err filled on failure. */
struct model *
model_load(const char *path, char *err, size_t errlen)
{
	struct model_loader	 ld = { path, err, errlen };
	struct model		*m;
	json_t			*root = NULL, *learner;
	json_error_t		 jerr;
	char			*buf;
	size_t			 len;

	if (errlen > 0)
		err[0] = '\0';
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		model_fail(&ld, "out of memory");
		return NULL;
	}
	if ((buf = model_read_file(&ld, &len)) == NULL)
		goto fail;
	SHA256Data((const uint8_t *)buf, len, m->sha256);
	root = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (root == NULL) {
		if (json_error_code(&jerr) == json_error_premature_end_of_input)
			model_fail(&ld, "line %d, column %d: truncated JSON "
			    "(%s)", jerr.line, jerr.column, jerr.text);
		else
			model_fail(&ld, "line %d, column %d: not valid JSON: "
			    "%s", jerr.line, jerr.column, jerr.text);
		goto fail;
	}
	if (!json_is_object(root)) {
		model_fail(&ld, "top level: expected an object, got %s (not an "
		    "XGBoost JSON model)", jsonutil_type_name(root, JSONUTIL_INTEGER_REAL));
		goto fail;
	}
	learner = json_object_get(root, "learner");
	if (!json_is_object(learner)) {
		model_fail(&ld, "learner: %s (not an XGBoost JSON model; save "
		    "it with Booster.save_model(\"model.json\"))",
		    learner == NULL ? "missing" : "expected an object");
		goto fail;
	}
	if (model_load_learner(&ld, m, learner) == -1 ||
	    model_load_booster(&ld, m, learner) == -1)
		goto fail;
	if (model_set_name(m, path) == -1) {
		model_fail(&ld, "out of memory");
		goto fail;
	}
	json_decref(root);
	return m;
fail:
	json_decref(root);
	model_free(m);
	return NULL;
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

/* The model's name: the file's base name without ".json". */
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

/*
 * One step down from node i (see struct model_node): v < cond goes left,
 * a missing value goes the default way, a leaf stays where it is.
 */
static inline uint32_t
model_step(const struct model_node *nodes, uint32_t i, const float *row)
{
	const struct model_node	*nd = &nodes[i];
	float			 v = row[nd->feat & NODE_FEATURE_MASK];

	return nd->left + ((uint32_t)(v >= nd->cond) |
	    ((~nd->feat >> 31) & (uint32_t)(v != v)));
}

/* XGBoost 1.7's common::Sigmoid, in float. */
static inline float
model_sigmoid(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

/*
 * Sum the trees of group g for one row, from the group's base margin, in
 * tree order as XGBoost does.  Four trees are walked side by side: their
 * walks are independent, so the CPU overlaps their loads.
 */
static float
model_margin_row(const struct model *m, size_t g, const float *row)
{
	const struct model_node	*nodes = m->nodes;
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
			i0 = model_step(nodes, i0, row);
			i1 = model_step(nodes, i1, row);
			i2 = model_step(nodes, i2, row);
			i3 = model_step(nodes, i3, row);
		}
		acc += m->leaf[i0];
		acc += m->leaf[i1];
		acc += m->leaf[i2];
		acc += m->leaf[i3];
	}
	for (; tr < end; tr++) {
		i0 = tr->root;
		for (d = 0; d < tr->depth; d++)
			i0 = model_step(nodes, i0, row);
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
static void
model_margin_lanes(const struct model *m, size_t g,
    const float *const row[MODEL_LANES], float acc[MODEL_LANES])
{
	const struct model_node	*nodes = m->nodes;
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
				idx[j] = model_step(nodes, idx[j], row[j]);
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

/*
 * Predict nrows rows into out; see model.h.  Rows go down the trees
 * MODEL_LANES at a time (a short last block repeats its last row in the
 * spare lanes); a batch of fewer than 4 rows goes one row at a time.
 */
void
model_predict(const struct model *m, const float *x, size_t nrows,
    double *out)
{
	const float	*row[MODEL_LANES];
	size_t		 r, g, j, n, nf = m->nfeatures, best[MODEL_LANES];
	float		 margin[MODEL_LANES], bestm[MODEL_LANES];

	for (r = 0; r < nrows; r += n) {
		n = nrows - r < MODEL_LANES ? nrows - r : MODEL_LANES;
		if (n < 4) {
			n = 1;
			for (g = 0; g < m->ngroups; g++) {
				margin[0] = model_margin_row(m, g, x + r * nf);
				model_finish(m, g, margin, 1, out, r, best,
				    bestm);
			}
			continue;
		}
		for (j = 0; j < MODEL_LANES; j++)
			row[j] = x + (r + (j < n ? j : n - 1)) * nf;
		for (g = 0; g < m->ngroups; g++) {
			model_margin_lanes(m, g, row, margin);
			model_finish(m, g, margin, n, out, r, best, bestm);
		}
	}
}
