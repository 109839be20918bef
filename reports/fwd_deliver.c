/*
 * fwd_deliver.c -- one SMTP delivery of one spooled message to one
 * recipient through libcurl (REFERENCE.md 6.4), run in the worker role's
 * forwarding thread. The message bytes are sent as stored, after exactly
 * one Received header supplied by the caller; libcurl dot-stuffs them.
 *
 * Why the easy interface in a thread and not the multi interface on the
 * worker's event_base: a forward is rare (caps of tens a day), each one is
 * bounded by connect/total timeouts, and a blocking call is testable in
 * isolation; the multi interface would put curl's socket/timer callbacks
 * into the worker's loop for no throughput gain. The worker stays
 * responsive because it never calls fwd_deliver() itself: fwd_runner
 * runs deliveries in one thread and reports them through an eventfd the
 * worker's event_base watches (the queue_committer pattern).
 *
 * Trust: the envelope addresses came from the network. They are checked
 * for control characters and angle brackets before they reach curl, so
 * they cannot inject SMTP commands. TLS is opportunistic and unverified
 * (MX certificates rarely match), as for any MTA-to-MTA hop.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "compat.h"
#include "log.h"
#include "xmalloc.h"
#include "fwd_deliver.h"

struct fwd_src {
	const char	*hdr;
	size_t		 hdrlen;
	size_t		 hdroff;
	int		 fd;
	off_t		 off;
	int		 error;		/* errno of a failed read */
};

/* one submitted delivery, deep-copied so the caller owns nothing */
struct fwd_job {
	struct fwd_job		*next;
	struct fwd_request	 req;
	struct fwd_outcome	 out;
	fwd_done_cb		 done;
	void			*arg;
};

struct fwd_runner {
	pthread_t		 thread;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct fwd_job		*todo, **todo_tail;
	struct fwd_job		*done, **done_tail;
	int			 efd;		/* eventfd: results wait */
	bool			 stop;
};

struct fwd_trace {
	char		 where[8];
	bool		 quit;		/* QUIT sent: the decision is made */
	char		 last[FWD_REPLY_MAX];
};

static bool	 fwd_addr_ok(const char *a);
static size_t	 fwd_read_cb(char *buf, size_t sz, size_t n, void *arg);
static int	 fwd_debug_cb(CURL *c, curl_infotype type, char *data,
		    size_t len, void *arg);
static void	*fwd_runner_main(void *arg);
static void	 fwd_job_free(struct fwd_job *j);
static enum fwd_status fwd_one(const struct fwd_request *req,
		    const struct fwd_target *t, off_t msglen,
		    struct fwd_outcome *out);

/*
 * fwd_deliver_init -- initialise libcurl; call once, before any thread.
 * Returns 0, or -1 when libcurl cannot be initialised.
 */
int
fwd_deliver_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("forward: curl_global_init failed");
		return -1;
	}
	return 0;
}

/*
 * fwd_deliver -- deliver req->msg_fd's bytes, after req->received, from
 * req->mail_from to req->rcpt, trying req->targets in order. A temporary
 * failure on one host (connect error, timeout, 4xx, 5xx before MAIL) moves
 * on to the next; a 5xx reply to MAIL, RCPT, DATA or end of data is
 * permanent and stops. Returns the status, also stored in out->status with
 * the last reply code and line, the phase it came from and the host.
 * Invalid envelope addresses or header are FWD_PERMFAIL with where
 * "local"; an unreadable message is FWD_TEMPFAIL with where "local".
 * Thread-safe after fwd_deliver_init(); the fd offset is not used.
 */
enum fwd_status
fwd_deliver(const struct fwd_request *req, struct fwd_outcome *out)
{
	struct stat	 st;
	enum fwd_status	 st_res = FWD_TEMPFAIL;
	size_t		 i, hlen;

	memset(out, 0, sizeof(*out));
	out->status = FWD_TEMPFAIL;
	strlcpy(out->where, "local", sizeof(out->where));

	hlen = req->received ? strlen(req->received) : 0;
	if (!fwd_addr_ok(req->mail_from) || !fwd_addr_ok(req->rcpt) ||
	    req->rcpt[0] == '\0' || req->helo == NULL || req->helo[0] == '\0' ||
	    strpbrk(req->helo, "/?#@:[] \t\r\n") != NULL || hlen < 2 ||
	    strncasecmp(req->received, "Received:", 9) != 0 ||
	    memcmp(req->received + hlen - 2, "\r\n", 2) != 0) {
		strlcpy(out->reply, "invalid envelope or header",
		    sizeof(out->reply));
		return (out->status = FWD_PERMFAIL);
	}
	if (fstat(req->msg_fd, &st) == -1) {
		log_warn("forward: fstat message");
		strlcpy(out->reply, "message unreadable", sizeof(out->reply));
		return FWD_TEMPFAIL;
	}
	if (req->ntargets == 0) {
		strlcpy(out->reply, "no target host", sizeof(out->reply));
		return FWD_TEMPFAIL;
	}
	for (i = 0; i < req->ntargets; i++) {
		st_res = fwd_one(req, &req->targets[i], st.st_size, out);
		out->tried++;
		out->host = req->targets[i];
		if (st_res != FWD_TEMPFAIL || strcmp(out->where, "local") == 0)
			break;
	}
	return (out->status = st_res);
}

/*
 * fwd_runner_new -- start the forwarding thread, which runs submitted
 * deliveries one at a time, so a slow or dead MX never stalls the
 * caller's event loop. Requires fwd_deliver_init(). Returns the runner,
 * or NULL (logged) when the thread or eventfd cannot be created.
 */
struct fwd_runner *
fwd_runner_new(void)
{
	struct fwd_runner	*r;

	r = xcalloc(1, sizeof(*r));
	r->todo_tail = &r->todo;
	r->done_tail = &r->done;
	if ((r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("forward: eventfd");
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->mtx, NULL);
	pthread_cond_init(&r->cond, NULL);
	if ((errno = pthread_create(&r->thread, NULL, fwd_runner_main,
	    r)) != 0) {
		log_warn("forward: pthread_create");
		close(r->efd);
		pthread_mutex_destroy(&r->mtx);
		pthread_cond_destroy(&r->cond);
		free(r);
		return NULL;
	}
	return r;
}

/*
 * fwd_runner_fd -- the descriptor that becomes readable when finished
 * deliveries wait for fwd_runner_dispatch() (watch it with EV_READ).
 */
int
fwd_runner_fd(const struct fwd_runner *r)
{
	return r->efd;
}

/*
 * fwd_runner_submit -- queue one delivery. The request is copied (its
 * strings, its targets, and a dup of msg_fd), so the caller may free or
 * close everything on return. done(arg, outcome) is called later from
 * fwd_runner_dispatch() in the caller's thread. Returns 0, or -1 with
 * errno set when msg_fd cannot be duplicated (done is not called).
 */
int
fwd_runner_submit(struct fwd_runner *r, const struct fwd_request *req,
    fwd_done_cb done, void *arg)
{
	struct fwd_job		*j;
	struct fwd_target	*t;
	int			 fd;

	if ((fd = fcntl(req->msg_fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return -1;
	j = xcalloc(1, sizeof(*j));
	j->req = *req;
	j->req.msg_fd = fd;
	j->req.mail_from = xstrdup(req->mail_from ? req->mail_from : "");
	j->req.rcpt = xstrdup(req->rcpt ? req->rcpt : "");
	j->req.helo = xstrdup(req->helo ? req->helo : "");
	j->req.received = xstrdup(req->received ? req->received : "");
	t = xreallocarray(NULL, req->ntargets + 1, sizeof(*t));
	if (req->ntargets > 0)
		memcpy(t, req->targets, req->ntargets * sizeof(*t));
	j->req.targets = t;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&r->mtx);
	*r->todo_tail = j;
	r->todo_tail = &j->next;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mtx);
	return 0;
}

/*
 * fwd_runner_dispatch -- call the done callback of every finished
 * delivery, in submission order, in the calling thread. Callbacks may
 * submit new deliveries.
 */
void
fwd_runner_dispatch(struct fwd_runner *r)
{
	struct fwd_job	*list, *j;
	uint64_t	 v;

	if (read(r->efd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("forward: eventfd read");
	pthread_mutex_lock(&r->mtx);
	list = r->done;
	r->done = NULL;
	r->done_tail = &r->done;
	pthread_mutex_unlock(&r->mtx);
	while ((j = list) != NULL) {
		list = j->next;
		if (j->done != NULL)
			j->done(j->arg, &j->out);
		fwd_job_free(j);
	}
}

/*
 * fwd_runner_free -- wait for the delivery in progress, drop the ones not
 * started and the finished ones not dispatched, without calling their
 * callbacks (their fwd_queue rows stay pending and are retried), stop the
 * thread and free r. NULL is fine.
 */
void
fwd_runner_free(struct fwd_runner *r)
{
	struct fwd_job	*j;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mtx);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mtx);
	pthread_join(r->thread, NULL);
	while ((j = r->todo) != NULL) {
		r->todo = j->next;
		fwd_job_free(j);
	}
	while ((j = r->done) != NULL) {
		r->done = j->next;
		fwd_job_free(j);
	}
	close(r->efd);
	pthread_mutex_destroy(&r->mtx);
	pthread_cond_destroy(&r->cond);
	free(r);
}

static void *
fwd_runner_main(void *arg)
{
	struct fwd_runner	*r = arg;
	struct fwd_job		*j;
	uint64_t		 one = 1;

	pthread_mutex_lock(&r->mtx);
	for (;;) {
		while (r->todo == NULL && !r->stop)
			pthread_cond_wait(&r->cond, &r->mtx);
		if (r->stop)
			break;
		j = r->todo;
		if ((r->todo = j->next) == NULL)
			r->todo_tail = &r->todo;
		j->next = NULL;
		pthread_mutex_unlock(&r->mtx);
		fwd_deliver(&j->req, &j->out);
		pthread_mutex_lock(&r->mtx);
		*r->done_tail = j;
		r->done_tail = &j->next;
		if (write(r->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			log_warn("forward: eventfd write");
	}
	pthread_mutex_unlock(&r->mtx);
	return NULL;
}

static void
fwd_job_free(struct fwd_job *j)
{
	close(j->req.msg_fd);
	free((char *)j->req.mail_from);
	free((char *)j->req.rcpt);
	free((char *)j->req.helo);
	free((char *)j->req.received);
	free((struct fwd_target *)j->req.targets);
	free(j);
}

/* one attempt against one host; fills out's code, reply and where */
static enum fwd_status
fwd_one(const struct fwd_request *req, const struct fwd_target *t,
    off_t msglen, struct fwd_outcome *out)
{
	CURL			*c;
	CURLcode		 rc;
	struct curl_slist	*rcpt = NULL, *pin = NULL;
	struct fwd_src		 src;
	struct fwd_trace	 tr;
	char			 url[FWD_HOST_MAX + FWD_ADDR_MAX + 64];
	char			 pinstr[FWD_HOST_MAX + FWD_ADDR_MAX + 32];
	char			 from[FWD_HOST_MAX * 2], to[FWD_HOST_MAX * 2];
	const char		*host;
	bool			 v6;
	long			 code = 0;
	enum fwd_status		 res;

	memset(&src, 0, sizeof(src));
	src.hdr = req->received;
	src.hdrlen = strlen(req->received);
	src.fd = req->msg_fd;
	memset(&tr, 0, sizeof(tr));
	strlcpy(tr.where, "connect", sizeof(tr.where));
	out->code = 0;
	out->reply[0] = '\0';

	v6 = strchr(t->addr, ':') != NULL;
	if (t->name[0] != '\0') {
		host = t->name;
		/* pin the name to the address we resolved: curl must not
		 * look it up again (HOST:PORT:CONNECT-TO-HOST:PORT) */
		if (!bsnprintf(pinstr, sizeof(pinstr), "%s:%d:%s%s%s:%d",
		    t->name, t->port, v6 ? "[" : "", t->addr, v6 ? "]" : "",
		    t->port))
			goto local;
		if ((pin = curl_slist_append(NULL, pinstr)) == NULL)
			goto local;
		v6 = false;
	} else
		host = t->addr;
	if (!bsnprintf(url, sizeof(url), "smtp://%s%s%s:%d/%s",
	    v6 ? "[" : "", host, v6 ? "]" : "", t->port, req->helo) ||
	    !bsnprintf(from, sizeof(from), "<%s>", req->mail_from) ||
	    !bsnprintf(to, sizeof(to), "<%s>", req->rcpt))
		goto local;
	if ((rcpt = curl_slist_append(NULL, to)) == NULL)
		goto local;
	if ((c = curl_easy_init()) == NULL)
		goto local;

	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);	/* threads */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp");
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (pin != NULL)
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, pin);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)(src.hdrlen + (size_t)msglen));
	curl_easy_setopt(c, CURLOPT_READFUNCTION, fwd_read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &src);
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, req->connect_timeout > 0 ?
	    req->connect_timeout : (long)FWD_TIMEOUT_CONNECT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, req->total_timeout > 0 ?
	    req->total_timeout : (long)FWD_TIMEOUT_TOTAL);
	/* the debug callback is how curl shows the dialogue: it records
	 * the phase and the last reply line; nothing is printed */
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, fwd_debug_cb);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, &tr);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	curl_slist_free_all(pin);

	out->code = (int)code;
	strlcpy(out->where, tr.where, sizeof(out->where));
	strlcpy(out->reply, tr.last[0] != '\0' ? tr.last :
	    curl_easy_strerror(rc), sizeof(out->reply));
	if (src.error != 0) {
		errno = src.error;
		log_warn("forward: read message");
		strlcpy(out->where, "local", sizeof(out->where));
		strlcpy(out->reply, "message unreadable", sizeof(out->reply));
		return FWD_TEMPFAIL;
	}
	if (rc == CURLE_OK)
		res = FWD_DELIVERED;
	else if (code >= 500 && code < 600 &&
	    (strcmp(tr.where, "mail") == 0 || strcmp(tr.where, "rcpt") == 0 ||
	    strcmp(tr.where, "data") == 0 || strcmp(tr.where, "eod") == 0))
		res = FWD_PERMFAIL;
	else
		res = FWD_TEMPFAIL;
	log_debug("forward: host=%s port=%d status=%s code=%ld where=%s "
	    "curl=%d", t->addr, t->port, res == FWD_DELIVERED ? "delivered" :
	    res == FWD_PERMFAIL ? "permfail" : "tempfail", code, tr.where,
	    (int)rc);
	return res;

 local:
	curl_slist_free_all(rcpt);
	curl_slist_free_all(pin);
	strlcpy(out->where, "local", sizeof(out->where));
	strlcpy(out->reply, "cannot set up transfer", sizeof(out->reply));
	return FWD_TEMPFAIL;
}

/* an envelope address we can hand to curl: no controls, no <>, no space */
static bool
fwd_addr_ok(const char *a)
{
	const unsigned char	*p;

	if (a == NULL || strlen(a) >= FWD_HOST_MAX * 2 - 3)
		return false;
	for (p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p < 0x21 || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	return true;
}

/* libcurl read callback: the Received header, then the spool file */
static size_t
fwd_read_cb(char *buf, size_t sz, size_t n, void *arg)
{
	struct fwd_src	*src = arg;
	size_t		 want = sz * n, k;
	ssize_t		 r;

	if (src->hdroff < src->hdrlen) {
		k = src->hdrlen - src->hdroff;
		if (k > want)
			k = want;
		memcpy(buf, src->hdr + src->hdroff, k);
		src->hdroff += k;
		return k;
	}
	for (;;) {
		r = pread(src->fd, buf, want, src->off);
		if (r == -1 && errno == EINTR)
			continue;
		break;
	}
	if (r == -1) {
		src->error = errno;
		return CURL_READFUNC_ABORT;
	}
	src->off += r;
	return (size_t)r;
}

/* follow the dialogue: commands sent set the phase, replies the text */
static int
fwd_debug_cb(CURL *c, curl_infotype type, char *data, size_t len, void *arg)
{
	struct fwd_trace	*tr = arg;
	size_t			 i;

	(void)c;
	if (type == CURLINFO_HEADER_OUT) {
		if (len >= 4 && strncasecmp(data, "EHLO", 4) == 0)
			strlcpy(tr->where, "helo", sizeof(tr->where));
		else if (len >= 4 && strncasecmp(data, "HELO", 4) == 0)
			strlcpy(tr->where, "helo", sizeof(tr->where));
		else if (len >= 4 && strncasecmp(data, "MAIL", 4) == 0)
			strlcpy(tr->where, "mail", sizeof(tr->where));
		else if (len >= 4 && strncasecmp(data, "RCPT", 4) == 0)
			strlcpy(tr->where, "rcpt", sizeof(tr->where));
		else if (len >= 4 && strncasecmp(data, "DATA", 4) == 0)
			strlcpy(tr->where, "data", sizeof(tr->where));
		else if (len >= 4 && strncasecmp(data, "QUIT", 4) == 0)
			tr->quit = true;
	} else if (type == CURLINFO_DATA_OUT) {
		strlcpy(tr->where, "eod", sizeof(tr->where));
	} else if (type == CURLINFO_HEADER_IN) {
		if (tr->quit)
			return 0;	/* keep the reply that decided */
		/* one reply line: keep printable ASCII only */
		for (i = 0; i < len && i < sizeof(tr->last) - 1; i++) {
			if (data[i] == '\r' || data[i] == '\n')
				break;
			tr->last[i] = isprint((unsigned char)data[i]) ?
			    data[i] : '?';
		}
		tr->last[i] = '\0';
	}
	return 0;
}

/*
 * fwd_target_parse -- parse "ADDR:PORT" or "[IPV6]:PORT" (address
 * literals only) into t, with an empty name. Returns 0, or -1 with
 * *errstr set to a static description.
 */
int
fwd_target_parse(const char *s, struct fwd_target *t, const char **errstr)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	char		 host[FWD_ADDR_MAX + 2];
	const char	*p, *e;
	size_t		 len;
	bool		 br = false;

	memset(t, 0, sizeof(*t));
	if (s[0] == '[') {
		br = true;
		if ((e = strchr(s, ']')) == NULL || e[1] != ':') {
			*errstr = "expected [ipv6]:port";
			return -1;
		}
		len = (size_t)(e - s - 1);
		p = e + 2;
		s++;
	} else {
		if ((e = strrchr(s, ':')) == NULL) {
			*errstr = "missing :port";
			return -1;
		}
		len = (size_t)(e - s);
		p = e + 1;
	}
	if (len == 0 || len >= sizeof(host)) {
		*errstr = "bad address";
		return -1;
	}
	memcpy(host, s, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, &a4) != 1 && (strchr(host, ':') == NULL ||
	    inet_pton(AF_INET6, host, &a6) != 1)) {
		*errstr = "not an address literal";
		return -1;
	}
	if ((strchr(host, ':') != NULL) != br) {
		*errstr = "[brackets] are for IPv6 only";
		return -1;
	}
	t->port = (int)strtonum(p, 1, 65535, errstr);
	if (*errstr != NULL)
		return -1;
	strlcpy(t->addr, host, sizeof(t->addr));
	return 0;
}

/*
 * fwd_route_parse -- parse one forward_route entry "DOMAIN=ADDR:PORT",
 * where DOMAIN is a domain (matched exactly), ".domain" (its subdomains)
 * or "*" (everything). The domain is stored lowercase. Returns 0, or -1
 * with *errstr set.
 */
int
fwd_route_parse(const char *spec, struct fwd_route *r, const char **errstr)
{
	const char	*eq;
	size_t		 len, i;

	memset(r, 0, sizeof(*r));
	if ((eq = strchr(spec, '=')) == NULL) {
		*errstr = "expected domain=addr:port";
		return -1;
	}
	len = (size_t)(eq - spec);
	if (len == 0 || len >= sizeof(r->domain)) {
		*errstr = "bad domain";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)spec[i]) && spec[i] != '.' &&
		    spec[i] != '-' && spec[i] != '_' &&
		    !(spec[i] == '*' && len == 1)) {
			*errstr = "bad domain";
			return -1;
		}
		r->domain[i] = (char)tolower((unsigned char)spec[i]);
	}
	r->domain[len] = '\0';
	return fwd_target_parse(eq + 1, &r->target, errstr);
}

/*
 * fwd_route_match -- the route for recipient domain <domain>: an exact
 * (case-insensitive) entry wins, then the longest ".parent" entry, then
 * "*". Returns a pointer into routes, or NULL when no route applies (the
 * caller then resolves MX).
 */
const struct fwd_route *
fwd_route_match(const struct fwd_route *routes, size_t n, const char *domain)
{
	const struct fwd_route	*best = NULL, *star = NULL;
	size_t			 i, dl, rl, bestlen = 0;

	dl = strlen(domain);
	if (dl > 0 && domain[dl - 1] == '.')
		dl--;			/* trailing root dot */
	for (i = 0; i < n; i++) {
		rl = strlen(routes[i].domain);
		if (strcmp(routes[i].domain, "*") == 0) {
			if (star == NULL)
				star = &routes[i];
		} else if (routes[i].domain[0] == '.') {
			if (dl > rl && strncasecmp(domain + dl - rl,
			    routes[i].domain, rl) == 0 && rl > bestlen) {
				best = &routes[i];
				bestlen = rl;
			}
		} else if (rl == dl && strncasecmp(domain, routes[i].domain,
		    dl) == 0)
			return &routes[i];
	}
	return best != NULL ? best : star;
}
