/*
 * conn: inferd's HTTP/1.1 server: connections and the requests on them.
 * See include/inferd/conn.h for the states, the bounds and the counting
 * contract, include/inferd/timeline.h for the request's timeline, and
 * doc/http.md for why it replaced evhttp.  This file is the state
 * machine; the connection's I/O, the request object and the routes'
 * answers are beside it (src/http/conn_impl.h lists the parts).
 *
 * Life of a connection: guard.c accepts it and calls conn_accept(); every
 * event (readable, writable, a deadline, an answer) runs the same three
 * steps: do the I/O, advance the state machine (conn_process), then
 * settle (conn_settle: free the connection if it died, else enable
 * exactly the I/O its state wants).  A connection is freed only by
 * conn_settle, at the end of the outermost callback, so nothing below
 * touches a freed connection.
 *
 * Life of a request: conn_head() creates it when its head is complete;
 * conn_dispatch() hands it to the route once its body is; the route (or
 * the layer itself, for an error of framing or resources) answers with
 * conn_answer(), which queues the response in the connection's output,
 * counts it (conn_record) and writes it (conn_flush); it is freed when its
 * last byte has been handed to the kernel (conn_written) or its
 * connection goes.  A request waiting for its delay whose connection dies
 * is detached (r->conn = NULL) and counted 499 when it answers.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "inferd/conn.h"
#include "inferd/guard.h"
#include "inferd/log.h"
#include "inferd/reply.h"
#include "inferd/trace.h"

#include "http/conn_impl.h"

/* Why conn_process stopped. */
enum conn_stop {
	CP_INPUT,		/* it needs more input */
	CP_WAIT			/* it waits for an answer or for output */
};

static enum conn_stop conn_process(struct conn *);

/* ---- the set ---------------------------------------------------------- */

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

/* Bytes reserved for request bodies. */
size_t
conn_set_body_bytes(const struct conn_set *set)
{
	return set->body_bytes;
}

/* Answers close their connections from now on. */
void
conn_set_draining(struct conn_set *set)
{
	set->draining = 1;
}

/* The guard's parameters of p. */
static struct guard_params
conn_guard_params(const struct conn_set *set)
{
	return (struct guard_params){ .name = set->name,
	    .max_connections = set->p.max_connections };
}

/* New bounds; see conn.h. */
void
conn_set_params(struct conn_set *set, const struct conn_params *p)
{
	struct guard_params	gp;

	set->p = *p;
	set->p.name = set->name;
	if (set->p.pipeline_depth == 0)
		set->p.pipeline_depth = 1;
	gp = conn_guard_params(set);
	guard_set_params(set->guard, &gp);
}

/* Stop accepting for good. */
void
conn_set_stop(struct conn_set *set)
{
	guard_stop(set->guard);
}

/*
 * Send r's answer with status: body (taken over, or NULL) and text (len
 * bytes, or NULL).  If the client is gone, r is counted as 499 and freed.
 */
void
conn_send(struct conn_req *r, int status, struct evbuffer *body,
    const char *text, size_t len)
{
	struct conn	*c = r->conn;

	r->status = status;
	if (c == NULL || c->dead) {
		/* The client left: nobody gets this answer. */
		if (body != NULL)
			evbuffer_free(body);
		r->status = CONN_CLIENT_GONE;
		if (c != NULL && c->cur == r)
			c->cur = NULL;
		r->conn = NULL;
		conn_req_finish(r);
		return;
	}
	conn_req_begin(r);
	conn_req_identify(r);	/* X-Request-Id before the head is made */
	c->in_cb++;
	if (c->cur == r)
		c->cur = NULL;
	if (c->set->draining || c->closing || r->h.close)
		r->close = 1;
	if (conn_queue(c, r, body, text, len) == -1) {
		if (body != NULL)
			evbuffer_free(body);
		r->conn = NULL;
		conn_req_finish(r);
		c->in_cb--;
		conn_settle(c);
		return;
	}
	if (body != NULL)
		evbuffer_free(body);
	TAILQ_INSERT_TAIL(&c->queue, r, qentry);
	c->nqueued++;
	if (r->close) {
		c->closing = 1;
		c->state = CS_IDLE;
	} else if (c->state == CS_HANDLER) {
		c->state = CS_IDLE;
	}
	conn_flush(c, r);	/* r may be freed from here on */
	if (!c->dead && c->state == CS_IDLE && c->nqueued == 0 &&
	    !c->closing)
		conn_arm(c->rtimer, c->set->p.keepalive_timeout);
	if (!c->dead && !c->processing && !c->closing)
		conn_process(c);
	if (c->closing)
		conn_finish_close(c);
	c->in_cb--;
	conn_settle(c);
}

/* Send r's answer: status and the text of an error, Connection: close. */
static void
conn_fail(struct conn_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conn_fail(struct conn_req *r, int status, const char *fmt, ...)
{
	struct conn	*c = r->conn;
	va_list		 ap;

	r->close = 1;
	if (c != NULL) {
		c->must_linger = 1;
		c->closing = 1;
		evtimer_del(c->rtimer);
	}
	if (status == 503)
		conn_req_add_header(r, "Retry-After", "1");
	va_start(ap, fmt);
	conn_send(r, status, reply_error_id_newv(conn_req_id(r), fmt, ap),
	    NULL, 0);
	va_end(ap);
}

/* ---- reading ---------------------------------------------------------- */

/* Consume n bytes of c's input. */
static void
conn_drain(struct conn *c, size_t n)
{
	evbuffer_drain(c->in, n);
	c->rx_used += n;
}

/* Skip the empty lines a client may send before a request line. */
static void
conn_skip_blank(struct conn *c)
{
	unsigned char	*p;
	size_t		 n, i;

	while ((n = evbuffer_get_length(c->in)) > 0) {
		if (n > 64)
			n = 64;
		p = evbuffer_pullup(c->in, (ev_ssize_t)n);
		for (i = 0; i < n && (p[i] == '\r' || p[i] == '\n'); i++)
			;
		if (i == 0)
			return;
		conn_drain(c, i);
	}
}

/* Hand a complete request to the route. */
static void
conn_dispatch(struct conn *c, struct conn_req *r)
{
	c->state = CS_HANDLER;
	evtimer_del(c->rtimer);
	r->tl.handler = conn_now();
	conn_req_begin(r);
	conn_req_identify(r);
	c->set->route(r, c->set->arg);
}

/* Send 100 Continue if the client waits for it and has sent nothing. */
static void
conn_continue(struct conn *c, const struct conn_req *r)
{
	if (r->h.expect_continue && r->h.minor >= 1 &&
	    evbuffer_get_length(c->in) == 0) {
		evbuffer_add(c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		c->out_added += 25;
	}
}

/*
 * Look for a complete head in c's input and start its request.  Returns 1
 * when the state moved on, 0 when more input is needed or the connection
 * is closing.
 */
static int
conn_head(struct conn *c)
{
	struct conn_params	*p = &c->set->p;
	size_t			 len = evbuffer_get_length(c->in), n, end;
	struct conn_req		*r;
	const char		*why = NULL;
	char			*buf;
	int			 rc;

	n = len < p->max_header_bytes + 3 ? len : p->max_header_bytes + 3;
	buf = (char *)evbuffer_pullup(c->in, (ev_ssize_t)n);
	end = http_head_end(buf, n, &c->scan);
	if (end == 0 && len <= p->max_header_bytes)
		return 0;
	if (end == 0 || end > p->max_header_bytes + 2) {
		/* Too large: answer with a request of no head. */
		end = 0;
		why = "request head larger than max_header_bytes";
	}
	if ((r = conn_req_new(c, end)) == NULL) {
		c->dead = 1;
		return 0;
	}
	c->rx_used += end;
	c->cur = r;
	c->scan = 0;
	r->tl.received = c->req_rx;
	r->tl.head = conn_now();
	r->tl.client_wait = c->cwait;
	c->cwait = 0;
	c->req_started = 0;
	if (why != NULL) {
		conn_fail(r, 400, "%s (%zu bytes)", why, p->max_header_bytes);
		return 0;
	}
	rc = http_parse_head(r->headbuf, end, &r->h, r->hdrs, end / 2 + 1,
	    &why);
	if (rc != 0) {
		conn_fail(r, rc, "%s", why);
		return 0;
	}
	switch (r->h.framing) {
	case HTTP_BODY_NONE:
		r->tl.body = r->tl.head;
		conn_dispatch(c, r);
		return 1;
	case HTTP_BODY_LENGTH:
		if (r->h.length > p->max_body_bytes) {
			conn_fail(r, 413, "request body of %llu bytes exceeds "
			    "max_body_bytes (%zu)",
			    (unsigned long long)r->h.length,
			    p->max_body_bytes);
			return 0;
		}
		if (conn_reserve(r, r->h.length) == -1) {
			conn_fail(r, 503, "the server holds max_body_memory "
			    "(%zu bytes) of request bodies; retry",
			    p->max_body_memory);
			return 0;
		}
		c->left = r->h.length;
		break;
	case HTTP_BODY_CHUNKED:
		c->chunk = CH_SIZE;
		c->trailer = 0;
		break;
	}
	if ((r->body = evbuffer_new()) == NULL) {
		conn_fail(r, 503, "out of memory");
		return 0;
	}
	c->state = CS_BODY;
	conn_arm(c->rtimer, p->body_timeout);
	conn_continue(c, r);
	return 1;
}

/* Move up to c->left bytes of input into r's body; whether all came. */
static int
conn_body_bytes(struct conn *c, struct conn_req *r)
{
	size_t	n = evbuffer_get_length(c->in);

	if (n > c->left)
		n = (size_t)c->left;
	if (n > 0) {
		evbuffer_remove_buffer(c->in, r->body, n);
		c->rx_used += n;
		r->bytes_in += n;
		c->left -= n;
	}
	return c->left == 0;
}

/*
 * Cut a CRLF-terminated line of at most max bytes from c's input into
 * line (NUL-terminated).  1 when cut, 0 when more is needed, -1 when the
 * line is too long or ends in a bare LF.
 */
static int
conn_line(struct conn *c, char *line, size_t max, size_t *len)
{
	struct evbuffer_ptr	pos;
	size_t			eol;

	pos = evbuffer_search_eol(c->in, NULL, &eol, EVBUFFER_EOL_LF);
	if (pos.pos == -1)
		return evbuffer_get_length(c->in) > max ? -1 : 0;
	if ((size_t)pos.pos > max || pos.pos == 0)
		return -1;
	evbuffer_remove(c->in, line, (size_t)pos.pos + 1);
	c->rx_used += (size_t)pos.pos + 1;
	if (line[pos.pos - 1] != '\r')
		return -1;
	line[pos.pos - 1] = '\0';
	*len = (size_t)pos.pos - 1;
	return 1;
}

/*
 * Read a chunked body (RFC 9112 7.1).  Returns 1 when it is complete, 0
 * when more is needed, -1 after answering an error.
 */
static int
conn_chunked(struct conn *c, struct conn_req *r)
{
	struct conn_params	*p = &c->set->p;
	char			 line[CONN_CHUNK_LINE + 2];
	const char		*why;
	uint64_t		 size;
	size_t			 len;
	int			 rc;

	for (;;) {
		switch (c->chunk) {
		case CH_SIZE:
			if ((rc = conn_line(c, line, CONN_CHUNK_LINE + 1,
			    &len)) == 0)
				return 0;
			if (rc == -1) {
				conn_fail(r, 400, "malformed chunk-size line");
				return -1;
			}
			r->bytes_in += len + 2;
			if (http_parse_chunk_size(line, len, &size, &why) ==
			    -1) {
				conn_fail(r, 400, "%s", why);
				return -1;
			}
			if (size == 0) {
				c->chunk = CH_TRAILER;
				break;
			}
			if (size > p->max_body_bytes ||
			    evbuffer_get_length(r->body) + size >
			    p->max_body_bytes) {
				conn_fail(r, 413, "request body exceeds "
				    "max_body_bytes (%zu)", p->max_body_bytes);
				return -1;
			}
			if (conn_reserve(r, size) == -1) {
				conn_fail(r, 503, "the server holds "
				    "max_body_memory (%zu bytes) of request "
				    "bodies; retry", p->max_body_memory);
				return -1;
			}
			c->left = size;
			c->chunk = CH_DATA;
			break;
		case CH_DATA:
			if (!conn_body_bytes(c, r))
				return 0;
			c->chunk = CH_CRLF;
			break;
		case CH_CRLF:
			if (evbuffer_get_length(c->in) < 2)
				return 0;
			evbuffer_remove(c->in, line, 2);
			c->rx_used += 2;
			r->bytes_in += 2;
			if (line[0] != '\r' || line[1] != '\n') {
				conn_fail(r, 400, "chunk data not followed by "
				    "CRLF");
				return -1;
			}
			c->chunk = CH_SIZE;
			break;
		case CH_TRAILER:
			if ((rc = conn_line(c, line, CONN_CHUNK_LINE + 1,
			    &len)) == 0)
				return 0;
			c->trailer += len + 2;
			r->bytes_in += len + 2;
			if (rc == -1 || c->trailer > p->max_header_bytes ||
			    (len > 0 && (line[0] == ' ' || line[0] == '\t'))) {
				conn_fail(r, 400, "malformed chunked trailer");
				return -1;
			}
			if (len == 0)
				return 1;
			break;
		}
	}
}

/*
 * Advance c's state machine as far as its input allows.  A route that
 * answers at once comes back here through conn_send (c->processing keeps
 * it from recursing).
 */
static enum conn_stop
conn_process(struct conn *c)
{
	struct conn_req	*r;
	int		 rc;

	c->processing = 1;
	for (;;) {
		if (c->dead || c->closing || c->state == CS_LINGER ||
		    c->state == CS_HANDLER)
			break;
		if (c->state == CS_IDLE || c->state == CS_HEAD) {
			if (c->nqueued >= c->set->p.pipeline_depth)
				break;
			conn_skip_blank(c);
			if (evbuffer_get_length(c->in) == 0) {
				c->processing = 0;
				return CP_INPUT;
			}
			if (c->state == CS_IDLE) {
				/* The first byte of the next request. */
				c->state = CS_HEAD;
				c->scan = 0;
				conn_arm(c->rtimer, c->set->p.header_timeout);
			}
			if (!c->req_started) {
				c->req_started = 1;
				c->req_rx = conn_rx_ts(c, c->rx_used);
			}
			if (conn_head(c) == 0) {
				c->processing = 0;
				return c->closing || c->dead ? CP_WAIT :
				    CP_INPUT;
			}
			continue;
		}
		/* CS_BODY */
		r = c->cur;
		if (r->h.framing == HTTP_BODY_CHUNKED)
			rc = conn_chunked(c, r);
		else
			rc = conn_body_bytes(c, r);
		if (rc == 0) {
			c->processing = 0;
			return CP_INPUT;
		}
		if (rc == -1)
			break;
		r->tl.body = conn_now();
		conn_dispatch(c, r);
	}
	c->processing = 0;
	return CP_WAIT;
}

/* ---- events ----------------------------------------------------------- */

/*
 * After reading or writing: advance; start the client's wait if the last
 * read found the socket empty and a request is still incomplete; see
 * whether the client is gone.
 */
static void
conn_advance(struct conn *c)
{
	enum conn_stop	stop = c->dead ? CP_WAIT : conn_process(c);

	if (timeline_set(&c->drained) && !c->dead &&
	    (c->state == CS_BODY || (c->state == CS_HEAD &&
	    c->req_started)))
		c->dry = c->drained;
	c->drained = (struct timespec){ 0, 0 };
	if (stop == CP_INPUT && c->eof)
		c->closing = 1;		/* nothing more can come */
	if (c->closing)
		conn_finish_close(c);
}

/* c's socket is readable. */
static void
conn_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;

	c->in_cb++;
	conn_read(c);
	conn_advance(c);
	c->in_cb--;
	conn_settle(c);
}

/* c's socket is writable. */
static void
conn_writable(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;

	c->in_cb++;
	conn_write(c);
	if (!c->dead && c->state == CS_IDLE && c->nqueued == 0 &&
	    !c->closing && evbuffer_get_length(c->in) == 0)
		conn_arm(c->rtimer, c->set->p.keepalive_timeout);
	conn_advance(c);
	c->in_cb--;
	conn_settle(c);
}

/* The guard accepted a connection. */
static void
conn_accept(int fd, const struct sockaddr *sa, socklen_t salen, void *arg)
{
	struct conn_set	*set = arg;
	struct conn	*c;

	(void)salen;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		guard_release(set->guard);
		return;
	}
	c->set = set;
	c->fd = fd;
	c->state = CS_HEAD;
	TAILQ_INIT(&c->queue);
	c->rev = event_new(set->base, fd, EV_READ | EV_PERSIST,
	    conn_readable, c);
	c->wev = event_new(set->base, fd, EV_WRITE | EV_PERSIST,
	    conn_writable, c);
	c->rtimer = evtimer_new(set->base, conn_read_deadline, c);
	c->wtimer = evtimer_new(set->base, conn_write_deadline, c);
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	if (c->rev == NULL || c->wev == NULL || c->rtimer == NULL ||
	    c->wtimer == NULL || c->in == NULL || c->out == NULL) {
		if (c->rev != NULL)
			event_free(c->rev);
		if (c->wev != NULL)
			event_free(c->wev);
		if (c->rtimer != NULL)
			event_free(c->rtimer);
		if (c->wtimer != NULL)
			event_free(c->wtimer);
		if (c->in != NULL)
			evbuffer_free(c->in);
		if (c->out != NULL)
			evbuffer_free(c->out);
		free(c);
		close(fd);
		guard_release(set->guard);
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, c->addr, sizeof(c->addr));
		c->port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, c->addr,
		    sizeof(c->addr));
		c->port = ntohs(in6->sin6_port);
	}
	LIST_INSERT_HEAD(&set->conns, c, entry);
	if (++set->nconns >= CONN_TRIM_CONNS)
		set->trim_due = 1;
	conn_arm(c->rtimer, set->p.header_timeout);
	conn_settle(c);
}

/* A server; see conn.h. */
struct conn_set *
conn_set_new(struct event_base *base, int fd, const struct conn_params *p,
    const struct shm_segment *seg, struct shm_slot *slot, unsigned other,
    conn_route_cb route, conn_done_cb done, void *arg)
{
	struct conn_set		*set;
	struct guard_params	 gp;

	if ((set = calloc(1, sizeof(*set))) == NULL) {
		log_warn("%s: calloc", p->name);
		close(fd);
		return NULL;
	}
	*set = (struct conn_set){ .base = base, .p = *p, .seg = seg,
	    .slot = slot, .other = other, .route = route, .done = done,
	    .arg = arg };
	snprintf(set->name, sizeof(set->name), "%s", p->name);
	set->p.name = set->name;
	set->trace.reqid_max = TRACE_REQID_MAX;
	trace_gen_init(&set->gen, 0);
	if (set->p.pipeline_depth == 0)
		set->p.pipeline_depth = 1;
	TAILQ_INIT(&set->requests);
	LIST_INIT(&set->conns);
	set->ev_trim = evtimer_new(base, conn_trim, set);
	gp = conn_guard_params(set);
	if ((set->guard = guard_new(base, fd, &gp, conn_accept, set)) ==
	    NULL) {
		if (set->ev_trim != NULL)
			event_free(set->ev_trim);
		free(set);
		return NULL;
	}
	return set;
}

/* Free the set and what is left in it. */
void
conn_set_free(struct conn_set *set)
{
	struct conn_req	*r;
	struct conn	*c;

	if (set == NULL)
		return;
	guard_stop(set->guard);
	set->done = NULL;
	while ((c = LIST_FIRST(&set->conns)) != NULL)
		conn_free(c);
	while ((r = TAILQ_FIRST(&set->requests)) != NULL) {
		TAILQ_REMOVE(&set->requests, r, entry);
		conn_req_free(r);
	}
	guard_free(set->guard);
	if (set->ev_trim != NULL)
		event_free(set->ev_trim);
	free(set);
}
