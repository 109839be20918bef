/*
 * worker.c -- the worker role's event loop. Woken by the SMTP role (one
 * line per committed message or recorded session on notify_fd) and by
 * timers: it gathers the announced ids for WORKER_BATCH_MS (or up to
 * WORKER_BATCH_MAX of them), so that one index transaction and one sync
 * serve the whole batch instead of competing with the SMTP role's
 * journal for the disk on every message. It analyses whatever is in new/
 * at start, every WORKER_SCAN seconds and as soon as the SMTP role says
 * that notices were lost to a full pipe ("r"), so nothing is missed after
 * a crash or a backlog; syncs the index every WORKER_SCAN seconds; and
 * enforces the retention limits at start and every WORKER_RETENTION
 * seconds, removing whole day buckets and their index rows. Runs
 * unprivileged, outside the SMTP role's chroot.
 */
#include "config.h"


#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "an_relaytest.h"
#include "an_runner.h"
#include "an_state.h"
#include "compat.h"
#include "evlog.h"
#include "log.h"
#include "queue_index.h"
#include "worker.h"
#include "worker_forward.h"
#include "xmalloc.h"

#define WORKER_NOTIFY_BUF	(18 * 512)
#define WORKER_BATCH_MS		100
#define WORKER_BATCH_MAX	1024
#define WORKER_SCAN		60
#define WORKER_RETENTION	3600

/*
 * The watchdog: an analysis that runs past analysis_timeout seconds
 * (an analyzer looping on hostile input, DNS that never answers) must not
 * stop the pipeline. The message's analysis.lock is a log, a line per
 * event: "attempt" when an analysis starts, and from SIGALRM "timeout
 * NAME" (the analyzer that held it), after which the worker ends with the
 * signal's default action. The parent restarts the role, which finds the
 * lock (worker_analyze): after one attempt it tries once more without
 * the analyzers that timed out (recorded as "timeout"; a lock without a
 * timeout means the worker died, say at a shutdown that could not wait);
 * after two it records the message as "timeout" or "crashed" and moves on.
 */
#define WD_ATTEMPTS	2	/* analyses of one message before giving up */
#define WD_LOCK_MAX	1024	/* bytes of analysis.lock read */

static volatile sig_atomic_t	 wd_fd = -1;	/* the lock being held */

static void
wd_alarm(int sig)
{
	static const char msg[] = "timeout ";
	const char *name = an_runner_current;

	if (wd_fd != -1) {
		(void)!write(wd_fd, msg, sizeof(msg) - 1);
		if (name != NULL)
			(void)!write(wd_fd, name, strlen(name));
		(void)!write(wd_fd, "\n", 1);
	}
	raise(sig);		/* SA_RESETHAND: now the default action */
}

struct worker {
	struct event_base	*base;
	struct conf		*conf;
	struct queue		*q;
	struct queue_index	*ix;
	char			 carry[QUEUE_ID_LEN + 2];
	size_t			 carrylen;
	struct an_rt_config	*rtcfg;		/* relay-test classifier */
	struct an_state		*state;		/* its memory across messages */
	struct worker_fwd	*fwd;		/* NULL: forward_mode = off */
	struct an_runner	*runner;	/* the analyzers */
	struct event		*batch_ev;	/* WORKER_BATCH_MS after the
						   first announcement */
	char			 (*ids)[QUEUE_ID_LEN + 2]; /* kind + id */
	size_t			 nids;
	struct queue_index_item	*done;		/* analysed, to be synced
						   and indexed */
	size_t			 ndone;
	bool			 rescan;	/* the SMTP role lost notices */
};

/* start the watchdog on message e's analysis (its lock must exist) */
static void
wd_arm(struct worker *w, const struct queue_entry *e)
{
	int	 fd;

	if (w->conf->analysis_timeout <= 0)
		return;
	if ((fd = queue_open_file(w->q, e, "analysis.lock", O_WRONLY |
	    O_APPEND)) == -1) {
		log_warn("%s worker: analysis.lock (no watchdog)", e->id);
		return;
	}
	wd_fd = fd;
	alarm((unsigned)w->conf->analysis_timeout);
}

/* the analysis finished in time: stop the watchdog */
static void
wd_disarm(void)
{
	int	 fd = wd_fd;

	alarm(0);
	wd_fd = -1;
	if (fd != -1)
		close(fd);
}

/*
 * worker_relaytest -- what follows a new verdict of the "relaytest"
 * analyzer on message e (an_rt_take_fresh(); none when the message was
 * classified before a restart, its relaytest.json kept): store it beside
 * the message, so that it is classified once, log it, emit a "relaytest"
 * event and hand relay tests to the forwarder.
 */
static void
worker_relaytest(struct worker *w, const struct queue_entry *e,
    const json_t *env, const json_t *res)
{
	struct an_rt_verdict v;
	char	*js;
	json_t	*ev;

	if (!an_rt_take_fresh(an_runner_state(w->runner, "relaytest"), &v))
		return;
	js = json_dumps(v.json, JSON_COMPACT);
	/* durable with the batch's queue_sync() (notify_cb) */
	if (js == NULL || queue_write_file_flags(w->q, e, "relaytest.json", js,
	    strlen(js), QUEUE_W_NOSYNC) == -1)
		log_warn("%s worker: cannot store relaytest.json", e->id);
	free(js);
	log_info("%s worker relaytest verdict=%s score=%ld reasons=%zu",
	    e->id, an_rt_kind_name(v.kind), v.score, v.nreasons);
	ev = json_deep_copy(v.json);
	json_object_set_new(ev, "id", json_string(e->id));
	json_object_set(ev, "session", json_object_get(env, "session"));
	evlog_emit("relaytest", ev);
	/* the geoip analyzer's ASN feeds the per-ASN forwarding cap */
	worker_fwd_message(w->fwd, e->id, env, &v, (uint32_t)json_integer_value(
	    json_object_get(json_object_get(json_object_get(res, "geoip"),
	    "client"), "asn")));
	an_rt_verdict_free(&v);
}

/* a compact "analysis" event: what review and dashboards filter on */
static void
worker_analysis_event(const char *id, const json_t *res)
{
	json_t	*ev = json_object(), *g, *c;

	json_object_set_new(ev, "id", json_string(id));
	g = json_object_get(json_object_get(res, "geoip"), "client");
	if ((c = json_object_get(g, "country")) != NULL)
		json_object_set(ev, "country", c);
	if ((c = json_object_get(g, "asn")) != NULL)
		json_object_set(ev, "asn", c);
	if ((c = json_object_get(g, "as_org")) != NULL)
		json_object_set(ev, "as_org", c);
	if ((c = json_object_get(json_object_get(json_object_get(res,
	    "origin"), "origin"), "addr")) != NULL)
		json_object_set(ev, "origin", c);
	if ((c = json_object_get(json_object_get(res, "campaign"),
	    "campaign")) != NULL)
		json_object_set(ev, "campaign", c);
	if ((c = json_object_get(json_object_get(json_object_get(res, "spf"),
	    "mail_from"), "result")) != NULL)
		json_object_set(ev, "spf", c);
	if ((c = json_object_get(json_object_get(res, "relaytest"),
	    "verdict")) != NULL)
		json_object_set(ev, "verdict", c);
	/* one type per key (one Elasticsearch mapping): status a string */
	c = json_object_get(json_object_get(res, "runner"), "status");
	if (json_is_string(c))
		json_object_set(ev, "status", c);
	else {
		json_object_set_new(ev, "status", json_string("done"));
		if (c != NULL)
			json_object_set(ev, "analyzers", c);
	}
	evlog_emit("analysis", ev);
}

/*
 * worker_done -- the end of a batch of analyses: the analyzers' own
 * stores, one sync for every result and move, then the index, from the
 * envelopes and results still in memory, in one transaction.
 */
static void
worker_done(struct worker *w)
{
	size_t	 i;

	/* the classifier's sightings, even of messages that failed */
	an_state_flush(w->state);
	if (w->ndone == 0)
		return;
	an_runner_flush(w->runner);
	if (queue_sync(w->q) == -1)
		log_warn("worker: sync of the analyses");
	if (queue_index_put(w->ix, w->done, w->ndone) == -1)
		log_warnx("worker: index update failed: %s",
		    queue_index_error(w->ix));
	for (i = 0; i < w->ndone; i++) {
		json_decref(w->done[i].env);
		json_decref(w->done[i].an);
	}
	w->ndone = 0;
}

/*
 * wd_lock_read -- what message e's analysis.lock says of earlier analyses
 * (see the watchdog above): returns the attempts begun, or -1 when there
 * is no lock; *timedout if the last one ended past analysis_timeout; the
 * analyzers that did, "name\n" each, in skip.
 */
static int
wd_lock_read(struct worker *w, const struct queue_entry *e, bool *timedout,
    char *skip, size_t skiplen)
{
	char	 buf[WD_LOCK_MAX + 1], *line, *nl;
	ssize_t	 n;
	int	 fd, attempts = 0;

	*timedout = false;
	skip[0] = '\0';
	if ((fd = queue_open_file(w->q, e, "analysis.lock", O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, WD_LOCK_MAX);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (line = buf; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;		/* cut short: not a whole event */
		*nl = '\0';
		if (strcmp(line, "attempt") == 0) {
			attempts++;
			*timedout = false;
		} else if (strncmp(line, "timeout", 7) == 0) {
			*timedout = true;
			/* only names we know: the lock is ours, but a file */
			if (line[7] == ' ' && an_registry_find(line + 8) !=
			    NULL && strlen(skip) + strlen(line + 8) + 2 <=
			    skiplen) {
				strlcat(skip, line + 8, skiplen);
				strlcat(skip, "\n", skiplen);
			}
		}
	}
	return attempts;
}

/*
 * A message in new/ that is not whole (a power cut between the SMTP
 * role's move and its journal's flush leaves the files of a message that
 * was never acknowledged empty or cut short; an acknowledged one is put
 * back from the journal at start): moved to corrupt/ with the reason,
 * for a human, instead of being retried at every scan.
 */
static void
worker_quarantine(struct worker *w, struct queue_entry *e, const char *why)
{
	char	 esc[LOG_ESC_MAX];

	(void)queue_remove_file(w->q, e, "analysis.lock");
	if (queue_quarantine(w->q, e, why) == -1)
		log_warn("%s worker: not whole (%s) and cannot be moved to "
		    "corrupt/", e->id, log_esc(why, strlen(why), esc,
		    sizeof(esc)));
	else
		log_warnx("%s worker: not whole, moved to corrupt/: %s",
		    e->id, log_esc(why, strlen(why), esc, sizeof(esc)));
}

/* whether message's length is the envelope's "size"; if not, quarantined */
static bool
worker_size_ok(struct worker *w, struct queue_entry *e, json_t *env,
    size_t len)
{
	json_t	*v = json_object_get(env, "size");
	char	 why[128];

	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    (uint64_t)json_integer_value(v) == (uint64_t)len)
		return true;
	if (!json_is_integer(v))
		(void)snprintf(why, sizeof(why), "envelope.json: no size");
	else
		(void)snprintf(why, sizeof(why), "message: %zu bytes, the "
		    "envelope's size is %" JSON_INTEGER_FORMAT, len,
		    json_integer_value(v));
	worker_quarantine(w, e, why);
	return false;
}

/*
 * worker_analyze -- the pipeline for one committed message: every
 * analyzer (an_runner.c, the relay-test classifier last), then the
 * forwarder for a new relay-test verdict, then analysis.json and the
 * move from new/ to cur/; the index follows in worker_done(). A message
 * whose analysis stopped the worker (its analysis.lock left behind) is
 * analysed once more without the analyzer that ran past
 * analysis_timeout, then recorded as such and moved on, so one message
 * cannot stop the pipeline. Returns false if the message was not
 * analysed (not in new/, unreadable, or not whole and quarantined): the
 * caller indexes it as it is.
 */
static bool
worker_analyze(struct worker *w, const char *id)
{
	struct queue_entry e;
	char	 err[256], *msg, *js, skip[256];
	size_t	 len;
	json_t	*env = NULL, *res;
	int	 fd, attempts;
	bool	 timedout;

	if (queue_find(w->q, id, &e) == -1 || e.state != QUEUE_ST_NEW)
		return false;
	attempts = wd_lock_read(w, &e, &timedout, skip, sizeof(skip));
	if (attempts >= WD_ATTEMPTS) {
		if (timedout)
			log_warnx("%s worker: its analysis ran past "
			    "analysis_timeout (%ld s) %d times and the worker "
			    "was stopped; recorded and skipped", id,
			    w->conf->analysis_timeout, attempts);
		else
			log_warnx("%s worker: its analysis did not finish %d "
			    "times (the worker died); recorded and skipped",
			    id, attempts);
		res = json_pack("{s:{s:i,s:s}}", "runner", "version", 1,
		    "status", timedout ? "timeout" : "crashed");
	} else {
		if (attempts >= 0) {
			char	 names[sizeof(skip)], *p;

			/* "a\nb\n" -> "a b" for the log line */
			strlcpy(names, skip, sizeof(names));
			for (p = names; (p = strchr(p, '\n')) != NULL; p++)
				*p = p[1] != '\0' ? ' ' : '\0';
			log_warnx("%s worker: its last analysis did not "
			    "finish (%s); once more%s%s", id, timedout ?
			    "past analysis_timeout" : "the worker died",
			    names[0] ? " without " : "", names);
			fd = queue_open_file(w->q, &e, "analysis.lock",
			    O_WRONLY | O_APPEND);
			if (fd == -1 || write(fd, "attempt\n", 8) != 8)
				log_warn("%s worker: analysis.lock", id);
			if (fd != -1)
				close(fd);
		} else if (queue_write_file_flags(w->q, &e, "analysis.lock",
		    "attempt\n", 8, QUEUE_W_NOSYNC) == -1)
			/* against a worker that dies, not a machine: no sync */
			log_warn("%s worker: analysis.lock", id);
		if ((env = queue_envelope_load(w->q, &e, err,
		    sizeof(err))) == NULL) {
			if (errno == EBADMSG)
				worker_quarantine(w, &e, err);
			else
				log_warnx("%s worker: %s", id, err);
			return false;
		}
		if ((msg = queue_read_file(w->q, &e, "message", &len)) ==
		    NULL) {
			if (queue_file_bad(errno)) {
				char	 why[64];

				(void)snprintf(why, sizeof(why), "message: %s",
				    strerror(errno));
				worker_quarantine(w, &e, why);
			}
			else
				log_warn("%s worker: cannot read the message",
				    id);
			json_decref(env);
			return false;
		}
		if (!worker_size_ok(w, &e, env, len)) {
			free(msg);
			json_decref(env);
			return false;
		}
		wd_arm(w, &e);
		an_runner_skip(w->runner, skip[0] ? skip : NULL);
		res = an_runner_run(w->runner, &e, env, msg, len);
		worker_relaytest(w, &e, env, res);
		free(msg);
		wd_disarm();
	}
	js = json_dumps(res, JSON_COMPACT);
	if (js == NULL || queue_write_file_flags(w->q, &e, "analysis.json", js,
	    strlen(js), QUEUE_W_NOSYNC) == -1) {
		log_warn("%s worker: cannot store analysis.json", id);
		free(js);
		json_decref(env);
		json_decref(res);
		return false;
	}
	free(js);
	worker_analysis_event(id, res);
	(void)queue_remove_file(w->q, &e, "analysis.lock");
	if (queue_move_cur_flags(w->q, &e, QUEUE_W_NOSYNC) == -1)
		log_warn("%s worker: cannot move to cur/", id);
	/* indexed by worker_done() from what is in memory */
	if (w->ndone == WORKER_BATCH_MAX)
		worker_done(w);
	w->done[w->ndone].e = e;
	w->done[w->ndone].env = env;
	w->done[w->ndone++].an = res;
	return true;
}

static void
worker_sync(struct worker *w)
{
	struct queue_index_syncstat st;

	memset(&st, 0, sizeof(st));
	if (queue_index_sync(w->ix, &st) == -1)
		log_warnx("worker: index sync failed: %s",
		    queue_index_error(w->ix));
	else if (st.added || st.removed)
		log_debug("worker: index sync added=%ld removed=%ld", st.added,
		    st.removed);
}

static int
worker_analyze_cb(const struct queue_entry *e, void *arg)
{
	(void)worker_analyze(arg, e->id);
	return 0;
}

/* analyse whatever is in new/: messages whose notice was lost */
static void
worker_rescan(struct worker *w)
{
	w->rescan = false;
	(void)queue_walk(w->q, QUEUE_ST_NEW, worker_analyze_cb, w);
	worker_done(w);
}

/* every WORKER_SCAN seconds: new/ (whatever was missed), then the index */
static void
sync_cb(evutil_socket_t fd, short what, void *arg)
{
	worker_rescan(arg);
	worker_sync(arg);
}

/*
 * worker_flush -- index the gathered sessions, analyse the gathered
 * messages and index them with their results, in one transaction and one
 * sync each. (Until then `relaytrap` finds a message by its own sync of
 * the index.)
 */
static void
worker_flush(struct worker *w)
{
	char	*msgs[WORKER_BATCH_MAX], *sess[WORKER_BATCH_MAX];
	char	*left[WORKER_BATCH_MAX];
	size_t	 nm = 0, ns = 0, nl = 0, i;

	evtimer_del(w->batch_ev);
	for (i = 0; i < w->nids; i++) {
		if (w->ids[i][0] == 'm')
			msgs[nm++] = w->ids[i] + 1;
		else
			sess[ns++] = w->ids[i] + 1;
	}
	w->nids = 0;
	for (i = 0; i < nm; i++)
		if (!worker_analyze(w, msgs[i]))
			left[nl++] = msgs[i];
	/* one group commit for the whole batch's results and moves */
	worker_done(w);
	if (w->rescan)
		worker_rescan(w);
	if (queue_index_add(w->ix, left, nl, sess, ns) == -1)
		log_warnx("worker: index add failed: %s",
		    queue_index_error(w->ix));
}

static void
batch_cb(evutil_socket_t fd, short what, void *arg)
{
	worker_flush(arg);
}

/*
 * notify_cb -- lines "m<id>" (message committed) and "s<id>" (session
 * recorded) from the SMTP role: gathered for worker_flush(); "r<16 any>":
 * notices were lost to a full pipe, rescan new/ (worker_rescan()).
 */
static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval	 tv = { 0, WORKER_BATCH_MS * 1000 };
	char	 buf[WORKER_NOTIFY_BUF], *p, *nl;
	size_t	 have = w->carrylen;
	ssize_t	 n;

	memcpy(buf, w->carry, w->carrylen);
	n = read(fd, buf + have, sizeof(buf) - have - 1);
	if (n <= 0)
		return;
	have += (size_t)n;
	buf[have] = '\0';
	for (p = buf; (nl = memchr(p, '\n', have - (size_t)(p - buf))) != NULL;
	    p = nl + 1) {
		*nl = '\0';
		if (nl - p != QUEUE_ID_LEN + 1 || (p[0] != 'm' && p[0] != 's' &&
		    p[0] != 'r'))
			continue;
		if (p[0] == 'r') {
			w->rescan = true;
			continue;
		}
		if (w->nids == WORKER_BATCH_MAX)
			worker_flush(w);
		memcpy(w->ids[w->nids++], p, QUEUE_ID_LEN + 2);
	}
	w->carrylen = have - (size_t)(p - buf);
	if (w->carrylen > sizeof(w->carry))
		w->carrylen = 0;	/* not ours: drop */
	memcpy(w->carry, p, w->carrylen);
	if ((w->nids > 0 || w->rescan) && !evtimer_pending(w->batch_ev, NULL))
		evtimer_add(w->batch_ev, &tv);
}

static void
retire_cb(const char *day, void *arg)
{
	struct worker *w = arg;

	log_info("worker: retention removed day %s", day);
	if (queue_index_retire(w->ix, day) == -1)
		log_warnx("worker: index retire %s: %s", day,
		    queue_index_error(w->ix));
}

static void
retention_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	const struct conf *c = w->conf;

	if (c->retention_max_age == 0 && c->retention_max_size == 0)
		return;
	if (queue_retention(w->q, c->retention_max_age, c->retention_max_size,
	    retire_cb, w) == -1)
		log_warn("worker: retention");
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;

	event_base_loopexit(w->base, NULL);
}

/*
 * worker_run -- serve as the worker role until SIGTERM/SIGINT.
 */
void
worker_run(struct conf *conf, struct queue *q, const char *spool,
    int notify_fd)
{
	struct worker w;
	struct event *nev = NULL, *scan, *ret, *sterm, *sint;
	struct timeval tscan = { WORKER_SCAN, 0 };
	struct timeval tret = { WORKER_RETENTION, 0 };
	struct sigaction sa;
	char	 err[512];

	memset(&w, 0, sizeof(w));
	w.conf = conf;
	w.q = q;
	if ((w.base = event_base_new()) == NULL)
		fatalx("worker: cannot create an event base");
	if ((w.ix = queue_index_open(q, spool, err, sizeof(err))) == NULL)
		fatalx("worker: %s", err);
	{
		const char *errstr = NULL;
		char	*path;

		an_relaytest_init();
		if ((w.rtcfg = an_rt_config_new(conf, &errstr)) == NULL)
			fatalx("worker: relay-test classifier: %s", errstr);
		xasprintf(&path, "%s/state.sqlite", spool);
		if ((w.state = an_state_open(path, &errstr)) == NULL)
			log_warnx("worker: %s: %s; classifying without memory",
			    path, errstr);
		/* one transaction per batch, committed by worker_done() */
		an_state_batch(w.state, AN_STATE_WRITER);
		free(path);
		w.fwd = worker_fwd_new(w.base, conf, q, spool, w.state,
		    w.rtcfg);
		if ((w.runner = an_runner_new(conf, q, err,
		    sizeof(err))) == NULL)
			fatalx("worker: %s", err);
		/* the classifier's memory, recording what it sees */
		an_runner_set_memory(w.runner, w.state, true);
	}
	w.ids = xcalloc(WORKER_BATCH_MAX, sizeof(*w.ids));
	w.done = xcalloc(WORKER_BATCH_MAX, sizeof(*w.done));
	w.batch_ev = evtimer_new(w.base, batch_cb, &w);
	if (notify_fd != -1) {
		nev = event_new(w.base, notify_fd, EV_READ | EV_PERSIST,
		    notify_cb, &w);
		event_add(nev, NULL);
	}
	scan = event_new(w.base, -1, EV_PERSIST, sync_cb, &w);
	event_add(scan, &tscan);
	ret = event_new(w.base, -1, EV_PERSIST, retention_cb, &w);
	event_add(ret, &tret);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wd_alarm;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		fatal("worker: sigaction SIGALRM");
	sterm = evsignal_new(w.base, SIGTERM, stop_cb, &w);
	sint = evsignal_new(w.base, SIGINT, stop_cb, &w);
	evsignal_add(sterm, NULL);
	evsignal_add(sint, NULL);

	retention_cb(-1, 0, &w);
	worker_sync(&w);
	/* messages committed while no worker ran (crash, restart) */
	worker_rescan(&w);
	worker_sync(&w);
	event_base_dispatch(w.base);
	worker_flush(&w);

	if (nev)
		event_free(nev);
	event_free(scan);
	event_free(ret);
	event_free(sterm);
	event_free(sint);
	event_free(w.batch_ev);
	free(w.ids);
	free(w.done);
	queue_index_close(w.ix);
	worker_fwd_free(w.fwd);
	an_runner_free(w.runner);
	an_state_close(w.state);
	an_rt_config_free(w.rtcfg);
	an_relaytest_shutdown();
	event_base_free(w.base);
}
