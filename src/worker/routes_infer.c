/*
 * routes_infer: the inference routes' common part: the body read, the
 * work of a request (parse, bound, predict, format) as a job run on the
 * loop or on the worker's pool, admission control that sheds what would
 * wait too long, and the answer.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "inferd/clock.h"
#include "inferd/config.h"
#include "inferd/conn.h"
#include "inferd/infer.h"
#include "inferd/log.h"
#include "inferd/model.h"
#include "inferd/shm.h"
#include "inferd/workpool.h"

#include "worker/routes_impl.h"

#define ROUTES_RETRY_AFTER	"1"	/* seconds, a shed request's */

/*
 * A copy of the request body, NUL-terminated, for a job to own (malloc'd;
 * the request's buffer, which the connection accounts for in
 * max_body_memory, is given back at once), or NULL after answering 413,
 * or 500 when out of memory.  One copy, out of the buffer's chain: no
 * contiguous pull-up of it first.
 */
static char *
routes_body_copy(struct routes *rt, struct conn_req *r, size_t *len)
{
	struct evbuffer	*in = conn_req_body(r);
	size_t		 max = rt->cfg->max_body_bytes;
	char		*body;

	if (in == NULL) {
		conn_error(r, 500, "out of memory");
		return NULL;
	}
	*len = evbuffer_get_length(in);
	if (*len > max) {
		conn_error(r, 413, "request body of %zu bytes exceeds "
		    "max_body_bytes (%zu)", *len, max);
		return NULL;
	}
	if ((body = malloc(*len + 1)) == NULL ||
	    evbuffer_copyout(in, body, *len) != (ev_ssize_t)*len) {
		free(body);
		conn_error(r, 500, "out of memory");
		return NULL;
	}
	body[*len] = '\0';
	evbuffer_drain(in, *len);
	return body;
}

/*
 * ?output= in a raw query: *raw 1 for "raw" (the sum of the trees, as
 * LightGBM's predict(raw_score=True)), 0 for "predict" or when absent.
 * -1 with why for any other value, or raw asked of a model that has no
 * raw score apart from its prediction.
 */
static int
routes_parse_output(const struct model *m, const char *query, int *raw,
    char *why, size_t len)
{
	const char	*p, *amp, *v;
	size_t		 vlen;

	*raw = 0;
	for (p = query; p != NULL && *p != '\0'; p = amp ? amp + 1 : NULL) {
		amp = strchr(p, '&');
		if (strncmp(p, "output=", 7) != 0)
			continue;
		v = p + 7;
		vlen = amp != NULL ? (size_t)(amp - v) : strlen(v);
		if (vlen == 3 && strncmp(v, "raw", 3) == 0)
			*raw = 1;
		else if (vlen == 7 && strncmp(v, "predict", 7) == 0)
			*raw = 0;
		else {
			snprintf(why, len, "output=%.*s: expected output=raw "
			    "or output=predict", (int)(vlen > 32 ? 32 : vlen),
			    v);
			return -1;
		}
	}
	if (*raw && !model_has_raw(m)) {
		snprintf(why, len, "output=raw: raw scores are served for "
		    "LightGBM models; this model (%s) answers its predictions "
		    "only", model_objective(m));
		return -1;
	}
	return 0;
}

/*
 * One inference request's work: parse (when body is set), bound, predict,
 * format.  It runs on the loop or on a pool thread (see workpool.h): the
 * work touches only this struct and the model, never the request.
 */
struct routes_job {
	struct workpool_job	 job;		/* first: the pool's handle */
	struct routes		*rt;
	struct conn_req		*r;
	enum infer_proto	 proto;
	double			 delay;		/* ?delay= of POST /predict */
	int			 raw;		/* ?output=raw: raw scores */
	char			*body;		/* to parse, or NULL: parsed */
	size_t			 len;
	struct infer_batch	 b;
	struct infer_error	 err;		/* status 0: no error */
	struct evbuffer		*out;
	double			 compute;	/* seconds in the model */
	struct timespec		 predict_start;	/* CLOCK_MONOTONIC, as the */
	struct timespec		 predict_end;	/* request's timeline */
};

/* Fill err with status and a formatted message. */
static void	routes_fail(struct infer_error *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
routes_fail(struct infer_error *err, int status, const char *fmt, ...)
{
	va_list	 ap;

	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* Free a job and what it holds. */
static void
routes_job_free(struct routes_job *j)
{
	if (j->out != NULL)
		evbuffer_free(j->out);
	free(j->body);
	free(j->b.x);
	free(j->b.xd);
	free(j);
}

/*
 * The work of j: parse its body if it has one, refuse more predictions
 * than max_predictions, predict and format.  Errors go into j->err.
 */
static void
routes_work(struct routes_job *j)
{
	const struct model	*m = j->rt->model;
	const struct config	*cfg = j->rt->cfg;
	struct timespec		 t0;
	double			*y;
	int			 rc;

	if (j->body != NULL) {
		rc = infer_parse(j->proto, j->body, j->len, m,
		    cfg->max_batch_rows, &j->b, &j->err);
		free(j->body);
		j->body = NULL;
		if (rc == -1)
			return;
	}
	/* Bound the output before any work: rows x outputs predictions. */
	if (j->b.rows > cfg->max_predictions / model_noutputs(m)) {
		routes_fail(&j->err, 413, "%zu rows x %zu outputs exceed "
		    "max_predictions (%zu); send fewer rows", j->b.rows,
		    model_noutputs(m), cfg->max_predictions);
		return;
	}
	if ((y = calloc(j->b.rows * model_noutputs(m), sizeof(*y))) ==
	    NULL) {
		routes_fail(&j->err, 500, "out of memory");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &j->predict_start);
	/* b.xd: a LightGBM model (raw scores: from /predict or KServe v1
	 * only, the OIP route passes no query) */
	if (j->b.xd != NULL)
		model_predict_double(m, j->b.xd, j->b.rows, y, j->raw);
	else
		model_predict(m, j->b.x, j->b.rows, y);
	clock_gettime(CLOCK_MONOTONIC, &j->predict_end);
	t0 = j->predict_start;
	j->compute = clock_since(&t0);
	if ((j->out = evbuffer_new()) == NULL ||
	    infer_format(j->out, j->proto, m, &j->b, y) == -1 ||
	    evbuffer_add(j->out, "\n", 1) == -1)
		routes_fail(&j->err, 500, "out of memory");
	free(y);
}

/* The pool's side of routes_work. */
static void
routes_job_run(struct workpool_job *wj)
{
	routes_work((struct routes_job *)wj);
}

/* Answer j's request from its work, on the loop; free j. */
static void
routes_job_answer(struct routes_job *j)
{
	struct evbuffer	*out;

	if (j->err.status != 0)
		conn_error(j->r, j->err.status, "%s", j->err.msg);
	else {
		conn_req_set_work(j->r, j->b.rows, j->compute);
		conn_req_set_predict(j->r, &j->predict_start, &j->predict_end);
		out = j->out;
		j->out = NULL;
		conn_respond_after(j->r, j->delay, out);
	}
	routes_job_free(j);
}

/* Back on the loop from the pool.  A job the stopping pool cancelled
 * belongs to a worker going away: its request is dropped with the rest
 * (see worker_free). */
static void
routes_job_done(struct workpool_job *wj)
{
	struct routes_job	*j = (struct routes_job *)wj;

	if (wj->cancelled) {
		routes_job_free(j);
		return;
	}
	log_debug("job: waited %.1f ms, ran %.1f ms, back after %.1f ms",
	    (double)(wj->started_ns - wj->queued_ns) / 1e6,
	    (double)(wj->ended_ns - wj->started_ns) / 1e6,
	    (double)(workpool_now_ns() - wj->ended_ns) / 1e6);
	routes_job_answer(j);
}

/*
 * Shed r: 503 with Retry-After and a JSON body, counted by reason and
 * kept out of the latency histogram (it did no inference).
 */
static void
routes_shed(struct routes *rt, struct conn_req *r, enum shm_shed reason,
    double waited)
{
	conn_req_set_shed(r, reason);
	conn_req_add_header(r, "Retry-After", ROUTES_RETRY_AFTER);
	conn_error(r, 503, "overloaded: %s %.3f s in this worker, more than "
	    "admission_target (%g s); retry after %s s",
	    reason == SHM_SHED_QUEUE ? "this request would wait" :
	    "this request waited", waited, rt->cfg->admission_target,
	    ROUTES_RETRY_AFTER);
}

/*
 * Hand j to the pool, unless admission control sheds it because it would
 * wait there longer than admission_target: the pool's oldest queued job
 * has already waited longer (a new job, queued behind it, waits longer
 * still), or the jobs ahead of it would take longer at the pool's
 * average run time (with jobs much longer than the target, the first
 * sign comes too late: a queue fills before its head has aged).  0 when
 * j is taken care of (queued, or shed and freed); -1 when the pool
 * refused it (it is stopping): the caller works on the loop.
 */
static int
routes_offload(struct routes_job *j)
{
	struct routes	*rt = j->rt;
	double		 age;

	if (rt->cfg->admission &&
	    ((age = workpool_queue_age(rt->pool)) > rt->cfg->admission_target ||
	    (age = workpool_expected_wait(rt->pool)) >
	    rt->cfg->admission_target)) {
		routes_shed(rt, j->r, SHM_SHED_QUEUE, age);
		routes_job_free(j);
		return 0;
	}
	j->job.run = routes_job_run;
	j->job.done = routes_job_done;
	return workpool_submit(rt->pool, &j->job);
}

/*
 * Parse the body, predict its rows and format them, in protocol proto, and
 * answer (after delay seconds).  Heavy requests go to the worker's pool:
 * a body of offload_min_body bytes or more is parsed there too; a smaller
 * one is parsed here and sent there if its rows x trees reach
 * offload_min_work.  Admission control first sheds a request that has
 * itself waited longer than admission_target while the pool is busy.
 */
void
routes_infer(struct routes *rt, struct conn_req *r, enum infer_proto proto,
    double delay, const char *query)
{
	const struct config	*cfg = rt->cfg;
	struct routes_job	*j;
	double			 waited;
	char			*body, why[256];
	size_t			 len;
	int			 raw;

	if (routes_parse_output(rt->model, query, &raw, why,
	    sizeof(why)) == -1) {
		conn_error(r, 400, "%s", why);
		return;
	}
	/*
	 * The request's own wait sheds it only while the pool is busy: a wait
	 * with idle threads came from elsewhere (a host short of CPU, a
	 * stopped process), and shedding would relieve no queue of ours.
	 */
	if (cfg->admission && rt->pool != NULL && workpool_busy(rt->pool) &&
	    (waited = conn_req_waited(r)) > cfg->admission_target) {
		routes_shed(rt, r, SHM_SHED_WAIT, waited);
		return;
	}
	if ((body = routes_body_copy(rt, r, &len)) == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		free(body);
		conn_error(r, 500, "out of memory");
		return;
	}
	j->body = body;
	j->rt = rt;
	j->r = r;
	j->proto = proto;
	j->delay = delay;
	j->raw = raw;
	j->len = len;
	if (rt->pool != NULL && len >= cfg->offload_min_body &&
	    routes_offload(j) == 0)
		return;
	if (j->body != NULL) {
		if (infer_parse(proto, body, len, rt->model, cfg->max_batch_rows,
		    &j->b, &j->err) == -1) {
			routes_job_answer(j);
			return;
		}
		free(j->body);
		j->body = NULL;
	}
	if (rt->pool != NULL && j->b.rows * rt->ntrees >=
	    cfg->offload_min_work && routes_offload(j) == 0)
		return;
	routes_work(j);
	routes_job_answer(j);
}
