/*
 * an_campaign.h -- the campaign analyzer (issue 4): groups messages that
 * are copies of one template. Its result, under "campaign" in
 * analysis.json, is
 *
 *	{"campaign": "c0123456789a", "new": bool, "exact": "<64 hex>",
 *	 "fuzzy": "<ssdeep>", "score": 0-100,
 *	 "match": "exact"|"fuzzy"|"shingle"|"new"}
 *
 * exact is the SHA-256 of the normalised text (an_campaign_normalise),
 * fuzzy its ssdeep hash. score is 100 for an exact match, else the
 * better of the ssdeep score (match "fuzzy") and the MinHash shingle
 * score (match "shingle", the one that works on short texts) against
 * the best campaign, and for a new campaign the best score found below
 * the threshold (0 if nothing compared). The campaign id is "c" and 11
 * (rarely more) hex digits of the founding message's exact hash. The
 * campaigns live in SPOOL/campaigns.sqlite (an_campaign_store.h);
 * docs/CAMPAIGNS.md explains the choices.
 */
#ifndef RT_AN_CAMPAIGN_H
#define RT_AN_CAMPAIGN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "an.h"
#include "an_campaign_store.h"

#define AN_CAMP_TEXT_MAX	(256 * 1024)	/* text bytes hashed */
#define AN_CAMP_MH_TEXT_MAX	(64 * 1024)	/* bytes shingled */
#define AN_CAMP_SUBJECT_MAX	200	/* bytes of sample subject kept */
#define AN_CAMP_EXACT_LEN	64	/* hex digits of SHA-256 */

struct an_cstore;

extern const struct an_analyzer an_campaign;

/* what one message contributes; all strings may be NULL except text */
struct an_camp_msg {
	const char	*msgid;		/* queue id: counted once */
	const char	*client;	/* envelope client address */
	const char	*subject;	/* decoded, UTF-8 */
	const char	*text;		/* message text, UTF-8 */
	size_t		 textlen;
	const char *const *rcpt;	/* recipient addresses */
	size_t		 nrcpt;
	int64_t		 now;
};

char		*an_campaign_normalise(const char *text, size_t len,
		    const char *const *rcpt, size_t nrcpt);
int		 an_campaign_hash(const char *norm, char *exact,
		    size_t exactlen, char *fuzzy, size_t fuzzylen,
		    char *shingle, size_t shinglelen);
char		*an_campaign_text_mime(void *message, size_t *len);
char		*an_campaign_text_raw(const char *msg, size_t msglen,
		    size_t *len, char **subject);
int		 an_campaign_group(struct an_cstore *st, int threshold,
		    const struct an_camp_msg *m, json_t **out);

#endif
