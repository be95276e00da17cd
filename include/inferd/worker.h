/*
 * worker: one worker process.  A single-threaded libevent loop with one
 * HTTP server (conn.h) that accepts on the listening socket its slot was given,
 * answers the inference routes, and records every request into its shared-
 * memory metrics slot.  SIGTERM drains it: it stops accepting, lets the
 * requests in flight finish (at most drain_timeout seconds) and exits 0.
 */
#ifndef INFERD_WORKER_H
#define INFERD_WORKER_H

struct config;
struct model;
struct shm_segment;
struct shm_slot;

/* Everything a worker is handed by the master when it is forked. */
struct worker_params {
	const struct config	*cfg;
	const struct model	*model;
	const struct shm_segment *seg;
	struct shm_slot		*slot;
	int			 listen_fd;
	unsigned		 index;		/* listener slot, for titles */
};

/* Run the worker until it is told to stop; returns the exit status. */
int	worker_run(const struct worker_params *);

#endif /* INFERD_WORKER_H */
