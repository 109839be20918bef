/*
 * persona.h -- what the trap says, per emulated MTA (REFERENCE.md section
 * 2): banner, EHLO extensions, every reply text with its enhanced code,
 * HELP, queue-id format and the Received header. One table per product;
 * every reply of a session comes from the same table, so the dialect is
 * consistent. Replies are produced complete ("250-a\r\n250 b\r\n") so the
 * session writes each in one write(2).
 */
#ifndef RT_PERSONA_H
#define RT_PERSONA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PERSONA_REPLY_MAX	4096
#define PERSONA_QID_MAX		64

enum persona_msg {
	PM_BANNER,		/* 220 greeting */
	PM_HELO,		/* 250 reply to HELO x */
	PM_HELO_NOARG,		/* HELO without argument */
	PM_EHLO_NOARG,		/* EHLO without argument */
	PM_MAIL_OK,		/* %a = sender address as sent */
	PM_MAIL_NEED_HELO,	/* MAIL before HELO/EHLO */
	PM_MAIL_NESTED,		/* MAIL inside a transaction */
	PM_MAIL_SYNTAX,		/* MAIL without FROM: */
	PM_MAIL_BADADDR,	/* unparseable sender */
	PM_MAIL_BADPARAM,	/* %a = the unknown parameter */
	PM_MAIL_BADSIZE,	/* SIZE= not a number */
	PM_MAIL_TOOBIG,		/* SIZE= over the limit */
	PM_RCPT_OK,		/* %a = recipient address as sent */
	PM_RCPT_NEED_MAIL,
	PM_RCPT_SYNTAX,
	PM_RCPT_BADADDR,
	PM_RCPT_BADPARAM,	/* %a = the unknown parameter */
	PM_RCPT_TOO_MANY,	/* recipient cap */
	PM_DATA_GO,		/* 354 */
	PM_DATA_NEED_MAIL,
	PM_DATA_NEED_RCPT,
	PM_DATA_ARGS,		/* DATA with an argument */
	PM_DATA_OK,		/* %q = persona queue id */
	PM_DATA_TOOBIG,		/* message over the size cap */
	PM_DATA_NOSPACE,	/* 452: disk full */
	PM_DATA_TEMPFAIL,	/* 451: spool unwritable */
	PM_RSET,
	PM_NOOP,
	PM_QUIT,
	PM_VRFY,		/* %a = argument */
	PM_VRFY_NOARG,
	PM_EXPN,		/* %a = argument */
	PM_HELP,
	PM_ETRN,
	PM_UNKNOWN,		/* %a = the command line as sent (escaped) */
	PM_NOT_IMPLEMENTED,	/* known verb the persona refuses (BDAT...) */
	PM_NONSMTP,		/* GET/POST/CONNECT: Postfix hangs up */
	PM_SYNTAX,		/* generic argument error */
	PM_BAD_SEQUENCE,	/* generic 503 */
	PM_TOO_MANY_ERRORS,	/* 421, closes */
	PM_TOO_MANY_COMMANDS,	/* 421, closes */
	PM_LINE_TOO_LONG,	/* 500 */
	PM_TIMEOUT,		/* 421, closes */
	PM_DATA_TIMEOUT,	/* DATA stalled; closes */
	PM_SESSION_TIME,	/* 421, closes: total session time */
	PM_TOO_MANY_SESSIONS,	/* 421 at connect: global cap */
	PM_TOO_MANY_FROM_IP,	/* 421 at connect: per-address cap */
	PM_SHUTDOWN,		/* 421 on daemon shutdown */
	PM_STARTTLS_GO,		/* 220 */
	PM_STARTTLS_ARGS,	/* STARTTLS with an argument */
	PM_STARTTLS_UNAVAIL,	/* TLS not configured or already active */
	PM_AUTH_USERNAME,	/* 334 for LOGIN: "Username:" */
	PM_AUTH_PASSWORD,	/* 334 for LOGIN: "Password:" */
	PM_AUTH_EMPTY,		/* "334 " for PLAIN without initial response */
	PM_AUTH_CHALLENGE,	/* %a = base64 CRAM-MD5 challenge */
	PM_AUTH_OK,		/* 235 */
	PM_AUTH_FAILED,		/* 535 */
	PM_AUTH_ABORTED,	/* client sent "*" */
	PM_AUTH_BADMECH,	/* mechanism not offered */
	PM_AUTH_SYNTAX,		/* AUTH without mechanism */
	PM_AUTH_BADB64,		/* undecodable base64 */
	PM_AUTH_ALREADY,	/* AUTH after successful AUTH */
	PM_AUTH_IN_MAIL,	/* AUTH inside a transaction */
	/*
	 * Optional: a persona without the message (NULL in its table, see
	 * persona_has()) gives the general reply named beside it.
	 */
	PM_MAIL_BADVALUE,	/* %a = keyword: RET=, ENVID= bad (BADSIZE) */
	PM_RCPT_BADVALUE,	/* %a = keyword: NOTIFY=, ORCPT= bad (SYNTAX) */
	PM_RCPT_NULL,		/* RCPT TO:<> (RCPT_OK) */
	PM_RSET_ARGS,		/* RSET with an argument (RSET) */
	PM_EMPTY_LINE,		/* blank command line (UNKNOWN) */
	PM_BDAT,		/* BDAT, CHUNKING not offered
				   (NOT_IMPLEMENTED) */
	PM_XCLIENT,		/* XCLIENT/XFORWARD from a stranger
				   (UNKNOWN) */
	PM_ETRN_SYNTAX,		/* ETRN without one argument (ETRN) */
	PM_ETRN_BADARG,		/* ETRN argument not a domain (ETRN) */
	PM_ETRN_IN_MAIL,	/* ETRN inside a transaction (ETRN) */
	PM_AUTH_B64_PARTIAL,	/* base64 not in whole quads (AUTH_BADB64) */
	PM_AUTH_ARGS,		/* AUTH mech ir junk (AUTH_BADB64) */
	PM_AUTH_SERVER_FIRST,	/* initial response to CRAM-MD5
				   (AUTH_FAILED) */
	PM_STARTTLS_IN_MAIL,	/* STARTTLS inside a transaction
				   (BAD_SEQUENCE) */
	PM_STARTTLS_NO_EHLO,	/* STARTTLS before EHLO (TLS starts) */
	PM_AUTH_NO_EHLO,	/* AUTH before EHLO (BAD_SEQUENCE) */
	PM_ETRN_NOARG,		/* ETRN without argument (ETRN) */
	PM_ETRN_QUEUE,		/* %a = queue: "ETRN #queue" (ETRN) */
	PM_HELP_TOPIC,		/* %a = an unknown HELP topic (HELP) */
	PM_VERB,		/* VERB (UNKNOWN) */
	PM_VRFY_NODOMAIN,	/* %a = VRFY word without '@' (VRFY) */
	PM_ADDR_UNBALANCED_LT,	/* %a = path: '<' never closed
				   (MAIL_BADADDR, RCPT_BADADDR) */
	PM_ADDR_UNBALANCED_GT,	/* %a = path: '>' never opened (same) */
	PM_ADDR_NOHOST,		/* %a = path ending in '@' (same) */
	PM_ADDR_LIST,		/* %a = path "<@>" (same) */
	/*
	 * CHUNKING (RFC 3030): a persona that has PM_BDAT_OK advertises it
	 * and must have all of these; BDAT without MAIL or RCPT gets
	 * DATA_NEED_MAIL or DATA_NEED_RCPT.
	 */
	PM_BDAT_OK,		/* %a = the chunk's size */
	PM_BDAT_QUEUED,		/* %a = the message's size as the product
				   counts it (smtp_bdat.h), %b the last
				   chunk's size, %q queue id */
	PM_BDAT_SYNTAX,		/* not "count [LAST]": the chunk's end is
				   unknown, so it closes */
	PM_BDAT_NULL,		/* "BDAT 0" without LAST */
	PM_BDAT_DISCARDED,	/* %a = size: a chunk after an earlier
				   error in the same message */
	PM_BDAT_TOOBIG,		/* the chunks together over the limit */
	PM_QUIT_ARGS,		/* QUIT with an argument (QUIT) */
	PM_TOO_MANY_NONMAIL,	/* closes: PERSONA_Q_NONMAIL */
	PM_MAIL_AFTER_BDAT,	/* MAIL while chunks are discarded
				   (BAD_SEQUENCE) */
	PM_RCPT_AFTER_BDAT,	/* RCPT after a chunk (BAD_SEQUENCE) */
	PM_DATA_AFTER_BDAT,	/* DATA after a chunk (BAD_SEQUENCE) */
	/*
	 * Exim's CHUNKING (PERSONA_Q_EXIM_BDAT) and PRDR (a persona with
	 * PM_MAIL_PRDR advertises it and takes MAIL's PRDR parameter).
	 */
	PM_BDAT_NEED_RCPT,	/* BDAT without recipients (DATA_NEED_RCPT) */
	PM_BDAT_ONLY,		/* not BDAT, NOOP, RSET or QUIT after a
				   chunk that was not the LAST */
	PM_BDAT_RSET_ONLY,	/* anything but RSET or QUIT after that */
	PM_BDAT_LOST,		/* after the 221 to a QUIT between chunks */
	PM_MAIL_PRDR,		/* MAIL with PRDR: MAIL_OK, and PRDR is
				   offered */
	PM_PRDR_BEGIN,		/* after the message's end, then one
				   PRDR_RCPT per recipient (%a) */
	PM_PRDR_RCPT,
	PM_PRDR_OK,		/* the last reply, %q queue id */
	PM_MAIL_SMTPUTF8,	/* MAIL with SMTPUTF8 (taken) */
	PM_NEED_RCPT_PIPELINED,	/* %a = DATA or BDAT, right after a RCPT
				   with PIPELINING offered: not an error
				   (PERSONA_Q_RCPT_SAME) */
	PM_RCPT_ALL_SAME,	/* %a = that reply: before the 503 to DATA
				   or BDAT (PERSONA_Q_RCPT_SAME) */
	PM_COUNT
};

/*
 * What a product does beyond its texts (persona_quirk); all off is the
 * strict behaviour the trap had for every persona.
 */
#define PERSONA_Q_HELO_OPTIONAL	0x0001	/* MAIL and AUTH without HELO/EHLO
					   (Postfix smtpd_helo_required=no) */
#define PERSONA_Q_STARTTLS_IN_MAIL 0x0002 /* STARTTLS inside a transaction
					   ends it instead of a 503 */
#define PERSONA_Q_PARAM_TOKEN	0x0004	/* %a of *_BADPARAM is the whole
					   "KEY=value" as sent, and BODY=
					   values or BINARYMIME not offered
					   are unsupported options */
#define PERSONA_Q_FORBID_CMDS	0x0008	/* non-SMTP = CONNECT, GET, POST,
					   a header ("X:") or a word not
					   starting with a letter
					   (Postfix smtpd_forbidden_commands);
					   other verbs are just unknown */
#define PERSONA_Q_ETRN_STRIP	0x0010	/* ETRN echoes the domain without a
					   leading '@' or '#' */
#define PERSONA_Q_VRFY_ADDR	0x0020	/* VRFY takes one address (an
					   " SMTPUTF8" after it is dropped);
					   else RCPT_BADADDR */
#define PERSONA_Q_JUNK_LIMIT	0x0040	/* past PERSONA_JUNK_MAX of HELO,
					   EHLO, RSET, NOOP, VRFY, ETRN,
					   XCLIENT, XFORWARD each counts as
					   an error (Postfix
					   smtpd_junk_command_limit) */
#define PERSONA_Q_AUTH_NO_EHLO	0x0080	/* AUTH without EHLO is taken
					   (Sendmail offers no choice) */
#define PERSONA_Q_PATH_ECHO	0x0100	/* MAIL/RCPT replies echo the path
					   as sent (Sendmail's e_to): %a of
					   *_OK and *_BADADDR is it with its
					   brackets, of *_SYNTAX the word
					   before ':' */
#define PERSONA_Q_STRIP8	0x0200	/* %a is shown 7-bit: the top bit
					   of each byte dropped (sendmail
					   reads commands 7-bit) */
#define PERSONA_Q_PROXY_GUARD	0x0400	/* a first command GET, POST,
					   CONNECT or USER and a space gets
					   NONSMTP; other non-SMTP words are
					   unknown commands, echoed whole */
#define PERSONA_Q_DATA_ARGS	0x0800	/* DATA ignores an argument */
#define PERSONA_Q_EMPTY_LOCAL	0x2000	/* "@domain" is an address (Postfix);
					   else *_BADADDR */
#define PERSONA_Q_EXIM_ADDR	0x8000	/* MAIL/RCPT only as "MAIL FROM:" and
					   "RCPT TO:", else unknown; errors
					   are "<path>: reason" in %a, and a
					   parameter after HELO is one
					   (Exim parse_extract_address);
					   DATA's argument checked first */
#define PERSONA_Q_SYNPROT	0x10000	/* past PERSONA_SYNPROT_MAX replies
					   500..503 the next one is followed
					   by "CODE Too many syntax or
					   protocol errors" and the close
					   (Exim smtp_max_synprot_errors) */
#define PERSONA_SYNPROT_MAX	3
#define PERSONA_Q_NONMAIL	0x20000	/* past PERSONA_NONMAIL_MAX NOOP,
					   HELP, VRFY, EXPN, ETRN, HELO/EHLO,
					   RSET or STARTTLS (one of each of
					   the last three free per message)
					   the next gets TOO_MANY_NONMAIL and
					   the close (Exim
					   smtp_accept_max_nonmail) */
#define PERSONA_NONMAIL_MAX	10
#define PERSONA_Q_OLD_VERBS	0x4000	/* SEND, SOML, SAML, TURN get
					   NOT_IMPLEMENTED with the line, not
					   counted (sendmail CMDUNIMPL) */
#define PERSONA_Q_EXIM_BDAT	0x40000	/* BDAT as Exim takes it
					   (smtp_bdat_exim.c) */
#define PERSONA_Q_RCPT_SAME	0x80000	/* DATA or BDAT without recipients
					   when every RCPT since MAIL, RSET,
					   HELO or a message got the same
					   refusal: RCPT_ALL_SAME first, and
					   right after such a RCPT with
					   PIPELINING offered
					   NEED_RCPT_PIPELINED (Exim) */
#define PERSONA_Q_DOMAIN_SYNTAX	0x1000	/* MAIL and RCPT refuse a domain
					   that is no host name or address
					   literal (Postfix: valid_hostname,
					   valid_mailhost_literal) with
					   *_BADADDR */
#define PERSONA_Q_CTRL_LOCAL	0x100000 /* a path with control bytes
					   (SMTP_PATH_F_CTRL) is taken
					   (Postfix: tok822 reads them as
					   atom text) */
#define PERSONA_Q_TOK822	0x200000 /* MAIL and RCPT read the address
					   as Postfix does (smtp_pfaddr.c):
					   RFC 822 words, comments, one
					   address only */
#define PERSONA_JUNK_MAX	100

/* EHLO extension switches chosen per session */
#define PERSONA_EXT_STARTTLS	0x01	/* TLS available and not yet active */
#define PERSONA_EXT_AUTH	0x02
#define PERSONA_EXT_PIPECONNECT	0x04	/* no DATA or BDAT yet (Exim) */

struct persona_vars {
	const char	*hostname;	/* the trap's name */
	const char	*client_addr;	/* "203.0.113.9" */
	const char	*client_name;	/* PTR name or NULL */
	const char	*helo;		/* HELO/EHLO argument (escaped) or NULL */
	const char	*arg;		/* %a, already made printable */
	const char	*queue_id;	/* %q */
	const char	*arg2;		/* %b, like %a */
	long		 size_limit;	/* %z: the limit enforced */
	long		 size_shown;	/* %Z: " N" in EHLO; 0: nothing */
	time_t		 now;
};

struct persona_received {
	const char	*hostname;
	const char	*helo;		/* may be NULL */
	const char	*client_addr;
	const char	*client_name;	/* may be NULL */
	const char	*queue_id;
	const char	*rcpt;		/* for "for <rcpt>"; NULL to omit */
	bool		 esmtp;		/* EHLO rather than HELO */
	bool		 tls;
	const char	*tls_version;	/* "TLSv1.3" */
	const char	*tls_cipher;
	bool		 auth;
	time_t		 when;
	const char	*sender;	/* envelope sender for Exim's
					   "(envelope-from <...>)"; NULL or ""
					   to omit */
};

struct persona;

const struct persona *persona_find(const char *name);
const char	*persona_name(const struct persona *p);
const char	*persona_names(void);	/* "postfix, sendmail, exim" */
size_t		 persona_reply(const struct persona *p, enum persona_msg m,
		    const struct persona_vars *v, char *out, size_t outsz);
size_t		 persona_ehlo(const struct persona *p,
		    const struct persona_vars *v, unsigned int ext,
		    char *out, size_t outsz);
const char	*persona_auth_mechs(const struct persona *p);
long		 persona_size_limit(const struct persona *p);
unsigned int	 persona_unknown_max(const struct persona *p);
bool		 persona_help_file(const struct persona *p);
size_t		 persona_help(const struct persona *p, const char *topic,
		    size_t len, char *out, size_t outsz);
bool		 persona_closes(const struct persona *p, enum persona_msg m);
bool		 persona_has(const struct persona *p, enum persona_msg m);
bool		 persona_quirk(const struct persona *p, unsigned int q);
void		 persona_queue_id(const struct persona *p, time_t now,
		    uint64_t seq, char *out, size_t outsz);
size_t		 persona_received_header(const struct persona *p,
		    const struct persona_received *r, char *out, size_t outsz);

#endif
