/* supervise: a parent that keeps a fixed number of child processes running,
 * for prefork and for the event models run with --workers. */
#ifndef IOBENCH_SUPERVISE_H
#define IOBENCH_SUPERVISE_H

#include <sys/types.h>

#include "server.h"

/* Forks n children; child i runs run(i, arg) with every signal unblocked
 * and exits 0 when it returns 0, 1 otherwise. While the server runs, a child
 * that dies for any reason is reaped and started again; once stopping, each
 * child gets SIGTERM, those alive cfg->drain_timeout_ms plus a second later
 * get SIGKILL, and every one is reaped before it returns. Returns 0, or -1
 * when a child cannot be started or they keep dying as they start. */
int supervise_children(int n, int (*run)(int index, void *arg), void *arg,
                       const struct server_config *cfg);

/* In a child just forked from parent: dies with the parent (it would
 * otherwise outlive a parent killed outright), SIGCHLD back to its default,
 * every signal unblocked. Exits when the parent is already gone. */
void supervise_child_setup(pid_t parent);

#endif
