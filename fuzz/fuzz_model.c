/*
 * fuzz_model: the model loader on arbitrary bytes, as model_load sees a
 * file's.  The format parser (modelfmt_parse: XGBoost JSON with its bare
 * NaN/Infinity tokens, or UBJSON through ubjson_decode) makes a jansson
 * document; the builder (model_build, every check) turns it into a model;
 * the evaluator predicts with whatever model was accepted.  Oracles: a
 * refusal comes with a message that names the file; a row predicts the
 * same alone and in a batch.
 *
 * White-box: the builder's caller provides the zeroed struct model and the
 * error sink, so this includes model_impl.h as model_load.c does.
 */
#include "autoconf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inferd/model.h"
#include "model/model_build.h"
#include "model/model_impl.h"
#include "model/modelfmt.h"
#include "fuzz.h"

#define FUZZ_NAME	"fuzz.model"
#define FUZZ_ROWS	17	/* a block of MODEL_LANES and one row more */

/* Nothing to share. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Check that a refusal has a message naming the file. */
static void
fuzz_check_refusal(const char *err)
{
	if (strncmp(err, FUZZ_NAME ": ", strlen(FUZZ_NAME ": ")) != 0)
		fuzz_fail("refused without naming " FUZZ_NAME ": \"%.200s\"",
		    err);
}

/*
 * Predict FUZZ_ROWS rows with an accepted model: a row of NaNs (every
 * default branch), a row of zeros, and rows that mix NaN, 0, -1 and 1e30.
 * The rows are predicted as one batch (the evaluator walks MODEL_LANES
 * rows side by side) and one by one: both must give the same outputs.
 */
static void
fuzz_predict(const struct model *m)
{
	static const float	 v[] = { NAN, 0.0f, -1.0f, 1e30f };
	size_t			 i, r, n = model_nfeatures(m);
	size_t			 k = model_noutputs(m);
	float			*x = calloc(FUZZ_ROWS * n + 1, sizeof(*x));
	double			*y = calloc(FUZZ_ROWS * k + 1, sizeof(*y));
	double			*y1 = calloc(k + 1, sizeof(*y1));

	if (k == 0)
		fuzz_fail("accepted a model of no outputs");
	if (x == NULL || y == NULL || y1 == NULL)
		fuzz_fail("out of memory for %zu features, %zu outputs", n, k);
	for (r = 0; r < FUZZ_ROWS; r++)
		for (i = 0; i < n; i++)
			x[r * n + i] = r == 0 ? NAN : r == 1 ? 0.0f :
			    v[(r * 7 + i * 3) % 4];
	model_predict(m, x, FUZZ_ROWS, y);
	for (r = 0; r < FUZZ_ROWS; r++) {
		model_predict(m, x + r * n, 1, y1);
		for (i = 0; i < k; i++)
			if (memcmp(&y[r * k + i], &y1[i], sizeof(*y1)) != 0 &&
			    !(isnan(y[r * k + i]) && isnan(y1[i])))
				fuzz_fail("row %zu output %zu: %.9g in a batch, "
				    "%.9g alone", r, i, y[r * k + i], y1[i]);
	}
	free(x);
	free(y);
	free(y1);
}

/* The input is the bytes of a model file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model_limits	 lim = { MODEL_DEFAULT_MAX_BYTES,
				    MODEL_DEFAULT_MAX_DEPTH, MODEL_TREES_ALL };
	struct model_err	 e;
	struct model		*m;
	json_t			*root;
	char			 err[512];

	modelfmt_name(modelfmt_sniff(data, size));
	err[0] = '\0';
	if ((root = modelfmt_parse(data, size, FUZZ_NAME, err,
	    sizeof(err))) == NULL) {
		fuzz_check_refusal(err);
		return 0;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		fuzz_fail("out of memory");
	/* As model_load_limits sets up a build: both tree modes are
	 * fuzzed, by the input's length. */
	lim.trees = size % 2 == 0 ? MODEL_TREES_ALL : MODEL_TREES_BEST;
	m->trees_mode = lim.trees;
	e = (struct model_err){ .file = FUZZ_NAME, .buf = err,
	    .len = sizeof(err), .lim = &lim };
	if (model_build(m, root, &e) == 0) {
		if ((m->name = strdup("fuzz")) == NULL)
			fuzz_fail("out of memory");
		fuzz_predict(m);
	} else
		fuzz_check_refusal(err);
	model_free(m);
	json_decref(root);
	return 0;
}
