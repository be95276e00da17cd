/*
 * test_infer_common: the models and helpers the request-format unit tests
 * share; see test_infer.h.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L	/* mkdtemp */
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "inferd/infer.h"
#include "inferd/model.h"
#include "inferd/reply.h"

#include "infer_common.h"

char			 tmpdir[] = "/tmp/test_infer.XXXXXX";
struct model		*tiny;		/* binary:logistic, "tiny" */
struct model		*tri;		/* multi:softprob, 3 classes */
struct model		*named;		/* tiny with feature names, types */


/* Write a model file in tmpdir and load it. */
struct model *
load(const char *name, const char *text)
{
	char		 path[300], err[256];
	FILE		*fp;
	struct model	*m;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return NULL;
	fputs(text, fp);
	fclose(fp);
	m = model_load(path, err, sizeof(err));
	if (m == NULL)
		fprintf(stderr, "%s\n", err);
	unlink(path);
	return m;
}

/* Make the scratch directory and load both models. */
int
setup(void **state)
{
	char	 text[2048];

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(text, sizeof(text), TINY_FMT, "[0]", STUMP("-1", "1"), "0",
	    "binary:logistic");
	if ((tiny = load("tiny.json", text)) == NULL)
		return -1;
	snprintf(text, sizeof(text), TINY_FMT, "[0,1,2]", STUMP("-1", "1")
	    "," STUMP("0", "0") "," STUMP("1", "-1"), "3", "multi:softprob");
	if ((tri = load("tri.json", text)) == NULL)
		return -1;
	snprintf(text, sizeof(text), TINY_FMT, "[0]", STUMP("-1", "1"), "0",
	    "binary:logistic");
	/* {"learner":{ NAMES TYPES ... */
	memmove(text + 12 + strlen(NAMES TYPES), text + 12,
	    strlen(text + 12) + 1);
	memcpy(text + 12, NAMES TYPES, strlen(NAMES TYPES));
	if ((named = load("named.json", text)) == NULL)
		return -1;
	return 0;
}

/* Free the models and remove the scratch directory. */
int
teardown(void **state)
{
	(void)state;
	model_free(tiny);
	model_free(tri);
	model_free(named);
	return rmdir(tmpdir);
}

/* Parse body in protocol proto; it must succeed. */
void
parse_ok(enum infer_proto proto, const char *body, const struct model *m,
    struct infer_batch *b)
{
	struct infer_error	 err;

	if (infer_parse(proto, body, strlen(body), m, 1000, b, &err) != 0)
		fail_msg("%s: %d %s", body, err.status, err.msg);
}

/* Parse body in protocol proto; it must fail with status and a message
 * holding want. */
void
parse_bad(enum infer_proto proto, const char *body, const struct model *m,
    int status, const char *want)
{
	struct infer_batch	 b;
	struct infer_error	 err;

	memset(&err, 0, sizeof(err));
	if (infer_parse(proto, body, strlen(body), m, 1000, &b, &err) != -1)
		fail_msg("accepted: %s", body);
	if (err.status != status || strstr(err.msg, want) == NULL)
		fail_msg("%s: got %d \"%s\", want %d \"%s\"", body,
		    err.status, err.msg, status, want);
	assert_null(b.x);
	if (getenv("TEST_VERBOSE") != NULL)
		fprintf(stderr, "%d %s\n", err.status, err.msg);
}

/* A formatter's text as a malloc'd string (the buffer is freed). */
char *
take(struct evbuffer *buf)
{
	size_t	 len = evbuffer_get_length(buf);
	char	*s = malloc(len + 1);

	assert_non_null(s);
	evbuffer_remove(buf, s, len);
	s[len] = '\0';
	evbuffer_free(buf);
	return s;
}

/* infer_format_predict's text. */
char *
fmt_predict(const struct model *m, const double *y, size_t rows)
{
	struct evbuffer	*buf = evbuffer_new();

	assert_int_equal(infer_format_predict(buf, m, y, rows), 0);
	return take(buf);
}

/* infer_format's text for protocol proto. */
char *
fmt(enum infer_proto proto, const struct model *m,
    const struct infer_batch *b, const double *y)
{
	struct evbuffer	*buf = evbuffer_new();

	assert_int_equal(infer_format(buf, proto, m, b, y), 0);
	return take(buf);
}

/* A metadata formatter's text. */
char *
fmt_meta(int (*f)(struct evbuffer *, const struct model *),
    const struct model *m)
{
	struct evbuffer	*buf = evbuffer_new();

	assert_int_equal(f(buf, m), 0);
	return take(buf);
}
