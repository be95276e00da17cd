/*
 * guard: the listener of one of inferd's HTTP servers (conn.h), bounding
 * its connections in number from accept(2) on.  Used by the workers
 * (inference port) and by the master (metrics port) alike.
 *
 * A connection is counted from the moment it is accepted until its owner
 * says its socket is closed (guard_release; a lingering close included).
 * When max_connections are open the server stops accepting: new
 * connections wait in the listening socket's backlog (or go to another
 * worker) instead of being accepted and reset; it accepts again as soon
 * as one closes.  When accept(2) itself fails (EMFILE, ENFILE, ENOBUFS) it
 * pauses for CONN_ACCEPT_RETRY instead of retrying in a busy loop, and
 * logs it at most once every CONN_PAUSE_LOG seconds (with the count of
 * pauses not logged).
 *
 * SO_TIMESTAMPNS is set on the listening socket: accepted sockets inherit
 * it (Linux copies the socket's flags at accept; bytes that arrived before
 * the accept are stamped too), so that conn.c's recvmsg(2) gets the
 * kernel's receive time of every read.
 */
#ifndef INFERD_GUARD_H
#define INFERD_GUARD_H

#include <sys/socket.h>

struct event_base;

struct guard_params {
	const char	*name;			/* for the log: "worker 0" */
	unsigned	 max_connections;
};

struct guard;

/* A connection was accepted (non-blocking, close-on-exec) from sa. */
typedef void	(*guard_accept_cb)(int fd, const struct sockaddr *sa,
		    socklen_t salen, void *arg);

/*
 * Accept on the listening socket fd (taken over: closed by guard_free, or
 * at once on failure) and hand each connection to accept.  NULL on
 * failure, logged.
 */
struct guard	*guard_new(struct event_base *, int fd,
		    const struct guard_params *, guard_accept_cb, void *arg);
/* A connection's socket was closed: one fewer open. */
void		 guard_release(struct guard *);
/* Stop accepting for good (a drain): the listener leaves the loop now and
 * is closed on the next turn of the loop. */
void		 guard_stop(struct guard *);
/* New limits (a reload); the name is kept. */
void		 guard_set_params(struct guard *, const struct guard_params *);
void		 guard_free(struct guard *);

#endif /* INFERD_GUARD_H */
