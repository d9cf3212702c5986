/* util: atomic files, JSON through jansson, times, environment capture. */
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"

int util_json_save(const char *path, json_t *j)
{
    return atomicfile_write_json(path, j,
                                 JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
}

json_t *util_json_load(const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL && err != NULL && errlen > 0) {
        if (je.line > 0)
            snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        else
            snprintf(err, errlen, "%s: %s", path, je.text);
    }
    return j;
}

const char *util_results_dir(const char *arg)
{
    return arg != NULL ? arg : "results/latest";
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int util_remove_tree(const char *path)
{
    /* Depth first, so each directory is empty when it is removed. */
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
        return errno == ENOENT ? 0 : -1;
    return 0;
}

int util_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = len == 0 ? ENOENT : ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0) {
        if (errno != EEXIST)
            return -1;
        struct stat st;
        if (stat(buf, &st) < 0)
            return -1;
        if (!S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            return -1;
        }
    }
    return 0;
}

double util_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* compact: "20261121T111019Z" for directory names, else ISO-8601. */
static char *format_utc(int64_t t, bool compact, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (cap == 0)
        return buf;
    size_t n = 0;
    if (gmtime_r(&tt, &tm) != NULL)
        n = compact ? strftime(buf, cap, "%Y%m%dT%H%M%SZ", &tm)
                    : strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (n == 0)
        buf[0] = '\0';
    return buf;
}

char *util_iso8601(int64_t t, char *buf, size_t cap)
{
    return format_utc(t, false, buf, cap);
}

char *util_stamp(int64_t t, char *buf, size_t cap)
{
    return format_utc(t, true, buf, cap);
}

char *util_duration(double seconds, char *buf, size_t cap)
{
    long s = seconds > 0 && isfinite(seconds) ? lround(seconds) : 0;
    if (s >= 3600)
        snprintf(buf, cap, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else if (s >= 60)
        snprintf(buf, cap, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, cap, "%lds", s);
    return buf;
}

long util_read_file(const char *path, char *buf, size_t cap)
{
    if (cap == 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
    return (long)len;
}

int util_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int util_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int util_parse_percent(const char *s, double lo, double hi, double *out)
{
    char buf[64];
    size_t len = s != NULL ? strlen(s) : 0;
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len + 1);
    if (buf[len - 1] == '%')
        buf[len - 1] = '\0';
    return util_parse_double(buf, lo, hi, out);
}

/* Runs `git -C dir rev-parse --short HEAD` without a shell; the sha, or an
 * empty string. */
static void read_git_sha(char *out, size_t cap)
{
    out[0] = '\0';
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (dup2(pfd[1], 1) < 0 || devnull < 0 || dup2(devnull, 2) < 0)
            _exit(127);
        execlp("git", "git", "-C", IOBENCH_SOURCE_DIR, "rev-parse", "--short", "HEAD",
               (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t n = read(pfd[0], out + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
    close(pfd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            out[0] = '\0';
            return;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        out[0] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
}

const char *util_git_sha(void)
{
    static char sha[64];
    static int done;
    if (!done) {
        read_git_sha(sha, sizeof sha);
        done = 1;
    }
    return sha[0] != '\0' ? sha : NULL;
}

int util_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

const char *util_line_value(const char *text, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    const char *found = NULL;
    if (cap == 0)
        return NULL;
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *next = strchr(line, '\n');
        const char *colon = line + klen;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        if (strncasecmp(line, key, klen) == 0 && *colon == ':') {
            const char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t len = next != NULL ? (size_t)(next - v) : strlen(v);
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            while (len > 0 && strchr(" \t\r", out[len - 1]) != NULL)
                out[--len] = '\0';
            found = out;
        }
        line = next != NULL ? next + 1 : NULL;
    }
    return found;
}

json_t *util_env(void)
{
    json_t *env = json_object();
    if (env == NULL)
        return NULL;
    char host[256];
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        json_object_set_new(env, "hostname", json_string(host));
    } else {
        json_object_set_new(env, "hostname", json_null());
    }
    struct utsname un;
    json_object_set_new(env, "kernel",
                        uname(&un) == 0 ? json_sprintf("%s %s", un.sysname, un.release)
                                        : json_null());
    static char buf[65536];
    char val[256];
    if (util_read_file("/proc/cpuinfo", buf, sizeof buf) >= 0 &&
        util_line_value(buf, "model name", val, sizeof val) != NULL)
        json_object_set_new(env, "cpu_model", json_string(val));
    else
        json_object_set_new(env, "cpu_model", json_null());
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    json_object_set_new(env, "cores", cores > 0 ? json_integer(cores) : json_null());
    long kb;
    if (util_read_file("/proc/meminfo", buf, sizeof buf) >= 0 &&
        util_line_value(buf, "MemTotal", val, sizeof val) != NULL && sscanf(val, "%ld", &kb) == 1)
        json_object_set_new(env, "mem_total_kb", json_integer(kb));
    else
        json_object_set_new(env, "mem_total_kb", json_null());
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    json_object_set_new(env, "libcurl", cv != NULL ? json_string(cv->version) : json_null());
    return env;
}

const char *util_source_relative(const char *path, char *buf, size_t cap)
{
    char real[PATH_MAX], root[PATH_MAX];
    if (realpath(path, real) == NULL || realpath(IOBENCH_SOURCE_DIR, root) == NULL)
        return NULL;
    size_t n = strlen(root);
    if (strncmp(real, root, n) != 0 || real[n] != '/')
        return NULL;
    int w = snprintf(buf, cap, "%s", real + n + 1);
    return w < 0 || (size_t)w >= cap ? NULL : buf;
}
