/*
 * fuzz/common: what the harnesses share: the bundled model and the abort
 * of a failed oracle.
 */
#include "autoconf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
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

/* A loader's refusal names its file; see fuzz.h. */
void
fuzz_refusal_names(const char *err, const char *file)
{
	size_t	n = strlen(file);

	if (strncmp(err, file, n) != 0 || strncmp(err + n, ": ", 2) != 0)
		fuzz_fail("refused without naming %s: \"%.200s\"", file, err);
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
fuzz_check_batch(const struct model *m, enum infer_proto proto,
    struct infer_batch *b, size_t max_rows)
{
	struct evbuffer	*out;
	json_error_t	 jerr;
	json_t		*doc;
	double		*y;
	size_t		 len;
	char		*text;

	if (b->rows == 0 || b->rows > max_rows || b->x == NULL ||
	    b->cols != model_nfeatures(m) ||
	    strnlen(b->id, sizeof(b->id)) == sizeof(b->id))
		fuzz_fail("batch of %zu x %zu accepted (max %zu rows, model "
		    "%zu features)", b->rows, b->cols, max_rows,
		    model_nfeatures(m));
	if ((y = calloc(b->rows * model_noutputs(m), sizeof(*y))) == NULL ||
	    (out = evbuffer_new()) == NULL)
		fuzz_fail("out of memory");
	model_predict(m, b->x, b->rows, y);
	if (infer_format(out, proto, m, b, y) == -1)
		fuzz_fail("formatting %zu rows failed", b->rows);
	len = evbuffer_get_length(out);
	text = (char *)evbuffer_pullup(out, -1);
	if ((doc = json_loadb(text, len, 0, &jerr)) == NULL)
		fuzz_fail("answer is not JSON (%s): %.*s", jerr.text,
		    (int)(len < 200 ? len : 200), text);
	json_decref(doc);
	evbuffer_free(out);
	free(y);
	free(b->x);
	free(b->xd);
	b->x = NULL;
	b->xd = NULL;
}

/* Parse one request body and check the outcome either way. */
void
fuzz_infer(const struct model *m, enum infer_proto proto,
    const uint8_t *body, size_t len, size_t max_rows)
{
	struct infer_batch	 b;
	struct infer_error	 err;

	memset(&err, 0, sizeof(err));
	if (infer_parse(proto, (const char *)body, len, m, max_rows, &b,
	    &err) == 0)
		fuzz_check_batch(m, proto, &b, max_rows);
	else if (err.status < 400 || err.status > 499 || err.msg[0] == '\0' ||
	    strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg) ||
	    b.x != NULL)
		fuzz_fail("refused with status %d, message \"%.100s\"",
		    err.status, err.msg);
}

/*
 * Predict FUZZ_PREDICT_ROWS rows with an accepted model: a row of NaNs (every
 * default branch), a row of zeros, and rows that mix NaN, 0, -1 and 1e30.
 * The rows are predicted as one batch (the evaluator walks MODEL_LANES
 * rows side by side) and one by one: both must give the same outputs.
 */
void
fuzz_predict_rows(const struct model *m)
{
	static const float	 v[] = { NAN, 0.0f, -1.0f, 1e30f };
	size_t			 i, r, n = model_nfeatures(m);
	size_t			 k = model_noutputs(m);
	float			*x = calloc(FUZZ_PREDICT_ROWS * n + 1, sizeof(*x));
	double			*y = calloc(FUZZ_PREDICT_ROWS * k + 1, sizeof(*y));
	double			*y1 = calloc(k + 1, sizeof(*y1));

	if (k == 0)
		fuzz_fail("accepted a model of no outputs");
	if (x == NULL || y == NULL || y1 == NULL)
		fuzz_fail("out of memory for %zu features, %zu outputs", n, k);
	for (r = 0; r < FUZZ_PREDICT_ROWS; r++)
		for (i = 0; i < n; i++)
			x[r * n + i] = r == 0 ? NAN : r == 1 ? 0.0f :
			    v[(r * 7 + i * 3) % 4];
	model_predict(m, x, FUZZ_PREDICT_ROWS, y);
	for (r = 0; r < FUZZ_PREDICT_ROWS; r++) {
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
