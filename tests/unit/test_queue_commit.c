/*
 * test_queue_commit.c -- the writer and the group-commit thread: chunked
 * writes, durable commit, 500 messages in few batches, the fsync
 * fallback, failures removing tmp/, and free() completing everything.
 * Uses a temp spool under /tmp; waits on the committer fd with a deadline.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

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

/* dispatch until d->n reaches want or the deadline passes */
static int
wait_done(struct queue_committer *c, struct done_log *d, int want)
{
	struct pollfd	 pfd;
	long long	 end = tu_now_ms() + DEADLINE_MS, left;

	pfd.fd = queue_committer_fd(c);
	pfd.events = POLLIN;
	while (d->n < want) {
		if ((left = end - tu_now_ms()) <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) > 0)
			queue_committer_dispatch(c);
	}
	return 0;
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
	c = queue_committer_new(q);
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
	struct queue_committer *c = queue_committer_new(q);
	static struct queue_msg *msgs[NMANY];
	static struct done_log d;
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
	struct queue_committer *c = queue_committer_new(q);
	struct queue_entry e;
	struct done_log	 d;
	char	 err[256];
	int	 i;

	memset(&d, 0, sizeof(d));
	queue_committer_set_nosyncfs(c, true);
	for (i = 0; i < 3; i++)
		queue_committer_submit(c, make_msg(q, "x\r\n", 3), on_done,
		    &d);
	ok(wait_done(c, &d, 3) == 0 && d.nerr == 0,
	    "fsync fallback commits");
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
	tu_rm_tree(topdir);
	return tap_done();
}
