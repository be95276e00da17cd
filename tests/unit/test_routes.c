/*
 * test_routes: the parts of the route table that need no connection.
 * ?delay= parsing: the bounds (0 and max_delay are both allowed, a hair
 * beyond is not), the spellings strtod would take but the query must not,
 * percent-encoding, repetition and the other parameters; and the handler
 * labels the exposition counts requests by.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "inferd/routes.h"
#include "inferd/shm.h"

/* query must parse, with max, to want. */
static void
delay_is(const char *query, double max, double want)
{
	char	 why[256] = "";
	double	 d = -1;

	if (routes_parse_delay(query, max, &d, why, sizeof(why)) != 0)
		fail_msg("\"%s\" (max %g) refused: %s", query ? query : "(null)",
		    max, why);
	if (d != want)
		fail_msg("\"%s\": delay %g, want %g", query ? query : "(null)",
		    d, want);
}

/* query must be refused, with a message holding want. */
static void
delay_bad(const char *query, double max, const char *want)
{
	char	 why[256] = "";
	double	 d;

	if (routes_parse_delay(query, max, &d, why, sizeof(why)) != -1)
		fail_msg("\"%s\" (max %g) accepted: %g", query, max, d);
	if (strstr(why, want) == NULL)
		fail_msg("\"%s\": \"%s\" lacks \"%s\"", query, why, want);
}

static void
test_delay_bounds(void **state)
{
	(void)state;
	delay_is("delay=10", 10, 10);		/* max_delay itself */
	delay_is("delay=10.0", 10, 10);
	delay_is("delay=1e1", 10, 10);
	delay_is("delay=0", 10, 0);
	delay_is("delay=0.0", 10, 0);
	delay_is("delay=0.5", 0.5, 0.5);
	delay_is("delay=3600", 3600, 3600);
	delay_is("delay=0", 0, 0);		/* max_delay 0: only 0 */
	delay_bad("delay=10.000001", 10, "delay 10.000001 exceeds max_delay "
	    "(10 s)");
	delay_bad("delay=11", 10, "exceeds max_delay");
	delay_bad("delay=0.001", 0, "exceeds max_delay (0 s)");
	delay_bad("delay=-1", 10, "delay must not be negative, got \"-1\"");
	delay_bad("delay=-0.001", 10, "must not be negative");
}

static void
test_delay_spellings(void **state)
{
	(void)state;
	delay_is(NULL, 10, 0);
	delay_is("", 10, 0);
	delay_is("a=1&b=2", 10, 0);
	delay_is("a=1&delay=2&b=x", 10, 2);
	delay_is("delayed=5&delay=1", 10, 1);	/* only the exact name */
	delay_is("xdelay=5", 10, 0);
	delay_is("delay=%31%2E5", 10, 1.5);	/* percent-encoded */
	delay_bad("delay=+2", 10, "got \" 2\"");	/* + is a space */
	delay_bad("delay=", 10, "delay must be a number of seconds, got \"\"");
	delay_bad("delay=abc", 10, "delay must be a number of seconds, got "
	    "\"abc\"");
	delay_bad("delay=0x10", 10, "must be a number of seconds");
	delay_bad("delay=1%00", 10, "must be a number of seconds");
	delay_bad("delay=1 ", 10, "must be a number of seconds");
	delay_bad("delay=1..2", 10, "must be a finite number of seconds");
	delay_bad("delay=1e999", 10, "must be a finite number of seconds");
	delay_bad("delay=1&delay=2", 10, "delay given more than once");
	delay_bad("delay=1&x=y&delay=1", 10, "more than once");
}

static void
test_delay_on_error(void **state)
{
	char	 why[256];
	double	 d;

	(void)state;
	/* why is one line, for a JSON error body */
	assert_int_equal(routes_parse_delay("delay=x", 10, &d, why,
	    sizeof(why)), -1);
	assert_null(strchr(why, '\n'));
	/* a long value is cut in the message, which still fits */
	{
		char	 q[600];

		memset(q, '9', sizeof(q) - 1);
		memcpy(q, "delay=", 6);
		q[sizeof(q) - 1] = '\0';
		assert_int_equal(routes_parse_delay(q, 10, &d, why, 64), -1);
		assert_true(strlen(why) < 64);
	}
}

/* The labels are the route patterns, one per handler, and "other". */
static void
test_handler_labels(void **state)
{
	size_t	 i, j;

	(void)state;
	assert_int_equal(ROUTES_NHANDLERS, SHM_NHANDLERS);
	assert_string_equal(routes_handler_names[ROUTES_H_PREDICT],
	    "/predict");
	assert_string_equal(routes_handler_names[ROUTES_H_V2_INFER],
	    "/v2/models/{name}/infer");
	assert_string_equal(routes_handler_names[ROUTES_H_V1_PREDICT],
	    "/v1/models/{name}:predict");
	assert_string_equal(routes_handler_names[ROUTES_H_OTHER], "other");
	for (i = 0; i < ROUTES_NHANDLERS; i++) {
		assert_non_null(routes_handler_names[i]);
		assert_true(i == ROUTES_H_OTHER ||
		    routes_handler_names[i][0] == '/');
		for (j = 0; j < i; j++)
			if (strcmp(routes_handler_names[i],
			    routes_handler_names[j]) == 0)
				fail_msg("handlers %zu and %zu: both \"%s\"",
				    j, i, routes_handler_names[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_bounds),
		cmocka_unit_test(test_delay_spellings),
		cmocka_unit_test(test_delay_on_error),
		cmocka_unit_test(test_handler_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
