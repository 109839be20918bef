/*
 * an_state.c -- the classifier's SQLite store: first-seen client keys
 * (address, /24, /48 strings chosen by the caller), drop-boxes and
 * content-cluster counters. Runs in the worker. Every statement is
 * parameterised; keys come from the network and are never spliced into
 * SQL. WAL mode, synchronous=NORMAL: a crash may lose the last
 * sightings, which only makes a later message look "first" again.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "an_state.h"
#include "dbutil.h"
#include "log.h"
#include "xmalloc.h"

struct an_state {
	sqlite3			*db;
	struct dbu_stmts	 stmts;	/* prepared once, reset after use */
	enum an_state_batch	 batch;	/* statements grouped in a txn */
};

static const char an_state_schema[] =
    "CREATE TABLE IF NOT EXISTS seen ("
    " key TEXT PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL,"
    " wstart INTEGER NOT NULL, count INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS cluster ("
    " key TEXT PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL,"
    " wstart INTEGER NOT NULL, count INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS dropbox ("
    " addr TEXT PRIMARY KEY COLLATE NOCASE, source INTEGER NOT NULL,"
    " added INTEGER NOT NULL, hits INTEGER NOT NULL DEFAULT 0);";

/*
 * an_state_open -- open (creating if needed) the store at <path>. Returns
 * a handle, or NULL with *errstr (a static string; details are logged).
 */
struct an_state *
an_state_open(const char *path, const char **errstr)
{
	struct an_state	*st;
	sqlite3		*db;
	char		 err[512];

	*errstr = NULL;
	if ((db = dbu_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, 5000, "NORMAL", an_state_schema, err,
	    sizeof(err))) == NULL) {
		log_warnx("an_state: %s", err);
		*errstr = "cannot open the state database";
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->db = db;
	return st;
}

/*
 * an_state_close -- close the store; NULL is fine.
 */
void
an_state_close(struct an_state *st)
{
	if (st == NULL)
		return;
	an_state_flush(st);
	dbu_stmts_free(&st->stmts);
	sqlite3_close(st->db);
	free(st);
}

/*
 * an_state_batch -- from now on the statements on st are grouped into one
 * transaction until an_state_flush(): AN_STATE_WRITER takes the write
 * lock at its start (BEGIN IMMEDIATE: a writer that began reading could
 * not write later if another process wrote in between), AN_STATE_READER
 * only reads (one snapshot). In autocommit mode each statement was a
 * transaction of its own, with its locks and WAL checks, several per
 * classified message. AN_STATE_AUTOCOMMIT ends the grouping (flushing).
 */
void
an_state_batch(struct an_state *st, enum an_state_batch mode)
{
	if (st == NULL)
		return;
	an_state_flush(st);
	st->batch = mode;
}

/*
 * an_state_flush -- commit the grouped statements (an_state_batch()) so
 * that other processes see them and may write; call it at the end of
 * each batch of messages and before waiting. Nothing to do in autocommit
 * mode. A failed commit is logged and rolled back: only sightings are
 * lost, which makes a later message look first-seen again.
 */
void
an_state_flush(struct an_state *st)
{
	/* a failed statement may have rolled the transaction back */
	if (st == NULL || sqlite3_get_autocommit(st->db))
		return;
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("an_state: commit: %s", sqlite3_errmsg(st->db));
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	}
}

static sqlite3_stmt *
prep(struct an_state *st, const char *sql)
{
	sqlite3_stmt	*stmt;

	if (st->batch != AN_STATE_AUTOCOMMIT &&
	    sqlite3_get_autocommit(st->db) && sqlite3_exec(st->db,
	    st->batch == AN_STATE_WRITER ? "BEGIN IMMEDIATE" : "BEGIN", NULL,
	    NULL, NULL) != SQLITE_OK)	/* this statement runs on its own */
		log_warnx("an_state: begin: %s", sqlite3_errmsg(st->db));

	if ((stmt = dbu_prep(&st->stmts, st->db, sql)) == NULL) {
		log_warnx("an_state: prepare: %s", sqlite3_errmsg(st->db));
		return NULL;
	}
	return stmt;
}

/* a sighting of <key> in table seen or cluster (a constant, not input) */
static int
sighting(struct an_state *st, const char *table, const char *key,
    int64_t now, int64_t window, bool update, bool *first, int64_t *count)
{
	/* literals: dbu_prep knows a statement by its text's address */
	static const char *const sel[] = {
		"SELECT last, wstart, count FROM seen WHERE key = ?1",
		"SELECT last, wstart, count FROM cluster WHERE key = ?1",
	};
	static const char *const upd[] = {
		"INSERT INTO seen (key, first, last, wstart, count) VALUES"
		" (?1, ?2, ?2, ?3, ?4) ON CONFLICT(key) DO UPDATE"
		" SET last = ?2, wstart = ?3, count = ?4",
		"INSERT INTO cluster (key, first, last, wstart, count) VALUES"
		" (?1, ?2, ?2, ?3, ?4) ON CONFLICT(key) DO UPDATE"
		" SET last = ?2, wstart = ?3, count = ?4",
	};
	sqlite3_stmt	*stmt;
	int64_t		 last, wstart = now, n = 1;
	int		 rc, t;

	if (strcmp(table, "seen") == 0)
		t = 0;
	else if (strcmp(table, "cluster") == 0)
		t = 1;
	else
		fatalx("%s: no table %s", __func__, table);
	if ((stmt = prep(st, sel[t])) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	*first = true;
	if (rc == SQLITE_ROW) {
		last = sqlite3_column_int64(stmt, 0);
		if (now - last <= window) {
			*first = false;
			wstart = sqlite3_column_int64(stmt, 1);
			n = sqlite3_column_int64(stmt, 2) + 1;
		}
	} else if (rc != SQLITE_DONE) {
		log_warnx("an_state: %s: %s", table, sqlite3_errmsg(st->db));
		dbu_done(stmt);
		return -1;
	}
	dbu_done(stmt);
	*count = n;
	if (!update)
		return 0;
	if ((stmt = prep(st, upd[t])) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, now);
	sqlite3_bind_int64(stmt, 3, wstart);
	sqlite3_bind_int64(stmt, 4, n);
	rc = sqlite3_step(stmt);
	dbu_done(stmt);
	if (rc != SQLITE_DONE) {
		log_warnx("an_state: %s: %s", table, sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/*
 * an_state_seen -- a message from client key <key> (an address or a
 * prefix such as "203.0.113.0/24") at <now>. *first is true when <key>
 * was not seen within the last <window> seconds; *count is the number of
 * sightings in the current window including this one. With <update>
 * false nothing is recorded (the answers are what they would be).
 * Returns 0, or -1 (logged).
 */
int
an_state_seen(struct an_state *st, const char *key, int64_t now,
    int64_t window, bool update, bool *first, int64_t *count)
{
	return sighting(st, "seen", key, now, window, update, first, count);
}

/*
 * an_state_cluster_bump -- a copy of content cluster <hash> at <now>;
 * *count is the number of copies in the current window (a cluster not
 * seen for <window> seconds starts again at 1), this one included.
 * Returns 0, or -1 (logged).
 */
int
an_state_cluster_bump(struct an_state *st, const char *hash, int64_t now,
    int64_t window, bool update, int64_t *count)
{
	bool	 first;

	return sighting(st, "cluster", hash, now, window, update, &first,
	    count);
}

/*
 * an_state_dropbox_add -- mark <addr> (compared without regard to ASCII
 * case) as a drop-box. An operator mark is never downgraded to learned.
 * Returns 0, or -1 (logged).
 */
int
an_state_dropbox_add(struct an_state *st, const char *addr,
    enum an_db_source source, int64_t now)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = prep(st, "INSERT INTO dropbox (addr, source, added)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT(addr) DO UPDATE"
	    " SET source = MIN(source, excluded.source)")) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(stmt, 2, source);
	sqlite3_bind_int64(stmt, 3, now);
	rc = sqlite3_step(stmt);
	dbu_done(stmt);
	if (rc != SQLITE_DONE) {
		log_warnx("an_state: dropbox add: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/*
 * an_state_dropbox_del -- forget drop-box <addr>. Returns 1 when it was
 * there, 0 when it was not, -1 on error (logged).
 */
int
an_state_dropbox_del(struct an_state *st, const char *addr)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if ((stmt = prep(st, "DELETE FROM dropbox WHERE addr = ?1")) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, addr, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	dbu_done(stmt);
	if (rc != SQLITE_DONE) {
		log_warnx("an_state: dropbox del: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

/*
 * an_state_dropbox_get -- is <addr> a drop-box? Sets *found and, when
 * found and <source> is not NULL, *source. With <hit> a found row's hit
 * counter is incremented. Returns 0, or -1 (logged).
 */
int
an_state_dropbox_get(struct an_state *st, const char *addr, bool hit,
    bool *found, enum an_db_source *source)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	*found = false;
	if ((stmt = prep(st, "SELECT source FROM dropbox WHERE addr = ?1"))
	    == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, addr, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*found = true;
		if (source != NULL)
			*source = sqlite3_column_int(stmt, 0) == AN_DB_LEARNED ?
			    AN_DB_LEARNED : AN_DB_OPERATOR;
	}
	dbu_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("an_state: dropbox get: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	if (*found && hit) {
		if ((stmt = prep(st, "UPDATE dropbox SET hits = hits + 1"
		    " WHERE addr = ?1")) == NULL)
			return -1;
		sqlite3_bind_text(stmt, 1, addr, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(stmt);
		dbu_done(stmt);
		if (rc != SQLITE_DONE) {
			log_warnx("an_state: dropbox hit: %s",
			    sqlite3_errmsg(st->db));
			return -1;
		}
	}
	return 0;
}

/*
 * an_state_dropbox_list -- call <cb> for every drop-box, ordered by
 * address. A non-zero return from <cb> stops the walk and is returned.
 * Returns 0, the callback's value, or -1 on error (logged).
 */
int
an_state_dropbox_list(struct an_state *st,
    int (*cb)(const struct an_dropbox *, void *), void *arg)
{
	sqlite3_stmt	*stmt;
	struct an_dropbox d;
	int		 rc, ret = 0;

	if ((stmt = prep(st, "SELECT addr, source, added, hits FROM dropbox"
	    " ORDER BY addr")) == NULL)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		d.addr = (const char *)sqlite3_column_text(stmt, 0);
		d.source = sqlite3_column_int(stmt, 1) == AN_DB_LEARNED ?
		    AN_DB_LEARNED : AN_DB_OPERATOR;
		d.added = sqlite3_column_int64(stmt, 2);
		d.hits = sqlite3_column_int64(stmt, 3);
		if (d.addr == NULL)
			continue;
		if ((ret = cb(&d, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		log_warnx("an_state: dropbox list: %s", sqlite3_errmsg(st->db));
		ret = -1;
	}
	dbu_done(stmt);
	return ret;
}

/*
 * an_state_dropbox_source_name -- "operator" or "learned".
 */
const char *
an_state_dropbox_source_name(enum an_db_source source)
{
	return source == AN_DB_LEARNED ? "learned" : "operator";
}
