/*
 * fuzz_message.c -- libFuzzer target for what the worker does with one
 * message's bytes before any lookup: the one GMime parse and relaytrap's
 * checks in front of it (an_mime.c), the content analyzer (decoded
 * headers, text parts, URLs, addresses, attachments: an_content.c), the
 * campaign text, normalisation and hashes (an_campaign.c) and the
 * relay-test classifier (an_relaytest.c), with the built-in default
 * configuration and no DNS, databases or state. The input is the message
 * as stored. What must hold: every analyzer returns one of its statuses
 * with a result where it promises one, the results render as JSON, the
 * campaign text has the length it claims, no NUL byte and at most
 * AN_CAMP_TEXT_MAX bytes, the hashes have their fixed forms, and the
 * classifier's reasons are valid UTF-8.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>
#include <jansson.h>
#include <fuzzy.h>

#include "an.h"
#include "an_campaign.h"
#include "an_campaign_store.h"
#include "an_content.h"
#include "an_relaytest.h"
#include "conf.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct conf		*fz_conf;
static struct an_rt_config	*fz_rt;
static void			*fz_content;
static json_t			*fz_env;

static void
fz_init(void)
{
	const char	*errstr;
	char		 err[256];

	g_mime_init();
	an_relaytest_init();
	if ((fz_conf = conf_load(NULL, NULL, 0)) == NULL)
		abort();
	if ((fz_rt = an_rt_config_new(fz_conf, &errstr)) == NULL)
		abort();
	if (an_content.init(fz_conf, &fz_content, err, sizeof(err)) == -1)
		abort();
	/* an envelope as the SMTP role writes one (docs/SPOOL.md) */
	fz_env = json_pack("{s:i, s:s, s:s, s:s, s:[s, s], s:{s:s, s:i}}",
	    "version", 1, "id", "0190f0e1a2b3c4d5", "helo", "fuzz.example",
	    "mail_from", "tester@fuzz.example", "rcpt", "victim@example.com",
	    "relaytest@example.net", "client", "addr", "192.0.2.7", "port",
	    40000);
	if (fz_env == NULL)
		abort();
}

static bool
hexlen(const char *s, size_t want)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == want;
}

static void
fz_campaign(void *mime, const char *msg, size_t len, const char *subject)
{
	char	 exact[AN_CAMP_EXACT_LEN + 1], fuzzy[FUZZY_MAX_RESULT];
	char	 shingle[AN_CAMP_MH_LEN + 1], *text, *norm, *rawsubj = NULL;
	const char *rcpt[] = { "victim@example.com" };
	size_t	 tlen;

	if (mime != NULL)
		text = an_campaign_text_mime(mime, &tlen);
	else
		text = an_campaign_text_raw(msg, len, &tlen, &rawsubj);
	if (text == NULL || tlen > AN_CAMP_TEXT_MAX || strlen(text) != tlen)
		abort();
	norm = an_campaign_normalise(text, tlen, rcpt, 1);
	if (norm == NULL)
		abort();
	if (*norm == '\0' && subject != NULL) {
		free(norm);
		norm = an_campaign_normalise(subject, strlen(subject), rcpt, 1);
	}
	if (*norm != '\0') {
		if (an_campaign_hash(norm, exact, sizeof(exact), fuzzy,
		    sizeof(fuzzy), shingle, sizeof(shingle)) == -1)
			abort();
		if (!hexlen(exact, AN_CAMP_EXACT_LEN) ||
		    strncmp(shingle, "mh:", 3) != 0 ||
		    !hexlen(shingle + 3, AN_CAMP_MH_LEN - 3) ||
		    memchr(fuzzy, '\0', sizeof(fuzzy)) == NULL)
			abort();
	}
	free(norm);
	free(text);
	free(rawsubj);
}

static void
fz_relaytest(void *mime, const char *msg, size_t len)
{
	struct an_rt_input	 in;
	struct an_rt_verdict	 v;
	size_t			 i;
	char			*dump;

	memset(&in, 0, sizeof(in));
	in.cfg = fz_rt;
	in.envelope = fz_env;
	in.msg = msg;
	in.msglen = len;
	in.mime = mime;
	in.now = 1700000000;
	if (an_relaytest_classify(&in, &v) != 0)
		abort();
	if (v.json == NULL || (v.nreasons > 0 && v.reasons == NULL))
		abort();
	for (i = 0; i < v.nreasons; i++)
		if (v.reasons[i].name == NULL || v.reasons[i].detail == NULL ||
		    !g_utf8_validate(v.reasons[i].detail, -1, NULL))
			abort();
	if ((dump = json_dumps(v.json, JSON_COMPACT)) == NULL)
		abort();
	free(dump);
	an_rt_verdict_free(&v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct an_ctx	 ctx;
	enum an_status	 st;
	json_t		*out = NULL;
	const char	*subject = NULL;
	char		*msg, *dump;

	if (fz_conf == NULL)
		fz_init();
	/* the worker reads the message into a NUL-terminated buffer */
	msg = malloc(size + 1);
	if (msg == NULL)
		return 0;
	memcpy(msg, data, size);
	msg[size] = '\0';

	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = fz_conf;
	ctx.envelope = fz_env;
	ctx.msg = msg;
	ctx.msglen = size;
	ctx.now = 1700000000;
	ctx.results = json_object();
	st = an_content.run(fz_content, &ctx, &out);
	if (st != AN_OK && st != AN_SKIP && st != AN_TEMPFAIL &&
	    st != AN_ERROR)
		abort();
	if (st == AN_OK && out == NULL)
		abort();
	if (out != NULL) {
		if ((dump = json_dumps(out, JSON_COMPACT)) == NULL)
			abort();
		free(dump);
		subject = json_string_value(json_object_get(out, "subject"));
	}
	fz_campaign(an_mime(&ctx), msg, size, subject);
	fz_relaytest(an_mime(&ctx), msg, size);
	json_decref(out);
	json_decref(ctx.results);
	if (ctx.mime != NULL)
		g_object_unref(ctx.mime);
	free(msg);
	return 0;
}
