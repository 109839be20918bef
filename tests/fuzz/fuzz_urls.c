/*
 * fuzz_urls.c -- libFuzzer target for the URL, domain and address
 * scanner (analyzers/an_urls.c). The first byte picks the caps and which
 * sets are asked for; the rest is the text. The sets must keep what
 * an_urls.h promises: within their caps, deduplicated, URLs normalized
 * and free of the bytes that end one, domains lower-cased hosts of a
 * kept URL, addresses local@domain with a 2+ letter top label, found
 * (domain case aside) in the text.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "an_urls.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_set(const struct an_strset *s)
{
	size_t	 i, j;

	if (s->n > s->max || (s->full && s->n != s->max) ||
	    (s->n > 0 && s->v == NULL))
		abort();
	for (i = 0; i < s->n; i++) {
		if (s->v[i] == NULL)
			abort();
		for (j = 0; j < i; j++)
			if (strcmp(s->v[i], s->v[j]) == 0)
				abort();
	}
}

static char *
lower_dup(const char *p, size_t n)
{
	char	*s;
	size_t	 i;

	if ((s = malloc(n + 1)) == NULL)
		abort();
	for (i = 0; i < n; i++)
		s[i] = p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i];
	s[n] = '\0';
	return s;
}

static void
check_url(const char *u)
{
	const unsigned char	*p = (const unsigned char *)u;
	size_t			 len = strlen(u), i, sl;

	if (strncmp(u, "http://", 7) == 0)
		sl = 7;
	else if (strncmp(u, "https://", 8) == 0)
		sl = 8;
	else
		abort();
	if (len <= sl || len >= AN_URL_MAX ||
	    strchr(".,;:!?)]'*", u[len - 1]) != NULL)
		abort();
	for (i = 0; i < len; i++) {
		if (p[i] <= 0x20 || p[i] == 0x7f ||
		    strchr("\"'<>`{}|\\^", p[i]) != NULL)
			abort();
		/* the UTF-8 spaces end a URL too */
		if (len - i >= 2 && p[i] == 0xc2 && p[i + 1] == 0xa0)
			abort();
		if (len - i < 3)
			continue;
		if (p[i] == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] <= 0x8b ||
		    p[i + 2] == 0xa8 || p[i + 2] == 0xa9 || p[i + 2] == 0xaf))
			abort();
		if ((p[i] == 0xe3 && p[i + 1] == 0x80 && p[i + 2] == 0x80) ||
		    (p[i] == 0xef && p[i + 1] == 0xbb && p[i + 2] == 0xbf))
			abort();
	}
}

static void
check_domain(const char *d, const struct an_strset *urls)
{
	const unsigned char	*p = (const unsigned char *)d;
	size_t			 len = strlen(d), i, sl;
	char			*lu, *at;
	bool			 found = false;

	if (len == 0 || len >= 256)
		abort();
	if (d[0] == '[') {
		if (d[len - 1] != ']')
			abort();
	} else {
		if (d[len - 1] == '.')
			abort();
		for (i = 0; i < len; i++)
			if (!((p[i] >= 'a' && p[i] <= 'z') ||
			    (p[i] >= '0' && p[i] <= '9') || p[i] == '-' ||
			    p[i] == '.' || p[i] == '_' || p[i] >= 0x80))
				abort();
	}
	for (i = 0; i < len; i++)
		if ((p[i] >= 'A' && p[i] <= 'Z') || p[i] == '/' ||
		    p[i] == '?' || p[i] == '#' || p[i] == '@')
			abort();
	/* every URL was kept: the domain is the host of one of them */
	if (urls == NULL || urls->full)
		return;
	for (i = 0; i < urls->n && !found; i++) {
		lu = lower_dup(urls->v[i], strlen(urls->v[i]));
		sl = lu[4] == 's' ? 8 : 7;
		if (strncmp(lu + sl, d, len) == 0)
			found = true;
		for (at = lu; !found && (at = strchr(at, '@')) != NULL; at++)
			if (strncmp(at + 1, d, len) == 0)
				found = true;
		free(lu);
	}
	if (!found)
		abort();
}

static void
check_email(const char *e, const char *ltext, size_t tlen)
{
	const unsigned char	*p = (const unsigned char *)e;
	const char		*at, *dom, *dot;
	size_t			 len = strlen(e), ll, dl, i;
	char			*le;

	if (len > AN_EMAIL_MAX || (at = strchr(e, '@')) == NULL ||
	    strchr(at + 1, '@') != NULL)
		abort();
	ll = (size_t)(at - e);
	dom = at + 1;
	dl = len - ll - 1;
	if (ll == 0 || ll > 64 || dl == 0 || e[0] == '.' || dom[0] == '.' ||
	    dom[dl - 1] == '.' || dom[dl - 1] == '-')
		abort();
	for (i = 0; i < ll; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' &&
		    p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
		    strchr("._%+-", p[i]) != NULL))
			abort();
	for (i = 0; i < dl; i++)
		if (!((dom[i] >= 'a' && dom[i] <= 'z') ||
		    (dom[i] >= '0' && dom[i] <= '9') || dom[i] == '.' ||
		    dom[i] == '-'))
			abort();
	if ((dot = strrchr(dom, '.')) == NULL ||
	    strlen(dot + 1) < 2)
		abort();
	for (dot++; *dot != '\0'; dot++)
		if (*dot < 'a' || *dot > 'z')
			abort();
	/* a piece of the text, up to case */
	le = lower_dup(e, len);
	if (memmem(ltext, tlen, le, len) == NULL)
		abort();
	free(le);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct an_strset	 urls, domains, emails;
	struct an_strset	*u, *d, *m;
	const char		*text;
	char			*ltext;
	size_t			 len, max, i;

	if (size < 1)
		return 0;
	text = (const char *)data + 1;
	len = size - 1;
	/* small caps reach "full"; a missing set must not matter */
	max = data[0] & 0x80 ? 2 : 64;
	an_strset_init(&urls, max);
	an_strset_init(&domains, max);
	an_strset_init(&emails, max);
	u = data[0] & 0x01 ? NULL : &urls;
	d = data[0] & 0x02 ? NULL : &domains;
	m = data[0] & 0x04 ? NULL : &emails;
	an_urls_scan(text, len, u, d, m);

	check_set(&urls);
	check_set(&domains);
	check_set(&emails);
	for (i = 0; i < urls.n; i++)
		check_url(urls.v[i]);
	for (i = 0; i < domains.n; i++)
		check_domain(domains.v[i], u);
	ltext = lower_dup(text, len);
	for (i = 0; i < emails.n; i++)
		check_email(emails.v[i], ltext, len);
	free(ltext);

	an_strset_free(&urls);
	an_strset_free(&domains);
	an_strset_free(&emails);
	if (urls.n != 0 || urls.v != NULL || urls.max != max)
		abort();
	return 0;
}
