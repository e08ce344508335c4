/* lm_impl.h - the engine, written once over REAL.  Included by lm_f32.c and
 * lm_f64.c, which define REAL, SFX, GEMM_FN, EXP, TANH, LOG.
 *
 * Per layer and window (T steps, B streams, G*H gate columns):
 *   forward : one GEMM for the input projection of all T*B rows, then per
 *             step one recurrent GEMM covering all gates (textbook GRU: two,
 *             since its candidate needs r*h first) and one fused element-wise
 *             loop (cells_impl.h);
 *   backward: per step one fused loop and one GEMM for the grad w.r.t. h_prev;
 *             after the loop one GEMM per weight matrix accumulates the weight
 *             gradient of the whole window, and one GEMM gives the grad w.r.t.
 *             the layer's inputs.
 *
 * Layer 0 with a small vocabulary (char-level: V << T*B) does not multiply
 * T*B embedded rows by W_ih0.  Its input projection only depends on the token,
 * so a table emb * W_ih0^T of V rows is computed once per window and
 * rows are gathered from it; in backward the rows of dxp are first summed per
 * token (S, V x G*H), and dW_ih0 = S^T emb, d emb = S W_ih0 are two GEMMs of V
 * rows.  Same mathematics, V/(T*B) of the FLOPs.
 *
 * The float engine (USE_RGEMM) runs the per-step recurrent GEMMs with W_hh
 * packed once per window (rgemm.h) instead of cblas repacking it every step.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "lm.h"

#include "cells_impl.h"

typedef SFX(lm_workspace) workspace;
typedef SFX(lm_layer_acts) layer_acts;

/* Row-major C = alpha * op(A) op(B) + beta * C. */
static inline void gemm(int ta, int tb, int M, int N, int K, REAL alpha, const REAL *A, int lda, const REAL *Bm,
                        int ldb, REAL beta, REAL *C, int ldc) {
    GEMM_FN(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
            Bm, ldb, beta, C, ldc);
}

/* The recurrent products of one step, C = A W^T (forward) and C = A W
 * (backward), W a row block [n x k] of W_hh: through the packed copy `p`
 * when this window packed, else cblas. */
static void rec_mul_wt(const workspace *w, const rg_packed *p, int M, const REAL *A, int lda, const REAL *W, int n,
                       int k, REAL *C, int ldc) {
#ifdef USE_RGEMM
    if (w->use_packed) {
        rg_gemm(M, A, lda, p, 0, C, ldc);
        return;
    }
#endif
    (void)w;
    (void)p;
    gemm(0, 1, M, n, k, 1, A, lda, W, k, 0, C, ldc);
}

static void rec_mul_w(const workspace *w, const rg_packed *p, int M, const REAL *A, int lda, const REAL *W, int n,
                      int k, int accumulate, REAL *C, int ldc) {
#ifdef USE_RGEMM
    if (w->use_packed) {
        rg_gemm(M, A, lda, p, accumulate, C, ldc);
        return;
    }
#endif
    (void)w;
    (void)p;
    gemm(0, 0, M, k, n, 1, A, lda, W, k, accumulate ? 1 : 0, C, ldc);
}

/* The four views of layer l in an arena laid out as m->tensors:
 * tensors are embedding, then (w_ih, w_hh, b_ih, b_hh) per layer, then head. */
typedef struct { const REAL *w_ih, *w_hh, *b_ih, *b_hh; } layer_params;
static layer_params layer_view(const model *m, const REAL *P, int l) {
    const tensor_info *t = &m->tensors[1 + 4 * l];
    return (layer_params){P + t[0].offset, P + t[1].offset, P + t[2].offset, P + t[3].offset};
}
static REAL *mut(const REAL *p) { return (REAL *)(uintptr_t)p; }

int SFX(lm_workspace_create)(workspace *w, const model_config *cfg, int B, int T, recur_err *err) {
    memset(w, 0, sizeof *w);
    if (B <= 0 || T <= 0) return recur_fail(err, RECUR_EXIT_USAGE, "streams and window must be positive (got %d, %d)", B, T);
    w->cfg = *cfg;
    w->B = B;
    w->T = T;
    const size_t V = cfg->vocab_size, E = cfg->embed_size, H = cfg->hidden_size, L = cfg->num_layers;
    const size_t G = cell_gates(cfg->cell), TB = (size_t)T * B, Bs = B;
    const int lstm = cfg->cell == CELL_LSTM, lbr = cfg->cell == CELL_LBR_GRU;
    const size_t D = E > H ? E : H;
    /* Sizes of every buffer, in the order they are carved from the arena. */
    size_t per_layer = (TB + Bs) * H * (lstm ? 2 : 1) + TB * G * H + TB * H;
    const int table = V <= TB;
    size_t total = TB * E + (table ? V * G * H : 0) + L * per_layer + TB * V + TB * G * H * (lbr ? 2 : 1) + Bs * G * H + G * H + 2 * TB * D +
                   4 * Bs * H + L * Bs * H * (lstm ? 2 : 1);
#ifdef USE_RGEMM
    const size_t pack_floats =
        rg_packed_floats((int)(G * H), (int)H) + RG_NR * H + rg_packed_floats((int)H, (int)(G * H));
    w->pack_buf = malloc(L * pack_floats * sizeof(float));
    if (!w->pack_buf) return recur_fail(err, RECUR_EXIT_FAIL, "out of memory for packed weights");
#endif
    w->arena = calloc(total, sizeof(REAL));
    if (!w->arena) {
        free(w->pack_buf);
        w->pack_buf = NULL;
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory: activations for B=%d T=%d need %zu MiB", B, T,
                          total * sizeof(REAL) >> 20);
    }
    w->arena_len = total;
    REAL *p = w->arena;
#define TAKE(n) (p += (n), p - (n))
    w->x0 = TAKE(TB * E);
    w->table = table ? TAKE(V * G * H) : NULL;
    for (size_t l = 0; l < L; l++) {
        layer_acts *a = &w->layer[l];
        a->h = TAKE((TB + Bs) * H);
        a->c = lstm ? TAKE((TB + Bs) * H) : NULL;
        a->gates = TAKE(TB * G * H);
        a->aux = TAKE(TB * H);
    }
    w->probs = TAKE(TB * V);
    w->xp = TAKE(TB * G * H);
    w->dhp = lbr ? TAKE(TB * G * H) : w->xp;
    w->hp = TAKE(Bs * G * H);
    w->bias = TAKE(G * H);
    w->dy = TAKE(TB * D);
    w->dx = TAKE(TB * D);
    w->dh = TAKE(Bs * H);
    w->dh_next = TAKE(Bs * H);
    w->dc = TAKE(Bs * H);
    w->drh = TAKE(Bs * H);
    w->state_h = TAKE(L * Bs * H);
    w->state_c = lstm ? TAKE(L * Bs * H) : NULL;
#undef TAKE
    return 0;
}

void SFX(lm_workspace_free)(workspace *w) {
    free(w->arena);
    free(w->pack_buf);
    w->arena = NULL;
    w->pack_buf = NULL;
}

void SFX(lm_reset_state)(workspace *w) {
    size_t n = (size_t)w->cfg.num_layers * w->B * w->cfg.hidden_size;
    memset(w->state_h, 0, n * sizeof(REAL));
    if (w->state_c) memset(w->state_c, 0, n * sizeof(REAL));
}

/* xp = X W_ih^T for all T*B rows: one GEMM.  X: [T*B, in].  (The biases are
 * added in the gate loop, which saves writing T*B bias rows first.) */
static void input_projection(workspace *w, const model *m, const REAL *P, int l, const REAL *X, int in, int T) {
    const int GH = cell_gates(w->cfg.cell) * w->cfg.hidden_size, TB = T * w->B;
    const layer_params lp = layer_view(m, P, l);
    gemm(0, 1, TB, GH, in, 1, X, in, lp.w_ih, in, 0, w->xp, GH);
}

/* Layer 0 from the token table: table = emb W_ih0^T, xp rows gathered. */
static void table_projection(workspace *w, const model *m, const REAL *P, const int32_t *inputs, int T) {
    const int GH = cell_gates(w->cfg.cell) * w->cfg.hidden_size, TB = T * w->B;
    const int V = w->cfg.vocab_size, E = w->cfg.embed_size;
    const layer_params lp = layer_view(m, P, 0);
    gemm(0, 1, V, GH, E, 1, P + m->tensors[0].offset, E, lp.w_ih, E, 0, w->table, GH);
    for (int r = 0; r < TB; r++)
        memcpy(w->xp + (size_t)r * GH, w->table + (size_t)inputs[r] * GH, (size_t)GH * sizeof(REAL));
}

#ifdef USE_RGEMM
/* Packs layer l's W_hh for the forward (dir 0) or backward (dir 1) products. */
static void pack_layer(workspace *w, int l, const float *w_hh, int dir) {
    const int H = w->cfg.hidden_size, G = cell_gates(w->cfg.cell), GH = G * H;
    const size_t fwd_floats = rg_packed_floats(GH, H) + RG_NR * (size_t)H;
    const size_t per_layer = fwd_floats + rg_packed_floats(H, GH);
    float *buf = w->pack_buf + l * per_layer + (dir ? fwd_floats : 0);
    rg_packed *p = dir ? w->pack_bwd[l] : w->pack_fwd[l];
    const float *w_n = w_hh + 2 * (size_t)H * H;
    if (w->cfg.cell == CELL_GRU) { /* r,z rows and n rows apart: the candidate multiplies r*h */
        if (dir == 0) {
            rg_pack_nt(&p[0], buf, w_hh, H, 2 * H, H);
            rg_pack_nt(&p[1], buf + rg_packed_floats(2 * H, H), w_n, H, H, H);
        } else {
            rg_pack_nn(&p[0], buf, w_hh, H, 2 * H, H);
            rg_pack_nn(&p[1], buf + rg_packed_floats(H, 2 * H), w_n, H, H, H);
        }
    } else if (dir == 0) {
        rg_pack_nt(&p[0], buf, w_hh, H, GH, H);
    } else {
        rg_pack_nn(&p[0], buf, w_hh, H, GH, H);
    }
}
#endif

/* One layer over T steps from its input projection in w->xp; results land in w->layer[l]. */
static void layer_forward(workspace *w, const model *m, const REAL *P, int l, int T) {
    const int B = w->B, H = w->cfg.hidden_size, G = cell_gates(w->cfg.cell), GH = G * H;
    const cell_kind cell = w->cfg.cell;
    const layer_params lp = layer_view(m, P, l);
    layer_acts *a = &w->layer[l];
    const size_t BH = (size_t)B * H;

    memcpy(a->h, w->state_h + l * BH, BH * sizeof(REAL));
    if (a->c) memcpy(a->c, w->state_c + l * BH, BH * sizeof(REAL));
#ifdef USE_RGEMM
    if (w->use_packed) pack_layer(w, l, lp.w_hh, 0);
#endif
    const rg_packed *pk = w->pack_fwd[l];
    /* One bias vector per gate column; lbr_gru keeps b_hn apart (it sits inside r*(...)). */
    for (int j = 0; j < GH; j++) w->bias[j] = lp.b_ih[j] + (cell == CELL_LBR_GRU && j >= 2 * H ? 0 : lp.b_hh[j]);

    const REAL *xp = w->xp;

    for (int t = 0; t < T; t++) {
        const REAL *h_prev = a->h + t * BH, *xt = xp + (size_t)t * B * GH;
        REAL *h = a->h + (t + 1) * BH, *gates = a->gates + (size_t)t * B * GH, *aux = a->aux + t * BH;
        if (cell == CELL_GRU) {
            rec_mul_wt(w, &pk[0], B, h_prev, H, lp.w_hh, 2 * H, H, w->hp, GH);
            gru_forward_gates(B, H, xt, w->hp, w->bias, h_prev, gates, aux);
            rec_mul_wt(w, &pk[1], B, aux, H, lp.w_hh + 2 * (size_t)H * H, H, H, w->hp + 2 * H, GH);
            gru_forward_candidate(B, H, xt, w->hp, w->bias, h_prev, gates, h);
            continue;
        }
        rec_mul_wt(w, &pk[0], B, h_prev, H, lp.w_hh, GH, H, w->hp, GH);
        switch (cell) {
        case CELL_RNN_TANH:
        case CELL_RNN_RELU: rnn_forward(B, H, cell == CELL_RNN_RELU, xt, w->hp, w->bias, gates, h); break;
        case CELL_LSTM: lstm_forward(B, H, xt, w->hp, w->bias, a->c + t * BH, gates, a->c + (t + 1) * BH, h, aux); break;
        case CELL_LBR_GRU: lbr_gru_forward(B, H, xt, w->hp, w->bias, lp.b_hh, h_prev, gates, h, aux); break;
        default: break;
        }
    }
    memcpy(w->state_h + l * BH, a->h + (size_t)T * BH, BH * sizeof(REAL));
    if (a->c) memcpy(w->state_c + l * BH, a->c + (size_t)T * BH, BH * sizeof(REAL));
}

/* Softmax cross-entropy of rows [TB, V] (probs holds the logits on entry,
 * the softmax on exit).  Returns the summed loss. */
RECUR_HOT static double softmax_xent(REAL *probs, const int32_t *targets, int TB, int V) {
    double total = 0.0;
    for (int r = 0; r < TB; r++) {
        REAL *z = probs + (size_t)r * V;
        REAL mx = z[0];
        for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        REAL zt = targets ? z[targets[r]] : 0;
        REAL s = 0;
        for (int v = 0; v < V; v++) {
            z[v] = EXP(z[v] - mx);
            s += z[v];
        }
        const REAL inv = (REAL)1 / s;
        for (int v = 0; v < V; v++) z[v] *= inv;
        if (targets) total += (double)mx + log((double)s) - (double)zt;
    }
    return total;
}

double SFX(lm_forward)(workspace *w, const model *m, const REAL *P, const int32_t *inputs, const int32_t *targets,
                       int T) {
    const int B = w->B, E = w->cfg.embed_size, H = w->cfg.hidden_size, V = w->cfg.vocab_size;
    const int L = w->cfg.num_layers, TB = T * B;
    const REAL *emb = P + m->tensors[0].offset;
    const tensor_info *head = &m->tensors[m->num_tensors - 2];
    w->last_T = T;

#ifdef USE_RGEMM
    /* Packing costs about one step's product: worth it over a real window. */
    w->use_packed = T >= 8 && TB >= 64 && !w->no_packing;
#endif
    w->used_table = w->table && w->table_policy >= 0 && (w->table_policy > 0 || 2 * V <= TB);
    if (w->used_table) {
        table_projection(w, m, P, inputs, T);
    } else {
        for (int r = 0; r < TB; r++)
            memcpy(w->x0 + (size_t)r * E, emb + (size_t)inputs[r] * E, (size_t)E * sizeof(REAL));
        input_projection(w, m, P, 0, w->x0, E, T);
    }
    const REAL *X = NULL;
    for (int l = 0; l < L; l++) {
        if (l > 0) input_projection(w, m, P, l, X, H, T);
        layer_forward(w, m, P, l, T);
        X = w->layer[l].h + (size_t)B * H; /* rows of steps 0..T-1 outputs */
    }
    const REAL *Wh = P + head[0].offset, *bh = P + head[1].offset;
    for (int r = 0; r < TB; r++) memcpy(w->probs + (size_t)r * V, bh, (size_t)V * sizeof(REAL));
    gemm(0, 1, TB, V, H, 1, X, H, Wh, H, 1, w->probs, V);
    return softmax_xent(w->probs, targets, TB, V);
}

RECUR_HOT static void add_colsum(REAL *dst, const REAL *rows, int nrows, int ncols) {
    for (int r = 0; r < nrows; r++) {
        const REAL *x = rows + (size_t)r * ncols;
        for (int j = 0; j < ncols; j++) dst[j] += x[j];
    }
}

/* Backward of layer l's recurrence given w->dy = grad w.r.t. its outputs
 * [T*B, H]: leaves the grads of its pre-activations in w->xp (dxp) and
 * w->dhp, and accumulates the recurrent weight and bias gradients. */
static void layer_backward(workspace *w, const model *m, const REAL *P, REAL *Gr, int l) {
    const int B = w->B, H = w->cfg.hidden_size, G = cell_gates(w->cfg.cell), GH = G * H, T = w->last_T, TB = T * B;
    const cell_kind cell = w->cfg.cell;
    const layer_params lp = layer_view(m, P, l);
    const layer_params lg = layer_view(m, Gr, l);
    const layer_acts *a = &w->layer[l];
    const size_t BH = (size_t)B * H;
    REAL *dxp = w->xp, *dhp = w->dhp;
#ifdef USE_RGEMM
    if (w->use_packed) pack_layer(w, l, lp.w_hh, 1);
#endif
    const rg_packed *pk = w->pack_bwd[l];

    memset(w->dh_next, 0, BH * sizeof(REAL));
    if (w->dc) memset(w->dc, 0, BH * sizeof(REAL));
    for (int t = T - 1; t >= 0; t--) {
        const REAL *h_prev = a->h + t * BH, *gates = a->gates + (size_t)t * B * GH, *aux = a->aux + t * BH;
        const REAL *dy = w->dy + t * BH;
        REAL *dxt = dxp + (size_t)t * B * GH, *dht = dhp + (size_t)t * B * GH;
        for (size_t i = 0; i < BH; i++) w->dh[i] = dy[i] + w->dh_next[i];
        const int need_prev = t > 0; /* the carried-in state is detached: no grad needed at t = 0 */
        switch (cell) {
        case CELL_RNN_TANH:
        case CELL_RNN_RELU:
            rnn_backward(B, H, cell == CELL_RNN_RELU, w->dh, gates, dxt);
            if (need_prev) rec_mul_w(w, &pk[0], B, dxt, GH, lp.w_hh, GH, H, 0, w->dh_next, H);
            break;
        case CELL_LSTM:
            lstm_backward(B, H, w->dh, gates, aux, a->c + t * BH, w->dc, dxt);
            if (need_prev) rec_mul_w(w, &pk[0], B, dxt, GH, lp.w_hh, GH, H, 0, w->dh_next, H);
            break;
        case CELL_LBR_GRU:
            lbr_gru_backward(B, H, w->dh, gates, aux, h_prev, dxt, dht, w->dh_next);
            if (need_prev) rec_mul_w(w, &pk[0], B, dht, GH, lp.w_hh, GH, H, 1, w->dh_next, H);
            break;
        case CELL_GRU:
            gru_backward_candidate(B, H, w->dh, gates, h_prev, dxt, w->dh_next);
            rec_mul_w(w, &pk[1], B, dxt + 2 * H, GH, lp.w_hh + 2 * (size_t)H * H, H, H, 0, w->drh, H);
            gru_backward_gates(B, H, w->drh, gates, h_prev, dxt, w->dh_next);
            if (need_prev) rec_mul_w(w, &pk[0], B, dxt, GH, lp.w_hh, 2 * H, H, 1, w->dh_next, H);
            break;
        default: break;
        }
    }
    /* Weight gradients of the whole window: one GEMM per matrix. */
    if (cell == CELL_GRU) {
        gemm(1, 0, 2 * H, H, TB, 1, dhp, GH, a->h, H, 1, mut(lg.w_hh), H);
        gemm(1, 0, H, H, TB, 1, dhp + 2 * H, GH, a->aux, H, 1, mut(lg.w_hh) + 2 * (size_t)H * H, H);
    } else {
        gemm(1, 0, GH, H, TB, 1, dhp, GH, a->h, H, 1, mut(lg.w_hh), H);
    }
    add_colsum(mut(lg.b_hh), dhp, TB, GH);
}

/* Input side of layer l: dW_ih += dxp^T X, db_ih += colsum(dxp), and the grad
 * w.r.t. X into w->dx [T*B, in] (one GEMM each). */
static void input_backward(workspace *w, const model *m, const REAL *P, REAL *Gr, int l, const REAL *X, int in) {
    const int GH = cell_gates(w->cfg.cell) * w->cfg.hidden_size, TB = w->last_T * w->B;
    const layer_params lp = layer_view(m, P, l), lg = layer_view(m, Gr, l);
    gemm(1, 0, GH, in, TB, 1, w->xp, GH, X, in, 1, mut(lg.w_ih), in);
    add_colsum(mut(lg.b_ih), w->xp, TB, GH);
    gemm(0, 0, TB, in, GH, 1, w->xp, GH, lp.w_ih, in, 0, w->dx, in);
}

/* Input side of layer 0 through the token table: S[v] = sum of the dxp rows
 * of token v, then dW_ih0 += S^T emb, db_ih0 += colsum(S), d emb += S W_ih0. */
static void table_backward(workspace *w, const model *m, const REAL *P, REAL *Gr, const int32_t *inputs) {
    const int GH = cell_gates(w->cfg.cell) * w->cfg.hidden_size, TB = w->last_T * w->B;
    const int V = w->cfg.vocab_size, E = w->cfg.embed_size;
    const layer_params lp = layer_view(m, P, 0), lg = layer_view(m, Gr, 0);
    REAL *S = w->table;
    memset(S, 0, (size_t)V * GH * sizeof(REAL));
    for (int r = 0; r < TB; r++) {
        REAL *restrict dst = S + (size_t)inputs[r] * GH;
        const REAL *restrict src = w->xp + (size_t)r * GH;
        for (int j = 0; j < GH; j++) dst[j] += src[j];
    }
    gemm(1, 0, GH, E, V, 1, S, GH, P + m->tensors[0].offset, E, 1, mut(lg.w_ih), E);
    add_colsum(mut(lg.b_ih), S, V, GH);
    gemm(0, 0, V, E, GH, 1, S, GH, lp.w_ih, E, 1, Gr + m->tensors[0].offset, E);
}

void SFX(lm_backward)(workspace *w, const model *m, const REAL *P, REAL *Gr, const int32_t *inputs,
                      const int32_t *targets, REAL scale) {
    const int B = w->B, E = w->cfg.embed_size, H = w->cfg.hidden_size, V = w->cfg.vocab_size;
    const int L = w->cfg.num_layers, T = w->last_T, TB = T * B;
    const tensor_info *head = &m->tensors[m->num_tensors - 2];
    const REAL *Wh = P + head[0].offset;
    REAL *dWh = Gr + head[0].offset, *dbh = Gr + head[1].offset;

    /* dlogits = scale * (softmax - onehot), in place. */
    for (int r = 0; r < TB; r++) {
        REAL *z = w->probs + (size_t)r * V;
        z[targets[r]] -= 1;
        for (int v = 0; v < V; v++) z[v] *= scale;
    }
    const REAL *Htop = w->layer[L - 1].h + (size_t)B * H;
    gemm(1, 0, V, H, TB, 1, w->probs, V, Htop, H, 1, dWh, H);
    add_colsum(dbh, w->probs, TB, V);
    gemm(0, 0, TB, H, V, 1, w->probs, V, Wh, H, 0, w->dy, H);
    if (w->grads_ready) w->grads_ready(w->grads_ready_ctx, m->num_tensors - 2, m->num_tensors - 1);

    for (int l = L - 1; l >= 0; l--) {
        layer_backward(w, m, P, Gr, l);
        if (l == 0 && w->used_table) {
            table_backward(w, m, P, Gr, inputs);
            break;
        }
        input_backward(w, m, P, Gr, l, l == 0 ? w->x0 : w->layer[l - 1].h + (size_t)B * H, l == 0 ? E : H);
        if (l > 0 && w->grads_ready) w->grads_ready(w->grads_ready_ctx, 1 + 4 * l, 4 + 4 * l);
        REAL *swap = w->dy; /* the grad w.r.t. this layer's inputs is the next layer down's dy */
        w->dy = w->dx;
        w->dx = swap;
    }
    if (!w->used_table) {
        /* w->dy now holds the grad w.r.t. the embedded inputs: scatter-add rows. */
        REAL *dE = Gr + m->tensors[0].offset;
        for (int r = 0; r < TB; r++) {
            REAL *row = dE + (size_t)inputs[r] * E;
            const REAL *g = w->dy + (size_t)r * E;
            for (int j = 0; j < E; j++) row[j] += g[j];
        }
    }
    if (w->grads_ready) w->grads_ready(w->grads_ready_ctx, 0, 4);
}
