/*
 * compat.h -- BSD functions glibc 2.36 lacks: strlcpy, strlcat, strtonum;
 * and bsnprintf (OpenSMTPD), snprintf with a truncation check; hexencode.
 */
#ifndef RT_COMPAT_H
#define RT_COMPAT_H

#include <stdbool.h>
#include <stddef.h>

#ifndef HAVE_STRLCPY
size_t		 strlcpy(char *dst, const char *src, size_t size);
#endif
#ifndef HAVE_STRLCAT
size_t		 strlcat(char *dst, const char *src, size_t size);
#endif
#ifndef HAVE_STRTONUM
long long	 strtonum(const char *s, long long min, long long max,
		    const char **errstr);
#endif
bool		 bsnprintf(char *buf, size_t size, const char *fmt, ...)
		    __attribute__((__format__(printf, 3, 4)));
void		 hexencode(const unsigned char *in, size_t n, char *out);

#endif
