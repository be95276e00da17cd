/* Unit tests of config: defaults, parsing, every error's wording. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "inferd/config.h"
#include "inferd/log.h"

static void
test_defaults(void **state)
{
	struct config	cfg;

	config_defaults(&cfg);
	assert_string_equal(cfg.listen.host, "0.0.0.0");
	assert_string_equal(cfg.listen.port, "8000");
	assert_string_equal(cfg.metrics_listen.port, "9180");
	assert_int_equal(cfg.workers, 0);
	assert_int_equal(cfg.max_body_bytes, 1048576);
	assert_int_equal(cfg.max_batch_rows, 1000);
	assert_int_equal(cfg.max_connections, 8192);
	assert_int_equal(cfg.backlog, 4096);
	assert_true(cfg.max_delay == 10);
	assert_int_equal(cfg.nbuckets, 12);
	assert_true(cfg.buckets[8] == 1.0);	/* the SLO threshold */
	assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
}

static void
test_parse_file(void **state)
{
	struct config	cfg;
	char		err[256] = "";
	const char	*text =
	    "# a comment\n"
	    "\n"
	    "  listen = 127.0.0.1:8080   # trailing comment\n"
	    "metrics_listen=[::1]:0\n"
	    "workers = 4\n"
	    "max_delay = 2.5\n"
	    "buckets = 0.1, 0.5 ,1.0,2\n"
	    "log_level = debug";	/* no final newline */

	config_defaults(&cfg);
	assert_int_equal(config_parse(&cfg, text, "t.conf", err, sizeof(err)),
	    0);
	assert_string_equal(cfg.listen.host, "127.0.0.1");
	assert_string_equal(cfg.listen.port, "8080");
	assert_string_equal(cfg.metrics_listen.host, "::1");
	assert_string_equal(cfg.metrics_listen.port, "0");
	assert_int_equal(cfg.workers, 4);
	assert_true(cfg.max_delay == 2.5);
	assert_int_equal(cfg.nbuckets, 4);
	assert_true(cfg.buckets[3] == 2.0);
	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
}

/* Each bad line and the exact message it must produce. */
static const struct {
	const char	*text;
	const char	*msg;
} bad[] = {
	{ "workers = 2\nworkers = lots\n",
	    "t.conf:2: workers: 'lots' is not an integer from 0 to 256" },
	{ "workers = 257\n",
	    "t.conf:1: workers: '257' is not an integer from 0 to 256" },
	{ "workers = 1.5\n",
	    "t.conf:1: workers: '1.5' is not an integer from 0 to 256" },
	{ "colour = blue\n", "t.conf:1: unknown key 'colour'" },
	{ "just words\n", "t.conf:1: expected 'key = value', found 'just "
	    "words'" },
	{ "= 3\n", "t.conf:1: missing key before '='" },
	{ "listen = 8000\n", "t.conf:1: listen: '8000' is not ADDRESS:PORT "
	    "(port 0-65535; IPv6 as [::1]:PORT)" },
	{ "listen = host:65536\n", "t.conf:1: listen: 'host:65536' is not "
	    "ADDRESS:PORT (port 0-65535; IPv6 as [::1]:PORT)" },
	{ "listen = host:1e3\n", "t.conf:1: listen: 'host:1e3' is not "
	    "ADDRESS:PORT (port 0-65535; IPv6 as [::1]:PORT)" },
	{ "listen = host:80.0\n", "t.conf:1: listen: 'host:80.0' is not "
	    "ADDRESS:PORT (port 0-65535; IPv6 as [::1]:PORT)" },
	{ "listen = ::1:80\n", "t.conf:1: listen: '::1:80' is not "
	    "ADDRESS:PORT (port 0-65535; IPv6 as [::1]:PORT)" },
	{ "max_delay = -1\n", "t.conf:1: max_delay: '-1' is not a number of "
	    "seconds from 0 to 3600" },
	{ "max_delay = nan\n", "t.conf:1: max_delay: 'nan' is not a number "
	    "of seconds from 0 to 3600" },
	{ "max_delay = inf\n", "t.conf:1: max_delay: 'inf' is not a number "
	    "of seconds from 0 to 3600" },
	{ "max_body_bytes = 0\n", "t.conf:1: max_body_bytes: '0' is not an "
	    "integer from 1 to 1073741824" },
	{ "buckets = 1, 0.5\n", "t.conf:1: buckets: bounds must increase: "
	    "0.5 after 1" },
	{ "buckets = 0.1,,0.2\n", "t.conf:1: buckets: '' is not a positive "
	    "number" },
	{ "buckets = -1\n", "t.conf:1: buckets: '-1' is not a positive "
	    "number" },
	{ "buckets =\n", "t.conf:1: buckets: no bounds given" },
	{ "log_level = loud\n", "t.conf:1: log_level: 'loud' is not one of "
	    "error, warn, info, debug" },
	{ "model =\n", "t.conf:1: model: empty path" },
};

static void
test_errors(void **state)
{
	struct config	cfg;
	char		err[256];
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_defaults(&cfg);
		err[0] = '\0';
		assert_int_equal(config_parse(&cfg, bad[i].text, "t.conf", err,
		    sizeof(err)), -1);
		assert_string_equal(err, bad[i].msg);
	}
}

/* Integers are decimal digits (libbsd's strtonum): no hex, exponent or
 * fraction, no white space inside the value; the bounds are inclusive. */
static const struct {
	const char	*key, *value;
	const char	*msg;		/* NULL: accepted */
} integers[] = {
	{ "workers", "0x10", "o: workers: '0x10' is not an integer from 0 to "
	    "256 (write 16 in decimal digits)" },
	{ "max_body_bytes", "1e3", "o: max_body_bytes: '1e3' is not an "
	    "integer from 1 to 1073741824 (write 1000 in decimal digits)" },
	{ "backlog", "1.0", "o: backlog: '1.0' is not an integer from 1 to "
	    "65535 (write 1 in decimal digits)" },
	{ "workers", "-1", "o: workers: '-1' is not an integer from 0 to "
	    "256" },
	{ "workers", " 5", "o: workers: ' 5' is not an integer from 0 to "
	    "256" },
	{ "workers", "5 ", "o: workers: '5 ' is not an integer from 0 to "
	    "256" },
	{ "workers", "", "o: workers: '' is not an integer from 0 to 256" },
	{ "max_batch_rows", "99999999999999999999", "o: max_batch_rows: "
	    "'99999999999999999999' is not an integer from 1 to 1000000" },
	{ "workers", "256", NULL },
	{ "max_body_bytes", "1073741824", NULL },
	{ "backlog", "1", NULL },
};

static void
test_integers_strict(void **state)
{
	struct config	cfg;
	char		err[256];
	size_t		i;
	int		rc;

	for (i = 0; i < sizeof(integers) / sizeof(integers[0]); i++) {
		config_defaults(&cfg);
		err[0] = '\0';
		rc = config_set(&cfg, integers[i].key, integers[i].value, "o",
		    err, sizeof(err));
		if (integers[i].msg == NULL) {
			assert_int_equal(rc, 0);
			continue;
		}
		assert_int_equal(rc, -1);
		assert_string_equal(err, integers[i].msg);
	}
	/* Leading zeros are decimal, not octal. */
	config_defaults(&cfg);
	assert_int_equal(config_set(&cfg, "workers", "010", "o", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.workers, 10);
	assert_int_equal(config_set(&cfg, "max_body_bytes", "1073741824", "o",
	    err, sizeof(err)), 0);
	assert_int_equal(cfg.max_body_bytes, 1073741824);
}

/* Seconds: both ends of a key's range are allowed, a hair beyond is not. */
static void
test_seconds_bounds(void **state)
{
	static const struct { const char *key, *value; int ok; } cases[] = {
		{ "max_delay", "3600", 0 }, { "max_delay", "0", 0 },
		{ "max_delay", "3600.001", -1 }, { "max_delay", "-0.001", -1 },
		{ "worker_stall_timeout", "0.1", 0 },
		{ "worker_stall_timeout", "3600", 0 },
		{ "worker_stall_timeout", "0.099", -1 },
		{ "keepalive_timeout", "3600", 0 },
		{ "header_timeout", "0.001", 0 },
		{ "header_timeout", "0.0009", -1 },
	};
	struct config	cfg;
	char		err[256];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_defaults(&cfg);
		err[0] = '\0';
		if (config_set(&cfg, cases[i].key, cases[i].value, "o", err,
		    sizeof(err)) != cases[i].ok)
			fail_msg("%s = %s: %s, want %s (%s)", cases[i].key,
			    cases[i].value, cases[i].ok ? "accepted" : "refused",
			    cases[i].ok ? "refused" : "accepted", err);
	}
	config_defaults(&cfg);
	assert_int_equal(config_set(&cfg, "max_delay", "3600", "o", err,
	    sizeof(err)), 0);
	assert_true(cfg.max_delay == 3600);
}

/* Ports are decimal digits from 0 to 65535. */
static void
test_port_strict(void **state)
{
	struct config_addr	addr;

	assert_int_equal(config_parse_addr("h:0x50", &addr), -1);
	assert_int_equal(config_parse_addr("h:99999999999999999999", &addr),
	    -1);
	assert_int_equal(config_parse_addr("h:65535", &addr), 0);
	assert_string_equal(addr.port, "65535");
	assert_int_equal(config_parse_addr("[::1]:080", &addr), 0);
	assert_string_equal(addr.host, "::1");
}

static void
test_buckets_limit(void **state)
{
	struct config	cfg;
	char		list[4096] = "", err[256];
	int		i;

	for (i = 1; i <= CONFIG_MAX_BUCKETS + 1; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%d", i > 1 ? "," : "", i);
	config_defaults(&cfg);
	assert_int_equal(config_set(&cfg, "buckets", list, "cli", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "cli: buckets: more than 64 bounds");
}

static void
test_command_line_origin(void **state)
{
	struct config	cfg;
	char		err[256];

	config_defaults(&cfg);
	assert_int_equal(config_set(&cfg, "workers", "x", "command line (-w)",
	    err, sizeof(err)), -1);
	assert_string_equal(err, "command line (-w): workers: 'x' is not an "
	    "integer from 0 to 256");
	/* a later setting overrides an earlier one */
	assert_int_equal(config_set(&cfg, "workers", "3", "a", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&cfg, "workers", "5", "b", err,
	    sizeof(err)), 0);
	assert_int_equal(cfg.workers, 5);
}

static void
test_long_line(void **state)
{
	struct config	cfg;
	char		text[5000], err[256];

	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	config_defaults(&cfg);
	assert_int_equal(config_parse(&cfg, text, "t.conf", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "t.conf:1: line longer than 4095 bytes");
}

static void
test_help_table(void **state)
{
	const char	*name, *dflt, *help;
	size_t		 i, n = 0;

	for (i = 0; (name = config_key_doc(i, &dflt, &help)) != NULL; i++) {
		assert_non_null(dflt);
		assert_true(strlen(help) > 10);
		n++;
	}
	assert_true(n >= 15);
}

/* A key twice in one file names both lines; -o after a file is
 * fine. */
static void
test_duplicate_key(void **state)
{
	struct config	cfg;
	char		err[256];

	config_defaults(&cfg);
	assert_int_equal(config_parse(&cfg, "workers = 2\n# x\nmax_delay = 1\n"
	    "\n  workers=3\n", "inferd.conf", err, sizeof(err)), -1);
	assert_string_equal(err, "inferd.conf:5: workers: already set on line 1");
	config_defaults(&cfg);
	assert_int_equal(config_parse(&cfg, "workers = 2\n", "a.conf", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(&cfg, "workers", "3", "command line (-w)",
	    err, sizeof(err)), 0);
	assert_int_equal(cfg.workers, 3);
}

/* The bounds must hold the SLO threshold. */
static void
test_buckets_need_slo_bound(void **state)
{
	struct config	cfg;
	char		err[512];

	config_defaults(&cfg);
	assert_int_equal(config_parse(&cfg, "buckets = 0.5, 2\n", "t.conf", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "t.conf:1: buckets: 1.0 is not among the "
	    "bounds: it is the SLO threshold, and the alert rules and the "
	    "dashboard read the le=\"1.0\" bucket; add it");
	assert_int_equal(cfg.nbuckets, 12);	/* unchanged */
	assert_int_equal(config_parse(&cfg, "buckets = 0.5, 1, 2\n", "t.conf",
	    err, sizeof(err)), 0);
	assert_int_equal(cfg.nbuckets, 3);
}

/* The watchdog and privilege keys. */
static void
test_watchdog_privilege_keys(void **state)
{
	struct config	cfg;
	char		err[256];

	config_defaults(&cfg);
	assert_true(cfg.worker_stall_timeout == 3);
	assert_string_equal(cfg.user, "");
	assert_string_equal(cfg.group, "");
	assert_int_equal(config_parse(&cfg, "user = inferd\ngroup = nogroup\n"
	    "worker_stall_timeout = 2.5\n", "t.conf", err, sizeof(err)), 0);
	assert_string_equal(cfg.user, "inferd");
	assert_string_equal(cfg.group, "nogroup");
	assert_true(cfg.worker_stall_timeout == 2.5);
	assert_int_equal(config_set(&cfg, "user", "", "x", err, sizeof(err)), 0);
	assert_string_equal(cfg.user, "");
	assert_int_equal(config_set(&cfg, "user", "a b", "x", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "x: user: 'a b' is not a user or group name");
	assert_int_equal(config_set(&cfg, "group", "-g", "x", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "x: group: '-g' is not a user or group name");
	assert_int_equal(config_set(&cfg, "user",
	    "a23456789012345678901234567890123", "x", err, sizeof(err)), -1);
	assert_string_equal(err, "x: user: name longer than 32 bytes");
	assert_int_equal(config_set(&cfg, "worker_stall_timeout", "0", "x",
	    err, sizeof(err)), -1);
	assert_string_equal(err, "x: worker_stall_timeout: '0' is not a number "
	    "of seconds from 0.1 to 3600");
}

/* A reload keeps what needs new sockets and says what changed. */
static void
test_keep_restart_keys(void **state)
{
	struct config	run, next;
	char		err[256], changed[256];

	config_defaults(&run);
	config_defaults(&next);
	config_keep_restart_keys(&run, &next, changed, sizeof(changed));
	assert_string_equal(changed, "");
	assert_int_equal(config_parse(&next, "listen = 127.0.0.1:1\n"
	    "workers = 7\nbuckets = 1,2\nuser = nobody\nmax_delay = 3\n"
	    "model = /x.json\nworker_stall_timeout = 4\n", "t.conf", err,
	    sizeof(err)), 0);
	config_keep_restart_keys(&run, &next, changed, sizeof(changed));
	assert_string_equal(changed, "listen, workers, buckets, user");
	assert_string_equal(next.listen.host, "0.0.0.0");
	assert_string_equal(next.listen.port, "8000");
	assert_int_equal(next.workers, 0);
	assert_int_equal(next.nbuckets, 12);
	assert_true(next.buckets[8] == 1.0);
	assert_string_equal(next.user, "");
	/* what a reload can apply is applied */
	assert_true(next.max_delay == 3);
	assert_true(next.worker_stall_timeout == 4);
	assert_string_equal(next.model, "/x.json");
	/* bounds past nbuckets are not compared */
	config_defaults(&next);
	next.buckets[20] = 5;
	config_keep_restart_keys(&run, &next, changed, sizeof(changed));
	assert_string_equal(changed, "");
}

/*
 * Every key's change is seen: config_key_differs (what a reload compares for
 * the restart-only keys) finds key i changed, and no other key, whatever
 * its type.  A key missing from this table fails the test, so a new key
 * (a restart-only CT_SECONDS or CT_SIZE key included) is checked too.
 */
static void
test_every_key_differs(void **state)
{
	static const struct {
		const char	*key, *value;
	} other[] = {
		{ "listen", "127.0.0.1:8000" }, { "backlog", "10" },
		{ "workers", "3" }, { "worker_nice", "0" },
		{ "worker_stall_timeout", "2.5" },
		{ "restart_delay_max", "1" }, { "drain_timeout", "1.5" },
		{ "max_connections", "9" }, { "header_timeout", "1" },
		{ "request_timeout", "2" }, { "keepalive_timeout", "3" },
		{ "max_header_bytes", "1024" }, { "max_body_bytes", "7" },
		{ "max_batch_rows", "8" }, { "max_predictions", "9" },
		{ "max_delay", "0.5" }, { "model", "/m.json" },
		{ "max_model_bytes", "99" }, { "max_tree_depth", "3" },
		{ "model_trees", "best" },
		{ "metrics_listen", "0.0.0.0:9181" },
		{ "metrics_max_connections", "2" }, { "metrics_timeout", "4" },
		{ "buckets", "0.5,1,2" }, { "log_level", "debug" },
		{ "log", "syslog" }, { "log_facility", "local3" },
		{ "user", "nobody" }, { "group", "nogroup" },
		{ "max_body_memory", "1000" }, { "pipeline_depth", "2" },
		{ "access_log", "/tmp/a.log" }, { "access_log_buffer", "40000" },
		{ "access_log_flush", "0" }, { "request_id_max_length", "8" },
		{ "slow_request_threshold", "0.25" },
		{ "slow_request_log_rate", "3" },
		{ "worker_threads", "4" }, { "offload_min_work", "5" },
		{ "offload_min_body", "6" }, { "admission", "off" },
		{ "admission_target", "0.25" },
		{ "worker_stall_interval", "0.3" },
	};
	struct config	 a, b;
	const char	*name, *dflt, *help;
	char		 err[256];
	size_t		 i, j, t, n = 0;

	for (i = 0; (name = config_key_doc(i, &dflt, &help)) != NULL; i++) {
		for (t = 0; t < sizeof(other) / sizeof(other[0]) &&
		    strcmp(other[t].key, name) != 0; t++)
			;
		if (t == sizeof(other) / sizeof(other[0]))
			fail_msg("key %s: add a value to test_every_key_differs",
			    name);
		config_defaults(&a);
		config_defaults(&b);
		assert_int_equal(config_set(&b, name, other[t].value, "t", err,
		    sizeof(err)), 0);
		assert_true(config_key_differs(&a, &b, i));
		for (j = 0; config_key_doc(j, &dflt, &help) != NULL; j++)
			if (j != i)
				assert_false(config_key_differs(&a, &b, j));
		n++;
	}
	assert_int_equal(n, sizeof(other) / sizeof(other[0]));
}

/* The log keys: where, and at which syslog facility. */
static void
test_log_keys(void **state)
{
	struct config	cfg;
	char		err[256];

	config_defaults(&cfg);
	assert_int_equal(cfg.log_to, CONFIG_LOG_STDERR);
	assert_string_equal(log_facility_names[cfg.log_facility], "daemon");
	assert_int_equal(config_parse(&cfg, "log = syslog\nlog_facility = "
	    "local7\n", "t.conf", err, sizeof(err)), 0);
	assert_int_equal(cfg.log_to, CONFIG_LOG_SYSLOG);
	assert_string_equal(log_facility_names[cfg.log_facility], "local7");
	assert_int_equal(config_set(&cfg, "log", "file", "x", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "x: log: 'file' is not one of stderr, syslog");
	assert_int_equal(config_set(&cfg, "log_facility", "kern", "x", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "x: log_facility: 'kern' is not one of "
	    "daemon, user, local0, local1, local2, local3, local4, local5, "
	    "local6, local7");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_integers_strict),
		cmocka_unit_test(test_seconds_bounds),
		cmocka_unit_test(test_port_strict),
		cmocka_unit_test(test_buckets_limit),
		cmocka_unit_test(test_command_line_origin),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_help_table),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_buckets_need_slo_bound),
		cmocka_unit_test(test_watchdog_privilege_keys),
		cmocka_unit_test(test_keep_restart_keys),
		cmocka_unit_test(test_every_key_differs),
		cmocka_unit_test(test_log_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
