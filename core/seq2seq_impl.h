/* seq2seq_impl.h - the encoder-decoder (seq2seq.h), written once over REAL.
 * Included by net_f32.c and net_f64.c right after net_impl.h, whose static
 * functions it uses: the decoder's layers run through the same step_forward
 * / step_backward, gather_prev, packing and weight-gradient GEMMs as every
 * other recurrent layer. */
#include "seq2seq.h"

typedef SFX(s2s_workspace) s2s_ws;

static const REAL *tensor(const model *m, const REAL *P, int i) { return P + m->tensors[i].offset; }

/* A stack as an ordinary model: the full tensor table, the stack's own config and index. */
static void stack_view(model *view, const model *m, const model_config *cfg, const tensor_index *ix) {
    *view = *m;
    view->cfg = *cfg;
    view->ix = *ix;
    view->params = view->grads = NULL;
}

int SFX(s2s_workspace_create)(s2s_ws *s, const model *m, int max_n, int max_Ts, int max_Re, int max_Td, int max_Rd,
                              float dropout, recur_err *err) {
    memset(s, 0, sizeof *s);
    const model_config *cfg = &m->cfg;
    model_config ec, dc;
    model_s2s_stacks(cfg, &ec, &dc);
    s->cfg = *cfg;
    stack_view(&s->enc_m, m, &ec, &m->s2s.enc);
    stack_view(&s->dec_m, m, &dc, &m->s2s.dec);
    s->cond = cfg->condition;
    if ((!s->cond && SFX(net_workspace_create)(&s->enc, &ec, max_n, max_Ts, max_Re, dropout, err)) ||
        SFX(net_workspace_create)(&s->dec, &dc, max_n, max_Td, max_Rd, dropout, err)) {
        SFX(s2s_workspace_free)(s);
        return -1;
    }
    s->dec.table_policy = -1; /* layer 0 reads more than the token: no table */
    const size_t L = cfg->num_layers, H = cfg->hidden_size, D = cfg->bidirectional ? 2 : 1;
    const size_t G = cell_gates(cfg->cell), GH = G * H, N = max_n, Ts = max_Ts, Rd = max_Rd, Re = max_Re;
    s->L = (int)L, s->H = (int)H, s->D = (int)D, s->GH = (int)GH;
    s->De = s->cond ? 0 : model_layer_input(&ec, ec.num_layers); /* no memory without an encoder */
    s->Cw = model_s2s_context_width(cfg);
    s->bridged = model_s2s_bridged(cfg);
    s->in0 = model_layer_input(&dc, 0);
    s->O = dc.output_size;
    s->max_n = max_n, s->max_Ts = max_Ts, s->max_Rd = max_Rd;
    s->use_init = (cfg->context & CONTEXT_INIT) != 0;
    s->use_input = (cfg->context & CONTEXT_INPUT) != 0;
    const size_t De = s->De, Cw = s->Cw, DeH = De + H, lbr = cfg->cell == CELL_LBR_GRU;
    const size_t ML = cfg->end == END_LENGTH ? (size_t)cfg->max_len : 0, E = cfg->embed_size, K = cfg->skip;
    const size_t DT = cfg->transition_depth, TW = DT ? cfg->transition_width : 0;
    const size_t sizes[] = {
        L * N * Cw, L * N * Cw, L * N * H, L * N * H,       /* fin_h, fin_c, h0, c0 */
        N * Ts * De, N * Ts * H, Rd * H, Rd * Ts, Rd * DeH, Rd * H, /* mem keys q alpha cat att */
        L * Rd * GH, lbr ? L * Rd * GH : 0, L * GH,          /* xpl dhpl biasl */
        Rd * s->O, Rd, N * ML,                               /* out stop lenp */
        L * N * H, L * N * H, N * H, Rd * H, N * H, N * H,   /* dh_next dc dfeed dhead dytop dybelow */
        Rd * H, N * DeH, Rd * H, N * Ts * De, N * Ts * H,    /* dpre dcat dq dmem dkeys */
        L * N * Cw, L * N * Cw, L * N * H, L * N * H,        /* dfin_h dfin_c dh0 dc0 */
        Rd * (E + Cw + H), Re * De, L * 4 * N * H,           /* dx0 dtop dfinal */
        K ? L * Rd * H : 0, K * L * N * H,                   /* dskip hist */
        L * 3 * DT * Rd * TW,                                /* dmlp */
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) total += sizes[i];
    s->arena = calloc(total, sizeof(REAL));
    s->slen = calloc(2 * N + Rd, sizeof(int32_t));
    if (!s->arena || !s->slen) {
        SFX(s2s_workspace_free)(s);
        return recur_fail(err, RECUR_EXIT_FAIL, "out of memory: seq2seq activations need %zu MiB",
                          total * sizeof(REAL) >> 20);
    }
    s->eslot = s->slen + N;
    s->fed = s->eslot + N;
    s->arena_len = total;
    REAL *p = s->arena;
    size_t k = 0;
#define TAKE() (p += sizes[k], p - sizes[k++])
    s->fin_h = TAKE(), s->fin_c = TAKE(), s->h0 = TAKE(), s->c0 = TAKE();
    s->mem = TAKE(), s->keys = TAKE(), s->q = TAKE(), s->alpha = TAKE(), s->cat = TAKE(), s->att = TAKE();
    REAL *xpl = TAKE(), *dhpl = TAKE();
    for (size_t l = 0; l < L; l++) {
        s->xpl[l] = xpl + l * Rd * GH;
        s->dhpl[l] = lbr ? dhpl + l * Rd * GH : s->xpl[l];
    }
    s->biasl = TAKE();
    s->out = TAKE(), s->stop = TAKE(), s->lenp = TAKE();
    s->dh_next = TAKE(), s->dc = TAKE(), s->dfeed = TAKE(), s->dhead = TAKE(), s->dytop = TAKE(), s->dybelow = TAKE();
    s->dpre = TAKE(), s->dcat = TAKE(), s->dq = TAKE(), s->dmem = TAKE(), s->dkeys = TAKE();
    s->dfin_h = TAKE(), s->dfin_c = TAKE(), s->dh0 = TAKE(), s->dc0 = TAKE();
    s->dx0 = TAKE(), s->dtop = TAKE(), s->dfinal = TAKE();
    s->dskip = TAKE(), s->hist = TAKE(), s->dmlp = TAKE();
    if (!K) s->dskip = s->hist = NULL;
    if (!DT) s->dmlp = NULL;
#undef TAKE
    return 0;
}

void SFX(s2s_workspace_free)(s2s_ws *s) {
    SFX(net_workspace_free)(&s->enc);
    SFX(net_workspace_free)(&s->dec);
    free(s->arena);
    free(s->slen);
    memset(s, 0, sizeof *s);
}

/* ---- encoder side ---- */

static net_batch encoder_batch(const s2s_batch *b) {
    return (net_batch){.T = b->Ts, .n = b->n, .batch_sizes = b->src_bs, .tokens = b->src_tokens,
                       .dropout_seed = b->dropout_seed};
}

/* A conditional LM's context (a label's embedding or the given features) as
 * the "final states" of every layer, for the bridge and the decoder's input. */
static void read_condition(s2s_ws *s, const model *m, const REAL *P, int n, const int32_t *enc_slot,
                           const int32_t *labels, const float *features) {
    const int L = s->L, Cw = s->Cw, lstm = s->cfg.cell == CELL_LSTM;
    for (int i = 0; i < n; i++) {
        const int es = enc_slot[i];
        s->eslot[i] = es;
        s->slen[i] = 1;
        REAL *v = s->fin_h + (size_t)i * Cw;
        if (s->cond == COND_LABEL)
            memcpy(v, tensor(m, P, m->s2s.ctx_embedding) + (size_t)labels[es] * Cw, (size_t)Cw * sizeof(REAL));
        else
            for (int u = 0; u < Cw; u++) v[u] = (REAL)features[(size_t)es * Cw + u];
        for (int l = 0; l < L; l++)
            for (int c = 0; c < 1 + lstm; c++)
                if (l || c) memcpy((c ? s->fin_c : s->fin_h) + ((size_t)l * n + i) * Cw, v, (size_t)Cw * sizeof(REAL));
    }
}

/* The decoder's initial states from the final states: as they are, or through the bridge. */
static void init_states(s2s_ws *s, const model *m, const REAL *P, int n) {
    const int H = s->H, L = s->L, Cw = s->Cw, lstm = s->cfg.cell == CELL_LSTM;
    const s2s_index *x = &m->s2s;
    if (!s->use_init) return;
    for (int l = 0; l < L; l++)
        for (int c = 0; c < 1 + lstm; c++) {
            const REAL *fin = (c ? s->fin_c : s->fin_h) + (size_t)l * n * Cw;
            REAL *init = (c ? s->c0 : s->h0) + (size_t)l * n * H;
            const int *br = c ? x->bridge_c[l] : x->bridge_h[l];
            if (!s->bridged) {
                memcpy(init, fin, (size_t)n * H * sizeof(REAL));
                continue;
            }
            const REAL *bias = tensor(m, P, br[1]);
            for (int i = 0; i < n; i++) memcpy(init + (size_t)i * H, bias, (size_t)H * sizeof(REAL));
            gemm(0, 1, n, H, Cw, 1, fin, Cw, tensor(m, P, br[0]), Cw, 1, init, H);
        }
}

/* After the encoder's forward: each pair's final states (fin_h/c, by decoder
 * slot), its memory and keys. */
static void read_encoder(s2s_ws *s, const model *m, const REAL *P, int n, const int32_t *enc_slot, int Ts) {
    const workspace *e = &s->enc;
    const int H = s->H, D = s->D, L = s->L, Cw = s->Cw, De = s->De;
    const int lstm = s->cfg.cell == CELL_LSTM;
    for (int i = 0; i < n; i++) {
        const int es = enc_slot[i], len = e->len[es];
        s->eslot[i] = es;
        s->slen[i] = len;
        for (int l = 0; l < L; l++)
            for (int d = 0; d < D; d++) {
                const dir_acts *a = &e->layer[l][d];
                const size_t row = (size_t)(d == 0 ? e->off[len - 1] + es : es) * H;
                const size_t at = ((size_t)l * n + i) * Cw + (size_t)d * H;
                memcpy(s->fin_h + at, a->y + row, (size_t)H * sizeof(REAL));
                if (lstm) memcpy(s->fin_c + at, a->c + row, (size_t)H * sizeof(REAL));
            }
        for (int j = 0; j < len; j++)
            memcpy(s->mem + ((size_t)i * Ts + j) * De, e->top + (size_t)(e->off[j] + es) * De, (size_t)De * sizeof(REAL));
    }
    const s2s_index *x = &m->s2s;
    if (x->att_w >= 0) /* keys = mem W^T (general: W s_j; additive: the key half of W_q h + W s_j) */
        gemm(0, 1, n * Ts, H, De, 1, s->mem, De, tensor(m, P, x->att_w), De, 0, s->keys, H);
}

/* The decoder's context for a batch: the encoder run over the sources (or a
 * conditional LM's context vectors), then the initial states. */
static void encode(s2s_ws *s, const model *m, const REAL *P, const s2s_batch *b, int n_dec, const int32_t *enc_slot) {
    if (s->cond) {
        read_condition(s, m, P, n_dec, enc_slot, b->src_tokens, b->src_features);
    } else {
        const net_batch eb = encoder_batch(b);
        SFX(net_forward)(&s->enc, &s->enc_m, P, &eb);
        read_encoder(s, m, P, n_dec, enc_slot, b->Ts);
    }
    init_states(s, m, P, n_dec);
}

/* ---- attention ---- */

/* Memory row j of decoder slot i, and its key. */
static inline const REAL *mem_row(const s2s_ws *s, const REAL *base, int width, int Ts, int i, int j) {
    return base + ((size_t)i * Ts + j) * width;
}

/* Attention for the M rows of a step starting at row r0 (slots 0..M-1):
 * alpha, cat = [c ; h], att = tanh(W_c cat). */
static void attend(s2s_ws *s, const model *m, const REAL *P, int Ts, size_t r0, int M) {
    const int H = s->H, De = s->De, DeH = De + H;
    const attention_kind kind = s->cfg.attention;
    const REAL *y = layer_out(&s->dec, s->L - 1, 0);
    const REAL *keys = kind == ATTN_DOT ? s->mem : s->keys;
    const REAL *v = kind == ATTN_ADDITIVE ? tensor(m, P, m->s2s.att_v) : NULL;
    if (kind == ATTN_ADDITIVE) { /* q = W_q h + b_q for the step's rows */
        const REAL *qb = tensor(m, P, m->s2s.att_qb);
        for (int i = 0; i < M; i++) memcpy(s->q + (r0 + i) * H, qb, (size_t)H * sizeof(REAL));
        gemm(0, 1, M, H, H, 1, y + r0 * H, H, tensor(m, P, m->s2s.att_q), H, 1, s->q + r0 * H, H);
    }
    for (int i = 0; i < M; i++) {
        const size_t r = r0 + i;
        const REAL *h = y + r * H;
        REAL *al = s->alpha + r * Ts, *cat = s->cat + r * DeH;
        const int len = s->slen[i];
        REAL mx = 0;
        for (int j = 0; j < len; j++) {
            const REAL *kj = mem_row(s, keys, H, Ts, i, j);
            REAL sc = 0;
            if (kind == ATTN_ADDITIVE) {
                const REAL *q = s->q + r * H;
                for (int u = 0; u < H; u++) sc += v[u] * TANH(q[u] + kj[u]);
            } else {
                for (int u = 0; u < H; u++) sc += h[u] * kj[u];
            }
            al[j] = sc;
            mx = j == 0 || sc > mx ? sc : mx;
        }
        REAL sum = 0;
        for (int j = 0; j < len; j++) sum += al[j] = EXP(al[j] - mx);
        for (int j = 0; j < len; j++) al[j] /= sum;
        memset(cat, 0, (size_t)De * sizeof(REAL));
        for (int j = 0; j < len; j++) {
            const REAL *sj = mem_row(s, s->mem, De, Ts, i, j);
            for (int u = 0; u < De; u++) cat[u] += al[j] * sj[u];
        }
        memcpy(cat + De, h, (size_t)H * sizeof(REAL));
    }
    REAL *att = s->att + r0 * H;
    gemm(0, 1, M, H, DeH, 1, s->cat + r0 * DeH, DeH, tensor(m, P, m->s2s.att_combine), DeH, 0, att, H);
    for (size_t u = 0; u < (size_t)M * H; u++) att[u] = TANH(att[u]);
}

/* Backward of attend for one step: datt [M, H] (grad w.r.t. h~) in; adds the
 * grad w.r.t. the top layer's h into dytop [M, H]; accumulates dmem, dkeys,
 * dq (rows), and keeps dpre (rows) for the weight grads after the loop. */
static void attend_backward(s2s_ws *s, const model *m, const REAL *P, REAL *Gr, int Ts, size_t r0, int M,
                            const REAL *datt) {
    const int H = s->H, De = s->De, DeH = De + H;
    const attention_kind kind = s->cfg.attention;
    const REAL *y = layer_out(&s->dec, s->L - 1, 0);
    REAL *dpre = s->dpre + r0 * H;
    const REAL *att = s->att + r0 * H;
    for (size_t u = 0; u < (size_t)M * H; u++) dpre[u] = datt[u] * (1 - att[u] * att[u]);
    gemm(0, 0, M, DeH, H, 1, dpre, H, tensor(m, P, m->s2s.att_combine), DeH, 0, s->dcat, DeH);
    const REAL *keys = kind == ATTN_DOT ? s->mem : s->keys;
    REAL *dkeys = kind == ATTN_DOT ? s->dmem : s->dkeys;
    const REAL *v = kind == ATTN_ADDITIVE ? tensor(m, P, m->s2s.att_v) : NULL;
    REAL *dv = kind == ATTN_ADDITIVE ? Gr + m->tensors[m->s2s.att_v].offset : NULL;
    for (int i = 0; i < M; i++) {
        const size_t r = r0 + i;
        const REAL *h = y + r * H, *al = s->alpha + r * Ts, *dcv = s->dcat + (size_t)i * DeH;
        REAL *dy = s->dytop + (size_t)i * H, *dq = kind == ATTN_ADDITIVE ? s->dq + r * H : NULL;
        const int len = s->slen[i];
        for (int u = 0; u < H; u++) dy[u] += dcv[De + u];
        if (dq) memset(dq, 0, (size_t)H * sizeof(REAL));
        /* dalpha_j = dc . s_j, dmem_j += alpha_j dc; then through the softmax. */
        REAL dal[len > 0 ? len : 1], dot = 0;
        for (int j = 0; j < len; j++) {
            const REAL *sj = mem_row(s, s->mem, De, Ts, i, j);
            REAL *dsj = s->dmem + ((size_t)i * Ts + j) * De;
            REAL g = 0;
            for (int u = 0; u < De; u++) {
                g += dcv[u] * sj[u];
                dsj[u] += al[j] * dcv[u];
            }
            dal[j] = g;
            dot += al[j] * g;
        }
        for (int j = 0; j < len; j++) {
            const REAL ds = al[j] * (dal[j] - dot);
            const REAL *kj = mem_row(s, keys, H, Ts, i, j);
            REAL *dkj = dkeys + ((size_t)i * Ts + j) * H;
            if (kind == ATTN_ADDITIVE) {
                const REAL *q = s->q + r * H;
                for (int u = 0; u < H; u++) {
                    const REAL t = TANH(q[u] + kj[u]), g = ds * v[u] * (1 - t * t);
                    dv[u] += ds * t;
                    dq[u] += g;
                    dkj[u] += g;
                }
            } else {
                for (int u = 0; u < H; u++) {
                    dy[u] += ds * kj[u];
                    dkj[u] += ds * h[u];
                }
            }
        }
    }
    if (kind == ATTN_ADDITIVE) /* dh += dq W_q */
        gemm(0, 0, M, H, H, 1, s->dq + r0 * H, H, tensor(m, P, m->s2s.att_q), H, 1, s->dytop, H);
}

/* ---- the decoder ---- */

static inline uint64_t decoder_seed(uint64_t seed) { return seed ^ 0xD1B54A32D192ED03ull; }

/* The decoder layer l's input (l >= 1) with its rows of one step ready:
 * what the layer below passes up (layer_out: with a residual connection
 * y + its input), dropped out into xin[l] when dropout is on.  Returns the
 * base [rows, H] of the matrix holding them. */
static const REAL *decoder_input(s2s_ws *s, int l, size_t r0, int M) {
    workspace *w = &s->dec;
    const int H = s->H;
    const REAL *y = layer_out(w, l - 1, 0);
    if (!(w->mask[l] && w->dropout > 0)) return y;
    REAL *x = w->xin[l] + r0 * H;
    const REAL *mk = w->mask[l] + r0 * H, *yr = y + r0 * H;
    for (size_t u = 0; u < (size_t)M * H; u++) x[u] = yr[u] * mk[u];
    return w->xin[l];
}

/* The output layer's logits for rows r0 .. r0+M-1 of its input X [rows, H]
 * into s->out: W_o X + b_o, or through the deep output's MLP (its masks
 * drawn for the batch beforehand). */
static void output_logits(s2s_ws *s, const model *m, const REAL *P, const REAL *X, size_t r0, int M) {
    workspace *w = &s->dec;
    const int H = s->H, O = s->O;
    const model *dm = &s->dec_m;
    const mlp_params hm = head_mlp_view(w, dm, P);
    const int K = hm.depth ? hm.width : H;
    const REAL *Z = hm.depth ? mlp_forward(w, &hm, &w->head_mlp, X + r0 * H, H, r0, M) : X + r0 * H;
    const REAL *bo = tensor(m, P, dm->ix.head_bias);
    REAL *out = s->out + r0 * O;
    for (int i = 0; i < M; i++) memcpy(out + (size_t)i * O, bo, (size_t)O * sizeof(REAL));
    gemm(0, 1, M, O, K, 1, Z, K, tensor(m, P, dm->ix.head_weight), K, 1, out, O);
}

/* The output layer for rows r0 .. r0+M-1: its input (h~ or the top h)
 * dropped out, and the softmax of its logits into s->out.  Returns the
 * cross-entropy of those rows (0 without targets) and sets *Xall to the
 * input's base (all rows). */
static double head_rows(s2s_ws *s, const model *m, const REAL *P, const int32_t *targets, size_t r0, int M,
                        const REAL **Xall) {
    workspace *w = &s->dec;
    const int L = s->L, H = s->H, O = s->O;
    const REAL *X = s->cfg.attention ? s->att : layer_out(w, L - 1, 0);
    if (w->mask[L] && w->dropout > 0) {
        const size_t a = r0 * H, count = (size_t)M * H;
        for (size_t u = 0; u < count; u++) w->xin[L][a + u] = X[a + u] * w->mask[L][a + u];
        X = w->xin[L];
    }
    *Xall = X;
    output_logits(s, m, P, X, r0, M);
    return softmax_xent(s->out + r0 * O, targets ? targets + r0 : NULL, M, O);
}

/* Decoder layer l's input projection for rows r0 .. r0+M-1 of its input X
 * [rows, in]: xpl = X W_ih^T, or through the layer's deep transition. */
static void decoder_projection(s2s_ws *s, const layer_params *lp, int l, const REAL *X, int in, size_t r0, int M) {
    workspace *w = &s->dec;
    const int GH = s->GH, K = lp->ih.depth ? lp->ih.width : in;
    const REAL *Z = lp->ih.depth ? mlp_forward(w, &lp->ih, &w->layer[l][0].ih, X + r0 * in, in, r0, M) : X + r0 * in;
    gemm(0, 1, M, GH, K, 1, Z, K, lp->w_ih, K, 0, s->xpl[l] + r0 * GH, GH);
}

/* The decoder's da for the MLP `path` (0 input, 1 h_{t-1}, 2 r*h) of layer l. */
static REAL *decoder_da(const s2s_ws *s, int l, int path) {
    const size_t block = (size_t)s->cfg.transition_depth * s->max_Rd * s->cfg.transition_width;
    return s->dmlp + ((size_t)l * 3 + path) * block;
}

/* Points the engine's da/da2 at layer l's own (step_backward and
 * recurrent_weight_grads read them there). */
static void use_layer_da(s2s_ws *s, int l) {
    s->dec.da = decoder_da(s, l, 1);
    s->dec.da2 = decoder_da(s, l, 2);
}

static inline uint64_t sampling_seed(uint64_t seed) { return seed ^ 0x5DEECE66DA3B9F1Full; }

/* Scheduled sampling at step t > 0: each running row, with probability
 * b->sample_prob, reads a token drawn from its own output distribution at
 * step t-1 instead of the true one; its layer-0 input projection is redone. */
static void sample_inputs(s2s_ws *s, const model *m, const REAL *P, const s2s_batch *b, int t, int feed_at) {
    workspace *w = &s->dec;
    const int M = w->bs[t], O = s->O, E = s->cfg.embed_size, in0 = s->in0, GH = s->GH;
    const size_t r0 = (size_t)w->off[t], prev = (size_t)w->off[t - 1];
    const REAL *emb = tensor(m, P, s->dec_m.ix.embedding);
    rng_state r;
    rng_seed(&r, sampling_seed(b->dropout_seed) ^ ((uint64_t)t * 0x9E3779B97F4A7C15ull));
    for (int i = 0; i < M; i++) {
        const double u = rng_uniform(&r), v = rng_uniform(&r);
        if (u >= b->sample_prob) continue;
        const REAL *p = s->out + (prev + i) * O;
        int tok = O - 1;
        double cdf = 0;
        for (int k = 0; k < O; k++)
            if ((cdf += (double)p[k]) > v) {
                tok = k;
                break;
            }
        s->fed[r0 + i] = tok; /* EOS, if drawn, is the BOS row of the embedding: the same id */
        memcpy(w->x0 + (r0 + i) * in0, emb + (size_t)tok * E, (size_t)E * sizeof(REAL));
    }
    if (s->cfg.transition_depth) return; /* the step projects its whole row (decoder_projection) */
    gemm(0, 1, M, GH, feed_at, 1, w->x0 + r0 * in0, in0, layer_view(&s->dec_m, P, 0, 0).w_ih, in0, 0,
         s->xpl[0] + r0 * GH, GH);
}

void SFX(s2s_forward)(s2s_ws *s, const model *m, const REAL *P, const s2s_batch *b, s2s_loss *loss) {
    *loss = (s2s_loss){0, 0, 0};
    encode(s, m, P, b, b->n, b->enc_slot);

    workspace *w = &s->dec;
    const net_batch db = {.T = b->Td, .n = b->n, .batch_sizes = b->dec_bs};
    set_batch(w, &db);
    const int n = b->n, H = s->H, GH = s->GH, L = s->L, Cw = s->Cw, in0 = s->in0, R = w->rows;
    const int E = s->cfg.embed_size, feed_at = E + (s->use_input ? Cw : 0);
    const model *dm = &s->dec_m;
    /* Layer 0's rows: the embedded input token and the context; h~_{t-1} is filled per step. */
    const REAL *emb = tensor(m, P, dm->ix.embedding);
    const REAL *ctx = s->fin_h + (size_t)(L - 1) * n * Cw;
    for (int t = 0; t < b->Td; t++)
        for (int i = 0; i < w->bs[t]; i++) {
            const size_t r = (size_t)w->off[t] + i;
            REAL *x = w->x0 + r * in0;
            memcpy(x, emb + (size_t)b->dec_in[r] * E, (size_t)E * sizeof(REAL));
            if (s->use_input) memcpy(x + E, ctx + (size_t)i * Cw, (size_t)Cw * sizeof(REAL));
        }
    /* Layer 0's projection of what is known before the loop (a deep
     * transition needs whole rows: then decoder_projection per step). */
    const layer_params lp0 = layer_view(dm, P, 0, 0);
    const int dt = s->cfg.transition_depth > 0;
    if (!dt) gemm(0, 1, R, GH, feed_at, 1, w->x0, in0, lp0.w_ih, in0, 0, s->xpl[0], GH);
    s->sampled = b->sample_prob > 0 && b->dec_out;
    if (s->sampled) memcpy(s->fed, b->dec_in, (size_t)R * sizeof(int32_t));
    const REAL *X = NULL;
    if (w->dropout > 0)
        for (int l = 1; l <= L; l++) draw_mask(w, l, decoder_seed(b->dropout_seed), (size_t)R * H);
    w->dropout_seed = decoder_seed(b->dropout_seed); /* the deep transitions' masks */
    if (dt) {
        const mlp_params hm = head_mlp_view(w, dm, P);
        mlp_masks(w, &hm, &w->head_mlp, PATH_HEAD, L, 0, R);
    }
#ifdef USE_RGEMM
    w->use_packed = b->Td >= 8 && R >= 64 && !w->no_packing && !dt;
#endif
    for (int l = 0; l < L; l++) {
        const layer_params lp = layer_view(dm, P, l, 0);
        dir_acts *a = &w->layer[l][0];
        mlp_masks(w, &lp.ih, &a->ih, PATH_IH, l, 0, R);
        mlp_masks(w, &lp.hh, &a->hh, PATH_HH, l, 0, R);
        if (s->cfg.cell == CELL_GRU) mlp_masks(w, &lp.hh, &a->rh, PATH_RH, l, 0, R);
        layer_bias(w, &lp, s->biasl + (size_t)l * GH);
#ifdef USE_RGEMM
        if (w->use_packed) pack_layer(w, l, 0, lp.w_hh, 0);
#endif
    }
    const size_t nH = (size_t)n * H;
    for (int t = 0; t < b->Td; t++) {
        const int M = w->bs[t];
        const size_t r0 = (size_t)w->off[t];
        if (s->sampled && t > 0) sample_inputs(s, m, P, b, t, feed_at);
        if (s->cfg.attention) { /* input feeding: h~_{t-1} */
            for (int i = 0; i < M; i++) {
                REAL *x = w->x0 + (r0 + i) * in0 + feed_at;
                if (t == 0) memset(x, 0, (size_t)H * sizeof(REAL));
                else memcpy(x, s->att + ((size_t)w->off[t - 1] + i) * H, (size_t)H * sizeof(REAL));
            }
            if (t > 0 && !dt)
                gemm(0, 1, M, GH, H, 1, w->x0 + r0 * in0 + feed_at, in0, lp0.w_ih + feed_at, in0, 1,
                     s->xpl[0] + r0 * GH, GH);
        }
        for (int l = 0; l < L; l++) {
            const layer_params lp = layer_view(dm, P, l, 0);
            const REAL *Xl = l > 0 ? decoder_input(s, l, r0, M) : NULL;
            if (l > 0) decoder_projection(s, &lp, l, Xl, H, r0, M);
            else if (dt) decoder_projection(s, &lp, 0, w->x0, in0, r0, M);
            dir_acts *a = &w->layer[l][0];
            if (lp.w_skip) skip_forward(w, &lp, a, 0, t, s->xpl[l] + r0 * GH);
            gather_prev(w, a, 0, t, s->use_init ? s->h0 + l * nH : NULL, s->use_init ? s->c0 + l * nH : NULL);
            step_forward(w, w->pack_fwd[l][0], &lp, s->biasl + (size_t)l * GH, a, s->xpl[l] + r0 * GH, r0, M);
            if (a->res) residual_forward(w, l, Xl, r0, M);
        }
        if (s->cfg.attention) attend(s, m, P, b->Ts, r0, M);
        if (s->sampled) loss->tokens += head_rows(s, m, P, b->dec_out, r0, M, &X); /* step t+1 samples from it */
    }
    /* Outputs of every row at once (scheduled sampling: done step by step above). */
    if (!s->sampled) loss->tokens = head_rows(s, m, P, b->dec_out, 0, R, &X);
    const s2s_index *x = &m->s2s;
    if (x->stop_w >= 0) {
        const REAL *ws = tensor(m, P, x->stop_w), bs = *tensor(m, P, x->stop_b);
        for (int t = 0; t < b->Td; t++)
            for (int i = 0; i < w->bs[t]; i++) {
                const size_t r = (size_t)w->off[t] + i;
                REAL z = bs;
                for (int u = 0; u < H; u++) z += ws[u] * X[r * H + u];
                s->stop[r] = sigm(z);
                if (b->dec_out) {
                    const int last = t == w->len[i] - 1;
                    const double pz = (double)s->stop[r];
                    loss->stop -= log(last ? (pz > 1e-300 ? pz : 1e-300) : (1 - pz > 1e-300 ? 1 - pz : 1e-300));
                }
            }
    }
    if (x->len_w >= 0) {
        const int ML = s->cfg.max_len;
        const REAL *blen = tensor(m, P, x->len_b);
        for (int i = 0; i < n; i++) memcpy(s->lenp + (size_t)i * ML, blen, (size_t)ML * sizeof(REAL));
        gemm(0, 1, n, ML, Cw, 1, ctx, Cw, tensor(m, P, x->len_w), Cw, 1, s->lenp, ML);
        int32_t target[n > 0 ? n : 1];
        for (int i = 0; i < n; i++) target[i] = (w->len[i] < ML ? w->len[i] : ML) - 1;
        loss->length = softmax_xent(s->lenp, b->dec_out ? target : NULL, n, ML);
    }
}

void SFX(s2s_backward)(s2s_ws *s, const model *m, const REAL *P, REAL *Gr, const s2s_batch *b, REAL scale) {
    workspace *w = &s->dec;
    const model *dm = &s->dec_m;
    const s2s_index *x = &m->s2s;
    const int n = b->n, H = s->H, GH = s->GH, L = s->L, Cw = s->Cw, De = s->De, in0 = s->in0, O = s->O, R = w->rows;
    const int E = s->cfg.embed_size, feed_at = E + (s->use_input ? Cw : 0), Ts = b->Ts;
    const int lstm = s->cfg.cell == CELL_LSTM, dt = s->cfg.transition_depth > 0;
    const size_t nH = (size_t)n * H;
    memset(s->dfin_h, 0, (size_t)L * n * Cw * sizeof(REAL));
    memset(s->dfin_c, 0, (size_t)L * n * Cw * sizeof(REAL));
    REAL *dctx = s->dfin_h + (size_t)(L - 1) * n * Cw;

    /* Output layer (and the ending heads): dlogits, then the grad w.r.t. its input, dhead. */
    const REAL *X = w->mask[L] && w->dropout > 0 ? w->xin[L] : s->cfg.attention ? s->att : layer_out(w, L - 1, 0);
    for (int t = 0; t < b->Td; t++)
        for (int i = 0; i < w->bs[t]; i++) {
            REAL *z = s->out + ((size_t)w->off[t] + i) * O;
            z[b->dec_out[w->off[t] + i]] -= 1;
            for (int v = 0; v < O; v++) z[v] *= scale;
        }
    const mlp_params hm = head_mlp_view(w, dm, P), hg = head_mlp_view(w, dm, Gr);
    REAL *const da_engine = w->da, *const da2_engine = w->da2; /* restored at the end (use_layer_da) */
    const int Kh = hm.depth ? hm.width : H;
    gemm(1, 0, O, Kh, R, 1, s->out, O, hm.depth ? mlp_out(&hm, &w->head_mlp) : X, Kh, 1,
         Gr + m->tensors[dm->ix.head_weight].offset, Kh);
    add_colsum(Gr + m->tensors[dm->ix.head_bias].offset, s->out, R, O);
    if (hm.depth) { /* the grad w.r.t. its MLP's output, then through it (and its weight grads) */
        gemm(0, 0, R, Kh, O, 1, s->out, O, tensor(m, P, dm->ix.head_weight), Kh, 0,
             w->da + (size_t)(hm.depth - 1) * w->head_mlp.stride, Kh);
        mlp_path_backward(w, &hm, &hg, &w->head_mlp, X, H, s->dhead, 0, R);
    } else {
        gemm(0, 0, R, H, O, 1, s->out, O, tensor(m, P, dm->ix.head_weight), H, 0, s->dhead, H);
    }
    if (x->stop_w >= 0) {
        const REAL *ws = tensor(m, P, x->stop_w);
        REAL *dws = Gr + m->tensors[x->stop_w].offset, *dbs = Gr + m->tensors[x->stop_b].offset;
        for (int t = 0; t < b->Td; t++)
            for (int i = 0; i < w->bs[t]; i++) {
                const size_t r = (size_t)w->off[t] + i;
                const REAL dz = scale * (s->stop[r] - (t == w->len[i] - 1 ? 1 : 0));
                *dbs += dz;
                for (int u = 0; u < H; u++) {
                    dws[u] += dz * X[r * H + u];
                    s->dhead[r * H + u] += dz * ws[u];
                }
            }
    }
    if (x->len_w >= 0) {
        const int ML = s->cfg.max_len;
        for (int i = 0; i < n; i++) {
            REAL *z = s->lenp + (size_t)i * ML;
            z[(w->len[i] < ML ? w->len[i] : ML) - 1] -= 1;
            for (int v = 0; v < ML; v++) z[v] *= scale;
        }
        const REAL *ctx = s->fin_h + (size_t)(L - 1) * n * Cw;
        gemm(1, 0, ML, Cw, n, 1, s->lenp, ML, ctx, Cw, 1, Gr + m->tensors[x->len_w].offset, Cw);
        add_colsum(Gr + m->tensors[x->len_b].offset, s->lenp, n, ML);
        gemm(0, 0, n, Cw, ML, 1, s->lenp, ML, tensor(m, P, x->len_w), Cw, 1, dctx, Cw);
    }
    if (w->mask[L] && w->dropout > 0)
        for (size_t u = 0; u < (size_t)R * H; u++) s->dhead[u] *= w->mask[L][u];

    /* The steps in reverse: attention, then the layers from the top. */
    if (s->cfg.attention) {
        memset(s->dmem, 0, (size_t)n * Ts * De * sizeof(REAL));
        memset(s->dkeys, 0, (size_t)n * Ts * H * sizeof(REAL));
    }
#ifdef USE_RGEMM
    for (int l = 0; l < L; l++)
        if (w->use_packed) pack_layer(w, l, 0, layer_view(dm, P, l, 0).w_hh, 1);
#endif
    const layer_params lp0 = layer_view(dm, P, 0, 0);
    if (s->dskip) memset(s->dskip, 0, (size_t)L * R * H * sizeof(REAL));
    int M_prev = 0;
    for (int t = b->Td - 1; t >= 0; t--) {
        const int M = w->bs[t];
        const size_t r0 = (size_t)w->off[t];
        if (M > M_prev) { /* sequences whose last step this is: nothing from later steps */
            const size_t at = (size_t)M_prev * H, count = (size_t)(M - M_prev) * H * sizeof(REAL);
            for (int l = 0; l < L; l++) {
                memset(s->dh_next + l * nH + at, 0, count);
                memset(s->dc + l * nH + at, 0, count);
            }
            memset(s->dfeed + at, 0, count);
        }
        M_prev = M;
        if (s->cfg.attention) {
            REAL *datt = s->dybelow; /* scratch: dhead rows + the feed grad from step t+1 */
            for (size_t u = 0; u < (size_t)M * H; u++) datt[u] = s->dhead[r0 * H + u] + s->dfeed[u];
            memset(s->dytop, 0, (size_t)M * H * sizeof(REAL));
            attend_backward(s, m, P, Gr, Ts, r0, M, datt);
        } else {
            memcpy(s->dytop, s->dhead + r0 * H, (size_t)M * H * sizeof(REAL));
        }
        const REAL *dy = s->dytop;
        for (int l = L - 1; l >= 0; l--) {
            const layer_params lp = layer_view(dm, P, l, 0);
            const dir_acts *a = &w->layer[l][0];
            REAL *dhn = s->dh_next + l * nH, *dcl = s->dc + l * nH;
            REAL *dskip = lp.w_skip ? s->dskip + (size_t)l * R * H : NULL;
            for (size_t u = 0; u < (size_t)M * H; u++) w->dh[u] = dy[u] + dhn[u] + (dskip ? dskip[r0 * H + u] : 0);
            REAL *dxt = s->xpl[l] + r0 * GH;
            if (dt) use_layer_da(s, l);
            step_backward(w, w->pack_bwd[l][0], &lp, a, r0, M, w->dh, dcl, dxt, s->dhpl[l] + r0 * GH, dhn, w->drh,
                          t > 0 || s->use_init);
            if (dskip) skip_backward(w, &lp, 0, t, dxt, dskip);
            if (dt) { /* through the input's MLP: the grad w.r.t. the layer's input rows */
                const int K = lp.ih.width;
                REAL *da = decoder_da(s, l, 0);
                gemm(0, 0, M, K, GH, 1, dxt, GH, lp.w_ih, K, 0, da + (size_t)(lp.ih.depth - 1) * a->ih.stride + r0 * K, K);
                if (l > 0) mlp_backward(w, &lp.ih, &a->ih, da, s->dybelow, H, 0, r0, M);
                else mlp_backward(w, &lp.ih, &a->ih, da, s->dx0 + r0 * in0, in0, 0, r0, M);
            }
            if (l > 0) { /* grad w.r.t. this layer's input = the layer below's output (through its mask) */
                REAL *dyb = s->dybelow;
                if (!dt) gemm(0, 0, M, H, GH, 1, dxt, GH, lp.w_ih, H, 0, dyb, H);
                if (a->res) /* the residual passed the input up unchanged: its grad too (residual_backward) */
                    for (size_t u = 0; u < (size_t)M * H; u++) dyb[u] += dy[u];
                if (w->mask[l] && w->dropout > 0) {
                    const REAL *mk = w->mask[l] + r0 * H;
                    for (size_t u = 0; u < (size_t)M * H; u++) dyb[u] *= mk[u];
                }
                memcpy(s->dytop, dyb, (size_t)M * H * sizeof(REAL));
                dy = s->dytop;
            } else if (s->cfg.attention && dt) { /* the grad w.r.t. h~_{t-1}, fed to step t-1's attention */
                for (int i = 0; i < M; i++)
                    memcpy(s->dfeed + (size_t)i * H, s->dx0 + (r0 + i) * in0 + feed_at, (size_t)H * sizeof(REAL));
            } else if (s->cfg.attention) {
                gemm(0, 0, M, H, GH, 1, dxt, GH, lp0.w_ih + feed_at, in0, 0, s->dfeed, H);
            }
        }
    }
    /* Weight grads of every layer over the whole batch. */
    for (int l = 0; l < L; l++) {
        const layer_params lg = layer_view(dm, Gr, l, 0);
        const int in = l == 0 ? in0 : H;
        const REAL *Xl = l == 0 ? w->x0 : w->mask[l] && w->dropout > 0 ? w->xin[l] : layer_out(w, l - 1, 0);
        const dir_acts *a = &w->layer[l][0];
        const int K = dt ? lg.ih.width : in; /* what W_ih read: Xl or its deep transition */
        gemm(1, 0, GH, K, R, 1, s->xpl[l], GH, dt ? mlp_out(&lg.ih, &a->ih) : Xl, K, 1, mut(lg.w_ih), K);
        add_colsum(mut(lg.b_ih), s->xpl[l], R, GH);
        if (dt) {
            mlp_weight_grads(&lg.ih, &a->ih, decoder_da(s, l, 0), Xl, in, R);
            use_layer_da(s, l);
        }
        recurrent_weight_grads(w, &lg, a, s->dhpl[l], R);
        if (lg.w_skip) skip_weight_grads(w, &lg, a, s->xpl[l], R);
    }
    w->da = da_engine, w->da2 = da2_engine;
    /* Layer 0's inputs: the embedding rows and the context (a deep
     * transition's grads w.r.t. them are in dx0 already, whole rows). */
    const int ldx0 = dt ? in0 : feed_at;
    if (!dt) gemm(0, 0, R, feed_at, GH, 1, s->xpl[0], GH, lp0.w_ih, in0, 0, s->dx0, feed_at);
    REAL *dE = Gr + m->tensors[dm->ix.embedding].offset;
    for (int t = 0; t < b->Td; t++)
        for (int i = 0; i < w->bs[t]; i++) {
            const size_t r = (size_t)w->off[t] + i;
            const REAL *g = s->dx0 + r * ldx0;
            REAL *row = dE + (size_t)(s->sampled ? s->fed : b->dec_in)[r] * E;
            for (int u = 0; u < E; u++) row[u] += g[u];
            if (s->use_input)
                for (int u = 0; u < Cw; u++) dctx[(size_t)i * Cw + u] += g[E + u];
        }
    /* Attention weights. */
    if (s->cfg.attention) {
        const int DeH = De + H;
        gemm(1, 0, H, DeH, R, 1, s->dpre, H, s->cat, DeH, 1, Gr + m->tensors[x->att_combine].offset, DeH);
        if (x->att_q >= 0) {
            gemm(1, 0, H, H, R, 1, s->dq, H, layer_out(w, L - 1, 0), H, 1, Gr + m->tensors[x->att_q].offset, H);
            add_colsum(Gr + m->tensors[x->att_qb].offset, s->dq, R, H);
        }
        if (x->att_w >= 0) { /* keys = mem W^T */
            gemm(1, 0, H, De, n * Ts, 1, s->dkeys, H, s->mem, De, 1, Gr + m->tensors[x->att_w].offset, De);
            gemm(0, 0, n * Ts, De, H, 1, s->dkeys, H, tensor(m, P, x->att_w), De, 1, s->dmem, De);
        }
    }
    /* The initial states, through the bridge, into the encoder's final states. */
    if (s->use_init) {
        memcpy(s->dh0, s->dh_next, (size_t)L * nH * sizeof(REAL));
        memcpy(s->dc0, s->dc, (size_t)L * nH * sizeof(REAL));
        for (int l = 0; l < L; l++)
            for (int c = 0; c < 1 + lstm; c++) {
                const REAL *d0 = (c ? s->dc0 : s->dh0) + l * nH, *fin = (c ? s->fin_c : s->fin_h) + (size_t)l * n * Cw;
                REAL *dfin = (c ? s->dfin_c : s->dfin_h) + (size_t)l * n * Cw;
                const int *br = c ? x->bridge_c[l] : x->bridge_h[l];
                if (!s->bridged) {
                    for (size_t u = 0; u < nH; u++) dfin[u] += d0[u];
                    continue;
                }
                gemm(1, 0, H, Cw, n, 1, d0, H, fin, Cw, 1, Gr + m->tensors[br[0]].offset, Cw);
                add_colsum(Gr + m->tensors[br[1]].offset, d0, n, H);
                gemm(0, 0, n, Cw, H, 1, d0, H, tensor(m, P, br[0]), Cw, 1, dfin, Cw);
            }
    }
    if (s->cond) { /* every layer's "final state" was the context vector: its grads meet there */
        if (s->cond != COND_LABEL) return;
        REAL *dC = Gr + m->tensors[x->ctx_embedding].offset;
        for (int i = 0; i < n; i++) {
            REAL *row = dC + (size_t)b->src_tokens[b->enc_slot[i]] * Cw;
            for (int l = 0; l < L; l++)
                for (int c = 0; c < 1 + lstm; c++) {
                    const REAL *g = (c ? s->dfin_c : s->dfin_h) + ((size_t)l * n + i) * Cw;
                    for (int u = 0; u < Cw; u++) row[u] += g[u];
                }
        }
        return;
    }
    /* The encoder: grads w.r.t. its top outputs (the memory) and final states, by encoder slot. */
    workspace *e = &s->enc;
    memset(s->dtop, 0, (size_t)e->rows * De * sizeof(REAL));
    if (s->cfg.attention)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < s->slen[i]; j++)
                memcpy(s->dtop + (size_t)(e->off[j] + s->eslot[i]) * De, s->dmem + ((size_t)i * Ts + j) * De,
                       (size_t)De * sizeof(REAL));
    for (int l = 0; l < L; l++)
        for (int d = 0; d < s->D; d++)
            for (int c = 0; c < 2; c++) {
                REAL *dst = s->dfinal + ((size_t)((l * 2 + d) * 2 + c)) * nH;
                const REAL *src = (c ? s->dfin_c : s->dfin_h) + (size_t)l * n * Cw + (size_t)d * H;
                for (int i = 0; i < n; i++)
                    memcpy(dst + (size_t)s->eslot[i] * H, src + (size_t)i * Cw, (size_t)H * sizeof(REAL));
                if (c) e->dfinal_c[l][d] = lstm ? dst : NULL;
                else e->dfinal_h[l][d] = dst;
            }
    e->dtop = s->dtop;
    const net_batch eb = encoder_batch(b);
    SFX(net_backward)(e, &s->enc_m, P, Gr, &eb, scale);
}

/* ---- generation: the encoder once, then the decoder one step at a time ----
 *
 * Each step is a one-step batch of all n decoder slots whose initial states
 * are the slots' current states (h0, c0), run through the same layer step
 * and attention as training; its outputs become the next step's states. */

void SFX(s2s_gen_begin)(s2s_ws *s, const model *m, const REAL *P, const s2s_batch *src, int n_dec,
                        const int32_t *enc_slot) {
    const size_t states = (size_t)s->L * n_dec * s->H;
    if (!s->use_init) { /* init_states leaves them alone: zeros */
        memset(s->h0, 0, states * sizeof(REAL));
        memset(s->c0, 0, states * sizeof(REAL));
    }
    encode(s, m, P, src, n_dec, enc_slot);
    s->gen_n = n_dec;
    s->gen_Ts = src->Ts;
    s->gen_t = 0;
}

const REAL *SFX(s2s_gen_step)(s2s_ws *s, const model *m, const REAL *P, const int32_t *tokens) {
    workspace *w = &s->dec;
    const int n = s->gen_n, H = s->H, GH = s->GH, L = s->L, Cw = s->Cw, in0 = s->in0, O = s->O;
    const int E = s->cfg.embed_size, feed_at = E + (s->use_input ? Cw : 0);
    const model *dm = &s->dec_m;
    const int32_t one_step = n;
    const net_batch db = {.T = 1, .n = n, .batch_sizes = &one_step};
    set_batch(w, &db);
    const REAL *emb = tensor(m, P, dm->ix.embedding), *ctx = s->fin_h + (size_t)(L - 1) * n * Cw;
    for (int i = 0; i < n; i++) {
        REAL *x = w->x0 + (size_t)i * in0;
        memcpy(x, emb + (size_t)tokens[i] * E, (size_t)E * sizeof(REAL));
        if (s->use_input) memcpy(x + E, ctx + (size_t)i * Cw, (size_t)Cw * sizeof(REAL));
        if (s->cfg.attention) {
            if (s->gen_t == 0) memset(x + feed_at, 0, (size_t)H * sizeof(REAL));
            else memcpy(x + feed_at, s->att + (size_t)i * H, (size_t)H * sizeof(REAL));
        }
    }
#ifdef USE_RGEMM
    w->use_packed = 0;
#endif
    const size_t nH = (size_t)n * H;
    const int K = s->cfg.skip;
    for (int l = 0; l < L; l++) {
        const layer_params lp = layer_view(dm, P, l, 0);
        const int in = l == 0 ? in0 : H;
        const REAL *X = l == 0 ? w->x0 : layer_out(w, l - 1, 0);
        decoder_projection(s, &lp, l, X, in, 0, n);
        /* The states K steps back, as training's skip_forward reads them (none before step K). */
        if (K && s->gen_t >= K) skip_add(w, &lp, n, s->hist + ((size_t)l * K + s->gen_t % K) * nH, s->xpl[l]);
        layer_bias(w, &lp, s->biasl + (size_t)l * GH);
        dir_acts *a = &w->layer[l][0];
        gather_prev(w, a, 0, 0, s->h0 + l * nH, s->c0 + l * nH);
        step_forward(w, w->pack_fwd[l][0], &lp, s->biasl + (size_t)l * GH, a, s->xpl[l], 0, n);
        if (a->res) residual_forward(w, l, X, 0, n);
    }
    if (s->cfg.attention) attend(s, m, P, s->gen_Ts, 0, n);
    for (int l = 0; l < L; l++) { /* the new states (and into the ring, over the one just read) */
        const dir_acts *a = &w->layer[l][0];
        memcpy(s->h0 + l * nH, a->y, nH * sizeof(REAL));
        if (a->c) memcpy(s->c0 + l * nH, a->c, nH * sizeof(REAL));
        if (K) memcpy(s->hist + ((size_t)l * K + s->gen_t % K) * nH, a->y, nH * sizeof(REAL));
    }
    const REAL *X = s->cfg.attention ? s->att : layer_out(w, L - 1, 0);
    output_logits(s, m, P, X, 0, n);
    softmax_xent(s->out, NULL, n, O);
    if (m->s2s.stop_w >= 0) {
        const REAL *ws = tensor(m, P, m->s2s.stop_w), bs = *tensor(m, P, m->s2s.stop_b);
        for (int i = 0; i < n; i++) {
            REAL z = bs;
            for (int u = 0; u < H; u++) z += ws[u] * X[(size_t)i * H + u];
            s->stop[i] = sigm(z);
        }
    }
    s->gen_t++;
    return s->out;
}

void SFX(s2s_gen_reorder)(s2s_ws *s, const int32_t *from) {
    const int n = s->gen_n, H = s->H;
    REAL *tmp = s->dhead; /* scratch of [Rd, H] >= [n, H] */
    REAL *bufs[4] = {s->h0, s->c0, s->att, s->hist};
    const int blocks[4] = {s->L, s->L, 1, s->hist ? s->L * s->cfg.skip : 0}; /* [n, H] blocks of each */
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < blocks[k]; l++) {
            REAL *x = bufs[k] + (size_t)l * n * H;
            for (int i = 0; i < n; i++) memcpy(tmp + (size_t)i * H, x + (size_t)from[i] * H, (size_t)H * sizeof(REAL));
            memcpy(x, tmp, (size_t)n * H * sizeof(REAL));
        }
}

const REAL *SFX(s2s_gen_lengths)(s2s_ws *s, const model *m, const REAL *P) {
    const int n = s->gen_n, ML = s->cfg.max_len, Cw = s->Cw;
    const REAL *blen = tensor(m, P, m->s2s.len_b), *ctx = s->fin_h + (size_t)(s->L - 1) * n * Cw;
    for (int i = 0; i < n; i++) memcpy(s->lenp + (size_t)i * ML, blen, (size_t)ML * sizeof(REAL));
    gemm(0, 1, n, ML, Cw, 1, ctx, Cw, tensor(m, P, m->s2s.len_w), Cw, 1, s->lenp, ML);
    softmax_xent(s->lenp, NULL, n, ML);
    return s->lenp;
}
