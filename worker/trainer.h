/* trainer.h - one rank's training step: its streams' batch, forward,
 * backward with the gradient reduction overlapped (comm.h), clip with the
 * global norm, the same update on every rank.  Owns the activation workspace,
 * the batcher and the reducer; borrows the model and the optimizer. */
#ifndef RECUR_TRAINER_H
#define RECUR_TRAINER_H

#include "../core/net.h"
#include "../core/optim.h"
#include "../core/seq2seq.h"
#include "batcher.h"
#include "comm.h"
#include "pairbatch.h"
#include "seqbatch.h"
#include "treebatch.h"

enum { PHASE_FORWARD, PHASE_BACKWARD, PHASE_ALLREDUCE, PHASE_OPTIMIZER, PHASE_COUNT };
extern const char *const PHASE_NAMES[PHASE_COUNT];

typedef struct {
    model *m;
    optimizer *opt;
    net_workspace ws;
    int sequences;          /* 0: token streams (batcher `data`); 1: whole sequences (seqbatch `seqs`);
                             * 2: (source, target) pairs (pairbatch `pairs`, workspace `s2s`);
                             * 3: trees (treebatch `trees`, workspace `tws`) */
    batcher data;
    seqbatch seqs;
    pairbatch pairs;
    s2s_workspace s2s;
    treebatch trees;
    tree_workspace tws;
    uint64_t seed;          /* dropout masks: from (seed, step, rank) */
    float sample_prob;      /* seq2seq: scheduled sampling's chance of feeding the model's own sample (the caller
                             * sets it before each step; 0 = teacher forcing) */
    int rank;
    grad_reducer reducer;
    int ranks;              /* R; the reducer is used only when R > 1 */
    int global_streams;     /* B = R * data.nstreams */
    double clip;            /* global-norm clip; 0 = off */
    long step;              /* steps done so far (the next step is step+1, 1-based) */
    long tokens_seen;       /* over all ranks */
    int debug;              /* check every tensor for NaN/Inf after each phase */
    double phase_seconds[PHASE_COUNT];
} trainer;

typedef struct {
    double loss;            /* mean cross-entropy of the step over all ranks, before its update */
    double grad_norm;       /* global L2 norm before clipping */
    long epoch;             /* 0-based epoch the step belonged to */
    int stop;               /* some rank asked to stop (its flag was set when the step began) */
    char bad[256];          /* debug: the first NaN/Inf found ("" if none): step, phase, layer, tensor */
} step_result;

/* Language model: tokens are this rank's nstreams streams of stream_len (nstreams*stream_len + 1 tokens). */
int trainer_init(trainer *tr, model *m, optimizer *opt, const int32_t *tokens, size_t stream_len, int nstreams,
                 int ranks, int rank, int k, double clip, recur_err *err);
/* Sequence tasks: batches of `batch` sequences (global, split among ranks by
 * step count) of the train split; see seqbatch.h for shuffle and seed.
 * dropout in [0, 1). */
int trainer_init_sequences(trainer *tr, model *m, optimizer *opt, const seq_dataset *ds, int batch, int ranks,
                           int rank, int shuffle, uint64_t seed, float dropout, double clip, recur_err *err);
/* seq2seq: batches of `batch` pairs of the train split (pairbatch.h). */
int trainer_init_pairs(trainer *tr, model *m, optimizer *opt, const pair_dataset *ds, int batch, int ranks, int rank,
                       int shuffle, uint64_t seed, float dropout, double clip, recur_err *err);
/* Trees: batches of `batch` trees (global, split among ranks by node count)
 * of the forest `f` (the train split), checked against the model here. */
int trainer_init_trees(trainer *tr, model *m, optimizer *opt, const tree_forest *f, int batch, int ranks, int rank,
                       int shuffle, uint64_t seed, double clip, recur_err *err);
/* Language model: turns on dropout (trainer_init leaves it off); masks are
 * drawn from (seed, step, rank).  Call before the first step. */
int trainer_set_dropout(trainer *tr, float dropout, uint64_t seed, recur_err *err);
void trainer_free(trainer *tr);
/* Steps in an epoch: stream windows, or batches of sequences. */
long trainer_steps_per_epoch(const trainer *tr);
/* One TBPTT step at learning rate lr; states reset at the start of each epoch.
 * stop_local is this rank's stop request; res->stop says whether any rank made one. */
void trainer_step(trainer *tr, float lr, int stop_local, step_result *res);

#endif
