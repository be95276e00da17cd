/*
 * worker: the worker process.  Its event loop, its signals, the drain and
 * linger of a stop.  Requests are conn's business, connections the
 * HTTP layer's (conn.h: connections, limits, deadlines), answers the
 * routes'.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "inferd/accesslog.h"
#include "inferd/clock.h"
#include "inferd/config.h"
#include "inferd/conn.h"
#include "inferd/listen.h"
#include "inferd/log.h"
#include "inferd/model.h"
#include "inferd/routes.h"
#include "inferd/shm.h"
#include "inferd/worker.h"
#include "inferd/workpool.h"

#define WORKER_DRAIN_LINGER	0.2	/* seconds for just-accepted clients */

struct worker {
	const struct worker_params *p;
	struct event_base	*base;
	struct event		*ev_term, *ev_int, *ev_drain;
	struct event		*ev_linger, *ev_heartbeat;
	struct event		*ev_usr1, *ev_logflush;
	struct accesslog	*log;		/* NULL: access_log = off */
	struct conn_set		*conns;
	struct routes		*routes;
	struct workpool		*pool;		/* NULL: worker_threads 0 */
	int			 draining;
	int			 lingering;	/* just stopped accepting */
	char			 name[32];	/* "worker 3" */
#ifdef INFERD_TEST_FAULTS
	unsigned long		 fault_after, fault_seen;
#endif
};

#ifdef INFERD_TEST_FAULTS
/*
 * Test builds only (tests/inferd-faults): INFERD_FAULT=spin:N makes the
 * worker spin in its event loop 0.1 s after its N-th request, as a worker
 * stuck in a loop would, so that the watchdog's tests see it stall.
 */
static void
worker_fault_spin(evutil_socket_t fd, short what, void *arg)
{
	volatile unsigned long	spin = 0;
	struct worker		*w = arg;

	(void)fd;
	(void)what;

	log_warnx("worker %u: INFERD_FAULT: spinning", w->p->index);
	for (;;)
		spin++;
}

/* Count a request; start the spin after the N-th. */
static void
worker_fault_count(struct worker *w)
{
	const char	*f = getenv("INFERD_FAULT");
	struct timeval	 tv = clock_tv(0.1);

	if (w->fault_seen == 0 && f != NULL && strncmp(f, "spin:", 5) == 0)
		w->fault_after = strtoul(f + 5, NULL, 10);
	if (w->fault_after == 0 || ++w->fault_seen != w->fault_after)
		return;
	event_base_once(w->base, -1, EV_TIMEOUT, worker_fault_spin, w, &tv);
}
#endif

/* The heartbeat timer: this loop runs; say so in the slot (see shm.h). */
static void
worker_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;

	shm_heartbeat(w->p->slot);
}

/* The access log's flush timer: write what is buffered. */
static void
worker_log_flush(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;

	conn_set_flush_log(w->conns);
}

/*
 * SIGUSR1 (forwarded by the master): write what is buffered and open the
 * access log's path again, as logrotate expects after renaming it.
 */
static void
worker_reopen(evutil_socket_t sig, short what, void *arg)
{
	struct worker	*w = arg;

	(void)sig;
	(void)what;

	if (w->log == NULL)
		return;
	conn_set_flush_log(w->conns);
	accesslog_reopen(w->log);
	log_debug("worker %u: access log reopened", w->p->index);
}

/*
 * Open the access log (when on) and tell the connection set how to name,
 * log and trace requests, before the loop runs its first request.  The
 * worker opens the file itself, after the fork and as the user it runs
 * as; SIGUSR1 reopens it.  0 or -1.
 */
static int
worker_log_init(struct worker *w)
{
	const struct config		*cfg = w->p->cfg;
	struct conn_trace_params	 tp = {
		.worker = w->p->index,
		.model = model_name(w->p->model),
		.reqid_max = cfg->request_id_max_length,
		.slow_threshold = cfg->slow_request_threshold,
		.slow_rate = cfg->slow_request_log_rate,
	};
	struct timeval			 tv;
	char				 err[CONFIG_PATH_MAX + 64];

	w->ev_usr1 = evsignal_new(w->base, SIGUSR1, worker_reopen, w);
	if (w->ev_usr1 == NULL || evsignal_add(w->ev_usr1, NULL) == -1) {
		log_warnx("worker %u: cannot watch SIGUSR1", w->p->index);
		return -1;
	}
	if (strcmp(cfg->access_log, "off") != 0) {
		if ((w->log = accesslog_open(cfg->access_log,
		    cfg->access_log_flush > 0 ? cfg->access_log_buffer : 0,
		    err, sizeof(err))) == NULL) {
			log_warnx("worker %u: %s", w->p->index, err);
			return -1;
		}
		tp.log = w->log;
		if (cfg->access_log_flush > 0) {
			tv = clock_tv(cfg->access_log_flush);
			w->ev_logflush = event_new(w->base, -1, EV_PERSIST,
			    worker_log_flush, w);
			if (w->ev_logflush == NULL ||
			    evtimer_add(w->ev_logflush, &tv) == -1) {
				log_warnx("worker %u: cannot start the access "
				    "log's flush timer", w->p->index);
				return -1;
			}
		}
	}
	conn_set_trace(w->conns, &tp);
	return 0;
}

/* Route a request (conn's callback). */
static void
worker_route(struct conn_req *r, void *arg)
{
	struct worker	*w = arg;

	routes_dispatch(w->routes, r);
}

/* A draining worker leaves once every response is out (conn's callback
 * after each request). */
static void
worker_maybe_exit(void *arg)
{
	struct worker	*w = arg;

	if (w->draining && !w->lingering && conn_set_idle(w->conns))
		event_base_loopexit(w->base, NULL);
}

/* A request is finished (conn's callback). */
static void
worker_request_done(const struct conn_req *r, void *arg)
{
	(void)r;

#ifdef INFERD_TEST_FAULTS
	worker_fault_count(arg);
#endif
	worker_maybe_exit(arg);
}

/*
 * SIGTERM or SIGINT: stop accepting and drain.  Connections accepted just
 * before may still be sending their first request: they get
 * WORKER_DRAIN_LINGER seconds to do so.  Then the worker leaves as soon as
 * nothing is in flight, or when drain_timeout has passed.
 */
static void
worker_stop(evutil_socket_t sig, short what, void *arg)
{
	struct worker	*w = arg;
	double		 t = w->p->cfg->drain_timeout;
	struct timeval	 tv;

	(void)sig;
	(void)what;

	if (w->draining)
		return;
	w->draining = 1;
	w->lingering = 1;
	conn_set_draining(w->conns);
	conn_set_stop(w->conns);
	log_debug("worker %u: draining %zu requests", w->p->index,
	    conn_set_inflight(w->conns));
	tv = clock_tv(t);
	evtimer_add(w->ev_drain, &tv);
	tv = clock_tv(t < WORKER_DRAIN_LINGER ? t : WORKER_DRAIN_LINGER);
	evtimer_add(w->ev_linger, &tv);
}

/* The linger after a stop is over: leave if nothing is in flight. */
static void
worker_linger_done(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;

	w->lingering = 0;
	worker_maybe_exit(w);
}

/* The drain timeout passed with requests still in flight. */
static void
worker_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	size_t		 n = conn_set_inflight(w->conns);

	(void)fd;
	(void)what;

	if (n > 0)
		log_warnx("worker %u: drain_timeout passed with %zu requests "
		    "in flight; exiting", w->p->index, n);
	event_base_loopexit(w->base, NULL);
}

/* The HTTP server's bounds in cfg (the inference port's). */
static struct conn_params
worker_conn_params(const struct worker *w)
{
	const struct config	*cfg = w->p->cfg;

	return (struct conn_params){
		.name = w->name,
		.max_connections = cfg->max_connections,
		.header_timeout = cfg->header_timeout,
		.body_timeout = cfg->request_timeout,
		.keepalive_timeout = cfg->keepalive_timeout,
		.write_timeout = cfg->request_timeout,
		.max_header_bytes = cfg->max_header_bytes,
		.max_body_bytes = cfg->max_body_bytes,
		.max_body_memory = cfg->max_body_memory,
		.pipeline_depth = cfg->pipeline_depth,
	};
}

/* The signals and timers of the worker's life; 0 or -1. */
static int
worker_events_init(struct worker *w)
{
	struct timeval	tv = clock_tv(shm_heartbeat_interval(
			    config_stall_period(w->p->cfg)));

	w->ev_heartbeat = event_new(w->base, -1, EV_PERSIST, worker_heartbeat,
	    w);
	if (w->ev_heartbeat == NULL || evtimer_add(w->ev_heartbeat, &tv) == -1) {
		log_warnx("worker %u: cannot start its heartbeat", w->p->index);
		return -1;
	}
	shm_heartbeat(w->p->slot);
	w->ev_term = evsignal_new(w->base, SIGTERM, worker_stop, w);
	w->ev_int = evsignal_new(w->base, SIGINT, worker_stop, w);
	w->ev_drain = evtimer_new(w->base, worker_drain_timeout, w);
	w->ev_linger = evtimer_new(w->base, worker_linger_done, w);
	if (w->ev_term == NULL || w->ev_int == NULL || w->ev_drain == NULL ||
	    w->ev_linger == NULL ||
	    evsignal_add(w->ev_term, NULL) == -1 ||
	    evsignal_add(w->ev_int, NULL) == -1) {
		log_warnx("worker %u: cannot set up signals", w->p->index);
		return -1;
	}
	return 0;
}

/*
 * Free what worker_run allocated.  Requests still unanswered
 * after a drain timeout are dropped uncounted: the master zeroes the
 * slot's in-flight gauge when it reaps this process.
 */
static void
worker_free(struct worker *w)
{
	struct event	*evs[] = { w->ev_term, w->ev_int, w->ev_drain,
			    w->ev_linger, w->ev_heartbeat, w->ev_usr1,
			    w->ev_logflush };
	size_t		 i;

	if (w->conns != NULL)
		conn_set_flush_log(w->conns);
	/* The pool first: its cancelled jobs still hold requests that
	 * conn_set_free frees. */
	workpool_free(w->pool);
	conn_set_free(w->conns);
	accesslog_close(w->log);
	routes_free(w->routes);
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	if (w->base != NULL)
		event_base_free(w->base);
}

/*
 * The worker's event base, with libevent's epoll changelist
 * (EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST): the changes of a turn of the loop
 * are applied in one epoll_ctl(2) per descriptor before epoll_wait, and
 * the HTTP layer's enable/disable pairs cancel out, one epoll_ctl per request
 * instead of several.  libevent warns that this is unsafe with descriptors
 * cloned by dup() or its variants: a deletion applied after close(2)
 * fails (EBADF, which libevent ignores) and, while a clone keeps the
 * socket open, epoll keeps reporting it.  In a worker, every registered
 * descriptor is its own (connections it accepted, libevent's signal
 * socketpair) except its listener, which the master keeps open across
 * respawns (fork cloned it): so the listener is closed only a turn of the
 * loop after it left the loop (guard_stop), or at exit.
 * Nothing dups a descriptor, and a worker forks nothing.
 *
 * And with EVENT_BASE_FLAG_PRECISE_TIMER: libevent's timers otherwise run on
 * CLOCK_MONOTONIC_COARSE, whose ticks of a few milliseconds let a ?delay=
 * timer fire before the delay has passed on the clock a request's latency
 * is measured with (a 1.5 s delay observed as 1.499 s).  NULL on failure.
 */
static struct event_base *
worker_base_new(void)
{
	struct event_config	*ecfg;
	struct event_base	*base;

	if ((ecfg = event_config_new()) == NULL)
		return NULL;
	event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST |
	    EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(ecfg);
	event_config_free(ecfg);
	return base;
}

/*
 * Lower the worker's scheduling priority worker_nice steps below the
 * master's (which it inherited): when the workers saturate every core,
 * the master still runs as soon as a scrape arrives.  Raising a nice value
 * needs no privilege; a failure is logged and the worker serves anyway.
 */
static void
worker_nice(const struct worker *w)
{
	int	inc = (int)w->p->cfg->worker_nice;

	errno = 0;
	if (inc > 0 && nice(inc) == -1 && errno != 0)
		log_warn("worker %u: nice(%d)", w->p->index, inc);
}

/*
 * glibc's heap in a worker: keep the memory of freed request bodies for
 * the next ones.  By default glibc raises its mmap threshold to the size
 * of the first large block freed and trims the heap's top past twice
 * that, so under a stream of 1 MiB bodies handed between the loop and the
 * pool the heap gave pages back and faulted them in again all the time
 * (measured: a refused 1 MiB body cost about a third more at the defaults
 * than on the loop alone, bench/overload.py's head-of-line rows).  Blocks
 * up to glibc's largest threshold (32 MiB) come from the heap, and its
 * top is trimmed past max_body_memory; the connection layer's malloc_trim
 * still gives everything back a second after a flood (conn_trim).  A
 * malloc that is not glibc's (a sanitizer's) keeps its own ways.
 */
static void
worker_malloc(const struct worker *w)
{
#ifdef __GLIBC__
	size_t	trim = w->p->cfg->max_body_memory;

	if (trim > INT_MAX)
		trim = INT_MAX;
	if (mallopt(M_MMAP_THRESHOLD, 32 << 20) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, (int)trim) != 1)
		log_debug("worker %u: mallopt refused; glibc's default "
		    "thresholds stay", w->p->index);
#else
	(void)w;
#endif
}

/* Run one worker; returns its exit status. */
int
worker_run(const struct worker_params *p)
{
	struct worker	 w = { .p = p };
	struct conn_params cp;
	int		 rc = 1;

	snprintf(w.name, sizeof(w.name), "worker %u", p->index);
	worker_nice(&w);
	worker_malloc(&w);
	listen_fd_limit((unsigned long)p->cfg->max_connections +
	    LISTEN_FD_MARGIN, w.name, "max_connections");
	if ((w.base = worker_base_new()) == NULL) {
		log_warnx("worker %u: event_base_new_with_config failed",
		    p->index);
		goto out;
	}
	/*
	 * The heavy-work threads (a worker forks nothing, so threads are
	 * safe here).  jansson seeds its hash function on first use, racily
	 * across threads: seed it before any thread parses.
	 */
	if (p->cfg->worker_threads > 0) {
		json_object_seed(0);
		if ((w.pool = workpool_new(w.base, p->cfg->worker_threads)) ==
		    NULL)
			goto out;
	}
	if ((w.routes = routes_new(p->cfg, p->model, w.pool)) == NULL) {
		log_warnx("worker %u: out of memory", p->index);
		goto out;
	}
	cp = worker_conn_params(&w);
	if ((w.conns = conn_set_new(w.base, p->listen_fd, &cp, p->seg,
	    p->slot, ROUTES_H_OTHER, worker_route, worker_request_done,
	    &w)) == NULL || worker_log_init(&w) == -1 ||
	    worker_events_init(&w) == -1)
		goto out;
	/*
	 * Ready: it accepts.  The pid in the slot tells the master so (see
	 * shm.h): a worker that dies before this point is a start-up failure
	 * and is restarted with backoff; one that dies after it is replaced
	 * at once.
	 */
	atomic_store_explicit(&p->slot->pid, (int32_t)getpid(),
	    memory_order_release);
	if (event_base_dispatch(w.base) == -1) {
		log_warnx("worker %u: event loop failed", p->index);
		goto out;
	}
	rc = 0;
out:
	worker_free(&w);
	return rc;
}
