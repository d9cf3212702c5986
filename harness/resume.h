/* resume: taking up a results directory whose run was interrupted (SIGINT,
 * SIGTERM, SIGKILL, a lost node): what it recorded, whether this machine
 * may add to it, and which runs are already written. */
#ifndef IOBENCH_RESUME_H
#define IOBENCH_RESUME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* DIR/summary.json (new reference), or NULL with one line in err. */
json_t *resume_load(const char *dir, char *err, size_t errlen);
/* Whether env (util_env) describes the machine old_env was recorded on:
 * CPU model, cores, kernel, memory and libcurl. When not, the first
 * difference goes into why ("cpu_model: A here, B there"). */
bool resume_same_machine(json_t *old_env, json_t *env, char *why, size_t cap);
/* The run entry of DIR/runs/<id>.json when that file is whole and is the
 * run id (new reference), else NULL: the run is to be done. */
json_t *resume_written_run(const char *dir, const char *id);
/* Adds {"at", "runs_kept"} to the summary's "resumed" list, carried over
 * from the old summary with its start time. */
void resume_mark(json_t *summary, json_t *old, int runs_kept);

#endif
