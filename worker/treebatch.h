/* treebatch.h - batches of whole trees (core/tree.h) for training and
 * evaluation, planned as sequences are (batchplan.h): an epoch's order from
 * (seed, epoch) alone, global batch k = the trees at positions kB .. kB+B-1,
 * split among the ranks by node count (largest first, each to the rank with
 * the fewest nodes so far).  Every rank knows the whole global batch, so each
 * knows its loss count (labelled roots and nodes) without asking. */
#ifndef RECUR_TREEBATCH_H
#define RECUR_TREEBATCH_H

#include <stdint.h>

#include "../core/error.h"
#include "../core/tree.h"
#include "batchplan.h"

typedef struct {
    const tree_forest *f;       /* borrowed */
    model_config cfg;
    int B, ranks, rank, shuffle;
    uint64_t seed;
    long batches_per_epoch;     /* ceil(n / B) */
    int max_n, max_rows, max_edges; /* capacity of any share (size the workspace with these) */
    long epoch, index;          /* of the current batch (treebatch_fill) */
    tree_batch b;               /* this rank's share, in levels; b.n may be 0 */
    double global_count;        /* labelled roots and nodes of the global batch (at least 1) */
    long global_nodes;          /* nodes of the global batch (tokens_per_s) */
    int32_t *size, *labelled;   /* [n] per tree */
    int32_t *order, *mine;      /* [n] this epoch's order; [B] this rank's trees */
    int64_t *ids;               /* [B] */
    long order_epoch;
    plan_key *keys;             /* [B] scratch */
    long *load;                 /* [ranks] scratch */
} treebatch;

/* Checks every tree of f against cfg (tree_batch_build's checks: RECUR_EXIT_INPUT
 * naming the tree) and sizes the batches.  batch >= 1. */
int treebatch_init(treebatch *tb, const tree_forest *f, const model_config *cfg, int batch, int ranks, int rank,
                   int shuffle, uint64_t seed, recur_err *err);
void treebatch_free(treebatch *tb);
/* Makes batch `step` (0-based over the whole run) into tb->b. */
void treebatch_fill(treebatch *tb, long step);

#endif
