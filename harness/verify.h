/* verify: checks a running ioserve against the contract before it is
 * benchmarked (as TechEmpower verifies before it measures), with libcurl.
 *
 * A model that answers wrongly would make its figures meaningless, so a
 * failed check keeps the model out of the benchmark. */
#ifndef IOBENCH_VERIFY_H
#define IOBENCH_VERIFY_H

#include <jansson.h>

/* Runs every check against the server for model on 127.0.0.1:port and
 * appends the name and reason of each failed one ("GET /: body is ...") to
 * the array failed. Returns how many failed (0: the model is fit). */
int verify_server(int port, const char *model, json_t *failed);

/* The address the checks and /stats go to (default 127.0.0.1): where the
 * server was told to listen. */
void verify_set_host(const char *host);

/* GET http://127.0.0.1:port/stats once, within timeout_ms; the parsed JSON
 * object (new reference) or NULL. */
json_t *verify_get_stats(int port, long timeout_ms);

#endif
