/* import_common.c - the importers' shared pieces; see import_common.h. */
#include "import_common.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"

static int out_of_memory(recur_err *err, const char *what) {
    return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (%s)", what);
}

/* ---- input --------------------------------------------------------------- */

int import_read_file(const char *path, const char *what, import_file *f, recur_err *err) {
    memset(f, 0, sizeof *f);
    f->path = path;
    FILE *in = fopen(path, "rb");
    if (!in) return recur_fail(err, RECUR_EXIT_INPUT, "%s: cannot open for reading: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, in); /* one byte kept for the NUL */
        if (n < cap - 1) break;
        char *bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!bigger) free(buf);
        buf = bigger;
        cap *= 2;
    }
    int rc = -1;
    if (!buf) out_of_memory(err, path);
    else if (ferror(in)) recur_fail(err, RECUR_EXIT_INPUT, "%s: read error: %s", path, strerror(errno));
    else if (n == 0) recur_fail(err, RECUR_EXIT_INPUT, "%s: expected %s, found an empty file", path, what);
    else rc = 0;
    fclose(in);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = 0;
    size_t bom = n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3) ? 3 : 0;
    if (bom) memmove(buf, buf + 3, n - 3 + 1);
    f->data = buf;
    f->len = n - bom;
    return 0;
}

void import_file_free(import_file *f) {
    free(f->data);
    memset(f, 0, sizeof *f);
}

void import_lines_begin(import_lines *it, const import_file *f) {
    it->p = f->data;
    it->end = f->data + f->len;
    it->lineno = 0;
}

int import_lines_next(import_lines *it, import_line *line) {
    if (it->p >= it->end) return 0;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *stop = nl ? nl : it->end;
    line->s = it->p;
    line->len = (size_t)(stop - it->p);
    if (line->len && line->s[line->len - 1] == '\r') line->len--;
    line->lineno = ++it->lineno;
    it->p = nl ? nl + 1 : it->end;
    return 1;
}

size_t import_utf8_check(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if (c >= 0xC2 && c <= 0xDF) n = 1, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) n = 2, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) n = 3, cp = c & 0x07, min = 0x10000;
        else return i;
        if (len - i <= n) return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += n + 1;
    }
    return len;
}

const char *import_preview(const char *s, size_t len, char *buf, size_t buflen) {
    size_t o = 0, i = 0;
    for (; i < len && i < 40 && o + 3 < buflen; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (esc) buf[o++] = esc[0], buf[o++] = esc[1];
        else buf[o++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
    }
    if (i < len && o + 4 <= buflen) memcpy(buf + o, "...", 3), o += 3;
    buf[o] = 0;
    return buf;
}

void import_trim(const char **s, size_t *len) {
    while (*len && (**s == ' ' || **s == '\t')) (*s)++, (*len)--;
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) (*len)--;
}

/* ---- strings --------------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t len) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

/* The slot holding s, or the empty slot where it would go. */
static size_t find_slot(const import_strings *t, const char *s, size_t len) {
    size_t mask = t->nslot - 1, i = (size_t)hash_bytes(s, len) & mask;
    for (; t->slot[i]; i = (i + 1) & mask) {
        const char *o = t->str[t->slot[i] - 1];
        if (!strncmp(o, s, len) && o[len] == 0) break;
    }
    return i;
}

static int rehash(import_strings *t, recur_err *err) {
    size_t nslot = t->nslot ? t->nslot * 2 : 256;
    size_t *slot = calloc(nslot, sizeof *slot);
    if (!slot) return out_of_memory(err, "string table");
    free(t->slot);
    t->slot = slot;
    t->nslot = nslot;
    for (size_t k = 0; k < t->n; k++) t->slot[find_slot(t, t->str[k], strlen(t->str[k]))] = k + 1;
    return 0;
}

int import_strings_add(import_strings *t, const char *s, size_t len, int32_t *id, recur_err *err) {
    if ((t->n + 1) * 2 > t->nslot && rehash(t, err)) return -1;
    size_t i = find_slot(t, s, len);
    if (!t->slot[i]) {
        if (t->n >= INT32_MAX) return recur_fail(err, RECUR_EXIT_INPUT, "more than %d distinct strings", INT32_MAX);
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 256;
            char **str = realloc(t->str, cap * sizeof *str);
            if (str) t->str = str;
            size_t *count = str ? realloc(t->count, cap * sizeof *count) : NULL;
            if (!count) return out_of_memory(err, "string table");
            t->count = count;
            t->cap = cap;
        }
        char *copy = malloc(len + 1);
        if (!copy) return out_of_memory(err, "string table");
        memcpy(copy, s, len);
        copy[len] = 0;
        t->str[t->n] = copy;
        t->count[t->n] = 0;
        t->slot[i] = ++t->n;
    }
    size_t k = t->slot[i] - 1;
    t->count[k]++;
    if (id) *id = (int32_t)k;
    return 0;
}

void import_strings_free(import_strings *t) {
    import_free_names(t->str, t->n);
    free(t->count);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

void import_free_names(char **names, size_t n) {
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

/* Optional sign, then at least one digit and nothing else. */
static int is_integer(const char *s) {
    s += *s == '-' || *s == '+';
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

/* Integers of any length by value (sign, then digits without leading zeros
 * by length, then by bytes). */
static int compare_integers(const char *a, const char *b) {
    int na = *a == '-', nb = *b == '-';
    a += *a == '-' || *a == '+';
    b += *b == '-' || *b == '+';
    while (*a == '0' && a[1]) a++;
    while (*b == '0' && b[1]) b++;
    if (!strcmp(a, "0")) na = 0; /* -0 is 0 */
    if (!strcmp(b, "0")) nb = 0;
    if (na != nb) return na ? -1 : 1;
    size_t la = strlen(a), lb = strlen(b);
    int mag = la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
    return na ? -mag : mag;
}

typedef struct {
    const char *s;
    size_t raw;
    int numeric;
} sort_item;

static int compare_items(const void *pa, const void *pb) {
    const sort_item *a = pa, *b = pb;
    int c = a->numeric ? compare_integers(a->s, b->s) : 0;
    return c ? c : strcmp(a->s, b->s);
}

/* items[0..n) sorted; remap[raw] = first_id + position; names[first_id + i] copies. */
static int sort_and_name(sort_item *items, size_t n, size_t first_id, int32_t *remap, char **names, recur_err *err) {
    qsort(items, n, sizeof *items, compare_items);
    for (size_t i = 0; i < n; i++) {
        remap[items[i].raw] = (int32_t)(first_id + i);
        if (!(names[first_id + i] = strdup(items[i].s))) return out_of_memory(err, "names");
    }
    return 0;
}

/* remap[raw] for the names of t sorted as import_fit_labels says; *names copies in that order. */
static int sorted_labels(const import_strings *t, int32_t *remap, char ***names, recur_err *err) {
    int numeric = 1;
    for (size_t i = 0; i < t->n && numeric; i++) numeric = is_integer(t->str[i]);
    sort_item *items = malloc((t->n ? t->n : 1) * sizeof *items);
    *names = calloc(t->n ? t->n : 1, sizeof **names);
    if (!items || !*names) {
        free(items);
        free(*names);
        *names = NULL;
        return out_of_memory(err, "labels");
    }
    for (size_t i = 0; i < t->n; i++) items[i] = (sort_item){t->str[i], i, numeric};
    int rc = sort_and_name(items, t->n, 0, remap, *names, err);
    free(items);
    if (rc) {
        import_free_names(*names, t->n);
        *names = NULL;
    }
    return rc;
}

int import_fit_labels(const import_strings *labels, int32_t *ids, size_t n, seq_dataset *ds, recur_err *err) {
    int32_t *remap = malloc((labels->n + 1) * sizeof *remap);
    if (!remap) return out_of_memory(err, "labels");
    int rc = sorted_labels(labels, remap, &ds->label_names, err);
    for (size_t i = 0; !rc && i < n; i++) ids[i] = remap[ids[i]];
    if (!rc) ds->num_classes = (int)labels->n;
    free(remap);
    return rc;
}

/* remap[raw] for the vocabulary import_fit_words describes, from the train
 * counts; *names its V words. */
static int word_vocab(const import_strings *words, const size_t *train_count, long min_count, int32_t *remap,
                      char ***names, int *V, recur_err *err) {
    sort_item *items = malloc((words->n ? words->n : 1) * sizeof *items);
    *names = calloc(words->n + 1, sizeof **names);
    if (!items || !*names) {
        free(items);
        free(*names);
        *names = NULL;
        return out_of_memory(err, "vocabulary");
    }
    size_t kept = 0;
    for (size_t i = 0; i < words->n; i++) {
        remap[i] = 0;
        if ((long)train_count[i] >= min_count && train_count[i] > 0 && strcmp(words->str[i], IMPORT_UNK))
            items[kept++] = (sort_item){words->str[i], i, 0};
    }
    (*names)[0] = strdup(IMPORT_UNK);
    int fail = !(*names)[0] ? out_of_memory(err, "vocabulary") : sort_and_name(items, kept, 1, remap, *names, err);
    free(items);
    if (fail || kept + 1 > INT32_MAX) {
        import_free_names(*names, kept + 1);
        *names = NULL;
        return fail ? -1 : recur_fail(err, RECUR_EXIT_INPUT, "more than %d distinct words", INT32_MAX);
    }
    *V = (int)(kept + 1);
    return 0;
}

int import_fit_words(const import_strings *words, seq_split *all, const uint8_t *split_of, long min_count,
                     seq_dataset *ds, size_t unknown[SPLIT_COUNT], recur_err *err) {
    size_t *train_count = calloc(words->n + 1, sizeof *train_count);
    int32_t *remap = malloc((words->n + 1) * sizeof *remap);
    int rc = !train_count || !remap ? out_of_memory(err, "vocabulary") : 0;
    for (size_t i = 0; !rc && i < all->n; i++)
        for (int64_t t = all->offsets[i]; split_of[i] == SPLIT_TRAIN && t < all->offsets[i + 1]; t++)
            train_count[all->tokens[t]]++;
    if (!rc) rc = word_vocab(words, train_count, min_count, remap, &ds->vocab_words, &ds->vocab_size, err);
    for (size_t i = 0; !rc && i < all->n; i++)
        for (int64_t t = all->offsets[i]; t < all->offsets[i + 1]; t++)
            if (!(all->tokens[t] = remap[all->tokens[t]])) unknown[split_of[i]]++;
    free(train_count);
    free(remap);
    return rc;
}

/* ---- sequences ------------------------------------------------------------- */

int import_vec_push(import_vec *v, const void *elems, size_t count, recur_err *err) {
    if (count > SIZE_MAX / v->size - v->len) return out_of_memory(err, "array size");
    if (v->len + count > v->cap) {
        size_t cap = v->cap ? v->cap : 256;
        while (cap < v->len + count) cap = cap <= SIZE_MAX / 2 ? cap * 2 : v->len + count;
        void *data = cap <= SIZE_MAX / v->size ? realloc(v->data, cap * v->size) : NULL;
        if (!data) return out_of_memory(err, "sequences");
        v->data = data;
        v->cap = cap;
    }
    char *dst = (char *)v->data + v->len * v->size;
    if (elems) memcpy(dst, elems, count * v->size);
    else memset(dst, 0, count * v->size);
    v->len += count;
    return 0;
}

void import_seqs_init(import_seqs *s, int F, int K) {
    memset(s, 0, sizeof *s);
    s->F = F;
    s->K = K;
    s->offsets.size = sizeof(int64_t);
    s->tokens.size = s->labels.size = s->step_labels.size = sizeof(int32_t);
    s->features.size = (size_t)(F > 0 ? F : 1) * sizeof(float);
    s->targets.size = s->seq_targets.size = s->seq_base.size = (size_t)(K > 0 ? K : 1) * sizeof(float);
}

static size_t steps_pushed(const import_seqs *s) {
    return s->tokens.len > s->features.len ? s->tokens.len : s->features.len;
}

int import_seqs_end_sequence(import_seqs *s, recur_err *err) {
    int64_t zero = 0, end = (int64_t)steps_pushed(s);
    if (!s->offsets.len && import_vec_push(&s->offsets, &zero, 1, err)) return -1;
    if (end == ((int64_t *)s->offsets.data)[s->offsets.len - 1])
        return recur_fail(err, RECUR_EXIT_FAIL, "internal error: an empty sequence was collected");
    return import_vec_push(&s->offsets, &end, 1, err);
}

size_t import_seqs_count(const import_seqs *s) {
    return s->offsets.len ? s->offsets.len - 1 : 0;
}

seq_split import_seqs_view(const import_seqs *s) {
    seq_split v = {0};
    v.present = 1;
    v.n = import_seqs_count(s);
    v.total = steps_pushed(s);
    v.offsets = s->offsets.data;
    v.tokens = s->tokens.len ? s->tokens.data : NULL;
    v.features = s->features.len ? s->features.data : NULL;
    v.labels = s->labels.len ? s->labels.data : NULL;
    v.step_labels = s->step_labels.len ? s->step_labels.data : NULL;
    v.targets = s->targets.len ? s->targets.data : NULL;
    v.seq_targets = s->seq_targets.len ? s->seq_targets.data : NULL;
    v.seq_base = s->seq_base.len ? s->seq_base.data : NULL;
    return v;
}

void import_seqs_free(import_seqs *s) {
    import_vec *v[] = {&s->offsets, &s->tokens, &s->features, &s->labels, &s->step_labels,
                       &s->targets, &s->seq_targets, &s->seq_base};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) free(v[i]->data);
    memset(s, 0, sizeof *s);
}

/* ---- splits ------------------------------------------------------------------- */

/* See import_common.h, "Split sizes". */
static int split_sizes(const char *path, size_t n, double val_fraction, double test_fraction,
                       size_t count[SPLIT_COUNT], recur_err *err) {
    /* floor(F * n), read through rounding: 0.29 * 100 is 28.999999999999996. */
    count[SPLIT_VAL] = (size_t)floor(val_fraction * (double)n + 1e-9);
    count[SPLIT_TEST] = (size_t)floor(test_fraction * (double)n + 1e-9);
    if (count[SPLIT_VAL] + count[SPLIT_TEST] >= n)
        return recur_fail(err, RECUR_EXIT_USAGE,
                          "%s: --val-fraction %g and --test-fraction %g take %zu + %zu of its %zu sequences: expected at "
                          "least one left for train",
                          path, val_fraction, test_fraction, count[SPLIT_VAL], count[SPLIT_TEST], n);
    count[SPLIT_TRAIN] = n - count[SPLIT_VAL] - count[SPLIT_TEST];
    return 0;
}

int import_split_shuffled(const char *path, size_t n, double val_fraction, double test_fraction, uint64_t seed,
                          uint8_t *split_of, recur_err *err) {
    size_t count[SPLIT_COUNT] = {0};
    if (split_sizes(path, n, val_fraction, test_fraction, count, err)) return -1;
    size_t *perm = malloc(n * sizeof *perm);
    if (!perm) return out_of_memory(err, "split");
    for (size_t i = 0; i < n; i++) perm[i] = i;
    rng_state rng;
    rng_seed(&rng, seed);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(rng_next(&rng) % (uint64_t)(i + 1));
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (size_t k = 0; k < n; k++)
        split_of[perm[k]] = k < count[SPLIT_VAL]                       ? SPLIT_VAL
                            : k < count[SPLIT_VAL] + count[SPLIT_TEST] ? SPLIT_TEST
                                                                       : SPLIT_TRAIN;
    free(perm);
    return 0;
}

int import_split_chronological(const char *path, size_t n, double val_fraction, double test_fraction,
                               uint8_t *split_of, recur_err *err) {
    size_t count[SPLIT_COUNT] = {0};
    if (split_sizes(path, n, val_fraction, test_fraction, count, err)) return -1;
    for (size_t i = 0; i < n; i++)
        split_of[i] = i < count[SPLIT_TRAIN]                     ? SPLIT_TRAIN
                      : i < count[SPLIT_TRAIN] + count[SPLIT_VAL] ? SPLIT_VAL
                                                                  : SPLIT_TEST;
    return 0;
}

/* Copies rows [from, from + rows) of src (row bytes each) to dst at row at. */
static void copy_rows(void *dst, size_t at, const void *src, size_t from, size_t rows, size_t row) {
    if (dst && src) memcpy((char *)dst + at * row, (const char *)src + from * row, rows * row);
}

int import_partition(const seq_split *all, int F, int K, const uint8_t *split_of, seq_dataset *ds, recur_err *err) {
    size_t fr = (size_t)F * sizeof(float), kr = (size_t)K * sizeof(float);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        seq_split *o = &ds->split[s];
        memset(o, 0, sizeof *o);
        for (size_t i = 0; i < all->n; i++)
            if (split_of[i] == s) o->n++, o->total += seq_length(all, i);
        if (!o->n) continue;
        o->present = 1;
        size_t n = o->n, T = o->total;
        o->offsets = malloc((n + 1) * sizeof *o->offsets);
        if (all->tokens) o->tokens = malloc(T * sizeof *o->tokens);
        if (all->features) o->features = malloc(T * fr);
        if (all->labels) o->labels = malloc(n * sizeof *o->labels);
        if (all->step_labels) o->step_labels = malloc(T * sizeof *o->step_labels);
        if (all->targets) o->targets = malloc(T * kr);
        if (all->seq_targets) o->seq_targets = malloc(n * kr);
        if (all->seq_base) o->seq_base = malloc(n * kr);
        if (!o->offsets || (all->tokens && !o->tokens) || (all->features && !o->features) ||
            (all->labels && !o->labels) || (all->step_labels && !o->step_labels) || (all->targets && !o->targets) ||
            (all->seq_targets && !o->seq_targets) || (all->seq_base && !o->seq_base))
            return out_of_memory(err, "splits");
        size_t k = 0, t = 0;
        o->offsets[0] = 0;
        for (size_t i = 0; i < all->n; i++) {
            if (split_of[i] != s) continue;
            size_t first = (size_t)all->offsets[i], len = seq_length(all, i);
            copy_rows(o->tokens, t, all->tokens, first, len, sizeof *o->tokens);
            copy_rows(o->features, t, all->features, first, len, fr);
            copy_rows(o->step_labels, t, all->step_labels, first, len, sizeof *o->step_labels);
            copy_rows(o->targets, t, all->targets, first, len, kr);
            copy_rows(o->labels, k, all->labels, i, 1, sizeof *o->labels);
            copy_rows(o->seq_targets, k, all->seq_targets, i, 1, kr);
            copy_rows(o->seq_base, k, all->seq_base, i, 1, kr);
            t += len;
            o->offsets[++k] = (int64_t)t;
        }
    }
    return 0;
}

/* mean/std (population, std 1 for a constant column) of each of the `cols`
 * columns of train[rows, cols], then every split's array standardised. */
static int standardise(seq_dataset *ds, size_t field_offset, int per_seq, int cols, float **mean_out, float **std_out,
                       recur_err *err) {
    const seq_split *tr = &ds->split[SPLIT_TRAIN];
    const float *x = *(float *const *)((const char *)tr + field_offset);
    size_t rows = per_seq ? tr->n : tr->total;
    float *mean = malloc((size_t)cols * sizeof *mean), *sd = malloc((size_t)cols * sizeof *sd);
    if (!mean || !sd) {
        free(mean);
        free(sd);
        return out_of_memory(err, "normalisation");
    }
    for (int c = 0; c < cols; c++) {
        double m = 0, v = 0;
        for (size_t r = 0; r < rows; r++) m += x[r * (size_t)cols + (size_t)c];
        m /= (double)rows;
        for (size_t r = 0; r < rows; r++) {
            double d = x[r * (size_t)cols + (size_t)c] - m;
            v += d * d;
        }
        double s = sqrt(v / (double)rows);
        mean[c] = (float)m;
        sd[c] = s > 0 && isfinite(s) && (float)s > 0 ? (float)s : 1.0f;
    }
    for (int s = 0; s < SPLIT_COUNT; s++) {
        seq_split *sp = &ds->split[s];
        float *y = sp->present ? *(float **)((char *)sp + field_offset) : NULL;
        size_t n = per_seq ? sp->n : sp->total;
        for (size_t r = 0; y && r < n; r++)
            for (int c = 0; c < cols; c++) {
                float *v = &y[r * (size_t)cols + (size_t)c];
                *v = (float)(((double)*v - mean[c]) / sd[c]);
            }
    }
    *mean_out = mean;
    *std_out = sd;
    return 0;
}

int import_standardise(seq_dataset *ds, recur_err *err) {
    const seq_split *tr = &ds->split[SPLIT_TRAIN];
    if (tr->features &&
        standardise(ds, offsetof(seq_split, features), 0, ds->input_size, &ds->feature_mean, &ds->feature_std, err))
        return -1;
    if (tr->targets &&
        standardise(ds, offsetof(seq_split, targets), 0, ds->output_size, &ds->target_mean, &ds->target_std, err))
        return -1;
    if (tr->seq_targets && standardise(ds, offsetof(seq_split, seq_targets), 1, ds->output_size, &ds->target_mean,
                                       &ds->target_std, err))
        return -1;
    return 0;
}

/* ---- CSV ---------------------------------------------------------------------- */

void import_csv_begin(import_csv *c, const import_file *f) {
    memset(c, 0, sizeof *c);
    c->path = f->path;
    c->p = c->bol = f->data;
    c->end = f->data + f->len;
    c->line = 1;
    c->buf.size = 1;
}

void import_csv_free(import_csv *c) {
    free(c->field);
    free(c->at);
    free(c->buf.data);
    memset(c, 0, sizeof *c);
}

static void csv_newline(import_csv *c) {
    c->p++;
    c->line++;
    c->bol = c->p;
}

/* 1 when the rest of the current line is spaces, tabs and a CR only. */
static int csv_blank_line(const import_csv *c) {
    for (const char *q = c->p; q < c->end && *q != '\n'; q++)
        if (*q != ' ' && *q != '\t' && *q != '\r') return 0;
    return 1;
}

/* Registers the field whose text was pushed to buf from `start` on (its NUL
 * added here), starting at `line`:`col`. */
static int csv_end_field(import_csv *c, size_t start, size_t line, size_t col, recur_err *err) {
    if (c->nfield == c->capfield) {
        size_t cap = c->capfield ? c->capfield * 2 : 16;
        import_csv_field *f = realloc(c->at, cap * sizeof *f);
        if (f) c->at = f;
        char **field = f ? realloc(c->field, cap * sizeof *field) : NULL;
        if (!field) return out_of_memory(err, "CSV record");
        c->field = field;
        c->capfield = cap;
    }
    c->at[c->nfield++] = (import_csv_field){start, line, col};
    char nul = 0;
    return import_vec_push(&c->buf, &nul, 1, err);
}

/* A quoted field from the opening quote at c->p: its text, unescaped, is
 * pushed to buf; c->p ends after the closing quote. */
static int csv_quoted(import_csv *c, recur_err *err) {
    size_t line = c->line, col = (size_t)(c->p - c->bol) + 1;
    c->p++;
    for (;;) {
        if (c->p >= c->end)
            return recur_fail(err, RECUR_EXIT_INPUT,
                              "%s:%zu:%zu: expected a closing '\"' for the quoted field, found the end of the file",
                              c->path, line, col);
        if (*c->p == '"' && c->p + 1 < c->end && c->p[1] == '"') {
            if (import_vec_push(&c->buf, "\"", 1, err)) return -1;
            c->p += 2;
        } else if (*c->p == '"') {
            c->p++;
            return 0;
        } else {
            if (import_vec_push(&c->buf, c->p, 1, err)) return -1;
            if (*c->p == '\n') csv_newline(c);
            else c->p++;
        }
    }
}

static void csv_skip_blanks(import_csv *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
}

int import_csv_next(import_csv *c, recur_err *err) {
    while (c->p < c->end && csv_blank_line(c)) {
        const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
        if (!nl) {
            c->p = c->end;
            break;
        }
        c->p = nl;
        csv_newline(c);
    }
    if (c->p >= c->end) return 0;
    c->nfield = 0;
    c->buf.len = 0;
    c->lineno = c->line;
    for (;;) {
        csv_skip_blanks(c);
        size_t start = c->buf.len, line = c->line, col = (size_t)(c->p - c->bol) + 1;
        if (c->p < c->end && *c->p == '"') {
            if (csv_quoted(c, err)) return -1;
            csv_skip_blanks(c);
            if (c->p + 1 < c->end && c->p[0] == '\r' && c->p[1] == '\n') c->p++;
            if (c->p < c->end && *c->p != ',' && *c->p != '\n')
                return recur_fail(err, RECUR_EXIT_INPUT,
                                  "%s:%zu:%zu: expected ',' or the end of the line after a quoted field, found '%c'",
                                  c->path, c->line, (size_t)(c->p - c->bol) + 1, *c->p);
        } else {
            const char *s = c->p;
            while (c->p < c->end && *c->p != ',' && *c->p != '\n') c->p++;
            size_t len = (size_t)(c->p - s);
            while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) len--;
            if (len && import_vec_push(&c->buf, s, len, err)) return -1;
        }
        if (csv_end_field(c, start, line, col, err)) return -1;
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end) csv_newline(c); /* at the LF */
        break;
    }
    for (size_t i = 0; i < c->nfield; i++) c->field[i] = (char *)c->buf.data + c->at[i].off;
    return 1;
}

int import_csv_is_number(const char *s) {
    if (!*s || strpbrk(s, "xX") || !strchr("+-.0123456789", *s)) return 0;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    return !*end && isfinite(v) && fabs(v) <= FLT_MAX;
}

int import_csv_number(const import_csv *c, size_t i, const char *name, float *out, recur_err *err) {
    const char *s = c->field[i];
    if (!*s)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: column '%s': expected a number, found a missing value",
                          c->path, c->at[i].line, c->at[i].col, name);
    char shown[128];
    if (!import_csv_is_number(s))
        return recur_fail(err, RECUR_EXIT_INPUT, "%s:%zu:%zu: column '%s': expected a finite number, found '%s'", c->path,
                          c->at[i].line, c->at[i].col, name, import_preview(s, strlen(s), shown, sizeof shown));
    *out = (float)strtod(s, NULL);
    return 0;
}

int import_csv_is_column_number(const char *spec) {
    if (!*spec) return 0;
    for (const char *p = spec; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

int import_csv_column(const char *path, char *const *header, size_t ncol, const char *spec, const char *flag,
                      size_t *index, recur_err *err) {
    if (import_csv_is_column_number(spec)) {
        errno = 0;
        unsigned long long k = strtoull(spec, NULL, 10);
        if (errno || k < 1 || k > ncol)
            return recur_fail(err, RECUR_EXIT_USAGE, "%s: expected a column number in 1..%zu (%s has %zu columns), found %s",
                              flag, ncol, path, ncol, spec);
        *index = (size_t)k - 1;
        return 0;
    }
    for (size_t i = 0; header && i < ncol; i++)
        if (!strcmp(header[i], spec)) {
            *index = i;
            return 0;
        }
    if (!header)
        return recur_fail(err, RECUR_EXIT_USAGE, "%s: %s has no header row: expected a column number in 1..%zu, found '%s'",
                          flag, path, ncol, spec);
    char names[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < ncol && used + 1 < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", header[i]);
    if (used >= sizeof names) strcpy(names + sizeof names - 5, "...");
    return recur_fail(err, RECUR_EXIT_USAGE, "%s: expected a column of %s (%s) or its number, found '%s'", flag, path,
                      names, spec);
}
