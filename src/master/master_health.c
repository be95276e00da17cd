/*
 * master_health: what the master watches and reports about its workers:
 * their heartbeats (a stalled worker is killed and replaced), systemd's
 * watchdog and STATUS=, the shared header's integrity, and the master's
 * own figures for /metrics.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "inferd/clock.h"
#include "inferd/config.h"
#include "inferd/expo.h"
#include "inferd/log.h"
#include "master/master_impl.h"
#include "inferd/model.h"
#include "inferd/notify.h"
#include "inferd/procstat.h"
#include "inferd/shm.h"

static void	master_steer(struct master *, int64_t);

/*
 * The shared header is the master's and nobody writes it after start-up:
 * if it changed, a worker scribbles over memory it must not.  Say so once;
 * the master keeps to its private copy of the layout.
 */
void
master_check_shm(struct master *m)
{
	char	why[128];

	if (m->shm_broken || shm_check(&m->seg, why, sizeof(why)) == 0)
		return;
	m->shm_broken = 1;
	log_errorx("shared memory %s: header overwritten (%s); a worker writes "
	    "where it must not; restart inferd", m->seg.name, why);
}

/* The master's figures for a scrape (metrics_http's fill callback). */
void
master_metrics(struct expo_metrics *em, void *arg)
{
	struct master	*m = arg;
	pid_t		 pids[2 * CONFIG_MAX_WORKERS];
	size_t		 i, n = 0;

	for (i = 0; i < m->nprocs && n < 2 * CONFIG_MAX_WORKERS; i++)
		pids[n++] = m->procs[i].pid;
	procstat_gather(&em->proc, pids, n);
	em->workers = m->nls;
	em->workers_alive = master_alive(m);
	em->workers_stalled = master_stalled(m);
	em->worker_restarts = m->restarts;
	em->worker_stalls = m->stalls;
	em->reload_failures_config = m->reload_failures[MASTER_RELOAD_CONFIG];
	em->reload_failures_model = m->reload_failures[MASTER_RELOAD_MODEL];
	em->worker_start_failures = m->start_failures;
	em->start_time = m->start_time;
	em->version = PACKAGE_VERSION;
	em->model_name = model_name(m->model);
	em->model_sha256 = model_sha256(m->model);
	em->model_objective = model_objective(m->model);
	master_check_shm(m);
}

/*
 * Seconds since worker i last showed life: its heartbeat, or its fork if it
 * has not stamped one yet.
 */
static double
master_hb_age(const struct master *m, unsigned i, int64_t now)
{
	const struct timespec	*t = &m->procs[i].started;
	int64_t			 hb, since;

	hb = atomic_load_explicit(&m->seg.slots[i].heartbeat_ns,
	    memory_order_relaxed);
	since = (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
	if (hb > since)
		since = hb;
	return (double)(now - since) / 1e9;
}

/*
 * Live workers whose loop has not turned for worker_stall_interval: their
 * heartbeat is older than that.  Judged when asked, so that /healthz and a
 * scrape see a stall at once, not at the next health check.
 */
unsigned
master_stalled(const struct master *m)
{
	int64_t		now = shm_now_ns();
	unsigned	i, n = 0;

	for (i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid != 0 && !m->procs[i].retiring &&
		    master_ready(m, i) && master_hb_age(m, i, now) > m->cfg->worker_stall_interval)
			n++;
	return n;
}

/* Whether a live worker's heartbeat is late (older than two periods). */
static int
master_late(const struct master *m)
{
	double		late = 2 * shm_heartbeat_interval(
			    config_stall_period(m->cfg));
	int64_t		now = shm_now_ns();
	unsigned	i;

	for (i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid != 0 && master_hb_age(m, i, now) > late)
			return 1;
	return 0;
}

/*
 * Tell systemd (STATUS=) how many workers are alive and how many requests
 * they answered; sent when it changed.
 */
void
master_status(struct master *m)
{
	struct shm_snapshot	snap;
	unsigned long long	served = 0;
	char			buf[sizeof(m->status)];
	size_t			h, c;

	shm_snapshot(&m->seg, &snap);
	for (h = 0; h < SHM_NHANDLERS; h++)
		for (c = 0; c < SHM_NCODES; c++)
			served += snap.requests[h][c];
	snprintf(buf, sizeof(buf), "STATUS=%u of %u workers alive, %llu "
	    "requests served", master_alive(m), m->nls, served);
	if (strcmp(buf, m->status) == 0)
		return;
	notify_send(buf);
	strlcpy(m->status, buf, sizeof(m->status));
}

/*
 * The heartbeat check: a worker whose heartbeat is older than
 * worker_stall_timeout is stuck (its loop no longer runs its timers); kill
 * it, and the SIGCHLD path replaces it on its socket.
 */
void
master_health(evutil_socket_t fd, short what, void *arg)
{
	struct master	*m = arg;
	struct mproc	*p;
	double		 stall = m->cfg->worker_stall_timeout, age;
	int64_t		 now = shm_now_ns();
	unsigned	 i;

	(void)fd;
	(void)what;

	for (i = 0; i < m->nprocs; i++) {
		p = &m->procs[i];
		if (p->pid == 0 || p->stalled ||
		    (age = master_hb_age(m, i, now)) <= stall)
			continue;
		log_warnx("worker %u (pid %ld) stalled: no heartbeat for %.1f "
		    "s (worker_stall_timeout %g s); killing it", p->lslot,
		    (long)p->pid, age, stall);
		p->stalled = 1;
		m->stalls++;
		kill(p->pid, SIGKILL);
	}
	master_steer(m, now);
	master_check_shm(m);
	master_status(m);
}

/*
 * Whether a listener slot other than ls, in the port, has a ready worker
 * whose loop turned more recently than age seconds ago: somewhere for
 * ls's connections to go.  (Not "within worker_stall_interval": on a host
 * short of CPU every loop is late, and then the one stopped for longest
 * still leaves.)
 */
static int
master_others_serve(const struct master *m, unsigned ls, int64_t now,
    double age)
{
	unsigned	i;
	int		cur;

	for (i = 0; i < m->nls; i++) {
		if (i == ls || m->ls[i].detached || (cur = m->ls[i].cur) < 0)
			continue;
		if (master_ready(m, (unsigned)cur) && master_hb_age(m,
		    (unsigned)cur, now) < age / 2)
			return 1;
	}
	return 0;
}

/*
 * Take listener slot ls out of the port: shutdown(2) of a listening
 * socket unhashes it, so new connections go to the other workers' sockets
 * at once, and the connections waiting in its accept queue move to them
 * too when net.ipv4.tcp_migrate_req is 1 (Linux 5.14), or are reset when
 * it is 0 (the client sees ECONNRESET at once instead of hanging).  The
 * socket stays open and bound: master_attach puts it back.
 */
static void
master_detach(struct master *m, unsigned ls, double age)
{
	struct mlisten	*l = &m->ls[ls];

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
	log_warnx("worker %u: its loop has not turned for %.1f s "
	    "(worker_stall_interval %g s): not ready; its socket leaves the "
	    "port, its queued connections go to the other workers", ls, age,
	    m->cfg->worker_stall_interval);
}

/* Put listener slot ls back into the port; see master_impl.h. */
void
master_attach(struct master *m, unsigned ls)
{
	struct mlisten		*l = &m->ls[ls];
	struct sockaddr_storage	 now;
	socklen_t		 len = sizeof(now);

	if (!l->detached)
		return;
	/*
	 * A socket bound to port 0 (the first of a port-0 listener) lost
	 * its port with the shutdown: bind it to the port again first.
	 */
	if (getsockname(l->fd, (struct sockaddr *)&now, &len) == -1 ||
	    (((struct sockaddr_in *)&now)->sin_port == 0 &&
	    bind(l->fd, (struct sockaddr *)&l->addr, l->addrlen) == -1) ||
	    listen(l->fd, (int)m->cfg->backlog) == -1) {
		log_warn("worker %u: cannot put its socket back into the port",
		    ls);
		return;
	}
	l->detached = 0;
	log_info("worker %u: its socket is back in the port", ls);
}

/*
 * Steer connections away from stalled workers: a listener slot whose
 * current worker is ready but has not turned its loop for
 * worker_stall_interval leaves the port while another slot serves; it
 * comes back when its worker's heartbeat is fresh again, or when a
 * replacement is forked on it.
 */
static void
master_steer(struct master *m, int64_t now)
{
	double		age;
	unsigned	i;
	int		cur;

	for (i = 0; i < m->nls; i++) {
		if ((cur = m->ls[i].cur) < 0 || m->ls[i].fd == -1 ||
		    !master_ready(m, (unsigned)cur))
			continue;
		age = master_hb_age(m, (unsigned)cur, now);
		if (age > m->cfg->worker_stall_interval)
			log_debug("steer: worker %u late %.2f s, detached %d, "
			    "others %d", i, age, m->ls[i].detached,
			    master_others_serve(m, i, now, age));
		if (age > m->cfg->worker_stall_interval) {
			if (!m->ls[i].detached &&
			    master_others_serve(m, i, now, age))
				master_detach(m, i, age);
		} else if (m->ls[i].detached)
			master_attach(m, i);
	}
}

/* (Re)start the heartbeat check at the period of the stall timeout. */
void
master_health_arm(struct master *m)
{
	struct timeval	tv = clock_tv(shm_heartbeat_interval(
			    config_stall_period(m->cfg)));

	evtimer_add(m->ev_health, &tv);
}

/*
 * Systemd's watchdog: say we are alive, but only while every worker's
 * heartbeat is fresh.  A stuck worker pauses it until the master has
 * replaced it; a master that cannot leaves systemd to restart inferd.
 */
static void
master_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct master	*m = arg;

	(void)fd;
	(void)what;

	if (!master_late(m))
		notify_send("WATCHDOG=1");
}

/* Set up the systemd watchdog if WATCHDOG_USEC asks for it. */
void
master_watchdog_init(struct master *m)
{
	struct timeval	 tv;
	double		 period;

	if ((period = notify_watchdog_interval()) <= 0)
		return;
	m->ev_watchdog = event_new(m->base, -1, EV_PERSIST, master_watchdog,
	    m);
	tv = clock_tv(period);
	if (m->ev_watchdog != NULL)
		evtimer_add(m->ev_watchdog, &tv);
}
