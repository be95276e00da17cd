/*
 * zoo_predict: load one model file with model_load_limits and predict the
 * rows of a reference file, for tests/integration/test_zoo.py to compare with
 * XGBoost's Booster.predict.
 *
 *	zoo_predict MODEL REF.json [all|best]
 *
 * REF.json is what tests/gen_zoo.py writes: {"rows": [[x or null, ...]]}.
 * Prints one JSON object: {"booster", "objective", "noutputs", "note" (the
 * early-stopping log line, or null), "predict": [[...], ...], and for a
 * classifier "labels": [each row's class label]}, each value
 * with 9 significant digits, which gives back its float32 exactly.  On a
 * load error prints the message on stderr and exits 1.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inferd/model.h"

/* Read REF.json's rows into a new array of nrows * nf floats. */
static float *
zoo_rows(const char *path, size_t nf, size_t *nrows)
{
	json_error_t	 jerr;
	json_t		*ref, *rows, *row, *v;
	float		*x;
	size_t		 r, i;

	if ((ref = json_load_file(path, 0, &jerr)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, jerr.text);
		exit(2);
	}
	rows = json_object_get(ref, "rows");
	*nrows = json_array_size(rows);
	if ((x = calloc(*nrows * nf + 1, sizeof(*x))) == NULL)
		exit(2);
	json_array_foreach(rows, r, row) {
		if (json_array_size(row) != nf) {
			fprintf(stderr, "%s: row %zu has %zu values, the model "
			    "%zu features\n", path, r, json_array_size(row),
			    nf);
			exit(2);
		}
		json_array_foreach(row, i, v)
			x[r * nf + i] = json_is_null(v) ? NAN :
			    (float)json_number_value(v);
	}
	json_decref(ref);
	return x;
}

/* Print the note as a JSON string or null. */
static void
zoo_note(const struct model *m)
{
	char	 note[512];
	json_t	*s;
	char	*text;

	if (!model_trees_note(m, note, sizeof(note))) {
		printf("null");
		return;
	}
	s = json_string(note);
	text = json_dumps(s, JSON_ENCODE_ANY);
	printf("%s", text);
	free(text);
	json_decref(s);
}

int
main(int argc, char *argv[])
{
	struct model_limits	 lim = { MODEL_DEFAULT_MAX_BYTES,
				    MODEL_DEFAULT_MAX_DEPTH, MODEL_TREES_ALL };
	struct model		*m;
	char			 err[1024];
	float			*x;
	double			*y;
	size_t			 r, k, nrows, nout, *labels;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: zoo_predict MODEL REF.json "
		    "[all|best]\n");
		return 2;
	}
	if (argc == 4 && strcmp(argv[3], "best") == 0)
		lim.trees = MODEL_TREES_BEST;
	if ((m = model_load_limits(argv[1], &lim, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	x = zoo_rows(argv[2], model_nfeatures(m), &nrows);
	nout = model_noutputs(m);
	if ((y = calloc(nrows * nout + 1, sizeof(*y))) == NULL ||
	    (labels = calloc(nrows + 1, sizeof(*labels))) == NULL)
		return 2;
	model_predict_labels(m, x, nrows, y, labels);
	printf("{\"booster\":\"%s\",\"objective\":\"%s\",\"noutputs\":%zu,"
	    "\"note\":", model_booster(m), model_objective(m), nout);
	zoo_note(m);
	printf(",\"predict\":[");
	for (r = 0; r < nrows; r++) {
		printf("%s[", r ? "," : "");
		for (k = 0; k < nout; k++)
			printf("%s%.9g", k ? "," : "", y[r * nout + k]);
		printf("]");
	}
	printf("]");
	/* a classifier: each row's class label */
	for (r = 0; model_nclasses(m) > 0 && r < nrows; r++)
		printf("%s\"%s\"", r ? "," : ",\"labels\":[",
		    model_class_label(m, labels[r]));
	printf("%s}\n", model_nclasses(m) > 0 && nrows > 0 ? "]" : "");
	free(labels);
	free(x);
	free(y);
	model_free(m);
	return 0;
}
