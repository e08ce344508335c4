/* tree_impl.h - the tree engine (tree.h), written once over REAL.  Included
 * by net_f32.c and net_f64.c after net_impl.h, whose gemm, add_colsum,
 * softmax_xent and cells (cells_impl.h) it shares.
 *
 * Per level s (rows r0 .. r0+M-1, edges e0 .. e0+K-1 to their children):
 *   forward : X = embedded tokens; HS = sum of the children's h (rows_add
 *             over the edges); XP = X W_x^T, HP = HS W_h^T (lstm also
 *             FX = X W_fx^T and, per edge, F = h_child W_fh^T); the cell's
 *             element-wise loop.  The heads run once over the whole batch.
 *   backward: top level first, every row's dh (and dc) being complete once
 *             its parents' levels are done: the element-wise loop, one GEMM
 *             per weight gradient, then the grads w.r.t. X (scattered into
 *             the embedding) and w.r.t. HS and the children's h (scattered
 *             into the children's dh).
 * Every move of rows between levels, tokens and heads is rows_add.
 */
#include "tree.h"

typedef SFX(tree_workspace) tree_ws;

/* The one gather/scatter: dst row (di ? di[i] : i) += src row (si ? si[i] :
 * i) for i < n, rows `width` wide.  A negative index skips the pair (a node
 * without a token has x = 0 and no embedding gradient). */
RECUR_HOT static void rows_add(REAL *dst, const int32_t *di, const REAL *src, const int32_t *si, int n, int width) {
    for (int i = 0; i < n; i++) {
        const int32_t a = di ? di[i] : i, b = si ? si[i] : i;
        if (a < 0 || b < 0) continue;
        REAL *restrict d = dst + (size_t)a * width;
        const REAL *restrict s = src + (size_t)b * width;
        for (int j = 0; j < width; j++) d[j] += s[j];
    }
}

/* Every product of the engine goes through here, so a caller can list what
 * a step multiplies (w->on_gemm: recur bench replays the list on SGEMM). */
static void tgemm(const tree_ws *w, int ta, int tb, int M, int N, int K, REAL beta, const REAL *A, int lda,
                  const REAL *Bm, int ldb, REAL *C, int ldc) {
    if (w->on_gemm && M > 0 && N > 0 && K > 0) w->on_gemm(w->on_gemm_ctx, ta, tb, M, N, K);
    gemm(ta, tb, M, N, K, 1, A, lda, Bm, ldb, beta, C, ldc);
}

/* A tree model's tensors in an arena laid out as m->tensors (NULL where absent). */
typedef struct { const REAL *emb, *wx, *bx, *wh, *bh, *fxw, *fxb, *fhw, *fhb, *rw, *rb, *nw, *nb; } tree_params;
static tree_params tree_view(const model *m, const REAL *P) {
    const tree_index *x = &m->tree;
#define AT(i) ((i) >= 0 ? P + m->tensors[i].offset : NULL)
    return (tree_params){AT(x->embedding), AT(x->wx),     AT(x->bx),     AT(x->wh),     AT(x->bh),
                         AT(x->fx_w),      AT(x->fx_b),   AT(x->fh_w),   AT(x->fh_b),   AT(x->root_w),
                         AT(x->root_b),    AT(x->node_w), AT(x->node_b)};
#undef AT
}

int SFX(tree_workspace_create)(tree_ws *w, const model_config *cfg, int max_n, int max_rows, int max_edges,
                               recur_err *err) {
    memset(w, 0, sizeof *w);
    if (cfg->task != TASK_TREE) return recur_fail(err, RECUR_EXIT_USAGE, "a tree workspace needs a tree model");
    if (max_n <= 0 || max_rows <= 0 || max_edges < 0)
        return recur_fail(err, RECUR_EXIT_USAGE, "tree batch sizes must be positive (got %d trees, %d nodes)", max_n,
                          max_rows);
    w->cfg = *cfg;
    const int lstm = cfg->cell == CELL_LSTM;
    w->G = lstm ? 3 : 1;
    w->H = cfg->hidden_size;
    w->E = cfg->embed_size;
    w->max_n = max_n;
    w->max_rows = max_rows;
    w->max_edges = max_edges;
    const size_t R = max_rows, N = max_n, K = max_edges ? max_edges : 1, H = w->H, E = w->E, GH = (size_t)w->G * H;
    const size_t Cr = cfg->output_size, Cn = cfg->node_classes;
    const size_t total = R * E * 2 + R * H * 4 + R * GH * 3 + (lstm ? R * H * 3 + K * H * 3 : 0) + N * H + N * Cr +
                         R * Cn + GH + H;
    w->arena = calloc(total, sizeof(REAL));
    if (!w->arena)
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory: tree activations for %d nodes need %zu MiB", max_rows,
                          total * sizeof(REAL) >> 20);
    REAL *p = w->arena;
#define TAKE(n) (p += (n), p - (n))
    w->x = TAKE(R * E);
    w->dx = TAKE(R * E);
    w->hs = TAKE(R * H);
    w->h = TAKE(R * H);
    w->dh = TAKE(R * H);
    w->dc = TAKE(R * H);
    w->xp = TAKE(R * GH);
    w->hp = TAKE(R * GH);
    w->gates = TAKE(R * GH);
    if (lstm) {
        w->c = TAKE(R * H);
        w->tc = TAKE(R * H);
        w->fx = TAKE(R * H);
        w->hc = TAKE(K * H);
        w->f = TAKE(K * H);
        w->df = TAKE(K * H);
    }
    w->hroot = TAKE(N * H);
    w->root_out = Cr ? TAKE(N * Cr) : NULL;
    w->node_out = Cn ? TAKE(R * Cn) : NULL;
    w->bias = TAKE(GH + H);
#undef TAKE
    return 0;
}

void SFX(tree_workspace_free)(tree_ws *w) {
    free(w->arena);
    memset(w, 0, sizeof *w);
}

/* One level bottom-up: rows r0 .. r0+M-1, edges e0 .. e0+K-1. */
static void tree_level_forward(tree_ws *w, const tree_params *p, const tree_batch *b, int r0, int M, int e0, int K) {
    const int H = w->H, E = w->E, GH = w->G * H;
    REAL *x = w->x + (size_t)r0 * E, *hs = w->hs + (size_t)r0 * H;
    memset(x, 0, (size_t)M * E * sizeof(REAL));
    rows_add(x, NULL, p->emb, b->tokens + r0, M, E);
    memset(hs, 0, (size_t)M * H * sizeof(REAL));
    rows_add(w->hs, b->parent + e0, w->h, b->child + e0, K, H);
    tgemm(w, 0, 1, M, GH, E, 0, x, E, p->wx, E, w->xp + (size_t)r0 * GH, GH);
    tgemm(w, 0, 1, M, GH, H, 0, hs, H, p->wh, H, w->hp + (size_t)r0 * GH, GH);
    if (w->cfg.cell != CELL_LSTM) {
        rnn_forward(M, H, 0, w->xp + (size_t)r0 * GH, w->hp + (size_t)r0 * GH, w->bias, w->gates + (size_t)r0 * GH,
                    w->h + (size_t)r0 * H);
        return;
    }
    REAL *hc = w->hc + (size_t)e0 * H;
    tgemm(w, 0, 1, M, H, E, 0, x, E, p->fxw, E, w->fx + (size_t)r0 * H, H);
    memset(hc, 0, (size_t)K * H * sizeof(REAL));
    rows_add(hc, NULL, w->h, b->child + e0, K, H);
    tgemm(w, 0, 1, K, H, H, 0, hc, H, p->fhw, H, w->f + (size_t)e0 * H, H);
    tree_lstm_forward(r0, M, e0, K, H, b->parent, b->child, w->xp, w->hp, w->bias, w->fx, w->gates, w->f, w->c, w->tc,
                      w->h);
}

/* Sets each row of a head's logits [N, O] to the bias, then adds X W^T. */
static void tree_head_logits(const tree_ws *w, REAL *out, const REAL *X, int N, int O, int H, const REAL *W,
                             const REAL *bias) {
    for (int r = 0; r < N; r++) memcpy(out + (size_t)r * O, bias, (size_t)O * sizeof(REAL));
    tgemm(w, 0, 1, N, O, H, 1, X, H, W, H, out, O);
}

double SFX(tree_forward)(tree_ws *w, const model *m, const REAL *P, const tree_batch *b) {
    const int H = w->H, GH = w->G * H;
    const tree_params p = tree_view(m, P);
    w->b = b;
    for (int j = 0; j < GH; j++) w->bias[j] = p.bx[j] + p.bh[j];
    if (p.fxb)
        for (int j = 0; j < H; j++) w->bias[GH + j] = p.fxb[j] + p.fhb[j];
    for (int s = 0; s < b->levels; s++) {
        const int r0 = b->level_off[s], e0 = b->edge_off[s];
        tree_level_forward(w, &p, b, r0, b->level_off[s + 1] - r0, e0, b->edge_off[s + 1] - e0);
    }
    double loss = 0;
    if (w->root_out) {
        memset(w->hroot, 0, (size_t)b->n * H * sizeof(REAL));
        rows_add(w->hroot, NULL, w->h, b->roots, b->n, H);
        tree_head_logits(w, w->root_out, w->hroot, b->n, w->cfg.output_size, H, p.rw, p.rb);
        loss += softmax_xent(w->root_out, b->root_labels, b->n, w->cfg.output_size);
    }
    if (w->node_out) {
        tree_head_logits(w, w->node_out, w->h, b->rows, w->cfg.node_classes, H, p.nw, p.nb);
        loss += softmax_xent(w->node_out, b->node_labels, b->rows, w->cfg.node_classes);
    }
    return loss;
}

/* A head's backward over its N rows of input X: dlogits = scale (softmax -
 * onehot) in place (0 for unlabelled rows), its weight grads, and dX = dlogits
 * W (beta: 0 writes dX, 1 adds to it). */
static void tree_head_backward(const tree_ws *w, REAL *out, const int32_t *labels, const REAL *X, int N, int O,
                               int H, const REAL *W, REAL *dW, REAL *db, REAL scale, REAL *dX, REAL beta) {
    for (int r = 0; r < N; r++) {
        REAL *z = out + (size_t)r * O;
        const int32_t y = labels[r];
        if (y >= 0) z[y] -= 1;
        for (int v = 0; v < O; v++) z[v] = y >= 0 ? z[v] * scale : 0;
    }
    tgemm(w, 1, 0, O, H, N, 1, out, O, X, H, dW, H);
    add_colsum(db, out, N, O);
    tgemm(w, 0, 0, N, H, O, beta, out, O, W, H, dX, H);
}

/* One level top-down (see the top of this file). */
static void tree_level_backward(tree_ws *w, const tree_params *p, const tree_params *g, const tree_batch *b, int r0,
                                int M, int e0, int K) {
    const int H = w->H, E = w->E, GH = w->G * H;
    REAL *x = w->x + (size_t)r0 * E, *hs = w->hs + (size_t)r0 * H, *dA = w->xp + (size_t)r0 * GH;
    REAL *dx = w->dx + (size_t)r0 * E;
    const int lstm = w->cfg.cell == CELL_LSTM;
    if (lstm)
        tree_lstm_backward(r0, M, e0, K, H, b->parent, b->child, w->dh, w->gates, w->tc, w->c, w->f, w->dc, w->xp,
                           w->df, w->fx);
    else
        rnn_backward(M, H, 0, w->dh + (size_t)r0 * H, w->gates + (size_t)r0 * GH, dA);
    tgemm(w, 1, 0, GH, E, M, 1, dA, GH, x, E, mut(g->wx), E);
    tgemm(w, 1, 0, GH, H, M, 1, dA, GH, hs, H, mut(g->wh), H);
    add_colsum(mut(g->bx), dA, M, GH);
    add_colsum(mut(g->bh), dA, M, GH);
    tgemm(w, 0, 0, M, E, GH, 0, dA, GH, p->wx, E, dx, E);
    /* HS has served dW_h: its rows now take the grad w.r.t. HS, which every child gets. */
    tgemm(w, 0, 0, M, H, GH, 0, dA, GH, p->wh, H, hs, H);
    rows_add(w->dh, b->child + e0, w->hs, b->parent + e0, K, H);
    if (lstm) { /* w->fx: sum of df per node; w->df: per edge */
        const REAL *dfx = w->fx + (size_t)r0 * H;
        REAL *df = w->df + (size_t)e0 * H, *hc = w->hc + (size_t)e0 * H;
        tgemm(w, 1, 0, H, E, M, 1, dfx, H, x, E, mut(g->fxw), E);
        add_colsum(mut(g->fxb), dfx, M, H);
        tgemm(w, 0, 0, M, E, H, 1, dfx, H, p->fxw, E, dx, E);
        tgemm(w, 1, 0, H, H, K, 1, df, H, hc, H, mut(g->fhw), H);
        add_colsum(mut(g->fhb), df, K, H);
        tgemm(w, 0, 0, K, H, H, 0, df, H, p->fhw, H, hc, H); /* HC has served dW_fh: now its grad */
        rows_add(w->dh, b->child + e0, hc, NULL, K, H);
    }
    rows_add(mut(g->emb), b->tokens + r0, dx, NULL, M, E);
}

void SFX(tree_backward)(tree_ws *w, const model *m, const REAL *P, REAL *Gr, REAL scale) {
    const tree_batch *b = w->b;
    const int H = w->H;
    const tree_params p = tree_view(m, P), g = tree_view(m, Gr);
    memset(w->dh, 0, (size_t)b->rows * H * sizeof(REAL));
    if (w->c) memset(w->dc, 0, (size_t)b->rows * H * sizeof(REAL));
    if (w->node_out)
        tree_head_backward(w, w->node_out, b->node_labels, w->h, b->rows, w->cfg.node_classes, H, p.nw, mut(g.nw),
                           mut(g.nb), scale, w->dh, 0);
    if (w->root_out) { /* hroot has served dW: it takes the roots' grads */
        tree_head_backward(w, w->root_out, b->root_labels, w->hroot, b->n, w->cfg.output_size, H, p.rw, mut(g.rw),
                           mut(g.rb), scale, w->hroot, 0);
        rows_add(w->dh, b->roots, w->hroot, NULL, b->n, H);
    }
    for (int s = b->levels - 1; s >= 0; s--) {
        const int r0 = b->level_off[s], e0 = b->edge_off[s];
        tree_level_backward(w, &p, &g, b, r0, b->level_off[s + 1] - r0, e0, b->edge_off[s + 1] - e0);
    }
}
