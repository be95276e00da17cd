/*
 * model_xgbbin: XGBoost's binary model format, read as XGBoost 1.x reads
 * it (learner.cc LoadModel, gbtree_model.cc, gbtree.cc's Dart::Load,
 * gblinear_model.h, tree_model.cc RegTree::Load), into the same jansson
 * document an XGBoost JSON model parses to.  model_build then checks it
 * with every check and message the JSON and UBJSON models get, so the
 * evaluator never knows which format a model came in.
 *
 * The stream, all little-endian (XGBoost writes host order and no big-
 * endian build of it exists in practice):
 *
 *	"binf"			4 bytes, absent before 1.0 (then mparam is
 *				at byte 0: modelfmt tells it by its names)
 *	LearnerModelParam	136 bytes: base_score f32, num_feature u32,
 *				num_class i32, contain_extra_attrs i32,
 *				contain_eval_metrics i32, major u32, minor
 *				u32, num_target u32, boost_from_average i32,
 *				reserved
 *	objective, booster	strings: u64 length, bytes
 *	gbtree / dart:		GBTreeModelParam 160 bytes (num_trees i32,
 *				num_parallel_tree i32, ...), then each tree:
 *				TreeParam 148 bytes (num_nodes at 4,
 *				num_deleted at 8, size_leaf_vector at 20),
 *				nodes 20 bytes each (parent, left, right i32,
 *				split index u32 with default-left in bit 31,
 *				split condition or leaf value f32), stats 16
 *				bytes each; tree_info i32 x num_trees;
 *				dart: weight_drop, u64 count and f32s
 *	gblinear:		param 136 bytes, weights: u64 count, f32s
 *	attributes		if contain_extra_attrs: u64 count, then
 *				pairs of strings; "objective" holds the
 *				objective's JSON configuration (1.0+)
 *
 * Before 1.0 (major version 0) base_score was stored on the output scale
 * transformed once more; 1.x undoes it with the objective's PredTransform,
 * and so does this (in float, as XGBoost).  0.x also wrote more after the
 * attributes (eval metrics, poisson's max_delta_step), which 1.x ignores;
 * from 1.0 on, bytes after the model are refused as a damaged file.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/model_impl.h"
#include "model/modelfmt.h"

#define XGBBIN_MPARAM_SIZE	136
#define XGBBIN_GBTREE_SIZE	160
#define XGBBIN_TREE_SIZE	148
#define XGBBIN_NODE_SIZE	20
#define XGBBIN_STAT_SIZE	16
#define XGBBIN_LINEAR_SIZE	136
#define XGBBIN_MAX_NAME		256		/* objective, booster */
#define XGBBIN_MAX_STRING	((uint64_t)1 << 24)	/* an attribute */

#define XGBBIN_RESAVE	"if XGBoost loads it, re-save it with " \
	"save_model(\"model.json\")"
#define XGBBIN_DAMAGED	"(a damaged file? " XGBBIN_RESAVE ")"

/* Where the reader is in the file, and where its message goes. */
struct xgbbin {
	const unsigned char	*p;
	size_t			 len;
	size_t			 off;
	const char		*name;
	char			*err;
	size_t			 errlen;
	int			 failed;
};

static int	 xgbbin_fail(struct xgbbin *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Write "name: byte OFF: message" once; return -1. */
static int
xgbbin_fail(struct xgbbin *r, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (r->failed || r->errlen == 0)
		return -1;
	r->failed = 1;
	n = snprintf(r->err, r->errlen, "%s: XGBoost binary model, byte %zu: ",
	    r->name, r->off);
	if (n < 0 || (size_t)n >= r->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Whether n more bytes are there for `what'; fail saying so if not. */
static int
xgbbin_need(struct xgbbin *r, uint64_t n, const char *what)
{
	if (n <= r->len - r->off)
		return 0;
	return xgbbin_fail(r, "truncated: %s needs %llu bytes, %zu left (the "
	    "file is cut short or not an XGBoost model; " XGBBIN_RESAVE ")",
	    what, (unsigned long long)n, r->len - r->off);
}

static uint32_t
xgbbin_u32at(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
xgbbin_u64at(const unsigned char *p)
{
	return (uint64_t)xgbbin_u32at(p) | (uint64_t)xgbbin_u32at(p + 4) << 32;
}

static float
xgbbin_f32at(const unsigned char *p)
{
	uint32_t	 u = xgbbin_u32at(p);
	float		 f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* A fixed-size block of n bytes: its start, or NULL (failed). */
static const unsigned char *
xgbbin_block(struct xgbbin *r, size_t n, const char *what)
{
	const unsigned char	*b;

	if (xgbbin_need(r, n, what) == -1)
		return NULL;
	b = r->p + r->off;
	r->off += n;
	return b;
}

/* A dmlc string: u64 length (at most max), bytes; a malloc'd copy. */
static char *
xgbbin_string(struct xgbbin *r, uint64_t max, const char *what)
{
	const unsigned char	*b;
	uint64_t		 n;
	char			*s;

	if ((b = xgbbin_block(r, 8, what)) == NULL)
		return NULL;
	if ((n = xgbbin_u64at(b)) > max) {
		r->off -= 8;
		xgbbin_fail(r, "%s: length %llu is over %llu " XGBBIN_DAMAGED,
		    what, (unsigned long long)n, (unsigned long long)max);
		return NULL;
	}
	if ((b = xgbbin_block(r, (size_t)n, what)) == NULL)
		return NULL;
	if ((s = malloc((size_t)n + 1)) == NULL) {
		xgbbin_fail(r, "out of memory");
		return NULL;
	}
	memcpy(s, b, (size_t)n);
	s[n] = '\0';
	if (strlen(s) != n) {
		r->off -= (size_t)n;
		xgbbin_fail(r, "%s: holds a NUL byte " XGBBIN_DAMAGED, what);
		free(s);
		return NULL;
	}
	return s;
}

/* A dmlc vector<float>: u64 count (at most what is left), floats; into a
 * JSON array (NaN as null, infinities as strings: modelfmt.h). */
static json_t *
xgbbin_number(double d)
{
	if (isnan(d))
		return json_null();
	if (isinf(d))
		return json_string(d > 0 ? "Infinity" : "-Infinity");
	return json_real(d);
}

static json_t *
xgbbin_floats(struct xgbbin *r, const char *what, size_t *countp)
{
	const unsigned char	*b;
	json_t			*a;
	uint64_t		 n, i;

	if ((b = xgbbin_block(r, 8, what)) == NULL)
		return NULL;
	n = xgbbin_u64at(b);
	if (n > (r->len - r->off) / 4) {
		xgbbin_fail(r, "%s: %llu values, but only %zu bytes are left "
		    XGBBIN_DAMAGED, what, (unsigned long long)n,
		    r->len - r->off);
		return NULL;
	}
	b = r->p + r->off;
	r->off += (size_t)n * 4;
	if ((a = json_array()) == NULL)
		goto oom;
	for (i = 0; i < n; i++)
		if (json_array_append_new(a, xgbbin_number(xgbbin_f32at(b +
		    4 * i))) == -1)
			goto oom;
	*countp = (size_t)n;
	return a;
oom:
	json_decref(a);
	xgbbin_fail(r, "out of memory");
	return NULL;
}

/* Set key of obj to v (stolen); -1 if v is NULL or out of memory. */
static int
xgbbin_set(struct xgbbin *r, json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(obj, key, v) == -1)
		return xgbbin_fail(r, "out of memory");
	return 0;
}

/*
 * One RegTree (tree t) into a JSON tree object.  The node arrays become
 * the JSON model's columns; a node is a leaf when its left child is -1
 * (RegTree::Node::IsLeaf), so its right child is made -1 too.
 */
static json_t *
xgbbin_tree(struct xgbbin *r, size_t t)
{
	const unsigned char	*tp, *nb;
	json_t			*tree, *param, *col[5];
	static const char *const keys[5] = { "left_children",
	    "right_children", "split_indices", "split_conditions",
	    "default_left" };
	int32_t			 nn, left, right;
	uint32_t		 sindex;
	size_t			 i, k;
	char			 what[64];

	snprintf(what, sizeof(what), "tree %zu's TreeParam", t);
	if ((tp = xgbbin_block(r, XGBBIN_TREE_SIZE, what)) == NULL)
		return NULL;
	nn = (int32_t)xgbbin_u32at(tp + 4);
	if (nn <= 0 || (uint64_t)nn > MODEL_MAX_NODES) {
		r->off -= XGBBIN_TREE_SIZE - 4;
		xgbbin_fail(r, "tree %zu: num_nodes %d is not in 1..%zu", t,
		    nn, MODEL_MAX_NODES);
		return NULL;
	}
	snprintf(what, sizeof(what), "tree %zu's %d nodes", t, nn);
	if ((nb = xgbbin_block(r, (size_t)nn * XGBBIN_NODE_SIZE, what)) ==
	    NULL)
		return NULL;
	snprintf(what, sizeof(what), "tree %zu's %d node stats", t, nn);
	if (xgbbin_block(r, (size_t)nn * XGBBIN_STAT_SIZE, what) == NULL)
		return NULL;
	/* xgbbin_set consumes its value, even when it fails */
	if ((tree = json_object()) == NULL)
		goto oom;
	for (k = 0; k < 5; k++)
		if (xgbbin_set(r, tree, keys[k], col[k] = json_array()) == -1)
			goto fail;
	if (xgbbin_set(r, tree, "tree_param", param = json_object()) == -1 ||
	    xgbbin_set(r, param, "num_nodes", json_integer(nn)) == -1 ||
	    xgbbin_set(r, param, "num_deleted", json_integer(
	    (int32_t)xgbbin_u32at(tp + 8))) == -1 ||
	    xgbbin_set(r, param, "size_leaf_vector", json_integer(
	    (int32_t)xgbbin_u32at(tp + 20))) == -1 ||
	    xgbbin_set(r, tree, "id", json_integer((json_int_t)t)) == -1)
		goto fail;
	for (i = 0; i < (size_t)nn; i++) {
		const unsigned char *n = nb + i * XGBBIN_NODE_SIZE;

		left = (int32_t)xgbbin_u32at(n + 4);
		right = left == -1 ? -1 : (int32_t)xgbbin_u32at(n + 8);
		sindex = xgbbin_u32at(n + 12);
		if (json_array_append_new(col[0], json_integer(left)) == -1 ||
		    json_array_append_new(col[1], json_integer(right)) == -1 ||
		    json_array_append_new(col[2], json_integer(sindex &
		    0x7fffffffu)) == -1 ||
		    json_array_append_new(col[3],
		    xgbbin_number(xgbbin_f32at(n + 16))) == -1 ||
		    json_array_append_new(col[4], json_integer(sindex >> 31)) ==
		    -1)
			goto oom;
	}
	return tree;
oom:
	xgbbin_fail(r, "out of memory");
fail:
	json_decref(tree);
	return NULL;
}

/* GBTreeModel::Load into {"gbtree_model_param", "trees", "tree_info"}. */
static json_t *
xgbbin_gbtree(struct xgbbin *r)
{
	const unsigned char	*gp, *b;
	json_t			*model, *gparam, *trees, *info, *tree;
	int32_t			 nt, npt;
	size_t			 t;
	char			 what[64];

	if ((gp = xgbbin_block(r, XGBBIN_GBTREE_SIZE, "GBTreeModelParam")) ==
	    NULL)
		return NULL;
	nt = (int32_t)xgbbin_u32at(gp);
	npt = (int32_t)xgbbin_u32at(gp + 4);
	if (nt < 0 || (uint64_t)nt > (r->len - r->off) / (XGBBIN_TREE_SIZE +
	    XGBBIN_NODE_SIZE + XGBBIN_STAT_SIZE + 4)) {
		r->off -= XGBBIN_GBTREE_SIZE;
		xgbbin_fail(r, "GBTreeModelParam.num_trees %d: negative or more "
		    "trees than the file can hold " XGBBIN_DAMAGED, nt);
		return NULL;
	}
	if (npt < 0)
		npt = 1;	/* the builder counts rounds; 0 reads as 1 */
	/* xgbbin_set consumes its value, even when it fails */
	if ((model = json_object()) == NULL) {
		xgbbin_fail(r, "out of memory");
		return NULL;
	}
	if (xgbbin_set(r, model, "gbtree_model_param", gparam =
	    json_object()) == -1 ||
	    xgbbin_set(r, model, "trees", trees = json_array()) == -1 ||
	    xgbbin_set(r, model, "tree_info", info = json_array()) == -1 ||
	    xgbbin_set(r, gparam, "num_trees", json_integer(nt)) == -1 ||
	    xgbbin_set(r, gparam, "num_parallel_tree", json_integer(npt)) == -1)
		goto fail;
	for (t = 0; t < (size_t)nt; t++) {
		if ((tree = xgbbin_tree(r, t)) == NULL)
			goto fail;
		if (json_array_append_new(trees, tree) == -1) {
			xgbbin_fail(r, "out of memory");
			goto fail;
		}
	}
	snprintf(what, sizeof(what), "tree_info of %d trees", nt);
	if ((b = xgbbin_block(r, (size_t)nt * 4, what)) == NULL)
		goto fail;
	for (t = 0; t < (size_t)nt; t++)
		if (json_array_append_new(info, json_integer(
		    (int32_t)xgbbin_u32at(b + 4 * t))) == -1) {
			xgbbin_fail(r, "out of memory");
			goto fail;
		}
	return model;
fail:
	json_decref(model);
	return NULL;
}

/* The booster named `booster' into learner.gradient_booster. */
static json_t *
xgbbin_booster(struct xgbbin *r, const char *booster)
{
	json_t	*gb, *model, *inner, *w;
	size_t	 n;

	if ((gb = json_object()) == NULL ||
	    xgbbin_set(r, gb, "name", json_string(booster)) == -1)
		goto fail;
	if (strcmp(booster, "gblinear") == 0) {
		if (xgbbin_block(r, XGBBIN_LINEAR_SIZE, "gblinear's model "
		    "parameters") == NULL ||
		    (w = xgbbin_floats(r, "gblinear's weights", &n)) == NULL)
			goto fail;
		if ((model = json_object()) == NULL ||
		    xgbbin_set(r, gb, "model", model) == -1) {
			json_decref(w);
			goto fail;
		}
		if (xgbbin_set(r, model, "weights", w) == -1)
			goto fail;
		return gb;
	}
	if (strcmp(booster, "gbtree") != 0 && strcmp(booster, "dart") != 0) {
		xgbbin_fail(r, "booster \"%.64s\" is not one of gbtree, dart, "
		    "gblinear " XGBBIN_DAMAGED, booster);
		goto fail;
	}
	if ((model = xgbbin_gbtree(r)) == NULL)
		goto fail;
	if (strcmp(booster, "gbtree") == 0) {
		if (xgbbin_set(r, gb, "model", model) == -1)
			goto fail;
		return gb;
	}
	/* dart: {"gbtree": {"name": "gbtree", "model"}, "weight_drop"} */
	if ((inner = json_object()) == NULL ||
	    xgbbin_set(r, gb, "gbtree", inner) == -1) {
		json_decref(model);
		goto fail;
	}
	if (xgbbin_set(r, inner, "model", model) == -1 ||
	    xgbbin_set(r, inner, "name", json_string("gbtree")) == -1)
		goto fail;
	n = json_array_size(json_object_get(model, "trees"));
	if (n == 0)	/* Dart::Load reads no weights for no trees */
		w = json_array();
	else if ((w = xgbbin_floats(r, "dart's weight_drop", &n)) == NULL)
		goto fail;
	if (xgbbin_set(r, gb, "weight_drop", w) == -1)
		goto fail;
	return gb;
fail:
	json_decref(gb);
	return NULL;
}

/*
 * The learner's attributes into attrs; "objective" (the objective's JSON
 * configuration, 1.0+) into *objp, parsed.  The others stay attributes,
 * as XGBoost keeps them (best_iteration among them).
 */
static int
xgbbin_attributes(struct xgbbin *r, json_t *attrs, json_t **objp)
{
	const unsigned char	*b;
	json_error_t		 jerr;
	uint64_t		 n, i;
	char			*k = NULL, *v = NULL;
	size_t			 at;

	if ((b = xgbbin_block(r, 8, "the attribute count")) == NULL)
		return -1;
	if ((n = xgbbin_u64at(b)) > (r->len - r->off) / 16) {
		r->off -= 8;
		return xgbbin_fail(r, "%llu attributes, more than the %zu "
		    "bytes left can hold " XGBBIN_DAMAGED,
		    (unsigned long long)n, r->len - r->off - 8);
	}
	for (i = 0; i < n; i++) {
		at = r->off;
		if ((k = xgbbin_string(r, XGBBIN_MAX_STRING, "an attribute's "
		    "name")) == NULL ||
		    (v = xgbbin_string(r, XGBBIN_MAX_STRING, "an attribute's "
		    "value")) == NULL)
			goto fail;
		if (strcmp(k, "objective") == 0) {
			json_decref(*objp);
			*objp = json_loads(v, JSON_REJECT_DUPLICATES, &jerr);
			if (!json_is_object(*objp)) {
				r->off = at;
				xgbbin_fail(r, "attribute \"objective\": not "
				    "a JSON object (%s)", *objp == NULL ?
				    jerr.text : "another JSON value");
				goto fail;
			}
		} else if (strcmp(k, "metrics") != 0 &&
		    strcmp(k, "count_poisson_max_delta_step") != 0 &&
		    xgbbin_set(r, attrs, k, json_string(v)) == -1)
			goto fail;
		free(k);
		free(v);
		k = v = NULL;
	}
	return 0;
fail:
	free(k);
	free(v);
	return -1;
}

/* XGBoost 0.x's base_score, undone by the objective's PredTransform as
 * 1.x does for a model of major version 0 (not multi:). */
static float
xgbbin_old_base(const char *objective, float b)
{
	static const char *const sigmoid[] = { "reg:logistic",
	    "binary:logistic" };
	static const char *const expo[] = { "count:poisson", "reg:gamma",
	    "reg:tweedie", "survival:cox", "survival:aft" };
	size_t	 i;

	for (i = 0; i < sizeof(sigmoid) / sizeof(sigmoid[0]); i++)
		if (strcmp(objective, sigmoid[i]) == 0)
			return 1.0f / (1.0f + expf(-b));
	for (i = 0; i < sizeof(expo) / sizeof(expo[0]); i++)
		if (strcmp(objective, expo[i]) == 0)
			return expf(b);
	if (strcmp(objective, "binary:hinge") == 0)
		return b > 0.0f ? 1.0f : 0.0f;
	return b;
}

/* Whether s is a plausible objective or booster name: a few printable
 * characters. */
static int
xgbbin_name_ok(const unsigned char *s, uint64_t n)
{
	uint64_t	 i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

/* See modelfmt.h. */
int
xgbbin_sniff(const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	size_t			 off = XGBBIN_MPARAM_SIZE;
	uint64_t		 n;

	if (len >= 4 && memcmp(p, "binf", 4) == 0)
		return 1;
	/* headerless (0.x): mparam, then the objective and booster names */
	if (len < off + 8 || !xgbbin_name_ok(p + off + 8,
	    n = xgbbin_u64at(p + off)) || len - off - 8 < n + 8)
		return 0;
	if (memchr(p + off + 8, ':', (size_t)n) == NULL)
		return 0;
	off += 8 + (size_t)n;
	n = xgbbin_u64at(p + off);
	return len - off - 8 >= n && ((n == 6 && (memcmp(p + off + 8,
	    "gbtree", 6) == 0)) || (n == 4 && memcmp(p + off + 8, "dart",
	    4) == 0) || (n == 8 && memcmp(p + off + 8, "gblinear", 8) == 0));
}

/* Format a count as XGBoost's JSON does: a decimal string. */
static json_t *
xgbbin_count(long long v)
{
	char	 s[32];

	snprintf(s, sizeof(s), "%lld", v);
	return json_string(s);
}

/* See modelfmt.h. */
json_t *
xgbbin_parse(const void *buf, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct xgbbin		 r = { buf, len, 0, name, err, errlen, 0 };
	const unsigned char	*mp;
	json_t			*root, *learner, *param, *attrs, *obj = NULL;
	json_t			*gb;
	char			*objective = NULL, *booster = NULL, bs[32];
	uint32_t		 major, minor, ntarget;
	int32_t			 nclass, extra;
	float			 base;

	if (len >= 4 && memcmp(buf, "binf", 4) == 0)
		r.off = 4;
	root = json_object();
	learner = json_object();
	param = json_object();
	attrs = json_object();
	if (xgbbin_set(&r, root, "learner", learner) == -1) {
		json_decref(param);
		json_decref(attrs);
		goto fail;
	}
	if (xgbbin_set(&r, learner, "learner_model_param", param) == -1) {
		json_decref(attrs);
		goto fail;
	}
	if (xgbbin_set(&r, learner, "attributes", attrs) == -1 ||
	    (mp = xgbbin_block(&r, XGBBIN_MPARAM_SIZE,
	    "LearnerModelParam")) == NULL)
		goto fail;
	base = xgbbin_f32at(mp);
	nclass = (int32_t)xgbbin_u32at(mp + 8);
	extra = (int32_t)xgbbin_u32at(mp + 12);
	major = xgbbin_u32at(mp + 20);
	minor = xgbbin_u32at(mp + 24);
	ntarget = xgbbin_u32at(mp + 28);
	if (nclass < 0) {
		r.off -= XGBBIN_MPARAM_SIZE - 8;
		xgbbin_fail(&r, "num_class %d is negative " XGBBIN_DAMAGED,
		    nclass);
		goto fail;
	}
	if ((objective = xgbbin_string(&r, XGBBIN_MAX_NAME,
	    "the objective's name")) == NULL ||
	    (booster = xgbbin_string(&r, XGBBIN_MAX_NAME,
	    "the booster's name")) == NULL ||
	    (gb = xgbbin_booster(&r, booster)) == NULL ||
	    xgbbin_set(&r, learner, "gradient_booster", gb) == -1)
		goto fail;
	if (extra != 0 && xgbbin_attributes(&r, attrs, &obj) == -1)
		goto fail;
	if (r.off != len && major >= 1) {
		xgbbin_fail(&r, "%zu bytes after the model's end (a damaged "
		    "or concatenated file; " XGBBIN_RESAVE ")", len - r.off);
		goto fail;
	}
	/* XGBoost creates the objective by the learner's name and reads
	 * only its parameters from the attribute */
	if (obj == NULL && (obj = json_object()) == NULL) {
		xgbbin_fail(&r, "out of memory");
		goto fail;
	}
	json_object_del(obj, "name");
	if (xgbbin_set(&r, learner, "objective", obj) == -1) {
		obj = NULL;
		goto fail;
	}
	if (xgbbin_set(&r, obj, "name", json_string(objective)) == -1) {
		obj = NULL;
		goto fail;
	}
	obj = NULL;
	if (major < 1 && strncmp(objective, "multi:", 6) != 0)
		base = xgbbin_old_base(objective, base);
	snprintf(bs, sizeof(bs), "%.9g", (double)base);
	if (xgbbin_set(&r, param, "base_score", json_string(bs)) == -1 ||
	    xgbbin_set(&r, param, "num_feature", xgbbin_count(
	    xgbbin_u32at(mp + 4))) == -1 ||
	    xgbbin_set(&r, param, "num_class", xgbbin_count(nclass)) == -1 ||
	    xgbbin_set(&r, param, "num_target", xgbbin_count(ntarget == 0 ?
	    1 : ntarget)) == -1 ||
	    xgbbin_set(&r, root, "version", json_pack("[III]",
	    (json_int_t)major, (json_int_t)minor, (json_int_t)0)) == -1)
		goto fail;
	free(objective);
	free(booster);
	return root;
fail:
	json_decref(obj);
	free(objective);
	free(booster);
	json_decref(root);
	if (!r.failed)
		xgbbin_fail(&r, "out of memory");
	return NULL;
}
