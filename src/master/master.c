/*
 * master: the master's life: start-up (tables, listeners, the segment,
 * privileges, events), its signals through a self-pipe, stop and exit.
 * The worker table is master_workers.c's, reloads master_reload.c's,
 * heartbeats and status master_health.c's (see master_impl.h); the
 * metrics port is metrics_http's.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "inferd/accesslog.h"
#include "inferd/clock.h"
#include "inferd/config.h"
#include "inferd/listen.h"
#include "inferd/loadthread.h"
#include "inferd/log.h"
#include "inferd/master.h"
#include "master/master_impl.h"
#include "inferd/metrics_http.h"
#include "inferd/model.h"
#include "inferd/notify.h"
#include "inferd/priv.h"
#include "inferd/shm.h"

#define MASTER_KILL_GRACE	5.0	/* seconds after drain_timeout */

/* The master; a global because the raw signal handler needs its pipe. */
static struct master	master;

/*
 * The signals the master handles, all through its self-pipe rather than
 * evsignal: a forked worker then drops them with sigaction alone, never
 * touching the master's event base (whose epoll instance it shares).
 */
static const int master_signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP,
    SIGUSR1 };

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
void
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
		 * kill a worker: reloading is the master's business.  Nor
		 * must a SIGUSR1 the master forwards before the worker
		 * watches it (worker_log_init): it opens its log after. */
		sa.sa_handler = master_signals[i] == SIGHUP ||
		    master_signals[i] == SIGUSR1 ? SIG_IGN : SIG_DFL;
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

/*
 * The master's open file limit, for its own needs only (the metrics port's
 * connections, the workers' pipes): each worker sizes its own in
 * worker_run.  At start and after a reload.
 */
void
master_fd_limit(const struct master *m)
{
	listen_fd_limit((unsigned long)m->cfg->metrics_max_connections +
	    m->nls + LISTEN_FD_MARGIN, "master", "metrics_max_connections");
}

/*
 * SIGUSR1: the access log was rotated.  Every worker writes its own lines
 * and reopens the file itself; the master only forwards the signal.
 */
static void
master_sigusr1(struct master *m)
{
	unsigned	i, n = 0;

	for (i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid != 0 && kill(m->procs[i].pid, SIGUSR1) == 0)
			n++;
	log_info("received SIGUSR1; %u workers reopen the access log", n);
}

/* The self-pipe is readable: handle every signal that arrived. */
static void
master_signal(evutil_socket_t fd, short what, void *arg)
{
	struct master	*m = arg;
	unsigned char	 buf[64];
	ssize_t		 n, i;
	int		 chld = 0, term = 0, hup = 0, usr1 = 0;

	(void)what;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] == SIGCHLD)
				chld = 1;
			else if (buf[i] == SIGHUP)
				hup = 1;
			else if (buf[i] == SIGUSR1)
				usr1 = 1;
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
	if (usr1)
		master_sigusr1(m);
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
		m->ls[i].m = m;
		m->ls[i].fd = -1;
		m->ls[i].cur = -1;
	}
	if ((m->base = event_base_new()) == NULL) {
		log_errorx("event_base_new failed");
		return -1;
	}
	return 0;
}

/* The metrics port's bounds in cfg. */
struct metrics_http_limits
master_metrics_limits(const struct config *cfg)
{
	return (struct metrics_http_limits){
		.max_header_bytes = cfg->max_header_bytes,
		.max_connections = cfg->metrics_max_connections,
		.timeout = cfg->metrics_timeout,
	};
}

/* Open the workers' listeners and serve the metrics port; 0 or -1. */
static int
master_listeners(struct master *m)
{
	const struct config	*cfg = m->cfg;
	struct metrics_http_limits lim = master_metrics_limits(cfg);
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

/*
 * The access log's file opens as the workers will open it (after the
 * privileges are dropped, as their user): a path they cannot write fails
 * the start with its reason, not a crash loop of workers.  0 or -1.
 */
static int
master_check_access_log(const struct master *m)
{
	struct accesslog	*al;
	char			 err[CONFIG_PATH_MAX + 64];

	if (strcmp(m->cfg->access_log, "off") == 0)
		return 0;
	if ((al = accesslog_open(m->cfg->access_log, 0, err,
	    sizeof(err))) == NULL) {
		log_errorx("access_log: %s (the workers append to it as the "
		    "user inferd runs as)", err);
		return -1;
	}
	accesslog_close(al);
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
	    master_privdrop(m) == -1 || master_check_access_log(m) == -1 ||
	    master_events(m) == -1)
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
