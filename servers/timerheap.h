/* timerheap: connection deadlines in a binary min-heap.
 *
 * Intrusive and indexed: each connection embeds one node, so a deadline is
 * set, moved or removed in O(log n) without allocating, and the heap never
 * holds stale entries. Used by the models whose wait (sigtimedwait) takes a
 * single timeout and that must not scan every connection to find it. */
#ifndef IOBENCH_TIMERHEAP_H
#define IOBENCH_TIMERHEAP_H

#include <stdint.h>

struct theap_node {
    int64_t when;
    int index; /* position in the heap, -1 when not in it */
};

struct theap {
    struct theap_node **v;
    int n, cap;
};

void theap_node_init(struct theap_node *node);
/* Inserts node, or moves it to when; when == INT64_MAX removes it.
 * Returns 0, or -1 on ENOMEM. */
int theap_set(struct theap *h, struct theap_node *node, int64_t when);
void theap_remove(struct theap *h, struct theap_node *node);
/* The earliest node, or NULL when empty. */
struct theap_node *theap_top(const struct theap *h);
void theap_free(struct theap *h);

#endif
