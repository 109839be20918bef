/*
 * cli_analyze.c -- `relaytrap analyze [--all | --retry | ID...]`: run the
 * analyzers again, in this process, over messages already in the spool,
 * rewrite
 * their analysis.json, move them from new/ to cur/ and update the index.
 * The relay-test classifier runs read-only here (no memory updated,
 * nothing forwarded): forwarding stays the daemon's decision.
 */
#include "config.h"


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "an_runner.h"
#include "an_state.h"
#include "cli.h"
#include "cli_analyze.h"
#include "queue.h"
#include "queue_index.h"
#include "xmalloc.h"

#define CLI_AN_BATCH	256	/* messages re-indexed per transaction */

struct cli_an {
	struct cli		*c;
	struct an_runner	*runner;
	struct an_state		*state;
	long			 done;
	long			 failed;
	struct queue_index_item	 batch[CLI_AN_BATCH]; /* analysed, with
						   their envelopes and
						   results, not re-indexed */
	size_t			 nids;
};

/*
 * The index keeps each message's results (country, ASN, campaign,
 * verdict); a re-analysis changes analysis.json inside the message's
 * directory, which a sync of the day bucket does not notice, so the
 * analysed messages are indexed again explicitly, from the envelopes and
 * results still in memory.
 */
static void
reindex_flush(struct cli_an *a)
{
	size_t	 i;

	an_state_flush(a->state);	/* the snapshot read since the last */
	an_runner_flush(a->runner);	/* the campaign store's batch */
	if (a->nids > 0 && queue_index_put(a->c->ix, a->batch, a->nids) ==
	    -1)
		fprintf(stderr, "relaytrap: warning: index: %s; run relaytrap "
		    "queue reindex\n", queue_index_error(a->c->ix));
	for (i = 0; i < a->nids; i++) {
		json_decref(a->batch[i].env);
		json_decref(a->batch[i].an);
	}
	a->nids = 0;
}

/*
 * The last analysis of e was incomplete: an analyzer failed temporarily
 * (DNS) or ran past analysis_timeout, or the whole analysis timed out or
 * crashed the worker. Not yet analysed (new/) counts too.
 */
static bool
incomplete(struct cli_an *a, const struct queue_entry *e)
{
	char		 err[256];
	json_t		*an, *st, *v;
	const char	*k, *sv;
	bool		 inc = false;

	if (e->state == QUEUE_ST_NEW)
		return true;
	if ((an = queue_file_json(a->c->q, e, "analysis.json", err,
	    sizeof(err))) == NULL)
		return true;
	st = json_object_get(json_object_get(an, "runner"), "status");
	if (json_is_string(st))
		inc = true;
	json_object_foreach(json_is_object(st) ? st : NULL, k, v)
		if ((sv = json_string_value(v)) != NULL &&
		    (strcmp(sv, "tempfail") == 0 ||
		    strcmp(sv, "timeout") == 0))
			inc = true;
	json_decref(an);
	return inc;
}

static int analyze_one(const struct queue_entry *, void *);

static int
retry_one(const struct queue_entry *e, void *arg)
{
	if (e->state == QUEUE_ST_CORRUPT || !incomplete(arg, e))
		return 0;
	return analyze_one(e, arg);
}

static int
analyze_one(const struct queue_entry *ce, void *arg)
{
	struct cli_an *a = arg;
	struct queue_entry e = *ce;
	char	 err[256], *msg, *js;
	size_t	 len;
	json_t	*env, *res;

	if (e.state == QUEUE_ST_CORRUPT)
		return 0;
	if ((env = queue_envelope_load(a->c->q, &e, err, sizeof(err))) ==
	    NULL || (msg = queue_read_file(a->c->q, &e, "message",
	    &len)) == NULL) {
		fprintf(stderr, "relaytrap: %s: %s\n", e.id, env ? "cannot "
		    "read the message" : err);
		json_decref(env);
		a->failed++;
		return 0;
	}
	/*
	 * The relaytest analyzer keeps the verdict the worker made (and
	 * forwarded on): its first-seen signals depend on when it ran, so a
	 * re-run would not give the same answer. Only a message never
	 * classified is classified here, and not recorded (a re-run must
	 * not count twice: an_runner_set_memory() below).
	 */
	res = an_runner_run(a->runner, &e, env, msg, len);
	free(msg);
	js = json_dumps(res, JSON_COMPACT);
	if (js == NULL || queue_write_file_flags(a->c->q, &e, "analysis.json",
	    js, strlen(js), QUEUE_W_NOSYNC) == -1) {
		fprintf(stderr, "relaytrap: %s: cannot write analysis.json: "
		    "%s\n", e.id, strerror(errno));
		a->failed++;
	} else {
		if (e.state == QUEUE_ST_NEW && queue_move_cur_flags(a->c->q,
		    &e, QUEUE_W_NOSYNC) == -1)
			fprintf(stderr, "relaytrap: %s: cannot move to cur/: "
			    "%s\n", e.id, strerror(errno));
		printf("%s analyzed\n", e.id);
		a->done++;
		a->batch[a->nids].e = e;
		a->batch[a->nids].env = env;
		a->batch[a->nids++].an = res;
		env = res = NULL;
		if (a->nids == CLI_AN_BATCH)
			reindex_flush(a);
	}
	free(js);
	json_decref(env);
	json_decref(res);
	return 0;
}

/*
 * cli_analyze -- argv: "analyze" [--all | --retry | ID...]. --retry takes
 * the messages whose last analysis was incomplete (incomplete()), for
 * after a DNS outage. Exit 0 when every named message was analyzed, 1 if
 * one failed, 2 on usage errors.
 */
int
cli_analyze(struct cli *c, int argc, char **argv)
{
	struct cli_an a;
	struct queue_entry e;
	const char *errstr = NULL;
	char	 err[512], *path;
	bool	 all = false, retry = false, running;
	int	 i, rc, states;

	if (argc < 2)
		return cli_usage_error("analyze: give --all, --retry or message "
		    "ids");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			all = true;
		else if (strcmp(argv[i], "--retry") == 0)
			retry = true;
		else if ((rc = cli_check_id(argv[i])) != CLI_OK)
			return rc;
	}
	if ((all || retry) && argc > 2)
		return cli_usage_error("analyze: --all, --retry or ids, one of "
		    "them");
	if (c->conf == NULL)
		return cli_error("analyze needs the configuration (-c FILE)");
	if ((rc = cli_open(c, false)) != CLI_OK)
		return rc;
	memset(&a, 0, sizeof(a));
	a.c = c;
	if ((a.runner = an_runner_new(c->conf, c->q, err, sizeof(err))) ==
	    NULL)
		return cli_error("%s", err);
	xasprintf(&path, "%s/state.sqlite", c->spooldir);
	if (access(path, F_OK) == 0)
		a.state = an_state_open(path, &errstr);
	/* reads only (in.update is false): one snapshot per batch */
	an_state_batch(a.state, AN_STATE_READER);
	an_runner_set_memory(a.runner, a.state, false);
	free(path);
	/*
	 * A running relaytrapd's worker owns new/: it analyses each message
	 * there and moves it to cur/. Analysing one beside it moved its
	 * directory under the worker (whose verdict and forwarding were
	 * then lost). Only cur/ is analysed again then.
	 */
	running = queue_in_use(c->q);
	states = running ? QUEUE_ST_CUR : QUEUE_ST_NEW | QUEUE_ST_CUR;
	if (running && (all || retry))
		fprintf(stderr, "relaytrap: relaytrapd is running: messages in "
		    "new/ are left to its worker\n");
	if (all)
		(void)queue_walk(c->q, states, analyze_one, &a);
	else if (retry)
		(void)queue_walk(c->q, states, retry_one, &a);
	else
		for (i = 1; i < argc; i++) {
			if (queue_find(c->q, argv[i], &e) == -1) {
				fprintf(stderr, "relaytrap: no message %s in "
				    "the spool\n", argv[i]);
				a.failed++;
				continue;
			}
			if (running && e.state == QUEUE_ST_NEW) {
				fprintf(stderr, "relaytrap: %s is in new/: "
				    "relaytrapd's worker analyses it; try "
				    "again once it is in cur/\n", argv[i]);
				a.failed++;
				continue;
			}
			(void)analyze_one(&e, &a);
		}
	if (queue_sync(c->q) == -1)
		fprintf(stderr, "relaytrap: warning: sync: %s\n",
		    strerror(errno));
	if (queue_index_sync(c->ix, NULL) == -1)
		fprintf(stderr, "relaytrap: warning: index: %s\n",
		    queue_index_error(c->ix));
	reindex_flush(&a);
	an_state_close(a.state);
	an_runner_free(a.runner);
	printf("%ld analyzed, %ld failed\n", a.done, a.failed);
	return a.failed > 0 ? CLI_ERR : CLI_OK;
}
