/*
 * master_workers: the master's worker table (see master_workers.h).  It
 * forks workers of the current generation, reaps the dead on SIGCHLD and
 * decides how to replace them: at once if they had been serving, after a
 * doubling backoff if they died before they were ready.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <sys/wait.h>

#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "inferd/clock.h"
#include "inferd/config.h"
#include "inferd/log.h"
#include "inferd/shm.h"
#include "inferd/worker.h"
#include "master/master_gen.h"
#include "master/master_workers.h"

#define MASTER_BACKOFF_FIRST	0.1	/* seconds, doubled per start failure */

static void	mworkers_replace(struct mworkers *, unsigned ls, int ready);

/*
 * Whether the worker in metrics slot i is ready: it stores its pid in the
 * slot once it accepts (worker_run), and the master zeroes it when it
 * reaps the worker.
 */
int
mworkers_attach(struct mworkers *w, unsigned ls)
{
	struct mlisten		*l = &w->ls[ls];
	struct sockaddr_storage	 now;
	socklen_t		 len = sizeof(now);

	if (!l->detached)
		return 0;
	/*
	 * A socket bound to port 0 (the first of a port-0 listener) lost
	 * its port with the shutdown: bind it to the port again first.
	 */
	if (getsockname(l->fd, (struct sockaddr *)&now, &len) == -1 ||
	    (((struct sockaddr_in *)&now)->sin_port == 0 &&
	    bind(l->fd, (struct sockaddr *)&l->addr, l->addrlen) == -1) ||
	    listen(l->fd, l->backlog) == -1) {
		log_warn("worker %u: cannot put its socket back into the port",
		    ls);
		return -1;
	}
	l->detached = 0;
	log_info("worker %u: its socket is back in the port", ls);
	return 0;
}

int
mworkers_ready(const struct mworkers *w, unsigned i)
{
	return w->procs[i].pid != 0 && atomic_load_explicit(
	    &w->seg->slots[i].pid, memory_order_acquire) == w->procs[i].pid;
}

/*
 * Listener slots served by a ready worker.  During a reload the old worker
 * of a slot counts until its successor is ready, so that /healthz does not
 * flap to 503 for the instant between the two.
 */
unsigned
mworkers_alive(const struct mworkers *w)
{
	unsigned	i, j, n = 0;

	for (i = 0; i < w->nls; i++) {
		for (j = 0; j < w->nprocs; j++)
			if (w->procs[j].lslot == i && mworkers_ready(w, j))
				break;
		if (j < w->nprocs)
			n++;
	}
	return n;
}

/* Worker processes alive. */
unsigned
mworkers_count(const struct mworkers *w)
{
	unsigned	i, n = 0;

	for (i = 0; i < w->nprocs; i++)
		if (w->procs[i].pid != 0)
			n++;
	return n;
}

/* Workers of an earlier generation still draining. */
unsigned
mworkers_retiring(const struct mworkers *w)
{
	unsigned	i, n = 0;

	for (i = 0; i < w->nprocs; i++)
		if (w->procs[i].pid != 0 && w->procs[i].gen != w->gen->number)
			n++;
	return n;
}

/*
 * In a freshly forked worker: drop the master's signal handlers and every
 * descriptor but the worker's own listener.  The master's event base is
 * left alone, never freed: its epoll instance is shared with the master,
 * and any libevent call on it here would change the master's registrations.
 */
static void
mworkers_forget(struct mworkers *w, unsigned keep)
{
	struct sigaction	sa;
	int			sig;
	unsigned		fd = (unsigned)w->ls[keep].fd, i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sigismember(w->sigmask, sig) != 1)
			continue;
		/* A stray SIGHUP (a closed terminal, pkill -HUP) must not
		 * kill a worker: reloading is the master's business.  Nor
		 * must a SIGUSR1 the master forwards before the worker
		 * watches it (worker_log_init): it opens its log after. */
		sa.sa_handler = sig == SIGHUP || sig == SIGUSR1 ? SIG_IGN :
		    SIG_DFL;
		sigaction(sig, &sa, NULL);
	}
	if ((fd > 3 && close_range(3, fd - 1, 0) == -1) ||
	    close_range(fd + 1, ~0U, 0) == -1) {
		/* Kernels before 5.9 lack close_range(2). */
		long max = sysconf(_SC_OPEN_MAX);

		for (i = 3; i < (unsigned)(max > 0 ? max : 65536); i++)
			if (i != fd)
				close((int)i);
	}
	log_reopen();
}

/*
 * Fork a worker of the current generation for listener slot ls; 0 or -1.
 * While forks are held (another thread runs in the master: a child would
 * inherit whatever lock that thread holds), the fork waits for the
 * release and 0 is returned.
 */
static int
mworkers_spawn(struct mworkers *w, unsigned ls)
{
	struct worker_params	 p;
	sigset_t		 old;
	unsigned		 i;
	pid_t			 pid, master_pid;

	if (w->forks_held) {
		w->ls[ls].held = 1;
		return 0;
	}
	for (i = 0; i < w->nprocs && w->procs[i].pid != 0; i++)
		;
	if (i == w->nprocs) {
		log_warnx("no free metrics slot for worker %u", ls);
		return -1;
	}
	atomic_store_explicit(&w->seg->slots[i].in_flight, 0,
	    memory_order_relaxed);
	atomic_store_explicit(&w->seg->slots[i].pid, 0, memory_order_relaxed);
	atomic_store_explicit(&w->seg->slots[i].heartbeat_ns, 0,
	    memory_order_relaxed);
	mworkers_attach(w, ls);
	fflush(NULL);
	/*
	 * Until the child has dropped the master's handlers, a signal sent to
	 * it would land in the master's self-pipe: keep them blocked across
	 * the fork.
	 */
	sigprocmask(SIG_BLOCK, w->sigmask, &old);
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
		mworkers_forget(w, ls);
		sigprocmask(SIG_SETMASK, &old, NULL);
		setproctitle("worker %u", ls);
		p = (struct worker_params){
			.cfg = &w->gen->cfg,
			.model = w->gen->model,
			.seg = w->seg,
			.slot = &w->seg->slots[i],
			.listen_fd = w->ls[ls].fd,
			.index = ls,
		};
		exit(worker_run(&p));
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	w->procs[i].pid = pid;
	w->procs[i].lslot = ls;
	w->procs[i].gen = w->gen->number;
	w->procs[i].stalled = 0;
	clock_gettime(CLOCK_MONOTONIC, &w->procs[i].started);
	w->ls[ls].cur = (int)i;
	log_debug("worker %u: pid %ld, metrics slot %u, generation %u", ls,
	    (long)pid, i, w->gen->number);
	return 0;
}

/* Backoff timer of a listener slot expired: start its worker again. */
static void
mworkers_respawn(evutil_socket_t fd, short what, void *arg)
{
	struct mlisten	*l = arg;
	struct mworkers	*w = l->w;

	(void)fd;
	(void)what;

	if (w->stopping)
		return;
	if (mworkers_spawn(w, (unsigned)(l - w->ls)) == -1)
		mworkers_replace(w, (unsigned)(l - w->ls), 0);
}

/* Set up the table; see master_workers.h. */
int
mworkers_init(struct mworkers *w, struct event_base *base,
    struct shm_segment *seg, const sigset_t *sigmask,
    const struct master_gen *gen, unsigned nls)
{
	unsigned	i;

	memset(w, 0, sizeof(*w));
	w->base = base;
	w->seg = seg;
	w->sigmask = sigmask;
	w->gen = gen;
	w->nls = nls;
	w->nprocs = 2 * nls;
	w->ls = calloc(w->nls, sizeof(*w->ls));
	w->procs = calloc(w->nprocs, sizeof(*w->procs));
	if (w->ls == NULL || w->procs == NULL) {
		log_error("calloc");
		return -1;
	}
	for (i = 0; i < w->nls; i++) {
		w->ls[i].w = w;
		w->ls[i].fd = -1;
		w->ls[i].cur = -1;
		w->ls[i].respawn = evtimer_new(base, mworkers_respawn,
		    &w->ls[i]);
		if (w->ls[i].respawn == NULL) {
			log_errorx("evtimer_new failed");
			return -1;
		}
	}
	return 0;
}

/* Free the table: timers and listeners (the processes are not touched). */
void
mworkers_free(struct mworkers *w)
{
	unsigned	i;

	for (i = 0; w->ls != NULL && i < w->nls; i++) {
		if (w->ls[i].fd != -1)
			close(w->ls[i].fd);
		if (w->ls[i].respawn != NULL)
			event_free(w->ls[i].respawn);
	}
	free(w->ls);
	free(w->procs);
	w->ls = NULL;
	w->procs = NULL;
}

/* Fork a worker on every listener slot. */
void
mworkers_start(struct mworkers *w)
{
	unsigned	i;

	for (i = 0; i < w->nls; i++)
		if (mworkers_spawn(w, i) == -1)
			mworkers_replace(w, i, 0);
}

/* A new generation's workers start, the old ones retire. */
void
mworkers_start_generation(struct mworkers *w, const struct master_gen *gen)
{
	unsigned	i;
	int		old;

	/* A generation starts once its model is loaded: no thread runs, and
	 * its workers take the place of any fork held meanwhile. */
	w->forks_held = 0;
	w->gen = gen;
	for (i = 0; i < w->nls; i++) {
		old = w->ls[i].cur;
		evtimer_del(w->ls[i].respawn);
		w->ls[i].fails = 0;
		w->ls[i].held = 0;
		if (mworkers_spawn(w, i) == -1)
			mworkers_replace(w, i, 0);
		if (old >= 0)
			kill(w->procs[old].pid, SIGTERM);
	}
}

/* Hold forks while another thread runs. */
void
mworkers_hold_forks(struct mworkers *w)
{
	w->forks_held = 1;
}

/* The thread is gone: make the forks that waited. */
void
mworkers_release_forks(struct mworkers *w)
{
	unsigned	i;

	w->forks_held = 0;
	for (i = 0; i < w->nls; i++) {
		if (!w->ls[i].held)
			continue;
		w->ls[i].held = 0;
		if (!w->stopping && mworkers_spawn(w, i) == -1)
			mworkers_replace(w, i, 0);
	}
}

/* Describe a wait(2) status. */
static void
mworkers_describe(int status, char *buf, size_t len)
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
mworkers_replace(struct mworkers *w, unsigned ls, int ready)
{
	struct mlisten	*l = &w->ls[ls];
	struct timeval	 tv;
	double		 delay;

	if (ready) {
		l->fails = 0;
		if (mworkers_spawn(w, ls) == 0)
			return;
	}
	l->fails++;
	w->start_failures++;
	delay = MASTER_BACKOFF_FIRST * pow(2, l->fails > 30 ? 30 : l->fails - 1);
	if (delay > w->gen->cfg.restart_delay_max)
		delay = w->gen->cfg.restart_delay_max;
	log_warnx("worker %u failed before it was ready (%u in a row); it "
	    "keeps dying; restarting it in %.1f s", ls, l->fails, delay);
	tv = clock_tv(delay);
	evtimer_add(l->respawn, &tv);
}

/*
 * A reaped worker's slot must name it (or nobody, if it died before it
 * wrote its pid): anything else means two processes wrote one slot, and
 * its counters are wrong.
 */
static void
mworkers_slot_check(const struct mworkers *w, unsigned i, pid_t pid)
{
	int32_t	spid = atomic_load_explicit(&w->seg->slots[i].pid,
		    memory_order_relaxed);

	if (spid != 0 && spid != (int32_t)pid)
		log_warnx("metrics slot %u names pid %ld, but worker pid %ld "
		    "was its writer; its counters may be wrong", i,
		    (long)spid, (long)pid);
}

/* SIGCHLD: reap every exited worker; replace the current generation's. */
void
mworkers_reap(struct mworkers *w)
{
	struct mproc	*p;
	char		 how[128];
	unsigned	 i;
	pid_t		 pid;
	int		 status, ready;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < w->nprocs && w->procs[i].pid != pid; i++)
			;
		if (i == w->nprocs)
			continue;
		p = &w->procs[i];
		ready = mworkers_ready(w, i);
		p->pid = 0;
		mworkers_slot_check(w, i, pid);
		/* Its requests in flight will never finish. */
		atomic_store_explicit(&w->seg->slots[i].in_flight, 0,
		    memory_order_relaxed);
		atomic_store_explicit(&w->seg->slots[i].pid, 0,
		    memory_order_relaxed);
		mworkers_describe(status, how, sizeof(how));
		if (p->stalled)
			strlcat(how, " after it stalled", sizeof(how));
		if (w->ls[p->lslot].cur == (int)i)
			w->ls[p->lslot].cur = -1;
		if (p->gen != w->gen->number || w->stopping) {
			if (status != 0)
				log_warnx("worker %u (pid %ld) %s", p->lslot,
				    (long)pid, how);
			continue;
		}
		log_warnx("worker %u (pid %ld) %s; replacing it", p->lslot,
		    (long)pid, how);
		w->restarts++;
		mworkers_replace(w, p->lslot, ready);
	}
}

/* Stop: no respawns, SIGTERM to all, listeners closed; workers left. */
unsigned
mworkers_stop(struct mworkers *w)
{
	unsigned	i;

	w->stopping = 1;
	for (i = 0; i < w->nls; i++) {
		evtimer_del(w->ls[i].respawn);
		w->ls[i].held = 0;
	}
	mworkers_signal(w, SIGTERM);
	/* New connections go nowhere now instead of waiting in a backlog. */
	for (i = 0; i < w->nls; i++) {
		close(w->ls[i].fd);
		w->ls[i].fd = -1;
	}
	return mworkers_count(w);
}

/* Send sig to every worker. */
void
mworkers_signal(struct mworkers *w, int sig)
{
	unsigned	i;

	for (i = 0; i < w->nprocs; i++) {
		if (w->procs[i].pid == 0)
			continue;
		if (sig == SIGKILL)
			log_warnx("worker pid %ld did not stop; killing it",
			    (long)w->procs[i].pid);
		kill(w->procs[i].pid, sig);
	}
}

/* After a failure: leave no worker behind. */
void
mworkers_kill_all(struct mworkers *w)
{
	unsigned	i;

	for (i = 0; w->procs != NULL && i < w->nprocs; i++)
		if (w->procs[i].pid != 0) {
			kill(w->procs[i].pid, SIGKILL);
			waitpid(w->procs[i].pid, NULL, 0);
		}
}
