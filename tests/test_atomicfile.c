/* atomicfile under a crash: a process rewriting a file over and over with
 * atomicfile_write is killed with SIGKILL at arbitrary moments; every time,
 * the file holds one whole version, old or new, never a mix or a prefix.
 * (Temporary files a killed writer leaves beside it are expected: only a
 * live process can remove them.) */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomicfile.h"
#include "testsupport.h"

/* Large enough that a write takes several system calls and some time, so
 * that kills land in the middle of one. */
#define SIZE (1024 * 1024)
#define KILLS 40

static char tmpdir[64];

static void setup(void)
{
    cr_assert_eq(tmpdir_make(tmpdir, sizeof tmpdir, "atomicfile"), 0);
}

static void teardown(void)
{
    if (tmpdir[0])
        tmpdir_remove(tmpdir);
    tmpdir[0] = 0;
}

/* Version v: SIZE bytes, each the letter of v, and v's number first. */
static void fill(char *buf, unsigned v)
{
    memset(buf, 'a' + (int)(v % 26), SIZE);
    snprintf(buf, 16, "%010u", v);
    buf[10] = '\n';
}

/* The child: versions from first on, forever, until killed. */
static void writer(const char *path, unsigned first)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char *buf = malloc(SIZE);
    if (!buf)
        _exit(1);
    for (unsigned v = first;; v++) {
        fill(buf, v);
        if (atomicfile_write(path, buf, SIZE) != 0)
            _exit(2);
    }
}

/* Reads path whole and checks it is exactly one version; returns it. */
static unsigned check_whole(const char *path, char *got, char *want)
{
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    ssize_t n = 0, r;
    while (n < SIZE + 1 && (r = read(fd, got + n, SIZE + 1 - (size_t)n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        cr_assert_gt(r, 0, "read: %s", strerror(errno));
        n += r;
    }
    close(fd);
    cr_assert_eq(n, SIZE, "the file holds %zd bytes, a version has %d", n, SIZE);
    unsigned v = (unsigned)strtoul(got, NULL, 10);
    fill(want, v);
    cr_assert_eq(memcmp(got, want, SIZE), 0, "the file is not one whole version (it starts as %u)",
                 v);
    return v;
}

Test(atomicfile, kill_9_mid_write_leaves_a_whole_file, .init = setup, .fini = teardown,
     .timeout = 120)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/result.json", tmpdir);
    char *got = malloc(SIZE + 1), *want = malloc(SIZE);
    cr_assert(got && want);
    fill(want, 0);
    cr_assert_eq(atomicfile_write(path, want, SIZE), 0);
    unsigned last = 0, advanced = 0;
    srand(4242);
    for (int k = 0; k < KILLS; k++) {
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
            writer(path, last + 1);
        /* 0 to 30 ms: the kill lands anywhere in a write, fsync or rename. */
        test_sleep_ms(rand() % 31);
        cr_assert_eq(kill(pid, SIGKILL), 0);
        int st;
        while (waitpid(pid, &st, 0) < 0)
            cr_assert_eq(errno, EINTR);
        cr_assert(WIFSIGNALED(st), "the writer ended by itself: status %#x", (unsigned)st);
        unsigned v = check_whole(path, got, want);
        cr_assert_geq(v, last, "version %u after %u: an older file came back", v, last);
        advanced += v > last;
        last = v;
    }
    /* Unless some kills landed after a rename, nothing was tested but the
     * first file. */
    cr_expect_gt(advanced, 0, "no writer finished a single version before its kill");
    free(got);
    free(want);
}
