/* seqdata.c - the "recur-sequences" contract: reader, writer, checks.
 *
 * The reader treats the file as hostile.  Every object is checked (class,
 * rank, extents, the caps below, storage against the declared size) before
 * anything is allocated from its sizes, numbers are read in bounded slabs
 * converted to the widest type of their class (int64, double), and each value
 * is checked (range, finiteness, fits its memory type) before it is narrowed.
 * Arrays of variable-length strings live in the file's global heap, which
 * libhdf5 can crash or hang on when damaged (issue 8); io/h5probe.c reads
 * only single strings, so those arrays are read first in a forked child with
 * a time limit (guard_strings) and only then in this process.
 */
#include "seqdata.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>

#include "atomic.h"
#include "crash_guard.h"
#include "h5util.h"
#include "seqdata_parts.h"

#define SEQ_FORMAT "recur-sequences"
#define SEQ_VERSION 1

const char *const SEQ_SPLIT_NAMES[SPLIT_COUNT] = {"train", "val", "test"};

/* The task attribute's values, in task_kind order from TASK_CLASSIFY. */
static const char *const TASKS[] = {"classify", "tag", "regress"};

/* Slab size of the bounded reads (elements, 8 bytes each). */
#define SLAB_ELEMS ((size_t)1 << 20)

/* ---- messages ------------------------------------------------------------- */

/* "<path>: <field>: <what>" with the given code. */
static int fail(recur_err *err, int code, const char *path, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(recur_err *err, int code, const char *path, const char *field, const char *fmt, ...) {
    char what[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return recur_fail(err, code, "%s: %s: %s", path, field, what);
}

/* "float32 [5, 2]", "string [3]", "a group", ... of an open object. */
static void describe_obj(hid_t o, char *buf, size_t len) {
    H5I_type_t it = H5Iget_type(o);
    if (it == H5I_GROUP) {
        snprintf(buf, len, "a group");
        return;
    }
    if (it != H5I_DATASET) {
        snprintf(buf, len, "a non-dataset object");
        return;
    }
    hid_t type = H5Dget_type(o), space = H5Dget_space(o);
    char t[32] = "unknown type";
    if (type >= 0) {
        size_t bits = H5Tget_size(type) * 8;
        switch (H5Tget_class(type)) {
        case H5T_INTEGER: snprintf(t, sizeof t, "%s%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int", bits); break;
        case H5T_FLOAT: snprintf(t, sizeof t, "float%zu", bits); break;
        case H5T_STRING: snprintf(t, sizeof t, "%sstring", H5Tis_variable_str(type) > 0 ? "" : "fixed-length "); break;
        case H5T_COMPOUND: snprintf(t, sizeof t, "compound"); break;
        case H5T_ENUM: snprintf(t, sizeof t, "enum"); break;
        case H5T_VLEN: snprintf(t, sizeof t, "vlen"); break;
        case H5T_OPAQUE: snprintf(t, sizeof t, "opaque"); break;
        case H5T_ARRAY: snprintf(t, sizeof t, "array"); break;
        case H5T_REFERENCE: snprintf(t, sizeof t, "reference"); break;
        default: break;
        }
    }
    size_t n = (size_t)snprintf(buf, len, "%s ", t);
    if (n >= len) return;
    H5S_class_t cls = space >= 0 ? H5Sget_simple_extent_type(space) : H5S_NO_CLASS;
    if (cls == H5S_SCALAR) snprintf(buf + n, len - n, "scalar");
    else if (cls != H5S_SIMPLE) snprintf(buf + n, len - n, "with no data (null dataspace)");
    else {
        hsize_t d[H5S_MAX_RANK];
        int r = H5Sget_simple_extent_dims(space, d, NULL);
        n += (size_t)snprintf(buf + n, len - n, "[");
        for (int i = 0; i < r && n < len; i++)
            n += (size_t)snprintf(buf + n, len - n, "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
        if (n < len) snprintf(buf + n, len - n, "]");
    }
    h5u_close(space);
    h5u_close(type);
}

/* 1 when every component of `name` is a hard link (h5u_exists must be true):
 * a soft or external link would make libhdf5 open objects, or other files,
 * that io/h5probe.c never walked. */
static int hard_path(hid_t file, const char *name) {
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", name) >= (int)sizeof buf) return 0;
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char saved = *p;
            *p = 0;
            H5L_info_t info;
            if (H5Lget_info(file, buf, &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_HARD) return 0;
            *p = saved;
            if (saved == 0) return 1;
        }
    }
}

/* Opens an object h5u_exists found, refusing anything but hard links. */
static hid_t open_hard(hid_t file, const char *name, char *found, size_t len) {
    if (!hard_path(file, name)) {
        snprintf(found, len, "a soft or external link");
        return H5I_INVALID_HID;
    }
    return H5Oopen(file, name, H5P_DEFAULT);
}

/* ---- checks shared by the reader and the writer --------------------------- */

/* Element i of a 1-D field, or (row, col) of a 2-D one: "/train/labels[3]". */
static void elem_name(char *buf, size_t len, const char *name, size_t row, size_t col, int rank) {
    if (rank == 2) snprintf(buf, len, "%s[%zu, %zu]", name, row, col);
    else snprintf(buf, len, "%s[%zu]", name, row);
}

/* Offsets of a split: offsets[0] = 0, each item (a sequence, a tree) at least
 * one unit (a step, a node), offsets[n] = total (total: the units of the
 * split, named by `total_from`). */
static int check_offsets_of(const char *path, const char *name, const int64_t *o, size_t n, size_t total,
                            const char *total_from, const char *item, const char *unit, int code, recur_err *err) {
    char field[200];
    if (o[0] != 0) {
        elem_name(field, sizeof field, name, 0, 0, 1);
        return fail(err, code, path, field, "expected 0, found %lld", (long long)o[0]);
    }
    for (size_t i = 1; i <= n; i++) {
        if (o[i] <= o[i - 1]) {
            elem_name(field, sizeof field, name, i, 0, 1);
            return fail(err, code, path, field,
                        "expected >= %lld (offsets[%zu] = %lld, every %s at least one %s), found %lld",
                        (long long)o[i - 1] + 1, i - 1, (long long)o[i - 1], item, unit, (long long)o[i]);
        }
        if ((uint64_t)o[i] > total) {
            elem_name(field, sizeof field, name, i, 0, 1);
            return fail(err, code, path, field, "expected <= %zu (the %ss in %s), found %lld", total, unit,
                        total_from, (long long)o[i]);
        }
    }
    if ((uint64_t)o[n] != total) {
        elem_name(field, sizeof field, name, n, 0, 1);
        return fail(err, code, path, field, "expected %zu (the %ss in %s), found %lld", total, unit, total_from,
                    (long long)o[n]);
    }
    return 0;
}

static int check_offsets(const char *path, const char *name, const int64_t *o, size_t n, size_t total,
                         const char *total_from, int code, recur_err *err) {
    return check_offsets_of(path, name, o, n, total, total_from, "sequence", "step", code, err);
}

/* An integer value outside [lo, hi). */
static int bad_int(const char *path, const char *name, size_t i, const char *what, int64_t lo, int64_t hi,
                   int64_t v, int code, recur_err *err) {
    char field[200];
    elem_name(field, sizeof field, name, i, 0, 1);
    return fail(err, code, path, field, "expected %s in [%lld, %lld), found %lld", what, (long long)lo, (long long)hi,
                (long long)v);
}

static int check_ints(const char *path, const char *name, const int32_t *v, size_t count, const char *what,
                      int64_t lo, int64_t hi, int code, recur_err *err) {
    for (size_t i = 0; i < count; i++)
        if (v[i] < lo || v[i] >= hi) return bad_int(path, name, i, what, lo, hi, v[i], code, err);
    return 0;
}

/* A float value that is not finite or does not fit a float32 (rank 1 or 2). */
static int bad_float(const char *path, const char *name, size_t idx, size_t width, int rank, double v, int code,
                     recur_err *err) {
    char field[200];
    elem_name(field, sizeof field, name, idx / width, idx % width, rank);
    if (isfinite(v))
        return fail(err, code, path, field, "expected a finite float32 number (|x| <= %g), found %g", (double)FLT_MAX, v);
    return fail(err, code, path, field, "expected a finite number, found %s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

static int check_floats(const char *path, const char *name, const float *v, size_t rows, size_t width, int rank,
                        int code, recur_err *err) {
    for (size_t i = 0; i < rows * width; i++)
        if (!isfinite(v[i])) return bad_float(path, name, i, width, rank, v[i], code, err);
    return 0;
}

/* A standard deviation must be positive (values are divided by it). */
static int check_std(const char *path, const char *name, const float *v, size_t n, int code, recur_err *err) {
    for (size_t i = 0; i < n; i++)
        if (!(v[i] > 0)) {
            char field[200];
            elem_name(field, sizeof field, name, i, 0, 1);
            return fail(err, code, path, field, "expected a positive number, found %g", (double)v[i]);
        }
    return 0;
}

/* Length of the valid UTF-8 prefix of s[0..n): n when it is all valid. */
static size_t utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) k = 1, min = 0x80;
        else if ((c & 0xF0) == 0xE0) k = 2, min = 0x800;
        else if ((c & 0xF8) == 0xF0) k = 3, min = 0x10000;
        else return i;
        if (n - i <= k) return i;
        unsigned cp = c & (0x3Fu >> k);
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += k + 1;
    }
    return n;
}

/* A list of strings (vocabulary words, label names): each present, at most
 * SEQ_MAX_STRING bytes, UTF-8. */
static int check_strings(const char *path, const char *name, char *const *s, size_t n, int code, recur_err *err) {
    char field[200];
    for (size_t i = 0; i < n; i++) {
        elem_name(field, sizeof field, name, i, 0, 1);
        if (!s[i]) return fail(err, code, path, field, "expected a string, found none (NULL)");
        size_t len = strnlen(s[i], SEQ_MAX_STRING + 1);
        if (len > SEQ_MAX_STRING)
            return fail(err, code, path, field, "expected at most %d bytes, found more", SEQ_MAX_STRING);
        size_t ok = utf8_valid((const unsigned char *)s[i], len);
        if (ok < len)
            return fail(err, code, path, field, "expected UTF-8 text, found byte 0x%02x at byte %zu",
                        (unsigned char)s[i][ok], ok);
    }
    return 0;
}

/* ---- checking a dataset in memory (the writer's checks) ------------------- */

static const char *task_text(task_kind t) {
    return t >= TASK_CLASSIFY && t <= TASK_REGRESS ? TASKS[t - TASK_CLASSIFY] : "?";
}

static int check_split(const seq_dataset *ds, int s, const char *path, int code, recur_err *err) {
    const seq_split *sp = &ds->split[s];
    const char *sn = SEQ_SPLIT_NAMES[s];
    char name[64], field[64];
    snprintf(field, sizeof field, "/%s", sn);
    if (sp->n < 1 || sp->n > SEQ_MAX_STEPS)
        return fail(err, code, path, field, "expected between 1 and %zu sequences, found %zu", (size_t)SEQ_MAX_STEPS, sp->n);
    if (!sp->offsets) return fail(err, code, path, field, "expected offsets, found none (NULL)");
    snprintf(name, sizeof name, "/%s/offsets", sn);
    if (sp->total < 1 || sp->total > SEQ_MAX_STEPS)
        return fail(err, code, path, field, "expected between 1 and %zu steps, found %zu", (size_t)SEQ_MAX_STEPS,
                    sp->total);
    char from[64];
    snprintf(from, sizeof from, "/%s/%s", sn, ds->vocab_size ? "tokens" : "features");
    if (check_offsets(path, name, sp->offsets, sp->n, sp->total, from, code, err)) return -1;

    size_t F = (size_t)ds->input_size, K = (size_t)ds->output_size;
    if ((F && sp->total > SEQ_MAX_ELEMS / F) || (K && sp->total > SEQ_MAX_ELEMS / K))
        return fail(err, code, path, field, "expected at most %llu elements per array, found %zu steps of %zu values",
                    (unsigned long long)SEQ_MAX_ELEMS, sp->total, F > K ? F : K);
    if (ds->vocab_size) {
        if (!sp->tokens || sp->features)
            return fail(err, code, path, field, "expected token inputs (as /train), found %s",
                        sp->features ? "features" : "none");
        snprintf(name, sizeof name, "/%s/tokens", sn);
        if (check_ints(path, name, sp->tokens, sp->total, "a token", 0, ds->vocab_size, code, err)) return -1;
    } else {
        if (!sp->features || sp->tokens)
            return fail(err, code, path, field, "expected feature inputs (as /train), found %s",
                        sp->tokens ? "tokens" : "none");
        snprintf(name, sizeof name, "/%s/features", sn);
        if (check_floats(path, name, sp->features, sp->total, F, 2, code, err)) return -1;
    }
    snprintf(name, sizeof name, "/%s/context", sn);
    if ((sp->context != NULL) != (ds->context_size > 0) || ds->context_size > SEQ_MAX_WIDTH)
        return fail(err, code, path, name, "expected %s (context_size %d), found %s", ds->context_size > 0 ?
                    "a float array [n, F] with F <= 65536" : "nothing", ds->context_size, sp->context ? "one" : "none");
    if (sp->context && check_floats(path, name, sp->context, sp->n, (size_t)ds->context_size, 2, code, err)) return -1;
    switch (ds->task) {
    case TASK_CLASSIFY:
        snprintf(name, sizeof name, "/%s/labels", sn);
        if (!sp->labels) return fail(err, code, path, name, "expected a label per sequence, found none (NULL)");
        return check_ints(path, name, sp->labels, sp->n, "a label", 0, ds->num_classes, code, err);
    case TASK_TAG:
        snprintf(name, sizeof name, "/%s/step_labels", sn);
        if (!sp->step_labels) return fail(err, code, path, name, "expected a label per step, found none (NULL)");
        return check_ints(path, name, sp->step_labels, sp->total, "a label", 0, ds->num_classes, code, err);
    default: {
        const float *t = ds->per_step ? sp->targets : sp->seq_targets;
        snprintf(name, sizeof name, "/%s/%s", sn, ds->per_step ? "targets" : "seq_targets");
        if (!t || (ds->per_step ? sp->seq_targets : sp->targets) != NULL)
            return fail(err, code, path, name, "expected %s only (as /train: per_step = %d), found %s", name + strlen(sn) + 2,
                        ds->per_step, t ? "both targets and seq_targets" : "none (NULL)");
        if (check_floats(path, name, t, ds->per_step ? sp->total : sp->n, K, 2, code, err)) return -1;
        snprintf(name, sizeof name, "/%s/seq_base", sn);
        if ((sp->seq_base != NULL) != (ds->split[SPLIT_TRAIN].seq_base != NULL))
            return fail(err, code, path, name, "expected %s (as /train), found %s",
                        sp->seq_base ? "nothing" : "a base per sequence", sp->seq_base ? "one" : "none (NULL)");
        return sp->seq_base ? check_floats(path, name, sp->seq_base, sp->n, K, 2, code, err) : 0;
    }
    }
}

int seqdata_check(const seq_dataset *ds, const char *path, int code, recur_err *err) {
    if (ds->task < TASK_CLASSIFY || ds->task > TASK_REGRESS)
        return fail(err, code, path, "attribute 'task'", "expected one of classify, tag, regress, found task %d",
                    (int)ds->task);
    if (!ds->split[SPLIT_TRAIN].present) return fail(err, code, path, "/train", "expected a group, found none");
    if (ds->target_log && ds->task != TASK_REGRESS)
        return fail(err, code, path, "attribute 'target_transform'", "expected it only with task regress, found task %s",
                    task_text(ds->task));
    if ((ds->vocab_size != 0) == (ds->input_size != 0))
        return fail(err, code, path, "inputs", "expected tokens (vocab_size > 0) or features (input_size > 0), "
                    "found vocab_size %d and input_size %d", ds->vocab_size, ds->input_size);
    if (ds->vocab_size) {
        if (ds->vocab_size < 0 || ds->vocab_size > SEQ_MAX_VOCAB)
            return fail(err, code, path, "vocab_size", "expected between 1 and %d, found %d", SEQ_MAX_VOCAB, ds->vocab_size);
        if ((ds->vocab != NULL) == (ds->vocab_words != NULL))
            return fail(err, code, path, "/vocab", "expected exactly one of /vocab and /vocab_words, found %s",
                        ds->vocab ? "both" : "neither");
        if (ds->vocab && ds->vocab_size > 256)
            return fail(err, code, path, "/vocab", "expected at most 256 bytes, found %d", ds->vocab_size);
        if (ds->vocab_words &&
            check_strings(path, "/vocab_words", ds->vocab_words, (size_t)ds->vocab_size, code, err))
            return -1;
    } else if (ds->input_size < 0 || ds->input_size > SEQ_MAX_WIDTH)
        return fail(err, code, path, "input_size", "expected between 1 and %d, found %d", SEQ_MAX_WIDTH, ds->input_size);
    if (ds->task == TASK_REGRESS) {
        if (ds->output_size < 1 || ds->output_size > SEQ_MAX_WIDTH)
            return fail(err, code, path, "output_size", "expected between 1 and %d, found %d", SEQ_MAX_WIDTH,
                        ds->output_size);
    } else {
        if (ds->num_classes < 1 || ds->num_classes > SEQ_MAX_CLASSES)
            return fail(err, code, path, "attribute 'num_classes'", "expected between 1 and %d, found %d",
                        SEQ_MAX_CLASSES, ds->num_classes);
        if (ds->label_names &&
            check_strings(path, "/label_names", ds->label_names, (size_t)ds->num_classes, code, err))
            return -1;
    }
    for (int sp = 0; sp < SPLIT_COUNT && ds->task != TASK_REGRESS; sp++)
        if (ds->split[sp].present && ds->split[sp].seq_base) {
            char name[64];
            snprintf(name, sizeof name, "/%s/seq_base", SEQ_SPLIT_NAMES[sp]);
            return fail(err, code, path, name, "expected nothing (regress only), found a base for task %s",
                        task_text(ds->task));
        }
    if (ds->per_step != (ds->task == TASK_TAG || (ds->task == TASK_REGRESS && ds->per_step)))
        return fail(err, code, path, "per_step", "expected %d for task %s, found %d", ds->task == TASK_TAG,
                    task_text(ds->task), ds->per_step);
    for (int s = 0; s < SPLIT_COUNT; s++)
        if (ds->split[s].present && check_split(ds, s, path, code, err)) return -1;
    const struct {
        const char *name;
        const float *v;
        int n, is_std;
    } norm[] = {
        {"/norm/feature_mean", ds->feature_mean, ds->input_size, 0},
        {"/norm/feature_std", ds->feature_std, ds->input_size, 1},
        {"/norm/target_mean", ds->target_mean, ds->output_size, 0},
        {"/norm/target_std", ds->target_std, ds->output_size, 1},
    };
    for (int i = 0; i < 4; i++) {
        if (!norm[i].v) continue;
        if (norm[i].n < 1)
            return fail(err, code, path, norm[i].name, "expected nothing (no %s), found an array",
                        i < 2 ? "feature inputs" : "regression targets");
        if ((norm[i ^ 1].v == NULL))
            return fail(err, code, path, norm[i ^ 1].name, "expected an array with %s, found none", norm[i].name);
        if (check_floats(path, norm[i].name, norm[i].v, (size_t)norm[i].n, 1, 1, code, err)) return -1;
        if (norm[i].is_std && check_std(path, norm[i].name, norm[i].v, (size_t)norm[i].n, code, err)) return -1;
    }
    return 0;
}

/* ---- writing -------------------------------------------------------------- */

static hid_t vlen_str_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* A dataset of file type ftype from memory type mtype, created without
 * modification times (identical input -> identical bytes). */
static int write_raw(hid_t file, const char *path, const char *name, hid_t ftype, hid_t mtype, int rank,
                     const size_t *dims, const void *data, recur_err *err) {
    hsize_t d[2] = {dims[0], rank > 1 ? dims[1] : 1};
    hid_t space = H5Screate_simple(rank, d, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), dset = H5I_INVALID_HID;
    int rc = -1;
    if (space >= 0 && dcpl >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0 && ftype >= 0) {
        dset = H5Dcreate2(file, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (dset >= 0 && H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0) rc = 0;
    }
    h5u_close(dset);
    h5u_close(dcpl);
    h5u_close(space);
    if (rc) recur_fail(err, RECUR_EXIT_OUTPUT, "%s: could not write dataset '%s' (disk full?)", path, name);
    return rc;
}

static int write_strings(hid_t file, const char *path, const char *name, char *const *s, size_t n, recur_err *err) {
    hid_t t = vlen_str_type();
    int rc = write_raw(file, path, name, t, t, 1, &n, s, err);
    h5u_close(t);
    return rc;
}

static int fill_seq(hid_t file, const char *path, void *ctx, recur_err *err) {
    const seq_dataset *ds = ctx;
    if (h5u_write_str_attr(file, path, "/", "format", SEQ_FORMAT, err) ||
        h5u_write_int_attr(file, path, "/", "version", SEQ_VERSION, err) ||
        h5u_write_str_attr(file, path, "/", "task", task_text(ds->task), err))
        return -1;
    if (ds->task != TASK_REGRESS && h5u_write_int_attr(file, path, "/", "num_classes", ds->num_classes, err)) return -1;
    if (ds->target_log && h5u_write_str_attr(file, path, "/", "target_transform", "log", err)) return -1;
    size_t V = (size_t)ds->vocab_size, C = (size_t)ds->num_classes, F = (size_t)ds->input_size,
           K = (size_t)ds->output_size;
    if (ds->vocab && h5u_write_dataset(file, path, "/vocab", H5U_UINT8, 1, &V, ds->vocab, err)) return -1;
    if (ds->vocab_words && write_strings(file, path, "/vocab_words", ds->vocab_words, V, err)) return -1;
    if (ds->task != TASK_REGRESS && ds->label_names &&
        write_strings(file, path, "/label_names", ds->label_names, C, err))
        return -1;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const seq_split *sp = &ds->split[s];
        if (!sp->present) continue;
        char g[16], name[64];
        snprintf(g, sizeof g, "/%s", SEQ_SPLIT_NAMES[s]);
        if (h5u_write_group(file, path, g, err)) return -1;
        size_t n1 = sp->n + 1, dims[2];
        snprintf(name, sizeof name, "%s/offsets", g);
        if (write_raw(file, path, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n1, sp->offsets, err)) return -1;
        if (sp->tokens) {
            snprintf(name, sizeof name, "%s/tokens", g);
            if (h5u_write_dataset(file, path, name, H5U_INT32, 1, &sp->total, sp->tokens, err)) return -1;
        } else {
            snprintf(name, sizeof name, "%s/features", g);
            dims[0] = sp->total, dims[1] = F;
            if (h5u_write_dataset(file, path, name, H5U_FLOAT32, 2, dims, sp->features, err)) return -1;
        }
        int rc = 0;
        if (ds->task == TASK_CLASSIFY) {
            snprintf(name, sizeof name, "%s/labels", g);
            rc = h5u_write_dataset(file, path, name, H5U_INT32, 1, &sp->n, sp->labels, err);
        } else if (ds->task == TASK_TAG) {
            snprintf(name, sizeof name, "%s/step_labels", g);
            rc = h5u_write_dataset(file, path, name, H5U_INT32, 1, &sp->total, sp->step_labels, err);
        } else {
            snprintf(name, sizeof name, "%s/%s", g, ds->per_step ? "targets" : "seq_targets");
            dims[0] = ds->per_step ? sp->total : sp->n, dims[1] = K;
            rc = h5u_write_dataset(file, path, name, H5U_FLOAT32, 2, dims,
                                   ds->per_step ? sp->targets : sp->seq_targets, err);
            if (!rc && sp->seq_base) {
                snprintf(name, sizeof name, "%s/seq_base", g);
                dims[0] = sp->n;
                rc = h5u_write_dataset(file, path, name, H5U_FLOAT32, 2, dims, sp->seq_base, err);
            }
        }
        if (!rc && sp->context) {
            snprintf(name, sizeof name, "%s/context", g);
            dims[0] = sp->n, dims[1] = (size_t)ds->context_size;
            rc = h5u_write_dataset(file, path, name, H5U_FLOAT32, 2, dims, sp->context, err);
        }
        if (rc) return -1;
    }
    if (ds->feature_mean && (h5u_write_dataset(file, path, "/norm/feature_mean", H5U_FLOAT32, 1, &F, ds->feature_mean, err) ||
                             h5u_write_dataset(file, path, "/norm/feature_std", H5U_FLOAT32, 1, &F, ds->feature_std, err)))
        return -1;
    if (ds->target_mean && (h5u_write_dataset(file, path, "/norm/target_mean", H5U_FLOAT32, 1, &K, ds->target_mean, err) ||
                            h5u_write_dataset(file, path, "/norm/target_std", H5U_FLOAT32, 1, &K, ds->target_std, err)))
        return -1;
    return 0;
}

int seqdata_write(const char *path, const seq_dataset *ds, recur_err *err) {
    if (seqdata_check(ds, path, RECUR_EXIT_FAIL, err)) return -1;
    return atomic_h5_write(path, fill_seq, (void *)ds, err);
}

/* ---- reading: opening and checking one array ------------------------------ */

typedef enum { NUM_INT, NUM_FLOAT } num_class;

/* Opens dataset `name` and checks its class and rank (any integer width for
 * NUM_INT, float32/float64 for NUM_FLOAT), that every extent is >= 1, that it
 * holds at most SEQ_MAX_ELEMS elements and that the file has storage for
 * them.  `want` describes the contract in messages ("an integer array
 * [n+1]").  Fills dims (rank entries). */
static int open_array(hid_t file, const char *path, const char *name, num_class cls, int rank, const char *want,
                      hid_t *out, size_t dims[2], recur_err *err) {
    *out = H5I_INVALID_HID;
    if (!h5u_exists(file, name)) return fail(err, RECUR_EXIT_INPUT, path, name, "expected %s, found nothing (missing)", want);
    char found[200] = "an unreadable object (damaged file?)";
    hid_t o = open_hard(file, name, found, sizeof found), type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    int rc = -1;
    if (o < 0) goto bad;
    describe_obj(o, found, sizeof found);
    if (H5Iget_type(o) != H5I_DATASET) goto bad;
    type = H5Dget_type(o);
    space = H5Dget_space(o);
    if (type < 0 || space < 0) goto bad;
    H5T_class_t c = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    if (cls == NUM_INT ? c != H5T_INTEGER || size < 1 || size > 8 : c != H5T_FLOAT || (size != 4 && size != 8))
        goto bad;
    if (H5Sget_simple_extent_type(space) != H5S_SIMPLE || H5Sget_simple_extent_ndims(space) != rank) goto bad;
    hsize_t d[2];
    if (H5Sget_simple_extent_dims(space, d, NULL) != rank) goto bad;
    unsigned long long count = 1;
    for (int i = 0; i < rank; i++) {
        if (d[i] == 0) {
            fail(err, RECUR_EXIT_INPUT, path, name, "expected %s with every extent >= 1, found %s", want, found);
            goto done;
        }
        if (d[i] > SEQ_MAX_ELEMS / count) {
            fail(err, RECUR_EXIT_INPUT, path, name, "expected at most %llu elements, found %s",
                 (unsigned long long)SEQ_MAX_ELEMS, found);
            goto done;
        }
        count *= d[i];
        dims[i] = (size_t)d[i];
    }
    if (h5u_check_storage(o, path, name, err)) goto done;
    *out = o;
    o = H5I_INVALID_HID;
    rc = 0;
    goto done;
bad:
    fail(err, RECUR_EXIT_INPUT, path, name, "expected %s, found %s", want, found);
done:
    h5u_close(space);
    h5u_close(type);
    h5u_close(o);
    return rc;
}

/* Where the values of a slab go and how they are checked. */
typedef struct {
    const char *path, *name;
    int rank;
    size_t width;          /* elements per row */
    /* integers */
    int dest_size;         /* 1, 4 or 8 */
    void *dest;
    const char *what;      /* "a token" */
    int64_t lo, hi;        /* accepted range [lo, hi) */
    int64_t max_seen;
    /* floats */
    float *fdest;
} sink;

/* Reads an open dataset of dims[0] rows of `width` elements in slabs of
 * rows, converted to int64 (integers) or double (floats), checking each
 * value before it is stored. */
static int read_checked(hid_t dset, sink *k, size_t rows, recur_err *err) {
    int is_int = k->dest != NULL;
    size_t step = SLAB_ELEMS / k->width ? SLAB_ELEMS / k->width : 1;
    size_t cap = (step < rows ? step : rows) * k->width;
    void *buf = malloc(cap * 8);
    hid_t fspace = H5Dget_space(dset), mspace = H5I_INVALID_HID;
    int rc = -1;
    if (!buf) {
        recur_fail(err, RECUR_EXIT_FAIL, "%s: %s: out of memory", k->path, k->name);
        goto done;
    }
    for (size_t first = 0; first < rows; first += step) {
        size_t nr = rows - first < step ? rows - first : step, ne = nr * k->width;
        hsize_t start[2] = {first, 0}, count[2] = {nr, k->width}, mcount = ne;
        h5u_close(mspace);
        mspace = H5Screate_simple(1, &mcount, NULL);
        if (fspace < 0 || mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dread(dset, is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, buf) < 0) {
            fail(err, RECUR_EXIT_INPUT, k->path, k->name, "read failed (damaged or truncated file?)");
            goto done;
        }
        size_t base = first * k->width;
        if (is_int) {
            const int64_t *v = buf;
            for (size_t i = 0; i < ne; i++) {
                if (v[i] < k->lo || v[i] >= k->hi) {
                    bad_int(k->path, k->name, base + i, k->what, k->lo, k->hi, v[i], RECUR_EXIT_INPUT, err);
                    goto done;
                }
                if (v[i] > k->max_seen) k->max_seen = v[i];
                if (k->dest_size == 8) ((int64_t *)k->dest)[base + i] = v[i];
                else if (k->dest_size == 4) ((int32_t *)k->dest)[base + i] = (int32_t)v[i];
                else ((uint8_t *)k->dest)[base + i] = (uint8_t)v[i];
            }
        } else {
            const double *v = buf;
            for (size_t i = 0; i < ne; i++) {
                if (!isfinite(v[i]) || fabs(v[i]) > FLT_MAX) {
                    bad_float(k->path, k->name, base + i, k->width, k->rank, v[i], RECUR_EXIT_INPUT, err);
                    goto done;
                }
                k->fdest[base + i] = (float)v[i];
            }
        }
    }
    rc = 0;
done:
    h5u_close(mspace);
    h5u_close(fspace);
    free(buf);
    return rc;
}

/* Opens, checks, allocates and reads an integer array: 1-D with `expect`
 * elements (0: any, found in *n_out), values in [lo, hi). */
static int read_int_array(hid_t file, const char *path, const char *name, const char *want, size_t expect,
                          const char *expect_why, int dest_size, const char *what, int64_t lo, int64_t hi,
                          void **out, size_t *n_out, int64_t *max_seen, recur_err *err) {
    hid_t d;
    size_t dims[2] = {0, 0};
    *out = NULL;
    if (open_array(file, path, name, NUM_INT, 1, want, &d, dims, err)) return -1;
    int rc = -1;
    if (expect && dims[0] != expect) {
        fail(err, RECUR_EXIT_INPUT, path, name, "expected %zu elements (%s), found %zu", expect, expect_why, dims[0]);
        goto done;
    }
    void *buf = malloc(dims[0] * (size_t)dest_size);
    if (!buf) {
        recur_fail(err, RECUR_EXIT_FAIL, "%s: %s: out of memory for %zu elements", path, name, dims[0]);
        goto done;
    }
    sink k = {.path = path, .name = name, .rank = 1, .width = 1, .dest_size = dest_size, .dest = buf,
              .what = what, .lo = lo, .hi = hi, .max_seen = INT64_MIN};
    if (read_checked(d, &k, dims[0], err)) {
        free(buf);
        goto done;
    }
    *out = buf;
    if (n_out) *n_out = dims[0];
    if (max_seen) *max_seen = k.max_seen;
    rc = 0;
done:
    h5u_close(d);
    return rc;
}

/* A float array, 1-D [rows] (width 0) or 2-D [rows, width]; rows and width
 * as expected when non-zero, else found (into *rows_out, *width_out). */
static int read_float_array(hid_t file, const char *path, const char *name, const char *want, int rank,
                            size_t rows, const char *rows_why, size_t width, const char *width_why, float **out,
                            size_t *rows_out, size_t *width_out, recur_err *err) {
    hid_t d;
    size_t dims[2] = {0, 1};
    *out = NULL;
    if (open_array(file, path, name, NUM_FLOAT, rank, want, &d, dims, err)) return -1;
    int rc = -1;
    if (rows && dims[0] != rows) {
        fail(err, RECUR_EXIT_INPUT, path, name, "expected %zu rows (%s), found %zu", rows, rows_why, dims[0]);
        goto done;
    }
    if (rank == 2 && width && dims[1] != width) {
        fail(err, RECUR_EXIT_INPUT, path, name, "expected %zu columns (%s), found %zu", width, width_why, dims[1]);
        goto done;
    }
    if (rank == 2 && dims[1] > SEQ_MAX_WIDTH) {
        fail(err, RECUR_EXIT_INPUT, path, name, "expected at most %d columns, found %zu", SEQ_MAX_WIDTH, dims[1]);
        goto done;
    }
    float *buf = malloc(dims[0] * dims[1] * sizeof *buf);
    if (!buf) {
        recur_fail(err, RECUR_EXIT_FAIL, "%s: %s: out of memory for %zu elements", path, name, dims[0] * dims[1]);
        goto done;
    }
    sink k = {.path = path, .name = name, .rank = rank, .width = dims[1], .fdest = buf};
    if (read_checked(d, &k, dims[0], err)) {
        free(buf);
        goto done;
    }
    *out = buf;
    if (rows_out) *rows_out = dims[0];
    if (width_out) *width_out = dims[1];
    rc = 0;
done:
    h5u_close(d);
    return rc;
}

/* Extents of an array without reading it (checked as open_array does). */
static int array_extent(hid_t file, const char *path, const char *name, num_class cls, int rank, const char *want,
                        size_t dims[2], recur_err *err) {
    hid_t d;
    if (open_array(file, path, name, cls, rank, want, &d, dims, err)) return -1;
    h5u_close(d);
    return 0;
}

/* ---- reading strings ------------------------------------------------------ */

static void free_strings(char **s, size_t n) {
    if (!s) return;
    for (size_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

/* Opens a 1-D string dataset of 1..cap elements; *is_vlen says how it is
 * stored. */
static int open_strings(hid_t file, const char *path, const char *name, size_t cap, hid_t *out, size_t *n,
                        int *is_vlen, recur_err *err) {
    const char *want = "variable-length strings [N]";
    *out = H5I_INVALID_HID;
    if (!h5u_exists(file, name)) return fail(err, RECUR_EXIT_INPUT, path, name, "expected %s, found nothing (missing)", want);
    char found[200] = "an unreadable object (damaged file?)";
    hid_t o = open_hard(file, name, found, sizeof found), type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    int rc = -1;
    hsize_t d = 0;
    if (o < 0) goto bad;
    describe_obj(o, found, sizeof found);
    if (H5Iget_type(o) != H5I_DATASET) goto bad;
    type = H5Dget_type(o);
    space = H5Dget_space(o);
    if (type < 0 || space < 0 || H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_type(space) != H5S_SIMPLE ||
        H5Sget_simple_extent_ndims(space) != 1 || H5Sget_simple_extent_dims(space, &d, NULL) != 1 || d == 0)
        goto bad;
    if (d > cap) {
        fail(err, RECUR_EXIT_INPUT, path, name, "expected at most %zu strings, found %llu", cap, (unsigned long long)d);
        goto done;
    }
    *is_vlen = H5Tis_variable_str(type) > 0;
    if (!*is_vlen && (H5Tget_size(type) == 0 || H5Tget_size(type) > SEQ_MAX_STRING)) {
        fail(err, RECUR_EXIT_INPUT, path, name, "expected strings of at most %d bytes, found %s of %zu bytes",
             SEQ_MAX_STRING, found, H5Tget_size(type));
        goto done;
    }
    if (h5u_check_storage(o, path, name, err)) goto done;
    *n = (size_t)d;
    *out = o;
    o = H5I_INVALID_HID;
    rc = 0;
    goto done;
bad:
    fail(err, RECUR_EXIT_INPUT, path, name, "expected %s, found %s", want, found);
done:
    h5u_close(space);
    h5u_close(type);
    h5u_close(o);
    return rc;
}

/* Where libhdf5 allocates variable-length strings during one read: every
 * block is recorded and freed by vlen_release, also those a read that failed
 * halfway allocated in its own conversion buffer (libhdf5 1.10 loses them on
 * a damaged heap; LeakSanitizer found it). */
typedef struct {
    void **p;
    size_t n, cap;
} vlen_blocks;

static void *vlen_alloc(size_t size, void *info) {
    vlen_blocks *b = info;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        void **p = realloc(b->p, cap * sizeof *p);
        if (!p) return NULL;
        b->p = p;
        b->cap = cap;
    }
    void *m = malloc(size ? size : 1);
    if (m) b->p[b->n++] = m;
    return m;
}

static void vlen_keep(void *mem, void *info) { (void)mem, (void)info; } /* vlen_release frees every block */

static void vlen_release(vlen_blocks *b) {
    for (size_t i = 0; i < b->n; i++) free(b->p[i]);
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Reads a 1-D string dataset (variable or fixed length, as h5py writes
 * str or bytes) into *out[0..*n), each a malloc'd NUL-terminated copy. */
static int read_strings(hid_t file, const char *path, const char *name, size_t cap, char ***out, size_t *n,
                        recur_err *err) {
    hid_t d, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID, space = H5I_INVALID_HID, dxpl = H5I_INVALID_HID;
    int is_vlen = 0, rc = -1;
    char **s = NULL, **raw = NULL, *fixed = NULL;
    vlen_blocks blocks = {0};
    *out = NULL;
    *n = 0;
    size_t count = 0;
    if (open_strings(file, path, name, cap, &d, &count, &is_vlen, err)) return -1;
    ftype = H5Dget_type(d);
    space = H5Dget_space(d);
    mtype = H5Tcopy(H5T_C_S1);
    s = calloc(count, sizeof *s);
    if (ftype < 0 || space < 0 || mtype < 0 || !s || H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0) goto failed;
    if (is_vlen) {
        raw = calloc(count, sizeof *raw);
        dxpl = H5Pcreate(H5P_DATASET_XFER);
        if (!raw || H5Tset_size(mtype, H5T_VARIABLE) < 0 || dxpl < 0 ||
            H5Pset_vlen_mem_manager(dxpl, vlen_alloc, &blocks, vlen_keep, &blocks) < 0)
            goto failed;
        herr_t r = H5Dread(d, mtype, H5S_ALL, H5S_ALL, dxpl, raw);
        if (r < 0) {
            fail(err, RECUR_EXIT_INPUT, path, name, "read failed (damaged file?)");
            goto done;
        }
        size_t total = 0;
        for (size_t i = 0; i < count && rc == -1; i++) {
            size_t len = raw[i] ? strnlen(raw[i], SEQ_MAX_STRING + 1) : 0;
            if (len > SEQ_MAX_STRING) {
                char field[200];
                elem_name(field, sizeof field, name, i, 0, 1);
                fail(err, RECUR_EXIT_INPUT, path, field, "expected at most %d bytes, found more", SEQ_MAX_STRING);
                rc = -2;
            } else if (!(s[i] = malloc(len + 1))) {
                rc = -3;
            } else {
                memcpy(s[i], raw[i] ? raw[i] : "", len);
                s[i][len] = 0;
                total += len;
            }
        }
        if (rc == -3) goto failed;
        if (rc == -2) {
            rc = -1;
            goto done;
        }
    } else {
        size_t w = H5Tget_size(ftype);
        fixed = malloc(count * (w + 1));
        if (!fixed || H5Tset_size(mtype, w + 1) < 0 || H5Tset_strpad(mtype, H5T_STR_NULLTERM) < 0) goto failed;
        if (H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, fixed) < 0) {
            fail(err, RECUR_EXIT_INPUT, path, name, "read failed (damaged file?)");
            goto done;
        }
        int spaces = H5Tget_strpad(ftype) == H5T_STR_SPACEPAD;
        for (size_t i = 0; i < count; i++) {
            char *f = fixed + i * (w + 1);
            f[w] = 0;
            size_t len = strlen(f);
            if (spaces)
                while (len > 0 && f[len - 1] == ' ') len--;
            if (!(s[i] = malloc(len + 1))) goto failed;
            memcpy(s[i], f, len);
            s[i][len] = 0;
        }
    }
    if (check_strings(path, name, s, count, RECUR_EXIT_INPUT, err)) goto done;
    *out = s;
    *n = count;
    s = NULL;
    rc = 0;
    goto done;
failed:
    recur_fail(err, RECUR_EXIT_FAIL, "%s: %s: could not read the strings (out of memory?)", path, name);
done:
    free_strings(s, count);
    free(raw);
    vlen_release(&blocks);
    free(fixed);
    h5u_close(dxpl);
    h5u_close(space);
    h5u_close(mtype);
    h5u_close(ftype);
    h5u_close(d);
    return rc;
}

/* What `name` is: 2 a dataset of variable-length strings, 1 of fixed-length
 * strings, 0 anything else (or missing, or not reached through hard links). */
static int string_class(hid_t file, const char *name) {
    if (!h5u_exists(file, name) || !hard_path(file, name)) return 0;
    hid_t d = H5Oopen(file, name, H5P_DEFAULT), t = H5I_INVALID_HID;
    int r = 0;
    if (d >= 0 && H5Iget_type(d) == H5I_DATASET && (t = H5Dget_type(d)) >= 0 && H5Tget_class(t) == H5T_STRING)
        r = H5Tis_variable_str(t) > 0 ? 2 : 1;
    h5u_close(t);
    h5u_close(d);
    return r;
}

/* 1 when `name` is a dataset of variable-length strings. */
static int is_vlen_strings(hid_t file, const char *name) { return string_class(file, name) == 2; }

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* libhdf5 can crash or spin inside its global-heap read on a damaged file,
 * and io/h5probe.c reads only single strings: so a child with a time limit
 * reads each array of variable-length strings first, exactly as the parent
 * will (read_strings), and the parent reads them only when the child came
 * back.  Same knobs and messages as io/h5probe.h (RECUR_PROBE=0 skips it,
 * RECUR_PROBE_TIMEOUT seconds, default 10). */
static int guard_strings(hid_t file, const char *path, const char *const names[], int count, recur_err *err) {
    const char *off = getenv("RECUR_PROBE");
    if (off && strcmp(off, "0") == 0) return 0;
    const char *which = NULL;
    for (int i = 0; i < count && !which; i++)
        if (is_vlen_strings(file, names[i])) which = names[i];
    if (!which) return 0;
    const char *ts = getenv("RECUR_PROBE_TIMEOUT");
    double timeout = ts && atof(ts) > 0 ? atof(ts) : 10.0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return 0; /* no reason to refuse the file */
    if (pid == 0) {
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
        for (int i = 0; i < count; i++) {
            char **s = NULL;
            size_t n = 0;
            recur_err e = {0};
            if (is_vlen_strings(file, names[i]) && read_strings(file, path, names[i], SEQ_MAX_VOCAB, &s, &n, &e) == 0)
                free_strings(s, n);
        }
        /* A forged heap-object length can make H5HG_read write past the
         * heap's buffer without crashing there: the damage shows when the
         * library frees its blocks, at H5close in the parent's exit.  So the
         * child closes the library too, and takes that crash instead. */
        H5close();
        _exit(0);
    }
    int status = 0;
    double end = now_s() + timeout;
    long nap = 200000;
    int killed = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) return 0;
        if (now_s() >= end) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
            killed = 1;
            break;
        }
        struct timespec t = {0, nap};
        nanosleep(&t, NULL);
        if (nap < 20000000) nap *= 2;
    }
    if (killed)
        return fail(err, RECUR_EXIT_INPUT, path, which,
                    "damaged HDF5 file (the reader hung on its strings: no answer in %g s)", timeout);
    if (WIFSIGNALED(status))
        return fail(err, RECUR_EXIT_INPUT, path, which, "damaged HDF5 file (the reader crashed on its strings: %s)",
                    crash_guard_signal_name(WTERMSIG(status)));
    if (WEXITSTATUS(status) != 0)
        return fail(err, RECUR_EXIT_INPUT, path, which, "damaged HDF5 file (the reader failed on its strings: exit %d)",
                    WEXITSTATUS(status));
    return 0;
}

/* ---- reading the whole file ----------------------------------------------- */

typedef struct {
    seq_dataset *ds;
    int C_known;          /* C from /label_names or num_classes */
    int64_t max_label;    /* largest label seen (C otherwise) */
} loader;

/* 1 when `name` exists and is a group. */
static int group_kind(hid_t file, const char *name, char *found, size_t len) {
    if (!h5u_exists(file, name)) {
        snprintf(found, len, "nothing (missing)");
        return 0;
    }
    snprintf(found, len, "an unreadable object (damaged file?)");
    hid_t o = open_hard(file, name, found, len);
    if (o >= 0) describe_obj(o, found, len);
    int r = o >= 0 && H5Iget_type(o) == H5I_GROUP;
    h5u_close(o);
    return r;
}

static int load_split(hid_t file, const char *path, loader *L, int s, recur_err *err) {
    seq_dataset *ds = L->ds;
    seq_split *sp = &ds->split[s];
    const char *sn = SEQ_SPLIT_NAMES[s];
    char g[16], found[200], name[64], in_name[64], want[160], why[160];
    snprintf(g, sizeof g, "/%s", sn);
    if (!group_kind(file, g, found, sizeof found)) {
        if (s != SPLIT_TRAIN && strcmp(found, "nothing (missing)") == 0) return 0;
        return fail(err, RECUR_EXIT_INPUT, path, g, "expected a group (the %s split)%s, found %s", sn,
                    s == SPLIT_TRAIN ? ", required" : "", found);
    }
    sp->present = 1;

    /* Inputs: their extent is the split's step count, checked first. */
    char tok[64], feat[64];
    snprintf(tok, sizeof tok, "%s/tokens", g);
    snprintf(feat, sizeof feat, "%s/features", g);
    int has_tok = h5u_exists(file, tok), has_feat = h5u_exists(file, feat);
    if (has_tok && has_feat)
        return fail(err, RECUR_EXIT_INPUT, path, g, "expected tokens or features, found both");
    if (!has_tok && !has_feat) {
        if (s == SPLIT_TRAIN)
            return fail(err, RECUR_EXIT_INPUT, path, tok, "expected an integer array [total] (or %s, a float array "
                        "[total, F]), found nothing (missing)", feat);
        return fail(err, RECUR_EXIT_INPUT, path, ds->vocab_size ? tok : feat, "expected %s (as /train), found nothing (missing)",
                    ds->vocab_size ? "an integer array [total]" : "a float array [total, F]");
    }
    if (s != SPLIT_TRAIN && has_tok != (ds->vocab_size > 0))
        return fail(err, RECUR_EXIT_INPUT, path, g, "expected %s inputs (as /train), found %s",
                    ds->vocab_size ? "token" : "feature", has_tok ? "tokens" : "features");
    size_t dims[2] = {0, 0};
    snprintf(in_name, sizeof in_name, "%s", has_tok ? tok : feat);
    if (has_tok) {
        if (array_extent(file, path, tok, NUM_INT, 1, "an integer array [total]", dims, err)) return -1;
    } else {
        if (array_extent(file, path, feat, NUM_FLOAT, 2, "a float array [total, F]", dims, err)) return -1;
        if (dims[1] > SEQ_MAX_WIDTH)
            return fail(err, RECUR_EXIT_INPUT, path, feat, "expected at most F = %d features, found %zu", SEQ_MAX_WIDTH,
                        dims[1]);
        if (s == SPLIT_TRAIN) ds->input_size = (int)dims[1];
        else if (dims[1] != (size_t)ds->input_size)
            return fail(err, RECUR_EXIT_INPUT, path, feat, "expected F = %d features per step (as /train/features), "
                        "found %zu", ds->input_size, dims[1]);
    }
    if (dims[0] > SEQ_MAX_STEPS)
        return fail(err, RECUR_EXIT_INPUT, path, in_name, "expected at most %zu steps, found %zu", (size_t)SEQ_MAX_STEPS,
                    dims[0]);
    size_t total = dims[0];

    /* Offsets: at most one sequence per step. */
    snprintf(name, sizeof name, "%s/offsets", g);
    size_t n1 = 0;
    if (array_extent(file, path, name, NUM_INT, 1, "an integer array [n+1]", dims, err)) return -1;
    if (dims[0] < 2 || dims[0] > total + 1)
        return fail(err, RECUR_EXIT_INPUT, path, name, "expected between 2 and %zu entries (n+1, at most one sequence "
                    "per step of %s), found %zu", total + 1, in_name, dims[0]);
    if (read_int_array(file, path, name, "an integer array [n+1]", 0, NULL, 8, "an offset", 0, INT64_MAX,
                       (void **)&sp->offsets, &n1, NULL, err))
        return -1;
    sp->n = n1 - 1;
    sp->total = total;
    if (check_offsets(path, name, sp->offsets, sp->n, total, in_name, RECUR_EXIT_INPUT, err)) return -1;

    /* Inputs, checked value by value. */
    if (has_tok) {
        if (read_int_array(file, path, tok, "an integer array [total]", total, "the steps", 4, "a token", 0,
                           ds->vocab_size, (void **)&sp->tokens, NULL, NULL, err))
            return -1;
    } else if (read_float_array(file, path, feat, "a float array [total, F]", 2, total, "the steps",
                                (size_t)ds->input_size, "F of /train/features", &sp->features, NULL, NULL, err))
        return -1;

    /* Targets. */
    int64_t C_hi = L->C_known ? ds->num_classes : SEQ_MAX_CLASSES, seen = INT64_MIN;
    if (ds->task == TASK_CLASSIFY) {
        snprintf(name, sizeof name, "%s/labels", g);
        snprintf(why, sizeof why, "one per sequence of %s", g);
        if (read_int_array(file, path, name, "an integer array [n] (a label per sequence)", sp->n, why, 4, "a label", 0,
                           C_hi, (void **)&sp->labels, NULL, &seen, err))
            return -1;
    } else if (ds->task == TASK_TAG) {
        snprintf(name, sizeof name, "%s/step_labels", g);
        snprintf(why, sizeof why, "one per step of %s", in_name);
        if (read_int_array(file, path, name, "an integer array [total] (a label per step)", total, why, 4, "a label", 0,
                           C_hi, (void **)&sp->step_labels, NULL, &seen, err))
            return -1;
    } else {
        char tg[64], stg[64];
        snprintf(tg, sizeof tg, "%s/targets", g);
        snprintf(stg, sizeof stg, "%s/seq_targets", g);
        int has_t = h5u_exists(file, tg), has_st = h5u_exists(file, stg);
        if (has_t && has_st) return fail(err, RECUR_EXIT_INPUT, path, g, "expected targets or seq_targets, found both");
        if (!has_t && !has_st)
            return fail(err, RECUR_EXIT_INPUT, path, tg, "expected a float array [total, K] (or %s, [n, K]), found "
                        "nothing (missing)", stg);
        if (s == SPLIT_TRAIN) ds->per_step = has_t;
        else if (has_t != ds->per_step)
            return fail(err, RECUR_EXIT_INPUT, path, g, "expected %s (as /train), found %s",
                        ds->per_step ? "targets" : "seq_targets", has_t ? "targets" : "seq_targets");
        snprintf(want, sizeof want, "a float array %s", has_t ? "[total, K]" : "[n, K]");
        snprintf(why, sizeof why, "%s of %s", has_t ? "one per step" : "one per sequence", has_t ? in_name : name);
        if (!has_t) snprintf(why, sizeof why, "one per sequence of %s", g);
        size_t K = 0;
        if (read_float_array(file, path, has_t ? tg : stg, want, 2, has_t ? total : sp->n, why,
                             s == SPLIT_TRAIN ? 0 : (size_t)ds->output_size,
                             ds->per_step ? "K of /train/targets" : "K of /train/seq_targets",
                             has_t ? &sp->targets : &sp->seq_targets, NULL, &K, err))
            return -1;
        if (s == SPLIT_TRAIN) ds->output_size = (int)K;
        /* seq_base: optional, but every split or none, as /train. */
        char base[64];
        snprintf(base, sizeof base, "%s/seq_base", g);
        int has_b = h5u_exists(file, base), train_b = ds->split[SPLIT_TRAIN].seq_base != NULL;
        if (s != SPLIT_TRAIN && has_b != train_b)
            return fail(err, RECUR_EXIT_INPUT, path, base, "expected %s (as /train), found %s",
                        train_b ? "a float array [n, K]" : "nothing", has_b ? "one" : "nothing (missing)");
        snprintf(why, sizeof why, "one per sequence of %s", g);
        if (has_b && read_float_array(file, path, base, "a float array [n, K]", 2, sp->n, why, (size_t)ds->output_size,
                                      ds->per_step ? "K of /train/targets" : "K of /train/seq_targets", &sp->seq_base,
                                      NULL, NULL, err))
            return -1;
    }
    if (seen > L->max_label) L->max_label = seen;
    /* context: optional (any task), but every split or none, as /train. */
    snprintf(name, sizeof name, "%s/context", g);
    const int has_c = h5u_exists(file, name), train_c = ds->split[SPLIT_TRAIN].context != NULL;
    if (s != SPLIT_TRAIN && has_c != train_c)
        return fail(err, RECUR_EXIT_INPUT, path, name, "expected %s (as /train), found %s",
                    train_c ? "a float array [n, F]" : "nothing", has_c ? "one" : "nothing (missing)");
    snprintf(why, sizeof why, "one per sequence of %s", g);
    size_t Fc = 0;
    if (has_c && read_float_array(file, path, name, "a float array [n, F] (a context per sequence)", 2, sp->n, why,
                                  (size_t)ds->context_size, "F of /train/context", &sp->context, NULL, &Fc, err))
        return -1;
    if (has_c && s == SPLIT_TRAIN) ds->context_size = (int)Fc;
    return 0;
}

/* /norm/<a>_mean and <a>_std: both or neither, [n] finite, std positive. */
static int load_norm(hid_t file, const char *path, const char *what, int n, const char *n_why, float **mean,
                     float **std, recur_err *err) {
    char m[64], s[64], why[96];
    snprintf(m, sizeof m, "/norm/%s_mean", what);
    snprintf(s, sizeof s, "/norm/%s_std", what);
    int hm = h5u_exists(file, m), hs = h5u_exists(file, s);
    if (!hm && !hs) return 0;
    if (hm != hs)
        return fail(err, RECUR_EXIT_INPUT, path, hm ? s : m, "expected a float array [%d] (with %s), found nothing "
                    "(missing)", n, hm ? m : s);
    if (n < 1) return 0; /* normalisation of something this file does not have: not read */
    snprintf(why, sizeof why, "%s", n_why);
    if (read_float_array(file, path, m, "a float array [N]", 1, (size_t)n, why, 0, NULL, mean, NULL, NULL, err) ||
        read_float_array(file, path, s, "a float array [N]", 1, (size_t)n, why, 0, NULL, std, NULL, NULL, err))
        return -1;
    return check_std(path, s, *std, (size_t)n, RECUR_EXIT_INPUT, err);
}

static int load_open(hid_t file, const char *path, void *ctx, recur_err *err) {
    loader *L = ctx;
    seq_dataset *ds = L->ds;
    if (h5u_expect_str_attr(file, path, "/", "format", SEQ_FORMAT, err) ||
        h5u_expect_int_attr(file, path, "/", "version", SEQ_VERSION, err))
        return -1;
    int t;
    if (h5u_read_choice_attr(file, path, "/", "task", TASKS, 3, &t, err)) return -1;
    ds->task = (task_kind)(TASK_CLASSIFY + t);
    ds->per_step = ds->task == TASK_TAG; /* regress: set by /train's targets */
    static const char *const TRANSFORMS[] = {"none", "log"};
    if (H5Aexists_by_name(file, "/", "target_transform", H5P_DEFAULT) > 0) {
        int tr;
        if (h5u_read_choice_attr(file, path, "/", "target_transform", TRANSFORMS, 2, &tr, err)) return -1;
        ds->target_log = tr == 1;
        if (ds->target_log && ds->task != TASK_REGRESS)
            return fail(err, RECUR_EXIT_INPUT, path, "attribute 'target_transform'",
                        "expected it only with task regress, found task %s", task_text(ds->task));
    }

    static const char *const STRINGS[] = {"/vocab_words", "/label_names"};
    if (guard_strings(file, path, STRINGS, 2, err)) return -1;

    /* The input kind of /train says whether a vocabulary is needed. */
    char found[200];
    if (!group_kind(file, "/train", found, sizeof found))
        return fail(err, RECUR_EXIT_INPUT, path, "/train", "expected a group (the train split), required, found %s",
                    found);
    if (h5u_exists(file, "/train/tokens")) {
        int hv = h5u_exists(file, "/vocab"), hw = h5u_exists(file, "/vocab_words");
        if (hv && hw) return fail(err, RECUR_EXIT_INPUT, path, "/vocab", "expected /vocab or /vocab_words, found both");
        if (!hv && !hw)
            return fail(err, RECUR_EXIT_INPUT, path, "/vocab", "expected uint8 [V] (or /vocab_words, strings [V]: "
                        "token inputs need a vocabulary), found nothing (missing)");
        if (hv) {
            size_t V = 0;
            if (read_int_array(file, path, "/vocab", "uint8 [V] (a byte per id)", 0, NULL, 1, "a byte", 0, 256,
                               (void **)&ds->vocab, &V, NULL, err))
                return -1;
            if (V > 256)
                return fail(err, RECUR_EXIT_INPUT, path, "/vocab", "expected at most 256 entries (one byte each), found %zu", V);
            ds->vocab_size = (int)V;
        } else {
            size_t V = 0;
            if (read_strings(file, path, "/vocab_words", SEQ_MAX_VOCAB, &ds->vocab_words, &V, err)) return -1;
            ds->vocab_size = (int)V;
        }
    }

    /* C: /label_names, else num_classes, else 1 + the largest label. */
    if (ds->task != TASK_REGRESS) {
        int64_t nc = 0;
        int has_nc = H5Aexists_by_name(file, "/", "num_classes", H5P_DEFAULT) > 0;
        if (has_nc && h5u_read_bounded_attr(file, path, "/", "num_classes", 1, SEQ_MAX_CLASSES, &nc, err)) return -1;
        if (h5u_exists(file, "/label_names")) {
            size_t C = 0;
            if (read_strings(file, path, "/label_names", SEQ_MAX_CLASSES, &ds->label_names, &C, err)) return -1;
            ds->num_classes = (int)C;
            if (has_nc && nc != (int64_t)C) {
                ds->num_classes = 0; /* label_names are freed with C entries */
                free_strings(ds->label_names, C);
                ds->label_names = NULL;
                return fail(err, RECUR_EXIT_INPUT, path, "attribute 'num_classes'",
                            "expected %zu (the length of /label_names), found %lld", C, (long long)nc);
            }
            L->C_known = 1;
        } else if (has_nc) {
            ds->num_classes = (int)nc;
            L->C_known = 1;
        }
    }

    L->max_label = -1;
    for (int s = 0; s < SPLIT_COUNT; s++)
        if (load_split(file, path, L, s, err)) return -1;
    if (ds->task != TASK_REGRESS && !L->C_known) ds->num_classes = (int)(L->max_label + 1);

    if (load_norm(file, path, "feature", ds->input_size, "F", &ds->feature_mean, &ds->feature_std, err) ||
        load_norm(file, path, "target", ds->output_size, "K", &ds->target_mean, &ds->target_std, err))
        return -1;
    return 0;
}

void seqdata_free(seq_dataset *ds) {
    free_strings(ds->vocab_words, ds->vocab_words ? (size_t)ds->vocab_size : 0);
    free_strings(ds->label_names, ds->label_names ? (size_t)ds->num_classes : 0);
    free(ds->vocab);
    free(ds->feature_mean);
    free(ds->feature_std);
    free(ds->target_mean);
    free(ds->target_std);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        seq_split *sp = &ds->split[s];
        free(sp->offsets);
        free(sp->tokens);
        free(sp->features);
        free(sp->labels);
        free(sp->step_labels);
        free(sp->targets);
        free(sp->seq_targets);
        free(sp->seq_base);
        free(sp->context);
    }
    memset(ds, 0, sizeof *ds);
}

int seqdata_load(const char *path, seq_dataset *ds, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    loader L = {ds, 0, -1};
    int rc = h5u_with_file(path, load_open, &L, err);
    if (rc) seqdata_free(ds);
    return rc;
}

static int format_open(hid_t file, const char *path, void *ctx, recur_err *err) {
    char *fmt = NULL, found[200];
    if (h5u_read_format(file, &fmt, found, sizeof found))
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: attribute 'format': read failed (damaged file?)", path);
    *(int *)ctx = fmt && strcmp(fmt, SEQ_FORMAT) == 0;
    free(fmt);
    return 0;
}

int seqdata_is_sequence_file(const char *path, recur_err *err) {
    int is = 0;
    return h5u_with_file(path, format_open, &is, err) ? -1 : is;
}

/* ---- the pieces other contracts reuse (seqdata_parts.h) ------------------- */

int seqdata_is_group(hid_t file, const char *name, char *found, size_t len) {
    return group_kind(file, name, found, len);
}

int seqdata_int_extent(hid_t file, const char *path, const char *name, const char *want, size_t *n, recur_err *err) {
    size_t dims[2] = {0, 0};
    int rc = array_extent(file, path, name, NUM_INT, 1, want, dims, err);
    *n = dims[0];
    return rc;
}

int seqdata_read_ints(hid_t file, const char *path, const char *name, const char *want, size_t expect,
                      const char *expect_why, int dest_size, const char *what, int64_t lo, int64_t hi, void **out,
                      size_t *n_out, recur_err *err) {
    return read_int_array(file, path, name, want, expect, expect_why, dest_size, what, lo, hi, out, n_out, NULL, err);
}

int seqdata_is_strings(hid_t file, const char *name) { return string_class(file, name) > 0; }

int seqdata_read_strings(hid_t file, const char *path, const char *name, size_t cap, char ***out, size_t *n,
                         recur_err *err) {
    return read_strings(file, path, name, cap, out, n, err);
}

void seqdata_free_strings(char **s, size_t n) { free_strings(s, n); }

int seqdata_guard_strings(hid_t file, const char *path, const char *const names[], int count, recur_err *err) {
    return guard_strings(file, path, names, count, err);
}

int seqdata_check_offsets(const char *path, const char *name, const int64_t *o, size_t n, size_t total,
                          const char *total_from, int code, recur_err *err) {
    return check_offsets(path, name, o, n, total, total_from, code, err);
}

int seqdata_check_offsets_of(const char *path, const char *name, const int64_t *o, size_t n, size_t total,
                             const char *total_from, const char *item, const char *unit, int code, recur_err *err) {
    return check_offsets_of(path, name, o, n, total, total_from, item, unit, code, err);
}

int seqdata_check_ints(const char *path, const char *name, const int32_t *v, size_t count, const char *what,
                       int64_t lo, int64_t hi, int code, recur_err *err) {
    return check_ints(path, name, v, count, what, lo, hi, code, err);
}

int seqdata_check_strings(const char *path, const char *name, char *const *s, size_t n, int code, recur_err *err) {
    return check_strings(path, name, s, n, code, err);
}

int seqdata_write_int64(hid_t file, const char *path, const char *name, const int64_t *v, size_t n, recur_err *err) {
    return write_raw(file, path, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n, v, err);
}

int seqdata_write_strings(hid_t file, const char *path, const char *name, char *const *s, size_t n, recur_err *err) {
    return write_strings(file, path, name, s, n, err);
}
