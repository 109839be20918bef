/*
 * an_spf_dns.h -- a libspf2 DNS layer (SPF_dns_server_t) over the
 * blocking analyzer DNS of an_dns.h, so SPF obeys the one `resolver`
 * option. The layer itself holds no DNS handle: each thread binds the
 * struct an_dns it got for the message (ctx->dns) with an_spf_dns_bind()
 * before it asks libspf2 anything, so one SPF server serves every thread.
 */
#ifndef RT_AN_SPF_DNS_H
#define RT_AN_SPF_DNS_H

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/nameser.h>

#include <spf2/spf.h>

struct an_dns;

SPF_dns_server_t	*an_spf_dns_new(const char *name, int debug);
void			 an_spf_dns_bind(struct an_dns *d);
struct an_dns		*an_spf_dns_bound(void);
int			 an_spf_dns_revname(const char *name,
			    struct sockaddr_storage *ss);

#endif
