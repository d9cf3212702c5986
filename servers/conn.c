/* conn: the HTTP/1.1 protocol of one connection, shared by every I/O model.
 *
 * The state machine reads requests from an input buffer and writes responses
 * into an output buffer; the model moves the bytes. Bodies that can be large
 * are never materialised: /bytes streams from a static pattern table and
 * /echo copies from the input buffer to the output buffer as the body
 * arrives, so memory per connection is bounded by the two buffers whatever
 * the request. One request is handled at a time; the next pipelined request
 * is parsed only once the current response is fully queued, which keeps
 * responses in order. */
#include "conn.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_parser.h"
#include "stats.h"

#define OUT_CAP (16 * 1024)
#define IN_MIN_CAP (16 * 1024)
/* A response head, or a short body, always fits in this much output room. */
#define OUT_HEAD_ROOM 1024
#define MAX_BYTES (64ull * 1024 * 1024)
#define MAX_DELAY_MS 60000
/* Times are microseconds (server_now_us); the configuration is in ms. */
#define US(ms) ((int64_t)(ms)*1000)
#define MAX_CPU_UNITS 1000000
#define CPU_ROUNDS_PER_UNIT 1000

static const char pattern_alphabet[64] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/";
/* 64 KiB of pattern plus one period, so any slice of up to 64 KiB that starts
 * at any offset is contiguous: /bytes is sent straight from here. */
#define PATTERN_SLICE (64 * 1024)
static char pattern[PATTERN_SLICE + 64];

enum state {
    ST_HEAD,    /* waiting for (more of) a request head */
    ST_BODY,    /* consuming a request body: echoed or discarded */
    ST_DELAY,   /* /delay: the response waits for its timer */
    ST_CLOSING, /* flush what is queued, then close */
};

enum gen { GEN_NONE, GEN_PATTERN };

struct conn {
    int fd;
    const struct server_config *cfg;
    const char *model;
    enum state state;

    char *in;
    size_t in_cap, in_off, in_len;
    size_t scanned; /* bytes of the pending head already scanned (last_len) */
    bool in_eof;

    char *out;
    size_t out_off, out_len;
    bool out_held; /* an asynchronous send is reading out[out_off..] */
    enum gen gen;
    uint64_t gen_left, gen_pos;

    uint64_t body_left; /* request body bytes still to consume */
    bool body_echo;     /* copy them to the output, else discard */

    bool keep_alive;     /* for the response being produced */
    bool http10;         /* the request was HTTP/1.0 */
    bool draining;       /* shutdown: no new request */
    bool served_one;     /* at least one response: now an idle keep-alive */
    int64_t head_start;  /* header timeout counts from here */
    int64_t idle_since;  /* idle timeout counts from here */
    int64_t body_since;  /* last body progress (body timeout) */
    int64_t write_since; /* output pending without progress since */
    bool wrote;          /* output progress since the last conn_process */
    int64_t delay_until;
    bool delay_head;
    long delay_ms;
};

/* ---- small output builder ------------------------------------------ */

static size_t out_room(const struct conn *c)
{
    return OUT_CAP - c->out_len;
}

/* Room for more output once compacted (which a held buffer is not). */
static size_t out_space(const struct conn *c)
{
    return out_room(c) + (c->out_held ? 0 : c->out_off);
}

static void out_compact(struct conn *c)
{
    if (c->out_off == 0 || c->out_held)
        return;
    memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
    c->out_len -= c->out_off;
    c->out_off = 0;
}

static void out_put(struct conn *c, const char *s, size_t n)
{
    /* Callers reserve OUT_HEAD_ROOM first; truncation would be a bug. */
    if (n > out_room(c))
        abort();
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
}

static void out_str(struct conn *c, const char *s)
{
    out_put(c, s, strlen(s));
}

static void out_u64(struct conn *c, uint64_t v)
{
    char buf[24];
    char *p = buf + sizeof buf;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_put(c, p, (size_t)(buf + sizeof buf - p));
}

/* Formatting a date costs far more than a request: cache it per second, per
 * thread (every thread and process keeps its own copy, nothing is shared). */
static const char *http_date(void)
{
    static _Thread_local char buf[40];
    static _Thread_local time_t cached = -1;
    time_t now = time(NULL);
    if (now != cached) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached = now;
    }
    return buf;
}

static const char *status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

static void mark_output(struct conn *c, int64_t now)
{
    if (c->out_len == c->out_off && c->gen == GEN_NONE)
        c->write_since = now;
}

/* Queues a response head; Content-Length is always sent, so every response
 * (HEAD included) delimits itself and the connection can be kept. */
static void put_head(struct conn *c, int status, const char *ctype, uint64_t clen,
                     const char *extra, int64_t now)
{
    mark_output(c, now);
    out_compact(c);
    out_str(c, "HTTP/1.1 ");
    out_u64(c, (uint64_t)status);
    out_str(c, " ");
    out_str(c, status_text(status));
    out_str(c, "\r\nServer: ioserve/" IOBENCH_VERSION " (");
    out_str(c, c->model);
    out_str(c, ")\r\nDate: ");
    out_str(c, http_date());
    out_str(c, "\r\nContent-Type: ");
    out_str(c, ctype);
    out_str(c, "\r\nContent-Length: ");
    out_u64(c, clen);
    out_str(c, "\r\n");
    if (extra)
        out_str(c, extra);
    if (!c->keep_alive)
        out_str(c, "Connection: close\r\n");
    else if (c->http10)
        out_str(c, "Connection: keep-alive\r\n"); /* 1.0 closes unless told */
    out_str(c, "\r\n");
    stats_response(status);
}

static void respond_text(struct conn *c, int status, const char *body, const char *extra,
                         bool head_only, int64_t now)
{
    size_t n = strlen(body);
    put_head(c, status, "text/plain", n, extra, now);
    if (!head_only)
        out_put(c, body, n);
}

/* An error after which the connection's framing cannot be trusted. */
static void respond_fatal(struct conn *c, int status, int64_t now)
{
    char body[64];
    snprintf(body, sizeof body, "%s\n", status_text(status));
    c->keep_alive = false;
    respond_text(c, status, body, NULL, false, now);
    c->state = ST_CLOSING;
    c->body_left = 0;
}

/* ---- endpoints --------------------------------------------------------- */

static uint64_t cpu_work(uint64_t units)
{
    /* splitmix64 steps chained through x: each round depends on the last, so
     * the compiler cannot vectorise or drop the work, and the digest proves
     * it was done. */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint64_t rounds = units * CPU_ROUNDS_PER_UNIT;
    for (uint64_t i = 0; i < rounds; i++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        x ^= z ^ (z >> 31);
    }
    return x;
}

/* Parses a decimal path parameter. -1: not a number (404); -2: above max. */
static int64_t path_number(const char *s, size_t n, int64_t max)
{
    if (n == 0 || n > 12)
        return n > 12 ? -2 : -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v > max ? -2 : v;
}

static bool path_is(const char *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n == l && memcmp(p, lit, l) == 0;
}

static bool path_prefix(const char *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n >= l && memcmp(p, lit, l) == 0;
}

static bool expects_continue(const struct http_request *req)
{
    const struct http_header *h = http_find_header(req, "Expect");
    return h && req->minor_version == 1 && h->value_len == 12 &&
           strncasecmp(h->value, "100-continue", 12) == 0;
}

static void finish_delay(struct conn *c, int64_t now)
{
    char body[48];
    snprintf(body, sizeof body, "waited %ld ms\n", c->delay_ms);
    respond_text(c, 200, body, NULL, c->delay_head, now);
    c->state = c->body_left ? ST_BODY : c->keep_alive ? ST_HEAD : ST_CLOSING;
}

/* A GET/HEAD route with a decimal parameter, "/prefix/N". Returns false
 * when the path has another prefix. Otherwise sets *n to the parameter, or
 * answers the request itself (404 not a number, 400 above max, 405 wrong
 * method) and sets *n to -1. */
static bool param_route(struct conn *c, const char *p, size_t pl, const char *prefix, int64_t max,
                        bool readable, bool is_head, int64_t now, int64_t *n)
{
    size_t l = strlen(prefix);
    if (!path_prefix(p, pl, prefix))
        return false;
    *n = path_number(p + l, pl - l, max);
    if (*n == -1)
        respond_text(c, 404, "Not Found\n", NULL, is_head, now);
    else if (*n == -2)
        respond_text(c, 400, "Bad Request: parameter out of range\n", NULL, is_head, now);
    else if (!readable)
        respond_text(c, 405, "Method Not Allowed\n", "Allow: GET, HEAD\r\n", is_head, now);
    else
        return true;
    *n = -1;
    return true;
}

/* Routes one request whose head is complete; queues the response (or arms
 * the delay timer). The body, if any, is consumed afterwards. */
static void handle_request(struct conn *c, const struct http_request *req, int64_t now)
{
    const char *m = req->method;
    size_t ml = req->method_len;
    bool is_get = ml == 3 && memcmp(m, "GET", 3) == 0;
    bool is_head = ml == 4 && memcmp(m, "HEAD", 4) == 0;
    bool is_post = ml == 4 && memcmp(m, "POST", 4) == 0;
    bool readable = is_get || is_head;
    int64_t n;

    const char *p = req->target;
    size_t pl = req->target_len;
    const char *q = memchr(p, '?', pl);
    if (q)
        pl = (size_t)(q - p);

    if (pl == 0 || p[0] != '/') {
        respond_fatal(c, 400, now);
        return;
    }
    if (c->body_left && !path_is(p, pl, "/echo") && expects_continue(req)) {
        /* Only /echo wants a body. A client waiting for 100 Continue will
         * not send this one, so do not wait for it: answer and close. */
        c->keep_alive = false;
        c->body_left = 0;
    }
    if (path_is(p, pl, "/")) {
        if (!readable)
            goto not_allowed_get;
        respond_text(c, 200, "Hello, World!", NULL, is_head, now);
    } else if (param_route(c, p, pl, "/bytes/", (int64_t)MAX_BYTES, readable, is_head, now, &n)) {
        if (n < 0)
            return; /* answered: 404, 400 or 405 */
        put_head(c, 200, "application/octet-stream", (uint64_t)n, NULL, now);
        if (!is_head && n > 0) {
            c->gen = GEN_PATTERN;
            c->gen_left = (uint64_t)n;
            c->gen_pos = 0;
        }
    } else if (param_route(c, p, pl, "/delay/", MAX_DELAY_MS, readable, is_head, now, &n)) {
        if (n < 0)
            return;
        c->state = ST_DELAY;
        c->delay_until = now + US(n);
        c->delay_ms = (long)n;
        c->delay_head = is_head;
    } else if (param_route(c, p, pl, "/cpu/", MAX_CPU_UNITS, readable, is_head, now, &n)) {
        if (n < 0)
            return;
        char body[24];
        snprintf(body, sizeof body, "%016" PRIx64 "\n", cpu_work((uint64_t)n));
        respond_text(c, 200, body, NULL, is_head, now);
    } else if (path_is(p, pl, "/echo")) {
        if (!is_post) {
            c->body_echo = false;
            put_head(c, 405, "text/plain", 19, "Allow: POST\r\n", now);
            out_str(c, "Method Not Allowed\n");
            return;
        }
        if (expects_continue(req) && c->body_left > c->in_len - c->in_off) {
            /* libcurl (and others) wait up to a second for this before
             * sending a body; answer at once so /echo is not a timer test. */
            out_str(c, "HTTP/1.1 100 Continue\r\n\r\n");
        }
        put_head(c, 200, "application/octet-stream", c->body_left, NULL, now);
        c->body_echo = true;
    } else if (path_is(p, pl, "/stats")) {
        if (!readable)
            goto not_allowed_get;
        char *body = stats_render(c->model);
        if (!body) {
            c->keep_alive = false;
            respond_text(c, 500, "Internal Server Error\n", NULL, false, now);
            c->state = ST_CLOSING;
            return;
        }
        size_t len = strlen(body);
        put_head(c, 200, "application/json", len + 1, NULL, now);
        if (!is_head && len + 1 <= out_room(c)) {
            out_put(c, body, len);
            out_put(c, "\n", 1);
        } else if (!is_head) {
            abort(); /* stats are a few hundred bytes; OUT_HEAD_ROOM holds them */
        }
        free(body);
    } else {
        goto not_found;
    }
    return;

not_found:
    respond_text(c, 404, "Not Found\n", NULL, is_head, now);
    return;
not_allowed_get:
    respond_text(c, 405, "Method Not Allowed\n", "Allow: GET, HEAD\r\n", is_head, now);
}

/* ---- the state machine ------------------------------------------------ */

static bool has_request_bytes(const struct conn *c)
{
    return c->in_len > c->in_off;
}

static bool output_pending(const struct conn *c)
{
    return c->out_len > c->out_off || c->gen != GEN_NONE;
}

static void in_consume(struct conn *c, size_t n)
{
    c->in_off += n;
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
}

/* Parses and handles the next request head if one is complete. Returns true
 * when it made progress. */
static bool step_head(struct conn *c, int64_t now)
{
    /* At shutdown an idle keep-alive connection is closed; a new one is
     * given its first request, which is usually already on its way. */
    if (c->draining && !has_request_bytes(c) && c->served_one) {
        c->state = ST_CLOSING;
        return true;
    }
    if (!has_request_bytes(c))
        return false;
    if (c->head_start < 0)
        c->head_start = now;

    struct http_request req;
    size_t avail = c->in_len - c->in_off;
    int r = http_parse_request(c->in + c->in_off, avail, c->scanned, c->cfg->max_head, &req);
    if (r == HTTP_PARSE_INCOMPLETE) {
        c->scanned = avail;
        return false;
    }
    c->scanned = 0;
    if (r < 0) {
        respond_fatal(c, -r, now);
        return true;
    }
    c->keep_alive = req.keep_alive && !c->draining;
    c->http10 = req.minor_version == 0;
    if (req.minor_version == 1 && !http_find_header(&req, "Host")) {
        /* RFC 9112 3.2: a 1.1 request without Host is answered 400. */
        respond_fatal(c, 400, now);
        return true;
    }
    if (req.content_length > 0 && (uint64_t)req.content_length > c->cfg->max_body) {
        /* The body is not read, so the connection cannot be reused. */
        respond_fatal(c, 413, now);
        return true;
    }
    c->body_left = req.content_length > 0 ? (uint64_t)req.content_length : 0;
    c->body_echo = false;
    c->body_since = now;
    /* Consuming only moves offsets: the head's bytes stay where they are
     * while the handler reads them, and what is left in the buffer is body
     * (or the next request), which /echo's 100 Continue test relies on. */
    in_consume(c, (size_t)r);
    handle_request(c, &req, now);
    c->head_start = -1;
    c->idle_since = -1;
    c->served_one = true;
    if (c->state == ST_HEAD)
        c->state = c->body_left ? ST_BODY : c->keep_alive ? ST_HEAD : ST_CLOSING;
    return true;
}

/* Consumes request body bytes already received. */
static bool step_body(struct conn *c, int64_t now)
{
    size_t avail = c->in_len - c->in_off;
    size_t n = avail < c->body_left ? avail : (size_t)c->body_left;
    if (c->body_echo) {
        out_compact(c);
        if (n > out_room(c))
            n = out_room(c);
        if (n)
            mark_output(c, now);
        if (n)
            out_put(c, c->in + c->in_off, n);
    }
    if (n == 0)
        return false;
    in_consume(c, n);
    c->body_left -= n;
    c->body_since = now;
    if (c->body_left == 0)
        c->state = c->keep_alive ? ST_HEAD : ST_CLOSING;
    return true;
}

int conn_process(struct conn *c, int64_t now)
{
    if (c->wrote) {
        c->wrote = false;
        c->write_since = now;
    }
    for (;;) {
        bool progress = false;
        switch (c->state) {
        case ST_HEAD:
            /* One response at a time: the next head is parsed only when the
             * previous response is queued and there is room for another. */
            if (c->gen != GEN_NONE || out_space(c) < OUT_HEAD_ROOM)
                break;
            progress = step_head(c, now);
            if (!progress && c->in_eof) {
                /* Nothing more will come: a half-sent request is dropped. */
                c->state = ST_CLOSING;
                progress = true;
            }
            break;
        case ST_BODY:
            progress = step_body(c, now);
            if (!progress && c->in_eof && c->in_len == c->in_off) {
                c->state = ST_CLOSING;
                progress = true;
            }
            break;
        case ST_DELAY:
            if (now >= c->delay_until) {
                finish_delay(c, now);
                progress = true;
            }
            break;
        case ST_CLOSING:
            break;
        }
        if (!progress)
            break;
    }

    /* Timeouts. A client still owing us a head is told why (408); an idle,
     * stalled or non-reading one is just closed. */
    bool out = output_pending(c);
    if (out && now - c->write_since >= US(c->cfg->write_timeout_ms))
        return CONN_CLOSE;
    if (c->state == ST_HEAD && !out) {
        if (has_request_bytes(c) || !c->served_one) {
            if (c->head_start < 0)
                c->head_start = now;
            if (now - c->head_start >= US(c->cfg->header_timeout_ms)) {
                respond_fatal(c, 408, now);
                out = true;
            }
        } else {
            if (c->idle_since < 0)
                c->idle_since = now;
            if (now - c->idle_since >= US(c->cfg->idle_timeout_ms))
                return CONN_CLOSE;
        }
    }
    if (c->state == ST_BODY && now - c->body_since >= US(c->cfg->header_timeout_ms))
        return CONN_CLOSE;
    if (c->state == ST_CLOSING && !out)
        return CONN_CLOSE;

    int want = out ? CONN_WANT_WRITE : 0;
    if (c->state == ST_DELAY)
        want |= CONN_WANT_TIMER;
    if (!c->in_eof && (c->state == ST_HEAD || c->state == ST_BODY)) {
        want |= CONN_WANT_TIMER;
        /* Back-pressure: while the output is full, stop reading, so a
         * client that sends faster than it reads blocks in its own send
         * instead of growing our memory. */
        bool room_in = c->in_len - c->in_off < c->in_cap;
        bool room_out = c->gen == GEN_NONE &&
                        (c->state == ST_BODY ? out_space(c) > 0 : out_space(c) >= OUT_HEAD_ROOM);
        if (room_in && room_out)
            want |= CONN_WANT_READ;
    }
    return want ? want : CONN_WANT_TIMER;
}

int64_t conn_stall_deadline(const struct conn *c)
{
    int64_t d = INT64_MAX;
    if (output_pending(c))
        d = c->write_since + US(c->cfg->write_timeout_ms);
    if (c->state == ST_BODY && c->body_since + US(c->cfg->header_timeout_ms) < d)
        d = c->body_since + US(c->cfg->header_timeout_ms);
    return d;
}

int64_t conn_deadline(const struct conn *c)
{
    int64_t d = conn_stall_deadline(c);
    switch (c->state) {
    case ST_DELAY:
        if (c->delay_until < d)
            d = c->delay_until;
        break;
    case ST_HEAD:
        if (output_pending(c))
            break;
        if (c->head_start >= 0 && c->head_start + US(c->cfg->header_timeout_ms) < d)
            d = c->head_start + US(c->cfg->header_timeout_ms);
        else if (c->head_start < 0 && c->idle_since >= 0 &&
                 c->idle_since + US(c->cfg->idle_timeout_ms) < d)
            d = c->idle_since + US(c->cfg->idle_timeout_ms);
        break;
    case ST_BODY: /* its timeout is a stall: counted above */
    case ST_CLOSING:
        break;
    }
    return d;
}

void conn_drain(struct conn *c)
{
    c->draining = true;
    c->keep_alive = false;
}

/* ---- buffers ----------------------------------------------------------- */

char *conn_in_space(struct conn *c, size_t *room)
{
    if (c->in_off > 0 && c->in_cap - c->in_len < c->in_cap / 4) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    *room = c->in_cap - c->in_len;
    return c->in + c->in_len;
}

void conn_in_commit(struct conn *c, size_t n)
{
    c->in_len += n;
}

void conn_in_eof(struct conn *c)
{
    c->in_eof = true;
}

int conn_out_iov(struct conn *c, struct iovec *iov, int max)
{
    int n = 0;
    if (n < max && c->out_len > c->out_off) {
        iov[n].iov_base = c->out + c->out_off;
        iov[n].iov_len = c->out_len - c->out_off;
        n++;
    }
    if (n < max && c->gen == GEN_PATTERN) {
        iov[n].iov_base = pattern + c->gen_pos % 64;
        iov[n].iov_len = c->gen_left < PATTERN_SLICE ? (size_t)c->gen_left : PATTERN_SLICE;
        n++;
    }
    return n;
}

void conn_out_hold(struct conn *c, bool held)
{
    c->out_held = held;
}

void conn_out_consumed(struct conn *c, size_t n)
{
    if (n == 0)
        return;
    c->wrote = true;
    size_t take = c->out_len - c->out_off;
    if (take > n)
        take = n;
    c->out_off += take;
    n -= take;
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (n && c->gen == GEN_PATTERN) {
        c->gen_left -= n;
        c->gen_pos += n;
        if (c->gen_left == 0)
            c->gen = GEN_NONE;
    }
}

/* ---- life cycle --------------------------------------------------------- */

static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

static void pattern_init(void)
{
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = pattern_alphabet[i % 64];
}

struct conn *conn_new(int fd, const struct server_config *cfg, const char *model, int64_t now)
{
    pthread_once(&pattern_once, pattern_init);
    size_t in_cap = cfg->max_head + 1 > IN_MIN_CAP ? cfg->max_head + 1 : IN_MIN_CAP;
    struct conn *c = malloc(sizeof *c + in_cap + OUT_CAP);
    if (!c)
        return NULL;
    *c = (struct conn){.fd = fd,
                       .cfg = cfg,
                       .model = model,
                       .state = ST_HEAD,
                       .in = (char *)(c + 1),
                       .in_cap = in_cap,
                       .out = (char *)(c + 1) + in_cap,
                       .keep_alive = true,
                       .head_start = now,
                       .idle_since = -1,
                       .write_since = now};
    stats_conn_opened();
    return c;
}

void conn_free(struct conn *c)
{
    if (!c)
        return;
    stats_conn_closed();
    free(c);
}

int conn_fd(const struct conn *c)
{
    return c->fd;
}

void conn_refuse(int fd, const char *model)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 503 Service Unavailable\r\nServer: ioserve/" IOBENCH_VERSION
                     " (%s)\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n"
                     "Connection: close\r\n\r\nService Unavailable\n",
                     model);
    /* Best effort and never blocking: this runs on the accepting path. */
    (void)send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    stats_conn_rejected();
    stats_response(503);
}

void conn_reject(int fd, const char *model)
{
    conn_refuse(fd, model);
    close(fd);
}
