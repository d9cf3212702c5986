/* iterative: one connection at a time, blocking I/O.
 *
 * The simplest server of the course notes: accept, serve that client to the
 * end, accept the next. Its weakness is the lesson: while one client stalls
 * (a slow request, an idle keep-alive connection), every other client waits
 * in the listen backlog, until the stalled one finishes or its timeout
 * (--header-timeout, --idle-timeout) frees the server. */
#include <errno.h>
#include <unistd.h>

#include "conn.h"
#include "net.h"

/* The model's name, written once: --model, /stats and 503s use it. */
#define NAME "iterative"

static int iterative_serve(int lfd, const struct server_config *cfg)
{
    /* accept() blocks here; a signal interrupts it with EINTR. */
    if (net_set_nonblock(lfd, false) < 0)
        return -1;
    while (!server_stopping()) {
        int fd = net_accept(lfd, false);
        if (fd < 0)
            continue; /* EINTR: look at the stop flag; EMFILE: shed, retry */
        conn_serve_blocking(fd, cfg, NAME);
        close(fd);
    }
    return 0;
}

const struct model model_iterative = {
    .name = NAME,
    .summary = "one connection at a time, blocking I/O",
    .serve = iterative_serve,
};
