/* refserver: nginx and the floor as reference servers (see refserver.h). */
#include "refserver.h"

#include "atomicfile.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define NGINX_DEFAULT "/usr/sbin/nginx"

bool refserver_is(const char *name)
{
    return strcmp(name, "nginx") == 0 || strcmp(name, "floor") == 0;
}

const char *refserver_cannot(const char *name, const struct suite_workload *w)
{
    if (!refserver_is(name))
        return NULL;
    if (strcmp(w->path, "/") != 0)
        return "reference server: serves GET / only";
    return NULL;
}

static const char *nginx_bin(void)
{
    const char *b = getenv("NGINX");
    return b != NULL && *b != '\0' ? b : NGINX_DEFAULT;
}

/* iofloor lives beside ioserve (build/servers/). */
static void floor_bin(const char *ioserve, char *buf, size_t cap)
{
    const char *slash = strrchr(ioserve, '/');
    int dir = slash != NULL ? (int)(slash - ioserve) : 0;
    snprintf(buf, cap, "%.*s%siofloor", dir, ioserve, slash != NULL ? "/" : "");
}

bool refserver_available(const char *name, const char *ioserve, char *why, size_t cap)
{
    char floor[PATH_MAX];
    floor_bin(ioserve, floor, sizeof floor);
    const char *bin = strcmp(name, "nginx") == 0 ? nginx_bin() : floor;
    if (access(bin, X_OK) == 0)
        return true;
    snprintf(why, cap, "not built: %s is not there (%s)", bin,
             strcmp(name, "nginx") == 0 ? "scripts/deps.sh bench installs nginx-light"
                                        : "make build builds it");
    return false;
}

int refserver_free_port(const char *host)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof a;
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port; /* free a moment ago; the server's own bind is the test */
}

int refserver_scratch(const char *name, const char *dir, int port, char *out, size_t cap)
{
    if (strcmp(name, "nginx") != 0)
        return 0;
    char abs[PATH_MAX];
    if (realpath(dir, abs) == NULL)
        return -1;
    if (snprintf(out, cap, "%s/.nginx-%d", abs, port) >= (int)cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 1;
}

/* nginx's configuration, in its own directory under dir: one worker, no
 * access log, keep-alive that never closes for request counts. */
static int nginx_conf(const char *dir, const char *host, int port, char *conf, size_t cap)
{
    /* Absolute: nginx reads a relative -c, and every path in it, from its
     * own prefix (/usr/share/nginx), not from where it was started. */
    char prefix[PATH_MAX];
    if (refserver_scratch("nginx", dir, port, prefix, sizeof prefix) != 1)
        return -1;
    if (snprintf(conf, cap, "%s/nginx.conf", prefix) >= (int)cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (util_mkdir_p(prefix) != 0)
        return -1;
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\n"
                     "error_log %s/error.log warn;\nevents { worker_connections 16384; }\n"
                     "http {\n access_log off; server_tokens off;\n"
                     " keepalive_requests 100000000; keepalive_timeout 300s;\n"
                     " client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s;\n"
                     " uwsgi_temp_path %s; scgi_temp_path %s;\n"
                     " server {\n  listen %s:%d backlog=4096;\n"
                     "  location = / { default_type text/plain; return 200 \"Hello, World!\"; }\n"
                     "  location / { return 404; }\n }\n}\n",
                     prefix, prefix, prefix, prefix, prefix, prefix, prefix, host, port);
    if (n < 0 || (size_t)n >= sizeof text) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return atomicfile_write(conf, text, (size_t)n);
}

int refserver_argv(const char *name, const char *ioserve, const char *dir, const char *host,
                   int port, char *buf, size_t cap, char **argv, size_t nargv)
{
    if (nargv < 6 || cap < 2 * PATH_MAX) {
        errno = EINVAL;
        return -1;
    }
    char *bin = buf, *a1 = buf + PATH_MAX;
    if (strcmp(name, "floor") == 0) {
        floor_bin(ioserve, bin, PATH_MAX);
        snprintf(a1, 16, "%d", port);
        argv[0] = bin;
        argv[1] = a1;
        argv[2] = NULL;
        return 0;
    }
    snprintf(bin, PATH_MAX, "%s", nginx_bin());
    if (nginx_conf(dir, host, port, a1, PATH_MAX) != 0)
        return -1;
    argv[0] = bin;
    argv[1] = "-c";
    argv[2] = a1;
    argv[3] = "-e";
    argv[4] = "stderr";
    argv[5] = NULL;
    return 0;
}
