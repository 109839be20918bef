/*
 * smtp_cmd.c -- split one SMTP command line (CRLF already removed) into
 * verb and argument; run in the jailed smtpd process on hostile bytes.
 * The line may hold NUL and any other byte: everything is bounded by
 * len, nothing is allocated, and oddities come back as SMTP_CMD_F_* flags
 * for the session to record (postscreen's measure-and-log).
 */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "smtp_cmd.h"

struct verb_entry {
	const char	*name;
	enum smtp_verb	 verb;
};

/* matched whole and case-insensitively; never by prefix */
static const struct verb_entry verbs[] = {
	{ "HELO",	SMTP_CMD_HELO },
	{ "EHLO",	SMTP_CMD_EHLO },
	{ "MAIL",	SMTP_CMD_MAIL },
	{ "RCPT",	SMTP_CMD_RCPT },
	{ "DATA",	SMTP_CMD_DATA },
	{ "RSET",	SMTP_CMD_RSET },
	{ "NOOP",	SMTP_CMD_NOOP },
	{ "QUIT",	SMTP_CMD_QUIT },
	{ "VRFY",	SMTP_CMD_VRFY },
	{ "EXPN",	SMTP_CMD_EXPN },
	{ "HELP",	SMTP_CMD_HELP },
	{ "STARTTLS",	SMTP_CMD_STARTTLS },
	{ "AUTH",	SMTP_CMD_AUTH },
	{ "ETRN",	SMTP_CMD_ETRN },
	{ "BDAT",	SMTP_CMD_BDAT },
	/* another protocol spoken to the SMTP port (postscreen's list) */
	{ "GET",	SMTP_CMD_NONSMTP },
	{ "POST",	SMTP_CMD_NONSMTP },
	{ "CONNECT",	SMTP_CMD_NONSMTP },
	{ "HEAD",	SMTP_CMD_NONSMTP },
	{ "PUT",	SMTP_CMD_NONSMTP },
	{ "USER",	SMTP_CMD_NONSMTP },
	{ "OPTIONS",	SMTP_CMD_NONSMTP },
};

static const char *const verb_names[SMTP_CMD_COUNT] = {
	[SMTP_CMD_UNKNOWN] = "UNKNOWN",
	[SMTP_CMD_HELO] = "HELO",
	[SMTP_CMD_EHLO] = "EHLO",
	[SMTP_CMD_MAIL] = "MAIL",
	[SMTP_CMD_RCPT] = "RCPT",
	[SMTP_CMD_DATA] = "DATA",
	[SMTP_CMD_RSET] = "RSET",
	[SMTP_CMD_NOOP] = "NOOP",
	[SMTP_CMD_QUIT] = "QUIT",
	[SMTP_CMD_VRFY] = "VRFY",
	[SMTP_CMD_EXPN] = "EXPN",
	[SMTP_CMD_HELP] = "HELP",
	[SMTP_CMD_STARTTLS] = "STARTTLS",
	[SMTP_CMD_AUTH] = "AUTH",
	[SMTP_CMD_ETRN] = "ETRN",
	[SMTP_CMD_BDAT] = "BDAT",
	[SMTP_CMD_NONSMTP] = "NONSMTP",
};

static int
is_sp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/*
 * smtp_cmd_parse -- split line[0..len) (no CRLF; may contain NUL) into
 * cmd. The verb is everything up to the first SP/TAB after leading
 * whitespace, matched whole and case-insensitively; an unmatched verb
 * gives SMTP_CMD_UNKNOWN with verb_text still filled (truncated to fit,
 * as sent: escape it before echoing). cmd->arg points into line after
 * one run of SP/TAB, with trailing SP/TAB trimmed (arglen_raw keeps
 * them); with no argument it points at line + len and arglen and
 * arglen_raw are 0. Returns SMTP_E_OK, or
 * SMTP_E_EMPTY for a line that is empty or only whitespace (flags are
 * still set).
 */
int
smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd)
{
	const unsigned char *p = (const unsigned char *)line;
	size_t	 i, vb, ve, ab, ae, vlen, n;

	memset(cmd, 0, sizeof(*cmd));
	cmd->verb = SMTP_CMD_UNKNOWN;
	cmd->arg = line + len;
	cmd->arglen = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == '\0')
			cmd->flags |= SMTP_CMD_F_NUL;
		else if (p[i] >= 0x80)
			cmd->flags |= SMTP_CMD_F_8BIT;
		else if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			cmd->flags |= SMTP_CMD_F_CTRL;
	}

	/* leading whitespace */
	for (vb = 0; vb < len && is_sp(p[vb]); vb++)
		if (p[vb] == '\t')
			cmd->flags |= SMTP_CMD_F_TAB;
	if (vb > 0)
		cmd->flags |= SMTP_CMD_F_LEADSP;
	/* trailing whitespace */
	for (ae = len; ae > 0 && is_sp(p[ae - 1]); ae--)
		if (p[ae - 1] == '\t')
			cmd->flags |= SMTP_CMD_F_TAB;
	if (ae < len)
		cmd->flags |= SMTP_CMD_F_TRAILSP;
	if (ae < vb)
		ae = vb;		/* whitespace only */
	if (vb == ae)
		return SMTP_E_EMPTY;

	for (ve = vb; ve < ae && !is_sp(p[ve]); ve++)
		if (p[ve] >= 'a' && p[ve] <= 'z')
			cmd->flags |= SMTP_CMD_F_LOWER;
	vlen = ve - vb;
	n = vlen < sizeof(cmd->verb_text) ? vlen : sizeof(cmd->verb_text) - 1;
	memcpy(cmd->verb_text, line + vb, n);
	cmd->verb_text[n] = '\0';

	for (ab = ve; ab < ae && is_sp(p[ab]); ab++)
		if (p[ab] == '\t')
			cmd->flags |= SMTP_CMD_F_TAB;
	cmd->arg = line + ab;
	cmd->arglen = ae - ab;
	cmd->arglen_raw = ab < ae ? len - ab : 0;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strlen(verbs[i].name) == vlen &&
		    strncasecmp(verbs[i].name, line + vb, vlen) == 0) {
			cmd->verb = verbs[i].verb;
			break;
		}
	}
	return SMTP_E_OK;
}

/*
 * smtp_verb_name -- canonical upper-case name of v ("UNKNOWN" for
 * anything out of range, "NONSMTP" for another protocol's verb).
 */
const char *
smtp_verb_name(enum smtp_verb v)
{
	if ((unsigned int)v >= SMTP_CMD_COUNT || verb_names[v] == NULL)
		return "UNKNOWN";
	return verb_names[v];
}
