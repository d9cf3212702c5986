/* net: listening socket and accept with descriptor-exhaustion shedding. */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int reserve_fd = -1;

int net_set_nonblock(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl);
}

int net_listen(const char *host, int port, int backlog, bool reuseport, int *bound_port, char *err,
               size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    int saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        /* A restarted server must not wait out TIME_WAIT on its port. */
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
            (!reuseport || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0) &&
            bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(saved));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        snprintf(err, errlen, "getsockname: %s", strerror(errno));
        close(fd);
        return -1;
    }
    *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

int net_reserve_fd(void)
{
    if (reserve_fd < 0)
        reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return reserve_fd < 0 ? -1 : 0;
}

static void set_nodelay(int fd)
{
    int one = 1;
    /* Responses are written whole; Nagle would only delay pipelined ones.
     * Failure is harmless (not every socket is TCP), so it is not fatal. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* A connection was accepted. The reserve can be lost while shedding: in
 * the thread and aio models another thread may open a descriptor (glibc
 * does, now and then) in the moment between freeing the reserve's slot and
 * the accept that was to fill it. Nothing else would restore it, so take it
 * back here, now that descriptors are free again. */
int net_accepted(int fd)
{
    set_nodelay(fd);
    (void)net_reserve_fd(); /* failing, it is tried again at the next accept */
    return fd;
}

/* Without a reserved descriptor nothing can be shed, and a pending
 * connection keeps the listener readable: pause a moment rather than spin,
 * and try to get the reserve back. */
static int reserve_lost(void)
{
    if (net_reserve_fd() < 0) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    errno = EMFILE;
    return -1;
}

int net_accept(int lfd, bool nonblock)
{
    int flags = SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0);
    int fd = accept4(lfd, NULL, NULL, flags);
    if (fd >= 0)
        return net_accepted(fd);
    if (errno != EMFILE && errno != ENFILE)
        return -1;
    if (reserve_fd < 0)
        return reserve_lost();
    /* Out of descriptors. The kernel refuses before it looks at the queue,
     * so a pending connection would keep a level-triggered loop busy and a
     * blocking loop would spin. Wait until one is pending (blocking
     * listener) or look without waiting (non-blocking), then give up the
     * reserved descriptor to take it off the queue. */
    int lfl = fcntl(lfd, F_GETFL);
    if (lfl < 0)
        return -1;
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    int r = poll(&pfd, 1, (lfl & O_NONBLOCK) ? 0 : -1);
    if (r < 0)
        return -1; /* EINTR: the caller looks at its stop flag */
    if (r == 0) {
        errno = EAGAIN; /* nothing to shed: wait for the next event */
        return -1;
    }
    /* Descriptors may have come back while we waited: serve, not shed. */
    fd = accept4(lfd, NULL, NULL, flags);
    if (fd >= 0)
        return net_accepted(fd);
    if (errno != EMFILE && errno != ENFILE)
        return -1;
    close(reserve_fd);
    reserve_fd = -1;
    /* Only this thread accepts in this process, and poll saw a connection;
     * with a blocking listener no other process accepts (net.h), so this
     * cannot block; with a non-blocking one, a connection another process
     * took first gives EAGAIN and reserve_lost takes the slot back. */
    int shed = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (shed < 0)
        return reserve_lost();
    /* The shed connection's socket, shut down (the client sees the close
     * at once), becomes the reserve: the slot is never left free for a
     * moment in which something else could take it. */
    shutdown(shed, SHUT_RDWR);
    reserve_fd = shed;
    errno = EMFILE; /* one was shed, more may be waiting */
    return -1;
}

#ifdef HAVE_F_SETSIG
int net_set_async(int fd, int signo, bool nonblock)
{
    if (fcntl(fd, F_SETOWN, getpid()) < 0 || fcntl(fd, F_SETSIG, signo) < 0)
        return -1;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    fl |= O_ASYNC;
    fl = nonblock ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl);
}
#endif
