/*
 * fuzz_received.c -- libFuzzer target for the Received-chain parser
 * (analyzers/an_received.c). The first byte picks the entry point: a
 * whole message (header block) or one unfolded value. Every hop must
 * keep what an_received.h promises: fields NUL-terminated in their
 * arrays with control bytes turned into spaces, addresses canonical
 * inet_ntop() text without v4-mapped IPv6, counts within their arrays,
 * raw values inside the parser's copy and cut at AN_RCV_HDR_MAX.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "an_received.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* NUL-terminated within sz, no control byte before the NUL */
static void
check_field(const char *f, size_t sz)
{
	const char	*nul;
	size_t		 i;

	if ((nul = memchr(f, '\0', sz)) == NULL)
		abort();
	for (i = 0; f + i < nul; i++)
		if ((unsigned char)f[i] < 0x20 || f[i] == 0x7f)
			abort();
}

/* "" or an address in the canonical form rcv_ip() writes */
static void
check_addr(const char *a, bool empty_ok)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		 back[INET6_ADDRSTRLEN];

	check_field(a, AN_RCV_ADDR_MAX);
	if (a[0] == '\0') {
		if (!empty_ok)
			abort();
		return;
	}
	if (inet_pton(AF_INET, a, &a4) == 1) {
		if (inet_ntop(AF_INET, &a4, back, sizeof(back)) == NULL)
			abort();
	} else if (inet_pton(AF_INET6, a, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6) ||
		    inet_ntop(AF_INET6, &a6, back, sizeof(back)) == NULL)
			abort();
	} else
		abort();
	if (strcmp(a, back) != 0)
		abort();
	(void)an_received_addr_private(a);
}

static void
check_hop(const struct an_received_hop *hop)
{
	size_t	 i, j;

	check_field(hop->from_name, sizeof(hop->from_name));
	check_field(hop->from_helo, sizeof(hop->from_helo));
	check_field(hop->from_rdns, sizeof(hop->from_rdns));
	check_field(hop->by, sizeof(hop->by));
	check_field(hop->with, sizeof(hop->with));
	check_field(hop->id, sizeof(hop->id));
	check_field(hop->for_, sizeof(hop->for_));
	check_field(hop->date, sizeof(hop->date));
	check_addr(hop->from_addr, true);
	if (hop->naddrs > AN_RCV_ADDRS_MAX ||
	    hop->nfrom_addrs > hop->naddrs || hop->nby_addrs > 2)
		abort();
	for (i = 0; i < AN_RCV_ADDRS_MAX; i++) {
		check_addr(hop->addrs[i], i >= hop->naddrs);
		if (i >= hop->naddrs && hop->addrs[i][0] != '\0')
			abort();
		for (j = 0; j < i && i < hop->naddrs; j++)
			if (strcmp(hop->addrs[i], hop->addrs[j]) == 0)
				abort();	/* kept once */
	}
	for (i = 0; i < 2; i++)
		check_addr(hop->by_addrs[i], i >= hop->nby_addrs);
	if (hop->nby_addrs == 2 &&
	    strcmp(hop->by_addrs[0], hop->by_addrs[1]) == 0)
		abort();
	if (hop->rawlen > AN_RCV_HDR_MAX || hop->raw == NULL)
		abort();
	(void)an_received_addr_private(hop->from_name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct an_received_hop	 hop;
	struct an_received	*rc;
	const char		*in;
	size_t			 len, i, used;

	if (size < 1)
		return 0;
	in = (const char *)data + 1;
	len = size - 1;
	if (data[0] & 1) {
		an_received_parse_one(in, len, &hop);
		check_hop(&hop);
		if (hop.raw != in || hop.rawlen != (len > AN_RCV_HDR_MAX ?
		    AN_RCV_HDR_MAX : len) || hop.truncated !=
		    (len > AN_RCV_HDR_MAX))
			abort();
		return 0;
	}

	rc = an_received_parse(in, len);
	if (rc->n > AN_RCV_HOPS_MAX || rc->seen < rc->n ||
	    rc->n != (rc->seen < AN_RCV_HOPS_MAX ? rc->seen :
	    AN_RCV_HOPS_MAX) || (rc->n > 0 && rc->hops == NULL))
		abort();
	used = 0;
	for (i = 0; i < rc->n; i++) {
		check_hop(&rc->hops[i]);
		/* the values are unfolded copies in rc->raw, in order */
		if (rc->hops[i].raw != rc->raw + used)
			abort();
		used += rc->hops[i].rawlen;
		if (used > len || memchr(rc->hops[i].raw, '\n',
		    rc->hops[i].rawlen) != NULL)
			abort();
	}
	an_received_free(rc);
	return 0;
}
