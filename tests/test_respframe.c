/* test_respframe: the stream engine's response framer.
 *
 * Each case is a byte stream as a server would send it on one connection,
 * with what framing it must give: the responses (status, body length,
 * whether the connection may be reused), whether it is malformed, and what
 * the peer's close at the end means. Every case is framed whole, one byte
 * at a time, and cut at every single point, each time from a buffer that
 * ends right before an unreadable page, so an over-read crashes. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "framedrive.h"

struct want {
    const char *name;
    const char *bytes;
    bool head;
    int responses;
    int status[4];
    int64_t body[4];
    bool keepalive[4];
    bool error;
    int at_eof;
};

#define MORE RESPFRAME_MORE
#define DONE RESPFRAME_DONE
#define ERR RESPFRAME_ERROR

static const struct want cases[] = {
    {"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!", false, 1,
     {200}, {13}, {true}, false, MORE},
    {"two pipelined", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 404 NF\r\ncontent-length:0\r\n\r\n",
     false, 2, {200, 404}, {2, 0}, {true, true}, false, MORE},
    {"chunked, extensions and trailers",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n1A ; x\r\n"
     "abcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: yes\r\nY: 2\r\n\r\n",
     false, 1, {200}, {31}, {true}, false, MORE},
    {"chunked wins over length",
     "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
     false, 1, {200}, {3}, {true}, false, MORE},
    {"100 Continue then 200",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\necho", false, 1,
     {200}, {4}, {true}, false, MORE},
    {"HTTP/1.0 without length ends at the close", "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil the end",
     false, 0, {0}, {0}, {false}, false, DONE},
    {"HTTP/1.0 keep-alive",
     "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", false, 1, {200},
     {1}, {true}, false, MORE},
    {"Connection: close", "HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
     false, 1, {503}, {0}, {false}, false, MORE},
    {"HEAD: no body whatever the length", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", true, 1,
     {200}, {0}, {true}, false, MORE},
    {"204 and 304 have no body",
     "HTTP/1.1 204 No\r\n\r\nHTTP/1.1 304 NM\r\nContent-Length: 7\r\n\r\n", false, 2, {204, 304},
     {0, 0}, {true, true}, false, MORE},
    {"body cut short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", false, 0, {0}, {0},
     {false}, false, ERR},
    {"head cut short", "HTTP/1.1 200 OK\r\nContent-Le", false, 0, {0}, {0}, {false}, false, ERR},
    {"garbage status line", "HTTX/1.1 200 OK\r\n\r\n", false, 0, {0}, {0}, {false}, true, ERR},
    {"status not three digits", "HTTP/1.1 20 OK\r\n\r\n", false, 0, {0}, {0}, {false}, true, ERR},
    {"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", false, 0, {0}, {0}, {false}, true, ERR},
    {"lengths that disagree",
     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", false, 0, {0}, {0},
     {false}, true, ERR},
    {"length not a number", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nx", false, 0, {0}, {0},
     {false}, true, ERR},
    {"chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, 0,
     {0}, {0}, {false}, true, ERR},
    {"chunk size of 16 hex digits",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nd333333333333333;x\r\n", false, 0,
     {0}, {0}, {false}, true, ERR},
    {"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", false,
     0, {0}, {0}, {false}, true, ERR},
    {"101 is refused", "HTTP/1.1 101 Switching\r\n\r\n", false, 0, {0}, {0}, {false}, true, ERR},
    {"folded header", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", false, 0, {0}, {0}, {false}, true,
     ERR},
    {"NUL in the head", "HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n", false, 0, {0},
     {0}, {false}, true, ERR},
    {"nothing at all", "", false, 0, {0}, {0}, {false}, false, MORE},
};

/* The NUL case needs its real length; every other case is a C string. */
static size_t case_len(const struct want *w)
{
    if (strcmp(w->name, "NUL in the head") == 0)
        return sizeof "HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n" - 1;
    return strlen(w->bytes);
}

struct guard {
    char *base;
    size_t size;
};

static char *guard_buffer(struct guard *g)
{
    long page = sysconf(_SC_PAGESIZE);
    cr_assert_gt(page, 0);
    g->size = ((size_t)FRAMEDRIVE_BUF + (size_t)page - 1) / (size_t)page * (size_t)page;
    void *m = mmap(NULL, g->size + (size_t)page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(m, MAP_FAILED, "mmap: %s", strerror(errno));
    g->base = m;
    cr_assert_eq(mprotect(g->base + g->size, (size_t)page, PROT_NONE), 0);
    return g->base + g->size - FRAMEDRIVE_BUF;
}

static void guard_free(struct guard *g)
{
    munmap(g->base, g->size + (size_t)sysconf(_SC_PAGESIZE));
}

static size_t all_at_once(size_t i, void *arg)
{
    (void)i, (void)arg;
    return SIZE_MAX;
}

static size_t one_byte(size_t i, void *arg)
{
    (void)i, (void)arg;
    return 1;
}

/* First piece *arg bytes, then the rest. */
static size_t split_at(size_t i, void *arg)
{
    return i == 0 ? *(size_t *)arg : SIZE_MAX;
}

static void check(const struct want *w, const struct framed *got, const char *how)
{
    cr_assert_eq(got->error, w->error, "%s, %s: error %d", w->name, how, got->error);
    cr_assert_eq(got->responses, w->responses, "%s, %s: %d responses", w->name, how,
                 got->responses);
    for (int i = 0; i < w->responses; i++) {
        cr_assert_eq(got->status[i], w->status[i], "%s, %s: status %d", w->name, how,
                     got->status[i]);
        cr_assert_eq(got->body[i], w->body[i], "%s, %s: body %lld", w->name, how,
                     (long long)got->body[i]);
        cr_assert_eq(got->keepalive[i], w->keepalive[i], "%s, %s: keepalive", w->name, how);
    }
    cr_assert_eq(got->at_eof, w->at_eof, "%s, %s: eof %d", w->name, how, got->at_eof);
}

Test(respframe, every_case_whole_bytewise_and_at_every_split)
{
    struct guard g;
    char *buf = guard_buffer(&g);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct want *w = &cases[c];
        size_t len = case_len(w);
        struct framed got;
        framedrive(w->bytes, len, w->head, all_at_once, NULL, buf, &got);
        check(w, &got, "whole");
        framedrive(w->bytes, len, w->head, one_byte, NULL, buf, &got);
        check(w, &got, "byte by byte");
        for (size_t cut = 1; cut < len; cut++) {
            framedrive(w->bytes, len, w->head, split_at, &cut, buf, &got);
            char how[32];
            snprintf(how, sizeof how, "cut at %zu", cut);
            check(w, &got, how);
        }
    }
    guard_free(&g);
}

Test(respframe, a_head_longer_than_the_buffer_is_malformed)
{
    static char big[2 * FRAMEDRIVE_BUF];
    int n = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nX: ");
    memset(big + n, 'a', sizeof big - (size_t)n - 1);
    struct guard g;
    char *buf = guard_buffer(&g);
    struct framed got;
    framedrive(big, strlen(big), false, all_at_once, NULL, buf, &got);
    cr_assert(got.error, "an unbounded head must not be waited for forever");
    guard_free(&g);
}

Test(respframe, a_large_body_passes_through_a_small_buffer)
{
    static char stream[64 + 100000];
    int n = snprintf(stream, sizeof stream, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    memset(stream + n, 'b', 100000);
    struct guard g;
    char *buf = guard_buffer(&g);
    struct framed got;
    framedrive(stream, (size_t)n + 100000, false, all_at_once, NULL, buf, &got);
    cr_assert_eq(got.responses, 1);
    cr_assert_eq(got.body[0], 100000);
    guard_free(&g);
}
