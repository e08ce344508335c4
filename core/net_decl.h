/* net_decl.h - declarations of the engine for one scalar type.  Included by
 * net.h with NET_REAL (float or double) and NET_SFX (name suffixer) defined;
 * do not include directly. */

/* A deep transition's MLP over the rows of a batch: the output of its layer
 * k (after tanh and dropout) is z + k*stride [rows, W]; mask the same (NULL
 * without dropout).  Unused (NULL) without a deep transition. */
typedef struct {
    NET_REAL *z, *mask;
    size_t stride;
} NET_SFX(net_mlp_acts);

/* One direction of one layer.  Rows are the batch's packed rows (net.h). */
typedef struct {
    NET_REAL *hbuf;  /* [n + rows, H] block 0 = initial state, then the outputs: y = hbuf + n*H */
    NET_REAL *y;     /* [rows, H]     output of every row */
    NET_REAL *hprev; /* [rows, H]     the state each row started from (aliases hbuf when rows of
                      *               step t follow those of step t-1 one to one: forward, uniform) */
    NET_REAL *cbuf, *c, *cprev; /* LSTM cell states, laid out as hbuf, y, hprev; NULL otherwise */
    NET_REAL *hprev_buf, *cprev_buf; /* [rows, H] where hprev/cprev live when they do not alias */
    NET_REAL *gates; /* [rows, G*H]   post-activation gate values (rnn: h itself) */
    NET_REAL *aux;   /* [rows, H]     lstm: tanh(c); lbr_gru: W_hn h + b_hn; gru: r*h */
    NET_REAL *hskip; /* [rows, H]     skip K: the state K steps back each row read (0: none); else NULL */
    NET_REAL *res;   /* [rows, H]     residual, layer l >= 1: y + this direction's share of the layer's
                      *               input, what the layer passes up (net_impl.h); else NULL */
    NET_SFX(net_mlp_acts) ih, hh; /* deep transition: on the input, on h_{t-1} (every row's) */
    NET_SFX(net_mlp_acts) rh;     /* deep transition, textbook GRU: on r*h, what its W_hn reads */
} NET_SFX(net_dir_acts);

typedef struct {
    model_config cfg;
    int D, G, H;               /* directions, gates, hidden size */
    int max_n, max_T, max_rows;/* capacity */
    NET_REAL *arena;           /* every REAL buffer below is a view into this */
    size_t arena_len;
    /* The batch of the last forward. */
    int n, T, rows, uniform;
    int32_t *bs;               /* [max_T]     active sequences per step */
    int32_t *off;              /* [max_T+1]   first row of each step */
    int32_t *len;              /* [max_n]     length of each sequence (slot) */
    const int32_t *tokens;     /* the last forward's inputs (borrowed: backward reads them) */
    /* Layer 0 input. */
    NET_REAL *x0;              /* [rows, E or F] embedded tokens or features */
    NET_REAL *table;           /* [V, G*H] layer 0's projection of every token (see net_impl.h); NULL when V > rows/2 always */
    int table_policy;          /* 0: use the table when it is cheaper (2V <= rows); 1: whenever allocated; -1: never */
    int used_table;            /* what the last forward did */
    NET_SFX(net_dir_acts) layer[RECUR_MAX_LAYERS][2];
    /* The input of layer l >= 1 and of the head: the outputs below, merged
     * (concat or sum) and dropped out.  NULL where it is simply y of the one
     * direction below (no copy). */
    NET_REAL *xin[RECUR_MAX_LAYERS + 1]; /* [rows (head per sequence: n), width]; index L = the head */
    NET_REAL *mask[RECUR_MAX_LAYERS + 1];/* dropout multipliers, same shape; NULL without dropout */
    int32_t *argmax;           /* [max_n, D, H] max pooling: the row each pooled value came from */
    NET_REAL *out;             /* [rows or n, O] head output: softmax probabilities (then their grads) or predictions */
    int out_rows;
    NET_REAL *xp;              /* [rows, G*H] input projections of one layer direction; reused as its dxp */
    NET_REAL *dhp;             /* [rows, G*H] grad of recurrent pre-activations (lbr_gru; aliases xp otherwise) */
    NET_REAL *hp;              /* [n, G*H]    recurrent projection of one step */
    NET_REAL *bias;            /* [G*H]       b_ih + b_hh of the current layer (see cells_impl.h) */
    NET_REAL *dy[2], *dy_below[2]; /* [rows, H] grads w.r.t. each direction's outputs, this layer and the one below */
    NET_REAL *dx;              /* [rows, max input width] grad w.r.t. a merged input */
    NET_REAL *dh, *dh_next;    /* [n, H] grad w.r.t. h_t, and w.r.t. h_{t-1} being built */
    NET_REAL *dc;              /* [n, H] LSTM cell-state grad carried backwards */
    NET_REAL *drh;             /* [n, H] textbook GRU: grad w.r.t. r*h */
    NET_REAL *dskip;           /* [rows, H] skip K: grad w.r.t. each row's state from the step K later; else NULL */
    NET_SFX(net_mlp_acts) head_mlp; /* deep output: the MLP between the top layer and the head */
    NET_REAL *da, *da2;        /* deep transition: [depth, max(rows, n), W] grads of an MLP's pre-activations
                                * (da2: the textbook GRU's second use of its hidden MLP); else NULL */
    uint64_t dropout_seed;     /* the last forward's (the deep transitions draw their masks from it) */
    NET_REAL *state_h;         /* [L, n, H] state carried from window to window (stream windows) */
    NET_REAL *state_c;         /* [L, n, H] LSTM only, else NULL */
    float dropout;             /* probability of dropping a unit in training (0: off; eval, sample) */
    /* Output recurrence (cfg.recurrence): what each row's layer 0 is fed from
     * the sequence's previous step; nothing at its first step. */
    int fed;                   /* cfg.recurrence == RECURRENCE_OUTPUT */
    int free_running;          /* the last forward fed back predictions (net_batch.free_running) */
    int32_t *fb_label;         /* tag: [max_rows] the previous step's label, -1 at a first step */
    NET_REAL *fb_vec;          /* per-step regress: [max_rows, K] the previous step's vector, 0 at a first step */
    NET_REAL *fb_table;        /* tag: [C, H] W_oh transposed (forward), the grad summed per label (backward) */
    /* Set by a caller that uses the layers' final states (seq2seq: the
     * encoder's states start the decoder): grads w.r.t. each sequence's final
     * h and c, [n, H] by slot, per layer and direction; NULL = none. */
    NET_REAL *dfinal_h[RECUR_MAX_LAYERS][2], *dfinal_c[RECUR_MAX_LAYERS][2];
    /* A headless stack (cfg.headless): forward leaves its top output, the
     * merged (and dropped-out) outputs of the last layer, [rows, width], in
     * `top`; backward reads the grad w.r.t. it from `dtop` (the caller's). */
    const NET_REAL *top;
    const NET_REAL *dtop;
    /* Called by backward as soon as the gradients of tensors [first, last]
     * (indices into model.tensors) are final: head, then each layer from the
     * top (both directions), then layer 0 with the embedding.  Lets a
     * data-parallel caller start reducing them while backward goes on. */
    void (*grads_ready)(void *ctx, int first, int last);
    void *grads_ready_ctx;
    /* Float engine only: W_hh packed once per batch for the per-step GEMMs
     * (rgemm.h).  [l][d][0] = whole W_hh (textbook GRU: r,z rows), [1] = n rows. */
    float *pack_buf;
    rg_packed pack_fwd[RECUR_MAX_LAYERS][2][2], pack_bwd[RECUR_MAX_LAYERS][2][2];
    int use_packed;            /* this batch packs (enough rows to amortise it) */
    int no_packing;            /* force cblas for every recurrent product (tests, A/B benchmarks) */
} NET_SFX(net_workspace);

/* Allocates every buffer for batches of up to max_n sequences, max_T steps
 * and max_rows rows (all allocation happens here, none per batch).  dropout:
 * the probability training will use (buffers for masks are made when > 0;
 * w->dropout may be lowered to 0 later, never raised).  States start at 0. */
int NET_SFX(net_workspace_create)(NET_SFX(net_workspace) *w, const model_config *cfg, int max_n, int max_T,
                                  int max_rows, float dropout, recur_err *err);
void NET_SFX(net_workspace_free)(NET_SFX(net_workspace) *w);
/* Zeroes the carried states (start of an epoch). */
void NET_SFX(net_reset_state)(NET_SFX(net_workspace) *w);

/* Forward over a batch (net.h).  `params` is an arena laid out as
 * m->tensors.  Returns the SUM of the losses (double) when the batch has
 * targets: cross-entropies (lm, tag: per row; classify: per sequence) or
 * squared errors (regress: per element); w->out keeps the softmax or the
 * predictions.  The batch must fit the workspace (callers size it). */
double NET_SFX(net_forward)(NET_SFX(net_workspace) *w, const model *m, const NET_REAL *params, const net_batch *b);

/* Backward of the last forward (same batch): ADDS d(scale * sum loss)/d(params)
 * into `grads` (same layout; the caller zeroes it).  scale = 1/count for a mean. */
void NET_SFX(net_backward)(NET_SFX(net_workspace) *w, const model *m, const NET_REAL *params, NET_REAL *grads,
                           const net_batch *b, NET_REAL scale);
