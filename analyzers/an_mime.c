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
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include <gmime/gmime.h>

#include "an.h"

#define AN_MIME_BOUNDARY_MAX	10000
#define AN_MIME_BOUNDARY_MAX_S	"10000"

/*
 * Charsets GMime must not be handed. GMime 3.2.13 (Debian 12) decoding an
 * RFC 2047 encoded word in ISO-2022-CN-EXT whose text is a lone SO byte
 * ("=?ISO-2022-CN-EXT?B?Dg==?=") asks g_realloc() for 2^64 - 12 bytes,
 * and GLib aborts the process: one header killed the worker. Found by
 * sending every charset of `iconv -l` in encoded words, RFC 2231
 * parameters and text parts through `relaytrap analyze`; this was the
 * only one. Each name is replaced in GMime's copy of the message by one
 * of the same length that no iconv knows, so GMime keeps the encoded
 * text undecoded; the stored message is not touched.
 */
static const char *const an_mime_unsafe[][2] = {
	{ "iso-2022-cn-ext", "x-unsafe-cn-ext" },
};

/*
 * an_casemem -- the first place in p[0..n) where the ASCII string needle
 * is, ignoring case, or NULL. p may hold any bytes, NULs included.
 */
const char *
an_casemem(const void *p, size_t n, const char *needle)
{
	const unsigned char *u = p;
	size_t	 k = strlen(needle), i, j;
	int	 c0;

	if (k == 0 || k > n)
		return NULL;
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
 * an_mime_parse -- GMime's message of msg[0..len) (a new reference the
 * caller unrefs), or NULL (also when an_mime_refused() says why); never
 * hands GMime a charset of an_mime_unsafe.
 */
void *
an_mime_parse(const char *msg, size_t len)
{
	static bool	 inited;
	GMimeStream	*stream;
	GMimeParser	*parser;
	GMimeMessage	*m;
	char		*copy = NULL;
	const char	*hit;
	size_t		 i;

	if (!inited) {
		g_mime_init();
		inited = true;
	}
	if (an_mime_refused(msg, len) != NULL)
		return NULL;
	for (i = 0; i < sizeof(an_mime_unsafe) / sizeof(an_mime_unsafe[0]);
	    i++) {
		const char *from = an_mime_unsafe[i][0];
		size_t	 k = strlen(from), at = 0;

		while ((hit = an_casemem((copy ? copy : msg) + at,
		    len - at, from)) != NULL) {
			at = (size_t)(hit - (copy ? copy : msg));
			if (copy == NULL) {
				copy = g_malloc(len);
				memcpy(copy, msg, len);
			}
			memcpy(copy + at, an_mime_unsafe[i][1], k);
			at += k;
		}
	}
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
 * an_mime_part_text -- the decoded text (UTF-8) of text part part, exactly
 * what g_mime_text_part_get_text() returns, made once per part: the
 * campaign analyzer and the relay-test classifier both want it, and each
 * call converts the charset anew. The string is kept on the part and freed
 * with it; the caller must not free it. NULL if GMime gives none.
 */
const char *
an_mime_part_text(void *part)
{
	static GQuark	 key;
	char		*s;

	if (key == 0)
		key = g_quark_from_static_string("relaytrap-decoded-text");
	if ((s = g_object_get_qdata(G_OBJECT(part), key)) == NULL &&
	    (s = g_mime_text_part_get_text(GMIME_TEXT_PART(part))) != NULL)
		g_object_set_qdata_full(G_OBJECT(part), key, s, g_free);
	return s;
}
