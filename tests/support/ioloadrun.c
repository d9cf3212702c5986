/* ioloadrun: see ioloadrun.h. */
#include "ioloadrun.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testsupport.h"

extern char **environ;

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int ioload_wait(pid_t pid, int timeout_ms)
{
    for (int waited = 0;; waited += 10) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (waited >= timeout_ms) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        nap_ms(10);
    }
}

json_t *ioload_result(const char *dir, const char *name, const char *const *args, int timeout_ms,
                      int *status)
{
    return ioload_result_under(NULL, dir, name, args, timeout_ms, status);
}

json_t *ioload_result_under(const char *const *prefix, const char *dir, const char *name,
                            const char *const *args, int timeout_ms, int *status)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    const char *argv[80];
    int n = 0;
    for (int i = 0; prefix != NULL && prefix[i] != NULL && n < 8; i++)
        argv[n++] = prefix[i];
    argv[n++] = ioload_path();
    for (int i = 0; args[i] != NULL && n < 76; i++)
        argv[n++] = args[i];
    argv[n++] = "--quiet";
    argv[n++] = "--json";
    argv[n++] = path;
    argv[n] = NULL;
    pid_t pid;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, (char *const *)argv, environ) != 0) {
        *status = -1;
        return NULL;
    }
    *status = ioload_wait(pid, timeout_ms);
    return *status == 0 ? json_load_file(path, 0, NULL) : NULL;
}

const json_t *jpath(const json_t *root, const char *dotted)
{
    const json_t *v = root;
    char key[64];
    while (v != NULL && *dotted) {
        size_t n = strcspn(dotted, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, dotted);
        v = json_object_get(v, key);
        dotted += n + (dotted[n] == '.');
    }
    return v;
}

double jnum(const json_t *root, const char *dotted)
{
    const json_t *v = jpath(root, dotted);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Reads one request head (up to the blank line); false on close or stop. */
static bool read_head(struct canned *c, int fd)
{
    char buf[4096];
    size_t have = 0;
    while (!c->stop) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t r = read(fd, buf + have, sizeof buf - have - 1);
        if (r <= 0)
            return false;
        have += (size_t)r;
        buf[have] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            return true;
        if (have == sizeof buf - 1)
            return false;
    }
    return false;
}

static void write_response(struct canned *c, int fd)
{
    if (!c->bytewise) {
        send_all(fd, c->response, c->len);
        return;
    }
    for (size_t i = 0; i < c->len && !c->stop; i++) {
        if (send_all(fd, c->response + i, 1) != 0)
            return;
        nap_ms(1);
    }
}

static void serve_conn(struct canned *c, int fd)
{
    while (!c->stop && read_head(c, fd)) {
        if (c->silent)
            continue;
        write_response(c, fd);
        if (c->close_after)
            break;
    }
    close(fd);
}

static void *canned_main(void *arg)
{
    struct canned *c = arg;
    while (!c->stop) {
        struct pollfd p = {c->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(c->listen_fd, NULL, NULL);
        if (fd >= 0)
            serve_conn(c, fd);
    }
    return NULL;
}

int canned_start(struct canned *c)
{
    c->stop = false;
    c->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(c->listen_fd, 64) != 0 ||
        getsockname(c->listen_fd, (struct sockaddr *)&a, &alen) != 0) {
        if (c->listen_fd >= 0)
            close(c->listen_fd);
        return -1;
    }
    c->port = ntohs(a.sin_port);
    if (pthread_create(&c->tid, NULL, canned_main, c) != 0) {
        close(c->listen_fd);
        return -1;
    }
    return 0;
}

void canned_stop(struct canned *c)
{
    c->stop = true;
    pthread_join(c->tid, NULL);
    close(c->listen_fd);
}
