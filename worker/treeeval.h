/* treeeval.h - a tree model's loss and accuracy on a forest (a split of a
 * tree dataset), and its predictions; no training.  Under MPI each rank
 * scores its share of every batch (treebatch.h) and the four sums are added
 * across ranks before tree_scores_finish. */
#ifndef RECUR_TREEEVAL_H
#define RECUR_TREEEVAL_H

#include "../core/error.h"
#include "../core/model.h"
#include "../core/tree.h"

/* The sums ranks add up: the cross-entropy of the labelled roots and nodes
 * (as training) and their count; argmax == label over the accuracy's labels,
 * and how many there are; the same per head (root, node) where the model has
 * the head and the forest its labels. */
enum { TS_LOSS, TS_COUNT, TS_CORRECT, TS_SCORED, TS_ROOT_CORRECT, TS_ROOT_SCORED, TS_NODE_CORRECT, TS_NODE_SCORED,
       TREE_SUMS };
typedef struct {
    double sum[TREE_SUMS];
    double loss, accuracy;      /* tree_scores_finish */
    double root_accuracy, node_accuracy; /* NaN where there is nothing to score */
} tree_scores;

/* Which labels accuracy counts: the roots' when the model has a root head and
 * the forest root labels, else the nodes'. */
int tree_accuracy_on_roots(const model_config *cfg, const tree_forest *f);
/* Scores this rank's share of f in batches of `batch` trees (file order). */
int tree_evaluate(const model *m, const tree_forest *f, int batch, int ranks, int rank, tree_scores *s,
                  recur_err *err);
void tree_scores_finish(tree_scores *s);

/* One prediction: tree `tree` (its index in the forest), node `node` (local
 * index; for the root head the root), the head ('r' root, 'n' node), the
 * argmax class and its probability, and the true label (-1: none). */
typedef struct {
    long tree, node;
    char head;
    int label, truth;
    double prob;
} tree_prediction;
typedef int (*tree_prediction_fn)(void *ctx, const tree_prediction *p);

/* Calls fn for each tree of f in order: its root head's prediction, then each
 * node's (local order), for the heads the model has.  Single process.  fn
 * returning non-zero stops (that value is returned). */
int tree_predict(const model *m, const tree_forest *f, int batch, tree_prediction_fn fn, void *ctx, recur_err *err);

#endif
