/*
 * privsep.h -- the one place that changes identity (STYLE 7).
 */
#ifndef RT_PRIVSEP_H
#define RT_PRIVSEP_H

#include <sys/types.h>

int	 priv_lookup(const char *user, uid_t *uid, gid_t *gid);
void	 priv_drop(const char *user, const char *chroot_dir);
void	 priv_follow_parent(pid_t parent);

#endif
