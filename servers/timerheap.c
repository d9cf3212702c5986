/* timerheap: an indexed binary min-heap of deadlines. */
#include "timerheap.h"

#include <stdlib.h>

void theap_node_init(struct theap_node *node)
{
    node->when = INT64_MAX;
    node->index = -1;
}

static void place(struct theap *h, int i, struct theap_node *node)
{
    h->v[i] = node;
    node->index = i;
}

static void sift_up(struct theap *h, int i)
{
    struct theap_node *node = h->v[i];
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (h->v[parent]->when <= node->when)
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, node);
}

static void sift_down(struct theap *h, int i)
{
    struct theap_node *node = h->v[i];
    for (;;) {
        int child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && h->v[child + 1]->when < h->v[child]->when)
            child++;
        if (node->when <= h->v[child]->when)
            break;
        place(h, i, h->v[child]);
        i = child;
    }
    place(h, i, node);
}

void theap_remove(struct theap *h, struct theap_node *node)
{
    int i = node->index;
    if (i < 0)
        return;
    node->index = -1;
    struct theap_node *last = h->v[--h->n];
    if (i == h->n)
        return;
    place(h, i, last);
    sift_up(h, i);
    sift_down(h, last->index);
}

int theap_set(struct theap *h, struct theap_node *node, int64_t when)
{
    if (when == INT64_MAX) {
        theap_remove(h, node);
        node->when = when;
        return 0;
    }
    if (node->index >= 0) {
        int64_t old = node->when;
        node->when = when;
        if (when < old)
            sift_up(h, node->index);
        else if (when > old)
            sift_down(h, node->index);
        return 0;
    }
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 64;
        struct theap_node **v = realloc(h->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        h->v = v;
        h->cap = cap;
    }
    node->when = when;
    place(h, h->n++, node);
    sift_up(h, node->index);
    return 0;
}

struct theap_node *theap_top(const struct theap *h)
{
    return h->n ? h->v[0] : NULL;
}

void theap_free(struct theap *h)
{
    free(h->v);
    *h = (struct theap){0};
}
