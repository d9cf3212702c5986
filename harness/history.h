/* history: `iobench history DIR...`, the results of many commits read as
 * one history per case and metric, with its change points (edivisive.h).
 *
 * history.c reads the summaries, splits them into segments measured alike
 * (the fingerprint), runs the detection and writes history.json and the
 * text summary; history_chart.c draws the charts and index.html from what
 * it found. This header is what the two share. */
#ifndef IOBENCH_HISTORY_H
#define IOBENCH_HISTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* What the fingerprint is made of, in the order of hist_fp_names. */
enum { HIST_FP_FIELDS = 9 };
extern const char *const hist_fp_names[HIST_FP_FIELDS];

/* The metrics a series is made of, in the order of hist_metrics. */
enum { HIST_METRICS = 4 };
struct hist_metric {
    const char *field; /* dotted path in a summary run */
    const char *key;   /* history.json's name for it */
    const char *label; /* for people: chart titles, index.html */
    bool higher_is_better;
};
extern const struct hist_metric hist_metrics[HIST_METRICS];

/* One results directory: one commit's run. */
struct hist_commit {
    char *dir;
    const char *label; /* git_commit, or the directory's name */
    const char *start; /* ISO-8601 UTC, as summary.json has it */
    json_t *summary;
    char *fp[HIST_FP_FIELDS]; /* NULL: not recorded (unknown) */
    size_t segment;
};

/* Consecutive commits measured alike: no fingerprint field they both
 * know differs. */
struct hist_segment {
    size_t first, last; /* commit indices, inclusive */
    char *fp[HIST_FP_FIELDS];
    bool changed[HIST_FP_FIELDS]; /* differs from the previous segment */
};

/* One case: model, workload, concurrency. */
struct hist_case {
    const char *model, *workload;
    long concurrency;
};

/* One successful trial of one case at one commit. */
struct hist_obs {
    size_t commit, case_idx, order;
    double v[HIST_METRICS];
    bool has[HIST_METRICS];
};

struct hist_change {
    size_t case_idx, metric;
    size_t commit, previous; /* first commit of the new level, last of the old */
    double mean_before, mean_after, change_pct, p;
    bool regression;
};

struct hist_opts {
    const char *out;
    double max_p, min_change_pct;
    long min_commits, fail_since, max_points;
    bool charts;
};

struct history {
    struct hist_opts opts;
    struct hist_commit *commits;
    size_t ncommits;
    struct hist_segment *segments;
    size_t nsegments;
    struct hist_case *cases;
    size_t ncases;
    struct hist_obs *obs; /* sorted by case, commit, trial */
    size_t nobs;
    struct hist_change *changes;
    size_t nchanges;
};

/* The commit's name for charts and text: its label, or the last 12
 * characters of a longer one. */
const char *hist_commit_name(const struct history *h, size_t commit, char *buf, size_t cap);

/* Draws OUT/NAME.png and .svg per workload, concurrency and metric, and
 * OUT/index.html. 0, or -1 after one line on stderr. */
int hist_chart_all(const struct history *h);

#endif
