/*
 * model_build: an XGBoost model document, already parsed into a jansson
 * tree, to a struct model.  Every format goes through here: XGBoost JSON
 * is parsed by jansson, and a UBJSON model decodes into the same jansson
 * tree (modelfmt.h), so the checks and their messages (which name the JSON
 * path at fault) are written once.  Internal to the model's files: the
 * builder's parts share the helpers declared here.
 */
#ifndef INFERD_MODEL_BUILD_H
#define INFERD_MODEL_BUILD_H

#include <stddef.h>

#include <jansson.h>

struct model;
struct model_err;

/* Where a gbtree booster's trees are; a dart model's are one level down,
 * and model_fail (model_err.c) names the real path. */
#define MODEL_GBM_PATH		"learner.gradient_booster.model"

/* Fill m (zeroed) from the document root: objective, parameters and every
 * tree, all checked.  0, or -1 with e filled; m is then freed by the
 * caller with model_free. */
int	 model_build(struct model *m, json_t *root, struct model_err *e);

/* model_err.c: member key of obj (at JSON path "path") as an object, or NULL with e
 * filled naming path.key. */
json_t	*model_get_object(struct model_err *e, json_t *obj, const char *path,
	    const char *key);
/* A count XGBoost stores as a decimal string ("30") or an integer into
 * *out; absent: dflt, unless dflt is SIZE_MAX (required).  Above max
 * fails.  0 or -1. */
int	 model_get_count(struct model_err *e, json_t *obj, const char *path,
	    const char *key, size_t dflt, size_t max, size_t *out);

/* model_objective.c: the objective (m->obj), base_score (m->base, after
 * m->ngroups is known) and best_iteration (m->best_rounds). */
int	 model_objective_read(struct model_err *e, struct model *m,
	    json_t *learner);
int	 model_base_read(struct model_err *e, struct model *m, json_t *param);
int	 model_best_read(struct model_err *e, struct model *m,
	    json_t *learner);

/* model_linear.c: the gblinear booster gb into m->linear. */
int	 model_linear_build(struct model_err *e, struct model *m, json_t *gb);

#endif /* INFERD_MODEL_BUILD_H */
