/*
 * an_runner.c -- the analysis pipeline of the worker role: the analyzers
 * named by `analyzers` run in that order over one message, each seeing
 * the envelope, the bytes and the results before it; each result lands
 * under its name in one JSON object that the caller stores as
 * analysis.json. An analyzer that fails, or runs past analyzer_budget
 * milliseconds, is recorded as such in "runner" and the others go on.
 * Analyzers are synchronous; DNS goes through an_dns (the resolver
 * module, with the `resolver` setting).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gmime/gmime.h>

#include "an_dns.h"
#include "an_runner.h"
#include "log.h"
#include "xmalloc.h"

#define AN_RUNNER_MAX	16

struct an_runner {
	const struct conf	*conf;
	struct queue		*q;
	const struct an_analyzer *an[AN_RUNNER_MAX];
	void			*state[AN_RUNNER_MAX];
	size_t			 n;
	struct an_dns		*dns;
	struct an_state		*memory;	/* an_runner_set_memory() */
	bool			 record;
	char			*skip;		/* next run only: "name\n"... */
};

/* the analyzer running now, for the worker's watchdog (an_runner.h) */
const char *volatile	 an_runner_current;

/*
 * an_runner_skip -- the next an_runner_run() does not run these analyzers
 * (names, each followed by a newline) and records each as "timeout": the
 * worker's retry of a message whose analysis one of them held past
 * analysis_timeout. NULL: run them all.
 */
void
an_runner_skip(struct an_runner *r, const char *names)
{
	free(r->skip);
	r->skip = names != NULL ? xstrdup(names) : NULL;
}

/* name is a line of list ("a\nb\n") */
static bool
name_listed(const char *list, const char *name)
{
	size_t	 n = strlen(name);
	const char *p;

	for (p = list; p != NULL && *p != '\0'; ) {
		if (strncmp(p, name, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return true;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return false;
}

/* the position of analyzer name in r, or -1 */
static int
an_runner_index(const struct an_runner *r, const char *name)
{
	size_t	 i;

	for (i = 0; r != NULL && i < r->n; i++)
		if (strcmp(r->an[i]->name, name) == 0)
			return (int)i;
	return -1;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * an_runner_check -- whether the analysis configuration would start: the
 * names in `analyzers` are known, and the analyzers whose init has no
 * side effects (the GeoIP databases: missing, unreadable, corrupt) pass
 * it. For relaytrapd -t and the parent's start, so that a bad setting is
 * an error there rather than a worker that dies and is restarted. Returns
 * 0, or -1 with the reason in err.
 */
int
an_runner_check(const struct conf *conf, char *err, size_t errlen)
{
	const struct an_analyzer *a;
	void	*state;
	size_t	 i;

	for (i = 0; i < conf->analyzers.n; i++) {
		const char *name = conf->analyzers.v[i];

		/* it reads the others' results: it runs after them */
		if (strcmp(name, "relaytest") == 0 && i + 1 < conf->analyzers.n) {
			(void)snprintf(err, errlen, "option 'analyzers': "
			    "\"relaytest\" must come last: the relay-test "
			    "classifier uses the other analyzers' results (ASN, "
			    "campaign)");
			return -1;
		}
		if ((a = an_registry_find(name)) == NULL) {
			(void)snprintf(err, errlen, "option 'analyzers': "
			    "unknown analyzer \"%s\" (known: %s)", name,
			    an_registry_names());
			return -1;
		}
		if (!a->check_by_init || a->init == NULL)
			continue;
		state = NULL;
		if (a->init(conf, &state, err, errlen) == -1)
			return -1;
		if (a->fini != NULL)
			a->fini(state);
	}
	return 0;
}

/*
 * an_runner_new -- initialise the enabled analyzers in order. An unknown
 * name is an error; a known analyzer this binary lacks is skipped with a
 * warning. Returns NULL with the reason in err.
 */
struct an_runner *
an_runner_new(const struct conf *conf, struct queue *q, char *err,
    size_t errlen)
{
	struct an_runner *r;
	const struct an_analyzer *a;
	size_t	 i;

	r = xcalloc(1, sizeof(*r));
	r->conf = conf;
	r->q = q;
	for (i = 0; i < conf->analyzers.n; i++) {
		const char *name = conf->analyzers.v[i];

		if ((a = an_registry_find(name)) == NULL) {
			if (strstr(an_registry_names(), name) != NULL) {
				log_warnx("analyzers: \"%s\" is not built into "
				    "this binary; skipped", name);
				continue;
			}
			(void)snprintf(err, errlen, "analyzers: unknown "
			    "analyzer \"%s\" (known: %s)", name,
			    an_registry_names());
			an_runner_free(r);
			return NULL;
		}
		if (r->n == AN_RUNNER_MAX) {
			(void)snprintf(err, errlen, "analyzers: too many");
			an_runner_free(r);
			return NULL;
		}
		r->state[r->n] = NULL;
		if (a->init != NULL && a->init(conf, &r->state[r->n], err,
		    errlen) == -1) {
			an_runner_free(r);
			return NULL;
		}
		r->an[r->n++] = a;
	}
	{
		const char **servers = NULL;

		if (conf->resolver.n > 0) {
			servers = xcalloc(conf->resolver.n + 1,
			    sizeof(*servers));
			for (i = 0; i < conf->resolver.n; i++)
				servers[i] = conf->resolver.v[i];
		}
		r->dns = an_dns_new(servers, 2000);
		free(servers);
	}
	return r;
}

/*
 * an_runner_wants -- true if the configuration enables analyzer name.
 */
bool
an_runner_wants(const struct an_runner *r, const char *name)
{
	return an_runner_index(r, name) != -1;
}

/*
 * an_runner_state -- the state analyzer name's init made (what its own
 * module's functions take, e.g. an_rt_take_fresh()), or NULL if it is
 * not enabled or keeps none.
 */
void *
an_runner_state(const struct an_runner *r, const char *name)
{
	int	 i = an_runner_index(r, name);

	return i == -1 ? NULL : r->state[i];
}

/*
 * an_runner_set_memory -- the classifier's store st (an_state.h; NULL:
 * none) for the analyzers that keep a memory across messages, and
 * whether they record what they see (the worker) or only look
 * (`relaytrap analyze`, whose re-runs must not count a message twice).
 */
void
an_runner_set_memory(struct an_runner *r, struct an_state *st, bool record)
{
	r->memory = st;
	r->record = record;
}

/*
 * an_runner_free -- finish every analyzer.
 */
void
an_runner_free(struct an_runner *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		if (r->an[i]->fini != NULL)
			r->an[i]->fini(r->state[i]);
	if (r->dns != NULL)
		an_dns_free(r->dns);
	free(r->skip);
	free(r);
}

static const char *
status_name(enum an_status st)
{
	switch (st) {
	case AN_OK:
		return "ok";
	case AN_SKIP:
		return "skip";
	case AN_TEMPFAIL:
		return "tempfail";
	default:
		return "error";
	}
}

/*
 * an_runner_flush -- the end of a batch of messages: every analyzer that
 * holds results back (the campaign store's batch transaction) makes them
 * visible now. Call it after each batch and before waiting for more.
 */
void
an_runner_flush(struct an_runner *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		if (r->an[i]->flush != NULL)
			r->an[i]->flush(r->state[i]);
}

/*
 * an_runner_run -- run every enabled analyzer over message e (envelope
 * env, bytes msg/msglen). Returns the results object ({"<name>": {...},
 * "runner": {"analyzed", "timings", "status"}}); never NULL. The
 * message is parsed by GMime at most once, for all of them (an_mime()).
 */
json_t *
an_runner_run(struct an_runner *r, const struct queue_entry *e,
    const json_t *env, const char *msg, size_t msglen)
{
	struct an_ctx ctx;
	json_t	*res = json_object(), *timings = json_object();
	json_t	*status = json_object(), *run;
	struct timespec ts;
	size_t	 i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = r->conf;
	ctx.q = r->q;
	ctx.entry = e;
	ctx.envelope = env;
	ctx.msg = msg;
	ctx.msglen = msglen;
	ctx.results = res;
	ctx.dns = r->dns;
	ctx.memory = r->memory;
	ctx.record = r->record;
	/* when the message arrived (its id), not when it is analysed */
	if (e != NULL && queue_id_time(e->id, &ts) == 0)
		ctx.now = ts.tv_sec;
	else
		ctx.now = time(NULL);
	for (i = 0; i < r->n; i++) {
		const struct an_analyzer *a = r->an[i];
		json_t	*out = NULL;
		int64_t	 t0 = now_ms(), dt;
		enum an_status st;

		if (name_listed(r->skip, a->name)) {
			json_object_set_new(status, a->name,
			    json_string("timeout"));
			continue;
		}
		an_runner_current = a->name;
		st = a->run(r->state[i], &ctx, &out);
		an_runner_current = NULL;
		dt = now_ms() - t0;
		json_object_set_new(timings, a->name, json_integer(dt));
		if (dt > r->conf->analyzer_budget) {
			log_warnx("%s analyzer %s took %lld ms (budget %ld)",
			    e->id, a->name, (long long)dt,
			    r->conf->analyzer_budget);
			json_object_set_new(status, a->name,
			    json_string("over_budget"));
		} else
			json_object_set_new(status, a->name,
			    json_string(status_name(st)));
		if (st != AN_OK && st != AN_SKIP)
			log_warnx("%s analyzer %s: %s", e->id, a->name,
			    status_name(st));
		if (out != NULL)
			json_object_set_new(res, a->name, out);
	}
	an_runner_skip(r, NULL);
	if (ctx.mime != NULL)
		g_object_unref(ctx.mime);
	run = json_object();
	json_object_set_new(run, "version", json_integer(1));
	json_object_set_new(run, "analyzed", json_integer(time(NULL)));
	json_object_set_new(run, "timings_ms", timings);
	json_object_set_new(run, "status", status);
	json_object_set_new(res, "runner", run);
	return res;
}
