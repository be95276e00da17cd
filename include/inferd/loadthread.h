/*
 * loadthread: load a model off the event loop.  model_load() of a large
 * model takes seconds; a thread does it and hands the result back to the
 * loop through a pipe, so the loop that started it keeps serving (the
 * master's /metrics, its reaping, its watchdog) meanwhile.
 */
#ifndef INFERD_LOADTHREAD_H
#define INFERD_LOADTHREAD_H

struct event_base;
struct loadthread;
struct model;
struct model_limits;

/*
 * Called on the loop when the load is over: model (now the callee's), or
 * NULL and err saying why.  The loadthread is freed after it returns.
 */
typedef void	(*loadthread_cb)(struct model *model, const char *err,
		    void *arg);

/*
 * Start loading path (with limits, copied) in a thread whose result reaches done on base.  NULL
 * if the thread cannot be started (logged).
 */
struct loadthread	*loadthread_start(struct event_base *, const char *path,
			    const struct model_limits *, loadthread_cb done,
			    void *arg);

/* Wait for the thread and drop its result unseen (at shutdown). */
void			 loadthread_free(struct loadthread *);

#endif /* INFERD_LOADTHREAD_H */
