/*
 * tap.h -- the tiny test API every unit test uses (Dovecot's shape, TAP
 * output for automake's tap-driver.sh). Header-only; never assert().
 *
 *	ok(cond, "name %d", i);
 *	is_int(got, want, "name");
 *	is_str(got, want, "name");
 *	is_mem(got, glen, want, wlen, "name");
 *	return tap_done();
 */
#ifndef RT_TAP_H
#define RT_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void
tap_vreport(int pass, const char *fmt, va_list ap)
{
	tap_n++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_n);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

static inline int __attribute__((__format__(printf, 2, 3)))
ok(int pass, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	tap_vreport(pass, fmt, ap);
	va_end(ap);
	return pass;
}

#define is_int(got, want, ...) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	if (!ok(g_ == w_, __VA_ARGS__))					\
		printf("#   got %lld, want %lld\n", g_, w_);		\
} while (0)

#define is_str(got, want, ...) do {					\
	const char *g_ = (got), *w_ = (want);				\
	int p_ = (g_ == NULL && w_ == NULL) ||				\
	    (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0);		\
	if (!ok(p_, __VA_ARGS__))					\
		printf("#   got \"%s\", want \"%s\"\n",			\
		    g_ ? g_ : "(null)", w_ ? w_ : "(null)");		\
} while (0)

#define is_mem(got, glen, want, wlen, ...) do {				\
	size_t gl_ = (glen), wl_ = (wlen);				\
	int p_ = gl_ == wl_ && memcmp((got), (want), gl_) == 0;		\
	if (!ok(p_, __VA_ARGS__))					\
		printf("#   got %zu bytes, want %zu bytes\n", gl_, wl_);	\
} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
