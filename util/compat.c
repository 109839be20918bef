/*
 * compat.c -- strlcpy/strlcat/strtonum for glibc, and bsnprintf.
 * Written fresh from the OpenBSD manual pages' contracts.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"

#ifndef HAVE_STRLCPY
/*
 * strlcpy -- copy at most size-1 bytes, always terminate; returns strlen(src)
 * so that truncation is detected with ">= size".
 */
size_t
strlcpy(char *dst, const char *src, size_t size)
{
	size_t	 len = strlen(src);

	if (size) {
		size_t	 n = len >= size ? size - 1 : len;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
#endif

#ifndef HAVE_STRLCAT
/*
 * strlcat -- append, always terminate; returns the length it tried to make.
 */
size_t
strlcat(char *dst, const char *src, size_t size)
{
	size_t	 dlen = strnlen(dst, size);

	if (dlen == size)
		return size + strlen(src);
	return dlen + strlcpy(dst + dlen, src, size - dlen);
}
#endif

#ifndef HAVE_STRTONUM
/*
 * strtonum -- parse a decimal integer in [min, max]. On error returns 0
 * and sets *errstr to "invalid", "too small" or "too large".
 */
long long
strtonum(const char *s, long long min, long long max, const char **errstr)
{
	long long v;
	char	*end;

	*errstr = NULL;
	if (s == NULL || *s == '\0' || min > max) {
		*errstr = "invalid";
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || end == s) {
		*errstr = "invalid";
		return 0;
	}
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*errstr = "too small";
		return 0;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*errstr = "too large";
		return 0;
	}
	return v;
}
#endif

/*
 * bsnprintf -- snprintf that returns false on error or truncation.
 */
bool
bsnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < size;
}

/*
 * hexencode -- in[0..n) as 2n lowercase hex digits and a NUL in out, which
 * holds 2n + 1 bytes (digests for ids and comparisons).
 */
void
hexencode(const unsigned char *in, size_t n, char *out)
{
	static const char hexd[] = "0123456789abcdef";
	size_t	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexd[in[i] >> 4];
		out[2 * i + 1] = hexd[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}
