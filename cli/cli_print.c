/*
 * cli_print.c -- how relaytrap(1) prints records: one JSON object per
 * line for scripts, aligned text for people. Every string printed for a
 * person passes cli_puts(), which escapes the C1 controls that survive
 * jsu_bytes() escaping as valid UTF-8 (U+0080..U+009F can drive a
 * terminal), so a hostile HELO cannot repaint the operator's screen.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "compat.h"

/*
 * cli_puts -- write s to fp with C0/C1 controls shown as \xNN or \u00NN.
 */
void
cli_puts(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fprintf(fp, "\\u00%02x", p[1]);
			p++;
		} else if (*p < 0x20 || *p == 0x7f)
			fprintf(fp, "\\x%02x", *p);
		else
			fputc(*p, fp);
	}
}

static json_t *
strarray(const char **v, size_t n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static const char *
state_str(enum queue_state s)
{
	return s == QUEUE_ST_NEW ? "new" : s == QUEUE_ST_CUR ? "cur" :
	    "corrupt";
}

/*
 * cli_msg_json -- the "queue list --json" object of an index row:
 * {"id","state","received","client","helo","from","rcpt":[..],"size",
 * "subject","auth":[users],"session"}. subject is null without a
 * Subject: header.
 */
json_t *
cli_msg_json(const struct queue_index_msg *m)
{
	json_t	*o = json_object();

	json_object_set_new(o, "id", json_string(m->id));
	json_object_set_new(o, "state", json_string(state_str(m->state)));
	json_object_set_new(o, "received", json_string(m->received));
	json_object_set_new(o, "client", json_string(m->client_addr));
	json_object_set_new(o, "helo", json_string(m->helo));
	json_object_set_new(o, "from", json_string(m->mail_from));
	json_object_set_new(o, "rcpt", strarray(m->rcpt, m->rcpt_count));
	json_object_set_new(o, "size", json_integer(m->size));
	json_object_set_new(o, "subject", str_or_null(m->subject));
	json_object_set_new(o, "auth", strarray(m->auth_users,
	    m->auth_count));
	json_object_set_new(o, "session", json_string(m->session));
	return o;
}

/*
 * cli_fmt_time -- Unix time t as "YYYY-MM-DDTHH:MM:SSZ" (UTC) in buf, or
 * "-" when t is not set (0 or less).
 */
void
cli_fmt_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t	 tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strlcpy(buf, "-", len);
}

/*
 * cli_json_line -- j compact on one line, then drop the reference.
 */
void
cli_json_line(FILE *fp, json_t *j)
{
	json_dumpf(j, fp, JSON_COMPACT | JSON_ENSURE_ASCII);
	fputc('\n', fp);
	json_decref(j);
}

/*
 * cli_msg_line -- one human line for an index row:
 * ID STATE RECEIVED CLIENT FROM -> RCPT (+N) SIZE "SUBJECT"
 */
void
cli_msg_line(FILE *fp, const struct queue_index_msg *m)
{
	fprintf(fp, "%s %-7s %-24s ", m->id, state_str(m->state),
	    *m->received ? m->received : "-");
	cli_puts(fp, *m->client_addr ? m->client_addr : "-");
	fputc(' ', fp);
	cli_puts(fp, *m->mail_from ? m->mail_from : "<>");
	fputs(" -> ", fp);
	cli_puts(fp, m->rcpt_count > 0 ? m->rcpt[0] : "-");
	if (m->rcpt_count > 1)
		fprintf(fp, " (+%zu)", m->rcpt_count - 1);
	fprintf(fp, " %" PRId64, m->size);
	if (m->subject != NULL) {
		fputs(" \"", fp);
		cli_puts(fp, m->subject);
		fputc('"', fp);
	}
	fputc('\n', fp);
}

static const char *
jstr(json_t *o, const char *k)
{
	json_t	*v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* "label: value" for a string member, if present */
static void
field(FILE *fp, const char *label, const char *v)
{
	if (v == NULL)
		return;
	fprintf(fp, "%-11s ", label);
	cli_puts(fp, v);
	fputc('\n', fp);
}

/* "addr port" of an {addr, port} member */
static void
hostport(FILE *fp, const char *label, json_t *o)
{
	json_t	*port;

	if (!json_is_object(o))
		return;
	port = json_object_get(o, "port");
	fprintf(fp, "%-11s ", label);
	cli_puts(fp, jstr(o, "addr") ? jstr(o, "addr") : "-");
	if (json_is_integer(port))
		fprintf(fp, " port %" JSON_INTEGER_FORMAT,
		    json_integer_value(port));
	fputc('\n', fp);
}

static void
compact(FILE *fp, const char *label, json_t *v)
{
	char	*s;

	if (v == NULL || json_is_null(v))
		return;
	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		return;
	fprintf(fp, "%-11s %s\n", label, s);
	free(s);
}

/*
 * cli_envelope_print -- an envelope (or a session record) for a person:
 * the connection, the SMTP envelope, AUTH attempts, findings. The
 * transcript is left to cli_transcript_print().
 */
void
cli_envelope_print(FILE *fp, json_t *env)
{
	json_t	*v, *a;
	size_t	 i;

	field(fp, "id:", jstr(env, "id"));
	field(fp, "state:", jstr(env, "state"));
	field(fp, "path:", jstr(env, "path"));
	field(fp, "session:", jstr(env, "session"));
	field(fp, "received:", jstr(env, "received"));
	field(fp, "start:", jstr(env, "start"));
	field(fp, "end:", jstr(env, "end"));
	field(fp, "close:", jstr(env, "close"));
	hostport(fp, "client:", json_object_get(env, "client"));
	hostport(fp, "peer:", json_object_get(env, "peer"));
	hostport(fp, "server:", json_object_get(env, "server"));
	compact(fp, "proxy:", json_object_get(env, "proxy"));
	field(fp, "persona:", jstr(env, "persona"));
	field(fp, "hostname:", jstr(env, "hostname"));
	field(fp, "queue id:", jstr(env, "queue_id"));
	if ((v = json_object_get(env, "helo")) != NULL && json_is_object(v)) {
		fprintf(fp, "%-11s %s ", "helo:", jstr(v, "verb") ?
		    jstr(v, "verb") : "");
		cli_puts(fp, jstr(v, "name") ? jstr(v, "name") : "");
		fputc('\n', fp);
	}
	compact(fp, "tls:", json_object_get(env, "tls"));
	if ((v = json_object_get(env, "mail_from")) != NULL &&
	    json_is_object(v)) {
		fprintf(fp, "%-11s <", "mail from:");
		cli_puts(fp, jstr(v, "addr") ? jstr(v, "addr") : "");
		fputs(">  ", fp);
		cli_puts(fp, jstr(v, "raw") ? jstr(v, "raw") : "");
		fputc('\n', fp);
	}
	json_array_foreach(json_object_get(env, "rcpt"), i, v) {
		fprintf(fp, "%-11s <", "rcpt to:");
		cli_puts(fp, jstr(v, "addr") ? jstr(v, "addr") : "");
		fputs(">  ", fp);
		cli_puts(fp, jstr(v, "raw") ? jstr(v, "raw") : "");
		fputc('\n', fp);
	}
	a = json_object_get(env, "messages");
	json_array_foreach(a, i, v)
		field(fp, "message:", json_string_value(v));
	json_array_foreach(json_object_get(env, "auth"), i, v) {
		fprintf(fp, "%-11s %s user=", "auth:",
		    jstr(v, "mechanism") ? jstr(v, "mechanism") : "?");
		cli_puts(fp, jstr(v, "user") ? jstr(v, "user") : "");
		if (jstr(v, "password") != NULL) {
			fputs(" password=", fp);
			cli_puts(fp, jstr(v, "password"));
		}
		if (jstr(v, "digest") != NULL) {
			fputs(" digest=", fp);
			cli_puts(fp, jstr(v, "digest"));
		}
		fprintf(fp, " result=%s\n", jstr(v, "result") ?
		    jstr(v, "result") : "?");
	}
	compact(fp, "findings:", json_object_get(env, "findings"));
	if (json_is_integer(v = json_object_get(env, "commands")))
		fprintf(fp, "%-11s %" JSON_INTEGER_FORMAT "\n", "commands:",
		    json_integer_value(v));
	if (json_is_integer(v = json_object_get(env, "size")))
		fprintf(fp, "%-11s %" JSON_INTEGER_FORMAT "\n", "size:",
		    json_integer_value(v));
	field(fp, "sha256:", jstr(env, "sha256"));
}

/*
 * cli_transcript_print -- the "transcript" array, one line each.
 */
void
cli_transcript_print(FILE *fp, json_t *rec)
{
	json_t	*v;
	size_t	 i;

	fputs("transcript:\n", fp);
	json_array_foreach(json_object_get(rec, "transcript"), i, v) {
		if (!json_is_string(v))
			continue;
		fputs("  ", fp);
		cli_puts(fp, json_string_value(v));
		fputc('\n', fp);
	}
	if (json_is_true(json_object_get(rec, "transcript_truncated")))
		fputs("  [transcript truncated]\n", fp);
}

static void
stats_rows(FILE *fp, json_t *st, const char *k, const char *title)
{
	json_t	*row, *v;
	const char *key;
	size_t	 i;

	fprintf(fp, "%s:\n", title);
	json_array_foreach(json_object_get(st, k), i, row) {
		fputs("  ", fp);
		json_object_foreach(row, key, v) {
			if (json_is_string(v)) {
				cli_puts(fp, json_string_value(v));
				continue;
			}
			fprintf(fp, "  %s %" JSON_INTEGER_FORMAT, key,
			    json_integer_value(v));
		}
		fputc('\n', fp);
	}
}

#define ST_INT(o, k)	json_integer_value(json_object_get((o), (k)))

/*
 * cli_stats_print -- queue_index_stats() output for a person.
 */
void
cli_stats_print(FILE *fp, json_t *st)
{
	json_t	*s = json_object_get(st, "states");

	fprintf(fp, "messages:      %" JSON_INTEGER_FORMAT " (new %"
	    JSON_INTEGER_FORMAT ", cur %" JSON_INTEGER_FORMAT ", corrupt %"
	    JSON_INTEGER_FORMAT ")\n", ST_INT(st, "messages"), ST_INT(s, "new"),
	    ST_INT(s, "cur"), ST_INT(s, "corrupt"));
	fprintf(fp, "sessions:      %" JSON_INTEGER_FORMAT " (%"
	    JSON_INTEGER_FORMAT " without a message)\n",
	    ST_INT(st, "sessions"), ST_INT(st, "sessions_without_message"));
	fprintf(fp, "auth attempts: %" JSON_INTEGER_FORMAT "\n",
	    ST_INT(st, "auth_attempts"));
	fprintf(fp, "bytes:         %" JSON_INTEGER_FORMAT "\n",
	    ST_INT(st, "bytes"));
	stats_rows(fp, st, "by_day", "by day");
	stats_rows(fp, st, "top_clients", "top client addresses");
	stats_rows(fp, st, "top_sender_domains", "top sender domains");
	stats_rows(fp, st, "top_countries", "top countries (client)");
	stats_rows(fp, st, "top_asns", "top ASNs (client)");
	stats_rows(fp, st, "top_campaigns", "top campaigns");
	stats_rows(fp, st, "verdicts", "relay-test verdicts");
}

/*
 * cli_copy_fd -- copy fd to out until EOF, byte for byte. Returns 0, or
 * -1 with errno set.
 */
int
cli_copy_fd(int fd, FILE *out)
{
	char	 buf[65536];
	ssize_t	 n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		if (fwrite(buf, 1, n, out) != (size_t)n)
			return -1;
	}
}

static const char *
an_field(const json_t *o, const char *k1, const char *k2)
{
	const json_t *v = json_object_get(o, k1);

	if (k2 != NULL)
		v = json_object_get(v, k2);
	return json_string_value(v);
}

/* " key value" for each of keys[] that g has as a string */
static void
an_geo_extra(FILE *fp, const json_t *g)
{
	static const char *const keys[] = { "registered_country", "isp",
	    "org" };
	static const char *const labels[] = { "registered", "isp", "org" };
	size_t	 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (an_field(g, keys[i], NULL) != NULL) {
			fprintf(fp, ", %s ", labels[i]);
			cli_puts(fp, an_field(g, keys[i], NULL));
		}
}

/* one GeoIP answer: country, AS, its organisation, the rest */
static void
an_geo_line(FILE *fp, const char *label, const json_t *g)
{
	fprintf(fp, "%-11s ", label);
	cli_puts(fp, an_field(g, "country", NULL) ? an_field(g, "country",
	    NULL) : "-");
	if (json_is_integer(json_object_get(g, "asn")))
		fprintf(fp, " AS%lld", (long long)json_integer_value(
		    json_object_get(g, "asn")));
	if (an_field(g, "as_org", NULL) != NULL) {
		fputc(' ', fp);
		cli_puts(fp, an_field(g, "as_org", NULL));
	}
	an_geo_extra(fp, g);
	if (an_field(g, "private", NULL) != NULL)
		fprintf(fp, " (%s)", an_field(g, "private", NULL));
	fputc('\n', fp);
}

/* at the 11th item of n: say how many more there are; true to stop */
static bool
an_cut(FILE *fp, size_t i, size_t n)
{
	if (i < 10)
		return false;
	fprintf(fp, "%-11s (%zu more in show --json)\n", "", n - 10);
	return true;
}

/* label, then up to 10 strings of the array, one per line */
static void
an_list(FILE *fp, const char *label, const json_t *a)
{
	const json_t *v;
	size_t	 i;

	json_array_foreach(a, i, v) {
		if (an_cut(fp, i, json_array_size(a)))
			break;
		fprintf(fp, "%-11s ", i == 0 ? label : "");
		cli_puts(fp, json_string_value(v));
		fputc('\n', fp);
	}
}

/* the Received hops, newest first: sender, writer, UTC time */
static void
an_hops(FILE *fp, const json_t *hops)
{
	const json_t *h;
	const char *from;
	size_t	 i;

	json_array_foreach(hops, i, h) {
		if (an_cut(fp, i, json_array_size(hops)))
			break;
		fprintf(fp, "%-11s %zu from ", i == 0 ? "hops:" : "", i);
		from = an_field(h, "from_addr", NULL);
		if (from == NULL)
			from = an_field(h, "from_name", NULL);
		cli_puts(fp, from != NULL ? from : "-");
		fputs(" by ", fp);
		cli_puts(fp, an_field(h, "by", NULL) ? an_field(h, "by", NULL) :
		    "-");
		fputs(" at ", fp);
		cli_puts(fp, an_field(h, "time", NULL) ? an_field(h, "time",
		    NULL) : "-");
		fputc('\n', fp);
	}
}

/*
 * "analysis:" when the analysis did not simply succeed: the whole of it
 * (a string: "timeout", "crashed") or each analyzer that failed, was
 * deferred or ran past its budget.
 */
static void
an_status_line(FILE *fp, const json_t *st)
{
	const char *k, *v;
	json_t	*jv;
	int	 n = 0;

	if (json_is_string(st)) {
		fprintf(fp, "%-11s %s (no results: the worker was stopped "
		    "during this message's analysis)\n", "analysis:",
		    json_string_value(st));
		return;
	}
	json_object_foreach((json_t *)st, k, jv) {
		if ((v = json_string_value(jv)) == NULL ||
		    strcmp(v, "ok") == 0 || strcmp(v, "skip") == 0)
			continue;
		fprintf(fp, "%s%s %s", n++ == 0 ? "analysis:   " : ", ", k, v);
	}
	if (n > 0)
		fputc('\n', fp);
}

/*
 * cli_analysis_print -- the analyzers' findings from analysis.json, one
 * labelled line each; lists are cut at 10 (the whole object is in show
 * --json).
 */
void
cli_analysis_print(FILE *fp, const json_t *an)
{
	const json_t *g = json_object_get(json_object_get(an, "geoip"),
	    "client");
	const json_t *og = json_object_get(json_object_get(an, "geoip"),
	    "origin");
	const json_t *o = json_object_get(an, "origin"), *v, *ct, *sp;
	static const char *const hdrs[] = { "from", "to", "reply_to" };
	static const char *const hlabels[] = { "from:", "to:", "reply-to:" };
	size_t	 i;

	an_status_line(fp, json_object_get(json_object_get(an, "runner"),
	    "status"));
	if (g != NULL)
		an_geo_line(fp, "geoip:", g);
	if (og != NULL && json_is_object(og) && (g == NULL ||
	    !json_equal((json_t *)og, (json_t *)g)))
		an_geo_line(fp, "origin geo:", og);
	if (o != NULL) {
		fprintf(fp, "%-11s ptr ", "origin:");
		cli_puts(fp, an_field(o, "client", "ptr") ? an_field(o, "client",
		    "ptr") : "-");
		fprintf(fp, "%s, origin ", json_is_true(json_object_get(
		    json_object_get(o, "client"), "ptr_confirmed")) ?
		    " (confirmed)" : "");
		cli_puts(fp, an_field(o, "origin", "addr") ? an_field(o, "origin",
		    "addr") : "-");
		fprintf(fp, " (%s), %zu Received hops\n", an_field(o, "origin",
		    "reason") ? an_field(o, "origin", "reason") : "-",
		    json_array_size(json_object_get(o, "hops")));
		an_hops(fp, json_object_get(o, "hops"));
	}
	if ((sp = json_object_get(an, "spf")) != NULL) {
		fprintf(fp, "%-11s mail from %s, helo %s\n", "spf:",
		    an_field(sp, "mail_from", "result") ? an_field(sp,
		    "mail_from", "result") : "-", an_field(sp, "helo",
		    "result") ? an_field(sp, "helo", "result") : "-");
		if (an_field(sp, "mail_from", "received_spf") != NULL) {
			fprintf(fp, "%-11s ", "");
			cli_puts(fp, an_field(sp, "mail_from", "received_spf"));
			fputc('\n', fp);
		}
	}
	ct = json_object_get(an, "content");
	if (an_field(ct, "raw_only", NULL) != NULL) {
		fprintf(fp, "%-11s scanned raw: ", "content:");
		cli_puts(fp, an_field(ct, "raw_only", NULL));
		fputc('\n', fp);
	}
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
		if (an_field(ct, hdrs[i], NULL) != NULL) {
			fprintf(fp, "%-11s ", hlabels[i]);
			cli_puts(fp, an_field(ct, hdrs[i], NULL));
			fputc('\n', fp);
		}
	if (an_field(an, "campaign", "campaign") != NULL)
		fprintf(fp, "%-11s %s (%s)\n", "campaign:", an_field(an, "campaign",
		    "campaign"), an_field(an, "campaign", "match") ? an_field(an,
		    "campaign", "match") : "-");
	an_list(fp, "urls:", json_object_get(ct, "urls"));
	an_list(fp, "domains:", json_object_get(ct, "url_domains"));
	an_list(fp, "emails:", json_object_get(ct, "emails"));
	json_array_foreach(json_object_get(ct, "attachments"), i, v) {
		fprintf(fp, "%-11s ", i == 0 ? "attachment:" : "");
		cli_puts(fp, an_field(v, "name", NULL) ? an_field(v, "name", NULL) :
		    "(no name)");
		fprintf(fp, " %s %lld bytes sha256 %s\n", an_field(v,
		    "detected_type", NULL) ? an_field(v, "detected_type", NULL) :
		    "-", (long long)json_integer_value(json_object_get(v,
		    "size")), an_field(v, "sha256", NULL) ? an_field(v, "sha256",
		    NULL) : "-");
	}
}
