/* gradcheck.h - `recur train --gradcheck`: the analytic gradient of the real
 * model on a real batch against central finite differences, in double
 * precision (the same engine compiled for double), on a sample of
 * parameters of every tensor. */
#ifndef RECUR_GRADCHECK_H
#define RECUR_GRADCHECK_H

#include <stdint.h>

#include "../core/error.h"
#include "../core/model.h"
#include "../core/net.h"

typedef struct {
    double worst_rel;      /* largest relative error found */
    char worst_at[96];     /* tensor[index] where it was */
    int checked;           /* parameters compared */
} gradcheck_result;

/* inputs/targets: time-major [T*B] batch.  per_tensor parameters are sampled
 * from each tensor (evenly spaced, deterministic). */
int gradcheck_model(const model *m, const int32_t *inputs, const int32_t *targets, int B, int T, int per_tensor,
                    gradcheck_result *res, recur_err *err);
/* Any batch of the engine (a packed batch of sequences: seqbatch_batch), its
 * loss divided by `count` (as training divides it).  Dropout stays off: the
 * check is of the deterministic model. */
int gradcheck_batch(const model *m, const net_batch *b, double count, int per_tensor, gradcheck_result *res,
                    recur_err *err);

#endif
