/*
 * model_linear: XGBoost's gblinear booster.
 *
 * The model is one array, learner.gradient_booster.model.weights, of
 * (num_feature + 1) * groups floats, feature-major: the weight of feature i
 * for group g at i * groups + g and the bias of group g at num_feature *
 * groups + g (XGBoost's src/gbm/gblinear_model.h).  The evaluator
 * (model.c) predicts as gblinear.cc does: bias + base margin, then
 * x * weight added for each present feature, in float.
 */
#include "autoconf.h"

#include <math.h>
#include <stdlib.h>

#include <jansson.h>

#include "inferd/jsonutil.h"
#include "model/model_build.h"
#include "model/model_impl.h"
#include "model/modelfmt.h"

#define MODEL_LINEAR_PATH	"learner.gradient_booster.model.weights"

/* Read the gblinear booster gb into m->linear; see model_build.h. */
int
model_linear_build(struct model_err *e, struct model *m, json_t *gb)
{
	json_t	*gbm, *w, *v;
	size_t	 i, n = (m->nfeatures + 1) * m->ngroups;
	double	 d;

	if ((gbm = model_get_object(e, gb, "learner.gradient_booster",
	    "model")) == NULL)
		return -1;
	w = json_object_get(gbm, "weights");
	if (!json_is_array(w))
		return model_fail(e, MODEL_LINEAR_PATH ": %s", w == NULL ?
		    "missing" : "expected an array");
	if (json_array_size(w) != n)
		return model_fail(e, MODEL_LINEAR_PATH ": %zu entries, but "
		    "(num_feature %zu + 1) x %zu output group%s is %zu",
		    json_array_size(w), m->nfeatures, m->ngroups,
		    m->ngroups == 1 ? "" : "s", n);
	if ((m->linear = calloc(n, sizeof(*m->linear))) == NULL)
		return model_fail(e, "out of memory for %zu weights", n);
	json_array_foreach(w, i, v) {
		if (modelfmt_number(v, &d) == -1)
			return model_fail(e, MODEL_LINEAR_PATH "[%zu]: expected "
			    "a number, got %s", i,
			    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
		m->linear[i] = (float)d;
		if (!isfinite(m->linear[i]))
			return model_fail(e, MODEL_LINEAR_PATH "[%zu]: %g is not "
			    "finite", i, d);
	}
	return 0;
}
