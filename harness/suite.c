/* suite: load, validate and expand a suite file. */
#include "suite.h"

#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *suite_resolve(const char *arg, char *buf, size_t cap)
{
    size_t len = strlen(arg);
    int n;
    if (strchr(arg, '/') != NULL || (len > 5 && strcmp(arg + len - 5, ".json") == 0))
        n = snprintf(buf, cap, "%s", arg);
    else
        n = snprintf(buf, cap, "%s/harness/suites/%s.json", IOBENCH_SOURCE_DIR, arg);
    return n < 0 || (size_t)n >= cap ? NULL : buf;
}

static int fail(char *err, size_t errlen, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const char *file, const char *fmt, ...)
{
    int n = snprintf(err, errlen, "suite %s: ", file);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A name that is safe inside a run id and a file name. */
static bool valid_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len >= SUITE_NAME_MAX)
        return false;
    for (const char *p = s; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

/* Reads an optional number key into *out within [lo, hi]; 0 or -1. */
static int get_number(json_t *obj, const char *key, double lo, double hi, double *out,
                      const char *where, const char *file, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
        return fail(err, errlen, file, "%s%s: expected a number in [%g, %g]", where, key, lo, hi);
    *out = json_number_value(v);
    return 0;
}

static int get_int(json_t *obj, const char *key, long lo, long hi, int *out, const char *where,
                   const char *file, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return fail(err, errlen, file, "%s%s: expected an integer in [%ld, %ld]", where, key, lo,
                    hi);
    *out = (int)json_integer_value(v);
    return 0;
}

static int check_keys(json_t *obj, const char *const *allowed, const char *where, const char *file,
                      char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL; a++)
            ok = ok || strcmp(key, *a) == 0;
        if (!ok)
            return fail(err, errlen, file, "%sunknown key \"%s\"", where, key);
    }
    return 0;
}

/* "offered": fractions in (0, 4] of the capacity measured by the workload
 * "capacity_from" names (resolved once every workload is loaded). */
static int load_offered(struct suite_workload *w, json_t *jw, const char *where, const char *file,
                        char *err, size_t errlen)
{
    json_t *off = json_object_get(jw, "offered");
    json_t *from = json_object_get(jw, "capacity_from");
    w->n_offered = 0;
    w->capacity_from = -1;
    if (off == NULL && from == NULL)
        return 0;
    if (!json_is_array(off) || json_array_size(off) == 0 ||
        json_array_size(off) > SUITE_MAX_LEVELS || !json_is_string(from))
        return fail(err, errlen, file,
                    "%soffered: expected 1 to %d fractions of capacity, with capacity_from "
                    "naming a closed-loop workload",
                    where, SUITE_MAX_LEVELS);
    if (w->rate > 0)
        return fail(err, errlen, file, "%soffered: excludes rate", where);
    size_t k;
    json_t *v;
    json_array_foreach(off, k, v)
    {
        double f = json_number_value(v);
        if (!json_is_number(v) || !(f > 0 && f <= 4))
            return fail(err, errlen, file, "%soffered[%zu]: expected a fraction in (0, 4]", where,
                        k);
        w->offered[k] = f;
    }
    w->n_offered = (int)json_array_size(off);
    w->capacity_from = -2; /* named; resolved by resolve_capacity */
    return 0;
}

/* capacity_from must name an earlier closed-loop workload with every level
 * of the open-loop one, so its figures exist when the open loop runs. */
static int resolve_capacity(struct suite *s, json_t *workloads, const char *file, char *err,
                            size_t errlen)
{
    for (int i = 0; i < s->n_workloads; i++) {
        struct suite_workload *w = &s->workloads[i];
        if (w->capacity_from != -2)
            continue;
        const char *name =
            json_string_value(json_object_get(json_array_get(workloads, (size_t)i), "capacity_from"));
        int found = -1;
        for (int j = 0; j < i && found < 0; j++)
            if (strcmp(s->workloads[j].name, name) == 0)
                found = j;
        const struct suite_workload *c = found >= 0 ? &s->workloads[found] : NULL;
        if (c == NULL || c->rate > 0 || c->n_offered > 0)
            return fail(err, errlen, file,
                        "workloads[%d].capacity_from: \"%s\" is not a closed-loop workload "
                        "listed before it",
                        i, name);
        for (int l = 0; l < w->n_levels; l++) {
            bool has = false;
            for (int m = 0; m < c->n_levels; m++)
                has = has || c->levels[m] == w->levels[l];
            if (!has)
                return fail(err, errlen, file,
                            "workloads[%d].levels: %d is not a level of \"%s\", whose "
                            "capacity it needs",
                            i, w->levels[l], name);
        }
        w->capacity_from = found;
    }
    return 0;
}

static int load_workload(struct suite_workload *w, json_t *jw, int i, const char *file, char *err,
                         size_t errlen)
{
    static const char *const keys[] = {
        "name",   "path",        "keepalive", "idle",    "slow_clients",  "levels",
        "description", "rate",   "offered",   "capacity_from", NULL};
    char where[64];
    snprintf(where, sizeof where, "workloads[%d].", i);
    if (!json_is_object(jw))
        return fail(err, errlen, file, "workloads[%d]: expected an object", i);
    if (check_keys(jw, keys, where, file, err, errlen) < 0)
        return -1;
    const char *name = json_string_value(json_object_get(jw, "name"));
    if (name == NULL || !valid_name(name))
        return fail(err, errlen, file, "%sname: expected a name of letters, digits, '-', '_'",
                    where);
    snprintf(w->name, sizeof w->name, "%s", name);
    const char *path = json_string_value(json_object_get(jw, "path"));
    if (path == NULL || path[0] != '/' || strlen(path) >= sizeof w->path ||
        strpbrk(path, " \r\n\t") != NULL)
        return fail(err, errlen, file, "%spath: expected a request path starting with '/'", where);
    snprintf(w->path, sizeof w->path, "%s", path);
    json_t *ka = json_object_get(jw, "keepalive");
    if (ka != NULL && !json_is_boolean(ka))
        return fail(err, errlen, file, "%skeepalive: expected true or false", where);
    w->keepalive = ka == NULL || json_is_true(ka);
    if (get_int(jw, "idle", 0, 100000, &w->idle, where, file, err, errlen) < 0 ||
        get_int(jw, "slow_clients", 0, 1000, &w->slow_clients, where, file, err, errlen) < 0 ||
        get_number(jw, "rate", 1, 1e8, &w->rate, where, file, err, errlen) < 0)
        return -1;
    json_t *levels = json_object_get(jw, "levels");
    if (!json_is_array(levels) || json_array_size(levels) == 0 ||
        json_array_size(levels) > SUITE_MAX_LEVELS)
        return fail(err, errlen, file, "%slevels: expected 1 to %d concurrency levels", where,
                    SUITE_MAX_LEVELS);
    size_t k;
    json_t *lv;
    json_array_foreach(levels, k, lv)
    {
        if (!json_is_integer(lv) || json_integer_value(lv) < 1 || json_integer_value(lv) > 100000)
            return fail(err, errlen, file, "%slevels[%zu]: expected an integer in [1, 100000]",
                        where, k);
        w->levels[k] = (int)json_integer_value(lv);
    }
    w->n_levels = (int)json_array_size(levels);
    return load_offered(w, jw, where, file, err, errlen);
}

static int load_models(struct suite *s, json_t *j, const char *path, char *err, size_t errlen)
{
    json_t *models = json_object_get(j, "models");
    if (!json_is_array(models) || json_array_size(models) == 0 ||
        json_array_size(models) > SUITE_MAX_MODELS)
        return fail(err, errlen, path, "models: expected 1 to %d model names", SUITE_MAX_MODELS);
    size_t i;
    json_t *v;
    json_array_foreach(models, i, v)
    {
        const char *m = json_string_value(v);
        if (m == NULL || !valid_name(m))
            return fail(err, errlen, path, "models[%zu]: expected a model name", i);
        for (size_t k = 0; k < i; k++)
            if (strcmp(s->models[k], m) == 0)
                return fail(err, errlen, path, "models[%zu]: \"%s\" listed twice", i, m);
        snprintf(s->models[i], SUITE_NAME_MAX, "%s", m);
    }
    s->n_models = (int)json_array_size(models);
    return 0;
}

/* "threads": a count, or "auto" (one per load CPU). */
static int load_threads(struct suite *s, json_t *j, const char *path, char *err, size_t errlen)
{
    const char *t = json_string_value(json_object_get(j, "threads"));
    if (t != NULL && strcmp(t, "auto") == 0) {
        s->threads = SUITE_THREADS_AUTO;
        return 0;
    }
    if (t != NULL)
        return fail(err, errlen, path, "threads: expected an integer in [1, 256] or \"auto\"");
    return get_int(j, "threads", 1, 256, &s->threads, "", path, err, errlen);
}

static int load_numbers(struct suite *s, json_t *j, const char *path, char *err, size_t errlen)
{
    s->trials = 1;
    s->duration_s = 1.0;
    s->warmup_s = 0.25;
    s->threads = 1;
    s->timeout_s = 2.0;
    s->server_cpus = 1;
    s->load_tasks = 1;
    if (get_int(j, "trials", 1, 1000, &s->trials, "", path, err, errlen) < 0 ||
        get_number(j, "duration_s", 0.1, 86400, &s->duration_s, "", path, err, errlen) < 0 ||
        get_number(j, "warmup_s", 0, 3600, &s->warmup_s, "", path, err, errlen) < 0 ||
        load_threads(s, j, path, err, errlen) < 0 ||
        get_number(j, "timeout_s", 0.01, 3600, &s->timeout_s, "", path, err, errlen) < 0 ||
        get_int(j, "server_cpus", 1, 1024, &s->server_cpus, "", path, err, errlen) < 0 ||
        get_int(j, "load_tasks", 1, SUITE_MAX_LOAD_TASKS, &s->load_tasks, "", path, err, errlen) <
            0)
        return -1;
    return 0;
}

static int load_caps(json_t *j, const char *path, char *err, size_t errlen)
{
    json_t *caps = json_object_get(j, "caps");
    if (caps == NULL)
        return 0;
    if (!json_is_object(caps))
        return fail(err, errlen, path, "caps: expected an object {\"model\": max concurrency}");
    const char *key;
    json_t *v;
    json_object_foreach(caps, key, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return fail(err, errlen, path, "caps.%s: expected a positive integer", key);
    }
    return 0;
}

static int load_workloads(struct suite *s, json_t *j, const char *path, char *err, size_t errlen)
{
    json_t *wls = json_object_get(j, "workloads");
    if (!json_is_array(wls) || json_array_size(wls) == 0 ||
        json_array_size(wls) > SUITE_MAX_WORKLOADS)
        return fail(err, errlen, path, "workloads: expected 1 to %d workloads",
                    SUITE_MAX_WORKLOADS);
    size_t i;
    json_t *v;
    json_array_foreach(wls, i, v)
    {
        if (load_workload(&s->workloads[i], v, (int)i, path, err, errlen) < 0)
            return -1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(s->workloads[k].name, s->workloads[i].name) == 0)
                return fail(err, errlen, path, "workloads[%zu]: name \"%s\" used twice", i,
                            s->workloads[i].name);
    }
    s->n_workloads = (int)json_array_size(wls);
    return resolve_capacity(s, wls, path, err, errlen);
}

static int load_header(struct suite *s, json_t *j, const char *path, char *err, size_t errlen)
{
    static const char *const keys[] = {
        "name",      "description", "models",     "trials", "duration_s", "warmup_s", "threads",
        "timeout_s", "server_cpus", "load_tasks", "caps",   "workloads",  NULL};
    if (!json_is_object(j))
        return fail(err, errlen, path, "expected a JSON object");
    if (check_keys(j, keys, "", path, err, errlen) < 0)
        return -1;
    const char *name = json_string_value(json_object_get(j, "name"));
    if (name == NULL || !valid_name(name))
        return fail(err, errlen, path, "name: expected a name of letters, digits, '-', '_'");
    snprintf(s->name, sizeof s->name, "%s", name);
    json_t *desc = json_object_get(j, "description");
    if (desc != NULL && !json_is_string(desc))
        return fail(err, errlen, path, "description: expected a string");
    return 0;
}

/* Validates j (taken) as the suite named path. */
static int parse(struct suite *s, json_t *j, const char *path, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->json = j;
    snprintf(s->file, sizeof s->file, "%s", path);
    if (load_header(s, j, path, err, errlen) < 0 || load_models(s, j, path, err, errlen) < 0 ||
        load_numbers(s, j, path, err, errlen) < 0 || load_caps(j, path, err, errlen) < 0 ||
        load_workloads(s, j, path, err, errlen) < 0)
        goto err;
    if (json_object_set_new(j, "file", json_string(path)) < 0) {
        snprintf(err, errlen, "suite %s: out of memory", path);
        goto err;
    }
    return 0;
err:
    suite_free(s);
    return -1;
}

int suite_load(struct suite *s, const char *path, char *err, size_t errlen)
{
    char jerr[512];
    json_t *j = util_json_load(path, jerr, sizeof jerr);
    if (j == NULL) {
        memset(s, 0, sizeof *s);
        snprintf(err, errlen, "suite %s", jerr);
        return -1;
    }
    return parse(s, j, path, err, errlen);
}

int suite_load_json(struct suite *s, json_t *recorded, char *err, size_t errlen)
{
    json_t *j = json_deep_copy(recorded);
    const char *file = json_string_value(json_object_get(recorded, "file"));
    char path[4096];
    snprintf(path, sizeof path, "%s", file != NULL ? file : "(recorded)");
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        memset(s, 0, sizeof *s);
        snprintf(err, errlen, "suite %s: the recorded suite is not an object", path);
        return -1;
    }
    json_object_del(j, "file");
    return parse(s, j, path, err, errlen);
}

void suite_free(struct suite *s)
{
    json_decref(s->json);
    s->json = NULL;
}

int suite_set_models(struct suite *s, const char *list, char *err, size_t errlen)
{
    char buf[SUITE_MAX_MODELS * SUITE_NAME_MAX];
    if (strlen(list) >= sizeof buf) {
        snprintf(err, errlen, "--models: list too long");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", list);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (!valid_name(tok)) {
            snprintf(err, errlen, "--models: \"%s\" is not a model name", tok);
            return -1;
        }
        if (n == SUITE_MAX_MODELS) {
            snprintf(err, errlen, "--models: more than %d models", SUITE_MAX_MODELS);
            return -1;
        }
        for (int k = 0; k < n; k++)
            if (strcmp(s->models[k], tok) == 0) {
                snprintf(err, errlen, "--models: \"%s\" listed twice", tok);
                return -1;
            }
        snprintf(s->models[n++], SUITE_NAME_MAX, "%s", tok);
    }
    if (n == 0) {
        snprintf(err, errlen, "--models: expected a comma-separated list of models");
        return -1;
    }
    s->n_models = n;
    return 0;
}

int suite_cap(const struct suite *s, const char *model)
{
    json_t *cap = json_object_get(json_object_get(s->json, "caps"), model);
    return cap != NULL ? (int)json_integer_value(cap) : 0;
}

/* How many runs one workload at one level adds per trial and model. */
static size_t points(const struct suite_workload *w)
{
    return w->n_offered > 0 ? (size_t)w->n_offered : 1;
}

struct suite_run *suite_plan(const struct suite *s, const bool *model_enabled, size_t *n)
{
    size_t total = 0;
    for (int w = 0; w < s->n_workloads; w++)
        total += (size_t)s->workloads[w].n_levels * points(&s->workloads[w]) *
                 (size_t)s->trials * (size_t)s->n_models;
    *n = 0;
    if (total == 0)
        return NULL;
    struct suite_run *runs = calloc(total, sizeof *runs);
    if (runs == NULL)
        return NULL;
    size_t k = 0;
    for (int w = 0; w < s->n_workloads; w++) {
        const struct suite_workload *wl = &s->workloads[w];
        for (int l = 0; l < wl->n_levels; l++)
            for (size_t o = 0; o < points(wl); o++)
                for (int t = 1; t <= s->trials; t++)
                    for (int m = 0; m < s->n_models; m++) {
                        int level = wl->levels[l];
                        int cap = suite_cap(s, s->models[m]);
                        if (!model_enabled[m] || (cap > 0 && level > cap))
                            continue;
                        runs[k++] = (struct suite_run){
                            .model = m, .workload = w, .level = level, .trial = t,
                            .offered = wl->n_offered > 0 ? (int)o : -1, .rate = wl->rate};
                    }
    }
    *n = k;
    if (k == 0) {
        free(runs);
        return NULL;
    }
    return runs;
}
