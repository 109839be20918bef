/*
 * an_campaign.c -- the campaign analyzer (issue 4), run in the worker.
 * It takes the text of a message (the text parts GMime decoded, through
 * an_mime(); the raw body when GMime cannot parse it), normalises it so
 * that the copies of one template read alike (an_campaign_normalise), and
 * hashes it twice: SHA-256 for exact matches, ssdeep (libfuzzy) for near
 * ones. A message joins the campaign that has its exact hash, else the
 * one whose representative ssdeep hash compares best at or above
 * conf->campaign_fuzzy_threshold, else it starts a campaign
 * (an_campaign_store.h). The text came from the network: it is bounded
 * (AN_CAMP_TEXT_MAX), never logged, and only its hashes and the escaped
 * sample subject are stored. docs/CAMPAIGNS.md has the rationale.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fuzzy.h>
#include <gmime/gmime.h>
#include <jansson.h>

#include "an.h"
#include "an_campaign.h"
#include "an_campaign_store.h"
#include "buf.h"
#include "compat.h"
#include "jsonutil.h"
#include "log.h"
#include "mix64.h"
#include "xmalloc.h"

#define CAMP_RCPT_MAX	100	/* recipients whose names are blanked */
#define CAMP_TOKEN_LONG	24	/* a word this long is a token */
#define CAMP_TOKEN_MIX	6	/* letters and digits mixed, this long */
#define CAMP_SHINGLE	6	/* bytes per shingle of the signature */

struct camp_state {
	struct an_cstore	*st;
	int			 threshold;
};

static const char camp_punct[] = "<>()[]{}\"'`*,;:!?.|";

/* bytes of white space at p (ASCII, or U+00A0 in UTF-8), else 0 */
static size_t
ws_len(const char *p, size_t left)
{
	if (isspace((unsigned char)*p))
		return 1;
	if (left >= 2 && (unsigned char)p[0] == 0xc2 &&
	    (unsigned char)p[1] == 0xa0)
		return 2;
	return 0;
}

static void
add_lower(struct buf *b, const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		(void)buf_addc(b, (char)tolower((unsigned char)p[i]));
}

static bool
is_rcpt_word(const char *p, size_t n, const char *const *rcpt,
    size_t nrcpt)
{
	const char	*at;
	size_t		 i, ln;

	if (n < 3)
		return false;
	for (i = 0; i < nrcpt && i < CAMP_RCPT_MAX; i++) {
		if (rcpt[i] == NULL || (at = strrchr(rcpt[i], '@')) == NULL)
			continue;
		ln = (size_t)(at - rcpt[i]);
		if ((ln == n && strncasecmp(p, rcpt[i], n) == 0) ||
		    (strlen(at + 1) == n && strncasecmp(p, at + 1, n) == 0))
			return true;
	}
	return false;
}

/* one word without its surrounding punctuation, classified */
static void
add_core(struct buf *b, const char *p, size_t n, const char *const *rcpt,
    size_t nrcpt)
{
	const char	*at;
	size_t		 i, digits = 0, alpha = 0;

	if (n == 0)
		return;
	if (memmem(p, n, "://", 3) != NULL ||
	    (n > 4 && strncasecmp(p, "www.", 4) == 0)) {
		buf_addstr(b, "<url>");
		return;
	}
	if ((at = memchr(p, '@', n)) != NULL && at > p &&
	    memchr(at, '.', n - (size_t)(at - p)) != NULL) {
		buf_addstr(b, "<email>");
		return;
	}
	if (is_rcpt_word(p, n, rcpt, nrcpt)) {
		buf_addstr(b, "<rcpt>");
		return;
	}
	if (n >= CAMP_TOKEN_LONG) {
		buf_addstr(b, "<tok>");
		return;
	}
	for (i = 0; i < n; i++) {
		if (isdigit((unsigned char)p[i]))
			digits++;
		else if (isalpha((unsigned char)p[i]))
			alpha++;
	}
	if (digits > 0 && alpha > 0 && n >= CAMP_TOKEN_MIX) {
		buf_addstr(b, "<tok>");
		return;
	}
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i])) {
			(void)buf_addc(b, (char)tolower((unsigned char)p[i]));
			continue;
		}
		(void)buf_addc(b, '#');
		while (i + 1 < n && isdigit((unsigned char)p[i + 1]))
			i++;
	}
}

/*
 * an_campaign_normalise -- text[0..len) as the copies of one template
 * share it: split at white space (runs become one space, none at the
 * ends); in each word, leading and trailing punctuation is kept and the
 * rest is replaced by "<url>" (contains "://" or starts with "www."),
 * "<email>" (a@b.c), "<rcpt>" (equal, without regard to ASCII case, to
 * the local part or the domain of one of the <nrcpt> recipient
 * addresses), "<tok>" (24 bytes or more, or 6 or more mixing letters and
 * digits: tracking ids, coupon codes), or else lower-cased (ASCII) with
 * every run of digits as "#". UTF-8 beyond ASCII is kept as it is. At
 * most AN_CAMP_TEXT_MAX bytes of text are read. Returns a NUL-terminated
 * string to free(); never NULL.
 */
char *
an_campaign_normalise(const char *text, size_t len, const char *const *rcpt,
    size_t nrcpt)
{
	struct buf	*b;
	char		*ret;
	size_t		 i, j, a, e, w;

	if (len > AN_CAMP_TEXT_MAX)
		len = AN_CAMP_TEXT_MAX;
	/* a placeholder is at most 7/3 of the word it replaces */
	b = buf_new(len + 16, 3 * len + 64);
	for (i = 0; i < len; ) {
		if ((w = ws_len(text + i, len - i)) > 0) {
			i += w;
			continue;
		}
		for (j = i; j < len && ws_len(text + j, len - j) == 0; j++)
			;
		if (b->len > 0)
			(void)buf_addc(b, ' ');
		for (a = i; a < j && text[a] != '\0' &&
		    strchr(camp_punct, text[a]) != NULL; a++)
			;
		for (e = j; e > a && text[e - 1] != '\0' &&
		    strchr(camp_punct, text[e - 1]) != NULL; e--)
			;
		add_lower(b, text + i, a - i);
		add_core(b, text + a, e - a, rcpt, nrcpt);
		add_lower(b, text + e, j - e);
		i = j;
	}
	ret = xstrdup(b->data);
	buf_free(b);
	return ret;
}

/*
 * One-permutation MinHash of the CAMP_SHINGLE-byte shingles of p[0..n):
 * each shingle's hash picks a slot (top 6 bits) and competes for that
 * slot's minimum (the rest); empty slots borrow from the next filled one
 * (densification by rotation), so short texts still fill every slot.
 */
static void
shingle_sig(const char *p, size_t n, char *out, size_t outlen)
{
	uint64_t	 min[AN_CAMP_MH_SLOTS], h, v;
	size_t		 i, k, j, d, nsh;
	char		*o = out;
	bool		 any = false;

	out[0] = '\0';
	if (outlen < AN_CAMP_MH_LEN + 1 || n == 0)
		return;
	for (i = 0; i < AN_CAMP_MH_SLOTS; i++)
		min[i] = UINT64_MAX;
	if (n > AN_CAMP_MH_TEXT_MAX)
		n = AN_CAMP_MH_TEXT_MAX;
	nsh = n >= CAMP_SHINGLE ? n - CAMP_SHINGLE + 1 : 1;
	for (i = 0; i < nsh; i++) {
		h = 0xcbf29ce484222325ULL;		/* FNV-1a */
		for (k = i; k < i + CAMP_SHINGLE && k < n; k++)
			h = (h ^ (unsigned char)p[k]) * 0x100000001b3ULL;
		h = mix64(h);
		j = (size_t)(h >> 58);
		v = h & ((1ULL << 58) - 1);
		if (v < min[j])
			min[j] = v;
		any = true;
	}
	if (!any)
		return;
	memcpy(o, "mh:", 3);
	o += 3;
	for (i = 0; i < AN_CAMP_MH_SLOTS; i++) {
		for (d = 0; min[(i + d) % AN_CAMP_MH_SLOTS] == UINT64_MAX; d++)
			;
		v = (min[(i + d) % AN_CAMP_MH_SLOTS] >> 42) +
		    d * 0x9e37ULL;
		for (k = 0; k < 4; k++)	/* "%04x", without printf */
			*o++ = "0123456789abcdef"[(v >> (12 - 4 * k)) & 0xf];
	}
	*o = '\0';
}

/*
 * an_campaign_hash -- the hashes of normalised text <norm>: the SHA-256
 * in hex (AN_CAMP_EXACT_LEN digits) into exact; the ssdeep hash into
 * fuzzy (at least FUZZY_MAX_RESULT bytes); a MinHash signature of its
 * 6-byte shingles, "mh:" and AN_CAMP_MH_SLOTS 16-bit values in hex, into
 * shingle (at least AN_CAMP_MH_LEN + 1 bytes). ssdeep finds nothing to
 * compare in short texts; the signature does (docs/CAMPAIGNS.md). fuzzy
 * and shingle are "" for an empty <norm>. Returns 0, or -1 (logged).
 */
int
an_campaign_hash(const char *norm, char *exact, size_t exactlen, char *fuzzy,
    size_t fuzzylen, char *shingle, size_t shinglelen)
{
	GChecksum	*ck;
	size_t		 n = strlen(norm);

	if (exactlen < AN_CAMP_EXACT_LEN + 1 || fuzzylen < FUZZY_MAX_RESULT ||
	    shinglelen < AN_CAMP_MH_LEN + 1)
		return -1;
	ck = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(ck, (const guchar *)norm, (gssize)n);
	strlcpy(exact, g_checksum_get_string(ck), exactlen);
	g_checksum_free(ck);
	fuzzy[0] = '\0';
	shingle[0] = '\0';
	if (n == 0)
		return 0;
	shingle_sig(norm, n, shingle, shinglelen);
	if (fuzzy_hash_buf((const unsigned char *)norm, (uint32_t)n,
	    fuzzy) != 0) {
		log_warnx("campaign: fuzzy_hash_buf failed");
		fuzzy[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * Markup out of HTML: tags, comments and the contents of style and
 * script elements become one space, character references a space (&amp;
 * an ampersand). Appends to b.
 */
static void
html_text(struct buf *b, const char *p, size_t n)
{
	const char	*end = p + n, *q, *close;

	while (p < end) {
		if (*p == '<') {
			close = NULL;
			if (end - p > 6 && strncasecmp(p, "<style", 6) == 0)
				close = "</style";
			else if (end - p > 7 &&
			    strncasecmp(p, "<script", 7) == 0)
				close = "</script";
			if (close != NULL) {
				for (q = p + 1; q < end && (size_t)(end - q) >=
				    strlen(close) && strncasecmp(q, close,
				    strlen(close)) != 0; q++)
					;
				p = q;
			}
			if ((q = memchr(p, '>', (size_t)(end - p))) == NULL)
				break;
			(void)buf_addc(b, ' ');
			p = q + 1;
		} else if (*p == '&') {
			for (q = p + 1; q < end && q - p < 10 &&
			    (isalnum((unsigned char)*q) || *q == '#'); q++)
				;
			if (q < end && *q == ';' && q > p + 1) {
				(void)buf_addc(b, strncmp(p, "&amp;", 5) == 0 ?
				    '&' : ' ');
				p = q + 1;
			} else
				(void)buf_addc(b, *p++);
		} else
			(void)buf_addc(b, *p++);
	}
}

struct mime_acc {
	struct buf	*plain;
	struct buf	*html;
};

static void
mime_part(GMimeObject *parent, GMimeObject *part, gpointer arg)
{
	struct mime_acc	*acc = arg;
	GMimeContentType *ct;
	const char	*text;
	size_t		 len;

	(void)parent;
	if (!GMIME_IS_TEXT_PART(part) ||
	    g_mime_part_is_attachment(GMIME_PART(part)))
		return;
	ct = g_mime_object_get_content_type(part);
	if ((text = an_mime_part_text(part, &len)) == NULL)
		return;
	if (ct != NULL && g_mime_content_type_is_type(ct, "text", "html"))
		html_text(acc->html, text, len);
	else if (ct == NULL || g_mime_content_type_is_type(ct, "text",
	    "plain")) {
		(void)buf_add(acc->plain, text, len);
		(void)buf_addc(acc->plain, '\n');
	}
}

/*
 * an_campaign_text_mime -- the text of a GMimeMessage *: its text/plain
 * parts that are not attachments, converted to UTF-8 without NUL bytes
 * (an_mime_part_text), one after another; if there are none, its
 * text/html parts without markup. At most
 * AN_CAMP_TEXT_MAX bytes. Returns a string to free() (maybe "") and its
 * length in *len.
 */
char *
an_campaign_text_mime(void *message, size_t *len)
{
	struct mime_acc	 acc;
	struct buf	*use;
	char		*ret;

	acc.plain = buf_new(1024, AN_CAMP_TEXT_MAX);
	acc.html = buf_new(1024, AN_CAMP_TEXT_MAX);
	if (message != NULL)
		g_mime_message_foreach(GMIME_MESSAGE(message), mime_part, &acc);
	use = acc.plain->len > 0 ? acc.plain : acc.html;
	*len = use->len;
	ret = xmalloc(use->len + 1);
	memcpy(ret, use->data, use->len + 1);
	buf_free(acc.plain);
	buf_free(acc.html);
	return ret;
}

/*
 * an_campaign_text_raw -- the fallback without MIME: the bytes after the
 * first empty line or line of CRs (an_mime_blank; none if there is none),
 * without markup when they hold an <html or <body tag, and without NUL
 * bytes (an_mime_part_text() says why), at most AN_CAMP_TEXT_MAX of the
 * message's bytes; *subject gets the unfolded Subject header as sent
 * (NULL if none), to free(). Returns a string to free() and its length
 * in *len.
 */
char *
an_campaign_text_raw(const char *msg, size_t msglen, size_t *len,
    char **subject)
{
	struct buf	*b;
	const char	*end = msg + msglen, *body = end, *p, *nl;
	char		*ret;
	size_t		 n;

	*subject = NULL;
	for (p = msg; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		n = (size_t)(nl - p);
		if (an_mime_blank(p, n)) {
			body = nl + 1;
			break;
		}
		if (*subject == NULL && n > 8 &&
		    strncasecmp(p, "Subject:", 8) == 0) {
			b = buf_new(128, 4096);
			(void)buf_add(b, p + 8, n - 8 - (p[n - 1] == '\r'));
			while (nl + 1 < end &&
			    (nl[1] == ' ' || nl[1] == '\t')) {
				p = nl + 1;
				if ((nl = memchr(p, '\n', (size_t)(end - p))) ==
				    NULL)
					nl = end;
				n = (size_t)(nl - p);
				(void)buf_add(b, p, n - (n > 0 &&
				    p[n - 1] == '\r'));
				if (nl == end)
					break;
			}
			*subject = xstrdup(b->data);
			buf_free(b);
		}
	}
	n = (size_t)(end - body);
	if (n > AN_CAMP_TEXT_MAX)
		n = AN_CAMP_TEXT_MAX;
	if (memmem(body, n, "<html", 5) != NULL ||
	    memmem(body, n, "<HTML", 5) != NULL ||
	    memmem(body, n, "<body", 5) != NULL ||
	    memmem(body, n, "<BODY", 5) != NULL) {
		b = buf_new(n + 1, n + 1);
		html_text(b, body, n);
		*len = an_strip_nul(b->data, b->len);
		ret = xmalloc(*len + 1);
		memcpy(ret, b->data, *len);
		ret[*len] = '\0';
		buf_free(b);
		return ret;
	}
	ret = xmalloc(n + 1);
	memcpy(ret, body, n);
	*len = an_strip_nul(ret, n);
	ret[*len] = '\0';
	return ret;
}

/* the subject cut at a character boundary, as escaped UTF-8 */
static json_t *
sample_subject(const char *s)
{
	size_t	 n;

	if (s == NULL)
		return json_string("");
	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	if (n > AN_CAMP_SUBJECT_MAX) {
		n = AN_CAMP_SUBJECT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return jsu_bytes(s, n);
}

/*
 * an_campaign_group -- find or start the campaign of message <m> in <st>
 * (a fuzzy match needs a score of at least <threshold>, and above 0) and
 * count it there, once per m->msgid (every time if it is NULL). *out gets
 * the result object (see an_campaign.h); a message counted before gets
 * the answer it had then. A message without text is grouped by its
 * normalised subject; one without either is skipped. Returns AN_OK,
 * AN_SKIP (no *out), AN_ERROR or AN_TEMPFAIL (the store failed); *out
 * explains the last two ({"error": str}).
 */
int
an_campaign_group(struct an_cstore *st, int threshold,
    const struct an_camp_msg *m, json_t **out)
{
	char		 exact[AN_CAMP_EXACT_LEN + 1], fuzzy[FUZZY_MAX_RESULT];
	char		 shingle[AN_CAMP_MH_LEN + 1], id[AN_CAMP_ID_MAX];
	char		 sid[AN_CAMP_ID_MAX], kind[16];
	char		*norm, *sn;
	json_t		*subj, *client;
	int		 score = 0, sscore = 0;
	bool		 found = false, counted = false;

	*out = NULL;
	norm = an_campaign_normalise(m->text, m->textlen, m->rcpt, m->nrcpt);
	if (*norm == '\0' && m->subject != NULL) {
		free(norm);
		sn = an_campaign_normalise(m->subject, strlen(m->subject),
		    m->rcpt, m->nrcpt);
		xasprintf(&norm, "%s%s", *sn ? "subject: " : "", sn);
		free(sn);
	}
	if (*norm == '\0') {
		free(norm);
		return AN_SKIP;
	}
	if (an_campaign_hash(norm, exact, sizeof(exact), fuzzy,
	    sizeof(fuzzy), shingle, sizeof(shingle)) == -1) {
		free(norm);
		*out = json_pack("{s:s}", "error", "cannot hash the text");
		return AN_ERROR;
	}
	free(norm);

	if (an_cstore_begin(st) == -1)
		goto fail;
	if (m->msgid != NULL && an_cstore_member(st, m->msgid, id, sizeof(id),
	    kind, sizeof(kind), &score, &found) == -1)
		goto fail;
	counted = found;
	if (!found) {
		if (an_cstore_find_exact(st, exact, id, sizeof(id),
		    &found) == -1)
			goto fail;
		if (found) {
			strlcpy(kind, "exact", sizeof(kind));
			score = 100;
		}
	}
	if (!found) {
		/* the better of ssdeep and the shingle signature */
		if (an_cstore_find_fuzzy(st, fuzzy, id, sizeof(id),
		    &score) == -1 || an_cstore_find_shingle(st, shingle, sid,
		    sizeof(sid), &sscore) == -1)
			goto fail;
		strlcpy(kind, "fuzzy", sizeof(kind));
		if (sscore > score) {
			score = sscore;
			strlcpy(id, sid, sizeof(id));
			strlcpy(kind, "shingle", sizeof(kind));
		}
		found = score > 0 && score >= threshold;
	}
	if (!found) {
		strlcpy(kind, "new", sizeof(kind));
		subj = sample_subject(m->subject);
		if (an_cstore_create(st, exact, fuzzy, shingle,
		    json_string_value(subj), m->now, id, sizeof(id)) == -1) {
			json_decref(subj);
			goto fail;
		}
		json_decref(subj);
	}
	if (counted)
		goto done;	/* its answer from the first time */
	/* the envelope's strings are escaped already; be sure of it */
	client = m->client != NULL ? jsu_str(m->client) : NULL;
	if (an_cstore_add(st, id, m->msgid, exact, client != NULL ?
	    json_string_value(client) : NULL, m->now, kind, score) == -1) {
		json_decref(client);
		goto fail;
	}
	json_decref(client);
done:
	if (an_cstore_commit(st) == -1)
		goto fail;
	*out = json_pack("{s:s, s:b, s:s, s:s, s:i, s:s}", "campaign", id,
	    "new", strcmp(kind, "new") == 0, "exact", exact, "fuzzy", fuzzy,
	    "score", score, "match", kind);
	return AN_OK;
fail:
	an_cstore_rollback(st);
	*out = json_pack("{s:s}", "error", "campaign store failed");
	return AN_TEMPFAIL;
}

static int
camp_init(const struct conf *conf, void **state, char *err, size_t errlen)
{
	struct camp_state *cs;
	const char	*errstr;
	char		*path;

	cs = xcalloc(1, sizeof(*cs));
	cs->threshold = (int)conf->campaign_fuzzy_threshold;
	xasprintf(&path, "%s/%s", conf->spool, AN_CAMP_DB);
	cs->st = an_cstore_open(path, true, &errstr);
	if (cs->st == NULL) {
		(void)bsnprintf(err, errlen, "%s: %s", path, errstr);
		free(path);
		free(cs);
		return -1;
	}
	free(path);
	/* one transaction per batch of messages (camp_flush) */
	an_cstore_set_batch(cs->st, true);
	*state = cs;
	return 0;
}

static const char *
env_str(const json_t *env, const char *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(env, obj),
	    key));
}

static enum an_status
camp_run(void *state, struct an_ctx *ctx, json_t **out)
{
	struct camp_state *cs = state;
	struct an_camp_msg m;
	const char	*rcpt[CAMP_RCPT_MAX];
	const json_t	*arr, *o;
	void		*mime;
	char		*text, *rawsubj = NULL;
	const char	*csubj;
	size_t		 len, i;
	int		 rc;

	memset(&m, 0, sizeof(m));
	m.msgid = ctx->entry != NULL ? ctx->entry->id : NULL;
	m.client = env_str(ctx->envelope, "client", "addr");
	m.now = ctx->now;
	arr = json_object_get(ctx->envelope, "rcpt");
	if (json_is_array(arr)) {
		json_array_foreach(arr, i, o) {
			if (m.nrcpt == CAMP_RCPT_MAX)
				break;
			if ((rcpt[m.nrcpt] = json_string_value(
			    json_object_get(o, "addr"))) != NULL)
				m.nrcpt++;
		}
	}
	m.rcpt = rcpt;

	if ((mime = an_mime(ctx)) != NULL) {
		text = an_campaign_text_mime(mime, &len);
		m.subject = g_mime_message_get_subject(GMIME_MESSAGE(mime));
	} else {
		text = an_campaign_text_raw(ctx->msg, ctx->msglen, &len,
		    &rawsubj);
		m.subject = rawsubj;
	}
	/* the content analyzer's decoded subject wins when it ran */
	csubj = json_string_value(json_object_get(json_object_get(
	    ctx->results, "content"), "subject"));
	if (csubj != NULL)
		m.subject = csubj;
	m.text = text;
	m.textlen = len;
	rc = an_campaign_group(cs->st, cs->threshold, &m, out);
	free(text);
	free(rawsubj);
	return (enum an_status)rc;
}

static void
camp_flush(void *state)
{
	struct camp_state *cs = state;

	if (cs != NULL)
		(void)an_cstore_flush(cs->st);
}

static void
camp_fini(void *state)
{
	struct camp_state *cs = state;

	if (cs == NULL)
		return;
	an_cstore_close(cs->st);
	free(cs);
}

const struct an_analyzer an_campaign = {
	.name = "campaign",
	.init = camp_init,
	.run = camp_run,
	.flush = camp_flush,
	.fini = camp_fini,
};
