/*
 * loadgen - SMTP load generator for bench/ (not part of the build).
 *
 * Opens S concurrent sessions against HOST:PORT.  Each connection does
 * EHLO once, then exactly M transactions (MAIL FROM, RCPT TO, DATA, a
 * message of B payload bytes plus small headers, "."), then QUIT, closes
 * and reconnects, until T messages have been attempted.  One command at a
 * time by default (like smtp-source); -P pipelines MAIL/RCPT/DATA.
 *
 * A message counts as delivered only when the reply to the final dot is
 * 250.  Any other reply class than expected (2xx, 354 after DATA), a
 * connection error or an early close counts as a failure; the first
 * failures are printed on stderr.  The exit status is 0 only if every
 * message was delivered.
 *
 * -d MSEC: no new connection is opened after MSEC milliseconds;
 * connections already open still do their M transactions (-n, if given
 * too, still caps the number of messages).
 * The rate is delivered messages / elapsed time until the last QUIT.
 *
 * Latency of a message: from the start of its transaction (the MAIL FROM
 * command; for the first message of a connection, the connect() call, so
 * that connection setup, banner and EHLO are included) to the reply to
 * the final dot.
 *
 * -C N: at most N sessions between connect() and the EHLO reply at once
 * (default 256), so that a small listen backlog does not drop handshakes.
 *
 * Idle mode (-i): open S sessions, read the banner, EHLO, then hold them
 * open; print "idle open=N failed=F" once every session is established
 * or has failed, then hold them until SIGTERM or SIGINT.
 *
 * Build: cc -O2 -Wall -o loadgen loadgen.c
 * Plain libc + Linux epoll.
 */

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INBUF_SIZE	8192
#define MAX_ERR_SHOWN	10

enum lg_state {
	ST_IDLE,		/* not connected */
	ST_CONNECT,		/* connect() in progress */
	ST_BANNER,		/* waiting for 220 */
	ST_EHLO,		/* waiting for EHLO reply */
	ST_MAIL,		/* waiting for MAIL reply */
	ST_RCPT,		/* waiting for RCPT reply */
	ST_DATA,		/* waiting for 354 */
	ST_DOT,			/* body sent (or sending), waiting for 250 */
	ST_QUIT,		/* waiting for 221 */
	ST_HOLD,		/* idle mode: established, holding */
	ST_DONE			/* no more work */
};

static const char *state_name[] = {
	"idle", "connect", "banner", "ehlo", "mail", "rcpt", "data", "dot",
	"quit", "hold", "done"
};

struct sess {
	int		 fd;
	enum lg_state	 state;
	int		 want_out;	/* EPOLLOUT registered */
	int		 claimed;	/* messages left on this connection */
	unsigned int	 gen;		/* bumped at every close */
	double		 t_start;	/* start of current transaction */
	char		*out;		/* pending output */
	size_t		 outlen;
	size_t		 outoff;
	char		 in[INBUF_SIZE];
	size_t		 inlen;
};

static struct {
	struct sockaddr_in	 sin;
	int			 sessions;
	int			 per_conn;
	long			 total;
	int			 size;
	int			 pipelining;
	int			 idle;
	int			 timeout;
	int			 verbose;
	int			 max_connecting;
	double			 duration;	/* -d: stop starting connections */
} opt = {
	.sessions = 1, .per_conn = 1, .total = 1000, .size = 2048,
	.timeout = 300, .max_connecting = 256
};

static struct sess	*sess;
static int		 epfd;
static long		 claimed_total;		/* messages handed out */
static long		 ok_total;
static long		 fail_total;
static long		 conn_total;
static long		 conn_fail;
static long		 quit_errors;
static long		 fail_by_state[ST_DONE + 1];
static double		 t_stop;		/* no new connections after this */
static long		 lat_cap;
static struct sess	**startq;		/* sessions waiting to (re)connect */
static int		 startq_head, startq_len;
static long		 errors_shown;
static int		 connecting;		/* sessions in CONNECT..EHLO */
static int		 active;		/* sessions not idle/done */
static int		 held;			/* idle mode: sessions held */
static int		 hold_failed;
static uint32_t		*lat_us;		/* one per delivered message */
static char		*message;		/* headers + body + ".\r\n" */
static size_t		 message_len;
static volatile sig_atomic_t	 got_signal;

static void	sess_start(struct sess *);
static void	sess_restart(struct sess *);
static void	errorf(const char *, ...);
static void	sess_fail(struct sess *, const char *, ...);

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen [-Pv] [-s sessions] [-m per-conn] "
	    "[-n total] [-l bytes]\n"
	    "               [-d msec] [-t timeout] [-C max-connecting] "
	    "HOST:PORT\n"
	    "       loadgen -i [-s sessions] [-C max-connecting] HOST:PORT\n");
	exit(2);
}

static long
numarg(const char *s, long lo, long hi, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "loadgen: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

static void
parse_target(const char *arg)
{
	char	 host[64];
	const char *colon;
	size_t	 n;

	if ((colon = strrchr(arg, ':')) == NULL)
		usage();
	n = colon - arg;
	if (n == 0 || n >= sizeof(host))
		usage();
	memcpy(host, arg, n);
	host[n] = '\0';
	memset(&opt.sin, 0, sizeof(opt.sin));
	opt.sin.sin_family = AF_INET;
	opt.sin.sin_port = htons(numarg(colon + 1, 1, 65535, "port"));
	if (inet_pton(AF_INET, host, &opt.sin.sin_addr) != 1) {
		fprintf(stderr, "loadgen: need an IPv4 address: %s\n", host);
		exit(2);
	}
}

/*
 * The message: a few headers like smtp-source's, then opt.size payload
 * bytes in lines of 78 'X' + CRLF (the last line shorter), then ".".
 */
static void
build_message(void)
{
	static const char hdr[] =
	    "From: <loadgen@bench.example.test>\r\n"
	    "To: <sink@bench.example.test>\r\n"
	    "Date: Thu, 26 Nov 2026 00:00:00 +0000\r\n"
	    "Message-Id: <loadgen@bench.example.test>\r\n"
	    "Subject: loadgen\r\n"
	    "\r\n";
	size_t	 left, n, cap;
	char	*p;

	cap = sizeof(hdr) + opt.size + 8;
	if ((message = malloc(cap)) == NULL) {
		perror("malloc");
		exit(1);
	}
	p = message;
	memcpy(p, hdr, sizeof(hdr) - 1);
	p += sizeof(hdr) - 1;
	for (left = opt.size; left > 0; left -= n) {
		n = left > 80 ? 80 : left;
		if (n >= 3) {
			memset(p, 'X', n - 2);
			p[n - 2] = '\r';
			p[n - 1] = '\n';
		} else
			memset(p, 'X', n);
		p += n;
	}
	if (p > message && p[-1] != '\n') {
		*p++ = '\r';
		*p++ = '\n';
	}
	memcpy(p, ".\r\n", 3);
	p += 3;
	message_len = p - message;
}

static void
ep_mod(struct sess *s, int want_out)
{
	struct epoll_event ev;

	if (s->want_out == want_out)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0);
	ev.data.ptr = s;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev) == -1) {
		perror("epoll_ctl MOD");
		exit(1);
	}
	s->want_out = want_out;
}

static void
sess_close(struct sess *s)
{
	if (s->fd != -1) {
		close(s->fd);		/* also removes it from epoll */
		s->fd = -1;
	}
	if (s->state >= ST_CONNECT && s->state <= ST_EHLO)
		connecting--;
	if (s->state == ST_HOLD)
		held--;
	if (s->state != ST_IDLE && s->state != ST_DONE)
		active--;
	s->state = ST_IDLE;
	s->gen++;
	s->inlen = 0;
	s->outlen = s->outoff = 0;
	s->want_out = 0;
}

/* Give back the messages claimed by a connection that will not send them. */
static void
sess_unclaim(struct sess *s)
{
	claimed_total -= s->claimed;
	s->claimed = 0;
}

static void
flush_out(struct sess *s)
{
	ssize_t	 n;

	while (s->outoff < s->outlen) {
		n = write(s->fd, s->out + s->outoff, s->outlen - s->outoff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				ep_mod(s, 1);
				return;
			}
			sess_fail(s, "write: %s", strerror(errno));
			return;
		}
		s->outoff += n;
	}
	s->outlen = s->outoff = 0;
	ep_mod(s, 0);
}


/* Queue a command or message for sending and try to write it now. */
static void
send_bytes(struct sess *s, const char *str, size_t len)
{
	size_t	 cap = message_len + INBUF_SIZE;

	if (s->out == NULL && (s->out = malloc(cap)) == NULL) {
		perror("malloc");
		exit(1);
	}
	if (s->outoff > 0) {
		memmove(s->out, s->out + s->outoff, s->outlen - s->outoff);
		s->outlen -= s->outoff;
		s->outoff = 0;
	}
	if (s->outlen + len > cap) {
		fprintf(stderr, "loadgen: output overflow\n");
		exit(1);
	}
	memcpy(s->out + s->outlen, str, len);
	s->outlen += len;
}

static void
send_cmd(struct sess *s, const char *cmd)
{
	send_bytes(s, cmd, strlen(cmd));
}

static void
show_error(const char *fmt, va_list ap)
{
	if (errors_shown++ >= MAX_ERR_SHOWN) {
		if (errors_shown == MAX_ERR_SHOWN + 1)
			fprintf(stderr, "loadgen: further errors not shown\n");
		return;
	}
	fprintf(stderr, "loadgen: error: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void
errorf(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	show_error(fmt, ap);
	va_end(ap);
}

/* Queue s for a new connection; the main loop starts it. */
static void
sess_restart(struct sess *s)
{
	startq[(startq_head + startq_len) % opt.sessions] = s;
	startq_len++;
}

/*
 * A failure on session s: the message in progress (or, before the first
 * transaction, the first message of the connection) counts as failed;
 * the rest claimed by this connection go back to the pool.  The session
 * reconnects (load mode) or stays closed (idle mode).
 */
static void
sess_fail(struct sess *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	show_error(fmt, ap);
	va_end(ap);
	if (opt.idle) {
		hold_failed++;
		sess_close(s);
		s->state = ST_DONE;
		return;
	}
	fail_by_state[s->state]++;
	if (s->state <= ST_EHLO)
		conn_fail++;
	if (s->claimed > 0) {
		fail_total++;
		s->claimed--;
	}
	sess_unclaim(s);
	sess_close(s);
	sess_restart(s);
}

static void
begin_tx(struct sess *s)
{
	if (opt.pipelining) {
		send_cmd(s, "MAIL FROM:<loadgen@bench.example.test>\r\n"
		    "RCPT TO:<sink@example.net>\r\n"
		    "DATA\r\n");
	} else
		send_cmd(s, "MAIL FROM:<loadgen@bench.example.test>\r\n");
	s->state = ST_MAIL;
}

static void
sess_start(struct sess *s)
{
	struct epoll_event ev;
	int	 fd, on = 1;
	long	 left;

	if (got_signal) {
		s->state = ST_DONE;
		return;
	}
	if (!opt.idle) {
		left = opt.total - claimed_total;
		if (left <= 0 || (opt.duration > 0 && now() >= t_stop)) {
			s->state = ST_DONE;
			return;
		}
		s->claimed = left < opt.per_conn ? left : opt.per_conn;
		claimed_total += s->claimed;
	}
	s->t_start = now();
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1) {
		perror("socket");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	s->fd = fd;
	s->state = ST_CONNECT;
	s->want_out = 1;
	s->inlen = 0;
	connecting++;
	active++;
	conn_total++;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = s;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		perror("epoll_ctl ADD");
		exit(1);
	}
	if (connect(fd, (struct sockaddr *)&opt.sin, sizeof(opt.sin)) == -1 &&
	    errno != EINPROGRESS)
		sess_fail(s, "connect: %s", strerror(errno));
}

/* One complete reply with code; drives the state machine. */
static void
handle_reply(struct sess *s, int code, const char *line)
{
	double	 t;

	if (opt.verbose)
		fprintf(stderr, "%d %s: %s\n", s->fd, state_name[s->state],
		    line);
	switch (s->state) {
	case ST_BANNER:
		if (code / 100 != 2)
			goto bad;
		send_cmd(s, "EHLO loadgen.bench.example.test\r\n");
		s->state = ST_EHLO;
		break;
	case ST_EHLO:
		if (code / 100 != 2)
			goto bad;
		connecting--;
		if (opt.idle) {
			s->state = ST_HOLD;
			held++;
			break;
		}
		begin_tx(s);
		break;
	case ST_MAIL:
		if (code / 100 != 2)
			goto bad;
		if (!opt.pipelining)
			send_cmd(s, "RCPT TO:<sink@example.net>\r\n");
		s->state = ST_RCPT;
		break;
	case ST_RCPT:
		if (code / 100 != 2)
			goto bad;
		if (!opt.pipelining)
			send_cmd(s, "DATA\r\n");
		s->state = ST_DATA;
		break;
	case ST_DATA:
		if (code / 100 != 3)
			goto bad;
		send_bytes(s, message, message_len);
		s->state = ST_DOT;
		break;
	case ST_DOT:
		if (code != 250)
			goto bad;
		t = now();
		if (ok_total == lat_cap) {
			lat_cap *= 2;
			lat_us = realloc(lat_us, lat_cap * sizeof(*lat_us));
			if (lat_us == NULL) {
				perror("realloc");
				exit(1);
			}
		}
		lat_us[ok_total++] = (uint32_t)((t - s->t_start) * 1e6);
		s->claimed--;
		if (s->claimed > 0 && !got_signal) {
			s->t_start = t;
			begin_tx(s);
		} else {
			sess_unclaim(s);
			send_cmd(s, "QUIT\r\n");
			s->state = ST_QUIT;
		}
		break;
	case ST_QUIT:
		if (code / 100 != 2) {
			quit_errors++;
			errorf("quit: %s", line);
		}
		sess_close(s);
		sess_restart(s);
		return;
	case ST_HOLD:
		sess_fail(s, "held session got: %s", line);
		return;
	default:
		sess_fail(s, "reply in state %s: %s", state_name[s->state],
		    line);
		return;
	}
	flush_out(s);
	return;
bad:
	sess_fail(s, "%s: %s", state_name[s->state], line);
}

/* Read what is there and process every complete reply. */
static void
handle_read(struct sess *s)
{
	ssize_t	 n;
	char	*p, *eol, *start;
	unsigned int gen;
	int	 code;

	n = read(s->fd, s->in + s->inlen, sizeof(s->in) - 1 - s->inlen);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		sess_fail(s, "%s: read: %s", state_name[s->state],
		    strerror(errno));
		return;
	}
	if (n == 0) {
		if (s->state == ST_QUIT) {
			quit_errors++;
			errorf("quit: connection closed before the reply");
			sess_close(s);
			sess_restart(s);
		} else
			sess_fail(s, "%s: connection closed by server",
			    state_name[s->state]);
		return;
	}
	s->inlen += n;
	s->in[s->inlen] = '\0';
	start = s->in;
	for (;;) {
		/* find the last line of one reply */
		p = start;
		for (;;) {
			if ((eol = memchr(p, '\n', s->in + s->inlen - p)) ==
			    NULL)
				goto partial;
			if (eol - p < 3) {
				*eol = '\0';
				sess_fail(s, "malformed reply: %s", p);
				return;
			}
			if (eol - p >= 4 && p[3] == '-') {
				p = eol + 1;
				continue;
			}
			break;
		}
		*eol = '\0';
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		code = atoi(p);
		gen = s->gen;
		handle_reply(s, code, p);
		if (s->gen != gen)	/* closed: drop the rest */
			return;
		start = eol + 1;
	}
partial:
	if (start == s->in && s->inlen >= sizeof(s->in) - 1) {
		sess_fail(s, "reply too long");
		return;
	}
	memmove(s->in, start, s->in + s->inlen - start);
	s->inlen = s->in + s->inlen - start;
}

static void
handle_event(struct sess *s, uint32_t events)
{
	int	 err = 0;
	unsigned int gen;
	socklen_t len = sizeof(err);

	if (s->state == ST_CONNECT) {
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) ==
		    -1)
			err = errno;
		if (err == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (err != 0) {
			sess_fail(s, "connect: %s", strerror(err));
			return;
		}
		s->state = ST_BANNER;
		ep_mod(s, 0);
		return;		/* banner arrives as EPOLLIN */
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		gen = s->gen;
		handle_read(s);
		if (s->gen != gen)
			return;
	}
	if ((events & EPOLLOUT) && s->outlen > s->outoff)
		flush_out(s);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct_ms(double p)
{
	long	 i;

	if (ok_total == 0)
		return 0.0;
	i = (long)(p * ok_total);
	if (i >= ok_total)
		i = ok_total - 1;
	return lat_us[i] / 1000.0;
}

static void
on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

static void
raise_nofile(long need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if ((long)rl.rlim_cur >= need)
		return;
	rl.rlim_cur = (long)rl.rlim_max >= need ? (rlim_t)need : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int
main(int argc, char *argv[])
{
	struct epoll_event	*evs;
	struct sigaction	 sa;
	double			 t0, t1, deadline;
	struct sess		*s;
	int			 ch, i, n, reported = 0, timed_out = 0;
	int			 total_given = 0;

	while ((ch = getopt(argc, argv, "C:d:il:m:n:Ps:t:v")) != -1) {
		switch (ch) {
		case 'd':
			opt.duration = numarg(optarg, 1, 86400000, "duration") /
			    1000.0;
			break;
		case 'C':
			opt.max_connecting = numarg(optarg, 1, 100000,
			    "max-connecting");
			break;
		case 'i':
			opt.idle = 1;
			break;
		case 'l':
			opt.size = numarg(optarg, 0, 100000000, "size");
			break;
		case 'm':
			opt.per_conn = numarg(optarg, 1, 1000000, "per-conn");
			break;
		case 'n':
			opt.total = numarg(optarg, 1, 100000000, "total");
			total_given = 1;
			break;
		case 'P':
			opt.pipelining = 1;
			break;
		case 's':
			opt.sessions = numarg(optarg, 1, 200000, "sessions");
			break;
		case 't':
			opt.timeout = numarg(optarg, 1, 86400, "timeout");
			break;
		case 'v':
			opt.verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (opt.duration > 0 && !total_given)	/* -n caps a -d run */
		opt.total = LONG_MAX / 2;
	if (argc != 1)
		usage();
	parse_target(argv[0]);
	raise_nofile(opt.sessions + 64);
	build_message();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((sess = calloc(opt.sessions, sizeof(*sess))) == NULL ||
	    (evs = calloc(opt.sessions + 1, sizeof(*evs))) == NULL ||
	    (startq = calloc(opt.sessions, sizeof(*startq))) == NULL ||
	    (lat_us = calloc(lat_cap = 65536, sizeof(*lat_us))) == NULL) {
		perror("calloc");
		return 1;
	}
	if ((epfd = epoll_create1(0)) == -1) {
		perror("epoll_create1");
		return 1;
	}
	for (i = 0; i < opt.sessions; i++) {
		sess[i].fd = -1;
		sess[i].state = ST_IDLE;
		sess_restart(&sess[i]);
	}

	t0 = now();
	deadline = t0 + opt.timeout + opt.duration;
	t_stop = t0 + opt.duration;
	for (;;) {
		/* (re)start sessions, at most max_connecting at once */
		while (startq_len > 0 && connecting < opt.max_connecting &&
		    !got_signal) {
			s = startq[startq_head];
			startq_head = (startq_head + 1) % opt.sessions;
			startq_len--;
			sess_start(s);
		}
		if (opt.idle && !reported && startq_len == 0 &&
		    held + hold_failed == opt.sessions) {
			printf("idle open=%d failed=%d\n", held, hold_failed);
			fflush(stdout);
			reported = 1;
		}
		if (got_signal)
			break;
		if (!opt.idle && active == 0 && startq_len == 0)
			break;
		if (!reported && now() > deadline) {
			timed_out = 1;
			break;
		}
		n = epoll_wait(epfd, evs, opt.sessions + 1, 1000);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			perror("epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++)
			handle_event(evs[i].data.ptr, evs[i].events);
	}
	t1 = now();

	if (timed_out) {
		long	 by_state[ST_DONE + 1] = { 0 };

		for (i = 0; i < opt.sessions; i++)
			by_state[sess[i].state]++;
		fprintf(stderr, "loadgen: sessions by state at the timeout:");
		for (i = 0; i <= ST_DONE; i++)
			if (by_state[i] > 0)
				fprintf(stderr, " %s=%ld", state_name[i],
				    by_state[i]);
		fputc('\n', stderr);
	}
	if (opt.idle) {
		if (!reported)
			printf("idle open=%d failed=%d%s\n", held, hold_failed,
			    timed_out ? " timeout" : "");
		fprintf(stderr, "loadgen: idle: held=%d failed=%d at exit\n",
		    held, hold_failed);
		return hold_failed == 0 && !timed_out ? 0 : 1;
	}
	if (timed_out) {
		/* messages in flight count as failed */
		fprintf(stderr, "loadgen: error: timeout after %d s\n",
		    opt.timeout);
		fail_total += claimed_total - ok_total - fail_total;
	}
	qsort(lat_us, ok_total, sizeof(*lat_us), cmp_u32);
	if (fail_total > 0) {
		fprintf(stderr, "loadgen: failed messages by stage:");
		for (i = 0; i <= ST_DONE; i++)
			if (fail_by_state[i] > 0)
				fprintf(stderr, " %s=%ld", state_name[i],
				    fail_by_state[i]);
		fputc('\n', stderr);
	}
	if (opt.duration > 0)	/* the number of messages is what was done */
		opt.total = claimed_total;
	printf("loadgen sessions=%d per_conn=%d size=%d pipelining=%s "
	    "total=%ld ok=%ld failed=%ld conn_failed=%ld quit_errors=%ld "
	    "connections=%ld "
	    "elapsed=%.3f rate=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
	    opt.sessions, opt.per_conn, opt.size, opt.pipelining ? "yes" : "no",
	    opt.total, ok_total, fail_total, conn_fail, quit_errors,
	    conn_total, t1 - t0,
	    ok_total / (t1 - t0), pct_ms(0.50), pct_ms(0.99), pct_ms(1.0));
	return (ok_total == opt.total && fail_total == 0 && quit_errors == 0 &&
	    !timed_out) ?
	    0 : 1;
}
