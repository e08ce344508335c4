#include "atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* The file is built in memory (HDF5's core driver, no backing store) and
 * only its finished image is written with POSIX calls.  Why: when libhdf5
 * 1.10 itself meets a full disk, its failed H5Fclose leaves a half-freed file
 * registered and H5close at exit dies with SIGSEGV; in memory HDF5 never
 * sees an I/O error, and ENOSPC comes back from write() with a plain errno.
 * The price: while it is written, the file exists in memory twice (the
 * driver's buffer and the image copied out of it). */
typedef struct {
    void *bytes;
    size_t len;
} image;

static int build_image(const char *path, atomic_h5_fill fill, void *ctx, image *img, recur_err *err) {
    img->bytes = NULL;
    img->len = 0;
    H5E_auto2_t efunc = NULL;
    void *edata = NULL;
    H5Eget_auto2(H5E_DEFAULT, &efunc, &edata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* recur's one message, not HDF5's stack */
    int rc = -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t file = H5I_INVALID_HID;
    if (fapl < 0 || H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0 ||
        (file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        recur_fail(err, RECUR_EXIT_OUTPUT, "%s: could not create an HDF5 file in memory", path);
    } else if (fill(file, path, ctx, err) == 0) {
        ssize_t n = H5Fflush(file, H5F_SCOPE_GLOBAL) < 0 ? -1 : H5Fget_file_image(file, NULL, 0);
        if (n > 0 && (img->bytes = malloc((size_t)n)) && H5Fget_file_image(file, img->bytes, (size_t)n) == n) {
            img->len = (size_t)n;
            rc = 0;
        } else {
            recur_fail(err, RECUR_EXIT_OUTPUT, "%s: could not assemble the file (%zd bytes; out of memory?)", path, n);
        }
    }
    if (file >= 0 && H5Fclose(file) < 0 && rc == 0)
        rc = recur_fail(err, RECUR_EXIT_OUTPUT, "%s: could not close the file built in memory", path);
    if (fapl >= 0) H5Pclose(fapl);
    H5Eset_auto2(H5E_DEFAULT, efunc, edata);
    if (rc) {
        free(img->bytes);
        img->bytes = NULL;
    }
    return rc;
}

static int write_all(int fd, const char *p, size_t len) {
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A test hook: RECUR_TEST_PAUSE_WRITE=SECONDS[@N] sleeps SECONDS in the Nth
 * atomic write of this process (in every one without @N), with half of the
 * image in the temp file, so a test can kill -9 a writer mid-write
 * (tests/test_faults.c).  Unset, it costs one getenv per write. */
static void test_pause_mid_write(void) {
    static int writes;
    writes++;
    const char *s = getenv("RECUR_TEST_PAUSE_WRITE");
    if (!s || !*s) return;
    const char *at = strchr(s, '@');
    if (at && atoi(at + 1) != writes) return;
    double left = atof(s);
    struct timespec t = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    while (left > 0 && nanosleep(&t, &t) && errno == EINTR) {
    }
}

/* The image under its temp name, synced, then renamed into place. */
static int write_then_rename(int fd, const char *tmp, const char *path, const image *img, recur_err *err) {
    const size_t half = img->len / 2;
    int rc = write_all(fd, img->bytes, half);
    if (!rc) {
        test_pause_mid_write();
        rc = write_all(fd, (const char *)img->bytes + half, img->len - half);
    }
    if (rc)
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: could not write %zu bytes: %s", path, img->len,
                          errno == ENOSPC ? "no space left on the device (disk full)" : strerror(errno));
    if (fsync(fd)) return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: fsync failed: %s", path, strerror(errno));
    if (rename(tmp, path)) return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: cannot replace: %s", path, strerror(errno));
    return 0;
}

int atomic_h5_write(const char *path, atomic_h5_fill fill, void *ctx, recur_err *err) {
    char dir[4096], tmp[4200];
    if (temp_names(path, dir, sizeof dir, tmp, sizeof tmp))
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: expected a file path, found a directory or too long a name",
                          path);
    /* Create the temp file with POSIX first: its errno explains an
     * unwritable or missing directory before any work is done. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: cannot write into directory '%s': %s", path, dir,
                          strerror(errno));
    image img;
    int rc = build_image(path, fill, ctx, &img, err);
    if (!rc) rc = write_then_rename(fd, tmp, path, &img, err);
    free(img.bytes);
    if (close(fd) && !rc) rc = recur_fail(err, RECUR_EXIT_OUTPUT, "%s: close failed: %s", path, strerror(errno));
    if (rc) {
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

/* ".<name>.tmp.<pid>" -> name (into buf) and pid; 0 when `entry` is not a temp name. */
static int parse_temp_name(const char *entry, char *name, size_t len, long *pid) {
    const char *tag = strstr(entry, ".tmp.");
    if (entry[0] != '.' || !tag) return 0;
    while (strstr(tag + 1, ".tmp.")) tag = strstr(tag + 1, ".tmp.");
    char *end;
    *pid = strtol(tag + 5, &end, 10);
    if (*end || end == tag + 5 || *pid <= 0 || (size_t)(tag - entry - 1) >= len) return 0;
    snprintf(name, len, "%.*s", (int)(tag - entry - 1), entry + 1);
    return 1;
}

int atomic_remove_stale(const char *dir, const char *pattern, void (*removed)(const char *path, long pid)) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char name[1024], path[8192];
        long pid;
        if (!parse_temp_name(e->d_name, name, sizeof name, &pid) || fnmatch(pattern, name, 0)) continue;
        /* Only a writer that is gone: a live one (another run writing the
         * same destination) keeps its file. */
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) continue;
        if (unlink(path) == 0) {
            n++;
            if (removed) removed(path, pid);
        }
    }
    closedir(d);
    return n;
}
