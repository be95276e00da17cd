/*
 * master_reload: SIGHUP, the one owner of reloading (see master_reload.h).
 * The configuration is read again in the loop, the model is loaded in a
 * thread (loadthread), and once it is loaded the new configuration and
 * model become the next generation: a new worker starts on every listener
 * slot and the old ones drain.
 */
#include "autoconf.h"

#include <stdlib.h>

#include <event2/event.h>

#include "inferd/config.h"
#include "inferd/loadthread.h"
#include "inferd/log.h"
#include "inferd/model.h"
#include "inferd/notify.h"
#include "master/master_gen.h"
#include "master/master_reload.h"
#include "master/master_workers.h"

struct mreload {
	struct event_base	*base;
	struct mworkers		*w;
	struct master_gen	*gen;		/* running */
	master_config_cb	 reconf;	/* builds the configuration */
	void			*reconf_arg;
	mreload_done_cb		 done;
	void			*arg;
	struct config		 next;		/* being reloaded */
	struct loadthread	*loader;	/* loading next.model */
	int			 pending;	/* SIGHUP during a reload */
	int			 stopping;
	uint64_t		 failures[2];	/* config, model */
};

static void	mreload_start(struct mreload *);

/* A new reloader; see master_reload.h. */
struct mreload *
mreload_new(struct event_base *base, struct mworkers *w,
    struct master_gen *first, master_config_cb reconf, void *reconf_arg,
    mreload_done_cb done, void *arg)
{
	struct mreload	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_error("calloc");
		master_gen_free(first);
		return NULL;
	}
	r->base = base;
	r->w = w;
	r->gen = first;
	r->reconf = reconf;
	r->reconf_arg = reconf_arg;
	r->done = done;
	r->arg = arg;
	return r;
}

/* Free the reloader: the loading thread is waited for, its model dropped. */
void
mreload_free(struct mreload *r)
{
	if (r == NULL)
		return;
	loadthread_free(r->loader);
	master_gen_free(r->gen);
	free(r);
}

/* The running generation. */
const struct master_gen *
mreload_gen(const struct mreload *r)
{
	return r->gen;
}

/* Refused reloads by cause. */
uint64_t
mreload_failures(const struct mreload *r, int what)
{
	return r->failures[what == MRELOAD_MODEL];
}

/* No more reloads. */
void
mreload_stop(struct mreload *r)
{
	r->stopping = 1;
	r->pending = 0;
}

/*
 * A reload's model is loaded: it and the new configuration make the next
 * generation; its workers start and the old ones retire.  0, or -1 when
 * the generation cannot be made (out of memory; model freed).
 */
static int
mreload_apply(struct mreload *r, struct model *model)
{
	struct master_gen	*next, *old = r->gen;

	if ((next = master_gen_new(old->number + 1, &r->next, model)) == NULL)
		return -1;
	r->gen = next;
	log_info("reload: model %s (%s, sha256 %.12s), generation %u",
	    model_name(model), model_objective(model), model_sha256(model),
	    next->number);
	mworkers_start_generation(r->w, next);
	/* Its workers keep what fork gave them: the master's copy goes. */
	master_gen_free(old);
	return 0;
}

/* The load thread is done (loadthread's callback): apply or refuse. */
static void
mreload_loaded(struct model *model, const char *err, void *arg)
{
	struct mreload	*r = arg;
	char		 note[512];
	int		 applied = 0;

	/* The thread has been joined: forks are safe again.  Workers of a
	 * new generation replace the ones held meanwhile. */
	r->loader = NULL;
	if (r->stopping) {
		mworkers_release_forks(r->w);
		model_free(model);
		return;
	}
	if (model != NULL && model_trees_note(model, note, sizeof(note)))
		log_info("reload: %s", note);
	if (model != NULL)
		applied = mreload_apply(r, model) == 0;
	else
		log_warnx("reload: %s; keeping model %s and the running "
		    "configuration", err, model_name(r->gen->model));
	mworkers_release_forks(r->w);
	if (!applied)
		r->failures[MRELOAD_MODEL]++;
	notify_send("READY=1");
	r->done(r->gen, applied, r->arg);
	/* A refused reload retires nobody: a queued one starts now. */
	mreload_workers_changed(r);
}

/*
 * Read the configuration again (it is small), then load its model in a
 * thread, so that the loop keeps answering scrapes, reaping and checking
 * heartbeats; mreload_loaded takes over.  A configuration or a model that
 * fails leaves everything as it was, and is counted.  Keys that need new
 * sockets keep their running values, and the log says so.
 */
static void
mreload_start(struct mreload *r)
{
	struct model_limits lim;
	char	src[CONFIG_PATH_MAX + 64], err[1024], changed[256];

	r->pending = 0;
	notify_send("RELOADING=1");
	if (r->reconf(&r->next, src, sizeof(src), err, sizeof(err),
	    r->reconf_arg) == -1) {
		r->failures[MRELOAD_CONFIG]++;
		log_warnx("reload: %s; keeping the running configuration and "
		    "model", err);
		notify_send("READY=1");
		r->done(r->gen, 0, r->arg);
		return;
	}
	log_info("reload: configuration: %s", src);
	config_keep_restart_keys(&r->gen->cfg, &r->next, changed,
	    sizeof(changed));
	if (changed[0] != '\0')
		log_warnx("reload: %s changed: a restart applies it; keeping "
		    "the running value", changed);
	lim = model_limits_config(&r->next);
	/* No fork while the thread runs: see mworkers_hold_forks. */
	mworkers_hold_forks(r->w);
	r->loader = loadthread_start(r->base, r->next.model, &lim,
	    mreload_loaded, r);
	if (r->loader == NULL) {
		mworkers_release_forks(r->w);
		r->failures[MRELOAD_MODEL]++;
		notify_send("READY=1");
		r->done(r->gen, 0, r->arg);
	}
}

/* SIGHUP: now, or queued behind the running reload. */
void
mreload_request(struct mreload *r)
{
	if (r->stopping)
		return;
	if (r->loader != NULL || mworkers_retiring(r->w) != 0) {
		log_info("reload: the previous reload is still %s; reloading "
		    "when it is done", r->loader != NULL ? "loading" :
		    "draining");
		r->pending = 1;
		return;
	}
	mreload_start(r);
}

/* The table changed: start the queued reload once nothing drains. */
void
mreload_workers_changed(struct mreload *r)
{
	if (r->pending && !r->stopping && r->loader == NULL &&
	    mworkers_retiring(r->w) == 0)
		mreload_start(r);
}
