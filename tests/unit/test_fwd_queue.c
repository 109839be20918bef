/*
 * test_fwd_queue.c -- the forward queue: one row per (message,
 * recipient), due order, backoff 1, 2, 4 ... minutes up to the maximum,
 * expiry to FAILED at max_age (exact at the boundary), permanent and
 * delivered outcomes, persistence across a reopen, and listing.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"
#include "compat.h"
#include "reports/fwd_queue.h"
#include "reports/fwd_caps.h"

#define T0	((time_t)1795000000)

static char	 dir[64], db[128];

static struct fwd_queue *
open_q(const struct fwd_queue_conf *cf)
{
	struct fwd_queue	*q;
	char			 err[256];

	if ((q = fwd_queue_open(db, cf, err, sizeof(err))) == NULL)
		printf("# open: %s\n", err);
	return q;
}

static void
test_backoff(void)
{
	static const struct {
		int	 attempts;
		int64_t	 want;
	} cases[] = {
		{ 1, 60 }, { 2, 120 }, { 3, 240 }, { 4, 480 }, { 5, 960 },
		{ 6, 1920 }, { 7, 3600 }, { 8, 3600 }, { 60, 3600 },
	};
	struct fwd_queue_conf	 cf = { .backoff_base = 10,
				    .backoff_max = 100 };
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(fwd_queue_backoff(NULL, cases[i].attempts),
		    cases[i].want, "default backoff after %d",
		    cases[i].attempts);
	is_int(fwd_queue_backoff(&cf, 4), 80, "base 10: 80 after 4");
	is_int(fwd_queue_backoff(&cf, 5), 100, "max 100 after 5");
}

static int
count_cb(const struct fwd_item *it, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int
stop_cb(const struct fwd_item *it, void *arg)
{
	return 7;
}

static void
test_lifecycle(void)
{
	struct fwd_queue_conf	 cf = { .max_age = 3600 };
	struct fwd_queue	*q;
	struct fwd_item		 it[8], one;
	int			 n, i;

	if ((q = open_q(&cf)) == NULL) {
		ok(0, "open");
		return;
	}
	is_int(fwd_queue_enqueue(q, "0005f1c2a3b4c5d6", "a@example.com",
	    "probe@example.org", "203.0.113.9", T0), 0, "enqueue a");
	is_int(fwd_queue_enqueue(q, "0005f1c2a3b4c5d6", "b@example.com", "",
	    "203.0.113.9", T0 + 1), 0, "enqueue b (null sender)");
	is_int(fwd_queue_enqueue(q, "0005f1c2a3b4c5d6", "a@example.com",
	    "other@example.org", "203.0.113.10", T0 + 5), 1,
	    "same (message, rcpt) again: no second row");
	is_int(fwd_queue_enqueue(q, "", "a@example.com", "", "x", T0), -1,
	    "empty id refused");
	is_int(fwd_queue_due(q, T0 - 1, it, 8), 0, "nothing due before");
	is_int(fwd_queue_due(q, T0, it, 8), 1, "a due at its time");
	n = fwd_queue_due(q, T0 + 1, it, 8);
	is_int(n, 2, "both due");
	is_str(it[0].rcpt, "a@example.com", "oldest first");
	is_str(it[0].sender, "probe@example.org", "sender kept (not the "
	    "duplicate's)");
	is_str(it[0].client, "203.0.113.9", "client kept");
	is_str(it[1].sender, "", "null sender kept");
	is_int(fwd_queue_due(q, T0 + 1, it, 1), 1, "max respected");

	/* a: temporary failures back off 1, 2, 4 minutes */
	is_int(fwd_queue_result(q, "0005f1c2a3b4c5d6", "a@example.com",
	    FWD_TEMPFAIL, 450, "450 4.3.0 try later", T0 + 2), FWD_Q_PENDING,
	    "tempfail 1: pending");
	fwd_queue_get(q, "0005f1c2a3b4c5d6", "a@example.com", &one);
	is_int(one.next, T0 + 2 + 60, "next in 1 minute");
	is_int(one.attempts, 1, "1 attempt");
	is_int(one.last_code, 450, "code kept");
	is_str(one.last_reply, "450 4.3.0 try later", "reply kept");
	is_int(fwd_queue_due(q, T0 + 61, it, 8), 1,
	    "at +59s only b is due, not a");
	fwd_queue_result(q, "0005f1c2a3b4c5d6", "a@example.com", FWD_TEMPFAIL,
	    0, NULL, T0 + 62);
	fwd_queue_get(q, "0005f1c2a3b4c5d6", "a@example.com", &one);
	is_int(one.next, T0 + 62 + 120, "then 2 minutes");
	fwd_queue_result(q, "0005f1c2a3b4c5d6", "a@example.com", FWD_TEMPFAIL,
	    0, NULL, T0 + 182);
	fwd_queue_get(q, "0005f1c2a3b4c5d6", "a@example.com", &one);
	is_int(one.next, T0 + 182 + 240, "then 4 minutes");
	fwd_queue_close(q);

	/* restart: nothing lost */
	if ((q = open_q(&cf)) == NULL)
		return;
	is_int(fwd_queue_get(q, "0005f1c2a3b4c5d6", "a@example.com", &one),
	    0, "a after reopen");
	ok(one.state == FWD_Q_PENDING && one.attempts == 3 &&
	    one.next == T0 + 422, "a's schedule survived");
	/* expiry: a tempfail 1s before max_age keeps it, at max_age ends */
	is_int(fwd_queue_result(q, "0005f1c2a3b4c5d6", "a@example.com",
	    FWD_TEMPFAIL, 421, "421 busy", T0 + 3599), FWD_Q_PENDING,
	    "tempfail at age max_age-1: still pending");
	is_int(fwd_queue_result(q, "0005f1c2a3b4c5d6", "a@example.com",
	    FWD_TEMPFAIL, 421, "421 busy", T0 + 3600), FWD_Q_FAILED,
	    "tempfail at age max_age: failed");
	is_int(fwd_queue_result(q, "0005f1c2a3b4c5d6", "a@example.com",
	    FWD_DELIVERED, 250, "250 ok", T0 + 3601), -1,
	    "no result on a finished item");
	is_int(errno, ENOENT, "ENOENT");
	/* b: delivered */
	is_int(fwd_queue_result(q, "0005f1c2a3b4c5d6", "b@example.com",
	    FWD_DELIVERED, 250, "250 2.0.0 Ok", T0 + 3), FWD_Q_DELIVERED,
	    "b delivered");
	is_int(fwd_queue_due(q, T0 + 86400, it, 8), 0, "nothing due");
	/* c: permanent */
	fwd_queue_enqueue(q, "0005f1c2a3b4c5d7", "c@example.com", "s@x", "::1",
	    T0 + 10);
	is_int(fwd_queue_result(q, "0005f1c2a3b4c5d7", "c@example.com",
	    FWD_PERMFAIL, 550, "550 5.1.1 no such user", T0 + 11),
	    FWD_Q_FAILED, "5xx: failed at once");
	is_int(fwd_queue_result(q, "nope", "c@example.com", FWD_DELIVERED, 0,
	    NULL, T0), -1, "unknown item");
	fwd_queue_close(q);

	if ((q = open_q(&cf)) == NULL)
		return;
	fwd_queue_get(q, "0005f1c2a3b4c5d7", "c@example.com", &one);
	ok(one.state == FWD_Q_FAILED && one.last_code == 550 &&
	    strcmp(one.last_reply, "550 5.1.1 no such user") == 0,
	    "failure recorded and kept");
	is_str(fwd_qstate_name(one.state), "failed", "state name");
	n = 0;
	is_int(fwd_queue_walk(q, FWD_QF_ANY, count_cb, &n), 0, "walk all");
	is_int(n, 3, "3 items");
	n = 0;
	fwd_queue_walk(q, FWD_QF_FAILED, count_cb, &n);
	is_int(n, 2, "2 failed");
	n = 0;
	fwd_queue_walk(q, FWD_QF_DELIVERED, count_cb, &n);
	is_int(n, 1, "1 delivered");
	is_int(fwd_queue_walk(q, FWD_QF_ANY, stop_cb, NULL), 7,
	    "callback value stops the walk");
	/* hostile text is data, not SQL */
	is_int(fwd_queue_enqueue(q, "x'); DROP TABLE fwd_queue; --",
	    "a'b@example.com", "\"; --", "1.2.3.4", T0), 0, "quotes stored");
	i = fwd_queue_get(q, "x'); DROP TABLE fwd_queue; --",
	    "a'b@example.com", &one);
	ok(i == 0 && strcmp(one.sender, "\"; --") == 0, "quotes read back");
	fwd_queue_close(q);
}

/* queue and caps share one file, each with its own tables */
static void
test_shared_file(void)
{
	struct fwd_caps_conf	 cf;
	struct fwd_caps		*c;
	struct fwd_queue	*q;
	struct fwd_subject	 s = { .client = "192.0.2.1",
				    .rcpt = "a@example.com", .now = T0 };
	struct fwd_item		 it;
	char			 err[256];

	fwd_caps_conf_default(&cf);
	cf.per_day = 1;
	q = open_q(NULL);
	c = fwd_caps_open(db, &cf, err, sizeof(err));
	if (!ok(q != NULL && c != NULL, "caps and queue in one file"))
		return;
	is_str(fwd_caps_reserve(c, &s), NULL, "reserve");
	is_int(fwd_queue_enqueue(q, "0005f1c2a3b4c5e0", "a@example.com", "",
	    "192.0.2.1", T0), 0, "enqueue");
	is_str(fwd_caps_reserve(c, &s), "day", "day cap 1 holds");
	is_int(fwd_queue_get(q, "0005f1c2a3b4c5e0", "a@example.com", &it), 0,
	    "item there");
	fwd_caps_close(c);
	fwd_queue_close(q);
}

int
main(void)
{
	strlcpy(dir, "/tmp/test_fwd_queue.XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	snprintf(db, sizeof(db), "%s/forward.sqlite", dir);
	test_backoff();
	test_lifecycle();
	test_shared_file();
	tu_rm_tree(dir);
	return tap_done();
}
