/*
 * scratch: a scratch directory for the unit tests that write files
 * (models, FIFOs), made before a group of tests and removed after it.
 */
#ifndef INFERD_TEST_SCRATCH_H
#define INFERD_TEST_SCRATCH_H

/* The directory's path, valid between scratch_setup and scratch_cleanup. */
extern char	scratch_dir[];

/* cmocka group setup: make the directory; 0 or -1. */
int	scratch_setup(void **state);
/* cmocka group teardown: remove the files in it, then the directory. */
int	scratch_cleanup(void **state);

#endif /* INFERD_TEST_SCRATCH_H */
