/* import_pairs.c - `recur data pairs`; see import_pairs.h. */
#include "import_pairs.h"

#include <stdlib.h>
#include <string.h>

#include "import_common.h"

enum { SRC = 0, TGT = 1 };
static const char *const SIDE_NAME[2] = {"source", "target"};

typedef struct {
    import_seqs side[2];        /* tokens: raw bytes, or raw word ids of words[side] (words[0] when shared) */
    import_strings words[2];
    import_strings sources;     /* group_sources: the distinct source texts */
    import_vec group;           /* int32 [pairs]: the source text's id in `sources` */
    uint8_t *split_of;          /* [pairs] */
} pairs_work;

static void work_free(pairs_work *w) {
    for (int k = 0; k < 2; k++) {
        import_seqs_free(&w->side[k]);
        import_strings_free(&w->words[k]);
    }
    import_strings_free(&w->sources);
    free(w->group.data);
    free(w->split_of);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

/* One side's text s[0..len), at column col of line ln: checked (no NUL,
 * UTF-8), then pushed as tokens (bytes, or raw ids of its words in `words`). */
static int push_side(const char *path, const import_line *ln, int side, const char *s, size_t len, int as_words,
                     import_strings *words, import_seqs *out, recur_err *err) {
    size_t col = (size_t)(s - ln->s) + 1, bad;
    const char *nul = memchr(s, 0, len);
    if (nul)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: %s: expected text, found a NUL byte", path, ln->lineno,
                          col + (size_t)(nul - s), SIDE_NAME[side]);
    if ((bad = import_utf8_check(s, len)) < len)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: %s: expected UTF-8 text, found the byte 0x%02X", path,
                          ln->lineno, col + bad, SIDE_NAME[side], (unsigned char)s[bad]);
    if (!as_words) {
        for (size_t i = 0; i < len; i++) {
            int32_t b = (unsigned char)s[i];
            if (import_vec_push(&out->tokens, &b, 1, err)) return -1;
        }
        return import_seqs_end_sequence(out, err);
    }
    size_t count = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && is_space(s[i])) i++;
        size_t start = i;
        while (i < len && !is_space(s[i])) i++;
        if (i == start) break;
        if (i - start > SEQ_MAX_STRING)
            return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: %s: expected words of at most %d bytes, found %zu",
                              path, ln->lineno, col + start, SIDE_NAME[side], SEQ_MAX_STRING, i - start);
        int32_t id;
        if (import_strings_add(words, s + start, i - start, &id, err) || import_vec_push(&out->tokens, &id, 1, err))
            return -1;
        count++;
    }
    if (!count)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: %s: expected at least one word, found only whitespace",
                          path, ln->lineno, col, SIDE_NAME[side]);
    return import_seqs_end_sequence(out, err);
}

/* The source and target of a line: 1, 0 for a blank line, -1 with err. */
static int split_line(const char *path, const import_line *ln, const char **src, size_t *slen, const char **tgt,
                      size_t *tlen, recur_err *err) {
    const char *tab = memchr(ln->s, '\t', ln->len);
    char shown[128];
    if (!tab) {
        const char *s = ln->s;
        size_t len = ln->len;
        import_trim(&s, &len);
        if (!len) return 0;
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu: expected source<TAB>target, found no tab in '%s'", path,
                          ln->lineno, import_preview(s, len, shown, sizeof shown));
    }
    const char *second = memchr(tab + 1, '\t', ln->len - (size_t)(tab + 1 - ln->s));
    if (second)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: expected one tab (source<TAB>target), found a second tab",
                          path, ln->lineno, (size_t)(second - ln->s) + 1);
    *src = ln->s, *slen = (size_t)(tab - ln->s);
    *tgt = tab + 1, *tlen = ln->len - *slen - 1;
    import_trim(src, slen);
    import_trim(tgt, tlen);
    if (!*slen)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu: source: expected text before the tab, found an empty source",
                          path, ln->lineno);
    if (!*tlen)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: target: expected text after the tab, found nothing", path,
                          ln->lineno, (size_t)(tab - ln->s) + 2);
    return 1;
}

/* Reads every line into w (raw tokens per side, the source's group). */
static int read_lines(const pairs_options *o, const import_file *f, pairs_work *w, pairs_stats *st, recur_err *err) {
    const int as_words[2] = {o->src_words, o->tgt_words};
    import_lines it;
    import_line ln;
    import_lines_begin(&it, f);
    int rc = 0;
    while (!rc && import_lines_next(&it, &ln)) {
        const char *text[2];
        size_t len[2];
        int kind = split_line(f->path, &ln, &text[SRC], &len[SRC], &text[TGT], &len[TGT], err);
        if (kind <= 0) {
            st->blank += kind == 0;
            rc = kind;
            continue;
        }
        for (int k = SRC; k <= TGT && !rc; k++)
            rc = push_side(f->path, &ln, k, text[k], len[k], as_words[k], &w->words[o->shared ? 0 : k], &w->side[k],
                           err);
        int32_t g;
        if (!rc && o->group_sources &&
            (import_strings_add(&w->sources, text[SRC], len[SRC], &g, err) || import_vec_push(&w->group, &g, 1, err)))
            rc = -1;
    }
    if (!rc && !import_seqs_count(&w->side[SRC]))
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: expected source<TAB>target lines, found only blank lines", f->path);
    return rc;
}

/* The split of every pair: shuffled over the pairs, or over the distinct
 * sources with every pair following its source. */
static int assign_splits(const pairs_options *o, pairs_work *w, size_t n, pairs_stats *st, recur_err *err) {
    if (!(w->split_of = malloc(n))) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (%s)", o->path);
    if (!o->group_sources)
        return import_split_shuffled(o->path, n, o->val_fraction, o->test_fraction, o->seed, w->split_of, err);
    size_t groups = w->sources.n;
    uint8_t *of_group = malloc(groups);
    if (!of_group) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (%s)", o->path);
    int rc = import_split_shuffled(o->path, groups, o->val_fraction, o->test_fraction, o->seed, of_group, err);
    const int32_t *g = w->group.data;
    for (size_t i = 0; !rc && i < n; i++) w->split_of[i] = of_group[g[i]];
    free(of_group);
    st->sources = groups;
    for (size_t k = 0; k < groups; k++) st->repeated += w->sources.count[k] > 1;
    return rc;
}

/* Characters: the distinct bytes of the sides in `sides` (one, or both when
 * shared) in increasing order; their tokens become ids. */
static int char_vocab(import_seqs *const sides[], int nsides, pair_vocab *v, recur_err *err) {
    int seen[256] = {0}, id_of[256];
    for (int k = 0; k < nsides; k++)
        for (size_t t = 0; t < sides[k]->tokens.len; t++) seen[((int32_t *)sides[k]->tokens.data)[t]] = 1;
    if (!(v->chars = malloc(256))) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (vocabulary)");
    for (int b = 0; b < 256; b++)
        if (seen[b]) id_of[b] = v->size, v->chars[v->size++] = (uint8_t)b;
    for (int k = 0; k < nsides; k++)
        for (size_t t = 0; t < sides[k]->tokens.len; t++) {
            int32_t *tok = &((int32_t *)sides[k]->tokens.data)[t];
            *tok = id_of[*tok];
        }
    return 0;
}

/* Words: the table's strings in order of first appearance, so the raw ids
 * are the ids; copied. */
static int word_vocab(const char *path, const import_strings *t, const char *which, pair_vocab *v, recur_err *err) {
    if (t->n > SEQ_MAX_VOCAB)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: expected at most %d distinct %s words, found %zu", path,
                          SEQ_MAX_VOCAB, which, t->n);
    if (!(v->words = calloc(t->n, sizeof *v->words))) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (vocabulary)");
    v->size = (int)t->n;
    for (size_t i = 0; i < t->n; i++)
        if (!(v->words[i] = strdup(t->str[i]))) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (vocabulary)");
    return pair_vocab_index(v, err);
}

static int build_vocabs(const pairs_options *o, pairs_work *w, pair_dataset *ds, recur_err *err) {
    import_seqs *both[2] = {&w->side[SRC], &w->side[TGT]};
    pair_vocab *v[2] = {&ds->src, &ds->tgt};
    const int as_words[2] = {o->src_words, o->tgt_words};
    ds->shared = o->shared;
    for (int k = SRC; k <= TGT; k++) {
        int rc;
        if (as_words[k]) rc = word_vocab(o->path, &w->words[o->shared ? 0 : k], o->shared ? "shared" : SIDE_NAME[k], v[k], err);
        else if (o->shared && k == TGT) rc = 0; /* the shared bytes were mapped with the source's */
        else rc = char_vocab(o->shared ? both : &both[k], o->shared ? 2 : 1, v[k], err);
        if (rc) return -1;
    }
    if (o->shared && !o->tgt_words) {
        if (!(ds->tgt.chars = malloc((size_t)ds->src.size)))
            return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (vocabulary)");
        memcpy(ds->tgt.chars, ds->src.chars, (size_t)ds->src.size);
        ds->tgt.size = ds->src.size;
    }
    return 0;
}

/* Cuts each side into the splits (import_partition), moving the arrays into ds. */
static int partition(const pairs_work *w, pair_dataset *ds, recur_err *err) {
    for (int k = SRC; k <= TGT; k++) {
        seq_split all = import_seqs_view(&w->side[k]);
        seq_dataset cut;
        memset(&cut, 0, sizeof cut);
        if (import_partition(&all, 0, 0, w->split_of, &cut, err)) {
            seqdata_free(&cut);
            return -1;
        }
        for (int s = 0; s < SPLIT_COUNT; s++) {
            seq_split *c = &cut.split[s];
            pair_split *p = &ds->split[s];
            p->present = c->present;
            p->n = c->n;
            if (k == SRC) p->src_offsets = c->offsets, p->src_tokens = c->tokens, p->src_total = c->total;
            else p->tgt_offsets = c->offsets, p->tgt_tokens = c->tokens, p->tgt_total = c->total;
            c->offsets = NULL;
            c->tokens = NULL;
        }
        seqdata_free(&cut);
    }
    return 0;
}

int import_pairs(const pairs_options *o, pair_dataset *ds, pairs_stats *st, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    memset(st, 0, sizeof *st);
    if (o->shared && o->src_words != o->tgt_words)
        return recur_fail(err, RECUR_EXIT_USAGE, "--shared-vocab: expected the same token kind on both sides, found "
                          "source %s and target %s", o->src_words ? "words" : "chars", o->tgt_words ? "words" : "chars");
    import_file f;
    if (import_read_file(o->path, "source<TAB>target lines", &f, err)) return -1;
    pairs_work w;
    memset(&w, 0, sizeof w);
    import_seqs_init(&w.side[SRC], 0, 0);
    import_seqs_init(&w.side[TGT], 0, 0);
    w.group.size = sizeof(int32_t);
    int rc = read_lines(o, &f, &w, st, err);
    if (!rc) rc = assign_splits(o, &w, import_seqs_count(&w.side[SRC]), st, err);
    if (!rc) rc = build_vocabs(o, &w, ds, err);
    if (!rc) rc = partition(&w, ds, err);
    work_free(&w);
    import_file_free(&f);
    if (rc) pairdata_free(ds);
    return rc;
}
