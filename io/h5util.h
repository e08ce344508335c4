/* h5util.h - the few HDF5 mechanisms the io/ layer is built from.
 *
 * Each idea exists once: open a file for reading with a clear message, read a
 * string / integer / float attribute (whatever way it was written: fixed or
 * variable-length strings, any integer width), check a dataset's element type
 * and shape against the contract and read it, and the matching writers.
 *
 * Every reader reports failure as ONE message of the form
 *     <file>: <field>: expected <what the contract says>, found <what is there>
 * where <field> is "attribute 'name'" (root), "attribute 'name' of '/group'"
 * or "dataset '/path'"; err->code is RECUR_EXIT_INPUT.  Writers report
 *     <file>: could not write <field>
 * with RECUR_EXIT_OUTPUT.  No function leaves an HDF5 id open on any path.
 */
#ifndef RECUR_H5UTIL_H
#define RECUR_H5UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#include "../core/error.h"

/* The work done on an open file: `path` names the file in messages.  Returns
 * 0, or -1 with err filled.  (Same shape as atomic_h5_fill.) */
typedef int (*h5u_file_fn)(hid_t file, const char *path, void *ctx, recur_err *err);

/* The one way io/ opens an HDF5 file: HDF5's automatic error printing is
 * silenced (users see recur's one message, not HDF5's stack), `path` is opened
 * read-only with h5u_open_read's checks and messages, fn(file, path, ctx, err)
 * runs, and the file is closed and the caller's error printing restored on
 * every path.  Returns fn's result, or -1 when the file did not open.
 * Crash-safe: the first open of a file in a process is preceded by a walk of
 * it in a child with a time limit (io/h5probe.h), and while fn runs the
 * fatal-signal guard (io/crash_guard.h) names `path`. */
int h5u_with_file(const char *path, h5u_file_fn fn, void *ctx, recur_err *err);

/* The same around a new file: creates (truncates) `path`, runs fn, then
 * flushes and closes it checking both (disk full shows there).  `name` is
 * what messages and fn call the file (the destination, when `path` is a temp
 * file written for it).  Failures of the wrapper are RECUR_EXIT_OUTPUT. */
int h5u_with_new_file(const char *path, const char *name, h5u_file_fn fn, void *ctx, recur_err *err);

/* Closes any HDF5 id by its type; negative / invalid ids are ignored, so
 * cleanup blocks can close everything unconditionally. */
void h5u_close(hid_t id);

/* Opens `path` read-only.  Distinguishes "cannot open" (missing, unreadable,
 * a directory: strerror text) from "not an HDF5 file" and from a damaged
 * HDF5 file.  All with RECUR_EXIT_INPUT; *file is negative on failure. */
int h5u_open_read(const char *path, hid_t *file, recur_err *err);

/* 1 when every component of `obj` (e.g. "/model/rnn/weight_ih_l0") exists
 * as a link under `loc`, 0 otherwise (never an HDF5 error on a missing
 * intermediate group). */
int h5u_exists(hid_t loc, const char *obj);

/* The element types the contracts use. */
typedef enum { H5U_INT32 = 0, H5U_UINT8, H5U_FLOAT32 } h5u_kind;

/* What a dataset must look like.  dims[i] == 0 means "any extent >= 1",
 * shown in messages as any[i] (e.g. "N"). */
typedef struct {
    h5u_kind kind;
    int rank;                /* 1..3 */
    size_t dims[3];
    const char *any[3];
} h5u_shape;

/* Checks dataset `dset` of `file` against `want`, then reads it into `buf`,
 * which must hold the product of want->dims (no 'any' extents allowed). */
int h5u_read_into(hid_t file, const char *path, const char *dset, const h5u_shape *want,
                  void *buf, recur_err *err);

/* Same check, then allocates (malloc) and reads the whole dataset; the found
 * extents land in dims_out[0..rank-1].  *out is NULL on failure. */
int h5u_read_alloc(hid_t file, const char *path, const char *dset, const h5u_shape *want,
                   size_t dims_out[], void **out, recur_err *err);

/* Attribute `name` on object `obj` ("/" for the root).  Strings may be fixed
 * or variable length (free *out with free()); `want` says in messages what
 * the contract allows (NULL: "a string").  Integers of any width and sign;
 * floats accept any float or integer type. */
int h5u_read_str_attr(hid_t file, const char *path, const char *obj, const char *name, const char *want,
                      char **out, recur_err *err);
int h5u_read_int_attr(hid_t file, const char *path, const char *obj, const char *name,
                      int64_t *out, recur_err *err);
int h5u_read_float_attr(hid_t file, const char *path, const char *obj, const char *name,
                        float *out, recur_err *err);

/* An integer attribute within [lo, hi] ("an integer >= lo" when hi is
 * INT64_MAX): the check every size and counter of a contract needs. */
int h5u_read_bounded_attr(hid_t file, const char *path, const char *obj, const char *name, int64_t lo, int64_t hi,
                          int64_t *out, recur_err *err);
/* A string attribute that must be one of names[0..n): *index is its
 * position; messages list the names ("one of a, b, c"). */
int h5u_read_choice_attr(hid_t file, const char *path, const char *obj, const char *name,
                         const char *const names[], int n, int *index, recur_err *err);

/* Reads the string attribute and requires it to equal `want`. */
int h5u_expect_str_attr(hid_t file, const char *path, const char *obj, const char *name,
                        const char *want, recur_err *err);
/* Reads the integer attribute and requires it to equal `want` (versions). */
int h5u_expect_int_attr(hid_t file, const char *path, const char *obj, const char *name,
                        int64_t want, recur_err *err);

/* A scalar string dataset (fixed or variable length), e.g. /config. */
int h5u_read_str_dataset(hid_t file, const char *path, const char *dset, char **out,
                         recur_err *err);

/* Any one-element string attribute (is_attr) or dataset, fixed or variable
 * length, into a malloc'd C string: 0, -1 on an HDF5 failure, -2 when it is
 * not a single string.  The one string reader (io/h5probe.c walks with it). */
int h5u_read_string(hid_t obj, int is_attr, char **out);

/* Checks an open dataset's declared size against what the file can hold,
 * before anyone allocates for it: contiguous data must have storage for
 * every declared element and lie inside the file; chunked data may be
 * compressed, but not beyond 1024:1.  Fails with RECUR_EXIT_INPUT:
 *   <file>: dataset '/tokens': 2147483645 elements declared (8589934580
 *   bytes), but the dataset's storage holds only 4000 bytes */
int h5u_check_storage(hid_t dset, const char *path, const char *name, recur_err *err);

#define H5U_MAX_RANK 8

/* Any numeric dataset read whole, converted to double (for inspection:
 * statistics, comparisons, checks on files whose sizes are unknown). */
typedef struct {
    char name[160];              /* "/model/rnn/weight_ih_l0" */
    char dtype[16];              /* "float32", "float64", "int32", ... */
    int rank;
    size_t dims[H5U_MAX_RANK];
    size_t count;
    double *data;                /* malloc'd, [count] */
} h5u_array;

int h5u_read_numeric(hid_t file, const char *path, const char *name, h5u_array *out, recur_err *err);

/* The full paths of every dataset below `group` (recursively, hard links
 * only), in name order; *names is malloc'd (free it), *n 0 when the group is
 * missing.  -1 (nothing allocated) when the group cannot be walked. */
typedef char h5u_name[160];
int h5u_list_datasets(hid_t file, const char *group, h5u_name **names, int *n);

/* The root attribute `format` when it is a string: 0 and a malloc'd *out
 * (NULL when there is no such attribute or it is not a string, with `found`
 * describing it: "no 'format' attribute", "a 'format' attribute that is
 * int64 scalar, not a string"). */
int h5u_read_format(hid_t file, char **out, char *found, size_t len);

/* Writers.  Strings are variable-length UTF-8 (what h5py writes, so Python
 * readers get str), integers int64, floats float32; datasets are created with
 * any missing intermediate groups. */
int h5u_write_group(hid_t file, const char *path, const char *group, recur_err *err);
int h5u_write_str_attr(hid_t file, const char *path, const char *obj, const char *name,
                       const char *value, recur_err *err);
int h5u_write_int_attr(hid_t file, const char *path, const char *obj, const char *name,
                       int64_t value, recur_err *err);
int h5u_write_float_attr(hid_t file, const char *path, const char *obj, const char *name,
                         float value, recur_err *err);
int h5u_write_dataset(hid_t file, const char *path, const char *dset, h5u_kind kind, int rank,
                      const size_t *dims, const void *data, recur_err *err);
int h5u_write_str_dataset(hid_t file, const char *path, const char *dset, const char *value,
                          recur_err *err);

#endif
