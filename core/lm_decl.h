/* lm_decl.h - declarations of the engine for one scalar type.  Included by
 * lm.h with LM_REAL (float or double) and LM_SFX (name suffixer) defined;
 * do not include directly. */

typedef struct {
    LM_REAL *h;    /* [(T+1)*B, H]  row block 0 = carried-in state, t+1 = output of step t */
    LM_REAL *c;    /* [(T+1)*B, H]  LSTM cell state, same rows; NULL otherwise */
    LM_REAL *gates;/* [T*B, G*H]    post-activation gate values (rnn: h itself) */
    LM_REAL *aux;  /* [T*B, H]      lstm: tanh(c); lbr_gru: W_hn h + b_hn; gru: r*h */
} LM_SFX(lm_layer_acts);

typedef struct {
    model_config cfg;
    int B, T;                  /* streams and maximum window */
    LM_REAL *arena;            /* every buffer below is a view into this */
    size_t arena_len;
    LM_REAL *x0;               /* [T*B, E]   embedded inputs (row-gather path) */
    LM_REAL *table;            /* [V, G*H]   layer 0's projection of every token, emb W_ih0^T + b_ih0;
                                *            reused in backward for the per-token sums of dxp.  NULL when V > T*B */
    int table_policy;          /* 0: use the table when it is cheaper (2V <= T*B); 1: whenever allocated; -1: never */
    int used_table;            /* what the last forward did */
    LM_SFX(lm_layer_acts) layer[RECUR_MAX_LAYERS];
    LM_REAL *probs;            /* [T*B, V]   softmax of the logits (then dlogits) */
    LM_REAL *xp;               /* [T*B, G*H] input projections of one layer; reused as its dxp */
    LM_REAL *dhp;              /* [T*B, G*H] grad of recurrent pre-activations (lbr_gru only; aliases xp otherwise) */
    LM_REAL *hp;               /* [B, G*H]   recurrent projection of one step */
    LM_REAL *bias;             /* [G*H]      b_ih + b_hh of the current layer (see cells_impl.h) */
    LM_REAL *dy;               /* [T*B, H]   grad w.r.t. the current layer's outputs */
    LM_REAL *dx;               /* [T*B, max(E,H)] grad w.r.t. the current layer's inputs */
    LM_REAL *dh, *dh_next;     /* [B, H]     grad w.r.t. h_t, and w.r.t. h_{t-1} being built */
    LM_REAL *dc;               /* [B, H]     LSTM cell-state grad carried backwards */
    LM_REAL *drh;              /* [B, H]     textbook GRU: grad w.r.t. r*h */
    LM_REAL *state_h;          /* [L, B, H]  state carried from window to window */
    LM_REAL *state_c;          /* [L, B, H]  LSTM only, else NULL */
    int last_T;                /* window length of the last forward */
    /* Called by backward as soon as the gradients of tensors [first, last]
     * (indices into model.tensors) are final: head, then each layer from the
     * top, then layer 0 with the embedding.  Lets a data-parallel caller start
     * reducing them while backward goes on.  NULL: not called. */
    void (*grads_ready)(void *ctx, int first, int last);
    void *grads_ready_ctx;
    /* Float engine only: W_hh packed once per window for the per-step GEMMs
     * (rgemm.h).  [l][0] = whole W_hh (textbook GRU: r,z rows), [l][1] = n rows. */
    float *pack_buf;
    rg_packed pack_fwd[RECUR_MAX_LAYERS][2], pack_bwd[RECUR_MAX_LAYERS][2];
    int use_packed;            /* this window packs (T*B large enough to amortise it) */
    int no_packing;            /* force cblas for every recurrent product (tests, A/B benchmarks) */
} LM_SFX(lm_workspace);

/* Allocates every activation buffer for B streams and windows up to T steps
 * (all allocation happens here, none inside the step loop).  States start at 0. */
int LM_SFX(lm_workspace_create)(LM_SFX(lm_workspace) *w, const model_config *cfg, int B, int T, recur_err *err);
void LM_SFX(lm_workspace_free)(LM_SFX(lm_workspace) *w);
/* Zeroes the carried states (start of an epoch). */
void LM_SFX(lm_reset_state)(LM_SFX(lm_workspace) *w);

/* Forward over a window of T <= w->T steps from the carried state, which it
 * then advances to the window's last state.  `params` is an arena laid out as
 * m->tensors.  Returns the SUM of the B*T cross-entropies (nats, in double);
 * targets may be NULL (no loss, e.g. sampling: then probs hold the softmax). */
double LM_SFX(lm_forward)(LM_SFX(lm_workspace) *w, const model *m, const LM_REAL *params,
                          const int32_t *inputs, const int32_t *targets, int T);

/* Backward of the last forward: ADDS d(scale * sum loss)/d(params) into the
 * `grads` arena (same layout; the caller zeroes it).  scale is 1/(number of
 * predictions) for a mean. */
void LM_SFX(lm_backward)(LM_SFX(lm_workspace) *w, const model *m, const LM_REAL *params, LM_REAL *grads,
                         const int32_t *inputs, const int32_t *targets, LM_REAL scale);
