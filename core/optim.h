/* optim.h - optimizers and gradient clipping over the flat arenas.
 *
 * The optimizer state (SGD momentum buffer, Adam's two moments) lives in one
 * arena with the parameter layout, so each update is one loop over n floats.
 * Formulas follow torch.optim exactly (see optim.c).
 */
#ifndef RECUR_OPTIM_H
#define RECUR_OPTIM_H

#include <stddef.h>

#include "error.h"

typedef enum { OPTIM_SGD = 0, OPTIM_ADAM } optim_kind;

typedef struct {
    optim_kind kind;
    float lr;
    float momentum;      /* sgd only; 0 = off */
    float weight_decay;  /* L2 added to the gradient, as torch does */
    float beta1, beta2, eps;  /* adam */
} optim_config;

typedef struct {
    optim_config cfg;
    size_t n;            /* number of parameters */
    long step;           /* updates applied so far (Adam's t) */
    float *state;        /* arena: sgd momentum (n) | adam exp_avg (n), exp_avg_sq (n); NULL for plain sgd */
    size_t state_len;    /* floats in `state` */
} optimizer;

const char *optim_name(optim_kind kind);
int optim_from_name(const char *name, optim_kind *out);
void optim_config_defaults(optim_config *c, optim_kind kind);
int optim_create(optimizer *o, const optim_config *cfg, size_t n, recur_err *err);
void optim_free(optimizer *o);
/* One update of params from grads with learning rate lr (the schedule's
 * current value; cfg.lr is the base). */
void optim_step(optimizer *o, float *params, const float *grads, float lr);

/* Global L2 norm of the gradient arena (accumulated in double). */
double grad_global_norm(const float *g, size_t n);
/* torch.nn.utils.clip_grad_norm_: scale = clip/(norm+1e-6), applied when < 1.
 * clip <= 0 turns clipping off.  Returns the norm before clipping. */
double grad_clip(float *g, size_t n, double clip);

#endif
