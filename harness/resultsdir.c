/* resultsdir: the results directory (see resultsdir.h). */
#include "resultsdir.h"

#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

void resultsdir_point_latest(const char *parent, const char *dir)
{
    char tmp[PATH_MAX], latest[PATH_MAX];
    const char *base = strrchr(dir, '/');
    base = base != NULL ? base + 1 : dir;
    snprintf(tmp, sizeof tmp, "%s/.latest.%d", parent, (int)getpid());
    snprintf(latest, sizeof latest, "%s/latest", parent);
    unlink(tmp);
    if (symlink(base, tmp) < 0 || rename(tmp, latest) < 0) {
        fprintf(stderr, "iobench run: cannot point %s at %s: %s\n", latest, base, strerror(errno));
        unlink(tmp);
    }
}

/* A run that cannot be recorded is not run: writable, with room. */
static int check_parent(const char *parent, long min_free_mb)
{
    if (util_mkdir_p(parent) < 0) {
        fprintf(stderr, "iobench run: cannot create output directory %s: %s\n", parent,
                strerror(errno));
        return -1;
    }
    struct statvfs vfs;
    if (access(parent, W_OK | X_OK) < 0 || statvfs(parent, &vfs) < 0) {
        fprintf(stderr, "iobench run: output directory %s is not writable: %s\n", parent,
                strerror(errno));
        return -1;
    }
    if (vfs.f_flag & ST_RDONLY) {
        fprintf(stderr, "iobench run: output directory %s is on a read-only filesystem\n", parent);
        return -1;
    }
    unsigned long long free_mb = (unsigned long long)vfs.f_bavail * vfs.f_frsize >> 20;
    if (free_mb < (unsigned long long)min_free_mb) {
        fprintf(stderr, "iobench run: only %llu MiB free in %s, need %ld MiB\n", free_mb, parent,
                min_free_mb);
        return -1;
    }
    return 0;
}

/* parent/<stamp>-<sha>, or -2, -3, ... when another run took the name. */
static int make_unique(const char *parent, char *dir, size_t cap)
{
    char stamp[32];
    util_stamp(time(NULL), stamp, sizeof stamp);
    const char *sha = util_git_sha();
    for (int k = 1; k < 100; k++) {
        if (k == 1)
            snprintf(dir, cap, "%s/%s-%s", parent, stamp, sha ? sha : "nogit");
        else
            snprintf(dir, cap, "%s/%s-%s-%d", parent, stamp, sha ? sha : "nogit", k);
        if (mkdir(dir, 0755) == 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    fprintf(stderr, "iobench run: cannot create %s: %s\n", dir, strerror(errno));
    return -1;
}

static int make_subdirs(const char *dir)
{
    static const char *const subs[] = {"runs", "plots", "logs", NULL};
    for (const char *const *s = subs; *s != NULL; s++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, *s);
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            fprintf(stderr, "iobench run: cannot create %s: %s\n", p, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int resultsdir_create(const char *parent, long min_free_mb, char *dir, size_t cap)
{
    if (check_parent(parent, min_free_mb) < 0 || make_unique(parent, dir, cap) < 0)
        return -1;
    return make_subdirs(dir);
}

int resultsdir_reopen(const char *dir)
{
    if (access(dir, W_OK | X_OK) < 0) {
        fprintf(stderr, "iobench run: --resume: %s is not writable: %s\n", dir, strerror(errno));
        return -1;
    }
    return make_subdirs(dir);
}

void resultsdir_tidy(const char *dir)
{
    char logs[PATH_MAX];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    if (rmdir(logs) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
        fprintf(stderr, "iobench run: cannot remove empty %s: %s\n", logs, strerror(errno));
}
