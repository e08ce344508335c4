/* cells_impl.h - the element-wise gate math of each cell, forward and
 * backward, for one time step of B rows.  Included by lm_impl.h (REAL, EXP,
 * TANH defined there).  The recurrent GEMMs around these live in lm_impl.h;
 * here is only what happens to each unit, fused in one loop per step.
 *
 * Conventions, per row b and unit j (G*H gate columns, PyTorch order):
 *   xp : input projection  W_ih x + b_ih         [B, G*H]
 *   hp : recurrent part     W_hh h_prev           [B, G*H]  (bias b_hh added here)
 *   gates: post-activation values kept for backward.
 */

static inline REAL sigm(REAL x) { return (REAL)1 / ((REAL)1 + EXP(-x)); }

/* ---- vanilla RNN: h = act(xp + hp + b_hh); gates keep h ---- */
static void rnn_forward(int B, int H, int relu, const REAL *xp, const REAL *hp, const REAL *bhh,
                        REAL *gates, REAL *h) {
    for (int b = 0; b < B; b++) {
        const REAL *x = xp + (size_t)b * H, *r = hp + (size_t)b * H;
        REAL *o = h + (size_t)b * H, *g = gates + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            REAL a = x[j] + r[j] + bhh[j];
            REAL v = relu ? (a > 0 ? a : 0) : TANH(a);
            o[j] = v;
            g[j] = v;
        }
    }
}

/* da = dh * act'(a), written as the grad of both pre-activations (dxp). */
static void rnn_backward(int B, int H, int relu, const REAL *dh, const REAL *gates, REAL *dxp) {
    for (size_t i = 0; i < (size_t)B * H; i++) {
        REAL v = gates[i];
        dxp[i] = relu ? (v > 0 ? dh[i] : 0) : dh[i] * ((REAL)1 - v * v);
    }
}

/* ---- LSTM (i,f,g,o): c = f*c_prev + i*g; h = o*tanh(c); aux keeps tanh(c) ---- */
static void lstm_forward(int B, int H, const REAL *xp, const REAL *hp, const REAL *bhh, const REAL *c_prev,
                         REAL *gates, REAL *c, REAL *h, REAL *aux) {
    const size_t GH = 4 * (size_t)H;
    for (int b = 0; b < B; b++) {
        const REAL *x = xp + b * GH, *r = hp + b * GH, *cp = c_prev + (size_t)b * H;
        REAL *g = gates + b * GH, *cb = c + (size_t)b * H, *hb = h + (size_t)b * H, *tc = aux + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            REAL ig = sigm(x[j] + r[j] + bhh[j]);
            REAL fg = sigm(x[H + j] + r[H + j] + bhh[H + j]);
            REAL gg = TANH(x[2 * H + j] + r[2 * H + j] + bhh[2 * H + j]);
            REAL og = sigm(x[3 * H + j] + r[3 * H + j] + bhh[3 * H + j]);
            REAL cv = fg * cp[j] + ig * gg;
            REAL t = TANH(cv);
            g[j] = ig; g[H + j] = fg; g[2 * H + j] = gg; g[3 * H + j] = og;
            cb[j] = cv;
            tc[j] = t;
            hb[j] = og * t;
        }
    }
}

/* dc (in: grad from step t+1, out: grad for step t-1) and dxp (= dhp). */
static void lstm_backward(int B, int H, const REAL *dh, const REAL *gates, const REAL *aux, const REAL *c_prev,
                          REAL *dc, REAL *dxp) {
    const size_t GH = 4 * (size_t)H;
    for (int b = 0; b < B; b++) {
        const REAL *g = gates + b * GH, *tc = aux + (size_t)b * H, *cp = c_prev + (size_t)b * H;
        const REAL *d = dh + (size_t)b * H;
        REAL *dcb = dc + (size_t)b * H, *da = dxp + b * GH;
        for (int j = 0; j < H; j++) {
            REAL ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j], t = tc[j];
            REAL dct = dcb[j] + d[j] * og * ((REAL)1 - t * t);
            da[j] = dct * gg * ig * ((REAL)1 - ig);
            da[H + j] = dct * cp[j] * fg * ((REAL)1 - fg);
            da[2 * H + j] = dct * ig * ((REAL)1 - gg * gg);
            da[3 * H + j] = d[j] * t * og * ((REAL)1 - og);
            dcb[j] = dct * fg;
        }
    }
}

/* ---- torch GRU, linear before reset (r,z,n):
 *      n = tanh(xp_n + r*(W_hn h + b_hn)); h' = (1-z)*n + z*h;  aux keeps W_hn h + b_hn ---- */
static void lbr_gru_forward(int B, int H, const REAL *xp, const REAL *hp, const REAL *bhh, const REAL *h_prev,
                            REAL *gates, REAL *h, REAL *aux) {
    const size_t GH = 3 * (size_t)H;
    for (int b = 0; b < B; b++) {
        const REAL *x = xp + b * GH, *r = hp + b * GH, *hpv = h_prev + (size_t)b * H;
        REAL *g = gates + b * GH, *hb = h + (size_t)b * H, *hn = aux + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            REAL rg = sigm(x[j] + r[j] + bhh[j]);
            REAL zg = sigm(x[H + j] + r[H + j] + bhh[H + j]);
            REAL hnv = r[2 * H + j] + bhh[2 * H + j];
            REAL ng = TANH(x[2 * H + j] + rg * hnv);
            g[j] = rg; g[H + j] = zg; g[2 * H + j] = ng;
            hn[j] = hnv;
            hb[j] = ((REAL)1 - zg) * ng + zg * hpv[j];
        }
    }
}

/* Writes dxp, dhp (they differ in the n gate: dhp_n = dan * r) and the direct
 * part of the grad w.r.t. h_prev (dh * z) into dh_prev. */
static void lbr_gru_backward(int B, int H, const REAL *dh, const REAL *gates, const REAL *aux, const REAL *h_prev,
                             REAL *dxp, REAL *dhp, REAL *dh_prev) {
    const size_t GH = 3 * (size_t)H;
    for (int b = 0; b < B; b++) {
        const REAL *g = gates + b * GH, *hn = aux + (size_t)b * H, *hpv = h_prev + (size_t)b * H;
        const REAL *d = dh + (size_t)b * H;
        REAL *dx = dxp + b * GH, *dr = dhp + b * GH, *dp = dh_prev + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            REAL rg = g[j], zg = g[H + j], ng = g[2 * H + j];
            REAL dan = d[j] * ((REAL)1 - zg) * ((REAL)1 - ng * ng);
            REAL dar = dan * hn[j] * rg * ((REAL)1 - rg);
            REAL daz = d[j] * (hpv[j] - ng) * zg * ((REAL)1 - zg);
            dx[j] = dar; dx[H + j] = daz; dx[2 * H + j] = dan;
            dr[j] = dar; dr[H + j] = daz; dr[2 * H + j] = dan * rg;
            dp[j] = d[j] * zg;
        }
    }
}

/* ---- textbook GRU (r,z,n): n = tanh(xp_n + W_hn (r*h) + b_hn); h' = (1-z)*h + z*n.
 * The candidate needs r*h before its GEMM, so each step runs in two phases
 * around a second GEMM; aux keeps r*h. ---- */
static void gru_forward_gates(int B, int H, const REAL *xp, const REAL *hp, const REAL *bhh, const REAL *h_prev,
                              REAL *gates, REAL *rh) {
    const size_t GH = 3 * (size_t)H;
    for (int b = 0; b < B; b++) {
        const REAL *x = xp + b * GH, *r = hp + b * GH, *hpv = h_prev + (size_t)b * H;
        REAL *g = gates + b * GH, *o = rh + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            REAL rg = sigm(x[j] + r[j] + bhh[j]);
            g[j] = rg;
            g[H + j] = sigm(x[H + j] + r[H + j] + bhh[H + j]);
            o[j] = rg * hpv[j];
        }
    }
}

static void gru_forward_candidate(int B, int H, const REAL *xp, const REAL *hp, const REAL *bhh, const REAL *h_prev,
                                  REAL *gates, REAL *h) {
    const size_t GH = 3 * (size_t)H;
    for (int b = 0; b < B; b++) {
        const REAL *x = xp + b * GH, *r = hp + b * GH, *hpv = h_prev + (size_t)b * H;
        REAL *g = gates + b * GH, *hb = h + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            REAL ng = TANH(x[2 * H + j] + r[2 * H + j] + bhh[2 * H + j]);
            REAL zg = g[H + j];
            g[2 * H + j] = ng;
            hb[j] = ((REAL)1 - zg) * hpv[j] + zg * ng;
        }
    }
}

/* Phase 1: dan, daz into dxp (= dhp) and dh_prev = dh*(1-z). */
static void gru_backward_candidate(int B, int H, const REAL *dh, const REAL *gates, const REAL *h_prev,
                                   REAL *dxp, REAL *dh_prev) {
    const size_t GH = 3 * (size_t)H;
    for (int b = 0; b < B; b++) {
        const REAL *g = gates + b * GH, *hpv = h_prev + (size_t)b * H, *d = dh + (size_t)b * H;
        REAL *dx = dxp + b * GH, *dp = dh_prev + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            REAL zg = g[H + j], ng = g[2 * H + j];
            dx[2 * H + j] = d[j] * zg * ((REAL)1 - ng * ng);
            dx[H + j] = d[j] * (ng - hpv[j]) * zg * ((REAL)1 - zg);
            dp[j] = d[j] * ((REAL)1 - zg);
        }
    }
}

/* Phase 2, given drh = d(r*h): dar into dxp and dh_prev += drh * r. */
static void gru_backward_gates(int B, int H, const REAL *drh, const REAL *gates, const REAL *h_prev,
                               REAL *dxp, REAL *dh_prev) {
    const size_t GH = 3 * (size_t)H;
    for (int b = 0; b < B; b++) {
        const REAL *g = gates + b * GH, *hpv = h_prev + (size_t)b * H, *d = drh + (size_t)b * H;
        REAL *dx = dxp + b * GH, *dp = dh_prev + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            REAL rg = g[j];
            dx[j] = d[j] * hpv[j] * rg * ((REAL)1 - rg);
            dp[j] += d[j] * rg;
        }
    }
}
