/*
 * conn: inferd's HTTP/1.1 server on libevent (its event loop and
 * evbuffers; no evhttp), for the workers' inference port and the master's
 * metrics port alike.  One struct conn per connection holds the socket,
 * its state, its input and output buffers, its deadlines and its requests
 * (nginx's ngx_connection_t, memcached's conn); doc/http.md tells why.
 *
 * A connection is in one state at a time:
 *   HEAD     reading a request head (whole deadline header_timeout, from
 *            accept or from the first byte of a later request)
 *   BODY     reading its body by its framing (whole deadline body_timeout
 *            from the end of the head)
 *   HANDLER  the route is answering (no read deadline: the route's own
 *            bounds apply; input is read only up to max_header_bytes)
 *   IDLE     kept alive between requests (keepalive_timeout once every
 *            response is written)
 *   LINGER   closing: the last response is written, then the socket's
 *            writing side is shut down and input discarded for at most
 *            CONN_LINGER seconds, so that the client reads the answer
 *   Output is written whenever there is some, in every state; a response
 *   whose bytes the client does not take within write_timeout of the
 *   moment the output last was empty closes the connection (a whole time:
 *   reading in bursts does not extend it).  While pipeline_depth responses
 *   wait to be written no further request is parsed and no more than
 *   max_header_bytes of input is read.
 *
 * Framing is strict and decided before any handler runs (http_parse.h):
 * an ambiguous head is answered 400 with a JSON body and Connection:
 * close; a body is read and discarded by its framing or refused, never
 * parsed as a request.  HEAD is answered with the headers and
 * Content-Length GET would have, and no body.  A body longer than
 * max_body_bytes is 413 before it is read; a body that would bring the
 * bytes the server holds for request bodies beyond max_body_memory is
 * 503 with Retry-After (resource exhaustion is never a 4xx).
 *
 * Counting (when the server has a metrics slot): a response is counted in
 * the slot right before the write(2) that sends it, so that the counts
 * are the responses clients got, also when a worker is killed under load.
 * A request whose response cannot be written because its client left is
 * counted as 499; otherwise the status sent.  Each request is counted
 * exactly once, those answered by the layer itself (400, 413, 503) as
 * handler `other`.  The latency it observes is timeline.h's.
 */
#ifndef INFERD_CONN_H
#define INFERD_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "inferd/http_parse.h"
#include "inferd/timeline.h"

struct accesslog;
struct event_base;
struct evbuffer;
struct shm_segment;
struct shm_slot;

#define CONN_ACCEPT_RETRY	0.1	/* seconds of pause after accept fails */
#define CONN_LINGER		5.0	/* seconds of a lingering close */
#define CONN_PAUSE_LOG		10.0	/* seconds between two pauses logged */

/* A server's bounds (see conn.h's head and SECURITY.md). */
struct conn_params {
	const char	*name;			/* for the log: "worker 0" */
	unsigned	 max_connections;	/* open at once, from accept */
	double		 header_timeout;	/* seconds, head whole */
	double		 body_timeout;		/* seconds, body whole */
	double		 keepalive_timeout;	/* seconds, idle */
	double		 write_timeout;		/* seconds, output pending */
	size_t		 max_header_bytes;
	size_t		 max_body_bytes;
	size_t		 max_body_memory;	/* all request bodies held */
	unsigned	 pipeline_depth;	/* responses waiting, at most */
};

/* A server: its listener, its connections and the requests on them. */
struct conn_set;
/* One request being answered. */
struct conn_req;

/* Route and answer a request; arg as given to conn_set_new. */
typedef void	(*conn_route_cb)(struct conn_req *, void *arg);
/*
 * A request is done and about to be freed: answered and written (its
 * timeline's written is set), or its client left (conn_req_status says
 * 499), or its connection closed before it was complete (never counted;
 * status 0).  Every accessor works on it; it must not be answered or
 * kept.  The place for an access log.  arg as given to conn_set_new.
 */
typedef void	(*conn_done_cb)(const struct conn_req *, void *arg);

/*
 * A server on base accepting on the listening socket fd (taken over,
 * closed by conn_set_free; SO_TIMESTAMPNS is set on it), bounded by p.
 * With seg non-NULL, requests are counted in slot, those no route claims
 * as handler other.  route answers each request, done (may be NULL) is
 * told when one is freed.  NULL on failure, logged.
 */
struct conn_set	*conn_set_new(struct event_base *, int fd,
		    const struct conn_params *, const struct shm_segment *,
		    struct shm_slot *, unsigned other, conn_route_cb,
		    conn_done_cb, void *arg);
/* New bounds (a reload): max_connections at once, deadlines from the next
 * one armed; the name is kept. */
void		 conn_set_params(struct conn_set *, const struct conn_params *);
/* Stop accepting for good: the listener leaves the loop now and is closed
 * on the next turn of the loop. */
void		 conn_set_stop(struct conn_set *);
/*
 * How a set names, logs and traces its requests.  Every request gets an
 * ID (its X-Request-Id when trace_reqid_valid with reqid_max, else a new
 * one from the process's generator, trace.h), returned in the response's
 * X-Request-Id and in every JSON error body; a valid traceparent gives it
 * a trace ID.  When a request is counted, its latency bucket's exemplar
 * (trace ID, else request ID) is stored in the slot; when it is finished
 * (written, or its client gone), a line goes to log (NULL: no access log)
 * and, if it took longer than slow_threshold seconds (0: never), a warning
 * to the daemon's log, at most slow_rate a second (the others counted in
 * inferd_slow_requests_total only).  A set without conn_set_trace (the
 * master's metrics port) names its requests and logs none.
 */
struct conn_trace_params {
	unsigned		 worker;	/* index, in IDs and lines */
	const char		*model;		/* name, in lines */
	struct accesslog	*log;		/* the worker's; NULL: off */
	size_t			 reqid_max;	/* request_id_max_length */
	double			 slow_threshold; /* seconds; 0: off */
	unsigned		 slow_rate;	/* warnings per second */
};
/* Set how the set names and logs requests (before the loop runs). */
void		 conn_set_trace(struct conn_set *,
		    const struct conn_trace_params *);
/*
 * Write the access log's buffer (the worker's flush timer; before a
 * reopen); a failed write is counted in the slot.
 */
void		 conn_set_flush_log(struct conn_set *);
/* Free the set, its connections and the requests still in it,
 * unrecorded. */
void		 conn_set_free(struct conn_set *);
/* From now on every answer says Connection: close. */
void		 conn_set_draining(struct conn_set *);
/* Requests not yet counted. */
size_t		 conn_set_inflight(const struct conn_set *);
/* Whether no request is left at all, counted or not. */
int		 conn_set_idle(const struct conn_set *);
/* Bytes held for request bodies now (at most max_body_memory). */
size_t		 conn_set_body_bytes(const struct conn_set *);

/* The request: what the client sent. */
unsigned	 conn_req_method(const struct conn_req *);	/* HTTP_M_* */
const char	*conn_req_method_name(const struct conn_req *);
const char	*conn_req_path(const struct conn_req *);	/* raw */
const char	*conn_req_query(const struct conn_req *);	/* or NULL */
/* A request header's value (case-insensitive name), or NULL. */
const char	*conn_req_header(const struct conn_req *, const char *name);
/* The body, complete (empty when none); the route may drain it. */
struct evbuffer	*conn_req_body(const struct conn_req *);
/* The client's address ("127.0.0.1", "::1") and port. */
const char	*conn_req_addr(const struct conn_req *);
unsigned	 conn_req_port(const struct conn_req *);
/* Bytes of the request as received (head and body as framed), and of the
 * response handed to the kernel so far. */
uint64_t	 conn_req_bytes_in(const struct conn_req *);
uint64_t	 conn_req_bytes_out(const struct conn_req *);
/* The status counted for the request (0 until it is answered; 499 when
 * its client left). */
int		 conn_req_status(const struct conn_req *);
/* r's request ID (never empty) and trace ID ("" when none). */
const char	*conn_req_id(struct conn_req *);
const char	*conn_req_trace_id(struct conn_req *);
/* The request's timeline (timeline.h). */
const struct timeline *conn_req_timeline(const struct conn_req *);

/* What the route says of the request. */
/* Count r as handler h (a row of the slot's request counters). */
void		 conn_req_set_handler(struct conn_req *, unsigned h);
/*
 * Observe r's latency in the SLO histogram: it is an inference (it is
 * observed only if it is answered 2xx, 5xx or 499; see shm_observed).
 */
void		 conn_req_set_observe(struct conn_req *);
/* r is answered 503 by admission control for reason (enum shm_shed):
 * counted in inferd_requests_shed_total, never observed. */
void		 conn_req_set_shed(struct conn_req *, unsigned reason);
/*
 * Seconds the server has made r wait so far, its transfer left out: from
 * the kernel's receive time of its first byte to its head read, and from
 * its body read whole to now, minus the client's wait; what admission
 * control compares with its target.
 */
double		 conn_req_waited(const struct conn_req *);
/* r is answered 503 by admission control for reason (enum shm_shed):
 * counted in inferd_requests_shed_total, never observed. */
void		 conn_req_set_shed(struct conn_req *, unsigned reason);
/*
 * Seconds r has waited so far: from the moment evhttp handed it over
 * (the time its bytes waited in the socket before that is not seen).
 */
double		 conn_req_waited(const struct conn_req *);
/* The model predicted rows for r in compute seconds (counted with r). */
void		 conn_req_set_work(struct conn_req *, size_t rows,
		    double compute);
/* The model starts / ended predicting for r (the timeline's). */
void		 conn_req_predict_start(struct conn_req *);
void		 conn_req_predict_end(struct conn_req *);
/* The same moments, stamped elsewhere (a worker thread) on
 * CLOCK_MONOTONIC. */
void		 conn_req_set_predict(struct conn_req *,
		    const struct timespec *start, const struct timespec *end);
/*
 * Add a response header (name and value printable, no CR or LF; copied).
 * Content-Type (default application/json) replaces the default.  0, or -1
 * when out of memory or malformed.
 */
int		 conn_req_add_header(struct conn_req *, const char *name,
		    const char *value);

/*
 * Send body (ending in a newline if JSON; taken over; NULL means out of
 * memory and sends 500) with status.  r is freed once it is written, or at
 * once if its client is gone; the caller does not touch r afterwards.
 */
void		 conn_respond(struct conn_req *, int status, struct evbuffer *);
/*
 * Send the constant body text (len bytes; it must outlive the server's
 * connections) with status, copied into the connection's output behind
 * the head: no allocation.  r as in conn_respond.
 */
void		 conn_respond_text(struct conn_req *, int status,
		    const char *text, size_t len);
/* Send 200 with body after delay seconds (at once when delay <= 0). */
void		 conn_respond_after(struct conn_req *, double delay,
		    struct evbuffer *);
/* Send {"error": message, "request_id": r's ID} with status. */
void		 conn_error(struct conn_req *, int status, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

#endif /* INFERD_CONN_H */
