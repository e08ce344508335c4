#!/usr/bin/python3
"""torch_s2s_reference.py OUTDIR [CASE ...] - PyTorch "truth" for recur's
encoder-decoder models (issue 10: seq2seq with a bidirectional or
one-direction encoder, a bridge, context as the initial state and/or an
input, dot / general / additive attention with input feeding, EOS ending)
and conditional language models (reference section 6: the same decoder
without an encoder, its context a label's learned embedding or the
sequence's own feature vector).

For every case (all of CASES below unless names are given; --list prints
them) this writes into OUTDIR/<case>/:

  data.h5              a "recur-pairs" file (io/pairdata.h): /train (11
                       pairs) and /val (5), source lengths 1..~18 and
                       target lengths 1..~14 in no order (and not in the
                       same order as each other), character vocabularies
                       /src_vocab and /tgt_vocab
  init.h5              a "recur-checkpoint" with random weights: the root
                       attributes format, version, cell, task = "seq2seq",
                       vocab_size (the TARGET vocabulary Vt), embed_size,
                       hidden_size, num_layers, src_vocab_size,
                       bidirectional, merge = "concat" (bidirectional
                       only), attention, context, end; /model with the
                       names of core/model.c create_s2s:
                         encoder/embedding/weight [Vs, E]
                         encoder/rnn/{weight,bias}_{ih,hh}_l{k}[_reverse]
                         decoder/embedding/weight [Vt+1, E] (row Vt = BOS)
                         decoder/rnn/{weight,bias}_{ih,hh}_l{k}
                         bridge/{weight,bias}_{h,c}_l{k} (context init|both
                           with a bidirectional encoder; _c for LSTM only)
                         attention/weight (general) or attention/key_weight,
                           query_weight, query_bias, v (additive), and
                           attention/combine_weight (any attention)
                         decoder/out/weight [Vt+1, H], decoder/out/bias
                       (every other case also stores both vocabularies)
  expected_<run>.h5    the weights PyTorch ends with after
                         recur train --data data.h5 [--task lm] --init init.h5
                             --steps 3 --no-shuffle --batch B
                             --optimizer sgd|adam --lr LR --clip 0
                       (same root attributes and /model layout as init.h5)

A conditional-LM case (condition "label" or "features", task word "clm"
below; --task lm when training) writes instead:

  data.h5              a "recur-sequences" file (io/seqdata.h), task
                       "classify": /train (11 sequences) and /val (5), each
                       with offsets int64 [n+1], tokens int32 (lengths
                       1..~14 in no order), labels int32 [n] (every label in
                       /train) and, for condition features, context float32
                       [n, F]; /vocab uint8 [Vt] (characters) and
                       /label_names (C strings).  A features case keeps the
                       labels, so the dataset's default condition (label)
                       is not the model's: recur must take init.h5's.
  init.h5              root attributes as above with condition = "label" |
                       "features", src_vocab_size = C (label) or 0
                       (features), input_size = F (features only),
                       bidirectional = 0, attention = "none"; /model:
                         context/embedding [C, H] (label only)
                         decoder/... as above, weight_ih_l0
                           [G*H, E + (Cw with context input|both)]
                         bridge/{weight,bias}_{h,c}_l{k} [H, Cw], [H]
                           (context init|both, every layer)
                         decoder/out/weight, decoder/out/bias
                       (Cw = H for label, F for features); one label and
                       one features case (init_vocab) also store /tgt_vocab
                       and, for label, the label names as /src_vocab
                       (features: no /src_vocab)
  expected_<run>.h5    as above

and, for all cases, OUTDIR/manifest.json (human readable: every case, its
options, sizes, lengths, files, CLI arguments, the pairs of every batch,
expected and float64 losses, per-step losses and gradient norms) and
OUTDIR/cases.txt in the format of tests/torch_seq_reference.py (read by the
same parser in tests/test_seq_reference.c):

  case  <case> seq2seq <cell> <layers> <bidirectional 0|1> tokens - <data> <init>
  case  <case> clm <cell> <layers> 0 <label|features> - <data> <init>
  eval  <case> <split> <expected_loss>
  train <case>/<run> <expected.h5> <steps> <batch> <sgd|adam> <lr> <clip>
  step  <case>/<run> <step> <loss> <grad_norm>

(the attention, context and end of a case are init.h5's root attributes).
Numbers are printed with repr() so they round-trip exactly.

Semantics (core/seq2seq.h; D = 2 with a bidirectional encoder, else 1):
  encoder  nn.Embedding(Vs, E), then nn.LSTM / nn.GRU (= recur's lbr_gru) /
           nn.RNN with L layers on pack_padded_sequence(enforce_sorted=
           False); per layer l its final states [fwd ; bwd] (D*H; h_n of
           torch: forward at the source's last step, reverse at its first);
           ctx = the top layer's final h; memory s_j = the top layer's
           outputs (De = D*H wide)
  clm      no encoder: ctx = the row of context/embedding of the
           sequence's label (label) or its context features (features),
           Cw wide, and every layer's "final h" (and c) is ctx
  init     context init|both: h0_l = final h_l (c0_l = final c_l) with one
           direction; with two, or a conditional LM: h0_l = W_bh_l fin_h_l +
           b_bh_l, c0_l = W_bc_l fin_c_l + b_bc_l (fin = [hf;hb], or ctx; no
           nonlinearity).  context input: zeros
  decoder  nn.Embedding(Vt+1, E); an L-layer nn.LSTM / nn.GRU / nn.RNN run
           one step at a time (teacher forcing): step t reads
           x_t = [emb(y_{t-1}) ; ctx (context input|both) ; h~_{t-1}
           (attention; zeros at t = 0)], y_{-1} = BOS = id Vt; a
           conditional LM's "target" is the sequence itself
  attention scores over the pair's own source steps j (masked softmax):
           dot h.s_j, general h.(W s_j), additive v.tanh(W_q h + b_q + W_k s_j);
           c = sum_j a_j s_j; h~ = tanh(W_c [c ; h]) (no bias)
  output   logits = W_o h~ + b_o (W_o h + b_o without attention), Vt+1
           classes; targets: the target's tokens then EOS = id Vt
  loss     cross-entropy summed over every decoder step (EOS included) of
           every pair of the batch / the number of those steps
  eval     the same over a whole split in one batch, initial weights
  train    --no-shuffle: batch k of an epoch holds train pairs kB .. kB+B-1
           in file order, the last one possibly shorter, then the next
           epoch starts again at pair 0; each step zero_grad, forward,
           backward, global gradient L2 norm over every parameter (reported,
           no clipping), optimizer step (torch.optim.SGD(lr),
           torch.optim.Adam(lr) with torch's defaults).  Each case has one
           run whose 3 steps end an epoch on a short batch and one that
           wraps into the next epoch.

The truth is float32 (torch's default) with one thread.  Checks, all fatal
(exit 1, nothing is claimed):
  * per case, float64: the batched path (torch's packed encoder, torch's
    nn.LSTM / nn.GRU / nn.RNN decoder over the padded batch, masked
    attention; a conditional LM's label embedding through F.embedding)
    gives the same loss and gradients (within 1e-10) as a second,
    independent implementation that runs each pair (sequence) alone
    (hand-written cells over the unpadded source and target, attention
    written the other way round: general as (W^T h).s_j, the softmax by
    hand; the label's embedding row indexed directly), on a ragged training
    batch and on the whole train split; and every parameter gets some
    gradient;
  * per case: every float32 result (eval losses, per-step losses and
    gradient norms, final weights) is within CONDITION_MARGIN of the C
    test's tolerances of the same computation in float64 from the same
    float32 starting weights, and the weights move; a case that is not is
    retried with other initial weights (up to MAX_SEED_TRIES), so a case too
    ill-conditioned to test recur at those tolerances is never shipped.

Usage: /usr/bin/python3 tests/torch_s2s_reference.py OUTDIR [CASE ...]
       /usr/bin/python3 tests/torch_s2s_reference.py --list
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass

# Tolerances the C test applies (as tests/test_seq_reference.c).
LOSS_RTOL = 1e-4
W_ATOL = 1e-5
W_RTOL = 1e-4
# The float32 truth must be within this fraction of those tolerances of the
# float64 result (recur is another float32 implementation: it needs headroom).
CONDITION_MARGIN = 0.5
MAX_SEED_TRIES = 6
# "batched == each pair alone" in float64.
SAME_TOL = 1e-10

STEPS = 3
N_TRAIN, N_VAL = 11, 5
CELLS = ("rnn_tanh", "rnn_relu", "lstm", "lbr_gru")

# --------------------------------------------------------------------------
# The case matrix.  Vs / Vt: source / target vocabularies; a conditional LM
# has condition "label" (C labels) or "features" (F per sequence) instead of
# Vs; runs: (optimizer, B, lr); init_vocab: init.h5 stores the vocabularies
# (default: every other case).  With N_TRAIN = 11 and 3 steps: B=4 -> batches
# 0-3, 4-7, 8-10 (a short last batch ends the epoch); B=6 -> 0-5, 6-10
# (short), then 0-5 of epoch 2.
# --------------------------------------------------------------------------
CASES = [
    # (a) the G2P model of the README: bridge, additive attention.
    dict(name="lstm_bi_additive_init", cell="lstm", layers=2, bidirectional=1,
         attention="additive", context="init", end="eos", Vs=9, Vt=7, E=5, H=6,
         runs=[("sgd", 4, 0.5), ("adam", 6, 0.003)]),
    # (b) torch's GRU, one direction: the final states start the decoder and
    # are an input at every step, general (bilinear) attention.
    dict(name="lbr_gru_general_both", cell="lbr_gru", layers=1, bidirectional=0,
         attention="general", context="both", end="eos", Vs=8, Vt=6, E=4, H=7,
         runs=[("sgd", 6, 0.5), ("adam", 4, 0.003)]),
    # (c) dot attention, context only as an input (the decoder starts from 0).
    dict(name="lstm_dot_input", cell="lstm", layers=1, bidirectional=0,
         attention="dot", context="input", end="eos", Vs=10, Vt=6, E=5, H=8,
         runs=[("sgd", 4, 0.5), ("adam", 6, 0.003)]),
    # (d) no attention: a 2-layer bidirectional GRU through the bridge (h
    # only) and its 2H-wide context as an input; the head reads h_t.
    dict(name="lbr_gru_bi_none_both", cell="lbr_gru", layers=2, bidirectional=1,
         attention="none", context="both", end="eos", Vs=7, Vt=8, E=4, H=6,
         runs=[("sgd", 6, 0.5), ("adam", 4, 0.003)]),
    # (e) a plain tanh RNN, bidirectional encoder without bridge: general
    # attention over 2H-wide memory, 2H-wide context input.
    dict(name="rnn_tanh_bi_general_input", cell="rnn_tanh", layers=1, bidirectional=1,
         attention="general", context="input", end="eos", Vs=9, Vt=7, E=5, H=7,
         runs=[("sgd", 4, 0.3), ("adam", 6, 0.003)]),
    # Conditional language models (no encoder; C labels or F features).
    # (f) a label's embedding through the bridge into both layers' h and c,
    # and an input at every step.
    dict(name="clm_lstm_label_both", condition="label", cell="lstm", layers=2, bidirectional=0,
         attention="none", context="both", end="eos", C=4, Vt=7, E=5, H=6, init_vocab=True,
         runs=[("sgd", 4, 0.5), ("adam", 6, 0.003)]),
    # (g) the sequence's features through the bridge only (the dataset also
    # has labels, the default condition: init.h5's condition must win).
    dict(name="clm_lbr_gru_features_init", condition="features", cell="lbr_gru", layers=1,
         bidirectional=0, attention="none", context="init", end="eos", F=3, Vt=6, E=4, H=7,
         runs=[("sgd", 6, 0.5), ("adam", 4, 0.003)]),
    # (h) a label's embedding as an input only (the decoder starts from 0).
    dict(name="clm_rnn_tanh_label_input", condition="label", cell="rnn_tanh", layers=1,
         bidirectional=0, attention="none", context="input", end="eos", C=3, Vt=8, E=5, H=7,
         runs=[("sgd", 4, 0.3), ("adam", 6, 0.003)]),
    # (i) 2 relu layers, features both through the bridge and as an input.
    dict(name="clm_rnn_relu_features_both", condition="features", cell="rnn_relu", layers=2,
         bidirectional=0, attention="none", context="both", end="eos", F=4, Vt=7, E=4, H=6,
         init_vocab=False, runs=[("sgd", 6, 0.3), ("adam", 4, 0.003)]),
]


def use_init(cfg):
    return cfg["context"] in ("init", "both")


def cond(cfg):
    """"none" (an encoder-decoder), "label" or "features" (a conditional LM)."""
    return cfg.get("condition", "none")


def is_clm(cfg):
    return cond(cfg) != "none"


def ctx_width(cfg):
    """Cw: the context vector's width (the top encoder layer's final h, a
    label's embedding, or the sequence's features)."""
    c = cond(cfg)
    return cfg["H"] if c == "label" else cfg["F"] if c == "features" else dirs(cfg) * cfg["H"]


def bridged(cfg):
    """The initial states go through bridge/: a bidirectional encoder's or a
    conditional LM's context with context init|both."""
    return use_init(cfg) and (dirs(cfg) == 2 or is_clm(cfg))


def use_input(cfg):
    return cfg["context"] in ("input", "both")


def dirs(cfg):
    return 2 if cfg["bidirectional"] else 1


# --------------------------------------------------------------------------
# Tensor names (core/model.c create_s2s order) and torch's parameter names.
# --------------------------------------------------------------------------
def rnn_names(prefix, layers, bidirectional):
    out = []
    for k in range(layers):
        for s in (["", "_reverse"] if bidirectional else [""]):
            out += [f"{prefix}rnn/weight_ih_l{k}{s}", f"{prefix}rnn/weight_hh_l{k}{s}",
                    f"{prefix}rnn/bias_ih_l{k}{s}", f"{prefix}rnn/bias_hh_l{k}{s}"]
    return out


def extra_shapes(cfg):
    """(name, shape, fan_in) of the tensors outside the two stacks and the
    output layer, in create_s2s's order (fan_in None: N(0, 1) as nn.Embedding)."""
    H, D, L, Cw = cfg["H"], dirs(cfg), cfg["layers"], ctx_width(cfg)
    De = D * H
    out = []
    if cond(cfg) == "label":
        out.append(("context/embedding", (cfg["C"], H), None))
    if bridged(cfg):
        for k in range(L):
            for c in ("h", "c") if cfg["cell"] == "lstm" else ("h",):
                out += [(f"bridge/weight_{c}_l{k}", (H, Cw), Cw),
                        (f"bridge/bias_{c}_l{k}", (H,), Cw)]
    a = cfg["attention"]
    if a == "general":
        out.append(("attention/weight", (H, De), De))
    if a == "additive":
        out += [("attention/key_weight", (H, De), De), ("attention/query_weight", (H, H), H),
                ("attention/query_bias", (H,), H), ("attention/v", (H,), H)]
    if a != "none":
        out.append(("attention/combine_weight", (H, De + H), De + H))
    return out


def tensor_names(cfg):
    extra = [n for n, _, _ in extra_shapes(cfg)]
    ctx = [n for n in extra if n.startswith("context/")]
    bridge = [n for n in extra if n.startswith("bridge/")]
    att = [n for n in extra if n.startswith("attention/")]
    enc = [] if is_clm(cfg) else \
        ["encoder/embedding/weight"] + rnn_names("encoder/", cfg["layers"], cfg["bidirectional"])
    return (ctx + enc + ["decoder/embedding/weight"] + rnn_names("decoder/", cfg["layers"], False)
            + bridge + att + ["decoder/out/weight", "decoder/out/bias"])


def torch_name(ck):
    p = ck.split("/")
    if p[0] in ("encoder", "decoder"):
        return {"encoder": "enc_", "decoder": "dec_"}[p[0]] + \
            {"embedding": "emb", "rnn": "rnn", "out": "out"}[p[1]] + "." + p[2]
    return "extra." + p[0] + "__" + p[1]


# --------------------------------------------------------------------------
# One step of one direction of one layer (the hand-written cells).
# --------------------------------------------------------------------------
def cell_step(cell, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """x [B,in], h/c [B,H] -> (h', c' or None)."""
    gi = x @ w_ih.t() + b_ih
    if cell in ("rnn_tanh", "rnn_relu"):
        a = gi + h @ w_hh.t() + b_hh
        return (torch.tanh(a) if cell == "rnn_tanh" else torch.relu(a)), None
    if cell == "lstm":
        g = gi + h @ w_hh.t() + b_hh
        i, f, gg, o = g.chunk(4, dim=1)
        c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
        return torch.sigmoid(o) * torch.tanh(c2), c2
    if cell == "lbr_gru":  # exactly torch.nn.GRU
        i_r, i_z, i_n = gi.chunk(3, dim=1)
        h_r, h_z, h_n = (h @ w_hh.t() + b_hh).chunk(3, dim=1)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        return (1 - z) * n + z * h, None
    raise ValueError(cell)


def rnn_module(cell, insz, H, L, bidirectional):
    if cell == "lstm":
        return nn.LSTM(insz, H, L, bidirectional=bidirectional)
    if cell == "lbr_gru":
        return nn.GRU(insz, H, L, bidirectional=bidirectional)
    return nn.RNN(insz, H, L, nonlinearity=cell[4:], bidirectional=bidirectional)


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------
class S2S(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        assert cfg["cell"] in CELLS and cfg["end"] == "eos"
        assert not is_clm(cfg) or (cfg["attention"] == "none" and not cfg["bidirectional"])
        self.cfg = cfg
        E, H, L = cfg["E"], cfg["H"], cfg["layers"]
        if not is_clm(cfg):
            self.enc_emb = nn.Embedding(cfg["Vs"], E)
            self.enc_rnn = rnn_module(cfg["cell"], E, H, L, bool(cfg["bidirectional"]))
        self.dec_emb = nn.Embedding(cfg["Vt"] + 1, E)
        in0 = E + (ctx_width(cfg) if use_input(cfg) else 0) + (H if cfg["attention"] != "none" else 0)
        self.dec_rnn = rnn_module(cfg["cell"], in0, H, L, False)
        self.dec_out = nn.Linear(H, cfg["Vt"] + 1)
        extra = {}
        for n, shape, fan_in in extra_shapes(cfg):
            if fan_in is None:
                extra[n.replace("/", "__")] = nn.Parameter(torch.empty(shape).normal_())
            else:
                k = 1.0 / fan_in ** 0.5
                extra[n.replace("/", "__")] = nn.Parameter(torch.empty(shape).uniform_(-k, k))
        self.extra = nn.ParameterDict(extra)

    def x(self, name):
        return self.extra[name.replace("/", "__")]

    # ---- the batched path (the truth) ----
    def encode(self, srcs):
        """Packed encoder: memory [Ts, n, De] (zeros past each source's end),
        per layer final h (and c) [n, D*H].  A conditional LM: no memory, and
        its context vectors [n, Cw] (the labels' embedding rows, or the
        features) as every layer's final h (and c)."""
        cfg = self.cfg
        L, D = cfg["layers"], dirs(cfg)
        if is_clm(cfg):
            if cond(cfg) == "label":
                ctx = F.embedding(torch.stack(srcs), self.x("context/embedding"))
            else:
                ctx = torch.stack(srcs).to(self.dec_out.weight.dtype)
            return None, None, [ctx] * L, ([ctx] * L if cfg["cell"] == "lstm" else None)
        lens = [len(s) for s in srcs]
        packed = pack_padded_sequence(self.enc_emb(pad_sequence(srcs)), torch.as_tensor(lens),
                                      enforce_sorted=False)
        out, hn = self.enc_rnn(packed)
        mem, _ = pad_packed_sequence(out)
        h, c = hn if cfg["cell"] == "lstm" else (hn, None)
        fin_h = [torch.cat([h[k * D + d] for d in range(D)], dim=1) for k in range(L)]
        fin_c = None
        if c is not None:
            fin_c = [torch.cat([c[k * D + d] for d in range(D)], dim=1) for k in range(L)]
        return mem, lens, fin_h, fin_c

    def initial(self, fin_h, fin_c, n, dtype):
        cfg = self.cfg
        L, H, lstm = cfg["layers"], cfg["H"], cfg["cell"] == "lstm"
        if not use_init(cfg):
            z = torch.zeros(L, n, H, dtype=dtype)
            return (z, z.clone()) if lstm else z
        hs, cs = [], []
        for k in range(L):
            if not bridged(cfg):
                hs.append(fin_h[k])
                if lstm:
                    cs.append(fin_c[k])
            else:
                hs.append(fin_h[k] @ self.x(f"bridge/weight_h_l{k}").t() + self.x(f"bridge/bias_h_l{k}"))
                if lstm:
                    cs.append(fin_c[k] @ self.x(f"bridge/weight_c_l{k}").t() + self.x(f"bridge/bias_c_l{k}"))
        return (torch.stack(hs), torch.stack(cs)) if lstm else torch.stack(hs)

    def attend(self, h, mem, keys, mask):
        """h [n,H], mem [Ts,n,De], keys [Ts,n,H] (general, additive), mask
        [Ts,n] -> h~ [n,H]."""
        kind = self.cfg["attention"]
        if kind == "dot":
            sc = (mem * h.unsqueeze(0)).sum(-1)
        elif kind == "general":
            sc = (keys * h.unsqueeze(0)).sum(-1)
        else:
            q = h @ self.x("attention/query_weight").t() + self.x("attention/query_bias")
            sc = torch.tanh(keys + q.unsqueeze(0)) @ self.x("attention/v")
        a = torch.softmax(sc.masked_fill(~mask, float("-inf")), dim=0)
        ctx = (a.unsqueeze(-1) * mem).sum(0)
        return torch.tanh(torch.cat([ctx, h], dim=1) @ self.x("attention/combine_weight").t())

    def loss_batched(self, srcs, tgts):
        cfg = self.cfg
        Vt, att = cfg["Vt"], cfg["attention"] != "none"
        n = len(srcs)
        mem, lens, fin_h, fin_c = self.encode(srcs)
        dtype = fin_h[-1].dtype
        keys = mask = None
        if att:
            Ts = mem.shape[0]
            mask = torch.arange(Ts).view(Ts, 1) < torch.as_tensor(lens).view(1, n)
        if cfg["attention"] == "general":
            keys = mem @ self.x("attention/weight").t()
        elif cfg["attention"] == "additive":
            keys = mem @ self.x("attention/key_weight").t()
        Td = max(len(t) for t in tgts) + 1
        dec_in = torch.zeros(Td, n, dtype=torch.long)
        dec_out = torch.full((Td, n), -100, dtype=torch.long)
        dec_in[0] = Vt  # BOS
        for i, t in enumerate(tgts):
            dec_in[1:len(t) + 1, i] = t
            dec_out[:len(t), i] = t
            dec_out[len(t), i] = Vt  # EOS
        hx = self.initial(fin_h, fin_c, n, dtype)
        ctx = fin_h[-1]
        feed = torch.zeros(n, cfg["H"], dtype=dtype)
        logits = []
        for t in range(Td):
            parts = [self.dec_emb(dec_in[t])]
            if use_input(cfg):
                parts.append(ctx)
            if att:
                parts.append(feed)
            y, hx = self.dec_rnn(torch.cat(parts, dim=1).unsqueeze(0), hx)
            h = y[0]
            o = self.attend(h, mem, keys, mask) if att else h
            feed = o
            logits.append(self.dec_out(o))
        z = torch.stack(logits)
        return F.cross_entropy(z.reshape(-1, Vt + 1), dec_out.reshape(-1), ignore_index=-100)

    # ---- the independent path: each pair alone, hand-written cells ----
    def _rp(self, prefix, k, sfx):
        m = self.enc_rnn if prefix == "enc" else self.dec_rnn
        return [getattr(m, f"{w}_l{k}{sfx}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def encode_alone(self, src):
        """One source through hand-written cells: memory [T, De], per layer
        final h (and c) [1, D*H]."""
        cfg = self.cfg
        cell, L, H, D = cfg["cell"], cfg["layers"], cfg["H"], dirs(cfg)
        lstm = cell == "lstm"
        T = len(src)
        inp = self.enc_emb(src)  # [T, E]
        fin_h, fin_c = [], []
        for k in range(L):
            outs, fh, fc = [], [], []
            for d in range(D):
                w = self._rp("enc", k, "_reverse" if d else "")
                h = inp.new_zeros(1, H)
                c = inp.new_zeros(1, H) if lstm else None
                ys = [None] * T
                for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                    h, c = cell_step(cell, inp[t:t + 1], h, c, *w)
                    ys[t] = h
                outs.append(torch.cat(ys))
                fh.append(h)
                fc.append(c)
            inp = torch.cat(outs, dim=1)
            fin_h.append(torch.cat(fh, dim=1))
            fin_c.append(torch.cat(fc, dim=1) if lstm else None)
        return inp, fin_h, fin_c

    def loss_alone_sum(self, src, tgt):
        """(summed cross-entropy, decoder steps) of one pair (a conditional
        LM: of one sequence, src its label or its features)."""
        cfg = self.cfg
        cell, L, H, Vt = cfg["cell"], cfg["layers"], cfg["H"], cfg["Vt"]
        lstm = cell == "lstm"
        if is_clm(cfg):
            if cond(cfg) == "label":  # the row, by index (the batched path: F.embedding)
                v = self.x("context/embedding")[int(src)].unsqueeze(0)
            else:
                v = src.to(self.dec_out.weight.dtype).unsqueeze(0)
            mem = None
            fin_h, fin_c = [v] * L, [v if lstm else None] * L
        else:
            mem, fin_h, fin_c = self.encode_alone(src)
        like = fin_h[-1]
        hs, cs = [], []
        for k in range(L):
            if not use_init(cfg):
                hs.append(like.new_zeros(1, H))
                cs.append(like.new_zeros(1, H) if lstm else None)
            elif not bridged(cfg):
                hs.append(fin_h[k])
                cs.append(fin_c[k])
            else:
                hs.append(fin_h[k] @ self.x(f"bridge/weight_h_l{k}").t() + self.x(f"bridge/bias_h_l{k}"))
                cs.append(fin_c[k] @ self.x(f"bridge/weight_c_l{k}").t() + self.x(f"bridge/bias_c_l{k}")
                          if lstm else None)
        ctx = fin_h[-1]
        ins = [Vt] + [int(v) for v in tgt]
        outs = [int(v) for v in tgt] + [Vt]
        feed = like.new_zeros(1, H)
        total = 0
        for t in range(len(ins)):
            parts = [self.dec_emb.weight[ins[t]].unsqueeze(0)]
            if use_input(cfg):
                parts.append(ctx)
            if cfg["attention"] != "none":
                parts.append(feed)
            x = torch.cat(parts, dim=1)
            for k in range(L):
                hs[k], cs[k] = cell_step(cell, x, hs[k], cs[k], *self._rp("dec", k, ""))
                x = hs[k]
            h = hs[-1]
            kind = cfg["attention"]
            if kind != "none":
                if kind == "dot":
                    sc = mem @ h[0]
                elif kind == "general":  # h.(W s_j) = (W^T h).s_j
                    sc = mem @ (self.x("attention/weight").t() @ h[0])
                else:
                    pre = mem @ self.x("attention/key_weight").t() + \
                        (self.x("attention/query_weight") @ h[0] + self.x("attention/query_bias"))
                    sc = torch.tanh(pre) @ self.x("attention/v")
                e = torch.exp(sc - sc.max())
                a = e / e.sum()
                c = a @ mem
                wc = self.x("attention/combine_weight")
                De = mem.shape[1]
                o = torch.tanh(wc[:, :De] @ c + wc[:, De:] @ h[0]).unsqueeze(0)
                feed = o
            else:
                o = h
            z = (self.dec_out.weight @ o[0] + self.dec_out.bias)
            total = total + (torch.logsumexp(z, 0) - z[outs[t]])
        return total, len(ins)

    def loss(self, batch, path="batched"):
        srcs, tgts = batch
        if path == "batched":
            return self.loss_batched(srcs, tgts)
        tot, steps = 0, 0
        for s, t in zip(srcs, tgts):
            lo, k = self.loss_alone_sum(s, t)
            tot, steps = tot + lo, steps + k
        return tot / steps


def get_params(m):
    sd = m.state_dict()
    return {n: sd[torch_name(n)].detach().cpu().numpy().astype(np.float32) for n in tensor_names(m.cfg)}


def build(cfg, params, dtype):
    m = S2S(cfg).to(dtype)
    ps = dict(m.named_parameters())
    assert sorted(ps) == sorted(torch_name(n) for n in tensor_names(cfg)), sorted(ps)
    with torch.no_grad():
        for n, v in params.items():
            p = ps[torch_name(n)]
            assert tuple(p.shape) == v.shape, (n, p.shape, v.shape)
            p.copy_(torch.from_numpy(np.asarray(v)).to(dtype))
    return m


# --------------------------------------------------------------------------
# Data and files
# --------------------------------------------------------------------------
def make_lengths(rng, n, hi, long_lo, long_hi):
    """Lengths 1..hi, a 1, a 2..3 and one in long_lo..long_hi always
    present, never sorted."""
    while True:
        lens = rng.integers(1, hi + 1, size=n)
        pos = rng.permutation(n)
        lens[pos[0]] = 1
        lens[pos[1]] = int(rng.integers(long_lo, long_hi + 1))
        lens[pos[2]] = int(rng.integers(2, 4))
        if not (np.all(np.diff(lens) >= 0) or np.all(np.diff(lens) <= 0)):
            return [int(v) for v in lens]


def make_split(cfg, rng, n):
    if is_clm(cfg):
        return make_clm_split(cfg, rng, n)
    while True:
        ls = make_lengths(rng, n, 12, 15, 18)
        lt = make_lengths(rng, n, 10, 12, 14)
        # recur packs sources and targets by their own lengths: make the two
        # orders differ so the encoder-slot to decoder-slot map is not the identity.
        if list(np.argsort(ls, kind="stable")) != list(np.argsort(lt, kind="stable")):
            break

    def offsets(lens):
        return np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)

    return {"src_offsets": offsets(ls),
            "src_tokens": rng.integers(0, cfg["Vs"], size=sum(ls)).astype(np.int32),
            "tgt_offsets": offsets(lt),
            "tgt_tokens": rng.integers(0, cfg["Vt"], size=sum(lt)).astype(np.int32)}


def make_clm_split(cfg, rng, n):
    """A conditional LM's sequences (recur-sequences fields): target lengths
    as a pair split's, a label each (every label seen when n >= C; written
    for features too, so the dataset is a classify one that --condition
    features must override), and for features a context vector each."""
    lt = make_lengths(rng, n, 10, 12, 14)
    C = cfg.get("C", 3)
    labels = rng.integers(0, C, size=n)
    labels[:min(n, C)] = rng.permutation(C)[:n]
    s = {"offsets": np.concatenate([[0], np.cumsum(lt)]).astype(np.int64),
         "tokens": rng.integers(0, cfg["Vt"], size=sum(lt)).astype(np.int32),
         "labels": labels.astype(np.int32)}
    if cond(cfg) == "features":
        s["context"] = rng.standard_normal((n, cfg["F"])).astype(np.float32)
    return s


def label_names(cfg):
    return [f"label{c}" for c in range(cfg.get("C", 3))]


def vocab_bytes(first, V):
    return np.frombuffer(bytes(range(ord(first), ord(first) + V)), dtype=np.uint8)


def write_dataset(path, cfg, splits):
    if is_clm(cfg):  # a "recur-sequences" file (io/seqdata.h), task classify
        with h5py.File(path, "w") as f:
            f.attrs["format"] = "recur-sequences"
            f.attrs["version"] = 1
            f.attrs["task"] = "classify"
            for name, s in splits.items():
                g = f.create_group(name)
                for k, v in s.items():
                    g.create_dataset(k, data=v)
            f.create_dataset("vocab", data=vocab_bytes("A", cfg["Vt"]))
            f.create_dataset("label_names", data=label_names(cfg), dtype=h5py.string_dtype("utf-8"))
        return
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "recur-pairs"
        f.attrs["version"] = 1
        for name, s in splits.items():
            g = f.create_group(name)
            for k, v in s.items():
                g.create_dataset(k, data=v)
        f.create_dataset("src_vocab", data=vocab_bytes("a", cfg["Vs"]))
        f.create_dataset("tgt_vocab", data=vocab_bytes("A", cfg["Vt"]))


def write_checkpoint(path, cfg, params, with_vocab=False):
    with h5py.File(path, "w") as f:
        a = f.attrs
        a["format"] = "recur-checkpoint"
        a["version"] = 1
        a["cell"] = cfg["cell"]
        a["task"] = "seq2seq"
        if is_clm(cfg):
            a["condition"] = cond(cfg)
        a["vocab_size"] = cfg["Vt"]
        a["embed_size"] = cfg["E"]
        a["hidden_size"] = cfg["H"]
        a["num_layers"] = cfg["layers"]
        a["src_vocab_size"] = cfg["C"] if cond(cfg) == "label" else 0 if is_clm(cfg) else cfg["Vs"]
        if cond(cfg) == "features":
            a["input_size"] = cfg["F"]
        a["bidirectional"] = int(cfg["bidirectional"])
        if cfg["bidirectional"]:
            a["merge"] = "concat"
        a["attention"] = cfg["attention"]
        a["context"] = cfg["context"]
        a["end"] = cfg["end"]
        for n in tensor_names(cfg):
            f.create_dataset("model/" + n, data=np.asarray(params[n], dtype=np.float32))
        if with_vocab:  # a conditional LM: the label names (label) or nothing (features) as /src_vocab
            if cond(cfg) == "label":
                f.create_dataset("src_vocab", data=label_names(cfg), dtype=h5py.string_dtype("utf-8"))
            elif not is_clm(cfg):
                f.create_dataset("src_vocab", data=vocab_bytes("a", cfg["Vs"]))
            f.create_dataset("tgt_vocab", data=vocab_bytes("A", cfg["Vt"]))


def batch_of(cfg, split, idx):
    """Pairs idx of a split as (sources, targets), lists of LongTensors; for
    a conditional LM the "sources" are the sequences' labels (0-d
    LongTensors) or context vectors (float64 [F])."""
    if is_clm(cfg):
        o = split["offsets"]
        tgts = [torch.as_tensor(split["tokens"][o[i]:o[i + 1]].astype(np.int64)) for i in idx]
        if cond(cfg) == "label":
            return [torch.tensor(int(split["labels"][i])) for i in idx], tgts
        return [torch.as_tensor(split["context"][i].astype(np.float64)) for i in idx], tgts
    so, to = split["src_offsets"], split["tgt_offsets"]
    srcs = [torch.as_tensor(split["src_tokens"][so[i]:so[i + 1]].astype(np.int64)) for i in idx]
    tgts = [torch.as_tensor(split["tgt_tokens"][to[i]:to[i + 1]].astype(np.int64)) for i in idx]
    return srcs, tgts


def n_pairs(split):
    return len(split["src_offsets" if "src_offsets" in split else "offsets"]) - 1


def batch_indices(n, B, step):
    """--no-shuffle: the pairs of (0-based) step `step`."""
    nb = (n + B - 1) // B
    k = step % nb
    return list(range(k * B, min(k * B + B, n)))


# --------------------------------------------------------------------------
# Eval and training
# --------------------------------------------------------------------------
def eval_loss(cfg, params, split, dtype):
    m = build(cfg, params, dtype)
    with torch.no_grad():
        return float(m.loss(batch_of(cfg, split, range(n_pairs(split)))))


def train(cfg, params, split, B, opt, lr, steps, dtype):
    m = build(cfg, params, dtype)
    ps = list(m.parameters())
    o = torch.optim.SGD(ps, lr=lr) if opt == "sgd" else torch.optim.Adam(ps, lr=lr)
    losses, norms, batches = [], [], []
    for s in range(steps):
        idx = batch_indices(n_pairs(split), B, s)
        loss = m.loss(batch_of(cfg, split, idx))
        o.zero_grad()
        loss.backward()
        gn = torch.norm(torch.stack([torch.norm(p.grad.detach(), 2) for p in ps]), 2)
        o.step()
        losses.append(float(loss))
        norms.append(float(gn))
        batches.append(idx)
    return get_params(m), losses, norms, batches


# --------------------------------------------------------------------------
# Self-checks (float64)
# --------------------------------------------------------------------------
def fail(msg):
    print("torch_s2s_reference: SELF-CHECK FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


def loss_and_grads(m, batch, path):
    m.zero_grad()
    loss = m.loss(batch, path)
    loss.backward()
    return float(loss), {n: (p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p))
                         for n, p in m.named_parameters()}


def selfcheck_paths(cfg, params, split, B):
    """float64: the batched path == each pair alone, on a ragged training
    batch and on the whole train split; every parameter gets a gradient."""
    m = build(cfg, params, torch.float64)
    worst = 0.0
    for idx in (batch_indices(n_pairs(split), B, 0), list(range(n_pairs(split)))):
        batch = batch_of(cfg, split, idx)
        ls = [1] * len(idx) if is_clm(cfg) else [len(x) for x in batch[0]]
        lt = [len(x) for x in batch[1]]
        if len(idx) == n_pairs(split):  # make_split's promise: ragged and unsorted
            assert sorted(lt) != lt and 1 in lt, lt
            assert is_clm(cfg) or (sorted(ls) != ls and 1 in ls), ls
        ref_loss, ref_g = loss_and_grads(m, batch, "batched")
        lo, gr = loss_and_grads(m, batch, "alone")
        d = abs(lo - ref_loss) / max(abs(ref_loss), 1e-30)
        for n in ref_g:
            scale = 1.0 + float(ref_g[n].abs().max())
            d = max(d, float((gr[n] - ref_g[n]).abs().max()) / scale)
        worst = max(worst, d)
        if not d <= SAME_TOL:
            fail(f"{cfg['name']}: each pair alone differs from the batched path by {d:.3g} on pairs "
                 f"{idx} (source lengths {ls}, target lengths {lt})")
        if len(idx) == n_pairs(split):
            for n, gv in ref_g.items():
                if float(gv.abs().max()) == 0.0:
                    fail(f"{cfg['name']}: no gradient reaches {n}")
    return worst


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------
def weight_violation(got, want):
    """max over elements of |a-b| / (atol + rtol*|b|) (<= 1 passes)."""
    worst = 0.0
    for n in want:
        a = np.asarray(got[n], dtype=np.float64)
        b = np.asarray(want[n], dtype=np.float64)
        worst = max(worst, float((np.abs(a - b) / (W_ATOL + W_RTOL * np.abs(b))).max()))
    return worst


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-30)


def init_params(cfg, seed):
    torch.manual_seed(seed)
    m = S2S(cfg)
    with torch.no_grad():  # a bit sharper than torch's init so losses and attention move
        for n, p in m.named_parameters():
            if "rnn." in n:
                p.mul_(1.5)
            elif n.startswith(("dec_out.", "extra.attention")):
                p.mul_(2.0)
    return get_params(m)


def run_case(cfg, ci, outdir, use64):
    name = cfg["name"]
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(9000 + ci)
    splits = {"train": make_split(cfg, rng, N_TRAIN), "val": make_split(cfg, rng, N_VAL)}
    write_dataset(os.path.join(d, "data.h5"), cfg, splits)
    with_vocab = cfg.get("init_vocab", ci % 2 == 0)
    data_rel, init_rel = f"{name}/data.h5", f"{name}/init.h5"

    for attempt in range(MAX_SEED_TRIES):
        seed = 3000 + ci + 100 * attempt
        problems, lines, worst64 = [], [], 0.0
        init = init_params(cfg, seed)
        write_checkpoint(os.path.join(d, "init.h5"), cfg, init, with_vocab)
        same = selfcheck_paths(cfg, init, splits["train"], cfg["runs"][0][1])
        clm = is_clm(cfg)
        if clm:
            lengths = {s: {"target": np.diff(v["offsets"]).tolist(), "labels": v["labels"].tolist()}
                       for s, v in splits.items()}
        else:
            lengths = {s: {"source": np.diff(v["src_offsets"]).tolist(),
                           "target": np.diff(v["tgt_offsets"]).tolist()} for s, v in splits.items()}
        case = {"name": name, "seed": seed, "task": "clm" if clm else "seq2seq", "cell": cfg["cell"],
                "layers": cfg["layers"], "bidirectional": cfg["bidirectional"],
                "condition": cond(cfg), "attention": cfg["attention"], "context": cfg["context"],
                "end": cfg["end"],
                "sizes": {k: cfg[k] for k in ("Vs", "C", "F", "Vt", "E", "H") if k in cfg},
                "lengths": lengths,
                "data": data_rel, "init": init_rel, "init_has_vocab": with_vocab,
                "tensors": tensor_names(cfg),
                "batched_vs_alone_max_diff": same, "eval": [], "runs": []}
        if clm:
            lines.append(f"case {name} clm {cfg['cell']} {cfg['layers']} 0 {cond(cfg)} - {data_rel} "
                         f"{init_rel}")
        else:
            lines.append(f"case {name} seq2seq {cfg['cell']} {cfg['layers']} {cfg['bidirectional']} "
                         f"tokens - {data_rel} {init_rel}")
        for sname in ("train", "val"):
            ev = eval_loss(cfg, init, splits[sname], torch.float32)
            e = {"split": sname, "expected_loss": ev,
                 "args": ["eval", "--model", init_rel, "--data", data_rel, "--split", sname, "--json"]}
            if use64:
                ev64 = eval_loss(cfg, init, splits[sname], torch.float64)
                e["float64_loss"] = ev64
                worst64 = max(worst64, rel(ev, ev64) / LOSS_RTOL)
                if rel(ev, ev64) > CONDITION_MARGIN * LOSS_RTOL:
                    problems.append(f"{name} eval {sname}: float32 {ev!r} vs float64 {ev64!r}")
            case["eval"].append(e)
            lines.append(f"eval {name} {sname} {ev!r}")
        wraps = short = False
        for opt, B, lr in cfg["runs"]:
            final, losses, norms, batches = train(cfg, init, splits["train"], B, opt, lr, STEPS,
                                                  torch.float32)
            nb = (N_TRAIN + B - 1) // B
            wraps = wraps or STEPS > nb
            short = short or any(len(b) < B for b in batches)
            run = f"{name}/{opt}"
            exp = f"{name}/expected_{opt}.h5"
            write_checkpoint(os.path.join(outdir, exp), cfg, final)
            cli = ["train", "--data", data_rel] + (["--task", "lm"] if clm else []) + \
                ["--init", init_rel, "--steps", str(STEPS),
                   "--no-shuffle", "--batch", str(B), "--optimizer", opt, "--lr", repr(lr),
                   "--clip", "0", "--out", "OUT.h5", "--metrics", "METRICS.jsonl"]
            tl = case["lengths"]["train"]
            r = {"name": run, "expected": exp, "args": cli, "batch": B, "steps": STEPS,
                 "batches_per_epoch": nb, "optimizer": opt, "lr": lr, "clip": 0.0,
                 "batches": batches,
                 **({} if clm else
                    {"batch_source_lengths": [[tl["source"][i] for i in b] for b in batches]}),
                 "batch_target_lengths": [[tl["target"][i] for i in b] for b in batches],
                 "losses": losses, "grad_norms": norms}
            lines.append(f"train {run} {exp} {STEPS} {B} {opt} {lr!r} 0")
            for s, (lo, g) in enumerate(zip(losses, norms), 1):
                lines.append(f"step {run} {s} {lo!r} {g!r}")
            if use64:
                f64, l64, n64, _ = train(cfg, init, splits["train"], B, opt, lr, STEPS,
                                         torch.float64)
                wv = weight_violation(final, f64)
                lv = max(rel(a, b) for a, b in zip(losses, l64))
                gv = max(rel(a, b) for a, b in zip(norms, n64))
                r["float64"] = {"losses": l64, "grad_norms": n64, "max_loss_rel": lv,
                                "max_grad_norm_rel": gv, "weight_violation": wv}
                frac = max(wv, lv / LOSS_RTOL, gv / LOSS_RTOL)
                worst64 = max(worst64, frac)
                if frac > CONDITION_MARGIN:
                    problems.append(f"{run}: float32 truth vs float64: weight violation {wv:.3g}, "
                                    f"loss rel {lv:.3g}, grad-norm rel {gv:.3g}")
                moved = max(float(np.abs(final[n] - init[n]).max()) for n in final)
                r["max_weight_change"] = moved
                if moved < 100 * W_ATOL:
                    problems.append(f"{run}: weights barely move ({moved:.3g})")
            case["runs"].append(r)
        if not wraps or not short:
            fail(f"{name}: the runs must include a short last batch and an epoch wrap")
        case["float64_worst_fraction_of_tolerance"] = worst64
        if not problems:
            return case, lines, [], worst64
        for p in problems:
            print(f"torch_s2s_reference: seed {seed}: {p}; trying other initial weights",
                  file=sys.stderr)
    return case, lines, problems, worst64


def main():
    ap = argparse.ArgumentParser(
        description="PyTorch truth for recur's seq2seq reference tests: pair datasets, initial "
                    "checkpoints, expected losses and weights in OUTDIR (format: see the top of "
                    "this file).")
    ap.add_argument("outdir", nargs="?")
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    ap.add_argument("--list", action="store_true", help="print the case names and exit")
    ap.add_argument("--no-float64", action="store_true", help="skip the float64 conditioning runs")
    args = ap.parse_args()
    if args.list:
        for c in CASES:
            print(c["name"])
        return 0
    if not args.outdir:
        ap.error("OUTDIR is required")
    by_name = {c["name"]: c for c in CASES}
    unknown = [c for c in args.cases if c not in by_name]
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    wanted = set(args.cases or by_name)
    os.makedirs(args.outdir, exist_ok=True)

    manifest = {"tolerances": {"loss_rtol": LOSS_RTOL, "weight_atol": W_ATOL,
                               "weight_rtol": W_RTOL, "condition_margin": CONDITION_MARGIN},
                "torch": torch.__version__, "cases": []}
    lines, problems, worst = [], [], 0.0
    for ci, cfg in enumerate(CASES):  # ci fixed per case: a subset gives the same files
        if cfg["name"] not in wanted:
            continue
        case, case_lines, case_problems, w = run_case(cfg, ci, args.outdir, not args.no_float64)
        manifest["cases"].append(case)
        lines += case_lines
        problems += case_problems
        worst = max(worst, w)
    manifest["float64_worst_fraction_of_tolerance"] = worst
    with open(os.path.join(args.outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    with open(os.path.join(args.outdir, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if problems:
        for p in problems:
            print("torch_s2s_reference: " + p, file=sys.stderr)
        return 1
    same = max(c["batched_vs_alone_max_diff"] for c in manifest["cases"])
    print(f"torch_s2s_reference: {len(manifest['cases'])} cases, "
          f"{sum(len(c['runs']) for c in manifest['cases'])} training runs written to "
          f"{args.outdir}; batched == each pair alone within {same:.2g} (float64); float32 "
          f"truth within {worst:.3g} of the tolerance vs float64")
    return 0


if __name__ == "__main__":
    sys.exit(main())
