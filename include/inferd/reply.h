/*
 * reply: the JSON answers of inferd's HTTP servers, the workers' routes and
 * the master's metrics port alike.  A body is built in an evbuffer, never
 * in a malloc'd string; every body ends in a newline.
 */
#ifndef INFERD_REPLY_H
#define INFERD_REPLY_H

#include <stdarg.h>

struct evbuffer;

/* The reason phrase of a status inferd sends ("Internal Server Error" for
 * any other). */
const char	*reply_reason(int status);

/* Append s as a JSON string; if s is not valid UTF-8, its bytes above
 * 0x7f become '?'.  0, or -1 when out of memory. */
int		 reply_json_string(struct evbuffer *, const char *s);

/* A new buffer holding {"error":"<message>"} and a newline; the message is
 * formatted from fmt and cut at 511 bytes.  NULL when out of memory. */
struct evbuffer	*reply_error_new(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
/* reply_error_new with a va_list. */
struct evbuffer	*reply_error_newv(const char *fmt, va_list)
		    __attribute__((format(printf, 1, 0)));

/* A new buffer holding the JSON text formatted from fmt and a newline.
 * NULL when out of memory. */
struct evbuffer	*reply_json_new(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

/*
 * Whether an Accept-Encoding value (NULL: none) takes gzip: the token
 * gzip (or x-gzip, or *) with no q=0.
 */
int		 reply_accepts_gzip(const char *accept_encoding);
/*
 * body gzip-compressed (RFC 1952) into a new buffer; body is left as it
 * is.  NULL when out of memory.
 */
struct evbuffer	*reply_gzip(struct evbuffer *body);

#endif /* INFERD_REPLY_H */
