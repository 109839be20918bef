/*
 * smtp_session.c -- life cycle and input loop of one SMTP session, run in
 * the unprivileged SMTP role. Everything read from the socket is hostile:
 * lines are bounded before they are looked at (max_line_length), DATA is
 * handed to the smtp_data parser in whatever pieces arrive, and the PROXY
 * header is parsed before a banner is sent. This file never writes the
 * spool itself; smtp_tx.c does, through the queue library.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "smtp_session.h"
#include "xmalloc.h"

/* pause reading while this much output waits for a client that won't read */
#define SMTP_OUTPUT_HIGH	(256 * 1024)
#define SMTP_LEFTOVER_MAX	512	/* unterminated bytes kept at the end */

static void	 smtp_read_cb(struct bufferevent *, void *);
static void	 smtp_leftover(struct smtp_session *);
static void	 smtp_write_cb(struct bufferevent *, void *);
static void	 smtp_event_cb(struct bufferevent *, short, void *);
static void	 smtp_input(struct smtp_session *);
static bool	 smtp_input_run(struct smtp_session *);
static bool	 smtp_line_input(struct smtp_session *, struct evbuffer *);
static bool	 smtp_proxy_input(struct smtp_session *, struct evbuffer *);
static void	 smtp_greet(struct smtp_session *);
static void	 smtp_banner(struct smtp_session *);
static void	 smtp_banner_send(struct smtp_session *);
static bool	 smtp_session_expired(struct smtp_session *);

static const char *const smtp_state_names[] = {
	"PROXY", "BANNER", "GREETED", "IDLE", "MAIL", "RCPT", "DATA", "BDAT",
	"WAIT_COMMIT", "AUTH", "TLS", "CLOSING",
};

/*
 * smtp_session_new -- a session for accepted socket fd from sa on a
 * listener with flags lflags (ADDR_F_*). Sends the banner, or waits for
 * the PROXY header first. Returns the session, or NULL if the connection
 * was refused (cap reached) and already closed.
 */
struct smtp_session *
smtp_session_new(struct smtp_server *srv, int fd, const struct sockaddr *sa,
    socklen_t salen, int lflags)
{
	struct smtp_session *s;
	socklen_t len;

	s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->lflags = lflags;
	s->state = SMTP_S_BANNER;
	queue_id_new(s->id);
	clock_gettime(CLOCK_REALTIME, &s->t_start);
	memcpy(&s->peer, sa, salen < sizeof(s->peer) ? salen : sizeof(s->peer));
	len = salen;
	addr_unmap(&s->peer, &len);
	s->client = s->peer;
	addr_ntop((struct sockaddr *)&s->client, s->client_addr,
	    sizeof(s->client_addr));
	len = sizeof(s->local);
	if (getsockname(fd, (struct sockaddr *)&s->local, &len) == -1)
		memset(&s->local, 0, sizeof(s->local));
	addr_unmap(&s->local, &len);

	s->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		log_warnx("%s smtp: cannot create bufferevent", s->id);
		close(fd);
		free(s);
		return NULL;
	}
	bufferevent_setcb(s->bev, smtp_read_cb, NULL, smtp_event_cb, s);
	/* stop reading from a client that sends faster than we consume */
	bufferevent_setwatermark(s->bev, EV_READ, 0, SMTP_INPUT_HIGH);
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->nsessions++;

	log_info("%s smtp connect client=%s port=%d server_port=%d", s->id,
	    s->client_addr, addr_port((struct sockaddr *)&s->peer),
	    addr_port((struct sockaddr *)&s->local));

	if (srv->nsessions > (size_t)srv->conf->max_sessions) {
		smtp_enter_state(s, SMTP_S_GREETED);
		/* nothing in the clear on an implicit-TLS port: just close */
		if (!(lflags & ADDR_F_TLS))
			smtp_reply(s, PM_TOO_MANY_SESSIONS, NULL);
		smtp_close(s, SMTP_C_TOO_MANY_SESSIONS);
		return NULL;
	}
	/* writes arm EV_WRITE only when the socket does not take them at once */
	bufferevent_enable(s->bev, EV_READ);
	bufferevent_disable(s->bev, EV_WRITE);
	if (lflags & ADDR_F_PROXY) {
		smtp_enter_state(s, SMTP_S_PROXY);
		smtp_session_set_timeout(s);
		return s;
	}
	smtp_greet(s);
	return s;
}

/*
 * smtp_greet -- the client address is final: apply the per-address cap,
 * start implicit TLS if the listener wants it, and send the banner.
 */
static void
smtp_greet(struct smtp_session *s)
{
	char	 peek;
	int	 fd = bufferevent_getfd(s->bev);
	long	 ms = s->srv->conf->greet_pause;

	smtp_enter_state(s, SMTP_S_BANNER);
	if (!smtp_server_ip_acquire(s->srv, (struct sockaddr *)&s->client)) {
		smtp_enter_state(s, SMTP_S_GREETED);
		if (!(s->lflags & ADDR_F_TLS))	/* as above */
			smtp_reply(s, PM_TOO_MANY_FROM_IP, NULL);
		smtp_close(s, SMTP_C_TOO_MANY_FROM_IP);
		return;
	}
	s->ip_counted = true;
	if (ms > 0 && !(s->lflags & ADDR_F_TLS)) {
		/*
		 * greet_pause (Sendmail's FEATURE(greet_pause)): say nothing
		 * for ms; a client that talks meanwhile did not wait for the
		 * banner (smtp_banner() looks). Its bytes wait in the input
		 * buffer (bounded by the read watermark) and are served after
		 * the banner.
		 */
		s->greet_paused = true;
		clock_gettime(CLOCK_MONOTONIC, &s->t_greet);
		smtp_session_set_timeout(s);
		return;
	}
	/*
	 * Bytes already waiting before we said a word: postscreen's pregreet.
	 * On an implicit-TLS listener the client legitimately speaks first.
	 */
	if (!(s->lflags & ADDR_F_TLS) &&
	    (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0 ||
	    recv(fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 1))
		smtp_finding(s, SMTP_F_PREGREET);
	smtp_banner(s);
}

/*
 * smtp_banner -- the end of a greet_pause (did the client talk?), then
 * the banner; on an implicit-TLS listener the handshake first.
 */
static void
smtp_banner(struct smtp_session *s)
{
	char	 peek;

	if (s->greet_paused) {
		s->greet_paused = false;
		if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0 ||
		    recv(bufferevent_getfd(s->bev), &peek, 1,
		    MSG_PEEK | MSG_DONTWAIT) == 1)
			smtp_finding(s, SMTP_F_PREGREET);
		bufferevent_enable(s->bev, EV_READ);
	}
	if (s->lflags & ADDR_F_TLS) {
		/*
		 * The banner is the first thing said inside TLS: it is written
		 * (and recorded) when the handshake completes, resuming in
		 * BANNER (smtp_event_cb). A client that never completes it
		 * was never greeted, and the transcript must not say it was.
		 */
		if (smtp_tls_start(s) == -1)
			smtp_close(s, SMTP_C_TLS_ERROR);
		return;
	}
	smtp_banner_send(s);
}

/* smtp_banner_send -- write the banner: the session is GREETED */
static void
smtp_banner_send(struct smtp_session *s)
{
	smtp_reply(s, PM_BANNER, NULL);
	smtp_enter_state(s, SMTP_S_GREETED);
	smtp_session_set_timeout(s);
}

/*
 * smtp_session_setcb -- (re)attach the session's callbacks to s->bev,
 * e.g. after a TLS filter was stacked on it.
 */
void
smtp_session_setcb(struct smtp_session *s)
{
	bufferevent_setcb(s->bev, smtp_read_cb, NULL, smtp_event_cb, s);
}

/*
 * smtp_enter_state -- the one place the session state changes.
 */
void
smtp_enter_state(struct smtp_session *s, enum smtp_state st)
{
	if (s->state != st)
		log_debug("%s smtp state %s -> %s", s->id,
		    smtp_state_names[s->state], smtp_state_names[st]);
	s->state = st;
}

/*
 * smtp_vars -- persona variables of this session; arg is the %a text,
 * already made printable by the caller (or NULL).
 */
void
smtp_vars(struct smtp_session *s, struct persona_vars *v, const char *arg)
{
	memset(v, 0, sizeof(*v));
	v->hostname = s->srv->conf->hostname;
	v->client_addr = s->client_addr;
	v->client_name = NULL;		/* the SMTP role does no DNS */
	v->helo = s->helo;
	v->arg = arg;
	v->size_limit = s->srv->size_limit;
	v->size_shown = s->srv->size_shown;
	v->now = time(NULL);
}

static void
smtp_reply_vars(struct smtp_session *s, enum persona_msg m,
    const struct persona_vars *v);

/*
 * smtp_reply -- render persona message m (%a = arg) and queue it as one
 * write.
 */
void
smtp_reply(struct smtp_session *s, enum persona_msg m, const char *arg)
{
	struct persona_vars v;

	smtp_vars(s, &v, arg);
	smtp_reply_vars(s, m, &v);
}

/*
 * smtp_synprot -- with a persona that limits syntax and protocol errors
 * (PERSONA_Q_SYNPROT, Exim): send reply m (%a = arg) when it is a 500 to
 * 503 and count it; the one past PERSONA_SYNPROT_MAX becomes "CODE-text"
 * and "CODE Too many syntax or protocol errors", and the session closes.
 * Returns false, having sent nothing, for other personas and replies.
 */
bool
smtp_synprot(struct smtp_session *s, enum persona_msg m, const char *arg)
{
	return smtp_synprot_close(s, m, arg, true);
}

/*
 * smtp_synprot_close -- smtp_synprot(), where the error past the limit
 * closes the session only if hangup (Exim ignores it after a chunk).
 */
bool
smtp_synprot_close(struct smtp_session *s, enum persona_msg m,
    const char *arg, bool hangup)
{
	static const char too[] = " Too many syntax or protocol errors\r\n";
	struct persona_vars v;
	char	 out[PERSONA_REPLY_MAX];
	size_t	 n;

	/* Exim answers these itself, without synprot_error() */
	if (!persona_quirk(s->srv->persona, PERSONA_Q_SYNPROT) ||
	    m == PM_MAIL_NEED_HELO || m == PM_VRFY_NOARG ||
	    m == PM_VRFY_NODOMAIN)
		return false;
	smtp_vars(s, &v, arg);
	n = persona_reply(s->srv->persona, m, &v, out, sizeof(out));
	if (n < 5 || strncmp(out, "50", 2) != 0 || out[2] < '0' ||
	    out[2] > '3' || out[3] != ' ')
		return false;
	if (++s->synprot <= PERSONA_SYNPROT_MAX) {
		smtp_reply_raw(s, out, n);
		return true;
	}
	if (n + 3 + sizeof(too) > sizeof(out)) {
		smtp_reply_raw(s, out, n);
		return true;
	}
	out[3] = '-';
	memcpy(out + n, out, 3);
	memcpy(out + n + 3, too, sizeof(too));
	smtp_reply_raw(s, out, n + 3 + sizeof(too) - 1);
	if (hangup)
		smtp_close(s, SMTP_C_TOO_MANY_ERRORS);
	return true;
}

/*
 * smtp_error -- reply m to an erroneous command and count it; the error
 * that reaches max_unknown_commands is followed by 421 and the close.
 */
void
smtp_error(struct smtp_session *s, enum persona_msg m, const char *arg)
{
	s->errors++;
	if (!smtp_synprot(s, m, arg))
		smtp_reply(s, m, arg);
	if (s->state == SMTP_S_CLOSING)
		return;
	if (s->errors >= (unsigned long)s->srv->conf->max_unknown_commands) {
		smtp_reply(s, PM_TOO_MANY_ERRORS, NULL);
		smtp_close(s, SMTP_C_TOO_MANY_ERRORS);
	}
}

/*
 * smtp_reply_qid -- smtp_reply() for messages that show a queue id (%q).
 */
void
smtp_reply_qid(struct smtp_session *s, enum persona_msg m, const char *qid)
{
	smtp_reply_qid_args(s, m, qid, NULL, NULL);
}

/*
 * smtp_reply_qid_args -- smtp_reply_qid() with %a = arg and %b = arg2 as
 * well.
 */
void
smtp_reply_qid_args(struct smtp_session *s, enum persona_msg m,
    const char *qid, const char *arg, const char *arg2)
{
	struct persona_vars v;

	smtp_vars(s, &v, arg);
	v.queue_id = qid;
	v.arg2 = arg2;
	smtp_reply_vars(s, m, &v);
}

static void
smtp_reply_vars(struct smtp_session *s, enum persona_msg m,
    const struct persona_vars *v)
{
	char	 out[PERSONA_REPLY_MAX];
	size_t	 n;

	n = persona_reply(s->srv->persona, m, v, out, sizeof(out));
	if (n == 0) {
		log_warnx("%s smtp: persona %s cannot render reply %d", s->id,
		    persona_name(s->srv->persona), (int)m);
		n = strlcpy(out, "451 4.3.0 Error: internal error\r\n",
		    sizeof(out));
	}
	smtp_reply_raw(s, out, n);
}

/*
 * smtp_flush -- on a plain socket, write the queued replies now, unless more
 * pipelined input is waiting (its replies will join them). Writing here
 * instead of from a write event saves the event loop three system calls per
 * reply (arm EPOLLOUT, wait, disarm). Whatever the socket does not take at
 * once, and every reply of a TLS session, is left to the bufferevent's own
 * write event, which also reports a failed write. Never frees s.
 */
static void
smtp_flush(struct smtp_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	if (bufferevent_get_underlying(s->bev) != NULL ||
	    evbuffer_get_length(bufferevent_get_input(s->bev)) > 0) {
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	/* a socket bufferevent keeps its output's start frozen between writes */
	evbuffer_unfreeze(out, 1);
	(void)evbuffer_write(out, bufferevent_getfd(s->bev));
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) == 0)
		bufferevent_disable(s->bev, EV_WRITE);
	else
		bufferevent_enable(s->bev, EV_WRITE);
}

/*
 * smtp_reply_raw -- queue len bytes of a complete reply (CRLF-terminated
 * lines) and record each line in the transcript. During a TLS handshake
 * nothing can be said (a reply queued then would go out only after it,
 * if ever): the reply is dropped, and so neither counted nor recorded,
 * since the transcript is evidence of what was sent.
 */
void
smtp_reply_raw(struct smtp_session *s, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;

	if (s->bev == NULL)
		return;
	if (s->state == SMTP_S_TLS) {
		log_debug("%s smtp reply dropped: TLS handshake in progress",
		    s->id);
		return;
	}
	if (text[0] >= '4' && text[0] <= '5')
		s->rejected++;
	if (s->rcpt_busy) {
		/* the first reply to a RCPT (PERSONA_Q_RCPT_SAME) */
		size_t	 n = 0;

		while (n < len && text[n] != '\r' && text[n] != '\n')
			n++;
		s->rcpt_busy = false;
		if (s->rcpt_reply == NULL)
			s->rcpt_reply = xstrndup(text, n);
		else if (s->rcpt_cut || strlen(s->rcpt_reply) != n ||
		    memcmp(s->rcpt_reply, text, n) != 0)
			s->rcpt_differ = true;
	}
	bufferevent_write(s->bev, text, len);
	s->bytes_out += len;
	smtp_flush(s);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		smtp_transcript(s, 'S', p,
		    (size_t)(nl - p) - (nl > p && nl[-1] == '\r'));
		p = nl + 1;
	}
}

/*
 * smtp_session_set_timeout -- read timeout for the current state (idle,
 * DATA or PROXY), never beyond the total session time.
 */
void
smtp_session_set_timeout(struct smtp_session *s)
{
	const struct conf *c = s->srv->conf;
	struct timespec now;
	struct timeval rt, wt;
	long	 base, left;

	if (s->bev == NULL)
		return;
	if (s->greet_paused) {
		/* what is left of greet_pause (reading data restarts it) */
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = c->greet_pause - ((now.tv_sec - s->t_greet.tv_sec) *
		    1000 + (now.tv_nsec - s->t_greet.tv_nsec) / 1000000);
		if (left < 1)
			left = 1;
		rt.tv_sec = left / 1000;
		rt.tv_usec = (left % 1000) * 1000;
		bufferevent_set_timeouts(s->bev, &rt, NULL);
		return;
	}
	if (s->state == SMTP_S_DATA || s->state == SMTP_S_BDAT)
		base = c->timeout_data;
	else if (s->state == SMTP_S_PROXY)
		base = c->timeout_proxy;
	else
		base = c->timeout_idle;
	clock_gettime(CLOCK_REALTIME, &now);
	/* milliseconds left of the whole session, at least a few */
	left = c->timeout_session * 1000 - ((now.tv_sec - s->t_start.tv_sec) *
	    1000 + (now.tv_nsec - s->t_start.tv_nsec) / 1000000);
	if (left < 10)
		left = 10;
	/* remember which limit this timer is: the session's or the state's */
	s->timer_is_session = left <= base * 1000;
	if (base * 1000 < left)
		left = base * 1000;
	rt.tv_sec = left / 1000;
	rt.tv_usec = (left % 1000) * 1000;
	wt.tv_sec = c->timeout_idle;
	wt.tv_usec = 0;
	bufferevent_set_timeouts(s->bev, &rt, &wt);
}

static bool
smtp_session_expired(struct smtp_session *s)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (now.tv_sec - s->t_start.tv_sec) * 1000 +
	    (now.tv_nsec - s->t_start.tv_nsec) / 1000000 >=
	    s->srv->conf->timeout_session * 1000;
}

static void
smtp_read_cb(struct bufferevent *bev, void *arg)
{
	/*
	 * libevent re-arms the read timer with its last value at every
	 * read: recompute it, or a client trickling DATA or a line that
	 * never ends would never meet timeout_session.
	 */
	smtp_session_set_timeout(arg);
	smtp_input(arg);
}

/*
 * smtp_session_resume -- continue with input that waited (after a commit,
 * a TLS handshake or drained output).
 */
void
smtp_session_resume(struct smtp_session *s)
{
	if (s->bev == NULL || s->state == SMTP_S_CLOSING)
		return;
	if (!s->eof)
		bufferevent_enable(s->bev, EV_READ);
	smtp_session_set_timeout(s);
	smtp_input(s);
}

/*
 * smtp_input -- serve what the client sent, as far as the state allows;
 * after its EOF (s->eof: it may have half-closed right after pipelining
 * a whole dialogue, as `printf ... | nc -N` does), end the session once
 * everything it sent has been served and answered.
 */
static void
smtp_input(struct smtp_session *s)
{
	struct evbuffer *in;

	if (!smtp_input_run(s))
		return;		/* s is gone */
	if (!s->eof || s->bev == NULL)
		return;
	in = bufferevent_get_input(s->bev);
	switch (s->state) {
	case SMTP_S_BANNER:
	case SMTP_S_CLOSING:
	case SMTP_S_WAIT_COMMIT:	/* its callback comes back here */
	case SMTP_S_TLS:
		return;
	default:
		break;
	}
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) >
	    SMTP_OUTPUT_HIGH && evbuffer_get_length(in) > 0)
		return;		/* the write callback comes back here */
	/* no complete line left: a message cut off, an unended line */
	if (s->state == SMTP_S_DATA || s->state == SMTP_S_BDAT)
		smtp_tx_free(s);
	smtp_leftover(s);
	smtp_close(s, SMTP_C_EOF);
}

/* smtp_input()'s loop; false when the session was freed */
static bool
smtp_input_run(struct smtp_session *s)
{
	struct evbuffer *in, *out;

	while (s->bev != NULL) {
		in = bufferevent_get_input(s->bev);
		out = bufferevent_get_output(s->bev);
		if (evbuffer_get_length(in) == 0)
			return true;
		switch (s->state) {
		case SMTP_S_BANNER:
			if (s->greet_paused)
				smtp_session_set_timeout(s);
			return true;
		case SMTP_S_CLOSING:
		case SMTP_S_WAIT_COMMIT:
		case SMTP_S_TLS:
			return true;
		default:
			break;
		}
		if (evbuffer_get_length(out) > SMTP_OUTPUT_HIGH) {
			/* the client pipelines but does not read: wait */
			bufferevent_disable(s->bev, EV_READ);
			bufferevent_setcb(s->bev, smtp_read_cb, smtp_write_cb,
			    smtp_event_cb, s);
			return true;
		}
		if (s->state == SMTP_S_PROXY) {
			size_t	 before = evbuffer_get_length(in);

			if (!smtp_proxy_input(s, in))
				return false;	/* closed: s is gone */
			if (s->state == SMTP_S_PROXY &&
			    evbuffer_get_length(in) == before)
				return true;	/* need more bytes */
			continue;
		}
		if (s->state == SMTP_S_DATA || s->state == SMTP_S_BDAT) {
			struct evbuffer_iovec v;
			size_t	 n;

			if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
				return true;
			/* message content: the DATA stream or a chunk */
			n = s->state == SMTP_S_DATA ?
			    smtp_tx_feed(s, v.iov_base, v.iov_len) :
			    smtp_bdat_feed(s, v.iov_base, v.iov_len);
			evbuffer_drain(in, n);
			s->bytes_in += n;
			continue;
		}
		if (!smtp_line_input(s, in))
			return true;
	}
	return true;
}

/*
 * smtp_line_input -- take one complete command line out of in, bounded by
 * max_line_length before it is looked at, and dispatch it. Returns false
 * when no complete line is there yet.
 */
static bool
smtp_line_input(struct smtp_session *s, struct evbuffer *in)
{
	const struct conf *c = s->srv->conf;
	struct evbuffer_ptr p;
	size_t	 avail = evbuffer_get_length(in), linelen, len;
	static char *line;
	static size_t linesz;
	unsigned char *raw;

	p = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	/* max_line_length counts the CRLF, as RFC 5321 4.5.3.1.4 does */
	if (p.pos == -1) {
		if (avail >= (size_t)c->max_line_length) {
			/* over-long line: keep nothing, skip to its end */
			if (!s->skipping)
				smtp_finding(s, SMTP_F_LONG_LINE);
			s->skipping = true;
			evbuffer_drain(in, avail);
			s->bytes_in += avail;
		}
		return false;	/* wait for the rest of the line */
	}
	linelen = (size_t)p.pos;
	if (s->skipping || linelen + 1 > (size_t)c->max_line_length) {
		if (!s->skipping)
			smtp_finding(s, SMTP_F_LONG_LINE);
		s->skipping = false;
		evbuffer_drain(in, linelen + 1);
		s->bytes_in += linelen + 1;
		smtp_transcript(s, 'C', "<line too long>", 15);
		if (s->state == SMTP_S_AUTH)
			smtp_auth_overlong(s);	/* ends the exchange */
		else if (persona_closes(s->srv->persona, PM_LINE_TOO_LONG)) {
			/* sendmail: "possible attack", and it hangs up */
			smtp_reply(s, PM_LINE_TOO_LONG, NULL);
			smtp_close(s, SMTP_C_NONSMTP);
		} else
			smtp_error(s, PM_LINE_TOO_LONG, NULL);
		return true;
	}
	if (linesz < (size_t)c->max_line_length + 2) {
		linesz = (size_t)c->max_line_length + 2;
		line = xreallocarray(line, 1, linesz);
	}
	raw = evbuffer_pullup(in, (ssize_t)linelen + 1);
	len = linelen;
	if (len > 0 && raw[len - 1] == '\r')
		len--;
	else
		smtp_finding(s, SMTP_F_BARE_LF);
	memcpy(line, raw, len);
	line[len] = '\0';
	evbuffer_drain(in, linelen + 1);
	s->bytes_in += linelen + 1;
	if (evbuffer_get_length(in) > 0 && !s->esmtp &&
	    s->state != SMTP_S_AUTH)
		smtp_finding(s, SMTP_F_PIPELINING_NOEXT);
	if (smtp_session_expired(s)) {
		/* a client that keeps talking still gets no more than this */
		smtp_transcript(s, 'C', line, len);
		smtp_tx_free(s);
		smtp_reply(s, PM_SESSION_TIME, NULL);
		smtp_close(s, SMTP_C_SESSION_TIME);
		return true;
	}
	if (s->state == SMTP_S_AUTH)
		smtp_auth_line(s, line, len);
	else
		smtp_command(s, line, len);
	if (s->state != SMTP_S_CLOSING)
		smtp_session_set_timeout(s);
	return true;
}

/*
 * smtp_proxy_input -- parse the PROXY header; no banner before a valid
 * one (REFERENCE.md 5.1). Invalid: close without a word. Returns false
 * when the session was closed and freed (the caller must not touch s).
 */
static bool
smtp_proxy_input(struct smtp_session *s, struct evbuffer *in)
{
	struct proxy_info pi;
	size_t	 avail = evbuffer_get_length(in);
	size_t	 want = avail < PROXY_HDR_MAX ? avail : PROXY_HDR_MAX;
	unsigned char *p = evbuffer_pullup(in, (ssize_t)want);
	ssize_t	 n;
	socklen_t len;

	memset(&pi, 0, sizeof(pi));
	n = proxy_parse(p, want, &pi);
	if (n == 0 && want < PROXY_HDR_MAX)
		return true;
	if (n <= 0) {
		char	 esc[LOG_ESC_MAX];

		log_info("%s smtp proxy invalid peer=%s error=%s", s->id,
		    s->client_addr, log_esc(pi.error ? pi.error : "too long",
		    strlen(pi.error ? pi.error : "too long"), esc, sizeof(esc)));
		smtp_transcript(s, 'C', (const char *)p, want > 200 ? 200 : want);
		evbuffer_drain(in, avail);
		/* nothing to send: this frees s at once (smtp_finish) */
		smtp_close(s, SMTP_C_PROXY_INVALID);
		return false;
	}
	evbuffer_drain(in, (size_t)n);
	s->bytes_in += (size_t)n;
	s->proxy = xcalloc(1, sizeof(*s->proxy));
	*s->proxy = pi;
	s->proxy->error = NULL;
	if (pi.command == PROXY_CMD_PROXY &&
	    (pi.src.ss_family == AF_INET || pi.src.ss_family == AF_INET6)) {
		s->client = pi.src;
		len = pi.srclen;
		addr_unmap(&s->client, &len);
		addr_ntop((struct sockaddr *)&s->client, s->client_addr,
		    sizeof(s->client_addr));
	}
	log_info("%s smtp proxy v%d client=%s", s->id, pi.version,
	    s->client_addr);
	smtp_greet(s);
	return true;
}

static void
smtp_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	if (s->state == SMTP_S_CLOSING) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			smtp_finish(s);
		return;
	}
	/* output drained after back-pressure: read again */
	bufferevent_setcb(bev, smtp_read_cb, NULL, smtp_event_cb, s);
	smtp_session_resume(s);
}

static void
smtp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		SSL	*ssl = bufferevent_openssl_get_ssl(bev);

		if (ssl != NULL) {
			const char *sni;

			s->tls = true;
			s->tls_version = xstrdup(SSL_get_version(ssl));
			s->tls_cipher = xstrdup(SSL_get_cipher_name(ssl));
			sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
			if (sni != NULL)
				s->tls_sni = xstrdup(sni);
			log_info("%s smtp tls version=%s cipher=%s", s->id,
			    s->tls_version, s->tls_cipher);
			smtp_tls_raw_done(s);
			smtp_enter_state(s, s->resume);
			if (s->state == SMTP_S_BANNER)
				smtp_banner_send(s);	/* implicit TLS */
			smtp_session_resume(s);
		}
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    s->greet_paused) {
		/* greet_pause is over: the banner, then what waited */
		smtp_banner(s);
		smtp_input(s);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    s->state != SMTP_S_PROXY && s->state != SMTP_S_TLS &&
	    s->state != SMTP_S_CLOSING && (s->state == SMTP_S_WAIT_COMMIT ||
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0)) {
		/* serve and answer what it sent before it hung up */
		s->eof = true;
		bufferevent_disable(s->bev, EV_READ);
		if (s->greet_paused)
			smtp_banner(s);
		smtp_input(s);
		return;
	}
	if (!(what & BEV_EVENT_WRITING))
		smtp_leftover(s);
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->state == SMTP_S_TLS) {
			/*
			 * The client did not complete the handshake in time
			 * (libevent 2.1's TLS filter may report it as a write
			 * timeout: its write timer runs with nothing queued).
			 * Nothing can be said before the handshake is done.
			 */
			smtp_close(s, s->timer_is_session ||
			    smtp_session_expired(s) ? SMTP_C_SESSION_TIME :
			    SMTP_C_TIMEOUT);
			return;
		}
		if (what & BEV_EVENT_WRITING) {
			smtp_close(s, SMTP_C_IO_ERROR);
			smtp_finish(s);
			return;
		}
		if (s->state == SMTP_S_PROXY) {
			s->close = SMTP_C_PROXY_TIMEOUT;
			smtp_finish(s);
			return;
		}
		if (s->timer_is_session || smtp_session_expired(s)) {
			smtp_tx_free(s);
			smtp_reply(s, PM_SESSION_TIME, NULL);
			smtp_close(s, SMTP_C_SESSION_TIME);
		} else if (s->state == SMTP_S_DATA ||
		    s->state == SMTP_S_BDAT) {
			smtp_tx_free(s);
			smtp_reply(s, PM_DATA_TIMEOUT, NULL);
			smtp_close(s, SMTP_C_DATA_TIMEOUT);
		} else {
			smtp_reply(s, PM_TIMEOUT, NULL);
			smtp_close(s, SMTP_C_TIMEOUT);
		}
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(bev);

		if (e != 0 || s->state == SMTP_S_TLS) {
			smtp_finding(s, SMTP_F_TLS_ERROR);
			if (s->close == SMTP_C_NONE)
				s->close = SMTP_C_TLS_ERROR;
		} else if (s->close == SMTP_C_NONE)
			s->close = SMTP_C_IO_ERROR;
	} else if ((what & BEV_EVENT_EOF) && s->close == SMTP_C_NONE)
		s->close = SMTP_C_EOF;
	smtp_tx_free(s);
	smtp_finish(s);
}

/*
 * smtp_leftover -- what the client sent without ending its line when the
 * session ends (EOF, timeout, error): a probe's bytes, a TLS ClientHello
 * on the plain port. Recorded (the first SMTP_LEFTOVER_MAX bytes, escaped
 * by the transcript) and counted, not dropped with the buffer.
 */
static void
smtp_leftover(struct smtp_session *s)
{
	struct evbuffer *in;
	size_t	 n, keep;

	if (s->bev == NULL || s->state == SMTP_S_DATA ||
	    s->state == SMTP_S_BDAT || s->state == SMTP_S_PROXY ||
	    s->state == SMTP_S_TLS)
		return;
	in = bufferevent_get_input(s->bev);
	if ((n = evbuffer_get_length(in)) == 0)
		return;
	keep = n < SMTP_LEFTOVER_MAX ? n : SMTP_LEFTOVER_MAX;
	smtp_finding(s, SMTP_F_UNTERMINATED);
	smtp_transcript(s, 'C', (const char *)evbuffer_pullup(in,
	    (ssize_t)keep), keep);
	s->bytes_in += n;
	evbuffer_drain(in, n);
}

/*
 * smtp_close -- the final reply is queued: stop reading, and end the
 * session once the output is flushed. s stays valid until the caller
 * returns to the event loop (unless it had no socket left).
 */
void
smtp_close(struct smtp_session *s, enum smtp_close why)
{
	if (s->close == SMTP_C_NONE)
		s->close = why;
	if (s->state == SMTP_S_CLOSING)
		return;
	smtp_enter_state(s, SMTP_S_CLOSING);
	if (s->bev == NULL) {
		smtp_finish(s);
		return;
	}
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setcb(s->bev, NULL, smtp_write_cb, smtp_event_cb, s);
	/*
	 * Everything is written already (smtp_flush): end the session from
	 * the loop, not here, since the caller still holds s. The deferred
	 * callback dies with the bufferevent should the session end first.
	 */
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		bufferevent_trigger(s->bev, EV_WRITE,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/*
 * smtp_session_shutdown -- the daemon is stopping: say so and close.
 * A session waiting for its commit gets its 250 first (smtp_tx.c).
 */
void
smtp_session_shutdown(struct smtp_session *s)
{
	switch (s->state) {
	case SMTP_S_WAIT_COMMIT:
	case SMTP_S_CLOSING:
		return;
	case SMTP_S_PROXY:
	case SMTP_S_TLS:	/* nothing can be said mid-handshake */
		smtp_close(s, SMTP_C_SHUTDOWN);
		return;
	default:
		smtp_tx_free(s);
		smtp_reply(s, PM_SHUTDOWN, NULL);
		smtp_close(s, SMTP_C_SHUTDOWN);
	}
}

/*
 * smtp_finish -- the connection is over: record the session and free it,
 * unless a commit callback is still due (then only drop the socket; the
 * callback calls this again).
 */
void
smtp_finish(struct smtp_session *s)
{
	struct smtp_server *srv = s->srv;

	if (s->bev != NULL) {
		struct bufferevent *under = bufferevent_get_underlying(s->bev);

		/*
		 * A TLS filter has handed its last records (the final reply)
		 * to the socket's buffer; push them out before closing.
		 */
		if (under != NULL && s->close != SMTP_C_IO_ERROR) {
			struct evbuffer *o = bufferevent_get_output(under);
			SSL	*ssl = bufferevent_openssl_get_ssl(s->bev);

			if (ssl != NULL && s->tls)
				(void)SSL_shutdown(ssl);	/* close_notify */

			/* the socket bufferevent freezes its output's start */
			evbuffer_unfreeze(o, 1);
			(void)evbuffer_write(o, bufferevent_getfd(under));
		}
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	if (s->commit_pending) {
		s->dead = true;
		return;
	}
	if (s->close == SMTP_C_NONE)
		s->close = SMTP_C_EOF;
	smtp_tx_free(s);
	smtp_tls_raw_record(s);
	smtp_record_session(s);
	if (s->ip_counted)
		smtp_server_ip_release(srv, (struct sockaddr *)&s->client);
	TAILQ_REMOVE(&srv->sessions, s, entry);
	srv->nsessions--;
	free(s->helo);
	free(s->helo_raw);
	free(s->rcpt_reply);
	free(s->tls_version);
	free(s->tls_cipher);
	free(s->tls_raw);
	free(s->tls_sni);
	free(s->proxy);
	free(s->authx);
	json_decref(s->auth);
	json_decref(s->messages);
	buf_free(s->transcript);
	free(s);
}
