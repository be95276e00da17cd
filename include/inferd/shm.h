/*
 * shm: the shared-memory segment that carries every worker's metrics to the
 * master.  A header (magic, layout version, slot count, bucket bounds) and
 * one cache-line-aligned slot per worker process.
 *
 * Concurrency contract: a slot is written only by the worker that the
 * master assigned to it (and, across a respawn, by its successor), always
 * with C11 atomic read-modify-writes; the master reads every slot at any
 * time with atomic loads.  Every counter only grows, so each value a reader
 * sees is at least the value an earlier read saw.  A snapshot derives the
 * histogram count from the buckets themselves, so +Inf always equals
 * _count and the cumulative buckets never decrease.  The only fields the
 * master writes are a dead worker's in-flight gauge and pid, which it
 * zeroes after reaping the worker and before the slot is handed to anybody
 * else.  A worker stores its pid when it is ready (accepts): that is how
 * the master tells a start-up failure from the death of a serving worker.
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
#define SHM_NHANDLERS	8

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
 * The slot's counters, declared once: X(type, name, dims) is a counter (or
 * an array of them, dims its declarator suffix) that the slot holds as
 * C11 atomics, the snapshot as plain values, and shm_snapshot() sums over
 * the slots.  A new counter is one line here.
 */
#define SHM_SLOT_FIELDS(X)						\
	/* Non-cumulative: buckets[i] counts observations in		\
	 * (bounds[i-1], bounds[i]]; buckets[nbuckets] those above. */	\
	X(uint64_t, buckets, [CONFIG_MAX_BUCKETS + 1])			\
	X(uint64_t, sum_ns, )		/* sum of latencies */		\
	X(uint64_t, requests, [SHM_NHANDLERS][SHM_NCODES])		\
	X(int64_t, in_flight, )

/*
 * The slots are shared between processes: an atomic that is not lock-free
 * would take a lock private to each process, and its updates would silently
 * not be atomic across them.  (uint64_t is a long or a long long.)
 */
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2 &&
    ATOMIC_INT_LOCK_FREE == 2,
    "the slot's atomics must be lock-free to be shared between processes");

struct shm_slot {
#define X(type, name, dims)	_Atomic type name dims;
	SHM_SLOT_FIELDS(X)
#undef X
	_Atomic int32_t		pid;		/* its worker, once it accepts */
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
	char			 name[64];	/* "" when not POSIX shm */
};

/* An aggregate of all slots, taken at one moment. */
struct shm_snapshot {
#define X(type, name, dims)	type name dims;
	SHM_SLOT_FIELDS(X)
#undef X
	size_t		nbuckets;
	double		bounds[CONFIG_MAX_BUCKETS];
	uint64_t	cumulative[CONFIG_MAX_BUCKETS + 1]; /* last is +Inf */
	uint64_t	count;
	double		sum;		/* seconds */
};

extern const int shm_code_values[SHM_NCODES];

/* Bytes a segment of nslots slots takes. */
size_t	 shm_size(size_t nslots);

/* Lay out a zeroed segment in mem (shm_size(nslots) bytes, 64-aligned). */
void	 shm_init(struct shm_segment *, void *mem, size_t nslots,
	    const double *bounds, size_t nbounds);

/*
 * Create the POSIX shm segment /inferd.<pid> (a stale one of a dead run
 * with the same name is replaced), map it and lay it out.  0 or -1 with
 * errno set; the step that failed is logged.
 */
int	 shm_create(struct shm_segment *, size_t nslots, const double *bounds,
	    size_t nbounds);
/* Unmap and unlink the segment. */
void	 shm_destroy(struct shm_segment *);

/* Index of the bucket that a latency of seconds falls in. */
size_t	 shm_bucket_index(const double *bounds, size_t nbounds,
	    double seconds);

/* Map a status code to its counter index (unknown codes count as 500). */
enum shm_code	 shm_code_index(int status);

/*
 * Count one finished request in row handler (< SHM_NHANDLERS); observe its
 * latency if observe is set.
 */
void	 shm_record(const struct shm_segment *, struct shm_slot *,
	    unsigned handler, int status, int observe, double seconds);

/* Aggregate all slots into snap. */
void	 shm_snapshot(const struct shm_segment *, struct shm_snapshot *snap);

#endif /* INFERD_SHM_H */
