/*
 * cli_forward.c -- the operator's control of the relay-test forwarder
 * (issue 3): "dropbox list|add|del", "verdict ID test|spam", "queue
 * release ID" and "forward list". Drop-boxes live in SPOOL/state.sqlite
 * (an_state.h), pending forwards in SPOOL/forward.sqlite (fwd_queue.h);
 * the running daemon's worker reads both. Runs as the operator. Ids are
 * checked before any path is built; addresses and replies stored in the
 * databases came from the network and are escaped before printing. The
 * read-only commands never create a database that is not there yet.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "an_state.h"
#include "cli.h"
#include "cli_forward.h"
#include "compat.h"
#include "jsonutil.h"
#include "queue.h"
#include "reports/fwd_queue.h"
#include "xmalloc.h"

#define CLI_STATE_DB	"state.sqlite"
#define CLI_FORWARD_DB	"forward.sqlite"

/* an address as the operator typed it: no controls or blanks, bounded */
static bool
addr_ok(const char *a)
{
	const unsigned char *p;

	if (*a == '\0' || strlen(a) >= FWD_ADDR_TEXT_MAX)
		return false;
	for (p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static char *
spool_file(struct cli *c, const char *name)
{
	char	*p;

	xasprintf(&p, "%s/%s", c->spooldir, name);
	return p;
}

/*
 * Run as root, the CLI would leave root-owned database files that the
 * daemon's unprivileged worker cannot write: give them to the owner of
 * the spool, as postsuper does.
 */
static void
own_like_spool(struct cli *c, const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	struct stat sb;
	char	*p;
	size_t	 i;

	if (geteuid() != 0 || stat(c->spooldir, &sb) == -1 || sb.st_uid == 0)
		return;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		xasprintf(&p, "%s%s", path, sfx[i]);
		if (chown(p, sb.st_uid, sb.st_gid) == -1 && errno != ENOENT)
			fprintf(stderr, "relaytrap: warning: chown %s: %s\n",
			    p, strerror(errno));
		free(p);
	}
}

/* the spool must exist (and be one) before a database is made in it */
static int
open_spool(struct cli *c)
{
	char	 err[512];

	if (c->q == NULL &&
	    (c->q = queue_open(c->spooldir, 0, err, sizeof(err))) == NULL)
		return cli_error("%s", err);
	return CLI_OK;
}

/* SPOOL/state.sqlite; with !create, *st = NULL when it does not exist */
static int
open_state(struct cli *c, bool create, struct an_state **st, char **path)
{
	const char *errstr;
	int	 rc;

	*st = NULL;
	if ((rc = open_spool(c)) != CLI_OK)
		return rc;
	*path = spool_file(c, CLI_STATE_DB);
	if (!create && access(*path, F_OK) == -1 && errno == ENOENT)
		return CLI_OK;
	if ((*st = an_state_open(*path, &errstr)) == NULL)
		return cli_error("%s: %s", *path, errstr);
	return CLI_OK;
}

/* ---- dropbox ---------------------------------------------------- */

static int
dropbox_one(const struct an_dropbox *d, void *arg)
{
	bool	*json = arg;
	char	 when[32];

	if (*json) {
		cli_json_line(stdout, json_pack("{s:o, s:s, s:I, s:I}",
		    "addr", jsu_str(d->addr),
		    "source", an_state_dropbox_source_name(d->source),
		    "added", (json_int_t)d->added,
		    "hits", (json_int_t)d->hits));
	} else {
		cli_fmt_time(d->added, when, sizeof(when));
		printf("%-8s %-20s %6lld ", an_state_dropbox_source_name(
		    d->source), when, (long long)d->hits);
		cli_puts(stdout, d->addr);
		putchar('\n');
	}
	return ferror(stdout) ? 1 : 0;
}

static int
dropbox_list(struct cli *c, int argc, char **argv)
{
	struct an_state *st;
	char	*ops[1], *path = NULL;
	bool	 json = false;
	int	 nops, rc;

	if ((rc = cli_parse_simple(argc, argv, &json, ops, 0, &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if ((rc = open_state(c, false, &st, &path)) != CLI_OK || st == NULL)
		goto out;
	if (an_state_dropbox_list(st, dropbox_one, &json) == -1)
		rc = cli_error("%s: cannot list the drop-boxes", path);
 out:
	an_state_close(st);
	free(path);
	return rc;
}

static int
dropbox_change(struct cli *c, int argc, char **argv, bool add)
{
	struct an_state *st = NULL;
	char	*ops[1], *path = NULL;
	int	 nops, rc, r;

	if ((rc = cli_parse_simple(argc, argv, NULL, ops, 1, &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if (nops == 0)
		return cli_usage_error("dropbox %s: missing ADDR", argv[0]);
	if (!addr_ok(ops[0]))
		return cli_usage_error("dropbox %s: invalid address (no "
		    "blanks or controls, under %d bytes)", argv[0],
		    FWD_ADDR_TEXT_MAX);
	if ((rc = open_state(c, add, &st, &path)) != CLI_OK)
		goto out;
	if (add) {
		if (an_state_dropbox_add(st, ops[0], AN_DB_OPERATOR,
		    time(NULL)) == -1)
			rc = cli_error("%s: cannot add %s", path, ops[0]);
		else
			printf("added drop-box %s\n", ops[0]);
		own_like_spool(c, path);
		goto out;
	}
	if (st == NULL || (r = an_state_dropbox_del(st, ops[0])) == 0)
		rc = cli_error("%s is not a drop-box; \"relaytrap dropbox "
		    "list\" shows them", ops[0]);
	else if (r == -1)
		rc = cli_error("%s: cannot delete %s", path, ops[0]);
	else
		printf("deleted drop-box %s\n", ops[0]);
 out:
	an_state_close(st);
	free(path);
	return rc;
}

/*
 * cli_dropbox -- run "dropbox list [--json] | add ADDR | del ADDR"
 * (argv[0] is "dropbox"): the drop-box list in SPOOL/state.sqlite. An
 * address added here is operator-marked (the worker never downgrades
 * it). Returns the exit code: del of an address that is not listed is 1.
 */
int
cli_dropbox(struct cli *c, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("dropbox: missing subcommand");
	if (strcmp(argv[1], "list") == 0)
		return dropbox_list(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "add") == 0)
		return dropbox_change(c, argc - 1, argv + 1, true);
	if (strcmp(argv[1], "del") == 0)
		return dropbox_change(c, argc - 1, argv + 1, false);
	return cli_usage_error("dropbox: unknown subcommand \"%s\"", argv[1]);
}

/* ---- verdict ---------------------------------------------------- */

/* the message (new or cur) and its envelope; CLI_OK or an exit code */
static int
load_message(struct cli *c, const char *id, struct queue_entry *e,
    json_t **env)
{
	char	 err[512];
	int	 rc;

	if ((rc = open_spool(c)) != CLI_OK || (rc = cli_find(c, id, e)) !=
	    CLI_OK)
		return rc;
	if (e->state == QUEUE_ST_CORRUPT)
		return cli_error("message %s is quarantined (corrupt); it "
		    "cannot be classified or forwarded", id);
	if ((*env = queue_envelope_load(c->q, e, err, sizeof(err))) == NULL)
		return cli_error("message %s: %s", id, err);
	return CLI_OK;
}

/* relaytest.json with the operator's verdict; the old one kept */
static json_t *
verdict_correct(json_t *old, const char *kind, time_t now)
{
	json_t	*rt, *reasons, *r, *prev;
	size_t	 i;

	rt = old != NULL ? json_deep_copy(old) : NULL;
	if (rt == NULL) {
		rt = json_pack("{s:i, s:i, s:i, s:I, s:n}", "version", 1,
		    "score", 0, "threshold", 0, "classified", (json_int_t)now,
		    "cluster");
	}
	prev = json_object_get(rt, "verdict");
	json_object_set_new(rt, "previous", json_is_string(prev) ?
	    json_string(json_string_value(prev)) : json_null());
	json_object_set_new(rt, "verdict", json_string(kind));
	json_object_set_new(rt, "corrected", json_integer(now));
	/* one operator reason: a second correction replaces the first */
	reasons = json_array();
	json_array_foreach(json_object_get(rt, "reasons"), i, r) {
		if (!json_is_object(r) || !json_is_string(json_object_get(r,
		    "name")) || strcmp(json_string_value(json_object_get(r,
		    "name")), "operator") != 0)
			json_array_append(reasons, r);
	}
	json_array_append_new(reasons, json_pack("{s:s, s:i, s:s}",
	    "name", "operator", "weight", 0,
	    "detail", "set by relaytrap verdict"));
	json_object_set_new(rt, "reasons", reasons);
	return rt;
}

/* teach the drop-box list every recipient (test), or unteach it (spam) */
static int
verdict_teach(struct cli *c, const char *id, json_t *env, bool test)
{
	struct an_state *st;
	enum an_db_source src;
	const char *rcpt;
	json_t	*r;
	char	*path = NULL;
	size_t	 i;
	bool	 found;
	int	 rc;

	if ((rc = open_state(c, test, &st, &path)) != CLI_OK || st == NULL)
		goto out;
	json_array_foreach(json_object_get(env, "rcpt"), i, r) {
		rcpt = json_string_value(json_object_get(r, "addr"));
		if (rcpt == NULL || *rcpt == '\0')
			continue;
		if (test) {
			if (an_state_dropbox_add(st, rcpt, AN_DB_OPERATOR,
			    time(NULL)) == -1) {
				rc = cli_error("%s: cannot add drop-box",
				    path);
				break;
			}
			printf("%s: drop-box ", id);
			cli_puts(stdout, rcpt);
			printf(" added (operator)\n");
			continue;
		}
		if (an_state_dropbox_get(st, rcpt, false, &found, &src) ==
		    -1) {
			rc = cli_error("%s: cannot look up drop-box", path);
			break;
		}
		if (!found)
			continue;
		printf("%s: drop-box ", id);
		cli_puts(stdout, rcpt);
		if (src != AN_DB_LEARNED) {
			printf(" kept (operator-marked; \"relaytrap dropbox "
			    "del\" removes it)\n");
			continue;
		}
		if (an_state_dropbox_del(st, rcpt) == -1) {
			putchar('\n');
			rc = cli_error("%s: cannot delete drop-box", path);
			break;
		}
		printf(" removed (was learned)\n");
	}
	if (test)
		own_like_spool(c, path);
 out:
	an_state_close(st);
	free(path);
	return rc;
}

/*
 * cli_verdict -- run "verdict ID test|spam" (argv[0] is "verdict"):
 * rewrite relaytest.json beside message ID with "verdict" set to
 * "relay_test" or "spam", the old verdict under "previous" (null when the
 * message was not classified yet), "corrected" (unix seconds) and one
 * reason {"name":"operator","weight":0,...}. Then teach the drop-box
 * list: test marks every envelope recipient as an operator drop-box;
 * spam removes those recipients' learned drop-boxes (operator marks
 * stay). Nothing is forwarded. Returns the exit code.
 */
int
cli_verdict(struct cli *c, int argc, char **argv)
{
	struct queue_entry e;
	json_t	*env = NULL, *old, *rt = NULL;
	const char *kind;
	char	 err[512], *ops[2], *js = NULL;
	bool	 test;
	int	 nops, rc;

	if ((rc = cli_parse_simple(argc, argv, NULL, ops, 2, &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if ((rc = cli_check_id(nops ? ops[0] : NULL)) != CLI_OK)
		return rc;
	if (nops < 2)
		return cli_usage_error("verdict: missing test or spam");
	if (strcmp(ops[1], "test") == 0)
		test = true;
	else if (strcmp(ops[1], "spam") == 0)
		test = false;
	else
		return cli_usage_error("verdict: \"%s\": want test or spam",
		    ops[1]);
	kind = test ? "relay_test" : "spam";
	if ((rc = load_message(c, ops[0], &e, &env)) != CLI_OK)
		return rc;
	old = queue_file_json(c->q, &e, "relaytest.json", err, sizeof(err));
	rt = verdict_correct(old, kind, time(NULL));
	json_decref(old);
	if ((js = json_dumps(rt, JSON_COMPACT)) == NULL ||
	    queue_write_file(c->q, &e, "relaytest.json", js, strlen(js)) ==
	    -1) {
		rc = cli_error("message %s: cannot write relaytest.json: %s",
		    ops[0], js == NULL ? "out of memory" : strerror(errno));
		goto out;
	}
	printf("%s: verdict %s (was %s)\n", ops[0], kind,
	    json_is_string(json_object_get(rt, "previous")) ?
	    json_string_value(json_object_get(rt, "previous")) :
	    "unclassified");
	rc = verdict_teach(c, ops[0], env, test);
 out:
	free(js);
	json_decref(rt);
	json_decref(env);
	return rc;
}

/* ---- queue release ---------------------------------------------- */

#ifdef RT_FORWARDING
static int
release_queue(struct cli *c, const char *id, json_t *env)
{
	struct fwd_queue *fq;
	struct fwd_item it;
	const char *rcpt, *sender, *client;
	json_t	*r;
	char	 err[512], *path;
	size_t	 i;
	int	 rc = CLI_OK, r0, n = 0;

	sender = json_string_value(json_object_get(json_object_get(env,
	    "mail_from"), "addr"));
	client = json_string_value(json_object_get(json_object_get(env,
	    "client"), "addr"));
	path = spool_file(c, CLI_FORWARD_DB);
	if ((fq = fwd_queue_open(path, NULL, err, sizeof(err))) == NULL) {
		rc = cli_error("%s", err);
		goto out;
	}
	json_array_foreach(json_object_get(env, "rcpt"), i, r) {
		rcpt = json_string_value(json_object_get(r, "addr"));
		if (rcpt == NULL || *rcpt == '\0')
			continue;
		n++;
		r0 = fwd_queue_enqueue(fq, id, rcpt, sender ? sender : "",
		    client ? client : "", time(NULL));
		if (r0 == -1) {
			rc = cli_error("%s: cannot queue the forward to %s",
			    id, rcpt);
			break;
		}
		printf("%s: ", id);
		cli_puts(stdout, rcpt);
		if (r0 == 0)
			printf(" queued\n");
		else if (fwd_queue_get(fq, id, rcpt, &it) == 0)
			printf(" already in the forward queue (%s, %d "
			    "attempts)\n", fwd_qstate_name(it.state),
			    it.attempts);
		else
			printf(" already in the forward queue\n");
	}
	own_like_spool(c, path);
	if (rc == CLI_OK && n == 0)
		rc = cli_error("message %s has no recipient to forward to",
		    id);
 out:
	fwd_queue_close(fq);
	free(path);
	return rc;
}
#endif

/*
 * cli_queue_release -- run "queue release ID" (argv[0] is "release"):
 * forward message ID by hand, like sendmail's -qI. One pending forward
 * per envelope recipient goes into SPOOL/forward.sqlite (original sender
 * and client, due now); the running daemon's worker delivers it on its
 * next poll. The classifier, known testers and the per-subject caps are
 * bypassed; the circuit breaker is not (the worker checks it). A
 * recipient already in the queue is reported with its state and left as
 * it is. Without forwarding in the build, says so and returns CLI_ERR.
 */
int
cli_queue_release(struct cli *c, int argc, char **argv)
{
	char	*ops[1];
	int	 nops, rc;
#ifdef RT_FORWARDING
	struct queue_entry e;
	json_t	*env = NULL;
#endif

	if ((rc = cli_parse_simple(argc, argv, NULL, ops, 1, &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if ((rc = cli_check_id(nops ? ops[0] : NULL)) != CLI_OK)
		return rc;
#ifdef RT_FORWARDING
	if ((rc = load_message(c, ops[0], &e, &env)) != CLI_OK)
		return rc;
	rc = release_queue(c, ops[0], env);
	json_decref(env);
	return rc;
#else
	return cli_error("this relaytrap was built with --disable-forwarding;"
	    " it cannot release %s", ops[0]);
#endif
}

/* ---- forward list ----------------------------------------------- */

static int
forward_one(const struct fwd_item *it, void *arg)
{
	bool	*json = arg;
	char	 when[32];

	if (*json) {
		cli_json_line(stdout, json_pack("{s:s, s:o, s:o, s:o, s:s, "
		    "s:i, s:I, s:I, s:I, s:i, s:o}",
		    "id", it->msgid,
		    "rcpt", jsu_str(it->rcpt),
		    "sender", jsu_str(it->sender),
		    "client", jsu_str(it->client),
		    "state", fwd_qstate_name(it->state),
		    "attempts", it->attempts,
		    "first", (json_int_t)it->first,
		    "next_attempt", (json_int_t)it->next,
		    "updated", (json_int_t)it->updated,
		    "code", it->last_code,
		    "reply", jsu_str(it->last_reply)));
		return ferror(stdout) ? 1 : 0;
	}
	cli_fmt_time(it->state == FWD_Q_PENDING ? it->next : 0, when,
	    sizeof(when));
	printf("%s %-9s %3d %-20s ", it->msgid, fwd_qstate_name(it->state),
	    it->attempts, when);
	cli_puts(stdout, it->rcpt);
	if (it->last_code != 0 || it->last_reply[0] != '\0') {
		printf(" %d ", it->last_code);
		cli_puts(stdout, it->last_reply);
	}
	putchar('\n');
	return ferror(stdout) ? 1 : 0;
}

static int
forward_list(struct cli *c, int argc, char **argv)
{
	struct fwd_queue *fq = NULL;
	char	 err[512], *ops[1], *path = NULL;
	bool	 json = false;
	int	 nops, rc;

	if ((rc = cli_parse_simple(argc, argv, &json, ops, 0, &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if ((rc = open_spool(c)) != CLI_OK)
		return rc;
	path = spool_file(c, CLI_FORWARD_DB);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		goto out;		/* nothing was ever queued */
	if ((fq = fwd_queue_open(path, NULL, err, sizeof(err))) == NULL) {
		rc = cli_error("%s", err);
		goto out;
	}
	if (fwd_queue_walk(fq, FWD_QF_ANY, forward_one, &json) == -1)
		rc = cli_error("%s: cannot read the forward queue", path);
 out:
	fwd_queue_close(fq);
	free(path);
	return rc;
}

/*
 * cli_forward -- run "forward list [--json]" (argv[0] is "forward"): every
 * item of the forward queue, oldest first: message id, state (pending,
 * delivered, failed), attempts, next attempt (pending only), recipient,
 * last SMTP code and reply. Returns the exit code.
 */
int
cli_forward(struct cli *c, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("forward: missing subcommand");
	if (strcmp(argv[1], "list") == 0)
		return forward_list(c, argc - 1, argv + 1);
	return cli_usage_error("forward: unknown subcommand \"%s\"", argv[1]);
}
