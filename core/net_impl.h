/* net_impl.h - the engine, written once over REAL.  Included by net_f32.c and
 * net_f64.c, which define REAL, SFX, GEMM_FN, EXP, TANH.
 *
 * Per layer direction and batch (rows packed as net.h describes, G*H gate
 * columns):
 *   forward : one GEMM for the input projection of all rows, then per step
 *             one recurrent GEMM over the step's active rows covering all
 *             gates (textbook GRU: two, since its candidate needs r*h first)
 *             and one fused element-wise loop (cells_impl.h);
 *   backward: per step one fused loop and one GEMM for the grad w.r.t. the
 *             previous state; after the loop one GEMM per weight matrix
 *             accumulates the weight gradient of the whole batch, and one
 *             GEMM gives the grad w.r.t. the layer's input.
 * Both directions and every head run through these same functions.
 *
 * Rows and their predecessors.  Each direction keeps, for every row, the
 * state it started from (hprev, and cprev for LSTM), so the weight gradient
 * dW_hh = dhp^T Hprev is one GEMM.  In the uniform forward case (stream
 * windows: every sequence at every step) row r's predecessor is row r - n, so
 * hprev simply is [initial block; outputs] and nothing is copied; otherwise
 * each step copies its predecessors' rows (bs[t] x H floats, nothing next to
 * the step's GEMM of bs[t] x H x G*H).
 *
 * Layer 0 with a small vocabulary (char-level: V << rows) does not multiply
 * the embedded rows by W_ih0.  Its input projection only depends on the
 * token, so a table emb W_ih0^T of V rows is computed once per batch and rows
 * are gathered from it; in backward the rows of dxp are first summed per
 * token (S, V x G*H), and dW_ih0 = S^T emb, d emb = S W_ih0 are two GEMMs of
 * V rows.  Same mathematics, V/rows of the FLOPs.
 *
 * Inputs of layers above 0 and of the head: the outputs of the layer below
 * (both directions side by side, or summed), with inverted dropout.  When that
 * is just the one direction's y without dropout, it is read in place.
 *
 * The float engine (USE_RGEMM) runs the per-step recurrent GEMMs with W_hh
 * packed once per batch (rgemm.h) instead of cblas repacking it every step.
 *
 * Output-to-hidden recurrence (model.h: recurrence_kind) takes one branch in
 * net_forward and net_backward: there is no W_hh, so under teacher forcing
 * a layer is its input GEMM, the fed-back term and the activation over ALL
 * rows at once (fed_rows_forward), and its backward one element-wise pass
 * (fed_backward) before the same weight-gradient GEMMs as every layer.
 * Free-running evaluation goes step by step (fed_forward_free).
 *
 * Shortcuts of a deep RNN (reference §9), both off by default:
 *   skip K : W_skip h_{t-K} joins the input projection of step t (it is one
 *            more input of the gates), one GEMM per step over the rows whose
 *            sequence was running K steps back; the others, and every row of
 *            the first K steps of a window (a carried state is not kept K
 *            steps deep), read zeros.  Backward adds W_skip^T dxp of step t
 *            to the grad of step t-K's outputs (dskip), which the loop reaches
 *            later; dW_skip is one GEMM after it.
 *   residual: layer l >= 1 passes up y + its input (direction d adds its
 *            columns of the input: concat, or all of them for the forward
 *            direction with sum), in `res`; y itself stays the recurrent and
 *            carried state.  Backward adds the grad w.r.t. res to the grad
 *            w.r.t. the layer's input.
 *
 * Deep transition (depth D >= 1, width W): one MLP mechanism (mlp_forward,
 * mlp_backward, mlp_weight_grads) on three paths.  input -> hidden: the
 * layer's input rows go through it before the input projection (all rows
 * at once; no token table then).  hidden -> hidden: inside the step loop,
 * h_{t-1} goes through it before W_hh (the textbook GRU's W_hn reads it
 * applied to r*h); backward keeps each row's pre-activation grads (da) so
 * its weight grads are one GEMM per layer after the loop, as W_hh's.  The
 * recurrent products then go through cblas (packing is for W_hh of H
 * columns).  hidden -> output: the head's input goes through it.  Dropout
 * masks after each MLP layer (training) come from the batch's seed, the
 * path, layer, direction and MLP layer alone.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "net.h"
#include "rng.h"

#include "cells_impl.h"

typedef SFX(net_workspace) workspace;
typedef SFX(net_dir_acts) dir_acts;
typedef SFX(net_mlp_acts) mlp_acts;

/* Row-major C = alpha * op(A) op(B) + beta * C. */
static inline void gemm(int ta, int tb, int M, int N, int K, REAL alpha, const REAL *A, int lda, const REAL *Bm,
                        int ldb, REAL beta, REAL *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* an empty sum: C = beta C (cblas would too, but some builds complain about ld) */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
    GEMM_FN(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
            Bm, ldb, beta, C, ldc);
}

/* The recurrent products of one step, C = A W^T (forward) and C = A W
 * (backward), W a row block [n x k] of W_hh: through the packed copy `p`
 * when this batch packed, else cblas. */
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

/* The four tensors of layer l, direction d, in an arena laid out as m->tensors. */
/* A deep transition's weights: layer k maps `in` (k = 0) or W columns to W. */
typedef struct {
    int depth, width, in; /* depth 0: no MLP */
    const REAL *A[RECUR_MAX_TRANSITION], *c[RECUR_MAX_TRANSITION];
} mlp_params;
static mlp_params mlp_view(const model *m, const REAL *P, int first, int in) {
    mlp_params p = {first >= 0 ? m->cfg.transition_depth : 0, m->cfg.transition_width, in, {NULL}, {NULL}};
    for (int k = 0; k < p.depth; k++) {
        p.A[k] = P + m->tensors[first + 2 * k].offset;
        p.c[k] = P + m->tensors[first + 2 * k + 1].offset;
    }
    return p;
}

typedef struct {
    const REAL *w_ih, *w_hh, *b_ih, *b_hh, *w_skip;
    mlp_params ih, hh; /* deep transition (depth 0: none) */
} layer_params;
static layer_params layer_view(const model *m, const REAL *P, int l, int d) {
    const layer_index *x = &m->ix.layer[l][d];
    const tensor_info *t = m->tensors;
    return (layer_params){P + t[x->w_ih].offset, x->w_hh >= 0 ? P + t[x->w_hh].offset : NULL, P + t[x->b_ih].offset,
                          x->b_hh >= 0 ? P + t[x->b_hh].offset : NULL, /* no _hh: output recurrence */
                          x->w_skip >= 0 ? P + t[x->w_skip].offset : NULL,
                          mlp_view(m, P, x->mlp_ih, model_layer_input(&m->cfg, l)),
                          mlp_view(m, P, x->mlp_hh, m->cfg.hidden_size)};
}
static REAL *mut(const REAL *p) { return (REAL *)(uintptr_t)p; }

RECUR_HOT static void add_colsum(REAL *dst, const REAL *rows, int nrows, int ncols) {
    for (int r = 0; r < nrows; r++) {
        const REAL *x = rows + (size_t)r * ncols;
        for (int j = 0; j < ncols; j++) dst[j] += x[j];
    }
}

/* ---- deep transition: one MLP mechanism for its three paths ---- */

/* Inverted dropout multipliers, 0 or 1/(1-p), from a seed and a stream
 * number alone (so a resumed run draws the same ones). */
static void fill_mask(REAL *m, size_t count, float p, uint64_t seed, uint64_t stream) {
    rng_state r;
    rng_seed(&r, seed ^ (0x9E3779B97F4A7C15ull * stream));
    const REAL keep = (REAL)1 / (REAL)(1 - p);
    for (size_t i = 0; i < count; i++) m[i] = rng_uniform(&r) < p ? 0 : keep;
}

enum { PATH_IH = 1, PATH_HH, PATH_RH, PATH_HEAD }; /* the MLPs' mask streams */

/* The masks of an MLP over `rows` rows for this batch (training with dropout only). */
static void mlp_masks(const workspace *w, const mlp_params *p, const mlp_acts *a, int path, int l, int d, int rows) {
    if (!a->mask || !(w->dropout > 0)) return;
    for (int k = 0; k < p->depth; k++)
        fill_mask(a->mask + k * a->stride, (size_t)rows * p->width, w->dropout, w->dropout_seed,
                  ((uint64_t)path << 32) + ((uint64_t)(l * 2 + d) << 8) + (uint64_t)k + 1);
}

/* The output rows of the MLP (its last layer's), [rows, W]. */
static REAL *mlp_out(const mlp_params *p, const mlp_acts *a) { return a->z + (size_t)(p->depth - 1) * a->stride; }

/* Rows r0 .. r0+M-1: z_k = tanh(A_k z_{k-1} + c_k) * mask_k, z_{-1} = X [M,
 * in] (leading dimension ldx, its row 0 is row r0).  Returns the output rows. */
static const REAL *mlp_forward(const workspace *w, const mlp_params *p, const mlp_acts *a, const REAL *X, int ldx,
                               size_t r0, int M) {
    const int W = p->width;
    const REAL *in = X;
    int ld = ldx, cols = p->in;
    for (int k = 0; k < p->depth; k++) {
        REAL *z = a->z + k * a->stride + r0 * W;
        const REAL *mk = a->mask && w->dropout > 0 ? a->mask + k * a->stride + r0 * W : NULL;
        for (int r = 0; r < M; r++) memcpy(z + (size_t)r * W, p->c[k], (size_t)W * sizeof(REAL));
        gemm(0, 1, M, W, cols, 1, in, ld, p->A[k], cols, 1, z, W);
        for (size_t i = 0; i < (size_t)M * W; i++) z[i] = TANH(z[i]) * (mk ? mk[i] : 1);
        in = z;
        ld = cols = W;
    }
    return in;
}

/* Backward of mlp_forward over rows r0 .. r0+M-1.  On entry block depth-1 of
 * da (laid out as a->z) holds the grad w.r.t. the output rows; on exit each
 * block k holds the grad w.r.t. layer k's pre-activation (mlp_weight_grads
 * reads them), and dX [M, in] (leading dimension lddx; NULL: not wanted) is
 * set to, or with `accumulate` added, the grad w.r.t. X. */
static void mlp_backward(const workspace *w, const mlp_params *p, const mlp_acts *a, REAL *da, REAL *dX, int lddx,
                         int accumulate, size_t r0, int M) {
    const int W = p->width;
    for (int k = p->depth - 1; k >= 0; k--) {
        REAL *g = da + k * a->stride + r0 * W;
        const REAL *z = a->z + k * a->stride + r0 * W;
        const REAL *mk = a->mask && w->dropout > 0 ? a->mask + k * a->stride + r0 * W : NULL;
        for (size_t i = 0; i < (size_t)M * W; i++) {
            const REAL keep = mk ? mk[i] : 1, t = keep != 0 ? z[i] / keep : 0; /* t: the tanh before the mask */
            g[i] *= keep * ((REAL)1 - t * t);
        }
        if (k > 0) gemm(0, 0, M, W, W, 1, g, W, p->A[k], W, 0, da + (k - 1) * a->stride + r0 * W, W);
        else if (dX) gemm(0, 0, M, p->in, W, 1, g, W, p->A[0], p->in, accumulate ? 1 : 0, dX, lddx);
    }
}

/* The MLP's weight and bias grads (g: its view of the gradient arena) over
 * `rows` rows, from mlp_backward's da and the inputs X [rows, in]. */
static void mlp_weight_grads(const mlp_params *g, const mlp_acts *a, const REAL *da, const REAL *X, int ldx, int rows) {
    const int W = g->width;
    for (int k = 0; k < g->depth; k++) {
        const REAL *in = k ? a->z + (k - 1) * a->stride : X;
        const int cols = k ? W : g->in, ld = k ? W : ldx;
        gemm(1, 0, W, cols, rows, 1, da + k * a->stride, W, in, ld, 1, mut(g->A[k]), cols);
        add_colsum(mut(g->c[k]), da + k * a->stride, rows, W);
    }
}

/* A whole path at once (input -> hidden, hidden -> output): masks, then the
 * MLP over rows 0 .. rows-1 of X.  Returns its output rows [rows, W]. */
static const REAL *mlp_path_forward(const workspace *w, const mlp_params *p, const mlp_acts *a, int path, int l, int d,
                                    const REAL *X, int ldx, int rows) {
    mlp_masks(w, p, a, path, l, d, rows);
    return mlp_forward(w, p, a, X, ldx, 0, rows);
}

/* Its backward, the grad w.r.t. its output being in the last block of
 * w->da: the grad w.r.t. X into dX (as mlp_backward) and the weight grads. */
static void mlp_path_backward(const workspace *w, const mlp_params *p, const mlp_params *g, const mlp_acts *a,
                              const REAL *X, int ldx, REAL *dX, int accumulate, int rows) {
    mlp_backward(w, p, a, w->da, dX, ldx, accumulate, 0, rows);
    mlp_weight_grads(g, a, w->da, X, ldx, rows);
}



/* Width of the merged input of layer l (1..L-1) or of the head (l = L). */
static int input_width(const workspace *w, int l) { return model_layer_input(&w->cfg, l); }

/* Layer l's input (l >= 1) or the head's per-row input (l = L) must be built:
 * two directions to merge, or dropout to apply. */
static int needs_merge(const workspace *w, int l) {
    if (l == w->cfg.num_layers && !net_per_row(&w->cfg)) return 1; /* pooled per sequence */
    return w->D == 2 || (w->mask[l] && w->dropout > 0);
}

int SFX(net_workspace_create)(workspace *w, const model_config *cfg, int max_n, int max_T, int max_rows,
                              float dropout, recur_err *err) {
    memset(w, 0, sizeof *w);
    if (max_n <= 0 || max_T <= 0 || max_rows <= 0)
        return recur_fail(err, RECUR_EXIT_USAGE, "batch sizes must be positive (got %d sequences, %d steps, %d rows)",
                          max_n, max_T, max_rows);
    if (!(dropout >= 0 && dropout < 1)) return recur_fail(err, RECUR_EXIT_USAGE, "dropout must be in [0, 1), got %g", dropout);
    w->cfg = *cfg;
    w->D = cfg->bidirectional ? 2 : 1;
    w->G = cell_gates(cfg->cell);
    w->H = cfg->hidden_size;
    w->max_n = max_n;
    w->max_T = max_T;
    w->max_rows = max_rows;
    w->dropout = dropout;
    const size_t V = cfg->input_size ? 0 : cfg->vocab_size, X0 = model_layer_input(cfg, 0), H = w->H, L = cfg->num_layers;
    const size_t G = w->G, GH = G * H, R = max_rows, N = max_n, D = w->D, O = net_head_out(cfg);
    const int lstm = cfg->cell == CELL_LSTM, lbr = cfg->cell == CELL_LBR_GRU;
    const int per_row = net_per_row(cfg), fed = cfg->recurrence == RECURRENCE_OUTPUT;
    const size_t skip = cfg->skip ? 1 : 0, res = cfg->residual ? 1 : 0;
    /* Deep transition: per layer direction the MLPs on the input and on
     * h_{t-1} (the textbook GRU: also on r*h), the head's, each with masks
     * under dropout, and the grads of one (two) at a time. */
    const size_t DT = (size_t)cfg->transition_depth, TW = DT ? (size_t)cfg->transition_width : 0;
    const size_t mlp_copies = (dropout > 0 ? 2 : 1), n_hidden_mlps = cfg->cell == CELL_GRU ? 3 : 2;
    w->fed = fed;
    size_t maxw = X0;
    for (int l = 1; l <= (int)L; l++) maxw = maxw > (size_t)model_layer_input(cfg, l) ? maxw : (size_t)model_layer_input(cfg, l);
    const size_t OR = per_row ? R : N; /* rows of the head */
    const int table = V && V <= R && !DT; /* the input MLP is per row, not per token */

    /* Every buffer's size, then carve them from one arena in the same order. */
    size_t total = R * X0 + (table ? V * GH : 0);
    const size_t per_dir = ((N + R) * H + R * H) * (lstm ? 2 : 1) + R * GH + R * H + skip * R * H +
                           n_hidden_mlps * mlp_copies * DT * R * TW;
    const size_t RN = R > N ? R : N;
    total += L * D * per_dir + res * (L - 1) * D * R * H + skip * R * H;
    total += mlp_copies * DT * OR * TW + (n_hidden_mlps - 1) * DT * RN * TW;
    for (int l = 1; l <= (int)L; l++) {
        const size_t rows = l == (int)L ? OR : R, width = model_layer_input(cfg, l);
        total += rows * width * (dropout > 0 ? 2 : 1); /* xin (+ mask): sized whether or not used */
    }
    total += OR * O + R * GH * (lbr ? 2 : 1) + N * GH + GH + 4 * R * H + R * maxw + 4 * N * H + L * N * H * (lstm ? 2 : 1);
    const int fb_vec = fed && cfg->task == TASK_REGRESS;
    total += fb_vec ? R * O : fed ? O * H : 0;
    w->arena = calloc(total, sizeof(REAL));
    if (fed && !fb_vec) w->fb_label = calloc(R, sizeof(int32_t));
    w->bs = calloc((size_t)max_T * 2 + 1 + N, sizeof(int32_t));
    w->argmax = per_row ? NULL : calloc(N * D * H, sizeof(int32_t));
#ifdef USE_RGEMM
    const size_t pack_floats = rg_packed_floats((int)GH, (int)H) + RG_NR * H + rg_packed_floats((int)H, (int)GH);
    w->pack_buf = malloc(L * D * pack_floats * sizeof(float));
#endif
    if (!w->arena || !w->bs || (!per_row && !w->argmax) || (fed && !fb_vec && !w->fb_label)
#ifdef USE_RGEMM
        || !w->pack_buf
#endif
    ) {
        SFX(net_workspace_free)(w);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory: activations for %d rows need %zu MiB", max_rows,
                          total * sizeof(REAL) >> 20);
    }
    w->off = w->bs + max_T;
    w->len = w->off + max_T + 1;
    w->arena_len = total;
    REAL *p = w->arena;
#define TAKE(n) (p += (n), p - (n))
    w->x0 = TAKE(R * X0);
    w->table = table ? TAKE(V * GH) : NULL;
    for (size_t l = 0; l < L; l++)
        for (size_t d = 0; d < D; d++) {
            dir_acts *a = &w->layer[l][d];
            a->hbuf = TAKE((N + R) * H);
            a->hprev_buf = TAKE(R * H);
            if (lstm) {
                a->cbuf = TAKE((N + R) * H);
                a->cprev_buf = TAKE(R * H);
            }
            a->gates = TAKE(R * GH);
            a->aux = TAKE(R * H);
            a->hskip = skip ? TAKE(R * H) : NULL;
            a->res = res && l > 0 ? TAKE(R * H) : NULL;
            mlp_acts *paths[3] = {&a->ih, &a->hh, &a->rh};
            for (size_t k = 0; DT && k < n_hidden_mlps; k++)
                *paths[k] = (mlp_acts){TAKE(DT * R * TW), dropout > 0 ? TAKE(DT * R * TW) : NULL, R * TW};
        }
    w->dskip = skip ? TAKE(R * H) : NULL;
    if (DT) {
        w->head_mlp = (mlp_acts){TAKE(DT * OR * TW), dropout > 0 ? TAKE(DT * OR * TW) : NULL, OR * TW};
        w->da = TAKE(DT * RN * TW);
        w->da2 = n_hidden_mlps == 3 ? TAKE(DT * RN * TW) : NULL;
    }
    for (int l = 1; l <= (int)L; l++) {
        const size_t rows = l == (int)L ? OR : R, width = model_layer_input(cfg, l);
        w->xin[l] = TAKE(rows * width);
        w->mask[l] = dropout > 0 ? TAKE(rows * width) : NULL;
    }
    w->out = TAKE(OR * O);
    w->xp = TAKE(R * GH);
    w->dhp = lbr ? TAKE(R * GH) : w->xp;
    w->hp = TAKE(N * GH);
    w->bias = TAKE(GH);
    w->dy[0] = TAKE(R * H);
    w->dy[1] = TAKE(R * H);
    w->dy_below[0] = TAKE(R * H);
    w->dy_below[1] = TAKE(R * H);
    w->dx = TAKE(R * maxw);
    w->dh = TAKE(N * H);
    w->dh_next = TAKE(N * H);
    w->dc = TAKE(N * H);
    w->drh = TAKE(N * H);
    w->state_h = TAKE(L * N * H);
    w->state_c = lstm ? TAKE(L * N * H) : NULL;
    w->fb_vec = fb_vec ? TAKE(R * O) : NULL;
    w->fb_table = fed && !fb_vec ? TAKE(O * H) : NULL;
#undef TAKE
    return 0;
}

void SFX(net_workspace_free)(workspace *w) {
    free(w->arena);
    free(w->bs);
    free(w->argmax);
    free(w->pack_buf);
    free(w->fb_label);
    memset(w, 0, sizeof *w);
}

void SFX(net_reset_state)(workspace *w) {
    size_t n = (size_t)w->cfg.num_layers * w->max_n * w->H;
    memset(w->state_h, 0, n * sizeof(REAL));
    if (w->state_c) memset(w->state_c, 0, n * sizeof(REAL));
}

/* The batch's shape: bs, off, len, rows; where each direction's y and hprev live. */
static void set_batch(workspace *w, const net_batch *b) {
    const int T = b->T, n = b->n, H = w->H;
    w->n = n;
    w->T = T;
    w->uniform = b->batch_sizes == NULL;
    w->off[0] = 0;
    for (int t = 0; t < T; t++) {
        w->bs[t] = b->batch_sizes ? b->batch_sizes[t] : n;
        w->off[t + 1] = w->off[t] + w->bs[t];
    }
    w->rows = w->off[T];
    for (int s = 0, t = T; s < n; s++) { /* slot s runs while bs[t] > s */
        while (t > 0 && w->bs[t - 1] <= s) t--;
        w->len[s] = t;
    }
    for (int l = 0; l < w->cfg.num_layers; l++)
        for (int d = 0; d < w->D; d++) {
            dir_acts *a = &w->layer[l][d];
            const int alias = w->uniform && d == 0;
            a->y = a->hbuf + (size_t)(alias ? n : 0) * H;
            a->c = a->cbuf ? a->cbuf + (size_t)(alias ? n : 0) * H : NULL;
            a->hprev = alias ? a->hbuf : a->hprev_buf;
            a->cprev = alias ? a->cbuf : a->cprev_buf;
        }
}

/* ---- input side ---- */

/* xp = X W_ih^T for all rows: one GEMM.  (The biases are added in the gate
 * loop, which saves writing a bias row per row first.) */
static void input_projection(workspace *w, const layer_params *lp, const REAL *X, int in) {
    const int GH = w->G * w->H;
    gemm(0, 1, w->rows, GH, in, 1, X, in, lp->w_ih, in, 0, w->xp, GH);
}

/* Layer 0 from the token table: table = emb W_ih0^T, xp rows gathered. */
static void table_projection(workspace *w, const model *m, const REAL *P, const layer_params *lp) {
    const int GH = w->G * w->H, V = w->cfg.vocab_size, E = w->cfg.embed_size;
    gemm(0, 1, V, GH, E, 1, P + m->tensors[m->ix.embedding].offset, E, lp->w_ih, E, 0, w->table, GH);
    for (int r = 0; r < w->rows; r++)
        memcpy(w->xp + (size_t)r * GH, w->table + (size_t)w->tokens[r] * GH, (size_t)GH * sizeof(REAL));
}

/* Layer 0's input rows x0: embedded tokens or the features. */
static void load_inputs(workspace *w, const model *m, const REAL *P, const net_batch *b) {
    const int R = w->rows;
    if (w->cfg.input_size) {
        const size_t n = (size_t)R * w->cfg.input_size;
        for (size_t i = 0; i < n; i++) w->x0[i] = (REAL)b->features[i];
        return;
    }
    const int E = w->cfg.embed_size;
    const REAL *emb = P + m->tensors[m->ix.embedding].offset;
    for (int r = 0; r < R; r++) memcpy(w->x0 + (size_t)r * E, emb + (size_t)b->tokens[r] * E, (size_t)E * sizeof(REAL));
}

#ifdef USE_RGEMM
/* Packs W_hh of layer l, direction d, for the forward (dir 0) or backward (dir 1) products. */
static void pack_layer(workspace *w, int l, int d, const float *w_hh, int dir) {
    const int H = w->H, GH = w->G * H;
    const size_t fwd_floats = rg_packed_floats(GH, H) + RG_NR * (size_t)H;
    const size_t per_dir = fwd_floats + rg_packed_floats(H, GH);
    float *buf = w->pack_buf + (size_t)(l * w->D + d) * per_dir + (dir ? fwd_floats : 0);
    rg_packed *p = dir ? w->pack_bwd[l][d] : w->pack_fwd[l][d];
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

/* ---- the recurrence ---- */

/* Step t's predecessor step in direction d, or -1 (the initial state). */
static inline int pred_step(const workspace *w, int d, int t) { return d == 0 ? t - 1 : (t + 1 < w->T ? t + 1 : -1); }

/* Fills rows of step t in hprev (and cprev) of a non-aliased direction: the
 * first rows from the predecessor step's outputs, the rest (sequences that
 * start here: reverse direction) from the initial state `h0`/`c0` (rows
 * indexed by slot; NULL = zeros). */
static void gather_prev(workspace *w, dir_acts *a, int d, int t, const REAL *h0, const REAL *c0) {
    const int H = w->H, M = w->bs[t], p = pred_step(w, d, t);
    const int from_pred = p < 0 ? 0 : (w->bs[p] < M ? w->bs[p] : M);
    const size_t r0 = (size_t)w->off[t] * H, bytes = (size_t)from_pred * H * sizeof(REAL);
    const size_t rest = (size_t)(M - from_pred) * H;
    if (from_pred) {
        memcpy(a->hprev + r0, a->y + (size_t)w->off[p] * H, bytes);
        if (a->c) memcpy(a->cprev + r0, a->c + (size_t)w->off[p] * H, bytes);
    }
    if (!rest) return;
    REAL *hp = a->hprev + r0 + (size_t)from_pred * H, *cp = a->c ? a->cprev + r0 + (size_t)from_pred * H : NULL;
    if (h0) memcpy(hp, h0 + (size_t)from_pred * H, rest * sizeof(REAL));
    else memset(hp, 0, rest * sizeof(REAL));
    if (cp) {
        if (c0) memcpy(cp, c0 + (size_t)from_pred * H, rest * sizeof(REAL));
        else memset(cp, 0, rest * sizeof(REAL));
    }
}

/* b_ih + b_hh of one layer direction, one value per gate column; lbr_gru
 * keeps b_hn apart (it sits inside r*(...)). */
static void layer_bias(const workspace *w, const layer_params *lp, REAL *bias) {
    const int H = w->H, GH = w->G * H;
    for (int j = 0; j < GH; j++) bias[j] = lp->b_ih[j] + (w->cfg.cell == CELL_LBR_GRU && j >= 2 * H ? 0 : lp->b_hh[j]);
}

/* One step of one layer direction: rows r0 .. r0+M-1 of `a`, whose previous
 * states are already in a->hprev (a->cprev) and whose input projections are
 * xt [M, G*H]: the recurrent product(s), then the cell's element-wise loop.
 * Every engine loop (layer by layer here, step by step in seq2seq_impl.h)
 * runs a recurrent layer through this and step_backward. */
static void step_forward(workspace *w, const rg_packed *pk, const layer_params *lp, const REAL *bias, dir_acts *a,
                         const REAL *xt, size_t r0, int M) {
    const int H = w->H, GH = w->G * H;
    const cell_kind cell = w->cfg.cell;
    const REAL *h_prev = a->hprev + r0 * H;
    REAL *h = a->y + r0 * H, *gates = a->gates + r0 * GH, *aux = a->aux + r0 * H;
    /* What W_hh reads: h_{t-1}, or its deep transition (K columns). */
    const int K = lp->hh.depth ? lp->hh.width : H;
    const REAL *hin = lp->hh.depth ? mlp_forward(w, &lp->hh, &a->hh, h_prev, H, r0, M) : h_prev;
    if (cell == CELL_GRU) {
        rec_mul_wt(w, &pk[0], M, hin, K, lp->w_hh, 2 * H, K, w->hp, GH);
        gru_forward_gates(M, H, xt, w->hp, bias, h_prev, gates, aux);
        const REAL *rin = lp->hh.depth ? mlp_forward(w, &lp->hh, &a->rh, aux, H, r0, M) : aux;
        rec_mul_wt(w, &pk[1], M, rin, K, lp->w_hh + 2 * (size_t)H * K, H, K, w->hp + 2 * H, GH);
        gru_forward_candidate(M, H, xt, w->hp, bias, h_prev, gates, h);
        return;
    }
    rec_mul_wt(w, &pk[0], M, hin, K, lp->w_hh, GH, K, w->hp, GH);
    switch (cell) {
    case CELL_RNN_TANH:
    case CELL_RNN_RELU: rnn_forward(M, H, cell == CELL_RNN_RELU, xt, w->hp, bias, gates, h); break;
    case CELL_LSTM: lstm_forward(M, H, xt, w->hp, bias, a->cprev + r0 * H, gates, a->c + r0 * H, h, aux); break;
    case CELL_LBR_GRU: lbr_gru_forward(M, H, xt, w->hp, bias, lp->b_hh, h_prev, gates, h, aux); break;
    default: break;
    }
}

/* Backward of one step (rows r0 .. r0+M-1 of `a`): dh [M, H] is the grad
 * w.r.t. h_t, dc [M, H] the LSTM cell-state grad from step t+1 (replaced by
 * the one for step t-1).  Writes this step's rows of dxp (dxt) and dhp (dht),
 * and, when need_prev, the grad w.r.t. h_{t-1} into dh_prev [M, H] (scratch
 * otherwise).  drh: [M, H] scratch for the textbook GRU. */
/* The grad w.r.t. what n rows Wn of W_hh read at this step, from the
 * grads dpre [M, n] (leading dimension G*H) of their pre-activations: dh
 * [M, H] = (or with `accumulate` +=) dpre Wn when they read h (or r*h)
 * itself, when `need`; through the deep transition whose activations are ma
 * otherwise: its pre-activation grads go to rows r0.. of da (always: its
 * weight grads need them), and dh gets the grad w.r.t. its input when `need`. */
static void rec_input_grad(workspace *w, const rg_packed *p, const layer_params *lp, const mlp_acts *ma, REAL *da,
                           size_t r0, int M, const REAL *dpre, const REAL *Wn, int n, int accumulate, REAL *dh,
                           int need) {
    const int H = w->H, GH = w->G * H;
    if (!lp->hh.depth) {
        if (need) rec_mul_w(w, p, M, dpre, GH, Wn, n, H, accumulate, dh, H);
        return;
    }
    const int K = lp->hh.width;
    rec_mul_w(w, p, M, dpre, GH, Wn, n, K, 0, da + (size_t)(lp->hh.depth - 1) * ma->stride + r0 * K, K);
    mlp_backward(w, &lp->hh, ma, da, need ? dh : NULL, H, accumulate, r0, M);
}

static void step_backward(workspace *w, const rg_packed *pk, const layer_params *lp, const dir_acts *a, size_t r0,
                          int M, const REAL *dh, REAL *dc, REAL *dxt, REAL *dht, REAL *dh_prev, REAL *drh,
                          int need_prev) {
    const int H = w->H, GH = w->G * H, K = lp->hh.depth ? lp->hh.width : H;
    const cell_kind cell = w->cfg.cell;
    const REAL *h_prev = a->hprev + r0 * H, *gates = a->gates + r0 * GH, *aux = a->aux + r0 * H;
    switch (cell) {
    case CELL_RNN_TANH:
    case CELL_RNN_RELU:
        rnn_backward(M, H, cell == CELL_RNN_RELU, dh, gates, dxt);
        rec_input_grad(w, &pk[0], lp, &a->hh, w->da, r0, M, dxt, lp->w_hh, GH, 0, dh_prev, need_prev);
        break;
    case CELL_LSTM:
        lstm_backward(M, H, dh, gates, aux, a->cprev + r0 * H, dc, dxt);
        rec_input_grad(w, &pk[0], lp, &a->hh, w->da, r0, M, dxt, lp->w_hh, GH, 0, dh_prev, need_prev);
        break;
    case CELL_LBR_GRU:
        lbr_gru_backward(M, H, dh, gates, aux, h_prev, dxt, dht, dh_prev);
        rec_input_grad(w, &pk[0], lp, &a->hh, w->da, r0, M, dht, lp->w_hh, GH, 1, dh_prev, need_prev);
        break;
    case CELL_GRU:
        gru_backward_candidate(M, H, dh, gates, h_prev, dxt, dh_prev);
        rec_input_grad(w, &pk[1], lp, &a->rh, w->da2, r0, M, dxt + 2 * H, lp->w_hh + 2 * (size_t)H * K, H, 0, drh, 1);
        gru_backward_gates(M, H, drh, gates, h_prev, dxt, dh_prev);
        rec_input_grad(w, &pk[0], lp, &a->hh, w->da, r0, M, dxt, lp->w_hh, 2 * H, 1, dh_prev, need_prev);
        break;
    default: break;
    }
}

/* The recurrent weight and bias gradients of one layer direction over all
 * `rows` rows of a batch, from its dhp: one GEMM per matrix. */
static void recurrent_weight_grads(const workspace *w, const layer_params *lg, const dir_acts *a, const REAL *dhp,
                                   int rows) {
    const int H = w->H, GH = w->G * H, dt = lg->hh.depth > 0, K = dt ? lg->hh.width : H;
    const REAL *hin = dt ? mlp_out(&lg->hh, &a->hh) : a->hprev; /* what W_hh read */
    if (w->cfg.cell == CELL_GRU) {
        gemm(1, 0, 2 * H, K, rows, 1, dhp, GH, hin, K, 1, mut(lg->w_hh), K);
        gemm(1, 0, H, K, rows, 1, dhp + 2 * H, GH, dt ? mlp_out(&lg->hh, &a->rh) : a->aux, K, 1,
             mut(lg->w_hh) + 2 * (size_t)H * K, K);
    } else {
        gemm(1, 0, GH, K, rows, 1, dhp, GH, hin, K, 1, mut(lg->w_hh), K);
    }
    add_colsum(mut(lg->b_hh), dhp, rows, GH);
    if (!dt) return;
    mlp_weight_grads(&lg->hh, &a->hh, w->da, a->hprev, H, rows);
    if (w->cfg.cell == CELL_GRU) mlp_weight_grads(&lg->hh, &a->rh, w->da2, a->aux, H, rows);
}

/* The step whose outputs step t's skip connection reads in direction d
 * (t-K forward, t+K reverse), or -1. */
static inline int skip_step(const workspace *w, int d, int t) {
    const int s = d == 0 ? t - w->cfg.skip : t + w->cfg.skip;
    return s >= 0 && s < w->T ? s : -1;
}

/* Rows of step t that have a state K steps back: slots below bs of that step. */
static inline int skip_rows(const workspace *w, int d, int t) {
    const int s = skip_step(w, d, t);
    return s < 0 ? 0 : w->bs[s] < w->bs[t] ? w->bs[s] : w->bs[t];
}

/* xt [M, G*H] += hs W_skip^T: the skip term of M rows whose states K steps
 * back are hs [M, H] (training gathers them below; generation keeps them). */
static void skip_add(const workspace *w, const layer_params *lp, int M, const REAL *hs, REAL *xt) {
    const int H = w->H, GH = w->G * H;
    gemm(0, 1, M, GH, H, 1, hs, H, lp->w_skip, H, 1, xt, GH);
}

/* Step t's skip connection: its rows of a->hskip get the states K steps back
 * (zeros where there is none), and xt [bs[t], G*H] += hskip W_skip^T. */
static void skip_forward(workspace *w, const layer_params *lp, dir_acts *a, int d, int t, REAL *xt) {
    const int H = w->H, M = w->bs[t], from = skip_rows(w, d, t);
    REAL *hs = a->hskip + (size_t)w->off[t] * H;
    if (from) memcpy(hs, a->y + (size_t)w->off[skip_step(w, d, t)] * H, (size_t)from * H * sizeof(REAL));
    memset(hs + (size_t)from * H, 0, (size_t)(M - from) * H * sizeof(REAL));
    skip_add(w, lp, from, hs, xt);
}

/* Backward of skip_forward for step t given its dxt: the grad w.r.t. the
 * outputs K steps back gets dxt W_skip, into their rows of dskip [rows, H]
 * (added to their dh when the loop reaches that step). */
static void skip_backward(workspace *w, const layer_params *lp, int d, int t, const REAL *dxt, REAL *dskip) {
    const int H = w->H, GH = w->G * H, from = skip_rows(w, d, t);
    if (from) gemm(0, 0, from, H, GH, 1, dxt, GH, lp->w_skip, H, 1, dskip + (size_t)w->off[skip_step(w, d, t)] * H, H);
}

/* dW_skip += dxp^T hskip over a layer direction's `rows` rows. */
static void skip_weight_grads(const workspace *w, const layer_params *lg, const dir_acts *a, const REAL *dxp,
                              int rows) {
    const int H = w->H, GH = w->G * H;
    gemm(1, 0, GH, H, rows, 1, dxp, GH, a->hskip, H, 1, mut(lg->w_skip), H);
}

/* One direction of layer l over the batch from its input projection in
 * w->xp; results land in w->layer[l][d].  h0/c0: initial state rows by slot
 * (NULL = zeros). */
static void recur_forward(workspace *w, const layer_params *lp, int l, int d, const REAL *h0, const REAL *c0) {
    const int H = w->H, GH = w->G * H, T = w->T;
    dir_acts *a = &w->layer[l][d];
    const int alias = w->uniform && d == 0;
    if (alias) { /* block 0 of hbuf/cbuf is the initial state */
        const size_t n = (size_t)w->n * H * sizeof(REAL);
        if (h0) memcpy(a->hprev, h0, n);
        else memset(a->hprev, 0, n);
        if (a->c) {
            if (c0) memcpy(a->cprev, c0, n);
            else memset(a->cprev, 0, n);
        }
    }
#ifdef USE_RGEMM
    if (w->use_packed) pack_layer(w, l, d, lp->w_hh, 0);
#endif
    layer_bias(w, lp, w->bias);
    mlp_masks(w, &lp->hh, &a->hh, PATH_HH, l, d, w->rows);
    if (w->cfg.cell == CELL_GRU) mlp_masks(w, &lp->hh, &a->rh, PATH_RH, l, d, w->rows);
    for (int s = 0; s < T; s++) {
        const int t = d == 0 ? s : T - 1 - s;
        REAL *xt = w->xp + (size_t)w->off[t] * GH;
        if (!alias) gather_prev(w, a, d, t, h0, c0);
        if (lp->w_skip) skip_forward(w, lp, a, d, t, xt);
        step_forward(w, w->pack_fwd[l][d], lp, w->bias, a, xt, (size_t)w->off[t], w->bs[t]);
    }
}

/* Backward of one direction's recurrence given w->dy[d] = grad w.r.t. its
 * outputs: leaves the grads of its pre-activations in w->xp (dxp) and w->dhp,
 * and accumulates the recurrent weight and bias gradients.  A sequence's
 * backward starts from w->dfinal_h/c[l][d] (the grad w.r.t. its final state,
 * by slot, set by a caller that reads final states: seq2seq) or from zero. */
static void recur_backward(workspace *w, const layer_params *lp, const layer_params *lg, int l, int d) {
    const int H = w->H, GH = w->G * H, T = w->T;
    const int lstm = w->cfg.cell == CELL_LSTM;
    const dir_acts *a = &w->layer[l][d];
    const REAL *dfh = w->dfinal_h[l][d], *dfc = w->dfinal_c[l][d];
#ifdef USE_RGEMM
    if (w->use_packed) pack_layer(w, l, d, lp->w_hh, 1);
#endif
    if (lp->w_skip) memset(w->dskip, 0, (size_t)w->rows * H * sizeof(REAL));
    int M_prev = 0; /* rows of dh_next (and dc) holding a grad from the step handled before */
    for (int s = T - 1; s >= 0; s--) {
        const int t = d == 0 ? s : T - 1 - s, M = w->bs[t];
        const size_t r0 = (size_t)w->off[t];
        if (M > M_prev) { /* rows that end at this step: no grad from later steps, or their final state's */
            const size_t at = (size_t)M_prev * H, count = (size_t)(M - M_prev) * H;
            if (dfh) memcpy(w->dh_next + at, dfh + at, count * sizeof(REAL));
            else memset(w->dh_next + at, 0, count * sizeof(REAL));
            if (lstm && dfc) memcpy(w->dc + at, dfc + at, count * sizeof(REAL));
            else if (lstm) memset(w->dc + at, 0, count * sizeof(REAL));
        }
        M_prev = M;
        const REAL *dy = w->dy[d] + r0 * H;
        for (size_t i = 0; i < (size_t)M * H; i++) w->dh[i] = dy[i] + w->dh_next[i];
        if (lp->w_skip)
            for (size_t i = 0; i < (size_t)M * H; i++) w->dh[i] += w->dskip[r0 * H + i];
        /* The initial state gets no gradient (detached, or zeros): none needed for the first step. */
        step_backward(w, w->pack_bwd[l][d], lp, a, r0, M, w->dh, w->dc, w->xp + r0 * GH, w->dhp + r0 * GH, w->dh_next,
                      w->drh, pred_step(w, d, t) >= 0);
        if (lp->w_skip) skip_backward(w, lp, d, t, w->xp + r0 * GH, w->dskip);
    }
    recurrent_weight_grads(w, lg, a, w->dhp, w->rows);
    if (lg->w_skip) skip_weight_grads(w, lg, a, w->xp, w->rows);
}

/* ---- merging the outputs below into the next input ---- */

/* What direction d of layer l passes up: its outputs, or with a residual
 * connection (l >= 1) its outputs plus its share of the layer's input. */
static const REAL *layer_out(const workspace *w, int l, int d) {
    const dir_acts *a = &w->layer[l][d];
    return a->res ? a->res : a->y;
}

/* The first column of a layer's input that direction d's residual share
 * starts at (H columns), or -1: concat gives each direction its own
 * columns; sum adds the whole input once, to the forward direction. */
static int residual_column(const workspace *w, int d) { return w->cfg.merge == MERGE_SUM && d > 0 ? -1 : d * w->H; }

/* res = y + share of X (layer l's input [rows, width]) for every direction,
 * over rows r0 .. r0+M-1 (the whole batch here; one step in the decoder). */
static void residual_forward(workspace *w, int l, const REAL *X, size_t r0, int M) {
    const int H = w->H, width = input_width(w, l);
    for (int d = 0; d < w->D; d++) {
        dir_acts *a = &w->layer[l][d];
        const int col = residual_column(w, d);
        for (size_t r = r0; r < r0 + (size_t)M; r++)
            for (int j = 0; j < H; j++) a->res[r * H + j] = a->y[r * H + j] + (col < 0 ? 0 : X[r * width + col + j]);
    }
}

/* Backward of direction d's share: dX (layer l's input grad) += w->dy[d]. */
static void residual_backward(workspace *w, int l, int d, REAL *dX) {
    const int H = w->H, width = input_width(w, l), col = residual_column(w, d);
    if (col < 0) return;
    for (size_t r = 0; r < (size_t)w->rows; r++)
        for (int j = 0; j < H; j++) dX[r * width + col + j] += w->dy[d][r * H + j];
}

/* Inverted dropout masks for input l of this batch: 0 or 1/(1-p), drawn from
 * the batch's seed and l alone (so a resumed run draws the same ones). */
static void draw_mask(workspace *w, int l, uint64_t seed, size_t count) {
    fill_mask(w->mask[l], count, w->dropout, seed, (uint64_t)(l + 1));
}

/* The rows a per-sequence head reads, pooled into xin[L] [n, width]:
 * last (forward: the sequence's last step; reverse: step 0, where that
 * direction ends), mean or max over the sequence's own steps.  Directions go
 * side by side (concat) or are added (sum). */
static void pool_sequences(workspace *w) {
    const int L = w->cfg.num_layers, H = w->H, n = w->n, D = w->D, width = input_width(w, L);
    const int concat = w->cfg.merge == MERGE_CONCAT;
    REAL *X = w->xin[L];
    memset(X, 0, (size_t)n * width * sizeof(REAL));
    for (int d = 0; d < D; d++) {
        const REAL *y = layer_out(w, L - 1, d);
        for (int s = 0; s < n; s++) {
            REAL *x = X + (size_t)s * width + (concat ? d * H : 0);
            const int len = w->len[s];
            if (w->cfg.pooling == POOL_LAST) {
                const REAL *yr = y + (size_t)(d == 0 ? w->off[len - 1] + s : s) * H;
                for (int j = 0; j < H; j++) x[j] += yr[j];
            } else if (w->cfg.pooling == POOL_MEAN) {
                const REAL inv = (REAL)1 / (REAL)len;
                for (int t = 0; t < len; t++) {
                    const REAL *yr = y + (size_t)(w->off[t] + s) * H;
                    for (int j = 0; j < H; j++) x[j] += yr[j] * inv;
                }
            } else {
                int32_t *am = w->argmax + ((size_t)s * D + d) * H;
                for (int j = 0; j < H; j++) am[j] = s; /* step 0's row */
                for (int t = 1; t < len; t++) {
                    const int row = w->off[t] + s;
                    const REAL *yr = y + (size_t)row * H;
                    for (int j = 0; j < H; j++)
                        if (yr[j] > y[(size_t)am[j] * H + j]) am[j] = row;
                }
                for (int j = 0; j < H; j++) x[j] += y[(size_t)am[j] * H + j];
            }
        }
    }
}

/* Backward of pool_sequences: dX [n, width] into dys[d] [rows, H] (zeroed here). */
static void unpool_sequences(workspace *w, const REAL *dX, REAL *const *dys) {
    const int L = w->cfg.num_layers, H = w->H, n = w->n, D = w->D, width = input_width(w, L);
    const int concat = w->cfg.merge == MERGE_CONCAT;
    for (int d = 0; d < D; d++) {
        REAL *dy = dys[d];
        memset(dy, 0, (size_t)w->rows * H * sizeof(REAL));
        for (int s = 0; s < n; s++) {
            const REAL *g = dX + (size_t)s * width + (concat ? d * H : 0);
            const int len = w->len[s];
            if (w->cfg.pooling == POOL_LAST) {
                REAL *dr = dy + (size_t)(d == 0 ? w->off[len - 1] + s : s) * H;
                for (int j = 0; j < H; j++) dr[j] += g[j];
            } else if (w->cfg.pooling == POOL_MEAN) {
                const REAL inv = (REAL)1 / (REAL)len;
                for (int t = 0; t < len; t++) {
                    REAL *dr = dy + (size_t)(w->off[t] + s) * H;
                    for (int j = 0; j < H; j++) dr[j] += g[j] * inv;
                }
            } else {
                const int32_t *am = w->argmax + ((size_t)s * D + d) * H;
                for (int j = 0; j < H; j++) dy[(size_t)am[j] * H + j] += g[j];
            }
        }
    }
}

/* The input of layer l (1..L-1) or of the head (l = L): returns the matrix to
 * read [rows or n, width], building it in xin[l] when it is not simply the one
 * direction's y below. */
static const REAL *merged_input(workspace *w, int l, const net_batch *b) {
    const int L = w->cfg.num_layers, H = w->H, width = input_width(w, l);
    if (!needs_merge(w, l)) return layer_out(w, l - 1, 0);
    const int per_seq = l == L && !net_per_row(&w->cfg);
    const size_t rows = per_seq ? (size_t)w->n : (size_t)w->rows;
    REAL *X = w->xin[l];
    if (per_seq) {
        pool_sequences(w);
    } else if (w->cfg.merge == MERGE_CONCAT || w->D == 1) {
        for (int d = 0; d < w->D; d++)
            for (size_t r = 0; r < rows; r++)
                memcpy(X + r * width + (size_t)d * H, layer_out(w, l - 1, d) + r * H, (size_t)H * sizeof(REAL));
    } else {
        const REAL *f = layer_out(w, l - 1, 0), *g = layer_out(w, l - 1, 1);
        for (size_t i = 0; i < rows * H; i++) X[i] = f[i] + g[i];
    }
    if (w->mask[l] && w->dropout > 0) {
        draw_mask(w, l, b->dropout_seed, rows * width);
        for (size_t i = 0; i < rows * width; i++) X[i] *= w->mask[l][i];
    }
    return X;
}

/* Backward of merged_input: the grad w.r.t. input l, dX (in w->dx when
 * needs_merge, else already in dys[0]), into the grads w.r.t. each direction's
 * outputs below, dys[d]. */
static void split_grad(workspace *w, int l, REAL *const *dys) {
    const int L = w->cfg.num_layers, H = w->H, width = input_width(w, l);
    if (!needs_merge(w, l)) return;
    const int per_seq = l == L && !net_per_row(&w->cfg);
    const size_t rows = per_seq ? (size_t)w->n : (size_t)w->rows;
    REAL *dX = w->dx;
    if (w->mask[l] && w->dropout > 0)
        for (size_t i = 0; i < rows * width; i++) dX[i] *= w->mask[l][i];
    if (per_seq) {
        unpool_sequences(w, dX, dys);
    } else if (w->cfg.merge == MERGE_CONCAT || w->D == 1) {
        for (int d = 0; d < w->D; d++)
            for (size_t r = 0; r < rows; r++)
                memcpy(dys[d] + r * H, dX + r * width + (size_t)d * H, (size_t)H * sizeof(REAL));
    } else {
        memcpy(dys[0], dX, rows * H * sizeof(REAL));
        memcpy(dys[1], dX, rows * H * sizeof(REAL));
    }
}

/* ---- the head ---- */

/* The head's MLP (deep output; depth 0: none), reading the head's input. */
static mlp_params head_mlp_view(const workspace *w, const model *m, const REAL *P) {
    return mlp_view(m, P, m->ix.head_mlp, input_width(w, w->cfg.num_layers));
}

/* The width of what head/weight reads: its input, or its MLP's output. */
static int head_width(const workspace *w) {
    return w->cfg.transition_depth ? w->cfg.transition_width : input_width(w, w->cfg.num_layers);
}

/* Softmax cross-entropy of rows [N, O] (probs holds the logits on entry, the
 * softmax on exit).  Returns the summed loss; a negative target (a tree's
 * unlabelled node) adds none. */
RECUR_HOT static double softmax_xent(REAL *probs, const int32_t *targets, int N, int O) {
    double total = 0.0;
    for (int r = 0; r < N; r++) {
        REAL *z = probs + (size_t)r * O;
        REAL mx = z[0];
        for (int v = 1; v < O; v++) mx = z[v] > mx ? z[v] : mx;
        const int32_t y = targets ? targets[r] : -1;
        REAL zt = y >= 0 ? z[y] : 0;
        REAL s = 0;
        for (int v = 0; v < O; v++) {
            z[v] = EXP(z[v] - mx);
            s += z[v];
        }
        const REAL inv = (REAL)1 / s;
        for (int v = 0; v < O; v++) z[v] *= inv;
        if (y >= 0) total += (double)mx + log((double)s) - (double)zt;
    }
    return total;
}

static double squared_error(const REAL *pred, const float *targets, size_t count) {
    double total = 0;
    for (size_t i = 0; i < count; i++) {
        const double e = (double)pred[i] - (double)targets[i];
        total += e * e;
    }
    return total;
}

/* The head on rows r0 .. r0+N-1 of its input X [rows or n, width] into the
 * same rows of w->out: softmax probabilities (lm, classify, tag) or
 * predictions (regress).  Returns their summed loss against the batch's
 * labels or targets (whole-batch arrays; NULL: no loss). */
static double head_forward(workspace *w, const model *m, const REAL *P, const REAL *X, size_t r0, int N,
                           const int32_t *labels, const float *targets) {
    const int O = net_head_out(&w->cfg), in = head_width(w);
    const REAL *Wh = P + m->tensors[m->ix.head_weight].offset, *bh = P + m->tensors[m->ix.head_bias].offset;
    REAL *out = w->out + r0 * O;
    for (int r = 0; r < N; r++) memcpy(out + (size_t)r * O, bh, (size_t)O * sizeof(REAL));
    gemm(0, 1, N, O, in, 1, X + r0 * in, in, Wh, in, 1, out, O);
    if (w->cfg.task == TASK_REGRESS) return targets ? squared_error(out, targets + r0 * O, (size_t)N * O) : 0;
    return softmax_xent(out, labels ? labels + r0 : NULL, N, O);
}

/* ---- output-to-hidden recurrence (model.h: recurrence_kind) ---- */

/* What step t's rows are fed: the output of the same sequences' rows at step
 * t-1 (row off[t]+s follows off[t-1]+s), nothing at step 0.  From the truth
 * (labels or targets: teacher forcing) or, when `out` is given, from the
 * model's own predictions there (free-running): the most likely label (the
 * first of equals, as eval's argmax), or the predicted vector. */
static void feed_step(workspace *w, int t, const int32_t *labels, const float *targets, const REAL *out) {
    const int O = net_head_out(&w->cfg), M = w->bs[t];
    const size_t r0 = (size_t)w->off[t], p0 = t > 0 ? (size_t)w->off[t - 1] : 0;
    for (int s = 0; s < M; s++) {
        const size_t row = r0 + s, prev = p0 + s;
        const REAL *o = out ? out + prev * O : NULL;
        if (w->fb_label) {
            int y = -1;
            if (t > 0 && o) {
                y = 0;
                for (int v = 1; v < O; v++) y = o[v] > o[y] ? v : y;
            } else if (t > 0) {
                y = labels[prev];
            }
            w->fb_label[row] = y;
            continue;
        }
        REAL *f = w->fb_vec + row * O;
        for (int k = 0; k < O; k++) f[k] = t == 0 ? 0 : o ? o[k] : (REAL)targets[prev * O + k];
    }
}

/* Rows r0 .. r0+M-1 of layer l, whose input projections are in w->xp: layer
 * 0 adds W_oh y_prev (tag: row y of W_oh^T, put in w->fb_table by
 * fed_prepare; regress: one GEMM with the fed-back vectors), then
 * h = act(xp + b_ih).  Teacher forcing calls this once for all rows. */
static void fed_rows_forward(workspace *w, const model *m, const REAL *P, int l, size_t r0, int M) {
    const int H = w->H, O = net_head_out(&w->cfg);
    const layer_params lp = layer_view(m, P, l, 0);
    dir_acts *a = &w->layer[l][0];
    REAL *xp = w->xp + r0 * H;
    if (l == 0 && w->fb_vec) {
        gemm(0, 1, M, H, O, 1, w->fb_vec + r0 * O, O, P + m->tensors[m->ix.w_oh].offset, O, 1, xp, H);
    } else if (l == 0) {
        for (int r = 0; r < M; r++) {
            const int y = w->fb_label[r0 + r];
            if (y < 0) continue;
            REAL *restrict x = xp + (size_t)r * H;
            const REAL *restrict col = w->fb_table + (size_t)y * H;
            for (int j = 0; j < H; j++) x[j] += col[j];
        }
    }
    rnn_forward_fed(M, H, w->cfg.cell == CELL_RNN_RELU, xp, lp.b_ih, a->gates + r0 * H, a->y + r0 * H);
}

/* Tag: W_oh (H, C) transposed into w->fb_table [C, H], so that feeding back
 * label y adds one contiguous row. */
static void fed_prepare(workspace *w, const model *m, const REAL *P) {
    if (!w->fb_table) return;
    const int H = w->H, O = net_head_out(&w->cfg);
    const REAL *w_oh = P + m->tensors[m->ix.w_oh].offset;
    for (int j = 0; j < H; j++)
        for (int y = 0; y < O; y++) w->fb_table[(size_t)y * H + j] = w_oh[(size_t)j * O + y];
}

/* Backward of fed_rows_forward over all rows, given w->dy[0]: dxp into
 * w->xp (what the caller's weight-gradient GEMMs read, as after
 * recur_backward), and for layer 0 dW_oh += dxp^T Y_prev: one GEMM
 * (regress), or the rows summed per fed-back label in fb_table, then added
 * transposed (tag). */
static void fed_backward(workspace *w, const model *m, REAL *Gr, int l) {
    const int H = w->H, O = net_head_out(&w->cfg), R = w->rows;
    rnn_backward(R, H, w->cfg.cell == CELL_RNN_RELU, w->dy[0], w->layer[l][0].gates, w->xp);
    if (l > 0) return;
    REAL *dw = Gr + m->tensors[m->ix.w_oh].offset;
    if (w->fb_vec) {
        gemm(1, 0, H, O, R, 1, w->xp, H, w->fb_vec, O, 1, dw, O);
        return;
    }
    REAL *S = w->fb_table;
    memset(S, 0, (size_t)O * H * sizeof(REAL));
    for (int r = 0; r < R; r++) {
        const int y = w->fb_label[r];
        if (y < 0) continue;
        REAL *restrict dst = S + (size_t)y * H;
        const REAL *restrict g = w->xp + (size_t)r * H;
        for (int j = 0; j < H; j++) dst[j] += g[j];
    }
    for (int j = 0; j < H; j++)
        for (int y = 0; y < O; y++) dw[(size_t)j * O + y] += S[(size_t)y * H + j];
}

/* Free-running forward (eval, predict): step t is fed the model's own
 * prediction at step t-1, so the steps run in order, each through every
 * layer and the head on its bs[t] rows (one GEMM per layer per step).  Layer
 * 0's input projection does not depend on what is fed back: one GEMM (or the
 * token table) for all rows first.  Inference only: no dropout.  Returns the
 * summed loss against the batch's truth, if it has one. */
static double fed_forward_free(workspace *w, const model *m, const REAL *P, const net_batch *b) {
    const int L = w->cfg.num_layers;
    const layer_params lp0 = layer_view(m, P, 0, 0);
    if (w->used_table) table_projection(w, m, P, &lp0);
    else input_projection(w, &lp0, w->x0, input_width(w, 0));
    double loss = 0;
    for (int t = 0; t < w->T; t++) {
        const size_t r0 = (size_t)w->off[t];
        const int M = w->bs[t];
        feed_step(w, t, NULL, NULL, w->out);
        for (int l = 0; l < L; l++) {
            if (l > 0) { /* this step's rows of xp: layer 0 has used them */
                const int in = input_width(w, l), H = w->H;
                gemm(0, 1, M, H, in, 1, w->layer[l - 1][0].y + r0 * in, in, layer_view(m, P, l, 0).w_ih, in, 0,
                     w->xp + r0 * H, H);
            }
            fed_rows_forward(w, m, P, l, r0, M);
        }
        loss += head_forward(w, m, P, w->layer[L - 1][0].y, r0, M, b->labels, b->targets);
    }
    w->out_rows = w->rows;
    return loss;
}

double SFX(net_forward)(workspace *w, const model *m, const REAL *P, const net_batch *b) {
    const int L = w->cfg.num_layers, H = w->H;
    set_batch(w, b);
    w->tokens = b->tokens;
    const int R = w->rows, carry = b->carry && w->uniform;
    const size_t nH = (size_t)w->max_n * H;

#ifdef USE_RGEMM
    /* Packing costs about one step's product: worth it over a real batch. */
    w->use_packed = w->T >= 8 && R >= 64 && !w->no_packing && !w->cfg.transition_depth;
#endif
    w->dropout_seed = b->dropout_seed;
    w->used_table = w->table && w->table_policy >= 0 && (w->table_policy > 0 || 2 * w->cfg.vocab_size <= R);
    if (!w->used_table) load_inputs(w, m, P, b);
    if (w->fed) {
        w->free_running = b->free_running || (!b->labels && !b->targets);
        fed_prepare(w, m, P);
        if (w->free_running) return fed_forward_free(w, m, P, b);
        for (int t = 0; t < w->T; t++) feed_step(w, t, b->labels, b->targets, NULL); /* teacher forcing */
    }
    for (int l = 0; l < L; l++) {
        const REAL *X = l == 0 ? w->x0 : merged_input(w, l, b);
        const int in = input_width(w, l);
        for (int d = 0; d < w->D; d++) {
            const layer_params lp = layer_view(m, P, l, d);
            if (l == 0 && w->used_table) table_projection(w, m, P, &lp);
            else if (lp.ih.depth) /* the deep transition's output is what W_ih reads */
                input_projection(w, &lp, mlp_path_forward(w, &lp.ih, &w->layer[l][d].ih, PATH_IH, l, d, X, in, R),
                                 lp.ih.width);
            else input_projection(w, &lp, X, in);
            if (w->fed) { /* every row at once: nothing waits for the step before */
                fed_rows_forward(w, m, P, l, 0, R);
                continue;
            }
            const REAL *h0 = carry ? w->state_h + l * nH : NULL;
            const REAL *c0 = carry && w->state_c ? w->state_c + l * nH : NULL;
            recur_forward(w, &lp, l, d, h0, c0);
        }
        if (w->layer[l][0].res) residual_forward(w, l, X, 0, w->rows);
        if (carry) { /* the last step's outputs are the next window's initial state */
            const dir_acts *a = &w->layer[l][0];
            const size_t last = (size_t)w->off[w->T - 1] * H, bytes = (size_t)w->n * H * sizeof(REAL);
            memcpy(w->state_h + l * nH, a->y + last, bytes);
            if (a->c) memcpy(w->state_c + l * nH, a->c + last, bytes);
        }
    }
    const REAL *X = merged_input(w, L, b);
    if (w->cfg.headless) {
        w->top = X;
        return 0;
    }
    w->out_rows = net_per_row(&w->cfg) ? R : w->n;
    const mlp_params hm = head_mlp_view(w, m, P);
    if (hm.depth) X = mlp_path_forward(w, &hm, &w->head_mlp, PATH_HEAD, L, 0, X, hm.in, w->out_rows);
    return head_forward(w, m, P, X, 0, w->out_rows, b->labels, b->targets);
}

/* Input side of layer 0 through the token table: S[v] = sum of the dxp rows
 * of token v, then dW_ih0 += S^T emb, db_ih0 += colsum(S), d emb += S W_ih0. */
static void table_backward(workspace *w, const model *m, const REAL *P, REAL *Gr, const layer_params *lp,
                           const layer_params *lg) {
    const int GH = w->G * w->H, V = w->cfg.vocab_size, E = w->cfg.embed_size;
    const size_t emb = m->tensors[m->ix.embedding].offset;
    REAL *S = w->table;
    memset(S, 0, (size_t)V * GH * sizeof(REAL));
    for (int r = 0; r < w->rows; r++) {
        REAL *restrict dst = S + (size_t)w->tokens[r] * GH;
        const REAL *restrict src = w->xp + (size_t)r * GH;
        for (int j = 0; j < GH; j++) dst[j] += src[j];
    }
    gemm(1, 0, GH, E, V, 1, S, GH, P + emb, E, 1, mut(lg->w_ih), E);
    add_colsum(mut(lg->b_ih), S, V, GH);
    gemm(0, 0, V, E, GH, 1, S, GH, lp->w_ih, E, 1, Gr + emb, E);
}

static void ready(const workspace *w, int first, int last) {
    if (w->grads_ready) w->grads_ready(w->grads_ready_ctx, first, last);
}

/* The head's backward: dlogits, the head's weight grads, and the grads
 * w.r.t. the top layer's outputs in w->dy. */
static void head_backward(workspace *w, const model *m, const REAL *P, REAL *Gr, const net_batch *b, REAL scale) {
    const int L = w->cfg.num_layers, O = net_head_out(&w->cfg), N = w->out_rows;
    const tensor_info *T = m->tensors;
    const REAL *Wh = P + T[m->ix.head_weight].offset;
    REAL *dWh = Gr + T[m->ix.head_weight].offset, *dbh = Gr + T[m->ix.head_bias].offset;
    /* dlogits, in place: scale * (softmax - onehot), or scale * 2 (pred - target). */
    for (int r = 0; r < N; r++) {
        REAL *z = w->out + (size_t)r * O;
        if (w->cfg.task == TASK_REGRESS) {
            const float *t = b->targets + (size_t)r * O;
            for (int v = 0; v < O; v++) z[v] = scale * 2 * (z[v] - (REAL)t[v]);
        } else {
            z[b->labels[r]] -= 1;
            for (int v = 0; v < O; v++) z[v] *= scale;
        }
    }
    const int in = input_width(w, L), hin = head_width(w);
    const REAL *X = needs_merge(w, L) ? w->xin[L] : layer_out(w, L - 1, 0);
    REAL *dX = needs_merge(w, L) ? w->dx : w->dy[0];
    const mlp_params hm = head_mlp_view(w, m, P), hg = head_mlp_view(w, m, Gr);
    const REAL *Xh = hm.depth ? mlp_out(&hm, &w->head_mlp) : X; /* what head/weight read */
    gemm(1, 0, O, hin, N, 1, w->out, O, Xh, hin, 1, dWh, hin);
    add_colsum(dbh, w->out, N, O);
    if (hm.depth) {
        gemm(0, 0, N, hin, O, 1, w->out, O, Wh, hin, 0, w->da + (size_t)(hm.depth - 1) * w->head_mlp.stride, hin);
        mlp_path_backward(w, &hm, &hg, &w->head_mlp, X, in, dX, 0, N);
    } else {
        gemm(0, 0, N, in, O, 1, w->out, O, Wh, in, 0, dX, in);
    }
    split_grad(w, L, w->dy);
    int first, last;
    model_head_tensors(m, &first, &last);
    ready(w, first, last);
}

void SFX(net_backward)(workspace *w, const model *m, const REAL *P, REAL *Gr, const net_batch *b, REAL scale) {
    const int L = w->cfg.num_layers, H = w->H, GH = w->G * H, R = w->rows;
    const tensor_info *T = m->tensors;
    if (w->cfg.headless) {
        memcpy(needs_merge(w, L) ? w->dx : w->dy[0], w->dtop, (size_t)R * input_width(w, L) * sizeof(REAL));
        split_grad(w, L, w->dy);
    } else {
        head_backward(w, m, P, Gr, b, scale);
    }

    for (int l = L - 1; l >= 0; l--) {
        const int lin = input_width(w, l), merge = l > 0 && needs_merge(w, l);
        const REAL *Xl = l == 0 ? w->x0 : merge ? w->xin[l] : layer_out(w, l - 1, 0);
        REAL *dX = merge || l == 0 ? w->dx : w->dy_below[0];
        for (int d = 0; d < w->D; d++) {
            const layer_params lp = layer_view(m, P, l, d), lg = layer_view(m, Gr, l, d);
            if (w->fed) fed_backward(w, m, Gr, l);
            else recur_backward(w, &lp, &lg, l, d);
            if (l == 0 && w->used_table) {
                table_backward(w, m, P, Gr, &lp, &lg);
                continue;
            }
            const mlp_acts *ma = &w->layer[l][d].ih;
            const int cin = lp.ih.depth ? lp.ih.width : lin; /* what W_ih read: Xl or its deep transition */
            gemm(1, 0, GH, cin, R, 1, w->xp, GH, lp.ih.depth ? mlp_out(&lp.ih, ma) : Xl, cin, 1, mut(lg.w_ih), cin);
            add_colsum(mut(lg.b_ih), w->xp, R, GH);
            REAL *dXl = l > 0 || !w->cfg.input_size ? dX : NULL; /* no grad w.r.t. features */
            if (lp.ih.depth) {
                gemm(0, 0, R, cin, GH, 1, w->xp, GH, lp.w_ih, cin, 0, w->da + (size_t)(lp.ih.depth - 1) * ma->stride, cin);
                mlp_path_backward(w, &lp.ih, &lg.ih, ma, Xl, lin, dXl, d > 0, R);
            } else if (dXl) {
                gemm(0, 0, R, lin, GH, 1, w->xp, GH, lp.w_ih, lin, d > 0 ? 1 : 0, dXl, lin);
            }
            if (w->layer[l][d].res) residual_backward(w, l, d, dX);
        }
        int first, last;
        model_layer_tensors(m, l, &first, &last);
        if (l > 0) {
            split_grad(w, l, w->dy_below);
            for (int d = 0; d < 2; d++) { /* the grad w.r.t. this layer's inputs is the next layer down's dy */
                REAL *swap = w->dy[d];
                w->dy[d] = w->dy_below[d];
                w->dy_below[d] = swap;
            }
            ready(w, first, last);
            continue;
        }
        if (!w->used_table && !w->cfg.input_size) {
            /* w->dx holds the grad w.r.t. the embedded inputs: scatter-add rows. */
            const int E = w->cfg.embed_size;
            REAL *dE = Gr + T[m->ix.embedding].offset;
            for (int r = 0; r < R; r++) {
                REAL *row = dE + (size_t)w->tokens[r] * E;
                const REAL *g = w->dx + (size_t)r * E;
                for (int j = 0; j < E; j++) row[j] += g[j];
            }
        }
        ready(w, m->ix.embedding >= 0 ? m->ix.embedding : first, last);
    }
}
