/* import_conllu.c - `recur data conllu`; see import_conllu.h. */
#include "import_conllu.h"

#include <stdlib.h>
#include <string.h>

#include "import_trees.h"

#define CONLLU_COLUMNS 10
enum { COL_ID = 0, COL_FORM = 1, COL_HEAD = 6 };

int conllu_column_index(const char *name) {
    return !strcmp(name, "upos") ? 3 : !strcmp(name, "xpos") ? 4 : !strcmp(name, "deprel") ? 7 : -1;
}

static const char *column_name(int c) {
    static const char *const names[CONLLU_COLUMNS] = {"ID",    "FORM", "LEMMA",  "UPOS", "XPOS",
                                                      "FEATS", "HEAD", "DEPREL", "DEPS", "MISC"};
    return names[c];
}

typedef struct {
    import_seqs all;          /* tokens: raw form ids, step_labels: raw tag ids, labels: raw genre ids (trees) */
    import_strings forms, tags, genres;
    import_vec split_of;      /* uint8 per sequence */
    /* --trees */
    import_vec heads;         /* int32 per word: its HEAD (0: the root) */
    import_vec line_of;       /* size_t per word of the open sentence: its line, for messages */
    import_vec co, children, scratch; /* the open sentence's tree, for tree_shape */
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

/* HEAD (trees): a word index, 0 for the root; its range is checked when the
 * sentence ends (word_heads_check). */
static int parse_head(const char *path, const import_line *ln, const char *h, size_t len, int32_t *out,
                      recur_err *err) {
    int ok = len > 0 && len < 10 && (h[0] != '0' || len == 1);
    int32_t v = 0;
    for (size_t i = 0; ok && i < len; i++) {
        ok = h[i] >= '0' && h[i] <= '9';
        v = v * 10 + (h[i] - '0');
    }
    char shown[128];
    if (!ok)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: HEAD: expected a word index (0 for the root), found '%s'",
                          path, ln->lineno, (size_t)(h - ln->s) + 1, import_preview(h, len, shown, sizeof shown));
    *out = v;
    return 0;
}

/* The genre of a "# sent_id = weblog-...-0001" comment (the id up to its
 * first '-'): 1 with *g, *glen; 0 when the comment is another one. */
static int sent_id_genre(const char *s, size_t len, const char **g, size_t *glen) {
    static const char KEY[] = "sent_id";
    const char *p = s + 1, *end = s + len; /* after '#' */
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if ((size_t)(end - p) < sizeof KEY - 1 || memcmp(p, KEY, sizeof KEY - 1)) return 0;
    p += sizeof KEY - 1;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p == end || *p != '=') return 0;
    p++;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    const char *dash = memchr(p, '-', (size_t)(end - p));
    *g = p;
    *glen = (size_t)((dash ? dash : end) - p);
    return 1;
}

/* The sentence just read (its m words' heads pushed last, their lines in
 * w->line_of) as a tree: every HEAD in 0..m, one root, no cycle; the error
 * names the line of the word at fault. */
static int check_sentence_tree(const char *path, conllu_work *w, recur_err *err) {
    size_t m = w->line_of.len;
    const size_t *line = w->line_of.data;
    const int32_t *head = (const int32_t *)w->heads.data + (w->heads.len - m);
    for (size_t k = 0; k < m; k++)
        if ((size_t)head[k] > m)
            return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu: HEAD: expected a word of the sentence (1 .. %zu) or 0 "
                              "(the root), found %d", path, line[k], m, (int)head[k]);
    w->co.len = w->children.len = w->scratch.len = 0;
    if (import_vec_push(&w->co, NULL, m + 1, err) || import_vec_push(&w->children, NULL, m, err) ||
        import_vec_push(&w->scratch, NULL, 2 * m, err))
        return -1;
    import_tree_from_heads(head, m, 0, w->co.data, w->children.data);
    tree_verdict v = tree_shape(w->co.data, w->children.data, m, w->scratch.data);
    if (v.fault == TREE_TWO_ROOTS)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu: HEAD: expected one root (HEAD 0) per sentence, found a "
                          "second (the first: word %d, line %zu)", path, line[v.node], (int)v.other + 1,
                          line[v.other]);
    if (v.fault == TREE_NO_ROOT)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu: HEAD: expected a root (a word with HEAD 0) in the sentence "
                          "of lines %zu-%zu, found none (its heads form a cycle)", path, line[0], line[0], line[m - 1]);
    if (v.fault)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu: HEAD: expected a tree under the root (word %d), found word "
                          "%zu not below it (a cycle of heads)", path, line[v.node], (int)v.root + 1, v.node + 1);
    return 0;
}

/* Appends every sentence of `path` to w with split `split`. */
static int read_file(const char *path, const conllu_options *o, uint8_t split, conllu_work *w, recur_err *err) {
    import_file f;
    if (import_read_file(path, "CoNLL-U sentences", &f, err)) return -1;
    import_lines it;
    import_line ln;
    import_lines_begin(&it, &f);
    size_t open_words = 0, before = import_seqs_count(&w->all), genre_line = 0;
    const char *genre = NULL;
    size_t genre_len = 0;
    int rc = 0, more;
    do {
        more = import_lines_next(&it, &ln);
        const char *s = ln.s;
        size_t len = ln.len;
        if (more) import_trim(&s, &len);
        if (!more || !len) { /* the end of a sentence */
            if (open_words && o->trees) rc = check_sentence_tree(path, w, err);
            if (open_words && !rc && o->root_genre) {
                int32_t g;
                size_t first = ((const size_t *)w->line_of.data)[0], bad;
                char shown[128];
                if (!genre)
                    rc = recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu: expected a '# sent_id = GENRE-...' comment before "
                                    "the sentence (--root-label genre), found none", path, first);
                else if (!genre_len || genre_len > SEQ_MAX_STRING)
                    rc = recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu: sent_id: expected a genre of 1 to %d bytes before "
                                    "the first '-', found '%s'", path, genre_line, SEQ_MAX_STRING,
                                    import_preview(genre, genre_len, shown, sizeof shown));
                else if ((bad = import_utf8_check(genre, genre_len)) < genre_len)
                    rc = recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu: sent_id: expected UTF-8 text, found the byte 0x%02X",
                                    path, genre_line, (unsigned char)genre[bad]);
                else if (!(rc = import_strings_add(&w->genres, genre, genre_len, &g, err)))
                    rc = import_vec_push(&w->all.labels, &g, 1, err);
            }
            if (open_words && !rc && !(rc = import_seqs_end_sequence(&w->all, err)))
                rc = import_vec_push(&w->split_of, &split, 1, err);
            open_words = 0;
            w->line_of.len = 0;
            genre = NULL;
            continue;
        }
        if (s[0] == '#') {
            const char *g;
            size_t glen;
            if (!open_words && sent_id_genre(s, len, &g, &glen)) genre = g, genre_len = glen, genre_line = ln.lineno;
            continue;
        }
        const char *col[CONLLU_COLUMNS];
        size_t clen[CONLLU_COLUMNS];
        int keep;
        if ((rc = split_columns(path, &ln, col, clen, err))) break;
        if ((keep = word_id(path, &ln, col[COL_ID], clen[COL_ID], err)) < 0) rc = -1;
        if (keep <= 0) continue;
        int32_t form, tag, head;
        if (o->trees && (size_t)atoi(col[COL_ID]) != open_words + 1) {
            rc = recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:1: ID: expected %zu (the words of a sentence are numbered 1, "
                            "2, ... for HEAD to name them), found %d", path, ln.lineno, open_words + 1, atoi(col[COL_ID]));
            break;
        }
        if (check_value(path, &ln, col[COL_FORM], clen[COL_FORM], COL_FORM, err) ||
            (o->column >= 0 && check_value(path, &ln, col[o->column], clen[o->column], o->column, err)) ||
            import_strings_add(&w->forms, col[COL_FORM], clen[COL_FORM], &form, err) ||
            (o->column >= 0 && (import_strings_add(&w->tags, col[o->column], clen[o->column], &tag, err) ||
                                import_vec_push(&w->all.step_labels, &tag, 1, err))) ||
            import_vec_push(&w->all.tokens, &form, 1, err) ||
            (o->trees && (parse_head(path, &ln, col[COL_HEAD], clen[COL_HEAD], &head, err) ||
                          import_vec_push(&w->heads, &head, 1, err))) ||
            import_vec_push(&w->line_of, &ln.lineno, 1, err))
            rc = -1;
        open_words++;
    } while (more && !rc);
    if (!rc && import_seqs_count(&w->all) == before)
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: expected CoNLL-U sentences, found no word lines", path);
    import_file_free(&f);
    return rc;
}

static void work_free(conllu_work *w) {
    import_seqs_free(&w->all);
    import_strings_free(&w->forms);
    import_strings_free(&w->tags);
    import_strings_free(&w->genres);
    import_vec *v[] = {&w->split_of, &w->heads, &w->line_of, &w->co, &w->children, &w->scratch};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) free(v[i]->data);
}

/* Reads every file of o into w, gives each sentence its split and fits the
 * vocabulary (on train) and the tags into ds; what both importers share.
 * *all views w->all with the tokens as vocabulary ids and the tags (and
 * genres) as label ids. */
static int gather(const conllu_options *o, conllu_work *w, seq_split *all, seq_dataset *ds, import_stats *st,
                  recur_err *err) {
    memset(ds, 0, sizeof *ds);
    memset(st, 0, sizeof *st);
    st->min_count = o->min_count;
    import_seqs_init(&w->all, 0, 0);
    w->split_of.size = 1;
    w->heads.size = w->children.size = w->scratch.size = sizeof(int32_t);
    w->line_of.size = sizeof(size_t);
    w->co.size = sizeof(int64_t);
    int rc = 0;
    for (int s = 0; s < SPLIT_COUNT && !rc; s++) {
        const char *path = o->path ? (s == SPLIT_TRAIN ? o->path : NULL) : o->split_path[s];
        if (path) rc = read_file(path, o, (uint8_t)s, w, err);
    }
    *all = import_seqs_view(&w->all);
    if (!rc && o->path)
        rc = import_split_shuffled(o->path, all->n, o->val_fraction, o->test_fraction, o->seed, w->split_of.data, err);
    if (!rc) rc = import_fit_words(&w->forms, all, w->split_of.data, o->min_count, ds, st->unknown, err);
    if (!rc && o->column >= 0) rc = import_fit_labels(&w->tags, all->step_labels, all->total, ds, err);
    return rc;
}

int import_conllu(const conllu_options *o, seq_dataset *ds, import_stats *st, recur_err *err) {
    conllu_work w = {0};
    seq_split all;
    int rc = gather(o, &w, &all, ds, st, err);
    if (!rc) {
        ds->task = TASK_TAG;
        ds->per_step = 1;
        rc = import_partition(&all, 0, 0, w.split_of.data, ds, err);
    }
    work_free(&w);
    if (rc) seqdata_free(ds);
    return rc;
}

/* Split s's trees: the sentences split_of puts there, in input order. */
static int build_split(const seq_split *all, const int32_t *heads, const uint8_t *split_of, int s, tree_split *t,
                       recur_err *err) {
    size_t n = 0, nodes = 0;
    for (size_t i = 0; i < all->n; i++)
        if (split_of[i] == s) n++, nodes += seq_length(all, i);
    if (!n) return 0;
    if (import_tree_split_alloc(t, n, nodes, nodes - n, all->step_labels != NULL, all->labels != NULL, err)) return -1;
    size_t k = 0, node = 0;
    t->tree_offsets[0] = 0;
    for (size_t i = 0; i < all->n; i++) {
        if (split_of[i] != s) continue;
        size_t first = (size_t)all->offsets[i], m = seq_length(all, i);
        /* a checked tree has m - 1 edges: those before it number node - k */
        import_tree_from_heads(heads + first, m, (int64_t)(node - k), t->child_offsets + node, t->children);
        memcpy(t->tokens + node, all->tokens + first, m * sizeof *t->tokens);
        if (t->node_labels) memcpy(t->node_labels + node, all->step_labels + first, m * sizeof *t->node_labels);
        if (t->root_labels) t->root_labels[k] = all->labels[i];
        node += m;
        t->tree_offsets[++k] = (int64_t)node;
    }
    t->child_offsets[nodes] = (int64_t)(nodes - n);
    return 0;
}

int import_conllu_trees(const conllu_options *o, tree_dataset *ds, import_stats *st, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    conllu_work w = {0};
    seq_split all;
    seq_dataset seq, genres = {0};
    int rc = gather(o, &w, &all, &seq, st, err);
    if (!rc && o->root_genre) rc = import_fit_labels(&w.genres, all.labels, all.n, &genres, err);
    for (int s = 0; s < SPLIT_COUNT && !rc; s++)
        rc = build_split(&all, w.heads.data, w.split_of.data, s, &ds->split[s], err);
    /* The vocabulary and the names move into the tree dataset. */
    ds->vocab_words = seq.vocab_words, ds->vocab_size = seq.vocab_size;
    ds->node_label_names = seq.label_names, ds->num_node_classes = seq.num_classes;
    ds->root_label_names = genres.label_names, ds->num_root_classes = genres.num_classes;
    seq.vocab_words = seq.label_names = genres.label_names = NULL;
    seqdata_free(&seq);
    seqdata_free(&genres);
    work_free(&w);
    if (rc) treedata_free(ds);
    return rc;
}
