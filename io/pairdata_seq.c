/* pairdata_seq.c - a sequence dataset as pairs for the conditional language
 * model (pairdata.h: pairdata_from_sequences).  The seq2seq machinery
 * (batches, evaluation, decoding) then serves it unchanged: the "source" of
 * each pair is one step, its label or its context vector. */
#include "pairdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/model.h"

static void *dup_bytes(const void *p, size_t n) {
    void *q = malloc(n ? n : 1);
    if (q && n) memcpy(q, p, n);
    return q;
}

/* A copy of a words array of n entries (NULL on failure, partly freed). */
static char **dup_words(char *const *w, int n) {
    char **out = calloc((size_t)(n > 0 ? n : 1), sizeof *out);
    for (int i = 0; out && i < n; i++)
        if (!(out[i] = strdup(w[i]))) {
            for (int j = 0; j < i; j++) free(out[j]);
            free(out);
            return NULL;
        }
    return out;
}

static int build(const seq_dataset *sd, int cond, pair_dataset *ds, const char *path, recur_err *err) {
    /* Target side: the dataset's vocabulary. */
    ds->tgt.size = sd->vocab_size;
    if (sd->vocab) ds->tgt.chars = dup_bytes(sd->vocab, (size_t)sd->vocab_size);
    else ds->tgt.words = dup_words(sd->vocab_words, sd->vocab_size);
    if (!ds->tgt.chars && !ds->tgt.words) goto oom;
    if (pair_vocab_index(&ds->tgt, err)) return -1;
    /* Source side: the label names (or numbers), or nothing for features. */
    if (cond == COND_LABEL) {
        ds->src.size = sd->num_classes;
        if (sd->label_names) ds->src.words = dup_words(sd->label_names, sd->num_classes);
        else if ((ds->src.words = calloc((size_t)sd->num_classes, sizeof(char *))))
            for (int c = 0; c < sd->num_classes; c++) {
                char num[16];
                snprintf(num, sizeof num, "%d", c);
                if (!(ds->src.words[c] = strdup(num))) goto oom;
            }
        if (!ds->src.words) goto oom;
        if (pair_vocab_index(&ds->src, err)) return -1;
    }
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const seq_split *q = &sd->split[s];
        pair_split *p = &ds->split[s];
        if (!q->present) continue;
        p->present = 1;
        p->n = q->n;
        p->src_total = q->n;
        p->tgt_total = q->total;
        p->src_offsets = malloc((q->n + 1) * sizeof(int64_t));
        p->src_tokens = calloc(q->n, sizeof(int32_t));
        p->tgt_offsets = dup_bytes(q->offsets, (q->n + 1) * sizeof(int64_t));
        p->tgt_tokens = dup_bytes(q->tokens, q->total * sizeof(int32_t));
        if (!p->src_offsets || !p->src_tokens || !p->tgt_offsets || !p->tgt_tokens) goto oom;
        for (size_t i = 0; i <= q->n; i++) p->src_offsets[i] = (int64_t)i;
        if (cond == COND_LABEL) memcpy(p->src_tokens, q->labels, q->n * sizeof(int32_t));
        else if ((p->src_width = sd->context_size), !(p->src_features = dup_bytes(q->context, q->n * (size_t)sd->context_size * sizeof(float)))) goto oom;
    }
    return 0;
oom:
    return recur_fail(err, RECUR_EXIT_FAIL, "%s: out of memory building the conditional language model's pairs", path);
}

int pairdata_from_sequences(const char *path, int cond, pair_dataset *ds, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    seq_dataset sd;
    if (seqdata_load(path, &sd, err)) return -1;
    int rc = -1;
    if (!sd.vocab_size)
        recur_fail(err, RECUR_EXIT_USAGE, "%s: a conditional language model generates tokens; this dataset has "
                   "feature inputs (input_size %d)", path, sd.input_size);
    else if (cond == COND_LABEL && sd.task != TASK_CLASSIFY)
        recur_fail(err, RECUR_EXIT_USAGE, "%s: condition label: expected a label per sequence (a classify dataset, "
                   "e.g. from `recur data labeled-text`), found task %s", path, task_name(sd.task));
    else if (cond == COND_FEATURES && !sd.context_size)
        recur_fail(err, RECUR_EXIT_USAGE, "%s: condition features: expected /train/context (a float array [n, F], a "
                   "vector per sequence), found none", path);
    else if (cond != COND_LABEL && cond != COND_FEATURES)
        recur_fail(err, RECUR_EXIT_FAIL, "%s: internal error: condition %d", path, cond);
    else
        rc = build(&sd, cond, ds, path, err);
    seqdata_free(&sd);
    if (rc) pairdata_free(ds);
    else ds->condition = cond;
    return rc;
}

int pairdata_open(const char *path, int cond, pair_dataset *ds, recur_err *err) {
    return cond == COND_NONE ? pairdata_load(path, ds, err) : pairdata_from_sequences(path, cond, ds, err);
}
