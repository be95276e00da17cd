/*
 * conn: requests and connections of a worker.  See include/inferd/conn.h
 * for the life of a request and what it relies on in libevent.
 *
 * Life of a request: conn_request() creates it; the route answers with
 * conn_respond(), which hands the reply to evhttp, and conn_flush() counts
 * and writes it; evhttp's completion callback, conn_complete(), frees it
 * (or conn_closed(), if the connection dies first).  A request waiting
 * for its delay whose connection dies is detached and counted when it
 * answers.  conn_record() counts a request at most once.  Connections
 * are counted, limited and timed by the guard (guard.h), which tells
 * conn_closed() when one goes.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "inferd/clock.h"
#include "inferd/conn.h"
#include "inferd/guard.h"
#include "inferd/reply.h"
#include "inferd/shm.h"

#define CONN_CLIENT_GONE	499	/* counted status, as nginx does */
#define CONN_DATE_LEN		30	/* "Sun, 06 Nov 1994 08:49:37 GMT" */

struct conn_req {
	struct conn_set		*set;
	struct evhttp_request	*req;
	struct conn		*conn;		/* NULL once it is gone */
	struct event		*timer;		/* pending delay */
	struct evbuffer		*body;		/* response kept for a delay */
	struct timespec		 start;
	unsigned		 handler;
	int			 observe;	/* an inference route */
	int			 shed;		/* 1 + enum shm_shed, or 0 */
	uint32_t		 rows;		/* rows the model predicted */
	double			 compute;	/* seconds it took */
	int			 status;
	int			 sent;		/* handed to evhttp */
	int			 recorded;	/* counted in the slot */
	TAILQ_ENTRY(conn_req)	 entry;		/* in the set's requests */
};

/* One client connection that has sent at least one request. */
struct conn {
	struct conn_set		 *set;
	struct conn_req		 *cur;		/* request being answered */
};

struct conn_set {
	struct event_base	 *base;
	const struct shm_segment *seg;
	struct shm_slot		 *slot;
	struct guard		 *guard;
	unsigned		  other;	/* handler of unrouted requests */
	conn_route_cb		  route;
	conn_done_cb		  done;
	void			 *arg;
	int			  draining;
	size_t			  inflight;	/* not yet counted */
	TAILQ_HEAD(, conn_req)	  requests;	/* every request not freed */
	/* The Date header of the current second (conn_date). */
	time_t			  date_sec;
	char			  date[CONN_DATE_LEN];
};

/* A connection set. */
struct conn_set *
conn_set_new(struct event_base *base, const struct shm_segment *seg,
    struct shm_slot *slot, unsigned other, conn_route_cb route,
    conn_done_cb done, void *arg)
{
	struct conn_set	*set;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	*set = (struct conn_set){ .base = base, .seg = seg, .slot = slot,
	    .other = other, .route = route, .done = done, .arg = arg };
	TAILQ_INIT(&set->requests);
	return set;
}

/* The guard of the set's connections. */
void
conn_set_guard(struct conn_set *set, struct guard *g)
{
	set->guard = g;
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

	if (set == NULL)
		return;
	while ((r = TAILQ_FIRST(&set->requests)) != NULL) {
		TAILQ_REMOVE(&set->requests, r, entry);
		conn_req_free(r);
	}
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

/* r is answered 503 by admission control for reason (enum shm_shed):
 * counted as shed, never observed. */
void
conn_req_set_shed(struct conn_req *r, unsigned reason)
{
	r->shed = (int)reason + 1;
	r->observe = 0;
}

/* Seconds since r arrived (as conn stamps it). */
double
conn_req_waited(const struct conn_req *r)
{
	return clock_since(&r->start);
}

/* The model predicted rows for r in compute seconds. */
void
conn_req_set_work(struct conn_req *r, size_t rows, double compute)
{
	r->rows = rows > UINT32_MAX ? UINT32_MAX : (uint32_t)rows;
	r->compute = compute;
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
				    .shed = r->shed,
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
void
conn_closed(void *data, void *arg)
{
	struct conn	*c = data;
	struct conn_req	*r = c->cur;

	(void)arg;

	free(c);
	if (r != NULL) {
		r->conn = NULL;
		if (r->sent)
			conn_finish(r);
	}
}

/*
 * The connection of a new request: known, or registered with the guard
 * now.  NULL when out of memory.
 */
static struct conn *
conn_get(struct conn_set *set, struct evhttp_request *req)
{
	struct guard_conn	*gc;
	struct conn		*c;

	if ((gc = guard_request(set->guard, req)) == NULL)
		return NULL;
	if ((c = guard_conn_data(gc)) != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->set = set;
	guard_conn_set_data(gc, c);
	return c;
}

/* What the socket says of its client. */
enum conn_peer {
	CONN_PEER_OPEN,		/* nothing unusual */
	CONN_PEER_FIN,		/* it closed its side, or all of it */
	CONN_PEER_RESET,	/* it reset the connection: nobody reads */
};

/* Look at fd without reading anything. */
static enum conn_peer
conn_peer(int fd)
{
	char	c;
	ssize_t	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)))
		return CONN_PEER_OPEN;
	return n == 0 ? CONN_PEER_FIN : CONN_PEER_RESET;
}

/*
 * Whether fd has a pending error: after a write to a client that sent FIN,
 * the reset its kernel answers with (EPIPE in CLOSE_WAIT), which recv(2)
 * does not show behind the end of file.
 */
static int
conn_errored(int fd)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0;
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
 * text (len bytes, or NULL) is a constant body to append to the head
 * evhttp queued; its Content-Length is already in the head.
 *
 * The status counted is what happened to the response: 499 when it cannot
 * be written because the client reset the connection.  A client that sent
 * FIN may still read (an HTTP/1.0 half-close) or may have closed for good:
 * only the write tells, so its response is written first and counted
 * after, 499 if the write failed or the client's kernel reset the
 * connection on receiving it (on loopback that happens within the write;
 * over a network it may come too late to be seen, and the status sent is
 * counted).
 */
static void
conn_flush(struct conn_req *r, const char *text, size_t len)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
	struct bufferevent	 *bev = evhttp_connection_get_bufferevent(evcon);
	struct evbuffer		 *out = bufferevent_get_output(bev);
	int			  fd = bufferevent_getfd(bev);
	enum conn_peer		  peer = conn_peer(fd);
	int			  n;

	if (text != NULL)
		evbuffer_add(out, text, len);
	if (peer == CONN_PEER_RESET) {
		r->status = CONN_CLIENT_GONE;
		conn_record(r);
		return;		/* evhttp's write fails and frees it */
	}
	if (peer == CONN_PEER_OPEN)
		conn_record(r);
	n = evbuffer_write(out, fd);
	if (peer == CONN_PEER_FIN) {
		if (n <= 0 || conn_errored(fd))
			r->status = CONN_CLIENT_GONE;
		conn_record(r);
	}
	if (n <= 0 || evbuffer_get_length(out) > 0)
		return;		/* evhttp writes the rest as usual */
	/*
	 * As bufferevent's own write callback would, take the socket out of
	 * the loop before evhttp hears of it: evhttp may close the socket in
	 * its callback (Connection: close) and libevent 2.1 would then touch
	 * a closed descriptor.  evhttp enables reading again for the next
	 * request of a kept-alive connection.  With the worker's epoll
	 * changelist (worker.c) these changes cost no system call: they
	 * cancel out with evhttp's own before the loop applies them.
	 */
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	bufferevent_trigger(bev, EV_WRITE, 0);
}

/* Write the two digits of n (0-99) at p. */
static void
conn_two_digits(char *p, int n)
{
	p[0] = (char)('0' + n / 10 % 10);
	p[1] = (char)('0' + n % 10);
}

/* t as an HTTP date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"). */
static void
conn_format_date(time_t t, char buf[CONN_DATE_LEN])
{
	static const char	 days[] = "SunMonTueWedThuFriSat";
	static const char	 months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm		 tm;

	gmtime_r(&t, &tm);
	memcpy(buf, "Sun, 00 Jan 0000 00:00:00 GMT", CONN_DATE_LEN);
	memcpy(buf, days + 3 * tm.tm_wday, 3);
	conn_two_digits(buf + 5, tm.tm_mday);
	memcpy(buf + 8, months + 3 * tm.tm_mon, 3);
	conn_two_digits(buf + 12, (tm.tm_year + 1900) / 100);
	conn_two_digits(buf + 14, (tm.tm_year + 1900) % 100);
	conn_two_digits(buf + 17, tm.tm_hour);
	conn_two_digits(buf + 20, tm.tm_min);
	conn_two_digits(buf + 23, tm.tm_sec);
}

/*
 * The Date header's value, formatted once a second: the loop's cached
 * time (no system call) is compared with the second of the cached text.
 * evhttp would format its own, with snprintf, for every response.
 */
static const char *
conn_date(struct conn_set *set)
{
	struct timeval	tv;

	if (event_base_gettimeofday_cached(set->base, &tv) == -1)
		tv.tv_sec = time(NULL);
	if (tv.tv_sec != set->date_sec || set->date[0] == '\0') {
		set->date_sec = tv.tv_sec;
		conn_format_date(tv.tv_sec, set->date);
	}
	return set->date;
}

/* Add Content-Length: len, without the snprintf evhttp would use. */
static void
conn_add_length(struct evkeyvalq *headers, size_t len)
{
	char	num[24], *p = num + sizeof(num);

	*--p = '\0';
	do
		*--p = (char)('0' + len % 10);
	while ((len /= 10) > 0);
	evhttp_add_header(headers, "Content-Length", p);
}

/*
 * Send r's answer with status: the body is in the request's output
 * buffer, plus text (len bytes) if not NULL.  If the client is gone, r is
 * counted as 499 and freed.
 */
static void
conn_answer(struct conn_req *r, int status, const char *text, size_t len)
{
	struct evhttp_request	*req = r->req;
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);

	r->status = status;
	if (r->conn == NULL || evhttp_request_get_connection(req) == NULL) {
		/* The client left: nobody gets this answer. */
		r->status = CONN_CLIENT_GONE;
		/* evhttp frees a request whose connection is gone. */
		evhttp_send_reply(req, status, NULL, NULL);
		conn_finish(r);
		return;
	}
	/* The headers evhttp would add itself, made cheaper: the same text. */
	evhttp_add_header(out, "Content-Type", "application/json");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		conn_add_length(out, evbuffer_get_length(
		    evhttp_request_get_output_buffer(req)) + len);
	evhttp_add_header(out, "Date", conn_date(r->set));
	if (r->set->draining)
		evhttp_add_header(out, "Connection", "close");
	r->sent = 1;
	evhttp_request_set_on_complete_cb(req, conn_complete, r);
	evhttp_send_reply(req, status, reply_reason(status), NULL);
	conn_flush(r, evhttp_request_get_command(req) != EVHTTP_REQ_HEAD ?
	    text : NULL, len);
}

/* Send a response; see conn.h. */
void
conn_respond(struct conn_req *r, int status, struct evbuffer *body)
{
	if (body == NULL) {
		status = 500;
		body = reply_error_new("out of memory");
	}
	if (body != NULL) {
		evbuffer_add_buffer(evhttp_request_get_output_buffer(r->req),
		    body);
		evbuffer_free(body);
	}
	conn_answer(r, status, NULL, 0);
}

/* Send a constant body; see conn.h. */
void
conn_respond_text(struct conn_req *r, int status, const char *text,
    size_t len)
{
	conn_answer(r, status, text, len);
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
 * The delay timer fired: send the response kept for it (conn_flush counts
 * 499 if its client is gone).
 */
static void
conn_delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct conn_req	*r = arg;
	struct evbuffer	*body = r->body;

	(void)fd;
	(void)what;

	r->body = NULL;
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

	if ((r->conn = conn_get(set, req)) == NULL) {
		conn_error(r, 500, "out of memory");
		return;
	}
	r->conn->cur = r;
	set->route(r, set->arg);
}
