/* bench_wake: what this machine's timers and scheduler allow, measured with
 * no server and no load generator, so that a benchmark can hold its latency
 * figures against them (scripts/bench-ioload.sh prints them).
 *
 *   bench_wake timer MS N   N sleeps of MS ms (epoll_pwait2, timer slack
 *                           1 ns, as the servers wait): how late each wakes,
 *                           and how many woke over 1 ms late.
 *   bench_wake wake MS N    a process blocked in read() for MS ms is woken
 *                           by a write from another process: how long from
 *                           the write to its return. The cost a client pays
 *                           when a response comes after it sat idle. Pin the
 *                           two with CPU_WRITER/CPU_READER (default 0 and 1).
 *   bench_wake spin S       spins S seconds reading the clock: gaps of 1 ms
 *                           or more with no context switch of our own are
 *                           the host taking the CPU away (a virtual
 *                           machine's steal), which no scheduler in the
 *                           guest, sleeping or spinning, can send through.
 *
 * Each prints one line of `key=value` figures in microseconds. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 100000

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_us(int64_t *v, int n, double p)
{
    int i = (int)(p * (n - 1) + 0.5);
    return (double)v[i] / 1e3;
}

static void print_lags(const char *what, int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    int over_1ms = 0;
    while (over_1ms < n && v[n - 1 - over_1ms] > 1000000)
        over_1ms++;
    printf("%s n=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f over_1ms=%d\n", what, n,
           pct_us(v, n, 0.5), pct_us(v, n, 0.9), pct_us(v, n, 0.99), (double)v[n - 1] / 1e3,
           over_1ms);
}

static int pin(const char *env, int dflt)
{
    const char *s = getenv(env);
    int cpu = s != NULL ? atoi(s) : dflt;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    /* One CPU: both on it, which is still a measurement. */
    if (sched_setaffinity(0, sizeof set, &set) < 0 && errno != EINVAL)
        return -1;
    return 0;
}

static int timer_lags(long ms, int n, int64_t *lag)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return -1;
    struct epoll_event ev;
    for (int i = 0; i < n; i++) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        int64_t due = now_ns() + ms * 1000000LL;
        if (epoll_pwait2(ep, &ev, 1, &ts, NULL) < 0 && errno != EINTR) {
            close(ep);
            return -1;
        }
        lag[i] = now_ns() - due;
    }
    close(ep);
    return 0;
}

/* The reader: blocks in read() for each timestamp, returns how late it
 * woke through its own pipe back. */
static void reader(int in, int out, int n)
{
    if (pin("CPU_READER", 1) < 0)
        _exit(1);
    for (int i = 0; i < n; i++) {
        int64_t sent, lag;
        if (read(in, &sent, sizeof sent) != (ssize_t)sizeof sent)
            _exit(1);
        lag = now_ns() - sent;
        if (write(out, &lag, sizeof lag) != (ssize_t)sizeof lag)
            _exit(1);
    }
    _exit(0);
}

static int wake_lags(long ms, int n, int64_t *lag)
{
    int to[2], back[2];
    if (pipe(to) < 0 || pipe(back) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(to[1]);
        close(back[0]);
        reader(to[0], back[1], n);
    }
    /* Only the reader holds its ends, so a reader that quit early is seen
     * (EPIPE, or end of file) rather than waited for forever. */
    close(to[0]);
    close(back[1]);
    signal(SIGPIPE, SIG_IGN);
    int rc = pin("CPU_WRITER", 0);
    for (int i = 0; i < n && rc == 0; i++) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        int64_t t = now_ns();
        if (write(to[1], &t, sizeof t) != (ssize_t)sizeof t ||
            read(back[0], &lag[i], sizeof lag[i]) != (ssize_t)sizeof lag[i])
            rc = -1;
    }
    close(to[1]);
    close(back[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return rc == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static long own_switches(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_nvcsw + ru.ru_nivcsw;
}

static int spin(double seconds)
{
    int64_t end = now_ns() + (int64_t)(seconds * 1e9), prev = now_ns(), longest = 0;
    long over_1ms = 0, over_100us = 0, guest = 0, sw = own_switches();
    while (prev < end) {
        int64_t t = now_ns(), gap = t - prev;
        if (gap >= 100000) {
            long s = own_switches();
            if (s != sw) { /* the guest's own scheduler: not the host's */
                guest++;
                sw = s;
            } else {
                over_100us++;
                over_1ms += gap >= 1000000;
                longest = gap > longest ? gap : longest;
            }
        }
        prev = now_ns();
    }
    printf("spin seconds=%.1f host_stalls_over_1ms=%ld host_stalls_over_100us=%ld "
           "longest_us=%.0f guest_switches=%ld\n",
           seconds, over_1ms, over_100us, (double)longest / 1e3, guest);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_wake timer MS N | wake MS N | spin SECONDS\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "spin") == 0)
        return spin(atof(argv[2]));
    if (argc != 4)
        return usage();
    long ms = atol(argv[2]);
    int n = atoi(argv[3]);
    if (ms < 0 || n < 1 || n > MAX_SAMPLES)
        return usage();
    int64_t *lag = malloc((size_t)n * sizeof *lag);
    if (lag == NULL)
        return 1;
    /* As the servers and ioload do: no timer slack on top of the host's. */
    prctl(PR_SET_TIMERSLACK, 1UL);
    int rc;
    if (strcmp(argv[1], "timer") == 0) {
        rc = timer_lags(ms, n, lag);
    } else if (strcmp(argv[1], "wake") == 0) {
        rc = wake_lags(ms, n, lag);
    } else {
        free(lag);
        return usage();
    }
    if (rc == 0)
        print_lags(argv[1], lag, n);
    else
        perror("bench_wake");
    free(lag);
    return rc == 0 ? 0 : 1;
}
