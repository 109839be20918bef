/*
 * an_spf.c -- the SPF analyzer (RFC 7208) through libspf2, run in the
 * worker role. For every message it checks the MAIL FROM identity and
 * the HELO identity against the client address of envelope.json
 * (client.addr, the PROXY-given source when there was one) and stores
 * result, explanation and the Received-SPF value of each.
 *
 * Trust: the envelope strings came from the network (escaped by
 * jsu_bytes); a domain is checked for shape (LDH/underscore labels,
 * RFC 1035 lengths, two labels or more) before libspf2 sees it, and a
 * malformed one gives "none" without any lookup (RFC 7208 4.3). The
 * SPF records themselves are hostile too: libspf2 parses them, with the
 * RFC 7208 4.6.4 limit of 10 DNS-querying terms (max_dns_mech/ptr/mx).
 *
 * One SPF server per process, made in init over the an_dns layer of
 * an_spf_dns.c; run() binds the message's ctx->dns to the calling
 * thread (an_spf_dns_bind) for the evaluation and unbinds it after, so
 * the one server is shared and `resolver` serves SPF too. Without
 * ctx->dns the analyzer has nothing to say (AN_SKIP).
 *
 * Result (AN_OK):
 *   {"mail_from": ID | null, "helo": ID | null}
 *   ID = {"domain": "example.org", "result": "pass", "explanation": str|null,
 *         "received_spf": str|null, "error": str|null}
 * result is pass, fail, softfail, neutral, none, permerror or temperror.
 * mail_from is null for the null sender (<>): RFC 7208 2.4 then checks
 * the HELO identity only. helo is null when there was no HELO/EHLO or
 * its argument is an address literal (RFC 7208 2.3). A DNS failure is
 * the SPF result temperror, not AN_TEMPFAIL: a re-run may differ.
 * AN_SKIP (no *out): no ctx->dns, or no usable client.addr.
 * AN_ERROR: libspf2 could not make a request; *out = {"error": str}.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <spf2/spf.h>

#include "an.h"
#include "an_spf.h"
#include "an_spf_dns.h"
#include "compat.h"
#include "conf.h"
#include "jsonutil.h"
#include "log.h"
#include "xmalloc.h"

#define AN_SPF_DOMAIN_MAX	253	/* RFC 1035 2.3.4, text form */
#define AN_SPF_LABEL_MAX	63
#define AN_SPF_DNS_TERMS	10	/* RFC 7208 4.6.4 */
#define AN_SPF_RECSPF_MAX	2048
#define AN_SPF_DEFAULT_EXP	\
	"%{o}%_does%_not%_designate%_%{i}%_as%_a%_permitted%_sender"

struct spf_state {
	SPF_server_t		*spf;
	SPF_dns_server_t	*dns;		/* ours, NULL: the caller's */
};

static int		 spf_init(const struct conf *, void **, char *,
			    size_t);
static enum an_status	 spf_run(void *, struct an_ctx *, json_t **);
static void		 spf_fini(void *);
static int		 spf_setup(struct spf_state *, const struct conf *,
			    SPF_dns_server_t *, char *, size_t);
static bool		 spf_domain_ok(const char *);
static const char	*spf_result_str(SPF_result_t);
static json_t		*spf_jstr(const char *);
static json_t		*spf_id(const char *, const char *, const char *,
			    const char *);
static json_t		*spf_check(struct spf_state *, const char *, bool,
			    const char *, const char *, const char *);
static const char	*spf_env_str(const json_t *, const char *,
			    const char *);

const struct an_analyzer an_spf = {
	.name = "spf",
	.init = spf_init,
	.run = spf_run,
	.fini = spf_fini,
};

static int
spf_setup(struct spf_state *st, const struct conf *conf,
    SPF_dns_server_t *layer, char *err, size_t errlen)
{
	SPF_response_t	*resp;
	const char	*recdom;

	if ((st->spf = SPF_server_new_dns(layer, 0)) == NULL) {
		snprintf(err, errlen, "spf: cannot create the SPF server");
		return -1;
	}
	/* the name in Received-SPF comments; libspf2 would use uname() */
	recdom = conf != NULL && conf->hostname != NULL &&
	    conf->hostname[0] != '\0' ? conf->hostname : "localhost";
	if (SPF_server_set_rec_dom(st->spf, recdom) != SPF_E_SUCCESS) {
		snprintf(err, errlen, "spf: cannot set hostname");
		SPF_server_free(st->spf);
		st->spf = NULL;
		return -1;
	}
	/*
	 * libspf2's default explanation points at the dead openspf.org;
	 * "%_" is a space: libspf2 1.2.10 mangles literal spaces in
	 * macro-strings (they come out as "%").
	 */
	resp = NULL;
	if (SPF_server_set_explanation(st->spf, AN_SPF_DEFAULT_EXP, &resp) !=
	    SPF_E_SUCCESS) {
		snprintf(err, errlen, "spf: cannot set the explanation");
		if (resp != NULL)
			SPF_response_free(resp);
		SPF_server_free(st->spf);
		st->spf = NULL;
		return -1;
	}
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_server_set_max_dns_mech(st->spf, AN_SPF_DNS_TERMS);
	SPF_server_set_max_dns_ptr(st->spf, AN_SPF_DNS_TERMS);
	SPF_server_set_max_dns_mx(st->spf, AN_SPF_DNS_TERMS);
	return 0;
}

static int
spf_init(const struct conf *conf, void **state, char *err, size_t errlen)
{
	struct spf_state	*st;

	st = xcalloc(1, sizeof(*st));
	st->dns = an_spf_dns_new("an_dns", 0);
	if (spf_setup(st, conf, st->dns, err, errlen) == -1) {
		SPF_dns_free(st->dns);
		free(st);
		return -1;
	}
	*state = st;
	return 0;
}

/*
 * an_spf_init_layer -- like an_spf.init, but libspf2 asks <layer> (not
 * owned, must outlive the state: free it after an_spf.fini) instead of
 * ctx->dns, which run() then ignores. For tests. Returns 0, or -1 with a
 * message in <err>.
 */
int
an_spf_init_layer(const struct conf *conf, SPF_dns_server_t *layer,
    void **state, char *err, size_t errlen)
{
	struct spf_state	*st;

	st = xcalloc(1, sizeof(*st));
	if (spf_setup(st, conf, layer, err, errlen) == -1) {
		free(st);
		return -1;
	}
	*state = st;
	return 0;
}

static void
spf_fini(void *state)
{
	struct spf_state	*st = state;

	if (st == NULL)
		return;
	SPF_server_free(st->spf);
	/* SPF_server_new_dns() does not own its layer */
	if (st->dns != NULL)
		SPF_dns_free(st->dns);
	free(st);
}

/* RFC 7208 4.3: a domain check_host() may look up at all */
static bool
spf_domain_ok(const char *d)
{
	size_t	 len, lab = 0, labels = 0, i;

	len = strlen(d);
	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0 || len > AN_SPF_DOMAIN_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char	 c = d[i];

		if (c == '.') {
			if (lab == 0)
				return false;
			lab = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return false;
		if (lab++ == 0)
			labels++;
		if (lab > AN_SPF_LABEL_MAX)
			return false;
	}
	return labels >= 2;
}

static const char *
spf_result_str(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return "pass";
	case SPF_RESULT_FAIL:
		return "fail";
	case SPF_RESULT_SOFTFAIL:
		return "softfail";
	case SPF_RESULT_NEUTRAL:
		return "neutral";
	case SPF_RESULT_NONE:
		return "none";
	case SPF_RESULT_PERMERROR:
		return "permerror";
	case SPF_RESULT_TEMPERROR:
	case SPF_RESULT_INVALID:
	default:
		return "temperror";
	}
}

/*
 * A JSON string of text libspf2 built from envelope strings (escaped
 * already, kept as they are) and DNS answers (anything: exp= texts),
 * escaped by jsu_str() only when it is not valid UTF-8. NULL: null.
 */
static json_t *
spf_jstr(const char *s)
{
	json_t	*j;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) == NULL)
		j = jsu_str(s);
	return j;
}

static json_t *
spf_id(const char *domain, const char *result, const char *recspf,
    const char *error)
{
	json_t	*o;

	o = json_object();
	json_object_set_new(o, "domain", spf_jstr(domain));
	json_object_set_new(o, "result", json_string(result));
	json_object_set_new(o, "explanation", json_null());
	json_object_set_new(o, "received_spf", spf_jstr(recspf));
	json_object_set_new(o, "error", spf_jstr(error));
	return o;
}

/*
 * One check_host() run: <ip> (v6 when <v6>), HELO <helo> (NULL: none),
 * sender <from> whose domain is <domain>. NULL on internal failure.
 */
static json_t *
spf_check(struct spf_state *st, const char *ip, bool v6, const char *helo,
    const char *from, const char *domain)
{
	SPF_request_t	*req;
	SPF_response_t	*resp = NULL;
	SPF_errcode_t	 err;
	SPF_result_t	 res;
	const char	*s, *rs, *errstr = NULL;
	char		 recspf[AN_SPF_RECSPF_MAX];
	json_t		*o;

	if (!spf_domain_ok(domain))
		return spf_id(domain, "none", NULL, "malformed domain");
	if ((req = SPF_request_new(st->spf)) == NULL)
		return NULL;
	if ((v6 ? SPF_request_set_ipv6_str(req, ip) :
	    SPF_request_set_ipv4_str(req, ip)) != SPF_E_SUCCESS ||
	    (helo != NULL && SPF_request_set_helo_dom(req, helo) !=
	    SPF_E_SUCCESS) || SPF_request_set_env_from(req, from) != 0) {
		SPF_request_free(req);
		return spf_id(domain, "none", NULL, "rejected by libspf2");
	}
	err = SPF_request_query_mailfrom(req, &resp);
	res = resp != NULL ? SPF_response_result(resp) : SPF_RESULT_INVALID;
	if (err != SPF_E_SUCCESS) {
		if (resp != NULL && SPF_response_messages(resp) > 0)
			errstr = SPF_error_message(SPF_response_message(resp,
			    0));
		if (errstr == NULL)
			errstr = SPF_strerror(err);
	}
	/*
	 * libspf2 leaves the result "invalid", without a Received-SPF, when
	 * a lookup failed (REFERENCE.md 6.1) and when a record does not
	 * compile: temperror (RFC 7208 4.4) and permerror (4.6) with our
	 * own header value in the RFC 7208 9.1 form.
	 */
	if (res == SPF_RESULT_INVALID) {
		rs = err == SPF_E_DNS_ERROR || err == SPF_E_NO_MEMORY ?
		    "temperror" : "permerror";
		if (!bsnprintf(recspf, sizeof(recspf), "%s (%s: error in "
		    "processing during lookup of %s) client-ip=%s; "
		    "envelope-from=%s; helo=%s;", rs,
		    SPF_request_get_rec_dom(req), domain, ip, from,
		    helo != NULL ? helo : ""))
			recspf[0] = '\0';
		o = spf_id(domain, rs, recspf[0] != '\0' ? recspf : NULL,
		    errstr != NULL ? errstr : SPF_strerror(err));
	} else {
		o = spf_id(domain, spf_result_str(res),
		    SPF_response_get_received_spf_value(resp), errstr);
		if (res == SPF_RESULT_FAIL &&
		    (s = SPF_response_get_explanation(resp)) != NULL)
			json_object_set_new(o, "explanation", spf_jstr(s));
	}
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
	return o;
}

/* envelope string <obj>.<key>, or NULL */
static const char *
spf_env_str(const json_t *env, const char *obj, const char *key)
{
	json_t	*o, *v;

	if ((o = json_object_get(env, obj)) == NULL || !json_is_object(o))
		return NULL;
	if ((v = json_object_get(o, key)) == NULL || !json_is_string(v))
		return NULL;
	return json_string_value(v);
}

static enum an_status
spf_run(void *state, struct an_ctx *ctx, json_t **out)
{
	struct spf_state	*st = state;
	struct in6_addr		 a6;
	struct in_addr		 a4;
	const char		*addr, *helo, *spf_helo, *from, *at;
	char			 ip[INET6_ADDRSTRLEN], pm[AN_SPF_DOMAIN_MAX + 16];
	bool			 v6 = false, helo_dom;
	json_t			*res, *mf = NULL, *hl = NULL;

	*out = NULL;
	if (st->dns != NULL && ctx->dns == NULL)
		return AN_SKIP;			/* no lookups allowed */
	if ((addr = spf_env_str(ctx->envelope, "client", "addr")) == NULL)
		return AN_SKIP;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		strlcpy(ip, addr, sizeof(ip));
	else if (inet_pton(AF_INET6, addr, &a6) == 1) {
		/* a dual-stack socket's v4-mapped peer is a v4 client */
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(&a4, &a6.s6_addr[12], 4);
			inet_ntop(AF_INET, &a4, ip, sizeof(ip));
		} else {
			strlcpy(ip, addr, sizeof(ip));
			v6 = true;
		}
	} else
		return AN_SKIP;

	helo = spf_env_str(ctx->envelope, "helo", "name");
	if (helo != NULL && helo[0] == '\0')
		helo = NULL;
	/* an address literal is no identity (RFC 7208 2.3) */
	helo_dom = helo != NULL && helo[0] != '[';
	/* only a well-formed HELO may reach %{h} and so DNS names */
	spf_helo = helo != NULL && (helo[0] == '[' || spf_domain_ok(helo)) ?
	    helo : NULL;
	from = spf_env_str(ctx->envelope, "mail_from", "addr");

	if (st->dns != NULL)
		an_spf_dns_bind(ctx->dns);
	if (from != NULL && from[0] != '\0') {
		at = strrchr(from, '@');
		mf = spf_check(st, ip, v6, spf_helo, from,
		    at != NULL ? at + 1 : from);
		if (mf == NULL)
			goto fail;
	}
	if (helo_dom) {
		if (!bsnprintf(pm, sizeof(pm), "postmaster@%s", helo) ||
		    !spf_domain_ok(helo))
			hl = spf_id(helo, "none", NULL, "malformed domain");
		else
			hl = spf_check(st, ip, v6, helo, pm, helo);
		if (hl == NULL)
			goto fail;
	}
	if (st->dns != NULL)
		an_spf_dns_bind(NULL);

	res = json_object();
	json_object_set_new(res, "mail_from", mf != NULL ? mf : json_null());
	json_object_set_new(res, "helo", hl != NULL ? hl : json_null());
	*out = res;
	return AN_OK;

fail:
	if (st->dns != NULL)
		an_spf_dns_bind(NULL);
	json_decref(mf);
	json_decref(hl);
	*out = json_pack("{s:s}", "error", "libspf2 request failed");
	return AN_ERROR;
}
