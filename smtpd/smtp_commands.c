/*
 * smtp_commands.c -- the command table and the handlers of the commands
 * that do not touch a transaction (HELO/EHLO, RSET, NOOP, QUIT, VRFY,
 * EXPN, HELP, ETRN, STARTTLS, unknown ones). Runs in the SMTP role; the
 * line it gets is bounded and CRLF-stripped but otherwise hostile. A verb
 * is matched whole (smtp_cmd_parse) and checked against the states in
 * which the table allows it; every reply comes from the persona.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "smtp_session.h"
#include "xmalloc.h"

/* states in which a client may speak at all */
#define ST_TALK		(SMTP_ST(SMTP_S_GREETED) | SMTP_ST(SMTP_S_IDLE) | \
			 SMTP_ST(SMTP_S_MAIL) | SMTP_ST(SMTP_S_RCPT))
#define ST_TX		(SMTP_ST(SMTP_S_MAIL) | SMTP_ST(SMTP_S_RCPT))


typedef void	(*smtp_cmd_fn)(struct smtp_session *, const struct smtp_cmd *);

static void	 cmd_helo(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_mail(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_rcpt(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_data(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_rset(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_noop(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_quit(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_vrfy(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_expn(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_help(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_etrn(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_starttls(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_auth(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_bdat(struct smtp_session *, const struct smtp_cmd *);
static void	 cmd_nonsmtp(struct smtp_session *, const struct smtp_cmd *);
static bool	 forbidden_word(const char *, size_t);
static bool	 etrn_hostname(const char *, size_t);
static bool	 vrfy_address(const char *, size_t *);
static void	 junk_command(struct smtp_session *);
static bool	 nonmail_limit(struct smtp_session *, enum smtp_verb);
static void	 unknown_command(struct smtp_session *, const char *);
static const char *cmd_line_text(const struct smtp_cmd *, char *, size_t);
static const char *arg_echo(const char *, size_t, char *, size_t);
static bool	 proxy_word(const char *, size_t);

static const struct smtp_cmd_def {
	enum smtp_verb	 verb;
	unsigned int	 states;	/* where the verb is in sequence */
	enum persona_msg bad_seq;	/* reply when it is not */
	smtp_cmd_fn	 fn;
	bool		 junk;		/* PERSONA_Q_JUNK_LIMIT counts it */
} smtp_cmd_table[] = {
	{ SMTP_CMD_HELO, ST_TALK, PM_BAD_SEQUENCE, cmd_helo, true },
	{ SMTP_CMD_EHLO, ST_TALK, PM_BAD_SEQUENCE, cmd_helo, true },
	{ SMTP_CMD_MAIL, ST_TALK, PM_BAD_SEQUENCE, cmd_mail, false },
	{ SMTP_CMD_RCPT, ST_TALK, PM_BAD_SEQUENCE, cmd_rcpt, false },
	{ SMTP_CMD_DATA, ST_TALK, PM_BAD_SEQUENCE, cmd_data, false },
	{ SMTP_CMD_RSET, ST_TALK, PM_BAD_SEQUENCE, cmd_rset, true },
	{ SMTP_CMD_NOOP, ST_TALK, PM_BAD_SEQUENCE, cmd_noop, true },
	{ SMTP_CMD_QUIT, ST_TALK, PM_BAD_SEQUENCE, cmd_quit, false },
	{ SMTP_CMD_VRFY, ST_TALK, PM_BAD_SEQUENCE, cmd_vrfy, true },
	{ SMTP_CMD_EXPN, ST_TALK, PM_BAD_SEQUENCE, cmd_expn, false },
	{ SMTP_CMD_HELP, ST_TALK, PM_BAD_SEQUENCE, cmd_help, false },
	{ SMTP_CMD_ETRN, ST_TALK, PM_BAD_SEQUENCE, cmd_etrn, true },
	{ SMTP_CMD_STARTTLS, ST_TALK, PM_BAD_SEQUENCE, cmd_starttls, false },
	{ SMTP_CMD_AUTH, ST_TALK, PM_BAD_SEQUENCE, cmd_auth, false },
	{ SMTP_CMD_BDAT, ST_TALK, PM_BAD_SEQUENCE, cmd_bdat, false },
	{ SMTP_CMD_NONSMTP, ST_TALK, PM_BAD_SEQUENCE, cmd_nonsmtp, false },
};

/* whether the line begins with word (any case) */
static bool
line_starts(const char *line, size_t len, const char *word)
{
	size_t	 n = strlen(word);

	return len >= n && strncasecmp(line, word, n) == 0;
}

/* RFC 821's SEND, SOML, SAML and TURN, which sendmail knows but refuses */
static bool
old_verb(const char *v)
{
	return strcasecmp(v, "SEND") == 0 || strcasecmp(v, "SOML") == 0 ||
	    strcasecmp(v, "SAML") == 0 || strcasecmp(v, "TURN") == 0;
}

/*
 * smtp_arg_short -- a command line as sendmail's shortenstring(s,
 * MAXSHORTSTR) echoes it (the only product here that echoes an unknown
 * command): a C string, so up to its first NUL; up to 203 bytes whole, a
 * longer one as its first 100 bytes, "..." and its last 100. Control
 * bytes stay, as sendmail sends them back (TAB, ^A, DEL; the persona
 * renders them 7-bit), but CR and LF show as '?': sendmail would echo a
 * lone CR raw.
 */
static const char *
smtp_arg_short(const char *p, size_t n, char *out, size_t outsz)
{
	size_t	 k;

	n = strnlen(p, n);
	if (n <= 203)
		return arg_echo(p, n, out, outsz);
	(void)arg_echo(p, 100, out, outsz);
	k = strlen(out);
	if (k + 3 < outsz) {
		memcpy(out + k, "...", 4);
		k += 3;
	}
	(void)arg_echo(p + n - 100, 100, out + k, outsz - k);
	return out;
}

/* arg_echo -- p[0..n) (no NUL) with CR and LF as '?'; at most outsz - 1 */
static const char *
arg_echo(const char *p, size_t n, char *out, size_t outsz)
{
	size_t	 i;

	for (i = 0; i < n && i + 1 < outsz; i++)
		out[i] = p[i] == '\r' || p[i] == '\n' ? '?' : p[i];
	out[i] = '\0';
	return out;
}

/*
 * smtp_arg_text -- printable echo of client text for %a: no CR, LF, NUL
 * or other controls (they become '?'); at most outsz - 1 bytes.
 */
const char *
smtp_arg_text(const char *p, size_t n, char *out, size_t outsz)
{
	size_t	 i, o = 0;

	for (i = 0; i < n && o + 1 < outsz; i++) {
		unsigned char c = (unsigned char)p[i];

		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[o] = '\0';
	return out;
}

/*
 * smtp_command -- handle one command line (CRLF removed, len bytes, may
 * contain NUL). Records it, counts it against the caps, and dispatches.
 */
void
smtp_command(struct smtp_session *s, const char *line, size_t len)
{
	const struct conf *c = s->srv->conf;
	const struct persona *p = s->srv->persona;
	struct smtp_cmd cmd;
	char	 txt[SMTP_ARG_TEXT_MAX];
	size_t	 i;
	int	 rc;

	smtp_transcript(s, 'C', line, len);
	s->commands++;
	if (s->commands > (unsigned long)c->max_commands) {
		smtp_reply(s, PM_TOO_MANY_COMMANDS, NULL);
		smtp_close(s, SMTP_C_TOO_MANY_COMMANDS);
		return;
	}
	if (s->srv->shutting_down) {
		smtp_reply(s, PM_SHUTDOWN, NULL);
		smtp_close(s, SMTP_C_SHUTDOWN);
		return;
	}
	rc = smtp_cmd_parse(line, len, &cmd);
	if (persona_quirk(p, PERSONA_Q_RCPT_SAME)) {
		s->last_was_rcpt = s->was_rcpt;
		s->was_rcpt = false;
	}
	if (cmd.flags & SMTP_CMD_F_NUL)
		smtp_finding(s, SMTP_F_NUL);
	if (cmd.flags & SMTP_CMD_F_8BIT)
		smtp_finding(s, SMTP_F_8BIT_COMMAND);
	if (cmd.flags & SMTP_CMD_F_CTRL)
		smtp_finding(s, SMTP_F_CTRL_COMMAND);
	if (cmd.flags & SMTP_CMD_F_LOWER)
		smtp_finding(s, SMTP_F_LOWERCASE_VERB);
	/* [verified] Exim's verbs start the line: " NOOP" is unknown */
	if (rc == SMTP_E_OK && persona_quirk(p, PERSONA_Q_EXIM_ADDR) &&
	    len > 0 && (line[0] == ' ' || line[0] == '\t'))
		cmd.verb = SMTP_CMD_UNKNOWN;
	if (smtp_bdat_exim_gate(s, &cmd, rc))
		return;
	if (persona_quirk(p, PERSONA_Q_PROXY_GUARD) &&
	    cmd.verb == SMTP_CMD_NONSMTP) {
		/* sendmail's guard looks at the first command only */
		if (s->commands == 1 && proxy_word(line, len)) {
			smtp_finding(s, SMTP_F_NONSMTP_COMMAND);
			smtp_reply(s, PM_NONSMTP, NULL);
			smtp_close(s, SMTP_C_NONSMTP);
			return;
		}
		smtp_finding(s, SMTP_F_NONSMTP_COMMAND);
		cmd.verb = SMTP_CMD_UNKNOWN;
	}
	if (cmd.verb == SMTP_CMD_UNKNOWN && persona_has(p, PM_VERB) &&
	    strcasecmp(cmd.verb_text, "VERB") == 0) {
		smtp_finding(s, SMTP_F_UNKNOWN_COMMAND);
		smtp_error(s, PM_VERB, NULL);
		return;
	}
	if (rc == SMTP_E_EMPTY && persona_has(p, PM_EMPTY_LINE)) {
		smtp_finding(s, SMTP_F_UNKNOWN_COMMAND);
		smtp_error(s, PM_EMPTY_LINE, NULL);
		return;
	}
	if (persona_quirk(p, PERSONA_Q_FORBID_CMDS)) {
		/* the product's list of non-SMTP words, not ours */
		if (cmd.verb == SMTP_CMD_UNKNOWN && rc == SMTP_E_OK &&
		    forbidden_word(line, len))
			cmd.verb = SMTP_CMD_NONSMTP;
		else if (cmd.verb == SMTP_CMD_NONSMTP &&
		    strcasecmp(cmd.verb_text, "CONNECT") != 0 &&
		    strcasecmp(cmd.verb_text, "GET") != 0 &&
		    strcasecmp(cmd.verb_text, "POST") != 0) {
			smtp_finding(s, SMTP_F_NONSMTP_COMMAND);
			cmd.verb = SMTP_CMD_UNKNOWN;
		}
	}
	if (cmd.verb == SMTP_CMD_UNKNOWN && persona_has(p, PM_XCLIENT) &&
	    (strcasecmp(cmd.verb_text, "XCLIENT") == 0 ||
	    strcasecmp(cmd.verb_text, "XFORWARD") == 0)) {
		smtp_finding(s, SMTP_F_UNKNOWN_COMMAND);
		smtp_error(s, PM_XCLIENT, NULL);
		junk_command(s);
		return;
	}
	if (rc == SMTP_E_OK && cmd.verb == SMTP_CMD_UNKNOWN &&
	    persona_quirk(p, PERSONA_Q_OLD_VERBS) && old_verb(cmd.verb_text)) {
		/* sendmail CMDUNIMPL: not a bad command, not counted */
		smtp_finding(s, SMTP_F_UNKNOWN_COMMAND);
		smtp_reply(s, PM_NOT_IMPLEMENTED, smtp_arg_short(line, len, txt,
		    sizeof(txt)));
		return;
	}
	if (rc == SMTP_E_OK && persona_quirk(p, PERSONA_Q_EXIM_ADDR) &&
	    ((cmd.verb == SMTP_CMD_MAIL && !line_starts(line, len,
	    "MAIL FROM:")) || (cmd.verb == SMTP_CMD_RCPT &&
	    !line_starts(line, len, "RCPT TO:"))))
		cmd.verb = SMTP_CMD_UNKNOWN;	/* Exim's verb is "mail from:" */
	if (rc != SMTP_E_OK || cmd.verb == SMTP_CMD_UNKNOWN) {
		unknown_command(s, smtp_arg_short(line, len, txt, sizeof(txt)));
		return;
	}
	for (i = 0; i < sizeof(smtp_cmd_table) / sizeof(smtp_cmd_table[0]);
	    i++) {
		const struct smtp_cmd_def *d = &smtp_cmd_table[i];

		if (d->verb != cmd.verb)
			continue;
		if (nonmail_limit(s, cmd.verb))
			return;
		if (!(d->states & SMTP_ST(s->state))) {
			smtp_finding(s, SMTP_F_BAD_SEQUENCE);
			smtp_error(s, d->bad_seq, NULL);
			return;
		}
		if (cmd.verb == SMTP_CMD_RCPT && persona_quirk(p,
		    PERSONA_Q_RCPT_SAME)) {
			/* its first reply is kept (smtp_reply_raw()) */
			s->rcpt_busy = true;
			s->was_rcpt = s->state == SMTP_S_MAIL ||
			    s->state == SMTP_S_RCPT;
		}
		d->fn(s, &cmd);
		s->rcpt_busy = false;
		if (d->junk)
			junk_command(s);
		return;
	}
	unknown_command(s, smtp_arg_short(line, len, txt, sizeof(txt)));
}

/*
 * smtp_no_rcpt -- the reply m to DATA or BDAT (verb) in a transaction
 * without recipients. With PERSONA_Q_RCPT_SAME (Exim), when every RCPT
 * since the last MAIL, RSET, HELO or message got the same refusal, it
 * comes first ("503-All RCPT commands were rejected with this error:"
 * and it), and right after a refused RCPT, with PIPELINING offered, the
 * reply is NEED_RCPT_PIPELINED and no error.
 */
void
smtp_no_rcpt(struct smtp_session *s, enum persona_msg m, const char *verb)
{
	struct persona_vars v;
	char	 out[PERSONA_REPLY_MAX];
	size_t	 n, k;

	if (!persona_quirk(s->srv->persona, PERSONA_Q_RCPT_SAME)) {
		smtp_error(s, m, NULL);
		return;
	}
	if (s->rcpt_reply != NULL && !s->rcpt_differ) {
		smtp_vars(s, &v, s->rcpt_reply);
		n = persona_reply(s->srv->persona, PM_RCPT_ALL_SAME, &v, out,
		    sizeof(out));
		if (n >= 6) {
			/* a continuation: the reply to the command follows */
			for (k = n - 2; k > 0 && out[k - 1] != '\n'; k--)
				;
			out[k + 3] = '-';
			smtp_reply_raw(s, out, n);
			/* Exim cut the CRLF off its copy: the next RCPT's
			 * reply, whatever it is, no longer matches it */
			s->rcpt_cut = true;
		}
	}
	if (s->esmtp && s->last_was_rcpt)
		smtp_reply(s, PM_NEED_RCPT_PIPELINED, verb);
	else
		smtp_error(s, m, NULL);
}

/* smtp_rcpt_forget -- MAIL, RSET, HELO, a message: forget the RCPTs */
void
smtp_rcpt_forget(struct smtp_session *s)
{
	free(s->rcpt_reply);
	s->rcpt_reply = NULL;
	s->rcpt_differ = false;
	s->rcpt_cut = false;
}

/*
 * unknown_command -- the reply to a command the product does not know
 * (%a = arg). Where the product has its own limit (persona_unknown_max:
 * Sendmail 25, Exim 3) only these count against it, and the one past it
 * gets TOO_MANY_ERRORS instead of its reply; else it is an error like
 * the others (max_unknown_commands).
 */
static void
unknown_command(struct smtp_session *s, const char *arg)
{
	unsigned int max = persona_unknown_max(s->srv->persona);

	smtp_finding(s, SMTP_F_UNKNOWN_COMMAND);
	if (max == 0) {
		smtp_error(s, PM_UNKNOWN, arg);
		return;
	}
	if (++s->unknown > max) {
		s->errors++;
		smtp_reply(s, PM_TOO_MANY_ERRORS, NULL);
		smtp_close(s, SMTP_C_TOO_MANY_ERRORS);
		return;
	}
	if (!smtp_synprot(s, PM_UNKNOWN, arg))
		smtp_reply(s, PM_UNKNOWN, arg);
}

/*
 * proxy_word -- sendmail's open-proxy guard: the line starts with GET,
 * POST, CONNECT or USER (any case) followed by white space.
 */
static bool
proxy_word(const char *line, size_t len)
{
	static const char *const words[] = { "GET", "POST", "CONNECT",
	    "USER" };
	size_t	 i, n;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		n = strlen(words[i]);
		if (len > n && strncasecmp(line, words[i], n) == 0 &&
		    (line[n] == ' ' || line[n] == '\t'))
			return true;
	}
	return false;
}

/* cmd_line_text -- "VERB arg" of c, printable, for a whole-line echo */
static const char *
cmd_line_text(const struct smtp_cmd *c, char *out, size_t outsz)
{
	char	 v[sizeof(c->verb_text) + 1];
	size_t	 n;

	n = strlen(c->verb_text);
	memcpy(v, c->verb_text, n);
	v[n++] = ' ';
	smtp_arg_text(v, c->arglen > 0 ? n : n - 1, out, outsz);
	n = strlen(out);
	if (c->arglen > 0 && n < outsz)
		smtp_arg_text(c->arg, c->arglen, out + n, outsz - n);
	return out;
}

static void
cmd_helo(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct persona_vars v;
	char	 out[PERSONA_REPLY_MAX], esc[LOG_ESC_MAX];
	unsigned int ext = PERSONA_EXT_AUTH;
	size_t	 n;

	if (!s->had_data)
		ext |= PERSONA_EXT_PIPECONNECT;
	if (c->arglen == 0) {
		/* Exim: even a failed HELO or EHLO says whether it is ESMTP */
		if (persona_quirk(s->srv->persona, PERSONA_Q_EXIM_ADDR))
			s->esmtp = c->verb == SMTP_CMD_EHLO;
		smtp_error(s, c->verb == SMTP_CMD_EHLO ? PM_EHLO_NOARG :
		    PM_HELO_NOARG, NULL);
		return;
	}
	smtp_tx_free(s);
	s->bdat_error = false;
	s->xbdat = SMTP_XBDAT_NONE;
	smtp_rcpt_forget(s);
	free(s->helo);
	s->helo = xmalloc(c->arglen + 1);
	smtp_arg_text(c->arg, c->arglen, s->helo, c->arglen + 1);
	free(s->helo_raw);
	s->helo_raw = xmalloc(c->arglen);
	memcpy(s->helo_raw, c->arg, c->arglen);
	s->helo_rawlen = c->arglen;
	s->helo_verb = c->verb;
	s->esmtp = c->verb == SMTP_CMD_EHLO;
	smtp_enter_state(s, SMTP_S_IDLE);
	log_info("%s smtp helo verb=%s name=%s", s->id, smtp_verb_name(c->verb),
	    log_esc(c->arg, c->arglen, esc, sizeof(esc)));
	if (!s->esmtp) {
		smtp_reply(s, PM_HELO, NULL);
		return;
	}
	if (s->srv->ssl_ctx != NULL && !s->tls)
		ext |= PERSONA_EXT_STARTTLS;
	smtp_vars(s, &v, NULL);
	n = persona_ehlo(s->srv->persona, &v, ext, out, sizeof(out));
	if (n == 0)
		fatalx("%s: persona %s cannot render EHLO", __func__,
		    persona_name(s->srv->persona));
	smtp_reply_raw(s, out, n);
}

/*
 * forbidden_word -- Postfix's smtpd_forbidden_commands beyond CONNECT,
 * GET and POST: the first word looks like a message header ("Subject:",
 * is_header()) or does not start with a letter (the default's
 * regexp:{{/^[^A-Z]/ Bogus}}, case-insensitive like every Postfix
 * regexp table).
 */
static bool
forbidden_word(const char *line, size_t len)
{
	size_t	 i = 0, b;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len)
		return false;
	/* 8-bit: Postfix's UTF-8 check answers it first, with a 500 */
	if ((unsigned char)line[i] < 0x80 &&
	    !((line[i] >= 'A' && line[i] <= 'Z') ||
	    (line[i] >= 'a' && line[i] <= 'z')))
		return true;
	for (b = i; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (ch == ':')
			return i > b;
		if (ch <= ' ' || ch >= 0x7f)
			return false;
	}
	return false;
}

/*
 * junk_command -- after a command that can be repeated at no cost: past
 * PERSONA_JUNK_MAX of them each counts as an error, so a client looping
 * on NOOP or VRFY meets max_unknown_commands (Postfix smtpd.c: junk_cmds
 * and smtpd_hard_error_limit, the 421 right after the command's reply).
 */
static void
junk_command(struct smtp_session *s)
{
	if (!persona_quirk(s->srv->persona, PERSONA_Q_JUNK_LIMIT) ||
	    s->state == SMTP_S_CLOSING || s->junk++ <= PERSONA_JUNK_MAX)
		return;
	if (++s->errors >= (unsigned long)s->srv->conf->max_unknown_commands) {
		smtp_reply(s, PM_TOO_MANY_ERRORS, NULL);
		smtp_close(s, SMTP_C_TOO_MANY_ERRORS);
	}
}

/*
 * nonmail_limit -- Exim's smtp_accept_max_nonmail (PERSONA_Q_NONMAIL):
 * NOOP, HELP, VRFY, EXPN, ETRN, every HELO/EHLO after the first that
 * succeeded and every RSET but the first since connect or the last MAIL
 * count, and the one past PERSONA_NONMAIL_MAX gets TOO_MANY_NONMAIL and
 * the close, before it is looked at. Returns true when it closed.
 */
static bool
nonmail_limit(struct smtp_session *s, enum smtp_verb v)
{
	unsigned int bit;
	bool	 count;

	if (!persona_quirk(s->srv->persona, PERSONA_Q_NONMAIL))
		return false;
	switch (v) {
	case SMTP_CMD_NOOP:
	case SMTP_CMD_HELP:
	case SMTP_CMD_VRFY:
	case SMTP_CMD_EXPN:
	case SMTP_CMD_ETRN:
		count = true;
		break;
	/*
	 * [src] one RSET, one HELO or EHLO and one STARTTLS are free at the
	 * start of each message ("is_mail_cmd" forced TRUE in
	 * smtp_setup_msg()). [verified] In exim a MAIL frees nothing, so its
	 * 12th MAIL/RSET pair ends the session; here a MAIL frees the RSET
	 * after it: nmap's smtp-open-relay tries 16 MAIL/RCPT/RSET rounds,
	 * and all must work on the trap (issue 2).
	 */
	case SMTP_CMD_MAIL:
		s->nonmail_used &= ~SMTP_NM_RSET;
		return false;
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
	case SMTP_CMD_RSET:
	case SMTP_CMD_STARTTLS:
		bit = v == SMTP_CMD_RSET ? SMTP_NM_RSET :
		    v == SMTP_CMD_STARTTLS ? SMTP_NM_STARTTLS : SMTP_NM_HELO;
		count = (s->nonmail_used & bit) != 0;
		s->nonmail_used |= bit;
		break;
	default:
		return false;
	}
	if (!count || ++s->nonmail <= PERSONA_NONMAIL_MAX)
		return false;
	s->errors++;
	smtp_reply(s, PM_TOO_MANY_NONMAIL, NULL);
	smtp_close(s, SMTP_C_TOO_MANY_COMMANDS);
	return true;
}

/*
 * helo_optional -- the product takes MAIL and AUTH without HELO/EHLO,
 * inside TLS too (postfix 3.7.11: STARTTLS, then MAIL gets 250).
 */
static bool
helo_optional(const struct smtp_session *s)
{
	return persona_quirk(s->srv->persona, PERSONA_Q_HELO_OPTIONAL);
}

/* MAIL before HELO/EHLO: evidence even where the product takes it */
static bool
need_helo(struct smtp_session *s)
{
	if (s->state != SMTP_S_GREETED)
		return false;
	smtp_finding(s, SMTP_F_BAD_SEQUENCE);
	if (helo_optional(s))
		return false;
	smtp_error(s, PM_MAIL_NEED_HELO, NULL);
	return true;
}

static void
cmd_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (need_helo(s))
		return;
	if (s->state != SMTP_S_IDLE && s->state != SMTP_S_GREETED) {
		smtp_finding(s, SMTP_F_BAD_SEQUENCE);
		smtp_error(s, PM_MAIL_NESTED, NULL);
		return;
	}
	if (s->bdat_error) {
		smtp_finding(s, SMTP_F_BAD_SEQUENCE);
		smtp_error(s, persona_has(s->srv->persona, PM_MAIL_AFTER_BDAT) ?
		    PM_MAIL_AFTER_BDAT : PM_BAD_SEQUENCE, NULL);
		return;
	}
	smtp_rcpt_forget(s);	/* [verified] Exim: even a MAIL refused */
	smtp_tx_mail(s, c);
}

static void
cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (s->state != SMTP_S_MAIL && s->state != SMTP_S_RCPT) {
		smtp_finding(s, SMTP_F_BAD_SEQUENCE);
		smtp_error(s, PM_RCPT_NEED_MAIL, NULL);
		return;
	}
	if (s->tx->bdat || s->bdat_error) {
		smtp_finding(s, SMTP_F_BAD_SEQUENCE);
		smtp_error(s, persona_has(s->srv->persona, PM_RCPT_AFTER_BDAT) ?
		    PM_RCPT_AFTER_BDAT : PM_BAD_SEQUENCE, NULL);
		return;
	}
	smtp_tx_rcpt(s, c);
}

static void
cmd_data(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (s->bdat_error || (s->tx != NULL && s->tx->bdat)) {
		smtp_finding(s, SMTP_F_BAD_SEQUENCE);
		smtp_error(s, persona_has(s->srv->persona, PM_DATA_AFTER_BDAT) ?
		    PM_DATA_AFTER_BDAT : PM_BAD_SEQUENCE, NULL);
		return;
	}
	if (c->arglen == 0)
		s->had_data = true;	/* Exim: no PIPECONNECT after it */
	/* Exim looks at the argument first */
	if (s->state != SMTP_S_RCPT && !(c->arglen > 0 &&
	    persona_quirk(s->srv->persona, PERSONA_Q_EXIM_ADDR))) {
		smtp_finding(s, SMTP_F_BAD_SEQUENCE);
		smtp_no_rcpt(s, s->state == SMTP_S_MAIL ? PM_DATA_NEED_RCPT :
		    PM_DATA_NEED_MAIL, "DATA");
		return;
	}
	if (c->arglen > 0 && !persona_quirk(s->srv->persona,
	    PERSONA_Q_DATA_ARGS)) {
		char	 txt[SMTP_ARG_TEXT_MAX];

		smtp_error(s, PM_DATA_ARGS, smtp_arg_text(c->arg, c->arglen,
		    txt, sizeof(txt)));
		return;
	}
	smtp_tx_data(s, c);
}

static void
cmd_rset(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (c->arglen > 0 && persona_has(s->srv->persona, PM_RSET_ARGS)) {
		smtp_error(s, PM_RSET_ARGS, NULL);
		return;
	}
	smtp_tx_free(s);
	s->bdat_error = false;
	s->xbdat = SMTP_XBDAT_NONE;
	smtp_rcpt_forget(s);
	if (s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT)
		smtp_enter_state(s, SMTP_S_IDLE);
	smtp_reply(s, PM_RSET, NULL);
}

static void
cmd_noop(struct smtp_session *s, const struct smtp_cmd *c)
{
	smtp_reply(s, PM_NOOP, NULL);
}

static void
cmd_quit(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (c->arglen > 0 && persona_has(s->srv->persona, PM_QUIT_ARGS)) {
		smtp_error(s, PM_QUIT_ARGS, NULL);
		return;
	}
	smtp_tx_free(s);
	smtp_reply(s, PM_QUIT, NULL);
	smtp_close(s, SMTP_C_QUIT);
}

static void
cmd_vrfy(struct smtp_session *s, const struct smtp_cmd *c)
{
	char	 txt[SMTP_ARG_TEXT_MAX];
	size_t	 n = c->arglen;

	if (n == 0) {
		smtp_error(s, PM_VRFY_NOARG, NULL);
		return;
	}
	/* Exim parses the address before its ACL says no */
	if (persona_has(s->srv->persona, PM_VRFY_NODOMAIN) &&
	    memchr(c->arg, '@', n) == NULL && memchr(c->arg, ' ', n) == NULL) {
		smtp_error(s, PM_VRFY_NODOMAIN, smtp_arg_text(c->arg, n, txt,
		    sizeof(txt)));
		return;
	}
	if (persona_quirk(s->srv->persona, PERSONA_Q_VRFY_ADDR) &&
	    !vrfy_address(c->arg, &n)) {
		smtp_error(s, n == 0 ? PM_VRFY_NOARG : PM_RCPT_BADADDR, NULL);
		return;
	}
	smtp_reply(s, PM_VRFY, smtp_arg_text(c->arg, n, txt, sizeof(txt)));
}

/*
 * vrfy_address -- Postfix's vrfy_cmd(): a last word "SMTPUTF8" is
 * dropped (*n shrinks, to 0 if nothing else was given: false); what is
 * left must be one address for extract_addr(): something in <> that is
 * not <>, or a single word (spaces only inside quotes) other than "@".
 */
static bool
vrfy_address(const char *a, size_t *n)
{
	size_t	 i, len = *n, words = 0;
	bool	 quoted = false, inword = false;

	if (len >= 8 && strncasecmp(a + len - 8, "SMTPUTF8", 8) == 0 &&
	    (len == 8 || a[len - 9] == ' ' || a[len - 9] == '\t')) {
		for (len -= 8; len > 0 && (a[len - 1] == ' ' ||
		    a[len - 1] == '\t'); len--)
			;
		if ((*n = len) == 0)
			return false;	/* nothing but SMTPUTF8 */
	}
	if (memchr(a, '<', len) != NULL)
		return !(len == 2 && a[0] == '<' && a[1] == '>');
	for (i = 0; i < len; i++) {
		if (a[i] == '"')
			quoted = !quoted;
		if (!quoted && (a[i] == ' ' || a[i] == '\t'))
			inword = false;
		else if (!inword) {
			inword = true;
			words++;
		}
	}
	return words == 1 && !(len == 1 && a[0] == '@');
}

static void
cmd_expn(struct smtp_session *s, const struct smtp_cmd *c)
{
	char	 txt[SMTP_ARG_TEXT_MAX];

	smtp_reply(s, PM_EXPN, smtp_arg_text(c->arg, c->arglen, txt, sizeof(txt)));
}

/*
 * cmd_help -- PM_HELP, or for a persona with a helpfile the lines of the
 * topic (persona_help()) or PM_HELP_TOPIC, the topic read as sendmail
 * reads it: the whole rest of the line (blanks after it count), ASCII
 * letters lowercased (makelower()), up to a NUL. Its 504 echoes it with
 * its control bytes, as sendmail does (the persona renders it 7-bit).
 */
static void
cmd_help(struct smtp_session *s, const struct smtp_cmd *c)
{
	const struct persona *p = s->srv->persona;
	char	 topic[SMTP_ARG_TEXT_MAX], out[PERSONA_REPLY_MAX];
	const char *a = c->arg;
	size_t	 i, len, n = 0;
	unsigned char ch;

	if (!persona_help_file(p)) {
		smtp_reply(s, PM_HELP, NULL);
		return;
	}
	for (i = 0; i < c->arglen_raw && n + 1 < sizeof(topic); i++) {
		ch = (unsigned char)a[i];
		if (ch == '\0')
			break;
		topic[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' :
		    ch);
	}
	topic[n] = '\0';
	if ((len = persona_help(p, topic, n, out, sizeof(out))) > 0) {
		smtp_reply_raw(s, out, len);
		return;
	}
	/* sendmail's help() counts nothing: not an error, not noise */
	smtp_reply(s, PM_HELP_TOPIC, topic);
}

/*
 * cmd_etrn -- nothing is ever flushed: the persona's refusal, after the
 * checks its product makes first (smtpd.c etrn_cmd() for Postfix).
 */
static void
cmd_etrn(struct smtp_session *s, const struct smtp_cmd *c)
{
	const struct persona *p = s->srv->persona;
	char	 txt[SMTP_ARG_TEXT_MAX];
	const char *a = c->arg;
	size_t	 n = c->arglen;

	if ((s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT) &&
	    persona_has(p, PM_ETRN_IN_MAIL)) {
		smtp_error(s, PM_ETRN_IN_MAIL, NULL);
		return;
	}
	if (n == 0 && persona_has(p, PM_ETRN_NOARG)) {
		smtp_error(s, PM_ETRN_NOARG, NULL);
		return;
	}
	if (n > 1 && a[0] == '#' && persona_has(p, PM_ETRN_QUEUE)) {
		smtp_error(s, PM_ETRN_QUEUE, smtp_arg_text(a + 1, n - 1, txt,
		    sizeof(txt)));
		return;
	}
	if ((n == 0 || memchr(a, ' ', n) != NULL || memchr(a, '\t', n) !=
	    NULL) && persona_has(p, PM_ETRN_SYNTAX)) {
		smtp_error(s, PM_ETRN_SYNTAX, NULL);
		return;
	}
	if (n > 0 && (a[0] == '@' || a[0] == '#') &&
	    persona_quirk(p, PERSONA_Q_ETRN_STRIP))
		a++, n--;
	if (persona_has(p, PM_ETRN_BADARG) && !etrn_hostname(a, n)) {
		smtp_error(s, PM_ETRN_BADARG, NULL);
		return;
	}
	smtp_reply(s, PM_ETRN, smtp_arg_text(a, n, txt, sizeof(txt)));
}

/*
 * etrn_hostname -- Postfix's valid_hostname(): labels of letters, digits,
 * '_' and inner '-', 1..63 bytes, no empty label (so no leading or
 * trailing dot), at most 255 bytes, not all digits and dots.
 */
static bool
etrn_hostname(const char *a, size_t n)
{
	size_t	 i, label = 0;
	bool	 alpha = false;

	if (n == 0 || n > 255)
		return false;
	for (i = 0; i < n; i++) {
		char	 ch = a[i];

		if (ch == '.') {
			if (label == 0 || a[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    ch == '_')
			alpha = true;
		else if (ch == '-') {
			if (label == 0)
				return false;
			alpha = true;
		} else if (ch < '0' || ch > '9')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && a[n - 1] != '-' && alpha;
}

/*
 * cmd_bdat -- a persona with CHUNKING reads the chunk
 * (smtp_bdat_session.c); without it, the product's reply to BDAT then.
 */
static void
cmd_bdat(struct smtp_session *s, const struct smtp_cmd *c)
{
	const struct persona *p = s->srv->persona;
	char	 txt[SMTP_ARG_TEXT_MAX];

	if (persona_has(p, PM_BDAT_OK)) {
		smtp_bdat_cmd(s, c);
		return;
	}
	if (!persona_has(p, PM_BDAT)) {
		smtp_error(s, PM_NOT_IMPLEMENTED, NULL);
		return;
	}
	smtp_tx_free(s);
	if (persona_closes(p, PM_BDAT)) {
		smtp_reply(s, PM_BDAT, NULL);
		smtp_close(s, SMTP_C_NONSMTP);	/* a protocol it refuses */
	} else	/* sendmail: an unknown command, echoed whole */
		smtp_error(s, PM_BDAT, cmd_line_text(c, txt, sizeof(txt)));
}

static void
cmd_nonsmtp(struct smtp_session *s, const struct smtp_cmd *c)
{
	char	 txt[SMTP_ARG_TEXT_MAX];

	smtp_finding(s, SMTP_F_NONSMTP_COMMAND);
	smtp_tx_free(s);
	smtp_reply(s, PM_NONSMTP, smtp_arg_text(c->verb_text,
	    strlen(c->verb_text), txt, sizeof(txt)));
	if (persona_closes(s->srv->persona, PM_NONSMTP))
		smtp_close(s, SMTP_C_NONSMTP);
	else
		s->errors++;
}

static void
cmd_starttls(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct evbuffer *in;
	size_t	 left;

	if (c->arglen > 0) {
		smtp_error(s, PM_STARTTLS_ARGS, NULL);
		return;
	}
	if (s->srv->ssl_ctx == NULL) {
		/* not offered: the persona's reply to an unimplemented verb */
		smtp_error(s, PM_NOT_IMPLEMENTED, NULL);
		return;
	}
	if (s->tls) {
		smtp_error(s, PM_STARTTLS_UNAVAIL, NULL);
		return;
	}
	if (!s->esmtp && persona_has(s->srv->persona, PM_STARTTLS_NO_EHLO)) {
		smtp_error(s, PM_STARTTLS_NO_EHLO, NULL);
		return;
	}
	if (s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT) {
		if (!persona_quirk(s->srv->persona,
		    PERSONA_Q_STARTTLS_IN_MAIL)) {
			smtp_error(s, persona_has(s->srv->persona,
			    PM_STARTTLS_IN_MAIL) ? PM_STARTTLS_IN_MAIL :
			    PM_BAD_SEQUENCE, NULL);
			return;
		}
		smtp_tx_free(s);	/* TLS starts the session afresh */
		s->bdat_error = false;
		s->xbdat = SMTP_XBDAT_NONE;
		smtp_rcpt_forget(s);
	}
	smtp_finding(s, SMTP_F_STARTTLS);
	/*
	 * RFC 3207 5: nothing the client sent before TLS may be used after.
	 * What it pipelined is dropped but kept as evidence (its first
	 * SMTP_RAW_KEEP bytes, as Postfix logs them), before the 220.
	 */
	in = bufferevent_get_input(s->bev);
	if ((left = evbuffer_get_length(in)) > 0) {
		size_t	 keep = left < SMTP_RAW_KEEP ? left : SMTP_RAW_KEEP;

		smtp_finding(s, SMTP_F_STARTTLS_INJECTION);
		smtp_transcript_raw(s, (const char *)evbuffer_pullup(in,
		    (ssize_t)keep), keep);
		evbuffer_drain(in, left);
		s->bytes_in += left;
	}
	smtp_reply(s, PM_STARTTLS_GO, NULL);
	/* the TLS session starts from scratch: forget HELO (RFC 3207 4.2) */
	s->nonmail_used &= ~SMTP_NM_HELO;	/* Exim: EHLO is free again */
	free(s->helo);
	s->helo = NULL;
	free(s->helo_raw);
	s->helo_raw = NULL;
	s->esmtp = false;
	if (smtp_tls_start(s) == -1) {
		smtp_close(s, SMTP_C_TLS_ERROR);
		return;
	}
	s->resume = SMTP_S_GREETED;
}

static void
cmd_auth(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (s->authenticated) {
		smtp_error(s, PM_AUTH_ALREADY, NULL);
		return;
	}
	if (s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT) {
		smtp_error(s, PM_AUTH_IN_MAIL, NULL);
		return;
	}
	if (!s->esmtp) {
		/* AUTH was not offered: evidence, even where it is taken */
		smtp_finding(s, SMTP_F_BAD_SEQUENCE);
		if (!helo_optional(s) && !persona_quirk(s->srv->persona,
		    PERSONA_Q_AUTH_NO_EHLO)) {
			smtp_error(s, persona_has(s->srv->persona,
			    PM_AUTH_NO_EHLO) ? PM_AUTH_NO_EHLO :
			    PM_BAD_SEQUENCE, NULL);
			return;
		}
	}
	smtp_auth_start(s, c);
}
