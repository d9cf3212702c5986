/* history: `iobench history DIR... [--out DIR]` (see history.h).
 *
 * Reads only summary.json from each directory, orders the runs by their
 * start time, splits them into segments by fingerprint (machine, load
 * generator, suite), and looks for change points in every case and metric
 * of every segment over every trial. A change of segment is never a change
 * point: the detection never sees two segments at once. */
#include "history.h"

#include "atomicfile.h"
#include "edivisive.h"
#include "iobench.h"
#include "plot.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const hist_fp_names[HIST_FP_FIELDS] = {"cpu_model",     "cores",   "kernel",
                                                   "memory_gib",    "libcurl", "ioload_version",
                                                   "ioload_engine", "suite",   "suite_hash"};

const struct hist_metric hist_metrics[HIST_METRICS] = {
    {"throughput_rps", "throughput_rps", "throughput (requests/s)", true},
    {"latency_us.p50", "latency_p50_us", "p50 latency (µs)", false},
    {"latency_us.p99", "latency_p99_us", "p99 latency (µs)", false},
    {"latency_us.p99_9", "latency_p99_9_us", "p99.9 latency (µs)", false},
};

/* ---- Options ------------------------------------------------------------ */

static void history_usage(FILE *f)
{
    fputs("usage: iobench history DIR... [--out DIR] [--max-p 0.001] [--min-change 5%]\n"
          "                        [--min-commits 3] [--fail-since N] [--max-points 200]\n"
          "                        [--no-charts]\n"
          "  Reads DIR/summary.json of each results directory (one per commit, any order;\n"
          "  ordered by start time) and finds the change points of every case and metric\n"
          "  (E-divisive means, Welch's t-test p < --max-p, a change of at least\n"
          "  --min-change, --min-commits on each side) within each stretch measured on\n"
          "  the same machine, load generator and suite. Writes OUT/history.json, one\n"
          "  chart per workload, concurrency and metric (PNG and SVG) and OUT/index.html\n"
          "  (OUT: history). Exit 1 when a regression starts within the last --fail-since\n"
          "  commits (off by default), 2 on bad input.\n",
          f);
}

static int bad_usage(const char *what, const char *arg)
{
    fprintf(stderr, "iobench history: %s, not '%s' (see iobench history --help)\n", what, arg);
    return 2;
}

/* -1 to go on, else the exit status. */
static int parse_args(struct hist_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"max-p", required_argument, NULL, 'p'},
                                         {"min-change", required_argument, NULL, 'c'},
                                         {"min-commits", required_argument, NULL, 'm'},
                                         {"fail-since", required_argument, NULL, 'f'},
                                         {"max-points", required_argument, NULL, 'x'},
                                         {"no-charts", no_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    *o = (struct hist_opts){.out = "history",
                            .max_p = 0.001,
                            .min_change_pct = 5,
                            .min_commits = 3,
                            .max_points = 200,
                            .charts = true};
    optind = 0; /* glibc: a full re-scan */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->out = optarg;
            break;
        case 'p':
            if (util_parse_double(optarg, 1e-300, 1, &o->max_p) != 0)
                return bad_usage("--max-p wants a probability in (0, 1]", optarg);
            break;
        case 'c':
            if (util_parse_percent(optarg, 0, 1000, &o->min_change_pct) != 0)
                return bad_usage("--min-change wants a percentage like 5%", optarg);
            break;
        case 'm':
            if (util_parse_long(optarg, 1, 1000, &o->min_commits) != 0)
                return bad_usage("--min-commits wants an integer in [1, 1000]", optarg);
            break;
        case 'f':
            if (util_parse_long(optarg, 0, LONG_MAX, &o->fail_since) != 0)
                return bad_usage("--fail-since wants a number of commits", optarg);
            break;
        case 'x':
            if (util_parse_long(optarg, 10, 100000, &o->max_points) != 0)
                return bad_usage("--max-points wants an integer in [10, 100000]", optarg);
            break;
        case 'n':
            o->charts = false;
            break;
        case 'h':
            history_usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "iobench history: %s needs a value (see iobench history --help)\n",
                    argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "iobench history: unknown option '%s' (see iobench history --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "iobench history: no results directory given (see iobench history "
                        "--help)\n");
        return 2;
    }
    return -1;
}

/* ---- Reading ------------------------------------------------------------ */

/* FNV-1a, 64 bits: a content hash that needs no library. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The suite as it ran, without where its file lay or how it is described:
 * keys sorted, compact. NULL when there is no suite object. */
static char *suite_hash(json_t *suite)
{
    if (!json_is_object(suite))
        return NULL;
    json_t *copy = json_deep_copy(suite);
    if (copy == NULL)
        return NULL;
    json_object_del(copy, "file");
    json_object_del(copy, "description");
    char *text = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(copy);
    if (text == NULL)
        return NULL;
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, fnv1a(text));
    free(text);
    return strdup(hex);
}

/* A fingerprint value: a string as it is, an integer in decimal, NULL when
 * absent or null. */
static char *fp_value(json_t *v)
{
    char buf[64];
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(buf);
    }
    return NULL;
}

/* Memory to the nearest GiB: MemTotal moves by a few KiB between boots. */
static char *fp_memory(json_t *kb)
{
    if (!json_is_number(kb))
        return NULL;
    char buf[32];
    snprintf(buf, sizeof buf, "%.0f", json_number_value(kb) / (1024.0 * 1024.0));
    return strdup(buf);
}

static void fill_fingerprint(struct hist_commit *c)
{
    json_t *env = json_object_get(c->summary, "env");
    json_t *suite = json_object_get(c->summary, "suite");
    c->fp[0] = fp_value(json_object_get(env, "cpu_model"));
    c->fp[1] = fp_value(json_object_get(env, "cores"));
    c->fp[2] = fp_value(json_object_get(env, "kernel"));
    c->fp[3] = fp_memory(json_object_get(env, "mem_total_kb"));
    c->fp[4] = fp_value(json_object_get(env, "libcurl"));
    c->fp[5] = fp_value(json_object_get(env, "ioload_version"));
    c->fp[6] = fp_value(json_object_get(env, "ioload_engine"));
    c->fp[7] = fp_value(json_object_get(suite, "name"));
    c->fp[8] = suite_hash(suite);
}

static const char *base_name(const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    const char *end = dir + len, *p = end;
    while (p > dir && p[-1] != '/')
        p--;
    return p;
}

/* Loads one directory into c; 0, or -1 after one line on stderr. */
static int load_commit(struct hist_commit *c, const char *dir)
{
    char err[512];
    c->summary = plot_load_summary(dir, err, sizeof err);
    if (c->summary == NULL) {
        fprintf(stderr, "iobench history: %s\n", err);
        return -1;
    }
    c->dir = strdup(dir);
    if (c->dir == NULL) {
        fprintf(stderr, "iobench history: out of memory\n");
        return -1;
    }
    size_t len = strlen(c->dir);
    while (len > 1 && c->dir[len - 1] == '/')
        c->dir[--len] = '\0';
    c->start = json_string_value(json_object_get(c->summary, "start"));
    if (c->start == NULL || strlen(c->start) < 20) {
        fprintf(stderr, "iobench history: %s/summary.json: no \"start\" time\n", dir);
        return -1;
    }
    c->label = json_string_value(json_object_get(c->summary, "git_commit"));
    if (c->label == NULL || c->label[0] == '\0')
        c->label = base_name(c->dir);
    fill_fingerprint(c);
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const struct hist_commit *x = a, *y = b;
    int r = strcmp(x->start, y->start);
    return r != 0 ? r : strcmp(x->dir, y->dir);
}

static int load_all(struct history *h, int ndirs, char **dirs)
{
    h->commits = calloc((size_t)ndirs, sizeof *h->commits);
    if (h->commits == NULL) {
        fprintf(stderr, "iobench history: out of memory\n");
        return -1;
    }
    for (int i = 0; i < ndirs; i++) {
        h->ncommits++;
        if (load_commit(&h->commits[i], dirs[i]) != 0)
            return -1;
    }
    qsort(h->commits, h->ncommits, sizeof *h->commits, by_start);
    return 0;
}

/* ---- Segments ----------------------------------------------------------- */

/* Whether commit c differs from segment s in a field both know; the
 * fields that differ are marked in changed. */
static bool fp_differs(const struct hist_segment *s, const struct hist_commit *c, bool *changed)
{
    bool any = false;
    for (int f = 0; f < HIST_FP_FIELDS; f++) {
        changed[f] = s->fp[f] != NULL && c->fp[f] != NULL && strcmp(s->fp[f], c->fp[f]) != 0;
        any |= changed[f];
    }
    return any;
}

/* A field unknown so far takes the first value a commit records. */
static void fp_learn(struct hist_segment *s, const struct hist_commit *c)
{
    for (int f = 0; f < HIST_FP_FIELDS; f++)
        if (s->fp[f] == NULL && c->fp[f] != NULL)
            s->fp[f] = c->fp[f];
}

static int split_segments(struct history *h)
{
    h->segments = calloc(h->ncommits, sizeof *h->segments);
    if (h->segments == NULL) {
        fprintf(stderr, "iobench history: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < h->ncommits; i++) {
        struct hist_commit *c = &h->commits[i];
        bool changed[HIST_FP_FIELDS];
        struct hist_segment *s = h->nsegments > 0 ? &h->segments[h->nsegments - 1] : NULL;
        if (s == NULL || fp_differs(s, c, changed)) {
            s = &h->segments[h->nsegments++];
            *s = (struct hist_segment){.first = i};
            if (h->nsegments > 1)
                memcpy(s->changed, changed, sizeof changed);
        }
        s->last = i;
        fp_learn(s, c);
        c->segment = h->nsegments - 1;
    }
    return 0;
}

/* ---- Observations ------------------------------------------------------- */

/* The number at a dotted path ("latency_us.p99") of obj. */
static bool number_at(json_t *obj, const char *path, double *out)
{
    char key[64];
    for (const char *p = path; obj != NULL;) {
        size_t len = strcspn(p, ".");
        if (len >= sizeof key)
            return false;
        memcpy(key, p, len);
        key[len] = '\0';
        obj = json_object_get(obj, key);
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    if (!json_is_number(obj))
        return false;
    *out = json_number_value(obj);
    return isfinite(*out);
}

/* The index of the case of run, added when new; -1 when out of memory. */
static long case_index(struct history *h, const char *model, const char *workload, long conc,
                       size_t *cap)
{
    for (size_t i = 0; i < h->ncases; i++)
        if (h->cases[i].concurrency == conc && strcmp(h->cases[i].model, model) == 0 &&
            strcmp(h->cases[i].workload, workload) == 0)
            return (long)i;
    if (h->ncases == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct hist_case *n = realloc(h->cases, ncap * sizeof *n);
        if (n == NULL)
            return -1;
        h->cases = n;
        *cap = ncap;
    }
    h->cases[h->ncases] = (struct hist_case){model, workload, conc};
    return (long)h->ncases++;
}

/* One observation per successful run that has at least one metric. */
static int add_runs(struct history *h, size_t commit, size_t *case_cap, size_t *obs_cap)
{
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(h->commits[commit].summary, "runs"), i, run)
    {
        const char *model = json_string_value(json_object_get(run, "model"));
        const char *workload = json_string_value(json_object_get(run, "workload"));
        const char *status = json_string_value(json_object_get(run, "status"));
        json_t *conc = json_object_get(run, "concurrency");
        if (model == NULL || workload == NULL || status == NULL || strcmp(status, "ok") != 0 ||
            !json_is_integer(conc))
            continue;
        struct hist_obs o = {.commit = commit, .order = h->nobs};
        bool any = false;
        for (int m = 0; m < HIST_METRICS; m++)
            any |= o.has[m] = number_at(run, hist_metrics[m].field, &o.v[m]);
        if (!any)
            continue;
        long c = case_index(h, model, workload, (long)json_integer_value(conc), case_cap);
        if (c < 0)
            return -1;
        o.case_idx = (size_t)c;
        if (h->nobs == *obs_cap) {
            size_t ncap = *obs_cap ? *obs_cap * 2 : 1024;
            struct hist_obs *n = realloc(h->obs, ncap * sizeof *n);
            if (n == NULL)
                return -1;
            h->obs = n;
            *obs_cap = ncap;
        }
        h->obs[h->nobs++] = o;
    }
    return 0;
}

static int by_case_commit(const void *a, const void *b)
{
    const struct hist_obs *x = a, *y = b;
    if (x->case_idx != y->case_idx)
        return x->case_idx < y->case_idx ? -1 : 1;
    if (x->commit != y->commit)
        return x->commit < y->commit ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

static int collect_obs(struct history *h)
{
    size_t case_cap = 0, obs_cap = 0;
    for (size_t c = 0; c < h->ncommits; c++)
        if (add_runs(h, c, &case_cap, &obs_cap) != 0) {
            fprintf(stderr, "iobench history: out of memory\n");
            return -1;
        }
    qsort(h->obs, h->nobs, sizeof *h->obs, by_case_commit);
    return 0;
}

/* ---- Detection ---------------------------------------------------------- */

/* One series: a metric's values of one case in one segment, grouped by commit. */
struct series {
    double *x;
    size_t n;
    size_t *starts, *commit_of; /* per group: first value, commit index */
    size_t ngroups;
};

static void series_fill(const struct history *h, size_t lo, size_t hi, size_t metric,
                        const struct hist_segment *seg, struct series *s)
{
    s->n = s->ngroups = 0;
    for (size_t i = lo; i < hi; i++) {
        const struct hist_obs *o = &h->obs[i];
        if (o->commit < seg->first || o->commit > seg->last || !o->has[metric])
            continue;
        if (s->ngroups == 0 || s->commit_of[s->ngroups - 1] != o->commit) {
            s->starts[s->ngroups] = s->n;
            s->commit_of[s->ngroups++] = o->commit;
        }
        s->x[s->n++] = o->v[metric];
    }
}

static int add_change(struct history *h, size_t case_idx, size_t metric, const struct series *s,
                      const struct ediv_change *c, size_t *cap)
{
    if (h->nchanges == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct hist_change *n = realloc(h->changes, ncap * sizeof *n);
        if (n == NULL)
            return -1;
        h->changes = n;
        *cap = ncap;
    }
    double pct = c->mean_before != 0 ? 100.0 * (c->mean_after / c->mean_before - 1) : INFINITY;
    bool worse = hist_metrics[metric].higher_is_better ? c->mean_after < c->mean_before
                                                       : c->mean_after > c->mean_before;
    h->changes[h->nchanges++] = (struct hist_change){
        .case_idx = case_idx,
        .metric = metric,
        .commit = s->commit_of[c->group],
        .previous = s->commit_of[c->group - 1],
        .mean_before = c->mean_before,
        .mean_after = c->mean_after,
        .change_pct = pct,
        .p = c->p,
        .regression = worse,
    };
    return 0;
}

/* Every case, metric and segment; the observations of a case are the range
 * [lo, hi) of h->obs. */
static int detect_all(struct history *h)
{
    struct series s = {0};
    s.x = malloc((h->nobs + 1) * sizeof *s.x);
    s.starts = malloc((h->ncommits + 1) * sizeof *s.starts);
    s.commit_of = malloc((h->ncommits + 1) * sizeof *s.commit_of);
    struct ediv_change *found = malloc((h->ncommits + 1) * sizeof *found);
    struct ediv_params params = {h->opts.max_p, h->opts.min_change_pct / 100.0,
                                 (size_t)h->opts.min_commits};
    size_t cap = 0;
    int rc = s.x && s.starts && s.commit_of && found ? 0 : -1;
    for (size_t lo = 0, hi; rc == 0 && lo < h->nobs; lo = hi) {
        for (hi = lo; hi < h->nobs && h->obs[hi].case_idx == h->obs[lo].case_idx; hi++)
            ;
        for (size_t m = 0; m < HIST_METRICS && rc == 0; m++)
            for (size_t g = 0; g < h->nsegments && rc == 0; g++) {
                series_fill(h, lo, hi, m, &h->segments[g], &s);
                long n = edivisive_detect(s.x, s.n, s.starts, s.ngroups, &params, found,
                                          h->ncommits + 1);
                for (long k = 0; k < n && rc == 0; k++)
                    rc = add_change(h, h->obs[lo].case_idx, m, &s, &found[k], &cap);
                if (n < 0)
                    rc = -1;
            }
    }
    if (rc != 0)
        fprintf(stderr, "iobench history: out of memory\n");
    free(s.x);
    free(s.starts);
    free(s.commit_of);
    free(found);
    return rc;
}

/* ---- Output ------------------------------------------------------------- */

const char *hist_commit_name(const struct history *h, size_t commit, char *buf, size_t cap)
{
    /* A directory name stands in for a missing sha: "20261121T111917Z-nogit"
     * is told apart by its stamp, so keep the end of long names. */
    const char *label = h->commits[commit].label;
    size_t len = strlen(label);
    snprintf(buf, cap, "%s", len > 12 ? label + len - 12 : label);
    return buf;
}

static json_t *fp_json(char *const *fp)
{
    json_t *o = json_object();
    for (int f = 0; f < HIST_FP_FIELDS; f++)
        json_object_set_new(o, hist_fp_names[f], fp[f] ? json_string(fp[f]) : json_null());
    return o;
}

static json_t *segments_json(const struct history *h)
{
    json_t *a = json_array();
    for (size_t i = 0; i < h->nsegments; i++) {
        const struct hist_segment *s = &h->segments[i];
        json_t *changed = json_array();
        for (int f = 0; f < HIST_FP_FIELDS; f++)
            if (s->changed[f])
                json_array_append_new(changed, json_string(hist_fp_names[f]));
        json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:o,s:o}", "first_commit",
                                           h->commits[s->first].label, "last_commit",
                                           h->commits[s->last].label, "commits",
                                           (json_int_t)(s->last - s->first + 1), "fingerprint",
                                           fp_json(s->fp), "changed", changed));
    }
    return a;
}

static json_t *commits_json(const struct history *h)
{
    json_t *a = json_array();
    for (size_t i = 0; i < h->ncommits; i++) {
        const struct hist_commit *c = &h->commits[i];
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I}", "commit", c->label, "dir", c->dir,
                                           "start", c->start, "segment", (json_int_t)c->segment));
    }
    return a;
}

static json_t *changes_json(const struct history *h)
{
    json_t *a = json_array();
    for (size_t i = 0; i < h->nchanges; i++) {
        const struct hist_change *c = &h->changes[i];
        const struct hist_case *k = &h->cases[c->case_idx];
        json_array_append_new(
            a,
            json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:f,s:f,s:o,s:f,s:s}", "model", k->model,
                      "workload", k->workload, "concurrency", (json_int_t)k->concurrency, "metric",
                      hist_metrics[c->metric].key, "commit", h->commits[c->commit].label,
                      "previous_commit", h->commits[c->previous].label, "mean_before",
                      c->mean_before, "mean_after", c->mean_after, "change_pct",
                      /* from a mean of 0 a change has no percentage */
                      isfinite(c->change_pct) ? json_real(c->change_pct) : json_null(), "p", c->p,
                      "direction", c->regression ? "regression" : "improvement"));
    }
    return a;
}

static size_t count_regressions(const struct history *h)
{
    size_t n = 0;
    for (size_t i = 0; i < h->nchanges; i++)
        n += h->changes[i].regression;
    return n;
}

static int write_json(const struct history *h)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/history.json", h->opts.out) >= (int)sizeof path) {
        fprintf(stderr, "iobench history: %s: path too long\n", h->opts.out);
        return -1;
    }
    json_t *params = json_pack(
        "{s:s,s:s,s:f,s:f,s:I,s:I,s:I}", "method", "e-divisive means (alpha 1)", "significance",
        "welch t-test, two-sided", "max_p", h->opts.max_p, "min_change_pct", h->opts.min_change_pct,
        "min_commits", (json_int_t)h->opts.min_commits, "fail_since",
        (json_int_t)h->opts.fail_since, "max_points", (json_int_t)h->opts.max_points);
    size_t reg = count_regressions(h);
    json_t *j = json_pack("{s:s,s:i,s:o,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "schema", "iobench-history",
                          "schema_version", 1, "parameters", params, "series",
                          (json_int_t)(h->ncases * HIST_METRICS), "regressions", (json_int_t)reg,
                          "improvements", (json_int_t)(h->nchanges - reg), "commits_total",
                          (json_int_t)h->ncommits, "commits", commits_json(h), "segments",
                          segments_json(h), "change_points", changes_json(h));
    int rc = j != NULL ? util_json_save(path, j) : -1;
    if (rc != 0)
        fprintf(stderr, "iobench history: cannot write %s: %s\n", path,
                j ? strerror(errno) : "out of memory");
    json_decref(j);
    return rc;
}

static void print_summary(const struct history *h)
{
    char a[16], b[16];
    size_t reg = count_regressions(h);
    printf("history: %zu commits (%s .. %s), %zu segment%s, %zu cases x %d metrics; "
           "%zu regression%s, %zu improvement%s\n",
           h->ncommits, hist_commit_name(h, 0, a, sizeof a),
           hist_commit_name(h, h->ncommits - 1, b, sizeof b), h->nsegments,
           h->nsegments == 1 ? "" : "s", h->ncases, HIST_METRICS, reg, reg == 1 ? "" : "s",
           h->nchanges - reg, h->nchanges - reg == 1 ? "" : "s");
    for (size_t s = 1; s < h->nsegments; s++) {
        printf("SEGMENT from %s:", hist_commit_name(h, h->segments[s].first, a, sizeof a));
        for (int f = 0; f < HIST_FP_FIELDS; f++)
            if (h->segments[s].changed[f])
                printf(" %s", hist_fp_names[f]);
        printf(" changed (not a change point)\n");
    }
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < h->nchanges; i++) {
            const struct hist_change *c = &h->changes[i];
            if (c->regression != (pass == 0))
                continue;
            const struct hist_case *k = &h->cases[c->case_idx];
            printf("%s %s/%s/c%ld %s at %s (after %s): %.6g -> %.6g (%+.1f%%), p=%.2g\n",
                   c->regression ? "REGRESSION" : "IMPROVEMENT", k->model, k->workload,
                   k->concurrency, hist_metrics[c->metric].key,
                   hist_commit_name(h, c->commit, a, sizeof a),
                   hist_commit_name(h, c->previous, b, sizeof b), c->mean_before, c->mean_after,
                   c->change_pct, c->p);
        }
}

/* Whether a regression starts within the last fail_since commits. */
static bool recent_regression(const struct history *h)
{
    if (h->opts.fail_since <= 0)
        return false;
    for (size_t i = 0; i < h->nchanges; i++)
        if (h->changes[i].regression &&
            h->ncommits - h->changes[i].commit <= (size_t)h->opts.fail_since)
            return true;
    return false;
}

static void history_free(struct history *h)
{
    for (size_t i = 0; i < h->ncommits; i++) {
        for (int f = 0; f < HIST_FP_FIELDS; f++)
            free(h->commits[i].fp[f]);
        free(h->commits[i].dir);
        json_decref(h->commits[i].summary);
    }
    free(h->commits);
    free(h->segments);
    free(h->cases);
    free(h->obs);
    free(h->changes);
}

int history_main(int argc, char **argv)
{
    struct history h = {0};
    int rc = parse_args(&h.opts, argc, argv);
    if (rc >= 0)
        return rc;
    rc = 2;
    if (load_all(&h, argc - optind, argv + optind) != 0 || split_segments(&h) != 0 ||
        collect_obs(&h) != 0 || detect_all(&h) != 0)
        goto out;
    if (util_mkdir_p(h.opts.out) != 0) {
        fprintf(stderr, "iobench history: mkdir %s: %s\n", h.opts.out, strerror(errno));
        goto out;
    }
    if (write_json(&h) != 0 || (h.opts.charts && hist_chart_all(&h) != 0))
        goto out;
    print_summary(&h);
    printf("history: %s/history.json%s\n", h.opts.out,
           h.opts.charts ? ", the charts and index.html" : "");
    rc = recent_regression(&h) ? 1 : 0;
out:
    history_free(&h);
    return rc;
}
