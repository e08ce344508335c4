/* import_text.c - `recur data labeled-text`; see import_text.h. */
#include "import_text.h"

#include <stdlib.h>
#include <string.h>

#define SUB_BYTE 0x1A /* ASCII "substitute": a char not in the train split's vocabulary */

/* Length of the separator (see import_text.h) that starts s[0..len), 0
 * when s starts a word character: ASCII controls, space and punctuation,
 * U+0080-U+00BF (C2 80..C2 BF) and U+2000-U+206F (E2 80 80..E2 81 AF). */
static size_t separator_len(const unsigned char *s, size_t len) {
    if (s[0] < 0x80) return s[0] <= ' ' || s[0] == 0x7F || strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", s[0]) ? 1 : 0;
    if (len >= 2 && s[0] == 0xC2 && s[1] <= 0xBF) return 2;
    if (len >= 3 && s[0] == 0xE2 && (s[1] == 0x80 || (s[1] == 0x81 && s[2] <= 0xAF))) return 3;
    return 0;
}

/* Length of the UTF-8 character starting at s (valid UTF-8 assumed). */
static size_t char_len(unsigned char c) {
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Pushes the raw ids of the words of s[0..len) (interned in `words`) to
 * `tokens`, lower-casing ASCII letters; *count says how many.  `ln` names the
 * line in messages. */
static int push_words(const char *path, const import_line *ln, const char *s, size_t len, import_strings *words,
                      import_vec *tokens, char *scratch, size_t *count, recur_err *err) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, w = 0, sep = 0;
    *count = 0;
    while (i <= len) {
        if (i == len || (sep = separator_len(u + i, len - i)) > 0) {
            if (w > SEQ_MAX_STRING)
                return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: sentence: expected words of at most %d bytes, found %zu",
                                  path, ln->lineno, (size_t)(s - ln->s) + i - w + 1, SEQ_MAX_STRING, w);
            if (w) {
                int32_t id;
                if (import_strings_add(words, scratch, w, &id, err) || import_vec_push(tokens, &id, 1, err)) return -1;
                (*count)++;
                w = 0;
            }
            i += i == len ? 1 : sep;
            continue;
        }
        size_t n = char_len(u[i]);
        for (size_t k = 0; k < n; k++) scratch[w++] = (char)(u[i + k] >= 'A' && u[i + k] <= 'Z' ? u[i + k] + 32 : u[i + k]);
        i += n;
    }
    return 0;
}

typedef struct {
    import_seqs all;                /* tokens: raw word ids or bytes; labels: raw label ids */
    import_strings labels, words;
    uint8_t *split_of;
} text_work;

static void work_free(text_work *w) {
    import_seqs_free(&w->all);
    import_strings_free(&w->labels);
    import_strings_free(&w->words);
    free(w->split_of);
}

/* The sentence and label of a line (see import_text.h): 1, or 0 for a
 * blank line, or -1 with err naming the line and column. */
static int split_line(const char *path, const import_line *ln, int words, const char **sent, size_t *slen,
                      const char **label, size_t *llen, recur_err *err) {
    const char *s = ln->s;
    size_t len = ln->len, bad;
    import_trim(&s, &len);
    if (!len) return 0;
    const char *tab = memrchr(ln->s, '\t', ln->len);
    char shown[128];
    if (!tab)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu: expected sentence<TAB>label, found no tab in '%s'", path,
                          ln->lineno, import_preview(s, len, shown, sizeof shown));
    *sent = ln->s, *slen = (size_t)(tab - ln->s);
    *label = tab + 1, *llen = ln->len - *slen - 1;
    import_trim(sent, slen);
    import_trim(label, llen);
    size_t lcol = (size_t)(*label - ln->s) + 1, scol = (size_t)(*sent - ln->s) + 1;
    if (!*slen)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu: sentence: expected text before the tab, found an empty sentence",
                          path, ln->lineno);
    if (!*llen)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: label: expected a label after the tab, found nothing", path,
                          ln->lineno, (size_t)(tab - ln->s) + 2);
    if (*llen > SEQ_MAX_STRING)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: label: expected at most %d bytes, found %zu", path,
                          ln->lineno, lcol, SEQ_MAX_STRING, *llen);
    if ((bad = import_utf8_check(*label, *llen)) < *llen)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: label: expected UTF-8 text, found the byte 0x%02X", path,
                          ln->lineno, lcol + bad, (unsigned char)(*label)[bad]);
    if (words && (bad = import_utf8_check(*sent, *slen)) < *slen)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: sentence: expected UTF-8 text, found the byte 0x%02X", path,
                          ln->lineno, scol + bad, (unsigned char)(*sent)[bad]);
    return 1;
}

/* Reads every line into w->all (raw word ids or bytes, raw label ids). */
static int read_lines(const labeled_text_options *o, const import_file *f, text_work *w, recur_err *err) {
    char *scratch = malloc(f->len + 1);
    if (!scratch) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (%s)", f->path);
    import_lines it;
    import_line ln;
    import_lines_begin(&it, f);
    int rc = 0;
    while (!rc && import_lines_next(&it, &ln)) {
        const char *sent, *label;
        size_t slen, llen, n = 0;
        int kind = split_line(f->path, &ln, o->words, &sent, &slen, &label, &llen, err);
        if (kind <= 0) {
            rc = kind;
            continue;
        }
        int32_t lab;
        if (import_strings_add(&w->labels, label, llen, &lab, err) || import_vec_push(&w->all.labels, &lab, 1, err))
            rc = -1;
        else if (o->words)
            rc = push_words(f->path, &ln, sent, slen, &w->words, &w->all.tokens, scratch, &n, err);
        for (size_t i = 0; !o->words && !rc && i < slen; i++) {
            int32_t b = (unsigned char)sent[i];
            rc = import_vec_push(&w->all.tokens, &b, 1, err);
        }
        char shown[128];
        if (!rc && o->words && !n)
            rc = recur_fail(err, RECUR_EXIT_INPUT,
                            "%s:%zu: sentence: expected at least one word, found only spaces and punctuation in '%s'",
                            f->path, ln.lineno, import_preview(sent, slen, shown, sizeof shown));
        if (!rc) rc = import_seqs_end_sequence(&w->all, err);
    }
    free(scratch);
    if (!rc && !import_seqs_count(&w->all))
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: expected sentence<TAB>label lines, found only blank lines", f->path);
    return rc;
}

/* chars: the train split's bytes, SUB for the others. */
static int byte_vocab(seq_split *all, const uint8_t *split_of, seq_dataset *ds, import_stats *st, recur_err *err) {
    int seen[256] = {0}, id_of[256];
    for (size_t i = 0; i < all->n; i++)
        for (int64_t t = all->offsets[i]; split_of[i] == SPLIT_TRAIN && t < all->offsets[i + 1]; t++)
            seen[all->tokens[t]] = 1;
    for (size_t i = 0; i < all->n; i++)
        for (int64_t t = all->offsets[i]; split_of[i] != SPLIT_TRAIN && t < all->offsets[i + 1]; t++)
            if (!seen[all->tokens[t]]) {
                st->unknown[split_of[i]]++;
                all->tokens[t] = SUB_BYTE;
            }
    if (st->unknown[SPLIT_VAL] || st->unknown[SPLIT_TEST]) seen[SUB_BYTE] = 1;
    if (!(ds->vocab = malloc(256))) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (vocabulary)");
    for (int b = 0; b < 256; b++)
        if (seen[b]) id_of[b] = ds->vocab_size, ds->vocab[ds->vocab_size++] = (uint8_t)b;
    for (size_t t = 0; t < all->total; t++) all->tokens[t] = id_of[all->tokens[t]];
    return 0;
}

int import_labeled_text(const labeled_text_options *o, seq_dataset *ds, import_stats *st, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    memset(st, 0, sizeof *st);
    st->chars = !o->words;
    st->min_count = o->min_count;
    import_file f;
    if (import_read_file(o->path, "sentence<TAB>label lines", &f, err)) return -1;
    text_work w = {0};
    import_seqs_init(&w.all, 0, 0);
    int rc = read_lines(o, &f, &w, err);
    seq_split all = import_seqs_view(&w.all);
    if (!rc && !(w.split_of = malloc(all.n))) rc = recur_fail(err, RECUR_EXIT_FAIL, "out of memory (%s)", o->path);
    if (!rc) rc = import_split_shuffled(o->path, all.n, o->val_fraction, o->test_fraction, o->seed, w.split_of, err);
    if (!rc)
        rc = o->words ? import_fit_words(&w.words, &all, w.split_of, o->min_count, ds, st->unknown, err)
                      : byte_vocab(&all, w.split_of, ds, st, err);
    if (!rc) rc = import_fit_labels(&w.labels, all.labels, all.n, ds, err);
    if (!rc) {
        ds->task = TASK_CLASSIFY;
        rc = import_partition(&all, 0, 0, w.split_of, ds, err);
    }
    work_free(&w);
    import_file_free(&f);
    if (rc) seqdata_free(ds);
    return rc;
}
