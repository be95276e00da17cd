/*
 * http_parse: the strict HTTP/1.1 request parser (RFC 9112) of inferd's
 * HTTP layer.  Pure: it reads bytes it is given and says what they are;
 * no I/O, no allocation.  conn.c drives it, tests/unit/test_http_parse.c
 * and fuzz/fuzz_http.c exercise it.
 *
 * Framing is decided here, before any handler runs, and every ambiguity is
 * an error (the caller answers 400 and closes): more than one
 * Content-Length, Content-Length with Transfer-Encoding, a
 * Transfer-Encoding other than exactly "chunked", whitespace between a
 * header name and its colon, obs-fold (a line starting with a space or a
 * tab), a Content-Length that is not 1*DIGIT, control characters in a
 * field, a bare CR.  Lines end in CRLF or LF (RFC 9112 2.2 lets a server
 * take a bare LF).
 */
#ifndef INFERD_HTTP_PARSE_H
#define INFERD_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Methods, as bits so that a route can list the ones it takes. */
#define HTTP_METHODS(X)		\
	X(GET, 0)		\
	X(HEAD, 1)		\
	X(POST, 2)		\
	X(PUT, 3)		\
	X(DELETE, 4)		\
	X(OPTIONS, 5)		\
	X(TRACE, 6)		\
	X(CONNECT, 7)		\
	X(PATCH, 8)

enum http_method {
#define X(name, bit)	HTTP_M_##name = 1u << (bit),
	HTTP_METHODS(X)
#undef X
	HTTP_M_OTHER = 1u << 9		/* any other token */
};

/* How the body of a request is framed. */
enum http_framing {
	HTTP_BODY_NONE,			/* no body */
	HTTP_BODY_LENGTH,		/* Content-Length bytes */
	HTTP_BODY_CHUNKED		/* Transfer-Encoding: chunked */
};

/* One header field; name and value NUL-terminated in the parsed head. */
struct http_header {
	const char	*name;
	const char	*value;		/* without leading/trailing OWS */
};

/* A parsed request head; every string points into the head's buffer. */
struct http_head {
	unsigned		 method;	/* enum http_method */
	const char		*method_s;	/* as sent */
	const char		*target;	/* request-target as sent */
	const char		*path;		/* raw path (percent-encoded) */
	const char		*query;		/* raw query, or NULL */
	int			 minor;		/* HTTP/1.minor */
	enum http_framing	 framing;
	uint64_t		 length;	/* HTTP_BODY_LENGTH's */
	int			 close;		/* no keep-alive after it */
	int			 keepalive10;	/* HTTP/1.0 asked keep-alive */
	int			 expect_continue; /* Expect: 100-continue */
	struct http_header	*headers;
	size_t			 nheaders;
};

/*
 * Where the head in buf (len bytes) ends: the length of the head with its
 * final empty line, or 0 if it has not ended yet.  *from is where the scan
 * resumes on the next call (start it at 0), so that a trickled head is
 * scanned once.
 */
size_t		 http_head_end(const char *buf, size_t len, size_t *from);

/*
 * Parse the head in buf (len bytes, as http_head_end measured it, with no
 * empty line before the request line), which is modified: every string
 * of the head is cut out of it in place with NULs (the target's '?' too).
 * headers has room for cap fields.  Returns 0, or the HTTP status to
 * answer (400 or 505) with a one-line reason in *why.
 */
int		 http_parse_head(char *buf, size_t len, struct http_head *,
		    struct http_header *headers, size_t cap, const char **why);

/*
 * Parse a chunk-size line (without its CRLF, len bytes): 1*HEXDIG and an
 * optional chunk extension after ';'.  0 with *size, or -1 with *why.
 */
int		 http_parse_chunk_size(const char *line, size_t len,
		    uint64_t *size, const char **why);

/* The value of header name (case-insensitive) in h, or NULL. */
const char	*http_head_find(const struct http_head *, const char *name);

/* Whether the comma-separated list value holds token (case-insensitive). */
int		 http_list_has(const char *value, const char *token);

#endif /* INFERD_HTTP_PARSE_H */
