/*
 * an_encode.h -- every textual encoding of the trap's own addresses (the
 * "needles"), built once, and a case-insensitive search for them in text
 * with address-aware boundaries. Used by the relay-test classifier.
 */
#ifndef RT_AN_ENCODE_H
#define RT_AN_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

/* what a search found: none, a weak (embedded) hit, or a clean hit */
enum an_enc_result {
	AN_ENC_NONE = 0,
	AN_ENC_WEAK = 1,
	AN_ENC_STRONG = 2,
};

struct an_needles;

/*
 * One hit; its strings point into the needle set (valid until freed).
 * addr: the address as added ("198.51.100.25"); form: "dotted",
 * "dotted_port", "bracketed", "hex", "hex0x", "decimal", "reversed",
 * "v6_full", ... (docs/RELAYTEST.md); needle: the lowercase needle that
 * matched; off: its offset in the text; weak: embedded in a longer run.
 */
struct an_hit {
	const char	*addr;
	const char	*form;
	const char	*needle;
	size_t		 off;
	bool		 weak;
};

struct an_needles	*an_needles_new(void);
int			 an_needles_add(struct an_needles *nd,
			    const char *addr, const char **errstr);
size_t			 an_needles_count(const struct an_needles *nd);
const char		*an_needles_get(const struct an_needles *nd, size_t i,
			    const char **form);
enum an_enc_result	 an_needles_search(const struct an_needles *nd,
			    const char *text, size_t len, struct an_hit *hit);
void			 an_needles_free(struct an_needles *nd);

#endif
