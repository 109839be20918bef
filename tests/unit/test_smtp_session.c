/*
 * test_smtp_session.c -- the SMTP state machine driven in-process over a
 * socketpair, with the real queue and committer underneath: each script
 * is fed whole and one byte at a time, and must give the same replies
 * (codes of the final lines) and store the same bytes.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "conf.h"
#include "log.h"
#include "persona.h"
#include "queue.h"
#include "addr.h"
#include "smtp_session.h"
#include "tap.h"

struct scase {
	const char	*name;
	const char	*in;		/* client bytes */
	size_t		 inlen;		/* 0: strlen(in) */
	const char	*codes;		/* final reply codes, space-separated */
	const char	*stored;	/* bytes of the one message stored, or NULL */
	const char	*finding;	/* a finding the session must record */
	const char	*transcript_first; /* first line of the envelope's part */
	size_t		 transcript_lines; /* and how many lines it has */
};

#define TXN	"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n" \
		"RCPT TO:<b@example.net>\r\nDATA\r\n"

static const struct scase cases[] = {
	{ .name = "transaction with dot-stuffing",
	  .in = TXN "Subject: t\r\n\r\n.hi\r\n..\r\n.\r\nQUIT\r\n",
	  .codes = "220 250 250 250 354 250 221",
	  .stored = "Subject: t\r\n\r\nhi\r\n.\r\n" },
	{ .name = "second message of a session",
	  .in = TXN "one\r\n.\r\nMAIL FROM:<c@example.org>\r\n"
	    "RCPT TO:<d@example.net>\r\nDATA\r\ntwo\r\n.\r\nQUIT\r\n",
	  .codes = "220 250 250 250 354 250 250 250 354 250 221",
	  .stored = "two\r\n", .transcript_first = "C: MAIL FROM:<c@example.org>",
	  .transcript_lines = 8 },
	{ .name = "empty message",
	  .in = TXN ".\r\nQUIT\r\n", .codes = "220 250 250 250 354 250 221",
	  .stored = "" },
	{ .name = "smuggling-shaped sequences are content",
	  .in = TXN "a\n.\r\nb\r.\r\nc\n.\nd\r\n.\r\nQUIT\r\n",
	  .codes = "220 250 250 250 354 250 221",
	  .stored = "a\n.\r\nb\r.\r\nc\n.\nd\r\n",
	  .finding = "smuggle_lf_dot_crlf" },
	/* Postfix with smtpd_helo_required=no, the default: taken */
	{ .name = "MAIL before HELO",
	  .in = "MAIL FROM:<a@b>\r\nQUIT\r\n", .codes = "220 250 221",
	  .finding = "bad_sequence" },
	{ .name = "RCPT and DATA before MAIL",
	  .in = "HELO x\r\nRCPT TO:<a@b>\r\nDATA\r\nQUIT\r\n",
	  .codes = "220 250 503 503 221", .finding = "bad_sequence" },
	{ .name = "nested MAIL",
	  .in = "EHLO x\r\nMAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\nQUIT\r\n",
	  .codes = "220 250 250 503 221" },
	{ .name = "DATA without RCPT",
	  .in = "EHLO x\r\nMAIL FROM:<a@b>\r\nDATA\r\nQUIT\r\n",
	  .codes = "220 250 250 554 221" },
	{ .name = "RSET ends the transaction",
	  .in = "EHLO x\r\nMAIL FROM:<a@b>\r\nRSET\r\nRCPT TO:<c@d>\r\nQUIT\r\n",
	  .codes = "220 250 250 250 503 221" },
	{ .name = "relay-test forms accepted",
	  .in = "EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<relaytest%nmap.scanme.org@[203.0.113.7]>\r\n"
	    "RCPT TO:<\"relaytest@nmap.scanme.org\">\r\n"
	    "RCPT TO:<@[203.0.113.7]:relaytest@nmap.scanme.org>\r\n"
	    "RCPT TO:<nmap.scanme.org!relaytest>\r\nQUIT\r\n",
	  .codes = "220 250 250 250 250 250 250 221", .finding = "path_percent" },
	{ .name = "bare LF commands",
	  .in = "EHLO x\nNOOP\nQUIT\n", .codes = "220 250 250 221",
	  .finding = "bare_lf" },
	{ .name = "unknown commands up to the cap",
	  .in = "EHLO x\r\nFOO\r\nBAR\r\nBAZ\r\nNOOP\r\n",
	  .codes = "220 250 500 500 500 421", .finding = "unknown_command" },
	{ .name = "non-SMTP hangs up",
	  .in = "GET / HTTP/1.1\r\nHost: x\r\n\r\n", .codes = "220 221",
	  .finding = "nonsmtp_command" },
	{ .name = "AUTH PLAIN fails and is recorded",
	  .in = "EHLO x\r\nAUTH PLAIN AGJvYgBndWVzcw==\r\nQUIT\r\n",
	  .codes = "220 250 535 221", .finding = "auth_attempt" },
	{ .name = "AUTH LOGIN dialogue and abort",
	  .in = "EHLO x\r\nAUTH LOGIN\r\nYm9i\r\nZ3Vlc3M=\r\nAUTH LOGIN\r\n*\r\nQUIT\r\n",
	  .codes = "220 250 334 334 535 334 501 221" },
	/* AUTH was not offered after HELO; Postfix still takes it */
	{ .name = "AUTH after HELO",
	  .in = "HELO x\r\nAUTH PLAIN AGJvYgBndWVzcw==\r\nQUIT\r\n",
	  .codes = "220 250 535 221", .finding = "bad_sequence" },
	{ .name = "pipelining without the extension",
	  .in = "HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nQUIT\r\n",
	  .codes = "220 250 250 250 221",
	  .finding = "pipelining_without_extension" },
	{ .name = "VRFY and HELP answered like the persona",
	  .in = "EHLO x\r\nVRFY root\r\nHELP\r\nQUIT\r\n",
	  .codes = "220 250 252 500 221" },
	{ .name = "NUL in a command",
	  .in = "EHLO x\r\nNO\0OP\r\nQUIT\r\n", .inlen = 21,
	  .codes = "220 250 500 221", .finding = "nul" },
	{ .name = "SIZE over the limit",
	  .in = "EHLO x\r\nMAIL FROM:<a@b> SIZE=999999999\r\nQUIT\r\n",
	  .codes = "220 250 552 221" },
	{ .name = "unknown MAIL parameter",
	  .in = "EHLO x\r\nMAIL FROM:<a@b> FOO=1\r\nQUIT\r\n",
	  .codes = "220 250 555 221" },
	{ .name = "unknown RCPT parameter (Postfix: 555 Unsupported option)",
	  .in = "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d> FOO=1\r\n"
	  "QUIT\r\n", .codes = "220 250 250 555 221" },
	{ .name = "STARTTLS without TLS configured",
	  .in = "EHLO x\r\nSTARTTLS\r\nQUIT\r\n", .codes = "220 250 502 221" },
};

static struct event_base *base;
static struct smtp_server *srv;
static struct queue *q;
static char spool[] = "/tmp/rt-test-session-XXXXXX";

/* run the loop until fd has data, the peer closed, or the deadline */
static void
pump(int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		event_base_loop(base, EVLOOP_NONBLOCK);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 +
	    (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

/* read everything the server says until it closes or goes quiet */
static size_t
drain(int fd, char *out, size_t outsz, size_t have, int quiet_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int	 idle = 0;
	ssize_t	 n;

	while (idle < quiet_ms) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (poll(&pfd, 1, 1) == 1) {
			n = read(fd, out + have, outsz - have - 1);
			if (n <= 0)
				break;
			have += (size_t)n;
			idle = 0;
		} else
			idle++;
	}
	out[have] = '\0';
	return have;
}

static void
codes_of(const char *out, char *codes, size_t len)
{
	const char *p = out, *nl;

	codes[0] = '\0';
	while ((nl = strstr(p, "\r\n")) != NULL) {
		if (nl - p >= 4 && p[3] == ' ') {
			size_t	 l = strlen(codes);

			if (l + 5 < len)
				snprintf(codes + l, len - l, "%s%.3s",
				    l ? " " : "", p);
		}
		p = nl + 2;
	}
}

static int
find_cb(const struct queue_entry *e, void *arg)
{
	struct queue_entry *last = arg;

	*last = *e;
	return 0;
}

static void
run_case(const struct scase *c, bool trickle)
{
	struct sockaddr_in sin;
	char	 out[16384], codes[256], prev_id[QUEUE_ID_LEN + 1] = "";
	struct queue_entry last;
	size_t	 len = c->inlen ? c->inlen : strlen(c->in), i, have = 0;
	int	 sv[2];
	json_t	*findings = NULL;

	memset(&last, 0, sizeof(last));
	queue_walk(q, QUEUE_ST_ANY, find_cb, &last);
	memcpy(prev_id, last.id, sizeof(prev_id));
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(50123);
	inet_pton(AF_INET, "203.0.113.9", &sin.sin_addr);
	(void)smtp_session_new(srv, sv[1], (struct sockaddr *)&sin,
	    sizeof(sin), 0);
	if (!trickle) {
		(void)write(sv[0], c->in, len);
	} else {
		for (i = 0; i < len; i++) {
			(void)write(sv[0], c->in + i, 1);
			event_base_loop(base, EVLOOP_NONBLOCK);
			have = drain(sv[0], out, sizeof(out), have, 0);
		}
	}
	have = drain(sv[0], out, sizeof(out), have, 300);
	close(sv[0]);
	pump(20);
	codes_of(out, codes, sizeof(codes));
	if (!ok(strcmp(codes, c->codes) == 0, "%s%s: replies", c->name,
	    trickle ? " (one byte at a time)" : ""))
		printf("#   got \"%s\", want \"%s\"\n#   %s\n", codes, c->codes,
		    out);

	memset(&last, 0, sizeof(last));
	queue_walk(q, QUEUE_ST_ANY, find_cb, &last);
	/* acknowledged from the journal: in new/ a moment later */
	for (i = 0; c->stored != NULL && strcmp(last.id, prev_id) == 0 &&
	    i < 500; i++) {
		pump(10);
		queue_walk(q, QUEUE_ST_ANY, find_cb, &last);
	}
	if (c->stored != NULL) {
		char	 buf[4096];
		ssize_t	 n = -1;
		int	 fd;
		json_t	*env;

		ok(strcmp(last.id, prev_id) != 0, "%s%s: message stored",
		    c->name, trickle ? " (trickle)" : "");
		fd = queue_open_file(q, &last, "message", O_RDONLY);
		if (fd != -1) {
			n = read(fd, buf, sizeof(buf));
			close(fd);
		}
		is_mem(buf, n < 0 ? 0 : (size_t)n, c->stored,
		    strlen(c->stored), "%s%s: stored bytes", c->name,
		    trickle ? " (trickle)" : "");
		env = queue_envelope_load(q, &last, NULL, 0);
		if (env != NULL)
			findings = json_incref(json_object_get(env, "findings"));
		if (c->transcript_first != NULL) {
			json_t	*tr = json_object_get(env, "transcript");

			is_str(json_string_value(json_array_get(tr, 0)),
			    c->transcript_first, "%s%s: envelope transcript "
			    "starts at this message", c->name,
			    trickle ? " (trickle)" : "");
			is_int(json_array_size(tr), c->transcript_lines,
			    "%s%s: envelope transcript has only its part",
			    c->name, trickle ? " (trickle)" : "");
			is_str(json_string_value(json_array_get(tr,
			    json_array_size(tr) - 1)), "C: .",
			    "%s%s: and ends at the dot", c->name,
			    trickle ? " (trickle)" : "");
		}
		json_decref(env);
	} else
		ok(strcmp(last.id, prev_id) == 0, "%s%s: nothing stored",
		    c->name, trickle ? " (trickle)" : "");
	if (c->finding != NULL && c->stored != NULL)
		ok(json_object_get(findings, c->finding) != NULL,
		    "%s: finding %s in the envelope", c->name, c->finding);
	json_decref(findings);
}

/*
 * A PROXY listener's session that gets no PROXY header closes without a
 * word; with nothing to send, closing frees the session at once, and the
 * input loop must not touch it afterwards (a use-after-free that ASan
 * caught here; fed whole and one byte at a time).
 */
static void
run_proxy_garbage(bool trickle)
{
	static const char junk[] = "GET / HTTP/1.0\r\n\r\n";
	struct sockaddr_in sin;
	char	 out[1024];
	size_t	 before = srv->nsessions, have = 0, i;
	int	 sv[2];

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(50124);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	(void)smtp_session_new(srv, sv[1], (struct sockaddr *)&sin,
	    sizeof(sin), ADDR_F_PROXY);
	if (!trickle)
		(void)write(sv[0], junk, sizeof(junk) - 1);
	else
		for (i = 0; i < sizeof(junk) - 1; i++) {
			(void)write(sv[0], junk + i, 1);
			event_base_loop(base, EVLOOP_NONBLOCK);
		}
	have = drain(sv[0], out, sizeof(out), have, 300);
	close(sv[0]);
	pump(20);
	is_int(have, 0, "PROXY listener, garbage%s: closed without a word",
	    trickle ? " (one byte at a time)" : "");
	ok(srv->nsessions == before, "PROXY listener, garbage%s: session "
	    "ended", trickle ? " (one byte at a time)" : "");
}

/* pump the loop until the session has taken n commands, or 10 s passed */
static bool
pump_until_commands(const struct smtp_session *s, unsigned long n)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (s->commands >= n)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 10);
	return false;
}

/* how many complete "250 2.0.0 Ok" replies, and nothing else, out holds */
static size_t
count_noop_replies(const char *out, size_t len, bool *other)
{
	static const char want[] = "250 2.0.0 Ok\r\n";
	size_t	 n = 0, i;

	*other = false;
	for (i = 0; i + sizeof(want) - 1 <= len; i += sizeof(want) - 1, n++)
		if (memcmp(out + i, want, sizeof(want) - 1) != 0) {
			*other = true;
			break;
		}
	if (i != len)
		*other = true;
	return n;
}

/*
 * Replies are written to the socket at once (smtp_flush); what a client
 * that does not read leaves in the server's buffer must still go out when
 * it reads, with no further command to push it (a server socket with a
 * small send buffer makes the writes partial). Then past 256 KiB of
 * waiting replies the server stops reading until the client reads.
 */
static void
run_slow_reader(void)
{
	enum { FEW = 2000, MANY = 30000 };
	struct sockaddr_in sin;
	struct smtp_session *s;
	static char out[MANY * 16];
	char	 banner[256];
	size_t	 have, n, off;
	ssize_t	 w;
	int	 sv[2], sz = 4096;
	bool	 other;
	char	*in;
	struct timespec t0, t;

	if ((in = malloc(MANY * 6)) == NULL)
		return;
	for (n = 0; n < MANY; n++)
		memcpy(in + n * 6, "NOOP\r\n", 6);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	/* as accept4(SOCK_NONBLOCK) gives the daemon its sockets */
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(50125);
	inet_pton(AF_INET, "203.0.113.10", &sin.sin_addr);
	s = smtp_session_new(srv, sv[1], (struct sockaddr *)&sin,
	    sizeof(sin), 0);
	have = drain(sv[0], banner, sizeof(banner), 0, 50);
	ok(s != NULL && have > 0 && strncmp(banner, "220 ", 4) == 0,
	    "slow reader: banner");
	if (s == NULL) {
		free(in);
		close(sv[0]);
		return;
	}

	/* FEW commands, taken while the client reads nothing */
	(void)write(sv[0], in, FEW * 6);
	ok(pump_until_commands(s, FEW), "slow reader: %d NOOPs taken unread",
	    FEW);
	have = drain(sv[0], out, sizeof(out), 0, 300);
	n = count_noop_replies(out, have, &other);
	ok(n == FEW && !other, "slow reader: all %d replies arrive once the "
	    "client reads (got %zu%s)", FEW, n, other ? ", and other bytes" :
	    "");

	/* MANY: more than 256 KiB of replies; reading pauses, then resumes */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (off = 0, have = 0; off < MANY * 6 || have < (size_t)MANY * 14; ) {
		if (off < MANY * 6 && (w = write(sv[0], in + off,
		    MANY * 6 - off)) > 0)
			off += (size_t)w;
		have = drain(sv[0], out, sizeof(out), have, 1);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 20)
			break;	/* stuck: the count below says so */
	}
	n = count_noop_replies(out, have, &other);
	ok(n == MANY && !other, "slow reader: %d pipelined NOOPs (%d KiB of "
	    "replies) all answered, in order (got %zu)", MANY, MANY * 14 / 1024,
	    n);
	(void)write(sv[0], "QUIT\r\n", 6);
	have = drain(sv[0], out, sizeof(out), 0, 300);
	ok(have >= 4 && strncmp(out, "221 ", 4) == 0,
	    "slow reader: the session goes on: QUIT gets 221");
	close(sv[0]);
	pump(20);
	free(in);
}

/*
 * A second server (an SMTP role restarted after a crash) gives its first
 * message, in the same second, another queue id than the first server
 * gave its first: both counted from 0 before.
 */
static void
run_qid_restart(struct conf *conf)
{
	struct smtp_server *s1, *s2;
	char	 a[PERSONA_QID_MAX], b[PERSONA_QID_MAX];
	time_t	 now = time(NULL);
	int	 i, same = 0;

	for (i = 0; i < 4; i++) {
		s1 = smtp_server_new(base, conf, persona_find("postfix"), q,
		    NULL, -1);
		persona_queue_id(s1->persona, now, ++s1->qid_seq, a,
		    sizeof(a));
		smtp_server_free(s1);
		s2 = smtp_server_new(base, conf, persona_find("postfix"), q,
		    NULL, -1);
		persona_queue_id(s2->persona, now, ++s2->qid_seq, b,
		    sizeof(b));
		smtp_server_free(s2);
		same += strcmp(a, b) == 0;
	}
	ok(same == 0, "a restarted SMTP role does not repeat the queue ids "
	    "of the one before it (%d of 4 the same)", same);
}

int
main(void)
{
	char	*ov[] = { "hostname = mail.example.net", "persona = postfix",
	    "max_unknown_commands = 3", "max_message_size = 100000",
	    "transcript_max = 4096", "max_commands = 100000" };
	struct conf *conf;
	char	 err[256];
	size_t	 i;

	signal(SIGPIPE, SIG_IGN);
	log_init(1, "test_smtp_session");
	evthread_use_pthreads();
	if (mkdtemp(spool) == NULL)
		return 1;
	conf = conf_load(NULL, ov, sizeof(ov) / sizeof(ov[0]));
	q = queue_open(spool, QUEUE_F_CREATE, err, sizeof(err));
	base = event_base_new();
	if (conf == NULL || q == NULL || base == NULL)
		return 1;
	srv = smtp_server_new(base, conf, persona_find("postfix"), q, NULL, -1);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_case(&cases[i], false);
		run_case(&cases[i], true);
	}
	run_proxy_garbage(false);
	run_proxy_garbage(true);
	/* NOOPs by the thousand: Postfix's junk-command limit is not tested
	   here (test_smtp_dialog.py is where) */
	conf->max_unknown_commands = 1000000;
	run_slow_reader();
	ok(srv->nsessions == 0, "every session ended (%zu left)",
	    srv->nsessions);

	run_qid_restart(conf);

	smtp_server_free(srv);
	queue_close(q);
	conf_free(conf);
	event_base_free(base);
	{
		char	 cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", spool);
		(void)system(cmd);
	}
	return tap_done();
}
