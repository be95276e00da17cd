/*
 * config: one table of keys drives defaults, parsing, validation and the
 * help text, so that a new setting is one line.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/config.h"
#include "inferd/log.h"
#include "inferd/readfile.h"

enum config_type {
	CT_ADDR,
	CT_UINT,
	CT_SIZE,
	CT_SECONDS,
	CT_PATH,
	CT_BUCKETS,
	CT_NAME,	/* a user or group name, may be empty */
	CT_CHOICE,	/* one word of the key's choices, stored as its index */
};

/* Which keys a reload applies: the others shape the sockets, the segment
 * or the process's credentials, and keep their running values until a
 * restart (config_keep_restart_keys). */
enum config_apply {
	CA_RELOAD,
	CA_RESTART,
};

struct config_key {
	const char	*name;
	enum config_type type;
	size_t		 offset;
	double		 min, max;	/* numeric bounds, inclusive */
	const char	*dflt;
	enum config_apply apply;
	const char *const *choices;	/* CT_CHOICE: NULL-terminated */
	const char	*help;
};

#define OFF(f)	offsetof(struct config, f)
#define CONFIG_LINE_MAX		4096		/* bytes of one line */
#define CONFIG_FILE_MAX		(1 << 20)	/* bytes of a file */
#define CONFIG_LIST_MAX		2048		/* bytes of a bucket list */

static const char *const config_trees[] = {
	[CONFIG_MODEL_TREES_ALL] = "all",
	[CONFIG_MODEL_TREES_BEST] = "best",
	NULL
};
static const char *const config_onoff[] = { "off", "on", NULL };
static const char *const config_log_to[] = {
	[CONFIG_LOG_STDERR] = "stderr",
	[CONFIG_LOG_SYSLOG] = "syslog",
	NULL
};

/* Every key, by topic: listening, workers, requests and their limits, the
 * model, metrics, logging, privileges, access log and slow requests.
 * --help and inferd.conf(5) follow this order. */
static const struct config_key config_keys[] = {
	/* Listening */
	{ "listen", CT_ADDR, OFF(listen), 0, 0, "0.0.0.0:8000", CA_RESTART,
	    NULL, "address:port of the inference HTTP server (port 0: any)" },
	{ "backlog", CT_UINT, OFF(backlog), 1, 65535, "4096", CA_RESTART,
	    NULL, "listen(2) backlog of each worker socket" },
	/* Workers */
	{ "workers", CT_UINT, OFF(workers), 0, CONFIG_MAX_WORKERS, "0",
	    CA_RESTART, NULL,
	    "worker processes; 0 means one per online CPU" },
	{ "worker_nice", CT_UINT, OFF(worker_nice), 0, 19, "5", CA_RELOAD,
	    NULL, "nice(2) increment of the workers over the master" },
	{ "worker_stall_timeout", CT_SECONDS, OFF(worker_stall_timeout), 0.1,
	    3600, "3", CA_RELOAD, NULL, "seconds a worker's heartbeat may "
	    "be late before the master kills and replaces it" },
	{ "restart_delay_max", CT_SECONDS, OFF(restart_delay_max), 0, 3600,
	    "30", CA_RELOAD, NULL,
	    "cap of the backoff before a crashing worker is restarted" },
	{ "drain_timeout", CT_SECONDS, OFF(drain_timeout), 0, 3600, "10",
	    CA_RELOAD, NULL,
	    "seconds a stopping worker waits for requests in flight" },
	/* Overload and stalls (doc/slo-defense.md) */
	{ "worker_threads", CT_UINT, OFF(worker_threads), 0, 64, "2",
	    CA_RESTART, NULL, "threads per worker that evaluate heavy "
	    "requests off the event loop; 0 evaluates everything on the loop" },
	{ "offload_min_work", CT_SIZE, OFF(offload_min_work), 1,
	    1000000000000.0, "20000", CA_RELOAD, NULL, "rows x trees from "
	    "which a request is evaluated on a worker thread" },
	{ "offload_min_body", CT_SIZE, OFF(offload_min_body), 1, 1 << 30,
	    "32768", CA_RELOAD, NULL, "request body bytes from which a "
	    "request is also parsed on a worker thread" },
	{ "admission", CT_CHOICE, OFF(admission), 0, 0, "on", CA_RELOAD,
	    config_onoff, "admission control: on sheds inference requests "
	    "with 503 once requests wait longer than admission_target; off "
	    "queues them" },
	{ "admission_target", CT_SECONDS, OFF(admission_target), 0.001,
	    3600, "0.1", CA_RELOAD, NULL, "seconds a request may wait inside "
	    "a worker before new ones are shed (a tenth of the 1 s latency "
	    "SLO)" },
	{ "worker_stall_interval", CT_SECONDS, OFF(worker_stall_interval),
	    0.01, 3600, "1", CA_RELOAD, NULL, "seconds a worker's event loop "
	    "may go without turning before it is reported not ready" },
	/* Requests and their limits (SECURITY.md: the worst case) */
	{ "max_connections", CT_UINT, OFF(max_connections), 1, 1000000,
	    "8192", CA_RELOAD, NULL, "open client connections per worker" },
	{ "header_timeout", CT_SECONDS, OFF(header_timeout), 0.001, 3600,
	    "10", CA_RELOAD, NULL, "seconds a request head may take to "
	    "arrive whole, from accept or the first byte of a kept-alive "
	    "request" },
	{ "request_timeout", CT_SECONDS, OFF(request_timeout), 0.001, 3600,
	    "30", CA_RELOAD, NULL, "seconds a request body may take to "
	    "arrive whole, and a write may stall" },
	{ "keepalive_timeout", CT_SECONDS, OFF(keepalive_timeout), 0.001,
	    3600, "15", CA_RELOAD, NULL,
	    "seconds an idle kept-alive connection is kept" },
	{ "max_header_bytes", CT_SIZE, OFF(max_header_bytes), 256, 1 << 20,
	    "8192", CA_RELOAD, NULL,
	    "largest request line plus headers, in bytes" },
	{ "max_body_bytes", CT_SIZE, OFF(max_body_bytes), 1, 1 << 30,
	    "1048576", CA_RELOAD, NULL, "largest request body, in bytes" },
	{ "max_batch_rows", CT_SIZE, OFF(max_batch_rows), 1, 1000000, "1000",
	    CA_RELOAD, NULL, "most rows one prediction request may carry" },
	{ "max_predictions", CT_SIZE, OFF(max_predictions), 1, 100000000,
	    "100000", CA_RELOAD, NULL,
	    "most predictions (rows x outputs) in one response" },
	{ "max_delay", CT_SECONDS, OFF(max_delay), 0, 3600, "10", CA_RELOAD,
	    NULL, "largest ?delay= a request may ask for, in seconds" },
	{ "max_body_memory", CT_SIZE, OFF(max_body_memory), 1,
	    1099511627776.0, "67108864", CA_RELOAD, NULL,
	    "bytes of request bodies a worker holds at once; a body beyond "
	    "is answered 503" },
	{ "pipeline_depth", CT_UINT, OFF(pipeline_depth), 1, 1024, "4",
	    CA_RELOAD, NULL, "responses waiting to be written on a connection "
	    "before it is read no further" },
	/* The model */
	{ "model", CT_PATH, OFF(model), 0, 0, INFERD_DEFAULT_MODEL, CA_RELOAD,
	    NULL, "XGBoost model file (JSON, UBJSON or binary)" },
	{ "max_model_bytes", CT_SIZE, OFF(max_model_bytes), 1,
	    1099511627776.0, "1073741824", CA_RELOAD, NULL,
	    "largest model file, in bytes (checked before it is read)" },
	{ "max_tree_depth", CT_UINT, OFF(max_tree_depth), 1, 65536, "256",
	    CA_RELOAD, NULL, "deepest tree a model may have, in levels" },
	{ "model_trees", CT_CHOICE, OFF(model_trees), 0, 0, "all", CA_RELOAD,
	    config_trees, "trees of an early-stopped model: all (as "
	    "Booster.predict) or best (up to best_iteration, as "
	    "scikit-learn)" },
	/* Metrics */
	{ "metrics_listen", CT_ADDR, OFF(metrics_listen), 0, 0,
	    "0.0.0.0:9180", CA_RESTART, NULL,
	    "address:port of the master's /metrics server (port 0: any)" },
	{ "metrics_max_connections", CT_UINT, OFF(metrics_max_connections),
	    1, 65536, "64", CA_RELOAD, NULL,
	    "open connections to the metrics port" },
	{ "metrics_timeout", CT_SECONDS, OFF(metrics_timeout), 0.001, 3600,
	    "10", CA_RELOAD, NULL, "seconds a metrics request may take to "
	    "arrive, an idle metrics connection is kept, or a write may "
	    "stall" },
	{ "buckets", CT_BUCKETS, OFF(buckets), 0, 0,
	    "0.005,0.01,0.025,0.05,0.1,0.25,0.5,0.75,1.0,2.5,5.0,10.0",
	    CA_RESTART, NULL,
	    "latency histogram bucket bounds in seconds, increasing" },
	/* Logging */
	{ "log_level", CT_CHOICE, OFF(log_level), 0, 0, "info", CA_RELOAD,
	    log_level_names, "error, warn, info or debug" },
	{ "log", CT_CHOICE, OFF(log_to), 0, 0, "stderr", CA_RESTART,
	    config_log_to, "where the log goes: stderr, or syslog (the "
	    "local socket /dev/log) at log_facility" },
	{ "log_facility", CT_CHOICE, OFF(log_facility), 0, 0, "daemon",
	    CA_RESTART, log_facility_names,
	    "syslog facility: daemon, user or local0 to local7" },
	/* Privileges */
	{ "user", CT_NAME, OFF(user), 0, 0, "", CA_RESTART, NULL,
	    "user to run as once the sockets are bound, when started as root" },
	{ "group", CT_NAME, OFF(group), 0, 0, "", CA_RESTART, NULL,
	    "group to run as (empty: the user's primary group)" },
	/* Access log, request IDs and slow requests */
	{ "access_log", CT_PATH, OFF(access_log), 0, 0, "off", CA_RELOAD,
	    NULL, "off, stderr or a file: one JSON line per request, "
	    "appended; reopened on SIGUSR1" },
	{ "access_log_buffer", CT_SIZE, OFF(access_log_buffer), 32768,
	    16777216, "65536", CA_RELOAD, NULL, "bytes of access log lines "
	    "each worker buffers before one write(2)" },
	{ "access_log_flush", CT_SECONDS, OFF(access_log_flush), 0, 60, "1",
	    CA_RELOAD, NULL, "seconds a buffered access log line may wait; "
	    "0: every line is written at once" },
	{ "request_id_max_length", CT_SIZE, OFF(request_id_max_length), 1,
	    64, "64", CA_RELOAD, NULL, "longest X-Request-Id kept (visible "
	    "ASCII); longer or other ones are replaced by a new ID" },
	{ "slow_request_threshold", CT_SECONDS, OFF(slow_request_threshold),
	    0, 3600, "0.5", CA_RELOAD, NULL, "seconds above which a request "
	    "is logged at warning with its phases and IDs (half the 1 s "
	    "SLO); 0: never" },
	{ "slow_request_log_rate", CT_UINT, OFF(slow_request_log_rate), 0,
	    100000, "10", CA_RELOAD, NULL, "slow requests each worker logs "
	    "per second at most; the others are counted" },
};

#define NKEYS	(sizeof(config_keys) / sizeof(config_keys[0]))

/* Parse a finite number into *out; 0 or -1. */
static int
config_number(const char *s, double *out)
{
	char	*end;
	double	 v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/*
 * Parse a decimal integer from min to max into *out with libbsd's strtonum,
 * so that "0x10", "1e3" and "1.0" are refused; 0, or -1 with the reason in
 * why.  A value that strtod would read as a whole number gets a hint.
 */
static int
config_integer(const char *s, long long min, long long max, long long *out,
    char *why, size_t len)
{
	const char	*errstr = "invalid";
	size_t		 n;
	double		 v;

	if (!isspace((unsigned char)*s)) {
		*out = strtonum(s, min, max, &errstr);
		if (errstr == NULL)
			return 0;
	}
	n = (size_t)snprintf(why, len, "'%s' is not an integer from %lld to "
	    "%lld", s, min, max);
	if (n < len && config_number(s, &v) == 0 && v == floor(v) &&
	    fabs(v) < 1e15 && strspn(s, "+-0123456789") != strlen(s))
		snprintf(why + n, len - n, " (write %.0f in decimal digits)",
		    v);
	return -1;
}

/* Parse "host:port" or "[v6]:port"; 0 or -1. */
int
config_parse_addr(const char *s, struct config_addr *addr)
{
	const char	*colon, *host, *port, *errstr;
	size_t		 hostlen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		host = s + 1;
		hostlen = (size_t)(close - host);
		port = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)))
			return -1;
		host = s;
		hostlen = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hostlen == 0 || hostlen >= sizeof(addr->host))
		return -1;
	if (*port == '\0' || strlen(port) >= sizeof(addr->port) ||
	    strspn(port, "0123456789") != strlen(port))
		return -1;
	strtonum(port, 0, 65535, &errstr);
	if (errstr != NULL)
		return -1;
	memcpy(addr->host, host, hostlen);
	addr->host[hostlen] = '\0';
	strlcpy(addr->port, port, sizeof(addr->port));
	return 0;
}

/*
 * The bounds must hold the SLO threshold, 1 s: the alert rules,
 * the recording rules and the dashboard read the le="1.0" bucket.  0 or -1.
 */
static int
config_buckets_slo(const double *b, size_t n, char *why, size_t len)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (b[i] == 1.0)
			return 0;
	snprintf(why, len, "1.0 is not among the bounds: it is the SLO "
	    "threshold, and the alert rules and the dashboard read the "
	    "le=\"1.0\" bucket; add it");
	return -1;
}

/* A user or group name: empty, or [A-Za-z0-9._-], at most 32. */
static int
config_name(char *field, const char *value, char *why, size_t len)
{
	if (strlen(value) >= CONFIG_NAME_MAX) {
		snprintf(why, len, "name longer than %d bytes",
		    CONFIG_NAME_MAX - 1);
		return -1;
	}
	if (strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") != strlen(value) || value[0] == '-') {
		snprintf(why, len, "'%s' is not a user or group name", value);
		return -1;
	}
	strlcpy(field, value, CONFIG_NAME_MAX);
	return 0;
}

/* Parse a comma-separated, strictly increasing list of positive bounds. */
static int
config_buckets(struct config *cfg, const char *s, char *why, size_t len)
{
	char	 buf[CONFIG_LIST_MAX], *tok, *rest;
	double	 v, b[CONFIG_MAX_BUCKETS];
	size_t	 n = 0;

	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf)) {
		snprintf(why, len, "list too long");
		return -1;
	}
	if (*s == '\0') {
		snprintf(why, len, "no bounds given");
		return -1;
	}
	rest = buf;
	while ((tok = strsep(&rest, ",")) != NULL) {
		while (isspace((unsigned char)*tok))
			tok++;
		for (char *e = tok + strlen(tok); e > tok &&
		    isspace((unsigned char)e[-1]); e--)
			e[-1] = '\0';
		if (config_number(tok, &v) == -1 || v <= 0) {
			snprintf(why, len, "'%s' is not a positive number",
			    tok);
			return -1;
		}
		if (n == CONFIG_MAX_BUCKETS) {
			snprintf(why, len, "more than %d bounds",
			    CONFIG_MAX_BUCKETS);
			return -1;
		}
		if (n > 0 && v <= b[n - 1]) {
			snprintf(why, len, "bounds must increase: %s after %g",
			    tok, b[n - 1]);
			return -1;
		}
		b[n++] = v;
	}
	if (config_buckets_slo(b, n, why, len) == -1)
		return -1;
	memcpy(cfg->buckets, b, n * sizeof(b[0]));
	cfg->nbuckets = n;
	return 0;
}

/*
 * The setters of config_set, one per key type: each parses value into the
 * key's field of cfg (field), or leaves it and writes why not into why.
 */
typedef void	(*config_setter)(struct config *cfg, const struct config_key *,
		    char *field, const char *value, char *why, size_t len);

/* CT_ADDR: "host:port" or "[v6]:port". */
static void
config_set_addr(struct config *cfg, const struct config_key *k, char *field,
    const char *value, char *why, size_t len)
{
	(void)cfg;
	(void)k;

	if (config_parse_addr(value, (struct config_addr *)field) == -1)
		snprintf(why, len, "'%s' is not ADDRESS:PORT "
		    "(port 0-65535; IPv6 as [::1]:PORT)", value);
}

/* CT_UINT and CT_SIZE: a decimal integer within the key's bounds. */
static void
config_set_integer(struct config *cfg, const struct config_key *k,
    char *field, const char *value, char *why, size_t len)
{
	long long	iv;

	(void)cfg;

	if (config_integer(value, (long long)k->min, (long long)k->max, &iv,
	    why, len) == -1)
		return;
	if (k->type == CT_UINT)
		*(unsigned *)field = (unsigned)iv;
	else
		*(size_t *)field = (size_t)iv;
}

/* CT_SECONDS: a finite number of seconds within the key's bounds. */
static void
config_set_seconds(struct config *cfg, const struct config_key *k,
    char *field, const char *value, char *why, size_t len)
{
	double	v;

	(void)cfg;

	if (config_number(value, &v) == -1 || v < k->min || v > k->max) {
		snprintf(why, len, "'%s' is not a number of seconds from %g "
		    "to %g", value, k->min, k->max);
		return;
	}
	*(double *)field = v;
}

/* CT_PATH: a non-empty path shorter than CONFIG_PATH_MAX. */
static void
config_set_path(struct config *cfg, const struct config_key *k, char *field,
    const char *value, char *why, size_t len)
{
	(void)cfg;
	(void)k;

	if (*value == '\0')
		snprintf(why, len, "empty path");
	else if (strlcpy(field, value, CONFIG_PATH_MAX) >= CONFIG_PATH_MAX)
		snprintf(why, len, "path longer than %d bytes",
		    CONFIG_PATH_MAX - 1);
}

/* CT_BUCKETS: the histogram's bounds (config_buckets). */
static void
config_set_buckets(struct config *cfg, const struct config_key *k,
    char *field, const char *value, char *why, size_t len)
{
	(void)k;
	(void)field;

	config_buckets(cfg, value, why, len);
}

/* CT_NAME: a user or group name (config_name). */
static void
config_set_name(struct config *cfg, const struct config_key *k, char *field,
    const char *value, char *why, size_t len)
{
	(void)cfg;
	(void)k;

	config_name(field, value, why, len);
}

/* CT_CHOICE: one of the key's words, stored as its index. */
static void
config_set_choice(struct config *cfg, const struct config_key *k,
    char *field, const char *value, char *why, size_t len)
{
	size_t	i, n;

	(void)cfg;

	for (i = 0; k->choices[i] != NULL; i++)
		if (strcmp(value, k->choices[i]) == 0) {
			*(int *)field = (int)i;
			return;
		}
	n = (size_t)snprintf(why, len, "'%s' is not one of", value);
	for (i = 0; k->choices[i] != NULL && n < len; i++)
		n += (size_t)snprintf(why + n, len - n, "%s %s",
		    i == 0 ? "" : ",", k->choices[i]);
}

static const config_setter config_setters[] = {
	[CT_ADDR] = config_set_addr,
	[CT_UINT] = config_set_integer,
	[CT_SIZE] = config_set_integer,
	[CT_SECONDS] = config_set_seconds,
	[CT_PATH] = config_set_path,
	[CT_BUCKETS] = config_set_buckets,
	[CT_NAME] = config_set_name,
	[CT_CHOICE] = config_set_choice,
};

/* Set key to value; errors are "origin: key: why". */
int
config_set(struct config *cfg, const char *key, const char *value,
    const char *origin, char *err, size_t errlen)
{
	const struct config_key	*k = NULL;
	char			 why[256] = "";
	size_t			 i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, key) == 0)
			k = &config_keys[i];
	if (k == NULL) {
		snprintf(err, errlen, "%s: unknown key '%s'", origin, key);
		return -1;
	}
	config_setters[k->type](cfg, k, (char *)cfg + k->offset, value, why,
	    sizeof(why));
	if (why[0] != '\0') {
		snprintf(err, errlen, "%s: %s: %s", origin, key, why);
		return -1;
	}
	return 0;
}

/* Fill cfg with every key's default. */
void
config_defaults(struct config *cfg)
{
	char	err[256];
	size_t	i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NKEYS; i++)
		if (config_set(cfg, config_keys[i].name, config_keys[i].dflt,
		    "default", err, sizeof(err)) == -1)
			fatalx("%s", err);	/* a bug in the table */
}

/* Trim leading and trailing white space in place. */
static char *
config_trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * A key set twice in one file is an error naming both lines
 * (seen[k] is the line that set key k, 0 if none).  0 or -1.
 */
static int
config_seen(unsigned *seen, const char *key, unsigned lineno,
    const char *origin, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < NKEYS && strcmp(config_keys[i].name, key) != 0; i++)
		;
	if (i == NKEYS)
		return 0;
	if (seen[i] != 0) {
		snprintf(err, errlen, "%s: %s: already set on line %u",
		    origin, key, seen[i]);
		return -1;
	}
	seen[i] = lineno;
	return 0;
}

/* Parse a configuration file's text. */
int
config_parse(struct config *cfg, const char *text, const char *name,
    char *err, size_t errlen)
{
	const char	*p = text, *nl;
	char		 line[CONFIG_LINE_MAX], origin[CONFIG_PATH_MAX + 32];
	char		*eq, *key;
	char		*value, *hash;
	unsigned	 lineno = 0, seen[NKEYS] = { 0 };
	size_t		 len;

	while (*p != '\0') {
		lineno++;
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		snprintf(origin, sizeof(origin), "%s:%u", name, lineno);
		if (len >= sizeof(line)) {
			snprintf(err, errlen, "%s: line longer than %zu bytes",
			    origin, sizeof(line) - 1);
			return -1;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl != NULL ? nl + 1 : p + len;

		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		key = config_trim(line);
		if (*key == '\0')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			snprintf(err, errlen, "%s: expected 'key = value', "
			    "found '%s'", origin, key);
			return -1;
		}
		*eq = '\0';
		key = config_trim(key);
		value = config_trim(eq + 1);
		if (*key == '\0') {
			snprintf(err, errlen, "%s: missing key before '='",
			    origin);
			return -1;
		}
		if (config_set(cfg, key, value, origin, err, errlen) == -1 ||
		    config_seen(seen, key, lineno, origin, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* Read the file at path and parse it. */
int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char	*text, why[256];
	size_t	 size;
	int	 rc;

	if ((text = readfile(path, CONFIG_FILE_MAX, "the limit of a "
	    "configuration file", &size, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	if (strlen(text) != (size_t)size) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		free(text);
		return -1;
	}
	rc = config_parse(cfg, text, path, err, errlen);
	free(text);
	return rc;
}

/* The i-th key for --help, or NULL past the end. */
const char *
config_key_doc(size_t i, const char **dflt, const char **help)
{
	if (i >= NKEYS)
		return NULL;
	*dflt = config_keys[i].dflt;
	*help = config_keys[i].help;
	return config_keys[i].name;
}

/* Bytes of a field of type t (buckets: the whole array). */
static size_t
config_field_size(enum config_type t)
{
	switch (t) {
	case CT_ADDR:
		return sizeof(struct config_addr);
	case CT_UINT:
		return sizeof(unsigned);
	case CT_SIZE:
		return sizeof(size_t);
	case CT_SECONDS:
		return sizeof(double);
	case CT_PATH:
		return CONFIG_PATH_MAX;
	case CT_BUCKETS:
		return sizeof(((struct config *)NULL)->buckets);
	case CT_NAME:
		return CONFIG_NAME_MAX;
	case CT_CHOICE:
		return sizeof(int);
	}
	return 0;	/* not reached: the switch names every type */
}

/* Whether key i differs between a and b; see config.h. */
int
config_key_differs(const struct config *a, const struct config *b,
    size_t i)
{
	const struct config_key	*k = &config_keys[i];

	if (k->type == CT_BUCKETS)	/* what is past nbuckets is junk */
		return a->nbuckets != b->nbuckets || memcmp(a->buckets,
		    b->buckets, a->nbuckets * sizeof(a->buckets[0])) != 0;
	if (k->type == CT_PATH || k->type == CT_NAME)	/* junk past NUL */
		return strcmp((const char *)a + k->offset,
		    (const char *)b + k->offset) != 0;
	if (k->type == CT_ADDR)
		return strcmp(((const struct config_addr *)((const char *)a +
		    k->offset))->host, ((const struct config_addr *)
		    ((const char *)b + k->offset))->host) != 0 ||
		    strcmp(((const struct config_addr *)((const char *)a +
		    k->offset))->port, ((const struct config_addr *)
		    ((const char *)b + k->offset))->port) != 0;
	return memcmp((const char *)a + k->offset, (const char *)b +
	    k->offset, config_field_size(k->type)) != 0;
}

/* Give next the running values of the restart keys; list those changed. */
void
config_keep_restart_keys(const struct config *running, struct config *next,
    char *changed, size_t len)
{
	const struct config_key	*k;
	size_t			 i;

	changed[0] = '\0';
	for (i = 0; i < NKEYS; i++) {
		k = &config_keys[i];
		if (k->apply != CA_RESTART ||
		    !config_key_differs(running, next, i))
			continue;
		memcpy((char *)next + k->offset,
		    (const char *)running + k->offset,
		    config_field_size(k->type));
		if (k->type == CT_BUCKETS)
			next->nbuckets = running->nbuckets;
		if (changed[0] != '\0')
			strlcat(changed, ", ", len);
		strlcat(changed, k->name, len);
	}
}
