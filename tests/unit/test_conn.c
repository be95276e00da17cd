/*
 * test_conn: the HTTP layer's connection code (conn.c) in-process: a
 * server on a loopback socket of a private event base, a client socket
 * driven by the test, the loop turned until the answer comes.  The
 * request's accessors, HEAD without a body, a framing error that closes
 * the connection, pipelined requests answered in order, and the timeline
 * (its moments in order; a body sent late is the client's wait).
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "inferd/conn.h"
#include "inferd/reply.h"

struct server {
	struct event_base	*base;
	struct conn_set		*set;
	int			 port;
	int			 routed;
	struct timeline		 tl;		/* of the last request done */
	char			 seen[512];	/* what the route saw */
};

static struct server	srv;

/* The route: answers what it saw of the request, as JSON. */
static void
route(struct conn_req *r, void *arg)
{
	struct server	*s = arg;
	const char	*q = conn_req_query(r), *h = conn_req_header(r, "X-T");
	struct evbuffer	*body = conn_req_body(r);

	s->routed++;
	snprintf(s->seen, sizeof(s->seen), "%s %s %s %s %s %u %zu",
	    conn_req_method_name(r), conn_req_path(r), q ? q : "-",
	    h ? h : "-", conn_req_addr(r), conn_req_port(r) > 0 ? 1u : 0u,
	    body != NULL ? evbuffer_get_length(body) : 0);
	conn_req_predict_start(r);
	conn_req_predict_end(r);
	s->tl = *conn_req_timeline(r);
	conn_req_add_header(r, "X-Seen", "yes");
	conn_respond(r, 200, reply_json_new("{\"ok\":true}"));
}

static int
setup(void **state)
{
	struct conn_params	 p = { .name = "test", .max_connections = 16,
				    .header_timeout = 5, .body_timeout = 5,
				    .keepalive_timeout = 5, .write_timeout = 5,
				    .max_header_bytes = 1024,
				    .max_body_bytes = 4096,
				    .max_body_memory = 1 << 20,
				    .pipeline_depth = 2 };
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	socklen_t		 len = sizeof(sin);
	int			 fd;

	memset(&srv, 0, sizeof(srv));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	srv.port = ntohs(sin.sin_port);
	srv.base = event_base_new();
	srv.set = conn_set_new(srv.base, fd, &p, NULL, NULL, 0, route, NULL,
	    &srv);
	assert_non_null(srv.set);
	return 0;
}

static int
teardown(void **state)
{
	conn_set_free(srv.set);
	event_base_free(srv.base);
	return 0;
}

/* A client connected to the server. */
static int
client(void)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)srv.port);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Turn the loop for seconds, reading what fd gets into out. */
static size_t
pump(int fd, char *out, size_t cap, double seconds, int *closed)
{
	struct timespec	t0, now;
	size_t		n = 0;
	ssize_t		k;

	*closed = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		event_base_loop(srv.base, EVLOOP_NONBLOCK);
		while (n < cap - 1 && (k = read(fd, out + n, cap - 1 - n)) > 0)
			n += (size_t)k;
		if (k == 0)
			*closed = 1;
		out[n] = '\0';
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (*closed || (double)(now.tv_sec - t0.tv_sec) +
		    (double)(now.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
			return n;
		usleep(1000);
	}
}

/* Send s on fd. */
static void
send_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Count occurrences of needle in hay. */
static int
count(const char *hay, const char *needle)
{
	int	n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

static void
test_accessors(void **state)
{
	char	out[4096];
	int	fd = client(), closed;

	send_str(fd, "POST /a/b?c=d HTTP/1.1\r\nHost: x\r\nX-T: hello\r\n"
	    "Content-Length: 5\r\n\r\nabcde");
	pump(fd, out, sizeof(out), 0.3, &closed);
	assert_string_equal(srv.seen, "POST /a/b c=d hello 127.0.0.1 1 5");
	assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(out, "\r\nX-Seen: yes\r\n"));
	assert_non_null(strstr(out, "\r\nContent-Length: 12\r\n"));
	assert_non_null(strstr(out, "{\"ok\":true}\n"));
	assert_int_equal(closed, 0);
	close(fd);
}

static void
test_head_has_no_body(void **state)
{
	char	out[4096];
	int	fd = client(), closed;

	send_str(fd, "HEAD /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"
	    "GET /y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	pump(fd, out, sizeof(out), 1, &closed);
	/* The HEAD's 3 body bytes ("GET") were its body: the rest is no
	 * request, the server answers 400 to it and closes. */
	assert_int_equal(count(out, "HTTP/1.1 "), 2);
	assert_non_null(strstr(out, "\r\nContent-Length: 12\r\n"));
	assert_null(strstr(out, "{\"ok\":true}"));
	assert_non_null(strstr(out, "HTTP/1.1 400 "));
	assert_int_equal(closed, 1);
	assert_int_equal(srv.routed, 1);
	close(fd);
}

static void
test_framing_error_closes(void **state)
{
	char	out[4096];
	int	fd = client(), closed;

	send_str(fd, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n");
	pump(fd, out, sizeof(out), 1, &closed);
	assert_int_equal(count(out, "HTTP/1.1 "), 1);
	assert_non_null(strstr(out, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
	assert_non_null(strstr(out, "more than one Content-Length"));
	assert_int_equal(closed, 1);
	assert_int_equal(srv.routed, 0);
	assert_true(conn_set_idle(srv.set));
	close(fd);
}

static void
test_pipelined_in_order(void **state)
{
	char	out[8192];
	int	fd = client(), closed, i;

	for (i = 0; i < 6; i++)
		send_str(fd, "GET /p HTTP/1.1\r\nHost: x\r\n\r\n");
	send_str(fd, "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "\r\n");
	pump(fd, out, sizeof(out), 1, &closed);
	assert_int_equal(count(out, "HTTP/1.1 200 OK"), 7);
	assert_int_equal(closed, 1);
	assert_int_equal(srv.routed, 7);
	assert_string_equal(srv.seen, "GET /last - - 127.0.0.1 1 0");
	close(fd);
}

static void
test_timeline(void **state)
{
	char		out[4096];
	int		fd = client(), closed;
	struct timeline	*tl = &srv.tl;

	send_str(fd, "POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n"
	    "ab");
	pump(fd, out, sizeof(out), 0.3, &closed);
	assert_int_equal(srv.routed, 0);
	send_str(fd, "cd");
	pump(fd, out, sizeof(out), 0.2, &closed);
	assert_int_equal(srv.routed, 1);
	assert_true(timeline_set(&tl->received));
	assert_true(timeline_span(&tl->received, &tl->head) >= 0);
	assert_true(timeline_span(&tl->head, &tl->body) >= 0.25);
	assert_true(timeline_span(&tl->body, &tl->handler) >= 0);
	assert_true(timeline_span(&tl->handler, &tl->predict_start) >= 0);
	assert_true(timeline_span(&tl->predict_start, &tl->predict_end) >= 0);
	/* The 0.3 s the body took is the client's. */
	assert_true(tl->client_wait >= 0.25 && tl->client_wait < 1);
	assert_true(timeline_latency(tl, &tl->handler) < 0.1);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_accessors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_head_has_no_body, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_framing_error_closes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timeline, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
