/*
 * infer_impl: what the request formats' files share and nothing else
 * includes but their tests and fuzz harnesses (see infer.h):
 *
 *	infer.c		errors, JSON loading, values, rows, numbers out
 *	infer_predict.c	POST /predict and KServe v1
 *	infer_fast.c	its common bodies without jansson
 *	infer_oip.c	the Open Inference Protocol
 */
#ifndef INFERD_INFER_IMPL_H
#define INFERD_INFER_IMPL_H

#include <stddef.h>

#include <jansson.h>

struct evbuffer;
struct infer_batch;
struct infer_error;
struct model;

/* The parsers and the OIP formatter behind infer_parse and infer_format;
 * v1 set: KServe v1's body ({"instances"} only). */
int	 infer_parse_predict(const char *body, size_t len,
	    const struct model *, size_t max_rows, struct infer_batch *,
	    struct infer_error *, int v1);
/* The same with jansson only (what infer_parse_predict falls back to;
 * tests compare the two). */
int	 infer_parse_predict_json(const char *body, size_t len,
	    const struct model *, size_t max_rows, struct infer_batch *,
	    struct infer_error *, int v1);
/*
 * infer_parse_predict's fast path (src/infer/infer_fast.c): {"features": [...]}
 * (not v1) or {"instances": [[...], ...]} with rows of cols numbers or
 * nulls, read without jansson into the same float32 values.  0 with b
 * filled (the caller frees b->x), or -1 with b zeroed when the body is
 * anything else, or would be refused: then jansson's path decides.
 */
int	 infer_fast_predict(const char *body, size_t len, size_t cols,
	    size_t max_rows, int v1, struct infer_batch *);
/* The same, also filling b->xd with each value as the double strtod
 * makes of it (a model that computes in double); the caller frees both. */
int	 infer_fast_predict_double(const char *body, size_t len, size_t cols,
	    size_t max_rows, int v1, struct infer_batch *);
int	 infer_parse_oip(const char *body, size_t len, const struct model *,
	    size_t max_rows, struct infer_batch *, struct infer_error *);
int	 infer_format_oip(struct evbuffer *, const struct model *,
	    const struct infer_batch *, const double *y);

/*
 * Nesting no request needs: /predict and KServe v1 need 3 levels, OIP 4
 * plus the nesting of "data" (INFER_MAX_DATA_DEPTH) and its parameters.
 */
#define INFER_MAX_DEPTH		16

/*
 * Look at body's values before jansson builds them (jsonutil_census) and
 * refuse it if it holds more of them than a valid batch of max_rows rows
 * of the model in this protocol (oip: 1) ever does: 413, or 400 when it
 * nests deeper than INFER_MAX_DEPTH.  So a body that will be refused costs
 * a pass over its bytes plus at most what jansson spends on a valid
 * batch of the largest size.  0, or -1 with err filled.
 */
int	 infer_bound(const char *body, size_t len, const struct model *,
	    size_t max_rows, int oip, struct infer_error *);

/* Fill err with status and a formatted message; return -1. */
int	 infer_fail(struct infer_error *, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Parse body as a JSON object; NULL with a 400 naming line and column
 * (or what the body is instead), which tells to send hint. */
json_t	*infer_load(const char *body, size_t len, const char *hint,
	    struct infer_error *);

/*
 * Turn one JSON value into a feature: a number (rounded to float32, as
 * XGBoost's DMatrix does) or null (missing, NaN).  Returns 0, or 1 if v is
 * not a number or null, or 2 if it does not fit a float32.
 */
int	 infer_value(const json_t *v, float *out);

/* The feature called name: from the model's feature names, or, for a
 * model without them, "f0", "f1", ... as XGBoost names them.  0 with *i
 * set, or -1. */
int	 infer_feature_find(const struct model *, const char *name,
	    size_t *i);

/*
 * Read one row into x (cols floats): a JSON array of cols values, or an
 * object keyed by feature name (a key left out is a missing value).  path
 * names the row in messages ("instances[3]"), r is its number.  xd, when
 * not NULL, gets the same values as doubles, unrounded (a model that
 * computes in double: then a value beyond float32's range is no error).
 */
int	 infer_row(const json_t *row, const char *path, size_t r,
	    const struct model *, float *x, double *xd, struct infer_error *);

/* Append a prediction: a float32 value with the fewest digits that read
 * back as it, null for NaN and infinities.  0, or -1. */
int	 infer_add_number(struct evbuffer *, double);
/* Append an unsigned integer in decimal.  0, or -1. */
int	 infer_add_size(struct evbuffer *, size_t);
/* Append a NUL-terminated string as is.  0, or -1. */
int	 infer_add_str(struct evbuffer *, const char *);
/* Append {"name": <the model's>, "ready": true}: a model's readiness, the
 * same in KServe v1 and the OIP.  0, or -1. */
int	 infer_add_ready(struct evbuffer *, const struct model *);

#endif /* INFERD_INFER_IMPL_H */
