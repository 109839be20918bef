/*
 * test_proxy.c -- PROXY protocol v1/v2 headers (REFERENCE.md 5.1): good
 * headers, strict v1 syntax, v2 families and TLVs, lying lengths. Every
 * case is also fed as growing prefixes: "need more" (0) until the header
 * is complete, then always the same answer; an invalid header turns -1
 * once and stays -1.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "tests/tap.h"

#define S(lit)	(const unsigned char *)(lit), (sizeof(lit) - 1)
#define SIG	"\r\n\r\n\0\r\nQUIT\n"

struct proxy_case {
	const char		*name;
	const unsigned char	*in;
	size_t			 len;
	ssize_t			 want;		/* header length or -1 */
	int			 version;
	enum proxy_cmd		 command;
	const char		*src;		/* "addr port" if PROXY */
	const char		*dst;
};

static const struct proxy_case cases[] = {
	/* v1 */
	{ .name = "v1 tcp4", .in = S("PROXY TCP4 192.168.0.1 192.168.0.11 "
	  "56324 443\r\n"), .want = 47, .version = 1,
	  .command = PROXY_CMD_PROXY, .src = "192.168.0.1 56324",
	  .dst = "192.168.0.11 443" },
	{ .name = "v1 tcp4 + smtp", .in = S("PROXY TCP4 203.0.113.9 "
	  "192.0.2.25 50123 25\r\nEHLO x\r\n"), .want = 44, .version = 1,
	  .command = PROXY_CMD_PROXY, .src = "203.0.113.9 50123",
	  .dst = "192.0.2.25 25" },
	{ .name = "v1 tcp6", .in = S("PROXY TCP6 2001:db8::1 ::1 0 65535\r\n"),
	  .want = 36, .version = 1, .command = PROXY_CMD_PROXY,
	  .src = "2001:db8::1 0", .dst = "::1 65535" },
	{ .name = "v1 tcp6 v4-mapped", .in = S("PROXY TCP6 ::ffff:192.0.2.1 "
	  "::1 1 2\r\n"), .want = 37, .version = 1,
	  .command = PROXY_CMD_PROXY, .src = "::ffff:192.0.2.1 1",
	  .dst = "::1 2" },
	{ .name = "v1 tcp6 longest", .in = S("PROXY TCP6 "
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
	  .want = 104, .version = 1, .command = PROXY_CMD_PROXY,
	  .src = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535",
	  .dst = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535" },
	{ .name = "v1 unknown", .in = S("PROXY UNKNOWN\r\n"), .want = 15,
	  .version = 1, .command = PROXY_CMD_LOCAL },
	{ .name = "v1 unknown rest", .in = S("PROXY UNKNOWN ffff::1 ::1 1 2\r\n"),
	  .want = 31, .version = 1, .command = PROXY_CMD_LOCAL },
	{ .name = "v1 unknown 107", .in = S("PROXY UNKNOWN "
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"), .want = 107,
	  .version = 1, .command = PROXY_CMD_LOCAL },
	{ .name = "v1 unknown 108", .in = S("PROXY UNKNOWN "
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"), .want = -1 },
	{ .name = "v1 no crlf in 107", .in = S("PROXY UNKNOWN "
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), .want = -1 },
	{ .name = "v1 leading zero ip", .in = S("PROXY TCP4 01.2.3.4 1.2.3.4 "
	  "1 2\r\n"), .want = -1 },
	{ .name = "v1 octet 256", .in = S("PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n"),
	  .want = -1 },
	{ .name = "v1 3 octets", .in = S("PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n"),
	  .want = -1 },
	{ .name = "v1 5 octets", .in = S("PROXY TCP4 1.2.3.4.5 1.2.3.4 1 2\r\n"),
	  .want = -1 },
	{ .name = "v1 leading zero port", .in = S("PROXY TCP4 1.2.3.4 1.2.3.4 "
	  "01 2\r\n"), .want = -1 },
	{ .name = "v1 port 65536", .in = S("PROXY TCP4 1.2.3.4 1.2.3.4 65536 "
	  "2\r\n"), .want = -1 },
	{ .name = "v1 port sign", .in = S("PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n"),
	  .want = -1 },
	{ .name = "v1 double space", .in = S("PROXY TCP4  1.2.3.4 1.2.3.4 1 "
	  "2\r\n"), .want = -1 },
	{ .name = "v1 missing port", .in = S("PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n"),
	  .want = -1 },
	{ .name = "v1 extra field", .in = S("PROXY TCP4 1.2.3.4 1.2.3.4 1 2 "
	  "3\r\n"), .want = -1 },
	{ .name = "v1 trailing space", .in = S("PROXY TCP4 1.2.3.4 1.2.3.4 1 "
	  "2 \r\n"), .want = -1 },
	{ .name = "v1 tcp4 with v6", .in = S("PROXY TCP4 ::1 ::1 1 2\r\n"),
	  .want = -1 },
	{ .name = "v1 tcp6 with v4", .in = S("PROXY TCP6 1.2.3.4 1.2.3.4 1 "
	  "2\r\n"), .want = -1 },
	{ .name = "v1 bad v6", .in = S("PROXY TCP6 1:::2 ::1 1 2\r\n"),
	  .want = -1 },
	{ .name = "v1 bad proto", .in = S("PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n"),
	  .want = -1 },
	{ .name = "v1 lower case", .in = S("proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n"),
	  .want = -1 },
	{ .name = "v1 tcp lower", .in = S("PROXY tcp4 1.2.3.4 1.2.3.4 1 2\r\n"),
	  .want = -1 },
	{ .name = "v1 unknownx", .in = S("PROXY UNKNOWNX\r\n"), .want = -1 },
	{ .name = "v1 lone lf", .in = S("PROXY UNKNOWN\n"), .want = -1 },
	{ .name = "v1 lone cr", .in = S("PROXY UNKNOWN\rX"), .want = -1 },
	{ .name = "v1 nul", .in = S("PROXY TCP4 1.2.3.4\0 1.2.3.4 1 2\r\n"),
	  .want = -1 },
	{ .name = "v1 no sp", .in = S("PROXYTCP4 1.2.3.4 1.2.3.4 1 2\r\n"),
	  .want = -1 },
	{ .name = "v1 empty", .in = S("PROXY \r\n"), .want = -1 },
	{ .name = "smtp not proxy", .in = S("EHLO x\r\n"), .want = -1 },
	{ .name = "tls not proxy", .in = S("\x16\x03\x01\x00\xa5"), .want = -1 },

	/* v2 */
	{ .name = "v2 tcp4", .in = S(SIG "\x21\x11\x00\x0c"
	  "\xc0\x00\x02\x01" "\xc0\x00\x02\x02" "\x30\x39" "\x00\x19"),
	  .want = 28, .version = 2, .command = PROXY_CMD_PROXY,
	  .src = "192.0.2.1 12345", .dst = "192.0.2.2 25" },
	{ .name = "v2 tcp4 + smtp", .in = S(SIG "\x21\x11\x00\x0c"
	  "\xc0\x00\x02\x01" "\xc0\x00\x02\x02" "\x30\x39" "\x00\x19"
	  "EHLO x\r\n"), .want = 28, .version = 2,
	  .command = PROXY_CMD_PROXY, .src = "192.0.2.1 12345",
	  .dst = "192.0.2.2 25" },
	{ .name = "v2 tcp6", .in = S(SIG "\x21\x21\x00\x24"
	  "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	  "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" "\xff\xff" "\x01\xbb"),
	  .want = 52, .version = 2, .command = PROXY_CMD_PROXY,
	  .src = "2001:db8::1 65535", .dst = "::1 443" },
	{ .name = "v2 tcp4 tlvs", .in = S(SIG "\x21\x11\x00\x17"
	  "\x0a\x00\x00\x01" "\x0a\x00\x00\x02" "\x00\x01" "\x00\x02"
	  "\x04\x00\x00" "\x02\x00\x05" "a.b.c"), .want = 39, .version = 2,
	  .command = PROXY_CMD_PROXY, .src = "10.0.0.1 1", .dst = "10.0.0.2 2" },
	{ .name = "v2 tlv overrun", .in = S(SIG "\x21\x11\x00\x11"
	  "\x0a\x00\x00\x01" "\x0a\x00\x00\x02" "\x00\x01" "\x00\x02"
	  "\x02\x00\x05" "a.") , .want = -1 },
	{ .name = "v2 tlv truncated", .in = S(SIG "\x21\x11\x00\x0e"
	  "\x0a\x00\x00\x01" "\x0a\x00\x00\x02" "\x00\x01" "\x00\x02"
	  "\x04\x00"), .want = -1 },
	{ .name = "v2 local", .in = S(SIG "\x20\x00\x00\x00"), .want = 16,
	  .version = 2, .command = PROXY_CMD_LOCAL },
	{ .name = "v2 local with addrs", .in = S(SIG "\x20\x11\x00\x0c"
	  "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02"), .want = 28,
	  .version = 2, .command = PROXY_CMD_LOCAL },
	{ .name = "v2 unspec", .in = S(SIG "\x21\x00\x00\x03" "abc"),
	  .want = 19, .version = 2, .command = PROXY_CMD_LOCAL },
	{ .name = "v2 unix", .in = S(SIG "\x21\x31\x00\x04" "/tmp"),
	  .want = 20, .version = 2, .command = PROXY_CMD_LOCAL },
	{ .name = "v2 dgram", .in = S(SIG "\x21\x12\x00\x0c"
	  "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02"), .want = -1 },
	{ .name = "v2 family 4", .in = S(SIG "\x21\x41\x00\x00"), .want = -1 },
	{ .name = "v2 proto 3", .in = S(SIG "\x21\x13\x00\x00"), .want = -1 },
	{ .name = "v2 version 1", .in = S(SIG "\x11\x11\x00\x0c"), .want = -1 },
	{ .name = "v2 version 3", .in = S(SIG "\x31\x11\x00\x0c"), .want = -1 },
	{ .name = "v2 command 2", .in = S(SIG "\x22\x11\x00\x0c"), .want = -1 },
	{ .name = "v2 len short tcp4", .in = S(SIG "\x21\x11\x00\x0b"
	  "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00"), .want = -1 },
	{ .name = "v2 len short tcp6", .in = S(SIG "\x21\x21\x00\x0c"
	  "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02"), .want = -1 },
	{ .name = "v2 bad sig", .in = S("\r\n\r\n\0\r\nQUIT\r\x21\x11\x00\x00"),
	  .want = -1 },
	{ .name = "v2 sig prefix then junk", .in = S("\r\n\r\nEHLO"),
	  .want = -1 },
};

static void
fmt(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	char	 a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(out, outsz, "%s %u", a, ntohs(s->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(out, outsz, "%s %u", a, ntohs(s->sin6_port));
	} else
		snprintf(out, outsz, "family %d", ss->ss_family);
}

/* parse an exact-size heap copy of in[0..len) */
static ssize_t
parse(const unsigned char *in, size_t len, struct proxy_info *pi)
{
	unsigned char	*copy = malloc(len ? len : 1);
	ssize_t		 rc;

	memcpy(copy, in, len);
	rc = proxy_parse(copy, len, pi);
	free(copy);
	return rc;
}

static void
run_case(const struct proxy_case *c)
{
	struct proxy_info	 pi;
	char			 got[128];
	ssize_t			 rc, prev = 0;
	size_t			 n, bad = 0;

	rc = parse(c->in, c->len, &pi);
	is_int(rc, c->want, "%s: result", c->name);
	if (rc == -1)
		ok(pi.error != NULL, "%s: error set (%s)", c->name,
		    pi.error ? pi.error : "null");
	if (c->want > 0 && rc == c->want) {
		is_int(pi.version, c->version, "%s: version", c->name);
		is_int(pi.command, c->command, "%s: command", c->name);
		if (c->command == PROXY_CMD_PROXY) {
			fmt(&pi.src, got, sizeof(got));
			is_str(got, c->src, "%s: src", c->name);
			fmt(&pi.dst, got, sizeof(got));
			is_str(got, c->dst, "%s: dst", c->name);
			ok(pi.srclen == (pi.src.ss_family == AF_INET ?
			    sizeof(struct sockaddr_in) :
			    sizeof(struct sockaddr_in6)) &&
			    pi.dstlen == pi.srclen, "%s: lengths", c->name);
		}
	}

	/* growing prefixes: 0 ... 0 then the final answer, never back */
	for (n = 0; n <= c->len; n++) {
		rc = parse(c->in, n, &pi);
		if (c->want > 0) {
			if ((n < (size_t)c->want && rc != 0) ||
			    (n >= (size_t)c->want && rc != c->want))
				bad++;
		} else {
			if ((prev == -1 && rc != -1) || rc > 0 ||
			    (rc == -1 && pi.error == NULL))
				bad++;
		}
		prev = rc;
	}
	if (c->want == -1 && prev != -1)
		bad++;
	ok(bad == 0, "%s: prefixes (%zu bad)", c->name, bad);
}

static void
test_lying_len(void)
{
	unsigned char	*buf;
	struct proxy_info pi;
	size_t		 n, total = PROXY_V2_MAX, bad = 0;

	/* len 0xffff: need more until all 65551 bytes are there */
	buf = calloc(1, total + 10);
	memcpy(buf, SIG "\x21\x11\xff\xff", 16);
	for (n = 0; n < total; n += 97)
		if (proxy_parse(buf, n, &pi) != 0)
			bad++;
	ok(bad == 0, "lying len: need more below 65551");
	is_int(proxy_parse(buf, total - 1, &pi), 0, "lying len: one short");
	/* all zero TLVs (type 0, len 0) are 3 bytes each: 65523 % 3 == 0 */
	is_int(proxy_parse(buf, total, &pi), (long long)total,
	    "lying len: complete");
	is_int(proxy_parse(buf, total + 10, &pi), (long long)total,
	    "lying len: trailing bytes not consumed");
	free(buf);
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_lying_len();
	return tap_done();
}
