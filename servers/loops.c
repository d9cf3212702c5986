/* loops: N supervised copies of one event loop, one listener each. */
#include "loops.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "supervise.h"

long loops_workers = 1;

struct loops {
    const struct model *model;
    const struct server_config *cfg;
    int *fds;
    int n;
};

bool loops_wanted(const struct model *m)
{
    return (m->flags & MODEL_LOOPS) && loops_workers > 1;
}

/* A child keeps only its own listener: each loop's descriptor table then
 * looks as it would with one loop. */
static int run_loop(int index, void *arg)
{
    struct loops *l = arg;
    for (int i = 0; i < l->n; i++)
        if (i != index)
            close(l->fds[i]);
    return l->model->serve(l->fds[index], l->cfg);
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return -1;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

int loops_serve(const struct model *m, int lfd, const struct server_config *cfg)
{
    struct loops l = {.model = m, .cfg = cfg, .n = (int)loops_workers};
    int port = bound_port(lfd);
    l.fds = malloc((size_t)l.n * sizeof *l.fds);
    if (port < 0 || !l.fds)
        return free(l.fds), -1;
    /* The parent holds every listener for the server's life: a restarted
     * loop takes up its predecessor's queue, and the kernel never hashes a
     * connection to a listener that no longer exists. */
    l.fds[0] = lfd;
    int opened = 1, rc = -1;
    for (; opened < l.n; opened++) {
        char err[256];
        int unused;
        l.fds[opened] = net_listen(cfg->host, port, cfg->backlog, true, &unused, err, sizeof err);
        if (l.fds[opened] < 0) {
            fprintf(stderr, "ioserve: loop %d: %s\n", opened, err);
            goto out;
        }
    }
    rc = supervise_children(l.n, run_loop, &l, cfg);
out:
    for (int i = 1; i < opened; i++)
        close(l.fds[i]);
    free(l.fds);
    return rc;
}
