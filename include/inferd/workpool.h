/*
 * workpool: a worker's few threads for heavy work, so that its event loop
 * keeps accepting, parsing and answering small requests while a large
 * batch is evaluated.  The loop submits a job; a pool thread runs its run
 * callback; the loop then runs its done callback (woken through an
 * eventfd), in the order the jobs finished.  Jobs wait in one FIFO queue;
 * its oldest job's wait is what admission control reads.
 *
 * Threads and fork: a worker forks nothing, and the master, which forks,
 * starts no pool; the pool's threads block every signal, so the loop's
 * signal events keep receiving them.  They run at the loop's priority:
 * a nicer pool starved behind other processes of a busy host (measured:
 * refused bodies at half the rate), and the scheduler already favours the
 * loop, which sleeps most of the time, when it wakes.  run callbacks touch only their job
 * (and what is read-only for the worker's life, such as the model): no
 * libevent object, no connection, no metrics slot.
 */
#ifndef INFERD_WORKPOOL_H
#define INFERD_WORKPOOL_H

#include <stdint.h>

struct event_base;
struct workpool;

/* One piece of work; the caller owns it (usually embedded in its own
 * struct) until its done callback has run. */
struct workpool_job {
	void		(*run)(struct workpool_job *);	/* on a pool thread */
	void		(*done)(struct workpool_job *);	/* on the loop */
	uint64_t	 queued_ns;	/* CLOCK_MONOTONIC, set by submit */
	uint64_t	 started_ns;	/* when a thread took it */
	uint64_t	 ended_ns;	/* when run returned */
	int		 cancelled;	/* done without run: the pool stopped */
	struct workpool_job *next;	/* the pool's */
};

/* A pool of nthreads (1 .. WORKPOOL_MAX_THREADS) threads reporting to
 * base; NULL (logged) when it cannot be made. */
struct workpool	*workpool_new(struct event_base *, unsigned nthreads);
#define WORKPOOL_MAX_THREADS	64
/*
 * Stop the pool: the running jobs finish, the queued ones are not run;
 * every job's done callback runs before this returns (cancelled set for
 * the ones not run).  NULL is a no-op.
 */
void		 workpool_free(struct workpool *);
/* Queue job; 0, or -1 if the pool is stopping. */
int		 workpool_submit(struct workpool *, struct workpool_job *);
/* Jobs queued and not yet taken by a thread. */
unsigned	 workpool_queued(struct workpool *);
/*
 * Seconds a job submitted now would wait before a thread takes it,
 * estimated from the jobs queued and running and the average run time of
 * the jobs finished so far (0 until one has).  Call it on the loop.
 */
double		 workpool_expected_wait(struct workpool *);
/* Whether every thread has a job (queued or running). */
int		 workpool_busy(struct workpool *);
/* Seconds the oldest queued job has waited so far (0 when none). */
double		 workpool_queue_age(struct workpool *);
/* Nanoseconds on CLOCK_MONOTONIC (the clock of the job stamps). */
uint64_t	 workpool_now_ns(void);

#endif /* INFERD_WORKPOOL_H */
