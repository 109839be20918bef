/*
 * queue_index_priv.h -- what the two files of the index module share:
 * the handle, and the helpers that run SQL on it and keep the text of
 * the last failure (queue_index_open.c).
 */
#ifndef RT_QUEUE_INDEX_PRIV_H
#define RT_QUEUE_INDEX_PRIV_H

#include <sqlite3.h>

#include "dbutil.h"
#include "queue.h"

struct queue_index {
	struct queue	*q;
	sqlite3		*db;
	struct dbu_stmts stmts;		/* the per-message statements */
	char		 err[512];
};

/* run sql; -1 with ix->err set */
int		 queue_ix_exec(struct queue_index *ix, const char *sql);
/* prepare sql (the caller finalizes it); NULL with ix->err set */
sqlite3_stmt	*queue_ix_prep(struct queue_index *ix, const char *sql);
/* ix->err from fmt and SQLite's last message; returns -1 */
int		 queue_ix_fail(struct queue_index *ix, const char *fmt, ...)
		    __attribute__((__format__(printf, 2, 3)));

#endif
