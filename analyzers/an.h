/*
 * an.h -- the analyzer interface (issue 4). One file per analyzer, each
 * exporting one `const struct an_analyzer an_<name>`; a static registry
 * (an_registry.c) lists them; the configuration (`analyzers = {...}`)
 * enables and orders them. The runner (an_runner.c, worker role) gives
 * each analyzer the message, its envelope and the results of the
 * analyzers before it, and stores every result in analysis.json.
 * Analyzers run in the worker role only: never in the SMTP role.
 */
#ifndef RT_AN_H
#define RT_AN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"
#include "queue.h"

struct an_dns;		/* synchronous DNS for analyzers: an_dns.h */
struct an_state;	/* the classifier's memory: an_state.h */

enum an_status {
	AN_OK = 0,	/* *out holds the result */
	AN_SKIP,	/* nothing to say for this message (no *out) */
	AN_TEMPFAIL,	/* try again later (DNS down...); *out may explain */
	AN_ERROR,	/* this message broke the analyzer; *out explains */
};

struct an_ctx {
	const struct conf	*conf;
	struct queue		*q;
	const struct queue_entry *entry;
	const json_t		*envelope;	/* envelope.json */
	const char		*msg;		/* message bytes, as stored */
	size_t			 msglen;
	json_t			*results;	/* {"origin": {...}, ...} so far */
	struct an_dns		*dns;		/* may be NULL: no lookups */
	int64_t			 now;		/* unix seconds: when the
						   message arrived */
	void			*mime;		/* GMimeMessage *, see an_mime() */
	struct an_state		*memory;	/* may be NULL: none kept */
	bool			 record;	/* record in memory what is
						   seen (the worker), or only
						   look (relaytrap analyze) */
};

struct an_analyzer {
	const char	*name;			/* key in analysis.json */
	/* at worker start: -1 with a message in err stops the worker */
	int		(*init)(const struct conf *conf, void **state,
			    char *err, size_t errlen);
	enum an_status	(*run)(void *state, struct an_ctx *ctx, json_t **out);
	/* may be NULL: at the end of a batch, make what run() stored
	   visible to readers (an_runner_flush) */
	void		(*flush)(void *state);
	void		(*fini)(void *state);
	/* may be NULL: init has no side effects (nothing created or
	   written), so relaytrapd -t and the parent at start may call init
	   and fini to report a bad configuration before the worker runs */
	bool		 check_by_init;
};

/* the message parsed by GMime, once per message (NULL if unparseable) */
void	*an_mime(struct an_ctx *ctx);
void	*an_mime_parse(const char *msg, size_t len);
const char *an_mime_refused(const char *msg, size_t len);
const char *an_casemem(const void *p, size_t n, const char *needle);
bool	 an_mime_blank(const char *p, size_t n);
const char *an_mime_crline(const char *msg, size_t len);
size_t	 an_strip_nul(char *p, size_t n);
/* the text of a GMimeTextPart, UTF-8, without NULs, and its length */
const char *an_mime_part_text(void *part, size_t *len);

#endif
