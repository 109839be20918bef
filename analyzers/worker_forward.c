/*
 * worker_forward.c -- forwarding of detected relay tests, in the worker
 * role. For a message the classifier called a relay test, each recipient
 * that is not a known tester is checked against the circuit breaker and
 * the caps (reserved atomically: a cap of N allows N), then, with
 * forward_mode = on, queued in SPOOL/forward.sqlite and delivered at once:
 * static route or MX lookup (reports/resolver.c), libcurl SMTP in the
 * forwarder thread (reports/fwd_deliver.c), the original envelope sender
 * and bytes with one Received header in the persona's format. Temporary
 * failures are retried from the queue (they survive restarts); permanent
 * ones feed the breaker; a delivered recipient is learned as a drop-box.
 * dry-run decides and reports but sends nothing. Every decision is a
 * "forward" event and a line in forward.json beside the message.
 * Built without forwarding (--disable-forwarding), "on" acts as dry-run.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "compat.h"
#include "evlog.h"
#include "log.h"
#include "persona.h"
#include "reports/fwd_caps.h"
#include "reports/fwd_queue.h"
#ifdef RT_FORWARDING
#include "reports/fwd_deliver.h"
#include "reports/resolver.h"
#endif
#include "worker_forward.h"
#include "xmalloc.h"

#define WFWD_DUE_BATCH		32
#define WFWD_TICK		1	/* seconds between due-queue scans */
#define WFWD_MAX_TARGETS	16

struct worker_fwd {
	struct event_base	*base;
	struct conf		*conf;
	struct queue		*q;
	struct an_state		*state;
	const struct an_rt_config *rtcfg;
	const struct persona	*persona;
	struct fwd_caps		*caps;
	struct fwd_queue	*fq;
	bool			 on;		/* send (else dry-run/off) */
	bool			 dry;
	struct event		*tick;
#ifdef RT_FORWARDING
	struct rsv		*rsv;
	struct fwd_runner	*runner;
	struct event		*runner_ev;
	struct fwd_route	*routes;
	size_t			 nroutes;
#endif
	unsigned int		 inflight;
	char			**busy;		/* "msgid rcpt" in flight */
	size_t			 nbusy;
};

/* one delivery in flight: lookup, then the forwarder thread */
struct wfwd_job {
	struct worker_fwd	*wf;
	struct fwd_item		 item;
	char			 domain[256];
	char			*received;
	int			 msg_fd;
#ifdef RT_FORWARDING
	struct fwd_target	 targets[WFWD_MAX_TARGETS];
	size_t			 ntargets;
	char			 mxhosts[WFWD_MAX_TARGETS][256];
	size_t			 nmx;
	size_t			 pending;	/* address lookups left */
	struct sockaddr_storage	 addrs[WFWD_MAX_TARGETS][4];
	size_t			 naddrs[WFWD_MAX_TARGETS];
#endif
};


/* forward.json beside the message: one entry per recipient, updated */
static void
wfwd_record(struct worker_fwd *wf, const char *id, const char *rcpt,
    const char *status, const char *cap, int code, const char *reply,
    const char *host, int attempts)
{
	struct queue_entry e;
	json_t	*arr, *ent = NULL, *v, *ev;
	char	 err[256], *js;
	size_t	 i;

	ev = json_object();
	json_object_set_new(ev, "id", json_string(id));
	json_object_set_new(ev, "rcpt", json_string(rcpt));
	json_object_set_new(ev, "status", json_string(status));
	if (cap != NULL)
		json_object_set_new(ev, "cap", json_string(cap));
	if (code > 0)
		json_object_set_new(ev, "code", json_integer(code));
	if (reply != NULL && *reply != '\0')
		json_object_set_new(ev, "reply", json_string(reply));
	if (host != NULL && *host != '\0')
		json_object_set_new(ev, "host", json_string(host));
	json_object_set_new(ev, "attempts", json_integer(attempts));
	log_info("%s worker forward rcpt=%s status=%s%s%s code=%d", id, rcpt,
	    status, cap ? " cap=" : "", cap ? cap : "", code);

	if (queue_find(wf->q, id, &e) == 0) {
		arr = queue_file_json(wf->q, &e, "forward.json", err,
		    sizeof(err));
		if (!json_is_array(arr)) {
			json_decref(arr);
			arr = json_array();
		}
		json_array_foreach(arr, i, v)
			if (json_is_string(json_object_get(v, "rcpt")) &&
			    strcmp(json_string_value(json_object_get(v, "rcpt")),
			    rcpt) == 0) {
				ent = v;
				break;
			}
		if (ent == NULL) {
			ent = json_object();
			json_array_append_new(arr, ent);
		}
		json_object_update(ent, ev);
		json_object_del(ent, "id");
		if ((js = json_dumps(arr, JSON_COMPACT)) != NULL) {
			if (queue_write_file(wf->q, &e, "forward.json", js,
			    strlen(js)) == -1)
				log_warn("%s worker: cannot write forward.json",
				    id);
			free(js);
		}
		json_decref(arr);
	}
	evlog_emit("forward", ev);
}

static void
wfwd_caps_conf(const struct conf *c, struct fwd_caps_conf *cc)
{
	fwd_caps_conf_default(cc);
	cc->per_hour = c->forward_max_per_hour;
	cc->per_day = c->forward_max_per_day;
	cc->per_client = c->forward_max_per_client;
	cc->per_net = c->forward_max_per_net;
	cc->per_asn = c->forward_max_per_asn;
	cc->per_domain = c->forward_max_per_domain;
	cc->per_dropbox = c->forward_max_per_dropbox;
	cc->window = c->forward_window;
	cc->breaker_run = c->forward_breaker_run;
	cc->breaker_reset = c->forward_breaker_reset;
}

static bool
wfwd_breaker_open(struct worker_fwd *wf)
{
	struct fwd_breaker b;

	return fwd_caps_breaker(wf->caps, &b) == 0 && b.tripped != 0;
}

/*
 * worker_fwd_message -- act on the verdict of message id: for a relay
 * test, decide each recipient (tester, breaker, caps) and queue or
 * report the forward. asn is the client's (0: unknown, no ASN cap).
 * Other verdicts do nothing.
 */
void
worker_fwd_message(struct worker_fwd *wf, const char *id, const json_t *env,
    const struct an_rt_verdict *v, uint32_t asn)
{
	struct fwd_subject sub;
	const char *client, *sender, *rcpt, *cap, *which;
	json_t	*r;
	size_t	 i;

	if (wf == NULL || v->kind != AN_RT_RELAY_TEST)
		return;
	client = json_string_value(json_object_get(json_object_get(env,
	    "client"), "addr"));
	sender = json_string_value(json_object_get(json_object_get(env,
	    "mail_from"), "addr"));
	if (client == NULL || sender == NULL)
		return;
	json_array_foreach(json_object_get(env, "rcpt"), i, r) {
		rcpt = json_string_value(json_object_get(r, "addr"));
		if (rcpt == NULL || *rcpt == '\0')
			continue;
		if (an_rt_is_tester(wf->rtcfg, rcpt, &which)) {
			wfwd_record(wf, id, rcpt, "tester", NULL, 0, which,
			    NULL, 0);
			continue;
		}
		if (wfwd_breaker_open(wf)) {
			wfwd_record(wf, id, rcpt, "breaker", "breaker", 0,
			    NULL, NULL, 0);
			continue;
		}
		memset(&sub, 0, sizeof(sub));
		sub.client = client;
		sub.asn = asn;
		sub.rcpt = rcpt;
		sub.now = time(NULL);
		if (wf->dry) {
			cap = fwd_caps_check(wf->caps, &sub);
			wfwd_record(wf, id, rcpt, "dry-run", cap, 0, NULL, NULL,
			    0);
			continue;
		}
		if ((cap = fwd_caps_reserve(wf->caps, &sub)) != NULL) {
			wfwd_record(wf, id, rcpt, "capped", cap, 0, NULL, NULL,
			    0);
			continue;
		}
		if (fwd_queue_enqueue(wf->fq, id, rcpt, sender, client,
		    sub.now) == -1) {
			log_warnx("%s worker: cannot queue the forward to %s",
			    id, rcpt);
			continue;
		}
		wfwd_record(wf, id, rcpt, "queued", NULL, 0, NULL, NULL, 0);
	}
	if (wf->on)
		event_active(wf->tick, EV_TIMEOUT, 0);
}

#ifdef RT_FORWARDING
static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

static bool
wfwd_busy(struct worker_fwd *wf, const struct fwd_item *it, bool take)
{
	char	*key;
	size_t	 i;

	xasprintf(&key, "%s %s", it->msgid, it->rcpt);
	for (i = 0; i < wf->nbusy; i++)
		if (strcmp(wf->busy[i], key) == 0) {
			free(key);
			return true;
		}
	if (take) {
		wf->busy = xreallocarray(wf->busy, wf->nbusy + 1,
		    sizeof(*wf->busy));
		wf->busy[wf->nbusy++] = key;
	} else
		free(key);
	return false;
}

static void
wfwd_unbusy(struct worker_fwd *wf, const struct fwd_item *it)
{
	char	 key[FWD_ID_MAX + FWD_ADDR_TEXT_MAX + 2];
	size_t	 i;

	(void)snprintf(key, sizeof(key), "%s %s", it->msgid, it->rcpt);
	for (i = 0; i < wf->nbusy; i++)
		if (strcmp(wf->busy[i], key) == 0) {
			free(wf->busy[i]);
			wf->busy[i] = wf->busy[--wf->nbusy];
			return;
		}
}

static void
wfwd_job_free(struct wfwd_job *j)
{
	if (j->msg_fd != -1)
		close(j->msg_fd);
	free(j->received);
	free(j);
}

/* the outcome of one delivery (forwarder thread, dispatched here) */
static void
wfwd_done(void *arg, const struct fwd_outcome *out)
{
	struct wfwd_job *j = arg;
	struct worker_fwd *wf = j->wf;
	const char *st;
	char	 host[FWD_HOST_MAX + FWD_ADDR_MAX + 8];
	time_t	 now = time(NULL);
	int	 qst;

	qst = fwd_queue_result(wf->fq, j->item.msgid, j->item.rcpt,
	    out->status, out->code, out->reply, now);
	(void)fwd_caps_record(wf->caps, out->status, now);
	st = out->status == FWD_DELIVERED ? "delivered" :
	    out->status == FWD_PERMFAIL || qst == FWD_Q_FAILED ? "permfail" :
	    "tempfail";
	(void)snprintf(host, sizeof(host), "%s%s[%s]:%d", out->host.name,
	    out->host.name[0] ? " " : "", out->host.addr, out->host.port);
	if (out->status == FWD_DELIVERED && wf->state != NULL) {
		(void)an_state_dropbox_add(wf->state, j->item.rcpt,
		    AN_DB_LEARNED, now);
		an_state_flush(wf->state);	/* not held till a batch */
	}
	wfwd_record(wf, j->item.msgid, j->item.rcpt, st, NULL, out->code,
	    out->reply, out->host.addr[0] ? host : NULL, j->item.attempts + 1);
	wfwd_unbusy(wf, &j->item);
	wf->inflight--;
	wfwd_job_free(j);
}

static void
wfwd_fail(struct wfwd_job *j, enum fwd_status st, const char *why)
{
	struct fwd_outcome out;

	memset(&out, 0, sizeof(out));
	out.status = st;
	(void)strlcpy(out.reply, why, sizeof(out.reply));
	(void)strlcpy(out.where, "local", sizeof(out.where));
	wfwd_done(j, &out);
}

static void
wfwd_send(struct wfwd_job *j)
{
	struct worker_fwd *wf = j->wf;
	struct fwd_request req;

	memset(&req, 0, sizeof(req));
	req.mail_from = j->item.sender;
	req.rcpt = j->item.rcpt;
	req.helo = wf->conf->forward_helo[0] ? wf->conf->forward_helo :
	    wf->conf->hostname;
	req.received = j->received;
	req.msg_fd = j->msg_fd;
	req.targets = j->targets;
	req.ntargets = j->ntargets;
	req.total_timeout = wf->conf->forward_timeout;
	if (j->ntargets == 0) {
		wfwd_fail(j, FWD_TEMPFAIL, "no address for the recipient "
		    "domain's mail hosts");
		return;
	}
	if (fwd_runner_submit(wf->runner, &req, wfwd_done, j) == -1)
		wfwd_fail(j, FWD_TEMPFAIL, "cannot start the delivery");
}

/* all address lookups of the MX hosts are in: targets in MX order */
static void
wfwd_addrs_done(struct wfwd_job *j)
{
	size_t	 k, i;

	for (k = 0; k < j->nmx; k++)
		for (i = 0; i < j->naddrs[k] && j->ntargets < WFWD_MAX_TARGETS;
		    i++) {
			struct fwd_target *t = &j->targets[j->ntargets++];

			(void)strlcpy(t->name, j->mxhosts[k], sizeof(t->name));
			addr_ntop((struct sockaddr *)&j->addrs[k][i], t->addr,
			    sizeof(t->addr));
			t->port = 25;
		}
	wfwd_send(j);
}

static void
wfwd_addrs_cb(const struct rsv_result *res, void *arg)
{
	struct wfwd_job *j = arg;
	size_t	 k, i;

	for (k = 0; k < j->nmx; k++)
		if (strcasecmp(j->mxhosts[k], res->name) == 0 &&
		    j->naddrs[k] == (size_t)-1) {
			j->naddrs[k] = 0;
			if (res->status == RSV_OK)
				for (i = 0; i < res->n && j->naddrs[k] < 4; i++)
					j->addrs[k][j->naddrs[k]++] =
					    res->addrs[i];
			break;
		}
	if (--j->pending == 0)
		wfwd_addrs_done(j);
}

static void
wfwd_mx_cb(const struct rsv_result *res, void *arg)
{
	struct wfwd_job *j = arg;
	size_t	 i, n;

	switch (res->status) {
	case RSV_OK:
		break;
	case RSV_NXDOMAIN:
	case RSV_NULLMX:
	case RSV_NODATA:
	case RSV_ERROR:
		wfwd_fail(j, FWD_PERMFAIL, res->status == RSV_NULLMX ?
		    "the domain accepts no mail (null MX)" :
		    "the recipient domain has no mail host");
		return;
	default:
		wfwd_fail(j, FWD_TEMPFAIL, "DNS lookup failed, will retry");
		return;
	}
	j->nmx = res->n < WFWD_MAX_TARGETS ? res->n : WFWD_MAX_TARGETS;
	for (i = 0; i < j->nmx; i++) {
		(void)strlcpy(j->mxhosts[i], res->mx[i].host,
		    sizeof(j->mxhosts[i]));
		j->naddrs[i] = (size_t)-1;
	}
	/* count first: a lookup may not answer before all are started */
	j->pending = j->nmx + 1;
	n = j->nmx;
	for (i = 0; i < n; i++)
		if (rsv_addrs(j->wf->rsv, j->mxhosts[i], wfwd_addrs_cb,
		    j) == -1) {
			j->naddrs[i] = 0;
			j->pending--;
		}
	if (--j->pending == 0)
		wfwd_addrs_done(j);
}

/* the Received header the persona's MTA would have written */
static char *
wfwd_received(struct worker_fwd *wf, const json_t *env, const char *rcpt)
{
	struct persona_received r;
	json_t	*tls = json_object_get(env, "tls");
	char	 buf[2048];

	memset(&r, 0, sizeof(r));
	r.hostname = wf->conf->hostname;
	r.helo = json_string_value(json_object_get(json_object_get(env,
	    "helo"), "name"));
	r.client_addr = json_string_value(json_object_get(json_object_get(
	    env, "client"), "addr"));
	r.queue_id = json_string_value(json_object_get(env, "queue_id"));
	r.rcpt = rcpt;
	r.esmtp = json_is_string(json_object_get(json_object_get(env, "helo"),
	    "verb")) && strcmp(json_string_value(json_object_get(
	    json_object_get(env, "helo"), "verb")), "EHLO") == 0;
	r.tls = json_is_object(tls);
	r.tls_version = json_string_value(json_object_get(tls, "version"));
	r.tls_cipher = json_string_value(json_object_get(tls, "cipher"));
	r.when = time(NULL);
	r.sender = json_string_value(json_object_get(json_object_get(env,
	    "mail_from"), "addr"));
	if (r.client_addr == NULL || r.queue_id == NULL ||
	    persona_received_header(wf->persona, &r, buf, sizeof(buf)) == 0)
		return NULL;
	return xstrdup(buf);
}

/* start one due delivery: the message, its Received header, the route */
static void
wfwd_start(struct worker_fwd *wf, const struct fwd_item *it)
{
	struct queue_entry e;
	const struct fwd_route *route;
	struct wfwd_job *j;
	char	 err[256];
	json_t	*env;

	j = xcalloc(1, sizeof(*j));
	j->wf = wf;
	j->item = *it;
	j->msg_fd = -1;
	(void)strlcpy(j->domain, domain_of(it->rcpt), sizeof(j->domain));
	wf->inflight++;
	(void)wfwd_busy(wf, it, true);
	if (wfwd_breaker_open(wf)) {
		wfwd_record(wf, it->msgid, it->rcpt, "breaker", "breaker", 0,
		    NULL, NULL, it->attempts);
		wfwd_unbusy(wf, it);
		wf->inflight--;
		wfwd_job_free(j);
		return;
	}
	if (queue_find(wf->q, it->msgid, &e) == -1 ||
	    (env = queue_envelope_load(wf->q, &e, err, sizeof(err))) == NULL) {
		wfwd_fail(j, FWD_PERMFAIL, "the message is no longer in the "
		    "spool");
		return;
	}
	j->received = wfwd_received(wf, env, it->rcpt);
	json_decref(env);
	j->msg_fd = queue_open_file(wf->q, &e, "message", O_RDONLY);
	if (j->received == NULL || j->msg_fd == -1) {
		wfwd_fail(j, FWD_TEMPFAIL, "cannot read the message");
		return;
	}
	if ((route = fwd_route_match(wf->routes, wf->nroutes, j->domain)) !=
	    NULL) {
		j->targets[0] = route->target;
		j->ntargets = 1;
		wfwd_send(j);
		return;
	}
	if (rsv_mx(wf->rsv, j->domain, wfwd_mx_cb, j) == -1)
		wfwd_fail(j, FWD_PERMFAIL, "the recipient domain is not a "
		    "valid host name");
}

static void
wfwd_runner_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker_fwd *wf = arg;

	fwd_runner_dispatch(wf->runner);
}
#endif /* RT_FORWARDING */

/* the due queue: start what is due and not already in flight */
static void
wfwd_tick(evutil_socket_t fd, short what, void *arg)
{
#ifdef RT_FORWARDING
	struct worker_fwd *wf = arg;
	struct fwd_item items[WFWD_DUE_BATCH];
	int	 n, i;

	if (!wf->on)
		return;
	n = fwd_queue_due(wf->fq, time(NULL), items, WFWD_DUE_BATCH);
	for (i = 0; i < n; i++)
		if (!wfwd_busy(wf, &items[i], false))
			wfwd_start(wf, &items[i]);
#else
	(void)arg;
#endif
}

/*
 * worker_fwd_new -- forwarding for the worker's event loop: opens
 * SPOOL/forward.sqlite (caps, breaker, queue), and with forward_mode = on
 * the resolver and the forwarder thread. NULL (logged) if forwarding is
 * off or cannot start; the worker then only classifies.
 */
struct worker_fwd *
worker_fwd_new(struct event_base *base, struct conf *conf, struct queue *q,
    const char *spool, struct an_state *st, const struct an_rt_config *rtcfg)
{
	struct worker_fwd *wf;
	struct fwd_caps_conf cc;
	struct fwd_queue_conf qc;
	struct timeval tv = { WFWD_TICK, 0 };
	char	*path, err[512];

	if (strcmp(conf->forward_mode, "off") == 0)
		return NULL;
	wf = xcalloc(1, sizeof(*wf));
	wf->base = base;
	wf->conf = conf;
	wf->q = q;
	wf->state = st;
	wf->rtcfg = rtcfg;
	wf->persona = persona_find(conf->persona);
	wf->on = strcmp(conf->forward_mode, "on") == 0;
#ifndef RT_FORWARDING
	if (wf->on)
		log_warnx("worker: built with --disable-forwarding: "
		    "forward_mode = on acts as dry-run");
	wf->on = false;
#endif
	wf->dry = !wf->on;
	wfwd_caps_conf(conf, &cc);
	memset(&qc, 0, sizeof(qc));
	qc.backoff_base = conf->forward_retry_base;
	qc.max_age = conf->forward_max_age;
	xasprintf(&path, "%s/forward.sqlite", spool);
	wf->caps = fwd_caps_open(path, &cc, err, sizeof(err));
	if (wf->caps != NULL)
		wf->fq = fwd_queue_open(path, &qc, err, sizeof(err));
	free(path);
	if (wf->caps == NULL || wf->fq == NULL) {
		log_warnx("worker: forwarding disabled: %s", err);
		worker_fwd_free(wf);
		return NULL;
	}
	wf->tick = event_new(base, -1, EV_PERSIST, wfwd_tick, wf);
	event_add(wf->tick, &tv);
#ifdef RT_FORWARDING
	if (wf->on) {
		const char **servers = NULL;
		size_t	 i;

		wf->routes = xcalloc(conf->forward_route.n + 1,
		    sizeof(*wf->routes));
		for (i = 0; i < conf->forward_route.n; i++) {
			const char *errstr;

			if (fwd_route_parse(conf->forward_route.v[i],
			    &wf->routes[wf->nroutes], &errstr) == -1)
				log_warnx("worker: forward_route \"%s\": %s; "
				    "ignored", conf->forward_route.v[i],
				    errstr);
			else
				wf->nroutes++;
		}
		if (conf->resolver.n > 0) {
			servers = xcalloc(conf->resolver.n + 1,
			    sizeof(*servers));
			for (i = 0; i < conf->resolver.n; i++)
				servers[i] = conf->resolver.v[i];
		}
		wf->rsv = rsv_new(base, servers, NULL);
		free(servers);
		if (fwd_deliver_init() == -1 ||
		    (wf->runner = fwd_runner_new()) == NULL || wf->rsv == NULL) {
			log_warnx("worker: cannot start the forwarder; "
			    "acting as dry-run");
			wf->on = false;
			wf->dry = true;
		} else {
			wf->runner_ev = event_new(base,
			    fwd_runner_fd(wf->runner), EV_READ | EV_PERSIST,
			    wfwd_runner_cb, wf);
			event_add(wf->runner_ev, NULL);
		}
	}
#endif
	log_info("worker: forwarding %s", wf->on ? "on" : "dry-run");
	return wf;
}

/*
 * worker_fwd_free -- stop forwarding (a delivery in progress finishes in
 * its thread; its result is found again from the queue after a restart).
 */
void
worker_fwd_free(struct worker_fwd *wf)
{
	size_t	 i;

	if (wf == NULL)
		return;
	if (wf->tick)
		event_free(wf->tick);
#ifdef RT_FORWARDING
	if (wf->runner_ev)
		event_free(wf->runner_ev);
	fwd_runner_free(wf->runner);
	if (wf->rsv)
		rsv_free(wf->rsv);
	free(wf->routes);
#endif
	fwd_queue_close(wf->fq);
	fwd_caps_close(wf->caps);
	for (i = 0; i < wf->nbusy; i++)
		free(wf->busy[i]);
	free(wf->busy);
	free(wf);
}
