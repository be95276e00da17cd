/*
 * bench_model: predictions per second on one core, inferd's evaluator
 * (model_predict) against libxgboost's own C API
 * (XGBoosterPredictFromDense, nthread=1), on the same model and rows, one
 * row per call and batches of 100 and 10,000.  It also checks that both
 * give the same predictions.  Not part of make check; see bench/README.md.
 *
 * With --xgb500 DIR it first trains, through libxgboost's C API, the
 * reference model (500 trees of depth 8 on 50 features, binary:logistic,
 * one thread, fixed data), saves it as DIR/bench500.json and, in XGBoost's
 * binary format, DIR/bench500.bin, and measures the binary file (which
 * both inferd and libxgboost load), after checking that inferd reads the
 * two files into the same predictions.
 *
 *   /usr/bin/python3 tests/gen_models.py bench /tmp/bench100.json
 *   gcc -O2 -std=c11 -Iinclude -o bench_model bench/bench_model.c \
 *       src/model*.c src/jsonutil.c -ljansson -lmd -lxgboost -lm
 *   taskset -c 0 ./bench_model /tmp/bench100.json
 *
 * make bench builds it (bench/bench_model in the build tree, linked with
 * libinferd.a) and runs it with a second argument, the minimum seconds
 * per measurement (default 2).
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xgboost/c_api.h>

#include "inferd/model.h"

#define BENCH_ROWS	100000	/* distinct rows, cycled through */
#define BENCH_BATCH	100
#define BENCH_BIG_BATCH	10000
#define BENCH_TRAIN_ROWS 20000	/* --xgb500's training rows */
#define BENCH_TRAIN_FEATURES 50
#define BENCH_TRAIN_ROUNDS 500
#define BENCH_SECONDS	2.0	/* default minimum time per measurement */

static volatile double bench_sink;	/* keeps the results alive */
static double bench_seconds = BENCH_SECONDS;

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Seconds of CPU this process used (every thread's). */
static double
cpu_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A deterministic generator (xorshift64*), uniform in [0, 1). */
static double
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
}

/* Normal-ish features (sum of uniforms) with 5% missing. */
static float *
make_rows(size_t rows, size_t cols)
{
	uint64_t	 s = 88172645463325252ULL;
	float		*x;
	size_t		 i;

	if ((x = malloc(rows * cols * sizeof(*x))) == NULL)
		return NULL;
	for (i = 0; i < rows * cols; i++)
		x[i] = rnd(&s) < 0.05 ? NAN : (float)(rnd(&s) + rnd(&s) +
		    rnd(&s) - 1.5) * 2.0f;
	return x;
}

/* The array interface string XGBoost's C API takes for a dense matrix. */
static void
array_interface(char *buf, size_t len, const float *x, size_t rows,
    size_t cols)
{
	snprintf(buf, len, "{\"data\": [%llu, true], \"shape\": [%zu, %zu], "
	    "\"typestr\": \"<f4\", \"version\": 3}",
	    (unsigned long long)(uintptr_t)x, rows, cols);
}

static const char *xgb_config = "{\"type\": 0, \"training\": false, "
    "\"iteration_begin\": 0, \"iteration_end\": 0, \"strict_shape\": false, "
    "\"missing\": NaN, \"cache_id\": 0}";

/* Predict rows with XGBoost into out (rows * nout floats). */
static void
xgb_predict(BoosterHandle h, const float *x, size_t rows, size_t cols,
    size_t nout, float *out)
{
	char			 ai[256];
	const bst_ulong		*shape;
	bst_ulong		 dim;
	const float		*res;

	array_interface(ai, sizeof(ai), x, rows, cols);
	if (XGBoosterPredictFromDense(h, ai, xgb_config, NULL, &shape, &dim,
	    &res) != 0) {
		fprintf(stderr, "XGBoosterPredictFromDense: %s\n",
		    XGBGetLastError());
		exit(1);
	}
	memcpy(out, res, rows * nout * sizeof(*out));
}

/* Time predict in calls of batch rows for at least bench_seconds;
 * return rows per CPU second.  Both figures are printed: per second of
 * the clock, and per second of CPU this process had, which on a machine
 * other work shares is the one to compare (the ratio uses it). */
static double
run(const char *what, size_t batch, const struct model *m, BoosterHandle h,
    const float *x, size_t cols, size_t nout)
{
	double		*y = malloc(batch * nout * sizeof(*y));
	float		*yf = malloc(batch * nout * sizeof(*yf));
	double		 t0, t, c0, c;
	size_t		 done = 0, i = 0, k;

	if (y == NULL || yf == NULL)
		exit(1);
	t0 = now();
	c0 = cpu_now();
	do {
		/* about 100,000 rows between looks at the clock */
		for (k = 0; k < 1000 && k * batch < 100000; k++) {
			if (i + batch > BENCH_ROWS)
				i = 0;
			if (m != NULL) {
				model_predict(m, x + i * cols, batch, y);
				bench_sink += y[0];
			} else {
				xgb_predict(h, x + i * cols, batch, cols,
				    nout, yf);
				bench_sink += (double)yf[0];
			}
			i += batch;
			done += batch;
		}
		t = now() - t0;
	} while (t < bench_seconds);
	c = cpu_now() - c0;
	printf("  %-8s batch %5zu: %10.0f predictions/s  %9.3f us/call  "
	    "(%.0f per CPU second, %.0f%% of a core)\n", what, batch,
	    (double)done / t, t / (double)done * (double)batch * 1e6,
	    (double)done / c, 100.0 * c / t);
	free(y);
	free(yf);
	return (double)done / c;
}

/* Train the --xgb500 model with libxgboost and save it as DIR/bench500
 * .json and .bin (XGBoost 1.x writes its binary format for any name but
 * .json and .ubj); the .bin path into bin. */
static int
train_big(const char *dir, char *json, char *bin, size_t len)
{
	static const char *const params[][2] = {
		{ "objective", "binary:logistic" }, { "max_depth", "8" },
		{ "eta", "0.1" }, { "tree_method", "hist" },
		{ "nthread", "1" }, { "seed", "0" },
	};
	DMatrixHandle	 d;
	BoosterHandle	 h;
	float		*x, *y;
	size_t		 i, n = BENCH_TRAIN_ROWS, c = BENCH_TRAIN_FEATURES;
	double		 s, t0 = now();
	int		 r;

	snprintf(json, len, "%s/bench500.json", dir);
	snprintf(bin, len, "%s/bench500.bin", dir);
	if ((x = make_rows(n, c)) == NULL ||
	    (y = malloc(n * sizeof(*y))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {	/* a label with interactions */
		s = (isnan(x[i * c]) ? 0 : x[i * c]) +
		    (isnan(x[i * c + 1]) ? 0 : x[i * c + 1] * x[i * c + 1]) -
		    (isnan(x[i * c + 2]) || isnan(x[i * c + 3]) ? 0 :
		    x[i * c + 2] * x[i * c + 3]) +
		    sin(isnan(x[i * c + 4]) ? 0 : 3 * x[i * c + 4]);
		y[i] = s + 0.5 * sin((double)i) > 0.3 ? 1.0f : 0.0f;
	}
	if (XGDMatrixCreateFromMat(x, n, c, NAN, &d) != 0 ||
	    XGDMatrixSetFloatInfo(d, "label", y, n) != 0 ||
	    XGBoosterCreate(&d, 1, &h) != 0)
		goto fail;
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (XGBoosterSetParam(h, params[i][0], params[i][1]) != 0)
			goto fail;
	for (r = 0; r < BENCH_TRAIN_ROUNDS; r++)
		if (XGBoosterUpdateOneIter(h, r, d) != 0)
			goto fail;
	if (XGBoosterSaveModel(h, json) != 0 ||
	    XGBoosterSaveModel(h, bin) != 0)
		goto fail;
	XGBoosterFree(h);
	XGDMatrixFree(d);
	free(x);
	free(y);
	printf("trained %d trees of depth 8 on %zu rows x %zu features in "
	    "%.1f s: %s, %s\n", BENCH_TRAIN_ROUNDS, n, c, now() - t0, json,
	    bin);
	return 0;
fail:
	fprintf(stderr, "xgboost: %s\n", XGBGetLastError());
	return -1;
}

/* Whether inferd predicts the same from the JSON and the binary file. */
static int
same_both(const char *json, const struct model *mb)
{
	char		 err[512];
	struct model	*mj;
	float		*x;
	double		*yj, *yb;
	size_t		 i, n = 10000, diff = 0;

	if ((mj = model_load(json, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if ((x = make_rows(n, model_nfeatures(mj))) == NULL ||
	    (yj = malloc(n * sizeof(*yj))) == NULL ||
	    (yb = malloc(n * sizeof(*yb))) == NULL)
		return -1;
	model_predict(mj, x, n, yj);
	model_predict(mb, x, n, yb);
	for (i = 0; i < n; i++)
		diff += memcmp(&yj[i], &yb[i], sizeof(*yj)) != 0;
	printf("inferd, JSON against binary file: %zu of %zu predictions "
	    "differ\n", diff, n);
	model_free(mj);
	free(x);
	free(yj);
	free(yb);
	return diff == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	char		 err[512];
	struct model	*m;
	BoosterHandle	 h;
	float		*x, *yx;
	double		*ym, a, b, maxrel = 0.0, rel;
	size_t		 cols, nout, i, diff = 0, batches[] = { 1, BENCH_BATCH,
			    BENCH_BIG_BATCH };
	char		 json[4096], bin[4096];
	const char	*path;

	if (argc >= 3 && strcmp(argv[1], "--xgb500") == 0) {
		if (train_big(argv[2], json, bin, sizeof(json)) == -1)
			return 1;
		argv += 2;
		argc -= 2;
		path = bin;
	} else if (argc >= 2) {
		argv++;
		argc--;
		path = argv[0];
		json[0] = '\0';
	} else
		argc = -1;
	if (argc < 0 || argc > 2 || (argc == 2 &&
	    (bench_seconds = atof(argv[1])) <= 0)) {
		fprintf(stderr, "usage: bench_model MODEL [seconds]\n"
		    "       bench_model --xgb500 DIR [seconds]\n");
		return 2;
	}
	if ((m = model_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (json[0] != '\0' && same_both(json, m) == -1)
		return 1;
	cols = model_nfeatures(m);
	nout = model_noutputs(m);
	if (XGBoosterCreate(NULL, 0, &h) != 0 ||
	    XGBoosterLoadModel(h, path) != 0 ||
	    XGBoosterSetParam(h, "nthread", "1") != 0) {
		fprintf(stderr, "xgboost: %s\n", XGBGetLastError());
		return 1;
	}
	if ((x = make_rows(BENCH_ROWS, cols)) == NULL ||
	    (ym = malloc(BENCH_ROWS * nout * sizeof(*ym))) == NULL ||
	    (yx = malloc(BENCH_ROWS * nout * sizeof(*yx))) == NULL)
		return 1;

	/* Same answers first. */
	model_predict(m, x, BENCH_ROWS, ym);
	xgb_predict(h, x, BENCH_ROWS, cols, nout, yx);
	for (i = 0; i < BENCH_ROWS * nout; i++) {
		a = ym[i];
		b = yx[i];
		if ((float)a != (float)b)
			diff++;
		rel = fabs(a - b) / fmax(fabs(b), 1e-30);
		if (rel > maxrel)
			maxrel = rel;
	}
	printf("model %s: %zu trees, %zu features, %s; %d rows, 5%% "
	    "missing\n", path, model_ntrees(m), cols, model_objective(m),
	    BENCH_ROWS);
	printf("agreement with XGBoost: %zu of %zu outputs differ, max "
	    "relative difference %g\n", diff, (size_t)BENCH_ROWS * nout,
	    maxrel);
	for (i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
		a = run("inferd", batches[i], m, NULL, x, cols, nout);
		b = run("xgboost", batches[i], NULL, h, x, cols, nout);
		printf("  batch %zu: inferd is %.1fx xgboost (per CPU second)\n",
		    batches[i], a / b);
	}
	XGBoosterFree(h);
	model_free(m);
	free(x);
	free(ym);
	free(yx);
	return diff == 0 ? 0 : 1;
}
