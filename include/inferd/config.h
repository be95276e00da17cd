/*
 * config: inferd's settings, their defaults and limits, read from a
 * "key = value" file and from the command line.  Pure module: it parses
 * text it is given and reports errors as "origin: key: what is wrong".
 */
#ifndef INFERD_CONFIG_H
#define INFERD_CONFIG_H

#include <stddef.h>


#define CONFIG_MAX_BUCKETS	64	/* histogram bucket bounds, +Inf aside */
#define CONFIG_MAX_WORKERS	256
#define CONFIG_PATH_MAX		1024
#define CONFIG_NAME_MAX		33	/* a user or group name, NUL included */

/* Which trees of an early-stopped model are served (key model_trees). */
enum config_model_trees {
	CONFIG_MODEL_TREES_ALL,		/* every tree, as Booster.predict */
	CONFIG_MODEL_TREES_BEST		/* up to best_iteration */
};

/* Where the log goes (key log). */
enum config_log_to {
	CONFIG_LOG_STDERR,
	CONFIG_LOG_SYSLOG
};

/* "host:port" as given; host may be a name, an IPv4 or a [IPv6] address. */
struct config_addr {
	char	host[256];
	char	port[8];
};

struct config {
	/* listening */
	struct config_addr listen;		/* inference HTTP port */
	unsigned	backlog;		/* listen(2) backlog */
	/* workers */
	unsigned	workers;		/* 0: one per online CPU */
	unsigned	worker_nice;		/* workers' nice above master's */
	double		worker_stall_timeout;	/* seconds without heartbeat */
	double		restart_delay_max;	/* seconds, respawn backoff cap */
	double		drain_timeout;		/* seconds, graceful stop */
	/* requests and their limits */
	unsigned	max_connections;	/* per worker */
	double		header_timeout;		/* seconds, head whole */
	double		request_timeout;	/* seconds, body whole; write */
	double		keepalive_timeout;	/* seconds, idle kept-alive */
	size_t		max_header_bytes;
	size_t		max_body_bytes;
	size_t		max_batch_rows;
	size_t		max_predictions;	/* rows x outputs, a response */
	double		max_delay;		/* seconds, ?delay= bound */
	size_t		max_body_memory;	/* bytes, bodies of a worker */
	unsigned	pipeline_depth;		/* responses queued, at most */
	/* the model (model_load_limits takes the limits) */
	char		model[CONFIG_PATH_MAX];
	size_t		max_model_bytes;	/* largest model file */
	unsigned	max_tree_depth;		/* deepest tree */
	int		model_trees;		/* enum config_model_trees */
	/* metrics */
	struct config_addr metrics_listen;	/* master's /metrics port */
	unsigned	metrics_max_connections;
	double		metrics_timeout;	/* seconds, metrics port */
	double		buckets[CONFIG_MAX_BUCKETS];
	size_t		nbuckets;
	/* logging */
	int		log_level;		/* enum log_level */
	int		log_to;			/* enum config_log_to */
	int		log_facility;		/* index in log_facility_names */
	/* privileges */
	char		user[CONFIG_NAME_MAX];	/* "": keep the user */
	char		group[CONFIG_NAME_MAX];	/* "": the user's group */
	/* Finding the slow requests: access log, IDs, slow-request log. */
	char		access_log[CONFIG_PATH_MAX];	/* off, stderr, path */
	size_t		access_log_buffer;	/* bytes per worker */
	double		access_log_flush;	/* seconds; 0: every line */
	size_t		request_id_max_length;	/* X-Request-Id kept */
	double		slow_request_threshold;	/* seconds; 0: off */
	unsigned	slow_request_log_rate;	/* lines/s per worker */
	/* defending the SLO: heavy work off the loop, admission, stalls */
	unsigned	worker_threads;		/* 0: all work on the loop */
	size_t		offload_min_work;	/* rows x trees */
	size_t		offload_min_body;	/* bytes */
	int		admission;		/* shed past the target */
	double		admission_target;	/* seconds of waiting */
	double		worker_stall_interval;	/* seconds: not ready */
};

/*
 * The shorter of worker_stall_interval (not ready) and
 * worker_stall_timeout (killed): the heartbeat runs at a quarter of it
 * (shm_heartbeat_interval), so that both are judged on fresh stamps.
 */
static inline double
config_stall_period(const struct config *cfg)
{
	return cfg->worker_stall_interval < cfg->worker_stall_timeout ?
	    cfg->worker_stall_interval : cfg->worker_stall_timeout;
}

/* Fill cfg with the defaults. */
void	 config_defaults(struct config *cfg);

/*
 * Set key to value.  origin names where the value came from (for example
 * "inferd.conf:12" or "command line (-w)"); it starts every error message.
 * Returns 0, or -1 with a message in err.
 */
int	 config_set(struct config *cfg, const char *key, const char *value,
	    const char *origin, char *err, size_t errlen);

/*
 * Parse the text of a configuration file named name: one "key = value" per
 * line, '#' starts a comment, blank lines ignored.  Stops at the first
 * error, reported as "name:line: ...".  Returns 0 or -1.
 */
int	 config_parse(struct config *cfg, const char *text, const char *name,
	    char *err, size_t errlen);

/* Read and parse the file at path; errors as config_parse, or naming the
 * file when it cannot be read. */
int	 config_load(struct config *cfg, const char *path, char *err,
	    size_t errlen);

/* Parse "host:port" or "[v6]:port" into addr; 0 or -1. */
int	 config_parse_addr(const char *s, struct config_addr *addr);

/*
 * For a reload: the keys the table marks restart-only (they shape the
 * sockets, the segment, the log or the credentials) get their running
 * values back in next.  Their names, comma-separated, go into changed
 * ("" when none changed).
 */
void	 config_keep_restart_keys(const struct config *running,
	    struct config *next, char *changed, size_t len);

/* Whether the i-th key (config_key_doc's order) has different values in a
 * and b: what config_keep_restart_keys compares. */
int	 config_key_differs(const struct config *a, const struct config *b,
	    size_t i);

/* The i-th configuration key, its default and a one-line description, for
 * --help; NULL past the last key. */
const char *config_key_doc(size_t i, const char **dflt, const char **help);

#endif /* INFERD_CONFIG_H */
