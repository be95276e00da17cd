/*
 * listen: the master's listening sockets, opened once and kept for its
 * whole life (workers inherit them across respawns).
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netdb.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "inferd/config.h"
#include "inferd/listen.h"
#include "inferd/log.h"

/*
 * Bind a socket to ss with SO_REUSEADDR but not SO_REUSEPORT: refused
 * (EADDRINUSE) when any socket listens on the address, whoever owns it.
 * Port 0 in ss becomes the port the kernel chose.  The socket, or -1
 * (logged).
 */
static int
listen_probe(const char *what, const struct config_addr *addr,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	int	fd, on = 1;

	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1) {
		log_error("%s: socket", what);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) {
		log_error("%s: setsockopt", what);
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)ss, *sslen) == -1) {
		log_errorx("%s: bind %s:%s: %s%s", what, addr->host,
		    addr->port, strerror(errno), errno == EADDRINUSE ?
		    " (another process, another inferd perhaps, listens "
		    "there)" : "");
		close(fd);
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)ss, sslen) == -1) {
		log_error("%s: getsockname", what);
		close(fd);
		return -1;
	}
	return fd;
}

/* Open count listening sockets on one port; see listen.h. */
int
listen_open(const struct config_addr *addr, const char *what, int *fds,
    unsigned count, int reuseport, int backlog)
{
	struct addrinfo		 hints, *res = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 host[NI_MAXHOST], port[NI_MAXSERV];
	const char		*h = addr->host;
	unsigned		 i;
	int			 on = 1, rc, probe = -1;

	for (i = 0; i < count; i++)
		fds[i] = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if (strcmp(h, "*") == 0)
		h = NULL;
	if ((rc = getaddrinfo(h, addr->port, &hints, &res)) != 0) {
		log_errorx("%s: cannot resolve %s:%s: %s", what, addr->host,
		    addr->port, gai_strerror(rc));
		return -1;
	}
	memcpy(&ss, res->ai_addr, res->ai_addrlen);
	sslen = res->ai_addrlen;
	/*
	 * SO_REUSEPORT would let our sockets join a group another process of
	 * this user already listens in (another inferd), and the kernel would
	 * split the connections between the two.  A probe without it is
	 * refused if anything listens on the address; it stays bound (not
	 * listening) while our sockets bind, which SO_REUSEADDR on both
	 * allows, so that nobody takes the port in between.
	 */
	if ((count > 1 || reuseport) &&
	    (probe = listen_probe(what, addr, &ss, &sslen)) == -1)
		goto fail;
	for (i = 0; i < count; i++) {
		int fd = socket(res->ai_family, res->ai_socktype |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, res->ai_protocol);
		if (fd == -1) {
			log_error("%s: socket", what);
			goto fail;
		}
		fds[i] = fd;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1 || ((count > 1 || reuseport) &&
		    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
		    sizeof(on)) == -1)) {
			log_error("%s: setsockopt", what);
			goto fail;
		}
		/* The kernel's receive time on every read (guard.h), also
		 * for connections queued before a worker runs. */
		(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on,
		    sizeof(on));
		if (bind(fd, (struct sockaddr *)&ss, sslen) == -1) {
			log_error("%s: bind %s:%s", what, addr->host,
			    addr->port);
			goto fail;
		}
		if (listen(fd, backlog) == -1) {
			log_error("%s: listen", what);
			goto fail;
		}
		/* Port 0: the next sockets take the port this one got. */
		if (i == 0 && getsockname(fd, (struct sockaddr *)&ss,
		    &sslen) == -1) {
			log_error("%s: getsockname", what);
			goto fail;
		}
	}
	if (probe != -1)
		close(probe);
	if (getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof(host),
	    port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		log_info("%s listening on %s%s%s:%s", what,
		    ss.ss_family == AF_INET6 ? "[" : "", host,
		    ss.ss_family == AF_INET6 ? "]" : "", port);
	freeaddrinfo(res);
	return 0;
fail:
	if (probe != -1)
		close(probe);
	for (i = 0; i < count; i++)
		if (fds[i] != -1)
			close(fds[i]);
	freeaddrinfo(res);
	return -1;
}

/* Raise the soft file limit to need; see listen.h. */
void
listen_fd_limit(unsigned long need, const char *who, const char *key)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ?
	    need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("%s: setrlimit RLIMIT_NOFILE %llu", who,
		    (unsigned long long)rl.rlim_cur);
	if (rl.rlim_cur < need)
		log_warnx("%s: open file limit %llu is below %s (%lu) + %d: "
		    "lower %s or raise the limit (LimitNOFILE=, ulimit -n)",
		    who, (unsigned long long)rl.rlim_cur, key,
		    need - LISTEN_FD_MARGIN, LISTEN_FD_MARGIN, key);
}
