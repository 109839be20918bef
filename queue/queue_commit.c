/*
 * queue_commit.c -- group commit: a few threads make closed messages
 * durable in batches, so the event loop never waits for the disk and one
 * syncfs() serves every message that arrived meanwhile (docs/SPOOL.md).
 * Several batches are in flight at once (QUEUE_COMMIT_THREADS), the way
 * many concurrent fsync()s share the file system's journal commits: while
 * one thread waits for the disk, the next takes what arrived meanwhile.
 *
 *   owner thread                     committer threads
 *   submit() -> pending list  --->   take the whole list as one batch
 *                                    syncfs(root) (or fsync each file)
 *                                    rename tmp/<id> -> new/<day>/<id>
 *                                    fsync new/<day> (and new/ if created)
 *   dispatch() <- done list   <---   append results, signal the eventfd
 *
 * Both lists are protected by one mutex; the thread waits on a condition
 * variable. Every submit gets exactly one done callback, on the owner
 * thread, from queue_committer_dispatch() or queue_committer_free().
 */
#include "config.h"

#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "queue.h"
#include "queue_priv.h"

struct queue_citem {
	struct queue_citem	*next;
	char			 id[QUEUE_ID_LEN + 1];
	char			 day[QUEUE_DAY_LEN + 1];
	struct queue_msg	*msg;		/* NULL for a session record */
	json_t			*sessrec;	/* session record to store */
	int			 session_error;
	queue_done_cb		 done;
	void			*arg;
	int			 error;
};

struct queue_clist {
	struct queue_citem	*head;
	struct queue_citem	**tail;
};

#define QUEUE_COMMIT_THREADS	4

struct queue_committer {
	struct queue		*q;
	pthread_t		 threads[QUEUE_COMMIT_THREADS];
	int			 nthreads;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct queue_clist	 pending;	/* owner -> thread */
	struct queue_clist	 done;		/* thread -> owner */
	bool			 stop;
	bool			 nosyncfs;	/* test-only: force fsyncs */
	int			 efd;		/* eventfd, readable = done */
	uint64_t		 nsyncfs;
	uint64_t		 nbatches;
};

static void	*queue_committer_main(void *arg);
static void	 queue_commit_batch(struct queue_committer *c, char *bucket,
		    struct queue_citem *batch, bool use_syncfs);
static int	 queue_commit_rename(struct queue_committer *c, char *bucket,
		    struct queue_citem *it, bool *new_dirty);
static void	 queue_clist_init(struct queue_clist *l);
static void	 queue_clist_append(struct queue_clist *l,
		    struct queue_clist *from);
static void	 queue_clist_push(struct queue_clist *l,
		    struct queue_citem *it);

static void
queue_clist_init(struct queue_clist *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void
queue_clist_push(struct queue_clist *l, struct queue_citem *it)
{
	it->next = NULL;
	*l->tail = it;
	l->tail = &it->next;
}

static void
queue_clist_append(struct queue_clist *l, struct queue_clist *from)
{
	if (from->head == NULL)
		return;
	*l->tail = from->head;
	l->tail = from->tail;
	queue_clist_init(from);
}

/*
 * queue_committer_new -- start the committer threads for q (signals are
 * blocked in them). Returns the committer, or NULL with errno (EMFILE,
 * EAGAIN) and a warning logged if not even one thread started.
 */
struct queue_committer *
queue_committer_new(struct queue *q)
{
	struct queue_committer *c;
	sigset_t	 all, old;
	int		 rc, i;

	c = xcalloc(1, sizeof(*c));
	c->q = q;
	queue_clist_init(&c->pending);
	queue_clist_init(&c->done);
	if ((c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("queue: committer eventfd");
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mtx, NULL);
	pthread_cond_init(&c->cond, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0, rc = 0; i < QUEUE_COMMIT_THREADS && rc == 0; i++)
		if ((rc = pthread_create(&c->threads[i], NULL,
		    queue_committer_main, c)) == 0)
			c->nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (c->nthreads == 0) {
		errno = rc;
		log_warn("queue: cannot start the committer threads");
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->mtx);
		close(c->efd);
		free(c);
		errno = rc;
		return NULL;
	}
	return c;
}

/*
 * queue_committer_fd -- nonblocking fd that becomes readable when
 * completions wait for queue_committer_dispatch().
 */
int
queue_committer_fd(const struct queue_committer *c)
{
	return c->efd;
}

/*
 * queue_committer_submit -- hand over a message closed by
 * queue_msg_close(); c owns m from now on (m is freed here). done(arg,
 * id, error) is called later on the owner thread: error 0 means the
 * message is durable in new/<day>/<id>; otherwise error is an errno and
 * the message was removed. A message that was not closed successfully is
 * aborted and completes with EINVAL.
 */
void
queue_committer_submit(struct queue_committer *c, struct queue_msg *m,
    queue_done_cb done, void *arg)
{
	struct queue_citem *it;
	bool	 closed;

	if (m == NULL)
		fatalx("%s: no message (queue_msg_new failed?)", __func__);
	closed = m->closed;

	it = xcalloc(1, sizeof(*it));
	memcpy(it->id, m->id, sizeof(it->id));
	if (queue_id_day(it->id, it->day) == -1)
		fatalx("%s: invalid id in a queue_msg", __func__);
	it->done = done;
	it->arg = arg;
	if (closed)
		it->msg = m;		/* the thread writes and frees it */
	else {
		queue_msg_abort(m);
		it->error = EINVAL;
	}
	pthread_mutex_lock(&c->mtx);
	if (closed) {
		queue_clist_push(&c->pending, it);
		pthread_cond_signal(&c->cond);
	} else
		queue_clist_push(&c->done, it);
	pthread_mutex_unlock(&c->mtx);
	if (!closed) {
		uint64_t one = 1;

		(void)write(c->efd, &one, sizeof(one));
	}
}

/*
 * queue_committer_submit_session -- have a committer thread render and
 * store the session record rec (the reference is stolen; the caller must
 * not change rec or anything in it afterwards, only read and decref what
 * it shares) for session id with its next batch, so the owner's event
 * loop does no JSON dumping or file I/O for it; done (may be NULL) is
 * called like a message's once the record is written and synced.
 * Returns 0, or -1 with errno EINVAL (bad id, not an object; rec freed).
 */
int
queue_committer_submit_session(struct queue_committer *c, const char *id,
    json_t *rec, queue_done_cb done, void *arg)
{
	struct queue_citem *it;
	char	 day[QUEUE_DAY_LEN + 1];

	if (queue_id_day(id, day) == -1 || !json_is_object(rec)) {
		json_decref(rec);
		errno = EINVAL;
		return -1;
	}
	it = xcalloc(1, sizeof(*it));
	memcpy(it->id, id, sizeof(it->id));
	memcpy(it->day, day, sizeof(it->day));
	it->sessrec = rec;
	it->done = done;
	it->arg = arg;
	pthread_mutex_lock(&c->mtx);
	queue_clist_push(&c->pending, it);
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mtx);
	return 0;
}

static void *
queue_committer_main(void *arg)
{
	struct queue_committer *c = arg;
	struct queue_clist batch, out;
	struct queue_citem *it;
	uint64_t	 one = 1;
	bool		 use_syncfs;
	char		 bucket[QUEUE_DAY_LEN + 1] = "";  /* known to this thread */

	for (;;) {
		pthread_mutex_lock(&c->mtx);
		while (c->pending.head == NULL && !c->stop)
			pthread_cond_wait(&c->cond, &c->mtx);
		if (c->pending.head == NULL) {		/* stop, all done */
			pthread_mutex_unlock(&c->mtx);
			break;
		}
		queue_clist_init(&batch);
		queue_clist_append(&batch, &c->pending);
		use_syncfs = !c->nosyncfs;
		c->nbatches++;
		if (use_syncfs)
			c->nsyncfs++;
		pthread_mutex_unlock(&c->mtx);

		queue_commit_batch(c, bucket, batch.head, use_syncfs);

		queue_clist_init(&out);
		while ((it = batch.head) != NULL) {
			batch.head = it->next;
			queue_clist_push(&out, it);
		}
		pthread_mutex_lock(&c->mtx);
		queue_clist_append(&c->done, &out);
		pthread_mutex_unlock(&c->mtx);
		if (write(c->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			log_warn("queue: committer eventfd write");
	}
	return NULL;
}

/* fsync tmp/<id>/message, tmp/<id>/envelope.json and tmp/<id> */
static int
queue_commit_fsync_one(int rootfd, const char *id)
{
	static const char *const names[] = {
		"message", "envelope.json", "",
	};
	char	 path[QUEUE_PATH_MAX];
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)bsnprintf(path, sizeof(path), "tmp/%s%s%s", id,
		    names[i][0] != '\0' ? "/" : "", names[i]);
		if (queue_fsync_path(rootfd, path) == -1)
			return -1;
	}
	return 0;
}

static void
queue_commit_fail(struct queue_committer *c, struct queue_citem *it,
    int error, const char *what, const char *dir)
{
	char	 path[QUEUE_PATH_MAX];

	it->error = error != 0 ? error : EIO;
	errno = it->error;
	log_warn("queue: commit id=%s failed at %s; check free space and "
	    "permissions of %s", it->id, what, c->q->path);
	(void)bsnprintf(path, sizeof(path), "%s/%s", dir, it->id);
	if (queue_rmtree(c->q->rootfd, path) == -1 && errno != ENOENT)
		log_warn("queue: cannot remove %s/%s", c->q->path, path);
}

/*
 * rename tmp/<id> to new/<day>/<id>, creating the bucket when needed. The
 * bucket cache can be stale (retention or an operator removed the day):
 * ENOENT then retries once with a mkdir.
 */
static int
queue_commit_rename(struct queue_committer *c, char *bucket,
    struct queue_citem *it, bool *new_dirty)
{
	char	 src[QUEUE_PATH_MAX], dst[QUEUE_PATH_MAX];
	int	 rootfd = c->q->rootfd, tries;

	(void)bsnprintf(src, sizeof(src), "tmp/%s", it->id);
	for (tries = 0; tries < 2; tries++) {
		if (strcmp(bucket, it->day) != 0) {
			(void)bsnprintf(dst, sizeof(dst), "new/%s", it->day);
			if (mkdirat(rootfd, dst, QUEUE_DIR_MODE) == -1 &&
			    errno != EEXIST)
				return -1;
			/*
			 * Made here or by another thread: either way this
			 * thread makes sure new/ holds it durably before its
			 * entries count.
			 */
			*new_dirty = true;
			memcpy(bucket, it->day, QUEUE_DAY_LEN + 1);
		}
		(void)bsnprintf(dst, sizeof(dst), "new/%s/%s", it->day, it->id);
		/* never replace an entry (an id clash between processes) */
		if (renameat2(rootfd, src, rootfd, dst, RENAME_NOREPLACE) == 0)
			return 0;
		if ((errno == EINVAL || errno == ENOSYS) &&
		    renameat(rootfd, src, rootfd, dst) == 0)
			return 0;
		if (errno != ENOENT)
			return -1;
		bucket[0] = '\0';
	}
	return -1;
}

/*
 * One batch: the items are this thread's until they go on the done list.
 */
static void
queue_commit_batch(struct queue_committer *c, char *bucket,
    struct queue_citem *batch, bool use_syncfs)
{
	struct queue_citem *it, *jt;
	char	 dst[QUEUE_PATH_MAX];
	int	 rootfd = c->q->rootfd, error;
	bool	 synced = false, new_dirty = false;

	/* write what the owner kept in memory: messages, session records */
	for (it = batch; it != NULL; it = it->next) {
		if (it->sessrec != NULL) {
			char	*js;
			size_t	 len;

			js = queue_session_dump(it->id, it->sessrec, &len);
			if (js == NULL || queue_session_store(c->q, it->id, js,
			    len) == -1) {
				log_warn("queue: session record id=%s lost",
				    it->id);
				it->session_error = errno ? errno : EIO;
			}
			free(js);
			it->error = -1;		/* not a message: skip below */
			continue;
		}
		if (queue_msg_store(it->msg) == -1)
			queue_commit_fail(c, it, errno, "write", "tmp");
		queue_msg_free(it->msg);
		it->msg = NULL;
	}
	if (use_syncfs) {
		if (syncfs(rootfd) == 0)
			synced = true;
		else
			log_warn("queue: syncfs %s; falling back to fsync",
			    c->q->path);
	}
	for (it = batch; it != NULL; it = it->next) {
		if (it->error != 0)
			continue;
		if (!synced && queue_commit_fsync_one(rootfd, it->id) == -1) {
			queue_commit_fail(c, it, errno, "fsync", "tmp");
			continue;
		}
		if (queue_commit_rename(c, bucket, it, &new_dirty) == -1)
			queue_commit_fail(c, it, errno, "rename", "tmp");
	}
	/* a created bucket must be durable in new/ before its entries count */
	if (new_dirty && queue_fsync_path(rootfd, "new") == -1) {
		error = errno;
		for (it = batch; it != NULL; it = it->next) {
			if (it->error != 0)
				continue;
			(void)bsnprintf(dst, sizeof(dst), "new/%s", it->day);
			queue_commit_fail(c, it, error, "fsync new/", dst);
		}
	}
	for (it = batch; it != NULL; it = it->next) {
		if (it->error != 0)
			continue;
		for (jt = batch; jt != it; jt = jt->next)	/* seen? */
			if (jt->error == 0 && strcmp(jt->day, it->day) == 0)
				break;
		if (jt != it)
			continue;
		(void)bsnprintf(dst, sizeof(dst), "new/%s", it->day);
		if (queue_fsync_path(rootfd, dst) == 0)
			continue;
		/* the bucket is not durable: fail its entries of this batch */
		error = errno;
		for (jt = it->next; jt != NULL; jt = jt->next)
			if (jt->error == 0 && strcmp(jt->day, it->day) == 0)
				queue_commit_fail(c, jt, error,
				    "fsync new/<day>", dst);
		queue_commit_fail(c, it, error, "fsync new/<day>", dst);
	}
	/*
	 * No fsync of tmp/: a rename is one journal transaction that the
	 * bucket's fsync above already made durable; on other file systems
	 * losing it only lets a tmp/ entry reappear, which start-up purges.
	 */

	for (it = batch; it != NULL; it = it->next)
		if (it->sessrec != NULL) {
			json_decref(it->sessrec);
			it->sessrec = NULL;
			it->error = it->session_error;
		}
}

/*
 * queue_committer_dispatch -- on the owner thread: drain the fd and call
 * done() for every finished message, in submit order within a batch.
 * Callbacks may submit again.
 */
void
queue_committer_dispatch(struct queue_committer *c)
{
	struct queue_clist done;
	struct queue_citem *it;
	uint64_t	 v;

	(void)read(c->efd, &v, sizeof(v));
	queue_clist_init(&done);
	pthread_mutex_lock(&c->mtx);
	queue_clist_append(&done, &c->done);
	pthread_mutex_unlock(&c->mtx);
	while ((it = done.head) != NULL) {
		done.head = it->next;
		if (it->done != NULL)
			it->done(it->arg, it->id, it->error);
		free(it);
	}
}

/*
 * queue_committer_free -- wait until every submitted message is committed
 * or failed, call the outstanding done callbacks, stop the thread and
 * free c. NULL is fine.
 */
void
queue_committer_free(struct queue_committer *c)
{
	int	 i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mtx);
	c->stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mtx);
	for (i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	queue_committer_dispatch(c);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mtx);
	close(c->efd);
	free(c);
}

/* test-only: number of syncfs() calls made so far */
uint64_t
queue_committer_nsyncfs(struct queue_committer *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->mtx);
	n = c->nsyncfs;
	pthread_mutex_unlock(&c->mtx);
	return n;
}

/* test-only: number of batches committed so far */
uint64_t
queue_committer_nbatches(struct queue_committer *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->mtx);
	n = c->nbatches;
	pthread_mutex_unlock(&c->mtx);
	return n;
}

/* test-only: use the per-file fsync path instead of syncfs() */
void
queue_committer_set_nosyncfs(struct queue_committer *c, bool on)
{
	pthread_mutex_lock(&c->mtx);
	c->nosyncfs = on;
	pthread_mutex_unlock(&c->mtx);
}
