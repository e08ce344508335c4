/* import_trees.c - trees from sentences; see import_trees.h. */
#include "import_trees.h"

#include <stdlib.h>
#include <string.h>

void import_tree_from_heads(const int32_t *head, size_t m, int64_t base, int64_t *co, int32_t *children) {
    /* Counting sort by head: co[h] counts word h's children, becomes the
     * cursor where they go, and after the fill co[p+1] is where node p's
     * children end (= where node p+1's start). */
    memset(co, 0, (m + 1) * sizeof *co);
    for (size_t k = 0; k < m; k++)
        if (head[k] > 0) co[head[k]]++;
    int64_t start = base;
    for (size_t p = 1; p <= m; p++) {
        int64_t count = co[p];
        co[p] = start;
        start += count;
    }
    co[0] = base;
    for (size_t k = 0; k < m; k++)
        if (head[k] > 0) children[co[head[k]]++] = (int32_t)k;
}

int import_tree_split_alloc(tree_split *t, size_t n, size_t nodes, size_t edges, int node_labels, int root_labels,
                            recur_err *err) {
    memset(t, 0, sizeof *t);
    t->present = 1;
    t->n = n, t->nodes = nodes, t->edges = edges;
    t->tree_offsets = malloc((n + 1) * sizeof *t->tree_offsets);
    t->child_offsets = malloc((nodes + 1) * sizeof *t->child_offsets);
    t->children = malloc((edges ? edges : 1) * sizeof *t->children);
    t->tokens = malloc(nodes * sizeof *t->tokens);
    if (node_labels) t->node_labels = malloc(nodes * sizeof *t->node_labels);
    if (root_labels) t->root_labels = malloc(n * sizeof *t->root_labels);
    if (!t->tree_offsets || !t->child_offsets || !t->children || !t->tokens || (node_labels && !t->node_labels) ||
        (root_labels && !t->root_labels))
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory (%zu tree nodes)", nodes);
    return 0;
}

/* The balanced tree over leaves lo..hi-1 (local): its internal nodes are
 * numbered from *next on, their children appended at *edge; returns its root. */
static int32_t balanced(int32_t lo, int32_t hi, int32_t *next, int32_t *children, size_t *edge) {
    if (hi - lo == 1) return lo;
    int32_t mid = lo + (hi - lo + 1) / 2; /* the left half takes the odd leaf: depth ceil(log2 L) */
    int32_t l = balanced(lo, mid, next, children, edge), r = balanced(mid, hi, next, children, edge);
    children[(*edge)++] = l;
    children[(*edge)++] = r;
    return (*next)++;
}

int import_trees_balanced(seq_dataset *seq, tree_dataset *ds, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const seq_split *sp = &seq->split[s];
        if (!sp->present) continue;
        tree_split *t = &ds->split[s];
        size_t nodes = 2 * sp->total - sp->n; /* τ leaves and τ - 1 internal nodes per tree */
        if (import_tree_split_alloc(t, sp->n, nodes, nodes - sp->n, 0, 1, err)) {
            treedata_free(ds);
            return -1;
        }
        size_t node = 0, edge = 0;
        t->tree_offsets[0] = 0;
        for (size_t i = 0; i < sp->n; i++) {
            size_t tau = seq_length(sp, i), first_edge = edge;
            int32_t next = (int32_t)tau;
            memcpy(t->tokens + node, sp->tokens + sp->offsets[i], tau * sizeof *t->tokens);
            for (size_t k = tau; k < 2 * tau - 1; k++) t->tokens[node + k] = -1;
            balanced(0, (int32_t)tau, &next, t->children, &edge);
            /* Leaves have no children; internal node tau+q has children first_edge+2q, +1. */
            for (size_t k = 0; k <= tau; k++) t->child_offsets[node + k] = (int64_t)first_edge;
            for (size_t q = 1; q < tau; q++) t->child_offsets[node + tau + q] = (int64_t)(first_edge + 2 * q);
            t->root_labels[i] = sp->labels[i];
            node += 2 * tau - 1;
            t->tree_offsets[i + 1] = (int64_t)node;
        }
        t->child_offsets[node] = (int64_t)edge;
    }
    ds->vocab = seq->vocab, ds->vocab_words = seq->vocab_words, ds->vocab_size = seq->vocab_size;
    ds->root_label_names = seq->label_names, ds->num_root_classes = seq->num_classes;
    seq->vocab = NULL, seq->vocab_words = NULL, seq->label_names = NULL;
    return 0;
}
