#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"

/* Splits `path` into its directory ("." when none) and builds the temp name. */
static int temp_names(const char *path, char *dir, size_t dlen, char *tmp, size_t tlen) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base) return -1;
    if (!slash) snprintf(dir, dlen, ".");
    else if (slash == path) snprintf(dir, dlen, "/");
    else if ((size_t)(slash - path) >= dlen) return -1;
    else snprintf(dir, dlen, "%.*s", (int)(slash - path), path);
    int n = snprintf(tmp, tlen, "%s/.%s.tmp.%ld", dir, base, (long)getpid());
    return n < 0 || (size_t)n >= tlen ? -1 : 0;
}

static int fsync_path(const char *p, int flags) {
    int fd = open(p, flags);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    /* Some filesystems cannot fsync a directory; that is not a failure of
     * this write. */
    if (rc && (errno == EINVAL || errno == ENOTSUP)) rc = 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* The whole file under its temp name, synced, then renamed into place. */
static int write_then_rename(const char *tmp, const char *path, atomic_h5_fill fill, void *ctx, recur_err *err) {
    if (h5u_with_new_file(tmp, path, fill, ctx, err)) return -1;
    if (fsync_path(tmp, O_RDONLY)) return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: fsync failed: %s", path, strerror(errno));
    if (rename(tmp, path)) return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: cannot replace: %s", path, strerror(errno));
    return 0;
}

int atomic_h5_write(const char *path, atomic_h5_fill fill, void *ctx, recur_err *err) {
    char dir[4096], tmp[4200];
    if (temp_names(path, dir, sizeof dir, tmp, sizeof tmp))
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: expected a file path, found a directory or too long a name",
                          path);
    /* Create the temp file with POSIX first: its errno explains an
     * unwritable or missing directory far better than HDF5's stack. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: cannot write into directory '%s': %s", path, dir,
                          strerror(errno));
    close(fd);

    if (write_then_rename(tmp, path, fill, ctx, err)) {
        unlink(tmp);
        return -1;
    }
    /* From here the new file is in place; a failed directory fsync only means
     * the rename may not survive a crash, which we still report. */
    if (fsync_path(dir, O_RDONLY | O_DIRECTORY))
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: fsync of directory '%s' failed: %s", path, dir,
                          strerror(errno));
    return 0;
}
