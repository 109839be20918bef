/*
 * cli.h -- what the files of relaytrap(1) share: the open spool and index,
 * the exit codes, option parsing shared by list/search/export, and the
 * printers. Only the files of cli/ include it.
 */
#ifndef RT_CLI_H
#define RT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "conf.h"
#include "queue.h"
#include "queue_index.h"

#define CLI_OK		0	/* success */
#define CLI_ERR		1	/* not found or runtime error */
#define CLI_USAGE	2	/* bad command line */

#define CLI_TOP		10	/* entries in the "top" lists of stats */

struct cli {
	const struct conf	*conf;		/* NULL with -s and no -c */
	const char		*spooldir;
	struct queue		*q;
	struct queue_index	*ix;
};

/* long options shared by list, search and export (getopt_long values) */
enum {
	CLI_O_JSON = 256,
	CLI_O_SINCE,
	CLI_O_IP,
	CLI_O_FROM,
	CLI_O_RCPT,
	CLI_O_AUTH,
	CLI_O_STATE,
	CLI_O_LIMIT,
	CLI_O_FORMAT,
	CLI_O_OUT,
	CLI_O_NOMSG,
	CLI_O_HELP,
	CLI_O_COUNTRY,
	CLI_O_ASN,
	CLI_O_CAMPAIGN,
	CLI_O_VERDICT,
};

/* relaytrap.c */
void	 cli_usage(FILE *fp);
int	 cli_usage_error(const char *fmt, ...)
	    __attribute__((__format__(printf, 1, 2)));
int	 cli_error(const char *fmt, ...)
	    __attribute__((__format__(printf, 1, 2)));
int	 cli_parse_simple(int argc, char **argv, bool *json, char **ops,
	    int max, int *nops);
int	 cli_open(struct cli *c, bool sync);
int	 cli_open_files(struct cli *c);
int	 cli_check_id(const char *id);
int	 cli_parse_when(const char *s, int64_t *us);
int	 cli_filter_opt(int ch, const char *arg, struct queue_index_filter *f);
int	 cli_find(struct cli *c, const char *id, struct queue_entry *e);
void	 cli_entry_of(const struct queue_index_msg *m, struct queue_entry *e);

/* cli_queue.c */
int	 cli_queue(struct cli *c, int argc, char **argv);
/* cli_export.c */
int	 cli_queue_export(struct cli *c, int argc, char **argv);
/* cli_session.c */
int	 cli_session(struct cli *c, int argc, char **argv);

/* cli_print.c */
void	 cli_puts(FILE *fp, const char *s);
void	 cli_analysis_print(FILE *fp, const json_t *an);
json_t	*cli_msg_json(const struct queue_index_msg *m);
void	 cli_msg_line(FILE *fp, const struct queue_index_msg *m);
void	 cli_fmt_time(int64_t t, char *buf, size_t len);
void	 cli_json_line(FILE *fp, json_t *j);
void	 cli_envelope_print(FILE *fp, json_t *env);
void	 cli_transcript_print(FILE *fp, json_t *rec);
void	 cli_stats_print(FILE *fp, json_t *st);
int	 cli_copy_fd(int fd, FILE *out);

#endif
