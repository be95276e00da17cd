/* Unit tests of expo: golden outputs of both formats, escaping, Accept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "inferd/expo.h"
#include "inferd/routes.h"
#include "inferd/shm.h"

/* The buffer's text, NUL-terminated; freed by the caller. */
static char *
drain(struct evbuffer *b)
{
	size_t	 len = evbuffer_get_length(b);
	char	*s = malloc(len + 1);

	assert_non_null(s);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	return s;
}

static char *
render(enum expo_format fmt, const struct expo_metrics *m)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s;

	assert_int_equal(expo_write(b, fmt, m), 0);
	s = drain(b);
	evbuffer_free(b);
	return s;
}

static struct shm_snapshot	snap;
static struct expo_metrics	metrics;

static int
setup(void **state)
{
	int	i;

	memset(&snap, 0, sizeof(snap));
	snap.nbuckets = 3;
	snap.bounds[0] = 0.5;
	snap.bounds[1] = 1.0;
	snap.bounds[2] = 10.0;
	snap.cumulative[0] = 5;
	snap.cumulative[1] = 7;
	snap.cumulative[2] = 8;
	snap.cumulative[3] = 9;
	snap.count = 9;
	snap.sum = 14.25;
	snap.requests[ROUTES_H_PREDICT][SHM_C_200] = 8;
	snap.requests[ROUTES_H_PREDICT][SHM_C_400] = 1;
	snap.requests[ROUTES_H_OTHER][SHM_C_404] = 2;
	snap.in_flight = 3;
	snap.compute_cumulative[3] = 1;
	for (i = 4; i <= SHM_COMPUTE_NB; i++)
		snap.compute_cumulative[i] = 2;
	snap.compute_seconds = 0.0003;
	for (i = 2; i <= SHM_ROWS_NB; i++)
		snap.rows_cumulative[i] = 2;
	snap.rows_sum = 7;
	snap.slow_requests = 4;
	snap.access_log_errors = 1;
	/* Exemplars: a trace ID on le=1.0, a request ID (to be escaped)
	 * on +Inf; none elsewhere. */
	snap.exemplars[1] = (struct shm_exemplar_copy){ .kind =
	    SHM_EXEMPLAR_TRACE, .value = 0.75, .time_ms = 1700000000123,
	    .id = "4bf92f3577b34da6a3ce929d0e0e4736" };
	snap.exemplars[3] = (struct shm_exemplar_copy){ .kind =
	    SHM_EXEMPLAR_REQUEST, .value = 12.5, .time_ms = 1700000001005,
	    .id = "a\"b\\c" };
	metrics = (struct expo_metrics){
		.handler_names = routes_handler_names,
		.handler_main = ROUTES_H_PREDICT,
		.snap = &snap,
		.workers = 2,
		.workers_alive = 2,
		.worker_restarts = 1,
		.worker_stalls = 4,
		.reload_failures_config = 2,
		.reload_failures_model = 0,
		.start_time = 1700000000.5,
		.version = "1.2.3",
		.model_name = "bc",
		.model_sha256 = "abc123",
		.model_objective = "binary:logistic",
		.proc = { .cpu_seconds = 1.5, .resident_bytes = 1048576,
		    .virtual_bytes = 4194304, .open_fds = 12, .max_fds = 3072 },
	};
	return 0;
}

static const char golden_text[] =
"# HELP prediction_latency_seconds Time from the kernel's receipt of the first byte of a valid inference request (/predict, /v1/models/{name}:predict, /v2/models/{name}[/versions/{version}]/infer) to the write of its response, less the time spent waiting for the client's bytes; requested delay included. Observed for responses 2xx and 5xx and for 499 (the client left first); never for client errors 4xx, which inferd_http_requests_total counts.\n"
"# TYPE prediction_latency_seconds histogram\n"
"prediction_latency_seconds_bucket{le=\"0.5\"} 5\n"
"prediction_latency_seconds_bucket{le=\"1.0\"} 7\n"
"prediction_latency_seconds_bucket{le=\"10.0\"} 8\n"
"prediction_latency_seconds_bucket{le=\"+Inf\"} 9\n"
"prediction_latency_seconds_count 9\n"
"prediction_latency_seconds_sum 14.25\n"
"# HELP inferd_model_compute_seconds Time the model took to predict the rows of one prediction request (POST /predict, /v2/models/{name}/infer): the evaluation alone, without parsing, formatting, delay or I/O.\n"
"# TYPE inferd_model_compute_seconds histogram\n"
"inferd_model_compute_seconds_bucket{le=\"1e-05\"} 0\n"
"inferd_model_compute_seconds_bucket{le=\"2.5e-05\"} 0\n"
"inferd_model_compute_seconds_bucket{le=\"5e-05\"} 0\n"
"inferd_model_compute_seconds_bucket{le=\"0.0001\"} 1\n"
"inferd_model_compute_seconds_bucket{le=\"0.00025\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.0005\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.001\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.0025\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.005\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.01\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.025\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.05\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.1\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.25\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"1.0\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"2.5\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"+Inf\"} 2\n"
"inferd_model_compute_seconds_count 2\n"
"inferd_model_compute_seconds_sum 0.0003\n"
"# HELP inferd_request_rows Rows the model predicted for one prediction request (POST /predict, /v2/models/{name}/infer).\n"
"# TYPE inferd_request_rows histogram\n"
"inferd_request_rows_bucket{le=\"1.0\"} 0\n"
"inferd_request_rows_bucket{le=\"2.0\"} 0\n"
"inferd_request_rows_bucket{le=\"5.0\"} 2\n"
"inferd_request_rows_bucket{le=\"10.0\"} 2\n"
"inferd_request_rows_bucket{le=\"20.0\"} 2\n"
"inferd_request_rows_bucket{le=\"50.0\"} 2\n"
"inferd_request_rows_bucket{le=\"100.0\"} 2\n"
"inferd_request_rows_bucket{le=\"200.0\"} 2\n"
"inferd_request_rows_bucket{le=\"500.0\"} 2\n"
"inferd_request_rows_bucket{le=\"1000.0\"} 2\n"
"inferd_request_rows_bucket{le=\"2000.0\"} 2\n"
"inferd_request_rows_bucket{le=\"5000.0\"} 2\n"
"inferd_request_rows_bucket{le=\"10000.0\"} 2\n"
"inferd_request_rows_bucket{le=\"+Inf\"} 2\n"
"inferd_request_rows_count 2\n"
"inferd_request_rows_sum 7.0\n"
"# HELP inferd_http_requests_total HTTP requests answered by the workers, by handler and status code.\n"
"# TYPE inferd_http_requests_total counter\n"
"inferd_http_requests_total{handler=\"/predict\",code=\"200\"} 8\n"
"inferd_http_requests_total{handler=\"/predict\",code=\"400\"} 1\n"
"inferd_http_requests_total{handler=\"other\",code=\"404\"} 2\n"
"# HELP inferd_slow_requests_total Requests slower than slow_request_threshold (each is logged at warning, rate-limited by slow_request_log_rate).\n"
"# TYPE inferd_slow_requests_total counter\n"
"inferd_slow_requests_total 4\n"
"# HELP inferd_access_log_write_errors_total Writes of the access log that failed or came short; their lines are lost.\n"
"# TYPE inferd_access_log_write_errors_total counter\n"
"inferd_access_log_write_errors_total 1\n"
"# HELP inferd_requests_shed_total Inference requests admission control answered 503 before any work, by reason: queue (the worker's heavy-work queue had held a request longer than admission_target) or wait (the request had waited that long itself). Not observed in prediction_latency_seconds; they count against the availability SLO.\n"
"# TYPE inferd_requests_shed_total counter\n"
"inferd_requests_shed_total{reason=\"queue\"} 0\n"
"inferd_requests_shed_total{reason=\"wait\"} 0\n"
"# HELP inferd_http_requests_in_flight Requests the workers are answering now.\n"
"# TYPE inferd_http_requests_in_flight gauge\n"
"inferd_http_requests_in_flight 3\n"
"# HELP inferd_workers Worker processes configured.\n"
"# TYPE inferd_workers gauge\n"
"inferd_workers 2\n"
"# HELP inferd_workers_alive Worker processes running now.\n"
"# TYPE inferd_workers_alive gauge\n"
"inferd_workers_alive 2\n"
"# HELP inferd_workers_stalled Workers whose event loop has not turned for worker_stall_interval: not ready; replaced once their heartbeat is worker_stall_timeout old.\n"
"# TYPE inferd_workers_stalled gauge\n"
"inferd_workers_stalled 0\n"
"# HELP inferd_worker_restarts_total Workers the master replaced after they died.\n"
"# TYPE inferd_worker_restarts_total counter\n"
"inferd_worker_restarts_total 1\n"
"# HELP inferd_worker_stalls_total Workers the master killed because their heartbeat stopped for worker_stall_timeout.\n"
"# TYPE inferd_worker_stalls_total counter\n"
"inferd_worker_stalls_total 4\n"
"# HELP inferd_worker_start_failures_total Workers that died (or could not be forked) before they were ready; each is restarted after a backoff.\n"
"# TYPE inferd_worker_start_failures_total counter\n"
"inferd_worker_start_failures_total 0\n"
"# HELP inferd_model_info The model being served.\n"
"# TYPE inferd_model_info gauge\n"
"inferd_model_info{name=\"bc\",sha256=\"abc123\",objective=\"binary:logistic\"} 1\n"
"# HELP inferd_reload_failures_total Reloads refused (the running configuration and model kept), by what was at fault: config or model.\n"
"# TYPE inferd_reload_failures_total counter\n"
"inferd_reload_failures_total{what=\"config\"} 2\n"
"inferd_reload_failures_total{what=\"model\"} 0\n"
"# HELP inferd_build_info inferd's version.\n"
"# TYPE inferd_build_info gauge\n"
"inferd_build_info{version=\"1.2.3\"} 1\n"
"# HELP process_cpu_seconds_total User and system CPU time of the master and its workers, those that exited included, in seconds.\n"
"# TYPE process_cpu_seconds_total counter\n"
"process_cpu_seconds_total 1.5\n"
"# HELP process_resident_memory_bytes Resident memory of the master and its workers, summed (a page they share counts once per process).\n"
"# TYPE process_resident_memory_bytes gauge\n"
"process_resident_memory_bytes 1048576\n"
"# HELP process_virtual_memory_bytes Virtual memory of the master and its workers, summed.\n"
"# TYPE process_virtual_memory_bytes gauge\n"
"process_virtual_memory_bytes 4194304\n"
"# HELP process_open_fds Open file descriptors of the master and its workers, summed.\n"
"# TYPE process_open_fds gauge\n"
"process_open_fds 12\n"
"# HELP process_max_fds File descriptor limits (RLIMIT_NOFILE) of the master and its workers, summed: process_open_fds / process_max_fds is the share in use.\n"
"# TYPE process_max_fds gauge\n"
"process_max_fds 3072\n"
"# HELP process_start_time_seconds Start time of the master process since the Unix epoch in seconds.\n"
"# TYPE process_start_time_seconds gauge\n"
"process_start_time_seconds 1700000000.5\n";

static const char golden_om[] =
"# HELP prediction_latency_seconds Time from the kernel's receipt of the first byte of a valid inference request (/predict, /v1/models/{name}:predict, /v2/models/{name}[/versions/{version}]/infer) to the write of its response, less the time spent waiting for the client's bytes; requested delay included. Observed for responses 2xx and 5xx and for 499 (the client left first); never for client errors 4xx, which inferd_http_requests_total counts.\n"
"# TYPE prediction_latency_seconds histogram\n"
"prediction_latency_seconds_bucket{le=\"0.5\"} 5\n"
"prediction_latency_seconds_bucket{le=\"1.0\"} 7 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"} 0.75 1700000000.123\n"
"prediction_latency_seconds_bucket{le=\"10.0\"} 8\n"
"prediction_latency_seconds_bucket{le=\"+Inf\"} 9 # {request_id=\"a\\\"b\\\\c\"} 12.5 1700000001.005\n"
"prediction_latency_seconds_count 9\n"
"prediction_latency_seconds_sum 14.25\n"
"# HELP inferd_model_compute_seconds Time the model took to predict the rows of one prediction request (POST /predict, /v2/models/{name}/infer): the evaluation alone, without parsing, formatting, delay or I/O.\n"
"# TYPE inferd_model_compute_seconds histogram\n"
"inferd_model_compute_seconds_bucket{le=\"1e-05\"} 0\n"
"inferd_model_compute_seconds_bucket{le=\"2.5e-05\"} 0\n"
"inferd_model_compute_seconds_bucket{le=\"5e-05\"} 0\n"
"inferd_model_compute_seconds_bucket{le=\"0.0001\"} 1\n"
"inferd_model_compute_seconds_bucket{le=\"0.00025\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.0005\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.001\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.0025\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.005\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.01\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.025\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.05\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.1\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"0.25\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"1.0\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"2.5\"} 2\n"
"inferd_model_compute_seconds_bucket{le=\"+Inf\"} 2\n"
"inferd_model_compute_seconds_count 2\n"
"inferd_model_compute_seconds_sum 0.0003\n"
"# HELP inferd_request_rows Rows the model predicted for one prediction request (POST /predict, /v2/models/{name}/infer).\n"
"# TYPE inferd_request_rows histogram\n"
"inferd_request_rows_bucket{le=\"1.0\"} 0\n"
"inferd_request_rows_bucket{le=\"2.0\"} 0\n"
"inferd_request_rows_bucket{le=\"5.0\"} 2\n"
"inferd_request_rows_bucket{le=\"10.0\"} 2\n"
"inferd_request_rows_bucket{le=\"20.0\"} 2\n"
"inferd_request_rows_bucket{le=\"50.0\"} 2\n"
"inferd_request_rows_bucket{le=\"100.0\"} 2\n"
"inferd_request_rows_bucket{le=\"200.0\"} 2\n"
"inferd_request_rows_bucket{le=\"500.0\"} 2\n"
"inferd_request_rows_bucket{le=\"1000.0\"} 2\n"
"inferd_request_rows_bucket{le=\"2000.0\"} 2\n"
"inferd_request_rows_bucket{le=\"5000.0\"} 2\n"
"inferd_request_rows_bucket{le=\"10000.0\"} 2\n"
"inferd_request_rows_bucket{le=\"+Inf\"} 2\n"
"inferd_request_rows_count 2\n"
"inferd_request_rows_sum 7.0\n"
"# HELP inferd_http_requests HTTP requests answered by the workers, by handler and status code.\n"
"# TYPE inferd_http_requests counter\n"
"inferd_http_requests_total{handler=\"/predict\",code=\"200\"} 8\n"
"inferd_http_requests_total{handler=\"/predict\",code=\"400\"} 1\n"
"inferd_http_requests_total{handler=\"other\",code=\"404\"} 2\n"
"# HELP inferd_slow_requests Requests slower than slow_request_threshold (each is logged at warning, rate-limited by slow_request_log_rate).\n"
"# TYPE inferd_slow_requests counter\n"
"inferd_slow_requests_total 4\n"
"# HELP inferd_access_log_write_errors Writes of the access log that failed or came short; their lines are lost.\n"
"# TYPE inferd_access_log_write_errors counter\n"
"inferd_access_log_write_errors_total 1\n"
"# HELP inferd_requests_shed Inference requests admission control answered 503 before any work, by reason: queue (the worker's heavy-work queue had held a request longer than admission_target) or wait (the request had waited that long itself). Not observed in prediction_latency_seconds; they count against the availability SLO.\n"
"# TYPE inferd_requests_shed counter\n"
"inferd_requests_shed_total{reason=\"queue\"} 0\n"
"inferd_requests_shed_total{reason=\"wait\"} 0\n"
"# HELP inferd_http_requests_in_flight Requests the workers are answering now.\n"
"# TYPE inferd_http_requests_in_flight gauge\n"
"inferd_http_requests_in_flight 3\n"
"# HELP inferd_workers Worker processes configured.\n"
"# TYPE inferd_workers gauge\n"
"inferd_workers 2\n"
"# HELP inferd_workers_alive Worker processes running now.\n"
"# TYPE inferd_workers_alive gauge\n"
"inferd_workers_alive 2\n"
"# HELP inferd_workers_stalled Workers whose event loop has not turned for worker_stall_interval: not ready; replaced once their heartbeat is worker_stall_timeout old.\n"
"# TYPE inferd_workers_stalled gauge\n"
"inferd_workers_stalled 0\n"
"# HELP inferd_worker_restarts Workers the master replaced after they died.\n"
"# TYPE inferd_worker_restarts counter\n"
"inferd_worker_restarts_total 1\n"
"# HELP inferd_worker_stalls Workers the master killed because their heartbeat stopped for worker_stall_timeout.\n"
"# TYPE inferd_worker_stalls counter\n"
"inferd_worker_stalls_total 4\n"
"# HELP inferd_worker_start_failures Workers that died (or could not be forked) before they were ready; each is restarted after a backoff.\n"
"# TYPE inferd_worker_start_failures counter\n"
"inferd_worker_start_failures_total 0\n"
"# HELP inferd_model The model being served.\n"
"# TYPE inferd_model info\n"
"inferd_model_info{name=\"bc\",sha256=\"abc123\",objective=\"binary:logistic\"} 1\n"
"# HELP inferd_reload_failures Reloads refused (the running configuration and model kept), by what was at fault: config or model.\n"
"# TYPE inferd_reload_failures counter\n"
"inferd_reload_failures_total{what=\"config\"} 2\n"
"inferd_reload_failures_total{what=\"model\"} 0\n"
"# HELP inferd_build inferd's version.\n"
"# TYPE inferd_build info\n"
"inferd_build_info{version=\"1.2.3\"} 1\n"
"# HELP process_cpu_seconds User and system CPU time of the master and its workers, those that exited included, in seconds.\n"
"# TYPE process_cpu_seconds counter\n"
"process_cpu_seconds_total 1.5\n"
"# HELP process_resident_memory_bytes Resident memory of the master and its workers, summed (a page they share counts once per process).\n"
"# TYPE process_resident_memory_bytes gauge\n"
"process_resident_memory_bytes 1048576\n"
"# HELP process_virtual_memory_bytes Virtual memory of the master and its workers, summed.\n"
"# TYPE process_virtual_memory_bytes gauge\n"
"process_virtual_memory_bytes 4194304\n"
"# HELP process_open_fds Open file descriptors of the master and its workers, summed.\n"
"# TYPE process_open_fds gauge\n"
"process_open_fds 12\n"
"# HELP process_max_fds File descriptor limits (RLIMIT_NOFILE) of the master and its workers, summed: process_open_fds / process_max_fds is the share in use.\n"
"# TYPE process_max_fds gauge\n"
"process_max_fds 3072\n"
"# HELP process_start_time_seconds Start time of the master process since the Unix epoch in seconds.\n"
"# TYPE process_start_time_seconds gauge\n"
"process_start_time_seconds 1700000000.5\n"
"# EOF\n";

static void
test_golden_text(void **state)
{
	char	*s = render(EXPO_TEXT, &metrics);

	assert_string_equal(s, golden_text);
	free(s);
}

static void
test_golden_openmetrics(void **state)
{
	char	*s = render(EXPO_OPENMETRICS, &metrics);

	assert_string_equal(s, golden_om);
	free(s);
}

/* With nothing counted yet, the request family still has a sample. */
static void
test_empty(void **state)
{
	char	*s;

	memset(snap.requests, 0, sizeof(snap.requests));
	s = render(EXPO_TEXT, &metrics);
	assert_non_null(strstr(s, "inferd_http_requests_total{handler="
	    "\"/predict\",code=\"200\"} 0\n"));
	free(s);
}

static void
test_label_escaping(void **state)
{
	char	*s;

	metrics.model_name = "a\"b\\c\nd";
	s = render(EXPO_TEXT, &metrics);
	assert_non_null(strstr(s, "name=\"a\\\"b\\\\c\\nd\""));
	free(s);
	s = render(EXPO_OPENMETRICS, &metrics);
	assert_non_null(strstr(s, "name=\"a\\\"b\\\\c\\nd\""));
	free(s);
}

static void
test_help_escaping(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s;

	expo_write_family(b, EXPO_TEXT, "x_total", "counter",
	    "say \"hi\" \\ bye\nnow");
	s = drain(b);
	/* text 0.0.4 escapes backslash and newline in HELP, not quotes */
	assert_string_equal(s, "# HELP x_total say \"hi\" \\\\ bye\\nnow\n"
	    "# TYPE x_total counter\n");
	free(s);
	expo_write_family(b, EXPO_OPENMETRICS, "x_total", "counter",
	    "say \"hi\" \\ bye\nnow");
	s = drain(b);
	assert_string_equal(s, "# HELP x say \\\"hi\\\" \\\\ bye\\nnow\n"
	    "# TYPE x counter\n");
	free(s);
	evbuffer_free(b);
}

static void
test_doubles(void **state)
{
	static const struct {
		double		 v;
		const char	*s;
	} cases[] = {
		{ 1.0, "1.0" }, { 10.0, "10.0" }, { 0.005, "0.005" },
		{ 2.5, "2.5" }, { 0.1, "0.1" }, { 1e-7, "1e-07" },
		{ 123456789.0, "123456789.0" }, { 0.0, "0.0" },
		{ 1.0 / 0.0, "+Inf" }, { 0.30000000000000004,
		"0.30000000000000004" },
	};
	struct evbuffer	*b = evbuffer_new();
	size_t		 i;
	char		*s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(expo_write_double(b, cases[i].v), 0);
		s = drain(b);
		assert_string_equal(s, cases[i].s);
		free(s);
	}
	evbuffer_free(b);
}

static void
test_negotiate(void **state)
{
	assert_int_equal(expo_negotiate(NULL), EXPO_TEXT);
	assert_int_equal(expo_negotiate("*/*"), EXPO_TEXT);
	assert_int_equal(expo_negotiate("text/plain"), EXPO_TEXT);
	/* What Prometheus 2.x sends. */
	assert_int_equal(expo_negotiate("application/openmetrics-text;"
	    "version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
	    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), EXPO_OPENMETRICS);
	assert_int_equal(expo_negotiate("application/openmetrics-text"),
	    EXPO_OPENMETRICS);
	assert_int_equal(expo_negotiate("text/plain;q=0.9, "
	    "application/openmetrics-text;q=0.5"), EXPO_TEXT);
	assert_int_equal(expo_negotiate("application/openmetrics-text;q=0"),
	    EXPO_TEXT);
	/* What Prometheus 2.42 sends with native histograms enabled. */
	assert_int_equal(expo_negotiate("application/vnd.google.protobuf;"
	    "proto=io.prometheus.client.MetricFamily;encoding=delimited,"
	    "application/openmetrics-text;version=1.0.0;q=0.8,"
	    "application/openmetrics-text;version=0.0.1;q=0.75,"
	    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), EXPO_PROTOBUF);
	assert_int_equal(expo_negotiate("application/vnd.google.protobuf; "
	    "proto=io.prometheus.client.MetricFamily; encoding=delimited; "
	    "q=0.5, application/openmetrics-text; q=0.6"), EXPO_OPENMETRICS);
	/* Only the delimited encoding of MetricFamily is offered. */
	assert_int_equal(expo_negotiate("application/vnd.google.protobuf;"
	    "proto=io.prometheus.client.MetricFamily;encoding=text"),
	    EXPO_TEXT);
	assert_int_equal(expo_negotiate("application/vnd.google.protobuf;"
	    "proto=other.Message;encoding=delimited"), EXPO_TEXT);
	assert_string_equal(expo_content_type(EXPO_PROTOBUF),
	    "application/vnd.google.protobuf; "
	    "proto=io.prometheus.client.MetricFamily; encoding=delimited");
	assert_string_equal(expo_content_type(EXPO_TEXT),
	    "text/plain; version=0.0.4; charset=utf-8");
	assert_string_equal(expo_content_type(EXPO_OPENMETRICS),
	    "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_golden_text, setup),
		cmocka_unit_test_setup(test_golden_openmetrics, setup),
		cmocka_unit_test_setup(test_empty, setup),
		cmocka_unit_test_setup(test_label_escaping, setup),
		cmocka_unit_test(test_help_escaping),
		cmocka_unit_test(test_doubles),
		cmocka_unit_test(test_negotiate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
