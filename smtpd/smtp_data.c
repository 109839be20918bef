/*
 * smtp_data.c -- the DATA byte stream of one session, run in the jailed
 * smtpd process. RFC 5321 4.5.2 transparency: a '.' that starts a line
 * (after CRLF, or first byte of DATA) is removed, and CRLF "." CRLF ends
 * the message; the CRLF before the dot belongs to the message. Nothing
 * else is changed: bare LF, bare CR, NUL, 8-bit bytes, over-long lines
 * and smuggling-shaped sequences ("\n.\r\n", "\r.\r\n", "\n.\n",
 * "\r\n.\n") pass through byte for byte and are counted as findings.
 * The result does not depend on how the input is cut into pieces.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp_data.h"

/*
 * d->state: low byte is the parser state, bits 8..15 the classes of the
 * last four wire bytes (2 bits each, newest lowest), which is all the
 * smuggling patterns need to look back.
 */
enum {
	DS_BOL = 0,	/* at the start of a line (after CRLF) */
	DS_MID,		/* inside a line, last byte not CR */
	DS_CR,		/* last byte was CR (emitted) */
	DS_DOT,		/* "." at BOL, held back */
	DS_DOTCR,	/* ".\r" at BOL, both held back */
	DS_END,		/* CRLF.CRLF seen */
};

#define H_OTHER	0
#define H_CR	1
#define H_LF	2
#define H_DOT	3

#define ST(s)		((s) & 0xff)
#define HIST(s)		(((unsigned int)(s) >> 8) & 0xff)
#define MKST(st, h)	((int)((st) | (((h) & 0xff) << 8)))
#define H1(h)		((h) & 3)		/* previous byte */
#define H2(h)		(((h) >> 2) & 3)
#define H3(h)		(((h) >> 4) & 3)
#define H4(h)		(((h) >> 6) & 3)

static const char *const flag_names[SMTP_DATA_NFLAGS] = {
	"bare_lf",
	"bare_cr",
	"nul",
	"long_line",
	"smuggle_lf_dot_crlf",
	"smuggle_cr_dot_crlf",
	"smuggle_lf_dot_lf",
	"smuggle_crlf_dot_lf",
	"8bit",
};

static void	 finding(struct smtp_data *, uint32_t);
static void	 line_byte(struct smtp_data *);

static void
finding(struct smtp_data *d, uint32_t flag)
{
	int	 bit = __builtin_ctz(flag);

	d->flags |= flag;
	if (d->counts[bit] != UINT32_MAX)
		d->counts[bit]++;
}

/* one more byte on the current line (a CRLF ends the line) */
static void
line_byte(struct smtp_data *d)
{
	if (d->linelen != SIZE_MAX)
		d->linelen++;
	if (d->line_max > 0 && d->linelen == d->line_max + 1)
		finding(d, SMTP_DATA_F_LONG_LINE);
}

/*
 * smtp_data_init -- start a DATA stream: at the beginning of a line,
 * nothing seen. line_max is the longest line (without CRLF) that is not
 * a finding; 0 disables the check.
 */
void
smtp_data_init(struct smtp_data *d, size_t line_max)
{
	memset(d, 0, sizeof(*d));
	d->line_max = line_max;
	/* DATA follows a CRLF: the history starts as "\r\n" */
	d->state = MKST(DS_BOL, (H_CR << 2) | H_LF);
}

/*
 * smtp_data_feed -- consume wire bytes in[0..len), emitting message bytes
 * through emit(arg, p, n) (any number of calls, n > 0). Stops right after
 * the terminating CRLF.CRLF and sets *done; the bytes after it are not
 * consumed (they are pipelined commands). Returns the number of bytes
 * consumed; after *done it consumes nothing. in_bytes/out_bytes, flags
 * and counts accumulate over the calls.
 */
size_t
smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
    smtp_data_emit emit, void *arg, bool *done)
{
	const unsigned char	*p = (const unsigned char *)in;
	unsigned int		 st = ST(d->state), h = HIST(d->state), cls;
	size_t			 i, run = 0;	/* first byte not yet emitted */
	unsigned char		 c;

	*done = st == DS_END;
	if (*done)
		return 0;

#define FLUSH(upto) do {						\
	if ((upto) > run) {						\
		emit(arg, in + run, (upto) - run);			\
		d->out_bytes += (upto) - run;				\
	}								\
} while (0)

	for (i = 0; i < len; i++) {
		c = p[i];

		/* findings, on the wire bytes */
		if (c == '\0')
			finding(d, SMTP_DATA_F_NUL);
		else if (c >= 0x80)
			finding(d, SMTP_DATA_F_8BIT);
		if (H1(h) == H_CR && c != '\n') {
			finding(d, SMTP_DATA_F_BARE_CR);
			line_byte(d);	/* the CR was part of the line */
		}
		if (c == '\n') {
			if (H1(h) != H_CR)
				finding(d, SMTP_DATA_F_BARE_LF);
			if (H1(h) == H_CR && H2(h) == H_DOT &&
			    H3(h) == H_LF && H4(h) != H_CR)
				finding(d, SMTP_DATA_F_SMUGGLE_LF_DOT_CRLF);
			if (H1(h) == H_CR && H2(h) == H_DOT && H3(h) == H_CR)
				finding(d, SMTP_DATA_F_SMUGGLE_CR_DOT_CRLF);
			if (H1(h) == H_DOT && H2(h) == H_LF && H3(h) != H_CR)
				finding(d, SMTP_DATA_F_SMUGGLE_LF_DOT_LF);
			if (H1(h) == H_DOT && H2(h) == H_LF && H3(h) == H_CR)
				finding(d, SMTP_DATA_F_SMUGGLE_CRLF_DOT_LF);
		}
		if (c == '\n' && H1(h) == H_CR)
			d->linelen = 0;
		else if (c != '\r')
			line_byte(d);
		cls = c == '\r' ? H_CR : c == '\n' ? H_LF : c == '.' ? H_DOT :
		    H_OTHER;
		h = ((h << 2) | cls) & 0xff;

		/* transparency */
		switch (st) {
		case DS_BOL:
			if (c == '.') {
				FLUSH(i);
				run = i + 1;	/* hold the dot back */
				st = DS_DOT;
				continue;
			}
			break;
		case DS_DOT:
			if (c == '\r') {
				run = i + 1;	/* hold ".\r" back */
				st = DS_DOTCR;
				continue;
			}
			if (c == '\n') {
				/* "\r\n.\n": not a line end; keep the dot */
				emit(arg, ".", 1);
				d->out_bytes++;
			}
			/* else: RFC 5321 4.5.2, the first dot is deleted */
			break;
		case DS_DOTCR:
			if (c == '\n') {
				st = DS_END;
				i++;
				run = i;
				goto out;
			}
			/* ".\r" + more: dot deleted, the CR is kept */
			emit(arg, "\r", 1);
			d->out_bytes++;
			st = DS_CR;
			break;
		}
		if (c == '\r')
			st = DS_CR;
		else if (c == '\n' && st == DS_CR)
			st = DS_BOL;
		else
			st = DS_MID;
	}
	FLUSH(i);
out:
#undef FLUSH
	d->in_bytes += i;
	d->state = MKST(st, h);
	*done = st == DS_END;
	return i;
}

/*
 * smtp_data_flag_name -- short snake_case name of one SMTP_DATA_F_* bit
 * for logs and the envelope, or "unknown".
 */
const char *
smtp_data_flag_name(uint32_t flag)
{
	if (flag == 0 || (flag & (flag - 1)) != 0 ||
	    __builtin_ctz(flag) >= SMTP_DATA_NFLAGS)
		return "unknown";
	return flag_names[__builtin_ctz(flag)];
}
