/*
 * listen: listening TCP sockets for the master: the workers' SO_REUSEPORT
 * sockets, one per listener slot, and the metrics port.
 */
#ifndef INFERD_LISTEN_H
#define INFERD_LISTEN_H

struct config_addr;

/*
 * Open count listening sockets on addr (SO_REUSEPORT when count > 1 or
 * reuseport), non-blocking and close-on-exec, all on the same port: when
 * the port is 0, the first socket picks one and the others follow.  Fills
 * fds; logs "what listening on host:port".  Returns 0, or -1 with the
 * failing step logged and no socket left open.
 */
int	listen_open(const struct config_addr *addr, const char *what,
	    int *fds, unsigned count, int reuseport, int backlog);

/* Descriptors a process needs besides its connections. */
#define LISTEN_FD_MARGIN	64

/*
 * Make room for need open files in this process (each role sizes its own:
 * a worker for max_connections, the master for metrics_max_connections
 * and the listeners): raise the soft RLIMIT_NOFILE as far as the hard one
 * allows, never lower it, and log as who when it is not enough, naming
 * the configuration key that asks for them.
 */
void	listen_fd_limit(unsigned long need, const char *who, const char *key);

#endif /* INFERD_LISTEN_H */
