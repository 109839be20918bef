/*
 * unbound.h -- a real unbound on loopback for the C unit tests that need
 * DNS (resolver, an_dns, an_spf): start it on a configuration the test
 * wrote, wait until it answers a query (a deadline, never a sleep), and
 * stop it.  Header-only, like tap.h and testutil.h.
 */
#ifndef RT_TEST_UNBOUND_H
#define RT_TEST_UNBOUND_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define TU_UNBOUND		"/usr/sbin/unbound"

/*
 * Send a query for qname/qtype to 127.0.0.1:port until an answer comes
 * back or 15 s pass.  Returns 1 once the server answered, 0 otherwise,
 * at once if unbound (*pid) exited: then *pid is -1 (reaped), and the
 * caller may try again on another port (a free port found by binding to
 * port 0 can be taken by another test before unbound binds it).
 */
static inline int
tu_unbound_wait(pid_t *pid, int port, const char *qname, int qtype)
{
	struct sockaddr_in	 sin;
	unsigned char		 q[512], a[512];
	struct pollfd		 pfd;
	long long		 end = tu_now_ms() + 15000;
	int			 fd, qlen, ok = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((qlen = res_mkquery(ns_o_query, qname, ns_c_in, qtype,
	    NULL, 0, NULL, q, sizeof(q))) == -1)
		return 0;
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return 0;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return 0;
	}
	while (!ok && tu_now_ms() < end) {
		/* unbound gave up (its port was taken meanwhile): at once */
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1;
			break;
		}
		if (send(fd, q, qlen, 0) == -1 && errno != ECONNREFUSED)
			break;
		pfd.fd = fd;
		pfd.events = POLLIN;
		/* waits for the answer, not for time: 100 ms per probe */
		if (poll(&pfd, 1, 100) == 1 && recv(fd, a, sizeof(a), 0) > 0)
			ok = 1;
	}
	close(fd);
	return ok;
}

/* Stop the unbound *pid (SIGTERM, then reap) and set *pid to -1. */
static inline void
tu_unbound_stop(pid_t *pid)
{
	int	 status;

	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, &status, 0);
		*pid = -1;
	}
}

/*
 * Run unbound in the foreground on the configuration file conf, its
 * output going to log, and wait until it answers qname/qtype on
 * 127.0.0.1:port.  Stores the child in *pid; returns 0 when it answers,
 * -1 (with the child stopped) when it could not start or never answered:
 * read log for why.
 */
static inline int
tu_unbound_start(pid_t *pid, const char *conf, const char *log, int port,
    const char *qname, int qtype)
{
	int	 fd;

	if ((*pid = fork()) == -1)
		return -1;
	if (*pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(TU_UNBOUND, "unbound", "-d", "-c", conf, (char *)NULL);
		_exit(127);
	}
	if (tu_unbound_wait(pid, port, qname, qtype))
		return 0;
	tu_unbound_stop(pid);
	return -1;
}

#endif
