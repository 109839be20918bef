/*
 * queue_journal.c -- the commit journal: a message is acknowledged once
 * its record is durable here, and is moved into new/<day>/<id>/ by the
 * committer threads afterwards (docs/SPOOL.md, "Commit").
 *
 * The journal is a few segment files journal/seg<N>, each QUEUE_JSEG_SIZE
 * bytes written full of zeros when it is made. A batch of records is one
 * pwrite() over blocks that are already allocated and written, then one
 * fdatasync(): no file grows and no metadata changes, so the file system
 * flushes data blocks and the device cache but commits no journal
 * transaction of its own (ext4: 0.16 ms against 0.7-1.5 ms for creating
 * and syncing files, docs/PERFORMANCE.md).
 *
 * A segment is used from offset 0 with a sequence number higher than any
 * before; a record is
 *
 *   struct queue_jhdr  (magic "RTJ1", lengths, seq, id, SHA-256)
 *   envelope.json bytes, then message bytes
 *
 * and is valid only with the segment's seq and a matching SHA-256 over the
 * header (digest zeroed) and both payloads. Reading a segment stops at the
 * first invalid record: a torn write, or the stale records of the
 * segment's previous use. Each record counts against its segment until
 * the committer reports it in new/ (queue_journal_release); a segment that
 * is no longer written and holds no outstanding record is invalidated
 * (its first header replaced by a "retired" mark that keeps its seq, and
 * synced) and becomes a spare. The seq of a new use is higher than every
 * seq found at open, in a valid record or a retired mark, and than the
 * clock in microseconds: were a seq used again, the stale records behind
 * a new batch that ends on one of their boundaries would be valid again
 * (and bring back messages deleted or expired since). The retirer
 * thread does that (queue_jretirer), so that the writer never waits for
 * the syncfs() it takes; one syncfs() serves every segment queued by then.
 *
 * One thread writes (queue_journal_write); any thread releases. The
 * segment table is protected by one mutex; writing happens outside it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "queue.h"
#include "queue_priv.h"

#define QUEUE_JMAGIC	"RTJ1"
#define QUEUE_JRETIRED	"RTJ0"	/* first header of a retired segment */

struct queue_jhdr {
	char		 magic[4];
	uint32_t	 envlen;
	uint64_t	 seq;
	uint32_t	 msglen;
	uint32_t	 kind;		/* QUEUE_JK_MESSAGE or _SESSION */
	char		 id[QUEUE_ID_LEN];
	unsigned char	 sum[32];
};

enum queue_jseg_state {
	QUEUE_JS_ABSENT,	/* no file yet */
	QUEUE_JS_SPARE,		/* may be written from offset 0 */
	QUEUE_JS_CURRENT,	/* being written */
	QUEUE_JS_FULL,		/* written, records outstanding */
	QUEUE_JS_RETIRING,	/* being invalidated */
};

struct queue_jseg {
	int			 idx;
	int			 fd;
	enum queue_jseg_state	 state;
	uint64_t		 seq;
	size_t			 off;		/* next write */
	size_t			 outstanding;	/* records not yet in new/ */
	bool			 rqueued;	/* for the retirer thread */
};

struct queue_journal {
	struct queue		*q;
	int			 dirfd;
	pthread_mutex_t		 mtx;
	struct queue_jseg	 segs[QUEUE_JSEG_MAX];
	struct queue_jseg	*cur;		/* writer's segment, or NULL */
	uint64_t		 nextseq;
	unsigned char		*wbuf;		/* writer's batch buffer */
	size_t			 wcap;
	bool			 short_logged;	/* no segment: said once */
	pthread_t		 rthread;	/* the retirer (queue_jretirer) */
	pthread_cond_t		 rcond;		/* work for it, or stop */
	pthread_cond_t		 rdone;		/* it finished a round */
	size_t			 rpending;	/* segments queued for it */
	bool			 rbusy;		/* it is retiring some now */
	bool			 rrun;		/* it was started */
	bool			 rstop;
	uint64_t		 nwrites;	/* test counters */
	uint64_t		 nretired;
	uint64_t		 nsyncfs;
};

_Static_assert(sizeof(struct queue_jhdr) == 72, "journal header layout");

static int	 queue_jseg_create(struct queue_journal *j, struct queue_jseg *s);
static void	 queue_jseg_retire(struct queue_journal *j, struct queue_jseg *s);
static void	 queue_jseg_retire_async(struct queue_journal *j,
		    struct queue_jseg *s);
static void	*queue_jretirer(void *arg);

static void
queue_jsum(const struct queue_jhdr *h, const void *env, size_t envlen,
    const void *msg, size_t msglen, unsigned char out[32])
{
	struct queue_jhdr copy = *h;
	unsigned int	 len = 0;
	EVP_MD_CTX	*md;

	memset(copy.sum, 0, sizeof(copy.sum));
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, &copy, sizeof(copy)) != 1 ||
	    EVP_DigestUpdate(md, env, envlen) != 1 ||
	    EVP_DigestUpdate(md, msg, msglen) != 1 ||
	    EVP_DigestFinal_ex(md, out, &len) != 1 || len != 32)
		fatalx("queue: SHA-256 of a journal record failed (OpenSSL)");
	EVP_MD_CTX_free(md);
}

static void
queue_jseg_name(int idx, char *buf, size_t len)
{
	(void)bsnprintf(buf, len, "seg%d", idx);
}

/*
 * Parse the records of one segment image (len bytes at p): cb gets each
 * valid one in order. Returns the segment's seq (0: no valid record) and
 * in *nrec the number of records cb took (returning 1). Without cb only
 * the seq is wanted: the scan stops after the first valid record.
 */
static uint64_t
queue_jseg_scan(const unsigned char *p, size_t len, queue_jrec_cb cb,
    void *arg, struct queue_jseg *s, size_t *nrec)
{
	struct queue_jhdr h;
	unsigned char	 sum[32];
	char		 id[QUEUE_ID_LEN + 1];
	uint64_t	 seq = 0;
	size_t		 off = 0, body;

	*nrec = 0;
	while (len - off >= sizeof(h)) {
		memcpy(&h, p + off, sizeof(h));
		if (memcmp(h.magic, QUEUE_JMAGIC, 4) != 0 ||
		    (h.kind != QUEUE_JK_MESSAGE && h.kind != QUEUE_JK_SESSION) ||
		    (h.kind == QUEUE_JK_SESSION && h.msglen != 0) ||
		    h.seq == 0 || (seq != 0 && h.seq != seq))
			break;
		body = (size_t)h.envlen + h.msglen;
		if (h.envlen == 0 || h.envlen > QUEUE_JSON_MAX ||
		    body > len - off - sizeof(h))
			break;
		memcpy(id, h.id, QUEUE_ID_LEN);
		id[QUEUE_ID_LEN] = '\0';
		if (!queue_id_valid(id))
			break;
		queue_jsum(&h, p + off + sizeof(h), h.envlen,
		    p + off + sizeof(h) + h.envlen, h.msglen, sum);
		if (memcmp(sum, h.sum, sizeof(sum)) != 0)
			break;
		seq = h.seq;
		if (cb == NULL)
			break;
		if (cb(arg, s, (int)h.kind, id, (const char *)p + off +
		    sizeof(h), h.envlen, p + off + sizeof(h) + h.envlen,
		    h.msglen) == 1)
			(*nrec)++;
		off += sizeof(h) + body;
	}
	return seq;
}

/*
 * queue_journal_open -- open journal/ under q's root (creating it and one
 * zero-filled segment if missing) and hand every valid record of every
 * segment to cb, oldest segment first, for the caller to move into new/.
 * cb returns 1 when it takes the record (it then counts against its
 * segment until released) or 0 to skip it (already in the spool). Returns
 * the journal, or NULL with errno when there is no usable journal (for
 * example no room for a segment: the caller then commits without one).
 */
struct queue_journal *
queue_journal_open(struct queue *q, queue_jrec_cb cb, void *arg)
{
	struct queue_journal *j;
	struct queue_jseg *order[QUEUE_JSEG_MAX], *t;
	struct queue_jhdr mark;
	struct timespec	 now;
	unsigned char	*img;
	char		 name[16];
	struct stat	 st;
	size_t		 nrec, n = 0, i, k;
	int		 fd, saved;

	if (mkdirat(q->rootfd, "journal", QUEUE_DIR_MODE) == -1 &&
	    errno != EEXIST)
		return NULL;
	if ((fd = openat(q->rootfd, "journal", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) == -1)
		return NULL;
	j = xcalloc(1, sizeof(*j));
	j->q = q;
	j->dirfd = fd;
	j->nextseq = 1;
	pthread_mutex_init(&j->mtx, NULL);
	for (i = 0; i < QUEUE_JSEG_MAX; i++) {
		j->segs[i].idx = (int)i;
		j->segs[i].fd = -1;
		queue_jseg_name((int)i, name, sizeof(name));
		fd = openat(j->dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd == -1)
			continue;
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
		    st.st_size != QUEUE_JSEG_SIZE) {
			/* a segment cut short while being made: make it again */
			close(fd);
			(void)unlinkat(j->dirfd, name, 0);
			continue;
		}
		j->segs[i].fd = fd;
		j->segs[i].state = QUEUE_JS_SPARE;
		/*
		 * Mapped, not read into a 4 MiB buffer: freeing one would
		 * raise glibc's mmap and trim thresholds for the life of
		 * the process (the SMTP role's memory with idle sessions).
		 */
		img = mmap(NULL, QUEUE_JSEG_SIZE, PROT_READ, MAP_PRIVATE, fd,
		    0);
		if (img == MAP_FAILED) {
			log_warn("queue: cannot read journal/%s of %s; its "
			    "records are skipped", name, q->path);
			continue;
		}
		j->segs[i].seq = queue_jseg_scan(img, QUEUE_JSEG_SIZE, NULL,
		    NULL, &j->segs[i], &nrec);
		memcpy(&mark, img, sizeof(mark));
		(void)munmap(img, QUEUE_JSEG_SIZE);
		if (j->segs[i].seq >= j->nextseq)
			j->nextseq = j->segs[i].seq + 1;
		/* retired: its records used mark.seq, never to be used again */
		if (j->segs[i].seq == 0 &&
		    memcmp(mark.magic, QUEUE_JRETIRED, 4) == 0 &&
		    mark.seq >= j->nextseq)
			j->nextseq = mark.seq + 1;
		if (j->segs[i].seq != 0)
			order[n++] = &j->segs[i];
	}
	/*
	 * Also above the clock: covers segments retired without a mark
	 * (zeroed by an earlier version), whose stale records hold a seq
	 * that was taken from a counter restarting at 1.
	 */
	clock_gettime(CLOCK_REALTIME, &now);
	if ((uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000 >
	    j->nextseq)
		j->nextseq = (uint64_t)now.tv_sec * 1000000 +
		    (uint64_t)now.tv_nsec / 1000;
	/* replay oldest first */
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && order[k - 1]->seq > order[k]->seq; k--) {
			t = order[k];
			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	for (i = 0; i < n; i++) {
		img = mmap(NULL, QUEUE_JSEG_SIZE, PROT_READ, MAP_PRIVATE,
		    order[i]->fd, 0);
		if (img == MAP_FAILED)
			continue;
		order[i]->state = QUEUE_JS_FULL;
		(void)queue_jseg_scan(img, QUEUE_JSEG_SIZE, cb, arg, order[i],
		    &nrec);
		(void)munmap(img, QUEUE_JSEG_SIZE);
		order[i]->outstanding += nrec;
		if (nrec > 0)
			log_info("queue: journal/seg%d of %s holds %zu "
			    "record(s) to move into new/", order[i]->idx,
			    q->path, nrec);
	}
	for (i = 0; i < QUEUE_JSEG_MAX; i++)
		if (j->segs[i].state == QUEUE_JS_SPARE ||
		    j->segs[i].state == QUEUE_JS_FULL)
			break;
	if (i == QUEUE_JSEG_MAX && queue_jseg_create(j, &j->segs[0]) == -1) {
		saved = errno;
		queue_journal_close(j);
		errno = saved;
		return NULL;
	}
	/* segments without outstanding records become spares */
	for (i = 0; i < QUEUE_JSEG_MAX; i++)
		if (j->segs[i].state == QUEUE_JS_FULL &&
		    j->segs[i].outstanding == 0) {
			j->segs[i].state = QUEUE_JS_RETIRING;
			queue_jseg_retire(j, &j->segs[i]);
		}
	pthread_cond_init(&j->rcond, NULL);
	pthread_cond_init(&j->rdone, NULL);
	/* without the thread, segments are retired by whoever frees them */
	j->rrun = pthread_create(&j->rthread, NULL, queue_jretirer, j) == 0;
	return j;
}

/* write segment s's file full of zeros, durably; the writer's thread */
static int
queue_jseg_create(struct queue_journal *j, struct queue_jseg *s)
{
	static const unsigned char zero[64 * 1024];
	char	 name[16], tmp[24];
	size_t	 off;
	int	 fd, saved;

	queue_jseg_name(s->idx, name, sizeof(name));
	(void)bsnprintf(tmp, sizeof(tmp), ".%s", name);
	fd = openat(j->dirfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, QUEUE_FILE_MODE);
	if (fd == -1)
		return -1;
	for (off = 0; off < QUEUE_JSEG_SIZE; off += sizeof(zero))
		if (queue_write_all(fd, zero, sizeof(zero)) == -1)
			goto fail;
	if (fsync(fd) == -1 || renameat(j->dirfd, tmp, j->dirfd, name) == -1 ||
	    fsync(j->dirfd) == -1)
		goto fail;
	s->fd = fd;
	s->state = QUEUE_JS_SPARE;
	s->seq = 0;
	s->off = 0;
	s->outstanding = 0;
	return 0;
fail:
	saved = errno;
	close(fd);
	(void)unlinkat(j->dirfd, tmp, 0);
	errno = saved;
	return -1;
}

/*
 * Retire segments v[0..n-1] (state RETIRING, set under the mutex): their
 * records were moved into the spool without syncs of their own, so first
 * make the whole spool durable (one syncfs for all of them), then replace
 * each one's first header by a retired mark (keeping the seq, so that no
 * later use takes it again) so that a restart does not replay them, and
 * make it a spare. Without the mutex held.
 */
static void
queue_jseg_retire_many(struct queue_journal *j, struct queue_jseg **v,
    size_t n)
{
	struct queue_jhdr mark;
	size_t	 i;

	if (n == 0)
		return;
	if (syncfs(j->q->rootfd) == -1) {
		/* keep the records: a restart moves them again */
		log_warn("queue: syncfs %s; %zu journal segment(s) stay in use",
		    j->q->path, n);
		pthread_mutex_lock(&j->mtx);
		for (i = 0; i < n; i++) {
			v[i]->state = QUEUE_JS_FULL;
			v[i]->outstanding = 0;
		}
		pthread_mutex_unlock(&j->mtx);
		return;
	}
	for (i = 0; i < n; i++) {
		memset(&mark, 0, sizeof(mark));
		memcpy(mark.magic, QUEUE_JRETIRED, 4);
		mark.seq = v[i]->seq;
		if (pwrite(v[i]->fd, &mark, sizeof(mark), 0) != sizeof(mark) ||
		    fdatasync(v[i]->fd) == -1)
			log_warn("queue: cannot invalidate journal/seg%d of %s; "
			    "a restart may move its records into new/ again",
			    v[i]->idx, j->q->path);
	}
	pthread_mutex_lock(&j->mtx);
	for (i = 0; i < n; i++) {
		v[i]->state = QUEUE_JS_SPARE;
		v[i]->off = 0;
		j->nretired++;
	}
	j->nsyncfs++;
	pthread_mutex_unlock(&j->mtx);
}

/* retire s now, in this thread (see queue_jseg_retire_many) */
static void
queue_jseg_retire(struct queue_journal *j, struct queue_jseg *s)
{
	queue_jseg_retire_many(j, &s, 1);
}

/*
 * Hand s (state RETIRING, set by the caller under the mutex) to the
 * retirer thread, so that the journal's writer does not wait for the
 * syncfs() (tens of milliseconds under load) before its next batch.
 * Without the mutex held.
 */
static void
queue_jseg_retire_async(struct queue_journal *j, struct queue_jseg *s)
{
	if (!j->rrun) {
		queue_jseg_retire(j, s);
		return;
	}
	pthread_mutex_lock(&j->mtx);
	s->rqueued = true;
	j->rpending++;
	pthread_cond_signal(&j->rcond);
	pthread_mutex_unlock(&j->mtx);
}

/*
 * The retirer thread: retires the segments queued for it, all of those
 * queued meanwhile with one syncfs(), until told to stop with none left.
 */
static void *
queue_jretirer(void *arg)
{
	struct queue_journal *j = arg;
	struct queue_jseg *v[QUEUE_JSEG_MAX];
	size_t	 i, n;

	pthread_mutex_lock(&j->mtx);
	for (;;) {
		while (j->rpending == 0 && !j->rstop)
			pthread_cond_wait(&j->rcond, &j->mtx);
		if (j->rpending == 0)
			break;		/* told to stop, nothing left */
		for (i = 0, n = 0; i < QUEUE_JSEG_MAX; i++)
			if (j->segs[i].rqueued) {
				j->segs[i].rqueued = false;
				v[n++] = &j->segs[i];
			}
		j->rpending = 0;
		j->rbusy = true;
		pthread_mutex_unlock(&j->mtx);
		queue_jseg_retire_many(j, v, n);
		pthread_mutex_lock(&j->mtx);
		j->rbusy = false;
		pthread_cond_broadcast(&j->rdone);
	}
	pthread_mutex_unlock(&j->mtx);
	return NULL;
}

/*
 * Pick the segment to write len more bytes into: the current one if they
 * fit, else a spare, else a new file. NULL with errno ENOSPC when every
 * segment is full of outstanding records (or no new one can be made).
 */
static struct queue_jseg *
queue_jseg_pick(struct queue_journal *j, size_t len)
{
	struct queue_jseg *s = NULL;
	size_t	 i;

	if (len > QUEUE_JSEG_SIZE) {
		errno = EFBIG;
		return NULL;
	}
	pthread_mutex_lock(&j->mtx);
	if (j->cur != NULL && QUEUE_JSEG_SIZE - j->cur->off >= len) {
		s = j->cur;
		goto out;
	}
	if (j->cur != NULL) {		/* full: retired when released */
		struct queue_jseg *full = j->cur;

		j->cur = NULL;
		full->state = QUEUE_JS_FULL;
		if (full->outstanding == 0) {
			full->state = QUEUE_JS_RETIRING;
			pthread_mutex_unlock(&j->mtx);
			queue_jseg_retire_async(j, full);
			pthread_mutex_lock(&j->mtx);
		}
	}
	for (i = 0; i < QUEUE_JSEG_MAX && s == NULL; i++)
		if (j->segs[i].state == QUEUE_JS_SPARE)
			s = &j->segs[i];
	for (i = 0; i < QUEUE_JSEG_MAX && s == NULL; i++)
		if (j->segs[i].state == QUEUE_JS_ABSENT) {
			pthread_mutex_unlock(&j->mtx);
			if (queue_jseg_create(j, &j->segs[i]) == -1) {
				/* once per shortage, not once per batch */
				if (!j->short_logged)
					log_warn("queue: cannot make journal/"
					    "seg%zu in %s; committing without "
					    "the journal meanwhile", i,
					    j->q->path);
				j->short_logged = true;
				errno = ENOSPC;
				return NULL;
			}
			pthread_mutex_lock(&j->mtx);
			s = &j->segs[i];
		}
	if (s == NULL) {
		pthread_mutex_unlock(&j->mtx);
		errno = ENOSPC;
		return NULL;
	}
	s->state = QUEUE_JS_CURRENT;
	s->seq = j->nextseq++;
	s->off = 0;
	j->cur = s;
	j->short_logged = false;
out:
	pthread_mutex_unlock(&j->mtx);
	return s;
}

/*
 * queue_journal_fits -- whether a record of these payloads fits into a
 * segment at all; one that does not is committed the old, synced way.
 */
bool
queue_journal_fits(size_t envlen, size_t msglen)
{
	return sizeof(struct queue_jhdr) + envlen + msglen <= QUEUE_JSEG_SIZE;
}

/*
 * queue_journal_write -- the writer thread: make records r[0..n-1]
 * durable, as many as fit into one segment with one pwrite() and one
 * fdatasync(). Sets r[i].seg for each one written; each then counts
 * against its segment until queue_journal_release(). Returns the number
 * written (at least 1), or -1 with errno: EFBIG (r[0] is larger than a
 * segment), ENOSPC (no segment free), EIO or another write error. The
 * caller commits the records not written some other way.
 */
int
queue_journal_write(struct queue_journal *j, struct queue_jrec *r, size_t n)
{
	struct queue_jseg *s;
	struct queue_jhdr h;
	size_t	 len, total = 0, i, k;
	ssize_t	 w = 0;

	if (n == 0)
		return 0;
	len = sizeof(h) + r[0].envlen + r[0].msglen;
	if ((s = queue_jseg_pick(j, len)) == NULL)
		return -1;
	/* as many as fit in what is left of s */
	for (k = 0; k < n; k++) {
		len = sizeof(h) + r[k].envlen + r[k].msglen;
		if (len > QUEUE_JSEG_SIZE - s->off - total)
			break;
		total += len;
	}
	if (total > j->wcap) {
		free(j->wbuf);
		j->wcap = total < 256 * 1024 ? 256 * 1024 : total;
		j->wbuf = xmalloc(j->wcap);
	}
	for (i = 0, len = 0; i < k; i++) {
		memset(&h, 0, sizeof(h));
		memcpy(h.magic, QUEUE_JMAGIC, 4);
		h.envlen = (uint32_t)r[i].envlen;
		h.msglen = (uint32_t)r[i].msglen;
		h.kind = (uint32_t)r[i].kind;
		h.seq = s->seq;
		memcpy(h.id, r[i].id, QUEUE_ID_LEN);
		queue_jsum(&h, r[i].env, r[i].envlen, r[i].msg, r[i].msglen,
		    h.sum);
		memcpy(j->wbuf + len, &h, sizeof(h));
		len += sizeof(h);
		memcpy(j->wbuf + len, r[i].env, r[i].envlen);
		len += r[i].envlen;
		if (r[i].msglen > 0)
			memcpy(j->wbuf + len, r[i].msg, r[i].msglen);
		len += r[i].msglen;
	}
	/* count them first: a release may not retire s meanwhile */
	pthread_mutex_lock(&j->mtx);
	s->outstanding += k;
	pthread_mutex_unlock(&j->mtx);
	for (i = 0; i < total; i += (size_t)w) {
		w = pwrite(s->fd, j->wbuf + i, total - i,
		    (off_t)(s->off + i));
		if (w <= 0)
			goto fail;
	}
	if (fdatasync(s->fd) == -1)
		goto fail;
	s->off += total;
	j->nwrites++;
	for (i = 0; i < k; i++)
		r[i].seg = s;
	return (int)k;
fail:
	{
		int	 saved = w == 0 ? EIO : errno;

		log_warn("queue: journal/seg%d of %s: write failed; "
		    "committing without the journal", s->idx, j->q->path);
		/*
		 * What reached the disk is unknown: this segment takes no
		 * more records; those written before stay valid.
		 */
		pthread_mutex_lock(&j->mtx);
		s->outstanding -= k;
		s->state = QUEUE_JS_FULL;
		j->cur = NULL;
		if (s->outstanding == 0)
			s->state = QUEUE_JS_RETIRING;
		pthread_mutex_unlock(&j->mtx);
		if (s->state == QUEUE_JS_RETIRING)
			queue_jseg_retire_async(j, s);
		errno = saved;
		return -1;
	}
}

/*
 * queue_journal_release -- a record of segment s is in the spool (written
 * and renamed, not necessarily synced): it no longer counts against s.
 * When s is full and this was its last outstanding record, s is retired:
 * syncfs() of the spool, then s is invalidated. Any thread.
 */
void
queue_journal_release(struct queue_journal *j, struct queue_jseg *s)
{
	bool	 retire = false;

	pthread_mutex_lock(&j->mtx);
	if (s->outstanding == 0)
		fatalx("%s: journal/seg%d released too often", __func__,
		    s->idx);
	if (--s->outstanding == 0 && s->state == QUEUE_JS_FULL) {
		s->state = QUEUE_JS_RETIRING;
		retire = true;
	}
	pthread_mutex_unlock(&j->mtx);
	if (retire)
		queue_jseg_retire_async(j, s);
}

/*
 * queue_journal_checkpoint -- at a clean stop, with no writer left: retire
 * every segment (the current one too) whose records are all in the spool,
 * with one syncfs() for all of them. Returns how many were retired.
 */
int
queue_journal_checkpoint(struct queue_journal *j)
{
	struct queue_jseg *ret[QUEUE_JSEG_MAX];
	size_t	 i, n = 0;

	if (j == NULL)
		return 0;
	pthread_mutex_lock(&j->mtx);
	/* what the retirer thread has in hand is done first */
	while (j->rpending > 0 || j->rbusy)
		pthread_cond_wait(&j->rdone, &j->mtx);
	for (i = 0; i < QUEUE_JSEG_MAX; i++)
		if ((j->segs[i].state == QUEUE_JS_CURRENT ||
		    j->segs[i].state == QUEUE_JS_FULL) &&
		    j->segs[i].outstanding == 0 && j->segs[i].off > 0) {
			j->segs[i].state = QUEUE_JS_RETIRING;
			ret[n++] = &j->segs[i];
		}
	j->cur = NULL;
	pthread_mutex_unlock(&j->mtx);
	queue_jseg_retire_many(j, ret, n);
	return (int)n;
}

/*
 * queue_journal_close -- close the files and free j (NULL is fine). Records
 * still outstanding stay in their segments for the next open to replay.
 */
void
queue_journal_close(struct queue_journal *j)
{
	size_t	 i;

	if (j == NULL)
		return;
	if (j->rrun) {
		/* it retires what is queued, then ends */
		pthread_mutex_lock(&j->mtx);
		j->rstop = true;
		pthread_cond_signal(&j->rcond);
		pthread_mutex_unlock(&j->mtx);
		pthread_join(j->rthread, NULL);
		pthread_cond_destroy(&j->rcond);
		pthread_cond_destroy(&j->rdone);
	}
	for (i = 0; i < QUEUE_JSEG_MAX; i++)
		if (j->segs[i].fd != -1)
			close(j->segs[i].fd);
	close(j->dirfd);
	pthread_mutex_destroy(&j->mtx);
	free(j->wbuf);
	free(j);
}

struct queue_junmoved {
	struct queue	*q;
	size_t		 n;
};

static int
queue_junmoved_cb(void *arg, struct queue_jseg *s, int kind, const char *id,
    const char *env, size_t envlen, const void *msg, size_t msglen)
{
	struct queue_junmoved *u = arg;
	struct queue_entry e;

	if (kind == QUEUE_JK_MESSAGE && queue_find(u->q, id, &e) == -1 &&
	    errno == ENOENT && !queue_tomb_has(u->q, id))
		u->n++;
	return 0;
}

/*
 * queue_journal_unmoved -- for readers of the spool (the CLI): count in
 * *nmsg the messages whose record is valid in journal/ but which are in
 * neither new/, cur/ nor corrupt/ and was not deleted. Such a message
 * was acknowledged, and relaytrapd moves it into new/ when it starts (or
 * at once, if it is running: the count then catches messages in
 * flight). Reads only; a
 * spool without a journal counts 0. Returns 0, or -1 with errno when
 * the journal cannot be read (e.g. permissions).
 */
int
queue_journal_unmoved(struct queue *q, size_t *nmsg)
{
	struct queue_junmoved u = { q, 0 };
	unsigned char	*img;
	char		 name[16];
	struct stat	 st;
	size_t		 nrec;
	int		 dfd, fd, i;

	*nmsg = 0;
	if ((dfd = openat(q->rootfd, "journal", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) == -1)
		return errno == ENOENT ? 0 : -1;
	for (i = 0; i < QUEUE_JSEG_MAX; i++) {
		queue_jseg_name(i, name, sizeof(name));
		if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW)) == -1) {
			if (errno == ENOENT)
				continue;
			close(dfd);
			return -1;
		}
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size == QUEUE_JSEG_SIZE &&
		    (img = mmap(NULL, QUEUE_JSEG_SIZE, PROT_READ, MAP_PRIVATE,
		    fd, 0)) != MAP_FAILED) {
			(void)queue_jseg_scan(img, QUEUE_JSEG_SIZE,
			    queue_junmoved_cb, &u, NULL, &nrec);
			(void)munmap(img, QUEUE_JSEG_SIZE);
		}
		close(fd);
	}
	close(dfd);
	*nmsg = u.n;
	return 0;
}

/* test-only: batches written, segments retired, syncfs() calls */
void
queue_journal_counters(struct queue_journal *j, uint64_t *writes,
    uint64_t *retired, uint64_t *nsyncfs)
{
	pthread_mutex_lock(&j->mtx);
	*writes = j->nwrites;
	*retired = j->nretired;
	*nsyncfs = j->nsyncfs;
	pthread_mutex_unlock(&j->mtx);
}
