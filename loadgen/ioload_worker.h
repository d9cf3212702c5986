/* ioload_worker: one load thread's loop, and what it offers its engine.
 *
 * Like a wrk thread, a worker owns one epoll instance, its connections and
 * its own statistics; nothing on the request path takes a lock. The loop
 * (ioload_worker.c) decides when to wait and for how long, sends open-loop
 * requests when they fall due (ioload_sched.c), and hands socket events to
 * the engine that owns them: the transfer engine (libcurl's whole HTTP stack,
 * ioload_transfer.c) or the stream engine (libcurl's connections, our own
 * requests and framing, ioload_stream.c). Engines report each finished
 * request through worker_record(). */
#ifndef IOBENCH_IOLOAD_WORKER_H
#define IOBENCH_IOLOAD_WORKER_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include "hdr.h"
#include "ioload_curl.h"
#include "ioload_engine.h"
#include "ioload_errors.h"
#include "ioload_opts.h"
#include "ioload_sched.h"

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL
#define NS_PER_US 1000LL

/* Who an epoll event belongs to: the tag sits in the top 32 bits of
 * epoll_event.data.u64, the owner's number in the bottom 32. */
enum worker_tag {
    TAG_CURL,   /* a socket libcurl asked us to watch; number: the descriptor */
    TAG_ENGINE, /* a connection the engine watches itself; number: its own */
};

struct ioload_worker;

/* What an engine does; the worker loop calls nothing else of it. */
struct engine_ops {
    const char *name;
    /* Allocates this thread's connections; -1 with errno set. */
    int (*setup)(struct ioload_worker *w);
    void (*teardown)(struct ioload_worker *w);
    /* Closed loop: starts a request on every connection that may send. */
    void (*start)(struct ioload_worker *w);
    /* Open loop: sends one request due at sched_ns, now, on a connection
     * with room for it; false when every connection is full. */
    bool (*send)(struct ioload_worker *w, int64_t sched_ns, int64_t now);
    /* An event on one of its TAG_ENGINE descriptors. */
    void (*event)(struct ioload_worker *w, uint32_t id, uint32_t events);
    /* Runs its timeouts that are due; returns when it next needs to be
     * called (INT64_MAX: no deadline). */
    int64_t (*timers)(struct ioload_worker *w, int64_t now);
    /* At the end: counts requests still in flight and starved connections
     * through worker_unfinished() and worker_starved(). */
    void (*finish)(struct ioload_worker *w, int64_t stop_ns);
};

extern const struct engine_ops engine_transfer;
extern const struct engine_ops engine_stream;

struct tl_slot {
    int64_t requests, errors;
    bool has_hdr;
    struct hdr h;
};

/* What all workers share; read-only on the request path. */
struct worker_shared {
    const struct ioload_config *cfg;
    const struct engine_ops *engine;
    atomic_int *stop;
    struct curl_slist *headers; /* transfer engine: the request's extra headers */
    bool open_loop;
    /* Written by the main thread before `go`, read-only afterwards. */
    int64_t run_start_ns, measure_start_ns, measure_end_ns;
    pthread_mutex_t lock; /* everything below */
    pthread_cond_t cond;
    int ready, finished, created;
    bool go, release, failed;
    char err[256];
    struct tl_slot *tl;
    size_t tl_len;
};

struct ioload_worker {
    int id;
    struct worker_shared *sh;
    const struct ioload_config *cfg;
    pthread_t tid;
    int epfd;
    bool use_pwait2;
    struct curl_glue glue; /* libcurl's sockets and the idle connections */
    void *engine;          /* the engine's own state */
    int nconn;             /* this thread's measured connections */
    int nidle;             /* and idle ones */
    int64_t quota, issued; /* --requests: this thread's share */
    struct sched sched;    /* open loop */
    int64_t work_deadline; /* when libcurl's or the engine's timeouts next fall due */
    int inflight;          /* requests started and not yet recorded */
    bool no_room;          /* open loop: every connection was full at the last try */
    int64_t awake_since;   /* open loop: when the last blocking wait returned */
    /* Results, measured interval only. */
    struct hdr corrected, uncorrected;
    struct ioload_errors err;
    int64_t requests, successes, errors, bytes;
    int64_t last_done_ns, stop_ns;
    int64_t unfinished, oldest_unfinished_ns, starved;
    int64_t internal_errors;
    int64_t tl_sec, tl_req, tl_err;
    struct hdr tl_h;
    bool cpu_started;
    struct timespec cpu0, cpu1;
    struct rusage ru0, ru1;
    int64_t runq0, runq1; /* run-queue wait at the start and end */
    atomic_llong progress_done, progress_err;
};

int64_t worker_now(void);
/* Engines count each request they start in w->inflight; worker_record
 * counts it out. */
/* Closed loop: whether a connection may start another request now (counts
 * it against --requests when it may). */
bool worker_may_issue(struct ioload_worker *w, int64_t now);
/* Open loop: a connection has room again since `now`; sends the requests
 * that fell due while none had. */
void worker_capacity(struct ioload_worker *w, int64_t now);
/* One finished request: rc is CURLE_OK when a response arrived (status is
 * its status) or the transport failure. Returns whether it was counted (it
 * was scheduled within the measured interval). */
bool worker_record(struct ioload_worker *w, int64_t sched_ns, int64_t start_ns, int64_t now,
                   CURLcode rc, long status, int64_t bytes);
/* finish(): a request still in flight at stop_ns, sent at start_ns. */
void worker_unfinished(struct ioload_worker *w, int64_t start_ns);
/* finish(): closed loop, a connection that got no response while measured. */
void worker_starved(struct ioload_worker *w);
/* Adds or changes fd's registration in the worker's epoll set. */
int worker_watch(struct ioload_worker *w, int fd, uint32_t events, enum worker_tag tag,
                 uint32_t id, bool modify);
/* Waits at most wait_ns for events and hands each to its owner. */
void worker_poll(struct ioload_worker *w, int64_t wait_ns);
/* Marks the run failed with "what: strerror(err)" (the first failure wins). */
void worker_fail(struct worker_shared *sh, const char *what, int err);
/* The thread's main function (pthread_create). */
void *worker_main(void *arg);

#endif
