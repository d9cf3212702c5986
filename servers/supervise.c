/* supervise: start N children, restart the ones that die, reap them all.
 *
 * The parent sleeps in sigsuspend() with SIGCHLD and the stop signals
 * blocked everywhere else, so a child's death or a stop request can never
 * slip in between looking at the state and going to sleep (the race a
 * plain pause() has). Every waitpid is WNOHANG in a loop: one SIGCHLD may
 * stand for several children. */
#include "supervise.h"

#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats.h"

/* A child that dies this soon after its start counts towards a crash loop;
 * this many in a row and the server gives up rather than fork forever. */
#define QUICK_DEATH_US 1000000
#define MAX_QUICK_DEATHS 10

struct supervisor {
    int n;
    pid_t *pids; /* 0: not running */
    int64_t *started;
    int (*run)(int, void *);
    void *arg;
    pid_t parent;
    int quick_deaths;
};

static void on_sigchld(int signo)
{
    (void)signo; /* only there so that sigsuspend returns */
}

void supervise_child_setup(pid_t parent)
{
    /* If the parent is killed outright, its children must not live on. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(1);
    struct sigaction sa = {.sa_handler = SIG_DFL};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void child_start(struct supervisor *s, int i)
{
    supervise_child_setup(s->parent);
    stats_child_begin(i);
    /* _exit: the parent's stdio buffers are not the child's to flush. */
    _exit(s->run(i, s->arg) == 0 ? 0 : 1);
}

static int start(struct supervisor *s, int i)
{
    pid_t pid = fork();
    if (pid == 0)
        child_start(s, i);
    if (pid < 0) {
        perror("ioserve: fork");
        return -1;
    }
    s->pids[i] = pid;
    s->started[i] = server_now_us();
    return 0;
}

/* Reaps every child that has ended; returns how many. */
static int reap(struct supervisor *s, int *quick)
{
    int n = 0;
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
        for (int i = 0; i < s->n; i++) {
            if (s->pids[i] != pid)
                continue;
            s->pids[i] = 0;
            stats_child_died(i);
            *quick += server_now_us() - s->started[i] < QUICK_DEATH_US;
            n++;
        }
    }
    return n;
}

/* Replaces the children that died; -1 when they keep dying at start. */
static int restart_dead(struct supervisor *s)
{
    int quick = 0;
    if (reap(s, &quick) == 0)
        return 0;
    s->quick_deaths = quick ? s->quick_deaths + quick : 0;
    if (s->quick_deaths >= MAX_QUICK_DEATHS) {
        fprintf(stderr, "ioserve: children keep dying as they start; giving up\n");
        return -1;
    }
    for (int i = 0; i < s->n; i++)
        if (s->pids[i] == 0 && start(s, i) < 0)
            return -1;
    return 0;
}

static int alive(const struct supervisor *s)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += s->pids[i] != 0;
    return n;
}

/* SIGTERM to every child, a bounded wait, then SIGKILL to the rest. */
static void stop_all(struct supervisor *s, const struct server_config *cfg)
{
    for (int i = 0; i < s->n; i++)
        if (s->pids[i])
            kill(s->pids[i], SIGTERM);
    int64_t deadline = server_now_us() + (int64_t)cfg->drain_timeout_ms * 1000 + 1000000;
    int quick = 0;
    reap(s, &quick);
    while (alive(s) > 0 && server_now_us() < deadline) {
        static const struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        (void)sigtimedwait(&chld, NULL, &ts); /* SIGCHLD is blocked here */
        reap(s, &quick);
    }
    for (int i = 0; i < s->n; i++) {
        if (s->pids[i]) {
            kill(s->pids[i], SIGKILL);
            while (waitpid(s->pids[i], NULL, 0) < 0 && errno == EINTR)
                ;
            s->pids[i] = 0;
            stats_child_died(i);
        }
    }
}

int supervise_children(int n, int (*run)(int index, void *arg), void *arg,
                       const struct server_config *cfg)
{
    struct supervisor s = {.n = n, .run = run, .arg = arg, .parent = getpid()};
    s.pids = calloc((size_t)n, sizeof *s.pids);
    s.started = calloc((size_t)n, sizeof *s.started);
    struct sigaction sa = {.sa_handler = on_sigchld, .sa_flags = SA_NOCLDSTOP};
    sigemptyset(&sa.sa_mask);
    sigset_t watched, wake;
    server_stop_sigset(&watched);
    sigaddset(&watched, SIGCHLD);
    int rc = -1;
    if (!s.pids || !s.started || sigaction(SIGCHLD, &sa, NULL) < 0 ||
        sigprocmask(SIG_BLOCK, &watched, &wake) < 0)
        goto out;
    sigdelset(&wake, SIGCHLD);
    sigdelset(&wake, SIGTERM);
    sigdelset(&wake, SIGINT);
    sigdelset(&wake, SIGUSR1);
    rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = start(&s, i);
    while (rc == 0 && !server_stopping()) {
        sigsuspend(&wake); /* returns after a handler ran: SIGCHLD or a stop */
        rc = restart_dead(&s);
    }
    stop_all(&s, cfg);
    sigprocmask(SIG_UNBLOCK, &watched, NULL);
out:
    free(s.pids);
    free(s.started);
    return rc;
}
