/* lifecycle: stop flag, signals and clock of one server process. */
#include "lifecycle.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "stats.h"

/* Written by the signal handler, read by every thread: lock-free atomics
 * are both async-signal-safe and race-free across threads, which a plain
 * volatile sig_atomic_t is only within one thread. */
static atomic_int stop_flag;
static atomic_int report_flag;
static const char *active_model = "?";

static void on_signal(int signo)
{
    atomic_store_explicit(signo == SIGUSR1 ? &report_flag : &stop_flag, 1, memory_order_relaxed);
}

int lifecycle_init(const char *model)
{
    active_model = model;
    /* SIGPIPE would end the server when a client closes before reading;
     * writes report EPIPE instead. */
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) < 0)
        return -1;
    /* No SA_RESTART: a blocked accept/read/poll must return EINTR so the
     * loop sees the stop request. */
    sa.sa_handler = on_signal;
    sa.sa_flags = 0;
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
        sigaction(SIGUSR1, &sa, NULL) < 0)
        return -1;
    return 0;
}

int server_stopping(void)
{
    /* Called on every turn of every connection's loop: a plain load keeps
     * the flag's cache line shared; only a pending report writes it. */
    if (atomic_load_explicit(&report_flag, memory_order_relaxed) &&
        atomic_exchange_explicit(&report_flag, 0, memory_order_relaxed))
        server_report();
    return atomic_load_explicit(&stop_flag, memory_order_relaxed);
}

void server_request_stop(void)
{
    atomic_store_explicit(&stop_flag, 1, memory_order_relaxed);
}

void server_stop_sigset(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGUSR1);
}

void server_take_signal(int signo)
{
    if (signo == SIGUSR1)
        server_report();
    else
        server_request_stop();
}

void server_report(void)
{
    char *s = stats_render(active_model);
    if (s) {
        fprintf(stderr, "ioserve: %s\n", s);
        free(s);
    }
}

int64_t server_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int server_timeout_ms(int64_t deadline, int64_t now)
{
    if (deadline == INT64_MAX)
        return -1;
    int64_t left = deadline - now;
    if (left <= 0)
        return 0;
    return left > 60000000 ? 60000 : (int)((left + 999) / 1000);
}
