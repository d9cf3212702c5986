/* lifecycle: the server's stop flag, signals and clock, shared by main and
 * every model (Redis keeps its loop's life cycle in ae.c, main elsewhere).
 *
 * SIGTERM and SIGINT request a graceful stop; SIGUSR1 prints the counters.
 * The handlers are installed without SA_RESTART, so a blocked
 * accept/read/poll returns EINTR and the caller looks at server_stopping(). */
#ifndef IOBENCH_LIFECYCLE_H
#define IOBENCH_LIFECYCLE_H

#include <signal.h>
#include <stdint.h>

/* Ignores SIGPIPE and installs the stop and report handlers; model names
 * the counters SIGUSR1 prints. -1 with errno on failure. */
int lifecycle_init(const char *model);

/* True once a stop was requested; also prints a pending SIGUSR1 report
 * (deferred from the handler: stdio is not async-signal-safe). */
int server_stopping(void);
/* For models that take signals synchronously (sigwaitinfo). */
void server_request_stop(void);
/* The signals ioserve acts on: SIGTERM and SIGINT (stop), SIGUSR1 (print
 * the counters). Models that block them and take them with sigwaitinfo pass
 * each one they take to server_take_signal. */
void server_stop_sigset(sigset_t *set);
void server_take_signal(int signo);
/* Prints the counters on stderr (SIGUSR1). */
void server_report(void);

/* Monotonic clock in microseconds: /delay must never answer early, and
 * millisecond truncation would make it up to a millisecond early or late. */
int64_t server_now_us(void);
/* A poll/epoll_wait timeout in ms until deadline (server_now_us time):
 * rounded up so that a wait never ends before it, capped at a minute; -1
 * for INT64_MAX (no deadline), 0 when it has passed. */
int server_timeout_ms(int64_t deadline, int64_t now);

#endif
