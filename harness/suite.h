/* suite: a benchmark suite file (harness/suites/NAME.json), loaded and
 * validated, and expanded into the ordered list of runs.
 *
 * A suite is data a user edits; every rule it breaks is reported as one line
 * naming the file and the key ("suite x.json: workloads[2].levels: ..."). */
#ifndef IOBENCH_SUITE_H
#define IOBENCH_SUITE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define SUITE_MAX_MODELS 16
#define SUITE_MAX_WORKLOADS 32
#define SUITE_MAX_LEVELS 32
#define SUITE_NAME_MAX 64
#define SUITE_PATH_MAX 256
#define SUITE_THREADS_AUTO 0
#define SUITE_MAX_LOAD_TASKS 256

struct suite_workload {
    char name[SUITE_NAME_MAX];
    char path[SUITE_PATH_MAX]; /* request path, starts with '/' */
    bool keepalive;            /* default true */
    int idle;                  /* idle connections ioload holds open */
    int slow_clients;          /* trickling connections the harness adds */
    double rate;               /* open loop: requests/s in all, 0: closed loop */
    int levels[SUITE_MAX_LEVELS];
    int n_levels;
    /* Open loop at fractions of each model's closed-loop capacity: the
     * median throughput of capacity_from (an earlier closed-loop workload)
     * at the same level, measured earlier in the same run. */
    double offered[SUITE_MAX_LEVELS];
    int n_offered;
    int capacity_from; /* index into suite.workloads, or -1 */
};

struct suite {
    char name[SUITE_NAME_MAX];
    char file[4096];
    char models[SUITE_MAX_MODELS][SUITE_NAME_MAX];
    int n_models;
    int trials;
    double duration_s;
    double warmup_s;
    int threads; /* ioload threads in all; SUITE_THREADS_AUTO: one per load CPU */
    double timeout_s;
    int server_cpus; /* CPUs the server is pinned to (1) */
    int load_tasks;  /* ioload processes per run (1) */
    struct suite_workload workloads[SUITE_MAX_WORKLOADS];
    int n_workloads;
    json_t *json; /* the object as loaded plus "file"; owned */
};

/* One run of the expanded plan. */
struct suite_run {
    int model;    /* index into suite.models */
    int workload; /* index into suite.workloads */
    int level;    /* concurrency */
    int trial;    /* 1-based */
    int offered;  /* index into the workload's offered fractions, or -1 */
    double rate;  /* open loop: requests/s in all, fixed when the run starts */
};

/* The file a suite argument names: NAME is harness/suites/NAME.json under
 * the source tree, anything with a '/' or ending in ".json" is a path.
 * Writes into buf; returns buf, or NULL when it does not fit. */
const char *suite_resolve(const char *arg, char *buf, size_t cap);
/* Loads and validates a suite file. 0, or -1 with one line in err. */
int suite_load(struct suite *s, const char *path, char *err, size_t errlen);
/* The same from a suite object as a summary recorded it (copied; its
 * "file" key names it in errors). */
int suite_load_json(struct suite *s, json_t *recorded, char *err, size_t errlen);
void suite_free(struct suite *s);
/* Replaces the suite's models with a comma-separated list; 0, or -1 with
 * one line in err (empty name, too many, duplicate). */
int suite_set_models(struct suite *s, const char *list, char *err, size_t errlen);
/* The per-model concurrency cap from "caps", or 0 when uncapped. */
int suite_cap(const struct suite *s, const char *model);
/* Expands the plan in benchmark order (workload, level, offered fraction,
 * trial, model; models
 * interleaved so drift hits all alike). Runs whose level exceeds the model's
 * cap are not listed. Returns a malloc'd array and its length in *n, or
 * NULL on ENOMEM (*n = 0 and NULL when there is nothing to run). */
struct suite_run *suite_plan(const struct suite *s, const bool *model_enabled, size_t *n);

#endif
