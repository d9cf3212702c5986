/* Tests of the report's findings (harness/findings.c): each rule of its
 * table fed a small summary built here, checking the sentence and its
 * figures, and that a rule stays silent where the data does not support
 * it; then every rule over the real results fixture. */
#include "findings.h"
#include "stats_mw.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FIXTURE IOBENCH_SOURCE_DIR "/tests/data/results-fixture/summary.json"
#define CAP 64

static struct finding found[CAP];

/* An iobench-summary with no workloads and no runs yet. */
static json_t *summary_new(void)
{
    json_t *s = json_pack("{s:s, s:i, s:{s:s, s:i, s:f, s:[]}, s:[]}", "schema", "iobench-summary",
                          "schema_version", 1, "suite", "name", "t", "trials", 3, "duration_s",
                          1.0, "workloads", "runs");
    cr_assert_not_null(s);
    return s;
}

static void add_workload(json_t *s, const char *name, const char *path, int idle, int slow)
{
    json_t *w = json_pack("{s:s, s:s, s:b, s:i, s:i}", "name", name, "path", path, "keepalive", 1,
                          "idle", idle, "slow_clients", slow);
    json_array_append_new(json_object_get(json_object_get(s, "suite"), "workloads"), w);
}

/* What the trials of one case measured. */
struct trials {
    double tput[8];
    size_t n;
    double p50, p99, starved;
    size_t saturated; /* the first this many trials saturated ioload */
};

static void add_case(json_t *s, const char *model, const char *wl, long conc,
                     const struct trials *t)
{
    for (size_t i = 0; i < t->n; i++) {
        json_t *r = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:f, s:{s:f, s:f}, s:f, s:f, s:b}",
                              "id", "x", "model", model, "workload", wl, "concurrency",
                              (json_int_t)conc, "trial", (json_int_t)(i + 1), "status", "ok",
                              "throughput_rps", t->tput[i], "latency_us", "p50", t->p50, "p99",
                              t->p99, "starved_connections", t->starved, "unfinished", 0.0,
                              "load_saturated", i < t->saturated);
        cr_assert_not_null(r);
        json_array_append_new(json_object_get(s, "runs"), r);
    }
}

/* Runs the rules; returns how many fired. */
static size_t compute(json_t *s)
{
    memset(found, 0, sizeof found);
    size_t n = findings_compute(s, found, CAP);
    cr_assert_leq(n, CAP);
    return n;
}

/* The first finding of rule, or NULL. */
static const char *of_rule(size_t n, const char *rule)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(found[i].rule, rule) == 0)
            return found[i].text;
    return NULL;
}

static size_t count_rule(size_t n, const char *rule)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(found[i].rule, rule) == 0;
    return k;
}

__attribute__((format(printf, 2, 3))) static void expect_in(const char *text, const char *fmt,
                                                              ...)
{
    char want[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    cr_assert_not_null(text, "no finding where \"%s\" was expected", want);
    cr_expect_not_null(strstr(text, want), "\"%s\" not in: %s", want, text);
}

static double med(const struct trials *t)
{
    return stats_median(t->tput, t->n);
}

static const struct trials fast = {{1000, 1010, 990}, 3, 100, 300, 0, 0};
static const struct trials slow = {{500, 505, 495}, 3, 200, 500, 0, 0};
static const struct trials slower = {{100, 110, 90}, 3, 900, 2000, 0, 0};

Test(findings, leader_named_with_its_ratio_to_the_next_and_its_runs)
{
    json_t *s = summary_new();
    add_workload(s, "plain", "/", 0, 0);
    add_case(s, "a", "plain", 16, &fast);
    add_case(s, "b", "plain", 16, &slow);
    add_case(s, "c", "plain", 16, &slower);
    size_t n = compute(s);
    const char *t = of_rule(n, "leader");
    expect_in(t, "plain at 16 connections: a leads with %.0f req/s (3 trials, %.0f..%.0f)",
              med(&fast), fast.tput[2], fast.tput[1]);
    expect_in(t, "%.2fx the next, b (%.0f req/s", med(&fast) / med(&slow), med(&slow));
    expect_in(t, "runs a-plain-c16-t1..t3, b-plain-c16-t1..t3");
    cr_expect_eq(count_rule(n, "leader"), 1);
    json_decref(s);
}

Test(findings, overlapping_trials_name_no_leader)
{
    json_t *s = summary_new();
    add_workload(s, "plain", "/", 0, 0);
    struct trials close = {{1005, 1020, 980}, 3, 100, 300, 0, 0};
    add_case(s, "a", "plain", 16, &fast);
    add_case(s, "b", "plain", 16, &close);
    size_t n = compute(s);
    const char *t = of_rule(n, "leader");
    expect_in(t, "are level, their trials overlap");
    cr_expect_null(strstr(t, "leads"), "%s", t);
    json_decref(s);
}

Test(findings, a_saturated_rival_leaves_no_leader)
{
    json_t *s = summary_new();
    add_workload(s, "plain", "/", 0, 0);
    struct trials bound = slow;
    bound.saturated = 1;
    add_case(s, "a", "plain", 16, &fast);
    add_case(s, "b", "plain", 16, &bound);
    size_t n = compute(s);
    const char *t = of_rule(n, "leader");
    expect_in(t, "a measured the most, %.0f req/s, but 1 other model's figures there are lower "
                 "bounds",
              med(&fast));
    expect_in(t, "no leader can be named");
    cr_expect_null(strstr(t, "leads"), "%s", t);
    json_decref(s);
}

Test(findings, a_saturated_leader_is_called_a_lower_bound)
{
    json_t *s = summary_new();
    add_workload(s, "plain", "/", 0, 0);
    struct trials bound = fast;
    bound.saturated = 2;
    add_case(s, "a", "plain", 16, &bound);
    add_case(s, "b", "plain", 16, &slow);
    size_t n = compute(s);
    const char *t = of_rule(n, "leader");
    expect_in(t, "a leads with at least %.0f req/s", med(&fast));
    expect_in(t, "a lower bound: ioload was saturated in 2 of them");
    expect_in(t, "at least %.2fx the next", med(&fast) / med(&slow));
    json_decref(s);
}

Test(findings, zero_throughput_beside_idle_connections_with_the_plain_figure)
{
    json_t *s = summary_new();
    add_workload(s, "plain", "/", 0, 0);
    add_workload(s, "idle", "/", 500, 0);
    struct trials none = {{0, 0, 0}, 3, 0, 0, 16, 0};
    add_case(s, "a", "plain", 16, &fast);
    add_case(s, "a", "idle", 16, &none);
    add_case(s, "b", "plain", 16, &slow);
    add_case(s, "b", "idle", 16, &slow);
    size_t n = compute(s);
    const char *t = of_rule(n, "zero");
    expect_in(t, "a completed no request on idle at 16 connections with 500 idle connections "
                 "beside them in 3 of 3 trials; without them (plain) it served %.0f req/s",
              med(&fast));
    expect_in(t, "runs a-idle-c16-t1..t3, a-plain-c16-t1..t3");
    cr_expect_eq(count_rule(n, "zero"), 1);
    /* A case that served nothing is the zero rule's, not also unanswered's. */
    cr_expect_null(of_rule(n, "unanswered"));
    json_decref(s);
}

Test(findings, unanswered_connections_at_the_highest_level_they_occur)
{
    json_t *s = summary_new();
    add_workload(s, "plain", "/", 0, 0);
    struct trials one_at_a_time = {{300, 310, 290}, 3, 60, 90, 15, 0};
    struct trials all_served = {{300, 310, 290}, 3, 60, 90, 0, 0};
    add_case(s, "it", "plain", 1, &all_served);
    add_case(s, "it", "plain", 16, &one_at_a_time);
    add_case(s, "b", "plain", 1, &all_served);
    add_case(s, "b", "plain", 16, &fast);
    size_t n = compute(s);
    const char *t = of_rule(n, "unanswered");
    expect_in(t, "it left connections without any response while serving others: plain %.0f of 16",
              one_at_a_time.starved);
    expect_in(t, "runs it-plain-c16-t1..t3");
    cr_expect_eq(count_rule(n, "unanswered"), 1, "b answered every connection");
    json_decref(s);
}

Test(findings, collapse_with_concurrency_only_below_half_and_only_from_a_true_figure)
{
    json_t *s = summary_new();
    add_workload(s, "plain", "/", 0, 0);
    struct trials fallen = {{300, 320, 280}, 3, 100, 300, 0, 0};
    struct trials held = {{600, 610, 590}, 3, 100, 300, 0, 0}; /* 0.6x: no collapse */
    struct trials bound = fallen;
    bound.saturated = 1;
    add_case(s, "a", "plain", 1, &fast);
    add_case(s, "a", "plain", 64, &fallen);
    add_case(s, "b", "plain", 1, &fast);
    add_case(s, "b", "plain", 64, &held);
    add_case(s, "c", "plain", 1, &fast);
    add_case(s, "c", "plain", 64, &bound);
    size_t n = compute(s);
    const char *t = of_rule(n, "collapse");
    expect_in(t, "a falls on plain from %.0f req/s at 1 connections to %.0f at 64 (%.2fx",
              med(&fast), med(&fallen), med(&fallen) / med(&fast));
    expect_in(t, "runs a-plain-c1-t1..t3, a-plain-c64-t1..t3");
    cr_expect_eq(count_rule(n, "collapse"), 1, "only a fell below half from a true figure");
    json_decref(s);
}

Test(findings, collapse_beside_slow_clients_against_the_same_load_without_them)
{
    json_t *s = summary_new();
    add_workload(s, "plain", "/", 0, 0);
    add_workload(s, "trickle", "/", 0, 4);
    add_case(s, "a", "plain", 16, &fast);
    add_case(s, "a", "trickle", 16, &slower);
    add_case(s, "b", "plain", 16, &fast);
    add_case(s, "b", "trickle", 16, &fast);
    size_t n = compute(s);
    const char *t = of_rule(n, "collapse");
    expect_in(t, "a serves %.0f req/s on trickle at 16 connections with 4 slow clients beside "
                 "them, %.2fx its %.0f req/s without them (plain)",
              med(&slower), med(&slower) / med(&fast), med(&fast));
    cr_expect_eq(count_rule(n, "collapse"), 1);
    json_decref(s);
}

Test(findings, a_latency_tail_that_stands_out)
{
    json_t *s = summary_new();
    add_workload(s, "plain", "/", 0, 0);
    struct trials tail = {{1000, 1010, 990}, 3, 100, 2500, 0, 0}; /* p99/p50 25 */
    add_case(s, "a", "plain", 16, &fast);                       /* 3 */
    add_case(s, "b", "plain", 16, &slow);                       /* 2.5 */
    add_case(s, "c", "plain", 16, &tail);
    size_t n = compute(s);
    const char *t = of_rule(n, "tail");
    double typical = (300.0 / 100 + 500.0 / 200) / 2;
    expect_in(t, "c's p99 latency on plain at 16 connections is %.1fx its p50 (p50 %.0f µs, p99 "
                 "%.0f µs), against %.1fx for the other 2 models",
              tail.p99 / tail.p50, tail.p50, tail.p99, typical);
    cr_expect_eq(count_rule(n, "tail"), 1, "a and b are alike");
    json_decref(s);
}

Test(findings, saturated_runs_counted_with_where_they_were)
{
    json_t *s = summary_new();
    add_workload(s, "plain", "/", 0, 0);
    struct trials bound = fast;
    bound.saturated = 2;
    add_case(s, "a", "plain", 16, &bound);
    add_case(s, "b", "plain", 16, &slow);
    size_t n = compute(s);
    expect_in(of_rule(n, "load-limited"),
              "The load generator was saturated in 2 of 6 successful runs (plain 2 (a))");
    json_decref(s);
}

Test(findings, nothing_said_where_nothing_stands_out)
{
    json_t *s = summary_new();
    add_workload(s, "plain", "/", 0, 0);
    add_case(s, "a", "plain", 16, &fast);
    size_t n = compute(s);
    cr_expect_eq(n, 0, "one model, nothing to compare, yet: %s", n ? found[0].text : "");
    json_decref(s);
}

/* The real fixture: each workload's leader sentence carries the medians
 * the summary holds (computed here from its runs). */
Test(findings, the_fixture_leaders_carry_its_medians)
{
    json_error_t err;
    json_t *s = json_load_file(FIXTURE, 0, &err);
    cr_assert_not_null(s, "%s: %s", FIXTURE, err.text);
    size_t n = compute(s), leaders = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(found[i].rule, "leader") != 0)
            continue;
        leaders++;
        char wl[64], model[64];
        long conc;
        cr_assert_eq(sscanf(found[i].text, "%63s at %ld connections: %63s", wl, &conc, model), 3,
                     "%s", found[i].text);
        double v[16];
        size_t k = 0, j;
        json_t *r;
        json_array_foreach(json_object_get(s, "runs"), j, r)
        {
            if (k < 16 && strcmp(json_string_value(json_object_get(r, "model")), model) == 0 &&
                strcmp(json_string_value(json_object_get(r, "workload")), wl) == 0 &&
                json_integer_value(json_object_get(r, "concurrency")) == conc &&
                strcmp(json_string_value(json_object_get(r, "status")), "ok") == 0)
                v[k++] = json_number_value(json_object_get(r, "throughput_rps"));
        }
        cr_assert_gt(k, 0, "%s names runs the fixture lacks", found[i].text);
        char figure[64];
        snprintf(figure, sizeof figure, "%.0f req/s", stats_median(v, k));
        cr_expect_not_null(strstr(found[i].text, figure), "%s not in %s", figure, found[i].text);
    }
    cr_expect_eq(leaders, 2, "one leader line per workload of the fixture");
    json_decref(s);
}
