/*
 * conn: the life of a worker's requests and connections.  conn_request()
 * (evhttp's callback for every request) stamps the arrival, raises the
 * in-flight gauge, tells the guard (guard.h: connection limit and
 * deadlines) and hands the request to the route callback; the route answers
 * with conn_respond() at once or conn_respond_after() a delay.  A response
 * is counted in the worker's metrics slot right before the write(2) that
 * sends it (conn_flush), so that the counts are the responses clients got,
 * also when a worker is killed under load.  A request whose response
 * cannot be written because its client left is counted as 499; otherwise
 * the status sent.  Each request is counted exactly once.
 *
 * What this relies on in libevent 2.1 (checked against 2.1.12):
 * - evhttp answers a request whose head cannot be parsed or is larger than
 *   max_header_bytes (400), or whose body is larger than max_body_bytes
 *   (413), itself, with an HTML body and before any callback: such
 *   requests never reach conn_request() and are not counted.
 * - evhttp reads no further request from a connection while one is being
 *   answered, so a connection has at most one current request; and it
 *   does not notice meanwhile that the client closed, so the write of each
 *   response first peeks at the socket (recv MSG_PEEK): a reset means
 *   nobody reads (499), a FIN is decided by the write itself.
 * - The completion callback (evhttp_request_set_on_complete_cb) runs when
 *   the whole response has been written, before evhttp frees the request
 *   and before it closes a Connection: close connection or reads the next
 *   request of a kept-alive one.
 * - The guard's close callback of a connection runs when it goes away,
 *   evhttp_free() included; a response already handed to evhttp on it is
 *   then freed without the completion callback.
 * - evhttp_send_reply() on a request whose connection is gone frees it.
 * - A reply queued by evhttp_send_reply() is written on the next turn of
 *   the loop; conn writes it at once and then runs the bufferevent's write
 *   callback itself (bufferevent_trigger), after disabling the socket,
 *   since evhttp may close it in that callback.  Till then the head is in
 *   the bufferevent's output buffer, where conn appends a constant body
 *   (conn_respond_text) whose Content-Length it gave.
 * - evhttp adds Date, Content-Length and Content-Type only when they are
 *   missing (evhttp_make_header_response): conn gives all three, without
 *   the snprintf calls evhttp would make for each response.
 */
#ifndef INFERD_CONN_H
#define INFERD_CONN_H

#include <stddef.h>

struct event_base;
struct evbuffer;
struct evhttp_request;
struct guard;
struct shm_segment;
struct shm_slot;

/* A worker's connections and the requests on them. */
struct conn_set;
/* One request being answered. */
struct conn_req;

/* Route and answer a request; arg as given to conn_set_new. */
typedef void	(*conn_route_cb)(struct conn_req *, void *arg);
/* A request was freed; arg as given to conn_set_new. */
typedef void	(*conn_done_cb)(void *arg);

/*
 * A connection set for a worker on base that counts into slot of seg,
 * with requests no route claims counted as handler other.  NULL when out
 * of memory.
 */
struct conn_set	*conn_set_new(struct event_base *, const struct shm_segment *,
		    struct shm_slot *, unsigned other, conn_route_cb,
		    conn_done_cb, void *arg);
/* The guard of the set's connections (set before the first request). */
void		 conn_set_guard(struct conn_set *, struct guard *);
/* The guard's close callback: data is conn's, arg the set. */
void		 conn_closed(void *data, void *arg);
/*
 * Free the set and the requests still in it, unrecorded.  Call it after
 * evhttp_free(), whose close callbacks still use the set.
 */
void		 conn_set_free(struct conn_set *);
/* From now on every answer says Connection: close. */
void		 conn_set_draining(struct conn_set *);
/* Requests not yet counted. */
size_t		 conn_set_inflight(const struct conn_set *);
/* Whether no request is left at all, counted or not. */
int		 conn_set_idle(const struct conn_set *);

/* evhttp's callback for every request; arg is the conn_set. */
void		 conn_request(struct evhttp_request *, void *arg);

/* The evhttp request of r. */
struct evhttp_request *conn_req_http(const struct conn_req *);
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
 * Seconds r has waited so far: from the moment evhttp handed it over
 * (the time its bytes waited in the socket before that is not seen).
 */
double		 conn_req_waited(const struct conn_req *);
/* The model predicted rows for r in compute seconds (counted with r). */
void		 conn_req_set_work(struct conn_req *, size_t rows,
		    double compute);

/*
 * Send body (JSON ending in a newline, taken over; NULL means out of
 * memory and sends 500) with status.  r is freed once it is written, or at
 * once if its client is gone; the caller does not touch r afterwards.
 */
void		 conn_respond(struct conn_req *, int status, struct evbuffer *);
/*
 * Send the constant body text (len bytes, JSON ending in a newline; it
 * must outlive the worker's connections) with status, copied into the
 * socket's buffer behind the head: no allocation.  r as in conn_respond.
 */
void		 conn_respond_text(struct conn_req *, int status,
		    const char *text, size_t len);
/* Send 200 with body after delay seconds (at once when delay <= 0). */
void		 conn_respond_after(struct conn_req *, double delay,
		    struct evbuffer *);
/* Send {"error": message} with status. */
void		 conn_error(struct conn_req *, int status, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

#endif /* INFERD_CONN_H */
