/*
 * guard: an evhttp server's connections bounded from accept(2).  See
 * include/inferd/guard.h for the rules and what they rely on in libevent.
 *
 * Life of a connection: guard_bev() (evhttp's bufferevent callback, at
 * accept) counts it and arms the head deadline; guard_adopt(), on the same
 * turn of the loop once evhttp has built the connection, registers the
 * close callback.  guard_input() watches the bytes as they arrive to tell
 * when a head is complete; guard_request() stops the deadline while the
 * request is answered and guard_output() starts the keep-alive one when the
 * response is out.  guard_closed() forgets it (or lingers first).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "inferd/clock.h"
#include "inferd/guard.h"
#include "inferd/log.h"

enum guard_state {
	GS_HEAD,		/* waiting for a request head */
	GS_BODY,		/* head complete, body being read */
	GS_BUSY,		/* the request is being answered */
	GS_IDLE,		/* kept alive, between requests */
	GS_CLOSING,		/* closed by its deadline */
	GS_LINGER,		/* evhttp is done with it; draining input */
};

struct guard_conn {
	struct guard		*g;
	struct bufferevent	*bev;
	struct evhttp_connection *evcon;	/* NULL until adopted */
	struct evbuffer_cb_entry *incb, *outcb;
	struct event		*timer;		/* the deadline */
	struct event		*adopt;		/* then the lingering read */
	int			 fd;		/* a lingering close's socket */
	enum guard_state	 state;
	int			 answered;	/* evhttp wrote an early answer */
	unsigned		 linelen;	/* of the head line being read */
	unsigned		 lines;		/* non-empty lines of the head */
	void			*data;
	struct guard_conn	*next;		/* in the guard's lingering list */
};

struct guard {
	struct guard_params	 p;
	struct event_base	*base;
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	struct evconnlistener	*lev;
	struct event		*ev_retry;	/* end of an accept pause */
	struct event		*ev_unbind;	/* guard_stop's deferred close */
	guard_close_cb		 close;
	void			*arg;
	unsigned		 count;		/* open, lingering included */
	int			 stopped, paused, enabled;
	struct timespec		 warned;	/* last "pausing" logged */
	unsigned long		 unlogged;	/* pauses since */
	struct guard_conn	*lingering;
	/* Open-addressing set of connections, keyed by bufferevent. */
	struct guard_conn	**conns;
	size_t			 conncap;
	struct guard		*next;		/* in guard_all */
};

static void	guard_unbind(evutil_socket_t, short, void *);

/* Every guard of this process, for the listener's error callback, whose
 * argument is evhttp's. */
static struct guard	*guard_all;

/* Accept exactly when nothing stands against it. */
static void
guard_listen_update(struct guard *g)
{
	int	want = !g->stopped && !g->paused &&
		    g->count < g->p.max_connections;

	if (g->lev == NULL || want == g->enabled)
		return;
	g->enabled = want;
	if (want)
		evconnlistener_enable(g->lev);
	else
		evconnlistener_disable(g->lev);
}

/* Hash slot of bev in the connection table. */
static size_t
guard_pos(const struct guard *g, const struct bufferevent *bev)
{
	uintptr_t	h = (uintptr_t)bev;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 7) & (g->conncap - 1);
}

/* Put gc in its first free slot of the table. */
static void
guard_insert(struct guard *g, struct guard_conn *gc)
{
	size_t	i = guard_pos(g, gc->bev);

	while (g->conns[i] != NULL)
		i = (i + 1) & (g->conncap - 1);
	g->conns[i] = gc;
}

/* bev's connection, or NULL. */
static struct guard_conn *
guard_find(const struct guard *g, const struct bufferevent *bev)
{
	size_t	i = guard_pos(g, bev);

	while (g->conns[i] != NULL) {
		if (g->conns[i]->bev == bev)
			return g->conns[i];
		i = (i + 1) & (g->conncap - 1);
	}
	return NULL;
}

/* Remove gc from the table, re-inserting the rest of its cluster. */
static void
guard_remove(struct guard *g, struct guard_conn *gc)
{
	size_t			 i = guard_pos(g, gc->bev), j;
	struct guard_conn	*move;

	while (g->conns[i] != gc) {
		if (g->conns[i] == NULL)
			return;
		i = (i + 1) & (g->conncap - 1);
	}
	g->conns[i] = NULL;
	for (j = (i + 1) & (g->conncap - 1); g->conns[j] != NULL;
	    j = (j + 1) & (g->conncap - 1)) {
		move = g->conns[j];
		g->conns[j] = NULL;
		guard_insert(g, move);
	}
}

/* Arm gc's deadline seconds from now. */
static void
guard_arm(struct guard_conn *gc, double seconds)
{
	struct timeval	tv = clock_tv(seconds);

	evtimer_add(gc->timer, &tv);
}

/* Forget gc: uncount it, free what it holds. */
static void
guard_conn_free(struct guard_conn *gc)
{
	struct guard	*g = gc->g;

	if (gc->timer != NULL)
		event_free(gc->timer);
	if (gc->adopt != NULL)
		event_free(gc->adopt);
	if (gc->fd != -1)
		close(gc->fd);
	free(gc);
	g->count--;
	guard_listen_update(g);
}

/* Let go of gc's bufferevent (evhttp frees it). */
static void
guard_detach(struct guard_conn *gc)
{
	if (gc->bev == NULL)
		return;
	if (gc->incb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(gc->bev),
		    gc->incb);
	if (gc->outcb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_output(gc->bev),
		    gc->outcb);
	guard_remove(gc->g, gc);
	bufferevent_decref(gc->bev);
	gc->bev = NULL;
}

/* A lingering close is over. */
static void
guard_linger_end(struct guard_conn *gc)
{
	struct guard_conn	**pp;

	for (pp = &gc->g->lingering; *pp != NULL; pp = &(*pp)->next)
		if (*pp == gc) {
			*pp = gc->next;
			break;
		}
	guard_conn_free(gc);
}

/* A lingering socket is readable: discard; end at EOF or an error. */
static void
guard_linger_read(evutil_socket_t fd, short what, void *arg)
{
	struct guard_conn	*gc = arg;
	char			 buf[16384];
	ssize_t			 n;
	int			 i;

	(void)what;

	for (i = 0; i < 64; i++) {
		if ((n = read(fd, buf, sizeof(buf))) > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		guard_linger_end(gc);
		return;
	}
}

/*
 * evhttp is closing a connection whose client may still be sending: keep
 * the socket (evhttp shuts down its writing side and closes its own
 * descriptor) and discard what comes for GUARD_LINGER seconds.  0 or -1.
 */
static int
guard_linger(struct guard_conn *gc)
{
	struct guard	*g = gc->g;
	int		 fd = bufferevent_getfd(gc->bev);

	if (fd == -1 || (gc->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return -1;
	event_free(gc->adopt);
	gc->adopt = event_new(g->base, gc->fd, EV_READ | EV_PERSIST,
	    guard_linger_read, gc);
	if (gc->adopt == NULL || event_add(gc->adopt, NULL) == -1)
		return -1;
	gc->state = GS_LINGER;
	guard_arm(gc, GUARD_LINGER);
	gc->next = g->lingering;
	g->lingering = gc;
	return 0;
}

/* evhttp's close callback of a connection. */
static void
guard_closed(struct evhttp_connection *evcon, void *arg)
{
	struct guard_conn	*gc = arg;
	struct guard		*g = gc->g;
	enum guard_state	 st = gc->state;

	(void)evcon;

	if (gc->data != NULL && g->close != NULL) {
		g->close(gc->data, g->arg);
		gc->data = NULL;
	}
	evtimer_del(gc->timer);
	if ((st == GS_HEAD || st == GS_BODY) && gc->answered && !g->stopped &&
	    guard_linger(gc) == 0) {
		guard_detach(gc);
		return;
	}
	guard_detach(gc);
	guard_conn_free(gc);
}

/* A deadline passed: close the connection without an answer. */
static void
guard_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct guard_conn	*gc = arg;
	static const char	*what_s[] = { [GS_HEAD] = "head",
				    [GS_BODY] = "body", [GS_IDLE] = "keep-alive" };

	(void)fd;
	(void)what;

	if (gc->state == GS_LINGER) {
		guard_linger_end(gc);
		return;
	}
	if (gc->evcon == NULL || gc->state == GS_BUSY)
		return;
	log_debug("%s: closing a connection past its %s deadline",
	    gc->g->p.name, gc->state <= GS_IDLE && what_s[gc->state] ?
	    what_s[gc->state] : "");
	gc->state = GS_CLOSING;
	evhttp_connection_free(gc->evcon);	/* calls guard_closed */
}

/*
 * Look at n new bytes of a request head: a head ends at the first empty
 * line after a non-empty one (CRLF or LF, as evhttp reads lines).
 * Returns whether it ended.
 */
static int
guard_scan(struct guard_conn *gc, const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (gc->linelen == 0 && gc->lines > 0)
				return 1;
			if (gc->linelen > 0)
				gc->lines++;
			gc->linelen = 0;
		} else if (p[i] != '\r')
			gc->linelen++;
	}
	return 0;
}

/* Scan the last n bytes of buf; see guard_scan. */
static int
guard_scan_tail(struct guard_conn *gc, struct evbuffer *buf, size_t n)
{
	struct evbuffer_ptr	pos;
	char			chunk[1024];
	size_t			len = evbuffer_get_length(buf), k;
	ev_ssize_t		got;

	if (evbuffer_ptr_set(buf, &pos, len - n, EVBUFFER_PTR_SET) == -1)
		return 0;
	while (n > 0) {
		k = n < sizeof(chunk) ? n : sizeof(chunk);
		if ((got = evbuffer_copyout_from(buf, &pos, chunk, k)) <= 0)
			return 0;
		if (guard_scan(gc, chunk, (size_t)got))
			return 1;
		evbuffer_ptr_set(buf, &pos, (size_t)got, EVBUFFER_PTR_ADD);
		n -= (size_t)got;
	}
	return 0;
}

/* Bytes arrived (or were read by evhttp) on a connection. */
static void
guard_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct guard_conn	*gc = arg;

	if (info->n_added == 0)
		return;
	if (gc->state == GS_IDLE) {
		/* The first byte of the next request. */
		gc->state = GS_HEAD;
		gc->linelen = gc->lines = 0;
		guard_arm(gc, gc->g->p.header_timeout);
	}
	if (gc->state == GS_HEAD && guard_scan_tail(gc, buf, info->n_added)) {
		gc->state = GS_BODY;
		guard_arm(gc, gc->g->p.body_timeout);
	}
}

/* Bytes left the output buffer: when a response is all out, idle. */
static void
guard_output(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct guard_conn	*gc = arg;
	struct evbuffer		*in;
	size_t			 n;

	if (info->n_deleted == 0)
		return;
	if (gc->state == GS_HEAD || gc->state == GS_BODY) {
		/* evhttp answers by itself (400, 413): linger at its close. */
		gc->answered = 1;
		return;
	}
	if (gc->state != GS_BUSY || evbuffer_get_length(buf) > 0)
		return;
	gc->state = GS_IDLE;
	gc->linelen = gc->lines = 0;
	guard_arm(gc, gc->g->p.keepalive_timeout);
	/* A pipelined request already waiting starts its head now. */
	in = bufferevent_get_input(gc->bev);
	if ((n = evbuffer_get_length(in)) > 0) {
		gc->state = GS_HEAD;
		guard_arm(gc, gc->g->p.header_timeout);
		if (guard_scan_tail(gc, in, n)) {
			gc->state = GS_BODY;
			guard_arm(gc, gc->g->p.body_timeout);
		}
	}
}

/*
 * Right after accept, once evhttp has built the connection around our
 * bufferevent (its callback argument is the evhttp_connection): register
 * the close callback.  A connection evhttp already dropped is forgotten.
 */
static void
guard_adopt(evutil_socket_t fd, short what, void *arg)
{
	struct guard_conn	*gc = arg;
	void			*evcon = NULL;

	(void)fd;
	(void)what;

	bufferevent_getcb(gc->bev, NULL, NULL, NULL, &evcon);
	if (evcon == NULL) {
		evtimer_del(gc->timer);
		guard_detach(gc);
		guard_conn_free(gc);
		return;
	}
	gc->evcon = evcon;
	evhttp_connection_set_closecb(gc->evcon, guard_closed, gc);
}

/* evhttp's bufferevent callback: a connection was just accepted. */
static struct bufferevent *
guard_bev(struct event_base *base, void *arg)
{
	struct guard		*g = arg;
	struct guard_conn	*gc;

	if ((gc = calloc(1, sizeof(*gc))) == NULL)
		return NULL;
	gc->g = g;
	gc->fd = -1;
	gc->state = GS_HEAD;
	g->count++;
	gc->timer = evtimer_new(base, guard_deadline, gc);
	gc->adopt = event_new(base, -1, 0, guard_adopt, gc);
	gc->bev = bufferevent_socket_new(base, -1, 0);
	if (gc->timer == NULL || gc->adopt == NULL || gc->bev == NULL ||
	    (gc->incb = evbuffer_add_cb(bufferevent_get_input(gc->bev),
	    guard_input, gc)) == NULL ||
	    (gc->outcb = evbuffer_add_cb(bufferevent_get_output(gc->bev),
	    guard_output, gc)) == NULL) {
		if (gc->bev != NULL)
			bufferevent_free(gc->bev);
		gc->bev = NULL;
		guard_conn_free(gc);
		return NULL;
	}
	bufferevent_incref(gc->bev);	/* until guard_detach */
	guard_insert(g, gc);
	/*
	 * From now, not from the start of this turn of the loop: a turn that
	 * closed a thousand connections before it accepted would otherwise
	 * shorten the deadline by its own length (measured: 0.36 s).
	 */
	event_base_update_cache_time(base);
	guard_arm(gc, g->p.header_timeout);
	event_active(gc->adopt, EV_TIMEOUT, 1);
	guard_listen_update(g);
	return gc->bev;
}

/* The pause after an accept error is over. */
static void
guard_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct guard	*g = arg;

	(void)fd;
	(void)what;

	g->paused = 0;
	guard_listen_update(g);
}

/*
 * Log a pause of accept(2) (errno is its error), at most once every
 * GUARD_PAUSE_LOG seconds: out of descriptors under a flood, a listener
 * pauses ten times a second.
 */
static void
guard_pause_log(struct guard *g)
{
	if (g->warned.tv_sec != 0 && clock_since(&g->warned) <
	    GUARD_PAUSE_LOG) {
		g->unlogged++;
		return;
	}
	if (g->unlogged > 0)
		log_warn("%s: accept; pausing %g s (%lu more pauses since "
		    "the last logged)", g->p.name, GUARD_ACCEPT_RETRY,
		    g->unlogged);
	else
		log_warn("%s: accept; pausing %g s", g->p.name,
		    GUARD_ACCEPT_RETRY);
	g->unlogged = 0;
	clock_gettime(CLOCK_MONOTONIC, &g->warned);
}

/*
 * accept(2) failed for another reason than a client giving up: most often
 * the process is out of file descriptors.  Stop accepting for a moment
 * instead of retrying in a busy loop; connections wait in the backlog.
 */
static void
guard_accept_error(struct evconnlistener *l, void *arg)
{
	struct guard	*g;
	struct timeval	 tv;

	(void)arg;	/* evhttp's */

	for (g = guard_all; g != NULL && g->lev != l; g = g->next)
		;
	if (g == NULL) {
		evconnlistener_disable(l);
		return;
	}
	if (!g->paused)
		guard_pause_log(g);
	g->paused = 1;
	guard_listen_update(g);
	tv = clock_tv(GUARD_ACCEPT_RETRY);
	evtimer_add(g->ev_retry, &tv);
}

/* Guard an evhttp server; see guard.h. */
struct guard *
guard_new(struct event_base *base, struct evhttp *http, int fd,
    const struct guard_params *p, guard_close_cb close, void *arg)
{
	struct guard	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		log_warn("%s: calloc", p->name);
		return NULL;
	}
	*g = (struct guard){ .p = *p, .base = base, .http = http,
	    .close = close, .arg = arg, .enabled = 1 };
	for (g->conncap = 16; g->conncap < 2 * (size_t)p->max_connections;)
		g->conncap *= 2;
	if ((g->conns = calloc(g->conncap, sizeof(*g->conns))) == NULL ||
	    (g->ev_retry = evtimer_new(base, guard_accept_resume, g)) ==
	    NULL || (g->ev_unbind = evtimer_new(base, guard_unbind, g)) ==
	    NULL) {
		log_warn("%s: out of memory", p->name);
		guard_free(g);
		return NULL;
	}
	evhttp_set_bevcb(http, guard_bev, g);
	if ((g->bound = evhttp_accept_socket_with_handle(http, fd)) == NULL) {
		log_warnx("%s: cannot accept on fd %d", p->name, fd);
		guard_free(g);
		return NULL;
	}
	g->lev = evhttp_bound_socket_get_listener(g->bound);
	evconnlistener_set_error_cb(g->lev, guard_accept_error);
	g->next = guard_all;
	guard_all = g;
	return g;
}

/* Close the listener, a turn of the loop after guard_stop() disabled it. */
static void
guard_unbind(evutil_socket_t fd, short what, void *arg)
{
	struct guard	*g = arg;

	(void)fd;
	(void)what;

	if (g->bound != NULL) {
		evhttp_del_accept_socket(g->http, g->bound);
		g->bound = NULL;
		g->lev = NULL;
	}
}

/*
 * Stop accepting for good.  The listener leaves the loop now and is closed
 * one turn later: with libevent's epoll changelist (the workers' base) a
 * deletion is applied only at the next epoll_wait, and the master keeps
 * the same socket open, so closing it at once would leave epoll reporting
 * a descriptor this process no longer has (see worker_base_new).
 */
void
guard_stop(struct guard *g)
{
	struct timeval	tv = { 0, 0 };

	g->stopped = 1;
	evtimer_del(g->ev_retry);
	guard_listen_update(g);
	if (g->bound != NULL && g->ev_unbind != NULL)
		evtimer_add(g->ev_unbind, &tv);
}

/* New limits; see guard.h. */
void
guard_set_params(struct guard *g, const struct guard_params *p)
{
	const char	*name = g->p.name;

	g->p = *p;
	g->p.name = name;
	guard_listen_update(g);
}

/* A request reached the server's callback. */
struct guard_conn *
guard_request(struct guard *g, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct guard_conn	 *gc;

	if (evcon == NULL || (gc = guard_find(g,
	    evhttp_connection_get_bufferevent(evcon))) == NULL)
		return NULL;
	gc->state = GS_BUSY;
	gc->answered = 0;
	evtimer_del(gc->timer);
	return gc;
}

/* The caller's data on a connection. */
void *
guard_conn_data(const struct guard_conn *gc)
{
	return gc->data;
}

/* Set the caller's data on a connection. */
void
guard_conn_set_data(struct guard_conn *gc, void *data)
{
	gc->data = data;
}

/* Free the guard and what is left of its connections. */
void
guard_free(struct guard *g)
{
	struct guard		**pp;
	struct guard_conn	 *gc;
	size_t			  i;

	if (g == NULL)
		return;
	for (pp = &guard_all; *pp != NULL; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	while ((gc = g->lingering) != NULL) {
		g->lingering = gc->next;
		guard_conn_free(gc);
	}
	for (i = 0; g->conns != NULL && i < g->conncap; i++)
		if ((gc = g->conns[i]) != NULL) {
			g->conns[i] = NULL;
			if (gc->bev != NULL)
				bufferevent_decref(gc->bev);
			gc->bev = NULL;
			guard_conn_free(gc);
		}
	if (g->ev_retry != NULL)
		event_free(g->ev_retry);
	if (g->ev_unbind != NULL)
		event_free(g->ev_unbind);
	free(g->conns);
	free(g);
}
