/*
 * fuzz_smtp_addr.c -- libFuzzer target for the MAIL/RCPT argument and
 * path parsers. The first byte picks the entry point; on success the
 * fields must be consistent with each other and within their bounds.
 * Postfix's reading of the same bytes (smtp_pfaddr.c) runs on every
 * input: its address fits the buffer, its end is inside the input, and
 * the resolver's domain (smtp_pfaddr_domain) fits its own.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_cmd.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_path(const struct smtp_path *p)
{
	size_t	 al = strlen(p->addr), ll = strlen(p->local),
		 dl = strlen(p->domain);

	if (al > SMTP_ADDR_MAX || ll > SMTP_ADDR_MAX || dl > SMTP_ADDR_MAX ||
	    strlen(p->route) > SMTP_ADDR_MAX)
		abort();
	if (p->flags & SMTP_PATH_F_NULL) {
		if (al != 0 || ll != 0 || dl != 0)
			abort();
		return;
	}
	/* addr is local "@" domain, or local alone */
	if (memcmp(p->addr, p->local, ll) != 0)
		abort();
	if (dl > 0 && (al != ll + 1 + dl || p->addr[ll] != '@' ||
	    strcmp(p->addr + ll + 1, p->domain) != 0))
		abort();
	if (dl == 0 && (al != ll || !(p->flags & SMTP_PATH_F_NODOMAIN)))
		abort();
	if ((ll == 0) != ((p->flags & SMTP_PATH_F_NOLOCAL) != 0))
		abort();
	if ((p->flags & SMTP_PATH_F_ROUTE) && p->route[0] != '@')
		abort();
}

static void
check_pfaddr(const char *arg, size_t len, bool mail)
{
	char	 addr[SMTP_ADDR_MAX + 1], dom[SMTP_PFADDR_DOMAIN_MAX];
	size_t	 end = 0;
	int	 rc;

	rc = smtp_pfaddr_read(arg, len, mail, addr, sizeof(addr), &end);
	if (rc < SMTP_PFADDR_OK || rc > SMTP_PFADDR_LONG)
		abort();
	if (rc == SMTP_PFADDR_OK && (strlen(addr) > SMTP_ADDR_MAX ||
	    end > len || (!mail && addr[0] == '\0')))
		abort();
	if (rc == SMTP_PFADDR_OK && addr[0] != '\0' &&
	    smtp_pfaddr_domain(addr, dom, sizeof(dom)) &&
	    strlen(dom) >= sizeof(dom))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_mailarg	 ma;
	struct smtp_path	 p;
	const char		*arg;
	size_t			 len, i;
	int			 rc;

	if (size < 1)
		return 0;
	arg = (const char *)data + 1;
	len = size - 1;
	check_pfaddr(arg, len, data[0] & 1);
	/* Postfix's domain rule: any bytes, either SMTPUTF8 setting */
	if (smtp_addr_postfix_domain(arg, len, data[0] & 4) &&
	    len > 256 && arg[0] != '[')
		abort();
	switch (data[0] % 3) {
	case 0:
		/* bits 3 and 4: PRDR offered, Exim's values */
		rc = smtp_addr_parse_mail_as(arg, len, &ma,
		    (data[0] & 8 ? SMTP_ADDR_PRDR : 0) |
		    (data[0] & 16 ? SMTP_ADDR_EXIM : 0));
		break;
	case 1:
		rc = smtp_addr_parse_rcpt(arg, len, &ma);
		break;
	default:
		rc = smtp_addr_parse_path(arg, len, &p);
		if (rc == SMTP_E_OK)
			check_path(&p);
		return 0;
	}
	if (strlen(ma.err_param) > SMTP_PARAM_KEY_MAX)
		abort();
	for (i = 0; ma.err_param[i] != '\0'; i++)
		if (ma.err_param[i] <= ' ' || ma.err_param[i] >= 0x7f)
			abort();	/* must be safe to echo */
	if (rc != SMTP_E_OK)
		return 0;
	check_path(&ma.path);
	if (ma.nparams > SMTP_PARAMS_MAX || ma.size < -1)
		abort();
	for (i = 0; i < ma.nparams; i++)
		if (strlen(ma.params[i].key) > SMTP_PARAM_KEY_MAX ||
		    strlen(ma.params[i].value) > SMTP_PARAM_VAL_MAX)
			abort();
	return 0;
}
