/* ioload_merge: merging results (see ioload_merge.h). */
#include "ioload_merge.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"
#include "ioload_report.h"

static json_int_t get_int(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static double get_num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* dst[k] += src[k] for every integer member. */
static int add_map(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v)
    {
        json_int_t sum = get_int(dst, k) + json_integer_value(v);
        if (json_object_set_new(dst, k, json_integer(sum)) != 0)
            return -1;
    }
    return 0;
}

static int decode_into(struct hdr *acc, bool *have, const char *b64)
{
    struct hdr h;
    if (b64 == NULL || hdr_decode_base64(b64, &h) != 0)
        return -1;
    if (!*have) {
        *acc = h;
        *have = true;
        return 0;
    }
    int rc = hdr_add(acc, &h);
    hdr_free(&h);
    return rc;
}

static int check_input(const json_t *in, const char *name, char *err, size_t errlen)
{
    const char *schema = json_string_value(json_object_get(in, "schema"));
    if (!json_is_object(in) || schema == NULL || strcmp(schema, IOLOAD_SCHEMA) != 0) {
        snprintf(err, errlen, "ioload merge: %s is not an %s", name, IOLOAD_SCHEMA);
        return -1;
    }
    if (get_int(in, "schema_version") != IOLOAD_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "ioload merge: %s has schema_version %" JSON_INTEGER_FORMAT
                 ", this ioload reads %d",
                 name, get_int(in, "schema_version"), IOLOAD_SCHEMA_VERSION);
        return -1;
    }
    return 0;
}

/* Sums the counts of two open_loop objects into *acc (created on first
 * use); rate adds, max_send_lag_us takes the larger; the wake margin is
 * dropped (it describes one process); send_lag_ns is recomputed by the
 * caller from the merged histogram. */
static int merge_open_loop(json_t **acc, const json_t *ol)
{
    static const char *const sums[] = {"scheduled", "late", "late_behind", "late_wakeup", "late_noconn",
                                       "unsent"};
    if (!json_is_object(*acc)) {
        json_decref(*acc);
        *acc = json_pack("{s:f, s:I}", "rate", 0.0, "max_send_lag_us", (json_int_t)0);
        if (*acc == NULL)
            return -1;
    }
    int rc = json_object_set_new(*acc, "rate", json_real(get_num(*acc, "rate") + get_num(ol, "rate")));
    for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++)
        rc |= json_object_set_new(*acc, sums[i],
                                  json_integer(get_int(*acc, sums[i]) + get_int(ol, sums[i])));
    json_int_t lag = get_int(ol, "max_send_lag_us");
    if (lag > get_int(*acc, "max_send_lag_us"))
        rc |= json_object_set_new(*acc, "max_send_lag_us", json_integer(lag));
    return rc == 0 ? 0 : -1;
}

/* What the inputs add up to, one step per part of the result. */
struct acc {
    struct hdr corr, unc, lag;
    bool have_c, have_u, have_l;
    json_t *totals, *errs, *timeline, *warnings, *from, *config, *open_loop;
    double min_start, max_end, latest_start, earliest_end, max_elapsed;
    const char *first_start, *first_end;
    bool times_ok;
    double cpu_user, cpu_sys, cpu_req_us, cpu_total_us, busy, cpu_frac, spin, runq;
    json_int_t threads, conns, idle;
    double rate;
};

static int acc_init(struct acc *a, const json_t *first)
{
    *a = (struct acc){.min_start = INFINITY, .max_end = -INFINITY, .latest_start = -INFINITY,
                      .earliest_end = INFINITY, .times_ok = true};
    a->totals = json_object();
    a->errs = json_pack("{s:I,s:I,s:I,s:I,s:I,s:{},s:{},s:{}}", "connect", (json_int_t)0,
                        "timeout", (json_int_t)0, "send", (json_int_t)0, "receive", (json_int_t)0,
                        "malformed", (json_int_t)0, "other", "http_4xx", "http_5xx");
    a->timeline = json_array();
    a->warnings = json_array();
    a->from = json_array();
    a->config = json_deep_copy(json_object_get(first, "config"));
    a->open_loop = json_null();
    return a->totals && a->errs && a->timeline && a->warnings && a->from && a->config ? 0 : -1;
}

static void acc_free(struct acc *a)
{
    if (a->have_c)
        hdr_free(&a->corr);
    if (a->have_u)
        hdr_free(&a->unc);
    if (a->have_l)
        hdr_free(&a->lag);
    json_t *all[] = {a->totals, a->warnings, a->errs, a->timeline,
                     a->from,   a->config,   a->open_loop};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        json_decref(all[i]);
}

static int warn(struct acc *a, json_t *msg)
{
    return json_array_append_new(a->warnings, msg);
}

/* Histograms; a missing or foreign one fails the merge with its name. */
static int add_histograms(struct acc *a, const json_t *r, const char *name, char *err,
                          size_t errlen)
{
    const json_t *hist = json_object_get(r, "histograms");
    if (decode_into(&a->corr, &a->have_c, json_string_value(json_object_get(hist, "corrected"))) ||
        decode_into(&a->unc, &a->have_u, json_string_value(json_object_get(hist, "uncorrected")))) {
        snprintf(err, errlen, "ioload merge: %s: histograms missing, malformed or of another range",
                 name);
        return -1;
    }
    if (json_is_object(json_object_get(r, "open_loop")) &&
        decode_into(&a->lag, &a->have_l, json_string_value(json_object_get(hist, "send_lag")))) {
        snprintf(err, errlen, "ioload merge: %s: send-lag histogram missing or malformed", name);
        return -1;
    }
    return 0;
}

static int add_errors(struct acc *a, const json_t *r)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(r, "errors"), k, v)
    {
        int rc = json_is_object(v) ? add_map(json_object_get(a->errs, k), v)
                                   : json_object_set_new(a->errs, k,
                                                         json_integer(get_int(a->errs, k) +
                                                                      json_integer_value(v)));
        if (rc != 0)
            return -1;
    }
    return add_map(a->totals, json_object_get(r, "totals"));
}

/* Timelines align on their own starts: second t of every input. */
static int add_timeline(struct acc *a, const json_t *r)
{
    size_t t;
    json_t *entry;
    json_array_foreach(json_object_get(r, "timeline"), t, entry)
    {
        while (json_array_size(a->timeline) <= t)
            if (json_array_append_new(a->timeline,
                                      json_pack("{s:I,s:I,s:I,s:n,s:n}", "t",
                                                (json_int_t)json_array_size(a->timeline),
                                                "requests", (json_int_t)0, "errors",
                                                (json_int_t)0, "p50_us", "p99_us")) != 0)
                return -1;
        json_t *dst = json_array_get(a->timeline, t);
        if (json_object_set_new(dst, "requests",
                                json_integer(get_int(dst, "requests") +
                                             get_int(entry, "requests"))) != 0 ||
            json_object_set_new(dst, "errors",
                                json_integer(get_int(dst, "errors") + get_int(entry, "errors"))))
            return -1;
    }
    return 0;
}

static void add_times(struct acc *a, const json_t *r)
{
    double s, e;
    const char *ss = json_string_value(json_object_get(r, "start"));
    const char *es = json_string_value(json_object_get(r, "end"));
    a->max_elapsed = fmax(a->max_elapsed, get_num(r, "elapsed_s"));
    if (ss == NULL || es == NULL || ioload_parse_iso_time(ss, &s) != 0 ||
        ioload_parse_iso_time(es, &e) != 0) {
        a->times_ok = false;
        return;
    }
    if (s < a->min_start) {
        a->min_start = s;
        a->first_start = ss;
    }
    if (e > a->max_end) {
        a->max_end = e;
        a->first_end = es;
    }
    a->latest_start = fmax(a->latest_start, s);
    a->earliest_end = fmin(a->earliest_end, e);
}

static void add_self(struct acc *a, const json_t *r)
{
    const json_t *self = json_object_get(r, "self");
    double req = (double)get_int(json_object_get(r, "totals"), "requests");
    a->cpu_user += get_num(self, "cpu_user_s");
    a->cpu_sys += get_num(self, "cpu_sys_s");
    a->cpu_req_us += get_num(self, "cpu_per_request_us") * req;
    a->cpu_total_us += get_num(self, "cpu_total_per_request_us") * req;
    a->spin += get_num(self, "spin_s");
    a->runq += get_num(self, "runq_wait_s");
    a->busy = fmax(a->busy, get_num(self, "busy_fraction"));
    a->cpu_frac = fmax(a->cpu_frac, get_num(self, "cpu_fraction"));
}

/* Sums the sizes; warns when an input measured another URL or host. */
static int add_config(struct acc *a, const json_t *r, const json_t *first, const char *name,
                      const char *first_name)
{
    const json_t *c = json_object_get(r, "config");
    a->threads += get_int(c, "threads");
    a->conns += get_int(c, "connections");
    a->idle += get_int(c, "idle_connections");
    a->rate += get_num(c, "rate");
    if (r == first)
        return 0;
    const char *url = json_string_value(json_object_get(c, "url"));
    const char *url0 = json_string_value(json_object_get(a->config, "url"));
    if ((url == NULL || url0 == NULL || strcmp(url, url0) != 0) &&
        warn(a, json_sprintf("%s measured another URL (%s)", name, url ? url : "none")) != 0)
        return -1;
    const char *host = json_string_value(json_object_get(json_object_get(r, "env"), "hostname"));
    const char *host0 =
        json_string_value(json_object_get(json_object_get(first, "env"), "hostname"));
    if (host != NULL && host0 != NULL && strcmp(host, host0) != 0 &&
        warn(a, json_sprintf("%s ran on %s; env is that of %s", name, host, first_name)) != 0)
        return -1;
    return 0;
}

static int add_warnings(struct acc *a, const json_t *r, const char *name)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(r, "warnings"), i, w)
    {
        if (warn(a, json_sprintf("%s: %s", name, json_string_value(w))) != 0)
            return -1;
    }
    return json_array_append_new(a->from, json_string(name));
}

/* The inputs ran side by side: their common interval runs from the first
 * start to the last end. */
static double common_elapsed(struct acc *a, int n, int *rc)
{
    if (!a->times_ok) {
        *rc |= warn(a, json_string("an input has no readable start/end; rates are over the "
                                   "longest elapsed_s"));
        return a->max_elapsed;
    }
    if (n > 1 && a->latest_start >= a->earliest_end)
        *rc |= warn(a, json_string("the inputs' measured intervals do not overlap; rates are "
                                   "over the span from the first start to the last end"));
    return a->max_end - a->min_start;
}

static json_t *per_request(double sum_us, json_int_t requests)
{
    return requests > 0 ? json_real(sum_us / (double)requests) : json_null();
}

static json_t *build_result(struct acc *a, const json_t *first, int n)
{
    int rc = 0;
    double elapsed = common_elapsed(a, n, &rc);
    json_int_t requests = get_int(a->totals, "requests");
    rc |= json_object_set_new(a->config, "threads", json_integer(a->threads));
    rc |= json_object_set_new(a->config, "connections", json_integer(a->conns));
    rc |= json_object_set_new(a->config, "idle_connections", json_integer(a->idle));
    rc |= json_object_set_new(a->config, "rate", a->rate > 0 ? json_real(a->rate) : json_null());
    if (a->have_l)
        rc |= json_object_set_new(a->open_loop, "send_lag_ns", ioload_send_lag_json(&a->lag));
    if (rc != 0)
        return NULL;
    json_t *root = json_pack(
        "{s:s, s:i, s:{s:s, s:s, s:s}, s:O, s:O?, s:s?, s:s?, s:f, s:O, s:o, s:{s:o, s:o}, s:O, "
        "s:O, s:o, s:O, s:{s:f, s:f, s:f, s:f, s:o, s:o, s:f, s:f, s:b}, s:O, s:O}",
        "schema", IOLOAD_SCHEMA, "schema_version", IOLOAD_SCHEMA_VERSION, "tool", "name", "ioload",
        "version", IOBENCH_VERSION, "libcurl", curl_version_info(CURLVERSION_NOW)->version,
        "config", a->config, "env", json_object_get(first, "env"), "start",
        a->times_ok ? a->first_start : NULL, "end", a->times_ok ? a->first_end : NULL,
        "elapsed_s", elapsed, "totals", a->totals, "throughput",
        ioload_throughput_json(requests, get_int(a->totals, "successes"),
                               get_int(a->totals, "bytes"), elapsed),
        "latency_us", "corrected", ioload_latency_json(&a->corr), "uncorrected",
        ioload_latency_json(&a->unc), "errors", a->errs, "timeline", a->timeline, "histograms",
        ioload_histograms_json(&a->corr, &a->unc, a->have_l ? &a->lag : NULL), "open_loop",
        a->open_loop, "self", "cpu_user_s", a->cpu_user, "cpu_sys_s", a->cpu_sys, "spin_s",
        a->spin, "runq_wait_s", a->runq, "cpu_per_request_us", per_request(a->cpu_req_us, requests),
        "cpu_total_per_request_us", per_request(a->cpu_total_us, requests), "busy_fraction",
        a->busy, "cpu_fraction", a->cpu_frac, "saturated", false, "warnings", a->warnings,
        "merged_from", a->from);
    if (root != NULL && ioload_apply_saturation(root) != 0) {
        json_decref(root);
        root = NULL;
    }
    return root;
}

/* One input into the accumulator: -1 with err set on a bad input, -2 when
 * out of memory. */
static int add_input(struct acc *a, json_t *const *in, const char *const *names, int i, char *err,
                     size_t errlen)
{
    const json_t *r = in[i];
    if (add_histograms(a, r, names[i], err, errlen) != 0)
        return -1;
    add_times(a, r);
    add_self(a, r);
    const json_t *ol = json_object_get(r, "open_loop");
    if (add_errors(a, r) != 0 || add_timeline(a, r) != 0 ||
        (json_is_object(ol) && merge_open_loop(&a->open_loop, ol) != 0) ||
        add_config(a, r, in[0], names[i], names[0]) != 0 || add_warnings(a, r, names[i]) != 0)
        return -2;
    return 0;
}

json_t *ioload_merge(json_t *const *in, const char *const *names, int n, char *err, size_t errlen)
{
    if (n < 1) {
        snprintf(err, errlen, "ioload merge: no input");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (check_input(in[i], names[i], err, errlen) != 0)
            return NULL;
    struct acc a;
    json_t *root = NULL;
    int rc = acc_init(&a, in[0]) == 0 ? 0 : -2;
    for (int i = 0; rc == 0 && i < n; i++)
        rc = add_input(&a, in, names, i, err, errlen);
    if (rc == 0)
        root = build_result(&a, in[0], n);
    if (rc == -2 || (rc == 0 && root == NULL))
        snprintf(err, errlen, "ioload merge: out of memory");
    acc_free(&a);
    return root;
}

json_t *ioload_merge_files(const char *const *paths, int n, char *err, size_t errlen)
{
    json_t **in = calloc((size_t)n + 1, sizeof *in);
    if (in == NULL) {
        snprintf(err, errlen, "ioload merge: out of memory");
        return NULL;
    }
    json_t *out = NULL;
    int loaded = 0;
    for (; loaded < n; loaded++) {
        json_error_t je;
        in[loaded] = json_load_file(paths[loaded], 0, &je);
        if (in[loaded] == NULL) {
            snprintf(err, errlen, "ioload merge: %s: %s (line %d)", paths[loaded], je.text,
                     je.line);
            break;
        }
    }
    if (loaded == n)
        out = ioload_merge(in, paths, n, err, errlen);
    for (int i = 0; i < loaded; i++)
        json_decref(in[i]);
    free(in);
    return out;
}
