/*
 * notify: systemd's notify protocol without libsystemd: one datagram on
 * $NOTIFY_SOCKET per state ("READY=1", "WATCHDOG=1", "STATUS=..."), and
 * the watchdog period systemd asks for in $WATCHDOG_USEC.
 */
#ifndef INFERD_NOTIFY_H
#define INFERD_NOTIFY_H

/* Send state, never blocking; nothing happens outside systemd. */
void	notify_send(const char *state);

/*
 * Seconds between two WATCHDOG=1 (half of $WATCHDOG_USEC), or 0 when
 * systemd asks for none or asks another process ($WATCHDOG_PID).
 */
double	notify_watchdog_interval(void);

#endif /* INFERD_NOTIFY_H */
