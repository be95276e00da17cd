/*
 * fuzz/replay: a harness without libFuzzer.  Feeds each file named on the
 * command line (or each file in a directory named there) to
 * LLVMFuzzerTestOneInput once, so that make check replays the seed corpus
 * and the regression inputs in every build, under the sanitizers in the
 * sanitizer build.  Prints one line per file; exits 0 when every input
 * ran (a bug aborts the program).
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_BYTES	(16 << 20)	/* larger inputs are refused */

/* Read the file at path into a malloc'd buffer of exactly its size (so
 * that ASan sees a read past the end); NULL with a message on failure. */
static uint8_t *
replay_read(const char *path, size_t *lenp)
{
	struct stat	 st;
	uint8_t		*buf;
	FILE		*f;
	size_t		 len;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > REPLAY_MAX_BYTES) {
		fprintf(stderr, "replay: %s: not a regular file of at most "
		    "%d bytes\n", path, REPLAY_MAX_BYTES);
		fclose(f);
		return NULL;
	}
	len = (size_t)st.st_size;
	/* malloc(0) may return NULL: give an empty input one byte of room. */
	if ((buf = malloc(len > 0 ? len : 1)) == NULL ||
	    fread(buf, 1, len, f) != len) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*lenp = len;
	return buf;
}

/* Run one file; 0, or -1 if it could not be read. */
static int
replay_file(const char *path)
{
	uint8_t	*buf;
	size_t	 len;

	if ((buf = replay_read(path, &len)) == NULL)
		return -1;
	printf("replay: %s (%zu bytes)\n", path, len);
	fflush(stdout);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

/* Run every regular file of directory dir, in readdir order. */
static int
replay_dir(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[4096];
	int		 rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path) || replay_file(path) == -1)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat	 st;
	int		 i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR ...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i]) == -1)
				rc = 1;
		} else if (replay_file(argv[i]) == -1)
			rc = 1;
	}
	return rc;
}
