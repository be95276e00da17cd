/*
 * parse: the strict HTTP/1.1 request parser.  See
 * include/inferd/http_parse.h for what it accepts.
 */
#include "autoconf.h"

#include <string.h>
#include <strings.h>

#include "inferd/http_parse.h"

/* tchar of RFC 9110 5.6.2. */
static int
http_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field-value byte (VCHAR, obs-text, SP, HTAB). */
static int
http_vchar(unsigned char c)
{
	return c == ' ' || c == '\t' || (c > 0x20 && c != 0x7f);
}

/* Where the head ends; see http_parse.h. */
size_t
http_head_end(const char *buf, size_t len, size_t *from)
{
	size_t	i;

	for (i = *from; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
		if (i + 2 >= len)
			break;		/* look again when more came */
	}
	*from = i;
	return 0;
}

/*
 * Cut the line starting at *p (before end): returns its start with the
 * terminator replaced by NUL and *p past it, or NULL on a bare CR or a NUL.
 */
static char *
http_line(char **p, char *end, size_t *len)
{
	char	*s = *p, *q;

	for (q = s; q < end && *q != '\n'; q++)
		if (*q == '\0' || (*q == '\r' && (q + 1 >= end ||
		    q[1] != '\n')))
			return NULL;
	if (q >= end)
		return NULL;
	*p = q + 1;
	if (q > s && q[-1] == '\r')
		q--;
	*q = '\0';
	*len = (size_t)(q - s);
	return s;
}

/* The method bit of a token. */
static unsigned
http_method_of(const char *m)
{
#define X(name, bit)	if (strcmp(m, #name) == 0) return HTTP_M_##name;
	HTTP_METHODS(X)
#undef X
	return HTTP_M_OTHER;
}

/* Parse the request line (NUL-terminated, len bytes) into h. */
static int
http_request_line(char *line, size_t len, struct http_head *h,
    const char **why)
{
	char	*p = line, *end = line + len, *t, *q;

	while (p < end && http_tchar((unsigned char)*p))
		p++;
	if (p == line || p >= end || *p != ' ') {
		*why = "malformed request line";
		return 400;
	}
	*p++ = '\0';
	h->method_s = line;
	h->method = http_method_of(line);
	for (t = p; p < end && *p > 0x20 && *p < 0x7f; p++)
		;
	if (p == t || p >= end || *p != ' ') {
		*why = "malformed request target";
		return 400;
	}
	*p++ = '\0';
	if ((size_t)(end - p) != 8 || strncmp(p, "HTTP/", 5) != 0 ||
	    p[5] < '0' || p[5] > '9' || p[6] != '.' || p[7] < '0' ||
	    p[7] > '9') {
		*why = "malformed HTTP version";
		return 400;
	}
	if (p[5] != '1') {
		*why = "HTTP version not supported; use HTTP/1.1";
		return 505;
	}
	h->minor = p[7] - '0';
	h->target = t;
	if (strchr(t, '#') != NULL) {
		*why = "a request target has no fragment";
		return 400;
	}
	if (strncasecmp(t, "http://", 7) == 0 ||
	    strncasecmp(t, "https://", 8) == 0) {
		/* absolute-form: the path starts after the authority. */
		q = strchr(t, ':') + 3;
		t = strchr(q, '/');
	} else if (strcmp(t, "*") == 0 && h->method == HTTP_M_OPTIONS)
		;
	else if (*t != '/') {
		*why = "request target must start with /";
		return 400;
	}
	if (t != NULL && (q = strchr(t, '?')) != NULL) {
		*q = '\0';
		h->query = q + 1;
	}
	h->path = t != NULL ? t : "/";
	return 0;
}

/* Parse a Content-Length value: 1*DIGIT, nothing else. */
static int
http_length(const char *v, uint64_t *n)
{
	uint64_t	x = 0;

	if (*v == '\0')
		return -1;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9' || x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*v - '0');
	}
	*n = x;
	return 0;
}

/* Decide the framing and the connection's fate from the fields. */
static int
http_semantics(struct http_head *h, const char **why)
{
	unsigned	ncl = 0, nte = 0, nhost = 0;
	const char	*cl = NULL, *te = NULL;
	size_t		i;

	for (i = 0; i < h->nheaders; i++) {
		const char	*n = h->headers[i].name;
		const char	*v = h->headers[i].value;

		if (strcasecmp(n, "Content-Length") == 0) {
			ncl++;
			cl = v;
		} else if (strcasecmp(n, "Transfer-Encoding") == 0) {
			nte++;
			te = v;
		} else if (strcasecmp(n, "Host") == 0)
			nhost++;
		else if (strcasecmp(n, "Connection") == 0) {
			if (http_list_has(v, "close"))
				h->close = 1;
			if (http_list_has(v, "keep-alive"))
				h->keepalive10 = 1;
		} else if (strcasecmp(n, "Expect") == 0 &&
		    strcasecmp(v, "100-continue") == 0)
			h->expect_continue = 1;
	}
	if (ncl > 1) {
		*why = "more than one Content-Length";
		return 400;
	}
	if (nte > 1) {
		*why = "more than one Transfer-Encoding";
		return 400;
	}
	if (nhost > 1) {
		*why = "more than one Host";
		return 400;
	}
	if (cl != NULL && te != NULL) {
		*why = "Content-Length together with Transfer-Encoding";
		return 400;
	}
	if (te != NULL) {
		if (h->minor == 0) {
			*why = "Transfer-Encoding in an HTTP/1.0 request";
			return 400;
		}
		if (strcasecmp(te, "chunked") != 0) {
			*why = "Transfer-Encoding must be exactly chunked";
			return 400;
		}
		h->framing = HTTP_BODY_CHUNKED;
	} else if (cl != NULL) {
		if (http_length(cl, &h->length) == -1) {
			*why = "Content-Length must be a decimal number";
			return 400;
		}
		h->framing = h->length > 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
	}
	if (h->minor == 0 && !h->keepalive10)
		h->close = 1;
	return 0;
}

/* Parse a head; see http_parse.h. */
int
http_parse_head(char *buf, size_t len, struct http_head *h,
    struct http_header *headers, size_t cap, const char **why)
{
	char		*p = buf, *end = buf + len, *line, *q, *v, *e;
	size_t		 ll;
	int		 rc;

	memset(h, 0, sizeof(*h));
	h->headers = headers;
	if ((line = http_line(&p, end, &ll)) == NULL) {
		*why = "bare CR or NUL in the request line";
		return 400;
	}
	if ((rc = http_request_line(line, ll, h, why)) != 0)
		return rc;
	for (;;) {
		if ((line = http_line(&p, end, &ll)) == NULL) {
			*why = "bare CR or NUL in a header line";
			return 400;
		}
		if (ll == 0)
			break;
		if (*line == ' ' || *line == '\t') {
			*why = "obs-fold (a header line starting with "
			    "whitespace) is not accepted";
			return 400;
		}
		for (q = line; http_tchar((unsigned char)*q); q++)
			;
		if (*q != ':' || q == line) {
			*why = *q == ' ' || *q == '\t' ? "whitespace between a "
			    "header name and its colon" :
			    "malformed header line";
			return 400;
		}
		*q = '\0';
		for (v = q + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (e = v; *e != '\0'; e++)
			if (!http_vchar((unsigned char)*e)) {
				*why = "control character in a header value";
				return 400;
			}
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		if (h->nheaders == cap) {
			*why = "too many header fields";
			return 400;
		}
		headers[h->nheaders].name = line;
		headers[h->nheaders].value = v;
		h->nheaders++;
	}
	return http_semantics(h, why);
}

/* Parse a chunk-size line; see http_parse.h. */
int
http_parse_chunk_size(const char *line, size_t len, uint64_t *size,
    const char **why)
{
	uint64_t	x = 0;
	size_t		i;
	int		d;
	char		c;

	for (i = 0; i < len; i++) {
		c = line[i];
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (i >= 15) {
			*why = "chunk size too large";
			return -1;
		}
		x = x * 16 + (uint64_t)d;
	}
	if (i == 0) {
		*why = "malformed chunk size";
		return -1;
	}
	if (i < len) {
		/* chunk-ext: ';' then printable bytes, nothing else. */
		if (line[i] != ';') {
			*why = "malformed chunk size";
			return -1;
		}
		for (i++; i < len; i++)
			if (!http_vchar((unsigned char)line[i])) {
				*why = "control character in a chunk extension";
				return -1;
			}
	}
	*size = x;
	return 0;
}

/* The value of a header. */
const char *
http_head_find(const struct http_head *h, const char *name)
{
	size_t	i;

	for (i = 0; i < h->nheaders; i++)
		if (strcasecmp(h->headers[i].name, name) == 0)
			return h->headers[i].value;
	return NULL;
}

/* Whether a comma-separated list holds token. */
int
http_list_has(const char *v, const char *token)
{
	size_t	n = strlen(token), k;

	while (*v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		k = strcspn(v, ", \t");
		if (k == n && strncasecmp(v, token, n) == 0)
			return 1;
		v += k;
		while (*v != '\0' && *v != ',')
			v++;
	}
	return 0;
}
