/* Finite-difference gradient checks, in double precision, of the very engine
 * training runs (core/net_impl.h compiled for double): every cell, 1 and 2 layers,
 * the second window of a run so the carried-in state (h, and c for LSTM) is
 * non-zero, every parameter of the embedding, the layers and the head.
 * Also: windowed forward with carried state equals one long window. */
#include "test_util.h"

#include <math.h>

#include "../core/net.h"
#include "../core/rng.h"

enum { B = 3, T = 4, V = 7, E = 5, H = 6 };

typedef struct {
    model m;
    net_workspace_f64 w;
    double *P, *G;
    int32_t in1[T * B], tg1[T * B], in2[T * B], tg2[T * B];
    double *saved_h, *saved_c;
} case_t;

static void setup_case(case_t *c, cell_kind cell, int layers, int table_policy, uint64_t seed) {
    recur_err err = {0};
    model_config cfg = {.cell = cell, .vocab_size = V, .embed_size = E, .hidden_size = H, .num_layers = layers};
    assert_int_equal(model_create(&c->m, &cfg, &err), 0);
    assert_int_equal(net_workspace_create_f64(&c->w, &cfg, B, T, B * T, 0, &err), 0);
    assert_non_null(c->w.table); /* V <= T*B, so both input paths are available */
    c->w.table_policy = table_policy;
    size_t n = c->m.num_params;
    c->P = malloc(n * sizeof(double));
    c->G = calloc(n, sizeof(double));
    rng_state r;
    rng_seed(&r, seed);
    /* Weights large enough that gates are far from linear, small enough that
     * relu units are rarely within eps of their kink. */
    for (size_t i = 0; i < n; i++) c->P[i] = 0.8 * (2.0 * rng_uniform(&r) - 1.0);
    for (int i = 0; i < T * B; i++) {
        c->in1[i] = (int32_t)(rng_next(&r) % V);
        c->tg1[i] = (int32_t)(rng_next(&r) % V);
        c->in2[i] = (int32_t)(rng_next(&r) % V);
        c->tg2[i] = (int32_t)(rng_next(&r) % V);
    }
    size_t sn = (size_t)layers * B * H;
    c->saved_h = malloc(sn * sizeof(double));
    c->saved_c = malloc(sn * sizeof(double));
    /* Window 1 only produces the carried state window 2 starts from. */
    const net_batch w1 = net_window(T, B, c->in1, c->tg1);
    net_forward_f64(&c->w, &c->m, c->P, &w1);
    memcpy(c->saved_h, c->w.state_h, sn * sizeof(double));
    if (c->w.state_c) memcpy(c->saved_c, c->w.state_c, sn * sizeof(double));
}

static void free_case(case_t *c) {
    free(c->P); free(c->G); free(c->saved_h); free(c->saved_c);
    net_workspace_free_f64(&c->w);
    model_free(&c->m);
}

/* Mean loss of window 2 from the saved carried state. */
static double window2_loss(case_t *c) {
    size_t sn = (size_t)c->m.cfg.num_layers * B * H;
    memcpy(c->w.state_h, c->saved_h, sn * sizeof(double));
    if (c->w.state_c) memcpy(c->w.state_c, c->saved_c, sn * sizeof(double));
    const net_batch w2 = net_window(T, B, c->in2, c->tg2);
    return net_forward_f64(&c->w, &c->m, c->P, &w2) / (B * T);
}

/* table_policy 1: layer 0's input projection through the token table;
 * -1: through the gathered embedding rows (see core/net_impl.h). */
static void check_cell(cell_kind cell, int layers, int table_policy) {
    case_t c;
    setup_case(&c, cell, layers, table_policy, 1234 + 17 * cell + layers);
    /* The carried state must really be non-zero for the check to mean anything. */
    double smax = 0;
    for (int i = 0; i < layers * B * H; i++) smax = fmax(smax, fabs(c.saved_h[i]));
    assert_true(smax > 0.05);

    window2_loss(&c);
    assert_int_equal(c.w.used_table, table_policy > 0);
    const net_batch w2 = net_window(T, B, c.in2, c.tg2);
    net_backward_f64(&c.w, &c.m, c.P, c.G, &w2, 1.0 / (B * T));

    const double eps = 1e-6;
    double worst = 0;
    const char *worst_name = "";
    size_t worst_i = 0;
    for (int k = 0; k < c.m.num_tensors; k++) {
        const tensor_info *t = &c.m.tensors[k];
        double gmax = 0;
        for (size_t i = 0; i < t->count; i++) {
            size_t idx = t->offset + i;
            double keep = c.P[idx];
            c.P[idx] = keep + eps;
            double lp = window2_loss(&c);
            c.P[idx] = keep - eps;
            double lm = window2_loss(&c);
            c.P[idx] = keep;
            double fd = (lp - lm) / (2 * eps);
            double an = c.G[idx];
            double rel = fabs(fd - an) / fmax(1e-7, fabs(fd) + fabs(an));
            gmax = fmax(gmax, fabs(an));
            if (fabs(fd - an) > 1e-8 && rel > worst) {
                worst = rel;
                worst_name = t->name;
                worst_i = i;
            }
        }
        /* Every tensor gets some gradient (embedding rows of unused tokens aside). */
        assert_true(gmax > 0);
    }
    if (worst > 1e-5)
        fail_msg("%s L=%d %s: worst relative error %.3g at %s[%zu]", cell_name(cell), layers,
                 table_policy > 0 ? "table" : "rows", worst, worst_name, worst_i);
    free_case(&c);
}

#define CELL_TESTS(name, cell) \
    static void test_##name##_1(void **s) { (void)s; check_cell(cell, 1, -1); check_cell(cell, 1, 1); } \
    static void test_##name##_2(void **s) { (void)s; check_cell(cell, 2, -1); check_cell(cell, 2, 1); }
CELL_TESTS(rnn_tanh, CELL_RNN_TANH)
CELL_TESTS(rnn_relu, CELL_RNN_RELU)
CELL_TESTS(lstm, CELL_LSTM)
CELL_TESTS(gru, CELL_GRU)
CELL_TESTS(lbr_gru, CELL_LBR_GRU)

/* Forward losses over windows of k with carried state add up to one long window. */
static void check_windowing(cell_kind cell) {
    recur_err err = {0};
    model_config cfg = {.cell = cell, .vocab_size = 11, .embed_size = 8, .hidden_size = 16, .num_layers = 2};
    model m;
    assert_int_equal(model_create(&m, &cfg, &err), 0);
    model_init_random(&m, 7);
    enum { S = 4, K = 5, N = 4 * 5 };
    int32_t in[N * S], tg[N * S];
    rng_state r;
    rng_seed(&r, 99);
    for (int i = 0; i < N * S; i++) { in[i] = (int32_t)(rng_next(&r) % 11); tg[i] = (int32_t)(rng_next(&r) % 11); }
    net_workspace long_w, short_w;
    assert_int_equal(net_workspace_create(&long_w, &cfg, S, N, S * N, 0, &err), 0);
    assert_int_equal(net_workspace_create(&short_w, &cfg, S, K, S * K, 0, &err), 0);
    /* The long window goes through the token table, the short ones through
     * gathered rows (2V > K*S): the two input paths must agree too. */
    const net_batch all = net_window(N, S, in, tg);
    double whole = net_forward(&long_w, &m, m.params, &all);
    assert_true(long_w.used_table);
    double parts = 0;
    for (int s = 0; s < N / K; s++) {
        const net_batch part = net_window(K, S, in + s * K * S, tg + s * K * S);
        parts += net_forward(&short_w, &m, m.params, &part);
        assert_false(short_w.used_table);
    }
    assert_true(fabs(whole - parts) <= 1e-5 * fabs(whole));
    /* And the carried state at the end is the same. */
    for (int i = 0; i < 2 * S * 16; i++) assert_true(fabsf(long_w.state_h[i] - short_w.state_h[i]) < 1e-6f);
    net_workspace_free(&long_w);
    net_workspace_free(&short_w);
    model_free(&m);
}
static void test_windowing_lstm(void **s) { (void)s; check_windowing(CELL_LSTM); }
static void test_windowing_gru(void **s) { (void)s; check_windowing(CELL_GRU); }
static void test_windowing_lbr_gru(void **s) { (void)s; check_windowing(CELL_LBR_GRU); }
static void test_windowing_rnn(void **s) { (void)s; check_windowing(CELL_RNN_TANH); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rnn_tanh_1), cmocka_unit_test(test_rnn_tanh_2),
        cmocka_unit_test(test_rnn_relu_1), cmocka_unit_test(test_rnn_relu_2),
        cmocka_unit_test(test_lstm_1),     cmocka_unit_test(test_lstm_2),
        cmocka_unit_test(test_gru_1),      cmocka_unit_test(test_gru_2),
        cmocka_unit_test(test_lbr_gru_1),  cmocka_unit_test(test_lbr_gru_2),
        cmocka_unit_test(test_windowing_lstm), cmocka_unit_test(test_windowing_gru),
        cmocka_unit_test(test_windowing_lbr_gru), cmocka_unit_test(test_windowing_rnn),
    };
    return cmocka_run_group_tests_name("gradcheck", tests, NULL, NULL);
}
