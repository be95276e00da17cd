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
	CT_LOGLEVEL,
	CT_NAME,	/* issue 8: a user or group name, may be empty */
	CT_MODEL_TREES,		/* issue 9: all | best */
	CT_BOOL,		/* on | off */
};

struct config_key {
	const char	*name;
	enum config_type type;
	size_t		 offset;
	double		 min, max;	/* numeric bounds, inclusive */
	const char	*dflt;
	const char	*help;
};

#define OFF(f)	offsetof(struct config, f)
#define CONFIG_LINE_MAX		4096		/* bytes of one line */
#define CONFIG_FILE_MAX		(1 << 20)	/* bytes of a file */
#define CONFIG_LIST_MAX		2048		/* bytes of a bucket list */

static const struct config_key config_keys[] = {
	{ "listen", CT_ADDR, OFF(listen), 0, 0, "0.0.0.0:8000",
	    "address:port of the inference HTTP server (port 0: any)" },
	{ "metrics_listen", CT_ADDR, OFF(metrics_listen), 0, 0, "0.0.0.0:9180",
	    "address:port of the master's /metrics server (port 0: any)" },
	{ "workers", CT_UINT, OFF(workers), 0, CONFIG_MAX_WORKERS, "0",
	    "worker processes; 0 means one per online CPU" },
	{ "model", CT_PATH, OFF(model), 0, 0, INFERD_DEFAULT_MODEL,
	    "XGBoost model file (JSON or UBJSON)" },
	{ "max_delay", CT_SECONDS, OFF(max_delay), 0, 3600, "10",
	    "largest ?delay= a request may ask for, in seconds" },
	{ "max_body_bytes", CT_SIZE, OFF(max_body_bytes), 1, 1 << 30,
	    "1048576", "largest request body, in bytes" },
	{ "max_header_bytes", CT_SIZE, OFF(max_header_bytes), 256, 1 << 20,
	    "8192", "largest request line plus headers, in bytes" },
	{ "max_batch_rows", CT_SIZE, OFF(max_batch_rows), 1, 1000000, "1000",
	    "most rows one prediction request may carry" },
	/* issue 7 at full scale: 8192 and 4096, see SECURITY.md */
	{ "max_connections", CT_UINT, OFF(max_connections), 1, 1000000,
	    "8192", "open client connections per worker" },
	{ "request_timeout", CT_SECONDS, OFF(request_timeout), 0.001, 3600,
	    "30", "seconds a request body may take to arrive whole, and a "
	    "write may stall" },
	{ "drain_timeout", CT_SECONDS, OFF(drain_timeout), 0, 3600, "10",
	    "seconds a stopping worker waits for requests in flight" },
	{ "restart_delay_max", CT_SECONDS, OFF(restart_delay_max), 0, 3600,
	    "30", "cap of the backoff before a crashing worker is restarted" },
	{ "backlog", CT_UINT, OFF(backlog), 1, 65535, "4096",
	    "listen(2) backlog of each worker socket" },
	{ "buckets", CT_BUCKETS, OFF(buckets), 0, 0,
	    "0.005,0.01,0.025,0.05,0.1,0.25,0.5,0.75,1.0,2.5,5.0,10.0",
	    "latency histogram bucket bounds in seconds, increasing" },
	{ "log_level", CT_LOGLEVEL, OFF(log_level), 0, 0, "info",
	    "error, warn, info or debug" },
	/* issue 8: the watchdog and privileges */
	{ "worker_stall_timeout", CT_SECONDS, OFF(worker_stall_timeout), 0.1,
	    3600, "3", "seconds a worker's heartbeat may be late before the "
	    "master kills and replaces it" },
	{ "user", CT_NAME, OFF(user), 0, 0, "",
	    "user to run as once the sockets are bound, when started as root" },
	{ "group", CT_NAME, OFF(group), 0, 0, "",
	    "group to run as (empty: the user's primary group)" },
	/* issue 7/9 model limits */
	{ "max_model_bytes", CT_SIZE, OFF(model_limits.max_bytes), 1,
	    1099511627776.0, "1073741824",
	    "largest model file, in bytes (checked before it is read)" },
	{ "max_tree_depth", CT_UINT, OFF(model_limits.max_depth), 1, 65536,
	    "256", "deepest tree a model may have, in levels" },
	{ "model_trees", CT_MODEL_TREES, OFF(model_limits.trees), 0, 0, "all",
	    "trees of an early-stopped model: all (as Booster.predict) or "
	    "best (up to best_iteration, as scikit-learn)" },
	/* issue 11: scrapes under saturation */
	{ "worker_nice", CT_UINT, OFF(worker_nice), 0, 19, "5",
	    "nice(2) increment of the workers over the master" },
	/* issue 7: hostile network and faults */
	{ "header_timeout", CT_SECONDS, OFF(header_timeout), 0.001, 3600,
	    "10", "seconds a request head may take to arrive whole, from "
	    "accept or the first byte of a kept-alive request" },
	{ "keepalive_timeout", CT_SECONDS, OFF(keepalive_timeout), 0.001,
	    3600, "15", "seconds an idle kept-alive connection is kept" },
	{ "max_predictions", CT_SIZE, OFF(max_predictions), 1, 100000000,
	    "100000", "most predictions (rows x outputs) in one response" },
	{ "metrics_max_connections", CT_UINT, OFF(metrics_max_connections),
	    1, 65536, "64", "open connections to the metrics port" },
	{ "metrics_timeout", CT_SECONDS, OFF(metrics_timeout), 0.001, 3600,
	    "10", "seconds a metrics request may take to arrive, an idle "
	    "metrics connection is kept, or a write may stall" },
	/* defending the SLO (doc/slo-defense.md) */
	{ "worker_threads", CT_UINT, OFF(worker_threads), 0, 64, "2",
	    "threads per worker that evaluate heavy requests off the event "
	    "loop; 0 evaluates everything on the loop" },
	{ "offload_min_work", CT_SIZE, OFF(offload_min_work), 1,
	    1000000000000.0, "20000", "rows x trees from which a request is "
	    "evaluated on a worker thread" },
	{ "offload_min_body", CT_SIZE, OFF(offload_min_body), 1, 1 << 30,
	    "32768", "request body bytes from which a request is also "
	    "parsed on a worker thread" },
	{ "admission", CT_BOOL, OFF(admission), 0, 0, "on",
	    "admission control: on sheds inference requests with 503 once "
	    "requests wait longer than admission_target; off queues them" },
	{ "admission_target", CT_SECONDS, OFF(admission_target), 0.001,
	    3600, "0.1", "seconds a request may wait inside a worker before "
	    "new ones are shed (a tenth of the 1 s latency SLO)" },
	{ "worker_stall_interval", CT_SECONDS, OFF(worker_stall_interval),
	    0.01, 3600, "1", "seconds a worker's event loop may go without "
	    "turning before it is reported not ready" },
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
 * issue 8: the bounds must hold the SLO threshold, 1 s: the alert rules,
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

/* issue 8: a user or group name: empty, or [A-Za-z0-9._-], at most 32. */
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

/* CT_LOGLEVEL: error, warn, info or debug. */
static void
config_set_loglevel(struct config *cfg, const struct config_key *k,
    char *field, const char *value, char *why, size_t len)
{
	int	lvl;

	(void)cfg;
	(void)k;

	if ((lvl = log_level_parse(value)) == -1)
		snprintf(why, len, "'%s' is not one of error, warn, info, "
		    "debug", value);
	else
		*(int *)field = lvl;
}

/* CT_MODEL_TREES: all or best. */
static void
config_set_model_trees(struct config *cfg, const struct config_key *k,
    char *field, const char *value, char *why, size_t len)
{
	(void)cfg;
	(void)k;

	if (strcmp(value, "all") == 0)
		*(int *)field = MODEL_TREES_ALL;
	else if (strcmp(value, "best") == 0)
		*(int *)field = MODEL_TREES_BEST;
	else
		snprintf(why, len, "'%s' is neither all nor best", value);
}

/* CT_BOOL: on or off. */
static void
config_set_bool(struct config *cfg, const struct config_key *k,
    char *field, const char *value, char *why, size_t len)
{
	(void)cfg;
	(void)k;

	if (strcmp(value, "on") == 0)
		*(int *)field = 1;
	else if (strcmp(value, "off") == 0)
		*(int *)field = 0;
	else
		snprintf(why, len, "'%s' is neither on nor off", value);
}

static const config_setter config_setters[] = {
	[CT_BOOL] = config_set_bool,
	[CT_ADDR] = config_set_addr,
	[CT_UINT] = config_set_integer,
	[CT_SIZE] = config_set_integer,
	[CT_SECONDS] = config_set_seconds,
	[CT_PATH] = config_set_path,
	[CT_BUCKETS] = config_set_buckets,
	[CT_LOGLEVEL] = config_set_loglevel,
	[CT_NAME] = config_set_name,
	[CT_MODEL_TREES] = config_set_model_trees,
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
 * issue 8: a key set twice in one file is an error naming both lines
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

/*
 * issue 8: the keys a reload cannot apply, since they shape the sockets,
 * the segment or the process's credentials.
 */
static const char *const config_restart_keys[] = {
	"listen", "metrics_listen", "workers", "backlog", "buckets", "user",
	"group",
};

/* Bytes of a field of type t (buckets: the array; nbuckets aside). */
static size_t
config_field_size(enum config_type t)
{
	switch (t) {
	case CT_ADDR:
		return sizeof(struct config_addr);
	case CT_UINT:
		return sizeof(unsigned);
	case CT_BUCKETS:
		return sizeof(((struct config *)NULL)->buckets);
	case CT_NAME:
		return CONFIG_NAME_MAX;
	default:
		return 0;	/* not a restart key */
	}
}

/* Give next the running values of the restart keys; list those changed. */
void
config_keep_restart_keys(const struct config *running, struct config *next,
    char *changed, size_t len)
{
	const struct config_key	*k;
	size_t			 i, j, size;

	changed[0] = '\0';
	for (i = 0; i < sizeof(config_restart_keys) /
	    sizeof(config_restart_keys[0]); i++) {
		for (j = 0; j < NKEYS && strcmp(config_keys[j].name,
		    config_restart_keys[i]) != 0; j++)
			;
		if (j == NKEYS)
			continue;
		k = &config_keys[j];
		size = config_field_size(k->type);
		if (k->type == CT_BUCKETS)	/* what is past nbuckets is junk */
			size = running->nbuckets == next->nbuckets ?
			    running->nbuckets * sizeof(double) : 0;
		if ((k->type != CT_BUCKETS ||
		    running->nbuckets == next->nbuckets) &&
		    memcmp((const char *)running + k->offset,
		    (const char *)next + k->offset, size) == 0)
			continue;
		size = config_field_size(k->type);
		memcpy((char *)next + k->offset,
		    (const char *)running + k->offset, size);
		if (k->type == CT_BUCKETS)
			next->nbuckets = running->nbuckets;
		if (changed[0] != '\0')
			strlcat(changed, ", ", len);
		strlcat(changed, k->name, len);
	}
}
