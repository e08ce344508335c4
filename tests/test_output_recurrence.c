/* Output-to-hidden recurrence (reference §2 pattern 2; model.h:
 * recurrence_kind) in the engine, in double precision:
 *   - finite-difference checks of every parameter (rnn/weight_oh included),
 *     tag and per-step regress, 1 and 2 layers, rnn_tanh and rnn_relu, token
 *     and feature inputs, dropout, on ragged packed batches;
 *   - the teacher-forced forward, which computes every row of the window at
 *     once, against a plain step-by-step loop over each sequence written
 *     here (same losses and outputs);
 *   - free-running (the model's own predictions fed back) against teacher
 *     forcing: the same at every sequence's first step, different later when
 *     the truth is not what the model predicts, and exactly the same when it
 *     is (the truth set to the free-running predictions). */
#include "test_util.h"
#include "fd_check.h"

#include <math.h>

#include "../core/net.h"
#include "../core/rng.h"

enum { NSEQ = 4, TMAX = 5, V = 6, E = 3, F = 3, H = 4, C = 3, K = 2 };

typedef struct {
    const char *name;
    cell_kind cell;
    task_kind task;    /* TASK_TAG or TASK_REGRESS (per step) */
    int features;
    int layers;
    float dropout;
} fed_case;

typedef struct {
    int T, n, rows;
    int32_t bs[TMAX], lengths[NSEQ];
    int32_t tokens[NSEQ * TMAX], labels[NSEQ * TMAX];
    float features[NSEQ * TMAX * F], targets[NSEQ * TMAX * K];
} batch_data;

/* Lengths 5, 3, 3, 1 (slot order): rows end at different steps, two together. */
static void make_batch(batch_data *d, rng_state *r) {
    static const int32_t lens[NSEQ] = {5, 3, 3, 1};
    memset(d, 0, sizeof *d);
    d->n = NSEQ;
    d->T = lens[0];
    memcpy(d->lengths, lens, sizeof lens);
    for (int t = 0; t < d->T; t++)
        for (int s = 0; s < NSEQ; s++) d->bs[t] += lens[s] > t;
    for (int t = 0; t < d->T; t++) d->rows += d->bs[t];
    for (int i = 0; i < d->rows; i++) d->tokens[i] = (int32_t)(rng_next(r) % V);
    for (int i = 0; i < d->rows * F; i++) d->features[i] = 2 * rng_uniform(r) - 1;
    for (int i = 0; i < d->rows; i++) d->labels[i] = (int32_t)(rng_next(r) % C);
    for (int i = 0; i < d->rows * K; i++) d->targets[i] = 2 * rng_uniform(r) - 1;
}

static model_config config_of(const fed_case *c) {
    model_config cfg = {.cell = c->cell, .hidden_size = H, .num_layers = c->layers, .task = c->task,
                        .per_step = 1, .recurrence = RECURRENCE_OUTPUT};
    if (c->features) cfg.input_size = F;
    else cfg.vocab_size = V, cfg.embed_size = E;
    cfg.output_size = c->task == TASK_REGRESS ? K : C;
    return cfg;
}

static net_batch batch_of(const batch_data *d, const fed_case *c) {
    return (net_batch){.T = d->T, .n = d->n, .batch_sizes = d->bs, .tokens = c->features ? NULL : d->tokens,
                       .features = c->features ? d->features : NULL,
                       .labels = c->task == TASK_REGRESS ? NULL : d->labels,
                       .targets = c->task == TASK_REGRESS ? d->targets : NULL, .dropout_seed = 77};
}

static double *random_params(const model *m, rng_state *r) {
    double *P = malloc(m->num_params * sizeof(double));
    for (size_t i = 0; i < m->num_params; i++) P[i] = 0.8 * (2.0 * rng_uniform(r) - 1.0);
    return P;
}

/* ---- the model's tensors ---- */

static void test_tensors(void **s) {
    (void)s;
    const fed_case c = {"", CELL_RNN_TANH, TASK_TAG, 0, 2, 0};
    model_config cfg = config_of(&c);
    model m;
    recur_err err = {0};
    assert_int_equal(model_create(&m, &cfg, &err), 0);
    /* embedding, layer 0 (ih, bias), weight_oh, layer 1 (ih, bias), head */
    const char *const names[] = {"embedding/weight", "rnn/weight_ih_l0", "rnn/bias_ih_l0", "rnn/weight_oh",
                                 "rnn/weight_ih_l1", "rnn/bias_ih_l1", "head/weight", "head/bias"};
    assert_int_equal(m.num_tensors, 8);
    for (int i = 0; i < 8; i++) assert_string_equal(m.tensors[i].name, names[i]);
    assert_int_equal(m.tensors[m.ix.w_oh].shape[0], H);
    assert_int_equal(m.tensors[m.ix.w_oh].shape[1], C);
    assert_int_equal(m.ix.layer[0][0].w_hh, -1);
    assert_int_equal(m.ix.layer[1][0].b_hh, -1);
    int first, last;
    model_layer_tensors(&m, 0, &first, &last); /* weight_oh is final with layer 0 */
    assert_int_equal(first, 1);
    assert_int_equal(last, 3);
    model_layer_tensors(&m, 1, &first, &last);
    assert_int_equal(first, 4);
    assert_int_equal(last, 5);
    model_free(&m);
    /* Where it does not apply: refused, saying why. */
    const struct { cell_kind cell; task_kind task; int per_step, bidir; const char *says; } bad[] = {
        {CELL_LSTM, TASK_TAG, 1, 0, "rnn_tanh or rnn_relu"},
        {CELL_RNN_TANH, TASK_TAG, 1, 1, "one direction"},
        {CELL_RNN_TANH, TASK_CLASSIFY, 0, 0, "classify"},
        {CELL_RNN_RELU, TASK_REGRESS, 0, 0, "per sequence"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        model_config b = cfg;
        b.cell = bad[i].cell, b.task = bad[i].task, b.per_step = bad[i].per_step, b.bidirectional = bad[i].bidir;
        assert_int_not_equal(model_config_validate(&b, "x", &err), 0);
        if (!strstr(err.msg, bad[i].says)) fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].says);
    }
}

/* ---- gradients ---- */

typedef struct {
    net_workspace_f64 *w;
    const model *m;
    const net_batch *b;
} net_loss_ctx;

static double net_loss(void *ctx, const double *P) {
    const net_loss_ctx *c = ctx;
    return net_forward_f64(c->w, c->m, P, c->b);
}

static int check_draw(const fed_case *c, uint64_t seed) {
    recur_err err = {0};
    model_config cfg = config_of(c);
    model m;
    if (model_create(&m, &cfg, &err)) fail_msg("%s: %s", c->name, err.msg);
    net_workspace_f64 w;
    assert_int_equal(net_workspace_create_f64(&w, &cfg, NSEQ, TMAX, NSEQ * TMAX, c->dropout, &err), 0);
    rng_state r;
    rng_seed(&r, seed);
    batch_data d;
    make_batch(&d, &r);
    const net_batch b = batch_of(&d, c);
    double *P = random_params(&m, &r), *G = calloc(m.num_params, sizeof(double));
    net_forward_f64(&w, &m, P, &b);
    assert_false(w.free_running); /* labels or targets given: teacher forcing */
    net_backward_f64(&w, &m, P, G, &b, 0.5);
    net_loss_ctx lc = {&w, &m, &b};
    const int dead = fd_check(&m, P, G, 0.5, net_loss, &lc, c->name);
    free(P);
    free(G);
    net_workspace_free_f64(&w);
    model_free(&m);
    return dead;
}

static void each_case(void (*check)(const fed_case *)) {
    static const cell_kind cells[2] = {CELL_RNN_TANH, CELL_RNN_RELU};
    static const task_kind tasks[2] = {TASK_TAG, TASK_REGRESS};
    for (int ci = 0; ci < 2; ci++)
        for (int ti = 0; ti < 2; ti++)
            for (int layers = 1; layers <= 2; layers++)
                for (int features = 0; features <= 1; features++) {
                    char name[96];
                    const float dropout = layers == 2 && features ? 0.3f : 0;
                    snprintf(name, sizeof name, "%s %s %d layer(s) %s%s", cells[ci] == CELL_RNN_RELU ? "rnn_relu" : "rnn_tanh",
                             tasks[ti] == TASK_TAG ? "tag" : "regress-step", layers, features ? "features" : "tokens",
                             dropout > 0 ? " dropout" : "");
                    const fed_case c = {name, cells[ci], tasks[ti], features, layers, dropout};
                    check(&c);
                }
}

static void check_case(const fed_case *c) {
    for (uint64_t seed = 4242; seed < 4252; seed++)
        if (!check_draw(c, seed)) return;
    fail_msg("%s: some tensor got no gradient in 10 draws", c->name);
}

static void test_gradients(void **s) {
    (void)s;
    each_case(check_case);
}

/* ---- the window at once against a step loop ---- */

static double act(const fed_case *c, double a) { return c->cell == CELL_RNN_RELU ? (a > 0 ? a : 0) : tanh(a); }

/* Sequence s run step by step, teacher-forced, straight from the tensors:
 * h0_t = act(W_ih0 x_t + b_ih0 + W_oh y_{t-1}), h_l,t = act(W_ih_l h_{l-1,t}
 * + b_ih_l), out_t = W_head h + b_head; y_{t-1} the one-hot of the previous
 * label or the previous target vector, nothing at t = 0.  Writes each step's
 * outputs (logits or predictions) into out [len, O]; returns the summed loss. */
static double step_by_step(const fed_case *c, const model *m, const double *P, const batch_data *d, int s,
                           double *out) {
    const int O = c->task == TASK_REGRESS ? K : C, in0 = c->features ? F : E, L = c->layers;
    const tensor_info *T = m->tensors;
    double h[2][H], x[E > F ? E : F], loss = 0;
    for (int t = 0, row = 0; t < d->lengths[s]; row += d->bs[t], t++) {
        const int r = row + s, prev = t ? row - d->bs[t - 1] + s : -1;
        for (int i = 0; i < in0; i++)
            x[i] = c->features ? d->features[r * F + i] : P[T[m->ix.embedding].offset + (size_t)d->tokens[r] * E + i];
        const double *below = x;
        int width = in0;
        for (int l = 0; l < L; l++) {
            const double *W = P + T[m->ix.layer[l][0].w_ih].offset, *b = P + T[m->ix.layer[l][0].b_ih].offset;
            const double *Woh = P + T[m->ix.w_oh].offset;
            for (int j = 0; j < H; j++) {
                double a = b[j];
                for (int i = 0; i < width; i++) a += W[j * width + i] * below[i];
                if (l == 0 && prev >= 0) {
                    if (c->task == TASK_TAG) a += Woh[j * O + d->labels[prev]];
                    else
                        for (int k = 0; k < K; k++) a += Woh[j * O + k] * d->targets[prev * K + k];
                }
                h[l][j] = act(c, a);
            }
            below = h[l];
            width = H;
        }
        const double *Wh = P + T[m->ix.head_weight].offset, *bh = P + T[m->ix.head_bias].offset;
        double *o = out + (size_t)t * O, mx = -INFINITY, z = 0;
        for (int v = 0; v < O; v++) {
            o[v] = bh[v];
            for (int j = 0; j < H; j++) o[v] += Wh[v * H + j] * below[j];
            mx = fmax(mx, o[v]);
        }
        if (c->task == TASK_REGRESS) {
            for (int k = 0; k < K; k++) loss += (o[k] - d->targets[r * K + k]) * (o[k] - d->targets[r * K + k]);
            continue;
        }
        for (int v = 0; v < O; v++) z += exp(o[v] - mx);
        loss += mx + log(z) - o[d->labels[r]];
    }
    return loss;
}

static void check_window(const fed_case *c) {
    if (c->dropout > 0) return; /* the loop above has no dropout */
    recur_err err = {0};
    model_config cfg = config_of(c);
    model m;
    assert_int_equal(model_create(&m, &cfg, &err), 0);
    net_workspace_f64 w;
    assert_int_equal(net_workspace_create_f64(&w, &cfg, NSEQ, TMAX, NSEQ * TMAX, 0, &err), 0);
    rng_state r;
    rng_seed(&r, 7);
    batch_data d;
    make_batch(&d, &r);
    const net_batch b = batch_of(&d, c);
    double *P = random_params(&m, &r);
    const double loss = net_forward_f64(&w, &m, P, &b);
    const int O = cfg.output_size;
    double expect = 0, out[TMAX * C > TMAX * K ? TMAX * C : TMAX * K];
    for (int s = 0; s < d.n; s++) {
        expect += step_by_step(c, &m, P, &d, s, out);
        for (int t = 0, row = 0; t < d.lengths[s]; row += d.bs[t], t++) {
            const double *got = w.out + (size_t)(row + s) * O;
            double mx = -INFINITY, z = 0;
            for (int v = 0; v < O; v++) mx = fmax(mx, out[t * O + v]);
            for (int v = 0; v < O; v++) z += exp(out[t * O + v] - mx);
            for (int v = 0; v < O; v++) {
                const double want = c->task == TASK_REGRESS ? out[t * O + v] : exp(out[t * O + v] - mx) / z;
                if (fabs(got[v] - want) > 1e-12) fail_msg("%s: seq %d step %d output %d: %.15g vs %.15g", c->name, s, t, v, got[v], want);
            }
        }
    }
    if (fabs(loss - expect) > 1e-12 * fabs(expect)) fail_msg("%s: loss %.15g, step by step %.15g", c->name, loss, expect);
    free(P);
    net_workspace_free_f64(&w);
    model_free(&m);
}

static void test_window_equals_steps(void **s) {
    (void)s;
    each_case(check_window);
}

/* ---- free-running against teacher forcing ---- */

static void check_free_running(const fed_case *c) {
    if (c->dropout > 0) return;
    recur_err err = {0};
    model_config cfg = config_of(c);
    model m;
    assert_int_equal(model_create(&m, &cfg, &err), 0);
    model_init_random(&m, 11);
    net_workspace w;
    assert_int_equal(net_workspace_create(&w, &cfg, NSEQ, TMAX, NSEQ * TMAX, 0, &err), 0);
    rng_state r;
    rng_seed(&r, 5);
    batch_data d;
    make_batch(&d, &r);
    /* A weight_oh large enough that what is fed back moves the outputs. */
    for (size_t i = 0; i < m.tensors[m.ix.w_oh].count; i++) m.params[m.tensors[m.ix.w_oh].offset + i] *= 8;
    net_batch b = batch_of(&d, c);
    const int O = cfg.output_size, R = d.rows;
    float *tf = malloc((size_t)R * O * sizeof(float)), *fr = malloc((size_t)R * O * sizeof(float));
    const double tf_loss = net_forward(&w, &m, m.params, &b);
    memcpy(tf, w.out, (size_t)R * O * sizeof(float));
    b.free_running = 1;
    const double fr_loss = net_forward(&w, &m, m.params, &b);
    assert_true(w.free_running);
    memcpy(fr, w.out, (size_t)R * O * sizeof(float));
    /* Step 0 is fed nothing either way; later steps differ somewhere (the
     * random truth is not what the model predicts). */
    assert_memory_equal(tf, fr, (size_t)d.bs[0] * O * sizeof(float));
    int differ = 0;
    for (int i = d.bs[0] * O; i < R * O; i++) differ += tf[i] != fr[i];
    if (!differ) fail_msg("%s: free-running equals teacher-forced with a random truth", c->name);
    assert_true(tf_loss != fr_loss);
    /* No truth: free-running whatever the flag says. */
    net_batch none = b;
    none.free_running = 0, none.labels = NULL, none.targets = NULL;
    assert_true(net_forward(&w, &m, m.params, &none) == 0);
    assert_true(w.free_running);
    assert_memory_equal(w.out, fr, (size_t)R * O * sizeof(float));
    /* The truth made what the model predicts: teacher forcing feeds back
     * exactly what free-running did, so the two agree bit for bit. */
    for (int row = 0; row < R; row++) {
        const float *o = fr + (size_t)row * O;
        int best = 0;
        for (int v = 1; v < O; v++) best = o[v] > o[best] ? v : best;
        d.labels[row] = best;
        memcpy(d.targets + (size_t)row * K, o, K * sizeof(float));
    }
    b = batch_of(&d, c);
    const double tf2 = net_forward(&w, &m, m.params, &b);
    assert_memory_equal(w.out, fr, (size_t)R * O * sizeof(float));
    b.free_running = 1; /* the same losses, summed step by step rather than all at once */
    assert_true(fabs(net_forward(&w, &m, m.params, &b) - tf2) <= 1e-12 * fabs(tf2));
    free(tf);
    free(fr);
    net_workspace_free(&w);
    model_free(&m);
}

static void test_free_running(void **s) {
    (void)s;
    each_case(check_free_running);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensors),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_window_equals_steps),
        cmocka_unit_test(test_free_running),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
