/* resultsdir: the directory a run writes, parent/<UTC stamp>-<git sha>[-N]
 * with runs/, plots/ and logs/, and the parent's "latest" link. */
#ifndef IOBENCH_RESULTSDIR_H
#define IOBENCH_RESULTSDIR_H

#include <stddef.h>

/* Checks that parent is writable with min_free_mb MiB free, then creates a
 * new run directory there; its path into dir. 0, or -1 after one line on
 * stderr. */
int resultsdir_create(const char *parent, long min_free_mb, char *dir, size_t cap);
/* An existing run directory taken up again (--resume): its subdirectories
 * made again where missing (an empty logs/ is removed at the end of a run).
 * 0, or -1 after one line on stderr. */
int resultsdir_reopen(const char *dir);
/* parent/latest -> dir, replaced atomically; a failure is one line. */
void resultsdir_point_latest(const char *parent, const char *dir);
/* Removes dir/logs when empty: logs are kept only for failures. */
void resultsdir_tidy(const char *dir);

#endif
