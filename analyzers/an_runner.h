/*
 * an_runner.h -- runs the configured analyzers (an.h) over one message
 * and stores their results in analysis.json beside it; used by the worker
 * role for every committed message and by `relaytrap analyze`.
 */
#ifndef RT_AN_RUNNER_H
#define RT_AN_RUNNER_H

#include <stdbool.h>

#include <jansson.h>

#include "an.h"
#include "conf.h"
#include "queue.h"

struct an_runner;

const struct an_analyzer *an_registry_find(const char *name);
const char	*an_registry_names(void);

int		 an_runner_check(const struct conf *conf, char *err,
		    size_t errlen);
struct an_runner *an_runner_new(const struct conf *conf, struct queue *q,
		    char *err, size_t errlen);
void		 an_runner_free(struct an_runner *r);
json_t		*an_runner_run(struct an_runner *r,
		    const struct queue_entry *e, const json_t *env,
		    const char *msg, size_t msglen);
bool		 an_runner_wants(const struct an_runner *r, const char *name);
void		*an_runner_state(const struct an_runner *r, const char *name);
void		 an_runner_set_memory(struct an_runner *r, struct an_state *st,
		    bool record);
void		 an_runner_skip(struct an_runner *r, const char *names);

/* the analyzer running now, NULL between: for a watchdog */
extern const char *volatile an_runner_current;
void		 an_runner_flush(struct an_runner *r);

#endif
