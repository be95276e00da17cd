/*
 * guard: the listener of an HTTP server, bounded from accept(2).  See
 * include/inferd/guard.h for the rules.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "inferd/clock.h"
#include "inferd/conn.h"
#include "inferd/guard.h"
#include "inferd/log.h"

struct guard {
	struct guard_params	 p;
	struct event_base	*base;
	struct evconnlistener	*lev;
	int			 fd;		/* until lev owns it */
	struct event		*ev_retry;	/* end of an accept pause */
	struct event		*ev_unbind;	/* guard_stop's deferred close */
	guard_accept_cb		 accept;
	void			*arg;
	unsigned		 count;		/* open, lingering included */
	int			 stopped, paused, enabled;
	struct timespec		 warned;	/* last "pausing" logged */
	unsigned long		 unlogged;	/* pauses since */
};

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

/* The listener accepted a connection. */
static void
guard_accepted(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct guard	*g = arg;

	(void)l;

	g->count++;
	/*
	 * Deadlines run from now, not from the start of this turn of the
	 * loop: a turn that closed a thousand connections before it accepted
	 * would otherwise shorten them by its own length (measured: 0.36 s).
	 */
	event_base_update_cache_time(g->base);
	g->accept(fd, sa, (socklen_t)salen, g->arg);
	guard_listen_update(g);
}

/* One connection fewer. */
void
guard_release(struct guard *g)
{
	g->count--;
	guard_listen_update(g);
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
 * CONN_PAUSE_LOG seconds: out of descriptors under a flood, a listener
 * pauses ten times a second.
 */
static void
guard_pause_log(struct guard *g)
{
	if (g->warned.tv_sec != 0 && clock_since(&g->warned) <
	    CONN_PAUSE_LOG) {
		g->unlogged++;
		return;
	}
	if (g->unlogged > 0)
		log_warn("%s: accept; pausing %g s (%lu more pauses since "
		    "the last logged)", g->p.name, CONN_ACCEPT_RETRY,
		    g->unlogged);
	else
		log_warn("%s: accept; pausing %g s", g->p.name,
		    CONN_ACCEPT_RETRY);
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
	struct guard	*g = arg;
	struct timeval	 tv;

	(void)l;

	if (!g->paused)
		guard_pause_log(g);
	g->paused = 1;
	guard_listen_update(g);
	tv = clock_tv(CONN_ACCEPT_RETRY);
	evtimer_add(g->ev_retry, &tv);
}

/* Accept on fd; see guard.h. */
struct guard *
guard_new(struct event_base *base, int fd, const struct guard_params *p,
    guard_accept_cb accept, void *arg)
{
	struct guard	*g;
	int		 on = 1;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		log_warn("%s: calloc", p->name);
		close(fd);
		return NULL;
	}
	*g = (struct guard){ .p = *p, .base = base, .fd = fd,
	    .accept = accept, .arg = arg, .enabled = 1 };
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) == -1)
		log_warn("%s: setsockopt SO_TIMESTAMPNS (latency is measured "
		    "from the read instead)", p->name);
	if ((g->ev_retry = evtimer_new(base, guard_accept_resume, g)) ==
	    NULL) {
		log_warnx("%s: out of memory", p->name);
		guard_free(g);
		return NULL;
	}
	g->lev = evconnlistener_new(base, guard_accepted, g,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (g->lev == NULL) {
		log_warnx("%s: cannot accept on fd %d", p->name, fd);
		guard_free(g);
		return NULL;
	}
	g->fd = -1;
	evconnlistener_set_error_cb(g->lev, guard_accept_error);
	guard_listen_update(g);
	return g;
}

/* Close the listener, a turn of the loop after guard_stop() disabled it. */
static void
guard_unbind(evutil_socket_t fd, short what, void *arg)
{
	struct guard	*g = arg;

	(void)fd;
	(void)what;

	if (g->lev != NULL) {
		evconnlistener_free(g->lev);
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

	if (g == NULL || g->stopped)
		return;
	g->stopped = 1;
	evtimer_del(g->ev_retry);
	guard_listen_update(g);
	if (g->lev != NULL && (g->ev_unbind = evtimer_new(g->base,
	    guard_unbind, g)) != NULL)
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

/* Free the guard (its connections are their owner's). */
void
guard_free(struct guard *g)
{
	if (g == NULL)
		return;
	if (g->lev != NULL)
		evconnlistener_free(g->lev);
	if (g->fd != -1)
		close(g->fd);
	if (g->ev_retry != NULL)
		event_free(g->ev_retry);
	if (g->ev_unbind != NULL)
		event_free(g->ev_unbind);
	free(g);
}
