/*
 * an_spf.h -- the SPF analyzer (analyzers/an_spf.c). an_spf is the
 * registry entry; an_spf_init_layer() is for tests that bring their own
 * libspf2 DNS layer (SPF_dns_zone_new()).
 */
#ifndef RT_AN_SPF_H
#define RT_AN_SPF_H

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/nameser.h>

#include <stddef.h>

#include <spf2/spf.h>

#include "an.h"

extern const struct an_analyzer an_spf;

int	an_spf_init_layer(const struct conf *conf, SPF_dns_server_t *layer,
	    void **state, char *err, size_t errlen);

#endif
