/*
 * shm: the segment, the atomic observe path of the workers and the
 * aggregation of the master.  See include/inferd/shm.h for who writes what.
 */
#include "autoconf.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inferd/log.h"
#include "inferd/shm.h"

#define SHM_NAME_TRIES	8	/* random names tried before giving up */
#define SHM_MAGIC	0x494e464552443031ULL	/* "INFERD01" */
#define SHM_VERSION	4	/* 3: exemplars, slow requests, log errors;
				 * 4: shed */

const char *const shm_shed_names[SHM_NSHED] = {
#define X(id, label)	[SHM_SHED_##id] = label,
	SHM_SHED_REASONS(X)
#undef X
};

const int shm_code_values[SHM_NCODES] = {
#define X(code)		[SHM_C_##code] = code,
	SHM_CODES(X)
#undef X
};

/* Model compute time: 10 us to 2.5 s. */
const double shm_compute_bounds[SHM_COMPUTE_NB] = {
	0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5,
};

/* Rows per prediction request: 1 to max_batch_rows' default and beyond. */
const double shm_rows_bounds[SHM_ROWS_NB] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000,
};

/*
 * The bounds of schema 4 in [0.5, 1): 2^(i/16) / 2.  These are the values
 * of Prometheus' own table (exponentialBounds), last bits included, so
 * that a latency on a bound falls in the bucket Prometheus says it does.
 */
static const double shm_native_frac[16] = {
	0.5, 0.5221368912137069, 0.5452538663326288, 0.5693943173783458,
	0.5946035575013605, 0.620928906036742, 0.6484197773255048,
	0.6771277734684463, 0.7071067811865475, 0.7384130729697496,
	0.7711054127039704, 0.805245165974627, 0.8408964152537144,
	0.8781260801866495, 0.9170040432046711, 0.9576032806985735,
};

/* Bytes of a segment with nslots slots. */
size_t
shm_size(size_t nslots)
{
	return sizeof(struct shm_header) + nslots * sizeof(struct shm_slot);
}

/*
 * Fill seg->native_classic: for each native bucket, the classic bucket of
 * the smallest latency in it.
 */
static void
shm_native_map(struct shm_segment *seg)
{
	double	lower = SHM_NATIVE_ZERO;
	int	k;

	seg->native_classic[0] = 0;
	for (k = SHM_NATIVE_MIN; k <= SHM_NATIVE_MAX; k++) {
		seg->native_classic[k - SHM_NATIVE_MIN + 1] =
		    (uint8_t)shm_bucket_index(seg->bounds, seg->nbuckets,
		    nextafter(lower, INFINITY));
		lower = shm_native_upper(k);
	}
}

/* Lay out a zeroed segment in mem. */
void
shm_init(struct shm_segment *seg, void *mem, size_t nslots,
    const double *bounds, size_t nbounds)
{
	seg->hdr = mem;
	seg->slots = (struct shm_slot *)((char *)mem +
	    sizeof(struct shm_header));
	seg->size = shm_size(nslots);
	seg->nslots = nslots;
	seg->nbuckets = nbounds;
	memcpy(seg->bounds, bounds, nbounds * sizeof(*bounds));
	shm_native_map(seg);
	seg->hdr->magic = SHM_MAGIC;
	seg->hdr->version = SHM_VERSION;
	seg->hdr->nslots = (uint32_t)nslots;
	seg->hdr->nbuckets = (uint32_t)nbounds;
	memcpy(seg->hdr->bounds, bounds, nbounds * sizeof(*bounds));
}

/*
 * Remove the segments of inferd masters that died between creating and
 * unlinking theirs: /dev/shm/inferd.<pid>[.<random>] with no such
 * process.  Only our own kind of segment is touched.
 */
static void
shm_remove_stale(void)
{
	DIR		*dir;
	struct dirent	*de;
	char		 name[NAME_MAX + 2], *end;
	long		 pid;

	if ((dir = opendir("/dev/shm")) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, "inferd.", 7) != 0)
			continue;
		pid = strtol(de->d_name + 7, &end, 10);
		if ((*end != '\0' && *end != '.') || pid <= 0 ||
		    pid == (long)getpid() || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		snprintf(name, sizeof(name), "/%s", de->d_name);
		if (shm_unlink(name) == 0)
			log_info("removed stale shared memory %s of dead "
			    "process %ld", name, pid);
	}
	closedir(dir);
}

/*
 * Open a new segment under a name nobody can guess: /inferd.<pid>.<64
 * random bits>, O_EXCL, mode 0600.  A name taken (a squatter, however
 * unlikely) is tried again with other bits.  The descriptor, or -1.
 */
static int
shm_open_new(struct shm_segment *seg)
{
	uint64_t	r;
	int		fd, tries;

	for (tries = 0; tries < SHM_NAME_TRIES; tries++) {
		arc4random_buf(&r, sizeof(r));
		snprintf(seg->name, sizeof(seg->name), "/inferd.%ld.%016llx",
		    (long)getpid(), (unsigned long long)r);
		if ((fd = shm_open(seg->name, O_RDWR | O_CREAT | O_EXCL,
		    0600)) != -1) {
			/* The umask may only have taken bits away. */
			if (fchmod(fd, 0600) == -1) {
				log_error("fchmod %s", seg->name);
				close(fd);
				shm_unlink(seg->name);
				return -1;
			}
			return fd;
		}
		if (errno != EEXIST)
			break;
	}
	log_error("shm_open %s", seg->name);
	return -1;
}

/*
 * Create, size, reserve, map and lay out the segment, then unlink it: the
 * mapping lives on in the master and every worker forked after (fork
 * copies it), and no other process can open, squat or leak the name.  The
 * pages are reserved now (posix_fallocate), so that a /dev/shm too small
 * is an error here and not a SIGBUS at the first write.
 */
int
shm_create(struct shm_segment *seg, size_t nslots, const double *bounds,
    size_t nbounds)
{
	size_t	 size = shm_size(nslots);
	void	*mem;
	int	 fd, rc;

	shm_remove_stale();
	if ((fd = shm_open_new(seg)) == -1)
		return -1;
	if ((rc = posix_fallocate(fd, 0, (off_t)size)) != 0) {
		log_errorx("shared memory: cannot reserve %zu bytes in "
		    "/dev/shm for %zu metrics slots: %s%s", size, nslots,
		    strerror(rc), rc == ENOSPC ? "; make /dev/shm larger or "
		    "lower workers" : "");
		errno = rc;
		goto fail;
	}
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		log_error("mmap %s", seg->name);
		goto fail;
	}
	close(fd);
	if (shm_unlink(seg->name) == -1)
		log_warn("shm_unlink %s", seg->name);
	shm_init(seg, mem, nslots, bounds, nbounds);
	return 0;
fail:
	close(fd);
	shm_unlink(seg->name);
	seg->name[0] = '\0';
	return -1;
}

/* Now on the heartbeat clock. */
int64_t
shm_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Stamp the heartbeat. */
void
shm_heartbeat(struct shm_slot *slot)
{
	atomic_store_explicit(&slot->heartbeat_ns, shm_now_ns(),
	    memory_order_relaxed);
}

/* Check the shared header against the private layout. */
int
shm_check(const struct shm_segment *seg, char *why, size_t len)
{
	const volatile struct shm_header *h = seg->hdr;

	if (h->magic != SHM_MAGIC)
		snprintf(why, len, "magic is %#llx, not %#llx",
		    (unsigned long long)h->magic, (unsigned long long)SHM_MAGIC);
	else if (h->version != SHM_VERSION)
		snprintf(why, len, "layout version is %u, not %u",
		    (unsigned)h->version, SHM_VERSION);
	else if (h->nslots != seg->nslots || h->nbuckets != seg->nbuckets)
		snprintf(why, len, "%u slots and %u buckets, not %zu and %zu",
		    (unsigned)h->nslots, (unsigned)h->nbuckets, seg->nslots,
		    seg->nbuckets);
	else
		return 0;
	return -1;
}

/* Unmap (the name was unlinked at creation). */
void
shm_destroy(struct shm_segment *seg)
{
	if (seg->hdr != NULL)
		munmap(seg->hdr, seg->size);
	seg->hdr = NULL;
	seg->slots = NULL;
	seg->name[0] = '\0';
}

/* First bucket whose upper bound is >= seconds; nbounds for +Inf. */
size_t
shm_bucket_index(const double *bounds, size_t nbounds, double seconds)
{
	size_t	lo = 0, hi = nbounds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (seconds <= bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Native bucket of a latency: frexp and five comparisons, no log(). */
int
shm_native_index(double seconds)
{
	double	frac;
	int	exp, i = 0;

	if (!(seconds > SHM_NATIVE_ZERO))
		return SHM_NATIVE_MIN - 1;
	if (seconds > 4096.0)			/* 2^12, infinity included */
		return SHM_NATIVE_MAX;
	frac = frexp(seconds, &exp);		/* in [0.5, 1) */
	/* i = how many bounds lie below frac: a branchless lower bound. */
	i += shm_native_frac[i + 7] < frac ? 8 : 0;
	i += shm_native_frac[i + 3] < frac ? 4 : 0;
	i += shm_native_frac[i + 1] < frac ? 2 : 0;
	i += shm_native_frac[i] < frac ? 1 : 0;
	i += shm_native_frac[i] < frac ? 1 : 0;
	return i + (exp - 1) * 16;
}

/* Upper bound of native bucket k: frac[k mod 16] * 2^(k div 16 + 1). */
double
shm_native_upper(int k)
{
	int	e = k >= 0 ? k / 16 : -((15 - k) / 16);

	return ldexp(shm_native_frac[k - e * 16], e + 1);
}

/* Counter index of a status code. */
enum shm_code
shm_code_index(int status)
{
	size_t	i;

	for (i = 0; i < SHM_NCODES; i++)
		if (shm_code_values[i] == status)
			return (enum shm_code)i;
	return SHM_C_500;
}

/* Valid requests: 2xx, 3xx, 5xx and 499. */
int
shm_observed(int status)
{
	return status < 400 || status >= 500 || status == 499;
}

/*
 * Add n to a counter of the caller's own slot.  The slot has one writer,
 * so a load and a store do (no read-modify-write, no lock prefix); both
 * are atomic so that the master's concurrent loads see whole values.
 */
static inline void
shm_add(_Atomic uint64_t *c, uint64_t n, memory_order order)
{
	atomic_store_explicit(c, atomic_load_explicit(c,
	    memory_order_relaxed) + n, order);
}

/* Seconds as integer nanoseconds (0 for negatives). */
static inline uint64_t
shm_ns(double seconds)
{
	return seconds > 0 ? (uint64_t)(seconds * 1e9 + 0.5) : 0;
}

/*
 * The latency, in the classic buckets first and then in the native ones,
 * the native store with release order: a reader that loads the native
 * buckets first (acquire, see shm_snapshot) never sees more native than
 * classic observations, so _count covers the native buckets.
 */
static size_t
shm_observe(const struct shm_segment *seg, struct shm_slot *slot,
    double seconds)
{
	int		 k = shm_native_index(seconds);
	size_t		 b = seg->native_classic[k - SHM_NATIVE_MIN + 1];
	_Atomic uint64_t *nb = k < SHM_NATIVE_MIN ? &slot->native_zero :
			    &slot->native[k - SHM_NATIVE_MIN];

	while (b < seg->nbuckets && seconds > seg->bounds[b])
		b++;
	shm_add(&slot->buckets[b], 1, memory_order_relaxed);
	shm_add(&slot->sum_ns, shm_ns(seconds), memory_order_relaxed);
	shm_add(nb, 1, memory_order_release);
	return b;
}

/*
 * The seqlock's write side: the counter goes odd, a release fence orders
 * it before the fields' stores, the fields are stored, and the counter
 * goes even again with release order, after them.
 */
void
shm_exemplar_write(struct shm_exemplar *ex, enum shm_exemplar_kind kind,
    const char *id, double seconds, int64_t time_ms)
{
	uint64_t	w[SHM_EXEMPLAR_WORDS] = { 0 };
	uint32_t	seq = atomic_load_explicit(&ex->seq,
			    memory_order_relaxed);
	size_t		i;

	if (id != NULL)
		memcpy(w, id, strnlen(id, SHM_EXEMPLAR_ID));
	atomic_store_explicit(&ex->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&ex->kind, (uint32_t)kind, memory_order_relaxed);
	atomic_store_explicit(&ex->value_ns, shm_ns(seconds),
	    memory_order_relaxed);
	atomic_store_explicit(&ex->time_ms, time_ms, memory_order_relaxed);
	for (i = 0; i < SHM_EXEMPLAR_WORDS; i++)
		atomic_store_explicit(&ex->id[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&ex->seq, seq + 2, memory_order_release);
}

#define SHM_EXEMPLAR_TRIES	64	/* reads of a seqlock before giving up */

/*
 * The seqlock's read side: the counter with acquire order, the fields,
 * an acquire fence, the counter again; a copy is whole if the counter was
 * even and did not move.  A writer holds it for a few stores, so a retry
 * or two at most is the rule.
 */
int
shm_exemplar_read(const struct shm_exemplar *cex, struct shm_exemplar_copy *out)
{
	struct shm_exemplar *ex = (struct shm_exemplar *)(uintptr_t)cex;
	uint64_t	w[SHM_EXEMPLAR_WORDS];
	uint32_t	s1, s2;
	int		try;
	size_t		i;

	for (try = 0; try < SHM_EXEMPLAR_TRIES; try++) {
		s1 = atomic_load_explicit(&ex->seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		out->kind = (enum shm_exemplar_kind)atomic_load_explicit(
		    &ex->kind, memory_order_relaxed);
		out->value = (double)atomic_load_explicit(&ex->value_ns,
		    memory_order_relaxed) / 1e9;
		out->time_ms = atomic_load_explicit(&ex->time_ms,
		    memory_order_relaxed);
		for (i = 0; i < SHM_EXEMPLAR_WORDS; i++)
			w[i] = atomic_load_explicit(&ex->id[i],
			    memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&ex->seq, memory_order_relaxed);
		if (s1 != s2)
			continue;
		memcpy(out->id, w, SHM_EXEMPLAR_ID);
		out->id[SHM_EXEMPLAR_ID] = '\0';
		if (out->kind != SHM_EXEMPLAR_TRACE &&
		    out->kind != SHM_EXEMPLAR_REQUEST)
			out->kind = SHM_EXEMPLAR_NONE;
		return 0;
	}
	return -1;
}

/* Count one finished request (and observe it). */
void
shm_record(const struct shm_segment *seg, struct shm_slot *slot,
    const struct shm_request *rq)
{
	if (rq->rows > 0) {
		shm_add(&slot->compute[shm_bucket_index(shm_compute_bounds,
		    SHM_COMPUTE_NB, rq->compute)], 1, memory_order_relaxed);
		shm_add(&slot->compute_sum_ns, shm_ns(rq->compute),
		    memory_order_relaxed);
		shm_add(&slot->rows[shm_bucket_index(shm_rows_bounds,
		    SHM_ROWS_NB, rq->rows)], 1, memory_order_relaxed);
		shm_add(&slot->rows_sum, rq->rows, memory_order_relaxed);
	}
	if (rq->shed > 0 && rq->shed <= SHM_NSHED) {
		shm_add(&slot->shed[rq->shed - 1], 1, memory_order_relaxed);
	} else if (rq->observe && shm_observed(rq->status)) {
		size_t b = shm_observe(seg, slot, rq->latency);

		if (rq->exemplar_kind != SHM_EXEMPLAR_NONE)
			shm_exemplar_write(&slot->exemplars[b],
			    rq->exemplar_kind, rq->exemplar_id, rq->latency,
			    rq->time_ms);
	}
	shm_add(&slot->requests[rq->handler][shm_code_index(rq->status)], 1,
	    memory_order_relaxed);
}

/* Running sums of n counts into cum; returns the total. */
static uint64_t
shm_cumulate(const uint64_t *counts, uint64_t *cum, size_t n)
{
	uint64_t	total = 0;
	size_t		i;

	for (i = 0; i < n; i++) {
		total += counts[i];
		cum[i] = total;
	}
	return total;
}

/*
 * Sum all slots: O(slots x counters).  Each field of SHM_SLOT_FIELDS is
 * summed as the flat array of its elements, in the order of the list, with
 * acquire loads (plain loads on x86), so a slot's native buckets are read
 * before its classic ones (see shm_observe); the histograms' cumulative
 * buckets and counts are then derived from the summed buckets.
 */
void
shm_snapshot(const struct shm_segment *seg, struct shm_snapshot *snap)
{
	size_t		s, i;

	memset(snap, 0, sizeof(*snap));
	snap->nbuckets = seg->nbuckets;
	memcpy(snap->bounds, seg->bounds, seg->nbuckets * sizeof(double));
	for (s = 0; s < seg->nslots; s++) {
		struct shm_slot *slot = &seg->slots[s];

#define X(type, name, dims) {						\
		_Atomic type	*src = (_Atomic type *)(void *)&slot->name; \
		type		*dst = (type *)(void *)&snap->name;	\
									\
		for (i = 0; i < sizeof(snap->name) / sizeof(type); i++)	\
			dst[i] += atomic_load_explicit(&src[i],		\
			    memory_order_acquire);			\
	}
		SHM_SLOT_FIELDS(X)
#undef X
	}
	for (i = 0; i <= seg->nbuckets; i++)
		for (s = 0; s < seg->nslots; s++) {
			struct shm_exemplar_copy c;

			if (shm_exemplar_read(&seg->slots[s].exemplars[i],
			    &c) == 0 && c.kind != SHM_EXEMPLAR_NONE &&
			    (snap->exemplars[i].kind == SHM_EXEMPLAR_NONE ||
			    c.time_ms > snap->exemplars[i].time_ms))
				snap->exemplars[i] = c;
		}
	snap->count = shm_cumulate(snap->buckets, snap->cumulative,
	    seg->nbuckets + 1);
	snap->sum = (double)snap->sum_ns / 1e9;
	snap->native_count = snap->native_zero;
	for (i = 0; i < SHM_NATIVE_N; i++)
		snap->native_count += snap->native[i];
	snap->compute_count = shm_cumulate(snap->compute,
	    snap->compute_cumulative, SHM_COMPUTE_NB + 1);
	snap->compute_seconds = (double)snap->compute_sum_ns / 1e9;
	snap->rows_count = shm_cumulate(snap->rows, snap->rows_cumulative,
	    SHM_ROWS_NB + 1);
	if (snap->in_flight < 0)
		snap->in_flight = 0;
}
