/*
 * relaytrap.c -- the operator's tool: global options, configuration,
 * opening the spool and its index, and dispatch to "queue", "session",
 * "dropbox", "verdict" and "forward" (cli_forward.c).
 * Runs as the operator, outside the daemon; it trusts the configuration
 * file but not the spool's contents (they came from the network) and never
 * builds a path from an id that queue_id_valid() did not accept.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_analyze.h"
#include "cli_campaign.h"
#include "xmalloc.h"
#include "cli_forward.h"
#include "compat.h"
#include "conf.h"
#include "log.h"
#include "queue.h"
#include "queue_index.h"

#define CLI_CONF_DEFAULT	SYSCONFDIR "/relaytrap.conf"

/*
 * cli_usage -- the synopsis of every command, to fp.
 */
void
cli_usage(FILE *fp)
{
	fputs(
"usage: relaytrap [-h] [-c FILE] [-s SPOOLDIR] COMMAND ...\n"
"  queue list [--json] [--since WHEN] [--ip ADDR] [--from TEXT]\n"
"             [--rcpt TEXT] [--auth TEXT] [--state new|cur|corrupt]\n"
"             [--limit N] [--country CC] [--asn N] [--campaign ID]\n"
"             [--verdict relay_test|spam|tester]\n"
"  analyze --all | --retry | ID...\n"
"  stats [--json]                (the same as queue stats)\n"
"  queue show ID [--json]\n"
"  queue cat ID\n"
"  queue search [--json] TEXT\n"
"  queue stats [--json]\n"
"  queue export [--format mbox|eml|json] [--out DIR] [list filters]\n"
"  queue delete ID\n"
"  queue reindex\n"
"  queue release ID\n"
"  session list [--json] [--since WHEN] [--ip ADDR] [--no-message]\n"
"               [--limit N]\n"
"  session show ID [--json]\n"
"  dropbox list [--json]\n"
"  dropbox add|del ADDR\n"
"  verdict ID test|spam\n"
"  forward list [--json]\n"
"  campaigns [--json]\n"
"  campaign show ID [--json]\n"
"WHEN is 2026-11-26, 2026-11-26T09:00:00Z, or an age: 3d, 12h, 30m, 45s.\n"
"Exit status: 0 success, 1 not found or error, 2 usage error.\n", fp);
}

static const struct option simple_opts[] = {
	{ "json", no_argument, NULL, CLI_O_JSON },
	{ "help", no_argument, NULL, CLI_O_HELP },
	{ NULL, 0, NULL, 0 }
};

/*
 * cli_parse_simple -- parse a subcommand that takes only --json (when json
 * is not NULL) and --help: options may come before, between or after the
 * operands, up to max of which land in ops (*nops of them). Returns
 * CLI_OK, CLI_USAGE (printed), or -1 for --help (usage printed to stdout).
 */
int
cli_parse_simple(int argc, char **argv, bool *json, char **ops, int max,
    int *nops)
{
	int	 ch;

	*nops = 0;
	for (;;) {
		optind = 0;
		opterr = 0;
		while ((ch = getopt_long(argc, argv, "+:h", json != NULL ?
		    simple_opts : simple_opts + 1, NULL)) != -1) {
			switch (ch) {
			case CLI_O_JSON:
				*json = true;
				break;
			case 'h':
			case CLI_O_HELP:
				cli_usage(stdout);
				return -1;
			case ':':
				return cli_usage_error("%s: missing value",
				    argv[optind - 1]);
			default:
				return cli_usage_error("%s: unknown option",
				    argv[optind - 1]);
			}
		}
		argc -= optind;
		argv += optind;
		if (argc == 0)
			return CLI_OK;
		if (*nops == max)
			return cli_usage_error("unexpected argument \"%s\"",
			    argv[0]);
		ops[(*nops)++] = argv[0];
		/* argv[0] stays as getopt's "program name" slot */
	}
}

/*
 * cli_usage_error -- print "relaytrap: <why>" and the usage to stderr.
 * Returns CLI_USAGE.
 */
int
cli_usage_error(const char *fmt, ...)
{
	va_list	 ap;

	fputs("relaytrap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_usage(stderr);
	return CLI_USAGE;
}

/*
 * cli_error -- print "relaytrap: <what failed; what to do>" to stderr.
 * Returns CLI_ERR.
 */
int
cli_error(const char *fmt, ...)
{
	va_list	 ap;

	fputs("relaytrap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_ERR;
}

/*
 * cli_check_id -- CLI_OK if id is a queue id (16 lowercase hex digits),
 * else a usage error. Called before any path is built from id.
 */
int
cli_check_id(const char *id)
{
	if (id == NULL)
		return cli_usage_error("missing ID");
	if (!queue_id_valid(id))
		return cli_usage_error("invalid ID (want 16 lowercase hex "
		    "digits)");
	return CLI_OK;
}

/*
 * cli_parse_when -- "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" (UTC) or an age
 * "<N>d|h|m|s" to µs since the epoch. Returns 0 or -1.
 */
int
cli_parse_when(const char *s, int64_t *us)
{
	static const struct { char unit; long long sec; } units[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	struct tm tm;
	const char *p, *errstr;
	char	 num[32];
	size_t	 i, len = strlen(s);
	long long n;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%d", &tm)) != NULL && len == 10 &&
	    *p == '\0') {
		*us = (int64_t)timegm(&tm) * 1000000;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) != NULL &&
	    len == 20 && strcmp(p, "Z") == 0) {
		*us = (int64_t)timegm(&tm) * 1000000;
		return 0;
	}
	if (len < 2 || len >= sizeof(num) || !isdigit((unsigned char)s[0]))
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (s[len - 1] != units[i].unit)
			continue;
		memcpy(num, s, len - 1);
		num[len - 1] = '\0';
		n = strtonum(num, 0, 100LL * 365 * 86400 / units[i].sec,
		    &errstr);
		if (errstr != NULL)
			return -1;
		*us = ((int64_t)time(NULL) - n * units[i].sec) * 1000000;
		return 0;
	}
	return -1;
}

/*
 * cli_filter_opt -- apply list option ch (CLI_O_*) with arg to f.
 * Returns 0 applied, 1 not a filter option, or CLI_USAGE (message
 * printed) for a bad value.
 */
int
cli_filter_opt(int ch, const char *arg, struct queue_index_filter *f)
{
	const char *errstr;

	switch (ch) {
	case CLI_O_SINCE:
		if (cli_parse_when(arg, &f->since_us) == -1)
			return cli_usage_error("--since %s: want YYYY-MM-DD, "
			    "YYYY-MM-DDTHH:MM:SSZ or an age like 3d, 12h, 30m",
			    arg);
		return 0;
	case CLI_O_IP:
		f->ip = arg;
		return 0;
	case CLI_O_FROM:
		f->from = arg;
		return 0;
	case CLI_O_RCPT:
		f->rcpt = arg;
		return 0;
	case CLI_O_AUTH:
		f->auth = arg;
		return 0;
	case CLI_O_STATE:
		if (strcmp(arg, "new") == 0)
			f->states |= QUEUE_ST_NEW;
		else if (strcmp(arg, "cur") == 0)
			f->states |= QUEUE_ST_CUR;
		else if (strcmp(arg, "corrupt") == 0)
			f->states |= QUEUE_ST_CORRUPT;
		else
			return cli_usage_error("--state %s: want new, cur or "
			    "corrupt", arg);
		return 0;
	case CLI_O_LIMIT:
		f->limit = strtonum(arg, 1, 1000000000, &errstr);
		if (errstr != NULL)
			return cli_usage_error("--limit %s: %s", arg, errstr);
		return 0;
	case CLI_O_COUNTRY:
		if (strlen(arg) != 2)
			return cli_usage_error("--country %s: want a two-letter "
			    "ISO code", arg);
		f->country = arg;
		return 0;
	case CLI_O_ASN:
		f->asn = strtonum(strncasecmp(arg, "AS", 2) == 0 ? arg + 2 :
		    arg, 1, 4294967295LL, &errstr);
		if (errstr != NULL)
			return cli_usage_error("--asn %s: %s", arg, errstr);
		return 0;
	case CLI_O_CAMPAIGN:
		f->campaign = arg;
		return 0;
	case CLI_O_VERDICT:
		if (strcmp(arg, "relay_test") != 0 && strcmp(arg, "spam") != 0 &&
		    strcmp(arg, "tester") != 0)
			return cli_usage_error("--verdict %s: want relay_test, "
			    "spam or tester", arg);
		f->verdict = arg;
		return 0;
	default:
		return 1;
	}
}

/*
 * cli_open -- open the spool and its index; with sync, bring the index up
 * to date first, and warn on stderr about acknowledged messages that are
 * only in the commit journal (relaytrapd stopped before moving them into
 * new/). Returns CLI_OK or CLI_ERR (message printed).
 */
int
cli_open(struct cli *c, bool sync)
{
	char	 err[512], err2[512];
	size_t	 unmoved;

	if ((c->q = queue_open(c->spooldir, 0, err, sizeof(err))) == NULL)
		return cli_error("%s", err);
	if ((c->ix = queue_index_open(c->q, c->spooldir, err,
	    sizeof(err))) == NULL && sync && !queue_in_use(c->q)) {
		/*
		 * A reader on a full disk with no relaytrapd running (SQLite
		 * cannot make the index's -shm file) reads the file as it is;
		 * with one running, the file changes under it: not then.
		 */
		if ((c->ix = queue_index_open_ro(c->q, c->spooldir, err2,
		    sizeof(err2))) != NULL) {
			fprintf(stderr, "relaytrap: warning: %s; the index is "
			    "read-only, as relaytrapd last left it (free some "
			    "space for an up-to-date one)\n", err);
			sync = false;
		}
	}
	if (c->ix == NULL)
		return cli_error("%s; check permissions, or run \"relaytrap "
		    "queue reindex\" to recreate it", err);
	/*
	 * A sync that fails (disk full, the worker holding the lock for too
	 * long) leaves the index as it was: show that, and say so.
	 */
	if (sync && queue_index_sync(c->ix, NULL) == -1)
		fprintf(stderr, "relaytrap: warning: the index could not be "
		    "brought up to date (%s); results may miss the newest "
		    "entries\n", queue_index_error(c->ix));
	if (sync && queue_journal_unmoved(c->q, &unmoved) == 0 && unmoved > 0)
		fprintf(stderr, "relaytrap: warning: %zu acknowledged "
		    "message(s) are in %s/journal/ but not yet in the spool, "
		    "so not shown; relaytrapd moves them in when it starts\n",
		    unmoved, c->spooldir);
	return CLI_OK;
}

/*
 * cli_open_files -- cli_open() for commands that work on the files alone
 * (cat, delete): an index that cannot be opened (a full disk with no
 * room for SQLite's shared-memory file) is a warning, and c->ix NULL.
 */
int
cli_open_files(struct cli *c)
{
	char	 err[512];

	if ((c->q = queue_open(c->spooldir, 0, err, sizeof(err))) == NULL)
		return cli_error("%s", err);
	if ((c->ix = queue_index_open(c->q, c->spooldir, err,
	    sizeof(err))) == NULL)
		fprintf(stderr, "relaytrap: warning: %s; going on without the "
		    "index\n", err);
	return CLI_OK;
}

/*
 * cli_find -- look message id up in the spool (new, cur, corrupt).
 * Returns CLI_OK, or CLI_ERR with a message if it is not there.
 */
int
cli_find(struct cli *c, const char *id, struct queue_entry *e)
{
	if (queue_find(c->q, id, e) == 0)
		return CLI_OK;
	if (errno == ENOENT)
		return cli_error("no message %s in %s; \"relaytrap queue "
		    "list\" shows what is there", id, c->spooldir);
	return cli_error("cannot look up %s in %s: %s", id, c->spooldir,
	    strerror(errno));
}

/*
 * cli_entry_of -- the queue entry an index row names.
 */
void
cli_entry_of(const struct queue_index_msg *m, struct queue_entry *e)
{
	memset(e, 0, sizeof(*e));
	strlcpy(e->id, m->id, sizeof(e->id));
	strlcpy(e->day, m->day, sizeof(e->day));
	e->state = m->state;
}

static void
cli_close(struct cli *c)
{
	queue_index_close(c->ix);
	c->ix = NULL;
	if (c->q != NULL)
		queue_close(c->q);
	c->q = NULL;
}

int
main(int argc, char **argv)
{
	struct cli c;
	struct conf *conf = NULL;
	const char *conffile = NULL, *spool = NULL;
	int	 ch, rc;

	log_init(1, "relaytrap");
	memset(&c, 0, sizeof(c));
	while ((ch = getopt(argc, argv, "+c:hs:")) != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		case 's':
			spool = optarg;
			break;
		case 'h':
			cli_usage(stdout);
			return CLI_OK;
		default:
			cli_usage(stderr);
			return CLI_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return cli_usage_error("missing command");
	if (strcmp(argv[0], "queue") != 0 && strcmp(argv[0], "session") != 0 &&
	    strcmp(argv[0], "dropbox") != 0 && strcmp(argv[0], "verdict") != 0 &&
	    strcmp(argv[0], "forward") != 0 && strcmp(argv[0], "analyze") != 0 &&
	    strcmp(argv[0], "stats") != 0 &&
	    strcmp(argv[0], "campaigns") != 0 &&
	    strcmp(argv[0], "campaign") != 0)
		return cli_usage_error("unknown command \"%s\"", argv[0]);

	/* -s wins; the file is read only when it is needed or named */
	if (conffile == NULL && spool == NULL &&
	    access(CLI_CONF_DEFAULT, F_OK) == 0)
		conffile = CLI_CONF_DEFAULT;
	/*
	 * analyze runs the analyzers as the daemon does: with its
	 * configuration (databases, resolver), never the built-in defaults
	 */
	if (conffile == NULL && strcmp(argv[0], "analyze") == 0) {
		if (access(CLI_CONF_DEFAULT, F_OK) == -1)
			return cli_usage_error("analyze needs the daemon's "
			    "configuration (its GeoIP databases, resolver and "
			    "analyzers): give it with -c FILE");
		conffile = CLI_CONF_DEFAULT;
	}
	if (conffile != NULL || spool == NULL ||
	    strcmp(argv[0], "analyze") == 0) {
		if ((conf = conf_load(conffile, NULL, 0)) == NULL)
			return cli_error("configuration %s is invalid; fix it "
			    "or pass -s SPOOLDIR", conffile ? conffile :
			    "(defaults)");
	}
	c.spooldir = spool != NULL ? spool : conf->spool;
	if (conf != NULL && spool != NULL) {
		/* -s wins for everything that reads conf->spool too */
		free(conf->spool);
		conf->spool = xstrdup(spool);
	}
	c.conf = conf;

	if (strcmp(argv[0], "queue") == 0 && argc >= 2 &&
	    strcmp(argv[1], "release") == 0)
		rc = cli_queue_release(&c, argc - 1, argv + 1);
	else if (strcmp(argv[0], "queue") == 0)
		rc = cli_queue(&c, argc, argv);
	else if (strcmp(argv[0], "dropbox") == 0)
		rc = cli_dropbox(&c, argc, argv);
	else if (strcmp(argv[0], "verdict") == 0)
		rc = cli_verdict(&c, argc, argv);
	else if (strcmp(argv[0], "forward") == 0)
		rc = cli_forward(&c, argc, argv);
	else if (strcmp(argv[0], "analyze") == 0)
		rc = cli_analyze(&c, argc, argv);
	else if (strcmp(argv[0], "campaigns") == 0)
		rc = cli_campaigns(&c, argc, argv);
	else if (strcmp(argv[0], "campaign") == 0)
		rc = cli_campaign(&c, argc, argv);
	else if (strcmp(argv[0], "stats") == 0) {
		/* "relaytrap stats" is "relaytrap queue stats" */
		char	**av = xcalloc((size_t)argc + 2, sizeof(*av));
		int	 k;

		av[0] = "queue";
		for (k = 0; k < argc; k++)
			av[k + 1] = argv[k];
		rc = cli_queue(&c, argc + 1, av);
		free(av);
	}
	else
		rc = cli_session(&c, argc, argv);
	cli_close(&c);
	conf_free(conf);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (rc == CLI_OK)
			rc = cli_error("write to standard output: %s",
			    strerror(errno));
	}
	return rc;
}
