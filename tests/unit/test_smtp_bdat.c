/*
 * test_smtp_bdat.c -- BDAT's argument ("count [LAST]", table-driven, each
 * case also cut short at every byte) and the size Postfix reports for a
 * chunked message: the expected sizes are what a real Debian 12 postfix
 * 3.7.11 answered for the same bytes ("250 2.0.0 Ok: N bytes queued
 * as ..."); each is fed whole, split at every byte and one byte at a
 * time, and must count the same. Also what the DATA parser would find in
 * the same bytes (bare LF and CR, NUL, 8-bit, long lines). The same for
 * Exim: its reading of the argument (sscanf "%u %n") and the total of
 * "250- N byte chunk, total M", each expected total what a real Debian 12
 * exim 4.96 answered for the bytes sent in one "BDAT n LAST".
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_bdat.h"
#include "tests/tap.h"

#define S(lit)	(lit), (sizeof(lit) - 1)

static const struct {
	const char	*arg;
	int		 rc;
	uint64_t	 size;
	bool		 last;
} parse_cases[] = {
	{ "10", 0, 10, false },
	{ "5 LAST", 0, 5, true },
	{ "0 LAST", 0, 0, true },
	{ "0", 0, 0, false },
	{ "3 last", 0, 3, true },
	{ "3 LaSt", 0, 3, true },
	{ " 3  LAST ", 0, 3, true },
	{ "3\tLAST", 0, 3, true },
	{ "003 LAST", 0, 3, true },
	{ "9007199254740992", 0, (uint64_t)1 << 53, false },
	{ "9007199254740993", -1, 0, false },
	{ "99999999999999999999", -1, 0, false },
	{ "", -1, 0, false },
	{ "LAST", -1, 0, false },
	{ "x", -1, 0, false },
	{ "-1", -1, 0, false },
	{ "+3 LAST", -1, 0, false },
	{ "3x", -1, 0, false },
	{ "3 LASTX", -1, 0, false },
	{ "3 LAS", -1, 0, false },
	{ "5 FOO", -1, 0, false },
	{ "3 LAST X", -1, 0, false },
	{ "3 LAST LAST", -1, 0, false },
	{ "3,LAST", -1, 0, false },
	{ "1 2", -1, 0, false },
};

static const struct {
	const char	*name;
	const char	*in;
	size_t		 len;
	uint64_t	 want;
} count_cases[] = {
	/* the chunks of one message, concatenated; postfix 3.7.11 said */
	{ "two chunks, no line end", S("0123456789abcde"), 17 },
	{ "one CRLF line", S("ab\r\n"), 4 },
	{ "nothing", S(""), 0 },
	{ "no line end", S("abc"), 5 },
	{ "bare LF and CRLF lines", S("a\nb\r\nc"), 9 },
	{ "one LF line", S("a\n"), 3 },
	{ "LF lines", S("ab\ncd\n"), 8 },
	{ "a CR at the end", S("a\r"), 4 },
	{ "a CR alone", S("\r"), 3 },
	{ "a line that is a dot, cut short", S("ab\r\n.\r\ncd\r"), 12 },
	{ "a line that is a dot", S("ab\r\n.\r\n"), 7 },
	{ "a dot line first", S(".\r\ncd\r\n"), 7 },
	{ "a dot line in the middle", S("ab\r\n.\r\ncd"), 11 },
	{ "a dot alone", S("."), 3 },
	{ "a dot and CR", S(".\r"), 4 },
	{ "a dot and CRLF", S(".\r\n"), 3 },
	{ "two dots", S(".."), 4 },
	{ "a line starting with a dot", S(".ab"), 5 },
	{ "a dot after a line", S("ab\r\n."), 7 },
	{ "stuffed dots", S("x\r\n..ab\r\n"), 9 },
	{ "empty lines", S("\r\n\r\n"), 4 },
	{ "one empty line", S("\r\n"), 2 },
	{ "two LFs", S("\n\n"), 4 },
	{ "header and body", S("a: b\r\n\r\n.\r\n"), 11 },
	{ "CRs before CRLF", S("a\r\r\r\n"), 3 },
	{ "CR CR LF", S("a\r\r\n"), 3 },
	{ "CR CR LF alone", S("\r\r\n"), 2 },
	{ "NUL and 8-bit", S("a\0b\377c\n"), 7 },
};

/* zs bytes "z" and then tail; postfix 3.7.11 said */
static const struct {
	const char	*name;
	size_t		 zs;
	const char	*tail;
	uint64_t	 want;
} long_cases[] = {
	{ "2,047 bytes and CRLF", 2047, "\r\n", 2049 },
	{ "2,048 bytes and CRLF", 2048, "\r\n", 2052 },
	{ "2,049 bytes and CRLF", 2049, "\r\n", 2053 },
	{ "2,048 bytes, no line end", 2048, "", 2050 },
	{ "4,096 bytes and LF", 4096, "\n", 4102 },
	{ "2,047 bytes, CR, CRLF", 2047, "\r\r\n", 2052 },
	{ "2,048 bytes and a dot line", 2048, ".\r\n", 2053 },
	{ "5,000 bytes and CRLF", 5000, "\r\n", 5006 },
};

static const struct {
	const char	*arg;
	int		 rc;
	uint64_t	 size;
	bool		 last;
} exim_parse_cases[] = {
	{ "10", 0, 10, false },
	{ "5 LAST", 0, 5, true },
	{ "5 last", 0, 5, true },	/* [verified] */
	{ "3 junk", 0, 3, false },	/* [verified]: a chunk, not the last */
	{ "3 LAST X", 0, 3, false },
	{ "3 LASTX", 0, 3, false },
	{ "3LAST", 0, 3, true },	/* "%u %n": no space needed */
	{ " 3  LAST ", 0, 3, true },
	{ "0", 0, 0, false },
	{ "0 LAST", 0, 0, true },
	{ "+7", 0, 7, false },
	{ "-1", 0, 4294967295u, false },
	{ "4294967296", 0, 0, false },	/* unsigned int keeps the low bits */
	{ "99999999999999999999", 0, 4294967295u, false },
	{ "", -1, 0, false },		/* [verified] "missing size" */
	{ "x", -1, 0, false },		/* [verified] */
	{ "LAST", -1, 0, false },
	{ "-", -1, 0, false },
	{ "- 1", -1, 0, false },
};

/* [verified] the bytes of "BDAT n LAST" and Exim's "total" for them */
static const struct {
	const char	*name;
	const char	*in;
	size_t		 len;
	uint64_t	 want;
} exim_count_cases[] = {
	{ "a message", S("Subject: x\r\n\r\nhello\r\n"), 21 },
	{ "no header", S("abcdefgh"), 11 },
	{ "one line", S("x\r\n"), 4 },
	{ "no end of line", S("Subject: x\r\n\r\nhello"), 21 },
	{ "a dot line", S("Subject: x\r\n\r\n.hello\r\n"), 22 },
	{ "empty", S(""), 2 },
	{ "bare CR first", S("a\rb\r\n"), 7 },
	{ "body after a field", S("Subject: x\r\nhello\r\n"), 20 },
	{ "From line", S("From foo\r\nSubject: x\r\n\r\nb\r\n"), 28 },
	{ "empty name", S(": x\r\n\r\nb\r\n"), 10 },
	{ "continuation first", S(" x\r\n\r\nb\r\n"), 10 },
	{ "continuation", S("Subject: x\r\n y\r\n\r\nb\r\n"), 21 },
	{ "bare LF in the body", S("Subject: x\r\n\r\na\nb\r\n"), 20 },
	{ "NUL in the body", S("Subject: x\r\n\r\na\0b\r\n"), 19 },
	{ "blank line only", S("\r\n"), 2 },
	{ "bare CR in the body", S("Subject: x\r\n\r\na\rb\r\n"), 20 },
	{ "CR CR LF", S("Subject: x\r\n\r\na\r\r\nb\r\n"), 22 },
	{ "a field only", S("Subject: x"), 12 },
	{ "CR at the end", S("Subject: x\r\n\r\nab\r"), 18 },
	{ "space in the name", S("Su bject: x\r\n\r\nb\r\n"), 19 },
	{ "three fields", S("Subject: x\r\nFrom: y\r\nTo: z\r\n\r\nb\r\n"),
	    33 },
	{ "two chunks joined", S("abcde"), 8 },
	{ "de", S("de"), 5 },
	/* [verified] by tests/parity/bdat_vs_exim.py's random sessions */
	{ "bare CR in a field", S("a\r:"), 6 },
	{ "bare CR first", S("\r. "), 7 },
	{ "white space first", S(" :a\r "), 9 },
};

static uint64_t	 split_count(const char *, size_t, size_t, size_t, bool);

/* Exim's total, fed as count_split() feeds Postfix's */
static uint64_t
exim_split(const char *in, size_t len, size_t step, size_t cut)
{
	return split_count(in, len, step, cut, true);
}

static void
check_exim(void)
{
	uint64_t size, whole, bytes;
	bool	 last, same;
	size_t	 i, cut, len;
	int	 rc;

	for (i = 0; i < sizeof(exim_parse_cases) / sizeof(exim_parse_cases[0]);
	    i++) {
		const char *a = exim_parse_cases[i].arg;

		rc = smtp_bdat_exim_parse(a, strlen(a), &size, &last);
		ok(rc == exim_parse_cases[i].rc && (rc != 0 ||
		    (size == exim_parse_cases[i].size &&
		    last == exim_parse_cases[i].last)),
		    "exim parse \"%s\": rc %d size %llu last %d", a, rc,
		    (unsigned long long)size, last);
		for (cut = 0; cut < strlen(a); cut++) {
			char	*p = malloc(cut ? cut : 1);

			memcpy(p, a, cut);
			(void)smtp_bdat_exim_parse(p, cut, &size, &last);
			free(p);
		}
	}
	for (i = 0; i < sizeof(exim_count_cases) / sizeof(exim_count_cases[0]);
	    i++) {
		len = exim_count_cases[i].len;
		whole = exim_split(exim_count_cases[i].in, len, len + 1, 0);
		bytes = exim_split(exim_count_cases[i].in, len, 1, 0);
		same = true;
		for (cut = 1; cut < len; cut++)
			if (exim_split(exim_count_cases[i].in, len, len + 1,
			    cut) != whole)
				same = false;
		ok(whole == exim_count_cases[i].want && bytes == whole && same,
		    "exim total %s: %llu (want %llu), byte at a time %llu, "
		    "every split the same %d", exim_count_cases[i].name,
		    (unsigned long long)whole,
		    (unsigned long long)exim_count_cases[i].want,
		    (unsigned long long)bytes, same);
	}
}

static void
check_parse(void)
{
	uint64_t size;
	bool	 last;
	size_t	 i, cut;
	int	 rc;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const char *a = parse_cases[i].arg;

		rc = smtp_bdat_parse(a, strlen(a), &size, &last);
		ok(rc == parse_cases[i].rc && (rc != 0 ||
		    (size == parse_cases[i].size &&
		    last == parse_cases[i].last)),
		    "parse \"%s\": rc %d size %llu last %d", a, rc,
		    (unsigned long long)size, last);
		/* never reads past len: every prefix, copied to its size */
		for (cut = 0; cut < strlen(a); cut++) {
			char	*p = malloc(cut ? cut : 1);

			memcpy(p, a, cut);
			(void)smtp_bdat_parse(p, cut, &size, &last);
			free(p);
		}
	}
}

/*
 * Both counts of in: fed whole (step > len), step bytes at a time, or in
 * two pieces cut at cut (cut > 0); the Exim one if exim.
 */
static uint64_t
split_count(const char *in, size_t len, size_t step, size_t cut, bool exim)
{
	struct smtp_bdat_count c;
	struct smtp_bdat_xcount e;
	size_t	 i, n;

	smtp_bdat_count_init(&c);
	smtp_bdat_xcount_init(&e);
	for (i = 0; i < len; i += n) {
		n = cut > 0 ? (i == 0 ? cut : len - cut) :
		    (len - i < step ? len - i : step);
		smtp_bdat_count_feed(&c, in + i, n);
		smtp_bdat_xcount_feed(&e, in + i, n);
	}
	return exim ? smtp_bdat_xcount_end(&e) : smtp_bdat_count_end(&c);
}

static uint64_t
count_split(const char *in, size_t len, size_t step, size_t cut)
{
	return split_count(in, len, step, cut, false);
}

static void
check_count_case(const char *name, const char *in, size_t len, uint64_t want)
{
	uint64_t whole, bytes;
	size_t	 cut;
	int	 split_ok = 1;

	whole = count_split(in, len, len ? len : 1, 0);
	bytes = count_split(in, len, 1, 0);
	for (cut = 1; cut < len; cut++)
		if (count_split(in, len, len, cut) != want)
			split_ok = 0;
	ok(whole == want && bytes == want && split_ok,
	    "count %s: %llu (byte by byte %llu, every split %s), want %llu",
	    name, (unsigned long long)whole, (unsigned long long)bytes,
	    split_ok ? "same" : "differs", (unsigned long long)want);
}

static void
check_count(void)
{
	char	*big;
	size_t	 i;

	for (i = 0; i < sizeof(count_cases) / sizeof(count_cases[0]); i++)
		check_count_case(count_cases[i].name, count_cases[i].in,
		    count_cases[i].len, count_cases[i].want);
	/* long lines: Postfix reads them in pieces of 2,048 bytes */
	big = malloc(5003);
	for (i = 0; i < sizeof(long_cases) / sizeof(long_cases[0]); i++) {
		size_t	 n = long_cases[i].zs, tl = strlen(long_cases[i].tail);

		memset(big, 'z', n);
		memcpy(big + n, long_cases[i].tail, tl);
		check_count_case(long_cases[i].name, big, n + tl,
		    long_cases[i].want);
	}
	free(big);
}

/* what the DATA parser would find, in chunk bytes; every split the same */
static const struct {
	const char	*name;
	const char	*in;
	size_t		 len;
	uint32_t	 flags;
	uint32_t	 bit;		/* one flag whose count is checked */
	uint32_t	 count;
} scan_cases[] = {
	{ "clean", S("a\r\nb\r\n"), 0, 0, 0 },
	{ "bare LF twice", S("a\nb\n"), SMTP_DATA_F_BARE_LF,
	    SMTP_DATA_F_BARE_LF, 2 },
	{ "bare CR", S("a\rb\r\n"), SMTP_DATA_F_BARE_CR,
	    SMTP_DATA_F_BARE_CR, 1 },
	{ "CR at the end is not yet bare", S("a\r"), 0, 0, 0 },
	{ "NUL and 8-bit", S("a\0\377\r\n"),
	    SMTP_DATA_F_NUL | SMTP_DATA_F_8BIT, SMTP_DATA_F_NUL, 1 },
};

static void
scan(const char *in, size_t len, size_t cut, struct smtp_bdat_count *c)
{
	smtp_bdat_count_init(c);
	smtp_bdat_count_feed(c, in, cut);
	smtp_bdat_count_feed(c, in + cut, len - cut);
}

static void
check_scan(void)
{
	struct smtp_bdat_count c;
	char	*line;
	size_t	 i, cut;
	int	 same;

	for (i = 0; i < sizeof(scan_cases) / sizeof(scan_cases[0]); i++) {
		same = 1;
		for (cut = 0; cut <= scan_cases[i].len; cut++) {
			scan(scan_cases[i].in, scan_cases[i].len, cut, &c);
			if (c.flags != scan_cases[i].flags ||
			    (scan_cases[i].bit != 0 &&
			    c.counts[__builtin_ctz(scan_cases[i].bit)] !=
			    scan_cases[i].count))
				same = 0;
		}
		ok(same, "scan %s: flags 0x%x at every split", scan_cases[i].name,
		    scan_cases[i].flags);
	}
	/* 998 bytes and CRLF is a text line; 999 is one too long */
	line = malloc(1001);
	memset(line, 'x', 999);
	memcpy(line + 999, "\r\n", 2);
	scan(line + 1, 1000, 0, &c);
	ok(c.flags == 0, "scan: a 998-byte line is no long line");
	scan(line, 1001, 500, &c);
	ok(c.flags == SMTP_DATA_F_LONG_LINE &&
	    c.counts[__builtin_ctz(SMTP_DATA_F_LONG_LINE)] == 1,
	    "scan: a 999-byte line is one long line");
	free(line);
}

int
main(void)
{
	check_parse();
	check_count();
	check_scan();
	check_exim();
	return tap_done();
}
