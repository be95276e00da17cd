/*
 * conn: inferd's HTTP/1.1 server: connections and the requests on them.
 * See include/inferd/conn.h for the states, the bounds and the counting
 * contract, include/inferd/timeline.h for the request's timeline, and
 * doc/http.md for why it replaced evhttp.
 *
 * Life of a connection: guard.c accepts it and calls conn_accept(); every
 * event (readable, writable, a deadline, an answer) runs the same three
 * steps: do the I/O, advance the state machine (conn_process), then
 * settle (conn_settle: free the connection if it died, else enable
 * exactly the I/O its state wants).  A connection is freed only by
 * conn_settle, at the end of the outermost callback, so nothing below
 * touches a freed connection.
 *
 * Life of a request: conn_head() creates it when its head is complete;
 * conn_dispatch() hands it to the route once its body is; the route (or
 * the layer itself, for an error of framing or resources) answers with
 * conn_answer(), which queues the response in the connection's output,
 * counts it (conn_record) and writes it (conn_flush); it is freed when its
 * last byte has been handed to the kernel (conn_written) or its
 * connection goes.  A request waiting for its delay whose connection dies
 * is detached (r->conn = NULL) and counted 499 when it answers.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/ioctl.h>

#include <linux/sockios.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "inferd/accesslog.h"
#include "inferd/clock.h"
#include "inferd/conn.h"
#include "inferd/guard.h"
#include "inferd/log.h"
#include "inferd/reply.h"
#include "inferd/shm.h"
#include "inferd/trace.h"

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

/* Why conn_process stopped. */
enum conn_stop {
	CP_INPUT,		/* it needs more input */
	CP_WAIT			/* it waits for an answer or for output */
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

static void	conn_settle(struct conn *);
static enum conn_stop conn_process(struct conn *);

/* Now on CLOCK_MONOTONIC. */
static struct timespec
conn_now(void)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

/* Seconds from a to b. */
static double
conn_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/*
 * The kernel's receive time kts (CLOCK_REALTIME) on CLOCK_MONOTONIC: now
 * minus its age.  A timestamp from the future (the clock stepped) is now.
 */
static struct timespec
conn_rx_mono(const struct timespec *kts)
{
	struct timespec	real, mono = conn_now();
	int64_t		age;

	clock_gettime(CLOCK_REALTIME, &real);
	age = (int64_t)(real.tv_sec - kts->tv_sec) * 1000000000 +
	    (real.tv_nsec - kts->tv_nsec);
	if (age <= 0)
		return mono;
	if (age > (int64_t)mono.tv_sec * 1000000000)
		age = (int64_t)mono.tv_sec * 1000000000;
	mono.tv_sec -= (time_t)(age / 1000000000);
	mono.tv_nsec -= (long)(age % 1000000000);
	if (mono.tv_nsec < 0) {
		mono.tv_nsec += 1000000000;
		mono.tv_sec--;
	}
	return mono;
}

/* The receive time of the byte at cumulative offset off of c's input. */
static struct timespec
conn_rx_ts(const struct conn *c, uint64_t off)
{
	unsigned	i, first = c->rx_n > CONN_RX_RING ?
			    c->rx_n - CONN_RX_RING : 0;

	if (c->rx_n == 0)
		return conn_now();
	for (i = first; i < c->rx_n; i++)
		if (c->rx[i % CONN_RX_RING].end > off)
			return c->rx[i % CONN_RX_RING].ts;
	return c->rx[(c->rx_n - 1) % CONN_RX_RING].ts;
}

/* Arm ev seconds from now. */
static void
conn_arm(struct event *ev, double seconds)
{
	struct timeval	tv = clock_tv(seconds);

	evtimer_add(ev, &tv);
}

/* What the socket says of its client. */
enum conn_peer {
	CONN_PEER_OPEN,		/* nothing unusual */
	CONN_PEER_FIN,		/* it closed its side, or all of it */
	CONN_PEER_RESET,	/* it reset the connection: nobody reads */
};

/* Look at fd without reading anything. */
static enum conn_peer
conn_peer(int fd)
{
	char	ch;
	ssize_t	n = recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)))
		return CONN_PEER_OPEN;
	return n == 0 ? CONN_PEER_FIN : CONN_PEER_RESET;
}

/*
 * Whether fd has a pending error: after a write to a client that sent FIN,
 * the reset its kernel answers with (EPIPE in CLOSE_WAIT), which recv(2)
 * does not show behind the end of file.
 */
static int
conn_errored(int fd)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0;
}

/* ---- the set ---------------------------------------------------------- */

/* Requests not yet counted. */
size_t
conn_set_inflight(const struct conn_set *set)
{
	return set->inflight;
}

/* Whether every request is freed. */
int
conn_set_idle(const struct conn_set *set)
{
	return TAILQ_EMPTY(&set->requests);
}

/* Bytes reserved for request bodies. */
size_t
conn_set_body_bytes(const struct conn_set *set)
{
	return set->body_bytes;
}

/* Answers close their connections from now on. */
void
conn_set_draining(struct conn_set *set)
{
	set->draining = 1;
}

/* The guard's parameters of p. */
static struct guard_params
conn_guard_params(const struct conn_set *set)
{
	return (struct guard_params){ .name = set->name,
	    .max_connections = set->p.max_connections };
}

/* New bounds; see conn.h. */
void
conn_set_params(struct conn_set *set, const struct conn_params *p)
{
	struct guard_params	gp;

	set->p = *p;
	set->p.name = set->name;
	if (set->p.pipeline_depth == 0)
		set->p.pipeline_depth = 1;
	gp = conn_guard_params(set);
	guard_set_params(set->guard, &gp);
}

/* Stop accepting for good. */
void
conn_set_stop(struct conn_set *set)
{
	guard_stop(set->guard);
}

/* ---- requests --------------------------------------------------------- */

/* Free a request's own resources and its body reservation. */
static void
conn_req_free(struct conn_req *r)
{
	r->set->body_bytes -= r->reserved;
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->delayed != NULL)
		evbuffer_free(r->delayed);
	if (r->body != NULL)
		evbuffer_free(r->body);
	if (r->extra != NULL)
		evbuffer_free(r->extra);
	free(r->headbuf);
	free(r->hdrs);
	free(r);
}

/* The request is in flight from now on: it will be counted once. */
static void
conn_req_begin(struct conn_req *r)
{
	if (r->started)
		return;
	r->started = 1;
	r->set->inflight++;
	if (r->set->slot != NULL)
		shm_in_flight_add(r->set->slot, 1);
}

/* Now, in Unix seconds, from the loop's cached clock. */
static double
conn_wallclock(struct conn_set *set)
{
	struct timeval	tv;

	if (event_base_gettimeofday_cached(set->base, &tv) == -1)
		gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Add one to a counter of the set's own slot (its one writer), if any. */
static void
conn_count_add(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c,
	    memory_order_relaxed) + 1, memory_order_relaxed);
}
#define conn_count(set, field)	do {					\
	if ((set)->slot != NULL)					\
		conn_count_add(&(set)->slot->field);			\
} while (0)

/* How the set names and logs its requests. */
void
conn_set_trace(struct conn_set *set, const struct conn_trace_params *tp)
{
	set->trace = *tp;
	if (set->trace.reqid_max == 0)
		set->trace.reqid_max = TRACE_REQID_MAX;
	trace_gen_init(&set->gen, tp->worker);
	set->slow_tokens = tp->slow_rate;
}

/* Write the access log's buffer; count a failure. */
void
conn_set_flush_log(struct conn_set *set)
{
	if (set->trace.log != NULL && accesslog_flush(set->trace.log) == -1)
		conn_count(set, access_log_errors);
}

/*
 * Name r, once: its ID (kept from X-Request-Id or made), sent back in
 * X-Request-Id; its trace ID from a valid traceparent.  Before its answer
 * is queued: the layer's own errors (400, 413, 503) are named too, with
 * whatever headers could be parsed.
 */
static void
conn_req_identify(struct conn_req *r)
{
	struct conn_set	*set = r->set;
	const char	*v;

	if (r->identified)
		return;
	r->identified = 1;
	v = r->h.headers != NULL ? http_head_find(&r->h, "X-Request-Id") :
	    NULL;
	if (v != NULL && trace_reqid_valid(v, strlen(v), set->trace.reqid_max))
		strlcpy(r->id, v, sizeof(r->id));
	else
		trace_gen_next(&set->gen, r->id);
	trace_parse_traceparent(r->h.headers != NULL ? http_head_find(&r->h,
	    "traceparent") : NULL, r->trace_id);
	conn_req_add_header(r, "X-Request-Id", r->id);
}

/* r's request ID. */
const char *
conn_req_id(struct conn_req *r)
{
	conn_req_identify(r);
	return r->id;
}

/* r's trace ID, "" when none. */
const char *
conn_req_trace_id(struct conn_req *r)
{
	conn_req_identify(r);
	return r->trace_id;
}

/*
 * Whether a slow request may be logged now: a token bucket of slow_rate
 * tokens a second, as many at most.
 */
static int
conn_slow_allowed(struct conn_set *set, double now)
{
	double	rate = set->trace.slow_rate;

	if (rate <= 0)
		return 0;
	set->slow_tokens += (now - set->slow_last) * rate;
	set->slow_last = now;
	if (set->slow_tokens > rate)
		set->slow_tokens = rate;
	if (set->slow_tokens < 1)
		return 0;
	set->slow_tokens -= 1;
	return 1;
}

/*
 * Log a slow request at warning, rate-limited, with its access log object
 * (a stack frame of a line's size, so kept off the common path).
 */
static void __attribute__((noinline))
conn_log_slow(struct conn_set *set, const struct accesslog_entry *e)
{
	char	line[ACCESSLOG_LINE_MAX];

	conn_count(set, slow_requests);
	if (!conn_slow_allowed(set, e->time)) {
		set->slow_dropped++;
		return;
	}
	accesslog_format(line, sizeof(line), e);
	line[strcspn(line, "\n")] = '\0';
	if (set->slow_dropped > 0)
		log_warnx("slow request: %.3f s above slow_request_threshold "
		    "%.3f s (%llu more not logged, slow_request_log_rate): %s",
		    e->latency, set->trace.slow_threshold,
		    (unsigned long long)set->slow_dropped, line);
	else
		log_warnx("slow request: %.3f s above slow_request_threshold "
		    "%.3f s: %s", e->latency, set->trace.slow_threshold, line);
	set->slow_dropped = 0;
}

/*
 * A counted request is finished (written, or its client gone): its access
 * log line, and its warning if it was slow.  The phases, from the
 * timeline: read from the first byte received to the body complete, less
 * the client's own pauses; predict the model's time; write from the
 * moment it was counted (right before its write) to its last byte handed
 * to the kernel; wait the rest of the latency (the event loop, parsing, a
 * requested delay, formatting).  read + wait + predict = latency.
 */
static void
conn_log(struct conn_req *r)
{
	struct conn_set		*set = r->set;
	const struct timeline	*tl = &r->tl;
	struct accesslog_entry	 e;
	double			 read, predict, wait;
	int			 slow = set->trace.slow_threshold > 0 &&
				    r->latency > set->trace.slow_threshold;

	if (set->trace.log == NULL && !slow)
		return;
	conn_req_identify(r);
	read = timeline_span(&tl->received, &tl->body) - tl->client_wait;
	if (read < 0)
		read = 0;
	predict = timeline_span(&tl->predict_start, &tl->predict_end);
	wait = r->latency - read - predict;
	e = (struct accesslog_entry){
		.time = conn_wallclock(set),
		.client = r->addr[0] != '\0' ? r->addr : NULL,
		.port = r->port,
		.method = r->h.method_s,
		.path = r->h.path,
		.pathlen = r->h.path != NULL ? strlen(r->h.path) : 0,
		.query = r->h.query,
		.querylen = r->h.query != NULL ? strlen(r->h.query) : 0,
		.status = r->status,
		.bytes_in = conn_req_bytes_in(r),
		.bytes_out = conn_req_bytes_out(r),
		.rows = r->rows,
		.latency = r->latency,
		.read = read,
		.wait = wait > 0 ? wait : 0,
		.predict = predict,
		.write = timeline_span(&r->counted, &tl->written),
		.request_id = r->id,
		.trace_id = r->trace_id,
		.worker = set->trace.worker,
		.model = set->trace.model,
	};
	if (set->trace.log != NULL && accesslog_add(set->trace.log, &e) == -1)
		conn_count(set, access_log_errors);
	if (slow)
		conn_log_slow(set, &e);
}

/*
 * Count a request in the slot, once: its status, its latency if it is a
 * valid inference (see shm_observed), the model's work, and one fewer in
 * flight.
 */
static void
conn_record(struct conn_req *r)
{
	struct conn_set		*set = r->set;
	struct timespec		 now;
	struct shm_request	 rq = { .handler = r->handler,
				    .status = r->status, .observe = r->observe,
				    .shed = r->shed, .rows = r->rows, .compute = r->compute };

	if (r->recorded || !r->started)
		return;
	r->recorded = 1;
	set->inflight--;
	now = conn_now();
	r->counted = now;
	r->latency = timeline_latency(&r->tl, &now);
	if (set->slot == NULL)
		return;
	rq.latency = r->latency;
	conn_req_identify(r);
	rq.exemplar_kind = r->trace_id[0] != '\0' ? SHM_EXEMPLAR_TRACE :
	    SHM_EXEMPLAR_REQUEST;
	rq.exemplar_id = r->trace_id[0] != '\0' ? r->trace_id : r->id;
	rq.time_ms = (int64_t)(conn_wallclock(set) * 1000.0);
	shm_record(set->seg, set->slot, &rq);
	shm_in_flight_add(set->slot, -1);
}

/* Count a request (if not yet done) and free it; tell the owner. */
static void
conn_req_finish(struct conn_req *r)
{
	struct conn_set	*set = r->set;

	conn_record(r);
	if (r->recorded)
		conn_log(r);
	TAILQ_REMOVE(&set->requests, r, entry);
	if (set->done != NULL)
		set->done(r, set->arg);
	conn_req_free(r);
}

unsigned
conn_req_method(const struct conn_req *r)
{
	return r->h.method;
}

const char *
conn_req_method_name(const struct conn_req *r)
{
	return r->h.method_s != NULL ? r->h.method_s : "";
}

const char *
conn_req_path(const struct conn_req *r)
{
	return r->h.path != NULL ? r->h.path : "/";
}

const char *
conn_req_query(const struct conn_req *r)
{
	return r->h.query;
}

const char *
conn_req_header(const struct conn_req *r, const char *name)
{
	return r->h.headers != NULL ? http_head_find(&r->h, name) : NULL;
}

struct evbuffer *
conn_req_body(const struct conn_req *r)
{
	struct conn_req	*w = (struct conn_req *)(uintptr_t)r;

	if (w->body == NULL)
		w->body = evbuffer_new();
	return w->body;
}

const char *
conn_req_addr(const struct conn_req *r)
{
	return r->addr;
}

unsigned
conn_req_port(const struct conn_req *r)
{
	return r->port;
}

uint64_t
conn_req_bytes_in(const struct conn_req *r)
{
	return r->bytes_in;
}

uint64_t
conn_req_bytes_out(const struct conn_req *r)
{
	uint64_t	done;

	if (r->out_end == 0)
		return 0;
	if (r->conn == NULL || timeline_set(&r->tl.written))
		return r->out_end - r->out_start;
	done = r->conn->out_done;
	return done <= r->out_start ? 0 : (done >= r->out_end ?
	    r->out_end : done) - r->out_start;
}

int
conn_req_status(const struct conn_req *r)
{
	return r->started ? r->status : 0;
}

const struct timeline *
conn_req_timeline(const struct conn_req *r)
{
	return &r->tl;
}

void
conn_req_set_handler(struct conn_req *r, unsigned h)
{
	r->handler = h;
}

void
conn_req_set_observe(struct conn_req *r)
{
	r->observe = 1;
}

/* r is answered 503 by admission control for reason (enum shm_shed):
 * counted as shed, never observed. */
void
conn_req_set_shed(struct conn_req *r, unsigned reason)
{
	r->shed = (int)reason + 1;
	r->observe = 0;
}

/*
 * The server's wait for r so far, its transfer left out: from the
 * kernel's receive time of its first byte to its head read, and from its
 * body read whole (or its head, without a body) to now, minus the time
 * the server waited for the client.  Reading a large body is transfer,
 * not queueing.
 */
double
conn_req_waited(const struct conn_req *r)
{
	const struct timeline	*tl = &r->tl;
	struct timespec		 now = conn_now();
	double			 w;

	w = timeline_span(&tl->received, &tl->head) + timeline_span(
	    timeline_set(&tl->body) ? &tl->body : &tl->head, &now) -
	    tl->client_wait;
	return w > 0 ? w : 0;
}

void
conn_req_set_work(struct conn_req *r, size_t rows, double compute)
{
	r->rows = rows > UINT32_MAX ? UINT32_MAX : (uint32_t)rows;
	r->compute = compute;
}

void
conn_req_predict_start(struct conn_req *r)
{
	r->tl.predict_start = conn_now();
}

void
conn_req_predict_end(struct conn_req *r)
{
	r->tl.predict_end = conn_now();
}

/* The model predicted for r from start to end (CLOCK_MONOTONIC), on a
 * worker thread: the timeline's predict moments. */
void
conn_req_set_predict(struct conn_req *r, const struct timespec *start,
    const struct timespec *end)
{
	r->tl.predict_start = *start;
	r->tl.predict_end = *end;
}

/* Add a response header; see conn.h. */
int
conn_req_add_header(struct conn_req *r, const char *name, const char *value)
{
	const char	*p;

	for (p = name; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == ':')
			return -1;
	for (p = value; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return -1;
	if (p == value || strlen(name) + strlen(value) > CONN_HEADER_MAX)
		return -1;
	if (r->extra == NULL && (r->extra = evbuffer_new()) == NULL)
		return -1;
	if (evbuffer_add_printf(r->extra, "%s: %s\r\n", name, value) < 0)
		return -1;
	if (strcasecmp(name, "Content-Type") == 0)
		r->has_ctype = 1;
	return 0;
}

/* ---- the response ----------------------------------------------------- */

/* Write the two digits of n (0-99) at p. */
static void
conn_two_digits(char *p, int n)
{
	p[0] = (char)('0' + n / 10 % 10);
	p[1] = (char)('0' + n % 10);
}

/* t as an HTTP date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"). */
static void
conn_format_date(time_t t, char buf[CONN_DATE_LEN])
{
	static const char	 days[] = "SunMonTueWedThuFriSat";
	static const char	 months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm		 tm;

	gmtime_r(&t, &tm);
	memcpy(buf, "Sun, 00 Jan 0000 00:00:00 GMT", CONN_DATE_LEN);
	memcpy(buf, days + 3 * tm.tm_wday, 3);
	conn_two_digits(buf + 5, tm.tm_mday);
	memcpy(buf + 8, months + 3 * tm.tm_mon, 3);
	conn_two_digits(buf + 12, (tm.tm_year + 1900) / 100);
	conn_two_digits(buf + 14, (tm.tm_year + 1900) % 100);
	conn_two_digits(buf + 17, tm.tm_hour);
	conn_two_digits(buf + 20, tm.tm_min);
	conn_two_digits(buf + 23, tm.tm_sec);
}

/*
 * The Date header's value, formatted once a second: the loop's cached
 * time (no system call) is compared with the second of the cached text.
 */
static const char *
conn_date(struct conn_set *set)
{
	struct timeval	tv;

	if (event_base_gettimeofday_cached(set->base, &tv) == -1)
		tv.tv_sec = time(NULL);
	if (tv.tv_sec != set->date_sec || set->date[0] == '\0') {
		set->date_sec = tv.tv_sec;
		conn_format_date(tv.tv_sec, set->date);
	}
	return set->date;
}

/* Append the decimal digits of n at p; returns the end. */
static char *
conn_num(char *p, uint64_t n)
{
	char	tmp[24], *q = tmp + sizeof(tmp);

	do
		*--q = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	memcpy(p, q, (size_t)(tmp + sizeof(tmp) - q));
	return p + (tmp + sizeof(tmp) - q);
}

/* Append s at p; returns the end. */
static char *
conn_str(char *p, const char *s)
{
	size_t	n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/*
 * Queue r's response in c's output: the head (status, Content-Type unless
 * the route gave one, Content-Length, Date, the route's headers,
 * Connection), then body and text unless r is a HEAD.  0 or -1.
 */
static int
conn_queue(struct conn *c, struct conn_req *r, struct evbuffer *body,
    const char *text, size_t len)
{
	char		 head[256], *p = head;
	uint64_t	 blen = (body != NULL ? evbuffer_get_length(body) : 0) +
			    len;
	size_t		 before = evbuffer_get_length(c->out);
	int		 rc = 0;

	/* An HTTP/1.0 client gets an HTTP/1.0 status line, as it expects. */
	p = conn_str(p, r->h.method_s != NULL && r->h.minor == 0 ?
	    "HTTP/1.0 " : "HTTP/1.1 ");
	p = conn_num(p, (uint64_t)r->status);
	*p++ = ' ';
	p = conn_str(p, reply_reason(r->status));
	if (!r->has_ctype)
		p = conn_str(p, "\r\nContent-Type: application/json");
	p = conn_str(p, "\r\nContent-Length: ");
	p = conn_num(p, blen);
	p = conn_str(p, "\r\nDate: ");
	p = conn_str(p, conn_date(c->set));
	p = conn_str(p, "\r\n");
	rc |= evbuffer_add(c->out, head, (size_t)(p - head));
	if (r->extra != NULL)
		rc |= evbuffer_add_buffer(c->out, r->extra);
	if (r->close)
		rc |= evbuffer_add(c->out, "Connection: close\r\n\r\n", 21);
	else if (r->h.minor == 0)
		rc |= evbuffer_add(c->out, "Connection: keep-alive\r\n\r\n",
		    26);
	else
		rc |= evbuffer_add(c->out, "\r\n", 2);
	if (r->h.method != HTTP_M_HEAD) {
		if (body != NULL)
			rc |= evbuffer_add_buffer(c->out, body);
		if (text != NULL)
			rc |= evbuffer_add(c->out, text, len);
	}
	if (rc != 0) {
		/* Out of memory: take back what was queued. */
		c->dead = 1;
		return -1;
	}
	r->out_start = c->out_added;
	c->out_added += evbuffer_get_length(c->out) - before;
	r->out_end = c->out_added;
	return 0;
}

/* Requests whose last byte the kernel has are written: free them. */
static void
conn_written(struct conn *c)
{
	struct conn_req	*r;
	struct timespec	 now;

	while ((r = TAILQ_FIRST(&c->queue)) != NULL &&
	    r->out_end <= c->out_done) {
		now = conn_now();
		r->tl.written = now;
		TAILQ_REMOVE(&c->queue, r, qentry);
		c->nqueued--;
		r->conn = NULL;
		conn_req_finish(r);
	}
}

/*
 * Write what the kernel takes.  Returns the bytes written, or -1 when the
 * connection failed (it is then dead).  The requests written are freed by
 * conn_write_done.
 */
static ssize_t
conn_write_out(struct conn *c)
{
	ssize_t	n, total = 0;

	while (evbuffer_get_length(c->out) > 0) {
		n = evbuffer_write(c->out, c->fd);
		if (n > 0) {
			total += n;
			c->out_done += (uint64_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			break;
		c->dead = 1;
		return -1;
	}
	return total;
}

/*
 * Bytes handed to the kernel that the client has not acknowledged yet
 * (SIOCOUTQ); 0 when it cannot tell.
 */
static int
conn_unacked(const struct conn *c)
{
	int	n = 0;

	if (ioctl(c->fd, SIOCOUTQ, &n) == -1)
		return 0;
	return n;
}

/*
 * After a write: free what is written, run the write deadline.  The
 * deadline is armed when the output stalls (the kernel took less than we
 * had) and cleared only once the client has taken everything, not merely
 * when our buffer emptied into the kernel's: a client that reads a burst
 * now and then (while its pipelined requests keep the kernel's buffer
 * full) is still closed write_timeout after it first stalled.  SIOCOUTQ
 * is asked only while the deadline runs, never on the fast path.
 */
static void
conn_write_done(struct conn *c)
{
	conn_written(c);
	if (evbuffer_get_length(c->out) == 0) {
		if (c->wt_armed && conn_unacked(c) == 0) {
			evtimer_del(c->wtimer);
			c->wt_armed = 0;
		}
	} else if (!c->wt_armed) {
		/* A whole time from now: reading in bursts does not extend
		 * it. */
		conn_arm(c->wtimer, c->set->p.write_timeout);
		c->wt_armed = 1;
	}
}

/* Write what the kernel takes; see conn_write_out. */
static ssize_t
conn_write(struct conn *c)
{
	ssize_t	n = conn_write_out(c);

	conn_write_done(c);
	return n;
}

/*
 * Count r and write what c holds, in the same breath.  Counting right
 * before a write(2) that needs no further event narrows to a few
 * instructions the window in which a worker killed -9 would leave a
 * counted response unsent (or, counting after, a sent one uncounted).
 *
 * The status counted is what happened to the response: 499 when it cannot
 * be written because the client reset the connection.  A client that sent
 * FIN may still read (an HTTP/1.0 half-close) or may have closed for good:
 * only the write tells, so its response is written first and counted
 * after, 499 if the write failed or the client's kernel reset the
 * connection on receiving it (on loopback that happens within the write;
 * over a network it may come too late to be seen, and the status sent is
 * counted).
 */
static void
conn_flush(struct conn *c, struct conn_req *r)
{
	enum conn_peer	peer = conn_peer(c->fd);
	ssize_t		n;

	if (peer == CONN_PEER_RESET) {
		r->status = CONN_CLIENT_GONE;
		conn_record(r);
		c->dead = 1;
		return;
	}
	if (peer == CONN_PEER_OPEN)
		conn_record(r);
	n = conn_write_out(c);
	if (peer == CONN_PEER_FIN) {
		if (n <= 0 || conn_errored(c->fd))
			r->status = CONN_CLIENT_GONE;
		conn_record(r);
	}
	conn_write_done(c);
}

/* The connection is done once its output is out: linger or close. */
static void
conn_finish_close(struct conn *c)
{
	char	ch;
	ssize_t	n;

	if (c->dead || c->state == CS_LINGER ||
	    evbuffer_get_length(c->out) > 0 || c->state == CS_HANDLER)
		return;
	n = recv(c->fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
	if (c->eof || (!c->must_linger && evbuffer_get_length(c->in) == 0 &&
	    n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
		c->dead = 1;
		return;
	}
	/*
	 * The client may still be sending (an early 413 or 400, or requests
	 * behind a Connection: close): shut down our side and discard what
	 * comes for CONN_LINGER seconds, so that its kernel does not answer
	 * the unread bytes with a reset that destroys the answer (nginx's
	 * lingering close).
	 */
	c->state = CS_LINGER;
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
	shutdown(c->fd, SHUT_WR);
	conn_arm(c->rtimer, CONN_LINGER);
}

/*
 * Send r's answer with status: body (taken over, or NULL) and text (len
 * bytes, or NULL).  If the client is gone, r is counted as 499 and freed.
 */
static void
conn_send(struct conn_req *r, int status, struct evbuffer *body,
    const char *text, size_t len)
{
	struct conn	*c = r->conn;

	r->status = status;
	if (c == NULL || c->dead) {
		/* The client left: nobody gets this answer. */
		if (body != NULL)
			evbuffer_free(body);
		r->status = CONN_CLIENT_GONE;
		if (c != NULL && c->cur == r)
			c->cur = NULL;
		r->conn = NULL;
		conn_req_finish(r);
		return;
	}
	conn_req_begin(r);
	conn_req_identify(r);	/* X-Request-Id before the head is made */
	c->in_cb++;
	if (c->cur == r)
		c->cur = NULL;
	if (c->set->draining || c->closing || r->h.close)
		r->close = 1;
	if (conn_queue(c, r, body, text, len) == -1) {
		if (body != NULL)
			evbuffer_free(body);
		r->conn = NULL;
		conn_req_finish(r);
		c->in_cb--;
		conn_settle(c);
		return;
	}
	if (body != NULL)
		evbuffer_free(body);
	TAILQ_INSERT_TAIL(&c->queue, r, qentry);
	c->nqueued++;
	if (r->close) {
		c->closing = 1;
		c->state = CS_IDLE;
	} else if (c->state == CS_HANDLER) {
		c->state = CS_IDLE;
	}
	conn_flush(c, r);	/* r may be freed from here on */
	if (!c->dead && c->state == CS_IDLE && c->nqueued == 0 &&
	    !c->closing)
		conn_arm(c->rtimer, c->set->p.keepalive_timeout);
	if (!c->dead && !c->processing && !c->closing)
		conn_process(c);
	if (c->closing)
		conn_finish_close(c);
	c->in_cb--;
	conn_settle(c);
}

/* Send r's answer: status and the text of an error, Connection: close. */
static void
conn_fail(struct conn_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conn_fail(struct conn_req *r, int status, const char *fmt, ...)
{
	struct conn	*c = r->conn;
	va_list		 ap;

	r->close = 1;
	if (c != NULL) {
		c->must_linger = 1;
		c->closing = 1;
		evtimer_del(c->rtimer);
	}
	if (status == 503)
		conn_req_add_header(r, "Retry-After", "1");
	va_start(ap, fmt);
	conn_send(r, status, reply_error_id_newv(conn_req_id(r), fmt, ap),
	    NULL, 0);
	va_end(ap);
}

/* {"error": message, "request_id": r's ID}, in a new buffer. */
static struct evbuffer *
conn_error_body(struct conn_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static struct evbuffer *
conn_error_body(struct conn_req *r, const char *fmt, ...)
{
	struct evbuffer	*buf;
	va_list		 ap;

	va_start(ap, fmt);
	buf = reply_error_id_newv(conn_req_id(r), fmt, ap);
	va_end(ap);
	return buf;
}

/* Send a response; see conn.h. */
void
conn_respond(struct conn_req *r, int status, struct evbuffer *body)
{
	if (body == NULL) {
		status = 500;
		body = conn_error_body(r, "out of memory");
	}
	conn_send(r, status, body, NULL, 0);
}

/* Send a constant body; see conn.h. */
void
conn_respond_text(struct conn_req *r, int status, const char *text,
    size_t len)
{
	conn_send(r, status, NULL, text, len);
}

/* Respond with {"error": message}. */
void
conn_error(struct conn_req *r, int status, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	conn_respond(r, status, reply_error_id_newv(conn_req_id(r), fmt, ap));
	va_end(ap);
}

/* The delay timer fired: send the response kept for it. */
static void
conn_delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct conn_req	*r = arg;
	struct evbuffer	*body = r->delayed;

	(void)fd;
	(void)what;

	r->delayed = NULL;
	conn_respond(r, 200, body);
}

/* Answer 200 now, or after delay seconds. */
void
conn_respond_after(struct conn_req *r, double delay, struct evbuffer *body)
{
	if (body == NULL || delay <= 0) {
		conn_respond(r, 200, body);
		return;
	}
	if ((r->timer = evtimer_new(r->set->base, conn_delay_done, r)) ==
	    NULL) {
		evbuffer_free(body);
		conn_error(r, 500, "cannot create the delay timer");
		return;
	}
	r->delayed = body;
	/*
	 * libevent times the delay from its cached time, taken when this turn
	 * of the loop began, before the request's clock started: refresh it,
	 * or the answer may leave (and its latency be observed) a little
	 * before the delay.
	 */
	event_base_update_cache_time(r->set->base);
	conn_arm(r->timer, delay);
}

/* ---- reading ---------------------------------------------------------- */

/* A new request on c, its head in the first len bytes of c->in. */
static struct conn_req *
conn_req_new(struct conn *c, size_t len)
{
	struct conn_set	*set = c->set;
	struct conn_req	*r;
	size_t		 i, lines = 1;
	const char	*p;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->headbuf = malloc(len + 1)) == NULL) {
		free(r);
		return NULL;
	}
	evbuffer_remove(c->in, r->headbuf, len);
	r->headbuf[len] = '\0';
	for (p = r->headbuf, i = 0; i < len; i++)
		if (p[i] == '\n')
			lines++;
	if ((r->hdrs = calloc(lines, sizeof(*r->hdrs))) == NULL) {
		free(r->headbuf);
		free(r);
		return NULL;
	}
	r->set = set;
	r->conn = c;
	r->handler = set->other;
	r->bytes_in = len;
	memcpy(r->addr, c->addr, sizeof(r->addr));
	r->port = c->port;
	TAILQ_INSERT_TAIL(&set->requests, r, entry);
	return r;
}

/* Consume n bytes of c's input. */
static void
conn_drain(struct conn *c, size_t n)
{
	evbuffer_drain(c->in, n);
	c->rx_used += n;
}

/* Skip the empty lines a client may send before a request line. */
static void
conn_skip_blank(struct conn *c)
{
	unsigned char	*p;
	size_t		 n, i;

	while ((n = evbuffer_get_length(c->in)) > 0) {
		if (n > 64)
			n = 64;
		p = evbuffer_pullup(c->in, (ev_ssize_t)n);
		for (i = 0; i < n && (p[i] == '\r' || p[i] == '\n'); i++)
			;
		if (i == 0)
			return;
		conn_drain(c, i);
	}
}

/* Hand a complete request to the route. */
static void
conn_dispatch(struct conn *c, struct conn_req *r)
{
	c->state = CS_HANDLER;
	evtimer_del(c->rtimer);
	r->tl.handler = conn_now();
	conn_req_begin(r);
	conn_req_identify(r);
	c->set->route(r, c->set->arg);
}

/* Send 100 Continue if the client waits for it and has sent nothing. */
static void
conn_continue(struct conn *c, const struct conn_req *r)
{
	if (r->h.expect_continue && r->h.minor >= 1 &&
	    evbuffer_get_length(c->in) == 0) {
		evbuffer_add(c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		c->out_added += 25;
	}
}

/* Reserve n bytes of max_body_memory for r; 0 or -1. */
static int
conn_reserve(struct conn_req *r, uint64_t n)
{
	struct conn_set	*set = r->set;

	if (n > set->p.max_body_memory - set->body_bytes ||
	    set->body_bytes > set->p.max_body_memory)
		return -1;
	set->body_bytes += (size_t)n;
	r->reserved += (size_t)n;
	if (set->body_bytes >= CONN_TRIM_BODIES)
		set->trim_due = 1;
	return 0;
}

/*
 * Look for a complete head in c's input and start its request.  Returns 1
 * when the state moved on, 0 when more input is needed or the connection
 * is closing.
 */
static int
conn_head(struct conn *c)
{
	struct conn_params	*p = &c->set->p;
	size_t			 len = evbuffer_get_length(c->in), n, end;
	struct conn_req		*r;
	const char		*why = NULL;
	char			*buf;
	int			 rc;

	n = len < p->max_header_bytes + 3 ? len : p->max_header_bytes + 3;
	buf = (char *)evbuffer_pullup(c->in, (ev_ssize_t)n);
	end = http_head_end(buf, n, &c->scan);
	if (end == 0 && len <= p->max_header_bytes)
		return 0;
	if (end == 0 || end > p->max_header_bytes + 2) {
		/* Too large: answer with a request of no head. */
		end = 0;
		why = "request head larger than max_header_bytes";
	}
	if ((r = conn_req_new(c, end)) == NULL) {
		c->dead = 1;
		return 0;
	}
	c->rx_used += end;
	c->cur = r;
	c->scan = 0;
	r->tl.received = c->req_rx;
	r->tl.head = conn_now();
	r->tl.client_wait = c->cwait;
	c->cwait = 0;
	c->req_started = 0;
	if (why != NULL) {
		conn_fail(r, 400, "%s (%zu bytes)", why, p->max_header_bytes);
		return 0;
	}
	rc = http_parse_head(r->headbuf, end, &r->h, r->hdrs, end / 2 + 1,
	    &why);
	if (rc != 0) {
		conn_fail(r, rc, "%s", why);
		return 0;
	}
	switch (r->h.framing) {
	case HTTP_BODY_NONE:
		r->tl.body = r->tl.head;
		conn_dispatch(c, r);
		return 1;
	case HTTP_BODY_LENGTH:
		if (r->h.length > p->max_body_bytes) {
			conn_fail(r, 413, "request body of %llu bytes exceeds "
			    "max_body_bytes (%zu)",
			    (unsigned long long)r->h.length,
			    p->max_body_bytes);
			return 0;
		}
		if (conn_reserve(r, r->h.length) == -1) {
			conn_fail(r, 503, "the server holds max_body_memory "
			    "(%zu bytes) of request bodies; retry",
			    p->max_body_memory);
			return 0;
		}
		c->left = r->h.length;
		break;
	case HTTP_BODY_CHUNKED:
		c->chunk = CH_SIZE;
		c->trailer = 0;
		break;
	}
	if ((r->body = evbuffer_new()) == NULL) {
		conn_fail(r, 503, "out of memory");
		return 0;
	}
	c->state = CS_BODY;
	conn_arm(c->rtimer, p->body_timeout);
	conn_continue(c, r);
	return 1;
}

/* Move up to c->left bytes of input into r's body; whether all came. */
static int
conn_body_bytes(struct conn *c, struct conn_req *r)
{
	size_t	n = evbuffer_get_length(c->in);

	if (n > c->left)
		n = (size_t)c->left;
	if (n > 0) {
		evbuffer_remove_buffer(c->in, r->body, n);
		c->rx_used += n;
		r->bytes_in += n;
		c->left -= n;
	}
	return c->left == 0;
}

/*
 * Cut a CRLF-terminated line of at most max bytes from c's input into
 * line (NUL-terminated).  1 when cut, 0 when more is needed, -1 when the
 * line is too long or ends in a bare LF.
 */
static int
conn_line(struct conn *c, char *line, size_t max, size_t *len)
{
	struct evbuffer_ptr	pos;
	size_t			eol;

	pos = evbuffer_search_eol(c->in, NULL, &eol, EVBUFFER_EOL_LF);
	if (pos.pos == -1)
		return evbuffer_get_length(c->in) > max ? -1 : 0;
	if ((size_t)pos.pos > max || pos.pos == 0)
		return -1;
	evbuffer_remove(c->in, line, (size_t)pos.pos + 1);
	c->rx_used += (size_t)pos.pos + 1;
	if (line[pos.pos - 1] != '\r')
		return -1;
	line[pos.pos - 1] = '\0';
	*len = (size_t)pos.pos - 1;
	return 1;
}

/*
 * Read a chunked body (RFC 9112 7.1).  Returns 1 when it is complete, 0
 * when more is needed, -1 after answering an error.
 */
static int
conn_chunked(struct conn *c, struct conn_req *r)
{
	struct conn_params	*p = &c->set->p;
	char			 line[CONN_CHUNK_LINE + 2];
	const char		*why;
	uint64_t		 size;
	size_t			 len;
	int			 rc;

	for (;;) {
		switch (c->chunk) {
		case CH_SIZE:
			if ((rc = conn_line(c, line, CONN_CHUNK_LINE + 1,
			    &len)) == 0)
				return 0;
			if (rc == -1) {
				conn_fail(r, 400, "malformed chunk-size line");
				return -1;
			}
			r->bytes_in += len + 2;
			if (http_parse_chunk_size(line, len, &size, &why) ==
			    -1) {
				conn_fail(r, 400, "%s", why);
				return -1;
			}
			if (size == 0) {
				c->chunk = CH_TRAILER;
				break;
			}
			if (size > p->max_body_bytes ||
			    evbuffer_get_length(r->body) + size >
			    p->max_body_bytes) {
				conn_fail(r, 413, "request body exceeds "
				    "max_body_bytes (%zu)", p->max_body_bytes);
				return -1;
			}
			if (conn_reserve(r, size) == -1) {
				conn_fail(r, 503, "the server holds "
				    "max_body_memory (%zu bytes) of request "
				    "bodies; retry", p->max_body_memory);
				return -1;
			}
			c->left = size;
			c->chunk = CH_DATA;
			break;
		case CH_DATA:
			if (!conn_body_bytes(c, r))
				return 0;
			c->chunk = CH_CRLF;
			break;
		case CH_CRLF:
			if (evbuffer_get_length(c->in) < 2)
				return 0;
			evbuffer_remove(c->in, line, 2);
			c->rx_used += 2;
			r->bytes_in += 2;
			if (line[0] != '\r' || line[1] != '\n') {
				conn_fail(r, 400, "chunk data not followed by "
				    "CRLF");
				return -1;
			}
			c->chunk = CH_SIZE;
			break;
		case CH_TRAILER:
			if ((rc = conn_line(c, line, CONN_CHUNK_LINE + 1,
			    &len)) == 0)
				return 0;
			c->trailer += len + 2;
			r->bytes_in += len + 2;
			if (rc == -1 || c->trailer > p->max_header_bytes ||
			    (len > 0 && (line[0] == ' ' || line[0] == '\t'))) {
				conn_fail(r, 400, "malformed chunked trailer");
				return -1;
			}
			if (len == 0)
				return 1;
			break;
		}
	}
}

/*
 * Advance c's state machine as far as its input allows.  A route that
 * answers at once comes back here through conn_send (c->processing keeps
 * it from recursing).
 */
static enum conn_stop
conn_process(struct conn *c)
{
	struct conn_req	*r;
	int		 rc;

	c->processing = 1;
	for (;;) {
		if (c->dead || c->closing || c->state == CS_LINGER ||
		    c->state == CS_HANDLER)
			break;
		if (c->state == CS_IDLE || c->state == CS_HEAD) {
			if (c->nqueued >= c->set->p.pipeline_depth)
				break;
			conn_skip_blank(c);
			if (evbuffer_get_length(c->in) == 0) {
				c->processing = 0;
				return CP_INPUT;
			}
			if (c->state == CS_IDLE) {
				/* The first byte of the next request. */
				c->state = CS_HEAD;
				c->scan = 0;
				conn_arm(c->rtimer, c->set->p.header_timeout);
			}
			if (!c->req_started) {
				c->req_started = 1;
				c->req_rx = conn_rx_ts(c, c->rx_used);
			}
			if (conn_head(c) == 0) {
				c->processing = 0;
				return c->closing || c->dead ? CP_WAIT :
				    CP_INPUT;
			}
			continue;
		}
		/* CS_BODY */
		r = c->cur;
		if (r->h.framing == HTTP_BODY_CHUNKED)
			rc = conn_chunked(c, r);
		else
			rc = conn_body_bytes(c, r);
		if (rc == 0) {
			c->processing = 0;
			return CP_INPUT;
		}
		if (rc == -1)
			break;
		r->tl.body = conn_now();
		conn_dispatch(c, r);
	}
	c->processing = 0;
	return CP_WAIT;
}

/*
 * Read what the kernel holds, up to what c's state wants buffered.  Each
 * read's receive time (SO_TIMESTAMPNS) is kept; a read that finds the
 * socket empty while a request is incomplete starts the client's wait.
 */
static void
conn_read(struct conn *c)
{
	char			 cbuf[CMSG_SPACE(sizeof(struct timespec))];
	char			 junk[CONN_READ_CHUNK];
	struct evbuffer_iovec	 v[2];
	struct iovec		 iov[2];
	struct msghdr		 msg;
	struct cmsghdr		*cm;
	struct timespec		 kts, ts;
	size_t			 want, got = 0, left, asked;
	ssize_t			 n;
	int			 nv, i, have;

	want = c->state == CS_BODY ? CONN_BODY_WANT :
	    c->set->p.max_header_bytes + 3;
	while (got < CONN_READ_TURN) {
		if (c->state != CS_LINGER &&
		    evbuffer_get_length(c->in) >= want)
			return;
		memset(&msg, 0, sizeof(msg));
		if (c->state == CS_LINGER) {
			iov[0].iov_base = junk;
			iov[0].iov_len = sizeof(junk);
			nv = 1;
		} else {
			if ((nv = evbuffer_reserve_space(c->in,
			    c->state == CS_BODY ? CONN_READ_CHUNK :
			    CONN_READ_SMALL, v, 2)) <= 0) {
				c->dead = 1;
				return;
			}
			for (i = 0; i < nv; i++) {
				iov[i].iov_base = v[i].iov_base;
				iov[i].iov_len = v[i].iov_len;
			}
			msg.msg_control = cbuf;
			msg.msg_controllen = sizeof(cbuf);
		}
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)nv;
		n = recvmsg(c->fd, &msg, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Everything the kernel held is read: if the
			 * request is still incomplete once these bytes are
			 * parsed, the client's wait starts now
			 * (conn_advance). */
			c->drained = conn_now();
			return;
		}
		if (n <= 0) {
			if (n == 0)
				c->eof = 1;
			else
				c->dead = 1;	/* reset: nobody reads */
			if (c->state == CS_LINGER)
				c->dead = 1;
			return;
		}
		got += (size_t)n;
		if (c->state == CS_LINGER)
			continue;
		for (asked = 0, i = 0; i < nv; i++)
			asked += iov[i].iov_len;
		for (left = (size_t)n, i = 0; i < nv; i++) {
			if (v[i].iov_len > left)
				v[i].iov_len = left;
			left -= v[i].iov_len;
		}
		evbuffer_commit_space(c->in, v, nv);
		have = 0;
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_TIMESTAMPNS &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(kts))) {
				memcpy(&kts, CMSG_DATA(cm), sizeof(kts));
				have = 1;
			}
		ts = have ? conn_rx_mono(&kts) : conn_now();
		c->rx_total += (uint64_t)n;
		c->rx[c->rx_n % CONN_RX_RING] = (struct conn_rx){
		    .end = c->rx_total, .ts = ts };
		c->rx_n++;
		if (timeline_set(&c->dry)) {
			/* The client's wait ended when these bytes came. */
			double	w = conn_diff(&c->dry, &ts);

			if (w > 0) {
				if (c->state == CS_BODY && c->cur != NULL)
					c->cur->tl.client_wait += w;
				else
					c->cwait += w;
			}
			c->dry = (struct timespec){ 0, 0 };
		}
		if ((size_t)n < asked) {
			/* A short read: the kernel held no more.  No need
			 * for the recvmsg that would say EAGAIN. */
			c->drained = conn_now();
			return;
		}
	}
}

/* ---- events ----------------------------------------------------------- */

/* Free a connection: its socket, its events, its answered requests. */
static void
conn_free(struct conn *c)
{
	struct conn_set	*set = c->set;
	struct conn_req	*r;

	LIST_REMOVE(c, entry);
	while ((r = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, r, qentry);
		r->conn = NULL;
		conn_req_finish(r);
	}
	if ((r = c->cur) != NULL) {
		r->conn = NULL;
		if (!r->started)
			conn_req_finish(r);	/* never complete: uncounted */
		/* else the route answers it later: 499 */
	}
	event_free(c->rev);
	event_free(c->wev);
	event_free(c->rtimer);
	event_free(c->wtimer);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	close(c->fd);
	free(c);
	guard_release(set->guard);
	set->nconns--;
	if (set->trim_due && set->ev_trim != NULL &&
	    !evtimer_pending(set->ev_trim, NULL))
		conn_arm(set->ev_trim, CONN_TRIM_DELAY);
}

/*
 * A second after connections closed: give the memory they held back to
 * the system.  glibc keeps freed chunks below the top of its heaps (a
 * flood's buffers, 300 bodies held open) resident until malloc_trim.
 * Only after much was held (CONN_TRIM_BODIES of bodies, CONN_TRIM_CONNS
 * connections), at most once a second: a trim walks every arena.
 */
static void
conn_trim(evutil_socket_t fd, short what, void *arg)
{
	struct conn_set	*set = arg;

	(void)fd;
	(void)what;

	set->trim_due = 0;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/*
 * The end of every callback: free c if it died, else enable exactly the
 * I/O its state wants.
 */
static void
conn_settle(struct conn *c)
{
	size_t	want;
	int	rd, wr;

	if (c->in_cb > 0)
		return;
	if (c->dead) {
		conn_free(c);
		return;
	}
	want = c->state == CS_BODY ? CONN_BODY_WANT :
	    c->set->p.max_header_bytes + 3;
	rd = !c->eof && (c->state == CS_LINGER ||
	    evbuffer_get_length(c->in) < want);
	wr = evbuffer_get_length(c->out) > 0;
	if (rd != c->rd_on) {
		if (rd)
			event_add(c->rev, NULL);
		else
			event_del(c->rev);
		c->rd_on = rd;
	}
	if (wr != c->wr_on) {
		if (wr)
			event_add(c->wev, NULL);
		else
			event_del(c->wev);
		c->wr_on = wr;
	}
}

/*
 * After reading or writing: advance; start the client's wait if the last
 * read found the socket empty and a request is still incomplete; see
 * whether the client is gone.
 */
static void
conn_advance(struct conn *c)
{
	enum conn_stop	stop = c->dead ? CP_WAIT : conn_process(c);

	if (timeline_set(&c->drained) && !c->dead &&
	    (c->state == CS_BODY || (c->state == CS_HEAD &&
	    c->req_started)))
		c->dry = c->drained;
	c->drained = (struct timespec){ 0, 0 };
	if (stop == CP_INPUT && c->eof)
		c->closing = 1;		/* nothing more can come */
	if (c->closing)
		conn_finish_close(c);
}

/* c's socket is readable. */
static void
conn_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;

	c->in_cb++;
	conn_read(c);
	conn_advance(c);
	c->in_cb--;
	conn_settle(c);
}

/* c's socket is writable. */
static void
conn_writable(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;

	c->in_cb++;
	conn_write(c);
	if (!c->dead && c->state == CS_IDLE && c->nqueued == 0 &&
	    !c->closing && evbuffer_get_length(c->in) == 0)
		conn_arm(c->rtimer, c->set->p.keepalive_timeout);
	conn_advance(c);
	c->in_cb--;
	conn_settle(c);
}

/* A read deadline passed: close without an answer, as nginx does. */
static void
conn_read_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn		*c = arg;
	static const char	*what_s[] = { [CS_HEAD] = "head",
				    [CS_BODY] = "body",
				    [CS_IDLE] = "keep-alive",
				    [CS_HANDLER] = "", [CS_LINGER] = "linger" };

	(void)fd;
	(void)what;

	if (c->state == CS_HANDLER)
		return;
	if (c->state != CS_LINGER)
		log_debug("%s: closing a connection past its %s deadline",
		    c->set->name, what_s[c->state]);
	c->dead = 1;
	conn_settle(c);
}

/* The output stalled for write_timeout: the client does not read. */
static void
conn_write_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;

	if (evbuffer_get_length(c->out) == 0 && conn_unacked(c) == 0) {
		c->wt_armed = 0;	/* it took everything meanwhile */
		return;
	}
	log_debug("%s: closing a connection whose client does not read its "
	    "answer", c->set->name);
	c->dead = 1;
	conn_settle(c);
}

/* The guard accepted a connection. */
static void
conn_accept(int fd, const struct sockaddr *sa, socklen_t salen, void *arg)
{
	struct conn_set	*set = arg;
	struct conn	*c;

	(void)salen;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		guard_release(set->guard);
		return;
	}
	c->set = set;
	c->fd = fd;
	c->state = CS_HEAD;
	TAILQ_INIT(&c->queue);
	c->rev = event_new(set->base, fd, EV_READ | EV_PERSIST,
	    conn_readable, c);
	c->wev = event_new(set->base, fd, EV_WRITE | EV_PERSIST,
	    conn_writable, c);
	c->rtimer = evtimer_new(set->base, conn_read_deadline, c);
	c->wtimer = evtimer_new(set->base, conn_write_deadline, c);
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	if (c->rev == NULL || c->wev == NULL || c->rtimer == NULL ||
	    c->wtimer == NULL || c->in == NULL || c->out == NULL) {
		if (c->rev != NULL)
			event_free(c->rev);
		if (c->wev != NULL)
			event_free(c->wev);
		if (c->rtimer != NULL)
			event_free(c->rtimer);
		if (c->wtimer != NULL)
			event_free(c->wtimer);
		if (c->in != NULL)
			evbuffer_free(c->in);
		if (c->out != NULL)
			evbuffer_free(c->out);
		free(c);
		close(fd);
		guard_release(set->guard);
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, c->addr, sizeof(c->addr));
		c->port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, c->addr,
		    sizeof(c->addr));
		c->port = ntohs(in6->sin6_port);
	}
	LIST_INSERT_HEAD(&set->conns, c, entry);
	if (++set->nconns >= CONN_TRIM_CONNS)
		set->trim_due = 1;
	conn_arm(c->rtimer, set->p.header_timeout);
	conn_settle(c);
}

/* A server; see conn.h. */
struct conn_set *
conn_set_new(struct event_base *base, int fd, const struct conn_params *p,
    const struct shm_segment *seg, struct shm_slot *slot, unsigned other,
    conn_route_cb route, conn_done_cb done, void *arg)
{
	struct conn_set		*set;
	struct guard_params	 gp;

	if ((set = calloc(1, sizeof(*set))) == NULL) {
		log_warn("%s: calloc", p->name);
		close(fd);
		return NULL;
	}
	*set = (struct conn_set){ .base = base, .p = *p, .seg = seg,
	    .slot = slot, .other = other, .route = route, .done = done,
	    .arg = arg };
	snprintf(set->name, sizeof(set->name), "%s", p->name);
	set->p.name = set->name;
	set->trace.reqid_max = TRACE_REQID_MAX;
	trace_gen_init(&set->gen, 0);
	if (set->p.pipeline_depth == 0)
		set->p.pipeline_depth = 1;
	TAILQ_INIT(&set->requests);
	LIST_INIT(&set->conns);
	set->ev_trim = evtimer_new(base, conn_trim, set);
	gp = conn_guard_params(set);
	if ((set->guard = guard_new(base, fd, &gp, conn_accept, set)) ==
	    NULL) {
		if (set->ev_trim != NULL)
			event_free(set->ev_trim);
		free(set);
		return NULL;
	}
	return set;
}

/* Free the set and what is left in it. */
void
conn_set_free(struct conn_set *set)
{
	struct conn_req	*r;
	struct conn	*c;

	if (set == NULL)
		return;
	guard_stop(set->guard);
	set->done = NULL;
	while ((c = LIST_FIRST(&set->conns)) != NULL)
		conn_free(c);
	while ((r = TAILQ_FIRST(&set->requests)) != NULL) {
		TAILQ_REMOVE(&set->requests, r, entry);
		conn_req_free(r);
	}
	guard_free(set->guard);
	if (set->ev_trim != NULL)
		event_free(set->ev_trim);
	free(set);
}
