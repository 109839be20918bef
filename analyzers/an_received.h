/*
 * an_received.h -- the Received chain of a stored message, parsed into
 * hops (an_received.c). Used by the origin analyzer (an_origin.c).
 */
#ifndef RT_AN_RECEIVED_H
#define RT_AN_RECEIVED_H

#include <stdbool.h>
#include <stddef.h>

#define AN_RCV_HOPS_MAX	64	/* Received headers kept */
#define AN_RCV_HDR_MAX	8192	/* bytes of one unfolded value kept */
#define AN_RCV_ADDRS_MAX 8	/* addresses kept per hop */
#define AN_RCV_NAME_MAX	256	/* from, helo, rdns, by (cut) */
#define AN_RCV_FIELD_MAX 512	/* with, id, for, date (cut) */
#define AN_RCV_ADDR_MAX	46	/* INET6_ADDRSTRLEN */

/*
 * One Received header. Every field is a NUL-terminated string, "" when
 * absent, cut to its array; addresses are canonical inet_ntop() text.
 */
struct an_received_hop {
	char	 from_name[AN_RCV_NAME_MAX];	/* word after "from" */
	char	 from_helo[AN_RCV_NAME_MAX];	/* the HELO */
	char	 from_rdns[AN_RCV_NAME_MAX];	/* its reverse name */
	char	 from_addr[AN_RCV_ADDR_MAX];	/* sender's address */
	char	 by[AN_RCV_NAME_MAX];
	char	 with[AN_RCV_FIELD_MAX];
	char	 id[AN_RCV_FIELD_MAX];
	char	 for_[AN_RCV_FIELD_MAX];
	char	 date[AN_RCV_FIELD_MAX];
	/* every address the hop names, from-part first */
	char	 addrs[AN_RCV_ADDRS_MAX][AN_RCV_ADDR_MAX];
	size_t	 naddrs;
	size_t	 nfrom_addrs;	/* addrs[0..n-1]: from-part */
	char	 by_addrs[2][AN_RCV_ADDR_MAX];	/* in the by-part */
	size_t	 nby_addrs;
	const char *raw;	/* the unfolded value, not NUL-terminated */
	size_t	 rawlen;
	bool	 truncated;	/* longer than AN_RCV_HDR_MAX */
};

struct an_received {
	size_t			 n;	/* kept; hops[0] = topmost */
	size_t			 seen;	/* Received headers seen */
	struct an_received_hop	*hops;
	char			*raw;	/* the hops' raw values */
};

void	 an_received_parse_one(const char *val, size_t len,
	    struct an_received_hop *hop);
struct an_received *an_received_parse(const char *msg, size_t len);
void	 an_received_free(struct an_received *rc);
bool	 an_received_addr_private(const char *addr);

#endif
