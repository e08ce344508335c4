/* cells_impl.h - the element-wise gate math of each cell, forward and
 * backward, for one time step of B rows (or one level of a tree batch).
 * Included by net_impl.h (REAL, EXP, TANH defined there).  The GEMMs around
 * these live in net_impl.h and tree_impl.h (whose rnn_tanh cell is
 * rnn_forward/rnn_backward below); here is only what happens to each unit, fused in one loop per step.
 *
 * Conventions, per row b and unit j (G*H gate columns, PyTorch order):
 *   xp : input projection  W_ih x                [B, G*H]
 *   hp : recurrent part     W_hh h_prev           [B, G*H]
 *   bias: b_ih + b_hh, added here (lbr_gru's n block: b_in only; its b_hn
 *         is applied inside r*(...) from bhh)
 *   gates: post-activation values kept for backward.
 * Each gate block of a row gets its own restrict pointer (GATE(p, k) is
 * block k of row p) so the compiler can vectorize the unit loop.
 */

RECUR_INLINE REAL sigm(REAL x) { return (REAL)1 / ((REAL)1 + EXP(-x)); }

#define ROW(p, width) ((p) + (size_t)b * (width))
#define GATE(p, k) ((p) + (size_t)b * G * H + (size_t)(k) * H)
/* ivdep: the gate blocks of a row never overlap (GCC ignores block-scope restrict after inlining). */
#define UNITS _Pragma("GCC ivdep") for (size_t j = 0; j < (size_t)H; j++)

/* ---- vanilla RNN: h = act(xp + hp + b_hh); gates keep h ---- */
RECUR_HOT static void rnn_forward(int B, int H, int relu, const REAL *xp, const REAL *hp, const REAL *bias,
                        REAL *gates, REAL *h) {
    for (int b = 0; b < B; b++) {
        const REAL *restrict x = ROW(xp, H), *restrict r = ROW(hp, H), *restrict bb = bias;
        REAL *restrict o = ROW(h, H), *restrict g = ROW(gates, H);
        if (relu) UNITS {
            REAL a = x[j] + r[j] + bb[j];
            o[j] = g[j] = a > 0 ? a : 0;
        }
        else UNITS {
            o[j] = g[j] = TANH(x[j] + r[j] + bb[j]);
        }
    }
}

/* Output recurrence (pattern 2): no recurrent product; the fed-back
 * output's term is already in xp: h = act(xp + b); gates keep h. */
RECUR_HOT static void rnn_forward_fed(int B, int H, int relu, const REAL *xp, const REAL *bias, REAL *gates, REAL *h) {
    for (int b = 0; b < B; b++) {
        const REAL *restrict x = ROW(xp, H), *restrict bb = bias;
        REAL *restrict o = ROW(h, H), *restrict g = ROW(gates, H);
        if (relu) UNITS {
            REAL a = x[j] + bb[j];
            o[j] = g[j] = a > 0 ? a : 0;
        }
        else UNITS {
            o[j] = g[j] = TANH(x[j] + bb[j]);
        }
    }
}

/* da = dh * act'(a), written as the grad of both pre-activations (dxp). */
RECUR_HOT static void rnn_backward(int B, int H, int relu, const REAL *restrict dh, const REAL *restrict gates,
                         REAL *restrict dxp) {
    const size_t n = (size_t)B * H;
    if (relu)
        for (size_t i = 0; i < n; i++) dxp[i] = gates[i] > 0 ? dh[i] : 0;
    else
        for (size_t i = 0; i < n; i++) dxp[i] = dh[i] * ((REAL)1 - gates[i] * gates[i]);
}

/* ---- LSTM (i,f,g,o): c = f*c_prev + i*g; h = o*tanh(c); aux keeps tanh(c) ---- */
RECUR_HOT static void lstm_forward(int B, int H, const REAL *xp, const REAL *hp, const REAL *bias, const REAL *c_prev,
                         REAL *gates, REAL *c, REAL *h, REAL *aux) {
    const int G = 4;
    for (int b = 0; b < B; b++) {
        const REAL *restrict xi = GATE(xp, 0), *restrict xf = GATE(xp, 1), *restrict xg = GATE(xp, 2), *restrict xo = GATE(xp, 3);
        const REAL *restrict ri = GATE(hp, 0), *restrict rf = GATE(hp, 1), *restrict rg = GATE(hp, 2), *restrict ro = GATE(hp, 3);
        const REAL *restrict bi = bias, *restrict bf = bias + H, *restrict bg = bias + 2 * H, *restrict bo = bias + 3 * H;
        REAL *restrict gi = GATE(gates, 0), *restrict gf = GATE(gates, 1), *restrict gg = GATE(gates, 2), *restrict go = GATE(gates, 3);
        const REAL *restrict cp = ROW(c_prev, H);
        REAL *restrict cb = ROW(c, H), *restrict hb = ROW(h, H), *restrict tc = ROW(aux, H);
        UNITS {
            REAL i = sigm(xi[j] + ri[j] + bi[j]);
            REAL f = sigm(xf[j] + rf[j] + bf[j]);
            REAL g = TANH(xg[j] + rg[j] + bg[j]);
            REAL o = sigm(xo[j] + ro[j] + bo[j]);
            REAL cv = f * cp[j] + i * g;
            REAL t = TANH(cv);
            gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
            cb[j] = cv;
            tc[j] = t;
            hb[j] = o * t;
        }
    }
}

/* dc (in: grad from step t+1, out: grad for step t-1) and dxp (= dhp). */
RECUR_HOT static void lstm_backward(int B, int H, const REAL *dh, const REAL *gates, const REAL *aux, const REAL *c_prev,
                          REAL *dc, REAL *dxp) {
    const int G = 4;
    for (int b = 0; b < B; b++) {
        const REAL *restrict gi = GATE(gates, 0), *restrict gf = GATE(gates, 1), *restrict gg = GATE(gates, 2), *restrict go = GATE(gates, 3);
        const REAL *restrict tc = ROW(aux, H), *restrict cp = ROW(c_prev, H), *restrict d = ROW(dh, H);
        REAL *restrict dcb = ROW(dc, H);
        REAL *restrict di = GATE(dxp, 0), *restrict df = GATE(dxp, 1), *restrict dg = GATE(dxp, 2), *restrict dout = GATE(dxp, 3);
        UNITS {
            REAL i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tc[j];
            REAL dct = dcb[j] + d[j] * o * ((REAL)1 - t * t);
            di[j] = dct * g * i * ((REAL)1 - i);
            df[j] = dct * cp[j] * f * ((REAL)1 - f);
            dg[j] = dct * i * ((REAL)1 - g * g);
            dout[j] = d[j] * t * o * ((REAL)1 - o);
            dcb[j] = dct * f;
        }
    }
}

/* ---- torch GRU, linear before reset (r,z,n):
 *      n = tanh(xp_n + r*(W_hn h + b_hn)); h' = (1-z)*n + z*h;  aux keeps W_hn h + b_hn ---- */
RECUR_HOT static void lbr_gru_forward(int B, int H, const REAL *xp, const REAL *hp, const REAL *bias, const REAL *bhh, const REAL *h_prev,
                            REAL *gates, REAL *h, REAL *aux) {
    const int G = 3;
    for (int b = 0; b < B; b++) {
        const REAL *restrict xr = GATE(xp, 0), *restrict xz = GATE(xp, 1), *restrict xn = GATE(xp, 2);
        const REAL *restrict rr = GATE(hp, 0), *restrict rz = GATE(hp, 1), *restrict rn = GATE(hp, 2);
        const REAL *restrict br = bias, *restrict bz = bias + H, *restrict bin = bias + 2 * H, *restrict bn = bhh + 2 * H;
        const REAL *restrict hpv = ROW(h_prev, H);
        REAL *restrict gr = GATE(gates, 0), *restrict gz = GATE(gates, 1), *restrict gn = GATE(gates, 2);
        REAL *restrict hb = ROW(h, H), *restrict hn = ROW(aux, H);
        UNITS {
            REAL r = sigm(xr[j] + rr[j] + br[j]);
            REAL z = sigm(xz[j] + rz[j] + bz[j]);
            REAL hnv = rn[j] + bn[j];
            REAL n = TANH(xn[j] + bin[j] + r * hnv);
            gr[j] = r; gz[j] = z; gn[j] = n;
            hn[j] = hnv;
            hb[j] = ((REAL)1 - z) * n + z * hpv[j];
        }
    }
}

/* Writes dxp, dhp (they differ in the n gate: dhp_n = dan * r) and the direct
 * part of the grad w.r.t. h_prev (dh * z) into dh_prev. */
RECUR_HOT static void lbr_gru_backward(int B, int H, const REAL *dh, const REAL *gates, const REAL *aux, const REAL *h_prev,
                             REAL *dxp, REAL *dhp, REAL *dh_prev) {
    const int G = 3;
    for (int b = 0; b < B; b++) {
        const REAL *restrict gr = GATE(gates, 0), *restrict gz = GATE(gates, 1), *restrict gn = GATE(gates, 2);
        const REAL *restrict hn = ROW(aux, H), *restrict hpv = ROW(h_prev, H), *restrict d = ROW(dh, H);
        REAL *restrict xr = GATE(dxp, 0), *restrict xz = GATE(dxp, 1), *restrict xn = GATE(dxp, 2);
        REAL *restrict hr = GATE(dhp, 0), *restrict hz = GATE(dhp, 1), *restrict hnn = GATE(dhp, 2);
        REAL *restrict dp = ROW(dh_prev, H);
        UNITS {
            REAL r = gr[j], z = gz[j], n = gn[j];
            REAL dan = d[j] * ((REAL)1 - z) * ((REAL)1 - n * n);
            REAL dar = dan * hn[j] * r * ((REAL)1 - r);
            REAL daz = d[j] * (hpv[j] - n) * z * ((REAL)1 - z);
            xr[j] = dar; xz[j] = daz; xn[j] = dan;
            hr[j] = dar; hz[j] = daz; hnn[j] = dan * r;
            dp[j] = d[j] * z;
        }
    }
}

/* ---- textbook GRU (r,z,n): n = tanh(xp_n + W_hn (r*h) + b_hn); h' = (1-z)*h + z*n.
 * The candidate needs r*h before its GEMM, so each step runs in two phases
 * around a second GEMM; aux keeps r*h. ---- */
RECUR_HOT static void gru_forward_gates(int B, int H, const REAL *xp, const REAL *hp, const REAL *bias, const REAL *h_prev,
                              REAL *gates, REAL *rh) {
    const int G = 3;
    for (int b = 0; b < B; b++) {
        const REAL *restrict xr = GATE(xp, 0), *restrict xz = GATE(xp, 1), *restrict rr = GATE(hp, 0), *restrict rz = GATE(hp, 1);
        const REAL *restrict br = bias, *restrict bz = bias + H, *restrict hpv = ROW(h_prev, H);
        REAL *restrict gr = GATE(gates, 0), *restrict gz = GATE(gates, 1), *restrict o = ROW(rh, H);
        UNITS {
            REAL r = sigm(xr[j] + rr[j] + br[j]);
            gr[j] = r;
            gz[j] = sigm(xz[j] + rz[j] + bz[j]);
            o[j] = r * hpv[j];
        }
    }
}

RECUR_HOT static void gru_forward_candidate(int B, int H, const REAL *xp, const REAL *hp, const REAL *bias, const REAL *h_prev,
                                  REAL *gates, REAL *h) {
    const int G = 3;
    for (int b = 0; b < B; b++) {
        const REAL *restrict xn = GATE(xp, 2), *restrict rn = GATE(hp, 2), *restrict bn = bias + 2 * H;
        const REAL *restrict gz = GATE(gates, 1), *restrict hpv = ROW(h_prev, H);
        REAL *restrict gn = GATE(gates, 2), *restrict hb = ROW(h, H);
        UNITS {
            REAL n = TANH(xn[j] + rn[j] + bn[j]);
            REAL z = gz[j];
            gn[j] = n;
            hb[j] = ((REAL)1 - z) * hpv[j] + z * n;
        }
    }
}

/* Phase 1: dan, daz into dxp (= dhp) and dh_prev = dh*(1-z). */
RECUR_HOT static void gru_backward_candidate(int B, int H, const REAL *dh, const REAL *gates, const REAL *h_prev,
                                   REAL *dxp, REAL *dh_prev) {
    const int G = 3;
    for (int b = 0; b < B; b++) {
        const REAL *restrict gz = GATE(gates, 1), *restrict gn = GATE(gates, 2);
        const REAL *restrict hpv = ROW(h_prev, H), *restrict d = ROW(dh, H);
        REAL *restrict xz = GATE(dxp, 1), *restrict xn = GATE(dxp, 2), *restrict dp = ROW(dh_prev, H);
        UNITS {
            REAL z = gz[j], n = gn[j];
            xn[j] = d[j] * z * ((REAL)1 - n * n);
            xz[j] = d[j] * (n - hpv[j]) * z * ((REAL)1 - z);
            dp[j] = d[j] * ((REAL)1 - z);
        }
    }
}

/* Phase 2, given drh = d(r*h): dar into dxp and dh_prev += drh * r. */
RECUR_HOT static void gru_backward_gates(int B, int H, const REAL *drh, const REAL *gates, const REAL *h_prev,
                               REAL *dxp, REAL *dh_prev) {
    const int G = 3;
    for (int b = 0; b < B; b++) {
        const REAL *restrict gr = GATE(gates, 0), *restrict hpv = ROW(h_prev, H), *restrict d = ROW(drh, H);
        REAL *restrict xr = GATE(dxp, 0), *restrict dp = ROW(dh_prev, H);
        UNITS {
            REAL r = gr[j];
            xr[j] = d[j] * hpv[j] * r * ((REAL)1 - r);
            dp[j] += d[j] * r;
        }
    }
}

/* ---- child-sum Tree-LSTM (i,o,u; tree.h): the nodes r0 .. r0+B-1 of one
 * level and the edges e0 .. e0+NE-1 from them to their children.  Buffers
 * are whole-batch ([rows, ...] and [edges, H]), indexed by row and edge:
 * a node's children live in lower levels of the same c. ---- */
RECUR_HOT static void tree_lstm_forward(int r0, int B, int e0, int NE, int H, const int32_t *parent,
                                        const int32_t *child, const REAL *xp, const REAL *hp, const REAL *bias,
                                        const REAL *fx, REAL *gates, REAL *f, REAL *c, REAL *tc, REAL *h) {
    const int G = 3;
    for (int b = r0; b < r0 + B; b++) {
        const REAL *restrict xi = GATE(xp, 0), *restrict xo = GATE(xp, 1), *restrict xu = GATE(xp, 2);
        const REAL *restrict ri = GATE(hp, 0), *restrict ro = GATE(hp, 1), *restrict ru = GATE(hp, 2);
        const REAL *restrict bi = bias, *restrict bo = bias + H, *restrict bu = bias + 2 * H;
        REAL *restrict gi = GATE(gates, 0), *restrict go = GATE(gates, 1), *restrict gu = GATE(gates, 2);
        REAL *restrict cb = ROW(c, H);
        UNITS {
            REAL i = sigm(xi[j] + ri[j] + bi[j]), o = sigm(xo[j] + ro[j] + bo[j]), u = TANH(xu[j] + ru[j] + bu[j]);
            gi[j] = i; go[j] = o; gu[j] = u;
            cb[j] = i * u;
        }
    }
    /* f_jk = sigm(W_fx x_j + b_fx + W_fh h_k + b_fh) (f holds W_fh h_k), c_j += f_jk c_k */
    const REAL *restrict bf = bias + G * H;
    for (int e = e0; e < e0 + NE; e++) {
        const REAL *restrict xf = fx + (size_t)parent[e] * H, *restrict ck = c + (size_t)child[e] * H;
        REAL *restrict fe = f + (size_t)e * H, *restrict cp = c + (size_t)parent[e] * H;
        UNITS {
            REAL g = sigm(xf[j] + fe[j] + bf[j]);
            fe[j] = g;
            cp[j] += g * ck[j];
        }
    }
    for (int b = r0; b < r0 + B; b++) {
        const REAL *restrict go = GATE(gates, 1), *restrict cb = ROW(c, H);
        REAL *restrict t = ROW(tc, H), *restrict hb = ROW(h, H);
        UNITS {
            t[j] = TANH(cb[j]);
            hb[j] = go[j] * t[j];
        }
    }
}

/* dh, dc: the grads w.r.t. the level's h and c from its parents and heads
 * (dc is replaced by the total grad w.r.t. c, and the children's rows get
 * dc_j f_jk added).  Writes the grads of the i,o,u pre-activations (dxp),
 * of each forget gate's (df) and their sum per node (dfx). */
RECUR_HOT static void tree_lstm_backward(int r0, int B, int e0, int NE, int H, const int32_t *parent,
                                         const int32_t *child, const REAL *dh, const REAL *gates, const REAL *tc,
                                         const REAL *c, const REAL *f, REAL *dc, REAL *dxp, REAL *df, REAL *dfx) {
    const int G = 3;
    for (int b = r0; b < r0 + B; b++) {
        const REAL *restrict gi = GATE(gates, 0), *restrict go = GATE(gates, 1), *restrict gu = GATE(gates, 2);
        const REAL *restrict t = ROW(tc, H), *restrict d = ROW(dh, H);
        REAL *restrict dcb = ROW(dc, H), *restrict sf = ROW(dfx, H);
        REAL *restrict di = GATE(dxp, 0), *restrict dout = GATE(dxp, 1), *restrict du = GATE(dxp, 2);
        UNITS {
            REAL i = gi[j], o = go[j], u = gu[j];
            REAL dct = dcb[j] + d[j] * o * ((REAL)1 - t[j] * t[j]);
            dcb[j] = dct;
            di[j] = dct * u * i * ((REAL)1 - i);
            dout[j] = d[j] * t[j] * o * ((REAL)1 - o);
            du[j] = dct * i * ((REAL)1 - u * u);
            sf[j] = 0;
        }
    }
    for (int e = e0; e < e0 + NE; e++) {
        const REAL *restrict dcp = dc + (size_t)parent[e] * H, *restrict ck = c + (size_t)child[e] * H;
        const REAL *restrict fe = f + (size_t)e * H;
        REAL *restrict dfe = df + (size_t)e * H, *restrict dck = dc + (size_t)child[e] * H;
        REAL *restrict sf = dfx + (size_t)parent[e] * H;
        UNITS {
            REAL g = fe[j];
            dfe[j] = dcp[j] * ck[j] * g * ((REAL)1 - g);
            dck[j] += dcp[j] * g;
            sf[j] += dfe[j];
        }
    }
}

#undef ROW
#undef GATE
#undef UNITS
