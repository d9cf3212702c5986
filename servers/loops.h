/* loops: --workers N for the event models: N copies of one event loop,
 * each in its own process with its own SO_REUSEPORT listener on the same
 * port, so the kernel spreads new connections over them and no two loops
 * ever wake for the same one (nginx's reuseport, without a shared queue). */
#ifndef IOBENCH_LOOPS_H
#define IOBENCH_LOOPS_H

#include <stdbool.h>

#include "server.h"

/* --workers for every model flagged MODEL_LOOPS; 1 by default. */
extern long loops_workers;
#define LOOPS_WORKERS_OPTION                                                                       \
    {"workers", MODEL_WORKERS_HELP, 1, 256, &loops_workers, false}

/* Whether m runs several loops, so its listener needs SO_REUSEPORT. */
bool loops_wanted(const struct model *m);
/* Opens the other listeners beside lfd (bound with SO_REUSEPORT) and runs
 * m->serve on each in a supervised child (supervise.h). 0, or -1. */
int loops_serve(const struct model *m, int lfd, const struct server_config *cfg);

#endif
