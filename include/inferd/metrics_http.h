/*
 * metrics_http: the master's HTTP server on the metrics listener.  GET (or
 * HEAD) /metrics answers the exposition in the format the Accept header
 * prefers; GET /healthz answers {"status":"ok","workers_alive":N}, or 503
 * {"status":"unavailable","workers_alive":0} while no worker serves, or
 * 503 {"status":"stalled",...} while a worker's loop has not turned for
 * worker_stall_interval (*stalled of the alive callback).  HEAD
 * is answered like GET without the body.  Any other path is 404 and any
 * other method 405, both with a JSON error.  It is served by the same HTTP
 * layer (conn.h), with the same kind of bounds, as the workers.
 */
#ifndef INFERD_METRICS_HTTP_H
#define INFERD_METRICS_HTTP_H

#include <stddef.h>

struct event_base;
struct expo_metrics;
struct metrics_http;
struct shm_segment;

/*
 * Fill everything but em->snap with the master's figures of now (called
 * for each request; arg as given to metrics_http_new).
 */
typedef void	(*metrics_http_fill_cb)(struct expo_metrics *em, void *arg);
/* The number of workers alive now (for /healthz; cheap, no /proc read). */
typedef unsigned (*metrics_http_alive_cb)(void *arg, unsigned *stalled);

/* The bounds of the metrics port. */
struct metrics_http_limits {
	size_t		 max_header_bytes;	/* larger heads are refused */
	unsigned	 max_connections;	/* open at once */
	double		 timeout;		/* seconds: head, body, idle,
						   write stall */
};

/*
 * Serve on the listening socket fd (taken over, closed on failure) of base,
 * with the workers' counters in seg and the master's from fill (alive for
 * /healthz), within
 * lim.  NULL on failure, logged.
 */
struct metrics_http *metrics_http_new(struct event_base *, int fd,
		    const struct metrics_http_limits *lim,
		    const struct shm_segment *seg, metrics_http_fill_cb fill,
		    metrics_http_alive_cb alive, void *arg);
/* New bounds (a reload): open connections, timeouts, head size. */
void		 metrics_http_set_limits(struct metrics_http *,
		    const struct metrics_http_limits *);
/* Stop serving and free the server (NULL is fine). */
void		 metrics_http_free(struct metrics_http *);

#endif /* INFERD_METRICS_HTTP_H */
