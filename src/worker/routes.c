/*
 * routes: the route table of the workers, its handlers and the ?delay=
 * query.  Nothing here blocks: a requested delay is a timer (see
 * conn_respond_after()).  An inference request's work (the job, the
 * pool, admission control) is in routes_infer.c.
 */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "inferd/clock.h"
#include "inferd/config.h"
#include "inferd/conn.h"
#include "inferd/infer.h"
#include "inferd/log.h"
#include "inferd/model.h"
#include "inferd/reply.h"
#include "inferd/routes.h"
#include "inferd/shm.h"
#include "inferd/workpool.h"

#include "worker/routes_impl.h"

_Static_assert(ROUTES_NHANDLERS == SHM_NHANDLERS,
    "shm.h's SHM_NHANDLERS must count the handlers of ROUTES_HANDLERS");

const char *const routes_handler_names[ROUTES_NHANDLERS] = {
#define X(id, label)	[ROUTES_H_##id] = label,
	ROUTES_HANDLERS(X)
#undef X
};

typedef void (*routes_fn)(struct routes *, struct conn_req *, const char *);

/* HEAD is answered like GET (without the body) on every GET route. */
#define M_GET	(HTTP_M_GET | HTTP_M_HEAD)
#define M_POST	HTTP_M_POST
#define M_HEAD	HTTP_M_HEAD
#define V2_MODELS	"/v2/models/"
#define V1_MODELS	"/v1/models/"

static void	routes_predict(struct routes *, struct conn_req *, const char *);
static void	routes_healthz(struct routes *, struct conn_req *, const char *);
static void	routes_v2_live(struct routes *, struct conn_req *, const char *);
static void	routes_v2_ready(struct routes *, struct conn_req *,
		    const char *);
static void	routes_v2_model(struct routes *, struct conn_req *,
		    const char *);
static void	routes_v2_model_ready(struct routes *, struct conn_req *,
		    const char *);
static void	routes_v2_infer(struct routes *, struct conn_req *,
		    const char *);
static void	routes_v2_server(struct routes *, struct conn_req *,
		    const char *);
static void	routes_v1_model(struct routes *, struct conn_req *,
		    const char *);
static void	routes_v1_predict(struct routes *, struct conn_req *,
		    const char *);
static void	routes_v1_models(struct routes *, struct conn_req *,
		    const char *);

/*
 * The routes.  A path is either exact, or prefix, {name}, then (for a
 * versioned route) /versions/{version}, then suffix; {name} must be the
 * model's name and {version} its version (infer_oip_version_is).
 */
static const struct routes_route {
	const char		*path;		/* exact path, or NULL */
	const char		*prefix;	/* before {name} */
	const char		*suffix;	/* after {name}[/versions/{v}] */
	int			 versioned;
	unsigned		 methods;
	const char		*allow;		/* Allow: header for 405 */
	enum routes_handler	 handler;
	int			 observe;
	routes_fn		 fn;
} routes_table[] = {
	{ .path = "/predict", .methods = M_GET | M_POST, .allow = "GET, HEAD, POST",
	    .handler = ROUTES_H_PREDICT, .observe = 1, .fn = routes_predict },
	{ .path = "/healthz", .methods = M_GET | M_HEAD, .allow = "GET, HEAD",
	    .handler = ROUTES_H_HEALTHZ, .fn = routes_healthz },
	{ .path = "/v2/health/live", .methods = M_GET | M_HEAD,
	    .allow = "GET, HEAD", .handler = ROUTES_H_V2_LIVE,
	    .fn = routes_v2_live },
	{ .path = "/v2/health/ready", .methods = M_GET | M_HEAD,
	    .allow = "GET, HEAD", .handler = ROUTES_H_V2_READY,
	    .fn = routes_v2_ready },
	{ .prefix = V2_MODELS, .suffix = "", .methods = M_GET,
	    .allow = "GET, HEAD", .handler = ROUTES_H_V2_MODEL,
	    .fn = routes_v2_model },
	{ .prefix = V2_MODELS, .suffix = "/ready", .methods = M_GET | M_HEAD,
	    .allow = "GET, HEAD", .handler = ROUTES_H_V2_MODEL_READY,
	    .fn = routes_v2_model_ready },
	{ .prefix = V2_MODELS, .suffix = "/infer", .methods = M_POST,
	    .allow = "POST", .handler = ROUTES_H_V2_INFER, .observe = 1,
	    .fn = routes_v2_infer },
	{ .path = "/v2", .methods = M_GET, .allow = "GET, HEAD",
	    .handler = ROUTES_H_V2_SERVER, .fn = routes_v2_server },
	{ .path = "/v2/", .methods = M_GET, .allow = "GET, HEAD",
	    .handler = ROUTES_H_V2_SERVER, .fn = routes_v2_server },
	{ .prefix = V2_MODELS, .versioned = 1, .suffix = "", .methods = M_GET,
	    .allow = "GET, HEAD", .handler = ROUTES_H_V2_VERSION,
	    .fn = routes_v2_model },
	{ .prefix = V2_MODELS, .versioned = 1, .suffix = "/ready",
	    .methods = M_GET | M_HEAD, .allow = "GET, HEAD",
	    .handler = ROUTES_H_V2_VERSION_READY,
	    .fn = routes_v2_model_ready },
	{ .prefix = V2_MODELS, .versioned = 1, .suffix = "/infer",
	    .methods = M_POST, .allow = "POST",
	    .handler = ROUTES_H_V2_VERSION_INFER, .observe = 1,
	    .fn = routes_v2_infer },
	{ .prefix = V1_MODELS, .suffix = ":predict", .methods = M_POST,
	    .allow = "POST", .handler = ROUTES_H_V1_PREDICT, .observe = 1,
	    .fn = routes_v1_predict },
	{ .prefix = V1_MODELS, .suffix = "", .methods = M_GET | M_HEAD,
	    .allow = "GET, HEAD", .handler = ROUTES_H_V1_MODEL,
	    .fn = routes_v1_model },
	{ .path = "/v1/models", .methods = M_GET | M_HEAD,
	    .allow = "GET, HEAD", .handler = ROUTES_H_V1_MODELS,
	    .fn = routes_v1_models },
};

#define ROUTES_N	(sizeof(routes_table) / sizeof(routes_table[0]))

/*
 * A body written by one of infer's metadata formatters, with its newline,
 * in a new buffer; NULL when out of memory.
 */
static struct evbuffer *
routes_build(int (*fmt)(struct evbuffer *, const struct model *),
    const struct model *m)
{
	struct evbuffer	*buf;

	if ((buf = evbuffer_new()) == NULL)
		return NULL;
	if (fmt(buf, m) == -1 || evbuffer_add(buf, "\n", 1) == -1) {
		evbuffer_free(buf);
		return NULL;
	}
	return buf;
}

/* The value of hex digit c, or -1. */
static int
routes_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode the len bytes at s into a new NUL-terminated string (a
 * '%' not followed by two hex digits stays as it is; '+' is a space if
 * plus), its length in *outlen.  NULL when out of memory.
 */
static char *
routes_uridecode(const char *s, size_t len, int plus, size_t *outlen)
{
	char	*out, *q;
	size_t	 i;
	int	 hi, lo;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (q = out, i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    (hi = routes_hex(s[i + 1])) >= 0 &&
		    (lo = routes_hex(s[i + 2])) >= 0) {
			*q++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+' && plus)
			*q++ = ' ';
		else
			*q++ = s[i];
	}
	*q = '\0';
	*outlen = (size_t)(q - out);
	return out;
}

/* Check a delay value: a plain decimal number of seconds in [0, max]. */
static int
routes_check_delay(const char *s, size_t len, double max, double *delay,
    char *why, size_t whylen)
{
	char	*end;

	if (len == 0 || strlen(s) != len ||
	    strspn(s, "0123456789.eE+-") != len) {
		snprintf(why, whylen, "delay must be a number of seconds, "
		    "got \"%.64s\"", s);
		return -1;
	}
	errno = 0;
	*delay = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(*delay)) {
		snprintf(why, whylen, "delay must be a finite number of "
		    "seconds, got \"%.64s\"", s);
		return -1;
	}
	if (*delay < 0) {
		snprintf(why, whylen, "delay must not be negative, got "
		    "\"%.64s\"", s);
		return -1;
	}
	if (*delay > max) {
		snprintf(why, whylen, "delay %.64s exceeds max_delay (%g s)",
		    s, max);
		return -1;
	}
	return 0;
}

/* Decode one percent-encoded delay value of vlen bytes and check it. */
static int
routes_delay_value(const char *raw, size_t vlen, double max, double *delay,
    char *why, size_t len)
{
	char	*dec;
	int	 rc;

	if ((dec = routes_uridecode(raw, vlen, 1, &vlen)) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	rc = routes_check_delay(dec, vlen, max, delay, why, len);
	free(dec);
	return rc;
}

/* Find ?delay= in a raw query; see routes.h. */
int
routes_parse_delay(const char *query, double max, double *delay, char *why,
    size_t len)
{
	const char	*p, *amp, *eq;
	size_t		 vlen;
	int		 seen = 0;

	*delay = 0;
	for (p = query; p != NULL && *p != '\0'; p = amp ? amp + 1 : NULL) {
		amp = strchr(p, '&');
		eq = memchr(p, '=', amp != NULL ? (size_t)(amp - p) :
		    strlen(p));
		if (eq == NULL || (size_t)(eq - p) != strlen("delay") ||
		    strncmp(p, "delay", strlen("delay")) != 0)
			continue;
		if (seen++) {
			snprintf(why, len, "delay given more than once; give "
			    "it once");
			return -1;
		}
		vlen = amp != NULL ? (size_t)(amp - eq - 1) : strlen(eq + 1);
		if (routes_delay_value(eq + 1, vlen, max, delay, why,
		    len) == -1)
			return -1;
	}
	return 0;
}

/*
 * Answer 200 with body (taken over) now, or after the delay the query
 * asked for; 400 if the query's delay is wrong.
 */
static void
routes_answer_after(struct routes *rt, struct conn_req *r, const char *query,
    struct evbuffer *body)
{
	char	why[256];
	double	delay;

	if (routes_parse_delay(query, rt->cfg->max_delay, &delay, why,
	    sizeof(why)) == -1) {
		if (body != NULL)
			evbuffer_free(body);
		conn_error(r, 400, "%s", why);
		return;
	}
	conn_respond_after(r, delay, body);
}

/*
 * GET /predict answers the probe (see routes_probe), without a copy unless
 * it waits for a delay; POST /predict predicts the rows of its body.  Both
 * take ?delay=SECONDS.
 */
static void
routes_predict(struct routes *rt, struct conn_req *r, const char *query)
{
	struct evbuffer	*body;
	char		 why[256];
	double		 delay;

	if (conn_req_method(r) == HTTP_M_POST) {
		if (routes_parse_delay(query, rt->cfg->max_delay, &delay, why,
		    sizeof(why)) == -1)
			conn_error(r, 400, "%s", why);
		else
			routes_infer(rt, r, INFER_PREDICT, delay, query);
		return;
	} else if (query == NULL) {
		conn_respond_text(r, 200, rt->probe, rt->probelen);
		return;
	} else if ((body = evbuffer_new()) != NULL &&
	    evbuffer_add(body, rt->probe, rt->probelen) == -1) {
		evbuffer_free(body);
		body = NULL;	/* answered 500 */
	}
	routes_answer_after(rt, r, query, body);
}

/* GET /healthz: the worker's loop answers. */
static void
routes_healthz(struct routes *rt, struct conn_req *r, const char *query)
{
	(void)rt;
	(void)query;

	conn_respond(r, 200, reply_json_new("{\"status\":\"ok\"}"));
}

/* OIP liveness: a worker only runs with a loaded model. */
static void
routes_v2_live(struct routes *rt, struct conn_req *r, const char *query)
{
	(void)rt;
	(void)query;

	conn_respond(r, 200, reply_json_new("{\"live\":true}"));
}

/* OIP readiness: a worker only runs with a loaded model. */
static void
routes_v2_ready(struct routes *rt, struct conn_req *r, const char *query)
{
	(void)rt;
	(void)query;

	conn_respond(r, 200, reply_json_new("{\"ready\":true}"));
}

/* OIP model metadata. */
static void
routes_v2_model(struct routes *rt, struct conn_req *r, const char *query)
{
	(void)query;

	conn_respond(r, 200, routes_build(infer_format_oip_metadata,
	    rt->model));
}

/* OIP model readiness. */
static void
routes_v2_model_ready(struct routes *rt, struct conn_req *r,
    const char *query)
{
	(void)query;

	conn_respond(r, 200, routes_build(infer_format_oip_ready, rt->model));
}

/* OIP inference. */
static void
routes_v2_infer(struct routes *rt, struct conn_req *r, const char *query)
{
	(void)query;

	routes_infer(rt, r, INFER_OIP, 0, NULL);
}

/* OIP server metadata. */
static void
routes_v2_server(struct routes *rt, struct conn_req *r, const char *query)
{
	struct evbuffer	*body;

	(void)rt;
	(void)query;

	if ((body = evbuffer_new()) != NULL &&
	    (infer_format_oip_server(body) == -1 ||
	    evbuffer_add(body, "\n", 1) == -1)) {
		evbuffer_free(body);
		body = NULL;
	}
	conn_respond(r, 200, body);
}

/* KServe v1 model status. */
static void
routes_v1_model(struct routes *rt, struct conn_req *r, const char *query)
{
	(void)query;

	conn_respond(r, 200, routes_build(infer_format_v1_status, rt->model));
}

/* KServe v1 prediction. */
static void
routes_v1_predict(struct routes *rt, struct conn_req *r, const char *query)
{
	(void)query;

	routes_infer(rt, r, INFER_V1, 0, query);
}

/* KServe v1 list of models: the one model. */
static void
routes_v1_models(struct routes *rt, struct conn_req *r, const char *query)
{
	(void)query;

	conn_respond(r, 200, routes_build(infer_format_v1_models, rt->model));
}

/* Whether the percent-encoded path segment name names the model mine. */
static int
routes_is_model(const char *name, size_t len, const char *mine)
{
	char	*dec;
	size_t	 declen;
	int	 same;

	if ((dec = routes_uridecode(name, len, 0, &declen)) == NULL)
		return 0;
	same = declen == strlen(mine) && memcmp(dec, mine, declen) == 0;
	free(dec);
	return same;
}

/* How a path with {name} (and {version}) matched a route. */
enum routes_found {
	ROUTES_FOUND,
	ROUTES_NO_MODEL,	/* another model's name */
	ROUTES_NO_VERSION	/* this model, another version */
};

/*
 * Match path against prefixed route rt: prefix, a non-empty {name} with
 * no '/', then "/versions/{version}" if rt is versioned, then rt's suffix.
 * Returns -1 if the path has not that form, else how it matched.
 */
static int
routes_match_prefix(const struct routes_route *rt, const char *path,
    const struct model *m)
{
	const char	*name, *end, *v = NULL;
	size_t		 len, slen = strlen(rt->suffix);

	if (strncmp(path, rt->prefix, strlen(rt->prefix)) != 0)
		return -1;
	name = path + strlen(rt->prefix);
	len = strlen(name);
	if (len < slen || strcmp(name + len - slen, rt->suffix) != 0)
		return -1;
	end = name + len - slen;		/* {name}[/versions/{v}] */
	if (rt->versioned) {
		for (v = end; v > name && v[-1] != '/'; v--)
			;
		if (v - name < (ptrdiff_t)sizeof("x/versions/") - 1 ||
		    strncmp(v - (sizeof("/versions/") - 1), "/versions/",
		    sizeof("/versions/") - 1) != 0 || v == end)
			return -1;
		len = (size_t)(v - name) - (sizeof("/versions/") - 1);
	} else
		len = (size_t)(end - name);
	if (len == 0 || memchr(name, '/', len) != NULL)
		return -1;
	if (!routes_is_model(name, len, model_name(m)))
		return ROUTES_NO_MODEL;
	if (v != NULL && !infer_oip_version_is(m, v, (size_t)(end - v)))
		return ROUTES_NO_VERSION;
	return ROUTES_FOUND;
}

/*
 * Match path against the routes.  Returns the route, or NULL (404); *found
 * says whether the {name} and {version} of a prefixed route are the
 * model's.  A path that fits several prefixed routes (a model named
 * "m:predict") takes the one whose name is the model's.
 */
static const struct routes_route *
routes_match(const struct model *m, const char *path, int *found)
{
	const struct routes_route	*first = NULL;
	size_t				 i;
	int				 how;

	*found = ROUTES_FOUND;
	for (i = 0; i < ROUTES_N; i++)
		if (routes_table[i].path != NULL &&
		    strcmp(routes_table[i].path, path) == 0)
			return &routes_table[i];
	for (i = 0; i < ROUTES_N; i++) {
		if (routes_table[i].prefix == NULL ||
		    (how = routes_match_prefix(&routes_table[i], path,
		    m)) == -1)
			continue;
		if (how == ROUTES_FOUND)
			return &routes_table[i];
		if (first == NULL) {
			first = &routes_table[i];
			*found = how;
		}
	}
	return first;
}

/* The handler path routes to for model m; see routes.h. */
enum routes_handler
routes_lookup(const struct model *m, const char *path, int *how)
{
	const struct routes_route	*route;
	int				 found;

	route = routes_match(m, path, &found);
	if (how != NULL)
		*how = route == NULL ? -1 : found;
	return route == NULL ? ROUTES_H_OTHER : route->handler;
}

/* Route and answer one request. */
void
routes_dispatch(struct routes *rt, struct conn_req *r)
{
	const struct routes_route	*route;
	const char			*path = conn_req_path(r);
	const char			*query = conn_req_query(r);
	int				 found;

	if ((route = routes_match(rt->model, path, &found)) == NULL) {
		conn_error(r, 404, "no route for %.200s (see doc/api.md)",
		    path);
		return;
	}
	conn_req_set_handler(r, route->handler);
	if ((conn_req_method(r) & route->methods) == 0) {
		conn_req_add_header(r, "Allow", route->allow);
		conn_error(r, 405, "method not allowed on %s; use %s",
		    routes_handler_names[route->handler], route->allow);
		return;
	}
	if (found == ROUTES_NO_MODEL) {
		conn_error(r, 404, "model not found; this server serves "
		    "\"%s\"", model_name(rt->model));
		return;
	}
	if (found == ROUTES_NO_VERSION) {
		conn_error(r, 404, "model version not found; this server serves "
		    "version \"%.*s\" of \"%s\"", INFER_VERSION_LEN,
		    model_sha256(rt->model), model_name(rt->model));
		return;
	}
	if (route->observe)
		conn_req_set_observe(r);
	route->fn(rt, r, query);
}

/*
 * The answer to GET /predict, with its newline: the prediction for one
 * row of missing values (every feature follows its default branch), the
 * original service's probe.  The model never changes in a worker's life,
 * so it is computed once.  NULL when out of memory.
 */
static char *
routes_probe(const struct model *m)
{
	size_t	 i, n = model_nfeatures(m);
	float	*x = calloc(n, sizeof(*x));
	double	*y = calloc(model_noutputs(m), sizeof(*y));
	struct evbuffer	*buf = evbuffer_new();
	char	*body = NULL;
	size_t	 len;

	if (x != NULL && y != NULL && buf != NULL) {
		for (i = 0; i < n; i++)
			x[i] = NAN;
		model_predict(m, x, 1, y);
		if (infer_format_predict(buf, m, y, 1) == 0 &&
		    evbuffer_add(buf, "\n", 1) == 0 &&
		    (body = malloc((len = evbuffer_get_length(buf)) + 1)) !=
		    NULL) {
			evbuffer_remove(buf, body, len);
			body[len] = '\0';
		}
	}
	if (buf != NULL)
		evbuffer_free(buf);
	free(x);
	free(y);
	return body;
}

/* Routing for a worker. */
struct routes *
routes_new(const struct config *cfg, const struct model *model,
    struct workpool *pool)
{
	struct routes	*rt;

	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return NULL;
	rt->cfg = cfg;
	rt->model = model;
	rt->pool = pool;
	rt->ntrees = model_ntrees(model) > 0 ? model_ntrees(model) : 1;
	if ((rt->probe = routes_probe(model)) == NULL) {
		free(rt);
		return NULL;
	}
	rt->probelen = strlen(rt->probe);
	return rt;
}

/* Free routing state. */
void
routes_free(struct routes *rt)
{
	if (rt == NULL)
		return;
	free(rt->probe);
	free(rt);
}
