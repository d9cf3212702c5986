/* util: the harness's shared helpers: atomic files, JSON through jansson,
 * times, the results directory and the environment a run is recorded in.
 *
 * Every function returns an error (-1 or NULL) rather than ending the
 * process; none prints unless it says so. */
#ifndef IOBENCH_UTIL_H
#define IOBENCH_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* atomicfile_write of j dumped with 2-space indent, keys in insertion
 * order, and a final newline. 0 or -1. */
int util_json_save(const char *path, json_t *j);
/* Loads a JSON file; NULL with a one-line reason ("path:line:col: text")
 * in err on failure. The caller json_decref's the result. */
json_t *util_json_load(const char *path, char *err, size_t errlen);
/* The results directory a subcommand reads: arg when not NULL, else
 * "results/latest" (relative to the working directory). Not checked for
 * existence: the caller's load of summary.json reports a missing one. */
const char *util_results_dir(const char *arg);
/* mkdir -p with mode 0755; 0, or -1 with errno set. */
int util_mkdir_p(const char *path);
/* rm -r of path, not following symbolic links; 0, or -1 with errno set
 * (ENOENT counts as done). */
int util_remove_tree(const char *path);

/* Monotonic clock in seconds / milliseconds. */
double util_now_s(void);
int64_t util_now_ms(void);
/* ISO-8601 UTC ("2026-11-21T11:10:19Z") of t into buf; returns buf. */
char *util_iso8601(int64_t t, char *buf, size_t cap);
/* Compact UTC stamp for directory names ("20261121T111019Z"); returns buf. */
char *util_stamp(int64_t t, char *buf, size_t cap);
/* "3m12s", "41s", "1h02m" into buf; returns buf. */
char *util_duration(double seconds, char *buf, size_t cap);

/* Short git sha of the source tree (IOBENCH_SOURCE_DIR), or NULL when it is
 * not a git checkout. Static, computed once. */
const char *util_git_sha(void);
/* path relative to the source tree (IOBENCH_SOURCE_DIR) when it lies
 * inside it ("harness/suites/default.json"), into buf; NULL otherwise, so
 * that no result records where a machine keeps its files. */
const char *util_source_relative(const char *path, char *buf, size_t cap);
/* {"hostname","kernel","cpu_model","cores","mem_total_kb","libcurl"} read
 * from uname and /proc; values it cannot read are null. New reference. */
json_t *util_env(void);
/* Number of CPUs this process may run on (sched_getaffinity), >= 1. */
int util_cpu_count(void);

/* Reads a whole small file (at most cap-1 bytes) NUL-terminated into buf.
 * Returns its length, or -1 with errno set. */
long util_read_file(const char *path, char *buf, size_t cap);
/* The value of the last "Key: value" line of text whose key matches key
 * (case-insensitively; blanks before the colon allowed, as in /proc), trimmed,
 * into out. Returns out, or NULL when no line matches. Serves /proc files
 * and HTTP heads alike. */
const char *util_line_value(const char *text, const char *key, char *out, size_t cap);
/* strtol/strtod over the whole string with range checks: 0 or -1. */
int util_parse_long(const char *s, long lo, long hi, long *out);
int util_parse_double(const char *s, double lo, double hi, double *out);
/* The same for a percentage written "5%" or "5" (the number of percent). */
int util_parse_percent(const char *s, double lo, double hi, double *out);

#endif
