/*
 * queue_index.h -- the SQLite index of the spool (spool/index.sqlite).
 *
 * The index is derived: every row comes from files under new/, cur/,
 * corrupt/ and sessions/, and queue_index_rebuild() recreates it from
 * them at any time. queue_index_sync() is incremental: only day buckets
 * whose mtime or entry count changed are looked at again, and inside a
 * bucket only entries that appeared or vanished. Readers (the CLI) sync
 * before they answer, so output is current even if the worker lags.
 *
 * Strings in rows are the escaped forms of envelope.json (jsu_bytes()),
 * never raw network bytes.
 */
#ifndef RT_QUEUE_INDEX_H
#define RT_QUEUE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "queue.h"

#define QUEUE_INDEX_FILE	"index.sqlite"
#define QUEUE_INDEX_SCHEMA	2	/* bump + add a step in queue_index.c */
#define QUEUE_INDEX_SUBJECT_SCAN (64 * 1024)	/* header bytes read */

struct queue_index;

/* filters: zero / NULL members do not filter */
struct queue_index_filter {
	int64_t		 since_us;	/* received >= this (µs since epoch) */
	const char	*ip;		/* client address, exact */
	const char	*from;		/* substring of MAIL FROM, no case */
	const char	*rcpt;		/* substring of any RCPT, no case */
	const char	*auth;		/* substring of any AUTH user, no case */
	int		 states;	/* QUEUE_ST_* mask; 0 = any */
	long		 limit;		/* 0 = no limit */
	const char	*country;	/* client's ISO country code (geoip) */
	int64_t		 asn;		/* client's ASN; 0 = any */
	const char	*campaign;	/* campaign id */
	const char	*verdict;	/* relay_test, spam, tester */
};

struct queue_index_msg {
	const char	*id;
	const char	*day;		/* "" for corrupt */
	enum queue_state state;
	const char	*received;	/* ISO 8601 as in the envelope, or "" */
	int64_t		 received_us;
	const char	*session;	/* "" if unknown */
	const char	*client_addr;
	int		 client_port;
	const char	*helo;
	const char	*mail_from;
	const char	**rcpt;		/* rcpt_count addresses */
	size_t		 rcpt_count;
	int64_t		 size;
	const char	*sha256;
	const char	*subject;	/* NULL: no Subject: header */
	const char	**auth_users;	/* distinct, in attempt order */
	size_t		 auth_count;
};

struct queue_index_session_filter {
	int64_t		 since_us;	/* start >= this */
	const char	*ip;		/* client address, exact */
	bool		 no_message;	/* only sessions that sent none */
	long		 limit;
};

struct queue_index_session {
	const char	*id;
	const char	*day;
	const char	*start;
	const char	*end;
	int64_t		 start_us;
	const char	*client_addr;
	const char	*helo;
	long		 messages;
	long		 auth_attempts;
	const char	*close;
	long		 commands;
};

/* one message for queue_index_put(): where it is and what is known */
struct queue_index_item {
	struct queue_entry	 e;	/* its state and day now */
	json_t			*env;	/* envelope.json; NULL: read it */
	json_t			*an;	/* analysis results; NULL: none */
};

struct queue_index_syncstat {
	long		 buckets;	/* buckets looked at again */
	long		 listed;	/* bucket directories read */
	long		 added;		/* rows added (messages + sessions) */
	long		 removed;	/* rows dropped */
};

/* callbacks return 0 to go on, anything else stops the walk with it */
typedef int	(*queue_index_msg_cb)(const struct queue_index_msg *m,
		    void *arg);
typedef int	(*queue_index_session_cb)(const struct queue_index_session *s,
		    void *arg);

struct queue_index *queue_index_open(struct queue *q, const char *spooldir,
		    char *err, size_t errlen);
struct queue_index *queue_index_open_ro(struct queue *q,
		    const char *spooldir, char *err, size_t errlen);
void		 queue_index_close(struct queue_index *ix);
const char	*queue_index_error(const struct queue_index *ix);
int		 queue_index_sync(struct queue_index *ix,
		    struct queue_index_syncstat *st);
int		 queue_index_rebuild(struct queue_index *ix,
		    struct queue_index_syncstat *st);
int		 queue_index_list(struct queue_index *ix,
		    const struct queue_index_filter *f, queue_index_msg_cb cb,
		    void *arg);
int		 queue_index_get(struct queue_index *ix, const char *id,
		    queue_index_msg_cb cb, void *arg);
int		 queue_index_sessions(struct queue_index *ix,
		    const struct queue_index_session_filter *f,
		    queue_index_session_cb cb, void *arg);
int		 queue_index_retire(struct queue_index *ix, const char *day);
int		 queue_index_add(struct queue_index *ix, char *const *msgs,
		    size_t nmsgs, char *const *sessions, size_t nsessions);
int		 queue_index_put(struct queue_index *ix,
		    const struct queue_index_item *it, size_t n);
json_t		*queue_index_stats(struct queue_index *ix, int top);
char		*queue_index_subject(const char *hdr, size_t len);

#endif
