/*
 * fuzz_model: the model loader on arbitrary bytes, as model_load sees a
 * file's.  The format parser (modelfmt_parse: XGBoost JSON with its bare
 * NaN/Infinity tokens, or UBJSON through ubjson_decode) makes a jansson
 * document; the builder (model_build, every check) turns it into a model;
 * the evaluator predicts one row of missing values and one of zeros with
 * whatever model was accepted.  Oracle: a refusal comes with a message
 * that names the file.
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
#include "inferd/model_build.h"
#include "inferd/model_impl.h"
#include "inferd/modelfmt.h"
#include "fuzz.h"

#define FUZZ_NAME	"fuzz.model"

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

/* Predict a row of NaNs and a row of zeros with an accepted model. */
static void
fuzz_predict(const struct model *m)
{
	size_t	 i, n = model_nfeatures(m), k = model_noutputs(m);
	float	*x = calloc(2 * n + 1, sizeof(*x));
	double	*y = calloc(2 * k + 1, sizeof(*y));

	if (k == 0)
		fuzz_fail("accepted a model of no outputs");
	if (x == NULL || y == NULL)
		fuzz_fail("out of memory for %zu features, %zu outputs", n, k);
	for (i = 0; i < n; i++)
		x[i] = NAN;
	model_predict(m, x, 2, y);
	free(x);
	free(y);
}

/* The input is the bytes of a model file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
	e.file = FUZZ_NAME;
	e.buf = err;
	e.len = sizeof(err);
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
