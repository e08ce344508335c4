/* seqtask.h - what the subcommands share about sequence tasks: the model a
 * sequence dataset calls for, whether a model fits a dataset (train --init,
 * --resume, eval, predict: one check, one wording), and the names of the
 * options that shape a sequence model. */
#ifndef RECUR_SEQTASK_H
#define RECUR_SEQTASK_H

#include <stddef.h>

#include "../core/error.h"
#include "../core/model.h"
#include "../core/tree.h"
#include "../io/checkpoint.h"
#include "../io/pairdata.h"
#include "../io/seqdata.h"
#include "../io/treedata.h"

/* "concat" / "sum". */
const char *seqtask_merge_name(merge_kind m);
int seqtask_merge_from_name(const char *name, merge_kind *out);

/* The dataset's part of a model: task, inputs (V or F), outputs (C or K),
 * per_step.  The caller sets cell, sizes, directions and pooling. */
void seqtask_config_from_data(model_config *cfg, const seq_dataset *ds);

/* "classify, tokens V=50, C=3" / "regress per sequence, features F=2, K=1" /
 * "language modelling, V=65". */
void seqtask_describe_model(const model_config *cfg, char *buf, size_t len);
void seqtask_describe_data(const seq_dataset *ds, char *buf, size_t len);

/* 0 when the model `cfg` (from model_path) can be trained or scored on the
 * sequence dataset `ds` (from data_path): same task, same kind and number of
 * inputs, same outputs, same per-step/per-sequence targets.  Otherwise
 * RECUR_EXIT_INPUT with one message naming both files, e.g.
 *   "runs/m.h5 is a model for classify, tokens V=50, C=3; tags.h5 holds
 *    tag, tokens V=50, C=5: a task the checkpoint was not trained for"
 * `role` says how the model was named ("--init", "--resume", "--model"). */
int seqtask_check_fit(const model_config *cfg, const char *model_path, const char *role, const seq_dataset *ds,
                      const char *data_path, recur_err *err);

/* The same for a token dataset (recur-tokens, V entries in /vocab): only a
 * language model of V tokens fits. */
int seqtask_check_fit_tokens(const model_config *cfg, const char *model_path, const char *role, int vocab_size,
                             const char *data_path, recur_err *err);

/* The same for a pair dataset: only a seq2seq model with its two
 * vocabularies' sizes fits. */
int seqtask_check_fit_pairs(const model_config *cfg, const char *model_path, const char *role, const pair_dataset *ds,
                            const char *data_path, recur_err *err);
/* The longest target of any split (--end length's default --max-len). */
int seqtask_longest_target(const pair_dataset *ds);

/* Trees (core/tree.h): --tree-cell tanh is cell rnn_tanh (the child-sum
 * recursive net), lstm the child-sum Tree-LSTM. */
int seqtask_tree_cell_from_name(const char *name, cell_kind *out);
const char *seqtask_tree_cell_name(cell_kind cell);
/* A split of a tree dataset as core/tree.h reads it (n = 0 when absent). */
tree_forest seqtask_forest(const tree_split *s);
/* A tree model's shape from a tree dataset: vocabulary, root and node
 * classes (0 for labels the dataset does not have). */
void seqtask_config_from_trees(model_config *cfg, const tree_dataset *ds);
/* seqtask_check_fit for a tree dataset: a tree model of its vocabulary, with
 * a head for some labels the dataset has, of the dataset's classes (a head
 * without labels in the dataset is allowed: it scores nothing). */
int seqtask_check_fit_trees(const model_config *cfg, const char *model_path, const char *role, const tree_dataset *ds,
                            const char *data_path, recur_err *err);

/* SPLIT_TRAIN, SPLIT_VAL or SPLIT_TEST for "train", "val", "test"; -1 otherwise. */
int seqtask_split_from_name(const char *name);

/* eval and predict: the checkpoint and the sequence dataset loaded, checked
 * against each other (seqtask_check_fit, role "--model"), and the split
 * named by split_name, which must be present.  On failure the caller still
 * frees *ck and *ds (checkpoint_in_free, seqdata_free; both start zeroed). */
int seqtask_load(const char *model_path, const char *data_path, const char *split_name, checkpoint_in *ck,
                 seq_dataset *ds, int *which, recur_err *err);

/* The same for a tree dataset (seqtask_check_fit_trees); on failure the
 * caller still frees *ck and *ds (checkpoint_in_free, treedata_free). */
int seqtask_load_trees(const char *model_path, const char *data_path, const char *split_name, checkpoint_in *ck,
                       tree_dataset *ds, int *which, recur_err *err);

#endif
