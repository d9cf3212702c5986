/* summary: summary.json, the record of a whole `iobench run` (the format
 * is docs/results-schema.md's iobench-summary), rewritten after every run
 * so an interrupted run leaves what it did. */
#ifndef IOBENCH_SUMMARY_H
#define IOBENCH_SUMMARY_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

struct summary {
    json_t *root; /* owns the arrays below */
    json_t *runs, *failures, *skipped, *verify;
    char path[PATH_MAX];
};

/* A new summary for dir/summary.json, marked incomplete ("running"). Takes
 * env and pinning; suite is copied. 0, or -1 on ENOMEM. */
int summary_new(struct summary *s, const char *dir, json_t *suite, json_t *env, json_t *pinning);
void summary_free(struct summary *s);
/* Writes it atomically; a failure is one line, the run goes on (the next
 * write may succeed, and the runs' own files are already on disk). */
void summary_save(const struct summary *s);
/* Records a model's verification: ok and its failed checks (taken). */
void summary_verify(struct summary *s, const char *model, bool ok, json_t *failed);
/* The first failed check recorded for model, or NULL. */
const char *summary_first_failed_check(const struct summary *s, const char *model);
/* Notes that a model x workload x level was not run, and why. */
void summary_skip(struct summary *s, const char *model, const char *workload, int level, int trials,
                  const char *reason);
/* Appends a finished run (taken); a failed one is also listed in failures. */
void summary_add_run(struct summary *s, json_t *run);
/* The end stamp, and complete or the reason it is not. */
void summary_finish(struct summary *s, const char *incomplete_reason);

#endif
