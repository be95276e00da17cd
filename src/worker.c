/*
 * worker: the request path.  Nothing here blocks: a requested delay is a
 * timer.  A response is counted in the metrics slot right before the
 * write(2) that sends it, so that the counts are the responses clients
 * got, also when a worker is killed under load.
 *
 * Life of a request: worker_request() stamps the arrival time, raises the
 * in-flight gauge and routes it; the handler answers at once or arms a
 * timer; worker_respond() hands the reply to evhttp and worker_flush()
 * records it and writes it; evhttp's completion callback, worker_complete(),
 * frees it (or worker_conn_closed(), if the connection dies first).  A
 * request whose client is gone is recorded as 499 when it answers.  Each
 * request is recorded exactly once (worker_record()).
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/keyvalq_struct.h>

#include "inferd/clock.h"
#include "inferd/config.h"
#include "inferd/infer.h"
#include "inferd/log.h"
#include "inferd/model.h"
#include "inferd/shm.h"
#include "inferd/worker.h"

struct worker;

/* One request being answered. */
struct wreq {
	struct worker		*w;
	struct evhttp_request	*req;
	struct wconn		*conn;		/* NULL once it is gone */
	struct event		*timer;		/* pending ?delay= */
	struct timespec		 start;
	enum shm_handler	 handler;
	int			 observe;	/* an inference route */
	int			 status;
	int			 sent;		/* handed to evhttp */
	int			 recorded;	/* counted in the slot */
	int			 gone;		/* its client left */
	char			*body;		/* response kept for a delay */
	TAILQ_ENTRY(wreq)	 entry;		/* in worker's requests */
};

/* One client connection that has sent at least one request. */
struct wconn {
	struct worker		*w;
	struct evhttp_connection *evcon;
	struct wreq		*cur;		/* request being answered */
};

struct worker {
	const struct worker_params *p;
	struct event_base	*base;
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	struct event		*ev_term, *ev_int, *ev_drain, *ev_accept;
	struct event		*ev_linger;
	char			*probe;		/* GET /predict's answer */
	int			 draining;
	int			 lingering;	/* just stopped accepting */
	size_t			 inflight;
	TAILQ_HEAD(, wreq)	 requests;	/* every unrecorded request */
	/* Open-addressing set of connections, keyed by evcon pointer. */
	struct wconn		**conns;
	size_t			 nconns, conncap;
};

/* This process's worker, for the listener's error callback, whose argument
 * belongs to evhttp. */
static struct worker	*worker_self;

typedef void (*worker_handler)(struct worker *, struct wreq *, const char *);

#define M_GET	EVHTTP_REQ_GET
#define M_POST	EVHTTP_REQ_POST
#define M_HEAD	EVHTTP_REQ_HEAD
#define WORKER_ALL_METHODS	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | \
	EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | \
	EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | \
	EVHTTP_REQ_PATCH)

static void	worker_predict(struct worker *, struct wreq *, const char *);
static void	worker_healthz(struct worker *, struct wreq *, const char *);
static void	worker_v2_health(struct worker *, struct wreq *, const char *);
static void	worker_v2_model(struct worker *, struct wreq *, const char *);
static void	worker_v2_ready(struct worker *, struct wreq *, const char *);
static void	worker_v2_infer(struct worker *, struct wreq *, const char *);

/*
 * The routes.  A path is either exact, or /v2/models/{name} followed by
 * suffix; {name} must be the model's name.
 */
static const struct worker_route {
	const char		*path;		/* exact path, or NULL */
	const char		*suffix;	/* after /v2/models/{name} */
	unsigned		 methods;
	const char		*allow;		/* Allow: header for 405 */
	enum shm_handler	 handler;
	int			 observe;
	worker_handler		 fn;
} worker_routes[] = {
	{ .path = "/predict", .methods = M_GET | M_POST, .allow = "GET, POST",
	    .handler = SHM_H_PREDICT, .observe = 1, .fn = worker_predict },
	{ .path = "/healthz", .methods = M_GET | M_HEAD, .allow = "GET, HEAD",
	    .handler = SHM_H_HEALTHZ, .fn = worker_healthz },
	{ .path = "/v2/health/live", .methods = M_GET | M_HEAD,
	    .allow = "GET, HEAD", .handler = SHM_H_V2_LIVE,
	    .fn = worker_v2_health },
	{ .path = "/v2/health/ready", .methods = M_GET | M_HEAD,
	    .allow = "GET, HEAD", .handler = SHM_H_V2_READY,
	    .fn = worker_v2_health },
	{ .suffix = "", .methods = M_GET, .allow = "GET",
	    .handler = SHM_H_V2_MODEL, .fn = worker_v2_model },
	{ .suffix = "/ready", .methods = M_GET | M_HEAD, .allow = "GET, HEAD",
	    .handler = SHM_H_V2_MODEL_READY, .fn = worker_v2_ready },
	{ .suffix = "/infer", .methods = M_POST, .allow = "POST",
	    .handler = SHM_H_V2_INFER, .observe = 1, .fn = worker_v2_infer },
};

#define NROUTES	(sizeof(worker_routes) / sizeof(worker_routes[0]))
#define WORKER_CLIENT_GONE	499	/* counted status, as nginx does */
#define WORKER_ACCEPT_RETRY	0.1	/* seconds; after accept(2) fails */
#define WORKER_DRAIN_LINGER	0.2	/* seconds for just-accepted clients */
#define V2_MODELS	"/v2/models/"

/* Hash slot of evcon in the connection set. */
static size_t
worker_conn_pos(const struct worker *w, const struct evhttp_connection *evcon)
{
	uintptr_t	h = (uintptr_t)evcon;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 7) & (w->conncap - 1);
}

/* Find evcon's connection, or NULL. */
static struct wconn *
worker_conn_find(const struct worker *w, const struct evhttp_connection *evcon)
{
	size_t	i = worker_conn_pos(w, evcon);

	while (w->conns[i] != NULL) {
		if (w->conns[i]->evcon == evcon)
			return w->conns[i];
		i = (i + 1) & (w->conncap - 1);
	}
	return NULL;
}

/* Remove c from the set, re-inserting the rest of its cluster. */
static void
worker_conn_remove(struct worker *w, struct wconn *c)
{
	size_t		 i = worker_conn_pos(w, c->evcon), j;
	struct wconn	*move;

	while (w->conns[i] != c)
		i = (i + 1) & (w->conncap - 1);
	w->conns[i] = NULL;
	w->nconns--;
	for (j = (i + 1) & (w->conncap - 1); w->conns[j] != NULL;
	    j = (j + 1) & (w->conncap - 1)) {
		move = w->conns[j];
		w->conns[j] = NULL;
		i = worker_conn_pos(w, move->evcon);
		while (w->conns[i] != NULL)
			i = (i + 1) & (w->conncap - 1);
		w->conns[i] = move;
	}
}

/*
 * Count a request in the slot, once: its status, its latency if it is an
 * inference, and one fewer in flight.
 */
static void
worker_record(struct wreq *r)
{
	struct worker	*w = r->w;

	if (r->recorded)
		return;
	r->recorded = 1;
	shm_record(w->p->seg, w->p->slot, r->handler, r->status, r->observe,
	    clock_since(&r->start));
	atomic_fetch_sub_explicit(&w->p->slot->in_flight, 1,
	    memory_order_relaxed);
	w->inflight--;
}

/* A draining worker leaves once every response is out. */
static void
worker_maybe_exit(struct worker *w)
{
	if (w->draining && !w->lingering && TAILQ_EMPTY(&w->requests))
		event_base_loopexit(w->base, NULL);
}

/* Record a request (if not yet done) and free it. */
static void
worker_finish(struct wreq *r)
{
	struct worker	*w = r->w;

	worker_record(r);
	TAILQ_REMOVE(&w->requests, r, entry);
	if (r->conn != NULL)
		r->conn->cur = NULL;
	if (r->timer != NULL)
		event_free(r->timer);
	free(r->body);
	free(r);
	worker_maybe_exit(w);
}

/* evhttp wrote the whole response. */
static void
worker_complete(struct evhttp_request *req, void *arg)
{
	(void)req;

	worker_finish(arg);
}

/*
 * A connection went away.  A response already handed to evhttp is
 * recorded now (evhttp frees it with the connection); a request still
 * waiting for its delay is detached and recorded when it answers.
 */
static void
worker_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct wconn	*c = arg;
	struct worker	*w = c->w;
	struct wreq	*r = c->cur;

	(void)evcon;

	worker_conn_remove(w, c);
	free(c);
	if (r != NULL) {
		r->conn = NULL;
		if (r->sent)
			worker_finish(r);
	}
}

/*
 * The connection of a new request: known, or registered now.  Returns NULL
 * with *full set when the worker already holds max_connections of them.
 */
static struct wconn *
worker_conn_get(struct worker *w, struct evhttp_connection *evcon, int *full)
{
	struct wconn	*c;
	size_t		 i;

	*full = 0;
	if ((c = worker_conn_find(w, evcon)) != NULL)
		return c;
	if (w->nconns >= w->p->cfg->max_connections) {
		*full = 1;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->w = w;
	c->evcon = evcon;
	i = worker_conn_pos(w, evcon);
	while (w->conns[i] != NULL)
		i = (i + 1) & (w->conncap - 1);
	w->conns[i] = c;
	w->nconns++;
	evhttp_connection_set_closecb(evcon, worker_conn_closed, c);
	return c;
}

/*
 * Write a response evhttp has just queued, now, and count it in the same
 * breath.  evhttp alone would write it on the next turn of the loop, and a
 * worker killed in between would leave a counted response unsent; counting
 * after the write instead would leave a sent response uncounted, the more
 * often as the write itself wakes the client and invites a preemption.
 * Counting right before a write(2) that needs no further event narrows
 * the window to a few instructions.  Then evhttp is told the write is done
 * (its completion callback frees r, so r is not touched afterwards).
 */
static void
worker_flush(struct wreq *r)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
	struct bufferevent	 *bev = evhttp_connection_get_bufferevent(evcon);
	struct evbuffer		 *out = bufferevent_get_output(bev);

	worker_record(r);
	if (evbuffer_write(out, bufferevent_getfd(bev)) <= 0 ||
	    evbuffer_get_length(out) > 0)
		return;		/* evhttp writes the rest as usual */
	/*
	 * As bufferevent's own write callback would, take the socket out of
	 * the loop before evhttp hears of it: evhttp may close the socket in
	 * its callback (Connection: close) and libevent 2.1 would then touch
	 * a closed descriptor.  evhttp enables reading again for the next
	 * request of a kept-alive connection.
	 */
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	bufferevent_trigger(bev, EV_WRITE, 0);
}

/* The reason phrase of the status codes inferd sends. */
static const char *
worker_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/*
 * Send body (a NUL-terminated JSON text, taken over; NULL means out of
 * memory) with status.  The request is recorded when evhttp has written
 * it, or at once if its client is gone.
 */
static void
worker_respond(struct wreq *r, int status, char *body)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(r->req);
	struct evbuffer		*buf;

	if (body == NULL)
		status = 500;
	r->status = r->gone ? WORKER_CLIENT_GONE : status;
	if (r->conn == NULL || evhttp_request_get_connection(r->req) == NULL) {
		free(body);
		/* The client left: nobody gets this answer. */
		r->status = WORKER_CLIENT_GONE;
		/* evhttp frees a request whose connection is gone. */
		evhttp_send_reply(r->req, status, NULL, NULL);
		worker_finish(r);
		return;
	}
	evhttp_add_header(out, "Content-Type", "application/json");
	if (r->w->draining)
		evhttp_add_header(out, "Connection", "close");
	if ((buf = evbuffer_new()) != NULL) {
		if (body != NULL)
			evbuffer_add_printf(buf, "%s\n", body);
		else
			evbuffer_add_printf(buf, "{\"error\":\"out of "
			    "memory\"}\n");
	}
	free(body);
	r->sent = 1;
	evhttp_request_set_on_complete_cb(r->req, worker_complete, r);
	evhttp_send_reply(r->req, status, worker_reason(status), buf);
	if (buf != NULL)
		evbuffer_free(buf);
	worker_flush(r);
}

/* Respond with {"error": message}. */
static void __attribute__((format(printf, 3, 4)))
worker_error(struct wreq *r, int status, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	worker_respond(r, status, infer_format_error(msg));
}

/*
 * Whether the client of r closed its connection while r waited: evhttp
 * does not read a connection whose request is being answered, so look.
 */
static int
worker_client_left(struct wreq *r)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
	char			  c;

	if (r->conn == NULL || evcon == NULL)
		return 1;
	return recv(bufferevent_getfd(evhttp_connection_get_bufferevent(evcon)),
	    &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/*
 * The delay timer fired: send the response kept for it.  If the client has
 * gone meanwhile, the request counts as 499.
 */
static void
worker_delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct wreq	*r = arg;
	char		*body = r->body;

	(void)fd;
	(void)what;

	r->body = NULL;
	if (worker_client_left(r))
		r->gone = 1;
	worker_respond(r, 200, body);
}

/* Check a delay value: a plain decimal number of seconds in [0, max]. */
static int
worker_check_delay(const char *s, size_t len, double max, double *delay,
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

/*
 * Find ?delay=SECONDS in the raw query (NULL: none); other parameters are
 * ignored.  Returns 0 with *delay set (0 when absent), or -1 with a
 * message in why.
 */
static int
worker_parse_delay(const char *query, double max, double *delay, char *why,
    size_t len)
{
	const char	*p, *amp, *eq;
	char		*value;
	size_t		 vlen;
	int		 seen = 0, rc;

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
		if ((value = strndup(eq + 1, vlen)) == NULL) {
			snprintf(why, len, "out of memory");
			return -1;
		}
		{
			char *dec = evhttp_uridecode(value, 1, &vlen);
			free(value);
			if (dec == NULL) {
				snprintf(why, len, "malformed delay value");
				return -1;
			}
			rc = worker_check_delay(dec, vlen, max, delay, why,
			    len);
			free(dec);
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*
 * The request body as a NUL-terminated string (freed by the caller), or
 * NULL after answering 413 or 500.
 */
static char *
worker_body(struct wreq *r, size_t *len)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(r->req);
	size_t		 max = r->w->p->cfg->max_body_bytes;
	char		*body;

	*len = evbuffer_get_length(in);
	if (*len > max) {
		worker_error(r, 413, "request body of %zu bytes exceeds "
		    "max_body_bytes (%zu)", *len, max);
		return NULL;
	}
	if ((body = malloc(*len + 1)) == NULL) {
		worker_error(r, 500, "out of memory");
		return NULL;
	}
	evbuffer_copyout(in, body, *len);
	body[*len] = '\0';
	return body;
}

/*
 * Answer now, or after the delay the query asked for.  body is the
 * response, already computed; it is taken over.
 */
static void
worker_answer_after(struct worker *w, struct wreq *r, const char *query,
    char *body)
{
	struct timeval	tv;
	char		why[256];
	double		delay;

	if (worker_parse_delay(query, w->p->cfg->max_delay, &delay, why,
	    sizeof(why)) == -1) {
		free(body);
		worker_respond(r, 400, infer_format_error(why));
		return;
	}
	if (body == NULL || delay <= 0) {
		worker_respond(r, 200, body);
		return;
	}
	if ((r->timer = evtimer_new(w->base, worker_delay_done, r)) == NULL) {
		free(body);
		worker_error(r, 500, "cannot create the delay timer");
		return;
	}
	r->body = body;
	tv = clock_tv(delay);
	evtimer_add(r->timer, &tv);
}

/*
 * Parse the body with parse, predict its rows and format them; answers
 * errors itself and returns NULL then.  oip selects the OIP format.
 */
static char *
worker_infer(struct worker *w, struct wreq *r, int oip)
{
	const struct model	*m = w->p->model;
	struct infer_batch	 b = { 0 };
	struct infer_error	 err;
	double			*y;
	char			*body;
	size_t			 len;
	int			 rc;

	if ((body = worker_body(r, &len)) == NULL)
		return NULL;
	rc = oip ? infer_parse_oip(body, len, m, w->p->cfg->max_batch_rows,
	    &b, &err) : infer_parse_predict(body, len, m,
	    w->p->cfg->max_batch_rows, &b, &err);
	free(body);
	if (rc == -1) {
		worker_respond(r, err.status, infer_format_error(err.msg));
		return NULL;
	}
	if ((y = calloc(b.rows * model_noutputs(m), sizeof(*y))) == NULL) {
		free(b.x);
		worker_error(r, 500, "out of memory");
		return NULL;
	}
	model_predict(m, b.x, b.rows, y);
	body = oip ? infer_format_oip(m, &b, y) :
	    infer_format_predict(m, y, b.rows);
	free(y);
	free(b.x);
	if (body == NULL)
		worker_error(r, 500, "out of memory");
	return body;
}

/*
 * The answer to GET /predict: the prediction for one row of missing values
 * (every feature follows its default branch), the original service's
 * probe.  The model never changes in a worker's life, so it is computed
 * once.  NULL when out of memory.
 */
static char *
worker_probe_body(const struct model *m)
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

/*
 * GET /predict answers the probe (see worker_probe_body); POST /predict
 * predicts the rows of its body.  Both take ?delay=SECONDS.
 */
static void
worker_predict(struct worker *w, struct wreq *r, const char *query)
{
	char	*body;

	if (evhttp_request_get_command(r->req) == EVHTTP_REQ_GET)
		body = strdup(w->probe);
	else if ((body = worker_infer(w, r, 0)) == NULL)
		return;		/* answered */
	worker_answer_after(w, r, query, body);
}

/* GET /healthz: the worker's loop answers. */
static void
worker_healthz(struct worker *w, struct wreq *r, const char *query)
{
	(void)w;
	(void)query;

	worker_respond(r, 200, strdup("{\"status\":\"ok\"}"));
}

/* OIP liveness and readiness: a worker only runs with a loaded model. */
static void
worker_v2_health(struct worker *w, struct wreq *r, const char *query)
{
	(void)w;
	(void)query;

	worker_respond(r, 200, strdup(r->handler == SHM_H_V2_LIVE ?
	    "{\"live\":true}" : "{\"ready\":true}"));
}

/* OIP model metadata. */
static void
worker_v2_model(struct worker *w, struct wreq *r, const char *query)
{
	(void)query;

	worker_respond(r, 200, infer_format_oip_metadata(w->p->model));
}

/* OIP model readiness. */
static void
worker_v2_ready(struct worker *w, struct wreq *r, const char *query)
{
	(void)query;

	worker_respond(r, 200, infer_format_oip_ready(w->p->model));
}

/* OIP inference. */
static void
worker_v2_infer(struct worker *w, struct wreq *r, const char *query)
{
	char	*body;

	(void)query;

	if ((body = worker_infer(w, r, 1)) != NULL)
		worker_respond(r, 200, body);
}

/* Whether the percent-encoded path segment name names the model mine. */
static int
worker_is_model(const char *name, size_t len, const char *mine)
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
static const struct worker_route *
worker_route(const struct worker *w, const char *path, int *unknown_model)
{
	const char	*name, *rest, *mine = model_name(w->p->model);
	size_t		 i, namelen;

	*unknown_model = 0;
	for (i = 0; i < NROUTES; i++)
		if (worker_routes[i].path != NULL &&
		    strcmp(worker_routes[i].path, path) == 0)
			return &worker_routes[i];
	if (strncmp(path, V2_MODELS, strlen(V2_MODELS)) != 0)
		return NULL;
	name = path + strlen(V2_MODELS);
	rest = strchr(name, '/');
	namelen = rest != NULL ? (size_t)(rest - name) : strlen(name);
	if (rest == NULL)
		rest = "";
	if (namelen == 0)
		return NULL;
	for (i = 0; i < NROUTES; i++) {
		if (worker_routes[i].suffix == NULL ||
		    strcmp(worker_routes[i].suffix, rest) != 0)
			continue;
		*unknown_model = !worker_is_model(name, namelen, mine);
		return &worker_routes[i];
	}
	return NULL;
}

/* Refuse a connection beyond max_connections with 503 and close it. */
static void
worker_refuse(struct wreq *r)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(r->req);
	struct evbuffer		*buf = evbuffer_new();
	char			 msg[128], *body;

	r->status = 503;
	evhttp_add_header(out, "Connection", "close");
	evhttp_add_header(out, "Content-Type", "application/json");
	snprintf(msg, sizeof(msg), "this worker holds max_connections (%u) "
	    "connections; retry later", r->w->p->cfg->max_connections);
	if (buf != NULL && (body = infer_format_error(msg)) != NULL) {
		evbuffer_add_printf(buf, "%s\n", body);
		free(body);
	}
	evhttp_send_reply(r->req, 503, worker_reason(503), buf);
	if (buf != NULL)
		evbuffer_free(buf);
	worker_finish(r);
}

/* evhttp's callback for every request. */
static void
worker_request(struct evhttp_request *req, void *arg)
{
	struct worker			*w = arg;
	const struct evhttp_uri		*uri = evhttp_request_get_evhttp_uri(req);
	const struct worker_route	*route;
	struct wreq			*r;
	const char			*path, *query;
	int				 full, unknown_model;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->w = w;
	r->req = req;
	r->handler = SHM_H_OTHER;
	w->inflight++;
	TAILQ_INSERT_TAIL(&w->requests, r, entry);
	atomic_fetch_add_explicit(&w->p->slot->in_flight, 1,
	    memory_order_relaxed);

	r->conn = worker_conn_get(w, evhttp_request_get_connection(req), &full);
	if (r->conn == NULL) {
		worker_refuse(r);
		return;
	}
	r->conn->cur = r;

	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	if (path == NULL || *path == '\0')
		path = "/";
	if ((route = worker_route(w, path, &unknown_model)) == NULL) {
		worker_error(r, 404, "no route for %.200s (see the README's "
		    "Routes)", path);
		return;
	}
	r->handler = route->handler;
	if ((evhttp_request_get_command(req) & route->methods) == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", route->allow);
		worker_error(r, 405, "method not allowed on %s; use %s",
		    shm_handler_names[route->handler], route->allow);
		return;
	}
	if (unknown_model) {
		worker_error(r, 404, "model not found; this server serves "
		    "\"%s\"", model_name(w->p->model));
		return;
	}
	r->observe = route->observe;
	route->fn(w, r, query);
}

/*
 * accept(2) failed for another reason than a client giving up: most often
 * the process is out of file descriptors.  Stop accepting for a moment
 * instead of retrying in a busy loop; connections wait in the backlog.
 */
static void
worker_accept_error(struct evconnlistener *l, void *arg)
{
	struct worker	*w = worker_self;	/* arg is evhttp's */
	struct timeval	 tv;

	(void)arg;

	if (!evtimer_pending(w->ev_accept, NULL))
		log_warn("worker %u: accept; pausing %g s", w->p->index,
		    WORKER_ACCEPT_RETRY);
	evconnlistener_disable(l);
	tv = clock_tv(WORKER_ACCEPT_RETRY);
	evtimer_add(w->ev_accept, &tv);
}

/* The pause after an accept error is over. */
static void
worker_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;

	if (w->bound != NULL)
		evconnlistener_enable(evhttp_bound_socket_get_listener(
		    w->bound));
}

/*
 * SIGTERM or SIGINT: stop accepting and drain.  Connections accepted just
 * before may still be sending their first request: they get
 * WORKER_DRAIN_LINGER seconds to do so.  Then the worker leaves as soon as
 * nothing is in flight, or when drain_timeout has passed.
 */
static void
worker_stop(evutil_socket_t sig, short what, void *arg)
{
	struct worker	*w = arg;
	double		 t = w->p->cfg->drain_timeout;
	struct timeval	 tv;

	(void)sig;
	(void)what;

	if (w->draining)
		return;
	w->draining = 1;
	w->lingering = 1;
	if (w->bound != NULL) {
		evhttp_del_accept_socket(w->http, w->bound);
		w->bound = NULL;
	}
	log_debug("worker %u: draining %zu requests", w->p->index,
	    w->inflight);
	tv = clock_tv(t);
	evtimer_add(w->ev_drain, &tv);
	tv = clock_tv(t < WORKER_DRAIN_LINGER ? t : WORKER_DRAIN_LINGER);
	evtimer_add(w->ev_linger, &tv);
}

/* The linger after a stop is over: leave if nothing is in flight. */
static void
worker_linger_done(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;

	w->lingering = 0;
	worker_maybe_exit(w);
}

/* The drain timeout passed with requests still in flight. */
static void
worker_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;

	if (w->inflight > 0)
		log_warnx("worker %u: drain_timeout passed with %zu requests "
		    "in flight; exiting", w->p->index, w->inflight);
	event_base_loopexit(w->base, NULL);
}

/*
 * Free what worker_run allocated.  Requests still unanswered after a drain
 * timeout are dropped unrecorded: the master zeroes the slot's in-flight
 * gauge when it reaps this process.
 */
static void
worker_free(struct worker *w)
{
	struct wreq	*r;
	size_t		 i;

	if (w->http != NULL)
		evhttp_free(w->http);
	while ((r = TAILQ_FIRST(&w->requests)) != NULL) {
		TAILQ_REMOVE(&w->requests, r, entry);
		if (r->timer != NULL)
			event_free(r->timer);
		free(r->body);
		free(r);
	}
	for (i = 0; w->conns != NULL && i < w->conncap; i++)
		free(w->conns[i]);
	free(w->conns);
	free(w->probe);
	if (w->ev_term != NULL)
		event_free(w->ev_term);
	if (w->ev_int != NULL)
		event_free(w->ev_int);
	if (w->ev_drain != NULL)
		event_free(w->ev_drain);
	if (w->ev_accept != NULL)
		event_free(w->ev_accept);
	if (w->ev_linger != NULL)
		event_free(w->ev_linger);
	if (w->base != NULL)
		event_base_free(w->base);
}

/* Run one worker; returns its exit status. */
int
worker_run(const struct worker_params *p)
{
	struct worker	 w = { .p = p };
	const struct config *cfg = p->cfg;
	struct timeval	 tv;
	int		 rc = 1;

	TAILQ_INIT(&w.requests);
	worker_self = &w;
	atomic_store_explicit(&p->slot->pid, (int32_t)getpid(),
	    memory_order_relaxed);
	if ((w.probe = worker_probe_body(p->model)) == NULL) {
		log_warnx("worker %u: out of memory", p->index);
		goto out;
	}
	for (w.conncap = 16; w.conncap < 2 * (size_t)cfg->max_connections;)
		w.conncap *= 2;
	if ((w.conns = calloc(w.conncap, sizeof(*w.conns))) == NULL) {
		log_warn("worker %u: calloc", p->index);
		goto out;
	}
	if ((w.base = event_base_new()) == NULL) {
		log_warnx("worker %u: event_base_new failed", p->index);
		goto out;
	}
	if ((w.http = evhttp_new(w.base)) == NULL) {
		log_warnx("worker %u: evhttp_new failed", p->index);
		goto out;
	}
	/* Every method reaches the routes, which answer 405 themselves. */
	evhttp_set_allowed_methods(w.http, WORKER_ALL_METHODS);
	evhttp_set_max_body_size(w.http, (ev_ssize_t)cfg->max_body_bytes);
	evhttp_set_max_headers_size(w.http, (ev_ssize_t)cfg->max_header_bytes);
	tv = clock_tv(cfg->request_timeout);
	evhttp_set_timeout_tv(w.http, &tv);
	evhttp_set_gencb(w.http, worker_request, &w);
	if ((w.bound = evhttp_accept_socket_with_handle(w.http,
	    p->listen_fd)) == NULL) {
		log_warnx("worker %u: cannot accept on fd %d", p->index,
		    p->listen_fd);
		goto out;
	}
	w.ev_term = evsignal_new(w.base, SIGTERM, worker_stop, &w);
	w.ev_int = evsignal_new(w.base, SIGINT, worker_stop, &w);
	w.ev_drain = evtimer_new(w.base, worker_drain_timeout, &w);
	w.ev_accept = evtimer_new(w.base, worker_accept_resume, &w);
	w.ev_linger = evtimer_new(w.base, worker_linger_done, &w);
	if (w.ev_accept != NULL)
		evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(
		    w.bound), worker_accept_error);
	if (w.ev_term == NULL || w.ev_int == NULL || w.ev_drain == NULL ||
	    w.ev_accept == NULL || w.ev_linger == NULL ||
	    evsignal_add(w.ev_term, NULL) == -1 ||
	    evsignal_add(w.ev_int, NULL) == -1) {
		log_warnx("worker %u: cannot set up signals", p->index);
		goto out;
	}
	if (event_base_dispatch(w.base) == -1) {
		log_warnx("worker %u: event loop failed", p->index);
		goto out;
	}
	rc = 0;
out:
	worker_free(&w);
	return rc;
}
