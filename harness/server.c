/* server: start, watch and stop ioserve (see server.h). */
#include "server.h"

#include "atomicfile.h"
#include "child.h"
#include "procmon.h"
#include "refserver.h"
#include "util.h"
#include "verify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SERVER_START_TIMEOUT_MS 5000 /* up and answering /stats */
#define SERVER_KILL_MS 2000          /* one that never came up */

/* Reads the port ioserve wrote, once it is there. */
static int read_port(const char *port_file)
{
    char buf[32];
    long port;
    if (util_read_file(port_file, buf, sizeof buf) <= 0)
        return 0;
    buf[strcspn(buf, "\r\n")] = '\0';
    return util_parse_long(buf, 1, 65535, &port) == 0 ? (int)port : 0;
}

static bool answers_stats(int port)
{
    json_t *st = verify_get_stats(port, 1000);
    json_decref(st);
    return st != NULL;
}

/* A reference server has no /stats: it is up once it accepts. */
static bool accepts(const char *host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && inet_pton(AF_INET, host, &a.sin_addr) == 1 &&
              connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void ended_at_startup(struct server *s, int status, const char *log, char *err,
                             size_t errlen)
{
    char how[128], line[256];
    child_describe(status, false, how, sizeof how);
    child_last_line(log, line, sizeof line);
    snprintf(err, errlen, "ioserve %s at start-up%s%s", how, line[0] ? ": " : "", line);
    s->pid = -1;
}

/* Polls until the server answers, ends, or the time is up. 0, 1 when it
 * ended (err set), -1 when it did not come up. */
static int await_ready(const struct server_conf *c, struct server *s, const char *port_file,
                       bool reference, const char *log, char *err, size_t errlen)
{
    int64_t deadline = util_now_ms() + SERVER_START_TIMEOUT_MS;
    while (util_now_ms() < deadline && !*c->cancel) {
        int status;
        if (procmon_wait(s->pid, 0, &status, NULL, NULL) == 1) {
            ended_at_startup(s, status, log, err, errlen);
            return 1;
        }
        if (s->port == 0)
            s->port = read_port(port_file);
        if (s->port != 0 && (reference ? accepts(c->host, s->port) : answers_stats(s->port)))
            return 0;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    snprintf(err, errlen,
             *c->cancel     ? "interrupted"
             : s->port == 0 ? "ioserve wrote no port file within 5 s"
                            : "ioserve did not answer /stats within 5 s");
    return -1;
}

/* A reference server's command line on a port chosen here, written to
 * port_file as ioserve would. The port, or -1 with err. */
static int start_reference(const struct server_conf *c, const char *name, const char *port_file,
                           char *words, char **argv, char *err, size_t errlen)
{
    char text[16];
    int port = refserver_free_port(c->host);
    int n = snprintf(text, sizeof text, "%d\n", port);
    if (port == 0 ||
        refserver_argv(name, c->bin, c->dir, c->host, port, words, 3 * PATH_MAX, argv, 8) < 0 ||
        atomicfile_write(port_file, text, (size_t)n) != 0) {
        snprintf(err, errlen, "cannot prepare %s: %s", name, strerror(errno));
        return -1;
    }
    return port;
}

int server_start(const struct server_conf *c, const char *model, const char *log, struct server *s,
                 char *err, size_t errlen)
{
    char port_file[PATH_MAX];
    snprintf(port_file, sizeof port_file, "%s/.port-%s", c->dir, model);
    if (unlink(port_file) < 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove the old port file: %s", strerror(errno));
        return -1;
    }
    char *ioserve[] = {(char *)c->bin, "--model", (char *)model, "--host",  (char *)c->host,
                       "--port",       "0",       "--port-file", port_file, NULL};
    char *ref[8], words[3 * PATH_MAX];
    bool reference = refserver_is(model);
    int ref_port = reference ? start_reference(c, model, port_file, words, ref, err, errlen) : 0;
    if (ref_port < 0)
        return -1;
    *s = (struct server){.pid = -1};
    s->pid = procmon_spawn_on(reference ? ref : ioserve, c->cpus, NULL, log);
    if (s->pid < 0) {
        snprintf(err, errlen, "cannot start %s: %s", c->bin, strerror(errno));
        return -1;
    }
    if (reference &&
        refserver_scratch(model, c->dir, ref_port, s->scratch, sizeof s->scratch) != 1)
        s->scratch[0] = '\0';
    int rc = await_ready(c, s, port_file, reference, log, err, errlen);
    if (rc < 0) {
        bool killed;
        procmon_stop(s->pid, SERVER_KILL_MS, &(int){0}, NULL, &killed);
        s->pid = -1;
    }
    unlink(port_file);
    return rc == 0 ? 0 : -1;
}

bool server_check_died(struct server *s)
{
    if (s->pid <= 0 || procmon_wait(s->pid, 0, &s->status, &s->ru, NULL) != 1)
        return false;
    s->have_ru = true;
    s->died = true;
    s->pid = -1;
    return true;
}

static json_t *exit_code(int status)
{
    return WIFEXITED(status) ? json_integer(WEXITSTATUS(status))
                             : json_integer(128 + WTERMSIG(status));
}

json_t *server_stop(struct server *s, char *err, size_t errlen)
{
    if (s->pid <= 0)
        return json_pack("{s:o,s:b}", "exit_status", s->died ? exit_code(s->status) : json_null(),
                         "clean_exit", 0);
    int status = 0;
    bool killed = false;
    if (procmon_stop(s->pid, SERVER_STOP_TIMEOUT_MS, &status, &s->ru, &killed) < 0) {
        if (err[0] == '\0')
            snprintf(err, errlen, "server could not be reaped");
        return json_pack("{s:n,s:b}", "exit_status", "clean_exit", 0);
    }
    s->have_ru = true;
    bool clean = !killed && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    /* Kept, log and all, when the exit was not clean: it tells why. */
    if (clean && s->scratch[0] != '\0' && util_remove_tree(s->scratch) < 0 && err[0] == '\0')
        snprintf(err, errlen, "cannot remove %s: %s", s->scratch, strerror(errno));
    if (!clean && err[0] == '\0') {
        char how[128];
        child_describe(status, killed, how, sizeof how);
        snprintf(err, errlen, "on SIGTERM the server %s", how);
    }
    return json_pack("{s:o,s:b}", "exit_status", exit_code(status), "clean_exit", clean);
}

int server_query(const struct server_conf *c, const char *flag, char *out, size_t cap)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/.ioserve%s", c->dir, flag);
    char *argv[] = {(char *)c->bin, (char *)flag, NULL};
    return child_capture(argv, path, out, cap);
}
