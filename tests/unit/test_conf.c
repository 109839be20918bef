/*
 * test_conf.c -- configuration loading: defaults, every type, bounds,
 * unknown options, -o overrides after the file, and error messages that
 * name file and line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_defs.h"
#include "tap.h"

static char tmpdir[] = "/tmp/rt-test-conf-XXXXXX";

static char *
write_conf(const char *name, const char *text)
{
	static char path[256];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* load with stderr captured into errbuf */
static struct conf *
load_capture(const char *path, char *const *ov, size_t nov, char *errbuf,
    size_t errlen)
{
	char	 epath[256];
	FILE	*fp;
	int	 saved;
	struct conf *c;
	size_t	 n;

	snprintf(epath, sizeof(epath), "%s/stderr", tmpdir);
	fflush(stderr);
	saved = dup(2);
	fp = fopen(epath, "w+");
	dup2(fileno(fp), 2);
	c = conf_load(path, ov, nov);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(fp);
	n = fread(errbuf, 1, errlen - 1, fp);
	errbuf[n] = '\0';
	fclose(fp);
	return c;
}

static const struct bad_case {
	const char	*name;
	const char	*text;
	const char	*want;		/* substring of the error output */
} bad_cases[] = {
	{ .name = "unknown option", .text = "persona = \"postfix\"\nfoo = 1\n",
	    .want = "bad.conf:2:" },
	{ .name = "line length below RFC minimum",
	    .text = "\n\nmax_line_length = 100\n", .want = "bad.conf:3:" },
	{ .name = "negative sessions", .text = "max_sessions = -1\n",
	    .want = "max_sessions" },
	{ .name = "negative analysis_timeout",
	    .text = "analysis_timeout = -1\n", .want = "analysis_timeout" },
	{ .name = "bad listen", .text = "listen = {\"127.0.0.1\"}\n",
	    .want = "missing :PORT" },
	{ .name = "bad listen v6", .text = "listen = {\"::1:25\"}\n",
	    .want = "listen" },
	{ .name = "bad size", .text = "retention_max_size = \"12Q\"\n",
	    .want = "retention_max_size" },
	{ .name = "int as string", .text = "max_recipients = \"many\"\n",
	    .want = "bad.conf:1:" },
	{ .name = "auth_accept without colon",
	    .text = "auth_accept = {\"alice\"}\n", .want = "user:password" },
	{ .name = "trap_address not an address",
	    .text = "trap_address = {\"trap.example\"}\n",
	    .want = "trap_address" },
	{ .name = "trap_address with port",
	    .text = "trap_address = {\"198.51.100.25:25\"}\n",
	    .want = "is not an IP address" },
	{ .name = "forward rule without field",
	    .text = "forward_always = {\"*@x.example\"}\n",
	    .want = "forward_always" },
	{ .name = "forward rule empty pattern",
	    .text = "forward_never = {\"subject:\"}\n",
	    .want = "forward_never" },
	{ .name = "relaytest_threshold zero",
	    .text = "relaytest_threshold = 0\n", .want = "relaytest_threshold" },
	{ .name = "unterminated string", .text = "hostname = \"abc\n",
	    .want = "bad.conf" },
	{ .name = "line numbers survive comments",
	    .text = "# relaytrap.conf\n# limits\n// c++\n/* a\n b */\n"
	    "hostname = \"a#b\" # trailing\nmax_line_length = 100\n",
	    .want = "bad.conf:7:" },
};

int
main(void)
{
	struct conf *c;
	char	 err[4096], *path;
	size_t	 i;
	const char *errstr;

	if (mkdtemp(tmpdir) == NULL)
		return 1;

	/* defaults */
	c = conf_load(NULL, NULL, 0);
	ok(c != NULL, "defaults load");
	is_str(c->persona, CONF_DEF_PERSONA, "default persona");
	is_int(c->listen.n, 1, "one default listener");
	is_str(c->listen.v[0], CONF_DEF_LISTEN, "default listener");
	is_int(c->max_line_length, CONF_DEF_MAX_LINE_LENGTH, "default line length");
	ok(c->hostname[0] != '\0', "hostname defaults to the machine's");
	ok(c->chroot, "chroot defaults on");
	is_int(c->trap_address.n, 0, "no trap_address by default");
	is_int(c->relaytest_threshold, CONF_DEF_RELAYTEST_THRESHOLD,
	    "default relaytest_threshold");
	is_int(c->relaytest_cluster_first, CONF_DEF_RELAYTEST_CLUSTER_FIRST,
	    "default relaytest_cluster_first");
	is_int(c->relaytest_client_window, CONF_DEF_RELAYTEST_CLIENT_WINDOW,
	    "default relaytest_client_window");
	is_int(c->relaytest_tiny_body, CONF_DEF_RELAYTEST_TINY_BODY,
	    "default relaytest_tiny_body");
	is_int(c->forward_always.n + c->forward_never.n + c->known_testers.n,
	    0, "no rules or testers by default");
	is_int(c->analysis_timeout, CONF_DEF_ANALYSIS_TIMEOUT,
	    "default analysis_timeout");
	conf_free(c);

	/* relay-test options */
	{
		char	*ov[] = { "trap_address = {\"198.51.100.25\","
		    " \"[2001:db8::25]\"}", "relaytest_threshold = 75",
		    "forward_always = {\"rcpt:*@box.example\"}",
		    "forward_never = {\"subject:*lottery*\","
		    " \"sender:*@x.example\"}",
		    "known_testers = {\"*@abuse.example\"}",
		    "relaytest_cluster_first = 0" };

		c = conf_load(NULL, ov, 6);
		ok(c != NULL, "relay-test options load");
		if (c != NULL) {
			is_int(c->trap_address.n, 2, "two trap addresses");
			is_str(c->trap_address.v[1], "[2001:db8::25]",
			    "bracketed v6 kept as written");
			is_int(c->relaytest_threshold, 75, "threshold");
			is_str(c->forward_always.v[0], "rcpt:*@box.example",
			    "forward_always");
			is_int(c->forward_never.n, 2, "forward_never");
			is_str(c->known_testers.v[0], "*@abuse.example",
			    "known_testers");
			is_int(c->relaytest_cluster_first, 0, "cluster off");
			conf_free(c);
		}
	}

	/* every type from a file */
	path = write_conf("good.conf",
	    "# comment\n"
	    "hostname = \"mx1.trap.example\"\n"
	    "persona = \"exim\"\n"
	    "listen = {\"127.0.0.1:25\", \"[::1]:2525\", \"tls:127.0.0.1:465\","
	    " \"proxy:127.0.0.1:2526\"}\n"
	    "chroot = false\n"
	    "auth_accept = {\"alice:s3cret\", \"bob:pa:ss\"}\n"
	    "max_sessions = 20000\n"
	    "retention_max_size = \"20G\"\n"
	    "retention_max_age = 30\n");
	c = conf_load(path, NULL, 0);
	ok(c != NULL, "good file loads");
	is_str(c->hostname, "mx1.trap.example", "string");
	is_int(c->listen.n, 4, "list of four listeners");
	is_str(c->listen.v[3], "proxy:127.0.0.1:2526", "fourth listener");
	ok(!c->chroot, "bool false");
	is_int(c->auth_accept.n, 2, "auth_accept list");
	is_str(c->auth_accept.v[1], "bob:pa:ss", "password may contain ':'");
	is_int(c->max_sessions, 20000, "int");
	is_int(c->retention_max_size, 20LL * 1024 * 1024 * 1024, "size 20G");
	is_int(c->retention_max_age, 30, "retention age");
	conf_free(c);

	/* -o statements come after the file and win */
	{
		char	*ov[] = { "persona = sendmail", "max_sessions = 7",
		    "listen = {\"127.0.0.1:0\"}" };

		c = conf_load(path, ov, 3);
		ok(c != NULL, "overrides load");
		is_str(c->persona, "sendmail", "-o overrides the file");
		is_int(c->max_sessions, 7, "-o int");
		is_int(c->listen.n, 1, "-o list replaces the list");
		is_str(c->hostname, "mx1.trap.example", "file values stay");
		conf_free(c);
	}
	{
		char	*ov[] = { "max_line_length = 10" };

		c = load_capture(path, ov, 1, err, sizeof(err));
		ok(c == NULL, "bad -o rejected");
		ok(strstr(err, "-o: option 'max_line_length'") != NULL, "error names -o and the option");
	}

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];

		path = write_conf("bad.conf", bc->text);
		c = load_capture(path, NULL, 0, err, sizeof(err));
		ok(c == NULL, "%s: rejected", bc->name);
		if (c != NULL)
			conf_free(c);
		ok(strstr(err, bc->want) != NULL, "%s: error says \"%s\"",
		    bc->name, bc->want);
		if (strstr(err, bc->want) == NULL)
			printf("#   stderr: %s\n", err);
	}

	c = load_capture("/nonexistent/relaytrap.conf", NULL, 0, err,
	    sizeof(err));
	ok(c == NULL && strstr(err, "cannot read") != NULL,
	    "missing file: clear error");

	is_int(conf_parse_size("4096", &errstr), 4096, "size plain");
	is_int(conf_parse_size("512K", &errstr), 512 * 1024, "size K");
	is_int(conf_parse_size("x", &errstr), -1, "size junk");
	ok(errstr != NULL, "size junk has errstr");

	(void)system("rm -rf /tmp/rt-test-conf-*");
	return tap_done();
}
