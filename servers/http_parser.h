/* http_parser: incremental HTTP/1.x request-head parser.
 *
 * Contract (after picohttpparser): it never allocates and never blocks. It
 * takes the bytes received so far and either finds a complete request head,
 * asks for more bytes, or rejects the request with the HTTP status the server
 * must answer. Header names and values point into the caller's buffer. */
#ifndef IOBENCH_HTTP_PARSER_H
#define IOBENCH_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 100 /* more than this is answered 431 */
#define HTTP_PARSE_INCOMPLETE (-1)

struct http_header {
    const char *name;
    size_t name_len;
    const char *value; /* leading and trailing whitespace removed */
    size_t value_len;
};

struct http_request {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor_version; /* HTTP/1.0 -> 0, HTTP/1.1 -> 1 */
    size_t num_headers;
    struct http_header headers[HTTP_MAX_HEADERS];
    /* Derived from the headers while parsing: */
    int64_t content_length; /* -1 when the request has none */
    bool keep_alive;        /* version default, overridden by Connection */
};

/* Parses the request head at buf[0, len).
 * last_len is len at the previous call on the same request (0 the first
 * time), and is only valid when that call returned HTTP_PARSE_INCOMPLETE:
 * bytes before it are known not to end the head, so a re-run after a few
 * more bytes arrive only scans those bytes for the end of the head.
 * max_head bounds the head (request line + headers + blank line).
 * Returns the head's length in bytes (> 0) when it is complete,
 * HTTP_PARSE_INCOMPLETE when more bytes are needed, or the negated HTTP
 * status to answer before closing: -400 malformed (bad request line, bad
 * header line, duplicate or conflicting Content-Length, bad Content-Length),
 * -431 head over max_head or more than HTTP_MAX_HEADERS headers, -501 any
 * Transfer-Encoding, -505 a version other than HTTP/1.0 or HTTP/1.1. */
int http_parse_request(const char *buf, size_t len, size_t last_len, size_t max_head,
                       struct http_request *req);

/* Case-insensitive lookup; returns the header or NULL. */
const struct http_header *http_find_header(const struct http_request *req, const char *name);

#endif
