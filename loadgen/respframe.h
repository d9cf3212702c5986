/* respframe: finds where each HTTP/1.x response ends on a byte stream.
 *
 * The stream engine reads responses itself, so it needs to know only where
 * each one ends and what its status was: the status line, the framing
 * headers (Content-Length, Transfer-Encoding, Connection), chunked bodies
 * with extensions and trailers, close-delimited bodies, HEAD, and interim
 * 1xx responses. Like picohttpparser it never allocates and never copies:
 * the caller offers its receive buffer, the framer says how many bytes it
 * used, and the caller keeps the rest for the next call. A head, a chunk-size
 * line or a trailer line must therefore fit in the caller's buffer; body
 * bytes are counted and consumed as they come, so bodies of any size pass. */
#ifndef IOBENCH_RESPFRAME_H
#define IOBENCH_RESPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum respframe_rc {
    RESPFRAME_MORE = 0,  /* everything usable was used; offer more bytes */
    RESPFRAME_DONE = 1,  /* one whole response ended */
    RESPFRAME_ERROR = -1 /* not an HTTP/1.x response, or one we refuse */
};

struct respframe {
    uint8_t state;
    bool head_request; /* the request was HEAD: no body, whatever the headers say */
    bool keepalive;    /* the connection may carry another request afterwards */
    int status;        /* the final status, once its head was read */
    int64_t left;      /* bytes left of a Content-Length body or of a chunk */
    int64_t body;      /* body bytes so far (chunk framing not counted) */
    size_t scanned;    /* bytes of an incomplete line already searched */
};

/* Readies f for the response to the next request. */
void respframe_start(struct respframe *f, bool head_request);
/* Consumes bytes of buf[0..len) and sets *used to how many. Returns
 * RESPFRAME_DONE when a response ended (*used bytes belong to it, the rest
 * to the next), RESPFRAME_MORE when it needs bytes beyond len (the caller
 * keeps buf[*used..len) and offers them again with more appended), or
 * RESPFRAME_ERROR. A caller whose buffer is full while RESPFRAME_MORE left
 * bytes unused has a line longer than its buffer: a malformed response. */
enum respframe_rc respframe_feed(struct respframe *f, const char *buf, size_t len, size_t *used);
/* The peer closed the connection: RESPFRAME_DONE if that ends a
 * close-delimited body, RESPFRAME_ERROR if a response was cut short, and
 * RESPFRAME_MORE if no byte of a response had arrived yet. */
enum respframe_rc respframe_eof(const struct respframe *f);
/* Whether any byte of the current response has been used. */
bool respframe_started(const struct respframe *f);

#endif
