/* server: one ioserve the harness starts for a run or a verification,
 * waits for, and stops. */
#ifndef IOBENCH_SERVER_H
#define IOBENCH_SERVER_H

#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#define SERVER_STOP_TIMEOUT_MS 8000 /* ioserve drains within 5 s by default */

/* How servers are started: the same for every run of a suite. */
struct server_conf {
    const char *bin;                     /* ioserve */
    const char *dir;                     /* where the port file goes */
    const char *host;                    /* address it binds: 127.0.0.1 unless asked */
    const cpu_set_t *cpus;               /* pinned there, or NULL */
    volatile const sig_atomic_t *cancel; /* set by a signal handler: give up */
};

/* A started ioserve. */
struct server {
    pid_t pid; /* -1 once reaped */
    int port;
    bool died;              /* ended on its own during the run */
    int status;             /* its wait status then */
    bool have_ru;           /* ru holds the server's whole-life usage */
    struct rusage ru;       /* wait4: all threads and every child it reaped */
    char scratch[PATH_MAX]; /* a reference server's own files; "" for ioserve */
};

/* Starts ioserve for model, its output into log, and waits until /stats
 * answers. 0, or -1 with a reason in err (nothing left running). */
int server_start(const struct server_conf *c, const char *model, const char *log, struct server *s,
                 char *err, size_t errlen);
/* Notes whether the server has ended on its own; true when it has (then
 * s->died, s->status and s->ru are set and s->pid is -1). */
bool server_check_died(struct server *s);
/* SIGTERM and reap a running server, or describe one that died. Returns
 * {"exit_status", "clean_exit"}; err gets a reason when the exit was not
 * clean (and err was empty). */
json_t *server_stop(struct server *s, char *err, size_t errlen);
/* `ioserve FLAG` (--version, --list-models) into out. 0 or -1. */
int server_query(const struct server_conf *c, const char *flag, char *out, size_t cap);

#endif
