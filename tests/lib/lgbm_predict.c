/*
 * lgbm_predict: load one LightGBM model file with model_load and predict
 * the rows of a JSON file, for tests/integration/test_lgbm.py to compare
 * with tests/lib/lgbm_ref.py.
 *
 *	lgbm_predict MODEL ROWS.json
 *
 * ROWS.json is {"rows": [[x or null, ...], ...]} (jansson reads each
 * number into the double strtod gives).  Prints one JSON object:
 * {"booster", "objective", "nfeatures", "noutputs", "names" (or null),
 * "predict", "raw", "predict_f32"}: model_predict_double's answers, the raw
 * scores, and model_predict's from the rows rounded to float32, each value
 * with 17 significant digits (exact for a double).  On a load error prints
 * the message on stderr and exits 1.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "inferd/model.h"

/* Print nrows * k values as a JSON array of rows. */
static void
lgbm_print(const char *key, const double *y, size_t nrows, size_t k)
{
	size_t	 r, i;

	printf(", \"%s\": [", key);
	for (r = 0; r < nrows; r++) {
		printf("%s[", r > 0 ? ", " : "");
		for (i = 0; i < k; i++) {
			if (isnan(y[r * k + i]))
				printf("%snull", i > 0 ? ", " : "");
			else
				printf("%s%.17g", i > 0 ? ", " : "",
				    y[r * k + i]);
		}
		printf("]");
	}
	printf("]");
}

int
main(int argc, char *argv[])
{
	json_error_t	 jerr;
	json_t		*ref, *rows, *row, *v;
	struct model	*m;
	char		 err[1024];
	double		*xd, *y;
	float		*xf;
	size_t		 r, i, nf, nr, k;

	if (argc != 3) {
		fprintf(stderr, "usage: lgbm_predict MODEL ROWS.json\n");
		return 2;
	}
	if ((m = model_load(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if ((ref = json_load_file(argv[2], 0, &jerr)) == NULL) {
		fprintf(stderr, "%s: %s\n", argv[2], jerr.text);
		return 2;
	}
	nf = model_nfeatures(m);
	k = model_noutputs(m);
	rows = json_object_get(ref, "rows");
	nr = json_array_size(rows);
	xd = calloc(nr * nf + 1, sizeof(*xd));
	xf = calloc(nr * nf + 1, sizeof(*xf));
	y = calloc(nr * k + 1, sizeof(*y));
	if (xd == NULL || xf == NULL || y == NULL)
		return 2;
	json_array_foreach(rows, r, row) {
		if (json_array_size(row) != nf) {
			fprintf(stderr, "%s: row %zu has %zu values, the model "
			    "%zu features\n", argv[2], r, json_array_size(row),
			    nf);
			return 2;
		}
		json_array_foreach(row, i, v) {
			xd[r * nf + i] = json_is_null(v) ? NAN :
			    json_number_value(v);
			xf[r * nf + i] = (float)xd[r * nf + i];
		}
	}
	printf("{\"booster\": \"%s\", \"objective\": ", model_booster(m));
	v = json_string(model_objective(m));
	json_dumpf(v, stdout, JSON_ENCODE_ANY);
	json_decref(v);
	printf(", \"nfeatures\": %zu, \"noutputs\": %zu, \"wants_double\": %d, "
	    "\"names\": ", nf, k, model_wants_double(m));
	if (model_feature_name(m, 0) == NULL)
		printf("null");
	else {
		v = json_array();
		for (i = 0; i < nf; i++)
			json_array_append_new(v,
			    json_string(model_feature_name(m, i)));
		json_dumpf(v, stdout, 0);
		json_decref(v);
	}
	model_predict_double(m, xd, nr, y, 0);
	lgbm_print("predict", y, nr, k);
	model_predict_double(m, xd, nr, y, 1);
	lgbm_print("raw", y, nr, k);
	model_predict(m, xf, nr, y);
	lgbm_print("predict_f32", y, nr, k);
	printf("}\n");
	json_decref(ref);
	free(xd);
	free(xf);
	free(y);
	model_free(m);
	return 0;
}
