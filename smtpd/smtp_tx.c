/*
 * smtp_tx.c -- one mail transaction: MAIL, RCPT, DATA, the message stream
 * into the spool, and the reply after the group commit. Runs in the SMTP
 * role. Addresses are parsed by smtp_addr.c, message bytes by smtp_data.c;
 * this file only decides and records. The 250 after DATA is sent only
 * from the committer's callback, when the message is durable in new/.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "buf.h"
#include "compat.h"
#include "evlog.h"
#include "jsonutil.h"
#include "log.h"
#include "smtp_session.h"
#include "xmalloc.h"

static void	 smtp_tx_emit(void *, const char *, size_t);
static void	 smtp_tx_committed(void *, const char *, int);

static const char *
body_name(enum smtp_body b)
{
	switch (b) {
	case SMTP_BODY_7BIT:
		return "7BIT";
	case SMTP_BODY_8BITMIME:
		return "8BITMIME";
	case SMTP_BODY_BINARYMIME:
		return "BINARYMIME";
	default:
		return NULL;
	}
}

static json_t *
path_flags_json(unsigned int f)
{
	static const struct {
		unsigned int	 flag;
		const char	*name;
	} names[] = {
		{ SMTP_PATH_F_NULL, "null" },
		{ SMTP_PATH_F_ROUTE, "route" },
		{ SMTP_PATH_F_QUOTED, "quoted" },
		{ SMTP_PATH_F_PERCENT, "percent" },
		{ SMTP_PATH_F_BANG, "bang" },
		{ SMTP_PATH_F_IPLIT, "ip_literal" },
		{ SMTP_PATH_F_MULTI_AT, "multi_at" },
		{ SMTP_PATH_F_NOBRACKETS, "no_brackets" },
		{ SMTP_PATH_F_NOLOCAL, "no_local_part" },
		{ SMTP_PATH_F_NODOMAIN, "no_domain" },
		{ SMTP_PATH_F_UTF8, "utf8" },
		{ SMTP_PATH_F_SPACE, "space" },
		{ SMTP_PATH_F_LONG, "long" },
		{ SMTP_PATH_F_CTRL, "control" },
	};
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].flag)
			json_array_append_new(a, json_string(names[i].name));
	return a;
}

/* one envelope address object from a parsed MAIL/RCPT argument */
static json_t *
addr_json(const struct smtp_cmd *c, const struct smtp_mailarg *ma)
{
	json_t	*o = json_object();

	json_object_set_new(o, "addr", jsu_str(ma->path.addr));
	if (ma->path.route[0] != '\0')
		json_object_set_new(o, "route", jsu_str(ma->path.route));
	json_object_set_new(o, "raw", jsu_bytes(c->arg, c->arglen));
	json_object_set_new(o, "flags", path_flags_json(ma->path.flags));
	return o;
}

/*
 * param_token -- the parameter "KEY[=value]" of a MAIL/RCPT argument as
 * the client sent it (printable), for the products that echo it whole
 * (PERSONA_Q_PARAM_TOKEN): the first word after the path whose keyword
 * is key. Falls back to key.
 */
static const char *
param_token(const struct smtp_cmd *c, const char *key, char *out,
    size_t outsz)
{
	const char *p = c->arg, *end = c->arg + c->arglen, *gt, *b;
	size_t	 klen = strlen(key);

	if ((gt = memchr(p, '>', c->arglen)) != NULL)
		p = gt + 1;
	else
		while (p < end && *p != ' ')	/* FROM:addr without <> */
			p++;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		for (b = p; p < end && *p != ' ' && *p != '\t'; p++)
			;
		/* a key of SMTP_PARAM_KEY_MAX bytes may be the start of one */
		if ((size_t)(p - b) >= klen && strncasecmp(b, key, klen) == 0 &&
		    (b + klen == p || b[klen] == '=' ||
		    klen == SMTP_PARAM_KEY_MAX))
			return smtp_arg_text(b, (size_t)(p - b), out, outsz);
	}
	return smtp_arg_text(key, klen, out, outsz);
}

/*
 * path_text -- the path of a MAIL/RCPT argument as the client wrote it,
 * for the products that echo it (PERSONA_Q_PATH_ECHO): after the ':' and
 * any white space, "<...>" through the first unquoted '>' (or to the end
 * when there is none), else the first word.
 */
static const char *
path_text(const struct smtp_cmd *c, char *out, size_t outsz)
{
	const char *p = c->arg, *end = c->arg + c->arglen, *b, *colon;
	bool	 inq = false;

	if ((colon = memchr(p, ':', c->arglen)) != NULL)
		p = colon + 1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	b = p;
	if (p < end && *p == '<') {
		for (p++; p < end; p++) {
			if (*p == '"')
				inq = !inq;
			else if (!inq && *p == '>') {
				p++;
				break;
			}
		}
	} else
		while (p < end && *p != ' ' && *p != '\t')
			p++;
	return smtp_arg_text(b, (size_t)(p - b), out, outsz);
}

/* keyword_text -- the word before ':' ("FROM", "TO"), as sendmail's
 * skipword() reports it */
static const char *
keyword_text(const struct smtp_cmd *c, char *out, size_t outsz)
{
	size_t	 n;

	for (n = 0; n < c->arglen && c->arg[n] != ':' && c->arg[n] != ' ' &&
	    c->arg[n] != '\t'; n++)
		;
	return smtp_arg_text(c->arg, n, out, outsz);
}

/*
 * path_error -- sendmail's reply to a path it cannot parse (parseaddr.c),
 * by what is wrong with the path text t; generic the reply of the rest.
 */
static enum persona_msg
path_error(const struct persona *p, const char *t, enum persona_msg generic)
{
	size_t	 n = strlen(t);

	if (!persona_has(p, PM_ADDR_UNBALANCED_LT))
		return generic;
	if (n > 0 && t[0] == '<' && strchr(t, '>') == NULL)
		return PM_ADDR_UNBALANCED_LT;
	if (n > 0 && t[0] != '<' && strchr(t, '>') != NULL)
		return PM_ADDR_UNBALANCED_GT;
	if (strcmp(t, "<@>") == 0 || strcmp(t, "@") == 0)
		return PM_ADDR_LIST;
	if (n > 1 && (t[n - 1] == '@' || (t[n - 1] == '>' && t[n - 2] == '@')))
		return PM_ADDR_NOHOST;
	return generic;
}

/* rest_text -- what follows the path of a MAIL/RCPT argument, trimmed */
static const char *
rest_text(const struct smtp_cmd *c, char *out, size_t outsz)
{
	char	 path[SMTP_ARG_TEXT_MAX];
	const char *p, *end = c->arg + c->arglen, *colon;
	size_t	 n;

	(void)path_text(c, path, sizeof(path));
	p = c->arg;
	if ((colon = memchr(p, ':', c->arglen)) != NULL)
		p = colon + 1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	n = strlen(path);
	p = (size_t)(end - p) > n ? p + n : end;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return smtp_arg_text(p, (size_t)(end - p), out, outsz);
}

/*
 * exim_unknown -- Exim takes MAIL's options from the end of the line
 * (extract_option()) and stops at the first it does not know, so what
 * "may not follow" the path is rest (what follows it) without the known
 * options at its end. Cuts rest in place.
 */
static char *
exim_unknown(char *rest)
{
	static const char *const known[] = { "SIZE", "BODY", "AUTH", "RET",
	    "ENVID", "PRDR", "SMTPUTF8", NULL };
	const char *const *k;
	char	*sp, *w;
	size_t	 n;

	for (;;) {
		if ((sp = strrchr(rest, ' ')) == NULL)
			return rest;
		w = sp + 1;
		n = strcspn(w, "=");
		for (k = known; *k != NULL; k++)
			if (strlen(*k) == n && strncasecmp(w, *k, n) == 0)
				break;
		if (*k == NULL)
			return rest;
		while (sp > rest && sp[-1] == ' ')
			sp--;
		*sp = '\0';
	}
}

/*
 * exim_text -- Exim's "<path>: reason" for a MAIL/RCPT argument it
 * refuses (parse_extract_address(), texts read from a real exim 4.96):
 * with tok non-NULL (a parameter it does not take) "<path> REST:
 * malformed address: REST may not follow <path> ", REST being all that
 * follows the path, cut to 32 bytes the second time (the trailing space
 * is Exim's); else the reason by
 * what is wrong with the path.
 */
static const char *
exim_text(const struct smtp_cmd *c, const char *tok, char *out,
    size_t outsz)
{
	char	 path[SMTP_ARG_TEXT_MAX];
	const char *t = path_text(c, path, sizeof(path)), *gt, *at;
	size_t	 n = strlen(t);

	if (tok != NULL) {
		char	 rest[SMTP_ARG_TEXT_MAX];

		(void)rest_text(c, rest, sizeof(rest));
		tok = exim_unknown(rest);
		/* [verified] Exim shows 32 bytes of what may not follow */
		if (snprintf(out, outsz, "%s %s: malformed address: %.32s may "
		    "not follow %s ", t, tok, tok, t) >= (int)outsz)
			log_debug("exim address error text cut to %zu bytes",
			    outsz - 1);
		return out;
	}
	gt = strchr(t, '>');
	at = strrchr(t, '@');
	/* [verified] "<a@" lacks its domain before its '>' */
	if (n > 0 && t[0] == '<' && gt == NULL && at != NULL &&
	    at[1] == '\0' && at != t + 1)
		(void)snprintf(out, outsz, "%s: domain missing or malformed",
		    t);
	else if (n > 0 && t[0] == '<' && gt == NULL)
		(void)snprintf(out, outsz, "%s: '>' missing at end of address",
		    t);
	else if (n > 0 && t[0] != '<' && gt != NULL)
		(void)snprintf(out, outsz, "%s: malformed address: %s may not "
		    "follow %.*s", t, gt, (int)(gt - t), t);
	else if (n > 1 && (t[0] == '@' || (t[0] == '<' && t[1] == '@')))
		(void)snprintf(out, outsz, "%s: no local part", t);
	else if (at != NULL && (at[1] == '\0' || at[1] == '>'))
		(void)snprintf(out, outsz, "%s: domain missing or malformed", t);
	else
		(void)snprintf(out, outsz, "%s: malformed address", t);
	return out;
}

/*
 * parse_error -- the persona's reply to a MAIL (mail true) or RCPT
 * argument that smtp_addr.c refused with rc, and its %a.
 */
static enum persona_msg
parse_error(struct smtp_session *s, const struct smtp_cmd *c,
    const struct smtp_mailarg *ma, int rc, bool mail, char *txt, size_t txtsz,
    const char **arg)
{
	const struct persona *p = s->srv->persona;
	const char *k = ma->err_param;
	enum persona_msg m;

	*arg = smtp_arg_text(c->arg, c->arglen, txt, txtsz);
	if (persona_quirk(p, PERSONA_Q_EXIM_ADDR) && rc == SMTP_E_PARAM_VALUE &&
	    mail) {
		/* [verified] "501 invalid data for BODY" */
		*arg = smtp_arg_text(k, strlen(k), txt, txtsz);
		return PM_MAIL_BADVALUE;
	}
	if (persona_quirk(p, PERSONA_Q_EXIM_ADDR) && rc != SMTP_E_SYNTAX &&
	    rc != SMTP_E_EMPTY) {
		char	 tok[SMTP_ARG_TEXT_MAX];

		if (rc == SMTP_E_PARAM || rc == SMTP_E_PARAM_VALUE) {
			*arg = exim_text(c, param_token(c, k, tok,
			    sizeof(tok)), txt, txtsz);
			return mail ? PM_MAIL_BADPARAM : PM_RCPT_BADPARAM;
		}
		*arg = exim_text(c, NULL, txt, txtsz);
		return mail ? PM_MAIL_BADADDR : PM_RCPT_BADADDR;
	}
	switch (rc) {
	case SMTP_E_PARAM:
		if (persona_quirk(p, PERSONA_Q_PARAM_TOKEN)) {
			*arg = param_token(c, k, txt, txtsz);
		} else if (strlen(k) == SMTP_PARAM_KEY_MAX) {
			/* the whole keyword, as Sendmail names it */
			*arg = param_token(c, k, txt, txtsz);
			txt[strcspn(txt, "=")] = '\0';
		} else {
			*arg = k;
		}
		return mail ? PM_MAIL_BADPARAM : PM_RCPT_BADPARAM;
	case SMTP_E_PARAM_VALUE:
		if (mail && strcasecmp(k, "SIZE") == 0)
			return PM_MAIL_BADSIZE;
		/* Postfix knows BODY and SMTPUTF8 only in the forms it takes */
		if (persona_quirk(p, PERSONA_Q_PARAM_TOKEN) &&
		    (strcasecmp(k, "BODY") == 0 ||
		    strcasecmp(k, "SMTPUTF8") == 0)) {
			*arg = param_token(c, k, txt, txtsz);
			return mail ? PM_MAIL_BADPARAM : PM_RCPT_BADPARAM;
		}
		m = mail ? PM_MAIL_BADVALUE : PM_RCPT_BADVALUE;
		if (persona_has(p, m)) {
			*arg = smtp_arg_text(k, strlen(k), txt, txtsz);
			return m;
		}
		return mail ? PM_MAIL_BADSIZE : PM_SYNTAX;
	case SMTP_E_SYNTAX:
	case SMTP_E_EMPTY:
		if (persona_quirk(p, PERSONA_Q_PATH_ECHO))
			*arg = keyword_text(c, txt, txtsz);
		return mail ? PM_MAIL_SYNTAX : PM_RCPT_SYNTAX;
	default:
		m = mail ? PM_MAIL_BADADDR : PM_RCPT_BADADDR;
		if (!persona_quirk(p, PERSONA_Q_PATH_ECHO))
			return m;
		*arg = path_text(c, txt, txtsz);
		return path_error(p, *arg, m);
	}
}

/*
 * param_checks -- what a product refuses in an argument smtp_addr.c
 * took: a DSN parameter given twice (Postfix: "Bad RET parameter
 * syntax"...), BODY=BINARYMIME where BINARYMIME is not offered. Returns
 * the reply, or PM_COUNT when there is none; *arg is its %a.
 */
static enum persona_msg
param_checks(struct smtp_session *s, const struct smtp_cmd *c,
    const struct smtp_mailarg *ma, bool mail, char *txt, size_t txtsz,
    const char **arg)
{
	static const char *const once_mail[] = { "RET", "ENVID", NULL };
	static const char *const once_rcpt[] = { "NOTIFY", "ORCPT", NULL };
	const struct persona *p = s->srv->persona;
	enum persona_msg m = mail ? PM_MAIL_BADVALUE : PM_RCPT_BADVALUE;
	const char *const *k;
	size_t	 i, n;

	if (persona_quirk(p, PERSONA_Q_EXIM_ADDR) && ma->nparams > 0) {
		/*
		 * Exim takes parameters only after EHLO, and none on RCPT
		 * (NOTIFY and ORCPT need DSN, which it does not offer)
		 */
		if (!s->esmtp || !mail) {
			*arg = exim_text(c, "", txt, txtsz);
			return mail ? PM_MAIL_BADPARAM : PM_RCPT_BADPARAM;
		}
	}
	if (mail && ma->smtputf8 && persona_has(p, PM_MAIL_SMTPUTF8)) {
		*arg = NULL;
		return PM_MAIL_SMTPUTF8;	/* Exim: not offered */
	}
	if (persona_quirk(p, PERSONA_Q_PARAM_TOKEN) &&
	    ma->body == SMTP_BODY_BINARYMIME) {
		*arg = param_token(c, "BODY", txt, txtsz);
		return mail ? PM_MAIL_BADPARAM : PM_RCPT_BADPARAM;
	}
	if (!persona_has(p, m) || persona_quirk(p, PERSONA_Q_EXIM_ADDR))
		return PM_COUNT;	/* Exim takes a DSN parameter twice */
	for (k = mail ? once_mail : once_rcpt; *k != NULL; k++) {
		for (i = n = 0; i < ma->nparams; i++)
			if (strcmp(ma->params[i].key, *k) == 0)
				n++;
		if (n > 1) {
			*arg = *k;
			return m;
		}
	}
	return PM_COUNT;
}

/*
 * local_ok -- the parse result rc, or SMTP_E_ADDR for a path with an empty
 * local part ("@domain") or with control bytes where the product refuses
 * one (all but Postfix; Postfix's domain check refuses them after '@').
 */
static int
local_ok(struct smtp_session *s, const struct smtp_mailarg *ma, int rc)
{
	if (rc == SMTP_E_OK && (ma->path.flags & SMTP_PATH_F_NOLOCAL) &&
	    !persona_quirk(s->srv->persona, PERSONA_Q_EMPTY_LOCAL))
		return SMTP_E_ADDR;
	if (rc == SMTP_E_OK && (ma->path.flags & SMTP_PATH_F_CTRL) &&
	    !persona_quirk(s->srv->persona, PERSONA_Q_CTRL_LOCAL))
		return SMTP_E_ADDR;
	return rc;
}

/*
 * domain_ok -- false if the persona refuses the path's domain as its
 * product would (PERSONA_Q_DOMAIN_SYNTAX); utf8: the transaction said
 * SMTPUTF8.
 */
static bool
domain_ok(struct smtp_session *s, const struct smtp_path *p, bool utf8)
{
	if (!persona_quirk(s->srv->persona, PERSONA_Q_DOMAIN_SYNTAX) ||
	    (p->flags & (SMTP_PATH_F_NULL | SMTP_PATH_F_NODOMAIN)))
		return true;
	return smtp_addr_postfix_domain(p->domain, strlen(p->domain), utf8);
}

/* how smtp_addr_parse_mail_as() reads MAIL for this persona */
static unsigned int
mail_how(const struct smtp_session *s)
{
	/* PRDR is a parameter only where the product offers it */
	return (persona_has(s->srv->persona, PM_MAIL_PRDR) ?
	    SMTP_ADDR_PRDR : 0) | (persona_quirk(s->srv->persona,
	    PERSONA_Q_EXIM_ADDR) ? SMTP_ADDR_EXIM : 0);
}

/*
 * addr_utf8 -- whether the domain of a MAIL (mail true, as parsed into
 * ma) or RCPT argument may be UTF-8: the transaction said SMTPUTF8.
 */
static bool
addr_utf8(const struct smtp_session *s, const struct smtp_mailarg *ma,
    bool mail)
{
	return mail ? ma->smtputf8 : json_is_true(json_object_get(
	    s->tx->mail_from, "smtputf8"));
}

/* the parse result rc says the path itself was read */
static bool
path_read(int rc)
{
	return rc == SMTP_E_OK || rc == SMTP_E_PARAM ||
	    rc == SMTP_E_PARAM_VALUE;
}

/*
 * reparse -- parse MAIL (mail true) or RCPT again as kw "<" addr ">" and
 * the parameters of c from offset end of its argument. Returns the
 * parse result, *out filled.
 */
static int
reparse(struct smtp_session *s, const struct smtp_cmd *c, bool mail,
    const char *addr, size_t end, struct smtp_mailarg *out)
{
	const char *kw = mail ? "FROM:" : "TO:";
	size_t	 n, cap;
	char	*line;
	int	 rc;

	cap = strlen(kw) + strlen(addr) + 2 + (c->arglen - end) + 1;
	line = xmalloc(cap);
	n = (size_t)snprintf(line, cap, "%s<%s>%.*s", kw, addr,
	    (int)(c->arglen - end), c->arg + end);
	rc = mail ? smtp_addr_parse_mail_as(line, n, out, mail_how(s)) :
	    smtp_addr_parse_rcpt(line, n, out);
	free(line);
	return rc;
}

/*
 * postfix_path -- p as the mailbox addr (not "") that Postfix read but
 * no RFC 5321 path can carry ("<@d.example@>", "<a;b\"@>"): split at
 * its last '@', flagged as such an address would be.
 */
static void
postfix_path(struct smtp_path *p, const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t	 n = at != NULL ? (size_t)(at - addr) : strlen(addr);

	memset(p, 0, sizeof(*p));
	(void)snprintf(p->addr, sizeof(p->addr), "%s", addr);
	(void)snprintf(p->local, sizeof(p->local), "%.*s", (int)n, addr);
	if (at != NULL)
		(void)snprintf(p->domain, sizeof(p->domain), "%s", at + 1);
	else
		p->flags |= SMTP_PATH_F_NODOMAIN;
	if (n == 0)
		p->flags |= SMTP_PATH_F_NOLOCAL;
	if (at != NULL && memchr(addr, '@', n) != NULL)
		p->flags |= SMTP_PATH_F_MULTI_AT;
	if (memchr(addr, '%', n) != NULL)
		p->flags |= SMTP_PATH_F_PERCENT;
	if (memchr(addr, '!', n) != NULL)
		p->flags |= SMTP_PATH_F_BANG;
	for (; *addr != '\0'; addr++) {
		if ((unsigned char)*addr >= 0x80)
			p->flags |= SMTP_PATH_F_UTF8;
		else if ((unsigned char)*addr < 0x20 || *addr == 0x7f)
			p->flags |= SMTP_PATH_F_CTRL;
	}
}

/*
 * tok822_reading -- for a persona that reads addresses as Postfix does
 * (PERSONA_Q_TOK822): its verdict on the MAIL (mail true) or RCPT
 * argument, parsed by smtp_addr.c into *ma with result *rc. An address
 * Postfix refuses, for its syntax or for the domain of what it read,
 * gets *_BADADDR (returns true: replied). One Postfix takes but
 * smtp_addr.c did not ("<a@b.example (x)>", "<>b@c>") is parsed again
 * in the form Postfix reads it, "<address>" and the same parameters,
 * into *ma and *rc; an address no path can carry is put in *ma as it is
 * (postfix_path). If the parameters fail even then, the first parse
 * stands. *judged is set when the address was judged here, domain and
 * all.
 */
static bool
tok822_reading(struct smtp_session *s, const struct smtp_cmd *c,
    struct smtp_mailarg *ma, int *rc, bool mail, bool *judged)
{
	const char *kw = mail ? "FROM:" : "TO:";
	size_t	 kwlen = strlen(kw), end;
	char	 addr[SMTP_ADDR_MAX + 1], dom[SMTP_PFADDR_DOMAIN_MAX];
	struct smtp_mailarg again;
	int	 v, rc2;
	bool	 utf8;

	if (!persona_quirk(s->srv->persona, PERSONA_Q_TOK822) ||
	    c->arglen < kwlen || strncasecmp(c->arg, kw, kwlen) != 0)
		return false;
	v = smtp_pfaddr_read(c->arg + kwlen, c->arglen - kwlen, mail, addr,
	    sizeof(addr), &end);
	if (v == SMTP_PFADDR_NONE || v == SMTP_PFADDR_LONG)
		return false;
	if (v == SMTP_PFADDR_OK && !(path_read(*rc) &&
	    local_ok(s, ma, *rc) == *rc &&
	    domain_ok(s, &ma->path, addr_utf8(s, ma, mail)))) {
		rc2 = reparse(s, c, mail, addr, kwlen + end, &again);
		if (!path_read(rc2) && addr[0] != '\0' &&
		    path_read(rc2 = reparse(s, c, mail, "x@x", kwlen + end,
		    &again)))
			postfix_path(&again.path, addr);
		if (path_read(rc2)) {
			*ma = again;
			*rc = rc2;
		}
	}
	/* Postfix judges the domain its resolver is left with */
	utf8 = (!mail || path_read(*rc)) && addr_utf8(s, ma, mail);
	if (v == SMTP_PFADDR_BAD || (addr[0] != '\0' &&
	    smtp_pfaddr_domain(addr, dom, sizeof(dom)) &&
	    !smtp_addr_postfix_domain(dom, strlen(dom), utf8))) {
		smtp_error(s, mail ? PM_MAIL_BADADDR : PM_RCPT_BADADDR, NULL);
		return true;
	}
	*judged = true;
	return false;
}

/*
 * addr_refused -- the checks of a parsed MAIL (mail true) or RCPT argument
 * (parse result rc) that end in the persona's error reply: the address as
 * the product reads it, the parse, the local part, the domain, the
 * parameters. *ma may be replaced by the product's reading (see
 * tok822_reading). Returns true when it replied.
 */
static bool
addr_refused(struct smtp_session *s, const struct smtp_cmd *c,
    struct smtp_mailarg *ma, int rc, bool mail)
{
	char	 txt[SMTP_ARG_TEXT_MAX];
	const char *arg;
	enum persona_msg m;
	bool	 judged = false;

	if (tok822_reading(s, c, ma, &rc, mail, &judged))
		return true;
	if ((rc = local_ok(s, ma, rc)) != SMTP_E_OK) {
		m = parse_error(s, c, ma, rc, mail, txt, sizeof(txt), &arg);
		smtp_error(s, m, arg);
		return true;
	}
	if (!judged && !domain_ok(s, &ma->path, addr_utf8(s, ma, mail))) {
		smtp_error(s, mail ? PM_MAIL_BADADDR : PM_RCPT_BADADDR, NULL);
		return true;
	}
	if ((m = param_checks(s, c, ma, mail, txt, sizeof(txt), &arg)) !=
	    PM_COUNT) {
		smtp_error(s, m, arg);
		return true;
	}
	return false;
}

/*
 * smtp_tx_mail -- MAIL FROM in state IDLE: parse, check SIZE against the
 * cap, start a transaction. Every syntactically possible sender is taken.
 */
void
smtp_tx_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_mailarg ma;
	struct smtp_tx *tx;
	json_t	*o;
	char	 esc[LOG_ESC_MAX], txt[SMTP_ARG_TEXT_MAX];
	int	 rc;

	rc = smtp_addr_parse_mail_as(c->arg, c->arglen, &ma, mail_how(s));
	if (addr_refused(s, c, &ma, rc, true))
		return;
	if (ma.size > s->srv->size_limit) {
		smtp_reply(s, PM_MAIL_TOOBIG, NULL);
		return;
	}
	smtp_path_findings(s, ma.path.flags);
	tx = xcalloc(1, sizeof(*tx));
	clock_gettime(CLOCK_REALTIME, &tx->t_mail);
	o = addr_json(c, &ma);
	if (ma.size >= 0)
		json_object_set_new(o, "size", json_integer(ma.size));
	if (body_name(ma.body) != NULL)
		json_object_set_new(o, "body", json_string(body_name(ma.body)));
	json_object_set_new(o, "smtputf8", json_boolean(ma.smtputf8));
	if (ma.prdr)
		json_object_set_new(o, "prdr", json_true());
	tx->prdr = ma.prdr;
	tx->mail_from = o;
	tx->rcpts = json_array();
	s->tx = tx;
	smtp_enter_state(s, SMTP_S_MAIL);
	log_debug("%s smtp mail from=%s", s->id,
	    log_esc(ma.path.addr, strlen(ma.path.addr), esc, sizeof(esc)));
	smtp_reply(s, ma.prdr ? PM_MAIL_PRDR : PM_MAIL_OK,
	    persona_quirk(s->srv->persona, PERSONA_Q_PATH_ECHO) ?
	    path_text(c, txt, sizeof(txt)) :
	    json_string_value(json_object_get(o, "addr")));
}

/*
 * smtp_tx_rcpt -- RCPT TO inside a transaction: every recipient for
 * every domain is accepted, up to max_recipients and max_recipient_bytes
 * (the envelope a session holds in memory).
 */
void
smtp_tx_rcpt(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_mailarg ma;
	json_t	*o;
	char	 txt[SMTP_ARG_TEXT_MAX];
	int	 rc;

	rc = smtp_addr_parse_rcpt(c->arg, c->arglen, &ma);
	if (addr_refused(s, c, &ma, rc, false))
		return;
	/* <> is no recipient: the products that say so */
	if ((ma.path.flags & SMTP_PATH_F_NULL) &&
	    persona_has(s->srv->persona, PM_RCPT_NULL)) {
		smtp_error(s, PM_RCPT_NULL, NULL);
		return;
	}
	if (s->tx->nrcpt >= (size_t)s->srv->conf->max_recipients ||
	    s->tx->rcptbytes + c->arglen >
	    (size_t)s->srv->conf->max_recipient_bytes) {
		smtp_reply(s, PM_RCPT_TOO_MANY, NULL);
		return;
	}
	smtp_path_findings(s, ma.path.flags);
	o = addr_json(c, &ma);
	json_array_append_new(s->tx->rcpts, o);
	s->tx->nrcpt++;
	s->tx->rcptbytes += c->arglen;
	smtp_enter_state(s, SMTP_S_RCPT);
	smtp_reply(s, PM_RCPT_OK, persona_quirk(s->srv->persona,
	    PERSONA_Q_PATH_ECHO) ? path_text(c, txt, sizeof(txt)) :
	    json_string_value(json_object_get(o, "addr")));
}

/*
 * smtp_tx_open -- open the transaction's spool file for its content.
 * Returns false if the spool cannot take one: the errno is kept in
 * tx->write_errno for the caller's reply (smtp_tx_spool_reply()).
 */
bool
smtp_tx_open(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if ((tx->msg = queue_msg_new(s->srv->queue)) == NULL) {
		tx->write_errno = errno ? errno : EIO;
		log_warn("%s smtp: cannot create a message in the spool",
		    s->id);
		return false;
	}
	clock_gettime(CLOCK_REALTIME, &tx->t_data);
	return true;
}

/*
 * smtp_tx_spool_reply -- the reply to a spool that cannot take the
 * message (errno e): 452 when it is full, else 451.
 */
enum persona_msg
smtp_tx_spool_reply(int e)
{
	return (e == ENOSPC || e == EDQUOT) ? PM_DATA_NOSPACE :
	    PM_DATA_TEMPFAIL;
}

/*
 * smtp_tx_data -- DATA with recipients: open the spool file and say 354.
 * A spool that cannot take a file gets 452 (full) or 451 (other).
 */
void
smtp_tx_data(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_tx *tx = s->tx;

	if (!smtp_tx_open(s)) {
		smtp_reply(s, smtp_tx_spool_reply(tx->write_errno), NULL);
		smtp_tx_free(s);
		smtp_enter_state(s, SMTP_S_IDLE);
		return;
	}
	/* RFC 5321 4.5.3.1.6: a text line is at most 1000 octets with CRLF */
	smtp_data_init(&tx->data, SMTP_DATA_TEXT_LINE_MAX);
	if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
		smtp_finding(s, SMTP_F_PIPELINING_AFTER_DATA);
	smtp_reply(s, PM_DATA_GO, NULL);
	smtp_enter_state(s, SMTP_S_DATA);
	smtp_session_set_timeout(s);
}

static void
smtp_tx_emit(void *arg, const char *p, size_t n)
{
	smtp_tx_write(arg, p, n);
}

/*
 * smtp_tx_write -- n more bytes of the message into the open spool file,
 * up to the size limit (past it tx->too_big); the first write error is
 * kept in tx->write_errno and answered at the end.
 */
void
smtp_tx_write(struct smtp_session *s, const char *p, size_t n)
{
	struct smtp_tx *tx = s->tx;

	if (tx->too_big || tx->write_errno != 0)
		return;
	if (queue_msg_size(tx->msg) + n >
	    (uint64_t)s->srv->size_limit) {
		tx->too_big = true;
		return;
	}
	if (queue_msg_write(tx->msg, p, n) == -1)
		tx->write_errno = errno ? errno : EIO;
}

/*
 * smtp_tx_feed -- n bytes of DATA content; returns how many were used.
 * At the terminator the message is closed and handed to the committer.
 */
size_t
smtp_tx_feed(struct smtp_session *s, const char *p, size_t n)
{
	bool	 done = false;
	size_t	 used;

	used = smtp_data_feed(&s->tx->data, p, n, smtp_tx_emit, s, &done);
	if (done)
		smtp_tx_done(s);
	return used;
}

static void
data_findings(struct smtp_session *s, uint32_t f)
{
	static const struct {
		uint32_t	 flag;
		enum smtp_finding finding;
	} map[] = {
		{ SMTP_DATA_F_BARE_LF, SMTP_F_BARE_LF },
		{ SMTP_DATA_F_BARE_CR, SMTP_F_BARE_CR },
		{ SMTP_DATA_F_NUL, SMTP_F_NUL },
		{ SMTP_DATA_F_LONG_LINE, SMTP_F_LONG_LINE },
		{ SMTP_DATA_F_SMUGGLE_LF_DOT_CRLF, SMTP_F_SMUGGLE_LF_DOT_CRLF },
		{ SMTP_DATA_F_SMUGGLE_CR_DOT_CRLF, SMTP_F_SMUGGLE_CR_DOT_CRLF },
		{ SMTP_DATA_F_SMUGGLE_LF_DOT_LF, SMTP_F_SMUGGLE_LF_DOT_LF },
		{ SMTP_DATA_F_SMUGGLE_CRLF_DOT_LF, SMTP_F_SMUGGLE_CRLF_DOT_LF },
		{ SMTP_DATA_F_8BIT, SMTP_F_8BIT_DATA },
	};
	size_t	 i, bit;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!(f & map[i].flag))
			continue;
		for (bit = 0; bit < SMTP_DATA_NFLAGS; bit++)
			if ((1u << bit) == map[i].flag)
				break;
		if (bit < SMTP_DATA_NFLAGS && s->tx->data.counts[bit] > 0)
			s->findings[map[i].finding] += s->tx->data.counts[bit];
		else
			smtp_finding(s, map[i].finding);
	}
}

/* the envelope of the message ending now (docs/SPOOL.md) */
static json_t *
smtp_tx_envelope(struct smtp_session *s, const char *qid)
{
	struct smtp_tx *tx = s->tx;
	struct timespec now;
	json_t	*env, *ts;

	clock_gettime(CLOCK_REALTIME, &now);
	env = smtp_record_conn(s);
	json_object_set_new(env, "version", json_integer(QUEUE_ENVELOPE_VERSION));
	json_object_set_new(env, "id", json_string(queue_msg_id(tx->msg)));
	json_object_set_new(env, "session", json_string(s->id));
	json_object_set_new(env, "received", smtp_time_json(&now));
	json_object_set_new(env, "queue_id", json_string(qid));
	json_object_set(env, "mail_from", tx->mail_from);
	json_object_set(env, "rcpt", tx->rcpts);
	ts = json_object();
	json_object_set_new(ts, "connect", smtp_time_json(&s->t_start));
	json_object_set_new(ts, "mail", smtp_time_json(&tx->t_mail));
	json_object_set_new(ts, "data", smtp_time_json(&tx->t_data));
	json_object_set_new(ts, "end", smtp_time_json(&now));
	json_object_set_new(env, "timestamps", ts);
	json_object_set_new(env, "findings", smtp_record_findings(s));
	/* this message's part: since the previous message (or connect) */
	json_object_set_new(env, "transcript", smtp_record_transcript(s,
	    s->transcript_mark));
	json_object_set_new(env, "transcript_truncated",
	    json_boolean(s->transcript_truncated));
	if (tx->bdat)
		json_object_set_new(env, "chunks",
		    json_integer((json_int_t)tx->chunks));
	return env;
}

/*
 * smtp_tx_done -- the message's content is complete (the DATA terminator,
 * or the last BDAT chunk): close the spool file and hand it to the
 * committer; the reply comes from smtp_tx_committed(). A message over the
 * size limit or not written gets its error reply now.
 */
void
smtp_tx_done(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	char	 qid[PERSONA_QID_MAX], note[64];
	json_t	*env;
	int	 n;

	if (tx->bdat) {
		/* what the DATA parser would have found, from the chunks */
		memcpy(tx->data.counts, tx->bcount.counts,
		    sizeof(tx->data.counts));
		tx->data.flags = tx->bcount.flags;
		tx->data.out_bytes = queue_msg_size(tx->msg);
	} else {
		n = snprintf(note, sizeof(note), "<DATA %llu bytes>",
		    (unsigned long long)tx->data.out_bytes);
		smtp_transcript(s, 'C', note, (size_t)n);
		smtp_transcript(s, 'C', ".", 1);
	}
	data_findings(s, tx->data.flags);
	if (tx->too_big) {
		log_info("%s smtp message rejected reason=size bytes=%llu",
		    s->id, (unsigned long long)tx->data.out_bytes);
		smtp_tx_free(s);
		smtp_enter_state(s, SMTP_S_IDLE);
		smtp_reply(s, PM_DATA_TOOBIG, NULL);
		return;
	}
	persona_queue_id(s->srv->persona, time(NULL), ++s->srv->qid_seq, qid,
	    sizeof(qid));
	env = NULL;
	if (tx->write_errno == 0) {
		env = smtp_tx_envelope(s, qid);
		if (queue_msg_close(tx->msg, env) == -1)
			tx->write_errno = errno ? errno : EIO;
	}
	if (tx->write_errno != 0) {
		int	 e = tx->write_errno;

		errno = e;
		log_warn("%s smtp: cannot write message to the spool", s->id);
		json_decref(env);
		smtp_tx_free(s);
		smtp_enter_state(s, SMTP_S_IDLE);
		smtp_reply(s, smtp_tx_spool_reply(e), NULL);
		return;
	}
	/* the callback needs the envelope (read only now) and the queue id */
	(void)strlcpy(tx->qid, qid, sizeof(tx->qid));
	json_decref(tx->mail_from);
	tx->mail_from = env;		/* owned by tx until the callback */
	smtp_enter_state(s, SMTP_S_WAIT_COMMIT);
	s->commit_pending = true;
	/* input that arrives meanwhile waits in the buffer (smtp_input) */
	queue_committer_submit(s->srv->committer, tx->msg, smtp_tx_committed, s);
	tx->msg = NULL;
}

/*
 * prdr_reply -- the replies after a message whose MAIL asked for PRDR
 * (Exim) with more than one recipient: PRDR_BEGIN, a PRDR_RCPT for each,
 * PRDR_OK, in one write. False if that is not the case, the persona has
 * no PRDR or they do not fit.
 */
static bool
prdr_reply(struct smtp_session *s, const char *qid)
{
	const struct persona *p = s->srv->persona;
	struct persona_vars v;
	struct buf *b;
	char	 out[PERSONA_REPLY_MAX], txt[SMTP_ARG_TEXT_MAX];
	const char *a;
	json_t	*r;
	size_t	 i, n;
	bool	 ok = true;

	/* [verified] exim 4.96: with one recipient, the usual reply */
	if (!s->tx->prdr || s->tx->nrcpt < 2 || !persona_has(p, PM_PRDR_BEGIN))
		return false;
	b = buf_new(1024, SMTP_PRDR_REPLY_MAX);
	smtp_vars(s, &v, NULL);
	v.queue_id = qid;
	n = persona_reply(p, PM_PRDR_BEGIN, &v, out, sizeof(out));
	ok = n > 0 && buf_add(b, out, n) == 0;
	json_array_foreach(s->tx->rcpts, i, r) {
		a = json_string_value(json_object_get(r, "addr"));
		v.arg = smtp_arg_text(a, a != NULL ? strlen(a) : 0, txt,
		    sizeof(txt));
		n = persona_reply(p, PM_PRDR_RCPT, &v, out, sizeof(out));
		ok = ok && n > 0 && buf_add(b, out, n) == 0;
	}
	v.arg = NULL;
	n = persona_reply(p, PM_PRDR_OK, &v, out, sizeof(out));
	ok = ok && n > 0 && buf_add(b, out, n) == 0;
	if (ok)
		smtp_reply_raw(s, b->data, b->len);
	buf_free(b);
	return ok;
}

/*
 * accepted_reply -- the reply to a message now durable: after PRDR,
 * after chunks (the size as the product counts it), or after DATA.
 */
static void
accepted_reply(struct smtp_session *s, const char *qid)
{
	struct smtp_tx *tx = s->tx;
	char	 size[24], last[24];
	uint64_t n;

	if (prdr_reply(s, qid))
		return;
	if (!tx->bdat) {
		smtp_reply_qid(s, PM_DATA_OK, qid);
		return;
	}
	n = persona_quirk(s->srv->persona, PERSONA_Q_EXIM_BDAT) ?
	    smtp_bdat_xcount_end(&tx->xcount) : smtp_bdat_count_end(&tx->bcount);
	(void)snprintf(size, sizeof(size), "%llu", (unsigned long long)n);
	(void)snprintf(last, sizeof(last), "%llu",
	    (unsigned long long)tx->lastchunk);
	smtp_reply_qid_args(s, PM_BDAT_QUEUED, qid, size, last);
}

/* the committer says the message is durable (error 0) or lost */
static void
smtp_tx_committed(void *arg, const char *id, int error)
{
	struct smtp_session *s = arg;
	struct smtp_tx *tx = s->tx;
	json_t	*env = tx->mail_from, *ev;
	char	 qid[PERSONA_QID_MAX], esc[LOG_ESC_MAX];
	const char *from;

	s->commit_pending = false;
	(void)strlcpy(qid, tx->qid, sizeof(qid));
	if (error != 0) {
		errno = error;
		log_warn("%s smtp: commit of message %s failed", s->id, id);
		smtp_tx_free(s);
		if (!s->dead) {
			smtp_enter_state(s, SMTP_S_IDLE);
			smtp_reply(s, smtp_tx_spool_reply(error), NULL);
		}
	} else {
		if (s->messages == NULL)
			s->messages = json_array();
		json_array_append_new(s->messages, json_string(id));
		from = json_string_value(json_object_get(json_object_get(env,
		    "mail_from"), "addr"));
		log_info("%s smtp message id=%s qid=%s from=%s nrcpt=%zu "
		    "size=%lld", s->id, id, qid,
		    log_esc(from, from ? strlen(from) : 0, esc, sizeof(esc)),
		    tx->nrcpt, (long long)json_integer_value(json_object_get(env,
		    "size")));
		ev = json_object();
		json_object_set_new(ev, "id", json_string(id));
		json_object_set_new(ev, "session", json_string(s->id));
		json_object_set(ev, "client", json_object_get(env, "client"));
		json_object_set(ev, "from", json_object_get(json_object_get(env,
		    "mail_from"), "addr"));
		{
			json_t	*r = json_array(), *v;
			size_t	 i;

			json_array_foreach(json_object_get(env, "rcpt"), i, v)
				json_array_append(r, json_object_get(v, "addr"));
			json_object_set_new(ev, "rcpt", r);
		}
		json_object_set(ev, "size", json_object_get(env, "size"));
		json_object_set(ev, "sha256", json_object_get(env, "sha256"));
		json_object_set(ev, "queue_id", json_object_get(env, "queue_id"));
		evlog_emit("message", ev);
		/* the worker hears of it once it is in new/ (stored_cb) */
		if (!s->dead) {
			smtp_enter_state(s, SMTP_S_IDLE);
			accepted_reply(s, qid);
			smtp_rcpt_forget(s);
			s->nonmail_used = 0;	/* Exim: a new message */
			if (s->transcript != NULL)
				s->transcript_mark = s->transcript->len;
		}
		smtp_tx_free(s);
	}
	if (s->dead) {
		smtp_finish(s);
		return;
	}
	if (s->srv->shutting_down) {
		smtp_reply(s, PM_SHUTDOWN, NULL);
		smtp_close(s, SMTP_C_SHUTDOWN);
		return;
	}
	smtp_session_resume(s);
}

/*
 * smtp_tx_free -- forget the transaction; an open spool file is removed.
 */
void
smtp_tx_free(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if (tx == NULL || s->commit_pending)
		return;
	if (tx->msg != NULL)
		queue_msg_abort(tx->msg);
	json_decref(tx->mail_from);
	json_decref(tx->rcpts);
	free(tx);
	s->tx = NULL;
}
