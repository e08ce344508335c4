#include "h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash_guard.h"
#include "h5probe.h"

/* ---- error printing, closing, opening ------------------------------------ */

/* HDF5's automatic error printing, saved so it can be restored after a
 * silenced region. */
typedef struct {
    H5E_auto2_t func;
    void *data;
} quiet;

static void quiet_begin(quiet *q) {
    q->func = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void quiet_end(const quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

void h5u_close(hid_t id) {
    if (id < 0) return;
    switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: break;
    }
}

/* Whether the file starts with the HDF5 signature: tells a damaged HDF5 file
 * (which H5Fis_hdf5 may also reject) from a file of another kind. */
static int has_signature(const char *path) {
    static const char SIG[8] = {'\211', 'H', 'D', 'F', '\r', '\n', '\032', '\n'};
    char buf[8];
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int ok = fread(buf, 1, 8, f) == 8 && memcmp(buf, SIG, 8) == 0;
    fclose(f);
    return ok;
}

int h5u_open_read(const char *path, hid_t *file, recur_err *err) {
    *file = H5I_INVALID_HID;
    /* Plain POSIX first: its errno says *why* a path cannot be read, which
     * HDF5's error stack would bury. */
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: cannot open for reading: %s", path, strerror(errno));
    struct stat st;
    int is_dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    if (is_dir) {
        close(fd);
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: expected an HDF5 file, found a directory", path);
    }
    /* Every later open (the signature check, the probe child, H5Fopen) goes
     * through this descriptor's /proc link, so they read the file opened here
     * even if the path is replaced meanwhile. */
    char same[64];
    snprintf(same, sizeof same, "/proc/self/fd/%d", fd);
    const char *at = access(same, R_OK) == 0 ? same : path; /* no /proc: the path itself */
    /* Test hook: RECUR_TEST_PAUSE_OPEN=SECONDS holds here, so a test can remove the path. */
    const char *pause = getenv("RECUR_TEST_PAUSE_OPEN");
    if (pause && atof(pause) > 0) usleep((useconds_t)(atof(pause) * 1e6));
    int rc = 0;
    htri_t is = H5Fis_hdf5(at);
    if (is <= 0)
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: expected an HDF5 file, found %s", path,
                        has_signature(at) ? "a damaged one (truncated?)" : "something else (no HDF5 signature)");
    /* libhdf5 may crash or hang on a damaged file: a child parses it first. */
    if (!rc && h5probe_check_as(at, path, err)) rc = -1;
    if (!rc && (*file = H5Fopen(at, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: expected a readable HDF5 file, found a damaged one (truncated?)",
                        path);
    /* Whatever failed: a path that is gone now was removed while being read, not damaged. */
    if (rc && access(path, F_OK) != 0 && errno == ENOENT)
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: the file vanished (removed while it was being read)", path);
    close(fd); /* H5Fopen holds its own descriptor of the same file */
    return rc;
}

int h5u_with_file(const char *path, h5u_file_fn fn, void *ctx, recur_err *err) {
    quiet q;
    quiet_begin(&q);
    crash_guard_install();
    const char *outer = crash_guard_reading(path);
    hid_t file;
    int rc = h5u_open_read(path, &file, err);
    if (rc == 0) rc = fn(file, path, ctx, err);
    h5u_close(file);
    crash_guard_reading(outer);
    quiet_end(&q);
    return rc;
}

/* Flush, then close, each checked: the last data reaches the disk here, so a
 * full disk shows here and nowhere earlier. */
static int close_written(hid_t file, const char *name, recur_err *err) {
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) {
        h5u_close(file);
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: could not flush (disk full?)", name);
    }
    if (H5Fclose(file) < 0)
        return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: could not close the written file (disk full?)", name);
    return 0;
}

int h5u_with_new_file(const char *path, const char *name, h5u_file_fn fn, void *ctx, recur_err *err) {
    quiet q;
    quiet_begin(&q);
    int rc = -1;
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) recur_fail(err, RECUR_EXIT_OUTPUT, "%s: could not create HDF5 file '%s'", name, path);
    else if (fn(file, name, ctx, err)) h5u_close(file);
    else rc = close_written(file, name, err);
    quiet_end(&q);
    return rc;
}

int h5u_exists(hid_t loc, const char *obj) {
    char buf[512];
    if (snprintf(buf, sizeof buf, "%s", obj) >= (int)sizeof buf) return 0;
    /* H5Lexists on "a/b/c" is an error when "a/b" is missing, so test each
     * prefix in turn. */
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char saved = *p;
            *p = 0;
            if (H5Lexists(loc, buf, H5P_DEFAULT) <= 0) return 0;
            *p = saved;
            if (saved == 0) return 1;
        }
    }
}

/* ---- describing types and shapes for messages ---------------------------- */

static const struct {
    const char *name;
    H5T_class_t cls;
    size_t size;
    H5T_sign_t sign;
} KIND[] = {
    [H5U_INT32] = {"int32", H5T_INTEGER, 4, H5T_SGN_2},
    [H5U_UINT8] = {"uint8", H5T_INTEGER, 1, H5T_SGN_NONE},
    [H5U_FLOAT32] = {"float32", H5T_FLOAT, 4, H5T_SGN_ERROR},
};

static hid_t native_type(h5u_kind k) {
    switch (k) {
    case H5U_INT32: return H5T_NATIVE_INT32;
    case H5U_UINT8: return H5T_NATIVE_UINT8;
    default: return H5T_NATIVE_FLOAT;
    }
}

/* Little-endian on disk whatever the host, as numpy/h5py write. */
static hid_t file_type(h5u_kind k) {
    switch (k) {
    case H5U_INT32: return H5T_STD_I32LE;
    case H5U_UINT8: return H5T_STD_U8LE;
    default: return H5T_IEEE_F32LE;
    }
}

static size_t kind_size(h5u_kind k) { return KIND[k].size; }

static int type_is(hid_t type, h5u_kind k) {
    if (H5Tget_class(type) != KIND[k].cls || H5Tget_size(type) != KIND[k].size) return 0;
    return KIND[k].cls != H5T_INTEGER || H5Tget_sign(type) == KIND[k].sign;
}

/* "int64", "float32", "string", ... */
static void describe_type(hid_t type, char *buf, size_t len) {
    size_t bits = H5Tget_size(type) * 8;
    switch (H5Tget_class(type)) {
    case H5T_INTEGER:
        snprintf(buf, len, "%s%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int", bits);
        break;
    case H5T_FLOAT: snprintf(buf, len, "float%zu", bits); break;
    case H5T_STRING: snprintf(buf, len, "string"); break;
    case H5T_COMPOUND: snprintf(buf, len, "compound"); break;
    case H5T_ENUM: snprintf(buf, len, "enum"); break;
    case H5T_ARRAY: snprintf(buf, len, "array"); break;
    case H5T_VLEN: snprintf(buf, len, "vlen"); break;
    case H5T_OPAQUE: snprintf(buf, len, "opaque"); break;
    case H5T_REFERENCE: snprintf(buf, len, "reference"); break;
    default: snprintf(buf, len, "unknown type"); break;
    }
}

/* "[100]", "[3, 4]", "scalar" */
static void describe_space(hid_t space, char *buf, size_t len) {
    H5S_class_t cls = H5Sget_simple_extent_type(space);
    if (cls == H5S_SCALAR) {
        snprintf(buf, len, "scalar");
        return;
    }
    if (cls != H5S_SIMPLE) {
        snprintf(buf, len, "with no data (null dataspace)");
        return;
    }
    hsize_t d[H5S_MAX_RANK];
    int r = H5Sget_simple_extent_dims(space, d, NULL);
    size_t n = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < r && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
    if (n < len) snprintf(buf + n, len - n, "]");
}

/* "type shape" of an attribute or dataset. */
static void describe(hid_t type, hid_t space, char *buf, size_t len) {
    char t[32], s[160];
    describe_type(type, t, sizeof t);
    describe_space(space, s, sizeof s);
    snprintf(buf, len, "%s %s", t, s);
}

/* "type shape" of an open attribute (is_attr) or dataset; buf is left as
 * it was when they cannot be read. */
static void describe_object(hid_t obj, int is_attr, char *buf, size_t len) {
    hid_t type = is_attr ? H5Aget_type(obj) : H5Dget_type(obj);
    hid_t space = is_attr ? H5Aget_space(obj) : H5Dget_space(obj);
    if (type >= 0 && space >= 0) describe(type, space, buf, len);
    h5u_close(space);
    h5u_close(type);
}

/* "float32 [512, N]" for a wanted shape. */
static void describe_want(const h5u_shape *w, char *buf, size_t len) {
    size_t n = (size_t)snprintf(buf, len, "%s [", KIND[w->kind].name);
    for (int i = 0; i < w->rank && n < len; i++) {
        const char *sep = i ? ", " : "";
        if (w->dims[i]) n += (size_t)snprintf(buf + n, len - n, "%s%zu", sep, w->dims[i]);
        else n += (size_t)snprintf(buf + n, len - n, "%s%s", sep, w->any[i] ? w->any[i] : "N");
    }
    if (n < len) snprintf(buf + n, len - n, "]");
}

/* "attribute 'lr' of '/optimizer'" or "attribute 'format'" for the root. */
static void attr_field(const char *obj, const char *name, char *buf, size_t len) {
    if (strcmp(obj, "/") == 0) snprintf(buf, len, "attribute '%s'", name);
    else snprintf(buf, len, "attribute '%s' of '%s'", name, obj);
}

/* ---- datasets ------------------------------------------------------------ */

/* 1 when the dataset's type and extent satisfy `w`, filling dims with the
 * found extents; otherwise 0 with `note` saying what the two descriptions
 * alone would not make obvious (a rank or an empty-extent problem). */
static int matches(hid_t type, hid_t space, const h5u_shape *w, size_t dims[], char *note, size_t len) {
    note[0] = 0;
    int rank = H5Sget_simple_extent_ndims(space);
    if (H5Sget_simple_extent_type(space) != H5S_SIMPLE || rank != w->rank) {
        snprintf(note, len, " (%d-D, expected %d-D)", rank < 0 ? 0 : rank, w->rank);
        return 0;
    }
    hsize_t d[H5S_MAX_RANK];
    if (H5Sget_simple_extent_dims(space, d, NULL) != rank) return 0;
    int ok = type_is(type, w->kind);
    for (int i = 0; i < rank; i++) {
        dims[i] = (size_t)d[i];
        if (w->dims[i] ? d[i] != w->dims[i] : d[i] == 0) ok = 0;
        if (!w->dims[i] && d[i] == 0) snprintf(note, len, " (expected every extent >= 1)");
    }
    return ok;
}

/* Opens `name` and checks it against `want`; fills dims (found extents). */
static int open_checked(hid_t file, const char *path, const char *name, const h5u_shape *w,
                        size_t dims[], hid_t *dset, recur_err *err) {
    char want[128], found[200];
    hid_t obj = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    int rc = -1;
    *dset = H5I_INVALID_HID;
    describe_want(w, want, sizeof want);
    if (!h5u_exists(file, name)) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected %s, found nothing (missing)", path, name, want);
        goto done;
    }
    obj = H5Oopen(file, name, H5P_DEFAULT);
    if (obj < 0) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected %s, found an unreadable object (damaged file?)",
                   path, name, want);
        goto done;
    }
    if (H5Iget_type(obj) != H5I_DATASET) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected %s, found a %s", path, name, want,
                   H5Iget_type(obj) == H5I_GROUP ? "group" : "non-dataset object");
        goto done;
    }
    type = H5Dget_type(obj);
    space = H5Dget_space(obj);
    if (type < 0 || space < 0) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected %s, found an unreadable dataset (damaged file?)",
                   path, name, want);
        goto done;
    }
    describe(type, space, found, sizeof found);
    char note[64];
    if (!matches(type, space, w, dims, note, sizeof note)) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected %s, found %s%s", path, name, want, found, note);
        goto done;
    }
    if (h5u_check_storage(obj, path, name, err)) goto done;
    *dset = obj;
    obj = H5I_INVALID_HID;
    rc = 0;
done:
    h5u_close(space);
    h5u_close(type);
    h5u_close(obj);
    return rc;
}

static int read_dataset(hid_t dset, const char *path, const char *name, h5u_kind kind, void *buf,
                        recur_err *err) {
    if (H5Dread(dset, native_type(kind), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': read failed (damaged or truncated file?)",
                          path, name);
    return 0;
}

int h5u_read_into(hid_t file, const char *path, const char *name, const h5u_shape *want, void *buf,
                  recur_err *err) {
    size_t dims[3];
    hid_t dset;
    if (open_checked(file, path, name, want, dims, &dset, err)) return -1;
    int rc = read_dataset(dset, path, name, want->kind, buf, err);
    h5u_close(dset);
    return rc;
}

int h5u_read_alloc(hid_t file, const char *path, const char *name, const h5u_shape *want,
                   size_t dims_out[], void **out, recur_err *err) {
    hid_t dset;
    *out = NULL;
    if (open_checked(file, path, name, want, dims_out, &dset, err)) return -1;
    size_t count = 1, esize = kind_size(want->kind);
    int rc = -1;
    for (int i = 0; i < want->rank; i++) {
        if (dims_out[i] > SIZE_MAX / esize / count) {
            recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': too large for memory", path, name);
            goto done;
        }
        count *= dims_out[i];
    }
    void *buf = malloc(count * esize);
    if (!buf) {
        recur_fail(err, RECUR_EXIT_FAIL, "%s: dataset '%s': out of memory for %zu elements", path, name, count);
        goto done;
    }
    if (read_dataset(dset, path, name, want->kind, buf, err)) {
        free(buf);
        goto done;
    }
    *out = buf;
    rc = 0;
done:
    h5u_close(dset);
    return rc;
}

/* ---- declared sizes against the file ------------------------------------ */

/* How far compressed chunks may expand: far beyond any real data's ratio,
 * far below what a forged extent declares.  UNWRITTEN is what a chunked
 * dataset may declare beyond that with nothing stored (chunks never written
 * read as fill values): small, because reading unwritten chunks costs time
 * per chunk (at 1 MiB, a forged 10^9-byte /vocab in 1 KiB chunks passed and
 * took minutes to read; at 64 KiB the worst passes in seconds). */
#define MAX_EXPANSION 1024
#define UNWRITTEN (64u << 10)

static unsigned long long file_size_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned long long)st.st_size : 0;
}

int h5u_check_storage(hid_t dset, const char *path, const char *name, recur_err *err) {
    hid_t type = H5Dget_type(dset), space = H5Dget_space(dset), dcpl = H5Dget_create_plist(dset);
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    size_t esize = type >= 0 ? H5Tget_size(type) : 0;
    H5D_layout_t layout = dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
    int rc = 0;
    if (n < 0 || esize == 0 || layout == H5D_LAYOUT_ERROR) {
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected a readable dataset, found a damaged one",
                        path, name);
        goto done;
    }
    unsigned long long count = (unsigned long long)n, stored = H5Dget_storage_size(dset);
    if (count > (1ull << 62) / esize) {
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': %llu elements declared, which exceeds the limit "
                        "of 2^62 bytes", path, name, count);
        goto done;
    }
    unsigned long long bytes = count * esize;
    int chunked = layout == H5D_CHUNKED;
    if (chunked ? bytes / MAX_EXPANSION > stored + UNWRITTEN : stored < bytes) {
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': %llu elements declared (%llu bytes), but the "
                        "dataset's storage holds only %llu bytes", path, name, count, bytes, stored);
        goto done;
    }
    haddr_t at = layout == H5D_CONTIGUOUS ? H5Dget_offset(dset) : HADDR_UNDEF;
    unsigned long long fsize = file_size_of(path);
    if (at != HADDR_UNDEF && fsize && (at > fsize || bytes > fsize - at))
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': %llu bytes of data declared at offset %llu, past "
                        "the end of the file (%llu bytes; truncated?)", path, name, bytes, (unsigned long long)at, fsize);
done:
    h5u_close(dcpl);
    h5u_close(space);
    h5u_close(type);
    return rc;
}

/* ---- strings: one reader for attributes and datasets --------------------- */

/* Reads a one-element string attribute (is_attr) or dataset into a malloc'd
 * C string.  Returns 0, -1 on an HDF5 failure, -2 when it is not a single
 * string (the caller describes what was found). */
static int read_string(hid_t obj, int is_attr, char **out) {
    hid_t ftype = is_attr ? H5Aget_type(obj) : H5Dget_type(obj);
    hid_t space = is_attr ? H5Aget_space(obj) : H5Dget_space(obj);
    hid_t mtype = H5I_INVALID_HID;
    char *fixed = NULL;
    int rc = -1;
    *out = NULL;
    if (ftype < 0 || space < 0) goto done;
    if (H5Tget_class(ftype) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1) {
        rc = -2;
        goto done;
    }
    mtype = H5Tcopy(H5T_C_S1);
    /* HDF5 does not convert between character sets: read in the file's. */
    if (mtype < 0 || H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0) goto done;
    if (H5Tis_variable_str(ftype) > 0) {
        /* h5py's default: the library allocates the string. */
        char *s = NULL;
        if (H5Tset_size(mtype, H5T_VARIABLE) < 0) goto done;
        herr_t r = is_attr ? H5Aread(obj, mtype, &s) : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s);
        if (r < 0) goto done;
        *out = strdup(s ? s : "");
        H5free_memory(s);
    } else {
        /* Fixed length (H5LT, numpy bytes): read as NUL-terminated, one byte
         * longer, so a string that fills its field is still terminated. */
        size_t n = H5Tget_size(ftype);
        if (n == 0 || n > (1u << 30) || H5Tset_size(mtype, n + 1) < 0 ||
            H5Tset_strpad(mtype, H5T_STR_NULLTERM) < 0 || !(fixed = calloc(n + 1, 1)))
            goto done;
        herr_t r = is_attr ? H5Aread(obj, mtype, fixed) : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, fixed);
        if (r < 0) goto done;
        fixed[n] = 0;
        if (H5Tget_strpad(ftype) == H5T_STR_SPACEPAD)
            for (size_t k = strlen(fixed); k > 0 && fixed[k - 1] == ' '; k--) fixed[k - 1] = 0;
        *out = fixed;
        fixed = NULL;
    }
    rc = *out ? 0 : -1;
done:
    free(fixed);
    h5u_close(mtype);
    h5u_close(space);
    h5u_close(ftype);
    return rc;
}

int h5u_read_string(hid_t obj, int is_attr, char **out) { return read_string(obj, is_attr, out); }

/* Opens attribute `name` of `obj`, or explains that it is missing. */
static hid_t open_attr(hid_t file, const char *path, const char *obj, const char *name, const char *want,
                       recur_err *err) {
    char field[160];
    attr_field(obj, name, field, sizeof field);
    if (!h5u_exists(file, obj) && strcmp(obj, "/") != 0) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected %s, found nothing (no object '%s')", path, field, want, obj);
        return H5I_INVALID_HID;
    }
    if (H5Aexists_by_name(file, obj, name, H5P_DEFAULT) <= 0) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected %s, found nothing (missing)", path, field, want);
        return H5I_INVALID_HID;
    }
    hid_t a = H5Aopen_by_name(file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected %s, found an unreadable attribute (damaged file?)", path,
                   field, want);
    return a;
}

/* The error for an attribute that exists but has the wrong type or shape. */
static int attr_mismatch(hid_t a, const char *path, const char *obj, const char *name, const char *want,
                         recur_err *err) {
    char field[160], found[200] = "an unreadable attribute";
    attr_field(obj, name, field, sizeof field);
    describe_object(a, 1, found, sizeof found);
    return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected %s, found %s", path, field, want, found);
}

int h5u_read_str_attr(hid_t file, const char *path, const char *obj, const char *name, const char *want,
                      char **out, recur_err *err) {
    *out = NULL;
    if (!want) want = "a string";
    hid_t a = open_attr(file, path, obj, name, want, err);
    if (a < 0) return -1;
    int r = read_string(a, 1, out);
    if (r == -2) attr_mismatch(a, path, obj, name, want, err);
    else if (r < 0) {
        char field[160];
        attr_field(obj, name, field, sizeof field);
        recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: read failed (damaged file?)", path, field);
    }
    h5u_close(a);
    return r < 0 ? -1 : 0;
}

/* Reads a one-element numeric attribute of an accepted class as `mtype`. */
static int read_number_attr(hid_t file, const char *path, const char *obj, const char *name, int allow_float,
                            const char *want, hid_t mtype, void *out, recur_err *err) {
    hid_t a = open_attr(file, path, obj, name, want, err);
    if (a < 0) return -1;
    hid_t type = H5Aget_type(a), space = H5Aget_space(a);
    int rc = -1;
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    int ok = (cls == H5T_INTEGER || (allow_float && cls == H5T_FLOAT)) && space >= 0 &&
             H5Sget_simple_extent_npoints(space) == 1;
    if (!ok) attr_mismatch(a, path, obj, name, want, err);
    else if (H5Aread(a, mtype, out) < 0) {
        char field[160];
        attr_field(obj, name, field, sizeof field);
        recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: read failed (damaged file?)", path, field);
    } else rc = 0;
    h5u_close(space);
    h5u_close(type);
    h5u_close(a);
    return rc;
}

int h5u_read_int_attr(hid_t file, const char *path, const char *obj, const char *name, int64_t *out,
                      recur_err *err) {
    return read_number_attr(file, path, obj, name, 0, "an integer", H5T_NATIVE_INT64, out, err);
}

int h5u_read_float_attr(hid_t file, const char *path, const char *obj, const char *name, float *out,
                        recur_err *err) {
    return read_number_attr(file, path, obj, name, 1, "a number", H5T_NATIVE_FLOAT, out, err);
}

int h5u_read_bounded_attr(hid_t file, const char *path, const char *obj, const char *name, int64_t lo, int64_t hi,
                          int64_t *out, recur_err *err) {
    char want[96];
    if (hi == INT64_MAX) snprintf(want, sizeof want, "an integer >= %lld", (long long)lo);
    else snprintf(want, sizeof want, "an integer in [%lld, %lld]", (long long)lo, (long long)hi);
    if (read_number_attr(file, path, obj, name, 0, want, H5T_NATIVE_INT64, out, err)) return -1;
    if (*out >= lo && *out <= hi) return 0;
    char field[160];
    attr_field(obj, name, field, sizeof field);
    return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected %s, found %lld", path, field, want, (long long)*out);
}

int h5u_read_choice_attr(hid_t file, const char *path, const char *obj, const char *name,
                         const char *const names[], int n, int *index, recur_err *err) {
    char want[256] = "one of ";
    for (int i = 0; i < n; i++) {
        size_t len = strlen(want);
        snprintf(want + len, sizeof want - len, "%s%s", i ? ", " : "", names[i]);
    }
    char *s = NULL;
    if (h5u_read_str_attr(file, path, obj, name, want, &s, err)) return -1;
    *index = -1;
    for (int i = 0; i < n && *index < 0; i++)
        if (strcmp(s, names[i]) == 0) *index = i;
    int rc = 0;
    if (*index < 0) {
        char field[160];
        attr_field(obj, name, field, sizeof field);
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected %s, found \"%.100s\"", path, field, want, s);
    }
    free(s);
    return rc;
}

int h5u_expect_str_attr(hid_t file, const char *path, const char *obj, const char *name, const char *want,
                        recur_err *err) {
    char *s = NULL, quoted[160];
    snprintf(quoted, sizeof quoted, "the string \"%s\"", want);
    if (h5u_read_str_attr(file, path, obj, name, quoted, &s, err)) return -1;
    int rc = 0;
    if (strcmp(s, want) != 0) {
        char field[160];
        attr_field(obj, name, field, sizeof field);
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected %s, found \"%.200s\"", path, field, quoted, s);
    }
    free(s);
    return rc;
}

int h5u_expect_int_attr(hid_t file, const char *path, const char *obj, const char *name, int64_t want,
                        recur_err *err) {
    int64_t v;
    char text[64];
    snprintf(text, sizeof text, "the integer %lld", (long long)want);
    if (read_number_attr(file, path, obj, name, 0, text, H5T_NATIVE_INT64, &v, err)) return -1;
    if (v == want) return 0;
    char field[160];
    attr_field(obj, name, field, sizeof field);
    return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected %s, found %lld", path, field, text, (long long)v);
}

int h5u_read_str_dataset(hid_t file, const char *path, const char *name, char **out, recur_err *err) {
    *out = NULL;
    if (!h5u_exists(file, name))
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected a string, found nothing (missing)", path,
                          name);
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected a string dataset, found another object",
                          path, name);
    int r = read_string(d, 0, out);
    if (r == -2) {
        char found[200] = "an unreadable dataset";
        describe_object(d, 0, found, sizeof found);
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected a string, found %s", path, name, found);
    } else if (r < 0) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': read failed (damaged file?)", path, name);
    }
    h5u_close(d);
    return r < 0 ? -1 : 0;
}

/* ---- any numeric dataset, listing, format ------------------------------- */

/* Extents of `space` into a; fails beyond H5U_MAX_RANK or past memory. */
static int array_extents(hid_t space, const char *path, h5u_array *a, recur_err *err) {
    int r = H5Sget_simple_extent_ndims(space);
    if (r < 0 || r > H5U_MAX_RANK)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected at most %d dimensions, found %d", path,
                          a->name, H5U_MAX_RANK, r);
    hsize_t hd[H5S_MAX_RANK];
    H5Sget_simple_extent_dims(space, hd, NULL);
    a->rank = r;
    a->count = 1;
    for (int i = 0; i < r; i++) {
        a->dims[i] = (size_t)hd[i];
        if (a->dims[i] && a->count > SIZE_MAX / sizeof(double) / a->dims[i])
            return recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': too large for memory", path, a->name);
        a->count *= a->dims[i];
    }
    return 0;
}

int h5u_read_numeric(hid_t file, const char *path, const char *name, h5u_array *a, recur_err *err) {
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT), type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    int rc = -1;
    if (d < 0) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected a readable dataset, found an unreadable object "
                   "(damaged file?)", path, name);
        goto done;
    }
    type = H5Dget_type(d);
    space = H5Dget_space(d);
    if (type < 0 || space < 0) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected a readable dataset, found a damaged one", path, name);
        goto done;
    }
    describe_type(type, a->dtype, sizeof a->dtype);
    H5T_class_t cls = H5Tget_class(type);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': expected a numeric dataset, found a %s one", path, name,
                   a->dtype);
        goto done;
    }
    if (array_extents(space, path, a, err) || h5u_check_storage(d, path, name, err)) goto done;
    a->data = malloc((a->count ? a->count : 1) * sizeof(double));
    if (!a->data) {
        recur_fail(err, RECUR_EXIT_FAIL, "%s: dataset '%s': out of memory for %zu elements", path, name, a->count);
        goto done;
    }
    if (a->count && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data) < 0) {
        recur_fail(err, RECUR_EXIT_INPUT, "%s: dataset '%s': read failed (damaged or truncated file?)", path, name);
        goto done;
    }
    rc = 0;
done:
    if (rc) {
        free(a->data);
        a->data = NULL;
    }
    h5u_close(space);
    h5u_close(type);
    h5u_close(d);
    return rc;
}

typedef struct {
    const char *group;
    h5u_name *names;
    int n, cap;
} name_list;

static herr_t collect_dataset(hid_t g, const char *name, const H5L_info_t *info, void *op) {
    name_list *nl = op;
    if (info->type != H5L_TYPE_HARD) return 0;
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0) return -1;
    int is_dset = H5Iget_type(o) == H5I_DATASET;
    h5u_close(o);
    if (!is_dset) return 0;
    if (nl->n == nl->cap) {
        int cap = nl->cap ? 2 * nl->cap : 16;
        void *p = realloc(nl->names, (size_t)cap * sizeof *nl->names);
        if (!p) return -1;
        nl->names = p;
        nl->cap = cap;
    }
    snprintf(nl->names[nl->n++], sizeof(h5u_name), "%s/%s", nl->group, name);
    return 0;
}

int h5u_list_datasets(hid_t file, const char *group, h5u_name **names, int *n) {
    name_list nl = {group, NULL, 0, 0};
    *names = NULL;
    *n = 0;
    if (!h5u_exists(file, group)) return 0;
    hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
    if (g < 0) return -1;
    herr_t r = H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, collect_dataset, &nl);
    h5u_close(g);
    if (r < 0) {
        free(nl.names);
        return -1;
    }
    *names = nl.names;
    *n = nl.n;
    return 0;
}

int h5u_read_format(hid_t file, char **out, char *found, size_t len) {
    *out = NULL;
    if (H5Aexists_by_name(file, "/", "format", H5P_DEFAULT) <= 0) {
        snprintf(found, len, "no 'format' attribute");
        return 0;
    }
    hid_t a = H5Aopen_by_name(file, "/", "format", H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return -1;
    int r = read_string(a, 1, out);
    if (r == -2) {
        char what[200] = "unreadable";
        describe_object(a, 1, what, sizeof what);
        snprintf(found, len, "a 'format' attribute that is %s, not a string", what);
    }
    h5u_close(a);
    return r == -1 ? -1 : 0;
}

/* ---- writers ------------------------------------------------------------- */

static int write_failed(const char *path, const char *what, const char *name, recur_err *err) {
    return recur_fail(err, RECUR_EXIT_OUTPUT, "%s: could not write %s '%s' (disk full?)", path, what, name);
}

/* The variable-length UTF-8 string type h5py uses for str values. */
static hid_t vlen_str_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* Creates attribute `name` on `obj` with file type `ftype`, writes one value
 * given in memory type `mtype`. */
static int write_attr(hid_t file, const char *path, const char *obj, const char *name, hid_t ftype, hid_t mtype,
                      const void *value, recur_err *err) {
    hid_t space = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    int rc = -1;
    if (ftype < 0 || mtype < 0 || space < 0) goto done;
    a = H5Acreate_by_name(file, obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, mtype, value) < 0) goto done;
    rc = 0;
done:
    h5u_close(a);
    h5u_close(space);
    if (rc) {
        char field[160];
        attr_field(obj, name, field, sizeof field);
        recur_fail(err, RECUR_EXIT_OUTPUT, "%s: could not write %s", path, field);
    }
    return rc;
}

int h5u_write_str_attr(hid_t file, const char *path, const char *obj, const char *name, const char *value,
                       recur_err *err) {
    hid_t t = vlen_str_type();
    int rc = write_attr(file, path, obj, name, t, t, &value, err);
    h5u_close(t);
    return rc;
}

int h5u_write_int_attr(hid_t file, const char *path, const char *obj, const char *name, int64_t value,
                       recur_err *err) {
    return write_attr(file, path, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, err);
}

int h5u_write_float_attr(hid_t file, const char *path, const char *obj, const char *name, float value,
                         recur_err *err) {
    return write_attr(file, path, obj, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, &value, err);
}

/* Objects are created without modification times, so two identical runs
 * write byte-identical files (HDF5 stamps them by default). */
static hid_t untimed_ocpl(hid_t cls) {
    hid_t p = H5Pcreate(cls);
    if (p >= 0 && H5Pset_obj_track_times(p, 0) < 0) {
        H5Pclose(p);
        return H5I_INVALID_HID;
    }
    return p;
}

/* Creates every missing group on the way to (and, with `self`, including) `name`. */
static int make_groups(hid_t file, const char *name, int self) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", name);
    size_t len = strlen(buf);
    hid_t gcpl = untimed_ocpl(H5P_GROUP_CREATE);
    int rc = gcpl < 0 ? -1 : 0;
    for (size_t i = 1; rc == 0 && i <= len; i++) {
        if (buf[i] != '/' && !(self && i == len)) continue;
        char keep = buf[i];
        buf[i] = 0;
        if (!h5u_exists(file, buf)) {
            hid_t g = H5Gcreate2(file, buf, H5P_DEFAULT, gcpl, H5P_DEFAULT);
            if (g < 0) rc = -1;
            h5u_close(g);
        }
        buf[i] = keep;
    }
    h5u_close(gcpl);
    return rc;
}

int h5u_write_group(hid_t file, const char *path, const char *group, recur_err *err) {
    return make_groups(file, group, 1) ? write_failed(path, "group", group, err) : 0;
}

/* Creates dataset `name` (and any missing groups on the way) of file type
 * `ftype` over `space` and writes `data` given in memory type `mtype`. */
static int write_dataset(hid_t file, const char *path, const char *name, hid_t ftype, hid_t mtype, hid_t space,
                         const void *data, recur_err *err) {
    hid_t dcpl = untimed_ocpl(H5P_DATASET_CREATE), d = H5I_INVALID_HID;
    int rc = -1;
    if (ftype < 0 || space < 0 || dcpl < 0 || make_groups(file, name, 0)) goto done;
    d = H5Dcreate2(file, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) goto done;
    rc = 0;
done:
    h5u_close(d);
    h5u_close(dcpl);
    return rc ? write_failed(path, "dataset", name, err) : 0;
}

int h5u_write_dataset(hid_t file, const char *path, const char *name, h5u_kind kind, int rank,
                      const size_t *dims, const void *data, recur_err *err) {
    hsize_t d[3];
    for (int i = 0; i < rank && i < 3; i++) d[i] = dims[i];
    hid_t space = H5Screate_simple(rank, d, NULL);
    int rc = write_dataset(file, path, name, file_type(kind), native_type(kind), space, data, err);
    h5u_close(space);
    return rc;
}

int h5u_write_str_dataset(hid_t file, const char *path, const char *name, const char *value, recur_err *err) {
    hid_t t = vlen_str_type(), space = H5Screate(H5S_SCALAR);
    int rc = write_dataset(file, path, name, t, t, space, &value, err);
    h5u_close(space);
    h5u_close(t);
    return rc;
}
