/*
 * buf.c -- capped growable buffers; used by every role for untrusted data.
 * The cap is checked before any byte is copied: a caller can never grow
 * a buffer past what it promised at creation.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

/*
 * buf_new -- empty buffer, initial allocation <initial>, never longer
 * than <cap> bytes.
 */
struct buf *
buf_new(size_t initial, size_t cap)
{
	struct buf *b;

	b = xcalloc(1, sizeof(*b));
	if (initial > cap)
		initial = cap;
	b->size = initial + 1;
	b->data = xmalloc(b->size);
	b->data[0] = '\0';
	b->cap = cap;
	return b;
}

/*
 * buf_free -- release b (NULL is fine).
 */
void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	free(b);
}

/*
 * buf_add -- append n bytes. Returns 0, or -1 when the cap would be
 * exceeded; then nothing was appended.
 */
int
buf_add(struct buf *b, const void *p, size_t n)
{
	size_t	 need;

	if (n > b->cap - b->len)
		return -1;
	need = b->len + n + 1;
	if (need > b->size) {
		size_t	 nsize = b->size * 2;

		if (nsize < need)
			nsize = need;
		if (nsize > b->cap + 1)
			nsize = b->cap + 1;
		b->data = xreallocarray(b->data, 1, nsize);
		b->size = nsize;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/*
 * buf_addc -- append one byte; 0 or -1 at the cap.
 */
int
buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

/*
 * buf_addstr -- append a C string; 0 or -1 at the cap.
 */
int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/*
 * buf_printf -- append formatted text; 0, or -1 at the cap (nothing added).
 */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[512], *big = NULL;
	int	 n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_add(b, small, (size_t)n);
	big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	(void)vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = buf_add(b, big, (size_t)n);
	free(big);
	return rc;
}

/*
 * buf_reset -- empty b, keeping its allocation and cap.
 */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->data[0] = '\0';
}
