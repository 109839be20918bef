/*
 * an_dns.c -- blocking DNS lookups for analyzers (an_dns.h), over the one
 * resolver module (reports/resolver.c): each struct an_dns owns a private
 * event_base and an rsv on it; a lookup starts the rsv query and runs that
 * loop until its callback has fired, so the `resolver` option, timeouts
 * (timeout_ms * RSV_ATTEMPTS per lookup) and the cache are the resolver's.
 * Run by the worker role; one struct an_dns per thread (neither the
 * event_base nor the rsv may be shared). Answers come from the network:
 * rsv has bounded and validated them; names are cut to AN_DNS_NAME_MAX-1
 * bytes and at most AN_DNS_MAX records are kept.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "reports/resolver.h"
#include "an_dns.h"

struct an_dns {
	struct event_base	*base;
	struct rsv		*rsv;
};

enum an_dns_kind { AN_DNS_K_PTR, AN_DNS_K_ADDRS, AN_DNS_K_MX, AN_DNS_K_TXT };

struct an_dns_wait {
	enum an_dns_kind	 kind;
	bool			 done;
	struct an_dns_answer	*out;
};

static void	an_dns_cb(const struct rsv_result *, void *);
static int	an_dns_run(struct an_dns *, struct an_dns_wait *, int);
static void	an_dns_clear(struct an_dns_answer *);

/*
 * an_dns_new -- a lookup context on its own event loop. <servers> is NULL
 * (the system's resolv.conf) or a NULL-terminated list of at most
 * RSV_SERVERS_MAX "ADDR:PORT" strings (the `resolver` option);
 * <timeout_ms> is the time per try (<= 0: RSV_TIMEOUT_MS).
 * Returns NULL with a logged reason (bad server, system call failed).
 */
struct an_dns *
an_dns_new(const char *const *servers, int timeout_ms)
{
	struct an_dns	*d;
	struct rsv_opts	 o;

	d = xcalloc(1, sizeof(*d));
	if ((d->base = event_base_new()) == NULL) {
		log_warnx("an_dns: event_base_new failed");
		free(d);
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	o.timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
	o.max_queries = 16;
	o.threads = 1;
	if ((d->rsv = rsv_new(d->base, servers, &o)) == NULL) {
		event_base_free(d->base);
		free(d);
		return NULL;
	}
	return d;
}

/*
 * an_dns_free -- free <d> (may wait for a try in progress, see rsv_free).
 * NULL is a no-op.
 */
void
an_dns_free(struct an_dns *d)
{
	if (d == NULL)
		return;
	rsv_free(d->rsv);
	event_base_free(d->base);
	free(d);
}

static void
an_dns_clear(struct an_dns_answer *out)
{
	out->status = AN_DNS_ERROR;
	out->ttl = 0;
	out->n = 0;
	out->names[0][0] = '\0';
}

static enum an_dns_status
an_dns_status_of(enum rsv_status st)
{
	switch (st) {
	case RSV_OK:
		return AN_DNS_OK;
	case RSV_NXDOMAIN:
		return AN_DNS_NXDOMAIN;
	case RSV_NODATA:
	case RSV_NULLMX:
		return AN_DNS_NODATA;
	case RSV_TEMPFAIL:
	case RSV_CANCELLED:
		return AN_DNS_TEMPFAIL;
	case RSV_ERROR:
	default:
		return AN_DNS_ERROR;
	}
}

/* The rsv callback: copy what the lookup kind needs into the answer. */
static void
an_dns_cb(const struct rsv_result *res, void *arg)
{
	struct an_dns_wait	*w = arg;
	struct an_dns_answer	*out = w->out;
	size_t			 i, n;

	w->done = true;
	out->status = an_dns_status_of(res->status);
	out->ttl = res->ttl;
	out->n = 0;
	if (res->status != RSV_OK)
		return;
	n = res->n < AN_DNS_MAX ? res->n : AN_DNS_MAX;
	switch (w->kind) {
	case AN_DNS_K_MX:
		/* RFC 7208 5.4: SPF's "mx" never uses the implicit MX */
		if (res->implicit_mx || res->mx == NULL) {
			out->status = AN_DNS_NODATA;
			return;
		}
		for (i = 0; i < n; i++) {
			strlcpy(out->names[i], res->mx[i].host,
			    sizeof(out->names[i]));
			out->prefs[i] = res->mx[i].pref;
		}
		break;
	case AN_DNS_K_ADDRS:
		if (res->addrs == NULL)
			n = 0;
		for (i = 0; i < n; i++)
			out->addrs[i] = res->addrs[i];
		break;
	case AN_DNS_K_PTR:
	case AN_DNS_K_TXT:
		if (res->strs == NULL)
			n = 0;
		for (i = 0; i < n; i++)
			strlcpy(out->names[i], res->strs[i],
			    sizeof(out->names[i]));
		break;
	}
	out->n = n;
	if (n == 0)
		out->status = AN_DNS_NODATA;
}

/* Run the private loop until the lookup started with <rc> has answered. */
static int
an_dns_run(struct an_dns *d, struct an_dns_wait *w, int rc)
{
	if (rc == -1) {
		w->out->status = AN_DNS_ERROR;
		return -1;
	}
	/* rsv guarantees one callback within its deadline */
	while (!w->done)
		if (event_base_loop(d->base, EVLOOP_ONCE) == -1) {
			log_warnx("an_dns: event loop failed");
			w->out->status = AN_DNS_TEMPFAIL;
			return -1;
		}
	return 0;
}

/*
 * an_dns_ptr -- the PTR names of the address in <sa> (AF_INET/AF_INET6,
 * v4-mapped asked as IPv4) into out->names[0..n-1], no trailing dot.
 * Returns 0 with out->status set (AN_DNS_OK: n >= 1), or -1 when <sa> is
 * not an IP address or the loop failed (out->status AN_DNS_ERROR or
 * AN_DNS_TEMPFAIL). The same holds for the three lookups below.
 */
int
an_dns_ptr(struct an_dns *d, const struct sockaddr *sa,
    struct an_dns_answer *out)
{
	struct an_dns_wait	 w = { .kind = AN_DNS_K_PTR, .out = out };

	an_dns_clear(out);
	return an_dns_run(d, &w, rsv_ptr(d->rsv, sa, an_dns_cb, &w));
}

/*
 * an_dns_addrs -- A then AAAA records of <host> into out->addrs[] (port
 * 0); AN_DNS_OK as soon as one family answered.
 */
int
an_dns_addrs(struct an_dns *d, const char *host, struct an_dns_answer *out)
{
	struct an_dns_wait	 w = { .kind = AN_DNS_K_ADDRS, .out = out };

	an_dns_clear(out);
	return an_dns_run(d, &w, rsv_addrs(d->rsv, host, an_dns_cb, &w));
}

/*
 * an_dns_mx -- the MX hosts of <domain> by preference into names[] and
 * prefs[]. Unlike rsv_mx (delivery), no implicit MX: a domain without MX
 * records is AN_DNS_NODATA (RFC 7208 5.4), and so is a null MX (RFC 7505).
 */
int
an_dns_mx(struct an_dns *d, const char *domain, struct an_dns_answer *out)
{
	struct an_dns_wait	 w = { .kind = AN_DNS_K_MX, .out = out };

	an_dns_clear(out);
	return an_dns_run(d, &w, rsv_mx(d->rsv, domain, an_dns_cb, &w));
}

/*
 * an_dns_txt -- the TXT records of <name>, one string per record (its
 * character-strings concatenated), cut to AN_DNS_NAME_MAX-1 bytes.
 */
int
an_dns_txt(struct an_dns *d, const char *name, struct an_dns_answer *out)
{
	struct an_dns_wait	 w = { .kind = AN_DNS_K_TXT, .out = out };

	an_dns_clear(out);
	return an_dns_run(d, &w, rsv_txt(d->rsv, name, an_dns_cb, &w));
}
