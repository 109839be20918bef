/*
 * an_spf_dns.c -- libspf2's DNS layer over an_dns (blocking lookups on
 * the resolver module), run in the worker role. libspf2 calls lookup()
 * for A, AAAA, MX, TXT, PTR (reverse names it built itself) and the
 * obsolete SPF RR type; we answer from struct an_dns_answer, whose
 * strings an_dns already bounded (AN_DNS_NAME_MAX, AN_DNS_MAX records).
 *
 * Which struct an_dns is used: the one the calling thread bound with
 * an_spf_dns_bind() (a thread-local), so the process-wide SPF server
 * needs no per-message state. Unbound (NULL) means "no DNS": every
 * lookup answers TRY_AGAIN, which libspf2 turns into temperror.
 *
 * Status mapping (netdb h_errno values, as libspf2's resolv layer):
 * AN_DNS_OK -> NETDB_SUCCESS (NO_DATA when no record of the asked type
 * is left), NXDOMAIN -> HOST_NOT_FOUND, NODATA -> NO_DATA, TEMPFAIL and
 * a failed call -> TRY_AGAIN, ERROR -> NO_RECOVERY.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <ctype.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>

#include "an_dns.h"
#include "an_spf_dns.h"
#include "xmalloc.h"

static __thread struct an_dns *an_spf_dns_cur;

static SPF_dns_rr_t	*spf_dns_lookup(SPF_dns_server_t *, const char *,
			    ns_type, int);
static void		 spf_dns_destroy(SPF_dns_server_t *);
static int		 spf_dns_herrno(int, const struct an_dns_answer *);
static int		 spf_dns_fill(SPF_dns_rr_t *, ns_type,
			    const struct an_dns_answer *);
static int		 hexval(int);

/*
 * an_spf_dns_bind -- make <d> the DNS handle of this thread's SPF
 * lookups (NULL: none, lookups answer TRY_AGAIN). Bind before each
 * evaluation and unbind (NULL) after; <d> must outlive the binding.
 */
void
an_spf_dns_bind(struct an_dns *d)
{
	an_spf_dns_cur = d;
}

/*
 * an_spf_dns_bound -- the handle this thread bound, or NULL.
 */
struct an_dns *
an_spf_dns_bound(void)
{
	return an_spf_dns_cur;
}

/*
 * an_spf_dns_new -- a new libspf2 DNS layer over an_dns, named <name>
 * (NULL: "an_dns"). Pass it to SPF_server_new_dns(); the server does not
 * own it: SPF_dns_free() it after SPF_server_free(). Never NULL.
 */
SPF_dns_server_t *
an_spf_dns_new(const char *name, int debug)
{
	SPF_dns_server_t	*ds;

	ds = xcalloc(1, sizeof(*ds));
	ds->destroy = spf_dns_destroy;
	ds->lookup = spf_dns_lookup;
	ds->get_spf = NULL;
	ds->get_exp = NULL;
	ds->add_cache = NULL;
	ds->layer_below = NULL;
	ds->name = name != NULL ? name : "an_dns";
	ds->debug = debug;
	ds->hook = NULL;
	return ds;
}

static void
spf_dns_destroy(SPF_dns_server_t *ds)
{
	free(ds);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * an_spf_dns_revname -- parse a reverse name ("4.3.2.1.in-addr.arpa",
 * 32 nibbles + ".ip6.arpa", trailing dot allowed, any case) into <ss>
 * (port 0). Returns 0, or -1 when <name> is no complete reverse name.
 */
int
an_spf_dns_revname(const char *name, struct sockaddr_storage *ss)
{
	static const char	 v4sfx[] = ".in-addr.arpa";
	static const char	 v6sfx[] = ".ip6.arpa";
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	unsigned char		 b[16];
	size_t			 len, i, n;
	const char		*p;
	unsigned long		 v;
	char			*ep;

	memset(ss, 0, sizeof(*ss));
	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len > sizeof(v4sfx) - 1 && strncasecmp(name + len -
	    (sizeof(v4sfx) - 1), v4sfx, sizeof(v4sfx) - 1) == 0) {
		len -= sizeof(v4sfx) - 1;
		p = name;
		for (n = 0; n < 4; n++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			v = strtoul(p, &ep, 10);
			if (v > 255 || ep - p > 3)
				return -1;
			b[3 - n] = (unsigned char)v;
			p = ep;
			if (n < 3) {
				if (*p != '.')
					return -1;
				p++;
			}
		}
		if ((size_t)(p - name) != len)
			return -1;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, b, 4);
		return 0;
	}
	/* 32 nibbles and 31 dots, then the suffix */
	if (len == 63 + sizeof(v6sfx) - 1 && strncasecmp(name + 63, v6sfx,
	    sizeof(v6sfx) - 1) == 0) {
		memset(b, 0, sizeof(b));
		for (i = 0; i < 32; i++) {
			int	 h;

			if ((h = hexval(name[2 * i])) == -1 ||
			    (i < 31 && name[2 * i + 1] != '.'))
				return -1;
			/* nibble i counts from the least significant end */
			n = 15 - i / 2;
			b[n] |= (i % 2 == 0) ? h : h << 4;
		}
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, b, 16);
		return 0;
	}
	return -1;
}

static int
spf_dns_herrno(int rc, const struct an_dns_answer *ans)
{
	if (rc == -1)
		return TRY_AGAIN;
	switch (ans->status) {
	case AN_DNS_OK:
		return NETDB_SUCCESS;
	case AN_DNS_NXDOMAIN:
		return HOST_NOT_FOUND;
	case AN_DNS_NODATA:
		return NO_DATA;
	case AN_DNS_TEMPFAIL:
		return TRY_AGAIN;
	case AN_DNS_ERROR:
	default:
		return NO_RECOVERY;
	}
}

/*
 * rr's record cnt: the explanation text txt with every space written as
 * the macro "%_" (see spf_dns_fill). 0, or -1 when out of memory.
 */
static int
spf_dns_exp_text(SPF_dns_rr_t *rr, int cnt, const char *txt)
{
	size_t	 len = strnlen(txt, AN_DNS_NAME_MAX - 1), i, o = 0, sp = 0;
	char	*dst;

	for (i = 0; i < len; i++)
		if (txt[i] == ' ')
			sp++;
	if (SPF_dns_rr_buf_realloc(rr, cnt, len + sp + 1) != SPF_E_SUCCESS)
		return -1;
	dst = (char *)rr->rr[cnt];
	for (i = 0; i < len; i++) {
		if (txt[i] == ' ') {
			dst[o++] = '%';
			dst[o++] = '_';
		} else
			dst[o++] = txt[i];
	}
	dst[o] = '\0';
	return 0;
}

/* copy the records of <type> from <ans> into <rr>; -1: out of memory */
static int
spf_dns_fill(SPF_dns_rr_t *rr, ns_type type, const struct an_dns_answer *ans)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	size_t				 i, n, len;
	char				*dst;
	int				 cnt = 0;

	n = ans->n < AN_DNS_MAX ? ans->n : AN_DNS_MAX;
	for (i = 0; i < n; i++) {
		switch (type) {
		case ns_t_a:
			if (ans->addrs[i].ss_family != AF_INET)
				continue;
			sin = (const struct sockaddr_in *)&ans->addrs[i];
			if (SPF_dns_rr_buf_realloc(rr, cnt,
			    sizeof(struct in_addr)) != SPF_E_SUCCESS)
				return -1;
			memcpy(&rr->rr[cnt]->a, &sin->sin_addr,
			    sizeof(struct in_addr));
			break;
		case ns_t_aaaa:
			if (ans->addrs[i].ss_family != AF_INET6)
				continue;
			sin6 = (const struct sockaddr_in6 *)&ans->addrs[i];
			if (SPF_dns_rr_buf_realloc(rr, cnt,
			    sizeof(struct in6_addr)) != SPF_E_SUCCESS)
				return -1;
			memcpy(&rr->rr[cnt]->aaaa, &sin6->sin6_addr,
			    sizeof(struct in6_addr));
			break;
		case ns_t_txt:
			if (strncasecmp(ans->names[i], "v=spf1", 6) == 0)
				goto copy;
			/*
			 * Not a policy: an exp= explanation. libspf2 1.2.10
			 * compiles it like a domain-spec and turns each space
			 * into "%" (and stops expanding there); RFC 7208's
			 * macro "%_" is a space that it keeps.
			 */
			if (spf_dns_exp_text(rr, cnt, ans->names[i]) == -1)
				return -1;
			break;
		case ns_t_mx:
		case ns_t_ptr:
 copy:
			len = strnlen(ans->names[i], AN_DNS_NAME_MAX - 1);
			/* a null MX ("."), an empty PTR: nothing to use */
			if (len == 0 && type != ns_t_txt)
				continue;
			if (SPF_dns_rr_buf_realloc(rr, cnt, len + 1) !=
			    SPF_E_SUCCESS)
				return -1;
			/* the union's char[1] was grown to len + 1 */
			dst = (char *)rr->rr[cnt];
			memcpy(dst, ans->names[i], len);
			dst[len] = '\0';
			break;
		default:
			continue;
		}
		cnt++;
	}
	rr->num_rr = cnt;
	return 0;
}

/*
 * libspf2's lookup entry point: always returns a new SPF_dns_rr_t (the
 * caller frees it), NULL only when libspf2's own allocation failed.
 */
static SPF_dns_rr_t *
spf_dns_lookup(SPF_dns_server_t *ds, const char *domain, ns_type type,
    int should_cache)
{
	struct an_dns		*d = an_spf_dns_cur;
	struct an_dns_answer	*ans;
	struct sockaddr_storage	 ss;
	SPF_dns_rr_t		*rr;
	int			 rc, herr;

	(void)should_cache;	/* the resolver module caches */

	/* RFC 7208 3.1: the SPF RR type is gone; go straight to TXT */
	if (type == ns_t_spf)
		return SPF_dns_rr_new_init(ds, domain, type, 0, NO_DATA);
	if (d == NULL)
		return SPF_dns_rr_new_init(ds, domain, type, 0, TRY_AGAIN);

	ans = xcalloc(1, sizeof(*ans));
	switch (type) {
	case ns_t_a:
	case ns_t_aaaa:
		rc = an_dns_addrs(d, domain, ans);
		break;
	case ns_t_mx:
		rc = an_dns_mx(d, domain, ans);
		break;
	case ns_t_txt:
		rc = an_dns_txt(d, domain, ans);
		break;
	case ns_t_ptr:
		if (an_spf_dns_revname(domain, &ss) == -1) {
			free(ans);
			return SPF_dns_rr_new_init(ds, domain, type, 0,
			    HOST_NOT_FOUND);
		}
		rc = an_dns_ptr(d, (struct sockaddr *)&ss, ans);
		break;
	default:
		free(ans);
		return SPF_dns_rr_new_init(ds, domain, type, 0, NO_DATA);
	}

	herr = spf_dns_herrno(rc, ans);
	rr = SPF_dns_rr_new_init(ds, domain, type,
	    herr == NETDB_SUCCESS ? (int)ans->ttl : 0, herr);
	if (rr == NULL || herr != NETDB_SUCCESS) {
		free(ans);
		return rr;
	}
	if (spf_dns_fill(rr, type, ans) == -1)
		rr->herrno = TRY_AGAIN;
	else if (rr->num_rr == 0)
		rr->herrno = NO_DATA;
	free(ans);
	return rr;
}
