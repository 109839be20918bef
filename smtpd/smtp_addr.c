/*
 * smtp_addr.c -- the arguments of MAIL and RCPT: reverse/forward path and
 * ESMTP parameters; run in the jailed smtpd process on hostile bytes.
 * A trap must accept every form relay testers send (REFERENCE.md 1:
 * percent hack, bang paths, quoted local parts with '@', double '@',
 * source routes, IP literals, <>), so the grammar is Postfix-lenient and
 * every oddity becomes a SMTP_PATH_F_* flag. What is refused: unbalanced
 * <, > or quotes, control bytes, and fields longer than their buffers
 * (never truncated silently). Pure: no allocation, no reading past len.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "smtp_cmd.h"

/* RFC 5321 4.5.3.1: local part, domain, path (incl. <>) */
#define RFC_LOCAL_MAX	64
#define RFC_DOMAIN_MAX	255
#define RFC_PATH_MAX	256

#define PARAM_F_MAIL	0x01
#define PARAM_F_RCPT	0x02
#define PARAM_F_PRDR	0x04	/* MAIL, where PRDR is offered */
#define PARAM_F_EXIM	0x08	/* values as Exim takes them */

struct param_def {
	const char	*key;
	int		 where;		/* PARAM_F_* */
	bool		 (*valid)(const char *, size_t, struct smtp_mailarg *);
};

static bool	 is_sp(unsigned char);
static bool	 is_ctrl(unsigned char);
static bool	 valid_size(const char *, size_t, struct smtp_mailarg *);
static bool	 exim_size(const char *, size_t, struct smtp_mailarg *);
static bool	 valid_body(const char *, size_t, struct smtp_mailarg *);
static bool	 valid_smtputf8(const char *, size_t, struct smtp_mailarg *);
static bool	 valid_ret(const char *, size_t, struct smtp_mailarg *);
static bool	 valid_nonempty(const char *, size_t, struct smtp_mailarg *);
static bool	 valid_notify(const char *, size_t, struct smtp_mailarg *);
static bool	 valid_orcpt(const char *, size_t, struct smtp_mailarg *);
static bool	 valid_prdr(const char *, size_t, struct smtp_mailarg *);
static int	 copy_field(char *, size_t, const char *, size_t);
static void	 set_err_param(struct smtp_mailarg *, const char *, size_t);
static int	 parse_param(const char *, size_t, struct smtp_mailarg *, int);
static int	 parse_args(const char *, size_t, const char *,
		    struct smtp_mailarg *, int);
static int	 parse_domain(const char *, size_t, unsigned int *);

static const struct param_def params[] = {
	{ "SIZE",	PARAM_F_MAIL,	valid_size },		/* RFC 1870 */
	{ "BODY",	PARAM_F_MAIL,	valid_body },		/* RFC 6152 */
	{ "SMTPUTF8",	PARAM_F_MAIL,	valid_smtputf8 },	/* RFC 6531 */
	{ "RET",	PARAM_F_MAIL,	valid_ret },		/* RFC 3461 */
	{ "ENVID",	PARAM_F_MAIL,	valid_nonempty },
	{ "AUTH",	PARAM_F_MAIL,	valid_nonempty },	/* RFC 4954 */
	{ "NOTIFY",	PARAM_F_RCPT,	valid_notify },
	{ "ORCPT",	PARAM_F_RCPT,	valid_orcpt },
	/* draft-hall-prdr; Exim takes any value */
	{ "PRDR",	PARAM_F_PRDR,	valid_prdr },
};

static bool
is_sp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_ctrl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* copy exactly n bytes and NUL-terminate, or -1 if they do not fit */
static int
copy_field(char *dst, size_t dstsz, const char *src, size_t n)
{
	if (n >= dstsz)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* err_param is echoed in replies: keep it printable ASCII, truncated */
static void
set_err_param(struct smtp_mailarg *out, const char *k, size_t n)
{
	size_t	 i;

	if (n > SMTP_PARAM_KEY_MAX)
		n = SMTP_PARAM_KEY_MAX;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];

		out->err_param[i] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out->err_param[n] = '\0';
}

static bool
valid_size(const char *v, size_t n, struct smtp_mailarg *out)
{
	long long	 size = 0;
	size_t		 i;

	if (out->exim)
		return exim_size(v, n, out);
	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		if (size > (LLONG_MAX - (v[i] - '0')) / 10)
			return false;		/* huge SIZE: bad syntax */
		size = size * 10 + (v[i] - '0');
	}
	out->size = size;
	return true;
}

/*
 * exim_size -- SIZE as Exim reads it: Ustrtoul(value, &end, 10) and used
 * only if *end is 0 ([verified] exim 4.96: "SIZE=abc", "SIZE=12x" and
 * "SIZE" are taken, "SIZE=-5" is over the limit).
 */
static bool
exim_size(const char *v, size_t n, struct smtp_mailarg *out)
{
	long long size = 0;
	size_t	 i = 0;
	bool	 neg = false, over = false;

	if (i < n && (v[i] == '+' || v[i] == '-'))
		neg = v[i++] == '-';
	if (i == n && n > 0)
		return true;		/* a sign alone: no number, ignored */
	for (; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return true;	/* not all digits: ignored */
		if (size > (LLONG_MAX - (v[i] - '0')) / 10)
			over = true;
		else
			size = size * 10 + (v[i] - '0');
	}
	out->size = over || (neg && size > 0) ? LLONG_MAX : size;
	return true;
}

static bool
valid_body(const char *v, size_t n, struct smtp_mailarg *out)
{
	if (n == 4 && strncasecmp(v, "7BIT", 4) == 0)
		out->body = SMTP_BODY_7BIT;
	else if (n == 8 && strncasecmp(v, "8BITMIME", 8) == 0)
		out->body = SMTP_BODY_8BITMIME;
	else if (n == 10 && strncasecmp(v, "BINARYMIME", 10) == 0 &&
	    !out->exim)
		out->body = SMTP_BODY_BINARYMIME;
	else
		return false;
	return true;
}

static bool
valid_smtputf8(const char *v, size_t n, struct smtp_mailarg *out)
{
	out->smtputf8 = true;
	return v == NULL;		/* takes no value */
}

static bool
valid_prdr(const char *v, size_t n, struct smtp_mailarg *out)
{
	out->prdr = true;
	return true;
}

static bool
valid_ret(const char *v, size_t n, struct smtp_mailarg *out)
{
	return out->exim || (n == 4 && (strncasecmp(v, "FULL", 4) == 0 ||
	    strncasecmp(v, "HDRS", 4) == 0));
}

static bool
valid_nonempty(const char *v, size_t n, struct smtp_mailarg *out)
{
	return n > 0 || out->exim;
}

/* RFC 3461 4.1: NEVER, or a list of SUCCESS, FAILURE, DELAY */
static bool
valid_notify(const char *v, size_t n, struct smtp_mailarg *out)
{
	size_t	 b, e;
	bool	 never = false, other = false;

	if (n == 0)
		return false;
	for (b = 0; b <= n; b = e + 1) {
		for (e = b; e < n && v[e] != ','; e++)
			;
		if (e - b == 5 && strncasecmp(v + b, "NEVER", 5) == 0)
			never = true;
		else if ((e - b == 7 &&
		    strncasecmp(v + b, "SUCCESS", 7) == 0) ||
		    (e - b == 7 && strncasecmp(v + b, "FAILURE", 7) == 0) ||
		    (e - b == 5 && strncasecmp(v + b, "DELAY", 5) == 0))
			other = true;
		else
			return false;
	}
	return !(never && other);
}

/* RFC 3461 4.2: addr-type ";" xtext */
static bool
valid_orcpt(const char *v, size_t n, struct smtp_mailarg *out)
{
	const char	*semi;

	if (n == 0 || (semi = memchr(v, ';', n)) == NULL)
		return false;
	return semi != v && semi != v + n - 1;
}

/* one "KEY[=VALUE]" token; where = PARAM_F_MAIL or PARAM_F_RCPT */
static int
parse_param(const char *tok, size_t n, struct smtp_mailarg *out, int where)
{
	const struct param_def	*def;
	struct smtp_param	*sp, extra;
	const char		*eq, *val = NULL;
	size_t			 klen, vlen = 0, i;

	eq = memchr(tok, '=', n);
	klen = eq != NULL ? (size_t)(eq - tok) : n;
	if (eq != NULL) {
		val = eq + 1;
		vlen = n - klen - 1;
	}
	if (klen == 0)
		return SMTP_E_SYNTAX;
	/* no keyword is that long: an unknown one, named by its start */
	if (klen > SMTP_PARAM_KEY_MAX) {
		set_err_param(out, tok, klen);
		return SMTP_E_PARAM;
	}
	/* RFC 5321 4.1.2: esmtp-keyword = (ALPHA/DIGIT) *(ALPHA/DIGIT/"-") */
	for (i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)tok[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || (c == '-' && i > 0))) {
			set_err_param(out, tok, klen);
			return SMTP_E_PARAM;
		}
	}
	if (vlen > SMTP_PARAM_VAL_MAX) {
		set_err_param(out, tok, klen);
		return SMTP_E_TOOLONG;
	}
	/* past SMTP_PARAMS_MAX a parameter is checked and takes effect
	   (SIZE, BODY...), as in every MTA, but is not kept in params */
	sp = out->nparams < SMTP_PARAMS_MAX ?
	    &out->params[out->nparams++] : &extra;
	for (i = 0; i < klen; i++) {
		char c = tok[i];

		sp->key[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
	}
	sp->key[klen] = '\0';
	sp->has_value = val != NULL;
	if (val != NULL)
		memcpy(sp->value, val, vlen);
	sp->value[vlen] = '\0';

	for (def = params; def < params + sizeof(params) / sizeof(params[0]);
	    def++)
		if (strcmp(def->key, sp->key) == 0)
			break;
	if (def == params + sizeof(params) / sizeof(params[0]) ||
	    (def->where & where) == 0) {
		set_err_param(out, tok, klen);
		return SMTP_E_PARAM;
	}
	/* esmtp-value = 1*(%d33-60 / %d62-126), 8-bit tolerated (UTF-8) */
	for (i = 0; i < vlen; i++) {
		if (is_ctrl((unsigned char)val[i])) {
			set_err_param(out, tok, klen);
			return SMTP_E_PARAM_VALUE;
		}
	}
	if (!def->valid(val, vlen, out)) {
		set_err_param(out, tok, klen);
		return SMTP_E_PARAM_VALUE;
	}
	return SMTP_E_OK;
}

/* "FROM:" / "TO:" then path then parameters */
static int
parse_args(const char *arg, size_t len, const char *kw,
    struct smtp_mailarg *out, int where)
{
	const unsigned char	*p = (const unsigned char *)arg;
	size_t			 kwlen = strlen(kw), i, b, e;
	bool			 inq = false;
	int			 rc;

	memset(out, 0, sizeof(*out));
	out->size = -1;
	out->exim = (where & PARAM_F_EXIM) != 0;

	if (len < kwlen || strncasecmp(arg, kw, kwlen) != 0)
		return SMTP_E_SYNTAX;
	i = kwlen;
	if (i < len && is_sp(p[i]))
		out->path.flags |= SMTP_PATH_F_SPACE;
	while (i < len && is_sp(p[i]))
		i++;
	if (i == len)
		return SMTP_E_SYNTAX;

	/* find the end of the path; quotes and backslashes hide <, >, SP */
	b = i;
	if (p[b] == '<') {
		for (e = b + 1; e < len; e++) {
			if (p[e] == '\\') {
				e++;
				continue;
			}
			if (p[e] == '"')
				inq = !inq;
			else if (!inq && p[e] == '<')
				return SMTP_E_ADDR;
			else if (!inq && p[e] == '>')
				break;
		}
		if (e >= len)
			return SMTP_E_ADDR;	/* no closing '>' */
		e++;
	} else {
		for (e = b; e < len; e++) {
			if (p[e] == '\\') {
				e++;
				continue;
			}
			if (p[e] == '"')
				inq = !inq;
			else if (!inq && is_sp(p[e]))
				break;
		}
		if (e > len)
			e = len;	/* trailing backslash: path checks it */
	}
	if (e < len && !is_sp(p[e]))
		return SMTP_E_SYNTAX;		/* "<a@b>junk" */
	{
		unsigned int	 spflag = out->path.flags;

		if ((rc = smtp_addr_parse_path(arg + b, e - b, &out->path))
		    != SMTP_E_OK)
			return rc;
		out->path.flags |= spflag;
	}

	/* ESMTP parameters, separated by runs of SP/TAB */
	for (i = e; i < len; ) {
		while (i < len && is_sp(p[i]))
			i++;
		if (i == len)
			break;
		for (b = i; i < len && !is_sp(p[i]); i++)
			;
		if ((rc = parse_param(arg + b, i - b, out, where)) !=
		    SMTP_E_OK)
			return rc;
	}
	return SMTP_E_OK;
}

/*
 * smtp_addr_parse_mail -- parse what follows "MAIL ": "FROM:" (any case),
 * optional SP, a path with or without <>, then ESMTP parameters (SIZE,
 * BODY, SMTPUTF8, RET, ENVID, AUTH). Fills out (size -1 when absent).
 * Returns SMTP_E_OK; SMTP_E_SYNTAX (no "FROM:", no path, junk after
 * '>'); SMTP_E_ADDR (see smtp_addr_parse_path); SMTP_E_PARAM (unknown
 * or RCPT-only keyword, name in err_param); SMTP_E_PARAM_VALUE (bad
 * value, name in err_param: its first SMTP_PARAM_KEY_MAX bytes when
 * longer); SMTP_E_TOOLONG (a field over its buffer). Parameters past
 * SMTP_PARAMS_MAX are checked and take effect but are not kept in
 * params. err_param is printable ASCII.
 */
int
smtp_addr_parse_mail(const char *arg, size_t len, struct smtp_mailarg *out)
{
	return parse_args(arg, len, "FROM:", out, PARAM_F_MAIL);
}

/*
 * smtp_addr_parse_mail_as -- smtp_addr_parse_mail() with how's
 * SMTP_ADDR_* bits: PRDR (with any value or none) is a parameter too
 * (out->prdr); Exim's values: SIZE is read as strtoul() reads it (not a
 * number: ignored, size -1; negative or too large: LLONG_MAX; none: 0),
 * RET, ENVID and AUTH take any value, BODY only 7BIT or 8BITMIME.
 */
int
smtp_addr_parse_mail_as(const char *arg, size_t len,
    struct smtp_mailarg *out, unsigned int how)
{
	int	 where = PARAM_F_MAIL;

	if (how & SMTP_ADDR_PRDR)
		where |= PARAM_F_PRDR;
	if (how & SMTP_ADDR_EXIM)
		where |= PARAM_F_EXIM;
	return parse_args(arg, len, "FROM:", out, where);
}

/*
 * smtp_addr_parse_rcpt -- as smtp_addr_parse_mail for what follows
 * "RCPT ": "TO:", a path, then NOTIFY and ORCPT parameters. <> is
 * accepted here as in MAIL (flag SMTP_PATH_F_NULL); the session decides.
 */
int
smtp_addr_parse_rcpt(const char *arg, size_t len, struct smtp_mailarg *out)
{
	return parse_args(arg, len, "TO:", out, PARAM_F_RCPT);
}

/* domain after the last '@': a name or an address literal */
static int
parse_domain(const char *d, size_t n, unsigned int *flags)
{
	size_t	 i;

	if (n == 0)
		return SMTP_E_ADDR;
	if (d[0] == '[') {
		/* loose: balanced brackets around [A-Za-z0-9.:-]+ */
		if (n < 3 || d[n - 1] != ']')
			return SMTP_E_ADDR;
		for (i = 1; i < n - 1; i++) {
			unsigned char c = (unsigned char)d[i];

			if (!((c >= 'A' && c <= 'Z') ||
			    (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == ':' ||
			    c == '-'))
				return SMTP_E_ADDR;
		}
		*flags |= SMTP_PATH_F_IPLIT;
		return SMTP_E_OK;
	}
	for (i = 0; i < n; i++)
		if (d[i] == '[' || d[i] == ']' || d[i] == '"' || d[i] == '\\')
			return SMTP_E_ADDR;
	return SMTP_E_OK;
}

/*
 * smtp_addr_parse_path -- parse one path, "<...>" or bare (then flag
 * SMTP_PATH_F_NOBRACKETS). "<>" is the null path (flag NULL, all fields
 * ""). A leading source route "@a,@b:" goes to route without the ':'.
 * The mailbox is split at the LAST unquoted '@': local keeps quotes and
 * backslashes as sent, domain may be an address literal "[...]".
 * Unquoted spaces are kept inside <> (Metasploit sends
 * "<u@host ESMTP Postfix>"), refused in a bare path.
 * "@domain" (no ':' after it, so no route) is a mailbox with an empty
 * local part: flag SMTP_PATH_F_NOLOCAL, for the persona to take (Postfix)
 * or refuse. Control bytes other than TAB, CR, LF and NUL flag
 * SMTP_PATH_F_CTRL, likewise the persona's to take (Postfix) or refuse.
 * Returns SMTP_E_OK, SMTP_E_ADDR (unbalanced <, > or quotes, TAB, CR, LF
 * or NUL, empty domain, bad route or literal) or
 * SMTP_E_TOOLONG (a field over SMTP_ADDR_MAX bytes).
 */
int
smtp_addr_parse_path(const char *p, size_t len, struct smtp_path *out)
{
	const unsigned char	*in;
	size_t			 n, i, mb, lat = 0, nat = 0, rb, re;
	bool			 inq = false, brackets;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return SMTP_E_ADDR;
	brackets = p[0] == '<';
	if (brackets) {
		if (len < 2 || p[len - 1] != '>')
			return SMTP_E_ADDR;
		in = (const unsigned char *)p + 1;
		n = len - 2;
	} else {
		out->flags |= SMTP_PATH_F_NOBRACKETS;
		in = (const unsigned char *)p;
		n = len;
	}
	for (i = 0; i < n; i++) {
		if (is_ctrl(in[i])) {
			/* blanks and line ends split the path for every MTA */
			if (in[i] == '\t' || in[i] == '\r' || in[i] == '\n' ||
			    in[i] == '\0')
				return SMTP_E_ADDR;
			out->flags |= SMTP_PATH_F_CTRL;
		}
		if (in[i] >= 0x80)
			out->flags |= SMTP_PATH_F_UTF8;
	}
	if (n == 0) {
		if (!brackets)
			return SMTP_E_ADDR;
		out->flags |= SMTP_PATH_F_NULL;
		return SMTP_E_OK;
	}

	/* A-d-l ":" (RFC 5321 4.1.2, accepted and ignored per appendix C) */
	mb = 0;
	if (in[0] == '@') {
		bool	 inlit = false;

		for (i = 0; i < n; i++) {
			if (in[i] == '[')
				inlit = true;
			else if (in[i] == ']')
				inlit = false;
			else if (!inlit && in[i] == ':')
				break;
		}
		if (i == n)
			goto mailbox;	/* no route: "@domain" */
		/* each element "@domain", separated by ',' */
		for (rb = 0; rb < i; rb = re + 1) {
			for (re = rb; re < i && in[re] != ','; re++)
				;
			if (in[rb] != '@' || re - rb < 2 ||
			    memchr(in + rb + 1, '@', re - rb - 1) != NULL)
				return SMTP_E_ADDR;
			if (parse_domain((const char *)in + rb + 1, re - rb - 1,
			    &(unsigned int){ 0 }) != SMTP_E_OK)
				return SMTP_E_ADDR;
		}
		if (copy_field(out->route, sizeof(out->route),
		    (const char *)in, i) == -1)
			return SMTP_E_TOOLONG;
		out->flags |= SMTP_PATH_F_ROUTE;
		mb = i + 1;
		if (mb == n)
			return SMTP_E_ADDR;
	}

mailbox:
	for (i = mb; i < n; i++) {
		switch (in[i]) {
		case '\\':
			if (++i == n)
				return SMTP_E_ADDR;
			break;
		case '"':
			inq = !inq;
			out->flags |= SMTP_PATH_F_QUOTED;
			break;
		case '@':
			if (!inq) {
				lat = i;
				nat++;
			}
			break;
		case '<':
		case '>':
			if (!inq)
				return SMTP_E_ADDR;
			break;
		case ' ':
			/*
			 * Metasploit's EXTENDED tests put the greedy banner
			 * capture "host ESMTP Postfix" after the '@': keep
			 * spaces inside <>, refuse them in a bare path.
			 */
			if (!inq && !brackets)
				return SMTP_E_ADDR;
			break;
		}
	}
	if (inq)
		return SMTP_E_ADDR;

	if (copy_field(out->addr, sizeof(out->addr), (const char *)in + mb,
	    n - mb) == -1)
		return SMTP_E_TOOLONG;
	if (nat == 0) {
		out->flags |= SMTP_PATH_F_NODOMAIN;
		lat = n;
	} else {
		if (lat == mb)
			out->flags |= SMTP_PATH_F_NOLOCAL;	/* "@domain" */
		if (nat > 1)
			out->flags |= SMTP_PATH_F_MULTI_AT;
		if (parse_domain((const char *)in + lat + 1, n - lat - 1,
		    &out->flags) != SMTP_E_OK)
			return SMTP_E_ADDR;
		if (copy_field(out->domain, sizeof(out->domain),
		    (const char *)in + lat + 1, n - lat - 1) == -1)
			return SMTP_E_TOOLONG;
	}
	if (copy_field(out->local, sizeof(out->local), (const char *)in + mb,
	    lat - mb) == -1)
		return SMTP_E_TOOLONG;
	if (memchr(out->local, '%', lat - mb) != NULL)
		out->flags |= SMTP_PATH_F_PERCENT;
	if (memchr(out->local, '!', lat - mb) != NULL)
		out->flags |= SMTP_PATH_F_BANG;
	if (lat - mb > RFC_LOCAL_MAX ||
	    (nat > 0 && n - lat - 1 > RFC_DOMAIN_MAX) || n + 2 > RFC_PATH_MAX)
		out->flags |= SMTP_PATH_F_LONG;
	return SMTP_E_OK;
}

/* Postfix's valid_ipv4_hostaddr(): four decimal parts, each 0..255 */
static bool
postfix_ipv4(const char *d, size_t n)
{
	size_t	 i, parts = 0, digits = 0;
	unsigned int v = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || d[i] == '.') {
			if (digits == 0 || v > 255 || ++parts > 4)
				return false;
			digits = v = 0;
			continue;
		}
		if (d[i] < '0' || d[i] > '9' || ++digits > 3)
			return false;
		v = v * 10 + (unsigned int)(d[i] - '0');
	}
	return parts == 4;
}

/*
 * smtp_addr_postfix_domain -- whether Postfix 3.7's smtpd takes domain d
 * (n bytes, after the last '@') in MAIL or RCPT: its valid_hostname() or
 * valid_mailhost_literal(). A name (one trailing dot ignored) has 1..255
 * bytes in labels of 1..63 letters, digits, '_' or '-' (not first or last
 * in a label) and is not all digits and dots; bytes >= 0x80 count as
 * letters only when utf8 (the transaction said SMTPUTF8). A literal is
 * "[a.b.c.d]" (each part 0..255) or "[IPv6:...]" with a valid IPv6
 * address. Measured against a real postfix 3.7.11 (test_smtp_addr.c).
 */
bool
smtp_addr_postfix_domain(const char *d, size_t n, bool utf8)
{
	char	 v6[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;
	size_t	 i, label = 0;
	bool	 nondigit = false;
	unsigned char c;

	if (n >= 2 && d[0] == '[' && d[n - 1] == ']') {
		if (n > 7 && strncasecmp(d + 1, "IPv6:", 5) == 0) {
			if (n - 7 >= sizeof(v6))
				return false;
			memcpy(v6, d + 6, n - 7);
			v6[n - 7] = '\0';
			return inet_pton(AF_INET6, v6, &a6) == 1;
		}
		return postfix_ipv4(d + 1, n - 2);
	}
	if (n > 1 && d[n - 1] == '.')
		n--;
	if (n == 0 || n > 255)
		return false;
	for (i = 0; i < n; i++) {
		c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (++label > 63)
			return false;
		if (c == '-') {
			if (label == 1)
				return false;
			nondigit = true;
		} else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    c == '_' || (utf8 && c >= 0x80))
			nondigit = true;
		else if (c < '0' || c > '9')
			return false;
	}
	return label > 0 && d[n - 1] != '-' && nondigit;
}
