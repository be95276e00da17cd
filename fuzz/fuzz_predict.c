/*
 * fuzz_predict: the POST /predict body parser, which is also KServe v1's
 * (infer_parse with INFER_PREDICT and INFER_V1),
 * against the bundled model.  Oracle: a refusal is a 4xx with a message;
 * an accepted batch has the model's shape, predicts and formats as JSON.
 */
#include "autoconf.h"

#include "inferd/infer.h"
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

/* The input is the request body, as many bytes as it has. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_infer(fuzz_model, INFER_PREDICT, data, size, FUZZ_MAX_ROWS);
	fuzz_infer(fuzz_model, INFER_V1, data, size, FUZZ_MAX_ROWS);
	return 0;
}
