/* testsupport: real ioserve processes for the tests, stopped by pid. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "testsupport.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IOLOAD_PATH
#define IOLOAD_PATH ""
#endif
#ifndef IOBENCH_PATH
#define IOBENCH_PATH ""
#endif

/* IOBENCH_IOSERVE and IOBENCH_IOLOAD point the suites at other builds of
 * the programs: `make tsan` runs these (uninstrumented) test binaries against
 * ThreadSanitizer builds, since Criterion itself cannot run under TSan. */
static const char *path_from_env(const char *var, const char *built)
{
    const char *v = getenv(var);
    return v && *v ? v : built;
}

const char *ioserve_path(void)
{
    return path_from_env("IOBENCH_IOSERVE", IOSERVE_PATH);
}

const char *ioload_path(void)
{
    return path_from_env("IOBENCH_IOLOAD", IOLOAD_PATH);
}

const char *iobench_path(void)
{
    return IOBENCH_PATH;
}

long test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void test_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

#define now_ms test_now_ms
#define sleep_ms test_sleep_ms

static int read_port(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int port = -1;
    if (fscanf(f, "%d", &port) != 1)
        port = -1;
    fclose(f);
    return port;
}

int srv_start_rlimit(struct srv *s, const char *model, const char *const *extra, int resource,
                     long limit)
{
    memset(s, 0, sizeof *s);
    snprintf(s->model, sizeof s->model, "%s", model);
    snprintf(s->port_file, sizeof s->port_file, "/tmp/iobench-test-port-%ld-%ld", (long)getpid(),
             now_ms() % 1000000);
    unlink(s->port_file);

    const char *argv[64];
    int n = 0;
    argv[n++] = ioserve_path();
    argv[n++] = "--model";
    argv[n++] = model;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = s->port_file;
    snprintf(s->host, sizeof s->host, "127.0.0.1");
    for (int i = 0; extra && extra[i] && n < 62; i++) {
        if (strcmp(extra[i], "--host") == 0 && extra[i + 1])
            snprintf(s->host, sizeof s->host, "%s", extra[i + 1]);
        argv[n++] = extra[i];
    }
    argv[n] = NULL;

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* The server dies with the test process, whatever kills the test. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(127);
        if (limit > 0) {
            struct rlimit rl = {.rlim_cur = (rlim_t)limit, .rlim_max = (rlim_t)limit};
            if (setrlimit(resource, &rl) < 0)
                _exit(127);
        }
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, STDOUT_FILENO);
            close(devnull);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    long deadline = now_ms() + 5000;
    while (now_ms() < deadline) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            unlink(s->port_file);
            return -1;
        }
        int port = read_port(s->port_file);
        if (port > 0) {
            int fd = tcp_connect_host(s->host, port);
            if (fd >= 0) {
                close(fd);
                s->port = port;
                return 0;
            }
        }
        sleep_ms(10);
    }
    srv_stop(s, 1000);
    return -1;
}

int srv_start(struct srv *s, const char *model, const char *const *extra)
{
    return srv_start_rlimit(s, model, extra, RLIMIT_NOFILE, 0);
}

int srv_start_nofile(struct srv *s, const char *model, const char *const *extra, long nofile)
{
    return srv_start_rlimit(s, model, extra, RLIMIT_NOFILE, nofile);
}

int srv_stop(struct srv *s, int timeout_ms)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    long deadline = now_ms() + timeout_ms;
    int st = -1;
    for (;;) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid)
            break;
        if (r < 0) {
            st = -1;
            break;
        }
        if (now_ms() >= deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            break;
        }
        sleep_ms(5);
    }
    s->pid = 0;
    unlink(s->port_file);
    return st;
}

const char *wait_status_describe(int st, char *buf, size_t cap)
{
    if (st == -1)
        snprintf(buf, cap, "not running");
    else if (WIFSIGNALED(st))
        snprintf(buf, cap, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else if (WIFEXITED(st))
        snprintf(buf, cap, "exit status %d", WEXITSTATUS(st));
    else
        snprintf(buf, cap, "wait status %#x", (unsigned)st);
    return buf;
}

int srv_stop_clean(struct srv *s, int timeout_ms, char *why, size_t cap)
{
    long start = now_ms();
    int st = srv_stop(s, timeout_ms);
    if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 1;
    /* srv_stop sends SIGKILL only once the timeout has passed. */
    if (st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && now_ms() - start >= timeout_ms)
        snprintf(why, cap, "no exit within %d ms of SIGTERM (killed)", timeout_ms);
    else
        wait_status_describe(st, why, cap);
    return 0;
}

/* ---- the models --------------------------------------------------------- */

/* Set by tests/CMakeLists.txt from what servers/CMakeLists.txt configured. */
#ifndef IOBENCH_CONFIGURED_MODELS
#define IOBENCH_CONFIGURED_MODELS ""
#endif
#ifndef IOBENCH_LEFT_OUT_MODELS
#define IOBENCH_LEFT_OUT_MODELS ""
#endif

enum { MODELS_MAX = 32, MODEL_NAME_MAX = 32 };

struct model_list {
    char names[MODELS_MAX][MODEL_NAME_MAX];
    const char *list[MODELS_MAX + 1];
    int n;
};

static void list_add(struct model_list *l, const char *name, size_t len)
{
    if (len == 0 || len >= MODEL_NAME_MAX || l->n >= MODELS_MAX)
        return;
    memcpy(l->names[l->n], name, len);
    l->names[l->n][len] = 0;
    l->list[l->n] = l->names[l->n];
    l->n++;
    l->list[l->n] = NULL;
}

/* Appends the comma-separated names of csv. */
static void list_add_csv(struct model_list *l, const char *csv)
{
    for (const char *p = csv; *p;) {
        size_t len = strcspn(p, ",");
        list_add(l, p, len);
        p += len + (p[len] == ',');
    }
}

static bool csv_has(const char *csv, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = csv; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

const char *const *srv_models(void)
{
    static struct model_list l;
    if (l.n == 0) {
        l.list[0] = NULL;
        list_add_csv(&l, IOBENCH_CONFIGURED_MODELS);
        list_add_csv(&l, IOBENCH_LEFT_OUT_MODELS);
    }
    return l.list;
}

static void free_params(struct criterion_test_params *crp)
{
    cr_free(crp->params);
}

struct criterion_test_params srv_model_params(void)
{
    struct srv_model_param *v = cr_malloc(sizeof *v * MODELS_MAX);
    size_t n = 0;
    for (const char *const *m = srv_models(); v && *m && n < MODELS_MAX; m++)
        if (srv_model_selected(*m))
            snprintf(v[n++].name, sizeof v->name, "%s", *m);
    return cr_make_param_array(struct srv_model_param, v, n, free_params);
}

const char *const *srv_configured_models(void)
{
    static struct model_list l;
    if (l.n == 0) {
        l.list[0] = NULL;
        list_add_csv(&l, IOBENCH_CONFIGURED_MODELS);
    }
    return l.list;
}

const char *const *srv_listed_models(void)
{
    static struct model_list l;
    static bool done;
    if (done)
        return l.list;
    done = true;
    char cmd[1024], line[64];
    snprintf(cmd, sizeof cmd, "'%s' --list-models", ioserve_path());
    FILE *p = popen(cmd, "r");
    if (p) {
        while (fgets(line, sizeof line, p))
            list_add(&l, line, strcspn(line, "\n"));
        pclose(p);
    }
    return l.list;
}

/* Starts `ioserve --model model` with its stderr in a pipe and waits up to
 * 5 s: the wait status when it exits by then (first stderr line in err), or
 * -1 once it listens or the time is up (then stopped). */
static int probe_start(const char *model, char *err, size_t cap)
{
    char port_file[128];
    snprintf(port_file, sizeof port_file, "/tmp/iobench-probe-%ld-%s", (long)getpid(), model);
    unlink(port_file);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(pfd[1], STDERR_FILENO);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        execl(ioserve_path(), ioserve_path(), "--model", model, "--port", "0", "--port-file",
              port_file, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    int st = -1;
    for (long deadline = now_ms() + 5000; now_ms() < deadline; sleep_ms(10)) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            break;
        st = -1;
        if (read_port(port_file) > 0)
            break;
    }
    if (st == -1) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    unlink(port_file);
    ssize_t n = -1;
    if (cap > 0) {
        /* The child has ended: whatever it wrote is in the pipe. */
        int fl = fcntl(pfd[0], F_GETFL);
        fcntl(pfd[0], F_SETFL, fl | O_NONBLOCK);
        n = read(pfd[0], err, cap - 1);
        err[n > 0 ? n : 0] = 0;
        err[strcspn(err, "\n")] = 0;
    }
    close(pfd[0]);
    return st;
}

int srv_model_unusable(const char *model, char *why, size_t cap)
{
    if (csv_has(IOBENCH_LEFT_OUT_MODELS, model)) {
        snprintf(why, cap,
                 "CMake left it out of this build (its feature check failed on this system; "
                 "see servers/CMakeLists.txt)");
        return 1;
    }
    if (!csv_has(IOBENCH_CONFIGURED_MODELS, model))
        return 0;
    char err[200];
    int st = probe_start(model, err, sizeof err);
    /* Exit status 1 is ioserve's own "cannot run": a message, no crash. */
    if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1) {
        snprintf(why, cap, "built, but ioserve refuses it on this machine: %s", err);
        return 1;
    }
    return 0;
}

/* ---- /proc ------------------------------------------------------------- */

int proc_fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int proc_fd_list(pid_t pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    if (!d || cap == 0)
        return -1;
    size_t len = 0;
    buf[0] = '\0';
    struct dirent *e;
    while ((e = readdir(d)) && len + 1 < cap) {
        if (e->d_name[0] == '.')
            continue;
        char link[sizeof path + sizeof e->d_name + 1], target[128];
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        int w = snprintf(buf + len, cap - len, "%s%s=%s", len ? " " : "", e->d_name, target);
        if (w < 0)
            break;
        len += (size_t)w < cap - len ? (size_t)w : cap - len - 1;
    }
    closedir(d);
    return 0;
}

/* Reads state and ppid of one process from /proc/PID/stat. */
static int proc_stat(long pid, char *state, long *ppid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *rp = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!rp || sscanf(rp + 1, " %c %ld", state, ppid) != 2)
        return -1;
    return 0;
}

static int count_children(pid_t pid, bool zombies_only)
{
    pid_t kids[4096];
    int n = proc_children(pid, kids, 4096);
    if (n < 0 || !zombies_only)
        return n;
    int z = 0;
    for (int i = 0; i < n && i < 4096; i++)
        z += proc_state(kids[i]) == 'Z';
    return z;
}

int proc_child_count(pid_t pid)
{
    return count_children(pid, false);
}

int proc_zombie_children(pid_t pid)
{
    return count_children(pid, true);
}

/* The number after "KEY:" in /proc/PID/FILE, or -1. */
static long proc_field(pid_t pid, const char *file, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

int proc_thread_count(pid_t pid)
{
    return (int)proc_field(pid, "status", "Threads");
}

long proc_rss_kb(pid_t pid)
{
    return proc_field(pid, "status", "VmRSS");
}

/* "Pss_Anon:" of /proc/PID/smaps_rollup in KiB, else "Pss:", or -1. */
static long pss_kb(pid_t pid)
{
    long anon = proc_field(pid, "smaps_rollup", "Pss_Anon");
    return anon >= 0 ? anon : proc_field(pid, "smaps_rollup", "Pss");
}

static long tree_mem(pid_t pid, bool pss, int depth)
{
    long mine = pss ? pss_kb(pid) : proc_rss_kb(pid);
    if (mine < 0 || depth > 8)
        return mine;
    pid_t kids[1024];
    int n = proc_children(pid, kids, 1024);
    for (int i = 0; i < n && i < 1024; i++) {
        long k = tree_mem(kids[i], pss, depth + 1);
        mine += k > 0 ? k : 0; /* a child that just exited holds nothing */
    }
    return mine;
}

long proc_tree_mem_kb(pid_t pid, int *pss)
{
    bool have_pss = pss_kb(pid) >= 0;
    if (pss)
        *pss = have_pss;
    return tree_mem(pid, have_pss, 0);
}

/* ---- raw sockets ------------------------------------------------------- */

int tcp_connect(int port)
{
    return tcp_connect_host("127.0.0.1", port);
}

int tcp_connect_host(const char *ipv4, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ipv4, &sa.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno == EINTR)
            continue;
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Waits until fd is readable or the deadline passes. */
static int wait_readable(int fd, long deadline)
{
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

static long content_length_of(const char *head)
{
    const char *p = head;
    while ((p = strchr(p, '\n'))) {
        p++;
        if (strncasecmp(p, "content-length:", 15) == 0)
            return strtol(p + 15, NULL, 10);
    }
    return -1;
}

long recv_response(int fd, char *buf, size_t cap, int timeout_ms, int *status)
{
    long deadline = now_ms() + timeout_ms;
    size_t len = 0;
    long need = -1;
    buf[0] = 0;
    for (;;) {
        if (len > 0 && need < 0) {
            char *end = strstr(buf, "\r\n\r\n");
            if (end) {
                size_t head = (size_t)(end - buf) + 4;
                long cl = content_length_of(buf);
                need = (long)head + (cl > 0 ? cl : 0);
                if (status)
                    *status = (int)strtol(buf + 9, NULL, 10);
                /* An interim 100 Continue precedes the real response. */
                if (strncmp(buf + 9, "100", 3) == 0) {
                    memmove(buf, buf + head, len - head);
                    len -= head;
                    buf[len] = 0;
                    need = -1;
                    continue;
                }
            }
        }
        if (need >= 0 && (long)len >= need)
            return (long)len;
        if (len + 1 >= cap)
            return (long)len;
        if (wait_readable(fd, deadline) <= 0)
            return -1;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return len ? (long)len : (n == 0 ? 0 : -1);
        len += (size_t)n;
        buf[len] = 0;
    }
}

long recv_until_close(int fd, char *buf, size_t cap, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    size_t len = 0;
    for (;;) {
        if (wait_readable(fd, deadline) <= 0)
            return -1;
        char scratch[4096];
        char *dst = len + 1 < cap ? buf + len : scratch;
        size_t room = len + 1 < cap ? cap - 1 - len : sizeof scratch;
        ssize_t n = recv(fd, dst, room, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == ECONNRESET)
            break;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        if (dst == buf + len)
            len += (size_t)n;
    }
    if (cap)
        buf[len < cap ? len : cap - 1] = 0;
    return (long)len;
}

/* ---- libcurl ------------------------------------------------------------ */

struct sink {
    char *buf;
    size_t cap, len;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    size_t room = s->cap > s->len + 1 ? s->cap - s->len - 1 : 0;
    size_t take = n < room ? n : room;
    memcpy(s->buf + s->len, data, take);
    s->len += take;
    s->buf[s->len] = 0;
    return n;
}

int http_get(int port, const char *path, long *status, char *body, size_t cap)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    char scratch[1];
    struct sink s = {.buf = body ? body : scratch, .cap = body ? cap : sizeof scratch};
    s.buf[0] = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK && status)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    return rc == CURLE_OK ? 0 : -1;
}

long srv_stat(const struct srv *s, const char *field)
{
    char body[8192];
    long status = 0;
    if (http_get(s->port, "/stats", &status, body, sizeof body) < 0 || status != 200)
        return -1;
    json_t *root = json_loads(body, 0, NULL);
    if (!root)
        return -1;
    json_t *v = root;
    char key[64];
    const char *p = field;
    while (v && *p) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        v = json_object_get(v, key);
        p += n;
        if (*p == '.')
            p++;
    }
    long out = json_is_integer(v) ? (long)json_integer_value(v) : -1;
    json_decref(root);
    return out;
}

/* ---- appended for the conformance suite --------------------------------- */

int proc_children(pid_t pid, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long p = strtol(e->d_name, &end, 10);
        if (*end || p <= 0)
            continue;
        char state;
        long ppid;
        if (proc_stat(p, &state, &ppid) == 0 && ppid == pid) {
            if (n < max)
                out[n] = (pid_t)p;
            n++;
        }
    }
    closedir(d);
    return n;
}

char proc_state(pid_t pid)
{
    char state;
    long ppid;
    return proc_stat(pid, &state, &ppid) == 0 ? state : 0;
}

int srv_model_selected(const char *model)
{
    const char *env = getenv("IOBENCH_TEST_MODELS");
    return !env || !*env || csv_has(env, model);
}

/* ---- processes and files ------------------------------------------------ */

int run_capture(const char *const *argv, char *out, size_t cap, int timeout_ms)
{
    char log[] = "/tmp/iobench-test-outXXXXXX";
    int fd = mkstemp(log);
    if (fd < 0)
        return -1;
    unlink(log);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = -1;
    for (long deadline = now_ms() + timeout_ms;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if ((r < 0 && errno != EINTR) || now_ms() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
            st = -1;
            break;
        }
        sleep_ms(5);
    }
    if (cap > 0) {
        ssize_t len = pread(fd, out, cap - 1, 0);
        out[len > 0 ? len : 0] = 0;
    }
    close(fd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tmpdir_make(char *buf, size_t cap, const char *tag)
{
    if (snprintf(buf, cap, "/tmp/iobench-%s.XXXXXX", tag) >= (int)cap)
        return -1;
    return mkdtemp(buf) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

int tmpdir_remove(const char *dir)
{
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int file_write(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = 0;
    for (const char *p = buf; len > 0 && rc == 0;) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = -1;
        else
            p += n, len -= (size_t)n;
    }
    return close(fd) < 0 ? -1 : rc;
}

void fds_close(int *fds, int *n)
{
    for (int i = 0; i < *n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    *n = 0;
}

/* ---- model properties (ioserve --describe-models) ---------------------- */

int srv_model_has(const char *model, const char *property)
{
    static char lines[32][256];
    static int nlines = -1;
    if (nlines < 0) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "%s --describe-models", ioserve_path());
        FILE *p = popen(cmd, "r");
        nlines = 0;
        while (p && nlines < 32 && fgets(lines[nlines], sizeof lines[0], p))
            nlines++;
        if (p)
            pclose(p);
    }
    size_t mlen = strlen(model), plen = strlen(property);
    for (int i = 0; i < nlines; i++) {
        /* "name<TAB>prop,prop<TAB>summary" */
        if (strncmp(lines[i], model, mlen) != 0 || lines[i][mlen] != '\t')
            continue;
        const char *props = lines[i] + mlen + 1;
        size_t len = strcspn(props, "\t");
        for (const char *q = props; q < props + len;) {
            size_t l = strcspn(q, ",\t");
            if (l == plen && strncmp(q, property, plen) == 0)
                return 1;
            q += l + 1;
        }
    }
    return 0;
}
