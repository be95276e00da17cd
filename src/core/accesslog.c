/*
 * accesslog: JSON Lines formatter and buffered O_APPEND writer.  See
 * include/inferd/accesslog.h for the contract.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inferd/accesslog.h"
#include "inferd/jsonutil.h"
#include "inferd/log.h"

struct accesslog {
	int	 fd;
	int	 own;		/* fd is ours to close (not stderr) */
	int	 pipe;		/* a pipe or socket: writes of PIPE_BUF */
	int	 failing;	/* the last write failed (logged once) */
	char	*buf;
	size_t	 size;		/* 0: unbuffered, buf holds one line */
	size_t	 len;
	char	 path[PATH_MAX];
};

static const char accesslog_hex[] = "0123456789abcdef";

/* The inside of a JSON string, escaped; see accesslog.h. */
size_t
accesslog_escape(char *buf, const char *str, size_t len, size_t cap, int *cut)
{
	const unsigned char	*s = (const unsigned char *)str;
	char			*p = buf;
	size_t			 i = 0, u;

	*cut = len > cap;
	if (len > cap)
		len = cap;
	while (i < len) {
		unsigned c = s[i];

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(p, "\\u00", 4);
			p[4] = accesslog_hex[c >> 4];
			p[5] = accesslog_hex[c & 0xf];
			p += 6;
			i++;
		} else if (c < 0x80) {
			*p++ = (char)c;
			i++;
		} else if ((u = jsonutil_utf8_len(s + i, len - i)) > 0) {
			memcpy(p, s + i, u);
			p += u;
			i += u;
		} else {
			/* Not UTF-8: the four characters \xHH, as text. */
			memcpy(p, "\\\\x", 3);
			p[3] = accesslog_hex[c >> 4];
			p[4] = accesslog_hex[c & 0xf];
			p += 5;
			i++;
		}
	}
	return (size_t)(p - buf);
}

/* Append a constant. */
static char *
accesslog_lit(char *p, const char *s)
{
	size_t	n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* Append an unsigned integer. */
static char *
accesslog_uint(char *p, uint64_t v)
{
	char	num[24], *q = num + sizeof(num);

	do
		*--q = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	memcpy(p, q, (size_t)(num + sizeof(num) - q));
	return p + (num + sizeof(num) - q);
}

/* Append seconds with six decimals (microseconds); negatives and NaN as
 * 0, anything above a year as a year. */
static char *
accesslog_seconds(char *p, double v)
{
	uint64_t	us;
	int		i;

	if (!(v > 0))
		v = 0;
	if (v > 31536000.0)
		v = 31536000.0;
	us = (uint64_t)(v * 1e6 + 0.5);
	p = accesslog_uint(p, us / 1000000);
	*p++ = '.';
	us %= 1000000;
	for (i = 5; i >= 0; i--) {
		p[i] = (char)('0' + us % 10);
		us /= 10;
	}
	return p + 6;
}

/* Append a string escaped, in quotes (NULL as null); a cut sets *cut. */
static char *
accesslog_str(char *p, const char *s, size_t len, size_t cap, int *cut)
{
	int	c = 0;

	if (s == NULL)
		return accesslog_lit(p, "null");
	*p++ = '"';
	p += accesslog_escape(p, s, len, cap, &c);
	*p++ = '"';
	*cut |= c;
	return p;
}

/* Append the time as RFC 3339 UTC with milliseconds; the text of the
 * second is kept from one call to the next (a worker's loop is single-
 * threaded, and so are the tests). */
static char *
accesslog_time(char *p, double t)
{
	static time_t	 cached_sec = -1;
	static char	 cached[64];		/* "2026-12-05T13:00:56." */
	time_t		 sec = (time_t)floor(t);
	unsigned	 ms = (unsigned)((t - (double)sec) * 1000.0);
	struct tm	 tm;

	if (sec != cached_sec) {
		gmtime_r(&sec, &tm);
		snprintf(cached, sizeof(cached), "%04d-%02d-%02dT%02d:%02d:%02d.",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		cached_sec = sec;
	}
	if (ms > 999)
		ms = 999;
	*p++ = '"';
	p = accesslog_lit(p, cached);
	*p++ = (char)('0' + ms / 100);
	*p++ = (char)('0' + ms / 10 % 10);
	*p++ = (char)('0' + ms % 10);
	*p++ = 'Z';
	*p++ = '"';
	return p;
}

/*
 * One line.  The sizes are bounded: two fields of at most
 * ACCESSLOG_FIELD_MAX bytes (6 bytes out for one in, at worst), the IDs
 * (checked printable and short by the caller, escaped anyway), the method,
 * the model's name and the client's address, each cut at 128 bytes.
 */
size_t
accesslog_format(char *buf, size_t size, const struct accesslog_entry *e)
{
	char	*p = buf;
	int	 cut = 0, ignore = 0;

	_Static_assert(ACCESSLOG_LINE_MAX > 12 * ACCESSLOG_FIELD_MAX + 6 *
	    (64 + 5 * 128) + 512, "an access log line always fits");
	if (size < ACCESSLOG_LINE_MAX)
		return 0;
	p = accesslog_lit(p, "{\"time\":");
	p = accesslog_time(p, e->time);
	p = accesslog_lit(p, ",\"client\":");
	p = accesslog_str(p, e->client, e->client ? strlen(e->client) : 0,
	    128, &ignore);
	p = accesslog_lit(p, ",\"port\":");
	p = accesslog_uint(p, e->port);
	p = accesslog_lit(p, ",\"method\":");
	p = accesslog_str(p, e->method, e->method ? strlen(e->method) : 0,
	    128, &ignore);
	p = accesslog_lit(p, ",\"path\":");
	p = accesslog_str(p, e->path != NULL ? e->path : "", e->pathlen,
	    ACCESSLOG_FIELD_MAX, &cut);
	p = accesslog_lit(p, ",\"query\":");
	p = accesslog_str(p, e->query, e->querylen, ACCESSLOG_FIELD_MAX, &cut);
	p = accesslog_lit(p, ",\"status\":");
	p = accesslog_uint(p, e->status > 0 ? (uint64_t)e->status : 0);
	p = accesslog_lit(p, ",\"bytes_in\":");
	p = accesslog_uint(p, e->bytes_in);
	p = accesslog_lit(p, ",\"bytes_out\":");
	p = accesslog_uint(p, e->bytes_out);
	p = accesslog_lit(p, ",\"rows\":");
	p = accesslog_uint(p, e->rows);
	p = accesslog_lit(p, ",\"latency\":");
	p = accesslog_seconds(p, e->latency);
	p = accesslog_lit(p, ",\"read\":");
	p = accesslog_seconds(p, e->read);
	p = accesslog_lit(p, ",\"wait\":");
	p = accesslog_seconds(p, e->wait);
	p = accesslog_lit(p, ",\"predict\":");
	p = accesslog_seconds(p, e->predict);
	p = accesslog_lit(p, ",\"write\":");
	p = accesslog_seconds(p, e->write);
	p = accesslog_lit(p, ",\"request_id\":");
	p = accesslog_str(p, e->request_id, e->request_id ?
	    strlen(e->request_id) : 0, 128, &ignore);
	p = accesslog_lit(p, ",\"trace_id\":");
	p = accesslog_str(p, e->trace_id != NULL && e->trace_id[0] != '\0' ?
	    e->trace_id : NULL, e->trace_id ? strlen(e->trace_id) : 0, 128,
	    &ignore);
	p = accesslog_lit(p, ",\"worker\":");
	p = accesslog_uint(p, e->worker);
	p = accesslog_lit(p, ",\"model\":");
	p = accesslog_str(p, e->model, e->model ? strlen(e->model) : 0, 128,
	    &ignore);
	if (cut)
		p = accesslog_lit(p, ",\"truncated\":true");
	p = accesslog_lit(p, "}\n");
	return (size_t)(p - buf);
}

/* Open where for appending: a descriptor, or -1 with errno. */
static int
accesslog_open_fd(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, 0640);
}

/* Whether fd writes to a pipe or socket, where only PIPE_BUF is atomic. */
static int
accesslog_is_pipe(int fd)
{
	struct stat	st;

	return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) ||
	    S_ISSOCK(st.st_mode));
}

/* A writer. */
struct accesslog *
accesslog_open(const char *where, size_t bufsize, char *err, size_t errlen)
{
	struct accesslog	*al;

	if (bufsize != 0 && bufsize < ACCESSLOG_LINE_MAX)
		bufsize = ACCESSLOG_LINE_MAX;
	if ((al = calloc(1, sizeof(*al))) == NULL ||
	    (al->buf = malloc(bufsize > 0 ? bufsize : ACCESSLOG_LINE_MAX)) ==
	    NULL) {
		if (al != NULL)
			free(al);
		snprintf(err, errlen, "access log: out of memory");
		return NULL;
	}
	al->size = bufsize;
	if (strcmp(where, "stderr") == 0) {
		al->fd = STDERR_FILENO;
	} else {
		if (strlcpy(al->path, where, sizeof(al->path)) >=
		    sizeof(al->path) || (al->fd = accesslog_open_fd(where)) ==
		    -1) {
			snprintf(err, errlen, "access log %s: %s", where,
			    strerror(errno != 0 ? errno : ENAMETOOLONG));
			free(al->buf);
			free(al);
			return NULL;
		}
		al->own = 1;
	}
	al->pipe = accesslog_is_pipe(al->fd);
	return al;
}

/* One write(2) of n bytes; 0, or -1 when it failed or came short. */
static int
accesslog_write(struct accesslog *al, const char *p, size_t n)
{
	ssize_t	w;

	do
		w = write(al->fd, p, n);
	while (w == -1 && errno == EINTR);
	if (w == (ssize_t)n) {
		if (al->failing)
			log_info("access log %s: writing again",
			    al->own ? al->path : "stderr");
		al->failing = 0;
		return 0;
	}
	if (!al->failing) {
		if (w == -1)
			log_warn("access log %s: write of %zu bytes",
			    al->own ? al->path : "stderr", n);
		else
			log_warnx("access log %s: short write, %zd of %zu "
			    "bytes", al->own ? al->path : "stderr", w, n);
		log_warnx("access log %s: lines are lost until a write "
		    "succeeds; counted in "
		    "inferd_access_log_write_errors_total", al->own ?
		    al->path : "stderr");
	}
	al->failing = 1;
	return -1;
}

/* Write what is buffered: one write, or on a pipe whole lines in writes of
 * at most PIPE_BUF (larger ones may interleave with other writers). */
int
accesslog_flush(struct accesslog *al)
{
	const char	*p = al->buf, *end = al->buf + al->len, *cut, *nl;
	int		 rc = 0;

	if (al->len == 0)
		return 0;
	if (!al->pipe || al->len <= PIPE_BUF) {
		rc = accesslog_write(al, p, al->len);
		al->len = 0;
		return rc;
	}
	while (p < end && rc == 0) {
		cut = p + PIPE_BUF < end ? p + PIPE_BUF : end;
		if (cut < end) {
			for (nl = cut; nl > p && nl[-1] != '\n'; nl--)
				;
			if (nl > p)	/* else one line above PIPE_BUF */
				cut = nl;
			else if ((nl = memchr(cut, '\n', (size_t)(end -
			    cut))) != NULL)
				cut = nl + 1;
			else
				cut = end;
		}
		rc = accesslog_write(al, p, (size_t)(cut - p));
		p = cut;
	}
	al->len = 0;
	return rc;
}

/* Add a line. */
int
accesslog_add(struct accesslog *al, const struct accesslog_entry *e)
{
	int	rc = 0;

	if (al->size > 0 && al->size - al->len < ACCESSLOG_LINE_MAX)
		rc = accesslog_flush(al);
	al->len += accesslog_format(al->buf + al->len, ACCESSLOG_LINE_MAX, e);
	if (al->size == 0 && accesslog_flush(al) == -1)
		rc = -1;
	return rc;
}

/* Bytes buffered. */
size_t
accesslog_pending(const struct accesslog *al)
{
	return al->len;
}

/* Flush, then open the path again. */
int
accesslog_reopen(struct accesslog *al)
{
	int	fd, rc;

	rc = accesslog_flush(al);
	if (!al->own)
		return rc;
	if ((fd = accesslog_open_fd(al->path)) == -1) {
		log_warn("access log: reopen %s; still writing to the old "
		    "file", al->path);
		return -1;
	}
	close(al->fd);
	al->fd = fd;
	al->pipe = accesslog_is_pipe(fd);
	return rc;
}

/* Flush and free. */
void
accesslog_close(struct accesslog *al)
{
	if (al == NULL)
		return;
	accesslog_flush(al);
	if (al->own)
		close(al->fd);
	free(al->buf);
	free(al);
}
