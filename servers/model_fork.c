/* fork: a process per connection.
 *
 * The course notes' concurrent server with processes. The parent accepts and
 * forks; the child serves the connection and exits. Three details make it
 * correct:
 * - the parent closes its copy of the connected socket at once, or the
 *   connection would stay open after the child is done (and the parent would
 *   run out of descriptors);
 * - SIGCHLD is handled by reaping with a waitpid(-1, ..., WNOHANG) loop:
 *   signals do not queue, so one SIGCHLD may stand for several exited
 *   children, and a plain wait() would leave zombies;
 * - the handler is installed without SA_RESTART, so a blocked accept()
 *   returns EINTR when a child exits, and is simply restarted.
 * Children share nothing with the parent but the counters in a MAP_SHARED
 * mapping (stats.c): processes share state only through IPC. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "net.h"
#include "supervise.h"

/* The model's name, written once: --model, /stats and 503s use it. */
#define NAME "fork"

/* Live children, for SIGTERM at shutdown. Written by the main loop with
 * SIGCHLD blocked and by the handler, which therefore never races it. */
static pid_t *children;
static int max_children;
static volatile sig_atomic_t nchildren;

static void forget_child(pid_t pid)
{
    for (int i = 0; i < max_children; i++) {
        if (children[i] == pid) {
            children[i] = 0;
            nchildren--;
            return;
        }
    }
}

static void on_sigchld(int signo)
{
    int saved = errno; /* waitpid may change errno under the interrupted code */
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
        forget_child(pid);
    errno = saved;
}

static int remember_child(pid_t pid)
{
    for (int i = 0; i < max_children; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            nchildren++;
            return 0;
        }
    }
    return -1;
}

static void child_main(int lfd, int fd, pid_t parent, const struct server_config *cfg)
{
    supervise_child_setup(parent);
    close(lfd);
    conn_serve_blocking(fd, cfg, NAME);
    close(fd);
    _exit(0); /* not exit(): the parent's stdio buffers are not ours to flush */
}

static void stop_children(const struct server_config *cfg, const sigset_t *chld)
{
    sigprocmask(SIG_BLOCK, chld, NULL);
    for (int i = 0; i < max_children; i++)
        if (children[i] > 0)
            kill(children[i], SIGTERM);
    sigprocmask(SIG_UNBLOCK, chld, NULL);
    int64_t deadline = server_now_us() + (int64_t)cfg->drain_timeout_ms * 1000;
    while (nchildren > 0 && server_now_us() < deadline) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000000L};
        nanosleep(&ts, NULL); /* SIGCHLD interrupts it; the handler reaps */
    }
    sigprocmask(SIG_BLOCK, chld, NULL);
    for (int i = 0; i < max_children; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
    nchildren = 0;
    sigprocmask(SIG_UNBLOCK, chld, NULL);
}

static int fork_serve(int lfd, const struct server_config *cfg)
{
    max_children = cfg->max_conns;
    children = calloc((size_t)max_children, sizeof *children);
    if (!children || net_set_nonblock(lfd, false) < 0)
        return -1;
    struct sigaction sa = {.sa_handler = on_sigchld, .sa_flags = SA_NOCLDSTOP};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) < 0)
        return -1;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pid_t self = getpid();

    while (!server_stopping()) {
        int fd = net_accept(lfd, false);
        if (fd < 0)
            continue; /* EINTR (SIGCHLD, SIGTERM): restart; EMFILE: shed */
        if (nchildren >= max_children) {
            conn_reject(fd, NAME);
            continue;
        }
        /* Block SIGCHLD until the child is in the table, or a child that
         * exits at once would be reaped before it is remembered. */
        sigprocmask(SIG_BLOCK, &chld, NULL);
        pid_t pid = fork();
        if (pid == 0)
            child_main(lfd, fd, self, cfg);
        if (pid < 0)
            conn_reject(fd, NAME);
        else {
            remember_child(pid);
            close(fd); /* the child has its own copy */
        }
        sigprocmask(SIG_UNBLOCK, &chld, NULL);
    }
    stop_children(cfg, &chld);
    free(children);
    return 0;
}

const struct model model_fork = {
    .name = NAME,
    .summary = "a process per connection (fork), SIGCHLD reaping",
    .flags = MODEL_PROCESSES,
    .serve = fork_serve,
};
