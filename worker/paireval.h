/* paireval.h - a seq2seq model's teacher-forced loss on a split of a pair
 * dataset (no training; dropout off).  Under MPI each rank scores its share
 * of every batch (pairbatch.h) and the caller adds the sums across ranks. */
#ifndef RECUR_PAIREVAL_H
#define RECUR_PAIREVAL_H

#include "../core/error.h"
#include "../core/model.h"
#include "../io/pairdata.h"

/* Sums (what ranks add up), as one vector of PAIR_SUMS doubles. */
enum { PS_TOKEN_LOSS, PS_TOKENS, PS_CORRECT, PS_STOP_LOSS, PS_LENGTH_LOSS, PS_PAIRS, PAIR_SUMS };

/* Adds this rank's share of split `sp` into sums[PAIR_SUMS] (zeroed first). */
int pair_evaluate(const model *m, const pair_split *sp, int batch, int ranks, int rank, double *sums, recur_err *err);

#endif
