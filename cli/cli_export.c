/*
 * cli_export.c -- "relaytrap queue export": the messages a list filter
 * selects as an mbox (mboxrd: "From " separator lines, and every line
 * matching ^>*From  gets one more '>', so the export is reversible), as
 * one <id>.eml file each, or as JSON lines of their envelopes. Message
 * bytes are copied as stored (CRLF kept); nothing is decoded.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "compat.h"
#include "queue.h"
#include "queue_index.h"
#include "xmalloc.h"

enum export_fmt { EXPORT_MBOX, EXPORT_EML, EXPORT_JSON };

struct export_ctx {
	struct cli	*c;
	enum export_fmt	 fmt;
	const char	*dir;
	FILE		*out;
	long		 n;
	int		 rc;
};

static const struct option export_opts[] = {
	{ "format", required_argument, NULL, CLI_O_FORMAT },
	{ "out", required_argument, NULL, CLI_O_OUT },
	{ "since", required_argument, NULL, CLI_O_SINCE },
	{ "ip", required_argument, NULL, CLI_O_IP },
	{ "from", required_argument, NULL, CLI_O_FROM },
	{ "rcpt", required_argument, NULL, CLI_O_RCPT },
	{ "auth", required_argument, NULL, CLI_O_AUTH },
	{ "state", required_argument, NULL, CLI_O_STATE },
	{ "limit", required_argument, NULL, CLI_O_LIMIT },
	{ "country", required_argument, NULL, CLI_O_COUNTRY },
	{ "asn", required_argument, NULL, CLI_O_ASN },
	{ "campaign", required_argument, NULL, CLI_O_CAMPAIGN },
	{ "verdict", required_argument, NULL, CLI_O_VERDICT },
	{ "help", no_argument, NULL, CLI_O_HELP },
	{ NULL, 0, NULL, 0 }
};

/* the mbox separator's sender: the address if it is one word */
static const char *
mbox_sender(const char *from)
{
	const char *p;

	if (from == NULL || *from == '\0' || strlen(from) > 256)
		return "MAILER-DAEMON";
	for (p = from; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "MAILER-DAEMON";
	return from;
}

/* copy fd to out as one mboxrd message body */
static int
mbox_body(int fd, FILE *out)
{
	FILE	*in;
	char	*line = NULL;
	size_t	 size = 0;
	ssize_t	 n, i;
	int	 last = '\n', dup;

	if ((dup = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return -1;
	if ((in = fdopen(dup, "r")) == NULL) {
		close(dup);
		return -1;
	}
	while ((n = getline(&line, &size, in)) > 0) {
		for (i = 0; i < n && line[i] == '>'; i++)
			;
		if (n - i >= 5 && memcmp(line + i, "From ", 5) == 0)
			fputc('>', out);
		fwrite(line, 1, n, out);
		last = line[n - 1];
	}
	free(line);
	n = ferror(in) ? -1 : 0;
	fclose(in);
	if (last != '\n')
		fputc('\n', out);
	fputc('\n', out);		/* the blank line before the next From */
	return n == -1 || ferror(out) ? -1 : 0;
}

static int
write_eml(struct export_ctx *x, int fd, const char *id)
{
	char	 path[4096];
	FILE	*out;
	int	 ofd, rc;

	if (!bsnprintf(path, sizeof(path), "%s/%s.eml", x->dir, id)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((ofd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1)
		return -1;
	if ((out = fdopen(ofd, "w")) == NULL) {
		close(ofd);
		return -1;
	}
	rc = cli_copy_fd(fd, out);
	if (fclose(out) == EOF)
		rc = -1;
	return rc;
}

static int
export_one(const struct queue_index_msg *m, void *arg)
{
	struct export_ctx *x = arg;
	struct queue_entry e;
	struct tm tm;
	json_t	*env;
	time_t	 t;
	char	 date[64], err[256];
	int	 fd, rc;

	cli_entry_of(m, &e);
	if (x->fmt == EXPORT_JSON) {
		if ((env = queue_envelope_load(x->c->q, &e, err,
		    sizeof(err))) == NULL)
			env = json_pack("{s:s, s:s}", "id", m->id, "error", err);
		json_object_set_new(env, "state", json_string(
		    m->state == QUEUE_ST_NEW ? "new" :
		    m->state == QUEUE_ST_CUR ? "cur" : "corrupt"));
		cli_json_line(x->out, env);
		x->n++;
		return ferror(x->out) ? 1 : 0;
	}
	if ((fd = queue_open_file(x->c->q, &e, "message", O_RDONLY)) == -1) {
		/* vanished since the sync (deleted, retired): skip it */
		x->rc = cli_error("%s: cannot open message: %s", m->id,
		    strerror(errno));
		return 0;
	}
	if (x->fmt == EXPORT_EML) {
		rc = write_eml(x, fd, m->id);
		close(fd);
		if (rc == -1) {
			cli_error("%s/%s.eml: %s", x->dir, m->id,
			    strerror(errno));
			return 1;
		}
		x->n++;
		return 0;
	}
	t = m->received_us / 1000000;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		strlcpy(date, "Thu Jan  1 00:00:00 1970", sizeof(date));
	fprintf(x->out, "From %s %s\n", mbox_sender(m->mail_from), date);
	rc = mbox_body(fd, x->out);
	close(fd);
	if (rc == -1) {
		cli_error("%s: export failed: %s", m->id, strerror(errno));
		return 1;
	}
	x->n++;
	return 0;
}

/*
 * cli_queue_export -- "queue export [--format mbox|eml|json] [--out DIR]
 * [list filters]". mbox and json go to stdout, or to DIR/relaytrap.mbox
 * and DIR/relaytrap.jsonl with --out; eml needs --out. Returns the exit
 * code.
 */
int
cli_queue_export(struct cli *c, int argc, char **argv)
{
	struct queue_index_filter f;
	struct export_ctx x;
	char	 path[4096];
	int	 ch, rc;

	memset(&f, 0, sizeof(f));
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.out = stdout;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", export_opts, NULL)) !=
	    -1) {
		switch (ch) {
		case CLI_O_FORMAT:
			if (strcmp(optarg, "mbox") == 0)
				x.fmt = EXPORT_MBOX;
			else if (strcmp(optarg, "eml") == 0)
				x.fmt = EXPORT_EML;
			else if (strcmp(optarg, "json") == 0)
				x.fmt = EXPORT_JSON;
			else
				return cli_usage_error("--format %s: want "
				    "mbox, eml or json", optarg);
			break;
		case CLI_O_OUT:
			x.dir = optarg;
			break;
		case 'h':
		case CLI_O_HELP:
			cli_usage(stdout);
			return CLI_OK;
		case ':':
			return cli_usage_error("%s: missing value",
			    argv[optind - 1]);
		case '?':
			return cli_usage_error("%s: unknown option",
			    argv[optind - 1]);
		default:
			if ((rc = cli_filter_opt(ch, optarg, &f)) != 0)
				return rc == 1 ? cli_usage_error("unexpected "
				    "option") : rc;
		}
	}
	if (optind < argc)
		return cli_usage_error("export: unexpected argument \"%s\"",
		    argv[optind]);
	if (x.fmt == EXPORT_EML && x.dir == NULL)
		return cli_usage_error("export --format eml needs --out DIR");
	if ((rc = cli_open(c, true)) != CLI_OK)
		return rc;
	if (x.dir != NULL && mkdir(x.dir, 0755) == -1 && errno != EEXIST)
		return cli_error("cannot create %s: %s", x.dir,
		    strerror(errno));
	if (x.dir != NULL && x.fmt != EXPORT_EML) {
		if (!bsnprintf(path, sizeof(path), "%s/relaytrap.%s", x.dir,
		    x.fmt == EXPORT_MBOX ? "mbox" : "jsonl"))
			return cli_error("%s: path too long", x.dir);
		if ((x.out = fopen(path, "we")) == NULL)
			return cli_error("cannot write %s: %s", path,
			    strerror(errno));
	}
	rc = queue_index_list(c->ix, &f, export_one, &x);
	if (x.out != stdout && fclose(x.out) == EOF && rc == 0)
		rc = cli_error("write failed: %s", strerror(errno));
	if (rc == -1)
		return cli_error("%s", queue_index_error(c->ix));
	if (rc != 0)
		return CLI_ERR;
	if (x.dir != NULL)
		fprintf(stderr, "relaytrap: exported %ld messages to %s\n",
		    x.n, x.dir);
	return x.rc;
}
