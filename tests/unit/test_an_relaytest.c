/*
 * test_an_relaytest.c -- one case per signal of the relay-test classifier
 * (trap address in Subject/headers/body/recipients after MIME decoding,
 * AUTH echo, Metasploit shape, envelope shape, testers in all their
 * forms, operator rules), then the state signals in sequence (first
 * sighting, drop-boxes, content clusters) and the verdict JSON.
 */
#include <gmime/gmime.h>

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "an.h"
#include "an_relaytest.h"
#include "an_state.h"
#include "conf.h"
#include "tap.h"

struct rt_case {
	const char	*name;
	const char	*from;		/* NULL: "bot@spam.example" */
	const char	*rcpt;		/* comma separated; NULL: one drop-box */
	const char	*server;	/* envelope server.addr */
	const char	*auth;		/* "user:password" */
	const char	*msg;
	size_t		 len;		/* 0: strlen(msg); or msg has NULs */
	enum an_rt_kind	 want;
	const char	*has;		/* reasons that must fire, space sep. */
	const char	*hasnot;	/* reasons that must not fire */
};

#define HDR	"From: <bot@spam.example>\r\nTo: <drop@freemail.example>\r\n" \
		"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
#define BIGBODY	"Dear friend, this is a long message about cheap watches " \
		"and replica bags. We ship worldwide within three days. "  \
		"Order now and receive a free gift with every purchase. "  \
		"Our prices are the lowest on the Internet, guaranteed.\r\n"
#define BIG	BIGBODY BIGBODY BIGBODY BIGBODY BIGBODY BIGBODY
#define BYTES(m)	.msg = (m), .len = sizeof(m) - 1

static const struct rt_case cases[] = {
	{ .name = "trap IP in Subject (FOSR)",
	  .msg = HDR "Subject: 198.51.100.25\r\n\r\nhello\r\n",
	  .want = AN_RT_RELAY_TEST, .has = "trap_addr_subject few_rcpts" },
	{ .name = "RFC 2047 Subject",
	  .msg = HDR "Subject: =?UTF-8?B?UmVsYXkgdGVzdCAxOTguNTEuMTAwLjI1?=\r\n"
	  "\r\nhi\r\n",
	  .want = AN_RT_RELAY_TEST, .has = "trap_addr_subject" },
	{ .name = "X-SpamInfo header",
	  .msg = HDR "Subject: hi\r\nX-SpamInfo: 198.51.100.25:25\r\n\r\n"
	  BIG, .want = AN_RT_RELAY_TEST, .has = "trap_addr_header few_rcpts",
	  .hasnot = "tiny_body" },
	{ .name = "hex in Message-ID",
	  .msg = HDR "Subject: hi\r\nMessage-ID: <C6336419.77@bot>\r\n\r\n"
	  BIG, .want = AN_RT_RELAY_TEST, .has = "trap_addr_header" },
	{ .name = "Received header ignored",
	  .msg = "Received: from x by 198.51.100.25 with SMTP\r\n" HDR
	  "Subject: watches\r\n\r\n" BIG,
	  .want = AN_RT_SPAM, .hasnot = "trap_addr_header" },
	{ .name = "quoted-printable body",
	  .msg = HDR "Subject: ok\r\nMIME-Version: 1.0\r\nContent-Type: text/plain;"
	  " charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n"
	  "\r\nserver=3D198=2E51=2E100=2E25=\r\n ok\r\n",
	  .want = AN_RT_RELAY_TEST, .has = "trap_addr_body" },
	{ .name = "base64 body",
	  .msg = HDR "Subject: ok\r\nMIME-Version: 1.0\r\nContent-Type: text/plain;"
	  " charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "aXAgMTk4LjUxLjEwMC4yNSB3b3Jrcwo=\r\n",
	  .want = AN_RT_RELAY_TEST, .has = "trap_addr_body" },
	/* the body after a NUL is read (it cut GMime's text before) */
	{ .name = "trap IP after a NUL in the body",
	  BYTES(HDR "Subject: hi\r\n\r\n\0relay via 198.51.100.25\r\n"),
	  .want = AN_RT_RELAY_TEST, .has = "trap_addr_body" },
	{ .name = "trap IP after NULs in a base64 body",
	  .msg = HDR "Subject: ok\r\nContent-Transfer-Encoding: base64\r\n"
	  "\r\nAAByZWxheSAxOTguNTEuMTAwLjI1IG9rCg==\r\n",
	  .want = AN_RT_RELAY_TEST, .has = "trap_addr_body" },
	{ .name = "AUTH echo after a NUL", .auth = "admin:hunter22",
	  BYTES(HDR "Subject: works\r\n\r\n\0login admin:hunter22\r\n"),
	  .want = AN_RT_RELAY_TEST, .has = "auth_echo" },
	/* a line of CRs ends the header (GMime read on and lost the body) */
	{ .name = "trap IP after a header ended by CR CRLF",
	  .msg = HDR "Subject: hi\r\n\r\r\nrelay via 198.51.100.25\r\n",
	  .want = AN_RT_RELAY_TEST, .has = "trap_addr_body" },
	{ .name = "weak hex alone is not enough",
	  .msg = HDR "Subject: meeting\r\n\r\n" BIG "at 1C6336419:8080:6\r\n",
	  .want = AN_RT_SPAM, .has = "trap_addr_body_weak",
	  .hasnot = "trap_addr_body" },
	{ .name = "trap IP in recipient local part",
	  .rcpt = "198.51.100.25@freemail.example",
	  .msg = HDR "Subject: x\r\n\r\n" BIG,
	  .want = AN_RT_RELAY_TEST, .has = "trap_addr_rcpt few_rcpts" },
	{ .name = "listener address from the envelope",
	  .server = "192.0.2.10",
	  .msg = HDR "Subject: test 192.0.2.10\r\n\r\nx\r\n",
	  .want = AN_RT_RELAY_TEST, .has = "trap_addr_subject" },
	{ .name = "loopback listener is no needle",
	  .server = "127.0.0.1",
	  .msg = HDR "Subject: test 127.0.0.1\r\n\r\n" BIG,
	  .want = AN_RT_SPAM, .hasnot = "trap_addr_subject" },
	{ .name = "AUTH credentials echoed",
	  .auth = "admin:hunter22",
	  .msg = HDR "Subject: works\r\n\r\nlogin admin:hunter22\r\n",
	  .want = AN_RT_RELAY_TEST, .has = "auth_echo tiny_body" },
	{ .name = "AUTH user and password apart",
	  .auth = "info@victim.example:Summer2026",
	  .msg = HDR "Subject: ok\r\n\r\nu=info@victim.example\r\np=Summer2026\r\n",
	  .want = AN_RT_RELAY_TEST, .has = "auth_echo" },
	{ .name = "AUTH password only",
	  .auth = "zz:Summer2026",
	  .msg = HDR "Subject: ok\r\n\r\n" BIG "Summer2026\r\n",
	  .want = AN_RT_SPAM, .has = "auth_echo_password",
	  .hasnot = "auth_echo" },
	{ .name = "Metasploit headerless letters",
	  .msg = "hJkLmNoPq\r\n",
	  .want = AN_RT_RELAY_TEST, .has = "msf_shape tiny_body few_rcpts" },
	{ .name = "headerless but not letters",
	  .msg = "\n", .want = AN_RT_SPAM, .hasnot = "msf_shape" },
	{ .name = "many recipients",
	  .rcpt = "a@x.example,b@x.example,c@x.example,d@x.example,e@x.example",
	  .msg = HDR "Subject: 198.51.100.25\r\n\r\nx\r\n",
	  .want = AN_RT_SPAM, .has = "many_rcpts trap_addr_subject" },
	{ .name = "weak signals only stay spam",
	  .from = "drop@freemail.example",
	  .msg = HDR "Subject: hi\r\n\r\nhi\r\n",
	  .want = AN_RT_SPAM, .has = "sender_is_rcpt few_rcpts tiny_body" },
	{ .name = "same domain",
	  .from = "other@freemail.example",
	  .msg = HDR "Subject: hi\r\n\r\n" BIG,
	  .want = AN_RT_SPAM, .has = "sender_rcpt_domain",
	  .hasnot = "sender_is_rcpt tiny_body" },
	{ .name = "DSBL plain", .rcpt = "listme@dsbl.org",
	  .msg = HDR "Subject: 198.51.100.25\r\n\r\nx\r\n",
	  .want = AN_RT_TESTER, .has = "known_tester",
	  .hasnot = "trap_addr_subject" },
	{ .name = "DSBL quoted", .rcpt = "\"listme@dsbl.org\"",
	  .msg = HDR "\r\nx\r\n", .want = AN_RT_TESTER, .has = "known_tester" },
	{ .name = "DSBL bang", .rcpt = "dsbl.org!listme@[198.51.100.25]",
	  .msg = HDR "\r\nx\r\n", .want = AN_RT_TESTER, .has = "known_tester" },
	{ .name = "DSBL percent", .rcpt = "listme%dsbl.org@[198.51.100.25]",
	  .msg = HDR "\r\nx\r\n", .want = AN_RT_TESTER, .has = "known_tester" },
	{ .name = "DSBL source route", .rcpt = "@[198.51.100.25]:LISTME@DSBL.ORG",
	  .msg = HDR "\r\nx\r\n", .want = AN_RT_TESTER, .has = "known_tester" },
	{ .name = "DSBL double at", .rcpt = "listme@dsbl.org@[198.51.100.25]",
	  .msg = HDR "\r\nx\r\n", .want = AN_RT_TESTER, .has = "known_tester" },
	{ .name = "not DSBL: longer domain", .rcpt = "listme@dsbl.org.evil.example",
	  .msg = HDR "\r\nx\r\n", .want = AN_RT_SPAM, .hasnot = "known_tester" },
	{ .name = "not DSBL: longer local", .rcpt = "xlistme@dsbl.org",
	  .msg = HDR "\r\nx\r\n", .want = AN_RT_SPAM, .hasnot = "known_tester" },
	{ .name = "nmap", .from = "antispam@[198.51.100.25]",
	  .rcpt = "relaytest%nmap.scanme.org@mail.example.net",
	  .msg = HDR "\r\nx\r\n", .want = AN_RT_TESTER, .has = "known_tester" },
	{ .name = "mailradar sender", .from = "antispam@mailradar.com",
	  .rcpt = "someone@x.example",
	  .msg = HDR "\r\nx\r\n", .want = AN_RT_TESTER, .has = "known_tester" },
	{ .name = "AOL", .from = "CloseYourOpenRelay@aol.com",
	  .rcpt = "CloseYourOpenRelay@aol.com",
	  .msg = HDR "\r\nx\r\n", .want = AN_RT_TESTER, .has = "known_tester" },
	{ .name = "MxToolbox", .rcpt = "test@example.com",
	  .msg = HDR "\r\nx\r\n", .want = AN_RT_TESTER, .has = "known_tester" },
	{ .name = "operator tester list", .rcpt = "probe@abuse-check.example",
	  .msg = HDR "Subject: 198.51.100.25\r\n\r\nx\r\n",
	  .want = AN_RT_TESTER, .has = "known_tester" },
	{ .name = "forward_never beats trap", .msg = HDR
	  "Subject: 198.51.100.25 LOTTERY winner\r\n\r\nx\r\n",
	  .want = AN_RT_SPAM, .has = "rule_never trap_addr_subject" },
	{ .name = "forward_always recipient", .rcpt = "me@always.example",
	  .msg = HDR "Subject: nothing\r\n\r\n" BIG,
	  .want = AN_RT_RELAY_TEST, .has = "rule_always" },
	{ .name = "forward_never sender", .from = "x@never.example",
	  .msg = HDR "Subject: 198.51.100.25\r\n\r\nx\r\n",
	  .want = AN_RT_SPAM, .has = "rule_never" },
	{ .name = "plain spam", .msg = HDR "Subject: watches\r\n\r\n" BIG,
	  .want = AN_RT_SPAM, .hasnot = "trap_addr_subject tiny_body" },
	{ .name = "garbage bytes", .msg = "\x01\x02\xff\xfe: \r\n\r\n\xff",
	  .want = AN_RT_SPAM },
};

static json_t *
mkenv(const char *from, const char *rcpts, const char *client,
    const char *server, const char *auth)
{
	json_t	*env, *arr, *a;
	char	*list, *p, *s, *colon;

	env = json_object();
	json_object_set_new(env, "version", json_integer(1));
	json_object_set_new(env, "client", json_pack("{s:s,s:i}", "addr",
	    client, "port", 50123));
	json_object_set_new(env, "server", json_pack("{s:s,s:i}", "addr",
	    server ? server : "127.0.0.1", "port", 2525));
	json_object_set_new(env, "mail_from", json_pack("{s:s}", "addr",
	    from ? from : "bot@spam.example"));
	arr = json_array();
	list = strdup(rcpts ? rcpts : "drop@freemail.example");
	for (p = list; (s = strsep(&p, ",")) != NULL;)
		json_array_append_new(arr, json_pack("{s:s}", "addr", s));
	free(list);
	json_object_set_new(env, "rcpt", arr);
	arr = json_array();
	if (auth != NULL) {
		list = strdup(auth);
		colon = strrchr(list, ':');
		*colon = '\0';
		a = json_pack("{s:s,s:s,s:s,s:s}", "mechanism", "LOGIN",
		    "user", list, "password", colon + 1, "result", "ok");
		json_array_append_new(arr, a);
		free(list);
	}
	json_object_set_new(env, "auth", arr);
	return env;
}

static bool
has_reason(const struct an_rt_verdict *v, const char *name)
{
	size_t	 i;

	for (i = 0; i < v->nreasons; i++)
		if (strcmp(v->reasons[i].name, name) == 0)
			return true;
	return false;
}

static bool
reason_has(const struct an_rt_verdict *v, const char *name, const char *sub)
{
	size_t	 i;

	for (i = 0; i < v->nreasons; i++)
		if (strcmp(v->reasons[i].name, name) == 0 &&
		    strstr(v->reasons[i].detail, sub) != NULL)
			return true;
	return false;
}

static void
check_names(const struct an_rt_verdict *v, const char *names, bool want,
    const char *cname)
{
	char	*list, *p, *s;

	if (names == NULL)
		return;
	list = strdup(names);
	for (p = list; (s = strsep(&p, " ")) != NULL;)
		ok(has_reason(v, s) == want, "%s: %s %s", cname,
		    want ? "has" : "has not", s);
	free(list);
}

static int
classify_len(const struct an_rt_config *cfg, struct an_state *st,
    json_t *env, const char *msg, size_t len, int64_t now,
    struct an_rt_verdict *v)
{
	struct an_rt_input in;

	memset(&in, 0, sizeof(in));
	in.cfg = cfg;
	in.envelope = env;
	in.msg = msg;
	in.msglen = len;
	in.state = st;
	in.now = now;
	in.update = true;
	return an_relaytest_classify(&in, v);
}

static int
classify(const struct an_rt_config *cfg, struct an_state *st, json_t *env,
    const char *msg, int64_t now, struct an_rt_verdict *v)
{
	return classify_len(cfg, st, env, msg, strlen(msg), now, v);
}

static char *lst_trap[] = { "198.51.100.25", "2001:db8::25" };
static char *lst_listen[] = { "127.0.0.1:2525", "proxy:[::1]:2526",
    "tls:203.0.113.250:465" };
static char *lst_always[] = { "rcpt:*@always.example" };
static char *lst_never[] = { "subject:*lottery*", "sender:*@never.example" };
static char *lst_testers[] = { "*@abuse-check.example" };
static char *lst_bad[] = { "body:*x*" };

static void
conf_init(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->trap_address.v = lst_trap;
	c->trap_address.n = 2;
	c->listen.v = lst_listen;
	c->listen.n = 3;
	c->forward_always.v = lst_always;
	c->forward_always.n = 1;
	c->forward_never.v = lst_never;
	c->forward_never.n = 2;
	c->known_testers.v = lst_testers;
	c->known_testers.n = 1;
	c->relaytest_threshold = 60;
	c->relaytest_cluster_first = 3;
	c->relaytest_client_window = 3600;
	c->relaytest_tiny_body = 512;
}

int
main(void)
{
	struct conf	 conf;
	struct an_rt_config *cfg;
	struct an_rt_verdict v;
	struct an_state	*st;
	json_t		*env, *j;
	const char	*errstr;
	char		 tmpdir[] = "/tmp/rt-test-an-rt-XXXXXX", path[256];
	char		 cmd[300], *dump;
	size_t		 i;
	int		 k;

	an_relaytest_init();
	conf_init(&conf);
	conf.forward_never.v = lst_bad;
	conf.forward_never.n = 1;
	ok(an_rt_config_new(&conf, &errstr) == NULL, "bad rule rejected");
	conf_init(&conf);
	conf.trap_address.v = lst_bad;
	conf.trap_address.n = 1;
	ok(an_rt_config_new(&conf, &errstr) == NULL, "bad address rejected");
	conf_init(&conf);
	cfg = an_rt_config_new(&conf, &errstr);
	ok(cfg != NULL, "config");

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rt_case *c = &cases[i];
		size_t	 len = c->len > 0 ? c->len : strlen(c->msg);

		env = mkenv(c->from, c->rcpt, "203.0.113.9", c->server,
		    c->auth);
		is_int(classify_len(cfg, NULL, env, c->msg, len, 1000, &v), 0,
		    "%s: classify", c->name);
		if (!ok(v.kind == c->want, "%s: verdict %s", c->name,
		    an_rt_kind_name(v.kind))) {
			printf("#   score %ld; reasons:", v.score);
			for (k = 0; k < (int)v.nreasons; k++)
				printf(" %s(%ld)", v.reasons[k].name,
				    v.reasons[k].weight);
			printf("\n");
		}
		check_names(&v, c->has, true, c->name);
		check_names(&v, c->hasnot, false, c->name);
		/* the analyzers' parse, handed in, gives the same verdict */
		{
			struct an_rt_input in;
			struct an_rt_verdict v2;
			GMimeMessage *gm;

			gm = an_mime_parse(c->msg, len);
			memset(&in, 0, sizeof(in));
			in.cfg = cfg;
			in.envelope = env;
			in.msg = c->msg;
			in.msglen = len;
			in.mime = gm;
			in.now = 1000;
			in.update = true;
			ok(an_relaytest_classify(&in, &v2) == 0 &&
			    v2.kind == v.kind && v2.score == v.score &&
			    v2.nreasons == v.nreasons,
			    "%s: same verdict from a shared parse (%ld/%ld)",
			    c->name, v.score, v2.score);
			an_rt_verdict_free(&v2);
			if (gm != NULL)
				g_object_unref(gm);
		}
		an_rt_verdict_free(&v);
		json_decref(env);
	}

	/* listener 203.0.113.250 from the listen list is a needle */
	env = mkenv(NULL, NULL, "192.0.2.1", NULL, NULL);
	classify(cfg, NULL, env, HDR "Subject: [203.0.113.250]\r\n\r\nx\r\n",
	    1, &v);
	ok(has_reason(&v, "trap_addr_subject"), "listen address is a needle");
	an_rt_verdict_free(&v);
	json_decref(env);

	/* hex trap IP in IPv6 form */
	env = mkenv(NULL, NULL, "192.0.2.1", NULL, NULL);
	classify(cfg, NULL, env, HDR "Subject: hi\r\n\r\n" BIG
	    "relay [2001:DB8:0:0:0:0:0:25]:25\r\n", 1, &v);
	ok(has_reason(&v, "trap_addr_body") && v.kind == AN_RT_RELAY_TEST,
	    "IPv6 trap address in body");
	an_rt_verdict_free(&v);
	json_decref(env);

	/* no envelope */
	ok(classify(cfg, NULL, NULL, "x", 1, &v) == -1, "NULL envelope");
	an_rt_verdict_free(&v);

	/* state signals, in order */
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/state.sqlite", tmpdir);
	st = an_state_open(path, &errstr);
	ok(st != NULL, "state open");

	env = mkenv(NULL, NULL, "203.0.113.9", NULL, NULL);
	classify(cfg, st, env, HDR "Subject: hi\r\n\r\nhi there\r\n", 1000, &v);
	ok(has_reason(&v, "first_client") && has_reason(&v, "first_prefix"),
	    "first sighting of client and /24");
	is_int(v.kind, AN_RT_SPAM, "weak signals with state stay spam");
	is_int(v.score, 33, "score 10+10+10+3");
	an_rt_verdict_free(&v);
	{
		/* the geoip analyzer's ASN: first sighting, then known */
		struct an_rt_input in;

		memset(&in, 0, sizeof(in));
		in.cfg = cfg;
		in.envelope = env;
		in.msg = HDR "Subject: hi\r\n\r\nhi there\r\n";
		in.msglen = strlen(in.msg);
		in.state = st;
		in.now = 1001;
		in.update = true;
		in.asn = 64500;
		an_relaytest_classify(&in, &v);
		ok(has_reason(&v, "first_asn"), "first message from an ASN");
		an_rt_verdict_free(&v);
		in.now = 1002;
		an_relaytest_classify(&in, &v);
		ok(!has_reason(&v, "first_asn"), "the ASN is known afterwards");
	}
	an_rt_verdict_free(&v);
	{
		/*
		 * The campaign analyzer's result is the cluster: copies that
		 * differ in their text but are one campaign count together
		 * (cluster_first = 3), and without it each text is its own.
		 */
		struct an_rt_input in;
		char	 body[128];
		int	 k;
		bool	 bulk_at4 = false, bulk_before = false, apart = false;

		memset(&in, 0, sizeof(in));
		in.cfg = cfg;
		in.envelope = env;
		in.state = st;
		in.update = true;
		for (k = 1; k <= 4; k++) {
			snprintf(body, sizeof(body), HDR "Subject: deal %d\r\n"
			    "\r\nbuy at http://shop%d.example/\r\n", k, k);
			in.msg = body;
			in.msglen = strlen(body);
			in.now = 1100 + k;
			in.campaign = "0001c0ffee000001";
			an_relaytest_classify(&in, &v);
			if (k < 4 && has_reason(&v, "cluster_bulk"))
				bulk_before = true;
			if (k == 4)
				bulk_at4 = has_reason(&v, "cluster_bulk") &&
				    v.kind == AN_RT_SPAM;
			an_rt_verdict_free(&v);
			snprintf(body, sizeof(body), HDR "Subject: other %d\r\n"
			    "\r\nsee http://site%d.example/\r\n", k, k);
			in.msg = body;
			in.msglen = strlen(body);
			in.campaign = NULL;
			an_relaytest_classify(&in, &v);
			if (has_reason(&v, "cluster_bulk") ||
			    has_reason(&v, "cluster_repeat"))
				apart = true;
			an_rt_verdict_free(&v);
		}
		ok(!bulk_before && bulk_at4, "four texts of one campaign: the "
		    "fourth is bulk (cluster_first 3)");
		ok(!apart, "without a campaign, four texts are four clusters");
	}
	an_rt_verdict_free(&v);
	classify(cfg, st, env, HDR "Subject: hi again\r\n\r\nhi there\r\n",
	    1010, &v);
	ok(!has_reason(&v, "first_client"), "second message not first");
	an_rt_verdict_free(&v);
	json_decref(env);
	env = mkenv(NULL, NULL, "203.0.113.77", NULL, NULL);
	classify(cfg, st, env, HDR "Subject: other\r\n\r\nyo\r\n", 1020, &v);
	ok(has_reason(&v, "first_client") && !has_reason(&v, "first_prefix"),
	    "same /24, new address");
	an_rt_verdict_free(&v);
	json_decref(env);
	env = mkenv(NULL, NULL, "2001:db8:aaaa:1::5", NULL, NULL);
	classify(cfg, st, env, HDR "Subject: six\r\n\r\nyo6\r\n", 1020, &v);
	ok(reason_has(&v, "first_prefix", "2001:db8:aaaa::/48"), "IPv6 /48");
	an_rt_verdict_free(&v);
	json_decref(env);

	/* drop-boxes */
	an_state_dropbox_add(st, "salt@freemail.example", AN_DB_LEARNED, 1);
	an_state_dropbox_add(st, "op@freemail.example", AN_DB_OPERATOR, 1);
	env = mkenv(NULL, "salt@freemail.example", "198.18.0.1", NULL, NULL);
	classify(cfg, st, env, HDR "Subject: dbx\r\n\r\nsmall\r\n", 1030, &v);
	ok(has_reason(&v, "dropbox_learned") && v.kind == AN_RT_RELAY_TEST,
	    "learned drop-box + small message");
	an_rt_verdict_free(&v);
	json_decref(env);
	env = mkenv(NULL, "x@y.example,op@freemail.example", "198.18.0.2",
	    NULL, NULL);
	classify(cfg, st, env, HDR "Subject: big\r\n\r\n" BIG, 1030, &v);
	ok(has_reason(&v, "dropbox_operator") && v.kind == AN_RT_RELAY_TEST,
	    "operator drop-box");
	an_rt_verdict_free(&v);
	json_decref(env);

	/* content clusters: the first 3 copies may be tests, then bulk */
	env = mkenv(NULL, NULL, "198.18.1.1", NULL, NULL);
	for (k = 1; k <= 5; k++) {
		classify(cfg, st, env, HDR "Subject: 198.51.100.25\r\n\r\n"
		    "Run   TEST\r\n", 2000 + k, &v);
		if (k <= 3)
			is_int(v.kind, AN_RT_RELAY_TEST, "copy %d is a test",
			    k);
		else
			ok(v.kind == AN_RT_SPAM &&
			    has_reason(&v, "cluster_bulk"), "copy %d is bulk",
			    k);
		if (k == 2)
			ok(has_reason(&v, "cluster_repeat"), "copy 2 noted");
		an_rt_verdict_free(&v);
	}
	/* normalisation: case and white space do not make a new cluster */
	classify(cfg, st, env, HDR "Subject: 198.51.100.25\r\n\r\nrun test\r\n",
	    2010, &v);
	ok(has_reason(&v, "cluster_bulk"), "normalised body same cluster");
	j = json_object_get(v.json, "cluster");
	ok(json_is_string(j) && strncmp(json_string_value(j), "sha256:", 7)
	    == 0, "cluster id in json");
	/* SHA-256 of subject and body, lower case, white space runs as one
	 * space, each part after a space: " 198.51.100.25 run test" */
	is_str(json_string_value(j), "sha256:0dfd91dd83cf81d0180d6988f572e0ea4d1ed4bc60c510737a4b0ef95bdb2f37", "cluster id is the digest of "
	    "the normalised text");
	an_rt_verdict_free(&v);
	json_decref(env);

	/* verdict JSON */
	env = mkenv(NULL, NULL, "198.18.2.1", NULL, "u123:pw123456");
	classify(cfg, st, env, HDR "Subject: 198.51.100.25 u123:pw123456\r\n"
	    "\r\nok\r\n", 3000, &v);
	is_str(json_string_value(json_object_get(v.json, "verdict")),
	    "relay_test", "json verdict");
	is_int(json_integer_value(json_object_get(v.json, "score")), v.score,
	    "json score");
	is_int(json_integer_value(json_object_get(v.json, "threshold")), 60,
	    "json threshold");
	is_int(json_array_size(json_object_get(v.json, "reasons")),
	    v.nreasons, "json reasons");
	dump = json_dumps(v.json, 0);
	ok(dump != NULL && strstr(dump, "\"auth_echo\"") != NULL,
	    "json dumps");
	free(dump);
	an_rt_verdict_free(&v);
	json_decref(env);

	/* update=false records nothing */
	{
		struct an_rt_input in;

		env = mkenv(NULL, NULL, "198.18.3.1", NULL, NULL);
		memset(&in, 0, sizeof(in));
		in.cfg = cfg;
		in.envelope = env;
		in.msg = "x\r\n";
		in.msglen = 3;
		in.state = st;
		in.now = 4000;
		an_relaytest_classify(&in, &v);
		an_rt_verdict_free(&v);
		an_relaytest_classify(&in, &v);
		ok(has_reason(&v, "first_client"), "read-only classify");
		an_rt_verdict_free(&v);
		json_decref(env);
	}

	an_state_close(st);
	an_rt_config_free(cfg);
	an_relaytest_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# cleanup failed\n");
	return tap_done();
}
