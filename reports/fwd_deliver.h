/*
 * fwd_deliver.h -- deliver one relay-test message to one recipient with
 * libcurl's SMTP client, trying a list of pinned addresses in preference
 * order; parse and match static routes (forward_route).
 *
 * Only built with forwarding (configure --disable-forwarding leaves this
 * file out entirely); include it under #ifdef RT_FORWARDING.
 *
 * fwd_deliver() blocks (bounded by the timeouts in the request) and keeps
 * no global state; the worker never calls it on its event loop but hands
 * requests to a fwd_runner thread and dispatches results when
 * fwd_runner_fd() is readable. fwd_deliver_init() must run once before
 * any thread starts.
 */
#ifndef RT_FWD_DELIVER_H
#define RT_FWD_DELIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "fwd_queue.h"		/* enum fwd_status */

#define FWD_HOST_MAX		256	/* RFC 1035 name + NUL */
#define FWD_ADDR_MAX		46	/* INET6_ADDRSTRLEN */
#define FWD_REPLY_MAX		512	/* RFC 5321 4.5.3.1.5 reply line */
#define FWD_TIMEOUT_CONNECT	10	/* seconds, default */
#define FWD_TIMEOUT_TOTAL	60	/* seconds, default */

/* one place to connect to: an address literal, a port, and optionally the
 * MX name it was resolved from (used as the URL host, pinned to addr) */
struct fwd_target {
	char	 name[FWD_HOST_MAX];	/* "" when there is no name */
	char	 addr[FWD_ADDR_MAX];	/* "192.0.2.1" or "2001:db8::1" */
	int	 port;
};

/* forward_route entry: "example.net=127.0.0.1:2526", "*=[::1]:2526",
 * ".example.net=..." (subdomains only) */
struct fwd_route {
	char			 domain[FWD_HOST_MAX];
	struct fwd_target	 target;
};

struct fwd_request {
	const char		*mail_from;	/* original; "" = <> */
	const char		*rcpt;		/* exactly one recipient */
	const char		*helo;		/* our EHLO name */
	const char		*received;	/* one header, ends CRLF */
	int			 msg_fd;	/* spool "message" (pread) */
	const struct fwd_target	*targets;	/* preference order */
	size_t			 ntargets;
	long			 connect_timeout; /* s; 0 = default */
	long			 total_timeout;	/* s per host; 0 = default */
};

struct fwd_outcome {
	enum fwd_status		 status;
	int			 code;		/* last reply code, 0: none */
	char			 reply[FWD_REPLY_MAX]; /* last reply line */
	char			 where[8];	/* "connect" "helo" "mail"
						 * "rcpt" "data" "eod"
						 * "local" */
	size_t			 tried;		/* hosts contacted */
	struct fwd_target	 host;		/* of the last attempt */
};

int		 fwd_deliver_init(void);
enum fwd_status	 fwd_deliver(const struct fwd_request *req,
		    struct fwd_outcome *out);

/* the forwarding thread: the worker's loop submits, polls fd, dispatches */
struct fwd_runner;
typedef void	(*fwd_done_cb)(void *arg, const struct fwd_outcome *out);
struct fwd_runner *fwd_runner_new(void);
int		 fwd_runner_fd(const struct fwd_runner *r);
int		 fwd_runner_submit(struct fwd_runner *r,
		    const struct fwd_request *req, fwd_done_cb done, void *arg);
void		 fwd_runner_dispatch(struct fwd_runner *r);
void		 fwd_runner_free(struct fwd_runner *r);

int		 fwd_target_parse(const char *s, struct fwd_target *t,
		    const char **errstr);
int		 fwd_route_parse(const char *spec, struct fwd_route *r,
		    const char **errstr);
const struct fwd_route *fwd_route_match(const struct fwd_route *routes,
		    size_t n, const char *domain);

#endif
