/* net: the listening socket and accept, shared by every model. */
#ifndef IOBENCH_NET_H
#define IOBENCH_NET_H

#include <stdbool.h>
#include <stddef.h>

/* Binds host:port (port 0 picks a free one) and listens. The socket is
 * non-blocking and close-on-exec; with reuseport, SO_REUSEPORT lets other
 * sockets that set it listen on the same port (loops.h). Stores the bound
 * port in *bound_port. Returns the descriptor, or -1 with a message in err. */
int net_listen(const char *host, int port, int backlog, bool reuseport, int *bound_port, char *err,
               size_t errlen);

/* Reserves one descriptor so that net_accept can shed a connection when the
 * process runs out of descriptors. Call once before serving. */
int net_reserve_fd(void);

/* accept4 with CLOEXEC; the new socket is non-blocking when nonblock. Out
 * of descriptors (EMFILE/ENFILE), it waits for a pending connection (a
 * blocking listening socket) or looks for one (a non-blocking one), tries
 * the accept once more in case descriptors came back, and otherwise sheds
 * that connection with the reserved descriptor, so a full backlog cannot
 * spin a loop. Then -1 with errno EMFILE (one was shed, more may wait) or
 * EAGAIN (none pending). EINTR and EAGAIN are returned as they are.
 * One accept path for every model: several processes may accept on one
 * listener (prefork, loops) when it is non-blocking, since then no accept
 * can block on a connection another process took first; the reserve is per
 * process, so within one process one thread accepts. */
int net_accept(int lfd, bool nonblock);

/* What net_accept does to each connection it accepts (TCP_NODELAY, the
 * reserve taken back), for a model that accepted fd itself (io_uring's
 * multishot accept). Returns fd. */
int net_accepted(int fd);

/* Sets or clears O_NONBLOCK. */
int net_set_nonblock(int fd, bool on);

#ifdef HAVE_F_SETSIG
/* Signal-driven I/O on fd: this process owns it (F_SETOWN), readiness is
 * reported with the realtime signal signo (F_SETSIG, which also makes the
 * kernel fill si_fd), and O_ASYNC turns it on. O_NONBLOCK is set too when
 * nonblock. */
int net_set_async(int fd, int signo, bool nonblock);
#endif

#endif
