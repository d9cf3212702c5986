/* child: how a child ended and what it left behind (see child.h). */
#include "child.h"

#include "procmon.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void child_describe(int status, bool killed, char *buf, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, cap, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), killed ? " after it ignored SIGTERM" : "");
    else
        snprintf(buf, cap, "ended with wait status %d", status);
}

void child_last_line(const char *path, char *out, size_t cap)
{
    static char buf[16384];
    out[0] = '\0';
    long n = util_read_file(path, buf, sizeof buf);
    if (n <= 0)
        return;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    const char *line = strrchr(buf, '\n');
    line = line != NULL ? line + 1 : buf;
    size_t len = strlen(line) < cap - 1 ? strlen(line) : cap - 1;
    memcpy(out, line, len);
    out[len] = '\0';
}

void child_drop_log(const char *path, bool failed)
{
    struct stat st;
    if (!failed || (stat(path, &st) == 0 && st.st_size == 0))
        unlink(path);
}

int child_capture(char *const argv[], const char *tmp, char *out, size_t cap)
{
    unlink(tmp);
    pid_t pid = procmon_spawn(argv, -1, tmp, NULL);
    if (pid < 0)
        return -1;
    int status = 0;
    bool killed;
    if (procmon_wait(pid, 5000, &status, NULL, NULL) != 1 &&
        procmon_stop(pid, 1000, &status, NULL, &killed) < 0)
        return -1;
    long n = util_read_file(tmp, out, cap);
    unlink(tmp);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && n >= 0 ? 0 : -1;
}

const char *child_which(const char *name, char *buf, size_t cap)
{
    if (strchr(name, '/') != NULL) {
        snprintf(buf, cap, "%s", name);
        return access(buf, X_OK) == 0 ? buf : NULL;
    }
    const char *path = getenv("PATH");
    for (const char *p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0';) {
        size_t len = strcspn(p, ":");
        snprintf(buf, cap, "%.*s/%s", (int)len, p, name);
        if (len > 0 && access(buf, X_OK) == 0)
            return buf;
        p += len + (p[len] == ':');
    }
    return NULL;
}
