/*
 * Unit tests of accesslog: the line (every field, JSON that jansson reads
 * back), the escaping of hostile bytes, the buffer, reopen and errors.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "inferd/accesslog.h"
#include "scratch.h"

static const struct accesslog_entry base = {
	.time = 1764939656.1239,	/* 2025-12-05T13:00:56.123Z */
	.client = "127.0.0.1", .port = 54321, .method = "POST",
	.path = "/predict", .pathlen = 8, .query = "delay=0.5", .querylen = 9,
	.status = 200, .bytes_in = 120, .bytes_out = 160, .rows = 3,
	.latency = 0.6123456, .read = 0.001, .wait = 0.5, .predict = 0.0001,
	.write = 0.0000004, .request_id = "req-1",
	.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736", .worker = 2,
	.model = "bc",
};

static char	line[ACCESSLOG_LINE_MAX];

/* Format e and parse the line back with jansson. */
static json_t *
roundtrip(const struct accesslog_entry *e)
{
	size_t		 len = accesslog_format(line, sizeof(line), e);
	json_error_t	 jerr;
	json_t		*j;

	assert_true(len > 0 && len <= sizeof(line));
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));	/* one line */
	j = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
	if (j == NULL)
		fail_msg("not JSON (%s): %.*s", jerr.text, (int)len, line);
	return j;
}

/* The whole line, byte for byte. */
static void
test_golden(void **state)
{
	size_t	len = accesslog_format(line, sizeof(line), &base);

	assert_string_equal(line,
	    "{\"time\":\"2025-12-05T13:00:56.123Z\",\"client\":\"127.0.0.1\","
	    "\"port\":54321,\"method\":\"POST\",\"path\":\"/predict\","
	    "\"query\":\"delay=0.5\",\"status\":200,\"bytes_in\":120,"
	    "\"bytes_out\":160,\"rows\":3,\"latency\":0.612346,"
	    "\"read\":0.001000,\"wait\":0.500000,\"predict\":0.000100,"
	    "\"write\":0.000000,\"request_id\":\"req-1\","
	    "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
	    "\"worker\":2,\"model\":\"bc\"}\n");
	assert_int_equal(len, strlen(line));
	/* No query, no trace, no client: null. */
	{
		struct accesslog_entry e = base;
		json_t *j;

		e.query = NULL;
		e.trace_id = "";
		e.client = NULL;
		j = roundtrip(&e);
		assert_true(json_is_null(json_object_get(j, "query")));
		assert_true(json_is_null(json_object_get(j, "trace_id")));
		assert_true(json_is_null(json_object_get(j, "client")));
		json_decref(j);
	}
}

/* Control characters, quotes, backslashes, DEL, bad and good UTF-8. */
static void
test_escape(void **state)
{
	static const char path[] = "/a\"b\\c\x01\x1f\n\r\t\x7f"
	    "\xff\xc3\x28\xed\xa0\x80\xc0\xaf" "caf\xc3\xa9\xf0\x9f\x98\x80";
	struct accesslog_entry	 e = base;
	json_t			*j;
	const char		*got;

	e.path = path;
	e.pathlen = sizeof(path) - 1;
	e.query = "q=\x1b[31mred\x00hidden";
	e.querylen = 17;		/* a NUL inside is escaped too */
	e.request_id = "id\"}{";
	j = roundtrip(&e);
	got = json_string_value(json_object_get(j, "path"));
	assert_non_null(got);
	assert_string_equal(got, "/a\"b\\c\x01\x1f\n\r\t\x7f"
	    "\\xff\\xc3(\\xed\\xa0\\x80\\xc0\\xaf" "caf\xc3\xa9\xf0\x9f\x98\x80");
	/* The raw line has no control byte at all. */
	for (got = line; *got != '\n'; got++)
		assert_true((unsigned char)*got >= 0x20 &&
		    (unsigned char)*got != 0x7f);
	assert_non_null(strstr(line, "\\u001b[31mred\\u0000hidden"));
	assert_string_equal(json_string_value(json_object_get(j,
	    "request_id")), "id\"}{");
	assert_null(json_object_get(j, "truncated"));
	json_decref(j);
}

/* Long fields are cut at ACCESSLOG_FIELD_MAX and say so; the worst case
 * (every byte escaped six-fold) fits. */
static void
test_truncate(void **state)
{
	struct accesslog_entry	 e = base;
	char			*big = malloc(3 * ACCESSLOG_FIELD_MAX);
	json_t			*j;

	assert_non_null(big);
	memset(big, 0x01, 3 * ACCESSLOG_FIELD_MAX);
	e.path = big;
	e.pathlen = 3 * ACCESSLOG_FIELD_MAX;
	e.query = big;
	e.querylen = 3 * ACCESSLOG_FIELD_MAX;
	j = roundtrip(&e);
	assert_int_equal(strlen(json_string_value(json_object_get(j, "path"))),
	    ACCESSLOG_FIELD_MAX);
	assert_true(json_is_true(json_object_get(j, "truncated")));
	json_decref(j);
	free(big);
	/* Too small a buffer: nothing. */
	assert_int_equal(accesslog_format(line, 100, &base), 0);
}

/* Lines of a file, counted; each parses. */
static size_t
count_lines(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	 buf[ACCESSLOG_LINE_MAX + 1];
	size_t	 n = 0;

	if (f == NULL)
		return 0;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		json_t *j = json_loads(buf, 0, NULL);

		assert_non_null(j);
		json_decref(j);
		n++;
	}
	fclose(f);
	return n;
}

/* Buffered lines reach the file on flush, or when the buffer is full. */
static void
test_buffer(void **state)
{
	char			 path[PATH_MAX], err[256];
	struct accesslog	*al;
	size_t			 i, per;

	snprintf(path, sizeof(path), "%s/access.log", scratch_dir);
	al = accesslog_open(path, ACCESSLOG_LINE_MAX * 2, err, sizeof(err));
	assert_non_null(al);
	assert_int_equal(accesslog_add(al, &base), 0);
	assert_int_equal(count_lines(path), 0);		/* buffered */
	assert_int_equal(accesslog_flush(al), 0);
	assert_int_equal(count_lines(path), 1);
	assert_int_equal(accesslog_flush(al), 0);	/* nothing left */
	/* Fill the buffer: it is written when the next line cannot fit. */
	per = accesslog_format(line, sizeof(line), &base);
	for (i = 0; accesslog_pending(al) + ACCESSLOG_LINE_MAX <=
	    ACCESSLOG_LINE_MAX * 2; i++)
		assert_int_equal(accesslog_add(al, &base), 0);
	assert_int_equal(count_lines(path), 1);
	assert_int_equal(accesslog_add(al, &base), 0);
	assert_int_equal(count_lines(path), 1 + i);
	assert_int_equal(accesslog_pending(al), per);
	accesslog_close(al);				/* flushes */
	assert_int_equal(count_lines(path), 2 + i);
	unlink(path);
}

/* Unbuffered (size 0): each line at once. */
static void
test_unbuffered(void **state)
{
	char			 path[PATH_MAX], err[256];
	struct accesslog	*al;

	snprintf(path, sizeof(path), "%s/direct.log", scratch_dir);
	al = accesslog_open(path, 0, err, sizeof(err));
	assert_non_null(al);
	assert_int_equal(accesslog_add(al, &base), 0);
	assert_int_equal(count_lines(path), 1);
	assert_int_equal(accesslog_pending(al), 0);
	accesslog_close(al);
	unlink(path);
}

/* Reopen after a rename: old lines in the old file, new in the new. */
static void
test_reopen(void **state)
{
	char			 path[PATH_MAX], old[PATH_MAX + 4], err[256];
	struct accesslog	*al;

	snprintf(path, sizeof(path), "%s/rot.log", scratch_dir);
	snprintf(old, sizeof(old), "%s.1", path);
	al = accesslog_open(path, ACCESSLOG_LINE_MAX, err, sizeof(err));
	assert_non_null(al);
	assert_int_equal(accesslog_add(al, &base), 0);
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(accesslog_reopen(al), 0);	/* flushes first */
	assert_int_equal(accesslog_add(al, &base), 0);
	assert_int_equal(accesslog_add(al, &base), 0);
	accesslog_close(al);
	assert_int_equal(count_lines(old), 1);
	assert_int_equal(count_lines(path), 2);
	unlink(path);
	unlink(old);
}

/* A file that cannot be opened is an error at open; a write that fails
 * (/dev/full) is -1, never fatal, and the writer goes on. */
static void
test_errors(void **state)
{
	char			 path[PATH_MAX], err[256];
	struct accesslog	*al;

	snprintf(path, sizeof(path), "%s/no/such/dir/x.log", scratch_dir);
	assert_null(accesslog_open(path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
	al = accesslog_open("/dev/full", 0, err, sizeof(err));
	assert_non_null(al);
	assert_int_equal(accesslog_add(al, &base), -1);
	assert_int_equal(accesslog_add(al, &base), -1);
	accesslog_close(al);
	al = accesslog_open("/dev/full", ACCESSLOG_LINE_MAX, err, sizeof(err));
	assert_non_null(al);
	assert_int_equal(accesslog_add(al, &base), 0);	/* buffered */
	assert_int_equal(accesslog_flush(al), -1);
	assert_int_equal(accesslog_pending(al), 0);	/* dropped */
	accesslog_close(al);
}

/*
 * On a pipe, a buffer larger than PIPE_BUF goes out in writes of whole
 * lines: the reader sees lines only, as each write is atomic.
 */
static void
test_pipe(void **state)
{
	struct accesslog	*al;
	char			 err[256], *buf;
	int			 fds[2], saved;
	size_t			 i, n = 0, len = 0, per;
	ssize_t			 r;

	assert_int_equal(pipe(fds), 0);
	assert_true(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
	saved = dup(STDERR_FILENO);
	assert_int_equal(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
	al = accesslog_open("stderr", ACCESSLOG_LINE_MAX * 2, err,
	    sizeof(err));
	assert_non_null(al);
	per = accesslog_format(line, sizeof(line), &base);
	for (i = 0; i < 20; i++)
		assert_int_equal(accesslog_add(al, &base), 0);
	assert_int_equal(accesslog_flush(al), 0);
	accesslog_close(al);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	buf = malloc(65536);
	assert_non_null(buf);
	while ((r = read(fds[0], buf + len, 65536 - len)) > 0) {
		/* Every read of a pipe ends a line. */
		len += (size_t)r;
		assert_int_equal(buf[len - 1], '\n');
	}
	for (i = 0; i < len; i++)
		n += buf[i] == '\n';
	assert_int_equal(n, 20);
	assert_int_equal(len, 20 * per);
	close(fds[0]);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_buffer),
		cmocka_unit_test(test_unbuffered),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_pipe),
	};

	return cmocka_run_group_tests(tests, scratch_setup, scratch_cleanup);
}
