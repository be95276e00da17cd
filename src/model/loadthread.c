/*
 * loadthread: one thread, one model_load_limits(), one byte into a pipe.
 *
 * The thread touches nothing but its own struct loadthread until it has
 * written the byte; the loop reads the struct only after pthread_join, so
 * no lock is needed.  Every signal is blocked in the thread: the master's
 * handlers run on its main thread only.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "inferd/config.h"
#include "inferd/loadthread.h"
#include "inferd/log.h"
#include "inferd/model.h"

struct loadthread {
	pthread_t	 thread;
	int		 pipe[2];
	struct event	*ev;
	loadthread_cb	 done;
	void		*arg;
	char		 path[CONFIG_PATH_MAX];
	struct model_limits limits;
	struct model	*model;		/* the thread's result */
	char		 err[1024];
};

/* The thread: load, then wake the loop. */
static void *
loadthread_main(void *arg)
{
	struct loadthread	*lt = arg;
	char			 b = 'x';

	lt->model = model_load_limits(lt->path, &lt->limits, lt->err,
	    sizeof(lt->err));
	while (write(lt->pipe[1], &b, 1) == -1 && errno == EINTR)
		;
	return NULL;
}

/* Release what loadthread_start set up (the thread is gone). */
static void
loadthread_release(struct loadthread *lt)
{
	if (lt->ev != NULL)
		event_free(lt->ev);
	close(lt->pipe[0]);
	close(lt->pipe[1]);
	free(lt);
}

/* The thread is done: hand its result to the callback. */
static void
loadthread_ready(evutil_socket_t fd, short what, void *arg)
{
	struct loadthread	*lt = arg;
	char			 b;

	(void)fd;
	(void)what;

	if (read(lt->pipe[0], &b, 1) != 1)
		return;
	pthread_join(lt->thread, NULL);
	lt->done(lt->model, lt->model == NULL ? lt->err : NULL, lt->arg);
	loadthread_release(lt);
}

/* Start loading path. */
struct loadthread *
loadthread_start(struct event_base *base, const char *path,
    const struct model_limits *limits, loadthread_cb done, void *arg)
{
	struct loadthread	*lt;
	sigset_t		 all, old;
	int			 rc;

	if ((lt = calloc(1, sizeof(*lt))) == NULL) {
		log_warn("loadthread: calloc");
		return NULL;
	}
	lt->done = done;
	lt->arg = arg;
	strlcpy(lt->path, path, sizeof(lt->path));
	lt->limits = *limits;
	if (pipe2(lt->pipe, O_CLOEXEC) == -1) {
		log_warn("loadthread: pipe2");
		free(lt);
		return NULL;
	}
	if ((lt->ev = event_new(base, lt->pipe[0], EV_READ, loadthread_ready,
	    lt)) == NULL || event_add(lt->ev, NULL) == -1) {
		log_warnx("loadthread: cannot watch its pipe");
		loadthread_release(lt);
		return NULL;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&lt->thread, NULL, loadthread_main, lt);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("loadthread: pthread_create: %s", strerror(rc));
		loadthread_release(lt);
		return NULL;
	}
	return lt;
}

/* Wait for the thread; drop its result. */
void
loadthread_free(struct loadthread *lt)
{
	if (lt == NULL)
		return;
	pthread_join(lt->thread, NULL);
	model_free(lt->model);
	loadthread_release(lt);
}
