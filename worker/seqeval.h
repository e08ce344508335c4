/* seqeval.h - a model's loss and metrics on a split of a sequence dataset,
 * and its predictions (no training; dropout off).
 *
 * Under MPI each rank scores its share of every batch (seqbatch.h) and the
 * sums in seq_scores are added across ranks (seq_scores_sum_doubles: one
 * flat vector) before seq_scores_finish. */
#ifndef RECUR_SEQEVAL_H
#define RECUR_SEQEVAL_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"
#include "../core/model.h"
#include "../io/seqdata.h"



typedef struct {
    /* Sums (what ranks add up): */
    double loss_sum, count;     /* loss as in training: CE per sequence or step, squared error per element (normalised units) */
    double correct;             /* classify, tag */
    double *tp, *fp, *fn;       /* [C] per class, for macro F1 */
    double sq_err, abs_err, elements; /* regress, in ORIGINAL units (un-normalised with /norm/target_*) */
    int C;
    /* Results (seq_scores_finish): */
    double loss, accuracy, macro_f1, rmse, mae, mse;
} seq_scores;

/* Scores this rank's share of `which` in batches of `batch` sequences.
 * Output recurrence (model.h): free_running 0 feeds back the truth (teacher
 * forcing, the loss training reports), 1 the model's own previous
 * predictions (what predict does); no effect on other models. */
int seq_evaluate(const model *m, const seq_dataset *ds, int which, int batch, int ranks, int rank, int free_running,
                 seq_scores *s, recur_err *err);
/* The sums as one vector of doubles, and back (for one MPI allreduce). */
size_t seq_scores_len(const seq_scores *s);
void seq_scores_pack(const seq_scores *s, double *v);
void seq_scores_unpack(seq_scores *s, const double *v);
void seq_scores_finish(seq_scores *s);
void seq_scores_free(seq_scores *s);

/* One prediction: sequence `seq` of the split (file order), step `step`
 * (-1 for a per-sequence head); classify/tag: the argmax class and its
 * probability, `probs` [C]; regress: `values` [K] in original units. */
typedef struct {
    long seq, step;
    int label;
    double prob;
    const float *probs;
    const double *values;
    int width;
} seq_prediction;
typedef int (*seq_prediction_fn)(void *ctx, const seq_prediction *p);

/* Calls fn for every sequence (and step, per-step heads) of `which` in file
 * order, single process (output recurrence: free-running).  fn returning non-zero stops (that value is returned). */
int seq_predict(const model *m, const seq_dataset *ds, int which, int batch, seq_prediction_fn fn, void *ctx,
                recur_err *err);

#endif
