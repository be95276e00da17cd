/*
 * model: an XGBoost gradient-boosted tree model, loaded from XGBoost's own
 * JSON format (Booster.save_model("m.json")) and evaluated natively.  The
 * interface the daemon uses; behind it, model_load (src/model_load.c)
 * reads and parses the file, model_build.c and model_tree.c check it and
 * lay it out, and src/model.c is the evaluator: model_predict, the
 * accessors and model_free, with neither jansson nor I/O.
 */
#ifndef INFERD_MODEL_H
#define INFERD_MODEL_H

#include <stddef.h>

struct model;

/*
 * Load a model from path.  On failure return NULL and write a one-line
 * message into err (errlen bytes) that names the file and the field at
 * fault, e.g. "model.json: learner.gradient_booster.model.trees[3].
 * left_children[7]: index 99 out of range (tree has 15 nodes)".
 */
struct model	*model_load(const char *path, char *err, size_t errlen);
void		 model_free(struct model *);

/* Number of input features a row must have. */
size_t		 model_nfeatures(const struct model *);
/* Number of outputs per row: 1, or the class count for multi:softprob. */
size_t		 model_noutputs(const struct model *);
/* Number of trees (all output groups together). */
size_t		 model_ntrees(const struct model *);
/* The objective name, e.g. "binary:logistic". */
const char	*model_objective(const struct model *);
/* A name for the model: the file's base name without ".json". */
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
 * Predict nrows rows of model_nfeatures() floats each (row-major, NaN marks
 * a missing value) into out, which holds nrows * model_noutputs() doubles.
 * The result equals XGBoost's Booster.predict (float32 arithmetic as
 * XGBoost does it).  Cannot fail.
 */
void		 model_predict(const struct model *, const float *x, size_t nrows,
		    double *out);

#endif /* INFERD_MODEL_H */
