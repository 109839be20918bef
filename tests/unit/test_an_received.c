/*
 * test_an_received.c -- analyzers/an_received.c: table-driven cases of
 * one Received value (each MTA's form, hostile input), every case also
 * parsed cut at every byte (no crash, every prefix bounded), and chains
 * of real messages from tests/fixtures/spam whose hops were read by hand
 * (file and hop index named in each case).
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "analyzers/an_received.h"

struct rcase {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	const char	*from_name, *from_helo, *from_rdns, *from_addr;
	const char	*by, *with, *id, *for_, *date;
	const char	*addrs;		/* "a b"; NULL: unchecked */
};

static const struct rcase cases[] = {
	{ .name = "postfix",
	  .in = " from MZZTQKTVAKJHJCZ (unknown [163.125.18.151]) by nj080.top "
	    "(Postfix) with ESMTPA id 253435234A8 for <redacted@example.com>;"
	    " Tue, 25 Apr 2023 02:15:34 +0000 (UTC)",
	  .from_name = "MZZTQKTVAKJHJCZ", .from_helo = "MZZTQKTVAKJHJCZ",
	  .from_rdns = "unknown", .from_addr = "163.125.18.151",
	  .by = "nj080.top", .with = "ESMTPA", .id = "253435234A8",
	  .for_ = "redacted@example.com",
	  .date = "Tue, 25 Apr 2023 02:15:34 +0000 (UTC)",
	  .addrs = "163.125.18.151" },
	{ .name = "postfix ipv6 tls comments",
	  .in = "from mail-pf1-x432.google.com (mail-pf1-x432.google.com "
	    "[IPv6:2607:f8b0:4864:20::432]) (using TLSv1.3 with cipher "
	    "AEAD-AES128-GCM-SHA256 (128/128 bits)) (No client certificate "
	    "requested) by dmarc1.spamassassin.org (Postfix) with ESMTPS id "
	    "EDD4E2073D for <test@dmarc1.spamassassin.org>; Tue, 15 Jun 2021"
	    " 09:55:44 +0000 (UTC)",
	  .from_name = "mail-pf1-x432.google.com",
	  .from_rdns = "mail-pf1-x432.google.com",
	  .from_addr = "2607:f8b0:4864:20::432",
	  .by = "dmarc1.spamassassin.org", .with = "ESMTPS",
	  .id = "EDD4E2073D", .for_ = "test@dmarc1.spamassassin.org" },
	{ .name = "sendmail may be forged",
	  .in = " from netsvr.Internet (USR-157-050.dr.cgocable.ca "
	    "[24.226.157.50] (may be forged)) by webnote.net (8.9.3/8.9.3) "
	    "with ESMTP id IAA29903 for <jm7@netnoteinc.com>; Sun, 18 Feb "
	    "2001 08:28:16 GMT",
	  .from_name = "netsvr.Internet", .from_helo = "netsvr.Internet",
	  .from_rdns = "USR-157-050.dr.cgocable.ca",
	  .from_addr = "24.226.157.50", .by = "webnote.net",
	  .with = "ESMTP", .id = "IAA29903", .for_ = "jm7@netnoteinc.com",
	  .date = "Sun, 18 Feb 2001 08:28:16 GMT" },
	{ .name = "exim helo= port",
	  .in = " from host86-187-174-57.range86-187.btcentralplus.com "
	    "([86.187.174.57]:45321 helo=User) by localhost.localdomain.com "
	    "with esmtpa (Exim 4.87) (envelope-from <a@fanox.com>) id "
	    "1bakrE-000291-LF; Fri, 19 Aug 2016 20:34:52 +0600",
	  .from_name = "host86-187-174-57.range86-187.btcentralplus.com",
	  .from_helo = "User",
	  .from_rdns = "host86-187-174-57.range86-187.btcentralplus.com",
	  .from_addr = "86.187.174.57", .by = "localhost.localdomain.com",
	  .with = "esmtpa", .id = "1bakrE-000291-LF", .for_ = "",
	  .addrs = "86.187.174.57" },
	{ .name = "qmail HELO",
	  .in = " from unknown (HELO 192.168.15.15) (189.207.175.29) by "
	    "smtp.test.net with SMTP; 8 Mar 2017 01:21:00 -0000",
	  .from_name = "unknown", .from_helo = "192.168.15.15",
	  .from_rdns = "unknown", .from_addr = "189.207.175.29",
	  .by = "smtp.test.net", .with = "SMTP",
	  .date = "8 Mar 2017 01:21:00 -0000", .addrs = "189.207.175.29" },
	{ .name = "qmail empty HELO",
	  .in = " from unknown (HELO ) (185.137.84.106) by smtp.customers.net"
	    " with SMTP; 24 May 2016 12:30:11 -0000",
	  .from_helo = "", .from_addr = "185.137.84.106" },
	{ .name = "qmail invoked",
	  .in = " (qmail 11769 invoked from network); 22 Aug 2016 14:23:01 "
	    "-0000",
	  .from_name = "", .by = "", .from_addr = "",
	  .date = "22 Aug 2016 14:23:01 -0000", .addrs = "" },
	{ .name = "exchange",
	  .in = " from apiron13.triara.com (200.57.129.98) by "
	    "APCNHUB11.correo.local (172.18.31.175) with Microsoft SMTP "
	    "Server id 14.3.498.0; Mon, 10 Oct 2022 15:11:35 -0500",
	  .from_name = "apiron13.triara.com", .from_addr = "200.57.129.98",
	  .by = "APCNHUB11.correo.local", .with = "Microsoft SMTP Server",
	  .id = "14.3.498.0", .addrs = "200.57.129.98 172.18.31.175" },
	{ .name = "exchange ipv6 both",
	  .in = " from DM3NAM03FT035.eop-NAM03.prod.protection.outlook.com "
	    "(2a01:111:f400:7e49::205) by CY4PR0601CA0051.outlook.office365."
	    "com (2603:10b6:910:89::28) with Microsoft SMTP Server (version="
	    "TLS1_2) id 15.20.1185.23; Mon, 1 Oct 2018 09:49:22 +0000",
	  .from_addr = "2a01:111:f400:7e49::205",
	  .addrs = "2a01:111:f400:7e49::205 2603:10b6:910:89::28",
	  .id = "15.20.1185.23" },
	{ .name = "gmail bare ipv6 literal",
	  .in = " from PC ([2409:4063:231e:c527:1997:664a:34e5:7d88]) by "
	    "smtp.gmail.com with ESMTPSA id n23sm15339981pgv.76.2021.06.15"
	    ".02.55.37 for <t@x.org> (version=TLS1 bits=128/128); Tue, 15 "
	    "Jun 2021 02:55:43 -0700 (PDT)",
	  .from_name = "PC", .from_helo = "PC",
	  .from_addr = "2409:4063:231e:c527:1997:664a:34e5:7d88",
	  .by = "smtp.gmail.com", .for_ = "t@x.org" },
	{ .name = "google by only",
	  .in = " by 2002:a05:6402:1:0:0:0:1 with SMTP id f21; Wed, 18 Jul "
	    "2018 12:12:22 -0700 (PDT)",
	  .from_name = "", .from_addr = "", .by = "2002:a05:6402:1:0:0:0:1",
	  .addrs = "2002:a05:6402:1::1" },
	{ .name = "bracket literal, helo in comment",
	  .in = " from [129.212.207.5] (account x@tin.it HELO idm.tin.it) by "
	    " (Postfix) with esmtpa (Exim 4.86) id 4CA80EAC911C for "
	    "e.s@virusnet.it; Tue, 24 May 2016 13:09:41 +0100",
	  .from_name = "[129.212.207.5]", .from_helo = "idm.tin.it",
	  .from_addr = "129.212.207.5", .by = "", .with = "esmtpa",
	  .for_ = "e.s@virusnet.it" },
	{ .name = "fetchmail name [addr]",
	  .in = " from dogma.slashnull.org [212.17.35.15] by localhost with "
	    "IMAP (fetchmail-5.9.0) for jm@localhost (single-drop); Tue, 02 "
	    "Jul 2002 12:49:36 +0100 (IST)",
	  .from_name = "dogma.slashnull.org", .from_addr = "212.17.35.15",
	  .by = "localhost", .with = "IMAP", .for_ = "jm@localhost" },
	{ .name = "bare addresses",
	  .in = " from 196.170.26.200 by 200.83.104.67; Thu, 02 Dec 2004 "
	    "10:55:50 -0500",
	  .from_addr = "196.170.26.200", .by = "200.83.104.67",
	  .addrs = "196.170.26.200 200.83.104.67" },
	{ .name = "address inside user@[addr]",
	  .in = " from unknown (HELO ljhw) (zyb@sgis.com.cn@[223.152.177.168])"
	    " (envelope-sender <zyb@sgis.com.cn>) by 0 (magicmail) with SMTP"
	    " for <webmaster@khaleejtimes.com>; 26 Dec 2016 05:32:02 -0000",
	  .from_helo = "ljhw", .from_addr = "223.152.177.168", .by = "0",
	  .for_ = "webmaster@khaleejtimes.com" },
	{ .name = "exim for after id with ;",
	  .in = " from a.top ([127.0.0.1]:8615 helo=b.top) by b.top with ESMTP"
	    " id 04EKOW; for <e@romolo.com>; Tue, 7 Mar 2017 14:29:24 -0800",
	  .from_helo = "b.top", .from_addr = "127.0.0.1", .id = "04EKOW",
	  .for_ = "e@romolo.com", .date = "Tue, 7 Mar 2017 14:29:24 -0800" },
	{ .name = "v4-mapped folded",
	  .in = " from x ([IPv6:::ffff:192.0.2.7]) by y; d",
	  .from_addr = "192.0.2.7", .date = "d" },
	{ .name = "empty brackets, 0.0.0.0",
	  .in = " from mx7.test.ru ([0.0.0.0] verified) by mail.test.ru "
	    "(test mail) with ESMTP id 60578244; Mon, 27 Apr 2020",
	  .from_addr = "0.0.0.0", .by = "mail.test.ru" },
	{ .name = "no keywords", .in = " apparently",
	  .from_name = "", .by = "", .date = "", .addrs = "" },
	{ .name = "empty", .in = "", .from_name = "", .date = "" },
	/* hostile */
	{ .name = "unbalanced open paren",
	  .in = " from x ((((( [1.2.3.4] by y; date",
	  .from_name = "x", .from_addr = "1.2.3.4", .by = "", .date = "" },
	{ .name = "unbalanced close paren",
	  .in = " from x ))) (r [1.2.3.4]) by y))) with z; d",
	  .from_name = "x", .from_addr = "1.2.3.4", .by = "y", .with = "z",
	  .date = "d" },
	{ .name = "escaped paren in comment",
	  .in = " from x (a\\) [5.6.7.8]) by y; d",
	  .from_addr = "5.6.7.8", .by = "y" },
	{ .name = "NUL bytes", .in = " from a\0b ([9.9.9.9]) by c\0; d\0e",
	  .len = 33, .from_name = "a", .from_addr = "9.9.9.9", .by = "c",
	  .date = "d e" },
	{ .name = "8-bit",
	  .in = " from \xff\xfe (\xc3\xa9 [8.8.4.4]) by h\xe9; \x80",
	  .from_name = "\xff\xfe", .from_rdns = "\xc3\xa9",
	  .from_addr = "8.8.4.4", .by = "h\xe9", .date = "\x80" },
	{ .name = "bad addresses",
	  .in = " from [1.2.3.256] (x [::g] [1.2.3] [] [IPv6:]) by 1.2.3.4.5;"
	    " d", .from_addr = "", .addrs = "" },
	{ .name = "more addresses than kept",
	  .in = " from a (1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 "
	    "1.1.1.7 1.1.1.8 1.1.1.9 1.1.1.10) by b; d",
	  .from_addr = "1.1.1.1",
	  .addrs = "1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 "
	    "1.1.1.8" },
};

static int
check(const struct an_received_hop *h, const struct rcase *c,
    const char *sfx)
{
	char	 got[AN_RCV_ADDRS_MAX * (AN_RCV_ADDR_MAX + 1) + 1];
	size_t	 i;
	int	 bad = 0;

#define F(field, want) do {						\
	if ((want) != NULL && strcmp(h->field, (want)) != 0) {		\
		printf("#   %s: got \"%s\", want \"%s\"\n", #field,	\
		    h->field, (want));					\
		bad++;							\
	}								\
} while (0)
	F(from_name, c->from_name);
	F(from_helo, c->from_helo);
	F(from_rdns, c->from_rdns);
	F(from_addr, c->from_addr);
	F(by, c->by);
	F(with, c->with);
	F(id, c->id);
	F(for_, c->for_);
	F(date, c->date);
#undef F
	if (c->addrs != NULL) {
		got[0] = '\0';
		for (i = 0; i < h->naddrs; i++) {
			if (i > 0)
				strcat(got, " ");
			strcat(got, h->addrs[i]);
		}
		if (strcmp(got, c->addrs) != 0) {
			printf("#   addrs: got \"%s\", want \"%s\"\n", got,
			    c->addrs);
			bad++;
		}
	}
	return ok(bad == 0, "%s%s", c->name, sfx);
}

/* every field is a NUL-terminated string within its array */
static bool
bounded(const struct an_received_hop *h)
{
	return memchr(h->from_name, 0, sizeof(h->from_name)) &&
	    memchr(h->from_helo, 0, sizeof(h->from_helo)) &&
	    memchr(h->from_rdns, 0, sizeof(h->from_rdns)) &&
	    memchr(h->from_addr, 0, sizeof(h->from_addr)) &&
	    memchr(h->by, 0, sizeof(h->by)) &&
	    memchr(h->with, 0, sizeof(h->with)) &&
	    memchr(h->id, 0, sizeof(h->id)) &&
	    memchr(h->for_, 0, sizeof(h->for_)) &&
	    memchr(h->date, 0, sizeof(h->date)) &&
	    h->naddrs <= AN_RCV_ADDRS_MAX;
}

static void
test_cases(void)
{
	struct an_received_hop	 h;
	const struct rcase	*c;
	char			*copy, *msg;
	size_t			 i, len, cut, bad;
	struct an_received	*rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		len = c->len != 0 ? c->len : strlen(c->in);
		/* exact-size copy: ASan sees any read past the end */
		copy = malloc(len + 1);
		memcpy(copy, c->in, len);
		an_received_parse_one(copy, len, &h);
		check(&h, c, "");
		ok(h.raw == copy && h.rawlen == len, "%s: raw", c->name);
		for (cut = 0, bad = 0; cut <= len; cut++) {
			char *pre = malloc(cut + 1);

			memcpy(pre, c->in, cut);
			an_received_parse_one(pre, cut, &h);
			if (!bounded(&h) || h.rawlen != cut)
				bad++;
			free(pre);
		}
		is_int(bad, 0, "%s: every prefix bounded", c->name);

		/* the same value as a header, folded at every byte */
		msg = malloc(len + 64);
		for (cut = 0, bad = 0; cut <= len; cut++) {
			size_t n = 0;

			memcpy(msg, "Received:", 9);
			n = 9;
			memcpy(msg + n, copy, cut);
			n += cut;
			/* fold only where a blank follows (the RFC way) */
			if (cut < len && (copy[cut] == ' ' ||
			    copy[cut] == '\t')) {
				memcpy(msg + n, "\r\n", 2);
				n += 2;
			}
			memcpy(msg + n, copy + cut, len - cut);
			n += len - cut;
			memcpy(msg + n, "\r\n\r\nbody\r\n", 10);
			n += 10;
			rc = an_received_parse(msg, n);
			if (rc->n != 1 || rc->hops[0].rawlen != len ||
			    memcmp(rc->hops[0].raw, copy, len) != 0)
				bad++;
			else if (memchr(copy, '\0', len) == NULL) {
				an_received_parse_one(copy, len, &h);
				if (strcmp(h.from_addr,
				    rc->hops[0].from_addr) != 0 ||
				    strcmp(h.by, rc->hops[0].by) != 0)
					bad++;
			}
			an_received_free(rc);
		}
		is_int(bad, 0, "%s: folded at every blank, unfolded back",
		    c->name);
		free(msg);
		free(copy);
	}
}

static void
test_limits(void)
{
	struct an_received	*rc;
	struct an_received_hop	 h;
	char			*big, *msg;
	size_t			 i, n;

	/* a 10k-character header: cut at AN_RCV_HDR_MAX */
	big = malloc(10001);
	memcpy(big, " from x ([1.2.3.4]) by ", 23);
	memset(big + 23, 'a', 10000 - 23);
	an_received_parse_one(big, 10000, &h);
	ok(h.truncated && h.rawlen == AN_RCV_HDR_MAX &&
	    strcmp(h.from_addr, "1.2.3.4") == 0 &&
	    strlen(h.by) == AN_RCV_NAME_MAX - 1,
	    "10k header: cut at %d, by cut to %d", AN_RCV_HDR_MAX,
	    AN_RCV_NAME_MAX - 1);
	/* the same folded into many lines */
	msg = malloc(30000);
	n = 0;
	memcpy(msg, "Received: from x ([1.2.3.4]) by y", 33);
	n = 33;
	for (i = 0; i < 1000; i++) {
		memcpy(msg + n, "\r\n\t(cccccccc)", 13);
		n += 13;
	}
	memcpy(msg + n, "\r\n\r\n", 4);
	n += 4;
	rc = an_received_parse(msg, n);
	ok(rc->n == 1 && rc->hops[0].truncated &&
	    rc->hops[0].rawlen == AN_RCV_HDR_MAX &&
	    strcmp(rc->hops[0].from_addr, "1.2.3.4") == 0,
	    "folded 13k header: one hop cut at %d", AN_RCV_HDR_MAX);
	an_received_free(rc);

	/* 100 headers: 64 kept, 100 seen; body lines not read */
	n = 0;
	for (i = 0; i < 100; i++)
		n += (size_t)sprintf(msg + n, "Received: from h%zu "
		    "([10.0.0.%zu]) by x; d\n", i, i % 250);
	n += (size_t)sprintf(msg + n, "\nReceived: from body ([1.1.1.1])\n");
	rc = an_received_parse(msg, n);
	ok(rc->n == AN_RCV_HOPS_MAX && rc->seen == 100 &&
	    strcmp(rc->hops[0].from_name, "h0") == 0 &&
	    strcmp(rc->hops[63].from_name, "h63") == 0,
	    "100 headers: %zu kept, %zu seen", rc->n, rc->seen);
	an_received_free(rc);

	/* no header section end, no newline at all, CR only */
#define PARSE_LIT(s) an_received_parse((s), sizeof(s) - 1)
	rc = PARSE_LIT("Received: from a ([2.2.2.2]) by b");
	ok(rc->n == 1 && strcmp(rc->hops[0].from_addr, "2.2.2.2") == 0,
	    "no final newline");
	an_received_free(rc);
	rc = an_received_parse("", 0);
	ok(rc->n == 0 && rc->seen == 0, "empty message");
	an_received_free(rc);
	rc = PARSE_LIT("\nReceived: from a by b\n");
	ok(rc->n == 0, "blank first line: no headers");
	an_received_free(rc);
	/* a line of CRs ends the header, as for GMime's copy (an_mime.c) */
	rc = PARSE_LIT("Received: from a ([2.2.2.2]) by b\r\n\r\r\n"
	    "Received: from c ([3.3.3.3]) by a\r\n");
	ok(rc->n == 1 && rc->seen == 1, "a line of CRs ends the header");
	an_received_free(rc);
	rc = PARSE_LIT("Received: from a ([2.2.2.2]) by b\n\r\r\r\n"
	    "Received: from c ([3.3.3.3]) by a\n");
	ok(rc->n == 1 && rc->seen == 1, "a line of three CRs ends it too");
	an_received_free(rc);
	rc = PARSE_LIT("X-Received: from a by b\nreceived : from c "
	    "by d\nReceivedX: e\n");
	ok(rc->n == 1 && strcmp(rc->hops[0].from_name, "c") == 0,
	    "name match: case-insensitive, whole name, blanks before ':'");
	an_received_free(rc);
	free(big);
	free(msg);
}

static void
test_private(void)
{
	static const struct { const char *a; bool priv; } t[] = {
		{ "10.1.2.3", true }, { "172.16.0.1", true },
		{ "172.32.0.1", false }, { "192.168.1.1", true },
		{ "127.0.0.1", true }, { "100.64.0.1", true },
		{ "169.254.1.1", true }, { "0.0.0.0", true },
		{ "224.0.0.1", true }, { "255.255.255.255", true },
		{ "8.8.8.8", false }, { "203.0.113.9", false },
		{ "::1", true }, { "::", true }, { "fe80::1", true },
		{ "fd00::1", true }, { "ff02::1", true },
		{ "2001:db8::1", false }, { "2a01:111::1", false },
		{ "::ffff:10.0.0.1", true }, { "::ffff:8.8.8.8", false },
		{ "not an address", true },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_int(an_received_addr_private(t[i].a), t[i].priv,
		    "private %s", t[i].a);
}

/* Real messages; every expected value read by hand from the file. */
struct fcase {
	const char	*file;		/* under tests/fixtures/spam */
	size_t		 n;		/* hops */
	size_t		 hop;
	struct rcase	 want;
};

static const struct fcase fcases[] = {
	{ "rspamd-test-messages/bad_message.eml", 3, 0,
	  { .name = "bad_message hop 0 (Dovecot LMTP)",
	    .from_name = "mx.mezonplus.ru", .from_addr = "",
	    .by = "mx.mezon.local", .with = "LMTP",
	    .id = "YVBbOi5Cm1WCLgEAPZa6/Q",
	    .date = "Tue, 07 Jul 2015 06:06:22 +0300" } },
	{ "rspamd-test-messages/bad_message.eml", 3, 2,
	  { .name = "bad_message hop 2 (Postfix ESMTPA)",
	    .from_name = "esumare.ru", .from_rdns = "unknown",
	    .from_addr = "93.170.123.20", .by = "esumare.ru",
	    .with = "ESMTPA", .id = "A5DA0C68C0" } },
	{ "rspamd-test-messages/received1.eml", 4, 1,
	  { .name = "received1 hop 1 (Exim helo=)",
	    .from_name = "ca-18-193-131.service.infuturo.it",
	    .from_helo = "User", .from_addr = "151.18.193.131",
	    .by = "server.chat-met-vreemden.nl", .with = "esmtpa",
	    .id = "1ZC1sl-0006b4-TU",
	    .date = "Mon, 06 Jul 2015 10:36:08 +0200" } },
	{ "rspamd-test-messages/received1.eml", 4, 0,
	  { .name = "received1 hop 0 (Postfix IPv6)",
	    .from_name = "server.chat-met-vreemden.nl",
	    .from_rdns = "unknown",
	    .from_addr = "2a01:7c8:aab6:26d:5054:ff:fed1:1da2",
	    .by = "mx1.freebsd.org", .with = "ESMTPS", .id = "CF0171862",
	    .for_ = "test@example.com" } },
	{ "mail-parser-tests/mail_test_8.eml", 3, 1,
	  { .name = "mail_test_8 hop 1 (qmail HELO)",
	    .from_name = "host.colocrossing.com",
	    .from_helo = "04d930f1.moneytrack.top",
	    .from_rdns = "host.colocrossing.com",
	    .from_addr = "198.23.142.158", .by = "smtp.dakota.net",
	    .with = "SMTP", .date = "7 Mar 2017 22:29:25 -0000" } },
	{ "mail-parser-tests/mail_test_17.eml", 4, 0,
	  { .name = "mail_test_17 hop 0 (Exchange)",
	    .from_name = "apiron13.triara.com", .from_addr = "200.57.129.98",
	    .by = "APCNHUB11.correo.local", .id = "14.3.498.0",
	    .addrs = "200.57.129.98 172.18.31.175" } },
	{ "mail-parser-tests/mail_test_17.eml", 4, 3,
	  { .name = "mail_test_17 hop 3 (sendmail submit)",
	    .from_name = "", .from_addr = "", .by = "vps-051e4cda.vps.ovh.net",
	    .id = "29AKBWwn005317", .date = "Mon, 10 Oct 2022 20:11:32 GMT" } },
	{ "spamassassin-t-data/spam/unicode2", 3, 2,
	  { .name = "unicode2 hop 2 (Postfix unknown)",
	    .from_name = "MZZTQKTVAKJHJCZ", .from_addr = "163.125.18.151",
	    .by = "nj080.top", .with = "ESMTPA", .id = "253435234A8",
	    .for_ = "redacted@example.com" } },
	{ "spamassassin-t-data/spam/001", 3, 2,
	  { .name = "001 hop 2 (Exchange IMS via sendmail)",
	    .from_name = "R00UqS18S",
	    .from_rdns = "max1-45.losangeles.corecomm.net",
	    .from_addr = "216.214.106.173", .by = "netsvr.Internet",
	    .with = "SMTP", .id = "1429NTL5" } },
	{ "spamassassin-t-data/spam/dmarc/noneko.eml", 2, 1,
	  { .name = "noneko hop 1 (Gmail ESMTPSA IPv6)",
	    .from_name = "PC",
	    .from_addr = "2409:4063:231e:c527:1997:664a:34e5:7d88",
	    .by = "smtp.gmail.com", .with = "ESMTPSA",
	    .id = "n23sm15339981pgv.76.2021.06.15.02.55.37",
	    .for_ = "test@dmarc1.spamassassin.org" } },
	{ "mail-parser-tests/mail_test_9.eml", 5, 3,
	  { .name = "mail_test_9 hop 3 (qmail-scanner)",
	    .from_name = "223.152.177.168", .from_addr = "223.152.177.168",
	    .by = "mail.sgis.com.cn", .with = "qmail-scanner-1.24" } },
	{ "spamassassin-t-data/spam/006", 5, 1,
	  { .name = "006 hop 1 (fetchmail)",
	    .from_name = "dogma.slashnull.org", .from_addr = "212.17.35.15",
	    .by = "localhost", .with = "IMAP", .for_ = "jm@localhost" } },
	{ "spamassassin-t-data/spam/006", 5, 4,
	  { .name = "006 hop 4 (Microsoft SMTPSVC)",
	    .from_name = "mx14.hotmail.com", .from_addr = "200.83.20.140",
	    .by = "kr-sel-opccmail.oakwoodpremier.co.kr",
	    .with = "Microsoft SMTPSVC",	/* "(5.0...)" is a comment */
	    .date = "Sat, 29 Jun 2002 02:36:44 +0900" } },
};

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*p;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	if (fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void
test_fixtures(void)
{
	const char		*top = getenv("RT_TOP_SRCDIR");
	char			 path[1024], *msg;
	size_t			 i, len = 0, cut, bad;
	struct an_received	*rc;

	for (i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
		snprintf(path, sizeof(path), "%s/tests/fixtures/spam/%s",
		    top != NULL ? top : ".", fcases[i].file);
		if (!ok((msg = slurp(path, &len)) != NULL, "read %s", path))
			continue;
		rc = an_received_parse(msg, len);
		if (ok(rc->n == fcases[i].n, "%s: %zu hops", fcases[i].file,
		    rc->n) && fcases[i].hop < rc->n)
			check(&rc->hops[fcases[i].hop], &fcases[i].want, "");
		an_received_free(rc);
		/* every prefix of the real message parses, bounded */
		for (cut = 0, bad = 0; cut <= len && cut < 8192; cut++) {
			char *pre = malloc(cut + 1);

			memcpy(pre, msg, cut);
			rc = an_received_parse(pre, cut);
			if (rc->n > fcases[i].n)
				bad++;
			an_received_free(rc);
			free(pre);
		}
		is_int(bad, 0, "%s: every prefix parses", fcases[i].file);
		free(msg);
	}
}

int
main(void)
{
	test_cases();
	test_limits();
	test_private();
	test_fixtures();
	return tap_done();
}
