/*
 * model_onnx: an ONNX-ML tree ensemble to a struct model.
 *
 * The file is an ONNX ModelProto, parsed with the protobuf-c code protoc-c
 * generates from ONNX's own onnx-ml.proto (vendored beside this file).  Its
 * graph must be one tree ensemble: TreeEnsembleRegressor or
 * TreeEnsembleClassifier (ai.onnx.ml opsets 1 and 3) or TreeEnsemble
 * (opset 5), with only what converters put around it: Cast and Identity
 * before it, and Identity, Cast, ZipMap, Softmax, Sigmoid and Exp after
 * it.  Any
 * other operator is refused by name.
 *
 * The ensemble becomes the model every format shares (model_impl.h): one
 * group per target or class, each tree laid out once for each group its
 * leaves weigh, in the order ONNX Runtime sums them; its comparisons
 * (BRANCH_LEQ, LT, GTE, GT, EQ, NEQ, the missing value going the true way
 * or the false way) become the evaluator's "v < cond goes left" step with
 * the children swapped or the threshold moved to the next float, exactly;
 * EQ and NEQ become exact-comparison nodes (MODEL_CATS_EQUAL).  What
 * follows the trees (aggregate_function, base_values, post_transform, the
 * binary classifier's two probabilities, the label, the graph's Softmax or
 * Sigmoid) is struct model_onnx, done by model.c as ONNX Runtime does it.
 */
#include "autoconf.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/model.h"
#include "model/model_impl.h"
#include "model/model_onnx.h"
#include "model/onnx-ml.pb-c.h"

#define OX_FLOAT	1	/* TensorProto.DataType */
#define OX_INT64	7
#define OX_DOUBLE	11

enum ox_mode {
	OX_LEQ, OX_LT, OX_GTE, OX_GT, OX_EQ, OX_NEQ, OX_MEMBER, OX_LEAF
};

static const char *const ox_modes[] = {
	"BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ",
	"BRANCH_NEQ", "BRANCH_MEMBER", "LEAF"
};

/* One node of the ensemble in a form all three operators give. */
struct ox_node {
	long long	 tree;		/* tree id (opsets 1, 3) */
	long long	 id;		/* node id in its tree */
	long long	 feat;
	double		 value;		/* threshold */
	size_t		 t, f;		/* true and false child (resolved) */
	long long	 tid, fid;	/* as the file names them */
	enum ox_mode	 mode;
	int		 mtt;		/* missing value tracks true */
	size_t		 w0, wn;	/* its weights: wsorted[w0 .. w0+wn] */
};

/* One weight of a leaf for a group. */
struct ox_weight {
	size_t		 node;
	size_t		 group;
	float		 w;
	size_t		 order;		/* position in the file */
};

/* What is read from the file, then laid out. */
struct ox {
	struct model_err	*e;
	const char		*op;	/* the ensemble's op_type */
	char			 where[64]; /* "graph.node[3] (Op)" */
	struct ox_node		*nodes;
	size_t			 n;
	struct ox_weight	*w;
	size_t			 nw;
	size_t			*roots;	/* generic index of each tree's root */
	size_t			 ntrees;
	size_t			 ngroups;
	size_t			 nfeatures;	/* 0: from the feature ids */
	int			 double_input;
	/* the walk */
	size_t			*order;	/* nodes of tree k in BFS order at
					 * order[tbeg[k] .. tbeg[k] + tlen[k]] */
	size_t			*tbeg, *tlen;
	uint32_t		*tdepth;
	uint32_t		*pos;	/* node -> position in its tree's BFS */
};

/* "file: graph.node[i] (Op): attr: message" */
static int	 ox_fail(struct ox *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

static int
ox_fail(struct ox *o, const char *fmt, ...)
{
	char	 msg[384];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return model_fail(o->e, "%s%s%s", o->where, o->where[0] ? ": " : "",
	    msg);
}

/* The attribute called name of node nd, or NULL. */
static const Onnx__AttributeProto *
ox_attr(const Onnx__NodeProto *nd, const char *name)
{
	size_t	 i;

	for (i = 0; i < nd->n_attribute; i++)
		if (nd->attribute[i]->name != NULL &&
		    strcmp(nd->attribute[i]->name, name) == 0)
			return nd->attribute[i];
	return NULL;
}

/* An ints attribute: its values and count (0 and NULL when absent). */
static const int64_t *
ox_ints(const Onnx__NodeProto *nd, const char *name, size_t *n)
{
	const Onnx__AttributeProto	*a = ox_attr(nd, name);

	*n = a != NULL ? a->n_ints : 0;
	return a != NULL ? a->ints : NULL;
}

/* A string attribute, NUL-terminated into buf; dflt when absent. */
static const char *
ox_string(const Onnx__NodeProto *nd, const char *name, const char *dflt,
    char *buf, size_t len)
{
	const Onnx__AttributeProto	*a = ox_attr(nd, name);
	size_t				 n;

	if (a == NULL || !a->has_s)
		return dflt;
	n = a->s.len < len - 1 ? a->s.len : len - 1;
	memcpy(buf, a->s.data, n);
	buf[n] = '\0';
	return buf;
}

/* An int attribute, dflt when absent. */
static long long
ox_int(const Onnx__NodeProto *nd, const char *name, long long dflt)
{
	const Onnx__AttributeProto	*a = ox_attr(nd, name);

	return a != NULL && a->has_i ? (long long)a->i : dflt;
}

/*
 * The real numbers of attribute name (floats) or name_as_tensor (a float
 * or double tensor), as doubles into a malloc'd *out with their count.
 * Absent: *out NULL, *n 0.  0 or -1.
 */
static int
ox_reals(struct ox *o, const Onnx__NodeProto *nd, const char *name,
    double **out, size_t *n)
{
	const Onnx__AttributeProto	*a = ox_attr(nd, name), *at;
	const Onnx__TensorProto		*t;
	char				 tn[64];
	size_t				 i, cnt, raw = 0;
	int				 dt;

	*out = NULL;
	*n = 0;
	snprintf(tn, sizeof(tn), "%s_as_tensor", name);
	at = ox_attr(nd, tn);
	if (a != NULL && a->n_floats > 0) {
		if (at != NULL)
			return ox_fail(o, "%s: given both as floats and as "
			    "a tensor", name);
		cnt = a->n_floats;
		if ((*out = calloc(cnt + 1, sizeof(**out))) == NULL)
			return ox_fail(o, "%s: out of memory", name);
		for (i = 0; i < cnt; i++)
			(*out)[i] = (double)a->floats[i];
		*n = cnt;
		return 0;
	}
	if (at == NULL && strcmp(name, "nodes_splits") != 0 &&
	    strcmp(name, "leaf_weights") != 0)
		return 0;
	if (at == NULL)
		at = a;
	if (at == NULL)
		return 0;
	if ((t = at->t) == NULL)
		return ox_fail(o, "%s: expected a tensor", at->name);
	dt = t->has_data_type ? t->data_type : 0;
	if (dt != OX_FLOAT && dt != OX_DOUBLE)
		return ox_fail(o, "%s: tensor of data type %d; expected "
		    "float (1) or double (11)", at->name, dt);
	if (t->has_raw_data) {
		raw = dt == OX_FLOAT ? 4 : 8;
		cnt = t->raw_data.len / raw;
		if (t->raw_data.len % raw != 0)
			return ox_fail(o, "%s: raw_data of %zu bytes is not "
			    "a whole number of values", at->name,
			    t->raw_data.len);
	} else
		cnt = dt == OX_FLOAT ? t->n_float_data : t->n_double_data;
	if ((*out = calloc(cnt + 1, sizeof(**out))) == NULL)
		return ox_fail(o, "%s: out of memory", at->name);
	for (i = 0; i < cnt; i++) {
		if (raw == 4) {
			float	 f;

			memcpy(&f, t->raw_data.data + 4 * i, 4);
			(*out)[i] = (double)f;
		} else if (raw == 8)
			memcpy(&(*out)[i], t->raw_data.data + 8 * i, 8);
		else
			(*out)[i] = dt == OX_FLOAT ? (double)t->float_data[i] :
			    t->double_data[i];
	}
	*n = cnt;
	return 0;
}

/* Check that attribute name has n entries (got has). */
static int
ox_count(struct ox *o, const char *name, size_t has, size_t n)
{
	if (has != n)
		return ox_fail(o, "%s: %zu entries, but %s (the node count) "
		    "is %zu", name, has, "nodes_modes", n);
	return 0;
}

/* Node mode from its name (opsets 1, 3). */
static int
ox_mode_name(const ProtobufCBinaryData *s, enum ox_mode *m)
{
	size_t	 k;

	for (k = 0; k < sizeof(ox_modes) / sizeof(ox_modes[0]); k++)
		if (s->len == strlen(ox_modes[k]) &&
		    memcmp(s->data, ox_modes[k], s->len) == 0) {
			*m = (enum ox_mode)k;
			return 0;
		}
	return -1;
}

/* A node's (tree, id) and its index, sorted to find nodes by id. */
struct ox_key {
	long long	 tree;
	long long	 id;
	size_t		 i;
};

static int
ox_cmp_key(const void *a, const void *b)
{
	const struct ox_key	*x = a, *y = b;

	if (x->tree != y->tree)
		return x->tree < y->tree ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return 0;
}

/* Find node (tree, id) in the n sorted keys; n on a miss. */
static size_t
ox_find(const struct ox_key *key, size_t n, long long tree, long long id)
{
	struct ox_key	 k = { tree, id, 0 };
	const struct ox_key *f;

	f = bsearch(&k, key, n, sizeof(*key), ox_cmp_key);
	return f != NULL ? f->i : n;
}

/*
 * Read a TreeEnsembleRegressor or TreeEnsembleClassifier's nodes and
 * weights (opsets 1 and 3).  Trees are the runs of equal nodes_treeids,
 * in file order, each rooted at its first node, as ONNX Runtime reads
 * them.
 */
static int
ox_read_v1(struct ox *o, const Onnx__NodeProto *nd, int cls)
{
	const Onnx__AttributeProto	*modes;
	const int64_t	*treeids, *nodeids, *featids, *tids, *fids, *mtt;
	const int64_t	*wgroup, *wnode, *wtree;
	const char	*pfx = cls ? "class" : "target";
	char		 an[64];
	double		*vals = NULL, *wv = NULL;
	struct ox_key	*idx = NULL;
	size_t		 n, k, c, i, nwn, nwt;
	long long	 prev = 0;
	int		 ret = -1;

	modes = ox_attr(nd, "nodes_modes");
	if (modes == NULL || modes->n_strings == 0)
		return ox_fail(o, "nodes_modes: missing (the ensemble has no "
		    "nodes)");
	n = modes->n_strings;
	o->n = n;
	treeids = ox_ints(nd, "nodes_treeids", &c);
	if (ox_count(o, "nodes_treeids", c, n) == -1)
		return -1;
	nodeids = ox_ints(nd, "nodes_nodeids", &c);
	if (ox_count(o, "nodes_nodeids", c, n) == -1)
		return -1;
	featids = ox_ints(nd, "nodes_featureids", &c);
	if (ox_count(o, "nodes_featureids", c, n) == -1)
		return -1;
	tids = ox_ints(nd, "nodes_truenodeids", &c);
	if (ox_count(o, "nodes_truenodeids", c, n) == -1)
		return -1;
	fids = ox_ints(nd, "nodes_falsenodeids", &c);
	if (ox_count(o, "nodes_falsenodeids", c, n) == -1)
		return -1;
	mtt = ox_ints(nd, "nodes_missing_value_tracks_true", &c);
	if (mtt != NULL && ox_count(o, "nodes_missing_value_tracks_true", c,
	    n) == -1)
		return -1;
	if (ox_reals(o, nd, "nodes_values", &vals, &c) == -1)
		return -1;
	if (ox_count(o, "nodes_values", c, n) == -1)
		goto out;
	if ((o->nodes = calloc(n, sizeof(*o->nodes))) == NULL ||
	    (idx = calloc(n, sizeof(*idx))) == NULL ||
	    (o->roots = calloc(n, sizeof(*o->roots))) == NULL) {
		ox_fail(o, "nodes_modes: out of memory for %zu nodes", n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct ox_node	*x = &o->nodes[i];

		if (ox_mode_name(&modes->strings[i], &x->mode) == -1 ||
		    x->mode == OX_MEMBER) {
			ox_fail(o, "nodes_modes[%zu]: unknown mode \"%.*s\" "
			    "(expected BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, "
			    "BRANCH_GT, BRANCH_EQ, BRANCH_NEQ or LEAF)", i,
			    (int)(modes->strings[i].len > 32 ? 32 :
			    modes->strings[i].len),
			    (const char *)modes->strings[i].data);
			goto out;
		}
		x->tree = treeids[i];
		x->id = nodeids[i];
		x->feat = featids[i];
		x->value = vals[i];
		x->tid = tids[i];
		x->fid = fids[i];
		x->mtt = mtt != NULL && mtt[i] != 0;
		idx[i] = (struct ox_key){ x->tree, x->id, i };
		if (i == 0 || x->tree != prev)
			o->roots[o->ntrees++] = i;
		prev = x->tree;
	}
	qsort(idx, n, sizeof(*idx), ox_cmp_key);
	for (i = 1; i < n; i++)
		if (ox_cmp_key(&idx[i - 1], &idx[i]) == 0) {
			ox_fail(o, "nodes_nodeids[%zu]: node %lld of tree %lld "
			    "is given twice", idx[i].i > idx[i - 1].i ?
			    idx[i].i : idx[i - 1].i, idx[i].id, idx[i].tree);
			goto out;
		}
	/* a tree's nodes are one run: a tree id seen again later would be
	 * a second tree for ONNX Runtime */
	for (k = 1; k < o->ntrees; k++)
		for (i = 0; i < k; i++)
			if (o->nodes[o->roots[i]].tree ==
			    o->nodes[o->roots[k]].tree) {
				ox_fail(o, "nodes_treeids[%zu]: the nodes of "
				    "tree %lld are not listed together",
				    o->roots[k], o->nodes[o->roots[k]].tree);
				goto out;
			}
	for (i = 0; i < n; i++) {
		struct ox_node	*x = &o->nodes[i];

		if (x->mode == OX_LEAF)
			continue;
		x->t = ox_find(idx, n, x->tree, x->tid);
		x->f = ox_find(idx, n, x->tree, x->fid);
		if (x->t == n || x->f == n) {
			ox_fail(o, "nodes_%snodeids[%zu]: node %lld of tree "
			    "%lld does not exist", x->t == n ? "true" :
			    "false", i, x->t == n ? x->tid : x->fid,
			    x->tree);
			goto out;
		}
	}
	/* the weights */
	snprintf(an, sizeof(an), "%s_ids", pfx);
	wgroup = ox_ints(nd, an, &o->nw);
	snprintf(an, sizeof(an), "%s_nodeids", pfx);
	wnode = ox_ints(nd, an, &nwn);
	snprintf(an, sizeof(an), "%s_treeids", pfx);
	wtree = ox_ints(nd, an, &nwt);
	snprintf(an, sizeof(an), "%s_weights", pfx);
	if (ox_reals(o, nd, an, &wv, &c) == -1)
		goto out;
	if (nwn != o->nw || nwt != o->nw || c != o->nw) {
		ox_fail(o, "%s_ids, %s_nodeids, %s_treeids and %s_weights: "
		    "%zu, %zu, %zu and %zu entries (must be equal)", pfx, pfx,
		    pfx, pfx, o->nw, nwn, nwt, c);
		goto out;
	}
	if (o->nw == 0) {
		ox_fail(o, "%s_weights: no leaf weights", pfx);
		goto out;
	}
	if ((o->w = calloc(o->nw, sizeof(*o->w))) == NULL) {
		ox_fail(o, "%s_weights: out of memory", pfx);
		goto out;
	}
	for (i = 0; i < o->nw; i++) {
		size_t	 at = ox_find(idx, n, wtree[i], wnode[i]);

		if (at == n) {
			ox_fail(o, "%s_nodeids[%zu]: node %lld of tree %lld "
			    "does not exist", pfx, i, (long long)wnode[i],
			    (long long)wtree[i]);
			goto out;
		}
		if (o->nodes[at].mode != OX_LEAF) {
			ox_fail(o, "%s_nodeids[%zu]: node %lld of tree %lld "
			    "is a %s, not a LEAF", pfx, i, (long long)wnode[i],
			    (long long)wtree[i], ox_modes[o->nodes[at].mode]);
			goto out;
		}
		if (wgroup[i] < 0 || (unsigned long long)wgroup[i] >=
		    o->ngroups) {
			ox_fail(o, "%s_ids[%zu]: %lld out of range (%zu %s)",
			    pfx, i, (long long)wgroup[i], o->ngroups,
			    cls ? "class labels" : "targets (n_targets)");
			goto out;
		}
		o->w[i].node = at;
		o->w[i].group = (size_t)wgroup[i];
		o->w[i].w = (float)wv[i];
		o->w[i].order = i;
	}
	ret = 0;
out:
	free(vals);
	free(wv);
	free(idx);
	return ret;
}

/*
 * Read an opset-5 TreeEnsemble's interior nodes and leaves into the
 * generic form: interior node i stays i, leaf j becomes node nint + j.
 */
static int
ox_read_v5(struct ox *o, const Onnx__NodeProto *nd)
{
	const Onnx__AttributeProto	*ma;
	const Onnx__TensorProto		*mt;
	const int64_t	*featids, *tids, *fids, *tleaf, *fleaf, *mtt, *roots;
	const int64_t	*ltarget;
	double		*splits = NULL, *lw = NULL;
	size_t		 nint, nleaf, c, i, nroots;
	int		 ret = -1;

	ma = ox_attr(nd, "nodes_modes");
	if (ma == NULL || (mt = ma->t) == NULL)
		return ox_fail(o, "nodes_modes: missing (a uint8 tensor)");
	nint = mt->has_raw_data ? mt->raw_data.len : mt->n_int32_data;
	if (nint == 0)
		return ox_fail(o, "nodes_modes: the ensemble has no nodes");
	featids = ox_ints(nd, "nodes_featureids", &c);
	if (ox_count(o, "nodes_featureids", c, nint) == -1)
		return -1;
	tids = ox_ints(nd, "nodes_truenodeids", &c);
	if (ox_count(o, "nodes_truenodeids", c, nint) == -1)
		return -1;
	fids = ox_ints(nd, "nodes_falsenodeids", &c);
	if (ox_count(o, "nodes_falsenodeids", c, nint) == -1)
		return -1;
	tleaf = ox_ints(nd, "nodes_trueleafs", &c);
	if (ox_count(o, "nodes_trueleafs", c, nint) == -1)
		return -1;
	fleaf = ox_ints(nd, "nodes_falseleafs", &c);
	if (ox_count(o, "nodes_falseleafs", c, nint) == -1)
		return -1;
	mtt = ox_ints(nd, "nodes_missing_value_tracks_true", &c);
	if (mtt != NULL && ox_count(o, "nodes_missing_value_tracks_true", c,
	    nint) == -1)
		return -1;
	roots = ox_ints(nd, "tree_roots", &nroots);
	if (nroots == 0)
		return ox_fail(o, "tree_roots: no trees");
	ltarget = ox_ints(nd, "leaf_targetids", &nleaf);
	if (ox_reals(o, nd, "nodes_splits", &splits, &c) == -1)
		goto out;
	if (ox_count(o, "nodes_splits", c, nint) == -1)
		goto out;
	if (ox_reals(o, nd, "leaf_weights", &lw, &c) == -1)
		goto out;
	if (c != nleaf || nleaf == 0) {
		ox_fail(o, "leaf_weights: %zu entries, leaf_targetids %zu "
		    "(must be equal, and not 0)", c, nleaf);
		goto out;
	}
	o->n = nint + nleaf;
	o->nw = nleaf;
	if ((o->nodes = calloc(o->n, sizeof(*o->nodes))) == NULL ||
	    (o->roots = calloc(nroots, sizeof(*o->roots))) == NULL ||
	    (o->w = calloc(nleaf, sizeof(*o->w))) == NULL) {
		ox_fail(o, "nodes_modes: out of memory for %zu nodes", o->n);
		goto out;
	}
	for (i = 0; i < nint; i++) {
		struct ox_node	*x = &o->nodes[i];
		unsigned	 m = mt->has_raw_data ? mt->raw_data.data[i] :
				    (unsigned)mt->int32_data[i];

		if (m > OX_NEQ) {
			ox_fail(o, "nodes_modes[%zu]: mode %u %s", i, m,
			    m == OX_MEMBER ? "(BRANCH_MEMBER) is not served" :
			    "is unknown (expected 0 to 5)");
			goto out;
		}
		x->mode = (enum ox_mode)m;
		x->feat = featids[i];
		x->value = splits[i];
		x->mtt = mtt != NULL && mtt[i] != 0;
		x->tid = tids[i];
		x->fid = fids[i];
		x->id = (long long)i;
		if (tids[i] < 0 || (tleaf[i] ? (unsigned long long)tids[i] >=
		    nleaf : (unsigned long long)tids[i] >= nint) ||
		    fids[i] < 0 || (fleaf[i] ? (unsigned long long)fids[i] >=
		    nleaf : (unsigned long long)fids[i] >= nint)) {
			ox_fail(o, "nodes_%snodeids[%zu]: %s %lld out of range "
			    "(%zu %s)", tids[i] < 0 || (tleaf[i] ?
			    (unsigned long long)tids[i] >= nleaf :
			    (unsigned long long)tids[i] >= nint) ? "true" :
			    "false", i, "index", (long long)(tids[i] < 0 ||
			    (tleaf[i] ? (unsigned long long)tids[i] >= nleaf :
			    (unsigned long long)tids[i] >= nint) ? tids[i] :
			    fids[i]), tleaf[i] ? nleaf : nint,
			    tleaf[i] ? "leaves" : "nodes");
			goto out;
		}
		x->t = tleaf[i] ? nint + (size_t)tids[i] : (size_t)tids[i];
		x->f = fleaf[i] ? nint + (size_t)fids[i] : (size_t)fids[i];
		/* a one-leaf tree: both branches name the same leaf, whose
		 * weight this node takes (w0 holds the leaf meanwhile) */
		if (x->t == x->f && tleaf[i] && fleaf[i]) {
			x->mode = OX_LEAF;
			x->w0 = x->t;
		}
	}
	for (i = 0; i < nleaf; i++) {
		struct ox_node	*x = &o->nodes[nint + i];

		x->mode = OX_LEAF;
		x->id = (long long)(nint + i);
		if (ltarget[i] < 0 || (unsigned long long)ltarget[i] >=
		    o->ngroups) {
			ox_fail(o, "leaf_targetids[%zu]: %lld out of range "
			    "(n_targets is %zu)", i, (long long)ltarget[i],
			    o->ngroups);
			goto out;
		}
		o->w[i].node = nint + i;
		o->w[i].group = (size_t)ltarget[i];
		o->w[i].w = (float)lw[i];
		o->w[i].order = i;
	}
	/* one-leaf trees: weigh the interior node as the leaf */
	for (i = 0; i < nint; i++)
		if (o->nodes[i].mode == OX_LEAF) {
			size_t	 leaf = o->nodes[i].w0;

			o->nodes[i].w0 = 0;
			/* a second weight record for this node */
			o->w[leaf - nint].node = i;
		}
	for (i = 0; i < nroots; i++) {
		if (roots[i] < 0 || (unsigned long long)roots[i] >= nint) {
			ox_fail(o, "tree_roots[%zu]: node %lld out of range "
			    "(%zu nodes)", i, (long long)roots[i], nint);
			goto out;
		}
		o->roots[i] = (size_t)roots[i];
	}
	o->ntrees = nroots;
	ret = 0;
out:
	free(splits);
	free(lw);
	return ret;
}

/* Whether the evaluator's left child of a split of mode m is its true
 * branch (the walk queues the left child first). */
static int
ox_true_left(enum ox_mode m)
{
	return m == OX_LT || m == OX_LEQ || m == OX_NEQ;
}

/* Order weights by node, then file order. */
static int
ox_cmp_weight(const void *a, const void *b)
{
	const struct ox_weight	*x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Walk every tree from its root, breadth-first: every child in range was
 * checked when read; here no node may be reached twice (a cycle, a shared
 * subtree or a node of two trees), every split feature must be below the
 * feature count, and no tree may be deeper than max_tree_depth.
 */
static int
ox_walk(struct ox *o)
{
	size_t		 k, head, tail = 0, i, c, ch[2], maxf = 0;
	uint32_t	*depth = NULL;
	unsigned char	*seen = NULL;
	int		 ret = -1, j;

	qsort(o->w, o->nw, sizeof(*o->w), ox_cmp_weight);
	for (i = 0; i < o->nw; i++) {
		if (i == 0 || o->w[i].node != o->w[i - 1].node)
			o->nodes[o->w[i].node].w0 = i;
		o->nodes[o->w[i].node].wn++;
	}

	if ((o->order = calloc(o->n, sizeof(*o->order))) == NULL ||
	    (o->pos = calloc(o->n, sizeof(*o->pos))) == NULL ||
	    (o->tbeg = calloc(o->ntrees, sizeof(*o->tbeg))) == NULL ||
	    (o->tlen = calloc(o->ntrees, sizeof(*o->tlen))) == NULL ||
	    (o->tdepth = calloc(o->ntrees, sizeof(*o->tdepth))) == NULL ||
	    (depth = calloc(o->n, sizeof(*depth))) == NULL ||
	    (seen = calloc(o->n, 1)) == NULL) {
		ox_fail(o, "nodes_modes: out of memory");
		goto out;
	}
	for (k = 0; k < o->ntrees; k++) {
		o->tbeg[k] = tail;
		if (seen[o->roots[k]]) {
			ox_fail(o, "tree %zu: its root (node %lld) is reached "
			    "from another tree", k, o->nodes[o->roots[k]].id);
			goto out;
		}
		seen[o->roots[k]] = 1;
		depth[o->roots[k]] = 0;
		o->order[tail++] = o->roots[k];
		for (head = o->tbeg[k]; head < tail; head++) {
			struct ox_node	*x = &o->nodes[o->order[head]];

			o->pos[o->order[head]] = (uint32_t)(head - o->tbeg[k]);
			if (depth[o->order[head]] > o->tdepth[k])
				o->tdepth[k] = depth[o->order[head]];
			if (o->tdepth[k] > o->e->lim->max_depth) {
				ox_fail(o, "tree %zu (id %lld): deeper than %u "
				    "levels (max_tree_depth)", k,
				    o->nodes[o->roots[k]].tree,
				    o->e->lim->max_depth);
				goto out;
			}
			if (x->mode == OX_LEAF)
				continue;
			if (x->feat < 0 || (o->nfeatures > 0 &&
			    (unsigned long long)x->feat >= o->nfeatures) ||
			    (unsigned long long)x->feat >= MODEL_MAX_FEATURES) {
				ox_fail(o, "nodes_featureids[%zu]: feature "
				    "%lld out of range (%s %zu)",
				    o->order[head], x->feat, o->nfeatures > 0 ?
				    "the input has" : "limit", o->nfeatures > 0 ?
				    o->nfeatures : MODEL_MAX_FEATURES);
				goto out;
			}
			if ((size_t)x->feat + 1 > maxf)
				maxf = (size_t)x->feat + 1;
			ch[0] = ox_true_left(x->mode) ? x->t : x->f;
			ch[1] = ox_true_left(x->mode) ? x->f : x->t;
			for (j = 0; j < 2; j++) {
				c = ch[j];
				if (seen[c]) {
					ox_fail(o, "nodes_%snodeids[%zu]: node "
					    "%lld is reached twice (a cycle "
					    "or a shared subtree)", c == x->t ?
					    "true" : "false", o->order[head],
					    o->nodes[c].id);
					goto out;
				}
				seen[c] = 1;
				depth[c] = depth[o->order[head]] + 1;
				o->order[tail++] = c;
			}
		}
		o->tlen[k] = tail - o->tbeg[k];
	}
	if (o->nfeatures == 0)
		o->nfeatures = maxf > 0 ? maxf : 1;
	/* weights on nodes no tree reaches are ignored, as the nodes */
	for (i = 0; i < o->nw; i++)
		if (!seen[o->w[i].node])
			o->w[i].group = SIZE_MAX;
	ret = 0;
out:
	free(depth);
	free(seen);
	return ret;
}

/* The smallest float >= t, and the largest float <= t (t not NaN). */
static float
ox_up(double t)
{
	float	 c = (float)t;

	return (double)c < t ? nextafterf(c, INFINITY) : c;
}

static float
ox_down(double t)
{
	float	 c = (float)t;

	return (double)c > t ? nextafterf(c, -INFINITY) : c;
}

/*
 * Make split x the evaluator's node nd (see model_impl.h: v >= cond goes
 * right, a NaN goes right unless default-left).  Set *true_left when the
 * true branch is the left child.  Thresholds are compared exactly with the
 * float value, whether they are floats or doubles.
 */
static int
ox_split(struct model *m, const struct ox_node *x, struct model_node *nd,
    int *true_left)
{
	double		 t = x->value;
	float		 f;
	uint32_t	*set, bits;
	size_t		 cap;

	nd->feat = (uint32_t)x->feat;
	switch (x->mode) {
	case OX_LT:		/* v < t: true left */
		*true_left = 1;
		nd->cond = isnan(t) ? -INFINITY : ox_up(t);
		break;
	case OX_LEQ:		/* v <= t: v < next float after down(t) */
		*true_left = 1;
		f = isnan(t) ? -INFINITY : ox_down(t);
		nd->cond = isnan(t) ? -INFINITY : f == INFINITY ? NAN :
		    nextafterf(f, INFINITY);
		break;
	case OX_GTE:		/* v >= t: true right */
		*true_left = 0;
		nd->cond = isnan(t) ? NAN : ox_up(t);
		break;
	case OX_GT:		/* v > t: v >= next float after down(t) */
		*true_left = 0;
		f = isnan(t) ? NAN : ox_down(t);
		nd->cond = isnan(t) || f == INFINITY ? NAN :
		    nextafterf(f, INFINITY);
		break;
	case OX_EQ:		/* v == t: true right */
	case OX_NEQ:		/* v != t: true left */
		*true_left = x->mode == OX_NEQ;
		f = (double)(float)t == t ? (float)t : NAN;
		memcpy(&bits, &f, sizeof(bits));
		if (m->ncats + 2 > m->catcap) {
			cap = m->catcap * 2 + 64;
			if ((set = realloc(m->cats, cap * sizeof(*set))) ==
			    NULL)
				return -1;
			m->cats = set;
			m->catcap = cap;
		}
		m->cats[m->ncats] = MODEL_CATS_EQUAL;
		m->cats[m->ncats + 1] = bits;
		nd->cats = (uint32_t)m->ncats;
		m->ncats += 2;
		nd->feat |= MODEL_NODE_CATEGORICAL;
		break;
	default:
		return -1;
	}
	/* NaN: NEQ is always true; the others are true when tracked */
	if (x->mode == OX_NEQ ? 1 : (*true_left ? x->mtt : !x->mtt))
		nd->feat |= MODEL_NODE_DEFAULT_LEFT;
	return 0;
}

/* The leaf value of node i for group g: the sum of its weights for g
 * (SUM, AVERAGE; 0 if none) or their extreme (MIN, MAX; NaN if none).
 * Sets *any when i has a weight for g. */
static float
ox_leaf(const struct ox *o, const struct model_onnx *ox, size_t i, size_t g,
    int *any)
{
	const struct ox_node	*x = &o->nodes[i];
	size_t			 k;
	float			 v = 0.0f;
	int			 got = 0, ext = ox->agg == MODEL_AGG_MIN ||
				    ox->agg == MODEL_AGG_MAX;

	for (k = x->w0; k < x->w0 + x->wn; k++) {
		if (o->w[k].group != g)
			continue;
		if (!ext)
			v = got ? v + o->w[k].w : o->w[k].w;
		else if (!got || (ox->agg == MODEL_AGG_MIN ? o->w[k].w < v :
		    o->w[k].w > v))
			v = o->w[k].w;
		got = 1;
	}
	*any = got;
	return got ? v : ext ? NAN : 0.0f;
}

/* Order (group, tree) pairs. */
static int
ox_cmp_pair(const void *a, const void *b)
{
	const size_t	*x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/*
 * Lay the trees out, group by group: tree k goes into group g when one of
 * its leaves weighs g, its nodes in its breadth-first order (siblings
 * adjacent), each leaf a self-loop holding its value for g.  The (group,
 * tree) pairs come from the weights, so there are at most as many as
 * weights whatever the counts of trees and groups.
 */
static int
ox_layout(struct ox *o, struct model *m)
{
	struct model_onnx	*ox = m->onnx;
	size_t			 i, j, p, np = 0, total = 0, base, cap, k, g;
	size_t			*pair = NULL, *tree_of = NULL;
	int			 any, tl, ret = -1;

	if ((pair = calloc(2 * o->nw + 2, sizeof(*pair))) == NULL ||
	    (tree_of = calloc(o->n + 1, sizeof(*tree_of))) == NULL) {
		ox_fail(o, "out of memory for %zu weights", o->nw);
		goto out;
	}
	for (k = 0; k < o->ntrees; k++)
		for (p = 0; p < o->tlen[k]; p++)
			tree_of[o->order[o->tbeg[k] + p]] = k;
	for (i = 0; i < o->nw; i++)
		if (o->w[i].group != SIZE_MAX) {
			pair[2 * np] = o->w[i].group;
			pair[2 * np + 1] = tree_of[o->w[i].node];
			np++;
		}
	qsort(pair, np, 2 * sizeof(*pair), ox_cmp_pair);
	for (i = j = 0; i < np; i++)
		if (i == 0 || ox_cmp_pair(&pair[2 * i], &pair[2 * (j - 1)]) !=
		    0) {
			pair[2 * j] = pair[2 * i];
			pair[2 * j + 1] = pair[2 * i + 1];
			total += o->tlen[pair[2 * j + 1]];
			j++;
		}
	np = j;
	cap = 4 * (o->n + o->nw) + 1024;
	if (total > MODEL_MAX_NODES || total > cap) {
		ox_fail(o, "the ensemble lays out as %zu nodes, each tree once "
		    "per class or target it weighs (limit %zu)", total,
		    total > MODEL_MAX_NODES ? MODEL_MAX_NODES : cap);
		goto out;
	}
	if ((m->nodes = calloc(total + 1, sizeof(*m->nodes))) == NULL ||
	    (m->leaf = calloc(total + 1, sizeof(*m->leaf))) == NULL ||
	    (m->trees = calloc(np + 1, sizeof(*m->trees))) == NULL ||
	    (m->group_end = calloc(o->ngroups, sizeof(*m->group_end))) ==
	    NULL || (ox->has = calloc(o->ngroups, 1)) == NULL) {
		ox_fail(o, "out of memory for %zu nodes", total);
		goto out;
	}
	m->ntrees = 0;
	for (i = 0; i < np; i++) {
		g = pair[2 * i];
		k = pair[2 * i + 1];
		ox->has[g] = 1;
		base = m->nnodes;
		for (p = 0; p < o->tlen[k]; p++) {
			const struct ox_node *x =
			    &o->nodes[o->order[o->tbeg[k] + p]];
			struct model_node *nd = &m->nodes[base + p];

			if (x->mode == OX_LEAF) {
				m->leaf[base + p] = ox_leaf(o, ox,
				    o->order[o->tbeg[k] + p], g, &any);
				nd->cond = NAN;
				nd->feat = MODEL_NODE_DEFAULT_LEFT;
				nd->left = (uint32_t)(base + p);
				continue;
			}
			if (ox_split(m, x, nd, &tl) == -1) {
				ox_fail(o, "out of memory");
				goto out;
			}
			/* the walk queued the left child first */
			nd->left = (uint32_t)(base + o->pos[tl ? x->t : x->f]);
			m->leaf[base + p] = 0.0f;
		}
		m->trees[m->ntrees].root = (uint32_t)base;
		m->trees[m->ntrees].depth = o->tdepth[k];
		m->ntrees++;
		m->nnodes += o->tlen[k];
	}
	/* group_end: the trees of group g end where the next group's
	 * begin */
	for (g = 0, i = 0; g < o->ngroups; g++) {
		while (i < np && pair[2 * i] == g)
			i++;
		m->group_end[g] = i;
	}
	ret = 0;
out:
	free(pair);
	free(tree_of);
	return ret;
}

/* The operators a graph may hold besides its ensemble. */
static const char *const ox_around[] = {
	"ZipMap", "Cast", "Identity", "Softmax", "Sigmoid", "Exp"
};

#define OX_SERVED \
	"inferd serves one TreeEnsembleRegressor, TreeEnsembleClassifier " \
	"or TreeEnsemble with Cast, Identity, ZipMap, Softmax, Sigmoid or " \
	"Exp around it"

/* The node of g that reads value name as its first input, from index
 * from on; g->n_node if none. */
static size_t
ox_consumer(const Onnx__GraphProto *g, const char *name)
{
	size_t	 i;

	for (i = 0; i < g->n_node; i++)
		if (g->node[i]->n_input > 0 && g->node[i]->input[0] != NULL &&
		    strcmp(g->node[i]->input[0], name) == 0)
			return i;
	return g->n_node;
}

/* The node of g that writes value name; g->n_node if none. */
static size_t
ox_producer(const Onnx__GraphProto *g, const char *name)
{
	size_t	 i, j;

	for (i = 0; i < g->n_node; i++)
		for (j = 0; j < g->node[i]->n_output; j++)
			if (g->node[i]->output[j] != NULL &&
			    strcmp(g->node[i]->output[j], name) == 0)
				return i;
	return g->n_node;
}

/* Set o->where to graph.node[i] (its op_type). */
static void
ox_where(struct ox *o, const Onnx__GraphProto *g, size_t i)
{
	snprintf(o->where, sizeof(o->where), "graph.node[%zu] (%.24s)", i,
	    g->node[i]->op_type != NULL ? g->node[i]->op_type : "?");
}

/* A Cast's target type, checked to be a real: 0 or -1. */
static int
ox_cast_real(struct ox *o, const Onnx__NodeProto *nd)
{
	long long	 to = ox_int(nd, "to", 0);

	if (to != OX_FLOAT && to != OX_DOUBLE)
		return ox_fail(o, "to: casts to data type %lld; only float "
		    "(1) and double (11) are served here", to);
	return 0;
}

/*
 * Check the graph around the ensemble (node index ens): every node is a
 * known operator; the ensemble reads the graph's input through Cast or
 * Identity only; on its scores' way out, Softmax and Sigmoid are taken as
 * operators of the model (o->ops) and Cast, Identity and ZipMap pass the
 * scores on.  The input's shape gives the feature count when it has one.
 */
static int
ox_graph(struct ox *o, const Onnx__GraphProto *g, size_t ens,
    struct model_onnx *ox, size_t scores)
{
	const Onnx__NodeProto		*nd;
	const Onnx__ValueInfoProto	*in = NULL;
	const Onnx__TypeProto__Tensor	*tt;
	const char			*cur;
	unsigned char			*on = NULL;
	size_t				 i, j, k, hops;
	int				 ret = -1;

	if ((on = calloc(g->n_node + 1, 1)) == NULL)
		return ox_fail(o, "out of memory");
	on[ens] = 1;
	/* back from the ensemble to the graph's input */
	cur = g->node[ens]->n_input > 0 ? g->node[ens]->input[0] : NULL;
	for (hops = 0; cur != NULL && hops <= g->n_node; hops++) {
		if ((i = ox_producer(g, cur)) == g->n_node)
			break;
		ox_where(o, g, i);
		nd = g->node[i];
		if (strcmp(nd->op_type, "Cast") != 0 &&
		    strcmp(nd->op_type, "Identity") != 0) {
			ox_fail(o, "operator %s before the ensemble is not "
			    "served; " OX_SERVED, nd->op_type);
			goto out;
		}
		if (strcmp(nd->op_type, "Cast") == 0 &&
		    ox_cast_real(o, nd) == -1)
			goto out;
		on[i] = 1;
		cur = nd->n_input > 0 ? nd->input[0] : NULL;
	}
	o->where[0] = '\0';
	for (i = 0; cur != NULL && i < g->n_input; i++)
		if (g->input[i]->name != NULL &&
		    strcmp(g->input[i]->name, cur) == 0)
			in = g->input[i];
	if (in == NULL) {
		model_fail(o->e, "graph: the ensemble's input \"%.64s\" is "
		    "not an input of the graph", cur != NULL ? cur : "");
		goto out;
	}
	if (in->type == NULL || in->type->value_case !=
	    ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
	    (tt = in->type->tensor_type) == NULL) {
		model_fail(o->e, "graph.input \"%.64s\": not a tensor",
		    in->name);
		goto out;
	}
	if (tt->has_elem_type && tt->elem_type != OX_FLOAT &&
	    tt->elem_type != OX_DOUBLE && tt->elem_type != OX_INT64 &&
	    tt->elem_type != 6) {
		model_fail(o->e, "graph.input \"%.64s\": element type %d; "
		    "expected float (1), double (11), int32 (6) or int64 (7)",
		    in->name, (int)tt->elem_type);
		goto out;
	}
	o->double_input = tt->elem_type == OX_DOUBLE;
	if (tt->shape != NULL && tt->shape->n_dim == 2 &&
	    tt->shape->dim[1]->value_case ==
	    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
		if (tt->shape->dim[1]->dim_value <= 0 ||
		    (unsigned long long)tt->shape->dim[1]->dim_value >
		    MODEL_MAX_FEATURES) {
			model_fail(o->e, "graph.input \"%.64s\": %lld features "
			    "(limit %zu)", in->name,
			    (long long)tt->shape->dim[1]->dim_value,
			    MODEL_MAX_FEATURES);
			goto out;
		}
		o->nfeatures = (size_t)tt->shape->dim[1]->dim_value;
	}
	/* forward from the scores */
	cur = g->node[ens]->n_output > scores ? g->node[ens]->output[scores] :
	    NULL;
	for (hops = 0; cur != NULL && hops <= g->n_node; hops++) {
		if ((i = ox_consumer(g, cur)) == g->n_node || on[i])
			break;
		ox_where(o, g, i);
		nd = g->node[i];
		on[i] = 1;
		if (strcmp(nd->op_type, "Sigmoid") == 0 ||
		    strcmp(nd->op_type, "Softmax") == 0 ||
		    strcmp(nd->op_type, "Exp") == 0) {
			if (ox->nops == MODEL_ONNX_MAX_OPS) {
				ox_fail(o, "more than %d operators after the "
				    "ensemble", MODEL_ONNX_MAX_OPS);
				goto out;
			}
			k = (size_t)ox_int(nd, "axis", -1);
			if (nd->op_type[1] == 'o' && (long long)k != -1 &&
			    k != 1) {
				ox_fail(o, "axis: %lld; only the last axis (-1 "
				    "or 1) is served", (long long)k);
				goto out;
			}
			ox->ops[ox->nops++] = nd->op_type[1] == 'o' ?
			    MODEL_OP_SOFTMAX : nd->op_type[0] == 'E' ?
			    MODEL_OP_EXP : MODEL_OP_SIGMOID;
		} else if (strcmp(nd->op_type, "Cast") == 0) {
			if (ox_cast_real(o, nd) == -1)
				goto out;
		} else if (strcmp(nd->op_type, "ZipMap") == 0)
			break;
		else if (strcmp(nd->op_type, "Identity") != 0) {
			ox_fail(o, "operator %s after the ensemble is not "
			    "served; " OX_SERVED, nd->op_type);
			goto out;
		}
		cur = nd->n_output > 0 ? nd->output[0] : NULL;
	}
	/* anything else: a known operator off the ensemble's way (the
	 * label's Cast, a ZipMap) or refused by name */
	for (i = 0; i < g->n_node; i++) {
		if (on[i])
			continue;
		ox_where(o, g, i);
		nd = g->node[i];
		for (j = 0; j < sizeof(ox_around) / sizeof(ox_around[0]); j++)
			if (strcmp(nd->op_type, ox_around[j]) == 0)
				break;
		if (j == sizeof(ox_around) / sizeof(ox_around[0]) ||
		    strcmp(nd->op_type, "Softmax") == 0 ||
		    strcmp(nd->op_type, "Sigmoid") == 0 ||
		    strcmp(nd->op_type, "Exp") == 0) {
			ox_fail(o, "operator %s%s is not served; " OX_SERVED,
			    nd->op_type, j < sizeof(ox_around) /
			    sizeof(ox_around[0]) ? " off the ensemble's scores" :
			    "");
			goto out;
		}
	}
	ret = 0;
out:
	free(on);
	return ret;
}

/* Read post_transform (a name in opsets 1 and 3, a number in 5). */
static int
ox_post(struct ox *o, const Onnx__NodeProto *nd, int v5,
    struct model_onnx *ox)
{
	static const char *const names[] = {
		"NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"
	};
	/* opset 5's numbering: NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO,
	 * PROBIT */
	static const enum model_post v5post[] = { MODEL_POST_NONE,
	    MODEL_POST_SOFTMAX, MODEL_POST_LOGISTIC, MODEL_POST_SOFTMAX_ZERO,
	    MODEL_POST_PROBIT };
	char		 buf[32];
	const char	*s;
	long long	 v;
	size_t		 k;

	if (v5) {
		v = ox_int(nd, "post_transform", 0);
		if (v < 0 || v > 4)
			return ox_fail(o, "post_transform: %lld unknown "
			    "(expected 0 to 4)", v);
		ox->post = v5post[v];
		return 0;
	}
	s = ox_string(nd, "post_transform", "NONE", buf, sizeof(buf));
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strcmp(s, names[k]) == 0) {
			ox->post = (enum model_post)k;
			return 0;
		}
	return ox_fail(o, "post_transform: \"%s\" unknown (expected NONE, "
	    "LOGISTIC, SOFTMAX, SOFTMAX_ZERO or PROBIT)", s);
}

/* Read aggregate_function (a name in opsets 1 and 3, a number in 5). */
static int
ox_agg(struct ox *o, const Onnx__NodeProto *nd, int v5,
    struct model_onnx *ox)
{
	static const char *const names[] = { "SUM", "AVERAGE", "MIN", "MAX" };
	static const enum model_agg v5agg[] = { MODEL_AGG_AVERAGE,
	    MODEL_AGG_SUM, MODEL_AGG_MIN, MODEL_AGG_MAX };
	char		 buf[32];
	const char	*s;
	long long	 v;
	size_t		 k;

	if (v5) {
		v = ox_int(nd, "aggregate_function", 1);
		if (v < 0 || v > 3)
			return ox_fail(o, "aggregate_function: %lld unknown "
			    "(expected 0 to 3)", v);
		ox->agg = v5agg[v];
		return 0;
	}
	s = ox_string(nd, "aggregate_function", "SUM", buf, sizeof(buf));
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strcmp(s, names[k]) == 0) {
			ox->agg = (enum model_agg)k;
			return 0;
		}
	return ox_fail(o, "aggregate_function: \"%s\" unknown (expected SUM, "
	    "AVERAGE, MIN or MAX)", s);
}

/* A classifier's labels (int64s or strings) into ox->labels; sets
 * o->ngroups. */
static int
ox_labels(struct ox *o, const Onnx__NodeProto *nd, struct model_onnx *ox)
{
	const Onnx__AttributeProto	*ai, *as;
	size_t				 n, k, len;
	char				 buf[32];

	ai = ox_attr(nd, "classlabels_int64s");
	as = ox_attr(nd, "classlabels_strings");
	n = ai != NULL ? ai->n_ints : 0;
	if (n == 0)
		n = as != NULL ? as->n_strings : 0;
	ox->labels_int = ai != NULL && ai->n_ints > 0;
	if (n < 2)
		return ox_fail(o, "classlabels_int64s, classlabels_strings: "
		    "%zu class labels (a classifier needs 2 or more)", n);
	if (n > MODEL_MAX_GROUPS)
		return ox_fail(o, "classlabels: %zu classes (limit %zu)", n,
		    MODEL_MAX_GROUPS);
	if ((ox->labels = calloc(n + 1, sizeof(*ox->labels))) == NULL)
		return ox_fail(o, "classlabels: out of memory");
	for (k = 0; k < n; k++) {
		if (ox->labels_int) {
			snprintf(buf, sizeof(buf), "%lld",
			    (long long)ai->ints[k]);
			ox->labels[k] = strdup(buf);
		} else {
			len = as->strings[k].len;
			if ((ox->labels[k] = malloc(len + 1)) != NULL) {
				if (len > 0)
					memcpy(ox->labels[k],
					    as->strings[k].data, len);
				ox->labels[k][len] = '\0';
				if (strlen(ox->labels[k]) != len) {
					ox_fail(o, "classlabels_strings[%zu]: "
					    "holds a NUL byte", k);
					return -1;
				}
			}
		}
		if (ox->labels[k] == NULL)
			return ox_fail(o, "classlabels: out of memory");
	}
	o->ngroups = n;
	return 0;
}

/* base_values (or base_values_as_tensor) into ox->base. */
static int
ox_base(struct ox *o, const Onnx__NodeProto *nd, struct model_onnx *ox)
{
	double	*b = NULL;
	size_t	 n, k;

	if (ox_reals(o, nd, "base_values", &b, &n) == -1)
		return -1;
	if (n != 0 && n != o->ngroups && !(n == 1 && o->ngroups <= 2)) {
		free(b);
		return ox_fail(o, "base_values: %zu values for %zu %s", n,
		    o->ngroups, ox->classifier ? "classes" : "targets");
	}
	if (n > 0 && (ox->base = calloc(n, sizeof(*ox->base))) == NULL) {
		free(b);
		return ox_fail(o, "base_values: out of memory");
	}
	for (k = 0; k < n; k++)
		ox->base[k] = (float)b[k];
	ox->nbase = n;
	free(b);
	return 0;
}

static const struct model_objective ox_objs[] = {
	{ "TreeEnsembleRegressor", MODEL_IDENTITY, MODEL_BASE_IDENTITY, 0,
	    NULL },
	{ "TreeEnsembleClassifier", MODEL_IDENTITY, MODEL_BASE_IDENTITY, 1,
	    NULL },
	{ "TreeEnsemble", MODEL_IDENTITY, MODEL_BASE_IDENTITY, 0, NULL },
};

/* Whether buf looks like an ONNX ModelProto; see model_onnx.h. */
int
model_onnx_sniff(const void *buf, size_t len)
{
	const unsigned char	*p = buf;

	/* ir_version (field 1, varint) first, as every writer puts it,
	 * then another field of ModelProto */
	return len >= 4 && p[0] == 0x08 && p[1] >= 1 && p[1] < 0x80 &&
	    (p[2] == 0x12 || p[2] == 0x1a || p[2] == 0x22 || p[2] == 0x28 ||
	    p[2] == 0x32 || p[2] == 0x3a || p[2] == 0x42);
}

/* Fill m from an ONNX ModelProto's bytes; see model_impl.h. */
int
model_onnx_build(struct model *m, const void *buf, size_t len,
    struct model_err *e)
{
	struct ox		 o;
	Onnx__ModelProto	*mp;
	const Onnx__GraphProto	*g;
	const Onnx__NodeProto	*nd;
	struct model_onnx	*ox;
	size_t			 i, ens = SIZE_MAX, k;
	long long		 ml = 0, nt;
	int			 kind = -1, ret = -1;

	memset(&o, 0, sizeof(o));
	o.e = e;
	if ((mp = onnx__model_proto__unpack(NULL, len, buf)) == NULL)
		return model_fail(e, "not a valid ONNX model (the protobuf "
		    "ModelProto does not parse: truncated or corrupt)");
	if ((m->onnx = ox = calloc(1, sizeof(*ox))) == NULL) {
		model_fail(e, "out of memory");
		goto out;
	}
	if ((g = mp->graph) == NULL || g->n_node == 0) {
		model_fail(e, "graph: the ONNX model has no graph nodes");
		goto out;
	}
	for (i = 0; i < mp->n_opset_import; i++)
		if (mp->opset_import[i]->domain != NULL &&
		    strcmp(mp->opset_import[i]->domain, "ai.onnx.ml") == 0)
			ml = mp->opset_import[i]->version;
	for (i = 0; i < g->n_node; i++) {
		nd = g->node[i];
		if (nd->op_type == NULL) {
			model_fail(e, "graph.node[%zu]: no op_type", i);
			goto out;
		}
		for (k = 0; k < sizeof(ox_objs) / sizeof(ox_objs[0]); k++)
			if (strcmp(nd->op_type, ox_objs[k].name) == 0)
				break;
		if (k == sizeof(ox_objs) / sizeof(ox_objs[0]))
			continue;
		if (ens != SIZE_MAX) {
			model_fail(e, "graph.node[%zu] (%s): a second tree "
			    "ensemble (the first is graph.node[%zu]); "
			    OX_SERVED, i, nd->op_type, ens);
			goto out;
		}
		ens = i;
		kind = (int)k;
	}
	if (ens == SIZE_MAX) {
		for (i = 0; i < g->n_node; i++) {
			for (k = 0; k < sizeof(ox_around) /
			    sizeof(ox_around[0]); k++)
				if (strcmp(g->node[i]->op_type,
				    ox_around[k]) == 0)
					break;
			if (k == sizeof(ox_around) / sizeof(ox_around[0]))
				break;
		}
		if (i < g->n_node)
			model_fail(e, "graph.node[%zu]: operator %.64s is not "
			    "served (the graph has no tree ensemble); "
			    OX_SERVED, i, g->node[i]->op_type);
		else
			model_fail(e, "graph: no tree ensemble; " OX_SERVED);
		goto out;
	}
	nd = g->node[ens];
	ox_where(&o, g, ens);
	o.op = nd->op_type;
	ox->op_name = ox_objs[kind].name;
	if (nd->domain == NULL || strcmp(nd->domain, "ai.onnx.ml") != 0) {
		ox_fail(&o, "domain: \"%s\"; the tree ensembles are in "
		    "ai.onnx.ml", nd->domain != NULL ? nd->domain : "");
		goto out;
	}
	if (ml < 1 || (kind == 2 && ml < 5)) {
		ox_fail(&o, "the model imports ai.onnx.ml opset %lld, which "
		    "has no %s", ml, nd->op_type);
		goto out;
	}
	ox->classifier = kind == 1;
	if (ox->classifier) {
		if (ox_labels(&o, nd, ox) == -1)
			goto out;
	} else {
		nt = ox_int(nd, "n_targets", kind == 2 ? -1 : 1);
		if (nt < 1 || (unsigned long long)nt > MODEL_MAX_GROUPS) {
			ox_fail(&o, "n_targets: %lld (expected 1 to %zu)", nt,
			    MODEL_MAX_GROUPS);
			goto out;
		}
		o.ngroups = (size_t)nt;
		if (ox_agg(&o, nd, kind == 2, ox) == -1)
			goto out;
	}
	if (ox_post(&o, nd, kind == 2, ox) == -1 ||
	    (kind != 2 && ox_base(&o, nd, ox) == -1))
		goto out;
	if ((kind == 2 ? ox_read_v5(&o, nd) :
	    ox_read_v1(&o, nd, ox->classifier)) == -1)
		goto out;
	if (ox_graph(&o, g, ens, ox, ox->classifier ? 1 : 0) == -1)
		goto out;
	ox_where(&o, g, ens);
	if (ox_walk(&o) == -1 || ox_layout(&o, m) == -1)
		goto out;
	/* the binary case (ONNX Runtime's binary_case_), all weights
	 * positive */
	ox->all_positive = 1;
	for (i = 0; i < o.nw; i++)
		if (o.w[i].w < 0.0f)
			ox->all_positive = 0;
	for (i = 0, k = 0; i < o.ngroups; i++)
		k += ox->has[i];
	ox->binary_case = ox->classifier && o.ngroups == 2 && k == 1;
	if (ox->classifier && k == 0 && ox->nbase == 0) {
		ox_fail(&o, "class_weights: no class has a weight");
		goto out;
	}
	ox->ntrees = (float)o.ntrees;
	m->obj = &ox_objs[kind];
	m->booster = "onnx";
	m->nfeatures = o.nfeatures;
	m->ngroups = o.ngroups;
	m->noutputs = o.ngroups;
	m->rounds = o.ntrees;
	m->served_rounds = o.ntrees;
	if ((m->base = calloc(m->ngroups, sizeof(*m->base))) == NULL) {
		model_fail(e, "out of memory");
		goto out;
	}
	ret = 0;
out:
	free(o.nodes);
	free(o.w);
	free(o.roots);
	free(o.order);
	free(o.pos);
	free(o.tbeg);
	free(o.tlen);
	free(o.tdepth);
	onnx__model_proto__free_unpacked(mp, NULL);
	return ret;
}
