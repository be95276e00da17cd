/*
 * test_routes: the parts of the route table that need no connection.
 * ?delay= parsing: the bounds (0 and max_delay are both allowed, a hair
 * beyond is not), the spellings strtod would take but the query must not,
 * percent-encoding, repetition and the other parameters; the route
 * lookup (exact paths, {name} and {version}, what is 404); and the handler
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

#include "inferd/model.h"
#include "inferd/routes.h"
#include "inferd/shm.h"

#include "infer_common.h"

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

/* path must route to handler h, matched as how (routes.h). */
static void
route_is(const char *path, enum routes_handler h, int how)
{
	int	 got_how = 99;
	enum routes_handler got = routes_lookup(tiny, path, &got_how);

	if (got != h || got_how != how)
		fail_msg("%s: handler %s (how %d), want %s (how %d)", path,
		    routes_handler_names[got], got_how, routes_handler_names[h],
		    how);
}

static void
test_route_lookup(void **state)
{
	char	 v[64], p[128];

	(void)state;
	/* the model's version: the first 12 hex digits of its SHA-256 */
	snprintf(v, sizeof(v), "%.12s", model_sha256(tiny));
	route_is("/predict", ROUTES_H_PREDICT, 0);
	route_is("/healthz", ROUTES_H_HEALTHZ, 0);
	route_is("/v2", ROUTES_H_V2_SERVER, 0);
	route_is("/v2/", ROUTES_H_V2_SERVER, 0);
	route_is("/v2/health/live", ROUTES_H_V2_LIVE, 0);
	route_is("/v2/health/ready", ROUTES_H_V2_READY, 0);
	route_is("/v2/models/tiny", ROUTES_H_V2_MODEL, 0);
	route_is("/v2/models/tiny/ready", ROUTES_H_V2_MODEL_READY, 0);
	route_is("/v2/models/tiny/infer", ROUTES_H_V2_INFER, 0);
	route_is("/v2/models/t%69ny/infer", ROUTES_H_V2_INFER, 0);
	route_is("/v1/models/tiny", ROUTES_H_V1_MODEL, 0);
	route_is("/v1/models/tiny:predict", ROUTES_H_V1_PREDICT, 0);
	snprintf(p, sizeof(p), "/v2/models/tiny/versions/%s", v);
	route_is(p, ROUTES_H_V2_VERSION, 0);
	snprintf(p, sizeof(p), "/v2/models/tiny/versions/%s/ready", v);
	route_is(p, ROUTES_H_V2_VERSION_READY, 0);
	snprintf(p, sizeof(p), "/v2/models/tiny/versions/%s/infer", v);
	route_is(p, ROUTES_H_V2_VERSION_INFER, 0);
	/* another model, another version: the route's handler, then 404 */
	route_is("/v2/models/other/infer", ROUTES_H_V2_INFER, 1);
	route_is("/v2/models/tin/infer", ROUTES_H_V2_INFER, 1);
	route_is("/v2/models/tinyy/infer", ROUTES_H_V2_INFER, 1);
	route_is("/v1/models/other:predict", ROUTES_H_V1_PREDICT, 1);
	route_is("/v2/models/tiny/versions/000000000000/infer",
	    ROUTES_H_V2_VERSION_INFER, 2);
	/* no route */
	route_is("/", ROUTES_H_OTHER, -1);
	route_is("/predict/", ROUTES_H_OTHER, -1);
	route_is("/predictx", ROUTES_H_OTHER, -1);
	route_is("/PREDICT", ROUTES_H_OTHER, -1);
	route_is("/v2/models/", ROUTES_H_OTHER, -1);
	route_is("/v2/models//infer", ROUTES_H_OTHER, -1);
	route_is("/v2/models/a/b/infer", ROUTES_H_OTHER, -1);
	route_is("/v2/models/tiny/versions//infer", ROUTES_H_OTHER, -1);
	route_is("/v2/models/tiny/infer/x", ROUTES_H_OTHER, -1);
	route_is("/v1/models/:predict", ROUTES_H_V1_MODEL, 1);	/* name ":predict" */
	route_is("/metrics", ROUTES_H_OTHER, -1);
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
		cmocka_unit_test(test_route_lookup),
		cmocka_unit_test(test_handler_labels),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
