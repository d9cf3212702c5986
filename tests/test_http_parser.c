/* Tests for http_parser: every case is fed as every prefix, re-run with every
 * earlier last_len, and placed right before an unreadable page so that any
 * read past len crashes the test. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http_parser.h"

#define MAX_HEAD 8192 /* the server's default --max-head */

/* ---- guard pages ------------------------------------------------------- */

struct guard {
    char *base;
    size_t size; /* readable bytes; the page after them is PROT_NONE */
};

static void guard_map(struct guard *g, size_t cap)
{
    long page = sysconf(_SC_PAGESIZE);
    cr_assert_gt(page, 0, "sysconf(_SC_PAGESIZE)");
    size_t ps = (size_t)page;
    g->size = (cap + ps - 1) / ps * ps;
    if (g->size == 0)
        g->size = ps;
    void *m = mmap(NULL, g->size + ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(m, MAP_FAILED, "mmap: %s", strerror(errno));
    g->base = m;
    cr_assert_eq(mprotect(g->base + g->size, ps, PROT_NONE), 0, "mprotect: %s", strerror(errno));
}

static void guard_unmap(struct guard *g)
{
    long page = sysconf(_SC_PAGESIZE);
    cr_assert_eq(munmap(g->base, g->size + (size_t)page), 0, "munmap: %s", strerror(errno));
}

/* Copies data[0, len) so that its last byte is the last readable one. */
static const char *guard_place(struct guard *g, const char *data, size_t len)
{
    cr_assert_leq(len, g->size);
    char *dst = g->base + g->size - len;
    memcpy(dst, data, len);
    return dst;
}

/* ---- the generic driver ---------------------------------------------- */

static void assert_same_request(const struct http_request *a, const struct http_request *b,
                                const char *name, size_t last_len)
{
    cr_assert_eq(a->method, b->method, "%s (last_len %zu): method", name, last_len);
    cr_assert_eq(a->method_len, b->method_len, "%s (last_len %zu)", name, last_len);
    cr_assert_eq(a->target, b->target, "%s (last_len %zu): target", name, last_len);
    cr_assert_eq(a->target_len, b->target_len, "%s (last_len %zu)", name, last_len);
    cr_assert_eq(a->minor_version, b->minor_version, "%s (last_len %zu)", name, last_len);
    cr_assert_eq(a->num_headers, b->num_headers, "%s (last_len %zu)", name, last_len);
    for (size_t i = 0; i < a->num_headers; i++) {
        cr_assert_eq(a->headers[i].name, b->headers[i].name, "%s: header %zu", name, i);
        cr_assert_eq(a->headers[i].name_len, b->headers[i].name_len, "%s: header %zu", name, i);
        cr_assert_eq(a->headers[i].value, b->headers[i].value, "%s: header %zu", name, i);
        cr_assert_eq(a->headers[i].value_len, b->headers[i].value_len, "%s: header %zu", name, i);
    }
    cr_assert_eq(a->content_length, b->content_length, "%s (last_len %zu)", name, last_len);
    cr_assert_eq(a->keep_alive, b->keep_alive, "%s (last_len %zu)", name, last_len);
}

/* Points the request's fields into `to` instead of `from` (same bytes). */
static void rebase(struct http_request *r, const char *from, const char *to)
{
    r->method = to + (r->method - from);
    r->target = to + (r->target - from);
    for (size_t i = 0; i < r->num_headers; i++) {
        r->headers[i].name = to + (r->headers[i].name - from);
        r->headers[i].value = to + (r->headers[i].value - from);
    }
}

/* Feeds in[0, len) as every prefix, then whole, then whole again with every
 * last_len a prefix asked for more. want is the expected result for the whole
 * input: a head length (prefixes shorter are incomplete, longer give it too)
 * or a negated status (a prefix may fail early with it but never succeed).
 * On success *out points into `in`. */
static void run_case(const char *name, const char *in, size_t len, size_t max_head, int want,
                     struct http_request *out)
{
    struct guard g;
    guard_map(&g, len);
    bool *incomplete = calloc(len + 1, sizeof *incomplete);
    cr_assert_not_null(incomplete);
    struct http_request *req = malloc(sizeof *req);
    cr_assert_not_null(req);

    for (size_t k = 0; k < len; k++) {
        const char *p = guard_place(&g, in, k);
        int r = http_parse_request(p, k, 0, max_head, req);
        if (want > 0 && k < (size_t)want)
            cr_assert_eq(r, HTTP_PARSE_INCOMPLETE, "%s: prefix %zu gave %d", name, k, r);
        else if (want > 0)
            cr_assert_eq(r, want, "%s: prefix %zu gave %d", name, k, r);
        else
            cr_assert(r == HTTP_PARSE_INCOMPLETE || r == want, "%s: prefix %zu gave %d, want %d",
                      name, k, r, want);
        incomplete[k] = r == HTTP_PARSE_INCOMPLETE;
    }

    const char *p = guard_place(&g, in, len);
    int r = http_parse_request(p, len, 0, max_head, out);
    cr_assert_eq(r, want, "%s: whole input gave %d, want %d", name, r, want);
    for (size_t k = 0; k < len; k++) {
        if (!incomplete[k])
            continue;
        int r2 = http_parse_request(p, len, k, max_head, req);
        cr_assert_eq(r2, want, "%s: last_len %zu gave %d, want %d", name, k, r2, want);
        if (want > 0)
            assert_same_request(out, req, name, k);
    }
    if (want > 0)
        rebase(out, p, in);
    free(req);
    free(incomplete);
    guard_unmap(&g);
}

/* ---- valid requests ---------------------------------------------------- */

struct valid_case {
    const char *name;
    const char *in;
    const char *method;
    const char *target;
    int minor;
    size_t num_headers;
    int64_t content_length;
    bool keep_alive;
    const char *hname; /* one header to look up (any case), or NULL */
    const char *hvalue;
};

static const struct valid_case valid_cases[] = {
    {"get 1.1", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "GET", "/", 1, 1, -1, true, "host",
     "example.com"},
    {"head 1.0", "HEAD /index.html HTTP/1.0\r\n\r\n", "HEAD", "/index.html", 0, 0, -1, false, NULL,
     NULL},
    {"post with length",
     "POST /submit?x=1&y=2 HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\n"
     "Content-Type: text/plain\r\n\r\n",
     "POST", "/submit?x=1&y=2", 1, 3, 13, true, "CONTENT-TYPE", "text/plain"},
    {"get 1.0 with headers", "GET /a/b HTTP/1.0\r\nHost: a\r\nUser-Agent: t/1.0\r\n\r\n", "GET",
     "/a/b", 0, 2, -1, false, "user-agent", "t/1.0"},
    {"bare LF", "GET /lf HTTP/1.1\nHost: a\nAccept: */*\n\n", "GET", "/lf", 1, 2, -1, true,
     "accept", "*/*"},
    {"mixed LF and CRLF", "GET /mixed HTTP/1.1\r\nHost: a\nX: y\r\n\n", "GET", "/mixed", 1, 2, -1,
     true, "x", "y"},
    {"bare LF then CRLF blank line", "GET / HTTP/1.1\nHost: a\n\r\n", "GET", "/", 1, 1, -1, true,
     "host", "a"},
    {"OWS around value", "GET / HTTP/1.1\r\nX-Ows: \t  padded \t value \t \r\n\r\n", "GET", "/", 1,
     1, -1, true, "x-ows", "padded \t value"},
    {"no OWS", "GET / HTTP/1.1\r\nX-Tight:v\r\n\r\n", "GET", "/", 1, 1, -1, true, "x-tight", "v"},
    {"empty values", "GET / HTTP/1.1\r\nX-Empty:\r\nX-Blank: \t \r\n\r\n", "GET", "/", 1, 2, -1,
     true, "x-blank", ""},
    {"colon in value", "GET / HTTP/1.1\r\nX: a:b: c\r\n\r\n", "GET", "/", 1, 1, -1, true, "x",
     "a:b: c"},
    {"all tchars in name", "GET / HTTP/1.1\r\nX-!#$%&'*+.^_`|~09az: v\r\n\r\n", "GET", "/", 1, 1,
     -1, true, "x-!#$%&'*+.^_`|~09AZ", "v"},
    {"obs-text", "GET /caf\xc3\xa9 HTTP/1.1\r\nX: \xff\x80 ok\r\n\r\n", "GET", "/caf\xc3\xa9", 1, 1,
     -1, true, "x", "\xff\x80 ok"},
    {"options asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS", "*", 1, 1, -1, true,
     NULL, NULL},
    {"connect authority", "CONNECT example.com:443 HTTP/1.1\r\n\r\n", "CONNECT", "example.com:443",
     1, 0, -1, true, NULL, NULL},
    {"extension method", "M-SEARCH http://a/b?c#d HTTP/1.1\r\n\r\n", "M-SEARCH", "http://a/b?c#d",
     1, 0, -1, true, NULL, NULL},
    {"leading empty lines", "\r\n\nGET / HTTP/1.1\r\n\r\n", "GET", "/", 1, 0, -1, true, NULL, NULL},
    {"most leading empty lines ignored", "\r\n\n\r\n\nGET / HTTP/1.1\r\n\r\n", "GET", "/", 1, 0, -1,
     true, NULL, NULL},
    {"connection close 1.1", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "GET", "/", 1, 1, -1,
     false, "connection", "close"},
    {"connection keep-alive 1.0", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET", "/", 0,
     1, -1, true, NULL, NULL},
    {"connection list, any case", "GET / HTTP/1.0\r\nConnection: Upgrade, Keep-Alive\r\n\r\n",
     "GET", "/", 0, 1, -1, true, NULL, NULL},
    {"connection close wins", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", "GET", "/",
     0, 1, -1, false, NULL, NULL},
    {"connection close wins across headers",
     "GET / HTTP/1.0\r\nConnection: keep-alive\r\nconnection: CLOSE\r\n\r\n", "GET", "/", 0, 2, -1,
     false, NULL, NULL},
    {"connection close in sloppy list", "GET / HTTP/1.1\r\nConnection: ,, close ,\t\r\n\r\n", "GET",
     "/", 1, 1, -1, false, NULL, NULL},
    {"connection closed is not close", "GET / HTTP/1.1\r\nConnection: closed, xclose\r\n\r\n",
     "GET", "/", 1, 1, -1, true, NULL, NULL},
    {"connection keep-alive-x is not keep-alive",
     "GET / HTTP/1.0\r\nConnection: keep-alive-x\r\n\r\n", "GET", "/", 0, 1, -1, false, NULL, NULL},
    {"connection header name any case", "GET / HTTP/1.1\r\nCONNECTION: Close\r\n\r\n", "GET", "/",
     1, 1, -1, false, NULL, NULL},
    {"content-length zero", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "POST", "/", 1, 1, 0,
     true, NULL, NULL},
    {"content-length leading zeros, name any case",
     "POST / HTTP/1.0\r\ncontent-LENGTH: 007\r\n\r\n", "POST", "/", 0, 1, 7, false, NULL, NULL},
    {"content-length INT64_MAX", "PUT /x HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n",
     "PUT", "/x", 1, 1, INT64_MAX, true, NULL, NULL},
    {"content-length with OWS", "POST / HTTP/1.1\r\nContent-Length:\t42 \r\n\r\n", "POST", "/", 1,
     1, 42, true, NULL, NULL},
    {"many headers",
     "GET /many HTTP/1.1\r\nH1: 1\r\nH2: 2\r\nH3: 3\r\nH4: 4\r\nH5: 5\r\nH6: 6\r\nH7: 7\r\n"
     "H8: 8\r\nH9: 9\r\nH10: 10\r\nH11: 11\r\nH12: 12\r\nH13: 13\r\nH14: 14\r\nH15: 15\r\n"
     "H16: 16\r\nH17: 17\r\nH18: 18\r\nH19: 19\r\nH20: 20\r\n\r\n",
     "GET", "/many", 1, 20, -1, true, "h17", "17"},
};

static void check_valid(const struct valid_case *c, size_t max_head)
{
    size_t len = strlen(c->in);
    struct http_request req;
    run_case(c->name, c->in, len, max_head, (int)len, &req);
    cr_assert_eq(req.method_len, strlen(c->method), "%s", c->name);
    cr_assert_arr_eq(req.method, c->method, req.method_len, "%s: method", c->name);
    cr_assert_eq(req.target_len, strlen(c->target), "%s", c->name);
    cr_assert_arr_eq(req.target, c->target, req.target_len, "%s: target", c->name);
    cr_assert_eq(req.minor_version, c->minor, "%s", c->name);
    cr_assert_eq(req.num_headers, c->num_headers, "%s", c->name);
    cr_assert_eq(req.content_length, c->content_length, "%s", c->name);
    cr_assert_eq(req.keep_alive, c->keep_alive, "%s: keep_alive", c->name);
    for (size_t i = 0; i < req.num_headers; i++) {
        const struct http_header *h = &req.headers[i];
        cr_assert(h->name >= c->in && h->value >= c->in, "%s", c->name);
        cr_assert(h->value + h->value_len <= c->in + len, "%s", c->name);
        cr_assert(h->value_len == 0 ||
                      (h->value[0] != ' ' && h->value[0] != '\t' &&
                       h->value[h->value_len - 1] != ' ' && h->value[h->value_len - 1] != '\t'),
                  "%s: header %zu keeps OWS", c->name, i);
    }
    if (c->hname != NULL) {
        const struct http_header *h = http_find_header(&req, c->hname);
        cr_assert_not_null(h, "%s: %s not found", c->name, c->hname);
        cr_assert_eq(h->value_len, strlen(c->hvalue), "%s: %s", c->name, c->hname);
        cr_assert_arr_eq(h->value, c->hvalue, h->value_len, "%s: %s value", c->name, c->hname);
    }
}

/* Each case also with the bound at its own length (a head of exactly
 * max_head parses) and one byte below it (431). */
Test(http_parser, valid_cases)
{
    for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
        const struct valid_case *c = &valid_cases[i];
        size_t len = strlen(c->in);
        check_valid(c, MAX_HEAD);
        check_valid(c, len);
        struct http_request req;
        run_case(c->name, c->in, len, len - 1, -431, &req);
    }
}

/* ---- malformed and refused requests --------------------------------------- */

struct bad_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in); set for inputs holding a NUL */
    int want;
};

#define BAD(name, in, want)                                                                        \
    {                                                                                              \
        name, in, 0, want                                                                          \
    }
#define BAD_N(name, in, want)                                                                      \
    {                                                                                              \
        name, in, sizeof(in) - 1, want                                                             \
    }

static const struct bad_case bad_cases[] = {
    /* request line */
    BAD("field where the request line belongs", "\r\nX: y\r\n\r\n", -400),
    BAD("one empty line too many", "\r\n\n\r\n\n\r\nGET / HTTP/1.1\r\n\r\n", -400),
    BAD("only empty lines", "\r\n\r\n\r\n\r\n\r\n\r\n", -400),
    BAD("method only", "GET\r\n\r\n", -400),
    BAD("HTTP/0.9 style, no version", "GET /\r\n\r\n", -400),
    BAD("HTTP/0.9 style, bare LF", "GET /\n\n", -400),
    BAD("no method", " / HTTP/1.1\r\n\r\n", -400),
    BAD("double space", "GET  / HTTP/1.1\r\n\r\n", -400),
    BAD("space before version twice", "GET /  HTTP/1.1\r\n\r\n", -400),
    BAD("trailing space", "GET / HTTP/1.1 \r\n\r\n", -400),
    BAD("tab separator", "GET\t/ HTTP/1.1\r\n\r\n", -400),
    BAD("non-token method", "G(T / HTTP/1.1\r\n\r\n", -400),
    BAD("CTL in target", "GET /a\x01z HTTP/1.1\r\n\r\n", -400),
    BAD("DEL in target", "GET /a\x7f HTTP/1.1\r\n\r\n", -400),
    BAD("tab in target", "GET /a\tb HTTP/1.1\r\n\r\n", -400),
    BAD_N("NUL in target", "GET /a\0b HTTP/1.1\r\n\r\n", -400),
    BAD("lower-case version", "GET / http/1.1\r\n\r\n", -400),
    BAD("two-digit minor", "GET / HTTP/1.10\r\n\r\n", -400),
    BAD("no dot", "GET / HTTP/11\r\n\r\n", -400),
    BAD("letter minor", "GET / HTTP/1.x\r\n\r\n", -400),
    BAD("junk after version", "GET / HTTP/1.1x\r\n\r\n", -400),
    BAD("short version", "GET / HTTP/1\r\n\r\n", -400),
    BAD("extra field", "GET / HTTP/1.1 extra\r\n\r\n", -400),
    /* versions we do not speak */
    BAD("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", -505),
    BAD("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", -505),
    BAD("HTTP/0.9 with version", "GET / HTTP/0.9\r\n\r\n", -505),
    BAD("HTTP/3.0 bare LF", "GET / HTTP/3.0\n\n", -505),
    /* bare CR */
    BAD("bare CR ends request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", -400),
    BAD("bare CR in value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", -400),
    BAD("CR CR LF", "GET / HTTP/1.1\r\nX: a\r\r\n\r\n", -400),
    BAD("bare CR line", "GET / HTTP/1.1\r\nX: a\r\n\r\r\n\r\n", -400),
    BAD("bare CR before request line", "\rGET / HTTP/1.1\r\n\r\n", -400),
    /* header lines */
    BAD("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", -400),
    BAD("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", -400),
    BAD("empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", -400),
    BAD("non-token name", "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", -400),
    BAD("no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", -400),
    BAD("obs-fold with space", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", -400),
    BAD("obs-fold with tab", "GET / HTTP/1.1\r\nX: a\n\tb\n\n", -400),
    BAD("whitespace before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", -400),
    BAD_N("NUL in value", "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", -400),
    BAD_N("NUL in name", "GET / HTTP/1.1\r\nX\0: a\r\n\r\n", -400),
    BAD("SOH in value", "GET / HTTP/1.1\r\nX: \x01\r\n\r\n", -400),
    BAD("VT in value", "GET / HTTP/1.1\r\nX: a\vb\r\n\r\n", -400),
    BAD("US in value", "GET / HTTP/1.1\r\nX: a\x1f\r\n\r\n", -400),
    BAD("DEL in value", "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", -400),
    BAD("bad line after good ones", "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nbogus\r\n\r\n", -400),
    /* Content-Length */
    BAD("empty length", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", -400),
    BAD("blank length", "POST / HTTP/1.1\r\nContent-Length:  \r\n\r\n", -400),
    BAD("negative length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", -400),
    BAD("plus sign", "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", -400),
    BAD("hex length", "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", -400),
    BAD("space in length", "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", -400),
    BAD("comma list, same", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", -400),
    BAD("comma list, no space", "POST / HTTP/1.1\r\nContent-Length: 5,6\r\n\r\n", -400),
    BAD("INT64_MAX + 1", "POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n", -400),
    BAD("20 digits", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", -400),
    BAD("duplicate, same value",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", -400),
    BAD("duplicate, other case",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 7\r\n\r\n", -400),
    /* Transfer-Encoding */
    BAD("chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", -501),
    BAD("identity, lower-case name", "POST / HTTP/1.1\r\ntransfer-encoding: identity\r\n\r\n",
        -501),
    BAD("empty transfer-encoding", "POST / HTTP/1.0\r\nTransfer-Encoding:\r\n\r\n", -501),
    BAD("te with content-length",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", -501),
    BAD("te then malformed line", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nbad\r\n\r\n",
        -400),
    BAD("te with bad length",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: x\r\n\r\n", -400),
};

/* Runs a table of cases with a known result, with the default bound and
 * with the bound at the input's length (judged on content, not refused). */
static void check_table(const struct bad_case *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = t[i].len ? t[i].len : strlen(t[i].in);
        struct http_request req;
        run_case(t[i].name, t[i].in, len, MAX_HEAD, t[i].want, &req);
        run_case(t[i].name, t[i].in, len, len, t[i].want, &req);
    }
}

Test(http_parser, bad_cases)
{
    check_table(bad_cases, sizeof bad_cases / sizeof bad_cases[0]);
}

/* ---- regressions found by the fuzzer ------------------------------------ */

/* Every input with which libFuzzer (scripts/fuzz.sh) made the parser crash
 * or break an invariant goes here, with the result the fixed parser gives,
 * so the fix stays fixed.
 *
 * So far it found none in this parser (about 3 million executions). The
 * rows below are inputs it generated that reached edges the tables above do
 * not: each verdict was checked by hand against the contract. */
static const struct bad_case fuzz_regressions[] = {
    {"bare-LF empty line, then LF + CRLF", "\nG / HTTP/1.1\n\r\n", 0, 16},
    {"obs-text target, CRLF + LF end, junk after",
     "PUT \xff\xff\xff\xff/ HTTP/1.1\r\n\n\rHPT//1.\n\nHos\r\n", 0, 21},
    {"empty value ended by bare LF", "GET / HTTP/1.1\r\noitCnecnon:\n\n\n", 0, 29},
    {"lone CR after a 505 head", "PUT / HTTP/0.1\n\n\r", 0, -505},
    {"505 decided before a NUL field line", "Q / HTTP/1.2\r\n\0\r\n\r\n",
     sizeof "Q / HTTP/1.2\r\n\0\r\n\r\n" - 1, -505},
    {"505 head ends early, junk after", "GET 1 HTTP/1.2\r\n\n/\n\x1b\n\r\n", 0, -505},
};

Test(http_parser, fuzz_regressions)
{
    check_table(fuzz_regressions, sizeof fuzz_regressions / sizeof fuzz_regressions[0]);
}

/* ---- pipelining, bounds --------------------------------------------------- */

Test(http_parser, pipelined_returns_first_head)
{
    static const char first[] = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
    static const char second[] = "GET /b HTTP/1.1\r\nHost: a\r\n\r\n";
    char in[256];
    int n = snprintf(in, sizeof in, "%shello%s", first, second);
    cr_assert(n > 0 && (size_t)n < sizeof in);
    size_t head = sizeof first - 1;

    /* Every prefix: more needed until the first head is whole, then its
     * length whatever follows it. */
    struct http_request req;
    run_case("pipelined", in, (size_t)n, MAX_HEAD, (int)head, &req);
    cr_assert_eq(req.content_length, 5);
    cr_assert_eq(req.target_len, 2);
    cr_assert_arr_eq(req.target, "/a", 2);

    /* The caller skips the head and the body; the second request follows. */
    size_t off = head + 5;
    struct http_request req2;
    run_case("pipelined second", in + off, (size_t)n - off, MAX_HEAD, (int)(sizeof second - 1),
             &req2);
    cr_assert_arr_eq(req2.target, "/b", 2);
    cr_assert_eq(req2.content_length, -1);
}

/* A request of exactly `total` bytes: GET line, one padding field, blank line. */
static char *padded_request(size_t total)
{
    static const char pre[] = "GET / HTTP/1.1\r\nX-Pad: ";
    static const char post[] = "\r\n\r\n";
    size_t fixed = sizeof pre - 1 + sizeof post - 1;
    cr_assert_gt(total, fixed);
    char *s = malloc(total + 1);
    cr_assert_not_null(s);
    memcpy(s, pre, sizeof pre - 1);
    memset(s + sizeof pre - 1, 'a', total - fixed);
    memcpy(s + total - (sizeof post - 1), post, sizeof post);
    return s;
}

Test(http_parser, max_head_boundary)
{
    const size_t max_head = MAX_HEAD;
    struct http_request req;

    char *exact = padded_request(max_head);
    run_case("head of exactly max_head", exact, max_head, max_head, (int)max_head, &req);
    cr_assert_eq(req.num_headers, 1);
    cr_assert_eq(req.headers[0].value_len, max_head - strlen("GET / HTTP/1.1\r\nX-Pad: \r\n\r\n"));
    free(exact);

    /* Every prefix shorter than max_head asks for more; max_head bytes with
     * no end among them can never fit, so 431 comes before the last byte. */
    char *over = padded_request(max_head + 1);
    struct guard g;
    guard_map(&g, max_head + 1);
    for (size_t k = max_head - 4; k <= max_head + 1; k++) {
        const char *p = guard_place(&g, over, k);
        int r = http_parse_request(p, k, k > 0 ? k - 1 : 0, max_head, &req);
        cr_assert_eq(r, k < max_head ? HTTP_PARSE_INCOMPLETE : -431, "prefix %zu gave %d", k, r);
    }
    guard_unmap(&g);
    run_case("head of max_head + 1", over, max_head + 1, max_head, -431, &req);
    free(over);
}

/* n fields "H<i>: v" and the blank line; the caller frees the result. */
static char *request_with_headers(size_t n, size_t *len)
{
    size_t cap = 32 + n * 16;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    size_t off = (size_t)snprintf(s, cap, "GET / HTTP/1.1\r\n");
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(s + off, cap - off, "H%zu: v\r\n", i);
        cr_assert(w > 0 && (size_t)w < cap - off);
        off += (size_t)w;
    }
    cr_assert_lt(off + 2, cap);
    memcpy(s + off, "\r\n", 3);
    *len = off + 2;
    return s;
}

Test(http_parser, max_headers_boundary)
{
    size_t len;
    struct http_request req;

    char *full = request_with_headers(HTTP_MAX_HEADERS, &len);
    run_case("HTTP_MAX_HEADERS fields", full, len, MAX_HEAD, (int)len, &req);
    cr_assert_eq(req.num_headers, HTTP_MAX_HEADERS);
    const struct http_header *last = http_find_header(&req, "h99");
    cr_assert_not_null(last);
    cr_assert_eq(last, &req.headers[HTTP_MAX_HEADERS - 1]);
    free(full);

    char *over = request_with_headers(HTTP_MAX_HEADERS + 1, &len);
    run_case("HTTP_MAX_HEADERS + 1 fields", over, len, MAX_HEAD, -431, &req);
    free(over);
}

/* ---- contract details ------------------------------------------------------- */

Test(http_parser, find_header_ignores_case_and_returns_first)
{
    static const char in[] = "GET / HTTP/1.1\r\nX-Dup: one\r\nx-dup: two\r\nHost: h\r\n\r\n";
    struct http_request req;
    run_case("find_header", in, sizeof in - 1, MAX_HEAD, (int)(sizeof in - 1), &req);
    const struct http_header *h = http_find_header(&req, "X-DUP");
    cr_assert_not_null(h);
    cr_assert_eq(h, &req.headers[0]);
    cr_assert_null(http_find_header(&req, "X-Du"));
    cr_assert_null(http_find_header(&req, "X-Dupe"));
    cr_assert_null(http_find_header(&req, "Content-Length"));
    cr_assert_eq(http_find_header(&req, "hOsT"), &req.headers[2]);
}

/* Bytes after the head are not looked at, even when they are garbage. */
Test(http_parser, bytes_after_head_ignored)
{
    static const char in[] = "GET / HTTP/1.1\r\n\r\n\x01\r\r\xff garbage";
    struct http_request req;
    run_case("trailing garbage", in, sizeof in - 1, MAX_HEAD, 18, &req);
    cr_assert_eq(req.num_headers, 0);
}

/* A zero-length buffer and a zero bound never read anything. */
Test(http_parser, degenerate_lengths)
{
    struct guard g;
    guard_map(&g, 1);
    struct http_request req;
    const char *p = guard_place(&g, "", 0);
    cr_assert_eq(http_parse_request(p, 0, 0, MAX_HEAD, &req), HTTP_PARSE_INCOMPLETE);
    cr_assert_eq(http_parse_request(p, 0, 0, 0, &req), -431);
    guard_unmap(&g);
}
