/* import_csv.c - `recur data csv` and `recur data rows`; see import_csv.h. */
#include "import_csv.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The columns a comma-separated `spec` of `flag` names: idx[0..*n). */
static int resolve_columns(const char *path, char *const *header, size_t ncol, const char *flag, const char *spec,
                           size_t **idx, int *n, recur_err *err) {
    *idx = NULL;
    *n = 0;
    char *copy = strdup(spec);
    size_t cap = 1;
    for (const char *p = spec; *p; p++) cap += *p == ',';
    *idx = malloc(cap * sizeof **idx);
    if (!copy || !*idx) {
        free(copy);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (%s)", flag);
    }
    int rc = 0;
    char *item = copy;
    for (size_t k = 0; k < cap && !rc; k++) {
        char *comma = strchr(item, ',');
        if (comma) *comma = 0;
        if (!*item)
            rc = recur_fail(err, RECUR_EXIT_USAGE, "%s: expected column names or numbers separated by ',', found '%s'", flag,
                            spec);
        else
            rc = import_csv_column(path, header, ncol, item, flag, &(*idx)[(*n)++], err);
        item = comma ? comma + 1 : item;
    }
    free(copy);
    return rc;
}

/* The current record has exactly `ncol` fields. */
static int check_width(const import_csv *c, size_t ncol, recur_err *err) {
    if (c->nfield == ncol) return 0;
    return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu: expected %zu fields (as many as the first row), found %zu", c->path,
                      c->lineno, ncol, c->nfield);
}

/* ---- csv: sliding windows over a time series ------------------------------------ */

typedef struct {
    import_file f;
    import_csv csv;
    char **header;          /* the first row's fields (copies) */
    size_t ncol;
    size_t *feat, *targ;    /* column indices [F], [K] */
    int F, K;
    import_vec x, y;        /* rows: float [F], float [K] */
    import_seqs all;
    uint8_t *split_of;
} series_work;

static void series_free(series_work *w) {
    import_file_free(&w->f);
    import_csv_free(&w->csv);
    import_free_names(w->header, w->ncol);
    free(w->feat);
    free(w->targ);
    free(w->x.data);
    free(w->y.data);
    import_seqs_free(&w->all);
    free(w->split_of);
}

/* The first record, copied: the header (csv) or the first row (rows). */
static int first_record(series_work *w, const char *what, recur_err *err) {
    int r = import_csv_next(&w->csv, err);
    if (r < 0) return -1;
    if (r == 0) return recur_fail(err, RECUR_EXIT_INPUT, "%s: expected %s, found only blank lines", w->f.path, what);
    w->header = calloc(w->csv.nfield, sizeof *w->header);
    if (!w->header) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (%s)", w->f.path);
    w->ncol = w->csv.nfield;
    for (size_t i = 0; i < w->ncol; i++)
        if (!(w->header[i] = strdup(w->csv.field[i]))) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    return 0;
}

/* Every data row: the feature and target columns as numbers into w->x, w->y. */
static int read_series(series_work *w, int take_log, recur_err *err) {
    float *xr = malloc((size_t)w->F * sizeof *xr), *yr = malloc((size_t)w->K * sizeof *yr);
    int rc = !xr || !yr ? recur_fail(err, RECUR_EXIT_FAIL, "out of memory") : 0, r;
    while (!rc && (r = import_csv_next(&w->csv, err)) != 0) {
        if (r < 0 || check_width(&w->csv, w->ncol, err)) rc = -1;
        for (int j = 0; !rc && j < w->F; j++)
            rc = import_csv_number(&w->csv, w->feat[j], w->header[w->feat[j]], &xr[j], err);
        for (int k = 0; !rc && k < w->K; k++)
            rc = import_csv_number(&w->csv, w->targ[k], w->header[w->targ[k]], &yr[k], err);
        for (int j = 0; !rc && take_log && j < w->F + w->K; j++) {
            float *v = j < w->F ? &xr[j] : &yr[j - w->F];
            const size_t col = j < w->F ? w->feat[j] : w->targ[j - w->F];
            if (!(*v > 0))
                rc = recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: column '%s': --log needs values above 0, found %g",
                                w->f.path, w->csv.lineno, col + 1, w->header[col], (double)*v);
            else *v = logf(*v);
        }
        if (!rc) rc = import_vec_push(&w->x, xr, 1, err) || import_vec_push(&w->y, yr, 1, err) ? -1 : 0;
    }
    free(xr);
    free(yr);
    return rc;
}

/* Window i of the series into w->all (see import_csv.h). */
static int push_window(const csv_options *o, series_work *w, size_t i, recur_err *err) {
    const float *x = w->x.data, *y = w->y.data;
    size_t W = (size_t)o->window, H = (size_t)o->horizon, K = (size_t)w->K, last = i + W - 1;
    float *row = malloc(K * sizeof *row);
    if (!row) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    int rc = 0;
    const size_t F = (size_t)w->F;
    float *step = malloc(F * sizeof *step);
    if (!step) rc = recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    for (size_t t = i; !rc && t <= last; t++) {
        for (size_t j = 0; j < F; j++)
            step[j] = (float)((double)x[t * F + j] - (o->relative ? (double)x[last * F + j] : 0.0));
        rc = import_vec_push(&w->all.features, step, 1, err);
    }
    free(step);
    for (size_t t = o->per_step ? i : last; !rc && t <= last; t++) {
        for (size_t k = 0; k < K; k++)
            row[k] = (float)((double)y[(t + H) * K + k] - (o->difference ? (double)y[last * K + k] : 0.0));
        rc = import_vec_push(o->per_step ? &w->all.targets : &w->all.seq_targets, row, 1, err);
    }
    if (!rc && o->difference) rc = import_vec_push(&w->all.seq_base, y + last * K, 1, err);
    free(row);
    return rc ? rc : import_seqs_end_sequence(&w->all, err);
}

int import_csv_series(const csv_options *o, seq_dataset *ds, import_stats *st, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    memset(st, 0, sizeof *st);
    series_work w = {0};
    if (import_read_file(o->path, "a header row and rows of numbers", &w.f, err)) return -1;
    import_csv_begin(&w.csv, &w.f);
    int rc = first_record(&w, "a header row", err);
    if (!rc) rc = resolve_columns(o->path, w.header, w.ncol, "--columns", o->columns, &w.feat, &w.F, err);
    if (!rc) rc = resolve_columns(o->path, w.header, w.ncol, "--target", o->target, &w.targ, &w.K, err);
    if (!rc) {
        w.x.size = (size_t)w.F * sizeof(float);
        w.y.size = (size_t)w.K * sizeof(float);
        rc = read_series(&w, o->log, err);
    }
    size_t T = w.x.len, need = (size_t)o->window + (size_t)o->horizon;
    if (!rc && T == 0)
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: expected rows of numbers after the header, found none", o->path);
    else if (!rc && T < need)
        rc = recur_fail(err, RECUR_EXIT_USAGE,
                        "--window %ld: expected the window and --horizon (%ld + %ld = %zu rows) to fit in the series, "
                        "found only %zu rows in %s",
                        o->window, o->window, o->horizon, need, T, o->path);
    size_t n = rc ? 0 : T - need + 1;
    import_seqs_init(&w.all, w.F, w.K);
    for (size_t i = 0; !rc && i < n; i++) rc = push_window(o, &w, i, err);
    if (!rc && !(w.split_of = malloc(n))) rc = recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    if (!rc) rc = import_split_chronological(o->path, n, o->val_fraction, o->test_fraction, w.split_of, err);
    if (!rc) {
        seq_split all = import_seqs_view(&w.all);
        ds->task = TASK_REGRESS;
        ds->input_size = w.F;
        ds->output_size = w.K;
        ds->per_step = o->per_step;
        ds->target_log = o->log;
        rc = import_partition(&all, w.F, w.K, w.split_of, ds, err);
    }
    if (!rc) rc = import_standardise(ds, err);
    series_free(&w);
    if (rc) seqdata_free(ds);
    return rc;
}

/* ---- rows: one sequence per row --------------------------------------------------- */

/* The label column and whether the first record is a header (import_csv.h). */
static int rows_layout(const rows_options *o, series_work *w, size_t *label, int *has_header, recur_err *err) {
    int all_numbers = 1; /* then the first row is data: there are no names to look up */
    for (size_t i = 0; i < w->ncol && all_numbers; i++) all_numbers = import_csv_is_number(w->header[i]);
    if (import_csv_column(o->path, all_numbers ? NULL : w->header, w->ncol, o->label_column, "--label-column", label,
                          err))
        return -1;
    *has_header = !import_csv_is_column_number(o->label_column); /* a name: found in the first row */
    for (size_t i = 0; i < w->ncol && !*has_header; i++) *has_header = i != *label && !import_csv_is_number(w->header[i]);
    size_t width = w->ncol - 1;
    if (width == 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: expected feature columns besides the label column, found only the label",
                          o->path);
    if (width % (size_t)o->rows)
        return recur_fail(err, RECUR_EXIT_USAGE,
                          "--rows %ld: expected the %zu columns of %s other than the label to be a multiple of %ld, found "
                          "%zu = %zu x %ld + %zu",
                          o->rows, width, o->path, o->rows, width, width / (size_t)o->rows, o->rows,
                          width % (size_t)o->rows);
    return 0;
}

/* One data record: its numbers into w->all.features, its label interned. */
static int rows_record(series_work *w, long R, size_t label, const char *const *names, import_strings *labels,
                       float *numbers, recur_err *err) {
    const import_csv *c = &w->csv;
    if (check_width(c, w->ncol, err)) return -1;
    for (size_t i = 0, j = 0; i < w->ncol; i++)
        if (i != label && import_csv_number(c, i, names[i], &numbers[j++], err)) return -1;
    const char *lab = c->field[label];
    size_t len = strlen(lab), bad = import_utf8_check(lab, len);
    if (!len)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: column '%s': expected a label, found a missing value", c->path,
                          c->at[label].line, c->at[label].col, names[label]);
    if (len > SEQ_MAX_STRING)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: column '%s': expected a label of at most %d bytes, found %zu",
                          c->path, c->at[label].line, c->at[label].col, names[label], SEQ_MAX_STRING, len);
    if (bad < len)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: column '%s': expected UTF-8 text, found the byte 0x%02X",
                          c->path, c->at[label].line, c->at[label].col + bad, names[label], (unsigned char)lab[bad]);
    int32_t id;
    if (import_strings_add(labels, lab, len, &id, err) || import_vec_push(&w->all.labels, &id, 1, err) ||
        import_vec_push(&w->all.features, numbers, (size_t)R, err))
        return -1;
    return 0;
}

/* Every data row into w->all and `labels`: the records after the first, and
 * the first too when it is not a header. */
static int rows_read(const rows_options *o, series_work *w, size_t label, int has_header, import_strings *labels,
                     recur_err *err) {
    /* Column names for messages: the header's, or the column numbers. */
    char **names = calloc(w->ncol, sizeof *names);
    float *numbers = malloc((w->ncol - 1) * sizeof *numbers);
    int rc = !names || !numbers ? recur_fail(err, RECUR_EXIT_FAIL, "out of memory") : 0, r;
    for (size_t i = 0; !rc && i < w->ncol; i++) {
        char num[32];
        snprintf(num, sizeof num, "%zu", i + 1);
        if (!(names[i] = strdup(has_header ? w->header[i] : num))) rc = recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    }
    if (!rc && !has_header) { /* read the first record again, as data */
        import_csv_free(&w->csv);
        import_csv_begin(&w->csv, &w->f);
    }
    while (!rc && (r = import_csv_next(&w->csv, err)) != 0) {
        rc = r < 0 ? -1 : rows_record(w, o->rows, label, (const char *const *)names, labels, numbers, err);
        if (!rc) rc = import_seqs_end_sequence(&w->all, err);
    }
    free(numbers);
    import_free_names(names, names ? w->ncol : 0);
    if (!rc && !import_seqs_count(&w->all))
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: expected rows of numbers after the header, found none", o->path);
    return rc;
}

int import_csv_rows(const rows_options *o, seq_dataset *ds, import_stats *st, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    memset(st, 0, sizeof *st);
    series_work w = {0};
    import_strings labels = {0};
    if (import_read_file(o->path, "rows of numbers and a label", &w.f, err)) return -1;
    import_csv_begin(&w.csv, &w.f);
    size_t label = 0;
    int has_header = 0;
    int rc = first_record(&w, "rows of numbers and a label", err);
    if (!rc) rc = rows_layout(o, &w, &label, &has_header, err);
    int F = rc ? 1 : (int)((w.ncol - 1) / (size_t)o->rows);
    import_seqs_init(&w.all, F, 0);
    if (!rc) rc = rows_read(o, &w, label, has_header, &labels, err);
    size_t n = import_seqs_count(&w.all);
    if (!rc && !(w.split_of = malloc(n))) rc = recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    if (!rc) rc = import_split_shuffled(o->path, n, o->val_fraction, o->test_fraction, o->seed, w.split_of, err);
    seq_split all = import_seqs_view(&w.all);
    if (!rc) rc = import_fit_labels(&labels, all.labels, n, ds, err);
    if (!rc) {
        ds->task = TASK_CLASSIFY;
        ds->input_size = F;
        rc = import_partition(&all, F, 0, w.split_of, ds, err);
    }
    if (!rc) rc = import_standardise(ds, err);
    import_strings_free(&labels);
    series_free(&w);
    if (rc) seqdata_free(ds);
    return rc;
}
