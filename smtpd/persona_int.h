/*
 * persona_int.h -- the persona table, private to persona.c (the engine)
 * and persona_tables.c (one table per emulated product). Nothing else
 * includes this file; the rest of smtpd sees only persona.h.
 *
 * Templates are plain text with placeholders, expanded by persona.c:
 *	%h  our hostname		%c  client address as is
 *	%n  client name, or "[addr]" (IPv6: "[IPv6:addr]" where the
 *	    product writes it so) when the client has no PTR name
 *	%u  client name, or "unknown" (Postfix)
 *	%N  "name [addr]" or "[addr]" (Sendmail's $_ / CurSmtpClient)
 *	%R  "OK" or "FAIL" (Sendmail's ${client_resolve})
 *	%e  client name, or the HELO argument (Exim's HELO reply)
 *	%H  HELO argument		%a  the message argument
 *	%.Na  the argument cut to N bytes (Sendmail's "%.32s")
 *	%A  "arg: " when there is an argument, else nothing (Exim's
 *	    synprot_error() prefix)
 *	%q  queue id			%z  size limit
 *	%d  date in the product's format	%%  a literal '%'
 * A "\n" in a template starts another line of a multi-line reply; only
 * the first line carries the reply code ("214 2.0.0 a\n2.0.0 b"), the
 * engine writes it in front of every line.
 */
#ifndef RT_PERSONA_INT_H
#define RT_PERSONA_INT_H

#include <stdbool.h>

#include "persona.h"

enum persona_style {
	PERSONA_POSTFIX,
	PERSONA_SENDMAIL,
	PERSONA_EXIM
};

struct persona_ext {
	const char	*text;		/* template, without "250-" */
	unsigned int	 need;		/* PERSONA_EXT_* bit, or 0 */
};

struct persona {
	const char		*name;
	enum persona_style	 style;	/* date, queue id, Received header */
	bool			 ipv6_tag;	/* "[IPv6:addr]" in %n, %N */
	const char		*auth_mechs;
	long			 size_limit;	/* the stock message size
						   limit; 0: none, a bare
						   "SIZE" in EHLO */
	const char		*ehlo_greeting;	/* "250 %h" */
	const struct persona_ext *ehlo;		/* ends with { NULL, 0 } */
	unsigned int		 quirks;	/* PERSONA_Q_* */
	unsigned int		 unknown_max;	/* unknown commands the
						   product answers; the next
						   gets TOO_MANY_ERRORS alone
						   and it hangs up. 0: they
						   are errors like others */
	const char		*help_file;	/* the product's helpfile,
						   "topic<TAB>text\n" lines
						   that HELP prints
						   (persona_help()); NULL:
						   HELP gets PM_HELP whatever
						   its argument */
	const char		*help_line;	/* before each line printed */
	const char		*help_end;	/* the reply's last line */
	const char		*msg[PM_COUNT];	/* NULL only for the
						   optional ones */
	bool			 closes[PM_COUNT];
};

extern const struct persona persona_postfix;
extern const struct persona persona_sendmail;
extern const struct persona persona_exim;

#endif
