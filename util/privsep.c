/*
 * privsep.c -- drop root: getpwnam, optional chroot, setgroups, setresgid,
 * setresuid, then verify. Runs in each role process right after fork.
 * No other file calls these system calls. Any failure is fatal: a role
 * that cannot shed root must not serve.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"

/*
 * priv_lookup -- uid and gid of <user>. Returns 0, or -1 if there is no
 * such user.
 */
int
priv_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/*
 * priv_drop -- when running as root, become <user>, chrooted to
 * <chroot_dir> if it is not NULL. Not root: nothing to drop, returns.
 * Fatal on any failure, and if root can be regained afterwards.
 */
void
priv_drop(const char *user, const char *chroot_dir)
{
	uid_t	 uid;
	gid_t	 gid;

	if (geteuid() != 0)
		return;
	if (priv_lookup(user, &uid, &gid) == -1)
		fatalx("privsep: unknown user \"%s\": create it (useradd "
		    "--system %s) or set user in relaytrap.conf", user, user);
	if (uid == 0)
		fatalx("privsep: user \"%s\" is root; relaytrapd refuses to "
		    "keep running as root", user);
	if (chroot_dir != NULL) {
		if (chroot(chroot_dir) == -1)
			fatal("privsep: chroot %s", chroot_dir);
		if (chdir("/") == -1)
			fatal("privsep: chdir /");
	}
	if (setgroups(1, &gid) == -1)
		fatal("privsep: setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("privsep: setresgid");
	if (setresuid(uid, uid, uid) == -1)
		fatal("privsep: setresuid");
	if (getuid() == 0 || geteuid() == 0 || setuid(0) != -1)
		fatalx("privsep: still root after dropping to %s", user);
}

/*
 * priv_follow_parent -- have the kernel send this process SIGTERM when its
 * parent dies, and exit at once if parent (the pid it forked from) is
 * gone already. A role must not serve on without the parent that restarts
 * it and holds the spool (a kill -9 of the parent alone would leave it
 * orphaned, listening, unsupervised). Call after priv_drop(): a change of
 * credentials clears the setting.
 */
void
priv_follow_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		log_warn("prctl PR_SET_PDEATHSIG");
	if (getppid() != parent) {
		log_warnx("the parent process is gone; exiting");
		exit(1);
	}
}
