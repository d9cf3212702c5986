/* findings: the rules behind the report's "Findings" (see findings.h).
 *
 * Every rule reads medians over the successful trials of a case (model,
 * workload, concurrency) and names the runs they come from as
 * MODEL-WORKLOAD-cN-tA..tB. The table at the bottom is the whole list;
 * its thresholds are the only tuning. */
#include "findings.h"

#include "plot.h"
#include "stats_mw.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FND_MAX_NAMES 64
#define FND_MAX_LEVELS 64
#define FND_MAX_TRIALS 64

struct fctx {
    json_t *s;
    const char *models[FND_MAX_NAMES], *workloads[FND_MAX_NAMES];
    size_t nm, nw;
    struct finding *out;
    size_t cap, n;
};

struct rule {
    const char *name;
    double threshold;
    void (*apply)(struct fctx *c, const struct rule *r);
};

/* A sentence under construction; text past FINDING_TEXT_MAX is cut. */
struct sbuf {
    char b[FINDING_TEXT_MAX];
    size_t len;
};

__attribute__((format(printf, 2, 3))) static void sb_add(struct sbuf *sb, const char *fmt, ...)
{
    if (sb->len + 1 >= sizeof sb->b)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sb->b + sb->len, sizeof sb->b - sb->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb->len = sb->len + (size_t)n < sizeof sb->b ? sb->len + (size_t)n : sizeof sb->b - 1;
}

static void emit(struct fctx *c, const struct rule *r, const struct sbuf *sb)
{
    if (c->n < c->cap) {
        c->out[c->n].rule = r->name;
        snprintf(c->out[c->n].text, sizeof c->out[c->n].text, "%s", sb->b);
    }
    c->n++;
}

/* What one case measured: medians (and spread) over its ok trials. */
struct cdata {
    struct plot_stat tput, p50, p99, starved;
    size_t sat;
};

static bool case_get(json_t *s, const char *model, const char *workload, long conc,
                     struct cdata *d)
{
    d->tput = plot_stat(s, model, workload, conc, "throughput_rps");
    if (d->tput.n == 0)
        return false;
    d->p50 = plot_stat(s, model, workload, conc, "latency_us.p50");
    d->p99 = plot_stat(s, model, workload, conc, "latency_us.p99");
    d->starved = plot_stat(s, model, workload, conc, "starved_connections");
    d->sat = plot_saturated(s, model, workload, conc);
    return true;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* " (runs select-plaintext-c16-t1..t3)"-style reference: the ok trials of
 * one case, a range when they are consecutive. */
static void sb_case(struct sbuf *sb, json_t *s, const char *model, const char *workload, long conc)
{
    long trials[FND_MAX_TRIALS];
    size_t n = 0, i;
    json_t *run;
    json_array_foreach(json_object_get(s, "runs"), i, run)
    {
        const char *st = json_string_value(json_object_get(run, "status"));
        const char *m = json_string_value(json_object_get(run, "model"));
        const char *w = json_string_value(json_object_get(run, "workload"));
        if (n < FND_MAX_TRIALS && st && m && w && strcmp(st, "ok") == 0 &&
            strcmp(m, model) == 0 && strcmp(w, workload) == 0 &&
            json_integer_value(json_object_get(run, "concurrency")) == conc)
            trials[n++] = (long)json_integer_value(json_object_get(run, "trial"));
    }
    qsort(trials, n, sizeof *trials, cmp_long);
    sb_add(sb, "%s-%s-c%ld-t", model, workload, conc);
    if (n > 1 && trials[n - 1] - trials[0] == (long)n - 1) {
        sb_add(sb, "%ld..t%ld", trials[0], trials[n - 1]);
        return;
    }
    for (size_t k = 0; k < n; k++)
        sb_add(sb, "%s%ld", k ? "," : "", trials[k]);
}

/* The suite's definition of a workload, or NULL. */
static json_t *workload_def(json_t *s, const char *name)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(json_object_get(s, "suite"), "workloads"), i, w)
    {
        const char *n = json_string_value(json_object_get(w, "name"));
        if (n != NULL && strcmp(n, name) == 0)
            return w;
    }
    return NULL;
}

static long wl_int(json_t *w, const char *key)
{
    return (long)json_integer_value(json_object_get(w, key));
}

/* " with 500 idle connections beside them", or "" for a plain workload. */
static void sb_extras(struct sbuf *sb, json_t *w)
{
    if (wl_int(w, "idle") > 0)
        sb_add(sb, " with %ld idle connections beside them", wl_int(w, "idle"));
    if (wl_int(w, "slow_clients") > 0)
        sb_add(sb, " with %ld slow clients beside them", wl_int(w, "slow_clients"));
}

static bool has_extras(json_t *w)
{
    return wl_int(w, "idle") > 0 || wl_int(w, "slow_clients") > 0;
}

/* The workload that sends what w sends without w's idle or slow clients
 * and ran model at level conc, or NULL. */
static const char *plain_companion(struct fctx *c, json_t *w, const char *model, long conc)
{
    const char *path = json_string_value(json_object_get(w, "path"));
    bool ka = !json_is_false(json_object_get(w, "keepalive"));
    for (size_t i = 0; i < c->nw; i++) {
        json_t *o = workload_def(c->s, c->workloads[i]);
        const char *opath = json_string_value(json_object_get(o, "path"));
        if (o == NULL || o == w || has_extras(o) || path == NULL || opath == NULL ||
            strcmp(path, opath) != 0 || ka != !json_is_false(json_object_get(o, "keepalive")))
            continue;
        if (plot_stat(c->s, model, c->workloads[i], conc, "throughput_rps").n > 0)
            return c->workloads[i];
    }
    return NULL;
}

/* ---- the rules ------------------------------------------------------- */

/* "select leads with ..." for a leader a whose figure no other model's
 * could truly exceed; b is the next. Overlapping trials are no lead. */
static void leader_text(struct sbuf *sb, const char *ma, const struct cdata *a, const char *mb,
                        const struct cdata *b)
{
    const char *bound = a->sat ? "at least " : "";
    if (b->tput.max >= a->tput.min && b->tput.median > 0) {
        sb_add(sb, "%s and %s are level, their trials overlap (%s%.0f req/s, %.0f..%.0f; %.0f "
                   "req/s, %.0f..%.0f)",
               ma, mb, bound, a->tput.median, a->tput.min, a->tput.max, b->tput.median,
               b->tput.min, b->tput.max);
        return;
    }
    sb_add(sb, "%s leads with %s%.0f req/s (%zu trials, %.0f..%.0f", ma, bound, a->tput.median,
           a->tput.n, a->tput.min, a->tput.max);
    if (a->sat)
        sb_add(sb, "; a lower bound: ioload was saturated in %zu of them", a->sat);
    if (b->tput.median > 0)
        sb_add(sb, "), %s%.2fx the next, %s (%.0f req/s, %.0f..%.0f)", bound,
               a->tput.median / b->tput.median, mb, b->tput.median, b->tput.min, b->tput.max);
    else
        sb_add(sb, "); the next, %s, completed no request", mb);
}

/* Each workload's highest throughput at the highest level every model ran,
 * and its ratio to the next. A leader is named only when no other model's
 * figure there is a lower bound (it might truly be higher). */
static void rule_leader(struct fctx *c, const struct rule *r)
{
    for (size_t w = 0; w < c->nw; w++) {
        long level = plot_common_level(c->s, c->models, c->nm, c->workloads[w]);
        struct cdata d[FND_MAX_NAMES];
        size_t idx[FND_MAX_NAMES], n = 0;
        for (size_t m = 0; m < c->nm && level > 0; m++)
            if (case_get(c->s, c->models[m], c->workloads[w], level, &d[n]))
                idx[n++] = m;
        if (n < 2)
            continue;
        size_t a = 0, b = 1; /* the highest and the next */
        if (d[b].tput.median > d[a].tput.median)
            a = 1, b = 0;
        for (size_t i = 2; i < n; i++) {
            if (d[i].tput.median > d[a].tput.median)
                b = a, a = i;
            else if (d[i].tput.median > d[b].tput.median)
                b = i;
        }
        struct sbuf sb = {0};
        const char *wl = c->workloads[w], *ma = c->models[idx[a]], *mb = c->models[idx[b]];
        size_t others_sat = 0;
        for (size_t i = 0; i < n; i++)
            others_sat += i != a && d[i].sat > 0;
        sb_add(&sb, "%s at %ld connections: ", wl, level);
        if (others_sat > 0) {
            sb_add(&sb, "%s measured the most, %s%.0f req/s, but %zu other model%s figures there "
                        "are lower bounds (ioload was saturated), so no leader can be named",
                   ma, d[a].sat ? "at least " : "", d[a].tput.median, others_sat,
                   others_sat > 1 ? "s'" : "'s");
        } else {
            leader_text(&sb, ma, &d[a], mb, &d[b]);
        }
        sb_add(&sb, " (runs ");
        sb_case(&sb, c->s, ma, wl, level);
        sb_add(&sb, ", ");
        sb_case(&sb, c->s, mb, wl, level);
        sb_add(&sb, ").");
        emit(c, r, &sb);
    }
}

/* Cases where the median trial completed no request; beside them, what the
 * model served without the workload's idle or slow clients. */
static void rule_zero(struct fctx *c, const struct rule *r)
{
    for (size_t w = 0; w < c->nw; w++) {
        const char *wl = c->workloads[w];
        json_t *def = workload_def(c->s, wl);
        for (size_t m = 0; m < c->nm; m++) {
            long levels[FND_MAX_LEVELS];
            size_t nl = plot_levels(c->s, c->models[m], wl, levels, FND_MAX_LEVELS);
            for (size_t l = 0; l < nl; l++) {
                double v[FND_MAX_TRIALS];
                size_t n = plot_samples(c->s, c->models[m], wl, levels[l], "throughput_rps", v,
                                        FND_MAX_TRIALS),
                       zero = 0;
                for (size_t i = 0; i < n; i++)
                    zero += v[i] == 0;
                if (n == 0 || stats_median(v, n) != 0)
                    continue;
                struct sbuf sb = {0};
                sb_add(&sb, "%s completed no request on %s at %ld connections", c->models[m], wl,
                       levels[l]);
                sb_extras(&sb, def);
                sb_add(&sb, " in %zu of %zu trials", zero, n);
                const char *pw = has_extras(def)
                                     ? plain_companion(c, def, c->models[m], levels[l])
                                     : NULL;
                if (pw != NULL)
                    sb_add(&sb, "; without them (%s) it served %.0f req/s", pw,
                           plot_stat(c->s, c->models[m], pw, levels[l], "throughput_rps").median);
                sb_add(&sb, " (runs ");
                sb_case(&sb, c->s, c->models[m], wl, levels[l]);
                if (pw != NULL) {
                    sb_add(&sb, ", ");
                    sb_case(&sb, c->s, c->models[m], pw, levels[l]);
                }
                sb_add(&sb, ").");
                emit(c, r, &sb);
            }
        }
    }
}

/* Connections that got no response while others were served, per model:
 * each workload at the highest level where it happened. */
static void rule_unanswered(struct fctx *c, const struct rule *r)
{
    for (size_t m = 0; m < c->nm; m++) {
        struct sbuf sb = {0}, runs = {0};
        size_t items = 0;
        for (size_t w = 0; w < c->nw; w++) {
            long levels[FND_MAX_LEVELS];
            size_t nl = plot_levels(c->s, c->models[m], c->workloads[w], levels, FND_MAX_LEVELS);
            for (size_t l = nl; l-- > 0;) {
                struct cdata d;
                if (!case_get(c->s, c->models[m], c->workloads[w], levels[l], &d) ||
                    d.tput.median == 0 || !(d.starved.n > 0 && d.starved.median > 0))
                    continue;
                sb_add(&sb, "%s%s %.0f of %ld", items ? "; " : "", c->workloads[w],
                       d.starved.median, levels[l]);
                sb_add(&runs, "%s", items ? ", " : "");
                sb_case(&runs, c->s, c->models[m], c->workloads[w], levels[l]);
                items++;
                break;
            }
        }
        if (items == 0)
            continue;
        struct sbuf out = {0};
        sb_add(&out,
               "%s left connections without any response while serving others: %s (medians "
               "over the trials, at the highest level where it happened; runs %s).",
               c->models[m], sb.b, runs.b);
        emit(c, r, &out);
    }
}

/* Throughput that falls below threshold x as concurrency grows (lowest to
 * highest level), or beside idle or slow clients (against the same load
 * without them). A fall is claimed only when the lower figure is true. */
static void collapse_levels(struct fctx *c, const struct rule *r, size_t m, const char *wl)
{
    long levels[FND_MAX_LEVELS];
    size_t nl = plot_levels(c->s, c->models[m], wl, levels, FND_MAX_LEVELS);
    struct cdata lo, hi;
    if (nl < 2 || !case_get(c->s, c->models[m], wl, levels[0], &lo) ||
        !case_get(c->s, c->models[m], wl, levels[nl - 1], &hi))
        return;
    if (hi.tput.median == 0 || lo.tput.median == 0 || hi.sat > 0 ||
        hi.tput.median >= r->threshold * lo.tput.median)
        return;
    struct sbuf sb = {0};
    sb_add(&sb, "%s falls on %s from %.0f req/s at %ld connections to %.0f at %ld (%s%.2fx", c->models[m],
           wl, lo.tput.median, levels[0], hi.tput.median, levels[nl - 1],
           lo.sat ? "at most " : "", hi.tput.median / lo.tput.median);
    sb_add(&sb, lo.sat ? "; the first figure is a lower bound)" : ")");
    sb_add(&sb, " (runs ");
    sb_case(&sb, c->s, c->models[m], wl, levels[0]);
    sb_add(&sb, ", ");
    sb_case(&sb, c->s, c->models[m], wl, levels[nl - 1]);
    sb_add(&sb, ").");
    emit(c, r, &sb);
}

static void collapse_extras(struct fctx *c, const struct rule *r, size_t m, const char *wl,
                            json_t *def)
{
    long levels[FND_MAX_LEVELS];
    size_t nl = plot_levels(c->s, c->models[m], wl, levels, FND_MAX_LEVELS);
    for (size_t l = 0; l < nl; l++) {
        const char *pw = plain_companion(c, def, c->models[m], levels[l]);
        struct cdata with, without;
        if (pw == NULL || !case_get(c->s, c->models[m], wl, levels[l], &with) ||
            !case_get(c->s, c->models[m], pw, levels[l], &without))
            continue;
        if (with.tput.median == 0 || without.tput.median == 0 || with.sat > 0 ||
            with.tput.median >= r->threshold * without.tput.median)
            continue;
        struct sbuf sb = {0};
        sb_add(&sb, "%s serves %.0f req/s on %s at %ld connections", c->models[m],
               with.tput.median, wl, levels[l]);
        sb_extras(&sb, def);
        sb_add(&sb, ", %s%.2fx its %.0f req/s without them (%s)", without.sat ? "at most " : "",
               with.tput.median / without.tput.median, without.tput.median, pw);
        sb_add(&sb, " (runs ");
        sb_case(&sb, c->s, c->models[m], wl, levels[l]);
        sb_add(&sb, ", ");
        sb_case(&sb, c->s, c->models[m], pw, levels[l]);
        sb_add(&sb, ").");
        emit(c, r, &sb);
    }
}

static void rule_collapse(struct fctx *c, const struct rule *r)
{
    for (size_t w = 0; w < c->nw; w++) {
        json_t *def = workload_def(c->s, c->workloads[w]);
        for (size_t m = 0; m < c->nm; m++) {
            collapse_levels(c, r, m, c->workloads[w]);
            if (has_extras(def))
                collapse_extras(c, r, m, c->workloads[w], def);
        }
    }
}

/* A p99/p50 ratio at least threshold x the median ratio of the other
 * models, at the workload's highest common level. */
static void rule_tail(struct fctx *c, const struct rule *r)
{
    for (size_t w = 0; w < c->nw; w++) {
        const char *wl = c->workloads[w];
        long level = plot_common_level(c->s, c->models, c->nm, wl);
        struct cdata d[FND_MAX_NAMES];
        double spread[FND_MAX_NAMES];
        size_t idx[FND_MAX_NAMES], n = 0;
        for (size_t m = 0; m < c->nm && level > 0; m++)
            if (case_get(c->s, c->models[m], wl, level, &d[n]) && d[n].p50.n > 0 &&
                d[n].p99.n > 0 && d[n].p50.median > 0) {
                spread[n] = d[n].p99.median / d[n].p50.median;
                idx[n++] = m;
            }
        for (size_t i = 0; i < n && n >= 2; i++) {
            double others[FND_MAX_NAMES];
            size_t k = 0;
            for (size_t j = 0; j < n; j++)
                if (j != i)
                    others[k++] = spread[j];
            double typical = stats_median(others, k);
            if (spread[i] < r->threshold * typical)
                continue;
            struct sbuf sb = {0};
            sb_add(&sb,
                   "%s's p99 latency on %s at %ld connections is %.1fx its p50 (p50 %.0f µs, "
                   "p99 %.0f µs), against %.1fx for the other %zu model%s (median)",
                   c->models[idx[i]], wl, level, spread[i], d[i].p50.median, d[i].p99.median,
                   typical, k, k > 1 ? "s" : "");
            if (d[i].sat)
                sb_add(&sb, "; ioload was saturated in %zu of %zu trials, so its own delay is "
                            "in these figures",
                       d[i].sat, d[i].tput.n);
            sb_add(&sb, " (runs ");
            sb_case(&sb, c->s, c->models[idx[i]], wl, level);
            sb_add(&sb, ").");
            emit(c, r, &sb);
        }
    }
}

/* Runs where ioload, not the server, may have set the pace. */
static void rule_load_limited(struct fctx *c, const struct rule *r)
{
    size_t total = 0, sat = 0, i;
    json_t *run;
    json_array_foreach(json_object_get(c->s, "runs"), i, run)
    {
        const char *st = json_string_value(json_object_get(run, "status"));
        if (st == NULL || strcmp(st, "ok") != 0)
            continue;
        total++;
        sat += json_is_true(json_object_get(run, "load_saturated"));
    }
    if (sat == 0)
        return;
    struct sbuf sb = {0}, where = {0};
    for (size_t w = 0; w < c->nw; w++) {
        size_t nw_sat = 0, listed = 0;
        struct sbuf models = {0};
        for (size_t m = 0; m < c->nm; m++) {
            long levels[FND_MAX_LEVELS];
            size_t nl = plot_levels(c->s, c->models[m], c->workloads[w], levels, FND_MAX_LEVELS),
                   k = 0;
            for (size_t l = 0; l < nl; l++)
                k += plot_saturated(c->s, c->models[m], c->workloads[w], levels[l]);
            if (k > 0)
                sb_add(&models, "%s%s", listed++ ? ", " : "", c->models[m]);
            nw_sat += k;
        }
        if (nw_sat > 0)
            sb_add(&where, "%s%s %zu (%s)", where.len ? "; " : "", c->workloads[w], nw_sat,
                   models.b);
    }
    sb_add(&sb,
           "The load generator was saturated in %zu of %zu successful runs (%s): there ioload, "
           "not the server, may have set the pace, so their throughput is a lower bound (marked "
           FINDINGS_LOWER_BOUND_MARK " in the tables, hollow in the charts) and their latency "
           "holds ioload's own delay.",
           sat, total, where.b);
    emit(c, r, &sb);
}

/* The rules, in the order their sentences appear. */
static const struct rule rules[] = {
    {"leader", 0, rule_leader},
    {"zero", 0, rule_zero},
    {"unanswered", 0, rule_unanswered},
    {"collapse", 0.5, rule_collapse}, /* below half */
    {"tail", 3.0, rule_tail},         /* p99/p50 three times the others' */
    {"load-limited", 0, rule_load_limited},
};

size_t findings_compute(json_t *summary, struct finding *out, size_t cap)
{
    struct fctx c = {.s = summary, .out = out, .cap = cap};
    c.nm = plot_names(summary, "model", c.models, FND_MAX_NAMES);
    c.nw = plot_names(summary, "workload", c.workloads, FND_MAX_NAMES);
    c.nm = c.nm < FND_MAX_NAMES ? c.nm : FND_MAX_NAMES;
    c.nw = c.nw < FND_MAX_NAMES ? c.nw : FND_MAX_NAMES;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        rules[i].apply(&c, &rules[i]);
    return c.n;
}
