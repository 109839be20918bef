/*
 * fwd_caps.h -- exact forwarding caps and the circuit breaker, with
 * counters in SQLite (e.g. SPOOL/forward.sqlite) so a restart resets
 * nothing. A cap of N allows N forwards in its window, never N+1.
 *
 * Windows are fixed UTC buckets: the global hour cap counts per clock
 * hour, every other cap per its window (default one UTC day), bucket =
 * floor(now / window). A reservation is one (message, recipient) the
 * caller decided to forward; retries of it are not charged again.
 */
#ifndef RT_FWD_CAPS_H
#define RT_FWD_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fwd_queue.h"		/* enum fwd_status, fwd_db_open */

#define FWD_CAP_UNLIMITED	(-1L)	/* a cap that never stops */
#define FWD_CAP_WINDOW		86400L	/* default window of per-* caps */

/* each limit: FWD_CAP_UNLIMITED, or the number allowed (0 = none) */
struct fwd_caps_conf {
	long	 per_hour;	/* all forwards, per UTC clock hour */
	long	 per_day;	/* all forwards, per UTC day */
	long	 per_client;	/* per client address */
	long	 per_net;	/* per client /24 (IPv4) or /48 (IPv6) */
	long	 per_asn;	/* per client ASN, when known */
	long	 per_domain;	/* per recipient domain */
	long	 per_dropbox;	/* per recipient address */
	long	 window;	/* seconds, per-* caps; 0 = FWD_CAP_WINDOW */
	long	 breaker_run;	/* consecutive permanent failures that
				 * trip the breaker; 0 = no breaker */
	long	 breaker_reset;	/* seconds until a tripped breaker closes
				 * again; 0 = only fwd_caps_breaker_reset */
};

/* what a forward is charged to */
struct fwd_subject {
	const char	*client;	/* client IP address text (required) */
	uint32_t	 asn;		/* 0 = unknown: no ASN cap */
	const char	*rcpt;		/* recipient address, local@domain */
	time_t		 now;
};

struct fwd_breaker {
	long	 run;		/* consecutive permanent failures so far */
	int64_t	 tripped;	/* time it tripped, 0 = closed */
};

struct fwd_caps;

struct fwd_caps	*fwd_caps_open(const char *path,
		    const struct fwd_caps_conf *conf, char *err, size_t errlen);
void		 fwd_caps_close(struct fwd_caps *caps);
void		 fwd_caps_conf_default(struct fwd_caps_conf *conf);
const char	*fwd_caps_check(struct fwd_caps *caps,
		    const struct fwd_subject *sub);
const char	*fwd_caps_reserve(struct fwd_caps *caps,
		    const struct fwd_subject *sub);
int		 fwd_caps_record(struct fwd_caps *caps, enum fwd_status st,
		    time_t now);
int		 fwd_caps_breaker(struct fwd_caps *caps, struct fwd_breaker *b);
int		 fwd_caps_breaker_reset(struct fwd_caps *caps);
long		 fwd_caps_count(struct fwd_caps *caps, const char *cap,
		    const struct fwd_subject *sub);

#endif
