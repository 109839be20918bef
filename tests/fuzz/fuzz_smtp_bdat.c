/*
 * fuzz_smtp_bdat.c -- libFuzzer target for BDAT's argument parsers and the
 * Postfix and Exim size counts. The parsers are checked against what they
 * claim (digits and an optional LAST give back the same numbers when
 * printed again); the Postfix count against a naive whole-buffer
 * reference, both counts against themselves fed in pieces whose sizes
 * come from the input.
 * Input: byte 0 = split seed, then the bytes (the argument and the
 * message both).
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_bdat.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The whole buffer at once, in two passes as smtp_bdat.h describes it:
 * every CRLF made LF, then reads of up to SMTP_BDAT_PF_LINE bytes, LF
 * included.
 */
static uint64_t
ref_count(const uint8_t *p, size_t n)
{
	uint8_t	*t = malloc(n + 1);
	uint64_t total = 0;
	size_t	 i, m = 0, start, end, len;

	for (i = 0; i < n; i++)
		if (!(p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
			t[m++] = p[i];
	for (start = 0; start < m; start = end) {
		for (end = start; end < m && end - start < SMTP_BDAT_PF_LINE &&
		    t[end] != '\n'; end++)
			;
		if (end < m && t[end] == '\n' &&
		    end - start < SMTP_BDAT_PF_LINE) {
			len = end - start;
			while (len > 0 && t[start + len - 1] == '\r')
				len--;
			total += len + 2;
			end++;
		} else
			total += (end - start) + 2;
	}
	free(t);
	return total;
}

/* Exim's parser, and its count e (fed in pieces) against one fed whole */
static void
check_exim(const uint8_t *data, size_t size,
    const struct smtp_bdat_xcount *e)
{
	struct smtp_bdat_xcount w;
	uint64_t v, v2;
	bool	 last, l2;
	char	 again[64];

	if (smtp_bdat_exim_parse((const char *)data, size, &v, &last) == 0) {
		if (v > 0xffffffffu)
			abort();
		(void)snprintf(again, sizeof(again), "%llu%s",
		    (unsigned long long)v, last ? " LAST" : "");
		if (smtp_bdat_exim_parse(again, strlen(again), &v2, &l2) != 0 ||
		    v2 != v || l2 != last)
			abort();
	}
	smtp_bdat_xcount_init(&w);
	smtp_bdat_xcount_feed(&w, (const char *)data, size);
	if (smtp_bdat_xcount_end(e) != smtp_bdat_xcount_end(&w))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_bdat_count c;
	struct smtp_bdat_xcount x;
	uint64_t v;
	bool	 last;
	size_t	 i, step;
	char	 again[64];

	if (size < 1)
		return 0;
	step = data[0] % 17 + 1;
	data++;
	size--;
	if (smtp_bdat_parse((const char *)data, size, &v, &last) == 0) {
		if (v > SMTP_BDAT_SIZE_MAX)
			abort();
		/* the same numbers from the canonical form */
		(void)snprintf(again, sizeof(again), "%llu%s",
		    (unsigned long long)v, last ? " LAST" : "");
		{
			uint64_t v2;
			bool	 l2;

			if (smtp_bdat_parse(again, strlen(again), &v2,
			    &l2) != 0 || v2 != v || l2 != last)
				abort();
		}
	}
	smtp_bdat_count_init(&c);
	smtp_bdat_xcount_init(&x);
	for (i = 0; i < size; ) {
		size_t	 n = size - i < step ? size - i : step;

		smtp_bdat_count_feed(&c, (const char *)data + i, n);
		smtp_bdat_xcount_feed(&x, (const char *)data + i, n);
		step = (step * 7 + data[i]) % 23 + 1;
		i += n;
	}
	if (smtp_bdat_count_end(&c) != ref_count(data, size))
		abort();
	/* the findings do not depend on how the bytes were split */
	{
		struct smtp_bdat_count w;

		smtp_bdat_count_init(&w);
		smtp_bdat_count_feed(&w, (const char *)data, size);
		if (w.flags != c.flags ||
		    memcmp(w.counts, c.counts, sizeof(w.counts)) != 0)
			abort();
	}
	check_exim(data, size, &x);
	return 0;
}
