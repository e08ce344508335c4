#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "../core/rng.h"

const char *const PHASE_NAMES[PHASE_COUNT] = {"forward", "backward", "allreduce wait", "optimizer"};

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static long first_bad(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return (long)i;
    return -1;
}

/* Debug: the first non-finite value of an arena (params or grads), named by tensor. */
static int check_arena(const trainer *tr, const float *arena, const char *phase, const char *what, step_result *res) {
    const model *m = tr->m;
    for (int t = 0; t < m->num_tensors; t++) {
        long i = first_bad(arena + m->tensors[t].offset, m->tensors[t].count);
        if (i >= 0) {
            snprintf(res->bad, sizeof res->bad, "step %ld, phase %s: /model/%s %s[%ld] = %g", tr->step + 1, phase,
                     m->tensors[t].name, what, i, (double)arena[m->tensors[t].offset + (size_t)i]);
            return -1;
        }
    }
    return 0;
}

/* Debug: the activations of the last forward, layer by layer. */
static int check_activations(const trainer *tr, step_result *res) {
    const net_workspace *w = &tr->ws;
    const size_t rows = (size_t)w->rows, H = (size_t)w->H;
    for (int l = 0; l < w->cfg.num_layers; l++)
        for (int d = 0; d < w->D; d++) {
            long i = first_bad(w->layer[l][d].y, rows * H);
            if (i >= 0) {
                snprintf(res->bad, sizeof res->bad,
                         "step %ld, phase forward: layer %d%s hidden state h[t=%ld, stream %ld, unit %ld] = %g",
                         tr->step + 1, l, d ? " (reverse)" : "", (long)(i / (long)H) / w->n, (long)(i / (long)H) % w->n,
                         i % (long)H, (double)w->layer[l][d].y[i]);
                return -1;
            }
        }
    const int O = net_head_out(&w->cfg);
    long i = first_bad(w->out, (size_t)w->out_rows * O);
    if (i >= 0) {
        snprintf(res->bad, sizeof res->bad, "step %ld, phase forward: head output[row %ld, %ld] = %g", tr->step + 1,
                 i / O, i % O, (double)w->out[i]);
        return -1;
    }
    return 0;
}

/* What every kind of run sets first: the model, its optimizer and this rank's place. */
static void trainer_begin(trainer *tr, model *m, optimizer *opt, int ranks, int rank, uint64_t seed, double clip,
                          int sequences) {
    memset(tr, 0, sizeof *tr);
    tr->m = m;
    tr->opt = opt;
    tr->clip = clip;
    tr->ranks = ranks;
    tr->rank = rank;
    tr->seed = seed;
    tr->sequences = sequences;
}

/* seq2seq and trees: one allreduce once backward is over (no grads_ready callback). */
static int trainer_reduce_after_backward(trainer *tr, model *m, int ranks, recur_err *err) {
    if (ranks > 1 && reducer_init(&tr->reducer, m, err)) {
        trainer_free(tr);
        return -1;
    }
    return 0;
}

static void on_grads_ready(void *ctx, int first, int last) { reducer_tensors_ready(ctx, first, last); }
static int trainer_finish_init(trainer *tr, model *m, int ranks, recur_err *err);

int trainer_init(trainer *tr, model *m, optimizer *opt, const int32_t *tokens, size_t stream_len, int nstreams,
                 int ranks, int rank, int k, double clip, recur_err *err) {
    trainer_begin(tr, m, opt, ranks, rank, 0, clip, 0);
    tr->global_streams = nstreams * ranks;
    if (batcher_init(&tr->data, tokens, stream_len, nstreams, k, err)) return -1;
    if (net_workspace_create(&tr->ws, &m->cfg, nstreams, k, nstreams * k, 0, err)) {
        batcher_free(&tr->data);
        return -1;
    }
    return trainer_finish_init(tr, m, ranks, err);
}

/* What both kinds share once the workspace exists: the reducer, the A/B switch. */
static int trainer_finish_init(trainer *tr, model *m, int ranks, recur_err *err) {
    if (ranks > 1) {
        if (reducer_init(&tr->reducer, m, err)) {
            trainer_free(tr);
            return -1;
        }
        tr->ws.grads_ready = on_grads_ready;
        tr->ws.grads_ready_ctx = &tr->reducer;
    }
    /* RECUR_NO_RGEMM=1: every recurrent product through cblas (A/B benchmarks, debugging). */
    const char *no = getenv("RECUR_NO_RGEMM");
    tr->ws.no_packing = no && *no && strcmp(no, "0") != 0;
    return 0;
}

int trainer_init_sequences(trainer *tr, model *m, optimizer *opt, const seq_dataset *ds, int batch, int ranks,
                           int rank, int shuffle, uint64_t seed, float dropout, double clip, recur_err *err) {
    trainer_begin(tr, m, opt, ranks, rank, seed, clip, 1);
    if (seqbatch_init(&tr->seqs, ds, SPLIT_TRAIN, batch, ranks, rank, shuffle, seed, err)) return -1;
    const seqbatch *sb = &tr->seqs;
    if (net_workspace_create(&tr->ws, &m->cfg, sb->max_n, sb->max_T, sb->max_rows, dropout, err)) {
        seqbatch_free(&tr->seqs);
        return -1;
    }
    return trainer_finish_init(tr, m, ranks, err);
}

int trainer_init_pairs(trainer *tr, model *m, optimizer *opt, const pair_dataset *ds, int batch, int ranks, int rank,
                       int shuffle, uint64_t seed, float dropout, double clip, recur_err *err) {
    trainer_begin(tr, m, opt, ranks, rank, seed, clip, 2);
    if (pairbatch_init(&tr->pairs, &ds->split[SPLIT_TRAIN], "train", m->cfg.vocab_size, m->cfg.end == END_EOS, batch,
                       ranks, rank, shuffle, seed, err))
        return -1;
    const pairbatch *pb = &tr->pairs;
    if (s2s_workspace_create(&tr->s2s, m, pb->max_n, pb->max_Ts, pb->max_Re, pb->max_Td, pb->max_Rd, dropout, err)) {
        pairbatch_free(&tr->pairs);
        return -1;
    }
    return trainer_reduce_after_backward(tr, m, ranks, err);
}

int trainer_init_trees(trainer *tr, model *m, optimizer *opt, const tree_forest *f, int batch, int ranks, int rank,
                       int shuffle, uint64_t seed, double clip, recur_err *err) {
    trainer_begin(tr, m, opt, ranks, rank, seed, clip, 3);
    if (treebatch_init(&tr->trees, f, &m->cfg, batch, ranks, rank, shuffle, seed, err)) return -1;
    const treebatch *tb = &tr->trees;
    if (tree_workspace_create(&tr->tws, &m->cfg, tb->max_n, tb->max_rows, tb->max_edges, err)) {
        treebatch_free(&tr->trees);
        return -1;
    }
    return trainer_reduce_after_backward(tr, m, ranks, err); /* one bucket: a tree model is small */
}

int trainer_set_dropout(trainer *tr, float dropout, uint64_t seed, recur_err *err) {
    tr->seed = seed;
    if (dropout == tr->ws.dropout) return 0;
    net_workspace w;
    if (net_workspace_create(&w, &tr->m->cfg, tr->ws.max_n, tr->ws.max_T, tr->ws.max_rows, dropout, err)) return -1;
    w.grads_ready = tr->ws.grads_ready;
    w.grads_ready_ctx = tr->ws.grads_ready_ctx;
    w.no_packing = tr->ws.no_packing;
    net_workspace_free(&tr->ws);
    tr->ws = w;
    return 0;
}

long trainer_steps_per_epoch(const trainer *tr) {
    return tr->sequences == 3 ? tr->trees.batches_per_epoch
           : tr->sequences == 2 ? tr->pairs.batches_per_epoch
           : tr->sequences    ? tr->seqs.batches_per_epoch
                              : tr->data.steps_per_epoch;
}

void trainer_free(trainer *tr) {
    net_workspace_free(&tr->ws);
    batcher_free(&tr->data);
    seqbatch_free(&tr->seqs);
    pairbatch_free(&tr->pairs);
    s2s_workspace_free(&tr->s2s);
    treebatch_free(&tr->trees);
    tree_workspace_free(&tr->tws);
    reducer_free(&tr->reducer);
}

/* This step's dropout masks: from the run's seed, the step and the rank. */
static uint64_t step_seed(const trainer *tr) {
    rng_state r;
    rng_seed(&r, tr->seed ^ ((uint64_t)tr->step * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)tr->rank << 48));
    return rng_next(&r);
}

/* This rank's share of the step's batch: forward and backward, gradients
 * into m->grads scaled by 1 / the GLOBAL count (every rank scales by it, so
 * the summed gradient is exactly the gradient of the global mean).  Returns
 * the local loss sum; *count, *global_steps describe the global batch. */
static double run_batch(trainer *tr, step_result *res, double *count, long *global_steps, double *t_fwd) {
    model *m = tr->m;
    const uint64_t seed = step_seed(tr);
    double loss = 0;
    if (tr->sequences == 3) {
        treebatch_fill(&tr->trees, tr->step);
        *count = tr->trees.global_count;
        *global_steps = tr->trees.global_nodes;
        if (tr->trees.b.n == 0) return *t_fwd = seconds(), 0;
        loss = tree_forward(&tr->tws, m, m->params, &tr->trees.b);
        *t_fwd = seconds();
        tree_backward(&tr->tws, m, m->params, m->grads, (float)(1.0 / *count));
        return loss;
    }
    if (tr->sequences == 2) {
        pairbatch_fill(&tr->pairs, tr->step);
        s2s_batch b = pairbatch_batch(&tr->pairs);
        b.dropout_seed = seed;
        b.sample_prob = tr->sample_prob;
        *count = tr->pairs.global_count;
        *global_steps = tr->pairs.global_steps;
        if (b.n == 0) return *t_fwd = seconds(), 0;
        s2s_loss l;
        s2s_forward(&tr->s2s, m, m->params, &b, &l);
        *t_fwd = seconds();
        s2s_backward(&tr->s2s, m, m->params, m->grads, &b, (float)(1.0 / *count));
        return l.tokens + l.stop + l.length;
    }
    net_batch batch;
    const long steps_in_epoch = trainer_steps_per_epoch(tr);
    if (tr->sequences) {
        seqbatch_fill(&tr->seqs, tr->step);
        batch = seqbatch_batch(&tr->seqs);
        *count = tr->seqs.global_count;
        *global_steps = tr->seqs.global_steps;
    } else {
        batcher *bt = &tr->data;
        const long pos = tr->step % steps_in_epoch;
        if (pos == 0) net_reset_state(&tr->ws);
        batcher_fill(bt, pos);
        batch = net_window(bt->k, bt->nstreams, bt->inputs, bt->targets);
        *count = (double)tr->global_streams * bt->k;
        *global_steps = (long)*count;
    }
    batch.dropout_seed = seed;
    if (batch.n == 0) { /* a short last batch left this rank nothing: it still joins the reduction */
        *t_fwd = seconds();
        if (tr->ranks > 1) reducer_tensors_ready(&tr->reducer, 0, m->num_tensors - 1);
        return 0;
    }
    loss = net_forward(&tr->ws, m, m->params, &batch);
    *t_fwd = seconds();
    if (tr->debug && !res->bad[0]) check_activations(tr, res);
    net_backward(&tr->ws, m, m->params, m->grads, &batch, (float)(1.0 / *count));
    return loss;
}

void trainer_step(trainer *tr, float lr, int stop_local, step_result *res) {
    model *m = tr->m;
    const long steps_in_epoch = trainer_steps_per_epoch(tr);
    memset(m->grads, 0, m->num_params * sizeof(float));
    res->bad[0] = 0;
    double count, t1;
    long global_steps;
    const double t0 = seconds();
    double sums[3] = {run_batch(tr, res, &count, &global_steps, &t1), stop_local ? 1.0 : 0.0, 0};
    if (tr->sequences >= 2 && tr->ranks > 1) reducer_tensors_ready(&tr->reducer, 0, m->num_tensors - 1);
    double t2 = seconds();
    if (tr->debug && !res->bad[0]) check_arena(tr, m->grads, "backward", "gradient", res);
    if (tr->ranks > 1) {
        reducer_wait(&tr->reducer);
        sums[2] = res->bad[0] ? 1 : 0; /* debug: a bad value on any rank stops all */
        comm_sum_doubles(sums, 3);
        if (sums[2] > 0 && !res->bad[0])
            snprintf(res->bad, sizeof res->bad, "step %ld: another rank found a non-finite value (see its message)",
                     tr->step + 1);
    }
    double t3 = seconds();
    if (tr->debug && !res->bad[0]) check_arena(tr, m->grads, "allreduce", "reduced gradient", res);
    res->loss = sums[0] / count;
    res->stop = sums[1] > 0;
    res->grad_norm = grad_clip(m->grads, m->num_params, tr->clip);
    res->epoch = tr->step / steps_in_epoch;
    optim_step(tr->opt, m->params, m->grads, lr);
    double t4 = seconds();
    if (tr->debug && !res->bad[0]) check_arena(tr, m->params, "optimizer", "weight", res);
    tr->phase_seconds[PHASE_FORWARD] += t1 - t0;
    tr->phase_seconds[PHASE_BACKWARD] += t2 - t1;
    tr->phase_seconds[PHASE_ALLREDUCE] += t3 - t2;
    tr->phase_seconds[PHASE_OPTIMIZER] += t4 - t3;
    tr->step++;
    tr->tokens_seen += global_steps;
}
