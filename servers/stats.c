/* stats: exact counters shared by every thread and process of one server. */
#include "stats.h"

#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define STATUS_MIN 100
#define STATUS_MAX 599
#define MAX_CHILDREN 4096 /* supervised children (prefork, loops) */

struct shared_stats {
    atomic_llong accepted;
    atomic_llong active;
    atomic_llong rejected;
    atomic_llong requests;
    atomic_llong rescans;
    atomic_llong by_status[STATUS_MAX - STATUS_MIN + 1];
    /* Connections each supervised child holds open: a child that dies
     * without closing them (SIGKILL) has them taken off "active". */
    atomic_llong child_active[MAX_CHILDREN];
};

static struct shared_stats *st;
static pid_t server_pid; /* the fork model's children report their parent */
static int child_slot = -1; /* this process's slot, in a supervised child */

int stats_init(void)
{
    /* Anonymous MAP_SHARED memory survives fork() as the same physical
     * pages, which is what lets the fork model's children count into the
     * parent's totals. Lock-free atomics on it are process-shared. */
    void *p = mmap(NULL, sizeof *st, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    st = p;
    server_pid = getpid();
    return 0;
}

void stats_conn_opened(void)
{
    atomic_fetch_add_explicit(&st->accepted, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->active, 1, memory_order_relaxed);
    if (child_slot >= 0)
        atomic_fetch_add_explicit(&st->child_active[child_slot], 1, memory_order_relaxed);
}

void stats_conn_closed(void)
{
    atomic_fetch_sub_explicit(&st->active, 1, memory_order_relaxed);
    if (child_slot >= 0)
        atomic_fetch_sub_explicit(&st->child_active[child_slot], 1, memory_order_relaxed);
}

long stats_active(void)
{
    return st != NULL ? (long)atomic_load_explicit(&st->active, memory_order_relaxed) : 0;
}

void stats_child_begin(int slot)
{
    if (slot < 0 || slot >= MAX_CHILDREN)
        return; /* counted in the totals only; a death then leaves "active" high */
    child_slot = slot;
    atomic_store_explicit(&st->child_active[slot], 0, memory_order_relaxed);
}

void stats_child_died(int slot)
{
    if (slot < 0 || slot >= MAX_CHILDREN)
        return;
    long long open = atomic_exchange_explicit(&st->child_active[slot], 0, memory_order_relaxed);
    atomic_fetch_sub_explicit(&st->active, open, memory_order_relaxed);
}

void stats_conn_rejected(void)
{
    atomic_fetch_add_explicit(&st->accepted, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->rejected, 1, memory_order_relaxed);
}

void stats_response(int status)
{
    atomic_fetch_add_explicit(&st->requests, 1, memory_order_relaxed);
    if (status >= STATUS_MIN && status <= STATUS_MAX)
        atomic_fetch_add_explicit(&st->by_status[status - STATUS_MIN], 1, memory_order_relaxed);
}

void stats_rescan(void)
{
    atomic_fetch_add_explicit(&st->rescans, 1, memory_order_relaxed);
}

static long long load(atomic_llong *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

char *stats_render(const char *model)
{
    json_t *responses = json_object();
    json_t *errors = json_object();
    for (int s = STATUS_MIN; s <= STATUS_MAX; s++) {
        long long n = load(&st->by_status[s - STATUS_MIN]);
        if (n == 0)
            continue;
        char key[8];
        snprintf(key, sizeof key, "%d", s);
        json_object_set_new(responses, key, json_integer(n));
        if (s >= 400)
            json_object_set_new(errors, key, json_integer(n));
    }
    json_t *root = json_pack(
        "{s:s, s:I, s:s, s:{s:I, s:I, s:I}, s:I, s:o, s:o, s:I}", "model", model, "pid",
        (json_int_t)server_pid, "version", IOBENCH_VERSION, "connections", "accepted",
        (json_int_t)load(&st->accepted), "active", (json_int_t)load(&st->active), "rejected",
        (json_int_t)load(&st->rejected), "requests", (json_int_t)load(&st->requests), "responses",
        responses, "errors", errors, "rescans", (json_int_t)load(&st->rescans));
    if (!root) {
        errno = ENOMEM;
        return NULL;
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}
