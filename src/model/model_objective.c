/*
 * model_objective: the learner's objective and what it means for
 * prediction, base_score and early stopping.
 *
 * Every objective XGBoost 1.7 to 3.x registers is in model_objectives with
 * the two functions XGBoost's Booster.predict applies: ProbToMargin, which
 * turns the stored base_score (a mean on the output scale) into the
 * starting margin, and PredTransform, which turns the summed margin into
 * the output (src/objective/ in XGBoost, regression_obj.cu,
 * multiclass_obj.cu, rank_obj.cc, survival_obj.cu).  An objective inferd cannot serve is in
 * the table too, with the reason it is refused.
 */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inferd/jsonutil.h"
#include "inferd/model.h"
#include "model/model_build.h"
#include "model/model_impl.h"

#define MODEL_PARAM_PATH	"learner.learner_model_param"

#define ID	MODEL_BASE_IDENTITY
static const struct model_objective model_objectives[] = {
	{ "reg:squarederror",	   MODEL_IDENTITY, ID, 0, NULL },
	{ "reg:linear",		   MODEL_IDENTITY, ID, 0, NULL },
	{ "reg:squaredlogerror",   MODEL_IDENTITY, ID, 0, NULL },
	{ "reg:pseudohubererror",  MODEL_IDENTITY, ID, 0, NULL },
	{ "reg:absoluteerror",	   MODEL_IDENTITY, ID, 0, NULL },
	/* 2.0 and later: one output (target) per quantile_alpha */
	{ "reg:quantileerror",	   MODEL_IDENTITY, ID, 0, NULL },
	{ "reg:logistic",	   MODEL_SIGMOID, MODEL_BASE_LOGIT, 0, NULL },
	{ "binary:logistic",	   MODEL_SIGMOID, MODEL_BASE_LOGIT, 0, NULL },
	/* base_score is a margin since XGBoost 1.3 (XGBoost#6517) */
	{ "binary:logitraw",	   MODEL_IDENTITY, ID, 0, NULL },
	{ "binary:hinge",	   MODEL_HINGE, ID, 0, NULL },
	{ "count:poisson",	   MODEL_EXP, MODEL_BASE_LOG, 0, NULL },
	{ "reg:gamma",		   MODEL_EXP, MODEL_BASE_LOG, 0, NULL },
	{ "reg:tweedie",	   MODEL_EXP, MODEL_BASE_LOG, 0, NULL },
	{ "survival:cox",	   MODEL_EXP, MODEL_BASE_LOG, 0, NULL },
	{ "survival:aft",	   MODEL_EXP, MODEL_BASE_LOG, 0, NULL },
	{ "multi:softprob",	   MODEL_SOFTMAX, ID, 1, NULL },
	{ "multi:softmax",	   MODEL_ARGMAX, ID, 1, NULL },
	/* rankers: the score itself (no PredTransform) */
	{ "rank:pairwise",	   MODEL_IDENTITY, ID, 0, NULL },
	{ "rank:ndcg",		   MODEL_IDENTITY, ID, 0, NULL },
	{ "rank:map",		   MODEL_IDENTITY, ID, 0, NULL },
	/* the oneAPI plugin's copies (1.7, 2.0) */
	{ "reg:squarederror_oneapi", MODEL_IDENTITY, ID, 0, NULL },
	{ "reg:squaredlogerror_oneapi", MODEL_IDENTITY, ID, 0, NULL },
	{ "reg:logistic_oneapi",   MODEL_SIGMOID, MODEL_BASE_LOGIT, 0, NULL },
	{ "binary:logistic_oneapi", MODEL_SIGMOID, MODEL_BASE_LOGIT, 0, NULL },
	{ "binary:logitraw_oneapi", MODEL_IDENTITY, ID, 0, NULL },
	{ "reg:expectileerror",	   MODEL_IDENTITY, ID, 0,
	    "its output is a cumulative softplus over expectile_alpha, only "
	    "in XGBoost's unreleased development version; not implemented" },
};
#undef ID
#define MODEL_NOBJECTIVES \
	(sizeof(model_objectives) / sizeof(model_objectives[0]))

/* Find the learner's objective in model_objectives; refuse an unknown one
 * or one whose entry says why. */
int
model_objective_read(struct model_err *e, struct model *m, json_t *learner)
{
	json_t		*obj, *name;
	const char	*s;
	size_t		 i;

	if ((obj = model_get_object(e, learner, "learner", "objective")) ==
	    NULL)
		return -1;
	name = json_object_get(obj, "name");
	if (!json_is_string(name))
		return model_fail(e, "learner.objective.name: %s", name ==
		    NULL ? "missing" : "expected a string");
	s = json_string_value(name);
	for (i = 0; i < MODEL_NOBJECTIVES; i++)
		if (strcmp(s, model_objectives[i].name) == 0)
			m->obj = &model_objectives[i];
	if (m->obj == NULL)
		return model_fail(e, "learner.objective.name: \"%s\" is not an "
		    "objective of XGBoost 1.7 to 3.x (see doc/models.md)", s);
	if (m->obj->refused != NULL)
		return model_fail(e, "learner.objective.name: objective \"%s\" "
		    "is not supported: %s", s, m->obj->refused);
	return 0;
}

/*
 * Parse base_score: a float as a string ("5E-1", XGBoost 1.x to 3.0), a
 * bracketed list of them ("[5E-1]" or "[1E-1,2E-1]", 3.1 and later) or a
 * JSON number.  Fill up to max values and set *count.
 */
static int
model_parse_base_score(struct model_err *e, json_t *param, float *out,
    size_t max, size_t *count)
{
	const char	*path = MODEL_PARAM_PATH ".base_score";
	json_t		*v = json_object_get(param, "base_score");
	const char	*s, *p;
	char		*end;
	size_t		 n = 0;
	int		 bracket = 0;

	*count = 1;
	if (v == NULL) {
		out[0] = 0.5f;		/* XGBoost's default */
		return 0;
	}
	if (json_is_number(v)) {
		out[0] = (float)json_number_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return model_fail(e, "%s: expected a string, got %s", path,
		    jsonutil_type_name(v, JSONUTIL_INTEGER_REAL));
	s = p = json_string_value(v);
	p += strspn(p, " ");
	if (*p == '[') {
		bracket = 1;
		p++;
	}
	for (;;) {
		p += strspn(p, " ");
		if (n == max)
			return model_fail(e, "%s: \"%s\" has more than %zu "
			    "values", path, s, max);
		errno = 0;
		out[n] = strtof(p, &end);
		if (end == p || errno == ERANGE || !isfinite(out[n]))
			return model_fail(e, "%s: \"%s\" is not a number or "
			    "list of numbers", path, s);
		n++;
		p = end + strspn(end, " ");
		if (*p != ',')
			break;
		if (!bracket)
			return model_fail(e, "%s: \"%s\" is not a number",
			    path, s);
		p++;
	}
	if (bracket && *p++ != ']')
		return model_fail(e, "%s: \"%s\": missing ']'", path, s);
	p += strspn(p, " ");
	if (*p != '\0')
		return model_fail(e, "%s: \"%s\" is not a number", path, s);
	*count = n;
	return 0;
}

/* base_score b of group g as a margin, by the objective's ProbToMargin,
 * in float as XGBoost computes it. */
static int
model_base_margin(struct model_err *e, const struct model *m, float b,
    float *out)
{
	switch (m->obj->base) {
	case MODEL_BASE_LOGIT:
		if (!(b > 0.0f && b < 1.0f))
			return model_fail(e, MODEL_PARAM_PATH ".base_score: %g "
			    "is not in (0, 1) as %s needs", (double)b,
			    m->obj->name);
		*out = -logf(1.0f / b - 1.0f);
		return 0;
	case MODEL_BASE_LOG:
		if (!(b > 0.0f))
			return model_fail(e, MODEL_PARAM_PATH ".base_score: %g "
			    "is not positive as %s needs (its margin is "
			    "log(base_score))", (double)b, m->obj->name);
		*out = logf(b);
		return 0;
	default:
		*out = b;
		return 0;
	}
}

/* Read base_score into m->base, one margin per output group: a single
 * value is broadcast to every group, as XGBoost does. */
int
model_base_read(struct model_err *e, struct model *m, json_t *param)
{
	size_t	 i, nbase = 0;

	if ((m->base = calloc(m->ngroups, sizeof(*m->base))) == NULL)
		return model_fail(e, "out of memory");
	if (model_parse_base_score(e, param, m->base, m->ngroups, &nbase) ==
	    -1)
		return -1;
	if (nbase != 1 && nbase != m->ngroups)
		return model_fail(e, MODEL_PARAM_PATH ".base_score: %zu values "
		    "for %zu outputs", nbase, m->ngroups);
	for (i = 0; i < m->ngroups; i++)
		if (model_base_margin(e, m, m->base[nbase == 1 ? 0 : i],
		    &m->base[i]) == -1)
			return -1;
	return 0;
}

/* Read learner.attributes.best_iteration, if any, into m->best_rounds
 * (best_iteration + 1; 0 if absent). */
int
model_best_read(struct model_err *e, struct model *m, json_t *learner)
{
	json_t	*attrs = json_object_get(learner, "attributes");
	size_t	 best;

	m->best_rounds = 0;
	if (attrs == NULL || json_object_get(attrs, "best_iteration") == NULL)
		return 0;
	if (!json_is_object(attrs))
		return model_fail(e, "learner.attributes: expected an object, "
		    "got %s", jsonutil_type_name(attrs, JSONUTIL_INTEGER_REAL));
	if (model_get_count(e, attrs, "learner.attributes", "best_iteration",
	    0, SIZE_MAX - 1, &best) == -1)
		return -1;
	m->best_rounds = best + 1;
	return 0;
}

/* See model.h. */
int
model_trees_note(const struct model *m, char *note, size_t len)
{
	if (m->best_rounds == 0 || m->best_rounds >= m->rounds ||
	    m->linear != NULL)
		return 0;
	if (m->trees_mode == MODEL_TREES_BEST)
		snprintf(note, len, "model %s: early stopping: serving %zu of "
		    "%zu rounds, up to best_iteration %zu (model_trees = best; "
		    "model_trees = all serves every round, as "
		    "Booster.predict)", m->name, m->served_rounds, m->rounds,
		    m->best_rounds - 1);
	else
		snprintf(note, len, "model %s: early stopping: best_iteration "
		    "%zu (%zu rounds) but serving all %zu rounds, as "
		    "Booster.predict (model_trees = all; model_trees = best "
		    "serves %zu, as the scikit-learn API)", m->name,
		    m->best_rounds - 1, m->best_rounds, m->rounds,
		    m->best_rounds);
	return 1;
}
