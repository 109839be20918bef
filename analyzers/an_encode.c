/*
 * an_encode.c -- the trap's own addresses in every encoding a relay tester
 * writes them (dotted, padded, decimal, reversed, hex, hex dotted, IPv6
 * compressed/expanded/full/hex/nibbles, IPv4-mapped), and a search for
 * them. Runs in the worker; the text searched is hostile but only read.
 *
 * Boundaries (the "word-ish" rule): a numeric needle (198.51.100.25,
 * 3325256729) only counts when it is not part of a longer number or dotted
 * run: "198.51.100.251" and "1.198.51.100.25" are other addresses and do
 * not match at all. An IPv6 needle must not touch a hex digit or a ':'
 * followed by one. A pure hex needle (c6336419) inside a longer
 * alphanumeric run ("1c6336419", "IPc6336419z") is a WEAK hit: such runs
 * are seen in real probes (Oudot's "1D9808AFD:8080") but also happen by
 * chance in hashes and ids, so the classifier weighs them lower. "0x" in
 * front of a hex needle is a clean (strong) hit, form "hex0x".
 * The form reported for dotted needles is refined from the context:
 * "[a.b.c.d]" is "bracketed", "a.b.c.d:NN" is "dotted_port",
 * "::ffff:a.b.c.d" is "v4mapped"; "[v6]" is "v6_bracketed".
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_encode.h"
#include "xmalloc.h"

enum an_kind {
	K_NUM,		/* digits and dots */
	K_HEXDOT,	/* hex digits and dots */
	K_V6,		/* hex digits and colons */
	K_HEX,		/* one hex run */
};

struct an_needle {
	char		*s;	/* lowercase */
	size_t		 len;
	enum an_kind	 kind;
	const char	*form;
	size_t		 addr;	/* index into nd->addrs */
};

struct an_needles {
	struct an_needle *v;
	size_t		  n;
	char		**addrs;
	size_t		  naddrs;
};

static void	 needle_add(struct an_needles *, size_t, enum an_kind,
		    const char *, const char *);
static void	 add_v4(struct an_needles *, size_t, const unsigned char *);
static void	 add_v6(struct an_needles *, size_t, const unsigned char *);

/*
 * an_needles_new -- an empty needle set. Never fails (fatal on OOM).
 */
struct an_needles *
an_needles_new(void)
{
	return xcalloc(1, sizeof(struct an_needles));
}

static void
needle_add(struct an_needles *nd, size_t ai, enum an_kind kind,
    const char *form, const char *s)
{
	struct an_needle *n;
	size_t	 i;

	for (i = 0; i < nd->n; i++)
		if (strcasecmp(nd->v[i].s, s) == 0)
			return;
	nd->v = xreallocarray(nd->v, nd->n + 1, sizeof(*nd->v));
	n = &nd->v[nd->n++];
	n->s = xstrdup(s);
	for (i = 0; n->s[i] != '\0'; i++)
		n->s[i] = tolower((unsigned char)n->s[i]);
	n->len = i;
	n->kind = kind;
	n->form = form;
	n->addr = ai;
}

static void
add_v4(struct an_needles *nd, size_t ai, const unsigned char *b)
{
	char	 s[64];
	unsigned long v;

	v = ((unsigned long)b[0] << 24) | ((unsigned long)b[1] << 16) |
	    ((unsigned long)b[2] << 8) | b[3];
	snprintf(s, sizeof(s), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	needle_add(nd, ai, K_NUM, "dotted", s);
	snprintf(s, sizeof(s), "%03u.%03u.%03u.%03u", b[0], b[1], b[2], b[3]);
	needle_add(nd, ai, K_NUM, "dotted_padded", s);
	snprintf(s, sizeof(s), "%u.%u.%u.%u", b[3], b[2], b[1], b[0]);
	needle_add(nd, ai, K_NUM, "reversed", s);
	snprintf(s, sizeof(s), "%lu", v);
	needle_add(nd, ai, K_NUM, "decimal", s);
	snprintf(s, sizeof(s), "%08lx", v);
	needle_add(nd, ai, K_HEX, "hex", s);
	snprintf(s, sizeof(s), "%02x.%02x.%02x.%02x", b[0], b[1], b[2], b[3]);
	needle_add(nd, ai, K_HEXDOT, "hex_dotted", s);
	snprintf(s, sizeof(s), "::ffff:%lx:%lx", v >> 16, v & 0xffff);
	needle_add(nd, ai, K_V6, "v4mapped_hex", s);
}

static void
add_v6(struct an_needles *nd, size_t ai, const unsigned char *b)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	char	 s[128], *p;
	size_t	 i;

	if (memcmp(b, mapped, sizeof(mapped)) == 0) {
		add_v4(nd, ai, b + 12);
		return;
	}
	if (inet_ntop(AF_INET6, b, s, sizeof(s)) != NULL)
		needle_add(nd, ai, K_V6, "v6_compressed", s);
	p = s;
	for (i = 0; i < 16; i += 2)
		p += sprintf(p, "%s%x", i ? ":" : "", (b[i] << 8) | b[i + 1]);
	needle_add(nd, ai, K_V6, "v6_expanded", s);
	p = s;
	for (i = 0; i < 16; i += 2)
		p += sprintf(p, "%s%04x", i ? ":" : "", (b[i] << 8) | b[i + 1]);
	needle_add(nd, ai, K_V6, "v6_full", s);
	p = s;
	for (i = 0; i < 16; i++)
		p += sprintf(p, "%02x", b[i]);
	needle_add(nd, ai, K_HEX, "v6_hex", s);
	p = s;
	for (i = 16; i > 0; i--)
		p += sprintf(p, "%x.%x%s", b[i - 1] & 0xf, b[i - 1] >> 4,
		    i > 1 ? "." : "");
	needle_add(nd, ai, K_HEXDOT, "v6_nibbles", s);
}

/*
 * an_needles_add -- add every encoding of the IPv4 or IPv6 address <addr>
 * (a literal, optionally in brackets; no port). Adding an address twice
 * is harmless. Returns 0, or -1 with *errstr when <addr> is no literal.
 */
int
an_needles_add(struct an_needles *nd, const char *addr, const char **errstr)
{
	unsigned char	 b[16];
	char		 tmp[INET6_ADDRSTRLEN + 2];
	size_t		 len, ai;
	int		 v6;

	*errstr = NULL;
	len = strlen(addr);
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(tmp)) {
		*errstr = "not an IP address literal";
		return -1;
	}
	memcpy(tmp, addr, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, b) == 1)
		v6 = 0;
	else if (inet_pton(AF_INET6, tmp, b) == 1)
		v6 = 1;
	else {
		*errstr = "not an IP address literal";
		return -1;
	}
	for (ai = 0; ai < nd->naddrs; ai++)
		if (strcasecmp(nd->addrs[ai], tmp) == 0)
			return 0;
	nd->addrs = xreallocarray(nd->addrs, nd->naddrs + 1, sizeof(char *));
	nd->addrs[nd->naddrs++] = xstrdup(tmp);
	if (v6)
		add_v6(nd, ai, b);
	else
		add_v4(nd, ai, b);
	return 0;
}

/*
 * an_needles_count -- number of needles in the set.
 */
size_t
an_needles_count(const struct an_needles *nd)
{
	return nd->n;
}

/*
 * an_needles_get -- needle <i> (lowercase) and, if <form> is not NULL, its
 * form name. Returns NULL when <i> is out of range.
 */
const char *
an_needles_get(const struct an_needles *nd, size_t i, const char **form)
{
	if (i >= nd->n)
		return NULL;
	if (form != NULL)
		*form = nd->v[i].form;
	return nd->v[i].s;
}

/* does <c> continue a token of this kind? */
static int
kind_cont(enum an_kind k, int c)
{
	switch (k) {
	case K_NUM:
		return isdigit(c);
	case K_HEXDOT:
	case K_V6:
		return isxdigit(c);
	case K_HEX:
		return isalnum(c);
	}
	return 0;
}

static int
kind_sep(enum an_kind k)
{
	return k == K_NUM || k == K_HEXDOT ? '.' : k == K_V6 ? ':' : -1;
}

/*
 * classify one occurrence at [off, end): AN_ENC_NONE (not this address),
 * WEAK or STRONG, and the refined form.
 */
static enum an_enc_result
occurrence(const struct an_needle *n, const char *t, size_t len, size_t off,
    const char **form)
{
	size_t	 end = off + n->len;
	int	 prev = off > 0 ? (unsigned char)t[off - 1] : -1;
	int	 prev2 = off > 1 ? (unsigned char)t[off - 2] : -1;
	int	 next = end < len ? (unsigned char)t[end] : -1;
	int	 next2 = end + 1 < len ? (unsigned char)t[end + 1] : -1;
	int	 sep = kind_sep(n->kind);

	*form = n->form;
	if (n->kind == K_HEX) {
		if (prev == 'x' && prev2 == '0' &&
		    (off < 3 || !isalnum((unsigned char)t[off - 3]))) {
			*form = "hex0x";
			prev = -1;
		}
		if ((prev != -1 && isalnum(prev)) ||
		    (next != -1 && isalnum(next)))
			return AN_ENC_WEAK;
		return AN_ENC_STRONG;
	}
	if (prev != -1 && kind_cont(n->kind, prev))
		return AN_ENC_NONE;
	if (prev == sep && prev2 != -1 && kind_cont(n->kind, prev2))
		return AN_ENC_NONE;
	if (next != -1 && kind_cont(n->kind, next))
		return AN_ENC_NONE;
	if (next == sep && next2 != -1 && kind_cont(n->kind, next2))
		return AN_ENC_NONE;
	if (n->kind == K_V6 && prev == '[' && next == ']')
		*form = "v6_bracketed";
	if (strcmp(n->form, "dotted") == 0) {
		if (prev == '[' && next == ']')
			*form = "bracketed";
		else if (next == ':' && next2 != -1 && isdigit(next2))
			*form = "dotted_port";
		else if (off >= 7 && memcmp(t + off - 7, "::ffff:", 7) == 0)
			*form = "v4mapped";
	}
	return AN_ENC_STRONG;
}

/*
 * an_needles_search -- look for every needle in <text> (<len> bytes, need
 * not be NUL-terminated; NUL bytes are fine), ignoring case. Returns the
 * best result (STRONG over WEAK, then the earliest) and, when not NONE
 * and <hit> is not NULL, describes it in *hit.
 */
enum an_enc_result
an_needles_search(const struct an_needles *nd, const char *text, size_t len,
    struct an_hit *hit)
{
	enum an_enc_result best = AN_ENC_NONE, r;
	const char	*form, *p;
	char		*low;
	size_t		 i, j, off, best_off = 0;

	if (nd->n == 0 || len == 0)
		return AN_ENC_NONE;
	low = xmalloc(len);
	for (j = 0; j < len; j++)
		low[j] = tolower((unsigned char)text[j]);
	for (i = 0; i < nd->n; i++) {
		const struct an_needle *n = &nd->v[i];

		off = 0;
		while (off + n->len <= len &&
		    (p = memmem(low + off, len - off, n->s, n->len)) != NULL) {
			off = p - low;
			r = occurrence(n, low, len, off, &form);
			if (r > best || (r == best && r != AN_ENC_NONE &&
			    off < best_off)) {
				best = r;
				best_off = off;
				if (hit != NULL) {
					hit->addr = nd->addrs[n->addr];
					hit->form = form;
					hit->needle = n->s;
					hit->off = off;
					hit->weak = r == AN_ENC_WEAK;
				}
			}
			off++;
		}
	}
	free(low);
	return best;
}

/*
 * an_needles_free -- release the set; NULL is fine.
 */
void
an_needles_free(struct an_needles *nd)
{
	size_t	 i;

	if (nd == NULL)
		return;
	for (i = 0; i < nd->n; i++)
		free(nd->v[i].s);
	for (i = 0; i < nd->naddrs; i++)
		free(nd->addrs[i]);
	free(nd->v);
	free(nd->addrs);
	free(nd);
}
