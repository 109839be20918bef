/*
 * smtp_record.c -- what the SMTP role keeps about a session: findings,
 * the bounded transcript, the connection facts shared by envelopes and
 * session records, and the session record + event written at the end.
 * All network text reaches JSON through jsu_bytes(), never by hand.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evlog.h"
#include "jsonutil.h"
#include "log.h"
#include "smtp_session.h"
#include "xmalloc.h"

#define TRANSCRIPT_INITIAL	512

static void	 transcript_line(struct smtp_session *, char, const char *,
		    size_t);

static const char *const smtp_finding_names[SMTP_F_COUNT] = {
	[SMTP_F_PREGREET] = "pregreet",
	[SMTP_F_PIPELINING_NOEXT] = "pipelining_without_extension",
	[SMTP_F_PIPELINING_AFTER_DATA] = "pipelining_after_data",
	[SMTP_F_BARE_LF] = "bare_lf",
	[SMTP_F_BARE_CR] = "bare_cr",
	[SMTP_F_NUL] = "nul",
	[SMTP_F_LONG_LINE] = "long_line",
	[SMTP_F_8BIT_COMMAND] = "8bit_command",
	[SMTP_F_CTRL_COMMAND] = "ctrl_command",
	[SMTP_F_LOWERCASE_VERB] = "lowercase_verb",
	[SMTP_F_SMUGGLE_LF_DOT_CRLF] = "smuggle_lf_dot_crlf",
	[SMTP_F_SMUGGLE_CR_DOT_CRLF] = "smuggle_cr_dot_crlf",
	[SMTP_F_SMUGGLE_LF_DOT_LF] = "smuggle_lf_dot_lf",
	[SMTP_F_SMUGGLE_CRLF_DOT_LF] = "smuggle_crlf_dot_lf",
	[SMTP_F_8BIT_DATA] = "8bit_data",
	[SMTP_F_UNKNOWN_COMMAND] = "unknown_command",
	[SMTP_F_NONSMTP_COMMAND] = "nonsmtp_command",
	[SMTP_F_AUTH_ATTEMPT] = "auth_attempt",
	[SMTP_F_BAD_SEQUENCE] = "bad_sequence",
	[SMTP_F_PATH_PERCENT] = "path_percent",
	[SMTP_F_PATH_BANG] = "path_bang",
	[SMTP_F_PATH_ROUTE] = "path_route",
	[SMTP_F_PATH_QUOTED] = "path_quoted",
	[SMTP_F_PATH_MULTI_AT] = "path_multi_at",
	[SMTP_F_PATH_NOBRACKETS] = "path_nobrackets",
	[SMTP_F_PATH_IPLIT] = "path_iplit",
	[SMTP_F_STARTTLS] = "starttls",
	[SMTP_F_STARTTLS_INJECTION] = "starttls_injection",
	[SMTP_F_TLS_ERROR] = "tls_error",
	[SMTP_F_UNTERMINATED] = "unterminated_line",
	[SMTP_F_BDAT] = "bdat_chunk",
};

static const char *const smtp_close_names[] = {
	[SMTP_C_NONE] = "none",
	[SMTP_C_QUIT] = "quit",
	[SMTP_C_EOF] = "eof",
	[SMTP_C_TIMEOUT] = "timeout",
	[SMTP_C_DATA_TIMEOUT] = "data_timeout",
	[SMTP_C_SESSION_TIME] = "session_time",
	[SMTP_C_TOO_MANY_ERRORS] = "too_many_errors",
	[SMTP_C_TOO_MANY_COMMANDS] = "too_many_commands",
	[SMTP_C_TOO_MANY_SESSIONS] = "too_many_sessions",
	[SMTP_C_TOO_MANY_FROM_IP] = "too_many_from_ip",
	[SMTP_C_PROXY_INVALID] = "proxy_invalid",
	[SMTP_C_PROXY_TIMEOUT] = "proxy_timeout",
	[SMTP_C_NONSMTP] = "nonsmtp",
	[SMTP_C_TLS_ERROR] = "tls_error",
	[SMTP_C_SHUTDOWN] = "shutdown",
	[SMTP_C_IO_ERROR] = "io_error",
};

/*
 * smtp_close_name -- the record's name of a close reason.
 */
const char *
smtp_close_name(enum smtp_close c)
{
	if ((size_t)c >= sizeof(smtp_close_names) / sizeof(smtp_close_names[0]))
		return "unknown";
	return smtp_close_names[c];
}

/*
 * smtp_finding -- count one occurrence of finding f on the session.
 */
void
smtp_finding(struct smtp_session *s, enum smtp_finding f)
{
	if (s->findings[f] == 0)
		log_debug("%s smtp finding %s", s->id, smtp_finding_names[f]);
	if (s->findings[f] < UINT32_MAX)
		s->findings[f]++;
}

/*
 * smtp_path_findings -- findings for the relay-test address forms.
 */
void
smtp_path_findings(struct smtp_session *s, unsigned int flags)
{
	static const struct {
		unsigned int	 flag;
		enum smtp_finding f;
	} map[] = {
		{ SMTP_PATH_F_PERCENT, SMTP_F_PATH_PERCENT },
		{ SMTP_PATH_F_BANG, SMTP_F_PATH_BANG },
		{ SMTP_PATH_F_ROUTE, SMTP_F_PATH_ROUTE },
		{ SMTP_PATH_F_QUOTED, SMTP_F_PATH_QUOTED },
		{ SMTP_PATH_F_MULTI_AT, SMTP_F_PATH_MULTI_AT },
		{ SMTP_PATH_F_NOBRACKETS, SMTP_F_PATH_NOBRACKETS },
		{ SMTP_PATH_F_IPLIT, SMTP_F_PATH_IPLIT },
	};
	size_t	 i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (flags & map[i].flag)
			smtp_finding(s, map[i].f);
}

/*
 * smtp_transcript -- append one line ("C: ..." client, "S: ..." server)
 * of len raw bytes; LF separates lines, so raw bytes holding LFs (a
 * rejected PROXY header, bytes left at the end) become several lines,
 * each with its prefix. Capped at transcript_max: beyond it only the
 * truncation is noted.
 */
void
smtp_transcript(struct smtp_session *s, char dir, const char *p, size_t len)
{
	const char *nl;
	size_t	 n;

	while ((nl = memchr(p, '\n', len)) != NULL) {
		n = (size_t)(nl - p);
		transcript_line(s, dir, p, n);
		p += n + 1;
		len -= n + 1;
		if (len == 0)
			return;		/* it ended with its LF */
	}
	transcript_line(s, dir, p, len);
}

/*
 * smtp_transcript_raw -- len bytes the client sent that were never read
 * as commands (dropped behind STARTTLS, sent in the clear before a TLS
 * handshake that did not complete): its C: lines, each without the CR
 * of its CRLF, as command lines are recorded.
 */
void
smtp_transcript_raw(struct smtp_session *s, const char *p, size_t len)
{
	const char *end = p + len, *nl;
	size_t	 n;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > 0 && nl < end && p[n - 1] == '\r')
			n--;
		transcript_line(s, 'C', p, n);
	}
}

/* one line of smtp_transcript(): p holds no LF */
static void
transcript_line(struct smtp_session *s, char dir, const char *p, size_t len)
{
	size_t	 max = (size_t)s->srv->conf->transcript_max;
	char	 hdr[3] = { dir, ':', ' ' };

	if (max == 0 || s->transcript_truncated)
		return;
	if (s->transcript == NULL)
		s->transcript = buf_new(TRANSCRIPT_INITIAL, max);
	if (buf_add(s->transcript, hdr, sizeof(hdr)) == -1 ||
	    buf_add(s->transcript, p, len) == -1 ||
	    buf_addc(s->transcript, '\n') == -1) {
		s->transcript_truncated = true;
		/* drop the partial line */
		while (s->transcript->len > 0 &&
		    s->transcript->data[s->transcript->len - 1] != '\n')
			s->transcript->len--;
		s->transcript->data[s->transcript->len] = '\0';
	}
}

/*
 * smtp_record_transcript -- the transcript from byte offset from (0: the
 * whole session) as a JSON array of lines.
 */
json_t *
smtp_record_transcript(struct smtp_session *s, size_t from)
{
	json_t	*a = json_array();
	const char *p, *end, *nl;

	if (s->transcript == NULL || from >= s->transcript->len)
		return a;
	p = s->transcript->data + from;
	end = s->transcript->data + s->transcript->len;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		json_array_append_new(a, jsu_bytes(p, (size_t)(nl - p)));
		p = nl + 1;
	}
	return a;
}

/*
 * smtp_record_findings -- {"name": count, ...} of the findings seen.
 */
json_t *
smtp_record_findings(struct smtp_session *s)
{
	json_t	*o = json_object();
	size_t	 i;

	for (i = 0; i < SMTP_F_COUNT; i++)
		if (s->findings[i] > 0)
			json_object_set_new(o, smtp_finding_names[i],
			    json_integer(s->findings[i]));
	return o;
}

/*
 * smtp_time_json -- RFC 3339 UTC with milliseconds.
 */
json_t *
smtp_time_json(const struct timespec *ts)
{
	struct tm tm;
	char	 buf[40];
	size_t	 n;

	gmtime_r(&ts->tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(buf + n, sizeof(buf) - n, ".%03ldZ",
	    ts->tv_nsec / 1000000);
	return json_string(buf);
}

/*
 * smtp_sockaddr_json -- {"addr", "port"} of ss, as every record and event
 * writes an address. A new object.
 */
json_t *
smtp_sockaddr_json(const struct sockaddr_storage *ss)
{
	char	 a[INET6_ADDRSTRLEN];
	json_t	*o = json_object();

	json_object_set_new(o, "addr", json_string(addr_ntop(
	    (const struct sockaddr *)ss, a, sizeof(a))));
	json_object_set_new(o, "port", json_integer(addr_port(
	    (const struct sockaddr *)ss)));
	return o;
}

/*
 * smtp_record_conn -- the connection facts common to the envelope and the
 * session record: persona, hostname, client, peer, proxy, server, helo,
 * auth attempts, tls. A new object.
 */
json_t *
smtp_record_conn(struct smtp_session *s)
{
	json_t	*o = json_object(), *h, *t;

	json_object_set_new(o, "persona",
	    json_string(persona_name(s->srv->persona)));
	json_object_set_new(o, "hostname", json_string(s->srv->conf->hostname));
	json_object_set_new(o, "client", smtp_sockaddr_json(&s->client));
	json_object_set_new(o, "peer", smtp_sockaddr_json(&s->peer));
	if (s->proxy != NULL) {
		json_t	*p = json_object();
		char	 a[INET6_ADDRSTRLEN];

		json_object_set_new(p, "version", json_integer(s->proxy->version));
		json_object_set_new(p, "command", json_string(
		    s->proxy->command == PROXY_CMD_PROXY ? "PROXY" : "LOCAL"));
		if (s->proxy->command == PROXY_CMD_PROXY &&
		    s->proxy->src.ss_family != AF_UNSPEC) {
			json_object_set_new(p, "src_addr", json_string(addr_ntop(
			    (struct sockaddr *)&s->proxy->src, a, sizeof(a))));
			json_object_set_new(p, "src_port", json_integer(
			    addr_port((struct sockaddr *)&s->proxy->src)));
			json_object_set_new(p, "dst_addr", json_string(addr_ntop(
			    (struct sockaddr *)&s->proxy->dst, a, sizeof(a))));
			json_object_set_new(p, "dst_port", json_integer(
			    addr_port((struct sockaddr *)&s->proxy->dst)));
		}
		json_object_set_new(o, "proxy", p);
	} else
		json_object_set_new(o, "proxy", json_null());
	json_object_set_new(o, "server", smtp_sockaddr_json(&s->local));
	if (s->helo != NULL) {
		h = json_object();
		json_object_set_new(h, "verb",
		    json_string(smtp_verb_name(s->helo_verb)));
		/* the bytes sent, escaped (s->helo is for replies) */
		json_object_set_new(h, "name", jsu_bytes(s->helo_raw,
		    s->helo_rawlen));
		json_object_set_new(o, "helo", h);
	} else
		json_object_set_new(o, "helo", json_null());
	json_object_set_new(o, "auth", s->auth ? json_deep_copy(s->auth) :
	    json_array());
	if (s->auth_unrecorded > 0)
		json_object_set_new(o, "auth_unrecorded",
		    json_integer((json_int_t)s->auth_unrecorded));
	if (s->tls) {
		t = json_object();
		json_object_set_new(t, "version", json_string(s->tls_version));
		json_object_set_new(t, "cipher", json_string(s->tls_cipher));
		json_object_set_new(t, "sni", jsu_str(s->tls_sni));
		json_object_set_new(t, "implicit",
		    json_boolean(s->lflags & ADDR_F_TLS));
		json_object_set_new(o, "tls", t);
	} else
		json_object_set_new(o, "tls", json_null());
	return o;
}

/* the committer stored a session record: let the worker index it */
static void
smtp_record_stored(void *arg, const char *id, int error)
{
	if (error == 0)
		smtp_server_notify(arg, 's', id);
}

/*
 * smtp_record_session -- the session is over: write its record to the
 * spool, emit the "session" event and the disconnect log line.
 */
void
smtp_record_session(struct smtp_session *s)
{
	struct timespec now;
	json_t	*rec, *ev;

	clock_gettime(CLOCK_REALTIME, &now);
	rec = smtp_record_conn(s);
	json_object_set_new(rec, "version", json_integer(QUEUE_ENVELOPE_VERSION));
	json_object_set_new(rec, "id", json_string(s->id));
	json_object_set_new(rec, "start", smtp_time_json(&s->t_start));
	json_object_set_new(rec, "end", smtp_time_json(&now));
	json_object_set_new(rec, "messages", s->messages ?
	    json_incref(s->messages) : json_array());
	json_object_set_new(rec, "commands", json_integer(s->commands));
	json_object_set_new(rec, "unknown_commands", json_integer(
	    s->findings[SMTP_F_UNKNOWN_COMMAND]));
	json_object_set_new(rec, "errors", json_integer(s->errors));
	json_object_set_new(rec, "rejected", json_integer(s->rejected));
	json_object_set_new(rec, "close", json_string(smtp_close_name(s->close)));
	json_object_set_new(rec, "bytes_in", json_integer(s->bytes_in));
	json_object_set_new(rec, "bytes_out", json_integer(s->bytes_out));
	json_object_set_new(rec, "findings", smtp_record_findings(s));
	json_object_set_new(rec, "transcript", smtp_record_transcript(s, 0));
	json_object_set_new(rec, "transcript_truncated",
	    json_boolean(s->transcript_truncated));
	ev = json_object();
	json_object_set_new(ev, "id", json_string(s->id));
	json_object_set(ev, "client", json_object_get(rec, "client"));
	json_object_set(ev, "peer", json_object_get(rec, "peer"));
	json_object_set(ev, "server", json_object_get(rec, "server"));
	json_object_set(ev, "helo", json_object_get(rec, "helo"));
	json_object_set(ev, "close", json_object_get(rec, "close"));
	json_object_set(ev, "messages", json_object_get(rec, "messages"));
	json_object_set(ev, "findings", json_object_get(rec, "findings"));
	json_object_set(ev, "commands", json_object_get(rec, "commands"));
	json_object_set(ev, "tls", json_object_get(rec, "tls"));
	json_object_set_new(ev, "auth", json_integer((s->auth ?
	    (json_int_t)json_array_size(s->auth) : 0) +
	    (json_int_t)s->auth_unrecorded));
	json_object_set(ev, "start", json_object_get(rec, "start"));
	json_object_set(ev, "end", json_object_get(rec, "end"));
	json_object_set(ev, "persona", json_object_get(rec, "persona"));
	evlog_emit("session", ev);
	log_info("%s smtp disconnect client=%s close=%s commands=%lu "
	    "messages=%zu", s->id, s->client_addr, smtp_close_name(s->close),
	    s->commands, s->messages ? json_array_size(s->messages) : 0);
	/* rendered and written by a committer thread; rec is theirs now */
	if (queue_committer_submit_session(s->srv->committer, s->id, rec,
	    smtp_record_stored, s->srv) == -1)
		log_warn("%s smtp: cannot record the session", s->id);
}
