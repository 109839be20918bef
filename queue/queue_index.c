/*
 * queue_index.c -- the SQLite index of the spool, derived from its files.
 * Run by the CLI (as the operator) and by the worker role. It reads the
 * spool only through queue.h and the root directory fd, and every value
 * that reaches SQL is bound with sqlite3_bind_*(): envelope strings are
 * attacker-controlled even after escaping.
 *
 * Incremental sync: a table "buckets" remembers, per day directory, its
 * mtime and entry count. A bucket whose mtime is as recorded is not read;
 * one whose mtime moved is diffed against the rows of that bucket: ids
 * that appeared are indexed, ids that vanished are dropped. A bucket
 * modified less than QUEUE_INDEX_RACY_NS ago is recorded
 * with mtime -1 so that the next sync looks again (git's "racy clean"):
 * a rename in the same mtime tick as our look must not be missed.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "compat.h"
#include "jsonutil.h"
#include "log.h"
#include "queue.h"
#include "dbutil.h"
#include "queue_index.h"
#include "queue_index_priv.h"
#include "xmalloc.h"

#define QUEUE_INDEX_RACY_NS	(2LL * 1000000000LL)


struct idlist {
	char		(*v)[QUEUE_ID_LEN + 1];
	size_t		 n, size;
};

static int	 ix_sync_locked(struct queue_index *,
		    struct queue_index_syncstat *);
static int	 bucket_drop(struct queue_index *, const char *, const char *);

/* a statement of the per-message path, prepared once (sql: a literal) */
static sqlite3_stmt *
ix_cprep(struct queue_index *ix, const char *sql)
{
	sqlite3_stmt *st;

	if ((st = dbu_prep(&ix->stmts, ix->db, sql)) == NULL)
		queue_ix_fail(ix, "index: prepare");
	return st;
}

static void
bind_str(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static const char *
col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? (const char *)s : "";
}

static const char *
state_name(enum queue_state s)
{
	switch (s) {
	case QUEUE_ST_NEW:
		return "new";
	case QUEUE_ST_CUR:
		return "cur";
	default:
		return "corrupt";
	}
}

static enum queue_state
state_of(const char *s)
{
	if (strcmp(s, "new") == 0)
		return QUEUE_ST_NEW;
	if (strcmp(s, "cur") == 0)
		return QUEUE_ST_CUR;
	return QUEUE_ST_CORRUPT;
}

/* "2026-11-26T09:03:01.123Z" -> µs since the epoch, or -1 */
static int64_t
iso_us(const char *s)
{
	struct tm tm;
	const char *p;
	int64_t	 us = 0, scale = 100000;
	time_t	 t;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			us += (*p - '0') * scale;
	if (*p != 'Z' && *p != '\0')
		return -1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	return (int64_t)t * 1000000 + us;
}

static int64_t
id_us(const char *id)
{
	struct timespec ts;

	if (queue_id_time(id, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* a string member at a path of object keys, or NULL */
static const char *
js(json_t *o, const char *k1, const char *k2)
{
	json_t	*v = json_object_get(o, k1);

	if (k2 != NULL)
		v = json_object_get(v, k2);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * queue_index_subject -- the Subject: header of a message whose first len
 * bytes are hdr: field name matched without case, folding removed, the
 * value kept raw (no MIME decoding) and escaped with jsu_bytes(). Returns
 * a new string, or NULL if the header part has no Subject.
 */
char *
queue_index_subject(const char *hdr, size_t len)
{
	const char *p = hdr, *end = hdr + len, *eol, *v;
	char	*raw, *out;
	size_t	 n = 0;
	json_t	*j;

	while (p < end) {
		if ((eol = memchr(p, '\n', end - p)) == NULL)
			eol = end;
		if (eol == p || (eol == p + 1 && *p == '\r'))
			return NULL;		/* end of the header */
		if (eol - p >= 8 && strncasecmp(p, "Subject:", 8) == 0)
			break;
		p = eol + 1;
	}
	if (p >= end)
		return NULL;
	v = p + 8;
	raw = xmalloc(end - v + 1);
	for (p = v; p < end; p++) {
		if (*p == '\r' && p + 1 < end && p[1] == '\n')
			continue;
		if (*p == '\n') {
			/* RFC 5322 2.2.3: unfold CRLF before WSP */
			if (p + 1 < end && (p[1] == ' ' || p[1] == '\t'))
				continue;
			break;
		}
		raw[n++] = *p;
	}
	while (n > 0 && (raw[n - 1] == ' ' || raw[n - 1] == '\t' ||
	    raw[n - 1] == '\r'))
		n--;
	v = raw;
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	j = jsu_bytes(v, n);
	out = xstrdup(json_string_value(j));
	json_decref(j);
	free(raw);
	return out;
}

static char *
message_subject(struct queue_index *ix, const struct queue_entry *e)
{
	char	*buf, *s;
	size_t	 n = 0;
	ssize_t	 r;
	int	 fd;

	if ((fd = queue_open_file(ix->q, e, "message", O_RDONLY)) == -1)
		return NULL;
	buf = xmalloc(QUEUE_INDEX_SUBJECT_SCAN);
	while (n < QUEUE_INDEX_SUBJECT_SCAN) {
		r = read(fd, buf + n, QUEUE_INDEX_SUBJECT_SCAN - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	s = queue_index_subject(buf, n);
	free(buf);
	return s;
}

/* the YYYYMMDD bucket of a valid id */
static void
queue_day_of_id(const char *id, char day[QUEUE_DAY_LEN + 1])
{
	struct timespec ts;

	if (queue_id_time(id, &ts) == -1)
		memset(&ts, 0, sizeof(ts));
	queue_day_of(&ts, day);
}

/*
 * index_message_json -- replace message e's row and its rcpts from its
 * envelope (NULL: unreadable, the row keeps what the id says) and its
 * analysis results (NULL: none yet). The Subject is the content
 * analyzer's decoded one, else read from the message's header.
 */
static int
index_message_json(struct queue_index *ix, const struct queue_entry *e,
    json_t *env, json_t *an)
{
	sqlite3_stmt *st = NULL;
	json_t	*a, *v;
	char	*subject = NULL, *users = NULL;
	size_t	 i, ulen = 0;
	int64_t	 us;
	int	 rc = -1;

	/* once the content analyzer ran: its decoded Subject (RFC 2047) */
	v = json_object_get(json_object_get(an, "content"), "subject");
	if (json_is_string(v))
		subject = xstrdup(json_string_value(v));
	else if (env != NULL)
		subject = message_subject(ix, e);

	/* distinct AUTH users, newline-separated (escaped: no raw LF) */
	json_array_foreach(json_object_get(env, "auth"), i, v) {
		const char *u = js(v, "user", NULL);
		size_t	 l;

		if (u == NULL || *u == '\0')
			continue;
		l = strlen(u);
		if (users != NULL) {
			const char *h = users;

			while ((h = strstr(h, u)) != NULL) {
				if ((h == users || h[-1] == '\n') &&
				    (h[l] == '\n' || h[l] == '\0'))
					break;
				h++;
			}
			if (h != NULL)
				continue;
		}
		users = xreallocarray(users, ulen + l + 2, 1);
		if (ulen > 0)
			users[ulen++] = '\n';
		memcpy(users + ulen, u, l + 1);
		ulen += l;
	}

	if ((st = ix_cprep(ix, "INSERT OR REPLACE INTO messages (id, day,"
	    " state, received, received_us, session, client_addr, client_port,"
	    " helo, mail_from, rcpt_count, size, sha256, subject, auth_users,"
	    " country, asn, campaign, verdict)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) == NULL)
		goto done;
	us = iso_us(js(env, "received", NULL));
	if (us < 0)
		us = id_us(e->id);
	a = json_object_get(env, "rcpt");
	bind_str(st, 1, e->id);
	bind_str(st, 2, e->day);
	bind_str(st, 3, state_name(e->state));
	bind_str(st, 4, js(env, "received", NULL));
	sqlite3_bind_int64(st, 5, us);
	bind_str(st, 6, js(env, "session", NULL));
	bind_str(st, 7, js(env, "client", "addr"));
	sqlite3_bind_int64(st, 8, json_integer_value(json_object_get(
	    json_object_get(env, "client"), "port")));
	bind_str(st, 9, js(env, "helo", "name"));
	bind_str(st, 10, js(env, "mail_from", "addr"));
	sqlite3_bind_int64(st, 11, json_array_size(a));
	sqlite3_bind_int64(st, 12, json_integer_value(json_object_get(env,
	    "size")));
	bind_str(st, 13, js(env, "sha256", NULL));
	bind_str(st, 14, subject);
	bind_str(st, 15, users);
	{
		json_t	*gc = json_object_get(json_object_get(an, "geoip"),
		    "client");

		bind_str(st, 16, json_string_value(json_object_get(gc,
		    "country")));
		if (json_is_integer(json_object_get(gc, "asn")))
			sqlite3_bind_int64(st, 17, json_integer_value(
			    json_object_get(gc, "asn")));
		bind_str(st, 18, json_string_value(json_object_get(
		    json_object_get(an, "campaign"), "campaign")));
		bind_str(st, 19, json_string_value(json_object_get(
		    json_object_get(an, "relaytest"), "verdict")));
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		queue_ix_fail(ix, "index: insert message %s", e->id);
		goto done;
	}
	dbu_done(st);
	if ((st = ix_cprep(ix, "DELETE FROM rcpts WHERE id = ?")) == NULL)
		goto done;
	bind_str(st, 1, e->id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		queue_ix_fail(ix, "index: rcpts of %s", e->id);
		goto done;
	}
	dbu_done(st);
	if ((st = ix_cprep(ix, "INSERT INTO rcpts (id, seq, addr)"
	    " VALUES (?,?,?)")) == NULL)
		goto done;
	json_array_foreach(a, i, v) {
		const char *r = js(v, "addr", NULL);

		sqlite3_reset(st);
		bind_str(st, 1, e->id);
		sqlite3_bind_int64(st, 2, i);
		bind_str(st, 3, r ? r : "");
		if (sqlite3_step(st) != SQLITE_DONE) {
			queue_ix_fail(ix, "index: rcpt of %s", e->id);
			goto done;
		}
	}
	rc = 0;
 done:
	dbu_done(st);
	free(subject);
	free(users);
	return rc;
}

/* index one message as it is on disk: its envelope and its results */
static int
index_message(struct queue_index *ix, const struct queue_entry *e)
{
	json_t	*env, *an;
	char	 err[256];
	int	 rc;

	env = queue_envelope_load(ix->q, e, err, sizeof(err));
	if (env == NULL)
		log_debug("%s index: envelope: %s", e->id, err);
	/* the analyzers' results, once the message was analyzed */
	an = queue_file_json(ix->q, e, "analysis.json", err, sizeof(err));
	if (an == NULL)
		an = json_pack("{s:o?}", "relaytest", queue_file_json(ix->q, e,
		    "relaytest.json", err, sizeof(err)));
	rc = index_message_json(ix, e, env, an);
	json_decref(env);
	json_decref(an);
	return rc;
}

static int
index_session(struct queue_index *ix, const char *id, const char *day)
{
	sqlite3_stmt *st;
	json_t	*rec;
	char	 err[256];
	int64_t	 us;
	int	 rc;

	if ((rec = queue_session_load(ix->q, id, err, sizeof(err))) == NULL)
		log_debug("%s index: session: %s", id, err);
	if ((st = ix_cprep(ix, "INSERT OR REPLACE INTO sessions (id, day,"
	    " start, start_us, \"end\", client_addr, helo, messages,"
	    " auth_attempts, close, commands)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?)")) == NULL) {
		json_decref(rec);
		return -1;
	}
	if ((us = iso_us(js(rec, "start", NULL))) < 0)
		us = id_us(id);
	bind_str(st, 1, id);
	bind_str(st, 2, day);
	bind_str(st, 3, js(rec, "start", NULL));
	sqlite3_bind_int64(st, 4, us);
	bind_str(st, 5, js(rec, "end", NULL));
	bind_str(st, 6, js(rec, "client", "addr"));
	bind_str(st, 7, js(rec, "helo", "name"));
	sqlite3_bind_int64(st, 8, json_array_size(json_object_get(rec,
	    "messages")));
	sqlite3_bind_int64(st, 9, json_array_size(json_object_get(rec,
	    "auth")));
	bind_str(st, 10, js(rec, "close", NULL));
	sqlite3_bind_int64(st, 11, json_integer_value(json_object_get(rec,
	    "commands")));
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 :
	    queue_ix_fail(ix, "index: insert session %s", id);
	dbu_done(st);
	json_decref(rec);
	return rc;
}

static void
idlist_add(struct idlist *l, const char *id)
{
	if (l->n == l->size) {
		l->size = l->size ? l->size * 2 : 64;
		l->v = xreallocarray(l->v, l->size, sizeof(*l->v));
	}
	strlcpy(l->v[l->n++], id, sizeof(l->v[0]));
}

static int
idcmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool
valid_day(const char *s)
{
	size_t	 i;

	for (i = 0; i < QUEUE_DAY_LEN; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return s[i] == '\0';
}

/*
 * The ids in directory fd: message directories, or "<id>.json" session
 * files when sessions is set. Sorted. Closes fd.
 */
static void
list_ids(int fd, bool sessions, struct idlist *l)
{
	struct dirent *de;
	char	 id[QUEUE_ID_LEN + 1];
	DIR	*d;

	l->n = 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t	 len = strlen(de->d_name);

		if (sessions && (len != QUEUE_ID_LEN + 5 ||
		    strcmp(de->d_name + QUEUE_ID_LEN, ".json") != 0))
			continue;
		if (!sessions && len != QUEUE_ID_LEN)
			continue;
		memcpy(id, de->d_name, QUEUE_ID_LEN);
		id[QUEUE_ID_LEN] = '\0';
		if (queue_id_valid(id))
			idlist_add(l, id);
	}
	closedir(d);
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), idcmp);
}

/* the sorted ids the index holds for one bucket */
static int
indexed_ids(struct queue_index *ix, const char *kind, const char *day,
    struct idlist *l)
{
	sqlite3_stmt *st;
	int	 rc;

	l->n = 0;
	if (strcmp(kind, "sessions") == 0)
		st = queue_ix_prep(ix, "SELECT id FROM sessions WHERE day = ?2"
		    " ORDER BY id");
	else
		st = queue_ix_prep(ix, "SELECT id FROM messages WHERE state = ?1"
		    " AND day = ?2 ORDER BY id");
	if (st == NULL)
		return -1;
	bind_str(st, 1, kind);
	bind_str(st, 2, day);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		idlist_add(l, col_str(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : queue_ix_fail(ix, "index: read %s", kind);
}

static int
drop_row(struct queue_index *ix, const char *kind, const char *id)
{
	sqlite3_stmt *st;
	int	 rc;

	if ((st = queue_ix_prep(ix, strcmp(kind, "sessions") == 0 ?
	    "DELETE FROM sessions WHERE id = ?" :
	    "DELETE FROM messages WHERE id = ? AND state = ?")) == NULL)
		return -1;
	bind_str(st, 1, id);
	bind_str(st, 2, kind);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 :
	    queue_ix_fail(ix, "index: drop %s", id);
	sqlite3_finalize(st);
	return rc;
}

/* make the rows of one bucket equal to the ids on disk */
static int
bucket_refresh(struct queue_index *ix, const char *kind, const char *day,
    const struct idlist *disk, struct queue_index_syncstat *ss)
{
	struct idlist have = { 0 };
	struct queue_entry e;
	size_t	 i = 0, j = 0;
	int	 c, rc = -1;

	if (indexed_ids(ix, kind, day, &have) == -1)
		goto done;
	memset(&e, 0, sizeof(e));
	strlcpy(e.day, day, sizeof(e.day));
	e.state = state_of(kind);
	while (i < disk->n || j < have.n) {
		if (i == disk->n)
			c = 1;
		else if (j == have.n)
			c = -1;
		else
			c = strcmp(disk->v[i], have.v[j]);
		if (c == 0) {
			i++, j++;
			continue;
		}
		if (c > 0) {
			if (drop_row(ix, kind, have.v[j++]) == -1)
				goto done;
			ss->removed++;
			continue;
		}
		if (strcmp(kind, "sessions") == 0) {
			if (index_session(ix, disk->v[i], day) == -1)
				goto done;
		} else {
			strlcpy(e.id, disk->v[i], sizeof(e.id));
			if (index_message(ix, &e) == -1)
				goto done;
		}
		ss->added++;
		i++;
	}
	rc = 0;
 done:
	free(have.v);
	return rc;
}

static int
bucket_get(struct queue_index *ix, const char *kind, const char *day,
    int64_t *mtime, int64_t *entries)
{
	sqlite3_stmt *st;
	int	 rc;

	*mtime = *entries = -2;
	if ((st = queue_ix_prep(ix, "SELECT mtime_ns, entries FROM buckets"
	    " WHERE kind = ? AND day = ?")) == NULL)
		return -1;
	bind_str(st, 1, kind);
	bind_str(st, 2, day);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*mtime = sqlite3_column_int64(st, 0);
		*entries = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    queue_ix_fail(ix, "index: buckets");
}

static int
bucket_put(struct queue_index *ix, const char *kind, const char *day,
    int64_t mtime, int64_t entries)
{
	sqlite3_stmt *st;
	int	 rc;

	if ((st = queue_ix_prep(ix, "INSERT OR REPLACE INTO buckets (kind, day,"
	    " mtime_ns, entries) VALUES (?,?,?,?)")) == NULL)
		return -1;
	bind_str(st, 1, kind);
	bind_str(st, 2, day);
	sqlite3_bind_int64(st, 3, mtime);
	sqlite3_bind_int64(st, 4, entries);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 :
	    queue_ix_fail(ix, "index: store bucket");
	sqlite3_finalize(st);
	return rc;
}

/* one bucket directory (opened relative to the root fd) */
static int
sync_bucket(struct queue_index *ix, const char *kind, const char *day,
    const char *rel, struct queue_index_syncstat *ss)
{
	struct idlist disk = { 0 };
	struct timespec now;
	struct stat sb;
	int64_t	 mtime, old_mtime, old_n;
	int	 fd, rc = -1;

	fd = openat(queue_rootfd(ix->q), rel, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (fd == -1 || fstat(fd, &sb) == -1) {
		if (fd != -1)
			close(fd);
		if (errno == ENOENT)	/* vanished since readdir */
			return bucket_drop(ix, kind, day);
		return queue_ix_fail(ix, "index: %s: %s", rel, strerror(errno));
	}
	mtime = (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
	if (bucket_get(ix, kind, day, &old_mtime, &old_n) == -1) {
		close(fd);
		return -1;
	}
	/*
	 * Unchanged since a look that was not racy: not even read (a day
	 * bucket can hold a million entries, and every relaytrap command
	 * syncs). Any entry added, removed or renamed moves the mtime.
	 */
	if (old_mtime >= 0 && old_mtime == mtime) {
		close(fd);
		return 0;
	}
	list_ids(fd, strcmp(kind, "sessions") == 0, &disk);
	ss->listed++;
	ss->buckets++;
	if (bucket_refresh(ix, kind, day, &disk, ss) == -1)
		goto done;
	clock_gettime(CLOCK_REALTIME, &now);
	if ((int64_t)now.tv_sec * 1000000000LL + now.tv_nsec - mtime <
	    QUEUE_INDEX_RACY_NS)
		mtime = -1;
	rc = bucket_put(ix, kind, day, mtime, disk.n);
 done:
	free(disk.v);
	return rc;
}

/* forget the rows of one bucket and the bucket itself */
static int
bucket_drop(struct queue_index *ix, const char *kind, const char *day)
{
	static const char *sql[] = {
		"DELETE FROM messages WHERE state = ?1 AND day = ?2",
		"DELETE FROM sessions WHERE ?1 = 'sessions' AND day = ?2",
		"DELETE FROM buckets WHERE kind = ?1 AND day = ?2",
	};
	sqlite3_stmt *st;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((st = queue_ix_prep(ix, sql[i])) == NULL)
			return -1;
		bind_str(st, 1, kind);
		bind_str(st, 2, day);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return queue_ix_fail(ix, "index: drop bucket %s/%s", kind,
			    day);
	}
	return 0;
}

/* every day bucket under kind/ (new, cur, sessions) */
static int
sync_kind(struct queue_index *ix, const char *kind,
    struct queue_index_syncstat *ss)
{
	struct dirent *de;
	struct idlist seen = { 0 }, known = { 0 };
	sqlite3_stmt *st;
	char	 rel[64];
	DIR	*d = NULL;
	size_t	 i;
	int	 fd, rc = -1;

	fd = openat(queue_rootfd(ix->q), kind, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (fd == -1 && errno != ENOENT)
		return queue_ix_fail(ix, "index: %s: %s", kind, strerror(errno));
	if (fd != -1 && (d = fdopendir(fd)) == NULL) {
		close(fd);
		return queue_ix_fail(ix, "index: %s: %s", kind, strerror(errno));
	}
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (!valid_day(de->d_name))
			continue;
		idlist_add(&seen, de->d_name);
		if (!bsnprintf(rel, sizeof(rel), "%s/%s", kind, de->d_name))
			continue;
		if (sync_bucket(ix, kind, de->d_name, rel, ss) == -1)
			goto done;
	}
	/* buckets that vanished (retention, manual rm) */
	if ((st = queue_ix_prep(ix, "SELECT day FROM buckets WHERE kind = ?")) ==
	    NULL)
		goto done;
	bind_str(st, 1, kind);
	while (sqlite3_step(st) == SQLITE_ROW)
		idlist_add(&known, col_str(st, 0));
	sqlite3_finalize(st);
	for (i = 0; i < known.n; i++) {
		size_t	 k;

		for (k = 0; k < seen.n; k++)
			if (strcmp(seen.v[k], known.v[i]) == 0)
				break;
		if (k < seen.n)
			continue;
		if (bucket_drop(ix, kind, known.v[i]) == -1)
			goto done;
		ss->buckets++;
	}
	rc = 0;
 done:
	if (d != NULL)
		closedir(d);
	free(seen.v);
	free(known.v);
	return rc;
}

static int
ix_sync_locked(struct queue_index *ix, struct queue_index_syncstat *ss)
{
	if (sync_kind(ix, "new", ss) == -1 ||
	    sync_kind(ix, "cur", ss) == -1 ||
	    sync_bucket(ix, "corrupt", "", "corrupt", ss) == -1 ||
	    sync_kind(ix, "sessions", ss) == -1)
		return -1;
	return 0;
}

static int
ix_sync(struct queue_index *ix, bool rebuild,
    struct queue_index_syncstat *st)
{
	struct queue_index_syncstat dummy;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	ix->err[0] = '\0';
	if (queue_ix_exec(ix, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (rebuild && (queue_ix_exec(ix, "DELETE FROM messages") == -1 ||
	    queue_ix_exec(ix, "DELETE FROM rcpts") == -1 ||
	    queue_ix_exec(ix, "DELETE FROM sessions") == -1 ||
	    queue_ix_exec(ix, "DELETE FROM buckets") == -1))
		goto fail;
	if (ix_sync_locked(ix, st) == -1)
		goto fail;
	return queue_ix_exec(ix, "COMMIT");
 fail:
	sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * queue_index_sync -- bring the index up to date with the spool, looking
 * only at buckets that changed since the last sync (see the file
 * comment). One transaction: readers see the old or the new state. st
 * (may be NULL) receives counts. Returns 0, or -1 (queue_index_error()).
 */
int
queue_index_sync(struct queue_index *ix, struct queue_index_syncstat *st)
{
	return ix_sync(ix, false, st);
}

/*
 * queue_index_rebuild -- drop every row and index the whole spool again,
 * in one transaction. Returns 0 or -1 (queue_index_error()).
 */
int
queue_index_rebuild(struct queue_index *ix, struct queue_index_syncstat *st)
{
	return ix_sync(ix, true, st);
}

/*
 * queue_index_retire -- forget day <day> (YYYYMMDD) in new/, cur/ and
 * sessions/: called after retention removed those buckets. Returns 0/-1.
 */
int
queue_index_retire(struct queue_index *ix, const char *day)
{
	static const char *kinds[] = { "new", "cur", "sessions" };
	size_t	 i;

	if (!valid_day(day))
		return queue_ix_fail(ix, "index: retire: bad day");
	if (queue_ix_exec(ix, "BEGIN IMMEDIATE") == -1)
		return -1;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (bucket_drop(ix, kinds[i], day) == -1) {
			sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	return queue_ix_exec(ix, "COMMIT");
}

/*
 * queue_index_add -- index exactly these ids as they are on disk now:
 * messages just committed to new/ and sessions just recorded, in one
 * transaction. The worker calls it for the ids the SMTP role announces,
 * so it need not rescan a busy bucket; queue_index_sync() still finds
 * anything missed. Ids that fail queue_id_valid() are skipped. 0 or -1.
 */
int
queue_index_add(struct queue_index *ix, char *const *msgs, size_t nmsgs,
    char *const *sessions, size_t nsessions)
{
	struct queue_entry e;
	size_t	 i;

	if (nmsgs == 0 && nsessions == 0)
		return 0;
	ix->err[0] = '\0';
	if (queue_ix_exec(ix, "BEGIN IMMEDIATE") == -1)
		return -1;
	for (i = 0; i < nmsgs; i++) {
		if (!queue_id_valid(msgs[i]))
			continue;
		/* new/ or, once analyzed, cur/ */
		if (queue_find(ix->q, msgs[i], &e) == -1) {
			memset(&e, 0, sizeof(e));
			strlcpy(e.id, msgs[i], sizeof(e.id));
			queue_day_of_id(e.id, e.day);
			e.state = QUEUE_ST_NEW;
		}
		if (index_message(ix, &e) == -1)
			goto fail;
	}
	for (i = 0; i < nsessions; i++) {
		char	 day[QUEUE_DAY_LEN + 1];

		if (!queue_id_valid(sessions[i]))
			continue;
		queue_day_of_id(sessions[i], day);
		if (index_session(ix, sessions[i], day) == -1)
			goto fail;
	}
	return queue_ix_exec(ix, "COMMIT");
 fail:
	sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * queue_index_put -- index these messages from the envelopes and results
 * their caller holds in memory (the analysis pipeline, which has just
 * written them), in one transaction, instead of reading the files back.
 * An item whose env is NULL is read from disk like queue_index_add().
 * 0 or -1 (nothing of the transaction kept).
 */
int
queue_index_put(struct queue_index *ix, const struct queue_index_item *it,
    size_t n)
{
	size_t	 i;
	int	 rc;

	if (n == 0)
		return 0;
	ix->err[0] = '\0';
	if (queue_ix_exec(ix, "BEGIN IMMEDIATE") == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (it[i].env != NULL)
			rc = index_message_json(ix, &it[i].e, it[i].env,
			    it[i].an);
		else
			rc = index_message(ix, &it[i].e);
		if (rc == -1) {
			sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return queue_ix_exec(ix, "COMMIT");
}

#define MSG_COLS "id, day, state, received, received_us, session," \
	" client_addr, client_port, helo, mail_from, size, sha256, subject," \
	" auth_users"

/* split s at '\n' into a NULL-free array of pointers into s (modified) */
static const char **
split_lines(char *s, size_t *n)
{
	const char **v;
	size_t	 i, k = 1;
	char	*p;

	*n = 0;
	if (s == NULL || *s == '\0')
		return NULL;
	for (p = s; *p != '\0'; p++)
		if (*p == '\n')
			k++;
	v = xcalloc(k, sizeof(*v));
	for (i = 0, p = s; i < k; i++) {
		v[i] = p;
		if ((p = strchr(p, '\n')) != NULL)
			*p++ = '\0';
	}
	*n = k;
	return v;
}

/* run a prepared message query: one callback per row, with its rcpts */
static int
run_msgs(struct queue_index *ix, sqlite3_stmt *st, queue_index_msg_cb cb,
    void *arg)
{
	struct queue_index_msg m;
	sqlite3_stmt *rs;
	char	*users;
	size_t	 i, nr;
	int	 rc, ret = 0;

	if ((rs = queue_ix_prep(ix, "SELECT addr FROM rcpts WHERE id = ?"
	    " ORDER BY seq")) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char **rcpt = NULL;

		memset(&m, 0, sizeof(m));
		m.id = col_str(st, 0);
		m.day = col_str(st, 1);
		m.state = state_of(col_str(st, 2));
		m.received = col_str(st, 3);
		m.received_us = sqlite3_column_int64(st, 4);
		m.session = col_str(st, 5);
		m.client_addr = col_str(st, 6);
		m.client_port = sqlite3_column_int(st, 7);
		m.helo = col_str(st, 8);
		m.mail_from = col_str(st, 9);
		m.size = sqlite3_column_int64(st, 10);
		m.sha256 = col_str(st, 11);
		m.subject = sqlite3_column_type(st, 12) == SQLITE_NULL ? NULL :
		    col_str(st, 12);
		users = xstrdup(col_str(st, 13));
		m.auth_users = split_lines(users, &m.auth_count);

		sqlite3_reset(rs);
		bind_str(rs, 1, m.id);
		nr = 0;
		while (sqlite3_step(rs) == SQLITE_ROW) {
			rcpt = xreallocarray(rcpt, nr + 1, sizeof(*rcpt));
			rcpt[nr++] = xstrdup(col_str(rs, 0));
		}
		m.rcpt = rcpt;
		m.rcpt_count = nr;
		ret = cb(&m, arg);
		for (i = 0; i < nr; i++)
			free((char *)rcpt[i]);
		free(rcpt);
		free(m.auth_users);
		free(users);
		if (ret != 0)
			break;
	}
	sqlite3_finalize(rs);
	if (ret == 0 && rc != SQLITE_DONE)
		return queue_ix_fail(ix, "index: list");
	return ret;
}

/*
 * queue_index_list -- call cb for each indexed message that matches f
 * (NULL: all), in id (= time) order. With a limit, the newest f->limit
 * matches, still in id order. Returns 0, cb's non-zero value, or -1.
 */
int
queue_index_list(struct queue_index *ix, const struct queue_index_filter *f,
    queue_index_msg_cb cb, void *arg)
{
	static const struct queue_index_filter none = { 0 };
	sqlite3_stmt *st;
	int	 rc;

	if (f == NULL)
		f = &none;
	if ((st = queue_ix_prep(ix, "SELECT " MSG_COLS " FROM (SELECT * FROM"
	    " messages m WHERE (?1 = 0 OR received_us >= ?1)"
	    " AND (?2 IS NULL OR client_addr = ?2)"
	    " AND (?3 IS NULL OR instr(lower(mail_from), lower(?3)) > 0)"
	    " AND (?4 IS NULL OR EXISTS (SELECT 1 FROM rcpts r"
	    "  WHERE r.id = m.id AND instr(lower(r.addr), lower(?4)) > 0))"
	    " AND (?5 IS NULL OR instr(lower(auth_users), lower(?5)) > 0)"
	    " AND ((CASE state WHEN 'new' THEN 1 WHEN 'cur' THEN 2 ELSE 4 END)"
	    "  & ?6) != 0"
	    " AND (?8 IS NULL OR country = upper(?8))"
	    " AND (?9 = 0 OR asn = ?9)"
	    " AND (?10 IS NULL OR campaign = ?10)"
	    " AND (?11 IS NULL OR verdict = ?11)"
	    " ORDER BY id DESC LIMIT ?7) ORDER BY id")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, f->since_us);
	bind_str(st, 2, f->ip);
	bind_str(st, 3, f->from);
	bind_str(st, 4, f->rcpt);
	bind_str(st, 5, f->auth);
	sqlite3_bind_int(st, 6, f->states ? f->states : QUEUE_ST_ANY);
	sqlite3_bind_int64(st, 7, f->limit > 0 ? f->limit : -1);
	bind_str(st, 8, f->country);
	sqlite3_bind_int64(st, 9, f->asn);
	bind_str(st, 10, f->campaign);
	bind_str(st, 11, f->verdict);
	rc = run_msgs(ix, st, cb, arg);
	sqlite3_finalize(st);
	return rc;
}

/*
 * queue_index_get -- call cb once for message id if the index has it.
 * Returns 0 found, 1 not indexed, cb's non-zero value, or -1.
 */
int
queue_index_get(struct queue_index *ix, const char *id,
    queue_index_msg_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int	 rc;

	if ((st = queue_ix_prep(ix, "SELECT " MSG_COLS " FROM messages"
	    " WHERE id = ?")) == NULL)
		return -1;
	bind_str(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return 1;
	}
	sqlite3_reset(st);
	rc = run_msgs(ix, st, cb, arg);
	sqlite3_finalize(st);
	return rc;
}

/*
 * queue_index_sessions -- call cb for each indexed session matching f
 * (NULL: all) in id order; with a limit, the newest. Returns 0, cb's
 * non-zero value, or -1.
 */
int
queue_index_sessions(struct queue_index *ix,
    const struct queue_index_session_filter *f, queue_index_session_cb cb,
    void *arg)
{
	static const struct queue_index_session_filter none = { 0 };
	struct queue_index_session s;
	sqlite3_stmt *st;
	int	 rc, ret = 0;

	if (f == NULL)
		f = &none;
	if ((st = queue_ix_prep(ix, "SELECT id, day, start, \"end\", start_us,"
	    " client_addr, helo, messages, auth_attempts, close, commands"
	    " FROM (SELECT * FROM sessions WHERE (?1 = 0 OR start_us >= ?1)"
	    " AND (?2 IS NULL OR client_addr = ?2)"
	    " AND (?3 = 0 OR messages = 0)"
	    " ORDER BY id DESC LIMIT ?4) ORDER BY id")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, f->since_us);
	bind_str(st, 2, f->ip);
	sqlite3_bind_int(st, 3, f->no_message);
	sqlite3_bind_int64(st, 4, f->limit > 0 ? f->limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&s, 0, sizeof(s));
		s.id = col_str(st, 0);
		s.day = col_str(st, 1);
		s.start = col_str(st, 2);
		s.end = col_str(st, 3);
		s.start_us = sqlite3_column_int64(st, 4);
		s.client_addr = col_str(st, 5);
		s.helo = col_str(st, 6);
		s.messages = sqlite3_column_int64(st, 7);
		s.auth_attempts = sqlite3_column_int64(st, 8);
		s.close = col_str(st, 9);
		s.commands = sqlite3_column_int64(st, 10);
		if ((ret = cb(&s, arg)) != 0)
			break;
	}
	sqlite3_finalize(st);
	if (ret == 0 && rc != SQLITE_DONE)
		return queue_ix_fail(ix, "index: sessions");
	return ret;
}

static int
stat_int(struct queue_index *ix, const char *sql, json_t *o, const char *k)
{
	sqlite3_stmt *st;
	int	 rc;

	if ((st = queue_ix_prep(ix, sql)) == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_object_set_new(o, k,
		    json_integer(sqlite3_column_int64(st, 0)));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : queue_ix_fail(ix, "index: stats");
}

/* rows of (text, int, int, ...) as an array of objects with keys */
static int
stat_rows(struct queue_index *ix, const char *sql, int top, json_t *o,
    const char *k, const char *const *keys)
{
	sqlite3_stmt *st;
	json_t	*a, *row;
	int	 i, rc;

	if ((st = queue_ix_prep(ix, sql)) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, top > 0 ? top : -1);	/* -1: no limit */
	a = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row = json_object();
		json_object_set_new(row, keys[0], json_string(col_str(st, 0)));
		for (i = 1; keys[i] != NULL; i++)
			json_object_set_new(row, keys[i],
			    json_integer(sqlite3_column_int64(st, i)));
		json_array_append_new(a, row);
	}
	sqlite3_finalize(st);
	json_object_set_new(o, k, a);
	return rc == SQLITE_DONE ? 0 : queue_ix_fail(ix, "index: stats");
}

/*
 * queue_index_stats -- counts over the index as a new JSON object:
 * messages, sessions, sessions_without_message, bytes, auth_attempts,
 * states {new,cur,corrupt}, by_day [{day,messages,sessions,bytes}],
 * top_clients [{addr,messages,sessions}] and top_sender_domains
 * [{domain,messages}] (top entries each; "<>" is the null sender).
 * Returns NULL on error (queue_index_error()).
 */
json_t *
queue_index_stats(struct queue_index *ix, int top)
{
	static const char *const day_keys[] = { "day", "messages", "sessions",
	    "bytes", NULL };
	static const char *const client_keys[] = { "addr", "messages",
	    "sessions", NULL };
	static const char *const dom_keys[] = { "domain", "messages", NULL };
	static const char *const country_keys[] = { "country", "messages",
	    NULL };
	static const char *const asn_keys[] = { "asn", "messages", NULL };
	static const char *const campaign_keys[] = { "campaign", "messages",
	    NULL };
	static const char *const verdict_keys[] = { "verdict", "messages",
	    NULL };
	json_t	*o, *states;

	o = json_object();
	states = json_object();
	json_object_set_new(o, "states", states);
	if (stat_int(ix, "SELECT count(*) FROM messages", o, "messages") ||
	    stat_int(ix, "SELECT count(*) FROM sessions", o, "sessions") ||
	    stat_int(ix, "SELECT count(*) FROM sessions WHERE messages = 0",
	    o, "sessions_without_message") ||
	    stat_int(ix, "SELECT coalesce(sum(size), 0) FROM messages", o,
	    "bytes") ||
	    stat_int(ix, "SELECT coalesce(sum(auth_attempts), 0) FROM sessions",
	    o, "auth_attempts") ||
	    stat_int(ix, "SELECT count(*) FROM messages WHERE state = 'new'",
	    states, "new") ||
	    stat_int(ix, "SELECT count(*) FROM messages WHERE state = 'cur'",
	    states, "cur") ||
	    stat_int(ix, "SELECT count(*) FROM messages"
	    " WHERE state = 'corrupt'", states, "corrupt") ||
	    stat_rows(ix, "SELECT day, sum(m), sum(s), sum(b) FROM"
	    " (SELECT day, 1 m, 0 s, size b FROM messages WHERE day != ''"
	    "  UNION ALL SELECT day, 0, 1, 0 FROM sessions)"
	    " GROUP BY day ORDER BY day", 0, o, "by_day", day_keys) ||
	    stat_rows(ix, "SELECT addr, sum(m), sum(s) FROM"
	    " (SELECT coalesce(client_addr, '') addr, 1 m, 0 s FROM messages"
	    "  UNION ALL SELECT coalesce(client_addr, ''), 0, 1 FROM sessions)"
	    " GROUP BY addr ORDER BY sum(m) + sum(s) DESC, addr LIMIT ?1",
	    top, o, "top_clients", client_keys) ||
	    stat_rows(ix, "SELECT CASE WHEN d = '' THEN '<>' ELSE d END,"
	    " count(*) FROM (SELECT lower(CASE WHEN instr(mail_from, '@') > 0"
	    "  THEN substr(mail_from, instr(mail_from, '@') + 1)"
	    "  ELSE coalesce(mail_from, '') END) d FROM messages)"
	    " GROUP BY d ORDER BY count(*) DESC, d LIMIT ?1", top, o,
	    "top_sender_domains", dom_keys) ||
	    stat_rows(ix, "SELECT country, count(*) FROM messages"
	    " WHERE country IS NOT NULL GROUP BY country"
	    " ORDER BY count(*) DESC, country LIMIT ?1", top, o,
	    "top_countries", country_keys) ||
	    stat_rows(ix, "SELECT asn, count(*) FROM messages"
	    " WHERE asn IS NOT NULL GROUP BY asn"
	    " ORDER BY count(*) DESC, asn LIMIT ?1", top, o,
	    "top_asns", asn_keys) ||
	    stat_rows(ix, "SELECT campaign, count(*) FROM messages"
	    " WHERE campaign IS NOT NULL GROUP BY campaign"
	    " ORDER BY count(*) DESC, campaign LIMIT ?1", top, o,
	    "top_campaigns", campaign_keys) ||
	    stat_rows(ix, "SELECT verdict, count(*) FROM messages"
	    " WHERE verdict IS NOT NULL GROUP BY verdict"
	    " ORDER BY count(*) DESC, verdict LIMIT ?1", top, o,
	    "verdicts", verdict_keys)) {
		json_decref(o);
		return NULL;
	}
	return o;
}
