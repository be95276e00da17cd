/*
 * routes_impl: what the worker's routing files share and nothing else
 * includes.  routes.c (the table, the light handlers, ?delay=) calls
 * routes_infer.c (inference requests: the job, the pool, admission
 * control), never the other way.
 */
#ifndef INFERD_ROUTES_IMPL_H
#define INFERD_ROUTES_IMPL_H

#include <stddef.h>

#include "inferd/infer.h"

struct config;
struct conn_req;
struct model;
struct workpool;

struct routes {
	const struct config	*cfg;
	const struct model	*model;
	struct workpool		*pool;		/* NULL: all on the loop */
	size_t			 ntrees;
	char			*probe;		/* GET /predict's body */
	size_t			 probelen;	/* with its newline */
};

/* Parse, predict and answer an inference request; see routes_infer.c. */
void	routes_infer(struct routes *, struct conn_req *, enum infer_proto,
	    double, const char *);

#endif /* INFERD_ROUTES_IMPL_H */
