/*
 * priv: giving up root.  Started as root, inferd binds its sockets and
 * creates its segment, then runs as the configured user and group with no
 * supplementary groups and no capabilities.
 */
#ifndef INFERD_PRIV_H
#define INFERD_PRIV_H

#include <stddef.h>

/* A user and group to switch to. */
struct priv_ids {
	unsigned	uid;
	unsigned	gid;
};

/*
 * Look up user and group ("" for group: the user's primary group).  0, or
 * -1 with a one-line reason in err.
 */
int	priv_lookup(const char *user, const char *group, struct priv_ids *,
	    char *err, size_t errlen);

/*
 * Become ids: setgroups, setgid, setuid, then check that root cannot be
 * regained and that no capability is left.  0, or -1 with the step that
 * failed in err.  The caller must be root.
 */
int	priv_drop(const struct priv_ids *, char *err, size_t errlen);

#endif /* INFERD_PRIV_H */
