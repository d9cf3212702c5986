/* ioload_stream: the stream engine, libcurl's connections with our own
 * requests and framing.
 *
 * libcurl resolves, connects without blocking and does TLS for https:// URLs
 * (CURLOPT_CONNECT_ONLY, driven through the worker's multi-socket glue); once
 * a connection is up, its socket joins our epoll set and requests go out
 * with curl_easy_send, responses come in with curl_easy_recv. The request is
 * serialised once; each response is framed by respframe. So a request costs
 * a send, a recv and a share of an epoll_wait, about what it costs wrk.
 *
 * Each connection has its own multi handle: curl_easy_send and _recv find
 * their connection by walking the connection cache of the handle's multi,
 * so one connection per cache keeps that walk one step long.
 *
 * --pipeline N keeps up to N requests in flight on a connection; their
 * send times wait in a ring in the order the responses will come back. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "ioload_worker.h"
#include "respframe.h"

#define RBUF_SIZE 16384     /* a response head must fit: like wrk's 8 KiB, doubled */
#define BATCH_BYTES 65536   /* pipelined requests go out in one send up to this */
#define TIMEOUT_CHECK_MIN_NS NS_PER_MS
#define TIMEOUT_CHECK_MAX_NS (100 * NS_PER_MS)

enum conn_state { C_CLOSED, C_CONNECTING, C_OPEN };

struct slot {
    int64_t sched_ns, start_ns;
};

struct sconn {
    struct ioload_worker *w;
    uint32_t idx;
    struct curl_mctx m; /* this connection's own multi handle (see above) */
    CURL *easy;
    uint8_t state;
    bool want_out; /* EPOLLOUT is in the set: a send was cut short */
    bool dirty;    /* has queued requests to flush after this event */
    bool in_room;  /* open loop: in the ring of connections with room */
    int fd;
    int queued;       /* requests not yet wholly written */
    size_t wpos;      /* bytes of the first of them already written */
    struct slot *ring; /* requests queued or sent, oldest first */
    int head, n;
    struct respframe f;
    char *rbuf;
    size_t rlen;
    int64_t done; /* responses in the measured interval */
};

struct stream {
    struct sconn *conns;
    int nconn, depth;
    char *batch; /* the request, serialised once, repeated `copies` times */
    size_t req_len;
    int copies;
    bool head_request, tls;
    /* Open loop: connections with room for another request, FIFO so that
     * due requests spread over the connections. */
    uint32_t *room;
    int room_head, room_n;
    uint32_t *connecting; /* connections libcurl is opening */
    int nconnecting;
    uint32_t *dirty;
    int ndirty;
    bool in_event; /* flush queued requests at the end of the event */
    int64_t check_every, next_check;
};

static struct stream *state(struct ioload_worker *w)
{
    return w->engine;
}

/* ---- the request, serialised once ---- */

/* Appends to buf[*len..cap); false when it does not fit. */
static bool put(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + n > cap)
        return false;
    memcpy(buf + *len, s, n);
    *len += n;
    return true;
}

static bool putf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool putf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len)
        return false;
    *len += (size_t)n;
    return true;
}

static bool has_header(const struct ioload_config *cfg, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < cfg->nheaders; i++)
        if (strncasecmp(cfg->headers[i], name, n) == 0 && cfg->headers[i][n] == ':')
            return true;
    return false;
}

/* "METHOD target HTTP/1.1", Host, the -H headers, framing, the body. */
static int serialise(const struct ioload_config *cfg, const char *target, const char *host,
                     char **out, size_t *out_len)
{
    size_t cap = 1024 + strlen(target) + strlen(host) + cfg->body_len;
    for (int i = 0; i < cfg->nheaders; i++)
        cap += strlen(cfg->headers[i]) + 2;
    char *b = malloc(cap);
    size_t len = 0;
    if (b == NULL)
        return -1;
    bool body = cfg->body != NULL || strcmp(cfg->method, "POST") == 0 ||
                strcmp(cfg->method, "PUT") == 0;
    bool ok = putf(b, cap, &len, "%s %s HTTP/1.1\r\n", cfg->method, target);
    if (!has_header(cfg, "Host"))
        ok = ok && putf(b, cap, &len, "Host: %s\r\n", host);
    for (int i = 0; ok && i < cfg->nheaders; i++)
        ok = putf(b, cap, &len, "%s\r\n", cfg->headers[i]);
    if (body)
        ok = ok && putf(b, cap, &len, "Content-Length: %zu\r\n", cfg->body_len);
    if (!cfg->keepalive)
        ok = ok && putf(b, cap, &len, "Connection: close\r\n");
    ok = ok && put(b, cap, &len, "\r\n", 2);
    ok = ok && (cfg->body_len == 0 || put(b, cap, &len, cfg->body, cfg->body_len));
    if (!ok) {
        free(b);
        errno = EOVERFLOW;
        return -1;
    }
    *out = b;
    *out_len = len;
    return 0;
}

/* The target (path and query) and Host value, as libcurl reads the URL. */
static int url_parts(const char *url, char **target, char **host)
{
    CURLU *u = curl_url();
    char *path = NULL, *query = NULL, *h = NULL, *port = NULL;
    int rc = -1;
    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_QUERY, &query, 0);
        curl_url_get(u, CURLUPART_PORT, &port, 0); /* only a port the URL names */
        size_t tn = strlen(path) + (query ? strlen(query) + 1 : 0) + 1;
        size_t hn = strlen(h) + (port ? strlen(port) + 1 : 0) + 1;
        *target = malloc(tn);
        *host = malloc(hn);
        if (*target != NULL && *host != NULL) {
            snprintf(*target, tn, "%s%s%s", path, query ? "?" : "", query ? query : "");
            snprintf(*host, hn, "%s%s%s", h, port ? ":" : "", port ? port : "");
            rc = 0;
        }
    }
    curl_free(path);
    curl_free(query);
    curl_free(h);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

static int build_batch(struct ioload_worker *w, struct stream *s)
{
    const struct ioload_config *cfg = w->cfg;
    char *target = NULL, *host = NULL, *req = NULL;
    int rc = url_parts(cfg->url, &target, &host);
    if (rc == 0)
        rc = serialise(cfg, target, host, &req, &s->req_len);
    free(target);
    free(host);
    if (rc != 0) {
        errno = EINVAL;
        return -1;
    }
    s->copies = (int)(BATCH_BYTES / s->req_len);
    if (s->copies > s->depth)
        s->copies = s->depth;
    if (s->copies < 1)
        s->copies = 1;
    s->batch = malloc(s->req_len * (size_t)s->copies);
    if (s->batch != NULL)
        for (int i = 0; i < s->copies; i++)
            memcpy(s->batch + (size_t)i * s->req_len, req, s->req_len);
    free(req);
    return s->batch != NULL ? 0 : -1;
}

/* ---- lists ---- */

static void connecting_del(struct stream *s, struct sconn *c)
{
    for (int i = 0; i < s->nconnecting; i++)
        if (s->connecting[i] == c->idx) {
            s->connecting[i] = s->connecting[--s->nconnecting];
            return;
        }
}

static void room_push(struct stream *s, struct sconn *c)
{
    if (c->in_room)
        return;
    s->room[(s->room_head + s->room_n++) % s->nconn] = c->idx;
    c->in_room = true;
}

static struct sconn *room_pop(struct stream *s)
{
    if (s->room_n == 0)
        return NULL;
    struct sconn *c = &s->conns[s->room[s->room_head]];
    s->room_head = (s->room_head + 1) % s->nconn;
    s->room_n--;
    c->in_room = false;
    return c;
}

/* ---- one connection ---- */

static void conn_open(struct sconn *c);
static void conn_flush(struct sconn *c);

static struct slot ring_pop(struct sconn *c, int depth)
{
    struct slot sl = c->ring[c->head];
    c->head = (c->head + 1) % depth;
    c->n--;
    return sl;
}

/* Takes a request due at sched_ns (closed loop: now) onto c. */
static void conn_queue(struct sconn *c, int64_t sched_ns, int64_t now)
{
    struct stream *s = state(c->w);
    c->ring[(c->head + c->n++) % s->depth] = (struct slot){sched_ns < 0 ? now : sched_ns, now};
    c->queued++;
    c->w->inflight++;
    if (c->state == C_CLOSED) {
        conn_open(c);
    } else if (c->state == C_OPEN && s->in_event) {
        if (!c->dirty) {
            c->dirty = true;
            s->dirty[s->ndirty++] = c->idx;
        }
    } else if (c->state == C_OPEN) {
        conn_flush(c);
    }
}

/* The connection has room again: the next request, closed or open loop. */
static void conn_next(struct sconn *c, int64_t now)
{
    struct ioload_worker *w = c->w;
    struct stream *s = state(w);
    if (w->sh->open_loop) {
        room_push(s, c);
        worker_capacity(w, now);
        return;
    }
    while (c->n < s->depth && worker_may_issue(w, now))
        conn_queue(c, -1, now);
}

static void set_out(struct sconn *c, bool on)
{
    if (c->want_out == on)
        return;
    uint32_t ev = EPOLLIN | (on ? EPOLLOUT : 0);
    if (worker_watch(c->w, c->fd, ev, TAG_ENGINE, c->idx, true) != 0)
        c->w->internal_errors++;
    c->want_out = on;
}

/* Closes the connection (libcurl closes the socket, which leaves the epoll
 * set), failing every request still on it with rc. */
static void conn_close(struct sconn *c, CURLcode rc, int64_t now)
{
    struct ioload_worker *w = c->w;
    struct stream *s = state(w);
    if (c->state == C_CONNECTING)
        connecting_del(s, c);
    if (c->state != C_CLOSED && curl_multi_remove_handle(c->m.multi, c->easy) != CURLM_OK)
        w->internal_errors++;
    c->state = C_CLOSED;
    c->fd = -1;
    c->want_out = false;
    c->rlen = c->wpos = 0;
    c->queued = 0;
    c->m.deadline = -1;
    while (c->n > 0) {
        struct slot sl = ring_pop(c, s->depth);
        worker_record(w, sl.sched_ns, sl.start_ns, now, rc, 0, 0);
    }
    respframe_start(&c->f, s->head_request);
}

static void conn_fail(struct sconn *c, CURLcode rc)
{
    int64_t now = worker_now();
    conn_close(c, rc, now);
    conn_next(c, now);
}

/* mctx_done_fn: libcurl finished opening the connection (CONNECT_ONLY). */
static void connected(struct curl_mctx *m, CURL *easy, CURLcode rc)
{
    struct sconn *c = m->owner;
    struct ioload_worker *w = c->w;
    curl_socket_t fd = CURL_SOCKET_BAD;
    connecting_del(state(w), c);
    if (rc == CURLE_OK && curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK)
        rc = CURLE_COULDNT_CONNECT;
    struct fdreg *r = rc == CURLE_OK ? glue_fdreg(w, fd) : NULL;
    if (rc == CURLE_OK && (r == NULL || worker_watch(w, fd, EPOLLIN, TAG_ENGINE, c->idx,
                                                     r->registered) != 0)) {
        w->internal_errors++;
        rc = CURLE_FAILED_INIT;
    }
    if (rc != CURLE_OK) {
        c->state = C_CONNECTING; /* so that the handle leaves its multi */
        conn_fail(c, rc);
        return;
    }
    *r = (struct fdreg){.owned = 1, .registered = 1, .engine = 1};
    c->fd = fd;
    c->state = C_OPEN;
    conn_flush(c);
}

static void conn_open(struct sconn *c)
{
    struct stream *s = state(c->w);
    if (curl_multi_add_handle(c->m.multi, c->easy) != CURLM_OK) {
        c->w->internal_errors++;
        conn_fail(c, CURLE_FAILED_INIT);
        return;
    }
    c->state = C_CONNECTING;
    s->connecting[s->nconnecting++] = c->idx;
}

/* Writes the queued requests, as many per send as the batch holds. */
static void conn_flush(struct sconn *c)
{
    struct stream *s = state(c->w);
    while (c->queued > 0 && c->state == C_OPEN) {
        int k = c->queued < s->copies ? c->queued : s->copies;
        size_t len = (size_t)k * s->req_len - c->wpos, sent = 0;
        CURLcode rc = curl_easy_send(c->easy, s->batch + c->wpos, len, &sent);
        if (rc == CURLE_AGAIN) {
            set_out(c, true);
            return;
        }
        if (rc != CURLE_OK) {
            conn_fail(c, CURLE_SEND_ERROR);
            return;
        }
        c->wpos += sent;
        c->queued -= (int)(c->wpos / s->req_len);
        c->wpos %= s->req_len;
        if (sent < len) {
            set_out(c, true);
            return;
        }
    }
    if (c->state == C_OPEN)
        set_out(c, false);
}

/* A whole response: record it, then the next request. Returns false when
 * the connection was closed (the rest of the buffer is void). */
static bool response_done(struct sconn *c, int64_t now)
{
    struct ioload_worker *w = c->w;
    struct stream *s = state(w);
    struct slot sl = ring_pop(c, s->depth);
    if (worker_record(w, sl.sched_ns, sl.start_ns, now, CURLE_OK, c->f.status, c->f.body))
        c->done++;
    bool keep = c->f.keepalive && w->cfg->keepalive;
    respframe_start(&c->f, s->head_request);
    if (!keep) {
        /* Requests pipelined behind it will never be answered. */
        conn_close(c, CURLE_RECV_ERROR, now);
        conn_next(c, now);
        return false;
    }
    conn_next(c, now);
    return true;
}

/* Frames what rbuf holds; false when the connection was closed. */
static bool conn_frame(struct sconn *c, int64_t now)
{
    size_t pos = 0;
    while (pos < c->rlen) {
        if (c->n == 0) {
            /* Bytes nobody asked for (a 408 before an idle close, say): no
             * request to charge, so the connection is just dropped. */
            conn_close(c, CURLE_OK, now);
            conn_next(c, now);
            return false;
        }
        size_t used = 0;
        enum respframe_rc rc = respframe_feed(&c->f, c->rbuf + pos, c->rlen - pos, &used);
        pos += used;
        if (rc == RESPFRAME_ERROR) {
            conn_fail(c, CURLE_WEIRD_SERVER_REPLY);
            return false;
        }
        if (rc == RESPFRAME_MORE)
            break;
        if (!response_done(c, now))
            return false;
    }
    memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
    c->rlen -= pos;
    if (c->rlen == RBUF_SIZE) {
        conn_fail(c, CURLE_WEIRD_SERVER_REPLY); /* a line longer than the buffer */
        return false;
    }
    return true;
}

/* The peer closed: the end of a close-delimited body, or requests lost. */
static void conn_eof(struct sconn *c, int64_t now)
{
    if (c->n == 0) {
        conn_close(c, CURLE_OK, now);
        return;
    }
    switch (respframe_eof(&c->f)) {
    case RESPFRAME_DONE: /* a close-delimited body: response_done closes */
        response_done(c, now);
        break;
    case RESPFRAME_MORE:
        conn_fail(c, CURLE_GOT_NOTHING);
        break;
    default:
        conn_fail(c, CURLE_RECV_ERROR); /* cut short */
        break;
    }
}

/* Reads until the socket is drained: for plain TCP a short read says so;
 * TLS may hold decrypted bytes back, so there we read until EAGAIN. */
static void conn_read(struct sconn *c)
{
    struct stream *s = state(c->w);
    while (c->state == C_OPEN) {
        size_t space = RBUF_SIZE - c->rlen, n = 0;
        CURLcode rc = curl_easy_recv(c->easy, c->rbuf + c->rlen, space, &n);
        if (rc == CURLE_AGAIN)
            return;
        int64_t now = worker_now();
        if (rc != CURLE_OK) {
            conn_fail(c, CURLE_RECV_ERROR);
            return;
        }
        if (n == 0) {
            conn_eof(c, now);
            return;
        }
        c->rlen += n;
        if (!conn_frame(c, now) || (!s->tls && n < space))
            return;
    }
}

static void flush_dirty(struct stream *s)
{
    for (int i = 0; i < s->ndirty; i++) {
        struct sconn *c = &s->conns[s->dirty[i]];
        c->dirty = false;
        conn_flush(c);
    }
    s->ndirty = 0;
}

/* ---- the engine's operations ---- */

static void event(struct ioload_worker *w, uint32_t id, uint32_t events)
{
    struct stream *s = state(w);
    struct sconn *c = &s->conns[id];
    if (c->state != C_OPEN)
        return; /* an event for a socket closed earlier in this batch */
    s->in_event = true;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        conn_read(c);
    if ((events & EPOLLOUT) && c->state == C_OPEN)
        conn_flush(c);
    flush_dirty(s);
    s->in_event = false;
}

static void start(struct ioload_worker *w)
{
    struct stream *s = state(w);
    int64_t now = worker_now();
    for (int i = 0; i < s->nconn; i++)
        conn_next(&s->conns[i], now);
}

static bool send_one(struct ioload_worker *w, int64_t sched_ns, int64_t now)
{
    struct stream *s = state(w);
    struct sconn *c = room_pop(s);
    if (c == NULL)
        return false;
    conn_queue(c, sched_ns, now);
    if (c->n < s->depth && c->state != C_CLOSED)
        room_push(s, c);
    return true;
}

/* Fails the requests of connections whose oldest request is older than
 * the timeout, as libcurl's CURLOPT_TIMEOUT does in the transfer engine. */
static void expire_requests(struct ioload_worker *w, int64_t now)
{
    struct stream *s = state(w);
    int64_t timeout = (int64_t)(w->cfg->timeout_s * 1e9);
    for (int i = 0; i < s->nconn; i++) {
        struct sconn *c = &s->conns[i];
        if (c->n > 0 && now - c->ring[c->head].start_ns >= timeout)
            conn_fail(c, CURLE_OPERATION_TIMEDOUT);
    }
}

static int64_t timers(struct ioload_worker *w, int64_t now)
{
    struct stream *s = state(w);
    int64_t next = INT64_MAX;
    /* Backwards: a connection that finishes opening leaves the list. */
    for (int i = s->nconnecting - 1; i >= 0; i--) {
        if (i >= s->nconnecting)
            continue;
        struct curl_mctx *m = &s->conns[s->connecting[i]].m;
        if (m->deadline >= 0 && m->deadline <= now)
            mctx_timers(m);
    }
    for (int i = 0; i < s->nconnecting; i++) {
        int64_t d = s->conns[s->connecting[i]].m.deadline;
        if (d >= 0 && d < next)
            next = d;
    }
    if (now >= s->next_check) {
        expire_requests(w, now);
        s->next_check = now + s->check_every;
    }
    return next < s->next_check ? next : s->next_check;
}

static void finish(struct ioload_worker *w, int64_t stop_ns)
{
    struct stream *s = state(w);
    (void)stop_ns;
    for (int i = 0; i < s->nconn; i++) {
        struct sconn *c = &s->conns[i];
        for (int k = 0; k < c->n; k++)
            worker_unfinished(w, c->ring[(c->head + k) % s->depth].start_ns);
        if (!w->sh->open_loop && c->done == 0)
            worker_starved(w);
    }
}

static int conn_init(struct ioload_worker *w, struct stream *s, struct sconn *c, uint32_t idx)
{
    *c = (struct sconn){.w = w, .idx = idx, .fd = -1};
    respframe_start(&c->f, s->head_request);
    c->ring = calloc((size_t)s->depth, sizeof *c->ring);
    c->rbuf = malloc(RBUF_SIZE);
    c->easy = curl_easy_init();
    if (c->ring == NULL || c->rbuf == NULL || c->easy == NULL ||
        mctx_init(w, &c->m, 1, connected, c) != 0)
        return -1;
    CURLcode rc = glue_easy_defaults(w, c->easy, (long)ceil(w->cfg->timeout_s * 1000));
    rc |= curl_easy_setopt(c->easy, CURLOPT_URL, w->cfg->url);
    rc |= curl_easy_setopt(c->easy, CURLOPT_CONNECT_ONLY, 1L);
    /* The connect timeout applies; the whole-transfer one must not, since
     * libcurl would count the connection's whole life against it. */
    rc |= curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, 0L);
    if (rc != CURLE_OK) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static int setup(struct ioload_worker *w)
{
    const struct ioload_config *cfg = w->cfg;
    struct stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    w->engine = s;
    s->nconn = w->nconn;
    s->depth = cfg->pipeline;
    s->head_request = strcmp(cfg->method, "HEAD") == 0;
    s->tls = strncasecmp(cfg->url, "https:", 6) == 0;
    s->check_every = (int64_t)(cfg->timeout_s * 1e9 / 20);
    if (s->check_every < TIMEOUT_CHECK_MIN_NS)
        s->check_every = TIMEOUT_CHECK_MIN_NS;
    if (s->check_every > TIMEOUT_CHECK_MAX_NS)
        s->check_every = TIMEOUT_CHECK_MAX_NS;
    s->conns = calloc((size_t)s->nconn, sizeof *s->conns);
    s->room = calloc((size_t)s->nconn, sizeof *s->room);
    s->connecting = calloc((size_t)s->nconn, sizeof *s->connecting);
    s->dirty = calloc((size_t)s->nconn, sizeof *s->dirty);
    if (s->conns == NULL || s->room == NULL || s->connecting == NULL || s->dirty == NULL ||
        build_batch(w, s) != 0)
        return -1;
    for (int i = 0; i < s->nconn; i++)
        if (conn_init(w, s, &s->conns[i], (uint32_t)i) != 0)
            return -1;
    for (int i = 0; i < s->nconn; i++)
        room_push(s, &s->conns[i]);
    return 0;
}

static void teardown(struct ioload_worker *w)
{
    struct stream *s = state(w);
    if (s == NULL)
        return;
    for (int i = 0; s->conns != NULL && i < s->nconn; i++) {
        struct sconn *c = &s->conns[i];
        /* The handle leaves its multi (closing the connection) first. */
        if (c->easy != NULL && c->m.multi != NULL)
            curl_multi_remove_handle(c->m.multi, c->easy);
        if (c->easy != NULL)
            curl_easy_cleanup(c->easy);
        mctx_free(&c->m);
        free(c->ring);
        free(c->rbuf);
    }
    free(s->conns);
    free(s->room);
    free(s->connecting);
    free(s->dirty);
    free(s->batch);
    free(s);
    w->engine = NULL;
}

const struct engine_ops engine_stream = {
    .name = "stream",
    .setup = setup,
    .teardown = teardown,
    .start = start,
    .send = send_one,
    .event = event,
    .timers = timers,
    .finish = finish,
};
