/*
 * scratch: the unit tests' scratch directory; see scratch.h.
 */
#include "autoconf.h"	/* _GNU_SOURCE and friends: mkdtemp is POSIX 2008 */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scratch.h"

char	scratch_dir[] = "/tmp/inferd-test.XXXXXX";

/* Make the scratch directory. */
int
scratch_setup(void **state)
{
	(void)state;
	return mkdtemp(scratch_dir) == NULL ? -1 : 0;
}

/* Remove the files the tests wrote, and the directory. */
int
scratch_cleanup(void **state)
{
	struct dirent	*d;
	DIR		*dir;
	char		 path[600];

	(void)state;
	if ((dir = opendir(scratch_dir)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", scratch_dir, d->d_name);
		unlink(path);
	}
	closedir(dir);
	return rmdir(scratch_dir);
}
