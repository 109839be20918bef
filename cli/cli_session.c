/*
 * cli_session.c -- "relaytrap session list|show": every SMTP session the
 * trap recorded, including those that never sent a message (port scans,
 * AUTH guessing, VRFY harvesting, non-SMTP bytes), from sessions/.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "compat.h"
#include "queue.h"
#include "queue_index.h"
#include "xmalloc.h"

static const struct option session_list_opts[] = {
	{ "json", no_argument, NULL, CLI_O_JSON },
	{ "since", required_argument, NULL, CLI_O_SINCE },
	{ "ip", required_argument, NULL, CLI_O_IP },
	{ "no-message", no_argument, NULL, CLI_O_NOMSG },
	{ "limit", required_argument, NULL, CLI_O_LIMIT },
	{ "help", no_argument, NULL, CLI_O_HELP },
	{ NULL, 0, NULL, 0 }
};

struct session_opts {
	struct queue_index_session_filter f;
	bool		 json;
	const char	*id;
};

/* options anywhere; at most one operand (the id) */
static int
session_parse(int argc, char **argv, const struct option *opts,
    struct session_opts *so)
{
	struct queue_index_filter lf;
	const char *errstr;
	int	 ch, rc;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case CLI_O_JSON:
			so->json = true;
			break;
		case CLI_O_SINCE:
			memset(&lf, 0, sizeof(lf));
			if ((rc = cli_filter_opt(ch, optarg, &lf)) != 0)
				return rc;
			so->f.since_us = lf.since_us;
			break;
		case CLI_O_IP:
			so->f.ip = optarg;
			break;
		case CLI_O_NOMSG:
			so->f.no_message = true;
			break;
		case CLI_O_LIMIT:
			so->f.limit = strtonum(optarg, 1, 1000000000, &errstr);
			if (errstr != NULL)
				return cli_usage_error("--limit %s: %s",
				    optarg, errstr);
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
	if (optind < argc)
		so->id = argv[optind++];
	if (optind < argc)
		return cli_usage_error("unexpected argument \"%s\"",
		    argv[optind]);
	return CLI_OK;
}

static int
session_line(const struct queue_index_session *s, void *arg)
{
	const bool *json = arg;
	json_t	*o;

	if (*json) {
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
		    "id", s->id, "start", s->start, "end", s->end,
		    "client", s->client_addr, "helo", s->helo,
		    "messages", (json_int_t)s->messages,
		    "auth_attempts", (json_int_t)s->auth_attempts,
		    "commands", (json_int_t)s->commands, "close", s->close);
		cli_json_line(stdout, o);
		return ferror(stdout) ? 1 : 0;
	}
	printf("%s %-24s ", s->id, *s->start ? s->start : "-");
	cli_puts(stdout, *s->client_addr ? s->client_addr : "-");
	fputs(" helo=", stdout);
	cli_puts(stdout, *s->helo ? s->helo : "-");
	printf(" messages=%ld auth=%ld commands=%ld close=", s->messages,
	    s->auth_attempts, s->commands);
	cli_puts(stdout, *s->close ? s->close : "-");
	putchar('\n');
	return ferror(stdout) ? 1 : 0;
}

static int
session_list(struct cli *c, int argc, char **argv)
{
	struct session_opts so;
	int	 rc;

	memset(&so, 0, sizeof(so));
	if ((rc = session_parse(argc, argv, session_list_opts, &so)) !=
	    CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if (so.id != NULL)
		return cli_usage_error("session list: unexpected argument "
		    "\"%s\"", so.id);
	if ((rc = cli_open(c, true)) != CLI_OK)
		return rc;
	if (queue_index_sessions(c->ix, &so.f, session_line, &so.json) == -1)
		return cli_error("%s", queue_index_error(c->ix));
	return CLI_OK;
}

static int
session_show(struct cli *c, int argc, char **argv)
{
	struct session_opts so;
	struct timespec ts;
	json_t	*rec;
	char	 err[512], day[QUEUE_DAY_LEN + 1], abs[PATH_MAX], *path;
	int	 rc;

	memset(&so, 0, sizeof(so));
	if ((rc = session_parse(argc, argv, session_list_opts, &so)) !=
	    CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if ((rc = cli_check_id(so.id)) != CLI_OK)
		return rc;
	if ((rc = cli_open(c, true)) != CLI_OK)
		return rc;
	if ((rec = queue_session_load(c->q, so.id, err, sizeof(err))) ==
	    NULL) {
		if (errno == ENOENT)
			return cli_error("no session %s in %s; \"relaytrap "
			    "session list\" shows what is there", so.id,
			    c->spooldir);
		return cli_error("session %s: %s", so.id, err);
	}
	if (queue_id_time(so.id, &ts) == 0) {
		queue_day_of(&ts, day);
		if (realpath(c->spooldir, abs) == NULL)
			strlcpy(abs, c->spooldir, sizeof(abs));
		xasprintf(&path, "%s/sessions/%s/%s.json", abs, day, so.id);
		json_object_set_new(rec, "path", json_string(path));
		free(path);
	}
	if (so.json) {
		cli_json_line(stdout, rec);
		return CLI_OK;
	}
	cli_envelope_print(stdout, rec);
	cli_transcript_print(stdout, rec);
	json_decref(rec);
	return CLI_OK;
}

/*
 * cli_session -- run "session list|show ..." (argv[0] is "session").
 * Returns the exit code.
 */
int
cli_session(struct cli *c, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("session: missing subcommand");
	if (strcmp(argv[1], "list") == 0)
		return session_list(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return session_show(c, argc - 1, argv + 1);
	return cli_usage_error("session: unknown subcommand \"%s\"", argv[1]);
}
