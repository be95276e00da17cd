/*
 * model: an XGBoost model (gbtree, dart or gblinear), loaded from XGBoost's
 * own JSON or UBJSON format (Booster.save_model("m.json") or "m.ubj") and
 * evaluated natively.  The interface the daemon uses; behind it, model_load
 * (src/model_load.c)
 * reads and parses the file, model_build.c and model_tree.c check it and
 * lay it out, and src/model.c is the evaluator: model_predict, the
 * accessors and model_free, with neither jansson nor I/O.
 */
#ifndef INFERD_MODEL_H
#define INFERD_MODEL_H

#include <stddef.h>

struct config;
struct model;

/* Which trees a model with early stopping serves (key model_trees). */
enum model_trees {
	MODEL_TREES_ALL,	/* every tree, as Booster.predict */
	MODEL_TREES_BEST	/* up to best_iteration, as scikit-learn's API */
};

/* What a model file may be and which of its trees are served; the
 * configuration keys max_model_bytes, max_tree_depth and model_trees. */
struct model_limits {
	size_t		 max_bytes;	/* largest model file */
	unsigned	 max_depth;	/* deepest tree */
	int		 trees;		/* enum model_trees */
};

/* The limits the configuration's keys max_model_bytes, max_tree_depth and
 * model_trees set. */
struct model_limits model_limits_config(const struct config *);

#define MODEL_DEFAULT_MAX_BYTES	((size_t)1 << 30)	/* 1 GiB */
#define MODEL_DEFAULT_MAX_DEPTH	256

/*
 * Load a model from path.  On failure return NULL and write a one-line
 * message into err (errlen bytes) that names the file and the field at
 * fault, e.g. "model.json: learner.gradient_booster.model.trees[3].
 * left_children[7]: index 99 out of range (tree has 15 nodes)".
 */
struct model	*model_load(const char *path, char *err, size_t errlen);
/* model_load with the given limits; NULL means the defaults. */
struct model	*model_load_limits(const char *path,
		    const struct model_limits *, char *err, size_t errlen);
void		 model_free(struct model *);

/* Number of input features a row must have. */
size_t		 model_nfeatures(const struct model *);
/* Number of outputs per row: 1, the class count for multi:softprob, or the
 * target count of a multi-target model. */
size_t		 model_noutputs(const struct model *);
/* Number of trees (all output groups together). */
size_t		 model_ntrees(const struct model *);
/* The objective name, e.g. "binary:logistic". */
const char	*model_objective(const struct model *);
/* "gbtree", "dart" or "gblinear". */
const char	*model_booster(const struct model *);
/* A name for the model: the file's base name without ".json", ".ubj",
 * ".bin", ".model" or ".bst". */
const char	*model_name(const struct model *);
/* Hex SHA-256 of the model file's bytes (64 chars). */
const char	*model_sha256(const struct model *);

/* The name of feature i (< model_nfeatures) from the model's
 * feature_names, or NULL when the model has none. */
const char	*model_feature_name(const struct model *, size_t i);
/* XGBoost's type of feature i from feature_types ("float", "int", "i",
 * "q", "c"), or NULL when the model has none. */
const char	*model_feature_type(const struct model *, size_t i);
/* Find the feature called name in feature_names: 0 with *i set, or -1
 * (also when the model has no names).  O(log n). */
int		 model_feature_find(const struct model *, const char *name,
		    size_t *i);

/*
 * Early stopping: if the model carries best_iteration and serving up to it
 * differs from serving every round, write one line for the log into note
 * (both counts, what is served and the key that changes it) and return 1;
 * else return 0.
 */
int		 model_trees_note(const struct model *, char *note, size_t len);

/*
 * Predict nrows rows of model_nfeatures() floats each (row-major, NaN marks
 * a missing value) into out, which holds nrows * model_noutputs() doubles.
 * The result equals XGBoost's Booster.predict (float32 arithmetic as
 * XGBoost does it).  Cannot fail.
 */
void		 model_predict(const struct model *, const float *x, size_t nrows,
		    double *out);

#endif /* INFERD_MODEL_H */
