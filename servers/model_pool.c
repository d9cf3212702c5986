/* pool: a fixed pool of threads fed by a bounded queue.
 *
 * Stevens' prethreaded server (UNP ch. 30) in its "main thread accepts"
 * form: --workers threads are started once; the main thread accepts and
 * puts each connection on a bounded queue (--queue), and a free worker
 * takes it off and serves it with blocking I/O to the end. No thread is
 * created per connection, so a connection costs one hand-off through the
 * queue's mutex and condition variable.
 *
 * Where it hurts: it is bounded twice. --workers connections are served at
 * once; a keep-alive client holds its worker for as long as it stays, so
 * the next --queue clients wait in the queue, however little they ask for.
 * And when the queue is full, the connection is answered 503 and closed at
 * once (the server says so rather than letting it wait unseen in the listen
 * backlog).
 *
 * Shutdown: the workers block the stop signals, so the main thread's
 * accept() is the one interrupted. It marks the pool stopping and shuts
 * down the read side of every connection a worker holds, which wakes a
 * worker blocked in a read; each worker finishes its response, serves
 * (drains) what is still queued, and returns; the main thread joins them
 * all within the drain timeout. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "net.h"

/* The model's name, written once: --model, /stats and 503s use it. */
#define NAME "pool"

static long workers = 32;     /* --workers */
static long queue_cap = 1024; /* --queue */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a connection was queued, or the pool is stopping */
    pthread_cond_t done; /* a worker returned */
    int *fds;            /* ring of queued connections */
    int head, len;
    int *held;       /* the connection each worker serves, -1 for none */
    pthread_t *tids; /* the workers (here, so a straggler's memory stays reachable) */
    int busy;        /* workers serving a connection */
    int running;     /* workers not yet returned */
    bool stopping;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
          .work = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER};

static const struct server_config *config;

/* Queues fd; false when the queue is full, or when --max-conns
 * connections are already queued or being served. */
static bool queue_put(int fd)
{
    pthread_mutex_lock(&pool.lock);
    bool room = pool.len < queue_cap && pool.len + pool.busy < config->max_conns;
    if (room) {
        pool.fds[(pool.head + pool.len++) % queue_cap] = fd;
        pthread_cond_signal(&pool.work);
    }
    pthread_mutex_unlock(&pool.lock);
    return room;
}

/* Takes the next connection for worker w and marks it held; -1 once the
 * pool is stopping and the queue is empty. */
static int queue_take(int w)
{
    pthread_mutex_lock(&pool.lock);
    while (pool.len == 0 && !pool.stopping)
        pthread_cond_wait(&pool.work, &pool.lock);
    int fd = -1;
    if (pool.len > 0) {
        fd = pool.fds[pool.head];
        pool.head = (pool.head + 1) % queue_cap;
        pool.len--;
        pool.held[w] = fd;
        pool.busy++;
        /* Taken after the stop sweep: nothing will wake its read. */
        if (pool.stopping)
            shutdown(fd, SHUT_RD);
    }
    pthread_mutex_unlock(&pool.lock);
    return fd;
}

static void release(int w)
{
    pthread_mutex_lock(&pool.lock);
    pool.held[w] = -1;
    pool.busy--;
    pthread_mutex_unlock(&pool.lock);
}

static void *worker(void *arg)
{
    int w = (int)(intptr_t)arg;
    int fd;
    while ((fd = queue_take(w)) >= 0) {
        conn_serve_blocking(fd, config, NAME);
        /* Released before close(): once closed, the number can be reused,
         * and the stop sweep must not shut down someone else's socket. */
        release(w);
        close(fd);
    }
    pthread_mutex_lock(&pool.lock);
    pool.running--;
    pthread_cond_signal(&pool.done);
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* Starts the workers; returns how many started (all, or it failed). */
static int start_workers(pthread_t *tids)
{
    /* The workers inherit this mask: they never take the stop signals, so
     * those always interrupt the main thread's accept(). */
    sigset_t stop, old;
    server_stop_sigset(&stop);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    int started = 0;
    for (long i = 0; i < workers; i++)
        pool.held[i] = -1;
    pthread_mutex_lock(&pool.lock);
    while (started < workers &&
           pthread_create(&tids[started], NULL, worker, (void *)(intptr_t)started) == 0)
        pool.running = ++started;
    pthread_mutex_unlock(&pool.lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return started;
}

static void accept_loop(int lfd)
{
    while (!server_stopping()) {
        int fd = net_accept(lfd, false);
        if (fd < 0)
            continue; /* EINTR: look at the stop flag; EMFILE: shed */
        if (!queue_put(fd))
            conn_reject(fd, NAME); /* queue full or --max-conns reached: 503 and close */
    }
}

/* Wakes every worker, lets them finish within the drain timeout, and joins
 * them; returns how many were joined. */
static int stop_workers(pthread_t *tids, int started)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    long ms = config->drain_timeout_ms;
    deadline.tv_sec += ms / 1000 + (deadline.tv_nsec + (ms % 1000) * 1000000L) / 1000000000L;
    deadline.tv_nsec = (deadline.tv_nsec + (ms % 1000) * 1000000L) % 1000000000L;
    pthread_mutex_lock(&pool.lock);
    pool.stopping = true;
    pthread_cond_broadcast(&pool.work);
    for (int i = 0; i < started; i++)
        if (pool.held[i] >= 0)
            shutdown(pool.held[i], SHUT_RD);
    bool late = false;
    while (pool.running > 0 && !late)
        late = pthread_cond_timedwait(&pool.done, &pool.lock, &deadline) == ETIMEDOUT;
    pthread_mutex_unlock(&pool.lock);
    if (late) {
        /* Given up on: returning ends the process, and the stragglers with
         * it. Detached, so that none is left unjoined (those that did
         * finish are released now). */
        for (int i = 0; i < started; i++)
            pthread_detach(tids[i]);
        return 0;
    }
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    return started;
}

static int pool_serve(int lfd, const struct server_config *cfg)
{
    config = cfg;
    pool.fds = malloc((size_t)queue_cap * sizeof *pool.fds);
    pool.held = malloc((size_t)workers * sizeof *pool.held);
    pthread_t *tids = pool.tids = malloc((size_t)workers * sizeof *tids);
    if (!pool.fds || !pool.held || !tids || net_set_nonblock(lfd, false) < 0)
        return -1;
    int started = start_workers(tids);
    if (started == workers)
        accept_loop(lfd);
    if (stop_workers(tids, started) == started) {
        /* Every worker returned, so nothing uses these any more (a worker
         * still running when the drain timed out would). */
        free(pool.fds);
        free(pool.held);
        free(tids);
        pool.fds = pool.held = NULL;
        pool.tids = NULL;
    }
    return started == workers ? 0 : -1;
}

const struct model model_pool = {
    .name = NAME,
    .summary = "--workers threads serving connections from a bounded queue; full: 503",
    .flags = MODEL_THREADS | MODEL_BOUNDED,
    .options =
        (const struct model_option[]){
            {"workers", MODEL_WORKERS_HELP, 1, 4096, &workers, false},
            {"queue", "connections waiting for a pool thread (default 1024; full: 503)", 1, 1000000,
             &queue_cap, false},
            {0}},
    .serve = pool_serve,
};
