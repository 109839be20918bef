/*
 * relaytrapd.c -- the trap daemon's parent process. It reads the
 * configuration, prepares the spool, the TLS certificate and the event
 * log, binds the listeners (as root only when a port below 1024 is asked
 * for), and then runs the roles as separate processes with the least each
 * needs: the SMTP role (parses hostile bytes, writes only the spool,
 * chrooted there when started as root) and the worker role (index,
 * retention; later analyzers and forwarding). Both drop to the configured
 * user; the parent restarts a role that dies, with backoff, and does
 * nothing else — it never reads a byte from the network.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "compat.h"
#include "conf.h"
#include "evlog.h"
#include "log.h"
#include "persona.h"
#include "privsep.h"
#include "queue.h"
#include "smtp_session.h"
#include "an_runner.h"
#include "worker.h"
#include "xmalloc.h"

#define LISTEN_BACKLOG		4096
#define ROLE_BACKOFF_MAX	60
/*
 * The worker's deaths that a message causes are bounded by the message
 * (analysis.lock: two attempts, then recorded and passed over), so a
 * short wait makes no crash loop of one message; a long one held up the
 * analysis of every message behind it (4 poison messages: 8 minutes).
 */
#define WORKER_BACKOFF_MAX	4
#define ROLE_STABLE		60	/* a role that ran this long was healthy */
#define STOP_GRACE		10
#define WORKER_NICE		10

enum role_kind {
	ROLE_SMTP,
	ROLE_WORKER,
	ROLE_COUNT
};

struct role {
	const char	*name;
	pid_t		 pid;
	time_t		 started;
	time_t		 restart_at;	/* 0: not scheduled */
	int		 backoff;
};

struct daemon {
	struct conf	*conf;
	const struct persona *persona;
	struct queue	*queue;
	char		*spool;		/* absolute */
	int		*fds;
	int		*fdflags;
	size_t		 nfds;
	int		 notify[2];
	bool		 root;
	uid_t		 uid;
	gid_t		 gid;
	char		*cert;
	char		*key;
	struct role	 roles[ROLE_COUNT];
	pid_t		 parent;	/* the roles' parent: this process */
	const char	*conffile;	/* NULL: built-in defaults */
	char		**overrides;	/* -o statements, in order */
	size_t		 noverrides;
};

/*
 * opt_src -- where option name got its value, for an error about it: the
 * last -o statement that sets it ("-o 'user = root'"), else the file.
 */
static const char *
opt_src(const struct daemon *d, const char *name)
{
	static char	 buf[512];
	size_t		 i, n = strlen(name);
	const char	*o;

	for (i = d->noverrides; i-- > 0; ) {
		for (o = d->overrides[i]; *o == ' ' || *o == '\t'; o++)
			;
		if (strncmp(o, name, n) == 0 && (o[n] == ' ' ||
		    o[n] == '\t' || o[n] == '=')) {
			(void)snprintf(buf, sizeof(buf), "-o '%s'",
			    d->overrides[i]);
			return buf;
		}
	}
	return d->conffile != NULL ? d->conffile : "(built-in defaults)";
}

/*
 * What the worker role opens and writes, checked with the worker's own
 * rights: the analyzers and their GeoIP databases, attachment_dir.
 * Printed on stderr; -1 if the worker would fail.
 */
static int
check_worker(const struct daemon *d)
{
	const struct conf *c = d->conf;
	struct stat	 st;
	char		 err[512];
	const char	*why = NULL;

	if (an_runner_check(c, err, sizeof(err)) == -1) {
		fprintf(stderr, "relaytrapd: %s: %s\n", strstr(err, "geoip") ?
		    opt_src(d, "geoip_db") : opt_src(d, "analyzers"), err);
		return -1;
	}
	if (c->attachment_dir == NULL || c->attachment_dir[0] == '\0')
		return 0;
	if (stat(c->attachment_dir, &st) == -1)
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	else if (access(c->attachment_dir, W_OK | X_OK) == -1)
		why = strerror(errno);
	if (why != NULL) {
		fprintf(stderr, "relaytrapd: %s: option 'attachment_dir': %s: "
		    "%s; make it a directory the user '%s' may write\n",
		    opt_src(d, "attachment_dir"), c->attachment_dir, why,
		    c->user);
		return -1;
	}
	return 0;
}

/*
 * check_worker() as the worker will run: as root, in a child that has
 * dropped to the configured user (a database only root may read passes
 * a check made as root, and then the worker fails at every restart).
 */
static int
check_worker_as(const struct daemon *d)
{
	pid_t	 pid;
	int	 status;

	if (geteuid() != 0)
		return check_worker(d);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "relaytrapd: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		priv_drop(d->conf->user, NULL);
		status = check_worker(d);
		fflush(stderr);
		_exit(status == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/*
 * conf_check_start -- what the configuration file cannot say about itself
 * but the start needs: the analyzers and their GeoIP databases and the
 * attachment folder (as the configured user), the TLS certificate and
 * key, the user to run as. Printed on stderr, each error naming where the
 * option was set (the file, or the -o statement); -1 if the trap would
 * not start (or would start without what was configured).
 */
static int
conf_check_start(struct daemon *d)
{
	const struct conf *c = d->conf;
	uid_t		 uid;
	gid_t		 gid;

	if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0')) {
		fprintf(stderr, "relaytrapd: %s: options 'tls_cert' and "
		    "'tls_key' go together (both empty: a self-signed "
		    "certificate is made)\n", opt_src(d, c->tls_cert[0] !=
		    '\0' ? "tls_cert" : "tls_key"));
		return -1;
	}
	if (c->tls_cert[0] != '\0' && access(c->tls_cert, R_OK) == -1) {
		fprintf(stderr, "relaytrapd: %s: option 'tls_cert': %s: %s\n",
		    opt_src(d, "tls_cert"), c->tls_cert, strerror(errno));
		return -1;
	}
	if (c->tls_key[0] != '\0' && access(c->tls_key, R_OK) == -1) {
		fprintf(stderr, "relaytrapd: %s: option 'tls_key': %s: %s\n",
		    opt_src(d, "tls_key"), c->tls_key, strerror(errno));
		return -1;
	}
	if (geteuid() == 0 && priv_lookup(c->user, &uid, &gid) == -1) {
		fprintf(stderr, "relaytrapd: %s: option 'user': \"%s\" does "
		    "not exist: create it (useradd --system --no-create-home "
		    "%s) or set another\n", opt_src(d, "user"), c->user,
		    c->user);
		return -1;
	}
	if (geteuid() == 0 && uid == 0) {
		fprintf(stderr, "relaytrapd: %s: option 'user': \"%s\" is "
		    "root; relaytrapd refuses to keep running as root: set an "
		    "unprivileged user\n", opt_src(d, "user"), c->user);
		return -1;
	}
	return check_worker_as(d);
}

static __attribute__((__noreturn__)) void
usage(void)
{
	fprintf(stderr,
	    "usage: relaytrapd [-fhtv] [-c file] [-l [tls:|proxy:]addr:port]... "
	    "[-s spooldir]\n"
	    "                  [-o 'name = value']...\n");
	exit(2);
}

/* bind and listen on one listener; prints "listening ADDR:PORT" */
static int
bind_listener(const char *spec, int *flags)
{
	struct addr_listen al;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *errstr;
	char	 buf[ADDR_STRLEN];
	int	 fd, on = 1;

	if (addr_parse_listen(spec, &al, &errstr) == -1)
		fatalx("listen \"%s\": %s", spec, errstr);
	fd = socket(al.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("listen %s: socket", spec);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (al.ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&al.ss, al.sslen) == -1) {
		if (errno == EACCES)
			fatal("listen %s: bind (ports below 1024 need root; "
			    "start relaytrapd as root, it drops privileges)",
			    spec);
		fatal("listen %s: bind", spec);
	}
	if (listen(fd, LISTEN_BACKLOG) == -1)
		fatal("listen %s: listen", spec);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		fatal("listen %s: getsockname", spec);
	printf("listening %s\n", addr_fmt((struct sockaddr *)&ss, buf,
	    sizeof(buf)));
	*flags = al.flags;
	return fd;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static __attribute__((__noreturn__)) void
role_smtp(struct daemon *d)
{
	struct event_base *base;
	struct smtp_server *srv;
	SSL_CTX	*ctx = NULL;
	size_t	 i;

	log_set_ident("relaytrapd/smtp");
	close(d->notify[0]);
	if (d->cert != NULL &&
	    (ctx = smtp_tls_ctx(d->conf, d->cert, d->key)) == NULL)
		log_warnx("smtp: serving without STARTTLS");
	if ((base = event_base_new()) == NULL)
		fatalx("smtp: cannot create an event base");
	/* jail: the SMTP role sees only the spool, through its fds */
	priv_drop(d->conf->user, d->root && d->conf->chroot ? d->spool : NULL);
	priv_follow_parent(d->parent);
	srv = smtp_server_new(base, d->conf, d->persona, d->queue, ctx,
	    d->notify[1]);
	for (i = 0; i < d->nfds; i++) {
		if ((d->fdflags[i] & ADDR_F_TLS) && ctx == NULL)
			fatalx("smtp: an implicit-TLS listener needs a "
			    "certificate (tls_cert, tls_key)");
		if (smtp_server_listen(srv, d->fds[i], d->fdflags[i]) == -1)
			fatalx("smtp: cannot serve listener %zu", i);
	}
	log_info("smtp: serving persona=%s hostname=%s listeners=%zu",
	    persona_name(d->persona), d->conf->hostname, d->nfds);
	smtp_server_run(srv);
	smtp_server_free(srv);
	event_base_free(base);
	if (ctx)
		SSL_CTX_free(ctx);
	exit(0);
}

static __attribute__((__noreturn__)) void
role_worker(struct daemon *d)
{
	size_t	 i;

	log_set_ident("relaytrapd/worker");
	/* analysis never makes an SMTP client wait: yield the CPU to it */
	if (setpriority(PRIO_PROCESS, 0, WORKER_NICE) == -1)
		log_warn("worker: setpriority");
	for (i = 0; i < d->nfds; i++)
		close(d->fds[i]);
	close(d->notify[1]);
	priv_drop(d->conf->user, NULL);
	priv_follow_parent(d->parent);
	worker_run(d->conf, d->queue, d->spool, d->notify[0]);
	exit(0);
}

static void
role_start(struct daemon *d, enum role_kind k)
{
	struct role *r = &d->roles[k];
	sigset_t empty;
	pid_t	 pid;

	d->parent = getpid();
	switch ((pid = fork())) {
	case -1:
		log_warn("cannot fork the %s role", r->name);
		r->restart_at = time(NULL) + 1;
		return;
	case 0:
		sigemptyset(&empty);
		sigprocmask(SIG_SETMASK, &empty, NULL);
		if (k == ROLE_SMTP)
			role_smtp(d);
		role_worker(d);
		/* NOTREACHED */
	default:
		r->pid = pid;
		r->started = time(NULL);
		r->restart_at = 0;
		log_info("started %s role pid=%ld", r->name, (long)pid);
	}
}

static void
roles_reap(struct daemon *d, bool stopping)
{
	struct role *r;
	time_t	 now = time(NULL);
	pid_t	 pid;
	int	 status, k;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (k = 0; k < ROLE_COUNT; k++) {
			r = &d->roles[k];
			if (r->pid != pid)
				continue;
			r->pid = 0;
			if (stopping)
				break;
			if (now - r->started >= ROLE_STABLE)
				r->backoff = 1;
			else
				r->backoff = r->backoff ? r->backoff * 2 : 1;
			if (r->backoff > (k == ROLE_WORKER ?
			    WORKER_BACKOFF_MAX : ROLE_BACKOFF_MAX))
				r->backoff = k == ROLE_WORKER ?
				    WORKER_BACKOFF_MAX : ROLE_BACKOFF_MAX;
			r->restart_at = now + r->backoff;
			if (WIFSIGNALED(status))
				log_warnx("%s role pid=%ld killed by signal %d;"
				    " restarting in %ds", r->name, (long)pid,
				    WTERMSIG(status), r->backoff);
			else
				log_warnx("%s role pid=%ld exited with %d; "
				    "restarting in %ds", r->name, (long)pid,
				    WEXITSTATUS(status), r->backoff);
		}
	}
}

static void
roles_stop(struct daemon *d)
{
	struct timespec ts = { 0, 100000000 };
	time_t	 deadline = time(NULL) + STOP_GRACE;
	int	 k, alive;

	for (k = 0; k < ROLE_COUNT; k++)
		if (d->roles[k].pid > 0)
			kill(d->roles[k].pid, SIGTERM);
	for (;;) {
		roles_reap(d, true);
		for (alive = 0, k = 0; k < ROLE_COUNT; k++)
			alive += d->roles[k].pid > 0;
		if (alive == 0)
			return;
		if (time(NULL) >= deadline)
			break;
		nanosleep(&ts, NULL);	/* polling child exit, bounded */
	}
	for (k = 0; k < ROLE_COUNT; k++)
		if (d->roles[k].pid > 0) {
			log_warnx("%s role did not stop; killing it",
			    d->roles[k].name);
			kill(d->roles[k].pid, SIGKILL);
		}
	roles_reap(d, true);
}

/* the parent's loop: restart roles that die, stop on SIGTERM/SIGINT */
static int
supervise(struct daemon *d)
{
	sigset_t set;
	siginfo_t info;
	struct timespec ts;
	time_t	 now, next;
	int	 sig, k;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (k = 0; k < ROLE_COUNT; k++)
		role_start(d, k);
	for (;;) {
		now = time(NULL);
		next = 0;
		for (k = 0; k < ROLE_COUNT; k++) {
			if (d->roles[k].pid == 0 && d->roles[k].restart_at &&
			    d->roles[k].restart_at <= now)
				role_start(d, k);
			if (d->roles[k].restart_at &&
			    (next == 0 || d->roles[k].restart_at < next))
				next = d->roles[k].restart_at;
		}
		ts.tv_sec = next ? (next > now ? next - now : 0) : 3600;
		ts.tv_nsec = next ? 0 : 0;
		sig = sigtimedwait(&set, &info, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("stopping on signal %d", sig);
			roles_stop(d);
			return 0;
		}
		if (sig == SIGCHLD)
			roles_reap(d, false);
		/* SIGHUP: reload is not supported yet; keep running */
	}
}

static char *
spool_path(const char *spool)
{
	char	 path[PATH_MAX];

	if (realpath(spool, path) == NULL)
		fatal("spool %s", spool);
	return xstrdup(path);
}

int
main(int argc, char *argv[])
{
	/* static: what lives as long as the process stays reachable (LSan) */
	static struct daemon d;
	static char **overrides, **listens;
	char	*conffile = NULL, *spool = NULL, err[512], *tlsdir;
	size_t	 noverrides = 0, nlistens = 0, i;
	bool	 foreground = false, check = false, explicit_conf = false;
	int	 ch, verbose = 0;

	memset(&d, 0, sizeof(d));
	while ((ch = getopt(argc, argv, "c:fhl:o:s:tv")) != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			explicit_conf = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'l':
			listens = xreallocarray(listens, nlistens + 1,
			    sizeof(*listens));
			listens[nlistens++] = optarg;
			break;
		case 'o':
			overrides = xreallocarray(overrides, noverrides + 1,
			    sizeof(*overrides));
			overrides[noverrides++] = optarg;
			break;
		case 's':
			spool = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (!explicit_conf) {
		conffile = SYSCONFDIR "/relaytrap.conf";
		if (access(conffile, R_OK) == -1)
			conffile = NULL;	/* built-in defaults */
	}
	if ((d.conf = conf_load(conffile, overrides, noverrides)) == NULL)
		return 1;
	if (nlistens > 0) {
		for (i = 0; i < d.conf->listen.n; i++)
			free(d.conf->listen.v[i]);
		free(d.conf->listen.v);
		d.conf->listen.v = xcalloc(nlistens + 1, sizeof(char *));
		for (i = 0; i < nlistens; i++) {
			struct addr_listen al;
			const char *errstr;

			if (addr_parse_listen(listens[i], &al, &errstr) == -1) {
				fprintf(stderr, "relaytrapd: -l %s: %s\n",
				    listens[i], errstr);
				return 1;
			}
			d.conf->listen.v[i] = xstrdup(listens[i]);
		}
		d.conf->listen.n = nlistens;
	}
	if (spool != NULL) {
		free(d.conf->spool);
		d.conf->spool = xstrdup(spool);
	}
	d.conffile = conffile;
	d.overrides = overrides;
	d.noverrides = noverrides;
	if ((d.persona = persona_find(d.conf->persona)) == NULL) {
		fprintf(stderr, "relaytrapd: %s: option 'persona': unknown "
		    "persona \"%s\" (known: %s)\n", opt_src(&d, "persona"),
		    d.conf->persona, persona_names());
		return 1;
	}
	if (d.conf->listen.n == 0) {
		fprintf(stderr, "relaytrapd: no listener configured "
		    "(listen = {\"127.0.0.1:2525\"} or -l)\n");
		return 1;
	}
	if (conf_check_start(&d) == -1)
		return 1;
	if (check) {
		printf("relaytrapd: configuration %s is valid\n",
		    conffile ? conffile : "(built-in defaults)");
		return 0;
	}

	log_init(foreground, "relaytrapd");
	log_set_verbose(verbose);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL);
	if (evthread_use_pthreads() == -1)
		fatalx("libevent: no pthreads support");

	d.root = geteuid() == 0;
	if (d.root && priv_lookup(d.conf->user, &d.uid, &d.gid) == -1)
		fatalx("user \"%s\" does not exist: create it (useradd "
		    "--system --no-create-home %s) or set 'user' in the "
		    "configuration", d.conf->user, d.conf->user);
	if (d.root && d.uid == 0)
		fatalx("user \"%s\" is root; relaytrapd refuses to run its "
		    "roles as root", d.conf->user);

	if ((d.queue = queue_open(d.conf->spool, QUEUE_F_CREATE, err,
	    sizeof(err))) == NULL || queue_lock(d.queue, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	d.spool = spool_path(d.conf->spool);
	if (d.root && queue_chown(d.queue, d.uid, d.gid) == -1)
		fatal("spool %s: chown to %s", d.spool, d.conf->user);
	i = (size_t)queue_recover(d.queue);
	if (i > 0)
		log_info("spool: purged %zu incomplete messages from tmp/", i);

	xasprintf(&tlsdir, "%s/tls", d.spool);
	if (smtp_tls_ensure_cert(d.conf, tlsdir, d.uid, d.gid, &d.cert,
	    &d.key) == -1)
		log_warnx("tls: no certificate; STARTTLS is not offered");
	free(tlsdir);

	if (evlog_open(d.conf->event_log) == -1)
		fatal("event_log %s", d.conf->event_log);
	if (d.root && d.conf->event_log[0] != '\0' &&
	    chown(d.conf->event_log, d.uid, d.gid) == -1)
		log_warn("event_log %s: chown", d.conf->event_log);

	d.fds = xcalloc(d.conf->listen.n, sizeof(int));
	d.fdflags = xcalloc(d.conf->listen.n, sizeof(int));
	for (i = 0; i < d.conf->listen.n; i++)
		d.fds[i] = bind_listener(d.conf->listen.v[i], &d.fdflags[i]);
	d.nfds = d.conf->listen.n;
	fflush(stdout);

	if (pipe2(d.notify, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pipe");
	d.roles[ROLE_SMTP].name = "smtp";
	d.roles[ROLE_WORKER].name = "worker";

	if (!foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		queue_lock_pid(d.queue);	/* the pid is the child's now */
	}
	{
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGHUP);
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	log_info("relaytrapd %s starting persona=%s spool=%s user=%s",
	    PACKAGE_VERSION, persona_name(d.persona), d.spool,
	    d.root ? d.conf->user : "(not root: unchanged)");
	return supervise(&d);
}
