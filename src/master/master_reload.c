/*
 * master_reload: SIGHUP.  The configuration is read again in the loop, the
 * model is loaded in a thread (loadthread), and once it is loaded the new
 * configuration and model become the running ones: a new worker starts on
 * every listener slot and the old ones drain.
 */
#include "autoconf.h"

#include <sys/types.h>

#include <signal.h>

#include <event2/event.h>

#include "inferd/config.h"
#include "inferd/loadthread.h"
#include "inferd/log.h"
#include "master/master_impl.h"
#include "inferd/metrics_http.h"
#include "inferd/model.h"
#include "inferd/notify.h"

/*
 * A reload's model is loaded: make the new configuration and model the
 * running ones, start a new worker on every listener slot and let the old
 * ones drain.
 */
static void
master_apply(struct master *m, struct model *model)
{
	double		 stall = config_stall_period(m->cfg);
	struct metrics_http_limits lim;
	unsigned	 i;
	int		 old;

	model_free(m->model);
	m->model = model;
	*m->cfg = m->next;
	log_set_level(m->cfg->log_level);
	master_fd_limit(m);
	lim = master_metrics_limits(m->cfg);
	metrics_http_set_limits(m->mhttp, &lim);
	if (config_stall_period(m->cfg) != stall)
		master_health_arm(m);
	log_info("reload: model %s (%s, sha256 %.12s)", model_name(model),
	    model_objective(model), model_sha256(model));
	for (i = 0; i < m->nls; i++) {
		old = m->ls[i].cur;
		if (old >= 0)
			m->procs[old].retiring = 1;
		evtimer_del(m->ls[i].respawn);
		m->ls[i].fails = 0;
		if (master_spawn(m, i) == -1)
			master_replace(m, i, 0);
		if (old >= 0)
			kill(m->procs[old].pid, SIGTERM);
	}
}

/* The load thread is done (loadthread's callback): apply or refuse. */
static void
master_reloaded(struct model *model, const char *err, void *arg)
{
	struct master	*m = arg;
	char		 note[512];

	m->loader = NULL;
	if (m->stopping) {
		model_free(model);
		return;
	}
	if (model != NULL && model_trees_note(model, note, sizeof(note)))
		log_info("reload: %s", note);
	if (model != NULL)
		master_apply(m, model);
	else {
		m->reload_failures[MASTER_RELOAD_MODEL]++;
		log_warnx("reload: %s; keeping model %s and the running "
		    "configuration", err, model_name(m->model));
	}
	notify_send("READY=1");
	master_status(m);
	if (model == NULL && m->reload_pending)
		master_sighup(m);
}

/*
 * SIGHUP: read the configuration again (it is small), then load its model
 * in a thread, so that the loop keeps answering scrapes, reaping and
 * checking heartbeats; master_reloaded takes over.  A configuration or a
 * model that fails leaves everything as it was, and is counted.  Keys that
 * need new sockets keep their running values, and the log says so.
 */
void
master_sighup(struct master *m)
{
	char	src[CONFIG_PATH_MAX + 64], err[1024], changed[256];

	if (m->stopping)
		return;
	if (m->loader != NULL || master_draining(m)) {
		log_info("reload: the previous reload is still %s; reloading "
		    "when it is done", m->loader != NULL ? "loading" :
		    "draining");
		m->reload_pending = 1;
		return;
	}
	m->reload_pending = 0;
	notify_send("RELOADING=1");
	if (m->reconf(&m->next, src, sizeof(src), err, sizeof(err),
	    m->reconf_arg) == -1) {
		m->reload_failures[MASTER_RELOAD_CONFIG]++;
		log_warnx("reload: %s; keeping the running configuration and "
		    "model", err);
		notify_send("READY=1");
		return;
	}
	log_info("reload: configuration: %s", src);
	config_keep_restart_keys(m->cfg, &m->next, changed, sizeof(changed));
	if (changed[0] != '\0')
		log_warnx("reload: %s changed: a restart applies it; keeping "
		    "the running value", changed);
	m->loader = loadthread_start(m->base, m->next.model,
	    &m->next.model_limits, master_reloaded, m);
	if (m->loader == NULL) {
		m->reload_failures[MASTER_RELOAD_MODEL]++;
		notify_send("READY=1");
	}
}
