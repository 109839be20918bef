/*
 * test_smtp_pfaddr.c -- Postfix's reading of a MAIL/RCPT address
 * (smtp_pfaddr.c). Each verdict below was measured on a real Postfix
 * 3.7.11 (2026-11-27, tests/parity/smtp_vs_postfix.py set-up): OK cases
 * were answered "250" there unless the domain of the address is one
 * smtp_addr_postfix_domain() refuses (noted), BAD ones "501 5.1.7 Bad
 * sender address syntax" / "501 5.1.3 Bad recipient address syntax".
 * Every case is also read in all its prefixes (a line cut short). Then
 * the domain its resolver judges (smtp_pfaddr_domain).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_cmd.h"
#include "tests/tap.h"

struct pf_case {
	const char	*in;	/* what follows "FROM:" or "TO:" */
	bool		 mail;
	int		 want;
	const char	*addr;	/* SMTP_PFADDR_OK: the address read */
	size_t		 end;	/* SMTP_PFADDR_OK: where parameters start */
};

#define OK	SMTP_PFADDR_OK
#define BAD	SMTP_PFADDR_BAD
#define NONE	SMTP_PFADDR_NONE

static const struct pf_case cases[] = {
	{ "<a@b.example>", true, OK, "a@b.example", 13 },
	{ "<>", true, OK, "", 2 },
	{ "<>", false, BAD, NULL, 0 },
	{ "a@b.example SIZE=10", true, OK, "a@b.example", 11 },
	{ "<a@b.example> SIZE=10 BODY=8BITMIME", true, OK, "a@b.example",
	  13 },
	{ "  <a@b.example>", true, OK, "a@b.example", 15 },
	{ "", true, NONE, NULL, 0 },
	{ " \t ", false, NONE, NULL, 0 },
	/* the relay-test forms */
	{ "<@a.example,@b.example:c@d.example>", false, OK, "c@d.example",
	  35 },
	{ "<c%e.example@[192.0.2.1]>", false, OK, "c%e.example@[192.0.2.1]",
	  25 },
	{ "<\"c@e.example\"@[192.0.2.1]>", false, OK,
	  "c@e.example@[192.0.2.1]", 27 },
	{ "<e.example!c>", false, OK, "e.example!c", 13 },
	{ "<c@e.example@d.example>", false, OK, "c@e.example@d.example",
	  23 },
	/* two words in a row, a comma, a semicolon: two addresses */
	{ "<a b@x.example>", true, BAD, NULL, 0 },
	{ "<a,b@x.example>", true, BAD, NULL, 0 },
	{ "<a;b@x.example>", true, BAD, NULL, 0 },
	{ "<a@b,c@d>", true, BAD, NULL, 0 },
	{ "<a b>", true, BAD, NULL, 0 },
	{ "<x@a b>", true, BAD, NULL, 0 },
	{ "<\"a\"b@x.example>", true, BAD, NULL, 0 },
	{ "<a\"b\"c@x.example>", true, BAD, NULL, 0 },
	{ "<a(comment)b@x.example>", true, BAD, NULL, 0 },
	{ "<x@[192.0.2.1]x>", true, BAD, NULL, 0 },
	{ "<a>b@x.example>", true, BAD, NULL, 0 },
	{ "<a@b.example>junk", true, BAD, NULL, 0 },
	{ "<sender@mail.example.net ESMTP Postfix>", true, BAD, NULL, 0 },
	/* an unterminated quote or <> */
	{ "<a<b@x.example>", true, BAD, NULL, 0 },
	{ "<a\"b@x.example>", true, BAD, NULL, 0 },
	{ "<a@b.example", true, BAD, NULL, 0 },
	{ "\"a@b.example", true, BAD, NULL, 0 },
	{ "<a@b.example\\>", true, BAD, NULL, 0 },
	/* comments and blanks vanish */
	{ "<a@(x)b.example>", true, OK, "a@b.example", 16 },
	{ "<a@b.example (x)>", true, OK, "a@b.example", 17 },
	{ "<a@b.example >", true, OK, "a@b.example", 14 },
	{ "<a@ b.example>", true, OK, "a@b.example", 14 },
	{ "<a @b.example>", true, OK, "a@b.example", 14 },
	{ "<a(x)@b.example>", true, OK, "a@b.example", 16 },
	{ "<(x)a@b.example>", true, OK, "a@b.example", 16 },
	/* an open comment or literal runs to the end */
	{ "<a@ex(ample.org>", true, OK, "a@ex", 16 },
	{ "<a(b@x.example>", true, OK, "a", 15 },
	{ "<a@[127.0.0.1>", true, OK, "a@[127.0.0.1]", 14 },
	/* a word and a literal in a row */
	{ "<a[b@x.example>", true, BAD, NULL, 0 },
	{ "<a@b.example[x]>", true, BAD, NULL, 0 },
	/* refused later for its domain "[b@x.example]" */
	{ "<a@[b@x.example>", true, OK, "a@[b@x.example]", 16 },
	/* quotes and backslashes go */
	{ "<\"a b\"@x.example>", true, OK, "a b@x.example", 17 },
	{ "<\"a,b\"@x.example>", true, OK, "a,b@x.example", 17 },
	{ "<a@ex\\ample.org>", true, OK, "a@example.org", 16 },
	{ "<c@\"d\".example>", false, OK, "c@d.example", 15 },
	{ "<a\\ b@x.example>", true, OK, "a b@x.example", 16 },
	{ "<a\\,b@x.example>", true, OK, "a,b@x.example", 16 },
	/* operators RFC 822 lets stand */
	{ "<a)b@x.example>", true, OK, "a)b@x.example", 15 },
	{ "<a]b@x.example>", true, OK, "a]b@x.example", 15 },
	{ "<a:b@x.example>", true, OK, "a:b@x.example", 15 },
	{ "<a..b@x.example>", true, OK, "a..b@x.example", 16 },
	{ "<>b@x.example>", true, OK, "b@x.example", 14 },
	/* a phrase and <>, a group */
	{ "<Name <a@b.example>>", true, OK, "a@b.example", 20 },
	{ "<group: a@b.example;>", true, OK, "a@b.example", 21 },
	{ "<group: a@b.example, c@d;>", true, BAD, NULL, 0 },
	/* the first word only: the rest are parameters */
	{ "Name <a@b.example>", true, OK, "Name", 4 },
	{ "a\\ b@x.example", true, OK, "a b@x.example", 14 },
	{ "\"a b\"@x.example x", true, OK, "a b@x.example", 15 },
};

static void
check(const struct pf_case *c)
{
	char	 addr[SMTP_ADDR_MAX + 1];
	size_t	 end = 0;
	int	 rc;

	rc = smtp_pfaddr_read(c->in, strlen(c->in), c->mail, addr,
	    sizeof(addr), &end);
	ok(rc == c->want, "%s %s: verdict %d (want %d)", c->mail ? "MAIL" :
	    "RCPT", c->in, rc, c->want);
	if (c->want != OK)
		return;
	ok(rc == OK && strcmp(addr, c->addr) == 0,
	    "%s: read as \"%s\" (want \"%s\")", c->in, rc == OK ? addr : "",
	    c->addr);
	ok(end == c->end, "%s: parameters at %zu (want %zu)", c->in, end,
	    c->end);
}

/* every prefix: a verdict, and an OK address fits its buffer */
static void
check_prefixes(const struct pf_case *c)
{
	char	 addr[SMTP_ADDR_MAX + 1];
	size_t	 n, len = strlen(c->in), end;
	int	 rc;
	bool	 good = true;

	for (n = 0; n <= len; n++) {
		end = 0;
		rc = smtp_pfaddr_read(c->in, n, c->mail, addr, sizeof(addr),
		    &end);
		if (rc < OK || rc > SMTP_PFADDR_LONG || rc == SMTP_PFADDR_LONG ||
		    (rc == OK && (strlen(addr) > n + 2 || end > n)))
			good = false;
	}
	ok(good, "%s: every prefix read sanely", c->in);
}

/*
 * The domain the resolver is left with (smtp_pfaddr_domain), measured on
 * the same Postfix as whole MAIL commands: "taken" = 250, else 501.
 */
static const struct {
	const char	*addr;		/* as smtp_pfaddr_read() gives it */
	const char	*dom;		/* NULL: no domain left (local) */
	bool		 taken;
} doms[] = {
	{ "a@b.example", "b.example", true },
	{ "a@b.example.", "b.example", true },
	{ "a@b..example", "b..example", false },
	{ "a", NULL, true },
	{ "a@", "", false },
	{ "a%b.example", "b.example", true },	/* user%host */
	{ "b.example!a", "b.example", true },	/* host!user */
	{ "%", "", false },
	{ "!", "", false },
	{ "a%", "", false },
	{ "%a", "a", true },
	{ "a!", "a", true },
	{ "!a", "", false },
	{ "a%b@", "b", true },
	{ "a!b@", "a", true },
	{ "c%e.example@[192.0.2.1]", "[192.0.2.1]", true },
	{ "c@e.example@d.example", "d.example", true },
	{ "a@[1.2.3]", "[1.2.3]", false },
	{ "a@\"d.example", "d.example", true },	/* read again: quote goes */
	/* quoted local parts: opened at '@'; at '%' and '!' after "@" */
	{ "@e.example@", "e.example", true },
	{ "b@e.example@", "e.example", true },
	{ ".%", NULL, true },
	{ ".!", NULL, true },
	{ "b:%", NULL, true },
	{ "a;b@", "", false },
	{ "]%b@", "b", true },
	{ ":!@", ":", false },
	{ "!.@", "", false },
	{ ":)a%%@", "", false },
};

static void
test_domains(void)
{
	char	 dom[SMTP_PFADDR_DOMAIN_MAX];
	size_t	 i;
	bool	 has, taken;

	for (i = 0; i < sizeof(doms) / sizeof(doms[0]); i++) {
		has = smtp_pfaddr_domain(doms[i].addr, dom, sizeof(dom));
		ok(has == (doms[i].dom != NULL) &&
		    (!has || strcmp(dom, doms[i].dom) == 0),
		    "resolver: %s leaves %s%s%s (got %s%s%s)", doms[i].addr,
		    doms[i].dom ? "\"" : "", doms[i].dom ? doms[i].dom :
		    "no domain", doms[i].dom ? "\"" : "", has ? "\"" : "",
		    has ? dom : "no domain", has ? "\"" : "");
		taken = !has || smtp_addr_postfix_domain(dom, strlen(dom),
		    false);
		ok(taken == doms[i].taken, "resolver: %s is %s", doms[i].addr,
		    doms[i].taken ? "taken" : "refused");
	}
}

static void
test_limits(void)
{
	char	 addr[8], big[4096];
	size_t	 end;

	ok(smtp_pfaddr_read("<a@b.example>", 13, true, addr, sizeof(addr),
	    &end) == SMTP_PFADDR_LONG, "an address over the buffer: LONG");
	ok(smtp_pfaddr_read("<a@b>", 5, true, addr, sizeof(addr), &end) ==
	    OK && strcmp(addr, "a@b") == 0, "a short one fits");
	ok(smtp_pfaddr_read("<a\0b@c>", 7, true, addr, sizeof(addr), &end) ==
	    SMTP_PFADDR_LONG, "a NUL byte: not judged");
	/* 4,000 words, literals and comments: linear, no overflow */
	memset(big, '[', sizeof(big));
	ok(smtp_pfaddr_read(big, sizeof(big), true, addr, sizeof(addr),
	    &end) == SMTP_PFADDR_LONG, "4096 '[': one open literal, LONG");
	memset(big, '(', sizeof(big));
	ok(smtp_pfaddr_read(big, sizeof(big), true, addr, sizeof(addr),
	    &end) == OK && addr[0] == '\0', "4096 '(': one open comment, no "
	    "address");
	memset(big, 'a', sizeof(big));
	for (end = 1; end < sizeof(big); end += 2)
		big[end] = '"';
	ok(smtp_pfaddr_read(big, sizeof(big), true, addr, sizeof(addr),
	    &end) == BAD, "a\"a\"...: words in a row");
	memset(big, '>', sizeof(big));
	big[0] = '<';
	ok(smtp_pfaddr_read(big, 2, true, addr, sizeof(addr), &end) == OK &&
	    addr[0] == '\0', "<>");
	/* Postfix reads ">>>...>" (all but the last '>') as the address */
	ok(smtp_pfaddr_read(big, sizeof(big), true, addr, sizeof(addr),
	    &end) == SMTP_PFADDR_LONG, "<>>>>...: one long address");
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check(&cases[i]);
		check_prefixes(&cases[i]);
	}
	test_domains();
	test_limits();
	return tap_done();
}
