/*
 * smtp_data.h -- the DATA stream: dot-unstuffing exactly per RFC 5321
 * 4.5.2, end of data only at CRLF.CRLF, and findings for everything odd
 * (bare LF, bare CR, NUL, over-long lines, smuggling-shaped sequences).
 * Pure: feed it bytes in pieces of any size; it emits the unstuffed
 * message bytes (CRLF kept; the final CRLF before "." belongs to the
 * message) through a callback and says when the terminator was seen.
 */
#ifndef RT_SMTP_DATA_H
#define RT_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_DATA_F_BARE_LF	0x0001	/* LF not preceded by CR */
#define SMTP_DATA_F_BARE_CR	0x0002	/* CR not followed by LF */
#define SMTP_DATA_F_NUL		0x0004
#define SMTP_DATA_F_LONG_LINE	0x0008	/* line longer than line_max */
#define SMTP_DATA_TEXT_LINE_MAX	998	/* RFC 5321 4.5.3.1.6, without CRLF */
#define SMTP_DATA_F_SMUGGLE_LF_DOT_CRLF	0x0010	/* "\n.\r\n"  */
#define SMTP_DATA_F_SMUGGLE_CR_DOT_CRLF	0x0020	/* "\r.\r\n"  */
#define SMTP_DATA_F_SMUGGLE_LF_DOT_LF	0x0040	/* "\n.\n"    */
#define SMTP_DATA_F_SMUGGLE_CRLF_DOT_LF	0x0080	/* "\r\n.\n"  */
#define SMTP_DATA_F_8BIT	0x0100	/* bytes >= 0x80 */
#define SMTP_DATA_NFLAGS	9

typedef void	(*smtp_data_emit)(void *arg, const char *p, size_t n);

struct smtp_data {
	int		 state;		/* private */
	size_t		 linelen;	/* private */
	size_t		 line_max;
	uint32_t	 flags;		/* SMTP_DATA_F_* seen so far */
	uint32_t	 counts[SMTP_DATA_NFLAGS]; /* occurrences per flag bit */
	uint64_t	 in_bytes;	/* wire bytes consumed */
	uint64_t	 out_bytes;	/* message bytes emitted */
};

void	 smtp_data_init(struct smtp_data *d, size_t line_max);
size_t	 smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
	    smtp_data_emit emit, void *arg, bool *done);
const char *smtp_data_flag_name(uint32_t flag);

#endif
