#include "h5probe.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash_guard.h"
#include "h5util.h"

/* ---- the walk (what the child does) -------------------------------------- */

/* Data up to this size is read whole; larger datasets only at both ends. */
#define WHOLE_BYTES (64u << 20)
#define SLAB_ELEMS ((hsize_t)1 << 20)

/* Names recur's readers look up whether or not they exist: a lookup of a
 * missing name walks the same (possibly damaged) group index. */
static const char *const LOOKUPS[] = {"/tokens", "/val_tokens", "/vocab", "/model", "/model/embedding/weight",
                                      "/model/rnn/weight_ih_l0_reverse", "/model/head/weight", "/model/head/bias",
                                      "/optimizer", "/optimizer/state", "/progress", "/state", "/state/h", "/state/c",
                                      "/config"};
static const char *const ROOT_ATTRS[] = {"format", "version", "cell", "vocab_size", "embed_size", "hidden_size",
                                         "num_layers", "task", "input_size", "bidirectional", "merge",
                                         "num_classes", "output_size", "per_step", "pooling"};

static void read_attr_value(hid_t a) {
    hid_t type = H5Aget_type(a), space = H5Aget_space(a);
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    if (cls == H5T_STRING) {
        char *s = NULL;
        h5u_read_string(a, 1, &s);
        free(s);
    } else if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && n >= 1 && n <= (1 << 20)) {
        /* Both conversions the readers use: integers as int64, numbers as float. */
        void *buf = malloc((size_t)n * 8);
        if (buf) {
            if (cls == H5T_INTEGER) H5Aread(a, H5T_NATIVE_INT64, buf);
            H5Aread(a, H5T_NATIVE_FLOAT, buf);
        }
        free(buf);
    }
    h5u_close(space);
    h5u_close(type);
}

/* Each attribute found by iteration is also looked up by name, as readers do. */
static herr_t visit_attr(hid_t obj, const char *name, const H5A_info_t *info, void *op) {
    (void)info;
    (void)op;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a >= 0) read_attr_value(a);
    h5u_close(a);
    if (H5Aexists_by_name(obj, ".", name, H5P_DEFAULT) > 0) {
        a = H5Aopen_by_name(obj, ".", name, H5P_DEFAULT, H5P_DEFAULT);
        h5u_close(a);
    }
    return 0;
}

/* Reads count elements from `start` of a 1-D dataset (bounded buffer). */
static void read_slab(hid_t d, hid_t fspace, hsize_t start, hsize_t count) {
    hid_t mspace = H5Screate_simple(1, &count, NULL);
    double *buf = malloc((size_t)count * sizeof *buf);
    if (buf && mspace >= 0 && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL) >= 0)
        H5Dread(d, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, buf);
    free(buf);
    h5u_close(mspace);
}

static void read_data(hid_t d, const char *path, const char *name) {
    hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    recur_err e = {0};
    if (cls == H5T_STRING) {
        char *s = NULL;
        h5u_read_string(d, 0, &s);
        free(s);
    } else if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && n > 0 && h5u_check_storage(d, path, name, &e) == 0) {
        if ((hsize_t)n * sizeof(double) <= WHOLE_BYTES) {
            double *buf = malloc((size_t)n * sizeof *buf);
            if (buf) H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
            free(buf);
        } else if (H5Sget_simple_extent_ndims(space) == 1) {
            read_slab(d, space, 0, SLAB_ELEMS);
            read_slab(d, space, (hsize_t)n - SLAB_ELEMS, SLAB_ELEMS);
        }
    }
    h5u_close(space);
    h5u_close(type);
}

typedef struct {
    hid_t file;
    const char *path;
} walk_ctx;

static void walk_object(walk_ctx *w, hid_t o, const char *full) {
    hsize_t idx = 0;
    H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, &idx, visit_attr, NULL);
    if (H5Iget_type(o) == H5I_DATASET) read_data(o, w->path, full);
}

static herr_t visit_link(hid_t g, const char *name, const H5L_info_t *info, void *op) {
    walk_ctx *w = op;
    if (info->type != H5L_TYPE_HARD) return 0;
    char full[1024];
    snprintf(full, sizeof full, "/%s", name);
    h5u_exists(w->file, full); /* the lookup by name the readers make */
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o >= 0) walk_object(w, o, full);
    h5u_close(o);
    return 0;
}

int h5probe_walk(const char *path) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (H5Fis_hdf5(path) <= 0) return 0;
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return 0;
    walk_ctx w = {file, path};
    for (size_t i = 0; i < sizeof LOOKUPS / sizeof LOOKUPS[0]; i++) h5u_exists(file, LOOKUPS[i]);
    for (size_t i = 0; i < sizeof ROOT_ATTRS / sizeof ROOT_ATTRS[0]; i++) H5Aexists_by_name(file, "/", ROOT_ATTRS[i], H5P_DEFAULT);
    hid_t root = H5Oopen(file, "/", H5P_DEFAULT);
    if (root >= 0) walk_object(&w, root, "/");
    h5u_close(root);
    H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, visit_link, &w);
    H5Fclose(file);
    return 0;
}

/* ---- the child and its time limit ---------------------------------------- */

static double probe_timeout(void) {
    const char *s = getenv("RECUR_PROBE_TIMEOUT");
    double t = s ? atof(s) : 0;
    return t > 0 ? t : 10.0;
}

/* Files already walked by this process: (device, inode, size, mtime). */
typedef struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id;

static file_id seen[32];
static int nseen;

static int same_file(const file_id *a, const struct stat *st) {
    return a->dev == st->st_dev && a->ino == st->st_ino && a->size == st->st_size &&
           a->mtime.tv_sec == st->st_mtim.tv_sec && a->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void remember(const struct stat *st) {
    file_id *f = &seen[nseen++ % (int)(sizeof seen / sizeof seen[0])];
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    f->size = st->st_size;
    f->mtime = st->st_mtim;
}

/* The child: default fatal-signal actions (so a crash ends it at once, not in
 * an inherited handler), no core file, no stderr noise, a backstop alarm in
 * case the parent is gone. */
static void run_child(const char *path, double timeout) {
    static const int FATAL[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGALRM};
    for (size_t i = 0; i < sizeof FATAL / sizeof FATAL[0]; i++) signal(FATAL[i], SIG_DFL);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
    }
    alarm((unsigned)timeout + 2);
    _exit(h5probe_walk(path) == 0 ? 0 : 1);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Waits for `pid` up to `timeout` seconds: its wait status, or -1 when it
 * had to be killed. */
static int wait_child(pid_t pid, double timeout, int *status) {
    double end = now() + timeout;
    long nap = 200000; /* ns, doubling to 20 ms: quick files answer quickly */
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) return 0;
        if (r < 0 && errno != EINTR) return 0; /* reaped elsewhere: nothing to judge */
        if (now() >= end) break;
        struct timespec ts = {0, nap};
        nanosleep(&ts, NULL);
        if (nap < 20000000) nap *= 2;
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {}
    return -1;
}

int h5probe_check_as(const char *open_path, const char *path, recur_err *err) {
    const char *off = getenv("RECUR_PROBE");
    if (off && strcmp(off, "0") == 0) return 0; /* tests of the crash guard alone */
    struct stat st;
    if (stat(open_path, &st) != 0 || !S_ISREG(st.st_mode)) return 0; /* the real open explains */
    for (int i = 0; i < nseen && i < (int)(sizeof seen / sizeof seen[0]); i++)
        if (same_file(&seen[i], &st)) return 0;
    double timeout = probe_timeout();
    fflush(NULL); /* the child must not flush the parent's buffered output again */
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) run_child(open_path, timeout);
    int status = 0;
    if (wait_child(pid, timeout, &status) < 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: damaged HDF5 file (the reader hung on it: no answer in %g s)",
                          path, timeout);
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: damaged HDF5 file (the reader crashed on it: %s)", path,
                          crash_guard_signal_name(WTERMSIG(status)));
    if (WIFSIGNALED(status))
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: damaged HDF5 file (the reader was killed on it: out of memory?)",
                          path);
    /* The walk itself always exits 0: anything else is the library (or a
     * sanitizer) ending the child on this file. */
    if (WEXITSTATUS(status) != 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: damaged HDF5 file (the reader failed on it: exit %d)", path,
                          WEXITSTATUS(status));
    remember(&st);
    return 0;
}

int h5probe_check(const char *path, recur_err *err) { return h5probe_check_as(path, path, err); }
