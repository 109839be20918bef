/*
 * an_registry.c -- the static registry of analyzers: one entry per
 * analyzers/an_<name>.c, found by name; the configuration's `analyzers`
 * list enables and orders them.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "an_runner.h"

extern const struct an_analyzer an_origin;
extern const struct an_analyzer an_geoip;
extern const struct an_analyzer an_spf;
extern const struct an_analyzer an_content;
extern const struct an_analyzer an_campaign;
extern const struct an_analyzer an_relaytest;

/* "relaytest", the relay-test classifier, reads the others' results */
static const struct an_analyzer *const *
an_registry(size_t *n)
{
	static const struct an_analyzer *const table[] = {
		&an_origin, &an_geoip, &an_spf, &an_content, &an_campaign,
		&an_relaytest,
	};

	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

/*
 * an_registry_find -- the analyzer called name, or NULL if this binary
 * has none by that name.
 */
const struct an_analyzer *
an_registry_find(const char *name)
{
	const struct an_analyzer *const *t;
	size_t	 i, n;

	t = an_registry(&n);
	for (i = 0; i < n; i++)
		if (t[i] != NULL && t[i]->name != NULL &&
		    strcmp(t[i]->name, name) == 0)
			return t[i];
	return NULL;
}

/*
 * an_registry_names -- for error messages.
 */
const char *
an_registry_names(void)
{
	return "origin, geoip, spf, content, campaign, relaytest";
}
