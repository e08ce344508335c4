/* seqbatch.h - batches of whole sequences (classify, tag, regress).
 *
 * An epoch visits the split's n sequences in an order: file order with
 * --no-shuffle, else a permutation drawn from (seed, epoch) alone, so a
 * resumed run recomputes it from its step and nothing about the order needs
 * saving.  Global batch k of an epoch is the sequences at positions
 * kB .. kB+B-1 of that order (the last batch may be shorter); an epoch is
 * ceil(n/B) batches.  Under MPI the global batch is split among the ranks by
 * step count, not sequence count (longest first, each to the rank with the
 * fewest steps so far), and each rank packs its share (net.h: sorted by
 * length, time-major, batch_sizes).  Every rank knows the whole global
 * batch, so each knows the global loss count without asking the others.
 */
#ifndef RECUR_SEQBATCH_H
#define RECUR_SEQBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"
#include "../core/net.h"
#include "../io/seqdata.h"

typedef struct {
    const seq_dataset *ds;      /* borrowed */
    const seq_split *split;     /* borrowed: ds->split[which] */
    task_kind task;
    int B, ranks, rank, shuffle;
    uint64_t seed;
    long batches_per_epoch;     /* ceil(n / B) */
    int max_n, max_T, max_rows; /* capacity of any share of any batch (size the workspace with these) */
    /* The current batch (seqbatch_fill). */
    long epoch, index;          /* 0-based epoch, and batch within it */
    int n, T, rows;             /* this rank's share; n may be 0 when a batch has fewer sequences than ranks */
    int32_t *bs;                /* [max_T] */
    int32_t *seq;               /* [max_n] the split's index of the sequence in each slot */
    int32_t *tokens;            /* [max_rows] or NULL */
    float *features;            /* [max_rows, F] or NULL */
    int32_t *labels;            /* [max_rows] (tag) or [max_n] (classify), or NULL */
    float *targets;             /* [max_rows, K] or [max_n, K], or NULL */
    double global_count;        /* what the global batch's mean loss divides by (sequences, steps or elements) */
    long global_steps;          /* input steps of the global batch (tokens_per_s) */
    int32_t *order;             /* [split n] this epoch's order */
    long order_epoch;
    void *keys;                 /* scratch: [B] sort keys (batchplan.h) */
    int32_t *len;               /* [split n] length of each sequence */
    long *load;                 /* scratch: [ranks] */
} seqbatch;

/* which: SPLIT_TRAIN, SPLIT_VAL or SPLIT_TEST (must be present).  batch >= 1.
 * Errors: RECUR_EXIT_USAGE (bad batch), RECUR_EXIT_FAIL (memory). */
int seqbatch_init(seqbatch *sb, const seq_dataset *ds, int which, int batch, int ranks, int rank, int shuffle,
                  uint64_t seed, recur_err *err);
void seqbatch_free(seqbatch *sb);
/* Makes batch `step` (0-based over the whole run: epoch step / bpe, batch step % bpe). */
void seqbatch_fill(seqbatch *sb, long step);
/* The current share as the engine's batch (dropout_seed left 0). */
net_batch seqbatch_batch(const seqbatch *sb);

#endif
