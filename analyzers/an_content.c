/*
 * an_content.c -- the content analyzer: decoded headers, text, URLs,
 * addresses and attachments of a message; see an_content.h for the
 * result and the limits. Input is hostile: the MIME tree is walked with a
 * depth and a part cap, text is converted into a bounded buffer, and
 * attachments are only hashed and (optionally) written, never opened.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "an.h"
#include "an_content.h"
#include "an_urls.h"
#include "compat.h"
#include "jsonutil.h"
#include "log.h"
#include "xmalloc.h"

struct ct_walk {
	const struct conf	*conf;
	char			*text;		/* cap bytes, grown to */
	size_t			 textlen;	/* at most AN_CT_TEXT_MAX */
	size_t			 cap;
	size_t			 parts;
	bool			 issues;
	bool			 truncated;
	json_t			*atts;
};

static int		 ct_init(const struct conf *, void **, char *, size_t);
static enum an_status	 ct_run(void *, struct an_ctx *, json_t **);
static void		 ct_fini(void *);
static void		 ct_walk(struct ct_walk *, GMimeObject *, int);
static void		 ct_text(struct ct_walk *, GMimePart *);
static size_t		 ct_room(struct ct_walk *, size_t);
static void		 ct_textbytes(struct ct_walk *, const char *,
			    const unsigned char *, size_t);
static void		 ct_attachment(struct ct_walk *, GMimePart *);
static GByteArray	*ct_decode(GMimePart *, GMimeStream **);
static size_t		 ct_copy_utf8(struct ct_walk *,
			    const unsigned char *, size_t);
static size_t		 ct_convert(struct ct_walk *, const char *,
			    const unsigned char *, size_t);
static char		*ct_save(const char *, const char *,
			    const unsigned char *, size_t);
static json_t		*ct_header_raw(GMimeMessage *, const char *, bool *);
static const char	*ct_raw(GMimeMessage *, const char *);
static size_t		 ct_eword(const char *, char *, size_t, char *,
			    const char **, size_t *);
static size_t		 ct_bword(const char *, char *, size_t, const char **,
			    size_t *);
static char		*ct_merge_bwords(const char *);
static void		 ct_word_bytes(GByteArray *, char, const char *,
			    size_t);
static bool		 ct_bytes_clean(const char *, const unsigned char *,
			    size_t);
static bool		 ct_words_clean(const char *);
static json_t		*ct_header_text(GMimeMessage *, const char *,
			    bool *);
static json_t		*ct_header_addrs(GMimeMessage *, const char *,
			    bool *);
static json_t		*ct_addrs(InternetAddressList *, bool *);
static json_t		*ct_decoded(const char *, bool *);
static json_t		*ct_set_json(struct an_strset *);
static bool		 ct_has_8bit(const char *);
static size_t		 ct_cut(const char *, size_t);

const struct an_analyzer an_content = {
	.name = "content",
	.init = ct_init,
	.run = ct_run,
	.fini = ct_fini,
};

static int
ct_init(const struct conf *conf, void **state, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*state = (void *)conf;
	return 0;
}

static void
ct_fini(void *state)
{
	(void)state;
}


/* an_content_magic - the detected type of p[0..n); see an_content.h */
const char *
an_content_magic(const unsigned char *p, size_t n)
{
	static const struct {
		const char	*sig;
		size_t		 len;
		size_t		 off;
		const char	*type;
	} tab[] = {
		{ "%PDF-", 5, 0, "pdf" },
		{ "PK\003\004", 4, 0, "zip" },
		{ "PK\005\006", 4, 0, "zip" },	/* empty archive */
		{ "\320\317\021\340\241\261\032\341", 8, 0, "ole2" },
		{ "Rar!\032\007", 6, 0, "rar" },
		{ "7z\274\257\047\034", 6, 0, "7z" },
		{ "\037\213", 2, 0, "gzip" },
		{ "MZ", 2, 0, "pe" },
		{ "\177ELF", 4, 0, "elf" },
		{ "\211PNG\r\n\032\n", 8, 0, "png" },
		{ "\377\330\377", 3, 0, "jpeg" },
		{ "GIF87a", 6, 0, "gif" },
		{ "GIF89a", 6, 0, "gif" },
	};
	size_t	 i, s, head, bad;

	if (n == 0)
		return "empty";
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (n < tab[i].off + tab[i].len ||
		    memcmp(p + tab[i].off, tab[i].sig, tab[i].len) != 0)
			continue;
		if (strcmp(tab[i].type, "zip") == 0 && an_casemem(p,
		    n < 65536 ? n : 65536, "[Content_Types].xml"))
			return "ooxml";
		return tab[i].type;
	}
	/* text: skip a UTF-8 BOM and leading white space */
	s = 0;
	if (n >= 3 && memcmp(p, "\357\273\277", 3) == 0)
		s = 3;
	while (s < n && (p[s] == ' ' || p[s] == '\t' || p[s] == '\r' ||
	    p[s] == '\n'))
		s++;
	head = n - s < 1024 ? n - s : 1024;
	for (i = s, bad = 0; i < s + head; i++)
		if (p[i] == 0 || (p[i] < 0x20 && p[i] != '\t' &&
		    p[i] != '\r' && p[i] != '\n' && p[i] != '\f'))
			bad++;
	if (bad > 0)
		return "unknown";
	if (head >= 2 && p[s] == '#' && p[s + 1] == '!')
		return "script";
	if (an_casemem(p + s, head, "<!doctype html") ||
	    an_casemem(p + s, head, "<html") ||
	    an_casemem(p + s, head, "<body") ||
	    an_casemem(p + s, head, "<head"))
		return "html";
	if (an_casemem(p + s, head, "<script") ||
	    an_casemem(p + s, head, "wscript.") ||
	    an_casemem(p + s, head, "createobject(") ||
	    an_casemem(p + s, head, "powershell") ||
	    an_casemem(p + s, head, "@echo off"))
		return "script";
	return "text";
}

static bool
ct_has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* a decoded (UTF-8) header value, or null; flags invalid or U+FFFD */
static json_t *
ct_decoded(const char *s, bool *issues)
{
	if (s == NULL)
		return json_null();
	if (!g_utf8_validate(s, -1, NULL) || strstr(s, "\357\277\275"))
		*issues = true;
	return jsu_bytes(s, ct_cut(s, strlen(s)));
}

/*
 * ct_cut -- len, or AN_CT_HEADER_MAX stepped back to the start of a UTF-8
 * character: a 900 KB Subject is not analysis.json's to keep in full (the
 * message keeps it).
 */
static size_t
ct_cut(const char *s, size_t len)
{
	if (len <= AN_CT_HEADER_MAX)
		return len;
	len = AN_CT_HEADER_MAX;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/*
 * a copy of at most AN_CT_HEADER_IN_MAX bytes of header value raw
 * (g_strndup() alone would allocate and zero-fill all of them),
 * unfolded: without CR and LF bytes, as ct_header_raw() and GMime's own
 * values have it. GMime's decoders keep them: a folded Subject was
 * "hello\r\n world", a folded quoted name "Jo\r\n Doe".
 */
static char *
ct_head_in(const char *raw)
{
	char	*s = g_strndup(raw, strnlen(raw, AN_CT_HEADER_IN_MAX));
	size_t	 i, o;

	for (i = o = 0; s[i] != '\0'; i++)
		if (s[i] != '\r' && s[i] != '\n')
			s[o++] = s[i];
	s[o] = '\0';
	return s;
}

static const char *
ct_raw(GMimeMessage *m, const char *name)
{
	GMimeHeaderList	*hl;
	GMimeHeader	*h;

	hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
	if (hl == NULL || (h = g_mime_header_list_get_header(hl, name)) ==
	    NULL)
		return NULL;
	return g_mime_header_get_raw_value(h);
}

/* the header as sent, unfolded and trimmed, or null */
static json_t *
ct_header_raw(GMimeMessage *m, const char *name, bool *issues)
{
	const char	*raw;
	char		*buf;
	size_t		 i, o, n;
	json_t		*j;

	if ((raw = ct_raw(m, name)) == NULL)
		return json_null();
	if (ct_has_8bit(raw))
		*issues = true;		/* 8-bit without RFC 2047 */
	n = strlen(raw);
	buf = xmalloc(n + 1);
	for (i = o = 0; i < n; i++)
		if (raw[i] != '\r' && raw[i] != '\n')
			buf[o++] = raw[i];
	i = 0;
	while (i < o && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	while (o > i && (buf[o - 1] == ' ' || buf[o - 1] == '\t'))
		o--;
	j = jsu_bytes(buf + i, ct_cut(buf + i, o - i));
	free(buf);
	return j;
}

/*
 * ct_eword - an encoded word "=?cs?X?text?=" at p, X one of B, b, Q, q?
 * Returns its length (0: none), the charset in cs (size cssz), X in
 * *enc, the text in *t, *tl.
 */
static size_t
ct_eword(const char *p, char *cs, size_t cssz, char *enc, const char **t,
    size_t *tl)
{
	size_t	 i, c;

	if (p[0] != '=' || p[1] != '?')
		return 0;
	for (i = 2; p[i] != '\0' && p[i] != '?' && p[i] > ' ' &&
	    i - 2 + 1 < cssz; i++)
		;
	if (p[i] != '?' || i == 2 || p[i + 1] == '\0' ||
	    strchr("BbQq", p[i + 1]) == NULL || p[i + 2] != '?')
		return 0;
	c = i - 2;
	memcpy(cs, p + 2, c);
	cs[c] = '\0';
	*enc = p[i + 1];
	*t = p + i + 3;
	for (i += 3; p[i] != '\0' && p[i] != '?' && p[i] > ' '; i++)
		;
	if (p[i] != '?' || p[i + 1] != '=')
		return 0;
	*tl = p + i - *t;
	return i + 2;
}

/* ct_bword - a B-encoded word at p? As ct_eword(). */
static size_t
ct_bword(const char *p, char *cs, size_t cssz, const char **t, size_t *tl)
{
	size_t	 n;
	char	 enc = '\0';

	n = ct_eword(p, cs, cssz, &enc, t, tl);
	return enc == 'B' || enc == 'b' ? n : 0;
}

/*
 * ct_merge_bwords - raw header text with each run of adjacent B-encoded
 * words of one charset merged into one word (g_free it). GMime 3.2 joins
 * such runs itself but drops every word after one that ends in "="
 * padding; merging the decoded bytes first keeps them, and keeps a
 * character split across two words whole.
 */
static char *
ct_merge_bwords(const char *raw)
{
	GString		*out;
	GByteArray	*bytes;
	const char	*p = raw, *q, *t;
	char		 cs[64], cs2[64], *tmp, *b64;
	size_t		 n, tl, words;
	guchar		*dec;
	gsize		 dl;

	out = g_string_sized_new(strlen(raw) + 16);
	while (*p != '\0') {
		if ((n = ct_bword(p, cs, sizeof(cs), &t, &tl)) == 0) {
			g_string_append_c(out, *p++);
			continue;
		}
		bytes = g_byte_array_new();
		words = 0;
		for (;;) {
			tmp = g_strndup(t, tl);
			dec = g_base64_decode(tmp, &dl);
			g_byte_array_append(bytes, dec, dl);
			g_free(dec);
			g_free(tmp);
			words++;
			p += n;
			for (q = p; *q == ' ' || *q == '\t' || *q == '\r' ||
			    *q == '\n'; q++)
				;
			if ((n = ct_bword(q, cs2, sizeof(cs2), &t, &tl)) == 0 ||
			    g_ascii_strcasecmp(cs, cs2) != 0)
				break;
			p = q;
		}
		b64 = g_base64_encode(bytes->data, bytes->len);
		g_string_append_printf(out, "=?%s?B?%s?=", cs, b64);
		g_free(b64);
		g_byte_array_unref(bytes);
	}
	return g_string_free(out, FALSE);
}

/* the bytes of encoded word text t[0..tl) in encoding enc, appended */
static void
ct_word_bytes(GByteArray *out, char enc, const char *t, size_t tl)
{
	guchar	*dec;
	gint	 state = 0;
	guint	 save = 0;
	size_t	 i, n = 0;

	/* Q: a byte per character at most; B: 3 per 4, + 3 (GLib's rule) */
	dec = g_malloc(tl + 3);
	if (enc == 'B' || enc == 'b')
		n = g_base64_decode_step(t, tl, dec, &state, &save);
	else
		for (i = 0; i < tl; i++) {
			if (t[i] == '=' && i + 2 < tl &&
			    g_ascii_isxdigit(t[i + 1]) &&
			    g_ascii_isxdigit(t[i + 2])) {
				dec[n++] = g_ascii_xdigit_value(t[i + 1]) * 16 +
				    g_ascii_xdigit_value(t[i + 2]);
				i += 2;
			} else
				dec[n++] = t[i] == '_' ? ' ' : t[i];
		}
	g_byte_array_append(out, dec, n);
	g_free(dec);
}

/*
 * ct_bytes_clean - whether p[0..n) converts from charset cs (with an RFC
 * 2231 "*language" or not) to UTF-8 without an error, and holds no NUL.
 */
static bool
ct_bytes_clean(const char *cs, const unsigned char *p, size_t n)
{
	iconv_t	 cd;
	char	 name[64], out[256], *ip, *op, *star;
	size_t	 il, ol;
	bool	 clean = true;

	if (n > 0 && memchr(p, '\0', n) != NULL)
		return false;		/* p is NULL for an empty word */
	strlcpy(name, cs, sizeof(name));
	if ((star = strchr(name, '*')) != NULL)
		*star = '\0';
	/* the usual charsets without a converter (iconv_open is costly) */
	if (g_ascii_strcasecmp(name, "utf-8") == 0 ||
	    g_ascii_strcasecmp(name, "utf8") == 0)
		return g_utf8_validate((const char *)p, (gssize)n, NULL);
	if (g_ascii_strcasecmp(name, "us-ascii") == 0) {
		for (il = 0; il < n; il++)
			if (p[il] >= 0x80)
				return false;
		return true;
	}
	if ((cd = iconv_open("UTF-8", g_mime_charset_iconv_name(name))) ==
	    (iconv_t)-1)
		return false;
	ip = (char *)p;
	il = n;
	while (clean && il > 0) {
		op = out;
		ol = sizeof(out);
		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 &&
		    errno != E2BIG)
			clean = false;	/* EILSEQ, EINVAL */
	}
	iconv_close(cd);
	return clean;
}

/*
 * ct_words_clean - whether every RFC 2047 encoded word of header text s
 * decodes cleanly: its charset is one iconv knows, and its bytes are
 * valid in it and hold no NUL (ct_bytes_clean), taking a run of adjacent
 * words of one charset and encoding together, as GMime 3.2 converts
 * them (a Q word and a B word it converts apart). GMime writes '?' for
 * what is not clean and reads an unknown charset as a fallback one:
 * neither shows in the decoded text, so ct_decoded() cannot see them.
 */
static bool
ct_words_clean(const char *s)
{
	GByteArray	*run;
	const char	*q, *t;
	char		 cs[64], cs2[64], enc, enc2;
	size_t		 n, tl;
	bool		 clean = true;

	while (clean && *s != '\0') {
		if ((n = ct_eword(s, cs, sizeof(cs), &enc, &t, &tl)) == 0) {
			s++;
			continue;
		}
		run = g_byte_array_new();
		for (;;) {
			ct_word_bytes(run, enc, t, tl);
			s += n;
			for (q = s; *q == ' ' || *q == '\t' || *q == '\r' ||
			    *q == '\n'; q++)
				;
			if ((n = ct_eword(q, cs2, sizeof(cs2), &enc2, &t,
			    &tl)) == 0 || g_ascii_strcasecmp(cs, cs2) != 0 ||
			    g_ascii_toupper(enc) != g_ascii_toupper(enc2))
				break;
			s = q;
		}
		clean = ct_bytes_clean(cs, run->data, run->len);
		g_byte_array_unref(run);
	}
	return clean;
}

/* a text header (Subject) decoded to UTF-8, or null */
static json_t *
ct_header_text(GMimeMessage *m, const char *name, bool *issues)
{
	const char	*raw;
	char		*fixed, *dec, *cut;
	json_t		*j;

	if ((raw = ct_raw(m, name)) == NULL)
		return json_null();
	cut = ct_head_in(raw);
	fixed = ct_merge_bwords(cut);
	g_free(cut);
	if (!ct_words_clean(fixed))
		*issues = true;
	dec = g_mime_utils_header_decode_text(NULL, fixed);
	g_strstrip(dec);
	j = ct_decoded(dec, issues);
	g_free(dec);
	g_free(fixed);
	return j;
}

/* an address header decoded to UTF-8, as one string, or null */
static json_t *
ct_header_addrs(GMimeMessage *m, const char *name, bool *issues)
{
	InternetAddressList	*l;
	const char		*raw;
	char			*fixed, *cut;
	json_t			*j;

	if ((raw = ct_raw(m, name)) == NULL)
		return json_null();
	cut = ct_head_in(raw);
	fixed = ct_merge_bwords(cut);
	g_free(cut);
	if (!ct_words_clean(fixed))
		*issues = true;
	l = internet_address_list_parse(NULL, fixed);
	j = ct_addrs(l, issues);
	if (l != NULL)
		g_object_unref(l);
	g_free(fixed);
	return j;
}

/* an address list, decoded, as one string; null if absent or empty */
static json_t *
ct_addrs(InternetAddressList *l, bool *issues)
{
	char	*s;
	json_t	*j;

	if (l == NULL || internet_address_list_length(l) == 0)
		return json_null();
	s = internet_address_list_to_string(l, NULL, FALSE);
	j = ct_decoded(s, issues);
	g_free(s);
	return j;
}

/*
 * the decoded (transfer encoding undone) content of part; *st holds the
 * memory stream owning the bytes (unref it). NULL if no content.
 */
static GByteArray *
ct_decode(GMimePart *part, GMimeStream **st)
{
	GMimeDataWrapper	*w;

	*st = NULL;
	if ((w = g_mime_part_get_content(part)) == NULL)
		return NULL;
	*st = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_write_to_stream(w, *st) < 0) {
		g_object_unref(*st);
		*st = NULL;
		return NULL;
	}
	return g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(*st));
}

/*
 * ct_room - room for want more bytes in the text buffer, growing it (by
 * doubling) up to AN_CT_TEXT_MAX in all; returns the room there is, which
 * is less than want only at that limit. Most messages have a few KB of
 * text: a buffer of the whole limit for each was a 256 KB allocation and
 * free per message, and glibc consolidates its free lists at each.
 */
static size_t
ct_room(struct ct_walk *w, size_t want)
{
	size_t	 need, cap;

	need = want > AN_CT_TEXT_MAX - w->textlen ? AN_CT_TEXT_MAX :
	    w->textlen + want;
	if (need > w->cap) {
		for (cap = w->cap > 0 ? w->cap : 4096; cap < need; cap *= 2)
			;
		if (cap > AN_CT_TEXT_MAX)
			cap = AN_CT_TEXT_MAX;
		w->text = xreallocarray(w->text, cap, 1);
		w->cap = cap;
	}
	return w->cap - w->textlen;
}

/*
 * ct_copy_utf8 - append valid UTF-8 in[0..n) to the text buffer as it is,
 * up to AN_CT_TEXT_MAX and never splitting a character: what iconv from
 * UTF-8 to UTF-8 gives, without opening a converter for it (most parts).
 * Returns the bytes appended.
 */
static size_t
ct_copy_utf8(struct ct_walk *w, const unsigned char *in, size_t n)
{
	size_t	 room;

	if (n == 0)
		return 0;	/* in may be NULL (an empty part) */
	room = ct_room(w, n);
	if (room < 8) {
		w->truncated = true;
		return 0;
	}
	if (n > room) {
		w->truncated = true;
		n = room;
		while (n > 0 && (in[n] & 0xc0) == 0x80)
			n--;		/* in[n] continues a character */
	}
	memcpy(w->text + w->textlen, in, n);
	w->textlen += n;
	return n;
}

/*
 * ct_convert - append in[0..n) in charset cs (NULL: undeclared) to the
 * text buffer as UTF-8, up to AN_CT_TEXT_MAX; bytes invalid in cs become
 * U+FFFD. Returns the bytes appended.
 */
static size_t
ct_convert(struct ct_walk *w, const char *cs, const unsigned char *in,
    size_t n)
{
	iconv_t		 cd;
	char		*ip, *op;
	size_t		 il, ol, start = w->textlen, r, want;
	const char	*from;

	if (cs == NULL || strcasecmp(cs, "us-ascii") == 0 ||
	    strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0) {
		if (!g_utf8_validate((const char *)in, n, NULL)) {
			w->issues = true;	/* undeclared 8-bit */
			cs = "windows-1252";
		} else
			return ct_copy_utf8(w, in, n);
	}
	from = g_mime_charset_iconv_name(cs);
	if ((cd = iconv_open("UTF-8", from)) == (iconv_t)-1) {
		w->issues = true;		/* unknown charset */
		if ((cd = iconv_open("UTF-8", "windows-1252")) == (iconv_t)-1)
			return 0;
	}
	ip = (char *)in;
	il = n;
	/* a byte mostly becomes at most 3 of UTF-8 (U+FFFD included) */
	want = il > AN_CT_TEXT_MAX / 3 ? AN_CT_TEXT_MAX : il * 3 + 8;
	while (il > 0) {
		ol = ct_room(w, want);
		op = w->text + w->textlen;
		if (ol < 8) {
			w->truncated = true;
			break;
		}
		r = iconv(cd, &ip, &il, &op, &ol);
		w->textlen = op - w->text;
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG) {
			if (w->cap < AN_CT_TEXT_MAX) {
				want = AN_CT_TEXT_MAX;	/* more than there is */
				continue;
			}
			w->truncated = true;
			break;
		}
		/* EILSEQ, EINVAL: one bad byte */
		w->issues = true;
		if (il == 0)
			break;	/* a converter that failed on nothing left */
		if (ct_room(w, 3) < 3) {
			w->truncated = true;
			break;
		}
		memcpy(w->text + w->textlen, "\357\277\275", 3);
		w->textlen += 3;
		ip++;
		il--;
	}
	iconv_close(cd);
	return w->textlen - start;
}

/* a text part: converted and kept for the scan */
static void
ct_text(struct ct_walk *w, GMimePart *part)
{
	GMimeStream	*st;
	GByteArray	*ba;
	const char	*cs;

	if ((ba = ct_decode(part, &st)) == NULL)
		return;
	cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part),
	    "charset");
	ct_textbytes(w, cs, ba->data, ba->len);
	g_object_unref(st);
}

/* text in charset cs to the buffer, then a line break between parts */
static void
ct_textbytes(struct ct_walk *w, const char *cs, const unsigned char *p,
    size_t n)
{
	if (w->textlen + 1 >= AN_CT_TEXT_MAX) {
		w->truncated = true;
		return;
	}
	ct_convert(w, cs, p, n);
	if (ct_room(w, 1) >= 1)
		w->text[w->textlen++] = '\n';
}

/*
 * ct_save - store p[0..n) as dir/<hex>, mode 0440, atomically; returns
 * the path (xmalloc'd) or NULL (logged).
 */
static char *
ct_save(const char *dir, const char *hex, const unsigned char *p, size_t n)
{
	struct stat	 sb;
	char		*path, *tmp;
	size_t		 off;
	ssize_t		 r;
	int		 fd;

	xasprintf(&path, "%s/%s", dir, hex);
	if (lstat(path, &sb) == 0) {
		if (S_ISREG(sb.st_mode))
			return path;	/* same hash: same bytes */
		log_warnx("content: attachment path=%s exists, not a file",
		    path);
		free(path);
		return NULL;
	}
	xasprintf(&tmp, "%s/.tmp.%s.XXXXXX", dir, hex);
	if ((fd = mkstemp(tmp)) == -1) {
		log_warn("content: mkstemp %s", tmp);
		goto fail;
	}
	for (off = 0; off < n; off += r)
		if ((r = write(fd, p + off, n - off)) <= 0) {
			log_warn("content: write %s", tmp);
			goto unlink;
		}
	if (fchmod(fd, 0440) == -1 || fsync(fd) == -1) {
		log_warn("content: fchmod/fsync %s", tmp);
		goto unlink;
	}
	if (close(fd) == -1) {
		fd = -1;
		log_warn("content: close %s", tmp);
		goto unlink;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		log_warn("content: rename %s", path);
		goto unlink;
	}
	free(tmp);
	return path;
 unlink:
	if (fd != -1)
		close(fd);
	unlink(tmp);
 fail:
	free(tmp);
	free(path);
	return NULL;
}

/* an attachment: typed, hashed, maybe saved, listed */
static void
ct_attachment(struct ct_walk *w, GMimePart *part)
{
	static const unsigned char	 none[1];
	GMimeContentType	*ct;
	GMimeStream		*st;
	GByteArray		*ba;
	const unsigned char	*data;
	const char		*name;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	char			 hex[2 * EVP_MAX_MD_SIZE + 1], *mt, *saved;
	size_t			 len;
	json_t			*a;

	if (json_array_size(w->atts) >= AN_CT_ATT_MAX) {
		w->truncated = true;
		return;
	}
	ba = ct_decode(part, &st);
	data = ba != NULL ? ba->data : none;
	len = ba != NULL ? ba->len : 0;
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		fatalx("content: EVP_Digest failed");
	hexencode(md, mdlen, hex);
	ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	mt = ct != NULL ? g_mime_content_type_get_mime_type(ct) : NULL;
	if (mt != NULL)
		for (i = 0; mt[i] != '\0'; i++)
			mt[i] = g_ascii_tolower(mt[i]);
	name = g_mime_part_get_filename(part);
	saved = NULL;
	if (w->conf != NULL && w->conf->attachment_dir != NULL &&
	    w->conf->attachment_dir[0] != '\0')
		saved = ct_save(w->conf->attachment_dir, hex, data, len);
	a = json_object();
	json_object_set_new(a, "name", name != NULL ?
	    ct_decoded(name, &w->issues) : json_null());
	json_object_set_new(a, "declared_type",
	    jsu_str(mt != NULL ? mt : "application/octet-stream"));
	json_object_set_new(a, "detected_type",
	    json_string(an_content_magic(data, len)));
	json_object_set_new(a, "size", json_integer((json_int_t)len));
	json_object_set_new(a, "sha256", json_string(hex));
	json_object_set_new(a, "saved", saved != NULL ?
	    jsu_str(saved) : json_null());
	json_array_append_new(w->atts, a);
	free(saved);
	g_free(mt);
	if (st != NULL)
		g_object_unref(st);
}

/* visit obj and its children, at most AN_CT_DEPTH_MAX deep */
static void
ct_walk(struct ct_walk *w, GMimeObject *obj, int depth)
{
	GMimeMessage	*sub;
	const char	*pro;
	int		 i, n;

	if (obj == NULL)
		return;
	if (depth > AN_CT_DEPTH_MAX || w->parts >= AN_CT_PARTS_MAX) {
		w->truncated = true;
		return;
	}
	w->parts++;
	if (GMIME_IS_MULTIPART(obj)) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		/* no parts (no or wrong boundary): read the body as text */
		pro = g_mime_multipart_get_prologue(GMIME_MULTIPART(obj));
		if (n == 0 && pro != NULL)
			ct_textbytes(w, NULL, (const unsigned char *)pro,
			    strlen(pro));
		for (i = 0; i < n; i++)
			ct_walk(w, g_mime_multipart_get_part(
			    GMIME_MULTIPART(obj), i), depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		sub = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (sub != NULL)
			ct_walk(w, g_mime_message_get_mime_part(sub),
			    depth + 1);
	} else if (GMIME_IS_PART(obj)) {
		if (GMIME_IS_TEXT_PART(obj) &&
		    !g_mime_part_is_attachment(GMIME_PART(obj)) &&
		    g_mime_part_get_filename(GMIME_PART(obj)) == NULL)
			ct_text(w, GMIME_PART(obj));
		else
			ct_attachment(w, GMIME_PART(obj));
	}
}

static json_t *
ct_set_json(struct an_strset *s)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < s->n; i++)
		json_array_append_new(a, jsu_str(s->v[i]));
	return a;
}

/*
 * ct_raw_text -- the text of a message GMime does not read (an_mime()
 * gave NULL: its first line is no header field, or an_mime_refused()):
 * its first AN_CT_TEXT_MAX bytes as they are, without NUL bytes, so that
 * URLs and addresses are still found. Not converted: no charset is known.
 */
static void
ct_raw_text(struct ct_walk *w, const char *msg, size_t len)
{
	size_t	 n = len < AN_CT_TEXT_MAX ? len : AN_CT_TEXT_MAX;

	if (len > AN_CT_TEXT_MAX)
		w->truncated = true;
	(void)ct_room(w, n);
	memcpy(w->text, msg, n);
	w->textlen = an_strip_nul(w->text, n);
}

/*
 * ct_run - the content result for ctx's message (AN_OK); AN_SKIP for an
 * empty message. A message GMime does not read is scanned raw: its
 * headers are null, "raw_only" says why (it is null otherwise).
 */
static enum an_status
ct_run(void *state, struct an_ctx *ctx, json_t **out)
{
	struct ct_walk		 w;
	struct an_strset	 urls, domains, emails;
	GMimeMessage		*m;
	const char		*why;
	json_t			*r;

	if (ctx->msglen == 0)
		return AN_SKIP;
	memset(&w, 0, sizeof(w));
	w.conf = state != NULL ? state : ctx->conf;
	(void)ct_room(&w, 4096);
	w.atts = json_array();
	r = json_object();
	if ((m = an_mime(ctx)) == NULL) {
		why = an_mime_refused(ctx->msg, ctx->msglen);
		json_object_set_new(r, "raw_only", json_string(why != NULL ?
		    why : "not a MIME message (its first line is no header "
		    "field)"));
		json_object_set_new(r, "subject", json_null());
		json_object_set_new(r, "subject_raw", json_null());
		json_object_set_new(r, "from", json_null());
		json_object_set_new(r, "to", json_null());
		json_object_set_new(r, "reply_to", json_null());
		ct_raw_text(&w, ctx->msg, ctx->msglen);
		goto scan;
	}
	json_object_set_new(r, "raw_only", json_null());
	json_object_set_new(r, "subject",
	    ct_header_text(m, "Subject", &w.issues));
	json_object_set_new(r, "subject_raw",
	    ct_header_raw(m, "Subject", &w.issues));
	json_object_set_new(r, "from",
	    ct_header_addrs(m, "From", &w.issues));
	json_object_set_new(r, "to", ct_header_addrs(m, "To", &w.issues));
	json_object_set_new(r, "reply_to",
	    ct_header_addrs(m, "Reply-To", &w.issues));
	json_decref(ct_header_raw(m, "From", &w.issues));
	json_decref(ct_header_raw(m, "To", &w.issues));
	json_decref(ct_header_raw(m, "Reply-To", &w.issues));

	ct_walk(&w, g_mime_message_get_mime_part(m), 0);
scan:

	an_strset_init(&urls, AN_CT_URLS_MAX);
	an_strset_init(&domains, AN_CT_URLS_MAX);
	an_strset_init(&emails, AN_CT_EMAILS_MAX);
	an_urls_scan(w.text, w.textlen, &urls, &domains, &emails);
	if (urls.full || domains.full || emails.full)
		w.truncated = true;

	json_object_set_new(r, "charset_issues", json_boolean(w.issues));
	json_object_set_new(r, "text_bytes", json_integer(w.textlen));
	json_object_set_new(r, "truncated", json_boolean(w.truncated));
	json_object_set_new(r, "urls", ct_set_json(&urls));
	json_object_set_new(r, "url_domains", ct_set_json(&domains));
	json_object_set_new(r, "emails", ct_set_json(&emails));
	json_object_set_new(r, "attachments", w.atts);
	an_strset_free(&urls);
	an_strset_free(&domains);
	an_strset_free(&emails);
	free(w.text);
	*out = r;
	return AN_OK;
}
