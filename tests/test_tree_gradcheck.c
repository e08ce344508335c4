/* Recursive (tree) networks (core/tree.h, issue 11 §2):
 *
 * - finite-difference gradient checks in double precision of both cells
 *   (rnn_tanh child sum, child-sum Tree-LSTM) with the root head, the node
 *   head and both, on a forest with n-ary nodes (3 and 4 children), unary
 *   nodes, a single-node tree, a balanced binary tree whose internal nodes
 *   have no token, and unlabelled nodes and roots; every parameter checked;
 * - level-wise batching == one node at a time == each tree alone: losses and
 *   gradients, in double (to round-off) and in float (to ~1e-6);
 * - the batch builder's layout (levels by height, edges by parent) and its
 *   refusals of what is not a forest of trees. */
#include "test_util.h"
#include "fd_check.h"

#include <math.h>

#include "../core/rng.h"
#include "../core/tree.h"

enum { V = 7, E = 3, H = 4, CR = 3, CN = 4, MAXN = 64 };

/* A forest built in memory: trees given as (size, root, child lists). */
typedef struct {
    size_t n;
    int64_t tree_offsets[8], child_offsets[MAXN + 1];
    int32_t children[MAXN], tokens[MAXN], node_labels[MAXN], root_labels[8], roots[8];
    tree_forest f;
} forest;

typedef struct {
    int size, root;
    const char *kids[12]; /* per local node: children as a string of digits, "" for a leaf */
    const int32_t *tokens; /* NULL: random, else per node */
} tree_spec;

static const int32_t BINARY_TOKENS[7] = {1, 2, -1, 3, 4, -1, -1};
/* A: 3 children at the root, 2 and 1 below; root not node 0's children order. */
static const tree_spec TREES[] = {
    {7, 0, {"123", "45", "", "6", "", "", ""}, NULL},
    {1, 0, {""}, NULL},
    {7, 6, {"", "", "01", "", "", "34", "25"}, BINARY_TOKENS}, /* balanced binary, post-order, no tokens inside */
    {9, 3, {"", "", "", "0124", "8", "", "", "", "567"}, NULL}, /* 4-ary root, a chain, 3-ary below */
};
enum { NTREES = sizeof TREES / sizeof TREES[0] };

static void make_forest(forest *fo, rng_state *r) {
    memset(fo, 0, sizeof *fo);
    int64_t node = 0, edge = 0;
    for (int t = 0; t < NTREES; t++) {
        const tree_spec *s = &TREES[t];
        fo->tree_offsets[t] = node;
        fo->roots[t] = s->root;
        fo->root_labels[t] = t == 1 ? -1 : (int32_t)(rng_next(r) % CR);
        for (int j = 0; j < s->size; j++, node++) {
            fo->child_offsets[node] = edge;
            for (const char *k = s->kids[j]; *k; k++) fo->children[edge++] = *k - '0';
            fo->tokens[node] = s->tokens ? s->tokens[j] : (int32_t)(rng_next(r) % V);
            fo->node_labels[node] = rng_next(r) % 4 == 0 ? -1 : (int32_t)(rng_next(r) % CN);
        }
    }
    fo->n = NTREES;
    fo->tree_offsets[NTREES] = node;
    fo->child_offsets[node] = edge;
    fo->f = (tree_forest){.n = fo->n, .tree_offsets = fo->tree_offsets, .child_offsets = fo->child_offsets,
                          .children = fo->children, .tokens = fo->tokens, .node_labels = fo->node_labels,
                          .root_labels = fo->root_labels, .roots = fo->roots};
}

static const int64_t ALL[NTREES] = {0, 1, 2, 3};

typedef struct {
    const char *name;
    cell_kind cell;
    int root_classes, node_classes;
} tree_case;

static const tree_case CASES[] = {
    {"rnn_tanh root", CELL_RNN_TANH, CR, 0}, {"rnn_tanh node", CELL_RNN_TANH, 0, CN},
    {"rnn_tanh both", CELL_RNN_TANH, CR, CN}, {"lstm root", CELL_LSTM, CR, 0},
    {"lstm node", CELL_LSTM, 0, CN},          {"lstm both", CELL_LSTM, CR, CN},
};
enum { NCASES = sizeof CASES / sizeof CASES[0] };

static model_config config_of(const tree_case *c) {
    return (model_config){.cell = c->cell, .vocab_size = V, .embed_size = E, .hidden_size = H, .num_layers = 1,
                          .task = TASK_TREE, .output_size = c->root_classes, .node_classes = c->node_classes};
}

typedef struct {
    tree_workspace_f64 *w;
    const model *m;
    const tree_batch *b;
} tree_loss_ctx;

static double tree_loss(void *ctx, const double *P) {
    const tree_loss_ctx *c = ctx;
    return tree_forward_f64(c->w, c->m, P, c->b);
}

static void gradcheck_case(const tree_case *c) {
    recur_err err = {0};
    model_config cfg = config_of(c);
    model m;
    if (model_create(&m, &cfg, &err)) fail_msg("%s: %s", c->name, err.msg);
    rng_state r;
    rng_seed(&r, 31 + (uint64_t)c->cell);
    forest fo;
    make_forest(&fo, &r);
    tree_batch b = {0};
    if (tree_batch_build(&b, &fo.f, ALL, NTREES, 0, &cfg, &err)) fail_msg("%s: %s", c->name, err.msg);
    tree_workspace_f64 w;
    assert_int_equal(tree_workspace_create_f64(&w, &cfg, b.n, b.rows, b.edges, &err), 0);
    const size_t n = m.num_params;
    double *P = malloc(n * sizeof(double)), *G = calloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++) P[i] = 0.8 * (2.0 * rng_uniform(&r) - 1.0);
    const double scale = 1.0 / (double)tree_batch_count(&b);
    tree_forward_f64(&w, &m, P, &b);
    tree_backward_f64(&w, &m, P, G, scale);
    tree_loss_ctx lc = {&w, &m, &b};
    if (fd_check(&m, P, G, scale, tree_loss, &lc, c->name)) fail_msg("%s: some tensor got no gradient", c->name);
    free(P);
    free(G);
    tree_workspace_free_f64(&w);
    tree_batch_free(&b);
    model_free(&m);
}

static void test_gradcheck(void **state) {
    (void)state;
    for (int i = 0; i < NCASES; i++) gradcheck_case(&CASES[i]);
}

/* Loss and gradients of trees ids[0..count-1] run as one batch (levels or one
 * node per level), in double or float; G accumulates. */
static double run_batch(const model *m, const forest *fo, const int64_t *ids, int count, int one_node,
                        const double *P, double *G, const float *Pf, float *Gf) {
    recur_err err = {0};
    tree_batch b = {0};
    if (tree_batch_build(&b, &fo->f, ids, count, one_node, &m->cfg, &err)) fail_msg("%s", err.msg);
    double loss;
    if (P) {
        tree_workspace_f64 w;
        assert_int_equal(tree_workspace_create_f64(&w, &m->cfg, b.n, b.rows, b.edges, &err), 0);
        loss = tree_forward_f64(&w, m, P, &b);
        tree_backward_f64(&w, m, P, G, 1);
        tree_workspace_free_f64(&w);
    } else {
        tree_workspace w;
        assert_int_equal(tree_workspace_create(&w, &m->cfg, b.n, b.rows, b.edges, &err), 0);
        loss = tree_forward(&w, m, Pf, &b);
        tree_backward(&w, m, Pf, Gf, 1);
        tree_workspace_free(&w);
    }
    tree_batch_free(&b);
    return loss;
}

/* |a - b| <= tol * (1 + |b|) for the loss and every gradient. */
static void same(const char *what, double la, double lb, const double *a, const double *b, size_t n, double tol) {
    if (fabs(la - lb) > tol * (1 + fabs(lb))) fail_msg("%s: loss %.17g vs %.17g", what, la, lb);
    for (size_t i = 0; i < n; i++)
        if (fabs(a[i] - b[i]) > tol * (1 + fabs(b[i]))) fail_msg("%s: gradient %zu: %.17g vs %.17g", what, i, a[i], b[i]);
}

static void batching_case(const tree_case *c, int f32) {
    recur_err err = {0};
    model_config cfg = config_of(c);
    model m;
    assert_int_equal(model_create(&m, &cfg, &err), 0);
    rng_state r;
    rng_seed(&r, 77 + (uint64_t)c->cell);
    forest fo;
    make_forest(&fo, &r);
    const size_t n = m.num_params;
    double *P = malloc(n * sizeof(double)), *G[3];
    float *Pf = malloc(n * sizeof(float)), *Gf[3];
    for (size_t i = 0; i < n; i++) Pf[i] = (float)(P[i] = (float)(0.8 * (2.0 * rng_uniform(&r) - 1.0)));
    double loss[3] = {0};
    for (int k = 0; k < 3; k++) {
        G[k] = calloc(n, sizeof(double));
        Gf[k] = calloc(n, sizeof(float));
    }
    /* 0: levels, 1: one node at a time, 2: each tree alone (levels). */
    for (int k = 0; k < 2; k++)
        loss[k] = run_batch(&m, &fo, ALL, NTREES, k, f32 ? NULL : P, G[k], Pf, Gf[k]);
    for (int t = 0; t < NTREES; t++) loss[2] += run_batch(&m, &fo, ALL + t, 1, 0, f32 ? NULL : P, G[2], Pf, Gf[2]);
    if (f32)
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < n; i++) G[k][i] = Gf[k][i];
    char what[96];
    snprintf(what, sizeof what, "%s %s: levels vs one node at a time", c->name, f32 ? "f32" : "f64");
    same(what, loss[0], loss[1], G[0], G[1], n, f32 ? 1e-6 : 1e-13);
    snprintf(what, sizeof what, "%s %s: levels vs each tree alone", c->name, f32 ? "f32" : "f64");
    same(what, loss[0], loss[2], G[0], G[2], n, f32 ? 1e-6 : 1e-13);
    for (int k = 0; k < 3; k++) {
        free(G[k]);
        free(Gf[k]);
    }
    free(P);
    free(Pf);
    model_free(&m);
}

static void test_batching(void **state) {
    (void)state;
    for (int i = 0; i < NCASES; i++) {
        batching_case(&CASES[i], 0);
        batching_case(&CASES[i], 1);
    }
}

/* Levels by height, each level's edges from its own rows to lower levels;
 * one_node: a level per node, children first. */
static void test_layout(void **state) {
    (void)state;
    recur_err err = {0};
    const tree_case c = CASES[5];
    model_config cfg = config_of(&c);
    rng_state r;
    rng_seed(&r, 5);
    forest fo;
    make_forest(&fo, &r);
    tree_batch b = {0};
    for (int one = 0; one < 2; one++) {
        assert_int_equal(tree_batch_build(&b, &fo.f, ALL, NTREES, one, &cfg, &err), 0);
        assert_int_equal(b.rows, 24);
        assert_int_equal(b.edges, 20);
        assert_int_equal(b.levels, one ? 24 : 4); /* tree D's root has height 3 */
        int32_t level_of[24], top_child[24];
        for (int s = 0; s < b.levels; s++) {
            assert_true(b.level_off[s] < b.level_off[s + 1]);
            for (int row = b.level_off[s]; row < b.level_off[s + 1]; row++) level_of[row] = s, top_child[row] = -1;
        }
        for (int s = 0; s < b.levels; s++)
            for (int e = b.edge_off[s]; e < b.edge_off[s + 1]; e++) {
                assert_int_equal(level_of[b.parent[e]], s);
                assert_true(level_of[b.child[e]] < s);
                if (level_of[b.child[e]] > top_child[b.parent[e]]) top_child[b.parent[e]] = level_of[b.child[e]];
            }
        assert_int_equal(b.edge_off[b.levels], 20);
        if (!one) /* a level is exactly the height: one above the highest child */
            for (int row = 0; row < 24; row++) assert_int_equal(level_of[row], top_child[row] + 1);
        assert_int_equal(b.tokens[b.roots[2]], -1); /* tree C's root: no token */
        assert_int_equal(b.source[b.roots[3]], fo.tree_offsets[3] + 3);
        assert_int_equal(one ? b.roots[3] : level_of[b.roots[3]], one ? 23 : 3);
    }
    tree_batch_free(&b);
}

/* What is not a forest of trees, or does not fit the model, is refused with
 * the tree and node named. */
static void test_refusals(void **state) {
    (void)state;
    const tree_case c = CASES[5];
    model_config cfg = config_of(&c);
    rng_state r;
    rng_seed(&r, 9);
    struct {
        const char *expect;
        void (*spoil)(forest *);
    } bad[] = {
        {"child 9 is not a node", NULL}, {"reached twice", NULL}, {"not reached from root", NULL},
        {"token 7 is not in [-1, 7)", NULL}, {"node label 4", NULL}, {"root label 3", NULL}, {"root 7 is not", NULL},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        forest fo;
        make_forest(&fo, &r);
        /* Tree 0 is nodes 0..6 with edges 0..5 (0->1,2,3; 1->4,5; 3->6). */
        switch (k) {
        case 0: fo.children[5] = 9; break;                   /* out of range */
        case 1: fo.children[5] = 1; break;                   /* 3 -> 1: node 1 has two parents (a cycle's kin) */
        case 2: fo.children[2] = 6; break;                   /* 0 -> 1,2,6: node 3 is unreachable */
        case 3: fo.tokens[4] = V; break;
        case 4: fo.node_labels[2] = CN; break;
        case 5: fo.root_labels[0] = CR; break;
        case 6: fo.roots[0] = 7; break;
        }
        recur_err err = {0};
        tree_batch b = {0};
        if (tree_batch_build(&b, &fo.f, ALL, NTREES, 0, &cfg, &err) == 0)
            fail_msg("case %zu: accepted, expected '%s'", k, bad[k].expect);
        assert_int_equal(err.code, RECUR_EXIT_INPUT);
        if (!strstr(err.msg, bad[k].expect) || !strstr(err.msg, "tree 0"))
            fail_msg("case %zu: '%s' does not say '%s' and tree 0", k, err.msg, bad[k].expect);
        tree_batch_free(&b);
    }
    /* A cycle through the root: 6 -> 0. */
    forest fo;
    make_forest(&fo, &r);
    fo.children[5] = 0;
    recur_err err = {0};
    tree_batch b = {0};
    assert_int_equal(tree_batch_build(&b, &fo.f, ALL, NTREES, 0, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "reached twice"));
    tree_batch_free(&b);
    /* Models: a tree model needs a head and rnn_tanh or lstm. */
    model m;
    model_config none = cfg;
    none.output_size = none.node_classes = 0;
    assert_int_equal(model_create(&m, &none, &err), -1);
    model_config gru = cfg;
    gru.cell = CELL_GRU;
    assert_int_equal(model_create(&m, &gru, &err), -1);
    assert_non_null(strstr(err.msg, "rnn_tanh or lstm"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_batching),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
