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

#endif
