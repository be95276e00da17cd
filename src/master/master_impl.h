/*
 * master_impl: what the master's files share and nothing else includes
 * (see master.h):
 *
 *	master.c		start-up, signals (self-pipe), stop, exit
 *	master_workers.c	the worker table: fork, reap, respawn policy
 *	master_reload.c		SIGHUP: configuration, model thread, apply
 *	master_health.c		heartbeats, systemd watchdog and STATUS,
 *				the master's figures for /metrics
 *
 * Worker slots and metrics slots are two different things.  There are
 * `workers` listener slots, each with its own SO_REUSEPORT socket that the
 * master keeps open for its whole life, and twice as many metrics slots in
 * the shared segment: a worker process takes any free metrics slot when it
 * is forked and gives it back when it is reaped.  A reload therefore starts
 * a new worker on each listener slot (in a free metrics slot) before it
 * asks the old one to drain, and the two accept on the same socket for a
 * while.  Metrics slots are never reset, so whichever process continues a
 * slot, every counter keeps growing for as long as the master lives.
 */
#ifndef INFERD_MASTER_IMPL_H
#define INFERD_MASTER_IMPL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <signal.h>
#include <stdint.h>
#include <time.h>

#include <event2/util.h>

#include "inferd/config.h"
#include "inferd/master.h"
#include "inferd/metrics_http.h"
#include "inferd/shm.h"

struct event;
struct event_base;
struct expo_metrics;
struct loadthread;
struct master;
struct metrics_http;
struct model;

/* A worker process, in the metrics slot of the same index. */
struct mproc {
	pid_t		 pid;		/* 0: slot free */
	unsigned	 lslot;		/* listener slot it accepts on */
	int		 retiring;	/* draining after a reload */
	int		 stalled;	/* killed for a stale heartbeat */
	struct timespec	 started;
};

/* A listener slot. */
struct mlisten {
	struct master	*m;		/* its master (for the timer) */
	int		 fd;
	int		 cur;		/* index in procs, -1 when none */
	unsigned	 fails;		/* consecutive start failures */
	int		 detached;	/* out of the port: its worker stalled */
	struct sockaddr_storage addr;	/* its address, kept to rebind */
	socklen_t	 addrlen;
	struct event	*respawn;	/* backoff timer */
};

struct master {
	struct config		*cfg;
	struct model		*model;
	struct event_base	*base;
	struct metrics_http	*mhttp;
	struct shm_segment	 seg;
	struct mlisten		*ls;
	struct mproc		*procs;
	unsigned		 nls, nprocs;
	int			 sigpipe[2];	/* self-pipe of signals */
	sigset_t		 sigmask;	/* the signals it handles */
	struct event		*ev_signal, *ev_kill, *ev_watchdog;
	uint64_t		 restarts, start_failures;
	double			 start_time;
	int			 stopping;
	int			 reload_pending;	/* SIGHUP during a reload */
	/* issue 8: reload, heartbeats, status */
	master_config_cb	 reconf;	/* builds the configuration */
	void			*reconf_arg;
	struct config		 next;		/* being reloaded */
	struct loadthread	*loader;	/* loading next.model */
	struct event		*ev_health;	/* heartbeat check */
	uint64_t		 reload_failures[2];	/* config, model */
	uint64_t		 stalls;
	int			 shm_broken;	/* logged once */
	char			 status[128];	/* last STATUS= sent */
};

enum { MASTER_RELOAD_CONFIG, MASTER_RELOAD_MODEL };

/* master.c */
/* In a freshly forked worker: drop the master's signal handlers and every
 * descriptor but listener slot keep's. */
void	master_forget(struct master *, unsigned keep);
/* Size the master's own open file limit (at start and after a reload). */
void	master_fd_limit(const struct master *);
/* The metrics port's bounds in cfg (at start and after a reload). */
struct metrics_http_limits master_metrics_limits(const struct config *);

/* master_workers.c */
/* Whether the worker in metrics slot i has said it accepts. */
int	master_ready(const struct master *, unsigned i);
/* Listener slots served by a ready worker. */
unsigned master_alive(const struct master *);
/* Live workers whose heartbeat is older than worker_stall_interval. */
unsigned master_stalled(const struct master *);
/* master_health.c: put listener slot ls back into the port if a stall
 * took it out (see master_steer); before a worker is forked on it. */
void	master_attach(struct master *, unsigned ls);
/* Fork a worker for listener slot ls; 0 or -1. */
int	master_spawn(struct master *, unsigned ls);
/* Start listener slot ls's worker again, now or after a backoff; ready
 * says whether the one it replaces had been serving. */
void	master_replace(struct master *, unsigned ls, int ready);
/* A listener slot's backoff timer (arg: its struct mlisten). */
void	master_respawn(evutil_socket_t, short, void *);
/* SIGCHLD: reap every exited worker; replace or forget it. */
void	master_sigchld(struct master *);
/* Whether workers of an earlier reload are still draining. */
int	master_draining(const struct master *);

/* master_reload.c */
/* SIGHUP: reload the configuration, then the model in a thread. */
void	master_sighup(struct master *);

/* master_health.c */
/* Log once if the segment's header was overwritten. */
void	master_check_shm(struct master *);
/* The master's figures for a scrape (metrics_http's fill callback). */
void	master_metrics(struct expo_metrics *, void *);
/* Send systemd STATUS= if it changed. */
void	master_status(struct master *);
/* The heartbeat check's timer (arg: the master). */
void	master_health(evutil_socket_t, short, void *);
/* (Re)start the heartbeat check at the period of the stall timeout. */
void	master_health_arm(struct master *);
/* Set up the systemd watchdog if WATCHDOG_USEC asks for it. */
void	master_watchdog_init(struct master *);

#endif /* INFERD_MASTER_IMPL_H */
