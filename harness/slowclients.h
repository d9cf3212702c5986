/* slowclients: hostile clients that hold server connections by trickling a
 * valid request head one byte every 200 ms.
 *
 * Raw sockets, deliberately not an HTTP client: the point is bytes no real
 * client library would send this slowly. All connections live in one thread,
 * which reconnects a connection whenever the server closes it (a 408 after
 * the header timeout, say), and is stopped and joined at the end of a run. */
#ifndef IOBENCH_SLOWCLIENTS_H
#define IOBENCH_SLOWCLIENTS_H

#include <stddef.h>

struct slowclients;

struct slowclients_stats {
    long connects;       /* connections opened (reconnects included) */
    long connect_errors; /* connects that failed outright */
    long closed;         /* connections the server closed or reset */
    long bytes_sent;
    long bytes_received;
};

/* Starts n slow connections to host:port (IPv4) requesting path, from one
 * thread pinned to cpu when cpu >= 0. NULL with one line in err on failure
 * (nothing left running). */
struct slowclients *slowclients_start(const char *host, int port, int n, const char *path, int cpu,
                                      char *err, size_t errlen);
/* Stops the thread, closes every connection, joins, fills *st (may be NULL)
 * and frees sc. 0, or -1 when the thread could not be joined. */
int slowclients_stop(struct slowclients *sc, struct slowclients_stats *st);

#endif
