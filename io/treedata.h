/* treedata.h - tree datasets in HDF5 (the "recur-trees" contract): a rooted
 * tree per example (dependency trees, binary constituency-style trees) for
 * tree-structured models (TreeLSTM and the like).
 *
 * Root attributes: format="recur-trees" (string), version=1 (integer).
 * One group per split: /train (required), /val, /test (optional), each with
 *   tree_offsets   int64 [n+1]  tree i is nodes tree_offsets[i] ..
 *                               tree_offsets[i+1]-1 of the split; [0] = 0,
 *                               strictly increasing (every tree at least one
 *                               node), [n] = N (the nodes of the split); n >= 1
 *   child_offsets  int64 [N+1]  node j's children are children[child_offsets[j]
 *                               .. child_offsets[j+1]-1], in order; [0] = 0,
 *                               non-decreasing, [N] = E
 *   children       int32 [E]    each child as a node index LOCAL to its tree
 *                               (0 .. size-1: binary and n-ary trees alike).
 *                               Left out when E = 0 (every tree one node).
 *   tokens         int32 [N]    a node's token id in [0, V), or -1 for an
 *                               internal node without a word; every leaf
 *                               (no children) has a token
 *   node_labels    int32 [N]    optional: in [0, C), or -1 = no label here
 *                               (ignored by losses)
 *   root_labels    int32 [n]    optional: in [0, Cr)
 * At least one of node_labels / root_labels, and the same ones in every split.
 * Each tree is a single rooted tree: every node but one (the root) is listed
 * exactly once as a child, by a node of the same tree, and every node is
 * reached from the root (no node is its own ancestor).  Nodes may come in any
 * order within a tree (recur's importers put a dependency tree's words in
 * sentence order, a balanced tree's leaves first, in order, then its internal
 * nodes bottom-up).
 * Root:
 *   /vocab        uint8 [V]                           character vocabularies
 *   /vocab_words  variable-length UTF-8 strings [V]   word vocabularies
 *                 (exactly one of the two)
 *   /node_label_names, /root_label_names  variable-length strings [C], [Cr]
 *                 optional: C and Cr are their lengths when present, else 1
 *                 + the largest label of any split.
 *
 * The reader is as hostile as seqdata_load (io/seqdata_parts.h): any integer
 * width (signed or not) where the contract says int32/int64/uint8, fixed- or
 * variable-length strings, every attribute, rank, dtype and extent checked
 * against the SEQ_MAX_* caps and the stored bytes before anything is read,
 * and one-line errors "<file>: <field>: expected X, found Y".
 */
#ifndef RECUR_TREEDATA_H
#define RECUR_TREEDATA_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"
#include "seqdata.h"

#define TREE_FORMAT "recur-trees"
#define TREE_VERSION 1

typedef struct {
    int present;             /* the group exists */
    size_t n, nodes, edges;  /* trees, N, E (= N - n in a valid split) */
    int64_t *tree_offsets;   /* [n+1] */
    int64_t *child_offsets;  /* [nodes+1] */
    int32_t *children;       /* [edges] local to the tree */
    int32_t *tokens;         /* [nodes], -1 = no token */
    int32_t *node_labels;    /* [nodes] or NULL; -1 = unlabelled */
    int32_t *root_labels;    /* [n] or NULL */
    int32_t *roots;          /* [n] computed on load: the local index of each tree's root */
} tree_split;

typedef struct {
    int vocab_size, num_node_classes, num_root_classes; /* 0 when absent */
    uint8_t *vocab;               /* [V] character vocabulary, or NULL */
    char **vocab_words;           /* [V] or NULL */
    char **node_label_names;      /* [C] or NULL */
    char **root_label_names;      /* [Cr] or NULL */
    tree_split split[SPLIT_COUNT];   /* SPLIT_TRAIN/VAL/TEST from seqdata.h */
} tree_dataset;

/* Reads and validates the whole file against the contract above, BEFORE
 * reading data into memory sized from the file, and fills every split's
 * roots.  On failure fills err (RECUR_EXIT_INPUT) with one line
 * "<path>: <field>: expected X, found Y" and leaves *ds zeroed. */
int treedata_load(const char *path, tree_dataset *ds, recur_err *err);
/* Frees and zeroes; safe on a zeroed or failed-load dataset. */
void treedata_free(tree_dataset *ds);

/* Writes `ds` in the layout above, atomically (io/atomic.h), without
 * timestamps (identical input -> identical bytes).  Splits with present=0 are
 * left out; roots is not stored.  treedata_check runs first (RECUR_EXIT_FAIL
 * naming the field; nothing written).  I/O failures: RECUR_EXIT_OUTPUT. */
int treedata_write(const char *path, const tree_dataset *ds, recur_err *err);

/* Every size, value and tree shape the contract constrains, on a dataset in
 * memory (roots is not needed).  `path` names the file in messages; `code` is
 * the exit code to report (RECUR_EXIT_FAIL for data recur built itself). */
int treedata_check(const tree_dataset *ds, const char *path, int code, recur_err *err);

/* treedata_check, then each split's roots (malloc'd, freed by
 * treedata_free): what treedata_load does after reading, for a dataset built
 * in memory (tree_bfs needs the roots). */
int treedata_roots(tree_dataset *ds, const char *path, int code, recur_err *err);

/* 1 when the file's root attribute format is "recur-trees", 0 when it is
 * another (or no) format, -1 with err when the file cannot be read at all. */
int treedata_is_tree_file(const char *path, recur_err *err);

/* ---- one tree ---------------------------------------------------------------- */

/* What is wrong with a tree's shape (tree_shape). */
typedef enum {
    TREE_OK = 0,
    TREE_CHILD_RANGE,   /* a child outside 0 .. size-1 */
    TREE_TWO_PARENTS,   /* a node listed twice as a child */
    TREE_NO_ROOT,       /* every node is a child: a cycle */
    TREE_TWO_ROOTS,     /* two nodes are nobody's child */
    TREE_UNREACHED,     /* a node not below the root: a cycle apart from it */
} tree_fault;

typedef struct {
    tree_fault fault;
    int32_t root;       /* TREE_OK: the root */
    size_t node;        /* the offending node (local) */
    size_t edge;        /* TREE_CHILD_RANGE, TREE_TWO_PARENTS: the index into children */
    int32_t other;      /* TREE_TWO_PARENTS: the first parent; TREE_TWO_ROOTS: the first root */
} tree_verdict;

/* Checks the shape of one tree of `size` nodes whose child lists are
 * children[co[j] .. co[j+1]-1] for j in 0..size-1 (co points at the tree's
 * first node's entry of child_offsets; co must be non-decreasing).
 * scratch holds 2*size int32.  The one tree check: treedata_check and the
 * importers (which turn a verdict into a message naming a line) use it. */
tree_verdict tree_shape(const int64_t *co, const int32_t *children, size_t size, int32_t *scratch);

/* Size of tree i of a split, and its first node in the split. */
static inline size_t tree_size(const tree_split *s, size_t i) {
    return (size_t)(s->tree_offsets[i + 1] - s->tree_offsets[i]);
}

/* Tree i of a loaded split in breadth-first order from its root: order[0] is
 * the root, every parent before its children (walk it backwards for
 * bottom-up passes); depth[k] (NULL: not wanted) the depth of local node k
 * (root 0).  order and depth hold tree_size entries.  Returns the tree's
 * depth: the most edges from the root to a leaf. */
size_t tree_bfs(const tree_split *s, size_t i, int32_t *order, int32_t *depth);

#endif
