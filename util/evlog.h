/*
 * evlog.h -- the JSON-lines event log (docs/EVENTS.md has the schema).
 * One object per line, written with one write(2) on an O_APPEND fd, so
 * several processes may share the file.
 */
#ifndef RT_EVLOG_H
#define RT_EVLOG_H

#include <jansson.h>

int	 evlog_open(const char *path);
void	 evlog_close(void);
void	 evlog_emit(const char *type, json_t *ev);

#endif
