/*
 * test_an_origin.c -- analyzers/an_origin.c without DNS (ctx->dns NULL;
 * the PTR/FCrDNS part runs against unbound in test_an_dns.c): the result
 * shape, and the origin decision for bots, relays, private clients and
 * real chains from tests/fixtures/spam (file named in each case; the
 * expected hop read by hand).
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tap.h"
#include "analyzers/an.h"
#include "analyzers/an_received.h"

extern const struct an_analyzer an_origin;

struct ocase {
	const char	*name;
	const char	*client;	/* NULL: no "client" */
	const char	*msg;		/* or */
	const char	*file;		/* under tests/fixtures/spam */
	const char	*want_addr;	/* NULL: null */
	int		 want_hop;	/* -1: null */
	const char	*want_reason;
	const char	*want_claimed; /* NULL: null */
	const char	*want_dns;
	const char	*want_detail;	/* in "detail"; NULL: not checked */
};

static const struct ocase cases[] = {
	{ "bot, no headers", "198.51.100.9", "Subject: x\r\n\r\nhi\r\n",
	  NULL, "198.51.100.9", -1, "client", NULL, "skipped" },
	{ "bot with a forged hop", "198.51.100.9",
	  "Received: from friend ([203.0.113.77]) by mx.example.com; d\r\n"
	  "\r\n", NULL, "198.51.100.9", -1, "client", "203.0.113.77",
	  "skipped", "hop 0 (by mx.example.com) was not written by the "
	  "client" },
	{ "relay wrote hop 0 (by = its address)", "198.51.100.7",
	  "Received: from pc (unknown [203.0.113.50]) by [198.51.100.7] "
	  "with SMTP; d\r\n\r\n", NULL, "203.0.113.50", 0, "relayed", NULL,
	  "skipped" },
	{ "relay with an internal hop", "198.51.100.7",
	  "Received: from internal (internal [10.0.0.2]) by 198.51.100.7 "
	  "with ESMTP; d\r\n"
	  "Received: from pc ([203.0.113.60]) by internal with SMTP; d\r\n"
	  "Received: from older ([192.0.2.1]) by pc; d\r\n\r\n", NULL,
	  "203.0.113.60", 1, "relayed", NULL, "skipped" },
	{ "relay, chain broken below a private hop", "198.51.100.7",
	  "Received: from internal (internal [10.0.0.2]) by 198.51.100.7; d"
	  "\r\nReceived: from pc ([203.0.113.60]) by elsewhere; d\r\n\r\n",
	  NULL, "198.51.100.7", -1, "client", NULL, "skipped",
	  "hop 0 (by 198.51.100.7) was written by the client, but no hop" },
	{ "private client, nothing public", "127.0.0.1",
	  "Received: from a ([10.1.1.1]) by b; d\n\n", NULL, "127.0.0.1", -1,
	  "private_only", NULL, "private" },
	{ "no client in the envelope", NULL, "Subject: x\n\nbody\n", NULL,
	  NULL, -1, "private_only", NULL, "none" },
	{ "client not an address", "not-an-ip", "\n", NULL, NULL, -1,
	  "private_only", NULL, "none" },
	/* real chains: 006 hop 0 is localhost [127.0.0.1] by phobos, hop 1
	 * (by localhost) names dogma.slashnull.org [212.17.35.15] */
	{ "006 behind a private client", "10.0.0.1", NULL,
	  "spamassassin-t-data/spam/006", "212.17.35.15", 1,
	  "private_client", NULL, "private" },
	/* unicode2: hop 0 from in02.mxguardian.net [172.16.2.249], hop 1
	 * by in02.mxguardian.net from nj080.top [103.158.37.49] */
	{ "unicode2 behind a private client", "192.168.1.10", NULL,
	  "spamassassin-t-data/spam/unicode2", "103.158.37.49", 1,
	  "private_client", NULL, "private" },
	/* 001: hop 0 from webnote.net [193.120.211.219] by
	 * mail.netnoteinc.com, which is not the client */
	{ "001 from a public client", "203.0.113.5", NULL,
	  "spamassassin-t-data/spam/001", "203.0.113.5", -1, "client",
	  "193.120.211.219", "skipped" },
	/* mail_test_8: hop 0 is "(qmail ... invoked from network)", hop 1
	 * from host.colocrossing.com (198.23.142.158) by smtp.dakota.net */
	{ "mail_test_8 from a public client", "203.0.113.5", NULL,
	  "mail-parser-tests/mail_test_8.eml", "203.0.113.5", -1, "client",
	  "198.23.142.158", "skipped" },
	{ "qmail 'invoked' line stepped over", "198.23.142.1",
	  "Received: (qmail 1 invoked from network); d\n"
	  "Received: from h (HELO x) (198.51.100.33) by 198.23.142.1 with "
	  "SMTP; d\n\n", NULL, "198.51.100.33", 1, "relayed", NULL,
	  "skipped" },
	/* mail_test_17 hop 0 by APCNHUB11.correo.local (172.18.31.175) */
	{ "mail_test_17: client is the by-address of hop 0",
	  "172.18.31.175", NULL, "mail-parser-tests/mail_test_17.eml",
	  "200.57.129.98", 0, "private_client", NULL, "private" },
};

static char *
slurp(const char *file, size_t *len)
{
	const char	*top = getenv("RT_TOP_SRCDIR");
	char		 path[1024], *p;
	FILE		*f;
	long		 n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/spam/%s",
	    top != NULL ? top : ".", file);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	if (fread(p, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(p);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void
run_case(const struct ocase *c)
{
	struct an_ctx	 ctx;
	json_t		*env, *out = NULL, *o, *cl, *hops, *h;
	enum an_status	 st;
	char		*msg;
	size_t		 len = 0, i;
	static const char *hopkeys[] = { "from_name", "from_helo", "from_rdns",
	    "from_addr", "by", "with", "id", "for", "date", "time", "addrs", "raw",
	    "truncated" };
	int		 keys_ok = 1;

	if (c->file != NULL) {
		if (!ok((msg = slurp(c->file, &len)) != NULL, "read %s",
		    c->file))
			return;
	} else {
		msg = strdup(c->msg);
		len = strlen(c->msg);
	}
	env = c->client != NULL ? json_pack("{s:{s:s,s:i}}", "client",
	    "addr", c->client, "port", 1234) : json_object();
	memset(&ctx, 0, sizeof(ctx));
	ctx.envelope = env;
	ctx.msg = msg;
	ctx.msglen = len;
	ctx.results = json_object();
	st = an_origin.run(NULL, &ctx, &out);
	ok(st == AN_OK && out != NULL, "%s: AN_OK", c->name);
	if (out == NULL)
		goto done;
	o = json_object_get(out, "origin");
	cl = json_object_get(out, "client");
	hops = json_object_get(out, "hops");
	is_str(jstr(o, "addr"), c->want_addr, "%s: origin addr", c->name);
	if (c->want_hop < 0)
		ok(json_is_null(json_object_get(o, "hop")), "%s: hop null",
		    c->name);
	else
		is_int(json_integer_value(json_object_get(o, "hop")),
		    c->want_hop, "%s: hop", c->name);
	is_str(jstr(o, "reason"), c->want_reason, "%s: reason", c->name);
	if (c->want_detail != NULL)
		ok(jstr(o, "detail") != NULL && strstr(jstr(o, "detail"),
		    c->want_detail) != NULL, "%s: detail \"%s\"", c->name,
		    jstr(o, "detail") ? jstr(o, "detail") : "(null)");
	is_str(jstr(o, "claimed"), c->want_claimed, "%s: claimed", c->name);
	is_str(jstr(cl, "dns"), c->want_dns, "%s: dns", c->name);
	ok(json_is_null(json_object_get(cl, "ptr")) &&
	    json_is_null(json_object_get(cl, "ptr_confirmed")) &&
	    json_is_boolean(json_object_get(cl, "private")) &&
	    json_object_get(cl, "addr") != NULL &&
	    jstr(o, "detail") != NULL && json_is_array(hops) &&
	    json_is_integer(json_object_get(out, "hops_seen")),
	    "%s: result shape", c->name);
	json_array_foreach(hops, i, h) {
		size_t k;

		for (k = 0; k < sizeof(hopkeys) / sizeof(hopkeys[0]); k++)
			if (json_object_get(h, hopkeys[k]) == NULL)
				keys_ok = 0;
	}
	ok(keys_ok, "%s: every hop has every key", c->name);
	json_decref(out);
done:
	json_decref(ctx.results);
	json_decref(env);
	free(msg);
}

/* each hop's date as UTC, comments and zones folded; null if unparsable */
static void
test_hop_times(void)
{
	static const char msg[] =
	    "Received: from a ([203.0.113.1]) by mx.example.com; Mon,  6 Jul "
	    "2015 09:01:20 +0000 (UTC) (envelope-from x@example.org)\r\n"
	    "Received: from b ([203.0.113.2]) by a; Tue, 7 Jul 2015 11:02:03 "
	    "+0200\r\n"
	    "Received: from c ([203.0.113.3]) by b; 7 Jul 2015 01:02:03 -0500"
	    "\r\n"
	    "Received: from d ([203.0.113.4]) by c; not a date at all\r\n"
	    "Received: from e ([203.0.113.5]) by d\r\n"
	    "Subject: x\r\n\r\nhi\r\n";
	static const char *want[] = { "2015-07-06T09:01:20Z",
	    "2015-07-07T09:02:03Z", "2015-07-07T06:02:03Z", NULL, NULL };
	struct an_ctx	 ctx;
	json_t		*env, *out = NULL, *hops;
	size_t		 i;

	env = json_pack("{s:{s:s,s:i}}", "client", "addr", "198.51.100.9",
	    "port", 1234);
	memset(&ctx, 0, sizeof(ctx));
	ctx.envelope = env;
	ctx.msg = msg;
	ctx.msglen = sizeof(msg) - 1;
	ctx.results = json_object();
	ok(an_origin.run(NULL, &ctx, &out) == AN_OK, "hop times: AN_OK");
	hops = json_object_get(out, "hops");
	is_int(json_array_size(hops), 5, "hop times: five hops");
	for (i = 0; i < 5; i++) {
		json_t *tm = json_object_get(json_array_get(hops, i), "time");

		if (want[i] == NULL)
			ok(json_is_null(tm), "hop %zu: no time", i);
		else
			is_str(json_string_value(tm), want[i], "hop %zu: time",
			    i);
	}
	json_decref(out);
	json_decref(ctx.results);
	json_decref(env);
}

int
main(void)
{
	size_t	 i;

	test_hop_times();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	return tap_done();
}
