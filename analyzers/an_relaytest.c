/*
 * an_relaytest.c -- the relay-test classifier. Runs in the worker on every
 * committed message: reads envelope.json and the message bytes (hostile,
 * parsed with GMime 3, text capped at AN_RT_TEXT_MAX), consults and
 * updates the state store, and returns a verdict with every reason that
 * fired. Nothing here sends mail; the forwarder acts on the verdict.
 *
 * Scoring (docs/RELAYTEST.md): each signal adds its weight; the message is
 * a relay test when the score reaches the threshold. Weak signals (few
 * recipients, sender = recipient, tiny body, first sighting of client and
 * prefix) add up to 55, below the default threshold of 60, so they never
 * make a relay test on their own: a content or drop-box signal must fire.
 * Overrides, in order: a known tester => "tester"; an operator
 * forward_never rule or a bulk content cluster => "spam"; an operator
 * forward_always rule => "relay_test".
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gmime/gmime.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "an.h"
#include "an_encode.h"
#include "an_relaytest.h"
#include "an_state.h"
#include "compat.h"
#include "conf.h"
#include "jsonutil.h"
#include "log.h"
#include "xmalloc.h"

#define AN_RT_TEXT_MAX		(1024 * 1024)	/* text searched */
#define AN_RT_FEW_RCPTS		2
#define AN_RT_MANY_RCPTS	5
#define AN_RT_CLIENT_BUSY	10	/* messages per window */
#define AN_RT_MSF_MIN		5	/* Metasploit: 5-14 letters */
#define AN_RT_MSF_MAX		14

/* weights; the table in docs/RELAYTEST.md must match */
#define W_TRAP_SUBJECT		60
#define W_TRAP_SUBJECT_WEAK	30
#define W_TRAP_HEADER		50
#define W_TRAP_BODY		50
#define W_TRAP_BODY_WEAK	30
#define W_TRAP_RCPT		50
#define W_AUTH_ECHO		40
#define W_AUTH_ECHO_PASS	20
#define W_MSF_SHAPE		40
#define W_DROPBOX_OPERATOR	60
#define W_DROPBOX_LEARNED	40
#define W_FEW_RCPTS		10
#define W_MANY_RCPTS		(-40)
#define W_SENDER_IS_RCPT	20
#define W_SENDER_RCPT_DOMAIN	10
#define W_TINY_BODY		10
#define W_FIRST_CLIENT		10
#define W_FIRST_PREFIX		3
#define W_FIRST_ASN		2	/* with first_prefix: the /24's 5 */
#define W_CLIENT_BUSY		(-20)
#define W_OVERRIDE		1000

enum rt_field {
	RT_F_RCPT,
	RT_F_SENDER,
	RT_F_SUBJECT,
};

struct rt_rule {
	enum rt_field	 field;
	char		*pat;
	char		*text;		/* as configured */
};

struct rt_rules {
	struct rt_rule	*v;
	size_t		 n;
};

struct an_rt_config {
	struct an_needles *needles;
	long		 threshold;
	long		 cluster_first;
	long		 client_window;
	long		 tiny_body;
	struct rt_rules	 always;
	struct rt_rules	 never;
	char		**testers;	/* operator fnmatch patterns */
	size_t		 ntesters;
};

/* what the message says, decoded */
struct rt_text {
	GString		*subject;
	GString		*headers;	/* "Name: value\n", not trace */
	GString		*body;		/* text parts, UTF-8 */
	bool		 headerless;
	bool		 has_from, has_date, has_msgid;
	int		 nattach;
};

/* legitimate testers and blocklist probes: never forwarded */
static const struct {
	const char	*local;
	const char	*domain;
	const char	*name;
} rt_testers[] = {
	{ "listme", "dsbl.org", "dsbl" },
	{ "relaytest", "nmap.scanme.org", "nmap" },
	{ "antispam", "nmap.scanme.org", "nmap" },
	{ "relaytest", "mailradar.com", "mailradar" },
	{ "antispam", "mailradar.com", "mailradar" },
	{ "closeyouropenrelay", "aol.com", "aol" },
	{ "test", "example.com", "mxtoolbox" },
};

/* headers that record the path, which ratware forges with our address */
static const char *const rt_skip_headers[] = {
	"Received", "X-Received", "Subject", "Return-Path", "Received-SPF",
	"Authentication-Results", "ARC-Seal", "ARC-Message-Signature",
	"ARC-Authentication-Results", "DKIM-Signature",
};

static int	 gmime_ready;

/*
 * an_relaytest_init -- initialise GMime once per process. Idempotent.
 */
void
an_relaytest_init(void)
{
	if (!gmime_ready) {
		g_mime_init();
		gmime_ready = 1;
	}
}

/*
 * an_relaytest_shutdown -- release GMime's global state (tests, exit).
 */
void
an_relaytest_shutdown(void)
{
	if (gmime_ready) {
		g_mime_shutdown();
		gmime_ready = 0;
	}
}

/*
 * an_rt_kind_name -- "spam", "relay_test" or "tester".
 */
const char *
an_rt_kind_name(enum an_rt_kind kind)
{
	switch (kind) {
	case AN_RT_RELAY_TEST:
		return "relay_test";
	case AN_RT_TESTER:
		return "tester";
	case AN_RT_SPAM:
		break;
	}
	return "spam";
}

static int
rules_parse(struct rt_rules *r, const struct conf_list *l,
    const char **errstr)
{
	const char	*s, *c;
	size_t		 i;
	enum rt_field	 f;

	for (i = 0; i < l->n; i++) {
		s = l->v[i];
		if ((c = strchr(s, ':')) == NULL || c[1] == '\0') {
			*errstr = "rule must be rcpt:PATTERN, sender:PATTERN"
			    " or subject:PATTERN";
			return -1;
		}
		if ((size_t)(c - s) == 4 && strncasecmp(s, "rcpt", 4) == 0)
			f = RT_F_RCPT;
		else if ((size_t)(c - s) == 6 &&
		    strncasecmp(s, "sender", 6) == 0)
			f = RT_F_SENDER;
		else if ((size_t)(c - s) == 7 &&
		    strncasecmp(s, "subject", 7) == 0)
			f = RT_F_SUBJECT;
		else {
			*errstr = "rule must be rcpt:PATTERN, sender:PATTERN"
			    " or subject:PATTERN";
			return -1;
		}
		r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
		r->v[r->n].field = f;
		r->v[r->n].pat = xstrdup(c + 1);
		r->v[r->n].text = xstrdup(s);
		r->n++;
	}
	return 0;
}

static void
rules_free(struct rt_rules *r)
{
	size_t	 i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].pat);
		free(r->v[i].text);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* loopback and wildcard addresses are not "the trap's" address */
static bool
addr_is_local(const char *a)
{
	unsigned char	 b[16];
	static const unsigned char zero[16];

	if (inet_pton(AF_INET, a, b) == 1)
		return b[0] == 127 || b[0] == 0;
	if (inet_pton(AF_INET6, a, b) == 1) {
		if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
			return true;
		if (memcmp(b, zero, 10) == 0 && b[10] == 0xff &&
		    b[11] == 0xff)
			return b[12] == 127 || b[12] == 0;
	}
	return false;
}

/*
 * an_rt_config_add_addr -- add an address of the trap (an IP literal,
 * optionally bracketed) to the needles. Loopback and wildcard addresses
 * are ignored (returns 0). Returns 0, or -1 with *errstr.
 */
int
an_rt_config_add_addr(struct an_rt_config *cfg, const char *addr,
    const char **errstr)
{
	char	 tmp[64];
	size_t	 len = strlen(addr);

	*errstr = NULL;
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']' &&
	    len - 2 < sizeof(tmp)) {
		memcpy(tmp, addr + 1, len - 2);
		tmp[len - 2] = '\0';
		addr = tmp;
	}
	if (addr_is_local(addr))
		return 0;
	return an_needles_add(cfg->needles, addr, errstr);
}

/*
 * an_rt_config_new -- the classifier's configuration from <conf>:
 * trap_address, the host part of every listen address, the relaytest_*
 * numbers, forward_always/forward_never rules and known_testers.
 * Returns a config the caller frees with an_rt_config_free(), or NULL
 * with *errstr (a static string) on a bad address or rule.
 */
struct an_rt_config *
an_rt_config_new(const struct conf *conf, const char **errstr)
{
	struct an_rt_config *cfg;
	char		 host[64], *p;
	const char	*s;
	size_t		 i;

	*errstr = NULL;
	cfg = xcalloc(1, sizeof(*cfg));
	cfg->needles = an_needles_new();
	cfg->threshold = conf->relaytest_threshold;
	cfg->cluster_first = conf->relaytest_cluster_first;
	cfg->client_window = conf->relaytest_client_window;
	cfg->tiny_body = conf->relaytest_tiny_body;
	for (i = 0; i < conf->trap_address.n; i++)
		if (an_rt_config_add_addr(cfg, conf->trap_address.v[i],
		    errstr) == -1) {
			*errstr = "trap_address: not an IP address literal";
			goto fail;
		}
	for (i = 0; i < conf->listen.n; i++) {
		/* "[tls:|proxy:]ADDR:PORT": conf validated it already */
		s = conf->listen.v[i];
		while (strncmp(s, "tls:", 4) == 0 ||
		    strncmp(s, "proxy:", 6) == 0)
			s = strchr(s, ':') + 1;
		if (strlcpy(host, s, sizeof(host)) >= sizeof(host))
			continue;
		if ((p = strrchr(host, ':')) == NULL)
			continue;
		*p = '\0';
		/* a name or a wildcard is no address spammers would write */
		(void)an_rt_config_add_addr(cfg, host, errstr);
		*errstr = NULL;
	}
	if (rules_parse(&cfg->always, &conf->forward_always, errstr) == -1 ||
	    rules_parse(&cfg->never, &conf->forward_never, errstr) == -1)
		goto fail;
	for (i = 0; i < conf->known_testers.n; i++) {
		cfg->testers = xreallocarray(cfg->testers, cfg->ntesters + 1,
		    sizeof(char *));
		cfg->testers[cfg->ntesters++] =
		    xstrdup(conf->known_testers.v[i]);
	}
	return cfg;
fail:
	an_rt_config_free(cfg);
	return NULL;
}

/*
 * an_rt_config_free -- release <cfg>; NULL is fine.
 */
void
an_rt_config_free(struct an_rt_config *cfg)
{
	size_t	 i;

	if (cfg == NULL)
		return;
	an_needles_free(cfg->needles);
	rules_free(&cfg->always);
	rules_free(&cfg->never);
	for (i = 0; i < cfg->ntesters; i++)
		free(cfg->testers[i]);
	free(cfg->testers);
	free(cfg);
}

/* lowercase, without quotes and a leading source route "@a,@b:" */
static char *
addr_norm(const char *a)
{
	char	*s, *d;
	const char *p;

	if (a[0] == '@' && (p = strchr(a, ':')) != NULL)
		a = p + 1;
	s = d = xstrdup(a);
	for (p = a; *p != '\0'; p++)
		if (*p != '"')
			*d++ = tolower((unsigned char)*p);
	*d = '\0';
	return s;
}

static bool
tester_left(int c)
{
	return c == -1 || strchr("<\":@!% ,", c) != NULL;
}

static bool
tester_right(int c)
{
	return c == -1 || strchr(">\"@%! ,", c) != NULL;
}

/* does normalised <s> contain <form> as a whole address component? */
static bool
contains_addr(const char *s, const char *form)
{
	const char	*p = s;
	size_t		 len = strlen(form);

	while ((p = strstr(p, form)) != NULL) {
		if (tester_left(p == s ? -1 : (unsigned char)p[-1]) &&
		    tester_right(p[len] == '\0' ? -1 : (unsigned char)p[len]))
			return true;
		p++;
	}
	return false;
}

/*
 * an_rt_is_tester -- is envelope address <addr> (as recorded, in any of
 * the forms relay testers use: quoted, percent hack, bang path, double @,
 * source route) a known tester's? Sets *which to the tester's name.
 */
bool
an_rt_is_tester(const struct an_rt_config *cfg, const char *addr,
    const char **which)
{
	/* each tester as local@domain, local%domain and domain!local */
	static char	 forms[sizeof(rt_testers) / sizeof(rt_testers[0])][3][64];
	static bool	 made;
	char		*n;
	size_t		 i, j;
	bool		 hit = false;

	if (!made) {
		for (i = 0; i < sizeof(rt_testers) / sizeof(rt_testers[0]); i++) {
			(void)bsnprintf(forms[i][0], sizeof(forms[i][0]),
			    "%s@%s", rt_testers[i].local, rt_testers[i].domain);
			(void)bsnprintf(forms[i][1], sizeof(forms[i][1]),
			    "%s%%%s", rt_testers[i].local, rt_testers[i].domain);
			(void)bsnprintf(forms[i][2], sizeof(forms[i][2]),
			    "%s!%s", rt_testers[i].domain, rt_testers[i].local);
		}
		made = true;
	}
	n = addr_norm(addr);
	for (i = 0; !hit && i < sizeof(rt_testers) / sizeof(rt_testers[0]);
	    i++)
		for (j = 0; !hit && j < 3; j++) {
			if (contains_addr(n, forms[i][j])) {
				hit = true;
				*which = rt_testers[i].name;
			}
		}
	for (i = 0; !hit && cfg != NULL && i < cfg->ntesters; i++)
		if (fnmatch(cfg->testers[i], n, FNM_CASEFOLD) == 0) {
			hit = true;
			*which = "operator";
		}
	free(n);
	return hit;
}

static const char *
jstr(const json_t *o, const char *key)
{
	json_t	*v;

	if (o == NULL || !json_is_object(o))
		return NULL;
	v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void __attribute__((__format__(printf, 4, 5)))
reason(struct an_rt_verdict *v, const char *name, long weight,
    const char *fmt, ...)
{
	struct an_rt_reason *r;
	va_list	 ap;
	char	*d;

	va_start(ap, fmt);
	if (vasprintf(&d, fmt, ap) == -1)
		fatalx("%s: out of memory", __func__);
	va_end(ap);
	v->reasons = xreallocarray(v->reasons, v->nreasons + 1,
	    sizeof(*v->reasons));
	r = &v->reasons[v->nreasons++];
	r->name = xstrdup(name);
	r->weight = weight;
	r->detail = d;
	v->score += weight;
}

static void
gs_add(GString *g, const char *s, size_t len)
{
	if (g->len >= AN_RT_TEXT_MAX)
		return;
	if (len > AN_RT_TEXT_MAX - g->len)
		len = AN_RT_TEXT_MAX - g->len;
	g_string_append_len(g, s, len);
}

/* a first line "Name:" means a header block; Metasploit sends none */
static bool
looks_headerless(const char *m, size_t len)
{
	size_t	 i;

	if (len >= 5 && memcmp(m, "From ", 5) == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (m[i] == ':')
			return i == 0;
		if ((unsigned char)m[i] <= 32 || (unsigned char)m[i] >= 127)
			return true;
	}
	return true;
}

static void
collect_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	struct rt_text	*t = data;
	const char	*s;
	size_t		 len;

	(void)parent;
	if (GMIME_IS_TEXT_PART(part)) {
		if ((s = an_mime_part_text(part, &len)) != NULL) {
			gs_add(t->body, s, len);
			gs_add(t->body, "\n", 1);
		}
		if (g_mime_part_is_attachment(GMIME_PART(part)))
			t->nattach++;
	} else if (GMIME_IS_PART(part) || GMIME_IS_MESSAGE_PART(part))
		t->nattach++;
}

static void
text_extract(const char *msg, size_t len, void *mime, struct rt_text *t)
{
	GMimeMessage	*m;
	GMimeHeaderList	*hl;
	GMimeHeader	*h;
	const char	*name, *val, *p;
	int		 i, n;
	size_t		 j;

	t->subject = g_string_new(NULL);
	t->headers = g_string_new(NULL);
	t->body = g_string_new(NULL);
	if (looks_headerless(msg, len)) {
		t->headerless = true;
		gs_add(t->body, msg, len);
		return;
	}
	if (mime != NULL && GMIME_IS_MESSAGE(mime))
		m = g_object_ref(mime);		/* the analyzers' parse */
	else
		m = an_mime_parse(msg, len);
	if (m == NULL) {
		/* not MIME enough for GMime: search the raw body */
		if ((p = memmem(msg, len, "\n\n", 2)) != NULL ||
		    (p = memmem(msg, len, "\r\n\r\n", 4)) != NULL)
			gs_add(t->body, p, len - (p - msg));
		return;
	}
	if ((val = g_mime_message_get_subject(m)) != NULL)
		gs_add(t->subject, val, strlen(val));
	hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
	n = g_mime_header_list_get_count(hl);
	for (i = 0; i < n; i++) {
		h = g_mime_header_list_get_header_at(hl, i);
		name = g_mime_header_get_name(h);
		val = g_mime_header_get_value(h);
		if (name == NULL)
			continue;
		if (strcasecmp(name, "From") == 0)
			t->has_from = true;
		else if (strcasecmp(name, "Date") == 0)
			t->has_date = true;
		else if (strcasecmp(name, "Message-ID") == 0)
			t->has_msgid = true;
		for (j = 0; j < sizeof(rt_skip_headers) /
		    sizeof(rt_skip_headers[0]); j++)
			if (strcasecmp(name, rt_skip_headers[j]) == 0)
				break;
		if (j < sizeof(rt_skip_headers) / sizeof(rt_skip_headers[0]))
			continue;
		gs_add(t->headers, name, strlen(name));
		gs_add(t->headers, ": ", 2);
		if (val != NULL)
			gs_add(t->headers, val, strlen(val));
		gs_add(t->headers, "\n", 1);
	}
	g_mime_message_foreach(m, collect_part, t);
	g_object_unref(m);
}

static void
text_free(struct rt_text *t)
{
	if (t->subject != NULL)
		g_string_free(t->subject, TRUE);
	if (t->headers != NULL)
		g_string_free(t->headers, TRUE);
	if (t->body != NULL)
		g_string_free(t->body, TRUE);
}

/* length of <s> without leading and trailing white space */
static size_t
trimmed_len(const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	return len;
}

/* Metasploit smtp_relay: no header block, 5-14 random letters */
static bool
msf_shape(const struct rt_text *t)
{
	const char	*s = t->body->str;
	size_t		 len = t->body->len, i;

	if (!t->headerless)
		return false;
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len < AN_RT_MSF_MIN || len > AN_RT_MSF_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalpha((unsigned char)s[i]))
			return false;
	return true;
}

static bool
ci_contains(const char *hay, size_t hlen, const char *needle)
{
	return an_casemem(hay, hlen, needle) != NULL;
}

static bool
text_contains(const struct rt_text *t, const char *s)
{
	return ci_contains(t->subject->str, t->subject->len, s) ||
	    ci_contains(t->body->str, t->body->len, s) ||
	    ci_contains(t->headers->str, t->headers->len, s);
}

/* AUTH credentials of this session echoed in the message */
static void
sig_auth_echo(const json_t *env, const struct rt_text *t,
    struct an_rt_verdict *v)
{
	const json_t	*auth = json_object_get(env, "auth"), *a;
	const char	*user, *pass;
	char		*pair;
	size_t		 i;
	bool		 weak = false;

	if (!json_is_array(auth))
		return;
	json_array_foreach(auth, i, a) {
		user = jstr(a, "user");
		pass = jstr(a, "password");
		if (user == NULL || pass == NULL || *pass == '\0')
			continue;
		xasprintf(&pair, "%s:%s", user, pass);
		if ((strlen(user) >= 3 && strlen(pass) >= 3 &&
		    (text_contains(t, pair) || (strcmp(user, pass) != 0 &&
		    text_contains(t, user) && text_contains(t, pass))))) {
			reason(v, "auth_echo", W_AUTH_ECHO,
			    "credentials of AUTH attempt %zu (user %s) in the"
			    " message", i + 1, user);
			free(pair);
			return;
		}
		free(pair);
		if (strlen(pass) >= 6 && text_contains(t, pass))
			weak = true;
	}
	if (weak)
		reason(v, "auth_echo_password", W_AUTH_ECHO_PASS,
		    "an AUTH password of this session in the message");
}

static const char *
domain_of(const char *a)
{
	const char	*at = strrchr(a, '@');

	return at != NULL ? at + 1 : NULL;
}

/* the trap's addresses in Subject, headers, body, recipient local parts */
static void
sig_trap(const struct an_needles *nd, const char *what, const json_t *rcpt,
    const struct rt_text *t, struct an_rt_verdict *v, bool *fired)
{
	struct an_hit	 hit;
	enum an_enc_result r;
	const json_t	*o;
	const char	*a, *at;
	size_t		 i;

	r = an_needles_search(nd, t->subject->str, t->subject->len, &hit);
	if (r == AN_ENC_STRONG && !fired[0]) {
		reason(v, "trap_addr_subject", W_TRAP_SUBJECT,
		    "%s address %s as %s (%s) in Subject", what, hit.addr,
		    hit.form, hit.needle);
		fired[0] = true;
	} else if (r == AN_ENC_WEAK && !fired[0] && !fired[4]) {
		reason(v, "trap_addr_subject_weak", W_TRAP_SUBJECT_WEAK,
		    "%s address %s as %s inside a longer run in Subject",
		    what, hit.addr, hit.form);
		fired[4] = true;
	}
	if (!fired[1] && an_needles_search(nd, t->headers->str,
	    t->headers->len, &hit) == AN_ENC_STRONG) {
		reason(v, "trap_addr_header", W_TRAP_HEADER,
		    "%s address %s as %s (%s) in a header", what, hit.addr,
		    hit.form, hit.needle);
		fired[1] = true;
	}
	r = an_needles_search(nd, t->body->str, t->body->len, &hit);
	if (r == AN_ENC_STRONG && !fired[2]) {
		reason(v, "trap_addr_body", W_TRAP_BODY,
		    "%s address %s as %s (%s) in the body", what, hit.addr,
		    hit.form, hit.needle);
		fired[2] = true;
	} else if (r == AN_ENC_WEAK && !fired[2] && !fired[5]) {
		reason(v, "trap_addr_body_weak", W_TRAP_BODY_WEAK,
		    "%s address %s as %s inside a longer run in the body",
		    what, hit.addr, hit.form);
		fired[5] = true;
	}
	if (fired[3] || !json_is_array(rcpt))
		return;
	json_array_foreach(rcpt, i, o) {
		if ((a = jstr(o, "addr")) == NULL)
			continue;
		at = strrchr(a, '@');
		if (an_needles_search(nd, a, at ? (size_t)(at - a) :
		    strlen(a), &hit) == AN_ENC_STRONG) {
			reason(v, "trap_addr_rcpt", W_TRAP_RCPT,
			    "%s address %s as %s in recipient local part",
			    what, hit.addr, hit.form);
			fired[3] = true;
			return;
		}
	}
}

static void
client_keys(const char *client, char *net, size_t netlen)
{
	unsigned char	 b[16];
	char		 s[INET6_ADDRSTRLEN];

	net[0] = '\0';
	if (inet_pton(AF_INET, client, b) == 1) {
		b[3] = 0;
		if (inet_ntop(AF_INET, b, s, sizeof(s)) != NULL)
			snprintf(net, netlen, "net:%s/24", s);
	} else if (inet_pton(AF_INET6, client, b) == 1) {
		memset(b + 6, 0, 10);
		if (inet_ntop(AF_INET6, b, s, sizeof(s)) != NULL)
			snprintf(net, netlen, "net:%s/48", s);
	}
}

/* normalised Subject + text: lowercase, white space runs as one space */
static char *
cluster_hash(const struct rt_text *t)
{
	const GString	*parts[2] = { t->subject, t->body };
	unsigned char	 md[EVP_MAX_MD_SIZE], c, *norm;
	unsigned int	 mdlen = 0;
	char		*ret;
	size_t		 i, k, n = 0;
	bool		 ws = true;

	/*
	 * Lower case, runs of white space as one space: then one digest.
	 * ASCII only, as isspace() and tolower() are in the C locale this
	 * program runs in (it never calls setlocale()).
	 * Each part grows by at most one byte: a space before its first word.
	 */
	norm = xmalloc(t->subject->len + t->body->len + 2);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < parts[k]->len; i++) {
			c = (unsigned char)parts[k]->str[i];
			if (c == ' ' || (c >= '\t' && c <= '\r')) {
				ws = true;
				continue;
			}
			if (ws)
				norm[n++] = ' ';
			ws = false;
			norm[n++] = c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
		}
		ws = true;
	}
	if (EVP_Digest(norm, n, md, &mdlen, EVP_sha256(), NULL) != 1)
		fatalx("relaytest: EVP_Digest failed");
	free(norm);
	ret = xmalloc(sizeof("sha256:") + 2 * (size_t)mdlen);
	memcpy(ret, "sha256:", 7);
	hexencode(md, mdlen, ret + 7);
	return ret;
}

static bool
rules_match(const struct rt_rules *r, const json_t *env, const char *subject,
    const char **which)
{
	const json_t	*rcpt = json_object_get(env, "rcpt"), *o;
	const char	*s;
	size_t		 i, j;

	for (i = 0; i < r->n; i++) {
		const struct rt_rule *ru = &r->v[i];

		*which = ru->text;
		switch (ru->field) {
		case RT_F_SUBJECT:
			if (fnmatch(ru->pat, subject, FNM_CASEFOLD) == 0)
				return true;
			break;
		case RT_F_SENDER:
			s = jstr(json_object_get(env, "mail_from"), "addr");
			if (s != NULL && fnmatch(ru->pat, s, FNM_CASEFOLD) == 0)
				return true;
			break;
		case RT_F_RCPT:
			if (!json_is_array(rcpt))
				break;
			json_array_foreach(rcpt, j, o)
				if ((s = jstr(o, "addr")) != NULL &&
				    fnmatch(ru->pat, s, FNM_CASEFOLD) == 0)
					return true;
			break;
		}
	}
	return false;
}

static json_t *
verdict_json(const struct an_rt_verdict *v, const char *cluster,
    int64_t now)
{
	json_t	*o, *arr, *r;
	size_t	 i;

	o = json_object();
	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "verdict",
	    json_string(an_rt_kind_name(v->kind)));
	json_object_set_new(o, "score", json_integer(v->score));
	json_object_set_new(o, "threshold", json_integer(v->threshold));
	json_object_set_new(o, "classified", json_integer(now));
	json_object_set_new(o, "cluster", cluster ? json_string(cluster) :
	    json_null());
	arr = json_array();
	for (i = 0; i < v->nreasons; i++) {
		r = json_object();
		json_object_set_new(r, "name", json_string(v->reasons[i].name));
		json_object_set_new(r, "weight",
		    json_integer(v->reasons[i].weight));
		json_object_set_new(r, "detail", jsu_str(v->reasons[i].detail));
		json_array_append_new(arr, r);
	}
	json_object_set_new(o, "reasons", arr);
	return o;
}

/* the envelope's own view of the trap: server and PROXY destination */
static struct an_needles *
envelope_needles(const json_t *env)
{
	struct an_needles *nd = NULL;
	const char	*a[2], *errstr;
	size_t		 i;

	a[0] = jstr(json_object_get(env, "server"), "addr");
	a[1] = jstr(json_object_get(env, "proxy"), "dst_addr");
	for (i = 0; i < 2; i++) {
		if (a[i] == NULL || addr_is_local(a[i]))
			continue;
		if (nd == NULL)
			nd = an_needles_new();
		(void)an_needles_add(nd, a[i], &errstr);
	}
	return nd;
}

static void
sig_envelope(const struct an_rt_input *in, const struct rt_text *t,
    struct an_rt_verdict *v)
{
	const json_t	*rcpt = json_object_get(in->envelope, "rcpt"), *o;
	const char	*from, *a, *fd, *rd;
	size_t		 n, i;

	n = json_is_array(rcpt) ? json_array_size(rcpt) : 0;
	if (n >= 1 && n <= AN_RT_FEW_RCPTS)
		reason(v, "few_rcpts", W_FEW_RCPTS, "%zu recipient%s", n,
		    n == 1 ? "" : "s");
	else if (n >= AN_RT_MANY_RCPTS)
		reason(v, "many_rcpts", W_MANY_RCPTS, "%zu recipients", n);
	from = jstr(json_object_get(in->envelope, "mail_from"), "addr");
	if (from != NULL && *from != '\0' && n > 0) {
		fd = domain_of(from);
		json_array_foreach(rcpt, i, o) {
			if ((a = jstr(o, "addr")) == NULL)
				continue;
			rd = domain_of(a);
			if (strcasecmp(a, from) == 0) {
				reason(v, "sender_is_rcpt", W_SENDER_IS_RCPT,
				    "sender %s is a recipient", from);
				break;
			}
			if (fd != NULL && rd != NULL &&
			    strcasecmp(fd, rd) == 0) {
				reason(v, "sender_rcpt_domain",
				    W_SENDER_RCPT_DOMAIN,
				    "sender and recipient in %s", fd);
				break;
			}
		}
	}
	if (t->nattach == 0 && trimmed_len(t->body->str, t->body->len) <=
	    (size_t)in->cfg->tiny_body)
		reason(v, "tiny_body", W_TINY_BODY, "%zu bytes of text",
		    trimmed_len(t->body->str, t->body->len));
	if (msf_shape(t))
		reason(v, "msf_shape", W_MSF_SHAPE, "no header block, body of"
		    " %d-%d letters (Metasploit smtp_relay)", AN_RT_MSF_MIN,
		    AN_RT_MSF_MAX);
}

static void
sig_state(const struct an_rt_input *in, const char *cluster,
    struct an_rt_verdict *v, bool *bulk)
{
	const json_t	*rcpt = json_object_get(in->envelope, "rcpt"), *o;
	const char	*client, *a;
	char		 key[128], net[128];
	enum an_db_source src;
	int64_t		 count;
	size_t		 i;
	bool		 first, found;

	client = jstr(json_object_get(in->envelope, "client"), "addr");
	if (client != NULL) {
		snprintf(key, sizeof(key), "ip:%s", client);
		if (an_state_seen(in->state, key, in->now,
		    in->cfg->client_window, in->update, &first, &count) == 0) {
			if (first)
				reason(v, "first_client", W_FIRST_CLIENT,
				    "first message from %s in %lds", client,
				    in->cfg->client_window);
			else if (count > AN_RT_CLIENT_BUSY)
				reason(v, "client_busy", W_CLIENT_BUSY,
				    "message %lld from %s in %lds",
				    (long long)count, client,
				    in->cfg->client_window);
		}
		client_keys(client, net, sizeof(net));
		if (net[0] != '\0' && an_state_seen(in->state, net, in->now,
		    in->cfg->client_window, in->update, &first, &count) == 0 &&
		    first)
			reason(v, "first_prefix", W_FIRST_PREFIX,
			    "first message from %s", net + 4);
		/* the geoip analyzer's ASN, when the pipeline has one */
		if (in->asn != 0) {
			snprintf(key, sizeof(key), "asn:%u", in->asn);
			if (an_state_seen(in->state, key, in->now,
			    in->cfg->client_window, in->update, &first,
			    &count) == 0 && first)
				reason(v, "first_asn", W_FIRST_ASN,
				    "first message from AS%u in %lds", in->asn,
				    in->cfg->client_window);
		}
	}
	if (json_is_array(rcpt)) {
		json_array_foreach(rcpt, i, o) {
			if ((a = jstr(o, "addr")) == NULL)
				continue;
			if (an_state_dropbox_get(in->state, a, in->update,
			    &found, &src) == 0 && found) {
				reason(v, src == AN_DB_OPERATOR ?
				    "dropbox_operator" : "dropbox_learned",
				    src == AN_DB_OPERATOR ? W_DROPBOX_OPERATOR :
				    W_DROPBOX_LEARNED, "recipient %s is a"
				    " drop-box (%s)", a,
				    an_state_dropbox_source_name(src));
				break;
			}
		}
	}
	if (in->cfg->cluster_first > 0 && an_state_cluster_bump(in->state,
	    cluster, in->now, in->cfg->client_window, in->update,
	    &count) == 0) {
		if (count > in->cfg->cluster_first) {
			reason(v, "cluster_bulk", -W_OVERRIDE, "copy %lld of"
			    " this content; only the first %ld may be tests",
			    (long long)count, in->cfg->cluster_first);
			*bulk = true;
		} else if (count > 1)
			reason(v, "cluster_repeat", 0, "copy %lld of %ld"
			    " allowed", (long long)count,
			    in->cfg->cluster_first);
	}
}

/*
 * an_relaytest_classify -- classify one message. <in> must have cfg,
 * envelope and msg set; state may be NULL. On return 0, *out holds the
 * verdict (kind, score, every reason that fired, the relaytest.json
 * object), which the caller releases with an_rt_verdict_free(). With
 * in->update the state store records this message (client sightings,
 * drop-box hits, cluster count): call it once per message. Returns -1
 * (logged, *out empty) only when the envelope is not a JSON object; a
 * failing state store only loses the state signals (logged).
 */
int
an_relaytest_classify(const struct an_rt_input *in, struct an_rt_verdict *out)
{
	struct an_needles *envnd;
	struct rt_text	 t;
	const json_t	*env = in->envelope, *rcpt, *o;
	const char	*which, *a, *rule;
	char		*cluster = NULL;
	bool		 fired[6] = { false }, bulk = false, never, always;
	size_t		 i;

	memset(out, 0, sizeof(*out));
	out->threshold = in->cfg->threshold;
	if (env == NULL || !json_is_object(env)) {
		log_warnx("an_relaytest: envelope is not an object");
		return -1;
	}
	an_relaytest_init();
	memset(&t, 0, sizeof(t));

	/* legitimate testers first: nothing else matters */
	a = jstr(json_object_get(env, "mail_from"), "addr");
	if (a != NULL && an_rt_is_tester(in->cfg, a, &which)) {
		reason(out, "known_tester", 0, "sender %s is %s's", a, which);
		out->kind = AN_RT_TESTER;
	}
	rcpt = json_object_get(env, "rcpt");
	if (out->kind != AN_RT_TESTER && json_is_array(rcpt))
		json_array_foreach(rcpt, i, o) {
			if ((a = jstr(o, "addr")) != NULL &&
			    an_rt_is_tester(in->cfg, a, &which)) {
				reason(out, "known_tester", 0,
				    "recipient %s is %s's", a, which);
				out->kind = AN_RT_TESTER;
				break;
			}
		}
	if (out->kind == AN_RT_TESTER) {
		out->json = verdict_json(out, NULL, in->now);
		return 0;
	}

	text_extract(in->msg, in->msglen, in->mime, &t);
	sig_trap(in->cfg->needles, "trap", rcpt, &t, out, fired);
	if ((envnd = envelope_needles(env)) != NULL) {
		sig_trap(envnd, "listener", rcpt, &t, out, fired);
		an_needles_free(envnd);
	}
	sig_auth_echo(env, &t, out);
	sig_envelope(in, &t, out);
	/*
	 * Copies are counted per campaign when the campaign analyzer ran:
	 * its fuzzy grouping also joins bulk runs whose copies differ in a
	 * URL or a name, which one digest of the text would count apart.
	 */
	if (in->campaign != NULL && *in->campaign != '\0')
		xasprintf(&cluster, "campaign:%s", in->campaign);
	else
		cluster = cluster_hash(&t);
	if (in->state != NULL)
		sig_state(in, cluster, out, &bulk);

	never = rules_match(&in->cfg->never, env, t.subject->str, &rule);
	if (never)
		reason(out, "rule_never", -W_OVERRIDE, "forward_never %s",
		    rule);
	always = !never && rules_match(&in->cfg->always, env, t.subject->str,
	    &rule);
	if (always)
		reason(out, "rule_always", W_OVERRIDE, "forward_always %s",
		    rule);
	if (never || bulk)
		out->kind = AN_RT_SPAM;
	else if (always || out->score >= out->threshold)
		out->kind = AN_RT_RELAY_TEST;
	else
		out->kind = AN_RT_SPAM;
	out->json = verdict_json(out, cluster, in->now);
	free(cluster);
	text_free(&t);
	return 0;
}

/*
 * an_rt_verdict_free -- release what an_relaytest_classify() put in <v>
 * (not <v> itself); the verdict is empty afterwards.
 */
void
an_rt_verdict_free(struct an_rt_verdict *v)
{
	size_t	 i;

	for (i = 0; i < v->nreasons; i++) {
		free(v->reasons[i].name);
		free(v->reasons[i].detail);
	}
	free(v->reasons);
	json_decref(v->json);
	memset(v, 0, sizeof(*v));
}

/*
 * The classifier as the pipeline's last analyzer, "relaytest" in
 * `analyzers`: it reads the results before it (the client's ASN, the
 * campaign) and the memory the host hands the runner
 * (an_runner_set_memory()). A message classified before keeps the
 * verdict stored beside it (relaytest.json): its first-seen signals
 * depended on when it ran, and relay tests were forwarded on it. A new
 * verdict is kept for the host until the next run (an_rt_take_fresh()):
 * the worker stores it, logs it and hands relay tests to the forwarder.
 */
struct rt_an {
	struct an_rt_config	*cfg;
	struct an_rt_verdict	 fresh;
	bool			 have_fresh;
};

static int
rt_an_init(const struct conf *conf, void **state, char *err, size_t errlen)
{
	struct rt_an	*ra;
	const char	*errstr = NULL;

	/* no GMime here: relaytrapd -t and the parent call this too */
	ra = xcalloc(1, sizeof(*ra));
	if ((ra->cfg = an_rt_config_new(conf, &errstr)) == NULL) {
		(void)snprintf(err, errlen, "relay-test classifier: %s",
		    errstr != NULL ? errstr : "bad configuration");
		free(ra);
		return -1;
	}
	*state = ra;
	return 0;
}

static void
rt_an_forget(struct rt_an *ra)
{
	if (ra->have_fresh)
		an_rt_verdict_free(&ra->fresh);
	ra->have_fresh = false;
}

static enum an_status
rt_an_run(void *state, struct an_ctx *ctx, json_t **out)
{
	struct rt_an	*ra = state;
	struct an_rt_input in;
	char		 err[256];
	json_t		*kept, *gc;

	rt_an_forget(ra);
	if (ctx->q != NULL && ctx->entry != NULL && (kept = queue_file_json(
	    ctx->q, ctx->entry, "relaytest.json", err, sizeof(err))) != NULL) {
		*out = kept;
		return AN_OK;
	}
	memset(&in, 0, sizeof(in));
	in.cfg = ra->cfg;
	in.envelope = ctx->envelope;
	in.msg = ctx->msg;
	in.msglen = ctx->msglen;
	in.mime = an_mime(ctx);
	in.state = ctx->memory;
	in.now = time(NULL);
	in.update = ctx->record;
	gc = json_object_get(json_object_get(ctx->results, "geoip"),
	    "client");
	in.asn = (uint32_t)json_integer_value(json_object_get(gc, "asn"));
	in.campaign = json_string_value(json_object_get(json_object_get(
	    ctx->results, "campaign"), "campaign"));
	if (an_relaytest_classify(&in, &ra->fresh) != 0) {
		*out = json_pack("{s:s}", "error", "classification failed");
		return AN_ERROR;
	}
	ra->have_fresh = true;
	*out = json_incref(ra->fresh.json);
	return AN_OK;
}

static void
rt_an_fini(void *state)
{
	struct rt_an	*ra = state;

	if (ra == NULL)
		return;
	rt_an_forget(ra);
	an_rt_config_free(ra->cfg);
	free(ra);
}

/*
 * an_rt_take_fresh -- the verdict the last run of the "relaytest"
 * analyzer made (state: an_runner_state(runner, "relaytest")) moved into
 * *v, for the caller to an_rt_verdict_free(); false when that run made
 * none (a verdict kept from before, a failure, or not run).
 */
bool
an_rt_take_fresh(void *state, struct an_rt_verdict *v)
{
	struct rt_an	*ra = state;

	if (ra == NULL || !ra->have_fresh)
		return false;
	*v = ra->fresh;
	memset(&ra->fresh, 0, sizeof(ra->fresh));
	ra->have_fresh = false;
	return true;
}

const struct an_analyzer an_relaytest = {
	.name = "relaytest",
	.init = rt_an_init,
	.run = rt_an_run,
	.fini = rt_an_fini,
	.check_by_init = true,
};
