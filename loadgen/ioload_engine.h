/* ioload_engine: runs a load on worker threads and merges what they measured.
 *
 * Each thread (ioload_worker.c) owns one epoll instance, its connections and
 * its own histograms and counters; results are merged when all threads have
 * finished, so the request path takes no lock. Two engines drive the
 * connections: "stream" (the default: libcurl connects, ioload writes the
 * requests and frames the responses) and "transfer" (libcurl's whole HTTP
 * stack per request). */
#ifndef IOBENCH_IOLOAD_ENGINE_H
#define IOBENCH_IOLOAD_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hdr.h"
#include "ioload_errors.h"
#include "ioload_opts.h"

struct engine_ops;

#define IOLOAD_HDR_LOWEST 1
#define IOLOAD_HDR_HIGHEST 100000000 /* 100 s in microseconds */
#define IOLOAD_HDR_DIGITS 3

struct ioload_tl_entry {
    int64_t requests;
    int64_t errors;
    int64_t p50_us; /* -1 when no latency was recorded in that second */
    int64_t p99_us;
};

struct ioload_result {
    struct hdr corrected;   /* from each request's scheduled time */
    struct hdr uncorrected; /* from the time it was handed to libcurl */
    int64_t requests;       /* completed in the measured interval */
    int64_t successes;      /* 2xx */
    int64_t errors;
    int64_t bytes; /* response body bytes */
    struct ioload_errors err;
    /* Open loop only. */
    struct hdr send_lag; /* ns from each request's due time to its send */
    int64_t scheduled;   /* scheduled in the measured interval */
    int64_t late;        /* sent > 1 ms after their time, or never sent */
    int64_t late_behind; /* ... of which ioload itself was > 1 ms behind */
    int64_t late_wakeup; /* ... of which the system woke ioload late for it */
    int64_t late_noconn; /* ... of which waited for a connection with room */
    int64_t unsent;      /* still waiting for a free connection at the end */
    int64_t max_send_lag_ns;
    double spin_s;    /* time awake on purpose before due times (not busy) */
    double margin_us; /* the wake-up margin at the end (mean over threads) */
    double elapsed_s;
    double cpu_user_s, cpu_sys_s; /* worker threads, measured interval */
    double cpu_thread_s;          /* CLOCK_THREAD_CPUTIME_ID, same interval */
    double runq_wait_s;           /* ready to run but kept off a CPU, summed */
    struct timespec start_wall, end_wall;
    struct ioload_tl_entry *timeline;
    size_t timeline_len;
    int idle_established;
    int64_t unfinished;           /* requests in flight when the run ended */
    int64_t oldest_unfinished_us; /* how long the oldest of them had waited */
    int64_t starved_connections;  /* closed loop: connections with no response */
    int64_t internal_errors;      /* failed epoll/timer/libcurl calls */
    bool interrupted;             /* SIGINT/SIGTERM cut the run short */
};

/* Runs the load cfg describes and fills res (caller ioload_result_free's
 * it). stop, when non-NULL, ends the run early once it becomes non-zero
 * (a signal handler sets it; an atomic, since every worker thread reads
 * it, which a volatile sig_atomic_t only allows within one thread). Returns 0 when the run
 * happened, request errors included, or -1 with a message in err when it could not run. */
int ioload_run(const struct ioload_config *cfg, atomic_int *stop, struct ioload_result *res,
               char *err, size_t errlen);
void ioload_result_free(struct ioload_result *res);
/* The engine of that name ("stream", "transfer"), or NULL. */
const struct engine_ops *ioload_engine_find(const char *name);

#endif
