/*
 * test_smtp_data.c -- the DATA state machine: dot-unstuffing, the one
 * true terminator, findings for bare CR/LF, NUL, 8-bit, long lines and
 * smuggling shapes; every case fed whole, split at every byte and one
 * byte at a time must give the same bytes, flags and counts.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "tests/tap.h"

#define S(lit)	(lit), (sizeof(lit) - 1)

struct data_case {
	const char	*name;
	const char	*in;
	size_t		 len;
	const char	*out;
	size_t		 outlen;
	size_t		 line_max;	/* 0: 998 */
	bool		 done;
	size_t		 consumed;	/* 0: len */
	uint32_t	 flags;
	uint32_t	 count_bit;	/* one flag whose count is checked */
	uint32_t	 count;
};

static const struct data_case cases[] = {
	{ .name = "empty message", .in = S(".\r\n"), .out = S(""),
	  .done = true },
	{ .name = "one line", .in = S("hello\r\n.\r\n"), .out = S("hello\r\n"),
	  .done = true },
	{ .name = "headers body", .in = S("Subject: x\r\n\r\nbody\r\n.\r\n"),
	  .out = S("Subject: x\r\n\r\nbody\r\n"), .done = true },
	{ .name = "stuffed dot", .in = S("..x\r\n.\r\n"), .out = S(".x\r\n"),
	  .done = true },
	{ .name = "stuffed dot line", .in = S("a\r\n..\r\n.\r\n"),
	  .out = S("a\r\n.\r\n"), .done = true },
	{ .name = "dot other char", .in = S("a\r\n.x\r\n.\r\n"),
	  .out = S("a\r\nx\r\n"), .done = true },
	{ .name = "dot not at bol", .in = S("a.b\r\nc .\r\n.\r\n"),
	  .out = S("a.b\r\nc .\r\n"), .done = true },
	{ .name = "pipelined after", .in = S("x\r\n.\r\nQUIT\r\n"),
	  .out = S("x\r\n"), .done = true, .consumed = 6 },
	{ .name = "not finished", .in = S("x\r\n.\r"), .out = S("x\r\n"),
	  .done = false },
	{ .name = "no terminator", .in = S("x\r\ny"), .out = S("x\r\ny"),
	  .done = false },
	{ .name = "dot cr other", .in = S(".\rx\r\n.\r\n"),
	  .out = S("\rx\r\n"), .done = true,
	  .flags = SMTP_DATA_F_BARE_CR },
	{ .name = "dot cr cr", .in = S(".\r\r\n.\r\n"), .out = S("\r\r\n"),
	  .done = true, .flags = SMTP_DATA_F_BARE_CR },
	{ .name = "bare lf", .in = S("a\nb\r\n.\r\n"), .out = S("a\nb\r\n"),
	  .done = true, .flags = SMTP_DATA_F_BARE_LF },
	{ .name = "bare cr", .in = S("a\rb\r\n.\r\n"), .out = S("a\rb\r\n"),
	  .done = true, .flags = SMTP_DATA_F_BARE_CR },
	{ .name = "nul", .in = S("a\0b\0\r\n.\r\n"), .out = S("a\0b\0\r\n"),
	  .done = true, .flags = SMTP_DATA_F_NUL,
	  .count_bit = SMTP_DATA_F_NUL, .count = 2 },
	{ .name = "8bit", .in = S("\xc3\xa9\r\n.\r\n"), .out = S("\xc3\xa9\r\n"),
	  .done = true, .flags = SMTP_DATA_F_8BIT,
	  .count_bit = SMTP_DATA_F_8BIT, .count = 2 },
	{ .name = "smuggle lf.crlf", .in = S("a\n.\r\nMAIL FROM:<x>\r\n.\r\n"),
	  .out = S("a\n.\r\nMAIL FROM:<x>\r\n"), .done = true,
	  .flags = SMTP_DATA_F_BARE_LF | SMTP_DATA_F_SMUGGLE_LF_DOT_CRLF },
	{ .name = "smuggle cr.crlf", .in = S("a\r.\r\nb\r\n.\r\n"),
	  .out = S("a\r.\r\nb\r\n"), .done = true,
	  .flags = SMTP_DATA_F_BARE_CR | SMTP_DATA_F_SMUGGLE_CR_DOT_CRLF },
	{ .name = "smuggle lf.lf", .in = S("a\n.\nb\r\n.\r\n"),
	  .out = S("a\n.\nb\r\n"), .done = true,
	  .flags = SMTP_DATA_F_BARE_LF | SMTP_DATA_F_SMUGGLE_LF_DOT_LF,
	  .count_bit = SMTP_DATA_F_BARE_LF, .count = 2 },
	{ .name = "smuggle crlf.lf", .in = S("a\r\n.\nb\r\n.\r\n"),
	  .out = S("a\r\n.\nb\r\n"), .done = true,
	  .flags = SMTP_DATA_F_BARE_LF | SMTP_DATA_F_SMUGGLE_CRLF_DOT_LF },
	{ .name = "smuggle crlf.lf at start", .in = S(".\nb\r\n.\r\n"),
	  .out = S(".\nb\r\n"), .done = true,
	  .flags = SMTP_DATA_F_BARE_LF | SMTP_DATA_F_SMUGGLE_CRLF_DOT_LF },
	{ .name = "smuggle lf.crlf at start", .in = S("\n.\r\nx\r\n.\r\n"),
	  .out = S("\n.\r\nx\r\n"), .done = true,
	  .flags = SMTP_DATA_F_BARE_LF | SMTP_DATA_F_SMUGGLE_LF_DOT_CRLF },
	{ .name = "smuggle then end", .in = S("a\n.\r\n.\r\n"),
	  .out = S("a\n.\r\n"), .done = true,
	  .flags = SMTP_DATA_F_BARE_LF | SMTP_DATA_F_SMUGGLE_LF_DOT_CRLF },
	{ .name = "all smuggles", .in = S("1\n.\r\n2\r.\r\n3\n.\n4\r\n.\n5\r\n.\r\n"),
	  .out = S("1\n.\r\n2\r.\r\n3\n.\n4\r\n.\n5\r\n"), .done = true,
	  .flags = SMTP_DATA_F_BARE_LF | SMTP_DATA_F_BARE_CR |
	  SMTP_DATA_F_SMUGGLE_LF_DOT_CRLF | SMTP_DATA_F_SMUGGLE_CR_DOT_CRLF |
	  SMTP_DATA_F_SMUGGLE_LF_DOT_LF | SMTP_DATA_F_SMUGGLE_CRLF_DOT_LF },
	{ .name = "dot-lf not end", .in = S("a\r\n.\n.\r\n"),
	  .out = S("a\r\n.\n.\r\n"), .done = false,
	  .flags = SMTP_DATA_F_BARE_LF | SMTP_DATA_F_SMUGGLE_CRLF_DOT_LF |
	  SMTP_DATA_F_SMUGGLE_LF_DOT_CRLF },
	{ .name = "line max exact", .in = S("abcd\r\n.\r\n"),
	  .out = S("abcd\r\n"), .line_max = 4, .done = true },
	{ .name = "line max over", .in = S("abcde\r\nabcdef\r\nab\r\n.\r\n"),
	  .out = S("abcde\r\nabcdef\r\nab\r\n"), .line_max = 4, .done = true,
	  .flags = SMTP_DATA_F_LONG_LINE,
	  .count_bit = SMTP_DATA_F_LONG_LINE, .count = 2 },
	{ .name = "bare lf does not end line", .in = S("ab\ncd\r\n.\r\n"),
	  .out = S("ab\ncd\r\n"), .line_max = 4, .done = true,
	  .flags = SMTP_DATA_F_BARE_LF | SMTP_DATA_F_LONG_LINE },
	{ .name = "bare cr counts", .in = S("ab\rc\r\n.\r\n"),
	  .out = S("ab\rc\r\n"), .line_max = 3, .done = true,
	  .flags = SMTP_DATA_F_BARE_CR | SMTP_DATA_F_LONG_LINE },
	{ .name = "crlf not counted", .in = S("abc\r\n.\r\n"),
	  .out = S("abc\r\n"), .line_max = 3, .done = true },
};

struct sink {
	char	*buf;
	size_t	 len;
	size_t	 calls;
};

static void
sink_emit(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	s->buf = realloc(s->buf, s->len + n);
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->calls++;
	if (n == 0)
		s->calls += 1000;	/* the contract says n > 0 */
}

struct result {
	struct sink		 sink;
	struct smtp_data	 d;
	size_t			 consumed;
	bool			 done;
};

/* feed in[0..len) in pieces of at most step bytes, cut once at cut */
static void
feed(const struct data_case *c, size_t cut, size_t step, struct result *r)
{
	size_t	 off = 0, n, got;
	char	*piece;

	memset(r, 0, sizeof(*r));
	smtp_data_init(&r->d, c->line_max ? c->line_max : 998);
	while (off < c->len && !r->done) {
		n = c->len - off;
		if (off < cut && off + n > cut)
			n = cut - off;
		if (step > 0 && n > step)
			n = step;
		/* exact-size copy so that ASan sees any overread */
		piece = malloc(n);
		memcpy(piece, c->in + off, n);
		got = smtp_data_feed(&r->d, piece, n, sink_emit, &r->sink,
		    &r->done);
		free(piece);
		if (got > n)
			got = n;
		r->consumed += got;
		if (got < n && !r->done)
			break;		/* would loop forever */
		off += got;
	}
	/* after done nothing more is consumed */
	if (r->done && off < c->len) {
		bool done2 = false;

		if (smtp_data_feed(&r->d, c->in + off, c->len - off, sink_emit,
		    &r->sink, &done2) != 0 || !done2)
			r->consumed = (size_t)-1;
	}
}

static bool
same(const struct data_case *c, const struct result *r)
{
	size_t	 want_consumed = c->consumed ? c->consumed : c->len;

	return r->sink.len == c->outlen &&
	    memcmp(r->sink.buf ? r->sink.buf : "", c->out, c->outlen) == 0 &&
	    r->done == c->done && r->consumed == want_consumed &&
	    r->d.flags == c->flags && r->d.in_bytes == want_consumed &&
	    r->d.out_bytes == c->outlen && r->sink.calls < 1000 &&
	    (c->count_bit == 0 ||
	    r->d.counts[__builtin_ctz(c->count_bit)] == c->count);
}

static void
run_case(const struct data_case *c)
{
	struct result	 r;
	size_t		 cut, bad = 0, want_consumed;

	want_consumed = c->consumed ? c->consumed : c->len;
	feed(c, 0, 0, &r);
	is_mem(r.sink.buf ? r.sink.buf : "", r.sink.len, c->out, c->outlen,
	    "%s: output", c->name);
	is_int(r.done, c->done, "%s: done", c->name);
	is_int(r.consumed, want_consumed, "%s: consumed", c->name);
	is_int(r.d.flags, c->flags, "%s: flags", c->name);
	is_int(r.d.in_bytes, want_consumed, "%s: in_bytes", c->name);
	is_int(r.d.out_bytes, c->outlen, "%s: out_bytes", c->name);
	if (c->count_bit)
		is_int(r.d.counts[__builtin_ctz(c->count_bit)], c->count,
		    "%s: count", c->name);
	free(r.sink.buf);

	for (cut = 0; cut <= c->len; cut++) {
		feed(c, cut, 0, &r);
		if (!same(c, &r)) {
			if (bad++ == 0)
				printf("# %s: differs when split at %zu\n",
				    c->name, cut);
		}
		free(r.sink.buf);
	}
	ok(bad == 0, "%s: same at every split (%zu bad)", c->name, bad);
	feed(c, 0, 1, &r);
	ok(same(c, &r), "%s: same one byte at a time", c->name);
	free(r.sink.buf);
}

static void
test_names(void)
{
	uint32_t	 f;
	int		 i;

	is_str(smtp_data_flag_name(SMTP_DATA_F_BARE_LF), "bare_lf", "name lf");
	is_str(smtp_data_flag_name(SMTP_DATA_F_8BIT), "8bit", "name 8bit");
	is_str(smtp_data_flag_name(0), "unknown", "name 0");
	is_str(smtp_data_flag_name(3), "unknown", "name two bits");
	is_str(smtp_data_flag_name(1u << SMTP_DATA_NFLAGS), "unknown",
	    "name past the end");
	for (i = 0; i < SMTP_DATA_NFLAGS; i++) {
		f = 1u << i;
		ok(strcmp(smtp_data_flag_name(f), "unknown") != 0,
		    "flag %d has a name", i);
	}
}

static void
test_big(void)
{
	struct smtp_data	 d;
	struct sink		 s = { 0 };
	char			*in;
	size_t			 n = 1 << 20, got;
	bool			 done;

	/* 1 MiB line without CRLF: long line counted once, all passed */
	in = malloc(n);
	memset(in, 'x', n);
	smtp_data_init(&d, 998);
	got = smtp_data_feed(&d, in, n, sink_emit, &s, &done);
	is_int(got, n, "big: consumed");
	ok(!done, "big: not done");
	is_int(d.counts[__builtin_ctz(SMTP_DATA_F_LONG_LINE)], 1,
	    "big: one long line");
	is_int(s.len, n, "big: emitted");
	got = smtp_data_feed(&d, "\r\n.\r\n", 5, sink_emit, &s, &done);
	ok(done && got == 5 && s.len == n + 2, "big: ends");
	free(in);
	free(s.buf);
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_names();
	test_big();
	return tap_done();
}
