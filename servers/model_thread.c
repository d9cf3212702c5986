/* thread: a detached thread per connection.
 *
 * The course notes' concurrent server with threads. Each thread is created
 * detached, so nobody has to join it and its resources go back to the system
 * when it returns; its stack is small (--thread-stack) so a thousand
 * connections cost a thousand small stacks, not a thousand 8 MiB ones.
 * The state threads share is synchronised: the counters are atomics
 * (stats.c), and the table of open connections below is guarded by a mutex.
 * Only the main thread takes SIGTERM/SIGINT (the workers block them), so it
 * is the main thread's accept() that returns EINTR. At shutdown it shuts
 * down the read side of every open connection, which wakes each worker
 * blocked in a read, lets it finish its response and return. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "net.h"

/* The model's name, written once: --model, /stats and 503s use it. */
#define NAME "thread"

static struct {
    pthread_mutex_t lock;
    pthread_cond_t idle; /* signalled when a worker leaves */
    int *fds;            /* open connections, -1 for a free slot */
    int cap;
    int count;
} table = {.lock = PTHREAD_MUTEX_INITIALIZER, .idle = PTHREAD_COND_INITIALIZER};

static const struct server_config *config;
static long thread_stack = 64 * 1024; /* --thread-stack */

struct job {
    int fd;
    int slot;
};

static int table_add(int fd)
{
    int slot = -1;
    pthread_mutex_lock(&table.lock);
    for (int i = 0; i < table.cap && slot < 0; i++)
        if (table.fds[i] < 0)
            slot = i;
    if (slot >= 0) {
        table.fds[slot] = fd;
        table.count++;
    }
    pthread_mutex_unlock(&table.lock);
    return slot;
}

static void table_remove(int slot)
{
    pthread_mutex_lock(&table.lock);
    table.fds[slot] = -1;
    table.count--;
    pthread_cond_signal(&table.idle);
    pthread_mutex_unlock(&table.lock);
}

static void *worker(void *arg)
{
    struct job job = *(struct job *)arg;
    free(arg);
    conn_serve_blocking(job.fd, config, NAME);
    /* Leave the table before close(): once closed, the descriptor number
     * can be reused, and shutdown() at exit must not hit someone else's. */
    table_remove(job.slot);
    close(job.fd);
    return NULL;
}

static void drain(const struct server_config *cfg)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += cfg->drain_timeout_ms / 1000;
    deadline.tv_nsec += (cfg->drain_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&table.lock);
    for (int i = 0; i < table.cap; i++)
        if (table.fds[i] >= 0)
            shutdown(table.fds[i], SHUT_RD);
    while (table.count > 0)
        if (pthread_cond_timedwait(&table.idle, &table.lock, &deadline) == ETIMEDOUT)
            break; /* returning ends the process, and its stragglers with it */
    pthread_mutex_unlock(&table.lock);
}

static int thread_serve(int lfd, const struct server_config *cfg)
{
    config = cfg;
    table.cap = cfg->max_conns;
    table.fds = malloc((size_t)table.cap * sizeof *table.fds);
    if (!table.fds || net_set_nonblock(lfd, false) < 0)
        return -1;
    for (int i = 0; i < table.cap; i++)
        table.fds[i] = -1;

    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0 ||
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0 ||
        pthread_attr_setstacksize(&attr, (size_t)thread_stack) != 0)
        return -1;
    sigset_t stop, old;
    server_stop_sigset(&stop);

    while (!server_stopping()) {
        int fd = net_accept(lfd, false);
        if (fd < 0)
            continue; /* EINTR: look at the stop flag; EMFILE: shed */
        struct job *job = malloc(sizeof *job);
        int slot = job ? table_add(fd) : -1;
        if (slot < 0) {
            free(job);
            conn_reject(fd, NAME);
            continue;
        }
        *job = (struct job){.fd = fd, .slot = slot};
        /* The new thread inherits this mask: workers never take the stop
         * signals, so they always interrupt the main thread's accept(). */
        pthread_sigmask(SIG_BLOCK, &stop, &old);
        pthread_t tid;
        int rc = pthread_create(&tid, &attr, worker, job);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) {
            table_remove(slot);
            free(job);
            conn_reject(fd, NAME);
        }
    }
    pthread_attr_destroy(&attr);
    drain(cfg);
    return 0;
}

const struct model model_thread = {
    .name = NAME,
    .summary = "a detached thread per connection, small stacks",
    .flags = MODEL_THREADS,
    .options = (const struct model_option[]){{"thread-stack",
                                              "stack of each connection thread (default 65536)",
                                              16384, 64L << 20, &thread_stack, false},
                                             {0}},
    .serve = thread_serve,
};
