/*
 * jsonutil.h -- JSON strings from untrusted bytes. jansson needs valid
 * UTF-8; network text may be anything. jsu_bytes() keeps valid UTF-8,
 * writes other bytes (and C0 controls except TAB, and backslash) as \xNN,
 * so that the text stays readable and reversible.
 */
#ifndef RT_JSONUTIL_H
#define RT_JSONUTIL_H

#include <stddef.h>

#include <jansson.h>

json_t	*jsu_bytes(const char *p, size_t n);
json_t	*jsu_str(const char *s);
size_t	 jsu_unescape(const char *in, char *out, size_t outsz);

#endif
