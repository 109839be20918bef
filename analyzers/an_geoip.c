/*
 * an_geoip.c -- the GeoIP analyzer. Runs in the worker on every committed
 * message: takes the client address (envelope "client.addr"), and, when
 * the origin analyzer ran before it, the origin address and every hop
 * address of the Received chain, and looks each one up in every
 * configured MaxMind DB file (libmaxminddb, memory-mapped, read-only).
 *
 * Several databases may be loaded at once (a Country, an ASN and an ISP
 * database, or one City/Enterprise database): each answers what it knows,
 * in configuration order, and the first answer for a field wins.
 * Private and reserved addresses (RFC 1918, loopback, CGNAT, link-local,
 * multicast, ULA...) are labelled with the range they fall in and not
 * looked up; the documentation ranges (RFC 5737, RFC 3849, RFC 9637) are
 * labelled too but still looked up, so that test databases built for them
 * answer (public databases have no data there). IPv4-mapped IPv6
 * addresses are folded to IPv4 before anything else.
 *
 * Trust: addresses from Received headers are hostile text: they are
 * bounded, parsed with inet_pton() and only their canonical form is used.
 * Database strings are not NUL-terminated and may be any bytes: they are
 * copied with their length, capped at AN_GEOIP_STR_MAX, through
 * jsu_bytes(). A corrupt database is refused at init when open or a probe
 * lookup fails; a lookup error later costs only that address ("error").
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <maxminddb.h>

#include "an.h"
#include "an_geoip.h"
#include "compat.h"
#include "conf.h"
#include "jsonutil.h"
#include "log.h"
#include "xmalloc.h"

#define GEOIP_ADDR_RAW_MAX	64	/* "[IPv6:...]" of a Received header */

#define GEOIP_R_CLIENT		0x01
#define GEOIP_R_ORIGIN		0x02
#define GEOIP_R_HOP		0x04

struct geoip_db {
	char		*path;
	MMDB_s		 mmdb;
};

struct an_geoip {
	struct geoip_db	 db[AN_GEOIP_DB_MAX];
	size_t		 ndb;
};

/* a parsed address: family, bytes (4 or 16) and canonical text */
struct geoip_addr {
	int		 af;
	unsigned char	 b[16];
	char		 text[INET6_ADDRSTRLEN];
	int		 roles;
};

struct geoip_range {
	int		 af;
	const char	*net;
	int		 plen;
	const char	*label;
	bool		 lookup;	/* look up anyway (test databases) */
};

/* RFC 6890 special-purpose registries; more specific entries first */
static const struct geoip_range geoip_ranges[] = {
	{ AF_INET, "0.0.0.0", 8, "this-network", false },
	{ AF_INET, "10.0.0.0", 8, "rfc1918", false },
	{ AF_INET, "100.64.0.0", 10, "cgnat", false },
	{ AF_INET, "127.0.0.0", 8, "loopback", false },
	{ AF_INET, "169.254.0.0", 16, "link-local", false },
	{ AF_INET, "172.16.0.0", 12, "rfc1918", false },
	{ AF_INET, "192.0.0.0", 24, "ietf-protocol", false },
	{ AF_INET, "192.0.2.0", 24, "documentation", true },
	{ AF_INET, "192.88.99.0", 24, "6to4-relay", false },
	{ AF_INET, "192.168.0.0", 16, "rfc1918", false },
	{ AF_INET, "198.18.0.0", 15, "benchmarking", false },
	{ AF_INET, "198.51.100.0", 24, "documentation", true },
	{ AF_INET, "203.0.113.0", 24, "documentation", true },
	{ AF_INET, "224.0.0.0", 4, "multicast", false },
	{ AF_INET, "255.255.255.255", 32, "broadcast", false },
	{ AF_INET, "240.0.0.0", 4, "reserved", false },
	{ AF_INET6, "::", 128, "unspecified", false },
	{ AF_INET6, "::1", 128, "loopback", false },
	{ AF_INET6, "::", 8, "reserved", false },
	{ AF_INET6, "64:ff9b:1::", 48, "nat64-local", false },
	{ AF_INET6, "100::", 64, "discard", false },
	{ AF_INET6, "2001:2::", 48, "benchmarking", false },
	{ AF_INET6, "2001:10::", 28, "orchid", false },
	{ AF_INET6, "2001:20::", 28, "orchid", false },
	{ AF_INET6, "2001:db8::", 32, "documentation", true },
	{ AF_INET6, "3fff::", 20, "documentation", true },
	{ AF_INET6, "fc00::", 7, "ula", false },
	{ AF_INET6, "fe80::", 10, "link-local", false },
	{ AF_INET6, "fec0::", 10, "site-local", false },
	{ AF_INET6, "ff00::", 8, "multicast", false },
};

/* probes at init: a corrupt data section shows in the first records */
static const char *const geoip_probes[] = {
	"1.1.1.1", "8.8.8.8", "81.2.69.142", "89.160.20.112",
	"2001:4860:4860::8888", "2a00:1450::1",
};

static int	 geoip_init(const struct conf *, void **, char *, size_t);
static enum an_status geoip_run(void *, struct an_ctx *, json_t **);
static void	 geoip_fini(void *);

const struct an_analyzer an_geoip = {
	.name = "geoip",
	.init = geoip_init,
	.run = geoip_run,
	.fini = geoip_fini,
	.check_by_init = true,		/* opens the databases read-only */
};

/* parse hostile address text; folds ::ffff:a.b.c.d to IPv4 */
static bool
geoip_parse(const char *raw, struct geoip_addr *a)
{
	char	 s[GEOIP_ADDR_RAW_MAX];
	size_t	 len;
	char	*p;

	if (raw == NULL)
		return false;
	len = strnlen(raw, sizeof(s));
	if (len == 0 || len >= sizeof(s))
		return false;
	memcpy(s, raw, len + 1);
	p = s;
	if (p[0] == '[' && p[len - 1] == ']') {
		p[len - 1] = '\0';
		p++;
	}
	if (strncasecmp(p, "IPv6:", 5) == 0)
		p += 5;
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, p, a->b) == 1)
		a->af = AF_INET;
	else if (inet_pton(AF_INET6, p, a->b) == 1) {
		a->af = AF_INET6;
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a->b)) {
			memmove(a->b, a->b + 12, 4);
			memset(a->b + 4, 0, 12);
			a->af = AF_INET;
		}
	} else
		return false;
	if (inet_ntop(a->af, a->b, a->text, sizeof(a->text)) == NULL)
		return false;
	return true;
}

static bool
geoip_prefix_match(const unsigned char *a, const unsigned char *net,
    int plen)
{
	int	 full = plen / 8, rem = plen % 8;

	if (memcmp(a, net, full) != 0)
		return false;
	if (rem == 0)
		return true;
	return ((a[full] ^ net[full]) & (0xff << (8 - rem))) == 0;
}

static const struct geoip_range *
geoip_range_find(const struct geoip_addr *a)
{
	unsigned char	 net[16];
	size_t		 i;

	for (i = 0; i < sizeof(geoip_ranges) / sizeof(geoip_ranges[0]); i++) {
		if (geoip_ranges[i].af != a->af)
			continue;
		if (inet_pton(a->af, geoip_ranges[i].net, net) != 1)
			fatalx("%s: bad range %s", __func__,
			    geoip_ranges[i].net);
		if (geoip_prefix_match(a->b, net, geoip_ranges[i].plen))
			return &geoip_ranges[i];
	}
	return NULL;
}

/*
 * an_geoip_reserved -- the label of the special-purpose range that addr
 * (text, IPv4 or IPv6, v4-mapped folded) falls in, e.g. "rfc1918",
 * "loopback", "documentation", or NULL for a public (or unparsable)
 * address. With range != NULL, *range is the range as "net/len".
 * The returned strings are static. Any IPv6 address outside 2000::/3 that
 * no entry names is "reserved".
 */
const char *
an_geoip_reserved(const char *addr, const char **range)
{
	static char		 buf[INET6_ADDRSTRLEN + 8];
	struct geoip_addr	 a;
	const struct geoip_range *r;

	if (range != NULL)
		*range = NULL;
	if (!geoip_parse(addr, &a))
		return NULL;
	if ((r = geoip_range_find(&a)) != NULL) {
		if (range != NULL) {
			(void)bsnprintf(buf, sizeof(buf), "%s/%d", r->net,
			    r->plen);
			*range = buf;
		}
		return r->label;
	}
	if (a.af == AF_INET6 && (a.b[0] & 0xe0) != 0x20) {
		if (range != NULL)
			*range = "not 2000::/3";
		return "reserved";
	}
	return NULL;
}

static void
geoip_sockaddr(const struct geoip_addr *a, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (a->af == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->b, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->b, 16);
	}
}

/*
 * The value at path in *d; false if there is none. A lookup error other
 * than "no such path" is kept in *err (the first one only).
 */
static bool
geoip_get(MMDB_entry_s *e, int *err, const char *const *path,
    MMDB_entry_data_s *d)
{
	int	 status;

	status = MMDB_aget_value(e, d, path);
	if (status != MMDB_SUCCESS) {
		if (status != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR &&
		    *err == MMDB_SUCCESS)
			*err = status;
		return false;
	}
	return d->has_data;
}

/* string at path, NULL if absent or not a string */
static json_t *
geoip_get_str(MMDB_entry_s *e, int *err, const char *const *path)
{
	MMDB_entry_data_s	 d;

	if (!geoip_get(e, err, path, &d) ||
	    d.type != MMDB_DATA_TYPE_UTF8_STRING)
		return NULL;
	/* not NUL-terminated; bytes are the database's, maybe not UTF-8 */
	return jsu_bytes(d.utf8_string, d.data_size < AN_GEOIP_STR_MAX ?
	    d.data_size : AN_GEOIP_STR_MAX);
}

static json_t *
geoip_get_uint(MMDB_entry_s *e, int *err, const char *const *path)
{
	MMDB_entry_data_s	 d;

	if (!geoip_get(e, err, path, &d))
		return NULL;
	switch (d.type) {
	case MMDB_DATA_TYPE_UINT16:
		return json_integer(d.uint16);
	case MMDB_DATA_TYPE_UINT32:
		return json_integer(d.uint32);
	case MMDB_DATA_TYPE_INT32:
		return d.int32 >= 0 ? json_integer(d.int32) : NULL;
	case MMDB_DATA_TYPE_UINT64:
		return d.uint64 <= UINT32_MAX ? json_integer(d.uint64) : NULL;
	default:
		return NULL;
	}
}

static const char *const p_country[] = { "country", "iso_code", NULL };
static const char *const p_country_code[] = { "country_code", NULL };
static const char *const p_reg[] = { "registered_country", "iso_code", NULL };
static const char *const p_asn[] = { "autonomous_system_number", NULL };
static const char *const p_asorg[] = { "autonomous_system_organization",
	NULL };
static const char *const p_isp[] = { "isp", NULL };
static const char *const p_org[] = { "organization", NULL };
/* City, Enterprise and Precision records keep network facts in traits */
static const char *const p_t_asn[] = { "traits", "autonomous_system_number",
	NULL };
static const char *const p_t_asorg[] = { "traits",
	"autonomous_system_organization", NULL };
static const char *const p_t_isp[] = { "traits", "isp", NULL };
static const char *const p_t_org[] = { "traits", "organization", NULL };

/* fill the fields of rec that db knows and rec lacks */
static void
geoip_lookup_db(struct geoip_db *db, const struct geoip_addr *a,
    json_t *rec)
{
	struct sockaddr_storage	 ss;
	MMDB_lookup_result_s	 res;
	json_t			*v;
	const char		*base;
	int			 err = MMDB_SUCCESS;

	geoip_sockaddr(a, &ss);
	res = MMDB_lookup_sockaddr(&db->mmdb, (struct sockaddr *)&ss, &err);
	if (err == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
		return;		/* this database does not know IPv6 */
	if (err != MMDB_SUCCESS || !res.found_entry)
		goto done;

#define GEOIP_FIELD(key, fn, path) do {					\
	if (json_object_get(rec, (key)) == NULL &&			\
	    (v = fn(&res.entry, &err, (path))) != NULL)			\
		json_object_set_new(rec, (key), v);			\
} while (0)
	GEOIP_FIELD("country", geoip_get_str, p_country);
	/* ip-location-db country files: {"country_code": "DE"} */
	GEOIP_FIELD("country", geoip_get_str, p_country_code);
	GEOIP_FIELD("registered_country", geoip_get_str, p_reg);
	GEOIP_FIELD("asn", geoip_get_uint, p_asn);
	GEOIP_FIELD("as_org", geoip_get_str, p_asorg);
	GEOIP_FIELD("isp", geoip_get_str, p_isp);
	GEOIP_FIELD("org", geoip_get_str, p_org);
	GEOIP_FIELD("asn", geoip_get_uint, p_t_asn);
	GEOIP_FIELD("as_org", geoip_get_str, p_t_asorg);
	GEOIP_FIELD("isp", geoip_get_str, p_t_isp);
	GEOIP_FIELD("org", geoip_get_str, p_t_org);
#undef GEOIP_FIELD
 done:
	if (err != MMDB_SUCCESS && json_object_get(rec, "error") == NULL)
		json_object_set_new(rec, "error", json_sprintf("%s: %s",
		    (base = strrchr(db->path, '/')) != NULL ? base + 1 :
		    db->path, MMDB_strerror(err)));
}

static json_t *
geoip_record(struct an_geoip *g, const struct geoip_addr *a)
{
	const struct geoip_range *r;
	json_t			*rec, *roles;
	size_t			 i;

	rec = json_object();
	if (a->roles != 0) {
		roles = json_array();
		if (a->roles & GEOIP_R_CLIENT)
			json_array_append_new(roles, json_string("client"));
		if (a->roles & GEOIP_R_ORIGIN)
			json_array_append_new(roles, json_string("origin"));
		if (a->roles & GEOIP_R_HOP)
			json_array_append_new(roles, json_string("hop"));
		json_object_set_new(rec, "role", roles);
	}
	r = geoip_range_find(a);
	if (r != NULL) {
		json_object_set_new(rec, "private", json_string(r->label));
		json_object_set_new(rec, "range",
		    json_sprintf("%s/%d", r->net, r->plen));
		if (!r->lookup)
			return rec;
	} else if (a->af == AF_INET6 && (a->b[0] & 0xe0) != 0x20) {
		json_object_set_new(rec, "private", json_string("reserved"));
		json_object_set_new(rec, "range", json_string("not 2000::/3"));
		return rec;
	} else
		json_object_set_new(rec, "private", json_null());
	for (i = 0; i < g->ndb; i++)
		geoip_lookup_db(&g->db[i], a, rec);
	return rec;
}

/*
 * an_geoip_lookup -- the record of one address (text) from the databases
 * of state (as returned by an_geoip.init): {"private": label|null,
 * "range"?, "country"?, "registered_country"?, "asn"?, "as_org"?,
 * "isp"?, "org"?, "error"?}; keys a database did not answer are absent.
 * Returns a new reference, or NULL if addr is not an IP address.
 */
json_t *
an_geoip_lookup(void *state, const char *addr)
{
	struct geoip_addr	 a;

	if (!geoip_parse(addr, &a))
		return NULL;
	return geoip_record(state, &a);
}

/*
 * an_geoip_ndb -- how many databases state has open (0: the bundled
 * default was not found and run() skips every message).
 */
size_t
an_geoip_ndb(void *state)
{
	return ((struct an_geoip *)state)->ndb;
}

/*
 * geoip_verify -- walk the search tree as lookups do, from the root down:
 * every record must be another node (no deeper than the address has
 * bits), "empty", or point past the 16-byte separator into the data
 * section, and every data record pointed at must decode (each offset
 * once). A node is walked again only when reached deeper than before
 * (the IPv4 subtree of an IPv6 database has aliases). The probes of
 * geoip_open() look at a few addresses only: files broken in half their
 * tree passed them and then failed for every client there. 0, or -1
 * with a message in err.
 */
static int
geoip_verify(MMDB_s *m, const char *path, char *err, size_t errlen)
{
	struct { uint32_t node; uint16_t depth; } stack[2 * 130];
	MMDB_search_node_s	 node;
	MMDB_entry_data_list_s	*list;
	MMDB_entry_s		*ent;
	uint64_t		 rec, n = m->metadata.node_count, off;
	unsigned char		*seen, *deepest;
	size_t			 sp = 0;
	uint32_t		 at = 0;
	uint16_t		 depth;
	int			 side, merr = MMDB_SUCCESS;

	if (n == 0)
		return 0;
	seen = xcalloc(m->data_section_size / 8 + 1, 1);
	deepest = xcalloc(n, 1);	/* 1 + the deepest depth walked */
	stack[sp].node = 0;
	stack[sp++].depth = 0;
	while (sp > 0 && merr == MMDB_SUCCESS) {
		at = stack[--sp].node;
		depth = stack[sp].depth;
		if (deepest[at] > depth)
			continue;	/* walked as deep already */
		deepest[at] = (unsigned char)(depth + 1);
		if (depth >= m->depth) {
			merr = MMDB_CORRUPT_SEARCH_TREE_ERROR;
			break;
		}
		if ((merr = MMDB_read_node(m, at, &node)) != MMDB_SUCCESS)
			break;
		for (side = 0; side < 2 && merr == MMDB_SUCCESS; side++) {
			rec = side ? node.right_record : node.left_record;
			ent = side ? &node.right_record_entry :
			    &node.left_record_entry;
			if (rec < n) {
				stack[sp].node = (uint32_t)rec;
				stack[sp++].depth = depth + 1;
				continue;
			}
			if (rec == n)
				continue;	/* empty */
			if (rec < n + 16 || rec - n - 16 >=
			    m->data_section_size) {
				merr = MMDB_CORRUPT_SEARCH_TREE_ERROR;
				break;
			}
			off = rec - n - 16;
			if (seen[off / 8] & (1 << (off % 8)))
				continue;
			seen[off / 8] |= 1 << (off % 8);
			list = NULL;
			merr = MMDB_get_entry_data_list(ent, &list);
			MMDB_free_entry_data_list(list);
		}
	}
	free(seen);
	free(deepest);
	if (merr == MMDB_SUCCESS)
		return 0;
	(void)bsnprintf(err, errlen, "geoip: corrupt database %s: %s (search "
	    "tree node %u of %llu)", path, MMDB_strerror(merr), at,
	    (unsigned long long)n);
	return -1;
}

static int
geoip_open(struct an_geoip *g, const char *path, char *err, size_t errlen)
{
	struct geoip_db		*db;
	MMDB_lookup_result_s	 res;
	MMDB_entry_data_list_s	*list;
	size_t			 i;
	int			 status, gai, merr;

	if (g->ndb >= AN_GEOIP_DB_MAX) {
		(void)bsnprintf(err, errlen, "geoip: %s: more than %d "
		    "databases", path, AN_GEOIP_DB_MAX);
		return -1;
	}
	db = &g->db[g->ndb];
	memset(db, 0, sizeof(*db));
	status = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
	if (status != MMDB_SUCCESS) {
		/* libmaxminddb does not keep errno: ask once more */
		if ((status == MMDB_FILE_OPEN_ERROR ||
		    status == MMDB_IO_ERROR) && access(path, R_OK) == -1)
			(void)bsnprintf(err, errlen, "geoip: cannot open %s: "
			    "%s", path, strerror(errno));
		else
			(void)bsnprintf(err, errlen, "geoip: cannot open %s: "
			    "%s", path, MMDB_strerror(status));
		return -1;
	}
	for (i = 0; i < sizeof(geoip_probes) / sizeof(geoip_probes[0]); i++) {
		res = MMDB_lookup_string(&db->mmdb, geoip_probes[i], &gai,
		    &merr);
		if (gai != 0)
			fatalx("%s: bad probe %s", __func__, geoip_probes[i]);
		if (merr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
			continue;
		if (merr == MMDB_SUCCESS && res.found_entry) {
			list = NULL;
			merr = MMDB_get_entry_data_list(&res.entry, &list);
			MMDB_free_entry_data_list(list);
		}
		if (merr != MMDB_SUCCESS) {
			(void)bsnprintf(err, errlen, "geoip: corrupt database "
			    "%s: %s (probe %s)", path, MMDB_strerror(merr),
			    geoip_probes[i]);
			MMDB_close(&db->mmdb);
			return -1;
		}
	}
	if (geoip_verify(&db->mmdb, path, err, errlen) == -1) {
		MMDB_close(&db->mmdb);
		return -1;
	}
	db->path = xstrdup(path);
	g->ndb++;
	log_debug("geoip: open path=%s type=%s", path,
	    db->mmdb.metadata.database_type);
	return 0;
}

static int
geoip_filter(const struct dirent *de)
{
	size_t	 len = strlen(de->d_name);

	return de->d_name[0] != '.' && len > 5 &&
	    strcmp(de->d_name + len - 5, ".mmdb") == 0;
}

/* open every *.mmdb of dir (name order); a missing dir is fine */
static int
geoip_open_dir(struct an_geoip *g, const char *dir, char *err, size_t errlen)
{
	struct dirent	**names;
	char		  path[PATH_MAX];
	int		  i, n, rc = 0;

	if ((n = scandir(dir, &names, geoip_filter, alphasort)) == -1)
		return 0;
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			if (!bsnprintf(path, sizeof(path), "%s/%s", dir,
			    names[i]->d_name)) {
				(void)bsnprintf(err, errlen, "geoip: path too "
				    "long in %s", dir);
				rc = -1;
			} else if (geoip_open(g, path, err, errlen) == -1)
				rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static void
geoip_fini(void *state)
{
	struct an_geoip	*g = state;
	size_t		 i;

	if (g == NULL)
		return;
	for (i = 0; i < g->ndb; i++) {
		MMDB_close(&g->db[i].mmdb);
		free(g->db[i].path);
	}
	free(g);
}

/*
 * init: conf->geoip_db lists the files; each must open and pass the probe
 * lookups, else -1 with the file named in err. {} looks in AN_GEOIP_DIR
 * and in the spool's sibling "geoip" directory; finding nothing there is
 * a warning and every message is skipped.
 */
static int
geoip_init(const struct conf *conf, void **state, char *err, size_t errlen)
{
	struct an_geoip	*g;
	char		 sib[PATH_MAX], *slash;
	size_t		 i;

	g = xcalloc(1, sizeof(*g));
	*state = NULL;
	for (i = 0; i < conf->geoip_db.n; i++) {
		if (geoip_open(g, conf->geoip_db.v[i], err, errlen) == -1) {
			geoip_fini(g);
			return -1;
		}
	}
	if (conf->geoip_db.n == 0) {
		if (geoip_open_dir(g, AN_GEOIP_DIR, err, errlen) == -1) {
			geoip_fini(g);
			return -1;
		}
		sib[0] = '\0';
		if (conf->spool != NULL && strlcpy(sib, conf->spool,
		    sizeof(sib)) < sizeof(sib)) {
			while ((slash = strrchr(sib, '/')) != NULL &&
			    slash[1] == '\0' && slash != sib)
				*slash = '\0';
			if ((slash = strrchr(sib, '/')) == NULL)
				(void)strlcpy(sib, "geoip", sizeof(sib));
			else if (!bsnprintf(slash + 1,
			    sizeof(sib) - (slash + 1 - sib), "geoip"))
				sib[0] = '\0';
		}
		if (sib[0] != '\0' && strcmp(sib, AN_GEOIP_DIR) != 0 &&
		    geoip_open_dir(g, sib, err, errlen) == -1) {
			geoip_fini(g);
			return -1;
		}
		if (g->ndb == 0)
			log_warnx("geoip: no database in %s or %s "
			    "(scripts/fetch-geodb.sh); analyzer skipped",
			    AN_GEOIP_DIR, sib[0] != '\0' ? sib : "-");
	}
	*state = g;
	return 0;
}

static const char *
geoip_addr_of(const json_t *v)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_object(v))
		return json_string_value(json_object_get(v, "addr"));
	return NULL;
}

/* add raw with role; false once the cap is reached */
static bool
geoip_add(struct geoip_addr *as, size_t *n, const char *raw, int role)
{
	struct geoip_addr	 a;
	size_t			 i;

	if (!geoip_parse(raw, &a))
		return true;
	for (i = 0; i < *n; i++) {
		if (strcmp(as[i].text, a.text) == 0) {
			as[i].roles |= role;
			return true;
		}
	}
	if (*n >= AN_GEOIP_ADDRS_MAX)
		return false;
	a.roles = role;
	as[(*n)++] = a;
	return true;
}

static json_t *
geoip_top(json_t *addrs, const char *text)
{
	json_t	*rec;

	if (text == NULL || (rec = json_object_get(addrs, text)) == NULL)
		return NULL;
	rec = json_deep_copy(rec);
	json_object_set_new(rec, "addr", json_string(text));
	return rec;
}

static enum an_status
geoip_run(void *state, struct an_ctx *ctx, json_t **out)
{
	struct an_geoip		*g = state;
	struct geoip_addr	*as;
	const json_t		*orig, *hops, *hop;
	const char		*client = NULL, *origin = NULL;
	json_t			*res, *addrs, *dbs, *v;
	char			 ctext[INET6_ADDRSTRLEN] = "";
	char			 otext[INET6_ADDRSTRLEN] = "";
	struct geoip_addr	 tmp;
	size_t			 i, n = 0;
	bool			 room = true;

	*out = NULL;
	if (g == NULL || g->ndb == 0)
		return AN_SKIP;

	client = json_string_value(json_object_get(json_object_get(
	    ctx->envelope, "client"), "addr"));
	orig = ctx->results != NULL ?
	    json_object_get(ctx->results, "origin") : NULL;
	if (client == NULL && orig != NULL)
		client = geoip_addr_of(json_object_get(orig, "client"));
	if (orig != NULL)
		origin = geoip_addr_of(json_object_get(orig, "origin"));

	as = xcalloc(AN_GEOIP_ADDRS_MAX, sizeof(*as));
	room = geoip_add(as, &n, client, GEOIP_R_CLIENT);
	room = room && geoip_add(as, &n, origin, GEOIP_R_ORIGIN);
	hops = orig != NULL ? json_object_get(orig, "hops") : NULL;
	json_array_foreach(hops, i, hop) {
		if (!room)
			break;
		room = geoip_add(as, &n, json_string_value(
		    json_object_get(hop, "from_addr")), GEOIP_R_HOP);
	}
	if (n == 0) {
		free(as);
		return AN_SKIP;
	}
	if (client != NULL && geoip_parse(client, &tmp))
		(void)strlcpy(ctext, tmp.text, sizeof(ctext));
	if (origin != NULL && geoip_parse(origin, &tmp))
		(void)strlcpy(otext, tmp.text, sizeof(otext));

	res = json_object();
	addrs = json_object();
	for (i = 0; i < n; i++)
		json_object_set_new(addrs, as[i].text, geoip_record(g, &as[i]));
	free(as);
	json_object_set_new(res, "addrs", addrs);
	if ((v = geoip_top(addrs, ctext[0] != '\0' ? ctext : NULL)) != NULL)
		json_object_set_new(res, "client", v);
	if ((v = geoip_top(addrs, otext[0] != '\0' ? otext : NULL)) != NULL)
		json_object_set_new(res, "origin", v);
	if (!room)
		json_object_set_new(res, "truncated", json_true());
	dbs = json_array();
	for (i = 0; i < g->ndb; i++)
		json_array_append_new(dbs,
		    jsu_str(g->db[i].mmdb.metadata.database_type != NULL ?
		    g->db[i].mmdb.metadata.database_type : ""));
	json_object_set_new(res, "db", dbs);
	*out = res;
	return AN_OK;
}
