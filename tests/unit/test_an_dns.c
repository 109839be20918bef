/*
 * test_an_dns.c -- analyzers/an_dns.c and the origin analyzer's PTR and
 * FCrDNS against a real unbound on loopback: the configuration comes from
 * tests/dns/unbound-conf.sh (serving tests/dns/zones.conf), with a second
 * server: clause written here for the forward records FCrDNS needs. Also
 * a closed port (temporary failure within the deadline). Skips (exit 77)
 * when unbound is not installed.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tap.h"
#include "testutil.h"
#include "unbound.h"
#include "analyzers/an.h"
#include "analyzers/an_dns.h"


extern const struct an_analyzer an_origin;

static char	 tmpdir[] = "/tmp/test_an_dns.XXXXXX";
static pid_t	 unbound_pid = -1;

/* records FCrDNS needs beyond tests/dns/zones.conf */
static const char extra[] =
    "server:\n"
    "\tlocal-data: \"mail.example.test. 300 IN A 203.0.113.9\"\n"
    "\tlocal-data-ptr: \"203.0.113.10 liar.example.test\"\n"
    "\tlocal-data: \"liar.example.test. 300 IN A 203.0.113.99\"\n"
    "\tlocal-data: \"trap.example.test. 300 IN AAAA 2001:db8::25\"\n";

static int
free_port(int type)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, port = -1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, type, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int
start_unbound(int port)
{
	const char	*top = getenv("RT_TOP_SRCDIR");
	char		 cmd[2048], conf[600], log[600];
	FILE		*f;

	snprintf(conf, sizeof(conf), "%s/unbound.conf", tmpdir);
	snprintf(log, sizeof(log), "%s/unbound.log", tmpdir);
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/dns/unbound-conf.sh' '%s' %d"
	    " > '%s'", top != NULL ? top : ".", tmpdir, port, conf);
	if (system(cmd) != 0)
		return -1;
	if ((f = fopen(conf, "a")) == NULL)
		return -1;
	fputs(extra, f);
	fclose(f);
	return tu_unbound_start(&unbound_pid, conf, log, port, "mx.test",
	    ns_t_mx);
}

static void
cleanup(void)
{
	tu_unbound_stop(&unbound_pid);
	tu_rm_tree(tmpdir);
}

static void
sa_of(const char *addr, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)ss)->sin_addr))
		ss->ss_family = AF_INET;
	else if (inet_pton(AF_INET6, addr,
	    &((struct sockaddr_in6 *)ss)->sin6_addr))
		ss->ss_family = AF_INET6;
}

static const char *
ntop(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	return inet_ntop(ss->ss_family, ss->ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)ss)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr,
	    buf, len);
}

static void
test_lookups(struct an_dns *d, struct an_dns_answer *a)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	 sun;
	char			 b1[64], b2[64];

	int			 rc;

	sa_of("203.0.113.9", &ss);
	rc = an_dns_ptr(d, (struct sockaddr *)&ss, a);
	ok(rc == 0 && a->status == AN_DNS_OK && a->n == 1 &&
	    strcmp(a->names[0], "mail.example.test") == 0,
	    "ptr 203.0.113.9: %s", a->n ? a->names[0] : "-");
	sa_of("2001:db8::25", &ss);
	rc = an_dns_ptr(d, (struct sockaddr *)&ss, a);
	ok(rc == 0 && a->status == AN_DNS_OK && a->n == 1 &&
	    strcmp(a->names[0], "trap.example.test") == 0,
	    "ptr 2001:db8::25: %s", a->n ? a->names[0] : "-");
	sa_of("203.0.113.11", &ss);
	rc = an_dns_ptr(d, (struct sockaddr *)&ss, a);
	ok(rc == 0 && a->status == AN_DNS_NXDOMAIN && a->n == 0,
	    "ptr 203.0.113.11: nxdomain (%d)", a->status);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ok(an_dns_ptr(d, (struct sockaddr *)&sun, a) == -1 &&
	    a->status == AN_DNS_ERROR, "ptr of AF_UNIX: -1");

	ok(an_dns_addrs(d, "mx1.mx.test", a) == 0 && a->status == AN_DNS_OK
	    && a->n == 2 && strcmp(ntop(&a->addrs[0], b1, sizeof(b1)),
	    "127.0.0.2") == 0 && strcmp(ntop(&a->addrs[1], b2, sizeof(b2)),
	    "2001:db8::2") == 0, "addrs mx1.mx.test: A then AAAA");
	ok(an_dns_addrs(d, "nx.test", a) == 0 &&
	    a->status == AN_DNS_NXDOMAIN, "addrs nx.test: nxdomain");
	ok(an_dns_addrs(d, "bad..name", a) == -1, "addrs bad name: -1");

	ok(an_dns_mx(d, "mx.test", a) == 0 && a->status == AN_DNS_OK &&
	    a->n == 2 && strcmp(a->names[0], "mx1.mx.test") == 0 &&
	    a->prefs[0] == 10 && strcmp(a->names[1], "mx2.mx.test") == 0 &&
	    a->prefs[1] == 20, "mx mx.test: by preference");
	ok(an_dns_mx(d, "nomx.test", a) == 0 && a->status == AN_DNS_NODATA &&
	    a->n == 0, "mx nomx.test: no implicit MX (RFC 7208 5.4)");
	ok(an_dns_mx(d, "nullmx.test", a) == 0 &&
	    a->status == AN_DNS_NODATA, "mx nullmx.test: nodata");
	ok(an_dns_mx(d, "nx.test", a) == 0 && a->status == AN_DNS_NXDOMAIN,
	    "mx nx.test: nxdomain");

	ok(an_dns_txt(d, "spf.test", a) == 0 && a->status == AN_DNS_OK &&
	    a->n == 1 && strcmp(a->names[0],
	    "v=spf1 ip4:203.0.113.0/24 -all") == 0, "txt spf.test");
	ok(an_dns_txt(d, "split.test", a) == 0 && a->n == 1 &&
	    strcmp(a->names[0], "v=spf1 a -all") == 0,
	    "txt split.test: strings joined");
	ok(an_dns_txt(d, "mx.test", a) == 0 && a->status == AN_DNS_NODATA,
	    "txt mx.test: nodata");
}

struct ocase {
	const char	*client;
	const char	*msg;
	enum an_status	 st;
	const char	*ptr;		/* NULL: null */
	int		 confirmed;	/* -1: null */
	const char	*dns;
	const char	*origin;
	const char	*reason;
};

static const struct ocase ocases[] = {
	{ "203.0.113.9", "\n", AN_OK, "mail.example.test", 1, "ok",
	  "203.0.113.9", "client" },
	{ "2001:db8::25", "\n", AN_OK, "trap.example.test", 1, "ok",
	  "2001:db8::25", "client" },
	{ "203.0.113.10", "\n", AN_OK, "liar.example.test", 0, "ok",
	  "203.0.113.10", "client" },
	{ "203.0.113.11", "\n", AN_OK, NULL, -1, "nxdomain",
	  "203.0.113.11", "client" },
	/* the client wrote hop 0: its by is the client's PTR */
	{ "203.0.113.9", "Received: from pc (pc [192.0.2.44]) by "
	  "MAIL.example.test. with SMTP; d\n\n", AN_OK, "mail.example.test",
	  1, "ok", "192.0.2.44", "relayed" },
};

static void
test_origin(struct an_dns *d, const char *tag)
{
	struct an_ctx	 ctx;
	json_t		*env, *out, *cl, *o;
	enum an_status	 st;
	size_t		 i;

	for (i = 0; i < sizeof(ocases) / sizeof(ocases[0]); i++) {
		const struct ocase *c = &ocases[i];

		env = json_pack("{s:{s:s}}", "client", "addr", c->client);
		memset(&ctx, 0, sizeof(ctx));
		ctx.envelope = env;
		ctx.msg = c->msg;
		ctx.msglen = strlen(c->msg);
		ctx.dns = d;
		out = NULL;
		st = an_origin.run(NULL, &ctx, &out);
		is_int(st, c->st, "%s origin %s: status", tag, c->client);
		cl = json_object_get(out, "client");
		o = json_object_get(out, "origin");
		is_str(json_string_value(json_object_get(cl, "ptr")), c->ptr,
		    "%s origin %s: ptr", tag, c->client);
		if (c->confirmed < 0)
			ok(json_is_null(json_object_get(cl, "ptr_confirmed")),
			    "%s origin %s: ptr_confirmed null", tag,
			    c->client);
		else
			ok(json_is_boolean(json_object_get(cl,
			    "ptr_confirmed")) && json_boolean_value(
			    json_object_get(cl, "ptr_confirmed")) ==
			    c->confirmed, "%s origin %s: ptr_confirmed %d",
			    tag, c->client, c->confirmed);
		is_str(json_string_value(json_object_get(cl, "dns")), c->dns,
		    "%s origin %s: dns", tag, c->client);
		is_str(json_string_value(json_object_get(o, "addr")),
		    c->origin, "%s origin %s: origin", tag, c->client);
		is_str(json_string_value(json_object_get(o, "reason")),
		    c->reason, "%s origin %s: reason", tag, c->client);
		json_decref(out);
		json_decref(env);
	}
}

int
main(void)
{
	struct an_dns_answer	*a;
	struct an_dns		*d;
	struct an_ctx		 ctx;
	json_t			*env, *out = NULL;
	char			 srv[64];
	const char		*servers[2] = { srv, NULL };
	long long		 t0, dt;
	int			 port = -1, tries;

	signal(SIGPIPE, SIG_IGN);
	if (access(TU_UNBOUND, X_OK) == -1) {
		printf("1..0 # SKIP %s not installed\n", TU_UNBOUND);
		return 77;
	}
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	atexit(cleanup);
	a = malloc(sizeof(*a));
	/* a port taken meanwhile makes unbound exit: another port */
	for (tries = 0; tries < 20; tries++) {
		port = free_port(SOCK_DGRAM);
		if (port > 0 && start_unbound(port) == 0)
			break;
		port = -1;
	}
	if (!ok(port > 0,
	    "unbound answers on 127.0.0.1:%d", port)) {
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "sed 's/^/# /' %s/unbound.log",
		    tmpdir);
		if (system(cmd) != 0)
			printf("# no log\n");
		return tap_done();
	}
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", port);
	d = an_dns_new(servers, 2000);
	if (!ok(d != NULL, "an_dns_new %s", srv))
		return tap_done();
	test_lookups(d, a);
	test_origin(d, "warm");
	an_dns_free(d);

	servers[0] = "not-an-address";
	ok(an_dns_new(servers, 100) == NULL, "an_dns_new: bad server");

	/* nothing listening: temporary failure within the deadline */
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", free_port(SOCK_DGRAM));
	servers[0] = srv;
	d = an_dns_new(servers, 300);
	t0 = tu_now_ms();
	tries = an_dns_txt(d, "spf.test", a);
	ok(tries == 0 && a->status == AN_DNS_TEMPFAIL,
	    "closed port: tempfail (%d)", a->status);
	dt = tu_now_ms() - t0;
	ok(dt < 3000, "closed port: within %lld ms", dt);
	env = json_pack("{s:{s:s}}", "client", "addr", "203.0.113.9");
	memset(&ctx, 0, sizeof(ctx));
	ctx.envelope = env;
	ctx.msg = "\n";
	ctx.msglen = 1;
	ctx.dns = d;
	is_int(an_origin.run(NULL, &ctx, &out), AN_TEMPFAIL,
	    "origin, DNS down: AN_TEMPFAIL");
	ok(out != NULL && strcmp(json_string_value(json_object_get(
	    json_object_get(out, "client"), "dns")), "tempfail") == 0 &&
	    json_is_null(json_object_get(json_object_get(out, "client"),
	    "ptr_confirmed")) && json_object_get(out, "hops") != NULL,
	    "origin, DNS down: full result, dns tempfail");
	json_decref(out);
	json_decref(env);
	an_dns_free(d);
	free(a);
	return tap_done();
}
