/* checkpoint.h - models (and training state) in HDF5: the "recur-checkpoint"
 * contract.
 *
 * Root attributes (integers int64, strings variable-length UTF-8):
 *   format="recur-checkpoint", version=1, cell (one of the five names),
 *   hidden_size H, num_layers L                                  always
 *   task           lm | classify | tag | regress | seq2seq   absent = lm (recur always writes it)
 *   vocab_size V, embed_size E     token inputs (required); a feature model
 *                                  has no embedding: 0 or absent (recur
 *                                  writes 0, as tests/torch_seq_reference.py);
 *                                  seq2seq: V is the target vocabulary
 *   input_size F   > 0: F float features per step (feature models; recur
 *                  writes it only for them); 0 or absent: tokens
 *   bidirectional  0 | 1, absent = 0 (recur always writes it); lm: 0
 *   merge          concat | sum, bidirectional only, absent = concat
 *   num_classes C  classify, tag (required); output_size K regress
 *                  (required); neither for lm (its outputs are V)
 *   per_step       regress: 1 = a target per step, 0 = per sequence; absent:
 *                  0 when pooling is present, else 1; other tasks: absent or
 *                  the value the task implies (classify 0, tag 1, lm 1)
 *   pooling        last | mean | max: heads with one output per sequence
 *                  (classify, regress with per_step 0), absent = last;
 *                  refused anywhere else
 *   recurrence     hidden | output: tag and per-step regress heads (recur
 *                  writes it only for output), absent = hidden; refused
 *                  anywhere else.  output (model.h: recurrence_kind) needs
 *                  cell rnn_tanh or rnn_relu and one direction; its model has
 *                  no rnn/weight_hh_l{k}, bias_hh_l{k}, but rnn/weight_oh
 *                  [H, C or K] after layer 0's tensors
 *   skip           K >= 2, absent = 0 (recur writes it only when on): every
 *                  layer direction has rnn/weight_skip_l{k}[_reverse] [G*H, H]
 *                  after its four tensors (W_skip h_{t-K} joins the gates)
 *   residual       0 | 1, absent = 0 (written only when 1): layer l >= 1's
 *                  output += its input; needs num_layers >= 2
 *                  Neither for seq2seq nor with recurrence output.
 *   transition_depth D in 1..4, absent = 0 (written only when on) and
 *                  transition_width W (required with D): the deep transition,
 *                  MLPs rnn/transition_ih_l{k}_d{j}[_reverse]/weight, bias
 *                  ([W, in] for j = 0, else [W, W]; [W]) and
 *                  rnn/transition_hh_l{k}_d{j}[_reverse]/... (j = 0: [W, H])
 *                  after each layer direction's tensors, head/transition_d{j}/
 *                  before the head's; rnn/weight_ih_l{k}, weight_hh_l{k} are
 *                  then [G*H, W], head/weight [O, W].  Not for seq2seq nor
 *                  with recurrence output.
 *   seq2seq only (refused for the other tasks; recur writes all that apply):
 *   condition      none | label | features, absent = none: a conditional
 *                  language model (no encoder) when not none
 *   src_vocab_size Vs  the source vocabulary (required); condition label:
 *                  the number of labels C; condition features: 0 or absent
 *   attention      none | dot | general | additive, absent = none (dot with
 *                  bidirectional concat is refused: 2H against H)
 *   context        init | input | both, absent = init
 *   end            eos | stop-bit | length, absent = eos
 *   max_len        end length only (required there): the length head's classes
 *   For seq2seq, bidirectional and merge describe the encoder; input_size is
 *   0 or absent (condition features: required, the context's width F);
 *   num_classes, output_size, per_step and pooling are refused.
 * An attribute the model does not use (merge with one direction, pooling on
 * a per-step head, output_size on a classifier, ...) is refused, so an
 * export that means something else fails loudly rather than loading as
 * another model.  Files with none of the new attributes (checkpoints before
 * issue 9) are language models, exactly as before; version stays 1.
 * The loaded config is canonical: fields the task does not use are fixed
 * (per_step 1 for tag, 0 for classify, lm and seq2seq; pooling last unless
 * the head pools; merge concat with one direction; max_len 0 without a length
 * head; the seq2seq fields 0 elsewhere), so equal architectures compare equal
 * field by field.
 * /model/<tensor name> float32 datasets, one per entry of model.tensors[]
 * (PyTorch names, shapes and gate order: embedding/weight [V, E] for token
 * inputs only, rnn/weight_ih_l{k} [G*H, in] ... with their "_reverse"
 * twins when bidirectional, head/weight [O, head input], head/bias [O]).
 * seq2seq: the tensors of model_create (core/model.c create_s2s):
 * encoder/embedding/weight [Vs, E], encoder/rnn/... (with _reverse),
 * decoder/embedding/weight [V+1, E] (BOS last), decoder/rnn/..., bridge/...,
 * attention/..., decoder/out/weight and bias, stop/..., length/...; a
 * conditional LM has no encoder/ and, with condition label,
 * context/embedding [C, H] (a row per label).
 * Also refused: /model/embedding/weight in a feature model, reverse weights
 * (rnn/weight_ih_l0_reverse) without bidirectional, /vocab in a feature
 * model or a seq2seq model, and in a seq2seq model any /model dataset that
 * is not one of its tensors (e.g. attention/v with attention general).
 * recur also writes:
 *   /vocab                 uint8 [V]   the dataset's byte for each id (not seq2seq)
 *   /src_vocab, /tgt_vocab seq2seq: the pair dataset's vocabularies, stored
 *                          as io/pairdata.h stores them (uint8 [V], or
 *                          variable-length UTF-8 strings [V]), of
 *                          src_vocab_size and vocab_size entries; both or
 *                          neither (without them generation needs the
 *                          dataset); condition features: /tgt_vocab only
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
#include "pairdata.h"

typedef struct {
    const model *m;               /* required */
    const uint8_t *vocab;         /* optional: [m->cfg.vocab_size]; not for seq2seq */
    const pair_vocab *src_vocab;  /* optional, seq2seq only, with tgt_vocab: [src_vocab_size] */
    const pair_vocab *tgt_vocab;  /* optional, seq2seq only, with src_vocab: [vocab_size] */
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
    pair_vocab src_vocab, tgt_vocab; /* seq2seq: zeroed (size 0) when absent; words indexed (pair_vocab_index) */
    int has_optimizer;
    optimizer opt;                /* valid when has_optimizer; free with optim_free */
    int has_progress;
    long step, epoch, tokens_seen;
    float *state_h, *state_c;     /* NULL when absent */
    int streams;
    char *config_text;            /* NULL when absent */
} checkpoint_in;

/* Writes the layout above atomically (see io/atomic.h).  /progress is always
 * written; /vocab, /src_vocab and /tgt_vocab, /optimizer, /state, /config when
 * given.  Inconsistent input (no model, optimizer size != num_params, LSTM
 * state without c, a vocabulary the task does not take, one pair vocabulary
 * without the other, or of the wrong size) fails with RECUR_EXIT_FAIL before
 * anything is written; I/O failures give RECUR_EXIT_OUTPUT naming `path`. */
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

/* Only the root attributes, checked as checkpoint_load checks them: the
 * full (canonical) model_config, what a model's architecture is. */
int checkpoint_read_config(const char *path, model_config *cfg, recur_err *err);

#endif
