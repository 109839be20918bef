/*
 * an_urls.c -- URL, domain and address extraction from UTF-8 text; see
 * an_urls.h for what is recognised and how it is normalized.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "an_urls.h"
#include "compat.h"
#include "xmalloc.h"

static size_t	url_match_scheme(const char *, size_t, size_t, size_t *);
#define AN_URL_SCAN_MAX	(4 * AN_URL_MAX)	/* input bytes normalised */
#define AN_URL_NESTED_MAX 16	/* URLs taken from inside one URL */

static bool	url_end(const char *, size_t, size_t);
static size_t	url_normalize(const char *, size_t, char *, size_t);
static bool	url_host(const char *, size_t, char *, size_t, size_t *);
static bool	is_alnum(unsigned char);
static bool	is_localch(unsigned char);
static bool	is_domch(unsigned char);
static size_t	scan_email(const char *, size_t, size_t, struct an_strset *);

/* an_strset_init - an empty set of at most max strings */
void
an_strset_init(struct an_strset *s, size_t max)
{
	s->v = NULL;
	s->n = 0;
	s->max = max;
	s->full = false;
}

/*
 * an_strset_add - add a copy of p[0..n) unless present; false if capped.
 * Once a string was refused for the cap nothing more is compared: hostile
 * text repeats candidates by the ten thousand.
 */
bool
an_strset_add(struct an_strset *s, const char *p, size_t n)
{
	size_t	 i;

	if (s->full)
		return false;
	for (i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == n && memcmp(s->v[i], p, n) == 0)
			return true;
	if (s->n >= s->max) {
		s->full = true;
		return false;
	}
	if (s->v == NULL)
		s->v = xcalloc(s->max > 0 ? s->max : 1, sizeof(*s->v));
	s->v[s->n++] = xstrndup(p, n);
	return true;
}

/* an_strset_free - free the strings; the set is empty afterwards */
void
an_strset_free(struct an_strset *s)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	an_strset_init(s, s->max);
}

static bool
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static bool
is_localch(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
	    c == '-';
}

static bool
is_domch(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '-';
}

/*
 * url_end - does a URL end at p[i]? White space and control bytes,
 * quotes, angle brackets, and the UTF-8 spaces U+00A0, U+2000..U+200B,
 * U+2028, U+2029, U+202F, U+3000, U+FEFF.
 */
static bool
url_end(const char *p, size_t len, size_t i)
{
	const unsigned char	*u = (const unsigned char *)p + i;
	size_t			 r = len - i;

	if (u[0] <= 0x20 || u[0] == 0x7f ||
	    strchr("\"'<>`{}|\\^", u[0]) != NULL)
		return true;
	if (r >= 2 && u[0] == 0xc2 && u[1] == 0xa0)
		return true;
	if (r >= 3 && u[0] == 0xe2 && u[1] == 0x80 && (u[2] <= 0x8b ||
	    u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf))
		return true;
	if (r >= 3 && ((u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80) ||
	    (u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf)))
		return true;
	return false;
}

/*
 * url_match_scheme - at p[i], a scheme prefix ("http://", "hxxps[:]//",
 * "www.") at a word start? Returns the prefix length (0: none); *tls is
 * 1 for https, 0 for http, 2 for a bare "www.".
 */
static size_t
url_match_scheme(const char *p, size_t len, size_t i, size_t *tls)
{
	static const char	*sch[] = { "https", "http", "hxxps", "hxxp" };
	size_t			 k, sl, j;

	if (i > 0 && (is_alnum((unsigned char)p[i - 1]) || p[i - 1] == '.' ||
	    p[i - 1] == '-' || p[i - 1] == '/' || p[i - 1] == '_' ||
	    p[i - 1] == '@'))
		return 0;
	if (len - i >= 5 && strncasecmp(p + i, "www.", 4) == 0 &&
	    is_alnum((unsigned char)p[i + 4])) {
		*tls = 2;
		return 4;
	}
	for (k = 0; k < sizeof(sch) / sizeof(sch[0]); k++) {
		sl = strlen(sch[k]);
		if (len - i < sl + 3 || strncasecmp(p + i, sch[k], sl) != 0)
			continue;
		j = i + sl;
		if (p[j] == ':')
			j++;
		else if (len - j >= 3 && memcmp(p + j, "[:]", 3) == 0)
			j += 3;
		else
			continue;
		if (len - j < 3 || p[j] != '/' || p[j + 1] != '/')
			continue;
		*tls = sch[k][sl - 1] == 's';
		return j + 2 - i;
	}
	return 0;
}

/*
 * url_normalize - copy the URL body in[0..n) to out (size outsz), turning
 * "[.]", "(.)", "[dot]" into "." and "&amp;" into "&". Returns the length.
 */
static size_t
url_normalize(const char *in, size_t n, char *out, size_t outsz)
{
	size_t	 i = 0, o = 0;

	while (i < n && o + 1 < outsz) {
		if (n - i >= 3 && (memcmp(in + i, "[.]", 3) == 0 ||
		    memcmp(in + i, "(.)", 3) == 0)) {
			out[o++] = '.';
			i += 3;
		} else if (n - i >= 5 && strncasecmp(in + i, "[dot]", 5) == 0) {
			out[o++] = '.';
			i += 5;
		} else if (n - i >= 5 && strncasecmp(in + i, "&amp;", 5) == 0) {
			out[o++] = '&';
			i += 5;
		} else
			out[o++] = in[i++];
	}
	out[o] = '\0';
	return o;
}

/*
 * url_host - the host of URL body b[0..n) (after "//"), lower-cased, into
 * out; *hend is where the host ends in b. False if implausible.
 */
static bool
url_host(const char *b, size_t n, char *out, size_t outsz, size_t *hend)
{
	size_t	 e, s, i, hl;

	for (e = 0; e < n && b[e] != '/' && b[e] != '?' && b[e] != '#'; e++)
		;
	*hend = e;
	s = 0;
	for (i = 0; i < e; i++)		/* userinfo ends at the last '@' */
		if (b[i] == '@')
			s = i + 1;
	if (s < e && b[s] == '[') {	/* [v6] literal */
		for (i = s; i < e && b[i] != ']'; i++)
			;
		if (i == e)
			return false;
		hl = i + 1 - s;
	} else {
		for (i = s; i < e && b[i] != ':'; i++)
			;
		hl = i - s;
		while (hl > 0 && b[s + hl - 1] == '.')
			hl--;
		for (i = s; i < s + hl; i++) {
			unsigned char c = (unsigned char)b[i];
			if (!(is_alnum(c) || c == '-' || c == '.' ||
			    c == '_' || c >= 0x80))
				return false;
		}
	}
	if (hl == 0 || hl >= outsz)
		return false;
	for (i = 0; i < hl; i++) {
		unsigned char c = (unsigned char)b[s + i];
		out[i] = (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
	}
	out[hl] = '\0';
	return true;
}

/*
 * scan_email - an address around the '@' at p[at]? Adds it; returns the
 * index after it (at + 1 if none).
 */
static size_t
scan_email(const char *p, size_t len, size_t at, struct an_strset *emails)
{
	char	 buf[AN_EMAIL_MAX + 1];
	size_t	 ls, de, i, tl, ll, dl;

	for (ls = at; ls > 0 && is_localch((unsigned char)p[ls - 1]) &&
	    at - ls < 64; ls--)
		;
	while (ls < at && p[ls] == '.')
		ls++;
	for (de = at + 1; de < len && is_domch((unsigned char)p[de]) &&
	    de - at < 253; de++)
		;
	while (de > at + 1 && (p[de - 1] == '.' || p[de - 1] == '-'))
		de--;
	ll = at - ls;
	dl = de - at - 1;
	if (ll == 0 || dl == 0 || ll + 1 + dl > AN_EMAIL_MAX)
		return at + 1;
	if (memchr(p + at + 1, '.', dl) == NULL || p[at + 1] == '.')
		return at + 1;
	for (tl = 0; tl < dl && p[de - 1 - tl] != '.'; tl++) {
		unsigned char c = (unsigned char)p[de - 1 - tl];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return at + 1;
	}
	if (tl < 2)
		return at + 1;
	memcpy(buf, p + ls, ll + 1);
	for (i = 0; i < dl; i++) {
		unsigned char c = (unsigned char)p[at + 1 + i];
		buf[ll + 1 + i] = (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
	}
	buf[ll + 1 + dl] = '\0';
	an_strset_add(emails, buf, ll + 1 + dl);
	return de;
}

/* an_urls_scan - add the URLs, domains and addresses of text[0..len) */
void
an_urls_scan(const char *text, size_t len, struct an_strset *urls,
    struct an_strset *domains, struct an_strset *emails)
{
	char	 url[AN_URL_MAX + 16], host[256];
	size_t	 i, pl, tls, e, bl, ul, hend, in, last_e = 0, nested = 0;

	i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)text[i];

		if (c == '@' && emails != NULL) {
			i = scan_email(text, len, i, emails);
			continue;
		}
		if (c != 'h' && c != 'H' && c != 'w' && c != 'W') {
			i++;
			continue;
		}
		if ((pl = url_match_scheme(text, len, i, &tls)) == 0) {
			i++;
			continue;
		}
		/*
		 * Where the URL ends depends on the bytes there only: a match
		 * inside the run of the previous one ends where it did. So a
		 * line of 50,000 "(www.a" is scanned once, not once a match.
		 */
		if (i + pl < last_e) {
			/*
			 * Inside the previous URL: a scheme there may be a
			 * redirect's target and is a URL of its own; a
			 * "www." is part of the one around it. A run holding
			 * more than AN_URL_NESTED_MAX is padding: skipped.
			 */
			e = last_e;
			if (tls == 2 || ++nested > AN_URL_NESTED_MAX) {
				i += pl;
				continue;
			}
		} else {
			for (e = i + pl; e < len && !url_end(text, len, e); e++)
				;
			nested = 0;
		}
		last_e = e;
		/* "www." belongs to the body; a scheme does not */
		ul = strlcpy(url, tls == 1 ? "https://" : "http://",
		    sizeof(url));
		in = e - i - (tls == 2 ? 0 : pl);
		if (in > AN_URL_SCAN_MAX)
			in = AN_URL_SCAN_MAX;	/* kept: AN_URL_MAX at most */
		bl = url_normalize(text + i + (tls == 2 ? 0 : pl), in,
		    url + ul, AN_URL_MAX - ul);
		while (bl > 0 && strchr(".,;:!?)]'*", url[ul + bl - 1]) != NULL)
			bl--;
		url[ul + bl] = '\0';
		if (url_host(url + ul, bl, host, sizeof(host), &hend)) {
			if (urls != NULL)
				an_strset_add(urls, url, ul + bl);
			if (domains != NULL)
				an_strset_add(domains, host, strlen(host));
		}
		/* addresses inside the URL are scanned, too */
		i += pl;
	}
}
