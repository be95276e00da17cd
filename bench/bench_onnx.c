/*
 * bench_onnx: inferd's evaluator on an ONNX model, rows per second on the
 * core it runs on, for bench/bench_onnx.py (which runs ONNX Runtime on the
 * same model and rows).
 *
 *	bench_onnx MODEL ROWS.f32 BATCH SECONDS [OUT.f32]
 *
 * ROWS.f32: little-endian float32 rows of the model's feature count,
 * cycled through in batches of BATCH rows for at least SECONDS.  Prints
 * "rows_per_s N"; OUT.f32 gets the predictions of the first rows (one
 * batch) as float32, to compare with ONNX Runtime's.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "inferd/model.h"

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
main(int argc, char *argv[])
{
	struct model	*m;
	char		 err[1024];
	FILE		*f;
	float		*x, v;
	double		*y, t0, t, secs, sink = 0;
	size_t		 nf, nout, nrows, batch, r = 0, done = 0, i;
	long		 len;

	if (argc < 5) {
		fprintf(stderr, "usage: bench_onnx MODEL ROWS.f32 BATCH "
		    "SECONDS [OUT.f32]\n");
		return 2;
	}
	if ((m = model_load(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	nf = model_nfeatures(m);
	nout = model_noutputs(m);
	batch = strtoul(argv[3], NULL, 10);
	secs = strtod(argv[4], NULL);
	if ((f = fopen(argv[2], "rb")) == NULL || fseek(f, 0, SEEK_END) ||
	    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		perror(argv[2]);
		return 1;
	}
	nrows = (size_t)len / (nf * sizeof(float));
	if (batch == 0 || nrows < batch) {
		fprintf(stderr, "%s: %zu rows, fewer than a batch of %zu\n",
		    argv[2], nrows, batch);
		return 1;
	}
	x = malloc(nrows * nf * sizeof(*x));
	y = malloc(batch * nout * sizeof(*y));
	if (x == NULL || y == NULL ||
	    fread(x, sizeof(*x), nrows * nf, f) != nrows * nf)
		return 1;
	fclose(f);
	model_predict(m, x, batch, y);
	if (argc > 5 && (f = fopen(argv[5], "wb")) != NULL) {
		for (i = 0; i < batch * nout; i++) {
			v = (float)y[i];
			fwrite(&v, sizeof(v), 1, f);
		}
		fclose(f);
	}
	t0 = now();
	do {
		if (r + batch > nrows)
			r = 0;
		model_predict(m, x + r * nf, batch, y);
		sink += y[0];
		r += batch;
		done += batch;
	} while ((t = now() - t0) < secs);
	printf("rows_per_s %.0f\n", (double)done / t);
	if (sink == 12345.678)
		printf("\n");
	model_free(m);
	free(x);
	free(y);
	return 0;
}
