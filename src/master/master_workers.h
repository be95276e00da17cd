/*
 * master_workers: the master's worker table.  It forks workers of the
 * current generation, one per listener slot, each into a free metrics
 * slot; reaps the dead and replaces them (at once if they had been
 * serving, after a doubling backoff if they died before they were ready);
 * starts a new generation's workers and retires the old ones.  It never
 * decides when to reload or stop: it reports what happened (how many
 * workers are left, how many are retiring) and its callers decide.
 *
 * Listener slots and metrics slots are two different things.  There are
 * `workers` listener slots, each with its own SO_REUSEPORT socket that the
 * master keeps open for its whole life, and twice as many metrics slots in
 * the shared segment: a worker process takes any free metrics slot when it
 * is forked and gives it back when it is reaped.  A new generation
 * therefore starts a worker on each listener slot (in a free metrics slot)
 * before the old one is asked to drain, and the two accept on the same
 * socket for a while.  Metrics slots are never reset, so whichever process
 * continues a slot, every counter keeps growing while the master lives.
 */
#ifndef INFERD_MASTER_WORKERS_H
#define INFERD_MASTER_WORKERS_H

#include <sys/types.h>
#include <sys/socket.h>

#include <signal.h>
#include <stdint.h>
#include <time.h>

struct event;
struct event_base;
struct master_gen;
struct mworkers;
struct shm_segment;

/* A worker process, in the metrics slot of the same index. */
struct mproc {
	pid_t		 pid;		/* 0: slot free */
	unsigned	 lslot;		/* listener slot it accepts on */
	unsigned	 gen;		/* its generation's number */
	int		 stalled;	/* killed for a stale heartbeat */
	struct timespec	 started;
};

/* A listener slot. */
struct mlisten {
	struct mworkers	*w;		/* its table (for the timer) */
	int		 fd;
	int		 cur;		/* index in procs, -1 when none */
	unsigned	 fails;		/* consecutive start failures */
	int		 held;		/* a fork waits for forks_held to end */
	int		 detached;	/* out of the port: its worker stalled */
	int		 backlog;	/* to listen(2) with again */
	struct sockaddr_storage addr;	/* its address, to bind again */
	socklen_t	 addrlen;
	struct event	*respawn;	/* backoff timer */
};

struct mworkers {
	struct event_base	*base;
	struct shm_segment	*seg;
	const sigset_t		*sigmask;	/* the master's signals */
	const struct master_gen	*gen;		/* new workers' generation */
	struct mlisten		*ls;
	struct mproc		*procs;
	unsigned		 nls, nprocs;
	uint64_t		 restarts, start_failures;
	int			 stopping;
	int			 forks_held;	/* a thread runs: no fork */
};

/*
 * Set up a table of nls listener slots (and 2 x nls metrics slots) whose
 * workers run gen and use seg; sigmask is the set of signals the master
 * handles (blocked across fork, reset in the child).  The listeners' fds
 * are set by the caller in ls[i].fd.  0 or -1.
 */
int	 mworkers_init(struct mworkers *, struct event_base *,
	    struct shm_segment *, const sigset_t *sigmask,
	    const struct master_gen *gen, unsigned nls);
void	 mworkers_free(struct mworkers *);

/* Fork a worker on every listener slot (start-up). */
void	 mworkers_start(struct mworkers *);
/*
 * A new generation: a worker of gen starts on every listener slot, and the
 * workers of earlier generations are told to drain (SIGTERM) and retire.
 * Called with no other thread running; forks held are dropped (the new
 * workers take their place).
 */
void	 mworkers_start_generation(struct mworkers *,
	    const struct master_gen *gen);
/*
 * While another thread runs in the master (the model loader), fork is not
 * safe: hold the forks the table would make, and make them on release.
 */
void	 mworkers_hold_forks(struct mworkers *);
void	 mworkers_release_forks(struct mworkers *);

/* SIGCHLD: reap every exited worker; replace the current generation's. */
void	 mworkers_reap(struct mworkers *);
/* Stop: no more respawns, SIGTERM to every worker, listeners closed.
 * Returns the workers left. */
unsigned mworkers_stop(struct mworkers *);
/* Send sig to every worker (sig SIGKILL: log each). */
void	 mworkers_signal(struct mworkers *, int sig);
/* After a failed start: kill and wait for every worker. */
void	 mworkers_kill_all(struct mworkers *);

/* Worker processes alive. */
/* Put listener slot ls back into the port if a stall took it out (see
 * master_health.c); before a worker is forked on it.  0 or -1, logged. */
int	 mworkers_attach(struct mworkers *, unsigned ls);
unsigned mworkers_count(const struct mworkers *);
/* Workers of an earlier generation still draining. */
unsigned mworkers_retiring(const struct mworkers *);
/* Whether the worker in metrics slot i has said it accepts. */
int	 mworkers_ready(const struct mworkers *, unsigned i);
/* Listener slots served by a ready worker. */
unsigned mworkers_alive(const struct mworkers *);

#endif /* INFERD_MASTER_WORKERS_H */
