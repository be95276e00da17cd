/*
 * metrics_http: /metrics and /healthz on the master's metrics listener.
 * A scrape sums the workers' slots at the moment it arrives (see shm.h) and
 * takes the master's own figures from its fill callback.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "inferd/clock.h"
#include "inferd/expo.h"
#include "inferd/expo_pb.h"
#include "inferd/guard.h"
#include "inferd/log.h"
#include "inferd/metrics_http.h"
#include "inferd/reply.h"
#include "inferd/shm.h"

#define METRICS_HTTP_MAX_BODY	4096	/* bytes; a scrape has no body */

struct metrics_http {
	struct evhttp		 *http;
	struct guard		 *guard;
	const struct shm_segment *seg;
	metrics_http_fill_cb	  fill;
	void			 *arg;
};

/* GET /metrics: the exposition, in the format the client prefers. */
static void
metrics_http_metrics(struct metrics_http *mh, struct evhttp_request *req)
{
	struct shm_snapshot	 snap;
	struct expo_metrics	 em;
	struct evbuffer		*buf;
	enum expo_format	 fmt;

	memset(&em, 0, sizeof(em));
	mh->fill(&em, mh->arg);
	shm_snapshot(mh->seg, &snap);
	em.snap = &snap;
	fmt = expo_negotiate(evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Accept"));
	if ((buf = evbuffer_new()) == NULL || (fmt == EXPO_PROTOBUF ?
	    expo_pb_write(buf, &em) : expo_write(buf, fmt, &em)) == -1) {
		if (buf != NULL)
			evbuffer_free(buf);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", expo_content_type(fmt));
	evhttp_send_reply(req, 200, reply_reason(200), buf);
	evbuffer_free(buf);
}

/* evhttp's callback for every request on the metrics port. */
static void
metrics_http_request(struct evhttp_request *req, void *arg)
{
	struct metrics_http	*mh = arg;
	const char		*path = evhttp_uri_get_path(
				    evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct expo_metrics	 em;

	guard_request(mh->guard, req);
	if (path == NULL || (strcmp(path, "/metrics") != 0 &&
	    strcmp(path, "/healthz") != 0)) {
		reply_send(req, 404, reply_error_new("no such route; this "
		    "port serves /metrics and /healthz"));
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		reply_send(req, 405, reply_error_new("method not allowed; "
		    "use GET"));
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		memset(&em, 0, sizeof(em));
		mh->fill(&em, mh->arg);
		if (em.workers_alive == 0)
			reply_send(req, 503, reply_json_new("{\"status\":"
			    "\"unavailable\",\"workers_alive\":0}"));
		else if (em.workers_stalled > 0)
			reply_send(req, 503, reply_json_new("{\"status\":"
			    "\"stalled\",\"workers_alive\":%u,"
			    "\"workers_stalled\":%u}", em.workers_alive,
			    em.workers_stalled));
		else
			reply_send(req, 200, reply_json_new("{\"status\":"
			    "\"ok\",\"workers_alive\":%u}", em.workers_alive));
		return;
	}
	metrics_http_metrics(mh, req);
}

/* The guard's parameters of the metrics port's bounds. */
static struct guard_params
metrics_http_guard_params(const struct metrics_http_limits *lim)
{
	return (struct guard_params){
		.name = "metrics",
		.max_connections = lim->max_connections,
		.header_timeout = lim->timeout,
		.body_timeout = lim->timeout,
		.keepalive_timeout = lim->timeout,
	};
}

/* Apply the bounds to evhttp (the guard has its own). */
static void
metrics_http_apply(struct metrics_http *mh,
    const struct metrics_http_limits *lim)
{
	struct timeval	tv = clock_tv(lim->timeout);

	evhttp_set_timeout_tv(mh->http, &tv);
	evhttp_set_max_headers_size(mh->http,
	    (ev_ssize_t)lim->max_header_bytes);
}

/* New bounds; see metrics_http.h. */
void
metrics_http_set_limits(struct metrics_http *mh,
    const struct metrics_http_limits *lim)
{
	struct guard_params	gp = metrics_http_guard_params(lim);

	guard_set_params(mh->guard, &gp);
	metrics_http_apply(mh, lim);
}

/* Serve the metrics port. */
struct metrics_http *
metrics_http_new(struct event_base *base, int fd,
    const struct metrics_http_limits *lim, const struct shm_segment *seg,
    metrics_http_fill_cb fill, void *arg)
{
	struct metrics_http	*mh;
	struct guard_params	 gp = metrics_http_guard_params(lim);

	if ((mh = calloc(1, sizeof(*mh))) == NULL) {
		log_warn("metrics: calloc");
		close(fd);
		return NULL;
	}
	*mh = (struct metrics_http){ .seg = seg, .fill = fill, .arg = arg };
	if ((mh->http = evhttp_new(base)) == NULL ||
	    (mh->guard = guard_new(base, mh->http, fd, &gp, NULL, NULL)) ==
	    NULL) {
		log_warnx("metrics: cannot serve on fd %d", fd);
		close(fd);
		metrics_http_free(mh);
		return NULL;
	}
	evhttp_set_allowed_methods(mh->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	metrics_http_apply(mh, lim);
	evhttp_set_max_body_size(mh->http, METRICS_HTTP_MAX_BODY);
	evhttp_set_gencb(mh->http, metrics_http_request, mh);
	return mh;
}

/* Free the server. */
void
metrics_http_free(struct metrics_http *mh)
{
	if (mh == NULL)
		return;
	if (mh->guard != NULL)
		guard_stop(mh->guard);
	if (mh->http != NULL)
		evhttp_free(mh->http);
	guard_free(mh->guard);
	free(mh);
}
