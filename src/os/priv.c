/*
 * priv: look up the user and group, and switch to them for good.
 */
#include "autoconf.h"

#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "inferd/priv.h"

/* Look up the user and group. */
int
priv_lookup(const char *user, const char *group, struct priv_ids *ids,
    char *err, size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user: no user '%s'%s%s", user,
		    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		return -1;
	}
	ids->uid = (unsigned)pw->pw_uid;
	ids->gid = (unsigned)pw->pw_gid;
	if (group[0] == '\0')
		return 0;
	errno = 0;
	if ((gr = getgrnam(group)) == NULL) {
		snprintf(err, errlen, "group: no group '%s'%s%s", group,
		    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		return -1;
	}
	ids->gid = (unsigned)gr->gr_gid;
	return 0;
}

/*
 * Whether the capability sets in /proc/self/status are all empty; 1, 0,
 * or -1 when they cannot be read.
 */
static int
priv_no_caps(void)
{
	FILE	*f;
	char	 line[256];
	int	 none = 1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if ((strncmp(line, "CapPrm:", 7) == 0 ||
		    strncmp(line, "CapEff:", 7) == 0 ||
		    strncmp(line, "CapAmb:", 7) == 0) &&
		    strspn(line + 7, "\t 0") != strlen(line + 7) - 1)
			none = 0;
	fclose(f);
	return none;
}

/* Become ids for good. */
int
priv_drop(const struct priv_ids *ids, char *err, size_t errlen)
{
	gid_t	gid = (gid_t)ids->gid;
	uid_t	uid = (uid_t)ids->uid;

	if (setgroups(1, &gid) == -1) {
		snprintf(err, errlen, "setgroups %u: %s", ids->gid,
		    strerror(errno));
		return -1;
	}
	if (setresgid(gid, gid, gid) == -1) {
		snprintf(err, errlen, "setresgid %u: %s", ids->gid,
		    strerror(errno));
		return -1;
	}
	if (setresuid(uid, uid, uid) == -1) {
		snprintf(err, errlen, "setresuid %u: %s", ids->uid,
		    strerror(errno));
		return -1;
	}
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		snprintf(err, errlen, "root could be regained after switching "
		    "to uid %u", ids->uid);
		return -1;
	}
	if (uid != 0 && priv_no_caps() != 1) {
		snprintf(err, errlen, "capabilities are left after switching "
		    "to uid %u", ids->uid);
		return -1;
	}
	return 0;
}
