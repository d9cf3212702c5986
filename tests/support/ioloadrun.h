/* ioloadrun: runs the ioload binary from a test and reads its JSON result,
 * and a canned HTTP server whose bytes a test chooses (for responses no
 * real server sends: one byte at a time, garbage, cut short). */
#ifndef IOBENCH_IOLOADRUN_H
#define IOBENCH_IOLOADRUN_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

/* Runs `ioload ARGS... --quiet --json DIR/NAME` (args NULL-terminated),
 * killing it after timeout_ms. Returns the parsed result (caller decrefs),
 * or NULL when it did not exit 0 or wrote no JSON; *status gets its exit
 * status (-1 when killed). */
json_t *ioload_result(const char *dir, const char *name, const char *const *args, int timeout_ms,
                      int *status);
/* The same, run under a command prefix found on PATH (e.g. {"nice", "-n",
 * "19", NULL}); prefix may be NULL. */
json_t *ioload_result_under(const char *const *prefix, const char *dir, const char *name,
                            const char *const *args, int timeout_ms, int *status);
/* Waits up to timeout_ms for pid (an ioload the test started), then kills
 * it with SIGKILL; its exit status, or -1 when killed or not exited. */
int ioload_wait(pid_t pid, int timeout_ms);
/* The value at a dotted path ("totals.requests"); NULL when absent. */
const json_t *jpath(const json_t *root, const char *dotted);
/* A number at a dotted path ("totals.requests"); NAN when absent. */
double jnum(const json_t *root, const char *dotted);

struct canned {
    int port;
    const char *response; /* written after each request head */
    size_t len;
    bool bytewise;    /* one byte per write, 1 ms apart */
    bool close_after; /* close the connection after each response */
    bool silent;      /* read requests, never answer */
    int listen_fd;
    volatile bool stop;
    pthread_t tid;
};

/* Starts the server on 127.0.0.1, port 0 (c->port is set); c's fields
 * above `port` are the caller's. Returns 0 or -1. */
int canned_start(struct canned *c);
void canned_stop(struct canned *c);

#endif
