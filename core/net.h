/* net.h - forward and backward of a whole sequence model over one batch.
 *
 * input (token embedding, or F features per step) -> L recurrent layers, each
 * forward or bidirectional -> a head with its loss (model.h: task_kind).  The
 * engine is written once (net_impl.h) over a scalar type and compiled twice:
 * `_f32` is what training runs, `_f64` exists so the tests can check
 * gradients by finite differences in double precision against the very same
 * code.  Plain names (net_forward, ...) mean the float version.
 *
 * Batches use PyTorch's packed layout (nn.utils.rnn.PackedSequence): n
 * sequences sorted by length, longest first; step t holds the bs[t]
 * sequences still running (bs non-increasing), and its rows are
 * off[t] .. off[t]+bs[t]-1, row off[t]+b being sequence (slot) b.  Nothing is
 * computed past a sequence's end.  Forward in time, row b of step t follows
 * row b of step t-1; the reverse direction starts each sequence at its own
 * last step and runs to step 0.  A language model's stream window is the case
 * bs[t] = n for every t (`batch_sizes` NULL), with the state carried from
 * window to window.
 */
#ifndef RECUR_NET_H
#define RECUR_NET_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"
#include "rgemm.h"

typedef struct {
    int T;                      /* steps */
    int n;                      /* sequences: the rows of step 0 */
    const int32_t *batch_sizes; /* [T] sequences active at each step (non-increasing, [0] = n); NULL: n at every step */
    const int32_t *tokens;      /* [rows] token inputs, packed time-major; or NULL */
    const float *features;      /* [rows, F] feature inputs; or NULL */
    const int32_t *labels;      /* lm, tag: [rows]; classify: [n]; NULL: no loss (w->out still computed) */
    const float *targets;       /* regress: [rows, K] (per step) or [n, K] (per sequence); NULL: no loss */
    int carry;                  /* start from the carried state and leave the last one there (stream windows) */
    int free_running;           /* output recurrence (model.h): feed back the model's own previous prediction
                                 * (eval, predict) instead of the truth (teacher forcing); implied without
                                 * labels/targets.  Such a forward has no backward. */
    uint64_t dropout_seed;      /* masks of this batch (same seed, same masks: reproducible runs and resumes) */
} net_batch;

#define NET_REAL float
#define NET_SFX(name) name##_f32
#include "net_decl.h"
#undef NET_REAL
#undef NET_SFX

#define NET_REAL double
#define NET_SFX(name) name##_f64
#include "net_decl.h"
#undef NET_REAL
#undef NET_SFX

typedef net_workspace_f32 net_workspace;
#define net_workspace_create net_workspace_create_f32
#define net_workspace_free net_workspace_free_f32
#define net_reset_state net_reset_state_f32
#define net_forward net_forward_f32
#define net_backward net_backward_f32

/* A language model's stream window: n streams x T steps, every stream active
 * at every step, the state carried in and out. */
static inline net_batch net_window(int T, int n, const int32_t *inputs, const int32_t *targets) {
    return (net_batch){.T = T, .n = n, .tokens = inputs, .labels = targets, .carry = 1};
}

/* Rows of a batch: sum of batch_sizes (n*T when NULL). */
static inline int net_batch_rows(const net_batch *b) {
    if (!b->batch_sizes) return b->n * b->T;
    int r = 0;
    for (int t = 0; t < b->T; t++) r += b->batch_sizes[t];
    return r;
}

/* Width of the head's input and its outputs. */
static inline int net_head_in(const model_config *cfg) { return model_layer_input(cfg, cfg->num_layers); }
static inline int net_head_out(const model_config *cfg) { return cfg->output_size ? cfg->output_size : cfg->vocab_size; }
/* The head scores every row (lm, tag, per-step regress) or each sequence. */
static inline int net_per_row(const model_config *cfg) {
    return cfg->headless || cfg->task == TASK_LM || cfg->task == TASK_TAG || (cfg->task == TASK_REGRESS && cfg->per_step);
}

#endif
