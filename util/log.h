/*
 * log.h -- logging with defined severities (OpenSMTPD API, Postfix meanings).
 * fatal/fatalx: startup, config and broken invariants only.
 * log_warn: a failed system call that costs one message or session (appends
 * strerror(errno)); log_info: one line per connect, message, disconnect;
 * log_debug: state transitions and protocol traces (only with -v).
 * Lines are key=value; network text must go through log_esc() first.
 */
#ifndef RT_LOG_H
#define RT_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define LOG_ESC_MAX	1024	/* escaped value buffers: callers use this */

void	 log_init(int foreground, const char *ident);
void	 log_set_verbose(int level);
int	 log_get_verbose(void);
void	 log_set_ident(const char *ident);

void	 log_warn(const char *fmt, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	 log_warnx(const char *fmt, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	 log_info(const char *fmt, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	 log_debug(const char *fmt, ...)
	    __attribute__((__format__(printf, 1, 2)));
void	 fatal(const char *fmt, ...)
	    __attribute__((__format__(printf, 1, 2), __noreturn__));
void	 fatalx(const char *fmt, ...)
	    __attribute__((__format__(printf, 1, 2), __noreturn__));

const char	*log_esc(const char *in, size_t len, char *out, size_t outsz);

#endif
