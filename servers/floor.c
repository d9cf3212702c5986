/* iofloor: the cheapest HTTP server this machine can run, as a reference.
 *
 * One epoll loop, level-triggered; each read is searched for the end of a
 * request head ("\r\n\r\n") and one fixed response is sent per head found.
 * No parsing, no bodies, no timeouts, no limits: it answers GET / of a
 * well-behaved keep-alive client and nothing else, so its server CPU per
 * request is the floor every model's figure can be held against (the
 * system calls of one read and one write). Never a server to expose.
 *
 * usage: iofloor [PORT]   (127.0.0.1; default 8081; 0 picks a free port,
 * printed as "listening on 127.0.0.1:PORT"). SIGTERM or SIGINT stops it. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n"
                               "Content-Type: text/plain\r\n\r\nHello, World!";
static volatile sig_atomic_t stop;
static char tail[65536][3]; /* the last 3 bytes of each descriptor's input */

static void on_stop(int signo)
{
    stop = signo;
}

static int listen_on(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof sa;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1024) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
    fflush(stdout);
    return fd;
}

/* One read; one response per complete head in it. A head split across
 * reads is answered when its end arrives (the tail of the last read is
 * kept), which is all a pipelining-free benchmark client needs. */
static void serve(int fd)
{
    char buf[8192 + 3];
    memcpy(buf, tail[fd % 65536], 3);
    ssize_t n = read(fd, buf + 3, sizeof buf - 3);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            close(fd);
        return;
    }
    for (char *p = buf, *end = buf + 3 + n; (p = memmem(p, (size_t)(end - p), "\r\n\r\n", 4));
         p += 4)
        if (send(fd, response, sizeof response - 1, MSG_NOSIGNAL) < 0)
            break;
    memcpy(tail[fd % 65536], buf + n, 3);
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int lfd = listen_on(argc > 1 ? atoi(argv[1]) : 8081);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, evs[256];
    if (lfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
        perror("iofloor");
        return 1;
    }
    while (!stop) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd, c;
            if (fd != lfd) {
                serve(fd);
                continue;
            }
            while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                memset(tail[c % 65536], 0, 3);
                ev = (struct epoll_event){.events = EPOLLIN, .data.fd = c};
                if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0)
                    close(c);
            }
        }
    }
    return 0;
}
