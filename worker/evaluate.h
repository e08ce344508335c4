/* evaluate.h - loss of a model on a token sequence (no training).
 *
 * S streams over N tokens, L = floor((N-1)/S): stream j predicts
 * tokens[j*L + i + 1] from tokens[j*L .. j*L + i] for i in [0, L), starting
 * from a zero state, processed in windows with carried state (so the result
 * does not depend on the window size).  With S = 1 that is exactly the mean
 * cross-entropy of predicting tokens[i+1] from tokens[0..i], i = 0..N-2;
 * with S > 1 the last (N-1) - S*L predictions are skipped and each stream
 * starts cold, which is faster and slightly pessimistic. */
#ifndef RECUR_EVALUATE_H
#define RECUR_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"
#include "../core/model.h"

typedef struct {
    double loss;      /* mean cross-entropy, nats */
    double loss_sum;  /* sum of the cross-entropies (what ranks add up) */
    size_t count;     /* predictions scored */
    size_t correct;   /* argmax == target */
} eval_result;

int evaluate(const model *m, const int32_t *tokens, size_t n, int streams, eval_result *res, recur_err *err);
/* The same over `nstreams` consecutive streams of length stream_len held in
 * tokens (nstreams*stream_len + 1 of them): one rank's share. */
int evaluate_streams(const model *m, const int32_t *tokens, size_t stream_len, int nstreams, eval_result *res,
                     recur_err *err);

#endif
