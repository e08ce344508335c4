/* seq2seq_decl.h - the encoder-decoder's workspace and functions for one
 * scalar type.  Included by seq2seq.h with NET_REAL and NET_SFX defined. */

typedef struct {
    model_config cfg;
    model enc_m, dec_m;                 /* the two stacks as ordinary models: same tensors and arena offsets */
    NET_SFX(net_workspace) enc, dec;    /* their activations (dec: buffers only; its loop is seq2seq_impl.h's) */
    int L, H, D, GH, De, Cw, in0, O;    /* layers, hidden, encoder directions, gate columns, memory width,
                                         * context width (D*H), decoder layer 0 input, outputs */
    int max_n, max_Ts, max_Rd;
    NET_REAL *arena;
    size_t arena_len;
    /* Forward, by decoder slot unless said otherwise. */
    NET_REAL *fin_h, *fin_c;   /* [L, n, Cw] the encoder's final states (ctx = layer L-1's); a conditional
                                * LM's context vector at every layer */
    NET_REAL *h0, *c0;         /* [L, n, H] the decoder's initial states */
    NET_REAL *mem, *keys;      /* [n * Ts, De] the top encoder outputs of each pair's source; [n*Ts, H] their keys */
    NET_REAL *q;               /* [Rd, H] additive: W_q h + b_q */
    NET_REAL *alpha;           /* [Rd, Ts] attention weights */
    NET_REAL *cat;             /* [Rd, De + H] [c ; h] */
    NET_REAL *att;             /* [Rd, H] h~ */
    NET_REAL *xpl[RECUR_MAX_LAYERS], *dhpl[RECUR_MAX_LAYERS]; /* [Rd, GH] each layer's input projections, then grads */
    NET_REAL *biasl;           /* [L, GH] */
    NET_REAL *out;             /* [Rd, O] softmax (then dlogits) */
    NET_REAL *stop;            /* [Rd] stop probabilities */
    NET_REAL *lenp;            /* [n, max_len] length probabilities */
    /* Backward. */
    NET_REAL *dh_next, *dc;    /* [L, n, H] */
    NET_REAL *dfeed;           /* [n, H] grad w.r.t. h~_{t-1} from layer 0's input at step t */
    NET_REAL *dhead;           /* [Rd, H] grad w.r.t. the output layer's input */
    NET_REAL *dytop, *dybelow; /* [n, H] */
    NET_REAL *dpre;            /* [Rd, H] grad w.r.t. W_c [c ; h] */
    NET_REAL *dcat;            /* [n, De + H] */
    NET_REAL *dq;              /* [Rd, H] */
    NET_REAL *dmem, *dkeys;    /* as mem, keys */
    NET_REAL *dfin_h, *dfin_c; /* as fin_h, fin_c */
    NET_REAL *dh0, *dc0;       /* as h0, c0 */
    NET_REAL *dx0;             /* [Rd, E + Cw] */
    NET_REAL *dtop;            /* [Re, De] grad w.r.t. the encoder's top outputs */
    NET_REAL *dfinal;          /* [L, 2, 2, n, H] the encoder's dfinal_h/c, by encoder slot */
    NET_REAL *dskip;           /* skip K: [L, Rd, H] each decoder layer's grads w.r.t. its states from the
                                * step K later (the engine's dskip, one per layer: the decoder's backward
                                * goes step by step through every layer); else NULL */
    NET_REAL *dmlp;            /* deep transition: [L, 3, depth, Rd, W] the grads of each decoder layer's MLPs'
                                * pre-activations (input, h_{t-1}, the textbook GRU's r*h), what the engine
                                * keeps in its one da/da2 (net_impl.h): the decoder's backward interleaves
                                * the layers step by step, and their weight grads come after; else NULL */
    NET_REAL *hist;            /* skip K, generation: [L, K, n, H] each slot's last K states per layer, a ring
                                * indexed by step mod K (a beam reorders it with the states); else NULL */
    int32_t *slen;             /* [n] source length of each decoder slot */
    int32_t *eslot;            /* [n] the last batch's enc_slot */
    int32_t *fed;              /* [Rd] scheduled sampling: the tokens the decoder read */
    int sampled;               /* the last forward used scheduled sampling (backward reads fed) */
    int use_init, use_input;   /* context bits */
    int bridged;               /* the initial states go through bridge/ (model_s2s_bridged) */
    condition_kind cond;       /* COND_NONE: an encoder; else a conditional LM's context vector */
    int gen_n, gen_Ts, gen_t;  /* generation: decoder slots, source steps, steps done */
} NET_SFX(s2s_workspace);

/* Sizes every buffer for batches of up to max_n pairs, max_Ts source steps,
 * max_Re source rows, max_Td decoder steps and max_Rd decoder rows. */
int NET_SFX(s2s_workspace_create)(NET_SFX(s2s_workspace) *s, const model *m, int max_n, int max_Ts, int max_Re,
                                  int max_Td, int max_Rd, float dropout, recur_err *err);
void NET_SFX(s2s_workspace_free)(NET_SFX(s2s_workspace) *s);
/* Teacher-forced forward over a batch; fills *loss (sums; zeros without dec_out). */
void NET_SFX(s2s_forward)(NET_SFX(s2s_workspace) *s, const model *m, const NET_REAL *params, const s2s_batch *b,
                          s2s_loss *loss);
/* Backward of the last forward: ADDS d(scale * (tokens + stop + length))/d(params) into grads. */
void NET_SFX(s2s_backward)(NET_SFX(s2s_workspace) *s, const model *m, const NET_REAL *params, NET_REAL *grads,
                           const s2s_batch *b, NET_REAL scale);

/* Generation (no loss, dropout off).  gen_begin encodes the sources of
 * `src` (n, Ts, src_bs, src_tokens) and gives each of n_dec decoder slots
 * (n_dec <= max_n) the source of encoder slot enc_slot[i] (beam search: K
 * slots per source).  gen_step feeds one token per slot (BOS first) and
 * returns the next-token probabilities [n_dec, O]; with the stop bit,
 * s->stop[i] is slot i's probability of ending after that token.
 * gen_reorder makes slot i continue from slot from[i].  gen_lengths: the
 * length head's probabilities [n_dec, max_len] (lengths 1..max_len). */
void NET_SFX(s2s_gen_begin)(NET_SFX(s2s_workspace) *s, const model *m, const NET_REAL *params, const s2s_batch *src,
                            int n_dec, const int32_t *enc_slot);
const NET_REAL *NET_SFX(s2s_gen_step)(NET_SFX(s2s_workspace) *s, const model *m, const NET_REAL *params,
                                      const int32_t *tokens);
void NET_SFX(s2s_gen_reorder)(NET_SFX(s2s_workspace) *s, const int32_t *from);
const NET_REAL *NET_SFX(s2s_gen_lengths)(NET_SFX(s2s_workspace) *s, const model *m, const NET_REAL *params);
