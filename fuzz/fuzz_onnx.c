/*
 * fuzz_onnx: the ONNX loader on arbitrary bytes, as model_load sees a
 * file that looks like an ONNX model.  protobuf-c parses the ModelProto,
 * model_onnx_build checks the graph and the ensemble and lays it out, the
 * evaluator predicts with whatever model was accepted, with labels.
 * Oracles: a refusal comes with a message that names the file; a row
 * predicts the same alone and in a batch; a label is below the class
 * count.
 *
 * White-box, as fuzz_model: the caller provides the zeroed struct model
 * and the error sink.
 */
#include "autoconf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/model.h"
#include "model/model_impl.h"
#include "model/model_onnx.h"
#include "fuzz.h"

#define FUZZ_NAME	"fuzz.onnx"
#define FUZZ_ROWS	17	/* a block of MODEL_LANES and one row more */

/* Nothing to share. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Predict FUZZ_ROWS rows (NaN, 0, and a mix of NaN, 0, -1, 1e30, 2) in
 * a batch and one by one: both must agree, labels in range. */
static void
fuzz_predict(const struct model *m)
{
	static const float	 v[] = { NAN, 0.0f, -1.0f, 1e30f, 2.0f };
	size_t			 i, r, n = model_nfeatures(m);
	size_t			 k = model_noutputs(m), lab1[1];
	float			*x = calloc(FUZZ_ROWS * n + 1, sizeof(*x));
	double			*y = calloc(FUZZ_ROWS * k + 1, sizeof(*y));
	double			*y1 = calloc(k + 1, sizeof(*y1));
	size_t			*lab = calloc(FUZZ_ROWS, sizeof(*lab));

	if (k == 0)
		fuzz_fail("accepted a model of no outputs");
	if (x == NULL || y == NULL || y1 == NULL || lab == NULL)
		fuzz_fail("out of memory for %zu features, %zu outputs", n, k);
	for (r = 0; r < FUZZ_ROWS; r++)
		for (i = 0; i < n; i++)
			x[r * n + i] = r == 0 ? NAN : r == 1 ? 0.0f :
			    v[(r * 7 + i * 3) % 5];
	model_predict_labels(m, x, FUZZ_ROWS, y, lab);
	for (r = 0; r < FUZZ_ROWS; r++) {
		if (model_nclasses(m) > 0 && lab[r] >= model_nclasses(m))
			fuzz_fail("row %zu: label %zu of %zu classes", r,
			    lab[r], model_nclasses(m));
		model_predict_labels(m, x + r * n, 1, y1, lab1);
		if (lab1[0] != lab[r])
			fuzz_fail("row %zu: label %zu in a batch, %zu alone",
			    r, lab[r], lab1[0]);
		for (i = 0; i < k; i++)
			if (memcmp(&y[r * k + i], &y1[i], sizeof(*y1)) != 0 &&
			    !(isnan(y[r * k + i]) && isnan(y1[i])))
				fuzz_fail("row %zu output %zu: %.9g in a batch, "
				    "%.9g alone", r, i, y[r * k + i], y1[i]);
	}
	for (i = 0; i < model_nclasses(m); i++)
		if (model_class_label(m, i) == NULL)
			fuzz_fail("class %zu has no label", i);
	free(x);
	free(y);
	free(y1);
	free(lab);
}

/* The input is the bytes of an ONNX file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model_limits	 lim = { MODEL_DEFAULT_MAX_BYTES,
				    MODEL_DEFAULT_MAX_DEPTH, MODEL_TREES_ALL };
	struct model_err	 e;
	struct model		*m;
	char			 err[512];

	(void)model_onnx_sniff(data, size);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		fuzz_fail("out of memory");
	err[0] = '\0';
	e = (struct model_err){ .file = FUZZ_NAME, .buf = err,
	    .len = sizeof(err), .lim = &lim };
	if (model_onnx_build(m, data, size, &e) == 0) {
		if ((m->name = strdup("fuzz")) == NULL)
			fuzz_fail("out of memory");
		fuzz_predict(m);
	} else
		fuzz_refusal_names(err, FUZZ_NAME);
	model_free(m);
	return 0;
}
