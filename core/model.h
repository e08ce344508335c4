/* model.h - the language model's shape, its parameter arena and named views.
 *
 * Dimensions, named once:  V vocab, E embedding, H hidden, L layers,
 * G gates per cell (rnn 1, lstm 4, gru 3), B streams, T window (bptt k).
 *
 * Parameters live in ONE contiguous float arena, gradients in a second arena
 * with the identical layout, so allreduce, clipping, the optimizer and
 * checkpointing are each one loop over `num_params` floats.  The views below
 * point into an arena; `tensors[]` lists the same views in checkpoint order
 * with their PyTorch names and shapes (row-major, PyTorch gate order:
 * LSTM i,f,g,o; GRU r,z,n).
 */
#ifndef RECUR_MODEL_H
#define RECUR_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define RECUR_MAX_LAYERS 16
/* Deep transition (model_config.transition_depth): at most this many layers per MLP. */
#define RECUR_MAX_TRANSITION 4
/* seq2seq: two embeddings, per layer 3 stack directions (encoder 2, decoder
 * 1) of 5 (with skip) and two MLPs of 2 per layer, 4 per bridge layer, the
 * output layer's MLP, attention (5), three heads (2 each).  The sequence
 * models: the embedding, per layer direction 5 (with skip) and two MLPs of 2
 * per layer, the head's MLP and the head. */
#define RECUR_MAX_TENSORS_S2S \
    (2 + RECUR_MAX_LAYERS * (3 * (5 + 4 * RECUR_MAX_TRANSITION) + 4) + 2 * RECUR_MAX_TRANSITION + 11)
#define RECUR_MAX_TENSORS_SEQ (1 + 2 * RECUR_MAX_LAYERS * (5 + 4 * RECUR_MAX_TRANSITION) + 2 * RECUR_MAX_TRANSITION + 2)
#define RECUR_MAX_TENSORS \
    (RECUR_MAX_TENSORS_S2S > RECUR_MAX_TENSORS_SEQ ? RECUR_MAX_TENSORS_S2S : RECUR_MAX_TENSORS_SEQ)

typedef enum {
    CELL_RNN_TANH = 0,
    CELL_RNN_RELU,
    CELL_LSTM,
    CELL_GRU,      /* textbook: h' = (1-z)*h + z*tanh(W_in x + b_in + W_hn (r*h) + b_hn) */
    CELL_LBR_GRU,  /* torch.nn.GRU: n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), h' = (1-z)*n + z*h */
    CELL_COUNT
} cell_kind;

const char *cell_name(cell_kind cell);
/* 0 and *out set when `name` is one of the five cell names, -1 otherwise. */
int cell_from_name(const char *name, cell_kind *out);
int cell_gates(cell_kind cell);

/* What the model predicts; TASK_LM (0) is the default, so a zeroed config
 * plus the five sizes is the language model of checkpoint version 1. */
typedef enum {
    TASK_LM = 0,     /* next token at every step (softmax over V), stream windows with carried state */
    TASK_CLASSIFY,   /* one label per sequence (softmax over C) from a pooled top layer */
    TASK_TAG,        /* one label per step (softmax over C) */
    TASK_REGRESS,    /* K floats per step (per_step) or per sequence (pooled), mean squared error */
    TASK_SEQ2SEQ,    /* encoder-decoder: target tokens given a source sequence (seq2seq.h) */
    TASK_TREE,       /* recursive net over trees (tree.h): a root and/or a node classification head */
    TASK_COUNT
} task_kind;

/* How a per-sequence head reads the top layer (PyTorch: torch.cat(h_n[-2], h_n[-1]) is POOL_LAST). */
typedef enum { POOL_LAST = 0, POOL_MEAN, POOL_MAX, POOL_COUNT } pooling_kind;

/* seq2seq: how the decoder looks at the encoder's states (Luong et al. 2015's
 * scores; additive is Bahdanau et al. 2014's), always with input feeding. */
typedef enum { ATTN_NONE = 0, ATTN_DOT, ATTN_GENERAL, ATTN_ADDITIVE, ATTN_COUNT } attention_kind;
/* seq2seq: where the encoder's context (its final states) enters the decoder: bits. */
enum { CONTEXT_INIT = 1, CONTEXT_INPUT = 2, CONTEXT_BOTH = 3 };
/* seq2seq: what the decoder is conditioned on.  COND_NONE: a source
 * sequence read by the encoder.  The conditional language model (reference
 * §6) has no encoder: its context is a fixed vector per sequence, a class
 * label's learned embedding (COND_LABEL: src_vocab_size = C labels, the
 * vector is H wide) or the sequence's own float features (COND_FEATURES:
 * input_size = F). */
typedef enum { COND_NONE = 0, COND_LABEL, COND_FEATURES, COND_COUNT } condition_kind;
/* seq2seq: how a generated sequence ends (reference §5). */
typedef enum { END_EOS = 0, END_STOP_BIT, END_LENGTH, END_COUNT } end_kind;

const char *attention_name(attention_kind a);
int attention_from_name(const char *name, attention_kind *out);
const char *context_name(int context);
int context_from_name(const char *name, int *out);
const char *end_name(end_kind e);
const char *condition_name(condition_kind c);
int condition_from_name(const char *name, condition_kind *out);
int end_from_name(const char *name, end_kind *out);

/* How a bidirectional layer's two directions form its output. */
typedef enum { MERGE_CONCAT = 0, MERGE_SUM } merge_kind;

/* What feeds the next step's hidden state (reference §2).  HIDDEN: the
 * previous hidden state through W_hh (pattern 1, every cell).  OUTPUT: the
 * previous step's output through W_oh, and no hidden-to-hidden connection
 * (pattern 2, Figure 10.4): h_t = act(W_ih x_t + b_ih + W_oh y_{t-1}), y_{-1}
 * = 0.  Only for the simple RNN (rnn_tanh, rnn_relu), one direction, and the
 * per-step heads whose output can be fed back: tag (the one-hot of the
 * previous label, so W_oh y is column y of W_oh) and per-step regress (the
 * previous K-vector).  Stacked layers all lose W_hh; y_{t-1} enters layer 0
 * only.  Trained with teacher forcing (y_{t-1} is the truth: every step of a
 * window is computed at once); evaluated also free-running (net.h). */
typedef enum { RECURRENCE_HIDDEN = 0, RECURRENCE_OUTPUT, RECURRENCE_COUNT } recurrence_kind;
const char *recurrence_name(recurrence_kind r);
int recurrence_from_name(const char *name, recurrence_kind *out);

const char *task_name(task_kind task);
int task_from_name(const char *name, task_kind *out);
const char *pooling_name(pooling_kind pooling);
int pooling_from_name(const char *name, pooling_kind *out);

typedef struct {
    cell_kind cell;
    int vocab_size;   /* V: token inputs; 0 with feature inputs */
    int embed_size;   /* E: token inputs; 0 with feature inputs */
    int hidden_size;  /* H */
    int num_layers;   /* L */
    /* Zero below = the language model. */
    task_kind task;
    int input_size;   /* F > 0: F float features per step instead of tokens (no embedding) */
    int bidirectional;/* 0/1: a reverse direction per layer (tensors "..._reverse") */
    merge_kind merge; /* bidirectional: concat (D*H outputs, PyTorch) or sum (H outputs) */
    int output_size;  /* head outputs: C classes (classify, tag), K targets (regress); 0 = V (lm) */
    int per_step;     /* regress: a target per step (1) or per sequence (0); tag/lm: 1; classify: 0 */
    pooling_kind pooling; /* per-sequence heads */
    recurrence_kind recurrence; /* hidden (W_hh) or output (W_oh y_{t-1}; see recurrence_kind) */
    /* Shortcuts of a deep RNN (reference §9; 0 = none, the model as before): */
    int skip;         /* K >= 2: every layer direction adds W_skip h_{t-K} to its gate pre-activations */
    int residual;     /* 1: layer l >= 1's output += its input */
    /* Deep transition (DT-RNN / DOT-RNN, Pascanu et al. 2014; 0 = none): an
     * MLP of transition_depth layers (Linear + tanh, transition_width wide)
     * on each path of every recurrent layer direction: the input before
     * W_ih, h_{t-1} before W_hh (so both are (G*H, W)), and the top layer's
     * output before the head (whose weight is then (O, W)). */
    int transition_depth; /* 0..RECUR_MAX_TRANSITION */
    int transition_width; /* W >= 1 with a depth, else 0 */
    /* seq2seq (vocab_size is the target side's; encoder and decoder share
     * cell, E, H and L; the encoder may be bidirectional): */
    int src_vocab_size;   /* Vs (COND_LABEL: C); input_size is F with COND_FEATURES */
    condition_kind condition;
    attention_kind attention;
    int context;          /* CONTEXT_* bits, at least one */
    end_kind end;
    int max_len;          /* END_LENGTH: the length head's classes are 1..max_len */
    /* trees (tree.h): cell rnn_tanh (child-sum recursive net) or lstm (child-sum
     * Tree-LSTM), one layer; output_size = Cr root classes (0: no root head): */
    int node_classes;     /* Cn: the node head's classes (0: no node head) */
    /* Internal, never stored: */
    int extra_input;  /* width appended to layer 0's input (seq2seq's decoder: context, input feeding) */
    int headless;     /* internal, never stored: a stack without a head (seq2seq's encoder, net.h) */
} model_config;

/* Checks sizes are positive and within limits; names `source` in the message. */
int model_config_validate(const model_config *cfg, const char *source, recur_err *err);
/* NULL when cfg may have output-to-hidden recurrence, else why not
 * ("cell lstm: ..."): what validate, the checkpoint reader and the CLI say. */
const char *model_output_recurrence_refusal(const model_config *cfg);
/* NULL when cfg may have its skip and residual settings, else why not, with
 * *field set to the one refused ("skip" or "residual"): what validate, the
 * checkpoint reader and the CLI say. */
const char *model_shortcut_refusal(const model_config *cfg, const char **field);

/* Where each tensor sits in model.tensors, resolved BY NAME once in
 * model_create (so nothing outside model.c depends on the order tensors are
 * registered in).  -1 for a tensor the model does not have. */
typedef struct {
    int w_ih, w_hh, b_ih, b_hh; /* (G*H, in or W), (G*H, H or W), (G*H), (G*H); hh: -1 with output recurrence */
    int w_skip;                 /* (G*H, H); -1 without skip */
    int mlp_ih, mlp_hh;         /* deep transition: the first of the MLP's tensors, weight then bias per
                                 * layer k: (W, in or W), (W); mlp_hh's input is H.  -1 without */
} layer_index;
typedef struct {
    int embedding;                                  /* (V, E); -1 with feature inputs */
    layer_index layer[RECUR_MAX_LAYERS][2];         /* [l][0] forward, [l][1] reverse ("..._reverse") */
    int head_weight, head_bias;                     /* (O, head input or W), (O); -1 in a headless stack */
    int head_mlp;                                   /* deep output: the first of its MLP's tensors (before the head's); or -1 */
    int w_oh;                                       /* output recurrence: (H, O) "rnn/weight_oh", after layer 0's; else -1 */
} tensor_index;

/* seq2seq's tensors beyond its two stacks (model.s2s); -1 where absent. */
typedef struct {
    tensor_index enc, dec;          /* the stacks as two ordinary models see them (dec: head = output layer) */
    int bridge_h[RECUR_MAX_LAYERS][2], bridge_c[RECUR_MAX_LAYERS][2]; /* [l][0] weight (H, Cw), [1] bias (H) */
    int att_w;                      /* general: (H, De); additive: key weight (H, De) */
    int att_q, att_qb, att_v;       /* additive: query weight (H, H), its bias (H), v (H) */
    int att_combine;                /* (H, De + H): h~ = tanh(W [c; h]) */
    int ctx_embedding;              /* COND_LABEL: (C, H) "context/embedding" */
    int stop_w, stop_b;             /* (1, H), (1) */
    int len_w, len_b;               /* (max_len, Cw), (max_len) */
} s2s_index;

/* A tree model's tensors (tree.h); -1 where absent.  The node block (G*H
 * rows: rnn_tanh G = 1, lstm G = 3 for i,o,u) reads the node's input x and its
 * children's summed states; the LSTM's forget gate (H rows) is per child. */
typedef struct {
    int embedding;              /* (V, E) */
    int wx, bx, wh, bh;         /* rnn_tanh: tree/weight_ih (H, E), bias_ih, weight_hh (H, H), bias_hh;
                                 * lstm: tree/ioux/weight (3H, E), ioux/bias, iouh/weight (3H, H), iouh/bias */
    int fx_w, fx_b, fh_w, fh_b; /* lstm: tree/fx/weight (H, E), fx/bias, tree/fh/weight (H, H), fh/bias */
    int root_w, root_b;         /* root/weight (Cr, H), root/bias */
    int node_w, node_b;         /* node/weight (Cn, H), node/bias */
} tree_index;

/* One named tensor of the arena.  `name` is relative to the checkpoint's
 * /model group, e.g. "rnn/weight_ih_l0". */
typedef struct {
    char name[48];
    int ndim;            /* 1 or 2 */
    size_t shape[2];
    size_t offset;       /* in floats from the arena start */
    size_t count;
} tensor_info;

typedef struct {
    model_config cfg;
    size_t num_params;
    float *params;       /* arena of num_params floats */
    float *grads;        /* same layout */
    tensor_index ix;
    s2s_index s2s;       /* TASK_SEQ2SEQ */
    tree_index tree;     /* TASK_TREE */
    int num_tensors;
    tensor_info tensors[RECUR_MAX_TENSORS];
} model;

/* Allocates both arenas (zeroed) and builds the views. */
int model_create(model *m, const model_config *cfg, recur_err *err);
void model_free(model *m);
/* PyTorch-like init from a seed: embedding N(0,1); recurrent weights and
 * biases U(-1/sqrt(H), 1/sqrt(H)); head weight and bias U(-1/sqrt(H), 1/sqrt(H)). */
void model_init_random(model *m, uint64_t seed);
/* Index into m->tensors of the tensor called `name`, or -1. */
int model_find_tensor(const model *m, const char *name);
/* The tensors of layer l (both directions; layer 0 with output recurrence:
 * also rnn/weight_oh) are m->tensors[*first .. *last]. */
void model_layer_tensors(const model *m, int l, int *first, int *last);
/* seq2seq: the configurations of its two stacks as ordinary headless
 * models (the decoder's vocabulary has one more token, BOS; its layer 0 also
 * reads the context and the attentional state), and the decoder's outputs
 * (the target vocabulary, plus EOS with END_EOS). */
void model_s2s_stacks(const model_config *cfg, model_config *enc, model_config *dec);
int model_s2s_outputs(const model_config *cfg);
/* seq2seq: the width Cw of the context vector the decoder is given (the
 * encoder's top final states D*H; a label's embedding H; F features), and
 * whether its initial states come through a learned projection (bridge/:
 * whenever that vector is not already one layer's state). */
int model_s2s_context_width(const model_config *cfg);
int model_s2s_bridged(const model_config *cfg);
/* The head's tensors (its MLP's too) are m->tensors[*first .. *last]. */
void model_head_tensors(const model *m, int *first, int *last);
/* NULL when cfg may have its deep transition, else why not (*field names
 * "transition_depth" or "transition_width"). */
const char *model_transition_refusal(const model_config *cfg, const char **field);
/* Layer l's input width: E or F for l = 0, else H or 2H (bidirectional concat). */
int model_layer_input(const model_config *cfg, int l);

#endif
