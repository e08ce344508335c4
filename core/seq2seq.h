/* seq2seq.h - encoder-decoder models on the sequence engine (reference §8).
 *
 * The encoder is an ordinary headless stack (net.h: any cell, stacked,
 * optionally bidirectional) over the packed sources.  The decoder is a stack
 * of the same cell, run step by step because, with attention, its layer 0
 * reads the previous step's attentional state (input feeding, Luong et al.
 * 2015); every step of every layer goes through the engine's own
 * step_forward / step_backward (net_impl.h), and weight gradients are still
 * one GEMM per matrix over the whole batch.
 *
 * Per decoder step t (rows of the sequences still running):
 *   x_t  = [ embed(y_{t-1}) ; ctx (--context input|both) ; h~_{t-1} (attention) ]
 *   h_t  = the L layers' step, from h_0 = the encoder's final states
 *          (--context init|both; a bidirectional encoder's two directions go
 *          through a learned projection, "bridge/")
 *   attention: score_j = h_t . s_j (dot), h_t . W s_j (general),
 *          v . tanh(W_q h_t + b_q + W s_j) (additive), over the source's own
 *          steps; a = softmax(score); c_t = sum_j a_j s_j;
 *          h~_t = tanh(W_c [c_t ; h_t])
 *   out_t = softmax(W_o h~_t + b_o)   (h_t without attention)
 * ctx is the encoder's top layer's final states (both directions side by
 * side).  Ending (§5): END_EOS adds an EOS class to the outputs; END_STOP_BIT
 * a sigmoid unit on the output state trained with binary cross-entropy at
 * every step (1 at the last); END_LENGTH a softmax over 1..max_len from ctx
 * that predicts the target's length before decoding starts.
 *
 * Scheduled sampling (sample_prob > 0) makes the decoder's input at step t
 * depend on its output at t-1, so the output layer then runs step by step
 * inside the loop; the draw is not differentiated (as in the paper), the
 * tokens actually read are kept (`fed`) for the embedding's gradient.
 *
 * The deep RNN forms (model.h: skip, residual, transition_depth; reference
 * §9) are on both stacks.  The encoder gets them from the engine as any
 * stack; the decoder's step loop runs the engine's pieces per step: W_skip
 * h_{t-K} (skip_forward; generation keeps each slot's last K states in a
 * ring that gen_reorder permutes with the states), layer l >= 1 passing up
 * y + its input (what the next layer, attention and the output layer read;
 * h_t stays y), and the MLPs on each layer's whole input row (with input
 * feeding it is only known at its step), on h_{t-1} (step_forward) and on
 * the output state before the output layer.
 *
 * Pairs are packed twice: sources by source length for the encoder
 * (encoder slots), targets by target length for the decoder (decoder slots);
 * enc_slot maps one to the other.  Everything the decoder keeps about a
 * pair (final states, memory) is stored by decoder slot.
 */
#ifndef RECUR_SEQ2SEQ_H
#define RECUR_SEQ2SEQ_H

#include "net.h"

typedef struct {
    int n;                      /* pairs */
    int Ts, Td;                 /* encoder steps (longest source), decoder steps (longest target, + 1 with EOS) */
    const int32_t *src_bs;      /* [Ts] sources still running at each step (non-increasing, [0] = n) */
    const int32_t *src_tokens;  /* packed source rows, encoder slot order (COND_LABEL: Ts = 1, each pair's label) */
    const float *src_features;  /* COND_FEATURES: [encoder slot, F] each pair's context features; else NULL */
    const int32_t *dec_bs;      /* [Td] */
    const int32_t *dec_in;      /* packed decoder inputs: BOS (= target vocab size) then the target's tokens */
    const int32_t *dec_out;     /* packed decoder targets: the target's tokens (then EOS); NULL: no loss */
    const int32_t *enc_slot;    /* [n] encoder slot of decoder slot b's pair */
    uint64_t dropout_seed;      /* dropout masks, and scheduled sampling's draws */
    float sample_prob;          /* scheduled sampling (Bengio et al. 2015): the chance that a step after the first
                                 * reads a token drawn from the model's own output at the step before instead of
                                 * the true one (dec_in); 0 = teacher forcing.  Needs dec_out. */
} s2s_batch;

/* Summed losses of a batch: cross-entropy of every target token (with EOS),
 * and of the ending heads (stop bit: per decoder step; length: per pair). */
typedef struct {
    double tokens, stop, length;
} s2s_loss;

#define NET_REAL float
#define NET_SFX(name) name##_f32
#include "seq2seq_decl.h"
#undef NET_REAL
#undef NET_SFX

#define NET_REAL double
#define NET_SFX(name) name##_f64
#include "seq2seq_decl.h"
#undef NET_REAL
#undef NET_SFX

typedef s2s_workspace_f32 s2s_workspace;
#define s2s_workspace_create s2s_workspace_create_f32
#define s2s_workspace_free s2s_workspace_free_f32
#define s2s_forward s2s_forward_f32
#define s2s_backward s2s_backward_f32
#define s2s_gen_begin s2s_gen_begin_f32
#define s2s_gen_step s2s_gen_step_f32
#define s2s_gen_reorder s2s_gen_reorder_f32
#define s2s_gen_lengths s2s_gen_lengths_f32

#endif
