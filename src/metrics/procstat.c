/*
 * procstat: /proc/PID/stat for CPU and memory, /proc/PID/fd for the open
 * descriptors, prlimit(2) for their limit.  A process that disappears
 * while it is read (a worker exiting) counts with what was read of it.
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/time.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "inferd/procstat.h"

#define PROCSTAT_LINE	1024	/* bytes of /proc/PID/stat read */

/* Seconds of a timeval. */
static double
procstat_tv(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* Add CPU, vsize and rss of pid from /proc/PID/stat; 0 or -1. */
static int
procstat_stat(pid_t pid, struct procstat *p)
{
	char			 path[64], line[PROCSTAT_LINE], *s;
	unsigned long		 utime, stime, vsize;
	long			 rss;
	FILE			*f;
	int			 ok;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	/* The command name may hold spaces and parentheses: skip past it. */
	if (!ok || (s = strrchr(line, ')')) == NULL)
		return -1;
	/* Fields 3.. : state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime cutime cstime priority nice
	 * threads itrealvalue starttime vsize rss */
	if (sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
	    "%*d %*d %*d %*d %*d %*d %*u %lu %ld", &utime, &stime, &vsize,
	    &rss) != 4)
		return -1;
	p->cpu_seconds += (double)(utime + stime) /
	    (double)sysconf(_SC_CLK_TCK);
	p->virtual_bytes += (double)vsize;
	p->resident_bytes += (double)rss * (double)sysconf(_SC_PAGESIZE);
	return 0;
}

/* Add the open descriptors and the descriptor limit of pid. */
static void
procstat_fds(pid_t pid, struct procstat *p)
{
	char		 path[64];
	struct rlimit	 rl;
	struct dirent	*de;
	DIR		*dir;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((dir = opendir(path)) != NULL) {
		while ((de = readdir(dir)) != NULL)
			if (de->d_name[0] != '.')
				p->open_fds++;
		closedir(dir);
		/* The listing's own descriptor, when we list ourselves. */
		if (pid == getpid())
			p->open_fds--;
	}
	if (prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY)
		p->max_fds += (double)rl.rlim_cur;
}

/* Sum the caller and its children pids. */
void
procstat_gather(struct procstat *p, const pid_t *pids, size_t n)
{
	static double	 cpu_high;	/* the highest CPU time reported */
	struct rusage	 ru;
	size_t		 i;

	memset(p, 0, sizeof(*p));
	procstat_stat(getpid(), p);
	procstat_fds(getpid(), p);
	for (i = 0; i < n; i++) {
		if (pids[i] == 0 || procstat_stat(pids[i], p) == -1)
			continue;
		procstat_fds(pids[i], p);
	}
	if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
		p->cpu_seconds += procstat_tv(&ru.ru_utime) +
		    procstat_tv(&ru.ru_stime);
	if (p->cpu_seconds < cpu_high)
		p->cpu_seconds = cpu_high;
	cpu_high = p->cpu_seconds;
}
