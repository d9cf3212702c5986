/* child: the small facts the harness needs about a child process that
 * ended: how it ended, the last thing it logged, and whether its log is
 * worth keeping. */
#ifndef IOBENCH_CHILD_H
#define IOBENCH_CHILD_H

#include <stdbool.h>
#include <stddef.h>

/* "exited with status 1", "killed by signal 9 (Killed) after it ignored
 * SIGTERM", ... for a wait status, into buf. */
void child_describe(int status, bool killed, char *buf, size_t cap);
/* The last non-empty line of a log file, for a failure reason ("" when
 * there is none). */
void child_last_line(const char *path, char *out, size_t cap);
/* Removes a log unless it says something about a failure (a failed run and
 * a non-empty file). */
void child_drop_log(const char *path, bool failed);
/* Runs argv to completion (5 s at most) with stdout into out (cap bytes,
 * NUL-terminated) through the file tmp. 0 when it exited 0, else -1. */
int child_capture(char *const argv[], const char *tmp, char *out, size_t cap);
/* The executable name is, looked up on PATH when it has no '/', into buf.
 * buf, or NULL when there is none. */
const char *child_which(const char *name, char *buf, size_t cap);

#endif
