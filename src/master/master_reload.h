/*
 * master_reload: the one owner of reloading.  SIGHUP asks for a reload;
 * the configuration is read again in the loop, its model loaded in a
 * thread (loadthread), and a model that loads makes the next generation
 * (master_gen.h): the worker table starts its workers and retires the old
 * ones.  A SIGHUP while a reload loads, or while the workers of the last
 * one still drain, is queued (one deep) and starts when the table reports
 * that no worker retires any more.
 */
#ifndef INFERD_MASTER_RELOAD_H
#define INFERD_MASTER_RELOAD_H

#include <stdint.h>

#include "inferd/master.h"

struct event_base;
struct master_gen;
struct mreload;
struct mworkers;

enum { MRELOAD_CONFIG, MRELOAD_MODEL };	/* what a refused reload blamed */

/*
 * A reload is over: gen is the running generation, new when applied.
 * The caller applies what the master itself holds (log level, limits,
 * timers) and reports status.
 */
typedef void	(*mreload_done_cb)(const struct master_gen *gen, int applied,
		    void *arg);

/* The reloader of table w, starting from generation first (taken over);
 * reconf rebuilds the configuration.  NULL when out of memory. */
struct mreload	*mreload_new(struct event_base *, struct mworkers *w,
		    struct master_gen *first, master_config_cb reconf,
		    void *reconf_arg, mreload_done_cb done, void *arg);
/* Wait for a loading thread and free everything, generation included. */
void		 mreload_free(struct mreload *);

/* SIGHUP: reload now, or once the running reload is over. */
void		 mreload_request(struct mreload *);
/* The worker table changed (workers reaped): a queued reload may start. */
void		 mreload_workers_changed(struct mreload *);
/* The master stops: no reload starts or applies any more. */
void		 mreload_stop(struct mreload *);

/* The running generation. */
const struct master_gen *mreload_gen(const struct mreload *);
/* Reloads refused, by what was at fault (MRELOAD_CONFIG, _MODEL). */
uint64_t	 mreload_failures(const struct mreload *, int what);

#endif /* INFERD_MASTER_RELOAD_H */
