/*
 * guard: bounds the connections of one evhttp server in time and number,
 * from accept(2) on.  Used by the workers (inference port) and by the
 * master (metrics port) alike.
 *
 * A connection is counted from the moment it is accepted until its socket
 * is closed (a lingering close included).  When max_connections are open
 * the server stops accepting: new connections wait in the listening
 * socket's backlog (or go to another worker) instead of being accepted and
 * reset; it accepts again as soon as one closes.  When accept(2) itself
 * fails (EMFILE, ENFILE, ENOBUFS) it pauses for GUARD_ACCEPT_RETRY instead
 * of retrying in a busy loop, and logs it at most once every
 * GUARD_PAUSE_LOG seconds (with the count of pauses not logged).
 *
 * Deadlines, each a whole, not an idle, time:
 * - the head of a request must be complete header_timeout after the
 *   connection was accepted, or after the first byte of a later request on
 *   a kept-alive connection, however slowly it trickles;
 * - its body must be complete body_timeout after the head was;
 * - a kept-alive connection with no request for keepalive_timeout after
 *   its last response was written is closed.
 * While a request is being answered no deadline runs (the route's own
 * bounds, max_delay and evhttp's write timeout, apply).  A connection past
 * its deadline is closed without an answer, as nginx does.
 *
 * When evhttp closes a connection after an answer of its own, while its
 * client may still be sending (an early 413 or 400), the guard keeps the socket open for at most
 * GUARD_LINGER seconds and discards what arrives, so that the client
 * reads the answer before the connection goes (nginx's lingering close).
 *
 * What this relies on in libevent 2.1 (checked against 2.1.12, which has
 * no evhttp_set_newreqcb): evhttp calls the bufferevent callback
 * (evhttp_set_bevcb) once per accepted connection, then sets the
 * bufferevent's callback argument to the new evhttp_connection before the
 * loop runs again; a connection's close callback runs before its socket is
 * closed; an input buffer's callbacks run as soon as bytes are added,
 * before evhttp parses them.
 */
#ifndef INFERD_GUARD_H
#define INFERD_GUARD_H

struct event_base;
struct evhttp;
struct evhttp_request;

#define GUARD_ACCEPT_RETRY	0.1	/* seconds of pause after accept fails */
#define GUARD_LINGER		5.0	/* seconds of a lingering close */
#define GUARD_PAUSE_LOG		10.0	/* seconds between two pauses logged */

struct guard_params {
	const char	*name;			/* for the log: "worker 0" */
	unsigned	 max_connections;
	double		 header_timeout;	/* seconds */
	double		 body_timeout;		/* seconds */
	double		 keepalive_timeout;	/* seconds */
};

struct guard;
struct guard_conn;

/* A guarded connection went away; data as last set on it. */
typedef void	(*guard_close_cb)(void *data, void *arg);

/*
 * Guard http, which is to accept on the listening socket fd (the guard
 * binds it).  close is called for each connection that had data set, when
 * it closes.  NULL on failure, logged.
 */
struct guard	*guard_new(struct event_base *, struct evhttp *, int fd,
		    const struct guard_params *, guard_close_cb close,
		    void *arg);
/* Stop accepting for good (a drain): the listener leaves the loop now and
 * is closed on the next turn of the loop. */
void		 guard_stop(struct guard *);
/* New limits (a reload): max_connections at once, the deadlines from the
 * next one armed; the name is kept. */
void		 guard_set_params(struct guard *, const struct guard_params *);
/* Free the guard: after evhttp_free(), whose close callbacks it serves. */
void		 guard_free(struct guard *);

/*
 * A request reached the server's callback: its connection's deadline is
 * stopped until the response has been written.  Returns the connection
 * (NULL if the guard does not know it: out of memory at accept).
 */
struct guard_conn *guard_request(struct guard *, struct evhttp_request *);
/* The caller's data on a connection (NULL at first). */
void		*guard_conn_data(const struct guard_conn *);
void		 guard_conn_set_data(struct guard_conn *, void *);

#endif /* INFERD_GUARD_H */
