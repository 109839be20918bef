/*
 * buf.h -- growable byte buffer whose hard cap is fixed at creation and
 * enforced inside the buffer (VSTRING done right).
 */
#ifndef RT_BUF_H
#define RT_BUF_H

#include <stddef.h>

struct buf {
	char	*data;		/* always NUL-terminated after len */
	size_t	 len;
	size_t	 size;		/* allocated, >= len + 1 */
	size_t	 cap;		/* hard cap on len */
};

struct buf	*buf_new(size_t initial, size_t cap);
void		 buf_free(struct buf *b);
int		 buf_add(struct buf *b, const void *p, size_t n);
int		 buf_addc(struct buf *b, char c);
int		 buf_addstr(struct buf *b, const char *s);
int		 buf_printf(struct buf *b, const char *fmt, ...)
		    __attribute__((__format__(printf, 2, 3)));
void		 buf_reset(struct buf *b);

#endif
