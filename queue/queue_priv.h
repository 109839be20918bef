/*
 * queue_priv.h -- what the files of queue/ share and nobody else uses:
 * the struct behind the opaque handles, directory helpers that work on the
 * spool root fd, and test-only accessors. Not installed; included only by
 * the queue/ sources and the queue unit tests.
 */
#ifndef RT_QUEUE_PRIV_H
#define RT_QUEUE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "queue.h"

#define QUEUE_DIR_MODE		0750
#define QUEUE_FILE_MODE		0640
#define QUEUE_WBUF_SIZE		(64 * 1024)	/* message write buffer */
#define QUEUE_RMTREE_DEPTH	8		/* later stages' subdirs */
#define QUEUE_PATH_MAX		128		/* "corrupt/<id>/<name>" etc. */
#define QUEUE_JSON_MAX		(16 * 1024 * 1024) /* envelope/record cap */
#define QUEUE_MEM_MSG_MAX	(256 * 1024)	/* kept in memory up to this */
#define QUEUE_MEM_BUDGET	(64UL * 1024 * 1024) /* all in-memory messages */

#define QUEUE_JSEG_SIZE		(4 * 1024 * 1024) /* one journal segment */
#define QUEUE_JSEG_MAX		16		/* segments at most */

struct queue {
	int		 rootfd;
	int		 lockfd;	/* relaytrapd.lock, or -1 */
	char		*path;		/* for messages only, never opened */
	size_t		 membytes;	/* in-memory message bytes (atomic) */
};

/*
 * A message lives in memory (mem) until it is committed, so the owner's
 * event loop never touches the disk; one larger than QUEUE_MEM_MSG_MAX,
 * or arriving while QUEUE_MEM_BUDGET is used up, is spilled to
 * tmp/<id>/message and streamed there.
 */
struct queue_msg {
	struct queue	*q;
	char		 id[QUEUE_ID_LEN + 1];
	unsigned char	*mem;		/* content while not spilled */
	size_t		 memlen;
	size_t		 memcap;
	bool		 spilled;	/* tmp/<id>/ exists */
	bool		 streamed;	/* content is in tmp/<id>/message */
	json_t		*env;		/* the envelope, rendered by the
					   committer thread */
	char		*envjs;		/* rendered envelope.json, or NULL */
	size_t		 envlen;
	int		 fd;		/* tmp/<id>/message, -1 once closed */
	unsigned char	*buf;		/* allocated at the first write */
	size_t		 buflen;
	uint64_t	 size;
	EVP_MD_CTX	*md;
	int		 error;		/* sticky errno of a failed write */
	bool		 closed;	/* queue_msg_close() succeeded */
};

/* what queue_list() keeps from a directory */
enum queue_list_kind {
	QUEUE_L_DAY,		/* YYYYMMDD */
	QUEUE_L_ID,		/* <id> */
	QUEUE_L_SESSION,	/* <id>.json, stored without ".json" */
	QUEUE_L_DOT,		/* '.'-prefixed, not "." or ".." */
};

bool	 queue_day_valid(const char *day);
int	 queue_id_day(const char *id, char day[QUEUE_DAY_LEN + 1]);
bool	 queue_name_valid(const char *name);
int	 queue_list(int rootfd, const char *dir, enum queue_list_kind kind,
	    char ***names, size_t *n);
void	 queue_list_free(char **names, size_t n);
int	 queue_rmtree(int dirfd, const char *name);
int	 queue_fsync_path(int rootfd, const char *path);

/* tombstones of deleted messages (queue_tomb.c) */
int	 queue_tomb_add(struct queue *q, const char *id);
bool	 queue_tomb_has(struct queue *q, const char *id);
void	 queue_tomb_purge(struct queue *q,
	    bool (*keep)(const char *id, void *arg), void *arg);
int	 queue_write_all(int fd, const void *p, size_t n);
void	 queue_seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((__format__(printf, 3, 4)));
void	 queue_msg_free(struct queue_msg *m);
json_t	*queue_json_loadfd(int fd, json_error_t *jerr);
char	*queue_read_fd(int fd, size_t max, size_t *lenp);
int	 queue_msg_materialize(struct queue_msg *m, bool may_rename);
int	 queue_msg_store(struct queue_msg *m);
int	 queue_msg_render(struct queue_msg *m);
struct queue_msg *queue_msg_from_record(struct queue *q, const char *id,
	    const char *env, size_t envlen, const void *msg, size_t msglen);
char	*queue_session_dump(const char *id, json_t *rec, size_t *lenp);
int	 queue_session_store(struct queue *q, const char *id, const char *js,
	    size_t len);

/* the commit journal (queue_journal.c) */
struct queue_journal;
struct queue_jseg;
#define QUEUE_JK_MESSAGE	0	/* envelope.json + message */
#define QUEUE_JK_SESSION	1	/* a session record, no message */
struct queue_jrec {
	int			 kind;		/* QUEUE_JK_* */
	const char		*id;
	const char		*env;		/* envelope.json or session */
	size_t			 envlen;
	const void		*msg;		/* message bytes */
	size_t			 msglen;
	struct queue_jseg	*seg;		/* set once durable */
};
typedef int	(*queue_jrec_cb)(void *arg, struct queue_jseg *s, int kind,
		    const char *id, const char *env, size_t envlen,
		    const void *msg, size_t msglen);
struct queue_journal *queue_journal_open(struct queue *q, queue_jrec_cb cb,
	    void *arg);
bool	 queue_journal_fits(size_t envlen, size_t msglen);
int	 queue_journal_write(struct queue_journal *j, struct queue_jrec *r,
	    size_t n);
void	 queue_journal_release(struct queue_journal *j, struct queue_jseg *s);
int	 queue_journal_checkpoint(struct queue_journal *j);
void	 queue_journal_close(struct queue_journal *j);
void	 queue_journal_counters(struct queue_journal *j, uint64_t *writes,
	    uint64_t *retired, uint64_t *nsyncfs);

/* test-only: counters of the committer thread, and forcing the fsync path */
uint64_t queue_committer_nsyncfs(struct queue_committer *c);
uint64_t queue_committer_nbatches(struct queue_committer *c);
void	 queue_committer_set_nosyncfs(struct queue_committer *c, bool on);
void	 queue_committer_set_nojournal(struct queue_committer *c, bool on);
struct queue_journal *queue_committer_journal(struct queue_committer *c);

#endif
