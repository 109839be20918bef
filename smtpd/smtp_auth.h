/*
 * smtp_auth.h -- decoding of SASL exchanges the trap records (RFC 4954):
 * PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5
 * (RFC 2195). Pure functions over untrusted base64; credentials come out
 * as bytes (they may contain anything) with lengths, each field cut to
 * SMTP_AUTH_FIELD_MAX bytes (then marked truncated). Base64 and HMAC are
 * OpenSSL's.
 */
#ifndef RT_SMTP_AUTH_H
#define RT_SMTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_AUTH_FIELD_MAX	512

enum smtp_auth_mech {
	SMTP_AUTH_NONE = 0,
	SMTP_AUTH_PLAIN,
	SMTP_AUTH_LOGIN,
	SMTP_AUTH_CRAM_MD5,
	SMTP_AUTH_OTHER,	/* named but not offered: recorded, refused */
};

struct smtp_auth_cred {
	enum smtp_auth_mech mech;
	char	 authzid[SMTP_AUTH_FIELD_MAX + 1];
	size_t	 authzid_len;
	char	 user[SMTP_AUTH_FIELD_MAX + 1];
	size_t	 user_len;
	char	 password[SMTP_AUTH_FIELD_MAX + 1];	/* LOGIN, PLAIN */
	size_t	 password_len;
	char	 digest[SMTP_AUTH_FIELD_MAX + 1];	/* CRAM-MD5 hex response */
	size_t	 digest_len;
	bool	 truncated;	/* a field was longer than the limit: cut */
};

enum smtp_auth_mech smtp_auth_mech_parse(const char *s, size_t len);
const char	*smtp_auth_mech_name(enum smtp_auth_mech m);
int		 smtp_auth_b64_decode(const char *in, size_t len, char *out,
		    size_t outsz, size_t *outlen);
size_t		 smtp_auth_b64_encode(const void *in, size_t len, char *out,
		    size_t outsz);
int		 smtp_auth_plain(const char *b64, size_t len,
		    struct smtp_auth_cred *c);
int		 smtp_auth_login_field(const char *b64, size_t len, char *out,
		    size_t outsz, size_t *outlen, bool *truncated);
int		 smtp_auth_cram(const char *b64, size_t len,
		    struct smtp_auth_cred *c);
bool		 smtp_auth_cram_check(const char *challenge,
		    const struct smtp_auth_cred *c, const char *password);

#endif
