/*
 * resolver.h -- the one DNS resolver of relaytrap (MX, A/AAAA, PTR, TXT).
 * Asynchronous on a libevent event_base; see resolver.c for the contracts.
 */
#ifndef RT_RESOLVER_H
#define RT_RESOLVER_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct rsv;

#define RSV_NAME_MAX		253	/* RFC 1035 2.3.4, text form, no dot */
#define RSV_SERVERS_MAX		3	/* MAXNS of the system resolver */

/* Defaults for the zero fields of struct rsv_opts. */
#define RSV_TIMEOUT_MS		2000
#define RSV_ATTEMPTS		2
#define RSV_MAX_QUERIES		128
#define RSV_THREADS		4
#define RSV_CACHE_MAX		1024
#define RSV_TTL_MAX		3600
#define RSV_NEG_TTL		60

enum rsv_status {
	RSV_OK = 0,		/* at least one record (one MX host) */
	RSV_NXDOMAIN,		/* the name does not exist */
	RSV_NODATA,		/* the name exists, no record of that type */
	RSV_NULLMX,		/* rsv_mx: RFC 7505 null MX, no mail accepted */
	RSV_TEMPFAIL,		/* SERVFAIL, REFUSED, timeout, busy */
	RSV_ERROR,		/* permanent: FORMERR/NOTIMP answer */
	RSV_CANCELLED		/* rsv_free() ran before the answer */
};

struct rsv_opts {
	int		 timeout_ms;	/* per try (res_state: whole seconds) */
	int		 attempts;	/* deadline: timeout_ms * attempts */
	size_t		 max_queries;	/* lookups in flight; more: TEMPFAIL */
	int		 threads;	/* worker threads */
	size_t		 cache_max;	/* cached RRsets; 0 = default */
	int		 no_cache;	/* 1: never cache */
	uint32_t	 ttl_max;	/* cap on a positive TTL (seconds) */
	uint32_t	 neg_ttl;	/* NXDOMAIN/NODATA cached this long */
};

struct rsv_mxhost {
	const char	*host;		/* exchange, no trailing dot */
	int		 pref;
};

/*
 * What a callback receives; valid only during the callback. Only the
 * fields of the lookup's kind are set, the others are NULL/0.
 */
struct rsv_result {
	enum rsv_status	 status;
	const char	*name;		/* the name (or address) looked up */
	uint32_t	 ttl;		/* smallest TTL of the records used */
	size_t		 n;		/* entries in mx, addrs or strs */
	const struct rsv_mxhost *mx;	/* rsv_mx */
	int		 implicit_mx;	/* rsv_mx: mx[0] is the domain itself */
	const struct sockaddr_storage *addrs;	/* rsv_addrs, port 0 */
	const char *const *strs;	/* rsv_ptr names, rsv_txt strings */
};

typedef void (*rsv_cb)(const struct rsv_result *res, void *arg);

struct rsv	*rsv_new(struct event_base *base,
		    const char *const *servers, const struct rsv_opts *opts);
void		 rsv_free(struct rsv *r);
int		 rsv_mx(struct rsv *r, const char *domain, rsv_cb cb,
		    void *arg);
int		 rsv_addrs(struct rsv *r, const char *host, rsv_cb cb,
		    void *arg);
int		 rsv_ptr(struct rsv *r, const struct sockaddr *sa, rsv_cb cb,
		    void *arg);
int		 rsv_txt(struct rsv *r, const char *name, rsv_cb cb,
		    void *arg);
const char	*rsv_status_str(enum rsv_status st);

#endif
