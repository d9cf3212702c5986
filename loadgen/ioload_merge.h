/* ioload_merge: one result from the results of several load generators.
 *
 * Exact where the inputs allow it: histograms are added bucket by bucket,
 * counts summed, and rates recomputed over the interval the inputs span
 * together. */
#ifndef IOBENCH_IOLOAD_MERGE_H
#define IOBENCH_IOLOAD_MERGE_H

#include <jansson.h>
#include <stddef.h>

/* Merges n parsed results (names label them in warnings). Returns a new
 * result, or NULL with a one-line message in err. */
json_t *ioload_merge(json_t *const *inputs, const char *const *names, int n, char *err,
                     size_t errlen);
/* Loads and merges the result files at paths. */
json_t *ioload_merge_files(const char *const *paths, int n, char *err, size_t errlen);

#endif
