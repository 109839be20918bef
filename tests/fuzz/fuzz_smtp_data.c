/*
 * fuzz_smtp_data.c -- libFuzzer target for the DATA state machine,
 * checked against a deliberately naive whole-buffer reference of
 * RFC 5321 4.5.2 plus the finding rules, and against itself fed in
 * pieces whose sizes come from the input: same bytes out, same number
 * of bytes consumed, same flags and counts.
 * Input: byte 0 = line_max - 1, byte 1 = chunking seed, then the stream.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct sink {
	uint8_t	*buf;
	size_t	 len;
};

struct ref {
	struct sink	 out;
	size_t		 consumed;
	bool		 done;
	uint32_t	 flags;
	uint32_t	 counts[SMTP_DATA_NFLAGS];
};

static void
sink_emit(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	if (n == 0)
		abort();
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void
ref_find(struct ref *r, uint32_t flag)
{
	r->flags |= flag;
	r->counts[__builtin_ctz(flag)]++;
}

/* byte j of the wire stream with the virtual "\r\n" before DATA */
static int
wb(const uint8_t *in, size_t j)
{
	if (j >= 2)
		return in[j - 2];
	return j == 0 ? '\r' : '\n';
}

static void
reference(const uint8_t *in, size_t n, size_t line_max, struct ref *r)
{
	size_t	 i = 0, j, w, linelen = 0;
	bool	 bol = true;

	memset(r, 0, sizeof(*r));
	r->out.buf = malloc(n + 1);
	/* 1. transparency */
	while (i < n) {
		if (bol && in[i] == '.') {
			if (i + 1 == n) {
				i++;		/* held back */
				break;
			}
			if (in[i + 1] == '\r') {
				if (i + 2 == n) {
					i += 2;	/* held back */
					break;
				}
				if (in[i + 2] == '\n') {
					i += 3;
					r->done = true;
					break;
				}
				i++;		/* dot deleted */
			} else if (in[i + 1] == '\n') {
				r->out.buf[r->out.len++] = '.';
				i++;		/* smuggle shape: kept */
			} else
				i++;		/* dot deleted */
		}
		r->out.buf[r->out.len++] = in[i];
		bol = in[i] == '\n' && i > 0 && in[i - 1] == '\r';
		i++;
	}
	r->consumed = i;

	/* 2. findings over the consumed wire bytes */
	w = r->consumed + 2;
	for (j = 2; j < w; j++) {
		int c = wb(in, j);

		if (c == 0)
			ref_find(r, SMTP_DATA_F_NUL);
		else if (c >= 0x80)
			ref_find(r, SMTP_DATA_F_8BIT);
		if (wb(in, j - 1) == '\r' && c != '\n')
			ref_find(r, SMTP_DATA_F_BARE_CR);
		if (c == '\n') {
			int p1 = wb(in, j - 1);
			int p2 = j >= 2 ? wb(in, j - 2) : 0;
			int p3 = j >= 3 ? wb(in, j - 3) : 0;
			int p4 = j >= 4 ? wb(in, j - 4) : 0;

			if (p1 != '\r')
				ref_find(r, SMTP_DATA_F_BARE_LF);
			if (p1 == '\r' && p2 == '.' && p3 == '\n' && p4 != '\r')
				ref_find(r, SMTP_DATA_F_SMUGGLE_LF_DOT_CRLF);
			if (p1 == '\r' && p2 == '.' && p3 == '\r')
				ref_find(r, SMTP_DATA_F_SMUGGLE_CR_DOT_CRLF);
			if (p1 == '.' && p2 == '\n' && p3 != '\r')
				ref_find(r, SMTP_DATA_F_SMUGGLE_LF_DOT_LF);
			if (p1 == '.' && p2 == '\n' && p3 == '\r')
				ref_find(r, SMTP_DATA_F_SMUGGLE_CRLF_DOT_LF);
		}
		/* line length: all bytes but a CRLF; a final CR is pending */
		if (c == '\n' && wb(in, j - 1) == '\r') {
			linelen = 0;
			continue;
		}
		if (c == '\r' && (j + 1 == w || wb(in, j + 1) == '\n'))
			continue;
		if (++linelen == line_max + 1)
			ref_find(r, SMTP_DATA_F_LONG_LINE);
	}
}

static void
stream(const uint8_t *in, size_t n, size_t line_max, uint32_t seed,
    struct ref *r, struct smtp_data *d)
{
	size_t	 off = 0, k, got;
	uint8_t	*piece;

	memset(r, 0, sizeof(*r));
	r->out.buf = malloc(n + 1);
	smtp_data_init(d, line_max);
	while (off < n && !r->done) {
		if (seed == 0)
			k = n - off;
		else {
			seed = seed * 1103515245u + 12345u;
			k = 1 + (seed >> 16) % 17;
			if (k > n - off)
				k = n - off;
		}
		piece = malloc(k);
		memcpy(piece, in + off, k);
		got = smtp_data_feed(d, (const char *)piece, k, sink_emit,
		    &r->out, &r->done);
		free(piece);
		if (got > k || (got < k && !r->done))
			abort();
		off += got;
	}
	r->consumed = off;
	r->flags = d->flags;
	memcpy(r->counts, d->counts, sizeof(r->counts));
	if (d->in_bytes != off || d->out_bytes != r->out.len)
		abort();
}

static void
compare(const struct ref *a, const struct ref *b)
{
	if (a->out.len != b->out.len ||
	    memcmp(a->out.buf, b->out.buf, a->out.len) != 0 ||
	    a->consumed != b->consumed || a->done != b->done ||
	    a->flags != b->flags ||
	    memcmp(a->counts, b->counts, sizeof(a->counts)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ref		 want, whole, pieces;
	struct smtp_data	 d;
	size_t			 line_max;

	if (size < 2)
		return 0;
	line_max = (size_t)data[0] + 1;
	reference(data + 2, size - 2, line_max, &want);
	stream(data + 2, size - 2, line_max, 0, &whole, &d);
	stream(data + 2, size - 2, line_max, data[1] | 0x100u, &pieces, &d);
	compare(&want, &whole);
	compare(&want, &pieces);
	free(want.out.buf);
	free(whole.out.buf);
	free(pieces.out.buf);
	return 0;
}
