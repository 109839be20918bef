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

#include <stdbool.h>

#include <gmime/gmime.h>

#include "an.h"

/* an_mime - the message parsed by GMime, cached in ctx->mime */
void *
an_mime(struct an_ctx *ctx)
{
	static bool	 inited;
	GMimeStream	*stream;
	GMimeParser	*parser;
	GMimeMessage	*m;

	if (ctx->mime != NULL)
		return ctx->mime;
	if (ctx->msg == NULL)
		return NULL;
	if (!inited) {
		g_mime_init();
		inited = true;
	}
	stream = g_mime_stream_mem_new_with_buffer(ctx->msg, ctx->msglen);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	ctx->mime = m;
	return m;
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
