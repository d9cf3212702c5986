/* http_parser: incremental HTTP/1.x request-head parser (see http_parser.h).
 *
 * Two stages. A cheap scan (memchr for LF) looks for the blank line that ends
 * the head, starting just before where the previous call stopped; only when
 * it is found does one full pass validate the head and fill the request.
 * A slow client sending a byte at a time therefore costs O(new bytes) per
 * call, not O(head), and the full pass runs once per request. */
#include "http_parser.h"

#include <limits.h>
#include <string.h>

/* Byte classes, one table lookup per byte instead of a chain of compares. */
enum {
    CC_TOKEN = 1,  /* RFC 9110 tchar: methods and field names */
    CC_VALUE = 2,  /* field-vchar, obs-text, SP, HTAB: field values */
    CC_TARGET = 4, /* any byte but CTL and SP: the raw request-target */
};

#define K (CC_TOKEN | CC_VALUE | CC_TARGET) /* tchar */
#define P (CC_VALUE | CC_TARGET)            /* visible, not a tchar; or obs-text */
#define W CC_VALUE                          /* SP, HTAB */
static const unsigned char http_cc[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, W, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    W, K, P, K, K, K, K, K, P, P, K, K, P, K, K, P, /* 0x20 */
    K, K, K, K, K, K, K, K, K, K, P, P, P, P, P, P, /* 0x30 */
    P, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, /* 0x40 */
    K, K, K, K, K, K, K, K, K, K, K, P, P, P, K, K, /* 0x50 */
    K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, /* 0x60 */
    K, K, K, K, K, K, K, K, K, K, K, P, K, P, K, 0, /* 0x70 */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0x80 */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0x90 */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0xa0 */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0xb0 */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0xc0 */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0xd0 */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0xe0 */
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0xf0 */
};
#undef K
#undef P
#undef W

#define HTTP_BAD (-400)
#define HTTP_TOO_LARGE (-431)
#define HTTP_NOT_IMPLEMENTED (-501)
#define HTTP_BAD_VERSION (-505)

/* ASCII only: tolower() would follow the locale, and field names are ASCII. */
static inline unsigned char http_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* s[0, n) equals lit (lower case, length n) ignoring ASCII case. */
static bool http_ieq(const char *s, size_t n, const char *lit, size_t lit_len)
{
    if (n != lit_len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (http_lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return false;
    return true;
}

/* The end of the run of bytes of class cls starting at i, within end. */
static inline size_t http_span(const char *buf, size_t i, size_t end, unsigned cls)
{
    while (i < end && (http_cc[(unsigned char)buf[i]] & cls))
        i++;
    return i;
}

static inline bool http_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9112 2.2: a server SHOULD ignore at least one empty line before the
 * request line (some clients send CRLF after a POST body). We ignore a few,
 * not any number: this runs on every call, and a client sending only empty
 * lines must not make each re-run cost O(head). More is a 400 (empty
 * request line). */
#define HTTP_MAX_EMPTY_LINES 4

/* How many bytes the ignored empty lines take; stops before a lone CR at the
 * end, which may yet become CRLF. */
static size_t http_skip_empty_lines(const char *buf, size_t len)
{
    size_t p = 0;
    for (int lines = 0; lines < HTTP_MAX_EMPTY_LINES; lines++) {
        if (p < len && buf[p] == '\n')
            p += 1;
        else if (p + 1 < len && buf[p] == '\r' && buf[p + 1] == '\n')
            p += 2;
        else
            break;
    }
    return p;
}

/* Looks for the blank line ending the head in buf[from, lim): an LF followed
 * by LF or CRLF. Returns the head's length, or 0 when it is not there yet. */
static size_t http_find_head_end(const char *buf, size_t from, size_t lim)
{
    while (from < lim) {
        const char *lf = memchr(buf + from, '\n', lim - from);
        if (lf == NULL)
            return 0;
        size_t q = (size_t)(lf - buf);
        if (q + 1 < lim && buf[q + 1] == '\n')
            return q + 2;
        if (q + 2 < lim && buf[q + 1] == '\r' && buf[q + 2] == '\n')
            return q + 3;
        from = q + 1;
    }
    return 0;
}

/* Consumes the line end at *p (CRLF or bare LF); false for anything else,
 * a bare CR included. */
static inline bool http_eol(const char *buf, size_t end, size_t *p)
{
    if (*p < end && buf[*p] == '\n') {
        *p += 1;
        return true;
    }
    if (*p + 1 < end && buf[*p] == '\r' && buf[*p + 1] == '\n') {
        *p += 2;
        return true;
    }
    return false;
}

/* Content-Length: 1*DIGIT up to INT64_MAX. A comma list or any sign is
 * malformed: we never reconcile several lengths (request smuggling). */
static bool http_parse_length(const char *s, size_t n, int64_t *out)
{
    if (n == 0)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - (unsigned)'0';
        if (d > 9)
            return false;
        if (v > (INT64_MAX - (int64_t)d) / 10)
            return false;
        v = v * 10 + (int64_t)d;
    }
    *out = v;
    return true;
}

/* Connection: a comma-separated list of case-insensitive tokens. */
static void http_scan_connection(const char *s, size_t n, bool *close, bool *keep_alive)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (http_is_ows(s[i]) || s[i] == ','))
            i++;
        size_t start = i;
        while (i < n && s[i] != ',')
            i++;
        size_t stop = i;
        while (stop > start && http_is_ows(s[stop - 1]))
            stop--;
        if (http_ieq(s + start, stop - start, "close", 5))
            *close = true;
        else if (http_ieq(s + start, stop - start, "keep-alive", 10))
            *keep_alive = true;
    }
}

/* Request line at buf[*p, end). Returns 0 or a negated status. */
static int http_parse_request_line(const char *buf, size_t end, size_t *p, struct http_request *req)
{
    size_t i = *p;
    size_t start = i;
    i = http_span(buf, i, end, CC_TOKEN);
    if (i == start || i >= end || buf[i] != ' ')
        return HTTP_BAD;
    req->method = buf + start;
    req->method_len = i - start;

    start = ++i;
    i = http_span(buf, i, end, CC_TARGET);
    if (i == start || i >= end || buf[i] != ' ')
        return HTTP_BAD;
    req->target = buf + start;
    req->target_len = i - start;

    i++;
    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 2.3). */
    if (end - i < 8 || memcmp(buf + i, "HTTP/", 5) != 0 || buf[i + 5] < '0' || buf[i + 5] > '9' ||
        buf[i + 6] != '.' || buf[i + 7] < '0' || buf[i + 7] > '9')
        return HTTP_BAD;
    int major = buf[i + 5] - '0';
    int minor = buf[i + 7] - '0';
    i += 8;
    if (!http_eol(buf, end, &i))
        return HTTP_BAD;
    /* Only now is it known to be a version at all: "HTTP/2.0x" is 400. */
    if (major != 1 || minor > 1)
        return HTTP_BAD_VERSION;
    req->minor_version = minor;
    *p = i;
    return 0;
}

/* The full pass over a head known to end at buf[end - 1]. */
static int http_parse_head(const char *buf, size_t start, size_t end, struct http_request *req)
{
    size_t p = start;
    int rc = http_parse_request_line(buf, end, &p, req);
    if (rc != 0)
        return rc;

    bool seen_length = false, seen_te = false, conn_close = false, conn_keep = false;
    for (;;) {
        if (p >= end)
            return HTTP_BAD; /* unreachable: the blank line is at end */
        if (http_eol(buf, end, &p))
            break;
        /* obs-fold, or whitespace before the first field: RFC 9112 5.2 and
         * 2.2 allow rejecting both, and folding is a smuggling vector. */
        if (http_is_ows(buf[p]))
            return HTTP_BAD;
        if (req->num_headers == HTTP_MAX_HEADERS)
            return HTTP_TOO_LARGE;

        size_t name = p;
        p = http_span(buf, p, end, CC_TOKEN);
        if (p == name || p >= end || buf[p] != ':')
            return HTTP_BAD;
        size_t name_len = p - name;
        p++;
        while (p < end && http_is_ows(buf[p]))
            p++;
        size_t value = p;
        p = http_span(buf, p, end, CC_VALUE);
        size_t value_end = p;
        while (value_end > value && http_is_ows(buf[value_end - 1]))
            value_end--;
        if (!http_eol(buf, end, &p))
            return HTTP_BAD; /* NUL, CTL, DEL or a bare CR in the value */

        struct http_header *h = &req->headers[req->num_headers++];
        h->name = buf + name;
        h->name_len = name_len;
        h->value = buf + value;
        h->value_len = value_end - value;

        /* Dispatch on length first: most fields are none of these three. */
        if (name_len == 14 && http_ieq(h->name, name_len, "content-length", 14)) {
            if (seen_length || !http_parse_length(h->value, h->value_len, &req->content_length))
                return HTTP_BAD;
            seen_length = true;
        } else if (name_len == 17 && http_ieq(h->name, name_len, "transfer-encoding", 17)) {
            seen_te = true;
        } else if (name_len == 10 && http_ieq(h->name, name_len, "connection", 10)) {
            http_scan_connection(h->value, h->value_len, &conn_close, &conn_keep);
        }
    }
    if (p != end)
        return HTTP_BAD; /* unreachable: the scan found the first blank line */
    /* We implement no transfer coding, chunked included (RFC 9112 6.1). */
    if (seen_te)
        return HTTP_NOT_IMPLEMENTED;
    if (conn_close)
        req->keep_alive = false;
    else if (conn_keep)
        req->keep_alive = true;
    else
        req->keep_alive = req->minor_version == 1;
    return (int)end;
}

int http_parse_request(const char *buf, size_t len, size_t last_len, size_t max_head,
                       struct http_request *req)
{
    req->num_headers = 0;
    req->content_length = -1;
    req->keep_alive = false;

    /* The length is returned as an int. */
    if (max_head > INT_MAX)
        max_head = INT_MAX;
    size_t lim = len < max_head ? len : max_head;
    size_t start = http_skip_empty_lines(buf, lim);
    /* Bytes before last_len held no head end; the last 3 may start one. */
    size_t from = last_len > 3 ? last_len - 3 : 0;
    if (from < start)
        from = start;
    size_t end = http_find_head_end(buf, from, lim);
    if (end == 0)
        return len >= max_head ? HTTP_TOO_LARGE : HTTP_PARSE_INCOMPLETE;
    return http_parse_head(buf, start, end, req);
}

const struct http_header *http_find_header(const struct http_request *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        if (h->name_len != n)
            continue;
        size_t j = 0;
        while (j < n && http_lower((unsigned char)h->name[j]) == http_lower((unsigned char)name[j]))
            j++;
        if (j == n)
            return h;
    }
    return NULL;
}
