/*
 * xmalloc.h -- allocation that checks overflow and calls fatalx() on OOM.
 */
#ifndef RT_XMALLOC_H
#define RT_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
int	 xasprintf(char **ret, const char *fmt, ...)
	    __attribute__((__format__(printf, 2, 3)));

#endif
