/* testsupport: start and stop real ioserve processes, and inspect them.
 *
 * Every process started here is stopped by pid (srv_stop), and is started
 * with PR_SET_PDEATHSIG so that even a test process that dies cannot leave
 * an orphan server behind. */
#ifndef IOBENCH_TESTSUPPORT_H
#define IOBENCH_TESTSUPPORT_H

#include <stddef.h>
#include <sys/types.h>

struct srv {
    pid_t pid;
    int port;
    char model[32];
    char port_file[128];
    char host[64]; /* the --host given in extra, else 127.0.0.1 */
};

/* Starts `ioserve --model model --port 0 --port-file TMP [extra...]`
 * (extra is NULL-terminated, may be NULL) and waits up to 5 s until it
 * accepts TCP connections. Returns 0, or -1 (nothing left running). */
int srv_start(struct srv *s, const char *model, const char *const *extra);
/* Same, but with RLIMIT_NOFILE set to nofile in the child before exec. */
int srv_start_nofile(struct srv *s, const char *model, const char *const *extra, long nofile);
/* Same, with any resource limit (soft and hard) set to limit (> 0). */
int srv_start_rlimit(struct srv *s, const char *model, const char *const *extra, int resource,
                     long limit);
/* SIGTERM, waits up to timeout_ms, then SIGKILL. Returns the waitpid status
 * of the server, or -1 when it was not running. Safe to call twice. */
int srv_stop(struct srv *s, int timeout_ms);

/* Describes a waitpid status for messages ("exit status 1", "signal 6
 * (Aborted)", "not running" for -1); returns buf. */
const char *wait_status_describe(int st, char *buf, size_t cap);
/* Stops s with SIGTERM (srv_stop) and says whether it then exited 0 by
 * itself: 1, or 0 with why filled ("signal 6 (Aborted)", "still running
 * after 8000 ms, killed", "not running"). A sanitizer report at exit makes
 * the server's status non-zero, so this is where it fails a test. */
int srv_stop_clean(struct srv *s, int timeout_ms, char *why, size_t cap);
/* For criterion tests (criterion.h included first): stop s and expect a
 * clean exit, the message naming the model. Every test that starts a
 * server ends it through this, or an equivalent check of srv_stop_clean. */
#define SRV_EXPECT_CLEAN_STOP(s, timeout_ms)                                                       \
    do {                                                                                           \
        char srv_why_[160];                                                                        \
        struct srv *srv_s_ = (s);                                                                  \
        cr_expect(srv_stop_clean(srv_s_, (timeout_ms), srv_why_, sizeof srv_why_),                 \
                  "[%s] after SIGTERM the server should exit 0; it ended with %s", srv_s_->model,  \
                  srv_why_);                                                                       \
    } while (0)

/* The models under test's view: every model CMake configured for ioserve,
 * then every model whose source CMake left out on this system (see
 * srv_model_unusable), NULL-terminated, static. Generated from CMake
 * (IOBENCH_CONFIGURED_MODELS, IOBENCH_LEFT_OUT_MODELS), so a new model
 * drops in with no test edit, and one missing from the binary fails. */
const char *const *srv_models(void);
/* For criterion's parameterized tests: one srv_model_param per model of
 * srv_models() that srv_model_selected() keeps (criterion.h and
 * criterion/parameterized.h included first). */
struct srv_model_param {
    char name[32];
};
#ifdef CRITERION_PARAMETERIZED_H_
struct criterion_test_params srv_model_params(void);
#endif
/* The models CMake configured only. */
const char *const *srv_configured_models(void);
/* The names `ioserve --list-models` prints, NULL-terminated, static. */
const char *const *srv_listed_models(void);
/* Whether model cannot be tested here for a reason that is not a bug: CMake
 * left it out (its feature check failed), or it is built but ioserve refuses
 * it at start with an error of its own (exit status 1: io_uring disabled by
 * the kernel, say). 1 with why filled, naming the reason, else 0. A model
 * that crashes at start, or that is configured but unknown to ioserve, is
 * NOT unusable: its tests must fail. */
int srv_model_unusable(const char *model, char *why, size_t cap);
/* For criterion tests: skip the test, naming the model and why, when
 * srv_model_unusable says so. */
#define SRV_SKIP_IF_UNUSABLE(model)                                                                \
    do {                                                                                           \
        char srv_why_[256];                                                                        \
        const char *srv_m_ = (model);                                                              \
        if (srv_model_unusable(srv_m_, srv_why_, sizeof srv_why_))                                 \
            cr_skip_test("model %s is not tested here: %s", srv_m_, srv_why_);                     \
    } while (0)

/* /proc inspection; -1 on error. */
int proc_fd_count(pid_t pid);
/* "FD=TARGET ..." for each open descriptor of pid, for messages. */
int proc_fd_list(pid_t pid, char *buf, size_t cap);
int proc_child_count(pid_t pid); /* direct children, any state */
int proc_zombie_children(pid_t pid);
int proc_thread_count(pid_t pid);
long proc_rss_kb(pid_t pid);
/* Memory of pid and all its descendants: the sum of their anonymous
 * proportional set sizes (Pss_Anon of /proc/PID/smaps_rollup: heap, stacks,
 * and pages a fork child shares with its parent counted once in all), or
 * of their whole PSS on kernels before 5.10, or of their RSS without
 * smaps_rollup (before 4.14); *pss says whether it is PSS (may be NULL).
 * Anonymous only where possible, because file pages (the binary, libc) are
 * shared with whatever else maps them, and their PSS moves when unrelated
 * processes start or stop. -1 on error. */
long proc_tree_mem_kb(pid_t pid, int *pss);

/* Raw sockets, for bytes no HTTP client would send. */
int tcp_connect(int port);                         /* blocking, 127.0.0.1; -1 */
int tcp_connect_host(const char *ipv4, int port);  /* blocking; -1, errno set */
int send_all(int fd, const void *buf, size_t len); /* 0 or -1 */
/* Reads one HTTP response (head and Content-Length body, or until close)
 * within timeout_ms. Returns its length (buf NUL-terminated), -1 on timeout
 * or error, 0 when the peer closed before sending anything. */
long recv_response(int fd, char *buf, size_t cap, int timeout_ms, int *status);
/* Reads until the peer closes; -1 on timeout. */
long recv_until_close(int fd, char *buf, size_t cap, int timeout_ms);

/* One request with libcurl to 127.0.0.1:port. Returns 0 and fills status
 * and body (NUL-terminated, truncated to cap), or -1 on transport error. */
int http_get(int port, const char *path, long *status, char *body, size_t cap);
/* GET /stats and return one integer field by dotted path ("requests",
 * "connections.accepted"), or -1. */
long srv_stat(const struct srv *s, const char *field);

/* Path of the built binaries (set by CMake; the environment variables
 * IOBENCH_IOSERVE and IOBENCH_IOLOAD override the first two). */
const char *ioserve_path(void);
const char *ioload_path(void);
const char *iobench_path(void);

/* Runs argv (argv[0] a path) with stdout and stderr into out (NUL-ended,
 * truncated to cap) and waits up to timeout_ms, then SIGKILLs it. Returns
 * its exit status, or -1 when it was killed, died of a signal or did not
 * start. */
int run_capture(const char *const *argv, char *out, size_t cap, int timeout_ms);
/* A fresh directory /tmp/iobench-TAG.XXXXXX in buf; 0 or -1. */
int tmpdir_make(char *buf, size_t cap, const char *tag);
/* Removes dir and everything under it; 0 or -1. */
int tmpdir_remove(const char *dir);
/* Writes len bytes to path (created or truncated); 0 or -1. */
int file_write(const char *path, const void *buf, size_t len);

/* Closes fds[0..*n) but those < 0, and sets *n to 0. */
void fds_close(int *fds, int *n);
/* CLOCK_MONOTONIC in milliseconds; a nap that EINTR does not cut short. */
long test_now_ms(void);
void test_sleep_ms(long ms);

/* Appended for the conformance suite. */
/* Fills out with up to max pids of pid's direct children (any state);
 * returns how many there are in all, -1 on error. */
int proc_children(pid_t pid, pid_t *out, int max);
/* The state letter of a process (R, S, Z, ...), or 0 when it is gone. */
char proc_state(pid_t pid);
/* Whether model is under test: IOBENCH_TEST_MODELS (comma-separated names)
 * restricts the models; unset or empty, all are. 1 or 0. */
int srv_model_selected(const char *model);

/* Whether `ioserve --describe-models` lists property for model
 * (processes, threads, helper-threads, bounded, loops). */
int srv_model_has(const char *model, const char *property);

#endif
