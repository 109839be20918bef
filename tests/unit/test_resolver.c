/*
 * test_resolver.c -- reports/resolver.c against a real DNS server: the
 * test starts unbound on a free loopback port with tests/dns/zones.conf,
 * waits until it answers, runs the cases and kills it. Also a closed
 * port and a silent one (timeouts), the lookup cap, the cache and
 * cancellation. Skips (exit 77) when unbound is not installed.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "tap.h"
#include "unbound.h"
#include "reports/resolver.h"

#define MAXGOT		8

struct got {
	int			 called;
	int			 ncalls;
	enum rsv_status		 status;
	size_t			 n;
	int			 implicit;
	uint32_t		 ttl;
	char			 name[300];
	char			 s[MAXGOT][300];
	int			 pref[MAXGOT];
};

static struct event_base *base;
static char	 tmpdir[] = "/tmp/test_resolver.XXXXXX";
static pid_t	 unbound_pid = -1;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
cb(const struct rsv_result *res, void *arg)
{
	struct got	*g = arg;
	size_t		 i;
	char		 buf[INET6_ADDRSTRLEN];

	g->called = 1;
	g->ncalls++;
	g->status = res->status;
	g->n = res->n;
	g->implicit = res->implicit_mx;
	g->ttl = res->ttl;
	snprintf(g->name, sizeof(g->name), "%s", res->name);
	for (i = 0; i < res->n && i < MAXGOT; i++) {
		if (res->mx != NULL) {
			snprintf(g->s[i], sizeof(g->s[i]), "%s",
			    res->mx[i].host);
			g->pref[i] = res->mx[i].pref;
		} else if (res->strs != NULL)
			snprintf(g->s[i], sizeof(g->s[i]), "%s", res->strs[i]);
		else if (res->addrs != NULL) {
			const struct sockaddr_storage *ss = &res->addrs[i];

			inet_ntop(ss->ss_family, ss->ss_family == AF_INET ?
			    (const void *)&((const struct sockaddr_in *)ss)->
			    sin_addr : (const void *)&((const struct
			    sockaddr_in6 *)ss)->sin6_addr, buf, sizeof(buf));
			snprintf(g->s[i], sizeof(g->s[i]), "%s", buf);
		}
	}
}

static struct rsv *fcb_r;

/* This answer frees the resolver: a lookup still pending is cancelled. */
static void
free_cb(const struct rsv_result *res, void *arg)
{
	cb(res, arg);
	rsv_free(fcb_r);
	fcb_r = NULL;
}

/* Run the loop until every <g> is answered, at most 10 s. */
static void
wait_all(struct got *g, int n)
{
	double	 end = now() + 10;
	int	 i, all;

	for (;;) {
		for (i = 0, all = 1; i < n; i++)
			all &= g[i].called;
		if (all || now() > end)
			return;
		event_base_loop(base, EVLOOP_ONCE);
	}
}

typedef int (*lookup_fn)(struct rsv *, const char *, rsv_cb, void *);

static struct got
ask(struct rsv *r, lookup_fn fn, const char *name)
{
	struct got g;

	memset(&g, 0, sizeof(g));
	if (fn(r, name, cb, &g) == -1) {
		g.called = 1;
		g.status = RSV_ERROR;
		g.ncalls = -1;
		return g;
	}
	/* the callback never runs inside the call */
	if (g.called)
		g.ncalls = 100;
	wait_all(&g, 1);
	return g;
}

static int
free_port(int type, const char *host, int family)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, port;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = family;
	if (family == AF_INET) {
		inet_pton(AF_INET, host,
		    &((struct sockaddr_in *)&ss)->sin_addr);
		len = sizeof(struct sockaddr_in);
	} else {
		inet_pton(AF_INET6, host,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr);
		len = sizeof(struct sockaddr_in6);
	}
	if ((fd = socket(family, type, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		close(fd);
		return -1;
	}
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	close(fd);
	return port;
}

/* A UDP socket that is bound and never read: every query times out. */
static int
silent_socket(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Poll the server with a raw UDP query until it answers (deadline). */
static int
start_unbound(int port, int v6)
{
	char	 conf[600], log[600], zones[600];
	const char *top;
	FILE	*f;

	top = getenv("RT_TOP_SRCDIR");
	snprintf(zones, sizeof(zones), "%s/tests/dns/zones.conf",
	    top != NULL ? top : ".");
	if (access(zones, R_OK) == -1)
		return -1;
	snprintf(conf, sizeof(conf), "%s/unbound.conf", tmpdir);
	snprintf(log, sizeof(log), "%s/unbound.log", tmpdir);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(f, "server:\n"
	    "\tinterface: 127.0.0.1@%d\n", port);
	if (v6)
		fprintf(f, "\tinterface: ::1@%d\n", port);
	fprintf(f,
	    "\tport: %d\n"
	    "\tdo-daemonize: no\n"
	    "\tchroot: \"\"\n"
	    "\tusername: \"\"\n"
	    "\tdirectory: \"%s\"\n"
	    "\tpidfile: \"%s/unbound.pid\"\n"
	    "\tuse-syslog: no\n"
	    "\tlogfile: \"\"\n"
	    "\tverbosity: 1\n"
	    "\tnum-threads: 1\n"
	    "\tdo-ip6: %s\n"
	    "\taccess-control: 127.0.0.0/8 allow\n"
	    "\taccess-control: ::1 allow\n"
	    "\tdo-not-query-localhost: no\n"
	    "\tinclude: \"%s\"\n"
	    "remote-control:\n"
	    "\tcontrol-enable: no\n",
	    port, tmpdir, tmpdir, v6 ? "yes" : "no", zones);
	fclose(f);

	return tu_unbound_start(&unbound_pid, conf, log, port, "mx.test",
	    ns_t_mx);
}

static void
stop_unbound(void)
{
	tu_unbound_stop(&unbound_pid);
}

static void
cleanup(void)
{
	char cmd[600];

	stop_unbound();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static int
ask_ptr4(struct rsv *r, const char *ip, rsv_cb fn, void *arg)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin.sin_addr);
	return rsv_ptr(r, (struct sockaddr *)&sin, fn, arg);
}

static int
ask_ptr6(struct rsv *r, const char *ip, rsv_cb fn, void *arg)
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, ip, &sin6.sin6_addr);
	return rsv_ptr(r, (struct sockaddr *)&sin6, fn, arg);
}

static void
test_answers(struct rsv *r, const char *tag)
{
	struct got	 g;
	int		 i, ab = 0, ba = 0, other = 0;

	g = ask(r, rsv_mx, "mx.test");
	is_int(g.status, RSV_OK, "%s mx.test status", tag);
	is_int(g.ncalls, 1, "%s mx.test one async callback", tag);
	is_int(g.n, 2, "%s mx.test two hosts", tag);
	is_str(g.s[0], "mx1.mx.test", "%s mx.test first", tag);
	is_int(g.pref[0], 10, "%s mx.test first pref", tag);
	is_str(g.s[1], "mx2.mx.test", "%s mx.test second", tag);
	is_int(g.pref[1], 20, "%s mx.test second pref", tag);
	is_int(g.implicit, 0, "%s mx.test explicit", tag);
	ok(g.ttl > 0 && g.ttl <= 300, "%s mx.test ttl %u", tag, g.ttl);

	g = ask(r, rsv_mx, "MX.Test.");
	ok(g.status == RSV_OK && g.n == 2 && strcmp(g.name, "mx.test") == 0,
	    "%s mx case and trailing dot", tag);

	g = ask(r, rsv_mx, "nomx.test");
	is_int(g.status, RSV_OK, "%s nomx.test status", tag);
	is_int(g.implicit, 1, "%s nomx.test implicit", tag);
	ok(g.n == 1 && strcmp(g.s[0], "nomx.test") == 0 && g.pref[0] == 0,
	    "%s nomx.test host is the domain, pref 0", tag);

	g = ask(r, rsv_mx, "nullmx.test");
	is_int(g.status, RSV_NULLMX, "%s nullmx.test", tag);
	is_int(g.n, 0, "%s nullmx.test no hosts", tag);

	g = ask(r, rsv_mx, "nx.test");
	is_int(g.status, RSV_NXDOMAIN, "%s mx nx.test", tag);

	g = ask(r, rsv_mx, "refused.example.net");
	is_int(g.status, RSV_TEMPFAIL, "%s REFUSED: tempfail", tag);

	g = ask(r, rsv_mx, "spf.test");
	is_int(g.status, RSV_NODATA, "%s mx spf.test: no MX, no A", tag);

	for (i = 0; i < 24; i++) {
		g = ask(r, rsv_mx, "eq.test");
		if (g.status != RSV_OK || g.n != 3 ||
		    strcmp(g.s[0], "first.eq.test") != 0)
			other++;
		else if (strcmp(g.s[1], "a.eq.test") == 0 &&
		    strcmp(g.s[2], "b.eq.test") == 0)
			ab++;
		else if (strcmp(g.s[1], "b.eq.test") == 0 &&
		    strcmp(g.s[2], "a.eq.test") == 0)
			ba++;
		else
			other++;
	}
	is_int(other, 0, "%s eq.test: pref 5 first, then the two 10s", tag);
	ok(ab > 0 && ba > 0, "%s eq.test: equal prefs shuffled (%d/%d)",
	    tag, ab, ba);

	g = ask(r, rsv_addrs, "mx1.mx.test");
	is_int(g.status, RSV_OK, "%s addrs mx1", tag);
	is_int(g.n, 2, "%s addrs mx1 count", tag);
	is_str(g.s[0], "127.0.0.2", "%s addrs mx1 v4 first", tag);
	is_str(g.s[1], "2001:db8::2", "%s addrs mx1 v6", tag);

	g = ask(r, rsv_addrs, "mx2.mx.test");
	ok(g.status == RSV_OK && g.n == 1 &&
	    strcmp(g.s[0], "127.0.0.3") == 0, "%s addrs v4 only", tag);
	g = ask(r, rsv_addrs, "nx.test");
	is_int(g.status, RSV_NXDOMAIN, "%s addrs nx.test", tag);
	g = ask(r, rsv_addrs, "spf.test");
	is_int(g.status, RSV_NODATA, "%s addrs spf.test", tag);

	g = ask(r, rsv_txt, "spf.test");
	is_int(g.status, RSV_OK, "%s txt spf.test", tag);
	is_str(g.s[0], "v=spf1 ip4:203.0.113.0/24 -all", "%s txt text", tag);
	g = ask(r, rsv_txt, "split.test");
	ok(g.status == RSV_OK && g.n == 1 &&
	    strcmp(g.s[0], "v=spf1 a -all") == 0,
	    "%s txt strings joined: %s", tag, g.s[0]);
	g = ask(r, rsv_txt, "mx.test");
	is_int(g.status, RSV_NODATA, "%s txt nodata", tag);
	g = ask(r, rsv_txt, "nx.test");
	is_int(g.status, RSV_NXDOMAIN, "%s txt nxdomain", tag);

	memset(&g, 0, sizeof(g));
	ok(ask_ptr4(r, "203.0.113.9", cb, &g) == 0, "%s ptr asked", tag);
	wait_all(&g, 1);
	ok(g.status == RSV_OK && g.n == 1 &&
	    strcmp(g.s[0], "mail.example.test") == 0 &&
	    strcmp(g.name, "203.0.113.9") == 0, "%s ptr 203.0.113.9 = %s",
	    tag, g.s[0]);
	memset(&g, 0, sizeof(g));
	ask_ptr6(r, "::ffff:203.0.113.9", cb, &g);
	wait_all(&g, 1);
	ok(g.status == RSV_OK && strcmp(g.s[0], "mail.example.test") == 0,
	    "%s ptr v4-mapped", tag);
	memset(&g, 0, sizeof(g));
	ask_ptr6(r, "2001:db8::25", cb, &g);
	wait_all(&g, 1);
	ok(g.status == RSV_OK && strcmp(g.s[0], "trap.example.test") == 0 &&
	    strcmp(g.name, "2001:db8::25") == 0, "%s ptr ipv6 (%s)", tag,
	    rsv_status_str(g.status));
	memset(&g, 0, sizeof(g));
	ask_ptr4(r, "203.0.113.10", cb, &g);
	wait_all(&g, 1);
	is_int(g.status, RSV_NXDOMAIN, "%s ptr without record", tag);
}

static void
test_names(struct rsv *r)
{
	static const char *bad[] = {
		"", ".", "a..b", "bad name.test", "a/b.test", "x.test..",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test",  /* 64 */
	};
	char	 longname[300];
	size_t	 i;
	struct got g;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&g, 0, sizeof(g));
		is_int(rsv_mx(r, bad[i], cb, &g), -1, "bad name \"%s\"",
		    bad[i]);
	}
	/* k times "a." then "test": 2k + 4 octets */
	memset(longname, 0, sizeof(longname));
	for (i = 0; i < 125; i++)
		memcpy(longname + 2 * i, "a.", 2);
	memcpy(longname + 250, "test", 5);
	is_int(rsv_txt(r, longname, cb, &g), -1, "254-octet name refused");
	memset(longname, 0, sizeof(longname));
	for (i = 0; i < 124; i++)
		memcpy(longname + 2 * i, "a.", 2);
	memcpy(longname + 248, "test", 5);
	memset(&g, 0, sizeof(g));
	is_int(rsv_txt(r, longname, cb, &g), 0, "252-octet name accepted");
	wait_all(&g, 1);
	is_int(g.status, RSV_NXDOMAIN, "252-octet name looked up");
	is_int(g.ncalls, 1, "exactly one callback");
}

int
main(void)
{
	struct rsv	*r, *r6, *r1;
	struct rsv_opts	 o;
	struct got	 g, gs[2];
	char		 srv[64], srv6[64];
	const char	*servers[2] = { srv, NULL };
	const char	*servers6[2] = { srv6, NULL };
	double		 t0, dt;
	int		 port, v6, fd, sport = 0;

	signal(SIGPIPE, SIG_IGN);
	if (access(TU_UNBOUND, X_OK) == -1) {
		printf("1..0 # SKIP %s not installed\n", TU_UNBOUND);
		return 77;
	}
	base = event_base_new();
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	atexit(cleanup);

	v6 = free_port(SOCK_DGRAM, "::1", AF_INET6) > 0;
	port = -1;
	/* a port taken meanwhile makes unbound exit: another port */
	for (int tries = 0; tries < 20 && port <= 0; tries++) {
		port = free_port(SOCK_DGRAM, "127.0.0.1", AF_INET);
		if (port > 0 && (free_port(SOCK_STREAM, "127.0.0.1",
		    AF_INET) < 0 || (v6 && free_port(SOCK_DGRAM, "::1",
		    AF_INET6) < 0)))
			port = -1;
		if (port > 0 && start_unbound(port, v6) != 0)
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
	snprintf(srv6, sizeof(srv6), "[::1]:%d", port);

	memset(&o, 0, sizeof(o));
	o.timeout_ms = 2000;
	o.attempts = 2;
	r = rsv_new(base, servers, &o);
	ok(r != NULL, "rsv_new %s", srv);
	test_answers(r, "v4");
	test_names(r);

	if (v6) {
		o.no_cache = 1;
		r6 = rsv_new(base, servers6, &o);
		ok(r6 != NULL, "rsv_new %s", srv6);
		test_answers(r6, "v6");
		rsv_free(r6);
		o.no_cache = 0;
	} else
		ok(1, "# SKIP ::1 not available");

	/* lookups in flight are capped: the second is refused, TEMPFAIL */
	o.max_queries = 1;
	o.no_cache = 1;
	r1 = rsv_new(base, servers, &o);
	memset(gs, 0, sizeof(gs));
	rsv_mx(r1, "mx.test", cb, &gs[0]);
	rsv_mx(r1, "mx.test", cb, &gs[1]);
	wait_all(gs, 2);
	ok(gs[0].status == RSV_OK && gs[1].status == RSV_TEMPFAIL,
	    "cap 1: first %s, second %s", rsv_status_str(gs[0].status),
	    rsv_status_str(gs[1].status));
	g = ask(r1, rsv_mx, "mx.test");
	is_int(g.status, RSV_OK, "cap 1: a slot frees after the answer");

	/* rsv_free cancels what is in flight */
	memset(&g, 0, sizeof(g));
	rsv_mx(r1, "nomx.test", cb, &g);
	rsv_free(r1);
	ok(g.ncalls == 1 && g.status == RSV_CANCELLED,
	    "rsv_free: callback once with cancelled (%s)",
	    rsv_status_str(g.status));

	/* a callback may free the resolver, with another lookup pending */
	o.max_queries = 0;
	r1 = rsv_new(base, servers, &o);
	memset(gs, 0, sizeof(gs));
	fcb_r = r1;
	rsv_txt(r1, "spf.test", free_cb, &gs[0]);
	rsv_txt(r1, "split.test", cb, &gs[1]);
	wait_all(gs, 1);
	ok(gs[0].ncalls == 1 && gs[0].status == RSV_OK && gs[1].ncalls == 1 &&
	    (gs[1].status == RSV_OK || gs[1].status == RSV_CANCELLED),
	    "rsv_free inside a callback: %s, %s (%d, %d calls)",
	    rsv_status_str(gs[0].status), rsv_status_str(gs[1].status),
	    gs[0].ncalls, gs[1].ncalls);

	/* the cache outlives the server; TTL 0 is never cached */
	g = ask(r, rsv_addrs, "zero.test");
	is_int(g.status, RSV_OK, "zero.test answered");
	stop_unbound();
	g = ask(r, rsv_mx, "mx.test");
	ok(g.status == RSV_OK && g.n == 2, "mx.test from the cache");
	g = ask(r, rsv_txt, "nx.test");
	is_int(g.status, RSV_NXDOMAIN, "NXDOMAIN from the cache");
	g = ask(r, rsv_addrs, "zero.test");
	is_int(g.status, RSV_TEMPFAIL, "TTL 0 not cached: server gone");
	rsv_free(r);

	/* nothing listening: temporary failure, quickly */
	memset(&o, 0, sizeof(o));
	o.timeout_ms = 500;
	o.attempts = 1;
	snprintf(srv, sizeof(srv), "127.0.0.1:%d",
	    free_port(SOCK_DGRAM, "127.0.0.1", AF_INET));
	r = rsv_new(base, servers, &o);
	t0 = now();
	g = ask(r, rsv_mx, "mx.test");
	dt = now() - t0;
	is_int(g.status, RSV_TEMPFAIL, "closed port: tempfail");
	ok(dt < 2.0, "closed port: within %.2f s", dt);
	rsv_free(r);

	/* a server that never answers: the deadline gives TEMPFAIL */
	fd = silent_socket(&sport);
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", sport);
	o.timeout_ms = 300;
	r = rsv_new(base, servers, &o);
	t0 = now();
	memset(gs, 0, sizeof(gs));
	rsv_mx(r, "mx.test", cb, &gs[0]);
	rsv_addrs(r, "mx1.mx.test", cb, &gs[1]);
	wait_all(gs, 2);
	dt = now() - t0;
	ok(gs[0].status == RSV_TEMPFAIL && gs[1].status == RSV_TEMPFAIL,
	    "silent server: tempfail (%s, %s)", rsv_status_str(gs[0].status),
	    rsv_status_str(gs[1].status));
	ok(dt >= 0.25 && dt < 1.5, "silent server: deadline %.2f s", dt);
	rsv_free(r);
	close(fd);

	/* the system's resolver: created and freed, never asked */
	r = rsv_new(base, NULL, NULL);
	ok(r != NULL, "rsv_new with resolv.conf");
	rsv_free(r);
	snprintf(srv, sizeof(srv), "localhost:53");
	ok(rsv_new(base, servers, NULL) == NULL, "server must be numeric");

	event_base_free(base);
	return tap_done();
}
