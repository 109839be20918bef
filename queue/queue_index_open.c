/*
 * queue_index_open.c -- opening the spool's SQLite index: its schema and
 * the upgrades from older ones, read-write (WAL) or, for readers on a
 * full disk, read-only; closing it; and the SQL helpers the rest of the
 * index module (queue_index.c) shares (queue_index_priv.h).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "compat.h"
#include "dbutil.h"
#include "log.h"
#include "queue.h"
#include "queue_index.h"
#include "queue_index_priv.h"
#include "xmalloc.h"

#define QUEUE_INDEX_BUSY_MS	10000

static const char *schema_v1[] = {
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)",
	"CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY,"
	" day TEXT NOT NULL, state TEXT NOT NULL, received TEXT,"
	" received_us INTEGER, session TEXT, client_addr TEXT,"
	" client_port INTEGER, helo TEXT, mail_from TEXT, rcpt_count INTEGER,"
	" size INTEGER, sha256 TEXT, subject TEXT, auth_users TEXT)",
	"CREATE INDEX IF NOT EXISTS messages_bucket ON messages(state, day)",
	"CREATE INDEX IF NOT EXISTS messages_client ON messages(client_addr)",
	"CREATE TABLE IF NOT EXISTS rcpts (id TEXT NOT NULL, seq INTEGER,"
	" addr TEXT NOT NULL)",
	"CREATE INDEX IF NOT EXISTS rcpts_addr ON rcpts(addr)",
	"CREATE INDEX IF NOT EXISTS rcpts_id ON rcpts(id)",
	"CREATE TRIGGER IF NOT EXISTS messages_gone AFTER DELETE ON messages"
	" BEGIN DELETE FROM rcpts WHERE id = old.id; END",
	"CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY,"
	" day TEXT NOT NULL, start TEXT, start_us INTEGER, \"end\" TEXT,"
	" client_addr TEXT, helo TEXT, messages INTEGER,"
	" auth_attempts INTEGER, close TEXT, commands INTEGER)",
	"CREATE INDEX IF NOT EXISTS sessions_day ON sessions(day)",
	"CREATE TABLE IF NOT EXISTS buckets (kind TEXT NOT NULL,"
	" day TEXT NOT NULL, mtime_ns INTEGER, entries INTEGER,"
	" PRIMARY KEY (kind, day))",
	NULL
};

/*
 * Schema steps: steps[v] takes a version-v index to v+1. A later issue
 * adds e.g. { "ALTER TABLE messages ADD COLUMN country TEXT", NULL } as
 * steps[1] and bumps QUEUE_INDEX_SCHEMA; new columns start NULL and a
 * "relaytrap queue reindex" fills them.
 */
/* v2: the analyzers' results that review filters on (issue 4) */
static const char *schema_v2[] = {
	"ALTER TABLE messages ADD COLUMN country TEXT",
	"ALTER TABLE messages ADD COLUMN asn INTEGER",
	"ALTER TABLE messages ADD COLUMN campaign TEXT",
	"ALTER TABLE messages ADD COLUMN verdict TEXT",
	"CREATE INDEX IF NOT EXISTS messages_country ON messages(country)",
	"CREATE INDEX IF NOT EXISTS messages_asn ON messages(asn)",
	"CREATE INDEX IF NOT EXISTS messages_campaign ON messages(campaign)",
	"CREATE INDEX IF NOT EXISTS messages_verdict ON messages(verdict)",
	NULL
};

static const char **schema_steps[QUEUE_INDEX_SCHEMA] = {
	schema_v1,
	schema_v2,
};

int
queue_ix_fail(struct queue_index *ix, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[384];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ix->db != NULL && sqlite3_errcode(ix->db) != SQLITE_OK)
		snprintf(ix->err, sizeof(ix->err), "%s: %s", msg,
		    sqlite3_errmsg(ix->db));
	else
		strlcpy(ix->err, msg, sizeof(ix->err));
	return -1;
}

int
queue_ix_exec(struct queue_index *ix, const char *sql)
{
	char	*e = NULL;

	if (sqlite3_exec(ix->db, sql, NULL, NULL, &e) != SQLITE_OK) {
		snprintf(ix->err, sizeof(ix->err), "index: %s: %s", sql,
		    e ? e : "error");
		sqlite3_free(e);
		return -1;
	}
	return 0;
}

sqlite3_stmt *
queue_ix_prep(struct queue_index *ix, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL) != SQLITE_OK) {
		queue_ix_fail(ix, "index: prepare");
		return NULL;
	}
	return st;
}

static int
schema_version(struct queue_index *ix, long *v)
{
	sqlite3_stmt *st;
	int	 rc;

	*v = 0;
	if ((st = queue_ix_prep(ix, "SELECT value FROM meta"
	    " WHERE key = 'schema_version'")) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    queue_ix_fail(ix, "index: schema version");
}

static int
schema_upgrade(struct queue_index *ix)
{
	sqlite3_stmt *st;
	long	 v;
	int	 i;

	/* current already: nothing to write (readers work on a full disk) */
	if (sqlite3_prepare_v2(ix->db, "SELECT value FROM meta WHERE key ="
	    " 'schema_version'", -1, &st, NULL) == SQLITE_OK) {
		i = sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_int64(st, 0) == QUEUE_INDEX_SCHEMA;
		sqlite3_finalize(st);
		if (i)
			return 0;
	}
	if (queue_ix_exec(ix, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (queue_ix_exec(ix, schema_v1[0]) == -1 || schema_version(ix, &v) == -1)
		goto fail;
	if (v > QUEUE_INDEX_SCHEMA) {
		queue_ix_fail(ix, "index: schema version %ld is newer than this "
		    "program's %d; remove %s and run \"relaytrap queue "
		    "reindex\"", v, QUEUE_INDEX_SCHEMA, QUEUE_INDEX_FILE);
		goto fail;
	}
	/* a fresh file (no meta row) gets every step from 0 */
	for (; v < QUEUE_INDEX_SCHEMA; v++)
		for (i = 0; schema_steps[v][i] != NULL; i++)
			if (queue_ix_exec(ix, schema_steps[v][i]) == -1)
				goto fail;
	if ((st = queue_ix_prep(ix, "INSERT OR REPLACE INTO meta (key, value)"
	    " VALUES ('schema_version', ?)")) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, QUEUE_INDEX_SCHEMA);
	i = sqlite3_step(st);
	sqlite3_finalize(st);
	if (i != SQLITE_DONE) {
		queue_ix_fail(ix, "index: store schema version");
		goto fail;
	}
	return queue_ix_exec(ix, "COMMIT");
 fail:
	sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * Root (the operator's CLI) gives the index file to the spool's owner, so
 * that the unprivileged worker can still write it. SQLite itself gives
 * its -wal and -shm files the owner of the database file when run as root.
 */
static void
ix_chown(struct queue_index *ix)
{
	struct stat root, sb;

	if (geteuid() != 0 || fstat(queue_rootfd(ix->q), &root) == -1 ||
	    fstatat(queue_rootfd(ix->q), QUEUE_INDEX_FILE, &sb,
	    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(sb.st_mode))
		return;
	if ((sb.st_uid != root.st_uid || sb.st_gid != root.st_gid) &&
	    fchownat(queue_rootfd(ix->q), QUEUE_INDEX_FILE, root.st_uid,
	    root.st_gid, AT_SYMLINK_NOFOLLOW) == -1)
		log_warn("index: chown %s", QUEUE_INDEX_FILE);
}

/*
 * queue_index_open -- open (creating it and its schema if needed)
 * <spooldir>/index.sqlite for spool q, in WAL mode with a busy timeout;
 * run as root, the file is given to the owner of the spool directory.
 * An older schema is upgraded in place (schema_steps). Returns the
 * handle, or NULL with a message in err (cleared first).
 */
struct queue_index *
queue_index_open(struct queue *q, const char *spooldir, char *err,
    size_t errlen)
{
	struct queue_index *ix;
	char	*path;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	ix = xcalloc(1, sizeof(*ix));
	ix->q = q;
	xasprintf(&path, "%s/%s", spooldir, QUEUE_INDEX_FILE);
	if (sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(ix->err, sizeof(ix->err), "index: open %s: %s", path,
		    ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(ix->db, QUEUE_INDEX_BUSY_MS);
	if (queue_ix_exec(ix, "PRAGMA journal_mode = WAL") == -1 ||
	    queue_ix_exec(ix, "PRAGMA synchronous = NORMAL") == -1 ||
	    schema_upgrade(ix) == -1)
		goto fail;
	free(path);
	ix_chown(ix);
	return ix;
 fail:
	if (err != NULL)
		snprintf(err, errlen, "%s", ix->err);
	free(path);
	queue_index_close(ix);
	return NULL;
}

/*
 * queue_index_open_ro -- open <spooldir>/index.sqlite read-only and
 * immutable, for readers when queue_index_open() fails for want of room
 * (on a full disk SQLite cannot create the -shm file a WAL database
 * needs). It reads the main file only: after relaytrapd stopped cleanly
 * that is the whole index; a -wal file left by a crash is not read. Only
 * queries work on the handle. Returns it, or NULL with a message in err.
 */
struct queue_index *
queue_index_open_ro(struct queue *q, const char *spooldir, char *err,
    size_t errlen)
{
	struct queue_index *ix;
	char	*path, *uri, *o;
	const char *p;
	long	 v;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	ix = xcalloc(1, sizeof(*ix));
	ix->q = q;
	xasprintf(&path, "%s/%s", spooldir, QUEUE_INDEX_FILE);
	/* a URI: '%', '?' and '#' of the path percent-encoded */
	uri = o = xmalloc(5 + 3 * strlen(path) + sizeof("?immutable=1"));
	o += sprintf(o, "file:");
	for (p = path; *p != '\0'; p++)
		if (*p == '%' || *p == '?' || *p == '#')
			o += sprintf(o, "%%%02X", (unsigned char)*p);
		else
			*o++ = *p;
	(void)strcpy(o, "?immutable=1");
	if (sqlite3_open_v2(uri, &ix->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(ix->err, sizeof(ix->err), "index: open %s read-only: "
		    "%s", path, ix->db ? sqlite3_errmsg(ix->db) :
		    "out of memory");
		goto fail;
	}
	if (schema_version(ix, &v) == -1)
		goto fail;
	if (v != QUEUE_INDEX_SCHEMA) {
		queue_ix_fail(ix, "index: schema version %ld, not this program's "
		    "%d, and it cannot be upgraded read-only", v,
		    QUEUE_INDEX_SCHEMA);
		goto fail;
	}
	free(uri);
	free(path);
	return ix;
 fail:
	if (err != NULL)
		snprintf(err, errlen, "%s", ix->err);
	free(uri);
	free(path);
	queue_index_close(ix);
	return NULL;
}

/*
 * queue_index_close -- close the database and free ix (NULL is fine).
 */
void
queue_index_close(struct queue_index *ix)
{
	if (ix == NULL)
		return;
	dbu_stmts_free(&ix->stmts);
	sqlite3_close(ix->db);
	free(ix);
}

/*
 * queue_index_error -- text of the last failure of a call on ix.
 */
const char *
queue_index_error(const struct queue_index *ix)
{
	return ix->err;
}
