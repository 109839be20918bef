/*
 * queue.c -- opening the spool, its layout, ids, recovery at start and the
 * directory helpers the other queue files share. Linked by every program.
 * Every path is relative to the root fd opened once in queue_open(), so
 * the library keeps working after the process chroots; no path is built
 * from an id or a day that has not been checked first.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
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

static const char *const queue_layout[] = {
	"tmp", "new", "cur", "corrupt", "sessions", "journal", "deleted",
};
#define QUEUE_NLAYOUT	(sizeof(queue_layout) / sizeof(queue_layout[0]))

static pthread_mutex_t	 queue_id_mtx = PTHREAD_MUTEX_INITIALIZER;
static uint64_t		 queue_id_last;	/* µs of the last id made here */

static int	 queue_mkdir_p(const char *path);
static int	 queue_chown_buckets(int rootfd, const char *dir, uid_t uid,
		    gid_t gid);
static int	 queue_namecmp(const void *a, const void *b);

/*
 * queue_seterr -- format a message into err (may be NULL).
 */
void
queue_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* mkdir -p for the spool root itself (the only absolute path we use) */
static int
queue_mkdir_p(const char *path)
{
	char	 tmp[4096], *p;

	if (strlcpy(tmp, path, sizeof(tmp)) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, QUEUE_DIR_MODE) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * A directory that holds files but no new/ is somebody else's (a
 * relative spool path resolved against the wrong directory, -s /var/spool):
 * creating the layout in it and giving it to the trap's user would take
 * it over. Empty, or only lost+found (a fresh file system): ours to use.
 */
static bool
queue_foreign(int fd)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	bool		 foreign = false;
	int		 dfd;

	if (fstatat(fd, "new", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return false;
	if ((dfd = dup(fd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		return false;	/* the layout's own checks will say more */
	}
	while (!foreign && (de = readdir(d)) != NULL)
		foreign = strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, "lost+found") != 0;
	closedir(d);
	return foreign;
}

/*
 * queue_open -- open the spool at path; with QUEUE_F_CREATE create the
 * directory and its layout (tmp new cur corrupt sessions) when missing.
 * Without it, the spool must exist and have new/ and cur/. A directory
 * that holds other files and no new/ is refused (queue_foreign()).
 * Returns the handle, or NULL with errno set and a message for the
 * operator in err (what failed and what to do).
 */
struct queue *
queue_open(const char *path, int flags, char *err, size_t errlen)
{
	struct queue	*q;
	struct stat	 st;
	size_t		 i;
	int		 fd, saved;

	if ((flags & QUEUE_F_CREATE) && queue_mkdir_p(path) == -1) {
		queue_seterr(err, errlen, "queue: cannot create spool directory "
		    "%s: %s; create it or fix ownership", path, strerror(errno));
		return NULL;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		queue_seterr(err, errlen, "queue: cannot open spool directory "
		    "%s: %s; %s", path, strerror(errno), errno == ENOENT ?
		    "start relaytrapd once or pass the right -s SPOOLDIR" :
		    "fix its ownership or permissions");
		return NULL;
	}
	if ((flags & QUEUE_F_CREATE) && queue_foreign(fd)) {
		queue_seterr(err, errlen, "queue: %s holds files and is not a "
		    "relaytrap spool (no new/); give relaytrapd a directory of "
		    "its own (spool, -s)", path);
		close(fd);
		errno = EEXIST;
		return NULL;
	}
	for (i = 0; i < QUEUE_NLAYOUT; i++) {
		if (flags & QUEUE_F_CREATE) {
			if (mkdirat(fd, queue_layout[i], QUEUE_DIR_MODE) ==
			    -1 && errno != EEXIST) {
				queue_seterr(err, errlen, "queue: cannot "
				    "create spool directory %s/%s: %s; create "
				    "it or fix ownership", path,
				    queue_layout[i], strerror(errno));
				goto fail;
			}
		} else if (strcmp(queue_layout[i], "new") != 0 &&
		    strcmp(queue_layout[i], "cur") != 0)
			continue;
		if (fstatat(fd, queue_layout[i], &st, AT_SYMLINK_NOFOLLOW) ==
		    -1)
			saved = errno;
		else if (!S_ISDIR(st.st_mode))
			saved = ENOTDIR;
		else
			continue;
		errno = saved;
		queue_seterr(err, errlen, "queue: %s is not a relaytrap spool "
		    "(%s/: %s); pass the right -s SPOOLDIR or start relaytrapd "
		    "once to create it", path, queue_layout[i], strerror(errno));
		goto fail;
	}
	q = xcalloc(1, sizeof(*q));
	q->rootfd = fd;
	q->lockfd = -1;
	q->path = xstrdup(path);
	return q;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return NULL;
}

/*
 * queue_close -- close the root fd and free q (NULL is fine). Committers
 * on q must be freed first.
 */
void
queue_close(struct queue *q)
{
	if (q == NULL)
		return;
	close(q->rootfd);
	if (q->lockfd != -1)
		close(q->lockfd);
	free(q->path);
	free(q);
}

/*
 * queue_rootfd -- the spool root directory fd (for the index, tls/ ...).
 */
int
queue_rootfd(const struct queue *q)
{
	return q->rootfd;
}

static int
queue_chown_buckets(int rootfd, const char *dir, uid_t uid, gid_t gid)
{
	char	**days, path[QUEUE_PATH_MAX];
	size_t	  n, i;
	int	  rc = 0;

	if (queue_list(rootfd, dir, QUEUE_L_DAY, &days, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (!bsnprintf(path, sizeof(path), "%s/%s", dir, days[i]))
			continue;
		if (fchownat(rootfd, path, uid, gid, AT_SYMLINK_NOFOLLOW) ==
		    -1) {
			log_warn("queue: cannot chown %s", path);
			rc = -1;
		}
	}
	queue_list_free(days, n);
	return rc;
}

/*
 * queue_chown -- give the spool root, the layout directories, existing day
 * buckets of new/ cur/ sessions/ and index.sqlite (with its -journal, -wal
 * and -shm) to uid:gid. Called as root before dropping privileges.
 * Entries inside buckets are not touched. Returns 0, or -1 after logging
 * each failure (errno of the last one).
 */
int
queue_chown(struct queue *q, uid_t uid, gid_t gid)
{
	static const char *const extra[] = {
		"index.sqlite", "index.sqlite-journal", "index.sqlite-wal",
		"index.sqlite-shm",
	};
	size_t	 i;
	int	 rc = 0, saved = 0;

	if (fchown(q->rootfd, uid, gid) == -1) {
		saved = errno;
		log_warn("queue: cannot chown spool %s; fix its ownership",
		    q->path);
		rc = -1;
	}
	for (i = 0; i < QUEUE_NLAYOUT; i++) {
		if (fchownat(q->rootfd, queue_layout[i], uid, gid,
		    AT_SYMLINK_NOFOLLOW) == -1 && errno != ENOENT) {
			saved = errno;
			log_warn("queue: cannot chown %s/%s", q->path,
			    queue_layout[i]);
			rc = -1;
		}
	}
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		if (fchownat(q->rootfd, extra[i], uid, gid,
		    AT_SYMLINK_NOFOLLOW) == -1 && errno != ENOENT) {
			saved = errno;
			log_warn("queue: cannot chown %s/%s", q->path,
			    extra[i]);
			rc = -1;
		}
	}
	if (queue_chown_buckets(q->rootfd, "new", uid, gid) == -1 ||
	    queue_chown_buckets(q->rootfd, "cur", uid, gid) == -1 ||
	    queue_chown_buckets(q->rootfd, "sessions", uid, gid) == -1) {
		saved = errno;
		rc = -1;
	}
	if (rc == -1)
		errno = saved;
	return rc;
}

/*
 * queue_lock -- take the spool for this relaytrapd: an exclusive flock()
 * on relaytrapd.lock, which then holds our pid. Two daemons on one spool
 * would purge each other's tmp/ and share the commit journal. The lock
 * lives as long as the descriptor, which the roles inherit, so it holds
 * until the last process of this daemon exits. Returns 0, or -1 with a
 * message in err (EWOULDBLOCK: another relaytrapd has it).
 */
int
queue_lock(struct queue *q, char *err, size_t errlen)
{
	char	 buf[32];
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = openat(q->rootfd, "relaytrapd.lock", O_RDWR | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, QUEUE_FILE_MODE)) == -1) {
		saved = errno;
		queue_seterr(err, errlen, "queue: cannot open %s/relaytrapd.lock:"
		    " %s; fix the spool's permissions", q->path,
		    strerror(saved));
		errno = saved;
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		saved = errno;
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		queue_seterr(err, errlen, "queue: spool %s is in use by another "
		    "relaytrapd (pid %s); stop it first, or give this one its "
		    "own spool (-s)", q->path, buf[0] ? buf : "unknown");
		close(fd);
		errno = saved;
		return -1;
	}
	q->lockfd = fd;
	queue_lock_pid(q);
	return 0;
}

/*
 * queue_in_use -- whether a relaytrapd holds the spool (queue_lock()):
 * for readers that must not read its files as if nothing wrote them.
 * A lock that cannot be checked counts as held.
 */
bool
queue_in_use(struct queue *q)
{
	int	 fd;
	bool	 held;

	if ((fd = openat(q->rootfd, "relaytrapd.lock", O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return errno != ENOENT;
	held = flock(fd, LOCK_SH | LOCK_NB) == -1;
	close(fd);		/* and our shared lock with it */
	return held;
}

/*
 * queue_lock_pid -- write this process's pid into the lock that
 * queue_lock() took: again after daemon(), whose fork leaves the lock
 * held (the descriptor is shared) but the pid written in it dead.
 */
void
queue_lock_pid(struct queue *q)
{
	char	 buf[32];
	int	 n;

	if (q->lockfd == -1)
		return;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	/* over the old pid, then cut: never an empty file to a reader */
	if (pwrite(q->lockfd, buf, (size_t)n, 0) != n ||
	    ftruncate(q->lockfd, n) == -1)
		log_warn("queue: cannot write %s/relaytrapd.lock", q->path);
}

/*
 * queue_recover -- purge what a crash left: every entry under tmp/
 * (messages being received) and '.'-prefixed temp files directly inside
 * the day buckets of new/ cur/ sessions/. Only the process that writes
 * tmp/ may call this, before it starts receiving.
 * Returns the number of tmp/ entries removed, or -1 with errno.
 */
int
queue_recover(struct queue *q)
{
	static const char *const dirs[] = { "new", "cur", "sessions" };
	char	**names, **days, path[QUEUE_PATH_MAX];
	size_t	  n, nd, i, j, k;
	int	  tmpfd, count = 0, rc = 0;
	DIR	 *d;
	struct dirent *de;

	if ((tmpfd = openat(q->rootfd, "tmp", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(tmpfd)) == NULL) {
		close(tmpfd);
		return -1;
	}
	/* collect first: removing while reading a directory is unspecified */
	names = NULL;
	n = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	for (i = 0; i < n; i++) {
		if (queue_rmtree(dirfd(d), names[i]) == -1) {
			log_warn("queue: cannot remove %s/tmp/%s; remove it "
			    "by hand", q->path, names[i]);
			rc = -1;
		} else
			count++;
	}
	queue_list_free(names, n);
	if (n > 0 && fsync(dirfd(d)) == -1)
		log_warn("queue: fsync %s/tmp", q->path);
	closedir(d);

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (queue_list(q->rootfd, dirs[i], QUEUE_L_DAY, &days, &nd) ==
		    -1)
			return -1;
		for (j = 0; j < nd; j++) {
			if (!bsnprintf(path, sizeof(path), "%s/%s", dirs[i],
			    days[j]) || queue_list(q->rootfd, path,
			    QUEUE_L_DOT, &names, &n) == -1)
				continue;
			for (k = 0; k < n; k++) {
				char	 f[QUEUE_PATH_MAX];

				if (bsnprintf(f, sizeof(f), "%s/%s", path,
				    names[k]) && queue_rmtree(q->rootfd, f) ==
				    -1)
					log_warn("queue: cannot remove %s/%s",
					    q->path, f);
			}
			queue_list_free(names, n);
		}
		queue_list_free(days, nd);
	}
	if (count > 0)
		log_info("queue: recovered spool=%s removed=%d from tmp/",
		    q->path, count);
	return rc == -1 && count == 0 ? -1 : count;
}

/*
 * queue_id_new -- a fresh id: 13 hex digits of µs since the epoch, then
 * 3 random hex digits (getrandom). Ids made by one process strictly
 * increase (a clash on the same µs takes the next µs). Thread-safe.
 */
void
queue_id_new(char id[QUEUE_ID_LEN + 1])
{
	struct timespec	 ts;
	uint64_t	 us;
	unsigned char	 rnd[2];
	unsigned int	 r;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	pthread_mutex_lock(&queue_id_mtx);
	if (us <= queue_id_last)
		us = queue_id_last + 1;
	queue_id_last = us;
	pthread_mutex_unlock(&queue_id_mtx);
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		r = (unsigned int)(ts.tv_nsec ^ getpid());	/* still unique */
	else
		r = (unsigned int)rnd[0] << 8 | rnd[1];
	us &= 0xfffffffffffffULL;				/* 52 bits */
	(void)snprintf(id, QUEUE_ID_LEN + 1, "%013llx%03x",
	    (unsigned long long)us, r & 0xfff);
}

/*
 * queue_id_valid -- true if id is exactly 16 lowercase hex digits.
 */
bool
queue_id_valid(const char *id)
{
	size_t	 i;

	if (id == NULL)
		return false;
	for (i = 0; i < QUEUE_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return id[QUEUE_ID_LEN] == '\0';
}

/*
 * queue_id_time -- the timestamp (µs precision) encoded in id.
 * Returns 0, or -1 with errno EINVAL for an invalid id.
 */
int
queue_id_time(const char *id, struct timespec *ts)
{
	uint64_t	 us = 0;
	size_t		 i;

	if (!queue_id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < 13; i++)
		us = us << 4 | (uint64_t)(id[i] <= '9' ? id[i] - '0' :
		    id[i] - 'a' + 10);
	ts->tv_sec = (time_t)(us / 1000000);
	ts->tv_nsec = (long)(us % 1000000) * 1000;
	return 0;
}

/*
 * queue_day_of -- the UTC day of ts as YYYYMMDD.
 */
void
queue_day_of(const struct timespec *ts, char day[QUEUE_DAY_LEN + 1])
{
	struct tm	 tm;
	time_t		 t = ts->tv_sec;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(day, QUEUE_DAY_LEN + 1, "%Y%m%d", &tm) != QUEUE_DAY_LEN)
		(void)strlcpy(day, "19700101", QUEUE_DAY_LEN + 1);
}

/*
 * queue_id_day -- the bucket (YYYYMMDD) of a valid id; -1 EINVAL if not.
 */
int
queue_id_day(const char *id, char day[QUEUE_DAY_LEN + 1])
{
	struct timespec	 ts;

	if (queue_id_time(id, &ts) == -1)
		return -1;
	queue_day_of(&ts, day);
	return 0;
}

/*
 * queue_day_valid -- true if day is 8 digits (a bucket name).
 */
bool
queue_day_valid(const char *day)
{
	size_t	 i;

	for (i = 0; i < QUEUE_DAY_LEN; i++)
		if (day[i] < '0' || day[i] > '9')
			return false;
	return day[QUEUE_DAY_LEN] == '\0';
}

/*
 * queue_name_valid -- true for a plain file name that later stages may
 * use beside a message: 1..64 chars of [A-Za-z0-9._-], not starting
 * with '.'.
 */
bool
queue_name_valid(const char *name)
{
	size_t	 i;

	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return false;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= 64)
			return false;
		if (!isalnum((unsigned char)name[i]) && name[i] != '.' &&
		    name[i] != '_' && name[i] != '-')
			return false;
	}
	return true;
}

static int
queue_namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * queue_list -- the names in rootfd/dir of one kind, sorted. A missing
 * directory is empty. Returns 0, or -1 with errno.
 */
int
queue_list(int rootfd, const char *dir, enum queue_list_kind kind,
    char ***names, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	char		 buf[QUEUE_ID_LEN + 1];
	size_t		 len;
	int		 fd;

	*names = NULL;
	*n = 0;
	if ((fd = openat(rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;

		switch (kind) {
		case QUEUE_L_DAY:
			if (!queue_day_valid(name))
				continue;
			break;
		case QUEUE_L_ID:
			if (!queue_id_valid(name))
				continue;
			break;
		case QUEUE_L_SESSION:
			len = strlen(name);
			if (len != QUEUE_ID_LEN + 5 ||
			    strcmp(name + QUEUE_ID_LEN, ".json") != 0)
				continue;
			memcpy(buf, name, QUEUE_ID_LEN);
			buf[QUEUE_ID_LEN] = '\0';
			if (!queue_id_valid(buf))
				continue;
			name = buf;
			break;
		case QUEUE_L_DOT:
			if (name[0] != '.' || strcmp(name, ".") == 0 ||
			    strcmp(name, "..") == 0)
				continue;
			break;
		}
		*names = xreallocarray(*names, *n + 1, sizeof(**names));
		(*names)[(*n)++] = xstrdup(name);
		errno = 0;
	}
	if (errno != 0) {
		int saved = errno;

		closedir(d);
		queue_list_free(*names, *n);
		*names = NULL;
		*n = 0;
		errno = saved;
		return -1;
	}
	closedir(d);
	if (*n > 1)
		qsort(*names, *n, sizeof(**names), queue_namecmp);
	return 0;
}

/*
 * queue_list_free -- free what queue_list() returned.
 */
void
queue_list_free(char **names, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int
queue_rmtree_depth(int pfd, const char *name, int depth)
{
	char	**names = NULL;
	size_t	  n = 0, i;
	DIR	 *d;
	struct dirent *de;
	int	  fd, rc = 0, saved = 0;

	if (unlinkat(pfd, name, 0) == 0)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	if (depth >= QUEUE_RMTREE_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	if ((fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	for (i = 0; i < n; i++)
		if (queue_rmtree_depth(dirfd(d), names[i], depth + 1) == -1 &&
		    errno != ENOENT) {
			saved = errno;
			rc = -1;
		}
	queue_list_free(names, n);
	closedir(d);
	if (rc == -1) {
		errno = saved;
		return -1;
	}
	return unlinkat(pfd, name, AT_REMOVEDIR);
}

/*
 * queue_rmtree -- remove dirfd/name, a file or a directory tree (depth
 * bounded, symlinks removed, never followed). Returns 0, or -1 with errno
 * (ENOENT if it did not exist).
 */
int
queue_rmtree(int pfd, const char *name)
{
	return queue_rmtree_depth(pfd, name, 0);
}

/*
 * queue_fsync_path -- fsync rootfd/path (a file or a directory).
 */
int
queue_fsync_path(int rootfd, const char *path)
{
	int	 fd, rc, saved;

	if ((fd = openat(rootfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/*
 * queue_write_all -- write n bytes, retrying short writes and EINTR.
 * Returns 0, or -1 with errno (ENOSPC, EDQUOT, EIO ...).
 */
int
queue_write_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * queue_read_fd -- the whole file open on fd, read with a few read(2)s
 * into a buffer sized by fstat (grown if the file grows meanwhile),
 * NUL-terminated; its length in *lenp. A file over max bytes is refused
 * with EFBIG. NULL with errno on any error; free() the result.
 */
char *
queue_read_fd(int fd, size_t max, size_t *lenp)
{
	struct stat st;
	char	*buf;
	size_t	 len = 0, cap;
	ssize_t	 n;
	int	 saved;

	if (fstat(fd, &st) == -1)
		return NULL;
	if ((uint64_t)st.st_size > max) {
		errno = EFBIG;
		return NULL;
	}
	cap = (size_t)st.st_size + 1;
	buf = xmalloc(cap);
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len > max) {
			free(buf);
			errno = EFBIG;
			return NULL;
		}
		if (len == cap) {
			cap *= 2;
			buf = xreallocarray(buf, 1, cap);
		}
	}
	if (n == -1) {
		saved = errno;
		free(buf);
		errno = saved;
		return NULL;
	}
	buf[len] = '\0';	/* len < cap: the loop grows a full buffer */
	*lenp = len;
	return buf;
}

/*
 * queue_json_loadfd -- parse the JSON file open on fd, read whole by
 * queue_read_fd() (jansson's json_loadfd reads one byte per call). Files
 * over QUEUE_JSON_MAX are refused. NULL with jerr->text on any error.
 */
json_t *
queue_json_loadfd(int fd, json_error_t *jerr)
{
	char	*buf;
	size_t	 len;
	json_t	*j;

	if ((buf = queue_read_fd(fd, QUEUE_JSON_MAX, &len)) == NULL) {
		memset(jerr, 0, sizeof(*jerr));
		(void)strlcpy(jerr->text, errno == EFBIG ?
		    "unreadable or too large" : strerror(errno),
		    sizeof(jerr->text));
		return NULL;
	}
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, jerr);
	free(buf);
	return j;
}
