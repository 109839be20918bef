/*
 * conf_defs.h -- every limit and default, named once (STYLE 2).
 * The configuration table in conf.c refers to these; code never writes
 * the literal.
 */
#ifndef RT_CONF_DEFS_H
#define RT_CONF_DEFS_H

#define CONF_DEF_LISTEN			"127.0.0.1:2525"
#define CONF_DEF_PERSONA		"postfix"
#define CONF_DEF_USER			"relaytrap"
#define CONF_DEF_SPOOL			LOCALSTATEDIR "/spool/relaytrap"

#define CONF_DEF_MAX_SESSIONS		1000
#define CONF_MAX_MAX_SESSIONS		1000000
#define CONF_DEF_MAX_SESSIONS_PER_IP	50
#define CONF_DEF_MAX_MESSAGE_SIZE	0	/* the persona's stock limit */
#define CONF_MAX_MAX_MESSAGE_SIZE	(1024L * 1024 * 1024)
#define CONF_DEF_MAX_RECIPIENTS		1000		/* smtpd_recipient_limit */
#define CONF_MAX_MAX_RECIPIENTS		100000
#define CONF_DEF_MAX_RCPT_BYTES		(128 * 1024)	/* RCPT arguments per message */
#define CONF_MIN_MAX_RCPT_BYTES		1024
#define CONF_MAX_MAX_RCPT_BYTES		(64L * 1024 * 1024)
#define CONF_DEF_MAX_LINE_LENGTH	2048		/* line_length_limit */
#define CONF_MIN_MAX_LINE_LENGTH	512		/* RFC 5321 4.5.3.1.4 */
#define CONF_MAX_MAX_LINE_LENGTH	65536
#define CONF_DEF_MAX_COMMANDS		10000
#define CONF_DEF_MAX_UNKNOWN		20		/* smtpd_hard_error_limit */
#define CONF_DEF_TIMEOUT_IDLE		300		/* smtpd_timeout */
#define CONF_DEF_TIMEOUT_DATA		300
#define CONF_DEF_TIMEOUT_SESSION	3600
#define CONF_DEF_TIMEOUT_PROXY		10
#define CONF_DEF_TRANSCRIPT_MAX		65536
#define CONF_MAX_TIMEOUT		86400

/* relay-test classifier (docs/RELAYTEST.md) */
#define CONF_DEF_RELAYTEST_THRESHOLD	60
#define CONF_DEF_RELAYTEST_CLUSTER_FIRST 3	/* SHIVA relays 10; we are stricter */
#define CONF_DEF_RELAYTEST_CLIENT_WINDOW 86400	/* "first seen" = not in 24 h */
#define CONF_DEF_RELAYTEST_TINY_BODY	512	/* bytes of decoded text */

/* relay-test forwarding: conservative by default, dry-run */
#define CONF_DEF_FORWARD_MODE		"dry-run"
#define CONF_DEF_FORWARD_PER_HOUR	20
#define CONF_DEF_FORWARD_PER_DAY	100
#define CONF_DEF_FORWARD_PER_CLIENT	5
#define CONF_DEF_FORWARD_PER_NET	10
#define CONF_DEF_FORWARD_PER_ASN	20
#define CONF_DEF_FORWARD_PER_DOMAIN	10
#define CONF_DEF_FORWARD_PER_DROPBOX	3
#define CONF_DEF_FORWARD_WINDOW		86400
#define CONF_DEF_FORWARD_BREAKER_RUN	5
#define CONF_DEF_FORWARD_BREAKER_RESET	3600
#define CONF_DEF_FORWARD_RETRY_BASE	60
#define CONF_DEF_FORWARD_MAX_AGE	432000
#define CONF_DEF_FORWARD_TIMEOUT	60

/* analyzers (issue 4) */
#define CONF_DEF_ANALYZERS	"{origin, geoip, spf, content, campaign, relaytest}"
#define CONF_DEF_ANALYZER_BUDGET	2000	/* ms per analyzer per message */
#define CONF_DEF_ANALYSIS_TIMEOUT	300	/* s per message, then killed */
#define CONF_DEF_CAMPAIGN_FUZZY		80	/* ssdeep compare score */

#endif
