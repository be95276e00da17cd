/*
 * master: the master's life: start-up (the first generation, listeners,
 * the segment, privileges, events), its signals through a self-pipe, the
 * figures for /metrics, stop and exit.  The only file that sees the whole
 * master; each part it composes sees only its own state:
 *
 *	master_gen.c		a generation: configuration, model, number
 *	master_workers.c	the worker table: fork, reap, respawn policy,
 *				a generation's workers started, old retired
 *	master_reload.c		SIGHUP: the reload queue, configuration,
 *				model thread, the next generation
 *	master_health.c		heartbeats, systemd watchdog and STATUS=
 *
 * They call down that list and never up: the table reports what happened,
 * and this file tells the reloader (mreload_workers_changed).
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
#include "inferd/expo.h"
#include "inferd/listen.h"
#include "inferd/log.h"
#include "inferd/master.h"
#include "inferd/metrics_http.h"
#include "inferd/model.h"
#include "inferd/notify.h"
#include "inferd/priv.h"
#include "inferd/procstat.h"
#include "inferd/routes.h"
#include "inferd/shm.h"
#include "master/master_gen.h"
#include "master/master_health.h"
#include "master/master_reload.h"
#include "master/master_workers.h"

#define MASTER_KILL_GRACE	5.0	/* seconds after drain_timeout */

struct master {
	struct event_base	*base;
	struct metrics_http	*mhttp;
	struct shm_segment	 seg;
	struct mworkers		 w;		/* the worker table */
	struct mhealth		 health;
	struct mreload		*reload;	/* owns the generations */
	int			 sigpipe[2];	/* self-pipe of signals */
	sigset_t		 sigmask;	/* the signals it handles */
	struct event		*ev_signal, *ev_kill;
	double			 start_time;
	int			 stopping;
};

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

/* Time is up for draining workers: kill what is left. */
static void
master_kill(evutil_socket_t fd, short what, void *arg)
{
	struct master	*m = arg;

	(void)fd;
	(void)what;

	mworkers_signal(&m->w, SIGKILL);
}

/* SIGTERM or SIGINT: drain the workers, then leave the loop. */
static void
master_sigterm(struct master *m, int sig)
{
	struct timeval	 tv;

	if (m->stopping)
		return;
	m->stopping = 1;
	log_info("received %s; stopping", strsignal(sig));
	notify_send("STOPPING=1");
	mreload_stop(m->reload);
	if (mworkers_stop(&m->w) == 0) {
		event_base_loopexit(m->base, NULL);
		return;
	}
	tv = clock_tv(mreload_gen(m->reload)->cfg.drain_timeout +
	    MASTER_KILL_GRACE);
	evtimer_add(m->ev_kill, &tv);
}

/*
 * The master's open file limit, for its own needs only (the metrics port's
 * connections, the workers' pipes): each worker sizes its own in
 * worker_run.  At start and after a reload.
 */
static void
master_fd_limit(const struct master *m, const struct config *cfg)
{
	listen_fd_limit((unsigned long)cfg->metrics_max_connections +
	    m->w.nls + LISTEN_FD_MARGIN, "master", "metrics_max_connections");
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
	if (chld) {
		mworkers_reap(&m->w);
		if (m->stopping && mworkers_count(&m->w) == 0)
			event_base_loopexit(m->base, NULL);
		else
			mreload_workers_changed(m->reload);
	}
	if (hup)
		mreload_request(m->reload);
	if (usr1) {
		/* The access log was rotated: every worker writes its own
		 * lines and reopens the file itself. */
		log_info("received SIGUSR1; the workers reopen the access "
		    "log");
		mworkers_signal(&m->w, SIGUSR1);
	}
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
	metrics_http_free(m->mhttp);
	mworkers_free(&m->w);
	mhealth_free(&m->health);
	if (m->ev_signal != NULL)
		event_free(m->ev_signal);
	if (m->sigpipe[0] != -1) {
		close(m->sigpipe[0]);
		close(m->sigpipe[1]);
	}
	if (m->ev_kill != NULL)
		event_free(m->ev_kill);
	mreload_free(m->reload);
	if (m->base != NULL)
		event_base_free(m->base);
	shm_destroy(&m->seg);
}

/* The metrics port's bounds in cfg. */
static struct metrics_http_limits
master_metrics_limits(const struct config *cfg)
{
	return (struct metrics_http_limits){
		.max_header_bytes = cfg->max_header_bytes,
		.max_connections = cfg->metrics_max_connections,
		.timeout = cfg->metrics_timeout,
	};
}

/* The workers alive (metrics_http's alive callback, for /healthz). */
static unsigned
master_metrics_alive(void *arg, unsigned *stalled)
{
	struct master	*m = arg;

	*stalled = mhealth_stalled(&m->health);
	return mworkers_alive(&m->w);
}

/* The master's figures for a scrape (metrics_http's fill callback). */
static void
master_metrics(struct expo_metrics *em, void *arg)
{
	struct master		*m = arg;
	const struct master_gen	*gen = mreload_gen(m->reload);
	pid_t			 pids[2 * CONFIG_MAX_WORKERS];
	size_t			 i, n = 0;

	for (i = 0; i < m->w.nprocs && n < 2 * CONFIG_MAX_WORKERS; i++)
		pids[n++] = m->w.procs[i].pid;
	procstat_gather(&em->proc, pids, n);
	em->handler_names = routes_handler_names;
	em->handler_main = ROUTES_H_PREDICT;
	em->workers = m->w.nls;
	em->workers_alive = mworkers_alive(&m->w);
	em->workers_stalled = mhealth_stalled(&m->health);
	em->worker_restarts = m->w.restarts;
	em->worker_stalls = m->health.stalls;
	em->reload_failures_config = mreload_failures(m->reload,
	    MRELOAD_CONFIG);
	em->reload_failures_model = mreload_failures(m->reload,
	    MRELOAD_MODEL);
	em->worker_start_failures = m->w.start_failures;
	em->start_time = m->start_time;
	em->version = PACKAGE_VERSION;
	em->model_name = model_name(gen->model);
	em->model_sha256 = model_sha256(gen->model);
	em->model_objective = model_objective(gen->model);
	mhealth_check_shm(&m->health);
}

/*
 * A reload is over (the reloader's callback): apply what the master
 * itself holds from the new generation, and report.
 */
static void
master_reloaded(const struct master_gen *gen, int applied, void *arg)
{
	struct master			*m = arg;
	struct metrics_http_limits	 lim;

	if (applied) {
		log_set_level(gen->cfg.log_level);
		master_fd_limit(m, &gen->cfg);
		lim = master_metrics_limits(&gen->cfg);
		metrics_http_set_limits(m->mhttp, &lim);
		mhealth_set_stall_interval(&m->health,
		    gen->cfg.worker_stall_interval, (int)gen->cfg.backlog);
		mhealth_set_stall_timeout(&m->health,
		    gen->cfg.worker_stall_timeout);
	}
	mhealth_status(&m->health);
}

/*
 * Set up the master's state: the first generation (cfg copied, model
 * taken over), the loop, the worker table and the reloader; 0 or -1.
 */
static int
master_init(struct master *m, const struct config *cfg, struct model *model,
    master_config_cb reconf, void *arg)
{
	struct master_gen	*gen;
	struct timespec		 now;

	m->sigpipe[0] = m->sigpipe[1] = -1;
	clock_gettime(CLOCK_REALTIME, &now);
	m->start_time = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	if ((gen = master_gen_new(1, cfg, model)) == NULL)
		return -1;
	if ((m->base = event_base_new()) == NULL) {
		log_errorx("event_base_new failed");
		master_gen_free(gen);
		return -1;
	}
	if ((m->reload = mreload_new(m->base, &m->w, gen, reconf, arg,
	    master_reloaded, m)) == NULL)
		return -1;
	if (mworkers_init(&m->w, m->base, &m->seg, &m->sigmask, gen,
	    cfg->workers) == -1)
		return -1;
	master_fd_limit(m, cfg);
	return 0;
}

/* Open the workers' listeners and serve the metrics port; 0 or -1. */
static int
master_listeners(struct master *m, const struct config *cfg)
{
	struct metrics_http_limits lim = master_metrics_limits(cfg);
	int			 fds[CONFIG_MAX_WORKERS], mfd;
	unsigned		 i;

	if (listen_open(&cfg->listen, "http", fds, m->w.nls, 1,
	    (int)cfg->backlog) == -1)
		return -1;
	for (i = 0; i < m->w.nls; i++)
		m->w.ls[i].fd = fds[i];
	if (listen_open(&cfg->metrics_listen, "metrics", &mfd, 1, 0,
	    (int)cfg->backlog) == -1)
		return -1;
	if ((m->mhttp = metrics_http_new(m->base, mfd, &lim, &m->seg,
	    master_metrics, master_metrics_alive, m)) == NULL)
		return -1;
	return 0;
}

/* The signals and timers of the master; 0 or -1. */
static int
master_events(struct master *m)
{
	if (master_signals_init(m) == -1)
		return -1;
	if ((m->ev_kill = evtimer_new(m->base, master_kill, m)) == NULL) {
		log_errorx("evtimer_new failed");
		return -1;
	}
	return mhealth_init(&m->health, m->base, &m->w);
}

/* Fork the first workers and tell systemd the master is ready. */
static void
master_start(struct master *m)
{
	const struct master_gen	*gen = mreload_gen(m->reload);

	setproctitle("master");
	mworkers_start(&m->w);
	mhealth_set_stall_interval(&m->health, gen->cfg.worker_stall_interval,
	    (int)gen->cfg.backlog);
	mhealth_start(&m->health, gen->cfg.worker_stall_timeout);
	log_info("ready: %u workers, model %s (%s, %zu features)", m->w.nls,
	    model_name(gen->model), model_objective(gen->model),
	    model_nfeatures(gen->model));
	notify_send("READY=1");
	mhealth_status(&m->health);
}

/*
 * Started as root with `user` set, become that user once the
 * sockets are bound and the segment exists; the master too, so that no
 * process of inferd keeps root.  The segment needs nothing: it was
 * unlinked when it was mapped, and the mapping is what every process
 * uses.  0 or -1.
 */
static int
master_privdrop(const struct config *cfg)
{
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
master_check_access_log(const struct config *cfg)
{
	struct accesslog	*al;
	char			 err[CONFIG_PATH_MAX + 64];

	if (strcmp(cfg->access_log, "off") == 0)
		return 0;
	if ((al = accesslog_open(cfg->access_log, 0, err, sizeof(err))) ==
	    NULL) {
		log_errorx("access_log: %s (the workers append to it as the "
		    "user inferd runs as)", err);
		return -1;
	}
	accesslog_close(al);
	return 0;
}

/*
 * Run the master until it is stopped.  cfg is copied into the first
 * generation; model is taken over.
 */
int
master_run(struct config *cfg, struct model *model, master_config_cb reconf,
    void *arg)
{
	struct master	*m = &master;
	int		 rc = 1;

	if (master_init(m, cfg, model, reconf, arg) == -1 ||
	    master_listeners(m, cfg) == -1 ||
	    shm_create(&m->seg, m->w.nprocs, cfg->buckets, cfg->nbuckets) ==
	    -1 || master_privdrop(cfg) == -1 ||
	    master_check_access_log(cfg) == -1 || master_events(m) == -1)
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
		mworkers_kill_all(&m->w);
	master_free(m);
	return rc;
}
