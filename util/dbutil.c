/*
 * dbutil.c -- open a project SQLite file in WAL mode with its schema.
 * Shared by the relay-test state, the campaign store and the forwarding
 * queue and caps (see dbutil.h).
 */
#include "config.h"

#include <stdio.h>

#include <sqlite3.h>

#include "dbutil.h"

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
