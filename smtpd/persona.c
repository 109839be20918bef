/*
 * persona.c -- renders what the trap says from the persona tables of
 * persona_tables.c: replies, the EHLO list, queue ids and the Received
 * header, each in the emulated product's exact format. Runs in the
 * jailed smtpd process; pure functions, no I/O, no allocation.
 *
 * SECURITY: the values substituted for %a, %H and the client name come
 * from the network. The caller escapes them, but this file still drops
 * CR, LF and NUL and caps each substitution (PERSONA_SUBST_MAX, as
 * sendmail's shortenstring() does), so that no reply can ever be split
 * into two. Truncation is an error: a reply that does not fit is not
 * rendered (0 is returned), never cut.
 */

#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "persona.h"
#include "persona_int.h"
#include "mix64.h"

#define PERSONA_SUBST_MAX	203	/* bytes of one client-given value:
				   sendmail's MAXSHORTSTR */
#define PERSONA_HOST_MAX	255	/* bytes of one of our own values */
#define PERSONA_DATE_MAX	64

/* the product-version strings of the Received headers */
#define SENDMAIL_VERSION	"8.17.1.9/8.17.1.9/Debian-2+deb12u2"
#define EXIM_VERSION		"4.96"

/* bounded output: once over, stays over */
struct pbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;		/* bytes usable, NUL excluded */
	bool	 over;
};

static void	 pb_init(struct pbuf *, char *, size_t);
static void	 pb_add(struct pbuf *, const char *, size_t);
static void	 pb_str(struct pbuf *, const char *);
static void	 pb_clean(struct pbuf *, const char *, size_t);
static void	 pb_clean7(struct pbuf *, const char *, size_t);
static void	 pb_addr_lit(struct pbuf *, const struct persona *,
		    const char *);
static void	 pb_date(struct pbuf *, enum persona_style, time_t);
static void	 pb_size(struct pbuf *, long);
static void	 expand(const struct persona *, const char *,
		    const struct persona_vars *, struct pbuf *);
static size_t	 wire(const char *, size_t, char *, size_t);
static bool	 valid_m(enum persona_msg);
static int	 dfa_step(int, char);
#define DFA_MEMO_LEN	32
static uint64_t	 dfa_count(const char *, size_t, int);
static int	 dfa_run(const char *, int);
static bool	 unrank(const char *, size_t, int, uint64_t, char *);
static void	 qid_postfix(time_t, uint64_t, char *);
static void	 qid_sendmail(time_t, uint64_t, char *);
static void	 qid_exim(time_t, uint64_t, char *);

static const struct persona *const personas[] = {
	&persona_postfix,	/* the default comes first */
	&persona_sendmail,
	&persona_exim,
};
#define NPERSONAS	(sizeof(personas) / sizeof(personas[0]))

static const char *const wdays[] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static const char hex_digits[] = "0123456789ABCDEF";
static const char dec_digits[] = "0123456789";
/* sendmail queue.c QueueIdChars and Exim's base 62: the same alphabet */
static const char b62_digits[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/*
 * persona_find -- the persona called name (case-insensitive); NULL or ""
 * gives the default (postfix). Returns NULL for an unknown name.
 */
const struct persona *
persona_find(const char *name)
{
	size_t	 i;

	if (name == NULL || *name == '\0')
		return personas[0];
	for (i = 0; i < NPERSONAS; i++)
		if (strcasecmp(name, personas[i]->name) == 0)
			return personas[i];
	return NULL;
}

/*
 * persona_name -- the persona's name as persona_find() takes it.
 */
const char *
persona_name(const struct persona *p)
{
	return p->name;
}

/*
 * persona_names -- the valid names, for error messages.
 */
const char *
persona_names(void)
{
	return "postfix, sendmail, exim";
}

/*
 * persona_auth_mechs -- the SASL mechanisms the persona offers, in the
 * order its EHLO prints them ("PLAIN LOGIN CRAM-MD5").
 */
const char *
persona_auth_mechs(const struct persona *p)
{
	return p->auth_mechs;
}

/*
 * persona_size_limit -- the product's stock message size limit (Postfix
 * message_size_limit, Exim message_size_limit), used when the
 * configuration sets none; 0 for none (Sendmail's MaxMessageSize).
 */
long
persona_size_limit(const struct persona *p)
{
	return p->size_limit;
}

/*
 * persona_unknown_max -- how many unknown commands the product answers
 * before it hangs up on the next one (Sendmail MAXBADCOMMANDS, Exim
 * smtp_max_unknown_commands); 0 when unknown commands are counted with
 * the other errors against max_unknown_commands.
 */
unsigned int
persona_unknown_max(const struct persona *p)
{
	return p->unknown_max;
}

/*
 * persona_help_file -- true if p's HELP answers from a helpfile
 * (persona_help()), not with PM_HELP alone.
 */
bool
persona_help_file(const struct persona *p)
{
	return p->help_file != NULL;
}

/*
 * persona_help -- p's reply to HELP with topic (len bytes), read from its
 * helpfile as sendmail's help() (srvrsmtp.c) reads /etc/mail/helpfile:
 * the topic is compared as a C string (up to a NUL) with the start of
 * every line, and each line that starts with it is printed from the
 * character after its first blank (the whole line but its topic). So
 * "m" prints the lines of "mail", "mail<TAB>" them too, "mail " none,
 * and a topic may reach into a line's text. An empty topic is "smtp".
 * The caller hands over the rest of the command line after the blanks
 * that follow the verb, its ASCII letters lowercased (makelower()), as
 * sendmail compares it. The reply, NUL
 * terminated, goes to out (outsz bytes); returns its length, or 0 if p
 * has no helpfile, no line starts with the topic (the product's
 * PM_HELP_TOPIC) or the reply does not fit.
 */
size_t
persona_help(const struct persona *p, const char *topic, size_t len,
    char *out, size_t outsz)
{
	struct pbuf	 b;
	const char	*line, *nl, *text;
	bool		 found = false;

	if (p->help_file == NULL || outsz == 0)
		return 0;
	len = strnlen(topic, len);
	if (len == 0) {
		topic = "smtp";
		len = 4;
	}
	pb_init(&b, out, outsz - 1);
	for (line = p->help_file; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;		/* a table bug: every line ends in LF */
		/* the line as fgets() gives it: its LF included */
		if ((size_t)(nl + 1 - line) < len ||
		    strncmp(line, topic, len) != 0)
			continue;
		found = true;
		text = strpbrk(line, " \t");
		text = text != NULL && text < nl ? text + 1 : nl;
		pb_str(&b, p->help_line);
		pb_add(&b, text, (size_t)(nl - text));
		pb_add(&b, "\r\n", 2);
	}
	if (!found)
		return 0;
	pb_str(&b, p->help_end);
	pb_add(&b, "\r\n", 2);
	if (b.over) {
		out[0] = '\0';
		return 0;
	}
	out[b.len] = '\0';
	return b.len;
}

/*
 * persona_closes -- true if the product closes the connection after
 * sending message m (QUIT, the 421s, Postfix's reply to non-SMTP).
 */
bool
persona_closes(const struct persona *p, enum persona_msg m)
{
	if (!valid_m(m))
		return false;
	return p->closes[m];
}

/*
 * persona_has -- true if persona p has its own text for message m (the
 * optional messages of persona.h may be missing; the caller then gives
 * the general reply).
 */
bool
persona_has(const struct persona *p, enum persona_msg m)
{
	return valid_m(m) && p->msg[m] != NULL;
}

/*
 * persona_quirk -- true if persona p behaves as PERSONA_Q_* bit q says.
 */
bool
persona_quirk(const struct persona *p, unsigned int q)
{
	return (p->quirks & q) == q && q != 0;
}

/*
 * persona_reply -- render message m of persona p into out: one complete
 * reply, every line "CODE-text\r\n" but the last "CODE text\r\n", NUL
 * terminated. Returns its length, or 0 if m is unknown or the reply does
 * not fit in outsz bytes (NUL included); nothing partial is meant to be
 * sent then.
 */
size_t
persona_reply(const struct persona *p, enum persona_msg m,
    const struct persona_vars *v, char *out, size_t outsz)
{
	char		 tmp[PERSONA_REPLY_MAX];
	struct pbuf	 b;

	if (!valid_m(m) || p->msg[m] == NULL)
		return 0;
	pb_init(&b, tmp, sizeof(tmp));
	expand(p, p->msg[m], v, &b);
	if (b.over)
		return 0;
	return wire(tmp, b.len, out, outsz);
}

/*
 * persona_ehlo -- the whole multi-line EHLO reply of persona p, in the
 * product's order; STARTTLS, AUTH and PIPECONNECT only if ext has
 * PERSONA_EXT_STARTTLS, PERSONA_EXT_AUTH and PERSONA_EXT_PIPECONNECT.
 * Returns its length, or 0 if it does not fit.
 */
size_t
persona_ehlo(const struct persona *p, const struct persona_vars *v,
    unsigned int ext, char *out, size_t outsz)
{
	char		 tmp[PERSONA_REPLY_MAX];
	struct pbuf	 b;
	const struct persona_ext *e;

	pb_init(&b, tmp, sizeof(tmp));
	expand(p, p->ehlo_greeting, v, &b);
	for (e = p->ehlo; e->text != NULL; e++) {
		if (e->need != 0 && (ext & e->need) == 0)
			continue;
		pb_add(&b, "\n", 1);
		expand(p, e->text, v, &b);
	}
	if (b.over)
		return 0;
	return wire(tmp, b.len, out, outsz);
}

/*
 * persona_queue_id -- the queue id persona p would give message number
 * seq received at now: Postfix short id ("4C2B41A0D7F", %05X
 * microseconds + hex inode), Sendmail ("4AQ81x2A012345", 8 base-60/62
 * characters of UTC time and counter + %06d pid) or Exim 4.96
 * ("1tFz4K-000123-AB"). The part that identifies the message is derived
 * from seq bijectively, so different seq give different ids (below
 * 14 million messages for the same now); no id ever contains "530"
 * (REFERENCE 1.1). out should hold PERSONA_QID_MAX bytes; if it is too
 * small it gets "".
 */
void
persona_queue_id(const struct persona *p, time_t now, uint64_t seq,
    char *out, size_t outsz)
{
	char	 id[PERSONA_QID_MAX];

	switch (p->style) {
	case PERSONA_SENDMAIL:
		qid_sendmail(now, seq, id);
		break;
	case PERSONA_EXIM:
		qid_exim(now, seq, id);
		break;
	default:
		qid_postfix(now, seq, id);
		break;
	}
	if (outsz == 0)
		return;
	if (strlen(id) >= outsz) {
		out[0] = '\0';
		return;
	}
	memcpy(out, id, strlen(id) + 1);
}

/*
 * persona_received_header -- the Received header persona p writes for a
 * message it receives, folded with TAB and CRLF as the product folds it,
 * ending in CRLF. Returns its length, or 0 if it does not fit in outsz
 * bytes (NUL included).
 */
size_t
persona_received_header(const struct persona *p,
    const struct persona_received *r, char *out, size_t outsz)
{
	struct pbuf	 b;
	const char	*name = r->client_name, *ver, *proto;
	char		 tmp[16];
	int		 bits;

	pb_init(&b, out, outsz > 0 ? outsz - 1 : 0);
	if (outsz == 0)
		b.over = true;
	bits = (r->tls_cipher != NULL && strstr(r->tls_cipher, "128") != NULL)
	    ? 128 : 256;
	ver = r->tls_version != NULL ? r->tls_version : "TLSv1.3";

	switch (p->style) {
	case PERSONA_SENDMAIL:
		/*
		 * cf/m4/proto.m4 HReceived: $?sfrom $s $.$?_($?s$|from $.$_)
		 * \t$.$?{auth_type}(authenticated$?{auth_ssf} bits=...$.)
		 * \t$.by $j ($v/$Z)$?r with $r$. id $i$?{tls_version}
		 * \t(version=... cipher=... bits=... verify=...)$.$?u
		 * \tfor $u; $|;\n\t$.$b -- $_ is "name [addr]" or "[addr]".
		 */
		pb_str(&b, "Received: ");
		if (r->helo != NULL) {
			pb_str(&b, "from ");
			pb_clean(&b, r->helo, PERSONA_SUBST_MAX);
			pb_str(&b, " (");
		} else
			pb_str(&b, "(from ");
		if (name != NULL) {
			pb_clean(&b, name, PERSONA_SUBST_MAX);
			pb_str(&b, " ");
		}
		pb_addr_lit(&b, p, r->client_addr);
		pb_str(&b, ")\r\n\t");
		if (r->auth)
			pb_str(&b, "(authenticated bits=0)\r\n\t");
		pb_str(&b, "by ");
		pb_clean(&b, r->hostname, PERSONA_HOST_MAX);
		/* srvrsmtp.c GET_PROTOCOL(): EHLO only; HELO is "SMTP" */
		if (!r->esmtp)
			proto = "SMTP";
		else if (r->auth)
			proto = r->tls ? "ESMTPSA" : "ESMTPA";
		else
			proto = r->tls ? "ESMTPS" : "ESMTP";
		pb_str(&b, " (" SENDMAIL_VERSION ") with ");
		pb_str(&b, proto);
		pb_str(&b, " id ");
		pb_clean(&b, r->queue_id, PERSONA_HOST_MAX);
		if (r->tls) {
			pb_str(&b, "\r\n\t(version=");
			pb_clean(&b, ver, PERSONA_HOST_MAX);
			pb_str(&b, " cipher=");
			pb_clean(&b, r->tls_cipher, PERSONA_HOST_MAX);
			(void)snprintf(tmp, sizeof(tmp), "%d", bits);
			pb_str(&b, " bits=");
			pb_str(&b, tmp);
			pb_str(&b, " verify=NOT)");
		}
		if (r->rcpt != NULL) {
			pb_str(&b, "\r\n\tfor <");
			pb_clean(&b, r->rcpt, PERSONA_SUBST_MAX);
			pb_str(&b, ">; ");
		} else
			pb_str(&b, ";\r\n\t");
		pb_date(&b, p->style, r->when);
		pb_str(&b, "\r\n");
		break;
	case PERSONA_EXIM:
		/*
		 * globals.c received_header_text (4.96): "from
		 * $sender_rcvhost\n\t" "by $primary_hostname with
		 * $received_protocol " [" ($tls_in_ver)" " tls
		 * $tls_in_cipher_std\n\t"] "(Exim $version_number)\n\t"
		 * ["(envelope-from <$sender_address>)\n\t"] "id
		 * $message_exim_id" ["\n\tfor $received_for"], then receive.c
		 * adds ";\n\t" and the date.
		 */
		pb_str(&b, "Received: from ");
		if (name != NULL) {
			pb_clean(&b, name, PERSONA_SUBST_MAX);
			pb_str(&b, " (");
			pb_addr_lit(&b, p, r->client_addr);
			if (r->helo != NULL && strcasecmp(r->helo, name) != 0) {
				pb_str(&b, " helo=");
				pb_clean(&b, r->helo, PERSONA_SUBST_MAX);
			}
			pb_str(&b, ")");
		} else {
			pb_addr_lit(&b, p, r->client_addr);
			if (r->helo != NULL) {
				pb_str(&b, " (helo=");
				pb_clean(&b, r->helo, PERSONA_SUBST_MAX);
				pb_str(&b, ")");
			}
		}
		pb_str(&b, "\r\n\tby ");
		pb_clean(&b, r->hostname, PERSONA_HOST_MAX);
		(void)snprintf(tmp, sizeof(tmp), "%s%s%s",
		    r->esmtp ? "esmtp" : "smtp", r->tls ? "s" : "",
		    r->auth && r->esmtp ? "a" : "");
		pb_str(&b, " with ");
		pb_str(&b, tmp);
		pb_str(&b, " ");
		if (r->tls) {
			/* GnuTLS-style "TLS1.3" from OpenSSL's "TLSv1.3" */
			pb_str(&b, " (");
			if (strncmp(ver, "TLSv", 4) == 0) {
				pb_str(&b, "TLS");
				pb_clean(&b, ver + 4, PERSONA_HOST_MAX);
			} else
				pb_clean(&b, ver, PERSONA_HOST_MAX);
			pb_str(&b, ") tls ");
			pb_clean(&b, r->tls_cipher, PERSONA_HOST_MAX);
			pb_str(&b, "\r\n\t");
		}
		pb_str(&b, "(Exim " EXIM_VERSION ")\r\n\t");
		if (r->sender != NULL && *r->sender != '\0') {
			pb_str(&b, "(envelope-from <");
			pb_clean(&b, r->sender, PERSONA_SUBST_MAX);
			pb_str(&b, ">)\r\n\t");
		}
		pb_str(&b, "id ");
		pb_clean(&b, r->queue_id, PERSONA_HOST_MAX);
		if (r->rcpt != NULL) {
			pb_str(&b, "\r\n\tfor ");
			pb_clean(&b, r->rcpt, PERSONA_SUBST_MAX);
		}
		pb_str(&b, ";\r\n\t");
		pb_date(&b, p->style, r->when);
		pb_str(&b, "\r\n");
		break;
	default:
		/*
		 * [src] smtpd.c data_cmd(): "Received: from %s (%s [%s])"
		 * (HELO name or the client name, "unknown" without PTR,
		 * rfc_addr "IPv6:..."), with smtpd_tls_received_header the
		 * "\t(using %s with cipher %s (%d/%d bits))" and "\t(No
		 * client certificate requested)" lines, then "\tby %s (%s)
		 * with %s%s%s id %s" + "\tfor <%s>; %s" when there is one
		 * recipient, else "...id %s;" + "\t%s" (mail_date()).
		 * XXX 3.4+ adds "key-exchange/server-signature" details to
		 * the TLS line; we do not know them, so the short form.
		 */
		if (name == NULL)
			name = "unknown";
		pb_str(&b, "Received: from ");
		pb_clean(&b, r->helo != NULL ? r->helo : name,
		    PERSONA_SUBST_MAX);
		pb_str(&b, " (");
		pb_clean(&b, name, PERSONA_SUBST_MAX);
		pb_str(&b, " ");
		pb_addr_lit(&b, p, r->client_addr);
		pb_str(&b, ")\r\n");
		if (r->tls) {
			(void)snprintf(tmp, sizeof(tmp), "%d/%d", bits, bits);
			pb_str(&b, "\t(using ");
			pb_clean(&b, ver, PERSONA_HOST_MAX);
			pb_str(&b, " with cipher ");
			pb_clean(&b, r->tls_cipher, PERSONA_HOST_MAX);
			pb_str(&b, " (");
			pb_str(&b, tmp);
			pb_str(&b, " bits))\r\n\t(No client certificate "
			    "requested)\r\n");
		}
		/* "RFC 3848 is defined for ESMTP only": no S/A after HELO */
		(void)snprintf(tmp, sizeof(tmp), "%s%s%s",
		    r->esmtp ? "ESMTP" : "SMTP", r->tls && r->esmtp ? "S" : "",
		    r->auth && r->esmtp ? "A" : "");
		pb_str(&b, "\tby ");
		pb_clean(&b, r->hostname, PERSONA_HOST_MAX);
		pb_str(&b, " (Postfix) with ");
		pb_str(&b, tmp);
		pb_str(&b, " id ");
		pb_clean(&b, r->queue_id, PERSONA_HOST_MAX);
		if (r->rcpt != NULL) {
			pb_str(&b, "\r\n\tfor <");
			pb_clean(&b, r->rcpt, PERSONA_SUBST_MAX);
			pb_str(&b, ">; ");
		} else
			pb_str(&b, ";\r\n\t");
		pb_date(&b, p->style, r->when);
		pb_str(&b, "\r\n");
		break;
	}
	if (b.over) {
		if (outsz > 0)
			out[0] = '\0';
		return 0;
	}
	out[b.len] = '\0';
	return b.len;
}

static bool
valid_m(enum persona_msg m)
{
	return (int)m >= 0 && m < PM_COUNT;
}

static void
pb_init(struct pbuf *b, char *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = cap;
	b->over = false;
}

static void
pb_add(struct pbuf *b, const char *s, size_t n)
{
	if (b->over || n > b->cap - b->len) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
pb_str(struct pbuf *b, const char *s)
{
	pb_add(b, s, strlen(s));
}

/*
 * pb_clean -- append s without CR, LF (and so without any line break),
 * at most max bytes of it; NULL appends nothing.
 */
static void
pb_clean(struct pbuf *b, const char *s, size_t max)
{
	size_t	 n = 0;

	if (s == NULL)
		return;
	for (; *s != '\0' && n < max; s++) {
		if (*s == '\r' || *s == '\n')
			continue;
		pb_add(b, s, 1);
		n++;
	}
}

/*
 * pb_clean7 -- pb_clean() of s with the top bit of each byte dropped, as
 * sendmail prints it; other control bytes stay as sendmail echoes them
 * (a TAB, ^A), but what becomes CR, LF or NUL shows as '?'.
 */
static void
pb_clean7(struct pbuf *b, const char *s, size_t max)
{
	size_t	 n = 0;
	char	 c;

	if (s == NULL)
		return;
	for (; *s != '\0' && n < max; s++) {
		if (*s == '\r' || *s == '\n')
			continue;
		c = (char)(*s & 0x7f);
		if (c == '\r' || c == '\n' || c == '\0')
			c = '?';
		pb_add(b, &c, 1);
		n++;
	}
}

/* "[addr]", "[IPv6:addr]" for products that tag IPv6 literals */
static void
pb_addr_lit(struct pbuf *b, const struct persona *p, const char *addr)
{
	pb_str(b, "[");
	if (addr != NULL && p->ipv6_tag && strchr(addr, ':') != NULL)
		pb_str(b, "IPv6:");
	pb_clean(b, addr, PERSONA_HOST_MAX);
	pb_str(b, "]");
}

/*
 * pb_date -- t in UTC, in the product's format: Postfix mail_date()
 * "Tue,  5 Nov 2024 08:01:00 +0000 (UTC)" (%e: space-padded day),
 * Sendmail arpadate() "Tue, 5 Nov 2024 08:01:00 GMT" (unpadded day, GMT
 * for a zero offset), Exim tod_full "Tue, 05 Nov 2024 08:01:00 +0000".
 */
static void
pb_date(struct pbuf *b, enum persona_style style, time_t t)
{
	char		 d[PERSONA_DATE_MAX];
	struct tm	 tm;
	const char	*fmt;

	if (gmtime_r(&t, &tm) == NULL) {
		b->over = true;
		return;
	}
	switch (style) {
	case PERSONA_SENDMAIL:
		fmt = "%s, %d %s %d %02d:%02d:%02d GMT";
		break;
	case PERSONA_EXIM:
		fmt = "%s, %02d %s %d %02d:%02d:%02d +0000";
		break;
	default:
		fmt = "%s, %2d %s %d %02d:%02d:%02d +0000 (UTC)";
		break;
	}
	if (snprintf(d, sizeof(d), fmt, wdays[tm.tm_wday % 7], tm.tm_mday,
	    months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec) >= (int)sizeof(d)) {
		b->over = true;
		return;
	}
	pb_str(b, d);
}

/*
 * pb_size -- the size limit; a limit whose digits contain "530" is shown
 * one byte smaller per step until they do not (5300000 -> 5299999), so a
 * MAIL reply never carries "530" of our own making (REFERENCE 1.1).
 */
static void
pb_size(struct pbuf *b, long size)
{
	char	 d[32];

	for (;;) {
		(void)snprintf(d, sizeof(d), "%ld", size);
		if (strstr(d, "530") == NULL || size <= 0)
			break;
		size--;
	}
	pb_str(b, d);
}

/*
 * expand -- template t with v's values into b (placeholders in
 * persona_int.h). An unknown placeholder is a table bug: b goes over.
 */
static void
expand(const struct persona *p, const char *t, const struct persona_vars *v,
    struct pbuf *b)
{
	const char	*name = v->client_name;
	size_t		 prec;

	for (; *t != '\0' && !b->over; t++) {
		if (*t != '%') {
			pb_add(b, t, 1);
			continue;
		}
		t++;
		prec = PERSONA_SUBST_MAX;
		if (*t == '.') {
			prec = 0;
			for (t++; *t >= '0' && *t <= '9'; t++)
				if (prec < PERSONA_SUBST_MAX)
					prec = prec * 10 + (size_t)(*t - '0');
			if (prec > PERSONA_SUBST_MAX)
				prec = PERSONA_SUBST_MAX;
		}
		switch (*t) {
		case 'h':
			pb_clean(b, v->hostname, PERSONA_HOST_MAX);
			break;
		case 'c':
			pb_clean(b, v->client_addr, PERSONA_HOST_MAX);
			break;
		case 'n':
			if (name != NULL)
				pb_clean(b, name, PERSONA_SUBST_MAX);
			else
				pb_addr_lit(b, p, v->client_addr);
			break;
		case 'u':
			pb_clean(b, name != NULL ? name : "unknown",
			    PERSONA_SUBST_MAX);
			break;
		case 'N':
			if (name != NULL) {
				pb_clean(b, name, PERSONA_SUBST_MAX);
				pb_str(b, " ");
			}
			pb_addr_lit(b, p, v->client_addr);
			break;
		case 'R':
			pb_str(b, name != NULL ? "OK" : "FAIL");
			break;
		case 'e':
			pb_clean(b, name != NULL ? name : v->helo,
			    PERSONA_SUBST_MAX);
			break;
		case 'H':
			pb_clean(b, v->helo, PERSONA_SUBST_MAX);
			break;
		case 'a':
			if (p->quirks & PERSONA_Q_STRIP8)
				pb_clean7(b, v->arg, prec);
			else
				pb_clean(b, v->arg, prec);
			break;
		case 'A':
			if (v->arg != NULL && *v->arg != '\0') {
				pb_clean(b, v->arg, prec);
				pb_str(b, ": ");
			}
			break;
		case 'b':
			pb_clean(b, v->arg2, prec);
			break;
		case 'q':
			pb_clean(b, v->queue_id, PERSONA_HOST_MAX);
			break;
		case 'z':
			pb_size(b, v->size_limit);
			break;
		case 'Z':
			if (v->size_shown > 0) {
				pb_add(b, " ", 1);
				pb_size(b, v->size_shown);
			}
			break;
		case 'd':
			pb_date(b, p->style, v->now);
			break;
		case '%':
			pb_add(b, "%", 1);
			break;
		default:
			b->over = true;
			return;
		}
	}
}

/*
 * wire -- turn the expanded text (lines separated by '\n', the first one
 * starting with the 3-digit code and a space) into the reply on the
 * wire: "CODE-line\r\n" for all lines but the last, "CODE line\r\n" for
 * it. Returns the length, 0 if malformed or if it does not fit.
 */
static size_t
wire(const char *text, size_t len, char *out, size_t outsz)
{
	struct pbuf	 b;
	const char	*line, *nl, *end = text + len;
	char		 code[3];
	bool		 last;

	if (len < 3 || text[0] < '1' || text[0] > '5' ||
	    text[1] < '0' || text[1] > '9' || text[2] < '0' || text[2] > '9')
		return 0;
	if (len > 3 && text[3] != ' ' && text[3] != '\n')
		return 0;
	memcpy(code, text, 3);
	if (outsz == 0)
		return 0;
	pb_init(&b, out, outsz - 1);
	line = text + (len > 3 && text[3] == ' ' ? 4 : 3);
	for (;;) {
		nl = memchr(line, '\n', (size_t)(end - line));
		last = nl == NULL;
		if (last)
			nl = end;
		pb_add(&b, code, 3);
		pb_add(&b, last ? " " : "-", 1);
		pb_add(&b, line, (size_t)(nl - line));
		pb_add(&b, "\r\n", 2);
		if (last)
			break;
		line = nl + 1;
	}
	if (b.over) {
		out[0] = '\0';
		return 0;
	}
	out[b.len] = '\0';
	return b.len;
}

/* ------------------------------------------------------------------ */
/* Queue ids								*/
/* ------------------------------------------------------------------ */

/*
 * A three-state automaton that recognises "530": state 0 (nothing), 1
 * (seen "5"), 2 (seen "53"); -1 is the dead state "530 found". The parts
 * of an id that carry seq are the seq-th string of the language of
 * strings that keep the automaton alive (unrank), so they are unique and
 * free of "530" at once, whatever precedes them.
 */
static int
dfa_step(int s, char c)
{
	if (s < 0)
		return -1;
	if (c == '5')
		return 1;
	if (s == 1 && c == '3')
		return 2;
	if (s == 2 && c == '0')
		return -1;
	return 0;
}

static int
dfa_run(const char *str, int s)
{
	for (; *str != '\0' && s >= 0; str++)
		s = dfa_step(s, *str);
	return s;
}

/* number of strings of length len over alpha that stay alive from s */
static uint64_t
dfa_count(const char *alpha, size_t len, int s)
{
	/* memo: ids are made per message; the counts never change */
	static const char *memo_alpha[4];
	static uint64_t memo[4][DFA_MEMO_LEN][3];
	static bool memo_ok[4][DFA_MEMO_LEN];
	uint64_t c[3], n[3];
	size_t	 i, k, a;
	int	 st, to;

	if (s < 0)
		return 0;
	for (a = 0; a < 4 && memo_alpha[a] != NULL && memo_alpha[a] != alpha;
	    a++)
		;
	if (a < 4 && len < DFA_MEMO_LEN) {
		if (memo_alpha[a] == NULL)
			memo_alpha[a] = alpha;
		if (memo_ok[a][len])
			return memo[a][len][s];
	}

	/* c[st] = count for the remaining length, built from the end */
	c[0] = c[1] = c[2] = 1;
	for (i = 0; i < len; i++) {
		for (st = 0; st < 3; st++) {
			n[st] = 0;
			for (k = 0; alpha[k] != '\0'; k++) {
				to = dfa_step(st, alpha[k]);
				if (to >= 0)
					n[st] += c[to];
			}
		}
		memcpy(c, n, sizeof(c));
	}
	if (a < 4 && len < DFA_MEMO_LEN) {
		memcpy(memo[a][len], c, sizeof(c));
		memo_ok[a][len] = true;
	}
	return c[s];
}

/* the n-th (from 0) live string of length len from state s; false if none */
static bool
unrank(const char *alpha, size_t len, int s, uint64_t n, char *out)
{
	size_t	 pos, k;
	uint64_t cnt;
	int	 to;

	for (pos = 0; pos < len; pos++) {
		for (k = 0; alpha[k] != '\0'; k++) {
			to = dfa_step(s, alpha[k]);
			if (to < 0)
				continue;
			cnt = dfa_count(alpha, len - pos - 1, to);
			if (n < cnt)
				break;
			n -= cnt;
		}
		if (alpha[k] == '\0')
			return false;
		out[pos] = alpha[k];
		s = to;
	}
	out[len] = '\0';
	return true;
}

/*
 * Postfix short id (global/mail_queue.h): "%05X" of the microseconds and
 * "%lX" of the queue file's inode. The microseconds are a hash (moved on
 * while they contain "530"); the inode is 6 hex digits, no leading zero,
 * numbered by seq: unique for seq below ~15 million.
 */
static void
qid_postfix(time_t now, uint64_t seq, char *out)
{
	uint64_t usec, skip, cap, n;
	int	 s, z;

	usec = mix64(seq ^ mix64((uint64_t)now)) % 1000000;
	for (;;) {
		(void)snprintf(out, 6, "%05X", (unsigned int)usec);
		if (strstr(out, "530") == NULL)
			break;
		usec = (usec + 1) % 1000000;
	}
	s = dfa_run(out, 0);
	z = dfa_step(s, '0');
	skip = z < 0 ? 0 : dfa_count(hex_digits, 5, z);	/* "0....." */
	cap = dfa_count(hex_digits, 6, s) - skip;
	n = skip + (seq + 0xA0D7F) % cap;	/* inodes like 1A0D7F */
	if (!unrank(hex_digits, 6, s, n, out + 5))
		out[5] = '\0';
}

/*
 * Sendmail (queue.c assign_queueid()): QueueIdChars[tm_year % 60],
 * [tm_mon], [tm_mday], [tm_hour], [tm_min], [tm_sec], [cX / 60],
 * [cX % 60], then "%06d" of the pid; here UTC. seq numbers the pid part
 * (about a million values) and, above that, the counter cX (which starts
 * at a value hashed from now, as sendmail starts it at random). A time whose
 * characters make "530" is moved on by seconds until they do not.
 */
static void
qid_sendmail(time_t now, uint64_t seq, char *out)
{
	struct tm tm;
	uint64_t cap, cap1, cap2, cx;
	time_t	 t = now;
	int	 i, s;

	cap = dfa_count(dec_digits, 6, 0);
	cap1 = dfa_count(dec_digits, 6, 1);
	cap2 = dfa_count(dec_digits, 6, 2);
	if (cap1 < cap)
		cap = cap1;
	if (cap2 < cap)
		cap = cap2;
	/* like sendmail's per-process random start, moving with seq */
	cx = (mix64((uint64_t)now) % 3600 + seq / cap) % 3600;
	for (i = 0; i < 86400; i++, t++) {
		if (gmtime_r(&t, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		out[0] = b62_digits[tm.tm_year % 60];
		out[1] = b62_digits[tm.tm_mon % 12];
		out[2] = b62_digits[tm.tm_mday % 32];
		out[3] = b62_digits[tm.tm_hour % 24];
		out[4] = b62_digits[tm.tm_min % 60];
		out[5] = b62_digits[tm.tm_sec % 62];
		out[6] = b62_digits[cx / 60];
		out[7] = b62_digits[cx % 60];
		out[8] = '\0';
		if (strstr(out, "530") == NULL)
			break;
	}
	s = dfa_run(out, 0);
	if (!unrank(dec_digits, 6, s, (seq + 24000) % cap, out + 8))
		out[8] = '\0';
}

/*
 * Exim 4.96 (tttttt-pppppp-ss): base 62 of the time, of the pid and of
 * the fraction of a second (1/2000 s). seq numbers the pid ("00" and 4
 * digits, about 14.7 million values); the fraction is a hash. A time
 * whose digits make "530" is moved on by seconds until they do not.
 */
static void
qid_exim(time_t now, uint64_t seq, char *out)
{
	uint64_t t, v, cap, frac;
	int	 i;

	t = now < 0 ? 0 : (uint64_t)now;
	for (;;) {
		v = t;
		for (i = 5; i >= 0; i--) {
			out[i] = b62_digits[v % 62];
			v /= 62;
		}
		out[6] = '\0';
		if (strstr(out, "530") == NULL)
			break;
		t++;
	}
	out[6] = '-';
	out[7] = '0';
	out[8] = '0';
	cap = dfa_count(b62_digits, 4, 0);
	if (!unrank(b62_digits, 4, 0, (seq + 24000) % cap, out + 9))
		memcpy(out + 9, "0000", 5);
	frac = mix64(seq ^ mix64((uint64_t)now ^ 0x5eed)) % 2000;
	out[13] = '-';
	out[14] = b62_digits[frac / 62];
	out[15] = b62_digits[frac % 62];
	out[16] = '\0';
}
