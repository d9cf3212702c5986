/* ioload_transfer: the transfer engine, libcurl's whole HTTP stack.
 *
 * Every request is one libcurl transfer: an easy handle per connection,
 * created once and added to the thread's multi handle for each request, so
 * libcurl writes the request, parses the response and keeps the connection
 * alive. The reference for correctness; the stream engine is the fast one. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ioload_worker.h"

struct xfer {
    CURL *easy;
    struct ioload_worker *w;
    int64_t sched_ns; /* open loop: due time; closed loop: = start_ns */
    int64_t start_ns;
    int64_t bytes;
    int64_t done; /* requests completed in the measured interval */
    bool busy;    /* a request is in flight */
};

struct transfer {
    struct curl_mctx m;
    CURLU *url;
    struct xfer *xfers;
    struct xfer **free; /* open loop: connections waiting for a due request */
    int nfree;
};

static struct transfer *state(struct ioload_worker *w)
{
    return w->engine;
}

/* CURLOPT_WRITEFUNCTION: counts the body and drops it. */
static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    (void)ptr;
    x->bytes += (int64_t)(size * nmemb);
    return size * nmemb;
}

static CURLcode set_method(CURL *e, const struct ioload_config *cfg)
{
    const char *method = cfg->method;
    CURLcode rc = CURLE_OK;
    if (strcmp(method, "HEAD") == 0) {
        rc |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (cfg->body != NULL || strcmp(method, "POST") == 0) {
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)cfg->body_len);
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, cfg->body != NULL ? cfg->body : "");
        if (strcmp(method, "POST") != 0)
            rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    return rc;
}

static int xfer_init(struct ioload_worker *w, struct xfer *x)
{
    const struct ioload_config *cfg = w->cfg;
    x->w = w;
    CURL *e = x->easy = curl_easy_init();
    if (e == NULL) {
        errno = ENOMEM;
        return -1;
    }
    CURLcode rc = glue_easy_defaults(w, e, (long)ceil(cfg->timeout_s * 1000));
    /* A parsed URL handle spares libcurl re-parsing the URL for every request. */
    rc |= curl_easy_setopt(e, CURLOPT_CURLU, state(w)->url);
    rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, w->sh->headers);
    rc |= set_method(e, cfg);
    if (!cfg->keepalive)
        rc |= curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    if (rc != CURLE_OK) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static void issue(struct ioload_worker *w, struct xfer *x, int64_t sched, int64_t now)
{
    x->start_ns = now;
    x->sched_ns = sched < 0 ? now : sched;
    x->busy = true;
    x->bytes = 0;
    w->inflight++;
    if (curl_multi_add_handle(state(w)->m.multi, x->easy) != CURLM_OK) {
        w->internal_errors++;
        x->busy = false;
        worker_record(w, x->sched_ns, x->start_ns, now, CURLE_FAILED_INIT, 0, 0);
    }
}

/* mctx_done_fn: a request finished. A failed request is followed by the
 * next one, like any other. */
static void complete(struct curl_mctx *m, CURL *easy, CURLcode rc)
{
    struct ioload_worker *w = m->w;
    struct transfer *t = state(w);
    int64_t now = worker_now();
    struct xfer *x = NULL;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    if (rc == CURLE_OK && curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    if (curl_multi_remove_handle(m->multi, easy) != CURLM_OK)
        w->internal_errors++;
    if (x == NULL)
        return;
    x->busy = false;
    if (worker_record(w, x->sched_ns, x->start_ns, now, rc, status, x->bytes))
        x->done++;
    if (w->sh->open_loop) {
        t->free[t->nfree++] = x;
        worker_capacity(w, now);
    } else if (worker_may_issue(w, now)) {
        issue(w, x, -1, now);
    }
}

static int setup(struct ioload_worker *w)
{
    struct transfer *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -1;
    w->engine = t;
    if (mctx_init(w, &t->m, w->nconn, complete, t) != 0)
        return -1;
    t->url = curl_url();
    if (t->url == NULL || curl_url_set(t->url, CURLUPART_URL, w->cfg->url, 0) != CURLUE_OK) {
        errno = EINVAL;
        return -1;
    }
    t->xfers = calloc((size_t)w->nconn, sizeof *t->xfers);
    t->free = calloc((size_t)w->nconn, sizeof *t->free);
    if (t->xfers == NULL || t->free == NULL)
        return -1;
    for (int i = 0; i < w->nconn; i++)
        if (xfer_init(w, &t->xfers[i]) != 0)
            return -1;
    for (int i = 0; i < w->nconn; i++)
        t->free[t->nfree++] = &t->xfers[i];
    return 0;
}

static void teardown(struct ioload_worker *w)
{
    struct transfer *t = state(w);
    if (t == NULL)
        return;
    /* Handles leave their multi before either is freed, as libcurl asks. */
    for (int i = 0; t->xfers != NULL && i < w->nconn; i++) {
        if (t->xfers[i].easy == NULL)
            continue;
        if (t->m.multi != NULL)
            curl_multi_remove_handle(t->m.multi, t->xfers[i].easy);
        curl_easy_cleanup(t->xfers[i].easy);
    }
    mctx_free(&t->m);
    curl_url_cleanup(t->url);
    free(t->xfers);
    free(t->free);
    free(t);
    w->engine = NULL;
}

static void start(struct ioload_worker *w)
{
    struct transfer *t = state(w);
    t->nfree = 0;
    for (int i = 0; i < w->nconn; i++) {
        int64_t now = worker_now();
        if (worker_may_issue(w, now))
            issue(w, &t->xfers[i], -1, now);
    }
}

static bool send_one(struct ioload_worker *w, int64_t sched_ns, int64_t now)
{
    struct transfer *t = state(w);
    if (t->nfree == 0)
        return false;
    issue(w, t->free[--t->nfree], sched_ns, now);
    return true;
}

static void event(struct ioload_worker *w, uint32_t id, uint32_t events)
{
    (void)w, (void)id, (void)events; /* every socket of ours is libcurl's */
}

static int64_t timers(struct ioload_worker *w, int64_t now)
{
    struct curl_mctx *m = &state(w)->m;
    (void)now;
    mctx_timers(m);
    return m->deadline >= 0 ? m->deadline : INT64_MAX;
}

static void finish(struct ioload_worker *w, int64_t stop_ns)
{
    struct transfer *t = state(w);
    (void)stop_ns;
    for (int i = 0; i < w->nconn; i++) {
        struct xfer *x = &t->xfers[i];
        if (x->busy)
            worker_unfinished(w, x->start_ns);
        if (!w->sh->open_loop && x->done == 0)
            worker_starved(w);
    }
}

const struct engine_ops engine_transfer = {
    .name = "transfer",
    .setup = setup,
    .teardown = teardown,
    .start = start,
    .send = send_one,
    .event = event,
    .timers = timers,
    .finish = finish,
};
