/*
 * an_relaytest.h -- the relay-test classifier: decides whether a committed
 * message is a spammer's relay test (to be forwarded), spam (kept), or a
 * legitimate tester's probe (kept, never forwarded), and explains why.
 * Signals, weights and the threshold: docs/RELAYTEST.md.
 */
#ifndef RT_AN_RELAYTEST_H
#define RT_AN_RELAYTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "an_state.h"
#include "conf.h"

enum an_rt_kind {
	AN_RT_SPAM = 0,
	AN_RT_RELAY_TEST = 1,
	AN_RT_TESTER = 2,
};

/* built once from the configuration; read-only while classifying */
struct an_rt_config;

struct an_rt_input {
	const struct an_rt_config *cfg;
	const json_t	*envelope;	/* envelope.json, docs/SPOOL.md */
	const char	*msg;		/* message bytes as spooled */
	size_t		 msglen;
	struct an_state	*state;	/* NULL: no state signals */
	int64_t		 now;		/* unix seconds */
	bool		 update;	/* record this message in state */
	uint32_t	 asn;		/* client's ASN from geoip; 0 unknown */
	const char	*campaign;	/* campaign id from the campaign
					   analyzer: the cluster that copies
					   are counted in; NULL: a hash of
					   the normalised text */
	void		*mime;		/* GMimeMessage * of msg (borrowed),
					   or NULL: parsed here */
};

struct an_rt_reason {
	char		*name;		/* "trap_addr_subject", ... */
	long		 weight;
	char		*detail;	/* human text, valid UTF-8 */
};

struct an_rt_verdict {
	enum an_rt_kind	 kind;
	long		 score;
	long		 threshold;
	struct an_rt_reason *reasons;	/* every signal that fired */
	size_t		 nreasons;
	json_t		*json;		/* relaytest.json, owned */
};

void			 an_relaytest_init(void);
void			 an_relaytest_shutdown(void);
struct an_rt_config	*an_rt_config_new(const struct conf *conf,
			    const char **errstr);
int			 an_rt_config_add_addr(struct an_rt_config *cfg,
			    const char *addr, const char **errstr);
void			 an_rt_config_free(struct an_rt_config *cfg);
int			 an_relaytest_classify(const struct an_rt_input *in,
			    struct an_rt_verdict *out);
void			 an_rt_verdict_free(struct an_rt_verdict *v);
bool			 an_rt_take_fresh(void *state, struct an_rt_verdict *v);
const char		*an_rt_kind_name(enum an_rt_kind kind);
bool			 an_rt_is_tester(const struct an_rt_config *cfg,
			    const char *addr, const char **which);

#endif
