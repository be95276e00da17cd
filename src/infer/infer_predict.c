/*
 * infer_predict: inferd's own POST /predict and KServe's v1 protocol
 * (POST /v1/models/{name}:predict), which share their format: rows in
 * "instances" (or, for /predict, one row in "features"; for v1, the rows
 * may be in "inputs" instead, as KServe's servers take them), each an
 * array of features or an object keyed by feature name, and
 * {"predictions": [...]} out (KServe answers "predictions" to both).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "inferd/infer.h"
#include "infer/infer_impl.h"
#include "inferd/jsonutil.h"
#include "inferd/model.h"
#include "inferd/reply.h"

#define INFER_PREDICT_HINT	"{\"features\": [...]} for one row or " \
	"{\"instances\": [[...], ...]} for a batch (rows may be objects " \
	"keyed by feature name)"
#define INFER_V1_HINT		"{\"instances\": [[...], ...]} or " \
	"{\"inputs\": [[...], ...]} (rows may be objects keyed by feature name)"

/* Find the rows of root: "features" (one row, not for v1), "instances",
 * or for v1 "inputs"; set *feat or *inst, *key (the rows' key, for
 * messages) and b->rows. */
static int
infer_predict_rows(json_t *root, int v1, size_t max_rows, json_t **feat,
    json_t **inst, const char **key, struct infer_error *err,
    struct infer_batch *b)
{
	const char	*hint = v1 ? INFER_V1_HINT : INFER_PREDICT_HINT;
	json_t		*inputs = v1 ? json_object_get(root, "inputs") : NULL;

	*feat = v1 ? NULL : json_object_get(root, "features");
	*inst = json_object_get(root, "instances");
	*key = "instances";
	if (*feat != NULL && *inst != NULL)
		return infer_fail(err, 400, "both \"features\" and "
		    "\"instances\" given; send %s", hint);
	if (inputs != NULL && *inst != NULL)
		return infer_fail(err, 400, "both \"instances\" and "
		    "\"inputs\" given; send the rows in one of them");
	if (inputs != NULL) {
		*inst = inputs;
		*key = "inputs";
	}
	if (*feat == NULL && *inst == NULL)
		return infer_fail(err, 400, "%s; send %s", v1 ?
		    "no \"instances\" or \"inputs\"" :
		    "no \"features\" or \"instances\"", hint);
	if (*feat != NULL) {
		if (!json_is_array(*feat) && !json_is_object(*feat))
			return infer_fail(err, 400, "features: expected an "
			    "array of %zu numbers or an object keyed by "
			    "feature name, got %s", b->cols,
			    jsonutil_type_name(*feat, JSONUTIL_NUMBER));
		b->rows = 1;
		return 0;
	}
	if (!json_is_array(*inst))
		return infer_fail(err, 400, "%s: expected an array of rows, "
		    "got %s", *key, jsonutil_type_name(*inst,
		    JSONUTIL_NUMBER));
	b->rows = json_array_size(*inst);
	if (b->rows == 0)
		return infer_fail(err, 400, "%s: empty batch; send at least "
		    "one row", *key);
	if (b->rows > max_rows)
		return infer_fail(err, 413, "%s: %zu rows, more than the limit "
		    "of %zu (max_batch_rows); split the batch", *key, b->rows,
		    max_rows);
	return 0;
}

/* Parse a POST /predict or KServe v1 body; see infer_impl.h. */
int
infer_parse_predict(const char *body, size_t len, const struct model *m,
    size_t max_rows, struct infer_batch *b, struct infer_error *err, int v1)
{
	/* A model that computes in double (LightGBM) gets each value as
	 * strtod's double as well (b->xd). */
	if ((model_wants_double(m) ? infer_fast_predict_double :
	    infer_fast_predict)(body, len, model_nfeatures(m), max_rows, v1,
	    b) == 0)
		return 0;
	/* Not the fast path's shape, or refused: bound jansson's work. */
	if (infer_bound(body, len, m, max_rows, 0, err) == -1)
		return -1;
	return infer_parse_predict_json(body, len, m, max_rows, b, err, v1);
}

/* Parse a POST /predict or KServe v1 body with jansson; see
 * infer_impl.h. */
int
infer_parse_predict_json(const char *body, size_t len,
    const struct model *m, size_t max_rows, struct infer_batch *b,
    struct infer_error *err, int v1)
{
	json_t		*root, *feat, *inst, *row;
	const char	*key;
	char		 path[32];
	size_t		 r, cols = model_nfeatures(m);

	memset(b, 0, sizeof(*b));
	if ((root = infer_load(body, len, v1 ? INFER_V1_HINT :
	    INFER_PREDICT_HINT, err)) == NULL)
		return -1;
	b->cols = cols;
	if (infer_predict_rows(root, v1, max_rows, &feat, &inst, &key, err,
	    b) == -1)
		goto fail;
	if ((b->x = calloc(b->rows * cols, sizeof(*b->x))) == NULL ||
	    (model_wants_double(m) && (b->xd = calloc(b->rows * cols,
	    sizeof(*b->xd))) == NULL)) {
		infer_fail(err, 500, "out of memory for %zu rows", b->rows);
		goto fail;
	}
	if (feat != NULL) {
		if (infer_row(feat, "features", 0, m, b->x, b->xd, err) == -1)
			goto fail;
	} else {
		json_array_foreach(inst, r, row) {
			snprintf(path, sizeof(path), "%s[%zu]", key, r);
			if (infer_row(row, path, r, m, b->x + r * cols,
			    b->xd != NULL ? b->xd + r * cols : NULL,
			    err) == -1)
				goto fail;
		}
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	free(b->x);
	free(b->xd);
	memset(b, 0, sizeof(*b));
	return -1;
}

/* Format {"predictions": [...]}; see infer.h. */
int
infer_format_predict(struct evbuffer *out, const struct model *m,
    const double *y, size_t rows)
{
	size_t	 r, k, nout = model_noutputs(m);
	int	 rc = 0;

	rc |= evbuffer_expand(out, 16 + rows * nout * 12);
	rc |= infer_add_str(out, "{\"predictions\":[");
	for (r = 0; r < rows; r++) {
		if (r > 0)
			rc |= evbuffer_add(out, ",", 1);
		if (nout == 1) {
			rc |= infer_add_number(out, y[r]);
			continue;
		}
		rc |= evbuffer_add(out, "[", 1);
		for (k = 0; k < nout; k++) {
			if (k > 0)
				rc |= evbuffer_add(out, ",", 1);
			rc |= infer_add_number(out, y[r * nout + k]);
		}
		rc |= evbuffer_add(out, "]", 1);
	}
	rc |= infer_add_str(out, "]}");
	return rc == 0 ? 0 : -1;
}

/* Format KServe v1 model status; see infer.h. */
int
infer_format_v1_status(struct evbuffer *out, const struct model *m)
{
	return infer_add_ready(out, m);
}

/* Format the KServe v1 list of models; see infer.h. */
int
infer_format_v1_models(struct evbuffer *out, const struct model *m)
{
	int	 rc = 0;

	rc |= infer_add_str(out, "{\"models\":[");
	rc |= reply_json_string(out, model_name(m));
	rc |= infer_add_str(out, "]}");
	return rc == 0 ? 0 : -1;
}
