/*
 * infer: the wire formats of inference requests and responses.  Turns a
 * request body into a matrix of features and a matrix of predictions into a
 * response body, for three protocols:
 *
 *	INFER_PREDICT	inferd's own POST /predict (src/infer_predict.c)
 *	INFER_V1	KServe v1, POST /v1/models/{name}:predict (the same
 *			file: {"instances"} or {"inputs"} in,
 *			{"predictions"} out)
 *	INFER_OIP	the Open Inference Protocol (KServe v2) REST API,
 *			POST /v2/models/{name}[/versions/{v}]/infer and its
 *			metadata (src/infer_oip.c)
 *
 * What they share (errors, JSON values to float32 features, rows keyed by
 * feature name, numbers out) is src/infer.c, declared for the three files
 * in infer_impl.h.  Responses are written into an evbuffer, without the
 * final newline (the caller adds it, as reply.c's bodies have one).  Pure
 * module: no I/O.
 */
#ifndef INFERD_INFER_H
#define INFERD_INFER_H

#include <stddef.h>

struct evbuffer;
struct model;

/* The protocol a request speaks. */
enum infer_proto {
	INFER_PREDICT,
	INFER_V1,
	INFER_OIP
};

/* What a malformed request gets back: an HTTP status and a message. */
struct infer_error {
	int	 status;	/* 400, 413, ... */
	char	 msg[512];	/* says what is wrong and what to fix */
};

/* A parsed request: rows x cols features, row-major, NaN for missing. */
struct infer_batch {
	float	*x;
	size_t	 rows;
	size_t	 cols;
	int	 has_id;	/* OIP: the request had an "id" */
	char	 id[128];	/* OIP request "id", echoed back */
	unsigned outputs;	/* OIP: INFER_OUT_* bits to answer with */
};

/* The OIP outputs a request may ask for (infer_oip.c's table): the
 * model's outputs, and a classifier's class. */
#define INFER_OUT_PREDICT	0x1u
#define INFER_OUT_LABEL		0x2u

/* Length of the OIP model version: the first hex digits of the model
 * file's SHA-256, so a version names exactly the bytes served. */
#define INFER_VERSION_LEN	12

/*
 * Parse a request body of protocol proto into b.  JSON null marks a
 * missing value; a model with feature names (or, without them, XGBoost's
 * f0, f1, ...) also takes rows keyed by name.  More than max_rows rows is
 * 413.  Returns 0, or -1 with err filled.  On success the caller frees
 * b->x with free().
 */
int	 infer_parse(enum infer_proto, const char *body, size_t len,
	    const struct model *, size_t max_rows, struct infer_batch *,
	    struct infer_error *);

/* The answer to a request parsed by infer_parse, from the model's
 * predictions y (b->rows * model_noutputs values).  0, or -1 when out of
 * memory. */
int	 infer_format(struct evbuffer *, enum infer_proto,
	    const struct model *, const struct infer_batch *, const double *y);

/* POST /predict's and KServe v1's answer {"predictions": [...]}: per-class
 * arrays when the model has several outputs.  0, or -1. */
int	 infer_format_predict(struct evbuffer *, const struct model *,
	    const double *y, size_t rows);

/* KServe v1 model status: {"name": ..., "ready": true}.  0, or -1. */
int	 infer_format_v1_status(struct evbuffer *, const struct model *);
/* KServe v1 list of models: {"models": [name]}.  0, or -1. */
int	 infer_format_v1_models(struct evbuffer *, const struct model *);

/* OIP server metadata: {"name": "inferd", "version", "extensions"}. */
int	 infer_format_oip_server(struct evbuffer *);

/* OIP model metadata ({"name", "versions", "platform", "inputs",
 * "outputs"}) for GET /v2/models/{name}[/versions/{v}]. */
int	 infer_format_oip_metadata(struct evbuffer *, const struct model *);

/* OIP model readiness: {"name": ..., "ready": true}. */
int	 infer_format_oip_ready(struct evbuffer *, const struct model *);

/* Whether the len bytes at v are the OIP version of the model served. */
int	 infer_oip_version_is(const struct model *, const char *v,
	    size_t len);

#endif /* INFERD_INFER_H */
