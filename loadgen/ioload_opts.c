/* ioload_opts: command line parsing (see ioload_opts.h). */
#include "ioload_opts.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define IOLOAD_MAX_DATA_FILE (64L * 1024 * 1024)

void ioload_usage(FILE *out)
{
    fputs("Usage: ioload [options] URL\n"
          "       ioload merge A.json B.json ... > ALL.json\n"
          "HTTP load generator (libcurl, one event loop per thread).\n"
          "  -e, --engine E         stream (default): libcurl connects, ioload writes\n"
          "                         requests and frames responses itself (wrk's cost);\n"
          "                         transfer: libcurl's whole HTTP stack per request\n"
          "  -P, --pipeline N       stream engine: up to N requests in flight per\n"
          "                         connection (1)\n"
          "  -t, --threads N        worker threads (1)\n"
          "  -c, --connections N    connections in total, split over threads (10)\n"
          "  -d, --duration D       measured time (10s); D: 500ms, 5s, 2m or seconds\n"
          "  -n, --requests N       measure N requests instead of a duration\n"
          "  -w, --warmup D         run for D first and discard its results (0)\n"
          "  -T, --timeout D        per-request timeout (10s)\n"
          "  -R, --rate R           open loop: R requests/s in total, latency measured\n"
          "                         from each request's scheduled time\n"
          "  -k, --no-keepalive     a new connection for every request\n"
          "  -i, --idle N           N extra connections kept open and silent\n"
          "  -m, --method M         request method (GET; POST with a body)\n"
          "  -D, --data S           request body\n"
          "      --data-file F      request body read from F\n"
          "  -H, --header 'N: V'    extra request header (repeatable)\n"
          "      --cacert FILE      https: verify the server against this CA bundle\n"
          "      --insecure         https: do not verify the server's certificate\n"
          "  -j, --json FILE        write the JSON result to FILE ('-': stdout)\n"
          "  -q, --quiet            no progress line\n"
          "  -h, --help             this text\n"
          "  -V, --version          version\n"
          "Exit status: 0 run completed (request errors are in the result), 1 could\n"
          "not run, 2 bad usage.\n",
          out);
}

int ioload_parse_duration(const char *s, double *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(v) || v < 0)
        return -1;
    double mult;
    if (*end == '\0' || strcmp(end, "s") == 0)
        mult = 1;
    else if (strcmp(end, "ms") == 0)
        mult = 1e-3;
    else if (strcmp(end, "us") == 0)
        mult = 1e-6;
    else if (strcmp(end, "m") == 0)
        mult = 60;
    else if (strcmp(end, "h") == 0)
        mult = 3600;
    else
        return -1;
    *out = v * mult;
    return 0;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (long)v;
    return 0;
}

static int read_file(const char *path, char **buf, size_t *len)
{
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size > IOLOAD_MAX_DATA_FILE) {
        if (errno == 0)
            errno = EFBIG;
        close(fd);
        return -1;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *b = malloc(cap);
    if (b == NULL) {
        close(fd);
        return -1;
    }
    /* The size is a hint: a pipe or a growing file reads until EOF. */
    for (;;) {
        if (n == cap) {
            if (cap > IOLOAD_MAX_DATA_FILE) {
                free(b);
                close(fd);
                errno = EFBIG;
                return -1;
            }
            char *nb = realloc(b, cap * 2);
            if (nb == NULL) {
                free(b);
                close(fd);
                return -1;
            }
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(b);
            close(fd);
            errno = e;
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *buf = b;
    *len = n;
    return 0;
}

/* Validates the URL with libcurl's own parser and derives the origin the
 * idle connections use. Returns IOLOAD_OPTS_OK, _USAGE or _FAIL. */
static int check_url(struct ioload_config *cfg, char *err, size_t errlen)
{
    CURLU *u = curl_url();
    if (u == NULL) {
        snprintf(err, errlen, "ioload: out of memory");
        return IOLOAD_OPTS_FAIL;
    }
    int ret = IOLOAD_OPTS_OK;
    char *scheme = NULL, *host = NULL, *port = NULL;
    if (curl_url_set(u, CURLUPART_URL, cfg->url, 0) != CURLUE_OK) {
        snprintf(err, errlen, "ioload: malformed URL '%s'", cfg->url);
        ret = IOLOAD_OPTS_USAGE;
    } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
               (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
        snprintf(err, errlen, "ioload: unsupported URL scheme in '%s' (http or https)", cfg->url);
        ret = IOLOAD_OPTS_FAIL;
    } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
               curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(err, errlen, "ioload: URL '%s' has no host", cfg->url);
        ret = IOLOAD_OPTS_USAGE;
    } else {
        int n =
            snprintf(cfg->origin_url, sizeof cfg->origin_url, "%s://%s:%s/", scheme, host, port);
        if (n < 0 || (size_t)n >= sizeof cfg->origin_url) {
            snprintf(err, errlen, "ioload: URL host too long");
            ret = IOLOAD_OPTS_USAGE;
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ret;
}

void ioload_config_free(struct ioload_config *cfg)
{
    free(cfg->body);
    cfg->body = NULL;
}

#define USAGE(...)                                                                                 \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return IOLOAD_OPTS_USAGE;                                                                  \
    } while (0)

enum { OPT_DATA_FILE = 256, OPT_CACERT, OPT_INSECURE };

static const struct option longopts[] = {
    {"threads", required_argument, NULL, 't'},
    {"connections", required_argument, NULL, 'c'},
    {"duration", required_argument, NULL, 'd'},
    {"requests", required_argument, NULL, 'n'},
    {"warmup", required_argument, NULL, 'w'},
    {"timeout", required_argument, NULL, 'T'},
    {"rate", required_argument, NULL, 'R'},
    {"no-keepalive", no_argument, NULL, 'k'},
    {"idle", required_argument, NULL, 'i'},
    {"method", required_argument, NULL, 'm'},
    {"data", required_argument, NULL, 'D'},
    {"data-file", required_argument, NULL, OPT_DATA_FILE},
    {"header", required_argument, NULL, 'H'},
    {"json", required_argument, NULL, 'j'},
    {"engine", required_argument, NULL, 'e'},
    {"pipeline", required_argument, NULL, 'P'},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* What parsing collects beside the config itself. */
struct parse_state {
    bool have_duration;
    const char *data_file, *data;
};

/* One option that takes a value or sets a flag; IOLOAD_OPTS_OK or _USAGE
 * with the message in err. */
static int apply_option(int c, struct ioload_config *cfg, struct parse_state *ps, char *err,
                        size_t errlen)
{
    long v;
    switch (c) {
    case 't':
        if (parse_int(optarg, 1, 1024, &v) != 0)
            USAGE("ioload: --threads wants an integer in 1..1024, not '%s'", optarg);
        cfg->threads = (int)v;
        break;
    case 'c':
        if (parse_int(optarg, 1, 1000000, &v) != 0)
            USAGE("ioload: --connections wants an integer in 1..1000000, not '%s'", optarg);
        cfg->connections = (int)v;
        break;
    case 'd':
        if (ioload_parse_duration(optarg, &cfg->duration_s) != 0 || cfg->duration_s <= 0)
            USAGE("ioload: --duration wants a positive duration (500ms, 5s, 2m), not '%s'",
                  optarg);
        ps->have_duration = true;
        break;
    case 'n':
        if (parse_int(optarg, 1, LONG_MAX, &v) != 0)
            USAGE("ioload: --requests wants a positive integer, not '%s'", optarg);
        cfg->requests = v;
        break;
    case 'w':
        if (ioload_parse_duration(optarg, &cfg->warmup_s) != 0)
            USAGE("ioload: --warmup wants a duration (500ms, 5s, 2m), not '%s'", optarg);
        break;
    case 'T':
        if (ioload_parse_duration(optarg, &cfg->timeout_s) != 0 || cfg->timeout_s < 0.001)
            USAGE("ioload: --timeout wants a duration of at least 1ms, not '%s'", optarg);
        break;
    case 'R': {
        char *end;
        errno = 0;
        cfg->rate = strtod(optarg, &end);
        if (errno != 0 || *end != '\0' || !isfinite(cfg->rate) || cfg->rate <= 0 ||
            cfg->rate > 1e8)
            USAGE("ioload: --rate wants requests per second in (0, 1e8], not '%s'", optarg);
        break;
    }
    case 'k':
        cfg->keepalive = false;
        break;
    case 'i':
        if (parse_int(optarg, 0, 1000000, &v) != 0)
            USAGE("ioload: --idle wants an integer in 0..1000000, not '%s'", optarg);
        cfg->idle = (int)v;
        break;
    case 'm':
        if (*optarg == '\0' || strpbrk(optarg, " \t\r\n") != NULL)
            USAGE("ioload: --method wants a method token, not '%s'", optarg);
        cfg->method = optarg;
        break;
    case 'D':
        ps->data = optarg;
        break;
    case OPT_DATA_FILE:
        ps->data_file = optarg;
        break;
    case 'H':
        if (cfg->nheaders == IOLOAD_MAX_HEADERS)
            USAGE("ioload: at most %d --header options", IOLOAD_MAX_HEADERS);
        if (strchr(optarg, ':') == NULL || strpbrk(optarg, "\r\n") != NULL)
            USAGE("ioload: --header wants 'Name: value', not '%s'", optarg);
        cfg->headers[cfg->nheaders++] = optarg;
        break;
    case 'j':
        cfg->json_path = optarg;
        break;
    case 'e':
        if (strcmp(optarg, "stream") != 0 && strcmp(optarg, "transfer") != 0)
            USAGE("ioload: --engine wants stream or transfer, not '%s'", optarg);
        cfg->engine = optarg;
        break;
    case 'P':
        if (parse_int(optarg, 1, IOLOAD_MAX_PIPELINE, &v) != 0)
            USAGE("ioload: --pipeline wants an integer in 1..%d, not '%s'",
                  IOLOAD_MAX_PIPELINE, optarg);
        cfg->pipeline = (int)v;
        break;
    case OPT_CACERT:
        cfg->cacert = optarg;
        break;
    case OPT_INSECURE:
        cfg->insecure = true;
        break;
    case 'q':
        cfg->quiet = true;
        break;
    default:
        return IOLOAD_OPTS_USAGE; /* the caller names the option */
    }
    return IOLOAD_OPTS_OK;
}

/* Options that exclude or need each other, and the URL. */
static int check_combinations(struct ioload_config *cfg, const struct parse_state *ps, char *err,
                              size_t errlen)
{
    if (cfg->connections < cfg->threads)
        USAGE("ioload: --connections (%d) must be at least --threads (%d)", cfg->connections,
              cfg->threads);
    if (cfg->requests > 0 && ps->have_duration)
        USAGE("ioload: --duration and --requests exclude each other");
    if (cfg->requests > 0)
        cfg->duration_s = -1;
    if (ps->data != NULL && ps->data_file != NULL)
        USAGE("ioload: --data and --data-file exclude each other");
    if (cfg->pipeline > 1 && strcmp(cfg->engine, "stream") != 0)
        USAGE("ioload: --pipeline needs the stream engine (libcurl no longer pipelines)");
    if (cfg->pipeline > 1 && !cfg->keepalive)
        USAGE("ioload: --pipeline and --no-keepalive exclude each other");
    if (cfg->rate > 0 && cfg->rate < cfg->threads)
        USAGE("ioload: --rate must be at least one request per second per thread");
    return check_url(cfg, err, errlen);
}

/* The request body from --data or --data-file, and the method it implies. */
static int load_body(struct ioload_config *cfg, const struct parse_state *ps, char *err,
                     size_t errlen)
{
    if (ps->data != NULL) {
        cfg->body_len = strlen(ps->data);
        cfg->body = strdup(ps->data);
        if (cfg->body == NULL) {
            snprintf(err, errlen, "ioload: out of memory");
            return IOLOAD_OPTS_FAIL;
        }
    } else if (ps->data_file != NULL &&
               read_file(ps->data_file, &cfg->body, &cfg->body_len) != 0) {
        snprintf(err, errlen, "ioload: cannot read --data-file '%s': %s", ps->data_file,
                 strerror(errno));
        return IOLOAD_OPTS_FAIL;
    }
    if (cfg->method == NULL)
        cfg->method = cfg->body != NULL ? "POST" : "GET";
    return IOLOAD_OPTS_OK;
}

int ioload_parse_args(int argc, char **argv, struct ioload_config *cfg, char *err, size_t errlen)
{
    *cfg = (struct ioload_config){
        .threads = 1,
        .connections = 10,
        .duration_s = 10,
        .timeout_s = 10,
        .keepalive = true,
        .engine = "stream",
        .pipeline = 1,
    };
    struct parse_state ps = {0};
    int c;
    if (errlen > 0)
        err[0] = '\0';
    opterr = 0; /* our own one-line messages */
    optind = 1;
    while ((c = getopt_long(argc, argv, ":t:c:d:n:w:T:R:ki:m:D:H:j:e:P:qhV", longopts, NULL)) != -1) {
        if (c == 'h') {
            ioload_usage(stdout);
            return IOLOAD_OPTS_EXIT;
        }
        if (c == 'V') {
            printf("ioload %s (%s)\n", IOBENCH_VERSION, curl_version());
            return IOLOAD_OPTS_EXIT;
        }
        if (c == ':')
            USAGE("ioload: option '%s' needs a value (see --help)", argv[optind - 1]);
        int rc = apply_option(c, cfg, &ps, err, errlen);
        if (rc == IOLOAD_OPTS_USAGE && *err == '\0')
            USAGE("ioload: unknown option '%s' (see --help)", argv[optind - 1]);
        if (rc != IOLOAD_OPTS_OK)
            return rc;
    }
    if (optind == argc)
        USAGE("ioload: no URL given (see --help)");
    if (optind + 1 != argc)
        USAGE("ioload: one URL only, not also '%s'", argv[optind + 1]);
    cfg->url = argv[optind];
    int ret = check_combinations(cfg, &ps, err, errlen);
    return ret != IOLOAD_OPTS_OK ? ret : load_body(cfg, &ps, err, errlen);
}
