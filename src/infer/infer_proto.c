/*
 * infer_proto: the dispatch by protocol to the request formats
 * (infer_predict.c, infer_oip.c).  Above them, so that the formats call
 * down into infer.c's shared helpers and nothing calls back up.
 */
#include "autoconf.h"

#include <stddef.h>

#include <string.h>

#include "inferd/infer.h"
#include "infer/infer_impl.h"

/* Parse a request of protocol proto; see infer.h. */
int
infer_parse(enum infer_proto proto, const char *body, size_t len,
    const struct model *m, size_t max_rows, struct infer_batch *b,
    struct infer_error *err)
{
	if (proto == INFER_OIP) {
		memset(b, 0, sizeof(*b));
		if (infer_bound(body, len, m, max_rows, 1, err) == -1)
			return -1;
		return infer_parse_oip(body, len, m, max_rows, b, err);
	}
	return infer_parse_predict(body, len, m, max_rows, b, err,
	    proto == INFER_V1);
}

/* The answer of protocol proto; see infer.h. */
int
infer_format(struct evbuffer *out, enum infer_proto proto,
    const struct model *m, const struct infer_batch *b, const double *y)
{
	if (proto == INFER_OIP)
		return infer_format_oip(out, m, b, y);
	return infer_format_predict(out, m, y, b->rows);
}
