/*
 * model_lgbm: LightGBM's text model (Booster.save_model, "model.txt",
 * versions v2 to v4), read into the LightGBM part of struct model and
 * evaluated in double as LightGBM's own predictor does.  Internal to the
 * model's files: model_load.c calls the builder, model.c the evaluator.
 */
#ifndef INFERD_MODEL_LGBM_H
#define INFERD_MODEL_LGBM_H

#include <stddef.h>

struct lgbm;
struct model;
struct model_err;

/* Fill m (zeroed) from the NUL-terminated text buf (len bytes): header,
 * objective, feature names and every tree, all checked.  0, or -1 with e
 * filled naming the line at fault; m is then freed by model_free. */
int	 model_lgbm_build(struct model *m, const char *buf, size_t len,
	    struct model_err *e);
void	 model_lgbm_free(struct lgbm *);

/*
 * Predict nrows rows of m->nfeatures values each, from xd (double) when it
 * is not NULL, else from xf (float32, widened exactly), into out
 * (nrows * m->noutputs).  raw: the sum of the trees, as LightGBM's
 * predict(raw_score=True); else Booster.predict (average_output, then the
 * objective's transform).  No allocation, no check.
 */
void	 model_lgbm_predict(const struct model *m, const float *xf,
	    const double *xd, size_t nrows, double *out, int raw);

#endif /* INFERD_MODEL_LGBM_H */
