/*
 * proxy.h -- HAProxy PROXY protocol v1 (text) and v2 (binary) headers,
 * REFERENCE.md section 5.1. Pure parser over a byte prefix of the
 * connection: it says "need more", "invalid" or how many bytes the header
 * took. The listener sends no banner before a valid header.
 */
#ifndef RT_PROXY_H
#define RT_PROXY_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#define PROXY_V1_MAX	107	/* longest v1 line including CRLF */
#define PROXY_V2_HDR	16
#define PROXY_V2_MAX	(PROXY_V2_HDR + 65535)
#define PROXY_HDR_MAX	PROXY_V2_MAX	/* never buffer more than this */

enum proxy_cmd {
	PROXY_CMD_LOCAL = 0,	/* v2 LOCAL or v1 UNKNOWN: keep real peer */
	PROXY_CMD_PROXY = 1,
};

struct proxy_info {
	int			 version;	/* 1 or 2 */
	enum proxy_cmd		 command;
	struct sockaddr_storage	 src;		/* valid if command == PROXY */
	socklen_t		 srclen;
	struct sockaddr_storage	 dst;
	socklen_t		 dstlen;
	const char		*error;		/* set when -1 is returned */
};

ssize_t	 proxy_parse(const unsigned char *buf, size_t len,
	    struct proxy_info *out);

#endif
