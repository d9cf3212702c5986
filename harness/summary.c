/* summary: summary.json (see summary.h). */
#include "summary.h"

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int summary_new(struct summary *s, const char *dir, json_t *suite, json_t *env, json_t *pinning)
{
    char start[32];
    util_iso8601(time(NULL), start, sizeof start);
    snprintf(s->path, sizeof s->path, "%s/summary.json", dir);
    s->runs = json_array();
    s->failures = json_array();
    s->skipped = json_array();
    s->verify = json_object();
    s->root =
        json_pack("{s:s,s:i,s:b,s:s,s:s,s:s?,s:O,s:s,s:n,s:o,s:o,s:o,s:o,s:o,s:o}", "schema",
                  "iobench-summary", "schema_version", 1, "complete", 0, "incomplete_reason",
                  "running", "iobench_version", IOBENCH_VERSION, "git_commit", util_git_sha(),
                  "suite", suite, "start", start, "end", "env", env, "pinning", pinning, "verify",
                  s->verify, "runs", s->runs, "failures", s->failures, "skipped", s->skipped);
    return s->root != NULL ? 0 : -1;
}

void summary_free(struct summary *s)
{
    json_decref(s->root);
    s->root = NULL;
}

void summary_save(const struct summary *s)
{
    if (util_json_save(s->path, s->root) < 0)
        fprintf(stderr, "iobench run: cannot write %s: %s\n", s->path, strerror(errno));
}

void summary_verify(struct summary *s, const char *model, bool ok, json_t *failed)
{
    json_object_set_new(s->verify, model,
                        json_pack("{s:b,s:o}", "ok", ok, "failed_checks", failed));
}

const char *summary_first_failed_check(const struct summary *s, const char *model)
{
    json_t *v = json_object_get(s->verify, model);
    return json_string_value(json_array_get(json_object_get(v, "failed_checks"), 0));
}

void summary_skip(struct summary *s, const char *model, const char *workload, int level, int trials,
                  const char *reason)
{
    json_array_append_new(s->skipped,
                          json_pack("{s:s,s:s,s:i,s:i,s:s}", "model", model, "workload", workload,
                                    "concurrency", level, "trials", trials, "reason", reason));
}

void summary_add_run(struct summary *s, json_t *run)
{
    const char *err = json_string_value(json_object_get(run, "error"));
    if (err != NULL)
        json_array_append_new(
            s->failures, json_pack("{s:O,s:O,s:O,s:O,s:s}", "model", json_object_get(run, "model"),
                                   "workload", json_object_get(run, "workload"), "concurrency",
                                   json_object_get(run, "concurrency"), "trial",
                                   json_object_get(run, "trial"), "reason", err));
    json_array_append_new(s->runs, run);
}

void summary_finish(struct summary *s, const char *incomplete_reason)
{
    char end[32];
    util_iso8601(time(NULL), end, sizeof end);
    json_object_set_new(s->root, "end", json_string(end));
    json_object_set_new(s->root, "complete", json_boolean(incomplete_reason == NULL));
    json_object_set_new(s->root, "incomplete_reason",
                        incomplete_reason != NULL ? json_string(incomplete_reason) : json_null());
}
