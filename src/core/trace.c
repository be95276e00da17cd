/*
 * trace: request IDs and W3C traceparent.  See include/inferd/trace.h.
 */
#include "autoconf.h"

#include <sys/random.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inferd/trace.h"

static const char trace_hex[] = "0123456789abcdef";

/* Seed the generator of a worker. */
void
trace_gen_init(struct trace_gen *gen, unsigned worker)
{
	uint64_t	r = 0;
	struct timespec	ts;
	int		i;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		/* No entropy yet (early boot): time and pid still differ
		 * between processes and restarts. */
		clock_gettime(CLOCK_REALTIME, &ts);
		r = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		r ^= (uint64_t)getpid() << 40;
	}
	for (i = 0; i < 16; i++)
		gen->prefix[i] = trace_hex[(r >> (60 - 4 * i)) & 0xf];
	snprintf(gen->prefix + 16, sizeof(gen->prefix) - 16, "-%u-",
	    worker % 100000);
	gen->prefixlen = strlen(gen->prefix);
	gen->next = 1;
}

/* A new ID: the prefix and the counter in hex. */
size_t
trace_gen_next(struct trace_gen *gen, char id[TRACE_REQID_LEN])
{
	char		 num[17], *p = num + sizeof(num);
	uint64_t	 n = gen->next++;
	size_t		 len;

	*--p = '\0';
	do
		*--p = trace_hex[n & 0xf];
	while ((n >>= 4) > 0);
	len = (size_t)(num + sizeof(num) - 1 - p);
	memcpy(id, gen->prefix, gen->prefixlen);
	memcpy(id + gen->prefixlen, p, len + 1);
	return gen->prefixlen + len;
}

/* 1 to max visible ASCII bytes. */
int
trace_reqid_valid(const char *s, size_t len, size_t max)
{
	size_t	i;

	if (s == NULL || len == 0 || len > max || len > TRACE_REQID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* Whether s[0..n-1] is lowercase hex, not all zero (when nonzero). */
static int
trace_hex_field(const char *s, size_t n, int nonzero)
{
	size_t	i;
	int	any = 0;

	for (i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
		any |= s[i] != '0';
	}
	return !nonzero || any;
}

/* version-traceid-parentid-flags. */
int
trace_parse_traceparent(const char *s, char trace_id[TRACE_ID_LEN])
{
	size_t	len;

	trace_id[0] = '\0';
	if (s == NULL)
		return -1;
	len = strnlen(s, TRACE_TRACEPARENT_MAX + 1);
	if (len < 55 || len > TRACE_TRACEPARENT_MAX)
		return -1;
	if (!trace_hex_field(s, 2, 0) || memcmp(s, "ff", 2) == 0 ||
	    s[2] != '-' || !trace_hex_field(s + 3, 32, 1) || s[35] != '-' ||
	    !trace_hex_field(s + 36, 16, 1) || s[52] != '-' ||
	    !trace_hex_field(s + 53, 2, 0))
		return -1;
	/* Version 00 is exactly 55 bytes; a later one may add '-' fields. */
	if (len > 55 && (memcmp(s, "00", 2) == 0 || s[55] != '-'))
		return -1;
	memcpy(trace_id, s + 3, 32);
	trace_id[32] = '\0';
	return 0;
}
