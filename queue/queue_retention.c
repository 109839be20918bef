/*
 * queue_retention.c -- keep the spool within its age and size limits by
 * removing whole day buckets, oldest first, and measuring its usage.
 * Run by the worker (periodically) or the CLI; the callback lets the
 * index follow. A day is everything of that UTC day: new/<day>/,
 * cur/<day>/, sessions/<day>/ and the corrupt/ entries whose id falls on
 * that day.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "queue.h"
#include "queue_priv.h"

static const char *const queue_ret_dirs[] = { "new", "cur", "sessions" };
#define QUEUE_RET_NDIRS	(sizeof(queue_ret_dirs) / sizeof(queue_ret_dirs[0]))

static int64_t	 queue_du(int pfd, const char *name, int depth);
static int	 queue_strpcmp(const void *a, const void *b);

/* bytes used by pfd/name and everything below it (not followed) */
static int64_t
queue_du(int pfd, const char *name, int depth)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	int64_t		 sum, sub;
	int		 fd;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	sum = (int64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode) || depth > QUEUE_RMTREE_DEPTH)
		return sum;
	if ((fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return errno == ENOENT ? sum : -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((sub = queue_du(dirfd(d), de->d_name, depth + 1)) == -1) {
			int saved = errno;

			closedir(d);
			errno = saved;
			return -1;
		}
		sum += sub;
	}
	closedir(d);
	return sum;
}

/*
 * queue_usage -- bytes the spool's evidence occupies on disk: the sum of
 * st_blocks * 512 of every file and directory under new/ cur/ sessions/
 * corrupt/ (the four directories themselves, tmp/, tls/ and the index are
 * not counted). Returns the sum, or -1 with errno.
 */
int64_t
queue_usage(struct queue *q)
{
	static const char *const dirs[] = {
		"new", "cur", "sessions", "corrupt",
	};
	struct stat	 st;
	size_t		 i;
	int64_t		 sum = 0, du;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (fstatat(q->rootfd, dirs[i], &st, AT_SYMLINK_NOFOLLOW) ==
		    -1) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		if ((du = queue_du(q->rootfd, dirs[i], 0)) == -1)
			return -1;
		sum += du - (int64_t)st.st_blocks * 512;
	}
	return sum;
}

static int
queue_strpcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* remove everything of one day; returns 0 or -1 (logged) */
static int
queue_remove_day(struct queue *q, const char *day)
{
	char	**cor, path[QUEUE_PATH_MAX], cday[QUEUE_DAY_LEN + 1];
	size_t	  i, n;
	int	  rc = 0;

	for (i = 0; i < QUEUE_RET_NDIRS; i++) {
		(void)bsnprintf(path, sizeof(path), "%s/%s", queue_ret_dirs[i],
		    day);
		if (queue_rmtree(q->rootfd, path) == -1 && errno != ENOENT) {
			log_warn("queue: retention cannot remove %s/%s; "
			    "remove it by hand", q->path, path);
			rc = -1;
		}
	}
	if (queue_list(q->rootfd, "corrupt", QUEUE_L_ID, &cor, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (queue_id_day(cor[i], cday) == -1 ||
		    strcmp(cday, day) != 0)
			continue;
		(void)bsnprintf(path, sizeof(path), "corrupt/%s", cor[i]);
		if (queue_rmtree(q->rootfd, path) == -1 && errno != ENOENT) {
			log_warn("queue: retention cannot remove %s/%s",
			    q->path, path);
			rc = -1;
		}
	}
	queue_list_free(cor, n);
	return rc;
}

/* the usage of one day (all its directories and corrupt entries) */
static int64_t
queue_day_usage(struct queue *q, const char *day, char **cor, size_t ncor)
{
	char	 path[QUEUE_PATH_MAX], cday[QUEUE_DAY_LEN + 1];
	size_t	 i;
	int64_t	 sum = 0, sub;

	for (i = 0; i < QUEUE_RET_NDIRS; i++) {
		(void)bsnprintf(path, sizeof(path), "%s/%s", queue_ret_dirs[i],
		    day);
		if ((sub = queue_du(q->rootfd, path, 0)) == -1)
			return -1;
		sum += sub;
	}
	for (i = 0; i < ncor; i++) {
		if (queue_id_day(cor[i], cday) == -1 ||
		    strcmp(cday, day) != 0)
			continue;
		(void)bsnprintf(path, sizeof(path), "corrupt/%s", cor[i]);
		if ((sub = queue_du(q->rootfd, path, 0)) == -1)
			return -1;
		sum += sub;
	}
	return sum;
}

/*
 * queue_retention -- enforce the limits, whole days at a time:
 * 1. max_age_days > 0: remove every day D with D < today - max_age_days
 *    (UTC), i.e. keep today and the max_age_days days before it;
 * 2. max_bytes > 0: while queue_usage() > max_bytes, remove the oldest
 *    remaining day, but never today's (it is being written; a warning
 *    says so when only today is left over the limit).
 * The days are the buckets under new/ cur/ sessions/ and the days of the
 * corrupt/ ids; removing a day removes all of them. cb(day, arg) is called
 * after each removed day (may be NULL). Returns the number of days
 * removed, or -1 with errno when the spool cannot be read.
 */
int
queue_retention(struct queue *q, long max_age_days, int64_t max_bytes,
    queue_retire_cb cb, void *arg)
{
	char	**days = NULL, **sub, **cor = NULL, today[QUEUE_DAY_LEN + 1];
	char	  cutoff[QUEUE_DAY_LEN + 1], cday[QUEUE_DAY_LEN + 1];
	struct timespec ts;
	int64_t	  total, du;
	size_t	  nd = 0, ns, ncor = 0, i, j, first = 0;
	int	  removed = 0, rc = -1, saved;

	for (i = 0; i < QUEUE_RET_NDIRS; i++) {
		if (queue_list(q->rootfd, queue_ret_dirs[i], QUEUE_L_DAY, &sub,
		    &ns) == -1)
			goto out;
		days = xreallocarray(days, nd + ns + 1, sizeof(*days));
		for (j = 0; j < ns; j++)
			days[nd++] = sub[j];
		free(sub);
	}
	if (queue_list(q->rootfd, "corrupt", QUEUE_L_ID, &cor, &ncor) == -1)
		goto out;
	days = xreallocarray(days, nd + ncor + 1, sizeof(*days));
	for (i = 0; i < ncor; i++)
		if (queue_id_day(cor[i], cday) == 0)
			days[nd++] = xstrdup(cday);
	if (nd > 1)
		qsort(days, nd, sizeof(*days), queue_strpcmp);
	/* unique */
	for (i = 0, j = 0; i < nd; i++) {
		if (j > 0 && strcmp(days[i], days[j - 1]) == 0) {
			free(days[i]);
			continue;
		}
		days[j++] = days[i];
	}
	nd = j;

	clock_gettime(CLOCK_REALTIME, &ts);
	queue_day_of(&ts, today);
	if (max_age_days > 0) {
		ts.tv_sec -= (time_t)max_age_days * 86400;
		queue_day_of(&ts, cutoff);
		for (; first < nd && strcmp(days[first], cutoff) < 0; first++) {
			if (queue_remove_day(q, days[first]) == -1)
				log_warnx("queue: retention day=%s removed in "
				    "part", days[first]);
			removed++;
			log_info("queue: retention removed day=%s reason=age",
			    days[first]);
			if (cb != NULL)
				cb(days[first], arg);
		}
	}
	if (max_bytes > 0) {
		if ((total = queue_usage(q)) == -1)
			goto out;
		for (; first < nd && total > max_bytes; first++) {
			if (strcmp(days[first], today) >= 0) {
				log_warnx("queue: spool uses %lld bytes, over "
				    "max %lld, with only today's data left; "
				    "raise the size limit or add disk",
				    (long long)total, (long long)max_bytes);
				break;
			}
			if ((du = queue_day_usage(q, days[first], cor, ncor)) ==
			    -1)
				goto out;
			if (queue_remove_day(q, days[first]) == -1)
				log_warnx("queue: retention day=%s removed in "
				    "part", days[first]);
			total -= du;
			removed++;
			log_info("queue: retention removed day=%s reason=size",
			    days[first]);
			if (cb != NULL)
				cb(days[first], arg);
		}
	}
	rc = removed;
out:
	saved = errno;
	queue_list_free(days, nd);
	queue_list_free(cor, ncor);
	errno = saved;
	return rc;
}
