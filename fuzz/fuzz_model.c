/*
 * fuzz_model: the model loader on arbitrary bytes.  First the format
 * parser (modelfmt_parse: JSON with XGBoost's NaN/Infinity tokens, or
 * UBJSON through ubjson_decode) into a jansson tree; then the whole loader
 * (model_load: JSON to a checked struct model) and the evaluator on the
 * model it accepted: one row of missing values and one of zeros.
 * Oracle: a refusal comes with a message that names the file.
 *
 * model_load reads a path, so each input is written to one temporary file
 * made at start (in $TMPDIR) and removed at exit.
 */
#include "autoconf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "inferd/model.h"
#include "inferd/modelfmt.h"
#include "fuzz.h"

#define FUZZ_NAME	"fuzz.model"

static char	fuzz_path[4096];
static int	fuzz_fd = -1;

/* Remove the temporary model file. */
static void
fuzz_cleanup(void)
{
	if (fuzz_fd != -1)
		unlink(fuzz_path);
}

/* Make the temporary file each input is written to. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*dir = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz_model.XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	if ((fuzz_fd = mkstemp(fuzz_path)) == -1)
		fuzz_fail("mkstemp %s: %s", fuzz_path, strerror(errno));
	atexit(fuzz_cleanup);
	return 0;
}

/* Check that a refusal has a message naming what was loaded. */
static void
fuzz_check_refusal(const char *err, const char *name)
{
	if (strncmp(err, name, strlen(name)) != 0)
		fuzz_fail("refused without naming %s: \"%.200s\"", name, err);
}

/* Predict a row of NaNs and a row of zeros; outputs must not be garbage. */
static void
fuzz_predict(const struct model *m)
{
	size_t	 i, n = model_nfeatures(m), k = model_noutputs(m);
	float	*x = calloc(2 * n + 1, sizeof(*x));
	double	*y = calloc(2 * k + 1, sizeof(*y));

	if (x == NULL || y == NULL)
		fuzz_fail("out of memory for %zu features, %zu outputs", n, k);
	for (i = 0; i < n; i++)
		x[i] = NAN;
	model_predict(m, x, 2, y);
	free(x);
	free(y);
}

/* Load the model through the file, as inferd does. */
static void
fuzz_load(const uint8_t *data, size_t size)
{
	struct model	*m;
	char		 err[512];

	if (ftruncate(fuzz_fd, 0) == -1 ||
	    (size > 0 && pwrite(fuzz_fd, data, size, 0) != (ssize_t)size))
		fuzz_fail("writing %s: %s", fuzz_path, strerror(errno));
	err[0] = '\0';
	if ((m = model_load(fuzz_path, err, sizeof(err))) == NULL) {
		fuzz_check_refusal(err, fuzz_path);
		return;
	}
	fuzz_predict(m);
	model_free(m);
}

/* The input is the bytes of a model file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t	*root;
	char	 err[512];

	modelfmt_name(modelfmt_sniff(data, size));
	err[0] = '\0';
	if ((root = modelfmt_parse(data, size, FUZZ_NAME, err,
	    sizeof(err))) == NULL)
		fuzz_check_refusal(err, FUZZ_NAME);
	json_decref(root);
	fuzz_load(data, size);
	return 0;
}
