/* respframe: HTTP/1.x response framing (see respframe.h).
 *
 * Strict where framing is at stake (RFC 9112 section 6): lines end in CRLF,
 * a Content-Length is digits alone and agrees with any other one, chunk
 * sizes are hex with at most 15 digits; Transfer-Encoding wins over
 * Content-Length, and a response with neither is delimited by the close. */
#include "respframe.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

enum {
    ST_HEAD,
    ST_LENGTH,
    ST_CHUNK_SIZE,
    ST_CHUNK_DATA,
    ST_CHUNK_CRLF,
    ST_TRAILER,
    ST_UNTIL_CLOSE,
};

#define MAX_CONTENT_LENGTH (INT64_C(1) << 62)
#define MAX_CHUNK_DIGITS 15

/* What the head says about the body; filled by parse_head. */
struct head_info {
    int status;
    bool http10;
    bool conn_close, conn_keepalive;
    bool chunked, other_coding;
    int64_t length; /* -1: none */
};

void respframe_start(struct respframe *f, bool head_request)
{
    *f = (struct respframe){.state = ST_HEAD, .head_request = head_request, .keepalive = true};
}

bool respframe_started(const struct respframe *f)
{
    return f->state != ST_HEAD || f->scanned > 0 || f->status != 0;
}

/* Index just past the next "\n" at or after from, or 0 if there is none.
 * A bare LF is refused by the callers, which check the byte before it. */
static size_t line_end(const char *buf, size_t len, size_t from)
{
    const char *nl = from < len ? memchr(buf + from, '\n', len - from) : NULL;
    return nl == NULL ? 0 : (size_t)(nl - buf) + 1;
}

static bool token_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static const char *trim_left(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

static const char *trim_right(const char *s, const char *end)
{
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return end;
}

/* "HTTP/1.x SSS[ reason]" without its CRLF. */
static int parse_status_line(const char *s, size_t n, struct head_info *h)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    if (n > 12 && s[12] != ' ')
        return -1;
    h->http10 = s[7] == '0';
    h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    return h->status >= 100 ? 0 : -1;
}

static int parse_content_length(const char *v, const char *end, struct head_info *h)
{
    if (v == end)
        return -1;
    int64_t n = 0;
    for (; v < end; v++) {
        if (*v < '0' || *v > '9' || n > MAX_CONTENT_LENGTH / 10)
            return -1;
        n = n * 10 + (*v - '0');
    }
    if (h->length >= 0 && h->length != n)
        return -1; /* two lengths that disagree: a smuggling attempt */
    h->length = n;
    return 0;
}

/* Calls each comma-separated token of a list header. */
static void each_token(const char *v, const char *end, struct head_info *h,
                       void (*fn)(const char *, size_t, struct head_info *))
{
    while (v < end) {
        const char *comma = memchr(v, ',', (size_t)(end - v));
        const char *stop = comma != NULL ? comma : end;
        const char *a = trim_left(v, stop), *b = trim_right(a, stop);
        if (b > a)
            fn(a, (size_t)(b - a), h);
        v = stop + (comma != NULL);
    }
}

static void connection_token(const char *t, size_t n, struct head_info *h)
{
    if (token_is(t, n, "close"))
        h->conn_close = true;
    else if (token_is(t, n, "keep-alive"))
        h->conn_keepalive = true;
}

/* Only the last coding decides: "gzip, chunked" is chunked. */
static void coding_token(const char *t, size_t n, struct head_info *h)
{
    h->chunked = token_is(t, n, "chunked");
    h->other_coding = !h->chunked;
}

static int parse_header_line(const char *s, size_t n, struct head_info *h)
{
    const char *end = s + n;
    const char *colon = memchr(s, ':', n);
    if (colon == NULL || colon == s || s[0] == ' ' || s[0] == '\t')
        return -1; /* no name, or obsolete line folding */
    size_t name_len = (size_t)(colon - s);
    if (memchr(s, ' ', name_len) != NULL || memchr(s, '\t', name_len) != NULL)
        return -1;
    const char *v = trim_left(colon + 1, end), *vend = trim_right(v, end);
    if (token_is(s, name_len, "content-length"))
        return parse_content_length(v, vend, h);
    if (token_is(s, name_len, "transfer-encoding"))
        each_token(v, vend, h, coding_token);
    else if (token_is(s, name_len, "connection"))
        each_token(v, vend, h, connection_token);
    return 0;
}

/* Parses the head at the start of p[0..n) line by line: 1 when it is
 * complete (*end just past its blank line), 0 when it needs more bytes,
 * -1 when it is malformed (a line not ended by CRLF included, refused at
 * once rather than waited on). One pass: the common head, arriving whole,
 * is scanned once. */
static int parse_head(const char *p, size_t n, struct head_info *h, size_t *end)
{
    *h = (struct head_info){.length = -1};
    size_t pos = 0;
    for (bool first = true;; first = false) {
        size_t e = line_end(p, n, pos);
        if (e == 0)
            return 0;
        if (e < pos + 2 || p[e - 2] != '\r')
            return -1;
        size_t len = e - 2 - pos;
        if (len == 0) {
            *end = e;
            return first ? -1 : 1;
        }
        if (memchr(p + pos, '\0', len) != NULL)
            return -1;
        int rc = first ? parse_status_line(p + pos, len, h) : parse_header_line(p + pos, len, h);
        if (rc != 0)
            return -1;
        pos = e;
    }
}

/* Sets the body state from a final response's head; returns whether the
 * response ends with its head. */
static bool start_body(struct respframe *f, const struct head_info *h)
{
    f->status = h->status;
    f->keepalive = h->http10 ? h->conn_keepalive && !h->conn_close : !h->conn_close;
    if (f->head_request || h->status == 204 || h->status == 304)
        return true;
    if (h->chunked) {
        f->state = ST_CHUNK_SIZE;
    } else if (h->other_coding || h->length < 0) {
        f->state = ST_UNTIL_CLOSE;
        f->keepalive = false;
    } else {
        f->state = ST_LENGTH;
        f->left = h->length;
        return h->length == 0;
    }
    return false;
}

/* One head: an interim 1xx is consumed and the next head awaited. A head
 * that arrives in pieces is parsed again only once a new line is in. */
static enum respframe_rc feed_head(struct respframe *f, const char *buf, size_t len, size_t *pos)
{
    const char *p = buf + *pos;
    size_t n = len - *pos, e;
    if (f->scanned > 0 && (n <= f->scanned || memchr(p + f->scanned, '\n', n - f->scanned) == NULL)) {
        f->scanned = n;
        return RESPFRAME_MORE;
    }
    struct head_info h;
    int rc = parse_head(p, n, &h, &e);
    if (rc < 0 || (rc == 1 && h.status == 101))
        return RESPFRAME_ERROR; /* we never ask to switch protocols */
    if (rc == 0) {
        f->scanned = n;
        return RESPFRAME_MORE;
    }
    *pos += e;
    f->scanned = 0;
    if (h.status < 200) {
        f->status = h.status; /* 100 Continue and friends: the real one follows */
        return RESPFRAME_MORE;
    }
    return start_body(f, &h) ? RESPFRAME_DONE : RESPFRAME_MORE;
}

/* Body bytes of a length-delimited body or chunk; true when it is whole. */
static bool feed_bytes(struct respframe *f, size_t len, size_t *pos)
{
    size_t avail = len - *pos;
    size_t take = (uint64_t)f->left < avail ? (size_t)f->left : avail;
    *pos += take;
    f->left -= (int64_t)take;
    f->body += (int64_t)take;
    return f->left == 0;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* "HEX[;ext]" without its CRLF; at most 15 hex digits, so no overflow. */
static int parse_chunk_size(const char *s, size_t n, int64_t *size)
{
    int64_t v = 0;
    size_t i = 0;
    for (; i < n && hex_digit(s[i]) >= 0; i++) {
        if (i == MAX_CHUNK_DIGITS)
            return -1;
        v = v * 16 + hex_digit(s[i]);
    }
    if (i == 0)
        return -1;
    const char *rest = trim_left(s + i, s + n);
    if (rest != s + n && *rest != ';')
        return -1;
    *size = v;
    return 0;
}

/* A line of the chunked framing, CRLF included; 0 when not all there. */
static size_t framing_line(struct respframe *f, const char *buf, size_t len, size_t pos)
{
    size_t e = line_end(buf, len, pos + f->scanned);
    if (e == 0) {
        f->scanned = len - pos;
        return 0;
    }
    f->scanned = 0;
    return e;
}

static enum respframe_rc feed_chunk_size(struct respframe *f, const char *buf, size_t len,
                                         size_t *pos)
{
    size_t e = framing_line(f, buf, len, *pos);
    if (e == 0)
        return RESPFRAME_MORE;
    int64_t size;
    if (e < *pos + 3 || buf[e - 2] != '\r' || parse_chunk_size(buf + *pos, e - 2 - *pos, &size))
        return RESPFRAME_ERROR;
    *pos = e;
    f->state = size == 0 ? ST_TRAILER : ST_CHUNK_DATA;
    f->left = size;
    return RESPFRAME_MORE;
}

static enum respframe_rc feed_trailer(struct respframe *f, const char *buf, size_t len,
                                      size_t *pos)
{
    size_t e = framing_line(f, buf, len, *pos);
    if (e == 0)
        return RESPFRAME_MORE;
    if (e < *pos + 2 || buf[e - 2] != '\r')
        return RESPFRAME_ERROR;
    bool blank = e == *pos + 2;
    *pos = e;
    return blank ? RESPFRAME_DONE : RESPFRAME_MORE; /* trailer fields are ignored */
}

/* One step of the state machine. The caller stops asking when a step
 * neither used bytes nor changed state: it needs more bytes. */
static enum respframe_rc step(struct respframe *f, const char *buf, size_t len, size_t *pos)
{
    switch (f->state) {
    case ST_HEAD:
        return feed_head(f, buf, len, pos);
    case ST_LENGTH:
        return feed_bytes(f, len, pos) ? RESPFRAME_DONE : RESPFRAME_MORE;
    case ST_CHUNK_SIZE:
        return feed_chunk_size(f, buf, len, pos);
    case ST_CHUNK_DATA:
        if (feed_bytes(f, len, pos))
            f->state = ST_CHUNK_CRLF;
        return RESPFRAME_MORE;
    case ST_CHUNK_CRLF:
        if (len - *pos < 2)
            return RESPFRAME_MORE;
        if (buf[*pos] != '\r' || buf[*pos + 1] != '\n')
            return RESPFRAME_ERROR;
        *pos += 2;
        f->state = ST_CHUNK_SIZE;
        return RESPFRAME_MORE;
    case ST_TRAILER:
        return feed_trailer(f, buf, len, pos);
    default: /* ST_UNTIL_CLOSE */
        f->body += (int64_t)(len - *pos);
        *pos = len;
        return RESPFRAME_MORE;
    }
}

enum respframe_rc respframe_feed(struct respframe *f, const char *buf, size_t len, size_t *used)
{
    size_t pos = 0;
    for (;;) {
        size_t before = pos;
        uint8_t state = f->state;
        enum respframe_rc rc = step(f, buf, len, &pos);
        if (rc != RESPFRAME_MORE || (pos == before && state == f->state)) {
            *used = pos;
            return rc;
        }
    }
}

enum respframe_rc respframe_eof(const struct respframe *f)
{
    if (f->state == ST_UNTIL_CLOSE)
        return RESPFRAME_DONE;
    return respframe_started(f) ? RESPFRAME_ERROR : RESPFRAME_MORE;
}
