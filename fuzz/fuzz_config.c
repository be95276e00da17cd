/*
 * fuzz_config: the configuration file parser (config_parse) on arbitrary
 * text.  Oracle: a refusal names the file and line; an accepted file
 * leaves settings within their limits.
 */
#include "autoconf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "inferd/config.h"
#include "fuzz.h"

#define FUZZ_NAME	"fuzz.conf"

/* Nothing to share. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Check what an accepted file left in cfg. */
static void
fuzz_check_config(const struct config *cfg)
{
	size_t	i;

	if (cfg->nbuckets == 0 || cfg->nbuckets > CONFIG_MAX_BUCKETS)
		fuzz_fail("%zu buckets", cfg->nbuckets);
	for (i = 0; i < cfg->nbuckets; i++)
		if (!isfinite(cfg->buckets[i]) || cfg->buckets[i] <= 0 ||
		    (i > 0 && cfg->buckets[i] <= cfg->buckets[i - 1]))
			fuzz_fail("bucket %zu is %g", i, cfg->buckets[i]);
	if (cfg->workers > CONFIG_MAX_WORKERS || cfg->max_connections == 0 ||
	    cfg->max_batch_rows == 0 || cfg->max_body_bytes == 0)
		fuzz_fail("a count out of its range");
	if (!(cfg->max_delay >= 0) || !isfinite(cfg->max_delay) ||
	    !(cfg->request_timeout > 0) || !isfinite(cfg->request_timeout))
		fuzz_fail("a duration out of its range");
	if (strnlen(cfg->model, sizeof(cfg->model)) == sizeof(cfg->model) ||
	    cfg->model[0] == '\0' ||
	    strnlen(cfg->listen.host, sizeof(cfg->listen.host)) ==
	    sizeof(cfg->listen.host) ||
	    strnlen(cfg->listen.port, sizeof(cfg->listen.port)) ==
	    sizeof(cfg->listen.port))
		fuzz_fail("a string without its NUL");
}

/* The input, up to its first NUL, is the text of a configuration file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 cfg;
	char		*text, err[512];

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	config_defaults(&cfg);
	err[0] = '\0';
	if (config_parse(&cfg, text, FUZZ_NAME, err, sizeof(err)) == 0)
		fuzz_check_config(&cfg);
	else if (strncmp(err, FUZZ_NAME ":", strlen(FUZZ_NAME ":")) != 0 ||
	    strnlen(err, sizeof(err)) == sizeof(err))
		fuzz_fail("refused without naming the file and line: "
		    "\"%.200s\"", err);
	free(text);
	return 0;
}
