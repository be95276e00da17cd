/*
 * bench_lgbm: rows per second of inferd's LightGBM evaluator on one core,
 * batches of 100 and 10,000 rows, from double features
 * (model_predict_double, what the daemon calls) and from float32 features
 * (model_predict).  Not part of make check: it reports, it does not
 * assert.  make bench-lgbm writes the model (500 trees of depth 8 on 50
 * features, tests/lib/gen_lgbm.py's bench case) and runs it:
 *
 *	python3 tests/lib/gen_lgbm.py --bench /tmp/lgbm500.txt
 *	taskset -c 0 bench/bench_lgbm /tmp/lgbm500.txt [SECONDS [ROWS.f32]]
 *
 * With ROWS.f32, the 10,000 rows (float32, row-major, NaN missing) are
 * written there too, and their predictions (float32-input path) to
 * ROWS.f32.pred (doubles), for the ONNX Runtime comparison
 * (bench/bench_lgbm_ort.js).
 */
#define _GNU_SOURCE

#include <math.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inferd/model.h"

#define BENCH_ROWS	10000

static volatile double bench_sink;

/* Seconds of this thread's CPU time: the machine may be shared, and a
 * figure of rows per CPU-second does not count time the core was lent. */
static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* xorshift64*, uniform in [0, 1). */
static double
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
}

/* Rows per second predicting nrows-row batches over the rows in turn,
 * for at least secs seconds. */
static double
measure(const struct model *m, const double *xd, const float *xf,
    size_t batch, double secs, double *y)
{
	size_t	 nf = model_nfeatures(m), done = 0, r = 0;
	double	 t0 = now(), t;

	do {
		if (xd != NULL)
			model_predict_double(m, xd + r * nf, batch, y, 0);
		else
			model_predict(m, xf + r * nf, batch, y);
		bench_sink += y[0];
		done += batch;
		r = (r + batch) % BENCH_ROWS;
		if (r + batch > BENCH_ROWS)
			r = 0;
		t = now() - t0;
	} while (t < secs);
	return (double)done / t;
}

int
main(int argc, char **argv)
{
	static const size_t	 batches[] = { 100, BENCH_ROWS };
	struct model		*m;
	cpu_set_t		 cpu;
	char			 err[1024];
	double			*xd, *y, secs = 2.0, s;
	float			*xf;
	size_t			 nf, i, j, b;
	uint64_t		 seed = 42;
	FILE			*f;

	if (argc < 2 || (argc > 2 && (secs = atof(argv[2])) <= 0)) {
		fprintf(stderr, "usage: bench_lgbm MODEL.txt [SECONDS "
		    "[ROWS.f32]]\n");
		return 2;
	}
	CPU_ZERO(&cpu);
	CPU_SET(0, &cpu);
	if (sched_setaffinity(0, sizeof(cpu), &cpu) == -1)
		perror("sched_setaffinity (running unpinned)");
	if ((m = model_load(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	nf = model_nfeatures(m);
	xd = calloc(BENCH_ROWS * nf, sizeof(*xd));
	xf = calloc(BENCH_ROWS * nf, sizeof(*xf));
	y = calloc(BENCH_ROWS * model_noutputs(m), sizeof(*y));
	if (xd == NULL || xf == NULL || y == NULL)
		return 2;
	for (i = 0; i < BENCH_ROWS * nf; i++) {
		for (s = 0, j = 0; j < 4; j++)
			s += rnd(&seed);
		xd[i] = rnd(&seed) < 0.05 ? NAN : (s - 2.0) * 1.7;
		xf[i] = (float)xd[i];
	}
	printf("bench_lgbm: %s: %zu trees, %zu features, objective %s, one "
	    "core, %.1f s per figure\n", argv[1], model_ntrees(m), nf,
	    model_objective(m), secs);
	for (b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		printf("  batch %5zu rows: %10.0f rows/s from double, %10.0f "
		    "rows/s from float32\n", batches[b],
		    measure(m, xd, NULL, batches[b], secs, y),
		    measure(m, NULL, xf, batches[b], secs, y));
		fflush(stdout);
	}
	if (argc > 3) {
		model_predict(m, xf, BENCH_ROWS, y);
		if ((f = fopen(argv[3], "wb")) == NULL ||
		    fwrite(xf, sizeof(*xf), BENCH_ROWS * nf, f) !=
		    BENCH_ROWS * nf || fclose(f) != 0) {
			perror(argv[3]);
			return 1;
		}
		snprintf(err, sizeof(err), "%s.pred", argv[3]);
		if ((f = fopen(err, "wb")) == NULL ||
		    fwrite(y, sizeof(*y), BENCH_ROWS * model_noutputs(m), f) !=
		    BENCH_ROWS * model_noutputs(m) || fclose(f) != 0) {
			perror(err);
			return 1;
		}
	}
	free(xd);
	free(xf);
	free(y);
	model_free(m);
	return 0;
}
