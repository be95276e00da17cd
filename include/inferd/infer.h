/*
 * infer: the wire formats of inference requests and responses.  Turns a
 * request body into a matrix of features and a matrix of predictions into a
 * response body, for inferd's own JSON API (POST /predict) and for the Open
 * Inference Protocol (KServe v2, POST /v2/models/{name}/infer).  Pure
 * module: no I/O.
 */
#ifndef INFERD_INFER_H
#define INFERD_INFER_H

#include <stddef.h>

struct model;

/* What a malformed request gets back: an HTTP status and a message. */
struct infer_error {
	int	 status;	/* 400, 413, ... */
	char	 msg[256];	/* says what is wrong and what to fix */
};

/* A parsed request: rows x cols features, row-major, NaN for missing. */
struct infer_batch {
	float	*x;
	size_t	 rows;
	size_t	 cols;
	char	 id[128];	/* OIP request "id", echoed back; "" if none */
};

/*
 * Parse a POST /predict body: {"features": [...]} (one row) or
 * {"instances": [[...], ...]} (a batch).  JSON null marks a missing value.
 * More than max_rows rows is 413.  Returns 0, or -1 with err filled.
 * On success the caller frees batch->x with free().
 */
int	 infer_parse_predict(const char *body, size_t len,
	    const struct model *, size_t max_rows, struct infer_batch *,
	    struct infer_error *);

/* Format {"predictions": [...]}; per-class arrays when noutputs > 1.
 * Returns a malloc'd NUL-terminated string, or NULL on allocation failure. */
char	*infer_format_predict(const struct model *, const double *y,
	    size_t rows);

/*
 * Parse an OIP v2 inference request body (inputs of datatype FP32 or FP64,
 * shape [rows, features], flat or nested data).  Same contract as
 * infer_parse_predict.
 */
int	 infer_parse_oip(const char *body, size_t len, const struct model *,
	    size_t max_rows, struct infer_batch *, struct infer_error *);

/* Format an OIP v2 inference response (model_name, id, outputs). */
char	*infer_format_oip(const struct model *, const struct infer_batch *,
	    const double *y);

/* OIP v2 model metadata ({"name", "versions", "platform", "inputs",
 * "outputs"}) for GET /v2/models/{name}. */
char	*infer_format_oip_metadata(const struct model *);

/* OIP model readiness: {"name": ..., "ready": true}. */
char	*infer_format_oip_ready(const struct model *);

/* Format {"error": msg} as OIP and inferd both use for errors. */
char	*infer_format_error(const char *msg);

#endif /* INFERD_INFER_H */
