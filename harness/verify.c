/* verify: one libcurl request per check, every answer compared with the
 * ioserve contract. */
#include "verify.h"

#include "util.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VERIFY_BODY_MAX (64 * 1024)
#define VERIFY_HEAD_MAX (8 * 1024)
#define VERIFY_TIMEOUT_MS 5000L

/* Bounded buffer a curl write / header callback fills. */
struct vbuf {
    char *data;
    size_t len, cap;
    bool truncated;
};

struct response {
    long status;
    struct vbuf body, head;
    double total_s;
    long connects; /* new connections this transfer opened */
    CURLcode rc;
};

static size_t vbuf_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct vbuf *b = userdata;
    size_t n = size * nmemb;
    size_t room = b->cap - 1 - b->len;
    size_t take = n < room ? n : room;
    memcpy(b->data + b->len, ptr, take);
    b->len += take;
    b->data[b->len] = '\0';
    if (take < n)
        b->truncated = true;
    return n;
}

/* The server's address: loopback unless `iobench run --host` says. */
static char verify_host[64] = "127.0.0.1";

void verify_set_host(const char *host)
{
    snprintf(verify_host, sizeof verify_host, "%s", host);
}

/* One request on h (which keeps its connection between calls). */
static void do_request_within(CURL *h, int port, const char *method, const char *path,
                              const char *body, size_t body_len, long timeout_ms,
                              struct response *r)
{
    static char bodybuf[VERIFY_BODY_MAX], headbuf[VERIFY_HEAD_MAX];
    memset(r, 0, sizeof *r);
    r->body = (struct vbuf){bodybuf, 0, sizeof bodybuf, false};
    r->head = (struct vbuf){headbuf, 0, sizeof headbuf, false};
    bodybuf[0] = headbuf[0] = '\0';
    char url[512];
    snprintf(url, sizeof url, "http://%s:%d%s", verify_host, port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, vbuf_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, vbuf_write);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->head);
    curl_easy_setopt(h, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    r->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &r->total_s);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->connects);
}

static void do_request(CURL *h, int port, const char *method, const char *path, const char *body,
                       size_t body_len, struct response *r)
{
    do_request_within(h, port, method, path, body, body_len, VERIFY_TIMEOUT_MS, r);
}

/* The value of header name in the last response's head, or NULL. */
static const char *header_value(const struct response *r, const char *name, char *out, size_t cap)
{
    return util_line_value(r->head.data, name, out, cap);
}

struct checker {
    json_t *failed;
    int n_failed;
};

static void failf(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void failf(struct checker *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_array_append_new(c->failed, json_string(buf));
    c->n_failed++;
}

/* Transport errors and status mismatches are the common failure: one line. */
static bool expect_status(struct checker *c, const char *what, const struct response *r, long want)
{
    if (r->rc != CURLE_OK) {
        failf(c, "%s: %s", what, curl_easy_strerror(r->rc));
        return false;
    }
    if (r->status != want) {
        failf(c, "%s: status %ld, expected %ld", what, r->status, want);
        return false;
    }
    return true;
}

static void check_root(struct checker *c, CURL *h, int port, const char *model)
{
    struct response r;
    char v[256];
    do_request(h, port, "GET", "/", NULL, 0, &r);
    if (!expect_status(c, "GET /", &r, 200))
        return;
    if (strcmp(r.body.data, "Hello, World!") != 0)
        failf(c, "GET /: body \"%.40s\", expected \"Hello, World!\"", r.body.data);
    if (header_value(&r, "Content-Type", v, sizeof v) == NULL ||
        strncasecmp(v, "text/plain", 10) != 0)
        failf(c, "GET /: Content-Type is not text/plain");
    if (header_value(&r, "Content-Length", v, sizeof v) == NULL || strcmp(v, "13") != 0)
        failf(c, "GET /: Content-Length is not 13");
    if (header_value(&r, "Server", v, sizeof v) == NULL || strstr(v, model) == NULL)
        failf(c, "GET /: Server header does not name the model %s", model);
}

static void check_head(struct checker *c, CURL *h, int port)
{
    struct response r;
    char v[64];
    do_request(h, port, "HEAD", "/", NULL, 0, &r);
    if (!expect_status(c, "HEAD /", &r, 200))
        return;
    if (header_value(&r, "Content-Length", v, sizeof v) == NULL || strcmp(v, "13") != 0)
        failf(c, "HEAD /: Content-Length is not 13");
    /* curl does not read a body after HEAD: a server that sent one leaves it
     * in front of the next response on the kept-alive connection. */
    do_request(h, port, "GET", "/", NULL, 0, &r);
    if (r.rc != CURLE_OK || r.status != 200 || strcmp(r.body.data, "Hello, World!") != 0)
        failf(c, "HEAD /: the next request on the connection got a broken answer "
                 "(a body after HEAD?)");
    else if (r.connects != 0)
        failf(c, "HEAD /: the connection was not kept alive");
}

static const char pattern[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/";

static void check_bytes(struct checker *c, CURL *h, int port)
{
    struct response r;
    do_request(h, port, "GET", "/bytes/1000", NULL, 0, &r);
    if (!expect_status(c, "GET /bytes/1000", &r, 200))
        return;
    if (r.body.len != 1000) {
        failf(c, "GET /bytes/1000: %zu bytes, expected 1000", r.body.len);
        return;
    }
    for (size_t i = 0; i < r.body.len; i++)
        if (r.body.data[i] != pattern[i % 64]) {
            failf(c, "GET /bytes/1000: byte %zu is '%c', expected '%c'", i, r.body.data[i],
                  pattern[i % 64]);
            return;
        }
}

static void check_delay(struct checker *c, CURL *h, int port)
{
    struct response r;
    do_request(h, port, "GET", "/delay/20", NULL, 0, &r);
    if (!expect_status(c, "GET /delay/20", &r, 200))
        return;
    if (r.total_s < 0.020)
        failf(c, "GET /delay/20: answered after %.1f ms, expected >= 20 ms", r.total_s * 1000);
}

static void check_cpu(struct checker *c, CURL *h, int port)
{
    struct response r;
    do_request(h, port, "GET", "/cpu/10", NULL, 0, &r);
    if (expect_status(c, "GET /cpu/10", &r, 200) && r.body.len == 0)
        failf(c, "GET /cpu/10: empty body, expected a digest");
}

static void check_echo(struct checker *c, CURL *h, int port)
{
    char body[3000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('a' + (i * 7) % 26);
    struct response r;
    do_request(h, port, "POST", "/echo", body, sizeof body, &r);
    if (!expect_status(c, "POST /echo", &r, 200))
        return;
    if (r.body.len != sizeof body || memcmp(r.body.data, body, sizeof body) != 0)
        failf(c, "POST /echo: the body did not round-trip (%zu of %zu bytes back)", r.body.len,
              sizeof body);
}

static void check_stats(struct checker *c, CURL *h, int port, const char *model)
{
    static const char *const ints[] = {"pid", "requests", NULL};
    static const char *const conns[] = {"accepted", "active", "rejected", NULL};
    static const char *const objs[] = {"connections", "responses", "errors", NULL};
    struct response r;
    do_request(h, port, "GET", "/stats", NULL, 0, &r);
    if (!expect_status(c, "GET /stats", &r, 200))
        return;
    json_error_t je;
    json_t *j = json_loadb(r.body.data, r.body.len, 0, &je);
    if (!json_is_object(j)) {
        failf(c, "GET /stats: not a JSON object (%s)", je.text);
        json_decref(j);
        return;
    }
    const char *m = json_string_value(json_object_get(j, "model"));
    if (m == NULL || strcmp(m, model) != 0)
        failf(c, "GET /stats: \"model\" is not \"%s\"", model);
    if (!json_is_string(json_object_get(j, "version")))
        failf(c, "GET /stats: \"version\" missing");
    for (const char *const *k = ints; *k != NULL; k++)
        if (!json_is_integer(json_object_get(j, *k)))
            failf(c, "GET /stats: \"%s\" missing or not an integer", *k);
    for (const char *const *k = objs; *k != NULL; k++)
        if (!json_is_object(json_object_get(j, *k)))
            failf(c, "GET /stats: \"%s\" missing or not an object", *k);
    json_t *cj = json_object_get(j, "connections");
    for (const char *const *k = conns; json_is_object(cj) && *k != NULL; k++)
        if (!json_is_integer(json_object_get(cj, *k)))
            failf(c, "GET /stats: \"connections.%s\" missing or not an integer", *k);
    json_decref(j);
}

static void check_errors(struct checker *c, CURL *h, int port)
{
    struct response r;
    char v[128];
    do_request(h, port, "GET", "/nosuch", NULL, 0, &r);
    expect_status(c, "GET /nosuch", &r, 404);
    do_request(h, port, "POST", "/", "x", 1, &r);
    if (expect_status(c, "POST /", &r, 405) && header_value(&r, "Allow", v, sizeof v) == NULL)
        failf(c, "POST /: 405 without an Allow header");
}

int verify_server(int port, const char *model, json_t *failed)
{
    struct checker c = {failed, 0};
    CURL *h = curl_easy_init();
    if (h == NULL) {
        failf(&c, "curl_easy_init failed");
        return c.n_failed;
    }
    check_root(&c, h, port, model);
    check_head(&c, h, port);
    check_bytes(&c, h, port);
    check_delay(&c, h, port);
    check_cpu(&c, h, port);
    check_echo(&c, h, port);
    check_stats(&c, h, port, model);
    check_errors(&c, h, port);
    curl_easy_cleanup(h);
    return c.n_failed;
}

json_t *verify_get_stats(int port, long timeout_ms)
{
    CURL *h = curl_easy_init();
    if (h == NULL)
        return NULL;
    struct response r;
    do_request_within(h, port, "GET", "/stats", NULL, 0, timeout_ms, &r);
    curl_easy_cleanup(h);
    if (r.rc != CURLE_OK || r.status != 200)
        return NULL;
    return json_loadb(r.body.data, r.body.len, 0, NULL);
}
