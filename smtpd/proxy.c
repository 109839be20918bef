/*
 * proxy.c -- HAProxy PROXY protocol v1 and v2 (doc/proxy-protocol.txt,
 * REFERENCE.md 5.1), run in the smtpd process on the first bytes of a
 * connection accepted on a proxy: listener. The bytes come from a load
 * balancer we were told to trust, but they are still parsed as hostile:
 * v1 is bounded to 107 bytes and its numbers are strict, v2 lengths are
 * checked against the family before any address is read. The parser is
 * incremental: the caller re-runs it on a growing prefix until it
 * returns a header length or -1.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proxy.h"

#define V1_ADDR4_MAX	15	/* 255.255.255.255 */
#define V1_ADDR6_MAX	45	/* INET6_ADDRSTRLEN - 1 */
#define V1_PORT_MAX	5

#define V2_ADDR4_LEN	12
#define V2_ADDR6_LEN	36

enum v1_field {
	F_PROTO = 0,
	F_SRC,
	F_DST,
	F_SPORT,
	F_DPORT,
	F_COUNT
};

static const unsigned char v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static ssize_t	 fail(struct proxy_info *, const char *);
static bool	 prefix_of(const char *, size_t, const char *);
static bool	 v4_prefix(const char *, size_t, bool);
static bool	 v6_prefix(const char *, size_t, bool);
static bool	 port_prefix(const char *, size_t, bool, uint16_t *);
static ssize_t	 v1_parse(const unsigned char *, size_t, struct proxy_info *);
static ssize_t	 v2_parse(const unsigned char *, size_t, struct proxy_info *);

static ssize_t
fail(struct proxy_info *out, const char *why)
{
	out->error = why;
	return -1;
}

/*
 * Token checkers: with complete == false the token may still grow, and
 * the question is whether it is a valid beginning.
 */

/* dotted quad, no leading zeros, each octet <= 255 */
static bool
v4_prefix(const char *s, size_t n, bool complete)
{
	size_t	 i, dots = 0, digits = 0;
	unsigned int oct = 0;

	if (n > V1_ADDR4_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (digits == 0 || ++dots > 3)
				return false;
			digits = 0;
			oct = 0;
		} else if (s[i] >= '0' && s[i] <= '9') {
			if (digits > 0 && oct == 0)
				return false;	/* leading zero */
			oct = oct * 10 + (unsigned int)(s[i] - '0');
			if (++digits > 3 || oct > 255)
				return false;
		} else
			return false;
	}
	return !complete || (dots == 3 && digits > 0);
}

/* RFC 4291 text; complete tokens go to inet_pton */
static bool
v6_prefix(const char *s, size_t n, bool complete)
{
	char	 tmp[V1_ADDR6_MAX + 1];
	struct in6_addr a;
	size_t	 i;

	if (n > V1_ADDR6_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
			return false;
	}
	if (!complete)
		return true;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* 0..65535, no leading zeros */
static bool
port_prefix(const char *s, size_t n, bool complete, uint16_t *port)
{
	unsigned int v = 0;
	size_t	 i;

	if (n > V1_PORT_MAX || (n > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	if (port != NULL)
		*port = (uint16_t)v;
	return !complete || n > 0;
}

static bool
prefix_of(const char *tok, size_t n, const char *word)
{
	return n <= strlen(word) && memcmp(tok, word, n) == 0;
}

static ssize_t
v1_parse(const unsigned char *buf, size_t len, struct proxy_info *out)
{
	const char	*s = (const char *)buf, *tok[F_COUNT];
	size_t		 toklen[F_COUNT], i, n, end, b, ntok, k;
	int		 fam = 0;
	bool		 complete, unknown = false, partial, ok;
	uint16_t	 sport = 0, dport = 0;

	out->version = 1;
	n = len < 6 ? len : 6;
	if (memcmp(buf, "PROXY ", n) != 0)
		return fail(out, "v1: bad signature");
	if (len < 6)
		return 0;

	/* the line ends at CRLF, and the CRLF is within PROXY_V1_MAX bytes */
	for (end = 6; end < len; end++) {
		if (end + 2 > PROXY_V1_MAX)
			return fail(out, "v1: no CRLF within 107 bytes");
		if (buf[end] == '\n')
			return fail(out, "v1: bare LF");
		if (buf[end] == '\r')
			break;
		if (buf[end] < 0x20 || buf[end] >= 0x7f)
			return fail(out, "v1: control or 8-bit byte");
	}
	complete = false;
	if (end + 1 < len) {
		if (buf[end + 1] != '\n')
			return fail(out, "v1: bare CR");
		complete = true;
	}

	/* fields separated by exactly one SP; the last may be partial */
	for (ntok = 0, b = 6;; b = i + 1) {
		for (i = b; i < end && s[i] != ' '; i++)
			;
		if (ntok == F_COUNT)
			return fail(out, "v1: too many fields");
		if (i < end && i == b)
			return fail(out, "v1: empty field");
		tok[ntok] = s + b;
		toklen[ntok] = i - b;
		ntok++;
		if (ntok == 1 && toklen[0] == 7 &&
		    memcmp(s + b, "UNKNOWN", 7) == 0) {
			unknown = true;	/* the rest of the line is ignored */
			break;
		}
		if (i == end)
			break;
	}
	for (k = 0; !unknown && k < ntok; k++) {
		partial = !complete && k == ntok - 1;
		switch (k) {
		case F_PROTO:
			if (toklen[k] == 4 && memcmp(tok[k], "TCP4", 4) == 0)
				fam = AF_INET;
			else if (toklen[k] == 4 &&
			    memcmp(tok[k], "TCP6", 4) == 0)
				fam = AF_INET6;
			else if (!partial ||
			    !(prefix_of(tok[k], toklen[k], "TCP4") ||
			    prefix_of(tok[k], toklen[k], "TCP6") ||
			    prefix_of(tok[k], toklen[k], "UNKNOWN")))
				return fail(out, "v1: bad protocol");
			break;
		case F_SRC:
		case F_DST:
			ok = fam == AF_INET ?
			    v4_prefix(tok[k], toklen[k], !partial) :
			    v6_prefix(tok[k], toklen[k], !partial);
			if (!ok)
				return fail(out, "v1: bad address");
			break;
		default:
			if (!port_prefix(tok[k], toklen[k], !partial,
			    k == F_SPORT ? &sport : &dport))
				return fail(out, "v1: bad port");
			break;
		}
	}
	if (complete && !unknown && ntok != F_COUNT)
		return fail(out, "v1: missing fields");
	if (!complete)
		return 0;

	if (unknown) {
		out->command = PROXY_CMD_LOCAL;
		return (ssize_t)end + 2;
	}
	out->command = PROXY_CMD_PROXY;
	if (fam == AF_INET) {
		struct sockaddr_in	*a = (struct sockaddr_in *)&out->src;
		struct sockaddr_in	*z = (struct sockaddr_in *)&out->dst;
		char			 tmp[V1_ADDR4_MAX + 1];

		a->sin_family = z->sin_family = AF_INET;
		memcpy(tmp, tok[F_SRC], toklen[F_SRC]);
		tmp[toklen[F_SRC]] = '\0';
		if (inet_pton(AF_INET, tmp, &a->sin_addr) != 1)
			return fail(out, "v1: bad address");
		memcpy(tmp, tok[F_DST], toklen[F_DST]);
		tmp[toklen[F_DST]] = '\0';
		if (inet_pton(AF_INET, tmp, &z->sin_addr) != 1)
			return fail(out, "v1: bad address");
		a->sin_port = htons(sport);
		z->sin_port = htons(dport);
		out->srclen = out->dstlen = sizeof(struct sockaddr_in);
	} else {
		struct sockaddr_in6	*a = (struct sockaddr_in6 *)&out->src;
		struct sockaddr_in6	*z = (struct sockaddr_in6 *)&out->dst;
		char			 tmp[V1_ADDR6_MAX + 1];

		a->sin6_family = z->sin6_family = AF_INET6;
		memcpy(tmp, tok[F_SRC], toklen[F_SRC]);
		tmp[toklen[F_SRC]] = '\0';
		if (inet_pton(AF_INET6, tmp, &a->sin6_addr) != 1)
			return fail(out, "v1: bad address");
		memcpy(tmp, tok[F_DST], toklen[F_DST]);
		tmp[toklen[F_DST]] = '\0';
		if (inet_pton(AF_INET6, tmp, &z->sin6_addr) != 1)
			return fail(out, "v1: bad address");
		a->sin6_port = htons(sport);
		z->sin6_port = htons(dport);
		out->srclen = out->dstlen = sizeof(struct sockaddr_in6);
	}
	return (ssize_t)end + 2;
}

static ssize_t
v2_parse(const unsigned char *buf, size_t len, struct proxy_info *out)
{
	size_t	 n, hlen, total, off, need;
	unsigned int ver, cmd, fam, proto;

	out->version = 2;
	n = len < sizeof(v2sig) ? len : sizeof(v2sig);
	if (memcmp(buf, v2sig, n) != 0)
		return fail(out, "v2: bad signature");
	if (len <= 12)
		return 0;
	ver = buf[12] >> 4;
	cmd = buf[12] & 0x0f;
	if (ver != 2)
		return fail(out, "v2: bad version");
	if (cmd > 1)
		return fail(out, "v2: bad command");
	if (len <= 13)
		return 0;
	fam = buf[13] >> 4;
	proto = buf[13] & 0x0f;
	if (fam > 3 || proto > 2)
		return fail(out, "v2: bad family");
	if (cmd == 1 && (fam == 1 || fam == 2) && proto != 1)
		return fail(out, "v2: not a stream");
	if (len < PROXY_V2_HDR)
		return 0;
	hlen = ((size_t)buf[14] << 8) | buf[15];
	total = PROXY_V2_HDR + hlen;
	need = cmd == 1 && fam == 1 ? V2_ADDR4_LEN :
	    cmd == 1 && fam == 2 ? V2_ADDR6_LEN : 0;
	if (hlen < need)
		return fail(out, "v2: length too short for the family");
	if (len < total)
		return 0;

	/* TLVs after the addresses must fit exactly (HAProxy does the same) */
	if (cmd == 1 && (fam == 1 || fam == 2)) {
		for (off = PROXY_V2_HDR + need; off < total; ) {
			size_t	 tl;

			if (total - off < 3)
				return fail(out, "v2: truncated TLV");
			tl = ((size_t)buf[off + 1] << 8) | buf[off + 2];
			if (tl > total - off - 3)
				return fail(out, "v2: TLV overruns header");
			off += 3 + tl;
		}
	}

	if (cmd == 0 || fam == 0 || fam == 3) {
		/* LOCAL, UNSPEC, AF_UNIX: keep the real endpoints */
		out->command = PROXY_CMD_LOCAL;
		return (ssize_t)total;
	}
	out->command = PROXY_CMD_PROXY;
	off = PROXY_V2_HDR;
	if (fam == 1) {
		struct sockaddr_in	*a = (struct sockaddr_in *)&out->src;
		struct sockaddr_in	*z = (struct sockaddr_in *)&out->dst;

		a->sin_family = z->sin_family = AF_INET;
		memcpy(&a->sin_addr, buf + off, 4);
		memcpy(&z->sin_addr, buf + off + 4, 4);
		memcpy(&a->sin_port, buf + off + 8, 2);
		memcpy(&z->sin_port, buf + off + 10, 2);
		out->srclen = out->dstlen = sizeof(struct sockaddr_in);
	} else {
		struct sockaddr_in6	*a = (struct sockaddr_in6 *)&out->src;
		struct sockaddr_in6	*z = (struct sockaddr_in6 *)&out->dst;

		a->sin6_family = z->sin6_family = AF_INET6;
		memcpy(&a->sin6_addr, buf + off, 16);
		memcpy(&z->sin6_addr, buf + off + 16, 16);
		memcpy(&a->sin6_port, buf + off + 32, 2);
		memcpy(&z->sin6_port, buf + off + 34, 2);
		out->srclen = out->dstlen = sizeof(struct sockaddr_in6);
	}
	return (ssize_t)total;
}

/*
 * proxy_parse -- look for a PROXY header at the start of buf[0..len).
 * Returns the header length (> 0) with out filled (version, command;
 * for PROXY_CMD_PROXY also src/dst with ports); 0 if the bytes so far
 * are a valid beginning of a header but more are needed (never more than
 * PROXY_HDR_MAX in all); -1 with out->error set (a static string) if this
 * is not, and cannot become, a valid header: the caller closes the
 * connection without a banner. v1 "UNKNOWN", v2 LOCAL, UNSPEC and AF_UNIX
 * all give PROXY_CMD_LOCAL: keep the socket's own addresses.
 */
ssize_t
proxy_parse(const unsigned char *buf, size_t len, struct proxy_info *out)
{
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return 0;
	if (buf[0] == v2sig[0])
		return v2_parse(buf, len, out);
	if (buf[0] == 'P')
		return v1_parse(buf, len, out);
	return fail(out, "not a PROXY header");
}
