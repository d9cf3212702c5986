/* libFuzzer target for http_parser.
 *
 * Each input is parsed whole under several bounds, and as prefixes placed in
 * their own exact-size allocations (so ASan sees any read past len). It traps
 * when an invariant of the contract breaks:
 *  - a result is > 0, HTTP_PARSE_INCOMPLETE, or -400/-431/-501/-505;
 *  - a head is no longer than len nor max_head, and every pointer lies in it;
 *  - a prefix that is not incomplete gives the same result as the whole
 *    (more bytes never change a verdict);
 *  - a re-run with last_len = an incomplete prefix's length equals a fresh
 *    parse with last_len 0, field by field. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

static bool in_range(const char *p, size_t n, const char *buf, size_t head)
{
    return p >= buf && n <= head && (size_t)(p - buf) <= head - n;
}

static void check_result(const char *buf, size_t len, size_t max_head, int r,
                         const struct http_request *req)
{
    if (r <= 0) {
        CHECK(r == HTTP_PARSE_INCOMPLETE || r == -400 || r == -431 || r == -501 || r == -505);
        return;
    }
    size_t head = (size_t)r;
    CHECK(head <= len && head <= max_head && buf[head - 1] == '\n');
    CHECK(req->method_len > 0 && in_range(req->method, req->method_len, buf, head));
    CHECK(req->target_len > 0 && in_range(req->target, req->target_len, buf, head));
    CHECK(req->minor_version == 0 || req->minor_version == 1);
    CHECK(req->num_headers <= HTTP_MAX_HEADERS);
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        CHECK(h->name_len > 0 && in_range(h->name, h->name_len, buf, head));
        CHECK(in_range(h->value, h->value_len, buf, head));
    }
    CHECK(req->content_length >= -1);
    const struct http_header *cl = http_find_header(req, "content-length");
    CHECK((cl == NULL) == (req->content_length == -1));
}

/* a and b parsed the same bytes at the same address. */
static void check_same(int ra, const struct http_request *a, int rb, const struct http_request *b)
{
    CHECK(ra == rb);
    if (ra <= 0)
        return;
    CHECK(a->method == b->method && a->method_len == b->method_len);
    CHECK(a->target == b->target && a->target_len == b->target_len);
    CHECK(a->minor_version == b->minor_version && a->num_headers == b->num_headers);
    for (size_t i = 0; i < a->num_headers; i++) {
        CHECK(a->headers[i].name == b->headers[i].name);
        CHECK(a->headers[i].name_len == b->headers[i].name_len);
        CHECK(a->headers[i].value == b->headers[i].value);
        CHECK(a->headers[i].value_len == b->headers[i].value_len);
    }
    CHECK(a->content_length == b->content_length && a->keep_alive == b->keep_alive);
}

/* Parses data[0, k) from its own allocation; returns the result. */
static int parse_prefix(const uint8_t *data, size_t k, size_t max_head, struct http_request *req)
{
    char *copy = malloc(k ? k : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, k);
    int r = http_parse_request(copy, k, 0, max_head, req);
    check_result(copy, k, max_head, r, req);
    free(copy);
    return r;
}

static void fuzz_one_bound(const uint8_t *data, size_t size, const char *buf, size_t max_head)
{
    static struct http_request whole, other;

    int r = http_parse_request(buf, size, 0, max_head, &whole);
    check_result(buf, size, max_head, r, &whole);

    /* Prefix lengths: a few fixed points and some the input itself picks. */
    size_t cuts[6] = {size / 2, size > 0 ? size - 1 : 0, size > 3 ? size - 3 : 0, 0, 0, 0};
    for (size_t i = 0; i < 3 && i < size; i++)
        cuts[3 + i] = size > 0 ? (size_t)data[i] * 7919u % size : 0;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t k = cuts[i];
        int rk = parse_prefix(data, k, max_head, &other);
        if (rk != HTTP_PARSE_INCOMPLETE) {
            CHECK(rk == r);
            continue;
        }
        int rr = http_parse_request(buf, size, k, max_head, &other);
        check_result(buf, size, max_head, rr, &other);
        check_same(r, &whole, rr, &other);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: libFuzzer's own buffer may have slack after it. */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        abort();
    memcpy(buf, data, size);

    size_t bounds[] = {8192, size, size > 0 ? size - 1 : 0, size / 2 + 1, 64, SIZE_MAX};
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
        fuzz_one_bound(data, size, buf, bounds[i]);
    free(buf);
    return 0;
}
