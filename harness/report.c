/* report: `iobench report [DIR]`, DIR/report.md and DIR/report.tex from a
 * results directory: machine and software, method, headline tables, verify
 * outcomes, failures and the charts `iobench plot` drew.
 *
 * Both documents are written side by side through one small set of
 * primitives (heading, paragraph, table, image), so they always say the
 * same. report.tex compiles on its own and can be \input as an appendix. */
#include "findings.h"
#include "iobench.h"
#include "plot.h"
#include "stats_mw.h"
#include "atomicfile.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPORT_MAX_NAMES 64
#define REPORT_MAX_LEVELS 32
#define REPORT_MAX_TRIALS 64
#define REPORT_MAX_FAILURES 40 /* listed; the rest are counted */
#define REPORT_CELL 128

struct doc {
    FILE *md, *tex;
    const char *dir;
};

static void md_escape(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (strchr("\\`*_[]<>|#", *s) != NULL)
            fputc('\\', f);
        fputc(*s, f);
    }
}

/* LaTeX text: specials escaped; non-ASCII (pdflatex without fonts for it)
 * becomes '?', except the micro sign of our units. */
static void tex_escape(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == 0xC2 && (unsigned char)s[1] == 0xB5) {
            fputs("$\\mu$", f);
            s++;
            continue;
        }
        switch (c) {
        case '\\':
            fputs("\\textbackslash{}", f);
            break;
        case '~':
            fputs("\\textasciitilde{}", f);
            break;
        case '^':
            fputs("\\textasciicircum{}", f);
            break;
        case '<':
            fputs("\\textless{}", f);
            break;
        case '>':
            fputs("\\textgreater{}", f);
            break;
        case '&':
        case '%':
        case '$':
        case '#':
        case '_':
        case '{':
        case '}':
            fputc('\\', f);
            fputc(c, f);
            break;
        default:
            fputc(c < 0x80 && c >= ' ' ? c : '?', f);
        }
    }
}

static void doc_heading(struct doc *d, int level, const char *text)
{
    static const char *const tex_cmd[] = {"section", "subsection", "subsubsection"};
    fprintf(d->md, "\n%.*s ", level + 1, "####");
    md_escape(d->md, text);
    fputc('\n', d->md);
    fprintf(d->tex, "\n\\%s{", tex_cmd[level < 0 ? 0 : level > 2 ? 2 : level]);
    tex_escape(d->tex, text);
    fputs("}\n", d->tex);
}

__attribute__((format(printf, 2, 3))) static void doc_para(struct doc *d, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fputc('\n', d->md);
    md_escape(d->md, buf);
    fputc('\n', d->md);
    fputc('\n', d->tex);
    tex_escape(d->tex, buf);
    fputc('\n', d->tex);
}

/* A table of nrows x ncols cells (row-major, row 0 the header); align is
 * one 'l' or 'r' a column. */
static void doc_table(struct doc *d, const char *align, size_t ncols, size_t nrows,
                      char (*cells)[REPORT_CELL])
{
    fputc('\n', d->md);
    fprintf(d->tex,
            "\n\\begin{center}\\footnotesize\\setlength{\\tabcolsep}{4pt}\n"
            "\\begin{tabular}{%s}\n\\toprule\n",
            align);
    for (size_t r = 0; r < nrows; r++) {
        fputc('|', d->md);
        for (size_t c = 0; c < ncols; c++) {
            fputc(' ', d->md);
            md_escape(d->md, cells[r * ncols + c]);
            fputs(" |", d->md);
            tex_escape(d->tex, cells[r * ncols + c]);
            fputs(c + 1 < ncols ? " & " : " \\\\\n", d->tex);
        }
        fputc('\n', d->md);
        if (r == 0) {
            fputc('|', d->md);
            for (size_t c = 0; c < ncols; c++)
                fputs(align[c] == 'r' ? " ---: |" : " --- |", d->md);
            fputc('\n', d->md);
            fputs("\\midrule\n", d->tex);
        }
    }
    fputs("\\bottomrule\n\\end{tabular}\n\\end{center}\n", d->tex);
}

/* A chart, when `iobench plot` drew it: DIR/plots/NAME.png. */
static bool doc_image(struct doc *d, const char *name, const char *caption)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/plots/%s.png", d->dir, name) >= (int)sizeof path ||
        access(path, R_OK) != 0)
        return false;
    fprintf(d->md, "\n![");
    md_escape(d->md, caption);
    fprintf(d->md, "](plots/%s.png)\n", name);
    /* name is a plot_slug: safe in a LaTeX file name as it is. */
    fprintf(d->tex,
            "\n\\begin{center}\n\\includegraphics[width=0.9\\linewidth,height=0.8\\textheight,"
            "keepaspectratio]{\\iobenchdir/plots/%s.png}"
            "\\\\\n{\\small ",
            name);
    tex_escape(d->tex, caption);
    fputs("}\n\\end{center}\n", d->tex);
    return true;
}

static const char *jstr(json_t *obj, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : dflt;
}

/* A JSON scalar as text ("-" for null or absent). */
static void jtext(json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        snprintf(buf, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, cap, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, cap, "%s", json_is_true(v) ? "yes" : "no");
    else
        snprintf(buf, cap, "-");
}

/* Integers of a JSON array as "0, 1"; "-" when empty. */
static void jlist(json_t *arr, char *buf, size_t cap)
{
    size_t i, o = 0;
    json_t *v;
    buf[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        char one[64];
        jtext(v, one, sizeof one);
        int n = snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", one);
        if (n < 0 || (size_t)n >= cap - o)
            break;
        o += (size_t)n;
    }
    if (o == 0)
        snprintf(buf, cap, "-");
}

static void section_machine(struct doc *d, json_t *s)
{
    json_t *env = json_object_get(s, "env");
    static const char *const rows[][2] = {{"hostname", "host"},
                                          {"kernel", "kernel"},
                                          {"cpu_model", "CPU"},
                                          {"cores", "cores"},
                                          {"mem_total_kb", "memory (KiB)"},
                                          {"libcurl", "libcurl"},
                                          {"ioserve_version", "ioserve version"}};
    size_t n = sizeof rows / sizeof rows[0];
    char(*cells)[REPORT_CELL] = calloc((n + 3) * 2, REPORT_CELL);
    if (cells == NULL)
        return;
    snprintf(cells[0], REPORT_CELL, "what");
    snprintf(cells[1], REPORT_CELL, "value");
    for (size_t i = 0; i < n; i++) {
        snprintf(cells[(i + 1) * 2], REPORT_CELL, "%s", rows[i][1]);
        jtext(json_object_get(env, rows[i][0]), cells[(i + 1) * 2 + 1], REPORT_CELL);
    }
    snprintf(cells[(n + 1) * 2], REPORT_CELL, "iobench version");
    jtext(json_object_get(s, "iobench_version"), cells[(n + 1) * 2 + 1], REPORT_CELL);
    snprintf(cells[(n + 2) * 2], REPORT_CELL, "git commit");
    jtext(json_object_get(s, "git_commit"), cells[(n + 2) * 2 + 1], REPORT_CELL);
    doc_heading(d, 1, "Machine and software");
    doc_table(d, "ll", 2, n + 3, cells);
    free(cells);
}

static void section_method(struct doc *d, json_t *s)
{
    json_t *suite = json_object_get(s, "suite");
    char trials[32], dur[32], warm[32], thr[32], tmo[32], cpus_s[128], cpus_l[128];
    jtext(json_object_get(suite, "trials"), trials, sizeof trials);
    jtext(json_object_get(suite, "duration_s"), dur, sizeof dur);
    jtext(json_object_get(suite, "warmup_s"), warm, sizeof warm);
    jtext(json_object_get(suite, "threads"), thr, sizeof thr);
    jtext(json_object_get(suite, "timeout_s"), tmo, sizeof tmo);
    doc_heading(d, 1, "Method");
    /* A suite file is named only by its path inside the checkout: an
     * absolute path (older summaries) says nothing about the results. */
    const char *file = jstr(suite, "file", "");
    if (file[0] != '\0' && file[0] != '/')
        doc_para(d, "Suite \"%s\" (%s): %s", jstr(suite, "name", "?"), file,
                 jstr(suite, "description", ""));
    else
        doc_para(d, "Suite \"%s\": %s", jstr(suite, "name", "?"), jstr(suite, "description", ""));
    doc_para(d,
             "Each case (server model, workload, concurrency) ran %s trials. In each trial a "
             "fresh ioserve served the load of ioload, in closed loop: every connection sends "
             "its next request as soon as the previous response arrived. ioload ran %s "
             "thread(s) for %s s after a warm-up of %s s, with a request timeout of %s s. "
             "Figures are the median over the trials; their spread is given as min..max over "
             "the trials (too few for a confidence interval of the median), in the tables and "
             "as whiskers and bands in the charts.",
             trials, thr, dur, warm, tmo);
    json_t *pin = json_object_get(s, "pinning");
    if (json_is_true(json_object_get(pin, "enabled"))) {
        jlist(json_object_get(pin, "server_cpus"), cpus_s, sizeof cpus_s);
        jlist(json_object_get(pin, "load_cpus"), cpus_l, sizeof cpus_l);
        doc_para(d, "CPU pinning: the server ran on CPU(s) %s, the load generator on %s.", cpus_s,
                 cpus_l);
    } else {
        doc_para(d, "CPU pinning: off (%s).", jstr(pin, "reason", "not requested"));
    }
    /* The CPU plan and load tasks (iobench run; absent from older results). */
    if (json_is_integer(json_object_get(pin, "load_tasks"))) {
        jlist(json_object_get(pin, "allowed_cpus"), cpus_s, sizeof cpus_s);
        doc_para(d,
                 "Load: %d ioload process(es) per run, their results merged exactly; the CPUs "
                 "allowed were %s.",
                 (int)json_integer_value(json_object_get(pin, "load_tasks")), cpus_s);
    }

    json_t *wls = json_object_get(suite, "workloads");
    size_t nw = json_array_size(wls), i;
    char(*cells)[REPORT_CELL] = calloc((nw + 1) * 5, REPORT_CELL);
    if (cells == NULL)
        return;
    static const char *const head[] = {"workload", "request", "keep-alive", "concurrency levels",
                                       "extra connections"};
    for (size_t c = 0; c < 5; c++)
        snprintf(cells[c], REPORT_CELL, "%s", head[c]);
    json_t *w;
    json_array_foreach(wls, i, w)
    {
        char(*row)[REPORT_CELL] = &cells[(i + 1) * 5];
        json_t *ka = json_object_get(w, "keepalive");
        snprintf(row[0], REPORT_CELL, "%s", jstr(w, "name", "?"));
        snprintf(row[1], REPORT_CELL, "%s %s", jstr(w, "method", "GET"), jstr(w, "path", "/"));
        snprintf(row[2], REPORT_CELL, "%s", json_is_false(ka) ? "no" : "yes");
        jlist(json_object_get(w, "levels"), row[3], REPORT_CELL);
        json_int_t idle = json_integer_value(json_object_get(w, "idle"));
        json_int_t slow = json_integer_value(json_object_get(w, "slow_clients"));
        if (idle > 0 || slow > 0)
            snprintf(row[4], REPORT_CELL,
                     "%" JSON_INTEGER_FORMAT " idle, %" JSON_INTEGER_FORMAT " slow", idle, slow);
        else
            snprintf(row[4], REPORT_CELL, "-");
    }
    doc_table(d, "lllll", 5, nw + 1, cells);
    free(cells);
}

/* A bulleted list, one item per string. */
static void doc_list(struct doc *d, const char *const *items, size_t n)
{
    fputc('\n', d->md);
    fputs("\n\\begin{itemize}\n", d->tex);
    for (size_t i = 0; i < n; i++) {
        fputs("- ", d->md);
        md_escape(d->md, items[i]);
        fputc('\n', d->md);
        fputs("\\item ", d->tex);
        tex_escape(d->tex, items[i]);
        fputc('\n', d->tex);
    }
    fputs("\\end{itemize}\n", d->tex);
}

static void section_findings(struct doc *d, json_t *s)
{
    enum { CAP = 64 };
    struct finding *f = calloc(CAP, sizeof *f);
    const char *items[CAP];
    if (f == NULL)
        return;
    size_t n = findings_compute(s, f, CAP), shown = n < CAP ? n : CAP;
    for (size_t i = 0; i < shown; i++)
        items[i] = f[i].text;
    doc_heading(d, 1, "Findings");
    if (n == 0) {
        doc_para(d, "No rule of iobench's findings fired on these results.");
    } else {
        doc_para(d, "Computed from the results below by fixed rules (harness/findings.c); "
                    "figures are medians over the trials of each case.");
        doc_list(d, items, shown);
    }
    if (shown < n)
        doc_para(d, "... and %zu more.", n - shown);
    free(f);
}

static const char *const table_head[] = {"model",   "conn.",     "req/s",      "min..max",
                                         "p50 µs",  "p99 µs",    "CPU µs/req", "RSS MiB",
                                         "starved", "unfinished"};
#define TABLE_COLS (sizeof table_head / sizeof table_head[0])

/* One row of a workload's table; true when its throughput is a lower bound. */
static bool workload_row(json_t *s, const char *model, const char *wl, long level,
                         char (*row)[REPORT_CELL])
{
    struct plot_stat t = plot_stat(s, model, wl, level, "throughput_rps");
    static const char *const rest[][2] = {{"latency_us.p50", "%.0f"},
                                          {"latency_us.p99", "%.0f"},
                                          {"server.cpu_per_request_us", "%.1f"},
                                          {"server.rss_peak_kb", "%.1f"},
                                          {"starved_connections", "%.0f"},
                                          {"unfinished", "%.0f"}};
    bool sat = plot_saturated(s, model, wl, level) > 0;
    snprintf(row[0], REPORT_CELL, "%s", model);
    snprintf(row[1], REPORT_CELL, "%ld", level);
    snprintf(row[2], REPORT_CELL, "%.0f%s", t.median, sat ? FINDINGS_LOWER_BOUND_MARK : "");
    snprintf(row[3], REPORT_CELL, "%.0f..%.0f", t.min, t.max);
    for (size_t k = 0; k < sizeof rest / sizeof rest[0]; k++) {
        struct plot_stat v = plot_stat(s, model, wl, level, rest[k][0]);
        double scale = strcmp(rest[k][0], "server.rss_peak_kb") == 0 ? 1.0 / 1024.0 : 1.0;
        if (v.n == 0) {
            snprintf(row[4 + k], REPORT_CELL, "-");
            continue;
        }
        /* rest[k][1] is one of the literal formats above. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(row[4 + k], REPORT_CELL, rest[k][1], v.median * scale);
#pragma GCC diagnostic pop
    }
    return sat;
}

/* Every model at every level of one workload, in one table. */
static void workload_table(struct doc *d, json_t *s, const char *wl, const char **models, size_t nm)
{
    long levels[REPORT_MAX_LEVELS];
    size_t nl = plot_levels(s, NULL, wl, levels, REPORT_MAX_LEVELS), rows = 1;
    nl = nl < REPORT_MAX_LEVELS ? nl : REPORT_MAX_LEVELS;
    char(*cells)[REPORT_CELL] = calloc((nm * nl + 1) * TABLE_COLS, REPORT_CELL);
    if (cells == NULL)
        return;
    for (size_t c = 0; c < TABLE_COLS; c++)
        snprintf(cells[c], REPORT_CELL, "%s", table_head[c]);
    bool marked = false;
    for (size_t m = 0; m < nm; m++)
        for (size_t l = 0; l < nl; l++) {
            if (plot_stat(s, models[m], wl, levels[l], "throughput_rps").n == 0)
                continue;
            marked |= workload_row(s, models[m], wl, levels[l], &cells[rows * TABLE_COLS]);
            rows++;
        }
    if (rows == 1)
        doc_para(d, "No successful run of this workload.");
    else
        doc_table(d, "lrrrrrrrrr", TABLE_COLS, rows, cells);
    if (marked)
        doc_para(d,
                 "%s: ioload was saturated in at least one trial of this case, so the throughput "
                 "is a lower bound (the server may be faster) and the latency includes ioload's "
                 "own delay.",
                 FINDINGS_LOWER_BOUND_MARK);
    free(cells);
}

/* What one workload sends and holds fixed, in one sentence. */
static void workload_intro(struct doc *d, json_t *s, const char *wl)
{
    json_t *w = NULL, *v;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(s, "suite"), "workloads"), i, v)
    {
        if (strcmp(jstr(v, "name", ""), wl) == 0)
            w = v;
    }
    char levels[REPORT_CELL], extras[REPORT_CELL] = "";
    jlist(json_object_get(w, "levels"), levels, sizeof levels);
    json_int_t idle = json_integer_value(json_object_get(w, "idle"));
    json_int_t slow = json_integer_value(json_object_get(w, "slow_clients"));
    if (idle > 0)
        snprintf(extras, sizeof extras, "; beside them %" JSON_INTEGER_FORMAT " idle connections",
                 idle);
    else if (slow > 0)
        snprintf(extras, sizeof extras, "; beside them %" JSON_INTEGER_FORMAT " slow clients",
                 slow);
    doc_para(d,
             "Request %s %s, %s; %s concurrent connection(s)%s. Medians over the trials of each "
             "case; min..max is the spread of the throughput over them; starved: connections "
             "that got no response; unfinished: requests still waiting at the end.",
             jstr(w, "method", "GET"), jstr(w, "path", "/"),
             json_is_false(json_object_get(w, "keepalive")) ? "a new connection per request"
                                                            : "keep-alive",
             levels, extras);
}

static void section_workloads(struct doc *d, json_t *s, const char **models, size_t nm,
                              const char **workloads, size_t nw)
{
    static const char *const kinds[][2] = {{"throughput", "throughput"},
                                           {"latency", "p50 and p99 latency"},
                                           {"cpu", "server CPU time per request"},
                                           {"unanswered", "connections without a response"},
                                           {"spectrum", "latency by percentile"}};
    for (size_t w = 0; w < nw; w++) {
        char title[256], slug[128];
        snprintf(title, sizeof title, "Workload %s", workloads[w]);
        doc_heading(d, 1, title);
        workload_intro(d, s, workloads[w]);
        workload_table(d, s, workloads[w], models, nm);
        plot_slug(workloads[w], slug, sizeof slug);
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            char name[192], caption[256];
            snprintf(name, sizeof name, "%s-%s", kinds[k][0], slug);
            snprintf(caption, sizeof caption, "%s: %s", workloads[w], kinds[k][1]);
            doc_image(d, name, caption);
        }
    }
}

static const char *const offered_head[] = {"model",    "offered",         "req/s offered",
                                           "req/s",    "p50 µs",          "p99 µs",
                                           "p99.9 µs", "send lag p99 µs", "late %"};

/* One model at one offered fraction: -1 when it has no successful run,
 * else 1 when ioload was saturated in a trial, 0 when not. */
static int offered_row(json_t *s, const char *model, const char *wl, long level, double frac,
                       double *base, char (*row)[REPORT_CELL])
{
    static const char *const fields[] = {"offered_rps",      "throughput_rps",
                                         "latency_us.p50",   "latency_us.p99",
                                         "latency_us.p99_9", "open_loop.send_lag_p99_ns"};
    (void)base;
    struct plot_stat v[6];
    for (size_t k = 0; k < 6; k++) {
        v[k] = plot_stat(s, model, wl, level, fields[k]);
        if (v[k].n == 0 && k < 4)
            return -1;
    }
    struct plot_stat late = plot_stat(s, model, wl, level, "open_loop.late");
    struct plot_stat sched = plot_stat(s, model, wl, level, "open_loop.scheduled");
    bool sat = plot_saturated(s, model, wl, level) > 0;
    snprintf(row[0], REPORT_CELL, "%s", model);
    snprintf(row[1], REPORT_CELL, "%.0f%%", frac * 100);
    snprintf(row[2], REPORT_CELL, "%.0f", v[0].median);
    snprintf(row[3], REPORT_CELL, "%.0f%s", v[1].median, sat ? FINDINGS_LOWER_BOUND_MARK : "");
    snprintf(row[4], REPORT_CELL, "%.0f", v[2].median);
    snprintf(row[5], REPORT_CELL, "%.0f", v[3].median);
    snprintf(row[6], REPORT_CELL, v[4].n ? "%.0f" : "-", v[4].median);
    snprintf(row[7], REPORT_CELL, v[5].n ? "%.0f" : "-", v[5].median / 1e3);
    snprintf(row[8], REPORT_CELL, sched.n && sched.median > 0 ? "%.1f" : "-",
             100.0 * late.median / sched.median);
    return sat ? 1 : 0;
}

static const char *const idle_head[] = {"model",    "idle",      "req/s",
                                        "min..max", "x no idle", "p99 µs"};

/* One model at one idle level, its throughput also as a ratio to *base, its
 * own with no idle connection (set here when idle is 0): as offered_row. */
static int idle_row(json_t *s, const char *model, const char *wl, long level, double idle,
                    double *base, char (*row)[REPORT_CELL])
{
    struct plot_stat t = plot_stat(s, model, wl, level, "throughput_rps");
    struct plot_stat p99 = plot_stat(s, model, wl, level, "latency_us.p99");
    if (t.n == 0)
        return -1;
    if (idle == 0)
        *base = t.median;
    bool sat = plot_saturated(s, model, wl, level) > 0;
    snprintf(row[0], REPORT_CELL, "%s", model);
    snprintf(row[1], REPORT_CELL, "%.0f", idle);
    snprintf(row[2], REPORT_CELL, "%.0f%s", t.median, sat ? FINDINGS_LOWER_BOUND_MARK : "");
    snprintf(row[3], REPORT_CELL, "%.0f..%.0f", t.min, t.max);
    snprintf(row[4], REPORT_CELL, *base > 0 ? "%.2f" : "-", t.median / *base);
    snprintf(row[5], REPORT_CELL, p99.n ? "%.0f" : "-", p99.median);
    return sat ? 1 : 0;
}

/* A workload whose cases lie along one axis (offered fractions, idle
 * levels): a section with one table and one chart per connection level. */
struct axis_section {
    const char *of_key, *value_key; /* as the summary's cases name them */
    const char *kind;               /* in the heading */
    const char *intro;
    const char *const *head;
    size_t ncols;
    const char *align;
    const char *level_para; /* %ld: the connections */
    const char *chart;      /* the chart's name prefix */
    const char *caption;    /* after the workload's name */
    int (*row)(json_t *s, const char *model, const char *wl, long level, double value, double *base,
               char (*row)[REPORT_CELL]);
};

/* The table of every model at every case of one level; true when a cell
 * carries the saturation mark. */
static bool axis_table(struct doc *d, json_t *s, const struct axis_section *ax, const char **models,
                       size_t nm, const char *const *cases, const double *vals, size_t nc,
                       long level)
{
    char(*cells)[REPORT_CELL] = calloc((nm * nc + 1) * ax->ncols, REPORT_CELL);
    if (cells == NULL)
        return false;
    for (size_t c = 0; c < ax->ncols; c++)
        snprintf(cells[c], REPORT_CELL, "%s", ax->head[c]);
    size_t rows = 1;
    bool marked = false;
    for (size_t m = 0; m < nm; m++) {
        double base = 0;
        for (size_t c = 0; c < nc; c++) {
            int rc =
                ax->row(s, models[m], cases[c], level, vals[c], &base, &cells[rows * ax->ncols]);
            marked |= rc == 1;
            rows += rc >= 0;
        }
    }
    if (rows > 1)
        doc_table(d, ax->align, ax->ncols, rows, cells);
    free(cells);
    return marked;
}

static void section_axis(struct doc *d, json_t *s, const char **models, size_t nm,
                         const struct axis_section *ax)
{
    const char *bases[REPORT_MAX_NAMES];
    size_t nb = plot_names(s, ax->of_key, bases, REPORT_MAX_NAMES);
    for (size_t b = 0; b < nb && b < REPORT_MAX_NAMES; b++) {
        const char *cases[REPORT_MAX_LEVELS];
        double vals[REPORT_MAX_LEVELS];
        size_t nc =
            plot_axis_cases(s, ax->of_key, bases[b], ax->value_key, cases, vals, REPORT_MAX_LEVELS);
        long levels[REPORT_MAX_LEVELS];
        size_t nl = nc ? plot_levels(s, NULL, cases[0], levels, REPORT_MAX_LEVELS) : 0;
        char title[256], slug[128];
        snprintf(title, sizeof title, "Workload %s (%s)", bases[b], ax->kind);
        doc_heading(d, 1, title);
        doc_para(d, "%s", ax->intro);
        plot_slug(bases[b], slug, sizeof slug);
        for (size_t l = 0; l < nl; l++) {
            /* ax->level_para is one of the literal formats below. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
            doc_para(d, ax->level_para, levels[l]);
#pragma GCC diagnostic pop
            if (axis_table(d, s, ax, models, nm, cases, vals, nc, levels[l]))
                doc_para(d, "%s: ioload was saturated in a trial of this case.",
                         FINDINGS_LOWER_BOUND_MARK);
            char name[192], caption[256];
            snprintf(name, sizeof name, "%s-%s-c%ld", ax->chart, slug, levels[l]);
            snprintf(caption, sizeof caption, "%s: %s", bases[b], ax->caption);
            doc_image(d, name, caption);
        }
    }
}

/* Open-loop workloads: every model at every offered fraction, one table
 * per level, and the latency-against-offered-load chart. */
static const struct axis_section offered_section = {
    "offered_of",
    "offered_fraction",
    "open loop",
    "Open loop: each model is offered fixed fractions of its own closed-loop capacity (the "
    "median throughput of its capacity workload at the same connections, measured earlier in "
    "this run). Latency is corrected: from each request's due time, so a server that falls "
    "behind is charged for the wait. Send lag is how late ioload sent; late: sent over 1 ms "
    "after the due time.",
    offered_head,
    sizeof offered_head / sizeof offered_head[0],
    "lrrrrrrrr",
    "%ld connections.",
    "offered",
    "latency, achieved rate and send lag against offered load",
    offered_row};

/* Idle-connection workloads: every model's throughput at every idle level,
 * as a ratio to its own throughput with none, and the chart. */
static const struct axis_section idle_section = {
    "idle_of",
    "idle_connections",
    "idle connections",
    "A fixed busy load, and beside it idle keep-alive connections that sent one request and "
    "stay silent: what an idle connection costs each model (Gammo et al., OLS 2004, measured "
    "select and poll against epoll this way).",
    idle_head,
    sizeof idle_head / sizeof idle_head[0],
    "lrrrrr",
    "%ld busy connections.",
    "idle",
    "throughput against idle connections",
    idle_row};

static void section_verify(struct doc *d, json_t *s)
{
    json_t *v = json_object_get(s, "verify");
    doc_heading(d, 1, "Verification");
    size_t n = json_object_size(v), r = 1;
    if (n == 0) {
        doc_para(d, "No verification was recorded.");
        return;
    }
    char(*cells)[REPORT_CELL] = calloc((n + 1) * 3, REPORT_CELL);
    if (cells == NULL)
        return;
    snprintf(cells[0], REPORT_CELL, "model");
    snprintf(cells[1], REPORT_CELL, "outcome");
    snprintf(cells[2], REPORT_CELL, "failed checks");
    const char *model;
    json_t *o;
    json_object_foreach(v, model, o)
    {
        snprintf(cells[r * 3], REPORT_CELL, "%s", model);
        snprintf(cells[r * 3 + 1], REPORT_CELL, "%s",
                 json_is_true(json_object_get(o, "ok")) ? "ok" : "FAILED");
        jlist(json_object_get(o, "failed_checks"), cells[r * 3 + 2], REPORT_CELL);
        r++;
    }
    doc_table(d, "lll", 3, n + 1, cells);
    free(cells);
}

static void section_failures(struct doc *d, json_t *s)
{
    json_t *f = json_object_get(s, "failures");
    size_t n = json_array_size(f), shown = n < REPORT_MAX_FAILURES ? n : REPORT_MAX_FAILURES;
    doc_heading(d, 1, "Failures");
    if (n == 0) {
        doc_para(d, "None: every run completed.");
        return;
    }
    char(*cells)[REPORT_CELL] = calloc((shown + 1) * 5, REPORT_CELL);
    if (cells == NULL)
        return;
    static const char *const head[] = {"model", "workload", "concurrency", "trial", "reason"};
    static const char *const keys[] = {"model", "workload", "concurrency", "trial", "reason"};
    for (size_t c = 0; c < 5; c++)
        snprintf(cells[c], REPORT_CELL, "%s", head[c]);
    for (size_t i = 0; i < shown; i++)
        for (size_t c = 0; c < 5; c++)
            jtext(json_object_get(json_array_get(f, i), keys[c]), cells[(i + 1) * 5 + c],
                  REPORT_CELL);
    doc_table(d, "llrrl", 5, shown + 1, cells);
    if (shown < n)
        doc_para(d, "... and %zu more failures (see summary.json).", n - shown);
    free(cells);
}

static void section_other_charts(struct doc *d)
{
    doc_heading(d, 1, "Memory and comparison");
    int shown = doc_image(d, "memory", "server peak RSS against open connections (all workloads)");
    shown += doc_image(d, "compare", "change of the medians against a baseline");
    if (shown == 0)
        doc_para(d, "No charts yet: run iobench plot on this directory, then this report again.");
}

static const char tex_head[] =
    "% iobench report. Compiles on its own: pdflatex report.tex (from its\n"
    "% directory). Or include it as an appendix of your own document, which\n"
    "% must load graphicx and booktabs:\n"
    "%   \\appendix\n"
    "%   \\newcommand{\\iobenchdir}{path/to/this/results/directory}\n"
    "%   \\input{path/to/this/results/directory/report.tex}\n"
    "\\makeatletter\n"
    "\\ifx\\documentclass\\@twoclasseserror\n"
    "  \\let\\iobenchbegin\\relax\n"
    "  \\let\\iobenchend\\relax\n"
    "\\else\n"
    "  \\documentclass[a4paper,11pt]{article}\n"
    "  \\usepackage{graphicx}\n"
    "  \\usepackage{booktabs}\n"
    "  \\usepackage[margin=2cm]{geometry}\n"
    "  \\def\\iobenchbegin{\\begin{document}}\n"
    "  \\def\\iobenchend{\\end{document}}\n"
    "\\fi\n"
    "\\makeatother\n"
    "\\providecommand{\\iobenchdir}{.}\n"
    "\\iobenchbegin\n";

static int write_docs(json_t *s, const char *dir)
{
    char *md_buf = NULL, *tex_buf = NULL;
    size_t md_len = 0, tex_len = 0;
    struct doc d = {.md = open_memstream(&md_buf, &md_len),
                    .tex = open_memstream(&tex_buf, &tex_len),
                    .dir = dir};
    if (d.md == NULL || d.tex == NULL) {
        if (d.md)
            fclose(d.md);
        if (d.tex)
            fclose(d.tex);
        free(md_buf);
        free(tex_buf);
        return -1;
    }
    const char *models[REPORT_MAX_NAMES], *workloads[REPORT_MAX_NAMES];
    size_t nm = plot_names(s, "model", models, REPORT_MAX_NAMES);
    size_t nw = plot_names(s, "workload", workloads, REPORT_MAX_NAMES);
    nm = nm < REPORT_MAX_NAMES ? nm : REPORT_MAX_NAMES;
    nw = nw < REPORT_MAX_NAMES ? nw : REPORT_MAX_NAMES;
    json_t *suite = json_object_get(s, "suite");

    fputs(tex_head, d.tex);
    char title[256];
    snprintf(title, sizeof title, "iobench results: suite %s", jstr(suite, "name", "?"));
    fprintf(d.md, "<!-- written by iobench report %s; do not edit, run it again -->\n",
            IOBENCH_VERSION);
    doc_heading(&d, 0, title);
    doc_para(&d, "Measured from %s to %s, git commit %s.", jstr(s, "start", "?"),
             jstr(s, "end", "?"), jstr(s, "git_commit", "unknown"));
    if (!json_is_true(json_object_get(s, "complete")))
        doc_para(&d,
                 "WARNING: this run is incomplete (%s); its figures cover only the cases "
                 "that ran.",
                 jstr(s, "incomplete_reason", "reason unknown"));
    char list[1024];
    size_t o = 0;
    list[0] = '\0';
    for (size_t m = 0; m < nm && o < sizeof list; m++) {
        int n = snprintf(list + o, sizeof list - o, "%s%s", m ? ", " : "", models[m]);
        o += n > 0 ? (size_t)n : 0;
    }
    doc_para(&d, "Server models compared: %s.", nm ? list : "none");

    section_findings(&d, s);
    section_machine(&d, s);
    section_method(&d, s);
    section_workloads(&d, s, models, nm, workloads, nw);
    section_axis(&d, s, models, nm, &offered_section);
    section_axis(&d, s, models, nm, &idle_section);
    section_other_charts(&d);
    section_verify(&d, s);
    section_failures(&d, s);
    fputs("\n\\iobenchend\n", d.tex);

    int rc = 0;
    if (fclose(d.md) != 0 || fclose(d.tex) != 0)
        rc = -1;
    char path[PATH_MAX];
    if (rc == 0 && (snprintf(path, sizeof path, "%s/report.md", dir) >= (int)sizeof path ||
                    atomicfile_write(path, md_buf, md_len) != 0 ||
                    snprintf(path, sizeof path, "%s/report.tex", dir) >= (int)sizeof path ||
                    atomicfile_write(path, tex_buf, tex_len) != 0)) {
        fprintf(stderr, "iobench report: %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    free(md_buf);
    free(tex_buf);
    return rc;
}

static void report_usage(FILE *f)
{
    fputs("usage: iobench report [DIR]\n"
          "  Writes DIR/report.md and DIR/report.tex (default DIR results/latest):\n"
          "  machine, method, headline tables, verification, failures and the charts\n"
          "  of `iobench plot`. report.tex compiles alone or \\input's as an appendix.\n",
          f);
}

int report_main(int argc, char **argv)
{
    const char *dir;
    int rc = plot_dir_args("report", argc, argv, report_usage, &dir);
    if (rc >= 0)
        return rc;
    char err[512];
    json_t *s = plot_load_summary(dir, err, sizeof err);
    if (s == NULL) {
        fprintf(stderr, "iobench report: %s\n", err);
        return 1;
    }
    rc = write_docs(s, dir);
    json_decref(s);
    if (rc != 0)
        return 1;
    printf("report: %s/report.md and %s/report.tex\n", dir, dir);
    return 0;
}
