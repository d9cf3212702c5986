/* ioload_errors: how ioload classifies a finished request, like wrk does.
 *
 * A transfer either failed in transport (a CURLcode other than CURLE_OK) or
 * returned an HTTP status. Transport failures fall into wrk's classes
 * (connect, timeout, send, receive), a malformed response, or "other", keyed
 * by the CURLcode's name;
 * statuses are counted per code. Counters are plain integers owned by one
 * thread and summed at the end. */
#ifndef IOBENCH_IOLOAD_ERRORS_H
#define IOBENCH_IOLOAD_ERRORS_H

#include <curl/curl.h>
#include <stdint.h>

enum ioload_err_class {
    IOLOAD_ERR_NONE,
    IOLOAD_ERR_CONNECT,
    IOLOAD_ERR_TIMEOUT,
    IOLOAD_ERR_SEND,
    IOLOAD_ERR_RECEIVE,
    IOLOAD_ERR_MALFORMED, /* the response was not valid HTTP/1.x */
    IOLOAD_ERR_OTHER,
};

#define IOLOAD_STATUS_MAX 600 /* statuses 100..599; others count in status[0] */

struct ioload_errors {
    int64_t connect;
    int64_t timeout;
    int64_t send;
    int64_t receive;
    int64_t malformed;
    int64_t other[CURL_LAST];          /* by CURLcode */
    int64_t status[IOLOAD_STATUS_MAX]; /* every HTTP status seen, 2xx included */
};

/* The class a transport result belongs to (IOLOAD_ERR_NONE for CURLE_OK). */
enum ioload_err_class ioload_err_classify(CURLcode rc);
/* The enum name of rc ("CURLE_COULDNT_CONNECT"); "CURLE_UNKNOWN" if unknown. */
const char *ioload_curle_name(CURLcode rc);
/* Counts one finished request: a transport failure, or an HTTP status. */
void ioload_err_count(struct ioload_errors *e, CURLcode rc, long status);
/* dst += src. */
void ioload_err_add(struct ioload_errors *dst, const struct ioload_errors *src);

#endif
