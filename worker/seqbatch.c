#include "seqbatch.h"

#include <stdlib.h>
#include <string.h>

#include "batchplan.h"

static int32_t length_of(const seq_split *s, int32_t i) { return (int32_t)(s->offsets[i + 1] - s->offsets[i]); }

int seqbatch_init(seqbatch *sb, const seq_dataset *ds, int which, int batch, int ranks, int rank, int shuffle,
                  uint64_t seed, recur_err *err) {
    memset(sb, 0, sizeof *sb);
    const seq_split *sp = &ds->split[which];
    if (batch < 1) return recur_fail(err, RECUR_EXIT_USAGE, "--batch: expected a positive number of sequences, found %d", batch);
    if (!sp->present || sp->n == 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "the dataset has no '%s' sequences", SEQ_SPLIT_NAMES[which]);
    if (sp->n > INT32_MAX || sp->total > INT32_MAX)
        return recur_fail(err, RECUR_EXIT_INPUT, "split '%s': %zu sequences of %zu steps is more than one process handles",
                          SEQ_SPLIT_NAMES[which], sp->n, sp->total);
    sb->ds = ds;
    sb->split = sp;
    sb->task = ds->task;
    sb->B = batch;
    sb->ranks = ranks;
    sb->rank = rank;
    sb->shuffle = shuffle;
    sb->seed = seed;
    const size_t n = sp->n;
    sb->batches_per_epoch = (long)((n + (size_t)batch - 1) / (size_t)batch);
    sb->order_epoch = -1;
    /* Capacity: any share holds at most min(B, n) sequences, none longer
     * than the longest, and no more rows than the min(B, n) longest together. */
    sb->max_n = (size_t)batch < n ? batch : (int)n;
    plan_key *keys = malloc(n * sizeof *keys);
    sb->len = malloc(n * sizeof(int32_t));
    if (!keys || !sb->len) {
        free(keys);
        seqbatch_free(sb);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        sb->len[i] = length_of(sp, (int32_t)i);
        keys[i] = (plan_key){sb->len[i], (int32_t)i, (int32_t)i};
    }
    plan_sort(keys, n);
    sb->max_T = keys[0].cost;
    size_t rows = 0;
    for (int i = 0; i < sb->max_n; i++) rows += (size_t)keys[i].cost;
    free(keys);
    if (rows > INT32_MAX / 4) return recur_fail(err, RECUR_EXIT_USAGE, "--batch %d: %zu steps in one batch is too many", batch, rows);
    sb->max_rows = (int)rows;
    const size_t F = (size_t)ds->input_size, K = (size_t)ds->output_size, R = rows, N = (size_t)sb->max_n;
    const int per_step = ds->per_step;
    sb->bs = calloc((size_t)sb->max_T, sizeof(int32_t));
    sb->seq = calloc(N, sizeof(int32_t));
    sb->order = calloc(n, sizeof(int32_t));
    sb->keys = calloc((size_t)batch, sizeof(plan_key));
    sb->load = calloc((size_t)ranks, sizeof(long));
    int ok = sb->bs && sb->seq && sb->order && sb->keys && sb->load;
    if (sp->tokens) ok = ok && (sb->tokens = calloc(R, sizeof(int32_t)));
    if (sp->features) ok = ok && (sb->features = calloc(R * F, sizeof(float)));
    if (ds->task != TASK_REGRESS) ok = ok && (sb->labels = calloc(per_step ? R : N, sizeof(int32_t)));
    else ok = ok && (sb->targets = calloc((per_step ? R : N) * K, sizeof(float)));
    if (!ok) {
        seqbatch_free(sb);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory for batches of %d sequences", batch);
    }
    return 0;
}

void seqbatch_free(seqbatch *sb) {
    free(sb->bs);
    free(sb->seq);
    free(sb->order);
    free(sb->keys);
    free(sb->load);
    free(sb->len);
    free(sb->tokens);
    free(sb->features);
    free(sb->labels);
    free(sb->targets);
    memset(sb, 0, sizeof *sb);
}

void seqbatch_fill(seqbatch *sb, long step) {
    const seq_split *sp = sb->split;
    const seq_dataset *ds = sb->ds;
    sb->epoch = step / sb->batches_per_epoch;
    sb->index = step % sb->batches_per_epoch;
    if (sb->order_epoch != sb->epoch) {
        plan_order(sb->order, sp->n, sb->shuffle, sb->seed, sb->epoch);
        sb->order_epoch = sb->epoch;
    }
    const size_t first = (size_t)sb->index * sb->B, n = sp->n;
    const int count = (int)(first + (size_t)sb->B <= n ? (size_t)sb->B : n - first);
    long steps;
    const int mine = plan_share(sb->order, first, count, sb->len, sb->ranks, sb->rank, sb->keys, sb->load, sb->seq, &steps);
    sb->global_steps = steps;
    const int per_step = ds->per_step;
    const double K = ds->task == TASK_REGRESS ? (double)ds->output_size : 1;
    sb->global_count = (per_step ? (double)steps : (double)count) * K;

    /* Pack this rank's share (net.h's layout). */
    sb->n = mine;
    sb->T = mine ? length_of(sp, sb->seq[0]) : 0;
    for (int t = 0; t < sb->T; t++) {
        int active = 0;
        while (active < mine && length_of(sp, sb->seq[active]) > t) active++;
        sb->bs[t] = active;
    }
    const size_t F = (size_t)ds->input_size, Kz = (size_t)ds->output_size;
    int row0 = 0;
    for (int t = 0; t < sb->T; row0 += sb->bs[t], t++)
        for (int s = 0; s < sb->bs[t]; s++) {
            const size_t src = (size_t)sp->offsets[sb->seq[s]] + (size_t)t, row = (size_t)row0 + (size_t)s;
            if (sb->tokens) sb->tokens[row] = sp->tokens[src];
            if (sb->features) memcpy(sb->features + row * F, sp->features + src * F, F * sizeof(float));
            if (per_step && sb->labels) sb->labels[row] = sp->step_labels[src];
            if (per_step && sb->targets) memcpy(sb->targets + row * Kz, sp->targets + src * Kz, Kz * sizeof(float));
        }
    sb->rows = row0;
    if (!per_step)
        for (int s = 0; s < mine; s++) {
            if (sb->labels) sb->labels[s] = sp->labels[sb->seq[s]];
            if (sb->targets) memcpy(sb->targets + (size_t)s * Kz, sp->seq_targets + (size_t)sb->seq[s] * Kz, Kz * sizeof(float));
        }
}

net_batch seqbatch_batch(const seqbatch *sb) {
    return (net_batch){.T = sb->T, .n = sb->n, .batch_sizes = sb->bs, .tokens = sb->tokens, .features = sb->features,
                       .labels = sb->labels, .targets = sb->targets};
}
