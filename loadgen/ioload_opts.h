/* ioload_opts: ioload's command line, parsed into one immutable config. */
#ifndef IOBENCH_IOLOAD_OPTS_H
#define IOBENCH_IOLOAD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IOLOAD_MAX_HEADERS 64
#define IOLOAD_MAX_PIPELINE 256

struct ioload_config {
    const char *url;
    char origin_url[512]; /* scheme://host:port/ of url, for --idle */
    const char *method;   /* GET, or POST when a body is given */
    int threads;          /* -t, >= 1 */
    int connections;      /* -c, >= threads */
    double duration_s;    /* -d; < 0 when --requests bounds the run */
    int64_t requests;     /* -n; 0 when --duration bounds the run */
    double warmup_s;
    double timeout_s;
    bool keepalive;
    double rate; /* --rate, total req/s; 0 for closed loop */
    int idle;    /* --idle extra silent connections */
    int nheaders;
    const char *headers[IOLOAD_MAX_HEADERS];
    char *body; /* --data or --data-file contents (malloc'd), or NULL */
    size_t body_len;
    const char *engine;    /* "stream" (default) or "transfer" */
    int pipeline;          /* stream engine: requests in flight per connection */
    bool insecure;         /* https: do not verify the server's certificate */
    const char *cacert;    /* https: CA bundle to verify it with, or NULL */
    const char *json_path; /* --json, "-" for stdout, or NULL */
    bool quiet;
};

enum { IOLOAD_OPTS_OK = 0, IOLOAD_OPTS_EXIT = 1, IOLOAD_OPTS_USAGE = 2, IOLOAD_OPTS_FAIL = 3 };

/* Parses "500ms", "5s", "2m", "1h" or bare seconds ("0.5") into seconds.
 * Returns 0, or -1 for anything else (negative, empty, trailing junk). */
int ioload_parse_duration(const char *s, double *out);
/* Parses argv (after the program name) into cfg. Returns IOLOAD_OPTS_OK,
 * IOLOAD_OPTS_EXIT after --help/--version were printed, IOLOAD_OPTS_USAGE
 * after one line naming the bad option was written to err, or
 * IOLOAD_OPTS_FAIL when the URL cannot be used or --data-file unread. */
int ioload_parse_args(int argc, char **argv, struct ioload_config *cfg, char *err, size_t errlen);
/* Frees what parsing allocated. */
void ioload_config_free(struct ioload_config *cfg);
/* Writes the --help text. */
void ioload_usage(FILE *out);

#endif
