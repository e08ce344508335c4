#include "inspect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

/* ---- what kind of file ----------------------------------------------------- */

typedef struct {
    inspect_kind kind;
    char *what;
    size_t len;
} kind_query;

static int classify(hid_t file, const char *path, void *ctx, recur_err *err) {
    kind_query *q = ctx;
    char *format = NULL;
    if (h5u_read_format(file, &format, q->what, q->len))
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: attribute 'format': read failed (damaged file?)", path);
    q->kind = INSPECT_OTHER;
    if (format && strcmp(format, "recur-checkpoint") == 0) q->kind = INSPECT_CHECKPOINT;
    else if (format && strcmp(format, "recur-tokens") == 0) q->kind = INSPECT_TOKENS;
    else if (format && strcmp(format, "recur-sequences") == 0) q->kind = INSPECT_SEQUENCES;
    else if (format && strcmp(format, "recur-pairs") == 0) q->kind = INSPECT_PAIRS;
    else if (format && strcmp(format, "recur-trees") == 0) q->kind = INSPECT_TREES;
    else if (format) snprintf(q->what, q->len, "format \"%.200s\"", format);
    free(format);
    return 0;
}

int inspect_kind_of(const char *path, inspect_kind *kind, char *what, size_t len, recur_err *err) {
    kind_query q = {INSPECT_OTHER, what, len};
    what[0] = 0;
    int rc = h5u_with_file(path, classify, &q, err);
    *kind = q.kind;
    return rc;
}

/* ---- raw tensors ----------------------------------------------------------- */

static int by_name(const void *a, const void *b) {
    return strcmp(((const inspect_tensor *)a)->name, ((const inspect_tensor *)b)->name);
}

/* What --diff compares besides /model: the training state that makes a
 * resumed run continue exactly. */
static const char *const EXTRA[] = {"/optimizer/state", "/state/h", "/state/c"};
enum { N_EXTRA = sizeof EXTRA / sizeof EXTRA[0] };

static int read_all(hid_t file, const char *path, void *ctx, recur_err *err) {
    inspect_tensors *out = ctx;
    if (h5u_expect_str_attr(file, path, "/", "format", "recur-checkpoint", err)) return -1;
    h5u_name *names;
    int n;
    if (h5u_list_datasets(file, "/model", &names, &n))
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: group '/model': expected readable datasets, found an unreadable "
                          "group (damaged file?)", path);
    out->t = calloc((size_t)n + N_EXTRA, sizeof *out->t);
    if (!out->t) {
        free(names);
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: out of memory", path);
    }
    int rc = 0;
    for (int i = 0; i < n + N_EXTRA && !rc; i++) {
        const char *name = i < n ? names[i] : EXTRA[i - n];
        if (i >= n && !h5u_exists(file, name)) continue;
        if (h5u_read_numeric(file, path, name, &out->t[out->n], err)) rc = -1;
        else out->n++;
    }
    free(names);
    if (!rc) qsort(out->t, (size_t)out->n, sizeof *out->t, by_name);
    return rc;
}

int inspect_read_tensors(const char *path, inspect_tensors *out, recur_err *err) {
    out->t = NULL;
    out->n = 0;
    int rc = h5u_with_file(path, read_all, out, err);
    if (rc) inspect_tensors_free(out);
    return rc;
}

void inspect_tensors_free(inspect_tensors *ts) {
    for (int i = 0; i < ts->n; i++) free(ts->t[i].data);
    free(ts->t);
    ts->t = NULL;
    ts->n = 0;
}
