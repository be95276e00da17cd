/*
 * expo: the Prometheus exposition writer.  A snapshot of the metrics goes
 * in, text comes out, in the text format 0.0.4 or OpenMetrics 1.0.0.  Pure
 * module: it only appends to an evbuffer.
 */
#ifndef INFERD_EXPO_H
#define INFERD_EXPO_H

#include <stdint.h>

#include "inferd/procstat.h"

struct evbuffer;
struct shm_snapshot;

enum expo_format {
	EXPO_TEXT,		/* text/plain; version=0.0.4 */
	EXPO_OPENMETRICS,	/* application/openmetrics-text; 1.0.0 */
	EXPO_PROTOBUF,		/* delimited io.prometheus.client.MetricFamily */
};

/*
 * Every family a scrape shows, in order, declared once for all formats:
 * X(id, name, type, help).  name is the sample name (with _total or _info);
 * type is counter, gauge, histogram or info.
 */
#define EXPO_FAMILIES(X)						\
	X(LATENCY, "prediction_latency_seconds", "histogram",		\
	    "Time from the kernel's receipt of the first byte of a "	\
	    "valid inference request "					\
	    "(/predict, /v1/models/{name}:predict, "			\
	    "/v2/models/{name}[/versions/{version}]/infer) to the "	\
	    "write of its response, less the time spent waiting for "	\
	    "the client's bytes; requested delay included. Observed for responses 2xx and "	\
	    "5xx and for 499 (the client left first); never for client " \
	    "errors 4xx, which inferd_http_requests_total counts.")	\
	X(COMPUTE, "inferd_model_compute_seconds", "histogram",	\
	    "Time the model took to predict the rows of one prediction " \
	    "request (POST /predict, /v2/models/{name}/infer): the "	\
	    "evaluation alone, without parsing, formatting, delay or "	\
	    "I/O.")							\
	X(ROWS, "inferd_request_rows", "histogram",			\
	    "Rows the model predicted for one prediction request (POST " \
	    "/predict, /v2/models/{name}/infer).")			\
	X(REQUESTS, "inferd_http_requests_total", "counter",		\
	    "HTTP requests answered by the workers, by handler and "	\
	    "status code.")						\
	X(SLOW_REQUESTS, "inferd_slow_requests_total", "counter",	\
	    "Requests slower than slow_request_threshold (each is "	\
	    "logged at warning, rate-limited by slow_request_log_rate).") \
	X(ACCESS_LOG_ERRORS, "inferd_access_log_write_errors_total",	\
	    "counter", "Writes of the access log that failed or came "	\
	    "short; their lines are lost.")				\
	X(SHED, "inferd_requests_shed_total", "counter",		\
	    "Inference requests admission control answered 503 before "	\
	    "any work, by reason: queue (the worker's heavy-work queue "	\
	    "had held a request longer than admission_target) or wait " \
	    "(the request had waited that long itself). Not observed in " \
	    "prediction_latency_seconds; they count against the "	\
	    "availability SLO.")						\
	X(IN_FLIGHT, "inferd_http_requests_in_flight", "gauge",	\
	    "Requests the workers are answering now.")			\
	X(WORKERS, "inferd_workers", "gauge",				\
	    "Worker processes configured.")				\
	X(WORKERS_ALIVE, "inferd_workers_alive", "gauge",		\
	    "Worker processes running now.")				\
	X(WORKERS_STALLED, "inferd_workers_stalled", "gauge",		\
	    "Workers whose event loop has not turned for "		\
	    "worker_stall_interval: not ready; replaced once their "	\
	    "heartbeat is worker_stall_timeout old.")			\
	X(RESTARTS, "inferd_worker_restarts_total", "counter",		\
	    "Workers the master replaced after they died.")		\
	X(STALLS, "inferd_worker_stalls_total", "counter",		\
	    "Workers the master killed because their heartbeat stopped for " \
	    "worker_stall_timeout.")					\
	X(START_FAILURES, "inferd_worker_start_failures_total", "counter", \
	    "Workers that died (or could not be forked) before they "	\
	    "were ready; each is restarted after a backoff.")		\
	X(MODEL, "inferd_model_info", "info", "The model being served.") \
	X(RELOAD_FAILURES, "inferd_reload_failures_total", "counter",	\
	    "Reloads refused (the running configuration and model kept), " \
	    "by what was at fault: config or model.")			\
	X(BUILD, "inferd_build_info", "info", "inferd's version.")	\
	X(CPU, "process_cpu_seconds_total", "counter",			\
	    "User and system CPU time of the master and its workers, "	\
	    "those that exited included, in seconds.")			\
	X(RSS, "process_resident_memory_bytes", "gauge",		\
	    "Resident memory of the master and its workers, summed (a " \
	    "page they share counts once per process).")		\
	X(VSIZE, "process_virtual_memory_bytes", "gauge",		\
	    "Virtual memory of the master and its workers, summed.")	\
	X(OPEN_FDS, "process_open_fds", "gauge",			\
	    "Open file descriptors of the master and its workers, "	\
	    "summed.")							\
	X(MAX_FDS, "process_max_fds", "gauge",				\
	    "File descriptor limits (RLIMIT_NOFILE) of the master and "	\
	    "its workers, summed: process_open_fds / process_max_fds "	\
	    "is the share in use.")					\
	X(START_TIME, "process_start_time_seconds", "gauge",		\
	    "Start time of the master process since the Unix epoch in "	\
	    "seconds.")

enum expo_family_id {
#define X(id, name, type, help)	EXPO_F_##id,
	EXPO_FAMILIES(X)
#undef X
	EXPO_NFAMILIES
};

struct expo_family {
	const char	*name;
	const char	*type;
	const char	*help;
};

extern const struct expo_family expo_families[EXPO_NFAMILIES];


/* Everything a scrape shows: the workers' aggregate and the master's own. */
struct expo_metrics {
	const struct shm_snapshot *snap;
	/*
	 * The label of each row of snap's request counters (SHM_NHANDLERS
	 * of them): the route table's names, passed in by the caller so
	 * that the exposition knows no route.  Row handler_main is written
	 * with code 200 even at 0, so that its series exists from the start.
	 */
	const char *const *handler_names;
	unsigned	 handler_main;
	unsigned	 workers;		/* configured */
	unsigned	 workers_alive;		/* serving */
	unsigned	 workers_stalled;	/* loop late by the interval */
	uint64_t	 worker_restarts;
	uint64_t	 worker_start_failures;	/* died before ready */
	uint64_t	 worker_stalls;		/* killed for a stale heartbeat */
	uint64_t	 reload_failures_config;	/* SIGHUP, bad file */
	uint64_t	 reload_failures_model;		/* SIGHUP, bad model */
	double		 start_time;		/* Unix seconds */
	struct procstat	 proc;		/* master and workers, summed */
	const char	*version;
	const char	*model_name;
	const char	*model_sha256;
	const char	*model_objective;
};

/*
 * Choose a format from an Accept header (NULL: none sent): the one with the
 * highest q, protobuf before OpenMetrics before text on a tie; protobuf
 * only as proto=io.prometheus.client.MetricFamily; encoding=delimited.
 */
enum expo_format expo_negotiate(const char *accept);
/* The Content-Type header of a format. */
const char	*expo_content_type(enum expo_format);
/*
 * Append the whole exposition in a text format (EXPO_PROTOBUF: see
 * expo_pb.h); 0, or -1 when out of memory.
 */
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
