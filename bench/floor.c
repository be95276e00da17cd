/*
 * floor: the least an evhttp server can do, the benchmark's floor for
 * inferd.  Forked processes (2, or -n), each with its own SO_REUSEPORT
 * socket on one loopback port (opened by the parent, as inferd's master
 * does), answer every request with GET /predict's fixed JSON.  The event
 * base is made as inferd's workers make theirs: with
 * EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST (-c, the default; -C without it).
 * Prints "floor listening on 127.0.0.1:PORT"; SIGTERM stops it.  See
 * bench/README.md.
 *
 *   floor [-cC] [-n procs] [-p port] [body]
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#define FLOOR_PROCS	2	/* default */
#define FLOOR_PROCS_MAX	64

static const char	*floor_body = "{\"predictions\":[0.9878983]}\n";

/* Answer any request with the fixed body. */
static void
floor_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*out = evhttp_request_get_output_buffer(req);

	(void)arg;
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evbuffer_add_reference(out, floor_body, strlen(floor_body), NULL, NULL);
	evhttp_send_reply(req, 200, "OK", NULL);
}

/* A SO_REUSEPORT listening socket on 127.0.0.1:*port (0 picks one). */
static int
floor_listen(unsigned short *port)
{
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	socklen_t		 len = sizeof(sin);
	int			 fd, on = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(*port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 511) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("floor: socket");
		exit(1);
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Serve on fd until killed. */
static int
floor_serve(int fd, int changelist)
{
	struct event_config	*cfg = event_config_new();
	struct event_base	*base;
	struct evhttp		*http;

	if (changelist)
		event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	if ((base = event_base_new_with_config(cfg)) == NULL ||
	    (http = evhttp_new(base)) == NULL ||
	    evhttp_accept_socket(http, fd) == -1) {
		fprintf(stderr, "floor: libevent set-up failed\n");
		return 1;
	}
	evhttp_set_gencb(http, floor_cb, NULL);
	return event_base_dispatch(base) == -1;
}

int
main(int argc, char **argv)
{
	unsigned short	 port = 0;
	pid_t		 pids[FLOOR_PROCS_MAX];
	int		 fds[FLOOR_PROCS_MAX], i, ch, changelist = 1, sig;
	int		 procs = FLOOR_PROCS;
	sigset_t	 set;

	while ((ch = getopt(argc, argv, "cCn:p:")) != -1) {
		if (ch == 'c' || ch == 'C')
			changelist = ch == 'c';
		else if (ch == 'n' && atoi(optarg) >= 1 &&
		    atoi(optarg) <= FLOOR_PROCS_MAX)
			procs = atoi(optarg);
		else if (ch == 'p')
			port = (unsigned short)atoi(optarg);
		else {
			fprintf(stderr, "usage: floor [-cC] [-n procs] [-p port] "
			    "[body]\n");
			return 2;
		}
	}
	if (optind < argc)
		floor_body = argv[optind];
	for (i = 0; i < procs; i++)
		fds[i] = floor_listen(&port);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < procs; i++) {
		if ((pids[i] = fork()) == 0) {
			sigprocmask(SIG_UNBLOCK, &set, NULL);
			return floor_serve(fds[i], changelist);
		}
		close(fds[i]);
	}
	printf("floor listening on 127.0.0.1:%u\n", port);
	fflush(stdout);
	sigwait(&set, &sig);
	for (i = 0; i < procs; i++)
		kill(pids[i], SIGTERM);
	while (wait(NULL) > 0)
		;
	return 0;
}
