/*
 * metrics_http: /metrics and /healthz on the master's metrics listener,
 * served by the same HTTP layer as the workers (conn.h), with its routes
 * in a table.  A scrape sums the workers' slots at the moment it arrives
 * (see shm.h) and takes the master's own figures from its fill callback,
 * gzip-compressed when the client accepts it (Prometheus does);
 * /healthz asks only how many workers are alive (no /proc read).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "inferd/conn.h"
#include "inferd/expo.h"
#include "inferd/expo_pb.h"
#include "inferd/log.h"
#include "inferd/metrics_http.h"
#include "inferd/reply.h"
#include "inferd/shm.h"

#define METRICS_HTTP_MAX_BODY	4096	/* bytes; a scrape has no body */
#define METRICS_HTTP_BODY_MEMORY (64 * METRICS_HTTP_MAX_BODY)
#define METRICS_HTTP_PIPELINE	2	/* responses queued per connection */

struct metrics_http {
	struct conn_set		 *conns;
	const struct shm_segment *seg;
	metrics_http_fill_cb	  fill;
	metrics_http_alive_cb	  alive;
	void			 *arg;
};

typedef void (*metrics_http_fn)(struct metrics_http *, struct conn_req *);

static void	metrics_http_metrics(struct metrics_http *, struct conn_req *);
static void	metrics_http_healthz(struct metrics_http *, struct conn_req *);

/* The metrics port's routes; HEAD is answered like GET, without a body. */
static const struct metrics_http_route {
	const char	*path;
	unsigned	 methods;
	const char	*allow;
	metrics_http_fn	 fn;
} metrics_http_routes[] = {
	{ "/metrics", HTTP_M_GET | HTTP_M_HEAD, "GET, HEAD",
	    metrics_http_metrics },
	{ "/healthz", HTTP_M_GET | HTTP_M_HEAD, "GET, HEAD",
	    metrics_http_healthz },
};

#define METRICS_HTTP_NROUTES \
	(sizeof(metrics_http_routes) / sizeof(metrics_http_routes[0]))

/* GET /metrics: the exposition, in the format the client prefers. */
static void
metrics_http_metrics(struct metrics_http *mh, struct conn_req *r)
{
	struct shm_snapshot	 snap;
	struct expo_metrics	 em;
	struct evbuffer		*buf, *gz;
	enum expo_format	 fmt;

	memset(&em, 0, sizeof(em));
	mh->fill(&em, mh->arg);
	shm_snapshot(mh->seg, &snap);
	em.snap = &snap;
	fmt = expo_negotiate(conn_req_header(r, "Accept"));
	if ((buf = evbuffer_new()) == NULL || (fmt == EXPO_PROTOBUF ?
	    expo_pb_write(buf, &em) : expo_write(buf, fmt, &em)) == -1) {
		if (buf != NULL)
			evbuffer_free(buf);
		conn_error(r, 500, "out of memory");
		return;
	}
	if (conn_req_add_header(r, "Content-Type",
	    expo_content_type(fmt)) == -1 ||
	    conn_req_add_header(r, "Vary", "Accept-Encoding") == -1) {
		evbuffer_free(buf);
		conn_error(r, 500, "out of memory");
		return;
	}
	/* Prometheus asks for gzip: a scrape shrinks about tenfold. */
	if (reply_accepts_gzip(conn_req_header(r, "Accept-Encoding"))) {
		gz = reply_gzip(buf);
		evbuffer_free(buf);
		if (gz == NULL || conn_req_add_header(r, "Content-Encoding",
		    "gzip") == -1) {
			if (gz != NULL)
				evbuffer_free(gz);
			conn_error(r, 500, "out of memory");
			return;
		}
		buf = gz;
	}
	conn_respond(r, 200, buf);
}

/* GET /healthz: whether any worker serves. */
static void
metrics_http_healthz(struct metrics_http *mh, struct conn_req *r)
{
	unsigned	stalled = 0, n = mh->alive(mh->arg, &stalled);

	if (n == 0)
		conn_respond(r, 503, reply_json_new("{\"status\":"
		    "\"unavailable\",\"workers_alive\":0}"));
	else if (stalled > 0)
		conn_respond(r, 503, reply_json_new("{\"status\":"
		    "\"stalled\",\"workers_alive\":%u,\"workers_stalled\":%u}",
		    n, stalled));
	else
		conn_respond(r, 200, reply_json_new("{\"status\":\"ok\","
		    "\"workers_alive\":%u}", n));
}

/* Route a request on the metrics port (conn's callback). */
static void
metrics_http_route(struct conn_req *r, void *arg)
{
	struct metrics_http			*mh = arg;
	const struct metrics_http_route		*rt = NULL;
	size_t					 i;

	for (i = 0; i < METRICS_HTTP_NROUTES; i++)
		if (strcmp(metrics_http_routes[i].path,
		    conn_req_path(r)) == 0)
			rt = &metrics_http_routes[i];
	if (rt == NULL) {
		conn_error(r, 404, "no such route; this port serves /metrics "
		    "and /healthz");
		return;
	}
	if ((conn_req_method(r) & rt->methods) == 0) {
		conn_req_add_header(r, "Allow", rt->allow);
		conn_error(r, 405, "method not allowed; use GET");
		return;
	}
	rt->fn(mh, r);
}

/* The HTTP layer's bounds of the metrics port. */
static struct conn_params
metrics_http_params(const struct metrics_http_limits *lim)
{
	return (struct conn_params){
		.name = "metrics",
		.max_connections = lim->max_connections,
		.header_timeout = lim->timeout,
		.body_timeout = lim->timeout,
		.keepalive_timeout = lim->timeout,
		.write_timeout = lim->timeout,
		.max_header_bytes = lim->max_header_bytes,
		.max_body_bytes = METRICS_HTTP_MAX_BODY,
		.max_body_memory = METRICS_HTTP_BODY_MEMORY,
		.pipeline_depth = METRICS_HTTP_PIPELINE,
	};
}

/* New bounds; see metrics_http.h. */
void
metrics_http_set_limits(struct metrics_http *mh,
    const struct metrics_http_limits *lim)
{
	struct conn_params	p = metrics_http_params(lim);

	conn_set_params(mh->conns, &p);
}

/* Serve the metrics port. */
struct metrics_http *
metrics_http_new(struct event_base *base, int fd,
    const struct metrics_http_limits *lim, const struct shm_segment *seg,
    metrics_http_fill_cb fill, metrics_http_alive_cb alive, void *arg)
{
	struct metrics_http	*mh;
	struct conn_params	 p = metrics_http_params(lim);

	if ((mh = calloc(1, sizeof(*mh))) == NULL) {
		log_warn("metrics: calloc");
		close(fd);
		return NULL;
	}
	*mh = (struct metrics_http){ .seg = seg, .fill = fill, .alive = alive,
	    .arg = arg };
	if ((mh->conns = conn_set_new(base, fd, &p, NULL, NULL, 0,
	    metrics_http_route, NULL, mh)) == NULL) {
		log_warnx("metrics: cannot serve on fd %d", fd);
		free(mh);
		return NULL;
	}
	return mh;
}

/* Free the server. */
void
metrics_http_free(struct metrics_http *mh)
{
	if (mh == NULL)
		return;
	conn_set_free(mh->conns);
	free(mh);
}
