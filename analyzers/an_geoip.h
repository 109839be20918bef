/*
 * an_geoip.h -- the GeoIP analyzer (issue 4): country, registered country,
 * ASN, AS organisation, ISP and organisation of the client, the origin and
 * every hop address, from one or more MaxMind DB (.mmdb) files through
 * libmaxminddb. Worker role only. docs/GEOIP.md describes the data.
 */
#ifndef RT_AN_GEOIP_H
#define RT_AN_GEOIP_H

#include <jansson.h>

#include "an.h"

/* where {} (geoip_db unset) looks for *.mmdb, besides SPOOL/../geoip */
#define AN_GEOIP_DIR		LOCALSTATEDIR "/lib/relaytrap/geoip"
#define AN_GEOIP_DB_MAX		16	/* databases loaded at once */
#define AN_GEOIP_ADDRS_MAX	64	/* addresses per message */
#define AN_GEOIP_STR_MAX	256	/* bytes kept of a database string */

extern const struct an_analyzer an_geoip;

json_t		*an_geoip_lookup(void *state, const char *addr);
const char	*an_geoip_reserved(const char *addr, const char **range);
size_t		 an_geoip_ndb(void *state);

#endif
