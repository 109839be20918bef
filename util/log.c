/*
 * log.c -- syslog (mail facility) or stderr logging for every process.
 * Runs in every role. Trusts nothing in the values it is given: callers
 * escape network text with log_esc(); formats are always literals.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	 log_foreground = 1;
static int	 log_verbose;
static const char *log_ident = "relaytrap";

/*
 * log_init -- choose stderr (foreground) or syslog LOG_MAIL.
 * The syslog socket is opened now (LOG_NDELAY) so that it survives chroot.
 */
void
log_init(int foreground, const char *ident)
{
	log_foreground = foreground;
	if (ident != NULL)
		log_ident = ident;
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	tzset();
}

/*
 * log_set_ident -- name this process (e.g. "relaytrapd/smtp") in its lines.
 */
void
log_set_ident(const char *ident)
{
	log_ident = ident;
	if (!log_foreground) {
		closelog();
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

/*
 * log_set_verbose -- 0 = info, 1 = debug.
 */
void
log_set_verbose(int level)
{
	log_verbose = level;
}

/*
 * log_get_verbose -- the level set by log_set_verbose().
 */
int
log_get_verbose(void)
{
	return log_verbose;
}

static void
log_vwrite(int pri, const char *prefix, const char *fmt, va_list ap,
    const char *suffix)
{
	char	 msg[4096];
	int	 saved = errno;

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_foreground) {
		struct timespec ts;
		struct tm tm;
		char	 tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s[%ld]: %s%s%s%s\n", tbuf,
		    ts.tv_nsec / 1000000, log_ident, (long)getpid(),
		    prefix, msg, suffix ? ": " : "", suffix ? suffix : "");
		fflush(stderr);
	} else
		syslog(pri, "%s%s%s%s", prefix, msg, suffix ? ": " : "",
		    suffix ? suffix : "");
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, "warning: ", fmt, ap, strerror(errno));
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, "warning: ", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, "", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, "debug: ", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, "fatal: ", fmt, ap, strerror(errno));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, "fatal: ", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

/*
 * log_esc -- make len bytes of untrusted text safe for a key=value line.
 * Printable ASCII other than '\\', '"' and space is copied; everything
 * else becomes \xNN (space becomes \x20, so a value never splits).
 * The result is always NUL-terminated; overflow ends in "...".
 * Returns out.
 */
const char *
log_esc(const char *in, size_t len, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, o = 0;

	if (outsz == 0)
		return out;
	if (in == NULL) {
		out[0] = '\0';
		return out;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (o + 8 >= outsz) {
			if (outsz >= 4) {
				o = o > outsz - 4 ? outsz - 4 : o;
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (c > 0x20 && c < 0x7f && c != '\\' && c != '"')
			out[o++] = (char)c;
		else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return out;
}
