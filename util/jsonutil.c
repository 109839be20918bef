/*
 * jsonutil.c -- turn hostile bytes into JSON strings without loss.
 * Used by every role that records network text (envelopes, sessions,
 * events). Output is bounded by 4x the input.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "log.h"
#include "xmalloc.h"

#define JSU_STACK	1024

/* length of a valid UTF-8 sequence at p (1..4), or 0 if invalid */
static size_t
jsu_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t	 len, i;
	unsigned int cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * jsu_bytes -- a new JSON string holding n bytes of p, escaped as the
 * header says. Never NULL (fatal on OOM).
 */
json_t *
jsu_bytes(const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)p;
	char	 stackbuf[JSU_STACK + 1], *out;
	size_t	 i = 0, o = 0, l;
	json_t	*j;

	/* small strings (most) need no heap buffer */
	stackbuf[0] = '\0';
	out = n <= JSU_STACK / 4 ? stackbuf : xmalloc(n * 4 + 1);
	while (i < n) {
		l = jsu_utf8_len(u + i, n - i);
		if (l == 1 && ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f ||
		    u[i] == '\\'))
			l = 0;
		if (l == 0) {
			if (u[i] == '\\') {
				out[o++] = '\\';
				out[o++] = '\\';
			} else {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[u[i] >> 4];
				out[o++] = hex[u[i] & 0xf];
			}
			i++;
			continue;
		}
		memcpy(out + o, u + i, l);
		o += l;
		i += l;
	}
	/* out is valid UTF-8 by construction: skip jansson's second check */
	j = json_stringn_nocheck(out, o);
	if (out != stackbuf)
		free(out);
	if (j == NULL)
		fatalx("jsu_bytes: out of memory");
	return j;
}

/*
 * jsu_str -- jsu_bytes() of a C string; NULL gives JSON null.
 */
json_t *
jsu_str(const char *s)
{
	if (s == NULL)
		return json_null();
	return jsu_bytes(s, strlen(s));
}

/*
 * jsu_unescape -- reverse jsu_bytes(): "\\xNN" and "\\\\" back to bytes.
 * Writes at most outsz bytes; returns the full decoded length.
 */
size_t
jsu_unescape(const char *in, char *out, size_t outsz)
{
	size_t	 o = 0;

	while (*in) {
		char	 c = *in++;

		if (c == '\\' && *in == '\\')
			in++;
		else if (c == '\\' && in[0] == 'x' && in[1] && in[2]) {
			char	 h[3] = { in[1], in[2], 0 };

			c = (char)strtoul(h, NULL, 16);
			in += 3;
		}
		if (o < outsz)
			out[o] = c;
		o++;
	}
	return o;
}
