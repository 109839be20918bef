/*
 * test_smtp_cmd.c -- smtp_cmd_parse and smtp_verb_name: verbs matched
 * whole and case-insensitively, argument boundaries, oddity flags.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "smtp_cmd.h"
#include "tests/tap.h"

struct cmd_case {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	int		 want_err;
	enum smtp_verb	 want;
	const char	*want_verb;	/* verb_text */
	const char	*want_arg;
	size_t		 want_arglen;	/* 0: strlen(want_arg) */
	const char	*want_raw;	/* arg with its trailing blanks
					   (arglen_raw); NULL: want_arg */
	unsigned int	 want_flags;
};

static const struct cmd_case cases[] = {
	{ .name = "mail ok", .in = "MAIL FROM:<a@example.net>",
	  .want = SMTP_CMD_MAIL, .want_verb = "MAIL",
	  .want_arg = "FROM:<a@example.net>" },
	{ .name = "prefix", .in = "MAILX FROM:<a@example.net>",
	  .want = SMTP_CMD_UNKNOWN, .want_verb = "MAILX",
	  .want_arg = "FROM:<a@example.net>" },
	{ .name = "short", .in = "MAI", .want = SMTP_CMD_UNKNOWN,
	  .want_verb = "MAI", .want_arg = "" },
	{ .name = "ehlo lower", .in = "ehlo x.example",
	  .want = SMTP_CMD_EHLO, .want_verb = "ehlo", .want_arg = "x.example",
	  .want_flags = SMTP_CMD_F_LOWER },
	{ .name = "mixed case", .in = "StartTLS", .want = SMTP_CMD_STARTTLS,
	  .want_verb = "StartTLS", .want_arg = "",
	  .want_flags = SMTP_CMD_F_LOWER },
	{ .name = "helo", .in = "HELO x", .want = SMTP_CMD_HELO,
	  .want_verb = "HELO", .want_arg = "x" },
	{ .name = "rcpt", .in = "RCPT TO:<b@c>", .want = SMTP_CMD_RCPT,
	  .want_verb = "RCPT", .want_arg = "TO:<b@c>" },
	{ .name = "data", .in = "DATA", .want = SMTP_CMD_DATA,
	  .want_verb = "DATA", .want_arg = "" },
	{ .name = "rset", .in = "RSET", .want = SMTP_CMD_RSET,
	  .want_verb = "RSET", .want_arg = "" },
	{ .name = "noop arg", .in = "NOOP hello there",
	  .want = SMTP_CMD_NOOP, .want_verb = "NOOP",
	  .want_arg = "hello there" },
	{ .name = "quit", .in = "QUIT", .want = SMTP_CMD_QUIT,
	  .want_verb = "QUIT", .want_arg = "" },
	{ .name = "vrfy", .in = "VRFY root", .want = SMTP_CMD_VRFY,
	  .want_verb = "VRFY", .want_arg = "root" },
	{ .name = "expn", .in = "EXPN staff", .want = SMTP_CMD_EXPN,
	  .want_verb = "EXPN", .want_arg = "staff" },
	{ .name = "help", .in = "HELP", .want = SMTP_CMD_HELP,
	  .want_verb = "HELP", .want_arg = "" },
	{ .name = "auth", .in = "AUTH PLAIN AGEAYg==", .want = SMTP_CMD_AUTH,
	  .want_verb = "AUTH", .want_arg = "PLAIN AGEAYg==" },
	{ .name = "etrn", .in = "ETRN @example.net", .want = SMTP_CMD_ETRN,
	  .want_verb = "ETRN", .want_arg = "@example.net" },
	{ .name = "bdat", .in = "BDAT 100 LAST", .want = SMTP_CMD_BDAT,
	  .want_verb = "BDAT", .want_arg = "100 LAST" },
	{ .name = "http get", .in = "GET / HTTP/1.0", .want = SMTP_CMD_NONSMTP,
	  .want_verb = "GET", .want_arg = "/ HTTP/1.0" },
	{ .name = "http post", .in = "POST /x HTTP/1.1",
	  .want = SMTP_CMD_NONSMTP, .want_verb = "POST",
	  .want_arg = "/x HTTP/1.1" },
	{ .name = "connect", .in = "CONNECT a:25 HTTP/1.0",
	  .want = SMTP_CMD_NONSMTP, .want_verb = "CONNECT",
	  .want_arg = "a:25 HTTP/1.0" },
	{ .name = "head", .in = "HEAD / HTTP/1.0", .want = SMTP_CMD_NONSMTP,
	  .want_verb = "HEAD", .want_arg = "/ HTTP/1.0" },
	{ .name = "put", .in = "PUT /", .want = SMTP_CMD_NONSMTP,
	  .want_verb = "PUT", .want_arg = "/" },
	{ .name = "pop user", .in = "USER root", .want = SMTP_CMD_NONSMTP,
	  .want_verb = "USER", .want_arg = "root" },
	{ .name = "options", .in = "OPTIONS * RTSP/1.0",
	  .want = SMTP_CMD_NONSMTP, .want_verb = "OPTIONS",
	  .want_arg = "* RTSP/1.0" },
	{ .name = "empty", .in = "", .want_err = SMTP_E_EMPTY,
	  .want_verb = "", .want_arg = "" },
	{ .name = "only spaces", .in = "  \t ", .want_err = SMTP_E_EMPTY,
	  .want_verb = "", .want_arg = "",
	  .want_flags = SMTP_CMD_F_LEADSP | SMTP_CMD_F_TRAILSP |
	  SMTP_CMD_F_TAB },
	{ .name = "lead space", .in = "  NOOP", .want = SMTP_CMD_NOOP,
	  .want_verb = "NOOP", .want_arg = "",
	  .want_flags = SMTP_CMD_F_LEADSP },
	{ .name = "trail space", .in = "MAIL FROM:<a@b>  ",
	  .want = SMTP_CMD_MAIL, .want_verb = "MAIL",
	  .want_arg = "FROM:<a@b>", .want_raw = "FROM:<a@b>  ",
	  .want_flags = SMTP_CMD_F_TRAILSP },
	{ .name = "tab sep", .in = "MAIL\tFROM:<a@b>", .want = SMTP_CMD_MAIL,
	  .want_verb = "MAIL", .want_arg = "FROM:<a@b>",
	  .want_flags = SMTP_CMD_F_TAB },
	{ .name = "run of sp", .in = "MAIL \t  FROM:<a@b>",
	  .want = SMTP_CMD_MAIL, .want_verb = "MAIL",
	  .want_arg = "FROM:<a@b>", .want_flags = SMTP_CMD_F_TAB },
	{ .name = "inner sp kept", .in = "MAIL FROM:<a@b>  SIZE=1",
	  .want = SMTP_CMD_MAIL, .want_verb = "MAIL",
	  .want_arg = "FROM:<a@b>  SIZE=1" },
	{ .name = "verb sp only", .in = "QUIT ", .want = SMTP_CMD_QUIT,
	  .want_verb = "QUIT", .want_arg = "",
	  .want_flags = SMTP_CMD_F_TRAILSP },
	{ .name = "trailing blanks kept raw", .in = "HELP mail \t",
	  .want = SMTP_CMD_HELP, .want_verb = "HELP", .want_arg = "mail",
	  .want_raw = "mail \t",
	  .want_flags = SMTP_CMD_F_TRAILSP | SMTP_CMD_F_TAB },
	{ .name = "blanks only after verb", .in = "HELP \t \t",
	  .want = SMTP_CMD_HELP, .want_verb = "HELP", .want_arg = "",
	  .want_raw = "", .want_flags = SMTP_CMD_F_TRAILSP | SMTP_CMD_F_TAB },
	{ .name = "inner and trailing blanks", .in = "HELP\tquit\texit ",
	  .want = SMTP_CMD_HELP, .want_verb = "HELP", .want_arg = "quit\texit",
	  .want_raw = "quit\texit ",
	  .want_flags = SMTP_CMD_F_TRAILSP | SMTP_CMD_F_TAB },
	{ .name = "nul in verb", .in = "QU\0IT", .len = 5,
	  .want = SMTP_CMD_UNKNOWN, .want_verb = "QU", .want_arg = "",
	  .want_flags = SMTP_CMD_F_NUL },
	{ .name = "nul after verb", .in = "QUIT\0", .len = 5,
	  .want = SMTP_CMD_UNKNOWN, .want_verb = "QUIT", .want_arg = "",
	  .want_flags = SMTP_CMD_F_NUL },
	{ .name = "nul in arg", .in = "HELO a\0b", .len = 8,
	  .want = SMTP_CMD_HELO, .want_verb = "HELO", .want_arg = "a\0b",
	  .want_arglen = 3, .want_flags = SMTP_CMD_F_NUL },
	{ .name = "8bit", .in = "HELO \xc3\xa9t\xc3\xa9", .want = SMTP_CMD_HELO,
	  .want_verb = "HELO", .want_arg = "\xc3\xa9t\xc3\xa9",
	  .want_flags = SMTP_CMD_F_8BIT },
	{ .name = "ctrl", .in = "HELO a\rb", .want = SMTP_CMD_HELO,
	  .want_verb = "HELO", .want_arg = "a\rb",
	  .want_flags = SMTP_CMD_F_CTRL },
	{ .name = "del", .in = "NOOP \x7f", .want = SMTP_CMD_NOOP,
	  .want_verb = "NOOP", .want_arg = "\x7f",
	  .want_flags = SMTP_CMD_F_CTRL },
	{ .name = "long verb", .in = "ABCDEFGHIJKLMNOPQRSTUVWXYZ arg",
	  .want = SMTP_CMD_UNKNOWN, .want_verb = "ABCDEFGHIJKLMNO",
	  .want_arg = "arg" },
	{ .name = "verb w/ colon", .in = "MAIL:FROM:<a@b>",
	  .want = SMTP_CMD_UNKNOWN, .want_verb = "MAIL:FROM:<a@b>",
	  .want_arg = "", .want_flags = SMTP_CMD_F_LOWER },
	{ .name = "tls clienthello", .in = "\x16\x03\x01\x02", .len = 4,
	  .want = SMTP_CMD_UNKNOWN, .want_verb = "\x16\x03\x01\x02",
	  .want_arg = "", .want_flags = SMTP_CMD_F_CTRL },
};

int
main(void)
{
	struct smtp_cmd	 cmd;
	size_t		 i, len, cut, bad;
	int		 v;
	char		*copy;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cmd_case *c = &cases[i];

		len = c->len ? c->len : strlen(c->in);
		/* exact-size heap copy: ASan catches any read past len */
		copy = malloc(len ? len : 1);
		memcpy(copy, c->in, len);
		is_int(smtp_cmd_parse(copy, len, &cmd), c->want_err,
		    "%s: result", c->name);
		is_int(cmd.verb, c->want, "%s: verb", c->name);
		is_str(cmd.verb_text, c->want_verb, "%s: verb_text", c->name);
		is_mem(cmd.arg, cmd.arglen, c->want_arg,
		    c->want_arglen ? c->want_arglen : strlen(c->want_arg),
		    "%s: arg", c->name);
		if (c->want_raw != NULL)
			is_mem(cmd.arg, cmd.arglen_raw, c->want_raw,
			    strlen(c->want_raw), "%s: arg with its trailing "
			    "blanks", c->name);
		else
			ok(cmd.arglen_raw == cmd.arglen, "%s: no trailing "
			    "blanks", c->name);
		ok(cmd.arg >= copy && cmd.arg + cmd.arglen_raw <= copy + len &&
		    cmd.arglen <= cmd.arglen_raw, "%s: arg inside the line",
		    c->name);
		is_int(cmd.flags, c->want_flags, "%s: flags", c->name);
		free(copy);
		/* every prefix from an exact-size buffer (ASan: no overread) */
		bad = 0;
		for (cut = 0; cut <= len; cut++) {
			copy = malloc(cut ? cut : 1);
			memcpy(copy, c->in, cut);
			smtp_cmd_parse(copy, cut, &cmd);
			if (cmd.arg < copy || cmd.arg + cmd.arglen_raw > copy +
			    cut || cmd.arglen > cmd.arglen_raw)
				bad++;
			free(copy);
		}
		ok(bad == 0, "%s: every prefix", c->name);
	}

	is_str(smtp_verb_name(SMTP_CMD_MAIL), "MAIL", "name MAIL");
	is_str(smtp_verb_name(SMTP_CMD_STARTTLS), "STARTTLS", "name STARTTLS");
	is_str(smtp_verb_name(SMTP_CMD_NONSMTP), "NONSMTP", "name NONSMTP");
	is_str(smtp_verb_name(SMTP_CMD_UNKNOWN), "UNKNOWN", "name UNKNOWN");
	is_str(smtp_verb_name(SMTP_CMD_COUNT), "UNKNOWN", "name COUNT");
	is_str(smtp_verb_name((enum smtp_verb)-1), "UNKNOWN", "name -1");
	/* every verb name parses back to itself */
	for (v = SMTP_CMD_HELO; v < SMTP_CMD_NONSMTP; v++) {
		const char *n = smtp_verb_name((enum smtp_verb)v);

		smtp_cmd_parse(n, strlen(n), &cmd);
		is_int(cmd.verb, v, "round trip %s", n);
	}
	return tap_done();
}
