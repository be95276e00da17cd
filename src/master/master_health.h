/*
 * master_health: what the master watches and reports about its workers:
 * their heartbeats (a stalled worker is killed; the table replaces it),
 * systemd's watchdog and STATUS=, and the shared header's integrity.
 * It reads the worker table and never changes it but to mark a stalled
 * worker.
 */
#ifndef INFERD_MASTER_HEALTH_H
#define INFERD_MASTER_HEALTH_H

#include <stdint.h>

struct event;
struct event_base;
struct mworkers;

struct mhealth {
	struct mworkers		*w;
	struct event_base	*base;
	double			 stall_timeout;	/* worker_stall_timeout */
	double			 stall_interval; /* worker_stall_interval */
	int			 backlog;	/* to listen(2) again */
	struct event		*ev_health;	/* heartbeat check */
	struct event		*ev_watchdog;	/* systemd's */
	uint64_t		 stalls;	/* workers killed for it */
	int			 shm_broken;	/* logged once */
	char			 status[128];	/* last STATUS= sent */
};

/* Set up the checks on base for table w; 0 or -1. */
int	 mhealth_init(struct mhealth *, struct event_base *,
	    struct mworkers *w);
void	 mhealth_free(struct mhealth *);
/* (Re)start the heartbeat check for stall_timeout, the systemd watchdog
 * if WATCHDOG_USEC asks for it. */
void	 mhealth_start(struct mhealth *, double stall_timeout);
/* A new worker_stall_timeout (a reload). */
void	 mhealth_set_stall_timeout(struct mhealth *, double);
/* A new worker_stall_interval and listen backlog (start, reload); the
 * check runs at a quarter of the shorter of interval and timeout. */
void	 mhealth_set_stall_interval(struct mhealth *, double interval,
	    int backlog);
/* Ready workers whose heartbeat is older than worker_stall_interval:
 * not ready (/healthz, inferd_workers_stalled). */
unsigned mhealth_stalled(const struct mhealth *);
/* Log once if the segment's header was overwritten. */
void	 mhealth_check_shm(struct mhealth *);
/* Send systemd STATUS= if it changed. */
void	 mhealth_status(struct mhealth *);

#endif /* INFERD_MASTER_HEALTH_H */
