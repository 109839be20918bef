/*
 * an_campaign_store.c -- SPOOL/campaigns.sqlite: campaigns, the exact
 * hashes that joined each one, the message ids already counted (so that
 * re-analysing a message changes nothing) and the client addresses that
 * sent them. Runs in the worker (read-write) and in relaytrap(1) (read).
 * Every statement is parameterised: hashes, subjects and addresses came
 * from the network and are never spliced into SQL. WAL mode,
 * synchronous=NORMAL: a crash may lose the last additions, which a
 * re-analysis restores.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fuzzy.h>
#include <sqlite3.h>

#include "an_campaign_store.h"
#include "compat.h"
#include "dbutil.h"
#include "log.h"
#include "xmalloc.h"

#define AN_CSTORE_BATCH_MAX	256	/* messages per batch transaction */
#define AN_CSTORE_FUZZY_MAX	2000	/* campaigns a fuzzy hash meets */

struct an_cstore {
	sqlite3			*db;
	struct dbu_stmts	 stmts;	/* prepared once, reset after use */
	bool			 batch;	/* an_cstore_set_batch() */
	bool			 intxn;	/* the batch transaction is open */
	int			 nbatched;
};

static const char cstore_schema[] =
    "CREATE TABLE IF NOT EXISTS campaign ("
    " id TEXT PRIMARY KEY, exact TEXT NOT NULL, fuzzy TEXT NOT NULL,"
    " bs INTEGER NOT NULL, shingle TEXT NOT NULL, subject TEXT NOT NULL,"
    " first INTEGER NOT NULL,"
    " last INTEGER NOT NULL, count INTEGER NOT NULL,"
    " nsources INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS campaign_bs ON campaign (bs);"
    "CREATE INDEX IF NOT EXISTS campaign_bs_last ON campaign (bs, last);"
    "CREATE TABLE IF NOT EXISTS band ("
    " band INTEGER NOT NULL, key INTEGER NOT NULL, campaign TEXT NOT NULL,"
    " PRIMARY KEY (band, key, campaign)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS exact ("
    " hash TEXT PRIMARY KEY, campaign TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS member ("
    " msgid TEXT PRIMARY KEY, campaign TEXT NOT NULL, kind TEXT NOT NULL,"
    " score INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS source ("
    " campaign TEXT NOT NULL, addr TEXT NOT NULL, count INTEGER NOT NULL,"
    " first INTEGER NOT NULL, last INTEGER NOT NULL,"
    " PRIMARY KEY (campaign, addr));";

/*
 * an_cstore_open -- open the store at <path>; with <create> it is made
 * (with its schema) if missing, else a missing file is an error. Returns
 * a handle, or NULL with *errstr (a static string; details are logged).
 */
struct an_cstore *
an_cstore_open(const char *path, bool create, const char **errstr)
{
	struct an_cstore *st;
	sqlite3		*db;
	char		 err[512];
	int		 flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	*errstr = NULL;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if ((db = dbu_open(path, flags, 5000, "NORMAL", cstore_schema, err,
	    sizeof(err))) == NULL) {
		log_warnx("campaign: %s", err);
		*errstr = "cannot open the campaign database";
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->db = db;
	return st;
}

/*
 * an_cstore_close -- close the store; NULL is fine.
 */
void
an_cstore_close(struct an_cstore *st)
{
	if (st == NULL)
		return;
	(void)an_cstore_flush(st);
	dbu_stmts_free(&st->stmts);
	sqlite3_close(st->db);
	free(st);
}

static int
exec(struct an_cstore *st, const char *sql)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("campaign: %s: %s", sql, sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/*
 * an_cstore_begin, an_cstore_commit, an_cstore_rollback -- one write
 * transaction around the look-ups and updates of one message, so that
 * two writers never start the same campaign twice. In batch mode
 * (an_cstore_set_batch) a message is a savepoint inside one transaction
 * that an_cstore_flush() commits, or the AN_CSTORE_BATCH_MAX-th message:
 * one commit for many messages, and still one writer at a time.
 * 0, or -1 (logged).
 */
int
an_cstore_begin(struct an_cstore *st)
{
	if (!st->batch)
		return exec(st, "BEGIN IMMEDIATE");
	if (!st->intxn) {
		if (exec(st, "BEGIN IMMEDIATE") == -1)
			return -1;
		st->intxn = true;
	}
	return exec(st, "SAVEPOINT message");
}

int
an_cstore_commit(struct an_cstore *st)
{
	if (!st->batch)
		return exec(st, "COMMIT");
	if (exec(st, "RELEASE message") == -1)
		return -1;
	if (++st->nbatched >= AN_CSTORE_BATCH_MAX)
		return an_cstore_flush(st);
	return 0;
}

void
an_cstore_rollback(struct an_cstore *st)
{
	if (st->batch && st->intxn) {
		/* this message only; the batch's others stay */
		(void)exec(st, "ROLLBACK TO message");
		(void)exec(st, "RELEASE message");
		return;
	}
	if (!sqlite3_get_autocommit(st->db))
		(void)exec(st, "ROLLBACK");
}

/*
 * an_cstore_set_batch -- batch mode on (see an_cstore_begin) or off
 * (committing what is open first).
 */
void
an_cstore_set_batch(struct an_cstore *st, bool on)
{
	if (!on)
		(void)an_cstore_flush(st);
	st->batch = on;
}

/*
 * an_cstore_flush -- commit the open batch transaction, if any, so that
 * readers see it. 0, or -1 (logged; the batch is rolled back).
 */
int
an_cstore_flush(struct an_cstore *st)
{
	if (!st->intxn)
		return 0;
	st->intxn = false;
	st->nbatched = 0;
	if (exec(st, "COMMIT") == -1) {
		if (!sqlite3_get_autocommit(st->db))
			(void)exec(st, "ROLLBACK");
		return -1;
	}
	return 0;
}

static sqlite3_stmt *
prep(struct an_cstore *st, const char *sql)
{
	sqlite3_stmt	*stmt;

	if ((stmt = dbu_prep(&st->stmts, st->db, sql)) == NULL)
		log_warnx("campaign: prepare: %s", sqlite3_errmsg(st->db));
	return stmt;
}

static int
step_done(struct an_cstore *st, sqlite3_stmt *stmt, const char *what)
{
	int	 rc = sqlite3_step(stmt);

	dbu_done(stmt);
	if (rc != SQLITE_DONE) {
		log_warnx("campaign: %s: %s", what, sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

static const char *
col(sqlite3_stmt *stmt, int i)
{
	const char	*s = (const char *)sqlite3_column_text(stmt, i);

	return s != NULL ? s : "";
}

/* SELECT campaign ... WHERE key = ?1: the id into id, *found */
static int
lookup(struct an_cstore *st, const char *sql, const char *key, char *id,
    size_t idlen, bool *found)
{
	sqlite3_stmt	*stmt;
	const char	*s;
	int		 rc;

	*found = false;
	if ((stmt = prep(st, sql)) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		s = (const char *)sqlite3_column_text(stmt, 0);
		if (s != NULL && strlcpy(id, s, idlen) < idlen)
			*found = true;
	} else if (rc != SQLITE_DONE) {
		log_warnx("campaign: lookup: %s", sqlite3_errmsg(st->db));
		dbu_done(stmt);
		return -1;
	}
	dbu_done(stmt);
	return 0;
}

/*
 * an_cstore_member -- how message <msgid> was counted, if it was
 * (*found): its campaign in <id>, the kind of match ("exact", "fuzzy",
 * "new") in <kind> and the score in *score. Returns 0, or -1 (logged).
 */
int
an_cstore_member(struct an_cstore *st, const char *msgid, char *id,
    size_t idlen, char *kind, size_t kindlen, int *score, bool *found)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	*found = false;
	if ((stmt = prep(st, "SELECT campaign, kind, score FROM member"
	    " WHERE msgid = ?1")) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, msgid, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		if (strlcpy(id, col(stmt, 0), idlen) < idlen &&
		    strlcpy(kind, col(stmt, 1), kindlen) < kindlen)
			*found = true;
		*score = sqlite3_column_int(stmt, 2);
	} else if (rc != SQLITE_DONE) {
		log_warnx("campaign: member: %s", sqlite3_errmsg(st->db));
		dbu_done(stmt);
		return -1;
	}
	dbu_done(stmt);
	return 0;
}

/*
 * an_cstore_find_exact -- the campaign whose representative or any
 * member has exact hash <exact> (*found). Returns 0, or -1 (logged).
 */
int
an_cstore_find_exact(struct an_cstore *st, const char *exact, char *id,
    size_t idlen, bool *found)
{
	return lookup(st, "SELECT campaign FROM exact WHERE hash = ?1",
	    exact, id, idlen, found);
}

/* the block size that leads an ssdeep hash, or 0 */
static long
fuzzy_bs(const char *h)
{
	long	 bs = 0;

	for (; isdigit((unsigned char)*h) && bs < 0x10000000; h++)
		bs = bs * 10 + (*h - '0');
	return *h == ':' ? bs : 0;
}

/*
 * an_cstore_find_fuzzy -- the campaign whose representative ssdeep hash
 * compares best with <fuzzy> (fuzzy_compare, 0-100): its id in <id> and
 * the score in *score, or *score = 0 and id "" when nothing compares.
 * Only campaigns whose block size is comparable (equal, half, double)
 * are read, the AN_CSTORE_FUZZY_MAX last seen of them; ties go to the
 * oldest campaign. Returns 0, or -1 (logged).
 */
int
an_cstore_find_fuzzy(struct an_cstore *st, const char *fuzzy, char *id,
    size_t idlen, int *score)
{
	sqlite3_stmt	*stmt;
	const char	*h, *cid;
	long		 bs;
	int		 rc, sc;

	*score = 0;
	if (idlen > 0)
		id[0] = '\0';
	if ((bs = fuzzy_bs(fuzzy)) == 0)
		return 0;
	/*
	 * The AN_CSTORE_FUZZY_MAX campaigns seen last: comparing with every
	 * one made each new campaign cost more (61 ms a message at 20,000
	 * campaigns), and a campaign silent for that long is one of the
	 * exact hash or the MinHash bands if it comes back.
	 */
	if ((stmt = prep(st, "SELECT id, fuzzy FROM (SELECT id, fuzzy, first"
	    " FROM campaign WHERE bs IN (?1, ?2, ?3) ORDER BY last DESC"
	    " LIMIT ?4) ORDER BY first, id")) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, bs);
	sqlite3_bind_int64(stmt, 2, bs * 2);
	sqlite3_bind_int64(stmt, 3, bs / 2);
	sqlite3_bind_int64(stmt, 4, AN_CSTORE_FUZZY_MAX);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		cid = (const char *)sqlite3_column_text(stmt, 0);
		h = (const char *)sqlite3_column_text(stmt, 1);
		if (cid == NULL || h == NULL)
			continue;
		sc = fuzzy_compare(fuzzy, h);
		if (sc > *score && strlcpy(id, cid, idlen) < idlen)
			*score = sc;
	}
	dbu_done(stmt);
	if (rc != SQLITE_DONE) {
		log_warnx("campaign: fuzzy scan: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/* "mh:" and AN_CAMP_MH_SLOTS values of 4 hex digits into v */
static bool
mh_parse(const char *s, uint16_t *v)
{
	size_t	 i, k;
	int	 c, d;

	if (s == NULL || strncmp(s, "mh:", 3) != 0 ||
	    strlen(s) != AN_CAMP_MH_LEN)
		return false;
	s += 3;
	for (i = 0; i < AN_CAMP_MH_SLOTS; i++) {
		v[i] = 0;
		for (k = 0; k < 4; k++) {
			c = *s++;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else
				return false;
			v[i] = (uint16_t)(v[i] << 4 | d);
		}
	}
	return true;
}

/* the slots of band b packed in one integer */
static int64_t
band_key(const uint16_t *v, size_t b)
{
	uint64_t k = 0;
	size_t	 i, per = AN_CAMP_MH_SLOTS / AN_CAMP_MH_BANDS;

	for (i = 0; i < per; i++)
		k = k << 16 | v[b * per + i];
	return (int64_t)k;
}

/*
 * an_cstore_shingle_compare -- the share (0-100) of equal slots of two
 * MinHash signatures ("mh:" and AN_CAMP_MH_SLOTS 16-bit values in hex):
 * an estimate of the Jaccard similarity of their shingle sets. -1 if
 * either is not a signature.
 */
int
an_cstore_shingle_compare(const char *a, const char *b)
{
	uint16_t va[AN_CAMP_MH_SLOTS], vb[AN_CAMP_MH_SLOTS];
	size_t	 i, eq = 0;

	if (!mh_parse(a, va) || !mh_parse(b, vb))
		return -1;
	for (i = 0; i < AN_CAMP_MH_SLOTS; i++)
		if (va[i] == vb[i])
			eq++;
	return (int)(eq * 100 / AN_CAMP_MH_SLOTS);
}

/*
 * an_cstore_find_shingle -- the campaign whose representative MinHash
 * signature compares best with <shingle>, among those sharing at least
 * one band (AN_CAMP_MH_BANDS bands of slots, locality-sensitive hashing:
 * a candidate with similarity 0.8 is found with probability 0.9998, one
 * with 0.3 is rarely read at all). Its id in <id> and the score in
 * *score, or *score = 0 and id "" when nothing compares. Ties go to the
 * oldest campaign. Returns 0, or -1 (logged).
 */
int
an_cstore_find_shingle(struct an_cstore *st, const char *shingle, char *id,
    size_t idlen, int *score)
{
	sqlite3_stmt	*stmt;
	uint16_t	 v[AN_CAMP_MH_SLOTS];
	const char	*cid, *h;
	size_t		 b;
	int		 rc, sc;

	*score = 0;
	if (idlen > 0)
		id[0] = '\0';
	if (!mh_parse(shingle, v))
		return 0;
	if ((stmt = prep(st, "SELECT c.id, c.shingle FROM campaign c"
	    " WHERE c.id IN (SELECT campaign FROM band WHERE"
	    " (band = ?1 AND key = ?2) OR (band = ?3 AND key = ?4) OR"
	    " (band = ?5 AND key = ?6) OR (band = ?7 AND key = ?8) OR"
	    " (band = ?9 AND key = ?10) OR (band = ?11 AND key = ?12) OR"
	    " (band = ?13 AND key = ?14) OR (band = ?15 AND key = ?16) OR"
	    " (band = ?17 AND key = ?18) OR (band = ?19 AND key = ?20) OR"
	    " (band = ?21 AND key = ?22) OR (band = ?23 AND key = ?24) OR"
	    " (band = ?25 AND key = ?26) OR (band = ?27 AND key = ?28) OR"
	    " (band = ?29 AND key = ?30) OR (band = ?31 AND key = ?32))"
	    " ORDER BY c.first, c.id")) == NULL)
		return -1;
	for (b = 0; b < AN_CAMP_MH_BANDS; b++) {
		sqlite3_bind_int(stmt, (int)(2 * b + 1), (int)b);
		sqlite3_bind_int64(stmt, (int)(2 * b + 2), band_key(v, b));
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		cid = (const char *)sqlite3_column_text(stmt, 0);
		h = (const char *)sqlite3_column_text(stmt, 1);
		if (cid == NULL || h == NULL)
			continue;
		sc = an_cstore_shingle_compare(shingle, h);
		if (sc > *score && strlcpy(id, cid, idlen) < idlen)
			*score = sc;
	}
	dbu_done(stmt);
	if (rc != SQLITE_DONE) {
		log_warnx("campaign: band scan: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/*
 * an_cstore_create -- a new campaign founded by a message with hashes
 * <exact> (hex), <fuzzy> (ssdeep) and <shingle> (an_cstore_shingle_*,
 * may be ""), sample <subject>, at <now>, with count 0
 * (an_cstore_add counts the founder). Its id, "c" and the first 11 hex
 * digits of <exact> (more if that prefix is taken), is stable: the same
 * founder gives the same id in any store. Returns 0, or -1 (logged).
 */
int
an_cstore_create(struct an_cstore *st, const char *exact, const char *fuzzy,
    const char *shingle, const char *subject, int64_t now, char *id,
    size_t idlen)
{
	sqlite3_stmt	*stmt;
	uint16_t	 v[AN_CAMP_MH_SLOTS];
	char		 tmp[AN_CAMP_ID_MAX];
	size_t		 n, b;
	bool		 taken;

	for (n = 11; ; n++) {
		if (n > strlen(exact) || n + 2 > idlen ||
		    n + 2 > AN_CAMP_ID_MAX) {
			log_warnx("campaign: no free id for %s", exact);
			return -1;
		}
		if (!bsnprintf(id, idlen, "c%.*s", (int)n, exact))
			return -1;
		if (lookup(st, "SELECT id FROM campaign WHERE id = ?1", id,
		    tmp, sizeof(tmp), &taken) == -1)
			return -1;
		if (!taken)
			break;
	}
	if ((stmt = prep(st, "INSERT INTO campaign (id, exact, fuzzy, bs,"
	    " shingle, subject, first, last, count) VALUES (?1, ?2, ?3, ?4,"
	    " ?5, ?6, ?7, ?7, 0)")) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 2, exact, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 3, fuzzy, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 4, fuzzy_bs(fuzzy));
	sqlite3_bind_text(stmt, 5, shingle, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 6, subject, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 7, now);
	if (step_done(st, stmt, "create") == -1)
		return -1;
	if (!mh_parse(shingle, v))
		return 0;
	for (b = 0; b < AN_CAMP_MH_BANDS; b++) {
		if ((stmt = prep(st, "INSERT OR IGNORE INTO band (band, key,"
		    " campaign) VALUES (?1, ?2, ?3)")) == NULL)
			return -1;
		sqlite3_bind_int(stmt, 1, (int)b);
		sqlite3_bind_int64(stmt, 2, band_key(v, b));
		sqlite3_bind_text(stmt, 3, id, -1, SQLITE_TRANSIENT);
		if (step_done(st, stmt, "band") == -1)
			return -1;
	}
	return 0;
}

/*
 * an_cstore_add -- count message <msgid> (exact hash <exact>, from client
 * address <client>, may be NULL or "") in campaign <id> at <now>, as a
 * match of <kind> with <score> (an_cstore_member returns them): count,
 * first/last seen, the source, the exact hash as an alias of the
 * campaign. A message already counted is not counted again; a NULL
 * <msgid> is always counted. Returns 0, or -1 (logged).
 */
int
an_cstore_add(struct an_cstore *st, const char *id, const char *msgid,
    const char *exact, const char *client, int64_t now, const char *kind,
    int score)
{
	sqlite3_stmt	*stmt;

	if (msgid != NULL) {
		/* one statement: a member already there is not counted */
		if ((stmt = prep(st, "INSERT OR IGNORE INTO member (msgid,"
		    " campaign, kind, score) VALUES (?1, ?2, ?3, ?4)")) ==
		    NULL)
			return -1;
		sqlite3_bind_text(stmt, 1, msgid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(stmt, 2, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(stmt, 3, kind, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(stmt, 4, score);
		if (step_done(st, stmt, "member") == -1)
			return -1;
		if (sqlite3_changes(st->db) == 0)
			return 0;
	}

	if ((stmt = prep(st, "INSERT OR IGNORE INTO exact (hash, campaign)"
	    " VALUES (?1, ?2)")) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, exact, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 2, id, -1, SQLITE_TRANSIENT);
	if (step_done(st, stmt, "exact") == -1)
		return -1;

	if (client != NULL && *client != '\0') {
		if ((stmt = prep(st, "UPDATE campaign SET nsources ="
		    " nsources + 1 WHERE id = ?1 AND NOT EXISTS (SELECT 1"
		    " FROM source WHERE campaign = ?1 AND addr = ?2)")) ==
		    NULL)
			return -1;
		sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(stmt, 2, client, -1, SQLITE_TRANSIENT);
		if (step_done(st, stmt, "nsources") == -1)
			return -1;
		if ((stmt = prep(st, "INSERT INTO source (campaign, addr,"
		    " count, first, last) VALUES (?1, ?2, 1, ?3, ?3)"
		    " ON CONFLICT (campaign, addr) DO UPDATE SET"
		    " count = count + 1, first = MIN(first, ?3),"
		    " last = MAX(last, ?3)")) == NULL)
			return -1;
		sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(stmt, 2, client, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(stmt, 3, now);
		if (step_done(st, stmt, "source") == -1)
			return -1;
	}

	if ((stmt = prep(st, "UPDATE campaign SET count = count + 1,"
	    " first = MIN(first, ?2), last = MAX(last, ?2)"
	    " WHERE id = ?1")) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, now);
	return step_done(st, stmt, "count");
}

static int
camp_rows(struct an_cstore *st, sqlite3_stmt *stmt,
    int (*cb)(const struct an_camp *, void *), void *arg, bool *found)
{
	struct an_camp	 c;
	int		 rc, cbrc = 0;

	if (found != NULL)
		*found = false;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		c.id = col(stmt, 0);
		c.exact = col(stmt, 1);
		c.fuzzy = col(stmt, 2);
		c.subject = col(stmt, 3);
		c.first = sqlite3_column_int64(stmt, 4);
		c.last = sqlite3_column_int64(stmt, 5);
		c.count = sqlite3_column_int64(stmt, 6);
		c.nsources = sqlite3_column_int64(stmt, 7);
		if (found != NULL)
			*found = true;
		if ((cbrc = cb(&c, arg)) != 0)
			break;
	}
	dbu_done(stmt);
	if (cbrc != 0)
		return cbrc;
	if (rc != SQLITE_DONE) {
		log_warnx("campaign: list: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

#define CAMP_COLS "SELECT id, exact, fuzzy, subject, first, last, count," \
	" nsources FROM campaign"

/*
 * an_cstore_list -- call cb for every campaign, the latest seen first.
 * A non-zero cb return stops the walk and is returned; else 0, or -1
 * (logged).
 */
int
an_cstore_list(struct an_cstore *st,
    int (*cb)(const struct an_camp *, void *), void *arg)
{
	sqlite3_stmt	*stmt;

	if ((stmt = prep(st, CAMP_COLS " ORDER BY last DESC, id")) == NULL)
		return -1;
	return camp_rows(st, stmt, cb, arg, NULL);
}

/*
 * an_cstore_get -- call cb for campaign <id> if it exists (*found).
 * Returns 0, cb's non-zero return, or -1 (logged).
 */
int
an_cstore_get(struct an_cstore *st, const char *id,
    int (*cb)(const struct an_camp *, void *), void *arg, bool *found)
{
	sqlite3_stmt	*stmt;

	if ((stmt = prep(st, CAMP_COLS " WHERE id = ?1")) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
	return camp_rows(st, stmt, cb, arg, found);
}

/*
 * an_cstore_sources -- call cb for the top <limit> (0: all) sources of
 * campaign <id>, most messages first. Returns 0, cb's non-zero return,
 * or -1 (logged).
 */
int
an_cstore_sources(struct an_cstore *st, const char *id, int limit,
    int (*cb)(const struct an_camp_source *, void *), void *arg)
{
	struct an_camp_source s;
	sqlite3_stmt	*stmt;
	int		 rc, cbrc = 0;

	if ((stmt = prep(st, "SELECT addr, count, first, last FROM source"
	    " WHERE campaign = ?1 ORDER BY count DESC, addr LIMIT ?2")) ==
	    NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(stmt, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		s.addr = col(stmt, 0);
		s.count = sqlite3_column_int64(stmt, 1);
		s.first = sqlite3_column_int64(stmt, 2);
		s.last = sqlite3_column_int64(stmt, 3);
		if ((cbrc = cb(&s, arg)) != 0)
			break;
	}
	dbu_done(stmt);
	if (cbrc != 0)
		return cbrc;
	if (rc != SQLITE_DONE) {
		log_warnx("campaign: sources: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/*
 * an_cstore_id_valid -- true if <id> has the shape of a campaign id:
 * "c" and 11 to 30 lowercase hex digits.
 */
bool
an_cstore_id_valid(const char *id)
{
	size_t	 n;

	if (id == NULL || id[0] != 'c')
		return false;
	for (n = 1; id[n] != '\0'; n++)
		if (!isdigit((unsigned char)id[n]) &&
		    (id[n] < 'a' || id[n] > 'f'))
			return false;
	return n >= 12 && n < AN_CAMP_ID_MAX;
}
