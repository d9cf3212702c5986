/* history_chart: the charts and index.html of `iobench history` (see
 * history.h).
 *
 * One chart per workload, concurrency and metric, x = the commits in
 * order, a line per model through the median of its trials at each commit
 * and a band from their min to max. Change points, and the commits where the
 * fingerprint changed, are vertical lines written into a small gnuplot
 * file (OUT/data/NAME.markers.gp) that plots/history.gp loads. A history
 * longer than --max-points is drawn in buckets of consecutive commits (the
 * median of the medians, the min of the mins, the max of the maxes); the
 * detection always saw every trial. */
#include "history.h"

#include "atomicfile.h"
#include "plot.h"
#include "stats_mw.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_XTICS 16 /* commit names on the x axis, at most */

/* One drawn chart, for index.html. */
struct drawn {
    char name[200];
    size_t first_case; /* any case of the chart: its workload and concurrency */
    size_t metric;
    size_t regressions, improvements;
};

struct charter {
    const struct history *h;
    char data[PATH_MAX];
    size_t *case_lo, *case_hi; /* each case's range of h->obs */
    double *buf;               /* one commit's trials */
    struct drawn *drawn;
    size_t ndrawn;
};

/* One point of a model's line. */
struct point {
    double x, median, min, max;
    size_t segment;
};

/* The per-commit points of one case and metric into pts; returns how many. */
static size_t case_points(struct charter *ch, size_t case_idx, size_t metric, struct point *pts)
{
    const struct history *h = ch->h;
    size_t n = 0;
    for (size_t i = ch->case_lo[case_idx]; i < ch->case_hi[case_idx];) {
        size_t commit = h->obs[i].commit, k = 0;
        for (; i < ch->case_hi[case_idx] && h->obs[i].commit == commit; i++)
            if (h->obs[i].has[metric])
                ch->buf[k++] = h->obs[i].v[metric];
        if (k == 0)
            continue;
        pts[n++] = (struct point){(double)commit, stats_median(ch->buf, k), stats_min(ch->buf, k),
                                  stats_max(ch->buf, k), h->commits[commit].segment};
    }
    return n;
}

/* Buckets of k consecutive points (never across segments) into one each. */
static size_t thin(struct point *pts, size_t n, size_t max_points, double *medians)
{
    if (n <= max_points)
        return n;
    size_t k = (n + max_points - 1) / max_points, out = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        struct point agg = {0, 0, pts[i].min, pts[i].max, pts[i].segment};
        for (; j < n && j - i < k && pts[j].segment == pts[i].segment; j++) {
            agg.x += pts[j].x;
            agg.min = fmin(agg.min, pts[j].min);
            agg.max = fmax(agg.max, pts[j].max);
            medians[j - i] = pts[j].median;
        }
        agg.x /= (double)(j - i);
        agg.median = stats_median(medians, j - i);
        pts[out++] = agg;
        i = j;
    }
    return out;
}

/* A name as one double-quoted gnuplot column header. */
static void dat_header(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++)
        fputc(*s == '"' || (unsigned char)*s < ' ' ? '_' : *s, f);
    fputs("\"\n", f);
}

/* One block per model of the chart's cases; a blank line breaks a line
 * where the segment changes. Returns the number of blocks. */
static int write_blocks(struct charter *ch, FILE *f, const size_t *cases, size_t ncases,
                        size_t metric, struct point *pts, double *medians)
{
    int blocks = 0;
    for (size_t c = 0; c < ncases; c++) {
        size_t n = case_points(ch, cases[c], metric, pts);
        n = thin(pts, n, (size_t)ch->h->opts.max_points, medians);
        if (n == 0)
            continue;
        dat_header(f, ch->h->cases[cases[c]].model);
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && pts[i].segment != pts[i - 1].segment)
                fputc('\n', f);
            fprintf(f, "%.6g %.6g %.6g %.6g\n", pts[i].x, pts[i].median, pts[i].min, pts[i].max);
        }
        fputs("\n\n", f);
        blocks++;
    }
    return blocks;
}

/* A vertical line at x with a label, in the markers file. */
static void marker(FILE *f, double x, const char *color, const char *dash, const char *text,
                   const char *where)
{
    char q[512];
    fprintf(f,
            "set arrow from %.1f, graph 0 to %.1f, graph 1 nohead lc rgb '%s' dt %s lw 1.5 front\n",
            x, x, color, dash);
    if (plot_quote(text, q, sizeof q) != NULL)
        fprintf(f,
                "set label '%s' at %.1f, %s rotate by 90 offset 1,0 noenhanced textcolor rgb '%s' "
                "font ',8' "
                "front\n",
                q, x, where, color);
}

static void xtics(FILE *f, const struct history *h)
{
    size_t step = (h->ncommits + HIST_XTICS - 1) / HIST_XTICS;
    char name[16], q[64];
    fprintf(f, "set xrange [-0.5:%zu.5]\nset xtics (", h->ncommits - 1);
    for (size_t i = 0; i < h->ncommits; i += step)
        fprintf(f, "%s'%s' %zu", i > 0 ? ", " : "",
                plot_quote(hist_commit_name(h, i, name, sizeof name), q, sizeof q) ? q : "?", i);
    fputs(") rotate by 45 right noenhanced font ',8'\n", f);
}

/* Segment changes, the chart's change points and the detection's
 * parameters, as gnuplot commands. */
static void write_markers(struct charter *ch, FILE *f, const size_t *cases, size_t ncases,
                          size_t metric, struct drawn *d)
{
    const struct history *h = ch->h;
    char text[256], name[16];
    xtics(f, h);
    for (size_t s = 1; s < h->nsegments; s++) {
        int o = snprintf(text, sizeof text, "changed:");
        for (int k = 0; k < HIST_FP_FIELDS && o < (int)sizeof text; k++)
            if (h->segments[s].changed[k])
                o += snprintf(text + o, sizeof text - (size_t)o, " %s", hist_fp_names[k]);
        marker(f, (double)h->segments[s].first - 0.5, "#777777", "3", text, "graph 0.02 left");
    }
    for (size_t i = 0; i < h->nchanges; i++) {
        const struct hist_change *c = &h->changes[i];
        bool mine = false;
        for (size_t k = 0; k < ncases; k++)
            mine |= c->case_idx == cases[k];
        if (!mine || c->metric != metric)
            continue;
        snprintf(text, sizeof text, "%s %s %+.1f%%",
                 hist_commit_name(h, c->commit, name, sizeof name), h->cases[c->case_idx].model,
                 c->change_pct);
        marker(f, (double)c->commit - 0.5, c->regression ? "#cc0000" : "#008800", "2", text,
               "graph 0.98 right");
        d->regressions += c->regression;
        d->improvements += !c->regression;
    }
    fprintf(f,
            "set label 'change points: E-divisive means, Welch t-test p < %g, change >= %g%%, "
            ">= %ld commits a side' at screen 0.01, screen 0.02 left noenhanced font ',8'\n",
            h->opts.max_p, h->opts.min_change_pct, h->opts.min_commits);
}

/* Writes a whole memstream's text to path; 0 or -1 after one line. */
static int save_text(const char *path, const char *text, size_t len)
{
    int rc = atomicfile_write(path, text, len);
    if (rc != 0)
        fprintf(stderr, "iobench history: %s: %s\n", path, strerror(errno));
    return rc;
}

/* Saves a chart's data and markers and renders it; 0 or -1. */
static int render(struct charter *ch, const struct drawn *d, int blocks, const char *dtext,
                  size_t dlen, const char *mtext, size_t mlen)
{
    const struct history *h = ch->h;
    const struct hist_case *k = &h->cases[d->first_case];
    const struct hist_metric *m = &hist_metrics[d->metric];
    char dat[PATH_MAX], mk[PATH_MAX], out[PATH_MAX], title[384], qmk[PATH_MAX * 2],
        vars[PATH_MAX * 2 + 128];
    if (snprintf(dat, sizeof dat, "%s/%s.dat", ch->data, d->name) >= (int)sizeof dat ||
        snprintf(mk, sizeof mk, "%s/%s.markers.gp", ch->data, d->name) >= (int)sizeof mk ||
        snprintf(out, sizeof out, "%s/%s", h->opts.out, d->name) >= (int)sizeof out ||
        plot_quote(mk, qmk, sizeof qmk) == NULL ||
        snprintf(vars, sizeof vars, "nseries=%d; ylog=%d; ylabel='%s'; markers='%s'", blocks,
                 !m->higher_is_better, m->label, qmk) >= (int)sizeof vars) {
        fprintf(stderr, "iobench history: %s: path too long\n", h->opts.out);
        return -1;
    }
    snprintf(title, sizeof title, "%s, %ld connections: %s by commit", k->workload, k->concurrency,
             m->label);
    if (save_text(dat, dtext, dlen) != 0 || save_text(mk, mtext, mlen) != 0)
        return -1;
    return plot_render("history.gp", dat, out, title, vars);
}

/* Draws one chart of cases (one workload and concurrency) and metric. */
static int draw(struct charter *ch, const size_t *cases, size_t ncases, size_t metric,
                struct point *pts, double *medians)
{
    const struct hist_case *k = &ch->h->cases[cases[0]];
    struct drawn d = {.first_case = cases[0], .metric = metric};
    char slug[128];
    snprintf(d.name, sizeof d.name, "history-%s-c%ld-%s", plot_slug(k->workload, slug, sizeof slug),
             k->concurrency, hist_metrics[metric].key);
    char *dtext = NULL, *mtext = NULL;
    size_t dlen = 0, mlen = 0;
    FILE *df = open_memstream(&dtext, &dlen), *mf = open_memstream(&mtext, &mlen);
    int rc = df != NULL && mf != NULL ? 0 : -1;
    if (rc == 0) {
        int blocks = write_blocks(ch, df, cases, ncases, metric, pts, medians);
        write_markers(ch, mf, cases, ncases, metric, &d);
        rc = fclose(df) | fclose(mf);
        df = mf = NULL;
        if (rc == 0 && blocks > 0)
            rc = render(ch, &d, blocks, dtext, dlen, mtext, mlen);
        if (rc == 0 && blocks > 0)
            ch->drawn[ch->ndrawn++] = d;
    } else {
        fprintf(stderr, "iobench history: open_memstream: %s\n", strerror(errno));
    }
    if (df != NULL)
        fclose(df);
    if (mf != NULL)
        fclose(mf);
    free(dtext);
    free(mtext);
    return rc == 0 ? 0 : -1;
}

/* The cases of each workload and concurrency, chart by chart. */
static int draw_all(struct charter *ch)
{
    const struct history *h = ch->h;
    size_t *cases = malloc(h->ncases * sizeof *cases);
    bool *done = calloc(h->ncases, sizeof *done);
    struct point *pts = malloc(h->ncommits * sizeof *pts);
    double *medians = malloc(h->ncommits * sizeof *medians);
    int rc = cases && done && pts && medians ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < h->ncases; i++) {
        if (done[i])
            continue;
        size_t n = 0;
        for (size_t j = i; j < h->ncases; j++)
            if (!done[j] && h->cases[j].concurrency == h->cases[i].concurrency &&
                strcmp(h->cases[j].workload, h->cases[i].workload) == 0) {
                done[j] = true;
                cases[n++] = j;
            }
        for (size_t m = 0; rc == 0 && m < HIST_METRICS; m++)
            rc = draw(ch, cases, n, m, pts, medians);
    }
    free(cases);
    free(done);
    free(pts);
    free(medians);
    return rc;
}

/* ---- index.html --------------------------------------------------------- */

static void html_text(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* The chart a change point is drawn on, or NULL. */
static const struct drawn *chart_of(const struct charter *ch, const struct hist_change *c)
{
    const struct hist_case *k = &ch->h->cases[c->case_idx];
    for (size_t i = 0; i < ch->ndrawn; i++) {
        const struct hist_case *d = &ch->h->cases[ch->drawn[i].first_case];
        if (ch->drawn[i].metric == c->metric && d->concurrency == k->concurrency &&
            strcmp(d->workload, k->workload) == 0)
            return &ch->drawn[i];
    }
    return NULL;
}

static void html_changes(const struct charter *ch, FILE *f, bool regressions)
{
    const struct history *h = ch->h;
    char a[16], b[16];
    size_t n = 0;
    for (size_t i = 0; i < h->nchanges; i++)
        n += h->changes[i].regression == regressions;
    fprintf(f, "<h2>%s (%zu)</h2>\n", regressions ? "Regressions" : "Improvements", n);
    if (n == 0) {
        fputs("<p>None.</p>\n", f);
        return;
    }
    fputs("<table><tr><th>model</th><th>workload</th><th>connections</th><th>metric</th>"
          "<th>commit</th><th>previous commit</th><th>mean before</th><th>mean "
          "after</th><th>change</th><th>p</th></tr>\n",
          f);
    for (size_t i = 0; i < h->nchanges; i++) {
        const struct hist_change *c = &h->changes[i];
        if (c->regression != regressions)
            continue;
        const struct hist_case *k = &h->cases[c->case_idx];
        const struct drawn *d = chart_of(ch, c);
        fputs("<tr><td>", f);
        html_text(f, k->model);
        fputs("</td><td>", f);
        if (d != NULL)
            fprintf(f, "<a href=\"#%s\">", d->name);
        html_text(f, k->workload);
        fprintf(f, "%s</td><td>%ld</td><td>%s</td><td>", d ? "</a>" : "", k->concurrency,
                hist_metrics[c->metric].key);
        html_text(f, hist_commit_name(h, c->commit, a, sizeof a));
        fputs("</td><td>", f);
        html_text(f, hist_commit_name(h, c->previous, b, sizeof b));
        fprintf(f, "</td><td>%.6g</td><td>%.6g</td><td>%+.1f%%</td><td>%.2g</td></tr>\n",
                c->mean_before, c->mean_after, c->change_pct, c->p);
    }
    fputs("</table>\n", f);
}

static void html_segments(const struct history *h, FILE *f)
{
    char a[16], b[16];
    fprintf(f,
            "<h2>Segments (%zu)</h2>\n<p>A segment is a stretch of commits measured on the "
            "same machine, load generator and suite; change points are looked for within "
            "each one only.</p>\n<ul>\n",
            h->nsegments);
    for (size_t s = 0; s < h->nsegments; s++) {
        const struct hist_segment *g = &h->segments[s];
        fputs("<li>", f);
        html_text(f, hist_commit_name(h, g->first, a, sizeof a));
        fputs(" .. ", f);
        html_text(f, hist_commit_name(h, g->last, b, sizeof b));
        fprintf(f, " (%zu commits):", g->last - g->first + 1);
        for (int k = 0; k < HIST_FP_FIELDS; k++) {
            fprintf(f, " %s%s=", g->changed[k] ? "<b>" : "", hist_fp_names[k]);
            html_text(f, g->fp[k] ? g->fp[k] : "unknown");
            fputs(g->changed[k] ? "</b>" : "", f);
        }
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
}

/* Charts with regressions first, then with improvements, then the rest. */
static void html_charts(const struct charter *ch, FILE *f)
{
    fprintf(f, "<h2>Charts (%zu)</h2>\n", ch->ndrawn);
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < ch->ndrawn; i++) {
            const struct drawn *d = &ch->drawn[i];
            int rank = d->regressions > 0 ? 0 : d->improvements > 0 ? 1 : 2;
            if (rank != pass)
                continue;
            const struct hist_case *k = &ch->h->cases[d->first_case];
            fprintf(f, "<section id=\"%s\"><h3>", d->name);
            html_text(f, k->workload);
            fprintf(f, ", %ld connections: %s", k->concurrency, hist_metrics[d->metric].label);
            if (d->regressions > 0)
                fprintf(f, " <span class=\"bad\">%zu regression%s</span>", d->regressions,
                        d->regressions == 1 ? "" : "s");
            if (d->improvements > 0)
                fprintf(f, " <span class=\"good\">%zu improvement%s</span>", d->improvements,
                        d->improvements == 1 ? "" : "s");
            fprintf(f,
                    "</h3>\n<a href=\"%s.svg\"><img src=\"%s.png\" width=\"960\" height=\"600\" "
                    "alt=\"%s\"></a></section>\n",
                    d->name, d->name, d->name);
        }
}

static int write_index(const struct charter *ch)
{
    const struct history *h = ch->h;
    char path[PATH_MAX], a[16], b[16];
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        fprintf(stderr, "iobench history: open_memstream: %s\n", strerror(errno));
        return -1;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>iobench history</title>\n<style>body{font-family:sans-serif;margin:2em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
          ".bad{color:#c00}.good{color:#080}img{max-width:100%;height:auto}</style>\n"
          "</head><body>\n<h1>iobench history</h1>\n",
          f);
    fprintf(f, "<p>%zu commits, ", h->ncommits);
    html_text(f, hist_commit_name(h, 0, a, sizeof a));
    fputs(" .. ", f);
    html_text(f, hist_commit_name(h, h->ncommits - 1, b, sizeof b));
    fprintf(f,
            ". Change points: E-divisive means over every trial, Welch's t-test p &lt; %g, a "
            "change of at least %g%%, at least %ld commits on each side. Numbers are means over "
            "the trials between change points; the data is in <a href=\"history.json\">"
            "history.json</a>.</p>\n",
            h->opts.max_p, h->opts.min_change_pct, h->opts.min_commits);
    html_changes(ch, f, true);
    html_changes(ch, f, false);
    html_segments(h, f);
    html_charts(ch, f);
    fputs("</body></html>\n", f);
    if (fclose(f) != 0 ||
        snprintf(path, sizeof path, "%s/index.html", h->opts.out) >= (int)sizeof path) {
        fprintf(stderr, "iobench history: cannot write index.html\n");
        free(text);
        return -1;
    }
    int rc = save_text(path, text, len);
    free(text);
    return rc;
}

/* Each case's range of the sorted observations. */
static void case_ranges(struct charter *ch)
{
    const struct history *h = ch->h;
    for (size_t c = 0; c < h->ncases; c++)
        ch->case_lo[c] = ch->case_hi[c] = 0;
    for (size_t i = 0; i < h->nobs; i++) {
        size_t c = h->obs[i].case_idx;
        if (i == 0 || h->obs[i - 1].case_idx != c)
            ch->case_lo[c] = i;
        ch->case_hi[c] = i + 1;
    }
}

int hist_chart_all(const struct history *h)
{
    struct charter ch = {.h = h};
    if (snprintf(ch.data, sizeof ch.data, "%s/data", h->opts.out) >= (int)sizeof ch.data) {
        fprintf(stderr, "iobench history: %s: path too long\n", h->opts.out);
        return -1;
    }
    if (util_mkdir_p(ch.data) != 0) {
        fprintf(stderr, "iobench history: mkdir %s: %s\n", ch.data, strerror(errno));
        return -1;
    }
    ch.case_lo = calloc(h->ncases + 1, sizeof *ch.case_lo);
    ch.case_hi = calloc(h->ncases + 1, sizeof *ch.case_hi);
    ch.buf = malloc((h->nobs + 1) * sizeof *ch.buf);
    ch.drawn = calloc(h->ncases * HIST_METRICS + 1, sizeof *ch.drawn);
    int rc = -1;
    if (ch.case_lo && ch.case_hi && ch.buf && ch.drawn) {
        case_ranges(&ch);
        rc = draw_all(&ch);
        if (rc == 0)
            rc = write_index(&ch);
    } else {
        fprintf(stderr, "iobench history: out of memory\n");
    }
    free(ch.case_lo);
    free(ch.case_hi);
    free(ch.buf);
    free(ch.drawn);
    return rc;
}
