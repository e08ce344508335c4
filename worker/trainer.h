/* trainer.h - one rank's training step: batch, forward, backward, clip,
 * update.  Owns the activation workspace and the batcher; borrows the model
 * and the optimizer. */
#ifndef RECUR_TRAINER_H
#define RECUR_TRAINER_H

#include "../core/lm.h"
#include "../core/optim.h"
#include "batcher.h"

typedef struct {
    model *m;
    optimizer *opt;
    lm_workspace ws;
    batcher data;
    double clip;            /* global-norm clip; 0 = off */
    long step;              /* steps done so far (the next step is step+1, 1-based) */
    long tokens_seen;
} trainer;

typedef struct {
    double loss;            /* mean cross-entropy of the step, before its update */
    double grad_norm;       /* global L2 norm before clipping */
    long epoch;             /* 0-based epoch the step belonged to */
} step_result;

int trainer_init(trainer *tr, model *m, optimizer *opt, const int32_t *tokens, size_t n, int B, int k, double clip,
                 const char *source, recur_err *err);
void trainer_free(trainer *tr);
/* One TBPTT step at learning rate lr.  States reset at the start of each epoch. */
void trainer_step(trainer *tr, float lr, step_result *res);

#endif
