/*
 * conn: requests and connections of a worker.  See include/inferd/conn.h
 * for the life of a request and what it relies on in libevent.
 *
 * Life of a request: conn_request() creates it; the route answers with
 * conn_respond(), which hands the reply to evhttp, and conn_flush() counts
 * and writes it; evhttp's completion callback, conn_complete(), frees it
 * (or conn_closed(), if the connection dies first).  A request waiting
 * for its delay whose connection dies is detached and counted when it
 * answers.  conn_record() counts a request at most once.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "inferd/clock.h"
#include "inferd/conn.h"
#include "inferd/reply.h"
#include "inferd/shm.h"

#define CONN_CLIENT_GONE	499	/* counted status, as nginx does */

struct conn_req {
	struct conn_set		*set;
	struct evhttp_request	*req;
	struct conn		*conn;		/* NULL once it is gone */
	struct event		*timer;		/* pending delay */
	struct evbuffer		*body;		/* response kept for a delay */
	struct timespec		 start;
	unsigned		 handler;
	int			 observe;	/* an inference route */
	uint32_t		 rows;		/* rows the model predicted */
	double			 compute;	/* seconds it took */
	int			 status;
	int			 sent;		/* handed to evhttp */
	int			 recorded;	/* counted in the slot */
	int			 gone;		/* its client left */
	TAILQ_ENTRY(conn_req)	 entry;		/* in the set's requests */
};

/* One client connection that has sent at least one request. */
struct conn {
	struct conn_set		 *set;
	struct evhttp_connection *evcon;
	struct conn_req		 *cur;		/* request being answered */
};

struct conn_set {
	struct event_base	 *base;
	const struct shm_segment *seg;
	struct shm_slot		 *slot;
	unsigned		  max_connections;
	unsigned		  other;	/* handler of unrouted requests */
	conn_route_cb		  route;
	conn_done_cb		  done;
	void			 *arg;
	int			  draining;
	size_t			  inflight;	/* not yet counted */
	TAILQ_HEAD(, conn_req)	  requests;	/* every request not freed */
	/* Open-addressing set of connections, keyed by evcon pointer. */
	struct conn		**conns;
	size_t			  nconns, conncap;
};

/* A connection set. */
struct conn_set *
conn_set_new(struct event_base *base, const struct shm_segment *seg,
    struct shm_slot *slot, unsigned max_connections, unsigned other,
    conn_route_cb route, conn_done_cb done, void *arg)
{
	struct conn_set	*set;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	*set = (struct conn_set){ .base = base, .seg = seg, .slot = slot,
	    .max_connections = max_connections, .other = other,
	    .route = route, .done = done, .arg = arg };
	TAILQ_INIT(&set->requests);
	for (set->conncap = 16; set->conncap < 2 * (size_t)max_connections;)
		set->conncap *= 2;
	if ((set->conns = calloc(set->conncap, sizeof(*set->conns))) == NULL) {
		free(set);
		return NULL;
	}
	return set;
}

/* Free a request's own resources. */
static void
conn_req_free(struct conn_req *r)
{
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->body != NULL)
		evbuffer_free(r->body);
	free(r);
}

/* Free the set and what is left in it. */
void
conn_set_free(struct conn_set *set)
{
	struct conn_req	*r;
	size_t		 i;

	if (set == NULL)
		return;
	while ((r = TAILQ_FIRST(&set->requests)) != NULL) {
		TAILQ_REMOVE(&set->requests, r, entry);
		conn_req_free(r);
	}
	for (i = 0; i < set->conncap; i++)
		free(set->conns[i]);
	free(set->conns);
	free(set);
}

/* Answers close their connections from now on. */
void
conn_set_draining(struct conn_set *set)
{
	set->draining = 1;
}

/* Requests not yet counted. */
size_t
conn_set_inflight(const struct conn_set *set)
{
	return set->inflight;
}

/* Whether every request is freed. */
int
conn_set_idle(const struct conn_set *set)
{
	return TAILQ_EMPTY(&set->requests);
}

/* The evhttp request. */
struct evhttp_request *
conn_req_http(const struct conn_req *r)
{
	return r->req;
}

/* Count r as handler h. */
void
conn_req_set_handler(struct conn_req *r, unsigned h)
{
	r->handler = h;
}

/* Observe r's latency. */
void
conn_req_set_observe(struct conn_req *r)
{
	r->observe = 1;
}

/* The model predicted rows for r in compute seconds. */
void
conn_req_set_work(struct conn_req *r, size_t rows, double compute)
{
	r->rows = rows > UINT32_MAX ? UINT32_MAX : (uint32_t)rows;
	r->compute = compute;
}

/* Hash slot of evcon in the connection table. */
static size_t
conn_pos(const struct conn_set *set, const struct evhttp_connection *evcon)
{
	uintptr_t	h = (uintptr_t)evcon;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 7) & (set->conncap - 1);
}

/* Find evcon's connection, or NULL. */
static struct conn *
conn_find(const struct conn_set *set, const struct evhttp_connection *evcon)
{
	size_t	i = conn_pos(set, evcon);

	while (set->conns[i] != NULL) {
		if (set->conns[i]->evcon == evcon)
			return set->conns[i];
		i = (i + 1) & (set->conncap - 1);
	}
	return NULL;
}

/* Put c in its first free slot of the table. */
static void
conn_insert(struct conn_set *set, struct conn *c)
{
	size_t	i = conn_pos(set, c->evcon);

	while (set->conns[i] != NULL)
		i = (i + 1) & (set->conncap - 1);
	set->conns[i] = c;
}

/* Remove c from the table, re-inserting the rest of its cluster. */
static void
conn_remove(struct conn_set *set, struct conn *c)
{
	size_t		 i = conn_pos(set, c->evcon), j;
	struct conn	*move;

	while (set->conns[i] != c)
		i = (i + 1) & (set->conncap - 1);
	set->conns[i] = NULL;
	set->nconns--;
	for (j = (i + 1) & (set->conncap - 1); set->conns[j] != NULL;
	    j = (j + 1) & (set->conncap - 1)) {
		move = set->conns[j];
		set->conns[j] = NULL;
		conn_insert(set, move);
	}
}

/*
 * Count a request in the slot, once: its status, its latency if it is a
 * valid inference (see shm_observed), the model's work, and one fewer in
 * flight.
 */
static void
conn_record(struct conn_req *r)
{
	struct conn_set		*set = r->set;
	struct shm_request	 rq = { .handler = r->handler,
				    .status = r->status, .observe = r->observe,
				    .rows = r->rows, .compute = r->compute };

	if (r->recorded)
		return;
	r->recorded = 1;
	rq.latency = clock_since(&r->start);
	shm_record(set->seg, set->slot, &rq);
	shm_in_flight_add(set->slot, -1);
	set->inflight--;
}

/* Count a request (if not yet done) and free it; tell the worker. */
static void
conn_finish(struct conn_req *r)
{
	struct conn_set	*set = r->set;

	conn_record(r);
	TAILQ_REMOVE(&set->requests, r, entry);
	if (r->conn != NULL)
		r->conn->cur = NULL;
	conn_req_free(r);
	set->done(set->arg);
}

/* evhttp wrote the whole response. */
static void
conn_complete(struct evhttp_request *req, void *arg)
{
	(void)req;

	conn_finish(arg);
}

/*
 * A connection went away.  A response already handed to evhttp is
 * counted now (evhttp frees it with the connection); a request still
 * waiting for its delay is detached and counted when it answers.
 */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct conn	*c = arg;
	struct conn_req	*r = c->cur;

	(void)evcon;

	conn_remove(c->set, c);
	free(c);
	if (r != NULL) {
		r->conn = NULL;
		if (r->sent)
			conn_finish(r);
	}
}

/*
 * The connection of a new request: known, or registered now.  NULL when
 * the worker already holds max_connections of them (or is out of memory).
 */
static struct conn *
conn_get(struct conn_set *set, struct evhttp_connection *evcon)
{
	struct conn	*c;

	if ((c = conn_find(set, evcon)) != NULL)
		return c;
	if (set->nconns >= set->max_connections ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->set = set;
	c->evcon = evcon;
	conn_insert(set, c);
	set->nconns++;
	evhttp_connection_set_closecb(evcon, conn_closed, c);
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
conn_flush(struct conn_req *r)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
	struct bufferevent	 *bev = evhttp_connection_get_bufferevent(evcon);
	struct evbuffer		 *out = bufferevent_get_output(bev);

	conn_record(r);
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

/* Send a response; see conn.h. */
void
conn_respond(struct conn_req *r, int status, struct evbuffer *body)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(r->req);

	if (body == NULL) {
		status = 500;
		body = reply_error_new("out of memory");
	}
	r->status = r->gone ? CONN_CLIENT_GONE : status;
	if (r->conn == NULL || evhttp_request_get_connection(r->req) == NULL) {
		if (body != NULL)
			evbuffer_free(body);
		/* The client left: nobody gets this answer. */
		r->status = CONN_CLIENT_GONE;
		/* evhttp frees a request whose connection is gone. */
		evhttp_send_reply(r->req, status, NULL, NULL);
		conn_finish(r);
		return;
	}
	evhttp_add_header(out, "Content-Type", "application/json");
	if (r->set->draining)
		evhttp_add_header(out, "Connection", "close");
	r->sent = 1;
	evhttp_request_set_on_complete_cb(r->req, conn_complete, r);
	evhttp_send_reply(r->req, status, reply_reason(status), body);
	if (body != NULL)
		evbuffer_free(body);
	conn_flush(r);
}

/* Respond with {"error": message}. */
void
conn_error(struct conn_req *r, int status, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	conn_respond(r, status, reply_error_newv(fmt, ap));
	va_end(ap);
}

/*
 * Whether the client of r closed its connection while r waited: evhttp
 * does not read a connection whose request is being answered, so look.
 */
static int
conn_client_left(struct conn_req *r)
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
conn_delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct conn_req	*r = arg;
	struct evbuffer	*body = r->body;

	(void)fd;
	(void)what;

	r->body = NULL;
	if (conn_client_left(r))
		r->gone = 1;
	conn_respond(r, 200, body);
}

/* Answer 200 now, or after delay seconds. */
void
conn_respond_after(struct conn_req *r, double delay, struct evbuffer *body)
{
	struct timeval	tv;

	if (body == NULL || delay <= 0) {
		conn_respond(r, 200, body);
		return;
	}
	if ((r->timer = evtimer_new(r->set->base, conn_delay_done, r)) ==
	    NULL) {
		evbuffer_free(body);
		conn_error(r, 500, "cannot create the delay timer");
		return;
	}
	r->body = body;
	tv = clock_tv(delay);
	evtimer_add(r->timer, &tv);
}

/* Refuse a connection beyond max_connections with 503 and close it. */
static void
conn_refuse(struct conn_req *r)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(r->req);
	struct evbuffer		*body;

	r->status = 503;
	evhttp_add_header(out, "Connection", "close");
	evhttp_add_header(out, "Content-Type", "application/json");
	body = reply_error_new("this worker holds max_connections (%u) "
	    "connections; retry later", r->set->max_connections);
	evhttp_send_reply(r->req, 503, reply_reason(503), body);
	if (body != NULL)
		evbuffer_free(body);
	conn_finish(r);
}

/* evhttp's callback for every request. */
void
conn_request(struct evhttp_request *req, void *arg)
{
	struct conn_set	*set = arg;
	struct conn_req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->set = set;
	r->req = req;
	r->handler = set->other;
	set->inflight++;
	TAILQ_INSERT_TAIL(&set->requests, r, entry);
	shm_in_flight_add(set->slot, 1);

	if ((r->conn = conn_get(set, evhttp_request_get_connection(req))) ==
	    NULL) {
		conn_refuse(r);
		return;
	}
	r->conn->cur = r;
	set->route(r, set->arg);
}
