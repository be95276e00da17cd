/*
 * log: one logging API for master and workers.  Each line is written with a
 * single write(2) so that lines of several processes sharing stderr do not
 * interleave.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "inferd/log.h"

static enum log_level	log_level = LOG_LEVEL_INFO;
static int		log_syslog;
static int		log_facility = LOG_DAEMON;

const char *const log_level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
	NULL
};

/* The facilities of key log_facility, and their syslog values. */
const char *const log_facility_names[] = {
	"daemon", "user", "local0", "local1", "local2", "local3", "local4",
	"local5", "local6", "local7", NULL
};
static const int log_facilities[] = {
	LOG_DAEMON, LOG_USER, LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
	LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7
};
_Static_assert(sizeof(log_facilities) / sizeof(log_facilities[0]) + 1 ==
    sizeof(log_facility_names) / sizeof(log_facility_names[0]),
    "a value for every facility name");

/*
 * Start logging at level: to stderr, or to syslog at the facility of
 * index facility in log_facility_names.  The socket to /dev/log is
 * opened now (LOG_NDELAY), before any fork or privilege drop, so that
 * every worker inherits it and a sandbox need not allow socket(2).
 */
void
log_init(enum log_level level, int use_syslog, int facility)
{
	log_level = level;
	if (use_syslog && !log_syslog) {
		if (facility < 0 || (size_t)facility >=
		    sizeof(log_facilities) / sizeof(log_facilities[0]))
			facility = 0;
		log_facility = log_facilities[facility];
		openlog("inferd", LOG_PID | LOG_NDELAY, log_facility);
	}
	log_syslog = use_syslog;
}

/*
 * In a child that has just closed the descriptors it inherited: the
 * syslog socket was one of them, and syslog(3) would otherwise write to
 * whatever file the child opens next under its number.  Forget it (the
 * close of a closed descriptor is harmless, nothing has been opened since)
 * and connect afresh.
 */
void
log_reopen(void)
{
	if (!log_syslog)
		return;
	closelog();
	openlog("inferd", LOG_PID | LOG_NDELAY, log_facility);
}

/* Change the level, for example after the configuration was read. */
void
log_set_level(enum log_level level)
{
	log_level = level;
}

static void __attribute__((format(printf, 3, 0)))
log_vwrite(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	static const int prio[] = {
		[LOG_LEVEL_ERROR] = LOG_ERR,
		[LOG_LEVEL_WARN] = LOG_WARNING,
		[LOG_LEVEL_INFO] = LOG_INFO,
		[LOG_LEVEL_DEBUG] = LOG_DEBUG,
	};
	char	 msg[1024], line[1200];
	int	 n;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0) {
		size_t len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s",
		    strerror(errnum));
	}
	if (log_syslog) {
		syslog(prio[level], "%s", msg);
		return;
	}
	n = snprintf(line, sizeof(line), "inferd[%ld]: %s: %s\n",
	    (long)getpid(), log_level_names[level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	/* Nothing sensible to do if stderr is gone. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

/* Error with strerror(errno) appended; the caller gives up. */
void
log_error(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Error without errno; the caller gives up. */
void
log_errorx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
}

/* Warning with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Warning without errno. */
void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, 0, fmt, ap);
	va_end(ap);
}

/* Informational message. */
void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

/* Debug message, shown only at log_level debug. */
void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

/* Log an error with strerror(errno) and exit(1). */
void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log an error and exit(1). */
void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
