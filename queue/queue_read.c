/*
 * queue_read.c -- finding, walking, loading and validating committed
 * messages, and the few changes later stages make to an entry: files
 * beside the message, new/ -> cur/, quarantine, delete. Used by the CLI
 * and the worker. The spool's files are our own but may be damaged:
 * envelopes are parsed and checked before anything is taken from them.
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

#include <openssl/evp.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "queue.h"
#include "queue_priv.h"

#define QUEUE_READ_CHUNK	(64 * 1024)

static int	 queue_isdir(int rootfd, const char *path);
static int	 queue_strpcmp(const void *a, const void *b);
static int	 queue_entry_path(const struct queue_entry *e,
		    const char *name, char *buf, size_t len);
static int	 queue_entcmp(const void *a, const void *b);
static int	 queue_walk_add(int rootfd, const char *dir, const char *day,
		    enum queue_state state, struct queue_entry **v, size_t *n);

static int
queue_isdir(int rootfd, const char *path)
{
	struct stat	 st;

	return fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode);
}

/*
 * queue_find -- locate message id: new/<day of id>/, cur/<day of id>/,
 * then every other bucket of new/ and cur/, then corrupt/.
 * Returns 0 and fills e, or -1 with errno EINVAL (invalid id) or ENOENT.
 */
int
queue_find(struct queue *q, const char *id, struct queue_entry *e)
{
	static const struct {
		const char		*dir;
		enum queue_state	 state;
	} where[] = {
		{ "new", QUEUE_ST_NEW },
		{ "cur", QUEUE_ST_CUR },
	};
	char	  day[QUEUE_DAY_LEN + 1], path[QUEUE_PATH_MAX], **days;
	size_t	  i, j, nd;

	if (queue_id_day(id, day) == -1)
		return -1;
	memset(e, 0, sizeof(*e));
	memcpy(e->id, id, QUEUE_ID_LEN + 1);
	for (i = 0; i < 2; i++) {
		(void)bsnprintf(path, sizeof(path), "%s/%s/%s", where[i].dir,
		    day, id);
		if (queue_isdir(q->rootfd, path)) {
			memcpy(e->day, day, sizeof(e->day));
			e->state = where[i].state;
			return 0;
		}
	}
	for (i = 0; i < 2; i++) {
		if (queue_list(q->rootfd, where[i].dir, QUEUE_L_DAY, &days,
		    &nd) == -1)
			return -1;
		for (j = 0; j < nd; j++) {
			if (strcmp(days[j], day) == 0)
				continue;
			(void)bsnprintf(path, sizeof(path), "%s/%s/%s",
			    where[i].dir, days[j], id);
			if (queue_isdir(q->rootfd, path)) {
				memcpy(e->day, days[j], sizeof(e->day));
				e->state = where[i].state;
				queue_list_free(days, nd);
				return 0;
			}
		}
		queue_list_free(days, nd);
	}
	(void)bsnprintf(path, sizeof(path), "corrupt/%s", id);
	if (queue_isdir(q->rootfd, path)) {
		e->state = QUEUE_ST_CORRUPT;
		return 0;
	}
	errno = ENOENT;
	return -1;
}

static int
queue_entcmp(const void *a, const void *b)
{
	const struct queue_entry *ea = a, *eb = b;
	int	 c;

	if ((c = strcmp(ea->id, eb->id)) != 0)
		return c;
	return (int)ea->state - (int)eb->state;
}

static int
queue_walk_add(int rootfd, const char *dir, const char *day,
    enum queue_state state, struct queue_entry **v, size_t *n)
{
	char	**ids, path[QUEUE_PATH_MAX];
	size_t	  nid, i;

	(void)bsnprintf(path, sizeof(path), "%s/%s", dir, day);
	if (queue_list(rootfd, path, QUEUE_L_ID, &ids, &nid) == -1)
		return -1;
	if (*n + nid > 0)	/* an empty bucket adds nothing */
		*v = xreallocarray(*v, *n + nid, sizeof(**v));
	for (i = 0; i < nid; i++) {
		struct queue_entry *e = &(*v)[(*n)++];

		memset(e, 0, sizeof(*e));
		memcpy(e->id, ids[i], sizeof(e->id));
		memcpy(e->day, day, sizeof(e->day));
		e->state = state;
	}
	queue_list_free(ids, nid);
	return 0;
}

static int
queue_strpcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * queue_walk -- call cb for every entry in the given states, in id order
 * across states (day by day; corrupt entries sort in by their id's day,
 * and have day ""). Dot-files and names that are not ids are skipped.
 * A non-zero return from cb stops the walk and is returned; otherwise
 * returns 0, or -1 with errno if a directory cannot be read.
 */
int
queue_walk(struct queue *q, int states, queue_walk_cb cb, void *arg)
{
	char	**dn = NULL, **dc = NULL, **cor = NULL, **days = NULL;
	char	 (*cday)[QUEUE_DAY_LEN + 1] = NULL;
	size_t	  nn = 0, nc = 0, ncor = 0, nd = 0, i, j, n;
	struct queue_entry *v = NULL;
	int	  rc = -1, saved;

	if (((states & QUEUE_ST_NEW) &&
	    queue_list(q->rootfd, "new", QUEUE_L_DAY, &dn, &nn) == -1) ||
	    ((states & QUEUE_ST_CUR) &&
	    queue_list(q->rootfd, "cur", QUEUE_L_DAY, &dc, &nc) == -1) ||
	    ((states & QUEUE_ST_CORRUPT) &&
	    queue_list(q->rootfd, "corrupt", QUEUE_L_ID, &cor, &ncor) == -1))
		goto out;
	cday = xreallocarray(NULL, ncor + 1, sizeof(*cday));
	for (i = 0; i < ncor; i++)
		(void)queue_id_day(cor[i], cday[i]);

	/* the union of the days, sorted, without duplicates */
	days = xreallocarray(NULL, nn + nc + ncor + 1, sizeof(*days));
	for (i = 0; i < nn; i++)
		days[nd++] = dn[i];
	for (i = 0; i < nc; i++)
		days[nd++] = dc[i];
	for (i = 0; i < ncor; i++)
		days[nd++] = cday[i];
	qsort(days, nd, sizeof(*days), queue_strpcmp);

	rc = 0;
	for (i = 0; i < nd && rc == 0; i++) {
		if (i > 0 && strcmp(days[i], days[i - 1]) == 0)
			continue;
		n = 0;
		if (((states & QUEUE_ST_NEW) && queue_walk_add(q->rootfd,
		    "new", days[i], QUEUE_ST_NEW, &v, &n) == -1) ||
		    ((states & QUEUE_ST_CUR) && queue_walk_add(q->rootfd,
		    "cur", days[i], QUEUE_ST_CUR, &v, &n) == -1)) {
			rc = -1;
			break;
		}
		for (j = 0; j < ncor; j++) {
			if (strcmp(cday[j], days[i]) != 0)
				continue;
			v = xreallocarray(v, n + 1, sizeof(*v));
			memset(&v[n], 0, sizeof(v[n]));
			memcpy(v[n].id, cor[j], sizeof(v[n].id));
			v[n++].state = QUEUE_ST_CORRUPT;
		}
		if (n > 1)
			qsort(v, n, sizeof(*v), queue_entcmp);
		for (j = 0; j < n && rc == 0; j++)
			rc = cb(&v[j], arg);
	}
out:
	saved = errno;
	queue_list_free(dn, nn);
	queue_list_free(dc, nc);
	queue_list_free(cor, ncor);
	free(cday);
	free(days);
	free(v);
	errno = saved;
	return rc;
}

/*
 * queue_entry_dir -- the entry's directory relative to the spool root:
 * "new/<day>/<id>", "cur/<day>/<id>" or "corrupt/<id>".
 * Returns 0, or -1 with errno EINVAL (bad id, day or state) or
 * ENAMETOOLONG.
 */
int
queue_entry_dir(const struct queue_entry *e, char *buf, size_t len)
{
	bool	 ok;

	if (!queue_id_valid(e->id)) {
		errno = EINVAL;
		return -1;
	}
	switch (e->state) {
	case QUEUE_ST_NEW:
	case QUEUE_ST_CUR:
		if (!queue_day_valid(e->day)) {
			errno = EINVAL;
			return -1;
		}
		ok = bsnprintf(buf, len, "%s/%s/%s",
		    e->state == QUEUE_ST_NEW ? "new" : "cur", e->day, e->id);
		break;
	case QUEUE_ST_CORRUPT:
		ok = bsnprintf(buf, len, "corrupt/%s", e->id);
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (!ok) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* "<entry dir>/<name>" with name checked; "" name gives the dir itself */
static int
queue_entry_path(const struct queue_entry *e, const char *name, char *buf,
    size_t len)
{
	char	 dir[QUEUE_PATH_MAX];

	if (queue_entry_dir(e, dir, sizeof(dir)) == -1)
		return -1;
	if (strcmp(name, "message") != 0 && strcmp(name, "envelope.json") !=
	    0 && !queue_name_valid(name)) {
		errno = EINVAL;
		return -1;
	}
	if (!bsnprintf(buf, len, "%s/%s", dir, name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * queue_open_file -- openat(root, "<entry dir>/<name>", flags) with
 * O_CLOEXEC|O_NOFOLLOW added and mode 0640 for O_CREAT. name must be a
 * plain name ([A-Za-z0-9._-], not starting with '.', at most 64).
 * A reader (no O_CREAT) of an entry found in new/ also looks in cur/ of
 * the same day, because the worker may have moved it since it was found.
 * Returns the fd, or -1 with errno (EINVAL for a bad name).
 */
int
queue_open_file(struct queue *q, const struct queue_entry *e,
    const char *name, int flags)
{
	struct queue_entry moved;
	char	 path[QUEUE_PATH_MAX];
	int	 fd;

	if (queue_entry_path(e, name, path, sizeof(path)) == -1)
		return -1;
	fd = openat(q->rootfd, path, flags | O_CLOEXEC | O_NOFOLLOW,
	    QUEUE_FILE_MODE);
	if (fd != -1 || errno != ENOENT || e->state != QUEUE_ST_NEW ||
	    (flags & O_CREAT))
		return fd;
	moved = *e;
	moved.state = QUEUE_ST_CUR;
	if (queue_entry_path(&moved, name, path, sizeof(path)) == -1)
		return -1;
	return openat(q->rootfd, path, flags | O_CLOEXEC | O_NOFOLLOW,
	    QUEUE_FILE_MODE);
}

/*
 * queue_file_bad -- whether errno e, from opening or reading one of an
 * entry's files, says the entry itself is bad (the file is missing, is a
 * symbolic link, never followed, or a directory) rather than a resource
 * failure.
 */
bool
queue_file_bad(int e)
{
	return e == ENOENT || e == ELOOP || e == EISDIR;
}

/*
 * queue_envelope_load -- parse the entry's envelope.json and check that it
 * is an object with "version" 1 and "id" equal to the entry's id.
 * Returns a new reference, or NULL with errno (EBADMSG when the file is
 * missing or wrong) and the reason in err.
 */
json_t *
queue_envelope_load(struct queue *q, const struct queue_entry *e,
    char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*env, *v;
	int		 fd, saved;

	if ((fd = queue_open_file(q, e, "envelope.json", O_RDONLY)) == -1) {
		saved = errno;
		queue_seterr(err, errlen, "envelope.json: %s",
		    strerror(saved));
		errno = queue_file_bad(saved) ? EBADMSG : saved;
		return NULL;
	}
	env = queue_json_loadfd(fd, &jerr);
	close(fd);
	if (env == NULL) {
		queue_seterr(err, errlen, "envelope.json: line %d: %s",
		    jerr.line, jerr.text);
		errno = EBADMSG;
		return NULL;
	}
	if (!json_is_object(env)) {
		queue_seterr(err, errlen, "envelope.json: not an object");
		goto bad;
	}
	v = json_object_get(env, "version");
	if (!json_is_integer(v) || json_integer_value(v) !=
	    QUEUE_ENVELOPE_VERSION) {
		queue_seterr(err, errlen, "envelope.json: version is not %d",
		    QUEUE_ENVELOPE_VERSION);
		goto bad;
	}
	v = json_object_get(env, "id");
	if (!json_is_string(v) || strcmp(json_string_value(v), e->id) != 0) {
		queue_seterr(err, errlen, "envelope.json: id does not match "
		    "the directory %s", e->id);
		goto bad;
	}
	return env;
bad:
	json_decref(env);
	errno = EBADMSG;
	return NULL;
}

/*
 * queue_validate -- check the entry: the envelope loads (see above) and
 * "message" has the envelope's "size" and "sha256". Returns 0, or -1 with
 * the reason in err and errno EBADMSG when the entry itself is bad (the
 * caller quarantines it), or another errno for a resource failure
 * (EMFILE, ENOMEM, EIO: retry later, do not quarantine).
 */
int
queue_validate(struct queue *q, const struct queue_entry *e, char *err,
    size_t errlen)
{
	unsigned char	*buf, md[EVP_MAX_MD_SIZE];
	char		 hex[2 * 32 + 1];
	json_t		*env, *jsize, *jsha;
	EVP_MD_CTX	*ctx;
	uint64_t	 size = 0;
	unsigned int	 mdlen, i;
	ssize_t		 r;
	int		 fd, saved;

	if ((env = queue_envelope_load(q, e, err, errlen)) == NULL)
		return -1;
	jsize = json_object_get(env, "size");
	jsha = json_object_get(env, "sha256");
	if (!json_is_integer(jsize) || json_integer_value(jsize) < 0 ||
	    !json_is_string(jsha) || strlen(json_string_value(jsha)) != 64) {
		queue_seterr(err, errlen, "envelope.json: size or sha256 "
		    "missing or malformed");
		json_decref(env);
		errno = EBADMSG;
		return -1;
	}
	if ((fd = queue_open_file(q, e, "message", O_RDONLY)) == -1) {
		saved = errno;
		queue_seterr(err, errlen, "message: %s", strerror(saved));
		json_decref(env);
		errno = queue_file_bad(saved) ? EBADMSG : saved;
		return -1;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		fatalx("queue: cannot initialise SHA-256 (OpenSSL)");
	buf = xmalloc(QUEUE_READ_CHUNK);
	for (;;) {
		if ((r = read(fd, buf, QUEUE_READ_CHUNK)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1)
			fatalx("queue: SHA-256 update failed (OpenSSL)");
		size += (uint64_t)r;
	}
	saved = errno;
	free(buf);
	close(fd);
	if (r == -1) {
		EVP_MD_CTX_free(ctx);
		json_decref(env);
		queue_seterr(err, errlen, "message: read: %s",
		    strerror(saved));
		errno = queue_file_bad(saved) ? EBADMSG : saved;
		return -1;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		fatalx("queue: SHA-256 final failed (OpenSSL)");
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < mdlen; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (size != (uint64_t)json_integer_value(jsize)) {
		queue_seterr(err, errlen, "message: size %llu, envelope says "
		    "%lld", (unsigned long long)size,
		    (long long)json_integer_value(jsize));
		goto bad;
	}
	if (strcmp(hex, json_string_value(jsha)) != 0) {
		queue_seterr(err, errlen, "message: sha256 %s, envelope says "
		    "%.64s", hex, json_string_value(jsha));
		goto bad;
	}
	json_decref(env);
	return 0;
bad:
	json_decref(env);
	errno = EBADMSG;
	return -1;
}

/*
 * queue_write_file -- write name beside the message atomically: temp
 * file ".<name>.tmp" in the entry dir, fsync, rename, fsync the dir.
 * "message" and "envelope.json" are refused (EPERM); one writer per
 * (entry, name) at a time. Returns 0, or -1 with errno, temp removed.
 */
int
queue_write_file(struct queue *q, const struct queue_entry *e,
    const char *name, const void *data, size_t len)
{
	return queue_write_file_flags(q, e, name, data, len, 0);
}

/*
 * queue_write_file_flags -- queue_write_file() with flags: QUEUE_W_NOSYNC
 * skips the fsyncs, for derived data a caller makes durable in bulk
 * (queue_sync()) or can recompute (analysis.json).
 */
int
queue_write_file_flags(struct queue *q, const struct queue_entry *e,
    const char *name, const void *data, size_t len, int flags)
{
	char	 dir[QUEUE_PATH_MAX], tmp[QUEUE_PATH_MAX], dst[QUEUE_PATH_MAX];
	int	 fd, saved;

	if (strcmp(name, "message") == 0 || strcmp(name, "envelope.json") ==
	    0) {
		errno = EPERM;
		return -1;
	}
	if (queue_entry_path(e, name, dst, sizeof(dst)) == -1 ||
	    queue_entry_dir(e, dir, sizeof(dir)) == -1)
		return -1;
	if (!bsnprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = openat(q->rootfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, QUEUE_FILE_MODE);
	if (fd == -1)
		return -1;
	if (queue_write_all(fd, data, len) == -1 ||
	    (!(flags & QUEUE_W_NOSYNC) && fsync(fd) == -1)) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) == -1 || renameat(q->rootfd, tmp, q->rootfd, dst) ==
	    -1) {
		saved = errno;
		goto fail;
	}
	if (!(flags & QUEUE_W_NOSYNC) && queue_fsync_path(q->rootfd, dir) == -1)
		return -1;
	return 0;
fail:
	(void)unlinkat(q->rootfd, tmp, 0);
	errno = saved;
	return -1;
}

/*
 * queue_move_cur -- move a new/ entry to cur/<same day>/ (durably: the
 * cur/ bucket and new/ bucket are fsynced) and update e.
 * Returns 0, or -1 with errno (EINVAL if e is not in new/).
 */
int
queue_move_cur(struct queue *q, struct queue_entry *e)
{
	return queue_move_cur_flags(q, e, 0);
}

/*
 * queue_move_cur_flags -- queue_move_cur(); QUEUE_W_NOSYNC leaves the
 * buckets' fsync to a later queue_sync() (a move lost in a crash only
 * means the message is analyzed again).
 */
int
queue_move_cur_flags(struct queue *q, struct queue_entry *e, int flags)
{
	char	 src[QUEUE_PATH_MAX], dst[QUEUE_PATH_MAX];
	struct queue_entry to = *e;
	int	 created = 0;

	if (e->state != QUEUE_ST_NEW) {
		errno = EINVAL;
		return -1;
	}
	to.state = QUEUE_ST_CUR;
	if (queue_entry_dir(e, src, sizeof(src)) == -1 ||
	    queue_entry_dir(&to, dst, sizeof(dst)) == -1)
		return -1;
	/* the day's bucket in cur/ exists but for the day's first message */
	if (renameat(q->rootfd, src, q->rootfd, dst) == -1) {
		if (errno != ENOENT)
			return -1;
		(void)bsnprintf(dst, sizeof(dst), "cur/%s", e->day);
		if (mkdirat(q->rootfd, dst, QUEUE_DIR_MODE) == 0)
			created = 1;
		else if (errno != EEXIST)
			return -1;
		if (created && queue_fsync_path(q->rootfd, "cur") == -1)
			return -1;
		(void)queue_entry_dir(&to, dst, sizeof(dst));
		if (renameat(q->rootfd, src, q->rootfd, dst) == -1)
			return -1;
	}
	e->state = QUEUE_ST_CUR;
	if (flags & QUEUE_W_NOSYNC)
		return 0;
	(void)bsnprintf(dst, sizeof(dst), "cur/%s", e->day);
	(void)bsnprintf(src, sizeof(src), "new/%s", e->day);
	if (queue_fsync_path(q->rootfd, dst) == -1 ||
	    queue_fsync_path(q->rootfd, src) == -1)
		return -1;
	return 0;
}

/*
 * queue_sync -- make everything written to the spool so far durable
 * (one syncfs, or fsync of the root if syncfs fails). 0 or -1.
 */
int
queue_sync(struct queue *q)
{
	if (syncfs(q->rootfd) == 0)
		return 0;
	return fsync(q->rootfd);
}

/*
 * queue_quarantine -- move the entry to corrupt/<id>/ with a "reason"
 * file (written first, atomically, so the entry never arrives without
 * it). e is updated (state CORRUPT, day ""). On an entry already in
 * corrupt/ only the reason is rewritten. Returns 0, or -1 with errno
 * (EEXIST if corrupt/<id> exists already).
 */
int
queue_quarantine(struct queue *q, struct queue_entry *e, const char *reason)
{
	char	 src[QUEUE_PATH_MAX], dst[QUEUE_PATH_MAX], *text;
	char	 esc[LOG_ESC_MAX];
	struct queue_entry to = *e;
	size_t	 len;
	int	 rc;

	xasprintf(&text, "%s\n", reason != NULL ? reason : "unknown");
	len = strlen(text);
	rc = queue_write_file(q, e, "reason", text, len);
	free(text);
	if (rc == -1 || e->state == QUEUE_ST_CORRUPT)
		return rc;
	to.state = QUEUE_ST_CORRUPT;
	to.day[0] = '\0';
	if (queue_entry_dir(e, src, sizeof(src)) == -1 ||
	    queue_entry_dir(&to, dst, sizeof(dst)) == -1)
		return -1;
	if (renameat2(q->rootfd, src, q->rootfd, dst, RENAME_NOREPLACE) ==
	    -1) {
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
		if (queue_isdir(q->rootfd, dst)) {
			errno = EEXIST;
			return -1;
		}
		if (renameat(q->rootfd, src, q->rootfd, dst) == -1)
			return -1;
	}
	(void)bsnprintf(src, sizeof(src), "%s/%s",
	    e->state == QUEUE_ST_NEW ? "new" : "cur", e->day);
	if (queue_fsync_path(q->rootfd, "corrupt") == -1 ||
	    queue_fsync_path(q->rootfd, src) == -1)
		log_warn("queue: quarantine id=%s: fsync", e->id);
	log_info("%s queue quarantined reason=%s", e->id, log_esc(reason,
	    reason != NULL ? strlen(reason) : 0, esc, sizeof(esc)));
	*e = to;
	return 0;
}

/*
 * queue_delete -- remove the entry's directory with everything in it.
 * Its tombstone deleted/<id> is made durable first, so that neither a
 * crash before the removal reaches the disk nor the commit journal's copy
 * brings the message back (queue_tomb.c); the removal is made durable
 * (fsync of the bucket) before returning. Returns 0, or -1 with errno.
 */
int
queue_delete(struct queue *q, const struct queue_entry *e)
{
	char	 dir[QUEUE_PATH_MAX], *slash;

	if (queue_entry_dir(e, dir, sizeof(dir)) == -1 ||
	    queue_tomb_add(q, e->id) == -1 ||
	    queue_rmtree(q->rootfd, dir) == -1)
		return -1;
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	return queue_fsync_path(q->rootfd, dir);
}

/*
 * queue_file_json -- parse the JSON file <name> beside message e (e.g.
 * "relaytest.json", written by a later stage). Returns a new reference,
 * or NULL with errno: ENOENT when the stage has not written it yet,
 * EBADMSG when it does not parse (reason in err).
 */
json_t *
queue_file_json(struct queue *q, const struct queue_entry *e,
    const char *name, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*j;
	int		 fd, saved;

	if ((fd = queue_open_file(q, e, name, O_RDONLY)) == -1) {
		saved = errno;
		queue_seterr(err, errlen, "%s: %s", name, strerror(saved));
		errno = saved;
		return NULL;
	}
	j = queue_json_loadfd(fd, &jerr);
	close(fd);
	if (j == NULL) {
		queue_seterr(err, errlen, "%s: line %d: %s", name, jerr.line,
		    jerr.text);
		errno = EBADMSG;
	}
	return j;
}

/*
 * queue_read_file -- file <name> of message e ("message" included) read
 * whole and NUL-terminated, its length in *lenp. NULL with errno; free()
 * the result.
 */
char *
queue_read_file(struct queue *q, const struct queue_entry *e,
    const char *name, size_t *lenp)
{
	char	*buf;
	int	 fd, saved;

	if ((fd = queue_open_file(q, e, name, O_RDONLY)) == -1)
		return NULL;
	buf = queue_read_fd(fd, SIZE_MAX - 1, lenp);
	saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

/*
 * queue_remove_file -- remove file <name> beside message e (a later
 * stage's marker). Never "message" or "envelope.json". 0, or -1 with errno
 * (ENOENT when it is not there).
 */
int
queue_remove_file(struct queue *q, const struct queue_entry *e,
    const char *name)
{
	char	 dir[QUEUE_PATH_MAX], path[QUEUE_PATH_MAX];

	if (!queue_name_valid(name) || strcmp(name, "message") == 0 ||
	    strcmp(name, "envelope.json") == 0 ||
	    queue_entry_dir(e, dir, sizeof(dir)) == -1) {
		errno = EPERM;
		return -1;
	}
	(void)bsnprintf(path, sizeof(path), "%s/%s", dir, name);
	return unlinkat(q->rootfd, path, 0);
}
