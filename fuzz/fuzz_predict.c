/*
 * fuzz_predict: the POST /predict body parser (infer_parse_predict)
 * against the bundled model.  Oracle: a refusal is a 4xx with a message;
 * an accepted batch has the model's shape, predicts and formats as JSON.
 */
#include "autoconf.h"

#include <string.h>

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
	struct infer_batch	 b;
	struct infer_error	 err;

	memset(&err, 0, sizeof(err));
	if (infer_parse_predict((const char *)data, size, fuzz_model,
	    FUZZ_MAX_ROWS, &b, &err) == 0)
		fuzz_check_batch(fuzz_model, &b, FUZZ_MAX_ROWS, 0);
	else if (err.status < 400 || err.status > 499 || err.msg[0] == '\0' ||
	    strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg) ||
	    b.x != NULL)
		fuzz_fail("refused with status %d, message \"%.100s\"",
		    err.status, err.msg);
	return 0;
}
