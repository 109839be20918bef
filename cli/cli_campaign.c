/*
 * cli_campaign.c -- "campaigns [--json]" lists the campaigns in
 * SPOOL/campaigns.sqlite (an_campaign_store.h), the latest seen first;
 * "campaign show ID [--json]" shows one with its top sources. Runs as the
 * operator and only reads: a spool without the database has no
 * campaigns, and none is created. Subjects and addresses came from the
 * network and are printed through cli_puts() or as JSON strings. The
 * members of a campaign are listed by "queue list --campaign ID".
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "an_campaign_store.h"
#include "cli.h"
#include "cli_campaign.h"
#include "compat.h"
#include "jsonutil.h"
#include "xmalloc.h"

#define CLI_CAMP_TOP_LIST	3	/* sources per campaign in the list */
#define CLI_CAMP_TOP_SHOW	20	/* sources in "campaign show" */

struct camp_out {
	struct an_cstore *st;
	bool		  json;
	int		  top;
};

/* SPOOL/campaigns.sqlite, or *st = NULL if there is none yet */
static int
camp_open(struct cli *c, struct an_cstore **st)
{
	const char *errstr;
	char	*path;
	int	 rc = CLI_OK;

	*st = NULL;
	if (access(c->spooldir, F_OK) == -1)
		return cli_error("%s: %s", c->spooldir, strerror(errno));
	xasprintf(&path, "%s/%s", c->spooldir, AN_CAMP_DB);
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		free(path);
		return CLI_OK;
	}
	if ((*st = an_cstore_open(path, false, &errstr)) == NULL)
		rc = cli_error("%s: %s", path, errstr);
	free(path);
	return rc;
}

static int
source_json(const struct an_camp_source *s, void *arg)
{
	json_t	*arr = arg;

	json_array_append_new(arr, json_pack("{s:o, s:I, s:I, s:I}",
	    "addr", jsu_str(s->addr), "count", (json_int_t)s->count,
	    "first", (json_int_t)s->first, "last", (json_int_t)s->last));
	return 0;
}

static int
source_line(const struct an_camp_source *s, void *arg)
{
	char	 first[32], last[32];

	(void)arg;
	cli_fmt_time(s->first, first, sizeof(first));
	cli_fmt_time(s->last, last, sizeof(last));
	printf("  %8lld %-20s %-20s ", (long long)s->count, first, last);
	cli_puts(stdout, s->addr);
	putchar('\n');
	return 0;
}

static int
source_short(const struct an_camp_source *s, void *arg)
{
	int	*n = arg;

	printf("%s", (*n)++ > 0 ? "," : "");
	cli_puts(stdout, s->addr);
	return 0;
}

static int
camp_one(const struct an_camp *cp, void *arg)
{
	struct camp_out	*o = arg;
	json_t		*j, *src;
	char		 first[32], last[32];
	int		 n = 0;

	if (o->json) {
		src = json_array();
		if (an_cstore_sources(o->st, cp->id, o->top, source_json,
		    src) == -1) {
			json_decref(src);
			return -1;
		}
		j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}",
		    "id", cp->id, "count", (json_int_t)cp->count,
		    "first", (json_int_t)cp->first,
		    "last", (json_int_t)cp->last,
		    "sources", (json_int_t)cp->nsources,
		    "top_sources", src, "subject", jsu_str(cp->subject),
		    "exact", jsu_str(cp->exact), "fuzzy", jsu_str(cp->fuzzy));
		cli_json_line(stdout, j);
		return ferror(stdout) ? 1 : 0;
	}
	cli_fmt_time(cp->first, first, sizeof(first));
	cli_fmt_time(cp->last, last, sizeof(last));
	if (o->top == CLI_CAMP_TOP_SHOW) {
		printf("%-9s %s\n%-9s %lld\n%-9s %s\n%-9s %s\n%-9s %lld\n",
		    "campaign:", cp->id, "count:", (long long)cp->count,
		    "first:", first, "last:", last, "sources:",
		    (long long)cp->nsources);
		printf("%-9s ", "subject:");
		cli_puts(stdout, cp->subject);
		printf("\n%-9s %s\n%-9s ", "exact:", cp->exact, "fuzzy:");
		cli_puts(stdout, cp->fuzzy);
		printf("\ntop sources (messages, first, last, address):\n");
		if (an_cstore_sources(o->st, cp->id, o->top, source_line,
		    NULL) == -1)
			return -1;
		return ferror(stdout) ? 1 : 0;
	}
	printf("%-13s %7lld %-20s %-20s %5lld ", cp->id, (long long)cp->count,
	    first, last, (long long)cp->nsources);
	if (an_cstore_sources(o->st, cp->id, o->top, source_short, &n) == -1)
		return -1;
	if (n == 0)
		putchar('-');
	putchar(' ');
	cli_puts(stdout, cp->subject);
	putchar('\n');
	return ferror(stdout) ? 1 : 0;
}

/*
 * cli_campaigns -- run "campaigns [--json]" (argv[0] is "campaigns"):
 * one line per campaign, the latest seen first: id, messages, first and
 * last seen (UTC), distinct sources, the top sources and the sample
 * subject; with --json one object per line ({"id", "count", "first",
 * "last" (unix seconds), "sources", "top_sources": [{"addr", "count",
 * "first", "last"}], "subject", "exact", "fuzzy"}). Returns CLI_OK,
 * CLI_ERR or CLI_USAGE.
 */
int
cli_campaigns(struct cli *c, int argc, char **argv)
{
	struct camp_out	 o;
	char		*ops[1];
	int		 nops, rc;

	memset(&o, 0, sizeof(o));
	o.top = CLI_CAMP_TOP_LIST;
	if ((rc = cli_parse_simple(argc, argv, &o.json, ops, 0, &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if ((rc = camp_open(c, &o.st)) != CLI_OK || o.st == NULL)
		return rc;
	if (!o.json)
		printf("%-13s %7s %-20s %-20s %5s %s\n", "CAMPAIGN", "MSGS",
		    "FIRST", "LAST", "SRCS", "TOP SOURCES, SUBJECT");
	if (an_cstore_list(o.st, camp_one, &o) == -1)
		rc = cli_error("cannot list the campaigns");
	an_cstore_close(o.st);
	return rc;
}

/*
 * cli_campaign -- run "campaign show ID [--json]" (argv[0] is
 * "campaign"): one campaign with its top CLI_CAMP_TOP_SHOW sources; the
 * JSON object is that of "campaigns --json". Returns CLI_OK, CLI_ERR (no
 * such campaign) or CLI_USAGE.
 */
int
cli_campaign(struct cli *c, int argc, char **argv)
{
	struct camp_out	 o;
	char		*ops[2];
	bool		 found = false;
	int		 nops, rc;

	memset(&o, 0, sizeof(o));
	o.top = CLI_CAMP_TOP_SHOW;
	if ((rc = cli_parse_simple(argc, argv, &o.json, ops, 2, &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if (nops == 0 || strcmp(ops[0], "show") != 0)
		return cli_usage_error("campaign: want \"campaign show ID\"");
	if (nops < 2)
		return cli_usage_error("campaign show: missing ID");
	if (!an_cstore_id_valid(ops[1]))
		return cli_usage_error("campaign show: invalid ID (want c and "
		    "11 or more lowercase hex digits)");
	if ((rc = camp_open(c, &o.st)) != CLI_OK)
		return rc;
	if (o.st != NULL && an_cstore_get(o.st, ops[1], camp_one, &o,
	    &found) == -1)
		rc = cli_error("cannot read campaign %s", ops[1]);
	else if (!found)
		rc = cli_error("no campaign %s; \"relaytrap campaigns\" lists "
		    "them", ops[1]);
	an_cstore_close(o.st);
	return rc;
}
