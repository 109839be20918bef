/*
 * fwd_queue.c -- the forward queue: pending (message, recipient)
 * deliveries in SQLite, so a restart loses none. Runs in the worker role
 * (and read-only in the CLI). The stored addresses came from the network;
 * they only ever travel through bound parameters, never through SQL text.
 *
 * Retry schedule, after the k-th temporary failure: base * 2^(k-1)
 * seconds (1, 2, 4 ... minutes with the default base), at most
 * backoff_max; a temporary failure when the item is max_age old or older
 * ends it as FAILED, like Postfix's maximal_queue_lifetime.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "dbutil.h"
#include "fwd_queue.h"

struct fwd_queue {
	sqlite3			*db;
	pthread_mutex_t		 mtx;
	struct fwd_queue_conf	 conf;
};

static const char fwd_queue_schema[] =
    "CREATE TABLE IF NOT EXISTS fwd_queue ("
    " msgid TEXT NOT NULL, rcpt TEXT NOT NULL, sender TEXT NOT NULL,"
    " client TEXT NOT NULL, first INTEGER NOT NULL, next INTEGER NOT NULL,"
    " updated INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " state INTEGER NOT NULL DEFAULT 0, last_code INTEGER NOT NULL DEFAULT 0,"
    " last_reply TEXT NOT NULL DEFAULT '', PRIMARY KEY (msgid, rcpt));"
    "CREATE INDEX IF NOT EXISTS fwd_queue_due ON fwd_queue (state, next);";

#define FWD_QCOLS "msgid, rcpt, sender, client, first, next, updated, " \
    "attempts, state, last_code, last_reply"

static void	 fwd_queue_row(sqlite3_stmt *st, struct fwd_item *it);
static void	 fwd_queue_text(sqlite3_stmt *st, int col, char *dst,
		    size_t len);

/*
 * fwd_db_open -- open (creating) the forwarding database at <path> in WAL
 * mode with a busy timeout, and run <schema>. Returns the connection, or
 * NULL with a message in err. Shared by fwd_queue and fwd_caps.
 */
sqlite3 *
fwd_db_open(const char *path, const char *schema, char *err, size_t errlen)
{
	/* counters and pending forwards must survive a crash: FULL sync */
	return dbu_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_FULLMUTEX, 10000, "FULL", schema, err, errlen);
}

/*
 * fwd_queue_open -- open the forward queue in the SQLite file <path>
 * (created if missing). conf may be NULL for the defaults. Returns a
 * handle, or NULL with a message in err.
 */
struct fwd_queue *
fwd_queue_open(const char *path, const struct fwd_queue_conf *conf,
    char *err, size_t errlen)
{
	struct fwd_queue	*q;
	sqlite3			*db;

	if ((db = fwd_db_open(path, fwd_queue_schema, err, errlen)) == NULL)
		return NULL;
	q = xcalloc(1, sizeof(*q));
	q->db = db;
	if (conf != NULL)
		q->conf = *conf;
	if (q->conf.backoff_base <= 0)
		q->conf.backoff_base = FWD_BACKOFF_BASE;
	if (q->conf.backoff_max <= 0)
		q->conf.backoff_max = FWD_BACKOFF_MAX;
	if (q->conf.max_age <= 0)
		q->conf.max_age = FWD_MAX_AGE;
	if (pthread_mutex_init(&q->mtx, NULL) != 0)
		fatalx("%s: pthread_mutex_init", __func__);
	return q;
}

/*
 * fwd_queue_close -- close the handle; NULL is ignored.
 */
void
fwd_queue_close(struct fwd_queue *q)
{
	if (q == NULL)
		return;
	sqlite3_close(q->db);
	pthread_mutex_destroy(&q->mtx);
	free(q);
}

/*
 * fwd_queue_backoff -- seconds to wait after the <attempts>-th temporary
 * failure (attempts >= 1): base * 2^(attempts-1), at most backoff_max.
 * Zero fields of conf mean the defaults.
 */
int64_t
fwd_queue_backoff(const struct fwd_queue_conf *conf, int attempts)
{
	int64_t	 base, max, d;
	int	 i;

	base = conf && conf->backoff_base > 0 ? conf->backoff_base :
	    FWD_BACKOFF_BASE;
	max = conf && conf->backoff_max > 0 ? conf->backoff_max :
	    FWD_BACKOFF_MAX;
	d = base;
	for (i = 1; i < attempts && d < max; i++)
		d *= 2;
	return d < max ? d : max;
}

/*
 * fwd_queue_enqueue -- add a pending forward of <msgid> to <rcpt> from
 * <sender> ("" = null sender) sent by <client>, due at <first>. One row per
 * (msgid, rcpt): enqueueing it again changes nothing. Returns 0 when
 * added, 1 when it was already there, -1 on a database error (logged) or
 * an over-long argument (errno EINVAL).
 */
int
fwd_queue_enqueue(struct fwd_queue *q, const char *msgid, const char *rcpt,
    const char *sender, const char *client, time_t first)
{
	sqlite3_stmt	*st = NULL;
	int		 rc = -1;

	if (strlen(msgid) >= FWD_ID_MAX || strlen(rcpt) >= FWD_ADDR_TEXT_MAX ||
	    strlen(sender) >= FWD_ADDR_TEXT_MAX ||
	    strlen(client) >= FWD_CLIENT_MAX || msgid[0] == '\0' ||
	    rcpt[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&q->mtx);
	if (sqlite3_prepare_v2(q->db, "INSERT OR IGNORE INTO fwd_queue "
	    "(msgid, rcpt, sender, client, first, next, updated) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, msgid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rcpt, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, client, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)first);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	rc = sqlite3_changes(q->db) == 1 ? 0 : 1;
 out:
	if (rc == -1)
		log_warnx("forward queue: enqueue msgid=%s: %s", msgid,
		    sqlite3_errmsg(q->db));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->mtx);
	return rc;
}

/*
 * fwd_queue_due -- up to <max> pending items whose next attempt is at or
 * before <now>, oldest due first, copied into items. Returns the count,
 * or -1 on a database error (logged).
 */
int
fwd_queue_due(struct fwd_queue *q, time_t now, struct fwd_item *items,
    size_t max)
{
	sqlite3_stmt	*st = NULL;
	int		 n = 0, r;

	pthread_mutex_lock(&q->mtx);
	if (sqlite3_prepare_v2(q->db, "SELECT " FWD_QCOLS " FROM fwd_queue "
	    "WHERE state = ?1 AND next <= ?2 ORDER BY next, first LIMIT ?3",
	    -1, &st, NULL) != SQLITE_OK) {
		n = -1;
		goto out;
	}
	sqlite3_bind_int(st, 1, FWD_Q_PENDING);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	while ((size_t)n < max && (r = sqlite3_step(st)) == SQLITE_ROW)
		fwd_queue_row(st, &items[n++]);
	if ((size_t)n < max && r != SQLITE_DONE)
		n = -1;
 out:
	if (n == -1)
		log_warnx("forward queue: due: %s", sqlite3_errmsg(q->db));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->mtx);
	return n;
}

/*
 * fwd_queue_result -- record the outcome of one attempt for a PENDING
 * item at time <now>: DELIVERED and PERMFAIL end it; TEMPFAIL schedules
 * the next attempt after fwd_queue_backoff(attempts), or ends it as
 * FAILED when it is max_age old. <code>/<reply> are the last SMTP reply
 * (0/NULL if none). Returns the new state, or -1: errno ENOENT when there
 * is no pending item (msgid, rcpt), else a database error (logged).
 */
int
fwd_queue_result(struct fwd_queue *q, const char *msgid, const char *rcpt,
    enum fwd_status status, int code, const char *reply, time_t now)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 first, next = 0;
	int		 attempts, state, rc = -1;

	pthread_mutex_lock(&q->mtx);
	if (sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(q->db, "SELECT first, attempts FROM fwd_queue "
	    "WHERE msgid = ?1 AND rcpt = ?2 AND state = ?3", -1, &st,
	    NULL) != SQLITE_OK)
		goto rollback;
	sqlite3_bind_text(st, 1, msgid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rcpt, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, FWD_Q_PENDING);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE) {
			sqlite3_finalize(st);
			sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
			pthread_mutex_unlock(&q->mtx);
			errno = ENOENT;
			return -1;
		}
		rc = -1;
		goto rollback;
	}
	first = sqlite3_column_int64(st, 0);
	attempts = sqlite3_column_int(st, 1) + 1;
	sqlite3_finalize(st);
	st = NULL;

	switch (status) {
	case FWD_DELIVERED:
		state = FWD_Q_DELIVERED;
		break;
	case FWD_PERMFAIL:
		state = FWD_Q_FAILED;
		break;
	case FWD_TEMPFAIL:
	default:
		if ((int64_t)now - first >= q->conf.max_age)
			state = FWD_Q_FAILED;	/* expired */
		else {
			state = FWD_Q_PENDING;
			next = (int64_t)now +
			    fwd_queue_backoff(&q->conf, attempts);
		}
		break;
	}
	if (sqlite3_prepare_v2(q->db, "UPDATE fwd_queue SET state = ?3, "
	    "attempts = ?4, next = CASE WHEN ?3 = 0 THEN ?5 ELSE next END, "
	    "updated = ?6, last_code = ?7, last_reply = ?8 "
	    "WHERE msgid = ?1 AND rcpt = ?2", -1, &st, NULL) != SQLITE_OK)
		goto rollback;
	sqlite3_bind_text(st, 1, msgid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rcpt, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, state);
	sqlite3_bind_int(st, 4, attempts);
	sqlite3_bind_int64(st, 5, next);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)now);
	sqlite3_bind_int(st, 7, code);
	sqlite3_bind_text(st, 8, reply ? reply : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto rollback;
	if (sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto rollback;
	rc = state;
	goto out;
 rollback:
	rc = -1;
	log_warnx("forward queue: result msgid=%s: %s", msgid,
	    sqlite3_errmsg(q->db));
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
 out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->mtx);
	return rc;
}

/*
 * fwd_queue_get -- copy the item (msgid, rcpt) in any state into it.
 * Returns 0, or -1: errno ENOENT when there is none, else a database
 * error (logged).
 */
int
fwd_queue_get(struct fwd_queue *q, const char *msgid, const char *rcpt,
    struct fwd_item *it)
{
	sqlite3_stmt	*st = NULL;
	int		 r, rc = -1;

	pthread_mutex_lock(&q->mtx);
	if (sqlite3_prepare_v2(q->db, "SELECT " FWD_QCOLS " FROM fwd_queue "
	    "WHERE msgid = ?1 AND rcpt = ?2", -1, &st, NULL) != SQLITE_OK) {
		log_warnx("forward queue: get: %s", sqlite3_errmsg(q->db));
		goto out;
	}
	sqlite3_bind_text(st, 1, msgid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rcpt, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		fwd_queue_row(st, it);
		rc = 0;
	} else if (r == SQLITE_DONE)
		errno = ENOENT;
	else
		log_warnx("forward queue: get: %s", sqlite3_errmsg(q->db));
 out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->mtx);
	return rc;
}

/*
 * fwd_queue_walk -- call cb for every item whose state is in <states>
 * (FWD_QF_* bits), oldest first; a non-zero return from cb stops the walk
 * and is returned. cb must not call back into q. Returns 0, cb's value,
 * or -1 on a database error (logged).
 */
int
fwd_queue_walk(struct fwd_queue *q, int states, fwd_queue_walk_cb cb,
    void *arg)
{
	sqlite3_stmt	*st = NULL;
	struct fwd_item	 it;
	int		 r, rc = 0;

	pthread_mutex_lock(&q->mtx);
	if (sqlite3_prepare_v2(q->db, "SELECT " FWD_QCOLS " FROM fwd_queue "
	    "WHERE ((1 << state) & ?1) != 0 ORDER BY first, msgid, rcpt", -1,
	    &st, NULL) != SQLITE_OK) {
		rc = -1;
		goto out;
	}
	sqlite3_bind_int(st, 1, states);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		fwd_queue_row(st, &it);
		if ((rc = cb(&it, arg)) != 0)
			goto out;
	}
	if (r != SQLITE_DONE)
		rc = -1;
 out:
	if (rc == -1)
		log_warnx("forward queue: walk: %s", sqlite3_errmsg(q->db));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->mtx);
	return rc;
}

/*
 * fwd_qstate_name -- "pending", "delivered" or "failed".
 */
const char *
fwd_qstate_name(enum fwd_qstate st)
{
	switch (st) {
	case FWD_Q_PENDING:
		return "pending";
	case FWD_Q_DELIVERED:
		return "delivered";
	case FWD_Q_FAILED:
		return "failed";
	}
	return "unknown";
}

static void
fwd_queue_text(sqlite3_stmt *st, int col, char *dst, size_t len)
{
	const unsigned char	*t;

	t = sqlite3_column_text(st, col);
	strlcpy(dst, t ? (const char *)t : "", len);
}

static void
fwd_queue_row(sqlite3_stmt *st, struct fwd_item *it)
{
	memset(it, 0, sizeof(*it));
	fwd_queue_text(st, 0, it->msgid, sizeof(it->msgid));
	fwd_queue_text(st, 1, it->rcpt, sizeof(it->rcpt));
	fwd_queue_text(st, 2, it->sender, sizeof(it->sender));
	fwd_queue_text(st, 3, it->client, sizeof(it->client));
	it->first = sqlite3_column_int64(st, 4);
	it->next = sqlite3_column_int64(st, 5);
	it->updated = sqlite3_column_int64(st, 6);
	it->attempts = sqlite3_column_int(st, 7);
	it->state = (enum fwd_qstate)sqlite3_column_int(st, 8);
	it->last_code = sqlite3_column_int(st, 9);
	fwd_queue_text(st, 10, it->last_reply, sizeof(it->last_reply));
}
