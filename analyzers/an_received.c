/*
 * an_received.c -- the Received chain of a stored message, parsed into
 * hops, for the origin analyzer; run in the worker role. Every byte is
 * hostile: only the header section is read (up to the first empty line
 * or line of CRs, where the other analyzers end it too), at most
 * AN_RCV_HOPS_MAX Received headers are kept and each unfolded value is
 * cut at AN_RCV_HDR_MAX bytes before it is looked at. Values
 * are tokenized (words, nested comments, the last top-level ';' before
 * the date), never trusted: unbalanced parentheses run to the end, NUL
 * and control bytes separate words, every field is cut to its array, and
 * an address is whatever inet_pton() accepts, in canonical text form.
 *
 * The forms read (RFC 5321 4.4 and what MTAs really write):
 *   Postfix/Sendmail: from HELO (RDNS [ADDR]) by BY (...) with W id I
 *	for <R>; DATE    (RDNS may be "unknown"; "[IPv6:...]"; nested
 *	"(may be forged)")
 *   Exim:     from RDNS ([ADDR]:PORT helo=HELO) by BY with W (...) id I
 *   qmail:    from RDNS (HELO helo) (ADDR) by BY with SMTP; DATE
 *   Exchange: from HELO (ADDR) by BY (ADDR) with Microsoft SMTP Server ...
 *   others:   from [ADDR] by BY; from NAME [ADDR] by BY; from ADDR by ADDR
 * from_helo is the HELO the MTA names explicitly ("helo=x", "HELO x"),
 * else the word after "from"; from_rdns is the name before the bracketed
 * address in the comment, else (when an explicit HELO was given) the word
 * after "from".
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat.h"
#include "xmalloc.h"
#include "an_received.h"

enum rcv_clause { RCV_NONE, RCV_FROM, RCV_BY, RCV_VIA, RCV_WITH, RCV_ID,
	RCV_FOR };

struct rcv_tok {
	const char	*p;
	size_t		 n;
	bool		 comment;	/* p/n: inside the parentheses */
};

static bool	rcv_sep(unsigned char);
static size_t	rcv_next(const char *, size_t, size_t, struct rcv_tok *);
static void	rcv_copy(char *, size_t, const char *, size_t);
static void	rcv_append(char *, size_t, const char *, size_t);
static bool	rcv_ip(const char *, size_t, char *, size_t);
static void	rcv_add_addr(struct an_received_hop *, const char *,
		    bool);
static void	rcv_scan_addrs(struct an_received_hop *, const char *,
		    size_t, bool);
static void	rcv_from_comment(struct an_received_hop *, const char *,
		    size_t, bool *);
static enum rcv_clause rcv_keyword(const char *, size_t);

/* whitespace, control bytes and NUL separate words */
static bool
rcv_sep(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\0' || c == ';' || c == '\v' || c == '\f';
}

/*
 * The next token of v[0..len) at or after <i>: a comment (balanced,
 * nested, backslash-quoted; an unbalanced one runs to the end) or a word.
 * Returns the index after it, or len with t->n == 0 at the end.
 */
static size_t
rcv_next(const char *v, size_t len, size_t i, struct rcv_tok *t)
{
	size_t	 start, depth;

	while (i < len && (rcv_sep(v[i]) || v[i] == ')'))
		i++;
	t->p = v + i;
	t->n = 0;
	t->comment = false;
	if (i >= len)
		return len;
	if (v[i] == '(') {
		start = ++i;
		for (depth = 1; i < len; i++) {
			if (v[i] == '\\' && i + 1 < len)
				i++;
			else if (v[i] == '(')
				depth++;
			else if (v[i] == ')' && --depth == 0)
				break;
		}
		t->p = v + start;
		t->n = i - start;
		t->comment = true;
		return i < len ? i + 1 : len;
	}
	start = i;
	while (i < len && !rcv_sep(v[i]) && v[i] != '(' && v[i] != ')')
		i++;
	t->p = v + start;
	t->n = i - start;
	return i;
}

/* Copy p[0..n) into dst, cut to dstsz-1, control bytes as spaces. */
static void
rcv_copy(char *dst, size_t dstsz, const char *p, size_t n)
{
	size_t	 i;

	if (n >= dstsz)
		n = dstsz - 1;
	for (i = 0; i < n; i++)
		dst[i] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? ' ' :
		    p[i];
	dst[n] = '\0';
}

/* Append " " and p[0..n) to dst (cut). */
static void
rcv_append(char *dst, size_t dstsz, const char *p, size_t n)
{
	size_t	 have = strlen(dst);

	if (have > 0 && have + 1 < dstsz)
		dst[have++] = ' ';
	if (have + 1 < dstsz)
		rcv_copy(dst + have, dstsz - have, p, n);
}

static enum rcv_clause
rcv_keyword(const char *p, size_t n)
{
	static const struct {
		const char	*word;
		enum rcv_clause	 c;
	} kw[] = {
		{ "from", RCV_FROM }, { "by", RCV_BY }, { "via", RCV_VIA },
		{ "with", RCV_WITH }, { "id", RCV_ID }, { "for", RCV_FOR },
	};
	size_t	 i;

	for (i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strlen(kw[i].word) == n &&
		    strncasecmp(kw[i].word, p, n) == 0)
			return kw[i].c;
	return RCV_NONE;
}

/*
 * rcv_ip -- is the word p[0..n) an address literal ("1.2.3.4", "[1.2.3.4]",
 * "[IPv6:2001:db8::1]", "[1.2.3.4]:25", "x@[1.2.3.4]", "2001:db8::1")?
 * Writes its canonical text (v4-mapped IPv6 as IPv4) to out.
 */
static bool
rcv_ip(const char *p, size_t n, char *out, size_t outsz)
{
	char		 w[64];
	const char	*lb, *rb, *colon;
	struct in_addr	 a4;
	struct in6_addr	 a6;

	lb = memchr(p, '[', n);
	if (lb != NULL) {
		rb = memchr(lb, ']', n - (size_t)(lb - p));
		if (rb == NULL)
			return false;
		n = (size_t)(rb - lb - 1);
		p = lb + 1;
		if (n > 5 && strncasecmp(p, "IPv6:", 5) == 0) {
			p += 5;
			n -= 5;
		}
	}
	if (n == 0 || n >= sizeof(w))
		return false;
	memcpy(w, p, n);
	w[n] = '\0';
	if (inet_pton(AF_INET, w, &a4) == 1)
		return inet_ntop(AF_INET, &a4, out, outsz) != NULL;
	if (inet_pton(AF_INET6, w, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6))
			return inet_ntop(AF_INET, &a6.s6_addr[12], out,
			    outsz) != NULL;
		return inet_ntop(AF_INET6, &a6, out, outsz) != NULL;
	}
	/* "1.2.3.4:25" */
	if ((colon = strrchr(w, ':')) != NULL && strchr(w, ':') == colon) {
		w[colon - w] = '\0';
		if (inet_pton(AF_INET, w, &a4) == 1)
			return inet_ntop(AF_INET, &a4, out, outsz) != NULL;
	}
	return false;
}

static void
rcv_add_addr(struct an_received_hop *hop, const char *a, bool from)
{
	size_t	 i;

	if (from && hop->from_addr[0] == '\0')
		strlcpy(hop->from_addr, a, sizeof(hop->from_addr));
	if (!from && hop->nby_addrs < 2) {
		for (i = 0; i < hop->nby_addrs; i++)
			if (strcmp(hop->by_addrs[i], a) == 0)
				break;
		if (i == hop->nby_addrs)
			strlcpy(hop->by_addrs[hop->nby_addrs++], a,
			    sizeof(hop->by_addrs[0]));
	}
	for (i = 0; i < hop->naddrs; i++)
		if (strcmp(hop->addrs[i], a) == 0)
			return;
	if (hop->naddrs == AN_RCV_ADDRS_MAX)
		return;
	strlcpy(hop->addrs[hop->naddrs++], a, sizeof(hop->addrs[0]));
	if (from)
		hop->nfrom_addrs = hop->naddrs;
}

/* Every address word in p[0..n) (split at blanks and parentheses). */
static void
rcv_scan_addrs(struct an_received_hop *hop, const char *p, size_t n,
    bool from)
{
	char	 a[AN_RCV_ADDR_MAX];
	size_t	 i = 0, s;

	while (i < n) {
		while (i < n && (rcv_sep(p[i]) || p[i] == '(' || p[i] == ')'))
			i++;
		s = i;
		while (i < n && !rcv_sep(p[i]) && p[i] != '(' && p[i] != ')')
			i++;
		if (i > s && rcv_ip(p + s, i - s, a, sizeof(a)))
			rcv_add_addr(hop, a, from);
	}
}

/*
 * A comment of the from-part: "(RDNS [ADDR])", "([ADDR]:PORT helo=H)",
 * "(HELO h)", "(ADDR)", "(account x HELO h)"; sets *explicit when it
 * names the HELO.
 */
static void
rcv_from_comment(struct an_received_hop *hop, const char *p, size_t n,
    bool *explicit)
{
	char		 a[AN_RCV_ADDR_MAX];
	const char	*prev = NULL;
	size_t		 prevn = 0, i = 0, s, wn;
	bool		 helo_next = false;

	while (i < n) {
		while (i < n && (rcv_sep(p[i]) || p[i] == '(' || p[i] == ')'))
			i++;
		s = i;
		while (i < n && !rcv_sep(p[i]) && p[i] != '(' && p[i] != ')')
			i++;
		if ((wn = i - s) == 0)
			break;
		if (helo_next) {
			rcv_copy(hop->from_helo, sizeof(hop->from_helo),
			    p + s, wn);
			helo_next = false;
			prev = NULL;
			continue;
		}
		if (wn == 4 && strncasecmp(p + s, "HELO", 4) == 0) {
			*explicit = true;
			helo_next = true;
			hop->from_helo[0] = '\0';
			continue;
		}
		if (wn >= 5 && strncasecmp(p + s, "helo=", 5) == 0) {
			*explicit = true;
			rcv_copy(hop->from_helo, sizeof(hop->from_helo),
			    p + s + 5, wn - 5);
			prev = NULL;
			continue;
		}
		if (rcv_ip(p + s, wn, a, sizeof(a))) {
			/* "(name [addr])": the name is the reverse lookup */
			if (prev != NULL && hop->from_rdns[0] == '\0' &&
			    memchr(p + s, '[', wn) != NULL)
				rcv_copy(hop->from_rdns,
				    sizeof(hop->from_rdns), prev, prevn);
			rcv_add_addr(hop, a, true);
			prev = NULL;
			continue;
		}
		prev = p + s;
		prevn = wn;
	}
}

/*
 * an_received_parse_one -- parse one unfolded Received value
 * val[0..len) (after "Received:") into <hop>, which is zeroed first.
 * Never fails: what cannot be read stays "". hop->raw points into <val>.
 */
void
an_received_parse_one(const char *val, size_t len,
    struct an_received_hop *hop)
{
	struct rcv_tok	 t;
	enum rcv_clause	 c = RCV_NONE, kw;
	size_t		 i, semi = len, depth = 0, clen, ds, de;
	bool		 have_value = false, explicit = false;

	memset(hop, 0, sizeof(*hop));
	if (len > AN_RCV_HDR_MAX) {
		len = AN_RCV_HDR_MAX;
		hop->truncated = true;
	}
	hop->raw = val;
	hop->rawlen = len;

	/* the date follows the last ';' outside comments */
	for (i = 0; i < len; i++) {
		if (val[i] == '\\' && depth > 0 && i + 1 < len)
			i++;
		else if (val[i] == '(')
			depth++;
		else if (val[i] == ')' && depth > 0)
			depth--;
		else if (val[i] == ';' && depth == 0)
			semi = i;
	}
	clen = semi;
	if (semi < len) {
		for (ds = semi + 1; ds < len && rcv_sep(val[ds]); ds++)
			;
		for (de = len; de > ds && rcv_sep(val[de - 1]); de--)
			;
		rcv_copy(hop->date, sizeof(hop->date), val + ds, de - ds);
	}

	for (i = 0; i < clen;) {
		i = rcv_next(val, clen, i, &t);
		if (t.n == 0 && !t.comment)
			break;
		if (t.comment) {
			if (c == RCV_FROM)
				rcv_from_comment(hop, t.p, t.n, &explicit);
			else if (c == RCV_BY)
				rcv_scan_addrs(hop, t.p, t.n, false);
			continue;
		}
		if ((kw = rcv_keyword(t.p, t.n)) != RCV_NONE) {
			c = kw;
			have_value = false;
			continue;
		}
		switch (c) {
		case RCV_FROM:
			if (!have_value)
				rcv_copy(hop->from_name,
				    sizeof(hop->from_name), t.p, t.n);
			rcv_scan_addrs(hop, t.p, t.n, true);
			break;
		case RCV_BY:
			if (!have_value)
				rcv_copy(hop->by, sizeof(hop->by), t.p, t.n);
			rcv_scan_addrs(hop, t.p, t.n, false);
			break;
		case RCV_WITH:
			rcv_append(hop->with, sizeof(hop->with), t.p, t.n);
			break;
		case RCV_ID:
			if (!have_value)
				rcv_copy(hop->id, sizeof(hop->id), t.p, t.n);
			break;
		case RCV_FOR:
			if (have_value)
				break;
			if (t.n >= 2 && t.p[0] == '<' && t.p[t.n - 1] == '>')
				rcv_copy(hop->for_, sizeof(hop->for_),
				    t.p + 1, t.n - 2);
			else
				rcv_copy(hop->for_, sizeof(hop->for_),
				    t.p, t.n);
			break;
		case RCV_VIA:
		case RCV_NONE:
			break;
		}
		have_value = true;
	}
	if (!explicit)
		strlcpy(hop->from_helo, hop->from_name,
		    sizeof(hop->from_helo));
	else if (hop->from_rdns[0] == '\0')
		strlcpy(hop->from_rdns, hop->from_name,
		    sizeof(hop->from_rdns));
}

/*
 * Does line p[0..n) (without its LF and one CR) end the header: empty or
 * CRs only? An MTA reads what follows "\r\r\n" as the body, and so do
 * the other analyzers (an_mime_blank()).
 */
static bool
rcv_blank(const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] != '\r')
			return false;
	return true;
}

/* Is line p[0..n) a header field named "Received"? Sets *vstart. */
static bool
rcv_is_received(const char *p, size_t n, size_t *vstart)
{
	size_t	 i = 8;

	if (n < 9 || strncasecmp(p, "Received", 8) != 0)
		return false;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i >= n || p[i] != ':')
		return false;
	*vstart = i + 1;
	return true;
}

/*
 * an_received_parse -- the Received headers of the message msg[0..len),
 * topmost first, unfolded and parsed. Reads up to the first empty line;
 * keeps AN_RCV_HOPS_MAX hops (rc->seen counts them all) and
 * AN_RCV_HDR_MAX bytes of each. Never fails (an empty chain is n == 0).
 * Free with an_received_free().
 */
struct an_received *
an_received_parse(const char *msg, size_t len)
{
	struct an_received	*rc;
	const char		*line, *nl;
	char			*cur = NULL;
	size_t			 off = 0, ll, vs, used = 0, curlen = 0;
	size_t			 cap = 0;
	bool			 in = false, trunc = false;

	rc = xcalloc(1, sizeof(*rc));
	rc->raw = xcalloc(1, len + 1);

	for (;;) {
		bool	 end = off >= len;

		line = msg + off;
		if (!end) {
			nl = memchr(line, '\n', len - off);
			ll = nl != NULL ? (size_t)(nl - line) : len - off;
			off += ll + (nl != NULL);
			if (ll > 0 && line[ll - 1] == '\r')
				ll--;
		} else
			ll = 0;
		/* a continuation line unfolds into the header it follows */
		if (!end && ll > 0 && (line[0] == ' ' || line[0] == '\t')) {
			if (in) {
				if (curlen + ll > AN_RCV_HDR_MAX) {
					trunc = true;
					ll = AN_RCV_HDR_MAX - curlen;
				}
				memcpy(cur + curlen, line, ll);
				curlen += ll;
			}
			continue;
		}
		if (in) {
			struct an_received_hop *hop;

			if (rc->n == cap) {
				cap = cap == 0 ? 8 : cap * 2;
				rc->hops = xreallocarray(rc->hops, cap,
				    sizeof(*rc->hops));
			}
			hop = &rc->hops[rc->n++];
			an_received_parse_one(cur, curlen, hop);
			hop->truncated |= trunc;
			used += curlen;
			in = false;
		}
		if (end || rcv_blank(line, ll))
			break;
		if (!rcv_is_received(line, ll, &vs))
			continue;
		rc->seen++;
		if (rc->n == AN_RCV_HOPS_MAX)
			continue;
		in = true;
		trunc = false;
		cur = rc->raw + used;
		curlen = ll - vs;
		if (curlen > AN_RCV_HDR_MAX) {
			curlen = AN_RCV_HDR_MAX;
			trunc = true;
		}
		memcpy(cur, line + vs, curlen);
	}
	return rc;
}

/*
 * an_received_free -- free a chain from an_received_parse(); NULL is a
 * no-op.
 */
void
an_received_free(struct an_received *rc)
{
	if (rc == NULL)
		return;
	free(rc->hops);
	free(rc->raw);
	free(rc);
}

/*
 * an_received_addr_private -- true for an address no public host has:
 * RFC 1918, loopback, link-local, CGNAT (RFC 6598), "this network",
 * IETF protocol assignments, benchmarking, multicast, 240/4 and
 * broadcast; IPv6 unspecified, loopback, ULA, link-local, multicast.
 * Documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24,
 * 2001:db8::/32) count as public: the tests use them as stand-ins.
 * Also true for text that is not an address.
 */
bool
an_received_addr_private(const char *addr)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	uint32_t	 v;

	if (inet_pton(AF_INET6, addr, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6))
			memcpy(&a4, &a6.s6_addr[12], 4);
		else
			return IN6_IS_ADDR_UNSPECIFIED(&a6) ||
			    IN6_IS_ADDR_LOOPBACK(&a6) ||
			    IN6_IS_ADDR_LINKLOCAL(&a6) ||
			    IN6_IS_ADDR_MULTICAST(&a6) ||
			    (a6.s6_addr[0] & 0xfe) == 0xfc;
	} else if (inet_pton(AF_INET, addr, &a4) != 1)
		return true;
	v = ntohl(a4.s_addr);
	return (v >> 24) == 0 || (v >> 24) == 10 || (v >> 24) == 127 ||
	    (v & 0xffc00000) == 0x64400000 ||	/* 100.64/10 */
	    (v & 0xffff0000) == 0xa9fe0000 ||	/* 169.254/16 */
	    (v & 0xfff00000) == 0xac100000 ||	/* 172.16/12 */
	    (v & 0xffff0000) == 0xc0a80000 ||	/* 192.168/16 */
	    (v & 0xffffff00) == 0xc0000000 ||	/* 192.0.0/24 */
	    (v & 0xfffe0000) == 0xc6120000 ||	/* 198.18/15 */
	    (v >> 28) >= 0xe;		/* 224/4, 240/4 */
}
