/*
 * dbutil.h -- opening the project's SQLite files (the index's siblings:
 * state.sqlite, campaigns.sqlite, forward.sqlite) the one way: WAL, a
 * busy timeout, the caller's synchronous level and schema, and a bounded
 * retry while another process switches the same new file to WAL.
 */
#ifndef RT_DBUTIL_H
#define RT_DBUTIL_H

#include <stddef.h>

#include <sqlite3.h>

/*
 * dbu_open -- open the SQLite file <path> with sqlite3_open_v2 <flags>
 * (SQLITE_OPEN_READWRITE plus CREATE and a mutex mode as the caller
 * needs), set a busy timeout of <busy_ms>, switch to WAL with
 * synchronous=<sync> ("NORMAL" or "FULL") and run <schema> (may be NULL).
 * Returns the connection, or NULL with "PATH: reason" in err.
 */
sqlite3	*dbu_open(const char *path, int flags, int busy_ms, const char *sync,
	    const char *schema, char *err, size_t errlen);

/*
 * A connection's prepared statements, kept across calls: a statement is
 * prepared once per SQL text (known by its address: pass string literals)
 * and reset, not finalized, after each use.
 */
#define DBU_STMTS_MAX	48
struct dbu_stmts {
	size_t		 n;
	struct {
		const char	*sql;
		sqlite3_stmt	*stmt;
	}		 e[DBU_STMTS_MAX];
};

/*
 * dbu_prep -- the statement for <sql> (a string literal) on <db>, from c
 * or prepared now, with no bindings, ready to step; hand it back with
 * dbu_done() instead of sqlite3_finalize(). NULL if SQLite refuses the
 * SQL (sqlite3_errmsg(db) says why).
 */
sqlite3_stmt *dbu_prep(struct dbu_stmts *c, sqlite3 *db, const char *sql);

/* dbu_done -- reset a statement from dbu_prep() for its next use. */
void	 dbu_done(sqlite3_stmt *stmt);

/* dbu_stmts_free -- finalize every statement of c (before sqlite3_close). */
void	 dbu_stmts_free(struct dbu_stmts *c);

#endif
