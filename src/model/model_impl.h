/*
 * model_impl: what the model's own files share and nothing else includes.
 * The in-memory model the builders write and the evaluator reads, its
 * limits, and the error sink every stage of loading writes to.
 *
 *	model_load.c	file bytes -> parsed document (format detection)
 *	model_build.c	parsed document -> struct model, every check
 *	model_objective.c objectives, base_score, early stopping
 *	model_linear.c	the gblinear booster
 *	model_cats.c	a tree's categorical splits, read and checked
 *	model_tree.c	one tree's node arrays -> checked, renumbered nodes
 *	model.c		the evaluator: model_predict and the accessors
 */
#ifndef INFERD_MODEL_IMPL_H
#define INFERD_MODEL_IMPL_H

#include <stddef.h>
#include <stdint.h>

struct model_limits;

/* Limits on what a model file may declare; all are far above real models.
 * Node indices and feature numbers must fit the 31 bits of model_node. */
#define MODEL_MAX_FEATURES	((size_t)1 << 20)
#define MODEL_MAX_GROUPS	((size_t)1 << 16)	/* classes or targets */
#define MODEL_MAX_NODES		((size_t)1 << 30)	/* all trees together */
/* XGBoost's categories are below 2^24 (common::OutOfRangeCat); the bit
 * sets of all categorical nodes together are bounded in 32-bit words. */
#define MODEL_CAT_LIMIT		16777216
#define MODEL_MAX_CAT_WORDS	((size_t)1 << 24)	/* 64 MiB */

#define MODEL_NODE_DEFAULT_LEFT	0x80000000u	/* in model_node.feat */
#define MODEL_NODE_CATEGORICAL	0x40000000u	/* in model_node.feat */
#define MODEL_NODE_FEATURE_MASK	0x3fffffffu

/* Room for the hex SHA-256 of the file and its NUL (libmd's
 * SHA256_DIGEST_STRING_LENGTH). */
#define MODEL_SHA256_HEX_LEN	65

/*
 * One tree node.  A step from node i goes to nodes[left + go_right] with
 *
 *	v = row[feat & MODEL_NODE_FEATURE_MASK]
 *	go_right = (v >= cond) | (!(feat & MODEL_NODE_DEFAULT_LEFT) & isnan(v))
 *
 * which is "v < cond goes left, a missing value goes the default way".  A
 * leaf is a node that steps to itself whatever the row: cond is NaN (so
 * v >= cond is false), it has the default-left flag and left is its own
 * index.  A tree is then walked in exactly `depth' steps with no test for
 * leaves, and its output is leaf[] of the node reached.
 *
 * A categorical split (MODEL_NODE_CATEGORICAL in feat) holds instead of
 * cond the offset in model.cats of its category set: a word count n, then
 * n words of bits.  A value whose category (its integer part) is in the
 * set goes right; anything else but a missing value goes left.
 */
struct model_node {
	union {
		float	 cond;
		uint32_t cats;
	};
	uint32_t	 feat;
	uint32_t	 left;
};

/* Where a tree starts in the node array, and how many steps it takes. */
struct model_tree {
	uint32_t	 root;
	uint32_t	 depth;
};

/* What the evaluator does with a row's margins (PredTransform). */
enum model_transform {
	MODEL_IDENTITY,		/* margin as is */
	MODEL_SIGMOID,		/* 1 / (1 + exp(-margin)) */
	MODEL_EXP,		/* exp(margin) */
	MODEL_HINGE,		/* margin > 0 ? 1 : 0 */
	MODEL_SOFTMAX,		/* per-class probabilities */
	MODEL_ARGMAX		/* index of the largest class margin */
};

/* How base_score, a mean on the output scale, becomes a margin
 * (ProbToMargin). */
enum model_base {
	MODEL_BASE_IDENTITY,
	MODEL_BASE_LOGIT,	/* -log(1/b - 1), b in (0, 1) */
	MODEL_BASE_LOG		/* log(b), b > 0 */
};

/* An objective: its transform, its base_score rule, whether it has one
 * output group per class, and why it is refused (NULL: served). */
struct model_objective {
	const char		*name;
	enum model_transform	 transform;
	enum model_base		 base;
	int			 multiclass;
	const char		*refused;
};

/*
 * A loaded model.  Every index in it has been checked by the builder, so
 * the evaluator checks nothing: children are in range, every node is
 * reached once from its root, split features are below nfeatures, and
 * trees[] holds the trees of group g at group_end[g-1] .. group_end[g].
 * A dart model's tree weights are multiplied into its leaves at load (the
 * float product XGBoost makes at prediction).  A gblinear model has no
 * trees but linear[]: weight of feature i for group g at i * ngroups + g,
 * the bias of group g at nfeatures * ngroups + g.
 */
struct model {
	char			*name;
	char			 sha256[MODEL_SHA256_HEX_LEN];
	const struct model_objective *obj;
	const char		*booster;	/* "gbtree", "dart", "gblinear" */
	size_t			 nfeatures;
	size_t			 ngroups;	/* classes, targets or 1 */
	size_t			 noutputs;
	float			*base;		/* ngroups margins */
	size_t			 ntrees;
	struct model_tree	*trees;		/* by group, then tree order */
	size_t			*group_end;
	struct model_node	*nodes;
	float			*leaf;		/* leaf value of each node */
	size_t			 nnodes;
	uint32_t		*cats;		/* category sets, see model_node */
	size_t			 ncats;		/* words used in cats */
	size_t			 catcap;	/* words allocated */
	float			*linear;	/* gblinear weights, or NULL */
	size_t			 rounds;	/* boosting rounds in the file */
	size_t			 best_rounds;	/* best_iteration + 1, or 0 */
	size_t			 served_rounds;
	int			 trees_mode;	/* enum model_trees */
	/* learner.feature_names and feature_types: nfeatures
	 * strings each, or NULL when the file has none; feature_order is
	 * the feature indices sorted by name, for model_feature_find. */
	char			**feature_names;
	char			**feature_types;
	size_t			*feature_order;
};

/* Where a load is, for error messages: the file and a buffer to fill; and
 * the limits it is held to. */
struct model_err {
	const char			*file;
	char				*buf;
	size_t				 len;
	const struct model_limits	*lim;
	const char			*gbm_path;	/* NULL, or where
				 * "learner.gradient_booster.model" really is
				 * (dart); model_fail substitutes it */
};

/* Write "file: message" into e's buffer (never past its end); return -1.
 * Defined in model_build.c. */
int	 model_fail(struct model_err *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif /* INFERD_MODEL_IMPL_H */
