/* checkpoint.h - models (and training state) in HDF5: the "recur-checkpoint"
 * contract.
 *
 * Root attributes: format="recur-checkpoint", version=1, cell (one of the five
 * names), vocab_size, embed_size, hidden_size, num_layers (integers).
 * /model/<tensor name> float32 datasets, one per entry of model.tensors[]
 * (PyTorch names, shapes and gate order).  recur also writes:
 *   /vocab                 uint8 [V]   the dataset's byte for each id
 *   /optimizer             group: attrs kind ("sgd"|"adam"), step, lr,
 *                          momentum, weight_decay, beta1, beta2, eps;
 *                          dataset state float32 [state_len] (the optimizer arena)
 *   /progress              group: attrs step, epoch, tokens_seen
 *   /state                 group: h float32 [L,B,H], c float32 [L,B,H] (LSTM)
 *                          the carried states of the B training streams
 *   /config                string dataset: the resolved config (INI text)
 * Every part but the root attributes and /model is optional on load.
 * Writes are atomic: temp file in the same directory, flush, fsync, rename,
 * fsync the directory; on any failure the destination is untouched.
 */
#ifndef RECUR_CHECKPOINT_H
#define RECUR_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"
#include "../core/model.h"
#include "../core/optim.h"

typedef struct {
    const model *m;               /* required */
    const uint8_t *vocab;         /* optional: [m->cfg.vocab_size] */
    const optimizer *opt;         /* optional */
    long step, epoch, tokens_seen;
    const float *state_h;         /* optional: [L, streams, H] */
    const float *state_c;         /* optional (LSTM): [L, streams, H] */
    int streams;
    const char *config_text;      /* optional */
} checkpoint_out;

typedef struct {
    model m;                      /* created by the loader; free with model_free */
    uint8_t *vocab;               /* NULL when absent */
    int has_optimizer;
    optimizer opt;                /* valid when has_optimizer; free with optim_free */
    int has_progress;
    long step, epoch, tokens_seen;
    float *state_h, *state_c;     /* NULL when absent */
    int streams;
    char *config_text;            /* NULL when absent */
} checkpoint_in;

/* Writes the layout above atomically (see io/atomic.h).  /progress is always
 * written; /vocab, /optimizer, /state, /config when given.  Inconsistent input
 * (no model, optimizer size != num_params, LSTM state without c) fails with
 * RECUR_EXIT_FAIL before anything is written; I/O failures give
 * RECUR_EXIT_OUTPUT naming `path`. */
int checkpoint_save(const char *path, const checkpoint_out *ck, recur_err *err);
/* Validates attributes, every tensor's presence, dtype (float32) and shape,
 * each optional part present (extra datasets are ignored), and that no /model
 * tensor holds NaN or Inf (refused: "<path>: dataset '/model/...': N
 * non-finite values (NaN/Inf); refusing to load").  One message
 * "<path>: <field>: expected <contract>, found <what is there>" with
 * RECUR_EXIT_INPUT (see io/h5util.h).  On failure *ck is zeroed and owns
 * nothing; on success free it with checkpoint_in_free. */
int checkpoint_load(const char *path, checkpoint_in *ck, recur_err *err);
/* checkpoint_load refuses a /model tensor holding NaN or Inf (exit 3, naming
 * the tensor); `recur inspect` is a diagnostic tool and shows such a file:
 * this loads it with every other check of checkpoint_load. */
int checkpoint_load_for_inspection(const char *path, checkpoint_in *ck, recur_err *err);
void checkpoint_in_free(checkpoint_in *ck);

/* Called once per contract violation with one message of the h5util form
 * "<file>: <field>: expected X, found Y". */
typedef void (*checkpoint_violation_fn)(void *ctx, const char *msg);

/* The same contract as checkpoint_load, walked by the same code, but every
 * violation is reported (to cb, and counted in *violations) and the walk
 * goes on; float tensors must also be finite.  When the cell or sizes are
 * unusable, the /model datasets are still checked for float32 and finite
 * values.  Returns 0 when the file could be opened, -1 with err when it
 * cannot be read at all (missing, not HDF5, damaged). */
int checkpoint_verify(const char *path, checkpoint_violation_fn cb, void *ctx, int *violations, recur_err *err);

/* Only the root attributes (format, version, cell, sizes), checked as
 * checkpoint_load checks them: what a model's architecture is. */
int checkpoint_read_config(const char *path, model_config *cfg, recur_err *err);

#endif
