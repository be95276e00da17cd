/*
 * fuzz_http: the strict HTTP/1.1 request parser (http_parse.h) on
 * arbitrary bytes: the head scanner fed in two pieces (as a trickled head
 * arrives), the head parser, and the chunk-size parser on every line.
 * Oracles: the scanner finds the same end whole or in pieces; an accepted
 * head has a method, a path starting with '/', HTTP/1.x, exactly one
 * framing (never Content-Length with Transfer-Encoding) and fields without
 * control characters; a refusal is 400 or 505 with a reason.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inferd/http_parse.h"
#include "fuzz.h"

#define FUZZ_HTTP_MAX	65536	/* bytes of a head looked at */

/* Nothing to share. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Check an accepted head. */
static void
fuzz_http_accepted(const struct http_head *h)
{
	size_t		i;
	unsigned	ncl = 0, nte = 0;
	const char	*p;

	if (h->method == 0 || h->method_s == NULL || h->path == NULL ||
	    h->path[0] != '/' || (h->minor < 0 || h->minor > 9))
		fuzz_fail("accepted head without method, path or version");
	for (i = 0; i < h->nheaders; i++) {
		if (h->headers[i].name[0] == '\0')
			fuzz_fail("accepted an empty header name");
		for (p = h->headers[i].value; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 && *p != '\t')
				fuzz_fail("control character in a value");
		if (strcasecmp(h->headers[i].name, "Content-Length") == 0)
			ncl++;
		if (strcasecmp(h->headers[i].name, "Transfer-Encoding") == 0)
			nte++;
	}
	if (ncl > 1 || nte > 1 || (ncl > 0 && nte > 0))
		fuzz_fail("ambiguous framing accepted (%u CL, %u TE)", ncl, nte);
	if (h->framing == HTTP_BODY_CHUNKED && nte != 1)
		fuzz_fail("chunked without Transfer-Encoding");
	if (h->framing == HTTP_BODY_LENGTH && (ncl != 1 || h->length == 0))
		fuzz_fail("length framing without one Content-Length");
}

/* The input is what a client sends. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_header	*hdrs;
	struct http_head	 h;
	const char		*why = NULL, *nl, *line;
	size_t			 from = 0, from2 = 0, end, end2, cut, cap;
	uint64_t		 csize;
	char			*buf;
	int			 rc;

	if (size > FUZZ_HTTP_MAX)
		size = FUZZ_HTTP_MAX;
	/* The scanner, whole and in two pieces. */
	end = http_head_end((const char *)data, size, &from);
	cut = size / 2;
	end2 = http_head_end((const char *)data, cut, &from2);
	if (end2 == 0)
		end2 = http_head_end((const char *)data, size, &from2);
	if (end != end2)
		fuzz_fail("head end %zu whole, %zu in pieces", end, end2);
	if (end > size)
		fuzz_fail("head end %zu past the input (%zu)", end, size);
	/* The parser, on the head (or all of it if it has no end). */
	if (end == 0)
		end = size;
	cap = end / 2 + 1;
	if ((buf = malloc(end + 1)) == NULL ||
	    (hdrs = calloc(cap, sizeof(*hdrs))) == NULL) {
		free(buf);
		return 0;
	}
	memcpy(buf, data, end);
	buf[end] = '\0';
	rc = http_parse_head(buf, end, &h, hdrs, cap, &why);
	if (rc == 0)
		fuzz_http_accepted(&h);
	else if ((rc != 400 && rc != 505) || why == NULL || *why == '\0')
		fuzz_fail("refusal %d without a reason", rc);
	free(hdrs);
	free(buf);
	/* The chunk-size parser on every line of the input. */
	for (line = (const char *)data; line < (const char *)data + size;
	    line = nl + 1) {
		nl = memchr(line, '\n', (size_t)((const char *)data + size -
		    line));
		if (nl == NULL)
			nl = (const char *)data + size;
		why = NULL;
		if (http_parse_chunk_size(line, (size_t)(nl - line), &csize,
		    &why) == -1 && why == NULL)
			fuzz_fail("chunk size refused without a reason");
		if (nl == (const char *)data + size)
			break;
	}
	return 0;
}
