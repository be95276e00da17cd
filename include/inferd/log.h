/*
 * log: levelled logging to stderr ("inferd[pid]: level: message") or, when
 * the configuration says log = syslog, to syslog.  The warn variants append
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

/* The names of the levels, indexed by enum log_level, and of the syslog
 * facilities log_init takes; both NULL-terminated (key log_level and
 * log_facility). */
extern const char *const log_level_names[];
extern const char *const log_facility_names[];

/* Log at level to stderr, or to syslog at facility (an index in
 * log_facility_names); may be called again to change the level. */
void	log_init(enum log_level, int use_syslog, int facility);
void	log_set_level(enum log_level);
/* In a child right after it closed every inherited descriptor: connect to
 * syslog afresh (nothing when logging to stderr). */
void	log_reopen(void);

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
