/*
 * conn_req: a request of inferd's HTTP server (conn.c): made when its head
 * is read, named (request ID, trace ID), counted once in the slot, written
 * to the access log, freed, and what the routes read and set on it.  See
 * include/inferd/conn.h for the counting contract and
 * include/inferd/timeline.h for the timeline.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/time.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "inferd/accesslog.h"
#include "inferd/conn.h"
#include "inferd/log.h"
#include "inferd/shm.h"
#include "inferd/trace.h"

#include "http/conn_impl.h"

/* ---- requests --------------------------------------------------------- */

/* Free a request's own resources and its body reservation. */
void
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
void
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
void
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
void
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
void
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
 * counted as shed, never observed (shm_record sees to both). */
void
conn_req_set_shed(struct conn_req *r, unsigned reason)
{
	r->shed = (int)reason + 1;
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

/* A new request on c, its head in the first len bytes of c->in. */
struct conn_req *
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

/* Reserve n bytes of max_body_memory for r; 0 or -1. */
int
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
