/* import_conllu.c - `recur data conllu`; see import_conllu.h. */
#include "import_conllu.h"

#include <stdlib.h>
#include <string.h>

#define CONLLU_COLUMNS 10
enum { COL_ID = 0, COL_FORM = 1 };

int conllu_column_index(const char *name) {
    return !strcmp(name, "upos") ? 3 : !strcmp(name, "xpos") ? 4 : !strcmp(name, "deprel") ? 7 : -1;
}

static const char *column_name(int c) {
    static const char *const names[CONLLU_COLUMNS] = {"ID",    "FORM", "LEMMA",  "UPOS", "XPOS",
                                                      "FEATS", "HEAD", "DEPREL", "DEPS", "MISC"};
    return names[c];
}

typedef struct {
    import_seqs all;          /* tokens: raw form ids, step_labels: raw tag ids */
    import_strings forms, tags;
    import_vec split_of;      /* uint8 per sequence */
} conllu_work;

/* The columns of a word line; 0 or an error naming the line. */
static int split_columns(const char *path, const import_line *ln, const char *col[CONLLU_COLUMNS],
                         size_t len[CONLLU_COLUMNS], recur_err *err) {
    const char *p = ln->s, *end = ln->s + ln->len;
    int n = 0;
    for (;;) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *stop = tab ? tab : end;
        if (n < CONLLU_COLUMNS) col[n] = p, len[n] = (size_t)(stop - p);
        n++;
        if (!tab) break;
        p = tab + 1;
    }
    if (n != CONLLU_COLUMNS)
        return recur_fail(err, RECUR_EXIT_INPUT,
                          "%s:%zu: expected 10 tab-separated columns (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC), "
                          "found %d",
                          path, ln->lineno, n);
    return 0;
}

/* A non-empty UTF-8 value of column c. */
static int check_value(const char *path, const import_line *ln, const char *s, size_t len, int c, recur_err *err) {
    size_t col = (size_t)(s - ln->s) + 1, bad;
    if (!len)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: %s: expected a value (or '_'), found an empty column", path,
                          ln->lineno, col, column_name(c));
    if (len > SEQ_MAX_STRING)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: %s: expected at most %d bytes, found %zu", path, ln->lineno,
                          col, column_name(c), SEQ_MAX_STRING, len);
    if ((bad = import_utf8_check(s, len)) < len)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: %s: expected UTF-8 text, found the byte 0x%02X", path,
                          ln->lineno, col + bad, column_name(c), (unsigned char)s[bad]);
    return 0;
}

/* 1: a word line to keep, 0: a multiword token or empty node, -1: a bad ID. */
static int word_id(const char *path, const import_line *ln, const char *id, size_t len, recur_err *err) {
    if (memchr(id, '-', len) || memchr(id, '.', len)) return 0;
    int ok = len > 0 && len < 10 && id[0] != '0';
    for (size_t i = 0; ok && i < len; i++) ok = id[i] >= '0' && id[i] <= '9';
    if (ok) return 1;
    char shown[128];
    return recur_fail(err, RECUR_EXIT_INPUT,
                      "%s:%zu:1: ID: expected a word index (1, 2, ...), a range (3-4) or an empty node (8.1), found '%s'",
                      path, ln->lineno, import_preview(id, len, shown, sizeof shown));
}

/* Appends every sentence of `path` to w with split `split`. */
static int read_file(const char *path, const conllu_options *o, uint8_t split, conllu_work *w, recur_err *err) {
    import_file f;
    if (import_read_file(path, "CoNLL-U sentences", &f, err)) return -1;
    import_lines it;
    import_line ln;
    import_lines_begin(&it, &f);
    size_t open_words = 0, before = import_seqs_count(&w->all);
    int rc = 0, more;
    do {
        more = import_lines_next(&it, &ln);
        const char *s = ln.s;
        size_t len = ln.len;
        if (more) import_trim(&s, &len);
        if (!more || !len) { /* the end of a sentence */
            if (open_words && !(rc = import_seqs_end_sequence(&w->all, err)))
                rc = import_vec_push(&w->split_of, &split, 1, err);
            open_words = 0;
            continue;
        }
        if (s[0] == '#') continue;
        const char *col[CONLLU_COLUMNS];
        size_t clen[CONLLU_COLUMNS];
        int keep;
        if ((rc = split_columns(path, &ln, col, clen, err))) break;
        if ((keep = word_id(path, &ln, col[COL_ID], clen[COL_ID], err)) < 0) rc = -1;
        if (keep <= 0) continue;
        int32_t form, tag;
        if (check_value(path, &ln, col[COL_FORM], clen[COL_FORM], COL_FORM, err) ||
            check_value(path, &ln, col[o->column], clen[o->column], o->column, err) ||
            import_strings_add(&w->forms, col[COL_FORM], clen[COL_FORM], &form, err) ||
            import_strings_add(&w->tags, col[o->column], clen[o->column], &tag, err) ||
            import_vec_push(&w->all.tokens, &form, 1, err) || import_vec_push(&w->all.step_labels, &tag, 1, err))
            rc = -1;
        open_words++;
    } while (more && !rc);
    if (!rc && import_seqs_count(&w->all) == before)
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: expected CoNLL-U sentences, found no word lines", path);
    import_file_free(&f);
    return rc;
}

int import_conllu(const conllu_options *o, seq_dataset *ds, import_stats *st, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    memset(st, 0, sizeof *st);
    st->min_count = o->min_count;
    conllu_work w = {0};
    import_seqs_init(&w.all, 0, 0);
    w.split_of.size = 1;
    int rc = 0;
    for (int s = 0; s < SPLIT_COUNT && !rc; s++) {
        const char *path = o->path ? (s == SPLIT_TRAIN ? o->path : NULL) : o->split_path[s];
        if (path) rc = read_file(path, o, (uint8_t)s, &w, err);
    }
    seq_split all = import_seqs_view(&w.all);
    uint8_t *split_of = w.split_of.data;
    if (!rc && o->path)
        rc = import_split_shuffled(o->path, all.n, o->val_fraction, o->test_fraction, o->seed, split_of, err);
    if (!rc) rc = import_fit_words(&w.forms, &all, split_of, o->min_count, ds, st->unknown, err);
    if (!rc) rc = import_fit_labels(&w.tags, all.step_labels, all.total, ds, err);
    if (!rc) {
        ds->task = TASK_TAG;
        ds->per_step = 1;
        rc = import_partition(&all, 0, 0, split_of, ds, err);
    }
    import_seqs_free(&w.all);
    import_strings_free(&w.forms);
    import_strings_free(&w.tags);
    free(w.split_of.data);
    if (rc) seqdata_free(ds);
    return rc;
}
