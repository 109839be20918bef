/*
 * test_persona.c -- the personas against REFERENCE.md section 2: exact
 * replies, EHLO lists, nmap's match lines (translated to POSIX ERE),
 * wire shape of every reply, queue ids (format, uniqueness, never
 * "530"), Received headers, injection and truncation.
 */

#include "config.h"

#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persona.h"
#include "tap.h"

#define NOW	1732608060	/* Tue, 26 Nov 2024 08:01:00 UTC */
#define NOW5	1730793660	/* Tue,  5 Nov 2024 08:01:00 UTC */
#define HOST	"mail.example.net"
#define ADDR	"203.0.113.9"
#define NSEQ	10000

static const char *const names[] = { "postfix", "sendmail", "exim" };
#define NNAMES	(sizeof(names) / sizeof(names[0]))

static struct persona_vars
vars(const char *name, const char *arg, const char *qid)
{
	struct persona_vars v;

	memset(&v, 0, sizeof(v));
	v.hostname = HOST;
	v.client_addr = ADDR;
	v.client_name = name;
	v.helo = "client.example";
	v.arg = arg;
	v.queue_id = qid;
	v.size_limit = 10240000;
	v.size_shown = 10240000;
	v.now = NOW;
	return v;
}

/* ---- exact replies (REFERENCE 2.3 / 2.4) ---- */

struct reply_case {
	const char	*persona;
	enum persona_msg m;
	const char	*client_name;
	const char	*arg;
	const char	*qid;
	const char	*want;
};

static const struct reply_case reply_cases[] = {
	{ "postfix", PM_BANNER, NULL, NULL, NULL,
	    "220 " HOST " ESMTP Postfix (Debian/GNU)\r\n" },
	{ "postfix", PM_HELO, NULL, NULL, NULL, "250 " HOST "\r\n" },
	{ "postfix", PM_EHLO_NOARG, NULL, NULL, NULL,
	    "501 Syntax: EHLO hostname\r\n" },
	{ "postfix", PM_MAIL_OK, NULL, "user@example.org", NULL,
	    "250 2.1.0 Ok\r\n" },
	{ "postfix", PM_RCPT_OK, NULL, "dropbox@example.com", NULL,
	    "250 2.1.5 Ok\r\n" },
	{ "postfix", PM_DATA_GO, NULL, NULL, NULL,
	    "354 End data with <CR><LF>.<CR><LF>\r\n" },
	{ "postfix", PM_DATA_OK, NULL, NULL, "4C2B41A0D7F",
	    "250 2.0.0 Ok: queued as 4C2B41A0D7F\r\n" },
	{ "postfix", PM_RSET, NULL, NULL, NULL, "250 2.0.0 Ok\r\n" },
	{ "postfix", PM_NOOP, NULL, NULL, NULL, "250 2.0.0 Ok\r\n" },
	{ "postfix", PM_VRFY, NULL, "root", NULL, "252 2.0.0 root\r\n" },
	{ "postfix", PM_EXPN, NULL, "root", NULL,
	    "500 5.5.2 Error: command not recognized\r\n" },
	{ "postfix", PM_HELP, NULL, NULL, NULL,
	    "500 5.5.2 Error: command not recognized\r\n" },
	{ "postfix", PM_UNKNOWN, NULL, "FOO", NULL,
	    "500 5.5.2 Error: command not recognized\r\n" },
	{ "postfix", PM_QUIT, NULL, NULL, NULL, "221 2.0.0 Bye\r\n" },
	{ "postfix", PM_NONSMTP, NULL, "GET", NULL,
	    "221 2.7.0 Error: I can break rules, too. Goodbye.\r\n" },
	{ "postfix", PM_TOO_MANY_ERRORS, NULL, NULL, NULL,
	    "421 4.7.0 " HOST " Error: too many errors\r\n" },
	{ "postfix", PM_TIMEOUT, NULL, NULL, NULL,
	    "421 4.4.2 " HOST " Error: timeout exceeded\r\n" },
	{ "postfix", PM_DATA_TIMEOUT, NULL, NULL, NULL,
	    "421 4.4.2 " HOST " Error: timeout exceeded\r\n" },
	{ "postfix", PM_RCPT_BADPARAM, NULL, "FOO", NULL,
	    "555 5.5.4 Unsupported option: FOO\r\n" },
	{ "sendmail", PM_RCPT_BADPARAM, NULL, "FOO", NULL,
	    "555 5.5.4 FOO parameter unrecognized\r\n" },
	{ "sendmail", PM_DATA_TIMEOUT, NULL, NULL, NULL,
	    "451 4.4.1 timeout waiting for input during message collect\r\n" },
	{ "exim", PM_DATA_TIMEOUT, NULL, NULL, NULL,
	    "421 " HOST " SMTP incoming data timeout - closing connection.\r\n" },
	{ "postfix", PM_TOO_MANY_FROM_IP, NULL, NULL, NULL,
	    "421 4.7.0 " HOST " Error: too many connections from " ADDR
	    "\r\n" },
	{ "postfix", PM_RCPT_TOO_MANY, NULL, NULL, NULL,
	    "452 4.5.3 Error: too many recipients\r\n" },
	{ "postfix", PM_MAIL_TOOBIG, NULL, NULL, NULL,
	    "552 5.3.4 Message size exceeds fixed limit\r\n" },
	{ "postfix", PM_DATA_TOOBIG, NULL, NULL, NULL,
	    "552 5.3.4 Error: message file too big\r\n" },
	{ "postfix", PM_AUTH_USERNAME, NULL, NULL, NULL,
	    "334 VXNlcm5hbWU6\r\n" },
	{ "postfix", PM_AUTH_EMPTY, NULL, NULL, NULL, "334 \r\n" },
	{ "postfix", PM_AUTH_OK, NULL, NULL, NULL,
	    "235 2.7.0 Authentication successful\r\n" },
	{ "postfix", PM_AUTH_FAILED, NULL, NULL, NULL,
	    "535 5.7.8 Error: authentication failed: authentication "
	    "failure\r\n" },
	{ "postfix", PM_STARTTLS_GO, NULL, NULL, NULL,
	    "220 2.0.0 Ready to start TLS\r\n" },
	/* checked against a real postfix 3.7.11 (Debian 12) */
	{ "postfix", PM_DATA_NEED_RCPT, NULL, NULL, NULL,
	    "554 5.5.1 Error: no valid recipients\r\n" },
	{ "postfix", PM_DATA_NEED_MAIL, NULL, NULL, NULL,
	    "503 5.5.1 Error: need RCPT command\r\n" },
	{ "postfix", PM_VRFY_NOARG, NULL, NULL, NULL,
	    "501 5.5.4 Syntax: VRFY address [SMTPUTF8]\r\n" },
	{ "postfix", PM_MAIL_BADPARAM, NULL, "FOO=bar", NULL,
	    "555 5.5.4 Unsupported option: FOO=bar\r\n" },
	{ "postfix", PM_MAIL_BADVALUE, NULL, "RET", NULL,
	    "501 5.5.4 Bad RET parameter syntax\r\n" },
	{ "postfix", PM_RCPT_BADVALUE, NULL, "NOTIFY", NULL,
	    "501 5.5.4 Error: Bad NOTIFY parameter syntax\r\n" },
	{ "postfix", PM_RCPT_NULL, NULL, NULL, NULL,
	    "501 5.1.3 Bad recipient address syntax\r\n" },
	{ "postfix", PM_RSET_ARGS, NULL, NULL, NULL,
	    "501 5.5.4 Syntax: RSET\r\n" },
	{ "postfix", PM_EMPTY_LINE, NULL, NULL, NULL,
	    "500 5.5.2 Error: bad syntax\r\n" },
	{ "postfix", PM_BDAT_OK, NULL, "10", NULL,
	    "250 2.0.0 Ok: 10 bytes\r\n" },
	{ "postfix", PM_BDAT_QUEUED, NULL, "17", "4C2B41A0D7F",
	    "250 2.0.0 Ok: 17 bytes queued as 4C2B41A0D7F\r\n" },
	{ "postfix", PM_BDAT_DISCARDED, NULL, "3", NULL,
	    "551 5.0.0 Discarded 3 bytes after earlier error\r\n" },
	{ "postfix", PM_XCLIENT, NULL, NULL, NULL,
	    "550 5.7.0 Error: insufficient authorization\r\n" },
	{ "postfix", PM_ETRN_SYNTAX, NULL, NULL, NULL,
	    "500 Syntax: ETRN domain\r\n" },
	{ "postfix", PM_ETRN_BADARG, NULL, NULL, NULL,
	    "501 Error: invalid parameter syntax\r\n" },
	{ "postfix", PM_ETRN_IN_MAIL, NULL, NULL, NULL,
	    "503 Error: MAIL transaction in progress\r\n" },
	{ "postfix", PM_AUTH_B64_PARTIAL, NULL, NULL, NULL,
	    "535 5.7.8 Error: authentication failed: another step is needed "
	    "in authentication\r\n" },
	{ "postfix", PM_AUTH_ARGS, NULL, NULL, NULL,
	    "501 5.5.4 Syntax: AUTH mechanism\r\n" },
	{ "postfix", PM_AUTH_SERVER_FIRST, NULL, NULL, NULL,
	    "535 5.7.8 Error: authentication failed: bad protocol / "
	    "cancel\r\n" },

	{ "sendmail", PM_BANNER, "client.example", NULL, NULL,
	    "220 " HOST " ESMTP Sendmail 8.17.1.9/8.17.1.9/Debian-2+deb12u2; "
	    "Tue, 26 Nov 2024 08:01:00 GMT; (No UCE/UBE) logging access from: "
	    "client.example(OK)-client.example [" ADDR "]\r\n" },
	{ "sendmail", PM_BANNER, NULL, NULL, NULL,
	    "220 " HOST " ESMTP Sendmail 8.17.1.9/8.17.1.9/Debian-2+deb12u2; "
	    "Tue, 26 Nov 2024 08:01:00 GMT; (No UCE/UBE) logging access from: "
	    "[" ADDR "](FAIL)-[" ADDR "]\r\n" },
	{ "sendmail", PM_HELO, "client.example", NULL, NULL,
	    "250 " HOST " Hello client.example [" ADDR "], pleased to meet "
	    "you\r\n" },
	{ "sendmail", PM_HELO, NULL, NULL, NULL,
	    "250 " HOST " Hello [" ADDR "], pleased to meet you\r\n" },
	{ "sendmail", PM_EHLO_NOARG, NULL, NULL, NULL,
	    "501 5.0.0 EHLO requires domain address\r\n" },
	/* checked against a real sendmail 8.17.1.9 (Debian 12): %a is the
	 * path as the client wrote it, shown 7-bit */
	{ "sendmail", PM_MAIL_OK, NULL, "<user@example.org>", NULL,
	    "250 2.1.0 <user@example.org>... Sender ok\r\n" },
	{ "sendmail", PM_MAIL_OK, NULL, "<>", NULL,
	    "250 2.1.0 <>... Sender ok\r\n" },
	{ "sendmail", PM_MAIL_OK, NULL, "user@example.org", NULL,
	    "250 2.1.0 user@example.org... Sender ok\r\n" },
	{ "sendmail", PM_MAIL_OK, NULL, "<\xfc@example.org>", NULL,
	    "250 2.1.0 <|@example.org>... Sender ok\r\n" },
	{ "sendmail", PM_RCPT_OK, NULL, "<dropbox@example.com>", NULL,
	    "250 2.1.5 <dropbox@example.com>... Recipient ok\r\n" },
	{ "sendmail", PM_DATA_GO, NULL, NULL, NULL,
	    "354 End data with <CR><LF>.<CR><LF>\r\n" },
	{ "sendmail", PM_ADDR_UNBALANCED_LT, NULL, "<a@b", NULL,
	    "553 5.0.0 <a@b... Unbalanced '<'\r\n" },
	{ "sendmail", PM_RCPT_NULL, NULL, NULL, NULL,
	    "553 5.0.0 <>... User address required\r\n" },
	{ "sendmail", PM_NONSMTP, NULL, NULL, NULL,
	    "421 4.7.0 " HOST " Rejecting open proxy [" ADDR "]\r\n" },
	{ "sendmail", PM_LINE_TOO_LONG, NULL, NULL, NULL,
	    "421 4.7.0 " HOST " Command too long, possible attack [" ADDR
	    "]\r\n" },
	{ "sendmail", PM_HELP_TOPIC, NULL, "mail rcpt data", NULL,
	    "504 5.3.0 HELP topic \"mail rcpt \" unknown\r\n" },
	/* control bytes echoed as sendmail does, 7-bit; CR, LF, NUL not */
	{ "sendmail", PM_HELP_TOPIC, NULL, "a\x01\tb", NULL,
	    "504 5.3.0 HELP topic \"a\x01\tb\" unknown\r\n" },
	{ "sendmail", PM_HELP_TOPIC, NULL, "a\x8d\x8a\x80" "b\rc", NULL,
	    "504 5.3.0 HELP topic \"a???bc\" unknown\r\n" },
	{ "sendmail", PM_STARTTLS_IN_MAIL, NULL, NULL, NULL,
	    "503 5.5.0 TLS not permitted during a mail transaction\r\n" },
	{ "sendmail", PM_UNKNOWN, NULL, "FOO\xe4", NULL,
	    "500 5.5.1 Command unrecognized: \"FOOd\"\r\n" },
	{ "sendmail", PM_DATA_OK, NULL, NULL, "4AQ81x2A012345",
	    "250 2.0.0 4AQ81x2A012345 Message accepted for delivery\r\n" },
	{ "sendmail", PM_RSET, NULL, NULL, NULL, "250 2.0.0 Reset state\r\n" },
	{ "sendmail", PM_NOOP, NULL, NULL, NULL, "250 2.0.0 OK\r\n" },
	{ "sendmail", PM_VRFY, NULL, "root", NULL,
	    "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery (or try "
	    "finger)\r\n" },
	{ "sendmail", PM_EXPN, NULL, "root", NULL,
	    "502 5.7.0 Sorry, we do not allow this operation\r\n" },
	{ "sendmail", PM_HELP, NULL, NULL, NULL,
	    "214-2.0.0 This is sendmail version 8.17.1.9\r\n"
	    "214-2.0.0 Topics:\r\n"
	    "214-2.0.0 \tHELO\tEHLO\tMAIL\tRCPT\tDATA\r\n"
	    "214-2.0.0 \tRSET\tNOOP\tQUIT\tHELP\tVRFY\r\n"
	    "214-2.0.0 \tEXPN\tVERB\tETRN\tDSN\tAUTH\r\n"
	    "214-2.0.0 \tSTARTTLS\r\n"
	    "214-2.0.0 For more info use \"HELP <topic>\".\r\n"
	    "214-2.0.0 To report bugs in the implementation see\r\n"
	    "214-2.0.0 \thttp://www.sendmail.org/email-addresses.html\r\n"
	    "214-2.0.0 For local information send email to Postmaster at "
	    "your site.\r\n"
	    "214 2.0.0 End of HELP info\r\n" },
	{ "sendmail", PM_UNKNOWN, NULL, "FOO", NULL,
	    "500 5.5.1 Command unrecognized: \"FOO\"\r\n" },
	{ "sendmail", PM_QUIT, NULL, NULL, NULL,
	    "221 2.0.0 " HOST " closing connection\r\n" },
	{ "sendmail", PM_TOO_MANY_ERRORS, NULL, NULL, NULL,
	    "421 4.7.0 " HOST " Too many bad commands; closing "
	    "connection\r\n" },
	{ "sendmail", PM_TIMEOUT, NULL, NULL, NULL,
	    "421 4.4.1 " HOST " Lost input channel from [" ADDR "]\r\n" },
	{ "sendmail", PM_MAIL_TOOBIG, NULL, NULL, NULL,
	    "552 5.2.3 Message size exceeds fixed maximum message size "
	    "(10240000)\r\n" },
	{ "sendmail", PM_AUTH_OK, NULL, NULL, NULL,
	    "235 2.0.0 OK Authenticated\r\n" },
	{ "sendmail", PM_AUTH_FAILED, NULL, NULL, NULL,
	    "535 5.7.0 authentication failed\r\n" },
	{ "sendmail", PM_AUTH_BADMECH, NULL,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", NULL,
	    "504 5.3.3 AUTH mechanism ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 not "
	    "available\r\n" },
	{ "sendmail", PM_STARTTLS_ARGS, NULL, NULL, NULL,
	    "501 5.5.2 Syntax error (no parameters allowed)\r\n" },

	{ "exim", PM_BANNER, NULL, NULL, NULL,
	    "220 " HOST " ESMTP Exim 4.96 Tue, 26 Nov 2024 08:01:00 "
	    "+0000\r\n" },
	{ "exim", PM_HELO, NULL, NULL, NULL,
	    "250 " HOST " Hello client.example [" ADDR "]\r\n" },
	{ "exim", PM_HELO, "ptr.example", NULL, NULL,
	    "250 " HOST " Hello ptr.example [" ADDR "]\r\n" },
	{ "exim", PM_EHLO_NOARG, NULL, NULL, NULL,
	    "501 Syntactically invalid EHLO argument(s)\r\n" },
	{ "exim", PM_MAIL_OK, NULL, "user@example.org", NULL, "250 OK\r\n" },
	{ "exim", PM_RCPT_OK, NULL, "dropbox@example.com", NULL,
	    "250 Accepted\r\n" },
	{ "exim", PM_DATA_GO, NULL, NULL, NULL,
	    "354 Enter message, ending with \".\" on a line by itself\r\n" },
	{ "exim", PM_DATA_OK, NULL, NULL, "1tFz4K-000123-AB",
	    "250 OK id=1tFz4K-000123-AB\r\n" },
	{ "exim", PM_RSET, NULL, NULL, NULL, "250 Reset OK\r\n" },
	{ "exim", PM_NOOP, NULL, NULL, NULL, "250 OK\r\n" },
	{ "exim", PM_VRFY, NULL, "root", NULL,
	    "252 Administrative prohibition\r\n" },
	{ "exim", PM_EXPN, NULL, "root", NULL,
	    "550 Administrative prohibition\r\n" },
	{ "exim", PM_HELP, NULL, NULL, NULL,
	    "214-Commands supported:\r\n"
	    "214 AUTH STARTTLS HELO EHLO MAIL RCPT DATA BDAT NOOP QUIT RSET "
	    "HELP\r\n" },
	{ "exim", PM_UNKNOWN, NULL, "FOO", NULL,
	    "500 unrecognized command\r\n" },
	{ "exim", PM_QUIT, NULL, NULL, NULL,
	    "221 " HOST " closing connection\r\n" },
	/* smtp_tx.c makes Exim's "<path>: reason" (exim_text()) */
	{ "exim", PM_MAIL_BADADDR, NULL, "<a@>: domain missing or malformed",
	    NULL, "501 <a@>: domain missing or malformed\r\n" },
	{ "exim", PM_AUTH_SYNTAX, NULL, NULL, NULL,
	    "504  authentication mechanism not supported\r\n" },
	{ "exim", PM_AUTH_FAILED, NULL, NULL, NULL,
	    "535 Incorrect authentication data\r\n" },
	{ "exim", PM_STARTTLS_GO, NULL, NULL, NULL, "220 TLS go ahead\r\n" },
	/* checked against a real exim 4.96 (Debian 12) */
	{ "exim", PM_VRFY_NOARG, NULL, NULL, NULL, "501 empty address\r\n" },
	{ "exim", PM_VRFY_NODOMAIN, NULL, "root", NULL,
	    "501 root: recipient address must contain a domain\r\n" },
	{ "exim", PM_RSET_ARGS, NULL, NULL, NULL,
	    "501 unexpected argument data\r\n" },
	{ "exim", PM_AUTH_NO_EHLO, NULL, NULL, NULL,
	    "503 AUTH command used when not advertised\r\n" },
	{ "exim", PM_STARTTLS_NO_EHLO, NULL, NULL, NULL,
	    "503 STARTTLS command used when not advertised\r\n" },
	{ "exim", PM_TOO_MANY_ERRORS, NULL, NULL, NULL,
	    "500 Too many unrecognized commands\r\n" },
};

static void
test_exact_replies(void)
{
	char	 out[PERSONA_REPLY_MAX];
	size_t	 i, n;

	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *c = &reply_cases[i];
		struct persona_vars v = vars(c->client_name, c->arg, c->qid);

		n = persona_reply(persona_find(c->persona), c->m, &v, out,
		    sizeof(out));
		is_str(n > 0 ? out : "(none)", c->want, "%s msg %d exact",
		    c->persona, (int)c->m);
		is_int(n, strlen(c->want), "%s msg %d length", c->persona,
		    (int)c->m);
	}
}

/* ---- EHLO ---- */

struct ehlo_case {
	const char	*persona;
	const char	*client_name;
	unsigned int	 ext;
	const char	*want;
};

static const struct ehlo_case ehlo_cases[] = {
	{ "postfix", NULL, PERSONA_EXT_STARTTLS | PERSONA_EXT_AUTH,
	    "250-" HOST "\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	    "250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n"
	    "250-AUTH PLAIN LOGIN CRAM-MD5\r\n250-ENHANCEDSTATUSCODES\r\n"
	    "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n" },
	{ "postfix", NULL, 0,
	    "250-" HOST "\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	    "250-VRFY\r\n250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n"
	    "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n" },
	{ "sendmail", "client.example", PERSONA_EXT_STARTTLS | PERSONA_EXT_AUTH,
	    "250-" HOST " Hello client.example [" ADDR "], pleased to meet "
	    "you\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n"
	    "250-8BITMIME\r\n250-SIZE 10240000\r\n250-DSN\r\n250-ETRN\r\n"
	    "250-AUTH CRAM-MD5 LOGIN PLAIN\r\n250-STARTTLS\r\n"
	    "250-DELIVERBY\r\n250 HELP\r\n" },
	{ "sendmail", NULL, PERSONA_EXT_STARTTLS,
	    "250-" HOST " Hello [" ADDR "], pleased to meet you\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
	    "250-SIZE 10240000\r\n250-DSN\r\n250-ETRN\r\n250-STARTTLS\r\n"
	    "250-DELIVERBY\r\n250 HELP\r\n" },
	/* [verified] exim 4.96 with Debian's settings, in this order */
	{ "exim", NULL, PERSONA_EXT_STARTTLS | PERSONA_EXT_AUTH |
	    PERSONA_EXT_PIPECONNECT,
	    "250-" HOST " Hello client.example [" ADDR "]\r\n"
	    "250-SIZE 10240000\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
	    "250-PIPECONNECT\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n"
	    "250-CHUNKING\r\n250-STARTTLS\r\n250-PRDR\r\n250 HELP\r\n" },
	/* after a DATA or BDAT: no PIPECONNECT */
	{ "exim", NULL, PERSONA_EXT_AUTH,
	    "250-" HOST " Hello client.example [" ADDR "]\r\n"
	    "250-SIZE 10240000\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
	    "250-AUTH PLAIN LOGIN CRAM-MD5\r\n"
	    "250-CHUNKING\r\n250-PRDR\r\n250 HELP\r\n" },
};

static void
test_ehlo(void)
{
	char	 out[PERSONA_REPLY_MAX], want[128];
	size_t	 i, n;

	for (i = 0; i < sizeof(ehlo_cases) / sizeof(ehlo_cases[0]); i++) {
		const struct ehlo_case *c = &ehlo_cases[i];
		const struct persona *p = persona_find(c->persona);
		struct persona_vars v = vars(c->client_name, NULL, NULL);

		n = persona_ehlo(p, &v, c->ext, out, sizeof(out));
		is_str(n > 0 ? out : "(none)", c->want, "%s ehlo ext=%u",
		    c->persona, c->ext);
		/* CHUNKING exactly when the persona has the BDAT replies */
		ok((strstr(out, "CHUNKING") != NULL) == persona_has(p,
		    PM_BDAT_OK), "%s ehlo: CHUNKING %s", c->persona,
		    persona_has(p, PM_BDAT_OK) ? "offered" : "not offered");
		ok((strstr(out, "\r\n250-PRDR\r\n") != NULL) == persona_has(p,
		    PM_MAIL_PRDR), "%s ehlo: PRDR %s", c->persona,
		    persona_has(p, PM_MAIL_PRDR) ? "offered" : "not offered");
		if (c->ext & PERSONA_EXT_AUTH) {
			(void)snprintf(want, sizeof(want), "250-AUTH %s\r\n",
			    persona_auth_mechs(p));
			ok(strstr(out, want) != NULL,
			    "%s ehlo AUTH line = auth_mechs", c->persona);
		}
		n = persona_ehlo(p, &v, c->ext, out, strlen(c->want));
		is_int(n, 0, "%s ehlo truncated", c->persona);
		n = persona_ehlo(p, &v, c->ext, out, strlen(c->want) + 1);
		is_int(n, strlen(c->want), "%s ehlo just fits", c->persona);
	}

	/* the stock limits (REFERENCE.md 2): Sendmail has none, says "SIZE" */
	is_int(persona_size_limit(persona_find("postfix")), 10240000,
	    "postfix stock size limit");
	is_int(persona_size_limit(persona_find("exim")), 52428800,
	    "exim stock size limit");
	is_int(persona_size_limit(persona_find("sendmail")), 0,
	    "sendmail: no stock size limit");
	{
		struct persona_vars v = vars(NULL, NULL, NULL);

		v.size_shown = 0;
		n = persona_ehlo(persona_find("sendmail"), &v, 0, out,
		    sizeof(out));
		ok(n > 0 && strstr(out, "\r\n250-SIZE\r\n250-DSN\r\n") != NULL,
		    "sendmail without a limit: a bare SIZE");
	}
}

/* ---- wire shape of every reply ---- */

/* every line "NNN-" but the last "NNN ", same code, CRLF only */
static int
wire_ok(const char *s, size_t n)
{
	const char *line = s, *end = s + n, *crlf;

	if (n < 6 || memcmp(end - 2, "\r\n", 2) != 0)
		return 0;
	while (line < end) {
		crlf = strstr(line, "\r\n");
		if (crlf == NULL || crlf - line < 4)
			return 0;
		if (memcmp(line, s, 3) != 0 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' ||
		    line[2] < '0' || line[2] > '9')
			return 0;
		if (line[3] != (crlf + 2 == end ? ' ' : '-'))
			return 0;
		if (memchr(line, '\n', (size_t)(crlf - line)) != NULL ||
		    memchr(line, '\r', (size_t)(crlf - line)) != NULL)
			return 0;
		line = crlf + 2;
	}
	return 1;
}

static void
test_all_messages(void)
{
	char	 out[PERSONA_REPLY_MAX];
	size_t	 i, n, n2;
	int	 m, bad, trunc;

	for (i = 0; i < NNAMES; i++) {
		const struct persona *p = persona_find(names[i]);
		struct persona_vars v = vars("client.example", "arg",
		    "QID0123");

		bad = trunc = 0;
		for (m = 0; m < PM_COUNT; m++) {
			/* the optional ones may be missing (persona.h) */
			if (m >= PM_MAIL_BADVALUE &&
			    !persona_has(p, (enum persona_msg)m)) {
				is_int(persona_reply(p, (enum persona_msg)m,
				    &v, out, sizeof(out)), 0,
				    "%s msg %d: missing renders nothing",
				    names[i], m);
				continue;
			}
			n = persona_reply(p, (enum persona_msg)m, &v, out,
			    sizeof(out));
			if (n == 0 || strlen(out) != n || !wire_ok(out, n)) {
				bad++;
				printf("# %s msg %d: bad reply \"%s\"\n",
				    names[i], m, n > 0 ? out : "");
				continue;
			}
			n2 = persona_reply(p, (enum persona_msg)m, &v, out, n);
			if (n2 != 0)
				trunc++;
			n2 = persona_reply(p, (enum persona_msg)m, &v, out,
			    n + 1);
			if (n2 != n)
				trunc++;
		}
		is_int(bad, 0, "%s: every message renders a valid reply",
		    names[i]);
		is_int(trunc, 0, "%s: no room for the NUL is an error",
		    names[i]);
		is_int(persona_reply(p, PM_COUNT, &v, out, sizeof(out)), 0,
		    "%s: PM_COUNT renders nothing", names[i]);
		ok(persona_closes(p, PM_QUIT) &&
		    persona_closes(p, PM_TIMEOUT) &&
		    persona_closes(p, PM_TOO_MANY_ERRORS) &&
		    !persona_closes(p, PM_MAIL_OK) &&
		    !persona_closes(p, PM_RSET),
		    "%s: closes after QUIT and 421s only", names[i]);
		for (m = 0; m < PM_COUNT; m++) {
			n = persona_reply(p, (enum persona_msg)m, &v, out,
			    sizeof(out));
			if (n > 0 && strncmp(out, "421", 3) == 0 &&
			    !persona_closes(p, (enum persona_msg)m))
				ok(0, "%s msg %d: a 421 that does not close",
				    names[i], m);
		}
	}
	ok(persona_closes(persona_find("postfix"), PM_NONSMTP),
	    "postfix hangs up on non-SMTP");
	for (i = 0; i < NNAMES; i++) {
		const struct persona *p = persona_find(names[i]);
		int	 b, missing = 0, nprdr = 0;

		for (b = PM_PRDR_BEGIN; b <= PM_PRDR_OK; b++)
			nprdr += !persona_has(p, (enum persona_msg)b);
		ok(!persona_has(p, PM_MAIL_PRDR) || nprdr == 0,
		    "%s: PRDR only with every PRDR reply (%d missing)",
		    names[i], nprdr);
		for (b = PM_BDAT_QUEUED; b <= PM_BDAT_TOOBIG; b++)
			if (b != PM_BDAT_DISCARDED || !persona_quirk(p,
			    PERSONA_Q_EXIM_BDAT))
				missing += !persona_has(p, (enum persona_msg)b);
		/* Exim's between chunks, instead of Postfix's discarding */
		for (b = PM_BDAT_NEED_RCPT; b <= PM_BDAT_LOST; b++)
			if (persona_quirk(p, PERSONA_Q_EXIM_BDAT))
				missing += !persona_has(p, (enum persona_msg)b);
		ok(!persona_has(p, PM_BDAT_OK) || missing == 0,
		    "%s: CHUNKING only with every BDAT reply (%d missing)",
		    names[i], missing);
	}
	ok(persona_closes(persona_find("postfix"), PM_BDAT_SYNTAX),
	    "postfix hangs up on a BDAT whose chunk size it cannot read");
	ok(persona_quirk(persona_find("postfix"), PERSONA_Q_HELO_OPTIONAL |
	    PERSONA_Q_STARTTLS_IN_MAIL | PERSONA_Q_PARAM_TOKEN |
	    PERSONA_Q_FORBID_CMDS | PERSONA_Q_ETRN_STRIP |
	    PERSONA_Q_VRFY_ADDR),
	    "postfix: HELO optional, STARTTLS in MAIL, whole parameter in "
	    "replies, smtpd_forbidden_commands, ETRN strips @/#, VRFY takes "
	    "an address");
	/*
	 * Each product's quirks, as the real ones showed them (sendmail
	 * 8.17.1.9 and exim 4.96 on Debian 12): exactly these bits.
	 */
	{
		static const struct {
			const char	*name;
			unsigned int	 quirks;
			unsigned int	 unknown_max;
		} q[] = {
			{ "sendmail", PERSONA_Q_AUTH_NO_EHLO |
			    PERSONA_Q_PATH_ECHO | PERSONA_Q_STRIP8 |
			    PERSONA_Q_PROXY_GUARD | PERSONA_Q_DATA_ARGS |
			    PERSONA_Q_OLD_VERBS, 25 },
			{ "exim", PERSONA_Q_STARTTLS_IN_MAIL |
			    PERSONA_Q_EXIM_ADDR | PERSONA_Q_SYNPROT |
			    PERSONA_Q_NONMAIL, 3 },
		};
		unsigned int bit, got;

		for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
			const struct persona *p = persona_find(q[i].name);

			for (got = 0, bit = 1; bit != 0 && bit <= 0x20000;
			    bit <<= 1)
				if (persona_quirk(p, bit))
					got |= bit;
			is_int((int)got, (int)q[i].quirks, "%s: its quirks",
			    q[i].name);
			is_int((int)persona_unknown_max(p),
			    (int)q[i].unknown_max,
			    "%s: unknown commands before it hangs up",
			    q[i].name);
		}
		is_int((int)persona_unknown_max(persona_find("postfix")), 0,
		    "postfix: unknown commands count as errors");
	}
	/* postfix's optional replies that the others do not give */
	for (i = 1; i < NNAMES; i++) {
		const struct persona *p = persona_find(names[i]);

		/* Exim's MAIL_BADVALUE is its BODY error */
		ok((!persona_has(p, PM_MAIL_BADVALUE) ||
		    strcmp(names[i], "exim") == 0) &&
		    !persona_has(p, PM_RCPT_BADVALUE) &&
		    !persona_has(p, PM_EMPTY_LINE) &&
		    !persona_has(p, PM_XCLIENT) &&
		    !persona_has(p, PM_ETRN_SYNTAX) &&
		    !persona_has(p, PM_AUTH_B64_PARTIAL),
		    "%s: none of postfix's optional replies", names[i]);
	}
	/* sendmail's open-proxy guard hangs up (a first "GET "...) */
	ok(persona_closes(persona_find("sendmail"), PM_NONSMTP) &&
	    persona_closes(persona_find("sendmail"), PM_LINE_TOO_LONG) &&
	    !persona_closes(persona_find("exim"), PM_NONSMTP),
	    "sendmail hangs up on an open-proxy probe and a line too long; "
	    "exim answers non-SMTP as unknown");
}

/* ---- nmap-service-probes match lines (REFERENCE 2.2) ---- */

/* nmap's PCRE subset to POSIX ERE: \s \S \d \w \r \n, (?:, escapes */
static int
pcre2ere(const char *in, char *out, size_t outsz)
{
	size_t	 o = 0;
	int	 br = 0;
	const char *add;
	char	 one[3];

#define EMIT(s) do {							\
	size_t l_ = strlen(s);						\
	if (o + l_ >= outsz)						\
		return -1;						\
	memcpy(out + o, (s), l_);					\
	o += l_;							\
} while (0)
	for (; *in != '\0'; in++) {
		one[1] = one[2] = '\0';
		if (!br && in[0] == '(' && in[1] == '?' && in[2] == ':') {
			EMIT("(");
			in += 2;
			continue;
		}
		if (*in == '[' && !br) {
			br = 1;
			EMIT("[");
			if (in[1] == '^') {
				EMIT("^");
				in++;
			}
			continue;
		}
		if (*in == ']' && br) {
			br = 0;
			EMIT("]");
			continue;
		}
		if (*in != '\\') {
			one[0] = *in;
			EMIT(one);
			continue;
		}
		in++;
		switch (*in) {
		case 's':
			add = br ? "[:space:]" : "[[:space:]]";
			break;
		case 'S':
			if (br)
				return -1;
			add = "[^[:space:]]";
			break;
		case 'd':
			add = br ? "[:digit:]" : "[[:digit:]]";
			break;
		case 'w':
			add = br ? "[:alnum:]_" : "[[:alnum:]_]";
			break;
		case 'r':
			add = "\r";
			break;
		case 'n':
			add = "\n";
			break;
		case '\0':
			return -1;
		default:
			if (br) {
				one[0] = *in;
			} else {
				one[0] = '\\';
				one[1] = *in;
			}
			add = one;
			break;
		}
		EMIT(add);
	}
	out[o] = '\0';
	return 0;
#undef EMIT
}

struct nmap_case {
	const char	*persona;
	const char	*what;		/* the probe: banner, +HELP, +GET */
	const char	*re;		/* as in nmap-service-probes */
	int		 want;		/* 1 match, 0 no match */
	const char	*g1, *g2;	/* expected groups, or NULL */
};

static const struct nmap_case nmap_cases[] = {
	{ "sendmail", "banner",
	    "^220[\\s-](\\S+) E?SMTP Sendmail (\\d[^; ]+)", 1,
	    HOST, "8.17.1.9/8.17.1.9/Debian-2+deb12u2" },
	{ "sendmail", "help",
	    "214-2\\.0\\.0 This is sendmail version (\\S+)\\r?\\n"
	    "214-2\\.0\\.0 Topics:", 1, "8.17.1.9", NULL },
	{ "postfix", "banner", "^220 ([-.\\w]+) ESMTP Postfix \\(([-.\\w]+)\\) "
	    "\\(([-.\\w ]+)\\)", 0, NULL, NULL },
	{ "postfix", "banner", "^220 (.*) ([\\w._-]+) ESMTP Postfix "
	    "\\(([\\w._-]+)\\)\\r\\n", 0, NULL, NULL },
	{ "postfix", "banner", "^220([\\s-]\\S+) ESMTP Postfix", 1,
	    " " HOST, NULL },
	{ "postfix", "banner",
	    "^(?:220-.*\\r\\n)?220 ([\\w._-]+) ESMTP Postfix",
	    1, NULL, HOST },
	{ "postfix", "nonsmtp", "^220 .*\\r\\n221 2\\.7\\.0 Error: I can break "
	    "rules, too\\. Goodbye\\.\\r\\n", 1, NULL, NULL },
	{ "exim", "banner", "^220[- ]([^\\r\\n]+) ESMTP Exim (V?\\d\\S+)", 1,
	    HOST, "4.96" },
	/* the softmatch every SMTP persona must at least meet */
	{ "postfix", "banner", "^220[\\s-].*E?SMTP[^\\r]*\\r\\n", 1, NULL,
	    NULL },
	{ "sendmail", "banner", "^220[\\s-].*E?SMTP[^\\r]*\\r\\n", 1, NULL,
	    NULL },
	{ "exim", "banner", "^220[\\s-].*E?SMTP[^\\r]*\\r\\n", 1, NULL, NULL },
	/* no persona looks like another product */
	{ "sendmail", "banner", "^220([\\s-]\\S+) ESMTP Postfix", 0, NULL,
	    NULL },
	{ "exim", "banner", "^220[\\s-](\\S+) E?SMTP Sendmail (\\d[^; ]+)", 0,
	    NULL, NULL },
	{ "postfix", "banner", "^220[- ]([^\\r\\n]+) ESMTP Exim (V?\\d\\S+)", 0,
	    NULL, NULL },
};

static int
group_is(const char *s, const regmatch_t *g, const char *want)
{
	size_t	 len;

	if (want == NULL)
		return 1;
	if (g->rm_so < 0)
		return 0;
	len = (size_t)(g->rm_eo - g->rm_so);
	return len == strlen(want) && memcmp(s + g->rm_so, want, len) == 0;
}

static void
test_nmap(void)
{
	char		 ere[1024], text[2 * PERSONA_REPLY_MAX];
	char		 reply[PERSONA_REPLY_MAX];
	regex_t		 re;
	regmatch_t	 g[4];
	size_t		 i, n;
	int		 rc;

	for (i = 0; i < sizeof(nmap_cases) / sizeof(nmap_cases[0]); i++) {
		const struct nmap_case *c = &nmap_cases[i];
		const struct persona *p = persona_find(c->persona);
		struct persona_vars v = vars(NULL, "GET", NULL);

		n = persona_reply(p, PM_BANNER, &v, text, sizeof(text));
		if (strcmp(c->what, "help") == 0)
			(void)persona_reply(p, PM_HELP, &v, reply,
			    sizeof(reply));
		else if (strcmp(c->what, "nonsmtp") == 0)
			(void)persona_reply(p, PM_NONSMTP, &v, reply,
			    sizeof(reply));
		else
			reply[0] = '\0';
		if (n + strlen(reply) < sizeof(text))
			memcpy(text + n, reply, strlen(reply) + 1);
		if (!ok(pcre2ere(c->re, ere, sizeof(ere)) == 0 &&
		    regcomp(&re, ere, REG_EXTENDED) == 0,
		    "nmap re %zu compiles", i))
			continue;
		rc = regexec(&re, text, 4, g, 0);
		if (c->want)
			ok(rc == 0 && group_is(text, &g[1], c->g1) &&
			    group_is(text, &g[2], c->g2),
			    "nmap: %s %s matches %s", c->persona, c->what,
			    c->re);
		else
			ok(rc == REG_NOMATCH, "nmap: %s %s does not match %s",
			    c->persona, c->what, c->re);
		regfree(&re);
	}
}

/* ---- queue ids ---- */

static int
cmpstr(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* base-62 of t, 6 digits, with the last three replaced by "530" */
static time_t
exim_time_with_530(time_t t)
{
	return t - (t % (62 * 62 * 62)) + (5 * 62 * 62 + 3 * 62 + 0);
}

static void
test_queue_ids(void)
{
	static const char *const fmts[] = {
		"^[0-9A-F]{11}$",
		"^[0-9A-Za-z]{8}[0-9]{6}$",
		"^[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}$",
	};
	static char	 ids[NSEQ][PERSONA_QID_MAX];
	char		 id[PERSONA_QID_MAX], small[4];
	regex_t		 re;
	size_t		 i, k, dup, fmt, has530;
	uint64_t	 seq;

	for (i = 0; i < NNAMES; i++) {
		const struct persona *p = persona_find(names[i]);

		if (regcomp(&re, fmts[i], REG_EXTENDED | REG_NOSUB) != 0) {
			ok(0, "format re compiles");
			continue;
		}
		fmt = has530 = 0;
		for (seq = 0; seq < NSEQ; seq++) {
			persona_queue_id(p, NOW, seq, ids[seq], sizeof(ids[0]));
			if (regexec(&re, ids[seq], 0, NULL, 0) != 0) {
				if (fmt++ == 0)
					printf("# bad id %s\n", ids[seq]);
			}
			if (strstr(ids[seq], "530") != NULL)
				has530++;
			/* other times, other seqs */
			persona_queue_id(p, NOW + (time_t)seq * 7919,
			    seq * 1000003u, id, sizeof(id));
			if (strstr(id, "530") != NULL)
				has530++;
			if (regexec(&re, id, 0, NULL, 0) != 0)
				fmt++;
		}
		is_int(fmt, 0, "%s: %d queue ids have the product's format",
		    names[i], 2 * NSEQ);
		is_int(has530, 0, "%s: no queue id contains 530", names[i]);
		qsort(ids, NSEQ, sizeof(ids[0]), cmpstr);
		for (dup = 0, k = 1; k < NSEQ; k++)
			if (strcmp(ids[k - 1], ids[k]) == 0)
				dup++;
		is_int(dup, 0, "%s: %d seqs, %d distinct ids", names[i], NSEQ,
		    NSEQ);
		persona_queue_id(p, NOW, 1, small, sizeof(small));
		is_str(small, "", "%s: too small a buffer gets \"\"", names[i]);
		regfree(&re);
	}

	/* sendmail: time fields, and a time that spells 530 */
	persona_queue_id(persona_find("sendmail"), NOW, 0, id, sizeof(id));
	ok(strncmp(id, "4AQ810", 6) == 0, "sendmail id %s starts 4AQ810 "
	    "(2024 Nov 26 08:01:00)", id);
	/* 2025-06-03 00:10:00: year '5', month '5', day '3', hour '0' */
	persona_queue_id(persona_find("sendmail"), 1748909400, 0, id,
	    sizeof(id));
	ok(strstr(id, "530") == NULL && strncmp(id, "5531", 4) == 0,
	    "sendmail id %s skips the 530 hour", id);
	persona_queue_id(persona_find("exim"), exim_time_with_530(NOW), 5, id,
	    sizeof(id));
	ok(strstr(id, "530") == NULL, "exim id %s skips a 530 time", id);
	persona_queue_id(persona_find("exim"), NOW, 0, id, sizeof(id));
	/* 1732608060 in base 62 is 1tFqVI */
	ok(strncmp(id, "1tFqVI-00", 9) == 0, "exim id %s is base-62 time, "
	    "pid, fraction", id);
	persona_queue_id(persona_find("postfix"), NOW, 0, id, sizeof(id));
	ok(strstr(id, "530") == NULL && strlen(id) == 11,
	    "postfix id %s: 5 hex digits of usec, 6 of inode", id);
}

/* no MAIL/RCPT/RSET reply carries "530" unless %a does (REFERENCE 1.1) */
static void
test_no_530(void)
{
	static const enum persona_msg msgs[] = {
		PM_MAIL_OK, PM_MAIL_NEED_HELO, PM_MAIL_NESTED, PM_MAIL_SYNTAX,
		PM_MAIL_BADADDR, PM_MAIL_BADPARAM, PM_MAIL_BADSIZE,
		PM_MAIL_TOOBIG, PM_RCPT_OK, PM_RCPT_NEED_MAIL, PM_RCPT_SYNTAX,
		PM_RCPT_BADADDR, PM_RCPT_TOO_MANY, PM_RSET,
	};
	char	 out[PERSONA_REPLY_MAX];
	size_t	 i, k, bad;

	for (i = 0; i < NNAMES; i++) {
		const struct persona *p = persona_find(names[i]);
		struct persona_vars v = vars("h530.example", NULL, "Q530");

		v.hostname = "mx530.example.net";
		v.helo = "helo530";
		v.client_addr = "10.5.30.1";
		v.size_limit = 5300000;
		for (bad = 0, k = 0; k < sizeof(msgs) / sizeof(msgs[0]); k++) {
			if (persona_reply(p, msgs[k], &v, out,
			    sizeof(out)) == 0 || strstr(out, "530") != NULL) {
				bad++;
				printf("# %s: %s", names[i], out);
			}
		}
		is_int(bad, 0, "%s: MAIL/RCPT/RSET replies free of 530",
		    names[i]);
	}
}

/* ---- injection and caps ---- */

static void
test_injection(void)
{
	/* a message of each persona that shows %a */
	static const enum persona_msg with_arg[] = {
		PM_VRFY, PM_UNKNOWN, PM_MAIL_BADADDR
	};
	char	 out[PERSONA_REPLY_MAX], big[1000];
	size_t	 i, n, k, as;

	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < NNAMES; i++) {
		const struct persona *p = persona_find(names[i]);
		struct persona_vars v = vars("evil\r\n250 name", "x\r\n250 x",
		    NULL);

		v.helo = "h\r\n250-helo\n";
		n = persona_reply(p, with_arg[i], &v, out, sizeof(out));
		ok(n > 0 && wire_ok(out, n) && strstr(out, "\r\n") ==
		    out + n - 2 && strstr(out, "x250 x") != NULL,
		    "%s: %%a with CRLF stays one line", names[i]);
		n = persona_reply(p, PM_HELO, &v, out, sizeof(out));
		ok(n > 0 && wire_ok(out, n) && strstr(out, "\r\n") ==
		    out + n - 2, "%s: HELO/name with CRLF stays one line",
		    names[i]);
		n = persona_ehlo(p, &v, PERSONA_EXT_AUTH, out, sizeof(out));
		ok(n > 0 && wire_ok(out, n), "%s: EHLO with hostile names",
		    names[i]);
		v.arg = big;
		n = persona_reply(p, with_arg[i], &v, out, sizeof(out));
		for (as = 0, k = 0; k < n; k++)
			if (out[k] == 'A')
				as++;
		is_int(as, 203, "%s: %%a is capped at 203 bytes", names[i]);
	}
}

/* ---- Received headers ---- */

struct rcvd_case {
	const char	*persona;
	const char	*client_name;
	const char	*helo;
	bool		 tls;
	bool		 auth;
	time_t		 when;
	const char	*want;
};

static const struct rcvd_case rcvd_cases[] = {
	{ "postfix", NULL, "client.example", false, false, NOW,
	    "Received: from client.example (unknown [" ADDR "])\r\n"
	    "\tby " HOST " (Postfix) with ESMTP id 4C2B41A0D7F\r\n"
	    "\tfor <user@example.com>; Tue, 26 Nov 2024 08:01:00 +0000 (UTC)"
	    "\r\n" },
	{ "postfix", "client.example", "client.example", true, false, NOW5,
	    "Received: from client.example (client.example [" ADDR "])\r\n"
	    "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 "
	    "bits))\r\n"
	    "\t(No client certificate requested)\r\n"
	    "\tby " HOST " (Postfix) with ESMTPS id 4C2B41A0D7F\r\n"
	    "\tfor <user@example.com>; Tue,  5 Nov 2024 08:01:00 +0000 (UTC)"
	    "\r\n" },
	{ "sendmail", NULL, "client.example", false, false, NOW5,
	    "Received: from client.example ([" ADDR "])\r\n"
	    "\tby " HOST " (8.17.1.9/8.17.1.9/Debian-2+deb12u2) with ESMTP id "
	    "4AQ81x2A012345\r\n"
	    "\tfor <user@example.com>; Tue, 5 Nov 2024 08:01:00 GMT\r\n" },
	{ "sendmail", "client.example", "client.example", true, true, NOW,
	    "Received: from client.example (client.example [" ADDR "])\r\n"
	    "\t(authenticated bits=0)\r\n"
	    "\tby " HOST " (8.17.1.9/8.17.1.9/Debian-2+deb12u2) with ESMTPSA "
	    "id 4AQ81x2A012345\r\n"
	    "\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 "
	    "verify=NOT)\r\n"
	    "\tfor <user@example.com>; Tue, 26 Nov 2024 08:01:00 GMT\r\n" },
	{ "exim", NULL, "client.example", false, false, NOW5,
	    "Received: from [" ADDR "] (helo=client.example)\r\n"
	    "\tby " HOST " with esmtp (Exim 4.96)\r\n"
	    "\t(envelope-from <a@example.org>)\r\n"
	    "\tid 1tFz4K-000123-AB\r\n"
	    "\tfor user@example.com;\r\n"
	    "\tTue, 05 Nov 2024 08:01:00 +0000\r\n" },
	{ "exim", "client.example", "other.example", true, false, NOW,
	    "Received: from client.example ([" ADDR "] helo=other.example)\r\n"
	    "\tby " HOST " with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384\r\n"
	    "\t(Exim 4.96)\r\n"
	    "\t(envelope-from <a@example.org>)\r\n"
	    "\tid 1tFz4K-000123-AB\r\n"
	    "\tfor user@example.com;\r\n"
	    "\tTue, 26 Nov 2024 08:01:00 +0000\r\n" },
};

/* every line ends in CRLF; all but the first start with TAB */
static int
header_ok(const char *s, size_t n)
{
	const char *p = s, *crlf;

	if (n < 12 || strncmp(s, "Received: ", 10) != 0 ||
	    memcmp(s + n - 2, "\r\n", 2) != 0)
		return 0;
	while (p < s + n) {
		if (p != s && *p != '\t')
			return 0;
		crlf = strstr(p, "\r\n");
		if (crlf == NULL ||
		    memchr(p, '\n', (size_t)(crlf - p)) != NULL ||
		    memchr(p, '\r', (size_t)(crlf - p)) != NULL)
			return 0;
		p = crlf + 2;
	}
	return 1;
}

static void
test_received(void)
{
	static const char *const qids[] = {
		"4C2B41A0D7F", "4AQ81x2A012345", "1tFz4K-000123-AB"
	};
	char	 out[2048];
	size_t	 i, n, q;

	for (i = 0; i < sizeof(rcvd_cases) / sizeof(rcvd_cases[0]); i++) {
		const struct rcvd_case *c = &rcvd_cases[i];
		struct persona_received r;

		for (q = 0; q < NNAMES; q++)
			if (strcmp(names[q], c->persona) == 0)
				break;
		memset(&r, 0, sizeof(r));
		r.hostname = HOST;
		r.helo = c->helo;
		r.client_addr = ADDR;
		r.client_name = c->client_name;
		r.queue_id = qids[q];
		r.rcpt = "user@example.com";
		r.esmtp = true;
		r.tls = c->tls;
		r.tls_version = "TLSv1.3";
		r.tls_cipher = "TLS_AES_256_GCM_SHA384";
		r.auth = c->auth;
		r.when = c->when;
		r.sender = "a@example.org";
		n = persona_received_header(persona_find(c->persona), &r, out,
		    sizeof(out));
		is_str(n > 0 ? out : "(none)", c->want, "%s Received %zu",
		    c->persona, i);
		ok(header_ok(out, n), "%s Received %zu folded with TAB/CRLF",
		    c->persona, i);
		is_int(persona_received_header(persona_find(c->persona), &r,
		    out, strlen(c->want)), 0, "%s Received %zu truncated",
		    c->persona, i);
		is_int(persona_received_header(persona_find(c->persona), &r,
		    out, strlen(c->want) + 1), strlen(c->want),
		    "%s Received %zu just fits", c->persona, i);
	}

	/* Postfix: RFC 3848 S/A only after EHLO */
	{
		struct persona_received r;

		memset(&r, 0, sizeof(r));
		r.hostname = HOST;
		r.helo = "client.example";
		r.client_addr = ADDR;
		r.queue_id = qids[0];
		r.tls = true;
		r.tls_cipher = "TLS_AES_128_GCM_SHA256";
		r.when = NOW;
		n = persona_received_header(persona_find("postfix"), &r, out,
		    sizeof(out));
		ok(n > 0 && strstr(out, " with SMTP id 4C2B41A0D7F;\r\n\tTue,")
		    != NULL && strstr(out, "(128/128 bits)") != NULL,
		    "postfix Received after HELO over TLS, no rcpt");
	}

	/* hostile values, no HELO, IPv6 */
	for (i = 0; i < NNAMES; i++) {
		struct persona_received r;

		memset(&r, 0, sizeof(r));
		r.hostname = HOST;
		r.client_addr = "2001:db8::1";
		r.client_name = "evil.example\r\nX-Injected: 1";
		r.queue_id = qids[i];
		r.rcpt = "u@example.com\r\nX-Injected: 2";
		r.sender = "s@example.org\nX-Injected: 3";
		r.when = NOW;
		n = persona_received_header(persona_find(names[i]), &r, out,
		    sizeof(out));
		ok(n > 0 && header_ok(out, n) &&
		    strstr(out, "\r\nX-Injected") == NULL,
		    "%s Received resists injection", names[i]);
		ok(strstr(out, i == 2 ? "[2001:db8::1]" : "[IPv6:2001:db8::1]")
		    != NULL, "%s Received IPv6 literal", names[i]);
		r.helo = NULL;
		r.client_name = NULL;
		r.rcpt = NULL;
		n = persona_received_header(persona_find(names[i]), &r, out,
		    sizeof(out));
		ok(n > 0 && header_ok(out, n), "%s Received without HELO, "
		    "name and rcpt", names[i]);
	}
}

static void
test_find(void)
{
	is_str(persona_name(persona_find(NULL)), "postfix", "default: NULL");
	is_str(persona_name(persona_find("")), "postfix", "default: \"\"");
	is_str(persona_name(persona_find("sendmail")), "sendmail", "sendmail");
	is_str(persona_name(persona_find("Exim")), "exim", "case-insensitive");
	ok(persona_find("qmail") == NULL, "unknown persona is NULL");
	is_str(persona_names(), "postfix, sendmail, exim", "names");
	is_str(persona_auth_mechs(persona_find(NULL)), "PLAIN LOGIN CRAM-MD5",
	    "postfix mechanisms");
}

static void
test_dates(void)
{
	char	 out[PERSONA_REPLY_MAX];
	struct persona_vars v = vars(NULL, NULL, NULL);

	v.now = NOW5;
	(void)persona_reply(persona_find("sendmail"), PM_BANNER, &v, out,
	    sizeof(out));
	ok(strstr(out, "; Tue, 5 Nov 2024 08:01:00 GMT;") != NULL,
	    "sendmail arpadate: unpadded day, GMT");
	(void)persona_reply(persona_find("exim"), PM_BANNER, &v, out,
	    sizeof(out));
	ok(strstr(out, " Tue, 05 Nov 2024 08:01:00 +0000\r\n") != NULL,
	    "exim tod_full: zero-padded day");
}

/*
 * sendmail's HELP from its helpfile (persona_help()): topics as the real
 * 8.17.1.9 with Debian's /etc/mail/helpfile answered them (2026-11-27),
 * given as cmd_help() hands them over (lowercased, blanks after kept).
 */
static const struct help_case {
	const char	*topic;
	size_t		 len;		/* 0: strlen(topic) */
	int		 lines;		/* 214- lines; 0: unknown topic */
	const char	*first;		/* the first 214- line */
} help_cases[] = {
	{ "mail", 0, 3, "214-2.0.0 MAIL From:<sender> [ <parameters> ]" },
	{ "m", 0, 3, "214-2.0.0 MAIL From:<sender> [ <parameters> ]" },
	{ "mail\t", 0, 3, "214-2.0.0 MAIL From:<sender> [ <parameters> ]" },
	{ "mail ", 0, 0, NULL },
	{ "mail\tmail", 0, 0, NULL },	/* compared with case: "MAIL" */
	{ "mail from", 0, 0, NULL },
	{ "hel", 0, 4, "214-2.0.0 HELP [ <topic> ]" },
	{ "e", 0, 28, "214-2.0.0 EHLO <hostname>" },
	{ "s", 0, 23, "214-2.0.0 This is sendmail version 8.17.1.9" },
	{ "smtp", 0, 10, "214-2.0.0 This is sendmail version 8.17.1.9" },
	{ "-", 0, 29, "214-2.0.0 Help for test mode:" },
	{ "c", 0, 21, "214-2.0.0 " },	/* cpyr's empty first line */
	{ "cpyr\t", 0, 9, "214-2.0.0 Copyright (c) 1998-2000, 2002, "
	    "2004-2007 Proofpoint, Inc. and its suppliers." },
	{ "co", 0, 7, "214-2.0.0 Help for smcontrol:" },
	{ "etrn", 0, 4, "214-2.0.0 ETRN [ <hostname> | @<domain> | "
	    "#<queuename> ]" },
	{ "quit\t\texit", 0, 0, NULL },
	{ "quit\t\tExit", 0, 1, "214-2.0.0 \tExit sendmail (SMTP)." },
	{ "ma\0il", 5, 3, "214-2.0.0 MAIL From:<sender> [ <parameters> ]" },
	{ "8bitmime", 0, 0, NULL },
	{ "x", 0, 0, NULL },
	{ "\xed\xe1\xe9\xec", 0, 0, NULL },
};

static void
test_help(void)
{
	const struct persona *sm = persona_find("sendmail");
	struct persona_vars v = vars(NULL, NULL, NULL);
	char	 out[PERSONA_REPLY_MAX], help[PERSONA_REPLY_MAX], t[2];
	static char big[4 * PERSONA_REPLY_MAX];
	const char *end = "214 2.0.0 End of HELP info\r\n", *l;
	size_t	 i, n, bad;
	int	 k, c;

	for (i = 0; i < sizeof(help_cases) / sizeof(help_cases[0]); i++) {
		const struct help_case *h = &help_cases[i];

		n = persona_help(sm, h->topic, h->len ? h->len :
		    strlen(h->topic), out, sizeof(out));
		if (h->lines == 0) {
			ok(n == 0, "HELP %zu: unknown topic", i);
			continue;
		}
		for (k = 0, l = out; (l = strstr(l, "214-")) != NULL; l++)
			k++;
		ok(n == strlen(out) && n > strlen(end) &&
		    strcmp(out + n - strlen(end), end) == 0 &&
		    strncmp(out, h->first, strlen(h->first)) == 0 &&
		    out[strlen(h->first)] == '\r' && k == h->lines,
		    "HELP %zu: %d lines from \"%s\", then the end", i,
		    h->lines, h->first);
	}
	/* no topic is "smtp", the PM_HELP that nmap matches */
	n = persona_help(sm, "", 0, out, sizeof(out));
	(void)persona_reply(sm, PM_HELP, &v, help, sizeof(help));
	ok(n > 0 && strcmp(out, help) == 0, "HELP without a topic is PM_HELP");
	/* every one-byte topic: known or not, a whole reply that fits */
	for (c = 1, bad = 0; c < 256; c++) {
		t[0] = (char)c;
		t[1] = '\0';
		n = persona_help(sm, t, 1, out, sizeof(out));
		if (n != persona_help(sm, t, 1, big, sizeof(big)) || (n > 0 &&
		    strcmp(out + n - strlen(end), end) != 0))
			bad++;
	}
	ok(bad == 0, "every one-byte topic's reply fits");
	/* too small a buffer: nothing partial */
	ok(persona_help(sm, "e", 1, out, 200) == 0 && out[0] == '\0',
	    "a reply that does not fit is none");
	ok(persona_help(persona_find("exim"), "mail", 4, out, sizeof(out)) ==
	    0 && persona_help(persona_find("postfix"), "", 0, out,
	    sizeof(out)) == 0 && !persona_help_file(persona_find("exim")) &&
	    persona_help_file(sm), "only sendmail answers from a helpfile");
}

int
main(void)
{
	test_find();
	test_exact_replies();
	test_ehlo();
	test_all_messages();
	test_nmap();
	test_help();
	test_queue_ids();
	test_no_530();
	test_injection();
	test_received();
	test_dates();
	return tap_done();
}
