/*
 * master_health: heartbeats, systemd's watchdog and STATUS=, the shared
 * header's integrity (see master_health.h).
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <sys/types.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "inferd/clock.h"
#include "inferd/log.h"
#include "inferd/notify.h"
#include "inferd/shm.h"
#include "master/master_health.h"
#include "master/master_workers.h"

/*
 * The shared header is the master's and nobody writes it after start-up:
 * if it changed, a worker scribbles over memory it must not.  Say so once;
 * the master keeps to its private copy of the layout.
 */
void
mhealth_check_shm(struct mhealth *h)
{
	char	why[128];

	if (h->shm_broken || shm_check(h->w->seg, why, sizeof(why)) == 0)
		return;
	h->shm_broken = 1;
	log_errorx("shared memory %s: header overwritten (%s); a worker writes "
	    "where it must not; restart inferd", h->w->seg->name, why);
}

/*
 * Seconds since worker i last showed life: its heartbeat, or its fork if it
 * has not stamped one yet.
 */
static double
mhealth_hb_age(const struct mworkers *w, unsigned i, int64_t now)
{
	const struct timespec	*t = &w->procs[i].started;
	int64_t			 hb, since;

	hb = atomic_load_explicit(&w->seg->slots[i].heartbeat_ns,
	    memory_order_relaxed);
	since = (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
	if (hb > since)
		since = hb;
	return (double)(now - since) / 1e9;
}

/* The heartbeat's and the check's period: a quarter of the shorter of
 * worker_stall_interval and worker_stall_timeout (shm_heartbeat_interval),
 * as the workers compute it (config_stall_period). */
static double
mhealth_period(const struct mhealth *h)
{
	double	s = h->stall_timeout;

	if (h->stall_interval > 0 && h->stall_interval < s)
		s = h->stall_interval;
	return shm_heartbeat_interval(s);
}

/* Ready workers whose heartbeat is older than worker_stall_interval;
 * judged when asked, so that /healthz and a scrape see a stall at once. */
unsigned
mhealth_stalled(const struct mhealth *h)
{
	const struct mworkers *w = h->w;
	int64_t		now = shm_now_ns();
	unsigned	i, n = 0;
	int		cur;

	if (h->stall_interval <= 0)
		return 0;
	for (i = 0; i < w->nls; i++)
		if ((cur = w->ls[i].cur) >= 0 &&
		    mworkers_ready(w, (unsigned)cur) &&
		    mhealth_hb_age(w, (unsigned)cur, now) > h->stall_interval)
			n++;
	return n;
}

/*
 * Whether a listener slot other than ls, in the port, has a ready worker
 * whose loop turned more recently than half of age ago: somewhere for
 * ls's connections to go.  (Not "within worker_stall_interval": on a host
 * short of CPU every loop is late, and then the one stopped for longest
 * still leaves.)
 */
static int
mhealth_others_serve(const struct mworkers *w, unsigned ls, int64_t now,
    double age)
{
	unsigned	i;
	int		cur;

	for (i = 0; i < w->nls; i++) {
		if (i == ls || w->ls[i].detached || (cur = w->ls[i].cur) < 0)
			continue;
		if (mworkers_ready(w, (unsigned)cur) &&
		    mhealth_hb_age(w, (unsigned)cur, now) < age / 2)
			return 1;
	}
	return 0;
}

/*
 * Take listener slot ls out of the port: shutdown(2) of a listening
 * socket unhashes it, so new connections go to the other workers'
 * sockets at once, and the connections waiting in its accept queue move
 * to them too when net.ipv4.tcp_migrate_req is 1 (Linux 5.14), or are
 * reset when it is 0 (the client sees ECONNRESET at once instead of
 * hanging).  The socket stays open and bound: mworkers_attach puts it
 * back.
 */
static void
mhealth_detach(struct mhealth *h, unsigned ls, double age)
{
	struct mlisten	*l = &h->w->ls[ls];

	l->addrlen = sizeof(l->addr);
	if (getsockname(l->fd, (struct sockaddr *)&l->addr,
	    &l->addrlen) == -1) {
		log_warn("worker %u stalled: getsockname", ls);
		return;
	}
	if (shutdown(l->fd, SHUT_RD) == -1) {
		log_warn("worker %u stalled: shutdown of its listener", ls);
		return;
	}
	l->detached = 1;
	l->backlog = h->backlog;
	log_warnx("worker %u: its loop has not turned for %.1f s "
	    "(worker_stall_interval %g s): not ready; its socket leaves the "
	    "port, its queued connections go to the other workers", ls, age,
	    h->stall_interval);
}

/*
 * Steer connections away from stalled workers: a listener slot whose
 * worker is ready but has not turned its loop for worker_stall_interval
 * leaves the port while another slot serves; it comes back when the
 * heartbeat is fresh again, or when a replacement is forked on it.
 */
static void
mhealth_steer(struct mhealth *h, int64_t now)
{
	struct mworkers	*w = h->w;
	double		 age;
	unsigned	 i;
	int		 cur;

	if (h->stall_interval <= 0)
		return;
	for (i = 0; i < w->nls; i++) {
		if ((cur = w->ls[i].cur) < 0 || w->ls[i].fd == -1 ||
		    !mworkers_ready(w, (unsigned)cur))
			continue;
		age = mhealth_hb_age(w, (unsigned)cur, now);
		if (age > h->stall_interval) {
			log_debug("steer: worker %u late %.2f s, detached %d",
			    i, age, w->ls[i].detached);
			if (!w->ls[i].detached &&
			    mhealth_others_serve(w, i, now, age))
				mhealth_detach(h, i, age);
		} else if (w->ls[i].detached)
			(void)mworkers_attach(w, i);
	}
}

/* Whether a live worker's heartbeat is late (older than two periods). */
static int
mhealth_late(const struct mhealth *h)
{
	const struct mworkers *w = h->w;
	double		late = 2 * mhealth_period(h);
	int64_t		now = shm_now_ns();
	unsigned	i;

	for (i = 0; i < w->nprocs; i++)
		if (w->procs[i].pid != 0 && mhealth_hb_age(w, i, now) > late)
			return 1;
	return 0;
}

/*
 * Tell systemd (STATUS=) how many workers are alive and how many requests
 * they answered; sent when it changed.
 */
void
mhealth_status(struct mhealth *hl)
{
	struct shm_snapshot	snap;
	unsigned long long	served = 0;
	char			buf[sizeof(hl->status)];
	size_t			h, c;

	shm_snapshot(hl->w->seg, &snap);
	for (h = 0; h < SHM_NHANDLERS; h++)
		for (c = 0; c < SHM_NCODES; c++)
			served += snap.requests[h][c];
	snprintf(buf, sizeof(buf), "STATUS=%u of %u workers alive, %llu "
	    "requests served", mworkers_alive(hl->w), hl->w->nls, served);
	if (strcmp(buf, hl->status) == 0)
		return;
	notify_send(buf);
	strlcpy(hl->status, buf, sizeof(hl->status));
}

/*
 * The heartbeat check: a worker whose heartbeat is older than
 * worker_stall_timeout is stuck (its loop no longer runs its timers); kill
 * it, and the worker table replaces it on its socket when it is reaped.
 */
static void
mhealth_check(evutil_socket_t fd, short what, void *arg)
{
	struct mhealth	*h = arg;
	struct mworkers	*w = h->w;
	struct mproc	*p;
	double		 stall = h->stall_timeout, age;
	int64_t		 now = shm_now_ns();
	unsigned	 i;

	(void)fd;
	(void)what;

	for (i = 0; i < w->nprocs; i++) {
		p = &w->procs[i];
		if (p->pid == 0 || p->stalled ||
		    (age = mhealth_hb_age(w, i, now)) <= stall)
			continue;
		log_warnx("worker %u (pid %ld) stalled: no heartbeat for %.1f "
		    "s (worker_stall_timeout %g s); killing it", p->lslot,
		    (long)p->pid, age, stall);
		p->stalled = 1;
		h->stalls++;
		kill(p->pid, SIGKILL);
	}
	mhealth_steer(h, now);
	mhealth_check_shm(h);
	mhealth_status(h);
}

/* Run the heartbeat check at the period of the stall timeout. */
static void
mhealth_arm(struct mhealth *h)
{
	struct timeval	tv = clock_tv(mhealth_period(h));

	evtimer_add(h->ev_health, &tv);
}

/* A new worker_stall_interval and backlog; see master_health.h. */
void
mhealth_set_stall_interval(struct mhealth *h, double interval, int backlog)
{
	int	rearm = h->ev_health != NULL && h->stall_interval != interval &&
		    h->stall_timeout > 0;

	h->stall_interval = interval;
	h->backlog = backlog;
	if (rearm)
		mhealth_arm(h);
}

/* A new worker_stall_timeout. */
void
mhealth_set_stall_timeout(struct mhealth *h, double stall)
{
	if (stall == h->stall_timeout)
		return;
	h->stall_timeout = stall;
	mhealth_arm(h);
}

/*
 * Systemd's watchdog: say we are alive, but only while every worker's
 * heartbeat is fresh.  A stuck worker pauses it until the master has
 * replaced it; a master that cannot leaves systemd to restart inferd.
 */
static void
mhealth_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct mhealth	*h = arg;

	(void)fd;
	(void)what;

	if (!mhealth_late(h))
		notify_send("WATCHDOG=1");
}

/* Set up the checks; 0 or -1. */
int
mhealth_init(struct mhealth *h, struct event_base *base, struct mworkers *w)
{
	memset(h, 0, sizeof(*h));
	h->w = w;
	h->base = base;
	if ((h->ev_health = event_new(base, -1, EV_PERSIST, mhealth_check,
	    h)) == NULL) {
		log_errorx("event_new failed");
		return -1;
	}
	return 0;
}

/* Start the heartbeat check, and systemd's watchdog if it is asked for. */
void
mhealth_start(struct mhealth *h, double stall_timeout)
{
	struct timeval	 tv;
	double		 period;

	h->stall_timeout = stall_timeout;
	mhealth_arm(h);
	if ((period = notify_watchdog_interval()) <= 0)
		return;
	h->ev_watchdog = event_new(h->base, -1, EV_PERSIST, mhealth_watchdog,
	    h);
	tv = clock_tv(period);
	if (h->ev_watchdog != NULL)
		evtimer_add(h->ev_watchdog, &tv);
}

/* Free the checks' events. */
void
mhealth_free(struct mhealth *h)
{
	if (h->ev_health != NULL)
		event_free(h->ev_health);
	if (h->ev_watchdog != NULL)
		event_free(h->ev_watchdog);
	h->ev_health = h->ev_watchdog = NULL;
}
