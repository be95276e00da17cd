/*
 * master: listeners, workers, signals.  The metrics port is
 * metrics_http's; the master fills in its own figures.
 *
 * Worker slots and metrics slots are two different things.  There are
 * `workers` listener slots, each with its own SO_REUSEPORT socket that the
 * master keeps open for its whole life, and twice as many metrics slots in
 * the shared segment: a worker process takes any free metrics slot when it
 * is forked and gives it back when it is reaped.  A reload therefore starts
 * a new worker on each listener slot (in a free metrics slot) before it
 * asks the old one to drain, and the two accept on the same socket for a
 * while.  Metrics slots are never reset, so whichever process continues a
 * slot, every counter keeps growing for as long as the master lives.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "inferd/clock.h"
#include "inferd/config.h"
#include "inferd/expo.h"
#include "inferd/listen.h"
#include "inferd/loadthread.h"
#include "inferd/log.h"
#include "inferd/master.h"
#include "inferd/metrics_http.h"
#include "inferd/model.h"
#include "inferd/notify.h"
#include "inferd/priv.h"
#include "inferd/procstat.h"
#include "inferd/shm.h"
#include "inferd/worker.h"

#define MASTER_BACKOFF_FIRST	0.1	/* seconds, doubled per start failure */
#define MASTER_KILL_GRACE	5.0	/* seconds after drain_timeout */

/* A worker process, in the metrics slot of the same index. */
struct mproc {
	pid_t		 pid;		/* 0: slot free */
	unsigned	 lslot;		/* listener slot it accepts on */
	int		 retiring;	/* draining after a reload */
	int		 stalled;	/* killed for a stale heartbeat */
	struct timespec	 started;
};

/* A listener slot. */
struct mlisten {
	int		 fd;
	int		 cur;		/* index in procs, -1 when none */
	unsigned	 fails;		/* consecutive start failures */
	struct event	*respawn;	/* backoff timer */
};

struct master {
	struct config		*cfg;
	struct model		*model;
	struct event_base	*base;
	struct metrics_http	*mhttp;
	struct shm_segment	 seg;
	struct mlisten		*ls;
	struct mproc		*procs;
	unsigned		 nls, nprocs;
	int			 sigpipe[2];	/* self-pipe of signals */
	sigset_t		 sigmask;	/* the signals it handles */
	struct event		*ev_signal, *ev_kill, *ev_watchdog;
	uint64_t		 restarts, start_failures;
	double			 start_time;
	int			 stopping;
	int			 reload_pending;	/* SIGHUP during a reload */
	/* issue 8: reload, heartbeats, status */
	master_config_cb	 reconf;	/* builds the configuration */
	void			*reconf_arg;
	struct config		 next;		/* being reloaded */
	struct loadthread	*loader;	/* loading next.model */
	struct event		*ev_health;	/* heartbeat check */
	uint64_t		 reload_failures[2];	/* config, model */
	uint64_t		 stalls;
	int			 shm_broken;	/* logged once */
	char			 status[128];	/* last STATUS= sent */
};

enum { MASTER_RELOAD_CONFIG, MASTER_RELOAD_MODEL };

/* The master; static so that a forked worker can free what it inherits. */
static struct master	master;

/*
 * Whether the worker in metrics slot i is ready: it stores its pid in the
 * slot once it accepts (worker_run), and the master zeroes it when it
 * reaps the worker.
 */
static int
master_ready(const struct master *m, unsigned i)
{
	return m->procs[i].pid != 0 && atomic_load_explicit(
	    &m->seg.slots[i].pid, memory_order_acquire) == m->procs[i].pid;
}

/*
 * Listener slots served by a ready worker.  During a reload the old worker
 * of a slot counts until its successor is ready, so that /healthz does not
 * flap to 503 for the instant between the two.
 */
static unsigned
master_alive(const struct master *m)
{
	unsigned	i, j, n = 0;

	for (i = 0; i < m->nls; i++) {
		for (j = 0; j < m->nprocs; j++)
			if (m->procs[j].lslot == i && master_ready(m, j))
				break;
		if (j < m->nprocs)
			n++;
	}
	return n;
}

/*
 * The shared header is the master's and nobody writes it after start-up:
 * if it changed, a worker scribbles over memory it must not.  Say so once;
 * the master keeps to its private copy of the layout.
 */
static void
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
static void
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

/* The signals the master handles, all through its self-pipe. */
static const int master_signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };

/* Raw signal handler: nothing but a byte into the self-pipe. */
static void
master_sighandler(int sig)
{
	int		saved = errno;
	unsigned char	b = (unsigned char)sig;

	if (write(master.sigpipe[1], &b, 1) == -1) {
		/* The pipe is full: enough wake-ups are pending. */
	}
	errno = saved;
}

/*
 * In a freshly forked worker: drop the master's signal handlers and every
 * descriptor but the worker's own listener.  The master's event base is
 * left alone, never freed: its epoll instance is shared with the master,
 * and any libevent call on it here would change the master's registrations.
 */
static void
master_forget(struct master *m, unsigned keep)
{
	struct sigaction	sa;
	size_t			i;
	unsigned		fd = (unsigned)m->ls[keep].fd;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(master_signals) / sizeof(master_signals[0]);
	    i++) {
		/* A stray SIGHUP (a closed terminal, pkill -HUP) must not
		 * kill a worker: reloading is the master's business. */
		sa.sa_handler = master_signals[i] == SIGHUP ? SIG_IGN : SIG_DFL;
		sigaction(master_signals[i], &sa, NULL);
	}
	if ((fd > 3 && close_range(3, fd - 1, 0) == -1) ||
	    close_range(fd + 1, ~0U, 0) == -1) {
		/* Kernels before 5.9 lack close_range(2). */
		long max = sysconf(_SC_OPEN_MAX);

		for (i = 3; i < (size_t)(max > 0 ? max : 65536); i++)
			if (i != fd)
				close((int)i);
	}
}

/* Fork a worker for listener slot ls; 0 or -1. */
static int
master_spawn(struct master *m, unsigned ls)
{
	struct worker_params	 p;
	sigset_t		 old;
	unsigned		 i;
	pid_t			 pid, master_pid;

	for (i = 0; i < m->nprocs && m->procs[i].pid != 0; i++)
		;
	if (i == m->nprocs) {
		log_warnx("no free metrics slot for worker %u", ls);
		return -1;
	}
	atomic_store_explicit(&m->seg.slots[i].in_flight, 0,
	    memory_order_relaxed);
	atomic_store_explicit(&m->seg.slots[i].pid, 0, memory_order_relaxed);
	atomic_store_explicit(&m->seg.slots[i].heartbeat_ns, 0,
	    memory_order_relaxed);
	fflush(NULL);
	/*
	 * Until the child has dropped the master's handlers, a signal sent to
	 * it would land in the master's self-pipe: keep them blocked across
	 * the fork.
	 */
	sigprocmask(SIG_BLOCK, &m->sigmask, &old);
	master_pid = getpid();
	if ((pid = fork()) == -1) {
		log_warn("fork worker %u", ls);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	if (pid == 0) {
		/* A worker must not outlive its master, to serve on a port
		 * that a new master may share (SO_REUSEPORT) with an old
		 * model and no metrics. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
		    getppid() != master_pid)
			_exit(1);
		master_forget(m, ls);
		sigprocmask(SIG_SETMASK, &old, NULL);
		setproctitle("worker %u", ls);
		p = (struct worker_params){
			.cfg = m->cfg,
			.model = m->model,
			.seg = &m->seg,
			.slot = &m->seg.slots[i],
			.listen_fd = m->ls[ls].fd,
			.index = ls,
		};
		exit(worker_run(&p));
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	m->procs[i].pid = pid;
	m->procs[i].lslot = ls;
	m->procs[i].retiring = 0;
	m->procs[i].stalled = 0;
	clock_gettime(CLOCK_MONOTONIC, &m->procs[i].started);
	m->ls[ls].cur = (int)i;
	log_debug("worker %u: pid %ld, metrics slot %u", ls, (long)pid, i);
	return 0;
}

static void	master_replace(struct master *, unsigned, int);

/* Backoff timer of a listener slot expired: start its worker again. */
static void
master_respawn(evutil_socket_t fd, short what, void *arg)
{
	struct mlisten	*l = arg;
	struct master	*m = &master;

	(void)fd;
	(void)what;

	if (m->stopping)
		return;
	if (master_spawn(m, (unsigned)(l - m->ls)) == -1)
		master_replace(m, (unsigned)(l - m->ls), 0);
}

/* Describe a wait(2) status. */
static void
master_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "stopped with status %#x", status);
}


/*
 * Start a worker on listener slot ls again (nginx's respawn decision, by
 * whether the dead one had been serving).  One that was ready when it died
 * is replaced at once, however often workers are killed: the service must
 * stay up.  One that died before it was ready (or could not be forked) is
 * a start-up failure, a crash loop in the making (a broken model, a
 * missing permission, no memory): it is counted, logged, and retried after
 * 0.1 s, 0.2 s, ... up to restart_delay_max.
 */
static void
master_replace(struct master *m, unsigned ls, int ready)
{
	struct mlisten	*l = &m->ls[ls];
	struct timeval	 tv;
	double		 delay;

	if (ready) {
		l->fails = 0;
		if (master_spawn(m, ls) == 0)
			return;
	}
	l->fails++;
	m->start_failures++;
	delay = MASTER_BACKOFF_FIRST * pow(2, l->fails > 30 ? 30 : l->fails - 1);
	if (delay > m->cfg->restart_delay_max)
		delay = m->cfg->restart_delay_max;
	log_warnx("worker %u failed before it was ready (%u in a row); it "
	    "keeps dying; restarting it in %.1f s", ls, l->fails, delay);
	tv = clock_tv(delay);
	evtimer_add(l->respawn, &tv);
}

static void	master_sighup(struct master *);
static void	master_status(struct master *);
static void	master_health_arm(struct master *);

/*
 * A reaped worker's slot must name it (or nobody, if it died before it
 * wrote its pid): anything else means two processes wrote one slot, and
 * its counters are wrong.
 */
static void
master_slot_check(const struct master *m, unsigned i, pid_t pid)
{
	int32_t	spid = atomic_load_explicit(&m->seg.slots[i].pid,
		    memory_order_relaxed);

	if (spid != 0 && spid != (int32_t)pid)
		log_warnx("metrics slot %u names pid %ld, but worker pid %ld "
		    "was its writer; its counters may be wrong", i,
		    (long)spid, (long)pid);
}

/* SIGCHLD: reap every exited worker; replace or forget it. */
static void
master_sigchld(struct master *m)
{
	struct mproc	*p;
	char		 how[128];
	unsigned	 i;
	pid_t		 pid;
	int		 status, ready;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < m->nprocs && m->procs[i].pid != pid; i++)
			;
		if (i == m->nprocs)
			continue;
		p = &m->procs[i];
		ready = master_ready(m, i);
		p->pid = 0;
		master_slot_check(m, i, pid);
		/* Its requests in flight will never finish. */
		atomic_store_explicit(&m->seg.slots[i].in_flight, 0,
		    memory_order_relaxed);
		atomic_store_explicit(&m->seg.slots[i].pid, 0,
		    memory_order_relaxed);
		master_describe(status, how, sizeof(how));
		if (p->stalled)
			strlcat(how, " after it stalled", sizeof(how));
		if (m->ls[p->lslot].cur == (int)i)
			m->ls[p->lslot].cur = -1;
		if (p->retiring || m->stopping) {
			if (status != 0)
				log_warnx("worker %u (pid %ld) %s", p->lslot,
				    (long)pid, how);
			continue;
		}
		log_warnx("worker %u (pid %ld) %s; replacing it", p->lslot,
		    (long)pid, how);
		m->restarts++;
		master_replace(m, p->lslot, ready);
	}
	if (m->stopping) {
		for (i = 0; i < m->nprocs && m->procs[i].pid == 0; i++)
			;
		if (i == m->nprocs)
			event_base_loopexit(m->base, NULL);
	} else if (m->reload_pending) {
		for (i = 0; i < m->nprocs && (m->procs[i].pid == 0 ||
		    !m->procs[i].retiring); i++)
			;
		if (i == m->nprocs)
			master_sighup(m);
	}
}

/* Time is up for draining workers: kill what is left. */
static void
master_kill(evutil_socket_t fd, short what, void *arg)
{
	struct master	*m = arg;
	unsigned	 i;

	(void)fd;
	(void)what;

	for (i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid != 0) {
			log_warnx("worker pid %ld did not stop; killing it",
			    (long)m->procs[i].pid);
			kill(m->procs[i].pid, SIGKILL);
		}
}

/* SIGTERM or SIGINT: drain the workers, then leave the loop. */
static void
master_sigterm(struct master *m, int sig)
{
	struct timeval	 tv;
	unsigned	 i, left = 0;

	if (m->stopping)
		return;
	m->stopping = 1;
	log_info("received %s; stopping", strsignal(sig));
	notify_send("STOPPING=1");
	for (i = 0; i < m->nls; i++)
		evtimer_del(m->ls[i].respawn);
	for (i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid != 0) {
			kill(m->procs[i].pid, SIGTERM);
			left++;
		}
	/* New connections go nowhere now instead of waiting in a backlog. */
	for (i = 0; i < m->nls; i++) {
		close(m->ls[i].fd);
		m->ls[i].fd = -1;
	}
	if (left == 0) {
		event_base_loopexit(m->base, NULL);
		return;
	}
	tv = clock_tv(m->cfg->drain_timeout + MASTER_KILL_GRACE);
	evtimer_add(m->ev_kill, &tv);
}

/* Whether workers of an earlier reload are still draining. */
static int
master_draining(const struct master *m)
{
	unsigned	i;

	for (i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid != 0 && m->procs[i].retiring)
			return 1;
	return 0;
}

/*
 * The master's open file limit, for its own needs only (the metrics port's
 * connections, the workers' pipes): each worker sizes its own in
 * worker_run.  At start and after a reload.
 */
static void
master_fd_limit(const struct master *m)
{
	listen_fd_limit((unsigned long)m->cfg->metrics_max_connections +
	    m->nls + LISTEN_FD_MARGIN, "master", "metrics_max_connections");
}

/*
 * A reload's model is loaded: make the new configuration and model the
 * running ones, start a new worker on every listener slot and let the old
 * ones drain.
 */
static void
master_apply(struct master *m, struct model *model)
{
	double		 stall = m->cfg->worker_stall_timeout;
	unsigned	 i;
	int		 old;

	model_free(m->model);
	m->model = model;
	*m->cfg = m->next;
	log_set_level(m->cfg->log_level);
	master_fd_limit(m);
	if (m->cfg->worker_stall_timeout != stall)
		master_health_arm(m);
	log_info("reload: model %s (%s, sha256 %.12s)", model_name(model),
	    model_objective(model), model_sha256(model));
	for (i = 0; i < m->nls; i++) {
		old = m->ls[i].cur;
		if (old >= 0)
			m->procs[old].retiring = 1;
		evtimer_del(m->ls[i].respawn);
		m->ls[i].fails = 0;
		if (master_spawn(m, i) == -1)
			master_replace(m, i, 0);
		if (old >= 0)
			kill(m->procs[old].pid, SIGTERM);
	}
}

/* The load thread is done (loadthread's callback): apply or refuse. */
static void
master_reloaded(struct model *model, const char *err, void *arg)
{
	struct master	*m = arg;
	char		 note[512];

	m->loader = NULL;
	if (m->stopping) {
		model_free(model);
		return;
	}
	if (model != NULL && model_trees_note(model, note, sizeof(note)))
		log_info("reload: %s", note);
	if (model != NULL)
		master_apply(m, model);
	else {
		m->reload_failures[MASTER_RELOAD_MODEL]++;
		log_warnx("reload: %s; keeping model %s and the running "
		    "configuration", err, model_name(m->model));
	}
	notify_send("READY=1");
	master_status(m);
	if (model == NULL && m->reload_pending)
		master_sighup(m);
}

/*
 * SIGHUP: read the configuration again (it is small), then load its model
 * in a thread, so that the loop keeps answering scrapes, reaping and
 * checking heartbeats; master_reloaded takes over.  A configuration or a
 * model that fails leaves everything as it was, and is counted.  Keys that
 * need new sockets keep their running values, and the log says so.
 */
static void
master_sighup(struct master *m)
{
	char	src[CONFIG_PATH_MAX + 64], err[1024], changed[256];

	if (m->stopping)
		return;
	if (m->loader != NULL || master_draining(m)) {
		log_info("reload: the previous reload is still %s; reloading "
		    "when it is done", m->loader != NULL ? "loading" :
		    "draining");
		m->reload_pending = 1;
		return;
	}
	m->reload_pending = 0;
	notify_send("RELOADING=1");
	if (m->reconf(&m->next, src, sizeof(src), err, sizeof(err),
	    m->reconf_arg) == -1) {
		m->reload_failures[MASTER_RELOAD_CONFIG]++;
		log_warnx("reload: %s; keeping the running configuration and "
		    "model", err);
		notify_send("READY=1");
		return;
	}
	log_info("reload: configuration: %s", src);
	config_keep_restart_keys(m->cfg, &m->next, changed, sizeof(changed));
	if (changed[0] != '\0')
		log_warnx("reload: %s changed: a restart applies it; keeping "
		    "the running value", changed);
	m->loader = loadthread_start(m->base, m->next.model,
	    &m->next.model_limits, master_reloaded, m);
	if (m->loader == NULL) {
		m->reload_failures[MASTER_RELOAD_MODEL]++;
		notify_send("READY=1");
	}
}

/* The self-pipe is readable: handle every signal that arrived. */
static void
master_signal(evutil_socket_t fd, short what, void *arg)
{
	struct master	*m = arg;
	unsigned char	 buf[64];
	ssize_t		 n, i;
	int		 chld = 0, term = 0, hup = 0;

	(void)what;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] == SIGCHLD)
				chld = 1;
			else if (buf[i] == SIGHUP)
				hup = 1;
			else if (term == 0)
				term = buf[i];
		}
	}
	if (term != 0)
		master_sigterm(m, term);
	if (chld)
		master_sigchld(m);
	if (hup)
		master_sighup(m);
}

/* Route the master's signals into its self-pipe; 0 or -1. */
static int
master_signals_init(struct master *m)
{
	struct sigaction	sa;
	size_t			i;

	if (pipe2(m->sigpipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_error("pipe2");
		return -1;
	}
	m->ev_signal = event_new(m->base, m->sigpipe[0], EV_READ | EV_PERSIST,
	    master_signal, m);
	if (m->ev_signal == NULL || event_add(m->ev_signal, NULL) == -1) {
		log_errorx("cannot watch the signal pipe");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = master_sighandler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&m->sigmask);
	for (i = 0; i < sizeof(master_signals) / sizeof(master_signals[0]);
	    i++)
		sigaddset(&m->sigmask, master_signals[i]);
	for (i = 0; i < sizeof(master_signals) / sizeof(master_signals[0]);
	    i++)
		if (sigaction(master_signals[i], &sa, NULL) == -1) {
			log_error("sigaction %d", master_signals[i]);
			return -1;
		}
	return 0;
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

/* Whether a live worker's heartbeat is late (older than two periods). */
static int
master_late(const struct master *m)
{
	double		late = 2 * shm_heartbeat_interval(
			    m->cfg->worker_stall_timeout);
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
static void
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
static void
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
	master_check_shm(m);
	master_status(m);
}

/* (Re)start the heartbeat check at the period of the stall timeout. */
static void
master_health_arm(struct master *m)
{
	struct timeval	tv = clock_tv(shm_heartbeat_interval(
			    m->cfg->worker_stall_timeout));

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
static void
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

/* Free everything; the segment is unlinked. */
static void
master_free(struct master *m)
{
	unsigned	i;

	metrics_http_free(m->mhttp);
	for (i = 0; m->ls != NULL && i < m->nls; i++) {
		if (m->ls[i].fd != -1)
			close(m->ls[i].fd);
		if (m->ls[i].respawn != NULL)
			event_free(m->ls[i].respawn);
	}
	free(m->ls);
	free(m->procs);
	if (m->ev_signal != NULL)
		event_free(m->ev_signal);
	if (m->sigpipe[0] != -1) {
		close(m->sigpipe[0]);
		close(m->sigpipe[1]);
	}
	if (m->ev_kill != NULL)
		event_free(m->ev_kill);
	if (m->ev_watchdog != NULL)
		event_free(m->ev_watchdog);
	if (m->ev_health != NULL)
		event_free(m->ev_health);
	loadthread_free(m->loader);
	if (m->base != NULL)
		event_base_free(m->base);
	shm_destroy(&m->seg);
	model_free(m->model);
}

/* Set up the master's state and tables; 0 or -1. */
static int
master_init(struct master *m, struct config *cfg, struct model *model)
{
	struct timespec	now;
	unsigned	i;

	m->cfg = cfg;
	m->model = model;
	m->sigpipe[0] = m->sigpipe[1] = -1;
	m->nls = cfg->workers;
	m->nprocs = 2 * cfg->workers;
	clock_gettime(CLOCK_REALTIME, &now);
	m->start_time = (double)now.tv_sec + (double)now.tv_nsec / 1e9;

	master_fd_limit(m);
	m->ls = calloc(m->nls, sizeof(*m->ls));
	m->procs = calloc(m->nprocs, sizeof(*m->procs));
	if (m->ls == NULL || m->procs == NULL) {
		log_error("calloc");
		return -1;
	}
	for (i = 0; i < m->nls; i++) {
		m->ls[i].fd = -1;
		m->ls[i].cur = -1;
	}
	if ((m->base = event_base_new()) == NULL) {
		log_errorx("event_base_new failed");
		return -1;
	}
	return 0;
}

/* Open the workers' listeners and serve the metrics port; 0 or -1. */
static int
master_listeners(struct master *m)
{
	const struct config	*cfg = m->cfg;
	struct metrics_http_limits lim = {
		.max_header_bytes = cfg->max_header_bytes,
		.max_connections = cfg->metrics_max_connections,
		.timeout = cfg->metrics_timeout,
	};
	int			 fds[CONFIG_MAX_WORKERS], mfd;
	unsigned		 i;

	if (listen_open(&cfg->listen, "http", fds, m->nls, 1,
	    (int)cfg->backlog) == -1)
		return -1;
	for (i = 0; i < m->nls; i++)
		m->ls[i].fd = fds[i];
	if (listen_open(&cfg->metrics_listen, "metrics", &mfd, 1, 0,
	    (int)cfg->backlog) == -1)
		return -1;
	if ((m->mhttp = metrics_http_new(m->base, mfd, &lim, &m->seg,
	    master_metrics, m)) == NULL)
		return -1;
	return 0;
}

/* The signals and timers of the master; 0 or -1. */
static int
master_events(struct master *m)
{
	unsigned	i;

	if (master_signals_init(m) == -1)
		return -1;
	if ((m->ev_kill = evtimer_new(m->base, master_kill, m)) == NULL) {
		log_errorx("evtimer_new failed");
		return -1;
	}
	if ((m->ev_health = event_new(m->base, -1, EV_PERSIST, master_health,
	    m)) == NULL) {
		log_errorx("event_new failed");
		return -1;
	}
	for (i = 0; i < m->nls; i++) {
		m->ls[i].respawn = evtimer_new(m->base, master_respawn,
		    &m->ls[i]);
		if (m->ls[i].respawn == NULL) {
			log_errorx("evtimer_new failed");
			return -1;
		}
	}
	return 0;
}

/* Fork the first workers and tell systemd the master is ready. */
static void
master_start(struct master *m)
{
	unsigned	i;

	setproctitle("master");
	for (i = 0; i < m->nls; i++)
		if (master_spawn(m, i) == -1)
			master_replace(m, i, 0);
	master_watchdog_init(m);
	master_health_arm(m);
	log_info("ready: %u workers, model %s (%s, %zu features)", m->nls,
	    model_name(m->model), model_objective(m->model),
	    model_nfeatures(m->model));
	notify_send("READY=1");
	master_status(m);
}

/*
 * issue 8: started as root with `user` set, become that user once the
 * sockets are bound and the segment exists; the master too, so that no
 * process of inferd keeps root.  The segment is given to the user first:
 * the master unlinks it at exit.  0 or -1.
 */
static int
master_privdrop(struct master *m)
{
	const struct config	*cfg = m->cfg;
	struct priv_ids		 ids;
	char			 err[256];

	if (cfg->user[0] == '\0') {
		if (cfg->group[0] != '\0') {
			log_errorx("group: '%s' is set but user is not; set "
			    "user too", cfg->group);
			return -1;
		}
		return 0;
	}
	if (priv_lookup(cfg->user, cfg->group, &ids, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		return -1;
	}
	if (geteuid() != 0) {
		if (ids.uid == geteuid() && ids.gid == getegid())
			return 0;
		log_errorx("user: switching to %s needs root, and inferd runs "
		    "as uid %u", cfg->user, (unsigned)geteuid());
		return -1;
	}
	if (shm_chown(&m->seg, ids.uid, ids.gid) == -1)
		return -1;
	if (priv_drop(&ids, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u)", cfg->user, ids.uid,
	    ids.gid);
	return 0;
}

/* After a failure: leave no worker behind. */
static void
master_kill_all(struct master *m)
{
	unsigned	i;

	for (i = 0; m->procs != NULL && i < m->nprocs; i++)
		if (m->procs[i].pid != 0) {
			kill(m->procs[i].pid, SIGKILL);
			waitpid(m->procs[i].pid, NULL, 0);
		}
}

/* Run the master until it is stopped. */
int
master_run(struct config *cfg, struct model *model, master_config_cb reconf,
    void *arg)
{
	struct master	*m = &master;
	int		 rc = 1;

	m->reconf = reconf;
	m->reconf_arg = arg;
	if (master_init(m, cfg, model) == -1 || master_listeners(m) == -1 ||
	    shm_create(&m->seg, m->nprocs, cfg->buckets, cfg->nbuckets) == -1 ||
	    master_privdrop(m) == -1 || master_events(m) == -1)
		goto out;
	master_start(m);
	if (event_base_dispatch(m->base) == -1) {
		log_errorx("event loop failed");
		goto out;
	}
	rc = 0;
	log_info("stopped");
out:
	if (rc != 0)
		master_kill_all(m);
	master_free(m);
	return rc;
}
