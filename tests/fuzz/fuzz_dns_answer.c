/*
 * fuzz_dns_answer.c -- libFuzzer target for the DNS answer walker,
 * rsv_answer_parse() (reports/resolver.c). The first byte picks the type
 * asked (A, AAAA, MX, PTR, TXT) and the negative TTL; the rest is the
 * answer as a server could send it. The set must be consistent: status
 * OK with records, NODATA with none and the negative TTL, TEMPFAIL with
 * nothing; no more records than the answer count; addresses of the
 * family asked; names printable (escaped by libresolv) and shorter than
 * NS_MAXDNAME; A, AAAA and TXT records exactly those an independent walk
 * of the answer keeps.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <resolv.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reports/resolver_int.h"

#define ANS_MAX		65535	/* RSV_ANS_MAX */

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const int types[] = { ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr,
	ns_t_txt };

/* A name from ns_name_uncompress(): printable, bounded */
static void
check_name(const char *s)
{
	size_t	 i, len;

	if (s == NULL || (len = strlen(s)) >= NS_MAXDNAME)
		abort();
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

/*
 * The TXT text of rdata rd[0..rdlen), its character-strings joined, into
 * out (rdlen + 1 bytes); -1 if a string runs past the rdata or holds a
 * NUL.
 */
static int
txt_join(const unsigned char *rd, size_t rdlen, char *out)
{
	size_t	 i = 0, n = 0, l;

	while (i < rdlen) {
		l = rd[i++];
		if (l > rdlen - i || memchr(rd + i, '\0', l) != NULL)
			return -1;
		memcpy(out + n, rd + i, l);
		n += l;
		i += l;
	}
	out[n] = '\0';
	return 0;
}

/* A, AAAA and TXT: the set holds exactly the usable records, in order */
static void
check_model(const uint8_t *ans, size_t len, int type,
    const struct rsv_set *set)
{
	ns_msg			 msg;
	ns_rr			 rr;
	const unsigned char	*rd;
	const struct rsv_rr	*e;
	char			*txt;
	size_t			 k = 0, rdlen;
	int			 i, count;

	if (ns_initparse(ans, (int)len, &msg) == -1)
		abort();	/* the parser read it */
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			break;
		if (ns_rr_class(rr) != ns_c_in || (int)ns_rr_type(rr) != type)
			continue;
		rd = ns_rr_rdata(rr);
		rdlen = ns_rr_rdlen(rr);
		if (k >= set->n)
			e = NULL;
		else
			e = &set->rr[k];
		switch (type) {
		case ns_t_a:
			if (rdlen != 4)
				continue;
			if (e == NULL || memcmp(&((const struct sockaddr_in *)
			    &e->ss)->sin_addr, rd, 4) != 0)
				abort();
			break;
		case ns_t_aaaa:
			if (rdlen != 16)
				continue;
			if (e == NULL || memcmp(&((const struct sockaddr_in6 *)
			    &e->ss)->sin6_addr, rd, 16) != 0)
				abort();
			break;
		case ns_t_txt:
			if ((txt = malloc(rdlen + 1)) == NULL)
				abort();
			if (txt_join(rd, rdlen, txt) == -1) {
				free(txt);
				continue;
			}
			if (e == NULL || strcmp(e->str, txt) != 0)
				abort();
			free(txt);
			break;
		}
		if (ns_rr_ttl(rr) < set->ttl)
			abort();	/* the smallest TTL */
		k++;
	}
	if (k != set->n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rsv_set		 set;
	const struct rsv_rr	*e;
	ns_msg			 msg;
	const uint8_t		*ans;
	size_t			 len, i;
	uint32_t		 neg_ttl;
	int			 type, count;

	if (size < 1)
		return 0;
	type = types[data[0] % 5];
	neg_ttl = data[0] / 5;
	ans = data + 1;
	len = size - 1;
	if (len > ANS_MAX)
		len = ANS_MAX;

	rsv_answer_parse(ans, (int)len, type, neg_ttl, &set);
	switch (set.status) {
	case RSV_TEMPFAIL:
		if (set.n != 0 || set.rr != NULL || set.ttl != 0 ||
		    ns_initparse(ans, (int)len, &msg) != -1)
			abort();
		break;
	case RSV_NODATA:
		if (set.n != 0 || set.ttl != neg_ttl)
			abort();
		break;
	case RSV_OK:
		if (set.n == 0 || set.rr == NULL)
			abort();
		break;
	default:
		abort();
	}
	if (set.status != RSV_TEMPFAIL) {
		if (ns_initparse(ans, (int)len, &msg) == -1)
			abort();
		count = ns_msg_count(msg, ns_s_an);
		if (set.n > (size_t)count)
			abort();
	}
	for (i = 0; i < set.n; i++) {
		e = &set.rr[i];
		switch (type) {
		case ns_t_a:
		case ns_t_aaaa:
			if (e->ss.ss_family != (type == ns_t_a ? AF_INET :
			    AF_INET6) || e->str != NULL || e->pref != 0)
				abort();
			break;
		case ns_t_mx:
			/* "." is kept as "" (null MX) */
			if (e->str == NULL || strcmp(e->str, ".") == 0 ||
			    e->pref < 0 || e->pref > 65535)
				abort();
			if (e->str[0] != '\0')
				check_name(e->str);
			break;
		case ns_t_ptr:
			check_name(e->str);
			if (e->str[0] == '\0')
				abort();
			break;
		case ns_t_txt:
			if (e->str == NULL || strlen(e->str) >= ANS_MAX)
				abort();
			break;
		}
	}
	if (set.status != RSV_TEMPFAIL && type != ns_t_mx && type != ns_t_ptr)
		check_model(ans, len, type, &set);
	rsv_set_clear(&set);
	if (set.n != 0 || set.rr != NULL)
		abort();
	return 0;
}
