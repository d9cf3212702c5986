/* runrecord: one run's entry in summary.json and its file runs/<id>.json
 * (docs/results-schema.md). */
#ifndef IOBENCH_RUNRECORD_H
#define IOBENCH_RUNRECORD_H

#include "procmon.h"
#include "server.h"
#include "slowclients.h"
#include "suite.h"

#include <jansson.h>
#include <stddef.h>

/* Everything one run produces besides its entry. */
struct run_result {
    json_t *ioload;       /* ioload's result (merged when several), or NULL */
    json_t *server_stats; /* /stats just before the stop, or NULL */
    struct procmon *pm;
    struct slowclients_stats slow;
    double window_from, window_to; /* the measured interval, on the sampling clock */
    int load_tasks, load_threads;  /* ioload processes and their threads in all */
    bool interrupted;              /* the run did not finish: not recorded */
};

/* The run's id, "<model>-<workload>-c<level>-t<trial>", into buf. */
char *runrecord_id(const struct suite *s, const struct suite_run *sr, char *buf, size_t cap);
/* A new entry, status "ok", figures null until filled, made by load_tasks
 * ioload processes. */
json_t *runrecord_new(const struct suite *s, const struct suite_run *sr, const char *id,
                      int load_tasks);
/* Copies the figures the summary carries from ioload's result. 0, or -1
 * with a reason in err. */
int runrecord_take_ioload(json_t *run, json_t *io, char *err, size_t errlen);
/* The run's "server" object: the stop's exit facts (taken) merged with the
 * server's CPU, memory and context switches over the measured window. */
json_t *runrecord_server(const struct server *s, const struct run_result *res, json_t *exit);
/* Marks the entry failed with err (when err is not empty). */
void runrecord_fail(json_t *run, const char *err);
/* Writes dir/runs/<id>.json: the entry, ioload's result, /stats, the
 * samples and the slow clients' counts. A failure is one line. */
void runrecord_save(const char *dir, const char *id, json_t *run, const struct run_result *res);

#endif
