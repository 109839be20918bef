/*
 * queue_msg.c -- receiving one message into tmp/<id>/ (SMTP role, milter).
 * Runs on the event-loop thread, so nothing here fsyncs or blocks beyond
 * a buffered write(2): durability is the committer's job
 * (queue_commit.c). The bytes written are the client's DATA, stored as
 * they are; the envelope is the caller's json, dumped by jansson.
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

/*
 * queue_msg_new -- start a message: create tmp/<id>/ and its "message"
 * file. Returns the writer, or NULL with errno preserved (ENOSPC, EDQUOT,
 * EACCES, EROFS, EMFILE ...) and nothing left in tmp/.
 */
struct queue_msg *
queue_msg_new(struct queue *q)
{
	struct queue_msg *m;
	char	 id[QUEUE_ID_LEN + 1], path[QUEUE_PATH_MAX];
	int	 tries, fd, saved;

	for (tries = 0; ; tries++) {
		queue_id_new(id);
		(void)bsnprintf(path, sizeof(path), "tmp/%s", id);
		if (mkdirat(q->rootfd, path, QUEUE_DIR_MODE) == 0)
			break;
		if (errno != EEXIST || tries >= QUEUE_NEW_TRIES)
			return NULL;
	}
	(void)bsnprintf(path, sizeof(path), "tmp/%s/message", id);
	fd = openat(q->rootfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, QUEUE_FILE_MODE);
	if (fd == -1) {
		saved = errno;
		(void)bsnprintf(path, sizeof(path), "tmp/%s", id);
		(void)unlinkat(q->rootfd, path, AT_REMOVEDIR);
		errno = saved;
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->q = q;
	memcpy(m->id, id, sizeof(m->id));
	m->fd = fd;
	if ((m->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(m->md, EVP_sha256(), NULL) != 1)
		fatalx("queue: cannot initialise SHA-256 (OpenSSL)");
	return m;
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

/*
 * queue_msg_write -- append n bytes to the message (buffered; write(2)
 * when the 64 KiB buffer is full). Returns 0, or -1 with errno (ENOSPC,
 * EDQUOT, EIO ...); after -1 every later write and close fail with the
 * same errno and the caller must queue_msg_abort().
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
	if (m->fd == -1) {
		errno = EINVAL;
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
 * queue_msg_close -- end of data: flush the message, set "version" (if
 * missing), "id" (if missing), "size" and "sha256" in env (borrowed: the
 * caller keeps its reference) and write envelope.json (compact, one line,
 * one write). No fsync: hand m to queue_committer_submit() next.
 * Returns 0, or -1 with errno (ENOSPC!) and m still to be aborted.
 */
int
queue_msg_close(struct queue_msg *m, json_t *env)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 hex[2 * 32 + 1], path[QUEUE_PATH_MAX], *js;
	unsigned int	 mdlen, i;
	size_t		 len;
	int		 fd, saved;

	if (m->error != 0) {
		errno = m->error;
		return -1;
	}
	if (m->fd == -1 || !json_is_object(env)) {
		errno = EINVAL;
		return -1;
	}
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
	if (EVP_DigestFinal_ex(m->md, md, &mdlen) != 1 || mdlen != 32)
		fatalx("queue: SHA-256 final failed (OpenSSL)");
	for (i = 0; i < mdlen; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);

	if (json_object_get(env, "version") == NULL)
		json_object_set_new(env, "version",
		    json_integer(QUEUE_ENVELOPE_VERSION));
	if (json_object_get(env, "id") == NULL)
		json_object_set_new(env, "id", json_string(m->id));
	json_object_set_new(env, "size", json_integer((json_int_t)m->size));
	json_object_set_new(env, "sha256", json_string(hex));
	if ((js = json_dumps(env, JSON_COMPACT)) == NULL) {
		m->error = ENOMEM;
		errno = ENOMEM;
		return -1;
	}
	len = strlen(js);
	js = xreallocarray(js, len + 2, 1);
	js[len++] = '\n';
	js[len] = '\0';

	(void)bsnprintf(path, sizeof(path), "tmp/%s/envelope.json", m->id);
	fd = openat(m->q->rootfd, path, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, QUEUE_FILE_MODE);
	if (fd == -1 || queue_write_all(fd, js, len) == -1 || close(fd) == -1) {
		saved = errno;
		if (fd != -1)
			(void)close(fd);	/* EBADF after a failed close */
		free(js);
		m->error = saved;
		errno = saved;
		return -1;
	}
	free(js);
	m->closed = true;
	return 0;
}

/*
 * queue_msg_free -- release m's memory and fds without touching the disk.
 */
void
queue_msg_free(struct queue_msg *m)
{
	if (m == NULL)
		return;
	if (m->fd != -1)
		close(m->fd);
	EVP_MD_CTX_free(m->md);
	free(m->buf);
	free(m);
}

/*
 * queue_msg_abort -- drop the message: remove tmp/<id>/ entirely and free
 * m. Safe at any point before queue_committer_submit(), including after a
 * failed write or close. NULL is fine. errno is preserved.
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
	(void)bsnprintf(path, sizeof(path), "tmp/%s", m->id);
	if (queue_rmtree(m->q->rootfd, path) == -1 && errno != ENOENT)
		log_warn("queue: abort id=%s: cannot remove %s/%s", m->id,
		    m->q->path, path);
	queue_msg_free(m);
	errno = saved;
}
