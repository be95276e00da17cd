/*
 * test_workpool: jobs run on the pool's threads while the loop keeps
 * turning, their done callbacks run on the loop's thread, each exactly
 * once; the queue's age grows while jobs wait; stopping the pool cancels
 * the jobs still queued and still calls their done callbacks.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "inferd/workpool.h"

#define NJOBS	8

struct job {
	struct workpool_job	 job;
	pthread_t		 ran_on, done_on;
	int			 runs, dones;
	struct event_base	*base;
	int			*left;
};

static void
job_run(struct workpool_job *wj)
{
	struct job	*j = (struct job *)wj;
	struct timespec	 ts = { 0, 50 * 1000 * 1000 };

	j->ran_on = pthread_self();
	j->runs++;
	nanosleep(&ts, NULL);
}

static void
job_done(struct workpool_job *wj)
{
	struct job	*j = (struct job *)wj;

	j->done_on = pthread_self();
	j->dones++;
	if (--*j->left == 0)
		event_base_loopbreak(j->base);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(*(int *)arg)++;
}

static void
test_pool_runs_off_the_loop(void **state)
{
	struct event_base	*base = event_base_new();
	struct workpool		*wp = workpool_new(base, 2);
	struct job		 jobs[NJOBS] = { 0 };
	struct timeval		 tv = { 0, 10 * 1000 };
	struct event		*ev;
	int			 i, left = NJOBS, ticks = 0;

	assert_non_null(wp);
	for (i = 0; i < NJOBS; i++) {
		jobs[i].job.run = job_run;
		jobs[i].job.done = job_done;
		jobs[i].base = base;
		jobs[i].left = &left;
		assert_int_equal(workpool_submit(wp, &jobs[i].job), 0);
	}
	assert_true(workpool_queued(wp) >= NJOBS - 2);
	ev = event_new(base, -1, EV_PERSIST, tick, &ticks);
	evtimer_add(ev, &tv);
	event_base_dispatch(base);
	/* 8 jobs of 50 ms on 2 threads: about 200 ms, 10 ms ticks */
	assert_int_equal(left, 0);
	assert_true(ticks >= 8);
	for (i = 0; i < NJOBS; i++) {
		assert_int_equal(jobs[i].runs, 1);
		assert_int_equal(jobs[i].dones, 1);
		assert_false(pthread_equal(jobs[i].ran_on, pthread_self()));
		assert_true(pthread_equal(jobs[i].done_on, pthread_self()));
		assert_true(jobs[i].job.started_ns >= jobs[i].job.queued_ns);
		assert_true(jobs[i].job.ended_ns >= jobs[i].job.started_ns +
		    40 * 1000 * 1000);
	}
	/* the last jobs waited for the first ones */
	assert_true(jobs[NJOBS - 1].job.started_ns -
	    jobs[NJOBS - 1].job.queued_ns >= 100 * 1000 * 1000);
	/* nothing queued or running: no wait; then 4 jobs of about 50 ms on
	 * 2 threads: the fourth starts after 1.5 run times */
	assert_true(workpool_expected_wait(wp) == 0);
	left = 4;
	for (i = 0; i < 4; i++) {
		jobs[i].runs = jobs[i].dones = 0;
		assert_int_equal(workpool_submit(wp, &jobs[i].job), 0);
	}
	assert_true(workpool_expected_wait(wp) > 0.03);
	assert_true(workpool_expected_wait(wp) < 0.5);
	event_base_dispatch(base);
	assert_int_equal(left, 0);
	event_free(ev);
	workpool_free(wp);
	event_base_free(base);
}

static void
test_pool_stop_cancels(void **state)
{
	struct event_base	*base = event_base_new();
	struct workpool		*wp = workpool_new(base, 1);
	struct job		 jobs[NJOBS] = { 0 };
	struct timespec		 ts = { 0, 20 * 1000 * 1000 };
	int			 i, left = NJOBS, ran = 0, cancelled = 0;

	assert_non_null(wp);
	for (i = 0; i < NJOBS; i++) {
		jobs[i].job.run = job_run;
		jobs[i].job.done = job_done;
		jobs[i].base = base;
		jobs[i].left = &left;
		assert_int_equal(workpool_submit(wp, &jobs[i].job), 0);
	}
	nanosleep(&ts, NULL);
	assert_true(workpool_queue_age(wp) >= 0.015);
	workpool_free(wp);
	assert_int_equal(left, 0);
	for (i = 0; i < NJOBS; i++) {
		assert_int_equal(jobs[i].dones, 1);
		ran += jobs[i].runs;
		cancelled += jobs[i].job.cancelled;
		assert_int_equal(jobs[i].runs + jobs[i].job.cancelled, 1);
	}
	assert_true(ran >= 1 && cancelled >= 1);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_runs_off_the_loop),
		cmocka_unit_test(test_pool_stop_cancels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
