/*
 * an_origin.c -- the origin analyzer (issue 4), run in the worker role:
 * who connected (the envelope's "client", which is the PROXY-given source
 * when there was one), its PTR and whether the PTR's forward lookup gives
 * the address back (FCrDNS), the Received chain parsed into hops
 * (an_received.c), and which address most likely originated the message.
 * Everything in the message is a claim by the sender; only the client
 * address is a fact. DNS goes through ctx->dns (an_dns.c); without it no
 * lookup is made and the result says so.
 *
 * Result, stored as analysis.json "origin":
 *   "client": { "addr": "203.0.113.9" | null,
 *               "ptr": "mail.example.test" | null (the confirmed name if
 *                      any, else the first PTR name),
 *               "ptr_confirmed": true | false | null (not looked up or
 *                      temporary failure),
 *               "private": bool (an_received_addr_private()),
 *               "dns": "ok" | "nxdomain" | "nodata" | "tempfail" |
 *                      "error" | "skipped" (no resolver) |
 *                      "private" (not asked for a private address) |
 *                      "none" (no client address) }
 *   "hops": [ { "from_name", "from_helo", "from_rdns", "from_addr", "by",
 *               "with", "id", "for", "date" (string or null, as written),
 *               "time": the date as UTC "YYYY-MM-DDTHH:MM:SSZ" (RFC 5322
 *                       date, comments ignored, by GMime) or null,
 *               "addrs": [every address the hop names, from-part first],
 *               "raw": the unfolded header value, "truncated": bool } ],
 *               hops[0] is the topmost header (the newest)
 *   "hops_seen": Received headers in the message (> hops when capped)
 *   "origin": { "addr": string | null, "hop": index into hops | null
 *               (the client itself), "reason": one of the codes below,
 *               "detail": a sentence, "claimed": the public sender
 *               address of the topmost hop when the origin is the
 *               client and it differs, else null }
 *
 * The decision. The trap adds no Received header of its own, so hops[0]
 * was written by the client, if by anyone honest. hops[0] counts as the
 * client's when its "by" part names the client's PTR or address, or
 * when the client address is private (our own network: the trap behind
 * NAT or a test). From there the chain is followed down while each hop
 * was written by the previous hop's sender (its "by" names that sender's
 * name, HELO, reverse name or address) and that sender was private; the
 * first public sender address met is the origin. Hops naming neither
 * sender nor receiver (qmail's "invoked from network") are stepped over.
 * Reasons:
 *   "relayed"   the client wrote hops[0]; origin is the first public
 *               sender down the chain it (and its private hosts) wrote
 *   "private_client"  the client is private; same walk from hops[0]
 *   "client"    no hop is provably the client's: the client is the
 *               origin (bots and open proxies write none, or forge them)
 *   "private_only"   nothing public anywhere: the client, as it is
 * Documentation ranges count as public (see an_received_addr_private).
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>
#include <jansson.h>

#include "compat.h"
#include "jsonutil.h"
#include "log.h"
#include "an.h"
#include "an_dns.h"
#include "an_received.h"

#define ORIGIN_PTR_TRY	4	/* PTR names checked forward */

struct origin_client {
	char			 addr[AN_RCV_ADDR_MAX];
	bool			 have;
	bool			 priv;
	char			 ptr[AN_DNS_NAME_MAX];
	int			 confirmed;	/* -1 unknown */
	const char		*dns;
};

static enum an_status origin_run(void *, struct an_ctx *, json_t **);
static bool	origin_name_eq(const char *, const char *);
static bool	origin_by_names(const struct an_received_hop *,
		    const char *, const char *);
static bool	origin_sa(const char *, struct sockaddr_storage *);
static enum an_status origin_dns(struct an_dns *, struct origin_client *);

const struct an_analyzer an_origin = {
	.name = "origin",
	.init = NULL,
	.run = origin_run,
	.fini = NULL,
};

/* host names compare case-insensitively, a trailing dot ignored */
static bool
origin_name_eq(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la > 0 && la == lb && strncasecmp(a, b, la) == 0;
}

/* Does the by-part of <hop> name host <name> or address <addr>? */
static bool
origin_by_names(const struct an_received_hop *hop, const char *name,
    const char *addr)
{
	size_t	 i;

	if (name != NULL && origin_name_eq(hop->by, name))
		return true;
	if (addr == NULL || addr[0] == '\0')
		return false;
	for (i = 0; i < hop->nby_addrs; i++)
		if (strcmp(hop->by_addrs[i], addr) == 0)
			return true;
	return false;
}

static bool
origin_sa(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

/* Same host address, v4-mapped IPv6 folded to IPv4. */
static bool
origin_ss_eq(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const unsigned char	*pa, *pb;
	size_t			 la, lb;

	if (a->ss_family == AF_INET) {
		pa = (const unsigned char *)
		    &((const struct sockaddr_in *)a)->sin_addr;
		la = 4;
	} else {
		pa = ((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr;
		la = 16;
		if (IN6_IS_ADDR_V4MAPPED(
		    &((const struct sockaddr_in6 *)a)->sin6_addr)) {
			pa += 12;
			la = 4;
		}
	}
	if (b->ss_family == AF_INET) {
		pb = (const unsigned char *)
		    &((const struct sockaddr_in *)b)->sin_addr;
		lb = 4;
	} else {
		pb = ((const struct sockaddr_in6 *)b)->sin6_addr.s6_addr;
		lb = 16;
		if (IN6_IS_ADDR_V4MAPPED(
		    &((const struct sockaddr_in6 *)b)->sin6_addr)) {
			pb += 12;
			lb = 4;
		}
	}
	return la == lb && memcmp(pa, pb, la) == 0;
}

static const char *
origin_dns_str(enum an_dns_status st)
{
	switch (st) {
	case AN_DNS_OK:
		return "ok";
	case AN_DNS_NXDOMAIN:
		return "nxdomain";
	case AN_DNS_NODATA:
		return "nodata";
	case AN_DNS_TEMPFAIL:
		return "tempfail";
	default:
		return "error";
	}
}

/*
 * PTR of the client, then the addresses of up to ORIGIN_PTR_TRY of its
 * names: confirmed when one of them is the client's. AN_TEMPFAIL when a
 * lookup failed temporarily and nothing was confirmed.
 */
static enum an_status
origin_dns(struct an_dns *dns, struct origin_client *c)
{
	struct an_dns_answer	*ptr, *fwd;
	struct sockaddr_storage	 ss;
	enum an_status		 st = AN_OK;
	size_t			 i, j;

	if (!origin_sa(c->addr, &ss))
		return AN_OK;
	ptr = malloc(sizeof(*ptr));
	fwd = malloc(sizeof(*fwd));
	if (ptr == NULL || fwd == NULL) {
		free(ptr);
		free(fwd);
		c->dns = "error";
		return AN_ERROR;
	}
	(void)an_dns_ptr(dns, (struct sockaddr *)&ss, ptr);
	c->dns = origin_dns_str(ptr->status);
	if (ptr->status == AN_DNS_TEMPFAIL)
		st = AN_TEMPFAIL;
	if (ptr->status == AN_DNS_OK && ptr->n > 0) {
		strlcpy(c->ptr, ptr->names[0], sizeof(c->ptr));
		c->confirmed = 0;
		for (i = 0; i < ptr->n && i < ORIGIN_PTR_TRY; i++) {
			if (an_dns_addrs(dns, ptr->names[i], fwd) == -1)
				continue;
			if (fwd->status == AN_DNS_TEMPFAIL)
				st = AN_TEMPFAIL;
			if (fwd->status != AN_DNS_OK)
				continue;
			for (j = 0; j < fwd->n; j++)
				if (origin_ss_eq(&fwd->addrs[j], &ss))
					break;
			if (j < fwd->n) {
				strlcpy(c->ptr, ptr->names[i], sizeof(c->ptr));
				c->confirmed = 1;
				st = AN_OK;
				break;
			}
		}
		if (c->confirmed == 0 && st == AN_TEMPFAIL)
			c->confirmed = -1;
	}
	free(ptr);
	free(fwd);
	return st;
}

static json_t *
origin_jstr(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return json_null();
	return jsu_bytes(s, strlen(s));
}

/* a hop's RFC 5322 date as UTC ISO 8601, or null if it does not parse */
static json_t *
origin_hop_time(const char *date)
{
	GDateTime	*t, *u;
	gchar		*s;
	json_t		*j;

	if (date[0] == '\0' ||
	    (t = g_mime_utils_header_decode_date(date)) == NULL)
		return json_null();
	u = g_date_time_to_utc(t);
	s = u != NULL ? g_date_time_format(u, "%Y-%m-%dT%H:%M:%SZ") : NULL;
	j = s != NULL ? json_string(s) : json_null();
	g_free(s);
	if (u != NULL)
		g_date_time_unref(u);
	g_date_time_unref(t);
	return j;
}

static json_t *
origin_hop_json(const struct an_received_hop *h)
{
	json_t	*o, *a;
	size_t	 i;

	o = json_object();
	json_object_set_new(o, "from_name", origin_jstr(h->from_name));
	json_object_set_new(o, "from_helo", origin_jstr(h->from_helo));
	json_object_set_new(o, "from_rdns", origin_jstr(h->from_rdns));
	json_object_set_new(o, "from_addr", origin_jstr(h->from_addr));
	json_object_set_new(o, "by", origin_jstr(h->by));
	json_object_set_new(o, "with", origin_jstr(h->with));
	json_object_set_new(o, "id", origin_jstr(h->id));
	json_object_set_new(o, "for", origin_jstr(h->for_));
	json_object_set_new(o, "date", origin_jstr(h->date));
	json_object_set_new(o, "time", origin_hop_time(h->date));
	a = json_array();
	for (i = 0; i < h->naddrs; i++)
		json_array_append_new(a, json_string(h->addrs[i]));
	json_object_set_new(o, "addrs", a);
	json_object_set_new(o, "raw", jsu_bytes(h->raw, h->rawlen));
	json_object_set_new(o, "truncated", json_boolean(h->truncated));
	return o;
}

/* Was hops[k] written by the sender named in hops[k - 1]? */
static bool
origin_linked(const struct an_received_hop *h,
    const struct an_received_hop *up)
{
	return origin_by_names(h, up->from_name, up->from_addr) ||
	    origin_by_names(h, up->from_helo, NULL) ||
	    origin_by_names(h, up->from_rdns, NULL);
}

/* qmail's "(qmail 1 invoked from network)", "apparently": no hop at all */
static bool
origin_empty(const struct an_received_hop *h)
{
	return h->from_name[0] == '\0' && h->from_addr[0] == '\0' &&
	    h->by[0] == '\0';
}

/* The index of the first real hop at or after <k>, or rc->n. */
static size_t
origin_next(const struct an_received *rc, size_t k)
{
	while (k < rc->n && origin_empty(&rc->hops[k]))
		k++;
	return k;
}

/*
 * The decision (see the file header): fills addr/hop/reason/detail/
 * claimed into <o> from the chain <rc> and the client <c>. Hops that
 * name neither sender nor receiver are stepped over.
 */
static void
origin_decide(const struct an_received *rc, const struct origin_client *c,
    json_t *o)
{
	const struct an_received_hop *h;
	char		 detail[600];
	const char	*reason;
	size_t		 k, top, next;
	bool		 linked, wrote;

	top = origin_next(rc, 0);
	if (top == rc->n)
		linked = false;
	else if (!c->have || c->priv)
		linked = true;
	else
		linked = origin_by_names(&rc->hops[top],
		    c->ptr[0] != '\0' ? c->ptr : NULL, c->addr);
	reason = !c->have || c->priv ? "private_client" : "relayed";
	wrote = linked;
	for (k = top; linked && k < rc->n; k = next) {
		h = &rc->hops[k];
		if (h->from_addr[0] != '\0' &&
		    !an_received_addr_private(h->from_addr)) {
			snprintf(detail, sizeof(detail), "hop %zu (by %s) "
			    "names sender %s; %s", k, h->by[0] ? h->by : "?",
			    h->from_addr, k == top && c->have && !c->priv ?
			    "the client wrote that hop (by = its PTR or "
			    "address)" : "the hops above it were written by "
			    "the client or private hosts behind it");
			json_object_set_new(o, "addr",
			    json_string(h->from_addr));
			json_object_set_new(o, "hop",
			    json_integer((json_int_t)k));
			json_object_set_new(o, "reason", json_string(reason));
			json_object_set_new(o, "detail", jsu_str(detail));
			json_object_set_new(o, "claimed", json_null());
			return;
		}
		next = origin_next(rc, k + 1);
		linked = next < rc->n && origin_linked(&rc->hops[next], h);
	}
	json_object_set_new(o, "addr", c->have ? json_string(c->addr) :
	    json_null());
	json_object_set_new(o, "hop", json_null());
	h = top < rc->n ? &rc->hops[top] : NULL;
	if (c->have && !c->priv) {
		json_object_set_new(o, "reason", json_string("client"));
		if (h == NULL)
			snprintf(detail, sizeof(detail), "no Received hop: "
			    "the client is the origin");
		else if (wrote)
			snprintf(detail, sizeof(detail), "hop %zu (by %s) "
			    "was written by the client, but no hop it or the "
			    "private hosts behind it wrote names a public "
			    "sender: the client is the origin", top,
			    h->by[0] ? h->by : "?");
		else
			snprintf(detail, sizeof(detail), "hop %zu (by %s) "
			    "was not written by the client: the client is the "
			    "origin, the hops are claims", top,
			    h->by[0] ? h->by : "?");
	} else {
		json_object_set_new(o, "reason", json_string("private_only"));
		snprintf(detail, sizeof(detail), "no public sender address "
		    "in the Received hops the client wrote");
	}
	json_object_set_new(o, "detail", jsu_str(detail));
	json_object_set_new(o, "claimed", h != NULL && h->from_addr[0] &&
	    !an_received_addr_private(h->from_addr) &&
	    (!c->have || strcmp(h->from_addr, c->addr) != 0) ?
	    json_string(h->from_addr) : json_null());
}

/*
 * origin_run -- the analyzer's run: never fails on hostile input.
 * Returns AN_OK with the result; AN_TEMPFAIL, with the full result, when
 * the client's PTR or forward lookup failed temporarily (the runner may
 * retry; "dns" says "tempfail").
 */
static enum an_status
origin_run(void *state, struct an_ctx *ctx, json_t **out)
{
	struct origin_client	 c;
	struct an_received	*rc;
	struct sockaddr_storage	 ss;
	enum an_status		 st = AN_OK;
	const char		*addr;
	json_t			*res, *cl, *hops, *o;
	size_t			 i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.confirmed = -1;
	c.dns = "none";
	addr = json_string_value(json_object_get(json_object_get(
	    ctx->envelope, "client"), "addr"));
	if (addr != NULL && origin_sa(addr, &ss) &&
	    inet_ntop(ss.ss_family, ss.ss_family == AF_INET ?
	    (void *)&((struct sockaddr_in *)&ss)->sin_addr :
	    (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr, c.addr,
	    sizeof(c.addr)) != NULL) {
		c.have = true;
		c.priv = an_received_addr_private(c.addr);
		if (c.priv)
			c.dns = "private";
		else if (ctx->dns == NULL)
			c.dns = "skipped";
		else
			st = origin_dns(ctx->dns, &c);
	}

	rc = an_received_parse(ctx->msg != NULL ? ctx->msg : "",
	    ctx->msg != NULL ? ctx->msglen : 0);
	res = json_object();
	cl = json_object();
	json_object_set_new(cl, "addr", c.have ? json_string(c.addr) :
	    json_null());
	json_object_set_new(cl, "ptr", origin_jstr(c.ptr));
	json_object_set_new(cl, "ptr_confirmed", c.confirmed == -1 ?
	    json_null() : json_boolean(c.confirmed));
	json_object_set_new(cl, "private", json_boolean(c.have ? c.priv :
	    false));
	json_object_set_new(cl, "dns", json_string(c.dns));
	json_object_set_new(res, "client", cl);
	hops = json_array();
	for (i = 0; i < rc->n; i++)
		json_array_append_new(hops, origin_hop_json(&rc->hops[i]));
	json_object_set_new(res, "hops", hops);
	json_object_set_new(res, "hops_seen",
	    json_integer((json_int_t)rc->seen));
	o = json_object();
	origin_decide(rc, &c, o);
	json_object_set_new(res, "origin", o);
	an_received_free(rc);
	*out = res;
	return st;
}
