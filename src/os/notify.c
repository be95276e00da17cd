/*
 * notify: the notify protocol of systemd (sd_notify(3)), one datagram at
 * a time.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inferd/log.h"
#include "inferd/notify.h"

/* Send state on $NOTIFY_SOCKET. */
void
notify_send(const char *state)
{
	static int		 failing;
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	socklen_t		 len;
	int			 fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_warn("notify: socket");
		return;
	}
	/*
	 * Never block the master: a full receiver loses this one message.
	 * A run of failures is logged once.
	 */
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&sun, len) == -1) {
		if (!failing)
			log_warn("notify: sendto %s (%s)", path, state);
		failing = 1;
	} else
		failing = 0;
	close(fd);
}

/* Half of $WATCHDOG_USEC, in seconds; 0 when not asked. */
double
notify_watchdog_interval(void)
{
	const char	*usec = getenv("WATCHDOG_USEC");
	const char	*pid = getenv("WATCHDOG_PID");
	double		 us;

	if (usec == NULL || (pid != NULL && atol(pid) != (long)getpid()))
		return 0;
	if ((us = strtod(usec, NULL)) <= 0)
		return 0;
	return us / 2e6;
}
