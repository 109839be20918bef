/*
 * test_fwd_caps.c -- every cap is exact (N passes, N+1 is refused, the
 * refusal counts nothing), counters and the breaker survive a reopen,
 * windows roll over, and reservations are atomic across threads and
 * across processes sharing one database file.
 */
#include "config.h"

#include <sys/wait.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"
#include "compat.h"
#include "reports/fwd_caps.h"

#define T0	((time_t)1795000000)	/* a fixed instant, mid-hour */

static char	 dir[64], db[128];

static struct fwd_caps *
open_caps(const struct fwd_caps_conf *cf)
{
	struct fwd_caps	*c;
	char		 err[256];

	if ((c = fwd_caps_open(db, cf, err, sizeof(err))) == NULL)
		printf("# open: %s\n", err);
	return c;
}

static void
fresh_db(void)
{
	char	 p[160];

	unlink(db);
	snprintf(p, sizeof(p), "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db);
	unlink(p);
}

static const char *
reserve(struct fwd_caps *c, const char *client, uint32_t asn,
    const char *rcpt, time_t now)
{
	struct fwd_subject	 s = { .client = client, .asn = asn,
				    .rcpt = rcpt, .now = now };

	return fwd_caps_reserve(c, &s);
}

/*
 * One case per cap: N subjects that share the capped key but differ in
 * everything else pass, the N+1st is refused by that cap by name.
 */
struct cap_case {
	const char	*name;
	long		*field;
};

static void
vary(const char *cap, int i, char *client, size_t clen, uint32_t *asn,
    char *rcpt, size_t rlen)
{
	/* start from values unique to i, then pin the capped key */
	snprintf(client, clen, "10.%d.%d.1", i / 200 + 1, i % 200);
	*asn = 64500 + (uint32_t)i;
	snprintf(rcpt, rlen, "box%d@dom%d.example", i, i);
	if (strcmp(cap, "client") == 0)
		snprintf(client, clen, "192.0.2.7");
	else if (strcmp(cap, "net") == 0)
		snprintf(client, clen, "192.0.2.%d", i + 1);
	else if (strcmp(cap, "asn") == 0)
		*asn = 64496;
	else if (strcmp(cap, "domain") == 0)
		snprintf(rcpt, rlen, "box%d@Example.COM", i);
	else if (strcmp(cap, "dropbox") == 0)
		snprintf(rcpt, rlen, "%s", i % 2 ? "DropBox@example.com" :
		    "dropbox@EXAMPLE.com");
}

static void
test_exact(void)
{
	static const char *caps[] = { "hour", "day", "client", "net", "asn",
	    "domain", "dropbox" };
	static const long limits[] = { 0, 1, 3, 20 };
	struct fwd_caps_conf	 cf;
	struct fwd_caps		*c;
	char			 client[64], rcpt[128];
	uint32_t		 asn;
	const char		*why;
	size_t			 k, l;
	long			 i, *field;
	int			 pass;

	for (k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		for (l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
			fresh_db();
			fwd_caps_conf_default(&cf);
			field = strcmp(caps[k], "hour") == 0 ? &cf.per_hour :
			    strcmp(caps[k], "day") == 0 ? &cf.per_day :
			    strcmp(caps[k], "client") == 0 ? &cf.per_client :
			    strcmp(caps[k], "net") == 0 ? &cf.per_net :
			    strcmp(caps[k], "asn") == 0 ? &cf.per_asn :
			    strcmp(caps[k], "domain") == 0 ? &cf.per_domain :
			    &cf.per_dropbox;
			*field = limits[l];
			if ((c = open_caps(&cf)) == NULL) {
				ok(0, "open");
				return;
			}
			pass = 1;
			for (i = 0; i < limits[l]; i++) {
				vary(caps[k], (int)i, client, sizeof(client),
				    &asn, rcpt, sizeof(rcpt));
				if ((why = reserve(c, client, asn, rcpt,
				    T0 + i)) != NULL) {
					printf("# %s cap %ld: #%ld refused "
					    "by %s\n", caps[k], limits[l],
					    i + 1, why);
					pass = 0;
				}
			}
			ok(pass, "cap %s=%ld: %ld forwards pass", caps[k],
			    limits[l], limits[l]);
			vary(caps[k], (int)limits[l], client, sizeof(client),
			    &asn, rcpt, sizeof(rcpt));
			{
				struct fwd_subject s = { .client = client,
				    .asn = asn, .rcpt = rcpt,
				    .now = T0 + limits[l] };

				why = fwd_caps_check(c, &s);
				ok(why != NULL && strcmp(why, caps[k]) == 0,
				    "cap %s=%ld: check refuses #%ld by %s",
				    caps[k], limits[l], limits[l] + 1,
				    why ? why : "(allowed)");
				why = fwd_caps_reserve(c, &s);
				ok(why != NULL && strcmp(why, caps[k]) == 0,
				    "cap %s=%ld: reserve refuses #%ld by %s",
				    caps[k], limits[l], limits[l] + 1,
				    why ? why : "(allowed)");
				is_int(fwd_caps_count(c, caps[k], &s),
				    limits[l], "cap %s=%ld: refusal not "
				    "counted", caps[k], limits[l]);
			}
			fwd_caps_close(c);
		}
	}
}

static void
test_subjects(void)
{
	struct fwd_caps_conf	 cf;
	struct fwd_caps		*c;
	struct fwd_subject	 s = { .client = "2001:db8:1:2::5", .asn = 0,
				    .rcpt = "a@example.com", .now = T0 };

	fresh_db();
	fwd_caps_conf_default(&cf);
	cf.per_net = 2;
	cf.per_asn = 0;		/* no ASN: the ASN cap does not apply */
	cf.per_client = 1;
	if ((c = open_caps(&cf)) == NULL)
		return;
	is_str(fwd_caps_reserve(c, &s), NULL, "v6 #1 (no ASN)");
	s.client = "2001:db8:1:ffff::9";
	is_str(fwd_caps_reserve(c, &s), NULL, "v6 #2 same /48");
	s.client = "2001:db8:1:1234::1";
	is_str(fwd_caps_reserve(c, &s), "net", "v6 #3 same /48 refused");
	s.client = "2001:db8:2::1";
	is_str(fwd_caps_reserve(c, &s), NULL, "other /48 passes");
	s.client = "::ffff:192.0.2.1";
	is_str(fwd_caps_reserve(c, &s), NULL, "v4-mapped #1");
	s.client = "192.0.2.1";
	is_str(fwd_caps_reserve(c, &s), "client", "v4-mapped = same client");
	s.asn = 64496;
	s.client = "198.51.100.1";
	is_str(fwd_caps_reserve(c, &s), "asn", "known ASN with cap 0");
	s.asn = 0;
	s.client = "not-an-address";
	is_str(fwd_caps_reserve(c, &s), "subject", "bad client refused");
	s.client = "198.51.100.2";
	s.rcpt = "no-at-sign";
	is_str(fwd_caps_reserve(c, &s), "subject", "rcpt without domain");
	s.rcpt = "a@";
	is_str(fwd_caps_reserve(c, &s), "subject", "rcpt with empty domain");
	fwd_caps_close(c);
}

static void
test_windows_and_restart(void)
{
	struct fwd_caps_conf	 cf;
	struct fwd_caps		*c;
	time_t			 hour0 = T0 - T0 % 3600;
	int			 i;

	fresh_db();
	fwd_caps_conf_default(&cf);
	cf.per_hour = 2;
	cf.per_day = 3;
	if ((c = open_caps(&cf)) == NULL)
		return;
	is_str(reserve(c, "192.0.2.1", 0, "a@x.example", hour0 + 3599), NULL,
	    "hour 1 #1");
	fwd_caps_close(c);
	/* a restart resets nothing */
	if ((c = open_caps(&cf)) == NULL)
		return;
	is_str(reserve(c, "192.0.2.2", 0, "b@x.example", hour0 + 3599), NULL,
	    "hour 1 #2 after reopen");
	is_str(reserve(c, "192.0.2.3", 0, "c@x.example", hour0 + 3599),
	    "hour", "hour 1 #3 refused after reopen");
	is_str(reserve(c, "192.0.2.3", 0, "c@x.example", hour0 + 3600), NULL,
	    "next clock hour: allowed (day #3)");
	fwd_caps_close(c);
	if ((c = open_caps(&cf)) == NULL)
		return;
	i = (int)(86400 - (hour0 + 3600) % 86400);	/* to next UTC day */
	if ((hour0 + 3600) % 86400 != 0 && i > 3600) {
		is_str(reserve(c, "192.0.2.4", 0, "d@x.example",
		    hour0 + 7200), "day", "day #4 refused in a new hour");
	} else
		ok(1, "day boundary coincides (skip)");
	is_str(reserve(c, "192.0.2.4", 0, "d@x.example",
	    hour0 + 3600 + i), NULL, "next UTC day: allowed");
	fwd_caps_close(c);
}

static void
test_breaker(void)
{
	struct fwd_caps_conf	 cf;
	struct fwd_caps		*c;
	struct fwd_breaker	 b;
	int			 i;

	fresh_db();
	fwd_caps_conf_default(&cf);
	cf.breaker_run = 3;
	cf.breaker_reset = 600;
	if ((c = open_caps(&cf)) == NULL)
		return;
	/* two failures, a success: the run starts again */
	fwd_caps_record(c, FWD_PERMFAIL, T0);
	fwd_caps_record(c, FWD_PERMFAIL, T0);
	fwd_caps_record(c, FWD_DELIVERED, T0);
	fwd_caps_breaker(c, &b);
	is_int(b.run, 0, "success ends the run");
	for (i = 0; i < 2; i++) {
		fwd_caps_record(c, FWD_PERMFAIL, T0 + i);
		fwd_caps_record(c, FWD_TEMPFAIL, T0 + i);	/* neutral */
	}
	is_str(reserve(c, "192.0.2.1", 0, "a@x.example", T0 + 2), NULL,
	    "run of 2 (< 3): forwarding allowed");
	fwd_caps_close(c);
	if ((c = open_caps(&cf)) == NULL)
		return;
	fwd_caps_breaker(c, &b);
	is_int(b.run, 2, "run survives a restart");
	is_int(fwd_caps_record(c, FWD_PERMFAIL, T0 + 10), 0, "record");
	fwd_caps_breaker(c, &b);
	is_int(b.tripped, T0 + 10, "3rd consecutive 5xx trips");
	is_str(reserve(c, "192.0.2.2", 0, "b@x.example", T0 + 11), "breaker",
	    "tripped breaker stops forwarding");
	fwd_caps_close(c);
	if ((c = open_caps(&cf)) == NULL)
		return;
	is_str(reserve(c, "192.0.2.2", 0, "b@x.example", T0 + 609),
	    "breaker", "still tripped after restart, 1s before reset");
	is_str(reserve(c, "192.0.2.2", 0, "b@x.example", T0 + 610), NULL,
	    "closed again after breaker_reset seconds");
	fwd_caps_breaker(c, &b);
	ok(b.run == 0 && b.tripped == 0, "time reset clears the run");
	for (i = 0; i < 3; i++)
		fwd_caps_record(c, FWD_PERMFAIL, T0 + 700);
	is_str(reserve(c, "192.0.2.3", 0, "c@x.example", T0 + 701), "breaker",
	    "tripped again");
	is_int(fwd_caps_breaker_reset(c), 0, "operator reset");
	is_str(reserve(c, "192.0.2.3", 0, "c@x.example", T0 + 702), NULL,
	    "operator reset reopens");
	fwd_caps_close(c);

	/* breaker_reset 0: only the operator closes it */
	fresh_db();
	cf.breaker_reset = 0;
	cf.breaker_run = 1;
	if ((c = open_caps(&cf)) == NULL)
		return;
	fwd_caps_record(c, FWD_PERMFAIL, T0);
	is_str(reserve(c, "192.0.2.3", 0, "c@x.example", T0 + 86400 * 30),
	    "breaker", "no time reset configured: stays tripped");
	fwd_caps_close(c);
}

/* concurrency: many racers, one cap of N: exactly N pass */
#define RACERS	8
#define TRIES	10

struct racer {
	struct fwd_caps_conf	*cf;
	struct fwd_caps		*shared;	/* NULL: own connection */
	int			 id, passed, errors;
};

static void *
race(void *arg)
{
	struct racer	*r = arg;
	struct fwd_caps	*c;
	char		 rcpt[64];
	const char	*why;
	int		 i;

	if ((c = r->shared) == NULL && (c = open_caps(r->cf)) == NULL) {
		r->errors++;
		return NULL;
	}
	for (i = 0; i < TRIES; i++) {
		snprintf(rcpt, sizeof(rcpt), "r%d.%d@example.com", r->id, i);
		why = reserve(c, "192.0.2.9", 0, rcpt, T0);
		if (why == NULL)
			r->passed++;
		else if (strcmp(why, "client") != 0)
			r->errors++;
	}
	if (r->shared == NULL)
		fwd_caps_close(c);
	return NULL;
}

static void
test_concurrency(void)
{
	struct fwd_caps_conf	 cf;
	struct fwd_caps		*c;
	struct racer		 r[RACERS];
	pthread_t		 t[RACERS];
	struct fwd_subject	 s = { .client = "192.0.2.9",
				    .rcpt = "x@example.com", .now = T0 };
	pid_t			 pid[RACERS];
	int			 i, passed = 0, errors = 0, status;

	fwd_caps_conf_default(&cf);
	/* threads, each with its own connection; cap of 1 and of 7 */
	for (cf.per_client = 1; cf.per_client <= 7; cf.per_client += 6) {
		fresh_db();
		passed = errors = 0;
		for (i = 0; i < RACERS; i++) {
			r[i] = (struct racer){ .cf = &cf, .id = i };
			pthread_create(&t[i], NULL, race, &r[i]);
		}
		for (i = 0; i < RACERS; i++) {
			pthread_join(t[i], NULL);
			passed += r[i].passed;
			errors += r[i].errors;
		}
		is_int(passed, cf.per_client, "threads: exactly %ld of %d pass",
		    cf.per_client, RACERS * TRIES);
		is_int(errors, 0, "threads: refused only by the client cap");
	}
	/* one shared handle used by several threads */
	fresh_db();
	cf.per_client = 5;
	if ((c = open_caps(&cf)) != NULL) {
		passed = errors = 0;
		for (i = 0; i < RACERS; i++) {
			r[i] = (struct racer){ .cf = &cf, .shared = c,
			    .id = i };
			pthread_create(&t[i], NULL, race, &r[i]);
		}
		for (i = 0; i < RACERS; i++) {
			pthread_join(t[i], NULL);
			passed += r[i].passed;
			errors += r[i].errors;
		}
		is_int(passed, 5, "shared handle: exactly 5 pass");
		is_int(errors, 0, "shared handle: no errors");
		is_int(fwd_caps_count(c, "client", &s), 5, "counter says 5");
		fwd_caps_close(c);
	}
	/* processes */
	fresh_db();
	cf.per_client = 3;
	for (i = 0; i < RACERS; i++) {
		if ((pid[i] = fork()) == 0) {
			struct racer rr = { .cf = &cf, .id = i };

			race(&rr);
			fflush(stdout);
			_exit(rr.errors ? 255 : rr.passed);
		}
	}
	passed = errors = 0;
	for (i = 0; i < RACERS; i++) {
		waitpid(pid[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) == 255)
			errors++;
		else
			passed += WEXITSTATUS(status);
	}
	is_int(passed, 3, "processes: exactly 3 of %d pass", RACERS * TRIES);
	is_int(errors, 0, "processes: no errors");
	if ((c = open_caps(&cf)) != NULL) {
		is_int(fwd_caps_count(c, "client", &s), 3, "counter says 3");
		fwd_caps_close(c);
	}
}

int
main(void)
{
	strlcpy(dir, "/tmp/test_fwd_caps.XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	snprintf(db, sizeof(db), "%s/forward.sqlite", dir);
	test_exact();
	test_subjects();
	test_windows_and_restart();
	test_breaker();
	test_concurrency();
	tu_rm_tree(dir);
	return tap_done();
}
