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
#define RECUR_MAX_TENSORS (3 + 8 * RECUR_MAX_LAYERS) /* embedding, 4 per layer and direction, head */

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
    TASK_COUNT
} task_kind;

/* How a per-sequence head reads the top layer (PyTorch: torch.cat(h_n[-2], h_n[-1]) is POOL_LAST). */
typedef enum { POOL_LAST = 0, POOL_MEAN, POOL_MAX, POOL_COUNT } pooling_kind;

/* How a bidirectional layer's two directions form its output. */
typedef enum { MERGE_CONCAT = 0, MERGE_SUM } merge_kind;

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
    int headless;     /* internal, never stored: a stack without a head (seq2seq's encoder, net.h) */
} model_config;

/* Checks sizes are positive and within limits; names `source` in the message. */
int model_config_validate(const model_config *cfg, const char *source, recur_err *err);

/* Where each tensor sits in model.tensors, resolved BY NAME once in
 * model_create (so nothing outside model.c depends on the order tensors are
 * registered in).  -1 for a tensor the model does not have. */
typedef struct { int w_ih, w_hh, b_ih, b_hh; } layer_index; /* (G*H, in), (G*H, H), (G*H), (G*H) */
typedef struct {
    int embedding;                                  /* (V, E); -1 with feature inputs */
    layer_index layer[RECUR_MAX_LAYERS][2];         /* [l][0] forward, [l][1] reverse ("..._reverse") */
    int head_weight, head_bias;                     /* (O, head input), (O) */
} tensor_index;

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
/* The tensors of layer l (both directions) are m->tensors[*first .. *last]. */
void model_layer_tensors(const model *m, int l, int *first, int *last);
/* Layer l's input width: E or F for l = 0, else H or 2H (bidirectional concat). */
int model_layer_input(const model_config *cfg, int l);

#endif
