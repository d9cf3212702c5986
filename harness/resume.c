/* resume: an interrupted run taken up (see resume.h). */
#include "resume.h"

#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

json_t *resume_load(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX], jerr[512];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_t *s = util_json_load(path, jerr, sizeof jerr);
    if (s == NULL) {
        snprintf(err, errlen, "--resume: %s", jerr);
        return NULL;
    }
    const char *schema = json_string_value(json_object_get(s, "schema"));
    if (schema == NULL || strcmp(schema, "iobench-summary") != 0 ||
        !json_is_object(json_object_get(s, "suite"))) {
        snprintf(err, errlen, "--resume: %s is not an iobench summary with its suite", path);
        json_decref(s);
        return NULL;
    }
    return s;
}

bool resume_same_machine(json_t *old_env, json_t *env, char *why, size_t cap)
{
    static const char *const keys[] = {"cpu_model",    "cores",   "kernel",
                                       "mem_total_kb", "libcurl", NULL};
    for (const char *const *k = keys; *k != NULL; k++) {
        json_t *a = json_object_get(env, *k), *b = json_object_get(old_env, *k);
        if (json_equal(a, b))
            continue;
        char *here = json_dumps(a, JSON_ENCODE_ANY), *there = json_dumps(b, JSON_ENCODE_ANY);
        snprintf(why, cap, "%s: %s here, %s there", *k, here ? here : "?", there ? there : "?");
        free(here);
        free(there);
        return false;
    }
    return true;
}

json_t *resume_written_run(const char *dir, const char *id)
{
    char path[PATH_MAX], jerr[512];
    snprintf(path, sizeof path, "%s/runs/%s.json", dir, id);
    json_t *f = util_json_load(path, jerr, sizeof jerr);
    json_t *run = json_object_get(f, "run");
    const char *got = json_string_value(json_object_get(run, "id"));
    json_t *out = got != NULL && strcmp(got, id) == 0 ? json_incref(run) : NULL;
    json_decref(f);
    return out;
}

void resume_mark(json_t *summary, json_t *old, int runs_kept)
{
    char at[32];
    util_iso8601(time(NULL), at, sizeof at);
    json_t *list = json_object_get(old, "resumed");
    list = json_is_array(list) ? json_deep_copy(list) : json_array();
    json_array_append_new(list, json_pack("{s:s,s:i}", "at", at, "runs_kept", runs_kept));
    json_object_set_new(summary, "resumed", list);
    json_t *start = json_object_get(old, "start");
    if (json_is_string(start))
        json_object_set(summary, "start", start);
}
