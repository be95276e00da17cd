/*
 * bench_observe: the cost of one observation on the request path, i.e.
 * one shm_record() of an observed GET /predict answered 200 (classic and
 * native buckets, no model work), on a private
 * segment laid out by shm_init() in malloc'd memory with the default
 * buckets.  Prints "observe: N calls, X ns/call".  Under
 * valgrind --tool=callgrind --toggle-collect=shm_record it gives the
 * instructions per call (Ir / N), which repeat exactly.  See
 * bench/README.md.
 *
 *   bench_observe [calls]
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inferd/config.h"
#include "inferd/routes.h"
#include "inferd/shm.h"

#define OBSERVE_CALLS	10000000

int
main(int argc, char **argv)
{
	struct config		 cfg;
	struct shm_segment	 seg;
	struct timespec		 t0, t1;
	void			*mem;
	long			 n = argc > 1 ? atol(argv[1]) : OBSERVE_CALLS;
	long			 i;
	double			 ns, lat[16];
	struct shm_request	 rq = { .handler = ROUTES_H_PREDICT,
				    .status = 200, .observe = 1 };

	if (n <= 0) {
		fprintf(stderr, "usage: bench_observe [calls]\n");
		return 2;
	}
	config_defaults(&cfg);
	if ((mem = aligned_alloc(64, shm_size(1))) == NULL)
		return 1;
	memset(mem, 0, shm_size(1));
	shm_init(&seg, mem, 1, cfg.buckets, cfg.nbuckets);
	/* Latencies from 50 us to about 1.6 s: every part of the bounds. */
	for (i = 0; i < 16; i++)
		lat[i] = 50e-6 * (double)(1L << i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		rq.latency = lat[i & 15];
		shm_record(&seg, &seg.slots[0], &rq);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	    (double)(t1.tv_nsec - t0.tv_nsec);
	printf("observe: %ld calls, %.2f ns/call, count %llu\n", n, ns /
	    (double)n, (unsigned long long)atomic_load(
	    &seg.slots[0].requests[ROUTES_H_PREDICT][SHM_C_200]));
	free(mem);
	return 0;
}
