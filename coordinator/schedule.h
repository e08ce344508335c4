/* schedule.h - the learning rate of each step: optional linear warmup, then
 * constant, step decay or cosine decay.  A pure function of the step number,
 * so a resumed run continues the schedule exactly. */
#ifndef RECUR_SCHEDULE_H
#define RECUR_SCHEDULE_H

#include "../core/error.h"

typedef enum { SCHED_CONSTANT = 0, SCHED_STEP, SCHED_COSINE } schedule_kind;

typedef struct {
    schedule_kind kind;
    double lr;          /* base rate */
    double lr_min;      /* cosine floor */
    long warmup;        /* steps of linear warmup from lr/warmup to lr */
    long decay_every;   /* step decay: multiply by `decay` every this many steps */
    double decay;
    long total;         /* the run's total steps (cosine reaches lr_min there) */
} schedule;

int schedule_from_name(const char *name, schedule_kind *out);
/* lr for the step with 0-based index `step`. */
double schedule_lr(const schedule *s, long step);

/* Scheduled sampling (Bengio et al. 2015): at step i the decoder reads the
 * true previous token with probability eps_i and its own sample otherwise,
 * eps_i = max(0, 1 - i/k) (linear: pure sampling from step k on),
 * k^i (exp, 0 < k < 1), k / (k + exp(i/k)) (sigmoid, k >= 1).  Also a pure
 * function of the step. */
typedef enum { SAMPLING_NONE = 0, SAMPLING_LINEAR, SAMPLING_EXP, SAMPLING_SIGMOID } sampling_kind;
int sampling_from_name(const char *name, sampling_kind *out);
/* Whether k suits the schedule (see above). */
int sampling_k_valid(sampling_kind kind, double k);
/* 1 - eps_i: the probability of feeding the model's own sample at step i (0-based). */
double sampling_prob(sampling_kind kind, double k, long step);

#endif
