/*
 * smtp_bdat.h -- CHUNKING (RFC 3030) without the session: the BDAT
 * argument ("count [LAST]") and the message size Postfix and Exim report
 * for a message they received in chunks. Pure: no allocation, never reads
 * past the given length, feed bytes in pieces of any size.
 */
#ifndef RT_SMTP_BDAT_H
#define RT_SMTP_BDAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp_data.h"

/* the largest chunk size taken; more digits are a syntax error */
#define SMTP_BDAT_SIZE_MAX	((uint64_t)1 << 53)

/*
 * The size Postfix's smtpd says in "Ok: N bytes queued as": its queue
 * file records, two bytes counted for each record's end. Measured against
 * a real Debian 12 postfix 3.7.11 (tests/unit/test_smtp_bdat.c): a CR
 * right before LF is dropped; lines are read in pieces of at most
 * SMTP_BDAT_PF_LINE bytes, LF included, a full piece without LF being a
 * record of its own; a line's CRs before its LF are dropped; a last line
 * without LF is a record as it is.
 */
#define SMTP_BDAT_PF_LINE	2048	/* line_length_limit */

/*
 * The count also notes what the DATA parser would find (SMTP_DATA_F_*
 * of smtp_data.h, with their counts): bare LF, bare CR (a CR held back
 * at the end is not yet one), NUL, 8-bit bytes and lines over
 * SMTP_DATA_TEXT_LINE_MAX bytes; a chunk has no dots to unstuff.
 */
struct smtp_bdat_count {
	uint64_t	 total;		/* counted so far, open piece excluded */
	size_t		 piece;		/* bytes of the open piece, no LF */
	size_t		 crs;		/* CRs at the open piece's end */
	bool		 cr;		/* a CR held back: is an LF next? */
	uint64_t	 linelen;	/* the wire line's bytes so far */
	uint32_t	 flags;		/* SMTP_DATA_F_* seen */
	uint32_t	 counts[SMTP_DATA_NFLAGS];
};

/*
 * The size Exim 4.96 says in "250- N byte chunk, total M": its
 * message_size. Measured against a real Debian 12 exim 4.96
 * (tests/unit/test_smtp_bdat.c): every line counts its bytes and two for
 * its end, which is CRLF or a bare LF, and in the body also a bare CR (a
 * CR held back at the end is one); in the header section a bare CR counts
 * two but is white space within its line; a last line without an end
 * gets two as well, and so does an empty message; a line of the header
 * section that is neither a
 * header field (printable characters but ':', then white space, then
 * ':'; or a line starting with a space or tab after a field; a first line
 * starting with white space is none) nor empty
 * ends the header section and adds one (the blank line Exim puts before
 * it).
 */
struct smtp_bdat_xcount {
	uint64_t	 total;		/* counted so far */
	bool		 cr;		/* a CR held back: is an LF next? */
	bool		 any;		/* any byte at all */
	bool		 inline_;	/* the open line has bytes */
	bool		 first;		/* the open line is the first */
	unsigned char	 hs;		/* header section state (smtp_bdat.c) */
};

int	 smtp_bdat_parse(const char *arg, size_t len, uint64_t *size,
	    bool *last);
int	 smtp_bdat_exim_parse(const char *arg, size_t len, uint64_t *size,
	    bool *last);
void	 smtp_bdat_xcount_init(struct smtp_bdat_xcount *e);
void	 smtp_bdat_xcount_feed(struct smtp_bdat_xcount *e, const char *p,
	    size_t n);
uint64_t smtp_bdat_xcount_end(const struct smtp_bdat_xcount *e);
void	 smtp_bdat_count_init(struct smtp_bdat_count *c);
void	 smtp_bdat_count_feed(struct smtp_bdat_count *c, const char *p,
	    size_t n);
uint64_t smtp_bdat_count_end(const struct smtp_bdat_count *c);

#endif
