/*
 * fuzz_lgbm: the LightGBM text model loader (model_lgbm.c) on arbitrary
 * bytes, as model_load gives it a file's (NUL-terminated), and the
 * evaluator on whatever model it accepts.  Oracles: a refusal comes with a
 * message that names the file; rows predict the same in a batch and one
 * by one; float32 rows predict the same through model_predict and, widened
 * to double, through model_predict_double (LightGBM widens float32
 * exactly); raw scores are answered for every accepted model.
 *
 * White-box: the builder's caller provides the zeroed struct model and the
 * error sink, so this includes model_impl.h as model_load.c does.
 */
#include "autoconf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/model.h"
#include "model/model_impl.h"
#include "model/model_lgbm.h"
#include "fuzz.h"

#define FUZZ_NAME	"fuzz.lgbm"
#define FUZZ_ROWS	9

/* Nothing to share. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Whether two outputs are the same double (NaN equals NaN). */
static int
fuzz_same(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0 || (isnan(a) && isnan(b));
}

/* Predict FUZZ_ROWS rows mixing NaN, 0, -0, 1e-36, -1, 0.5, 31, 32, 1e30
 * and 3e9 with an accepted model, every way it can be asked. */
static void
fuzz_predict(const struct model *m)
{
	static const float	 v[] = { NAN, 0.0f, -0.0f, 1e-36f, -1.0f, 0.5f,
				    31.0f, 32.0f, 1e30f, 3e9f };
	size_t			 i, r, n = model_nfeatures(m);
	size_t			 k = model_noutputs(m), nv = sizeof(v) /
				    sizeof(v[0]);
	float			*x = calloc(FUZZ_ROWS * n + 1, sizeof(*x));
	double			*xd = calloc(FUZZ_ROWS * n + 1, sizeof(*xd));
	double			*y = calloc(FUZZ_ROWS * k + 1, sizeof(*y));
	double			*yd = calloc(FUZZ_ROWS * k + 1, sizeof(*yd));
	double			*y1 = calloc(k + 1, sizeof(*y1));

	if (k == 0 || n == 0)
		fuzz_fail("accepted a model of %zu outputs, %zu features", k,
		    n);
	if (x == NULL || xd == NULL || y == NULL || yd == NULL || y1 == NULL)
		fuzz_fail("out of memory for %zu features, %zu outputs", n, k);
	if (!model_wants_double(m) || !model_has_raw(m))
		fuzz_fail("a LightGBM model that does not compute in double");
	for (r = 0; r < FUZZ_ROWS; r++)
		for (i = 0; i < n; i++) {
			x[r * n + i] = v[(r * 7 + i * 3) % nv];
			xd[r * n + i] = (double)x[r * n + i];
		}
	model_predict(m, x, FUZZ_ROWS, y);
	model_predict_double(m, xd, FUZZ_ROWS, yd, 0);
	for (r = 0; r < FUZZ_ROWS; r++) {
		model_predict(m, x + r * n, 1, y1);
		for (i = 0; i < k; i++) {
			if (!fuzz_same(y[r * k + i], y1[i]))
				fuzz_fail("row %zu output %zu: %.17g in a batch, "
				    "%.17g alone", r, i, y[r * k + i], y1[i]);
			if (!fuzz_same(y[r * k + i], yd[r * k + i]))
				fuzz_fail("row %zu output %zu: %.17g from "
				    "float32, %.17g from double", r, i,
				    y[r * k + i], yd[r * k + i]);
		}
	}
	model_predict_double(m, xd, FUZZ_ROWS, yd, 1);
	free(x);
	free(xd);
	free(y);
	free(yd);
	free(y1);
}

/* The input is the bytes of a model file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model_limits	 lim = { MODEL_DEFAULT_MAX_BYTES, 64,
				    MODEL_TREES_ALL };
	struct model_err	 e;
	struct model		*m;
	char			 err[512], *buf;

	/* model_load's buffer is NUL-terminated (readfile) */
	if ((buf = malloc(size + 1)) == NULL ||
	    (m = calloc(1, sizeof(*m))) == NULL)
		fuzz_fail("out of memory");
	memcpy(buf, data, size);
	buf[size] = '\0';
	err[0] = '\0';
	e = (struct model_err){ .file = FUZZ_NAME, .buf = err,
	    .len = sizeof(err), .lim = &lim };
	if (model_lgbm_build(m, buf, size, &e) == 0) {
		if ((m->name = strdup("fuzz")) == NULL)
			fuzz_fail("out of memory");
		fuzz_predict(m);
	} else
		fuzz_refusal_names(err, FUZZ_NAME);
	model_free(m);
	free(buf);
	return 0;
}
