/*
 * test_queue_commit.c -- the writer and the group-commit thread: chunked
 * writes, durable commit, 500 messages in few batches, the fsync
 * fallback, failures removing tmp/, and free() completing everything.
 * Uses a temp spool under /tmp; waits on the committer fd with a deadline.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "queue.h"
#include "queue_priv.h"
#include "../tap.h"
#include "testutil.h"

#define DEADLINE_MS	30000
#define NMANY		500

struct done_log {
	int	 n;
	int	 nstored;
	int	 nerr;
	int	 last_error;
	char	 ids[NMANY + 16][QUEUE_ID_LEN + 1];
};

static char	 topdir[] = "/tmp/rt-test-queue-commit.XXXXXX";

static void
on_done(void *arg, const char *id, int error)
{
	struct done_log *d = arg;

	if (d->n < NMANY + 16)
		memcpy(d->ids[d->n], id, QUEUE_ID_LEN + 1);
	d->n++;
	if (error != 0) {
		d->nerr++;
		d->last_error = error;
	}
}

static void
on_stored(void *arg, const char *id, int error)
{
	struct done_log *d = arg;

	d->nstored++;
}

/* a committer whose stored callbacks count in d */
static struct queue_committer *
committer(struct queue *q, struct done_log *d)
{
	struct queue_committer *c;

	if ((c = queue_committer_new(q)) != NULL)
		queue_committer_set_stored(c, on_stored, d);
	return c;
}

/* dispatch until *counter reaches want or the deadline passes */
static int
wait_count(struct queue_committer *c, int *counter, int want)
{
	struct pollfd	 pfd;
	long long	 end = tu_now_ms() + DEADLINE_MS, left;

	pfd.fd = queue_committer_fd(c);
	pfd.events = POLLIN;
	while (*counter < want) {
		if ((left = end - tu_now_ms()) <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) > 0)
			queue_committer_dispatch(c);
	}
	return 0;
}

/* until want done callbacks (acknowledged or failed) */
static int
wait_done(struct queue_committer *c, struct done_log *d, int want)
{
	return wait_count(c, &d->n, want);
}

/* until want stored callbacks (in new/) */
static int
wait_stored(struct queue_committer *c, struct done_log *d, int want)
{
	return wait_count(c, &d->nstored, want);
}

static struct queue *
spool(const char *name)
{
	char	 path[256], err[512];
	struct queue *q;

	snprintf(path, sizeof(path), "%s/%s", topdir, name);
	if ((q = queue_open(path, QUEUE_F_CREATE, err, sizeof(err))) == NULL)
		printf("# %s\n", err);
	return q;
}

static size_t
read_at(int rootfd, const char *path, void *buf, size_t len)
{
	ssize_t	 r;
	size_t	 got = 0;
	int	 fd;

	if ((fd = openat(rootfd, path, O_RDONLY)) == -1)
		return (size_t)-1;
	while (got < len && (r = read(fd, (char *)buf + got, len - got)) > 0)
		got += (size_t)r;
	close(fd);
	return got;
}

static int
count_entries(int rootfd, const char *dir)
{
	char	**names;
	size_t	  n;

	if (queue_list(rootfd, dir, QUEUE_L_DOT, &names, &n) == -1)
		return -1;
	queue_list_free(names, n);
	{
		char	**ids;
		size_t	  ni;

		if (queue_list(rootfd, dir, QUEUE_L_ID, &ids, &ni) == -1)
			return -1;
		queue_list_free(ids, ni);
		return (int)(n + ni);
	}
}

static int	 count_found(struct queue *q, struct done_log *d, int from,
		    int to);

static struct queue_msg *
make_msg(struct queue *q, const char *text, size_t len)
{
	struct queue_msg *m;
	json_t	*env;
	int	 rc;

	if ((m = queue_msg_new(q)) == NULL)
		return NULL;
	env = json_pack("{s:i, s:s}", "version", 1, "persona", "postfix");
	rc = queue_msg_write(m, text, len) == 0 && queue_msg_close(m, env) == 0;
	json_decref(env);
	if (!rc) {
		queue_msg_abort(m);
		return NULL;
	}
	return m;
}

static void
test_one(void)
{
	struct queue	*q = spool("one");
	struct queue_committer *c;
	struct queue_msg *m;
	struct queue_entry e;
	struct done_log	 d;
	unsigned char	 md[32], big[200000];
	char		 id[QUEUE_ID_LEN + 1], day[QUEUE_DAY_LEN + 1];
	char		 path[256], hex[65], err[256];
	unsigned char	*back;
	json_t		*env, *loaded;
	unsigned int	 mdlen, i;
	size_t		 off, n;
	struct timespec	 ts;

	memset(&d, 0, sizeof(d));
	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + (i >> 9));
	memcpy(big + sizeof(big) - 5, "\r\n.\r\n", 5);
	c = committer(q, &d);
	ok(c != NULL, "committer starts");
	m = queue_msg_new(q);
	ok(m != NULL, "msg_new");
	strcpy(id, queue_msg_id(m));
	ok(queue_id_valid(id), "msg id valid");
	snprintf(path, sizeof(path), "tmp/%s", id);
	ok(faccessat(queue_rootfd(q), path, F_OK, 0) == -1,
	    "nothing on disk before the commit");
	/* uneven chunks across the 64 KiB buffer boundary */
	for (off = 0, n = 1; off < sizeof(big); off += n, n = n * 3 + 1) {
		if (n > sizeof(big) - off)
			n = sizeof(big) - off;
		if (queue_msg_write(m, big + off, n) == -1)
			break;
	}
	is_int(queue_msg_size(m), sizeof(big), "size counted while writing");
	env = json_pack("{s:i, s:s, s:[s]}", "version", 1, "persona",
	    "postfix", "transcript", "C: EHLO x");
	is_int(queue_msg_close(m, env), 0, "msg_close");
	ok(json_is_string(json_object_get(env, "id")) && strcmp(
	    json_string_value(json_object_get(env, "id")), id) == 0,
	    "close sets id in the caller's envelope");
	queue_committer_submit(c, m, on_done, &d);
	ok(wait_done(c, &d, 1) == 0, "done callback arrives");
	is_int(d.nerr, 0, "commit ok");
	is_str(d.ids[0], id, "callback gets the id");
	ok(wait_stored(c, &d, 1) == 0, "stored callback: it is in new/");

	queue_id_time(id, &ts);
	queue_day_of(&ts, day);
	snprintf(path, sizeof(path), "new/%s/%s/message", day, id);
	back = malloc(sizeof(big) + 1);
	n = read_at(queue_rootfd(q), path, back, sizeof(big) + 1);
	is_mem(back, n, big, sizeof(big), "bytes identical in new/<day>/<id>");
	free(back);
	snprintf(path, sizeof(path), "tmp/%s", id);
	ok(faccessat(queue_rootfd(q), path, F_OK, 0) == -1 && errno == ENOENT,
	    "tmp/<id> gone");

	ok(queue_find(q, id, &e) == 0 && e.state == QUEUE_ST_NEW &&
	    strcmp(e.day, day) == 0, "find in new/%s", day);
	loaded = queue_envelope_load(q, &e, err, sizeof(err));
	ok(loaded != NULL, "envelope loads %s", loaded ? "" : err);
	EVP_Digest(big, sizeof(big), md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	is_int(json_integer_value(json_object_get(loaded, "size")),
	    sizeof(big), "envelope size");
	is_str(json_string_value(json_object_get(loaded, "sha256")), hex,
	    "envelope sha256");
	is_str(json_string_value(json_object_get(loaded, "persona")),
	    "postfix", "envelope keeps the caller's fields");
	json_decref(loaded);
	is_int(queue_validate(q, &e, err, sizeof(err)), 0, "validate ok");
	json_decref(env);
	queue_committer_free(c);
	queue_close(q);
}

static void
test_many(void)
{
	struct queue	*q = spool("many");
	static struct done_log d;
	struct queue_committer *c = committer(q, &d);
	static struct queue_msg *msgs[NMANY];
	struct queue_entry e;
	char	 text[64], err[256];
	int	 i, made = 0, found = 0, valid = 0, sorted = 1;
	uint64_t nsync, nbatch;

	memset(&d, 0, sizeof(d));
	for (i = 0; i < NMANY; i++) {
		snprintf(text, sizeof(text), "Subject: %d\r\n\r\nbody %d\r\n",
		    i, i);
		if ((msgs[i] = make_msg(q, text, strlen(text))) != NULL)
			made++;
	}
	is_int(made, NMANY, "%d messages written", NMANY);
	for (i = 0; i < NMANY; i++)
		if (msgs[i] != NULL)
			queue_committer_submit(c, msgs[i], on_done, &d);
	ok(wait_done(c, &d, made) == 0, "all %d callbacks", made);
	is_int(d.nerr, 0, "no commit errors");
	is_int(count_found(q, &d, 0, made), made,
	    "each in new/ when its done callback runs");
	ok(wait_stored(c, &d, made) == 0, "all %d stored", made);
	{
		uint64_t jw, jr, js;

		queue_journal_counters(queue_committer_journal(c), &jw, &jr,
		    &js);
		printf("# %d messages in %llu journal writes\n", NMANY,
		    (unsigned long long)jw);
		ok(jw >= 1 && jw < NMANY / 2, "journal writes batched: %llu "
		    "for %d", (unsigned long long)jw, NMANY);
		is_int(queue_committer_nsyncfs(c), 0,
		    "moving journaled messages into new/ syncs nothing");
	}
	for (i = 0; i < d.n && i < NMANY; i++) {
		if (queue_find(q, d.ids[i], &e) == 0 &&
		    e.state == QUEUE_ST_NEW) {
			found++;
			if (queue_validate(q, &e, err, sizeof(err)) == 0)
				valid++;
		}
		/* several committer threads: batches may finish out of order */
		if (i > 0 && strcmp(d.ids[i - 1], d.ids[i]) == 0)
			sorted = 0;
	}
	is_int(found, NMANY, "all in new/");
	is_int(valid, NMANY, "all validate");
	ok(sorted, "one callback per message, no id twice in a row");
	is_int(count_entries(queue_rootfd(q), "tmp"), 0, "tmp/ empty");
	queue_committer_free(c);

	/* without the journal: batches of files, one syncfs() each */
	memset(&d, 0, sizeof(d));
	c = committer(q, &d);
	queue_committer_set_nojournal(c, true);
	for (i = 0, made = 0; i < NMANY; i++) {
		snprintf(text, sizeof(text), "Subject: %d\r\n\r\nbody\r\n",
		    i);
		if ((msgs[i] = make_msg(q, text, strlen(text))) != NULL) {
			queue_committer_submit(c, msgs[i], on_done, &d);
			made++;
		}
	}
	ok(wait_done(c, &d, made) == 0 && d.nerr == 0 && made == NMANY,
	    "without the journal: all %d acknowledged", made);
	is_int(count_found(q, &d, 0, NMANY), NMANY,
	    "in new/ when acknowledged");
	nsync = queue_committer_nsyncfs(c);
	nbatch = queue_committer_nbatches(c);
	printf("# %d messages in %llu batches, %llu syncfs\n", NMANY,
	    (unsigned long long)nbatch, (unsigned long long)nsync);
	ok(nsync >= 1 && nsync < NMANY / 2, "batched: %llu syncfs for %d",
	    (unsigned long long)nsync, NMANY);
	queue_committer_free(c);
	queue_close(q);
}

static void
test_fallback(void)
{
	struct queue	*q = spool("fallback");
	struct done_log	 d;
	struct queue_committer *c;
	struct queue_entry e;
	char	 err[256];
	int	 i;

	memset(&d, 0, sizeof(d));
	c = committer(q, &d);
	queue_committer_set_nojournal(c, true);
	queue_committer_set_nosyncfs(c, true);
	for (i = 0; i < 3; i++)
		queue_committer_submit(c, make_msg(q, "x\r\n", 3), on_done,
		    &d);
	ok(wait_done(c, &d, 3) == 0 && d.nerr == 0 &&
	    wait_stored(c, &d, 3) == 0, "fsync fallback commits");
	is_int(queue_committer_nsyncfs(c), 0, "no syncfs used");
	ok(queue_find(q, d.ids[2], &e) == 0 &&
	    queue_validate(q, &e, err, sizeof(err)) == 0,
	    "fallback message valid");
	queue_committer_free(c);
	queue_close(q);
}

static void
test_failures(void)
{
	struct queue	*q = spool("fail");
	struct queue_committer *c;
	struct queue_msg *m;
	struct queue_entry e;
	struct done_log	 d;
	char	 day[QUEUE_DAY_LEN + 1], path[64], id[QUEUE_ID_LEN + 1];
	struct timespec ts;
	int	 fd, i;

	memset(&d, 0, sizeof(d));
	c = queue_committer_new(q);
	/* acknowledged only once in new/, so that failures reach done() */
	queue_committer_set_nojournal(c, true);
	/* not closed: aborted, EINVAL */
	m = queue_msg_new(q);
	strcpy(id, queue_msg_id(m));
	queue_msg_write(m, "abc", 3);
	queue_committer_submit(c, m, on_done, &d);
	ok(wait_done(c, &d, 1) == 0 && d.last_error == EINVAL,
	    "unclosed message completes with EINVAL");
	ok(queue_find(q, id, &e) == -1 && errno == ENOENT &&
	    count_entries(queue_rootfd(q), "tmp") == 0,
	    "and is gone from tmp/");

	/* today's bucket is a file: rename fails, tmp/<id> removed */
	clock_gettime(CLOCK_REALTIME, &ts);
	queue_day_of(&ts, day);
	snprintf(path, sizeof(path), "new/%s", day);
	fd = openat(queue_rootfd(q), path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	m = make_msg(q, "y\r\n", 3);
	strcpy(id, queue_msg_id(m));
	queue_committer_submit(c, m, on_done, &d);
	i = wait_done(c, &d, 2);
	ok(i == 0 && d.nerr == 2 && d.last_error == ENOTDIR,
	    "rename failure reported (errno %d)", d.last_error);
	snprintf(path, sizeof(path), "tmp/%s", id);
	ok(faccessat(queue_rootfd(q), path, F_OK, 0) == -1,
	    "failed message removed from tmp/ before the callback");
	snprintf(path, sizeof(path), "new/%s", day);
	unlinkat(queue_rootfd(q), path, 0);

	/* free with work pending: every submit gets its one callback */
	memset(&d, 0, sizeof(d));
	for (fd = 0; fd < 10; fd++)
		queue_committer_submit(c, make_msg(q, "z\r\n", 3), on_done,
		    &d);
	queue_committer_free(c);
	is_int(d.n, 10, "free() waits and calls every pending callback");
	is_int(d.nerr, 0, "and they committed");
	ok(queue_find(q, d.ids[9], &e) == 0 && e.state == QUEUE_ST_NEW,
	    "last one is in new/");
	queue_close(q);
}

/*
 * Make today's bucket a file, so that nothing can be renamed into it (the
 * bucket, if any, waits outside new/), or undo that.
 */
static void
block_new(struct queue *q, const char *day, bool on)
{
	char	 path[64];
	int	 fd;

	snprintf(path, sizeof(path), "new/%s", day);
	if (on) {
		(void)renameat(queue_rootfd(q), path, queue_rootfd(q),
		    "bucket-aside");
		fd = openat(queue_rootfd(q), path, O_WRONLY | O_CREAT, 0600);
		if (fd != -1)
			close(fd);
	} else {
		(void)unlinkat(queue_rootfd(q), path, 0);
		(void)renameat(queue_rootfd(q), "bucket-aside",
		    queue_rootfd(q), path);
	}
}

static int
count_found(struct queue *q, struct done_log *d, int from, int to)
{
	struct queue_entry e;
	char	 err[256];
	int	 i, n = 0;

	for (i = from; i < to; i++)
		if (queue_find(q, d->ids[i], &e) == 0 &&
		    e.state == QUEUE_ST_NEW &&
		    queue_validate(q, &e, err, sizeof(err)) == 0)
			n++;
	return n;
}

/*
 * A child commits n messages, waits until they are in new/ and dies
 * without a clean stop (its journal records stay); their ids land in
 * d->ids[0..n). Returns whether the child got that far.
 */
static bool
crash_after_commit(struct queue *q, struct done_log *d, int n,
    const char *tag)
{
	struct queue_committer *c;
	char	 text[128];
	int	 pfd[2], status, i;
	pid_t	 pid;
	ssize_t	 got;
	size_t	 want = (size_t)n * sizeof(d->ids[0]);

	memset(d, 0, sizeof(*d));
	if (pipe(pfd) == -1)
		return false;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		c = committer(q, d);
		for (i = 0; i < n; i++) {
			snprintf(text, sizeof(text), "Subject: %s%d\r\n\r\n"
			    "%s\r\n", tag, i, tag);
			queue_committer_submit(c, make_msg(q, text,
			    strlen(text)), on_done, d);
		}
		if (wait_stored(c, d, n) == 0)
			(void)write(pfd[1], d->ids, want);
		_exit(0);		/* no free: a crash */
	}
	close(pfd[1]);
	got = read(pfd[0], d->ids, want);
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return got == (ssize_t)want;
}

static void
test_journal(void)
{
	struct queue	*q = spool("journal");
	struct queue_committer *c;
	struct done_log	 d;
	struct stat	 st;
	struct timespec	 ts;
	char	 day[QUEUE_DAY_LEN + 1], text[64];
	unsigned char	 hdr[72];
	uint32_t envlen, msglen;
	size_t	 unmoved = 99;
	int	 i, fd;

	clock_gettime(CLOCK_REALTIME, &ts);
	queue_day_of(&ts, day);
	memset(&d, 0, sizeof(d));
	c = committer(q, &d);
	ok(c != NULL && queue_committer_journal(c) != NULL,
	    "the committer has a journal");
	ok(fstatat(queue_rootfd(q), "journal/seg0", &st, 0) == 0 &&
	    st.st_size == QUEUE_JSEG_SIZE, "journal/seg0 made, %d bytes",
	    QUEUE_JSEG_SIZE);

	/* acknowledged from the journal while new/ cannot take it */
	block_new(q, day, true);
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "Subject: j%d\r\n\r\nx\r\n", i);
		queue_committer_submit(c, make_msg(q, text, strlen(text)),
		    on_done, &d);
	}
	ok(wait_done(c, &d, 3) == 0 && d.nerr == 0,
	    "acknowledged once in the journal, new/ blocked");
	is_int(count_found(q, &d, 0, 3), 0, "not in new/ yet");
	/* retried every second: in new/ once it can take them */
	block_new(q, day, false);
	ok(wait_stored(c, &d, 3) == 0, "retried into new/ when unblocked");
	is_int(count_found(q, &d, 0, 3), 3, "all three in new/ and valid");

	/* a restart moves what only the journal holds */
	block_new(q, day, true);
	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "Subject: r%d\r\n\r\nyy\r\n", i);
		queue_committer_submit(c, make_msg(q, text, strlen(text)),
		    on_done, &d);
	}
	ok(wait_done(c, &d, 7) == 0 && d.nerr == 0, "four more acknowledged");
	queue_committer_free(c);
	is_int(count_found(q, &d, 3, 7), 0, "stopped with them in the journal");
	block_new(q, day, false);
	i = queue_journal_unmoved(q, &unmoved);
	ok(i == 0 && unmoved == 4, "a reader is told 4 acknowledged messages "
	    "are only in the journal (%zu)", unmoved);
	d.nstored = 0;
	c = committer(q, &d);
	is_int(count_found(q, &d, 3, 7), 4,
	    "the next start moved them into new/ before returning");
	ok(wait_stored(c, &d, 4) == 0, "and reports them as stored");
	queue_committer_free(c);
	i = queue_journal_unmoved(q, &unmoved);
	ok(i == 0 && unmoved == 0, "then none is only in the journal (%zu)",
	    unmoved);

	/* replayed records are released: the segment is invalidated */
	fd = openat(queue_rootfd(q), "journal/seg0", O_RDONLY);
	ok(fd != -1 && pread(fd, hdr, 4, 0) == 4 && memcmp(hdr, "RTJ1", 4) != 0,
	    "segment invalidated once all its records are in new/");
	if (fd != -1)
		close(fd);
	d.nstored = 0;
	c = committer(q, &d);
	queue_committer_free(c);
	is_int(d.nstored, 0, "a second restart replays nothing");

	/* a torn record ends the segment: what follows is not replayed */
	memset(&d, 0, sizeof(d));
	c = committer(q, &d);
	block_new(q, day, true);
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "Subject: t%d\r\n\r\nzzz\r\n",
		    i);
		queue_committer_submit(c, make_msg(q, text, strlen(text)),
		    on_done, &d);
		/* one record per batch, so that they follow each other */
		wait_done(c, &d, i + 1);
	}
	is_int(d.n, 3, "three acknowledged");
	queue_committer_free(c);
	fd = openat(queue_rootfd(q), "journal/seg0", O_RDWR);
	ok(fd != -1 && pread(fd, hdr, sizeof(hdr), 0) == sizeof(hdr) &&
	    memcmp(hdr, "RTJ1", 4) == 0, "first record header in seg0");
	memcpy(&envlen, hdr + 4, 4);
	memcpy(&msglen, hdr + 16, 4);
	/* flip one byte in the second record's body */
	{
		off_t	 second = (off_t)(sizeof(hdr) + envlen + msglen);
		unsigned char b;

		ok(pread(fd, &b, 1, second + 80) == 1, "read the second record");
		b ^= 0x55;
		ok(pwrite(fd, &b, 1, second + 80) == 1, "tear it");
	}
	close(fd);
	block_new(q, day, false);
	d.nstored = 0;
	c = committer(q, &d);
	is_int(count_found(q, &d, 0, 1), 1, "the record before the tear: in new/");
	is_int(count_found(q, &d, 1, 3), 0,
	    "the torn record and the one after it: not replayed");
	queue_committer_free(c);

	/*
	 * A crash after the move into new/ but before the segment retired:
	 * the moved files were never synced and may be cut short. The next
	 * start replaces such a copy with the journal's.
	 */
	{
		char	 path[128];

		ok(crash_after_commit(q, &d, 3, "crash"),
		    "crashed child stored three messages");
		snprintf(path, sizeof(path), "new/%s/%s/message", day,
		    d.ids[1]);
		fd = openat(queue_rootfd(q), path, O_WRONLY | O_TRUNC);
		ok(fd != -1, "cut the second one short");
		if (fd != -1)
			close(fd);
		is_int(count_found(q, &d, 0, 3), 2, "two whole, one not");
		c = committer(q, &d);
		is_int(count_found(q, &d, 0, 3), 3,
		    "after the start all three are whole");
		queue_committer_free(c);
	}

	/*
	 * A message deleted while the journal still holds its record: a
	 * crash must not bring it back, and its tombstone goes once the
	 * journal no longer holds the record.
	 */
	{
		char	 path[128];
		struct queue_entry e;

		ok(crash_after_commit(q, &d, 2, "delete"),
		    "crashed child stored two messages");
		ok(queue_find(q, d.ids[0], &e) == 0 && queue_delete(q, &e) ==
		    0, "the first one deleted");
		snprintf(path, sizeof(path), "deleted/%s", d.ids[0]);
		ok(faccessat(queue_rootfd(q), path, F_OK, 0) == 0,
		    "its tombstone is there");
		unmoved = 1;
		ok(queue_journal_unmoved(q, &unmoved) == 0 && unmoved == 0,
		    "a deleted message is not counted as unmoved");
		c = committer(q, &d);
		is_int(count_found(q, &d, 0, 1), 0,
		    "after the start the deleted one is still gone");
		is_int(count_found(q, &d, 1, 2), 1, "the other one is there");
		ok(faccessat(queue_rootfd(q), path, F_OK, 0) == 0,
		    "the tombstone stays while the journal holds the record");
		queue_committer_free(c);	/* clean stop: segment retired */
		c = committer(q, &d);
		ok(faccessat(queue_rootfd(q), path, F_OK, 0) == -1 &&
		    errno == ENOENT, "once it does not, the tombstone is gone");
		is_int(count_found(q, &d, 0, 1), 0, "and the message too");
		queue_committer_free(c);
	}
	queue_close(q);
}

/*
 * A segment is reused with a sequence number higher than any of its
 * earlier uses, even after a clean stop invalidated every segment: else
 * the stale records behind a new batch of the same length are valid
 * again, and a crash brings back messages deleted (tombstones purged) or
 * removed by retention since.
 */
static void
test_journal_seq_reuse(void)
{
	struct queue	*q = spool("seqreuse");
	struct queue_committer *c;
	struct queue_entry e;
	struct done_log	 d, old;
	char	 text[128];
	int	 i, back = 0;

	memset(&old, 0, sizeof(old));
	c = committer(q, &old);
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "Subject: seq%d\r\n\r\nseq\r\n",
		    i);
		queue_committer_submit(c, make_msg(q, text, strlen(text)),
		    on_done, &old);
		wait_done(c, &old, i + 1);
	}
	ok(old.n == 3 && old.nerr == 0 && wait_stored(c, &old, 3) == 0,
	    "three messages of one length in new/");
	for (i = 1; i < 3; i++)
		ok(queue_find(q, old.ids[i], &e) == 0 && queue_delete(q, &e) ==
		    0, "message %d deleted", i);
	queue_committer_free(c);	/* clean stop: segments invalidated */
	/* the next run writes one record of the same length, then crashes */
	ok(crash_after_commit(q, &d, 1, "seq"),
	    "crashed child stored one message of the same length");
	c = committer(q, &d);
	for (i = 1; i < 3; i++)
		if (queue_find(q, old.ids[i], &e) == 0)
			back++;
	is_int(back, 0, "a deleted message of an earlier use of the segment "
	    "is not replayed");
	is_int(count_found(q, &d, 0, 1), 1, "the crashed run's message is there");
	queue_committer_free(c);
	queue_close(q);
}

/*
 * `queue delete` makes its tombstone durable, then removes the directory
 * without a sync of its own: a power cut can undo the removal. The
 * tombstone must not be dropped (its record is no longer in the
 * journal) while the message is still there: the start finishes the
 * delete first.
 */
static void
test_tomb_undone_delete(void)
{
	struct queue	*q = spool("undone");
	struct queue_committer *c;
	struct queue_entry e;
	struct done_log	 d;
	char	 path[64];
	int	 i;

	memset(&d, 0, sizeof(d));
	c = committer(q, &d);
	for (i = 0; i < 2; i++)
		queue_committer_submit(c, make_msg(q, "Subject: u\r\n\r\nu\r\n",
		    18), on_done, &d);
	ok(wait_done(c, &d, 2) == 0 && d.nerr == 0 && wait_stored(c, &d, 2) ==
	    0, "two messages in new/");
	queue_committer_free(c);	/* clean stop: no record left */
	/* deleted, but the removal of its directory did not reach the disk */
	ok(queue_tomb_add(q, d.ids[0]) == 0, "tombstone of the first made");
	c = committer(q, &d);
	ok(queue_find(q, d.ids[0], &e) == -1 && errno == ENOENT,
	    "the start finished the delete of the first");
	snprintf(path, sizeof(path), "deleted/%s", d.ids[0]);
	ok(faccessat(queue_rootfd(q), path, F_OK, 0) == -1 && errno == ENOENT,
	    "then dropped its tombstone");
	is_int(count_found(q, &d, 1, 2), 1, "the other one is there");
	queue_committer_free(c);
	queue_close(q);
}

/*
 * The SMTP role killed while its committer threads moved journaled
 * messages leaves tmp/<id> behind; the parent restarts the role without
 * purging tmp/. Its replay still moves every such message into new/
 * before it returns (a leftover must not make it wait for the retry).
 */
static void
test_journal_tmp_leftover(void)
{
	struct queue	*q = spool("leftover");
	struct queue_committer *c;
	struct done_log	 d;
	struct timespec	 ts;
	char	 day[QUEUE_DAY_LEN + 1], text[64], path[64];
	int	 i, fd;

	clock_gettime(CLOCK_REALTIME, &ts);
	queue_day_of(&ts, day);
	memset(&d, 0, sizeof(d));
	c = committer(q, &d);
	block_new(q, day, true);
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "Subject: l%d\r\n\r\nl\r\n", i);
		queue_committer_submit(c, make_msg(q, text, strlen(text)),
		    on_done, &d);
	}
	ok(wait_done(c, &d, 3) == 0 && d.nerr == 0,
	    "three acknowledged from the journal, new/ blocked");
	queue_committer_free(c);
	block_new(q, day, false);
	/* a half-done move of the killed role: tmp/<id>/message, partial */
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "tmp/%s", d.ids[i]);
		(void)mkdirat(queue_rootfd(q), path, 0755);
		snprintf(path, sizeof(path), "tmp/%s/message", d.ids[i]);
		if ((fd = openat(queue_rootfd(q), path, O_WRONLY | O_CREAT,
		    0644)) != -1) {
			(void)write(fd, "Subj", 4);
			close(fd);
		}
	}
	c = committer(q, &d);
	is_int(count_found(q, &d, 0, 3), 3, "the start moved all three into "
	    "new/ before returning, tmp/ leftovers notwithstanding");
	queue_committer_free(c);
	is_int(count_found(q, &d, 0, 3), 3, "all three whole after the stop");
	queue_close(q);
}

/*
 * A full disk with a journal: messages are acknowledged from the journal
 * (nothing accepted is lost), wait there, and reach new/ once space
 * returns; with every segment full the commit fails with ENOSPC.
 */
/*
 * A full segment whose records are all in new/ is retired (syncfs, first
 * header replaced by a retired mark) by the retirer thread while the committer goes on, not
 * only at a clean stop.
 */
static void
test_journal_retire(void)
{
	struct queue	*q = spool("retire");
	struct queue_committer *c;
	struct done_log	 d;
	unsigned char	 hdr[4];
	uint64_t	 jw = 0, jr = 0, js = 0;
	long long	 end;
	size_t		 blen = 64 * 1024;
	char		*text;
	int		 i, n = 100, fd;

	memset(&d, 0, sizeof(d));
	c = committer(q, &d);
	if ((text = malloc(blen)) == NULL)
		return;
	memset(text, 'x', blen);
	memcpy(text, "Subject: big\r\n\r\n", 17);
	memcpy(text + blen - 2, "\r\n", 2);
	/* 100 records of 64 KB: more than one 4 MiB segment */
	for (i = 0; i < n; i++)
		queue_committer_submit(c, make_msg(q, text, blen), on_done, &d);
	ok(wait_done(c, &d, n) == 0 && d.nerr == 0 && wait_stored(c, &d, n) ==
	    0, "%d messages of 64 KB acknowledged and in new/", n);
	end = tu_now_ms() + DEADLINE_MS;
	do {
		queue_journal_counters(queue_committer_journal(c), &jw, &jr,
		    &js);
	} while (jr == 0 && tu_now_ms() < end && poll(NULL, 0, 5) == 0);
	ok(jr >= 1 && js >= 1, "the full segment retired while running "
	    "(%llu retired, %llu syncfs)", (unsigned long long)jr,
	    (unsigned long long)js);
	fd = openat(queue_rootfd(q), "journal/seg0", O_RDONLY);
	ok(fd != -1 && pread(fd, hdr, 4, 0) == 4 && memcmp(hdr, "RTJ1", 4) !=
	    0, "its first header is invalidated");
	if (fd != -1)
		close(fd);
	queue_committer_free(c);
	is_int(count_found(q, &d, 0, n), n, "all %d in new/ after the stop", n);
	free(text);
	queue_close(q);
}

static void
test_journal_full_disk(void)
{
	struct queue	*q;
	struct queue_committer *c;
	struct done_log	 d;
	char	 mnt[256], err[512], buf[4096], text[64];
	int	 fd, i;

	snprintf(mnt, sizeof(mnt), "%s/full", topdir);
	mkdir(mnt, 0700);
	if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0,
	    "size=12m,mode=0700") == -1) {
		ok(1, "full disk with a journal # SKIP %s", geteuid() != 0 ?
		    "not root" : strerror(errno));
		return;
	}
	memset(&d, 0, sizeof(d));
	q = queue_open(mnt, QUEUE_F_CREATE, err, sizeof(err));
	c = q != NULL ? committer(q, &d) : NULL;
	ok(c != NULL && queue_committer_journal(c) != NULL,
	    "a 12 MB file system holds a journal segment");
	if (c == NULL) {
		queue_close(q);
		(void)umount2(mnt, MNT_DETACH);
		return;
	}
	fd = openat(queue_rootfd(q), "filler", O_WRONLY | O_CREAT, 0600);
	memset(buf, 'f', sizeof(buf));
	while (write(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "Subject: full %d\r\n\r\nx\r\n",
		    i);
		queue_committer_submit(c, make_msg(q, text, strlen(text)),
		    on_done, &d);
	}
	ok(wait_done(c, &d, 3) == 0 && d.nerr == 0,
	    "disk full: acknowledged from the journal (%d errors)", d.nerr);
	is_int(count_found(q, &d, 0, 3), 0, "not in new/ while the disk is full");
	/* 200 KB messages until the one segment is full: then ENOSPC */
	{
		static char big[200 * 1024];
		int	 acked;

		memset(big, 'b', sizeof(big));
		memcpy(big, "Subject: big\r\n\r\n", 16);
		for (i = 0; i < 30; i++) {
			queue_committer_submit(c, make_msg(q, big,
			    sizeof(big)), on_done, &d);
			if (wait_done(c, &d, 4 + i) == -1)
				break;
		}
		acked = d.n - d.nerr;
		ok(d.n == 33 && d.nerr > 0 && d.last_error == ENOSPC,
		    "journal full, no room for another segment: ENOSPC "
		    "(%d of 30 failed, last error %d)", d.nerr, d.last_error);
		ok(acked >= 15, "until then acknowledged: %d", acked);
		unlinkat(queue_rootfd(q), "filler", 0);
		ok(wait_stored(c, &d, acked) == 0,
		    "all %d acknowledged moved into new/ once space returns",
		    acked);
	}
	is_int(count_found(q, &d, 0, 3), 3, "the first three whole in new/");
	queue_committer_free(c);
	queue_close(q);
	if (umount2(mnt, MNT_DETACH) == -1)
		printf("# umount %s: %s\n", mnt, strerror(errno));
}

/*
 * A message whose envelope is larger than a journal segment rides in a
 * journal batch but is committed by a committer thread alone; the
 * journal thread must not touch it once handed over: the committer may
 * finish it (and the owner free it) while the batch's journal write is
 * still under way. Made certain here: every tmp/<id> of the round is
 * taken, so the committer fails them all at once (EEXIST), while the
 * journal writes 3 MB for the small messages. Each small one is then
 * acknowledged from the journal and retried into new/; every submit gets
 * exactly one callback.
 */
static void
test_journal_oversize(void)
{
	struct queue	*q = spool("oversize");
	struct queue_committer *c;
	struct done_log	 d;
	struct queue_msg *m[17];
	json_t	*env;
	size_t	 blen = QUEUE_JSEG_SIZE + 1024, slen = 200 * 1024;
	char	*big, *small, path[64];
	int	 i, r, rounds = 3, want = 0, bad = 0;

	memset(&d, 0, sizeof(d));
	c = committer(q, &d);
	big = malloc(blen + 1);
	small = malloc(slen);
	if (c == NULL || big == NULL || small == NULL) {
		ok(0, "oversize: set-up");
		free(big);
		free(small);
		return;
	}
	queue_committer_set_nosyncfs(c, true);
	memset(big, 'e', blen);
	big[blen] = '\0';
	memset(small, 's', slen);
	memcpy(small, "Subject: s\r\n\r\n", 15);
	for (r = 0; r < rounds; r++) {
		/* the big one last: behind the small ones' journal write */
		for (i = 0; i < 17; i++) {
			if (i != 16) {
				m[i] = make_msg(q, small, slen);
				continue;
			}
			m[i] = queue_msg_new(q);
			env = json_pack("{s:i, s:s}", "version", 1, "pad", big);
			if (queue_msg_write(m[i], "Subject: big\r\n\r\n"
			    "x\r\n", 19) == -1 || queue_msg_close(m[i], env) ==
			    -1)
				bad++;
			json_decref(env);
		}
		for (i = 0; i < 17; i++) {
			snprintf(path, sizeof(path), "tmp/%s",
			    queue_msg_id(m[i]));
			if (mkdirat(queue_rootfd(q), path, 0700) == -1)
				bad++;
		}
		for (i = 0; i < 17; i++)
			queue_committer_submit(c, m[i], on_done, &d);
		want += 17;
		if (wait_done(c, &d, want) == -1 || d.n != want ||
		    wait_stored(c, &d, want - r - 1) == -1)
			break;
	}
	ok(bad == 0 && r == rounds && d.n == want && d.nerr == rounds,
	    "%d rounds of an envelope larger than a segment among 16 small "
	    "messages: one callback each (%d of %d, %d errors)", rounds,
	    d.n, want, d.nerr);
	is_int(d.nstored, want - rounds, "the small ones stored once");
	queue_committer_free(c);
	is_int(d.n, want, "no late second callback at the stop");
	free(big);
	free(small);
	queue_close(q);
}

int
main(void)
{
	if (mkdtemp(topdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_one();
	test_many();
	test_fallback();
	test_failures();
	test_journal();
	test_journal_seq_reuse();
	test_journal_tmp_leftover();
	test_tomb_undone_delete();
	test_journal_retire();
	test_journal_full_disk();
	test_journal_oversize();
	tu_rm_tree(topdir);
	return tap_done();
}
