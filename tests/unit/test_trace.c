/* Unit tests of trace: request IDs kept or made, traceparent parsing. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inferd/trace.h"

/* Which incoming X-Request-Id values are kept. */
static void
test_reqid_valid(void **state)
{
	char	long_id[TRACE_REQID_MAX + 2];

	assert_true(trace_reqid_valid("abc-123", 7, 64));
	assert_true(trace_reqid_valid("a\"b\\c{}", 7, 64));	/* escaped */
	assert_true(trace_reqid_valid("x", 1, 1));
	assert_false(trace_reqid_valid("", 0, 64));
	assert_false(trace_reqid_valid(NULL, 0, 64));
	assert_false(trace_reqid_valid("ab", 2, 1));		/* too long */
	assert_false(trace_reqid_valid("a b", 3, 64));		/* space */
	assert_false(trace_reqid_valid("a\tb", 3, 64));
	assert_false(trace_reqid_valid("a\r\nSet-Cookie: x", 16, 64));
	assert_false(trace_reqid_valid("a\x7f", 2, 64));
	assert_false(trace_reqid_valid("caf\xc3\xa9", 5, 64));	/* UTF-8 */
	assert_false(trace_reqid_valid("a\0b", 3, 64));
	memset(long_id, 'a', sizeof(long_id));
	assert_true(trace_reqid_valid(long_id, TRACE_REQID_MAX,
	    TRACE_REQID_MAX));
	/* The key's bound cannot raise the hard limit. */
	assert_false(trace_reqid_valid(long_id, TRACE_REQID_MAX + 1, 1000));
}

/* IDs made: printable, short, distinct within and across generators. */
static void
test_reqid_gen(void **state)
{
	struct trace_gen	g1, g2;
	char			a[TRACE_REQID_LEN], b[TRACE_REQID_LEN];
	char			c[TRACE_REQID_LEN];
	size_t			len;
	int			i;

	trace_gen_init(&g1, 3);
	trace_gen_init(&g2, 3);		/* a respawn of the same worker */
	len = trace_gen_next(&g1, a);
	assert_int_equal(len, strlen(a));
	assert_true(trace_reqid_valid(a, len, TRACE_REQID_MAX));
	assert_non_null(strstr(a, "-3-1"));
	trace_gen_next(&g1, b);
	assert_string_not_equal(a, b);
	trace_gen_next(&g2, c);
	/* Same worker, same counter, another process's random part. */
	assert_string_not_equal(a, c);
	for (i = 0; i < 100000; i++)
		len = trace_gen_next(&g1, b);
	assert_true(len < TRACE_REQID_LEN);
	/* The counter at its largest still fits. */
	g1.next = UINT64_MAX;
	trace_gen_init(&g1, 99999);
	g1.next = UINT64_MAX;
	len = trace_gen_next(&g1, b);
	assert_true(len < TRACE_REQID_LEN);
	assert_true(trace_reqid_valid(b, len, TRACE_REQID_MAX));
}

/* W3C Trace Context: what is accepted and what is ignored. */
static void
test_traceparent(void **state)
{
	static const char *const bad[] = {
		"",
		"00",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
		/* uppercase hex */
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		/* all-zero trace ID, parent ID */
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		/* version ff */
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		/* version 00 with more */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx",
		/* wrong separators, non-hex, injections */
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\n",
		"00-4bf92f3577b34da\"}a3ce929d0e0e4736-00f067aa0ba902b7-01",
		" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		/* a future version must continue with '-' */
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
	};
	char	id[TRACE_ID_LEN], huge[TRACE_TRACEPARENT_MAX + 10];
	size_t	i;

	assert_int_equal(trace_parse_traceparent(
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", id), 0);
	assert_string_equal(id, "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_int_equal(trace_parse_traceparent(
	    "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-"
	    "ever", id), 0);
	assert_string_equal(id, "4bf92f3577b34da6a3ce929d0e0e4736");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(id, "junk", 5);
		assert_int_equal(trace_parse_traceparent(bad[i], id), -1);
		assert_string_equal(id, "");
	}
	assert_int_equal(trace_parse_traceparent(NULL, id), -1);
	memset(huge, 'a', sizeof(huge));
	memcpy(huge, "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
	    56);
	huge[sizeof(huge) - 1] = '\0';
	assert_int_equal(trace_parse_traceparent(huge, id), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reqid_valid),
		cmocka_unit_test(test_reqid_gen),
		cmocka_unit_test(test_traceparent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
