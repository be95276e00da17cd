/*
 * metrics_http: the master's HTTP server on the metrics listener.  GET (or
 * HEAD) /metrics answers the exposition in the format the Accept header
 * prefers; GET /healthz answers {"status":"ok","workers_alive":N}.  Any
 * other path is 404 and any other method 405, both with a JSON error.
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

/*
 * Serve on the listening socket fd (taken over, closed on failure) of base,
 * with the workers' counters in seg and the master's from fill.  Heads
 * larger than max_header_bytes are refused.  NULL on failure, logged.
 */
struct metrics_http *metrics_http_new(struct event_base *, int fd,
		    size_t max_header_bytes, const struct shm_segment *seg,
		    metrics_http_fill_cb fill, void *arg);
/* Stop serving and free the server (NULL is fine). */
void		 metrics_http_free(struct metrics_http *);

#endif /* INFERD_METRICS_HTTP_H */
