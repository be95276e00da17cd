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

#endif /* INFERD_LISTEN_H */
