/*
 * readfile: a whole regular file into memory; see readfile.h.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inferd/readfile.h"

/* What kind of file st is, for a message. */
static const char *
readfile_kind(const struct stat *st)
{
	if (S_ISFIFO(st->st_mode))
		return "a FIFO";
	if (S_ISDIR(st->st_mode))
		return "a directory";
	if (S_ISCHR(st->st_mode))
		return "a character device";
	if (S_ISBLK(st->st_mode))
		return "a block device";
	if (S_ISSOCK(st->st_mode))
		return "a socket";
	return "not a regular file";
}

/* Open path without blocking and check that it is a regular file of at
 * most max bytes; its descriptor and size, or -1 with why. */
static int
readfile_open(const char *path, size_t max, const char *maxkey,
    size_t *lenp, char *why, size_t whylen)
{
	struct stat	st;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "fstat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "is %s, not a regular file",
		    readfile_kind(&st));
		goto fail;
	}
	if ((unsigned long long)st.st_size > max) {
		snprintf(why, whylen, "file is %lld bytes, more than %s (%zu)",
		    (long long)st.st_size, maxkey, max);
		goto fail;
	}
	*lenp = (size_t)st.st_size;
	return fd;
fail:
	close(fd);
	return -1;
}

/* Read a regular file whole; see readfile.h. */
char *
readfile(const char *path, size_t max, const char *maxkey, size_t *lenp,
    char *why, size_t whylen)
{
	char	*buf = NULL;
	size_t	 len, off;
	ssize_t	 n;
	int	 fd;

	if ((fd = readfile_open(path, max, maxkey, &len, why, whylen)) == -1)
		return NULL;
	if ((buf = malloc(len + 1)) == NULL) {
		snprintf(why, whylen, "out of memory for %zu bytes", len);
		goto out;
	}
	for (off = 0; off < len; off += (size_t)n) {
		n = read(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			snprintf(why, whylen, "read: %s", n == 0 ?
			    "file shrank while reading" : strerror(errno));
			free(buf);
			buf = NULL;
			goto out;
		}
	}
	buf[len] = '\0';
	*lenp = len;
out:
	close(fd);
	return buf;
}
