/* ioload_env: host description (see ioload_env.h). */
#include "ioload_env.h"

#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef IOBENCH_SOURCE_DIR
#define IOBENCH_SOURCE_DIR "."
#endif

/* Reads the first line of path into buf without its newline; -1 if none. */
static int read_line(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char *ok = fgets(buf, (int)cap, f);
    fclose(f);
    if (ok == NULL)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static bool is_sha(const char *s)
{
    size_t n = strlen(s);
    if (n != 40 && n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* A checked sha (40 or 64 hex digits): copy it, truncated to what fits. */
static void copy_sha(char *out, size_t cap, const char *sha)
{
    size_t n = strlen(sha);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, sha, n);
    out[n] = '\0';
}

/* The source tree's commit, read from .git without running git (a detached
 * HEAD, a loose ref or a packed ref). IOBENCH_GIT_COMMIT overrides it for
 * binaries run away from their tree. */
static bool git_commit(char *out, size_t cap)
{
    const char *env = getenv("IOBENCH_GIT_COMMIT");
    if (env != NULL && is_sha(env)) {
        snprintf(out, cap, "%s", env);
        return true;
    }
    char path[1024], head[512];
    snprintf(path, sizeof path, "%s/.git/HEAD", IOBENCH_SOURCE_DIR);
    if (read_line(path, head, sizeof head) != 0)
        return false;
    if (is_sha(head)) {
        copy_sha(out, cap, head);
        return true;
    }
    if (strncmp(head, "ref: ", 5) != 0)
        return false;
    const char *ref = head + 5;
    int n = snprintf(path, sizeof path, "%s/.git/%s", IOBENCH_SOURCE_DIR, ref);
    if (n > 0 && (size_t)n < sizeof path && read_line(path, out, cap) == 0 && is_sha(out))
        return true;
    snprintf(path, sizeof path, "%s/.git/packed-refs", IOBENCH_SOURCE_DIR);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char *sp = strchr(line, ' ');
        if (sp != NULL && strcmp(sp + 1, ref) == 0) {
            *sp = '\0';
            if (is_sha(line)) {
                copy_sha(out, cap, line);
                found = true;
            }
        }
    }
    fclose(f);
    return found;
}

static bool cpu_model(char *out, size_t cap)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (f == NULL)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        colon++;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        colon[strcspn(colon, "\r\n")] = '\0';
        snprintf(out, cap, "%s", colon);
        found = true;
    }
    fclose(f);
    return found;
}

json_t *ioload_env_json(void)
{
    char host[256], model[256], commit[128];
    struct utsname u;
    bool have_host = gethostname(host, sizeof host) == 0;
    if (have_host)
        host[sizeof host - 1] = '\0';
    bool have_uname = uname(&u) == 0;
    bool have_model = cpu_model(model, sizeof model);
    bool have_commit = git_commit(commit, sizeof commit);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    json_t *aff = json_array();
    cpu_set_t set;
    CPU_ZERO(&set);
    if (aff != NULL && sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set) && json_array_append_new(aff, json_integer(c)) != 0) {
                json_decref(aff);
                return NULL;
            }
    }
    return json_pack("{s:s?, s:s?, s:s?, s:o?, s:s?, s:o}", "hostname", have_host ? host : NULL,
                     "kernel", have_uname ? u.release : NULL, "cpu_model",
                     have_model ? model : NULL, "cores", cores > 0 ? json_integer(cores) : NULL,
                     "git_commit", have_commit ? commit : NULL, "cpu_affinity", aff);
}
