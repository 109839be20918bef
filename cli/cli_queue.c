/*
 * cli_queue.c -- "relaytrap queue ...": list, show, cat, search, stats,
 * delete, reindex (export is in cli_export.c). Reads the spool through
 * queue.h and the index through queue_index.h; every read command syncs
 * the index first so that it answers with what is on disk now.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "compat.h"
#include "queue.h"
#include "queue_index.h"
#include "xmalloc.h"

#define CLI_SEARCH_CHUNK	65536

static const struct option list_opts[] = {
	{ "json", no_argument, NULL, CLI_O_JSON },
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

static const struct option json_opts[] = {
	{ "json", no_argument, NULL, CLI_O_JSON },
	{ "help", no_argument, NULL, CLI_O_HELP },
	{ NULL, 0, NULL, 0 }
};

/*
 * Parse argv (argv[0] is the subcommand) with opts: filters go to f (may
 * be NULL when opts has none), --json to *json. Leaves the operands in
 * argcp and argvp. Returns CLI_OK, or CLI_USAGE (printed); -1 for --help.
 */
static int
parse_opts(int *argcp, char ***argvp, const struct option *opts,
    struct queue_index_filter *f, bool *json)
{
	int	 ch, rc;

	optind = 0;		/* glibc: start over, permuting */
	opterr = 0;
	while ((ch = getopt_long(*argcp, *argvp, "+:h", opts, NULL)) != -1) {
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
			    (*argvp)[optind - 1]);
		case '?':
			return cli_usage_error("%s: unknown option",
			    (*argvp)[optind - 1]);
		default:
			if (f == NULL ||
			    (rc = cli_filter_opt(ch, optarg, f)) == 1)
				return cli_usage_error("unexpected option");
			if (rc != 0)
				return rc;
		}
	}
	*argcp -= optind;
	*argvp += optind;
	return CLI_OK;
}

/* options may also follow operands: "show ID --json" */
static int
parse_all(int argc, char **argv, const struct option *opts,
    struct queue_index_filter *f, bool *json, char **operands, int max,
    int *nops)
{
	int	 rc;

	*nops = 0;
	for (;;) {
		if ((rc = parse_opts(&argc, &argv, opts, f, json)) != CLI_OK)
			return rc == -1 ? -1 : rc;
		if (argc == 0)
			return CLI_OK;
		if (*nops == max)
			return cli_usage_error("unexpected argument \"%s\"",
			    argv[0]);
		operands[(*nops)++] = argv[0];
		/* keep argv[0] as the "program name" slot for getopt */
	}
}

struct list_ctx {
	bool	 json;
	long	 n;
};

static int
list_one(const struct queue_index_msg *m, void *arg)
{
	struct list_ctx *lc = arg;

	lc->n++;
	if (lc->json)
		cli_json_line(stdout, cli_msg_json(m));
	else
		cli_msg_line(stdout, m);
	return ferror(stdout) ? 1 : 0;
}

static int
queue_list_cmd(struct cli *c, int argc, char **argv)
{
	struct queue_index_filter f;
	struct list_ctx lc = { 0 };
	char	*ops[1];
	int	 nops, rc;

	memset(&f, 0, sizeof(f));
	if ((rc = parse_all(argc, argv, list_opts, &f, &lc.json, ops, 0,
	    &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if ((rc = cli_open(c, true)) != CLI_OK)
		return rc;
	if (queue_index_list(c->ix, &f, list_one, &lc) == -1)
		return cli_error("%s", queue_index_error(c->ix));
	return CLI_OK;
}

/* the absolute directory of an entry, for "path" */
static char *
entry_path(struct cli *c, const struct queue_entry *e)
{
	char	 rel[128], abs[PATH_MAX], *p;

	if (queue_entry_dir(e, rel, sizeof(rel)) == -1)
		return NULL;
	if (realpath(c->spooldir, abs) == NULL)
		strlcpy(abs, c->spooldir, sizeof(abs));
	xasprintf(&p, "%s/%s", abs, rel);
	return p;
}

static const char *
state_str(enum queue_state s)
{
	return s == QUEUE_ST_NEW ? "new" : s == QUEUE_ST_CUR ? "cur" :
	    "corrupt";
}

static int
print_subject(const struct queue_index_msg *m, void *arg)
{
	if (m->subject != NULL) {
		printf("%-11s ", "subject:");
		cli_puts(stdout, m->subject);
		putchar('\n');
	}
	return 0;
}

static int
queue_show_cmd(struct cli *c, int argc, char **argv)
{
	struct queue_entry e;
	json_t	*env, *rt;
	char	 err[512], *ops[1], *path;
	bool	 json = false;
	int	 nops, rc;

	if ((rc = parse_all(argc, argv, json_opts, NULL, &json, ops, 1,
	    &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if ((rc = cli_check_id(nops ? ops[0] : NULL)) != CLI_OK)
		return rc;
	if ((rc = cli_open(c, true)) != CLI_OK ||
	    (rc = cli_find(c, ops[0], &e)) != CLI_OK)
		return rc;
	if ((env = queue_envelope_load(c->q, &e, err, sizeof(err))) == NULL) {
		if (e.state != QUEUE_ST_CORRUPT)
			return cli_error("message %s: %s; \"relaytrap queue "
			    "reindex\" quarantines it", ops[0], err);
		/* a quarantined entry may have no usable envelope */
		env = json_pack("{s:s, s:s}", "id", e.id, "error", err);
	}
	json_object_set_new(env, "state", json_string(state_str(e.state)));
	/* later stages' results beside the message */
	if ((rt = queue_file_json(c->q, &e, "relaytest.json", err,
	    sizeof(err))) != NULL)
		json_object_set_new(env, "relaytest", rt);
	if ((rt = queue_file_json(c->q, &e, "forward.json", err,
	    sizeof(err))) != NULL)
		json_object_set_new(env, "forward", rt);
	if ((rt = queue_file_json(c->q, &e, "analysis.json", err,
	    sizeof(err))) != NULL)
		json_object_set_new(env, "analysis", rt);
	if ((path = entry_path(c, &e)) != NULL)
		json_object_set_new(env, "path", json_string(path));
	free(path);
	if (json) {
		cli_json_line(stdout, env);
		return CLI_OK;
	}
	cli_envelope_print(stdout, env);
	if (queue_index_get(c->ix, e.id, print_subject, NULL) == -1)
		return cli_error("%s", queue_index_error(c->ix));
	if (json_object_get(env, "error") != NULL)
		printf("%-11s %s\n", "error:", json_string_value(
		    json_object_get(env, "error")));
	if ((rt = json_object_get(env, "relaytest")) != NULL) {
		json_t	*r;
		size_t	 i;

		printf("%-11s %s (score %lld, threshold %lld)\n", "relaytest:",
		    json_string_value(json_object_get(rt, "verdict")),
		    (long long)json_integer_value(json_object_get(rt, "score")),
		    (long long)json_integer_value(json_object_get(rt,
		    "threshold")));
		json_array_foreach(json_object_get(rt, "reasons"), i, r) {
			printf("%-11s %+lld %s: ", "",
			    (long long)json_integer_value(json_object_get(r,
			    "weight")), json_string_value(json_object_get(r,
			    "name")));
			cli_puts(stdout, json_string_value(json_object_get(r,
			    "detail")));
			putchar('\n');
		}
	}
	if ((rt = json_object_get(env, "analysis")) != NULL)
		cli_analysis_print(stdout, rt);
	if ((rt = json_object_get(env, "forward")) != NULL) {
		json_t	*f;
		size_t	 i;

		json_array_foreach(rt, i, f) {
			const char *cap = json_string_value(json_object_get(f,
			    "cap"));
			const char *reply = json_string_value(json_object_get(f,
			    "reply"));

			printf("%-11s ", i == 0 ? "forward:" : "");
			cli_puts(stdout, json_string_value(json_object_get(f,
			    "rcpt")));
			printf(" %s", json_string_value(json_object_get(f,
			    "status")));
			if (cap != NULL)
				printf(" (cap %s)", cap);
			if (reply != NULL) {
				fputs(": ", stdout);
				cli_puts(stdout, reply);
			}
			putchar('\n');
		}
	}
	cli_transcript_print(stdout, env);
	json_decref(env);
	return CLI_OK;
}

static int
queue_cat_cmd(struct cli *c, int argc, char **argv)
{
	struct queue_entry e;
	char	*ops[1];
	bool	 json = false;
	int	 fd, nops, rc;

	if ((rc = parse_all(argc, argv, json_opts + 1, NULL, &json, ops, 1,
	    &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if ((rc = cli_check_id(nops ? ops[0] : NULL)) != CLI_OK)
		return rc;
	if ((rc = cli_open_files(c)) != CLI_OK ||
	    (rc = cli_find(c, ops[0], &e)) != CLI_OK)
		return rc;
	if ((fd = queue_open_file(c->q, &e, "message", O_RDONLY)) == -1)
		return cli_error("message %s: cannot open its message file: "
		    "%s", ops[0], strerror(errno));
	rc = cli_copy_fd(fd, stdout);
	close(fd);
	if (rc == -1)
		return cli_error("message %s: copy failed: %s", ops[0],
		    strerror(errno));
	return CLI_OK;
}

/* ASCII case-insensitive search of needle (lowercased, len nl) in p */
static bool
has_text(const char *p, size_t n, const char *needle, size_t nl)
{
	size_t	 i, j;

	if (nl == 0)
		return true;
	for (i = 0; i + nl <= n; i++) {
		for (j = 0; j < nl; j++)
			if (tolower((unsigned char)p[i + j]) !=
			    (unsigned char)needle[j])
				break;
		if (j == nl)
			return true;
	}
	return false;
}

static bool
json_has_text(json_t *j, const char *needle, size_t nl)
{
	const char *k;
	json_t	*v;
	size_t	 i;

	if (json_is_string(j))
		return has_text(json_string_value(j), json_string_length(j),
		    needle, nl);
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (json_has_text(v, needle, nl))
				return true;
	}
	if (json_is_object(j)) {
		json_object_foreach(j, k, v)
			if (json_has_text(v, needle, nl))
				return true;
	}
	return false;
}

/* streamed, with the last nl-1 bytes kept across reads */
static bool
file_has_text(int fd, const char *needle, size_t nl)
{
	char	*buf;
	size_t	 keep = 0;
	ssize_t	 r;
	bool	 hit = false;

	buf = xmalloc(CLI_SEARCH_CHUNK + nl);
	for (;;) {
		r = read(fd, buf + keep, CLI_SEARCH_CHUNK);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if ((hit = has_text(buf, keep + r, needle, nl)))
			break;
		if (keep + r >= nl - 1) {
			memmove(buf, buf + keep + r - (nl - 1), nl - 1);
			keep = nl - 1;
		} else
			keep += r;
	}
	free(buf);
	return hit;
}

struct search_ctx {
	struct cli	*c;
	char		*needle;
	size_t		 nl;
	bool		 json;
};

static int
search_one(const struct queue_index_msg *m, void *arg)
{
	struct search_ctx *sc = arg;
	struct queue_entry e;
	json_t	*env;
	char	 err[256];
	bool	 hit = false;
	int	 fd;

	cli_entry_of(m, &e);
	if ((env = queue_envelope_load(sc->c->q, &e, err, sizeof(err))) !=
	    NULL) {
		hit = json_has_text(env, sc->needle, sc->nl);
		json_decref(env);
	}
	if (!hit && m->subject != NULL)
		hit = has_text(m->subject, strlen(m->subject), sc->needle,
		    sc->nl);
	if (!hit && (fd = queue_open_file(sc->c->q, &e, "message",
	    O_RDONLY)) != -1) {
		hit = file_has_text(fd, sc->needle, sc->nl);
		close(fd);
	}
	if (!hit)
		return 0;
	if (sc->json)
		cli_json_line(stdout, cli_msg_json(m));
	else
		cli_msg_line(stdout, m);
	return ferror(stdout) ? 1 : 0;
}

static int
queue_search_cmd(struct cli *c, int argc, char **argv)
{
	struct search_ctx sc = { .c = c };
	char	*ops[1], *p;
	int	 nops, rc;

	if ((rc = parse_all(argc, argv, json_opts, NULL, &sc.json, ops, 1,
	    &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if (nops == 0 || *ops[0] == '\0')
		return cli_usage_error("search: missing TEXT");
	if ((rc = cli_open(c, true)) != CLI_OK)
		return rc;
	sc.needle = xstrdup(ops[0]);
	for (p = sc.needle; *p != '\0'; p++)
		*p = tolower((unsigned char)*p);
	sc.nl = strlen(sc.needle);
	rc = queue_index_list(c->ix, NULL, search_one, &sc);
	free(sc.needle);
	if (rc == -1)
		return cli_error("%s", queue_index_error(c->ix));
	return CLI_OK;
}

static int
queue_stats_cmd(struct cli *c, int argc, char **argv)
{
	json_t	*st;
	char	*ops[1];
	bool	 json = false;
	int	 nops, rc;

	if ((rc = parse_all(argc, argv, json_opts, NULL, &json, ops, 0,
	    &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if ((rc = cli_open(c, true)) != CLI_OK)
		return rc;
	if ((st = queue_index_stats(c->ix, CLI_TOP)) == NULL)
		return cli_error("%s", queue_index_error(c->ix));
	if (json)
		cli_json_line(stdout, st);
	else {
		cli_stats_print(stdout, st);
		json_decref(st);
	}
	return CLI_OK;
}

static int
queue_delete_cmd(struct cli *c, int argc, char **argv)
{
	struct queue_entry e;
	char	*ops[1];
	bool	 json = false;
	int	 nops, rc;

	if ((rc = parse_all(argc, argv, json_opts + 1, NULL, &json, ops, 1,
	    &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if ((rc = cli_check_id(nops ? ops[0] : NULL)) != CLI_OK)
		return rc;
	if ((rc = cli_open_files(c)) != CLI_OK ||
	    (rc = cli_find(c, ops[0], &e)) != CLI_OK)
		return rc;
	if (queue_delete(c->q, &e) == -1)
		return cli_error("cannot delete %s: %s; check permissions on "
		    "%s", ops[0], strerror(errno), c->spooldir);
	/* deleted: an index that cannot follow now does at its next sync */
	if (c->ix != NULL && queue_index_sync(c->ix, NULL) == -1)
		fprintf(stderr, "relaytrap: warning: deleted %s, but the index "
		    "could not follow (%s); it does at its next sync\n",
		    ops[0], queue_index_error(c->ix));
	printf("deleted %s\n", ops[0]);
	return CLI_OK;
}

struct walk_list {
	struct queue_entry	*v;
	size_t			 n;
};

static int
collect_entry(const struct queue_index_msg *m, void *arg)
{
	struct walk_list *wl = arg;

	wl->v = xreallocarray(wl->v, wl->n + 1, sizeof(*wl->v));
	cli_entry_of(m, &wl->v[wl->n++]);
	return 0;
}

/*
 * Move every new/cur entry that fails validation to corrupt/. The entries
 * come from the freshly rebuilt index, i.e. from the directories.
 */
static int
reindex_validate(struct cli *c, long *moved)
{
	struct queue_index_filter f = { .states = QUEUE_ST_NEW | QUEUE_ST_CUR };
	struct walk_list wl = { NULL, 0 };
	char	 err[512];
	size_t	 i;
	int	 rc = CLI_OK;

	*moved = 0;
	if (queue_index_list(c->ix, &f, collect_entry, &wl) == -1) {
		free(wl.v);
		return cli_error("%s", queue_index_error(c->ix));
	}
	for (i = 0; i < wl.n; i++) {
		struct queue_entry *e = &wl.v[i];

		if (queue_validate(c->q, e, err, sizeof(err)) == 0)
			continue;
		if (errno != EBADMSG) {
			rc = cli_error("%s: %s (not quarantined; retry)",
			    e->id, err);
			continue;
		}
		if (queue_quarantine(c->q, e, err) == -1) {
			rc = cli_error("%s: %s; cannot quarantine: %s", e->id,
			    err, strerror(errno));
			continue;
		}
		printf("quarantined %s: ", e->id);
		cli_puts(stdout, err);
		putchar('\n');
		(*moved)++;
	}
	free(wl.v);
	return rc;
}

/* derived data: a broken index file is removed and created again */
static int
reindex_open(struct cli *c)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char	 err[512], path[PATH_MAX];
	size_t	 i;

	if ((c->ix = queue_index_open(c->q, c->spooldir, err,
	    sizeof(err))) != NULL)
		return CLI_OK;
	fprintf(stderr, "relaytrap: %s; recreating the index\n", err);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (bsnprintf(path, sizeof(path), "%s/%s%s", c->spooldir,
		    QUEUE_INDEX_FILE, sfx[i]) && unlink(path) == -1 &&
		    errno != ENOENT)
			return cli_error("cannot remove %s: %s", path,
			    strerror(errno));
	if ((c->ix = queue_index_open(c->q, c->spooldir, err,
	    sizeof(err))) == NULL)
		return cli_error("%s; check permissions on %s", err,
		    c->spooldir);
	return CLI_OK;
}

static int
queue_reindex_cmd(struct cli *c, int argc, char **argv)
{
	json_t	*st, *s;
	char	 err[512], *ops[1];
	bool	 json = false;
	long	 moved;
	int	 nops, rc, vrc;

	if ((rc = parse_all(argc, argv, json_opts + 1, NULL, &json, ops, 0,
	    &nops)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if ((c->q = queue_open(c->spooldir, 0, err, sizeof(err))) == NULL)
		return cli_error("%s", err);
	if ((rc = reindex_open(c)) != CLI_OK)
		return rc;
	if (queue_index_rebuild(c->ix, NULL) == -1)
		return cli_error("%s", queue_index_error(c->ix));
	vrc = reindex_validate(c, &moved);
	if (moved > 0 && queue_index_sync(c->ix, NULL) == -1)
		return cli_error("%s", queue_index_error(c->ix));
	if ((st = queue_index_stats(c->ix, 0)) == NULL)
		return cli_error("%s", queue_index_error(c->ix));
	s = json_object_get(st, "states");
	printf("indexed %" JSON_INTEGER_FORMAT " messages (new %"
	    JSON_INTEGER_FORMAT ", cur %" JSON_INTEGER_FORMAT ", corrupt %"
	    JSON_INTEGER_FORMAT "), %" JSON_INTEGER_FORMAT " sessions; "
	    "quarantined %ld\n",
	    json_integer_value(json_object_get(st, "messages")),
	    json_integer_value(json_object_get(s, "new")),
	    json_integer_value(json_object_get(s, "cur")),
	    json_integer_value(json_object_get(s, "corrupt")),
	    json_integer_value(json_object_get(st, "sessions")), moved);
	json_decref(st);
	return vrc;
}

static const struct {
	const char	*name;
	int		(*fn)(struct cli *, int, char **);
} queue_cmds[] = {
	{ "list", queue_list_cmd },
	{ "show", queue_show_cmd },
	{ "cat", queue_cat_cmd },
	{ "search", queue_search_cmd },
	{ "stats", queue_stats_cmd },
	{ "export", cli_queue_export },
	{ "delete", queue_delete_cmd },
	{ "reindex", queue_reindex_cmd },
};

/*
 * cli_queue -- run "queue <subcommand> ..." (argv[0] is "queue").
 * Returns the exit code.
 */
int
cli_queue(struct cli *c, int argc, char **argv)
{
	size_t	 i;

	if (argc < 2)
		return cli_usage_error("queue: missing subcommand");
	for (i = 0; i < sizeof(queue_cmds) / sizeof(queue_cmds[0]); i++)
		if (strcmp(argv[1], queue_cmds[i].name) == 0)
			return queue_cmds[i].fn(c, argc - 1, argv + 1);
	return cli_usage_error("queue: unknown subcommand \"%s\"", argv[1]);
}
