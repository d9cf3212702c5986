/* framedrive: feeds a byte stream to respframe the way the stream engine
 * does (a bounded buffer, unused bytes kept for the next read), in pieces
 * of chosen sizes, and sums up what it framed. Shared by test_respframe and
 * the respframe fuzz target, which check that every way of cutting the
 * same bytes frames them the same. */
#ifndef IOBENCH_FRAMEDRIVE_H
#define IOBENCH_FRAMEDRIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "respframe.h"

#define FRAMEDRIVE_BUF 512 /* small, so that long lines overflow in tests */
#define FRAMEDRIVE_MAX 64

struct framed {
    int responses;            /* whole responses */
    int status[FRAMEDRIVE_MAX];
    int64_t body[FRAMEDRIVE_MAX];
    bool keepalive[FRAMEDRIVE_MAX];
    bool error; /* malformed, or a line longer than the buffer */
    int at_eof; /* respframe_eof at the end: DONE, MORE or ERROR */
};

/* Frames data[0..len) arriving in pieces: piece i has size piece(i) (>= 1).
 * The buffer is placed by the caller (buf, FRAMEDRIVE_BUF bytes) so that a
 * test can put a PROT_NONE page right after it. */
static inline void framedrive(const char *data, size_t len, bool head_request,
                              size_t (*piece)(size_t i, void *arg), void *arg, char *buf,
                              struct framed *out)
{
    struct respframe f;
    size_t have = 0, off = 0;
    memset(out, 0, sizeof *out);
    respframe_start(&f, head_request);
    for (size_t i = 0; off < len && !out->error; i++) {
        size_t n = piece(i, arg);
        if (n > len - off)
            n = len - off;
        if (n > FRAMEDRIVE_BUF - have)
            n = FRAMEDRIVE_BUF - have;
        memcpy(buf + have, data + off, n);
        have += n;
        off += n;
        size_t pos = 0;
        for (;;) {
            size_t used = 0;
            enum respframe_rc rc = respframe_feed(&f, buf + pos, have - pos, &used);
            if (used > have - pos) {
                out->error = true; /* a contract breach: fail loudly */
                return;
            }
            pos += used;
            if (rc == RESPFRAME_ERROR) {
                out->error = true;
                break;
            }
            if (rc == RESPFRAME_MORE)
                break;
            if (out->responses < FRAMEDRIVE_MAX) {
                out->status[out->responses] = f.status;
                out->body[out->responses] = f.body;
                out->keepalive[out->responses] = f.keepalive;
            }
            out->responses++;
            respframe_start(&f, head_request);
        }
        memmove(buf, buf + pos, have - pos);
        have -= pos;
        if (have == FRAMEDRIVE_BUF)
            out->error = true;
    }
    out->at_eof = out->error ? RESPFRAME_ERROR : (int)respframe_eof(&f);
}

#endif
