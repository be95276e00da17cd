/*
 * conn_respond: the answers a route gives through inferd's HTTP server
 * (conn.c): a body, a constant text, an error, or a body after a delay.
 * See include/inferd/conn.h.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "inferd/conn.h"
#include "inferd/reply.h"

#include "http/conn_impl.h"

/* {"error": message, "request_id": r's ID}, in a new buffer. */
static struct evbuffer *
conn_error_body(struct conn_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static struct evbuffer *
conn_error_body(struct conn_req *r, const char *fmt, ...)
{
	struct evbuffer	*buf;
	va_list		 ap;

	va_start(ap, fmt);
	buf = reply_error_id_newv(conn_req_id(r), fmt, ap);
	va_end(ap);
	return buf;
}

/* Send a response; see conn.h. */
void
conn_respond(struct conn_req *r, int status, struct evbuffer *body)
{
	if (body == NULL) {
		status = 500;
		body = conn_error_body(r, "out of memory");
	}
	conn_send(r, status, body, NULL, 0);
}

/* Send a constant body; see conn.h. */
void
conn_respond_text(struct conn_req *r, int status, const char *text,
    size_t len)
{
	conn_send(r, status, NULL, text, len);
}

/* Respond with {"error": message}. */
void
conn_error(struct conn_req *r, int status, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	conn_respond(r, status, reply_error_id_newv(conn_req_id(r), fmt, ap));
	va_end(ap);
}

/* The delay timer fired: send the response kept for it. */
static void
conn_delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct conn_req	*r = arg;
	struct evbuffer	*body = r->delayed;

	(void)fd;
	(void)what;

	r->delayed = NULL;
	conn_respond(r, 200, body);
}

/* Answer 200 now, or after delay seconds. */
void
conn_respond_after(struct conn_req *r, double delay, struct evbuffer *body)
{
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
	r->delayed = body;
	/*
	 * libevent times the delay from its cached time, taken when this turn
	 * of the loop began, before the request's clock started: refresh it,
	 * or the answer may leave (and its latency be observed) a little
	 * before the delay.
	 */
	event_base_update_cache_time(r->set->base);
	conn_arm(r->timer, delay);
}
