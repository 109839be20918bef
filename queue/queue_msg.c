/*
 * queue_msg.c -- receiving one message (SMTP role, milter). Runs on the
 * event-loop thread, so nothing here fsyncs, and a message of ordinary
 * size never touches the disk here at all: its bytes stay in memory until
 * the committer thread writes tmp/<id>/ and makes it durable
 * (queue_commit.c). A message larger than QUEUE_MEM_MSG_MAX, or one that
 * arrives while QUEUE_MEM_BUDGET bytes are already held, is spilled to
 * tmp/<id>/message and streamed there through a 64 KiB buffer. The bytes
 * are the client's DATA as they are; the envelope is the caller's json,
 * dumped by jansson.
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

#define QUEUE_NEW_TRIES	8	/* EEXIST retries with a fresh id */

static int	 queue_msg_flush(struct queue_msg *m);

static void
mem_account(struct queue *q, ssize_t delta)
{
	__atomic_add_fetch(&q->membytes, (size_t)delta, __ATOMIC_RELAXED);
}

/*
 * queue_msg_new -- start a message with a fresh id. Nothing is created
 * on disk yet. Returns the writer (never NULL today; callers still check,
 * as a spool backend may fail here with errno).
 */
struct queue_msg *
queue_msg_new(struct queue *q)
{
	struct queue_msg *m;

	m = xcalloc(1, sizeof(*m));
	m->q = q;
	queue_id_new(m->id);
	m->fd = -1;
	if ((m->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(m->md, EVP_sha256(), NULL) != 1)
		fatalx("queue: cannot initialise SHA-256 (OpenSSL)");
	return m;
}

/*
 * queue_msg_materialize -- create tmp/<id>/ (a fresh id on EEXIST if
 * may_rename, i.e. before the envelope names the id).
 * Returns 0, or -1 with errno (ENOSPC, EDQUOT, EACCES, EROFS ...).
 */
int
queue_msg_materialize(struct queue_msg *m, bool may_rename)
{
	char	 path[QUEUE_PATH_MAX];
	int	 tries;

	for (tries = 0; ; tries++) {
		(void)bsnprintf(path, sizeof(path), "tmp/%s", m->id);
		if (mkdirat(m->q->rootfd, path, QUEUE_DIR_MODE) == 0)
			return 0;
		if (errno != EEXIST || !may_rename || tries >= QUEUE_NEW_TRIES)
			return -1;
		queue_id_new(m->id);
	}
}

/* move the in-memory content to tmp/<id>/message and stream from now on */
static int
queue_msg_spill(struct queue_msg *m)
{
	char	 path[QUEUE_PATH_MAX];
	int	 saved;

	if (queue_msg_materialize(m, true) == -1) {
		m->error = errno;
		return -1;
	}
	m->spilled = true;
	m->streamed = true;
	(void)bsnprintf(path, sizeof(path), "tmp/%s/message", m->id);
	m->fd = openat(m->q->rootfd, path, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, QUEUE_FILE_MODE);
	if (m->fd == -1 || queue_write_all(m->fd, m->mem, m->memlen) == -1) {
		saved = errno;
		m->error = saved;
		errno = saved;
		return -1;
	}
	mem_account(m->q, -(ssize_t)m->memlen);
	free(m->mem);
	m->mem = NULL;
	m->memlen = m->memcap = 0;
	return 0;
}

/*
 * queue_msg_id -- the id of m (valid until m is freed).
 */
const char *
queue_msg_id(const struct queue_msg *m)
{
	return m->id;
}

static int
queue_msg_flush(struct queue_msg *m)
{
	if (m->buflen == 0)
		return 0;
	if (EVP_DigestUpdate(m->md, m->buf, m->buflen) != 1)
		fatalx("queue: SHA-256 update failed (OpenSSL)");
	if (queue_write_all(m->fd, m->buf, m->buflen) == -1) {
		m->error = errno;
		return -1;
	}
	m->buflen = 0;
	return 0;
}

/* keep n more bytes in memory if this message and the budget allow it */
static bool
queue_msg_mem_add(struct queue_msg *m, const void *p, size_t n)
{
	size_t	 cap;

	if (m->memlen + n > QUEUE_MEM_MSG_MAX)
		return false;
	if (m->memlen + n > m->memcap) {
		if (__atomic_load_n(&m->q->membytes, __ATOMIC_RELAXED) + n >
		    QUEUE_MEM_BUDGET)
			return false;
		cap = m->memcap ? m->memcap * 2 : 4096;
		while (cap < m->memlen + n)
			cap *= 2;
		if (cap > QUEUE_MEM_MSG_MAX)
			cap = QUEUE_MEM_MSG_MAX;
		m->mem = xreallocarray(m->mem, 1, cap);
		mem_account(m->q, (ssize_t)(cap - m->memcap));
		m->memcap = cap;
	}
	if (EVP_DigestUpdate(m->md, p, n) != 1)
		fatalx("queue: SHA-256 update failed (OpenSSL)");
	memcpy(m->mem + m->memlen, p, n);
	m->memlen += n;
	m->size += n;
	return true;
}

/*
 * queue_msg_write -- append n bytes to the message. Returns 0, or -1 with
 * errno (ENOSPC, EDQUOT, EIO ... once the message had to be spilled to
 * disk); after -1 every later write and close fail with the same errno and
 * the caller must queue_msg_abort().
 */
int
queue_msg_write(struct queue_msg *m, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t	 k;

	if (m->error != 0) {
		errno = m->error;
		return -1;
	}
	if (m->closed) {
		errno = EINVAL;
		return -1;
	}
	if (n == 0)
		return 0;
	if (!m->spilled) {
		if (queue_msg_mem_add(m, p, n))
			return 0;
		if (queue_msg_spill(m) == -1)
			return -1;
	}
	if (m->buf == NULL)
		m->buf = xmalloc(QUEUE_WBUF_SIZE);
	while (n > 0) {
		if (m->buflen == QUEUE_WBUF_SIZE && queue_msg_flush(m) == -1)
			return -1;
		k = QUEUE_WBUF_SIZE - m->buflen;
		if (k > n)
			k = n;
		memcpy(m->buf + m->buflen, c, k);
		m->buflen += k;
		m->size += k;
		c += k;
		n -= k;
	}
	return 0;
}

/*
 * queue_msg_size -- bytes accepted by queue_msg_write() so far.
 */
uint64_t
queue_msg_size(const struct queue_msg *m)
{
	return m->size;
}

/*
 * queue_msg_close -- end of data: finish the message, set "version" (if
 * missing), "id" (if missing), "size" and "sha256" in env (borrowed: the
 * caller keeps its reference, and must not change env or what it shares
 * afterwards: a committer thread renders envelope.json from it). No fsync
 * and, for an in-memory message, no disk access: hand m to
 * queue_committer_submit() next. Returns 0, or -1 with errno (ENOSPC for
 * a spilled message!) and m still to be aborted.
 */
int
queue_msg_close(struct queue_msg *m, json_t *env)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 hex[2 * 32 + 1];
	unsigned int	 mdlen, i;

	if (m->error != 0) {
		errno = m->error;
		return -1;
	}
	if (m->closed || !json_is_object(env)) {
		errno = EINVAL;
		return -1;
	}
	if (m->spilled) {
		if (queue_msg_flush(m) == -1)
			return -1;
		free(m->buf);
		m->buf = NULL;
		if (close(m->fd) == -1) {
			m->fd = -1;
			m->error = errno;
			return -1;
		}
		m->fd = -1;
	}
	if (EVP_DigestFinal_ex(m->md, md, &mdlen) != 1 || mdlen != 32)
		fatalx("queue: SHA-256 final failed (OpenSSL)");
	for (i = 0; i < mdlen; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);

	if (json_object_get(env, "version") == NULL)
		json_object_set_new(env, "version",
		    json_integer(QUEUE_ENVELOPE_VERSION));
	/* the id may have changed on spill; the envelope follows the disk */
	json_object_set_new(env, "id", json_string(m->id));
	json_object_set_new(env, "size", json_integer((json_int_t)m->size));
	json_object_set_new(env, "sha256", json_string(hex));
	/*
	 * The committer renders it: from now on env (and what it shares) is
	 * only read, never changed, by the caller.
	 */
	m->env = json_incref(env);
	m->closed = true;
	return 0;
}

/*
 * queue_msg_render -- committer thread: render envelope.json of a closed
 * message into m->envjs (once). Returns 0, or -1 with errno ENOMEM.
 */
int
queue_msg_render(struct queue_msg *m)
{
	char	*js;
	size_t	 len;

	if (m->envjs != NULL)
		return 0;
	if ((js = json_dumps(m->env, JSON_COMPACT)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	len = strlen(js);
	js = xreallocarray(js, len + 2, 1);
	js[len++] = '\n';
	js[len] = '\0';
	m->envjs = js;
	m->envlen = len;
	return 0;
}

/*
 * queue_msg_from_record -- a closed in-memory message id with envelope.json
 * bytes env and content msg, as read back from the commit journal, ready
 * for queue_msg_store(). Copies both.
 */
struct queue_msg *
queue_msg_from_record(struct queue *q, const char *id, const char *env,
    size_t envlen, const void *msg, size_t msglen)
{
	struct queue_msg *m;

	m = xcalloc(1, sizeof(*m));
	m->q = q;
	(void)strlcpy(m->id, id, sizeof(m->id));
	m->fd = -1;
	m->envjs = xmalloc(envlen + 1);
	memcpy(m->envjs, env, envlen);
	m->envjs[envlen] = '\0';
	m->envlen = envlen;
	m->memcap = m->memlen = msglen;
	m->mem = xmalloc(msglen > 0 ? msglen : 1);
	if (msglen > 0)
		memcpy(m->mem, msg, msglen);
	mem_account(q, (ssize_t)msglen);
	m->size = msglen;
	m->closed = true;
	return m;
}

/*
 * queue_msg_store -- committer thread: write what is still in memory
 * (the content of an unspilled message) and envelope.json into tmp/<id>/.
 * Returns 0, or -1 with errno; the caller removes tmp/<id>. m stays
 * usable: a failed store can be retried once tmp/<id> is removed.
 */
int
queue_msg_store(struct queue_msg *m)
{
	char	 path[QUEUE_PATH_MAX];
	int	 fd, saved;

	if (!m->streamed) {
		if (queue_msg_materialize(m, false) == -1)
			return -1;
		m->spilled = true;
		(void)bsnprintf(path, sizeof(path), "tmp/%s/message", m->id);
		fd = openat(m->q->rootfd, path, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, QUEUE_FILE_MODE);
		if (fd == -1)
			return -1;
		if (queue_write_all(fd, m->mem, m->memlen) == -1) {
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (close(fd) == -1)
			return -1;
	}
	if (queue_msg_render(m) == -1)
		return -1;
	(void)bsnprintf(path, sizeof(path), "tmp/%s/envelope.json", m->id);
	fd = openat(m->q->rootfd, path, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, QUEUE_FILE_MODE);
	if (fd == -1 || queue_write_all(fd, m->envjs, m->envlen) == -1) {
		saved = errno;
		if (fd != -1)
			close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/*
 * queue_msg_free -- release m's memory and fds without touching the disk.
 * Safe on any thread.
 */
void
queue_msg_free(struct queue_msg *m)
{
	if (m == NULL)
		return;
	if (m->fd != -1)
		close(m->fd);
	if (m->memcap > 0)
		mem_account(m->q, -(ssize_t)m->memcap);
	EVP_MD_CTX_free(m->md);
	free(m->mem);
	free(m->buf);
	free(m->envjs);
	json_decref(m->env);
	free(m);
}

/*
 * queue_msg_abort -- drop the message: remove tmp/<id>/ if it was spilled
 * and free m. Safe at any point before queue_committer_submit(),
 * including after a failed write or close. NULL is fine. errno is
 * preserved.
 */
void
queue_msg_abort(struct queue_msg *m)
{
	char	 path[QUEUE_PATH_MAX];
	int	 saved = errno;

	if (m == NULL)
		return;
	if (m->fd != -1) {
		close(m->fd);
		m->fd = -1;
	}
	if (m->spilled) {
		(void)bsnprintf(path, sizeof(path), "tmp/%s", m->id);
		if (queue_rmtree(m->q->rootfd, path) == -1 && errno != ENOENT)
			log_warn("queue: abort id=%s: cannot remove %s/%s",
			    m->id, m->q->path, path);
	}
	queue_msg_free(m);
	errno = saved;
}
