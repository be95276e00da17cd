/*
 * fuzz_predict: the POST /predict body parser, which is also KServe v1's
 * (infer_parse with INFER_PREDICT and INFER_V1),
 * against the bundled model.  Oracle: a refusal is a 4xx with a message;
 * an accepted batch has the model's shape, predicts and formats as JSON;
 * a body the fast path (src/infer/infer_fast.c) takes, jansson's path takes too,
 * with bit-identical features.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "inferd/infer.h"
#include "infer/infer_impl.h"
#include "inferd/model.h"
#include "fuzz.h"

/* Few rows, so that the limit (413) is within the fuzzer's reach. */
#define FUZZ_MAX_ROWS	8

static struct model	*fuzz_model;

/* Load the bundled model once. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_model = fuzz_bundled_model();
	return 0;
}

/* Whatever the fast path reads, jansson's path reads the same. */
static void
fuzz_fast_agrees(const uint8_t *data, size_t size, int v1)
{
	struct infer_batch	 bf, bj;
	struct infer_error	 err;

	if (infer_fast_predict((const char *)data, size,
	    model_nfeatures(fuzz_model), FUZZ_MAX_ROWS, v1, &bf) == -1)
		return;
	memset(&err, 0, sizeof(err));
	if (infer_parse_predict_json((const char *)data, size, fuzz_model,
	    FUZZ_MAX_ROWS, &bj, &err, v1) == -1)
		fuzz_fail("fast path took a body jansson refuses: %.100s",
		    err.msg);
	if (bf.rows != bj.rows || bf.cols != bj.cols ||
	    memcmp(bf.x, bj.x, bf.rows * bf.cols * sizeof(*bf.x)) != 0)
		fuzz_fail("fast path and jansson read different features");
	free(bf.x);
	free(bj.x);
}

/* The input is the request body, as many bytes as it has. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_infer(fuzz_model, INFER_PREDICT, data, size, FUZZ_MAX_ROWS);
	fuzz_infer(fuzz_model, INFER_V1, data, size, FUZZ_MAX_ROWS);
	fuzz_fast_agrees(data, size, 0);
	fuzz_fast_agrees(data, size, 1);
	return 0;
}
