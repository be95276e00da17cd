/*
 * workpool: a worker's threads for heavy work; see workpool.h.
 *
 * Locking: one mutex guards both lists (queued, finished) and the stop
 * flag; threads sleep on a condition variable while the queue is empty.
 * A thread that finishes a job appends it to the finished list and, if
 * that list was empty, writes the eventfd once: the loop's callback takes
 * the whole list under the mutex and runs the done callbacks outside it.
 * The mutex orders every write a run callback made before the done
 * callback reads it.
 */
#include "autoconf.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "inferd/log.h"
#include "inferd/workpool.h"

/* Weight of the newest run time in the running average. */
#define WORKPOOL_RUN_WEIGHT	0.2

struct workpool {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct workpool_job	*head, *tail;		/* queued */
	struct workpool_job	*fhead, *ftail;		/* finished */
	unsigned		 nqueued;
	unsigned		 nrunning;
	double			 run_avg;	/* seconds a job ran; the loop's */
	int			 stopping;
	int			 efd;
	struct event		*ev;
	unsigned		 nthreads;
	pthread_t		 threads[WORKPOOL_MAX_THREADS];
};

/* Nanoseconds on CLOCK_MONOTONIC. */
uint64_t
workpool_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Append job to a list. */
static void
workpool_append(struct workpool_job **head, struct workpool_job **tail,
    struct workpool_job *job)
{
	job->next = NULL;
	if (*tail != NULL)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

/* A pool thread: take the oldest job, run it, hand it to the loop. */
static void *
workpool_main(void *arg)
{
	struct workpool		*wp = arg;
	struct workpool_job	*job;
	uint64_t		 one = 1;
	int			 wake;

	pthread_mutex_lock(&wp->mu);
	for (;;) {
		while (wp->head == NULL && !wp->stopping)
			pthread_cond_wait(&wp->cv, &wp->mu);
		if (wp->stopping)
			break;
		job = wp->head;
		if ((wp->head = job->next) == NULL)
			wp->tail = NULL;
		wp->nqueued--;
		wp->nrunning++;
		pthread_mutex_unlock(&wp->mu);

		job->started_ns = workpool_now_ns();
		job->run(job);
		job->ended_ns = workpool_now_ns();

		pthread_mutex_lock(&wp->mu);
		wp->nrunning--;
		wake = wp->fhead == NULL;
		workpool_append(&wp->fhead, &wp->ftail, job);
		if (wake) {
			/* Cannot fail but for EAGAIN at 2^64 - 1, when the
			 * loop is woken anyway. */
			if (write(wp->efd, &one, sizeof(one)) == -1)
				(void)errno;
		}
	}
	pthread_mutex_unlock(&wp->mu);
	return NULL;
}

/* Run the done callbacks of the jobs finished so far, in order. */
static void
workpool_finish(struct workpool *wp)
{
	struct workpool_job	*job, *next;
	double			 run;

	pthread_mutex_lock(&wp->mu);
	job = wp->fhead;
	wp->fhead = wp->ftail = NULL;
	pthread_mutex_unlock(&wp->mu);
	for (; job != NULL; job = next) {
		next = job->next;
		run = (double)(job->ended_ns - job->started_ns) / 1e9;
		if (wp->run_avg == 0)
			wp->run_avg = run;	/* the first job */
		else
			wp->run_avg += WORKPOOL_RUN_WEIGHT * (run - wp->run_avg);
		job->done(job);
	}
}

/* The eventfd is readable: threads finished jobs. */
static void
workpool_ready(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	n;

	(void)what;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("workpool: read eventfd");
	workpool_finish(arg);
}

/* Start a pool; see workpool.h. */
struct workpool *
workpool_new(struct event_base *base, unsigned nthreads)
{
	struct workpool	*wp;
	sigset_t	 all, old;
	unsigned	 i;
	int		 rc;

	if (nthreads < 1 || nthreads > WORKPOOL_MAX_THREADS ||
	    (wp = calloc(1, sizeof(*wp))) == NULL) {
		log_warnx("workpool: cannot make a pool of %u threads",
		    nthreads);
		return NULL;
	}
	pthread_mutex_init(&wp->mu, NULL);
	pthread_cond_init(&wp->cv, NULL);
	if ((wp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("workpool: eventfd");
		goto fail;
	}
	if ((wp->ev = event_new(base, wp->efd, EV_READ | EV_PERSIST,
	    workpool_ready, wp)) == NULL || event_add(wp->ev, NULL) == -1) {
		log_warnx("workpool: cannot watch its eventfd");
		goto fail;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nthreads; i++) {
		if ((rc = pthread_create(&wp->threads[i], NULL, workpool_main,
		    wp)) != 0) {
			log_warnx("workpool: pthread_create: %s", strerror(rc));
			break;
		}
		wp->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (wp->nthreads == nthreads)
		return wp;
	workpool_free(wp);
	return NULL;
fail:
	if (wp->ev != NULL)
		event_free(wp->ev);
	if (wp->efd != -1)
		close(wp->efd);
	pthread_cond_destroy(&wp->cv);
	pthread_mutex_destroy(&wp->mu);
	free(wp);
	return NULL;
}

/* Stop the pool; see workpool.h. */
void
workpool_free(struct workpool *wp)
{
	struct workpool_job	*job, *next;
	unsigned		 i;

	if (wp == NULL)
		return;
	pthread_mutex_lock(&wp->mu);
	wp->stopping = 1;
	job = wp->head;
	wp->head = wp->tail = NULL;
	wp->nqueued = 0;
	pthread_cond_broadcast(&wp->cv);
	pthread_mutex_unlock(&wp->mu);
	for (i = 0; i < wp->nthreads; i++)
		pthread_join(wp->threads[i], NULL);
	workpool_finish(wp);
	for (; job != NULL; job = next) {
		next = job->next;
		job->cancelled = 1;
		job->done(job);
	}
	event_free(wp->ev);
	close(wp->efd);
	pthread_cond_destroy(&wp->cv);
	pthread_mutex_destroy(&wp->mu);
	free(wp);
}

/* Queue a job; see workpool.h. */
int
workpool_submit(struct workpool *wp, struct workpool_job *job)
{
	job->queued_ns = workpool_now_ns();
	job->started_ns = job->ended_ns = 0;
	job->cancelled = 0;
	pthread_mutex_lock(&wp->mu);
	if (wp->stopping) {
		pthread_mutex_unlock(&wp->mu);
		return -1;
	}
	workpool_append(&wp->head, &wp->tail, job);
	wp->nqueued++;
	pthread_cond_signal(&wp->cv);
	pthread_mutex_unlock(&wp->mu);
	return 0;
}

/* Jobs waiting; see workpool.h. */
unsigned
workpool_queued(struct workpool *wp)
{
	unsigned	n;

	pthread_mutex_lock(&wp->mu);
	n = wp->nqueued;
	pthread_mutex_unlock(&wp->mu);
	return n;
}

/*
 * The wait of a job submitted now; see workpool.h.  The jobs ahead of it
 * are the queued and the running ones; once every thread is busy, each
 * thread frees up every run_avg seconds on average, so the job starts
 * after (ahead - nthreads + 1) / nthreads run times.
 */
double
workpool_expected_wait(struct workpool *wp)
{
	unsigned	ahead;

	pthread_mutex_lock(&wp->mu);
	ahead = wp->nqueued + wp->nrunning;
	pthread_mutex_unlock(&wp->mu);
	if (ahead < wp->nthreads)
		return 0;
	return (double)(ahead - wp->nthreads + 1) * wp->run_avg /
	    wp->nthreads;
}

/* Whether every thread has a job; see workpool.h. */
int
workpool_busy(struct workpool *wp)
{
	int	busy;

	pthread_mutex_lock(&wp->mu);
	busy = wp->nqueued + wp->nrunning >= wp->nthreads;
	pthread_mutex_unlock(&wp->mu);
	return busy;
}

/* The oldest queued job's wait; see workpool.h. */
double
workpool_queue_age(struct workpool *wp)
{
	uint64_t	q = 0;

	pthread_mutex_lock(&wp->mu);
	if (wp->head != NULL)
		q = wp->head->queued_ns;
	pthread_mutex_unlock(&wp->mu);
	return q == 0 ? 0 : (double)(workpool_now_ns() - q) / 1e9;
}
