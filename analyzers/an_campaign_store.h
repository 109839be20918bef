/*
 * an_campaign_store.h -- the campaigns' SQLite store, SPOOL/campaigns.sqlite
 * (WAL): one row per campaign with its representative hashes, the exact
 * hashes and message ids that joined it, and its sources (client
 * addresses). Written by the campaign analyzer in the worker, read by
 * relaytrap(1). One handle per process; not thread-safe.
 */
#ifndef RT_AN_CAMPAIGN_STORE_H
#define RT_AN_CAMPAIGN_STORE_H

#include <stdbool.h>
#include <stdint.h>

#define AN_CAMP_ID_MAX		32	/* "c" + hex digits + NUL, with room */
#define AN_CAMP_DB		"campaigns.sqlite"
#define AN_CAMP_MH_SLOTS	64	/* MinHash values per signature */
#define AN_CAMP_MH_BANDS	16	/* LSH bands of 4 values */
#define AN_CAMP_MH_LEN		(3 + 4 * AN_CAMP_MH_SLOTS) /* "mh:", hex */

struct an_cstore;

/* one campaign; strings valid during the callback or until the next call */
struct an_camp {
	const char	*id;
	const char	*exact;		/* representative exact hash */
	const char	*fuzzy;		/* representative ssdeep hash */
	const char	*subject;	/* sample subject, escaped UTF-8 */
	int64_t		 first;		/* unix seconds */
	int64_t		 last;
	int64_t		 count;		/* messages */
	int64_t		 nsources;	/* distinct client addresses */
};

/* one source of a campaign */
struct an_camp_source {
	const char	*addr;
	int64_t		 count;
	int64_t		 first;
	int64_t		 last;
};

struct an_cstore *an_cstore_open(const char *path, bool create,
		    const char **errstr);
void		 an_cstore_close(struct an_cstore *st);
int		 an_cstore_begin(struct an_cstore *st);
int		 an_cstore_commit(struct an_cstore *st);
void		 an_cstore_rollback(struct an_cstore *st);
void		 an_cstore_set_batch(struct an_cstore *st, bool on);
int		 an_cstore_flush(struct an_cstore *st);
int		 an_cstore_member(struct an_cstore *st, const char *msgid,
		    char *id, size_t idlen, char *kind, size_t kindlen,
		    int *score, bool *found);
int		 an_cstore_find_exact(struct an_cstore *st, const char *exact,
		    char *id, size_t idlen, bool *found);
int		 an_cstore_find_fuzzy(struct an_cstore *st, const char *fuzzy,
		    char *id, size_t idlen, int *score);
int		 an_cstore_find_shingle(struct an_cstore *st,
		    const char *shingle, char *id, size_t idlen, int *score);
int		 an_cstore_shingle_compare(const char *a, const char *b);
int		 an_cstore_create(struct an_cstore *st, const char *exact,
		    const char *fuzzy, const char *shingle, const char *subject,
		    int64_t now, char *id, size_t idlen);
int		 an_cstore_add(struct an_cstore *st, const char *id,
		    const char *msgid, const char *exact, const char *client,
		    int64_t now, const char *kind, int score);
int		 an_cstore_list(struct an_cstore *st,
		    int (*cb)(const struct an_camp *, void *), void *arg);
int		 an_cstore_get(struct an_cstore *st, const char *id,
		    int (*cb)(const struct an_camp *, void *), void *arg,
		    bool *found);
int		 an_cstore_sources(struct an_cstore *st, const char *id,
		    int limit, int (*cb)(const struct an_camp_source *, void *),
		    void *arg);
bool		 an_cstore_id_valid(const char *id);

#endif
