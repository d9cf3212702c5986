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
    static const char *const sums[] = {"scheduled", "late", "late_behind", "late_noconn",
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

json_t *ioload_merge(json_t *const *in, const char *const *names, int n, char *err, size_t errlen)
{
    if (n < 1) {
        snprintf(err, errlen, "ioload merge: no input");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (check_input(in[i], names[i], err, errlen) != 0)
            return NULL;

    struct hdr corr, unc, lag;
    bool have_c = false, have_u = false, have_l = false;
    json_t *root = NULL;
    json_t *totals = json_object(),
           *errs = json_pack("{s:I,s:I,s:I,s:I,s:I,s:{},s:{},s:{}}", "connect", (json_int_t)0,
                             "timeout", (json_int_t)0, "send", (json_int_t)0, "receive",
                             (json_int_t)0, "malformed", (json_int_t)0, "other", "http_4xx",
                             "http_5xx");
    json_t *timeline = json_array(), *warnings = json_array(), *from = json_array();
    json_t *config = json_deep_copy(json_object_get(in[0], "config"));
    json_t *open_loop = json_null();
    double min_start = INFINITY, max_end = -INFINITY, latest_start = -INFINITY;
    double earliest_end = INFINITY, max_elapsed = 0;
    bool times_ok = true;
    double cpu_user = 0, cpu_sys = 0, cpu_req_us = 0, cpu_total_us = 0, busy = 0, spin = 0;
    double runq = 0;
    double cpu_frac = 0;
    json_int_t threads = 0, conns = 0, idle = 0;
    double rate = 0;
    const char *first_start = NULL, *first_end = NULL;
    if (totals == NULL || errs == NULL || timeline == NULL || warnings == NULL || from == NULL ||
        config == NULL) {
        snprintf(err, errlen, "ioload merge: out of memory");
        goto fail;
    }

    for (int i = 0; i < n; i++) {
        const json_t *r = in[i];
        const json_t *hist = json_object_get(r, "histograms");
        if (decode_into(&corr, &have_c, json_string_value(json_object_get(hist, "corrected"))) !=
                0 ||
            decode_into(&unc, &have_u, json_string_value(json_object_get(hist, "uncorrected"))) !=
                0) {
            snprintf(err, errlen,
                     "ioload merge: %s: histograms missing, malformed or of another range",
                     names[i]);
            goto fail;
        }
        if (add_map(totals, json_object_get(r, "totals")) != 0)
            goto oom;
        const json_t *e = json_object_get(r, "errors");
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)e, k, v)
        {
            int rc = json_is_object(v)
                         ? add_map(json_object_get(errs, k), v)
                         : json_object_set_new(
                               errs, k, json_integer(get_int(errs, k) + json_integer_value(v)));
            if (rc != 0)
                goto oom;
        }

        /* Timelines align on their own starts: second t of every input. */
        size_t t;
        json_t *entry;
        json_array_foreach(json_object_get(r, "timeline"), t, entry)
        {
            while (json_array_size(timeline) <= t)
                if (json_array_append_new(timeline, json_pack("{s:I,s:I,s:I,s:n,s:n}", "t",
                                                              (json_int_t)json_array_size(timeline),
                                                              "requests", (json_int_t)0, "errors",
                                                              (json_int_t)0, "p50_us", "p99_us")) !=
                    0)
                    goto oom;
            json_t *dst = json_array_get(timeline, t);
            if (json_object_set_new(
                    dst, "requests",
                    json_integer(get_int(dst, "requests") + get_int(entry, "requests"))) != 0 ||
                json_object_set_new(
                    dst, "errors",
                    json_integer(get_int(dst, "errors") + get_int(entry, "errors"))) != 0)
                goto oom;
        }

        double s, en;
        const char *ss = json_string_value(json_object_get(r, "start"));
        const char *es = json_string_value(json_object_get(r, "end"));
        if (ss != NULL && es != NULL && ioload_parse_iso_time(ss, &s) == 0 &&
            ioload_parse_iso_time(es, &en) == 0) {
            if (s < min_start) {
                min_start = s;
                first_start = ss;
            }
            if (en > max_end) {
                max_end = en;
                first_end = es;
            }
            latest_start = fmax(latest_start, s);
            earliest_end = fmin(earliest_end, en);
        } else {
            times_ok = false;
        }
        max_elapsed = fmax(max_elapsed, get_num(r, "elapsed_s"));

        const json_t *ol = json_object_get(r, "open_loop");
        if (json_is_object(ol)) {
            int rc = merge_open_loop(&open_loop, ol);
            if (rc == 0 && decode_into(&lag, &have_l,
                                       json_string_value(json_object_get(hist, "send_lag"))) != 0) {
                snprintf(err, errlen, "ioload merge: %s: send-lag histogram missing or malformed",
                         names[i]);
                goto fail;
            }
            if (rc != 0)
                goto oom;
        }

        const json_t *self = json_object_get(r, "self");
        cpu_user += get_num(self, "cpu_user_s");
        cpu_sys += get_num(self, "cpu_sys_s");
        double req = (double)get_int(json_object_get(r, "totals"), "requests");
        cpu_req_us += get_num(self, "cpu_per_request_us") * req;
        cpu_total_us += get_num(self, "cpu_total_per_request_us") * req;
        spin += get_num(self, "spin_s");
        runq += get_num(self, "runq_wait_s");
        busy = fmax(busy, get_num(self, "busy_fraction"));
        cpu_frac = fmax(cpu_frac, get_num(self, "cpu_fraction"));

        const json_t *c = json_object_get(r, "config");
        threads += get_int(c, "threads");
        conns += get_int(c, "connections");
        idle += get_int(c, "idle_connections");
        rate += get_num(c, "rate");
        const char *url = json_string_value(json_object_get(c, "url"));
        const char *url0 = json_string_value(json_object_get(config, "url"));
        if (i > 0 && (url == NULL || url0 == NULL || strcmp(url, url0) != 0) &&
            json_array_append_new(warnings, json_sprintf("%s measured another URL (%s)", names[i],
                                                         url ? url : "none")) != 0)
            goto oom;

        const char *host =
            json_string_value(json_object_get(json_object_get(r, "env"), "hostname"));
        const char *host0 =
            json_string_value(json_object_get(json_object_get(in[0], "env"), "hostname"));
        if (i > 0 && host != NULL && host0 != NULL && strcmp(host, host0) != 0 &&
            json_array_append_new(warnings, json_sprintf("%s ran on %s; env is that of %s",
                                                         names[i], host, names[0])) != 0)
            goto oom;

        size_t wi;
        json_t *w;
        json_array_foreach(json_object_get(r, "warnings"), wi, w)
        {
            if (json_array_append_new(warnings,
                                      json_sprintf("%s: %s", names[i], json_string_value(w))) != 0)
                goto oom;
        }
        if (json_array_append_new(from, json_string(names[i])) != 0)
            goto oom;
    }

    /* The inputs ran side by side: their common interval runs from the first
     * start to the last end. */
    double elapsed = times_ok ? max_end - min_start : max_elapsed;
    if (times_ok && n > 1 && latest_start >= earliest_end &&
        json_array_append_new(warnings,
                              json_string("the inputs' measured intervals do not overlap; rates "
                                          "are over the span from the first start to the last "
                                          "end")) != 0)
        goto oom;
    if (!times_ok &&
        json_array_append_new(warnings, json_string("an input has no readable start/end; rates are "
                                                    "over the longest elapsed_s")) != 0)
        goto oom;
    json_int_t requests = get_int(totals, "requests");
    if (json_object_set_new(config, "threads", json_integer(threads)) ||
        json_object_set_new(config, "connections", json_integer(conns)) ||
        json_object_set_new(config, "idle_connections", json_integer(idle)) ||
        json_object_set_new(config, "rate", rate > 0 ? json_real(rate) : json_null()))
        goto oom;

    root = json_pack(
        "{s:s, s:i, s:{s:s, s:s, s:s}, s:O, s:O?, s:s?, s:s?, s:f, s:O, s:o, s:{s:o, s:o}, s:O, "
        "s:O, s:o, s:O, s:{s:f, s:f, s:f, s:f, s:o, s:o, s:f, s:f, s:b}, s:O, s:O}",
        "schema", IOLOAD_SCHEMA, "schema_version", IOLOAD_SCHEMA_VERSION, "tool", "name", "ioload",
        "version", IOBENCH_VERSION, "libcurl", curl_version_info(CURLVERSION_NOW)->version,
        "config", config, "env", json_object_get(in[0], "env"), "start",
        times_ok ? first_start : NULL, "end", times_ok ? first_end : NULL, "elapsed_s", elapsed,
        "totals", totals, "throughput",
        ioload_throughput_json(requests, get_int(totals, "successes"), get_int(totals, "bytes"),
                               elapsed),
        "latency_us", "corrected", ioload_latency_json(&corr), "uncorrected",
        ioload_latency_json(&unc), "errors", errs, "timeline", timeline, "histograms",
        ioload_histograms_json(&corr, &unc, have_l ? &lag : NULL), "open_loop", open_loop, "self",
        "cpu_user_s", cpu_user, "cpu_sys_s", cpu_sys, "spin_s", spin, "runq_wait_s", runq,
        "cpu_per_request_us",
        requests > 0 ? json_real(cpu_req_us / (double)requests) : json_null(),
        "cpu_total_per_request_us",
        requests > 0 ? json_real(cpu_total_us / (double)requests) : json_null(), "busy_fraction",
        busy, "cpu_fraction", cpu_frac, "saturated", false, "warnings", warnings, "merged_from", from);
    if (root != NULL && have_l &&
        json_object_set_new(open_loop, "send_lag_ns", ioload_send_lag_json(&lag)) != 0)
        goto oom;
    if (root == NULL || ioload_apply_saturation(root) != 0)
        goto oom;
    goto done;
oom:
    snprintf(err, errlen, "ioload merge: out of memory");
fail:
    json_decref(root);
    root = NULL;
done:
    if (have_c)
        hdr_free(&corr);
    if (have_u)
        hdr_free(&unc);
    if (have_l)
        hdr_free(&lag);
    json_decref(totals);
    json_decref(errs);
    json_decref(timeline);
    json_decref(warnings);
    json_decref(from);
    json_decref(config);
    json_decref(open_loop);
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
