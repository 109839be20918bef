/*
 * fuzz_proxy.c -- libFuzzer target for proxy_parse: the answer on the
 * whole input must agree with the answers on its prefixes (need more,
 * then the same header length; invalid never turns valid), and every
 * prefix is parsed from an exact-size copy so overreads are caught.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static ssize_t
parse_copy(const uint8_t *data, size_t n, struct proxy_info *pi)
{
	uint8_t	*copy = malloc(n ? n : 1);
	ssize_t	 rc;

	memcpy(copy, data, n);
	rc = proxy_parse(copy, n, pi);
	free(copy);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info	 pi;
	ssize_t			 whole, rc;
	size_t			 n, step;

	whole = proxy_parse(data, size, &pi);
	if (whole < -1 || whole > (ssize_t)size || whole > PROXY_HDR_MAX)
		abort();
	if (whole == -1 && pi.error == NULL)
		abort();
	if (whole > 0 && pi.version == 1 && whole > PROXY_V1_MAX)
		abort();
	if (whole > 0 && pi.command == PROXY_CMD_PROXY &&
	    (pi.srclen == 0 || pi.srclen > sizeof(pi.src) ||
	    pi.dstlen != pi.srclen))
		abort();
	step = size > 256 ? size / 64 : 1;
	for (n = 0; n < size; n += step) {
		rc = parse_copy(data, n, &pi);
		if (whole > 0 && n < (size_t)whole && rc != 0)
			abort();
		if (whole > 0 && n >= (size_t)whole && rc != whole)
			abort();
		if (whole == 0 && rc != 0)
			abort();
		if (whole == -1 && rc > 0)
			abort();
	}
	return 0;
}
