/*
 * accesslog: the access log, one JSON line per request (JSON Lines).
 *
 * accesslog_format() is pure: an entry in, a line out, every string
 * escaped so that no byte of a request can break the line or the JSON
 * (control characters as \u00XX, bytes that are not UTF-8 as the text
 * \xHH, as nginx writes them).  The writer buffers whole lines (the
 * access_log_buffer key, as nginx's buffer=) and hands them to the kernel
 * with one write(2) on a descriptor opened with O_APPEND: when the buffer
 * could not take the next line, when the flush timer fires (the
 * access_log_flush key, as nginx's flush=), and on reopen or close.  Lines
 * of several processes appending to one file therefore never interleave.
 * A write that fails or comes short drops the buffer (a partial line is
 * never completed later, behind another process's lines): the error is
 * counted by the caller and logged once until a write succeeds again.
 * Never fatal.
 */
#ifndef INFERD_ACCESSLOG_H
#define INFERD_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

/* The longest line, newline included: the buffer holds at least one. */
#define ACCESSLOG_LINE_MAX	32768
/* Bytes of a request's path, and of its query, written; the rest is cut
 * and the line says "truncated":true. */
#define ACCESSLOG_FIELD_MAX	2048

/* One finished request. */
struct accesslog_entry {
	double		 time;		/* Unix seconds, when answered */
	const char	*client;	/* numeric address; NULL: unknown */
	unsigned	 port;
	const char	*method;
	const char	*path;		/* without the query */
	size_t		 pathlen;
	const char	*query;		/* NULL: none */
	size_t		 querylen;
	int		 status;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint32_t	 rows;
	/* Seconds: the whole latency and its phases. */
	double		 latency, read, wait, predict, write;
	const char	*request_id;
	const char	*trace_id;	/* NULL or "": none */
	unsigned	 worker;
	const char	*model;
};

/*
 * Format e as one JSON line ending in '\n' into buf (size at least
 * ACCESSLOG_LINE_MAX); return its length.
 */
size_t	 accesslog_format(char *buf, size_t size,
	    const struct accesslog_entry *e);

/*
 * Append s (len bytes) to buf as the inside of a JSON string, escaped as
 * above, writing at most cap bytes of s; return the bytes written (at
 * most 6 * cap).  *cut is set when s was longer than cap.
 */
size_t	 accesslog_escape(char *buf, const char *s, size_t len, size_t cap,
	    int *cut);

struct accesslog;

/*
 * A writer for where ("stderr" or a path, opened O_WRONLY | O_APPEND |
 * O_CREAT, mode 0640) with a buffer of bufsize bytes (at least
 * ACCESSLOG_LINE_MAX; 0 for none: every line is written at once).  NULL
 * with the reason in err.
 */
struct accesslog *accesslog_open(const char *where, size_t bufsize,
	    char *err, size_t errlen);
/*
 * Flush, then open the path again (logrotate renamed it): 0, or -1 with
 * the old descriptor kept and the failure logged.  stderr is left alone.
 */
int	 accesslog_reopen(struct accesslog *);
/*
 * Add a line for e; write the buffer first if it has no room for one.
 * 0, or -1 when a write failed (its lines are lost).
 */
int	 accesslog_add(struct accesslog *, const struct accesslog_entry *e);
/* Write what is buffered; 0 (also when empty) or -1 on a failed write. */
int	 accesslog_flush(struct accesslog *);
/* Bytes buffered. */
size_t	 accesslog_pending(const struct accesslog *);
/* Flush and free; NULL is fine. */
void	 accesslog_close(struct accesslog *);

#endif /* INFERD_ACCESSLOG_H */
