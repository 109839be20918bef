/*
 * smtp_bdat.c -- CHUNKING (RFC 3030) without the session: BDAT's
 * argument and the size Postfix reports for a chunked message. The
 * session (smtp_tx.c) reads the chunk bytes themselves; they are stored
 * exactly as sent, with no dot-unstuffing (RFC 3030 section 2).
 */
#include "config.h"

#include <string.h>

#include "smtp_bdat.h"

static bool
bdat_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * smtp_bdat_parse -- "count [LAST]" (the argument after "BDAT "): count
 * is decimal digits only (leading zeros allowed, no sign), at most
 * SMTP_BDAT_SIZE_MAX; LAST in any case; spaces or tabs around and
 * between; nothing else. Returns 0 with *size and *last, or -1 (the
 * persona's syntax reply: the chunk's end cannot be known then).
 */
int
smtp_bdat_parse(const char *arg, size_t len, uint64_t *size, bool *last)
{
	static const char kw[] = "LAST";
	uint64_t v = 0;
	size_t	 i = 0, ndig = 0, k;

	*size = 0;
	*last = false;
	while (i < len && bdat_space(arg[i]))
		i++;
	for (; i < len && arg[i] >= '0' && arg[i] <= '9'; i++, ndig++) {
		v = v * 10 + (uint64_t)(arg[i] - '0');
		if (v > SMTP_BDAT_SIZE_MAX)
			return -1;
	}
	if (ndig == 0 || (i < len && !bdat_space(arg[i])))
		return -1;
	while (i < len && bdat_space(arg[i]))
		i++;
	if (i < len) {
		for (k = 0; k < sizeof(kw) - 1; k++, i++)
			if (i >= len || (arg[i] & ~0x20) != kw[k])
				return -1;
		while (i < len && bdat_space(arg[i]))
			i++;
		if (i < len)
			return -1;
		*last = true;
	}
	*size = v;
	return 0;
}

/* smtp_bdat_count_init -- an empty message, nothing counted */
void
smtp_bdat_count_init(struct smtp_bdat_count *c)
{
	c->total = 0;
	c->piece = 0;
	c->crs = 0;
	c->cr = false;
	c->linelen = 0;
	c->flags = 0;
	memset(c->counts, 0, sizeof(c->counts));
}

static void
bdat_find(struct smtp_bdat_count *c, uint32_t flag)
{
	c->flags |= flag;
	c->counts[__builtin_ctz(flag)]++;
}

/* findings on one wire byte (before CRLF became LF) */
static void
bdat_scan(struct smtp_bdat_count *c, unsigned char ch)
{
	if (c->cr && ch != '\n')
		bdat_find(c, SMTP_DATA_F_BARE_CR);
	if (ch == '\n') {
		if (!c->cr)
			bdat_find(c, SMTP_DATA_F_BARE_LF);
		c->linelen = 0;
		return;
	}
	if (ch == '\0')
		bdat_find(c, SMTP_DATA_F_NUL);
	else if (ch >= 0x80)
		bdat_find(c, SMTP_DATA_F_8BIT);
	if (ch != '\r' && ++c->linelen == SMTP_DATA_TEXT_LINE_MAX + 1)
		bdat_find(c, SMTP_DATA_F_LONG_LINE);
}

/* one byte after CRLF became LF: pieces and records as Postfix reads */
static void
bdat_byte(struct smtp_bdat_count *c, char ch)
{
	if (c->piece == SMTP_BDAT_PF_LINE) {
		/* a full piece without its LF is a record of its own */
		c->total += c->piece + 2;
		c->piece = c->crs = 0;
	}
	if (ch == '\n') {
		c->total += c->piece - c->crs + 2;
		c->piece = c->crs = 0;
		return;
	}
	c->piece++;
	c->crs = ch == '\r' ? c->crs + 1 : 0;
}

/*
 * smtp_bdat_count_feed -- n more bytes of the message, as the client sent
 * them; any split of the same bytes gives the same count.
 */
void
smtp_bdat_count_feed(struct smtp_bdat_count *c, const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		bdat_scan(c, (unsigned char)p[i]);
		if (c->cr && p[i] != '\n')
			bdat_byte(c, '\r');	/* not a CRLF: the CR counts */
		c->cr = p[i] == '\r';
		if (!c->cr)
			bdat_byte(c, p[i]);
	}
}

/*
 * smtp_bdat_count_end -- the size Postfix says for the whole message: a
 * last line without its LF is a record as it is, CRs kept.
 */
uint64_t
smtp_bdat_count_end(const struct smtp_bdat_count *c)
{
	struct smtp_bdat_count e = *c;

	if (e.cr) {
		bdat_byte(&e, '\r');
		e.cr = false;
	}
	return e.piece == 0 ? e.total : e.total + e.piece + 2;
}

/* ------------------------------------------------------------------ */
/* Exim 4.96							      */
/* ------------------------------------------------------------------ */

/* isspace() in the C locale */
static bool
exim_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * smtp_bdat_exim_parse -- the argument as Exim reads it, sscanf("%u %n")
 * and strcmpic(rest, "LAST") (smtp_in.c): white space, an optional sign,
 * at least one digit (strtoul's value, kept to unsigned int: "-1" is
 * 4294967295, too many digits the same), white space, and then the chunk
 * is the LAST only if the rest is exactly "LAST" in any case; anything
 * else after the number makes it a chunk that is not the last (trailing
 * white space is not part of the argument, as Exim strips it). Returns 0
 * with *size and *last, or -1: no number ("missing size").
 */
int
smtp_bdat_exim_parse(const char *arg, size_t len, uint64_t *size, bool *last)
{
	static const char kw[] = "LAST";
	uint64_t v = 0;
	size_t	 i = 0, ndig = 0, k;
	bool	 neg = false, over = false;

	*size = 0;
	*last = false;
	while (len > 0 && exim_space((unsigned char)arg[len - 1]))
		len--;
	while (i < len && exim_space((unsigned char)arg[i]))
		i++;
	if (i < len && (arg[i] == '+' || arg[i] == '-'))
		neg = arg[i++] == '-';
	for (; i < len && arg[i] >= '0' && arg[i] <= '9'; i++, ndig++) {
		if (v > (UINT64_MAX - 9) / 10)
			over = true;
		else
			v = v * 10 + (uint64_t)(arg[i] - '0');
	}
	if (ndig == 0)
		return -1;
	if (over)
		v = UINT64_MAX;		/* strtoul: ULONG_MAX, sign ignored */
	else if (neg)
		v = (uint64_t)0 - v;
	*size = v & 0xffffffffu;
	while (i < len && exim_space((unsigned char)arg[i]))
		i++;
	if (len - i == sizeof(kw) - 1) {
		for (k = 0; k < sizeof(kw) - 1; k++)
			if ((arg[i + k] & ~0x20) != kw[k])
				break;
		*last = k == sizeof(kw) - 1;
	}
	return 0;
}

/* the header section's states, one line at a time */
enum {
	EX_START,	/* at a line's start */
	EX_NAME,	/* in what may be a field name */
	EX_NAMESP,	/* white space after it, before a colon */
	EX_FIELD,	/* a header field (or its continuation) */
	EX_BODY		/* past the header section */
};

/* smtp_bdat_xcount_init -- an empty message, nothing counted */
void
smtp_bdat_xcount_init(struct smtp_bdat_xcount *e)
{
	memset(e, 0, sizeof(*e));
	e->first = true;
	e->hs = EX_START;
}

/* a line of the header section that is not a field: the body begins */
static void
exim_body(struct smtp_bdat_xcount *e)
{
	e->total++;
	e->hs = EX_BODY;
}

/* the open line ends (its end counts two) */
static void
exim_eol(struct smtp_bdat_xcount *e)
{
	e->total += 2;
	if (e->hs == EX_START)
		e->hs = EX_BODY;	/* the empty line */
	else if (e->hs == EX_NAME || e->hs == EX_NAMESP)
		exim_body(e);		/* no colon */
	else if (e->hs == EX_FIELD)
		e->hs = EX_START;
	e->first = false;
	e->inline_ = false;
}

/* one byte of a line */
static void
exim_char(struct smtp_bdat_xcount *e, unsigned char c)
{
	e->total++;
	e->inline_ = true;
	switch (e->hs) {
	case EX_START:
		/* [verified] " :a" as the first line is no field */
		if ((c == ' ' || c == '\t') && !e->first)
			e->hs = EX_FIELD;	/* a continuation */
		else if (c == ':')
			e->hs = EX_FIELD;
		else if (c > ' ' && c < 0x7f)
			e->hs = EX_NAME;
		else
			exim_body(e);
		break;
	case EX_NAME:
	case EX_NAMESP:
		if (c == ':')
			e->hs = EX_FIELD;
		else if (exim_space(c))
			e->hs = EX_NAMESP;
		else if (e->hs == EX_NAMESP || c <= ' ' || c >= 0x7f)
			exim_body(e);
		break;
	default:
		break;
	}
}

/*
 * a CR without LF counts two; in the body it ends a line, in the header
 * section it is white space inside one ([verified]: "a\r:" is a field)
 */
static void
exim_lone_cr(struct smtp_bdat_xcount *e)
{
	if (e->hs == EX_BODY) {
		e->total += 2;
		e->inline_ = false;
		return;
	}
	exim_char(e, '\v');		/* white space, no continuation */
	e->total++;
}

/*
 * smtp_bdat_xcount_feed -- n more bytes of the message, as the client sent
 * them; any split of the same bytes gives the same count.
 */
void
smtp_bdat_xcount_feed(struct smtp_bdat_xcount *e, const char *p, size_t n)
{
	size_t	 i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		e->any = true;
		if (e->cr) {
			e->cr = false;
			if (c == '\n') {
				exim_eol(e);	/* CRLF */
				continue;
			}
			exim_lone_cr(e);
		}
		if (c == '\r')
			e->cr = true;
		else if (c == '\n')
			exim_eol(e);		/* a bare LF */
		else
			exim_char(e, c);
	}
}

/*
 * smtp_bdat_xcount_end -- the size Exim says for the whole message.
 */
uint64_t
smtp_bdat_xcount_end(const struct smtp_bdat_xcount *e)
{
	struct smtp_bdat_xcount x = *e;

	if (x.cr) {
		x.cr = false;
		exim_lone_cr(&x);
		x.inline_ = false;	/* the CR ended it */
	}
	if (x.inline_)
		exim_eol(&x);
	else if (!x.any)
		x.total += 2;
	return x.total;
}
