/* Finite-difference gradient checks, in double precision, of the
 * encoder-decoder (core/seq2seq_impl.h compiled for double): every attention
 * kind, the context as the decoder's initial state, as an input at every
 * step and both, one- and two-direction encoders (with the bridge), every
 * cell, the stop-bit and length heads, dropout with a fixed mask.  Every
 * parameter of every tensor is checked.
 *
 * And: a packed batch (sources and targets sorted differently, so the
 * decoder slots map to other encoder slots) gives the same loss and
 * gradients as each pair run alone; scheduled sampling's forward and backward
 * equal the teacher-forced ones given the tokens it read.  The deep RNN forms
 * (skip, residual, deep transition) on both stacks get the same checks, and
 * beam reordering (states, h~, the skip ring) is checked for every model. */
#include "test_util.h"
#include "fd_check.h"

#include <math.h>

#include "../core/rng.h"
#include "../core/seq2seq.h"

enum { NP = 4, TS = 4, TD = 5, VS = 5, VT = 4, E = 3, H = 4, MAXLEN = 6, FC = 3 };

typedef struct {
    const char *name;
    cell_kind cell;
    attention_kind attention;
    int context;
    int bidirectional;
    merge_kind merge;
    end_kind end;
    float dropout;
    int layers;
    condition_kind cond; /* a conditional LM: no encoder, a label (VS labels) or FC features per pair */
    int skip, residual;  /* deep RNN shortcuts (reference §9), on the encoder and the decoder */
    int tdepth, twidth;  /* deep transition */
} s2s_case;

/* Four pairs.  Sources by encoder slot (longest first): lengths 4, 3, 2, 2.
 * Targets by decoder slot: lengths (decoder steps) 5, 3, 3, 1; decoder slot
 * i is the pair of encoder slot ENC_SLOT[i]. */
static const int32_t SRC_LEN[NP] = {4, 3, 2, 2}, DEC_LEN[NP] = {5, 3, 3, 1}, ENC_SLOT[NP] = {2, 0, 3, 1};

typedef struct {
    int32_t src_bs[TS], dec_bs[TD];
    int32_t src[NP * TS], din[NP * TD], dout[NP * TD];
    float feat[NP * FC];
    int Re, Rd;
} pair_batch;

/* A conditional LM's "source" is one step: the label, or the features. */
static const int32_t COND_BS[1] = {NP};

static void packed_sizes(const int32_t *len, int n, int T, int32_t *bs, int *rows) {
    *rows = 0;
    for (int t = 0; t < T; t++) {
        bs[t] = 0;
        for (int i = 0; i < n; i++) bs[t] += len[i] > t;
        *rows += bs[t];
    }
}

static void make_batch(pair_batch *d, const s2s_case *c, rng_state *r) {
    memset(d, 0, sizeof *d);
    packed_sizes(SRC_LEN, NP, TS, d->src_bs, &d->Re);
    packed_sizes(DEC_LEN, NP, TD, d->dec_bs, &d->Rd);
    const int O = VT + (c->end == END_EOS);
    for (int i = 0; i < d->Re; i++) d->src[i] = (int32_t)(rng_next(r) % VS);
    for (int i = 0; i < NP * FC; i++) d->feat[i] = (float)(2 * rng_uniform(r) - 1);
    for (int i = 0; i < d->Rd; i++) {
        d->din[i] = (int32_t)(rng_next(r) % (VT + 1)); /* BOS = VT included */
        d->dout[i] = (int32_t)(rng_next(r) % O);
    }
}

static model_config config_of(const s2s_case *c) {
    const int features = c->cond == COND_FEATURES;
    return (model_config){.cell = c->cell, .vocab_size = VT, .embed_size = E, .hidden_size = H,
                          .num_layers = c->layers, .task = TASK_SEQ2SEQ, .src_vocab_size = features ? 0 : VS,
                          .input_size = features ? FC : 0, .condition = c->cond,
                          .bidirectional = c->bidirectional, .merge = c->merge, .attention = c->attention,
                          .context = c->context, .end = c->end, .max_len = c->end == END_LENGTH ? MAXLEN : 0,
                          .skip = c->skip, .residual = c->residual, .transition_depth = c->tdepth,
                          .transition_width = c->twidth};
}

static s2s_batch batch_of(const pair_batch *d, const s2s_case *c) {
    s2s_batch b = {.n = NP, .Ts = TS, .Td = TD, .src_bs = d->src_bs, .src_tokens = d->src, .dec_bs = d->dec_bs,
                   .dec_in = d->din, .dec_out = d->dout, .enc_slot = ENC_SLOT, .dropout_seed = 77};
    if (c->cond) b.Ts = 1, b.src_bs = COND_BS, b.src_features = c->cond == COND_FEATURES ? d->feat : NULL;
    return b;
}

static double total(const s2s_loss *l) { return l->tokens + l->stop + l->length; }

static double loss_at(s2s_workspace_f64 *w, const model *m, const double *P, const s2s_batch *b) {
    s2s_loss l;
    s2s_forward_f64(w, m, P, b, &l);
    return total(&l);
}

typedef struct {
    s2s_workspace_f64 *w;
    const model *m;
    const s2s_batch *b;
} s2s_loss_ctx;

static double s2s_loss_of(void *ctx, const double *P) {
    const s2s_loss_ctx *c = ctx;
    return loss_at(c->w, c->m, P, c->b);
}

/* 0 when every gradient matches, 1 when some tensor got no gradient at all
 * in this draw (the caller draws again). */
static int check_draw(const s2s_case *c, uint64_t seed) {
    recur_err err = {0};
    model_config cfg = config_of(c);
    model m;
    if (model_create(&m, &cfg, &err)) fail_msg("%s: %s", c->name, err.msg);
    s2s_workspace_f64 w;
    if (s2s_workspace_create_f64(&w, &m, NP, TS, NP * TS, TD, NP * TD, c->dropout, &err)) fail_msg("%s", err.msg);
    rng_state r;
    rng_seed(&r, seed);
    pair_batch d;
    make_batch(&d, c, &r);
    const s2s_batch b = batch_of(&d, c);
    const size_t n = m.num_params;
    double *P = malloc(n * sizeof(double)), *G = calloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++) P[i] = 0.8 * (2.0 * rng_uniform(&r) - 1.0);
    loss_at(&w, &m, P, &b);
    s2s_backward_f64(&w, &m, P, G, &b, 0.5);
    s2s_loss_ctx lc = {&w, &m, &b};
    const int dead = fd_check(&m, P, G, 0.5, s2s_loss_of, &lc, c->name);
    free(P);
    free(G);
    s2s_workspace_free_f64(&w);
    model_free(&m);
    return dead;
}

static void check_case(const s2s_case *c) {
    for (uint64_t seed = 4242; seed < 4252; seed++)
        if (!check_draw(c, seed)) return;
    fail_msg("%s: some tensor got no gradient in 10 draws", c->name);
}

/* Packed vs. one pair at a time: equal losses and gradients. */
static void check_packing(const s2s_case *c) {
    recur_err err = {0};
    model_config cfg = config_of(c);
    model m;
    assert_int_equal(model_create(&m, &cfg, &err), 0);
    s2s_workspace_f64 w, one;
    assert_int_equal(s2s_workspace_create_f64(&w, &m, NP, TS, NP * TS, TD, NP * TD, 0, &err), 0);
    assert_int_equal(s2s_workspace_create_f64(&one, &m, 1, TS, TS, TD, TD, 0, &err), 0);
    rng_state r;
    rng_seed(&r, 99 + (uint64_t)c->cell);
    pair_batch d;
    make_batch(&d, c, &r);
    const s2s_batch b = batch_of(&d, c);
    const size_t n = m.num_params;
    double *P = malloc(n * sizeof(double)), *G = calloc(n, sizeof(double)), *G1 = calloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++) P[i] = 0.8 * (2.0 * rng_uniform(&r) - 1.0);
    const double packed = loss_at(&w, &m, P, &b);
    s2s_backward_f64(&w, &m, P, G, &b, 1);
    double alone = 0;
    for (int i = 0; i < NP; i++) { /* decoder slot i and its source, encoder slot ENC_SLOT[i] */
        const int es = ENC_SLOT[i];
        int32_t src[TS], din[TD], dout[TD], sbs[TS], dbs[TD], zero = 0;
        const int ts = c->cond ? 1 : SRC_LEN[es];
        for (int t = 0, row = 0; t < ts; row += d.src_bs[t], t++) src[t] = d.src[row + es], sbs[t] = 1;
        for (int t = 0, row = 0; t < DEC_LEN[i]; row += d.dec_bs[t], t++)
            din[t] = d.din[row + i], dout[t] = d.dout[row + i], dbs[t] = 1;
        const s2s_batch bi = {.n = 1, .Ts = ts, .Td = DEC_LEN[i], .src_bs = sbs, .src_tokens = src,
                              .src_features = c->cond == COND_FEATURES ? d.feat + es * FC : NULL,
                              .dec_bs = dbs, .dec_in = din, .dec_out = dout, .enc_slot = &zero};
        alone += loss_at(&one, &m, P, &bi);
        s2s_backward_f64(&one, &m, P, G1, &bi, 1);
    }
    if (fabs(packed - alone) > 1e-10 * fabs(alone)) fail_msg("%s: packed loss %.15g, alone %.15g", c->name, packed, alone);
    for (size_t i = 0; i < n; i++)
        if (fabs(G[i] - G1[i]) > 1e-10 * (1 + fabs(G1[i])))
            fail_msg("%s: gradient %zu: packed %.15g, alone %.15g", c->name, i, G[i], G1[i]);
    free(P);
    free(G);
    free(G1);
    s2s_workspace_free_f64(&w);
    s2s_workspace_free_f64(&one);
    model_free(&m);
}

static const char *const CELLS[CELL_COUNT] = {"rnn_tanh", "rnn_relu", "lstm", "gru", "lbr_gru"};

/* Every attention kind with every context; encoders of one and two
 * directions; both ending heads; dropout. */
static const s2s_case CASES[] = {
    {"none/init/uni", 0, ATTN_NONE, CONTEXT_INIT, 0, MERGE_CONCAT, END_EOS, 0, 2, COND_NONE, 0, 0, 0, 0},
    {"none/input/bi", 0, ATTN_NONE, CONTEXT_INPUT, 1, MERGE_CONCAT, END_EOS, 0, 1, COND_NONE, 0, 0, 0, 0},
    {"none/both/bi/stop-bit", 0, ATTN_NONE, CONTEXT_BOTH, 1, MERGE_CONCAT, END_STOP_BIT, 0, 2, COND_NONE, 0, 0, 0, 0},
    {"dot/init/uni/length", 0, ATTN_DOT, CONTEXT_INIT, 0, MERGE_CONCAT, END_LENGTH, 0, 1, COND_NONE, 0, 0, 0, 0},
    {"dot/both/bi-sum", 0, ATTN_DOT, CONTEXT_BOTH, 1, MERGE_SUM, END_EOS, 0, 2, COND_NONE, 0, 0, 0, 0},
    {"general/input/bi/dropout", 0, ATTN_GENERAL, CONTEXT_INPUT, 1, MERGE_CONCAT, END_EOS, 0.3f, 2, COND_NONE, 0, 0, 0, 0},
    {"general/init/uni/stop-bit", 0, ATTN_GENERAL, CONTEXT_INIT, 0, MERGE_CONCAT, END_STOP_BIT, 0, 2, COND_NONE, 0, 0, 0, 0},
    {"additive/both/bi", 0, ATTN_ADDITIVE, CONTEXT_BOTH, 1, MERGE_CONCAT, END_EOS, 0, 2, COND_NONE, 0, 0, 0, 0},
    {"additive/init/uni/length/dropout", 0, ATTN_ADDITIVE, CONTEXT_INIT, 0, MERGE_CONCAT, END_LENGTH, 0.25f, 1, COND_NONE, 0, 0, 0, 0},
    /* The conditional LM (reference §6): a label's embedding or features, as h0, as input, both. */
    {"clm/label/init", 0, ATTN_NONE, CONTEXT_INIT, 0, MERGE_CONCAT, END_EOS, 0, 2, COND_LABEL, 0, 0, 0, 0},
    {"clm/label/input/stop-bit", 0, ATTN_NONE, CONTEXT_INPUT, 0, MERGE_CONCAT, END_STOP_BIT, 0, 1, COND_LABEL, 0, 0, 0, 0},
    {"clm/label/both/length/dropout", 0, ATTN_NONE, CONTEXT_BOTH, 0, MERGE_CONCAT, END_LENGTH, 0.3f, 2, COND_LABEL, 0, 0, 0, 0},
    {"clm/features/init", 0, ATTN_NONE, CONTEXT_INIT, 0, MERGE_CONCAT, END_EOS, 0, 1, COND_FEATURES, 0, 0, 0, 0},
    {"clm/features/input", 0, ATTN_NONE, CONTEXT_INPUT, 0, MERGE_CONCAT, END_EOS, 0, 2, COND_FEATURES, 0, 0, 0, 0},
    {"clm/features/both/length", 0, ATTN_NONE, CONTEXT_BOTH, 0, MERGE_CONCAT, END_LENGTH, 0, 2, COND_FEATURES, 0, 0, 0, 0},
};

/* The deep RNN forms (reference §9) on both stacks: skip K = 2 or 3 (the
 * decoder runs up to 5 steps, the encoder 4, so it reaches back in both),
 * residual connections, deep transitions (input, h_{t-1} and output MLPs),
 * with and without attention, dropout, and on a conditional LM. */
static const s2s_case DEEP_CASES[] = {
    {"skip/none/init/uni", 0, ATTN_NONE, CONTEXT_INIT, 0, MERGE_CONCAT, END_EOS, 0, 2, COND_NONE, 2, 0, 0, 0},
    {"skip+res/general/both/bi/dropout", 0, ATTN_GENERAL, CONTEXT_BOTH, 1, MERGE_CONCAT, END_EOS, 0.3f, 2, COND_NONE,
     2, 1, 0, 0},
    {"res/additive/init/uni/stop-bit", 0, ATTN_ADDITIVE, CONTEXT_INIT, 0, MERGE_CONCAT, END_STOP_BIT, 0, 3, COND_NONE,
     0, 1, 0, 0},
    {"skip3+res/dot/input/bi-sum/length", 0, ATTN_DOT, CONTEXT_INPUT, 1, MERGE_SUM, END_LENGTH, 0, 2, COND_NONE, 3, 1,
     0, 0},
    {"clm/label/both/skip+res/dropout", 0, ATTN_NONE, CONTEXT_BOTH, 0, MERGE_CONCAT, END_EOS, 0.3f, 2, COND_LABEL, 2,
     1, 0, 0},
    {"clm/features/init/skip", 0, ATTN_NONE, CONTEXT_INIT, 0, MERGE_CONCAT, END_STOP_BIT, 0, 1, COND_FEATURES, 2, 0,
     0, 0},
    /* Deep transition (W = 3 against H = 4), alone and with the shortcuts. */
    {"dt2/none/both/uni", 0, ATTN_NONE, CONTEXT_BOTH, 0, MERGE_CONCAT, END_EOS, 0, 2, COND_NONE, 0, 0, 2, 3},
    {"dt1/general/input/bi/stop-bit", 0, ATTN_GENERAL, CONTEXT_INPUT, 1, MERGE_CONCAT, END_STOP_BIT, 0, 1, COND_NONE,
     0, 0, 1, 3},
    {"dt2+skip+res/additive/both/bi/dropout", 0, ATTN_ADDITIVE, CONTEXT_BOTH, 1, MERGE_CONCAT, END_EOS, 0.3f, 2,
     COND_NONE, 2, 1, 2, 3},
    {"dt1+skip/dot/init/uni/length", 0, ATTN_DOT, CONTEXT_INIT, 0, MERGE_CONCAT, END_LENGTH, 0, 2, COND_NONE, 2, 0, 1,
     5},
    {"clm/label/input/dt2+skip+res", 0, ATTN_NONE, CONTEXT_INPUT, 0, MERGE_CONCAT, END_EOS, 0, 2, COND_LABEL, 2, 1, 2,
     3},
    {"clm/features/both/dt1/dropout", 0, ATTN_NONE, CONTEXT_BOTH, 0, MERGE_CONCAT, END_STOP_BIT, 0.25f, 1,
     COND_FEATURES, 0, 0, 1, 3},
};

static void run_list(const s2s_case *cases, size_t count, cell_kind cell, void (*check)(const s2s_case *)) {
    for (size_t i = 0; i < count; i++) {
        s2s_case c = cases[i];
        char name[96];
        snprintf(name, sizeof name, "%s %s", CELLS[cell], c.name);
        c.name = name;
        c.cell = cell;
        check(&c);
    }
}

static void run_cases(cell_kind cell, void (*check)(const s2s_case *)) {
    run_list(CASES, sizeof CASES / sizeof CASES[0], cell, check);
}

static void run_deep(cell_kind cell, void (*check)(const s2s_case *)) {
    run_list(DEEP_CASES, sizeof DEEP_CASES / sizeof DEEP_CASES[0], cell, check);
}

static void check_packing_nodrop(const s2s_case *c) {
    s2s_case k = *c;
    k.dropout = 0;
    check_packing(&k);
}

#define CELL_TESTS(name, cell)                                                        \
    static void test_grad_##name(void **s) { (void)s; run_cases(cell, check_case); } \
    static void test_packed_##name(void **s) { (void)s; run_cases(cell, check_packing_nodrop); }

CELL_TESTS(rnn_tanh, CELL_RNN_TANH)
CELL_TESTS(rnn_relu, CELL_RNN_RELU)
CELL_TESTS(lstm, CELL_LSTM)
CELL_TESTS(gru, CELL_GRU)
CELL_TESTS(lbr_gru, CELL_LBR_GRU)

/* Generation one step at a time (gen_begin, gen_step feeding the true
 * tokens) gives exactly the teacher-forced forward's probabilities, stop
 * probabilities and length distribution, for every configuration. */
static void check_generation(const s2s_case *c) {
    recur_err err = {0};
    model_config cfg = config_of(c);
    model m;
    assert_int_equal(model_create(&m, &cfg, &err), 0);
    s2s_workspace_f64 w, g;
    assert_int_equal(s2s_workspace_create_f64(&w, &m, NP, TS, NP * TS, TD, NP * TD, 0, &err), 0);
    assert_int_equal(s2s_workspace_create_f64(&g, &m, NP, TS, NP * TS, TD, NP * TD, 0, &err), 0);
    rng_state r;
    rng_seed(&r, 7 + (uint64_t)c->cell);
    pair_batch d;
    make_batch(&d, c, &r);
    s2s_batch b = batch_of(&d, c);
    b.dec_out = NULL;
    double *P = malloc(m.num_params * sizeof(double));
    for (size_t i = 0; i < m.num_params; i++) P[i] = 0.8 * (2.0 * rng_uniform(&r) - 1.0);
    s2s_loss l;
    s2s_forward_f64(&w, &m, P, &b, &l);
    s2s_gen_begin_f64(&g, &m, P, &b, NP, ENC_SLOT);
    const int O = w.O;
    if (c->end == END_LENGTH) {
        const double *lp = s2s_gen_lengths_f64(&g, &m, P);
        for (int i = 0; i < NP * MAXLEN; i++) assert_true(fabs(lp[i] - w.lenp[i]) < 1e-12);
    }
    for (int t = 0, row = 0; t < TD; row += d.dec_bs[t], t++) {
        int32_t tok[NP];
        for (int i = 0; i < NP; i++) tok[i] = i < d.dec_bs[t] ? d.din[row + i] : VT; /* ended slots: anything */
        const double *p = s2s_gen_step_f64(&g, &m, P, tok);
        for (int i = 0; i < d.dec_bs[t]; i++) {
            for (int v = 0; v < O; v++) {
                const double a = p[(size_t)i * O + v], e = w.out[(size_t)(row + i) * O + v];
                if (fabs(a - e) > 1e-12) fail_msg("%s: step %d slot %d class %d: generated %.15g, forward %.15g", c->name, t, i, v, a, e);
            }
            if (c->end == END_STOP_BIT) assert_true(fabs(g.stop[i] - w.stop[row + i]) < 1e-12);
        }
    }
    free(P);
    s2s_workspace_free_f64(&w);
    s2s_workspace_free_f64(&g);
    model_free(&m);
}

/* Beam search's reordering carries everything a slot decodes from (states,
 * h~, the skip ring): two slots per pair, one fed the true tokens and one
 * others; after step SWAP they trade places (gen_reorder), and the slot that
 * continues the true track gives the teacher-forced forward's probabilities. */
static void check_reorder(const s2s_case *c) {
    enum { SWAP = 3, N2 = 2 * NP };
    recur_err err = {0};
    model_config cfg = config_of(c);
    model m;
    assert_int_equal(model_create(&m, &cfg, &err), 0);
    s2s_workspace_f64 w, g;
    assert_int_equal(s2s_workspace_create_f64(&w, &m, NP, TS, NP * TS, TD, NP * TD, 0, &err), 0);
    assert_int_equal(s2s_workspace_create_f64(&g, &m, N2, TS, NP * TS, TD, N2 * TD, 0, &err), 0);
    rng_state r;
    rng_seed(&r, 11 + (uint64_t)c->cell);
    pair_batch d;
    make_batch(&d, c, &r);
    s2s_batch b = batch_of(&d, c);
    b.dec_out = NULL;
    double *P = malloc(m.num_params * sizeof(double));
    for (size_t i = 0; i < m.num_params; i++) P[i] = 0.8 * (2.0 * rng_uniform(&r) - 1.0);
    s2s_loss l;
    s2s_forward_f64(&w, &m, P, &b, &l);
    int32_t enc2[N2], from[N2];
    for (int i = 0; i < N2; i++) enc2[i] = ENC_SLOT[i / 2], from[i] = i ^ 1;
    s2s_gen_begin_f64(&g, &m, P, &b, N2, enc2);
    const int O = w.O;
    for (int t = 0, row = 0; t < TD; row += d.dec_bs[t], t++) {
        if (t == SWAP) s2s_gen_reorder_f64(&g, from);
        const int truth = t < SWAP ? 0 : 1; /* which slot of each pair is on the true track */
        int32_t tok[N2];
        for (int i = 0; i < N2; i++) {
            const int j = i / 2, real = j < d.dec_bs[t] ? d.din[row + j] : VT;
            tok[i] = (i & 1) == truth ? real : (real + 1 + t) % (VT + 1);
        }
        const double *p = s2s_gen_step_f64(&g, &m, P, tok);
        for (int j = 0; j < d.dec_bs[t]; j++)
            for (int v = 0; v < O; v++) {
                const double a = p[(size_t)(2 * j + truth) * O + v], e = w.out[(size_t)(row + j) * O + v];
                if (fabs(a - e) > 1e-12)
                    fail_msg("%s: step %d pair %d class %d: reordered %.15g, forward %.15g", c->name, t, j, v, a, e);
            }
    }
    free(P);
    s2s_workspace_free_f64(&w);
    s2s_workspace_free_f64(&g);
    model_free(&m);
}

static void check_generation_nodrop(const s2s_case *c) {
    s2s_case k = *c;
    k.dropout = 0;
    check_generation(&k);
}

static void test_generation_matches_forward(void **s) {
    (void)s;
    for (int cell = 0; cell < CELL_COUNT; cell++) run_cases((cell_kind)cell, check_generation_nodrop);
}

/* The deep forms: gradients, packing and generation (which keeps each
 * slot's last K states itself) for every cell. */
static void test_deep_grad(void **s) {
    (void)s;
    for (int cell = 0; cell < CELL_COUNT; cell++) run_deep((cell_kind)cell, check_case);
}

static void test_deep_packed(void **s) {
    (void)s;
    for (int cell = 0; cell < CELL_COUNT; cell++) run_deep((cell_kind)cell, check_packing_nodrop);
}

static void test_deep_generation(void **s) {
    (void)s;
    for (int cell = 0; cell < CELL_COUNT; cell++) run_deep((cell_kind)cell, check_generation_nodrop);
}

static void check_reorder_nodrop(const s2s_case *c) {
    s2s_case k = *c;
    k.dropout = 0;
    check_reorder(&k);
}

static void test_reorder(void **s) {
    (void)s;
    for (int cell = 0; cell < CELL_COUNT; cell++) {
        run_cases((cell_kind)cell, check_reorder_nodrop);
        run_deep((cell_kind)cell, check_reorder_nodrop);
    }
}

/* Scheduled sampling: a forward that feeds some steps the model's own
 * samples equals (loss and every gradient) the teacher-forced forward given
 * the tokens it read as its inputs, so its backward is the FD-checked one;
 * and it did feed samples. */
static void check_sampling(const s2s_case *c) {
    recur_err err = {0};
    model_config cfg = config_of(c);
    model m;
    assert_int_equal(model_create(&m, &cfg, &err), 0);
    s2s_workspace_f64 w;
    assert_int_equal(s2s_workspace_create_f64(&w, &m, NP, TS, NP * TS, TD, NP * TD, c->dropout, &err), 0);
    rng_state r;
    rng_seed(&r, 31 + (uint64_t)c->cell);
    pair_batch d;
    make_batch(&d, c, &r);
    s2s_batch b = batch_of(&d, c);
    const size_t n = m.num_params;
    double *P = malloc(n * sizeof(double)), *G = calloc(n, sizeof(double)), *G1 = calloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++) P[i] = 0.8 * (2.0 * rng_uniform(&r) - 1.0);
    int changed = 0;
    for (uint64_t seed = 1; seed < 40 && !changed; seed++) { /* a draw that replaces some token */
        b.dropout_seed = seed;
        b.sample_prob = 0.7f;
        loss_at(&w, &m, P, &b);
        for (int i = 0; i < d.Rd; i++) changed += w.fed[i] != d.din[i];
    }
    assert_true(changed > 0);
    const double sampled = loss_at(&w, &m, P, &b);
    s2s_backward_f64(&w, &m, P, G, &b, 1);
    int32_t fed[NP * TD];
    memcpy(fed, w.fed, (size_t)d.Rd * sizeof(int32_t));
    s2s_batch t = b;
    t.sample_prob = 0;
    t.dec_in = fed;
    const double forced = loss_at(&w, &m, P, &t);
    s2s_backward_f64(&w, &m, P, G1, &t, 1);
    if (fabs(sampled - forced) > 1e-12 * fabs(forced)) fail_msg("%s: sampled loss %.15g, forced %.15g", c->name, sampled, forced);
    for (size_t i = 0; i < n; i++)
        if (fabs(G[i] - G1[i]) > 1e-12 * (1 + fabs(G1[i])))
            fail_msg("%s: gradient %zu: sampled %.15g, forced %.15g", c->name, i, G[i], G1[i]);
    free(P);
    free(G);
    free(G1);
    s2s_workspace_free_f64(&w);
    model_free(&m);
}

static void test_scheduled_sampling(void **s) {
    (void)s;
    for (int cell = 0; cell < CELL_COUNT; cell++) {
        run_cases((cell_kind)cell, check_sampling);
        run_deep((cell_kind)cell, check_sampling);
    }
}

/* The tensors carry PyTorch-style names under encoder/, decoder/, bridge/,
 * attention/ and the ending heads, and dot attention over a concatenated
 * bidirectional memory is refused with a hint. */
static void test_names_and_config(void **s) {
    (void)s;
    recur_err err = {0};
    const s2s_case c = {"", CELL_LSTM, ATTN_ADDITIVE, CONTEXT_BOTH, 1, MERGE_CONCAT, END_STOP_BIT, 0, 2, COND_NONE, 0, 0, 0, 0};
    model_config cfg = config_of(&c);
    model m;
    assert_int_equal(model_create(&m, &cfg, &err), 0);
    const char *names[] = {"encoder/embedding/weight", "encoder/rnn/weight_ih_l1_reverse", "decoder/embedding/weight",
                           "decoder/rnn/weight_hh_l1", "bridge/weight_h_l0", "bridge/bias_c_l1",
                           "attention/key_weight", "attention/query_weight", "attention/v",
                           "attention/combine_weight", "decoder/out/weight", "stop/weight"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (model_find_tensor(&m, names[i]) < 0) fail_msg("no tensor %s", names[i]);
    const tensor_info *t = &m.tensors[model_find_tensor(&m, "decoder/rnn/weight_ih_l0")];
    assert_int_equal(t->shape[1], E + 2 * H + H); /* embedding, context (both directions), input feeding */
    assert_int_equal(m.tensors[model_find_tensor(&m, "decoder/out/weight")].shape[0], VT); /* no EOS class */
    model_free(&m);
    cfg.attention = ATTN_DOT;
    assert_int_not_equal(model_create(&m, &cfg, &err), 0);
    assert_non_null(strstr(err.msg, "--merge sum"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_config), cmocka_unit_test(test_grad_rnn_tanh),
        cmocka_unit_test(test_grad_rnn_relu),    cmocka_unit_test(test_grad_lstm),
        cmocka_unit_test(test_grad_gru),         cmocka_unit_test(test_grad_lbr_gru),
        cmocka_unit_test(test_packed_rnn_tanh),  cmocka_unit_test(test_packed_rnn_relu),
        cmocka_unit_test(test_packed_lstm),      cmocka_unit_test(test_packed_gru),
        cmocka_unit_test(test_packed_lbr_gru),   cmocka_unit_test(test_generation_matches_forward),
        cmocka_unit_test(test_scheduled_sampling), cmocka_unit_test(test_deep_grad),
        cmocka_unit_test(test_deep_packed),        cmocka_unit_test(test_deep_generation),
        cmocka_unit_test(test_reorder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
