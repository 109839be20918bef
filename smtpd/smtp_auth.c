/*
 * smtp_auth.c -- decode what a client sends during AUTH (RFC 4954):
 * PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195). Run in the jailed smtpd
 * process; the base64 is hostile, the credentials are evidence and come
 * out as counted bytes (NUL-terminated for convenience, but they may
 * contain NUL themselves). A field longer than SMTP_AUTH_FIELD_MAX is
 * kept cut to that length and marked truncated, never dropped: a trap
 * keeps the evidence. The base64 is decoded one group at a time, so the
 * memory used is fixed however long the input (the caller's line limit
 * bounds that). Base64 and HMAC-MD5 are OpenSSL's; nothing here
 * allocates.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "compat.h"
#include "smtp_auth.h"

#define CRAM_DIGEST_LEN	32	/* hex of a 16-byte HMAC-MD5 */
#define CRAM_TAIL	(CRAM_DIGEST_LEN + 1)	/* SP digest */

/* a credential field being filled, at most cap bytes kept */
struct field {
	char	*dst;
	size_t	*len;
	size_t	 cap;
	bool	*cut;
};

static bool	 b64_char(unsigned char);
static int	 b64_body(const char *, size_t, size_t *);
static size_t	 b64_group(const unsigned char *, size_t, size_t,
		    unsigned char *);
static void	 field_add(struct field *, unsigned char);
static void	 field_end(struct field *);

static bool
b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * b64_body -- validate base64 in[0..len) (see smtp_auth_b64_decode) and
 * set *body to its length without the padding. "" and "=" have a body
 * of 0. Returns 0 or -1.
 */
static int
b64_body(const char *in, size_t len, size_t *body)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t	 i, pad = 0;

	*body = 0;
	if (len == 0 || (len == 1 && in[0] == '='))
		return 0;
	while (pad < len && pad < 2 && p[len - 1 - pad] == '=')
		pad++;
	for (i = 0; i < len - pad; i++)
		if (!b64_char(p[i]))
			return -1;
	if ((len - pad) % 4 == 1)
		return -1;
	if (pad > 0 && len % 4 != 0)
		return -1;		/* padding that does not pad */
	*body = len - pad;
	return 0;
}

/*
 * b64_group -- decode the group at p[i..] of a body of body validated
 * characters (i a multiple of 4) into out[0..3); returns the number of
 * bytes (1 to 3; 0 should OpenSSL refuse it).
 */
static size_t
b64_group(const unsigned char *p, size_t body, size_t i, unsigned char *out)
{
	unsigned char q[4];
	size_t	 qn = body - i < 4 ? body - i : 4;

	memcpy(q, p + i, qn);
	memset(q + qn, '=', 4 - qn);
	if (EVP_DecodeBlock(out, q, 4) != 3)
		return 0;
	return qn == 4 ? 3 : qn - 1;
}

/* one more byte of a field: kept while there is room, else counted as cut */
static void
field_add(struct field *f, unsigned char ch)
{
	if (*f->len < f->cap)
		f->dst[(*f->len)++] = (char)ch;
	else
		*f->cut = true;
}

static void
field_end(struct field *f)
{
	f->dst[*f->len] = '\0';
}

/*
 * smtp_auth_mech_parse -- mechanism name (any case) to enum: PLAIN,
 * LOGIN, CRAM-MD5; SMTP_AUTH_NONE for an empty name, SMTP_AUTH_OTHER for
 * anything else (DIGEST-MD5, NTLM, junk).
 */
enum smtp_auth_mech
smtp_auth_mech_parse(const char *s, size_t len)
{
	if (len == 0)
		return SMTP_AUTH_NONE;
	if (len == 5 && strncasecmp(s, "PLAIN", 5) == 0)
		return SMTP_AUTH_PLAIN;
	if (len == 5 && strncasecmp(s, "LOGIN", 5) == 0)
		return SMTP_AUTH_LOGIN;
	if (len == 8 && strncasecmp(s, "CRAM-MD5", 8) == 0)
		return SMTP_AUTH_CRAM_MD5;
	return SMTP_AUTH_OTHER;
}

/*
 * smtp_auth_mech_name -- canonical name of m ("NONE", "OTHER" for those).
 */
const char *
smtp_auth_mech_name(enum smtp_auth_mech m)
{
	switch (m) {
	case SMTP_AUTH_PLAIN:
		return "PLAIN";
	case SMTP_AUTH_LOGIN:
		return "LOGIN";
	case SMTP_AUTH_CRAM_MD5:
		return "CRAM-MD5";
	case SMTP_AUTH_OTHER:
		return "OTHER";
	default:
		return "NONE";
	}
}

/*
 * smtp_auth_b64_decode -- decode base64 in[0..len) into out (outsz bytes,
 * NUL-terminated after the data), length in *outlen. Strict alphabet: no
 * whitespace, '=' only as final padding; missing padding is tolerated
 * (some bots omit it). "=" alone and "" decode to zero bytes (RFC 4954
 * empty initial response). Returns 0, or -1 on bad input or if the
 * result plus NUL does not fit.
 */
int
smtp_auth_b64_decode(const char *in, size_t len, char *out, size_t outsz,
    size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	unsigned char	 tmp[3];
	size_t		 i, n = 0, body, take;

	*outlen = 0;
	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if (b64_body(in, len, &body) == -1)
		return -1;
	for (i = 0; i < body; i += 4) {
		if ((take = b64_group(p, body, i, tmp)) == 0)
			return -1;
		if (n + take + 1 > outsz)
			return -1;
		memcpy(out + n, tmp, take);
		n += take;
	}
	out[n] = '\0';
	*outlen = n;
	return 0;
}

/*
 * smtp_auth_b64_encode -- base64 of in[0..len) into out, NUL-terminated.
 * Returns the length written, or 0 (out = "" if outsz > 0) when it does
 * not fit; the encoding of zero bytes is "" too.
 */
size_t
smtp_auth_b64_encode(const void *in, size_t len, char *out, size_t outsz)
{
	size_t	 need;

	if (outsz > 0)
		out[0] = '\0';
	if (len > (SIZE_MAX / 4 - 1) * 3)
		return 0;
	need = (len + 2) / 3 * 4;
	if (need + 1 > outsz || len > 0x7fffffff)
		return 0;
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/*
 * smtp_auth_plain -- decode a PLAIN response "authzid NUL authcid NUL
 * passwd" into c (mech = PLAIN). The password is everything after the
 * second NUL (it may itself hold NUL). A field over SMTP_AUTH_FIELD_MAX
 * bytes keeps its first SMTP_AUTH_FIELD_MAX and sets c->truncated.
 * Returns 0, or -1 for bad base64 or fewer than two NULs.
 */
int
smtp_auth_plain(const char *b64, size_t len, struct smtp_auth_cred *c)
{
	const unsigned char *p = (const unsigned char *)b64;
	unsigned char	 tmp[3];
	struct field	 f[3];
	size_t		 i, j, n, body, cur = 0;

	memset(c, 0, sizeof(*c));
	c->mech = SMTP_AUTH_PLAIN;
	f[0] = (struct field){ c->authzid, &c->authzid_len,
	    SMTP_AUTH_FIELD_MAX, &c->truncated };
	f[1] = (struct field){ c->user, &c->user_len, SMTP_AUTH_FIELD_MAX,
	    &c->truncated };
	f[2] = (struct field){ c->password, &c->password_len,
	    SMTP_AUTH_FIELD_MAX, &c->truncated };
	if (b64_body(b64, len, &body) == -1)
		goto bad;
	for (i = 0; i < body; i += 4) {
		if ((n = b64_group(p, body, i, tmp)) == 0)
			goto bad;
		for (j = 0; j < n; j++) {
			if (tmp[j] == '\0' && cur < 2)
				cur++;
			else
				field_add(&f[cur], tmp[j]);
		}
	}
	if (cur < 2)
		goto bad;
	for (j = 0; j < 3; j++)
		field_end(&f[j]);
	return 0;
bad:
	memset(c, 0, sizeof(*c));
	c->mech = SMTP_AUTH_PLAIN;
	return -1;
}

/*
 * smtp_auth_login_field -- decode one LOGIN response (user name or
 * password) into out, NUL-terminated. At most SMTP_AUTH_FIELD_MAX bytes
 * and outsz - 1 are kept; *truncated says whether the response was
 * longer. Returns 0, or -1 for bad base64 or outsz 0.
 */
int
smtp_auth_login_field(const char *b64, size_t len, char *out, size_t outsz,
    size_t *outlen, bool *truncated)
{
	const unsigned char *p = (const unsigned char *)b64;
	unsigned char	 tmp[3];
	struct field	 f = { out, outlen, 0, truncated };
	size_t		 i, j, n, body;

	*outlen = 0;
	*truncated = false;
	if (outsz == 0)
		return -1;
	out[0] = '\0';
	f.cap = outsz - 1 < SMTP_AUTH_FIELD_MAX ? outsz - 1 :
	    SMTP_AUTH_FIELD_MAX;
	if (b64_body(b64, len, &body) == -1)
		return -1;
	for (i = 0; i < body; i += 4) {
		if ((n = b64_group(p, body, i, tmp)) == 0) {
			*outlen = 0;
			*truncated = false;
			out[0] = '\0';
			return -1;
		}
		for (j = 0; j < n; j++)
			field_add(&f, tmp[j]);
	}
	field_end(&f);
	return 0;
}

/*
 * smtp_auth_cram -- decode a CRAM-MD5 response "user SP hexdigest" (the
 * last SP splits; the digest is 32 hex digits, either case) into c
 * (mech = CRAM_MD5, user, digest). A user name over SMTP_AUTH_FIELD_MAX
 * bytes keeps its first SMTP_AUTH_FIELD_MAX and sets c->truncated.
 * Returns 0 or -1.
 */
int
smtp_auth_cram(const char *b64, size_t len, struct smtp_auth_cred *c)
{
	const unsigned char *p = (const unsigned char *)b64;
	unsigned char	 tmp[3], tail[CRAM_TAIL], last[CRAM_TAIL];
	size_t		 i, j, n, body, total = 0, ulen;

	memset(c, 0, sizeof(*c));
	c->mech = SMTP_AUTH_CRAM_MD5;
	if (b64_body(b64, len, &body) == -1)
		goto bad;
	/*
	 * The user name is all but the last CRAM_TAIL bytes, known only at
	 * the end: keep the head in c->user and the tail in a ring.
	 */
	for (i = 0; i < body; i += 4) {
		if ((n = b64_group(p, body, i, tmp)) == 0)
			goto bad;
		for (j = 0; j < n; j++, total++) {
			if (total < SMTP_AUTH_FIELD_MAX)
				c->user[total] = (char)tmp[j];
			tail[total % CRAM_TAIL] = tmp[j];
		}
	}
	if (total < CRAM_TAIL + 1)
		goto bad;	/* no room for a user name */
	for (i = 0; i < CRAM_TAIL; i++)
		last[i] = tail[(total - CRAM_TAIL + i) % CRAM_TAIL];
	if (last[0] != ' ')
		goto bad;
	for (i = 1; i < CRAM_TAIL; i++) {
		unsigned char h = last[i];

		if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
		    (h >= 'A' && h <= 'F')))
			goto bad;
	}
	memcpy(c->digest, last + 1, CRAM_DIGEST_LEN);
	c->digest[CRAM_DIGEST_LEN] = '\0';
	c->digest_len = CRAM_DIGEST_LEN;
	ulen = total - CRAM_TAIL;
	if (ulen > SMTP_AUTH_FIELD_MAX) {
		ulen = SMTP_AUTH_FIELD_MAX;
		c->truncated = true;
	}
	c->user[ulen] = '\0';
	c->user_len = ulen;
	return 0;
bad:
	memset(c, 0, sizeof(*c));
	c->mech = SMTP_AUTH_CRAM_MD5;
	return -1;
}

/*
 * smtp_auth_cram_check -- true if c's digest is HMAC-MD5(password,
 * challenge) in hex. challenge is the decoded challenge text we sent
 * ("<12345.1700000000@host>"), not its base64. Compared in constant time.
 */
bool
smtp_auth_cram_check(const char *challenge, const struct smtp_auth_cred *c,
    const char *password)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0, i;
	char		 want[CRAM_DIGEST_LEN + 1], got[CRAM_DIGEST_LEN];

	if (c->mech != SMTP_AUTH_CRAM_MD5 || c->digest_len != CRAM_DIGEST_LEN)
		return false;
	if (HMAC(EVP_md5(), password, (int)strlen(password),
	    (const unsigned char *)challenge, strlen(challenge), mac,
	    &maclen) == NULL || maclen * 2 != CRAM_DIGEST_LEN)
		return false;
	hexencode(mac, maclen, want);
	for (i = 0; i < CRAM_DIGEST_LEN; i++) {
		char h = c->digest[i];

		got[i] = (h >= 'A' && h <= 'F') ? (char)(h - 'A' + 'a') : h;
	}
	return CRYPTO_memcmp(want, got, CRAM_DIGEST_LEN) == 0;
}
