/*
 * queue_commit.c -- group commit. A closed message is acknowledged once
 * its record is durable in the commit journal (queue_journal.c: one
 * pwrite() and one fdatasync() per batch, no file created), and is moved
 * into new/<day>/<id>/ afterwards by a few threads that make directory
 * entries durable in batches, one syncfs() serving every message that
 * arrived meanwhile (docs/SPOOL.md). The event loop never waits for the
 * disk.
 *
 *   owner thread              journal thread         committer threads
 *   submit() -> jpending ---> render envelopes
 *                             write records,
 *                             fdatasync
 *   dispatch() <- done  <---  "durable" (250)
 *                             records -> pending ---> write tmp/<id>/
 *                                                     syncfs(root)
 *                                                     rename into new/<day>/
 *                                                     fsync new/<day>
 *   dispatch() <- done  <-----------------------------  "stored" (worker)
 *                                                     release the record
 *
 * Messages that do not go through the journal (spilled to tmp/ because
 * they are large or memory is short, or no journal segment is free)
 * complete only after the committer threads, as do session records. A
 * record that cannot be moved into new/ (disk full) stays in memory and
 * in the journal and is retried every second; a restart replays what the
 * journal still holds (queue_committer_new).
 *
 * The lists are protected by one mutex; the threads wait on condition
 * variables. Every submit gets exactly one done callback, on the owner
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
	char			*sessjs;	/* rendered session record */
	size_t			 sesslen;
	struct queue_jseg	*jseg;		/* its journal record, if any */
	int			 jerror;	/* why the journal failed it */
	bool			 viaj;		/* goes through the journal */
	bool			 jwritten;	/* journal part done */
	bool			 mfinished;	/* spool part done */
	bool			 stored;	/* report to stored_cb when in new/ */
};

struct queue_clist {
	struct queue_citem	*head;
	struct queue_citem	**tail;
};

#define QUEUE_COMMIT_THREADS	4

#define QUEUE_RETRY_SECS	1	/* records that did not reach new/ */
#define QUEUE_SESS_DELAY_MS	5	/* session records wait for company */
#define QUEUE_MOVE_MAX		16	/* items per committer thread batch */

struct queue_committer {
	struct queue		*q;
	struct queue_journal	*journal;	/* NULL: commit without one */
	pthread_t		 threads[QUEUE_COMMIT_THREADS];
	int			 nthreads;
	pthread_t		 jthread;
	bool			 jrunning;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;		/* pending or stop */
	pthread_cond_t		 jcond;		/* jpending or jstop */
	struct queue_clist	 jpending;	/* owner -> journal thread */
	size_t			 jpending_msgs;	/* messages on it */
	struct queue_clist	 pending;	/* -> committer threads */
	struct queue_clist	 retry;		/* journaled, not yet in new/ */
	struct queue_clist	 done;		/* threads -> owner */
	bool			 jstop;
	bool			 stop;
	bool			 nosyncfs;	/* test-only: force fsyncs */
	bool			 nojournal;	/* test-only: bypass it */
	int			 efd;		/* eventfd, readable = done */
	queue_stored_cb		 stored;
	void			*stored_arg;
	uint64_t		 nsyncfs;
	uint64_t		 nbatches;
	char			 (*tombs)[QUEUE_ID_LEN + 1]; /* replay: */
	size_t			 ntombs;	/* deleted ids it met */
};

static void	*queue_committer_main(void *arg);
static void	*queue_journal_main(void *arg);
static void	 queue_commit_finish(struct queue_committer *c,
		    struct queue_citem *batch);
static void	 queue_commit_complete(struct queue_committer *c,
		    struct queue_citem *list);
static void	 queue_commit_sync_buckets(struct queue_committer *c,
		    struct queue_citem *batch, bool new_dirty);
static void	 queue_commit_batch(struct queue_committer *c, char *bucket,
		    struct queue_citem *batch, bool use_syncfs, bool durable);
static int	 queue_commit_rename(struct queue_committer *c, char *bucket,
		    struct queue_citem *it, bool *new_dirty);
static void	 queue_clist_init(struct queue_clist *l);
static void	 queue_clist_take(struct queue_clist *l,
		    struct queue_clist *from, size_t max);
static void	 queue_clist_append(struct queue_clist *l,
		    struct queue_clist *from);
static void	 queue_clist_push(struct queue_clist *l,
		    struct queue_citem *it);

/* move the first max items of from to the end of l */
static void
queue_clist_take(struct queue_clist *l, struct queue_clist *from, size_t max)
{
	struct queue_citem *it;
	size_t	 n;

	for (n = 0; n < max && (it = from->head) != NULL; n++) {
		from->head = it->next;
		if (from->head == NULL)
			from->tail = &from->head;
		queue_clist_push(l, it);
	}
}

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
 * A record the journal still holds at start: into the spool unless a
 * whole copy is there already (moved before the crash; files moved
 * without a sync of their own may have been cut short, so a copy that
 * does not validate is replaced). Returns 1 (taken, on the pending list)
 * or 0 (skipped).
 */
static int
queue_replay_cb(void *arg, struct queue_jseg *s, int kind, const char *id,
    const char *env, size_t envlen, const void *msg, size_t msglen)
{
	struct queue_committer *c = arg;
	struct queue_entry e;
	struct queue_citem *it;
	char	 err[256], dir[QUEUE_PATH_MAX];
	json_t	*rec;

	if (kind == QUEUE_JK_SESSION) {
		if ((rec = queue_session_load(c->q, id, err, sizeof(err))) !=
		    NULL) {
			json_decref(rec);
			return 0;
		}
	} else if (queue_tomb_has(c->q, id)) {
		/* deleted by the operator: finish the delete, keep the
		 * tombstone while the journal holds the record */
		c->tombs = xreallocarray(c->tombs, c->ntombs + 1,
		    sizeof(*c->tombs));
		memcpy(c->tombs[c->ntombs++], id, QUEUE_ID_LEN + 1);
		if (queue_find(c->q, id, &e) == 0 &&
		    (queue_entry_dir(&e, dir, sizeof(dir)) == -1 ||
		    queue_rmtree(c->q->rootfd, dir) == -1))
			log_warn("queue: cannot remove deleted id=%s", id);
		return 0;
	} else if (queue_find(c->q, id, &e) == 0) {
		if (e.state != QUEUE_ST_CORRUPT &&
		    queue_validate(c->q, &e, err, sizeof(err)) == 0)
			return 0;
		log_warnx("queue: id=%s in the spool is not whole (%s); "
		    "replaced by the journal's copy", id, e.state ==
		    QUEUE_ST_CORRUPT ? "in corrupt/" : err);
		if (queue_entry_dir(&e, dir, sizeof(dir)) == -1 ||
		    queue_rmtree(c->q->rootfd, dir) == -1) {
			log_warn("queue: cannot remove %s/%s; id=%s stays in "
			    "the journal", c->q->path, dir, id);
			return 0;
		}
	}
	/*
	 * A move of this record cut short when the SMTP role was killed (the
	 * parent restarts it without purging tmp/): remove what it left, or
	 * the move below fails with EEXIST and waits for the retry.
	 */
	if (kind == QUEUE_JK_MESSAGE) {
		(void)bsnprintf(dir, sizeof(dir), "tmp/%s", id);
		if (queue_rmtree(c->q->rootfd, dir) == -1 && errno != ENOENT)
			log_warn("queue: cannot remove %s/%s", c->q->path,
			    dir);
	}
	it = xcalloc(1, sizeof(*it));
	memcpy(it->id, id, sizeof(it->id));
	if (queue_id_day(it->id, it->day) == -1)
		fatalx("%s: invalid id in the journal", __func__);
	if (kind == QUEUE_JK_SESSION) {
		it->sessjs = xmalloc(envlen + 1);
		memcpy(it->sessjs, env, envlen);
		it->sessjs[envlen] = '\0';
		it->sesslen = envlen;
	} else {
		it->msg = queue_msg_from_record(c->q, id, env, envlen, msg,
		    msglen);
		it->stored = true;
	}
	it->jseg = s;
	it->viaj = it->jwritten = true;
	queue_clist_push(&c->pending, it);
	return 1;
}

/* whether the replay met a record of tombstoned message id */
static bool
queue_tomb_in_journal(const char *id, void *arg)
{
	struct queue_committer *c = arg;
	size_t	 i;

	for (i = 0; i < c->ntombs; i++)
		if (strcmp(c->tombs[i], id) == 0)
			return true;
	return false;
}

/*
 * queue_committer_new -- start committing into q: open (or make) the
 * commit journal, move into new/ what it still holds from before a crash
 * (before returning, so the spool is whole when receiving starts), and
 * start the threads. Returns NULL with errno when no thread starts. Without
 * a journal (no room for a segment, logged) messages are committed
 * directly, each acknowledged only once it is in new/.
 */
struct queue_committer *
queue_committer_new(struct queue *q)
{
	struct queue_committer *c;
	struct queue_clist batch;
	sigset_t	 all, old;
	char		 bucket[QUEUE_DAY_LEN + 1] = "";
	int		 rc, i;

	c = xcalloc(1, sizeof(*c));
	c->q = q;
	queue_clist_init(&c->jpending);
	queue_clist_init(&c->pending);
	queue_clist_init(&c->retry);
	queue_clist_init(&c->done);
	if ((c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("queue: committer eventfd");
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mtx, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_cond_init(&c->jcond, NULL);
	if ((c->journal = queue_journal_open(q, queue_replay_cb, c)) == NULL)
		log_warn("queue: no commit journal in %s/journal; each "
		    "message is acknowledged only once it is in new/ (slower)",
		    q->path);
	/* tombstones whose record the replay did not meet are done with */
	if (c->journal != NULL)
		queue_tomb_purge(q, queue_tomb_in_journal, c);
	free(c->tombs);
	c->tombs = NULL;
	c->ntombs = 0;
	if (c->pending.head != NULL) {
		queue_clist_init(&batch);
		queue_clist_append(&batch, &c->pending);
		queue_commit_batch(c, bucket, batch.head, true, false);
		queue_commit_finish(c, batch.head);
	}

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0, rc = 0; i < QUEUE_COMMIT_THREADS && rc == 0; i++)
		if ((rc = pthread_create(&c->threads[i], NULL,
		    queue_committer_main, c)) == 0)
			c->nthreads++;
	if (c->nthreads > 0 && c->journal != NULL &&
	    (rc = pthread_create(&c->jthread, NULL, queue_journal_main,
	    c)) == 0)
		c->jrunning = true;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (c->nthreads == 0) {
		errno = rc;
		log_warn("queue: cannot start the committer threads");
		queue_committer_free(c);
		errno = rc;
		return NULL;
	}
	if (c->journal != NULL && !c->jrunning) {
		errno = rc;
		log_warn("queue: cannot start the journal thread; committing "
		    "without the journal");
	}
	return c;
}

/*
 * queue_committer_set_stored -- have cb(arg, id, 0) called on the owner
 * thread (from queue_committer_dispatch) for every message once it is in
 * new/<day>/<id>/, which for a journaled message is after its done
 * callback. Call before the first submit.
 */
void
queue_committer_set_stored(struct queue_committer *c, queue_stored_cb cb,
    void *arg)
{
	c->stored = cb;
	c->stored_arg = arg;
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
 * message is durable (in the journal, or in new/<day>/<id>; the stored
 * callback says when it is in new/); otherwise error is an errno and the
 * message was removed. A message that was not closed successfully is
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
	if (closed) {
		it->msg = m;		/* the threads write and free it */
		it->stored = true;
	} else {
		queue_msg_abort(m);
		it->error = EINVAL;
	}
	pthread_mutex_lock(&c->mtx);
	if (closed && c->jrunning && !c->nojournal && !m->streamed) {
		queue_clist_push(&c->jpending, it);
		c->jpending_msgs++;
		pthread_cond_signal(&c->jcond);
	} else if (closed) {
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
	if (c->jrunning && !c->nojournal) {
		queue_clist_push(&c->jpending, it);
		pthread_cond_signal(&c->jcond);
	} else {
		queue_clist_push(&c->pending, it);
		pthread_cond_signal(&c->cond);
	}
	pthread_mutex_unlock(&c->mtx);
	return 0;
}

/*
 * The journal thread: take what the owner submitted as one batch, render
 * it, hand it to the committer threads (which move it into the spool
 * without syncing) and meanwhile write it to the journal. An item is
 * complete when both are done: whichever thread finishes second passes it
 * to queue_commit_complete().
 */
static void *
queue_journal_main(void *arg)
{
	struct queue_committer *c = arg;
	struct queue_clist batch, fin;
	struct queue_citem *it, **items = NULL;
	struct queue_jrec *r = NULL;
	struct timespec	 until;
	size_t		 n, cap = 0, i, ni, nr, nw;
	int		 k, error;

	for (;;) {
		pthread_mutex_lock(&c->mtx);
		for (;;) {
			if (c->jstop || c->jpending_msgs > 0)
				break;
			if (c->jpending.head == NULL) {
				pthread_cond_wait(&c->jcond, &c->mtx);
				continue;
			}
			/*
			 * Only session records: nobody waits for them, so
			 * they ride with the next message's write instead of
			 * costing one of their own (QUEUE_SESS_DELAY_MS).
			 */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += QUEUE_SESS_DELAY_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			if (pthread_cond_timedwait(&c->jcond, &c->mtx,
			    &until) == ETIMEDOUT)
				break;
		}
		if (c->jpending.head == NULL) {
			pthread_mutex_unlock(&c->mtx);
			break;
		}
		queue_clist_init(&batch);
		queue_clist_append(&batch, &c->jpending);
		c->jpending_msgs = 0;
		pthread_mutex_unlock(&c->mtx);

		for (n = 0, it = batch.head; it != NULL; it = it->next)
			n++;
		if (n > cap) {
			cap = n * 2;
			r = xreallocarray(r, cap, sizeof(*r));
			items = xreallocarray(items, cap, sizeof(*items));
		}
		/*
		 * render: the records, and what the committer threads write;
		 * items[0..ni) are those this thread completes with them
		 */
		for (ni = 0, nr = 0, it = batch.head; it != NULL;
		    it = it->next) {
			it->viaj = true;
			it->jerror = 0;
			if (it->sessrec != NULL) {
				if (it->sessjs == NULL && (it->sessjs =
				    queue_session_dump(it->id, it->sessrec,
				    &it->sesslen)) == NULL) {
					it->jerror = ENOMEM;
					items[ni++] = it;
					continue;
				}
				r[nr].kind = QUEUE_JK_SESSION;
				r[nr].env = it->sessjs;
				r[nr].envlen = it->sesslen;
				r[nr].msg = NULL;
				r[nr].msglen = 0;
			} else {
				if (queue_msg_render(it->msg) == -1) {
					it->jerror = ENOMEM;
					items[ni++] = it;
					continue;
				}
				r[nr].kind = QUEUE_JK_MESSAGE;
				r[nr].env = it->msg->envjs;
				r[nr].envlen = it->msg->envlen;
				r[nr].msg = it->msg->mem;
				r[nr].msglen = it->msg->memlen;
			}
			/*
			 * Larger than a segment (an envelope of a thousand
			 * long recipients, a session of thousands of AUTH
			 * attempts): the committer threads store and sync it
			 * themselves; the rest of the batch is journaled. It
			 * is theirs alone once handed over: they may complete
			 * it, and the owner free it, before the write below.
			 */
			if (!queue_journal_fits(r[nr].envlen, r[nr].msglen)) {
				it->viaj = false;
				continue;
			}
			items[ni++] = it;
			r[nr].id = it->id;
			r[nr].seg = NULL;
			nr++;
		}
		/* the committer threads move them meanwhile */
		pthread_mutex_lock(&c->mtx);
		queue_clist_append(&c->pending, &batch);
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->mtx);

		for (nw = 0, error = 0; nw < nr; nw += (size_t)k)
			if ((k = queue_journal_write(c->journal, r + nw,
			    nr - nw)) <= 0) {
				error = k == 0 ? EIO : errno;
				break;
			}

		queue_clist_init(&fin);
		pthread_mutex_lock(&c->mtx);
		for (i = 0, k = 0; i < ni; i++) {
			it = items[i];
			if (it->viaj && it->jerror == 0) {
				if ((size_t)k < nw)
					it->jseg = r[k].seg;
				else
					it->jerror = error ? error : EIO;
				k++;
			}
			it->jwritten = true;
			if (it->mfinished)
				queue_clist_push(&fin, it);
		}
		pthread_mutex_unlock(&c->mtx);
		queue_commit_complete(c, fin.head);
	}
	free(r);
	free(items);
	return NULL;
}

/*
 * Items whose every part is done: release the journal records now in the
 * spool, keep those that did not get there for a retry (acknowledged:
 * they are in the journal), take back those the journal could not hold
 * (moved without a sync: not durable), and put the rest on the done list.
 */
static void
queue_commit_complete(struct queue_committer *c, struct queue_citem *list)
{
	struct queue_clist out, retry;
	struct queue_citem *it, *next, *d;
	char	 path[QUEUE_PATH_MAX];
	uint64_t	 one = 1;
	size_t		 nretry = 0;
	int		 error = 0;
	bool		 any;

	if (list == NULL)
		return;
	queue_clist_init(&out);
	queue_clist_init(&retry);
	for (it = list; it != NULL; it = next) {
		next = it->next;
		if (it->viaj && it->jseg != NULL && it->error != 0) {
			/* durable in the journal, not in the spool: retry */
			error = it->error;
			if (it->done != NULL && it->msg != NULL) {
				d = xcalloc(1, sizeof(*d));
				memcpy(d->id, it->id, sizeof(d->id));
				d->done = it->done;
				d->arg = it->arg;
				queue_clist_push(&out, d);
				it->done = NULL;
				it->arg = NULL;
			}
			it->error = 0;
			it->mfinished = false;
			queue_clist_push(&retry, it);
			nretry++;
			continue;
		}
		if (it->viaj && it->jseg != NULL)
			queue_journal_release(c->journal, it->jseg);
		else if (it->viaj && it->error == 0) {
			/* in the spool, but neither synced nor journaled */
			if (it->msg != NULL)
				(void)bsnprintf(path, sizeof(path),
				    "new/%s/%s", it->day, it->id);
			else
				(void)bsnprintf(path, sizeof(path),
				    "sessions/%s/%s.json", it->day, it->id);
			errno = it->jerror;
			log_warn("queue: commit id=%s failed at the journal; "
			    "check free space and permissions of %s/journal",
			    it->id, c->q->path);
			if (queue_rmtree(c->q->rootfd, path) == -1 &&
			    errno != ENOENT)
				log_warn("queue: cannot remove %s/%s",
				    c->q->path, path);
			it->error = it->jerror;
		} else if (it->viaj && it->error != 0) {
			errno = it->error;
			log_warn("queue: commit id=%s failed (journal: %s); "
			    "check free space and permissions of %s", it->id,
			    strerror(it->jerror), c->q->path);
		}
		it->jseg = NULL;
		queue_msg_free(it->msg);
		it->msg = NULL;
		free(it->sessjs);
		it->sessjs = NULL;
		queue_clist_push(&out, it);
	}
	if (nretry > 0) {
		errno = error;
		log_warn("queue: %zu acknowledged message(s) could not be "
		    "moved from the journal into %s/new; they stay in the "
		    "journal and are retried every %d s (check free space "
		    "and permissions)",
		    nretry, c->q->path, QUEUE_RETRY_SECS);
	}
	any = out.head != NULL;
	pthread_mutex_lock(&c->mtx);
	queue_clist_append(&c->done, &out);
	queue_clist_append(&c->retry, &retry);
	/*
	 * The journal thread completes the items whose move finished first:
	 * then every committer thread may be waiting without a timeout (the
	 * retry list was empty when it looked). Wake one to time the retry,
	 * or nothing would move these until the next message came.
	 */
	if (nretry > 0)
		pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mtx);
	if (any && write(c->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("queue: committer eventfd write");
}

/*
 * After a batch of the committer threads: an item is complete unless its
 * journal write is still under way (the journal thread completes it).
 */
static void
queue_commit_finish(struct queue_committer *c, struct queue_citem *batch)
{
	struct queue_clist fin;
	struct queue_citem *it, *next;

	queue_clist_init(&fin);
	pthread_mutex_lock(&c->mtx);
	for (it = batch; it != NULL; it = next) {
		next = it->next;
		it->mfinished = true;
		if (!it->viaj || it->jwritten)
			queue_clist_push(&fin, it);
	}
	pthread_mutex_unlock(&c->mtx);
	queue_commit_complete(c, fin.head);
}

static void *
queue_committer_main(void *arg)
{
	struct queue_committer *c = arg;
	struct queue_clist batch;
	struct queue_citem *it;
	struct timespec	 until;
	bool		 use_syncfs;
	char		 bucket[QUEUE_DAY_LEN + 1] = "";  /* known to this thread */

	for (;;) {
		pthread_mutex_lock(&c->mtx);
		while (c->pending.head == NULL && !c->stop) {
			if (c->retry.head == NULL) {
				pthread_cond_wait(&c->cond, &c->mtx);
				continue;
			}
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += QUEUE_RETRY_SECS;
			if (pthread_cond_timedwait(&c->cond, &c->mtx,
			    &until) == ETIMEDOUT && c->pending.head == NULL)
				queue_clist_append(&c->pending, &c->retry);
		}
		if (c->pending.head == NULL) {		/* stop, all done */
			pthread_mutex_unlock(&c->mtx);
			break;
		}
		/*
		 * At most QUEUE_MOVE_MAX at a time, so that the threads share
		 * a burst instead of one creating every file while the others
		 * wait (the 250 waits for the move).
		 */
		queue_clist_init(&batch);
		queue_clist_take(&batch, &c->pending, QUEUE_MOVE_MAX);
		if (c->pending.head != NULL)
			pthread_cond_signal(&c->cond);
		use_syncfs = !c->nosyncfs;
		c->nbatches++;
		pthread_mutex_unlock(&c->mtx);

		/* journaled records need no sync until their segment retires */
		for (it = batch.head; it != NULL; it = it->next)
			if (!it->viaj)
				break;
		queue_commit_batch(c, bucket, batch.head, use_syncfs,
		    it != NULL);
		queue_commit_finish(c, batch.head);
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
	if (!it->viaj)		/* journaled: one line per batch, later */
		log_warn("queue: commit id=%s failed at %s; check free space "
		    "and permissions of %s", it->id, what, c->q->path);
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
 * Make the renames of a batch durable: new/ if a bucket was made, then
 * each bucket once. An entry whose bucket cannot be synced fails.
 */
static void
queue_commit_sync_buckets(struct queue_committer *c,
    struct queue_citem *batch, bool new_dirty)
{
	struct queue_citem *it, *jt;
	char	 dst[QUEUE_PATH_MAX];
	int	 rootfd = c->q->rootfd, error;

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
}

/*
 * One batch: the items are this thread's until they go on the done list.
 * durable: make every entry durable before returning (syncfs, or fsync of
 * each file), for items that are not in the journal; otherwise nothing is
 * synced here: the journal keeps the records until a syncfs() retires
 * their segment.
 */
static void
queue_commit_batch(struct queue_committer *c, char *bucket,
    struct queue_citem *batch, bool use_syncfs, bool durable)
{
	struct queue_citem *it;
	int	 rootfd = c->q->rootfd;
	bool	 synced = false, new_dirty = false;

	/* write what the owner kept in memory: messages, session records */
	for (it = batch; it != NULL; it = it->next) {
		if (it->sessrec != NULL || it->sessjs != NULL) {
			it->session_error = 0;
			if (it->sessjs == NULL)
				it->sessjs = queue_session_dump(it->id,
				    it->sessrec, &it->sesslen);
			if (it->sessjs == NULL || queue_session_store(c->q,
			    it->id, it->sessjs, it->sesslen) == -1) {
				if (!it->viaj)
					log_warn("queue: session record id=%s "
					    "lost", it->id);
				it->session_error = errno ? errno : EIO;
			}
			it->error = -1;		/* not a message: skip below */
			continue;
		}
		if (queue_msg_store(it->msg) == -1)
			queue_commit_fail(c, it, errno, "write", "tmp");
	}
	if (durable && use_syncfs) {
		pthread_mutex_lock(&c->mtx);
		c->nsyncfs++;
		pthread_mutex_unlock(&c->mtx);
		if (syncfs(rootfd) == 0)
			synced = true;
		else
			log_warn("queue: syncfs %s; falling back to fsync",
			    c->q->path);
	}
	for (it = batch; it != NULL; it = it->next) {
		if (it->error != 0)
			continue;
		if (durable && !synced &&
		    queue_commit_fsync_one(rootfd, it->id) == -1) {
			queue_commit_fail(c, it, errno, "fsync", "tmp");
			continue;
		}
		if (queue_commit_rename(c, bucket, it, &new_dirty) == -1)
			queue_commit_fail(c, it, errno, "rename", "tmp");
	}
	if (durable)
		queue_commit_sync_buckets(c, batch, new_dirty);

	for (it = batch; it != NULL; it = it->next)
		if (it->error == -1) {		/* session records */
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
		if (it->stored && it->error == 0 && c->stored != NULL)
			c->stored(c->stored_arg, it->id, 0);
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
	struct queue_citem *it;
	size_t	 n = 0;
	int	 i;

	if (c == NULL)
		return;
	/* the journal thread first: it feeds the committer threads */
	pthread_mutex_lock(&c->mtx);
	c->jstop = true;
	pthread_cond_broadcast(&c->jcond);
	pthread_mutex_unlock(&c->mtx);
	if (c->jrunning)
		pthread_join(c->jthread, NULL);
	pthread_mutex_lock(&c->mtx);
	c->stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mtx);
	for (i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	queue_committer_dispatch(c);
	/* acknowledged, still only in the journal: the next start moves them */
	while ((it = c->retry.head) != NULL) {
		c->retry.head = it->next;
		queue_msg_free(it->msg);
		free(it->sessjs);
		free(it);
		n++;
	}
	if (n > 0)
		log_warnx("queue: %zu acknowledged message(s) remain in %s/"
		    "journal; the next start moves them into new/", n,
		    c->q->path);
	/* a clean stop leaves nothing to replay */
	(void)queue_journal_checkpoint(c->journal);
	queue_journal_close(c->journal);
	pthread_cond_destroy(&c->jcond);
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

/* test-only: the journal of c (NULL: none) */
struct queue_journal *
queue_committer_journal(struct queue_committer *c)
{
	return c->journal;
}

/* test-only: acknowledge only once in new/, as without a journal */
void
queue_committer_set_nojournal(struct queue_committer *c, bool on)
{
	pthread_mutex_lock(&c->mtx);
	c->nojournal = on;
	pthread_mutex_unlock(&c->mtx);
}

/* test-only: use the per-file fsync path instead of syncfs() */
void
queue_committer_set_nosyncfs(struct queue_committer *c, bool on)
{
	pthread_mutex_lock(&c->mtx);
	c->nosyncfs = on;
	pthread_mutex_unlock(&c->mtx);
}
