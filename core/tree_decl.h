/* tree_decl.h - declarations of the tree engine for one scalar type.
 * Included by tree.h with NET_REAL and NET_SFX defined; do not include
 * directly.  Every buffer is [rows or edges or trees, width], rows as the
 * batch orders them (tree.h). */

typedef struct {
    model_config cfg;
    int G, H, E;                  /* node-block gates (rnn_tanh 1, lstm 3: i,o,u), hidden, embedding */
    int max_n, max_rows, max_edges;
    NET_REAL *arena;              /* every NET_REAL buffer below is a view into this */
    /* Forward (kept for backward). */
    NET_REAL *x;      /* [rows, E]    embedded tokens (0 for no token) */
    NET_REAL *hs;     /* [rows, H]    sum of the children's h; backward, once a level's dW_h is done: its grad */
    NET_REAL *xp;     /* [rows, G*H]  W_x x; backward: the grad of the node block's pre-activations */
    NET_REAL *hp;     /* [rows, G*H]  W_h hs */
    NET_REAL *gates;  /* [rows, G*H]  post-activations (rnn_tanh: h; lstm: i, o, u) */
    NET_REAL *h;      /* [rows, H] */
    NET_REAL *c, *tc; /* [rows, H]    lstm: cell state and tanh(c); NULL otherwise */
    NET_REAL *fx;     /* [rows, H]    lstm: W_fx x; backward: sum over the node's children of df */
    NET_REAL *hc;     /* [edges, H]   lstm: the child's h, per edge; backward, once dW_fh is done: its grad */
    NET_REAL *f;      /* [edges, H]   lstm: W_fh h_child, then the forget gate */
    NET_REAL *df;     /* [edges, H]   lstm: grad of the forget gate's pre-activation */
    NET_REAL *hroot;  /* [n, H]       the roots' h: the root head's input; backward: its grad */
    NET_REAL *root_out; /* [n, Cr]    softmax, then its grad; NULL without a root head */
    NET_REAL *node_out; /* [rows, Cn] the same for every node; NULL without a node head */
    NET_REAL *dh, *dc;  /* [rows, H]  grads w.r.t. h and c, summed from parents and heads */
    NET_REAL *dx;       /* [rows, E]  grad w.r.t. x */
    NET_REAL *bias;     /* [G*H + H]  b_x + b_h, then (lstm) b_fx + b_fh */
    const tree_batch *b;/* the last forward's batch (borrowed: backward reads it) */
    /* When set, told the shape of every product the engine runs (C [M x N]
     * = op(A) op(B), K inner): recur bench replays them on SGEMM. */
    void (*on_gemm)(void *ctx, int ta, int tb, int M, int N, int K);
    void *on_gemm_ctx;
} NET_SFX(tree_workspace);

/* Buffers for batches of up to max_n trees, max_rows nodes and max_edges
 * edges (all allocation happens here). */
int NET_SFX(tree_workspace_create)(NET_SFX(tree_workspace) *w, const model_config *cfg, int max_n, int max_rows,
                                   int max_edges, recur_err *err);
void NET_SFX(tree_workspace_free)(NET_SFX(tree_workspace) *w);

/* Forward over batch b (which must fit the workspace; kept, borrowed, for
 * backward).  `params`: an arena laid out as m->tensors.  Returns the SUM of
 * the cross-entropies of the labelled roots and nodes (tree_batch_count of
 * them); w->root_out / w->node_out keep the softmax. */
double NET_SFX(tree_forward)(NET_SFX(tree_workspace) *w, const model *m, const NET_REAL *params, const tree_batch *b);
/* Backward of the last forward: ADDS d(scale * sum loss)/d(params) into
 * `grads` (same layout; the caller zeroes it). */
void NET_SFX(tree_backward)(NET_SFX(tree_workspace) *w, const model *m, const NET_REAL *params, NET_REAL *grads,
                            NET_REAL scale);
