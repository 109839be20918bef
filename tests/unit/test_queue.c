/*
 * test_queue.c -- the spool library apart from the committer's batching
 * (test_queue_commit.c): ids, opening, find/walk/load/validate, files
 * beside a message, new -> cur, quarantine, delete, sessions, recovery,
 * retention, usage, chown, a chrooted child, and ENOSPC on a tiny tmpfs
 * (root only; skipped otherwise). Temp spools under /tmp, no sleeps.
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

#include "queue.h"
#include "queue_priv.h"
#include "../tap.h"
#include "testutil.h"

#define DEADLINE_MS	30000

static char	 topdir[] = "/tmp/rt-test-queue.XXXXXX";

struct done_log {
	int	 n;
	int	 error;
	int	 nstored;
};

static void
on_done(void *arg, const char *id, int error)
{
	struct done_log *d = arg;

	d->n++;
	d->error = error;
}

static void
on_stored(void *arg, const char *id, int error)
{
	struct done_log *d = arg;

	d->nstored++;
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

/*
 * write, close and commit one message, and wait until it is in new/;
 * returns 0 or the errno
 */
static int
commit(struct queue *q, struct queue_committer *c, const char *text,
    char id[QUEUE_ID_LEN + 1])
{
	struct queue_msg *m;
	struct done_log	 d = { 0, 0, 0 };
	struct pollfd	 pfd;
	long long	 end = tu_now_ms() + DEADLINE_MS, left;
	json_t		*env;

	if ((m = queue_msg_new(q)) == NULL)
		return errno;
	strcpy(id, queue_msg_id(m));
	env = json_pack("{s:i}", "version", 1);
	if (queue_msg_write(m, text, strlen(text)) == -1 ||
	    queue_msg_close(m, env) == -1) {
		d.error = errno;
		json_decref(env);
		queue_msg_abort(m);
		return d.error;
	}
	json_decref(env);
	queue_committer_set_stored(c, on_stored, &d);
	queue_committer_submit(c, m, on_done, &d);
	pfd.fd = queue_committer_fd(c);
	pfd.events = POLLIN;
	while (d.n == 0 || (d.error == 0 && d.nstored == 0)) {
		if ((left = end - tu_now_ms()) <= 0)
			return ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) > 0)
			queue_committer_dispatch(c);
	}
	queue_committer_set_stored(c, NULL, NULL);
	return d.error;
}

static int
exists(struct queue *q, const char *path)
{
	return faccessat(queue_rootfd(q), path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int
ndir(struct queue *q, const char *dir)
{
	char	**a, **b;
	size_t	  na, nb;

	if (queue_list(queue_rootfd(q), dir, QUEUE_L_DOT, &a, &na) == -1 ||
	    queue_list(queue_rootfd(q), dir, QUEUE_L_ID, &b, &nb) == -1)
		return -1;
	queue_list_free(a, na);
	queue_list_free(b, nb);
	return (int)(na + nb);
}

static void
put_file(struct queue *q, const char *path, size_t len)
{
	char	 buf[4096];
	int	 fd;

	memset(buf, 'x', sizeof(buf));
	if ((fd = openat(queue_rootfd(q), path, O_WRONLY | O_CREAT | O_TRUNC,
	    0640)) == -1)
		return;
	while (len > 0) {
		size_t n = len > sizeof(buf) ? sizeof(buf) : len;

		if (write(fd, buf, n) != (ssize_t)n)
			break;
		len -= n;
	}
	close(fd);
}

/* an id for a given time (seconds) and random part */
static void
make_id(time_t t, unsigned int r, char id[QUEUE_ID_LEN + 1])
{
	snprintf(id, QUEUE_ID_LEN + 1, "%013llx%03x",
	    (unsigned long long)t * 1000000ULL, r & 0xfff);
}

static const struct id_case {
	const char	*name;
	const char	*id;
	bool		 valid;
} id_cases[] = {
	{ .name = "ok", .id = "0006612a35e71d80", .valid = true },
	{ .name = "all hex", .id = "0123456789abcdef", .valid = true },
	{ .name = "uppercase", .id = "0006612A35E71D80", .valid = false },
	{ .name = "15 chars", .id = "0006612a35e71d8", .valid = false },
	{ .name = "17 chars", .id = "0006612a35e71d800", .valid = false },
	{ .name = "dotdot", .id = "../../etc/passwd", .valid = false },
	{ .name = "slash", .id = "0006612a35e71d/0", .valid = false },
	{ .name = "non-hex", .id = "0006612a35e71d8g", .valid = false },
	{ .name = "space", .id = "0006612a35e71d8 ", .valid = false },
	{ .name = "empty", .id = "", .valid = false },
	{ .name = "NULL", .id = NULL, .valid = false },
};

static void
test_ids(void)
{
	char	 id[QUEUE_ID_LEN + 1], prev[QUEUE_ID_LEN + 1], day[9];
	struct timespec ts, now;
	size_t	 i;
	int	 inc = 1, valid = 1;

	for (i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++)
		is_int(queue_id_valid(id_cases[i].id), id_cases[i].valid,
		    "id_valid %s", id_cases[i].name);
	queue_id_new(prev);
	for (i = 0; i < 10000; i++) {
		queue_id_new(id);
		if (!queue_id_valid(id))
			valid = 0;
		if (strcmp(prev, id) >= 0)
			inc = 0;
		memcpy(prev, id, sizeof(id));
	}
	ok(valid, "10000 new ids are valid");
	ok(inc, "consecutive ids strictly increase");

	ok(queue_id_time("6612a35e71d80abc", &ts) == 0 &&
	    ts.tv_sec == 1795683781 && ts.tv_nsec == 123456000,
	    "id_time decodes seconds and µs");
	queue_day_of(&ts, day);
	is_str(day, "20261126", "day_of");
	ok(queue_id_time("66136bdc1ffff000", &ts) == 0, "id_time end of day");
	queue_day_of(&ts, day);
	is_str(day, "20261126", "day_of 23:59:59.999999 UTC");
	ts.tv_sec = 0;
	ts.tv_nsec = 0;
	queue_day_of(&ts, day);
	is_str(day, "19700101", "day_of epoch");
	ok(queue_id_time("../x", &ts) == -1 && errno == EINVAL,
	    "id_time refuses an invalid id");
	clock_gettime(CLOCK_REALTIME, &now);
	queue_id_new(id);
	queue_id_time(id, &ts);
	ok(ts.tv_sec >= now.tv_sec - 1 && ts.tv_sec <= now.tv_sec + 1,
	    "new id carries the current time");
	make_id(1795683781, 0xabc, id);
	is_str(id, "6612a35e53b40abc", "make_id helper");
}

static void
test_open(void)
{
	char	 path[256], err[512];
	struct queue *q;

	snprintf(path, sizeof(path), "%s/missing", topdir);
	q = queue_open(path, 0, err, sizeof(err));
	ok(q == NULL && errno == ENOENT && strstr(err, path) != NULL &&
	    strstr(err, "-s SPOOLDIR") != NULL, "open missing: %s", err);
	snprintf(path, sizeof(path), "%s/notaspool", topdir);
	mkdir(path, 0700);
	q = queue_open(path, 0, err, sizeof(err));
	ok(q == NULL && strstr(err, "not a relaytrap spool") != NULL,
	    "open non-spool: %s", err);
	snprintf(path, sizeof(path), "%s/deep/er/spool", topdir);
	q = queue_open(path, QUEUE_F_CREATE, err, sizeof(err));
	ok(q != NULL && exists(q, "tmp") && exists(q, "new") &&
	    exists(q, "cur") && exists(q, "corrupt") && exists(q, "sessions"),
	    "create makes the layout");
	queue_close(q);
	q = queue_open(path, 0, err, sizeof(err));
	ok(q != NULL, "reopen without create");
	queue_close(q);
}

struct walk_log {
	int	 n;
	char	 ids[16][QUEUE_ID_LEN + 1];
	int	 states[16];
	int	 stop_at;
};

static int
walk_cb(const struct queue_entry *e, void *arg)
{
	struct walk_log *w = arg;

	if (w->n < 16) {
		memcpy(w->ids[w->n], e->id, sizeof(e->id));
		w->states[w->n] = e->state;
	}
	w->n++;
	return w->n == w->stop_at ? 42 : 0;
}

static void
test_entries(void)
{
	struct queue	*q = spool("entries");
	struct queue_committer *c = queue_committer_new(q);
	struct queue_entry e, e2;
	struct walk_log	 w;
	char	 a[17], b[17], cc[17], d[17], path[128], err[256], buf[64];
	char	 day[9], reason[256];
	json_t	*env;
	int	 fd, sorted, i;
	ssize_t	 r;

	is_int(commit(q, c, "A\r\n", a), 0, "commit a");
	is_int(commit(q, c, "B\r\n", b), 0, "commit b");
	is_int(commit(q, c, "C\r\n", cc), 0, "commit c");
	is_int(commit(q, c, "D\r\n", d), 0, "commit d");

	ok(queue_find(q, a, &e) == 0 && e.state == QUEUE_ST_NEW, "find a");
	memcpy(day, e.day, sizeof(day));
	queue_entry_dir(&e, path, sizeof(path));
	snprintf(buf, sizeof(buf), "new/%s/%s", day, a);
	is_str(path, buf, "entry_dir");
	ok(queue_find(q, "0000000000000000", &e2) == -1 && errno == ENOENT,
	    "find unknown: ENOENT");
	ok(queue_find(q, "../../../etc/pw", &e2) == -1 && errno == EINVAL,
	    "find invalid: EINVAL");
	fd = queue_open_file(q, &e, "message", O_RDONLY);
	r = fd == -1 ? -1 : read(fd, buf, sizeof(buf));
	is_mem(buf, r > 0 ? (size_t)r : 0, "A\r\n", 3, "open_file message");
	if (fd != -1)
		close(fd);
	ok(queue_open_file(q, &e, "../x", O_RDONLY) == -1 && errno == EINVAL,
	    "open_file refuses ../x");
	env = queue_envelope_load(q, &e, err, sizeof(err));
	ok(env != NULL && json_integer_value(json_object_get(env, "size")) ==
	    3, "envelope_load");
	json_decref(env);

	/* write_file */
	is_int(queue_write_file(q, &e, "analysis.json", "{}\n", 3), 0,
	    "write_file");
	fd = queue_open_file(q, &e, "analysis.json", O_RDONLY);
	r = fd == -1 ? -1 : read(fd, buf, sizeof(buf));
	is_mem(buf, r > 0 ? (size_t)r : 0, "{}\n", 3, "write_file content");
	if (fd != -1)
		close(fd);
	is_int(queue_write_file(q, &e, "analysis.json", "[1]\n", 4), 0,
	    "write_file replaces");
	snprintf(path, sizeof(path), "new/%s/%s", day, a);
	is_int(ndir(q, path), 0, "no temp file left beside the message");
	ok(queue_write_file(q, &e, "message", "x", 1) == -1 && errno == EPERM,
	    "write_file refuses message");
	ok(queue_write_file(q, &e, "../../x", "x", 1) == -1 &&
	    errno == EINVAL, "write_file refuses ../../x");
	ok(queue_write_file(q, &e, ".hidden", "x", 1) == -1 &&
	    errno == EINVAL, "write_file refuses .hidden");

	/* move_cur; an entry found in new/ before the move still opens */
	e2 = e;
	is_int(queue_move_cur(q, &e), 0, "move_cur");
	fd = queue_open_file(q, &e2, "message", O_RDONLY);
	ok(fd != -1, "a reader holding the new/ entry opens it in cur/ "
	    "after the move");
	if (fd != -1)
		close(fd);
	ok(queue_open_file(q, &e2, "nothere", O_RDONLY) == -1 &&
	    errno == ENOENT, "a missing file is still ENOENT");
	ok(e.state == QUEUE_ST_CUR && queue_find(q, a, &e2) == 0 &&
	    e2.state == QUEUE_ST_CUR && strcmp(e2.day, day) == 0,
	    "found in cur/%s", day);
	is_int(queue_validate(q, &e, err, sizeof(err)), 0,
	    "validate in cur/");
	ok(queue_move_cur(q, &e) == -1 && errno == EINVAL,
	    "move_cur of a cur entry: EINVAL");

	/* corrupt b: flip a byte */
	queue_find(q, b, &e);
	fd = queue_open_file(q, &e, "message", O_WRONLY);
	r = pwrite(fd, "b", 1, 0);
	close(fd);
	ok(queue_validate(q, &e, err, sizeof(err)) == -1 && errno == EBADMSG &&
	    strstr(err, "sha256") != NULL, "flipped byte: %s", err);
	strcpy(reason, err);
	is_int(queue_quarantine(q, &e, reason), 0, "quarantine");
	ok(e.state == QUEUE_ST_CORRUPT && e.day[0] == '\0',
	    "entry updated to corrupt");
	snprintf(path, sizeof(path), "corrupt/%s/reason", b);
	fd = openat(queue_rootfd(q), path, O_RDONLY);
	r = fd == -1 ? -1 : read(fd, buf, sizeof(buf) - 1);
	buf[r > 0 ? r : 0] = '\0';
	if (fd != -1)
		close(fd);
	ok(strncmp(buf, "message: sha256", 15) == 0, "reason file: %s", buf);
	snprintf(path, sizeof(path), "new/%s/%s", day, b);
	ok(!exists(q, path), "gone from new/");
	ok(queue_find(q, b, &e2) == 0 && e2.state == QUEUE_ST_CORRUPT,
	    "find in corrupt/");
	queue_entry_dir(&e2, path, sizeof(path));
	snprintf(buf, sizeof(buf), "corrupt/%s", b);
	is_str(path, buf, "entry_dir corrupt");

	/* c: size mismatch; d: broken envelope */
	queue_find(q, cc, &e);
	fd = queue_open_file(q, &e, "message", O_WRONLY | O_APPEND);
	r = write(fd, "!", 1);
	close(fd);
	ok(queue_validate(q, &e, err, sizeof(err)) == -1 &&
	    strstr(err, "size 4") != NULL, "appended byte: %s", err);
	queue_find(q, d, &e);
	fd = queue_open_file(q, &e, "envelope.json", O_WRONLY | O_TRUNC);
	r = write(fd, "{\"version\":1,", 13);
	close(fd);
	ok(queue_validate(q, &e, err, sizeof(err)) == -1 && errno == EBADMSG &&
	    strstr(err, "envelope.json") != NULL, "truncated envelope: %s",
	    err);
	fd = queue_open_file(q, &e, "envelope.json", O_WRONLY | O_TRUNC);
	snprintf(buf, sizeof(buf), "{\"version\":1,\"id\":\"%s\"}", a);
	r = write(fd, buf, strlen(buf));
	close(fd);
	ok(queue_envelope_load(q, &e, err, sizeof(err)) == NULL &&
	    strstr(err, "id does not match") != NULL, "foreign id: %s", err);
	fd = queue_open_file(q, &e, "envelope.json", O_WRONLY | O_TRUNC);
	snprintf(buf, sizeof(buf), "{\"version\":2,\"id\":\"%s\"}", d);
	r = write(fd, buf, strlen(buf));
	close(fd);
	ok(queue_envelope_load(q, &e, err, sizeof(err)) == NULL &&
	    strstr(err, "version") != NULL, "version 2: %s", err);

	/* walk: junk in buckets is skipped; order is id order */
	snprintf(path, sizeof(path), "new/%s/.junk", day);
	put_file(q, path, 1);
	snprintf(path, sizeof(path), "new/%s/NOTANID", day);
	put_file(q, path, 1);
	snprintf(path, sizeof(path), "new/%s/0123456789ABCDEF", day);
	mkdirat(queue_rootfd(q), path, 0750);
	mkdirat(queue_rootfd(q), "new/notaday", 0750);
	memset(&w, 0, sizeof(w));
	is_int(queue_walk(q, QUEUE_ST_ANY, walk_cb, &w), 0, "walk all");
	is_int(w.n, 4, "walk sees 4 entries");
	for (i = 1, sorted = 1; i < w.n && i < 16; i++)
		if (strcmp(w.ids[i - 1], w.ids[i]) >= 0)
			sorted = 0;
	ok(sorted && strcmp(w.ids[0], a) == 0 && strcmp(w.ids[3], d) == 0,
	    "walk in id order across new/cur/corrupt");
	ok(w.states[0] == QUEUE_ST_CUR && w.states[1] == QUEUE_ST_CORRUPT &&
	    w.states[2] == QUEUE_ST_NEW, "walk states");
	memset(&w, 0, sizeof(w));
	queue_walk(q, QUEUE_ST_NEW, walk_cb, &w);
	ok(w.n == 2 && strcmp(w.ids[0], cc) == 0, "walk new only");
	memset(&w, 0, sizeof(w));
	queue_walk(q, QUEUE_ST_CORRUPT | QUEUE_ST_CUR, walk_cb, &w);
	is_int(w.n, 2, "walk cur+corrupt");
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	is_int(queue_walk(q, QUEUE_ST_ANY, walk_cb, &w), 42,
	    "callback's non-zero stops the walk");
	is_int(w.n, 2, "stopped after 2");

	/* delete */
	queue_find(q, a, &e);
	is_int(queue_delete(q, &e), 0, "delete (with a file beside)");
	ok(queue_find(q, a, &e2) == -1 && errno == ENOENT, "deleted");
	queue_find(q, b, &e);
	is_int(queue_delete(q, &e), 0, "delete corrupt");
	snprintf(path, sizeof(path), "corrupt/%s", b);
	ok(!exists(q, path) && queue_find(q, b, &e2) == -1, "corrupt gone");

	queue_committer_free(c);
	queue_close(q);
}

struct sess_log {
	int	 n;
	char	 ids[8][QUEUE_ID_LEN + 1];
	char	 days[8][QUEUE_DAY_LEN + 1];
};

static int
sess_cb(const char *id, const char *day, void *arg)
{
	struct sess_log *s = arg;

	if (s->n < 8) {
		strcpy(s->ids[s->n], id);
		strcpy(s->days[s->n], day);
	}
	s->n++;
	return 0;
}

static void
test_sessions(void)
{
	struct queue	*q = spool("sessions");
	struct sess_log	 s;
	char	 s1[17], s2[17], s3[17], err[256];
	json_t	*rec;

	make_id(1795683781, 2, s1);		/* 2026-11-26 */
	make_id(1795683781, 1, s2);		/* same day, smaller */
	make_id(1795683781 - 86400, 7, s3);	/* 2026-11-25 */
	rec = json_pack("{s:s, s:i}", "close", "quit", "commands", 3);
	is_int(queue_session_write(q, s1, rec), 0, "session write");
	ok(json_is_string(json_object_get(rec, "id")), "id set in record");
	json_decref(rec);
	rec = json_pack("{s:s}", "close", "eof");
	is_int(queue_session_write(q, s2, rec), 0, "session write 2");
	is_int(queue_session_write(q, s3, rec), 0, "session write 3");
	json_decref(rec);
	rec = json_pack("{s:s}", "close", "timeout");
	is_int(queue_session_write(q, s1, rec), 0, "session rewrite");
	json_decref(rec);
	ok(queue_session_write(q, "../evil", rec) == -1 && errno == EINVAL,
	    "session write refuses a bad id");
	put_file(q, "sessions/20261126/.0000000000000000.tmp", 5);
	put_file(q, "sessions/20261126/junk.json", 5);

	rec = queue_session_load(q, s1, err, sizeof(err));
	ok(rec != NULL, "session load");
	is_str(rec ? json_string_value(json_object_get(rec, "close")) : NULL,
	    "timeout", "rewrite replaced the record");
	is_str(rec ? json_string_value(json_object_get(rec, "id")) : NULL,
	    s1, "loaded id");
	json_decref(rec);
	ok(queue_session_load(q, "0000000000000001", err, sizeof(err)) ==
	    NULL && errno == ENOENT, "load missing: %s", err);

	memset(&s, 0, sizeof(s));
	is_int(queue_session_walk(q, sess_cb, &s), 0, "session walk");
	is_int(s.n, 3, "3 sessions (temp and junk skipped)");
	ok(strcmp(s.ids[0], s3) == 0 && strcmp(s.days[0], "20261125") == 0 &&
	    strcmp(s.ids[1], s2) == 0 && strcmp(s.ids[2], s1) == 0 &&
	    strcmp(s.days[2], "20261126") == 0, "sorted by day then id");
	queue_close(q);
}

static void
test_recover(void)
{
	struct queue	*q = spool("recover");
	struct queue_committer *c = queue_committer_new(q);
	struct queue_msg *m;
	struct queue_entry e;
	char	 id[17], path[128], err[512], day[9];
	int	 n;

	is_int(commit(q, c, "kept\r\n", id), 0, "commit before the crash");
	queue_committer_free(c);
	queue_find(q, id, &e);
	memcpy(day, e.day, sizeof(day));
	/* two messages a crash left in tmp/: one mid-receive, one mid-commit */
	{
		char	 lid[QUEUE_ID_LEN + 1];
		int	 k;

		for (k = 0; k < 2; k++) {
			queue_id_new(lid);
			snprintf(path, sizeof(path), "tmp/%s", lid);
			mkdirat(queue_rootfd(q), path, 0750);
			snprintf(path, sizeof(path), "tmp/%s/message", lid);
			put_file(q, path, 100);
		}
	}
	(void)m;
	snprintf(path, sizeof(path), "new/%s/.stale.tmp", day);
	put_file(q, path, 10);
	mkdirat(queue_rootfd(q), "sessions/20261126", 0750);
	put_file(q, "sessions/20261126/.0000000000000000.tmp", 10);
	queue_close(q);

	snprintf(path, sizeof(path), "%s/recover", topdir);
	q = queue_open(path, 0, err, sizeof(err));
	n = queue_recover(q);
	is_int(n, 2, "recover removes the 2 tmp/ leftovers");
	is_int(ndir(q, "tmp"), 0, "tmp/ empty");
	snprintf(path, sizeof(path), "new/%s/.stale.tmp", day);
	ok(!exists(q, path), "temp file in a bucket removed");
	ok(!exists(q, "sessions/20261126/.0000000000000000.tmp"),
	    "temp session file removed");
	ok(queue_find(q, id, &e) == 0 && queue_validate(q, &e, err,
	    sizeof(err)) == 0, "committed message survives reopen + recover");
	is_int(queue_recover(q), 0, "second recover finds nothing");
	queue_close(q);
}

struct ret_log {
	int	 n;
	char	 days[8][QUEUE_DAY_LEN + 1];
};

static void
ret_cb(const char *day, void *arg)
{
	struct ret_log *r = arg;

	if (r->n < 8)
		strcpy(r->days[r->n], day);
	r->n++;
}

static void
put_day(struct queue *q, const char *top, const char *day, time_t t,
    unsigned int r, size_t len)
{
	char	 id[17], path[128];

	make_id(t, r, id);
	snprintf(path, sizeof(path), "%s/%s", top, day);
	mkdirat(queue_rootfd(q), path, 0750);
	snprintf(path, sizeof(path), "%s/%s/%s", top, day, id);
	mkdirat(queue_rootfd(q), path, 0750);
	snprintf(path, sizeof(path), "%s/%s/%s/message", top, day, id);
	put_file(q, path, len);
}

static void
test_retention(void)
{
	struct queue	*q = spool("retention");
	struct queue_committer *c = queue_committer_new(q);
	struct ret_log	 r;
	struct timespec	 now, ts;
	char	 today[9], yday[9], old1[9], old2[9], old3[9], id[17];
	char	 path[128];
	time_t	 t;
	int64_t	 u0, u1, u2;

	clock_gettime(CLOCK_REALTIME, &now);
	queue_day_of(&now, today);
	ts = now;
	ts.tv_sec -= 86400;
	queue_day_of(&ts, yday);
	t = now.tv_sec - 40 * 86400;
	ts.tv_sec = t;
	queue_day_of(&ts, old1);
	ts.tv_sec = t + 86400;
	queue_day_of(&ts, old2);
	ts.tv_sec = t + 2 * 86400;
	queue_day_of(&ts, old3);

	u0 = queue_usage(q);
	is_int(commit(q, c, "today\r\n", id), 0, "today's message");
	u1 = queue_usage(q);
	ok(u0 >= 0 && u1 > u0, "usage grows (%lld -> %lld)", (long long)u0,
	    (long long)u1);
	put_day(q, "new", old1, t, 1, 100000);
	put_day(q, "cur", old1, t, 2, 100000);
	put_day(q, "sessions", old1, t, 3, 10);
	make_id(t, 4, id);
	snprintf(path, sizeof(path), "corrupt/%s", id);
	mkdirat(queue_rootfd(q), path, 0750);
	put_day(q, "cur", old2, t + 86400, 1, 100000);
	put_day(q, "sessions", old3, t + 2 * 86400, 1, 100000);
	put_day(q, "new", yday, now.tv_sec - 86400, 1, 100000);
	u2 = queue_usage(q);
	ok(u2 >= u1 + 5 * 100000, "usage counts new cur sessions corrupt");

	/* size: exactly the oldest day over the limit */
	memset(&r, 0, sizeof(r));
	is_int(queue_retention(q, 0, u2 - 200000, ret_cb, &r), 1,
	    "size limit removes one day");
	ok(r.n == 1 && strcmp(r.days[0], old1) == 0, "the oldest (%s)",
	    r.days[0]);
	snprintf(path, sizeof(path), "new/%s", old1);
	ok(!exists(q, path), "new/<old> gone");
	snprintf(path, sizeof(path), "cur/%s", old1);
	ok(!exists(q, path), "cur/<old> gone");
	snprintf(path, sizeof(path), "sessions/%s", old1);
	ok(!exists(q, path), "sessions/<old> gone");
	snprintf(path, sizeof(path), "corrupt/%s", id);
	ok(!exists(q, path), "corrupt entry of that day gone");
	ok(queue_usage(q) <= u2 - 200000, "under the limit now");

	/* age: keep today and yesterday */
	memset(&r, 0, sizeof(r));
	is_int(queue_retention(q, 1, 0, ret_cb, &r), 2,
	    "age limit removes two days");
	ok(r.n == 2 && strcmp(r.days[0], old2) == 0 &&
	    strcmp(r.days[1], old3) == 0, "oldest first, callback per day");
	snprintf(path, sizeof(path), "new/%s", yday);
	ok(exists(q, path), "yesterday kept with max_age_days=1");
	is_int(queue_retention(q, 0, 0, ret_cb, &r), 0, "no limits: nothing");

	/* size that cannot be met: today is never removed */
	memset(&r, 0, sizeof(r));
	is_int(queue_retention(q, 0, 1, ret_cb, &r), 1,
	    "tiny size limit removes all but today");
	ok(r.n == 1 && strcmp(r.days[0], yday) == 0, "yesterday went");
	snprintf(path, sizeof(path), "new/%s", today);
	ok(exists(q, path), "today's bucket kept");
	queue_committer_free(c);
	queue_close(q);
}

static void
test_chown_chroot(void)
{
	struct queue	*q;
	struct stat	 st;
	char	 path[256], jail[256], err[256], id[17];
	pid_t	 pid;
	int	 status;

	if (geteuid() != 0) {
		ok(1, "chown # SKIP not root");
		ok(1, "chroot # SKIP not root");
		return;
	}
	q = spool("chown");
	mkdirat(queue_rootfd(q), "new/20261126", 0750);
	is_int(queue_chown(q, 65534, 65534), 0, "chown");
	ok(fstatat(queue_rootfd(q), "tmp", &st, 0) == 0 &&
	    st.st_uid == 65534 && fstatat(queue_rootfd(q), "new/20261126",
	    &st, 0) == 0 && st.st_gid == 65534, "layout and buckets chowned");

	/* the library keeps working in a chroot that has nothing in it */
	snprintf(jail, sizeof(jail), "%s/jail", topdir);
	mkdir(jail, 0755);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		struct queue_committer *c;
		struct queue_entry e;

		if (chroot(jail) == -1 || chdir("/") == -1)
			_exit(2);
		c = queue_committer_new(q);
		if (c == NULL || commit(q, c, "jailed\r\n", id) != 0)
			_exit(3);
		queue_committer_free(c);
		if (queue_find(q, id, &e) == -1 ||
		    queue_validate(q, &e, err, sizeof(err)) == -1 ||
		    queue_move_cur(q, &e) == -1)
			_exit(4);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "commit, find, validate, move_cur after chroot (status %d)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	queue_close(q);
	(void)path;
}

static void
test_enospc(void)
{
	struct queue	*q;
	struct queue_committer *c;
	struct queue_msg *m;
	char	 mnt[256], err[512], buf[4096], id[17];
	json_t	*env;
	int	 i, rc, saved, fd;

	snprintf(mnt, sizeof(mnt), "%s/tiny", topdir);
	mkdir(mnt, 0700);
	if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0,
	    "size=64k,mode=0700") == -1) {
		ok(1, "ENOSPC # SKIP %s", geteuid() != 0 ? "not root" :
		    strerror(errno));
		return;
	}
	q = queue_open(mnt, QUEUE_F_CREATE, err, sizeof(err));
	c = queue_committer_new(q);
	ok(q != NULL && c != NULL, "spool on a 64k tmpfs");

	/* 1: a message bigger than the disk: spilled while it arrives */
	m = queue_msg_new(q);
	memset(buf, 'x', sizeof(buf));
	for (i = 0, rc = 0; i < 128 && rc == 0; i++)
		rc = queue_msg_write(m, buf, sizeof(buf));
	saved = errno;
	ok(rc == -1 && saved == ENOSPC, "spilled write fails with ENOSPC (%s)",
	    strerror(saved));
	ok(queue_msg_write(m, "x", 1) == -1 && errno == ENOSPC,
	    "the error sticks");
	queue_msg_abort(m);
	is_int(ndir(q, "tmp"), 0, "abort leaves nothing in tmp/");
	is_int(ndir(q, "new"), 0, "nothing in new/");

	/* 2: the disk is full, the message fits in memory: the commit fails */
	fd = openat(queue_rootfd(q), "filler", O_WRONLY | O_CREAT, 0600);
	while (write(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	m = queue_msg_new(q);
	ok(m != NULL, "msg_new on a full disk (nothing on disk yet)");
	if (m != NULL) {
		ok(queue_msg_write(m, "small\r\n", 7) == 0, "in-memory write");
		env = json_object();
		ok(queue_msg_close(m, env) == 0, "close keeps it in memory");
		json_decref(env);
		queue_msg_abort(m);
	}
	is_int(commit(q, c, "small\r\n", id), ENOSPC,
	    "commit on a full disk reports ENOSPC");
	is_int(ndir(q, "tmp"), 0, "tmp/ clean again");
	is_int(ndir(q, "new/20261126") + ndir(q, "new"), 0,
	    "nothing half-written in new/");

	/* 3: space returns, the trap keeps working */
	unlinkat(queue_rootfd(q), "filler", 0);
	is_int(commit(q, c, "after\r\n", id), 0, "commit after freeing space");
	queue_committer_free(c);
	queue_close(q);
	if (umount2(mnt, MNT_DETACH) == -1)
		printf("# umount %s: %s\n", mnt, strerror(errno));
}

/*
 * move_cur: the day's first message makes the cur/ bucket, the next ones
 * find it; an entry whose directory is gone fails with ENOENT and leaves
 * nothing behind.
 */
static void
test_move_cur(void)
{
	struct queue	*q = spool("movecur");
	struct queue_committer *c = queue_committer_new(q);
	struct queue_entry e1, e2, stale;
	char	 a[17], b[17], path[64];

	is_int(commit(q, c, "A\r\n", a), 0, "move: commit a");
	is_int(commit(q, c, "B\r\n", b), 0, "move: commit b");
	ok(queue_find(q, a, &e1) == 0 && queue_find(q, b, &e2) == 0,
	    "move: both found");
	snprintf(path, sizeof(path), "cur/%s", e1.day);
	ok(!exists(q, path), "move: no cur/ bucket yet");
	is_int(queue_move_cur_flags(q, &e1, QUEUE_W_NOSYNC), 0,
	    "move: the first makes the bucket");
	stale = e2;
	is_int(queue_move_cur_flags(q, &e2, QUEUE_W_NOSYNC), 0,
	    "move: the second finds it");
	ok(e1.state == QUEUE_ST_CUR && e2.state == QUEUE_ST_CUR &&
	    queue_find(q, b, &e2) == 0 && e2.state == QUEUE_ST_CUR,
	    "move: both in cur/");
	ok(queue_move_cur_flags(q, &stale, QUEUE_W_NOSYNC) == -1 &&
	    errno == ENOENT && stale.state == QUEUE_ST_NEW,
	    "move: an entry already moved: ENOENT, state kept");
	queue_committer_free(c);
	queue_close(q);
}

int
main(void)
{
	if (mkdtemp(topdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_ids();
	test_open();
	test_entries();
	test_move_cur();
	test_sessions();
	test_recover();
	test_retention();
	test_chown_chroot();
	test_enospc();
	tu_rm_tree(topdir);
	return tap_done();
}
