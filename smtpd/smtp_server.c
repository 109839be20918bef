/*
 * smtp_server.c -- the SMTP role's event loop: listeners inherited from
 * the parent, the session list, the global and per-address session caps,
 * the committer's completions, and an orderly shutdown on SIGTERM. One
 * libevent loop serves every session; no thread or process per
 * connection. The only other thread is the queue committer.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"
#include "smtp_session.h"
#include "xmalloc.h"

#define IPTAB_BUCKETS	4096
#define SHUTDOWN_GRACE	5	/* seconds for commits and final replies */
#define SMTP_SIZE_CAP	52428800	/* bytes, when no limit is set */
#define SMTP_RESCAN_RETRY 1	/* seconds between tries of a rescan notice */
#define SMTP_RESCAN_ID	"0000000000000000"	/* QUEUE_ID_LEN, unused */

struct smtp_ipent {
	struct smtp_ipent	*next;
	int			 family;
	unsigned char		 addr[16];
	unsigned int		 count;
};

struct smtp_iptab {
	struct smtp_ipent	*b[IPTAB_BUCKETS];
};

static void
ip_key(const struct sockaddr *sa, int *family, unsigned char addr[16])
{
	memset(addr, 0, 16);
	*family = sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

static size_t
ip_hash(int family, const unsigned char addr[16])
{
	size_t	 h = 2166136261u ^ (size_t)family;
	int	 i;

	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h % IPTAB_BUCKETS;
}

/*
 * smtp_server_ip_acquire -- take one session slot for address sa.
 * Returns false if max_sessions_per_ip are already taken.
 */
bool
smtp_server_ip_acquire(struct smtp_server *srv, const struct sockaddr *sa)
{
	struct smtp_ipent *e;
	unsigned char addr[16];
	int	 family;
	size_t	 h;

	ip_key(sa, &family, addr);
	h = ip_hash(family, addr);
	for (e = srv->iptab->b[h]; e != NULL; e = e->next)
		if (e->family == family && memcmp(e->addr, addr, 16) == 0)
			break;
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->family = family;
		memcpy(e->addr, addr, 16);
		e->next = srv->iptab->b[h];
		srv->iptab->b[h] = e;
	}
	if (e->count >= (unsigned int)srv->conf->max_sessions_per_ip)
		return false;
	e->count++;
	return true;
}

/*
 * smtp_server_ip_release -- give back the slot taken for sa.
 */
void
smtp_server_ip_release(struct smtp_server *srv, const struct sockaddr *sa)
{
	struct smtp_ipent *e, **pp;
	unsigned char addr[16];
	int	 family;

	ip_key(sa, &family, addr);
	for (pp = &srv->iptab->b[ip_hash(family, addr)]; (e = *pp) != NULL;
	    pp = &e->next) {
		if (e->family != family || memcmp(e->addr, addr, 16) != 0)
			continue;
		if (e->count > 0)
			e->count--;
		if (e->count == 0) {
			*pp = e->next;
			free(e);
		}
		return;
	}
}

/* one notice line "<kind><id>\n" (atomic: shorter than PIPE_BUF) */
static bool
notify_write(struct smtp_server *srv, char kind, const char *id)
{
	char	 line[QUEUE_ID_LEN + 3];

	line[0] = kind;
	memcpy(line + 1, id, QUEUE_ID_LEN);
	line[QUEUE_ID_LEN + 1] = '\n';
	return write(srv->notify_fd, line, QUEUE_ID_LEN + 2) ==
	    QUEUE_ID_LEN + 2;
}

/*
 * A notice did not fit into the pipe (the worker is busy or stopped):
 * once a second, until it fits, ask the worker to rescan new/ (kind 'r'),
 * which finds every message whose notice was lost.
 */
static void
rescan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_server *srv = arg;
	struct timeval tv = { SMTP_RESCAN_RETRY, 0 };

	if (!notify_write(srv, 'r', SMTP_RESCAN_ID))
		evtimer_add(srv->rescan_ev, &tv);
}

/*
 * smtp_server_notify -- tell the worker that message (kind 'm') or
 * session record (kind 's') id is on disk: one line "<kind><id>\n",
 * written atomically. A full pipe drops the line; a rescan request
 * follows as soon as the pipe has room (rescan_cb).
 */
void
smtp_server_notify(struct smtp_server *srv, char kind, const char *id)
{
	struct timeval tv = { SMTP_RESCAN_RETRY, 0 };

	if (srv->notify_fd == -1)
		return;
	if (!notify_write(srv, kind, id) && !evtimer_pending(srv->rescan_ev,
	    NULL)) {
		log_warnx("smtp: the worker's notice pipe is full (worker "
		    "busy or stopped); it will be told to rescan new/");
		evtimer_add(srv->rescan_ev, &tv);
	}
}

/* a message is in new/<day>/<id>/: the worker may read it now */
static void
stored_cb(void *arg, const char *id, int error)
{
	if (error == 0)
		smtp_server_notify(arg, 'm', id);
}

static void
commit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_server *srv = arg;

	queue_committer_dispatch(srv->committer);
}

/*
 * smtp_server_new -- the SMTP role's server over base, with its spool q
 * (whose committer thread starts now), TLS context ctx (NULL: none) and
 * notify_fd (written one byte per committed message; -1: none).
 */
struct smtp_server *
smtp_server_new(struct event_base *base, struct conf *conf,
    const struct persona *p, struct queue *q, SSL_CTX *ctx, int notify_fd)
{
	struct smtp_server *srv;

	srv = xcalloc(1, sizeof(*srv));
	srv->base = base;
	srv->conf = conf;
	srv->persona = p;
	srv->queue = q;
	srv->ssl_ctx = ctx;
	srv->notify_fd = notify_fd;
	/*
	 * queue ids number messages from a random start: a restarted SMTP
	 * role counting from 0 again in the same second gave the ids it had
	 * given before it died
	 */
	arc4random_buf(&srv->qid_seq, sizeof(srv->qid_seq));
	/*
	 * max_message_size, or the persona's stock limit (0 = the persona's:
	 * Sendmail has none and says a bare SIZE, the trap still enforces
	 * SMTP_SIZE_CAP)
	 */
	srv->size_shown = conf->max_message_size > 0 ? conf->max_message_size :
	    persona_size_limit(p);
	srv->size_limit = srv->size_shown > 0 ? srv->size_shown : SMTP_SIZE_CAP;
	srv->iptab = xcalloc(1, sizeof(*srv->iptab));
	TAILQ_INIT(&srv->sessions);
	if ((srv->committer = queue_committer_new(q)) == NULL)
		fatal("smtp: cannot start the queue committer");
	queue_committer_set_stored(srv->committer, stored_cb, srv);
	srv->commit_ev = event_new(base, queue_committer_fd(srv->committer),
	    EV_READ | EV_PERSIST, commit_cb, srv);
	if (srv->commit_ev == NULL || event_add(srv->commit_ev, NULL) == -1)
		fatalx("smtp: cannot watch the committer");
	if ((srv->rescan_ev = evtimer_new(base, rescan_cb, srv)) == NULL)
		fatalx("smtp: cannot make the rescan timer");
	return srv;
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct smtp_server *srv = arg;
	int	 lflags = 0;
	size_t	 i;

	for (i = 0; i < srv->nlisteners; i++)
		if (srv->listeners[i] == l)
			lflags = srv->lflags[i];
	if (srv->shutting_down) {
		close(fd);
		return;
	}
	(void)smtp_session_new(srv, fd, sa, (socklen_t)salen, lflags);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	int	 e = EVUTIL_SOCKET_ERROR();

	/* EMFILE and friends: keep serving the sessions we have */
	log_warnx("smtp: accept: %s", evutil_socket_error_to_string(e));
}

/*
 * smtp_server_listen -- serve the bound, listening socket fd, whose
 * listener flags are flags (ADDR_F_TLS, ADDR_F_PROXY). Returns 0 or -1.
 */
int
smtp_server_listen(struct smtp_server *srv, int fd, int flags)
{
	struct evconnlistener *l;

	evutil_make_socket_nonblocking(fd);
	l = evconnlistener_new(srv->base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (l == NULL)
		return -1;
	evconnlistener_set_error_cb(l, accept_error_cb);
	srv->listeners = xreallocarray(srv->listeners, srv->nlisteners + 1,
	    sizeof(*srv->listeners));
	srv->lflags = xreallocarray(srv->lflags, srv->nlisteners + 1,
	    sizeof(*srv->lflags));
	srv->listeners[srv->nlisteners] = l;
	srv->lflags[srv->nlisteners] = flags;
	srv->nlisteners++;
	return 0;
}

static void
shutdown_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_server *srv = arg;

	log_info("smtp: shutdown grace period over; %zu sessions left",
	    srv->nsessions);
	event_base_loopexit(srv->base, NULL);
}

static void
shutdown_check(struct smtp_server *srv)
{
	if (srv->shutting_down && srv->nsessions == 0)
		event_base_loopexit(srv->base, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct smtp_server *srv = arg;
	struct smtp_session *s, *next;
	struct timeval tv = { SHUTDOWN_GRACE, 0 };
	size_t	 i;

	if (srv->shutting_down)
		return;
	log_info("smtp: shutting down on signal %d, %zu sessions", (int)sig,
	    srv->nsessions);
	srv->shutting_down = true;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_disable(srv->listeners[i]);
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		smtp_session_shutdown(s);
	}
	srv->shutdown_timer = evtimer_new(srv->base, shutdown_timer_cb, srv);
	evtimer_add(srv->shutdown_timer, &tv);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	shutdown_check(arg);
}

/*
 * smtp_server_run -- serve until SIGTERM/SIGINT, then let sessions finish
 * (at most SHUTDOWN_GRACE seconds) and return.
 */
void
smtp_server_run(struct smtp_server *srv)
{
	struct event *tick;
	struct timeval tv = { 0, 100000 };

	srv->sigterm_ev = evsignal_new(srv->base, SIGTERM, signal_cb, srv);
	srv->sigint_ev = evsignal_new(srv->base, SIGINT, signal_cb, srv);
	evsignal_add(srv->sigterm_ev, NULL);
	evsignal_add(srv->sigint_ev, NULL);
	tick = event_new(srv->base, -1, EV_PERSIST, tick_cb, srv);
	event_add(tick, &tv);
	event_base_dispatch(srv->base);
	event_free(tick);
}

/*
 * smtp_server_free -- wait for the committer and release everything;
 * sessions still open are dropped (their records are written).
 */
void
smtp_server_free(struct smtp_server *srv)
{
	size_t	 i;

	queue_committer_free(srv->committer);
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	free(srv->listeners);
	free(srv->lflags);
	if (srv->commit_ev)
		event_free(srv->commit_ev);
	if (srv->rescan_ev)
		event_free(srv->rescan_ev);
	if (srv->sigterm_ev)
		event_free(srv->sigterm_ev);
	if (srv->sigint_ev)
		event_free(srv->sigint_ev);
	if (srv->shutdown_timer)
		event_free(srv->shutdown_timer);
	free(srv->iptab);
	free(srv);
}
