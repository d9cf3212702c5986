/* slowclients: one thread trickling request heads over raw sockets. */
#include "slowclients.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOW_TICK_MS 200
#define SLOW_MAX 1000

struct slow_conn {
    int fd;     /* -1 while not connected */
    size_t off; /* next byte of the head to send */
};

struct slowclients {
    pthread_t thread;
    int stop_pipe[2];
    int port;
    struct in_addr addr;
    int cpu;
    int n;
    char head[512];
    size_t head_len;
    struct slow_conn *conns;
    struct slowclients_stats st;
};

static void slow_close(struct slowclients *sc, struct slow_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->off = 0;
}

static void slow_connect(struct slowclients *sc, struct slow_conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        sc->st.connect_errors++;
        return;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sc->port)};
    sa.sin_addr = sc->addr;
    /* Non-blocking, so a server whose backlog is full (iterative) cannot
     * stall the other connections; the handshake finishes in the background. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        close(fd);
        sc->st.connect_errors++;
        return;
    }
    c->fd = fd;
    c->off = 0;
    sc->st.connects++;
}

/* One tick of one connection: read what the server sent, send one byte. */
static void slow_tick(struct slowclients *sc, struct slow_conn *c)
{
    if (c->fd < 0) {
        slow_connect(sc, c);
        return;
    }
    char buf[4096];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            sc->st.bytes_received += n;
            continue;
        }
        if (n == 0 ||
            (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ENOTCONN)) {
            sc->st.closed++;
            slow_close(sc, c);
            return;
        }
        if (errno != EINTR)
            break;
    }
    ssize_t n = send(c->fd, sc->head + c->off, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == 1) {
        sc->st.bytes_sent++;
        /* A complete head starts the next request on the same connection. */
        c->off = (c->off + 1) % sc->head_len;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        sc->st.closed++;
        slow_close(sc, c);
    }
}

static void *slow_thread(void *arg)
{
    struct slowclients *sc = arg;
    if (sc->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(sc->cpu, &set);
        /* Best effort: unpinned slow clients still exercise the server. */
        (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    for (;;) {
        for (int i = 0; i < sc->n; i++)
            slow_tick(sc, &sc->conns[i]);
        struct pollfd pfd = {.fd = sc->stop_pipe[0], .events = POLLIN};
        int rc = poll(&pfd, 1, SLOW_TICK_MS);
        if (rc > 0)
            break;
        if (rc < 0 && errno != EINTR)
            break;
    }
    for (int i = 0; i < sc->n; i++)
        slow_close(sc, &sc->conns[i]);
    return NULL;
}

struct slowclients *slowclients_start(const char *host, int port, int n, const char *path, int cpu,
                                      char *err, size_t errlen)
{
    if (n < 1 || n > SLOW_MAX || port < 1 || port > 65535) {
        snprintf(err, errlen, "slow clients: bad count %d or port %d", n, port);
        return NULL;
    }
    struct slowclients *sc = calloc(1, sizeof *sc);
    if (sc == NULL || (sc->conns = calloc((size_t)n, sizeof *sc->conns)) == NULL) {
        free(sc);
        snprintf(err, errlen, "slow clients: out of memory");
        return NULL;
    }
    int len = snprintf(sc->head, sizeof sc->head,
                       "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: iobench-slowclient\r\n"
                       "\r\n",
                       path, host);
    if (len < 0 || (size_t)len >= sizeof sc->head) {
        snprintf(err, errlen, "slow clients: path too long");
        goto fail;
    }
    if (inet_pton(AF_INET, host, &sc->addr) != 1) {
        snprintf(err, errlen, "slow clients: %s is not an IPv4 address", host);
        goto fail;
    }
    sc->head_len = (size_t)len;
    sc->port = port;
    sc->cpu = cpu;
    sc->n = n;
    for (int i = 0; i < n; i++)
        sc->conns[i].fd = -1;
    if (pipe2(sc->stop_pipe, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "slow clients: pipe: %s", strerror(errno));
        goto fail;
    }
    int rc = pthread_create(&sc->thread, NULL, slow_thread, sc);
    if (rc != 0) {
        snprintf(err, errlen, "slow clients: pthread_create: %s", strerror(rc));
        close(sc->stop_pipe[0]);
        close(sc->stop_pipe[1]);
        goto fail;
    }
    return sc;
fail:
    free(sc->conns);
    free(sc);
    return NULL;
}

int slowclients_stop(struct slowclients *sc, struct slowclients_stats *st)
{
    if (sc == NULL)
        return 0;
    char b = 1;
    ssize_t w;
    do
        w = write(sc->stop_pipe[1], &b, 1);
    while (w < 0 && errno == EINTR);
    if (w != 1 || pthread_join(sc->thread, NULL) != 0)
        return -1; /* the thread may still use sc: leak it rather than free */
    if (st != NULL)
        *st = sc->st;
    close(sc->stop_pipe[0]);
    close(sc->stop_pipe[1]);
    free(sc->conns);
    free(sc);
    return 0;
}
