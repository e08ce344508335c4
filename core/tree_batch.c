/* tree_batch.c - a batch of trees in levels (tree.h): heights by an
 * iterative post-order walk from each root (which also proves the tree is
 * one), then a counting sort of the nodes by height, then the edge lists. */
#include "tree.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum { SCRATCH = 7 }; /* int32 scratch arrays of `rows` each: see tree_batch_build */

void tree_batch_free(tree_batch *b) {
    free(b->level_off);
    free(b->edge_off);
    free(b->parent);
    free(b->child);
    free(b->tokens);
    free(b->node_labels);
    free(b->roots);
    free(b->root_labels);
    free(b->source);
    free(b->scratch);
    memset(b, 0, sizeof *b);
}

long tree_batch_count(const tree_batch *b) {
    long count = 0;
    for (int i = 0; i < b->n; i++) count += b->root_labels[i] >= 0;
    for (int r = 0; r < b->rows; r++) count += b->node_labels[r] >= 0;
    return count;
}

/* Replaces array p by room for n elements (contents not kept); 0 on success. */
#define ROOM(p, n) (free(p), ((p) = malloc(((n) + 1) * sizeof *(p))) == NULL)

/* Capacity for n trees, `rows` nodes and `edges` edges (grows, never shrinks). */
static int reserve(tree_batch *b, size_t n, size_t rows, size_t edges) {
    if ((size_t)b->cap_n < n) {
        if (ROOM(b->roots, n) || ROOM(b->root_labels, n)) return -1;
        b->cap_n = (int)n;
    }
    if ((size_t)b->cap_rows < rows) { /* levels <= rows (one_node: exactly rows) */
        if (ROOM(b->tokens, rows) || ROOM(b->node_labels, rows) ||
            ROOM(b->source, rows) || ROOM(b->scratch, SCRATCH * rows) ||
            ROOM(b->level_off, rows + 1) || ROOM(b->edge_off, rows + 1))
            return -1;
        b->cap_rows = (int)rows;
    }
    if ((size_t)b->cap_edges < edges) {
        if (ROOM(b->parent, edges) || ROOM(b->child, edges)) return -1;
        b->cap_edges = (int)edges;
    }
    return 0;
}

/* Heights and post-order ranks of one tree's `size` nodes (local indices),
 * walking from its root without recursion.  height/post/seen/stack/next:
 * [size] scratch; post ranks start at *rank.  Fails unless every node is
 * reached exactly once with children in range. */
static int walk_tree(const tree_forest *f, int64_t id, int32_t *height, int32_t *post, int32_t *seen,
                     int32_t *stack, int32_t *next, int32_t *rank, recur_err *err) {
    const int64_t base = f->tree_offsets[id], size = f->tree_offsets[id + 1] - base;
    const int32_t root = f->roots[id];
    if (root < 0 || root >= size)
        return recur_fail(err, RECUR_EXIT_INPUT, "tree %lld: root %d is not one of its %lld nodes", (long long)id, root,
                          (long long)size);
    memset(seen, 0, (size_t)size * sizeof(int32_t));
    int top = 0, reached = 1;
    stack[top] = root;
    next[top] = 0;
    seen[root] = 1;
    height[root] = 0;
    while (top >= 0) {
        const int32_t j = stack[top];
        const int64_t c0 = f->child_offsets[base + j], c1 = f->child_offsets[base + j + 1];
        if (c0 + next[top] < c1) {
            const int32_t k = f->children[c0 + next[top]++];
            if (k < 0 || k >= size || seen[k])
                return recur_fail(err, RECUR_EXIT_INPUT, "tree %lld: node %d: child %d is %s", (long long)id, j, k,
                                  k < 0 || k >= size ? "not a node of the tree" : "reached twice (not a tree)");
            seen[k] = 1;
            reached++;
            height[k] = 0;
            stack[++top] = k;
            next[top] = 0;
            continue;
        }
        post[j] = (*rank)++; /* every child is done: j's height is final */
        if (top > 0 && height[stack[top - 1]] < height[j] + 1) height[stack[top - 1]] = height[j] + 1;
        top--;
    }
    if (reached != size)
        return recur_fail(err, RECUR_EXIT_INPUT, "tree %lld: %lld of its %lld nodes are not reached from root %d",
                          (long long)id, (long long)(size - reached), (long long)size, root);
    return 0;
}

static int check_label(int32_t y, int classes, const char *what, int64_t id, int64_t node, recur_err *err) {
    if (y >= -1 && y < classes) return 0;
    return recur_fail(err, RECUR_EXIT_INPUT, "tree %lld: node %lld: %s label %d is not in [-1, %d)", (long long)id,
                      (long long)node, what, y, classes);
}

int tree_batch_build(tree_batch *b, const tree_forest *f, const int64_t *ids, int count, int one_node,
                     const model_config *cfg, recur_err *err) {
    int64_t rows = 0, edges = 0;
    for (int i = 0; i < count; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= f->n)
            return recur_fail(err, RECUR_EXIT_INPUT, "tree %lld: the forest has %zu trees", (long long)ids[i], f->n);
        const int64_t lo = f->tree_offsets[ids[i]], hi = f->tree_offsets[ids[i] + 1];
        if (hi <= lo) return recur_fail(err, RECUR_EXIT_INPUT, "tree %lld has no nodes", (long long)ids[i]);
        rows += hi - lo;
        edges += f->child_offsets[hi] - f->child_offsets[lo];
    }
    if (rows > INT_MAX / 8 || edges > INT_MAX / 8)
        return recur_fail(err, RECUR_EXIT_USAGE, "a batch of %lld nodes is too large", (long long)rows);
    if (reserve(b, (size_t)count, (size_t)rows, (size_t)edges))
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory for a batch of %lld nodes", (long long)rows);
    /* Scratch, by batch ordinal k (the trees' nodes one after another). */
    int32_t *height = b->scratch, *post = height + rows, *row_of = post + rows, *node_of = row_of + rows;
    int32_t *stack = node_of + rows, *next = stack + rows, *tbase = next + rows;
    int32_t rank = 0, levels = 0;
    for (int i = 0, k = 0; i < count; i++) {
        const int64_t size = f->tree_offsets[ids[i] + 1] - f->tree_offsets[ids[i]];
        /* row_of doubles as `seen` here: it is filled only after every walk. */
        if (walk_tree(f, ids[i], height + k, post + k, row_of, stack, next, &rank, err)) return -1;
        for (int64_t j = 0; j < size; j++) {
            levels = height[k + j] + 1 > levels ? height[k + j] + 1 : levels;
            tbase[k + j] = k;
        }
        k += (int)size;
    }
    b->n = count;
    b->rows = (int)rows;
    b->edges = (int)edges;
    if (one_node) {
        b->levels = (int)rows;
        for (int64_t k = 0; k < rows; k++) row_of[k] = post[k];
        for (int s = 0; s <= b->levels; s++) b->level_off[s] = s;
    } else { /* counting sort by height, stable in batch order */
        b->levels = levels;
        memset(b->level_off, 0, ((size_t)levels + 1) * sizeof(int32_t));
        for (int64_t k = 0; k < rows; k++) b->level_off[height[k] + 1]++;
        for (int s = 0; s < levels; s++) b->level_off[s + 1] += b->level_off[s];
        memcpy(next, b->level_off, (size_t)levels * sizeof(int32_t)); /* next free row of each level */
        for (int64_t k = 0; k < rows; k++) row_of[k] = next[height[k]]++;
    }
    /* Rows: token, labels, source; roots. */
    const int node_head = cfg->node_classes > 0 && f->node_labels, root_head = cfg->output_size > 0 && f->root_labels;
    for (int i = 0, k = 0; i < count; i++) {
        const int64_t base = f->tree_offsets[ids[i]], size = f->tree_offsets[ids[i] + 1] - base;
        for (int64_t j = 0; j < size; j++, k++) {
            const int32_t r = row_of[k], tok = f->tokens[base + j];
            if (tok < -1 || tok >= cfg->vocab_size)
                return recur_fail(err, RECUR_EXIT_INPUT, "tree %lld: node %lld: token %d is not in [-1, %d)",
                                  (long long)ids[i], (long long)j, tok, cfg->vocab_size);
            node_of[r] = k;
            b->tokens[r] = tok;
            b->source[r] = base + j;
            b->node_labels[r] = node_head ? f->node_labels[base + j] : -1;
            if (check_label(b->node_labels[r], cfg->node_classes, "node", ids[i], j, err)) return -1;
        }
        b->roots[i] = row_of[k - size + f->roots[ids[i]]];
        b->root_labels[i] = root_head ? f->root_labels[ids[i]] : -1;
        if (check_label(b->root_labels[i], cfg->output_size, "root", ids[i], f->roots[ids[i]], err)) return -1;
    }
    /* Edges by parent row; the first edge of each row (in `stack`, free now)
     * gives each level's first edge. */
    int32_t *first_edge = stack, e = 0;
    for (int r = 0; r < b->rows; r++) {
        const int32_t k = node_of[r];
        const int64_t g = b->source[r];
        first_edge[r] = e;
        for (int64_t c = f->child_offsets[g]; c < f->child_offsets[g + 1]; c++, e++) {
            b->parent[e] = r;
            b->child[e] = row_of[tbase[k] + f->children[c]];
        }
    }
    for (int s = 0; s <= b->levels; s++) b->edge_off[s] = b->level_off[s] < b->rows ? first_edge[b->level_off[s]] : e;
    return 0;
}
