/*
 * model_load: model_load's front end, from a file name to a model.
 *
 * It reads the file (bounded by MODEL_MAX_FILE_BYTES), hashes its bytes
 * with libmd's SHA-256, finds the format from the bytes and parses them
 * into a jansson document, which model_build turns into the model with
 * every check.  A new format is one more row in model_formats: a test on
 * the first bytes and a decoder to the same jansson document (UBJSON's
 * types all have a jansson counterpart), so it shares every check and
 * every message with XGBoost JSON.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sha2.h>

#include "inferd/model.h"
#include "inferd/model_build.h"
#include "inferd/model_impl.h"

_Static_assert(MODEL_SHA256_HEX_LEN == SHA256_DIGEST_STRING_LENGTH,
    "struct model holds libmd's hex digest");

/* A model file format: whether the bytes are in it, and how to parse them
 * into a document for model_build (NULL with e filled on failure). */
struct model_format {
	const char	*name;
	int		 (*detect)(const char *, size_t);
	json_t		*(*parse)(struct model_err *, const char *, size_t);
};

/* XGBoost JSON is what anything else is taken for: its parse error is the
 * most useful message for a file that is no model at all. */
static int
model_json_detect(const char *buf, size_t len)
{
	(void)buf;
	(void)len;
	return 1;
}

/* Parse JSON text; fail naming the line and column of the first error. */
static json_t *
model_json_parse(struct model_err *e, const char *buf, size_t len)
{
	json_error_t	 jerr;
	json_t		*root;

	if ((root = json_loadb(buf, len, 0, &jerr)) != NULL)
		return root;
	if (json_error_code(&jerr) == json_error_premature_end_of_input)
		model_fail(e, "line %d, column %d: truncated JSON (%s)",
		    jerr.line, jerr.column, jerr.text);
	else
		model_fail(e, "line %d, column %d: not valid JSON: %s",
		    jerr.line, jerr.column, jerr.text);
	return NULL;
}

/* The formats, tried in order; the last one takes any bytes. */
static const struct model_format model_formats[] = {
	{ "XGBoost JSON",	model_json_detect,	model_json_parse },
};

/* Parse buf in the first format that claims it. */
static json_t *
model_parse(struct model_err *e, const char *buf, size_t len)
{
	size_t	 i, n = sizeof(model_formats) / sizeof(model_formats[0]);

	for (i = 0; i < n - 1; i++)
		if (model_formats[i].detect(buf, len))
			break;
	return model_formats[i].parse(e, buf, len);
}

/* Read the whole file at e->file into a malloc'd, NUL-terminated buffer. */
static char *
model_read_file(struct model_err *e, size_t *lenp)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len, off;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(e->file, O_RDONLY)) == -1) {
		model_fail(e, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		model_fail(e, "fstat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		model_fail(e, "not a regular file");
		goto out;
	}
	if ((unsigned long long)st.st_size > MODEL_MAX_FILE_BYTES) {
		model_fail(e, "file is %lld bytes, more than the limit of %zu",
		    (long long)st.st_size, MODEL_MAX_FILE_BYTES);
		goto out;
	}
	len = (size_t)st.st_size;
	if (len == 0) {
		model_fail(e, "file is empty (expected an XGBoost JSON model)");
		goto out;
	}
	if ((buf = malloc(len + 1)) == NULL) {
		model_fail(e, "out of memory for %zu bytes", len);
		goto out;
	}
	for (off = 0; off < len; off += (size_t)n) {
		n = read(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			model_fail(e, "read: %s", n == 0 ?
			    "file shrank while reading" : strerror(errno));
			free(buf);
			buf = NULL;
			goto out;
		}
	}
	buf[len] = '\0';
	*lenp = len;
out:
	close(fd);
	return buf;
}

/* Set m->name to the base name of path without a ".json" suffix. */
static int
model_set_name(struct model *m, const char *path)
{
	const char	*b = strrchr(path, '/');
	size_t		 n;

	b = b != NULL ? b + 1 : path;
	n = strlen(b);
	if (n > 5 && strcmp(b + n - 5, ".json") == 0)
		n -= 5;
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

/* Load and check a model file; see model.h. */
struct model *
model_load(const char *path, char *err, size_t errlen)
{
	struct model_err	 e = { path, err, errlen };
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
	root = model_parse(&e, buf, len);
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
