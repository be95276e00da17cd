/*
 * log: levelled logging to stderr ("inferd[pid]: level: message") or, when
 * log_init() is asked to, to syslog.  The warn variants append
 * strerror(errno); fatal and fatalx log and exit(1).
 */
#ifndef INFERD_LOG_H
#define INFERD_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void	log_init(enum log_level, int use_syslog);
void	log_set_level(enum log_level);
/* Parse "error", "warn", "info" or "debug"; -1 if none of them. */
int	log_level_parse(const char *);

/* A fatal error, at level error; the caller stops (with errno / without). */
void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* INFERD_LOG_H */
