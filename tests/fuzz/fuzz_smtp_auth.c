/*
 * fuzz_smtp_auth.c -- libFuzzer target for the AUTH decoders
 * (smtpd/smtp_auth.c). The first byte picks the entry point: strict
 * base64 decoding into an output of a fuzzed size, encode -> decode of
 * arbitrary bytes, PLAIN, one LOGIN field, CRAM-MD5. Outputs live in
 * buffers of exactly the size passed, so ASan sees any write past them;
 * decoded data must re-encode to the input (the unused bits of the last
 * character aside), and the credential fields must rebuild the decoded
 * response.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_auth.h"

#define RAW_MAX		(3 * SMTP_AUTH_FIELD_MAX + 2)

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
fuzz_decode(const char *in, size_t len, size_t outsz, bool login)
{
	char	*out;
	size_t	 n = 12345, cap;

	out = xalloc(outsz);
	if ((login ? smtp_auth_login_field(in, len, out, outsz, &n) :
	    smtp_auth_b64_decode(in, len, out, outsz, &n)) == 0) {
		cap = login && outsz > SMTP_AUTH_FIELD_MAX + 1 ?
		    SMTP_AUTH_FIELD_MAX + 1 : outsz;
		if (n >= cap || out[n] != '\0')
			abort();
		check_reencode(in, len, out, n);
	}
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
	char			 raw[RAW_MAX + 1], *again;
	size_t			 n, off;

	if (smtp_auth_plain(in, len, &c) != 0)
		return;
	if (c.mech != SMTP_AUTH_PLAIN ||
	    c.authzid_len > SMTP_AUTH_FIELD_MAX ||
	    c.user_len > SMTP_AUTH_FIELD_MAX ||
	    c.password_len > SMTP_AUTH_FIELD_MAX ||
	    c.authzid[c.authzid_len] != '\0' || c.user[c.user_len] != '\0' ||
	    c.password[c.password_len] != '\0' ||
	    memchr(c.authzid, '\0', c.authzid_len) != NULL ||
	    memchr(c.user, '\0', c.user_len) != NULL || c.digest_len != 0)
		abort();
	/* authzid NUL user NUL password is what was sent */
	if (smtp_auth_b64_decode(in, len, raw, sizeof(raw), &n) != 0 ||
	    n != c.authzid_len + c.user_len + c.password_len + 2)
		abort();
	again = xalloc(n);
	memcpy(again, c.authzid, c.authzid_len);
	off = c.authzid_len;
	again[off++] = '\0';
	memcpy(again + off, c.user, c.user_len);
	off += c.user_len;
	again[off++] = '\0';
	memcpy(again + off, c.password, c.password_len);
	if (memcmp(again, raw, n) != 0)
		abort();
	free(again);
}

static void
fuzz_cram(const char *in, size_t len)
{
	struct smtp_auth_cred	 c;
	char			 raw[SMTP_AUTH_FIELD_MAX + 64];
	size_t			 n, i;

	if (smtp_auth_cram(in, len, &c) != 0)
		return;
	if (c.mech != SMTP_AUTH_CRAM_MD5 || c.digest_len != 32 ||
	    c.user_len == 0 || c.user_len > SMTP_AUTH_FIELD_MAX ||
	    c.user[c.user_len] != '\0' || c.digest[32] != '\0' ||
	    c.password_len != 0 || c.authzid_len != 0)
		abort();
	for (i = 0; i < 32; i++)
		if (strchr("0123456789abcdefABCDEF", c.digest[i]) == NULL)
			abort();
	/* user SP digest is what was sent */
	if (smtp_auth_b64_decode(in, len, raw, sizeof(raw), &n) != 0 ||
	    n != c.user_len + 33 || memcmp(raw, c.user, c.user_len) != 0 ||
	    raw[c.user_len] != ' ' ||
	    memcmp(raw + c.user_len + 1, c.digest, 32) != 0)
		abort();
	(void)smtp_auth_cram_check("<1.2@trap.example>", &c, "secret");
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
		fuzz_decode(in, len, outsz, false);
		break;
	case 1:
		fuzz_roundtrip(data + 1, size - 1);
		break;
	case 2:
		fuzz_plain(in, len);
		break;
	case 3:
		fuzz_decode(in, len, outsz, true);
		break;
	default:
		fuzz_cram(in, len);
		break;
	}
	return 0;
}
