/* findings: the report's "Findings", sentences computed from a results
 * summary by a small table of rules (findings.c), each sentence with its
 * figures and the runs they come from.
 *
 * A rule says only what the data supports: a throughput measured while the
 * load generator was saturated is a lower bound and is called one. */
#ifndef IOBENCH_FINDINGS_H
#define IOBENCH_FINDINGS_H

#include <jansson.h>
#include <stddef.h>

#define FINDING_TEXT_MAX 1024

struct finding {
    const char *rule; /* the rule's name in the table ("leader", "zero", ...) */
    char text[FINDING_TEXT_MAX];
};

/* Runs every rule over summary (an iobench-summary with its "suite") and
 * stores at most cap findings in out, in the table's order. Returns how
 * many fired (may exceed cap). */
size_t findings_compute(json_t *summary, struct finding *out, size_t cap);

/* The mark a lower-bound figure carries in the report's tables. */
#define FINDINGS_LOWER_BOUND_MARK "*"

#endif
