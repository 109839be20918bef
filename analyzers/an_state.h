/*
 * an_state.h -- the classifier's small persistent memory (SQLite, WAL):
 * first-seen times of client addresses and prefixes, drop-boxes, and
 * content-cluster counts. One handle per process; not thread-safe.
 */
#ifndef RT_AN_STATE_H
#define RT_AN_STATE_H

#include <stdbool.h>
#include <stdint.h>

/* who made an address a drop-box */
enum an_db_source {
	AN_DB_OPERATOR = 0,	/* "relaytrap dropbox add", verdict test */
	AN_DB_LEARNED = 1,	/* received a forwarded relay test */
};

/* how statements are grouped into transactions (an_state_batch()) */
enum an_state_batch {
	AN_STATE_AUTOCOMMIT = 0,	/* each statement on its own */
	AN_STATE_READER,		/* BEGIN ... an_state_flush() */
	AN_STATE_WRITER			/* BEGIN IMMEDIATE ... */
};

struct an_state;

/* one row of an_state_dropbox_list(); strings valid during the callback */
struct an_dropbox {
	const char		*addr;
	enum an_db_source	 source;
	int64_t			 added;		/* unix seconds */
	int64_t			 hits;	/* matches in classify */
};

struct an_state	*an_state_open(const char *path, const char **errstr);
void		 an_state_close(struct an_state *st);
void		 an_state_batch(struct an_state *st, enum an_state_batch mode);
void		 an_state_flush(struct an_state *st);
int		 an_state_seen(struct an_state *st, const char *key,
		    int64_t now, int64_t window, bool update, bool *first,
		    int64_t *count);
int		 an_state_dropbox_add(struct an_state *st, const char *addr,
		    enum an_db_source source, int64_t now);
int		 an_state_dropbox_del(struct an_state *st, const char *addr);
int		 an_state_dropbox_get(struct an_state *st, const char *addr,
		    bool hit, bool *found, enum an_db_source *source);
int		 an_state_dropbox_list(struct an_state *st,
		    int (*cb)(const struct an_dropbox *, void *), void *arg);
int		 an_state_cluster_bump(struct an_state *st, const char *hash,
		    int64_t now, int64_t window, bool update, int64_t *count);
const char	*an_state_dropbox_source_name(enum an_db_source source);

#endif
