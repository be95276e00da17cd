/*
 * test_http_parse: the strict HTTP/1.1 parser (http_parse.h): heads that
 * must be accepted and how they are read, every framing ambiguity RFC 9112
 * asks a server to refuse, the head scanner fed byte by byte, and the
 * chunk-size parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/http_parse.h"

static struct http_header	 hdrs[64];
static char			 buf[8192];
static const char		*why;

/* Parse the head s (which must be complete); returns the status. */
static int
parse(const char *s, struct http_head *h)
{
	size_t	from = 0, n = strlen(s), end;

	assert_true(n < sizeof(buf));
	memcpy(buf, s, n + 1);
	end = http_head_end(buf, n, &from);
	assert_int_not_equal(end, 0);
	why = NULL;
	return http_parse_head(buf, end, h, hdrs, 64, &why);
}

/* s must be refused with status and a reason containing want. */
static void
refused(const char *s, int status, const char *want)
{
	struct http_head	h;
	int			rc = parse(s, &h);

	if (rc != status)
		fail_msg("%d instead of %d for %s", rc, status, s);
	assert_non_null(why);
	if (strstr(why, want) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", why, want);
}

static void
test_get(void **state)
{
	struct http_head	h;

	assert_int_equal(parse("GET /predict?delay=1&x=2 HTTP/1.1\r\n"
	    "Host: x\r\nAccept:  text/plain  \r\n\r\n", &h), 0);
	assert_int_equal(h.method, HTTP_M_GET);
	assert_string_equal(h.path, "/predict");
	assert_string_equal(h.query, "delay=1&x=2");
	assert_int_equal(h.minor, 1);
	assert_int_equal(h.framing, HTTP_BODY_NONE);
	assert_int_equal(h.close, 0);
	assert_string_equal(http_head_find(&h, "accept"), "text/plain");
	assert_null(http_head_find(&h, "Content-Length"));
}

static void
test_forms(void **state)
{
	struct http_head	h;

	/* Bare LF line ends, HTTP/1.0 closes unless keep-alive. */
	assert_int_equal(parse("GET / HTTP/1.0\n\n", &h), 0);
	assert_int_equal(h.close, 1);
	assert_int_equal(parse("GET / HTTP/1.0\nConnection: Keep-Alive\n\n",
	    &h), 0);
	assert_int_equal(h.close, 0);
	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: x, close\r\n"
	    "\r\n", &h), 0);
	assert_int_equal(h.close, 1);
	/* absolute-form */
	assert_int_equal(parse("GET http://h:1/v2/x?y HTTP/1.1\r\n\r\n", &h),
	    0);
	assert_string_equal(h.path, "/v2/x");
	assert_string_equal(h.query, "y");
	assert_int_equal(parse("GET http://h HTTP/1.1\r\n\r\n", &h), 0);
	assert_string_equal(h.path, "/");
	/* Unknown methods are tokens: routed, then 405. */
	assert_int_equal(parse("BREW / HTTP/1.1\r\n\r\n", &h), 0);
	assert_int_equal(h.method, HTTP_M_OTHER);
	assert_int_equal(parse("HEAD / HTTP/1.1\r\n\r\n", &h), 0);
	assert_int_equal(h.method, HTTP_M_HEAD);
	assert_int_equal(parse("OPTIONS * HTTP/1.1\r\n\r\n", &h), 0);
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
	    &h), 0);
	assert_int_equal(h.framing, HTTP_BODY_NONE);
	assert_int_equal(parse("POST / HTTP/1.1\r\nExpect: 100-continue\r\n"
	    "Content-Length: 12\r\n\r\n", &h), 0);
	assert_int_equal(h.framing, HTTP_BODY_LENGTH);
	assert_int_equal(h.length, 12);
	assert_int_equal(h.expect_continue, 1);
	assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked"
	    "\r\n\r\n", &h), 0);
	assert_int_equal(h.framing, HTTP_BODY_CHUNKED);
}

static void
test_framing_refused(void **state)
{
	refused("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n"
	    "\r\n", 400, "more than one Content-Length");
	refused("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n"
	    "\r\n", 400, "more than one Content-Length");
	refused("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n", 400,
	    "decimal");
	refused("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n", 400, "Content-Length together with");
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	    400, "exactly chunked");
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n"
	    "\r\n", 400, "exactly chunked");
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400, "more than one");
	refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
	    "HTTP/1.0");
	refused("POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", 400,
	    "whitespace between");
	refused("POST / HTTP/1.1\r\nContent-Length\t: 1\r\n\r\n", 400,
	    "whitespace between");
	refused("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold");
	refused("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", 400, "obs-fold");
	refused("POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n", 400,
	    "decimal");
	refused("POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400,
	    "decimal");
	refused("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400,
	    "decimal");
	refused("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", 400,
	    "decimal");
	refused("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999"
	    "\r\n\r\n", 400, "decimal");
	refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
	    "more than one Host");
}

static void
test_malformed(void **state)
{
	refused("GARBAGE\r\n\r\n", 400, "request line");
	refused("GET  / HTTP/1.1\r\n\r\n", 400, "target");
	refused("GET / HTTP/1.1 \r\n\r\n", 400, "version");
	refused("GET / HTTP/2.0\r\n\r\n", 505, "not supported");
	refused("GET / http/1.1\r\n\r\n", 400, "version");
	refused("GET predict HTTP/1.1\r\n\r\n", 400, "start with /");
	refused("GET /#frag HTTP/1.1\r\n\r\n", 400, "fragment");
	refused("GET / HTTP/1.1\r\nBadHeader\r\n\r\n", 400, "malformed");
	refused("GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400, "whitespace");
	refused("GET / HTTP/1.1\r\n: empty\r\n\r\n", 400, "malformed");
	refused("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400, "bare CR");
	refused("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", 400, "control");
	refused("GET /\x7f HTTP/1.1\r\n\r\n", 400, "target");
}

static void
test_head_end_trickled(void **state)
{
	static const char	head[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET";
	size_t			from = 0, n, end = 0;

	for (n = 1; n <= sizeof(head) - 1 && end == 0; n++)
		end = http_head_end(head, n, &from);
	assert_int_equal(end, strlen("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
	from = 0;
	assert_int_equal(http_head_end("GET / HTTP/1.1\n\nx", 17, &from), 16);
	from = 0;
	assert_int_equal(http_head_end("GET / HTTP/1.1\r\n", 16, &from), 0);
}

static void
test_chunk_size(void **state)
{
	uint64_t	n;

	assert_int_equal(http_parse_chunk_size("1e", 2, &n, &why), 0);
	assert_int_equal(n, 30);
	assert_int_equal(http_parse_chunk_size("1E;name=val", 11, &n, &why),
	    0);
	assert_int_equal(n, 30);
	assert_int_equal(http_parse_chunk_size("0", 1, &n, &why), 0);
	assert_int_equal(n, 0);
	assert_int_equal(http_parse_chunk_size("0x1e", 4, &n, &why), -1);
	assert_int_equal(http_parse_chunk_size("+1e", 3, &n, &why), -1);
	assert_int_equal(http_parse_chunk_size(" 1e", 3, &n, &why), -1);
	assert_int_equal(http_parse_chunk_size("1e ", 3, &n, &why), -1);
	assert_int_equal(http_parse_chunk_size("", 0, &n, &why), -1);
	assert_int_equal(http_parse_chunk_size("ffffffffffffffff1", 17, &n,
	    &why), -1);
	assert_int_equal(http_parse_chunk_size("1;a\x01", 4, &n, &why), -1);
}

static void
test_list_has(void **state)
{
	assert_true(http_list_has("close", "close"));
	assert_true(http_list_has("keep-alive, Close", "close"));
	assert_false(http_list_has("closed", "close"));
	assert_false(http_list_has("", "close"));
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_framing_refused),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_head_end_trickled),
		cmocka_unit_test(test_chunk_size),
		cmocka_unit_test(test_list_has),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
