/* tree.h - recursive networks over trees (reference §10; issue 11 §2): the
 * batch layout, its builder, and forward/backward of a tree model.
 *
 * The same weights combine the children at every node (model.h: TASK_TREE):
 *   rnn_tanh  h_j = tanh(W_ih x_j + b_ih + W_hh sum_k h_k + b_hh)
 *   lstm      child-sum Tree-LSTM (Tai et al. 2015): with hs_j = sum_k h_k,
 *             i,o,u = sigm,sigm,tanh(W_ioux x_j + b_ioux + W_iouh hs_j + b_iouh)
 *             f_jk  = sigm(W_fx x_j + b_fx + W_fh h_k + b_fh)   per child k
 *             c_j = i*u + sum_k f_jk*c_k,  h_j = o*tanh(c_j)
 * x_j is the embedding of node j's token, 0 for a node without one (token -1).
 * Heads: softmax over Cr root classes on each root's h, and/or over Cn node
 * classes on every labelled node's h (label -1: no loss).
 *
 * Level-wise batching.  A node's height is 0 for a leaf, else 1 + the
 * largest of its children's.  A batch lists the nodes of all its trees by
 * height (level s = every node of height s), so a level only reads levels
 * below it: the engine runs one GEMM per weight matrix per level, forward
 * bottom-up and backward top-down, and moves rows between levels with one
 * gather/scatter over the batch's edge lists.  Built with one_node, every
 * level is a single node (each tree in post-order): the same code one node
 * at a time.
 *
 * core/ knows nothing of files: a forest (the arrays of a dataset split, the
 * layout of io/treedata.h) is read through tree_forest.
 */
#ifndef RECUR_TREE_H
#define RECUR_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"

/* Trees as a dataset stores them: tree i is nodes tree_offsets[i] ..
 * tree_offsets[i+1]-1, children are LOCAL indices within their tree. */
typedef struct {
    size_t n;                     /* trees */
    const int64_t *tree_offsets;  /* [n+1] */
    const int64_t *child_offsets; /* [nodes+1] node j's children: children[child_offsets[j] .. child_offsets[j+1]-1] */
    const int32_t *children;      /* [edges] local to the tree */
    const int32_t *tokens;        /* [nodes] -1: no token */
    const int32_t *node_labels;   /* [nodes] or NULL; -1: unlabelled */
    const int32_t *root_labels;   /* [n] or NULL; -1: unlabelled */
    const int32_t *roots;         /* [n] local index of each tree's root */
} tree_forest;

/* A batch: R rows (nodes) in level order, the edges grouped by parent row. */
typedef struct {
    int n, rows, edges, levels;
    int32_t *level_off;  /* [levels+1] level s = rows level_off[s] .. level_off[s+1]-1 */
    int32_t *edge_off;   /* [levels+1] the edges whose parent is in level s */
    int32_t *parent;     /* [edges] parent row (non-decreasing) */
    int32_t *child;      /* [edges] child row, in a lower level */
    int32_t *tokens;     /* [rows] -1: x = 0 */
    int32_t *node_labels;/* [rows] -1: no loss (every node when the forest or the model has no node labels) */
    int32_t *roots;      /* [n] row of each tree's root */
    int32_t *root_labels;/* [n] -1: no loss (likewise) */
    int64_t *source;     /* [rows] the node's index in the forest (predictions are written back by it) */
    /* Capacity (the builder grows it). */
    int cap_n, cap_rows, cap_edges;
    int32_t *scratch;    /* builder's: heights, stacks */
} tree_batch;

/* Rows `ids[0..count-1]` of forest f (trees, in that order) into b, in
 * levels (one_node: a level per node, each tree in post-order).  Checks what
 * the engine relies on: each tree is a tree (every node reached once from its
 * root, children in range), tokens in [-1, V), labels in [-1, classes) for
 * the heads cfg has (labels of a head it lacks are read as -1).  Fails with
 * RECUR_EXIT_INPUT naming the tree and node. */
int tree_batch_build(tree_batch *b, const tree_forest *f, const int64_t *ids, int count, int one_node,
                     const model_config *cfg, recur_err *err);
void tree_batch_free(tree_batch *b);
/* What a batch's loss is averaged over: labelled roots plus labelled nodes. */
long tree_batch_count(const tree_batch *b);

#define NET_REAL float
#define NET_SFX(name) name##_f32
#include "tree_decl.h"
#undef NET_REAL
#undef NET_SFX

#define NET_REAL double
#define NET_SFX(name) name##_f64
#include "tree_decl.h"
#undef NET_REAL
#undef NET_SFX

typedef tree_workspace_f32 tree_workspace;
#define tree_workspace_create tree_workspace_create_f32
#define tree_workspace_free tree_workspace_free_f32
#define tree_forward tree_forward_f32
#define tree_backward tree_backward_f32

#endif
