/* bench_framer: the stream engine's response framer against Debian's
 * libhttp-parser (the parser wrk uses), on the same bytes.
 *
 * Frames COUNT copies of one response (ioserve's answer to GET /, or a
 * chunked one) with each parser, as one stream fed in 16 KiB reads the way
 * the stream engine reads, and checks that both found every response. Run
 * under `valgrind --tool=callgrind` by scripts/bench-framer.sh, which turns
 * the instruction counts into instructions per response: a count, not a
 * time, so it means the same on a busy machine. */
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "respframe.h"

#define READ_SIZE 16384

static const char *const responses[] = {
    "HTTP/1.1 200 OK\r\nServer: ioserve\r\nDate: Tue, 01 Dec 2026 22:50:00 GMT\r\n"
    "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!",
    "HTTP/1.1 200 OK\r\nServer: ioserve\r\nTransfer-Encoding: chunked\r\n\r\n"
    "d\r\nHello, World!\r\n0\r\n\r\n",
};

static long responses_framed;

static int on_message_complete(http_parser *p)
{
    (void)p;
    responses_framed++;
    return 0;
}

/* libhttp-parser: a callback parser that keeps its own state byte by byte. */
static void with_http_parser(const char *stream, size_t len)
{
    http_parser p;
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_message_complete = on_message_complete;
    http_parser_init(&p, HTTP_RESPONSE);
    for (size_t off = 0; off < len; off += READ_SIZE) {
        size_t n = len - off < READ_SIZE ? len - off : READ_SIZE;
        if (http_parser_execute(&p, &s, stream + off, n) != n) {
            fprintf(stderr, "http_parser: %s\n", http_errno_name(HTTP_PARSER_ERRNO(&p)));
            exit(1);
        }
    }
}

/* respframe: the caller keeps unused bytes, as the stream engine does. */
static void with_respframe(const char *stream, size_t len)
{
    static char buf[READ_SIZE];
    struct respframe f;
    respframe_start(&f, false);
    size_t have = 0, off = 0;
    while (off < len) {
        size_t n = READ_SIZE - have < len - off ? READ_SIZE - have : len - off;
        memcpy(buf + have, stream + off, n);
        have += n;
        off += n;
        size_t pos = 0, used;
        enum respframe_rc rc;
        while ((rc = respframe_feed(&f, buf + pos, have - pos, &used)) == RESPFRAME_DONE) {
            pos += used;
            responses_framed++;
            respframe_start(&f, false);
        }
        if (rc == RESPFRAME_ERROR) {
            fprintf(stderr, "respframe: malformed\n");
            exit(1);
        }
        pos += used;
        memmove(buf, buf + pos, have - pos);
        have -= pos;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_framer respframe|http_parser plain|chunked COUNT\n");
        return 2;
    }
    const char *resp = responses[strcmp(argv[2], "chunked") == 0];
    long count = atol(argv[3]);
    size_t one = strlen(resp), len = one * (size_t)count;
    char *stream = malloc(len);
    if (stream == NULL || count <= 0)
        return 1;
    for (long i = 0; i < count; i++)
        memcpy(stream + (size_t)i * one, resp, one);
    if (strcmp(argv[1], "http_parser") == 0)
        with_http_parser(stream, len);
    else
        with_respframe(stream, len);
    free(stream);
    if (responses_framed != count) {
        fprintf(stderr, "%s framed %ld of %ld responses\n", argv[1], responses_framed, count);
        return 1;
    }
    return 0;
}
