/*
 * fuzz_smtp_cmd.c -- libFuzzer target: one command line through
 * smtp_cmd_parse, then the argument through the parser the session
 * would call (MAIL/RCPT address parser, AUTH decoders, sendmail's
 * helpfile lookup for HELP).
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persona.h"
#include "smtp_auth.h"
#include "smtp_cmd.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_auth(const char *arg, size_t len)
{
	struct smtp_auth_cred	 c;
	char			 out[SMTP_AUTH_FIELD_MAX + 1];
	const char		*sp;
	size_t			 mlen, n;
	bool			 cut;

	sp = memchr(arg, ' ', len);
	mlen = sp != NULL ? (size_t)(sp - arg) : len;
	switch (smtp_auth_mech_parse(arg, mlen)) {
	case SMTP_AUTH_PLAIN:
		if (sp != NULL && smtp_auth_plain(sp + 1, len - mlen - 1,
		    &c) == 0) {
			if (c.user_len > SMTP_AUTH_FIELD_MAX ||
			    c.password_len > SMTP_AUTH_FIELD_MAX ||
			    c.authzid_len > SMTP_AUTH_FIELD_MAX)
				abort();
		}
		break;
	case SMTP_AUTH_LOGIN:
		if (sp != NULL && smtp_auth_login_field(sp + 1,
		    len - mlen - 1, out, sizeof(out), &n, &cut) == 0 &&
		    (n >= sizeof(out) || (cut && n != sizeof(out) - 1)))
			abort();
		break;
	case SMTP_AUTH_CRAM_MD5:
		if (sp != NULL && smtp_auth_cram(sp + 1, len - mlen - 1,
		    &c) == 0) {
			if (c.digest_len != 32)
				abort();
			(void)smtp_auth_cram_check("<1.2@x>", &c, "pw");
		}
		break;
	default:
		break;
	}
}

/* a whole reply ending in the last line, or none; never past out */
static void
fuzz_help(const char *topic, size_t len)
{
	static const char end[] = "214 2.0.0 End of HELP info\r\n";
	char	 out[PERSONA_REPLY_MAX];
	size_t	 n;

	n = persona_help(persona_find("sendmail"), topic, len, out,
	    sizeof(out));
	if (n >= sizeof(out) || (n > 0 && (strlen(out) != n ||
	    n < sizeof(end) - 1 || strcmp(out + n - (sizeof(end) - 1),
	    end) != 0)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*line = (const char *)data;
	struct smtp_cmd		 cmd;
	struct smtp_mailarg	 ma;
	int			 rc;

	rc = smtp_cmd_parse(line, size, &cmd);
	if (cmd.arg < line || cmd.arg + cmd.arglen > line + size)
		abort();
	if (strlen(cmd.verb_text) >= sizeof(cmd.verb_text))
		abort();
	if (cmd.arglen > 0 && (cmd.arg[0] == ' ' || cmd.arg[0] == '\t' ||
	    cmd.arg[cmd.arglen - 1] == ' ' || cmd.arg[cmd.arglen - 1] == '\t'))
		abort();
	if (cmd.arglen_raw < cmd.arglen || (cmd.arglen_raw > 0 &&
	    cmd.arg + cmd.arglen_raw != line + size))
		abort();
	if (rc == SMTP_E_EMPTY && cmd.verb != SMTP_CMD_UNKNOWN)
		abort();
	(void)smtp_verb_name(cmd.verb);

	switch (cmd.verb) {
	case SMTP_CMD_MAIL:
		(void)smtp_addr_parse_mail(cmd.arg, cmd.arglen, &ma);
		break;
	case SMTP_CMD_RCPT:
		(void)smtp_addr_parse_rcpt(cmd.arg, cmd.arglen, &ma);
		break;
	case SMTP_CMD_AUTH:
		fuzz_auth(cmd.arg, cmd.arglen);
		break;
	case SMTP_CMD_HELP:
		fuzz_help(cmd.arg, cmd.arglen_raw);
		break;
	default:
		break;
	}
	return 0;
}
