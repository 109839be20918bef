/*
 * conf.h -- the loaded configuration: one struct, filled from one
 * declarative table (name, type, default, bounds) in conf.c.
 */
#ifndef RT_CONF_H
#define RT_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf_list {
	char	**v;
	size_t	  n;
};

struct conf {
	char		*path;		/* file it came from, or NULL */

	/* identity and persona */
	char		*hostname;
	char		*persona;

	/* listeners, spool, process */
	struct conf_list listen;	/* "[tls:|proxy:]ADDR:PORT" */
	char		*spool;
	char		*user;
	bool		 chroot;
	char		*event_log;

	/* TLS */
	char		*tls_cert;
	char		*tls_key;

	/* AUTH: "user:password" pairs that succeed (honeytokens) */
	struct conf_list auth_accept;

	/* limits */
	long		 max_sessions;
	long		 max_sessions_per_ip;
	long		 max_message_size;
	long		 max_recipients;
	long		 max_recipient_bytes;	/* RCPT argument bytes per
					   message */
	long		 max_line_length;
	long		 max_commands;
	long		 max_unknown_commands;
	long		 greet_pause;	/* ms before the banner; 0: none */
	long		 timeout_idle;
	long		 timeout_data;
	long		 timeout_session;
	long		 timeout_proxy;
	long		 transcript_max;

	/* relay-test classifier (analyzers/an_relaytest.c, docs/RELAYTEST.md) */
	struct conf_list trap_address;	/* public addresses of the trap */
	long		 relaytest_threshold;	/* score for "relay test" */
	long		 relaytest_cluster_first;	/* copies of a body */
	long		 relaytest_client_window;	/* seconds */
	long		 relaytest_tiny_body;	/* bytes of text */
	struct conf_list forward_always;	/* "rcpt:PAT" "sender:PAT" "subject:PAT" */
	struct conf_list forward_never;		/* same syntax */
	struct conf_list known_testers;		/* extra tester address patterns */

	/* forwarding of relay tests (reports/fwd_*.c); caps: -1 = no cap */
	char		*forward_mode;		/* off | dry-run | on */
	struct conf_list forward_route;	/* "domain=addr:port", "*=..." */
	struct conf_list resolver;	/* "addr:port" DNS servers; {} = system */
	char		*forward_helo;	/* EHLO name; "" = hostname */
	long		 forward_max_per_hour;
	long		 forward_max_per_day;
	long		 forward_max_per_client;
	long		 forward_max_per_net;
	long		 forward_max_per_asn;
	long		 forward_max_per_domain;
	long		 forward_max_per_dropbox;
	long		 forward_window;	/* seconds, per-subject caps */
	long		 forward_breaker_run;	/* bounces in a row; 0 = off */
	long		 forward_breaker_reset;	/* seconds; 0 = operator only */
	long		 forward_retry_base;	/* seconds, doubles per try */
	long		 forward_max_age;	/* seconds before giving up */
	long		 forward_timeout;	/* seconds per delivery */

	/* analyzers (issue 4): which run, in this order */
	struct conf_list analyzers;	/* names, analyzers/an_registry.c */
	long		 analyzer_budget;	/* ms per analyzer per message */
	long		 analysis_timeout;	/* s per message; 0 = none */
	struct conf_list geoip_db;	/* .mmdb files; {} = bundled default */
	char		*attachment_dir;	/* "" = attachments not saved */
	long		 campaign_fuzzy_threshold;	/* ssdeep score 0-100 */

	/* retention: 0 = unlimited */
	long		 retention_max_age;	/* days */
	int64_t		 retention_max_size;	/* bytes */
};

struct conf	*conf_load(const char *path, char *const *overrides,
		    size_t noverrides);
void		 conf_free(struct conf *c);
int64_t		 conf_parse_size(const char *s, const char **errstr);

#endif
