/*
 * smtp_cmd.h -- pure parsers for one SMTP command line (no CRLF), its
 * verb and the MAIL/RCPT arguments. They take (const char *, size_t),
 * never read past len, never allocate, and fill fixed-size structs.
 * Oddities are returned as SMTP_*_F_* flags: for a trap they are evidence,
 * the session records them and still answers like the persona would.
 */
#ifndef RT_SMTP_CMD_H
#define RT_SMTP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtp_verb {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_VRFY,
	SMTP_CMD_EXPN,
	SMTP_CMD_HELP,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_CMD_ETRN,
	SMTP_CMD_BDAT,
	SMTP_CMD_NONSMTP,	/* GET, POST, CONNECT, HEAD, PUT, USER: another protocol */
	SMTP_CMD_COUNT
};

/* parse results */
enum smtp_perr {
	SMTP_E_OK = 0,
	SMTP_E_EMPTY,		/* empty line */
	SMTP_E_SYNTAX,		/* "MAIL" without "FROM:", junk after verb... */
	SMTP_E_ADDR,		/* the <path> is not an address */
	SMTP_E_PARAM,		/* unknown ESMTP parameter (key in err_param) */
	SMTP_E_PARAM_VALUE,	/* known parameter, bad value (SIZE=abc) */
	SMTP_E_TOOLONG,		/* a field exceeds its fixed buffer */
};

/* command-line flags */
#define SMTP_CMD_F_NUL		0x0001	/* NUL byte in the line */
#define SMTP_CMD_F_8BIT		0x0002	/* byte >= 0x80 in the line */
#define SMTP_CMD_F_CTRL		0x0004	/* other control bytes (not TAB) */
#define SMTP_CMD_F_LOWER	0x0008	/* verb not in upper case */
#define SMTP_CMD_F_LEADSP	0x0010	/* whitespace before the verb */
#define SMTP_CMD_F_TRAILSP	0x0020	/* whitespace at the end of the line */
#define SMTP_CMD_F_TAB		0x0040	/* TAB used as separator */

struct smtp_cmd {
	enum smtp_verb	 verb;
	char		 verb_text[16];	/* as sent, NUL-terminated, truncated */
	const char	*arg;		/* into the line: after verb and one
					   run of SP/TAB; trailing SP trimmed */
	size_t		 arglen;
	size_t		 arglen_raw;	/* arglen with the trailing SP/TAB */
	unsigned int	 flags;		/* SMTP_CMD_F_* */
};

/* path flags: the relay-tester forms of REFERENCE.md section 1 */
#define SMTP_PATH_F_NULL	0x0001	/* <> */
#define SMTP_PATH_F_ROUTE	0x0002	/* <@a,@b:u@d> source route */
#define SMTP_PATH_F_QUOTED	0x0004	/* "quoted local part" */
#define SMTP_PATH_F_PERCENT	0x0008	/* u%d@relay */
#define SMTP_PATH_F_BANG	0x0010	/* d!u or d!u@relay */
#define SMTP_PATH_F_IPLIT	0x0020	/* @[1.2.3.4] or @[IPv6:...] */
#define SMTP_PATH_F_MULTI_AT	0x0040	/* u@d@relay */
#define SMTP_PATH_F_NOBRACKETS	0x0080	/* FROM:u@d without <> */
#define SMTP_PATH_F_NODOMAIN	0x0100	/* local part only */
#define SMTP_PATH_F_UTF8	0x0200	/* non-ASCII bytes */
#define SMTP_PATH_F_SPACE	0x0400	/* "FROM: <..>" space after colon */
#define SMTP_PATH_F_LONG	0x0800	/* beyond RFC 5321 4.5.3.1 sizes */
#define SMTP_PATH_F_NOLOCAL	0x1000	/* "@domain": empty local part */
#define SMTP_PATH_F_CTRL	0x2000	/* control bytes other than TAB, CR,
					   LF and NUL (Postfix takes them) */

#define SMTP_ADDR_MAX		512	/* bytes of a mailbox we keep */
#define SMTP_PARAMS_MAX		16
#define SMTP_PARAM_KEY_MAX	32
#define SMTP_PARAM_VAL_MAX	512

struct smtp_path {
	char		 addr[SMTP_ADDR_MAX + 1];  /* mailbox as sent, without
						      <> and route; "" for <> */
	char		 local[SMTP_ADDR_MAX + 1]; /* before the last '@' */
	char		 domain[SMTP_ADDR_MAX + 1];/* after the last '@', "" if none */
	char		 route[SMTP_ADDR_MAX + 1]; /* "@a,@b" or "" */
	unsigned int	 flags;		/* SMTP_PATH_F_* */
};

struct smtp_param {
	char		 key[SMTP_PARAM_KEY_MAX + 1];	/* upper-cased */
	char		 value[SMTP_PARAM_VAL_MAX + 1];	/* "" if no '=' */
	bool		 has_value;
};

enum smtp_body {
	SMTP_BODY_NONE = 0,
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME,
};

struct smtp_mailarg {
	struct smtp_path	 path;
	struct smtp_param	 params[SMTP_PARAMS_MAX];
	size_t			 nparams;
	long long		 size;		/* SIZE=, -1 if absent */
	enum smtp_body		 body;
	bool			 smtputf8;
	bool			 prdr;		/* PRDR (any value) */
	bool			 exim;		/* parsed with SMTP_ADDR_EXIM */
	char			 err_param[SMTP_PARAM_KEY_MAX + 1];
};

int	 smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd);
int	 smtp_addr_parse_mail(const char *arg, size_t len,
	    struct smtp_mailarg *out);
#define SMTP_ADDR_PRDR	0x01	/* PRDR is a MAIL parameter */
#define SMTP_ADDR_EXIM	0x02	/* parameter values as Exim reads them */
int	 smtp_addr_parse_mail_as(const char *arg, size_t len,
	    struct smtp_mailarg *out, unsigned int how);
int	 smtp_addr_parse_rcpt(const char *arg, size_t len,
	    struct smtp_mailarg *out);
int	 smtp_addr_parse_path(const char *p, size_t len,
	    struct smtp_path *out);
bool	 smtp_addr_postfix_domain(const char *d, size_t n, bool utf8);
/* smtp_pfaddr_read() results */
enum smtp_pfaddr {
	SMTP_PFADDR_OK = 0,	/* one address */
	SMTP_PFADDR_NONE,	/* no argument word */
	SMTP_PFADDR_BAD,	/* Postfix refuses the address syntax */
	SMTP_PFADDR_LONG,	/* over the buffer, or a NUL: not judged */
};
int	 smtp_pfaddr_read(const char *a, size_t len, bool mail, char *addr,
	    size_t addrsz, size_t *end);
#define SMTP_PFADDR_DOMAIN_MAX	(2 * SMTP_ADDR_MAX + 16)
bool	 smtp_pfaddr_domain(const char *addr, char *dom, size_t domsz);
const char *smtp_verb_name(enum smtp_verb v);

#endif
