/*
 * testutil.h -- small helpers the C unit tests share: a monotonic clock
 * in milliseconds for deadlines, and removing a temporary tree.
 * Header-only, like tap.h.
 */
#ifndef RT_TESTUTIL_H
#define RT_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <time.h>

static inline long long
tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int
tu_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* remove dir and everything below it (temporary test trees only) */
static inline void
tu_rm_tree(const char *dir)
{
	(void)nftw(dir, tu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
