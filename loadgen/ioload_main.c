/* ioload: HTTP load generator. `ioload [options] URL` runs a load and writes
 * its result; `ioload merge A.json B.json ...` merges results. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioload_engine.h"
#include "ioload_merge.h"
#include "ioload_opts.h"
#include "ioload_report.h"

/* Read by every worker thread: a lock-free atomic is async-signal-safe and
 * race-free across threads. */
static atomic_int stop_requested;

static void on_signal(int sig)
{
    atomic_store_explicit(&stop_requested, 1, memory_order_relaxed);
}

static int merge_main(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
        if (argc >= 3) {
            ioload_usage(stdout);
            return 0;
        }
        fprintf(stderr, "ioload merge: give the result files to merge (see --help)\n");
        return 2;
    }
    char err[512];
    json_t *out = ioload_merge_files((const char *const *)argv + 2, argc - 2, err, sizeof err);
    if (out == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int rc = ioload_json_write(out, "-");
    json_decref(out);
    if (rc != 0) {
        fprintf(stderr, "ioload merge: cannot write the result: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "merge") == 0)
        return merge_main(argc, argv);

    /* Before any thread exists: curl_global_init is not thread-safe. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "ioload: libcurl initialisation failed\n");
        return 1;
    }
    struct ioload_config cfg;
    char err[512];
    int prc = ioload_parse_args(argc, argv, &cfg, err, sizeof err);
    if (prc != IOLOAD_OPTS_OK) {
        if (prc != IOLOAD_OPTS_EXIT)
            fprintf(stderr, "%s\n", err);
        ioload_config_free(&cfg);
        curl_global_cleanup();
        return prc == IOLOAD_OPTS_EXIT ? 0 : prc == IOLOAD_OPTS_USAGE ? 2 : 1;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigemptyset(&ign.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGPIPE, &ign, NULL) != 0) {
        fprintf(stderr, "ioload: sigaction: %s\n", strerror(errno));
        return 1;
    }

    struct ioload_result res;
    int status = 0;
    if (ioload_run(&cfg, &stop_requested, &res, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        status = 1;
    } else {
        json_t *j = ioload_result_json(&cfg, &res);
        if (j == NULL) {
            fprintf(stderr, "ioload: cannot build the result (out of memory)\n");
            status = 1;
        } else if (cfg.json_path != NULL) {
            if (ioload_json_write(j, cfg.json_path) != 0) {
                fprintf(stderr, "ioload: cannot write %s: %s\n", cfg.json_path, strerror(errno));
                status = 1;
            }
        } else {
            ioload_print_summary(stdout, j);
        }
        json_decref(j);
    }
    ioload_result_free(&res);
    ioload_config_free(&cfg);
    curl_global_cleanup();
    return status;
}
