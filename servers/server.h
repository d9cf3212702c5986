/* server: the contract between ioserve's shared core and its I/O models.
 *
 * Each I/O model is one file (model_<name>.c) that exports one `struct model`.
 * A model owns only its I/O strategy: how it accepts connections, waits for
 * readiness or completion, and moves bytes. What bytes to move is decided by
 * the shared protocol core (conn.h), so models differ in nothing else. */
#ifndef IOBENCH_SERVER_H
#define IOBENCH_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


#include "lifecycle.h"

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
    int backlog;           /* --backlog, 1024 */
};

/* A setting only some models have (--thread-stack, --workers): the model
 * lists it, main parses it into *value, which holds the default until then. */
struct model_option {
    const char *name; /* the option without its leading "--" */
    const char *help; /* one line for --help */
    long min, max;
    long *value;
    bool flag; /* takes no argument: given, it sets *value to 1 */
};

/* --workers means loops, processes or threads, depending on the model. */
#define MODEL_WORKERS_HELP                                                                         \
    "event loops (default 1), processes (prefork; 32) or threads (pool; 32)"

/* What a model is made of, for the tests and the harness: they look at
 * these properties, never at a model's name (ioserve --describe-models). */
enum {
    MODEL_PROCESSES = 1,      /* child processes serve the connections */
    MODEL_THREADS = 2,        /* threads it starts serve the connections */
    MODEL_HELPER_THREADS = 4, /* threads it does not control linger (glibc AIO) */
    MODEL_BOUNDED = 8,        /* serves at most --workers connections at once */
    MODEL_LOOPS = 16,         /* --workers N runs N copies of its event loop (loops.h) */
};

struct model {
    const char *name;
    const char *summary; /* one line for --list-models */
    unsigned flags;      /* MODEL_* */
    /* Its own settings, ended by an entry whose name is NULL; or NULL. */
    const struct model_option *options;
    /* NULL, or a check run before serving that returns NULL when the model
     * can run on this system, else one line saying why not (io_uring may be
     * disabled by a sysctl or a container's seccomp filter). */
    const char *(*unavailable)(void);
    /* Serves listen_fd (non-blocking, CLOEXEC) until server_stopping() turns
     * true, then stops accepting, lets requests in flight finish within
     * cfg->drain_timeout_ms, closes every connection and returns 0; -1 on a
     * start-up failure. It must leave no thread or child process behind. */
    int (*serve)(int listen_fd, const struct server_config *cfg);
};

/* NULL-terminated list of the models this build has. */
extern const struct model *const server_models[];
const struct model *server_find_model(const char *name);

#endif
