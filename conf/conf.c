/*
 * conf.c -- load relaytrap.conf with libconfuse from one declarative table
 * (redis style): every option has a type, a default and bounds. Unknown
 * options, out-of-range numbers and malformed values are errors with file
 * and line. "-o NAME = VALUE" statements are parsed after the file, as if
 * they were its last lines. Runs in the parent before any role starts,
 * and in the CLI. The file is trusted operator input, but still checked.
 */
#include "config.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <confuse.h>

#include "addr.h"
#include "compat.h"
#include "conf.h"
#include "conf_defs.h"
#include "log.h"
#include "xmalloc.h"

enum conf_type {
	CONF_T_INT,
	CONF_T_STR,
	CONF_T_LIST,
	CONF_T_BOOL,
	CONF_T_SIZE,		/* string "10G", "512M", "4096" -> int64 */
	CONF_T_LISTEN,		/* list of listener specs, syntax-checked */
};

struct conf_opt {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;
	long		 def_int;
	const char	*def_str;	/* also the list default "{...}" */
	long		 min, max;
};

#define O(f)	offsetof(struct conf, f)

static const struct conf_opt conf_table[] = {
	{ "hostname", CONF_T_STR, O(hostname), 0, "", 0, 0 },
	{ "persona", CONF_T_STR, O(persona), 0, CONF_DEF_PERSONA, 0, 0 },
	{ "listen", CONF_T_LISTEN, O(listen), 0, "{" CONF_DEF_LISTEN "}", 0, 0 },
	{ "spool", CONF_T_STR, O(spool), 0, CONF_DEF_SPOOL, 0, 0 },
	{ "user", CONF_T_STR, O(user), 0, CONF_DEF_USER, 0, 0 },
	{ "chroot", CONF_T_BOOL, O(chroot), 1, NULL, 0, 1 },
	{ "event_log", CONF_T_STR, O(event_log), 0, "", 0, 0 },
	{ "tls_cert", CONF_T_STR, O(tls_cert), 0, "", 0, 0 },
	{ "tls_key", CONF_T_STR, O(tls_key), 0, "", 0, 0 },
	{ "auth_accept", CONF_T_LIST, O(auth_accept), 0, "{}", 0, 0 },
	{ "max_sessions", CONF_T_INT, O(max_sessions),
	    CONF_DEF_MAX_SESSIONS, NULL, 1, CONF_MAX_MAX_SESSIONS },
	{ "max_sessions_per_ip", CONF_T_INT, O(max_sessions_per_ip),
	    CONF_DEF_MAX_SESSIONS_PER_IP, NULL, 1, CONF_MAX_MAX_SESSIONS },
	{ "max_message_size", CONF_T_INT, O(max_message_size),
	    CONF_DEF_MAX_MESSAGE_SIZE, NULL, 0, CONF_MAX_MAX_MESSAGE_SIZE },
	{ "max_recipients", CONF_T_INT, O(max_recipients),
	    CONF_DEF_MAX_RECIPIENTS, NULL, 1, CONF_MAX_MAX_RECIPIENTS },
	{ "max_recipient_bytes", CONF_T_INT, O(max_recipient_bytes),
	    CONF_DEF_MAX_RCPT_BYTES, NULL, CONF_MIN_MAX_RCPT_BYTES,
	    CONF_MAX_MAX_RCPT_BYTES },
	{ "max_line_length", CONF_T_INT, O(max_line_length),
	    CONF_DEF_MAX_LINE_LENGTH, NULL, CONF_MIN_MAX_LINE_LENGTH,
	    CONF_MAX_MAX_LINE_LENGTH },
	{ "max_commands", CONF_T_INT, O(max_commands),
	    CONF_DEF_MAX_COMMANDS, NULL, 1, 10000000 },
	{ "max_unknown_commands", CONF_T_INT, O(max_unknown_commands),
	    CONF_DEF_MAX_UNKNOWN, NULL, 1, 100000 },
	{ "greet_pause", CONF_T_INT, O(greet_pause), 0, NULL, 0, 60000 },
	{ "timeout_idle", CONF_T_INT, O(timeout_idle),
	    CONF_DEF_TIMEOUT_IDLE, NULL, 1, CONF_MAX_TIMEOUT },
	{ "timeout_data", CONF_T_INT, O(timeout_data),
	    CONF_DEF_TIMEOUT_DATA, NULL, 1, CONF_MAX_TIMEOUT },
	{ "timeout_session", CONF_T_INT, O(timeout_session),
	    CONF_DEF_TIMEOUT_SESSION, NULL, 1, CONF_MAX_TIMEOUT },
	{ "timeout_proxy", CONF_T_INT, O(timeout_proxy),
	    CONF_DEF_TIMEOUT_PROXY, NULL, 1, CONF_MAX_TIMEOUT },
	{ "transcript_max", CONF_T_INT, O(transcript_max),
	    CONF_DEF_TRANSCRIPT_MAX, NULL, 0, 16 * 1024 * 1024 },
	{ "trap_address", CONF_T_LIST, O(trap_address), 0, "{}", 0, 0 },
	{ "relaytest_threshold", CONF_T_INT, O(relaytest_threshold),
	    CONF_DEF_RELAYTEST_THRESHOLD, NULL, 1, 10000 },
	{ "relaytest_cluster_first", CONF_T_INT, O(relaytest_cluster_first),
	    CONF_DEF_RELAYTEST_CLUSTER_FIRST, NULL, 0, 1000000 },
	{ "relaytest_client_window", CONF_T_INT, O(relaytest_client_window),
	    CONF_DEF_RELAYTEST_CLIENT_WINDOW, NULL, 0, 31536000 },
	{ "relaytest_tiny_body", CONF_T_INT, O(relaytest_tiny_body),
	    CONF_DEF_RELAYTEST_TINY_BODY, NULL, 0, 1048576 },
	{ "forward_always", CONF_T_LIST, O(forward_always), 0, "{}", 0, 0 },
	{ "forward_never", CONF_T_LIST, O(forward_never), 0, "{}", 0, 0 },
	{ "known_testers", CONF_T_LIST, O(known_testers), 0, "{}", 0, 0 },
	{ "forward_mode", CONF_T_STR, O(forward_mode), 0,
	    CONF_DEF_FORWARD_MODE, 0, 0 },
	{ "forward_route", CONF_T_LIST, O(forward_route), 0, "{}", 0, 0 },
	{ "resolver", CONF_T_LIST, O(resolver), 0, "{}", 0, 0 },
	{ "forward_helo", CONF_T_STR, O(forward_helo), 0, "", 0, 0 },
	{ "forward_max_per_hour", CONF_T_INT, O(forward_max_per_hour),
	    CONF_DEF_FORWARD_PER_HOUR, NULL, -1, 1000000 },
	{ "forward_max_per_day", CONF_T_INT, O(forward_max_per_day),
	    CONF_DEF_FORWARD_PER_DAY, NULL, -1, 10000000 },
	{ "forward_max_per_client", CONF_T_INT, O(forward_max_per_client),
	    CONF_DEF_FORWARD_PER_CLIENT, NULL, -1, 1000000 },
	{ "forward_max_per_net", CONF_T_INT, O(forward_max_per_net),
	    CONF_DEF_FORWARD_PER_NET, NULL, -1, 1000000 },
	{ "forward_max_per_asn", CONF_T_INT, O(forward_max_per_asn),
	    CONF_DEF_FORWARD_PER_ASN, NULL, -1, 1000000 },
	{ "forward_max_per_domain", CONF_T_INT, O(forward_max_per_domain),
	    CONF_DEF_FORWARD_PER_DOMAIN, NULL, -1, 1000000 },
	{ "forward_max_per_dropbox", CONF_T_INT, O(forward_max_per_dropbox),
	    CONF_DEF_FORWARD_PER_DROPBOX, NULL, -1, 1000000 },
	{ "forward_window", CONF_T_INT, O(forward_window),
	    CONF_DEF_FORWARD_WINDOW, NULL, 60, 31536000 },
	{ "forward_breaker_run", CONF_T_INT, O(forward_breaker_run),
	    CONF_DEF_FORWARD_BREAKER_RUN, NULL, 0, 100000 },
	{ "forward_breaker_reset", CONF_T_INT, O(forward_breaker_reset),
	    CONF_DEF_FORWARD_BREAKER_RESET, NULL, 0, 31536000 },
	{ "forward_retry_base", CONF_T_INT, O(forward_retry_base),
	    CONF_DEF_FORWARD_RETRY_BASE, NULL, 1, 86400 },
	{ "forward_max_age", CONF_T_INT, O(forward_max_age),
	    CONF_DEF_FORWARD_MAX_AGE, NULL, 60, 31536000 },
	{ "forward_timeout", CONF_T_INT, O(forward_timeout),
	    CONF_DEF_FORWARD_TIMEOUT, NULL, 1, 3600 },
	{ "analyzers", CONF_T_LIST, O(analyzers), 0,
	    CONF_DEF_ANALYZERS, 0, 0 },
	{ "analyzer_budget", CONF_T_INT, O(analyzer_budget),
	    CONF_DEF_ANALYZER_BUDGET, NULL, 1, 600000 },
	{ "analysis_timeout", CONF_T_INT, O(analysis_timeout),
	    CONF_DEF_ANALYSIS_TIMEOUT, NULL, 0, 86400 },
	{ "geoip_db", CONF_T_LIST, O(geoip_db), 0, "{}", 0, 0 },
	{ "attachment_dir", CONF_T_STR, O(attachment_dir), 0, "", 0, 0 },
	{ "campaign_fuzzy_threshold", CONF_T_INT,
	    O(campaign_fuzzy_threshold), CONF_DEF_CAMPAIGN_FUZZY, NULL, 0,
	    100 },
	{ "retention_max_age", CONF_T_INT, O(retention_max_age),
	    0, NULL, 0, 36500 },
	{ "retention_max_size", CONF_T_SIZE, O(retention_max_size),
	    0, "0", 0, 0 },
};

#define CONF_NOPTS	(sizeof(conf_table) / sizeof(conf_table[0]))

static const struct conf_opt *
conf_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < CONF_NOPTS; i++)
		if (strcmp(conf_table[i].name, name) == 0)
			return &conf_table[i];
	return NULL;
}

/*
 * conf_parse_size -- "4096", "512K", "10M", "20G", "1T" into bytes.
 * Returns the value, or -1 with *errstr.
 */
int64_t
conf_parse_size(const char *s, const char **errstr)
{
	char	 num[32];
	size_t	 len = strlen(s);
	int64_t	 mult = 1, v;

	*errstr = NULL;
	if (len == 0 || len >= sizeof(num)) {
		*errstr = "expected a size such as 4096, 512M or 20G";
		return -1;
	}
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 'k': case 'K': mult = 1024LL; break;
	case 'm': case 'M': mult = 1024LL * 1024; break;
	case 'g': case 'G': mult = 1024LL * 1024 * 1024; break;
	case 't': case 'T': mult = 1024LL * 1024 * 1024 * 1024; break;
	default: break;
	}
	if (mult != 1)
		num[len - 1] = '\0';
	v = strtonum(num, 0, INT64_MAX / mult, errstr);
	if (*errstr != NULL) {
		*errstr = "expected a size such as 4096, 512M or 20G";
		return -1;
	}
	return v * mult;
}

static int
conf_validate(cfg_t *cfg, cfg_opt_t *opt)
{
	const struct conf_opt *co = conf_find(opt->name);
	const char *errstr;
	unsigned int i;

	if (co == NULL)
		return 0;
	switch (co->type) {
	case CONF_T_INT: {
		long	 v = cfg_opt_getnint(opt, 0);

		if (v < co->min || v > co->max) {
			cfg_error(cfg, "option '%s' must be between %ld and %ld,"
			    " not %ld", opt->name, co->min, co->max, v);
			return -1;
		}
		break;
	}
	case CONF_T_SIZE:
		if (conf_parse_size(cfg_opt_getnstr(opt, 0), &errstr) == -1) {
			cfg_error(cfg, "option '%s': %s", opt->name, errstr);
			return -1;
		}
		break;
	case CONF_T_LISTEN:
		for (i = 0; i < cfg_opt_size(opt); i++) {
			struct addr_listen al;

			if (addr_parse_listen(cfg_opt_getnstr(opt, i), &al,
			    &errstr) == -1) {
				cfg_error(cfg, "option '%s': \"%s\": %s",
				    opt->name, cfg_opt_getnstr(opt, i), errstr);
				return -1;
			}
		}
		break;
	default:
		break;
	}
	return 0;
}

/*
 * trap_address entries are IP literals (optionally bracketed), and the
 * forward_always/forward_never rules are rcpt:, sender: or subject:
 * followed by an fnmatch pattern (docs/RELAYTEST.md).
 */
static int
conf_check_relaytest(const struct conf *c, const char *where)
{
	const struct conf_list *rl[2] = { &c->forward_always, &c->forward_never };
	const char *rn[2] = { "forward_always", "forward_never" };
	unsigned char bin[16];
	char	 tmp[64];
	const char *s;
	size_t	 i, j, len;

	for (i = 0; i < c->trap_address.n; i++) {
		s = c->trap_address.v[i];
		len = strlen(s);
		if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
			s++;
			len -= 2;
		}
		if (len < sizeof(tmp)) {
			memcpy(tmp, s, len);
			tmp[len] = '\0';
		}
		if (len >= sizeof(tmp) || (inet_pton(AF_INET, tmp, bin) != 1 &&
		    inet_pton(AF_INET6, tmp, bin) != 1)) {
			fprintf(stderr, "relaytrap: %s: option 'trap_address': "
			    "\"%s\" is not an IP address\n", where,
			    c->trap_address.v[i]);
			return -1;
		}
	}
	for (j = 0; j < 2; j++)
		for (i = 0; i < rl[j]->n; i++) {
			s = rl[j]->v[i];
			if ((strncasecmp(s, "rcpt:", 5) == 0 && s[5] != '\0') ||
			    (strncasecmp(s, "sender:", 7) == 0 &&
			    s[7] != '\0') ||
			    (strncasecmp(s, "subject:", 8) == 0 &&
			    s[8] != '\0'))
				continue;
			fprintf(stderr, "relaytrap: %s: option '%s': \"%s\" is"
			    " not rcpt:, sender: or subject:PATTERN\n", where,
			    rn[j], s);
			return -1;
		}
	return 0;
}

/* what the buffer being parsed is called in messages: the file or "-o" */
static const char *conf_cur_name;

static void
conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	char	 msg[1024];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cfg && cfg->filename && strcmp(cfg->filename, "[buf]") == 0 &&
	    conf_cur_name != NULL && strcmp(conf_cur_name, "-o") != 0)
		fprintf(stderr, "relaytrap: %s:%d: %s\n", conf_cur_name,
		    cfg->line, msg);
	else if (cfg && cfg->filename && strcmp(cfg->filename, "[buf]") == 0)
		fprintf(stderr, "relaytrap: -o: %s\n", msg);
	else if (cfg && cfg->filename && cfg->line)
		fprintf(stderr, "relaytrap: %s:%d: %s\n", cfg->filename,
		    cfg->line, msg);
	else if (cfg && cfg->filename)
		fprintf(stderr, "relaytrap: %s: %s\n", cfg->filename, msg);
	else
		fprintf(stderr, "relaytrap: %s\n", msg);
}

/*
 * conf_read_blanked -- the file's text with every comment (#, //, and
 * C-style) replaced by spaces, newlines kept. libconfuse 3.3 miscounts
 * lines after comments; without them its line numbers are right.
 * NULL with errno if the file cannot be read.
 */
static char *
conf_read_blanked(const char *path)
{
	FILE	*fp;
	char	*text = NULL;
	size_t	 len = 0, cap = 0, n, i;
	char	 quote = 0;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			text = xreallocarray(text, 1, cap);
		}
		n = fread(text + len, 1, cap - len - 1, fp);
		len += n;
		if (n == 0)
			break;
	}
	fclose(fp);
	text[len] = '\0';
	for (i = 0; i < len; i++) {
		char	 c = text[i];

		if (quote) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == quote || c == '\n')
				quote = 0;
			continue;
		}
		if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '#' || (c == '/' && text[i + 1] == '/')) {
			while (i < len && text[i] != '\n')
				text[i++] = ' ';
		} else if (c == '/' && text[i + 1] == '*') {
			text[i++] = ' ';
			text[i++] = ' ';
			while (i < len && !(text[i] == '*' && text[i + 1] == '/')) {
				if (text[i] != '\n')
					text[i] = ' ';
				i++;
			}
			if (i < len)
				text[i++] = ' ';
			if (i < len)
				text[i] = ' ';
		}
	}
	return text;
}

static cfg_opt_t *
conf_build_opts(void)
{
	cfg_opt_t *opts;
	size_t	 i;

	opts = xcalloc(CONF_NOPTS + 1, sizeof(*opts));
	for (i = 0; i < CONF_NOPTS; i++) {
		const struct conf_opt *co = &conf_table[i];
		cfg_opt_t tmp[] = {
			CFG_INT(co->name, co->def_int, CFGF_NONE),
			CFG_STR(co->name, co->def_str, CFGF_NONE),
			CFG_STR_LIST(co->name, (char *)co->def_str, CFGF_NONE),
			CFG_BOOL(co->name, co->def_int ? cfg_true : cfg_false,
			    CFGF_NONE),
		};

		switch (co->type) {
		case CONF_T_INT:
			opts[i] = tmp[0];
			break;
		case CONF_T_STR:
		case CONF_T_SIZE:
			opts[i] = tmp[1];
			break;
		case CONF_T_LIST:
		case CONF_T_LISTEN:
			opts[i] = tmp[2];
			break;
		case CONF_T_BOOL:
			opts[i] = tmp[3];
			break;
		}
		/* libconfuse keeps a pointer to the name; the table is static */
		opts[i].name = (char *)co->name;
	}
	{
		cfg_opt_t end[] = { CFG_END() };
		opts[CONF_NOPTS] = end[0];
	}
	return opts;
}

static void
conf_list_fill(struct conf_list *l, cfg_t *cfg, const char *name)
{
	unsigned int i, n = cfg_size(cfg, name);

	l->n = n;
	l->v = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		l->v[i] = xstrdup(cfg_getnstr(cfg, name, i));
}

static void
conf_list_free(struct conf_list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/*
 * conf_load -- read <path> (NULL: defaults only), then apply each of
 * <overrides> ("name = value") as if it were a last line of the file.
 * Errors go to stderr as "FILE:LINE: what"; returns NULL on any error.
 */
struct conf *
conf_load(const char *path, char *const *overrides, size_t noverrides)
{
	cfg_opt_t *opts;
	cfg_t	*cfg;
	struct conf *c;
	size_t	 i;
	int	 rc;

	opts = conf_build_opts();
	cfg = cfg_init(opts, CFGF_NONE);
	cfg_set_error_function(cfg, conf_errfunc);
	for (i = 0; i < CONF_NOPTS; i++)
		cfg_set_validate_func(cfg, conf_table[i].name, conf_validate);
	if (path != NULL) {
		char	*text = conf_read_blanked(path);

		if (text == NULL) {
			fprintf(stderr, "relaytrap: cannot read configuration "
			    "%s: %s\n", path, strerror(errno));
			goto fail;
		}
		conf_cur_name = path;
		rc = cfg_parse_buf(cfg, text);
		free(text);
		if (rc != CFG_SUCCESS)
			goto fail;
	}
	conf_cur_name = "-o";
	for (i = 0; i < noverrides; i++) {
		rc = cfg_parse_buf(cfg, overrides[i]);
		if (rc != CFG_SUCCESS) {
			fprintf(stderr, "relaytrap: in -o '%s'\n", overrides[i]);
			goto fail;
		}
	}

	c = xcalloc(1, sizeof(*c));
	c->path = path ? xstrdup(path) : NULL;
	for (i = 0; i < CONF_NOPTS; i++) {
		const struct conf_opt *co = &conf_table[i];
		char	*field = (char *)c + co->off;
		const char *errstr;

		switch (co->type) {
		case CONF_T_INT:
			*(long *)field = cfg_getint(cfg, co->name);
			break;
		case CONF_T_STR:
			*(char **)field = xstrdup(cfg_getstr(cfg, co->name) ?
			    cfg_getstr(cfg, co->name) : "");
			break;
		case CONF_T_SIZE:
			*(int64_t *)field = conf_parse_size(
			    cfg_getstr(cfg, co->name), &errstr);
			break;
		case CONF_T_LIST:
		case CONF_T_LISTEN:
			conf_list_fill((struct conf_list *)field, cfg, co->name);
			break;
		case CONF_T_BOOL:
			*(bool *)field = cfg_getbool(cfg, co->name) == cfg_true;
			break;
		}
	}
	cfg_free(cfg);
	free(opts);
	if (c->hostname[0] == '\0') {
		char	 host[256];

		free(c->hostname);
		if (gethostname(host, sizeof(host)) == -1)
			(void)strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		c->hostname = xstrdup(host);
	}
	if (strcmp(c->forward_mode, "off") != 0 &&
	    strcmp(c->forward_mode, "dry-run") != 0 &&
	    strcmp(c->forward_mode, "on") != 0) {
		fprintf(stderr, "relaytrap: %s: option 'forward_mode' must be "
		    "off, dry-run or on, not \"%s\"\n", path ? path : "-o",
		    c->forward_mode);
		conf_free(c);
		return NULL;
	}
	for (i = 0; i < c->resolver.n; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen;
		const char *errstr;

		if (addr_parse_hostport(c->resolver.v[i], &ss, &sslen,
		    &errstr) == -1) {
			fprintf(stderr, "relaytrap: %s: option 'resolver': "
			    "\"%s\": %s\n", path ? path : "-o",
			    c->resolver.v[i], errstr);
			conf_free(c);
			return NULL;
		}
	}
	for (i = 0; i < c->auth_accept.n; i++)
		if (strchr(c->auth_accept.v[i], ':') == NULL) {
			fprintf(stderr, "relaytrap: %s: option 'auth_accept': "
			    "\"%s\" is not user:password\n",
			    path ? path : "-o", c->auth_accept.v[i]);
			conf_free(c);
			return NULL;
		}
	if (conf_check_relaytest(c, path ? path : "-o") == -1) {
		conf_free(c);
		return NULL;
	}
	return c;
fail:
	cfg_free(cfg);
	free(opts);
	return NULL;
}

/*
 * conf_free -- release everything conf_load() returned.
 */
void
conf_free(struct conf *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < CONF_NOPTS; i++) {
		const struct conf_opt *co = &conf_table[i];
		char	*field = (char *)c + co->off;

		if (co->type == CONF_T_STR)
			free(*(char **)field);
		else if (co->type == CONF_T_LIST || co->type == CONF_T_LISTEN)
			conf_list_free((struct conf_list *)field);
	}
	free(c->path);
	free(c);
}
