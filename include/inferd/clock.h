/*
 * clock: the two time conversions master and workers share.
 */
#ifndef INFERD_CLOCK_H
#define INFERD_CLOCK_H

#include <sys/time.h>

#include <time.h>

/* Seconds elapsed on the monotonic clock since *t. */
static inline double
clock_since(const struct timespec *t)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	    (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* A timeval of seconds (non-negative), for libevent's timers. */
static inline struct timeval
clock_tv(double seconds)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	return tv;
}

#endif /* INFERD_CLOCK_H */
