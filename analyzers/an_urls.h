/*
 * an_urls.h -- URLs, their domains and e-mail addresses from UTF-8 text
 * (the content analyzer's extractor, kept apart so that it is testable
 * without GMime). Input is hostile: every scan is linear, every result is
 * deduplicated and capped (struct an_strset.max); nothing is allocated
 * beyond the caps.
 *
 * URLs: "http://", "https://", defanged "hxxp://", "hxxps://" (any case,
 * also "[:]" for ":"), and bare "www." at a word start. Stored
 * normalized: scheme lower-cased and "hxxp" -> "http", "[.]", "(.)" and
 * "[dot]" -> ".", a bare "www.x" -> "http://www.x", HTML "&amp;" -> "&",
 * trailing punctuation dropped, at most AN_URL_MAX bytes. A URL whose host
 * is not a plausible host name (letters, digits, '-', '.', '_', non-ASCII,
 * or a [v6] literal) is dropped. Domains: the host, lower-cased (ASCII
 * only; IDN and punycode left as they are), without userinfo, port and
 * trailing dot.
 * Addresses: local@domain with a dot in the domain and an alphabetic top
 * label of 2+ letters; the domain lower-cased, the local part kept.
 */
#ifndef RT_AN_URLS_H
#define RT_AN_URLS_H

#include <stdbool.h>
#include <stddef.h>

#define AN_URL_MAX	2048	/* bytes kept of one URL */
#define AN_EMAIL_MAX	254	/* bytes of one address */

struct an_strset {
	char	**v;
	size_t	  n;
	size_t	  max;		/* cap on n, set by the caller */
	bool	  full;		/* an item was dropped for the cap */
};

/* an empty set holding at most max strings */
void	an_strset_init(struct an_strset *s, size_t max);
/* adds a copy of p[0..n) unless present; false if dropped (cap) */
bool	an_strset_add(struct an_strset *s, const char *p, size_t n);
void	an_strset_free(struct an_strset *s);

/* scans text[0..len), adding to any of the sets that is not NULL */
void	an_urls_scan(const char *text, size_t len, struct an_strset *urls,
	    struct an_strset *domains, struct an_strset *emails);

#endif
