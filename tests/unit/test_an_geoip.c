/*
 * test_an_geoip.c -- the GeoIP analyzer against databases nobody here
 * wrote: MaxMind's test databases (tests/fixtures/mmdb, expected values
 * checked in their source JSON beside them), a database this test builds
 * with tests/mmdb/build-test-db.pl for the documentation ranges, corrupt
 * and missing files at init, private labels, IPv4-mapped folding, several
 * databases merged, and the whole run() on an envelope + origin result.
 * Prints lookups per second as a diagnostic (not an assertion).
 *
 * Usage: test_an_geoip [SRCDIR] (default $RT_TOP_SRCDIR).
 */
#include "config.h"

#include <sys/stat.h>

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "an.h"
#include "an_geoip.h"
#include "compat.h"
#include "conf.h"
#include "tap.h"

static char	 fix[PATH_MAX];		/* tests/fixtures/mmdb */
static char	 tmpdir[] = "/tmp/test_an_geoip.XXXXXX";

#define COUNTRY	"GeoIP2-Country-Test.mmdb"
#define ASN	"GeoLite2-ASN-Test.mmdb"
#define ISP	"GeoIP2-ISP-Test.mmdb"
#define CITY	"GeoIP2-City-Test.mmdb"
#define ENTERPRISE "GeoIP2-Enterprise-Test.mmdb"

static char *
fpath(const char *dir, const char *name)
{
	static char	 buf[8][PATH_MAX];
	static int	 i;

	i = (i + 1) % 8;
	if (!bsnprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name))
		buf[i][0] = '\0';
	return buf[i];
}

/* init with the given files; returns state or NULL (err filled) */
static void *
open_dbs(const char *spool, char *err, size_t errlen, int n, ...)
{
	struct conf	 conf;
	char		*v[8];
	void		*state = NULL;
	va_list		 ap;
	int		 i;

	memset(&conf, 0, sizeof(conf));
	va_start(ap, n);
	for (i = 0; i < n && i < 8; i++)
		v[i] = va_arg(ap, char *);
	va_end(ap);
	conf.geoip_db.v = v;
	conf.geoip_db.n = n;
	conf.spool = (char *)spool;
	err[0] = '\0';
	if (an_geoip.init(&conf, &state, err, errlen) == -1)
		return NULL;
	return state;
}

static const char *
rstr(const json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

static long long
rnum(const json_t *rec, const char *key)
{
	const json_t	*v = json_object_get(rec, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

struct want {
	const char	*addr;
	const char	*country, *reg, *as_org, *isp, *org, *priv;
	long long	 asn;		/* -1: absent */
};

static void
check(void *st, const struct want *w, const char *what)
{
	json_t	*rec;

	rec = an_geoip_lookup(st, w->addr);
	if (!ok(rec != NULL, "%s %s: record", what, w->addr))
		return;
	is_str(rstr(rec, "country"), w->country, "%s %s: country", what,
	    w->addr);
	is_str(rstr(rec, "registered_country"), w->reg,
	    "%s %s: registered_country", what, w->addr);
	is_int(rnum(rec, "asn"), w->asn, "%s %s: asn", what, w->addr);
	is_str(rstr(rec, "as_org"), w->as_org, "%s %s: as_org", what,
	    w->addr);
	is_str(rstr(rec, "isp"), w->isp, "%s %s: isp", what, w->addr);
	is_str(rstr(rec, "org"), w->org, "%s %s: org", what, w->addr);
	is_str(rstr(rec, "private"), w->priv, "%s %s: private", what,
	    w->addr);
	ok(json_object_get(rec, "error") == NULL, "%s %s: no error", what,
	    w->addr);
	json_decref(rec);
}

/* values from tests/fixtures/mmdb/<db>.json (longest matching network) */
static const struct want country_cases[] = {
	{ "81.2.69.142", "GB", "US", NULL, NULL, NULL, NULL, -1 },
	{ "89.160.20.112", "SE", "DE", NULL, NULL, NULL, NULL, -1 },
	{ "216.160.83.56", "US", "GB", NULL, NULL, NULL, NULL, -1 },
	{ "67.43.156.1", "BT", "RO", NULL, NULL, NULL, NULL, -1 },
	{ "2001:218::1", "JP", "JP", NULL, NULL, NULL, NULL, -1 },
	/* IPv4-mapped: folded to 81.2.69.142 */
	{ "::ffff:81.2.69.142", "GB", "US", NULL, NULL, NULL, NULL, -1 },
	{ "1.128.0.1", NULL, NULL, NULL, NULL, NULL, NULL, -1 },
};

static const struct want asn_cases[] = {
	{ "1.128.0.1", NULL, NULL, "Telstra Pty Ltd", NULL, NULL, NULL, 1221 },
	{ "12.81.92.1", NULL, NULL, "AT&T Services", NULL, NULL, NULL, 7018 },
	{ "89.160.20.112", NULL, NULL, "Bredband2 AB", NULL, NULL, NULL,
	    29518 },
	{ "2600:6000::1", NULL, NULL, "Merit Network Inc.", NULL, NULL, NULL,
	    237 },
	{ "::ffff:12.81.92.1", NULL, NULL, "AT&T Services", NULL, NULL, NULL,
	    7018 },
};

static const struct want isp_cases[] = {
	{ "89.160.20.112", NULL, NULL, "Bredband2 AB", "Bredband2 AB",
	    "Bevtec", NULL, 29518 },
	{ "149.101.100.1", NULL, NULL, "CELLCO-PART", "Verizon Wireless",
	    "Verizon Wireless", NULL, 6167 },
	/* no autonomous_system_organization in the ISP record */
	{ "12.81.92.1", NULL, NULL, NULL, "AT&T Services", "AT&T Services",
	    NULL, 7018 },
	{ "2001:1700::1", NULL, NULL, "Sunrise Communications AG", NULL, NULL,
	    NULL, 6730 },
};

/* Country + ASN + ISP merged field by field, first answer wins */
static const struct want merged_cases[] = {
	{ "89.160.20.112", "SE", "DE", "Bredband2 AB", "Bredband2 AB",
	    "Bevtec", NULL, 29518 },
	/* as_org from the ASN database, isp/org from the ISP database */
	{ "12.81.92.1", NULL, NULL, "AT&T Services", "AT&T Services",
	    "AT&T Services", NULL, 7018 },
	{ "149.101.100.1", "US", "GB", "CELLCO-PART", "Verizon Wireless",
	    "Verizon Wireless", NULL, 6167 },
	{ "::ffff:89.160.20.112", "SE", "DE", "Bredband2 AB", "Bredband2 AB",
	    "Bevtec", NULL, 29518 },
	/* private: labelled, never looked up */
	{ "10.1.2.3", NULL, NULL, NULL, NULL, NULL, "rfc1918", -1 },
	{ "::ffff:192.168.1.1", NULL, NULL, NULL, NULL, NULL, "rfc1918", -1 },
};

/* tests/mmdb/build-test-db.pl, IPv6 tree without IPv4 aliases */
static const struct want testnet_cases[] = {
	{ "192.0.2.5", "NL", "NL", "Example Transit B.V.", "Example ISP NL",
	    "TEST-NET-1 Org", "documentation", 64496 },
	{ "::ffff:192.0.2.5", "NL", "NL", "Example Transit B.V.",
	    "Example ISP NL", "TEST-NET-1 Org", "documentation", 64496 },
	{ "198.51.100.7", "US", "CA", "Example Networks, Inc.",
	    "Example Cable", "TEST-NET-2 Org", "documentation", 64497 },
	{ "203.0.113.9", "JP", "JP", "Example KK", "Example ISP JP",
	    "TEST-NET-3 Org", "documentation", 65536 },
	{ "203.0.113.200", "KR", "JP", "Example Hosting Co., Ltd.",
	    "Example Hosting", "Spam Source Customer", "documentation",
	    65537 },
	{ "[IPv6:2001:db8::25]", "DE", "DE", "Example GmbH",
	    "Example IPv6 ISP", "IPv6 Documentation Org", "documentation",
	    65551 },
	{ "8.8.8.8", NULL, NULL, NULL, NULL, NULL, NULL, -1 },
};

static const struct {
	const char	*addr, *label, *range;
} reserved_cases[] = {
	{ "10.0.0.1", "rfc1918", "10.0.0.0/8" },
	{ "172.31.255.255", "rfc1918", "172.16.0.0/12" },
	{ "172.32.0.1", NULL, NULL },
	{ "192.168.0.1", "rfc1918", "192.168.0.0/16" },
	{ "127.0.0.1", "loopback", "127.0.0.0/8" },
	{ "169.254.1.1", "link-local", "169.254.0.0/16" },
	{ "100.64.0.1", "cgnat", "100.64.0.0/10" },
	{ "100.128.0.1", NULL, NULL },
	{ "192.0.2.1", "documentation", "192.0.2.0/24" },
	{ "198.51.100.1", "documentation", "198.51.100.0/24" },
	{ "203.0.113.1", "documentation", "203.0.113.0/24" },
	{ "198.18.0.1", "benchmarking", "198.18.0.0/15" },
	{ "224.0.0.5", "multicast", "224.0.0.0/4" },
	{ "255.255.255.255", "broadcast", "255.255.255.255/32" },
	{ "240.0.0.1", "reserved", "240.0.0.0/4" },
	{ "0.1.2.3", "this-network", "0.0.0.0/8" },
	{ "::ffff:10.9.8.7", "rfc1918", "10.0.0.0/8" },
	{ "::1", "loopback", "::1/128" },
	{ "::", "unspecified", "::/128" },
	{ "fd12:3456::1", "ula", "fc00::/7" },
	{ "fe80::1", "link-local", "fe80::/10" },
	{ "ff02::1", "multicast", "ff00::/8" },
	{ "2001:db8::1", "documentation", "2001:db8::/32" },
	{ "3fff:1::1", "documentation", "3fff::/20" },
	{ "4000::1", "reserved", "not 2000::/3" },
	{ "81.2.69.142", NULL, NULL },
	{ "2001:218::1", NULL, NULL },
	{ "[IPv6:fe80::2]", "link-local", "fe80::/10" },
	{ "not-an-address", NULL, NULL },
	{ "1.2.3.4.5", NULL, NULL },
	{ "", NULL, NULL },
};

static void
test_reserved(void)
{
	const char	*label, *range;
	size_t		 i;

	for (i = 0; i < sizeof(reserved_cases) / sizeof(reserved_cases[0]);
	    i++) {
		label = an_geoip_reserved(reserved_cases[i].addr, &range);
		is_str(label, reserved_cases[i].label, "reserved %s: label",
		    reserved_cases[i].addr);
		is_str(range, reserved_cases[i].range, "reserved %s: range",
		    reserved_cases[i].addr);
	}
}

static void
test_known(const char *name, const struct want *w, size_t n, void *st)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		check(st, &w[i], name);
}

static void
test_init_errors(void)
{
	static const char *const bad[] = {
		"libmaxminddb-offset-integer-overflow.mmdb",	/* open fails */
		"libmaxminddb-deep-nesting.mmdb",	/* probe fails */
		"bad-unicode-in-map-key.mmdb",		/* probe fails */
		/* the probes pass, the walk of the whole tree does not */
		"libmaxminddb-separator-record-min-right.mmdb",
		"MaxMind-DB-test-broken-search-tree-24.mmdb",
		"MaxMind-DB-test-broken-pointers-24.mmdb",
	};
	char		 err[512], *p;
	void		*st;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = fpath(fix, bad[i]);
		st = open_dbs(NULL, err, sizeof(err), 2, fpath(fix, COUNTRY),
		    p);
		ok(st == NULL, "corrupt %s: init fails", bad[i]);
		ok(strstr(err, p) != NULL, "corrupt %s: error names it: %s",
		    bad[i], err);
		an_geoip.fini(st);
	}
	p = fpath(tmpdir, "missing.mmdb");
	st = open_dbs(NULL, err, sizeof(err), 1, p);
	ok(st == NULL, "missing file: init fails");
	ok(strstr(err, p) != NULL && strstr(err, "No such file") != NULL,
	    "missing file: error names it: %s", err);
	an_geoip.fini(st);

	/* not an mmdb at all */
	p = fpath(fix, "README.md");
	st = open_dbs(NULL, err, sizeof(err), 1, p);
	ok(st == NULL && strstr(err, p) != NULL, "text file: init fails: %s",
	    err);
	an_geoip.fini(st);
}

/* {} = default directories: the spool's sibling geoip/ */
static void
test_default_dir(void)
{
	char		 dir[PATH_MAX], spool[PATH_MAX], err[512];
	json_t		*env, *out = NULL;
	struct an_ctx	 ctx;
	void		*st;
	bool		 sysdir = access(AN_GEOIP_DIR, F_OK) == 0;

	snprintf(dir, sizeof(dir), "%s/var/geoip", tmpdir);
	snprintf(spool, sizeof(spool), "%s/var/spool/", tmpdir);
	if (mkdir(fpath(tmpdir, "var"), 0700) == -1 ||
	    mkdir(dir, 0700) == -1 || mkdir(spool, 0700) == -1) {
		ok(0, "default dir: mkdir");
		return;
	}
	/* spool without a sibling geoip/: a warning, then AN_SKIP */
	st = open_dbs(fpath(tmpdir, "nothing/spool"), err, sizeof(err), 0);
	ok(st != NULL, "default, nothing there: init succeeds");
	if (!sysdir)
		is_int(an_geoip_ndb(st), 0, "default, nothing there: 0 dbs");
	if (!sysdir && st != NULL) {
		memset(&ctx, 0, sizeof(ctx));
		env = json_pack("{s{ss}}", "client", "addr", "81.2.69.142");
		ctx.envelope = env;
		is_int(an_geoip.run(st, &ctx, &out), AN_SKIP,
		    "default, nothing there: run skips");
		ok(out == NULL, "default, nothing there: no result");
		json_decref(env);
	}
	an_geoip.fini(st);

	if (symlink(fpath(fix, COUNTRY), fpath(dir, "country.mmdb")) == -1 ||
	    symlink(fpath(fix, ASN), fpath(dir, "asn.mmdb")) == -1) {
		ok(0, "default dir: symlink");
		return;
	}
	st = open_dbs(spool, err, sizeof(err), 0);
	ok(st != NULL, "default, spool sibling: init succeeds: %s", err);
	if (st == NULL)
		return;
	ok(an_geoip_ndb(st) >= 2, "default, spool sibling: 2 dbs");
	check(st, &(struct want){ "89.160.20.112", "SE", "DE",
	    "Bredband2 AB", NULL, NULL, NULL, 29518 }, "default");
	an_geoip.fini(st);

	/* a corrupt file in the default directory is an init error too */
	if (symlink(fpath(fix, "libmaxminddb-deep-nesting.mmdb"),
	    fpath(dir, "zz-bad.mmdb")) == -1) {
		ok(0, "default dir: symlink bad");
		return;
	}
	st = open_dbs(spool, err, sizeof(err), 0);
	ok(st == NULL && strstr(err, "zz-bad.mmdb") != NULL,
	    "default, corrupt file: init fails: %s", err);
	an_geoip.fini(st);
}

static void
test_run(void *st)
{
	struct an_ctx	 ctx;
	json_t		*env, *res, *out = NULL, *addrs, *rec;
	char		*dump;

	env = json_pack("{s{sssi}}", "client", "addr", "::ffff:81.2.69.142",
	    "port", 50123);
	res = json_pack("{s{s{ss}s[{ss}{ss}{ss}{ss}{ss}]s{ss}}}",
	    "origin",
	    "client", "addr", "81.2.69.142",
	    "hops",
	    "from_addr", "10.1.2.3",
	    "from_addr", "89.160.20.112",
	    "from_addr", "[IPv6:2001:218::1]",
	    "from_addr", "not an address",
	    "from_addr", "81.2.69.142",
	    "origin", "addr", "89.160.20.112");
	memset(&ctx, 0, sizeof(ctx));
	ctx.envelope = env;
	ctx.results = res;
	is_int(an_geoip.run(st, &ctx, &out), AN_OK, "run: AN_OK");
	if (out == NULL) {
		ok(0, "run: result");
		goto done;
	}
	dump = json_dumps(out, JSON_SORT_KEYS | JSON_COMPACT);
	printf("# run result: %s\n", dump);
	free(dump);
	addrs = json_object_get(out, "addrs");
	is_int(json_object_size(addrs), 4, "run: 4 distinct addresses");
	rec = json_object_get(addrs, "81.2.69.142");
	dump = json_dumps(json_object_get(rec, "role"), JSON_COMPACT);
	is_str(dump, "[\"client\",\"hop\"]", "run: client roles");
	free(dump);
	rec = json_object_get(addrs, "89.160.20.112");
	dump = json_dumps(json_object_get(rec, "role"), JSON_COMPACT);
	is_str(dump, "[\"origin\",\"hop\"]", "run: origin roles");
	free(dump);
	rec = json_object_get(addrs, "10.1.2.3");
	is_str(rstr(rec, "private"), "rfc1918", "run: private hop label");
	is_str(rstr(rec, "range"), "10.0.0.0/8", "run: private hop range");
	ok(json_object_get(rec, "country") == NULL, "run: private not "
	    "looked up");
	rec = json_object_get(addrs, "2001:218::1");
	is_str(rstr(rec, "country"), "JP", "run: IPv6 hop country");
	ok(json_is_null(json_object_get(rec, "private")), "run: public hop "
	    "private=null");
	rec = json_object_get(out, "client");
	is_str(rstr(rec, "addr"), "81.2.69.142", "run: client addr unmapped");
	is_str(rstr(rec, "country"), "GB", "run: client country");
	is_str(rstr(rec, "registered_country"), "US",
	    "run: client registered_country");
	rec = json_object_get(out, "origin");
	is_str(rstr(rec, "addr"), "89.160.20.112", "run: origin addr");
	is_str(rstr(rec, "country"), "SE", "run: origin country");
	is_int(rnum(rec, "asn"), 29518, "run: origin asn");
	is_str(rstr(rec, "org"), "Bevtec", "run: origin org");
	is_int(json_array_size(json_object_get(out, "db")), 3, "run: 3 db "
	    "types listed");
	json_decref(out);
	out = NULL;

	/* no origin result: the client only */
	ctx.results = NULL;
	is_int(an_geoip.run(st, &ctx, &out), AN_OK, "run, client only: OK");
	is_int(json_object_size(json_object_get(out, "addrs")), 1,
	    "run, client only: 1 address");
	ok(json_object_get(out, "origin") == NULL, "run, client only: no "
	    "origin");
	json_decref(out);
	out = NULL;

	/* no usable address at all */
	json_decref(env);
	env = json_pack("{s{ss}}", "client", "addr", "garbage");
	ctx.envelope = env;
	is_int(an_geoip.run(st, &ctx, &out), AN_SKIP, "run, bad addr: skip");
 done:
	json_decref(env);
	json_decref(res);
}

/* hostile hop lists are capped */
static void
test_cap(void *st)
{
	struct an_ctx	 ctx;
	json_t		*env, *res, *hops, *out = NULL;
	char		 a[32];
	int		 i;

	hops = json_array();
	for (i = 0; i < 300; i++) {
		snprintf(a, sizeof(a), "81.2.%d.%d", i / 250, i % 250 + 1);
		json_array_append_new(hops, json_pack("{ss}", "from_addr", a));
	}
	env = json_pack("{s{ss}}", "client", "addr", "1.128.0.1");
	res = json_pack("{s{so}}", "origin", "hops", hops);
	memset(&ctx, 0, sizeof(ctx));
	ctx.envelope = env;
	ctx.results = res;
	is_int(an_geoip.run(st, &ctx, &out), AN_OK, "cap: OK");
	is_int(json_object_size(json_object_get(out, "addrs")),
	    AN_GEOIP_ADDRS_MAX, "cap: %d addresses", AN_GEOIP_ADDRS_MAX);
	ok(json_is_true(json_object_get(out, "truncated")), "cap: truncated");
	json_decref(out);
	json_decref(env);
	json_decref(res);
}

static void
bench(void *st)
{
	static const char *const addrs[] = {
		"81.2.69.142", "89.160.20.112", "12.81.92.1", "1.128.0.1",
		"149.101.100.1", "2001:218::1", "2600:6000::1", "8.8.8.8",
	};
	struct timespec	 t0, t1;
	json_t		*rec;
	double		 secs;
	int		 i, n = 100000;

	/* at most n lookups or about half a second (sanitizer builds) */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		rec = an_geoip_lookup(st, addrs[i % 8]);
		json_decref(rec);
		if (i % 1000 == 999) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			secs = (t1.tv_sec - t0.tv_sec) +
			    (t1.tv_nsec - t0.tv_nsec) / 1e9;
			if (secs > 0.5) {
				i++;
				break;
			}
		}
	}
	n = i;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# lookups/s: %.0f (%d addresses x 3 databases, JSON record "
	    "each, %.3f s)\n", n / secs, n, secs);
}

int
main(int argc, char **argv)
{
	const char	*srcdir;
	char		 err[512], cmd[3 * PATH_MAX];
	char		 t6[PATH_MAX], t4[PATH_MAX];
	void		*st;
	int		 rc;

	srcdir = argc > 1 ? argv[1] : getenv("RT_TOP_SRCDIR");
	if (srcdir == NULL)
		srcdir = ".";
	snprintf(fix, sizeof(fix), "%s/tests/fixtures/mmdb", srcdir);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}

	test_reserved();

	if ((st = open_dbs(NULL, err, sizeof(err), 1, fpath(fix, COUNTRY)))
	    == NULL)
		printf("# %s\n", err);
	ok(st != NULL, "open Country");
	if (st != NULL)
		test_known("country", country_cases, sizeof(country_cases) /
		    sizeof(country_cases[0]), st);
	an_geoip.fini(st);

	st = open_dbs(NULL, err, sizeof(err), 1, fpath(fix, ASN));
	ok(st != NULL, "open ASN: %s", err);
	if (st != NULL)
		test_known("asn", asn_cases, sizeof(asn_cases) /
		    sizeof(asn_cases[0]), st);
	an_geoip.fini(st);

	st = open_dbs(NULL, err, sizeof(err), 1, fpath(fix, ISP));
	ok(st != NULL, "open ISP: %s", err);
	if (st != NULL)
		test_known("isp", isp_cases, sizeof(isp_cases) /
		    sizeof(isp_cases[0]), st);
	an_geoip.fini(st);

	/* one City database answers country and registered country */
	st = open_dbs(NULL, err, sizeof(err), 1, fpath(fix, CITY));
	ok(st != NULL, "open City: %s", err);
	if (st != NULL)
		check(st, &(struct want){ "81.2.69.142", "GB", "US", NULL,
		    NULL, NULL, NULL, -1 }, "city");
	an_geoip.fini(st);

	/*
	 * one Enterprise database answers everything, the network facts
	 * under "traits" (values read with mmdblookup from the file)
	 */
	st = open_dbs(NULL, err, sizeof(err), 1, fpath(fix, ENTERPRISE));
	ok(st != NULL, "open Enterprise: %s", err);
	if (st != NULL)
		check(st, &(struct want){ "74.209.24.0", "US", "US",
		    "FairPoint Communications", "Fairpoint Communications",
		    "Fairpoint Communications", NULL, 14671 }, "enterprise");
	an_geoip.fini(st);

	st = open_dbs(NULL, err, sizeof(err), 3, fpath(fix, COUNTRY),
	    fpath(fix, ISP), fpath(fix, ASN));
	ok(st != NULL, "open Country+ISP+ASN: %s", err);
	if (st != NULL) {
		is_int(an_geoip_ndb(st), 3, "3 databases");
		test_known("merged", merged_cases, sizeof(merged_cases) /
		    sizeof(merged_cases[0]), st);
		test_run(st);
		test_cap(st);
		bench(st);
	}
	an_geoip.fini(st);

	/* databases built here for the documentation ranges */
	snprintf(t6, sizeof(t6), "%s/testnet6.mmdb", tmpdir);
	snprintf(t4, sizeof(t4), "%s/testnet4.mmdb", tmpdir);
	snprintf(cmd, sizeof(cmd), "perl '%s/tests/mmdb/build-test-db.pl' "
	    "'%s' 6 && perl '%s/tests/mmdb/build-test-db.pl' '%s' 4",
	    srcdir, t6, srcdir, t4);
	rc = system(cmd);
	if (rc != 0) {
		ok(1, "build test db # SKIP libmaxmind-db-writer-perl "
		    "missing? (rc %d)", rc);
	} else {
		st = open_dbs(NULL, err, sizeof(err), 1, t6);
		ok(st != NULL, "open built IPv6 db: %s", err);
		if (st != NULL)
			test_known("testnet6", testnet_cases,
			    sizeof(testnet_cases) / sizeof(testnet_cases[0]),
			    st);
		an_geoip.fini(st);

		/* IPv4-only tree: IPv6 is "not found", not an error */
		st = open_dbs(NULL, err, sizeof(err), 2, t4, fpath(fix,
		    COUNTRY));
		ok(st != NULL, "open built IPv4 db + Country: %s", err);
		if (st != NULL) {
			check(st, &testnet_cases[0], "testnet4");
			check(st, &(struct want){ "2001:218::1", "JP", "JP",
			    NULL, NULL, NULL, NULL, -1 }, "testnet4");
			check(st, &(struct want){ "2001:db8::1", NULL, NULL,
			    NULL, NULL, NULL, "documentation", -1 },
			    "testnet4");
		}
		an_geoip.fini(st);
	}

	test_init_errors();
	test_default_dir();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
	return tap_done();
}
