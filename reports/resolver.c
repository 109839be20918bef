/*
 * resolver.c -- the one DNS resolver of relaytrap: MX (RFC 5321 5.1
 * ordering, implicit and null MX), A+AAAA, PTR and TXT, asynchronous on
 * the caller's event_base, with deadlines, a cap on lookups in flight and
 * a small TTL-respecting cache. Run by the worker role (forwarder, later
 * SPF); never by the SMTP role, which it must not block.
 *
 * Design. libevent 2.1's evdns has no MX/TXT (no generic query) in its
 * API, so MX and TXT need the system resolver anyway: res_nquery() to
 * send (retries, server rotation, TCP fallback on truncation, random ids
 * and ports all come with it) and ns_initparse()/ns_parserr()/
 * ns_name_uncompress() to read the answer, so no wire parsing is written
 * here. res_nquery() blocks, so it runs in a small pool of worker threads
 * (each with its own res_state) that post finished jobs back to the loop
 * through a pipe. A/AAAA/PTR go the same way rather than through evdns:
 * one transport means one server list (resolv.conf, or the `resolver`
 * option written into each res_state), one mapping of outcomes
 * (NXDOMAIN vs no data vs temporary failure), and no second library whose
 * pending callbacks outlive rsv_free(). The cost is one thread per lookup
 * in progress, which the few forwards of a trap never notice.
 *
 * Threads touch only their job (name, type, result set) and the two job
 * lists under r->mtx; queries, the cache and every callback belong to the
 * loop thread. A query's deadline fires on the loop even while its thread
 * still waits for the server: the late answer is then dropped (but cached).
 *
 * Trust: answers come from the network. Names are bounded
 * (ns_name_uncompress, NS_MAXDNAME), A/AAAA lengths are checked, TXT
 * strings are walked within rdlength and records holding a NUL are
 * dropped. Callers still escape what they log.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "resolver.h"
#include "resolver_int.h"

#define RSV_ANS_MAX	65535		/* a TCP answer */

enum rsv_kind { RSV_K_MX, RSV_K_ADDRS, RSV_K_PTR, RSV_K_TXT };
enum rsv_jstate { RSV_J_QUEUED, RSV_J_RUNNING, RSV_J_DONE };

struct rsv_query;
struct rsv;

/* One worker thread and its resolver state, set up by rsv_new. */
struct rsv_thread {
	struct rsv		*r;
	pthread_t		 tid;
	struct __res_state	 res;
	int			 res_ok;
};

struct rsv_job {
	TAILQ_ENTRY(rsv_job)	 entry;
	struct rsv_query	*q;		/* NULL: orphaned, drop */
	int			 slot;
	int			 type;		/* ns_t_* */
	enum rsv_jstate		 state;
	char			 name[RSV_NAME_MAX + 1];
	struct rsv_set		 set;
};
TAILQ_HEAD(rsv_jobs, rsv_job);

struct rsv_query {
	TAILQ_ENTRY(rsv_query)	 entry;
	struct rsv		*r;
	enum rsv_kind		 kind;
	int			 implicit;	/* MX: second phase, A+AAAA */
	int			 done;
	int			 pending;
	enum rsv_status		 forced;	/* != RSV_OK: final status */
	char			 name[RSV_NAME_MAX + 1];
	char			 shown[RSV_NAME_MAX + 1];
	rsv_cb			 cb;
	void			*arg;
	struct event		*ev;		/* deadline, then delivery */
	struct rsv_job		*jobs[2];
	struct rsv_set		 sets[2];
};
TAILQ_HEAD(rsv_queries, rsv_query);

struct rsv_centry {
	TAILQ_ENTRY(rsv_centry)	 entry;
	int			 type;
	char			 name[RSV_NAME_MAX + 1];
	time_t			 expires;
	struct rsv_set		 set;
};
TAILQ_HEAD(rsv_cache, rsv_centry);

struct rsv {
	struct event_base	*base;
	struct rsv_opts		 o;
	struct sockaddr_storage	 servers[RSV_SERVERS_MAX];
	int			 nservers;

	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct rsv_jobs		 todo;
	struct rsv_jobs		 done;
	int			 stop;
	struct rsv_thread	*threads;
	int			 nthreads;	/* started */
	int			 pipefd[2];
	struct event		*pipe_ev;

	struct rsv_queries	 queries;
	size_t			 nqueries;
	struct rsv_cache	 cache;
	size_t			 ncache;
};

static int	 rsv_res_init(struct rsv *, struct __res_state *);
static void	*rsv_worker(void *);
static void	 rsv_job_run(struct rsv *, struct __res_state *, int,
		    struct rsv_job *, unsigned char *);
static void	 rsv_pipe_cb(evutil_socket_t, short, void *);
static void	 rsv_query_cb(evutil_socket_t, short, void *);
static struct rsv_query *rsv_query_new(struct rsv *, enum rsv_kind,
		    const char *, rsv_cb, void *);
static void	 rsv_query_start(struct rsv_query *);
static void	 rsv_query_step(struct rsv_query *);
static void	 rsv_query_finish(struct rsv_query *);
static void	 rsv_query_orphan(struct rsv_query *);
static void	 rsv_query_free(struct rsv_query *);
static void	 rsv_sub(struct rsv_query *, int, int);
static void	 rsv_set_copy(struct rsv_set *, const struct rsv_set *);
static const struct rsv_set *rsv_cache_get(struct rsv *, int, const char *);
static void	 rsv_cache_put(struct rsv *, int, const char *,
		    const struct rsv_set *);
static bool	 rsv_name_norm(const char *, char *, size_t);
static time_t	 rsv_now(void);

/*
 * rsv_new -- a resolver on <base>. <servers> is NULL (the system's
 * resolv.conf) or a NULL-terminated list of at most RSV_SERVERS_MAX
 * numeric "ADDR:PORT" / "[ADDR6]:PORT" strings. <opts> may be NULL; its
 * zero fields take the RSV_* defaults. Reads resolv.conf now (the caller
 * may chroot afterwards) and starts the worker threads, so call it after
 * any fork (daemon, privsep).
 * Returns NULL with a logged reason on a bad server or a failed system
 * call.
 */
struct rsv *
rsv_new(struct event_base *base, const char *const *servers,
    const struct rsv_opts *opts)
{
	struct rsv	*r;
	const char	*errstr;
	socklen_t	 sslen;
	sigset_t	 all, old;
	int		 i, flags;

	r = xcalloc(1, sizeof(*r));
	r->base = base;
	r->pipefd[0] = r->pipefd[1] = -1;
	if (opts != NULL)
		r->o = *opts;
	if (r->o.timeout_ms <= 0)
		r->o.timeout_ms = RSV_TIMEOUT_MS;
	if (r->o.attempts <= 0)
		r->o.attempts = RSV_ATTEMPTS;
	if (r->o.max_queries == 0)
		r->o.max_queries = RSV_MAX_QUERIES;
	if (r->o.threads <= 0)
		r->o.threads = RSV_THREADS;
	if (r->o.cache_max == 0)
		r->o.cache_max = RSV_CACHE_MAX;
	if (r->o.ttl_max == 0)
		r->o.ttl_max = RSV_TTL_MAX;
	if (r->o.neg_ttl == 0)
		r->o.neg_ttl = RSV_NEG_TTL;
	TAILQ_INIT(&r->todo);
	TAILQ_INIT(&r->done);
	TAILQ_INIT(&r->queries);
	TAILQ_INIT(&r->cache);
	pthread_mutex_init(&r->mtx, NULL);
	pthread_cond_init(&r->cond, NULL);

	for (i = 0; servers != NULL && servers[i] != NULL; i++) {
		if (i == RSV_SERVERS_MAX) {
			log_warnx("resolver: more than %d servers",
			    RSV_SERVERS_MAX);
			goto fail;
		}
		if (addr_parse_hostport(servers[i], &r->servers[i], &sslen,
		    &errstr) == -1) {
			log_warnx("resolver: server %s: %s", servers[i],
			    errstr);
			goto fail;
		}
		r->nservers++;
	}

	if (pipe(r->pipefd) == -1) {
		log_warn("resolver: pipe");
		goto fail;
	}
	for (i = 0; i < 2; i++) {
		flags = fcntl(r->pipefd[i], F_GETFL);
		if (flags == -1 || fcntl(r->pipefd[i], F_SETFL,
		    flags | O_NONBLOCK) == -1 ||
		    fcntl(r->pipefd[i], F_SETFD, FD_CLOEXEC) == -1) {
			log_warn("resolver: fcntl");
			goto fail;
		}
	}
	r->pipe_ev = event_new(base, r->pipefd[0], EV_READ | EV_PERSIST,
	    rsv_pipe_cb, r);
	if (r->pipe_ev == NULL || event_add(r->pipe_ev, NULL) == -1) {
		log_warnx("resolver: event_new");
		goto fail;
	}

	/*
	 * resolv.conf is read here, not in the threads, so that the caller
	 * may chroot as soon as we return. Threads take no signals: those
	 * are the event loop's.
	 */
	r->threads = xcalloc(r->o.threads, sizeof(*r->threads));
	for (i = 0; i < r->o.threads; i++) {
		r->threads[i].r = r;
		r->threads[i].res_ok = rsv_res_init(r, &r->threads[i].res) == 0;
		if (!r->threads[i].res_ok)
			log_warnx("resolver: res_ninit failed");
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < r->o.threads; i++) {
		if ((errno = pthread_create(&r->threads[i].tid, NULL,
		    rsv_worker, &r->threads[i])) != 0)
			break;
		r->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r->nthreads < r->o.threads) {
		log_warn("resolver: pthread_create");
		goto fail;
	}
	return r;

 fail:
	rsv_free(r);
	return NULL;
}

/*
 * rsv_free -- cancel every lookup (each callback runs once, now, with
 * RSV_CANCELLED; it must not call rsv_* on <r>), stop and join the
 * threads (a thread inside res_nquery finishes its try first, so this may
 * wait up to about timeout_ms * attempts) and free everything. May be
 * called from inside a result callback (of that lookup or another).
 * NULL is a no-op.
 */
void
rsv_free(struct rsv *r)
{
	struct rsv_query	*q;
	struct rsv_result	 res;
	struct rsv_job		*job;
	struct rsv_centry	*ce;
	int			 i;

	if (r == NULL)
		return;
	while ((q = TAILQ_FIRST(&r->queries)) != NULL) {
		rsv_query_orphan(q);
		memset(&res, 0, sizeof(res));
		res.status = RSV_CANCELLED;
		res.name = q->shown;
		TAILQ_REMOVE(&r->queries, q, entry);
		q->cb(&res, q->arg);
		rsv_query_free(q);
	}

	pthread_mutex_lock(&r->mtx);
	r->stop = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mtx);
	for (i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i].tid, NULL);
	for (i = 0; r->threads != NULL && i < r->o.threads; i++)
		if (r->threads[i].res_ok)
			res_nclose(&r->threads[i].res);
	free(r->threads);

	/* Threads are gone: the lists are ours. */
	while ((job = TAILQ_FIRST(&r->todo)) != NULL) {
		TAILQ_REMOVE(&r->todo, job, entry);
		rsv_set_clear(&job->set);
		free(job);
	}
	while ((job = TAILQ_FIRST(&r->done)) != NULL) {
		TAILQ_REMOVE(&r->done, job, entry);
		rsv_set_clear(&job->set);
		free(job);
	}
	while ((ce = TAILQ_FIRST(&r->cache)) != NULL) {
		TAILQ_REMOVE(&r->cache, ce, entry);
		rsv_set_clear(&ce->set);
		free(ce);
	}
	if (r->pipe_ev != NULL)
		event_free(r->pipe_ev);
	for (i = 0; i < 2; i++)
		if (r->pipefd[i] != -1)
			close(r->pipefd[i]);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mtx);
	free(r);
}

/*
 * rsv_mx -- the mail exchangers of <domain>, for delivery (RFC 5321 5.1).
 * The callback gets, with RSV_OK, res->mx[0..n-1] sorted by preference,
 * equal preferences in random order, "." targets dropped; when the
 * domain has no MX but has A/AAAA, one host, the domain itself with
 * preference 0, and res->implicit_mx = 1. RSV_NULLMX: the domain's only
 * MX is "." (RFC 7505), deliver nothing. RSV_NODATA: neither MX nor
 * A/AAAA. Other statuses as in enum rsv_status. Addresses of the hosts
 * are looked up by the caller with rsv_addrs(). Host names are as the
 * DNS sent them (presentation form, odd bytes escaped); rsv_addrs()
 * refuses (-1) those that are not host names.
 * Returns 0 and the callback runs exactly once, later, from the loop
 * (never inside this call); or -1 when <domain> is not a host name, and
 * the callback never runs. A callback may start new lookups on <r> or
 * rsv_free(r). The same holds for rsv_addrs, rsv_ptr and rsv_txt.
 */
int
rsv_mx(struct rsv *r, const char *domain, rsv_cb cb, void *arg)
{
	struct rsv_query *q;

	if ((q = rsv_query_new(r, RSV_K_MX, domain, cb, arg)) == NULL)
		return -1;
	rsv_query_start(q);
	return 0;
}

/*
 * rsv_addrs -- the A and AAAA records of <host>, asked in parallel. With
 * RSV_OK, res->addrs[0..n-1] holds the IPv4 addresses, then the IPv6
 * ones (port 0); RSV_OK as soon as one family has an answer. Otherwise a
 * temporary failure of either wins, then NXDOMAIN, then RSV_NODATA.
 * Returns 0 (callback once, later, from the loop) or -1 (bad name, no
 * callback).
 */
int
rsv_addrs(struct rsv *r, const char *host, rsv_cb cb, void *arg)
{
	struct rsv_query *q;

	if ((q = rsv_query_new(r, RSV_K_ADDRS, host, cb, arg)) == NULL)
		return -1;
	rsv_query_start(q);
	return 0;
}

/*
 * rsv_ptr -- the PTR names of the address in <sa> (AF_INET or AF_INET6;
 * a v4-mapped IPv6 address is asked as IPv4). With RSV_OK,
 * res->strs[0..n-1] are the names without trailing dot; res->name is
 * the address as text. Returns 0 (callback once, later) or -1 (not an
 * IP address, no callback).
 */
int
rsv_ptr(struct rsv *r, const struct sockaddr *sa, rsv_cb cb, void *arg)
{
	struct rsv_query	*q;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	const unsigned char	*p;
	char			 name[RSV_NAME_MAX + 1], shown[ADDR_STRLEN];
	size_t			 off;
	int			 i;

	memset(&ss, 0, sizeof(ss));
	if (sa->sa_family == AF_INET) {
		memcpy(&ss, sa, sizeof(struct sockaddr_in));
		sslen = sizeof(struct sockaddr_in);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&ss, sa, sizeof(struct sockaddr_in6));
		sslen = sizeof(struct sockaddr_in6);
		addr_unmap(&ss, &sslen);
	} else
		return -1;

	if (ss.ss_family == AF_INET) {
		p = (const unsigned char *)
		    &((struct sockaddr_in *)&ss)->sin_addr;
		if (!bsnprintf(name, sizeof(name), "%u.%u.%u.%u.in-addr.arpa",
		    p[3], p[2], p[1], p[0]))
			return -1;
	} else {
		p = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
		off = 0;
		for (i = 15; i >= 0; i--) {
			if (!bsnprintf(name + off, sizeof(name) - off,
			    "%x.%x.", p[i] & 0xf, p[i] >> 4))
				return -1;
			off += 4;
		}
		if (strlcat(name, "ip6.arpa", sizeof(name)) >= sizeof(name))
			return -1;
	}
	if ((q = rsv_query_new(r, RSV_K_PTR, name, cb, arg)) == NULL)
		return -1;
	if (addr_ntop((struct sockaddr *)&ss, shown, sizeof(shown)) != NULL)
		strlcpy(q->shown, shown, sizeof(q->shown));
	rsv_query_start(q);
	return 0;
}

/*
 * rsv_txt -- the TXT records of <name> (for SPF, RFC 7208 3.3: the
 * character-strings of one record are concatenated). With RSV_OK,
 * res->strs[0..n-1] is one string per record, in answer order; records
 * containing a NUL byte are dropped. Returns 0 (callback once, later) or
 * -1 (bad name, no callback).
 */
int
rsv_txt(struct rsv *r, const char *name, rsv_cb cb, void *arg)
{
	struct rsv_query *q;

	if ((q = rsv_query_new(r, RSV_K_TXT, name, cb, arg)) == NULL)
		return -1;
	rsv_query_start(q);
	return 0;
}

/*
 * rsv_status_str -- a short fixed name of <st> for logs ("ok",
 * "nxdomain", "nodata", "nullmx", "tempfail", "error", "cancelled").
 */
const char *
rsv_status_str(enum rsv_status st)
{
	switch (st) {
	case RSV_OK:
		return "ok";
	case RSV_NXDOMAIN:
		return "nxdomain";
	case RSV_NODATA:
		return "nodata";
	case RSV_NULLMX:
		return "nullmx";
	case RSV_TEMPFAIL:
		return "tempfail";
	case RSV_ERROR:
		return "error";
	case RSV_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

/* Loop side: queries. */

static struct rsv_query *
rsv_query_new(struct rsv *r, enum rsv_kind kind, const char *name,
    rsv_cb cb, void *arg)
{
	struct rsv_query	*q;
	struct timeval		 tv;
	long			 ms;

	q = xcalloc(1, sizeof(*q));
	if (!rsv_name_norm(name, q->name, sizeof(q->name))) {
		free(q);
		return NULL;
	}
	strlcpy(q->shown, q->name, sizeof(q->shown));
	q->r = r;
	q->kind = kind;
	q->cb = cb;
	q->arg = arg;
	if ((q->ev = event_new(r->base, -1, 0, rsv_query_cb, q)) == NULL)
		fatalx("%s: event_new", __func__);
	TAILQ_INSERT_TAIL(&r->queries, q, entry);
	if (r->nqueries >= r->o.max_queries) {
		log_warnx("resolver: %zu lookups in flight, name=%s refused",
		    r->nqueries, q->name);
		q->forced = RSV_TEMPFAIL;
		return q;
	}
	r->nqueries++;
	/*
	 * One deadline for the whole lookup, both MX phases included: the
	 * forwarder must learn "try later" in bounded time even while a
	 * thread is still stuck in res_nquery.
	 */
	ms = (long)r->o.timeout_ms * r->o.attempts;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(q->ev, &tv);
	return q;
}

static void
rsv_query_start(struct rsv_query *q)
{
	if (q->forced != RSV_OK) {
		rsv_query_finish(q);
		return;
	}
	switch (q->kind) {
	case RSV_K_MX:
		rsv_sub(q, 0, ns_t_mx);
		break;
	case RSV_K_ADDRS:
		rsv_sub(q, 0, ns_t_a);
		rsv_sub(q, 1, ns_t_aaaa);
		break;
	case RSV_K_PTR:
		rsv_sub(q, 0, ns_t_ptr);
		break;
	case RSV_K_TXT:
		rsv_sub(q, 0, ns_t_txt);
		break;
	}
	if (q->pending == 0)
		rsv_query_step(q);
}

/* Ask (<type>, q->name) for slot <slot>: from the cache or a thread. */
static void
rsv_sub(struct rsv_query *q, int slot, int type)
{
	struct rsv		*r = q->r;
	const struct rsv_set	*cached;
	struct rsv_job		*job;

	if ((cached = rsv_cache_get(r, type, q->name)) != NULL) {
		rsv_set_copy(&q->sets[slot], cached);
		return;
	}
	job = xcalloc(1, sizeof(*job));
	job->q = q;
	job->slot = slot;
	job->type = type;
	strlcpy(job->name, q->name, sizeof(job->name));
	q->jobs[slot] = job;
	q->pending++;
	pthread_mutex_lock(&r->mtx);
	job->state = RSV_J_QUEUED;
	TAILQ_INSERT_TAIL(&r->todo, job, entry);
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mtx);
}

/* Every sub-lookup of the current phase is answered. */
static void
rsv_query_step(struct rsv_query *q)
{
	if (q->kind == RSV_K_MX && !q->implicit &&
	    q->sets[0].status == RSV_NODATA) {
		/* RFC 5321 5.1: no MX, the domain itself is the host. */
		rsv_set_clear(&q->sets[0]);
		q->implicit = 1;
		rsv_sub(q, 0, ns_t_a);
		rsv_sub(q, 1, ns_t_aaaa);
		if (q->pending == 0)
			rsv_query_step(q);
		return;
	}
	rsv_query_finish(q);
}

/* Deliver from the loop, never from inside the caller's rsv_* call. */
static void
rsv_query_finish(struct rsv_query *q)
{
	q->done = 1;
	event_del(q->ev);
	event_active(q->ev, EV_TIMEOUT, 1);
}

/* Detach <q> from its threads' jobs; their answers will be dropped. */
static void
rsv_query_orphan(struct rsv_query *q)
{
	struct rsv	*r = q->r;
	struct rsv_job	*job;
	int		 i;

	pthread_mutex_lock(&r->mtx);
	for (i = 0; i < 2; i++) {
		if ((job = q->jobs[i]) == NULL)
			continue;
		q->jobs[i] = NULL;
		if (job->state == RSV_J_QUEUED) {
			TAILQ_REMOVE(&r->todo, job, entry);
			free(job);
		} else
			job->q = NULL;
	}
	pthread_mutex_unlock(&r->mtx);
	q->pending = 0;
}

/* Free <q>, already off r->queries; touches nothing of r (it may be gone). */
static void
rsv_query_free(struct rsv_query *q)
{
	event_free(q->ev);
	rsv_set_clear(&q->sets[0]);
	rsv_set_clear(&q->sets[1]);
	free(q);
}

static int
rsv_mx_cmp(const void *a, const void *b)
{
	const struct rsv_mxhost *x = a, *y = b;

	return (x->pref > y->pref) - (x->pref < y->pref);
}

/* Fold the answers of <q> into <res>; storage in the caller's arrays. */
static void
rsv_query_result(struct rsv_query *q, struct rsv_result *res,
    struct rsv_mxhost **mxp, struct sockaddr_storage **ssp,
    const char ***strsp)
{
	struct rsv_set	*s0 = &q->sets[0], *s1 = &q->sets[1];
	size_t		 i, j, k, n;
	uint32_t	 ttl;
	struct rsv_mxhost tmp;

	memset(res, 0, sizeof(res[0]));
	res->name = q->shown;
	if (q->forced != RSV_OK) {
		res->status = q->forced;
		return;
	}
	if (q->kind == RSV_K_ADDRS || q->implicit) {
		if (s0->status == RSV_OK || s1->status == RSV_OK) {
			res->status = RSV_OK;
			ttl = UINT32_MAX;
			n = 0;
			*ssp = xreallocarray(NULL, s0->n + s1->n + 1,
			    sizeof(**ssp));
			for (i = 0; i < 2; i++) {
				if (q->sets[i].status != RSV_OK)
					continue;
				if (q->sets[i].ttl < ttl)
					ttl = q->sets[i].ttl;
				for (j = 0; j < q->sets[i].n; j++)
					(*ssp)[n++] = q->sets[i].rr[j].ss;
			}
			res->ttl = ttl;
			if (q->implicit) {
				*mxp = xcalloc(1, sizeof(**mxp));
				(*mxp)[0].host = q->name;
				res->mx = *mxp;
				res->n = 1;
				res->implicit_mx = 1;
			} else {
				res->addrs = *ssp;
				res->n = n;
			}
		} else if (s0->status == RSV_TEMPFAIL ||
		    s1->status == RSV_TEMPFAIL)
			res->status = RSV_TEMPFAIL;
		else if (s0->status == RSV_ERROR || s1->status == RSV_ERROR)
			res->status = RSV_ERROR;
		else if (s0->status == RSV_NXDOMAIN ||
		    s1->status == RSV_NXDOMAIN)
			res->status = RSV_NXDOMAIN;
		else
			res->status = RSV_NODATA;
		return;
	}

	res->status = s0->status;
	res->ttl = s0->ttl;
	if (s0->status != RSV_OK)
		return;
	if (q->kind == RSV_K_MX) {
		*mxp = xreallocarray(NULL, s0->n + 1, sizeof(**mxp));
		for (i = n = 0; i < s0->n; i++) {
			if (s0->rr[i].str[0] == '\0')
				continue;	/* "." among real MX */
			(*mxp)[n].host = s0->rr[i].str;
			(*mxp)[n++].pref = s0->rr[i].pref;
		}
		if (n == 0) {
			res->status = RSV_NULLMX;
			return;
		}
		qsort(*mxp, n, sizeof(**mxp), rsv_mx_cmp);
		/* RFC 5321 5.1: shuffle each run of equal preference. */
		for (i = 0; i < n; i = j) {
			for (j = i + 1; j < n && (*mxp)[j].pref ==
			    (*mxp)[i].pref; j++)
				;
			for (k = j - 1; k > i; k--) {
				size_t m = i + arc4random_uniform(k - i + 1);

				tmp = (*mxp)[k];
				(*mxp)[k] = (*mxp)[m];
				(*mxp)[m] = tmp;
			}
		}
		res->mx = *mxp;
		res->n = n;
		return;
	}
	*strsp = xreallocarray(NULL, s0->n + 1, sizeof(**strsp));
	for (i = 0; i < s0->n; i++)
		(*strsp)[i] = s0->rr[i].str;
	res->strs = *strsp;
	res->n = s0->n;
}

/* The deadline passed, or the query is done and is delivered now. */
static void
rsv_query_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rsv_query	*q = arg;
	struct rsv		*r = q->r;
	struct rsv_result	 res;
	struct rsv_mxhost	*mx = NULL;
	struct sockaddr_storage	*ss = NULL;
	const char		**strs = NULL;

	if (!q->done) {
		log_info("resolver: name=%s timeout after %d ms", q->name,
		    r->o.timeout_ms * r->o.attempts);
		rsv_query_orphan(q);
		q->forced = RSV_TEMPFAIL;
		r->nqueries--;
	} else if (q->forced == RSV_OK)
		r->nqueries--;
	rsv_query_result(q, &res, &mx, &ss, &strs);
	/* Off the list first: the callback may rsv_free(r). */
	TAILQ_REMOVE(&r->queries, q, entry);
	q->cb(&res, q->arg);
	free(mx);
	free(ss);
	free(strs);
	rsv_query_free(q);
}

/* Finished jobs come back from the threads. */
static void
rsv_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rsv		*r = arg;
	struct rsv_jobs		 done;
	struct rsv_job		*job;
	struct rsv_query	*q;
	char			 drain[64];

	while (read(fd, drain, sizeof(drain)) > 0)
		;
	TAILQ_INIT(&done);
	pthread_mutex_lock(&r->mtx);
	TAILQ_CONCAT(&done, &r->done, entry);
	pthread_mutex_unlock(&r->mtx);

	while ((job = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, job, entry);
		rsv_cache_put(r, job->type, job->name, &job->set);
		if ((q = job->q) != NULL) {
			q->jobs[job->slot] = NULL;
			q->sets[job->slot] = job->set;	/* moves */
			memset(&job->set, 0, sizeof(job->set));
			if (--q->pending == 0)
				rsv_query_step(q);
		}
		rsv_set_clear(&job->set);
		free(job);
	}
}

/* Thread side. */

/*
 * A res_state per thread, from resolv.conf, with the configured servers
 * written over its list. IPv6 servers go where glibc's own res_ninit
 * puts them (nsaddr_list[i].sin_family = 0, _u._ext.nsaddrs[i] a
 * malloc'd sockaddr_in6 that res_nclose frees).
 */
static int
rsv_res_init(struct rsv *r, struct __res_state *res)
{
	struct sockaddr_in6	*sin6;
	int			 i;

	memset(res, 0, sizeof(*res));
	if (res_ninit(res) == -1)
		return -1;
	res->retrans = (r->o.timeout_ms + 999) / 1000;
	res->retry = r->o.attempts;
	res->options &= ~(RES_DNSRCH | RES_DEFNAMES);
	if (r->nservers == 0)
		return 0;
	for (i = 0; i < MAXNS; i++) {
		free(res->_u._ext.nsaddrs[i]);
		res->_u._ext.nsaddrs[i] = NULL;
	}
	for (i = 0; i < r->nservers; i++) {
		if (r->servers[i].ss_family == AF_INET)
			memcpy(&res->nsaddr_list[i], &r->servers[i],
			    sizeof(res->nsaddr_list[i]));
		else {
			if ((sin6 = malloc(sizeof(*sin6))) == NULL) {
				res_nclose(res);
				return -1;
			}
			memcpy(sin6, &r->servers[i], sizeof(*sin6));
			memset(&res->nsaddr_list[i], 0,
			    sizeof(res->nsaddr_list[i]));
			res->nsaddr_list[i].sin_family = 0;
			res->_u._ext.nsaddrs[i] = sin6;
		}
		res->_u._ext.nssocks[i] = -1;
	}
	res->nscount = r->nservers;
	return 0;
}

static void *
rsv_worker(void *arg)
{
	struct rsv_thread	*t = arg;
	struct rsv		*r = t->r;
	struct rsv_job		*job;
	unsigned char		*ans;

	ans = xmalloc(RSV_ANS_MAX);
	for (;;) {
		pthread_mutex_lock(&r->mtx);
		while (!r->stop && TAILQ_EMPTY(&r->todo))
			pthread_cond_wait(&r->cond, &r->mtx);
		if (r->stop) {
			pthread_mutex_unlock(&r->mtx);
			break;
		}
		job = TAILQ_FIRST(&r->todo);
		TAILQ_REMOVE(&r->todo, job, entry);
		job->state = RSV_J_RUNNING;
		pthread_mutex_unlock(&r->mtx);

		rsv_job_run(r, &t->res, t->res_ok, job, ans);

		pthread_mutex_lock(&r->mtx);
		job->state = RSV_J_DONE;
		TAILQ_INSERT_TAIL(&r->done, job, entry);
		pthread_mutex_unlock(&r->mtx);
		/* A full pipe already has a wake-up in it. */
		(void)write(r->pipefd[1], "", 1);
	}
	free(ans);
	return NULL;
}

/* One character-string run of a TXT rdata, concatenated; NULL if bad. */
static char *
rsv_txt_join(const unsigned char *p, size_t len)
{
	char	*s;
	size_t	 i = 0, n = 0, l;

	s = xmalloc(len + 1);
	while (i < len) {
		l = p[i++];
		if (l > len - i || memchr(p + i, '\0', l) != NULL) {
			free(s);
			return NULL;
		}
		memcpy(s + n, p + i, l);
		n += l;
		i += l;
	}
	s[n] = '\0';
	return s;
}

static void
rsv_job_run(struct rsv *r, struct __res_state *res, int ok,
    struct rsv_job *job, unsigned char *ans)
{
	struct rsv_set		*set = &job->set;
	int			 len;

	memset(set, 0, sizeof(*set));
	if (!ok) {
		set->status = RSV_TEMPFAIL;
		return;
	}
	len = res_nquery(res, job->name, ns_c_in, job->type, ans,
	    RSV_ANS_MAX);
	if (len < 0) {
		switch (res->res_h_errno) {
		case HOST_NOT_FOUND:
			set->status = RSV_NXDOMAIN;
			break;
		case NO_DATA:
			set->status = RSV_NODATA;
			break;
		case NO_RECOVERY:
			set->status = RSV_ERROR;
			break;
		default:	/* TRY_AGAIN, NETDB_INTERNAL (no server) */
			set->status = RSV_TEMPFAIL;
			break;
		}
		set->ttl = r->o.neg_ttl;
		return;
	}
	if (len > RSV_ANS_MAX)	/* truncated at our buffer */
		len = RSV_ANS_MAX;
	rsv_answer_parse(ans, len, job->type, r->o.neg_ttl, set);
}

/*
 * rsv_answer_parse -- read the answer section of the DNS message
 * ans[0..len) into <set> (overwritten): the records of class IN and of
 * <type> (ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr, ns_t_txt), in answer
 * order; others (a CNAME chain) are skipped, and so are A/AAAA of the
 * wrong length, names that do not uncompress and TXT holding a NUL. An
 * MX "." is kept as the empty string. RSV_OK with set->ttl the smallest
 * TTL when a record was kept; RSV_NODATA with ttl <neg_ttl> when none
 * was; RSV_TEMPFAIL (n == 0) when the message does not parse. Runs in a
 * worker thread; free the set with rsv_set_clear().
 */
void
rsv_answer_parse(const unsigned char *ans, int len, int type,
    uint32_t neg_ttl, struct rsv_set *set)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	ns_msg			 msg;
	ns_rr			 rr;
	const unsigned char	*rd;
	char			 name[NS_MAXDNAME];
	int			 i, count, rdlen;
	struct rsv_rr		*e;

	memset(set, 0, sizeof(*set));
	if (ns_initparse(ans, len, &msg) == -1) {
		set->status = RSV_TEMPFAIL;
		return;
	}
	count = ns_msg_count(msg, ns_s_an);
	set->rr = xcalloc(count > 0 ? count : 1, sizeof(*set->rr));
	set->ttl = UINT32_MAX;
	for (i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			break;
		if (ns_rr_class(rr) != ns_c_in ||
		    (int)ns_rr_type(rr) != type)
			continue;	/* CNAME chain, other junk */
		rd = ns_rr_rdata(rr);
		rdlen = ns_rr_rdlen(rr);
		e = &set->rr[set->n];
		switch (type) {
		case ns_t_a:
			if (rdlen != 4)
				continue;
			sin = (struct sockaddr_in *)&e->ss;
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, rd, 4);
			break;
		case ns_t_aaaa:
			if (rdlen != 16)
				continue;
			sin6 = (struct sockaddr_in6 *)&e->ss;
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, rd, 16);
			break;
		case ns_t_mx:
			if (rdlen < 3 || ns_name_uncompress(ns_msg_base(msg),
			    ns_msg_end(msg), rd + 2, name, sizeof(name)) == -1)
				continue;
			e->pref = ns_get16(rd);
			/* "." is the root: the empty string here */
			e->str = xstrdup(strcmp(name, ".") == 0 ? "" : name);
			break;
		case ns_t_ptr:
			if (ns_name_uncompress(ns_msg_base(msg),
			    ns_msg_end(msg), rd, name, sizeof(name)) == -1)
				continue;
			e->str = xstrdup(name);
			break;
		case ns_t_txt:
			if ((e->str = rsv_txt_join(rd, rdlen)) == NULL)
				continue;
			break;
		}
		if (ns_rr_ttl(rr) < set->ttl)
			set->ttl = ns_rr_ttl(rr);
		set->n++;
	}
	if (set->n == 0) {
		/* Only records we cannot use: the same as none. */
		set->status = RSV_NODATA;
		set->ttl = neg_ttl;
	} else
		set->status = RSV_OK;
}

/* Sets and the cache (loop thread only). */

/*
 * rsv_set_clear -- free the records of <s> and zero it; a zeroed set is
 * a no-op.
 */
void
rsv_set_clear(struct rsv_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->rr[i].str);
	free(s->rr);
	memset(s, 0, sizeof(*s));
}

static void
rsv_set_copy(struct rsv_set *dst, const struct rsv_set *src)
{
	size_t i;

	*dst = *src;
	dst->rr = xcalloc(src->n + 1, sizeof(*dst->rr));
	for (i = 0; i < src->n; i++) {
		dst->rr[i] = src->rr[i];
		if (src->rr[i].str != NULL)
			dst->rr[i].str = xstrdup(src->rr[i].str);
	}
}

static const struct rsv_set *
rsv_cache_get(struct rsv *r, int type, const char *name)
{
	struct rsv_centry	*ce;
	time_t			 now = rsv_now();

	TAILQ_FOREACH(ce, &r->cache, entry) {
		if (ce->type != type || strcmp(ce->name, name) != 0)
			continue;
		if (ce->expires <= now) {
			TAILQ_REMOVE(&r->cache, ce, entry);
			rsv_set_clear(&ce->set);
			free(ce);
			r->ncache--;
			return NULL;
		}
		/* most recently used first: the tail is evicted */
		TAILQ_REMOVE(&r->cache, ce, entry);
		TAILQ_INSERT_HEAD(&r->cache, ce, entry);
		return &ce->set;
	}
	return NULL;
}

static void
rsv_cache_put(struct rsv *r, int type, const char *name,
    const struct rsv_set *set)
{
	struct rsv_centry	*ce;
	uint32_t		 ttl = set->ttl;

	if (r->o.no_cache || (set->status != RSV_OK &&
	    set->status != RSV_NXDOMAIN && set->status != RSV_NODATA))
		return;
	if (set->status != RSV_OK && ttl > r->o.neg_ttl)
		ttl = r->o.neg_ttl;
	if (ttl > r->o.ttl_max)
		ttl = r->o.ttl_max;
	if (ttl == 0)
		return;
	TAILQ_FOREACH(ce, &r->cache, entry)
		if (ce->type == type && strcmp(ce->name, name) == 0)
			break;
	if (ce != NULL) {
		TAILQ_REMOVE(&r->cache, ce, entry);
		rsv_set_clear(&ce->set);
	} else if (r->ncache >= r->o.cache_max) {
		ce = TAILQ_LAST(&r->cache, rsv_cache);
		TAILQ_REMOVE(&r->cache, ce, entry);
		rsv_set_clear(&ce->set);
	} else {
		ce = xcalloc(1, sizeof(*ce));
		r->ncache++;
	}
	ce->type = type;
	strlcpy(ce->name, name, sizeof(ce->name));
	ce->expires = rsv_now() + ttl;
	rsv_set_copy(&ce->set, set);
	TAILQ_INSERT_HEAD(&r->cache, ce, entry);
}

/*
 * A host name in canonical form: lower case, no trailing dot, labels of
 * 1..63 letters, digits, '-' or '_' (SPF and DKIM names use '_').
 */
static bool
rsv_name_norm(const char *in, char *out, size_t outsz)
{
	size_t	 len, i, label = 0;
	int	 c;

	if (in == NULL)
		return false;
	len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > RSV_NAME_MAX || len >= outsz)
		return false;
	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else
			return false;
		out[i] = tolower(c);
	}
	if (label == 0)
		return false;
	out[len] = '\0';
	return true;
}

static time_t
rsv_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}
