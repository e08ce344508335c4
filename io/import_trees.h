/* import_trees.h - what the tree importers share (`recur data conllu --trees`,
 * `recur data labeled-text --trees balanced`): the two ways a tree is made
 * from a sentence, and the arrays of a tree split (io/treedata.h).
 *
 * A dependency tree comes from its words' heads (import_tree_from_heads):
 * node k is word k+1, its children the words whose HEAD is k+1, in sentence
 * order.  A balanced binary tree comes from a sentence's tokens
 * (import_trees_balanced): leaves 0..τ-1 are the tokens in order, then the
 * internal nodes (token -1) bottom-up, each over the left ceil(L/2) and the
 * right floor(L/2) leaves of its span; the root is the last node and the
 * depth ceil(log2 τ).
 */
#ifndef RECUR_IMPORT_TREES_H
#define RECUR_IMPORT_TREES_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"
#include "seqdata.h"
#include "treedata.h"

/* The child lists of the m words of a sentence from head[k] (1-based word
 * index, 0 for a root; every head in 0..m): co[0..m] (offsets into the
 * split's children, starting at `base`) and children[base ..] (local word
 * indices, m minus the roots of them).  Checks nothing: tree_shape does. */
void import_tree_from_heads(const int32_t *head, size_t m, int64_t base, int64_t *co, int32_t *children);

/* Allocates a split's arrays for n trees of `nodes` nodes and `edges`
 * edges (node_labels and root_labels when asked); present = 1. */
int import_tree_split_alloc(tree_split *t, size_t n, size_t nodes, size_t edges, int node_labels, int root_labels,
                            recur_err *err);

/* A balanced binary tree per sequence of seq (token inputs, classify): its
 * tokens the leaves, its label the root label (no node labels).  The
 * vocabulary and the label names move from seq to ds (seq keeps the rest:
 * free both).  On failure ds is freed and zeroed. */
int import_trees_balanced(seq_dataset *seq, tree_dataset *ds, recur_err *err);

#endif
