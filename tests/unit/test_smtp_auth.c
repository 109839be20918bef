/*
 * test_smtp_auth.c -- SASL decoding: strict base64, PLAIN fields (with
 * NULs and bounds: over-long fields are kept cut and marked), LOGIN,
 * CRAM-MD5 against the RFC 2195 example.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_auth.h"
#include "tests/tap.h"

#define S(lit)	(lit), (sizeof(lit) - 1)

struct mech_case {
	const char		*in;
	enum smtp_auth_mech	 want;
};

static const struct mech_case mech_cases[] = {
	{ .in = "PLAIN", .want = SMTP_AUTH_PLAIN },
	{ .in = "plain", .want = SMTP_AUTH_PLAIN },
	{ .in = "Login", .want = SMTP_AUTH_LOGIN },
	{ .in = "CRAM-MD5", .want = SMTP_AUTH_CRAM_MD5 },
	{ .in = "cram-md5", .want = SMTP_AUTH_CRAM_MD5 },
	{ .in = "DIGEST-MD5", .want = SMTP_AUTH_OTHER },
	{ .in = "NTLM", .want = SMTP_AUTH_OTHER },
	{ .in = "PLAINX", .want = SMTP_AUTH_OTHER },
	{ .in = "PLAI", .want = SMTP_AUTH_OTHER },
	{ .in = "", .want = SMTP_AUTH_NONE },
};

struct b64_case {
	const char	*name;
	const char	*in;
	int		 want;		/* 0 or -1 */
	const char	*out;
	size_t		 outlen;
};

static const struct b64_case b64_cases[] = {
	{ .name = "empty", .in = "", .want = 0, .out = S("") },
	{ .name = "lone =", .in = "=", .want = 0, .out = S("") },
	{ .name = "one byte", .in = "QQ==", .want = 0, .out = S("A") },
	{ .name = "two bytes", .in = "QUI=", .want = 0, .out = S("AB") },
	{ .name = "three bytes", .in = "QUJD", .want = 0, .out = S("ABC") },
	{ .name = "four bytes", .in = "QUJDRA==", .want = 0, .out = S("ABCD") },
	{ .name = "unpadded 2", .in = "QUJDRA", .want = 0, .out = S("ABCD") },
	{ .name = "unpadded 3", .in = "QUI", .want = 0, .out = S("AB") },
	{ .name = "nul bytes", .in = "AGEAYg==", .want = 0, .out = S("\0a\0b") },
	{ .name = "binary", .in = "/+8A", .want = 0, .out = S("\xff\xef\x00") },
	{ .name = "one char", .in = "Q", .want = -1 },
	{ .name = "five chars", .in = "QUJDR", .want = -1 },
	{ .name = "bad padding", .in = "QQ=", .want = -1 },
	{ .name = "three =", .in = "QQ===", .want = -1 },
	{ .name = "== only", .in = "==", .want = -1 },
	{ .name = "= inside", .in = "Q=Q=", .want = -1 },
	{ .name = "= first", .in = "=QUJ", .want = -1 },
	{ .name = "space", .in = "QU JD", .want = -1 },
	{ .name = "cr", .in = "QUJD\r", .want = -1 },
	{ .name = "url-safe", .in = "QU-_", .want = -1 },
	{ .name = "8bit", .in = "QUJ\xc3", .want = -1 },
	{ .name = "star", .in = "*", .want = -1 },
};

/* RFC 2195 section 2 example */
#define CRAM_CHAL	"<1896.697170952@postoffice.reston.mci.net>"
#define CRAM_PASS	"tanstaaftanstaaf"
#define CRAM_RESP	"tim b913a602c7eda7a495b4e6e7334d3890"

static void
b64(const void *in, size_t len, char *out, size_t outsz)
{
	if (smtp_auth_b64_encode(in, len, out, outsz) == 0 && len > 0)
		out[0] = '\0';
}

static void
test_b64(void)
{
	char	 out[64], big[2048];
	size_t	 i, n;
	int	 rc;

	for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		const struct b64_case *c = &b64_cases[i];

		rc = smtp_auth_b64_decode(c->in, strlen(c->in), out,
		    sizeof(out), &n);
		is_int(rc, c->want, "b64 %s: result", c->name);
		if (c->want == 0 && rc == 0) {
			is_mem(out, n, c->out, c->outlen, "b64 %s: bytes",
			    c->name);
			is_int(out[n], 0, "b64 %s: NUL-terminated", c->name);
		}
	}
	/* bounded output: "ABC" needs 4 bytes with its NUL */
	is_int(smtp_auth_b64_decode("QUJD", 4, out, 4, &n), 0, "b64 fits 4");
	is_int(smtp_auth_b64_decode("QUJD", 4, out, 3, &n), -1, "b64 over 3");
	is_int(smtp_auth_b64_decode("QQ==", 4, out, 1, &n), -1, "b64 over 1");
	is_int(smtp_auth_b64_decode("", 0, out, 1, &n), 0, "b64 empty in 1");

	is_int(smtp_auth_b64_encode("A", 1, out, sizeof(out)), 4, "enc A len");
	is_str(out, "QQ==", "enc A");
	is_int(smtp_auth_b64_encode("", 0, out, sizeof(out)), 0, "enc empty");
	is_str(out, "", "enc empty string");
	is_int(smtp_auth_b64_encode("ABC", 3, out, 4), 0, "enc no room");
	is_int(smtp_auth_b64_encode("ABC", 3, out, 5), 4, "enc exact room");
	/* round trip of every byte value */
	for (i = 0; i < 256; i++)
		big[i] = (char)i;
	n = smtp_auth_b64_encode(big, 256, big + 256, sizeof(big) - 256);
	ok(n == 344, "enc 256 bytes");
	is_int(smtp_auth_b64_decode(big + 256, n, out, sizeof(out), &n), -1,
	    "dec 256 bytes does not fit 64");
	{
		char	 dec[300];

		n = strlen(big + 256);
		is_int(smtp_auth_b64_decode(big + 256, n, dec, sizeof(dec), &n),
		    0, "dec 256 bytes");
		is_mem(dec, n, big, 256, "round trip 256 bytes");
	}
}

static void
test_plain(void)
{
	struct smtp_auth_cred	 c;
	char			 enc[2200], raw[1600];
	size_t			 n;

	b64(S("\0user\0pass"), enc, sizeof(enc));
	is_int(smtp_auth_plain(enc, strlen(enc), &c), 0, "plain: parse");
	is_int(c.mech, SMTP_AUTH_PLAIN, "plain: mech");
	is_mem(c.authzid, c.authzid_len, "", 0, "plain: authzid");
	is_mem(c.user, c.user_len, "user", 4, "plain: user");
	is_mem(c.password, c.password_len, "pass", 4, "plain: password");

	b64(S("admin\0user@example.net\0s3cr3t!"), enc, sizeof(enc));
	is_int(smtp_auth_plain(enc, strlen(enc), &c), 0, "plain authz: parse");
	is_str(c.authzid, "admin", "plain authz: authzid");
	is_str(c.user, "user@example.net", "plain authz: user");
	is_str(c.password, "s3cr3t!", "plain authz: password");

	b64(S("\0u\0p\0q\xff"), enc, sizeof(enc));
	is_int(smtp_auth_plain(enc, strlen(enc), &c), 0, "plain nul pw: parse");
	is_mem(c.password, c.password_len, "p\0q\xff", 4,
	    "plain nul pw: bytes kept");

	b64(S("\0\0"), enc, sizeof(enc));
	is_int(smtp_auth_plain(enc, strlen(enc), &c), 0, "plain empty: parse");
	ok(c.user_len == 0 && c.password_len == 0, "plain empty: fields");

	b64(S("user\0pass"), enc, sizeof(enc));
	is_int(smtp_auth_plain(enc, strlen(enc), &c), -1, "plain one nul");
	b64(S("userpass"), enc, sizeof(enc));
	is_int(smtp_auth_plain(enc, strlen(enc), &c), -1, "plain no nul");
	is_int(smtp_auth_plain("", 0, &c), -1, "plain empty string");
	is_int(smtp_auth_plain("=", 1, &c), -1, "plain =");
	is_int(smtp_auth_plain(S("AHVzZXIAcGFzcw=!"), &c), -1, "plain bad b64");

	/* field bounds: 512 fits, 513 is kept cut to 512 and marked */
	memset(raw, 'u', sizeof(raw));
	raw[0] = '\0';
	raw[513] = '\0';
	memcpy(raw + 514, "pw", 2);	/* \0 512 x u \0 pw */
	n = smtp_auth_b64_encode(raw, 516, enc, sizeof(enc));
	is_int(smtp_auth_plain(enc, n, &c), 0, "plain 512 user");
	is_int(c.user_len, 512, "plain 512 user: len");
	ok(!c.truncated, "plain 512 user: not truncated");
	raw[513] = 'u';
	memcpy(raw + 514, "\0pw", 3);	/* \0 513 x u \0 pw */
	n = smtp_auth_b64_encode(raw, 517, enc, sizeof(enc));
	is_int(smtp_auth_plain(enc, n, &c), 0, "plain 513 user");
	is_int(c.user_len, 512, "plain 513 user: cut to 512");
	ok(c.truncated, "plain 513 user: truncated");
	is_mem(c.user, c.user_len, raw + 1, 512, "plain 513 user: bytes");
	is_mem(c.password, c.password_len, "pw", 2,
	    "plain 513 user: password kept");
	/* 3 x 512 is the largest message kept whole */
	memset(raw, 'x', sizeof(raw));
	raw[512] = raw[1025] = '\0';
	n = smtp_auth_b64_encode(raw, 1538, enc, sizeof(enc));
	is_int(smtp_auth_plain(enc, n, &c), 0, "plain 3x512");
	ok(!c.truncated && c.authzid_len == 512 && c.user_len == 512 &&
	    c.password_len == 512, "plain 3x512: whole");
	n = smtp_auth_b64_encode(raw, 1539, enc, sizeof(enc));
	is_int(smtp_auth_plain(enc, n, &c), 0, "plain 3x512+1");
	ok(c.truncated && c.password_len == 512 && c.user_len == 512,
	    "plain 3x512+1: password cut, truncated");
	/* an authzid over the limit: cut, the other fields intact */
	memset(raw, 'a', 600);
	memcpy(raw + 600, "\0bob\0pw", 7);
	n = smtp_auth_b64_encode(raw, 607, enc, sizeof(enc));
	is_int(smtp_auth_plain(enc, n, &c), 0, "plain 600 authzid");
	ok(c.truncated && c.authzid_len == 512 &&
	    strcmp(c.user, "bob") == 0 && strcmp(c.password, "pw") == 0,
	    "plain 600 authzid: cut, user and password intact");
	/* a failed decode leaves no partial fields behind */
	b64(S("admin-with-no-nul"), enc, sizeof(enc));
	is_int(smtp_auth_plain(enc, strlen(enc), &c), -1, "plain no nul 2");
	ok(c.authzid_len == 0 && c.user_len == 0 && c.password_len == 0 &&
	    !c.truncated && c.authzid[0] == '\0', "plain no nul: fields empty");
}

/* a response of any length the line limit allows: kept cut, never refused */
static void
test_plain_huge(void)
{
	struct smtp_auth_cred	 c;
	static char		 raw[49149], enc[65533];
	size_t			 n;

	memset(raw, 'p', sizeof(raw));
	memcpy(raw, "\0mallory\0", 9);
	n = smtp_auth_b64_encode(raw, sizeof(raw), enc, sizeof(enc));
	ok(n == sizeof(enc) - 1, "plain 48K: encoded to 64K");
	is_int(smtp_auth_plain(enc, n, &c), 0, "plain 48K password: parse");
	ok(c.truncated && c.password_len == SMTP_AUTH_FIELD_MAX &&
	    strcmp(c.user, "mallory") == 0 && c.password[512] == '\0',
	    "plain 48K password: user kept, password cut to 512");
}
static void
test_login(void)
{
	char	 out[SMTP_AUTH_FIELD_MAX + 1], enc[1024], raw[600];
	static char big[30000], bigenc[40004];
	size_t	 n;
	bool	 cut;

	is_int(smtp_auth_login_field(S("dXNlcm5hbWU="), out, sizeof(out), &n,
	    &cut), 0, "login: parse");
	is_mem(out, n, "username", 8, "login: value");
	ok(!cut, "login: not truncated");
	is_int(smtp_auth_login_field(S("dXNl cm5hbWU="), out, sizeof(out), &n,
	    &cut), -1, "login: bad b64");
	is_int(smtp_auth_login_field(S("="), out, sizeof(out), &n, &cut), 0,
	    "login: empty");
	is_int(n, 0, "login: empty len");
	memset(raw, 'p', sizeof(raw));
	smtp_auth_b64_encode(raw, 512, enc, sizeof(enc));
	is_int(smtp_auth_login_field(enc, strlen(enc), out, sizeof(out), &n,
	    &cut), 0, "login: 512");
	ok(n == 512 && !cut, "login: 512 whole");
	smtp_auth_b64_encode(raw, 513, enc, sizeof(enc));
	is_int(smtp_auth_login_field(enc, strlen(enc), out, sizeof(out), &n,
	    &cut), 0, "login: 513");
	ok(n == 512 && cut && out[512] == '\0', "login: 513 cut to 512");
	/* a buffer smaller than the limit cuts at its size */
	is_int(smtp_auth_login_field(S("dXNlcm5hbWU="), out, 8, &n, &cut), 0,
	    "login: small buffer");
	ok(n == 7 && cut && strcmp(out, "usernam") == 0,
	    "login: small buffer cut to 7");
	is_int(smtp_auth_login_field(S("dXNlcm5hbWU="), out, 0, &n, &cut), -1,
	    "login: no buffer");
	memset(big, 'L', sizeof(big));
	n = smtp_auth_b64_encode(big, sizeof(big), bigenc, sizeof(bigenc));
	is_int(smtp_auth_login_field(bigenc, n, out, sizeof(out), &n, &cut), 0,
	    "login: 30000 bytes");
	ok(n == 512 && cut, "login: 30000 bytes cut to 512");
}

static void
test_cram(void)
{
	struct smtp_auth_cred	 c;
	char			 enc[1024], raw[700];
	size_t			 n;

	b64(S(CRAM_RESP), enc, sizeof(enc));
	is_str(enc, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw",
	    "cram: RFC 2195 base64");
	is_int(smtp_auth_cram(enc, strlen(enc), &c), 0, "cram: parse");
	is_int(c.mech, SMTP_AUTH_CRAM_MD5, "cram: mech");
	is_str(c.user, "tim", "cram: user");
	is_str(c.digest, "b913a602c7eda7a495b4e6e7334d3890", "cram: digest");
	ok(smtp_auth_cram_check(CRAM_CHAL, &c, CRAM_PASS), "cram: check ok");
	ok(!smtp_auth_cram_check(CRAM_CHAL, &c, "tanstaaftanstaag"),
	    "cram: wrong password");
	ok(!smtp_auth_cram_check("<1@x>", &c, CRAM_PASS),
	    "cram: wrong challenge");

	b64(S("tim B913A602C7EDA7A495B4E6E7334D3890"), enc, sizeof(enc));
	is_int(smtp_auth_cram(enc, strlen(enc), &c), 0, "cram upper: parse");
	ok(smtp_auth_cram_check(CRAM_CHAL, &c, CRAM_PASS), "cram upper: ok");

	b64(S("first last b913a602c7eda7a495b4e6e7334d3890"), enc, sizeof(enc));
	is_int(smtp_auth_cram(enc, strlen(enc), &c), 0, "cram sp user");
	is_str(c.user, "first last", "cram sp user: name");

	b64(S("tim b913a602c7eda7a495b4e6e7334d389"), enc, sizeof(enc));
	is_int(smtp_auth_cram(enc, strlen(enc), &c), -1, "cram: 31 hex");
	b64(S("tim b913a602c7eda7a495b4e6e7334d38900"), enc, sizeof(enc));
	is_int(smtp_auth_cram(enc, strlen(enc), &c), -1, "cram: 33 hex");
	b64(S("timb913a602c7eda7a495b4e6e7334d3890"), enc, sizeof(enc));
	is_int(smtp_auth_cram(enc, strlen(enc), &c), -1, "cram: no space");
	b64(S(" b913a602c7eda7a495b4e6e7334d3890"), enc, sizeof(enc));
	is_int(smtp_auth_cram(enc, strlen(enc), &c), -1, "cram: no user");
	b64(S("tim g913a602c7eda7a495b4e6e7334d3890"), enc, sizeof(enc));
	is_int(smtp_auth_cram(enc, strlen(enc), &c), -1, "cram: not hex");
	is_int(smtp_auth_cram(S("!!!!"), &c), -1, "cram: bad b64");
	/* a failed decode leaves no partial fields behind */
	ok(c.user_len == 0 && c.digest_len == 0 && c.user[0] == '\0',
	    "cram: bad b64 leaves nothing");
	memset(raw, 'u', sizeof(raw));
	memcpy(raw + 513, " b913a602c7eda7a495b4e6e7334d3890", 33);
	n = smtp_auth_b64_encode(raw, 546, enc, sizeof(enc));
	is_int(smtp_auth_cram(enc, n, &c), 0, "cram: 513 user");
	ok(c.user_len == 512 && c.truncated && c.user[512] == '\0' &&
	    strcmp(c.digest, "b913a602c7eda7a495b4e6e7334d3890") == 0,
	    "cram: 513 user cut to 512, digest kept");
	n = smtp_auth_b64_encode(raw + 1, 545, enc, sizeof(enc));
	is_int(smtp_auth_cram(enc, n, &c), 0, "cram: 512 user");
	ok(c.user_len == 512 && !c.truncated, "cram: 512 user whole");
	memcpy(raw + 513, " b913a602c7eda7a495b4e6e7334d389g", 33);
	n = smtp_auth_b64_encode(raw, 546, enc, sizeof(enc));
	is_int(smtp_auth_cram(enc, n, &c), -1, "cram: 513 user, not hex");
	{
		static char big[20033], bigenc[26800];

		memset(big, 'U', sizeof(big));
		memcpy(big + 20000, " B913A602C7EDA7A495B4E6E7334D3890", 33);
		n = smtp_auth_b64_encode(big, sizeof(big), bigenc,
		    sizeof(bigenc));
		is_int(smtp_auth_cram(bigenc, n, &c), 0, "cram: 20000 user");
		ok(c.user_len == 512 && c.truncated &&
		    strcmp(c.digest, "B913A602C7EDA7A495B4E6E7334D3890") == 0,
		    "cram: 20000 user cut to 512, digest kept");
	}

	memset(&c, 0, sizeof(c));
	ok(!smtp_auth_cram_check(CRAM_CHAL, &c, CRAM_PASS), "cram: empty cred");
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(mech_cases) / sizeof(mech_cases[0]); i++)
		is_int(smtp_auth_mech_parse(mech_cases[i].in,
		    strlen(mech_cases[i].in)), mech_cases[i].want,
		    "mech \"%s\"", mech_cases[i].in);
	is_str(smtp_auth_mech_name(SMTP_AUTH_CRAM_MD5), "CRAM-MD5", "name cram");
	is_str(smtp_auth_mech_name(SMTP_AUTH_PLAIN), "PLAIN", "name plain");
	is_str(smtp_auth_mech_name(SMTP_AUTH_NONE), "NONE", "name none");
	test_b64();
	test_plain();
	test_plain_huge();
	test_login();
	test_cram();
	return tap_done();
}
