/*
 * smtp_auth.c -- decode what a client sends during AUTH (RFC 4954):
 * PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195). Run in the jailed smtpd
 * process; the base64 is hostile, the credentials are evidence and come
 * out as counted bytes (NUL-terminated for convenience, but they may
 * contain NUL themselves). Base64 and HMAC-MD5 are OpenSSL's; nothing
 * here allocates.
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
/* largest decoded PLAIN message: three fields and two NULs */
#define PLAIN_MAX	(3 * SMTP_AUTH_FIELD_MAX + 2)

static bool	 b64_char(unsigned char);
static int	 set_field(char *, size_t *, const char *, size_t);

static bool
b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static int
set_field(char *dst, size_t *dstlen, const char *src, size_t n)
{
	if (n > SMTP_AUTH_FIELD_MAX)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	*dstlen = n;
	return 0;
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
	unsigned char	 q[4], tmp[3];
	size_t		 i, pad = 0, n = 0, body, qn, take;

	*outlen = 0;
	if (outsz == 0)
		return -1;
	out[0] = '\0';
	if (len == 0 || (len == 1 && in[0] == '='))
		return 0;
	while (pad < len && pad < 2 && p[len - 1 - pad] == '=')
		pad++;
	body = len - pad;
	for (i = 0; i < body; i++)
		if (!b64_char(p[i]))
			return -1;
	if (body % 4 == 1)
		return -1;
	if (pad > 0 && (body + pad) % 4 != 0)
		return -1;		/* padding that does not pad */
	for (i = 0; i < body; i += 4) {
		qn = body - i < 4 ? body - i : 4;
		memcpy(q, p + i, qn);
		memset(q + qn, '=', 4 - qn);
		if (EVP_DecodeBlock(tmp, q, 4) != 3)
			return -1;
		take = qn == 4 ? 3 : qn - 1;
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
 * second NUL (it may itself hold NUL). Returns 0, or -1 for bad base64,
 * fewer than two NULs, or a field over SMTP_AUTH_FIELD_MAX bytes.
 */
int
smtp_auth_plain(const char *b64, size_t len, struct smtp_auth_cred *c)
{
	char	 raw[PLAIN_MAX + 1];
	char	*z1, *z2;
	size_t	 n;

	memset(c, 0, sizeof(*c));
	c->mech = SMTP_AUTH_PLAIN;
	if (smtp_auth_b64_decode(b64, len, raw, sizeof(raw), &n) == -1)
		return -1;
	if ((z1 = memchr(raw, '\0', n)) == NULL)
		return -1;
	if ((z2 = memchr(z1 + 1, '\0', n - (size_t)(z1 + 1 - raw))) == NULL)
		return -1;
	if (set_field(c->authzid, &c->authzid_len, raw,
	    (size_t)(z1 - raw)) == -1 ||
	    set_field(c->user, &c->user_len, z1 + 1,
	    (size_t)(z2 - z1 - 1)) == -1 ||
	    set_field(c->password, &c->password_len, z2 + 1,
	    n - (size_t)(z2 + 1 - raw)) == -1)
		return -1;
	return 0;
}

/*
 * smtp_auth_login_field -- decode one LOGIN response (user name or
 * password) into out, at most SMTP_AUTH_FIELD_MAX bytes and outsz - 1.
 * Returns 0 or -1.
 */
int
smtp_auth_login_field(const char *b64, size_t len, char *out, size_t outsz,
    size_t *outlen)
{
	if (outsz > SMTP_AUTH_FIELD_MAX + 1)
		outsz = SMTP_AUTH_FIELD_MAX + 1;
	return smtp_auth_b64_decode(b64, len, out, outsz, outlen);
}

/*
 * smtp_auth_cram -- decode a CRAM-MD5 response "user SP hexdigest" (the
 * last SP splits; the digest is 32 hex digits, either case) into c
 * (mech = CRAM_MD5, user, digest). Returns 0 or -1.
 */
int
smtp_auth_cram(const char *b64, size_t len, struct smtp_auth_cred *c)
{
	char	 raw[SMTP_AUTH_FIELD_MAX + CRAM_DIGEST_LEN + 2];
	size_t	 n, sp, i;

	memset(c, 0, sizeof(*c));
	c->mech = SMTP_AUTH_CRAM_MD5;
	if (smtp_auth_b64_decode(b64, len, raw, sizeof(raw), &n) == -1)
		return -1;
	if (n < CRAM_DIGEST_LEN + 2)
		return -1;
	sp = n - CRAM_DIGEST_LEN - 1;
	if (raw[sp] != ' ')
		return -1;
	for (i = sp + 1; i < n; i++) {
		unsigned char h = (unsigned char)raw[i];

		if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
		    (h >= 'A' && h <= 'F')))
			return -1;
	}
	if (sp == 0 ||
	    set_field(c->user, &c->user_len, raw, sp) == -1 ||
	    set_field(c->digest, &c->digest_len, raw + sp + 1,
	    CRAM_DIGEST_LEN) == -1)
		return -1;
	return 0;
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
