/*
 * worker_forward.h -- the worker role's forwarding of relay tests: the
 * decision per recipient (known testers, circuit breaker, exact caps), the
 * persistent queue, route or MX lookup, delivery and its bookkeeping.
 * Only verdicts of the relay-test classifier feed it; nothing else ever
 * leaves the machine (DESIGN.md, rules no change may break).
 */
#ifndef RT_WORKER_FORWARD_H
#define RT_WORKER_FORWARD_H

#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "an_relaytest.h"
#include "an_state.h"
#include "conf.h"
#include "queue.h"

struct worker_fwd;

struct worker_fwd *worker_fwd_new(struct event_base *base, struct conf *conf,
		    struct queue *q, const char *spool, struct an_state *st,
		    const struct an_rt_config *rtcfg);
void		 worker_fwd_free(struct worker_fwd *wf);
void		 worker_fwd_message(struct worker_fwd *wf, const char *id,
		    const json_t *env, const struct an_rt_verdict *v,
		    uint32_t asn);

#endif
