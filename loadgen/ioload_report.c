/* ioload_report: result JSON and summary (see ioload_report.h). */
#include "ioload_report.h"

#include "atomicfile.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ioload_env.h"

void ioload_iso_time(const struct timespec *t, char *buf, size_t cap)
{
    struct tm tm;
    time_t sec = t->tv_sec;
    if (gmtime_r(&sec, &tm) == NULL) {
        snprintf(buf, cap, "1970-01-01T00:00:00.000000Z");
        return;
    }
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%06dZ", base, (int)(t->tv_nsec / 1000 % 1000000));
}

int ioload_parse_iso_time(const char *s, double *epoch_s)
{
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == NULL)
        return -1;
    double frac = 0;
    if (*rest == '.') {
        char *end;
        frac = strtod(rest, &end);
        rest = end;
    }
    if (strcmp(rest, "Z") != 0)
        return -1;
    *epoch_s = (double)timegm(&tm) + frac;
    return 0;
}

json_t *ioload_latency_json(const struct hdr *h)
{
    if (h->total_count == 0)
        return json_pack("{s:I, s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:n}", "count",
                         (json_int_t)0, "min", "mean", "stdev", "p50", "p75", "p90", "p99", "p99_9",
                         "p99_99", "max");
    return json_pack("{s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "count",
                     (json_int_t)h->total_count, "min", (json_int_t)hdr_min(h), "mean", hdr_mean(h),
                     "stdev", hdr_stddev(h), "p50", (json_int_t)hdr_value_at_percentile(h, 50),
                     "p75", (json_int_t)hdr_value_at_percentile(h, 75), "p90",
                     (json_int_t)hdr_value_at_percentile(h, 90), "p99",
                     (json_int_t)hdr_value_at_percentile(h, 99), "p99_9",
                     (json_int_t)hdr_value_at_percentile(h, 99.9), "p99_99",
                     (json_int_t)hdr_value_at_percentile(h, 99.99), "max", (json_int_t)hdr_max(h));
}

static json_t *real_or_null(bool ok, double v)
{
    return ok && isfinite(v) ? json_real(v) : json_null();
}

json_t *ioload_throughput_json(int64_t requests, int64_t successes, int64_t bytes, double elapsed_s)
{
    bool ok = elapsed_s > 0;
    return json_pack("{s:o, s:o, s:o}", "requests_per_s",
                     real_or_null(ok, (double)requests / elapsed_s), "successes_per_s",
                     real_or_null(ok, (double)successes / elapsed_s), "bytes_per_s",
                     real_or_null(ok, (double)bytes / elapsed_s));
}

json_t *ioload_histograms_json(const struct hdr *corrected, const struct hdr *uncorrected,
                               const struct hdr *send_lag)
{
    char *c = hdr_encode_base64(corrected);
    char *u = hdr_encode_base64(uncorrected);
    char *l = send_lag != NULL ? hdr_encode_base64(send_lag) : NULL;
    json_t *j = NULL;
    if (c != NULL && u != NULL && (send_lag == NULL || l != NULL))
        j = json_pack("{s:s, s:s, s:I, s:I, s:i}", "corrected", c, "uncorrected", u, "lowest",
                      (json_int_t)corrected->lowest, "highest", (json_int_t)corrected->highest,
                      "sig_digits", corrected->sig_digits);
    if (j != NULL && l != NULL && json_object_set_new(j, "send_lag", json_string(l)) != 0) {
        json_decref(j);
        j = NULL;
    }
    free(c);
    free(u);
    free(l);
    return j;
}

json_t *ioload_send_lag_json(const struct hdr *h)
{
    if (h->total_count == 0)
        return json_pack("{s:n, s:n, s:n, s:n, s:n}", "p50", "p99", "p99_9", "max", "mean");
    return json_pack("{s:I, s:I, s:I, s:I, s:f}", "p50",
                     (json_int_t)hdr_value_at_percentile(h, 50), "p99",
                     (json_int_t)hdr_value_at_percentile(h, 99), "p99_9",
                     (json_int_t)hdr_value_at_percentile(h, 99.9), "max", (json_int_t)hdr_max(h),
                     "mean", hdr_mean(h));
}

static int add_warning(json_t *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int add_warning(json_t *root, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return json_array_append_new(json_object_get(root, "warnings"), json_string(buf));
}

int ioload_apply_saturation(json_t *root)
{
    json_t *self = json_object_get(root, "self");
    json_t *ol = json_object_get(root, "open_loop");
    bool saturated = false;
    int rc = 0;
    double busy = json_number_value(json_object_get(self, "busy_fraction"));
    if (busy > IOLOAD_BUSY_SATURATED) {
        saturated = true;
        rc |= add_warning(root,
                          "ioload was saturated: its threads were busy %.0f%% of the time "
                          "(threshold %.0f%%); it measured itself as much as the server: "
                          "add threads or load generators",
                          busy * 100, IOLOAD_BUSY_SATURATED * 100);
    }
    if (json_is_object(ol)) {
        json_int_t sched = json_integer_value(json_object_get(ol, "scheduled"));
        json_int_t behind = json_integer_value(json_object_get(ol, "late_behind"));
        json_int_t noconn = json_integer_value(json_object_get(ol, "late_noconn"));
        /* Late while mostly idle is being woken late (the machine), not
         * being overloaded: the rule asks for a half-busy thread too. */
        if (sched > 0 && (double)behind > IOLOAD_LATE_SATURATED * (double)sched &&
            busy >= IOLOAD_LATE_BUSY) {
            saturated = true;
            rc |= add_warning(root,
                              "ioload was behind: %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
                              " requests (%.1f%%, threshold %.0f%%) were sent more than 1 ms "
                              "after their scheduled time although a connection had room",
                              behind, sched, 100.0 * (double)behind / (double)sched,
                              IOLOAD_LATE_SATURATED * 100);
        }
        if (sched > 0 && (double)noconn > IOLOAD_LATE_SATURATED * (double)sched)
            rc |= add_warning(root,
                              "%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
                              " requests waited more than 1 ms for a connection with room: "
                              "the server did not keep up with the offered rate (its "
                              "slowness, in the corrected latency; not ioload's)",
                              noconn, sched);
    }
    rc |= json_object_set_new(self, "saturated", json_boolean(saturated));
    return rc == 0 ? 0 : -1;
}

static json_t *config_json(const struct ioload_config *cfg)
{
    json_t *headers = json_array();
    for (int i = 0; headers != NULL && i < cfg->nheaders; i++)
        if (json_array_append_new(headers, json_string(cfg->headers[i])) != 0) {
            json_decref(headers);
            return NULL;
        }
    return json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:o, s:o, s:f, s:f, s:b, s:o, s:s, s:i, "
                     "s:o, s:I}",
                     "engine", cfg->engine, "pipeline", cfg->pipeline,
                     "url", cfg->url, "method", cfg->method, "threads", cfg->threads, "connections",
                     cfg->connections, "duration_s",
                     cfg->duration_s > 0 ? json_real(cfg->duration_s) : json_null(), "requests",
                     cfg->requests > 0 ? json_integer(cfg->requests) : json_null(), "warmup_s",
                     cfg->warmup_s, "timeout_s", cfg->timeout_s, "keepalive", cfg->keepalive,
                     "rate", cfg->rate > 0 ? json_real(cfg->rate) : json_null(), "mode",
                     cfg->rate > 0 ? "open" : "closed", "idle_connections", cfg->idle, "headers",
                     headers, "body_bytes", (json_int_t)cfg->body_len);
}

static json_t *errors_json(const struct ioload_errors *e)
{
    json_t *other = json_object(), *h4 = json_object(), *h5 = json_object();
    int rc = other == NULL || h4 == NULL || h5 == NULL ? -1 : 0;
    for (int c = 0; rc == 0 && c < CURL_LAST; c++)
        if (e->other[c] > 0)
            rc = json_object_set_new(
                other, c == CURLE_OK ? "CURLE_UNKNOWN" : ioload_curle_name((CURLcode)c),
                json_integer(e->other[c]));
    for (int s = 0; rc == 0 && s < IOLOAD_STATUS_MAX; s++) {
        if (e->status[s] == 0 || (s >= 200 && s < 300))
            continue;
        char key[16];
        /* 4xx and 5xx have their own maps; anything else non-2xx is "other". */
        if (s >= 400 && s < 500) {
            snprintf(key, sizeof key, "%d", s);
            rc = json_object_set_new(h4, key, json_integer(e->status[s]));
        } else if (s >= 500) {
            snprintf(key, sizeof key, "%d", s);
            rc = json_object_set_new(h5, key, json_integer(e->status[s]));
        } else {
            snprintf(key, sizeof key, s == 0 ? "HTTP_INVALID" : "HTTP_%d", s);
            rc = json_object_set_new(other, key, json_integer(e->status[s]));
        }
    }
    if (rc != 0) {
        json_decref(other);
        json_decref(h4);
        json_decref(h5);
        return NULL;
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "connect",
                     (json_int_t)e->connect, "timeout", (json_int_t)e->timeout, "send",
                     (json_int_t)e->send, "receive", (json_int_t)e->receive, "malformed",
                     (json_int_t)e->malformed, "other", other, "http_4xx", h4, "http_5xx", h5);
}

static json_t *timeline_json(const struct ioload_result *res)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < res->timeline_len; i++) {
        const struct ioload_tl_entry *e = &res->timeline[i];
        json_t *o = json_pack("{s:I, s:I, s:I, s:o, s:o}", "t", (json_int_t)i, "requests",
                              (json_int_t)e->requests, "errors", (json_int_t)e->errors, "p50_us",
                              e->p50_us >= 0 ? json_integer(e->p50_us) : json_null(), "p99_us",
                              e->p99_us >= 0 ? json_integer(e->p99_us) : json_null());
        if (json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *open_loop_json(const struct ioload_config *cfg, const struct ioload_result *res)
{
    return json_pack("{s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:f}", "rate", cfg->rate,
                     "scheduled", (json_int_t)res->scheduled, "late", (json_int_t)res->late,
                     "late_behind", (json_int_t)res->late_behind, "late_wakeup",
                     (json_int_t)res->late_wakeup, "late_noconn",
                     (json_int_t)res->late_noconn, "unsent", (json_int_t)res->unsent,
                     "max_send_lag_us", (json_int_t)(res->max_send_lag_ns / 1000), "send_lag_ns",
                     ioload_send_lag_json(&res->send_lag), "wake_margin_us", res->margin_us);
}

json_t *ioload_result_json(const struct ioload_config *cfg, const struct ioload_result *res)
{
    char start[40], end[40];
    ioload_iso_time(&res->start_wall, start, sizeof start);
    ioload_iso_time(&res->end_wall, end, sizeof end);
    /* Time spent awake on purpose before a due time is waiting, not work. */
    double work_s = res->cpu_thread_s - res->spin_s;
    if (work_s < 0)
        work_s = 0;
    /* Busy: running, or ready to run but kept off the CPU by another
     * process; either way ioload was the limit, not the server. */
    double span = res->elapsed_s * cfg->threads;
    double busy = span > 0 ? (work_s + res->runq_wait_s) / span : 0;
    busy = busy < 0 ? 0 : busy > 1 ? 1 : busy;
    json_t *open_loop = json_null();
    if (cfg->rate > 0)
        open_loop = open_loop_json(cfg, res);
    json_t *root = json_pack(
        "{s:s, s:i, s:{s:s, s:s, s:s}, s:o, s:o, s:s, s:s, s:f, s:{s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I}, "
        "s:o, s:{s:o, s:o}, s:o, s:o, s:o, s:o, s:{s:f, s:f, s:f, s:f, s:o, s:o, s:f, s:f, s:b}, s:[], "
        "s:n}",
        "schema", IOLOAD_SCHEMA, "schema_version", IOLOAD_SCHEMA_VERSION, "tool", "name", "ioload",
        "version", IOBENCH_VERSION, "libcurl", curl_version_info(CURLVERSION_NOW)->version,
        "config", config_json(cfg), "env", ioload_env_json(), "start", start, "end", end,
        "elapsed_s", res->elapsed_s, "totals", "requests", (json_int_t)res->requests, "successes",
        (json_int_t)res->successes, "errors", (json_int_t)res->errors, "bytes",
        (json_int_t)res->bytes, "idle_established", (json_int_t)res->idle_established, "unfinished",
        (json_int_t)res->unfinished, "starved_connections", (json_int_t)res->starved_connections,
        "throughput",
        ioload_throughput_json(res->requests, res->successes, res->bytes, res->elapsed_s),
        "latency_us", "corrected", ioload_latency_json(&res->corrected), "uncorrected",
        ioload_latency_json(&res->uncorrected), "errors", errors_json(&res->err), "timeline",
        timeline_json(res), "histograms",
        ioload_histograms_json(&res->corrected, &res->uncorrected,
                               cfg->rate > 0 ? &res->send_lag : NULL),
        "open_loop", open_loop, "self", "cpu_user_s", res->cpu_user_s, "cpu_sys_s",
        res->cpu_sys_s, "spin_s", res->spin_s, "runq_wait_s", res->runq_wait_s,
        "cpu_per_request_us",
        real_or_null(res->requests > 0, work_s * 1e6 / (double)res->requests),
        "cpu_total_per_request_us",
        real_or_null(res->requests > 0, res->cpu_thread_s * 1e6 / (double)res->requests),
        "busy_fraction", busy, "cpu_fraction", span > 0 ? work_s / span : 0.0, "saturated", false,
        "warnings", "merged_from");
    if (root == NULL)
        return NULL;
    int rc = ioload_apply_saturation(root);
    if (res->interrupted)
        rc |= add_warning(root, "interrupted: the run was cut short by a signal");
    if (res->requests == 0)
        rc |= add_warning(root, "no request completed in the measured interval");
    else if (res->successes == 0)
        rc |= add_warning(root, "no request succeeded (2xx) in the measured interval");
    if (res->idle_established < cfg->idle)
        rc |= add_warning(root, "only %d of %d idle connections were established",
                          res->idle_established, cfg->idle);
    if (cfg->rate > 0 && res->unsent > 0)
        rc |= add_warning(root,
                          "%" PRId64 " scheduled requests were never sent: every connection "
                          "was busy until the end (counted as late)",
                          res->unsent);
    if (res->starved_connections > 0)
        rc |= add_warning(root,
                          "%" PRId64 " of %d connections got no response during the measured "
                          "interval; the percentiles describe only the others",
                          res->starved_connections, cfg->connections);
    if (res->unfinished > 0 && res->oldest_unfinished_us > 1000000)
        rc |= add_warning(root,
                          "%" PRId64 " requests were still waiting when the run ended, the "
                          "oldest for %.1f s; they are in no latency figure",
                          res->unfinished, (double)res->oldest_unfinished_us / 1e6);
    if (res->internal_errors > 0)
        rc |= add_warning(root,
                          "%" PRId64 " internal errors (epoll, timerfd or libcurl calls failed); "
                          "figures may be incomplete",
                          res->internal_errors);
    if (rc != 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

int ioload_json_write(const json_t *j, const char *path)
{
    const size_t flags = JSON_INDENT(2) | JSON_SORT_KEYS;
    if (strcmp(path, "-") == 0) {
        if (json_dumpf(j, stdout, flags) != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
            return -1;
        return 0;
    }
    return atomicfile_write_json(path, j, flags);
}

/* wrk's units: us below 1 ms, ms below 1 s, then s. */
static const char *fmt_us(double us, char *buf, size_t cap)
{
    if (us < 1000)
        snprintf(buf, cap, "%.2fus", us);
    else if (us < 1e6)
        snprintf(buf, cap, "%.2fms", us / 1e3);
    else
        snprintf(buf, cap, "%.2fs", us / 1e6);
    return buf;
}

static const char *fmt_bytes(double b, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(buf, cap, "%.2f%s", b, units[u]);
    return buf;
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static json_int_t sum_map(const json_t *m)
{
    const char *k;
    json_t *v;
    json_int_t s = 0;
    json_object_foreach((json_t *)m, k, v) s += json_integer_value(v);
    return s;
}

static void print_latency(FILE *out, const char *label, const json_t *lat)
{
    char a[32], b[32], c[32];
    if (json_integer_value(json_object_get(lat, "count")) == 0) {
        fprintf(out, "    %-12s (no responses)\n", label);
        return;
    }
    fprintf(out, "    %-12s %10s %10s %10s\n", label, fmt_us(num(lat, "mean"), a, sizeof a),
            fmt_us(num(lat, "stdev"), b, sizeof b), fmt_us(num(lat, "max"), c, sizeof c));
}

/* wrk's "Latency Distribution"; in open loop the uncorrected column too. */
static void print_distribution(FILE *out, const json_t *corr, const json_t *unc)
{
    static const struct {
        const char *label, *key;
    } pct[] = {{"50%", "p50"}, {"75%", "p75"}, {"90%", "p90"}, {"99%", "p99"}, {"99.9%", "p99_9"}};
    char a[32], b[32];
    fprintf(out, "  Latency Distribution%s\n", unc ? " (corrected, uncorrected)" : "");
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++) {
        fprintf(out, "  %6s %10s", pct[i].label, fmt_us(num(corr, pct[i].key), a, sizeof a));
        if (unc != NULL)
            fprintf(out, " %10s", fmt_us(num(unc, pct[i].key), b, sizeof b));
        fputc('\n', out);
    }
}

void ioload_print_summary(FILE *out, const json_t *root)
{
    const json_t *cfg = json_object_get(root, "config");
    const json_t *lat = json_object_get(root, "latency_us");
    const json_t *corr = json_object_get(lat, "corrected");
    const json_t *tot = json_object_get(root, "totals");
    const json_t *err = json_object_get(root, "errors");
    const json_t *tp = json_object_get(root, "throughput");
    bool open = json_is_object(json_object_get(root, "open_loop"));
    double elapsed = num(root, "elapsed_s");
    char a[32], b[32], c[32];

    fprintf(out, "Running %s %s-loop test @ %s (%s engine)\n", fmt_us(elapsed * 1e6, a, sizeof a),
            open ? "open" : "closed", json_string_value(json_object_get(cfg, "url")),
            json_string_value(json_object_get(cfg, "engine")));
    fprintf(out, "  %" JSON_INTEGER_FORMAT " threads and %" JSON_INTEGER_FORMAT " connections",
            json_integer_value(json_object_get(cfg, "threads")),
            json_integer_value(json_object_get(cfg, "connections")));
    if (open)
        fprintf(out, ", %.0f requests/s offered", num(cfg, "rate"));
    if (json_integer_value(json_object_get(cfg, "idle_connections")) > 0)
        fprintf(out, ", %" JSON_INTEGER_FORMAT " idle",
                json_integer_value(json_object_get(tot, "idle_established")));
    fprintf(out, "\n  Latency          %10s %10s %10s\n", "Avg", "Stdev", "Max");
    print_latency(out, open ? "corrected" : "Latency", corr);
    if (open)
        print_latency(out, "uncorrected", json_object_get(lat, "uncorrected"));
    if (json_integer_value(json_object_get(corr, "count")) > 0)
        print_distribution(out, corr, open ? json_object_get(lat, "uncorrected") : NULL);
    fprintf(out, "  %" JSON_INTEGER_FORMAT " requests in %.2fs, %s read\n",
            json_integer_value(json_object_get(tot, "requests")), elapsed,
            fmt_bytes(num(tot, "bytes"), b, sizeof b));
    json_int_t sock = json_integer_value(json_object_get(err, "connect")) +
                      json_integer_value(json_object_get(err, "receive")) +
                      json_integer_value(json_object_get(err, "send")) +
                      json_integer_value(json_object_get(err, "timeout"));
    if (sock > 0)
        fprintf(out,
                "  Socket errors: connect %" JSON_INTEGER_FORMAT ", read %" JSON_INTEGER_FORMAT
                ", write %" JSON_INTEGER_FORMAT ", timeout %" JSON_INTEGER_FORMAT "\n",
                json_integer_value(json_object_get(err, "connect")),
                json_integer_value(json_object_get(err, "receive")),
                json_integer_value(json_object_get(err, "send")),
                json_integer_value(json_object_get(err, "timeout")));
    json_int_t non2xx =
        sum_map(json_object_get(err, "http_4xx")) + sum_map(json_object_get(err, "http_5xx"));
    if (non2xx > 0)
        fprintf(out, "  Non-2xx responses: %" JSON_INTEGER_FORMAT "\n", non2xx);
    json_int_t other = sum_map(json_object_get(err, "other"));
    if (other > 0)
        fprintf(out, "  Other errors: %" JSON_INTEGER_FORMAT "\n", other);
    if (open) {
        const json_t *ol = json_object_get(root, "open_loop");
        const json_t *lag = json_object_get(ol, "send_lag_ns");
        fprintf(out,
                "  Send lag: p50 %s, p99 %s, max %s; late %" JSON_INTEGER_FORMAT
                " of %" JSON_INTEGER_FORMAT " (ioload behind %" JSON_INTEGER_FORMAT
                ", no connection free %" JSON_INTEGER_FORMAT ", woken late %" JSON_INTEGER_FORMAT
                ")\n",
                fmt_us(num(lag, "p50") / 1e3, a, sizeof a), fmt_us(num(lag, "p99") / 1e3, b, sizeof b),
                fmt_us(num(ol, "max_send_lag_us"), c, sizeof c),
                json_integer_value(json_object_get(ol, "late")),
                json_integer_value(json_object_get(ol, "scheduled")),
                json_integer_value(json_object_get(ol, "late_behind")),
                json_integer_value(json_object_get(ol, "late_noconn")),
                json_integer_value(json_object_get(ol, "late_wakeup")));
    }
    fprintf(out, "Requests/sec: %10.2f\n", num(tp, "requests_per_s"));
    fprintf(out, "Transfer/sec: %10s\n", fmt_bytes(num(tp, "bytes_per_s"), b, sizeof b));
    const json_t *self = json_object_get(root, "self");
    fprintf(out, "ioload CPU: %.2fus per request, busy %.0f%%, saturated: %s",
            num(self, "cpu_per_request_us"), num(self, "busy_fraction") * 100,
            json_is_true(json_object_get(self, "saturated")) ? "yes" : "no");
    if (num(self, "spin_s") > 0)
        fprintf(out, " (and %.2fs awake on purpose before due times)", num(self, "spin_s"));
    fputc('\n', out);
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(root, "warnings"), i, w)
        fprintf(out, "WARNING: %s\n", json_string_value(w));
}
