/* stats: server counters that stay exact across threads and processes.
 *
 * The counters live in one anonymous MAP_SHARED mapping created before any
 * fork, and are updated with C11 atomics, so the fork model's children and
 * the thread models' threads add into the same totals (shared memory is the
 * only state the fork model's processes share). */
#ifndef IOBENCH_STATS_H
#define IOBENCH_STATS_H

#include <stdint.h>

/* Maps the shared counters. Call once, before any fork or thread. */
int stats_init(void);
void stats_conn_opened(void);
void stats_conn_closed(void);
/* A connection accepted and answered 503 at once (no slot for it). */
void stats_conn_rejected(void);
/* Connections open now, across every process and thread. */
long stats_active(void);
/* One response started, with its status. */
void stats_response(int status);
/* Supervised children (supervise.h): a child calls stats_child_begin with
 * its slot as it starts, and the parent stats_child_died once it has reaped
 * it, which takes the connections it left open off "active". */
void stats_child_begin(int slot);
void stats_child_died(int slot);
/* An event model lost readiness events (sigio: the realtime signal queue
 * overflowed) and went over every connection instead. */
void stats_rescan(void);
/* /stats body: malloc'd JSON text (jansson), or NULL on ENOMEM. */
char *stats_render(const char *model);

#endif
