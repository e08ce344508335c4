/* pairdata.c - the "recur-pairs" contract: reader, writer, checks, and the
 * vocabulary's text <-> ids for generation time.
 *
 * Every array is read through io/seqdata_parts.h, the pieces of the sequence
 * datasets' hostile reader: the same checks (hard links only, class, rank,
 * extents against the SEQ_MAX_* caps and the stored bytes before any
 * allocation, values range-checked in bounded slabs, string arrays first read
 * in a child with a time limit) and the same messages.  What is new here is
 * the layout: two sides per split that must agree on n, and two
 * vocabularies that must be one when shared_vocab says so.
 */
#include "pairdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "atomic.h"
#include "h5util.h"
#include "import_common.h"
#include "inspect.h"
#include "seqdata_parts.h"

enum { SRC = 0, TGT = 1 };
static const char *const SIDE[2] = {"src", "tgt"};

#define WANT_VOCAB "uint8 [V] (a character per id) or variable-length strings [V] (a word per id)"

/* ---- vocabularies ----------------------------------------------------------- */

static uint64_t hash_word(const char *s, size_t len) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

/* 1 when word w is exactly s[0..len). */
static int word_is(const char *w, const char *s, size_t len) { return strncmp(w, s, len) == 0 && w[len] == 0; }

int pair_vocab_index(pair_vocab *v, recur_err *err) {
    free(v->slot);
    v->slot = NULL;
    v->nslot = 0;
    if (!v->words || v->size < 1) return 0;
    size_t nslot = 16;
    while (nslot < 2 * (size_t)v->size) nslot *= 2;
    int32_t *slot = calloc(nslot, sizeof *slot);
    if (!slot) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (a table of %d words)", v->size);
    for (int id = 0; id < v->size; id++) {
        size_t len = strlen(v->words[id]), i = (size_t)hash_word(v->words[id], len) & (nslot - 1);
        while (slot[i] && !word_is(v->words[slot[i] - 1], v->words[id], len)) i = (i + 1) & (nslot - 1);
        if (!slot[i]) slot[i] = id + 1; /* a repeated word keeps its first id */
    }
    v->slot = slot;
    v->nslot = nslot;
    return 0;
}

/* The id of word s[0..len), or -1. */
static int32_t word_id(const pair_vocab *v, const char *s, size_t len) {
    if (v->slot) {
        for (size_t i = (size_t)hash_word(s, len) & (v->nslot - 1); v->slot[i]; i = (i + 1) & (v->nslot - 1))
            if (word_is(v->words[v->slot[i] - 1], s, len)) return v->slot[i] - 1;
        return -1;
    }
    for (int id = 0; id < v->size; id++)
        if (word_is(v->words[id], s, len)) return id;
    return -1;
}

void pair_vocab_free(pair_vocab *v) {
    free(v->chars);
    seqdata_free_strings(v->words, v->words ? (size_t)v->size : 0);
    free(v->slot);
    memset(v, 0, sizeof *v);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

int pair_vocab_encode(const pair_vocab *v, const char *s, size_t len, const char *what, int32_t **ids, size_t *n,
                      recur_err *err) {
    *ids = NULL;
    *n = 0;
    if (!what) what = "text";
    if (!v->chars && !v->words)
        return recur_fail(err, RECUR_EXIT_FAIL, "%s: vocabulary: expected characters or words, found neither", what);
    if (!len) return recur_fail(err, RECUR_EXIT_INPUT, "%s: expected text, found an empty one", what);
    int32_t *out = malloc(len * sizeof *out);
    if (!out) return recur_fail(err, RECUR_EXIT_FAIL, "%s: out of memory (%zu bytes of text)", what, len);
    size_t k = 0;
    char shown[128];
    if (v->chars) {
        int32_t id_of[256];
        for (int b = 0; b < 256; b++) id_of[b] = -1;
        for (int id = v->size - 1; id >= 0; id--) id_of[v->chars[id]] = id; /* the first id of a repeated byte */
        for (; k < len; k++) {
            unsigned char b = (unsigned char)s[k];
            if ((out[k] = id_of[b]) >= 0) continue;
            if (b > 0x20 && b < 0x7F) snprintf(shown, sizeof shown, "'%c'", b);
            else snprintf(shown, sizeof shown, "the byte 0x%02X", b);
            free(out);
            return recur_fail(err, RECUR_EXIT_INPUT, "%s: byte %zu: expected a character of the vocabulary (V = %d), "
                              "found %s", what, k + 1, v->size, shown);
        }
    } else {
        for (size_t i = 0; i < len;) {
            while (i < len && is_space(s[i])) i++;
            size_t start = i;
            while (i < len && !is_space(s[i])) i++;
            if (i == start) break;
            if ((out[k++] = word_id(v, s + start, i - start)) >= 0) continue;
            free(out);
            return recur_fail(err, RECUR_EXIT_INPUT, "%s: word %zu: expected a word of the vocabulary (V = %d), found "
                              "'%s'", what, k, v->size, import_preview(s + start, i - start, shown, sizeof shown));
        }
        if (!k) {
            free(out);
            return recur_fail(err, RECUR_EXIT_INPUT, "%s: expected at least one word, found only whitespace", what);
        }
    }
    *ids = out;
    *n = k;
    return 0;
}

/* Appends s[0..len) to buf at *used (cut to cap-1), counting all of it. */
static void put(char *buf, size_t cap, size_t *used, const char *s, size_t len) {
    if (*used + 1 < cap) {
        size_t room = cap - 1 - *used;
        memcpy(buf + *used, s, len < room ? len : room);
    }
    *used += len;
}

size_t pair_vocab_decode(const pair_vocab *v, const int32_t *ids, size_t n, char *buf, size_t cap) {
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (v->words && i) put(buf, cap, &used, " ", 1);
        if (ids[i] < 0 || ids[i] >= v->size || (!v->chars && !v->words)) {
            char bad[32];
            int len = snprintf(bad, sizeof bad, "<id %d>", (int)ids[i]);
            put(buf, cap, &used, bad, (size_t)len);
        } else if (v->chars) put(buf, cap, &used, (const char *)&v->chars[ids[i]], 1);
        else put(buf, cap, &used, v->words[ids[i]], strlen(v->words[ids[i]]));
    }
    if (cap) buf[used < cap ? used : cap - 1] = 0;
    return used;
}

/* "" when a and b are the same vocabulary, else what differs (in buf). */
static const char *vocab_difference(const pair_vocab *a, const pair_vocab *b, char *buf, size_t len) {
    buf[0] = 0;
    if ((a->chars != NULL) != (b->chars != NULL))
        snprintf(buf, len, "%s where /src_vocab has %s", b->chars ? "characters" : "words",
                 a->chars ? "characters" : "words");
    else if (a->size != b->size) snprintf(buf, len, "V = %d where /src_vocab has V = %d", b->size, a->size);
    else
        for (int i = 0; i < a->size && !buf[0]; i++) {
            if (a->chars && a->chars[i] != b->chars[i])
                snprintf(buf, len, "byte 0x%02X at id %d where /src_vocab has 0x%02X", b->chars[i], i, a->chars[i]);
            else if (a->words && strcmp(a->words[i], b->words[i]))
                snprintf(buf, len, "'%.60s' at id %d where /src_vocab has '%.60s'", b->words[i], i, a->words[i]);
        }
    return buf;
}

/* ---- checks on a dataset in memory (the writer's) ---------------------------- */

int pair_vocab_check(const pair_vocab *v, const char *path, const char *name, int code, recur_err *err) {
    if ((v->chars != NULL) == (v->words != NULL))
        return recur_fail(err, code, "%s: %s: expected characters or words, found %s", path, name,
                          v->chars ? "both" : "neither");
    int cap = v->chars ? 256 : SEQ_MAX_VOCAB;
    if (v->size < 1 || v->size > cap)
        return recur_fail(err, code, "%s: %s: expected between 1 and %d %s, found V = %d", path, name, cap,
                          v->chars ? "characters" : "words", v->size);
    return v->words ? seqdata_check_strings(path, name, v->words, (size_t)v->size, code, err) : 0;
}

static int check_side(const pair_dataset *ds, int s, int side, const char *path, int code, recur_err *err) {
    const pair_split *sp = &ds->split[s];
    const int64_t *off = side == SRC ? sp->src_offsets : sp->tgt_offsets;
    const int32_t *tok = side == SRC ? sp->src_tokens : sp->tgt_tokens;
    size_t total = side == SRC ? sp->src_total : sp->tgt_total;
    const pair_vocab *v = side == SRC ? &ds->src : &ds->tgt;
    char off_name[64], tok_name[64];
    snprintf(off_name, sizeof off_name, "/%s/%s_offsets", SEQ_SPLIT_NAMES[s], SIDE[side]);
    snprintf(tok_name, sizeof tok_name, "/%s/%s_tokens", SEQ_SPLIT_NAMES[s], SIDE[side]);
    if (!off || !tok)
        return recur_fail(err, code, "%s: %s: expected an array, found none (NULL)", path, off ? tok_name : off_name);
    if (total < 1 || total > SEQ_MAX_STEPS)
        return recur_fail(err, code, "%s: %s: expected between 1 and %zu tokens, found %zu", path, tok_name,
                          (size_t)SEQ_MAX_STEPS, total);
    return seqdata_check_offsets(path, off_name, off, sp->n, total, tok_name, code, err) ||
                   seqdata_check_ints(path, tok_name, tok, total, "a token", 0, v->size, code, err)
               ? -1
               : 0;
}

int pairdata_check(const pair_dataset *ds, const char *path, int code, recur_err *err) {
    char why[300];
    if (pair_vocab_check(&ds->src, path, "/src_vocab", code, err) ||
        pair_vocab_check(&ds->tgt, path, "/tgt_vocab", code, err))
        return -1;
    if (ds->shared && vocab_difference(&ds->src, &ds->tgt, why, sizeof why)[0])
        return recur_fail(err, code, "%s: /tgt_vocab: expected the same vocabulary as /src_vocab (shared_vocab = 1), "
                          "found %s", path, why);
    if (!ds->split[SPLIT_TRAIN].present)
        return recur_fail(err, code, "%s: /train: expected a group (the train split), found none", path);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const pair_split *sp = &ds->split[s];
        if (!sp->present) continue;
        if (sp->n < 1 || sp->n > SEQ_MAX_STEPS)
            return recur_fail(err, code, "%s: /%s: expected between 1 and %zu pairs, found %zu", path,
                              SEQ_SPLIT_NAMES[s], (size_t)SEQ_MAX_STEPS, sp->n);
        if (check_side(ds, s, SRC, path, code, err) || check_side(ds, s, TGT, path, code, err)) return -1;
    }
    return 0;
}

/* ---- writing ------------------------------------------------------------------ */

int pair_vocab_write(hid_t file, const char *path, const char *name, const pair_vocab *v, recur_err *err) {
    size_t V = (size_t)v->size;
    return v->chars ? h5u_write_dataset(file, path, name, H5U_UINT8, 1, &V, v->chars, err)
                    : seqdata_write_strings(file, path, name, v->words, V, err);
}

static int fill_pairs(hid_t file, const char *path, void *ctx, recur_err *err) {
    const pair_dataset *ds = ctx;
    if (h5u_write_str_attr(file, path, "/", "format", PAIR_FORMAT, err) ||
        h5u_write_int_attr(file, path, "/", "version", PAIR_VERSION, err) ||
        h5u_write_int_attr(file, path, "/", "shared_vocab", ds->shared ? 1 : 0, err) ||
        pair_vocab_write(file, path, "/src_vocab", &ds->src, err) ||
        pair_vocab_write(file, path, "/tgt_vocab", &ds->tgt, err))
        return -1;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const pair_split *sp = &ds->split[s];
        if (!sp->present) continue;
        char g[16], name[64];
        snprintf(g, sizeof g, "/%s", SEQ_SPLIT_NAMES[s]);
        if (h5u_write_group(file, path, g, err)) return -1;
        for (int side = SRC; side <= TGT; side++) {
            size_t total = side == SRC ? sp->src_total : sp->tgt_total;
            snprintf(name, sizeof name, "%s/%s_offsets", g, SIDE[side]);
            if (seqdata_write_int64(file, path, name, side == SRC ? sp->src_offsets : sp->tgt_offsets, sp->n + 1, err))
                return -1;
            snprintf(name, sizeof name, "%s/%s_tokens", g, SIDE[side]);
            if (h5u_write_dataset(file, path, name, H5U_INT32, 1, &total, side == SRC ? sp->src_tokens : sp->tgt_tokens,
                                  err))
                return -1;
        }
    }
    return 0;
}

int pairdata_write(const char *path, const pair_dataset *ds, recur_err *err) {
    if (pairdata_check(ds, path, RECUR_EXIT_FAIL, err)) return -1;
    return atomic_h5_write(path, fill_pairs, (void *)ds, err);
}

/* ---- reading ------------------------------------------------------------------ */

int pair_vocab_read(hid_t file, const char *path, const char *name, pair_vocab *v, recur_err *err) {
    if (!h5u_exists(file, name))
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected " WANT_VOCAB ", found nothing (missing)", path, name);
    size_t V = 0;
    if (seqdata_is_strings(file, name)) {
        if (seqdata_read_strings(file, path, name, SEQ_MAX_VOCAB, &v->words, &V, err)) return -1;
        v->size = (int)V;
        return pair_vocab_index(v, err);
    }
    if (seqdata_int_extent(file, path, name, WANT_VOCAB, &V, err)) return -1;
    if (V > 256)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected at most 256 entries (a byte each), found %zu", path,
                          name, V);
    if (seqdata_read_ints(file, path, name, WANT_VOCAB, V, "V", 1, "a byte", 0, 256, (void **)&v->chars, NULL, err))
        return -1;
    v->size = (int)V;
    return 0;
}

/* One side of split group g: its tokens' extent, then its offsets (n+1 of
 * them; the target's must match the source's n, n_src), then the tokens, each
 * in [0, V). */
static int load_side(hid_t file, const char *path, const char *g, int side, size_t n_src, const pair_vocab *v,
                     int64_t **offsets, int32_t **tokens, size_t *n, size_t *total, recur_err *err) {
    char off[64], tok[64];
    snprintf(off, sizeof off, "%s/%s_offsets", g, SIDE[side]);
    snprintf(tok, sizeof tok, "%s/%s_tokens", g, SIDE[side]);
    size_t T = 0, n1 = 0;
    if (seqdata_int_extent(file, path, tok, "an integer array [total]", &T, err)) return -1;
    if (T > SEQ_MAX_STEPS)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected at most %zu tokens, found %zu", path, tok,
                          (size_t)SEQ_MAX_STEPS, T);
    if (seqdata_int_extent(file, path, off, "an integer array [n+1]", &n1, err)) return -1;
    if (side == TGT && n1 != n_src + 1)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected %zu entries (n+1, as %s/src_offsets: a target per "
                          "source), found %zu", path, off, n_src + 1, g, n1);
    if (n1 < 2 || n1 > T + 1)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected between 2 and %zu entries (n+1, every sequence at "
                          "least one token of %s), found %zu", path, off, T + 1, tok, n1);
    if (seqdata_read_ints(file, path, off, "an integer array [n+1]", n1, "n+1", 8, "an offset", 0, INT64_MAX,
                          (void **)offsets, NULL, err) ||
        seqdata_check_offsets(path, off, *offsets, n1 - 1, T, tok, RECUR_EXIT_INPUT, err) ||
        seqdata_read_ints(file, path, tok, "an integer array [total]", T, "the tokens", 4, "a token", 0, v->size,
                          (void **)tokens, NULL, err))
        return -1;
    *n = n1 - 1;
    *total = T;
    return 0;
}

static int load_split(hid_t file, const char *path, pair_dataset *ds, int s, recur_err *err) {
    pair_split *sp = &ds->split[s];
    char g[16], found[200];
    snprintf(g, sizeof g, "/%s", SEQ_SPLIT_NAMES[s]);
    if (!seqdata_is_group(file, g, found, sizeof found)) {
        if (s != SPLIT_TRAIN && strcmp(found, "nothing (missing)") == 0) return 0;
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected a group (the %s split)%s, found %s", path, g,
                          SEQ_SPLIT_NAMES[s], s == SPLIT_TRAIN ? ", required" : "", found);
    }
    sp->present = 1;
    size_t n_tgt = 0;
    if (load_side(file, path, g, SRC, 0, &ds->src, &sp->src_offsets, &sp->src_tokens, &sp->n, &sp->src_total, err) ||
        load_side(file, path, g, TGT, sp->n, &ds->tgt, &sp->tgt_offsets, &sp->tgt_tokens, &n_tgt, &sp->tgt_total, err))
        return -1;
    return 0;
}

static int load_open(hid_t file, const char *path, void *ctx, recur_err *err) {
    pair_dataset *ds = ctx;
    if (h5u_expect_str_attr(file, path, "/", "format", PAIR_FORMAT, err) ||
        h5u_expect_int_attr(file, path, "/", "version", PAIR_VERSION, err))
        return -1;
    if (H5Aexists_by_name(file, "/", "shared_vocab", H5P_DEFAULT) > 0) {
        int64_t shared = 0;
        if (h5u_read_bounded_attr(file, path, "/", "shared_vocab", 0, 1, &shared, err)) return -1;
        ds->shared = (int)shared;
    }
    static const char *const STRINGS[] = {"/src_vocab", "/tgt_vocab"};
    if (seqdata_guard_strings(file, path, STRINGS, 2, err) ||
        pair_vocab_read(file, path, "/src_vocab", &ds->src, err) ||
        pair_vocab_read(file, path, "/tgt_vocab", &ds->tgt, err))
        return -1;
    char why[300];
    if (ds->shared && vocab_difference(&ds->src, &ds->tgt, why, sizeof why)[0])
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: /tgt_vocab: expected the same vocabulary as /src_vocab "
                          "(shared_vocab = 1), found %s", path, why);
    for (int s = 0; s < SPLIT_COUNT; s++)
        if (load_split(file, path, ds, s, err)) return -1;
    return 0;
}

void pairdata_free(pair_dataset *ds) {
    pair_vocab_free(&ds->src);
    pair_vocab_free(&ds->tgt);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        pair_split *sp = &ds->split[s];
        free(sp->src_offsets);
        free(sp->src_tokens);
        free(sp->tgt_offsets);
        free(sp->tgt_tokens);
        free(sp->src_features);
    }
    memset(ds, 0, sizeof *ds);
}

int pairdata_load(const char *path, pair_dataset *ds, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    int rc = h5u_with_file(path, load_open, ds, err);
    if (rc) pairdata_free(ds);
    return rc;
}

int pairdata_is_pair_file(const char *path, recur_err *err) {
    inspect_kind kind;
    char what[256];
    return inspect_kind_of(path, &kind, what, sizeof what, err) ? -1 : kind == INSPECT_PAIRS;
}
