#include "treebatch.h"

#include <stdlib.h>
#include <string.h>

void treebatch_free(treebatch *tb) {
    tree_batch_free(&tb->b);
    free(tb->size);
    free(tb->labelled);
    free(tb->order);
    free(tb->mine);
    free(tb->ids);
    free(tb->keys);
    free(tb->load);
    memset(tb, 0, sizeof *tb);
}

int treebatch_init(treebatch *tb, const tree_forest *f, const model_config *cfg, int batch, int ranks, int rank,
                   int shuffle, uint64_t seed, recur_err *err) {
    memset(tb, 0, sizeof *tb);
    if (batch < 1) return recur_fail(err, RECUR_EXIT_USAGE, "--batch: expected a positive number of trees, found %d", batch);
    if (f->n == 0) return recur_fail(err, RECUR_EXIT_INPUT, "the split has no trees");
    if (f->n > INT32_MAX / 2 || f->tree_offsets[f->n] > INT32_MAX / 8)
        return recur_fail(err, RECUR_EXIT_INPUT, "%zu trees of %lld nodes is more than one process handles", f->n,
                          (long long)f->tree_offsets[f->n]);
    const size_t n = f->n;
    *tb = (treebatch){.f = f, .cfg = *cfg, .B = batch, .ranks = ranks, .rank = rank, .shuffle = shuffle,
                      .seed = seed, .order_epoch = -1};
    tb->batches_per_epoch = (long)((n + (size_t)batch - 1) / (size_t)batch);
    tb->max_n = (size_t)batch < n ? batch : (int)n;
    tb->size = malloc(n * sizeof(int32_t));
    tb->labelled = malloc(n * sizeof(int32_t));
    tb->order = malloc(n * sizeof(int32_t));
    tb->mine = malloc((size_t)batch * sizeof(int32_t));
    tb->ids = malloc((size_t)batch * sizeof(int64_t));
    tb->keys = malloc((size_t)batch * sizeof(plan_key));
    tb->load = malloc((size_t)ranks * sizeof(long));
    plan_key *all = malloc(n * sizeof(plan_key));
    if (!tb->size || !tb->labelled || !tb->order || !tb->mine || !tb->ids || !tb->keys || !tb->load || !all) {
        free(all);
        treebatch_free(tb);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory for batches of %d trees", batch);
    }
    /* Every tree checked once, a chunk at a time (the labels counted from the
     * built batches: what the engine will score). */
    enum { CHUNK = 1024 };
    int64_t ids[CHUNK];
    for (size_t first = 0; first < n; first += CHUNK) {
        const int count = n - first < CHUNK ? (int)(n - first) : CHUNK;
        for (int i = 0; i < count; i++) ids[i] = (int64_t)(first + (size_t)i);
        if (tree_batch_build(&tb->b, f, ids, count, 0, cfg, err)) {
            free(all);
            treebatch_free(tb);
            return -1;
        }
        memset(tb->labelled + first, 0, (size_t)count * sizeof(int32_t));
        for (int i = 0; i < count; i++) {
            const size_t t = first + (size_t)i;
            tb->size[t] = (int32_t)(f->tree_offsets[t + 1] - f->tree_offsets[t]);
            tb->labelled[t] += tb->b.root_labels[i] >= 0;
        }
        for (int r = 0; r < tb->b.rows; r++) /* row r's tree: its source node's */
            if (tb->b.node_labels[r] >= 0) {
                size_t lo = first, hi = first + (size_t)count; /* binary search in tree_offsets */
                while (hi - lo > 1) {
                    const size_t mid = (lo + hi) / 2;
                    if (f->tree_offsets[mid] <= tb->b.source[r]) lo = mid;
                    else hi = mid;
                }
                tb->labelled[lo]++;
            }
    }
    for (size_t i = 0; i < n; i++) all[i] = (plan_key){tb->size[i], (int32_t)i, (int32_t)i};
    plan_sort(all, n);
    long rows = 0;
    for (int i = 0; i < tb->max_n; i++) rows += all[i].cost, tb->ids[i] = all[i].id;
    free(all);
    tb->max_rows = (int)rows;
    tb->max_edges = (int)rows; /* a tree of k nodes has k - 1 edges */
    /* The largest batch there can be, built once: every later batch fits its
     * room (no tree has fewer than one node), so treebatch_fill never allocates. */
    if (tree_batch_build(&tb->b, f, tb->ids, tb->max_n, 0, cfg, err)) {
        treebatch_free(tb);
        return -1;
    }
    return 0;
}

void treebatch_fill(treebatch *tb, long step) {
    const size_t n = tb->f->n;
    tb->epoch = step / tb->batches_per_epoch;
    tb->index = step % tb->batches_per_epoch;
    if (tb->order_epoch != tb->epoch) {
        plan_order(tb->order, n, tb->shuffle, tb->seed, tb->epoch);
        tb->order_epoch = tb->epoch;
    }
    const size_t first = (size_t)tb->index * tb->B;
    const int count = (int)(first + (size_t)tb->B <= n ? (size_t)tb->B : n - first);
    long nodes;
    const int mine = plan_share(tb->order, first, count, tb->size, tb->ranks, tb->rank, tb->keys, tb->load, tb->mine,
                                &nodes);
    tb->global_nodes = nodes;
    long labelled = 0;
    for (int i = 0; i < count; i++) labelled += tb->labelled[tb->order[first + (size_t)i]];
    tb->global_count = labelled > 0 ? (double)labelled : 1;
    for (int i = 0; i < mine; i++) tb->ids[i] = tb->mine[i];
    recur_err err = {0};
    /* Every tree passed the builder's checks in treebatch_init, which also
     * made room for the largest batch: this neither fails nor allocates. */
    if (tree_batch_build(&tb->b, tb->f, tb->ids, mine, 0, &tb->cfg, &err)) abort();
}
