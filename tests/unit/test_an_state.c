/*
 * test_an_state.c -- the classifier's SQLite store: sightings with a
 * window, read-only queries, drop-boxes (add, del, list, operator over
 * learned), cluster counts, persistence across close and reopen.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "an_state.h"
#include "tap.h"

static char tmpdir[] = "/tmp/rt-test-an-state-XXXXXX";

struct list_acc {
	char	 buf[512];
	int	 n;
};

static int
list_cb(const struct an_dropbox *d, void *arg)
{
	struct list_acc *acc = arg;
	size_t	 len = strlen(acc->buf);

	snprintf(acc->buf + len, sizeof(acc->buf) - len, "%s=%s/%lld;",
	    d->addr, an_state_dropbox_source_name(d->source),
	    (long long)d->hits);
	acc->n++;
	return 0;
}

static int
stop_cb(const struct an_dropbox *d, void *arg)
{
	(void)d;
	(void)arg;
	return 7;
}

/*
 * an_state_batch(): a writer's statements form one transaction that
 * another connection (the operator's CLI) sees only after the flush, and
 * that does not hold the write lock after it; a reader sees one snapshot.
 */
static void
batch_checks(const char *path)
{
	struct an_state	*w, *o;
	const char	*errstr;
	bool		 first, found;
	int64_t		 count;

	w = an_state_open(path, &errstr);
	o = an_state_open(path, &errstr);
	ok(w != NULL && o != NULL, "batch: two connections");
	if (w == NULL || o == NULL)
		return;
	an_state_batch(w, AN_STATE_WRITER);
	an_state_seen(w, "ip:198.51.100.1", 5000, 3600, true, &first, &count);
	an_state_seen(w, "ip:198.51.100.1", 5001, 3600, true, &first, &count);
	is_int(count, 2, "batch: the writer sees its own sightings");
	an_state_seen(o, "ip:198.51.100.1", 5002, 3600, false, &first,
	    &count);
	ok(first, "batch: another connection does not see them yet");
	an_state_flush(w);
	an_state_seen(o, "ip:198.51.100.1", 5002, 3600, false, &first,
	    &count);
	ok(!first && count == 3, "batch: it does after the flush (%lld)",
	    (long long)count);
	ok(an_state_dropbox_add(o, "op@example.org", AN_DB_OPERATOR, 5003) ==
	    0, "batch: and may write then");
	an_state_flush(w);
	ok(1, "batch: a second flush has nothing to do");

	/* a reader keeps its snapshot until it flushes */
	an_state_batch(o, AN_STATE_READER);
	an_state_dropbox_get(o, "late@example.org", false, &found, NULL);
	ok(!found, "batch: reader, not there");
	ok(an_state_dropbox_add(w, "late@example.org", AN_DB_OPERATOR, 5004)
	    == 0, "batch: a writer adds beside a reader");
	an_state_flush(w);
	an_state_dropbox_get(o, "late@example.org", false, &found, NULL);
	ok(!found, "batch: the reader's snapshot is kept");
	an_state_flush(o);
	an_state_dropbox_get(o, "late@example.org", false, &found, NULL);
	ok(found, "batch: seen after the reader's flush");

	/* closing commits what is pending */
	an_state_seen(w, "ip:198.51.100.2", 5005, 3600, true, &first, &count);
	an_state_close(w);
	an_state_flush(o);
	an_state_seen(o, "ip:198.51.100.2", 5006, 3600, false, &first,
	    &count);
	ok(!first, "batch: close commits");
	an_state_batch(o, AN_STATE_AUTOCOMMIT);
	an_state_close(o);
}

int
main(void)
{
	struct an_state	*st;
	struct list_acc	 acc;
	enum an_db_source src;
	const char	*errstr;
	char		 path[256], cmd[300];
	int64_t		 count;
	bool		 first, found;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/state.sqlite", tmpdir);

	ok(an_state_open("/nonexistent-dir/x/state.sqlite", &errstr) == NULL,
	    "open in a missing directory fails");
	ok(errstr != NULL, "errstr set");

	st = an_state_open(path, &errstr);
	ok(st != NULL, "open new store");

	/* sightings */
	is_int(an_state_seen(st, "ip:203.0.113.9", 1000, 3600, true, &first,
	    &count), 0, "seen 1");
	ok(first, "first sighting");
	is_int(count, 1, "count 1");
	an_state_seen(st, "ip:203.0.113.9", 1100, 3600, true, &first, &count);
	ok(!first, "second within window not first");
	is_int(count, 2, "count 2");
	an_state_seen(st, "ip:203.0.113.9", 1200, 3600, false, &first, &count);
	ok(!first, "read-only: not first");
	is_int(count, 3, "read-only: would be 3");
	an_state_seen(st, "ip:203.0.113.9", 1200, 3600, true, &first, &count);
	is_int(count, 3, "read-only recorded nothing");
	an_state_seen(st, "ip:203.0.113.9", 1200 + 3601, 3600, true, &first,
	    &count);
	ok(first, "after the window: first again");
	is_int(count, 1, "window restarts at 1");
	an_state_seen(st, "net:203.0.113.0/24", 1000, 3600, false, &first,
	    &count);
	ok(first, "other key independent");
	an_state_seen(st, "ip:x'); DROP TABLE seen;--", 1000, 3600, true,
	    &first, &count);
	ok(first, "hostile key stored as data");
	an_state_seen(st, "ip:203.0.113.9", 4801, 3600, false, &first, &count);
	ok(!first, "table survived the hostile key");

	/* drop-boxes */
	is_int(an_state_dropbox_add(st, "Drop@Example.COM", AN_DB_LEARNED,
	    1000), 0, "add learned");
	is_int(an_state_dropbox_get(st, "drop@example.com", true, &found,
	    &src), 0, "get");
	ok(found, "found, case-insensitive");
	is_int(src, AN_DB_LEARNED, "learned");
	an_state_dropbox_add(st, "drop@example.com", AN_DB_OPERATOR, 1001);
	an_state_dropbox_get(st, "drop@example.com", false, &found, &src);
	is_int(src, AN_DB_OPERATOR, "operator upgrades learned");
	an_state_dropbox_add(st, "drop@example.com", AN_DB_LEARNED, 1002);
	an_state_dropbox_get(st, "drop@example.com", false, &found, &src);
	is_int(src, AN_DB_OPERATOR, "learned never downgrades operator");
	an_state_dropbox_add(st, "a@freemail.example", AN_DB_OPERATOR, 1003);
	an_state_dropbox_get(st, "nobody@example.com", false, &found, &src);
	ok(!found, "unknown not found");
	memset(&acc, 0, sizeof(acc));
	is_int(an_state_dropbox_list(st, list_cb, &acc), 0, "list");
	is_int(acc.n, 2, "two drop-boxes");
	is_str(acc.buf, "a@freemail.example=operator/0;"
	    "Drop@Example.COM=operator/1;", "list content, hits counted");
	is_int(an_state_dropbox_list(st, stop_cb, NULL), 7, "callback stops");
	is_int(an_state_dropbox_del(st, "a@FREEMAIL.example"), 1, "del");
	is_int(an_state_dropbox_del(st, "a@freemail.example"), 0, "del again");

	/* clusters */
	an_state_cluster_bump(st, "sha256:aa", 1000, 86400, true, &count);
	is_int(count, 1, "cluster 1");
	an_state_cluster_bump(st, "sha256:aa", 1001, 86400, true, &count);
	is_int(count, 2, "cluster 2");
	an_state_cluster_bump(st, "sha256:aa", 1002, 86400, false, &count);
	is_int(count, 3, "cluster read-only 3");
	an_state_cluster_bump(st, "sha256:bb", 1002, 86400, true, &count);
	is_int(count, 1, "other cluster 1");
	an_state_close(st);
	an_state_close(NULL);

	/* persistence */
	st = an_state_open(path, &errstr);
	ok(st != NULL, "reopen");
	an_state_cluster_bump(st, "sha256:aa", 1003, 86400, true, &count);
	is_int(count, 3, "cluster count persisted");
	an_state_dropbox_get(st, "drop@example.com", false, &found, &src);
	ok(found && src == AN_DB_OPERATOR, "drop-box persisted");
	an_state_seen(st, "ip:203.0.113.9", 4900, 3600, true, &first, &count);
	ok(!first, "sighting persisted");
	is_int(count, 2, "sighting count persisted");
	an_state_close(st);

	batch_checks(path);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# cleanup failed\n");
	return tap_done();
}
