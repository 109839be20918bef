/*
 * fuzz_smtp_auth.c -- libFuzzer target for the AUTH decoders
 * (smtpd/smtp_auth.c). The first byte picks the entry point: strict
 * base64 decoding into an output of a fuzzed size, encode -> decode of
 * arbitrary bytes, PLAIN, one LOGIN field, CRAM-MD5. Outputs live in
 * buffers of exactly the size passed, so ASan sees any write past them;
 * decoded data must re-encode to the input (the unused bits of the last
 * character aside), and the credential fields must rebuild the decoded
 * response: each field is the sent one cut to SMTP_AUTH_FIELD_MAX bytes,
 * marked truncated exactly when one was longer. A response is refused
 * only for its form (bad base64, missing NULs, no digest), never for its
 * length.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_auth.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void *
xalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	return p;
}

/*
 * The whole decoded response, in a buffer as large as it needs (the
 * decoders under test keep a bounded part of it); NULL if not base64.
 */
static char *
full_decode(const char *in, size_t len, size_t *n)
{
	size_t	 sz = len / 4 * 3 + 4;
	char	*raw = xalloc(sz);

	if (smtp_auth_b64_decode(in, len, raw, sz, n) != 0) {
		free(raw);
		return NULL;
	}
	return raw;
}

/* field f[0..flen) is sent[0..slen) cut to the limit; true if it was cut */
static bool
check_field(const char *f, size_t flen, const char *sent, size_t slen)
{
	size_t	 want = slen < SMTP_AUTH_FIELD_MAX ? slen : SMTP_AUTH_FIELD_MAX;

	if (flen != want || memcmp(f, sent, want) != 0 || f[flen] != '\0')
		abort();
	return slen > SMTP_AUTH_FIELD_MAX;
}

/*
 * A successful decode of in[0..len) into out[0..n): the encoding of the
 * bytes is the input up to padding and the unused low bits of the last
 * character of a short group.
 */
static void
check_reencode(const char *in, size_t len, const char *out, size_t n)
{
	char	*enc;
	size_t	 need, elen, body, last, want;
	unsigned a, b;

	if (len == 1 && in[0] == '=') {
		if (n != 0)
			abort();
		return;
	}
	body = len;
	while (body > 0 && in[body - 1] == '=')
		body--;
	if (n != body / 4 * 3 + (body % 4 > 0 ? body % 4 - 1 : 0))
		abort();
	need = (n + 2) / 3 * 4 + 1;
	enc = xalloc(need);
	elen = smtp_auth_b64_encode(out, n, enc, need);
	if (elen != need - 1 || strlen(enc) != elen)
		abort();
	want = body % 4 == 0 ? body : body - 1;
	if (memcmp(enc, in, want) != 0)
		abort();
	if (body % 4 != 0) {
		last = body - 1;
		a = (unsigned)(strchr(b64, in[last]) - b64);
		b = (unsigned)(strchr(b64, enc[last]) - b64);
		if ((a & (body % 4 == 2 ? 0x30 : 0x3c)) != b)
			abort();
		if (strspn(enc + body, "=") != elen - body)
			abort();
	} else if (elen != body)
		abort();
	free(enc);
}

static void
fuzz_decode(const char *in, size_t len, size_t outsz)
{
	char	*out;
	size_t	 n = 12345;

	out = xalloc(outsz);
	if (smtp_auth_b64_decode(in, len, out, outsz, &n) == 0) {
		if (n >= outsz || out[n] != '\0')
			abort();
		check_reencode(in, len, out, n);
	}
	free(out);
}

/* one LOGIN field: the sent bytes cut to min(outsz - 1, the limit) */
static void
fuzz_login(const char *in, size_t len, size_t outsz)
{
	char	*out, *raw;
	size_t	 n = 12345, rawlen, cap;
	bool	 cut = true;
	int	 rc;

	out = xalloc(outsz);
	rc = smtp_auth_login_field(in, len, out, outsz, &n, &cut);
	raw = full_decode(in, len, &rawlen);
	if ((rc == 0) != (raw != NULL && outsz > 0))
		abort();
	if (rc == 0) {
		cap = outsz - 1 < SMTP_AUTH_FIELD_MAX ? outsz - 1 :
		    SMTP_AUTH_FIELD_MAX;
		if (n != (rawlen < cap ? rawlen : cap) || out[n] != '\0' ||
		    memcmp(out, raw, n) != 0 || cut != (rawlen > cap))
			abort();
		if (!cut)
			check_reencode(in, len, out, n);
	} else if (n != 0 || cut)
		abort();
	free(raw);
	free(out);
}

static void
fuzz_roundtrip(const uint8_t *in, size_t len)
{
	char	*enc, *dec, small[8];
	size_t	 need, elen, n;

	need = (len + 2) / 3 * 4 + 1;
	enc = xalloc(need);
	elen = smtp_auth_b64_encode(in, len, enc, need);
	if (elen != need - 1 || strlen(enc) != elen)
		abort();
	dec = xalloc(len + 1);
	if (smtp_auth_b64_decode(enc, elen, dec, len + 1, &n) != 0 ||
	    n != len || memcmp(dec, in, len) != 0)
		abort();
	/* one byte short of room: refused, not cut */
	if (len > 0 && smtp_auth_b64_decode(enc, elen, dec, len, &n) != -1)
		abort();
	if (need > sizeof(small) && (smtp_auth_b64_encode(in, len, small,
	    sizeof(small)) != 0 || small[0] != '\0'))
		abort();
	free(dec);
	free(enc);
}

static void
fuzz_plain(const char *in, size_t len)
{
	struct smtp_auth_cred	 c;
	char			*raw, *z1 = NULL, *z2 = NULL;
	size_t			 n;
	bool			 cut;
	int			 rc;

	rc = smtp_auth_plain(in, len, &c);
	if ((raw = full_decode(in, len, &n)) != NULL &&
	    (z1 = memchr(raw, '\0', n)) != NULL)
		z2 = memchr(z1 + 1, '\0', n - (size_t)(z1 + 1 - raw));
	/* refused only when it is not "authzid NUL user NUL password" */
	if ((rc == 0) != (z2 != NULL))
		abort();
	if (c.mech != SMTP_AUTH_PLAIN || c.digest_len != 0)
		abort();
	if (rc != 0) {
		if (c.authzid_len != 0 || c.user_len != 0 ||
		    c.password_len != 0 || c.truncated)
			abort();
		free(raw);
		return;
	}
	/* each field is what was sent, cut to the limit */
	cut = check_field(c.authzid, c.authzid_len, raw, (size_t)(z1 - raw));
	cut |= check_field(c.user, c.user_len, z1 + 1, (size_t)(z2 - z1 - 1));
	cut |= check_field(c.password, c.password_len, z2 + 1,
	    n - (size_t)(z2 + 1 - raw));
	if (cut != c.truncated)
		abort();
	free(raw);
}

static bool
is_hex(const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strchr("0123456789abcdefABCDEF", p[i]) == NULL ||
		    p[i] == '\0')
			return false;
	return true;
}

static void
fuzz_cram(const char *in, size_t len)
{
	struct smtp_auth_cred	 c;
	char			*raw;
	size_t			 n = 0;
	bool			 form;
	int			 rc;

	rc = smtp_auth_cram(in, len, &c);
	raw = full_decode(in, len, &n);
	/* refused only when it is not "user SP 32 hex digits" */
	form = raw != NULL && n >= 34 && raw[n - 33] == ' ' &&
	    is_hex(raw + n - 32, 32);
	if ((rc == 0) != form || c.mech != SMTP_AUTH_CRAM_MD5 ||
	    c.password_len != 0 || c.authzid_len != 0)
		abort();
	if (rc != 0) {
		if (c.user_len != 0 || c.digest_len != 0 || c.truncated)
			abort();
		free(raw);
		return;
	}
	if (c.digest_len != 32 || c.digest[32] != '\0' ||
	    memcmp(c.digest, raw + n - 32, 32) != 0 || c.user_len == 0 ||
	    check_field(c.user, c.user_len, raw, n - 33) != c.truncated)
		abort();
	(void)smtp_auth_cram_check("<1.2@trap.example>", &c, "secret");
	free(raw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*in;
	size_t		 len, outsz;

	if (size < 2)
		return 0;
	in = (const char *)data + 2;
	len = size - 2;
	/* output room: 0..1023 bytes, from the second byte and the first */
	outsz = ((size_t)(data[0] >> 3) << 5 | data[1]) % 1024;
	switch (data[0] % 5) {
	case 0:
		fuzz_decode(in, len, outsz);
		break;
	case 1:
		fuzz_roundtrip(data + 1, size - 1);
		break;
	case 2:
		fuzz_plain(in, len);
		break;
	case 3:
		fuzz_login(in, len, outsz);
		break;
	default:
		fuzz_cram(in, len);
		break;
	}
	return 0;
}
