/*
 * expo: the Prometheus exposition writer.  A snapshot of the metrics goes
 * in, text comes out, in the text format 0.0.4 or OpenMetrics 1.0.0.  Pure
 * module: it only appends to an evbuffer.
 */
#ifndef INFERD_EXPO_H
#define INFERD_EXPO_H

#include <stdint.h>

struct evbuffer;
struct shm_snapshot;

enum expo_format {
	EXPO_TEXT,		/* text/plain; version=0.0.4 */
	EXPO_OPENMETRICS,	/* application/openmetrics-text; 1.0.0 */
};

/* Everything a scrape shows: the workers' aggregate and the master's own. */
struct expo_metrics {
	const struct shm_snapshot *snap;
	unsigned	 workers;		/* configured */
	unsigned	 workers_alive;		/* serving */
	uint64_t	 worker_restarts;
	uint64_t	 worker_start_failures;	/* died before ready */
	uint64_t	 model_load_failures;
	double		 start_time;		/* Unix seconds */
	const char	*version;
	const char	*model_name;
	const char	*model_sha256;
	const char	*model_objective;
};

/* Choose a format from an Accept header (NULL: none sent). */
enum expo_format expo_negotiate(const char *accept);
/* The Content-Type header of a format. */
const char	*expo_content_type(enum expo_format);
/* Append the whole exposition; 0, or -1 when out of memory. */
int		 expo_write(struct evbuffer *, enum expo_format,
		    const struct expo_metrics *);
/*
 * Append the HELP and TYPE lines of a family.  name is the sample name
 * (with _total or _info); type is counter, gauge, histogram or info (a
 * gauge in the text format).  0 or -1.
 */
int		 expo_write_family(struct evbuffer *, enum expo_format,
		    const char *name, const char *type, const char *help);
/* Append value in the shortest form that reads back exactly, with ".0"
 * added to integral values ("1.0", "2.5", "+Inf"); 0 or -1. */
int		 expo_write_double(struct evbuffer *, double);

#endif /* INFERD_EXPO_H */
