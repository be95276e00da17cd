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

/* Nothing to share. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
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
		fuzz_refusal_names(err, FUZZ_NAME);
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
		fuzz_predict_rows(m);
	} else
		fuzz_refusal_names(err, FUZZ_NAME);
	model_free(m);
	json_decref(root);
	return 0;
}
