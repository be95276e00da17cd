/*
 * reply: JSON bodies in evbuffers and the reason phrases of the statuses
 * inferd sends.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include <event2/buffer.h>

#include "inferd/jsonutil.h"
#include "inferd/reply.h"

#define REPLY_MSG_MAX	512	/* bytes of an error message, NUL included */

/* The reason phrase of a status. */
const char *
reply_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 499: return "Client Closed Request";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

/* Whether s is valid UTF-8 (no overlong forms, no surrogates). */
static int
reply_utf8_valid(const unsigned char *s)
{
	size_t	 n = strlen((const char *)s), k;

	while (n > 0) {
		if (*s < 0x80)
			k = 1;
		else if ((k = jsonutil_utf8_len(s, n)) == 0)
			return 0;
		s += k;
		n -= k;
	}
	return 1;
}

/* Append s as a JSON string. */
int
reply_json_string(struct evbuffer *out, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	int			 utf8 = reply_utf8_valid(p), rc = 0;

	rc |= evbuffer_add(out, "\"", 1);
	for (; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			rc |= evbuffer_add(out, "\\\"", 2);
			break;
		case '\\':
			rc |= evbuffer_add(out, "\\\\", 2);
			break;
		case '\n':
			rc |= evbuffer_add(out, "\\n", 2);
			break;
		case '\t':
			rc |= evbuffer_add(out, "\\t", 2);
			break;
		default:
			if (*p < 0x20)
				rc |= evbuffer_add_printf(out, "\\u%04x",
				    *p) < 0 ? -1 : 0;
			else
				rc |= evbuffer_add(out, *p >= 0x80 && !utf8 ?
				    "?" : (const char *)p, 1);
		}
	}
	rc |= evbuffer_add(out, "\"", 1);
	return rc == 0 ? 0 : -1;
}

/* {"error": message, "request_id": id}, in a new buffer. */
struct evbuffer *
reply_error_id_newv(const char *id, const char *fmt, va_list ap)
{
	struct evbuffer	*buf;
	char		 msg[REPLY_MSG_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if ((buf = evbuffer_new()) == NULL)
		return NULL;
	if (evbuffer_add(buf, "{\"error\":", 9) == -1 ||
	    reply_json_string(buf, msg) == -1 ||
	    (id != NULL && (evbuffer_add(buf, ",\"request_id\":", 14) == -1 ||
	    reply_json_string(buf, id) == -1)) ||
	    evbuffer_add(buf, "}\n", 2) == -1) {
		evbuffer_free(buf);
		return NULL;
	}
	return buf;
}

/* {"error": message}, in a new buffer. */
struct evbuffer *
reply_error_newv(const char *fmt, va_list ap)
{
	return reply_error_id_newv(NULL, fmt, ap);
}

/* {"error": message}, in a new buffer. */
struct evbuffer *
reply_error_new(const char *fmt, ...)
{
	struct evbuffer	*buf;
	va_list		 ap;

	va_start(ap, fmt);
	buf = reply_error_newv(fmt, ap);
	va_end(ap);
	return buf;
}

/* A JSON text and a newline, in a new buffer. */
struct evbuffer *
reply_json_new(const char *fmt, ...)
{
	struct evbuffer	*buf;
	va_list		 ap;
	int		 rc;

	if ((buf = evbuffer_new()) == NULL)
		return NULL;
	va_start(ap, fmt);
	rc = evbuffer_add_vprintf(buf, fmt, ap);
	va_end(ap);
	if (rc < 0 || evbuffer_add(buf, "\n", 1) == -1) {
		evbuffer_free(buf);
		return NULL;
	}
	return buf;
}

/* Whether q (after "q=") is zero: 0, 0., 0.0, 0.00, 0.000. */
static int
reply_q_zero(const char *q, size_t len)
{
	size_t	i;

	if (len == 0 || q[0] != '0')
		return 0;
	for (i = 1; i < len; i++)
		if (q[i] != '.' && q[i] != '0')
			return 0;
	return 1;
}

/* Whether Accept-Encoding takes gzip. */
int
reply_accepts_gzip(const char *ae)
{
	const char	*p = ae, *e, *semi, *q;
	size_t		 n;
	int		 star = 0, gzip = -1;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		e = p + strcspn(p, ",");
		semi = memchr(p, ';', (size_t)(e - p));
		n = (size_t)((semi != NULL ? semi : e) - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		q = semi != NULL ? strstr(semi, "q=") : NULL;
		if (q != NULL && q >= e)
			q = NULL;
		if ((n == 4 && strncasecmp(p, "gzip", 4) == 0) ||
		    (n == 6 && strncasecmp(p, "x-gzip", 6) == 0))
			gzip = q == NULL || !reply_q_zero(q + 2,
			    strcspn(q + 2, " \t,;"));
		else if (n == 1 && *p == '*')
			star = q == NULL || !reply_q_zero(q + 2,
			    strcspn(q + 2, " \t,;"));
		p = *e != '\0' ? e + 1 : e;
	}
	return gzip == -1 ? star : gzip;
}

/* body, gzip-compressed, in a new buffer. */
struct evbuffer *
reply_gzip(struct evbuffer *body)
{
	struct evbuffer_iovec	 v[1];
	struct evbuffer		*out;
	z_stream		 z;
	size_t			 len = evbuffer_get_length(body);
	unsigned char		*in;
	int			 rc;

	if ((out = evbuffer_new()) == NULL)
		return NULL;
	memset(&z, 0, sizeof(z));
	if ((in = evbuffer_pullup(body, -1)) == NULL && len > 0)
		goto fail;
	/* gzip wrapper (15 + 16), level 6: a scrape is compressed once. */
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		evbuffer_free(out);
		return NULL;
	}
	z.next_in = in;
	z.avail_in = (uInt)len;
	do {
		if (evbuffer_reserve_space(out, 16384, v, 1) != 1)
			goto fail;
		z.next_out = v[0].iov_base;
		z.avail_out = (uInt)v[0].iov_len;
		rc = deflate(&z, Z_FINISH);
		if (rc == Z_STREAM_ERROR)
			goto fail;
		v[0].iov_len -= z.avail_out;
		if (evbuffer_commit_space(out, v, 1) == -1)
			goto fail;
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
	return out;
fail:
	deflateEnd(&z);
	evbuffer_free(out);
	return NULL;
}
