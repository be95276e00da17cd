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
#include <unistd.h>

#include "inferd/log.h"
#include "inferd/shm.h"

#define SHM_MAGIC	0x494e464552443031ULL	/* "INFERD01" */
#define SHM_VERSION	1

const int shm_code_values[SHM_NCODES] = {
#define X(code)		[SHM_C_##code] = code,
	SHM_CODES(X)
#undef X
};

/* Bytes of a segment with nslots slots. */
size_t
shm_size(size_t nslots)
{
	return sizeof(struct shm_header) + nslots * sizeof(struct shm_slot);
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
	seg->hdr->magic = SHM_MAGIC;
	seg->hdr->version = SHM_VERSION;
	seg->hdr->nslots = (uint32_t)nslots;
	seg->hdr->nbuckets = (uint32_t)nbounds;
	memcpy(seg->hdr->bounds, bounds, nbounds * sizeof(*bounds));
}

/*
 * Remove the segments of inferd masters that died without cleaning up:
 * /dev/shm/inferd.<pid> with no such process.  Only our own kind of
 * segment is touched.
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
		if (*end != '\0' || pid <= 0 || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(name, sizeof(name), "/%s", de->d_name);
		if (shm_unlink(name) == 0)
			log_info("removed stale shared memory %s of dead "
			    "process %ld", name, pid);
	}
	closedir(dir);
}

/* Create, size, map and lay out /inferd.<pid>. */
int
shm_create(struct shm_segment *seg, size_t nslots, const double *bounds,
    size_t nbounds)
{
	size_t	 size = shm_size(nslots);
	void	*mem;
	int	 fd;

	shm_remove_stale();
	snprintf(seg->name, sizeof(seg->name), "/inferd.%ld", (long)getpid());
	/* A segment of an earlier process with our pid is stale. */
	if (shm_unlink(seg->name) == 0)
		log_info("removed stale shared memory %s", seg->name);
	if ((fd = shm_open(seg->name, O_RDWR | O_CREAT | O_EXCL, 0600)) == -1) {
		log_warn("shm_open %s", seg->name);
		return -1;
	}
	if (ftruncate(fd, (off_t)size) == -1) {
		log_warn("ftruncate %s to %zu bytes", seg->name, size);
		goto fail;
	}
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		log_warn("mmap %s", seg->name);
		goto fail;
	}
	close(fd);
	shm_init(seg, mem, nslots, bounds, nbounds);
	return 0;
fail:
	close(fd);
	shm_unlink(seg->name);
	return -1;
}

/* Unmap and unlink. */
void
shm_destroy(struct shm_segment *seg)
{
	if (seg->hdr != NULL)
		munmap(seg->hdr, seg->size);
	if (seg->name[0] != '\0' && shm_unlink(seg->name) == -1)
		log_warn("shm_unlink %s", seg->name);
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

/* Count one finished request (and observe its latency). */
void
shm_record(const struct shm_segment *seg, struct shm_slot *slot,
    unsigned h, int status, int observe, double seconds)
{
	if (observe) {
		size_t b = shm_bucket_index(seg->bounds, seg->nbuckets,
		    seconds);
		uint64_t ns = seconds > 0 ? (uint64_t)llround(seconds * 1e9) :
		    0;
		atomic_fetch_add_explicit(&slot->buckets[b], 1,
		    memory_order_relaxed);
		atomic_fetch_add_explicit(&slot->sum_ns, ns,
		    memory_order_relaxed);
	}
	atomic_fetch_add_explicit(&slot->requests[h][shm_code_index(status)], 1,
	    memory_order_relaxed);
}

/*
 * Sum all slots: O(slots x counters).  Each field of SHM_SLOT_FIELDS is
 * summed as the flat array of its elements; the histogram's cumulative
 * buckets and count are then derived from the summed buckets.
 */
void
shm_snapshot(const struct shm_segment *seg, struct shm_snapshot *snap)
{
	uint64_t	total = 0;
	size_t		s, i, b;

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
			    memory_order_relaxed);			\
	}
		SHM_SLOT_FIELDS(X)
#undef X
	}
	for (b = 0; b <= seg->nbuckets; b++) {
		total += snap->buckets[b];
		snap->cumulative[b] = total;
	}
	snap->count = total;
	snap->sum = (double)snap->sum_ns / 1e9;
	if (snap->in_flight < 0)
		snap->in_flight = 0;
}
