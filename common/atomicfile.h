/* atomicfile: write a whole file so readers see the old or the new one.
 *
 * Shared by every program that leaves a file for another to read: ioserve's
 * port file, ioload's JSON result, iobench's summaries and reports. */
#ifndef IOBENCH_ATOMICFILE_H
#define IOBENCH_ATOMICFILE_H

#include <jansson.h>
#include <stddef.h>

/* Writes data to a temporary file beside path, fsyncs it and renames it over
 * path. An existing path that is not a regular file (/dev/null, a FIFO,
 * /dev/stdout) is written in place instead, since renaming over it would
 * replace the device with a file. Returns 0, or -1 with errno set and no
 * temporary file left behind. */
int atomicfile_write(const char *path, const void *data, size_t len);

/* Dumps a jansson value with the given json_dumps flags and a final newline,
 * and writes it with atomicfile_write. */
int atomicfile_write_json(const char *path, const json_t *j, size_t flags);

#endif
