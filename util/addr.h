/*
 * addr.h -- socket address helpers shared by the daemon, the CLI and tests:
 * listener specs "[tls:|proxy:]ADDR:PORT", text forms, IPv4-mapped folding.
 */
#ifndef RT_ADDR_H
#define RT_ADDR_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

#define ADDR_STRLEN	64	/* "[ffff:...:ffff]:65535" fits */

#define ADDR_F_TLS	0x01	/* implicit TLS (port 465 style) */
#define ADDR_F_PROXY	0x02	/* expects a PROXY protocol header */

struct addr_listen {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 flags;		/* ADDR_F_* */
};

int		 addr_parse_listen(const char *spec, struct addr_listen *out,
		    const char **errstr);
int		 addr_parse_hostport(const char *s, struct sockaddr_storage *ss,
		    socklen_t *sslen, const char **errstr);
const char	*addr_ntop(const struct sockaddr *sa, char *buf, size_t len);
int		 addr_port(const struct sockaddr *sa);
const char	*addr_fmt(const struct sockaddr *sa, char *buf, size_t len);
void		 addr_unmap(struct sockaddr_storage *ss, socklen_t *sslen);
bool		 addr_equal_host(const struct sockaddr *a,
		    const struct sockaddr *b);

#endif
