/*
 * smtp_auth_session.c -- the SASL dialogue of AUTH (RFC 4954) in the SMTP
 * role: PLAIN, LOGIN and CRAM-MD5 with or without initial response. The
 * trap's purpose is to record every attempt with decoded credentials; by
 * default all fail with the persona's 535 (accepting any password is a
 * known honeypot tell), and only auth_accept pairs (honeytokens) succeed.
 * Credentials over SMTP_AUTH_FIELD_MAX bytes are recorded cut and marked
 * "truncated", and fail like any other wrong password.
 * Decoding is smtp_auth.c's; this file keeps the exchange's state.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "compat.h"
#include "evlog.h"
#include "jsonutil.h"
#include "log.h"
#include "smtp_session.h"
#include "xmalloc.h"

/*
 * Attempts kept in full per session (envelope, session record, events):
 * up to 1.5 KB of decoded credentials each, so a client looping on AUTH
 * must not grow the session without bound. Past it they are counted.
 */
#define SMTP_AUTH_KEEP	100

static void	 auth_finish(struct smtp_session *, const char *result);
static char	 auth_last[SMTP_ARG_TEXT_MAX];	/* %a for PM_AUTH_BADB64 */
static size_t	 auth_last_len;		/* its length before the cut */

static bool
mech_offered(const struct smtp_session *s, enum smtp_auth_mech m)
{
	const char *offered = persona_auth_mechs(s->srv->persona);
	const char *name = smtp_auth_mech_name(m);
	size_t	 n = strlen(name);
	const char *p;

	if (offered == NULL || m == SMTP_AUTH_NONE || m == SMTP_AUTH_OTHER)
		return false;
	for (p = offered; (p = strstr(p, name)) != NULL; p += n)
		if ((p == offered || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return true;
	return false;
}

static void
auth_enter(struct smtp_session *s)
{
	if (s->state != SMTP_S_AUTH) {
		s->resume = s->state;
		smtp_enter_state(s, SMTP_S_AUTH);
	}
}

static void
auth_leave(struct smtp_session *s)
{
	if (s->state == SMTP_S_AUTH)
		smtp_enter_state(s, s->resume);
	free(s->authx);
	s->authx = NULL;
}

/* record an attempt: envelope/session "auth" array, event, log line */
static void
auth_record(struct smtp_session *s, const char *mech, const char *result)
{
	const struct smtp_auth_cred *c = s->authx ? &s->authx->cred : NULL;
	struct timespec now;
	json_t	*a, *ev;
	char	 esc[LOG_ESC_MAX];

	smtp_finding(s, SMTP_F_AUTH_ATTEMPT);
	if (s->auth != NULL && json_array_size(s->auth) >= SMTP_AUTH_KEEP) {
		s->auth_unrecorded++;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	a = json_object();
	json_object_set_new(a, "mechanism", json_string(mech));
	if (c != NULL) {
		if (c->authzid_len > 0)
			json_object_set_new(a, "authzid",
			    jsu_bytes(c->authzid, c->authzid_len));
		json_object_set_new(a, "user", jsu_bytes(c->user, c->user_len));
		if (c->mech == SMTP_AUTH_CRAM_MD5) {
			json_object_set_new(a, "digest",
			    jsu_bytes(c->digest, c->digest_len));
			json_object_set_new(a, "challenge",
			    jsu_str(s->authx->challenge));
		} else
			json_object_set_new(a, "password",
			    jsu_bytes(c->password, c->password_len));
	}
	if (c != NULL && c->truncated)
		json_object_set_new(a, "truncated", json_true());
	json_object_set_new(a, "result", json_string(result));
	json_object_set_new(a, "ts", smtp_time_json(&now));
	if (s->auth == NULL)
		s->auth = json_array();
	json_array_append(s->auth, a);

	ev = json_deep_copy(a);
	json_decref(a);
	json_object_set_new(ev, "session", json_string(s->id));
	json_object_set_new(ev, "client", smtp_sockaddr_json(&s->client));
	evlog_emit("auth", ev);
	log_info("%s smtp auth mechanism=%s user=%s result=%s%s", s->id, mech,
	    c ? log_esc(c->user, c->user_len, esc, sizeof(esc)) : "",
	    result, c != NULL && c->truncated ? " truncated=yes" : "");
}

static bool
auth_accepted(struct smtp_session *s)
{
	const struct smtp_auth_cred *c = &s->authx->cred;
	const struct conf_list *l = &s->srv->conf->auth_accept;
	size_t	 i;

	if (c->truncated)
		return false;	/* what was sent is not what we compare */
	for (i = 0; i < l->n; i++) {
		const char *u = l->v[i], *pw = strchr(u, ':');
		size_t	 ulen;

		if (pw == NULL)
			continue;
		ulen = (size_t)(pw - u);
		pw++;
		if (ulen != c->user_len || memcmp(u, c->user, ulen) != 0)
			continue;
		if (c->mech == SMTP_AUTH_CRAM_MD5) {
			if (smtp_auth_cram_check(s->authx->challenge, c, pw))
				return true;
		} else if (strlen(pw) == c->password_len &&
		    memcmp(pw, c->password, c->password_len) == 0)
			return true;
	}
	return false;
}

static void
auth_finish(struct smtp_session *s, const char *result)
{
	const char *mech = smtp_auth_mech_name(s->authx->cred.mech);

	if (strcmp(result, "checked") == 0) {
		if (auth_accepted(s)) {
			auth_record(s, mech, "ok");
			s->authenticated = true;
			smtp_reply(s, PM_AUTH_OK, NULL);
		} else {
			/* a failed AUTH is an error, as in Postfix */
			auth_record(s, mech, "fail");
			smtp_error(s, PM_AUTH_FAILED, NULL);
		}
	} else if (strcmp(result, "aborted") == 0) {
		auth_record(s, mech, "aborted");
		smtp_reply(s, PM_AUTH_ABORTED, NULL);
	} else {
		auth_record(s, mech, "invalid");
		/* Cyrus: base64 not in whole quads is "another step" */
		if (auth_last_len % 4 != 0 &&
		    persona_has(s->srv->persona, PM_AUTH_B64_PARTIAL))
			smtp_error(s, PM_AUTH_B64_PARTIAL, NULL);
		else
			smtp_error(s, PM_AUTH_BADB64, auth_last);
	}
	auth_leave(s);
}

static void
auth_challenge(struct smtp_session *s)
{
	unsigned char rnd[4];
	char	 b64[256];
	unsigned long r = 0;
	size_t	 i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0x5a, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++)
		r = (r << 8) | rnd[i];
	/*
	 * RFC 2195 <random.timestamp@hostname>, as Cyrus SASL's cram.c
	 * writes it: a 32-bit "%u" and the time modulo 0xFFFFFF [verified
	 * against Postfix 3.7 with Cyrus 2.1.28].
	 */
	(void)snprintf(s->authx->challenge, sizeof(s->authx->challenge),
	    "<%lu.%lu@%s>", r, (unsigned long)(time(NULL) % 0xFFFFFF),
	    s->srv->conf->hostname);
	if (smtp_auth_b64_encode(s->authx->challenge,
	    strlen(s->authx->challenge), b64, sizeof(b64)) == 0)
		b64[0] = '\0';
	smtp_reply(s, PM_AUTH_CHALLENGE, b64);
}

/* one client response (initial or continuation) for the mechanism */
static void
auth_response(struct smtp_session *s, const char *p, size_t len)
{
	struct smtp_authx *ax = s->authx;
	struct smtp_auth_cred *c = &ax->cred;
	bool	 cut, partial;
	int	 rc;

	smtp_arg_text(p, len, auth_last, sizeof(auth_last));
	auth_last_len = len;
	/*
	 * Cyrus SASL takes base64 in whole quads only; what it refuses is
	 * still decoded here as far as it goes, for the record.
	 */
	partial = len % 4 != 0 &&
	    persona_has(s->srv->persona, PM_AUTH_B64_PARTIAL);

	switch (c->mech) {
	case SMTP_AUTH_PLAIN:
		rc = smtp_auth_plain(p, len, c);
		auth_finish(s, rc == 0 && !partial ? "checked" : "invalid");
		return;
	case SMTP_AUTH_LOGIN:
		if (ax->step == 0) {
			rc = smtp_auth_login_field(p, len, c->user,
			    sizeof(c->user), &c->user_len, &cut);
			c->truncated = c->truncated || cut;
			if (rc != 0 || partial) {
				auth_finish(s, "invalid");
				return;
			}
			ax->step = 1;
			auth_enter(s);
			smtp_reply(s, PM_AUTH_PASSWORD, NULL);
			return;
		}
		rc = smtp_auth_login_field(p, len, c->password,
		    sizeof(c->password), &c->password_len, &cut);
		c->truncated = c->truncated || cut;
		auth_finish(s, rc == 0 && !partial ? "checked" : "invalid");
		return;
	case SMTP_AUTH_CRAM_MD5:
		rc = smtp_auth_cram(p, len, c);
		auth_finish(s, rc == 0 && !partial ? "checked" : "invalid");
		return;
	default:
		fatalx("%s: impossible mechanism %d", __func__, (int)c->mech);
	}
}

/*
 * smtp_auth_start -- "AUTH mech [initial-response]" after EHLO, outside
 * a transaction. Unoffered mechanisms are recorded and refused.
 */
void
smtp_auth_start(struct smtp_session *s, const struct smtp_cmd *c)
{
	const char *sp = memchr(c->arg, ' ', c->arglen);
	size_t	 mlen = sp ? (size_t)(sp - c->arg) : c->arglen;
	const char *ir = sp ? sp + 1 : NULL;
	size_t	 irlen = sp ? c->arglen - mlen - 1 : 0;
	enum smtp_auth_mech m;
	char	 name[40];

	if (c->arglen == 0) {
		smtp_error(s, PM_AUTH_SYNTAX, NULL);
		return;
	}
	while (ir != NULL && irlen > 0 && *ir == ' ')
		ir++, irlen--;
	m = smtp_auth_mech_parse(c->arg, mlen);
	/* "AUTH mech ir more": Postfix's syntax error, before the mechanism */
	if (ir != NULL && (memchr(ir, ' ', irlen) != NULL ||
	    memchr(ir, '\t', irlen) != NULL) &&
	    persona_has(s->srv->persona, PM_AUTH_ARGS)) {
		auth_record(s, smtp_auth_mech_name(m), "invalid");
		smtp_error(s, PM_AUTH_ARGS, NULL);
		return;
	}
	if (!mech_offered(s, m)) {
		size_t	 i, n = mlen < sizeof(name) - 1 ? mlen :
		    sizeof(name) - 1;

		for (i = 0; i < n; i++)
			name[i] = (c->arg[i] > 0x20 && c->arg[i] < 0x7f) ?
			    c->arg[i] : '?';
		name[n] = '\0';
		auth_record(s, name, "unsupported");
		smtp_error(s, PM_AUTH_BADMECH, name);
		return;
	}
	free(s->authx);
	s->authx = xcalloc(1, sizeof(*s->authx));
	s->authx->cred.mech = m;
	if (m == SMTP_AUTH_CRAM_MD5 && ir != NULL && irlen > 0) {
		/*
		 * CRAM-MD5 is server-first: an initial response is a protocol
		 * error that fails, as Cyrus SASL's SASL_BADPROT makes
		 * Postfix's 535. It is still an attempt, recorded with what it
		 * held (there was no challenge to check a digest against).
		 */
		smtp_arg_text(ir, irlen, auth_last, sizeof(auth_last));
		(void)smtp_auth_cram(ir, irlen, &s->authx->cred);
		auth_record(s, "CRAM-MD5", "invalid");
		smtp_error(s, persona_has(s->srv->persona,
		    PM_AUTH_SERVER_FIRST) ? PM_AUTH_SERVER_FIRST :
		    PM_AUTH_FAILED, NULL);
		auth_leave(s);
		return;
	}
	if (m == SMTP_AUTH_CRAM_MD5) {
		auth_enter(s);
		auth_challenge(s);
		return;
	}
	if (ir != NULL && irlen > 0) {
		/*
		 * RFC 4954: "=" is an empty response; Cyrus (whose products
		 * have PM_AUTH_B64_PARTIAL) decodes it as base64 and fails.
		 */
		if (irlen == 1 && ir[0] == '=' &&
		    !persona_has(s->srv->persona, PM_AUTH_B64_PARTIAL))
			irlen = 0;
		auth_response(s, ir, irlen);
		return;
	}
	auth_enter(s);
	smtp_reply(s, m == SMTP_AUTH_LOGIN ? PM_AUTH_USERNAME : PM_AUTH_EMPTY,
	    NULL);
}

/*
 * smtp_auth_line -- a continuation line of the SASL exchange ("*" aborts).
 */
void
smtp_auth_line(struct smtp_session *s, const char *line, size_t len)
{
	smtp_transcript(s, 'C', line, len);
	s->commands++;
	if (s->authx == NULL) {
		auth_leave(s);
		return;
	}
	if (len == 1 && line[0] == '*') {
		auth_finish(s, "aborted");
		return;
	}
	auth_response(s, line, len);
}

/*
 * smtp_auth_overlong -- a continuation line longer than max_line_length
 * (its bytes were skipped, the transcript says so): the exchange ends as
 * for an undecodable response, as Postfix ends it on the cut line it
 * reads, and the attempt is recorded. The session must not read its next
 * command as the SASL response.
 */
void
smtp_auth_overlong(struct smtp_session *s)
{
	s->commands++;
	if (s->authx == NULL) {
		auth_leave(s);
		return;
	}
	auth_last[0] = '\0';	/* the line is gone */
	auth_finish(s, "invalid");
}
