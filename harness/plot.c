/* plot: `iobench plot [DIR]`, the charts of a results directory (see plot.h).
 *
 * For each workload: throughput, p50/p99 latency and server CPU per request
 * against concurrency, and the latency percentile spectrum at the highest
 * level every model ran; over all workloads: peak RSS against open
 * connections. Each point is the median over trials with min..max bars. */
#include "plot.h"

#include "hdr.h"
#include "iobench.h"
#include "stats_mw.h"
#include "atomicfile.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IOBENCH_SOURCE_DIR
#define IOBENCH_SOURCE_DIR "."
#endif

#define PLOT_MAX_NAMES 64  /* models, workloads */
#define PLOT_MAX_LEVELS 64 /* concurrency levels, open-connection counts */
#define PLOT_MAX_TRIALS 64 /* samples of one case */
#define PLOT_GNUPLOT_TIMEOUT_S 60

json_t *plot_load_summary(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/summary.json", dir) >= (int)sizeof path) {
        snprintf(err, errlen, "%s: path too long", dir);
        return NULL;
    }
    json_t *s = util_json_load(path, err, errlen);
    if (s == NULL)
        return NULL;
    const char *schema = json_string_value(json_object_get(s, "schema"));
    json_int_t version = json_integer_value(json_object_get(s, "schema_version"));
    if (schema == NULL || strcmp(schema, "iobench-summary") != 0 || version != 1) {
        snprintf(err, errlen, "%s: not an iobench-summary, schema_version 1", path);
        json_decref(s);
        return NULL;
    }
    if (!json_is_array(json_object_get(s, "runs"))) {
        snprintf(err, errlen, "%s: no \"runs\" array", path);
        json_decref(s);
        return NULL;
    }
    return s;
}

static bool run_ok(json_t *run)
{
    const char *st = json_string_value(json_object_get(run, "status"));
    return st != NULL && strcmp(st, "ok") == 0;
}

static bool str_eq(json_t *obj, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v != NULL && strcmp(v, want) == 0;
}

/* The number at a dotted path of obj; false when absent or not a number. */
static bool json_path_number(json_t *obj, const char *path, double *out)
{
    char key[128];
    const char *p = path;
    while (obj != NULL) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof key)
            return false;
        memcpy(key, p, len);
        key[len] = '\0';
        obj = json_object_get(obj, key);
        if (dot == NULL)
            break;
        p = dot + 1;
    }
    if (!json_is_number(obj))
        return false;
    *out = json_number_value(obj);
    return true;
}

size_t plot_names(json_t *summary, const char *key, const char **out, size_t cap)
{
    size_t n = 0, i;
    json_t *run;
    json_array_foreach(json_object_get(summary, "runs"), i, run)
    {
        const char *v = json_string_value(json_object_get(run, key));
        /* An offered-load point is drawn on its workload's offered-load
         * chart (the offered-load chart), not as a workload of its own. */
        if (v == NULL || (strcmp(key, "workload") == 0 &&
                          (json_object_get(run, "offered_of") || json_object_get(run, "idle_of"))))
            continue;
        size_t j = 0;
        while (j < n && j < cap && strcmp(out[j], v) != 0)
            j++;
        if (j < n)
            continue;
        if (n < cap)
            out[n] = v;
        n++;
    }
    return n;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Adds v to the set out[0..*n) (capacity cap) unless already there. */
static void set_add(long *out, size_t *n, size_t cap, long v)
{
    for (size_t j = 0; j < *n; j++)
        if (out[j] == v)
            return;
    if (*n < cap)
        out[(*n)++] = v;
}

size_t plot_levels(json_t *summary, const char *model, const char *workload, long *out, size_t cap)
{
    size_t n = 0, i;
    json_t *run;
    json_array_foreach(json_object_get(summary, "runs"), i, run)
    {
        if (!run_ok(run) || !str_eq(run, "workload", workload))
            continue;
        if (model != NULL && !str_eq(run, "model", model))
            continue;
        set_add(out, &n, cap, (long)json_integer_value(json_object_get(run, "concurrency")));
    }
    qsort(out, n, sizeof *out, cmp_long);
    return n;
}

/* The "ok" runs of one case, into out; returns how many (at most cap). */
static size_t case_runs(json_t *summary, const char *model, const char *workload, long concurrency,
                        json_t **out, size_t cap)
{
    size_t n = 0, i;
    json_t *run;
    json_array_foreach(json_object_get(summary, "runs"), i, run)
    {
        if (n == cap)
            break;
        if (run_ok(run) && str_eq(run, "model", model) && str_eq(run, "workload", workload) &&
            json_integer_value(json_object_get(run, "concurrency")) == concurrency)
            out[n++] = run;
    }
    return n;
}

size_t plot_samples(json_t *summary, const char *model, const char *workload, long concurrency,
                    const char *field, double *out, size_t cap)
{
    json_t *runs[PLOT_MAX_TRIALS];
    size_t nr = case_runs(summary, model, workload, concurrency, runs, PLOT_MAX_TRIALS);
    size_t n = 0;
    for (size_t i = 0; i < nr && n < cap; i++)
        if (json_path_number(runs[i], field, &out[n]))
            n++;
    return n;
}

size_t plot_saturated(json_t *summary, const char *model, const char *workload, long concurrency)
{
    json_t *runs[PLOT_MAX_TRIALS];
    size_t nr = case_runs(summary, model, workload, concurrency, runs, PLOT_MAX_TRIALS), n = 0;
    for (size_t i = 0; i < nr; i++)
        n += json_is_true(json_object_get(runs[i], "load_saturated"));
    return n;
}

/* Whether some successful run of workload has field > 0: the unanswered
 * chart is drawn only where there is something to show. */
static bool any_positive(json_t *summary, const char *workload, const char *field)
{
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(summary, "runs"), i, run)
    {
        double v;
        if (run_ok(run) && str_eq(run, "workload", workload) && json_path_number(run, field, &v) &&
            v > 0)
            return true;
    }
    return false;
}

char *plot_slug(const char *s, char *buf, size_t cap)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < cap; i++) {
        char c = s[i];
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        buf[i] = keep ? c : '-';
    }
    if (cap > 0)
        buf[i] = '\0';
    return buf;
}

char *plot_quote(const char *s, char *buf, size_t cap)
{
    size_t o = 0;
    for (; *s != '\0'; s++) {
        size_t need = *s == '\'' ? 2 : 1;
        if (o + need >= cap)
            return NULL;
        buf[o++] = *s;
        if (*s == '\'')
            buf[o++] = '\'';
    }
    if (cap == 0)
        return NULL;
    buf[o] = '\0';
    return buf;
}

const char *plot_scripts_dir(void)
{
    const char *d = getenv("IOBENCH_PLOTS_DIR");
    return d != NULL && d[0] != '\0' ? d : IOBENCH_SOURCE_DIR "/plots";
}

/* gnuplot's path on PATH into buf, or -1. */
static int find_gnuplot(char *buf, size_t cap)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/bin:/bin";
    while (*path != '\0') {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len > 0 && snprintf(buf, cap, "%.*s/gnuplot", (int)len, path) < (int)cap &&
            access(buf, X_OK) == 0)
            return 0;
        path += len + (end ? 1 : 0);
    }
    return -1;
}

/* Prints at most the last 2 KiB of gnuplot's stderr, kept in log. */
static void show_log(FILE *log)
{
    char buf[2048];
    long end = fseek(log, 0, SEEK_END) == 0 ? ftell(log) : -1;
    if (end <= 0 ||
        fseek(log, end > (long)sizeof buf - 1 ? end - (long)sizeof buf + 1 : 0, SEEK_SET) != 0)
        return;
    size_t n = fread(buf, 1, sizeof buf - 1, log);
    buf[n] = '\0';
    fprintf(stderr, "%s%s", buf, n > 0 && buf[n - 1] != '\n' ? "\n" : "");
}

/* Waits for pid, at most PLOT_GNUPLOT_TIMEOUT_S, then kills it. The
 * waitpid status, or -1 when it had to be killed or could not be waited. */
static int wait_bounded(pid_t pid)
{
    int status = 0;
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (long waited_ms = 0;; waited_ms += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "iobench plot: waitpid: %s\n", strerror(errno));
            return -1;
        }
        if (waited_ms >= PLOT_GNUPLOT_TIMEOUT_S * 1000L) {
            fprintf(stderr, "iobench plot: gnuplot (pid %ld) ran over %d s; killed\n", (long)pid,
                    PLOT_GNUPLOT_TIMEOUT_S);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        nanosleep(&tick, NULL); /* an EINTR only shortens one tick */
    }
}

/* Runs gnuplot -e expr script and waits for it. 0 when it exited 0. Its
 * warnings (one-point ranges and the like) are shown only when it fails. */
static int run_gnuplot(const char *gnuplot, const char *expr, const char *script)
{
    FILE *log = tmpfile();
    if (log == NULL) {
        fprintf(stderr, "iobench plot: tmpfile: %s\n", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "iobench plot: fork: %s\n", strerror(errno));
        fclose(log);
        return -1;
    }
    if (pid == 0) {
        /* gnuplot has nothing to say on stdout; keep ours for our report. */
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fileno(log), STDERR_FILENO) < 0)
            _exit(127);
        char *const argv[] = {(char *)"gnuplot", (char *)"-e", (char *)expr, (char *)script, NULL};
        execv(gnuplot, argv);
        _exit(127);
    }
    int status = wait_bounded(pid);
    int rc = 0;
    if (status < 0) {
        rc = -1;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "iobench plot: gnuplot %s failed (%s %d):\n", script,
                WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        show_log(log);
        rc = -1;
    }
    fclose(log);
    return rc;
}

int plot_render(const char *script, const char *datafile, const char *outbase, const char *title,
                const char *vars)
{
    static const char *const terms[][2] = {{"pngcairo", "png"}, {"svg", "svg"}};
    char gnuplot[PATH_MAX], script_path[PATH_MAX];
    if (find_gnuplot(gnuplot, sizeof gnuplot) != 0) {
        fprintf(stderr, "iobench plot: gnuplot not found on PATH (Debian: apt-get install "
                        "gnuplot-nox)\n");
        return -1;
    }
    const char *dir = plot_scripts_dir();
    if (snprintf(script_path, sizeof script_path, "%s/%s", dir, script) >=
            (int)sizeof script_path ||
        access(script_path, R_OK) != 0) {
        fprintf(stderr, "iobench plot: cannot read %s/%s (set IOBENCH_PLOTS_DIR)\n", dir, script);
        return -1;
    }
    for (size_t t = 0; t < sizeof terms / sizeof terms[0]; t++) {
        char final[PATH_MAX], tmp[PATH_MAX], q_data[PATH_MAX * 2], q_out[PATH_MAX * 2],
            q_title[1024], q_dir[PATH_MAX * 2], expr[PATH_MAX * 8];
        /* gnuplot writes into a temp name in the same directory; only a
         * complete chart is renamed into place. */
        if (snprintf(final, sizeof final, "%s.%s", outbase, terms[t][1]) >= (int)sizeof final ||
            snprintf(tmp, sizeof tmp, "%s.tmp%ld.%s", outbase, (long)getpid(), terms[t][1]) >=
                (int)sizeof tmp ||
            !plot_quote(datafile, q_data, sizeof q_data) || !plot_quote(tmp, q_out, sizeof q_out) ||
            !plot_quote(title, q_title, sizeof q_title) || !plot_quote(dir, q_dir, sizeof q_dir) ||
            snprintf(expr, sizeof expr,
                     "datafile='%s'; outfile='%s'; title='%s'; term='%s'; scriptdir='%s'; %s",
                     q_data, q_out, q_title, terms[t][0], q_dir,
                     vars ? vars : "") >= (int)sizeof expr) {
            fprintf(stderr, "iobench plot: %s: names too long\n", outbase);
            return -1;
        }
        struct stat st;
        if (run_gnuplot(gnuplot, expr, script_path) != 0 || stat(tmp, &st) != 0 ||
            st.st_size == 0) {
            if (unlink(tmp) != 0 && errno != ENOENT)
                fprintf(stderr, "iobench plot: unlink %s: %s\n", tmp, strerror(errno));
            fprintf(stderr, "iobench plot: %s: no chart written\n", final);
            return -1;
        }
        if (rename(tmp, final) != 0) {
            fprintf(stderr, "iobench plot: rename %s: %s\n", final, strerror(errno));
            unlink(tmp);
            return -1;
        }
    }
    return 0;
}

/* A name as one double-quoted gnuplot data column. */
static void dat_label(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++)
        fputc(*s == '"' || (unsigned char)*s < ' ' ? '_' : *s, f);
    fputc('"', f);
}

/* Prints " median min max" of v[0..n). */
static void dat_stats(FILE *f, const double *v, size_t n)
{
    fprintf(f, " %.6g %.6g %.6g", stats_median(v, n), stats_min(v, n), stats_max(v, n));
}

/* What one `iobench plot` is drawing. */
struct plotter {
    json_t *summary;
    char dir[PATH_MAX];   /* the results directory */
    char plots[PATH_MAX]; /* DIR/plots */
    char data[PATH_MAX];  /* DIR/plots/data */
    const char *models[PLOT_MAX_NAMES];
    size_t nmodels;
    int charts, failures;
    int saturated_points; /* of the chart being drawn */
};

/* A chart's data, built in memory, one block per model. */
struct chart {
    FILE *f;
    char *buf;
    size_t len;
    int nseries;
};

static int chart_open(struct plotter *p, struct chart *ch)
{
    *ch = (struct chart){0};
    ch->f = open_memstream(&ch->buf, &ch->len);
    if (ch->f == NULL) {
        fprintf(stderr, "iobench plot: open_memstream: %s\n", strerror(errno));
        p->failures++;
        return -1;
    }
    return 0;
}

/* Writes the chart's .dat into DIR/plots/data and renders it with the
 * extra gnuplot assignments vars (may be NULL); frees ch. */
static void finish_chart(struct plotter *p, struct chart *ch, const char *script, const char *name,
                         const char *title, const char *vars)
{
    char dat[PATH_MAX], out[PATH_MAX], all[2048];
    int closed = fclose(ch->f);
    if (closed != 0) {
        fprintf(stderr, "iobench plot: %s: out of memory\n", name);
        p->failures++;
    } else if (ch->nseries == 0) {
        printf("plot: %s: no successful runs to draw\n", name);
    } else if (snprintf(dat, sizeof dat, "%s/%s.dat", p->data, name) >= (int)sizeof dat ||
               snprintf(out, sizeof out, "%s/%s", p->plots, name) >= (int)sizeof out ||
               snprintf(all, sizeof all, "nseries=%d; %s", ch->nseries, vars ? vars : "") >=
                   (int)sizeof all) {
        fprintf(stderr, "iobench plot: %s: path too long\n", name);
        p->failures++;
    } else if (atomicfile_write(dat, ch->buf, ch->len) != 0) {
        fprintf(stderr, "iobench plot: %s: %s\n", dat, strerror(errno));
        p->failures++;
    } else if (plot_render(script, dat, out, title, all) != 0) {
        p->failures++;
    } else {
        p->charts++;
    }
    free(ch->buf);
}

/* One chart of per-case figures: drawn against concurrency (lines) for a
 * workload run at several levels, as bars per model for one level. */
struct chart_kind {
    const char *name;      /* file prefix: "throughput" */
    const char *what;      /* for the title: "throughput" */
    const char *fields[2]; /* summary fields, one or two */
    const char *labels[2]; /* per field, after the model's name in a legend */
    size_t nfields;
    const char *script;     /* the lines script; bars use bars.gp */
    const char *ylabel;     /* the bars' y axis */
    const char *hollow_key; /* what a hollow point means; NULL: none are */
};

/* " median min max" per field and the saturated flag of one case into
 * line; false when a field has no sample (no request completed). */
static bool case_row(struct plotter *p, const struct chart_kind *k, const char *model,
                     const char *workload, long level, char *line, size_t cap)
{
    size_t o = strlen(line);
    for (size_t f = 0; f < k->nfields; f++) {
        struct plot_stat st = plot_stat(p->summary, model, workload, level, k->fields[f]);
        if (st.n == 0 || o >= cap)
            return false;
        o += (size_t)snprintf(line + o, cap - o, " %.6g %.6g %.6g", st.median, st.min, st.max);
    }
    size_t sat = k->hollow_key ? plot_saturated(p->summary, model, workload, level) : 0;
    if (o < cap)
        o += (size_t)snprintf(line + o, cap - o, " %d\n", sat > 0);
    return o < cap;
}

/* Lines: one block per model, rows "level median min max ... saturated". */
static void chart_lines(struct plotter *p, const struct chart_kind *k, const char *workload,
                        const char *name, const char *title, const char *vars)
{
    struct chart ch;
    if (chart_open(p, &ch) != 0)
        return;
    for (size_t m = 0; m < p->nmodels; m++) {
        long levels[PLOT_MAX_LEVELS];
        size_t nl = plot_levels(p->summary, p->models[m], workload, levels, PLOT_MAX_LEVELS);
        /* Rows first: a model without one number here (no request
         * completed) gets no block, rather than an empty one gnuplot warns of. */
        char rows[PLOT_MAX_LEVELS * 128];
        size_t used = 0;
        for (size_t l = 0; l < nl; l++) {
            char line[128];
            snprintf(line, sizeof line, "%ld", levels[l]);
            if (case_row(p, k, p->models[m], workload, levels[l], line, sizeof line) &&
                used + strlen(line) + 1 < sizeof rows)
                used += (size_t)snprintf(rows + used, sizeof rows - used, "%s", line);
        }
        if (used == 0)
            continue;
        for (size_t f = 0; f < k->nfields; f++) {
            char label[256];
            snprintf(label, sizeof label, "%s%s", p->models[m], k->labels[f]);
            dat_label(ch.f, label);
            fputc(f + 1 < k->nfields ? ' ' : '\n', ch.f);
        }
        fputs(rows, ch.f);
        fputs("\n\n", ch.f); /* two blank lines end a gnuplot data block */
        ch.nseries++;
    }
    finish_chart(p, &ch, k->script, name, title, vars);
}

/* Bars: one block, one row per model: "model median min max ... saturated". */
static void chart_bars(struct plotter *p, const struct chart_kind *k, const char *workload,
                       long level, const char *name, const char *title, const char *vars)
{
    struct chart ch;
    if (chart_open(p, &ch) != 0)
        return;
    for (size_t m = 0; m < p->nmodels; m++) {
        char line[256];
        line[0] = '\0';
        if (!case_row(p, k, p->models[m], workload, level, line, sizeof line))
            continue;
        dat_label(ch.f, p->models[m]);
        fputs(line, ch.f);
        ch.nseries++;
    }
    char all[1024], q_lab[256], q_y[256], q_x[256], xlabel[160];
    snprintf(xlabel, sizeof xlabel, "server model, %ld concurrent connections", level);
    snprintf(q_lab, sizeof q_lab, "%s%s", k->labels[0], k->nfields > 1 ? k->labels[1] : "");
    if (!plot_quote(q_lab, q_lab, sizeof q_lab) || !plot_quote(k->ylabel, q_y, sizeof q_y) ||
        !plot_quote(xlabel, q_x, sizeof q_x) ||
        snprintf(all, sizeof all, "%s; nfields=%zu; names='%s'; ylab='%s'; xlab='%s'", vars,
                 k->nfields, q_lab, q_y, q_x) >= (int)sizeof all) {
        fprintf(stderr, "iobench plot: %s: names too long\n", name);
        p->failures++;
        fclose(ch.f);
        free(ch.buf);
        return;
    }
    finish_chart(p, &ch, "bars.gp", name, title, all);
}

/* What a workload's charts hold fixed, for their subtitle: request,
 * connection reuse, extra clients, trials. */
static void workload_subtitle(struct plotter *p, const char *workload, char *buf, size_t cap)
{
    json_t *suite = json_object_get(p->summary, "suite"), *w = NULL, *v;
    size_t i;
    json_array_foreach(json_object_get(suite, "workloads"), i, v)
    {
        if (str_eq(v, "name", workload))
            w = v;
    }
    const char *method = json_string_value(json_object_get(w, "method"));
    const char *path = json_string_value(json_object_get(w, "path"));
    int o = snprintf(buf, cap, "%s %s, %s", method ? method : "GET", path ? path : "?",
                     json_is_false(json_object_get(w, "keepalive")) ? "a connection per request"
                                                                    : "keep-alive");
    json_int_t idle = json_integer_value(json_object_get(w, "idle"));
    json_int_t slow = json_integer_value(json_object_get(w, "slow_clients"));
    if (idle > 0 && o >= 0 && (size_t)o < cap)
        o += snprintf(buf + o, cap - (size_t)o,
                      ", %" JSON_INTEGER_FORMAT " idle connections beside", idle);
    if (slow > 0 && o >= 0 && (size_t)o < cap)
        o += snprintf(buf + o, cap - (size_t)o, ", %" JSON_INTEGER_FORMAT " slow clients beside",
                      slow);
    if (o >= 0 && (size_t)o < cap)
        snprintf(buf + o, cap - (size_t)o,
                 "; median of %" JSON_INTEGER_FORMAT " trials of %g s, min..max shown",
                 json_integer_value(json_object_get(suite, "trials")),
                 json_number_value(json_object_get(suite, "duration_s")));
}

/* One kind of chart of one workload, lines or bars as its levels allow. */
static void chart_kind_draw(struct plotter *p, const struct chart_kind *k, const char *workload,
                            const char *slug)
{
    long levels[PLOT_MAX_LEVELS];
    size_t nl = plot_levels(p->summary, NULL, workload, levels, PLOT_MAX_LEVELS);
    if (nl == 0)
        return;
    char name[160], title[256], sub[512], q_sub[1100], vars[1200];
    snprintf(name, sizeof name, "%s-%s", k->name, slug);
    if (nl == 1)
        snprintf(title, sizeof title, "%s: %s at %ld connections", workload, k->what, levels[0]);
    else
        snprintf(title, sizeof title, "%s: %s against concurrency", workload, k->what);
    workload_subtitle(p, workload, sub, sizeof sub);
    p->saturated_points = 0;
    /* The key's "hollow" entry appears only when a point is hollow: the
     * data is written before gnuplot runs, so count first. */
    for (size_t m = 0; m < p->nmodels && k->hollow_key; m++)
        for (size_t l = 0; l < nl; l++)
            p->saturated_points +=
                plot_saturated(p->summary, p->models[m], workload, levels[l]) > 0;
    snprintf(vars, sizeof vars, "nsat=%d; hollowkey='%s'; subtitle='%s'", p->saturated_points,
             k->hollow_key ? k->hollow_key : "", plot_quote(sub, q_sub, sizeof q_sub) ? q_sub : "");
    if (nl == 1)
        chart_bars(p, k, workload, levels[0], name, title, vars);
    else
        chart_lines(p, k, workload, name, title, vars);
}

long plot_common_level(json_t *summary, const char *const *models, size_t nmodels,
                       const char *workload)
{
    long common[PLOT_MAX_LEVELS];
    size_t nc = 0;
    bool first = true;
    for (size_t m = 0; m < nmodels; m++) {
        long lv[PLOT_MAX_LEVELS];
        size_t nl = plot_levels(summary, models[m], workload, lv, PLOT_MAX_LEVELS);
        if (nl == 0)
            continue;
        if (first) {
            memcpy(common, lv, nl * sizeof *lv);
            nc = nl;
            first = false;
            continue;
        }
        size_t keep = 0;
        for (size_t i = 0; i < nc; i++)
            for (size_t j = 0; j < nl; j++)
                if (common[i] == lv[j]) {
                    common[keep++] = common[i];
                    break;
                }
        nc = keep;
    }
    return nc > 0 ? common[nc - 1] : 0;
}

struct plot_stat plot_stat(json_t *summary, const char *model, const char *workload,
                           long concurrency, const char *field)
{
    double v[PLOT_MAX_TRIALS];
    size_t n = plot_samples(summary, model, workload, concurrency, field, v, PLOT_MAX_TRIALS);
    return (struct plot_stat){n, stats_median(v, n), stats_min(v, n), stats_max(v, n)};
}

/* Decodes the corrected histogram of one run from DIR/runs/ID.json. */
static int load_histogram(struct plotter *p, json_t *run, struct hdr *h)
{
    const char *file = json_string_value(json_object_get(run, "file"));
    char path[PATH_MAX], err[256];
    if (file == NULL || snprintf(path, sizeof path, "%s/%s", p->dir, file) >= (int)sizeof path) {
        fprintf(stderr, "iobench plot: a run has no usable \"file\"\n");
        return -1;
    }
    json_t *j = util_json_load(path, err, sizeof err);
    if (j == NULL) {
        fprintf(stderr, "iobench plot: %s\n", err);
        return -1;
    }
    json_t *ioload = json_object_get(j, "ioload");
    const char *b64 =
        json_string_value(json_object_get(json_object_get(ioload, "histograms"), "corrected"));
    int rc = b64 != NULL ? hdr_decode_base64(b64, h) : -1;
    if (rc != 0)
        fprintf(stderr, "iobench plot: %s: no decodable histograms.corrected\n", path);
    json_decref(j);
    return rc;
}

/* Points of the spectrum: x = 1/(1-p) at ten points a decade. */
#define SPECTRUM_POINTS 51 /* x from 1 to 10^5 */

static void chart_spectrum(struct plotter *p, const char *workload, const char *slug)
{
    long level = plot_common_level(p->summary, p->models, p->nmodels, workload);
    if (level == 0) {
        printf("plot: %s: no level every model ran; no spectrum\n", workload);
        return;
    }
    struct chart ch;
    if (chart_open(p, &ch) != 0)
        return;
    FILE *f = ch.f;
    for (size_t m = 0; m < p->nmodels; m++) {
        json_t *runs[PLOT_MAX_TRIALS];
        size_t nr = case_runs(p->summary, p->models[m], workload, level, runs, PLOT_MAX_TRIALS);
        if (nr == 0)
            continue;
        /* values[point][trial] in microseconds */
        double values[SPECTRUM_POINTS][PLOT_MAX_TRIALS];
        size_t ntrials = 0;
        int64_t fewest = INT64_MAX;
        for (size_t r = 0; r < nr; r++) {
            struct hdr h;
            if (load_histogram(p, runs[r], &h) != 0) {
                p->failures++;
                continue;
            }
            if (h.total_count > 0) {
                for (int k = 0; k < SPECTRUM_POINTS; k++) {
                    double x = pow(10.0, k / 10.0);
                    values[k][ntrials] =
                        (double)hdr_value_at_percentile(&h, 100.0 * (1.0 - 1.0 / x));
                }
                if (h.total_count < fewest)
                    fewest = h.total_count;
                ntrials++;
            }
            hdr_free(&h);
        }
        if (ntrials == 0)
            continue; /* no request completed: nothing to draw */
        dat_label(f, p->models[m]);
        fputc('\n', f);
        /* Beyond 1/(1-p) = count the tail is a single sample: stop there. */
        for (int k = 0; k < SPECTRUM_POINTS; k++) {
            double x = pow(10.0, k / 10.0);
            if (k > 0 && x > (double)fewest)
                break;
            fprintf(f, "%.6g", x);
            dat_stats(f, values[k], ntrials);
            fputc('\n', f);
        }
        fputs("\n\n", f);
        ch.nseries++;
    }
    char name[160], title[256];
    snprintf(name, sizeof name, "spectrum-%s", slug);
    snprintf(title, sizeof title, "%s: latency by percentile at %ld connections", workload, level);
    char sub[512], q_sub[1100], vars[1200];
    workload_subtitle(p, workload, sub, sizeof sub);
    snprintf(vars, sizeof vars, "subtitle='%s'", plot_quote(sub, q_sub, sizeof q_sub) ? q_sub : "");
    finish_chart(p, &ch, "spectrum.gp", name, title, vars);
}

/* Peak RSS against open connections, over every workload. */
static void chart_memory(struct plotter *p)
{
    struct chart ch;
    if (chart_open(p, &ch) != 0)
        return;
    FILE *f = ch.f;
    json_t *all = json_object_get(p->summary, "runs");
    for (size_t m = 0; m < p->nmodels; m++) {
        long open[PLOT_MAX_LEVELS];
        size_t no = 0, i;
        json_t *run;
        json_array_foreach(all, i, run)
        {
            if (run_ok(run) && str_eq(run, "model", p->models[m]))
                set_add(open, &no, PLOT_MAX_LEVELS,
                        (long)json_integer_value(json_object_get(run, "open_connections")));
        }
        if (no == 0)
            continue;
        qsort(open, no, sizeof *open, cmp_long);
        dat_label(f, p->models[m]);
        fputc('\n', f);
        for (size_t o = 0; o < no; o++) {
            double v[PLOT_MAX_TRIALS * 4];
            size_t n = 0;
            json_array_foreach(all, i, run)
            {
                if (n < sizeof v / sizeof v[0] && run_ok(run) &&
                    str_eq(run, "model", p->models[m]) &&
                    json_integer_value(json_object_get(run, "open_connections")) == open[o] &&
                    json_path_number(run, "server.rss_peak_kb", &v[n]))
                    v[n++] /= 1024.0;
            }
            if (n == 0)
                continue;
            fprintf(f, "%ld", open[o]);
            dat_stats(f, v, n);
            fputc('\n', f);
        }
        fputs("\n\n", f);
        ch.nseries++;
    }
    finish_chart(p, &ch, "memory.gp", "memory",
                 "server peak RSS against open connections (all workloads)", NULL);
}

size_t plot_axis_cases(json_t *summary, const char *of_key, const char *base, const char *value_key,
                       const char **out, double *vals, size_t cap)
{
    size_t n = 0, i;
    json_t *run;
    json_array_foreach(json_object_get(summary, "runs"), i, run)
    {
        const char *of = json_string_value(json_object_get(run, of_key));
        const char *wl = json_string_value(json_object_get(run, "workload"));
        double v = json_number_value(json_object_get(run, value_key));
        if (of == NULL || wl == NULL || strcmp(of, base) != 0)
            continue;
        size_t j = 0;
        while (j < n && strcmp(out[j], wl) != 0)
            j++;
        if (j < n || n == cap)
            continue;
        /* Insertion by value. */
        for (j = n; j > 0 && vals[j - 1] > v; j--) {
            out[j] = out[j - 1];
            vals[j] = vals[j - 1];
        }
        out[j] = wl;
        vals[j] = v;
        n++;
    }
    return n;
}

/* One model's row at one offered fraction; false when it has no run. */
static bool offered_row(struct plotter *p, const char *model, const char *wl, double fraction,
                        long level, char *line, size_t cap)
{
    static const char *const fields[] = {"throughput_rps", "latency_us.p50", "latency_us.p99"};
    (void)fraction; /* the offered rate itself is the x axis */
    struct plot_stat off = plot_stat(p->summary, model, wl, level, "offered_rps");
    struct plot_stat lag = plot_stat(p->summary, model, wl, level, "open_loop.send_lag_p99_ns");
    if (off.n == 0)
        return false;
    size_t o = (size_t)snprintf(line, cap, "%.6g", off.median);
    for (size_t f = 0; f < 3 && o < cap; f++) {
        struct plot_stat st = plot_stat(p->summary, model, wl, level, fields[f]);
        if (st.n == 0)
            return false;
        o += (size_t)snprintf(line + o, cap - o, " %.6g %.6g %.6g", st.median, st.min, st.max);
    }
    size_t sat = plot_saturated(p->summary, model, wl, level);
    p->saturated_points += sat > 0;
    if (o < cap)
        o += (size_t)snprintf(line + o, cap - o, " %.6g %d\n", lag.n ? lag.median / 1e3 : 0.0,
                              sat > 0);
    return o < cap;
}

/* One model's row at one idle level; false when it has no run. */
static bool idle_row(struct plotter *p, const char *model, const char *wl, double idle, long level,
                     char *line, size_t cap)
{
    struct plot_stat t = plot_stat(p->summary, model, wl, level, "throughput_rps");
    if (t.n == 0)
        return false;
    size_t sat = plot_saturated(p->summary, model, wl, level);
    p->saturated_points += sat > 0;
    return (size_t)snprintf(line, cap, "%.0f %.6g %.6g %.6g %d\n", idle, t.median, t.min, t.max,
                            sat > 0) < cap;
}

/* A workload's cases along one axis (offered fractions, idle levels), drawn
 * as one chart per connection level with one series per model. */
struct axis_chart {
    const char *of_key;    /* the key naming a case's base workload */
    const char *value_key; /* the case's value on the axis */
    const char *prefix;    /* of the chart's file name */
    const char *script;    /* in plots/ */
    const char *title;     /* %s: the base workload; %ld: its connections */
    const char *vars;      /* gnuplot variables; %d: the saturated points */
    bool (*row)(struct plotter *p, const char *model, const char *wl, double value, long level,
                char *line, size_t cap);
};

/* One model's series: its rows over the axis, or 0 when it has none. */
static size_t axis_series(struct plotter *p, const struct axis_chart *ax, const char *model,
                          const char *const *cases, const double *vals, size_t nc, long level,
                          char *rows, size_t cap)
{
    size_t used = 0;
    for (size_t c = 0; c < nc; c++) {
        char line[192];
        if (ax->row(p, model, cases[c], vals[c], level, line, sizeof line) &&
            used + strlen(line) + 1 < cap)
            used += (size_t)snprintf(rows + used, cap - used, "%s", line);
    }
    return used;
}

static void chart_axis(struct plotter *p, const char *base, const struct axis_chart *ax)
{
    const char *cases[PLOT_MAX_LEVELS];
    double vals[PLOT_MAX_LEVELS];
    size_t nc =
        plot_axis_cases(p->summary, ax->of_key, base, ax->value_key, cases, vals, PLOT_MAX_LEVELS);
    long levels[PLOT_MAX_LEVELS];
    size_t nl = nc > 0 ? plot_levels(p->summary, NULL, cases[0], levels, PLOT_MAX_LEVELS) : 0;
    for (size_t l = 0; l < nl; l++) {
        struct chart ch;
        if (chart_open(p, &ch) != 0)
            return;
        p->saturated_points = 0;
        for (size_t m = 0; m < p->nmodels; m++) {
            char rows[PLOT_MAX_LEVELS * 192];
            if (axis_series(p, ax, p->models[m], cases, vals, nc, levels[l], rows, sizeof rows) ==
                0)
                continue;
            dat_label(ch.f, p->models[m]);
            fprintf(ch.f, "\n%s\n\n", rows);
            ch.nseries++;
        }
        char name[160], title[256], slug[128], vars[512];
        plot_slug(base, slug, sizeof slug);
        snprintf(name, sizeof name, "%s-%s-c%ld", ax->prefix, slug, levels[l]);
        /* ax->title and ax->vars are the literal formats below. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(title, sizeof title, ax->title, base, levels[l]);
        snprintf(vars, sizeof vars, ax->vars, p->saturated_points);
#pragma GCC diagnostic pop
        finish_chart(p, &ch, ax->script, name, title, vars);
    }
}

/* Latency, achieved rate and send lag against offered load, per model:
 * the curve servers are compared by (wrk2's), for each workload with
 * "offered" fractions. */
static const struct axis_chart offered_chart = {
    "offered_of",
    "offered_fraction",
    "offered",
    "offered.gp",
    "%s: open loop at fractions of each model's closed-loop capacity, %ld connections",
    "nsat=%d; hollowkey='hollow: ioload saturated'; subtitle='corrected latency (from each "
    "request''s due time), achieved rate and ioload''s send lag; medians of the trials, min..max "
    "shown'",
    offered_row};

/* Throughput against idle connections beside a fixed busy load, per model
 * (the figure Gammo et al. drew for select, poll and epoll). */
static const struct axis_chart idle_chart = {
    "idle_of",
    "idle_connections",
    "idle",
    "idle.gp",
    "%s: throughput of %ld busy connections against idle connections beside them",
    "nsat=%d; hollowkey='hollow: lower bound, ioload saturated'; subtitle='idle: one request "
    "each, then silent; medians of the trials, min..max shown'",
    idle_row};

/* The per-case charts of each workload; "unanswered" only where a
 * connection went unanswered. */
static const struct chart_kind chart_kinds[] = {
    {"throughput",
     "throughput",
     {"throughput_rps"},
     {""},
     1,
     "throughput.gp",
     "throughput (requests/s)",
     "hollow: lower bound, ioload saturated"},
    {"latency",
     "p50 and p99 latency",
     {"latency_us.p99", "latency_us.p50"},
     {" p99", " p50"},
     2,
     "latency.gp",
     "latency (µs)",
     "hollow: ioload saturated, adds its delay"},
    {"cpu",
     "server CPU time per request",
     {"server.cpu_per_request_us"},
     {""},
     1,
     "cpu.gp",
     "server CPU time per request (µs)",
     NULL},
    {"unanswered",
     "connections left without a response",
     {"starved_connections"},
     {""},
     1,
     "unanswered.gp",
     "connections without any response",
     NULL},
};

static void plot_usage(FILE *f)
{
    fprintf(f,
            "usage: iobench plot [DIR]\n"
            "  Draws the charts of a results directory (default results/latest) into\n"
            "  DIR/plots/*.png and *.svg with gnuplot, from the scripts in %s.\n",
            plot_scripts_dir());
}

int plot_dir_args(const char *cmd, int argc, char **argv, void (*usage)(FILE *), const char **dir)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 0; /* glibc: a full re-scan, whatever parsed argv before */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "iobench %s: unknown option '%s' (see iobench %s --help)\n", cmd,
                argv[optind - 1], cmd);
        return 2;
    }
    if (argc - optind > 1) {
        fprintf(stderr, "iobench %s: one results directory at most (see iobench %s --help)\n", cmd,
                cmd);
        return 2;
    }
    *dir = util_results_dir(optind < argc ? argv[optind] : NULL);
    return -1;
}

int plot_main(int argc, char **argv)
{
    const char *dir;
    int rc = plot_dir_args("plot", argc, argv, plot_usage, &dir);
    if (rc >= 0)
        return rc;
    struct plotter p = {0};
    char err[512];
    if (snprintf(p.dir, sizeof p.dir, "%s", dir) >= (int)sizeof p.dir ||
        snprintf(p.plots, sizeof p.plots, "%s/plots", dir) >= (int)sizeof p.plots ||
        snprintf(p.data, sizeof p.data, "%s/plots/data", dir) >= (int)sizeof p.data) {
        fprintf(stderr, "iobench plot: %s: path too long\n", dir);
        return 1;
    }
    char gnuplot[PATH_MAX];
    if (find_gnuplot(gnuplot, sizeof gnuplot) != 0) {
        fprintf(stderr, "iobench plot: gnuplot not found on PATH (Debian: apt-get install "
                        "gnuplot-nox)\n");
        return 1;
    }
    p.summary = plot_load_summary(p.dir, err, sizeof err);
    if (p.summary == NULL) {
        fprintf(stderr, "iobench plot: %s\n", err);
        return 1;
    }
    if (util_mkdir_p(p.data) != 0) {
        fprintf(stderr, "iobench plot: mkdir %s: %s\n", p.data, strerror(errno));
        json_decref(p.summary);
        return 1;
    }
    p.nmodels = plot_names(p.summary, "model", p.models, PLOT_MAX_NAMES);
    if (p.nmodels > PLOT_MAX_NAMES)
        p.nmodels = PLOT_MAX_NAMES;
    const char *workloads[PLOT_MAX_NAMES];
    size_t nw = plot_names(p.summary, "workload", workloads, PLOT_MAX_NAMES);
    if (nw > PLOT_MAX_NAMES)
        nw = PLOT_MAX_NAMES;

    for (size_t w = 0; w < nw; w++) {
        char slug[128];
        plot_slug(workloads[w], slug, sizeof slug);
        for (size_t k = 0; k < sizeof chart_kinds / sizeof chart_kinds[0]; k++)
            if (strcmp(chart_kinds[k].name, "unanswered") != 0 ||
                any_positive(p.summary, workloads[w], "starved_connections"))
                chart_kind_draw(&p, &chart_kinds[k], workloads[w], slug);
        chart_spectrum(&p, workloads[w], slug);
    }
    const char *bases[PLOT_MAX_NAMES];
    size_t nb = plot_names(p.summary, "offered_of", bases, PLOT_MAX_NAMES);
    for (size_t b = 0; b < nb && b < PLOT_MAX_NAMES; b++)
        chart_axis(&p, bases[b], &offered_chart);
    nb = plot_names(p.summary, "idle_of", bases, PLOT_MAX_NAMES);
    for (size_t b = 0; b < nb && b < PLOT_MAX_NAMES; b++)
        chart_axis(&p, bases[b], &idle_chart);
    chart_memory(&p);
    json_decref(p.summary);
    printf("plot: %d charts (PNG and SVG) in %s\n", p.charts, p.plots);
    if (p.failures > 0) {
        fprintf(stderr, "iobench plot: %d charts failed\n", p.failures);
        return 1;
    }
    return 0;
}
