/*
 * dbutil.c -- open a project SQLite file in WAL mode with its schema.
 * Shared by the relay-test state, the campaign store and the forwarding
 * queue and caps (see dbutil.h).
 */
#include "config.h"

#include <stdio.h>

#include <sqlite3.h>

#include "dbutil.h"
#include "log.h"

#define DBU_OPEN_TRIES	1000	/* x 10 ms: setup under contention */

sqlite3 *
dbu_open(const char *path, int flags, int busy_ms, const char *sync,
    const char *schema, char *err, size_t errlen)
{
	sqlite3	*db = NULL;
	char	*msg = NULL, pragmas[96];
	int	 rc, tries;

	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, busy_ms);
	snprintf(pragmas, sizeof(pragmas),
	    "PRAGMA journal_mode=WAL;PRAGMA synchronous=%s;", sync);
	/*
	 * Switching a new file to WAL while another connection does the
	 * same can fail with SQLITE_BUSY without the busy handler being
	 * called: retry for a bounded time.
	 */
	for (tries = 0; ; tries++) {
		rc = sqlite3_exec(db, pragmas, NULL, NULL, &msg);
		if (rc == SQLITE_OK && schema != NULL)
			rc = sqlite3_exec(db, schema, NULL, NULL, &msg);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
		    tries >= DBU_OPEN_TRIES)
			break;
		sqlite3_free(msg);
		msg = NULL;
		sqlite3_sleep(10);
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "error");
		sqlite3_free(msg);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

sqlite3_stmt *
dbu_prep(struct dbu_stmts *c, sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*stmt;
	size_t		 i;

	for (i = 0; i < c->n; i++)
		if (c->e[i].sql == sql) {
			sqlite3_clear_bindings(c->e[i].stmt);
			return c->e[i].stmt;
		}
	if (c->n == DBU_STMTS_MAX)
		fatalx("%s: more than %d distinct statements; raise "
		    "DBU_STMTS_MAX", __func__, DBU_STMTS_MAX);
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
	    NULL) != SQLITE_OK)
		return NULL;
	c->e[c->n].sql = sql;
	c->e[c->n].stmt = stmt;
	c->n++;
	return stmt;
}

void
dbu_done(sqlite3_stmt *stmt)
{
	if (stmt != NULL)
		(void)sqlite3_reset(stmt);
}

void
dbu_stmts_free(struct dbu_stmts *c)
{
	size_t	 i;

	for (i = 0; i < c->n; i++)
		sqlite3_finalize(c->e[i].stmt);
	c->n = 0;
}
