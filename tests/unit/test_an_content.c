/*
 * test_an_content.c -- the content analyzer: URL and address extraction
 * (tables), the magic table, and real messages from tests/fixtures/spam
 * with values checked by hand (subjects decoded with Python's email
 * package, SHA-256 of decoded parts with hashlib), the attachment folder,
 * and hostile input (truncated MIME, missing boundaries, deep nesting,
 * 8-bit junk, encoded words GMime cannot decode cleanly, a header or a
 * part's header ended by a line of CRs, address groups nested deep).
 * Needs RT_TOP_SRCDIR (set by make check) or argv[1].
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <ftw.h>
#include <iconv.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <jansson.h>

#include "an.h"
#include "an_content.h"
#include "an_urls.h"
#include "conf.h"
#include "tap.h"
#include "xmalloc.h"

static const char	*srcdir;

static char *
slurp(const char *rel, size_t *lenp)
{
	char	 path[1024], *buf;
	FILE	*fp;
	long	 n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/spam/%s", srcdir, rel);
	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = xmalloc(n + 1);
	*lenp = fread(buf, 1, n, fp);
	buf[*lenp] = '\0';
	fclose(fp);
	return buf;
}

/* runs the analyzer over msg[0..len) with conf c; the result or NULL */
static json_t *
analyze(struct conf *c, const char *msg, size_t len, enum an_status *st)
{
	struct an_ctx	 ctx;
	void		*state;
	char		 err[128];
	json_t		*out = NULL;

	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = c;
	ctx.msg = msg;
	ctx.msglen = len;
	if (an_content.init(c, &state, err, sizeof(err)) == -1)
		return NULL;
	*st = an_content.run(state, &ctx, &out);
	an_content.fini(state);
	if (ctx.mime != NULL)
		g_object_unref(ctx.mime);
	return out;
}

static json_t *
analyze_file(struct conf *c, const char *rel)
{
	enum an_status	 st;
	size_t		 len;
	char		*msg;
	json_t		*r;

	if ((msg = slurp(rel, &len)) == NULL) {
		ok(0, "read %s", rel);
		return json_object();
	}
	r = analyze(c, msg, len, &st);
	free(msg);
	ok(r != NULL && st == AN_OK, "%s analyzed", rel);
	return r != NULL ? r : json_object();
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const char *
first(json_t *o, const char *k)
{
	return json_string_value(json_array_get(json_object_get(o, k), 0));
}

static bool
has(json_t *arr, const char *s)
{
	size_t	 i;

	for (i = 0; i < json_array_size(arr); i++)
		if (strcmp(json_string_value(json_array_get(arr, i)), s) == 0)
			return true;
	return false;
}

static void
test_urls(void)
{
	static const struct {
		const char	*in;
		const char	*url;	/* first URL or NULL */
		const char	*dom;	/* first domain */
		const char	*mail;	/* first address */
	} t[] = {
		{ "see http://Example.COM/a?b=1. ok",
		    "http://Example.COM/a?b=1",
		    "example.com", NULL },
		{ "HTTPS://x.org:8443/p)", "https://x.org:8443/p", "x.org",
		    NULL },
		{ "hxxp://evil[.]example[.]net/x", "http://evil.example.net/x",
		    "evil.example.net", NULL },
		{ "hXXps[:]//bad(.)ru/", "https://bad.ru/", "bad.ru", NULL },
		{ "go to www.Shop.example, now", "http://www.Shop.example",
		    "www.shop.example", NULL },
		{ "<a href=\"http://u:p@h.example/?a=1&amp;b=2\">",
		    "http://u:p@h.example/?a=1&b=2", "h.example",
		    "p@h.example" },
		{ "http://[2001:db8::1]:80/", "http://[2001:db8::1]:80/",
		    "[2001:db8::1]", NULL },
		{ "http://xn--80ak6aa92e.com/ и http://пример.рф/",
		    "http://xn--80ak6aa92e.com/", "xn--80ak6aa92e.com", NULL },
		{ "http://a,b/ http://\"x", NULL, NULL, NULL },
		{ "http://", NULL, NULL, NULL },
		{ "xhttp://no.example/ wwwx.no", NULL, NULL, NULL },
		{ "mail John.Doe+x@Mail.Example.ORG.", NULL, NULL,
		    "John.Doe+x@mail.example.org" },
		{ "a@b c@d.e x@y.co1 @@ ..@..", NULL, NULL, NULL },
		{ "<info@shop.example.com>", NULL, NULL,
		    "info@shop.example.com" },
	};
	struct an_strset	 u, d, e;
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		an_strset_init(&u, 10);
		an_strset_init(&d, 10);
		an_strset_init(&e, 10);
		an_urls_scan(t[i].in, strlen(t[i].in), &u, &d, &e);
		is_str(u.n ? u.v[0] : NULL, t[i].url, "url %zu", i);
		is_str(d.n ? d.v[0] : NULL, t[i].dom, "domain %zu", i);
		is_str(e.n ? e.v[0] : NULL, t[i].mail, "email %zu", i);
		an_strset_free(&u);
		an_strset_free(&d);
		an_strset_free(&e);
	}
	/* the IDN second URL of row 7 keeps its UTF-8 host */
	an_strset_init(&d, 10);
	an_urls_scan(t[7].in, strlen(t[7].in), NULL, &d, NULL);
	is_int(d.n, 2, "two IDN domains");
	is_str(d.n == 2 ? d.v[1] : NULL, "пример.рф", "UTF-8 host as is");
	an_strset_free(&d);

	/* caps and dedup */
	{
		char	 buf[64 * 40];
		size_t	 o = 0;

		for (i = 0; i < 40; i++)
			o += snprintf(buf + o, sizeof(buf) - o,
			    "http://h%zu.example/ http://h0.example/ ", i % 30);
		an_strset_init(&u, 20);
		an_urls_scan(buf, o, &u, NULL, NULL);
		is_int(u.n, 20, "capped at 20");
		ok(u.full, "cap flagged");
		an_strset_free(&u);
	}

	/* a redirect's target inside a URL is a URL of its own */
	an_strset_init(&u, 10);
	an_urls_scan("go http://r.example/?u=http://t.example/x now", 45, &u,
	    NULL, NULL);
	ok(u.n == 2 && strcmp(u.v[1], "http://t.example/x") == 0,
	    "a redirect target inside a URL is found too");
	an_strset_free(&u);

	/*
	 * a 300 KB line of 50,000 "(www.a", and 600 KB of "(http://a.b/":
	 * each match used to scan to the end of the line and normalise all
	 * of it (49 s). The run is scanned once; a "www." inside a URL is
	 * part of it, and at most AN_URL_NESTED_MAX schemes inside one are
	 * taken as URLs of their own.
	 */
	{
		size_t	 n = 50000, k;
		char	*big = malloc(n * 12 + 1);

		for (k = 0; k < n; k++)
			memcpy(big + k * 6, "(www.a", 6);
		an_strset_init(&u, 20);
		an_urls_scan(big, n * 6, &u, NULL, NULL);
		is_int(u.n, 0, "a line of 50,000 (www.a: no plausible URL");
		an_strset_free(&u);
		for (k = 0; k < n; k++)
			memcpy(big + k * 12, "(http://a.b/", 12);
		an_strset_init(&u, 20);
		an_urls_scan(big, n * 12, &u, NULL, NULL);
		ok(u.n == 1 && strncmp(u.v[0], "http://a.b/(http://a.b/", 23) ==
		    0 && strlen(u.v[0]) < AN_URL_MAX, "a line of 50,000 "
		    "(http://a.b/: one URL, cut at AN_URL_MAX");
		an_strset_free(&u);
		free(big);
	}
}

static void
test_magic(void)
{
	static const struct {
		const char	*in;
		size_t		 len;
		const char	*want;
	} t[] = {
		{ "", 0, "empty" },
		{ "%PDF-1.4\n", 9, "pdf" },
		{ "PK\003\004xxxx", 8, "zip" },
		{ "PK\003\004xx[Content_Types].xml", 25, "ooxml" },
		{ "\320\317\021\340\241\261\032\341", 8, "ole2" },
		{ "Rar!\032\007\000", 7, "rar" },
		{ "7z\274\257\047\034", 6, "7z" },
		{ "\037\213\010", 3, "gzip" },
		{ "MZ\220\000", 4, "pe" },
		{ "\177ELF\002", 5, "elf" },
		{ "\211PNG\r\n\032\n", 8, "png" },
		{ "\377\330\377\340", 4, "jpeg" },
		{ "GIF89a", 6, "gif" },
		{ "\357\273\277 <!DOCTYPE HTML><p>", 22, "html" },
		{ "#!/bin/sh\n", 10, "script" },
		{ "Set o = CreateObject(\"WScript.Shell\")", 37, "script" },
		{ "hello\r\n", 7, "text" },
		{ "\001\002\003", 3, "unknown" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_str(an_content_magic((const unsigned char *)t[i].in,
		    t[i].len), t[i].want, "magic %zu", i);
}

static json_t *
att(json_t *r, size_t i)
{
	return json_array_get(json_object_get(r, "attachments"), i);
}

static void
test_fixtures(struct conf *c)
{
	json_t	*r, *a;

	/* windows-1251 Subject, From and Reply-To; 24 JPEG attachments */
	r = analyze_file(c, "rspamd-test-messages/bad_message.eml");
	is_str(jstr(r, "subject"), "Скидки до 36 процентов на насосы!",
	    "cp1251 subject");
	is_str(jstr(r, "subject_raw"), "=?windows-1251?B?0ero5OroIOTuIDM2"
	    "IO/w7vbl7fLu4iDt4CDt4PHu8fsh?=", "raw subject");
	is_str(jstr(r, "from"), "Насосы <nasutkadqw@esumare.ru>",
	    "cp1251 from");
	is_str(jstr(r, "reply_to"), "Насосы <nasutkadqw@esumare.ru>",
	    "reply-to");
	is_str(jstr(r, "to"), "zelen@megafonkavkaz.ru", "to");
	is_int(json_array_size(json_object_get(r, "attachments")), 24,
	    "24 attachments");
	a = att(r, 0);
	is_str(jstr(a, "name"), "fxnyw.jpeg", "name 0");
	is_str(jstr(a, "declared_type"), "image/jpeg", "declared 0");
	is_str(jstr(a, "detected_type"), "jpeg", "detected 0");
	is_int(json_integer_value(json_object_get(a, "size")), 8860, "size 0");
	is_str(jstr(a, "sha256"), "8a2cdeb4d56d98d04349036a745739167052c9fa"
	    "5e867c3b8284bc554e39477f", "sha256 0");
	ok(json_is_null(json_object_get(a, "saved")), "not saved");
	is_str(jstr(att(r, 23), "sha256"), "e9c94e2dca41e9999407980614e76644"
	    "42b5c59710b719473306b1e91614440d", "sha256 23");
	json_decref(r);

	/* GB2312 subject and display name */
	r = analyze_file(c, "mail-parser-tests/mail_test_12.eml");
	is_str(jstr(r, "subject"), "代开各地增值税发票", "gb2312 subject");
	is_str(jstr(r, "from"), "张先生 <baoguan@hotmail.com>", "gb2312 from");
	json_decref(r);

	/* two GB2312 words, the first padded (GMime alone drops the 2nd) */
	r = analyze_file(c, "mail-parser-tests/mail_test_9.eml");
	is_str(jstr(r, "subject"), "我把镜头拉近些，你们看看这个是什么屄，"
	    "这种场合自然少不了内射", "gb2312 two words");
	json_decref(r);

	/* ISO-8859-1 Q-encoding; 5 images */
	r = analyze_file(c, "mail-parser-tests/mail_test_5.eml");
	is_str(jstr(r, "subject"), "Je prépare mon été zéro complexe !",
	    "latin1 subject");
	a = att(r, 1);
	is_str(jstr(a, "detected_type"), "png", "png detected");
	is_str(jstr(a, "sha256"), "d0f51fc7fb532c8b9254d24735e5deee2447a12e"
	    "ead113b5d508b185e10a1fbb", "png sha256");
	json_decref(r);

	/* UTF-16 encoded word */
	r = analyze_file(c, "spamassassin-t-data/spam/utf16.eml");
	is_str(jstr(r, "subject"), "Design and manufacturing",
	    "utf-16 subject");
	is_str(jstr(r, "reply_to"), "info@example.net", "reply-to plain");
	json_decref(r);

	/* a PDF */
	r = analyze_file(c, "spamassassin-t-data/spam/extracttext/"
	    "gtube_pdf.eml");
	a = att(r, 0);
	is_str(jstr(a, "name"), "gtube.pdf", "pdf name");
	is_str(jstr(a, "detected_type"), "pdf", "pdf detected");
	is_int(json_integer_value(json_object_get(a, "size")), 15602,
	    "pdf size");
	is_str(jstr(a, "sha256"), "c58acdfb76c7012e375e905b775dd706a9d888f8"
	    "9bc55daba017360e02e69799", "pdf sha256");
	json_decref(r);

	/* a macro workbook renamed .jpg: OOXML inside */
	r = analyze_file(c, "spamassassin-t-data/spam/olevbmacro/"
	    "renamedmacro.eml");
	a = att(r, 0);
	is_str(jstr(a, "name"), "renamed.jpg", "renamed name");
	is_str(jstr(a, "declared_type"), "application/octet-stream",
	    "renamed declared");
	is_str(jstr(a, "detected_type"), "ooxml", "renamed detected ooxml");
	is_str(jstr(a, "sha256"), "b6ce28ac53f6247876b0f1935d1cbb7e55b4d64a"
	    "f2169ea00a9721625a838c7d", "renamed sha256");
	json_decref(r);

	/* an encrypted .docx is an OLE2 container */
	r = analyze_file(c, "spamassassin-t-data/spam/olevbmacro/"
	    "encrypted.eml");
	is_str(jstr(att(r, 0), "detected_type"), "ole2", "encrypted ole2");
	is_str(jstr(att(r, 0), "sha256"), "386e02386b64672e89e7a438779389a1"
	    "13f9e0b201a5e738a84ecbcd5db248b8", "encrypted sha256");
	json_decref(r);

	/* RFC 2231/2047 Cyrillic file name */
	r = analyze_file(c, "mail-parser-tests/mail_test_1.defanged.eml");
	is_str(jstr(r, "subject"), "письмо уведом-е", "utf-8 B subject");
	is_str(jstr(att(r, 0), "name"), "ФНС_РФ558.zip", "cyrillic name");
	is_str(jstr(att(r, 0), "sha256"), "e1f2d2c592370d1c911c45e1f278fee1"
	    "4d8bc5638bf4a9322bc260934a464f3e", "defanged sha256");
	json_decref(r);
}

static void
test_fixture_urls(struct conf *c)
{
	json_t	*r, *u, *d;

	/* text/plain + text/html, QP; URLs listed with Python's re */
	r = analyze_file(c, "mail-parser-tests/mail_test_5.eml");
	u = json_object_get(r, "urls");
	d = json_object_get(r, "url_domains");
	is_int(json_array_size(u), 17, "17 distinct URLs");
	ok(has(u, "https://t2d857ce9.emailsys2a.net/o/136/1071579/1264/0/"
	    "4531494/9012/b16ba30df6.gif"), "html-only URL");
	ok(has(u, "http://www.carlance.fr"), "www. URL before U+00A0");
	is_int(json_array_size(d), 3, "3 domains");
	ok(has(d, "t2d857ce9.emailsys2a.net") && has(d, "www.carlance.fr") &&
	    has(d, "www.w3.org"), "the domains");
	/* 1628 + 22158 UTF-8 bytes (Python), + a line break per part */
	is_int(json_integer_value(json_object_get(r, "text_bytes")), 23788,
	    "text_bytes");
	ok(json_is_false(json_object_get(r, "charset_issues")), "no issues");
	ok(json_is_false(json_object_get(r, "truncated")), "not truncated");
	json_decref(r);
}

static json_t *
analyze_str(struct conf *c, const char *msg, size_t len, const char *name)
{
	enum an_status	 st;
	json_t		*r;

	r = analyze(c, msg, len, &st);
	ok(r != NULL && st == AN_OK, "%s analyzed", name);
	return r != NULL ? r : json_object();
}

static void
test_save(void)
{
	struct conf	 c;
	struct stat	 sb;
	char		 dir[] = "/tmp/rt-content-XXXXXX", path[256];
	json_t		*r;
	const char	*saved;
	DIR		*d;
	struct dirent	*de;
	int		 n;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.attachment_dir = dir;
	r = analyze_file(&c, "spamassassin-t-data/spam/extracttext/"
	    "gtube_pdf.eml");
	snprintf(path, sizeof(path), "%s/c58acdfb76c7012e375e905b775dd706"
	    "a9d888f89bc55daba017360e02e69799", dir);
	saved = jstr(json_array_get(json_object_get(r, "attachments"), 0),
	    "saved");
	is_str(saved, path, "saved under its hash");
	ok(stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (sb.st_mode & 07777) == 0440 && sb.st_size == 15602,
	    "file 0440, 15602 bytes");
	json_decref(r);
	/* again: the existing file is reused, no temporary left behind */
	r = analyze_file(&c, "spamassassin-t-data/spam/extracttext/"
	    "gtube_pdf.eml");
	is_str(jstr(json_array_get(json_object_get(r, "attachments"), 0),
	    "saved"), path, "saved again");
	json_decref(r);
	n = 0;
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.' || strncmp(de->d_name,
			    ".tmp", 4) == 0)
				n++;
		closedir(d);
	}
	is_int(n, 1, "one file in the folder");
	unlink(path);
	/* an unwritable folder: not saved, no failure */
	c.attachment_dir = "/nonexistent/rt-content";
	r = analyze_file(&c, "spamassassin-t-data/spam/extracttext/"
	    "gtube_pdf.eml");
	ok(json_is_null(json_object_get(json_array_get(json_object_get(r,
	    "attachments"), 0), "saved")), "missing folder: saved null");
	json_decref(r);
	rmdir(dir);
}

/*
 * ISO-2022-CN-EXT spelt so that a renaming of the raw bytes (the first
 * guard against it) missed it: each reached GMime's decoders or content's own converter,
 * which ran off the end of the text (the SO byte "Dg==") or aborted in
 * GLib, killing the worker. No converter for it is opened now, under any
 * spelling (an_mime.c's iconv_open()).
 */
static void
test_cnext_spellings(struct conf *c)
{
	static const char *const msgs[] = {
		"Subject: s\r\nContent-Type: text/plain; charset*0=iso-2022-;"
		" charset*1=cn-ext\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		"Dg==\r\n",
		"Subject: s\r\nContent-Type: text/plain;"
		" charset*=''iso-2022-cn%2Dext\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\nDg==\r\n",
		"Subject: s\r\nContent-Type: text/plain;"
		" charset=\"iso-2022-cn\\-ext\"\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\nDg==\r\n",
		"Subject: s\r\nContent-Type: text/plain;"
		" charset=\"=?us-ascii?Q?iso-2022-cn-e=78t?=\"\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\nDg==\r\n",
		"Subject: s\r\nContent-Type: text/plain; charset=\"iso-2022-cn-"
		"\r\n ext\"\r\nContent-Transfer-Encoding: base64\r\n\r\nDg==\r\n",
		"Subject: =?iso-2022-cn-\r\n ext?B?Dg==?=\r\n"
		"To: =?ISO-2022-CN-\r\n EXT?B?Dg==?= <a@b.example>\r\n\r\nx\r\n",
	};
	iconv_t	 cd;
	json_t	*r;
	char	*dec;
	size_t	 i;

	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		r = analyze_str(c, msgs[i], strlen(msgs[i]),
		    "ISO-2022-CN-EXT spelt otherwise");
		json_decref(r);
	}
	cd = iconv_open("UTF-8", "iso_2022_cn_ext//TRANSLIT");
	ok(cd == (iconv_t)-1, "no converter for ISO-2022-CN-EXT opens");
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	cd = iconv_open("UTF-8", "ISO-2022-CN");
	ok(cd != (iconv_t)-1, "others still do");
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	/* GMime's own decoder, where GLib aborted the process */
	dec = g_mime_utils_header_decode_text(NULL,
	    "=?ISO-2022-CN-EXT?B?Dg==?=");
	ok(dec != NULL, "GMime decodes the lone SO word without aborting");
	g_free(dec);
}

static void
test_hostile(struct conf *c)
{
	static const char trunc[] =
	    "Subject: t\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nsee http://a.example/\r\n"
	    "--b\r\nContent-Type: application/pdf; name=x.pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLj";
	static const char noboundary[] =
	    "Subject: t\r\nContent-Type: multipart/mixed\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nhxxp://x[.]example\r\n";
	static const char junk8[] =
	    "Subject: caf\351 \377\376\r\nFrom: \"J\344ger\" <j@x.example>\r\n"
	    "Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n"
	    "\200\201\377 www.junk.example \r\n";
	static const char split[] =
	    "Subject: =?utf-8?B?w6k=?=\r\n =?UTF-8?b?w6nDqQ==?= x "
	    "=?utf-8?B?w?=\r\n"
	    "To: =?utf-8?B?w6k=?= =?utf-8?B?w6k=?= <a@b.example>\r\n"
	    "\r\nbody\r\n";
	/* values made with Python: str.encode('koi8-r'), base64 */
	static const char koi[] =
	    "Subject: =?koi8-r?B?8NLJ18XULCDNydI=?=\r\n"
	    "From: =?iso-2022-jp?B?GyRCJDMkcyRLJEEkTxsoQg==?= <j@x.example>\r\n"
	    "Content-Type: text/plain; charset=koi8-r\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "9MXL09Qg0MnT2M3BIGh0dHA6Ly/Q0snNxdIu0sYv0NXU2A==\r\n";
	static const char badutf8[] =
	    "Subject: t\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	    "ok \300\257 http://u.example/\r\n";
	/*
	 * GMime 3.2.13 aborted the process decoding this encoded word (a
	 * lone SO in ISO-2022-CN-EXT); no converter for the charset opens
	 * (an_mime.c's iconv_open()), in either case, in the header and in a
	 * part's name
	 */
	static const char cnext[] =
	    "Subject: =?ISO-2022-CN-EXT?B?Dg==?= x =?iso-2022-cn-ext?B?Dg==?=\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=B\r\n\r\n"
	    "--B\r\nContent-Type: text/plain\r\n\r\nsee http://cn.example/\r\n"
	    "--B\r\nContent-Type: application/octet-stream; "
	    "name=\"=?ISO-2022-cn-EXT?B?Dg==?=\"\r\n\r\nabc\r\n--B--\r\n";
	json_t	*r;
	char	*deep, *many;
	size_t	 o, i, sz;

	/*
	 * A long Subject: analysis.json keeps 2 KB of it, whole characters
	 * ("xy " then 6,000 bytes of "é": 2,048 falls inside one, so 2,047).
	 */
	{
		static const char head[] = "Subject: xy =?utf-8?B?";
		size_t	 n = 1000, k, hl = sizeof(head) - 1, off;
		char	*big = xmalloc(hl + n * 8 + 64);

		memcpy(big, head, hl);
		off = hl;
		for (k = 0; k < n; k++, off += 8)
			memcpy(big + off, "w6nDqcOp", 8);	/* "ééé" */
		off += snprintf(big + off, 64, "?=\r\n\r\nbody\r\n");
		r = analyze_str(c, big, off, "a 6 KB encoded Subject");
		ok(jstr(r, "subject") != NULL && strlen(jstr(r, "subject")) ==
		    AN_CT_HEADER_MAX - 1 && g_utf8_validate(jstr(r, "subject"),
		    -1, NULL), "subject cut to AN_CT_HEADER_MAX, at a character");
		ok(jstr(r, "subject_raw") != NULL && strlen(jstr(r,
		    "subject_raw")) <= AN_CT_HEADER_MAX, "subject_raw cut too");
		json_decref(r);
		free(big);
	}

	/* a part flood is not handed to GMime (2.1 GB for 1.45 million) */
	{
		static const char head[] = "Subject: flood\r\nMIME-Version: "
		    "1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n";
		size_t	 n, k, hl = sizeof(head) - 1;
		enum an_status st;
		char	*flood;

		for (n = 100; n <= 10001; n += 9901) {
			flood = xmalloc(hl + n * 7 + 8);
			memcpy(flood, head, hl);
			for (k = 0; k < n; k++)
				memcpy(flood + hl + k * 7, "--B\r\n\r\n", 7);
			memcpy(flood + hl + n * 7, "--B--\r\n", 7);
			r = analyze(c, flood, hl + n * 7 + 7, &st);
			if (n == 100)
				ok(st == AN_OK && jstr(r, "error") == NULL &&
				    jstr(r, "subject") != NULL,
				    "100 MIME parts: parsed");
			else
				ok(st == AN_OK && jstr(r, "raw_only") != NULL &&
				    strstr(jstr(r, "raw_only"), "boundary") !=
				    NULL && jstr(r, "subject") == NULL,
				    "10,001 MIME boundaries: not handed to GMime, "
				    "scanned raw, and said why");
			json_decref(r);
			free(flood);
		}
	}

	r = analyze_str(c, cnext, sizeof(cnext) - 1, "ISO-2022-CN-EXT");
	ok(jstr(r, "subject") != NULL, "ISO-2022-CN-EXT encoded words: no "
	    "abort, a subject");
	is_str(first(r, "urls"), "http://cn.example/",
	    "ISO-2022-CN-EXT: the rest of the message analysed");
	is_int(json_array_size(json_object_get(r, "attachments")), 1,
	    "ISO-2022-CN-EXT: the part whose name used it listed");
	json_decref(r);
	test_cnext_spellings(c);

	r = analyze_str(c, trunc, sizeof(trunc) - 1, "truncated MIME");
	is_str(first(r, "urls"),
	    "http://a.example/", "truncated: URL found");
	is_int(json_array_size(json_object_get(r, "attachments")), 1,
	    "truncated: attachment listed");
	json_decref(r);

	r = analyze_str(c, noboundary, sizeof(noboundary) - 1,
	    "missing boundary");
	is_str(first(r, "urls"), "http://x.example", "no boundary: body read");
	json_decref(r);

	r = analyze_str(c, junk8, sizeof(junk8) - 1, "8-bit junk");
	ok(json_is_true(json_object_get(r, "charset_issues")),
	    "8-bit: charset_issues");
	ok(jstr(r, "subject") != NULL, "8-bit: subject is a string");
	is_str(first(r, "urls"),
	    "http://www.junk.example", "8-bit: URL found");
	json_decref(r);

	r = analyze_str(c, split, sizeof(split) - 1, "padded words");
	is_str(jstr(r, "subject"), "ééé x", "padded words merged");
	is_str(jstr(r, "to"), "éé <a@b.example>", "padded words in To");
	json_decref(r);

	r = analyze_str(c, koi, sizeof(koi) - 1, "koi8-r");
	is_str(jstr(r, "subject"), "Привет, мир", "koi8-r subject");
	is_str(jstr(r, "from"), "こんにちは <j@x.example>", "iso-2022-jp from");
	is_str(first(r, "urls"), "http://пример.рф/путь", "koi8-r body URL");
	is_str(first(r, "url_domains"), "пример.рф", "koi8-r body domain");
	ok(json_is_false(json_object_get(r, "charset_issues")),
	    "koi8-r: no issues");
	json_decref(r);

	r = analyze_str(c, badutf8, sizeof(badutf8) - 1, "bad UTF-8");
	ok(json_is_true(json_object_get(r, "charset_issues")),
	    "bad utf-8: charset_issues");
	is_str(first(r, "urls"),
	    "http://u.example/", "bad utf-8: URL found");
	json_decref(r);

	/* 5000 nested multiparts */
	sz = 5000 * 120 + 256;
	deep = xmalloc(sz);
	o = snprintf(deep, sz, "Subject: deep\r\n");
	for (i = 0; i < 5000; i++)
		o += snprintf(deep + o, sz - o, "Content-Type: multipart/"
		    "mixed; boundary=\"b%zu\"\r\n\r\n--b%zu\r\n", i, i);
	o += snprintf(deep + o, sz - o, "Content-Type: text/plain\r\n\r\n"
	    "http://deep.example/\r\n");
	r = analyze_str(c, deep, o, "deep nesting");
	ok(json_is_true(json_object_get(r, "truncated")), "deep: truncated");
	is_int(json_array_size(json_object_get(r, "urls")), 0,
	    "deep: text beyond the depth cap not read");
	json_decref(r);
	free(deep);

	/* 2000 parts, 2000 distinct URLs and addresses */
	sz = 2000 * 160 + 256;
	many = xmalloc(sz);
	o = snprintf(many, sz, "Subject: many\r\nContent-Type: multipart/"
	    "mixed; boundary=\"b\"\r\n\r\n");
	for (i = 0; i < 2000; i++)
		o += snprintf(many + o, sz - o, "--b\r\nContent-Type: "
		    "text/plain\r\n\r\nhttp://h%zu.example/ u%zu@m.example\r\n",
		    i, i);
	o += snprintf(many + o, sz - o, "--b--\r\n");
	r = analyze_str(c, many, o, "many parts");
	ok(json_is_true(json_object_get(r, "truncated")), "many: truncated");
	is_int(json_array_size(json_object_get(r, "urls")), AN_CT_URLS_MAX,
	    "many: URLs capped");
	is_int(json_array_size(json_object_get(r, "emails")),
	    AN_CT_EMAILS_MAX, "many: addresses capped");
	json_decref(r);
	free(many);

	{
		enum an_status	 st;
		r = analyze(c, "", 0, &st);
		ok(r == NULL && st == AN_SKIP, "empty message: skipped");
		r = analyze(c, "\377\376junk", 6, &st);
		ok(st == AN_OK || st == AN_ERROR, "junk: %d", (int)st);
		json_decref(r);
	}
	{
		/* no header at all (GMime reads none of it): scanned raw */
		static const char *const bare[] = {
			"hello http://bare.example/x mail me@bare.example\r\n",
			"HELO ratware\r\n\r\nhttp://bare.example/x "
			"me@bare.example\r\n",
			" Subject: x\r\n\r\nhttp://bare.example/x\0 "
			"me@bare.example\r\n",
		};
		static const size_t barelen[] = { 0, 0, 55 };
		enum an_status	 st;

		for (i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
			r = analyze(c, bare[i], barelen[i] > 0 ? barelen[i] :
			    strlen(bare[i]), &st);
			ok(st == AN_OK && jstr(r, "raw_only") != NULL &&
			    jstr(r, "subject") == NULL,
			    "headerless message %zu: raw_only says why (%s)",
			    i, jstr(r, "raw_only"));
			is_str(first(r, "urls"), "http://bare.example/x",
			    "headerless message %zu: its URL", i);
			is_str(first(r, "emails"), "me@bare.example",
			    "headerless message %zu: its address", i);
			json_decref(r);
		}
		r = analyze_str(c, trunc, sizeof(trunc) - 1, "parsed");
		ok(json_is_null(json_object_get(r, "raw_only")),
		    "a MIME message: raw_only is null");
		json_decref(r);
	}
}

/*
 * charset_issues from encoded words that GMime turns into '?' or reads in
 * a fallback charset: their decoded text looks clean. Each header comes
 * with a body that raises no issue.
 */
struct word_case {
	const char	*name;
	const char	*hdr;
	bool		 issues;
};

static const struct word_case word_cases[] = {
	{ .name = "plain", .hdr = "Subject: hello", .issues = false },
	{ .name = "utf-8 B", .hdr = "Subject: =?utf-8?B?w6k=?=",
	  .issues = false },
	{ .name = "latin-1 Q", .hdr = "Subject: =?iso-8859-1?Q?caf=E9?=",
	  .issues = false },
	{ .name = "alias latin1", .hdr = "Subject: =?latin1?Q?caf=E9?=",
	  .issues = false },
	{ .name = "RFC 2231 language",
	  .hdr = "Subject: =?utf-8*en?Q?caf=C3=A9?=", .issues = false },
	{ .name = "utf-8 split over two Q words",
	  .hdr = "Subject: =?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?=",
	  .issues = false },
	{ .name = "utf-8 split over padded B words",
	  .hdr = "Subject: =?utf-8?B?w6nD?= =?utf-8?B?qQ==?=",
	  .issues = false },
	{ .name = "iso-2022-jp in From",
	  .hdr = "From: =?iso-2022-jp?B?GyRCJDMkcyRLJEEkTxsoQg==?= "
	  "<j@x.example>",
	  .issues = false },
	{ .name = "no encoded word", .hdr = "Subject: =?utf-8?X?abc?=",
	  .issues = false },
	{ .name = "invalid utf-8 B", .hdr = "Subject: =?utf-8?B?/w==?=",
	  .issues = true },
	{ .name = "invalid utf-8 Q", .hdr = "Subject: =?UTF-8?Q?caf=E9?=",
	  .issues = true },
	{ .name = "utf-8 surrogate", .hdr = "Subject: =?utf-8?B?7aCA?=",
	  .issues = true },
	{ .name = "unknown charset", .hdr = "Subject: =?x-nonsense?Q?abc?=",
	  .issues = true },
	{ .name = "8-bit in us-ascii", .hdr = "Subject: =?us-ascii?Q?caf=E9?=",
	  .issues = true },
	{ .name = "cut shift_jis", .hdr = "Subject: =?shift_jis?B?gQ==?=",
	  .issues = true },
	{ .name = "NUL in a word", .hdr = "Subject: =?utf-8?Q?a=00b?=",
	  .issues = true },
	{ .name = "utf-8 split over a Q and a B word",
	  .hdr = "Subject: =?utf-8?Q?caf=C3?= =?utf-8?B?qQ==?=",
	  .issues = true },
	{ .name = "second word bad",
	  .hdr = "Subject: ok =?utf-8?Q?fine?= x =?utf-8?B?/w==?=",
	  .issues = true },
	{ .name = "unknown charset in From",
	  .hdr = "From: =?x-nonsense?Q?J=E4ger?= <j@x.example>",
	  .issues = true },
	{ .name = "invalid utf-8 in To",
	  .hdr = "To: =?utf-8?B?/w==?= <a@b.example>", .issues = true },
	{ .name = "unknown charset in Reply-To",
	  .hdr = "Reply-To: =?x-nonsense?B?YWJj?= <r@b.example>",
	  .issues = true },
};

static void
test_words(struct conf *c)
{
	const struct word_case *w;
	char	 msg[512];
	json_t	*r;
	size_t	 i;
	int	 n;

	for (i = 0; i < sizeof(word_cases) / sizeof(word_cases[0]); i++) {
		w = &word_cases[i];
		n = snprintf(msg, sizeof(msg), "%s\r\n\r\nbody\r\n", w->hdr);
		r = analyze_str(c, msg, (size_t)n, w->name);
		ok(json_is_boolean(json_object_get(r, "charset_issues")) &&
		    json_boolean_value(json_object_get(r, "charset_issues")) ==
		    w->issues, "words: %s: charset_issues %s", w->name,
		    w->issues ? "true" : "false");
		json_decref(r);
	}
}

/*
 * A header ended by a line of CRs, the message's or a part's: the body
 * is analysed (GMime alone read on as header lines and dropped it, and
 * the text with it; an attachment so had 0 bytes).
 */
struct crline_case {
	const char	*name;
	const char	*msg;
	const char	*url;
	const char	*subject;
};

static const struct crline_case crline_cases[] = {
	{ .name = "CR CRLF",
	  .msg = "Subject: s\r\nFrom: a@b.example\r\n\r\r\n"
	  "see http://cr.example/\r\n", .url = "http://cr.example/",
	  .subject = "s" },
	{ .name = "three CRs",
	  .msg = "Subject: s\r\n\r\r\r\nsee http://cr.example/\r\n",
	  .url = "http://cr.example/", .subject = "s" },
	{ .name = "LF header",
	  .msg = "Subject: s\n\r\r\nsee http://cr.example/\n",
	  .url = "http://cr.example/", .subject = "s" },
	{ .name = "base64 body",
	  .msg = "Subject: s\r\nContent-Transfer-Encoding: base64\r\n"
	  "\r\r\naHR0cDovL2I2NC5leGFtcGxlLw==\r\n",
	  .url = "http://b64.example/", .subject = "s" },
	{ .name = "body line like a Subject",
	  .msg = "Subject: s\r\n\r\r\nSubject: not this\r\n"
	  "http://cr.example/\r\n", .url = "http://cr.example/",
	  .subject = "s" },
	{ .name = "a part's header",
	  .msg = "Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: "
	  "multipart/mixed; boundary=\"b b\"\r\n\r\n--b b\r\n"
	  "Content-Type: text/plain\r\n\r\r\nsee http://cr.example/\r\n"
	  "--b b--\r\n", .url = "http://cr.example/", .subject = "s" },
	{ .name = "a part's empty header, nested",
	  .msg = "Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: "
	  "multipart/mixed; boundary=A\r\n\r\n--A\r\nContent-Type: "
	  "multipart/alternative;\r\n boundary = B\r\n\r\n--B\r\n"
	  "\r\r\r\nsee http://cr.example/\r\n--B--\r\n--A--\r\n",
	  .url = "http://cr.example/", .subject = "s" },
	{ .name = "an attached message's header",
	  .msg = "Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: "
	  "multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: "
	  "message/rfc822\r\n\r\r\nSubject: inner\r\n\r\r\n"
	  "see http://cr.example/\r\n--B--\r\n",
	  .url = "http://cr.example/", .subject = "s" },
	{ .name = "a message that is an attached message",
	  .msg = "Subject: s\r\nContent-Type: Message/RFC822\r\n\r\n"
	  "Subject: inner\r\n\r\r\nsee http://cr.example/\r\n",
	  .url = "http://cr.example/", .subject = "s" },
	{ .name = "both headers",
	  .msg = "Subject: s\r\nContent-Type: multipart/mixed; boundary=B"
	  "\r\n\r\r\n--B\r\nContent-Type: text/plain\r\n\r\r\n"
	  "see http://cr.example/\r\n--B--\r\n",
	  .url = "http://cr.example/", .subject = "s" },
};

static void
test_crline(struct conf *c)
{
	static const char att[] = "Subject: s\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
	    "Content-Type: application/pdf; name=a.pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\r\nJVBERi0xLjQK\r\n"
	    "--B\r\nContent-Type: text/plain\r\n\r\n"
	    "see http://cr.example/\r\n--B--\r\n";
	const struct crline_case *k;
	json_t	*r, *a;
	size_t	 i;

	for (i = 0; i < sizeof(crline_cases) / sizeof(crline_cases[0]); i++) {
		k = &crline_cases[i];
		r = analyze_str(c, k->msg, strlen(k->msg), k->name);
		is_str(first(r, "urls"), k->url, "crline: %s: body URL",
		    k->name);
		is_str(jstr(r, "subject"), k->subject, "crline: %s: subject",
		    k->name);
		json_decref(r);
	}
	/* an attachment whose header ends so: its bytes, not none */
	r = analyze_str(c, att, strlen(att), "crline: attachment");
	a = json_array_get(json_object_get(r, "attachments"), 0);
	ok(json_integer_value(json_object_get(a, "size")) == 9,
	    "crline: attachment: 9 bytes");
	is_str(jstr(a, "sha256"), "e5c62df5dab5c87b6a015ef3d43597074d1eec4"
	    "33b15f51aec63b8582d0e4ab4", "crline: attachment: its SHA-256");
	is_str(first(r, "urls"), "http://cr.example/",
	    "crline: attachment: the next part's URL");
	json_decref(r);
}

/*
 * Folded headers are unfolded before they are decoded (GMime's decoders
 * kept the CRLF: "hello\r\n world"); values as Python's email package
 * gives them (str(make_header(decode_header(...))) of the unfolded value).
 */
static void
test_folded(struct conf *c)
{
	static const char msg[] =
	    "From: \"Jo\r\n Doe\" <a@b.example>,\r\n =?utf-8?Q?Caf=C3=A9?=\r\n"
	    " =?utf-8?Q?_Bar?= <c@d.example>\r\n"
	    "To: x\r\n\t<t@u.example>\r\n"
	    "Subject: hello\r\n world\r\n\tagain =?utf-8?Q?caf=C3=A9?=\r\n"
	    " =?utf-8?Q?_x?=\n end\r\n\r\nbody\r\n";
	json_t	*r;

	r = analyze_str(c, msg, sizeof(msg) - 1, "folded");
	is_str(jstr(r, "subject"), "hello world\tagain caf\303\251 x end",
	    "folded: subject");
	is_str(jstr(r, "from"), "Jo Doe <a@b.example>, Caf\303\251 Bar "
	    "<c@d.example>", "folded: from");
	is_str(jstr(r, "to"), "x <t@u.example>", "folded: to");
	json_decref(r);
}

/*
 * Address fields of "g:g:g:...": GMime 3.2 read each colon as a group in
 * a group, a recursion each, and 50,000 of them (a 100 KB From)
 * overflowed the stack at the parse. Colons past a thousand are spaces
 * in GMime's copy: the message is analysed, a short field as before. In
 * the header, folded, and in the header of an attached message.
 */
static void
test_groups(struct conf *c)
{
	static const char *const heads[] = {
		"From: ", "To: x\r\n ", "cc :",
		"Subject: s\r\nMIME-Version: 1.0\r\n"
		"Content-Type: message/rfc822\r\n\r\nReply-To: ",
	};
	static const char *const names[] = {
		"From", "To, folded", "cc", "Reply-To of an attached message",
	};
	static const char tail[] = "a@b.example\r\n\r\n"
	    "see http://groups.example/\r\n";
	static const char few[] = "From: g:h:a@b.example;;\r\n\r\nbody\r\n";
	size_t	 i, k, n = 100000, off;
	char	*msg;
	json_t	*r;

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		msg = xmalloc(strlen(heads[i]) + 2 * n + sizeof(tail));
		off = strlen(heads[i]);
		memcpy(msg, heads[i], off);
		for (k = 0; k < n; k++, off += 2)
			memcpy(msg + off, "g:", 2);
		memcpy(msg + off, tail, sizeof(tail) - 1);
		off += sizeof(tail) - 1;
		r = analyze_str(c, msg, off, names[i]);
		is_str(first(r, "urls"), "http://groups.example/",
		    "groups: %zu nested in %s: body URL", n, names[i]);
		json_decref(r);
		free(msg);
	}
	r = analyze_str(c, few, strlen(few), "two groups");
	is_str(jstr(r, "from"), "g: h: a@b.example;;", "groups: a short "
	    "field as GMime reads it");
	json_decref(r);
}

static struct conf	*all_conf;
static int		 all_n, all_ok, all_att, all_urls;

static int
all_one(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	enum an_status	 st;
	FILE		*fp;
	char		*msg, *dump;
	size_t		 len;
	json_t		*r;

	(void)f;
	if (type != FTW_F || strstr(path, "LICENSE") || strstr(path,
	    "NOTICE") || strstr(path, "README"))
		return 0;
	if ((fp = fopen(path, "rb")) == NULL)
		return 0;
	msg = xmalloc(sb->st_size + 1);
	len = fread(msg, 1, sb->st_size, fp);
	fclose(fp);
	r = analyze(all_conf, msg, len, &st);
	all_n++;
	if ((st == AN_OK || st == AN_ERROR || st == AN_SKIP) &&
	    (r == NULL || (dump = json_dumps(r, 0)) != NULL)) {
		all_ok++;
		if (r != NULL)
			free(dump);
	}
	if (st == AN_OK) {
		all_att += json_array_size(json_object_get(r, "attachments"));
		all_urls += json_array_size(json_object_get(r, "urls"));
	}
	json_decref(r);
	free(msg);
	return 0;
}

/* every fixture message: a result that serializes; the time it takes */
/*
 * The text buffer's limit (AN_CT_TEXT_MAX) falls inside a three-byte
 * character: the character is left out whole, as iconv does, for UTF-8
 * declared, undeclared, and converted from windows-1252. The part's line
 * break then still fits; a split character would fill the buffer.
 */
static void
test_text_limit(struct conf *c)
{
	static const char *const heads[] = {
		"Content-Type: text/plain; charset=utf-8\r\n",
		"",
		"Content-Type: text/plain; charset=windows-1252\r\n",
	};
	char	*msg;
	size_t	 n, i, k, len;
	json_t	*r;

	for (k = 0; k < 3; k++) {
		/* "ab", then 90,000 euro signs: 270,002 bytes of UTF-8 */
		n = 90000;
		msg = xmalloc(512 + 3 * n + 8);
		len = (size_t)snprintf(msg, 512, "From: a@example.com\r\n"
		    "Subject: limit\r\nMIME-Version: 1.0\r\n%s"
		    "Content-Transfer-Encoding: 8bit\r\n\r\nab", heads[k]);
		for (i = 0; i < n; i++) {
			if (k == 2)
				msg[len++] = (char)0x80;
			else {
				msg[len++] = (char)0xe2;
				msg[len++] = (char)0x82;
				msg[len++] = (char)0xac;
			}
		}
		memcpy(msg + len, "\r\n", 2);
		len += 2;
		r = analyze_str(c, msg, len, "text at the limit");
		/* 2 + 3 * 87,380 bytes, then the line break */
		is_int(json_integer_value(json_object_get(r, "text_bytes")),
		    AN_CT_TEXT_MAX - 1, "limit: the split character left out");
		ok(json_is_true(json_object_get(r, "truncated")),
		    "limit: truncated");
		ok(json_is_false(json_object_get(r, "charset_issues")),
		    "limit: no charset issues");
		json_decref(r);
		free(msg);
	}
}

static void
test_all(struct conf *c)
{
	struct timespec	 t0, t1;
	char		 path[1024];

	all_conf = c;
	snprintf(path, sizeof(path), "%s/tests/fixtures/spam", srcdir);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nftw(path, all_one, 16, FTW_PHYS);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok(all_n > 50 && all_ok == all_n, "all %d fixtures analyzed", all_n);
	printf("# %d messages, %d attachments, %d URLs in %.1f ms\n", all_n,
	    all_att, all_urls, (t1.tv_sec - t0.tv_sec) * 1e3 +
	    (t1.tv_nsec - t0.tv_nsec) / 1e6);
}

/* the first case-insensitive match, byte by byte: what an_casemem says */
static const char *
casemem_ref(const char *p, size_t n, const char *needle)
{
	size_t	 k = strlen(needle), i;

	for (i = 0; k > 0 && i + k <= n; i++)
		if (g_ascii_strncasecmp(p + i, needle, k) == 0)
			return p + i;
	return NULL;
}

/*
 * an_casemem, table-driven and against casemem_ref over random haystacks:
 * needles with a digit, with punctuation only and with letters only (the
 * three ways it searches), NUL bytes in the haystack, matches at either
 * end, a partial match cut by the end.
 */
static void
test_casemem(void)
{
	static const struct {
		const char	*hay;
		size_t		 len;
		const char	*needle;
		long		 at;	/* -1: none */
	} t[] = {
		{ "charset=ISO-2022-CN-EXT", 23, "iso-2022-cn-ext", 8 },
		{ "iso-2022-cn-ex", 14, "iso-2022-cn-ext", -1 },
		{ "xiso-2022-cn-ext", 16, "iso-2022-cn-ext", 1 },
		{ "iso-2022-jp iSo-2022-cN-eXt", 27, "iso-2022-cn-ext", 12 },
		{ "iso\0-2022-cn-ext", 16, "iso-2022-cn-ext", -1 },
		{ "\0\0ISO-2022-CN-EXT\0", 18, "iso-2022-cn-ext", 2 },
		{ "2022-cn-ext", 11, "iso-2022-cn-ext", -1 },
		{ "<p><HTML>", 9, "<html", 3 },
		{ "<htm", 4, "<html", -1 },
		{ "x@ECHO OFF", 10, "@echo off", 1 },
		{ "PowerShell -c", 13, "powershell", 0 },
		{ "powershel", 9, "powershell", -1 },
		{ "a\0PoWeRsHeLl", 12, "powershell", 2 },
		{ "", 0, "<html", -1 },
		{ "abc", 3, "", -1 },
	};
	const char	*needles[] = { "iso-2022-cn-ext", "<html", "ab-1",
	    "abc", "a.b", "12" };
	char		 hay[64];
	size_t		 i, j, n, bad = 0;
	const char	*got;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		got = an_casemem(t[i].hay, t[i].len, t[i].needle);
		is_int(got == NULL ? -1 : got - t[i].hay, t[i].at,
		    "casemem %zu: %s", i, t[i].needle);
	}
	srandom(2026);
	for (i = 0; i < 20000; i++) {
		const char *nd = needles[i % (sizeof(needles) /
		    sizeof(needles[0]))];

		n = (size_t)random() % sizeof(hay);
		for (j = 0; j < n; j++)	/* the needles' bytes, case, NUL */
			hay[j] = "aAbBcC12-.<hHtTmMlL0\0isoISOnNeExXt"[random() %
			    35];
		if (n > 0 && random() % 3 == 0) {
			size_t k = strlen(nd), at = (size_t)random() % n;

			if (at + k <= n)
				memcpy(hay + at, nd, k);
		}
		if (an_casemem(hay, n, nd) != casemem_ref(hay, n, nd))
			bad++;
	}
	is_int(bad, 0, "casemem agrees with a byte-by-byte search on 20,000 "
	    "random haystacks");
}

int
main(int argc, char *argv[])
{
	struct conf	 c;

	srcdir = argc > 1 ? argv[1] : getenv("RT_TOP_SRCDIR");
	if (srcdir == NULL)
		srcdir = "..";
	g_mime_init();
	memset(&c, 0, sizeof(c));
	c.attachment_dir = "";
	test_urls();
	test_casemem();
	test_magic();
	test_fixtures(&c);
	test_fixture_urls(&c);
	test_save();
	test_hostile(&c);
	test_words(&c);
	test_crline(&c);
	test_groups(&c);
	test_folded(&c);
	test_text_limit(&c);
	test_all(&c);
	g_mime_shutdown();
	return tap_done();
}
