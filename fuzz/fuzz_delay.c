/*
 * fuzz_delay: the ?delay= query parser (routes_parse_delay) on arbitrary
 * query strings.  Oracle: an accepted delay is finite and within max; a
 * refusal comes with a message.
 */
#include "autoconf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/routes.h"
#include "fuzz.h"

#define FUZZ_MAX_DELAY	10.0	/* max_delay's default */

/* Nothing to share. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* The input, up to its first NUL, is the raw query after '?'. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*query, why[256];
	double	 delay = -1;

	if ((query = malloc(size + 1)) == NULL)
		return 0;
	memcpy(query, data, size);
	query[size] = '\0';
	why[0] = '\0';
	if (routes_parse_delay(query, FUZZ_MAX_DELAY, &delay, why,
	    sizeof(why)) == 0) {
		if (!isfinite(delay) || delay < 0 || delay > FUZZ_MAX_DELAY)
			fuzz_fail("delay %g accepted for \"%.100s\"", delay,
			    query);
	} else if (why[0] == '\0' || strnlen(why, sizeof(why)) ==
	    sizeof(why))
		fuzz_fail("refused without a message: \"%.100s\"", query);
	free(query);
	return 0;
}
