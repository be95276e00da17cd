/*
 * trace: the identities of a request.  A request ID (the client's
 * X-Request-Id when it is short and printable, else one made here, unique
 * across workers and restarts) and a W3C Trace Context trace ID (from a
 * valid traceparent header; an invalid one is ignored).  Pure module: no
 * I/O but the one getrandom(2) that seeds a generator.
 */
#ifndef INFERD_TRACE_H
#define INFERD_TRACE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The longest request ID kept or made, in bytes: request_id_max_length is
 * at most this.  64 leaves an exemplar's label set (request_id="...")
 * within OpenMetrics' 128 characters.
 */
#define TRACE_REQID_MAX		64
#define TRACE_REQID_LEN		(TRACE_REQID_MAX + 1)	/* NUL included */
#define TRACE_ID_LEN		33	/* 32 lowercase hex digits and NUL */
#define TRACE_TRACEPARENT_MAX	512	/* bytes of traceparent looked at */

/* A generator of request IDs, one per worker process. */
struct trace_gen {
	char		prefix[24];	/* "<16 hex random>-<worker>-" */
	size_t		prefixlen;
	uint64_t	next;		/* counter of this process */
};

/*
 * Seed gen for worker index: 64 random bits from getrandom(2) (the clock
 * and pid if it fails), so that a respawned worker, a restarted master and
 * the other workers never make the same IDs.
 */
void	 trace_gen_init(struct trace_gen *, unsigned worker);
/* Write a new ID ("9f3c2a7b1d4e6f80-2-17") into id; return its length. */
size_t	 trace_gen_next(struct trace_gen *, char id[TRACE_REQID_LEN]);

/*
 * Whether an incoming X-Request-Id of len bytes is kept: 1 to max bytes
 * (max at most TRACE_REQID_MAX), every byte visible ASCII (0x21-0x7e).
 */
int	 trace_reqid_valid(const char *s, size_t len, size_t max);

/*
 * Parse a traceparent header value (W3C Trace Context level 1, version 00,
 * or a later version's first 55 bytes followed by '-' or nothing):
 * "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>", lowercase hex,
 * the IDs not all zero, version not ff.  0 with the trace ID in trace_id,
 * or -1 (trace_id is then "").
 */
int	 trace_parse_traceparent(const char *s, char trace_id[TRACE_ID_LEN]);

#endif /* INFERD_TRACE_H */
