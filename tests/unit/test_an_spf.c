/*
 * test_an_spf.c -- the SPF analyzer (analyzers/an_spf.c): results of
 * RFC 7208 evaluations through libspf2's in-memory zone layer (pass,
 * fail, softfail, neutral, none, include, redirect, ip6, a, mx, ptr,
 * exp=, permerror on syntax and on too many lookups, temperror, the
 * null sender and HELO rules), the reverse-name parser of the an_dns
 * layer, and then the real path: the an_dns layer against unbound on
 * loopback serving tests/dns/spf-zones.conf (TXT, MX, A, PTR). That part
 * skips when unbound is not installed.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <spf2/spf.h>
#include <spf2/spf_dns_zone.h>

#include "an.h"
#include "an_dns.h"
#include "an_spf.h"
#include "an_spf_dns.h"
#include "conf.h"
#include "tap.h"
#include "unbound.h"


struct zrec {
	const char	*name;
	ns_type		 type;
	int		 herrno;
	const char	*data;
};

static const struct zrec zone_recs[] = {
	{ "pass.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 ip4:192.0.2.0/24 -all" },
	{ "soft.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 ip4:192.0.2.0/24 ~all" },
	{ "neutral.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 ?all" },
	{ "nospf.test", ns_t_a, NETDB_SUCCESS, "192.0.2.1" },
	{ "nospf.test", ns_t_txt, NETDB_SUCCESS, "google-site-verification=x" },
	{ "inc.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 include:pass.test -all" },
	{ "redir.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 redirect=soft.test" },
	{ "v6.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 ip6:2001:db8::/32 -all" },
	{ "a.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 a a:other.a.test -all" },
	{ "a.test", ns_t_a, NETDB_SUCCESS, "198.51.100.7" },
	{ "other.a.test", ns_t_a, NETDB_SUCCESS, "198.51.100.8" },
	{ "mx.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 mx -all" },
	{ "mx.test", ns_t_mx, NETDB_SUCCESS, "mail.mx.test" },
	{ "mail.mx.test", ns_t_a, NETDB_SUCCESS, "198.51.100.25" },
	{ "ptr.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 ptr -all" },
	{ "77.2.0.192.in-addr.arpa", ns_t_ptr, NETDB_SUCCESS, "host.ptr.test" },
	{ "host.ptr.test", ns_t_a, NETDB_SUCCESS, "192.0.2.77" },
	{ "syntax.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 ip4:192.0.2.300 -all" },
	{ "unknown.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 frob:x -all" },
	{ "two.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 -all" },
	{ "two.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 +all" },
	{ "many.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 a:h1.test a:h2.test "
	  "a:h3.test a:h4.test a:h5.test a:h6.test a:h7.test a:h8.test "
	  "a:h9.test a:h10.test a:h11.test -all" },
	{ "loop.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 include:loop.test -all" },
	{ "exp.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 -all exp=why.exp.test" },
	{ "why.exp.test", ns_t_txt, NETDB_SUCCESS, "%{i}%_may%_not%_send%_for%_%{d}" },
	{ "exp8.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 -all exp=why8.test" },
	{ "why8.test", ns_t_txt, NETDB_SUCCESS, "bad\xff\xfe%_bytes" },
	{ "helo.test", ns_t_txt, NETDB_SUCCESS, "v=spf1 ip4:203.0.113.0/24 -all" },
	{ "temp.test", ns_t_any, TRY_AGAIN, NULL },
	{ "hmacro.test", ns_t_txt, NETDB_SUCCESS,
	  "v=spf1 exists:%{h}.h.test -all" },
	{ "bot.example.h.test", ns_t_a, NETDB_SUCCESS, "127.0.0.2" },
};

struct spf_case {
	const char	*name;
	const char	*ip, *helo, *from;
	const char	*want_mf;	/* NULL: "mail_from" is null */
	const char	*want_helo;	/* NULL: "helo" is null */
};

static const struct spf_case cases[] = {
	{ .name = "pass", .ip = "192.0.2.10", .helo = "[192.0.2.10]",
	  .from = "a@pass.test", .want_mf = "pass" },
	{ .name = "fail", .ip = "203.0.113.9", .helo = "helo.test",
	  .from = "a@pass.test", .want_mf = "fail", .want_helo = "pass" },
	{ .name = "softfail", .ip = "203.0.113.9", .from = "a@soft.test",
	  .want_mf = "softfail" },
	{ .name = "neutral", .ip = "203.0.113.9", .from = "a@neutral.test",
	  .want_mf = "neutral" },
	{ .name = "none: no SPF TXT", .ip = "203.0.113.9",
	  .from = "a@nospf.test", .want_mf = "none" },
	{ .name = "none: no such domain", .ip = "203.0.113.9",
	  .from = "a@nx.test", .want_mf = "none" },
	{ .name = "include pass", .ip = "192.0.2.10", .from = "a@inc.test",
	  .want_mf = "pass" },
	{ .name = "include fail", .ip = "203.0.113.9", .from = "a@inc.test",
	  .want_mf = "fail" },
	{ .name = "redirect", .ip = "203.0.113.9", .from = "a@redir.test",
	  .want_mf = "softfail" },
	{ .name = "ip6 pass", .ip = "2001:db8::5", .from = "a@v6.test",
	  .want_mf = "pass" },
	{ .name = "ip6 fail", .ip = "2001:db9::5", .from = "a@v6.test",
	  .want_mf = "fail" },
	{ .name = "v4-mapped client", .ip = "::ffff:192.0.2.10",
	  .from = "a@pass.test", .want_mf = "pass" },
	{ .name = "a", .ip = "198.51.100.7", .from = "a@a.test",
	  .want_mf = "pass" },
	{ .name = "a:host", .ip = "198.51.100.8", .from = "a@a.test",
	  .want_mf = "pass" },
	{ .name = "a miss", .ip = "198.51.100.9", .from = "a@a.test",
	  .want_mf = "fail" },
	{ .name = "mx", .ip = "198.51.100.25", .from = "a@mx.test",
	  .want_mf = "pass" },
	{ .name = "mx miss", .ip = "198.51.100.26", .from = "a@mx.test",
	  .want_mf = "fail" },
	{ .name = "ptr", .ip = "192.0.2.77", .from = "a@ptr.test",
	  .want_mf = "pass" },
	{ .name = "permerror: bad ip4", .ip = "192.0.2.10",
	  .from = "a@syntax.test", .want_mf = "permerror" },
	{ .name = "permerror: unknown mechanism", .ip = "192.0.2.10",
	  .from = "a@unknown.test", .want_mf = "permerror" },
	{ .name = "permerror: two records", .ip = "192.0.2.10",
	  .from = "a@two.test", .want_mf = "permerror" },
	{ .name = "permerror: too many lookups", .ip = "192.0.2.10",
	  .from = "a@many.test", .want_mf = "permerror" },
	{ .name = "permerror: include loop", .ip = "192.0.2.10",
	  .from = "a@loop.test", .want_mf = "permerror" },
	{ .name = "temperror", .ip = "192.0.2.10", .from = "a@temp.test",
	  .want_mf = "temperror" },
	{ .name = "null sender: HELO only", .ip = "203.0.113.9",
	  .helo = "helo.test", .from = "", .want_helo = "pass" },
	{ .name = "null sender, HELO fails", .ip = "192.0.2.10",
	  .helo = "helo.test", .from = "", .want_helo = "fail" },
	{ .name = "HELO with trailing dot", .ip = "192.0.2.10",
	  .helo = "pass.test.", .from = "a@pass.test", .want_mf = "pass",
	  .want_helo = "pass" },
	{ .name = "HELO without SPF", .ip = "192.0.2.10",
	  .helo = "nospf.test", .from = "a@soft.test", .want_mf = "pass",
	  .want_helo = "none" },
	{ .name = "malformed sender domain", .ip = "192.0.2.10",
	  .from = "a@bad..test", .want_mf = "none" },
	{ .name = "single-label domain", .ip = "192.0.2.10",
	  .from = "a@localhost", .want_mf = "none" },
	{ .name = "escaped bytes in HELO", .ip = "192.0.2.10",
	  .helo = "bot\\x00.test", .from = "", .want_helo = "none" },
	{ .name = "%{h} macro", .ip = "192.0.2.10", .helo = "bot.example",
	  .from = "a@hmacro.test", .want_mf = "pass", .want_helo = "none" },
	/* libspf2: an uninitialised macro variable is a temperror */
	{ .name = "%{h} macro, hostile HELO not used", .ip = "192.0.2.10",
	  .helo = "bot.example\\x0a", .from = "a@hmacro.test",
	  .want_mf = "temperror", .want_helo = "none" },
	{ .name = "%{h} macro, no HELO", .ip = "192.0.2.10",
	  .from = "a@hmacro.test", .want_mf = "temperror" },
};

static json_t *
envelope(const char *ip, const char *helo, const char *from)
{
	json_t	*env;

	env = json_pack("{s:{s:s}}", "client", "addr", ip);
	if (helo != NULL)
		json_object_set_new(env, "helo", json_pack("{s:s, s:s}",
		    "verb", "EHLO", "name", helo));
	if (from != NULL)
		json_object_set_new(env, "mail_from", json_pack("{s:s}",
		    "addr", from));
	return env;
}

static enum an_status
run(void *st, struct an_dns *dns, const char *ip, const char *helo,
    const char *from, json_t **out)
{
	struct an_ctx	 ctx;
	enum an_status	 rc;
	json_t		*env;

	env = envelope(ip, helo, from);
	memset(&ctx, 0, sizeof(ctx));
	ctx.envelope = env;
	ctx.dns = dns;
	rc = an_spf.run(st, &ctx, out);
	json_decref(env);
	return rc;
}

static const char *
result_of(json_t *out, const char *id)
{
	json_t	*o;

	if ((o = json_object_get(out, id)) == NULL || json_is_null(o))
		return NULL;
	return json_string_value(json_object_get(o, "result"));
}

static const char *
field_of(json_t *out, const char *id, const char *key)
{
	return json_string_value(json_object_get(json_object_get(out, id),
	    key));
}

/* on a wrong mail_from result, show the whole result */
static void
dump_if(json_t *out, const struct spf_case *c)
{
	const char	*got = result_of(out, "mail_from");
	char		*js;

	if ((got == NULL) == (c->want_mf == NULL) && (got == NULL ||
	    strcmp(got, c->want_mf) == 0))
		return;
	js = json_dumps(out, 0);
	printf("# %s\n", js != NULL ? js : "?");
	free(js);
}

static void
test_revname(void)
{
	static const struct {
		const char	*name;
		const char	*want;	/* NULL: -1 */
	} rv[] = {
		{ "9.113.0.203.in-addr.arpa", "203.0.113.9" },
		{ "9.113.0.203.IN-ADDR.ARPA.", "203.0.113.9" },
		{ "0.0.0.0.in-addr.arpa", "0.0.0.0" },
		{ "256.1.1.1.in-addr.arpa", NULL },
		{ "1.1.1.in-addr.arpa", NULL },
		{ "1.1.1.1.1.in-addr.arpa", NULL },
		{ "a.1.1.1.in-addr.arpa", NULL },
		{ "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1."
		  "0.0.2.ip6.arpa", "2001:db8::25" },
		{ "F.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1."
		  "0.0.2.ip6.arpa.", "2001:db8::2f" },
		{ "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1."
		  "0.0.2.ip6.arpa", NULL },
		{ "g.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1."
		  "0.0.2.ip6.arpa", NULL },
		{ "example.org", NULL },
		{ "", NULL },
	};
	struct sockaddr_storage	 ss;
	char			 buf[INET6_ADDRSTRLEN];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(rv) / sizeof(rv[0]); i++) {
		rc = an_spf_dns_revname(rv[i].name, &ss);
		if (rv[i].want == NULL) {
			is_int(rc, -1, "revname rejects \"%s\"", rv[i].name);
			continue;
		}
		buf[0] = '\0';
		if (rc == 0)
			inet_ntop(ss.ss_family, ss.ss_family == AF_INET ?
			    (void *)&((struct sockaddr_in *)&ss)->sin_addr :
			    (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr,
			    buf, sizeof(buf));
		is_str(buf, rv[i].want, "revname %s", rv[i].name);
	}
}

static void
test_zone(void)
{
	SPF_dns_server_t	*zone;
	struct conf		 conf;
	void			*st = NULL;
	char			 err[256];
	const char		*s;
	json_t			*out;
	size_t			 i;

	zone = SPF_dns_zone_new(NULL, "testzone", 0);
	for (i = 0; i < sizeof(zone_recs) / sizeof(zone_recs[0]); i++)
		if (SPF_dns_zone_add_str(zone, zone_recs[i].name,
		    zone_recs[i].type, zone_recs[i].herrno,
		    zone_recs[i].data) != SPF_E_SUCCESS)
			printf("# zone add %s failed\n", zone_recs[i].name);
	memset(&conf, 0, sizeof(conf));
	conf.hostname = "trap.example.net";
	if (!ok(an_spf_init_layer(&conf, zone, &st, err, sizeof(err)) == 0,
	    "init with the zone layer")) {
		printf("# %s\n", err);
		return;
	}

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct spf_case *c = &cases[i];

		out = NULL;
		is_int(run(st, NULL, c->ip, c->helo, c->from, &out), AN_OK,
		    "%s: AN_OK", c->name);
		is_str(result_of(out, "mail_from"), c->want_mf,
		    "%s: mail_from", c->name);
		is_str(result_of(out, "helo"), c->want_helo, "%s: helo",
		    c->name);
		dump_if(out, c);
		json_decref(out);
	}

	/* the stored details of one fail */
	out = NULL;
	run(st, NULL, "203.0.113.9", "bot.example", "user@pass.test", &out);
	is_str(field_of(out, "mail_from", "domain"), "pass.test",
	    "fail: domain");
	s = field_of(out, "mail_from", "received_spf");
	ok(s != NULL && strncmp(s, "fail (trap.example.net: ", 24) == 0 &&
	    strstr(s, "client-ip=203.0.113.9;") != NULL &&
	    strstr(s, "envelope-from=user@pass.test;") != NULL &&
	    strstr(s, "helo=bot.example;") != NULL,
	    "fail: received_spf \"%s\"", s ? s : "(null)");
	is_str(field_of(out, "mail_from", "explanation"),
	    "pass.test does not designate 203.0.113.9 as a permitted sender",
	    "fail: the default explanation");
	ok(json_is_null(json_object_get(out, "helo")) ||
	    result_of(out, "helo") != NULL, "fail: helo present");
	json_decref(out);

	/* exp= is expanded with the macros of the check */
	out = NULL;
	run(st, NULL, "203.0.113.9", NULL, "user@exp.test", &out);
	is_str(result_of(out, "mail_from"), "fail", "exp: fail");
	is_str(field_of(out, "mail_from", "explanation"),
	    "203.0.113.9 may not send for exp.test", "exp: explanation");
	json_decref(out);

	/* an exp= text that is not UTF-8 is stored escaped */
	out = NULL;
	is_int(run(st, NULL, "203.0.113.9", NULL, "user@exp8.test", &out),
	    AN_OK, "exp not UTF-8: AN_OK");
	s = field_of(out, "mail_from", "explanation");
	ok(s != NULL && strstr(s, "\\xff") != NULL,
	    "exp not UTF-8: escaped \"%s\"", s ? s : "(null)");
	json_decref(out);

	/* pass: no explanation, a Received-SPF value */
	out = NULL;
	run(st, NULL, "192.0.2.10", NULL, "user@pass.test", &out);
	ok(json_is_null(json_object_get(json_object_get(out, "mail_from"),
	    "explanation")), "pass: explanation null");
	s = field_of(out, "mail_from", "received_spf");
	ok(s != NULL && strncmp(s, "pass ", 5) == 0, "pass: received_spf");
	ok(json_is_null(json_object_get(out, "helo")), "no HELO: helo null");
	json_decref(out);

	/* temperror: our own Received-SPF value */
	out = NULL;
	run(st, NULL, "192.0.2.10", "x.test", "user@temp.test", &out);
	s = field_of(out, "mail_from", "received_spf");
	ok(s != NULL && strncmp(s, "temperror (trap.example.net: ", 29) == 0,
	    "temperror: received_spf \"%s\"", s ? s : "(null)");
	json_decref(out);

	/* malformed: no lookup, an error text */
	out = NULL;
	run(st, NULL, "192.0.2.10", NULL, "user@bad..test", &out);
	is_str(field_of(out, "mail_from", "error"), "malformed domain",
	    "malformed: error");
	json_decref(out);

	/* no client address: nothing to say */
	{
		struct an_ctx	 ctx;
		json_t		*env = json_pack("{s:{s:s}}", "mail_from",
		    "addr", "a@pass.test");

		memset(&ctx, 0, sizeof(ctx));
		ctx.envelope = env;
		out = NULL;
		is_int(an_spf.run(st, &ctx, &out), AN_SKIP,
		    "no client: AN_SKIP");
		ok(out == NULL, "no client: no result");
		json_decref(env);
	}
	out = NULL;
	is_int(run(st, NULL, "not-an-ip", NULL, "a@pass.test", &out), AN_SKIP,
	    "bad client address: AN_SKIP");

	an_spf.fini(st);
	SPF_dns_free(zone);
}

/* the an_dns layer itself without a bound handle: temperror, no crash */
static void
test_unbound_layer(void)
{
	struct conf	 conf;
	void		*st = NULL;
	char		 err[256];
	json_t		*out = NULL;

	memset(&conf, 0, sizeof(conf));
	conf.hostname = "trap.example.net";
	if (!ok(an_spf.init(&conf, &st, err, sizeof(err)) == 0, "init"))
		return;
	is_int(run(st, NULL, "192.0.2.10", "x.test", "a@pass.test", &out),
	    AN_SKIP, "no ctx->dns: AN_SKIP");
	ok(an_spf_dns_bound() == NULL, "nothing bound");
	an_spf.fini(st);
}

/* --- unbound on loopback ------------------------------------------- */

static char	 tmpdir[] = "/tmp/test_an_spf.XXXXXX";
static pid_t	 unbound_pid = -1;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
free_udp_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int
start_unbound(int port)
{
	char		 cmd[1400], conf[600], log[600];
	const char	*top;
	FILE		*f;

	top = getenv("RT_TOP_SRCDIR");
	if (top == NULL)
		top = ".";
	snprintf(conf, sizeof(conf), "%s/unbound.conf", tmpdir);
	snprintf(log, sizeof(log), "%s/unbound.log", tmpdir);
	/* the shared server config, then our zone file in a second clause */
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/dns/unbound-conf.sh' '%s' %d "
	    "> '%s'", top, tmpdir, port, conf);
	if (system(cmd) != 0)
		return -1;
	if ((f = fopen(conf, "a")) == NULL)
		return -1;
	fprintf(f, "server:\n\tinclude: \"%s/tests/dns/spf-zones.conf\"\n",
	    top);
	fclose(f);

	return tu_unbound_start(&unbound_pid, conf, log, port, "spfi.test",
	    ns_t_txt);
}

static void
cleanup(void)
{
	char	 cmd[600];
	tu_unbound_stop(&unbound_pid);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static const struct spf_case dns_cases[] = {
	{ .name = "dns: TXT ip4 pass", .ip = "192.0.2.10",
	  .from = "a@spfi.test", .want_mf = "pass" },
	{ .name = "dns: TXT ip4 fail", .ip = "203.0.113.50",
	  .from = "a@spfi.test", .want_mf = "fail" },
	{ .name = "dns: a + mx pass via MX", .ip = "198.51.100.25",
	  .from = "a@mx.spfi.test", .want_mf = "pass" },
	{ .name = "dns: a + mx pass via A", .ip = "198.51.100.7",
	  .from = "a@mx.spfi.test", .want_mf = "pass" },
	{ .name = "dns: mx AAAA", .ip = "2001:db8::25",
	  .from = "a@mx.spfi.test", .want_mf = "pass" },
	{ .name = "dns: a + mx softfail", .ip = "198.51.100.99",
	  .from = "a@mx.spfi.test", .want_mf = "softfail" },
	{ .name = "dns: ptr pass", .ip = "192.0.2.77",
	  .from = "a@ptr.spfi.test", .want_mf = "pass" },
	{ .name = "dns: ptr fail (PTR not confirmed)", .ip = "192.0.2.78",
	  .from = "a@ptr.spfi.test", .want_mf = "fail" },
	{ .name = "dns: include + split TXT", .ip = "192.0.2.10",
	  .from = "a@inc.spfi.test", .want_mf = "pass" },
	{ .name = "dns: redirect neutral", .ip = "203.0.113.50",
	  .from = "a@redir.spfi.test", .want_mf = "neutral" },
	{ .name = "dns: none (NODATA)", .ip = "192.0.2.10",
	  .from = "a@nospf.spfi.test", .want_mf = "none" },
	{ .name = "dns: none (NXDOMAIN)", .ip = "192.0.2.10",
	  .from = "a@nx.spfi.test", .want_mf = "none" },
	{ .name = "dns: permerror", .ip = "192.0.2.10",
	  .from = "a@bad.spfi.test", .want_mf = "permerror" },
	{ .name = "dns: temperror (REFUSED outside the zones)",
	  .ip = "192.0.2.10", .from = "a@example.org",
	  .want_mf = "temperror" },
	{ .name = "dns: HELO and MAIL FROM", .ip = "203.0.113.50",
	  .helo = "helo.spfi.test", .from = "a@spfi.test", .want_mf = "fail",
	  .want_helo = "pass" },
	{ .name = "dns: null sender", .ip = "203.0.113.50",
	  .helo = "helo.spfi.test", .from = "", .want_helo = "pass" },
};

static void
test_dns(void)
{
	struct an_dns	*dns;
	struct conf	 conf;
	const char	*s;
	char		 srv[64], err[256], cmd[700];
	const char	*servers[2] = { srv, NULL };
	void		*st = NULL;
	json_t		*out;
	double		 t0, dt;
	size_t		 i;
	int		 port, n;

	if (access(TU_UNBOUND, X_OK) == -1) {
		ok(1, "# SKIP %s not installed", TU_UNBOUND);
		return;
	}
	if (mkdtemp(tmpdir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	atexit(cleanup);
	/* a port taken meanwhile makes unbound exit: another port */
	for (int tries = 0; tries < 20; tries++) {
		port = free_udp_port();
		if (port > 0 && start_unbound(port) == 0)
			break;
		port = -1;
	}
	if (!ok(port > 0,
	    "unbound answers on 127.0.0.1:%d", port)) {
		snprintf(cmd, sizeof(cmd), "sed 's/^/# /' %s/unbound.log",
		    tmpdir);
		if (system(cmd) != 0)
			printf("# no log\n");
		return;
	}
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", port);
	dns = an_dns_new(servers, 1000);
	if (!ok(dns != NULL, "an_dns_new %s", srv))
		return;
	memset(&conf, 0, sizeof(conf));
	conf.hostname = "trap.example.net";
	if (!ok(an_spf.init(&conf, &st, err, sizeof(err)) == 0,
	    "init over an_dns")) {
		an_dns_free(dns);
		return;
	}
	for (i = 0; i < sizeof(dns_cases) / sizeof(dns_cases[0]); i++) {
		const struct spf_case *c = &dns_cases[i];

		out = NULL;
		is_int(run(st, dns, c->ip, c->helo, c->from, &out), AN_OK,
		    "%s: AN_OK", c->name);
		is_str(result_of(out, "mail_from"), c->want_mf,
		    "%s: mail_from", c->name);
		is_str(result_of(out, "helo"), c->want_helo, "%s: helo",
		    c->name);
		dump_if(out, c);
		json_decref(out);
		ok(an_spf_dns_bound() == NULL, "%s: unbound after run",
		    c->name);
	}

	/* exp= over DNS; then the default explanation */
	out = NULL;
	run(st, dns, "203.0.113.50", NULL, "a@exp.spfi.test", &out);
	is_str(result_of(out, "mail_from"), "fail", "dns: exp: fail");
	/* the DNS layer keeps its spaces from libspf2 (an_spf_dns.c) */
	s = field_of(out, "mail_from", "explanation");
	is_str(s, "203.0.113.50 may not send for exp.spfi.test",
	    "dns: exp: every macro expanded, spaces kept");
	json_decref(out);

	/* measured: evaluations per second with a warm resolver cache */
	n = 0;
	t0 = now();
	do {
		out = NULL;
		run(st, dns, "198.51.100.25", "helo.spfi.test",
		    "a@mx.spfi.test", &out);
		json_decref(out);
		n++;
	} while ((dt = now() - t0) < 0.3);
	printf("# warm cache: %d messages (mx + helo) in %.3f s = %.0f/s\n",
	    n, dt, n / dt);

	an_spf.fini(st);
	an_dns_free(dns);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_revname();
	test_zone();
	test_unbound_layer();
	test_dns();
	return tap_done();
}
