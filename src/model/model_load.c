/*
 * model_load: model_load's front end, from a file name to a model.
 *
 * It reads the file (a regular file, at most max_model_bytes), hashes its
 * bytes with libmd's SHA-256, and has modelfmt tell the format from the
 * bytes (XGBoost JSON or UBJSON; anything else is refused with how to
 * re-save it) and parse them into one jansson document, which model_build
 * turns into the model with every check.  Both formats share every check
 * and every message.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sha2.h>

#include "inferd/config.h"
#include "inferd/model.h"
#include "model/model_build.h"
#include "model/model_impl.h"
#include "model/modelfmt.h"
#include "inferd/readfile.h"

_Static_assert(MODEL_SHA256_HEX_LEN == SHA256_DIGEST_STRING_LENGTH,
    "struct model holds libmd's hex digest");

/* Read the whole file at e->file (a regular file of at most
 * max_model_bytes, readfile.h) into a malloc'd, NUL-terminated buffer. */
static char *
model_read_file(struct model_err *e, size_t *lenp)
{
	char	*buf, why[256];

	if ((buf = readfile(e->file, e->lim->max_bytes, "max_model_bytes",
	    lenp, why, sizeof(why))) == NULL) {
		model_fail(e, "%s%s", why, strstr(why, "not a regular file") ?
		    " (the model must be a file XGBoost saved)" : "");
		return NULL;
	}
	if (*lenp == 0) {
		model_fail(e, "file is empty (expected an XGBoost JSON, "
		    "UBJSON or binary model)");
		free(buf);
		return NULL;
	}
	return buf;
}

/* Set m->name to the base name of path without the suffix of a model
 * file, if it has one. */
static int
model_set_name(struct model *m, const char *path)
{
	static const char *const suffixes[] = { ".json", ".ubj", ".bin",
	    ".model", ".bst" };
	const char	*b = strrchr(path, '/');
	size_t		 n, i, k;

	b = b != NULL ? b + 1 : path;
	n = strlen(b);
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		k = strlen(suffixes[i]);
		if (n > k && strcmp(b + n - k, suffixes[i]) == 0) {
			n -= k;
			break;
		}
	}
	if (n == 0) {
		b = "model";
		n = 5;
	}
	if ((m->name = malloc(n + 1)) == NULL)
		return -1;
	memcpy(m->name, b, n);
	m->name[n] = '\0';
	return 0;
}

/* Load and check a model file with the default limits; see model.h. */
struct model *
model_load(const char *path, char *err, size_t errlen)
{
	return model_load_limits(path, NULL, err, errlen);
}

/* Load and check a model file; see model.h. */
struct model *
model_load_limits(const char *path, const struct model_limits *lim,
    char *err, size_t errlen)
{
	static const struct model_limits dflt = { MODEL_DEFAULT_MAX_BYTES,
	    MODEL_DEFAULT_MAX_DEPTH, MODEL_TREES_ALL };
	struct model_err	 e = { path, err, errlen,
				    lim != NULL ? lim : &dflt, NULL };
	struct model		*m;
	json_t			*root = NULL;
	char			*buf;
	size_t			 len;

	if (errlen > 0)
		err[0] = '\0';
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		model_fail(&e, "out of memory");
		return NULL;
	}
	if ((buf = model_read_file(&e, &len)) == NULL)
		goto fail;
	SHA256Data((const uint8_t *)buf, len, m->sha256);
	m->trees_mode = e.lim->trees;
	root = modelfmt_parse(buf, len, path, err, errlen);
	free(buf);
	if (root == NULL || model_build(m, root, &e) == -1)
		goto fail;
	if (model_set_name(m, path) == -1) {
		model_fail(&e, "out of memory");
		goto fail;
	}
	json_decref(root);
	return m;
fail:
	json_decref(root);
	model_free(m);
	return NULL;
}

/* The configuration's model limits; see model.h. */
struct model_limits
model_limits_config(const struct config *cfg)
{
	return (struct model_limits){
		.max_bytes = cfg->max_model_bytes,
		.max_depth = cfg->max_tree_depth,
		.trees = cfg->model_trees == CONFIG_MODEL_TREES_BEST ?
		    MODEL_TREES_BEST : MODEL_TREES_ALL,
	};
}
