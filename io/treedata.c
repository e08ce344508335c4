/* treedata.c - the "recur-trees" contract: reader, writer, checks, and the
 * one check of a tree's shape.
 *
 * Every array is read through io/seqdata_parts.h, the pieces of the sequence
 * datasets' hostile reader (hard links only, class, rank, extents against the
 * SEQ_MAX_* caps and the stored bytes before any allocation, values
 * range-checked in bounded slabs, string arrays first read in a child with a
 * time limit), and the vocabulary through pairdata's (io/pairdata.h), so the
 * messages are theirs.  What is new here is the tree: offsets that may stay
 * equal (a leaf has no children), children local to their tree, and the
 * shape (one root, every node once a child, no cycle), checked by tree_shape
 * for the reader, the writer and the importers alike.
 */
#include "treedata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "atomic.h"
#include "h5util.h"
#include "inspect.h"
#include "pairdata.h"
#include "seqdata_parts.h"

/* ---- one tree ------------------------------------------------------------------- */

tree_verdict tree_shape(const int64_t *co, const int32_t *children, size_t size, int32_t *scratch) {
    tree_verdict v = {TREE_OK, -1, 0, 0, -1};
    int32_t *parent = scratch, *stack = scratch + size;
    for (size_t j = 0; j < size; j++) parent[j] = -1;
    for (size_t j = 0; j < size; j++)
        for (int64_t e = co[j]; e < co[j + 1]; e++) {
            int32_t c = children[e];
            v.node = j, v.edge = (size_t)e;
            if (c < 0 || (size_t)c >= size) return v.fault = TREE_CHILD_RANGE, v;
            if (parent[c] >= 0) return v.fault = TREE_TWO_PARENTS, v.node = (size_t)c, v.other = parent[c], v;
            parent[c] = (int32_t)j;
        }
    for (size_t j = 0; j < size; j++) {
        if (parent[j] >= 0) continue;
        if (v.root >= 0) return v.fault = TREE_TWO_ROOTS, v.node = j, v.other = v.root, v;
        v.root = (int32_t)j;
    }
    if (v.root < 0) return v.fault = TREE_NO_ROOT, v;
    /* One root and at most one parent per node: a walk from the root meets
     * each node at most once (so the stack never outgrows size), and a node
     * it misses hangs on a cycle. */
    size_t top = 0;
    stack[top++] = v.root;
    while (top) {
        int32_t j = stack[--top];
        parent[j] = -2; /* reached */
        for (int64_t e = co[j]; e < co[j + 1]; e++) stack[top++] = children[e];
    }
    for (size_t j = 0; j < size; j++)
        if (parent[j] != -2) return v.fault = TREE_UNREACHED, v.node = j, v;
    return v;
}

size_t tree_bfs(const tree_split *s, size_t i, int32_t *order, int32_t *depth) {
    const int64_t *co = s->child_offsets + s->tree_offsets[i];
    size_t head = 0, tail = 1, level_end = 1, d = 0;
    order[0] = s->roots[i];
    while (head < tail) {
        if (head == level_end) d++, level_end = tail; /* the previous level is done: tail ends this one */
        int32_t j = order[head++];
        if (depth) depth[j] = (int32_t)d;
        for (int64_t e = co[j]; e < co[j + 1]; e++) order[tail++] = s->children[e];
    }
    return d;
}

/* ---- checks on a dataset in memory ---------------------------------------------- */

/* Child offsets of N nodes over E children: [0] = 0, non-decreasing (a leaf
 * has none), [N] = E. */
static int check_child_offsets(const char *path, const char *name, const int64_t *o, size_t N, size_t E,
                               const char *E_from, int code, recur_err *err) {
    if (o[0] != 0) return recur_fail(err, code, "%s: %s[0]: expected 0, found %lld", path, name, (long long)o[0]);
    for (size_t j = 1; j <= N; j++) {
        if (o[j] < o[j - 1])
            return recur_fail(err, code, "%s: %s[%zu]: expected >= %lld (%s[%zu], non-decreasing), found %lld", path,
                              name, j, (long long)o[j - 1], name, j - 1, (long long)o[j]);
        if ((uint64_t)o[j] > E)
            return recur_fail(err, code, "%s: %s[%zu]: expected <= %zu (the children in %s), found %lld", path, name,
                              j, E, E_from, (long long)o[j]);
    }
    if ((uint64_t)o[N] != E)
        return recur_fail(err, code, "%s: %s[%zu]: expected %zu (the children in %s), found %lld", path, name, N, E,
                          E_from, (long long)o[N]);
    return 0;
}

/* The message for a verdict on tree i of split group g. */
static int shape_fail(const char *path, const char *g, size_t i, size_t size, const tree_verdict *v, int code,
                      recur_err *err) {
    switch (v->fault) {
    case TREE_CHILD_RANGE:
        return recur_fail(err, code, "%s: %s/children[%zu]: expected a node of tree %zu (0 .. %zu, local to the "
                          "tree), found a child of its node %zu outside it", path, g, v->edge, i, size - 1, v->node);
    case TREE_TWO_PARENTS:
        return recur_fail(err, code, "%s: %s/children[%zu]: expected each node of tree %zu once as a child, found "
                          "node %zu again (already a child of node %d)", path, g, v->edge, i, v->node, (int)v->other);
    case TREE_NO_ROOT:
        return recur_fail(err, code, "%s: %s/children: tree %zu: expected a root (a node that is no node's child), "
                          "found every node a child (a cycle)", path, g, i);
    case TREE_TWO_ROOTS:
        return recur_fail(err, code, "%s: %s/children: tree %zu: expected one root, found two: nodes %d and %zu are "
                          "no node's child", path, g, i, (int)v->other, v->node);
    case TREE_UNREACHED:
        return recur_fail(err, code, "%s: %s/children: tree %zu: expected every node below the root %d, found node "
                          "%zu not reached from it (a cycle: a node its own ancestor)", path, g, i, (int)v->root,
                          v->node);
    default:
        return 0;
    }
}

/* The HDF5 paths of split s's group and arrays, named once for the checks and the reader. */
typedef struct {
    char g[16], to[64], co[64], ch[64], tok[64], nl[64], rl[64];
} split_paths;

static void split_paths_of(int s, split_paths *p) {
    snprintf(p->g, sizeof p->g, "/%s", SEQ_SPLIT_NAMES[s]);
    snprintf(p->to, sizeof p->to, "%s/tree_offsets", p->g);
    snprintf(p->co, sizeof p->co, "%s/child_offsets", p->g);
    snprintf(p->ch, sizeof p->ch, "%s/children", p->g);
    snprintf(p->tok, sizeof p->tok, "%s/tokens", p->g);
    snprintf(p->nl, sizeof p->nl, "%s/node_labels", p->g);
    snprintf(p->rl, sizeof p->rl, "%s/root_labels", p->g);
}

/* The arrays, sizes, values and shapes of split s; the root of each tree into
 * roots (NULL: not wanted). */
static int check_split(const tree_dataset *ds, int s, const char *path, int code, int32_t *roots, recur_err *err) {
    const tree_split *sp = &ds->split[s];
    split_paths P;
    split_paths_of(s, &P);
    const char *g = P.g, *to = P.to, *co = P.co, *ch = P.ch, *tok = P.tok, *nl = P.nl, *rl = P.rl;
    const char *missing = !sp->tree_offsets ? to : !sp->child_offsets ? co : !sp->tokens ? tok
                        : sp->edges && !sp->children ? ch : NULL;
    if (missing) return recur_fail(err, code, "%s: %s: expected an array, found none (NULL)", path, missing);
    if (sp->n < 1 || sp->n > SEQ_MAX_STEPS)
        return recur_fail(err, code, "%s: %s: expected between 1 and %zu trees, found %zu", path, g,
                          (size_t)SEQ_MAX_STEPS, sp->n);
    if (sp->nodes < sp->n || sp->nodes > SEQ_MAX_STEPS)
        return recur_fail(err, code, "%s: %s: expected between %zu (n) and %zu nodes, found %zu", path, tok, sp->n,
                          (size_t)SEQ_MAX_STEPS, sp->nodes);
    const tree_split *tr = &ds->split[SPLIT_TRAIN];
    if ((sp->node_labels != NULL) != (tr->node_labels != NULL))
        return recur_fail(err, code, "%s: %s: expected %s (as /train), found %s", path, nl,
                          tr->node_labels ? "node labels" : "none", sp->node_labels ? "node labels" : "none");
    if ((sp->root_labels != NULL) != (tr->root_labels != NULL))
        return recur_fail(err, code, "%s: %s: expected %s (as /train), found %s", path, rl,
                          tr->root_labels ? "root labels" : "none", sp->root_labels ? "root labels" : "none");
    if (seqdata_check_offsets_of(path, to, sp->tree_offsets, sp->n, sp->nodes, tok, "tree", "node", code, err) ||
        check_child_offsets(path, co, sp->child_offsets, sp->nodes, sp->edges, ch, code, err) ||
        seqdata_check_ints(path, tok, sp->tokens, sp->nodes, "a token", -1, ds->vocab_size, code, err) ||
        (sp->node_labels && seqdata_check_ints(path, nl, sp->node_labels, sp->nodes, "a node label (-1: none)", -1,
                                               ds->num_node_classes, code, err)) ||
        (sp->root_labels &&
         seqdata_check_ints(path, rl, sp->root_labels, sp->n, "a root label", 0, ds->num_root_classes, code, err)))
        return -1;
    size_t biggest = 0;
    for (size_t i = 0; i < sp->n; i++)
        if (tree_size(sp, i) > biggest) biggest = tree_size(sp, i);
    int32_t *scratch = malloc(2 * biggest * sizeof *scratch);
    if (!scratch) return recur_fail(err, RECUR_EXIT_FAIL, "%s: %s: out of memory (a tree of %zu nodes)", path, g, biggest);
    int rc = 0;
    for (size_t i = 0; i < sp->n && !rc; i++) {
        size_t first = (size_t)sp->tree_offsets[i], size = tree_size(sp, i);
        tree_verdict v = tree_shape(sp->child_offsets + first, sp->children, size, scratch);
        if (v.fault) rc = shape_fail(path, g, i, size, &v, code, err);
        else if (roots) roots[i] = v.root;
        for (size_t j = first; !rc && j < first + size; j++)
            if (sp->child_offsets[j] == sp->child_offsets[j + 1] && sp->tokens[j] < 0)
                rc = recur_fail(err, code, "%s: %s[%zu]: expected a token in [0, %d) (node %zu of tree %zu is a leaf), "
                                "found %d", path, tok, j, ds->vocab_size, j - first, i, (int)sp->tokens[j]);
    }
    free(scratch);
    return rc;
}

/* Names of C classes (NULL: none) as dataset `name`. */
static int check_names(char *const *names, int C, const char *path, const char *name, int code, recur_err *err) {
    if (C < 0 || C > SEQ_MAX_CLASSES)
        return recur_fail(err, code, "%s: %s: expected between 0 and %d classes, found %d", path, name,
                          SEQ_MAX_CLASSES, C);
    if (!names) return 0;
    if (C < 1) return recur_fail(err, code, "%s: %s: expected at least one name, found none", path, name);
    return seqdata_check_strings(path, name, names, (size_t)C, code, err);
}

/* The vocabulary seen as pairdata's, whose checks and writer it shares. */
static pair_vocab vocab_view(const tree_dataset *ds) {
    pair_vocab v = {ds->vocab_size, ds->vocab, ds->vocab_words, NULL, 0};
    return v;
}

/* treedata_check, filling roots[s] (NULL: not wanted) of each split. */
static int check_all(const tree_dataset *ds, const char *path, int code, int32_t *const roots[SPLIT_COUNT],
                     recur_err *err) {
    pair_vocab v = vocab_view(ds);
    if (pair_vocab_check(&v, path, ds->vocab_words ? "/vocab_words" : "/vocab", code, err) ||
        check_names(ds->node_label_names, ds->num_node_classes, path, "/node_label_names", code, err) ||
        check_names(ds->root_label_names, ds->num_root_classes, path, "/root_label_names", code, err))
        return -1;
    const tree_split *tr = &ds->split[SPLIT_TRAIN];
    if (!tr->present)
        return recur_fail(err, code, "%s: /train: expected a group (the train split), found none", path);
    if (!tr->node_labels && !tr->root_labels)
        return recur_fail(err, code, "%s: /train: expected node_labels or root_labels (or both), found neither", path);
    for (int s = 0; s < SPLIT_COUNT; s++)
        if (ds->split[s].present && check_split(ds, s, path, code, roots ? roots[s] : NULL, err)) return -1;
    return 0;
}

int treedata_check(const tree_dataset *ds, const char *path, int code, recur_err *err) {
    return check_all(ds, path, code, NULL, err);
}

int treedata_roots(tree_dataset *ds, const char *path, int code, recur_err *err) {
    int32_t *roots[SPLIT_COUNT] = {NULL};
    for (int s = 0; s < SPLIT_COUNT; s++) {
        tree_split *sp = &ds->split[s];
        free(sp->roots);
        sp->roots = NULL;
        if (sp->present && sp->n <= SEQ_MAX_STEPS && !(roots[s] = sp->roots = malloc((sp->n ? sp->n : 1) * sizeof *sp->roots)))
            return recur_fail(err, RECUR_EXIT_FAIL, "%s: out of memory (%zu trees)", path, sp->n);
    }
    return check_all(ds, path, code, roots, err);
}

/* ---- writing ---------------------------------------------------------------------- */

static int write_ints(hid_t file, const char *path, const char *g, const char *name, const int32_t *v, size_t n,
                      recur_err *err) {
    char full[64];
    snprintf(full, sizeof full, "%s/%s", g, name);
    return h5u_write_dataset(file, path, full, H5U_INT32, 1, &n, v, err);
}

static int fill_trees(hid_t file, const char *path, void *ctx, recur_err *err) {
    const tree_dataset *ds = ctx;
    pair_vocab v = vocab_view(ds);
    if (h5u_write_str_attr(file, path, "/", "format", TREE_FORMAT, err) ||
        h5u_write_int_attr(file, path, "/", "version", TREE_VERSION, err) ||
        pair_vocab_write(file, path, ds->vocab_words ? "/vocab_words" : "/vocab", &v, err) ||
        (ds->node_label_names && seqdata_write_strings(file, path, "/node_label_names", ds->node_label_names,
                                                       (size_t)ds->num_node_classes, err)) ||
        (ds->root_label_names && seqdata_write_strings(file, path, "/root_label_names", ds->root_label_names,
                                                       (size_t)ds->num_root_classes, err)))
        return -1;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const tree_split *sp = &ds->split[s];
        if (!sp->present) continue;
        char g[16], name[64];
        snprintf(g, sizeof g, "/%s", SEQ_SPLIT_NAMES[s]);
        if (h5u_write_group(file, path, g, err)) return -1;
        snprintf(name, sizeof name, "%s/tree_offsets", g);
        if (seqdata_write_int64(file, path, name, sp->tree_offsets, sp->n + 1, err)) return -1;
        snprintf(name, sizeof name, "%s/child_offsets", g);
        if (seqdata_write_int64(file, path, name, sp->child_offsets, sp->nodes + 1, err) ||
            (sp->edges && write_ints(file, path, g, "children", sp->children, sp->edges, err)) ||
            write_ints(file, path, g, "tokens", sp->tokens, sp->nodes, err) ||
            (sp->node_labels && write_ints(file, path, g, "node_labels", sp->node_labels, sp->nodes, err)) ||
            (sp->root_labels && write_ints(file, path, g, "root_labels", sp->root_labels, sp->n, err)))
            return -1;
    }
    return 0;
}

int treedata_write(const char *path, const tree_dataset *ds, recur_err *err) {
    if (treedata_check(ds, path, RECUR_EXIT_FAIL, err)) return -1;
    return atomic_h5_write(path, fill_trees, (void *)ds, err);
}

/* ---- reading ---------------------------------------------------------------------- */

/* The vocabulary: /vocab (bytes) or /vocab_words (words), exactly one. */
static int load_vocab(hid_t file, const char *path, tree_dataset *ds, recur_err *err) {
    int hv = h5u_exists(file, "/vocab"), hw = h5u_exists(file, "/vocab_words");
    if (hv && hw) return recur_fail(err, RECUR_EXIT_INPUT, "%s: /vocab: expected /vocab or /vocab_words, found both", path);
    if (!hv && !hw)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: /vocab: expected uint8 [V] (or /vocab_words, strings [V]), found "
                          "nothing (missing)", path);
    pair_vocab v = {0};
    const char *name = hv ? "/vocab" : "/vocab_words";
    int rc = pair_vocab_read(file, path, name, &v, err);
    if (!rc && (hv ? !v.chars : !v.words))
        rc = recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected %s, found %s", path, name,
                        hv ? "uint8 [V] (a byte per id)" : "variable-length strings [V] (a word per id)",
                        hv ? "strings" : "integers");
    if (rc) {
        pair_vocab_free(&v);
        return -1;
    }
    free(v.slot); /* the lookup table is pairdata's business */
    ds->vocab = v.chars;
    ds->vocab_words = v.words;
    ds->vocab_size = v.size;
    return 0;
}

/* Label names `name` when present: *C their number, *known 1. */
static int load_names(hid_t file, const char *path, const char *name, char ***names, int *C, int *known,
                      recur_err *err) {
    *known = h5u_exists(file, name);
    if (!*known) return 0;
    size_t n = 0;
    if (seqdata_read_strings(file, path, name, SEQ_MAX_CLASSES, names, &n, err)) return -1;
    *C = (int)n;
    return 0;
}

/* The labels' upper bounds while reading: C when named, else the cap (C is
 * then 1 + the largest label found). */
typedef struct {
    int64_t node_hi, root_hi;
} label_bounds;

static int load_split(hid_t file, const char *path, tree_dataset *ds, int s, const label_bounds *b, recur_err *err) {
    tree_split *sp = &ds->split[s];
    char found[200];
    split_paths P;
    split_paths_of(s, &P);
    const char *g = P.g, *to = P.to, *co = P.co, *ch = P.ch, *tok = P.tok, *nl = P.nl, *rl = P.rl;
    if (!seqdata_is_group(file, g, found, sizeof found)) {
        if (s != SPLIT_TRAIN && strcmp(found, "nothing (missing)") == 0) return 0;
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected a group (the %s split)%s, found %s", path, g,
                          SEQ_SPLIT_NAMES[s], s == SPLIT_TRAIN ? ", required" : "", found);
    }
    sp->present = 1;
    /* Every extent first, against each other and the caps. */
    size_t N = 0, n1 = 0, N1 = 0, E = 0;
    if (seqdata_int_extent(file, path, tok, "an integer array [N]", &N, err)) return -1;
    if (N > SEQ_MAX_STEPS)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected at most %zu nodes, found %zu", path, tok,
                          (size_t)SEQ_MAX_STEPS, N);
    if (seqdata_int_extent(file, path, to, "an integer array [n+1]", &n1, err)) return -1;
    if (n1 < 2 || n1 > N + 1)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected between 2 and %zu entries (n+1, every tree at "
                          "least one node of %s), found %zu", path, to, N + 1, tok, n1);
    if (seqdata_int_extent(file, path, co, "an integer array [N+1]", &N1, err)) return -1;
    if (N1 != N + 1)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected %zu entries (N+1, N = the nodes in %s), found %zu",
                          path, co, N + 1, tok, N1);
    int has_children = h5u_exists(file, ch);
    if (has_children && seqdata_int_extent(file, path, ch, "an integer array [E]", &E, err)) return -1;
    if (E > N - (n1 - 1))
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected at most %zu children (N - n: a parent per node but "
                          "the roots), found %zu", path, ch, N - (n1 - 1), E);
    /* Then the values, each range-checked as it is read. */
    if (seqdata_read_ints(file, path, to, "an integer array [n+1]", n1, "n+1", 8, "an offset", 0, INT64_MAX,
                          (void **)&sp->tree_offsets, NULL, err) ||
        seqdata_read_ints(file, path, co, "an integer array [N+1]", N1, "N+1", 8, "an offset", 0, INT64_MAX,
                          (void **)&sp->child_offsets, NULL, err))
        return -1;
    if (!has_children && sp->child_offsets[N] != 0)
        return recur_fail(err, RECUR_EXIT_INPUT, "%s: %s: expected an integer array [E] (E = %s[%zu] = %lld), found "
                          "nothing (missing)", path, ch, co, N, (long long)sp->child_offsets[N]);
    if ((has_children && seqdata_read_ints(file, path, ch, "an integer array [E]", E, "E", 4, "a child", 0, (int64_t)N,
                                           (void **)&sp->children, NULL, err)) ||
        seqdata_read_ints(file, path, tok, "an integer array [N]", N, "N", 4, "a token", -1, ds->vocab_size,
                          (void **)&sp->tokens, NULL, err) ||
        (h5u_exists(file, nl) && seqdata_read_ints(file, path, nl, "an integer array [N]", N, "N, as tokens", 4,
                                                   "a node label (-1: none)", -1, b->node_hi,
                                                   (void **)&sp->node_labels, NULL, err)) ||
        (h5u_exists(file, rl) && seqdata_read_ints(file, path, rl, "an integer array [n]", n1 - 1, "n", 4,
                                                   "a root label", 0, b->root_hi, (void **)&sp->root_labels, NULL, err)))
        return -1;
    sp->n = n1 - 1;
    sp->nodes = N;
    sp->edges = E;
    return 0;
}

/* 1 + the largest of v[0..n), at least 0. */
static int classes_of(const int32_t *v, size_t n) {
    int32_t max = -1;
    for (size_t i = 0; v && i < n; i++)
        if (v[i] > max) max = v[i];
    return (int)max + 1;
}

static int load_open(hid_t file, const char *path, void *ctx, recur_err *err) {
    tree_dataset *ds = ctx;
    if (h5u_expect_str_attr(file, path, "/", "format", TREE_FORMAT, err) ||
        h5u_expect_int_attr(file, path, "/", "version", TREE_VERSION, err))
        return -1;
    static const char *const STRINGS[] = {"/vocab_words", "/node_label_names", "/root_label_names"};
    int node_named, root_named;
    if (seqdata_guard_strings(file, path, STRINGS, 3, err) || load_vocab(file, path, ds, err) ||
        load_names(file, path, "/node_label_names", &ds->node_label_names, &ds->num_node_classes, &node_named, err) ||
        load_names(file, path, "/root_label_names", &ds->root_label_names, &ds->num_root_classes, &root_named, err))
        return -1;
    label_bounds b = {node_named ? ds->num_node_classes : SEQ_MAX_CLASSES,
                      root_named ? ds->num_root_classes : SEQ_MAX_CLASSES};
    for (int s = 0; s < SPLIT_COUNT; s++)
        if (load_split(file, path, ds, s, &b, err)) return -1;
    for (int s = 0; s < SPLIT_COUNT; s++) {
        const tree_split *sp = &ds->split[s];
        int cn = classes_of(sp->node_labels, sp->nodes), cr = classes_of(sp->root_labels, sp->n);
        if (!node_named && cn > ds->num_node_classes) ds->num_node_classes = cn;
        if (!root_named && cr > ds->num_root_classes) ds->num_root_classes = cr;
    }
    return treedata_roots(ds, path, RECUR_EXIT_INPUT, err);
}

void treedata_free(tree_dataset *ds) {
    free(ds->vocab);
    seqdata_free_strings(ds->vocab_words, ds->vocab_words ? (size_t)ds->vocab_size : 0);
    seqdata_free_strings(ds->node_label_names, ds->node_label_names ? (size_t)ds->num_node_classes : 0);
    seqdata_free_strings(ds->root_label_names, ds->root_label_names ? (size_t)ds->num_root_classes : 0);
    for (int s = 0; s < SPLIT_COUNT; s++) {
        tree_split *sp = &ds->split[s];
        free(sp->tree_offsets);
        free(sp->child_offsets);
        free(sp->children);
        free(sp->tokens);
        free(sp->node_labels);
        free(sp->root_labels);
        free(sp->roots);
    }
    memset(ds, 0, sizeof *ds);
}

int treedata_load(const char *path, tree_dataset *ds, recur_err *err) {
    memset(ds, 0, sizeof *ds);
    int rc = h5u_with_file(path, load_open, ds, err);
    if (rc) treedata_free(ds);
    return rc;
}

int treedata_is_tree_file(const char *path, recur_err *err) {
    inspect_kind kind;
    char what[256];
    return inspect_kind_of(path, &kind, what, sizeof what, err) ? -1 : kind == INSPECT_TREES;
}
