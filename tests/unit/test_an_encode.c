/*
 * test_an_encode.c -- every encoding of the trap's addresses, the boundary
 * rules (longer numbers are other addresses, embedded hex is weak), and
 * the needle set's construction.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_encode.h"
#include "tap.h"

struct enc_case {
	const char		*name;
	const char		*text;
	size_t			 len;		/* 0: strlen(text) */
	enum an_enc_result	 want;
	const char		*form;
	const char		*addr;
};

static const struct enc_case cases[] = {
	{ .name = "dotted", .text = "relay 198.51.100.25 ok",
	  .want = AN_ENC_STRONG, .form = "dotted", .addr = "198.51.100.25" },
	{ .name = "dotted end of sentence", .text = "via 198.51.100.25.",
	  .want = AN_ENC_STRONG, .form = "dotted" },
	{ .name = "with port", .text = "Relay test 198.51.100.25:25",
	  .want = AN_ENC_STRONG, .form = "dotted_port" },
	{ .name = "bracketed", .text = "antispam@[198.51.100.25]",
	  .want = AN_ENC_STRONG, .form = "bracketed" },
	{ .name = "hex upper", .text = "id C6336419 end",
	  .want = AN_ENC_STRONG, .form = "hex" },
	{ .name = "hex lower", .text = "c6336419",
	  .want = AN_ENC_STRONG, .form = "hex" },
	{ .name = "hex 0x", .text = "server=0xC6336419;",
	  .want = AN_ENC_STRONG, .form = "hex0x" },
	{ .name = "hex 0x lower", .text = "0xc6336419",
	  .want = AN_ENC_STRONG, .form = "hex0x" },
	{ .name = "hex embedded (Oudot)", .text = "meeting at 1C6336419:8080:6",
	  .want = AN_ENC_WEAK, .form = "hex" },
	{ .name = "hex in longer run", .text = "deadbeefc6336419cafe",
	  .want = AN_ENC_WEAK, .form = "hex" },
	{ .name = "hex dotted", .text = "C6.33.64.19",
	  .want = AN_ENC_STRONG, .form = "hex_dotted" },
	{ .name = "decimal", .text = "http://3325256729/x",
	  .want = AN_ENC_STRONG, .form = "decimal" },
	{ .name = "decimal inside longer number", .text = "33252567290",
	  .want = AN_ENC_NONE },
	{ .name = "reversed", .text = "25.100.51.198.in-addr.arpa",
	  .want = AN_ENC_STRONG, .form = "reversed" },
	{ .name = "zero padded", .text = "198.051.100.025",
	  .want = AN_ENC_STRONG, .form = "dotted_padded" },
	{ .name = "longer last octet", .text = "198.51.100.251",
	  .want = AN_ENC_NONE },
	{ .name = "longer first octet", .text = "1198.51.100.25",
	  .want = AN_ENC_NONE },
	{ .name = "one more octet before", .text = "1.198.51.100.25",
	  .want = AN_ENC_NONE },
	{ .name = "one more octet after", .text = "198.51.100.25.7",
	  .want = AN_ENC_NONE },
	{ .name = "neighbour address", .text = "198.51.100.26",
	  .want = AN_ENC_NONE },
	{ .name = "v4-mapped", .text = "from ::ffff:198.51.100.25 ok",
	  .want = AN_ENC_STRONG, .form = "v4mapped" },
	{ .name = "v4-mapped hex", .text = "::FFFF:C633:6419",
	  .want = AN_ENC_STRONG, .form = "v4mapped_hex" },
	{ .name = "v6 compressed", .text = "test 2001:db8::25 ok",
	  .want = AN_ENC_STRONG, .form = "v6_compressed",
	  .addr = "2001:db8::25" },
	{ .name = "v6 upper case", .text = "2001:DB8::25",
	  .want = AN_ENC_STRONG, .form = "v6_compressed" },
	{ .name = "v6 full", .text = "2001:0db8:0000:0000:0000:0000:0000:0025",
	  .want = AN_ENC_STRONG, .form = "v6_full" },
	{ .name = "v6 expanded", .text = "2001:db8:0:0:0:0:0:25",
	  .want = AN_ENC_STRONG, .form = "v6_expanded" },
	{ .name = "v6 bracketed", .text = "x@[2001:db8::25]",
	  .want = AN_ENC_STRONG, .form = "v6_bracketed" },
	{ .name = "v6 longer", .text = "2001:db8::251",
	  .want = AN_ENC_NONE },
	{ .name = "v6 more groups", .text = "2001:db8::25:1",
	  .want = AN_ENC_NONE },
	{ .name = "v6 hex", .text = "20010DB8000000000000000000000025",
	  .want = AN_ENC_STRONG, .form = "v6_hex" },
	{ .name = "v6 nibbles", .text = "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	  "0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	  .want = AN_ENC_STRONG, .form = "v6_nibbles" },
	{ .name = "strong beats weak", .text = "1c6336419 and 198.51.100.25",
	  .want = AN_ENC_STRONG, .form = "dotted" },
	{ .name = "earliest strong", .text = "c6336419 198.51.100.25",
	  .want = AN_ENC_STRONG, .form = "hex" },
	{ .name = "NUL bytes", .text = "a\0b 198.51.100.25\0", .len = 19,
	  .want = AN_ENC_STRONG, .form = "dotted" },
	{ .name = "empty", .text = "", .want = AN_ENC_NONE },
	{ .name = "nothing", .text = "Hello, cheap watches!",
	  .want = AN_ENC_NONE },
};

int
main(void)
{
	struct an_needles *nd;
	struct an_hit	 hit;
	const char	*errstr, *form;
	char		 buf[256];
	size_t		 i, n, len;
	enum an_enc_result r;

	nd = an_needles_new();
	is_int(an_needles_search(nd, "198.51.100.25", 13, &hit), AN_ENC_NONE,
	    "empty set finds nothing");
	is_int(an_needles_add(nd, "198.51.100.25", &errstr), 0, "add v4");
	is_int(an_needles_add(nd, "[2001:db8::25]", &errstr), 0,
	    "add bracketed v6");
	n = an_needles_count(nd);
	ok(n >= 12, "needles: %zu", n);
	is_int(an_needles_add(nd, "198.51.100.25", &errstr), 0, "add again");
	is_int(an_needles_count(nd), n, "duplicate adds nothing");
	is_int(an_needles_add(nd, "mail.example.net", &errstr), -1,
	    "name rejected");
	ok(errstr != NULL, "errstr set");
	is_int(an_needles_add(nd, "198.51.100.25:25", &errstr), -1,
	    "port rejected");
	is_str(an_needles_get(nd, 0, &form), "198.51.100.25", "first needle");
	is_str(form, "dotted", "first form");
	ok(an_needles_get(nd, n, NULL) == NULL, "out of range");

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct enc_case *c = &cases[i];

		len = c->len ? c->len : strlen(c->text);
		memset(&hit, 0, sizeof(hit));
		r = an_needles_search(nd, c->text, len, &hit);
		is_int(r, c->want, "%s: result", c->name);
		if (c->want != AN_ENC_NONE && r != AN_ENC_NONE) {
			is_str(hit.form, c->form, "%s: form", c->name);
			ok(hit.weak == (c->want == AN_ENC_WEAK),
			    "%s: weak flag", c->name);
			ok(hit.off < len, "%s: offset", c->name);
		}
		if (c->addr != NULL)
			is_str(hit.addr, c->addr, "%s: addr", c->name);
		/* same verdict in the middle of other text */
		if (c->len == 0 && len + 16 < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "Xy: %s ;\n", c->text);
			is_int(an_needles_search(nd, buf, strlen(buf), NULL),
			    c->want, "%s: embedded", c->name);
		}
	}
	an_needles_free(nd);
	an_needles_free(NULL);
	return tap_done();
}
