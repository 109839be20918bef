/*
 * fwd_caps.c -- exact forwarding caps and the circuit breaker, run in the
 * worker role. Counters live in SQLite so they survive restarts; a
 * reservation checks every cap and increments every counter inside one
 * BEGIN IMMEDIATE transaction, so two deliveries (threads or processes)
 * cannot both pass a cap of 1. Any database error refuses the forward
 * (fail closed): a trap that cannot count must not send.
 *
 * Client addresses and recipients came from the network; they reach SQL
 * only as bound parameters.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "fwd_caps.h"

#define FWD_NCAPS	7
#define FWD_KEY_MAX	(FWD_ADDR_TEXT_MAX + 16)

struct fwd_caps {
	sqlite3			*db;
	pthread_mutex_t		 mtx;
	struct fwd_caps_conf	 conf;
};

/* one counter a forward is charged to */
struct fwd_charge {
	const char	*name;		/* cap name returned to the caller */
	char		 key[FWD_KEY_MAX];
	int64_t		 bucket;
	int64_t		 expires;	/* end of the bucket's window */
	long		 limit;
};

static const char fwd_caps_schema[] =
    "CREATE TABLE IF NOT EXISTS fwd_counter ("
    " key TEXT NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,"
    " expires INTEGER NOT NULL, PRIMARY KEY (key, bucket));"
    "CREATE TABLE IF NOT EXISTS fwd_breaker ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), run INTEGER NOT NULL,"
    " tripped INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO fwd_breaker (id, run, tripped) VALUES (1, 0, 0);";

static int	 fwd_charges(const struct fwd_caps *caps,
		    const struct fwd_subject *sub, struct fwd_charge *ch);
static const char *fwd_caps_run(struct fwd_caps *caps,
		    const struct fwd_subject *sub, bool reserve);
static int	 fwd_breaker_get(struct fwd_caps *caps, struct fwd_breaker *b);
static int	 fwd_breaker_set(struct fwd_caps *caps, long run,
		    int64_t tripped);
static long	 fwd_counter_get(struct fwd_caps *caps,
		    const struct fwd_charge *c);

/*
 * fwd_caps_conf_default -- every cap unlimited, one-day window, no
 * breaker. The caller then sets the caps it configures.
 */
void
fwd_caps_conf_default(struct fwd_caps_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->per_hour = conf->per_day = FWD_CAP_UNLIMITED;
	conf->per_client = conf->per_net = conf->per_asn = FWD_CAP_UNLIMITED;
	conf->per_domain = conf->per_dropbox = FWD_CAP_UNLIMITED;
	conf->window = FWD_CAP_WINDOW;
}

/*
 * fwd_caps_open -- open (creating) the caps tables in the SQLite file
 * <path> with the limits in <conf> (copied). Returns a handle that may be
 * shared by threads, or NULL with a message in err.
 */
struct fwd_caps *
fwd_caps_open(const char *path, const struct fwd_caps_conf *conf, char *err,
    size_t errlen)
{
	struct fwd_caps	*caps;
	sqlite3		*db;

	if ((db = fwd_db_open(path, fwd_caps_schema, err, errlen)) == NULL)
		return NULL;
	caps = xcalloc(1, sizeof(*caps));
	caps->db = db;
	caps->conf = *conf;
	if (caps->conf.window <= 0)
		caps->conf.window = FWD_CAP_WINDOW;
	if (pthread_mutex_init(&caps->mtx, NULL) != 0)
		fatalx("%s: pthread_mutex_init", __func__);
	return caps;
}

/*
 * fwd_caps_close -- close the handle; NULL is ignored.
 */
void
fwd_caps_close(struct fwd_caps *caps)
{
	if (caps == NULL)
		return;
	sqlite3_close(caps->db);
	pthread_mutex_destroy(&caps->mtx);
	free(caps);
}

/*
 * fwd_caps_check -- would a forward for <sub> pass every cap now? Changes
 * nothing (dry-run, inspection). Returns NULL when allowed, else the name
 * of the first cap that stops it: "breaker", "hour", "day", "client",
 * "net", "asn", "domain", "dropbox", "subject" (unusable client address
 * or recipient) or "error" (database error, logged).
 */
const char *
fwd_caps_check(struct fwd_caps *caps, const struct fwd_subject *sub)
{
	return fwd_caps_run(caps, sub, false);
}

/*
 * fwd_caps_reserve -- check every cap for <sub> and, when all pass,
 * count the forward against each of them, atomically (one IMMEDIATE
 * transaction; safe across threads and processes). Returns NULL when the
 * forward is reserved, else the cap name as for fwd_caps_check(), in
 * which case nothing was counted.
 */
const char *
fwd_caps_reserve(struct fwd_caps *caps, const struct fwd_subject *sub)
{
	return fwd_caps_run(caps, sub, true);
}

static const char *
fwd_caps_run(struct fwd_caps *caps, const struct fwd_subject *sub,
    bool reserve)
{
	struct fwd_charge	 ch[FWD_NCAPS];
	struct fwd_breaker	 b;
	sqlite3_stmt		*st = NULL;
	const char		*why = NULL;
	long			 n;
	int			 i, nch;

	if ((nch = fwd_charges(caps, sub, ch)) == -1)
		return "subject";
	pthread_mutex_lock(&caps->mtx);
	if (sqlite3_exec(caps->db, reserve ? "BEGIN IMMEDIATE" : "BEGIN",
	    NULL, NULL, NULL) != SQLITE_OK) {
		why = "error";
		goto out;
	}
	if (fwd_breaker_get(caps, &b) == -1) {
		why = "error";
		goto done;
	}
	if (b.tripped != 0) {
		if (caps->conf.breaker_reset > 0 &&
		    (int64_t)sub->now >= b.tripped + caps->conf.breaker_reset) {
			if (reserve && fwd_breaker_set(caps, 0, 0) == -1) {
				why = "error";
				goto done;
			}
		} else {
			why = "breaker";
			goto done;
		}
	}
	for (i = 0; i < nch; i++) {
		if (ch[i].limit == FWD_CAP_UNLIMITED)
			continue;
		if ((n = fwd_counter_get(caps, &ch[i])) == -1) {
			why = "error";
			goto done;
		}
		if (n >= ch[i].limit) {
			why = ch[i].name;
			goto done;
		}
	}
	if (!reserve)
		goto done;
	if (sqlite3_prepare_v2(caps->db, "INSERT INTO fwd_counter "
	    "(key, bucket, n, expires) VALUES (?1, ?2, 1, ?3) "
	    "ON CONFLICT (key, bucket) DO UPDATE SET n = n + 1", -1, &st,
	    NULL) != SQLITE_OK) {
		why = "error";
		goto done;
	}
	for (i = 0; i < nch; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, ch[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, ch[i].bucket);
		sqlite3_bind_int64(st, 3, ch[i].expires);
		if (sqlite3_step(st) != SQLITE_DONE) {
			why = "error";
			goto done;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	/* windows that ended can never be charged again: drop them */
	if (sqlite3_prepare_v2(caps->db, "DELETE FROM fwd_counter "
	    "WHERE expires <= ?1", -1, &st, NULL) != SQLITE_OK) {
		why = "error";
		goto done;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)sub->now);
	if (sqlite3_step(st) != SQLITE_DONE)
		why = "error";
 done:
	sqlite3_finalize(st);
	if (why == NULL) {
		if (sqlite3_exec(caps->db, "COMMIT", NULL, NULL, NULL) !=
		    SQLITE_OK)
			why = "error";
	}
	if (why != NULL)
		sqlite3_exec(caps->db, "ROLLBACK", NULL, NULL, NULL);
 out:
	if (why != NULL && strcmp(why, "error") == 0)
		log_warnx("forward caps: %s", sqlite3_errmsg(caps->db));
	pthread_mutex_unlock(&caps->mtx);
	return why;
}

/*
 * fwd_caps_record -- feed the outcome of one delivery attempt to the
 * circuit breaker: DELIVERED ends a run, PERMFAIL (a bounce or a 5xx)
 * extends it and trips the breaker when it reaches breaker_run, TEMPFAIL
 * changes nothing. Returns 0, or -1 on a database error (logged).
 */
int
fwd_caps_record(struct fwd_caps *caps, enum fwd_status status, time_t now)
{
	struct fwd_breaker	 b;
	int			 rc = -1;

	if (status == FWD_TEMPFAIL)
		return 0;
	pthread_mutex_lock(&caps->mtx);
	if (sqlite3_exec(caps->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto out;
	if (fwd_breaker_get(caps, &b) == -1)
		goto rollback;
	if (status == FWD_DELIVERED)
		b.run = 0;
	else {
		b.run++;
		if (caps->conf.breaker_run > 0 && b.tripped == 0 &&
		    b.run >= caps->conf.breaker_run) {
			b.tripped = (int64_t)now;
			log_warnx("forward caps: circuit breaker tripped "
			    "run=%ld", b.run);
		}
	}
	if (fwd_breaker_set(caps, b.run, b.tripped) == -1)
		goto rollback;
	if (sqlite3_exec(caps->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto rollback;
	rc = 0;
	goto out;
 rollback:
	sqlite3_exec(caps->db, "ROLLBACK", NULL, NULL, NULL);
 out:
	if (rc == -1)
		log_warnx("forward caps: record: %s",
		    sqlite3_errmsg(caps->db));
	pthread_mutex_unlock(&caps->mtx);
	return rc;
}

/*
 * fwd_caps_breaker -- copy the breaker's state into b (a breaker whose
 * reset time has passed still shows as tripped until the next
 * reservation closes it). Returns 0, or -1 on a database error.
 */
int
fwd_caps_breaker(struct fwd_caps *caps, struct fwd_breaker *b)
{
	int	 rc;

	pthread_mutex_lock(&caps->mtx);
	rc = fwd_breaker_get(caps, b);
	pthread_mutex_unlock(&caps->mtx);
	return rc;
}

/*
 * fwd_caps_breaker_reset -- the operator closes the breaker and clears
 * the run. Returns 0, or -1 on a database error (logged).
 */
int
fwd_caps_breaker_reset(struct fwd_caps *caps)
{
	int	 rc;

	pthread_mutex_lock(&caps->mtx);
	rc = fwd_breaker_set(caps, 0, 0);
	pthread_mutex_unlock(&caps->mtx);
	if (rc == 0)
		log_info("forward caps: circuit breaker reset");
	return rc;
}

/*
 * fwd_caps_count -- how many forwards are counted now against cap <cap>
 * ("hour", "day", "client", "net", "asn", "domain", "dropbox") for <sub>
 * in the current window. Returns the count, or -1 (unknown cap, unusable
 * subject, no ASN for "asn", database error).
 */
long
fwd_caps_count(struct fwd_caps *caps, const char *cap,
    const struct fwd_subject *sub)
{
	struct fwd_charge	 ch[FWD_NCAPS];
	long			 n = -1;
	int			 i, nch;

	if ((nch = fwd_charges(caps, sub, ch)) == -1)
		return -1;
	pthread_mutex_lock(&caps->mtx);
	for (i = 0; i < nch; i++)
		if (strcmp(ch[i].name, cap) == 0) {
			n = fwd_counter_get(caps, &ch[i]);
			break;
		}
	pthread_mutex_unlock(&caps->mtx);
	return n;
}

/* fill one charge; false when the key does not fit */
static bool
fwd_charge_set(struct fwd_charge *c, const char *name, const char *prefix,
    const char *val, time_t now, long window, long limit)
{
	char	*p;

	c->name = name;
	c->limit = limit;
	c->bucket = (int64_t)now / window;
	c->expires = (c->bucket + 1) * window;
	if (!bsnprintf(c->key, sizeof(c->key), "%s:%s", prefix, val))
		return false;
	for (p = c->key; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return true;
}

/* the counters <sub> is charged to; -1 when the subject is unusable */
static int
fwd_charges(const struct fwd_caps *caps, const struct fwd_subject *sub,
    struct fwd_charge *ch)
{
	const struct fwd_caps_conf *cf = &caps->conf;
	struct in6_addr	 a6;
	struct in_addr	 a4;
	char		 addr[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN + 4];
	char		 asn[16];
	const char	*at;
	int		 n = 0;

	if (sub->client == NULL || sub->rcpt == NULL ||
	    (at = strrchr(sub->rcpt, '@')) == NULL || at == sub->rcpt ||
	    at[1] == '\0')
		return -1;
	if (inet_pton(AF_INET, sub->client, &a4) == 1)
		;
	else if (inet_pton(AF_INET6, sub->client, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6))	/* ::ffff:a.b.c.d is IPv4 */
			memcpy(&a4, &a6.s6_addr[12], 4);
		else
			goto v6;
	} else
		return -1;
	inet_ntop(AF_INET, &a4, addr, sizeof(addr));
	a4.s_addr &= htonl(0xffffff00);
	inet_ntop(AF_INET, &a4, net, sizeof(net));
	strlcat(net, "/24", sizeof(net));
	goto charge;
 v6:
	inet_ntop(AF_INET6, &a6, addr, sizeof(addr));
	memset(&a6.s6_addr[6], 0, 10);
	inet_ntop(AF_INET6, &a6, net, sizeof(net));
	strlcat(net, "/48", sizeof(net));
 charge:
	if (!fwd_charge_set(&ch[n++], "hour", "hour", "", sub->now, 3600,
	    cf->per_hour) ||
	    !fwd_charge_set(&ch[n++], "day", "day", "", sub->now, 86400,
	    cf->per_day) ||
	    !fwd_charge_set(&ch[n++], "client", "client", addr, sub->now,
	    cf->window, cf->per_client) ||
	    !fwd_charge_set(&ch[n++], "net", "net", net, sub->now,
	    cf->window, cf->per_net) ||
	    !fwd_charge_set(&ch[n++], "domain", "domain", at + 1, sub->now,
	    cf->window, cf->per_domain) ||
	    !fwd_charge_set(&ch[n++], "dropbox", "dropbox", sub->rcpt,
	    sub->now, cf->window, cf->per_dropbox))
		return -1;
	if (sub->asn != 0) {
		snprintf(asn, sizeof(asn), "%" PRIu32, sub->asn);
		if (!fwd_charge_set(&ch[n++], "asn", "asn", asn, sub->now,
		    cf->window, cf->per_asn))
			return -1;
	}
	return n;
}

static long
fwd_counter_get(struct fwd_caps *caps, const struct fwd_charge *c)
{
	sqlite3_stmt	*st = NULL;
	long		 n = -1;
	int		 r;

	if (sqlite3_prepare_v2(caps->db, "SELECT n FROM fwd_counter "
	    "WHERE key = ?1 AND bucket = ?2", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, c->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, c->bucket);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	else if (r == SQLITE_DONE)
		n = 0;
	sqlite3_finalize(st);
	return n;
}

static int
fwd_breaker_get(struct fwd_caps *caps, struct fwd_breaker *b)
{
	sqlite3_stmt	*st = NULL;
	int		 rc = -1;

	memset(b, 0, sizeof(*b));
	if (sqlite3_prepare_v2(caps->db, "SELECT run, tripped FROM "
	    "fwd_breaker WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		b->run = (long)sqlite3_column_int64(st, 0);
		b->tripped = sqlite3_column_int64(st, 1);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static int
fwd_breaker_set(struct fwd_caps *caps, long run, int64_t tripped)
{
	sqlite3_stmt	*st = NULL;
	int		 rc = -1;

	if (sqlite3_prepare_v2(caps->db, "UPDATE fwd_breaker SET run = ?1, "
	    "tripped = ?2 WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, tripped);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}
