/*
 * fuzz_xgbbin: XGBoost's binary model reader (model_xgbbin.c) on arbitrary
 * bytes, then the builder and the evaluator on whatever it accepts.  The
 * bytes go to xgbbin_parse directly, "binf" header or not, so the reader
 * is fuzzed whatever modelfmt_sniff would say.  Oracles: a refusal names
 * the file and says where ("byte N") when the reader refused; xgbbin_sniff
 * knows every input that starts with "binf"; an accepted model predicts a
 * row the same alone and in a batch.
 *
 * White-box, as fuzz_model: the builder's caller provides the zeroed
 * struct model and the error sink.
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

#define FUZZ_NAME	"fuzz.bin"

/* Nothing to share. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* A refusal names the file; the reader's also name the byte. */
static void
fuzz_check_refusal(const char *err, int reader)
{
	fuzz_refusal_names(err, FUZZ_NAME);
	if (reader && strstr(err, "XGBoost binary model, byte ") == NULL)
		fuzz_fail("the reader refused without a byte: \"%.200s\"",
		    err);
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

	if (size >= 4 && memcmp(data, "binf", 4) == 0 &&
	    (!xgbbin_sniff(data, size) ||
	    modelfmt_sniff(data, size) != MODELFMT_BINARY))
		fuzz_fail("\"binf\" not told as the binary format");
	err[0] = '\0';
	if ((root = xgbbin_parse(data, size, FUZZ_NAME, err,
	    sizeof(err))) == NULL) {
		fuzz_check_refusal(err, 1);
		return 0;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		fuzz_fail("out of memory");
	lim.trees = size % 2 == 0 ? MODEL_TREES_ALL : MODEL_TREES_BEST;
	m->trees_mode = lim.trees;
	e = (struct model_err){ .file = FUZZ_NAME, .buf = err,
	    .len = sizeof(err), .lim = &lim };
	if (model_build(m, root, &e) == 0) {
		if ((m->name = strdup("fuzz")) == NULL)
			fuzz_fail("out of memory");
		fuzz_predict_rows(m);
	} else
		fuzz_check_refusal(err, 0);
	model_free(m);
	json_decref(root);
	return 0;
}
