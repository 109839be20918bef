/*
 * smtp_session.h -- one SMTP client session inside the SMTP role, and the
 * server that owns the sessions. Private to smtpd/: the files that make up
 * the role (smtp_server.c, smtp_session.c, smtp_commands.c, smtp_tx.c,
 * smtp_auth_session.c, smtp_record.c, smtp_tls.c) share it.
 */
#ifndef RT_SMTP_SESSION_H
#define RT_SMTP_SESSION_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "buf.h"
#include "conf.h"
#include "persona.h"
#include "proxy.h"
#include "queue.h"
#include "smtp_auth.h"
#include "smtp_bdat.h"
#include "smtp_cmd.h"
#include "smtp_data.h"

/* The session states; changed only by smtp_enter_state(). */
enum smtp_state {
	SMTP_S_PROXY,		/* waiting for the PROXY header; no banner yet */
	SMTP_S_BANNER,		/* connected, banner not yet sent */
	SMTP_S_GREETED,		/* banner sent, no HELO/EHLO yet */
	SMTP_S_IDLE,		/* after HELO/EHLO, no transaction */
	SMTP_S_MAIL,		/* MAIL accepted */
	SMTP_S_RCPT,		/* at least one RCPT accepted */
	SMTP_S_DATA,		/* receiving message content */
	SMTP_S_BDAT,		/* reading a BDAT chunk (stored or not) */
	SMTP_S_WAIT_COMMIT,	/* content complete, waiting for durability */
	SMTP_S_AUTH,		/* inside a SASL exchange */
	SMTP_S_TLS,		/* TLS handshake in progress */
	SMTP_S_CLOSING,		/* final reply queued; close when flushed */
};

#define SMTP_ST(s)	(1u << (s))

/* buffer at most this much unread input (a PROXY v2 header fits) */
#define SMTP_INPUT_HIGH		(256 * 1024)
/* client bytes kept in the transcript that were never read as commands */
#define SMTP_RAW_KEEP		512

/* Findings: protocol oddities recorded as evidence (docs/SPOOL.md). */
enum smtp_finding {
	SMTP_F_PREGREET,
	SMTP_F_PIPELINING_NOEXT,
	SMTP_F_PIPELINING_AFTER_DATA,
	SMTP_F_BARE_LF,
	SMTP_F_BARE_CR,
	SMTP_F_NUL,
	SMTP_F_LONG_LINE,
	SMTP_F_8BIT_COMMAND,
	SMTP_F_CTRL_COMMAND,
	SMTP_F_LOWERCASE_VERB,
	SMTP_F_SMUGGLE_LF_DOT_CRLF,
	SMTP_F_SMUGGLE_CR_DOT_CRLF,
	SMTP_F_SMUGGLE_LF_DOT_LF,
	SMTP_F_SMUGGLE_CRLF_DOT_LF,
	SMTP_F_8BIT_DATA,
	SMTP_F_UNKNOWN_COMMAND,
	SMTP_F_NONSMTP_COMMAND,
	SMTP_F_AUTH_ATTEMPT,
	SMTP_F_BAD_SEQUENCE,
	SMTP_F_PATH_PERCENT,
	SMTP_F_PATH_BANG,
	SMTP_F_PATH_ROUTE,
	SMTP_F_PATH_QUOTED,
	SMTP_F_PATH_MULTI_AT,
	SMTP_F_PATH_NOBRACKETS,
	SMTP_F_PATH_IPLIT,
	SMTP_F_STARTTLS,
	SMTP_F_STARTTLS_INJECTION,
	SMTP_F_TLS_ERROR,
	SMTP_F_UNTERMINATED,
	SMTP_F_BDAT,		/* a BDAT chunk (CHUNKING) */
	SMTP_F_COUNT
};

/* Why a session ended (the "close" field of the session record). */
enum smtp_close {
	SMTP_C_NONE = 0,
	SMTP_C_QUIT,
	SMTP_C_EOF,
	SMTP_C_TIMEOUT,
	SMTP_C_DATA_TIMEOUT,
	SMTP_C_SESSION_TIME,
	SMTP_C_TOO_MANY_ERRORS,
	SMTP_C_TOO_MANY_COMMANDS,
	SMTP_C_TOO_MANY_SESSIONS,
	SMTP_C_TOO_MANY_FROM_IP,
	SMTP_C_PROXY_INVALID,
	SMTP_C_PROXY_TIMEOUT,
	SMTP_C_NONSMTP,
	SMTP_C_TLS_ERROR,
	SMTP_C_SHUTDOWN,
	SMTP_C_IO_ERROR,
};

struct smtp_server;

/* One mail transaction (MAIL .. end of DATA). */
struct smtp_tx {
	json_t		*mail_from;	/* envelope "mail_from" object */
	json_t		*rcpts;		/* envelope "rcpt" array */
	size_t		 nrcpt;
	size_t		 rcptbytes;	/* their RCPT arguments */
	struct timespec	 t_mail;
	struct timespec	 t_data;
	struct queue_msg *msg;		/* open while in DATA */
	struct smtp_data data;
	int		 write_errno;	/* first spool write error */
	char		 qid[PERSONA_QID_MAX];	/* persona queue id at the end */
	bool		 too_big;
	/* CHUNKING: the message came (or is coming) in BDAT chunks */
	bool		 bdat;
	unsigned long	 chunks;	/* chunks stored */
	uint64_t	 chunked;	/* their declared sizes, summed */
	struct smtp_bdat_count bcount;	/* the size Postfix would say */
	struct smtp_bdat_xcount xcount;	/* ... and Exim */
	uint64_t	 lastchunk;	/* the last chunk's size */
	bool		 prdr;		/* MAIL asked for PRDR */
};

/* Commands of which one is free per message (PERSONA_Q_NONMAIL) */
#define SMTP_NM_RSET		0x01
#define SMTP_NM_HELO		0x02
#define SMTP_NM_STARTTLS	0x04

/* Where an Exim persona's client is in a chunked message (smtp_bdat_exim.c) */
enum smtp_xbdat {
	SMTP_XBDAT_NONE,	/* not between chunks */
	SMTP_XBDAT_MORE,	/* a chunk that was not the LAST came */
	SMTP_XBDAT_RSET		/* then a wrong command: only RSET now */
};

/* What ends the BDAT chunk being read (smtp_bdat_session.c). */
struct smtp_chunk {
	uint64_t	 left;		/* bytes still to read */
	uint64_t	 size;		/* the chunk's declared size */
	bool		 last;
	bool		 store;		/* into the message; else discarded */
	enum persona_msg reply;		/* after a discarded chunk */
	bool		 reset;		/* ... and the transaction ends */
	bool		 exim;		/* ended by smtp_bdat_exim_end() */
	enum smtp_state	 resume;	/* the state after it */
};

/* SASL exchange in progress. */
struct smtp_authx {
	struct smtp_auth_cred cred;
	int		 step;		/* LOGIN: 0 user, 1 password */
	char		 challenge[128];	/* CRAM-MD5 challenge (clear) */
};

struct smtp_session {
	char		 id[QUEUE_ID_LEN + 1];
	struct smtp_server *srv;
	int		 lflags;	/* listener ADDR_F_* */
	struct bufferevent *bev;
	enum smtp_state	 state;
	enum smtp_state	 resume;	/* state to return to after AUTH/TLS */
	enum smtp_close	 close;

	struct sockaddr_storage peer;	/* the socket peer */
	struct sockaddr_storage local;	/* our end */
	struct sockaddr_storage client;	/* PROXY source or peer */
	char		 client_addr[INET6_ADDRSTRLEN];
	struct proxy_info *proxy;	/* NULL without a PROXY header */
	bool		 ip_counted;	/* holds a per-address slot */
	bool		 greet_paused;	/* in greet_pause: no banner yet */
	bool		 eof;		/* the client sent EOF: serve, then end */
	struct timespec	 t_greet;	/* when the pause began */

	char		*helo;		/* escaped HELO/EHLO argument */
	char		*helo_raw;	/* the argument's bytes, for records */
	size_t		 helo_rawlen;
	enum smtp_verb	 helo_verb;
	bool		 esmtp;
	bool		 tls;
	char		*tls_version;
	char		*tls_cipher;
	char		*tls_sni;
	/* what came in the clear while a TLS handshake was pending */
	struct evbuffer_cb_entry *tls_rawcb;
	char		*tls_raw;	/* its first SMTP_TLS_RAW_MAX bytes */
	size_t		 tls_rawlen;
	uint64_t	 tls_rawtotal;
	bool		 authenticated;
	bool		 skipping;	/* discarding an over-long line */
	bool		 timer_is_session; /* the read timeout is the session's
					    total time, not the idle/DATA one */

	struct smtp_tx	*tx;
	struct smtp_chunk chunk;	/* in SMTP_S_BDAT */
	bool		 bdat_error;	/* chunks are discarded up to the
					   next LAST (Postfix: "after
					   earlier error") */
	enum smtp_xbdat	 xbdat;
	struct smtp_authx *authx;
	json_t		*auth;		/* array of attempts, or NULL */
	unsigned long	 auth_unrecorded; /* attempts past SMTP_AUTH_KEEP */
	json_t		*messages;	/* array of message ids, or NULL */
	struct buf	*transcript;	/* raw lines, '\n'-separated */
	size_t		 transcript_mark; /* where the current message's part
					    begins (end of the previous one) */
	bool		 transcript_truncated;
	uint32_t	 findings[SMTP_F_COUNT];

	unsigned long	 commands;
	unsigned long	 errors;
	unsigned long	 junk;		/* commands PERSONA_Q_JUNK_LIMIT
					   counts */
	unsigned long	 unknown;	/* unknown commands, where the
					   persona has its own limit */
	unsigned long	 synprot;	/* syntax and protocol errors
					   (PERSONA_Q_SYNPROT) */
	/* Exim's memory of the RCPTs of a transaction (PERSONA_Q_RCPT_SAME) */
	char		*rcpt_reply;	/* the first RCPT's reply, or NULL */
	bool		 rcpt_differ;	/* a RCPT's since was another */
	bool		 rcpt_cut;	/* RCPT_ALL_SAME has shown it */
	bool		 had_data;	/* a DATA or BDAT was taken: Exim no
					   longer offers PIPECONNECT */
	bool		 rcpt_busy;	/* a RCPT is being answered */
	bool		 was_rcpt;	/* this command is a RCPT */
	bool		 last_was_rcpt;	/* the command before was */
	unsigned long	 nonmail;	/* PERSONA_Q_NONMAIL commands */
	unsigned int	 nonmail_used;	/* SMTP_NM_*: the free one of each
					   since the last message is used */
	unsigned long	 rejected;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	struct timespec	 t_start;
	bool		 commit_pending;	/* a commit callback will come */
	bool		 dead;		/* connection gone; free after commit */

	TAILQ_ENTRY(smtp_session) entry;
};

TAILQ_HEAD(smtp_session_list, smtp_session);

struct smtp_server {
	struct event_base	*base;
	struct conf		*conf;
	const struct persona	*persona;
	struct queue		*queue;
	struct queue_committer	*committer;
	struct event		*commit_ev;
	SSL_CTX			*ssl_ctx;	/* NULL: no TLS */
	struct smtp_session_list sessions;
	size_t			 nsessions;
	struct smtp_iptab	*iptab;
	uint64_t		 qid_seq;	/* last queue id's number */
	long			 size_limit;	/* message bytes enforced */
	long			 size_shown;	/* in EHLO; 0: a bare SIZE */
	int			 notify_fd;	/* to the worker; -1 if none */
	struct event		*rescan_ev;	/* retries a lost notice */
	bool			 shutting_down;
	struct evconnlistener	**listeners;
	int			*lflags;
	size_t			 nlisteners;
	struct event		*sigterm_ev;
	struct event		*sigint_ev;
	struct event		*shutdown_timer;
};

/* smtp_server.c */
struct smtp_server *smtp_server_new(struct event_base *base, struct conf *conf,
		    const struct persona *p, struct queue *q, SSL_CTX *ctx,
		    int notify_fd);
int		 smtp_server_listen(struct smtp_server *srv, int fd, int flags);
void		 smtp_server_run(struct smtp_server *srv);
void		 smtp_server_free(struct smtp_server *srv);
void		 smtp_server_notify(struct smtp_server *srv, char kind,
		    const char *id);
bool		 smtp_server_ip_acquire(struct smtp_server *srv,
		    const struct sockaddr *sa);
void		 smtp_server_ip_release(struct smtp_server *srv,
		    const struct sockaddr *sa);

/* smtp_session.c */
struct smtp_session *smtp_session_new(struct smtp_server *srv, int fd,
		    const struct sockaddr *sa, socklen_t salen, int lflags);
void		 smtp_session_setcb(struct smtp_session *s);
void		 smtp_enter_state(struct smtp_session *s, enum smtp_state st);
void		 smtp_reply(struct smtp_session *s, enum persona_msg m,
		    const char *arg);
void		 smtp_error(struct smtp_session *s, enum persona_msg m,
		    const char *arg);
void		 smtp_reply_qid(struct smtp_session *s, enum persona_msg m,
		    const char *qid);
void		 smtp_reply_qid_args(struct smtp_session *s,
		    enum persona_msg m, const char *qid, const char *arg,
		    const char *arg2);
bool		 smtp_synprot(struct smtp_session *s, enum persona_msg m,
		    const char *arg);
bool		 smtp_synprot_close(struct smtp_session *s,
		    enum persona_msg m, const char *arg, bool hangup);
void		 smtp_reply_raw(struct smtp_session *s, const char *text,
		    size_t len);
void		 smtp_close(struct smtp_session *s, enum smtp_close why);
void		 smtp_session_resume(struct smtp_session *s);
void		 smtp_session_set_timeout(struct smtp_session *s);
void		 smtp_session_shutdown(struct smtp_session *s);
void		 smtp_finish(struct smtp_session *s);
void		 smtp_vars(struct smtp_session *s, struct persona_vars *v,
		    const char *arg);

/* smtp_commands.c */
#define SMTP_ARG_TEXT_MAX	256	/* %a echo: sendmail's shortenstring() */
void		 smtp_no_rcpt(struct smtp_session *s, enum persona_msg m,
		    const char *verb);
void		 smtp_rcpt_forget(struct smtp_session *s);
void		 smtp_command(struct smtp_session *s, const char *line,
		    size_t len);
const char	*smtp_arg_text(const char *p, size_t n, char *out,
		    size_t outsz);

/* smtp_tx.c */
#define SMTP_PRDR_REPLY_MAX	(1024 * 1024)	/* a reply per recipient */
void		 smtp_tx_mail(struct smtp_session *s, const struct smtp_cmd *c);
void		 smtp_tx_rcpt(struct smtp_session *s, const struct smtp_cmd *c);
void		 smtp_tx_data(struct smtp_session *s, const struct smtp_cmd *c);
size_t		 smtp_tx_feed(struct smtp_session *s, const char *p, size_t n);
void		 smtp_tx_free(struct smtp_session *s);
bool		 smtp_tx_open(struct smtp_session *s);
void		 smtp_tx_write(struct smtp_session *s, const char *p,
		    size_t n);
void		 smtp_tx_done(struct smtp_session *s);
enum persona_msg smtp_tx_spool_reply(int e);

/* smtp_bdat_session.c */
void		 smtp_bdat_cmd(struct smtp_session *s, const struct smtp_cmd *c);
void		 smtp_bdat_read(struct smtp_session *s, uint64_t size,
		    bool last, bool store, enum persona_msg reply, bool reset,
		    bool exim);
void		 smtp_bdat_ended(struct smtp_session *s);
bool		 smtp_bdat_spool_failed(struct smtp_session *s);
size_t		 smtp_bdat_feed(struct smtp_session *s, const char *p,
		    size_t n);

/* smtp_bdat_exim.c */
void		 smtp_bdat_exim_cmd(struct smtp_session *s,
		    const struct smtp_cmd *c);
void		 smtp_bdat_exim_end(struct smtp_session *s);
bool		 smtp_bdat_exim_gate(struct smtp_session *s,
		    const struct smtp_cmd *c, int rc);

/* smtp_auth_session.c */
void		 smtp_auth_start(struct smtp_session *s, const struct smtp_cmd *c);
void		 smtp_auth_line(struct smtp_session *s, const char *line,
		    size_t len);
void		 smtp_auth_overlong(struct smtp_session *s);

/* smtp_record.c */
void		 smtp_finding(struct smtp_session *s, enum smtp_finding f);
void		 smtp_transcript(struct smtp_session *s, char dir,
		    const char *p, size_t len);
void		 smtp_transcript_raw(struct smtp_session *s, const char *p,
		    size_t len);
json_t		*smtp_record_conn(struct smtp_session *s);
json_t		*smtp_sockaddr_json(const struct sockaddr_storage *ss);
json_t		*smtp_record_transcript(struct smtp_session *s, size_t from);
json_t		*smtp_record_findings(struct smtp_session *s);
void		 smtp_record_session(struct smtp_session *s);
const char	*smtp_close_name(enum smtp_close c);
json_t		*smtp_time_json(const struct timespec *ts);
void		 smtp_path_findings(struct smtp_session *s, unsigned int flags);

/* smtp_tls.c */
SSL_CTX		*smtp_tls_ctx(const struct conf *conf, const char *cert,
		    const char *key);
int		 smtp_tls_ensure_cert(const struct conf *conf, const char *dir,
		    uid_t uid, gid_t gid, char **cert, char **key);
int		 smtp_tls_start(struct smtp_session *s);
void		 smtp_tls_raw_done(struct smtp_session *s);
void		 smtp_tls_raw_record(struct smtp_session *s);

#endif
