/*
 * addr.c -- listener specifications and address text forms.
 * Input comes from the command line and the configuration file (trusted
 * operator) and from PROXY headers after parsing (already validated).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "compat.h"

/*
 * addr_parse_hostport -- "127.0.0.1:2525", "[::1]:2525" into ss.
 * Only numeric addresses: no DNS at start-up. Returns 0 or -1 with *errstr.
 */
int
addr_parse_hostport(const char *s, struct sockaddr_storage *ss,
    socklen_t *sslen, const char **errstr)
{
	char	 host[INET6_ADDRSTRLEN + 1];
	const char *p, *port;
	size_t	 hlen;
	long long n;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		if ((p = strchr(s, ']')) == NULL || p[1] != ':') {
			*errstr = "IPv6 address must be written [ADDR]:PORT";
			return -1;
		}
		hlen = (size_t)(p - s - 1);
		port = p + 2;
		s++;
	} else {
		if ((p = strrchr(s, ':')) == NULL) {
			*errstr = "missing :PORT";
			return -1;
		}
		hlen = (size_t)(p - s);
		port = p + 1;
		if (memchr(s, ':', hlen) != NULL) {
			*errstr = "IPv6 address must be written [ADDR]:PORT";
			return -1;
		}
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		*errstr = "bad address";
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	n = strtonum(port, 0, 65535, errstr);
	if (*errstr != NULL) {
		*errstr = "port must be a number from 0 to 65535";
		return -1;
	}
	if (strchr(host, ':') == NULL) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			*errstr = "not a numeric IPv4 address";
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)n);
		*sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			*errstr = "not a numeric IPv6 address";
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)n);
		*sslen = sizeof(*sin6);
	}
	return 0;
}

/*
 * addr_parse_listen -- "[tls:|proxy:]ADDR:PORT" into out.
 * Returns 0, or -1 with *errstr saying what is wrong.
 */
int
addr_parse_listen(const char *spec, struct addr_listen *out,
    const char **errstr)
{
	memset(out, 0, sizeof(*out));
	for (;;) {
		if (strncmp(spec, "tls:", 4) == 0) {
			out->flags |= ADDR_F_TLS;
			spec += 4;
		} else if (strncmp(spec, "proxy:", 6) == 0) {
			out->flags |= ADDR_F_PROXY;
			spec += 6;
		} else
			break;
	}
	return addr_parse_hostport(spec, &out->ss, &out->sslen, errstr);
}

/*
 * addr_ntop -- the host part as text ("203.0.113.9", "2001:db8::1").
 */
const char *
addr_ntop(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else {
		(void)strlcpy(buf, "unknown", len);
		return buf;
	}
	if (inet_ntop(sa->sa_family, a, buf, (socklen_t)len) == NULL)
		(void)strlcpy(buf, "unknown", len);
	return buf;
}

/*
 * addr_port -- the port in host order, or 0.
 */
int
addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

/*
 * addr_fmt -- "ADDR:PORT" with IPv6 in brackets, as -l takes it.
 */
const char *
addr_fmt(const struct sockaddr *sa, char *buf, size_t len)
{
	char	 host[INET6_ADDRSTRLEN];

	addr_ntop(sa, host, sizeof(host));
	if (sa->sa_family == AF_INET6)
		(void)snprintf(buf, len, "[%s]:%d", host, addr_port(sa));
	else
		(void)snprintf(buf, len, "%s:%d", host, addr_port(sa));
	return buf;
}

/*
 * addr_unmap -- fold an IPv4-mapped IPv6 address (::ffff:a.b.c.d) into
 * plain IPv4, keeping the port.
 */
void
addr_unmap(struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in sin;

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
	*sslen = sizeof(sin);
}

/*
 * addr_equal_host -- same family and same address (ports ignored).
 */
bool
addr_equal_host(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return false;
}
