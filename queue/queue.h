/*
 * queue.h -- the never-delivering spool (docs/SPOOL.md has the format).
 *
 *   spool/tmp/<id>/                 being received (SMTP role only)
 *   spool/journal/seg<N>            commit journal (queue_journal.c)
 *   spool/new/<YYYYMMDD>/<id>/      committed, not yet analyzed
 *   spool/cur/<YYYYMMDD>/<id>/      analyzed
 *   spool/corrupt/<id>/             failed validation; kept for a human
 *   spool/sessions/<YYYYMMDD>/<id>.json   one record per SMTP session
 *   spool/index.sqlite              derived, rebuildable (queue_index.h)
 *
 * A message directory holds "message" (raw DATA, byte-exact after
 * dot-unstuffing) and "envelope.json". Every path is resolved relative to
 * a directory fd opened once, so the library works inside a chroot and
 * never builds a path from an unchecked id.
 */
#ifndef RT_QUEUE_H
#define RT_QUEUE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define QUEUE_ID_LEN		16	/* lowercase hex: 52 bits of µs, 12 random */
#define QUEUE_DAY_LEN		8	/* YYYYMMDD (UTC) */
#define QUEUE_ENVELOPE_VERSION	1
#define QUEUE_F_CREATE		0x01	/* create the layout if missing */

enum queue_state {
	QUEUE_ST_NEW = 0x01,
	QUEUE_ST_CUR = 0x02,
	QUEUE_ST_CORRUPT = 0x04,
};
#define QUEUE_ST_ANY	(QUEUE_ST_NEW | QUEUE_ST_CUR | QUEUE_ST_CORRUPT)

struct queue;
struct queue_msg;
struct queue_committer;

struct queue_entry {
	char			 id[QUEUE_ID_LEN + 1];
	char			 day[QUEUE_DAY_LEN + 1];	/* "" for corrupt */
	enum queue_state	 state;
};

/* opening and recovery */
struct queue	*queue_open(const char *path, int flags, char *err,
		    size_t errlen);
void		 queue_close(struct queue *q);
int		 queue_rootfd(const struct queue *q);
int		 queue_chown(struct queue *q, uid_t uid, gid_t gid);
int		 queue_lock(struct queue *q, char *err, size_t errlen);
void		 queue_lock_pid(struct queue *q);
bool		 queue_in_use(struct queue *q);
int		 queue_recover(struct queue *q);

/* ids */
void		 queue_id_new(char id[QUEUE_ID_LEN + 1]);
bool		 queue_id_valid(const char *id);
int		 queue_id_time(const char *id, struct timespec *ts);
void		 queue_day_of(const struct timespec *ts, char day[QUEUE_DAY_LEN + 1]);

/* receiving one message (SMTP role) */
struct queue_msg *queue_msg_new(struct queue *q);
const char	*queue_msg_id(const struct queue_msg *m);
int		 queue_msg_write(struct queue_msg *m, const void *p, size_t n);
uint64_t	 queue_msg_size(const struct queue_msg *m);
int		 queue_msg_close(struct queue_msg *m, json_t *env);
void		 queue_msg_abort(struct queue_msg *m);

/* group commit: a thread that makes closed messages durable in batches */
typedef void	(*queue_done_cb)(void *arg, const char *id, int error);
typedef void	(*queue_stored_cb)(void *arg, const char *id, int error);
struct queue_committer *queue_committer_new(struct queue *q);
void		 queue_committer_set_stored(struct queue_committer *c,
		    queue_stored_cb cb, void *arg);
int		 queue_committer_fd(const struct queue_committer *c);
void		 queue_committer_submit(struct queue_committer *c,
		    struct queue_msg *m, queue_done_cb done, void *arg);
int		 queue_committer_submit_session(struct queue_committer *c,
		    const char *id, json_t *rec, queue_done_cb done, void *arg);
void		 queue_committer_dispatch(struct queue_committer *c);
void		 queue_committer_free(struct queue_committer *c);

/* session records */
int		 queue_session_write(struct queue *q, const char *id,
		    json_t *rec);
json_t		*queue_session_load(struct queue *q, const char *id,
		    char *err, size_t errlen);
typedef int	(*queue_session_cb)(const char *id, const char *day,
		    void *arg);
int		 queue_session_walk(struct queue *q, queue_session_cb cb,
		    void *arg);

/* reading (CLI, worker) */
typedef int	(*queue_walk_cb)(const struct queue_entry *e, void *arg);
int		 queue_find(struct queue *q, const char *id,
		    struct queue_entry *e);
int		 queue_walk(struct queue *q, int states, queue_walk_cb cb,
		    void *arg);
int		 queue_entry_dir(const struct queue_entry *e, char *buf,
		    size_t len);
int		 queue_open_file(struct queue *q, const struct queue_entry *e,
		    const char *name, int flags);
json_t		*queue_envelope_load(struct queue *q,
		    const struct queue_entry *e, char *err, size_t errlen);
json_t		*queue_file_json(struct queue *q, const struct queue_entry *e,
		    const char *name, char *err, size_t errlen);
char		*queue_read_file(struct queue *q, const struct queue_entry *e,
		    const char *name, size_t *lenp);
bool		 queue_file_bad(int e);
int		 queue_validate(struct queue *q, const struct queue_entry *e,
		    char *err, size_t errlen);
int		 queue_journal_unmoved(struct queue *q, size_t *nmsg);
int		 queue_write_file(struct queue *q, const struct queue_entry *e,
		    const char *name, const void *data, size_t len);
int		 queue_remove_file(struct queue *q,
		    const struct queue_entry *e, const char *name);
int		 queue_move_cur(struct queue *q, struct queue_entry *e);
#define QUEUE_W_NOSYNC	0x01	/* leave durability to a later queue_sync() */
int		 queue_write_file_flags(struct queue *q,
		    const struct queue_entry *e, const char *name,
		    const void *data, size_t len, int flags);
int		 queue_move_cur_flags(struct queue *q, struct queue_entry *e,
		    int flags);
int		 queue_sync(struct queue *q);
int		 queue_quarantine(struct queue *q, struct queue_entry *e,
		    const char *reason);
int		 queue_delete(struct queue *q, const struct queue_entry *e);

/* retention: remove whole day buckets, oldest first */
typedef void	(*queue_retire_cb)(const char *day, void *arg);
int		 queue_retention(struct queue *q, long max_age_days,
		    int64_t max_bytes, queue_retire_cb cb, void *arg);
int64_t		 queue_usage(struct queue *q);

#endif
