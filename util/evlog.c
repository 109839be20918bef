/*
 * evlog.c -- JSON-lines events for Filebeat/Vector. Opened by the parent
 * before the roles fork and drop privileges; every role inherits the fd.
 * Values are serialised by jansson, so no escaping is hand-made.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evlog.h"
#include "log.h"

#define EVLOG_SCHEMA	1

static int	 evlog_fd = -1;

/*
 * evlog_open -- open (create, append) the event log at path; "" or NULL
 * disables it. Returns 0 or -1 with errno.
 */
int
evlog_open(const char *path)
{
	evlog_close();
	if (path == NULL || *path == '\0')
		return 0;
	evlog_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	return evlog_fd == -1 ? -1 : 0;
}

/*
 * evlog_close -- stop writing events.
 */
void
evlog_close(void)
{
	if (evlog_fd != -1)
		close(evlog_fd);
	evlog_fd = -1;
}

/*
 * evlog_emit -- write event <ev> of <type>, adding "schema", "type" and
 * "ts" (RFC 3339 UTC, milliseconds). Steals the reference to ev.
 */
void
evlog_emit(const char *type, json_t *ev)
{
	struct timespec ts;
	struct tm tm;
	char	 tbuf[40], *line;
	size_t	 len;

	if (ev == NULL)
		return;
	if (evlog_fd == -1) {
		json_decref(ev);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(tbuf + len, sizeof(tbuf) - len, ".%03ldZ",
	    ts.tv_nsec / 1000000);
	json_object_set_new(ev, "schema", json_integer(EVLOG_SCHEMA));
	json_object_set_new(ev, "type", json_string(type));
	json_object_set_new(ev, "ts", json_string(tbuf));
	line = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(ev);
	if (line == NULL)
		return;
	len = strlen(line);
	line[len] = '\n';	/* json_dumps leaves room for the NUL */
	if (write(evlog_fd, line, len + 1) != (ssize_t)(len + 1))
		log_warn("evlog: write");
	free(line);
}
