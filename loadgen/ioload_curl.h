/* ioload_curl: libcurl's multi-socket interface on the worker's epoll.
 *
 * The shape of curl's ephiperfifo example: the socket callback turns
 * CURL_POLL_* into epoll_ctl, the timer callback records when libcurl wants
 * to be called back, and the owner calls curl_multi_socket_action when a
 * socket is ready or the deadline passes, then drains finished transfers.
 * Both engines use it: the transfer engine for every request, the stream
 * engine to open its connections, and both for the idle connections. */
#ifndef IOBENCH_IOLOAD_CURL_H
#define IOBENCH_IOLOAD_CURL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ioload_worker;
struct curl_mctx;

/* Called for each transfer the multi handle reports finished. */
typedef void (*mctx_done_fn)(struct curl_mctx *m, CURL *easy, CURLcode rc);

/* One multi handle and when libcurl wants its timeout call. */
struct curl_mctx {
    CURLM *multi;
    struct ioload_worker *w;
    mctx_done_fn on_done;
    void *owner;
    int64_t deadline; /* when libcurl wants mctx_timers called; -1: never */
};

/* What the epoll set holds for one descriptor, indexed by descriptor. */
struct fdreg {
    struct curl_mctx *m; /* the multi handle watching it, while libcurl does */
    uint8_t owned;       /* a connection socket: opened and closed through us */
    uint8_t registered;  /* in the epoll set */
    uint8_t parked;      /* libcurl no longer watches it; epoll still does */
    uint8_t engine;      /* the stream engine watches it itself */
    uint8_t what;        /* CURL_POLL_IN | CURL_POLL_OUT as registered */
};

struct curl_glue {
    struct fdreg *fdreg;
    size_t nfdreg;
    struct curl_mctx idle;     /* the idle connections' multi handle */
    CURL **idle_easy;
    int nidle;
    CURLU *idle_uh;
    int idle_done, idle_ok;
};

/* Creates m's multi handle; maxconn bounds its connection cache. Its owner
 * calls mctx_timers once m->deadline has passed (a new deadline also lowers
 * the worker's work_deadline). -1 with errno set. */
int mctx_init(struct ioload_worker *w, struct curl_mctx *m, long maxconn, mctx_done_fn on_done,
              void *owner);
void mctx_free(struct curl_mctx *m);
/* Runs libcurl's expired timeouts and drains finished transfers. */
void mctx_timers(struct curl_mctx *m);
/* Hands a socket event to libcurl, then drains finished transfers. */
void mctx_socket_event(struct curl_mctx *m, int fd, uint32_t epoll_events);

/* The options every easy handle of ours gets: our socket callbacks (which
 * keep the fd table true), no signals, no proxy, TCP_NODELAY, timeouts. */
CURLcode glue_easy_defaults(struct ioload_worker *w, CURL *e, long timeout_ms);
/* The fd table entry for fd, growing the table; NULL when out of memory. */
struct fdreg *glue_fdreg(struct ioload_worker *w, int fd);
/* A TAG_CURL event: to libcurl, or, on a parked socket, out of the set. */
void glue_event(struct ioload_worker *w, int fd, uint32_t epoll_events);

/* Idle connections: each does one GET of the origin and then stays open
 * and silent until glue_free. Both engines use these. */
int glue_idle_setup(struct ioload_worker *w, int nidle);
/* Opens them, waiting at most the request timeout plus one second. */
void glue_idle_establish(struct ioload_worker *w);
/* Runs the idle multi's due timeouts; returns its next deadline (INT64_MAX
 * when none). */
int64_t glue_idle_timers(struct ioload_worker *w);
int glue_idle_established(const struct ioload_worker *w);
void glue_free(struct ioload_worker *w);

#endif
