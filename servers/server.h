/* server: the contract between ioserve's shared core and its I/O models.
 *
 * Each I/O model is one file (model_<name>.c) that exports one `struct model`.
 * A model owns only its I/O strategy: how it accepts connections, waits for
 * readiness or completion, and moves bytes. What bytes to move is decided by
 * the shared protocol core (conn.h), so models differ in nothing else. */
#ifndef IOBENCH_SERVER_H
#define IOBENCH_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct server_config {
    const char *host;      /* --host, 127.0.0.1 by default */
    int port;              /* --port, 0 picks a free port */
    const char *port_file; /* --port-file */
    size_t max_head;       /* --max-head, 8 KiB: larger heads get 431 */
    size_t max_body;       /* --max-body, 1 MiB: larger bodies get 413 */
    int header_timeout_ms; /* --header-timeout, 10 s: then 408 and close */
    int idle_timeout_ms;   /* --idle-timeout, 60 s: idle keep-alive closed */
    int write_timeout_ms;  /* --write-timeout, 30 s: a reader that stalls */
    int drain_timeout_ms;  /* --drain-timeout, 5 s: bound on shutdown */
    int max_conns;         /* --max-conns, 10000: more are answered 503 */
    size_t thread_stack;   /* --thread-stack, 64 KiB (model thread) */
    int aio_threads;       /* --aio-threads, 256 (model aio) */
    int backlog;           /* --backlog, 1024 */
};

struct model {
    const char *name;
    const char *summary; /* one line for --list-models */
    /* Serves listen_fd (non-blocking, CLOEXEC) until server_stopping() turns
     * true, then stops accepting, lets requests in flight finish within
     * cfg->drain_timeout_ms, closes every connection and returns 0; -1 on a
     * start-up failure. It must leave no thread or child process behind. */
    int (*serve)(int listen_fd, const struct server_config *cfg);
};

/* NULL-terminated list of the models this build has. */
extern const struct model *const server_models[];
const struct model *server_find_model(const char *name);

/* Set by SIGTERM/SIGINT. The handler is installed without SA_RESTART so a
 * blocked accept/read/poll returns EINTR and the caller looks at this. Models
 * that take signals synchronously (sigwaitinfo) call server_request_stop. */
int server_stopping(void);
void server_request_stop(void);
/* The signals ioserve acts on: SIGTERM and SIGINT (stop), SIGUSR1 (print
 * the counters). Models that block them and take them with sigwaitinfo pass
 * each one they take to server_take_signal. */
void server_stop_sigset(sigset_t *set);
void server_take_signal(int signo);
/* Prints the counters on stderr (SIGUSR1). */
void server_report(void);

/* Monotonic clock in microseconds: /delay must never answer early, and
 * millisecond truncation would make it up to a millisecond early or late. */
int64_t server_now_us(void);

#endif
