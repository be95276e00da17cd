/*
 * master_workers: the master's worker table.  It forks a worker for each
 * listener slot into a free metrics slot, reaps the dead on SIGCHLD and
 * decides how to replace them: at once if they had been serving, after a
 * doubling backoff if they died before they were ready.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/types.h>
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
#include "master/master_impl.h"
#include "inferd/shm.h"
#include "inferd/worker.h"

#define MASTER_BACKOFF_FIRST	0.1	/* seconds, doubled per start failure */

/*
 * Whether the worker in metrics slot i is ready: it stores its pid in the
 * slot once it accepts (worker_run), and the master zeroes it when it
 * reaps the worker.
 */
int
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
unsigned
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

/* Fork a worker for listener slot ls; 0 or -1. */
int
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
	master_attach(m, ls);
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

/* Backoff timer of a listener slot expired: start its worker again. */
void
master_respawn(evutil_socket_t fd, short what, void *arg)
{
	struct mlisten	*l = arg;
	struct master	*m = l->m;

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
void
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
void
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

/* Whether workers of an earlier reload are still draining. */
int
master_draining(const struct master *m)
{
	unsigned	i;

	for (i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid != 0 && m->procs[i].retiring)
			return 1;
	return 0;
}
