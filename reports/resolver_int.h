/*
 * resolver_int.h -- the inside of reports/resolver.c that its tests and
 * fuzz target need: a looked-up RRset and the parser of one DNS answer.
 * Not for other modules; they use resolver.h.
 */
#ifndef RT_RESOLVER_INT_H
#define RT_RESOLVER_INT_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "resolver.h"

struct rsv_rr {
	int			 pref;		/* MX */
	char			*str;		/* MX/PTR target, TXT text */
	struct sockaddr_storage	 ss;		/* A, AAAA */
};

struct rsv_set {
	enum rsv_status		 status;
	uint32_t		 ttl;
	size_t			 n;
	struct rsv_rr		*rr;
};

void	 rsv_answer_parse(const unsigned char *ans, int len, int type,
	    uint32_t neg_ttl, struct rsv_set *set);
void	 rsv_set_clear(struct rsv_set *s);

#endif
