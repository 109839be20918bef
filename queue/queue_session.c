/*
 * queue_session.c -- one JSON record per SMTP session under
 * sessions/<day of the session id>/<id>.json, written when the session
 * ends (also for sessions that never sent a message), read by the CLI
 * and the index.
 *
 * Records are written atomically (temp file, rename) but NOT fsynced:
 * a session record is not something a client waits for, and the
 * committer's next syncfs() of the same filesystem makes it durable with
 * the next batch of messages. A crash can lose the last records; it can
 * never leave a half-written one under its final name.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "queue.h"
#include "queue_priv.h"

/*
 * queue_session_write -- store rec (borrowed; "id" is set to id when
 * missing) as sessions/<day>/<id>.json via ".<id>.tmp" and rename,
 * replacing an older record of the same session. No fsync (see above).
 * Returns 0, or -1 with errno (EINVAL for a bad id, ENOSPC ...), no
 * temp file left behind.
 */
int
queue_session_write(struct queue *q, const char *id, json_t *rec)
{
	char	*js;
	size_t	 len;
	int	 rc, saved;

	if ((js = queue_session_dump(id, rec, &len)) == NULL)
		return -1;
	rc = queue_session_store(q, id, js, len);
	saved = errno;
	free(js);
	errno = saved;
	return rc;
}

/*
 * queue_session_dump -- the record's file content (compact JSON and a
 * newline), with "id" set when missing. NULL with errno EINVAL/ENOMEM.
 */
char *
queue_session_dump(const char *id, json_t *rec, size_t *lenp)
{
	char	 day[QUEUE_DAY_LEN + 1], *js;
	size_t	 len;

	if (queue_id_day(id, day) == -1 || !json_is_object(rec)) {
		errno = EINVAL;
		return NULL;
	}
	if (json_object_get(rec, "id") == NULL)
		json_object_set_new(rec, "id", json_string(id));
	if ((js = json_dumps(rec, JSON_COMPACT)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	len = strlen(js);
	js = xreallocarray(js, len + 2, 1);
	js[len++] = '\n';
	js[len] = '\0';
	*lenp = len;
	return js;
}

/*
 * queue_session_store -- write len bytes as sessions/<day>/<id>.json via
 * ".<id>.tmp" and rename. No fsync. 0, or -1 with errno and no temp file.
 */
int
queue_session_store(struct queue *q, const char *id, const char *js,
    size_t len)
{
	char	 day[QUEUE_DAY_LEN + 1], tmp[QUEUE_PATH_MAX];
	char	 dst[QUEUE_PATH_MAX];
	int	 fd, saved;

	if (queue_id_day(id, day) == -1) {
		errno = EINVAL;
		return -1;
	}
	(void)bsnprintf(tmp, sizeof(tmp), "sessions/%s/.%s.tmp", day, id);
	(void)bsnprintf(dst, sizeof(dst), "sessions/%s/%s.json", day, id);
	fd = openat(q->rootfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, QUEUE_FILE_MODE);
	if (fd == -1 && errno == ENOENT) {
		(void)bsnprintf(dst, sizeof(dst), "sessions/%s", day);
		if (mkdirat(q->rootfd, dst, QUEUE_DIR_MODE) == -1 &&
		    errno != EEXIST)
			return -1;
		(void)bsnprintf(dst, sizeof(dst), "sessions/%s/%s.json", day,
		    id);
		fd = openat(q->rootfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC | O_NOFOLLOW, QUEUE_FILE_MODE);
	}
	if (fd == -1)
		return -1;
	if (queue_write_all(fd, js, len) == -1) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) == -1 || renameat(q->rootfd, tmp, q->rootfd, dst) ==
	    -1) {
		saved = errno;
		goto fail;
	}
	return 0;
fail:
	(void)unlinkat(q->rootfd, tmp, 0);
	errno = saved;
	return -1;
}

/*
 * queue_session_load -- parse sessions/<day>/<id>.json. Returns a new
 * reference, or NULL with errno (EINVAL bad id, ENOENT, EBADMSG when it
 * does not parse or is not an object) and the reason in err.
 */
json_t *
queue_session_load(struct queue *q, const char *id, char *err,
    size_t errlen)
{
	char		 day[QUEUE_DAY_LEN + 1], path[QUEUE_PATH_MAX];
	json_error_t	 jerr;
	json_t		*rec;
	int		 fd, saved;

	if (queue_id_day(id, day) == -1) {
		queue_seterr(err, errlen, "invalid session id");
		errno = EINVAL;
		return NULL;
	}
	(void)bsnprintf(path, sizeof(path), "sessions/%s/%s.json", day, id);
	if ((fd = openat(q->rootfd, path, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		saved = errno;
		queue_seterr(err, errlen, "%s: %s", path, strerror(saved));
		errno = saved;
		return NULL;
	}
	rec = queue_json_loadfd(fd, &jerr);
	close(fd);
	if (rec == NULL) {
		queue_seterr(err, errlen, "%s: line %d: %s", path, jerr.line,
		    jerr.text);
		errno = EBADMSG;
		return NULL;
	}
	if (!json_is_object(rec)) {
		json_decref(rec);
		queue_seterr(err, errlen, "%s: not an object", path);
		errno = EBADMSG;
		return NULL;
	}
	return rec;
}

/*
 * queue_session_walk -- call cb(id, day, arg) for every session record,
 * sorted by day then id; temp files and other names are skipped. A
 * non-zero return from cb stops the walk and is returned; otherwise
 * returns 0, or -1 with errno.
 */
int
queue_session_walk(struct queue *q, queue_session_cb cb, void *arg)
{
	char	**days, **ids, path[QUEUE_PATH_MAX];
	size_t	  nd, n, i, j;
	int	  rc = 0;

	if (queue_list(q->rootfd, "sessions", QUEUE_L_DAY, &days, &nd) == -1)
		return -1;
	for (i = 0; i < nd && rc == 0; i++) {
		(void)bsnprintf(path, sizeof(path), "sessions/%s", days[i]);
		if (queue_list(q->rootfd, path, QUEUE_L_SESSION, &ids, &n) ==
		    -1) {
			rc = -1;
			break;
		}
		for (j = 0; j < n && rc == 0; j++)
			rc = cb(ids[j], days[i], arg);
		queue_list_free(ids, n);
	}
	queue_list_free(days, nd);
	return rc;
}
