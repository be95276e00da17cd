/*
 * shm: the shared-memory segment that carries every worker's metrics to the
 * master.  A header (magic, layout version, slot count, bucket bounds) and
 * one cache-line-aligned slot per worker process.
 *
 * Concurrency contract: a slot is written only by the worker that the
 * master assigned to it (and, across a respawn, by its successor, never
 * both at once), so a counter is updated by an atomic load and an atomic
 * store, not a read-modify-write (no lock prefix on the hot path); the
 * master reads every slot at any time with atomic loads.  Every counter only grows, so each value a reader
 * sees is at least the value an earlier read saw.  A snapshot derives the
 * histogram count from the buckets themselves, so +Inf always equals
 * _count and the cumulative buckets never decrease.  The only fields the
 * master writes are a dead worker's in-flight gauge, pid and heartbeat,
 * which it zeroes after reaping the worker and before the slot is handed
 * to anybody else.
 *
 * Heartbeats: a worker stamps heartbeat_ns (CLOCK_MONOTONIC, the same
 * clock in every process) from a timer of its event loop every
 * shm_heartbeat_interval() seconds, so a loop that is blocked stops
 * stamping; the master reads it to decide whether the worker is alive.
 *
 * A worker stores its pid when it is ready (accepts): that is how the
 * master tells a start-up failure from the death of a serving worker.
 */
#ifndef INFERD_SHM_H
#define INFERD_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "inferd/config.h"

/*
 * The rows of the request counters: one per handler.  The handlers, their
 * ids and labels, are the route table's (routes.h), which checks this
 * count; the segment only sizes its arrays by it.
 */
#define SHM_NHANDLERS	15

/*
 * The status codes inferd answers with; anything else counts as 500.  499
 * (as nginx counts it) is a request whose client left before the answer.
 */
#define SHM_CODES(X)	X(200) X(400) X(404) X(405) X(413) X(499) X(500) \
			X(503)

enum shm_code {
#define X(code)		SHM_C_##code,
	SHM_CODES(X)
#undef X
	SHM_NCODES
};

/*
 * Why admission control shed a request (answered 503 before any work; see
 * routes.c): X(id, label).  queue: the worker's heavy-work queue had held
 * a request longer than admission_target; wait: this request itself had
 * waited longer than that before its handler ran.
 */
#define SHM_SHED_REASONS(X)	X(QUEUE, "queue") X(WAIT, "wait")

enum shm_shed {
#define X(id, label)	SHM_SHED_##id,
	SHM_SHED_REASONS(X)
#undef X
	SHM_NSHED
};

extern const char *const shm_shed_names[SHM_NSHED];

/*
 * The native (exponential) buckets of the latency histogram, as Prometheus'
 * native histograms define them: schema 4, so bucket k holds the latencies
 * in (2^((k-1)/16), 2^(k/16)] seconds and each bucket is 2^(1/16) = 1.044
 * times as wide as the one before.  histogram_quantile interpolates inside
 * the bucket that holds the quantile, linearly in Prometheus 2 (worst
 * relative error 0.95 x 4.4 % = 4.2 %) and exponentially in Prometheus 3
 * (2.1 %); schema 3 would read up to 8.6 % high on Prometheus 2.  The index
 * range is fixed: (2^-20 s, 2^12 s], about 1 us to 68 min (max_delay is at
 * most an hour); latencies at most 2^-20 s count in the zero bucket, those
 * above 2^12 s in the top bucket.
 */
#define SHM_NATIVE_SCHEMA	4
#define SHM_NATIVE_MIN		(-319)		/* (2^-20, 2^(-319/16)] */
#define SHM_NATIVE_MAX		192		/* (.., 2^12] */
#define SHM_NATIVE_N		(SHM_NATIVE_MAX - SHM_NATIVE_MIN + 1)
#define SHM_NATIVE_ZERO		(1.0 / 1048576)	/* zero threshold, 2^-20 */

/*
 * Fixed classic buckets of inferd_model_compute_seconds (seconds) and of
 * inferd_request_rows (rows): their bounds are in shm_compute_bounds and
 * shm_rows_bounds.
 */
#define SHM_COMPUTE_NB		16
#define SHM_ROWS_NB		13

/*
 * The slot's counters, declared once: X(type, name, dims) is a counter (or
 * an array of them, dims its declarator suffix) that the slot holds as
 * C11 atomics, the snapshot as plain values, and shm_snapshot() sums over
 * the slots.  A new counter is one line here.  The native buckets come
 * first: see the ordering rule in shm_record().
 */
#define SHM_SLOT_FIELDS(X)						\
	/* native[k - SHM_NATIVE_MIN] counts latencies in native bucket	\
	 * k; native_zero those at most SHM_NATIVE_ZERO. */		\
	X(uint64_t, native, [SHM_NATIVE_N])				\
	X(uint64_t, native_zero, )					\
	/* Non-cumulative: buckets[i] counts observations in		\
	 * (bounds[i-1], bounds[i]]; buckets[nbuckets] those above. */	\
	X(uint64_t, buckets, [CONFIG_MAX_BUCKETS + 1])			\
	X(uint64_t, sum_ns, )		/* sum of latencies */		\
	X(uint64_t, compute, [SHM_COMPUTE_NB + 1])			\
	X(uint64_t, compute_sum_ns, )					\
	X(uint64_t, rows, [SHM_ROWS_NB + 1])				\
	X(uint64_t, rows_sum, )						\
	X(uint64_t, requests, [SHM_NHANDLERS][SHM_NCODES])		\
	X(uint64_t, slow_requests, )	/* above slow_request_threshold */ \
	X(uint64_t, access_log_errors, )	/* failed write(2)s */	\
	X(uint64_t, shed, [SHM_NSHED])	/* 503s of admission control */	\
	X(int64_t, in_flight, )

/*
 * The slots are shared between processes: an atomic that is not lock-free
 * would take a lock private to each process, and its updates would silently
 * not be atomic across them.  (uint64_t is a long or a long long.)
 */
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2 &&
    ATOMIC_INT_LOCK_FREE == 2,
    "the slot's atomics must be lock-free to be shared between processes");

/*
 * An exemplar: the most recent observation of one classic bucket of the
 * latency histogram, with the ID of its request.  Written by the slot's
 * one worker, read by the master at any time, without a lock: a sequence
 * counter (a seqlock) is odd while the worker writes; the master copies
 * the fields and keeps the copy only if the counter was even and the same
 * before and after (shm_exemplar_read).  Every field is an atomic so that
 * the concurrent accesses are defined; the ID is packed into words.
 */
#define SHM_EXEMPLAR_ID	64	/* bytes of ID: TRACE_REQID_MAX */
#define SHM_EXEMPLAR_WORDS (SHM_EXEMPLAR_ID / 8)

enum shm_exemplar_kind {
	SHM_EXEMPLAR_NONE,
	SHM_EXEMPLAR_TRACE,	/* label trace_id: a W3C trace ID */
	SHM_EXEMPLAR_REQUEST,	/* label request_id: no traceparent came */
};

struct shm_exemplar {
	_Atomic uint32_t	seq;		/* odd: being written */
	_Atomic uint32_t	kind;		/* enum shm_exemplar_kind */
	_Atomic uint64_t	value_ns;	/* the latency observed */
	_Atomic int64_t		time_ms;	/* Unix milliseconds */
	_Atomic uint64_t	id[SHM_EXEMPLAR_WORDS];	/* NUL-padded */
};

/* An exemplar as the master reads it. */
struct shm_exemplar_copy {
	enum shm_exemplar_kind kind;	/* NONE: the bucket has none */
	double		value;		/* seconds */
	int64_t		time_ms;	/* Unix milliseconds */
	char		id[SHM_EXEMPLAR_ID + 1];
};

struct shm_slot {
#define X(type, name, dims)	_Atomic type name dims;
	SHM_SLOT_FIELDS(X)
#undef X
	/* Not summed: the latest exemplar of each classic bucket. */
	struct shm_exemplar	exemplars[CONFIG_MAX_BUCKETS + 1];
	/* Not summed: who writes the slot, and when it last showed life. */
	_Atomic int32_t		pid;		/* its worker, once it accepts */
	_Atomic int64_t		heartbeat_ns;	/* CLOCK_MONOTONIC; 0: none */
} __attribute__((aligned(64)));

struct shm_header {
	uint64_t	magic;
	uint32_t	version;
	uint32_t	nslots;
	uint32_t	nbuckets;
	double		bounds[CONFIG_MAX_BUCKETS];
} __attribute__((aligned(64)));

/*
 * A process's handle on the segment.  The layout is kept here too, in
 * private memory: a worker could scribble over the shared header, and the
 * master must not size its loops by it.
 */
struct shm_segment {
	struct shm_header	*hdr;
	struct shm_slot		*slots;
	size_t			 size;
	size_t			 nslots;
	size_t			 nbuckets;
	double			 bounds[CONFIG_MAX_BUCKETS];
	/*
	 * The first classic bucket a latency of each native bucket can
	 * fall in ([0] for the zero bucket, [k - SHM_NATIVE_MIN + 1] for
	 * bucket k): the classic index is found from there in a step or
	 * two instead of a binary search.
	 */
	uint8_t			 native_classic[SHM_NATIVE_N + 1];
	char			 name[64];	/* as created, unlinked since;
						   "" when not POSIX shm */
};

/* An aggregate of all slots, taken at one moment. */
struct shm_snapshot {
#define X(type, name, dims)	type name dims;
	SHM_SLOT_FIELDS(X)
#undef X
	size_t		nbuckets;
	double		bounds[CONFIG_MAX_BUCKETS];
	uint64_t	cumulative[CONFIG_MAX_BUCKETS + 1]; /* last is +Inf */
	uint64_t	count;		/* of the classic buckets */
	double		sum;		/* seconds */
	uint64_t	native_count;	/* native buckets and zero bucket */
	uint64_t	compute_cumulative[SHM_COMPUTE_NB + 1];
	uint64_t	compute_count;
	double		compute_seconds;
	uint64_t	rows_cumulative[SHM_ROWS_NB + 1];
	uint64_t	rows_count;
	/* Per classic bucket, the most recent exemplar of all slots. */
	struct shm_exemplar_copy exemplars[CONFIG_MAX_BUCKETS + 1];
};

/* One finished request, as shm_record() counts it. */
struct shm_request {
	unsigned	handler;	/* row of the counters */
	int		status;		/* as answered; 499 if the client left */
	int		observe;	/* an inference route: SLO histogram */
	int		shed;		/* 1 + enum shm_shed, or 0: not shed */
	double		latency;	/* seconds since it arrived */
	uint32_t	rows;		/* rows the model predicted; 0: none */
	double		compute;	/* seconds in the model, when rows > 0 */
	/* The exemplar of an observed latency: kind NONE for none. */
	enum shm_exemplar_kind exemplar_kind;
	const char	*exemplar_id;	/* at most SHM_EXEMPLAR_ID bytes */
	int64_t		time_ms;	/* Unix milliseconds, when answered */
};

extern const int shm_code_values[SHM_NCODES];
extern const double shm_compute_bounds[SHM_COMPUTE_NB];
extern const double shm_rows_bounds[SHM_ROWS_NB];

/*
 * Seconds between two heartbeats of a worker whose stall timeout is
 * stall: a quarter of it, from 10 ms to 1 s.  A heartbeat older than
 * twice that is late (the master holds back systemd's WATCHDOG=1); older
 * than stall, the worker is killed.
 */
static inline double
shm_heartbeat_interval(double stall)
{
	double	h = stall / 4;

	return h < 0.01 ? 0.01 : h > 1.0 ? 1.0 : h;
}

/* Now on the heartbeat clock, in nanoseconds. */
int64_t	 shm_now_ns(void);

/* Stamp the slot's heartbeat with the time of now. */
void	 shm_heartbeat(struct shm_slot *);

/*
 * Whether the shared header still holds the magic, layout version and
 * slot count this process wrote: 0, or -1 with what is wrong in why.
 */
int	 shm_check(const struct shm_segment *, char *why, size_t len);

/* Bytes a segment of nslots slots takes. */
size_t	 shm_size(size_t nslots);

/* Lay out a zeroed segment in mem (shm_size(nslots) bytes, 64-aligned). */
void	 shm_init(struct shm_segment *, void *mem, size_t nslots,
	    const double *bounds, size_t nbounds);

/*
 * Create a POSIX shm segment under an unpredictable name
 * (/inferd.<pid>.<random>, O_EXCL, mode 0600), reserve its pages
 * (posix_fallocate: a full /dev/shm fails here, not with SIGBUS later),
 * map it, unlink the name at once and lay it out.  Processes forked
 * afterwards share the mapping; nobody can open it by name.  0 or -1
 * with errno set; the step that failed is logged in one line.
 */
int	 shm_create(struct shm_segment *, size_t nslots, const double *bounds,
	    size_t nbounds);
/* Unmap the segment. */
void	 shm_destroy(struct shm_segment *);

/* Index of the bucket that a latency of seconds falls in. */
size_t	 shm_bucket_index(const double *bounds, size_t nbounds,
	    double seconds);

/*
 * The native bucket k (SHM_NATIVE_MIN..SHM_NATIVE_MAX) that a latency of
 * seconds falls in, or SHM_NATIVE_MIN - 1 for the zero bucket (at most
 * SHM_NATIVE_ZERO, negative or NaN).  Above 2^12 s: SHM_NATIVE_MAX.
 */
int	 shm_native_index(double seconds);
/* The upper bound of native bucket k, exactly as Prometheus computes it. */
double	 shm_native_upper(int k);

/* Map a status code to its counter index (unknown codes count as 500). */
enum shm_code	 shm_code_index(int status);

/*
 * Whether a request answered with status counts in the SLO histogram: a
 * valid request, answered 2xx or 5xx, or 499 (its client gave up waiting).
 * Client errors (4xx but 499) are not: a flood of fast invalid requests
 * must not lower p95.
 */
int	 shm_observed(int status);

/*
 * Count one finished request in its handler's row (< SHM_NHANDLERS) and,
 * when it is an observed inference (shm_observed), its latency in the
 * classic and native buckets; rows and compute when the model ran.
 * Only the slot's one writer calls it.
 */
void	 shm_record(const struct shm_segment *, struct shm_slot *,
	    const struct shm_request *);

/*
 * Add delta to the in-flight gauge of the caller's own slot: an atomic
 * load and store, as every update of a slot by its one writer.
 */
static inline void
shm_in_flight_add(struct shm_slot *slot, int64_t delta)
{
	atomic_store_explicit(&slot->in_flight, atomic_load_explicit(
	    &slot->in_flight, memory_order_relaxed) + delta,
	    memory_order_relaxed);
}

/*
 * Store an exemplar in bucket b of the caller's own slot (the seqlock's
 * one writer).  id is cut at SHM_EXEMPLAR_ID bytes.
 */
void	 shm_exemplar_write(struct shm_exemplar *, enum shm_exemplar_kind,
	    const char *id, double seconds, int64_t time_ms);
/*
 * Copy an exemplar that its worker may be writing: 0 with a consistent
 * copy (kind NONE if it never was written), or -1 when every try met a
 * write in progress.
 */
int	 shm_exemplar_read(const struct shm_exemplar *,
	    struct shm_exemplar_copy *);

/* Aggregate all slots into snap; each bucket's exemplar is the most recent
 * of all slots. */
void	 shm_snapshot(const struct shm_segment *, struct shm_snapshot *snap);

#endif /* INFERD_SHM_H */
