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
#include <sys/un.h>
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
#include "inferd/log.h"
#include "inferd/master.h"
#include "inferd/metrics_http.h"
#include "inferd/model.h"
#include "inferd/procstat.h"
#include "inferd/shm.h"
#include "inferd/worker.h"

#define MASTER_STABLE_SECONDS	1.0	/* a worker living this long is fine */
#define MASTER_BACKOFF_FIRST	0.1	/* seconds, doubled per quick death */
#define MASTER_KILL_GRACE	5.0	/* seconds after drain_timeout */
#define MASTER_FD_MARGIN	64	/* descriptors besides connections */

/* A worker process, in the metrics slot of the same index. */
struct mproc {
	pid_t		 pid;		/* 0: slot free */
	unsigned	 lslot;		/* listener slot it accepts on */
	int		 retiring;	/* draining after a reload */
	struct timespec	 started;
};

/* A listener slot. */
struct mlisten {
	int		 fd;
	int		 cur;		/* index in procs, -1 when none */
	unsigned	 fails;		/* consecutive quick deaths */
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
	uint64_t		 restarts, load_failures;
	double			 start_time;
	int			 stopping;
	int			 reload_pending;	/* SIGHUP during a reload */
};

/* The master; static so that a forked worker can free what it inherits. */
static struct master	master;

/*
 * Tell systemd (Type=notify) our state: one datagram on $NOTIFY_SOCKET,
 * sent without ever blocking.  Nothing happens when inferd does not run
 * under systemd.
 */
static void
master_notify(const char *state)
{
	static int		 failing;
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	socklen_t		 len;
	int			 fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_warn("notify: socket");
		return;
	}
	/*
	 * Never block the master: a full receiver loses this one message.
	 * A run of failures is logged once.
	 */
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&sun, len) == -1) {
		if (!failing)
			log_warn("notify: sendto %s (%s)", path, state);
		failing = 1;
	} else
		failing = 0;
	close(fd);
}

/* Worker processes running and not retiring. */
static unsigned
master_alive(const struct master *m)
{
	unsigned	i, n = 0;

	for (i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid != 0 && !m->procs[i].retiring)
			n++;
	return n;
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
	em->model_load_failures = m->load_failures;
	em->start_time = m->start_time;
	em->version = PACKAGE_VERSION;
	em->model_name = model_name(m->model);
	em->model_sha256 = model_sha256(m->model);
	em->model_objective = model_objective(m->model);
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
	clock_gettime(CLOCK_MONOTONIC, &m->procs[i].started);
	m->ls[ls].cur = (int)i;
	log_debug("worker %u: pid %ld, metrics slot %u", ls, (long)pid, i);
	return 0;
}

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
	if (master_spawn(m, (unsigned)(l - m->ls)) == -1) {
		struct timeval tv = clock_tv(1.0);
		evtimer_add(l->respawn, &tv);
	}
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
 * A worker of listener slot ls died unexpectedly.  Replace it at once if it
 * had been running for a while; after quick deaths, wait 0.1 s, 0.2 s, ...
 * up to restart_delay_max.
 */
static void
master_replace(struct master *m, unsigned ls, double lived)
{
	struct mlisten	*l = &m->ls[ls];
	struct timeval	 tv;
	double		 delay;

	m->restarts++;
	if (lived >= MASTER_STABLE_SECONDS)
		l->fails = 0;
	else
		l->fails++;
	if (l->fails == 0) {
		if (master_spawn(m, ls) == 0)
			return;
		l->fails = 1;
	}
	delay = MASTER_BACKOFF_FIRST * pow(2, l->fails > 30 ? 30 : l->fails - 1);
	if (delay > m->cfg->restart_delay_max)
		delay = m->cfg->restart_delay_max;
	log_warnx("worker %u keeps dying; restarting it in %.1f s", ls, delay);
	tv = clock_tv(delay);
	evtimer_add(l->respawn, &tv);
}

static void	master_sighup(struct master *);

/* SIGCHLD: reap every exited worker; replace or forget it. */
static void
master_sigchld(struct master *m)
{
	struct mproc	*p;
	char		 how[128];
	unsigned	 i;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < m->nprocs && m->procs[i].pid != pid; i++)
			;
		if (i == m->nprocs)
			continue;
		p = &m->procs[i];
		p->pid = 0;
		/* Its requests in flight will never finish. */
		atomic_store_explicit(&m->seg.slots[i].in_flight, 0,
		    memory_order_relaxed);
		atomic_store_explicit(&m->seg.slots[i].pid, 0,
		    memory_order_relaxed);
		master_describe(status, how, sizeof(how));
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
		master_replace(m, p->lslot, clock_since(&p->started));
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
	master_notify("STOPPING=1");
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
 * SIGHUP: load the model file again.  On success every listener slot gets a
 * new worker with the new model and its old worker drains; on failure the
 * old model stays and the failure is counted.
 */
static void
master_sighup(struct master *m)
{
	struct model	*model;
	char		 err[512];
	unsigned	 i;
	int		 old;

	if (m->stopping)
		return;
	for (i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid != 0 && m->procs[i].retiring) {
			log_info("reload: the previous reload is still "
			    "draining; reloading when it is done");
			m->reload_pending = 1;
			return;
		}
	m->reload_pending = 0;
	master_notify("RELOADING=1");
	if ((model = model_load(m->cfg->model, err, sizeof(err))) == NULL) {
		m->load_failures++;
		log_warnx("reload: %s; keeping model %s", err,
		    model_name(m->model));
		master_notify("READY=1");
		return;
	}
	model_free(m->model);
	m->model = model;
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
	master_notify("READY=1");
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
		log_warn("pipe2");
		return -1;
	}
	m->ev_signal = event_new(m->base, m->sigpipe[0], EV_READ | EV_PERSIST,
	    master_signal, m);
	if (m->ev_signal == NULL || event_add(m->ev_signal, NULL) == -1) {
		log_warnx("cannot watch the signal pipe");
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
			log_warn("sigaction %d", master_signals[i]);
			return -1;
		}
	return 0;
}

/* Systemd's watchdog: say we are alive. */
static void
master_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;

	master_notify("WATCHDOG=1");
}

/* Set up the systemd watchdog if WATCHDOG_USEC asks for it. */
static void
master_watchdog_init(struct master *m)
{
	const char	*usec = getenv("WATCHDOG_USEC");
	const char	*pid = getenv("WATCHDOG_PID");
	struct timeval	 tv;
	double		 us;

	if (usec == NULL || (pid != NULL && atol(pid) != (long)getpid()))
		return;
	if ((us = strtod(usec, NULL)) <= 0)
		return;
	m->ev_watchdog = event_new(m->base, -1, EV_PERSIST, master_watchdog,
	    m);
	tv = clock_tv(us / 2e6);
	if (m->ev_watchdog != NULL)
		evtimer_add(m->ev_watchdog, &tv);
}

/*
 * Make room for max_connections descriptors per process: raise the soft
 * limit as far as the hard one allows, and say so when it is not enough.
 */
static void
master_fd_limit(const struct config *cfg)
{
	struct rlimit	rl;
	rlim_t		need = (rlim_t)cfg->max_connections + MASTER_FD_MARGIN;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ?
	    need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit RLIMIT_NOFILE %llu",
		    (unsigned long long)rl.rlim_cur);
	if (rl.rlim_cur < need)
		log_warnx("open file limit %llu is below max_connections (%u) "
		    "+ %d: lower max_connections or raise the limit "
		    "(LimitNOFILE=, ulimit -n)", (unsigned long long)rl.rlim_cur,
		    cfg->max_connections, MASTER_FD_MARGIN);
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

	master_fd_limit(cfg);
	m->ls = calloc(m->nls, sizeof(*m->ls));
	m->procs = calloc(m->nprocs, sizeof(*m->procs));
	if (m->ls == NULL || m->procs == NULL) {
		log_warn("calloc");
		return -1;
	}
	for (i = 0; i < m->nls; i++) {
		m->ls[i].fd = -1;
		m->ls[i].cur = -1;
	}
	if ((m->base = event_base_new()) == NULL) {
		log_warnx("event_base_new failed");
		return -1;
	}
	return 0;
}

/* Open the workers' listeners and serve the metrics port; 0 or -1. */
static int
master_listeners(struct master *m)
{
	const struct config	*cfg = m->cfg;
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
	if ((m->mhttp = metrics_http_new(m->base, mfd, cfg->max_header_bytes,
	    &m->seg, master_metrics, m)) == NULL)
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
		log_warnx("evtimer_new failed");
		return -1;
	}
	for (i = 0; i < m->nls; i++) {
		m->ls[i].respawn = evtimer_new(m->base, master_respawn,
		    &m->ls[i]);
		if (m->ls[i].respawn == NULL) {
			log_warnx("evtimer_new failed");
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
	log_info("ready: %u workers, model %s (%s, %zu features)", m->nls,
	    model_name(m->model), model_objective(m->model),
	    model_nfeatures(m->model));
	master_notify("READY=1");
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
master_run(struct config *cfg, struct model *model)
{
	struct master	*m = &master;
	int		 rc = 1;

	if (master_init(m, cfg, model) == -1 || master_listeners(m) == -1 ||
	    shm_create(&m->seg, m->nprocs, cfg->buckets, cfg->nbuckets) == -1 ||
	    master_events(m) == -1)
		goto out;
	master_start(m);
	if (event_base_dispatch(m->base) == -1) {
		log_warnx("event loop failed");
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
