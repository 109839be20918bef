/*
 * test_an_campaign.c -- the campaign analyzer: the normalisation table,
 * the text taken from a message (NUL bytes, a header ended by CRs),
 * hashes of short bodies (with the padding measured against plain
 * ssdeep), grouping of copies of a real spam template (other recipients,
 * links, numbers, an added line) apart from unrelated real spam
 * (tests/fixtures/spam), re-analysis counting once, the analyzer's run()
 * through an_mime() and the raw fallback, store persistence, and
 * "relaytrap campaigns" / "campaign show" on a temporary store.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <ftw.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fuzzy.h>
#include <gmime/gmime.h>
#include <jansson.h>

#include "an.h"
#include "an_campaign.h"
#include "an_campaign_store.h"
#include "conf.h"
#include "conf_defs.h"
#include "queue.h"
#include "tap.h"
#include "testutil.h"
#include "xmalloc.h"

static char		 tmpdir[] = "/tmp/rt-test-an-campaign-XXXXXX";
static const char	*srcdir;

struct norm_case {
	const char	*name;
	const char	*in;
	const char	*rcpt;
	const char	*want;
};

static const struct norm_case norm_cases[] = {
	{ .name = "empty", .in = "", .want = "" },
	{ .name = "blanks only", .in = " \t\r\n ", .want = "" },
	{ .name = "case and white space", .in = "  Hello\r\n\tWORLD  ",
	  .want = "hello world" },
	{ .name = "nbsp is white space", .in = "a\xc2\xa0\xc2\xa0" "b",
	  .want = "a b" },
	{ .name = "utf-8 kept", .in = "Caf\xc3\xa9 GR\xc3\x9c\xc3\x9f",
	  .want = "caf\xc3\xa9 gr\xc3\x9c\xc3\x9f" },
	{ .name = "url with query", .in = "Go: http://x.example/?a=552lr now",
	  .want = "go: <url> now" },
	{ .name = "url in brackets", .in = "(<https://a.example/p>).",
	  .want = "(<<url>>)." },
	{ .name = "www url", .in = "visit www.example.com/x!",
	  .want = "visit <url>!" },
	{ .name = "email", .in = "Write to Sales@Example.COM today",
	  .want = "write to <email> today" },
	{ .name = "mailto", .in = "<mailto:a@b.example>",
	  .want = "<<email>>" },
	{ .name = "numbers", .in = "Save 50% on 3 items, $1,299.99",
	  .want = "save #% on # items, $#,#.#" },
	{ .name = "mixed token", .in = "code X7K2Q9 or ab12", .want =
	  "code <tok> or ab#" },
	{ .name = "long token",
	  .in = "id=QWxhZGRpbjpvcGVuIHNlc2FtZQ trailer",
	  .want = "<tok> trailer" },
	{ .name = "recipient local part", .in = "Dear alice, hi Alice!",
	  .rcpt = "alice@example.org", .want = "dear <rcpt>, hi <rcpt>!" },
	{ .name = "recipient domain", .in = "Your example.org account",
	  .rcpt = "alice@example.org", .want = "your <rcpt> account" },
	{ .name = "short local part kept", .in = "Hi jo",
	  .rcpt = "jo@example.org", .want = "hi jo" },
	{ .name = "punctuation only", .in = "!!! ... ???",
	  .want = "!!! ... ???" },
};

/*
 * The text an_campaign_text_mime() takes from the analyzers' parse
 * (an_mime_parse) of a message. NUL bytes are left out of it: GMime's C
 * string ended at the first one, so a NUL first in every body left only
 * the subject to group by. A header ended by a line of CRs ("\r\r\n")
 * has its body read: GMime alone read on as header lines and dropped it.
 */
struct text_case {
	const char	*name;
	const char	*msg;
	size_t		 len;
	const char	*want;
};

#define TEXT_CASE(n, m, w)	{ .name = (n), .msg = (m), \
				  .len = sizeof(m) - 1, .want = (w) }

static const struct text_case text_cases[] = {
	TEXT_CASE("no NUL", "Subject: s\r\n\r\nBuy now\r\n",
	    "Buy now\r\n\n"),
	TEXT_CASE("NUL first in the body", "Subject: s\r\n\r\n\0Buy now\r\n",
	    "Buy now\r\n\n"),
	TEXT_CASE("NULs inside the body",
	    "Subject: s\r\n\r\nBuy\0 n\0\0ow\r\n\0", "Buy now\r\n\n"),
	TEXT_CASE("NUL from base64",
	    "Subject: s\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	    "AEJ1eSBub3c=\r\n", "Buy now\n"),
	TEXT_CASE("NUL in latin-1",
	    "Subject: s\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	    "\r\n\0caf\351\0\r\n", "caf\303\251\r\n\n"),
	TEXT_CASE("U+0000 in UTF-16",
	    "Subject: s\r\nContent-Type: text/plain; charset=utf-16be\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAAAASABp\r\n", "Hi\n"),
	TEXT_CASE("NUL in HTML",
	    "Subject: s\r\nContent-Type: text/html\r\n\r\n"
	    "\0<p>Buy\0 now</p>", " Buy now "),
	TEXT_CASE("NUL in the second part",
	    "Subject: s\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
	    "--B\r\n\r\none\r\n--B\r\n\r\n\0two\r\n--B--\r\n",
	    "one\ntwo\n"),
	TEXT_CASE("CR CRLF ends the header",
	    "From: a@b.example\r\nSubject: s\r\n\r\r\nBuy now\r\n",
	    "\nBuy now\r\n\n"),
	TEXT_CASE("three CRs end the header",
	    "Subject: s\r\n\r\r\r\nBuy now\r\n", "\r\nBuy now\r\n\n"),
	TEXT_CASE("CR CR LF after LF lines", "Subject: s\n\r\r\nBuy now\n",
	    "\nBuy now\n\n"),
	TEXT_CASE("CR CRLF, then base64",
	    "Subject: s\r\nContent-Transfer-Encoding: base64\r\n\r\r\n"
	    "QnV5IG5vdw==\r\n", "Buy now\n"),
	TEXT_CASE("header-like line after CR CRLF is body",
	    "Subject: s\r\n\r\r\nX-Foo: bar\r\n\r\nBuy now\r\n",
	    "\nX-Foo: bar\r\n\r\nBuy now\r\n\n"),
	TEXT_CASE("CR CRLF after the empty line is body",
	    "Subject: s\r\n\r\n\r\r\nBuy now\r\n", "\r\r\nBuy now\r\n\n"),
};

static char *
slurp(const char *rel, size_t *len)
{
	char	 path[1024];
	FILE	*fp;
	char	*p;
	long	 n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/spam/%s", srcdir, rel);
	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	p = xmalloc((size_t)n + 1);
	*len = fread(p, 1, (size_t)n, fp);
	p[*len] = '\0';
	fclose(fp);
	return p;
}

/* s with every occurrence of a replaced by b; free() it */
static char *
subst(const char *s, const char *a, const char *b)
{
	const char	*p;
	char		*out, *o;
	size_t		 na = strlen(a), nb = strlen(b), n = 0;

	for (p = s; (p = strstr(p, a)) != NULL; p += na)
		n++;
	out = o = xmalloc(strlen(s) + n * nb + 1);
	while ((p = strstr(s, a)) != NULL) {
		memcpy(o, s, (size_t)(p - s));
		o += p - s;
		memcpy(o, b, nb);
		o += nb;
		s = p + na;
	}
	strcpy(o, s);
	return out;
}

static void
test_normalise(void)
{
	const struct norm_case *c;
	const char	*rcpt[1];
	char		*got;
	size_t		 i;

	for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		c = &norm_cases[i];
		rcpt[0] = c->rcpt;
		got = an_campaign_normalise(c->in, strlen(c->in), rcpt,
		    c->rcpt != NULL ? 1 : 0);
		is_str(got, c->want, "normalise: %s", c->name);
		free(got);
	}
}

static void
test_text_mime(void)
{
	const struct text_case *c;
	void		*m;
	char		*got;
	size_t		 i, len;

	for (i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		c = &text_cases[i];
		m = an_mime_parse(c->msg, c->len);
		got = an_campaign_text_mime(m, &len);
		is_mem(got, len, c->want, strlen(c->want), "text: %s",
		    c->name);
		ok(strlen(got) == len, "text: %s: NUL-terminated at its "
		    "length", c->name);
		free(got);
		if (m != NULL)
			g_object_unref(m);
	}
}

/* ssdeep and shingle scores of two texts through the analyzer's hashes */
static void
scores_of(const char *a, const char *b, int *fz, int *sh)
{
	char	 ea[80], eb[80], fa[FUZZY_MAX_RESULT], fb[FUZZY_MAX_RESULT];
	char	 sa[AN_CAMP_MH_LEN + 1], sb[AN_CAMP_MH_LEN + 1];
	char	*na, *nb;

	*fz = *sh = -1;
	na = an_campaign_normalise(a, strlen(a), NULL, 0);
	nb = an_campaign_normalise(b, strlen(b), NULL, 0);
	if (an_campaign_hash(na, ea, sizeof(ea), fa, sizeof(fa), sa,
	    sizeof(sa)) == 0 && an_campaign_hash(nb, eb, sizeof(eb), fb,
	    sizeof(fb), sb, sizeof(sb)) == 0) {
		*fz = fuzzy_compare(fa, fb);
		*sh = an_cstore_shingle_compare(sa, sb);
	}
	free(na);
	free(nb);
}

static const char short_a[] =
    "Hello, your parcel is waiting at our depot. Confirm delivery at "
    "http://x.example/track?id=12345 within 24 hours or it is returned.";
static const char short_b[] =
    "Hello, your parcel is waiting at our depot. Confirm delivery at "
    "http://y.example/t?id=99 within 48 hours or it is returned.";
static const char short_c[] =
    "Hello, your parcel is waiting at our depot. Please confirm "
    "delivery at http://x.example/track within 24 hours or it is returned.";
static const char short_c2[] =
    "Hello, your parcel is still waiting at our depot. Please confirm "
    "delivery at http://x.example/track within 24 hours or it is returned.";
static const char short_d[] =
    "Cheap replica watches, best prices on the market, buy now and save "
    "big on every order you make this week only.";
static const char short_e[] =
    "Hello, your account is waiting for verification. Confirm your "
    "password at http://x.example/login within 24 hours or it is closed.";

static void
test_hash_short(void)
{
	char	 e1[80], e2[80], f1[FUZZY_MAX_RESULT], f2[FUZZY_MAX_RESULT];
	char	 s1[AN_CAMP_MH_LEN + 1], s2[AN_CAMP_MH_LEN + 1];
	char	*n1, *n2;
	int	 fz, sh, fz2, sh2, fz3, sh3, fz4, sh4;

	n1 = an_campaign_normalise(short_a, strlen(short_a), NULL, 0);
	n2 = an_campaign_normalise(short_b, strlen(short_b), NULL, 0);
	is_int(an_campaign_hash(n1, e1, sizeof(e1), f1, sizeof(f1), s1,
	    sizeof(s1)), 0, "hash short a");
	an_campaign_hash(n2, e2, sizeof(e2), f2, sizeof(f2), s2, sizeof(s2));
	is_int(strlen(e1), AN_CAMP_EXACT_LEN, "exact is 64 hex digits");
	is_int(strlen(s1), AN_CAMP_MH_LEN, "shingle signature length");
	is_str(e1, e2, "other link and numbers: same exact hash");
	is_str(f1, f2, "other link and numbers: same fuzzy hash");
	is_str(s1, s2, "other link and numbers: same signature");
	ok(an_campaign_hash("", e1, sizeof(e1), f1, sizeof(f1), s1,
	    sizeof(s1)) == 0 && f1[0] == '\0' && s1[0] == '\0',
	    "empty text: no fuzzy hash, no signature");
	ok(an_campaign_hash(n1, e1, 10, f1, sizeof(f1), s1, sizeof(s1)) == -1,
	    "short exact buffer refused");
	ok(an_campaign_hash("ab", e1, sizeof(e1), f1, sizeof(f1), s1,
	    sizeof(s1)) == 0 && strlen(s1) == AN_CAMP_MH_LEN,
	    "text shorter than a shingle: still a signature");
	free(n1);
	free(n2);

	scores_of(short_a, short_c, &fz, &sh);
	scores_of(short_a, short_d, &fz2, &sh2);
	scores_of(short_a, short_e, &fz3, &sh3);
	scores_of(short_a, short_c2, &fz4, &sh4);
	printf("# measured: short copy, one word added: ssdeep %d, shingle "
	    "%d; two words: ssdeep %d, shingle %d; unrelated: ssdeep %d, "
	    "shingle %d; same opening, other message: ssdeep %d, shingle "
	    "%d\n", fz, sh, fz4, sh4, fz2, sh2, fz3, sh3);
	ok(sh >= CONF_DEF_CAMPAIGN_FUZZY, "short: edited copy, shingle "
	    "score %d >= %d", sh, CONF_DEF_CAMPAIGN_FUZZY);
	ok(fz < CONF_DEF_CAMPAIGN_FUZZY, "short: ssdeep alone misses it (%d)",
	    fz);
	ok(sh2 < 30 && fz2 < 30, "short: unrelated scores %d, %d < 30", sh2,
	    fz2);
	ok(sh3 < CONF_DEF_CAMPAIGN_FUZZY && fz3 < CONF_DEF_CAMPAIGN_FUZZY,
	    "short: same opening, other message: %d, %d below threshold",
	    sh3, fz3);
}

/* group one fixture-like message, parsed by GMime as an_mime() does */
static json_t *
group_msg(struct an_cstore *st, const char *msgid, const char *msg,
    size_t len, const char *client, const char *rcpt, int64_t now)
{
	GMimeStream	*stream;
	GMimeParser	*parser;
	GMimeMessage	*m;
	struct an_camp_msg cm;
	const char	*rv[1] = { rcpt };
	json_t		*out = NULL;
	char		*text;
	size_t		 tlen;

	stream = g_mime_stream_mem_new_with_buffer(msg, len);
	parser = g_mime_parser_new_with_stream(stream);
	m = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	memset(&cm, 0, sizeof(cm));
	text = an_campaign_text_mime(m, &tlen);
	cm.msgid = msgid;
	cm.client = client;
	cm.subject = m != NULL ? g_mime_message_get_subject(m) : NULL;
	cm.text = text;
	cm.textlen = tlen;
	cm.rcpt = rv;
	cm.nrcpt = rcpt != NULL ? 1 : 0;
	cm.now = now;
	if (an_campaign_group(st, CONF_DEF_CAMPAIGN_FUZZY, &cm, &out) !=
	    AN_OK) {
		json_decref(out);
		out = NULL;
	}
	free(text);
	if (m != NULL)
		g_object_unref(m);
	return out;
}

static const char *
jcamp(const json_t *r)
{
	const char *s = json_string_value(json_object_get(r, "campaign"));

	return s != NULL ? s : "(none)";
}

static const char *const unrelated[] = {
	"spamassassin-t-data/spam/001", "spamassassin-t-data/spam/002",
	"spamassassin-t-data/spam/003", "spamassassin-t-data/spam/005",
	"spamassassin-t-data/spam/008", "spamassassin-t-data/spam/010",
	"spamassassin-t-data/spam/gtube.eml",
	"spamassassin-t-data/spam/unicode2",
	"spamassassin-t-data/spam/base64.txt",
	"rspamd-test-messages/spam_message.eml",
	"mail-parser-tests/mail_test_3.eml",
	"mail-parser-tests/mail_test_9.eml",
};

struct camp_count {
	int	 n;
	int64_t	 count;
	int64_t	 nsources;
	char	 subject[256];
};

static int
count_cb(const struct an_camp *c, void *arg)
{
	struct camp_count *cc = arg;

	cc->n++;
	cc->count = c->count;
	cc->nsources = c->nsources;
	snprintf(cc->subject, sizeof(cc->subject), "%s", c->subject);
	return 0;
}

static int
src_cb(const struct an_camp_source *s, void *arg)
{
	int	*n = arg;

	(void)s;
	(*n)++;
	return 0;
}

static void
test_grouping(const char *path)
{
	struct an_cstore *st;
	struct camp_count cc;
	const char	*errstr;
	char		*tpl, *v, *w, *x, tid[AN_CAMP_ID_MAX], msgid[32];
	char		*uni[sizeof(unrelated) / sizeof(unrelated[0])];
	json_t		*r;
	size_t		 len, i, j;
	int		 nsrc = 0;
	bool		 fine;

	if ((tpl = slurp("spamassassin-t-data/spam/015", &len)) == NULL) {
		ok(0, "fixture 015 readable");
		return;
	}
	st = an_cstore_open(path, true, &errstr);
	ok(st != NULL, "open store");

	r = group_msg(st, "0000000000000001", tpl, len, "203.0.113.1",
	    "user@example.com", 1000);
	ok(r != NULL && json_is_true(json_object_get(r, "new")),
	    "template founds a campaign");
	is_str(json_string_value(json_object_get(r, "match")), "new",
	    "match new");
	snprintf(tid, sizeof(tid), "%s", jcamp(r));
	ok(an_cstore_id_valid(tid), "campaign id %s is valid", tid);
	ok(json_string_value(json_object_get(r, "fuzzy")) != NULL &&
	    strchr(json_string_value(json_object_get(r, "fuzzy")), ':'),
	    "fuzzy hash present");
	json_decref(r);

	/* another recipient, another link */
	v = subst(tpl, "user@example.com", "alice@example.org");
	w = subst(v, "http://xqr.benefitsanditsother.com/?a=552lr",
	    "http://zz.cheapmeds.example/?a=913qq&r=alice");
	r = group_msg(st, "0000000000000002", w, strlen(w), "203.0.113.2",
	    "alice@example.org", 1100);
	is_str(jcamp(r), tid, "copy with other rcpt and link joins");
	is_str(json_string_value(json_object_get(r, "match")), "exact",
	    "... exactly");
	is_int(json_integer_value(json_object_get(r, "score")), 100,
	    "... score 100");
	json_decref(r);
	free(v);
	free(w);

	/* greeting by name, other numbers, an added line: fuzzy */
	v = subst(tpl, "user@example.com", "bob@example.net");
	w = subst(v, "Good Day,", "Good Day bob,\n\nOrder 4471 ships today.");
	x = subst(w, "Lower overhead", "Our lower overhead");
	r = group_msg(st, "0000000000000003", x, strlen(x), "198.51.100.7",
	    "bob@example.net", 1200);
	is_str(jcamp(r), tid, "edited copy joins");
	is_str(json_string_value(json_object_get(r, "match")), "fuzzy",
	    "... by the fuzzy hash");
	printf("# measured: edited copy of 015 scores %lld\n",
	    (long long)json_integer_value(json_object_get(r, "score")));
	json_decref(r);
	free(v);
	free(w);
	free(x);

	/* the real second copy in the fixtures */
	free(tpl);
	tpl = slurp("spamassassin-t-data/spam/016", &len);
	r = group_msg(st, "0000000000000004", tpl, len, "203.0.113.1",
	    "user@example.com", 1300);
	is_str(jcamp(r), tid, "fixture 016 (same body) joins");
	json_decref(r);

	/* re-analysis: the same answer, counted once */
	x = subst(tpl, "Good Day,", "Hello,");
	r = group_msg(st, "0000000000000003", x, strlen(x), "198.51.100.7",
	    "bob@example.net", 1400);
	is_str(jcamp(r), tid, "re-run: same campaign");
	is_str(json_string_value(json_object_get(r, "match")), "fuzzy",
	    "re-run: the stored match kind");
	json_decref(r);
	free(x);
	free(tpl);

	memset(&cc, 0, sizeof(cc));
	an_cstore_get(st, tid, count_cb, &cc, NULL);
	is_int(cc.count, 4, "template campaign counts 4");
	is_int(cc.nsources, 3, "... from 3 sources");
	is_str(cc.subject, "no r-x req", "... sample subject");
	an_cstore_sources(st, tid, 2, src_cb, &nsrc);
	is_int(nsrc, 2, "top 2 sources");

	/* unrelated spam starts campaigns of its own */
	fine = true;
	for (i = 0; i < sizeof(unrelated) / sizeof(unrelated[0]); i++) {
		uni[i] = NULL;
		if ((v = slurp(unrelated[i], &len)) == NULL) {
			ok(0, "fixture %s readable", unrelated[i]);
			continue;
		}
		snprintf(msgid, sizeof(msgid), "10000000000000%02zu", i);
		r = group_msg(st, msgid, v, len, "192.0.2.9", NULL, 2000);
		free(v);
		ok(r != NULL && json_is_true(json_object_get(r, "new")),
		    "unrelated %s: new campaign (score %lld)", unrelated[i],
		    (long long)json_integer_value(json_object_get(r,
		    "score")));
		uni[i] = xstrdup(jcamp(r));
		if (strcmp(uni[i], tid) == 0)
			fine = false;
		for (j = 0; j < i; j++)
			if (uni[j] != NULL && strcmp(uni[i], uni[j]) == 0)
				fine = false;
		json_decref(r);
	}
	ok(fine, "unrelated spam: all campaigns distinct");
	for (i = 0; i < sizeof(unrelated) / sizeof(unrelated[0]); i++)
		free(uni[i]);
	an_cstore_close(st);

	/* persistence */
	st = an_cstore_open(path, false, &errstr);
	ok(st != NULL, "reopen store");
	memset(&cc, 0, sizeof(cc));
	an_cstore_list(st, count_cb, &cc);
	is_int(cc.n, 1 + (int)(sizeof(unrelated) / sizeof(unrelated[0])),
	    "reopened: all campaigns listed");
	memset(&cc, 0, sizeof(cc));
	an_cstore_get(st, tid, count_cb, &cc, NULL);
	is_int(cc.count, 4, "reopened: count kept");
	an_cstore_close(st);
	ok(an_cstore_open("/nonexistent-dir/x.sqlite", true, &errstr) ==
	    NULL && errstr != NULL, "open in a missing directory fails");
}

/* the analyzer's own entry points: init, run (an_mime), fini */
/* every fixture message, each its own message: what groups, measured */
static struct an_cstore	*all_st;
static int		 all_n, all_new;

static int
all_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	const char	*base = path + ftw->base, *rel;
	char		 msgid[32];
	char		*msg;
	size_t		 len;
	json_t		*r;

	(void)sb;
	if (flag != FTW_F || strncmp(base, "LICENSE", 7) == 0 ||
	    strncmp(base, "NOTICE", 6) == 0 || strncmp(base, "README", 6) == 0)
		return 0;
	rel = strstr(path, "/spam/") + 6;
	if ((msg = slurp(rel, &len)) == NULL)
		return 0;
	snprintf(msgid, sizeof(msgid), "20000000%08x", all_n++);
	r = group_msg(all_st, msgid, msg, len, "192.0.2.1", NULL, 3000);
	free(msg);
	if (r == NULL) {
		printf("# measured: %s: no text\n", rel);
		return 0;
	}
	if (json_is_true(json_object_get(r, "new")))
		all_new++;
	else
		printf("# measured: %s joins %s (%s, score %lld)\n", rel,
		    jcamp(r), json_string_value(json_object_get(r, "match")),
		    (long long)json_integer_value(json_object_get(r,
		    "score")));
	json_decref(r);
	return 0;
}

static void
test_all_fixtures(void)
{
	char	 path[600], dir[600];
	const char *errstr;
	long long t0;

	snprintf(path, sizeof(path), "%s/all.sqlite", tmpdir);
	snprintf(dir, sizeof(dir), "%s/tests/fixtures/spam", srcdir);
	all_st = an_cstore_open(path, true, &errstr);
	t0 = tu_now_ms();
	ok(all_st != NULL && nftw(dir, all_cb, 16, FTW_PHYS) == 0,
	    "all fixtures grouped");
	printf("# measured: %d fixture messages, %d campaigns, %lld ms "
	    "(parse, normalise, hash, store)\n", all_n, all_new,
	    tu_now_ms() - t0);
	ok(all_new > all_n / 2, "most fixtures are campaigns of their own");
	an_cstore_close(all_st);
}

static void
test_run(void)
{
	struct conf	 conf;
	struct an_ctx	 ctx;
	struct queue_entry e;
	void		*state = NULL;
	json_t		*env, *res, *out = NULL;
	char		 err[256], *msg;
	size_t		 len;
	enum an_status	 rc;
	static const char raw[] = "Subject: short one\r\n\r\n"
	    "Hi there, call 555-1234 now!\r\n";

	memset(&conf, 0, sizeof(conf));
	conf.spool = tmpdir;
	conf.campaign_fuzzy_threshold = CONF_DEF_CAMPAIGN_FUZZY;
	is_int(an_campaign.init(&conf, &state, err, sizeof(err)), 0,
	    "init with the spool");
	is_str(an_campaign.name, "campaign", "analyzer name");

	msg = slurp("spamassassin-t-data/spam/017", &len);
	free(msg);
	msg = slurp("spamassassin-t-data/spam/015", &len);
	env = json_pack("{s:{s:s}, s:[{s:s}]}", "client", "addr",
	    "203.0.113.50", "rcpt", "addr", "user@example.com");
	res = json_object();
	memset(&ctx, 0, sizeof(ctx));
	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "00000000000000aa");
	ctx.conf = &conf;
	ctx.entry = &e;
	ctx.envelope = env;
	ctx.msg = msg;
	ctx.msglen = len;
	ctx.results = res;
	ctx.now = 5000;
	rc = an_campaign.run(state, &ctx, &out);
	is_int(rc, AN_OK, "run: ok");
	ok(out != NULL && json_is_false(json_object_get(out, "new")),
	    "run: joins the template campaign of the grouping test");
	ok(json_object_get(out, "exact") && json_object_get(out, "fuzzy") &&
	    json_object_get(out, "score") && json_object_get(out, "campaign"),
	    "run: result has campaign, exact, fuzzy, score");
	json_decref(out);
	if (ctx.mime != NULL)
		g_object_unref(ctx.mime);
	free(msg);

	/* raw fallback and the content analyzer's subject */
	ctx.mime = NULL;
	snprintf(e.id, sizeof(e.id), "00000000000000ab");
	ctx.msg = raw;
	ctx.msglen = sizeof(raw) - 1;
	json_object_set_new(res, "content", json_pack("{s:s}", "subject",
	    "Decoded subject"));
	rc = an_campaign.run(state, &ctx, &out);
	is_int(rc, AN_OK, "run short message: ok");
	ok(out != NULL && json_is_true(json_object_get(out, "new")),
	    "run short message: new campaign");
	json_decref(out);
	if (ctx.mime != NULL)
		g_object_unref(ctx.mime);

	/* nothing at all to hash */
	ctx.mime = NULL;
	snprintf(e.id, sizeof(e.id), "00000000000000ac");
	ctx.msg = "\r\n";
	ctx.msglen = 2;
	json_object_del(res, "content");
	out = NULL;
	rc = an_campaign.run(state, &ctx, &out);
	is_int(rc, AN_SKIP, "run empty message: skip");
	ok(out == NULL, "run empty message: no result");
	if (ctx.mime != NULL)
		g_object_unref(ctx.mime);
	json_decref(env);
	json_decref(res);
	an_campaign.fini(state);
}

static void
test_raw(void)
{
	static const char m[] = "From: a@b\r\nSubject: Hello\r\n  World\r\n"
	    "\r\n<html><style>p{}</style><p>Buy&nbsp;now &amp; save</p>";
	static const char crcr[] = "Subject: s\r\n\r\r\n\0Buy\0 now\r\n";
	static const char crcrhtml[] = "Subject: s\r\n\r\r\n"
	    "<html>\0<p>Buy\0 now</p>";
	char	*subj, *t;
	size_t	 len;

	t = an_campaign_text_raw(m, sizeof(m) - 1, &len, &subj);
	is_str(subj, " Hello  World", "raw: unfolded subject");
	is_str(t, "   Buy now & save ", "raw: html stripped");
	free(t);
	free(subj);
	t = an_campaign_text_raw("no header end", 13, &len, &subj);
	ok(subj == NULL && len == 0, "raw: no empty line, no body");
	free(t);
	t = an_campaign_text_raw(crcr, sizeof(crcr) - 1, &len, &subj);
	is_str(subj, " s", "raw: subject before a line of CRs");
	is_mem(t, len, "Buy now\r\n", 9, "raw: a line of CRs ends the "
	    "header; NULs left out");
	free(t);
	free(subj);
	t = an_campaign_text_raw(crcrhtml, sizeof(crcrhtml) - 1, &len, &subj);
	is_mem(t, len, "  Buy now ", 10, "raw: html without NULs");
	free(t);
	free(subj);
}

/* run cmd; its stdout into out (NUL-terminated); its exit code */
static int
run_cmd(const char *cmd, char *out, size_t outlen)
{
	char	 full[2200];
	FILE	*fp;
	size_t	 n;
	int	 st;

	snprintf(full, sizeof(full), "%s 2>/dev/null", cmd);
	if ((fp = popen(full, "r")) == NULL)
		return -1;
	n = fread(out, 1, outlen - 1, fp);
	out[n] = '\0';
	st = pclose(fp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* relaytrap -s tmpdir args */
static int
run_cli(const char *bin, const char *args, char *out, size_t outlen)
{
	char	 cmd[2048];

	snprintf(cmd, sizeof(cmd), "%s -s %s %s", bin, tmpdir, args);
	return run_cmd(cmd, out, outlen);
}

static void
test_cli(void)
{
	const char	*bdir, *line, *id = NULL;
	char		 bin[512], out[16384], args[256], path[512], cid[64];
	char		 cmd[2048];
	json_t		*j;
	int		 n = 0;

	bdir = getenv("RT_TOP_BUILDDIR");
	snprintf(bin, sizeof(bin), "%s/relaytrap", bdir ? bdir : ".");
	if (access(bin, X_OK) == -1) {
		printf("ok %d - # SKIP relaytrap not built\n", ++tap_n);
		return;
	}
	is_int(run_cli(bin, "campaigns --json", out, sizeof(out)), 0,
	    "cli: campaigns --json exits 0");
	cid[0] = '\0';
	for (line = out; *line != '\0'; line = strchr(line, '\n') + 1) {
		j = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
		if (j != NULL) {
			n++;
			if (json_integer_value(json_object_get(j, "count")) ==
			    5 && (id = json_string_value(json_object_get(j,
			    "id"))) != NULL)
				snprintf(cid, sizeof(cid), "%s", id);
			json_decref(j);
		}
		if (strchr(line, '\n') == NULL)
			break;
	}
	is_int(n, 14, "cli: one JSON object per campaign");
	ok(cid[0] != '\0', "cli: the template campaign listed with count 5");
	is_int(run_cli(bin, "campaigns", out, sizeof(out)), 0,
	    "cli: campaigns exits 0");
	ok(strstr(out, cid) != NULL && strstr(out, "no r-x req") != NULL,
	    "cli: text list has id and subject");
	snprintf(args, sizeof(args), "campaign show %s --json", cid);
	is_int(run_cli(bin, args, out, sizeof(out)), 0, "cli: show exits 0");
	j = json_loads(out, 0, NULL);
	is_int(json_array_size(json_object_get(j, "top_sources")), 4,
	    "cli: show lists 4 sources");
	json_decref(j);
	snprintf(args, sizeof(args), "campaign show %s", cid);
	run_cli(bin, args, out, sizeof(out));
	ok(strstr(out, "198.51.100.7") != NULL, "cli: show text has sources");
	is_int(run_cli(bin, "campaign show c000000000000", out, sizeof(out)),
	    1, "cli: unknown campaign exits 1");
	is_int(run_cli(bin, "campaign show ../x", out, sizeof(out)), 2,
	    "cli: invalid id exits 2");
	is_int(run_cli(bin, "campaign", out, sizeof(out)), 2,
	    "cli: campaign without show exits 2");

	/* a spool without the database: no campaigns, none created */
	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	mkdir(path, 0700);
	snprintf(cmd, sizeof(cmd), "%s -s %s campaigns --json", bin, path);
	is_int(run_cmd(cmd, out, sizeof(out)), 0, "cli: empty spool exits 0");
	is_str(out, "", "cli: empty spool lists nothing");
	snprintf(path, sizeof(path), "%s/empty/%s", tmpdir, AN_CAMP_DB);
	ok(access(path, F_OK) == -1, "cli: no database created");
}

/*
 * Batch mode: one transaction for many messages, a savepoint each. A
 * rolled-back message does not undo the others, and another connection
 * sees the batch once it is flushed, not before.
 */
static void
test_batch(void)
{
	struct an_cstore *st, *rd;
	const char	*errstr;
	char		 path[600], id1[AN_CAMP_ID_MAX], id2[AN_CAMP_ID_MAX];
	char		 got[AN_CAMP_ID_MAX];
	bool		 found;

	snprintf(path, sizeof(path), "%s/batch.sqlite", tmpdir);
	st = an_cstore_open(path, true, &errstr);
	rd = an_cstore_open(path, true, &errstr);
	ok(st != NULL && rd != NULL, "batch: two connections");
	if (st == NULL || rd == NULL)
		return;
	an_cstore_set_batch(st, true);
	ok(an_cstore_begin(st) == 0 && an_cstore_create(st, "aa11aa11aa11aa11", "3:ab:cd",
	    "", "one", 1000, id1, sizeof(id1)) == 0 && an_cstore_add(st, id1,
	    "m1", "aa11aa11aa11aa11", "203.0.113.1", 1000, "new", 0) == 0 &&
	    an_cstore_commit(st) == 0, "batch: first message");
	ok(an_cstore_begin(st) == 0 && an_cstore_create(st, "bb22bb22bb22bb22", "3:ef:gh",
	    "", "two", 1001, id2, sizeof(id2)) == 0, "batch: second message "
	    "started");
	an_cstore_rollback(st);
	ok(an_cstore_find_exact(st, "aa11aa11aa11aa11", got, sizeof(got), &found) == 0 &&
	    found && strcmp(got, id1) == 0, "batch: the first survives the "
	    "second's rollback");
	ok(an_cstore_find_exact(st, "bb22bb22bb22bb22", got, sizeof(got), &found) == 0 &&
	    !found, "batch: the rolled-back one is gone");
	ok(an_cstore_find_exact(rd, "aa11aa11aa11aa11", got, sizeof(got), &found) == 0 &&
	    !found, "batch: another connection does not see it yet");
	is_int(an_cstore_flush(st), 0, "batch: flush commits");
	ok(an_cstore_find_exact(rd, "aa11aa11aa11aa11", got, sizeof(got), &found) == 0 &&
	    found && strcmp(got, id1) == 0, "batch: and the other connection "
	    "sees it");
	is_int(an_cstore_flush(st), 0, "batch: a second flush has nothing "
	    "to do");
	an_cstore_close(st);
	an_cstore_close(rd);
}

int
main(int argc, char **argv)
{
	char	 path[512];

	srcdir = argc > 1 ? argv[1] : getenv("RT_TOP_SRCDIR");
	if (srcdir == NULL)
		srcdir = ".";
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	g_mime_init();
	snprintf(path, sizeof(path), "%s/%s", tmpdir, AN_CAMP_DB);
	test_normalise();
	test_text_mime();
	test_hash_short();
	test_raw();
	test_grouping(path);
	test_batch();
	test_run();
	test_all_fixtures();
	test_cli();
	tu_rm_tree(tmpdir);
	g_mime_shutdown();
	return tap_done();
}
