/*
 * routes: the worker's route table, its handlers and the ?delay= query.
 * The table owns the names requests are counted by: each route has a
 * handler id (a row of the shared-memory request counters, see shm.h's
 * SHM_NHANDLERS) and a label, the route pattern, which the exposition
 * writes as handler="...".  Requests no route claims count as "other".
 */
#ifndef INFERD_ROUTES_H
#define INFERD_ROUTES_H

#include <stddef.h>

struct config;
struct conn_req;
struct model;
struct workpool;

/* The handlers requests are counted by: id and label. */
#define ROUTES_HANDLERS(X)					\
	X(PREDICT, "/predict")					\
	X(HEALTHZ, "/healthz")					\
	X(V2_LIVE, "/v2/health/live")				\
	X(V2_READY, "/v2/health/ready")				\
	X(V2_MODEL, "/v2/models/{name}")			\
	X(V2_MODEL_READY, "/v2/models/{name}/ready")		\
	X(V2_INFER, "/v2/models/{name}/infer")			\
	X(V2_SERVER, "/v2")					\
	X(V2_VERSION, "/v2/models/{name}/versions/{version}")	\
	X(V2_VERSION_READY, "/v2/models/{name}/versions/{version}/ready") \
	X(V2_VERSION_INFER, "/v2/models/{name}/versions/{version}/infer") \
	X(V1_MODEL, "/v1/models/{name}")			\
	X(V1_PREDICT, "/v1/models/{name}:predict")		\
	X(V1_MODELS, "/v1/models")				\
	X(OTHER, "other")

enum routes_handler {
#define X(id, label)	ROUTES_H_##id,
	ROUTES_HANDLERS(X)
#undef X
	ROUTES_NHANDLERS
};

/* The label of each handler, indexed by enum routes_handler. */
extern const char *const routes_handler_names[ROUTES_NHANDLERS];

/* One worker's routing state: its settings, model and canned answers. */
struct routes;

/*
 * Set up routing for a worker serving model, evaluating heavy requests on
 * pool (NULL: everything on the loop; see workpool.h); NULL when out of
 * memory.
 */
struct routes	*routes_new(const struct config *, const struct model *,
		    struct workpool *);
void		 routes_free(struct routes *);

/*
 * Route one request and answer it: 404 for an unknown path, model or model
 * version, 405 with Allow for a method
 * the route does not take, else the route's handler.
 */
void		 routes_dispatch(struct routes *, struct conn_req *);

/*
 * The handler routes_dispatch() gives path (a URI path, decoded as a
 * request's is not: {name} is percent-decoded here) when serving model
 * m, and in *how (unless NULL) how it matched: 0 when a route and its
 * {name} and {version} are the model's, 1 for another model's name, 2 for
 * another version of this model (both answered 404), -1 for no route
 * (ROUTES_H_OTHER, 404).  The method is not looked at.
 */
enum routes_handler routes_lookup(const struct model *m, const char *path,
		    int *how);

/*
 * Find delay=SECONDS in query, a raw (percent-encoded) URI query string,
 * NUL-terminated, or NULL for none; other parameters are ignored.  The
 * value must be a plain decimal number of seconds from 0 to max, given
 * once.  Returns 0 with *delay set (0 when absent), or -1 with a one-line
 * message in why (whylen bytes) for the 400 answer.
 */
int		 routes_parse_delay(const char *query, double max,
		    double *delay, char *why, size_t whylen);

#endif /* INFERD_ROUTES_H */
