/*
 * routes: the route table of the workers, its handlers and the ?delay=
 * query.  Nothing here blocks: a requested delay is a timer (see
 * conn_respond_after()).
 */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "inferd/config.h"
#include "inferd/conn.h"
#include "inferd/infer.h"
#include "inferd/model.h"
#include "inferd/reply.h"
#include "inferd/routes.h"
#include "inferd/shm.h"

_Static_assert(ROUTES_NHANDLERS == SHM_NHANDLERS,
    "shm.h's SHM_NHANDLERS must count the handlers of ROUTES_HANDLERS");

const char *const routes_handler_names[ROUTES_NHANDLERS] = {
#define X(id, label)	[ROUTES_H_##id] = label,
	ROUTES_HANDLERS(X)
#undef X
};

struct routes {
	const struct config	*cfg;
	const struct model	*model;
	char			*probe;		/* GET /predict's answer */
};

typedef void (*routes_fn)(struct routes *, struct conn_req *, const char *);

#define M_GET	EVHTTP_REQ_GET
#define M_POST	EVHTTP_REQ_POST
#define M_HEAD	EVHTTP_REQ_HEAD
#define V2_MODELS	"/v2/models/"

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

/*
 * The routes.  A path is either exact, or /v2/models/{name} followed by
 * suffix; {name} must be the model's name.
 */
static const struct routes_route {
	const char		*path;		/* exact path, or NULL */
	const char		*suffix;	/* after /v2/models/{name} */
	unsigned		 methods;
	const char		*allow;		/* Allow: header for 405 */
	enum routes_handler	 handler;
	int			 observe;
	routes_fn		 fn;
} routes_table[] = {
	{ .path = "/predict", .methods = M_GET | M_POST, .allow = "GET, POST",
	    .handler = ROUTES_H_PREDICT, .observe = 1, .fn = routes_predict },
	{ .path = "/healthz", .methods = M_GET | M_HEAD, .allow = "GET, HEAD",
	    .handler = ROUTES_H_HEALTHZ, .fn = routes_healthz },
	{ .path = "/v2/health/live", .methods = M_GET | M_HEAD,
	    .allow = "GET, HEAD", .handler = ROUTES_H_V2_LIVE,
	    .fn = routes_v2_live },
	{ .path = "/v2/health/ready", .methods = M_GET | M_HEAD,
	    .allow = "GET, HEAD", .handler = ROUTES_H_V2_READY,
	    .fn = routes_v2_ready },
	{ .suffix = "", .methods = M_GET, .allow = "GET",
	    .handler = ROUTES_H_V2_MODEL, .fn = routes_v2_model },
	{ .suffix = "/ready", .methods = M_GET | M_HEAD, .allow = "GET, HEAD",
	    .handler = ROUTES_H_V2_MODEL_READY, .fn = routes_v2_model_ready },
	{ .suffix = "/infer", .methods = M_POST, .allow = "POST",
	    .handler = ROUTES_H_V2_INFER, .observe = 1,
	    .fn = routes_v2_infer },
};

#define ROUTES_N	(sizeof(routes_table) / sizeof(routes_table[0]))

/* A JSON text in a new buffer with its newline; NULL when out of memory. */
static struct evbuffer *
routes_text(const char *text)
{
	struct evbuffer	*buf;

	if ((buf = evbuffer_new()) == NULL)
		return NULL;
	if (evbuffer_add(buf, text, strlen(text)) == -1 ||
	    evbuffer_add(buf, "\n", 1) == -1) {
		evbuffer_free(buf);
		return NULL;
	}
	return buf;
}

/*
 * A body of infer's formatters (a malloc'd JSON text, taken over; NULL
 * when they ran out of memory) in a new buffer; NULL when out of memory.
 */
static struct evbuffer *
routes_take(char *text)
{
	struct evbuffer	*buf;

	if (text == NULL)
		return NULL;
	buf = routes_text(text);
	free(text);
	return buf;
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
	char	*value, *dec;
	int	 rc;

	if ((value = strndup(raw, vlen)) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	dec = evhttp_uridecode(value, 1, &vlen);
	free(value);
	if (dec == NULL) {
		snprintf(why, len, "malformed delay value");
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
 * The request body as a NUL-terminated string (freed by the caller), or
 * NULL after answering 413 or 500.
 */
static char *
routes_body(struct routes *rt, struct conn_req *r, size_t *len)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(
			    conn_req_http(r));
	size_t		 max = rt->cfg->max_body_bytes;
	char		*body;

	*len = evbuffer_get_length(in);
	if (*len > max) {
		conn_error(r, 413, "request body of %zu bytes exceeds "
		    "max_body_bytes (%zu)", *len, max);
		return NULL;
	}
	if ((body = malloc(*len + 1)) == NULL) {
		conn_error(r, 500, "out of memory");
		return NULL;
	}
	evbuffer_copyout(in, body, *len);
	body[*len] = '\0';
	return body;
}

/*
 * Parse the body, predict its rows and format them (OIP when oip is set);
 * answers errors itself and returns NULL then.
 */
static struct evbuffer *
routes_infer(struct routes *rt, struct conn_req *r, int oip)
{
	const struct model	*m = rt->model;
	struct infer_batch	 b = { 0 };
	struct infer_error	 err;
	struct evbuffer		*out;
	double			*y;
	char			*body;
	size_t			 len;
	int			 rc;

	if ((body = routes_body(rt, r, &len)) == NULL)
		return NULL;
	rc = oip ? infer_parse_oip(body, len, m, rt->cfg->max_batch_rows,
	    &b, &err) : infer_parse_predict(body, len, m,
	    rt->cfg->max_batch_rows, &b, &err);
	free(body);
	if (rc == -1) {
		conn_error(r, err.status, "%s", err.msg);
		return NULL;
	}
	if ((y = calloc(b.rows * model_noutputs(m), sizeof(*y))) == NULL) {
		free(b.x);
		conn_error(r, 500, "out of memory");
		return NULL;
	}
	model_predict(m, b.x, b.rows, y);
	out = routes_take(oip ? infer_format_oip(m, &b, y) :
	    infer_format_predict(m, y, b.rows));
	free(y);
	free(b.x);
	if (out == NULL)
		conn_error(r, 500, "out of memory");
	return out;
}

/*
 * GET /predict answers the probe (see routes_probe); POST /predict predicts
 * the rows of its body.  Both take ?delay=SECONDS.
 */
static void
routes_predict(struct routes *rt, struct conn_req *r, const char *query)
{
	struct evbuffer	*body;

	if (evhttp_request_get_command(conn_req_http(r)) == EVHTTP_REQ_GET)
		body = routes_text(rt->probe);
	else if ((body = routes_infer(rt, r, 0)) == NULL)
		return;		/* answered */
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

	conn_respond(r, 200, routes_take(infer_format_oip_metadata(
	    rt->model)));
}

/* OIP model readiness. */
static void
routes_v2_model_ready(struct routes *rt, struct conn_req *r,
    const char *query)
{
	(void)query;

	conn_respond(r, 200, routes_take(infer_format_oip_ready(rt->model)));
}

/* OIP inference. */
static void
routes_v2_infer(struct routes *rt, struct conn_req *r, const char *query)
{
	struct evbuffer	*body;

	(void)query;

	if ((body = routes_infer(rt, r, 1)) != NULL)
		conn_respond(r, 200, body);
}

/* Whether the percent-encoded path segment name names the model mine. */
static int
routes_is_model(const char *name, size_t len, const char *mine)
{
	char	*raw, *dec;
	size_t	 declen;
	int	 same;

	if ((raw = strndup(name, len)) == NULL)
		return 0;
	dec = evhttp_uridecode(raw, 0, &declen);
	free(raw);
	if (dec == NULL)
		return 0;
	same = declen == strlen(mine) && memcmp(dec, mine, declen) == 0;
	free(dec);
	return same;
}

/*
 * Match path against the routes.  Returns the route, or NULL (404); for a
 * /v2/models/{name} path naming another model, *unknown_model is set.
 */
static const struct routes_route *
routes_match(const struct routes *rt, const char *path, int *unknown_model)
{
	const char	*name, *rest, *mine = model_name(rt->model);
	size_t		 i, namelen;

	*unknown_model = 0;
	for (i = 0; i < ROUTES_N; i++)
		if (routes_table[i].path != NULL &&
		    strcmp(routes_table[i].path, path) == 0)
			return &routes_table[i];
	if (strncmp(path, V2_MODELS, strlen(V2_MODELS)) != 0)
		return NULL;
	name = path + strlen(V2_MODELS);
	rest = strchr(name, '/');
	namelen = rest != NULL ? (size_t)(rest - name) : strlen(name);
	if (rest == NULL)
		rest = "";
	if (namelen == 0)
		return NULL;
	for (i = 0; i < ROUTES_N; i++) {
		if (routes_table[i].suffix == NULL ||
		    strcmp(routes_table[i].suffix, rest) != 0)
			continue;
		*unknown_model = !routes_is_model(name, namelen, mine);
		return &routes_table[i];
	}
	return NULL;
}

/* Route and answer one request. */
void
routes_dispatch(struct routes *rt, struct conn_req *r)
{
	struct evhttp_request		*req = conn_req_http(r);
	const struct evhttp_uri		*uri = evhttp_request_get_evhttp_uri(req);
	const struct routes_route	*route;
	const char			*path, *query;
	int				 unknown_model;

	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	if (path == NULL || *path == '\0')
		path = "/";
	if ((route = routes_match(rt, path, &unknown_model)) == NULL) {
		conn_error(r, 404, "no route for %.200s (see the README's "
		    "Routes)", path);
		return;
	}
	conn_req_set_handler(r, route->handler);
	if ((evhttp_request_get_command(req) & route->methods) == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", route->allow);
		conn_error(r, 405, "method not allowed on %s; use %s",
		    routes_handler_names[route->handler], route->allow);
		return;
	}
	if (unknown_model) {
		conn_error(r, 404, "model not found; this server serves "
		    "\"%s\"", model_name(rt->model));
		return;
	}
	if (route->observe)
		conn_req_set_observe(r);
	route->fn(rt, r, query);
}

/*
 * The answer to GET /predict: the prediction for one row of missing values
 * (every feature follows its default branch), the original service's
 * probe.  The model never changes in a worker's life, so it is computed
 * once.  NULL when out of memory.
 */
static char *
routes_probe(const struct model *m)
{
	size_t	 i, n = model_nfeatures(m);
	float	*x = calloc(n, sizeof(*x));
	double	*y = calloc(model_noutputs(m), sizeof(*y));
	char	*body = NULL;

	if (x != NULL && y != NULL) {
		for (i = 0; i < n; i++)
			x[i] = NAN;
		model_predict(m, x, 1, y);
		body = infer_format_predict(m, y, 1);
	}
	free(x);
	free(y);
	return body;
}

/* Routing for a worker. */
struct routes *
routes_new(const struct config *cfg, const struct model *model)
{
	struct routes	*rt;

	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return NULL;
	rt->cfg = cfg;
	rt->model = model;
	if ((rt->probe = routes_probe(model)) == NULL) {
		free(rt);
		return NULL;
	}
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
