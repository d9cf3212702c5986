/* refserver: the reference servers a suite may list beside ioserve's models.
 *
 * "nginx" (one worker, keep-alive, GET / answering "Hello, World!" from a
 * configuration written here; Debian's nginx-light) is the baseline every
 * ratio in the README is taken against; "floor" (servers/floor.c, built as
 * iofloor next to ioserve) is the cheapest server this machine can run, the
 * upper bound a chart can show. Neither speaks the whole protocol: they
 * serve GET / alone, are not verified against docs/protocol.md, and every
 * other workload is skipped for them with that reason. */
#ifndef IOBENCH_REFSERVER_H
#define IOBENCH_REFSERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "suite.h"

/* Whether name is a reference server rather than an ioserve model. */
bool refserver_is(const char *name);
/* Why the reference server cannot run workload w, or NULL when it can. */
const char *refserver_cannot(const char *name, const struct suite_workload *w);
/* Whether its binary is there; else a reason into why. */
bool refserver_available(const char *name, const char *ioserve, char *why, size_t cap);
/* The command line that starts it on 127.0.0.1:port (or host), writing
 * what it needs under dir: argv[] (NULL-terminated, strings in buf).
 * 0, or -1 with errno set. */
int refserver_argv(const char *name, const char *ioserve, const char *dir, const char *host,
                   int port, char *buf, size_t cap, char **argv, size_t nargv);
/* The directory under dir where name, started on port, writes its
 * configuration, pid and log: 1 with the path in out (nginx), 0 when it
 * writes none (floor), -1 with errno set. The harness removes it once the
 * server has exited cleanly and keeps it, log and all, when it did not. */
int refserver_scratch(const char *name, const char *dir, int port, char *out, size_t cap);
/* A free TCP port on host to start it on (0 when none could be found). */
int refserver_free_port(const char *host);

#endif
