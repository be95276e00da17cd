/*
 * conn_impl: what the HTTP server's own files share and nothing else
 * includes: the connection, the request and the set, their bounds, and the
 * functions one file calls in another.  Calls go one way, down this list:
 *
 *	conn_respond.c	the public answers: conn_respond, conn_error,
 *			conn_respond_after and its delay timer
 *	conn.c		the state machine: accept, heads and bodies read,
 *			dispatch, conn_send; the set's life and bounds
 *	conn_io.c	the connection's I/O: recvmsg and the receive-time
 *			ring, response heads, writing and the write
 *			deadline, lingering close, settle and free, trim
 *	conn_req.c	the request object: creation, accessors, headers,
 *			its ID and trace ID, counting, the access log
 */
#ifndef INFERD_CONN_IMPL_H
#define INFERD_CONN_IMPL_H

#include <sys/queue.h>

#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "inferd/clock.h"
#include "inferd/conn.h"
#include "inferd/http_parse.h"
#include "inferd/timeline.h"
#include "inferd/trace.h"

struct guard;

#define CONN_CLIENT_GONE	499	/* counted status, as nginx does */
#define CONN_DATE_LEN		30	/* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define CONN_READ_CHUNK		(16384 - 128) /* bytes of one recvmsg(2): a
					   16 KiB evbuffer chain, header included */
#define CONN_READ_SMALL		(4096 - 64) /* outside a body: a 4 KiB
					   chain, as a trickled head needs */
#define CONN_READ_TURN		(256 * 1024) /* bytes read per event */
#define CONN_BODY_WANT		65536	/* input buffered while in a body */
#define CONN_CHUNK_LINE		1024	/* bytes of a chunk-size line */
#define CONN_RX_RING		8	/* reads whose receive times we keep */
#define CONN_HEADER_MAX		8192	/* bytes of one added header */
#define CONN_TRIM_DELAY		1.0	/* seconds from a close to malloc_trim */
#define CONN_TRIM_BODIES	(1 << 20) /* bodies held that make it worth it */
#define CONN_TRIM_CONNS		256	/* open connections that make it worth it */

enum conn_state {
	CS_HEAD,		/* reading a request head */
	CS_BODY,		/* reading its body */
	CS_HANDLER,		/* the route is answering */
	CS_IDLE,		/* between requests */
	CS_LINGER		/* discarding input before the close */
};

/* Phases of a chunked body. */
enum conn_chunk {
	CH_SIZE,		/* a chunk-size line */
	CH_DATA,		/* chunk data */
	CH_CRLF,		/* the CRLF after it */
	CH_TRAILER		/* trailer lines, up to the empty one */
};

struct conn_req {
	struct conn_set		*set;
	struct conn		*conn;		/* NULL once it is gone */
	TAILQ_ENTRY(conn_req)	 entry;		/* in the set's requests */
	TAILQ_ENTRY(conn_req)	 qentry;	/* in its connection's queue */
	char			*headbuf;	/* the head, cut by the parser */
	struct http_head	 h;
	struct http_header	*hdrs;
	struct evbuffer		*body;		/* NULL until asked for */
	size_t			 reserved;	/* of max_body_memory */
	struct evbuffer		*extra;		/* added response headers */
	int			 has_ctype;	/* one of them is Content-Type */
	struct event		*timer;		/* pending delay */
	struct evbuffer		*delayed;	/* response kept for a delay */
	struct timeline		 tl;
	unsigned		 handler;
	int			 observe;	/* an inference route */
	int			 shed;		/* 1 + enum shm_shed, or 0 */
	uint32_t		 rows;		/* rows the model predicted */
	double			 compute;	/* seconds it took */
	int			 status;
	int			 started;	/* in flight (counted later) */
	int			 recorded;	/* counted in the slot */
	int			 close;		/* its answer closes */
	uint64_t		 bytes_in;
	uint64_t		 out_start, out_end; /* in conn's output */
	char			 addr[INET6_ADDRSTRLEN];
	unsigned		 port;
	/* Its names, and what the access log needs once it is counted. */
	int			 identified;	/* id and trace_id are set */
	char			 id[TRACE_REQID_LEN];
	char			 trace_id[TRACE_ID_LEN];
	double			 latency;	/* as counted (conn_record) */
	struct timespec		 counted;	/* when */
};

/* The receive time of the bytes of one read, up to end (cumulative). */
struct conn_rx {
	uint64_t	end;
	struct timespec	ts;
};

struct conn {
	struct conn_set		*set;
	int			 fd;
	enum conn_state		 state;
	struct event		*rev, *wev;	/* readable, writable */
	struct event		*rtimer;	/* head, body, idle, linger */
	struct event		*wtimer;	/* output stalled */
	struct evbuffer		*in, *out;
	struct conn_req		*cur;		/* being read or answered */
	TAILQ_HEAD(, conn_req)	 queue;		/* answered, being written */
	unsigned		 nqueued;
	uint64_t		 out_added;	/* bytes ever queued */
	uint64_t		 out_done;	/* bytes handed to the kernel */
	size_t			 scan;		/* http_head_end's resume */
	uint64_t		 left;		/* of the body or the chunk */
	uint64_t		 trailer;	/* trailer bytes seen */
	enum conn_chunk		 chunk;
	uint64_t		 rx_total;	/* bytes ever read */
	uint64_t		 rx_used;	/* bytes ever consumed */
	struct conn_rx		 rx[CONN_RX_RING];
	unsigned		 rx_n;		/* reads ever recorded */
	struct timespec		 req_rx;	/* next request's first byte */
	int			 req_started;	/* it has one */
	struct timespec		 dry;		/* client's wait started at */
	struct timespec		 drained;	/* a read found nothing at */
	double			 cwait;		/* next request's client wait */
	int			 rd_on, wr_on, wt_armed;
	int			 eof;		/* the client sent FIN */
	int			 closing;	/* close once output is out */
	int			 must_linger;	/* an early answer: linger */
	int			 dead;		/* free it in conn_settle */
	int			 in_cb;		/* callbacks running */
	int			 processing;	/* in conn_process */
	char			 addr[INET6_ADDRSTRLEN];
	unsigned		 port;
	LIST_ENTRY(conn)	 entry;		/* in the set's connections */
};

struct conn_set {
	struct event_base	 *base;
	struct conn_params	  p;
	char			  name[64];
	struct guard		 *guard;
	const struct shm_segment *seg;
	struct shm_slot		 *slot;
	unsigned		  other;	/* handler of unrouted requests */
	conn_route_cb		  route;
	conn_done_cb		  done;
	void			 *arg;
	int			  draining;
	size_t			  inflight;	/* not yet counted */
	size_t			  body_bytes;	/* reserved for bodies */
	TAILQ_HEAD(, conn_req)	  requests;	/* every request not freed */
	LIST_HEAD(, conn)	  conns;
	struct event		 *ev_trim;	/* memory back after closes */
	int			  trim_due;	/* much was held since the last */
	unsigned		  nconns;	/* open */
	/* The Date header of the current second (conn_date). */
	time_t			  date_sec;
	char			  date[CONN_DATE_LEN];
	/* Naming and logging requests (conn_set_trace). */
	struct conn_trace_params  trace;
	struct trace_gen	  gen;
	double			  slow_tokens;	/* warnings left to log */
	double			  slow_last;	/* Unix s, of the last refill */
	uint64_t		  slow_dropped;	/* not logged since */
};

/* Now on CLOCK_MONOTONIC. */
static inline struct timespec
conn_now(void)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

/* Arm ev seconds from now. */
static inline void
conn_arm(struct event *ev, double seconds)
{
	struct timeval	tv = clock_tv(seconds);

	evtimer_add(ev, &tv);
}

/* conn_req.c: the request object. */
struct conn_req	*conn_req_new(struct conn *, size_t);
void		 conn_req_free(struct conn_req *);
void		 conn_req_begin(struct conn_req *);
void		 conn_req_identify(struct conn_req *);
int		 conn_reserve(struct conn_req *, uint64_t);
void		 conn_record(struct conn_req *);
void		 conn_req_finish(struct conn_req *);

/* conn_io.c: the connection's I/O. */
struct timespec	 conn_rx_ts(const struct conn *, uint64_t);
int		 conn_queue(struct conn *, struct conn_req *,
		    struct evbuffer *, const char *, size_t);
ssize_t		 conn_write(struct conn *);
void		 conn_flush(struct conn *, struct conn_req *);
void		 conn_finish_close(struct conn *);
void		 conn_read(struct conn *);
void		 conn_free(struct conn *);
void		 conn_trim(evutil_socket_t, short, void *);
void		 conn_settle(struct conn *);
void		 conn_read_deadline(evutil_socket_t, short, void *);
void		 conn_write_deadline(evutil_socket_t, short, void *);

/* conn.c: the state machine. */
void		 conn_send(struct conn_req *, int, struct evbuffer *,
		    const char *, size_t);

#endif /* INFERD_CONN_IMPL_H */
