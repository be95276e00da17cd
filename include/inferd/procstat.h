/*
 * procstat: the standard process metrics of a group of processes (the
 * master and its workers), read from /proc at scrape time.  Linux only.
 */
#ifndef INFERD_PROCSTAT_H
#define INFERD_PROCSTAT_H

#include <sys/types.h>

#include <stddef.h>

/* The resources of a group of processes, summed. */
struct procstat {
	double		 cpu_seconds;
	double		 resident_bytes;
	double		 virtual_bytes;
	double		 open_fds;
	double		 max_fds;
};

/*
 * Sum the CPU time, resident and virtual memory, open descriptors and
 * descriptor limits of the calling process and of the children pids (n of
 * them; 0 entries are skipped) into p.  CPU time includes the children the
 * caller has reaped (RUSAGE_CHILDREN), so it only grows while the caller
 * lives: a value below an earlier one (a child's last ticks lost between
 * /proc and its reaping) is raised to it.  The cost is one read of four
 * /proc files and one directory listing per process.  Not thread-safe.
 */
void	 procstat_gather(struct procstat *p, const pid_t *pids, size_t n);

#endif /* INFERD_PROCSTAT_H */
