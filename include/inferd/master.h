/*
 * master: the parent process.  It opens one SO_REUSEPORT listener per
 * worker slot and the metrics listener, creates the shared-memory segment,
 * forks the workers and replaces any that die (with backoff when they keep
 * dying or stall), serves /metrics, reloads the configuration and the model
 * on SIGHUP and drains everything on SIGTERM or SIGINT.
 */
#ifndef INFERD_MASTER_H
#define INFERD_MASTER_H

#include <stddef.h>

struct config;
struct model;

/*
 * Build the configuration afresh into cfg, as at start-up (defaults, the
 * file, the command line), for a reload.  Writes which file was read into
 * src ("read FILE" or "none ..."); 0, or -1 with the error in err.
 */
typedef int	(*master_config_cb)(struct config *cfg, char *src,
		    size_t srclen, char *err, size_t errlen, void *arg);

/*
 * Run the master with cfg (kept, and rewritten by reloads) and the model
 * loaded from cfg->model (taken over); reconf(arg) rebuilds the
 * configuration on SIGHUP.  Returns the process exit status: 0 after a
 * clean stop.
 */
int	master_run(struct config *cfg, struct model *model,
	    master_config_cb reconf, void *arg);

#endif /* INFERD_MASTER_H */
