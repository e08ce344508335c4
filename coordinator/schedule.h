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

#endif
