/* plot: `iobench plot` and what compare and report share with it: reading
 * a results directory's summary.json and drawing charts with gnuplot.
 *
 * Charts are data plus a script: the C side writes whitespace-separated
 * .dat files and runs gnuplot (a child process, by pid) on plots/NAME.gp,
 * once for PNG (pngcairo) and once for SVG. */
#ifndef IOBENCH_PLOT_H
#define IOBENCH_PLOT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Loads DIR/summary.json and checks it is an iobench-summary v1 with a
 * "runs" array. NULL with a one-line reason in err otherwise. */
json_t *plot_load_summary(const char *dir, char *err, size_t errlen);
/* The distinct values of the string field key ("model", "workload") over
 * summary's runs, in order of first appearance; pointers into summary.
 * Points of an extra axis (runs with offered_of or idle_of) are not listed
 * as workloads: their workload's offered-load or idle chart draws them. Returns how many (at
 * most cap are stored). */
size_t plot_names(json_t *summary, const char *key, const char **out, size_t cap);
/* The distinct concurrency levels, ascending, at which model (NULL: any)
 * has at least one run with status "ok" in workload. Returns how many. */
size_t plot_levels(json_t *summary, const char *model, const char *workload, long *out, size_t cap);
/* The number at dotted path field ("latency_us.p99") of every "ok" run of
 * one case, into out. Returns how many (at most cap). */
size_t plot_samples(json_t *summary, const char *model, const char *workload, long concurrency,
                    const char *field, double *out, size_t cap);
/* The highest level at which every one of models that ran workload has an
 * "ok" run; 0 when there is none. */
long plot_common_level(json_t *summary, const char *const *models, size_t nmodels,
                       const char *workload);
/* Median, min and max over the "ok" runs of one case of the number at a
 * dotted path field; n == 0 (and NANs) when no run has it. */
struct plot_stat {
    size_t n;
    double median, min, max;
};
struct plot_stat plot_stat(json_t *summary, const char *model, const char *workload,
                           long concurrency, const char *field);
/* How many "ok" runs of one case had load_saturated true: ioload, not the
 * server, may have set their pace, so their throughput is a lower bound. */
size_t plot_saturated(json_t *summary, const char *model, const char *workload, long concurrency);
/* Copies s into buf keeping [A-Za-z0-9-] and turning anything else into
 * '-', for file names that LaTeX, gnuplot and shells take as they are. */
char *plot_slug(const char *s, char *buf, size_t cap);
/* The cases of one workload's extra axis (runs whose of_key, "offered_of"
 * or "idle_of", is base): their case names ("base@50%", "base@1000idle")
 * and values of value_key ("offered_fraction", "idle_connections"),
 * ascending. Returns how many (at most cap). */
size_t plot_axis_cases(json_t *summary, const char *of_key, const char *base,
                       const char *value_key, const char **out, double *vals, size_t cap);
/* The directory holding the gnuplot scripts: $IOBENCH_PLOTS_DIR, else the
 * source tree's plots/. */
const char *plot_scripts_dir(void);
/* Renders script (a file name in plot_scripts_dir()) on datafile into
 * outbase.png and outbase.svg, each written atomically. vars, when not
 * NULL, are extra gnuplot assignments ("a=1; b='x'"). 0, or -1 after one
 * line on stderr (gnuplot missing, failed, or wrote nothing). */
int plot_render(const char *script, const char *datafile, const char *outbase, const char *title,
                const char *vars);
/* Parses `iobench CMD [--help] [DIR]` for plot and report: -1 with *dir
 * set (DIR or results/latest) to go on, else the exit status (0 after
 * usage(stdout), 2 after one line on stderr). */
int plot_dir_args(const char *cmd, int argc, char **argv, void (*usage)(FILE *), const char **dir);
/* gnuplot's single-quoted string body for s (quotes doubled) into buf;
 * NULL when it does not fit. */
char *plot_quote(const char *s, char *buf, size_t cap);

#endif
