/*
 * test_fwd_deliver.c -- fwd_deliver against real receivers: Postfix's
 * smtp-sink on free loopback ports, dumping every transaction (-d) so the
 * test sees exactly what arrived; -r/-f make it answer 4xx/5xx to a
 * chosen command. smtp-sink offers no STARTTLS, so every delivery here
 * also proves the opportunistic-TLS fallback to plain SMTP. Route parsing
 * and matching are table-driven.
 *
 * smtp-sink stores lines with LF and dot-unstuffed; the check compares
 * against the sent bytes with CRLF folded the same way. A second receiver,
 * a small SMTP server thread in this program with OpenSSL, offers
 * STARTTLS with a throw-away self-signed certificate and keeps the raw
 * DATA bytes, so that check is byte-exact and proves the upgrade happens.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tap.h"
#include "testutil.h"
#include "compat.h"
#include "reports/fwd_deliver.h"

#define SINK		"/usr/sbin/smtp-sink"
#define HELO		"trap.example.net"
#define RECEIVED	\
	"Received: from bot.example (unknown [203.0.113.9])\r\n" \
	"\tby trap.example.net (Postfix) with ESMTP id 4C2B41A0D7F\r\n" \
	"\tfor <dropbox@example.com>; Thu, 26 Nov 2026 10:00:00 +0000 (UTC)\r\n"

static const char msg[] =
    "From: Probe <probe@example.org>\r\n"
    "To: dropbox@example.com\r\n"
    "Subject: Relay test 198.51.100.25\r\n"
    "Message-ID: <c6336419@example.org>\r\n"
    "\r\n"
    "This is a relay test.\r\n"
    ".a line that starts with a dot\r\n"
    "..two dots\r\n"
    "8bit: \xc3\xa9t\xc3\xa9\r\n"
    "\r\n"
    "last line\r\n";

struct sink {
	pid_t	 pid;
	int	 port;
	char	 dir[64];
};

static int
free_port(int af)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len;
	int			 fd, port;

	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s4);
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		len = sizeof(*s6);
	}
	if ((fd = socket(af, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	port = ntohs(af == AF_INET ? s4->sin_port : s6->sin6_port);
	close(fd);
	return port;
}

static int
try_connect(int af, int port)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;
	int			 fd, rc;

	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_port = htons(port);
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons(port);
	}
	if ((fd = socket(af, SOCK_STREAM, 0)) == -1)
		return -1;
	rc = connect(fd, (struct sockaddr *)&ss, af == AF_INET ?
	    sizeof(*s4) : sizeof(*s6));
	close(fd);
	return rc;
}

/* start smtp-sink on a free port with extra options (NULL-terminated) */
static int
sink_start(struct sink *s, int af, const char *opt1, const char *opt2)
{
	char		 tmpl[128], listen[64];
	const char	*argv[16];
	long long	 deadline;
	int		 i = 0;

	memset(s, 0, sizeof(*s));
	strlcpy(s->dir, "/tmp/test_fwd_deliver.XXXXXX", sizeof(s->dir));
	if (mkdtemp(s->dir) == NULL || chmod(s->dir, 0777) == -1)
		return -1;
	if ((s->port = free_port(af)) == -1)
		return -1;
	snprintf(tmpl, sizeof(tmpl), "%s/%%M.", s->dir);
	snprintf(listen, sizeof(listen), af == AF_INET ? "127.0.0.1:%d" :
	    "[::1]:%d", s->port);
	argv[i++] = "smtp-sink";
	if (geteuid() == 0) {
		argv[i++] = "-u";
		argv[i++] = "nobody";
	}
	argv[i++] = "-d";
	argv[i++] = tmpl;
	if (opt1 != NULL) {
		argv[i++] = opt1;
		argv[i++] = opt2;
	}
	argv[i++] = listen;
	argv[i++] = "10";
	argv[i] = NULL;
	if ((s->pid = fork()) == -1)
		return -1;
	if (s->pid == 0) {
		execv(SINK, (char *const *)argv);
		_exit(127);
	}
	deadline = tu_now_ms() + 5000;
	while (try_connect(af, s->port) == -1) {
		if (tu_now_ms() > deadline)
			return -1;
		sched_yield();
	}
	return 0;
}

static void
sink_stop(struct sink *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	tu_rm_tree(s->dir);
}

/* the dump files in s->dir, read into bufs (caller frees); count */
static int
sink_dumps(const struct sink *s, char **bufs, int max)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[512];
	FILE		*f;
	long		 len;
	int		 n = 0;

	if ((d = opendir(s->dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && n < max) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->dir, de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		bufs[n] = calloc(1, (size_t)len + 1);
		if (fread(bufs[n], 1, (size_t)len, f) != (size_t)len)
			len = 0;
		bufs[n][len] = '\0';
		fclose(f);
		n++;
	}
	closedir(d);
	return n;
}

static void
free_dumps(char **bufs, int n)
{
	while (n-- > 0)
		free(bufs[n]);
}

/*
 * wait until the sink holds <want> complete dumps (each ends with the
 * empty line smtp-sink appends), or the deadline passes; returns count
 */
static int
wait_dumps(const struct sink *s, char **bufs, int max, int want)
{
	long long	 deadline = tu_now_ms() + 5000;
	int		 n, i, complete;

	for (;;) {
		n = sink_dumps(s, bufs, max);
		complete = n >= want;
		for (i = 0; i < n && complete; i++) {
			size_t l = strlen(bufs[i]);
			if (l < 2 || strcmp(bufs[i] + l - 2, "\n\n") != 0)
				complete = 0;
		}
		if (complete || tu_now_ms() > deadline)
			return n;
		free_dumps(bufs, n);
		sched_yield();
	}
}

/* CRLF -> LF, as smtp-sink stores lines */
static char *
fold(const char *in)
{
	char	*out = calloc(1, strlen(in) + 1), *o = out;

	for (; *in != '\0'; in++)
		if (!(in[0] == '\r' && in[1] == '\n'))
			*o++ = *in;
	return out;
}

/* the dump after smtp-sink's own headers (ending with its Received) */
static const char *
dump_body(const char *d)
{
	const char	*p;

	if ((p = strstr(d, "\nReceived: from ")) == NULL)
		return NULL;
	/* smtp-sink's Received has three lines */
	if ((p = strchr(p + 1, '\n')) == NULL ||
	    (p = strchr(p + 1, '\n')) == NULL ||
	    (p = strchr(p + 1, '\n')) == NULL)
		return NULL;
	return p + 1;
}

static int
msg_file(void)
{
	char	 path[] = "/tmp/test_fwd_msg.XXXXXX";
	int	 fd;

	if ((fd = mkstemp(path)) == -1)
		return -1;
	unlink(path);
	if (write(fd, msg, sizeof(msg) - 1) != (ssize_t)(sizeof(msg) - 1))
		return -1;
	/* fwd_deliver uses pread: a moved offset must not matter */
	return fd;
}

static void
req_init(struct fwd_request *r, int fd, const struct fwd_target *t,
    size_t n, const char *from, const char *rcpt)
{
	memset(r, 0, sizeof(*r));
	r->mail_from = from;
	r->rcpt = rcpt;
	r->helo = HELO;
	r->received = RECEIVED;
	r->msg_fd = fd;
	r->targets = t;
	r->ntargets = n;
	r->connect_timeout = 5;
	r->total_timeout = 20;
}

static void
target(struct fwd_target *t, const char *name, const char *addr, int port)
{
	memset(t, 0, sizeof(*t));
	strlcpy(t->name, name, sizeof(t->name));
	strlcpy(t->addr, addr, sizeof(t->addr));
	t->port = port;
}

static void
test_delivery(int fd)
{
	struct sink		 s;
	struct fwd_target	 t[2];
	struct fwd_request	 r;
	struct fwd_outcome	 o;
	char			*d[4], *want, *full;
	const char		*body;
	int			 n, i, seen1 = 0, seen2 = 0;

	if (!ok(sink_start(&s, AF_INET, NULL, NULL) == 0, "sink started"))
		return;
	target(&t[0], "", "127.0.0.1", s.port);
	req_init(&r, fd, t, 1, "probe@example.org", "dropbox@example.com");
	is_int(fwd_deliver(&r, &o), FWD_DELIVERED, "delivered to rcpt 1");
	is_int(o.code, 250, "final code 250");
	ok(strncmp(o.reply, "250 ", 4) == 0, "final reply text: %s", o.reply);
	is_str(o.where, "eod", "decided at end of data");
	is_int(o.tried, 1, "one host tried");
	/* the second recipient, through an MX name pinned to the address */
	target(&t[0], "mx1.example.invalid", "127.0.0.1", s.port);
	lseek(fd, 3, SEEK_SET);
	req_init(&r, fd, t, 1, "probe@example.org", "other@example.org");
	is_int(fwd_deliver(&r, &o), FWD_DELIVERED,
	    "delivered to rcpt 2 via pinned name");

	n = wait_dumps(&s, d, 4, 2);
	is_int(n, 2, "exactly one transaction per recipient");
	full = calloc(1, sizeof(RECEIVED) + sizeof(msg));
	strcat(full, RECEIVED);
	strcat(full, msg);
	want = fold(full);
	for (i = 0; i < n; i++) {
		ok(strstr(d[i], "\nX-Mail-Args: <probe@example.org>\n") != NULL,
		    "dump %d: original envelope sender", i);
		ok(strstr(d[i], "\nX-Helo-Args: " HELO "\n") != NULL,
		    "dump %d: EHLO name from the URL path", i);
		if (strstr(d[i], "X-Rcpt-Args: <dropbox@example.com>\n"))
			seen1++;
		if (strstr(d[i], "X-Rcpt-Args: <other@example.org>\n"))
			seen2++;
		ok(strstr(strstr(d[i], "X-Rcpt-Args:") + 1, "X-Rcpt-Args:") ==
		    NULL, "dump %d: one RCPT per transaction", i);
		body = dump_body(d[i]);
		/* body = our Received + message + smtp-sink's empty line */
		ok(body != NULL && strlen(body) == strlen(want) + 1 &&
		    memcmp(body, want, strlen(want)) == 0 &&
		    body[strlen(want)] == '\n',
		    "dump %d: original bytes after exactly one added header",
		    i);
	}
	is_int(seen1, 1, "dropbox@example.com received once");
	is_int(seen2, 1, "other@example.org received once");
	free_dumps(d, n);
	free(want);
	free(full);
	sink_stop(&s);
}

static void
test_null_sender_v6(int fd)
{
	struct sink		 s;
	struct fwd_target	 t;
	struct fwd_request	 r;
	struct fwd_outcome	 o;
	char			*d[2];
	int			 n;

	if (!ok(sink_start(&s, AF_INET6, NULL, NULL) == 0, "v6 sink started"))
		return;
	target(&t, "", "::1", s.port);
	req_init(&r, fd, &t, 1, "", "dropbox@example.com");
	is_int(fwd_deliver(&r, &o), FWD_DELIVERED, "null sender over IPv6");
	n = wait_dumps(&s, d, 2, 1);
	is_int(n, 1, "one transaction");
	ok(n == 1 && strstr(d[0], "\nX-Mail-Args: <>\n") != NULL,
	    "MAIL FROM:<>");
	free_dumps(d, n);
	sink_stop(&s);
}

static void
test_failures(int fd)
{
	struct sink		 bad, good;
	struct fwd_target	 t[3];
	struct fwd_request	 r;
	struct fwd_outcome	 o;
	char			*d[2];
	int			 dead, n;

	if (!ok(sink_start(&good, AF_INET, NULL, NULL) == 0, "sink started"))
		return;
	dead = free_port(AF_INET);

	/* dead port alone: temporary, a connect failure */
	target(&t[0], "", "127.0.0.1", dead);
	req_init(&r, fd, t, 1, "probe@example.org", "dropbox@example.com");
	is_int(fwd_deliver(&r, &o), FWD_TEMPFAIL, "dead port: tempfail");
	is_str(o.where, "connect", "dead port: where");
	is_int(o.code, 0, "dead port: no reply code");

	/* dead port, then a good host: the next MX takes it */
	target(&t[1], "", "127.0.0.1", good.port);
	req_init(&r, fd, t, 2, "probe@example.org", "dropbox@example.com");
	is_int(fwd_deliver(&r, &o), FWD_DELIVERED, "dead then good");
	is_int(o.tried, 2, "two hosts tried");
	is_int(o.host.port, good.port, "delivered by the second host");

	/* 4xx to MAIL: temporary, next host */
	if (ok(sink_start(&bad, AF_INET, "-r", "MAIL") == 0, "4xx sink")) {
		target(&t[0], "", "127.0.0.1", bad.port);
		req_init(&r, fd, t, 1, "probe@example.org", "a@example.com");
		is_int(fwd_deliver(&r, &o), FWD_TEMPFAIL, "450 MAIL: tempfail");
		is_int(o.code, 450, "450 code");
		is_str(o.where, "mail", "450 at MAIL");
		ok(strncmp(o.reply, "450 4.3.0", 9) == 0, "450 text: %s",
		    o.reply);
		req_init(&r, fd, t, 2, "probe@example.org", "a@example.com");
		is_int(fwd_deliver(&r, &o), FWD_DELIVERED, "4xx then good");
		is_int(o.tried, 2, "4xx: two hosts tried");
		sink_stop(&bad);
	}
	/* 5xx to RCPT / DATA / end of data: permanent, no next host */
	{
		static const struct {
			const char *cmd, *where;
		} perm[] = {
			{ "MAIL", "mail" }, { "RCPT", "rcpt" },
			{ "DATA", "data" }, { ".", "eod" },
		};
		size_t	 i;

		for (i = 0; i < sizeof(perm) / sizeof(perm[0]); i++) {
			if (!ok(sink_start(&bad, AF_INET, "-f", perm[i].cmd) ==
			    0, "5xx %s sink", perm[i].cmd))
				continue;
			target(&t[0], "", "127.0.0.1", bad.port);
			req_init(&r, fd, t, 2, "probe@example.org",
			    "perm@example.com");
			is_int(fwd_deliver(&r, &o), FWD_PERMFAIL,
			    "500 to %s: permfail", perm[i].cmd);
			is_int(o.code, 500, "500 to %s: code", perm[i].cmd);
			is_str(o.where, perm[i].where, "500 to %s: where",
			    perm[i].cmd);
			is_int(o.tried, 1, "500 to %s: next host not tried",
			    perm[i].cmd);
			sink_stop(&bad);
		}
	}
	/* 5xx to EHLO and HELO: not a refusal of the message, next host */
	if (ok(sink_start(&bad, AF_INET, "-f", "EHLO,HELO") == 0,
	    "5xx EHLO sink")) {
		target(&t[0], "", "127.0.0.1", bad.port);
		req_init(&r, fd, t, 1, "probe@example.org", "h@example.com");
		is_int(fwd_deliver(&r, &o), FWD_TEMPFAIL, "500 to HELO: temp");
		is_str(o.where, "helo", "500 to HELO: where");
		sink_stop(&bad);
	}
	/* the good sink saw only the two deliveries meant for it */
	n = wait_dumps(&good, d, 2, 2);
	is_int(n, 2, "good sink: one per successful delivery");
	free_dumps(d, n);
	sink_stop(&good);
}

static void
test_local_errors(int fd)
{
	struct fwd_target	 t;
	struct fwd_request	 r;
	struct fwd_outcome	 o;

	target(&t, "", "127.0.0.1", 9);
	req_init(&r, fd, &t, 1, "a@b\r\nRCPT TO:<x@y>", "d@example.com");
	is_int(fwd_deliver(&r, &o), FWD_PERMFAIL, "CRLF in sender refused");
	is_str(o.where, "local", "local refusal");
	req_init(&r, fd, &t, 1, "a@b", "<d@example.com>");
	is_int(fwd_deliver(&r, &o), FWD_PERMFAIL, "brackets in rcpt refused");
	req_init(&r, fd, &t, 1, "a@b", "d@example.com");
	r.received = "Received: no crlf";
	is_int(fwd_deliver(&r, &o), FWD_PERMFAIL, "header without CRLF");
	req_init(&r, fd, &t, 0, "a@b", "d@example.com");
	is_int(fwd_deliver(&r, &o), FWD_TEMPFAIL, "no targets: tempfail");
	req_init(&r, -1, &t, 1, "a@b", "d@example.com");
	is_int(fwd_deliver(&r, &o), FWD_TEMPFAIL, "bad fd: tempfail");
	is_str(o.where, "local", "bad fd: local");
}


/*
 * The STARTTLS receiver: one session, one transaction; keeps what it saw.
 */
struct tls_rx {
	int		 lfd, port;
	SSL_CTX		*ctx;
	int		 tls_at_mail;	/* TLS active when MAIL came */
	int		 ehlos;
	char		 mail[256], rcpt[256];
	char		*data;		/* raw DATA bytes up to CRLF.CRLF */
	size_t		 datalen;
};

struct rx_io {
	int	 fd;
	SSL	*ssl;
	char	 buf[4096];
	size_t	 len;
};

static SSL_CTX *
tls_ctx(void)
{
	SSL_CTX		*ctx;
	EVP_PKEY	*pk;
	X509		*x;
	X509_NAME	*nm;

	if ((pk = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"mx.test.invalid", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	if (X509_sign(x, pk, EVP_sha256()) == 0 ||
	    (ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pk) != 1)
		return NULL;
	X509_free(x);
	EVP_PKEY_free(pk);
	return ctx;
}

static void
rx_send(struct rx_io *io, const char *s)
{
	if (io->ssl != NULL)
		SSL_write(io->ssl, s, (int)strlen(s));
	else if (write(io->fd, s, strlen(s)) == -1)
		return;
}

/* one CRLF line into line (without CRLF); -1 at EOF */
static int
rx_line(struct rx_io *io, char *line, size_t max)
{
	char	*e;
	ssize_t	 r;
	size_t	 n;

	while ((e = memchr(io->buf, '\n', io->len)) == NULL) {
		if (io->len == sizeof(io->buf))
			return -1;
		r = io->ssl ? SSL_read(io->ssl, io->buf + io->len,
		    (int)(sizeof(io->buf) - io->len)) :
		    read(io->fd, io->buf + io->len, sizeof(io->buf) - io->len);
		if (r <= 0)
			return -1;
		io->len += (size_t)r;
	}
	n = (size_t)(e - io->buf) + 1;
	snprintf(line, max, "%.*s", (int)(n >= 2 ? n - 2 : 0), io->buf);
	memmove(io->buf, io->buf + n, io->len - n);
	io->len -= n;
	return 0;
}

static void *
tls_rx_run(void *arg)
{
	struct tls_rx	*rx = arg;
	struct rx_io	 io;
	struct timeval	 tmo = { .tv_sec = 10 };
	char		 line[1100];

	memset(&io, 0, sizeof(io));
	/* a broken client must fail the test, not hang it */
	setsockopt(rx->lfd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	if ((io.fd = accept(rx->lfd, NULL, NULL)) == -1)
		return NULL;
	setsockopt(io.fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	rx_send(&io, "220 mx.test.invalid ESMTP\r\n");
	while (rx_line(&io, line, sizeof(line)) == 0) {
		if (strncasecmp(line, "EHLO", 4) == 0) {
			rx->ehlos++;
			rx_send(&io, io.ssl ? "250-mx.test.invalid\r\n"
			    "250 8BITMIME\r\n" : "250-mx.test.invalid\r\n"
			    "250-8BITMIME\r\n250 STARTTLS\r\n");
		} else if (strcasecmp(line, "STARTTLS") == 0 && !io.ssl) {
			rx_send(&io, "220 2.0.0 Ready to start TLS\r\n");
			io.ssl = SSL_new(rx->ctx);
			SSL_set_fd(io.ssl, io.fd);
			if (SSL_accept(io.ssl) != 1)
				break;
		} else if (strncasecmp(line, "MAIL", 4) == 0) {
			rx->tls_at_mail = io.ssl != NULL;
			strlcpy(rx->mail, line, sizeof(rx->mail));
			rx_send(&io, "250 2.1.0 Ok\r\n");
		} else if (strncasecmp(line, "RCPT", 4) == 0) {
			strlcpy(rx->rcpt, line, sizeof(rx->rcpt));
			rx_send(&io, "250 2.1.5 Ok\r\n");
		} else if (strcasecmp(line, "DATA") == 0) {
			rx_send(&io, "354 go ahead\r\n");
			/* keep raw lines (dot-stuffed as sent) with CRLF */
			while (rx_line(&io, line, sizeof(line)) == 0 &&
			    strcmp(line, ".") != 0) {
				size_t l = strlen(line);

				rx->data = realloc(rx->data,
				    rx->datalen + l + 3);
				memcpy(rx->data + rx->datalen, line, l);
				memcpy(rx->data + rx->datalen + l, "\r\n", 3);
				rx->datalen += l + 2;
			}
			rx_send(&io, "250 2.0.0 Ok: queued as TLS1\r\n");
		} else if (strcasecmp(line, "QUIT") == 0) {
			rx_send(&io, "221 2.0.0 Bye\r\n");
			break;
		} else
			rx_send(&io, "502 5.5.2 Error\r\n");
	}
	if (io.ssl != NULL) {
		SSL_shutdown(io.ssl);
		SSL_free(io.ssl);
	}
	close(io.fd);
	return NULL;
}

/* undo SMTP dot-stuffing of CRLF-terminated lines */
static size_t
unstuff(const char *in, size_t len, char *out)
{
	size_t	 i, o = 0;
	int	 bol = 1;

	for (i = 0; i < len; i++) {
		if (bol && in[i] == '.') {
			bol = 0;
			continue;
		}
		out[o++] = in[i];
		bol = in[i] == '\n';
	}
	return o;
}

static void
test_starttls(int fd)
{
	struct tls_rx		 rx;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct fwd_target	 t;
	struct fwd_request	 r;
	struct fwd_outcome	 o;
	pthread_t		 th;
	char			*got, *want;
	size_t			 n;

	memset(&rx, 0, sizeof(rx));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!ok((rx.ctx = tls_ctx()) != NULL, "TLS receiver context") ||
	    (rx.lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(rx.lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(rx.lfd, 4) == -1 ||
	    getsockname(rx.lfd, (struct sockaddr *)&sin, &len) == -1) {
		ok(0, "TLS receiver socket");
		return;
	}
	rx.port = ntohs(sin.sin_port);
	pthread_create(&th, NULL, tls_rx_run, &rx);
	target(&t, "mx.test.invalid", "127.0.0.1", rx.port);
	req_init(&r, fd, &t, 1, "probe@example.org", "dropbox@example.com");
	is_int(fwd_deliver(&r, &o), FWD_DELIVERED, "STARTTLS: delivered");
	pthread_join(th, NULL);
	ok(rx.tls_at_mail, "STARTTLS used (unverified self-signed cert)");
	is_int(rx.ehlos, 2, "EHLO again after STARTTLS");
	is_str(rx.mail, "MAIL FROM:<probe@example.org>", "MAIL as sent");
	is_str(rx.rcpt, "RCPT TO:<dropbox@example.com>", "one RCPT");
	ok(rx.data != NULL && memmem(rx.data, rx.datalen,
	    "\r\n..a line", 10) != NULL && memmem(rx.data, rx.datalen,
	    "\r\n...two dots", 13) != NULL, "dot-stuffed on the wire");
	got = calloc(1, rx.datalen + 1);
	n = rx.data ? unstuff(rx.data, rx.datalen, got) : 0;
	want = calloc(1, sizeof(RECEIVED) + sizeof(msg));
	memcpy(want, RECEIVED, sizeof(RECEIVED) - 1);
	memcpy(want + sizeof(RECEIVED) - 1, msg, sizeof(msg) - 1);
	is_mem(got, n, want, sizeof(RECEIVED) + sizeof(msg) - 2,
	    "byte-exact: one Received header + the stored message");
	free(want);
	free(got);
	free(rx.data);
	close(rx.lfd);
	SSL_CTX_free(rx.ctx);
}


struct done_rec {
	int			 n;
	struct fwd_outcome	 out[4];
	char			 rcpt[4][64];
};

struct done_arg {
	struct done_rec	*rec;
	const char	*rcpt;
};

static void
runner_done(void *arg, const struct fwd_outcome *out)
{
	struct done_arg	*a = arg;

	if (a->rec->n < 4) {
		a->rec->out[a->rec->n] = *out;
		strlcpy(a->rec->rcpt[a->rec->n], a->rcpt, 64);
		a->rec->n++;
	}
}

/* the runner: the caller's thread stays free while a slow MX answers */
static void
test_runner(int fd)
{
	struct sink		 s;
	struct fwd_runner	*run;
	struct fwd_target	 t;
	struct fwd_request	 r;
	struct done_rec		 rec;
	struct done_arg		 a1, a2;
	struct pollfd		 pfd;
	char			*d[4], rcpt[64];
	long long		 t0, deadline;
	int			 n;

	memset(&rec, 0, sizeof(rec));
	/* -w 1: the sink waits a second before answering DATA */
	if (!ok(sink_start(&s, AF_INET, "-w", "1") == 0, "slow sink"))
		return;
	if (!ok((run = fwd_runner_new()) != NULL, "runner started")) {
		sink_stop(&s);
		return;
	}
	target(&t, "", "127.0.0.1", s.port);
	/* the request's memory is the caller's: reuse it after submit */
	strlcpy(rcpt, "first@example.com", sizeof(rcpt));
	req_init(&r, fd, &t, 1, "probe@example.org", rcpt);
	a1 = (struct done_arg){ &rec, "first@example.com" };
	a2 = (struct done_arg){ &rec, "second@example.com" };
	t0 = tu_now_ms();
	is_int(fwd_runner_submit(run, &r, runner_done, &a1), 0, "submit 1");
	strlcpy(rcpt, "second@example.com", sizeof(rcpt));
	t.port = s.port;
	is_int(fwd_runner_submit(run, &r, runner_done, &a2), 0, "submit 2");
	ok(tu_now_ms() - t0 < 500, "submit returns at once");
	pfd.fd = fwd_runner_fd(run);
	pfd.events = POLLIN;
	is_int(poll(&pfd, 1, 0), 0, "nothing finished yet: caller is free");
	deadline = tu_now_ms() + 15000;
	while (rec.n < 2 && tu_now_ms() < deadline)
		if (poll(&pfd, 1, 100) == 1)
			fwd_runner_dispatch(run);
	is_int(rec.n, 2, "both done callbacks");
	ok(rec.n == 2 && rec.out[0].status == FWD_DELIVERED &&
	    rec.out[1].status == FWD_DELIVERED, "both delivered");
	ok(rec.n == 2 && strcmp(rec.rcpt[0], "first@example.com") == 0,
	    "in submission order");
	n = wait_dumps(&s, d, 4, 2);
	is_int(n, 2, "two transactions");
	ok(n == 2 && (strstr(d[0], "<second@example.com>") != NULL) !=
	    (strstr(d[1], "<second@example.com>") != NULL),
	    "the copied request, not the reused buffer, was sent");
	free_dumps(d, n);
	/* free with work queued: no callback, no leak, no hang */
	fwd_runner_submit(run, &r, runner_done, &a1);
	fwd_runner_free(run);
	is_int(rec.n, 2, "no callback after free");
	sink_stop(&s);
}

static const struct route_case {
	const char	*name, *spec;
	int		 want;
	const char	*domain, *addr;
	int		 port;
} route_cases[] = {
	{ .name = "domain v4", .spec = "example.net=127.0.0.1:2526",
	  .want = 0, .domain = "example.net", .addr = "127.0.0.1",
	  .port = 2526 },
	{ .name = "star v6", .spec = "*=[::1]:2526", .want = 0,
	  .domain = "*", .addr = "::1", .port = 2526 },
	{ .name = "subdomains", .spec = ".Example.COM=127.0.0.2:25",
	  .want = 0, .domain = ".example.com", .addr = "127.0.0.2",
	  .port = 25 },
	{ .name = "no =", .spec = "example.net", .want = -1 },
	{ .name = "no port", .spec = "example.net=127.0.0.1", .want = -1 },
	{ .name = "port 0", .spec = "example.net=127.0.0.1:0", .want = -1 },
	{ .name = "port big", .spec = "a=127.0.0.1:65536", .want = -1 },
	{ .name = "name host", .spec = "a=mx.example:25", .want = -1 },
	{ .name = "v6 no br", .spec = "a=::1:25", .want = -1 },
	{ .name = "v4 in br", .spec = "a=[127.0.0.1]:25", .want = -1 },
	{ .name = "empty dom", .spec = "=127.0.0.1:25", .want = -1 },
	{ .name = "bad dom", .spec = "a b=127.0.0.1:25", .want = -1 },
	{ .name = "star in", .spec = "*.a=127.0.0.1:25", .want = -1 },
};

static void
test_routes(void)
{
	struct fwd_route	 rt[4];
	const struct fwd_route	*m;
	const char		*errstr;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]); i++) {
		const struct route_case *c = &route_cases[i];

		errstr = NULL;
		rc = fwd_route_parse(c->spec, &rt[0], &errstr);
		is_int(rc, c->want, "route %s", c->name);
		if (rc == 0 && c->want == 0) {
			is_str(rt[0].domain, c->domain, "route %s domain",
			    c->name);
			is_str(rt[0].target.addr, c->addr, "route %s addr",
			    c->name);
			is_int(rt[0].target.port, c->port, "route %s port",
			    c->name);
		} else if (rc == -1)
			ok(errstr != NULL, "route %s errstr %s", c->name,
			    errstr ? errstr : "(null)");
	}
	fwd_route_parse("*=[::1]:2526", &rt[0], &errstr);
	fwd_route_parse("example.net=127.0.0.1:2526", &rt[1], &errstr);
	fwd_route_parse(".example.net=127.0.0.1:2527", &rt[2], &errstr);
	fwd_route_parse(".sub.example.net=127.0.0.1:2528", &rt[3], &errstr);
	m = fwd_route_match(rt, 4, "EXAMPLE.net");
	ok(m == &rt[1], "exact match wins over *, case-insensitive");
	m = fwd_route_match(rt, 4, "example.net.");
	ok(m == &rt[1], "trailing dot");
	m = fwd_route_match(rt, 4, "a.example.net");
	ok(m == &rt[2], "subdomain entry");
	m = fwd_route_match(rt, 4, "b.sub.example.net");
	ok(m == &rt[3], "longest subdomain entry");
	m = fwd_route_match(rt, 4, "notexample.net");
	ok(m == &rt[0], "suffix without dot is not a subdomain: *");
	m = fwd_route_match(rt + 1, 3, "other.org");
	ok(m == NULL, "no route: NULL (resolve MX)");
}

int
main(void)
{
	int	 fd;

	test_routes();
	if ((fd = msg_file()) == -1) {
		ok(0, "message file");
		return tap_done();
	}
	test_local_errors(fd);
	if (access(SINK, X_OK) == -1) {
		printf("# skipping deliveries: %s not installed\n", SINK);
		close(fd);
		return tap_done();
	}
	if (fwd_deliver_init() == -1) {
		ok(0, "fwd_deliver_init");
		return tap_done();
	}
	test_delivery(fd);
	test_null_sender_v6(fd);
	test_failures(fd);
	test_starttls(fd);
	test_runner(fd);
	close(fd);
	return tap_done();
}
