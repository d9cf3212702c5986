/* atomicfile: temp file, fsync, rename. */
#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int atomicfile_write(const char *path, const void *data, size_t len)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        int rc = write_all(fd, data, len);
        int saved = errno;
        if (close(fd) < 0 && rc == 0)
            return -1;
        errno = saved;
        return rc;
    }
    char tmp[PATH_MAX];
    /* Beside path, so that rename() stays within one filesystem. */
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -1;
    if (fchmod(fd, 0644) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0)
        goto err;
    int rc = close(fd);
    fd = -1;
    if (rc < 0 || rename(tmp, path) < 0)
        goto err;
    return 0;
err:;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = saved;
    return -1;
}

int atomicfile_write_json(const char *path, const json_t *j, size_t flags)
{
    char *text = json_dumps(j, flags);
    if (text == NULL) {
        errno = ENOMEM;
        return -1;
    }
    size_t len = strlen(text);
    char *buf = realloc(text, len + 2);
    if (buf == NULL) {
        free(text);
        errno = ENOMEM;
        return -1;
    }
    buf[len] = '\n';
    buf[len + 1] = '\0';
    int rc = atomicfile_write(path, buf, len + 1);
    int saved = errno;
    free(buf);
    errno = saved;
    return rc;
}
