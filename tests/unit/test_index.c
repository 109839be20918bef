/*
 * test_index.c -- queue_index.c against a spool written file by file in
 * the layout of docs/SPOOL.md: several days, new/ cur/ corrupt/, sessions
 * without messages; full and incremental sync, filters, rebuild, retire.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "compat.h"
#include "queue.h"
#include "queue_index.h"
#include "xmalloc.h"
#include "tests/tap.h"

#define T_DAY_A	1795939200	/* 2026-11-24T00:00:00Z */
#define T_DAY	86400

static char	 spool[256];

static void
id_at(char id[QUEUE_ID_LEN + 1], time_t t, unsigned rnd)
{
	snprintf(id, QUEUE_ID_LEN + 1, "%013llx%03x",
	    (unsigned long long)t * 1000000ULL, rnd & 0xfff);
}

static void
day_at(char day[QUEUE_DAY_LEN + 1], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(day, QUEUE_DAY_LEN + 1, "%Y%m%d", &tm);
}

static void
iso_at(char *buf, size_t len, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static void
mkdirs(const char *path)
{
	char	 tmp[512], *p;

	strlcpy(tmp, path, sizeof(tmp));
	for (p = tmp + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0750);
			*p = '/';
		}
	mkdir(tmp, 0750);
}

static void
put_file(const char *path, const void *p, size_t n)
{
	FILE	*f;

	if ((f = fopen(path, "wb")) == NULL) {
		perror(path);
		exit(2);
	}
	fwrite(p, 1, n, f);
	fclose(f);
}

static void
put_json(const char *path, json_t *j)
{
	char	*s = json_dumps(j, JSON_INDENT(2));

	put_file(path, s, strlen(s));
	free(s);
	json_decref(j);
}

static void
old_mtime(const char *rel, int back)
{
	struct timespec ts[2];
	char	 path[512];

	snprintf(path, sizeof(path), "%s/%s", spool, rel);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= back;
	ts[1] = ts[0];
	utimensat(AT_FDCWD, path, ts, 0);
}

struct fmsg {
	const char	*state;		/* "new", "cur", "corrupt" */
	time_t		 t;
	unsigned	 rnd;
	const char	*client;
	const char	*from;
	const char	*rcpt[3];
	const char	*auth[4];
	const char	*body;
	const char	*session;
};

/* write one message directory; id returned */
static void
put_msg(const struct fmsg *m, char id[QUEUE_ID_LEN + 1])
{
	unsigned char md[32];
	char	 day[QUEUE_DAY_LEN + 1], dir[512], path[600], hex[65];
	char	 iso[40];
	json_t	*env, *a;
	size_t	 i, len = strlen(m->body);

	id_at(id, m->t, m->rnd);
	day_at(day, m->t);
	iso_at(iso, sizeof(iso), m->t);
	if (strcmp(m->state, "corrupt") == 0)
		snprintf(dir, sizeof(dir), "%s/corrupt/%s", spool, id);
	else
		snprintf(dir, sizeof(dir), "%s/%s/%s/%s", spool, m->state,
		    day, id);
	mkdirs(dir);
	snprintf(path, sizeof(path), "%s/message", dir);
	put_file(path, m->body, len);
	EVP_Digest(m->body, len, md, NULL, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(path, sizeof(path), "%s/envelope.json", dir);
	if (strcmp(m->state, "corrupt") == 0) {
		put_file(path, "{ not json", 10);
		return;
	}
	env = json_pack("{s:i, s:s, s:s, s:s, s:s, s:{s:s, s:i}, "
	    "s:{s:s, s:s}, s:{s:s, s:s}, s:[], s:[], s:n, s:{}, s:[], s:b, "
	    "s:I, s:s}",
	    "version", 1, "id", id, "session", m->session ? m->session : "",
	    "received", iso, "persona", "postfix",
	    "client", "addr", m->client, "port", 50123,
	    "helo", "verb", "EHLO", "name", "bot.example",
	    "mail_from", "addr", m->from, "raw", "FROM:<x>",
	    "rcpt", "auth", "tls", "findings", "transcript",
	    "transcript_truncated", 0, "size", (json_int_t)len, "sha256", hex);
	a = json_object_get(env, "rcpt");
	for (i = 0; i < 3 && m->rcpt[i] != NULL; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:[]}",
		    "addr", m->rcpt[i], "raw", "TO:<x>", "flags"));
	a = json_object_get(env, "auth");
	for (i = 0; i < 4 && m->auth[i] != NULL; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}",
		    "mechanism", "PLAIN", "user", m->auth[i], "password", "x",
		    "result", "fail"));
	put_json(path, env);
}

static void
put_session(time_t t, unsigned rnd, const char *client, const char *msgid,
    int nauth, char id[QUEUE_ID_LEN + 1])
{
	char	 day[QUEUE_DAY_LEN + 1], dir[512], path[600], iso[40];
	json_t	*rec, *a;
	int	 i;

	id_at(id, t, rnd);
	day_at(day, t);
	iso_at(iso, sizeof(iso), t);
	snprintf(dir, sizeof(dir), "%s/sessions/%s", spool, day);
	mkdirs(dir);
	rec = json_pack("{s:s, s:s, s:s, s:{s:s, s:i}, s:{s:s, s:s}, s:[], "
	    "s:[], s:i, s:s, s:[s]}",
	    "id", id, "start", iso, "end", iso, "client", "addr", client,
	    "port", 4000, "helo", "verb", "EHLO", "name", "scanner",
	    "messages", "auth", "commands", 7, "close", "quit",
	    "transcript", "C: QUIT");
	if (msgid != NULL)
		json_array_append_new(json_object_get(rec, "messages"),
		    json_string(msgid));
	a = json_object_get(rec, "auth");
	for (i = 0; i < nauth; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "user",
		    "admin", "result", "fail"));
	snprintf(path, sizeof(path), "%s/%s.json", dir, id);
	put_json(path, rec);
}

/* collecting list results */
struct got {
	int	 n;
	char	 ids[16][QUEUE_ID_LEN + 1];
	char	 dump[8192];
};

static int
collect(const struct queue_index_msg *m, void *arg)
{
	struct got *g = arg;
	size_t	 i, l = strlen(g->dump);

	if (g->n < 16)
		strlcpy(g->ids[g->n], m->id, sizeof(g->ids[0]));
	g->n++;
	snprintf(g->dump + l, sizeof(g->dump) - l, "%s %s %d %s %s %s %d|",
	    m->id, m->day, m->state, m->client_addr, m->mail_from,
	    m->subject ? m->subject : "(null)", (int)m->rcpt_count);
	for (i = 0; i < m->auth_count; i++) {
		l = strlen(g->dump);
		snprintf(g->dump + l, sizeof(g->dump) - l, "a=%s;",
		    m->auth_users[i]);
	}
	return 0;
}

static int
count_list(struct queue_index *ix, const struct queue_index_filter *f)
{
	struct got g;

	memset(&g, 0, sizeof(g));
	if (queue_index_list(ix, f, collect, &g) != 0)
		return -1;
	return g.n;
}

static int
count_sess(const struct queue_index_session *s, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int
nsessions(struct queue_index *ix, const struct queue_index_session_filter *f)
{
	int	 n = 0;

	if (queue_index_sessions(ix, f, count_sess, &n) != 0)
		return -1;
	return n;
}

static const struct subj_case {
	const char	*name;
	const char	*in;
	const char	*want;		/* NULL: none */
} subj_cases[] = {
	{ .name = "plain", .in = "From: a\r\nSubject: Hi there\r\n\r\nb",
	  .want = "Hi there" },
	{ .name = "folded", .in = "Subject: one\r\n two\r\n\tthree\r\nX: y\r\n",
	  .want = "one two\tthree" },
	{ .name = "lower case", .in = "subject:x\n\n", .want = "x" },
	{ .name = "none", .in = "From: a\r\nTo: b\r\n\r\nSubject: body\r\n",
	  .want = NULL },
	{ .name = "empty", .in = "Subject:\r\n\r\n", .want = "" },
	{ .name = "8bit", .in = "Subject: caf\xe9\r\n\r\n", .want = "caf\\xe9" },
	{ .name = "ctrl", .in = "Subject: a\x01\\b\r\n\r\n",
	  .want = "a\\x01\\\\b" },
	{ .name = "not a prefix", .in = "Subjects: no\r\n\r\n", .want = NULL },
	{ .name = "no end", .in = "Subject: cut", .want = "cut" },
};

static void
test_subject(void)
{
	size_t	 i;
	char	*s;

	for (i = 0; i < sizeof(subj_cases) / sizeof(subj_cases[0]); i++) {
		const struct subj_case *c = &subj_cases[i];

		s = queue_index_subject(c->in, strlen(c->in));
		is_str(s, c->want, "subject %s", c->name);
		free(s);
	}
}

int
main(void)
{
	struct queue *q;
	struct queue_index *ix;
	struct queue_index_filter f;
	struct queue_index_session_filter sf;
	struct queue_index_syncstat ss;
	struct got g, g2;
	char	 err[512], m1[17], m2[17], m3[17], m4[17], mc[17], s[17];
	char	 day_a[9], day_b[9], day_c[9], rel[64], cmd[1400], path[600];
	const time_t ta = T_DAY_A + 3600, tb = ta + T_DAY, tc = tb + T_DAY;
	json_t	*st;
	sqlite3	*db;

	test_subject();

	snprintf(spool, sizeof(spool), "/tmp/rt-test-index.XXXXXX");
	if (mkdtemp(spool) == NULL)
		return 2;
	day_at(day_a, ta);
	day_at(day_b, tb);
	day_at(day_c, tc);
	put_session(ta - 1, 1, "203.0.113.9", NULL, 0, s);
	put_msg(&(struct fmsg){ .state = "new", .t = ta, .rnd = 1,
	    .client = "203.0.113.9", .from = "spammer@Example.ORG",
	    .rcpt = { "dropbox@example.com", "b@example.net" },
	    .auth = { "admin", "root", "admin" }, .session = s,
	    .body = "From: x\r\nSubject: Hello\r\n world\r\n\r\nbody\r\n" }, m1);
	put_session(ta, 2, "203.0.113.9", m1, 3, s);
	put_session(ta + 60, 3, "192.0.2.1", NULL, 5, s);
	put_msg(&(struct fmsg){ .state = "cur", .t = tb, .rnd = 2,
	    .client = "198.51.100.7", .from = "",
	    .rcpt = { "x@victim.test" }, .body = "X: y\r\n\r\nno subject\r\n" },
	    m2);
	put_msg(&(struct fmsg){ .state = "corrupt", .t = tb + 5, .rnd = 3,
	    .client = "", .from = "", .body = "junk" }, mc);
	put_msg(&(struct fmsg){ .state = "new", .t = tc, .rnd = 4,
	    .client = "203.0.113.9", .from = "bob@other.org",
	    .rcpt = { "Dropbox@Example.com" },
	    .body = "Subject: Cheap '; DROP TABLE messages; --\r\n\r\n.\r\n" },
	    m3);
	put_session(tc + 10, 5, "192.0.2.1", NULL, 0, s);

	/* every bucket old enough not to be "racy" */
	snprintf(rel, sizeof(rel), "new/%s", day_a), old_mtime(rel, 100);
	snprintf(rel, sizeof(rel), "new/%s", day_c), old_mtime(rel, 100);
	snprintf(rel, sizeof(rel), "cur/%s", day_b), old_mtime(rel, 100);
	snprintf(rel, sizeof(rel), "sessions/%s", day_a), old_mtime(rel, 100);
	snprintf(rel, sizeof(rel), "sessions/%s", day_c), old_mtime(rel, 100);
	old_mtime("corrupt", 100);

	q = queue_open(spool, QUEUE_F_CREATE, err, sizeof(err));
	ok(q != NULL, "queue_open %s", err);
	if (q == NULL)
		return tap_done();
	ix = queue_index_open(q, spool, err, sizeof(err));
	ok(ix != NULL && err[0] == '\0', "index open %s", err);
	if (ix == NULL)
		return tap_done();

	/* full sync */
	is_int(queue_index_sync(ix, &ss), 0, "first sync");
	is_int(ss.added, 8, "first sync adds 4 messages + 4 sessions");
	memset(&g, 0, sizeof(g));
	queue_index_list(ix, NULL, collect, &g);
	is_int(g.n, 4, "list all");
	is_str(g.ids[0], m1, "id order 0");
	is_str(g.ids[1], m2, "id order 1");
	is_str(g.ids[2], mc, "id order 2 (corrupt)");
	is_str(g.ids[3], m3, "id order 3");
	ok(strstr(g.dump, "Hello world") != NULL, "folded subject");
	ok(strstr(g.dump, "|a=admin;a=root;") != NULL &&
	    strstr(g.dump, "a=root;a=admin") == NULL, "distinct auth users");
	ok(strstr(g.dump, "(null) 1|") != NULL, "no subject is NULL");
	ok(strstr(g.dump, "DROP TABLE") != NULL, "hostile subject kept");

	/* nothing changed: no bucket looked at */
	is_int(queue_index_sync(ix, &ss), 0, "second sync");
	is_int(ss.buckets, 0, "second sync skips unchanged buckets");
	is_int(ss.listed, 0, "and does not even read their directories");
	is_int(ss.added + ss.removed, 0, "second sync changes nothing");

	/* filters */
	memset(&f, 0, sizeof(f));
	f.ip = "203.0.113.9";
	is_int(count_list(ix, &f), 2, "filter ip");
	f.ip = "203.0.113.";
	is_int(count_list(ix, &f), 0, "filter ip is exact");
	memset(&f, 0, sizeof(f));
	f.from = "example.org";
	is_int(count_list(ix, &f), 1, "filter from, no case");
	f.from = "%";
	is_int(count_list(ix, &f), 0, "filter from: %% is no wildcard");
	f.from = "'; DROP TABLE messages; --";
	is_int(count_list(ix, &f), 0, "filter from: SQL is data");
	memset(&f, 0, sizeof(f));
	f.rcpt = "DROPBOX@";
	is_int(count_list(ix, &f), 2, "filter rcpt");
	memset(&f, 0, sizeof(f));
	f.auth = "ROO";
	is_int(count_list(ix, &f), 1, "filter auth");
	memset(&f, 0, sizeof(f));
	f.states = QUEUE_ST_NEW;
	is_int(count_list(ix, &f), 2, "filter state new");
	f.states = QUEUE_ST_CORRUPT;
	is_int(count_list(ix, &f), 1, "filter state corrupt");
	memset(&f, 0, sizeof(f));
	f.since_us = (int64_t)(tb + 1) * 1000000;
	is_int(count_list(ix, &f), 2, "filter since");
	memset(&f, 0, sizeof(f));
	f.limit = 1;
	memset(&g2, 0, sizeof(g2));
	queue_index_list(ix, &f, collect, &g2);
	ok(g2.n == 1 && strcmp(g2.ids[0], m3) == 0, "limit keeps the newest");

	/* sessions */
	is_int(nsessions(ix, NULL), 4, "sessions all");
	memset(&sf, 0, sizeof(sf));
	sf.no_message = true;
	is_int(nsessions(ix, &sf), 3, "sessions without message");
	sf.ip = "192.0.2.1";
	is_int(nsessions(ix, &sf), 2, "sessions by ip");
	memset(&sf, 0, sizeof(sf));
	sf.since_us = (int64_t)tc * 1000000;
	is_int(nsessions(ix, &sf), 1, "sessions since");

	/* stats */
	st = queue_index_stats(ix, 5);
	ok(st != NULL, "stats");
	is_int(json_integer_value(json_object_get(st, "messages")), 4,
	    "stats messages");
	is_int(json_integer_value(json_object_get(st, "sessions")), 4,
	    "stats sessions");
	is_int(json_integer_value(json_object_get(st, "auth_attempts")), 8,
	    "stats auth attempts");
	is_str(json_string_value(json_object_get(json_array_get(
	    json_object_get(st, "top_clients"), 0), "addr")), "203.0.113.9",
	    "stats top client");
	json_decref(st);

	/* incremental: a message arrives in a new bucket */
	put_msg(&(struct fmsg){ .state = "new", .t = tb + 100, .rnd = 6,
	    .client = "198.51.100.7", .from = "late@example.org",
	    .rcpt = { "z@example.com" }, .body = "Subject: late\r\n\r\n" }, m4);
	is_int(queue_index_sync(ix, &ss), 0, "sync after add");
	is_int(ss.added, 1, "one row added");
	is_int(count_list(ix, NULL), 5, "five listed");

	/* removed */
	snprintf(cmd, sizeof(cmd), "rm -rf %s/new/%s/%s", spool, day_a, m1);
	ok(system(cmd) == 0, "rm message");
	is_int(queue_index_sync(ix, &ss), 0, "sync after remove");
	is_int(ss.removed, 1, "one row removed");
	is_int(count_list(ix, NULL), 4, "four listed");

	/* moved new -> cur */
	snprintf(path, sizeof(path), "%s/cur/%s", spool, day_c);
	mkdirs(path);
	snprintf(cmd, sizeof(cmd), "mv %s/new/%s/%s %s/", spool, day_c, m3,
	    path);
	ok(system(cmd) == 0, "mv new -> cur");
	is_int(queue_index_sync(ix, &ss), 0, "sync after move");
	memset(&f, 0, sizeof(f));
	f.states = QUEUE_ST_CUR;
	is_int(count_list(ix, &f), 2, "moved message is cur");
	is_int(count_list(ix, NULL), 4, "still four listed");

	/* a whole bucket vanishes */
	snprintf(cmd, sizeof(cmd), "rm -rf %s/new/%s", spool, day_b);
	ok(system(cmd) == 0, "rm bucket");
	is_int(queue_index_sync(ix, &ss), 0, "sync after bucket removal");
	is_int(count_list(ix, NULL), 3, "bucket rows dropped");

	/* rebuild gives the same rows as incremental sync */
	memset(&g, 0, sizeof(g));
	queue_index_list(ix, NULL, collect, &g);
	is_int(queue_index_rebuild(ix, &ss), 0, "rebuild");
	memset(&g2, 0, sizeof(g2));
	queue_index_list(ix, NULL, collect, &g2);
	is_str(g2.dump, g.dump, "rebuild equals sync");
	is_int(nsessions(ix, NULL), 4, "rebuild keeps sessions");

	/* retire */
	is_int(queue_index_retire(ix, day_a), 0, "retire day a");
	is_int(nsessions(ix, NULL), 1, "retired sessions gone");
	ok(queue_index_retire(ix, "../etc") == -1, "retire rejects bad day");

	/*
	 * queue_index_put: the analysis pipeline's results from memory (they
	 * are on no disk here, so only the put can have indexed them); an
	 * item without an envelope is read from disk.
	 */
	{
		struct queue_index_item it[2];
		char	 e2[256];

		memset(it, 0, sizeof(it));
		ok(queue_find(q, m3, &it[0].e) == 0 && queue_find(q, m2,
		    &it[1].e) == 0, "find m3 and m2");
		it[0].env = queue_envelope_load(q, &it[0].e, e2, sizeof(e2));
		it[0].an = json_pack("{s:{s:s}, s:{s:{s:s, s:i}}, s:{s:s},"
		    " s:{s:s}}", "content", "subject", "Caf\u00e9 decoded",
		    "geoip", "client", "country", "GB", "asn", 1221,
		    "campaign", "campaign", "c0ffee", "relaytest", "verdict",
		    "spam");
		ok(it[0].env != NULL, "m3's envelope %s", e2);
		is_int(queue_index_put(ix, it, 2), 0, "put two messages");
		memset(&f, 0, sizeof(f));
		f.country = "GB";
		is_int(count_list(ix, &f), 1, "put: the country from memory");
		memset(&f, 0, sizeof(f));
		f.asn = 1221;
		f.campaign = "c0ffee";
		f.verdict = "spam";
		is_int(count_list(ix, &f), 1, "put: ASN, campaign and verdict");
		memset(&g, 0, sizeof(g));
		queue_index_list(ix, NULL, collect, &g);
		ok(strstr(g.dump, "Caf\u00e9 decoded") != NULL &&
		    strstr(g.dump, "DROP TABLE") == NULL,
		    "put: the decoded subject replaces the header's");
		ok(strstr(g.dump, m2) != NULL, "put: an item read from disk");
		is_int(queue_index_put(ix, NULL, 0), 0, "put nothing");
		json_decref(it[0].env);
		json_decref(it[0].an);
	}

	/* schema version from the future is refused with a reason */
	queue_index_close(ix);
	snprintf(path, sizeof(path), "%s/%s", spool, QUEUE_INDEX_FILE);
	ok(sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db,
	    "UPDATE meta SET value = 99 WHERE key = 'schema_version'",
	    NULL, NULL, NULL) == SQLITE_OK, "set schema 99");
	sqlite3_close(db);
	ix = queue_index_open(q, spool, err, sizeof(err));
	ok(ix == NULL && strstr(err, "newer") != NULL, "newer schema: %s", err);
	queue_index_close(ix);

	queue_close(q);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", spool);
	(void)system(cmd);
	return tap_done();
}
