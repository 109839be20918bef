/*
 * fwd_queue.h -- pending forwards that survive a restart: one row per
 * (message id, recipient) in SQLite (the same file as the caps, e.g.
 * SPOOL/forward.sqlite), retried with exponential backoff like an MTA
 * until delivered, refused permanently, or too old.
 *
 * A handle is one SQLite connection guarded by a mutex: it may be shared
 * by threads; several handles (threads or processes) may use one file.
 */
#ifndef RT_FWD_QUEUE_H
#define RT_FWD_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FWD_ID_MAX		64	/* message id (QUEUE_ID_LEN fits) */
#define FWD_ADDR_TEXT_MAX	512	/* envelope address as text */
#define FWD_CLIENT_MAX		64	/* client address text */
#define FWD_QREPLY_MAX		512
#define FWD_BACKOFF_BASE	60	/* seconds: 1, 2, 4 ... minutes */
#define FWD_BACKOFF_MAX		3600	/* seconds: never wait longer */
#define FWD_MAX_AGE		(5 * 86400)	/* seconds: then permanent */

/* the result of one delivery attempt (fwd_deliver.h produces it) */
enum fwd_status {
	FWD_DELIVERED,
	FWD_TEMPFAIL,		/* try again later */
	FWD_PERMFAIL,		/* 5xx to MAIL/RCPT/DATA: never again */
};

enum fwd_qstate {
	FWD_Q_PENDING,		/* waiting for next_attempt */
	FWD_Q_DELIVERED,
	FWD_Q_FAILED,		/* permanent failure or expired */
};

struct fwd_queue_conf {
	long	 backoff_base;	/* seconds; 0 = FWD_BACKOFF_BASE */
	long	 backoff_max;	/* seconds; 0 = FWD_BACKOFF_MAX */
	long	 max_age;	/* seconds after first; 0 = FWD_MAX_AGE */
};

struct fwd_item {
	char		 msgid[FWD_ID_MAX];
	char		 rcpt[FWD_ADDR_TEXT_MAX];
	char		 sender[FWD_ADDR_TEXT_MAX];	/* "" = null sender */
	char		 client[FWD_CLIENT_MAX];
	int64_t		 first;		/* enqueue / first attempt time */
	int64_t		 next;		/* next attempt due */
	int64_t		 updated;	/* last state change */
	int		 attempts;
	enum fwd_qstate	 state;
	int		 last_code;	/* last SMTP code, 0 = none */
	char		 last_reply[FWD_QREPLY_MAX];
};

struct fwd_queue;
struct sqlite3;
typedef int	(*fwd_queue_walk_cb)(const struct fwd_item *it, void *arg);

struct sqlite3	*fwd_db_open(const char *path, const char *schema, char *err,
		    size_t errlen);
struct fwd_queue *fwd_queue_open(const char *path,
		    const struct fwd_queue_conf *conf, char *err,
		    size_t errlen);
void		 fwd_queue_close(struct fwd_queue *q);
int		 fwd_queue_enqueue(struct fwd_queue *q, const char *msgid,
		    const char *rcpt, const char *sender, const char *client,
		    time_t first);
int		 fwd_queue_due(struct fwd_queue *q, time_t now,
		    struct fwd_item *items, size_t max);
int		 fwd_queue_result(struct fwd_queue *q, const char *msgid,
		    const char *rcpt, enum fwd_status st, int code,
		    const char *reply, time_t now);
int		 fwd_queue_get(struct fwd_queue *q, const char *msgid,
		    const char *rcpt, struct fwd_item *it);
int		 fwd_queue_walk(struct fwd_queue *q, int states,
		    fwd_queue_walk_cb cb, void *arg);
int64_t		 fwd_queue_backoff(const struct fwd_queue_conf *conf,
		    int attempts);
const char	*fwd_qstate_name(enum fwd_qstate st);

#define FWD_QF_PENDING		(1 << FWD_Q_PENDING)
#define FWD_QF_DELIVERED	(1 << FWD_Q_DELIVERED)
#define FWD_QF_FAILED		(1 << FWD_Q_FAILED)
#define FWD_QF_ANY	(FWD_QF_PENDING | FWD_QF_DELIVERED | FWD_QF_FAILED)

#endif
