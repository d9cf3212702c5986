/* scripts/slurm/iobench.sbatch on a real, one-node Slurm cluster started
 * for the test (tests/slurm/cluster.sh: munged, slurmctld and slurmd with a
 * configuration in a temporary directory, on ports of their own, stopped by
 * pid at the end), submitted with `sbatch --wait` and two load tasks.
 *
 * The suite is tests/data/suite-tiny.json, not quick: quick's 96 runs take
 * minutes on a shared two-core machine; IOBENCH_SLURM_TEST_SUITE=quick runs
 * the full check. Skipped, with the reason, when not root or when
 * Slurm or munge is missing (scripts/deps.sh cluster installs them). */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLUSTER_SH IOBENCH_SOURCE_DIR "/tests/slurm/cluster.sh"
#define SBATCH_SCRIPT IOBENCH_SOURCE_DIR "/scripts/slurm/iobench.sbatch"

static char tmpdir[PATH_MAX];
static bool cluster_up;

static bool on_path(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void teardown(void)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "%s down %s", CLUSTER_SH, tmpdir);
    if (cluster_up && system(cmd) != 0)
        fprintf(stderr, "cluster.sh down %s failed\n", tmpdir);
    if (tmpdir[0] != '\0')
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static json_t *load(const char *dir, const char *file)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert_not_null(j, "%s does not parse: %s", path, je.text);
    return j;
}

static void check_run(const char *dir, json_t *run)
{
    const char *id = json_string_value(json_object_get(run, "id"));
    cr_expect_str_eq(json_string_value(json_object_get(run, "status")), "ok", "run %s: %s", id,
                     json_string_value(json_object_get(run, "error")));
    cr_expect_eq(json_integer_value(json_object_get(run, "load_tasks")), 2, "run %s", id);
    json_t *f = load(dir, json_string_value(json_object_get(run, "file")));
    json_t *from = json_object_get(json_object_get(f, "ioload"), "merged_from");
    cr_expect_eq(json_array_size(from), 2, "run %s: not merged from two ioload results", id);
    for (size_t k = 0; k < json_array_size(from); k++) {
        char path[PATH_MAX * 2];
        snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_array_get(from, k)));
        cr_expect_eq(access(path, R_OK), 0, "run %s: part %s is not kept", id, path);
    }
    json_decref(f);
}

TestSuite(harness_slurm, .fini = teardown, .timeout = 900);

Test(harness_slurm, sbatch_wait_two_load_tasks_merged)
{
    if (geteuid() != 0)
        cr_skip("needs root to start slurmd and munged; not run");
    if (!on_path("slurmctld") || !on_path("slurmd") || !on_path("sbatch") || !on_path("munged"))
        cr_skip("Slurm or munge is missing (scripts/deps.sh cluster installs them); not run");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/iobench-slurm-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "%s up %s >/dev/null", CLUSTER_SH, tmpdir);
    cluster_up = true;
    cr_assert_eq(system(cmd), 0, "the one-node cluster did not come up (logs in %s)", tmpdir);

    const char *suite = getenv("IOBENCH_SLURM_TEST_SUITE");
    snprintf(cmd, sizeof cmd,
             "cd %s && SLURM_CONF=%s/slurm.conf IOBENCH_SUITE=%s IOBENCH_LOAD_TASKS=2 "
             "IOBENCH_OUT=%s/results IOBENCH_BUILD=%s sbatch --wait --quiet -o %s/job.out %s",
             IOBENCH_SOURCE_DIR, tmpdir,
             suite != NULL ? suite : IOBENCH_SOURCE_DIR "/tests/data/suite-tiny.json", tmpdir,
             IOBENCH_BINARY_DIR, tmpdir, SBATCH_SCRIPT);
    cr_assert_eq(system(cmd), 0, "sbatch --wait failed; the job's output is %s/job.out", tmpdir);

    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/results/latest", tmpdir);
    json_t *s = load(dir, "summary.json");
    cr_expect(json_is_true(json_object_get(s, "complete")), "the summary is not complete");
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(s, "pinning"), "load_tasks")),
                 2);
    json_t *runs = json_object_get(s, "runs");
    cr_assert_gt(json_array_size(runs), 0, "no runs");
    cr_expect_eq(json_array_size(json_object_get(s, "failures")), 0);
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run) check_run(dir, run);
    json_decref(s);
}
