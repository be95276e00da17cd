/*
 * master: the parent process.  It opens one SO_REUSEPORT listener per
 * worker slot and the metrics listener, creates the shared-memory segment,
 * forks the workers and replaces any that die (with backoff when they keep
 * dying), serves /metrics, reloads the model on SIGHUP and drains
 * everything on SIGTERM or SIGINT.
 */
#ifndef INFERD_MASTER_H
#define INFERD_MASTER_H

struct config;
struct model;

/*
 * Run the master with cfg and the model loaded from cfg->model (taken
 * over).  Returns the process exit status: 0 after a clean stop.
 */
int	master_run(struct config *cfg, struct model *model);

#endif /* INFERD_MASTER_H */
