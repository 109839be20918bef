/*
 * an_dns.h -- blocking DNS lookups for analyzers, over the one resolver
 * module (reports/resolver.c) with a private event loop, so every lookup
 * obeys the `resolver` option and its timeouts. One struct an_dns per
 * thread. Used for PTR/FCrDNS (origin) and SPF (libspf2's DNS layer).
 */
#ifndef RT_AN_DNS_H
#define RT_AN_DNS_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

enum an_dns_status {
	AN_DNS_OK = 0,
	AN_DNS_NXDOMAIN,
	AN_DNS_NODATA,
	AN_DNS_TEMPFAIL,
	AN_DNS_ERROR,
};

#define AN_DNS_MAX	16	/* answers kept per lookup */
#define AN_DNS_NAME_MAX	1024	/* TXT (SPF) records are longer than names */

struct an_dns_answer {
	enum an_dns_status	 status;
	uint32_t		 ttl;
	size_t			 n;
	char			 names[AN_DNS_MAX][AN_DNS_NAME_MAX]; /* PTR, MX, TXT (truncated) */
	int			 prefs[AN_DNS_MAX];		/* MX */
	struct sockaddr_storage	 addrs[AN_DNS_MAX];		/* A/AAAA */
};

struct an_dns;

struct an_dns	*an_dns_new(const char *const *servers, int timeout_ms);
void		 an_dns_free(struct an_dns *d);
int		 an_dns_ptr(struct an_dns *d, const struct sockaddr *sa,
		    struct an_dns_answer *out);
int		 an_dns_addrs(struct an_dns *d, const char *host,
		    struct an_dns_answer *out);
int		 an_dns_mx(struct an_dns *d, const char *domain,
		    struct an_dns_answer *out);
int		 an_dns_txt(struct an_dns *d, const char *name,
		    struct an_dns_answer *out);

#endif
