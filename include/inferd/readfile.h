/*
 * readfile: read a whole file that must be a regular one, for the
 * configuration and model loaders.  The file is opened without blocking
 * (open(2) and read(2) of a FIFO would wait for a writer forever, and the
 * master would stop answering, reaping and handling signals), checked
 * with fstat(2), sized, then read.
 */
#ifndef INFERD_READFILE_H
#define INFERD_READFILE_H

#include <stddef.h>

/*
 * Read path whole into a malloc'd buffer with a NUL after its *lenp bytes.
 * A file larger than max bytes is refused, naming maxkey (the setting
 * that bounds it).  NULL on failure, with why (whylen bytes) saying what
 * is wrong without naming the file: "is a FIFO, not a regular file",
 * "cannot open: No such file or directory", "file is 12 bytes, more than
 * max_model_bytes (10)".
 */
char	*readfile(const char *path, size_t max, const char *maxkey,
	    size_t *lenp, char *why, size_t whylen);

#endif /* INFERD_READFILE_H */
