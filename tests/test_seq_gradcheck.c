/* Finite-difference gradient checks, in double precision, of the sequence
 * engine (core/net_impl.h compiled for double) on packed batches of mixed
 * lengths: every cell, one and both directions (concat and sum), token and
 * feature inputs, every head (classify with last / mean / max pooling, tag,
 * regress per step and per sequence), dropout with a fixed mask.  Every
 * parameter of every tensor is checked.
 *
 * And: a packed batch gives the same loss and gradients as each of its
 * sequences run alone.
 *
 * The deep RNNs of reference §9 through the same checks, for every cell:
 * deep transition (an MLP of depth 1 or 2 on the input, on h_{t-1} and
 * before the head), skip connections in time and residual connections
 * between layers, alone and together, with both directions, every head,
 * ragged and uniform batches and dropout (inside the transitions too). */
#include "test_util.h"
#include "fd_check.h"

#include <math.h>

#include "../core/net.h"
#include "../core/rng.h"

enum { NSEQ = 4, TMAX = 5, V = 6, E = 3, F = 3, H = 4, C = 3, K = 2 };

typedef struct {
    const char *name;
    cell_kind cell;
    task_kind task;
    int features;      /* feature inputs instead of tokens */
    int bidirectional;
    merge_kind merge;
    pooling_kind pooling;
    int per_step;      /* regress */
    float dropout;
    int layers;
    int skip, residual; /* model_config's */
    int uniform;        /* every sequence TMAX long (batch_sizes NULL, the language model's windows) */
    int depth, width;   /* deep transition */
} seq_case;

typedef struct {
    int T, n, rows;
    int32_t bs[TMAX], lengths[NSEQ];
    int32_t tokens[NSEQ * TMAX], labels[NSEQ * TMAX];
    float features[NSEQ * TMAX * F], targets[NSEQ * TMAX * K];
} batch_data;

/* n sequences, longest first (slot order), lengths 5, 3, 3, 1: rows end at
 * different steps and two sequences end together. */
static void make_batch(batch_data *d, const seq_case *c, rng_state *r) {
    static const int32_t ragged[NSEQ] = {5, 3, 3, 1}, full[NSEQ] = {5, 5, 5, 5};
    const int32_t *lens = c->uniform ? full : ragged;
    memset(d, 0, sizeof *d);
    d->n = NSEQ;
    d->T = lens[0];
    memcpy(d->lengths, lens, sizeof d->lengths);
    for (int t = 0; t < d->T; t++)
        for (int s = 0; s < NSEQ; s++) d->bs[t] += lens[s] > t;
    for (int t = 0; t < d->T; t++) d->rows += d->bs[t];
    for (int i = 0; i < d->rows; i++) d->tokens[i] = (int32_t)(rng_next(r) % V);
    for (int i = 0; i < d->rows * F; i++) d->features[i] = 2 * rng_uniform(r) - 1;
    const int per_row = c->task == TASK_TAG || (c->task == TASK_REGRESS && c->per_step);
    const int nl = per_row ? d->rows : d->n;
    for (int i = 0; i < nl; i++) d->labels[i] = (int32_t)(rng_next(r) % C);
    for (int i = 0; i < nl * K; i++) d->targets[i] = 2 * rng_uniform(r) - 1;
}

static model_config config_of(const seq_case *c) {
    model_config cfg = {.cell = c->cell, .hidden_size = H, .num_layers = c->layers, .task = c->task,
                        .bidirectional = c->bidirectional, .merge = c->merge, .pooling = c->pooling,
                        .per_step = c->task == TASK_REGRESS ? c->per_step : 0, .skip = c->skip,
                        .residual = c->residual, .transition_depth = c->depth, .transition_width = c->width};
    if (c->features) cfg.input_size = F;
    else cfg.vocab_size = V, cfg.embed_size = E;
    cfg.output_size = c->task == TASK_REGRESS ? K : C;
    return cfg;
}

static net_batch batch_of(const batch_data *d, const seq_case *c) {
    return (net_batch){.T = d->T, .n = d->n, .batch_sizes = c->uniform ? NULL : d->bs, .tokens = c->features ? NULL : d->tokens,
                       .features = c->features ? d->features : NULL,
                       .labels = c->task == TASK_REGRESS ? NULL : d->labels,
                       .targets = c->task == TASK_REGRESS ? d->targets : NULL, .dropout_seed = 77};
}

typedef struct {
    net_workspace_f64 *w;
    const model *m;
    const net_batch *b;
} net_loss_ctx;

static double net_loss(void *ctx, const double *P) {
    const net_loss_ctx *c = ctx;
    return net_forward_f64(c->w, c->m, P, c->b);
}

/* 0 when every gradient matches; 1 when some tensor gets no gradient at all
 * from this draw (numerically too: e.g. every relu unit dead, or every max
 * at a step W_hh cannot reach), so the caller draws again. */
static int check_draw(const seq_case *c, uint64_t seed) {
    recur_err err = {0};
    model_config cfg = config_of(c);
    model m;
    if (model_create(&m, &cfg, &err)) fail_msg("%s: %s", c->name, err.msg);
    net_workspace_f64 w;
    assert_int_equal(net_workspace_create_f64(&w, &cfg, NSEQ, TMAX, NSEQ * TMAX, c->dropout, &err), 0);
    rng_state r;
    rng_seed(&r, seed);
    batch_data d;
    make_batch(&d, c, &r);
    const net_batch b = batch_of(&d, c);
    const size_t n = m.num_params;
    double *P = malloc(n * sizeof(double)), *G = calloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++) P[i] = 0.8 * (2.0 * rng_uniform(&r) - 1.0);

    net_forward_f64(&w, &m, P, &b);
    net_backward_f64(&w, &m, P, G, &b, 0.5);
    net_loss_ctx lc = {&w, &m, &b};
    const int dead = fd_check(&m, P, G, 0.5, net_loss, &lc, c->name);
    free(P);
    free(G);
    net_workspace_free_f64(&w);
    model_free(&m);
    return dead;
}

static void check_case(const seq_case *c) {
    for (uint64_t seed = 4242; seed < 4252; seed++)
        if (!check_draw(c, seed)) return;
    fail_msg("%s: some tensor got no gradient in 10 draws", c->name);
}

/* The same batch, packed vs. one sequence at a time: equal losses and grads. */
static void check_packing(const seq_case *c) {
    recur_err err = {0};
    model_config cfg = config_of(c);
    model m;
    assert_int_equal(model_create(&m, &cfg, &err), 0);
    net_workspace_f64 w, one;
    assert_int_equal(net_workspace_create_f64(&w, &cfg, NSEQ, TMAX, NSEQ * TMAX, 0, &err), 0);
    assert_int_equal(net_workspace_create_f64(&one, &cfg, 1, TMAX, TMAX, 0, &err), 0);
    rng_state r;
    rng_seed(&r, 99 + (uint64_t)c->cell);
    batch_data d;
    make_batch(&d, c, &r);
    const net_batch b = batch_of(&d, c);
    const size_t n = m.num_params;
    double *P = malloc(n * sizeof(double)), *G = calloc(n, sizeof(double)), *G1 = calloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++) P[i] = 0.8 * (2.0 * rng_uniform(&r) - 1.0);
    const double packed = net_forward_f64(&w, &m, P, &b);
    net_backward_f64(&w, &m, P, G, &b, 1);

    const int per_row = net_per_row(&cfg);
    double alone = 0;
    for (int s = 0; s < d.n; s++) {
        const int len = d.lengths[s];
        int32_t tok[TMAX], lab[TMAX];
        float feat[TMAX * F], tgt[TMAX * K];
        for (int t = 0, row = 0; t < len; row += d.bs[t], t++) { /* row = first row of step t */
            const int src = row + s;
            tok[t] = d.tokens[src];
            memcpy(feat + t * F, d.features + (size_t)src * F, F * sizeof(float));
            if (per_row) {
                lab[t] = d.labels[src];
                memcpy(tgt + t * K, d.targets + (size_t)src * K, K * sizeof(float));
            }
        }
        if (!per_row) {
            lab[0] = d.labels[s];
            memcpy(tgt, d.targets + (size_t)s * K, K * sizeof(float));
        }
        const net_batch bs = {.T = len, .n = 1, .tokens = c->features ? NULL : tok, .features = c->features ? feat : NULL,
                              .labels = c->task == TASK_REGRESS ? NULL : lab,
                              .targets = c->task == TASK_REGRESS ? tgt : NULL};
        alone += net_forward_f64(&one, &m, P, &bs);
        net_backward_f64(&one, &m, P, G1, &bs, 1);
    }
    if (fabs(packed - alone) > 1e-10 * fabs(alone)) fail_msg("%s: packed loss %.15g, alone %.15g", c->name, packed, alone);
    for (size_t i = 0; i < n; i++)
        if (fabs(G[i] - G1[i]) > 1e-10 * (1 + fabs(G1[i])))
            fail_msg("%s: gradient %zu: packed %.15g, alone %.15g", c->name, i, G[i], G1[i]);
    free(P);
    free(G);
    free(G1);
    net_workspace_free_f64(&w);
    net_workspace_free_f64(&one);
    model_free(&m);
}

static const char *const CELLS[CELL_COUNT] = {"rnn_tanh", "rnn_relu", "lstm", "gru", "lbr_gru"};

/* Each head in one configuration per cell; directions, merges, inputs and
 * dropout vary across them. */
static const seq_case HEADS[] = {
    {"classify/last/bi-concat/tokens", 0, TASK_CLASSIFY, 0, 1, MERGE_CONCAT, POOL_LAST, 0, 0, 2, 0, 0, 0, 0, 0},
    {"classify/mean/uni/features/dropout", 0, TASK_CLASSIFY, 1, 0, MERGE_CONCAT, POOL_MEAN, 0, 0.3f, 2, 0, 0, 0, 0, 0},
    {"classify/max/bi-sum/tokens", 0, TASK_CLASSIFY, 0, 1, MERGE_SUM, POOL_MAX, 0, 0, 1, 0, 0, 0, 0, 0},
    {"classify/max/bi-concat/features", 0, TASK_CLASSIFY, 1, 1, MERGE_CONCAT, POOL_MAX, 0, 0, 2, 0, 0, 0, 0, 0},
    {"tag/bi-concat/tokens/dropout", 0, TASK_TAG, 0, 1, MERGE_CONCAT, POOL_LAST, 0, 0.25f, 2, 0, 0, 0, 0, 0},
    {"tag/bi-sum/features", 0, TASK_TAG, 1, 1, MERGE_SUM, POOL_LAST, 0, 0, 2, 0, 0, 0, 0, 0},
    {"regress-step/uni/features", 0, TASK_REGRESS, 1, 0, MERGE_CONCAT, POOL_LAST, 1, 0, 2, 0, 0, 0, 0, 0},
    {"regress-seq/last/bi-concat/features", 0, TASK_REGRESS, 1, 1, MERGE_CONCAT, POOL_LAST, 0, 0, 2, 0, 0, 0, 0, 0},
    {"lm-shaped tag/uni/tokens", 0, TASK_TAG, 0, 0, MERGE_CONCAT, POOL_LAST, 0, 0, 2, 0, 0, 0, 0, 0},
};

/* Skip connections (K = 2, 3: rows whose sequence began fewer than K steps
 * back, or, in reverse, ends sooner, read zeros), residual connections (2-3
 * layers) and both. */
static const seq_case SHORTCUTS[] = {
    {"skip2/tag/bi-concat/tokens/dropout", 0, TASK_TAG, 0, 1, MERGE_CONCAT, POOL_LAST, 0, 0.25f, 2, 2, 0, 0, 0, 0},
    {"skip3/classify/max/bi-sum/features", 0, TASK_CLASSIFY, 1, 1, MERGE_SUM, POOL_MAX, 0, 0, 1, 3, 0, 0, 0, 0},
    {"skip2/regress-step/uni/features", 0, TASK_REGRESS, 1, 0, MERGE_CONCAT, POOL_LAST, 1, 0, 2, 2, 0, 0, 0, 0},
    {"skip3/lm-shaped tag/uni/tokens/uniform", 0, TASK_TAG, 0, 0, MERGE_CONCAT, POOL_LAST, 0, 0, 2, 3, 0, 1, 0, 0},
    {"residual/tag/bi-sum/tokens/dropout/3 layers", 0, TASK_TAG, 0, 1, MERGE_SUM, POOL_LAST, 0, 0.25f, 3, 0, 1, 0, 0, 0},
    {"residual/classify/mean/bi-concat/features", 0, TASK_CLASSIFY, 1, 1, MERGE_CONCAT, POOL_MEAN, 0, 0, 2, 0, 1, 0, 0, 0},
    {"residual/regress-seq/last/uni/features/uniform", 0, TASK_REGRESS, 1, 0, MERGE_CONCAT, POOL_LAST, 0, 0, 2, 0, 1, 1, 0, 0},
    {"skip2+residual/classify/max/bi-concat/dropout/3 layers", 0, TASK_CLASSIFY, 0, 1, MERGE_CONCAT, POOL_MAX, 0, 0.3f,
     3, 2, 1, 0, 0, 0},
    {"skip3+residual/regress-seq/last/bi-sum/features", 0, TASK_REGRESS, 1, 1, MERGE_SUM, POOL_LAST, 0, 0, 2, 3, 1, 0, 0, 0},
    {"skip2+residual/lm-shaped tag/uni/tokens/dropout/uniform", 0, TASK_TAG, 0, 0, MERGE_CONCAT, POOL_LAST, 0, 0.2f,
     2, 2, 1, 1, 0, 0},
};

/* Deep transition (depth, width), alone and with the shortcuts. */
static const seq_case TRANSITIONS[] = {
    {"dt1/tag/bi-concat/tokens/dropout", 0, TASK_TAG, 0, 1, MERGE_CONCAT, POOL_LAST, 0, 0.25f, 2, 0, 0, 0, 1, 3},
    {"dt2/classify/max/bi-sum/features", 0, TASK_CLASSIFY, 1, 1, MERGE_SUM, POOL_MAX, 0, 0, 1, 0, 0, 0, 2, 5},
    {"dt2/regress-step/uni/features/dropout", 0, TASK_REGRESS, 1, 0, MERGE_CONCAT, POOL_LAST, 1, 0.2f, 2, 0, 0, 0, 2, 3},
    {"dt1/lm-shaped tag/uni/tokens/uniform", 0, TASK_TAG, 0, 0, MERGE_CONCAT, POOL_LAST, 0, 0, 2, 0, 0, 1, 1, 4},
    {"dt2+skip2+residual/classify/mean/bi-concat/dropout/3 layers", 0, TASK_CLASSIFY, 0, 1, MERGE_CONCAT, POOL_MEAN, 0,
     0.3f, 3, 2, 1, 0, 2, 3},
    {"dt1+skip3/regress-seq/last/bi-concat/features", 0, TASK_REGRESS, 1, 1, MERGE_CONCAT, POOL_LAST, 0, 0, 2, 3, 0, 0,
     1, 5},
    {"dt2+residual/lm-shaped tag/uni/tokens/dropout/uniform", 0, TASK_TAG, 0, 0, MERGE_CONCAT, POOL_LAST, 0, 0.2f, 2, 0,
     1, 1, 2, 4},
};

static void run_cases(const seq_case *cases, size_t count, cell_kind cell, void (*check)(const seq_case *)) {
    for (size_t i = 0; i < count; i++) {
        seq_case c = cases[i];
        char name[96];
        snprintf(name, sizeof name, "%s %s", CELLS[cell], c.name);
        c.name = name;
        c.cell = cell;
        check(&c);
    }
}

static void run_heads(cell_kind cell, void (*check)(const seq_case *)) {
    run_cases(HEADS, sizeof HEADS / sizeof HEADS[0], cell, check);
}
static void run_shortcuts(cell_kind cell, void (*check)(const seq_case *)) {
    run_cases(SHORTCUTS, sizeof SHORTCUTS / sizeof SHORTCUTS[0], cell, check);
}
static void run_transitions(cell_kind cell, void (*check)(const seq_case *)) {
    run_cases(TRANSITIONS, sizeof TRANSITIONS / sizeof TRANSITIONS[0], cell, check);
}

#define CELL_TESTS(name, cell)                                                             \
    static void test_grad_##name(void **s) { (void)s; run_heads(cell, check_case); }        \
    static void test_packed_##name(void **s) {                                             \
        (void)s;                                                                           \
        run_heads(cell, check_packing_nodrop);                                             \
    }                                                                                      \
    static void test_shortcut_grad_##name(void **s) { (void)s; run_shortcuts(cell, check_case); } \
    static void test_shortcut_packed_##name(void **s) {                                    \
        (void)s;                                                                           \
        run_shortcuts(cell, check_packing_nodrop);                                         \
    }                                                                                      \
    static void test_transition_grad_##name(void **s) { (void)s; run_transitions(cell, check_case); } \
    static void test_transition_packed_##name(void **s) {                                  \
        (void)s;                                                                           \
        run_transitions(cell, check_packing_nodrop);                                       \
    }

/* Dropout masks are drawn per batch shape, so packed-vs-alone runs without it. */
static void check_packing_nodrop(const seq_case *c) {
    seq_case k = *c;
    k.dropout = 0;
    check_packing(&k);
}

CELL_TESTS(rnn_tanh, CELL_RNN_TANH)
CELL_TESTS(rnn_relu, CELL_RNN_RELU)
CELL_TESTS(lstm, CELL_LSTM)
CELL_TESTS(gru, CELL_GRU)
CELL_TESTS(lbr_gru, CELL_LBR_GRU)

/* Dropout: masks come from the seed alone (same seed, same loss; another
 * seed, another loss), are off at 0, and scale the kept units by 1/(1-p). */
static void test_dropout_masks(void **s) {
    (void)s;
    recur_err err = {0};
    const seq_case c = {"", CELL_LSTM, TASK_TAG, 0, 1, MERGE_CONCAT, POOL_LAST, 0, 0.5f, 2, 0, 0, 0, 0, 0};
    model_config cfg = config_of(&c);
    model m;
    assert_int_equal(model_create(&m, &cfg, &err), 0);
    model_init_random(&m, 5);
    net_workspace w;
    assert_int_equal(net_workspace_create(&w, &cfg, NSEQ, TMAX, NSEQ * TMAX, 0.5f, &err), 0);
    rng_state r;
    rng_seed(&r, 1);
    batch_data d;
    make_batch(&d, &c, &r);
    net_batch b = batch_of(&d, &c);
    const double l1 = net_forward(&w, &m, m.params, &b), l2 = net_forward(&w, &m, m.params, &b);
    assert_true(l1 == l2);
    b.dropout_seed = 78;
    assert_true(net_forward(&w, &m, m.params, &b) != l1);
    size_t kept = 0, total = (size_t)d.rows * 2 * H;
    for (size_t i = 0; i < total; i++) {
        assert_true(w.mask[1][i] == 0.0f || w.mask[1][i] == 2.0f);
        kept += w.mask[1][i] != 0;
    }
    assert_true(kept > total / 4 && kept < 3 * total / 4);
    w.dropout = 0; /* eval */
    const double e1 = net_forward(&w, &m, m.params, &b);
    b.dropout_seed = 1;
    assert_true(net_forward(&w, &m, m.params, &b) == e1);
    net_workspace_free(&w);
    model_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_rnn_tanh),   cmocka_unit_test(test_grad_rnn_relu),
        cmocka_unit_test(test_grad_lstm),       cmocka_unit_test(test_grad_gru),
        cmocka_unit_test(test_grad_lbr_gru),    cmocka_unit_test(test_packed_rnn_tanh),
        cmocka_unit_test(test_packed_rnn_relu), cmocka_unit_test(test_packed_lstm),
        cmocka_unit_test(test_packed_gru),      cmocka_unit_test(test_packed_lbr_gru),
        cmocka_unit_test(test_dropout_masks),
        cmocka_unit_test(test_shortcut_grad_rnn_tanh),   cmocka_unit_test(test_shortcut_grad_rnn_relu),
        cmocka_unit_test(test_shortcut_grad_lstm),       cmocka_unit_test(test_shortcut_grad_gru),
        cmocka_unit_test(test_shortcut_grad_lbr_gru),    cmocka_unit_test(test_shortcut_packed_rnn_tanh),
        cmocka_unit_test(test_shortcut_packed_rnn_relu), cmocka_unit_test(test_shortcut_packed_lstm),
        cmocka_unit_test(test_shortcut_packed_gru),      cmocka_unit_test(test_shortcut_packed_lbr_gru),
        cmocka_unit_test(test_transition_grad_rnn_tanh),   cmocka_unit_test(test_transition_grad_rnn_relu),
        cmocka_unit_test(test_transition_grad_lstm),       cmocka_unit_test(test_transition_grad_gru),
        cmocka_unit_test(test_transition_grad_lbr_gru),    cmocka_unit_test(test_transition_packed_rnn_tanh),
        cmocka_unit_test(test_transition_packed_rnn_relu), cmocka_unit_test(test_transition_packed_lstm),
        cmocka_unit_test(test_transition_packed_gru),      cmocka_unit_test(test_transition_packed_lbr_gru),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
