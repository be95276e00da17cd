/*
 * fuzz/common: what the harnesses share: the bundled model and the abort
 * of a failed oracle.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inferd/infer.h"
#include "inferd/model.h"
#include "fuzz.h"

#ifndef FUZZ_MODEL
#define FUZZ_MODEL	"models/breast_cancer.json"
#endif

/* Load the bundled model once; exit if it cannot be loaded. */
struct model *
fuzz_bundled_model(void)
{
	static struct model	*m;
	const char		*path;
	char			 err[512];

	if (m != NULL)
		return m;
	if ((path = getenv("INFERD_FUZZ_MODEL")) == NULL)
		path = FUZZ_MODEL;
	if ((m = model_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz: %s (set INFERD_FUZZ_MODEL to the "
		    "bundled model)\n", err);
		exit(2);
	}
	return m;
}

/* Print the failed oracle and abort, which the fuzzer reports as a crash. */
void
fuzz_fail(const char *fmt, ...)
{
	va_list	 ap;

	fputs("fuzz: oracle failed: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* Predict an accepted batch and check what would be sent. */
void
fuzz_check_batch(const struct model *m, struct infer_batch *b,
    size_t max_rows, int oip)
{
	json_error_t	 jerr;
	json_t		*doc;
	double		*y;
	char		*text;

	if (b->rows == 0 || b->rows > max_rows || b->x == NULL ||
	    b->cols != model_nfeatures(m) ||
	    strnlen(b->id, sizeof(b->id)) == sizeof(b->id))
		fuzz_fail("batch of %zu x %zu accepted (max %zu rows, model "
		    "%zu features)", b->rows, b->cols, max_rows,
		    model_nfeatures(m));
	if ((y = calloc(b->rows * model_noutputs(m), sizeof(*y))) == NULL)
		fuzz_fail("out of memory");
	model_predict(m, b->x, b->rows, y);
	text = oip ? infer_format_oip(m, b, y) :
	    infer_format_predict(m, y, b->rows);
	if (text == NULL)
		fuzz_fail("formatting %zu rows failed", b->rows);
	if ((doc = json_loads(text, 0, &jerr)) == NULL)
		fuzz_fail("answer is not JSON (%s): %.200s", jerr.text, text);
	json_decref(doc);
	free(text);
	free(y);
	free(b->x);
	b->x = NULL;
}
