/*
 * test_resolver_answer.c -- rsv_answer_parse() (reports/resolver.c) on
 * DNS answers built here byte by byte: TXT joining and NUL dropping, A
 * and AAAA of the wrong length, null and compressed MX, PTR, records of
 * another type or class, TTLs, and every truncation of each answer
 * (which must be a temporary failure, never a partial set). Needs no DNS
 * server; test_resolver covers the transport against unbound.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "reports/resolver_int.h"

#define NEG_TTL		60
#define RR_MAX		4
#define WANT_MAX	4

/* rdata given as a string literal that may hold NULs */
#define RD(lit)		.rdata = (lit), .rdlen = sizeof(lit) - 1

struct rr_spec {
	int		 type;
	int		 class;		/* 0: ns_c_in */
	uint32_t	 ttl;
	const char	*rdata;
	size_t		 rdlen;
};

struct answer_case {
	const char	*name;
	int		 qtype;
	struct rr_spec	 rrs[RR_MAX];
	size_t		 nrr;
	enum rsv_status	 want_status;
	uint32_t	 want_ttl;
	size_t		 want_n;
	const char	*want[WANT_MAX];	/* see rr_text() */
};

static const struct answer_case cases[] = {
	{ .name = "txt two strings joined", .qtype = ns_t_txt, .nrr = 1,
	  .rrs = { { .type = ns_t_txt, .ttl = 300,
	    RD("\x06v=spf1\x05 -all") } },
	  .want_status = RSV_OK, .want_ttl = 300, .want_n = 1,
	  .want = { "v=spf1 -all" } },
	{ .name = "txt with NUL dropped", .qtype = ns_t_txt, .nrr = 2,
	  .rrs = { { .type = ns_t_txt, .ttl = 10, RD("\x03" "a\0b") },
	    { .type = ns_t_txt, .ttl = 300, RD("\x02ok") } },
	  .want_status = RSV_OK, .want_ttl = 300, .want_n = 1,
	  .want = { "ok" } },
	{ .name = "txt string past rdata dropped", .qtype = ns_t_txt,
	  .nrr = 1, .rrs = { { .type = ns_t_txt, .ttl = 300, RD("\x05" "ab") } },
	  .want_status = RSV_NODATA, .want_ttl = NEG_TTL, .want_n = 0 },
	{ .name = "txt empty rdata", .qtype = ns_t_txt, .nrr = 1,
	  .rrs = { { .type = ns_t_txt, .ttl = 300, RD("") } },
	  .want_status = RSV_OK, .want_ttl = 300, .want_n = 1,
	  .want = { "" } },
	{ .name = "a of wrong rdlen dropped", .qtype = ns_t_a, .nrr = 3,
	  .rrs = { { .type = ns_t_a, .ttl = 5, RD("\xc0\x00\x02\x01\x00") },
	    { .type = ns_t_a, .ttl = 120, RD("\xc0\x00\x02\x02") },
	    { .type = ns_t_a, .ttl = 7, RD("\xc0\x00\x02") } },
	  .want_status = RSV_OK, .want_ttl = 120, .want_n = 1,
	  .want = { "192.0.2.2" } },
	{ .name = "a smallest ttl", .qtype = ns_t_a, .nrr = 2,
	  .rrs = { { .type = ns_t_a, .ttl = 900, RD("\xc0\x00\x02\x01") },
	    { .type = ns_t_a, .ttl = 30, RD("\xc0\x00\x02\x02") } },
	  .want_status = RSV_OK, .want_ttl = 30, .want_n = 2,
	  .want = { "192.0.2.1", "192.0.2.2" } },
	{ .name = "aaaa, a skipped", .qtype = ns_t_aaaa, .nrr = 2,
	  .rrs = { { .type = ns_t_a, .ttl = 1, RD("\xc0\x00\x02\x01") },
	    { .type = ns_t_aaaa, .ttl = 60,
	    RD("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01") } },
	  .want_status = RSV_OK, .want_ttl = 60, .want_n = 1,
	  .want = { "2001:db8::1" } },
	{ .name = "aaaa of a's length dropped", .qtype = ns_t_aaaa, .nrr = 1,
	  .rrs = { { .type = ns_t_aaaa, .ttl = 60, RD("\xc0\x00\x02\x01") } },
	  .want_status = RSV_NODATA, .want_ttl = NEG_TTL, .want_n = 0 },
	{ .name = "mx null", .qtype = ns_t_mx, .nrr = 1,
	  .rrs = { { .type = ns_t_mx, .ttl = 3600, RD("\x00\x00\x00") } },
	  .want_status = RSV_OK, .want_ttl = 3600, .want_n = 1,
	  .want = { "0 " } },
	{ .name = "mx compressed", .qtype = ns_t_mx, .nrr = 2,
	  .rrs = { { .type = ns_t_mx, .ttl = 300,
	    RD("\x00\x0a\x02mx\xc0\x0c") },
	    { .type = ns_t_mx, .ttl = 300, RD("\x00\x14\x03mx2\x03net\x00") } },
	  .want_status = RSV_OK, .want_ttl = 300, .want_n = 2,
	  .want = { "10 mx.example.org", "20 mx2.net" } },
	{ .name = "mx bad pointer, short rdata dropped", .qtype = ns_t_mx,
	  .nrr = 2, .rrs = { { .type = ns_t_mx, .ttl = 300,
	    RD("\x00\x0a\xc0\xff") },
	    { .type = ns_t_mx, .ttl = 300, RD("\x00\x0a") } },
	  .want_status = RSV_NODATA, .want_ttl = NEG_TTL, .want_n = 0 },
	{ .name = "ptr, cname skipped", .qtype = ns_t_ptr, .nrr = 2,
	  .rrs = { { .type = ns_t_cname, .ttl = 300, RD("\x01x\xc0\x0c") },
	    { .type = ns_t_ptr, .ttl = 300, RD("\x04host\xc0\x0c") } },
	  .want_status = RSV_OK, .want_ttl = 300, .want_n = 1,
	  .want = { "host.example.org" } },
	{ .name = "class ch skipped", .qtype = ns_t_txt, .nrr = 1,
	  .rrs = { { .type = ns_t_txt, .class = ns_c_chaos, .ttl = 300,
	    RD("\x02ok") } },
	  .want_status = RSV_NODATA, .want_ttl = NEG_TTL, .want_n = 0 },
	{ .name = "no answer", .qtype = ns_t_a, .nrr = 0,
	  .want_status = RSV_NODATA, .want_ttl = NEG_TTL, .want_n = 0 },
};

static size_t
put16(unsigned char *p, size_t off, unsigned v)
{
	p[off] = v >> 8;
	p[off + 1] = v & 0xff;
	return off + 2;
}

/*
 * The answer to <c>: a response header, the question "example.org"
 * (at offset 12, the target of the 0xc00c pointers), then the records,
 * each owned by the question name. Returns its length.
 */
static size_t
build(const struct answer_case *c, unsigned char *p, size_t sz)
{
	static const char	 qname[] = "\x07" "example\x03org";
	const struct rr_spec	*rr;
	size_t			 off, i;

	memset(p, 0, sz);
	off = put16(p, 0, 0x1234);		/* id */
	off = put16(p, off, 0x8180);		/* QR RD RA, NOERROR */
	off = put16(p, off, 1);			/* QDCOUNT */
	off = put16(p, off, c->nrr);		/* ANCOUNT */
	off += 4;				/* NSCOUNT, ARCOUNT */
	memcpy(p + off, qname, sizeof(qname));	/* with the root label */
	off += sizeof(qname);
	off = put16(p, off, c->qtype);
	off = put16(p, off, ns_c_in);
	for (i = 0; i < c->nrr; i++) {
		rr = &c->rrs[i];
		off = put16(p, off, 0xc00c);
		off = put16(p, off, rr->type);
		off = put16(p, off, rr->class ? rr->class : ns_c_in);
		off = put16(p, off, rr->ttl >> 16);
		off = put16(p, off, rr->ttl & 0xffff);
		off = put16(p, off, rr->rdlen);
		memcpy(p + off, rr->rdata, rr->rdlen);
		off += rr->rdlen;
	}
	return off;
}

/* One record as text: an address, "PREF HOST" for MX, else the string. */
static void
rr_text(int qtype, const struct rsv_rr *e, char *buf, size_t sz)
{
	const struct sockaddr_in	*sin = (const void *)&e->ss;
	const struct sockaddr_in6	*sin6 = (const void *)&e->ss;

	buf[0] = '\0';
	switch (qtype) {
	case ns_t_a:
		if (e->ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &sin->sin_addr, buf, sz);
		break;
	case ns_t_aaaa:
		if (e->ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sz);
		break;
	case ns_t_mx:
		snprintf(buf, sz, "%d %s", e->pref, e->str ? e->str : "(null)");
		break;
	default:
		snprintf(buf, sz, "%s", e->str ? e->str : "(null)");
		break;
	}
}

int
main(void)
{
	const struct answer_case *c;
	struct rsv_set		 set;
	unsigned char		 ans[512];
	char			 got[NS_MAXDNAME + 16];
	size_t			 i, k, len, cut, bad;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		len = build(c, ans, sizeof(ans));
		rsv_answer_parse(ans, (int)len, c->qtype, NEG_TTL, &set);
		is_int(set.status, c->want_status, "%s: status", c->name);
		is_int(set.ttl, c->want_ttl, "%s: ttl", c->name);
		is_int(set.n, c->want_n, "%s: n", c->name);
		for (k = 0; k < set.n && k < c->want_n; k++) {
			rr_text(c->qtype, &set.rr[k], got, sizeof(got));
			is_str(got, c->want[k], "%s: [%zu]", c->name, k);
		}
		rsv_set_clear(&set);

		/* any cut short of the whole message is no answer at all */
		bad = 0;
		for (cut = 0; cut < len; cut++) {
			rsv_answer_parse(ans, (int)cut, c->qtype, NEG_TTL,
			    &set);
			if (set.status != RSV_TEMPFAIL || set.n != 0)
				bad++;
			rsv_set_clear(&set);
		}
		is_int(bad, 0, "%s: %zu truncations are tempfail", c->name,
		    len);
	}
	return tap_done();
}
