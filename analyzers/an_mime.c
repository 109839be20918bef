/*
 * an_mime.c -- the message parsed by GMime 3, once per message, shared by
 * every analyzer through ctx->mime.
 *
 * Contract: an_mime(ctx) returns the GMimeMessage * for ctx->msg[0..msglen)
 * (a borrowed reference: callers must not unref it), or NULL if GMime
 * cannot make a message of the bytes. The first call parses and caches the
 * message in ctx->mime; later calls return the cache. The RUNNER owns the
 * cached object: after the last analyzer of a message it must call
 * g_object_unref(ctx->mime) (if not NULL) and set ctx->mime = NULL.
 * A failed parse is not cached (NULL is returned again, re-parsing).
 * The runner calls g_mime_init() at worker start; an_mime() calls it once
 * itself as well, which is harmless (GMime counts its initialisations).
 * GMime copies the bytes; ctx->msg is not referenced after the call.
 * GMime's copy may differ from the stored message in two ways, of the
 * same length, so offsets agree: a header (the message's, a part's, an
 * attached message's) ended by a line of CRs gets an empty line there
 * (an_mime_crline(), mime_part_crlines()), and an address field with
 * more colons than GMime can take has the rest as spaces (mime_colons()).
 */
#include "config.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <string.h>

#include <gmime/gmime.h>

#include "an.h"

#define AN_MIME_BOUNDARY_MAX	10000
#define AN_MIME_BOUNDARY_MAX_S	"10000"
#define AN_MIME_ADDR_COLONS	1000	/* colons in an address field */
#define AN_MIME_BOUNDARIES	32	/* boundaries mime_part_crlines() knows */

/*
 * A charset no process of relaytrap may convert. GMime 3.2.13 (Debian 12)
 * decoding an RFC 2047 encoded word in ISO-2022-CN-EXT whose text is a
 * lone SO byte ("=?ISO-2022-CN-EXT?B?Dg==?=") asks g_realloc() for
 * 2^64 - 12 bytes, and GLib aborts the process: one header killed the
 * worker. Found by sending every charset of `iconv -l` in encoded words,
 * RFC 2231 parameters and text parts through `relaytrap analyze`; this
 * was the only one. Renaming it in GMime's copy of the message missed
 * spellings: RFC 2231-continued ("charset*0=iso-2022-; charset*1=cn-ext"),
 * percent- or backslash-escaped, encoded in a word of its own or folded
 * (a hostile-input run found five). The cause is glibc's converter: it
 * takes a trailing SO byte and then fails with nothing left to read, and
 * a caller that skips "the bad byte" runs off the end. So no converter for
 * it is opened in this process at all: relaytrap's iconv_open() stands in
 * front of the C library's for every caller, GMime included (the
 * executable's definition comes first for the shared libraries too), and
 * refuses ISO-2022-CN-EXT under any spelling as an unknown charset
 * (EINVAL). GMime then keeps such text undecoded, as for any charset it
 * does not know.
 */
static bool
an_iconv_refused(const char *name)
{
	char	 n[32];
	size_t	 i, o;

	for (i = o = 0; name[i] != '\0' && name[i] != '/' &&
	    o < sizeof(n) - 1; i++)
		if (isalnum((unsigned char)name[i]))
			n[o++] = (char)toupper((unsigned char)name[i]);
	n[o] = '\0';
	return strcmp(n, "ISO2022CNEXT") == 0;
}

iconv_t
iconv_open(const char *to, const char *from)
{
	static iconv_t	(*libc_open)(const char *, const char *);

	if (to == NULL || from == NULL || an_iconv_refused(to) ||
	    an_iconv_refused(from)) {
		errno = EINVAL;
		return (iconv_t)-1;
	}
	if (libc_open == NULL && (libc_open = (iconv_t (*)(const char *,
	    const char *))dlsym(RTLD_NEXT, "iconv_open")) == NULL) {
		errno = EINVAL;
		return (iconv_t)-1;
	}
	return libc_open(to, from);
}

static char		*mime_dup(const char *, size_t);
static size_t		 mime_addr_field(const char *, size_t);
static char		*mime_colons(const char *, size_t, char *);
static size_t		 mime_boundaries(const char *, size_t, const char **,
			    size_t *, size_t);
static int		 mime_delimiter(const char *, size_t, const char **,
			    const size_t *, size_t);
static char		*mime_part_crlines(const char *, size_t, char *);
static char		*mime_copy(const char *, size_t);
static GByteArray	*mime_text(GMimeObject *);

/*
 * an_casemem -- the first place in p[0..n) where the ASCII string needle
 * is, ignoring case, or NULL. p may hold any bytes, NULs included. A
 * needle with a byte that has no case (a digit first, else punctuation)
 * is looked for by that byte with memchr().
 */
const char *
an_casemem(const void *p, size_t n, const char *needle)
{
	const unsigned char *u = p, *a;
	size_t	 k = strlen(needle), i, j, at = k;
	int	 c0;

	if (k == 0 || k > n)
		return NULL;
	for (j = 0; j < k; j++)
		if (isdigit((unsigned char)needle[j]) || (at == k &&
		    !isalpha((unsigned char)needle[j])))
			at = j;
	if (at < k) {
		for (i = at; i <= n - k + at; i = (size_t)(a - u) + 1) {
			if ((a = memchr(u + i, needle[at], n - k + at + 1 - i))
			    == NULL)
				return NULL;
			/* a NUL in p ends the compare unequal */
			if (g_ascii_strncasecmp((const char *)a - at, needle,
			    k) == 0)
				return (const char *)a - at;
		}
		return NULL;
	}
	c0 = tolower((unsigned char)needle[0]);
	for (i = 0; i <= n - k; i++) {
		if (tolower(u[i]) != c0)
			continue;
		for (j = 1; j < k && tolower(u[i + j]) ==
		    tolower((unsigned char)needle[j]); j++)
			;
		if (j == k)
			return (const char *)u + i;
	}
	return NULL;
}

/*
 * an_mime_refused -- why msg[0..len) is not handed to GMime, or NULL.
 * GMime builds an object per MIME part, about 1.5 KB each: a 10 MB body of
 * "--B\r\n\r\n" lines (1.45 million parts) took the worker to 2.1 GB. A
 * message with more than AN_MIME_BOUNDARY_MAX lines that could be
 * boundaries is analysed from its raw bytes only.
 */
const char *
an_mime_refused(const char *msg, size_t len)
{
	const char	*p = msg, *end = msg + len;
	size_t		 n = 0;

	while ((p = memmem(p, (size_t)(end - p), "\n--", 3)) != NULL) {
		if (++n > AN_MIME_BOUNDARY_MAX)
			return "more MIME boundary lines than the analyzers "
			    "take (" AN_MIME_BOUNDARY_MAX_S ")";
		p += 3;
	}
	return NULL;
}

/*
 * an_mime_blank -- whether line p[0..n) (without its LF) ends a header:
 * it is empty or holds nothing but CRs. RFC 5322 knows only the empty
 * line; "\r\r\n" is none, but an MTA ends the header at the first line
 * that is no header field (Postfix's cleanup does), so what follows is
 * delivered and read as the body.
 */
bool
an_mime_blank(const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] != '\r')
			return false;
	return true;
}

/*
 * an_mime_crline -- the line of two or more CRs (then LF) that ends the
 * header of msg[0..len) before any empty line does, or NULL. GMime 3.2
 * ends a header only at an empty line: it reads "\r\r\n" and every line
 * after it as header lines, drops those that are no header field, and
 * the message has no body. A spammer's "\r\n\r\r\n" hid the body from
 * every analyzer. The header of a MIME part or of an attached message
 * ended so is mime_part_crlines()'s.
 */
const char *
an_mime_crline(const char *msg, size_t len)
{
	const char	*p, *end = msg + len, *nl;
	size_t		 n;

	for (p = msg; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return NULL;
		n = (size_t)(nl - p);
		if (n < 2 && an_mime_blank(p, n))
			return NULL;	/* the header ends as it should */
		if (an_mime_blank(p, n))
			return p;
	}
	return NULL;
}

/* a copy of msg[0..len), len > 0, to g_free() */
static char *
mime_dup(const char *msg, size_t len)
{
	char	*copy = g_malloc(len);

	memcpy(copy, msg, len);
	return copy;
}

/*
 * mime_addr_field -- if line p[0..n) starts a field that GMime parses as
 * addresses when it makes a message (From, To, Cc, Bcc, Reply-To,
 * Sender; any case, blanks before the colon), the length of its name
 * with the colon, else 0.
 */
static size_t
mime_addr_field(const char *p, size_t n)
{
	static const char *const names[] = {
		"From", "To", "Cc", "Bcc", "Reply-To", "Sender",
	};
	size_t	 i, j, k;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		k = strlen(names[i]);
		if (n <= k || g_ascii_strncasecmp(p, names[i], k) != 0)
			continue;
		for (j = k; j < n && (p[j] == ' ' || p[j] == '\t'); j++)
			;
		if (j < n && p[j] == ':')
			return j + 1;
	}
	return 0;
}

/*
 * mime_colons -- copy, a copy of msg[0..len) (made here if NULL), with
 * the colons of each address field (mime_addr_field(), its folded lines
 * included) past the first AN_MIME_ADDR_COLONS as spaces; NULL when
 * there are none. GMime 3.2 reads "g:g:g:..." as a group in a group,
 * one recursion each: a From of 50,000 (100 KB) overflowed the worker's
 * 8 MB stack. Such lines in bodies are taken too (whether a body holds
 * the header of an attached message is GMime's to find): no text has
 * a thousand colons in a line that starts so.
 */
static char *
mime_colons(const char *msg, size_t len, char *copy)
{
	const char	*p, *end = msg + len, *nl;
	size_t		 i, k, n, colons = 0;
	bool		 in = false;

	/* no field has more colons than the whole message: most end here */
	for (p = msg; colons <= AN_MIME_ADDR_COLONS &&
	    (p = memchr(p, ':', (size_t)(end - p))) != NULL; p++)
		colons++;
	if (colons <= AN_MIME_ADDR_COLONS)
		return copy;
	for (p = msg; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (in && n > 0 && (p[0] == ' ' || p[0] == '\t'))
			k = 0;		/* the field goes on */
		else if ((k = mime_addr_field(p, n)) > 0) {
			in = true;
			colons = 0;
		} else
			in = false;
		for (i = k; in && i < n; i++) {
			if (p[i] != ':' || ++colons <= AN_MIME_ADDR_COLONS)
				continue;
			if (copy == NULL)
				copy = mime_dup(msg, len);
			copy[(size_t)(p - msg) + i] = ' ';
		}
		if (nl == end)
			break;
	}
	return copy;
}

/*
 * mime_boundaries -- the multipart boundaries declared in msg[0..len)
 * (boundary=B or boundary="B", anywhere), at most max: b[i], bl[i] point
 * into msg. Returns how many.
 */
static size_t
mime_boundaries(const char *msg, size_t len, const char **b, size_t *bl,
    size_t max)
{
	const char	*p = msg, *end = msg + len, *q, *start;
	size_t		 n = 0;

	while (n < max && (p = an_casemem(p, (size_t)(end - p), "boundary")) !=
	    NULL) {
		p += 8;
		for (q = p; q < end && (*q == ' ' || *q == '\t'); q++)
			;
		if (q == end || *q++ != '=')
			continue;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q < end && *q == '"')
			for (start = ++q; q < end && *q != '"' && *q != '\r' &&
			    *q != '\n'; q++)
				;
		else
			for (start = q; q < end && *q != ';' && *q != ' ' &&
			    *q != '\t' && *q != '\r' && *q != '\n'; q++)
				;
		if (q > start) {
			b[n] = start;
			bl[n++] = (size_t)(q - start);
		}
	}
	return n;
}

/*
 * mime_delimiter -- whether line p[0..n) (without its LF) is "--" and one
 * of the nb boundaries b, bl, then blanks: 1; the same with "--" after
 * the boundary (the close delimiter): 2; else 0.
 */
static int
mime_delimiter(const char *p, size_t n, const char **b, const size_t *bl,
    size_t nb)
{
	size_t	 i, j;
	int	 kind;

	if (n < 2 || p[0] != '-' || p[1] != '-')
		return 0;
	for (i = 0; i < nb; i++) {
		if (n - 2 < bl[i] || memcmp(p + 2, b[i], bl[i]) != 0)
			continue;
		j = 2 + bl[i];
		kind = 1;
		if (n - j >= 2 && p[j] == '-' && p[j + 1] == '-') {
			j += 2;
			kind = 2;
		}
		while (j < n && (p[j] == ' ' || p[j] == '\t' || p[j] == '\r'))
			j++;
		if (j == n)
			return kind;
	}
	return 0;
}

/*
 * mime_part_crlines -- copy, a copy of msg[0..len) (made here if NULL),
 * with the line of two or more CRs that ends the header of a MIME part
 * (after a delimiter line of a boundary the message declares) or of an
 * attached message (after a header whose Content-Type is message/rfc822)
 * before an empty line does as an empty line, "\r\n", then a body line
 * of the CRs left, as an_mime_crline() does for the message's header;
 * NULL when there is none. GMime read on as header lines to the next
 * boundary: the part had no body (an attachment of 0 bytes). Only the
 * first AN_MIME_BOUNDARIES boundaries are known.
 */
static char *
mime_part_crlines(const char *msg, size_t len, char *copy)
{
	const char	*b[AN_MIME_BOUNDARIES], *p, *end = msg + len, *nl;
	size_t		 bl[AN_MIME_BOUNDARIES], nb, n;
	bool		 head = true, top = true, ctype = false, rfc822 = false;
	int		 d;

	if (memmem(msg, len, "\r\r", 2) == NULL)
		return copy;
	nb = mime_boundaries(msg, len, b, bl, AN_MIME_BOUNDARIES);
	for (p = msg; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		n = (size_t)(nl - p);
		if (!top && (d = mime_delimiter(p, n, b, bl, nb)) != 0) {
			head = d == 1;
			rfc822 = false;
			continue;
		}
		if (!head)
			continue;
		if (!an_mime_blank(p, n)) {
			if (p[0] != ' ' && p[0] != '\t')
				ctype = n > 12 && g_ascii_strncasecmp(p,
				    "Content-Type", 12) == 0;
			if (ctype && an_casemem(p, n, "message/rfc822") != NULL)
				rfc822 = true;
			continue;
		}
		/* the message's own header is an_mime_crline()'s */
		if (n >= 2 && !top) {
			if (copy == NULL)
				copy = mime_dup(msg, len);
			copy[(size_t)(p - msg) + 1] = '\n';
		}
		head = rfc822;		/* an attached message's header next */
		top = rfc822 = ctype = false;
	}
	return copy;
}

/*
 * mime_copy -- the bytes GMime gets instead of msg[0..len), same length,
 * to g_free(); NULL when msg is fine as it is: a header-ending line of
 * CRs (an_mime_crline) becomes an empty line, "\r\n", then a body line of
 * the CRs left, and so for the other headers (mime_part_crlines); colons
 * past what GMime takes become spaces (mime_colons).
 */
static char *
mime_copy(const char *msg, size_t len)
{
	char		*copy = NULL;
	const char	*hit;

	if ((hit = an_mime_crline(msg, len)) != NULL) {
		copy = mime_dup(msg, len);
		copy[(size_t)(hit - msg) + 1] = '\n';
	}
	copy = mime_part_crlines(msg, len, copy);
	return mime_colons(msg, len, copy);
}

/*
 * an_mime_parse -- GMime's message of msg[0..len) (a new reference the
 * caller unrefs), or NULL (also when an_mime_refused() says why); GMime
 * reads the bytes mime_copy() makes of it.
 */
void *
an_mime_parse(const char *msg, size_t len)
{
	static bool	 inited;
	GMimeStream	*stream;
	GMimeParser	*parser;
	GMimeMessage	*m;
	char		*copy;

	if (!inited) {
		g_mime_init();
		inited = true;
	}
	if (an_mime_refused(msg, len) != NULL)
		return NULL;
	copy = mime_copy(msg, len);
	stream = g_mime_stream_mem_new_with_buffer(copy ? copy : msg, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	g_free(copy);
	return m;
}

/* an_mime - the message parsed by GMime, cached in ctx->mime */
void *
an_mime(struct an_ctx *ctx)
{
	if (ctx->mime != NULL)
		return ctx->mime;
	if (ctx->msg == NULL)
		return NULL;
	ctx->mime = an_mime_parse(ctx->msg, ctx->msglen);
	return ctx->mime;
}

/*
 * an_strip_nul -- p[0..n) without its NUL bytes, moved down in place;
 * returns the new length.
 */
size_t
an_strip_nul(char *p, size_t n)
{
	size_t	 i, o;

	for (i = o = 0; i < n; i++)
		if (p[i] != '\0')
			p[o++] = p[i];
	return o;
}

/*
 * mime_text -- the content of text part part, transfer encoding undone
 * and converted from its charset to UTF-8 by GMime's charset filter,
 * exactly as g_mime_text_part_get_text() does it (bytes invalid in the
 * charset become '?'; without a charset, or with one iconv does not
 * know, the bytes are kept as they are), but with the length kept, and
 * then without NUL bytes; a NUL is appended (ba->len counts it). NULL
 * if the part has no content.
 */
static GByteArray *
mime_text(GMimeObject *part)
{
	GMimeDataWrapper *w;
	GMimeStream	*mem, *filtered;
	GMimeFilter	*f;
	GByteArray	*ba;
	const char	*cs;

	if ((w = g_mime_part_get_content(GMIME_PART(part))) == NULL)
		return NULL;
	mem = g_mime_stream_mem_new();
	cs = g_mime_object_get_content_type_parameter(part, "charset");
	if (cs != NULL && (f = g_mime_filter_charset_new(cs, "utf-8")) !=
	    NULL) {
		filtered = g_mime_stream_filter_new(mem);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
		g_object_unref(f);
		(void)g_mime_data_wrapper_write_to_stream(w, filtered);
		(void)g_mime_stream_flush(filtered);
		g_object_unref(filtered);
	} else
		(void)g_mime_data_wrapper_write_to_stream(w, mem);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_object_unref(mem);
	g_byte_array_set_size(ba, an_strip_nul((char *)ba->data, ba->len));
	g_byte_array_append(ba, (const guint8 *)"", 1);
	return ba;
}

/*
 * an_mime_part_text -- the decoded text (UTF-8) of text part part
 * (mime_text()) and its length in *len, made once per part: the
 * campaign analyzer and the relay-test classifier both want it. NUL
 * bytes are left out: they carry no text, and a NUL cut the C string
 * GMime gave, so one at the start of a body hid all of it. Without NULs
 * the text is byte for byte what g_mime_text_part_get_text() gives. The
 * text is kept on the part and freed with it; the caller must not free
 * it. It is NUL-terminated. NULL (*len 0) if GMime gives none.
 */
const char *
an_mime_part_text(void *part, size_t *len)
{
	static GQuark	 key;
	GByteArray	*ba;

	if (key == 0)
		key = g_quark_from_static_string("relaytrap-decoded-text");
	*len = 0;
	if ((ba = g_object_get_qdata(G_OBJECT(part), key)) == NULL) {
		if ((ba = mime_text(GMIME_OBJECT(part))) == NULL)
			return NULL;
		g_object_set_qdata_full(G_OBJECT(part), key, ba,
		    (GDestroyNotify)g_byte_array_unref);
	}
	*len = ba->len - 1;	/* without the NUL mime_text() appended */
	return (const char *)ba->data;
}
