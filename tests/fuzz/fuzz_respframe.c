/* libFuzzer target: respframe, the stream engine's response framer.
 *
 * Responses come from servers under test, which may be broken on purpose.
 * Whatever the bytes, framing must not read outside what it is offered,
 * and must frame them the same whether they arrive whole or cut into
 * pieces (sizes taken from the input's first bytes) or one byte at a time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "framedrive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct cuts {
    const uint8_t *sizes;
    size_t n;
};

static size_t whole(size_t i, void *arg)
{
    (void)i, (void)arg;
    return SIZE_MAX;
}

static size_t one(size_t i, void *arg)
{
    (void)i, (void)arg;
    return 1;
}

static size_t cut(size_t i, void *arg)
{
    const struct cuts *c = arg;
    return c->n == 0 ? 7 : 1 + c->sizes[i % c->n] % 64;
}

static bool same(const struct framed *a, const struct framed *b)
{
    int n = a->responses < FRAMEDRIVE_MAX ? a->responses : FRAMEDRIVE_MAX;
    return a->responses == b->responses && a->error == b->error && a->at_eof == b->at_eof &&
           memcmp(a->status, b->status, (size_t)n * sizeof a->status[0]) == 0 &&
           memcmp(a->body, b->body, (size_t)n * sizeof a->body[0]) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    bool head = data[0] & 1;
    struct cuts c = {data + 1, data[0] >> 5};
    if (c.n > size - 1)
        c.n = size - 1;
    const char *body = (const char *)data + 1 + c.n;
    size_t len = size - 1 - c.n;
    /* Heap buffers, so that AddressSanitizer sees any over-read. */
    char *buf = malloc(FRAMEDRIVE_BUF);
    char *copy = malloc(len ? len : 1);
    if (buf == NULL || copy == NULL)
        abort();
    memcpy(copy, body, len);
    struct framed a, b, d;
    framedrive(copy, len, head, whole, NULL, buf, &a);
    framedrive(copy, len, head, one, NULL, buf, &b);
    framedrive(copy, len, head, cut, &c, buf, &d);
    if (!same(&a, &b) || !same(&a, &d))
        __builtin_trap();
    free(buf);
    free(copy);
    return 0;
}
