/*
 * queue_tomb.c -- tombstones for deleted messages. `relaytrap queue
 * delete` removes a message's directory, but the commit journal may still
 * hold the message's record (until its segment retires), and a crash
 * would then bring it back at the next start. So a delete first makes
 * deleted/<id> durable; the journal replay skips (and removes from the
 * spool) what a tombstone names, and tombstones whose id the journal no
 * longer holds are dropped after the replay (docs/SPOOL.md).
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "queue.h"
#include "queue_priv.h"

#define QUEUE_TOMB_DIR	"deleted"

/*
 * queue_tomb_add -- make deleted/<id> durable (the directory is made if
 * an older spool lacks it, owned like the spool root). Returns 0, or -1
 * with errno.
 */
int
queue_tomb_add(struct queue *q, const char *id)
{
	struct stat	 st;
	char		 path[QUEUE_PATH_MAX];
	int		 fd;

	if (!queue_id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	if (mkdirat(q->rootfd, QUEUE_TOMB_DIR, QUEUE_DIR_MODE) == 0) {
		if (fstat(q->rootfd, &st) == 0 && fchownat(q->rootfd,
		    QUEUE_TOMB_DIR, st.st_uid, st.st_gid,
		    AT_SYMLINK_NOFOLLOW) == -1)
			log_warn("queue: cannot chown %s/%s", q->path,
			    QUEUE_TOMB_DIR);
	} else if (errno != EEXIST)
		return -1;
	(void)bsnprintf(path, sizeof(path), "%s/%s", QUEUE_TOMB_DIR, id);
	if ((fd = openat(q->rootfd, path, O_WRONLY | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, QUEUE_FILE_MODE)) == -1)
		return -1;
	close(fd);
	return queue_fsync_path(q->rootfd, QUEUE_TOMB_DIR);
}

/* queue_tomb_has -- whether message id was deleted (deleted/<id>) */
bool
queue_tomb_has(struct queue *q, const char *id)
{
	char	 path[QUEUE_PATH_MAX];

	if (!queue_id_valid(id))
		return false;
	(void)bsnprintf(path, sizeof(path), "%s/%s", QUEUE_TOMB_DIR, id);
	return faccessat(q->rootfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * queue_tomb_purge -- remove the tombstones for which keep(id, arg) is
 * false (the journal no longer holds their record). A message such a
 * tombstone names that is still in the spool (its removal was not yet
 * durable when the system went down) is removed first, and the removal
 * made durable, so that dropping the tombstone cannot bring it back.
 * Failures are logged and keep the tombstone; a tombstone left behind
 * costs nothing but its directory entry.
 */
void
queue_tomb_purge(struct queue *q, bool (*keep)(const char *, void *),
    void *arg)
{
	struct queue_entry e;
	struct dirent	*de;
	DIR		*d;
	char		 dir[QUEUE_PATH_MAX], **drop = NULL;
	size_t		 n = 0, i;
	bool		 removed = false;
	int		 fd, tries;

	if ((fd = openat(q->rootfd, QUEUE_TOMB_DIR, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!queue_id_valid(de->d_name) || keep(de->d_name, arg))
			continue;
		/* again if the worker moved it meanwhile (ENOENT) */
		for (tries = 0; tries < 3 && queue_find(q, de->d_name, &e) ==
		    0; tries++) {
			removed = true;
			if (queue_entry_dir(&e, dir, sizeof(dir)) == -1 ||
			    (queue_rmtree(q->rootfd, dir) == -1 &&
			    errno != ENOENT))
				break;
		}
		if (queue_find(q, de->d_name, &e) == 0) {
			log_warn("queue: cannot remove deleted id=%s",
			    de->d_name);
			continue;
		}
		drop = xreallocarray(drop, n + 1, sizeof(*drop));
		drop[n++] = xstrdup(de->d_name);
	}
	if (removed && queue_sync(q) == -1)
		log_warn("queue: sync %s; tombstones kept", q->path);
	else
		for (i = 0; i < n; i++)
			if (unlinkat(dirfd(d), drop[i], 0) == -1)
				log_warn("queue: cannot remove %s/%s/%s",
				    q->path, QUEUE_TOMB_DIR, drop[i]);
	queue_list_free(drop, n);
	closedir(d);
}
