/*
 * persona_tables.c -- what each emulated MTA says, one table per product:
 * Postfix 3.7 (Debian 12, the default), Sendmail 8.17.1.9 (Debian 12) and
 * Exim 4.96 (Debian 12). Data only; persona.c renders it.
 *
 * Every string comes from REFERENCE.md section 2 or from the product's
 * source read with the search tools; the comment beside each says where.
 * "[src]" = read in the source (repository, file, and the statement);
 * "[ref]" = REFERENCE.md 2.3/2.4; "[memory]" = not re-read, an XXX;
 * "[verified]" = the same input sent to a real Debian 12 postfix 3.7.11
 * (open relay, smtpd_helo_required=no, Cyrus SASL) gave this reply.
 * Repositories: vdukhovni/postfix (smtpd.c at 3e5e18a5, smtpd_sasl_*.c,
 * xsasl_cyrus_server.c, xsasl_dovecot_server.c, postscreen),
 * deepin-community/sendmail 8.17.1.9 (srvrsmtp.c; cf/m4/proto.m4
 * HReceived as found in generated .cf files), an Exim 4.9x smtp_in.c
 * (the fl./f. flag era) and the pcre2 globals.c of 4.96 for
 * received_header_text.
 *
 * Rules every table keeps (tests/unit/test_persona.c checks them):
 * - no MAIL/RCPT/RSET reply carries "530" by itself (nmap's
 *   smtp-open-relay aborts on it, REFERENCE 1.1); only %a may;
 * - CHUNKING is advertised exactly when the table has the BDAT replies
 *   (PM_BDAT_OK and the rest; Postfix's discarding, Exim's between
 *   chunks); without them BDAT gets what the product says when CHUNKING
 *   is off; PRDR likewise with PM_MAIL_PRDR and the PRDR replies;
 * - the AUTH line of EHLO is "AUTH " followed by auth_mechs.
 */

#include "config.h"

#include <stddef.h>

#include "persona_int.h"

/* ------------------------------------------------------------------ */
/* Postfix 3.7 on Debian 12					      */
/* ------------------------------------------------------------------ */

/* smtpd.c ehlo_cmd() order [ref 2.4] */
static const struct persona_ext postfix_ehlo[] = {
	{ "PIPELINING", 0 },
	{ "SIZE%Z", 0 },
	{ "VRFY", 0 },
	{ "ETRN", 0 },
	{ "STARTTLS", PERSONA_EXT_STARTTLS },
	{ "AUTH PLAIN LOGIN CRAM-MD5", PERSONA_EXT_AUTH },
	{ "ENHANCEDSTATUSCODES", 0 },
	{ "8BITMIME", 0 },
	{ "DSN", 0 },
	{ "SMTPUTF8", 0 },
	{ "CHUNKING", 0 },
	{ NULL, 0 }
};

#define POSTFIX_UNKNOWN	"500 5.5.2 Error: command not recognized"
#define POSTFIX_TOOMANY	"421 4.7.0 %h Error: too many errors"
#define POSTFIX_TIMEOUT	"421 4.4.2 %h Error: timeout exceeded"

const struct persona persona_postfix = {
	.name = "postfix",
	.style = PERSONA_POSTFIX,
	.ipv6_tag = true,
	.auth_mechs = "PLAIN LOGIN CRAM-MD5",
	.size_limit = 10240000,		/* [src] mail_params.h DEF_MESSAGE_LIMIT */
	.ehlo_greeting = "250 %h",
	.ehlo = postfix_ehlo,
	/* [verified] against Debian 12's postfix 3.7.11, main.cf defaults */
	.quirks = PERSONA_Q_HELO_OPTIONAL | PERSONA_Q_STARTTLS_IN_MAIL |
	    PERSONA_Q_PARAM_TOKEN | PERSONA_Q_FORBID_CMDS |
	    PERSONA_Q_ETRN_STRIP | PERSONA_Q_VRFY_ADDR | PERSONA_Q_JUNK_LIMIT |
	    PERSONA_Q_DOMAIN_SYNTAX | PERSONA_Q_EMPTY_LOCAL |
	    PERSONA_Q_CTRL_LOCAL | PERSONA_Q_TOK822,
	.msg = {
		/* [ref] mail_params.h DEF_SMTPD_BANNER + Debian suffix */
		[PM_BANNER] = "220 %h ESMTP Postfix (Debian/GNU)",
		[PM_HELO] = "250 %h",			/* [ref] smtpd.c */
		[PM_HELO_NOARG] = "501 Syntax: HELO hostname",	/* [ref] */
		[PM_EHLO_NOARG] = "501 Syntax: EHLO hostname",	/* [ref] */
		[PM_MAIL_OK] = "250 2.1.0 Ok",			/* [ref] */
		[PM_MAIL_NEED_HELO] =
		    "503 5.5.1 Error: send HELO/EHLO first",	/* [ref] */
		[PM_MAIL_NESTED] =
		    "503 5.5.1 Error: nested MAIL command",	/* [ref] */
		[PM_MAIL_SYNTAX] =
		    "501 5.5.4 Syntax: MAIL FROM:<address>",	/* [ref] */
		[PM_MAIL_BADADDR] =
		    "501 5.1.7 Bad sender address syntax",	/* [ref] */
		[PM_MAIL_BADPARAM] =
		    "555 5.5.4 Unsupported option: %a",		/* [ref] */
		[PM_MAIL_BADSIZE] =
		    "501 5.5.4 Bad message size syntax",	/* [ref] */
		/* [ref] smtpd_check.c smtpd_check_size() */
		[PM_MAIL_TOOBIG] = "552 5.3.4 Message size exceeds fixed limit",
		[PM_RCPT_OK] = "250 2.1.5 Ok",			/* [ref] */
		[PM_RCPT_NEED_MAIL] =
		    "503 5.5.1 Error: need MAIL command",	/* [ref] */
		/* [memory] smtpd.c rcpt_cmd(), twin of the MAIL one */
		[PM_RCPT_SYNTAX] = "501 5.5.4 Syntax: RCPT TO:<address>",
		[PM_RCPT_BADADDR] =
		    "501 5.1.3 Bad recipient address syntax",	/* [ref] */
		/* [src] smtpd.c rcpt_cmd(), as mail_cmd() */
		[PM_RCPT_BADPARAM] = "555 5.5.4 Unsupported option: %a",
		[PM_RCPT_TOO_MANY] =
		    "452 4.5.3 Error: too many recipients",	/* [ref] */
		/* [ref] */
		[PM_DATA_GO] = "354 End data with <CR><LF>.<CR><LF>",
		/*
		 * [verified] smtpd.c data_cmd(): no recipient and no
		 * transaction: 503; a transaction without recipients: 554.
		 */
		[PM_DATA_NEED_MAIL] = "503 5.5.1 Error: need RCPT command",
		[PM_DATA_NEED_RCPT] = "554 5.5.1 Error: no valid recipients",
		[PM_DATA_ARGS] = "501 5.5.4 Syntax: DATA",	/* [src] */
		[PM_DATA_OK] = "250 2.0.0 Ok: queued as %q",	/* [ref] */
		/* [ref] cleanup_strerror.c via "%d %s Error: %s" */
		[PM_DATA_TOOBIG] = "552 5.3.4 Error: message file too big",
		/* [memory] cleanup_strerror.c CLEANUP_STAT_WRITE/no space */
		[PM_DATA_NOSPACE] = "452 4.3.1 Insufficient system storage",
		[PM_DATA_TEMPFAIL] = "451 4.3.0 Error: queue file write error",
		[PM_RSET] = "250 2.0.0 Ok",			/* [ref] */
		[PM_NOOP] = "250 2.0.0 Ok",			/* [ref] */
		[PM_QUIT] = "221 2.0.0 Bye",			/* [ref] */
		[PM_VRFY] = "252 2.0.0 %a",			/* [ref] */
		/* [verified] smtputf8_enable=yes adds " [SMTPUTF8]" */
		[PM_VRFY_NOARG] = "501 5.5.4 Syntax: VRFY address [SMTPUTF8]",
		/* [ref] 3.7 has no EXPN/HELP: unknown command, 500 since 3.7 */
		[PM_EXPN] = POSTFIX_UNKNOWN,
		[PM_HELP] = POSTFIX_UNKNOWN,
		/*
		 * [src] smtpd.c etrn_cmd(): FLUSH_STAT_DENY when the domain
		 * is not in fast_flush_domains (= $relay_domains, empty on
		 * Debian 12); no enhanced code in this one.
		 */
		[PM_ETRN] = "459 <%a>: service unavailable",
		[PM_UNKNOWN] = POSTFIX_UNKNOWN,			/* [ref] */
		/* [ref] STARTTLS with TLS off; same text for other verbs */
		[PM_NOT_IMPLEMENTED] =
		    "502 5.5.1 Error: command not implemented",
		/* [ref] smtpd.c, smtpd_forbid_cmds: closes */
		[PM_NONSMTP] =
		    "221 2.7.0 Error: I can break rules, too. Goodbye.",
		/* XXX [memory] */
		[PM_SYNTAX] = "501 5.5.4 Syntax error",
		/* XXX no generic 503 in Postfix; the ordering error it uses */
		[PM_BAD_SEQUENCE] = "503 5.5.1 Error: send HELO/EHLO first",
		[PM_TOO_MANY_ERRORS] = POSTFIX_TOOMANY,		/* [ref] */
		/* junk commands count as errors (smtpd_junk_command_limit) */
		[PM_TOO_MANY_COMMANDS] = POSTFIX_TOOMANY,
		/*
		 * 3.7 skips the excess of an over-long line and parses the
		 * rest as a command (the 3.12 "command too long" reply is
		 * newer than the persona): answer as to garbage.
		 */
		[PM_LINE_TOO_LONG] = POSTFIX_UNKNOWN,
		[PM_TIMEOUT] = POSTFIX_TIMEOUT,		/* [ref] + real logs */
		[PM_DATA_TIMEOUT] = POSTFIX_TIMEOUT,	/* smtpd.c: one timer */
		[PM_SESSION_TIME] = POSTFIX_TIMEOUT,
		/* [src] postscreen/postscreen.c, "all server ports busy" */
		[PM_TOO_MANY_SESSIONS] = "421 4.3.2 All server ports are busy",
		/* [memory] smtpd.c anvil check; wording confirmed in logs */
		[PM_TOO_MANY_FROM_IP] =
		    "421 4.7.0 %h Error: too many connections from %c",
		/* XXX [memory] Postfix just closes on "postfix stop" */
		[PM_SHUTDOWN] = "421 4.3.0 %h Server local error",
		[PM_STARTTLS_GO] = "220 2.0.0 Ready to start TLS", /* [ref] */
		/* [memory] */
		[PM_STARTTLS_ARGS] = "501 5.5.4 Syntax: STARTTLS",
		/* [src] postscreen_smtpd.c and smtpd.c when TLS is on */
		[PM_STARTTLS_UNAVAIL] = "554 5.5.1 Error: TLS already active",
		/* Cyrus SASL LOGIN prompts "Username:", "Password:" */
		[PM_AUTH_USERNAME] = "334 VXNlcm5hbWU6",
		[PM_AUTH_PASSWORD] = "334 UGFzc3dvcmQ6",
		[PM_AUTH_EMPTY] = "334 ",
		/* [src] smtpd_sasl_glue.c: "334 %s" */
		[PM_AUTH_CHALLENGE] = "334 %a",
		/* [src] smtpd_sasl_glue.c smtpd_sasl_authenticate() */
		[PM_AUTH_OK] = "235 2.7.0 Authentication successful",
		/*
		 * [src] smtpd_sasl_glue.c "535 5.7.8 Error: authentication
		 * failed: %s" with the Cyrus sasl_errstring() text
		 * (xsasl_cyrus_server.c; SASL_NOUSER maps to SASL_BADAUTH).
		 */
		[PM_AUTH_FAILED] = "535 5.7.8 Error: authentication failed: "
		    "authentication failure",
		/* [src] */
		[PM_AUTH_ABORTED] = "501 5.7.0 Authentication aborted",
		/* Cyrus SASL_NOMECH text [memory of sasl_errstring()] */
		[PM_AUTH_BADMECH] = "535 5.7.8 Error: authentication failed: "
		    "no mechanism available",
		/* [src] smtpd_sasl_proto.c smtpd_sasl_auth_cmd() */
		[PM_AUTH_SYNTAX] = "501 5.5.4 Syntax: AUTH mechanism",
		/*
		 * [src] xsasl_cyrus_server.c: a failed SASL_DECODE64 returns
		 * XSASL_AUTH_FORM with sasl_errstring(SASL_BADPROT), which
		 * smtpd_sasl_glue.c reports as a 535.
		 */
		[PM_AUTH_BADB64] = "535 5.7.8 Error: authentication failed: "
		    "bad protocol / cancel",
		[PM_AUTH_ALREADY] =
		    "503 5.5.1 Error: already authenticated",	/* [src] */
		/* [memory] smtpd.c: AUTH inside a transaction */
		[PM_AUTH_IN_MAIL] =
		    "503 5.5.1 Error: MAIL transaction in progress",
		/* [verified] smtpd.c mail_cmd(): RET=, ENVID= */
		[PM_MAIL_BADVALUE] = "501 5.5.4 Bad %a parameter syntax",
		/* [verified] smtpd.c rcpt_cmd(): NOTIFY=, ORCPT= */
		[PM_RCPT_BADVALUE] = "501 5.5.4 Error: Bad %a parameter syntax",
		/* [verified] RCPT TO:<> */
		[PM_RCPT_NULL] = "501 5.1.3 Bad recipient address syntax",
		[PM_RSET_ARGS] = "501 5.5.4 Syntax: RSET", /* [verified] */
		/* [verified] a blank or all-space line */
		[PM_EMPTY_LINE] = "500 5.5.2 Error: bad syntax",

		/* [verified] XCLIENT/XFORWARD from a host not authorized */
		[PM_XCLIENT] = "550 5.7.0 Error: insufficient authorization",
		/* [verified] smtpd.c etrn_cmd(); no enhanced codes */
		[PM_ETRN_SYNTAX] = "500 Syntax: ETRN domain",
		[PM_ETRN_BADARG] = "501 Error: invalid parameter syntax",
		[PM_ETRN_IN_MAIL] = "503 Error: MAIL transaction in progress",
		/*
		 * [verified] Cyrus sasl_decode64() says SASL_CONTINUE for
		 * input that is not whole quads: sasl_errstring() text
		 */
		[PM_AUTH_B64_PARTIAL] = "535 5.7.8 Error: authentication "
		    "failed: another step is needed in authentication",
		/* [verified] "AUTH PLAIN a b" */
		[PM_AUTH_ARGS] = "501 5.5.4 Syntax: AUTH mechanism",
		/* [verified] Cyrus SASL_BADPROT for "AUTH CRAM-MD5 xyz" */
		[PM_AUTH_SERVER_FIRST] = "535 5.7.8 Error: authentication "
		    "failed: bad protocol / cancel",
		/*
		 * [verified] smtpd.c bdat_cmd(), CHUNKING on (the default):
		 * BDAT sent to a real postfix 3.7.11 (tests: PF_BDAT).
		 */
		[PM_BDAT_OK] = "250 2.0.0 Ok: %a bytes",
		[PM_BDAT_QUEUED] = "250 2.0.0 Ok: %a bytes queued as %q",
		[PM_BDAT_SYNTAX] = "521 5.5.4 Syntax: BDAT count [LAST]",
		[PM_BDAT_NULL] = "551 5.7.1 Null BDAT request",
		[PM_BDAT_DISCARDED] =
		    "551 5.0.0 Discarded %a bytes after earlier error",
		[PM_BDAT_TOOBIG] = "552 5.3.4 Chunk exceeds message size limit",
		[PM_MAIL_AFTER_BDAT] = "503 5.5.1 Error: MAIL after BDAT",
		[PM_RCPT_AFTER_BDAT] = "503 5.5.1 Error: RCPT after BDAT",
		[PM_DATA_AFTER_BDAT] = "503 5.5.1 Error: DATA after BDAT",
	},
	.closes = {
		[PM_QUIT] = true,
		[PM_NONSMTP] = true,
		[PM_BDAT_SYNTAX] = true,
		[PM_TOO_MANY_ERRORS] = true,
		[PM_TOO_MANY_COMMANDS] = true,
		[PM_TIMEOUT] = true,
		[PM_DATA_TIMEOUT] = true,
		[PM_SESSION_TIME] = true,
		[PM_TOO_MANY_SESSIONS] = true,
		[PM_TOO_MANY_FROM_IP] = true,
		[PM_SHUTDOWN] = true,
	},
};

/* ------------------------------------------------------------------ */
/* Sendmail 8.17.1.9 on Debian 12				      */
/* ------------------------------------------------------------------ */

/*
 * [src] srvrsmtp.c EHLO: ENHANCEDSTATUSCODES, PIPELINING, (EXPN/VERB
 * hidden by noexpn), 8BITMIME, "SIZE %ld", DSN, (SMTPUTF8 not built),
 * ETRN, "AUTH %s", STARTTLS, DELIVERBY, "250 HELP".
 */
static const struct persona_ext sendmail_ehlo[] = {
	{ "ENHANCEDSTATUSCODES", 0 },
	{ "PIPELINING", 0 },
	{ "8BITMIME", 0 },
	{ "SIZE%Z", 0 },
	{ "DSN", 0 },
	{ "ETRN", 0 },
	{ "AUTH CRAM-MD5 LOGIN PLAIN", PERSONA_EXT_AUTH },
	{ "STARTTLS", PERSONA_EXT_STARTTLS },
	{ "DELIVERBY", 0 },
	{ "HELP", 0 },
	{ NULL, 0 }
};

#define SENDMAIL_UNKNOWN	"500 5.5.1 Command unrecognized: \"%a\""
#define SENDMAIL_SYNTAX	"501 5.5.2 Syntax error in parameters scanning \"%a\""
#define SENDMAIL_TOOMANY \
	"421 4.7.0 %h Too many bad commands; closing connection"
#define SENDMAIL_LOST		"421 4.4.1 %h Lost input channel from %N"

/*
 * [verified] Debian 12's /etc/mail/helpfile (sendmail-base 8.17.1.9,
 * helpfile,v 8.49), as help() prints it: "#" lines left out, $v, $$ and
 * the backslash of "\#" already expanded. Each line is a topic, a blank
 * and the text printed for it (persona_help()). Its copyright lines are
 * part of what sendmail shows ("HELP cpyr"); the file's terms are in
 * the sendmail distribution's LICENSE.
 */
static const char sendmail_helpfile[] =
	"cpyr\n"
	"cpyr\tCopyright (c) 1998-2000, 2002, 2004-2007 "
	    "Proofpoint, Inc. and its suppliers.\n"
	"cpyr\t    All rights reserved.\n"
	"cpyr\tCopyright (c) 1983, 1995-1997 Eric P. Allman.  All "
	    "rights reserved.\n"
	"cpyr\tCopyright (c) 1988, 1993\n"
	"cpyr\t    The Regents of the University of California.  "
	    "All rights reserved.\n"
	"cpyr\n"
	"cpyr\n"
	"cpyr\tBy using this file, you agree to the terms and "
	    "conditions set\n"
	"cpyr\tforth in the LICENSE file which can be found at "
	    "the top level of\n"
	"cpyr\tthe sendmail distribution.\n"
	"cpyr\n"
	"cpyr\t$Id: helpfile,v 8.49 2013-11-22 20:51:55 ca Exp $\n"
	"cpyr\n"
	"smtp\tThis is sendmail version 8.17.1.9\n"
	"smtp\tTopics:\n"
	"smtp\t\tHELO\tEHLO\tMAIL\tRCPT\tDATA\n"
	"smtp\t\tRSET\tNOOP\tQUIT\tHELP\tVRFY\n"
	"smtp\t\tEXPN\tVERB\tETRN\tDSN\tAUTH\n"
	"smtp\t\tSTARTTLS\n"
	"smtp\tFor more info use \"HELP <topic>\".\n"
	"smtp\tTo report bugs in the implementation see\n"
	"smtp\t\thttp://www.sendmail.org/email-addresses.html\n"
	"smtp\tFor local information send email to Postmaster at your site.\n"
	"help\tHELP [ <topic> ]\n"
	"help\t\tThe HELP command gives help info.\n"
	"helo\tHELO <hostname>\n"
	"helo\t\tIntroduce yourself.\n"
	"ehlo\tEHLO <hostname>\n"
	"ehlo\t\tIntroduce yourself, and request extended SMTP mode.\n"
	"ehlo\tPossible replies include:\n"
	"ehlo\t\tSEND\t\tSend as mail\t\t\t[RFC821]\n"
	"ehlo\t\tSOML\t\tSend as mail or terminal\t[RFC821]\n"
	"ehlo\t\tSAML\t\tSend as mail and terminal\t[RFC821]\n"
	"ehlo\t\tEXPN\t\tExpand the mailing list\t\t[RFC821]\n"
	"ehlo\t\tHELP\t\tSupply helpful information\t[RFC821]\n"
	"ehlo\t\tTURN\t\tTurn the operation around\t[RFC821]\n"
	"ehlo\t\t8BITMIME\tUse 8-bit data\t\t\t[RFC1652]\n"
	"ehlo\t\tSIZE\t\tMessage size declaration\t[RFC1870]\n"
	"ehlo\t\tVERB\t\tVerbose\t\t\t\t[Allman]\n"
	"ehlo\t\tCHUNKING\tChunking\t\t\t[RFC1830]\n"
	"ehlo\t\tBINARYMIME\tBinary MIME\t\t\t[RFC1830]\n"
	"ehlo\t\tPIPELINING\tCommand Pipelining\t\t[RFC1854]\n"
	"ehlo\t\tDSN\t\tDelivery Status Notification\t[RFC1891]\n"
	"ehlo\t\tETRN\t\tRemote Message Queue Starting\t[RFC1985]\n"
	"ehlo\t\tSTARTTLS\tSecure SMTP\t\t\t[RFC2487]\n"
	"ehlo\t\tAUTH\t\tAuthentication\t\t\t[RFC2554]\n"
	"ehlo\t\tENHANCEDSTATUSCODES\tEnhanced status codes\t[RFC2034]\n"
	"ehlo\t\tDELIVERBY\tDeliver By\t\t\t[RFC2852]\n"
	"mail\tMAIL From:<sender> [ <parameters> ]\n"
	"mail\t\tSpecifies the sender.  Parameters are ESMTP extensions.\n"
	"mail\t\tSee \"HELP DSN\" for details.\n"
	"rcpt\tRCPT To:<recipient> [ <parameters> ]\n"
	"rcpt\t\tSpecifies the recipient.  Can be used any number of times.\n"
	"rcpt\t\tParameters are ESMTP extensions.  See \"HELP "
	    "DSN\" for details.\n"
	"data\tDATA\n"
	"data\t\tFollowing text is collected as the message.\n"
	"data\t\tEnd with a single dot.\n"
	"rset\tRSET\n"
	"rset\t\tResets the system.\n"
	"quit\tQUIT\n"
	"quit\t\tExit sendmail (SMTP).\n"
	"auth\tAUTH mechanism [initial-response]\n"
	"auth\t\tStart authentication.\n"
	"starttls\tSTARTTLS\n"
	"starttls\t\tStart TLS negotiation.\n"
	"verb\tVERB\n"
	"verb\t\tGo into verbose mode.  This sends 0xy responses that are\n"
	"verb\t\tnot RFC821 standard (but should be).  They are recognized\n"
	"verb\t\tby humans and other sendmail implementations.\n"
	"vrfy\tVRFY <recipient>\n"
	"vrfy\t\tVerify an address.  If you want to see what it aliases\n"
	"vrfy\t\tto, use EXPN instead.\n"
	"expn\tEXPN <recipient>\n"
	"expn\t\tExpand an address.  If the address indicates a mailing\n"
	"expn\t\tlist, return the contents of that list.\n"
	"noop\tNOOP\n"
	"noop\t\tDo nothing.\n"
	"send\tSEND FROM:<sender>\n"
	"send\t\treplaces the MAIL command, and can be used to send\n"
	"send\t\tdirectly to a users terminal.  Not supported in this\n"
	"send\t\timplementation.\n"
	"soml\tSOML FROM:<sender>\n"
	"soml\t\tSend or mail.  If the user is logged in, send directly,\n"
	"soml\t\totherwise mail.  Not supported in this implementation.\n"
	"saml\tSAML FROM:<sender>\n"
	"saml\t\tSend and mail.  Send directly to the user's terminal,\n"
	"saml\t\tand also mail a letter.  Not supported in this\n"
	"saml\t\timplementation.\n"
	"turn\tTURN\n"
	"turn\t\tReverses the direction of the connection.  Not currently\n"
	"turn\t\timplemented.\n"
	"etrn\tETRN [ <hostname> | @<domain> | #<queuename> ]\n"
	"etrn\t\tRun the queue for the specified <hostname>, or\n"
	"etrn\t\tall hosts within a given <domain>, or a specially-named\n"
	"etrn\t\t<queuename> (implementation-specific).\n"
	"dsn\tMAIL From:<sender> [ RET={ FULL | HDRS} ] [ ENVID=<envid> ]\n"
	"dsn\tRCPT To:<recipient> [ NOTIFY={NEVER,SUCCESS,FAILURE,DELAY} ]\n"
	"dsn\t\t\t     [ ORCPT=<recipient> ]\n"
	"dsn\t\tSMTP Delivery Status Notifications.\n"
	"dsn\tDescriptions:\n"
	"dsn\t\tRET\tReturn either the full message or only headers.\n"
	"dsn\t\tENVID\tSender's \"envelope identifier\" for tracking.\n"
	"dsn\t\tNOTIFY\tWhen to send a DSN. Multiple options are OK, comma-\n"
	"dsn\t\t\tdelimited. NEVER must appear by itself.\n"
	"dsn\t\tORCPT\tOriginal recipient.\n"
	"-bt\tHelp for test mode:\n"
	"-bt\t?\t\t :this help message.\n"
	"-bt\t.Dmvalue\t :define macro `m' to `value'.\n"
	"-bt\t.Ccvalue\t :add `value' to class `c'.\n"
	"-bt\t=Sruleset\t :dump the contents of the indicated ruleset.\n"
	"-bt\t=M\t\t :display the known mailers.\n"
	"-bt\t-ddebug-spec\t :equivalent to the command-line -d debug flag.\n"
	"-bt\t$m\t\t :print the value of macro $m.\n"
	"-bt\t$=c\t\t :print the contents of class $=c.\n"
	"-bt\t/mx host\t :returns the MX records for `host'.\n"
	"-bt\t/gethostbyname host [family]  :calls "
	    "gethostbyname() for `host'.\n"
	"-bt\t/dnslookup host [qtype] [flags]\t :Does a qtype DNS "
	    "lookup for `host'.\n"
	"-bt\t/parse address\t :parse address, returning the "
	    "value of crackaddr, and\n"
	"-bt\t\t\t  the parsed address.\n"
	"-bt\t/sender address\t :parse sender address, returning "
	    "the value of\n"
	"-bt\t\t\t  setsender.\n"
	"-bt\t/expand string\t :expands string, returning the "
	    "value of expand.\n"
	"-bt\t/try mailer addr :rewrite address into the form it "
	    "will have when\n"
	"-bt\t\t\t  presented to the indicated mailer.\n"
	"-bt\t/tryflags flags\t :set flags used by parsing.  The "
	    "flags can be `H' for\n"
	"-bt\t\t\t  Header or `E' for Envelope, and `S' for Sender or `R'\n"
	"-bt\t\t\t  for Recipient.  These can be combined, `HR' sets\n"
	"-bt\t\t\t  flags for header recipients.\n"
	"-bt\t/canon hostname\t :try to canonify hostname.\n"
	"-bt\t/map mapname key :look up `key' in the indicated `mapname'.\n"
	"-bt\t/header header\t :parses header, returning header flags\n"
	"-bt\t/quit\t\t :quit address test mode.\n"
	"-bt\trules addr\t :run the indicated address through the "
	    "named rules.\n"
	"-bt\t\t\t  Rules can be a comma separated list of rules.\n"
	"control\tHelp for smcontrol:\n"
	"control\thelp\t\tThis message.\n"
	"control\trestart\t\tRestart sendmail.\n"
	"control\tshutdown\tShutdown sendmail.\n"
	"control\tstatus\t\tShow sendmail status.\n"
	"control\tmstat\t\tShow sendmail status (machine readable format).\n"
	"control\tmemdump\t\tDump allocated memory list (for "
	    "debugging only).\n";

const struct persona persona_sendmail = {
	.name = "sendmail",
	.style = PERSONA_SENDMAIL,
	.ipv6_tag = true,
	/* Cyrus lists mechanisms strongest first ("DIGEST-MD5 CRAM-MD5
	 * LOGIN PLAIN" in transcripts); we implement the last three */
	.auth_mechs = "CRAM-MD5 LOGIN PLAIN",
	.size_limit = 0,		/* [ref] MaxMessageSize unset: "SIZE" */
	/* [src] srvrsmtp.c "250-%s Hello %s, %s" */
	.ehlo_greeting = "250 %h Hello %N, pleased to meet you",
	.ehlo = sendmail_ehlo,
	/*
	 * [verified] against Debian 12's sendmail 8.17.1.9 (trap.mc of the
	 * peers with novrfy,noexpn, AUTH and STARTTLS): AUTH needs no EHLO,
	 * MAIL/RCPT echo the path as sent, commands are read 7-bit, the
	 * open-proxy guard, DATA ignores an argument, MAXBADCOMMANDS 25.
	 */
	.quirks = PERSONA_Q_AUTH_NO_EHLO | PERSONA_Q_PATH_ECHO |
	    PERSONA_Q_STRIP8 | PERSONA_Q_PROXY_GUARD | PERSONA_Q_DATA_ARGS |
	    PERSONA_Q_OLD_VERBS,
	.unknown_max = 25,
	.help_file = sendmail_helpfile,
	.help_line = "214-2.0.0 ",	/* [src] srvrsmtp.c help() */
	.help_end = "214 2.0.0 End of HELP info",
	.msg = {
		/*
		 * [ref] cfhead.m4 "$j Sendmail $v/$Z; $b" + Debian's
		 * debian.m4.in "; (No UCE/UBE) $?{client_addr}logging access
		 * from: ${client_name}(${client_resolve})-$_$.", with " ESMTP"
		 * inserted after the first word (srvrsmtp.c).
		 */
		[PM_BANNER] = "220 %h ESMTP Sendmail "
		    "8.17.1.9/8.17.1.9/Debian-2+deb12u2; %d; (No UCE/UBE) "
		    "logging access from: %n(%R)-%N",
		/* [src] srvrsmtp.c "250 %s Hello %s, %s" */
		[PM_HELO] = "250 %h Hello %N, pleased to meet you",
		/* [src] srvrsmtp.c "501 %s requires domain address" */
		[PM_HELO_NOARG] = "501 5.0.0 HELO requires domain address",
		[PM_EHLO_NOARG] = "501 5.0.0 EHLO requires domain address",
		/*
		 * [verified] "250 2.1.0 Sender ok"; err.c fmtmsg() puts the
		 * path as sent in front ("<a@b>... ", "a@b... ")
		 */
		[PM_MAIL_OK] = "250 2.1.0 %a... Sender ok",
		[PM_MAIL_NEED_HELO] =
		    "503 5.0.0 Polite people say HELO first",	/* [src] */
		/* [src] */
		[PM_MAIL_NESTED] = "503 5.5.0 Sender already specified",
		/* [memory] srvrsmtp.c skipword() */
		[PM_MAIL_SYNTAX] = SENDMAIL_SYNTAX,
		/* [verified] parseaddr.c, "<@b>" */
		[PM_MAIL_BADADDR] = "553 5.1.3 %a... User address required",
		/* [ref] */
		[PM_MAIL_BADPARAM] = "555 5.5.4 %a parameter unrecognized",
		/* [ref] */
		[PM_MAIL_BADSIZE] = "501 5.5.2 SIZE requires a value",
		/* [src] srvrsmtp.c MaxMessageSize check */
		[PM_MAIL_TOOBIG] = "552 5.2.3 Message size exceeds fixed "
		    "maximum message size (%z)",
		/* [src] */
		[PM_RCPT_OK] = "250 2.1.5 %a... Recipient ok",
		/* [src] */
		[PM_RCPT_NEED_MAIL] = "503 5.0.0 Need MAIL before RCPT",
		[PM_RCPT_SYNTAX] = SENDMAIL_SYNTAX,
		/* [verified] as MAIL's */
		[PM_RCPT_BADADDR] = "553 5.1.3 %a... User address required",
		/* [src] srvrsmtp.c rcpt_esmtp_args(), as mail_esmtp_args() */
		[PM_RCPT_BADPARAM] = "555 5.5.4 %a parameter unrecognized",
		/* [src] */
		[PM_RCPT_TOO_MANY] = "452 4.5.3 Too many recipients",
		/* [verified] 8.17 says it as Postfix does */
		[PM_DATA_GO] = "354 End data with <CR><LF>.<CR><LF>",
		/* [src] */
		[PM_DATA_NEED_MAIL] = "503 5.0.0 Need MAIL command",
		/* [src] */
		[PM_DATA_NEED_RCPT] = "503 5.0.0 Need RCPT (recipient)",
		/* XXX [memory] */
		[PM_DATA_ARGS] = SENDMAIL_SYNTAX,
		/* [ref] srvrsmtp.c */
		[PM_DATA_OK] = "250 2.0.0 %q Message accepted for delivery",
		/* [memory] collect.c */
		[PM_DATA_TOOBIG] =
		    "552 5.2.3 Message exceeds maximum fixed size (%z)",
		[PM_DATA_NOSPACE] =
		/* [src] */
		    "452 4.4.5 Insufficient disk space; try again later",
		/* XXX [memory] sendmail.h MSG_TEMPFAIL */
		[PM_DATA_TEMPFAIL] = "451 4.3.0 Please try again later",
		/* [src] */
		[PM_RSET] = "250 2.0.0 Reset state",
		/* [src] */
		[PM_NOOP] = "250 2.0.0 OK",
		/* [src] */
		[PM_QUIT] = "221 2.0.0 %h closing connection",
		/* [src] PrivacyOptions novrfy: answered before the argument */
		[PM_VRFY] = "252 2.5.2 Cannot VRFY user; try RCPT to attempt "
		    "delivery (or try finger)",
		[PM_VRFY_NOARG] = "252 2.5.2 Cannot VRFY user; try RCPT to "
		    "attempt delivery (or try finger)",
		/* [src] noexpn */
		[PM_EXPN] = "502 5.7.0 Sorry, we do not allow this operation",
		/* [ref] helpfile, "214-2.0.0 " lines (srvrsmtp.c help()) */
		[PM_HELP] = "214 2.0.0 This is sendmail version 8.17.1.9\n"
		    "2.0.0 Topics:\n"
		    "2.0.0 \tHELO\tEHLO\tMAIL\tRCPT\tDATA\n"
		    "2.0.0 \tRSET\tNOOP\tQUIT\tHELP\tVRFY\n"
		    "2.0.0 \tEXPN\tVERB\tETRN\tDSN\tAUTH\n"
		    "2.0.0 \tSTARTTLS\n"
		    "2.0.0 For more info use \"HELP <topic>\".\n"
		    "2.0.0 To report bugs in the implementation see\n"
		    "2.0.0 \thttp://www.sendmail.org/email-addresses.html\n"
		    "2.0.0 For local information send email to Postmaster "
		    "at your site.\n"
		    "2.0.0 End of HELP info",
		/* [src] srvrsmtp.c CMDETRN */
		[PM_ETRN] = "250 2.0.0 Queuing for node %a started",
		/* [src] srvrsmtp.c CMDERROR, SHOWSHRTCMDINREPLY */
		[PM_UNKNOWN] = SENDMAIL_UNKNOWN,
		/* [src] srvrsmtp.c CMDUNIMPL */
		[PM_NOT_IMPLEMENTED] =
		    "502 5.5.1 Command not implemented: \"%a\"",
		/*
		 * [verified] the open-proxy guard is in Debian's build: a
		 * first command "GET ", "POST ", "CONNECT " or "USER "
		 * (PERSONA_Q_PROXY_GUARD); closes
		 */
		[PM_NONSMTP] = "421 4.7.0 %h Rejecting open proxy %N",
		[PM_SYNTAX] = SENDMAIL_SYNTAX,
		/* XXX [memory] no generic 503 in sendmail */
		[PM_BAD_SEQUENCE] = "503 5.5.0 Bad sequence of commands",
		/* [src] */
		[PM_TOO_MANY_ERRORS] = SENDMAIL_TOOMANY,
		/* [src] STOP_IF_ATTACK jumps to the same stopattack: label */
		[PM_TOO_MANY_COMMANDS] = SENDMAIL_TOOMANY,
		/* [verified] built with SASL: a line over MAXLINE, closes */
		[PM_LINE_TOO_LONG] =
		    "421 4.7.0 %h Command too long, possible attack %N",
		/* [src] srvrsmtp.c: sfgets() NULL, on EOF and on timeout */
		[PM_TIMEOUT] = SENDMAIL_LOST,
		/* [src] sendmail 8.17 collect.c, collect() on CollectTimeout */
		[PM_DATA_TIMEOUT] = "451 4.4.1 timeout waiting for input during "
		    "message collect",
		[PM_SESSION_TIME] = SENDMAIL_LOST,
		/* [ref] nmap match 3104, ConnectionRateThrottle */
		[PM_TOO_MANY_SESSIONS] =
		    "421 4.3.2 Connection rate limit exceeded.",
		/* XXX [memory] cf/feature/conncontrol.m4 */
		[PM_TOO_MANY_FROM_IP] = "421 4.7.1 Too many open connections.",
		/* [src] srvrsmtp.c milter shutdown reply */
		[PM_SHUTDOWN] = "421 4.7.0 %h closing connection",
		/* [src] */
		[PM_STARTTLS_GO] = "220 2.0.0 Ready to start TLS",
		[PM_STARTTLS_ARGS] =
		/* [src] */
		    "501 5.5.2 Syntax error (no parameters allowed)",
		/* [src] tls_ok_srv is false once TLS is active */
		[PM_STARTTLS_UNAVAIL] =
		    "454 4.3.3 TLS not available after start",
		[PM_AUTH_USERNAME] = "334 VXNlcm5hbWU6",
		[PM_AUTH_PASSWORD] = "334 UGFzc3dvcmQ6",
		[PM_AUTH_EMPTY] = "334 ",
		/* [src] "334 %s" */
		[PM_AUTH_CHALLENGE] = "334 %a",
		/* [src] */
		[PM_AUTH_OK] = "235 2.0.0 OK Authenticated",
		/* [src] */
		[PM_AUTH_FAILED] = "535 5.7.0 authentication failed",
		/* [ref] */
		[PM_AUTH_ABORTED] = "501 5.0.0 AUTH aborted",
		/* [src] "504 5.3.3 AUTH mechanism %.32s not available" */
		[PM_AUTH_BADMECH] =
		    "504 5.3.3 AUTH mechanism %.32a not available",
		[PM_AUTH_SYNTAX] =
		/* [src] */
		    "501 5.5.2 AUTH mechanism must be specified",
		/* [src] */
		[PM_AUTH_BADB64] = "501 5.5.4 cannot BASE64 decode '%a'",
		/* [src] */
		[PM_AUTH_ALREADY] = "503 5.5.0 Already Authenticated",
		[PM_AUTH_IN_MAIL] =
		    "503 5.5.0 AUTH not permitted during a mail transaction",
		/* [verified] RCPT TO:<> */
		[PM_RCPT_NULL] = "553 5.0.0 <>... User address required",
		/* [verified] BDAT is no verb of 8.17: the whole line echoed */
		[PM_BDAT] = SENDMAIL_UNKNOWN,
		/* [verified] */
		[PM_STARTTLS_IN_MAIL] =
		    "503 5.5.0 TLS not permitted during a mail transaction",
		[PM_ETRN_NOARG] = "500 5.5.2 Parameter required",
		[PM_ETRN_QUEUE] = "459 4.5.4 Queue %a unknown",
		/* [verified] srvrsmtp.c help(): "%.10s" of the topic */
		[PM_HELP_TOPIC] = "504 5.3.0 HELP topic \"%.10a\" unknown",
		[PM_VERB] = "502 5.7.0 Verbose unavailable",
		/* [verified] parseaddr.c prescan() and parseaddr() */
		[PM_ADDR_UNBALANCED_LT] = "553 5.0.0 %a... Unbalanced '<'",
		[PM_ADDR_UNBALANCED_GT] = "553 5.0.0 %a... Unbalanced '>'",
		[PM_ADDR_NOHOST] = "553 5.1.3 %a... Hostname required",
		[PM_ADDR_LIST] = "553 5.1.3 %a... List:; syntax illegal for "
		    "recipient addresses",
	},
	.closes = {
		[PM_QUIT] = true,
		[PM_NONSMTP] = true,
		[PM_LINE_TOO_LONG] = true,
		[PM_TOO_MANY_ERRORS] = true,
		[PM_TOO_MANY_COMMANDS] = true,
		[PM_TIMEOUT] = true,
		[PM_DATA_TIMEOUT] = true,
		[PM_SESSION_TIME] = true,
		[PM_TOO_MANY_SESSIONS] = true,
		[PM_TOO_MANY_FROM_IP] = true,
		[PM_SHUTDOWN] = true,
	},
};

/* ------------------------------------------------------------------ */
/* Exim 4.96 on Debian 12					      */
/* ------------------------------------------------------------------ */

/*
 * [src] smtp_in.c EHLO: "SIZE %d", 8BITMIME (accept_8bitmime), DSN only
 * with dsn_advertise_hosts (empty), ETRN/VRFY/EXPN only with ACLs (none),
 * PIPELINING, PIPECONNECT (pipelining_connect_advertise_hosts = *: a
 * client may send EHLO before the banner, which the trap takes anyway;
 * no longer once the session had a DATA or BDAT: [verified]),
 * AUTH, CHUNKING (chunking_advertise_hosts = *), STARTTLS, PRDR (Debian's
 * configuration sets prdr_enable), no SMTPUTF8 (Debian leaves
 * smtputf8_advertise_hosts empty), HELP. [verified] against exim 4.96
 * with Debian's settings: this list in this order.
 */
static const struct persona_ext exim_ehlo[] = {
	{ "SIZE%Z", 0 },
	{ "8BITMIME", 0 },
	{ "PIPELINING", 0 },
	{ "PIPECONNECT", PERSONA_EXT_PIPECONNECT },
	{ "AUTH PLAIN LOGIN CRAM-MD5", PERSONA_EXT_AUTH },
	{ "CHUNKING", 0 },
	{ "STARTTLS", PERSONA_EXT_STARTTLS },
	{ "PRDR", 0 },
	{ "HELP", 0 },
	{ NULL, 0 }
};

#define EXIM_UNKNOWN	"500 unrecognized command"
#define EXIM_BADADDR	"501 %Amalformed address"
#define EXIM_TIMEOUT	"421 %h: SMTP command timeout - closing connection"

const struct persona persona_exim = {
	.name = "exim",
	.style = PERSONA_EXIM,
	.ipv6_tag = false,
	.auth_mechs = "PLAIN LOGIN CRAM-MD5",
	.size_limit = 52428800,		/* [ref] message_size_limit 50M */
	/* [src] smtp_in.c "%.3s %s Hello %s%s%s" + " [%s]" */
	.ehlo_greeting = "250 %h Hello %e [%c]",
	.ehlo = exim_ehlo,
	/*
	 * [verified] against Debian 12's exim4-daemon-light 4.96 (open
	 * relay, queue_only): STARTTLS inside a transaction resets it;
	 * smtp_max_unknown_commands 3.
	 */
	.quirks = PERSONA_Q_STARTTLS_IN_MAIL | PERSONA_Q_EXIM_ADDR |
	    PERSONA_Q_SYNPROT | PERSONA_Q_NONMAIL | PERSONA_Q_EXIM_BDAT |
	    PERSONA_Q_RCPT_SAME,
	.unknown_max = 3,
	.msg = {
		/* [ref] globals.c smtp_banner, tod_full */
		[PM_BANNER] = "220 %h ESMTP Exim 4.96 %d",
		[PM_HELO] = "250 %h Hello %e [%c]",		/* [src] */
		/* [src] "501 Syntactically invalid %s argument(s)" */
		[PM_HELO_NOARG] = "501 Syntactically invalid HELO argument(s)",
		[PM_EHLO_NOARG] = "501 Syntactically invalid EHLO argument(s)",
		/* [src] */
		[PM_MAIL_OK] = "250 OK",
		/* [src] helo_required (helo_verify_hosts) */
		[PM_MAIL_NEED_HELO] = "503 HELO or EHLO required",
		/* [src] */
		[PM_MAIL_NESTED] = "503 sender already given",
		/* [src] */
		[PM_MAIL_SYNTAX] = "501 MAIL must have an address operand",
		/*
		 * [src] synprot_error(501, smtp_cmd_data, errmess) prints
		 * "501 <data>: <parse_extract_address() error>"; an unknown
		 * or bad option ends in the same address error.
		 */
		/* [verified] "<path>: reason", made by smtp_tx.c */
		[PM_MAIL_BADADDR] = "501 %a",
		[PM_MAIL_BADPARAM] = "501 %a",
		[PM_MAIL_BADSIZE] = EXIM_BADADDR,
		/* [src] smtp_in.c thismessage_size_limit */
		[PM_MAIL_TOOBIG] = "552 Message size exceeds maximum permitted",
		/* [src] */
		[PM_RCPT_OK] = "250 Accepted",
		/* [src] */
		[PM_RCPT_NEED_MAIL] = "503 sender not yet given",
		/* [src] */
		[PM_RCPT_SYNTAX] = "501 RCPT must have an address operand",
		[PM_RCPT_BADADDR] = "501 %a",
		[PM_RCPT_BADPARAM] = "501 %a",
		/* [src] */
		[PM_RCPT_TOO_MANY] = "452 too many recipients",
		/* [src] */
		[PM_DATA_GO] = "354 Enter message, ending with \".\" on a line "
		    "by itself",
		/* [src] synprot_error(503, ..., "valid RCPT command must
		 * precede DATA") */
		[PM_DATA_NEED_MAIL] =
		    "503 valid RCPT command must precede DATA",
		[PM_DATA_NEED_RCPT] =
		    "503 valid RCPT command must precede DATA",
		/* [src] BADARG_CMD for a command taking no argument */
		[PM_DATA_ARGS] = "501 unexpected argument data",
		/* [ref] receive.c */
		[PM_DATA_OK] = "250 OK id=%q",
		/* [ref] receive.c */
		[PM_DATA_TOOBIG] = "552 Message size exceeds maximum permitted",
		/* [src] */
		[PM_DATA_NOSPACE] = "452 Space shortage, please try later",
		/* [memory] receive.c spool write failure */
		[PM_DATA_TEMPFAIL] = "451 Error while writing spool file",
		/* [ref] */
		[PM_RSET] = "250 Reset OK",
		/* [src] */
		[PM_NOOP] = "250 OK",
		/* [src] */
		[PM_QUIT] = "221 %h closing connection",
		/* [ref] acl_wherecodes with no acl_smtp_vrfy/expn/etrn */
		[PM_VRFY] = "252 Administrative prohibition",
		/* [verified] the address is parsed before the ACL */
		[PM_VRFY_NOARG] = "501 empty address",
		[PM_EXPN] = "550 Administrative prohibition",
		/* [src] smtp_in.c HELP_CMD; BDAT is listed unconditionally */
		[PM_HELP] = "214 Commands supported:\n"
		    "AUTH STARTTLS HELO EHLO MAIL RCPT DATA BDAT NOOP QUIT "
		    "RSET HELP",
		[PM_ETRN] = "458 Administrative prohibition",	/* [memory] */
		[PM_UNKNOWN] = EXIM_UNKNOWN,			/* [src] */
		[PM_NOT_IMPLEMENTED] = EXIM_UNKNOWN,
		/* Exim has no HTTP guard: GET is an unknown command */
		[PM_NONSMTP] = EXIM_UNKNOWN,
		[PM_SYNTAX] = "501 unexpected argument data",
		/* XXX generic 503: the sequence error Exim gives most */
		[PM_BAD_SEQUENCE] = "503 sender not yet given",
		/* [src] smtp_max_unknown_commands: "500 Too many
		 * unrecognized commands", then the connection is dropped */
		[PM_TOO_MANY_ERRORS] = "500 Too many unrecognized commands",
		/* [src] */
		[PM_TOO_MANY_COMMANDS] = "554 Too many nonmail commands",
		/* [ref] an over-long command is an unrecognized command */
		[PM_LINE_TOO_LONG] = EXIM_UNKNOWN,
		/* [memory] smtp_in.c command_timeout_handler() */
		[PM_TIMEOUT] = EXIM_TIMEOUT,
		/* [src] exim 4.96 receive.c, receive_bomb_out("data-timeout") */
		[PM_DATA_TIMEOUT] = "421 %h SMTP incoming data timeout - closing "
		    "connection.",
		[PM_SESSION_TIME] = EXIM_TIMEOUT,
		/* [memory] daemon.c smtp_accept_max / _max_per_host; the
		 * per-host text is common in bounce logs */
		[PM_TOO_MANY_SESSIONS] = "421 Too many concurrent SMTP "
		    "connections; please try again later.",
		[PM_TOO_MANY_FROM_IP] = "421 Too many concurrent SMTP "
		    "connections from this IP address; please try again later.",
		/* [memory] smtp_in.c command_sigterm_handler() */
		[PM_SHUTDOWN] =
		    "421 %h: Service not available - closing connection",
		/* [ref] tls-openssl.c */
		[PM_STARTTLS_GO] = "220 TLS go ahead",
		/* [src] BADARG_CMD */
		[PM_STARTTLS_ARGS] = "501 unexpected argument data",
		/* [src] smtp_in.c STARTTLS_CMD, !fl.tls_advertised */
		[PM_STARTTLS_UNAVAIL] =
		    "503 STARTTLS command used when not advertised",
		/* server_prompts "Username:: : Password::" and ":" */
		[PM_AUTH_USERNAME] = "334 VXNlcm5hbWU6",
		[PM_AUTH_PASSWORD] = "334 UGFzc3dvcmQ6",
		[PM_AUTH_EMPTY] = "334 ",
		[PM_AUTH_CHALLENGE] = "334 %a",
		/* [ref] */
		[PM_AUTH_OK] = "235 Authentication succeeded",
		/* [ref] */
		[PM_AUTH_FAILED] = "535 Incorrect authentication data",
		/* [ref] */
		[PM_AUTH_ABORTED] = "501 Authentication cancelled",
		/* [src] synprot_error(504, "%s authentication mechanism not
		 * supported"); AUTH without a name gives the same, empty */
		[PM_AUTH_BADMECH] =
		    "504 %a authentication mechanism not supported",
		[PM_AUTH_SYNTAX] =
		    "504 %a authentication mechanism not supported",
		/* [ref] */
		[PM_AUTH_BADB64] = "501 Invalid base64 data",
		/* [src] */
		[PM_AUTH_ALREADY] = "503 already authenticated",
		/* [src] */
		[PM_AUTH_IN_MAIL] = "503 not permitted in mail transaction",
		/* [verified] BADARG_CMD */
		[PM_RSET_ARGS] = "501 unexpected argument data",
		/* [verified] against exim 4.96 */
		[PM_QUIT_ARGS] = "501 unexpected argument data",
		[PM_TOO_MANY_NONMAIL] = "554 Too many nonmail commands",
		[PM_ETRN_IN_MAIL] =
		    "503 ETRN is not permitted inside a transaction",
		/* [verified] */
		[PM_STARTTLS_NO_EHLO] =
		    "503 STARTTLS command used when not advertised",
		[PM_AUTH_NO_EHLO] = "503 AUTH command used when not advertised",
		[PM_VRFY_NODOMAIN] =
		    "501 %a: recipient address must contain a domain",
		/*
		 * [verified] CHUNKING against exim 4.96 (smtp_in.c
		 * bdat_getc(), smtp_setup_msg() BDAT_CMD; receive.c):
		 * "BDAT n" after HELO; a chunk not the LAST; the LAST one,
		 * its two-line reply with the total of smtp_bdat.h.
		 */
		[PM_BDAT] = "503 BDAT command used when CHUNKING not advertised",
		[PM_BDAT_OK] = "250 %a byte chunk received",
		[PM_BDAT_QUEUED] = "250  %b byte chunk, total %a\nOK id=%q",
		[PM_BDAT_SYNTAX] = "501 missing size for BDAT command",
		[PM_BDAT_NULL] = "504 zero size for BDAT command",
		[PM_BDAT_TOOBIG] = "552 Message size exceeds maximum permitted",
		[PM_BDAT_NEED_RCPT] = "503 valid RCPT command must precede BDAT",
		[PM_BDAT_ONLY] = "503 only BDAT permissible after non-LAST BDAT",
		[PM_BDAT_RSET_ONLY] = "503 only RSET accepted now",
		[PM_BDAT_LOST] = "421 Lost incoming connection",
		/* [verified] PRDR (any value); the replies after the data */
		[PM_MAIL_PRDR] = "250 OK, PRDR Requested",
		[PM_PRDR_BEGIN] = "353 PRDR content analysis beginning",
		[PM_PRDR_RCPT] = "250 PRDR R=<%a> acceptance",
		[PM_PRDR_OK] = "250 id=%q message accepted",
		/* [verified] smtputf8_advertise_hosts empty */
		[PM_MAIL_SMTPUTF8] = "501 SMTPUTF8 used when not advertised",
		/* [verified] BODY not 7BIT or 8BITMIME */
		[PM_MAIL_BADVALUE] = "501 invalid data for %a",
		/* [verified] smtp_in.c DATA_BDAT: rcpt_smtp_response_same */
		[PM_NEED_RCPT_PIPELINED] = "503 Valid RCPT command must precede "
		    "%a",
		[PM_RCPT_ALL_SAME] = "503 All RCPT commands were rejected with "
		    "this error:\n%a",
	},
	.closes = {
		[PM_QUIT] = true,
		[PM_TOO_MANY_NONMAIL] = true,
		[PM_BDAT_LOST] = true,
		[PM_TOO_MANY_ERRORS] = true,
		[PM_TOO_MANY_COMMANDS] = true,
		[PM_TIMEOUT] = true,
		[PM_DATA_TIMEOUT] = true,
		[PM_SESSION_TIME] = true,
		[PM_TOO_MANY_SESSIONS] = true,
		[PM_TOO_MANY_FROM_IP] = true,
		[PM_SHUTDOWN] = true,
	},
};
