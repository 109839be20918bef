/*
 * smtp_pfaddr.c -- the address of a MAIL or RCPT command as Postfix 3.7's
 * smtpd reads it, for the Postfix persona.
 *
 * Postfix does not parse an RFC 5321 path. Its command tokenizer takes
 * the word after "FROM:" with <...> and "..." kept whole (a backslash
 * hides the next byte), then reads that word, without its outer <> and
 * source route, as an RFC 822 address list: comments vanish, spaces
 * separate words, and a comma, a semicolon or two words in a row start
 * another address. More than one address, an unterminated quote or <>,
 * or an empty recipient is "501 5.1.7 Bad sender address syntax" (5.1.3
 * for RCPT). So "<a b@x>", "<a,b>", "<\"a\"b@x>" and "<a[b@x>" are
 * refused, while "<a@x (comment)>", "<a@ x>" and "<>b@x>" are taken.
 *
 * Its resolver then takes off an empty domain and rewrites user%host
 * and host!user; smtp_pfaddr_domain() gives the domain it is left with,
 * for smtp_addr_postfix_domain() to judge.
 *
 * Written from that behaviour and measured against a real Postfix
 * 3.7.11 (tests/unit/test_smtp_pfaddr.c lists the cases).
 */
#include "config.h"

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_cmd.h"
#include "xmalloc.h"

/* token types beyond the one-byte operators */
enum {
	PF_ATOM = 256,
	PF_QSTR,		/* "..." */
	PF_DLIT,		/* [...] */
	PF_COMMENT		/* (...) */
};

struct pf_tok {
	int	 type;		/* PF_* or the operator byte */
	size_t	 off, len;	/* value in the scan buffer (words only) */
};

struct pf_scan {
	struct pf_tok	*tok;
	size_t		 ntok;
	char		*val;	/* word values, escapes removed */
	size_t		 nval;
};

/* the operators of RFC 822 plus the routing ones Postfix adds */
static const char pf_ops[] = "|%!()<>@,;:\\\".[]";

static bool	 pf_blank(unsigned char);
static bool	 pf_op(unsigned char);
static bool	 pf_word(int);
static size_t	 pf_token(const char *, size_t, size_t, bool *);
static size_t	 pf_collect(struct pf_scan *, const char *, size_t, size_t,
		    int);
static void	 pf_tokenize(struct pf_scan *, const char *, size_t);
static size_t	 pf_put(const struct pf_scan *, const struct pf_tok *, char *,
		    size_t);
static void	 pf_scan_of(struct pf_scan *, const char *, size_t);
static void	 pf_scan_free(struct pf_scan *);
static int	 pf_emit(const struct pf_scan *, const size_t *, size_t,
		    char *, size_t, size_t *);
static int	 pf_addresses(const struct pf_scan *, char *, size_t,
		    size_t *);

/* the blanks that separate RFC 822 words */
static bool
pf_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
pf_op(unsigned char c)
{
	return c != '\0' && strchr(pf_ops, c) != NULL;
}

static bool
pf_word(int type)
{
	return type == PF_ATOM || type == PF_QSTR || type == PF_DLIT;
}

/*
 * pf_token -- the end of the command word that starts at a[i] (len
 * bytes in all): it runs to the next blank outside <...> and "...";
 * inside <...> a '<' opens another level and a '"' a quote, inside a
 * quote only '"' counts; a backslash hides the next byte. *open is set
 * when a quote or <> is still open at the end.
 */
static size_t
pf_token(const char *a, size_t len, size_t i, bool *open)
{
	size_t	 depth = 0;
	bool	 inq = false;
	unsigned char c;

	*open = false;
	while (i < len) {
		c = (unsigned char)a[i];
		if (depth == 0 && !inq) {
			if (c == ' ' || (c >= '\t' && c <= '\r'))
				break;
			if (c == '<')
				depth = 1;
			else if (c == '"')
				inq = true;
			else if (c == '\\' && ++i == len)
				break;
			i++;
			continue;
		}
		i++;
		if (c == '\\') {
			if (i == len)
				break;
			i++;
		} else if (inq) {
			if (c == '"')
				inq = false;
		} else if (c == '>') {
			depth--;
		} else if (c == '"') {
			inq = true;
		} else if (c == '<') {
			depth++;
		}
	}
	*open = depth > 0 || inq;
	return i;
}

/*
 * pf_collect -- append to s->val the word that starts at t[i] and stops
 * before a byte for which stop is true (stop 0: a blank or operator),
 * or at the closing byte stop; a backslash takes the next byte as it
 * is, blanks become spaces. Returns the index after the word (after the
 * closing byte, if found).
 */
static size_t
pf_collect(struct pf_scan *s, const char *t, size_t n, size_t i, int stop)
{
	unsigned char c;

	while (i < n) {
		c = (unsigned char)t[i];
		if (c == '\\') {
			if (++i == n)
				break;
			c = (unsigned char)t[i];
		} else if (stop != 0 ? c == stop : (pf_blank(c) || pf_op(c))) {
			break;
		}
		s->val[s->nval++] = pf_blank(c) ? ' ' : (char)c;
		i++;
	}
	if (stop != 0 && i < n)
		i++;
	return i;
}

/* pf_tokenize -- the RFC 822 tokens of t (n bytes, no NUL) into s */
static void
pf_tokenize(struct pf_scan *s, const char *t, size_t n)
{
	struct pf_tok	*k;
	size_t		 i = 0;
	int		 level;
	unsigned char	 c;

	while (i < n) {
		c = (unsigned char)t[i++];
		if (pf_blank(c))
			continue;
		k = &s->tok[s->ntok++];
		k->off = s->nval;
		if (c == '(') {
			/* comments nest; their text is never part of a path */
			k->type = PF_COMMENT;
			for (level = 1; i < n && level > 0; i++) {
				if (t[i] == '(')
					level++;
				else if (t[i] == ')')
					level--;
				else if (t[i] == '\\' && i + 1 < n)
					i++;
			}
		} else if (c == '[') {
			k->type = PF_DLIT;
			i = pf_collect(s, t, n, i, ']');
		} else if (c == '"') {
			k->type = PF_QSTR;
			i = pf_collect(s, t, n, i, '"');
		} else if (c != '\\' && pf_op(c)) {
			k->type = c;
		} else {
			k->type = PF_ATOM;
			i = pf_collect(s, t, n, i - 1, 0);
		}
		k->len = s->nval - k->off;
	}
}

/*
 * pf_put -- token k as text at out + o, its room checked by the caller
 * (k->len + 2 bytes): a word's value, a literal in [], an operator.
 * Returns the new offset.
 */
static size_t
pf_put(const struct pf_scan *s, const struct pf_tok *k, char *out, size_t o)
{
	if (k->type == PF_DLIT)
		out[o++] = '[';
	if (pf_word(k->type)) {
		memcpy(out + o, s->val + k->off, k->len);
		o += k->len;
	} else if (k->type == PF_COMMENT) {
		out[o++] = '(';		/* its text is never part of a name */
	} else {
		out[o++] = (char)k->type;
	}
	if (k->type == PF_DLIT)
		out[o++] = ']';
	return o;
}

/* pf_scan_of -- s holds the tokens of t (n bytes); pf_scan_free() */
static void
pf_scan_of(struct pf_scan *s, const char *t, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->tok = xcalloc(n + 1, sizeof(*s->tok));
	s->val = xmalloc(n + 1);
	pf_tokenize(s, t, n);
}

static void
pf_scan_free(struct pf_scan *s)
{
	free(s->tok);
	free(s->val);
}

/*
 * pf_emit -- one address found (tokens ix[0..n-1], left to right): count
 * it in *naddr and, if it is the first, write its text into out (words
 * without quotes, literals in [], operators as they are).
 */
static int
pf_emit(const struct pf_scan *s, const size_t *ix, size_t n, char *out,
    size_t outsz, size_t *naddr)
{
	const struct pf_tok *k;
	size_t	 i, o = 0;

	if (n == 0)
		return SMTP_PFADDR_OK;
	if ((*naddr)++ > 0)
		return SMTP_PFADDR_OK;
	for (i = 0; i < n; i++) {
		k = &s->tok[ix[i]];
		if (o + k->len + 3 > outsz)
			return SMTP_PFADDR_LONG;
		o = pf_put(s, k, out, o);
	}
	out[o] = '\0';
	return SMTP_PFADDR_OK;
}

#define PF_CLOSE() do {							\
	if ((rc = pf_emit(s, pend + first, s->ntok - first, out, outsz,	\
	    naddr)) != SMTP_PFADDR_OK)					\
		goto done;						\
	first = s->ntok;						\
} while (0)

/*
 * pf_addresses -- group the tokens into addresses the way an RFC 822
 * address list is read from its right end: a ',' or ';' ends one, two
 * words in a row are two, "phrase <addr>" and "group: a, b;" give their
 * inner addresses. Counts them in *naddr, writes the first found into
 * out. Returns SMTP_PFADDR_OK or SMTP_PFADDR_LONG.
 */
static int
pf_addresses(const struct pf_scan *s, char *out, size_t outsz,
    size_t *naddr)
{
	size_t	*pend, first;
	ssize_t	 i;
	bool	 word_ok = true, group = false;
	int	 rc = SMTP_PFADDR_OK, type;

	*naddr = 0;
	out[0] = '\0';
	if (s->ntok == 0)
		return rc;
	/* the tokens of the address being read, filled from the end */
	pend = xcalloc(s->ntok, sizeof(*pend));
	first = s->ntok;
	for (i = (ssize_t)s->ntok - 1; i >= 0; ) {
		type = s->tok[i].type;
		if (type == PF_COMMENT) {
			i--;
		} else if (type == ';') {
			PF_CLOSE();
			word_ok = group = true;
			i--;
		} else if (type == ':' && group) {
			/* "name: a, b;" -- the name is not an address */
			PF_CLOSE();
			while (i >= 0 && s->tok[i].type != ',')
				i--;
		} else if (type == '>') {
			PF_CLOSE();
			/* what is inside <...>, then the phrase before it */
			for (i--; i >= 0 && s->tok[i].type != '<'; i--)
				if (s->tok[i].type != PF_COMMENT)
					pend[--first] = (size_t)i;
			PF_CLOSE();
			while (i >= 0 && (pf_word(s->tok[i].type) ||
			    s->tok[i].type == PF_COMMENT ||
			    strchr(">;,:", s->tok[i].type) == NULL))
				i--;
			word_ok = true;
		} else if (pf_word(type)) {
			if (!word_ok)
				PF_CLOSE();
			word_ok = false;
			pend[--first] = (size_t)i--;
		} else if (type == ',') {
			PF_CLOSE();
			word_ok = true;
			i--;
		} else {
			word_ok = true;
			pend[--first] = (size_t)i--;
		}
	}
	PF_CLOSE();
done:
	free(pend);
	return rc;
}

/*
 * smtp_pfaddr_read -- Postfix's reading of the argument a (len bytes)
 * of MAIL (mail true) or RCPT after "FROM:"/"TO:": blanks, then one
 * command word. On SMTP_PFADDR_OK, addr (addrsz bytes) holds the one
 * address in Postfix's internal form ("" for the null sender) and *end
 * the offset in a after the word, where the parameters start.
 * Returns SMTP_PFADDR_NONE (no word: Postfix's "Syntax:" reply is the
 * caller's), SMTP_PFADDR_BAD (Postfix's "Bad sender/recipient address
 * syntax"), SMTP_PFADDR_LONG (does not fit addr, or a NUL byte: leave
 * the verdict to the caller) or SMTP_PFADDR_OK. The domain is not
 * judged here: see smtp_addr_postfix_domain().
 */
int
smtp_pfaddr_read(const char *a, size_t len, bool mail, char *addr,
    size_t addrsz, size_t *end)
{
	struct pf_scan	 s;
	const char	*t;
	size_t		 b = 0, e, n, naddr, colon;
	bool		 open;
	int		 rc;

	if (addrsz < 1 || memchr(a, '\0', len) != NULL)
		return SMTP_PFADDR_LONG;
	addr[0] = '\0';
	while (b < len && (a[b] == ' ' || (a[b] >= '\t' && a[b] <= '\r')))
		b++;
	if (b == len)
		return SMTP_PFADDR_NONE;
	e = pf_token(a, len, b, &open);
	*end = e;
	if (open)
		return SMTP_PFADDR_BAD;

	/* <...> loses its brackets, then a source route "@a,@b:" */
	t = a + b;
	n = e - b;
	if (n >= 2 && t[0] == '<' && t[n - 1] == '>') {
		t++;
		n -= 2;
	}
	if (n > 0 && t[0] == '@') {
		for (colon = 0; colon < n && t[colon] != ':'; colon++)
			;
		if (colon < n) {
			t += colon + 1;
			n -= colon + 1;
		}
	}

	pf_scan_of(&s, t, n);
	rc = pf_addresses(&s, addr, addrsz, &naddr);
	pf_scan_free(&s);
	if (rc != SMTP_PFADDR_OK)
		return rc;
	if (naddr > 1 || (addr[0] == '\0' && !mail))
		return SMTP_PFADDR_BAD;
	return SMTP_PFADDR_OK;
}

/*
 * The address resolver's view (trivial-rewrite): the local part, quoted
 * when it is no dot-string, and the domain after the last '@'. A local
 * or empty domain is taken off and the local part rewritten (user%host,
 * host!user, a quoted "user@host") until a domain is left.
 */
struct pf_res {
	char	 loc[SMTP_PFADDR_DOMAIN_MAX];
	char	 dom[SMTP_PFADDR_DOMAIN_MAX];
	bool	 lq;		/* loc is one quoted string */
	bool	 has_dom;	/* an '@' and dom follow loc */
};

static bool	 pf_dot_string(const char *, size_t);
static void	 pf_res_split(struct pf_res *, const char *, bool);
static void	 pf_res_rewrite(struct pf_res *);
static void	 pf_strip_dot(char *);

/* an RFC 822 dot-string: atoms (any byte but blanks, controls and the
   specials other than '.') joined by single dots */
static bool
pf_dot_string(const char *s, size_t n)
{
	size_t	 i;
	unsigned char c;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c == '.' && i + 1 < n && s[i + 1] == '.') || c == ' ' ||
		    c < 0x20 || c == 0x7f || (c != '.' && c != '!' &&
		    c != '%' && c != '|' && pf_op(c)))
			return false;
	}
	return true;
}

/*
 * pf_res_split -- r from address text t: split at the last '@'; with
 * quote, the local part is one quoted string unless a dot-string.
 */
static void
pf_res_split(struct pf_res *r, const char *t, bool quote)
{
	const char *at = strrchr(t, '@');
	size_t	 n = at != NULL ? (size_t)(at - t) : strlen(t);

	memmove(r->loc, t, n);
	r->loc[n] = '\0';
	r->has_dom = at != NULL;
	if (at != NULL)
		memmove(r->dom, at + 1, strlen(at + 1) + 1);
	else
		r->dom[0] = '\0';
	r->lq = quote && !pf_dot_string(r->loc, n);
}

/* a trailing '.' goes unless after '.' or at the start */
static void
pf_strip_dot(char *s)
{
	size_t	 n = strlen(s);

	if (n >= 2 && s[n - 1] == '.' && s[n - 2] != '.')
		s[n - 1] = '\0';
}

/* the rewrite of an unquoted local part without '@': host!user becomes
   user@host, user%host user@host; then a trailing dot goes */
static void
pf_res_rewrite(struct pf_res *r)
{
	char	*p;

	if (!r->has_dom && (p = strchr(r->loc, '!')) != NULL) {
		*p = '\0';
		memmove(r->dom, r->loc, strlen(r->loc) + 1);
		memmove(r->loc, p + 1, strlen(p + 1) + 1);
		r->has_dom = true;
	} else if (!r->has_dom && (p = strrchr(r->loc, '%')) != NULL) {
		memmove(r->dom, p + 1, strlen(p + 1) + 1);
		*p = '\0';
		r->has_dom = true;
	}
	pf_strip_dot(r->has_dom ? r->dom : r->loc);
}

/*
 * pf_internal -- the domain text d as the resolver hands it on: read
 * again as RFC 822 tokens (quotes and backslashes go, literals keep
 * their brackets, a comment leaves a '(' that no name takes) and
 * written out with a space between two words. Into out (outsz bytes; a
 * longer result is cut).
 */
static void
pf_internal(const char *d, char *out, size_t outsz)
{
	struct pf_scan	 s;
	const struct pf_tok *k;
	size_t		 n = strlen(d), i, o = 0;

	pf_scan_of(&s, d, n);
	for (i = 0; i < s.ntok; i++) {
		k = &s.tok[i];
		if (o + k->len + 4 > outsz)
			break;
		if (i > 0 && (pf_word(k->type) || k->type == PF_COMMENT) &&
		    (pf_word(s.tok[i - 1].type) ||
		    s.tok[i - 1].type == PF_COMMENT))
			out[o++] = ' ';
		o = pf_put(&s, k, out, o);
	}
	out[o] = '\0';
	pf_scan_free(&s);
}

/*
 * smtp_pfaddr_domain -- the domain Postfix judges for the address addr
 * that smtp_pfaddr_read() gave (not ""): what is left after its
 * resolver took off empty domains and rewrote the local part, copied to
 * dom (domsz bytes, at least SMTP_PFADDR_DOMAIN_MAX). Returns false when
 * no domain is left (local delivery: nothing to judge). Measured, not
 * documented: a quoted local part (one that is no dot-string) is
 * opened again at an '@' in it, and at a '%' or '!' only once an empty
 * domain was taken off ("<.%>" is taken, "<:!@>" refused). Domains
 * local to the host are not taken off (the persona has none of
 * Postfix's mydestination), nor source routes inside the address.
 */
bool
smtp_pfaddr_domain(const char *addr, char *dom, size_t domsz)
{
	struct pf_res	 r;
	char		*op;
	size_t		 i, max = strlen(addr) + 100;
	bool		 emptied = false;

	if (strlen(addr) > SMTP_ADDR_MAX || domsz < SMTP_PFADDR_DOMAIN_MAX)
		return false;
	pf_res_split(&r, addr, true);
	for (i = 0; i < max; i++) {
		if (r.has_dom)
			pf_strip_dot(r.dom);
		if (r.has_dom) {
			if (r.dom[0] != '\0')
				break;			/* a domain is left */
			emptied = true;		/* "user@": "@" comes back */
			r.has_dom = false;
		}
		if (!r.lq && strpbrk(r.loc, "@!%") != NULL) {
			if (strchr(r.loc, '@') != NULL)
				pf_res_split(&r, r.loc, false);
			pf_res_rewrite(&r);
			continue;
		}
		/* a quoted local part is opened at its last '@'; after an
		   empty domain, at its last '%' or '!' too (measured) */
		if (r.lq && ((op = strrchr(r.loc, '@')) != NULL ||
		    (emptied && ((op = strrchr(r.loc, '%')) != NULL ||
		    (op = strrchr(r.loc, '!')) != NULL)))) {
			if (*op == '%')
				*op = '@';
			if (*op == '@')
				pf_res_split(&r, r.loc, true);
			else
				r.lq = false;
			pf_res_rewrite(&r);
			continue;
		}
		break;
	}
	if (r.has_dom && r.dom[0] != '\0') {
		pf_internal(r.dom, dom, domsz);
		return true;
	}
	dom[0] = '\0';
	return emptied;
}
