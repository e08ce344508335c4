#!/usr/bin/python3
"""torch_seq_reference.py OUTDIR [CASE ...] - PyTorch "truth" for recur's
sequence models (issue 9: classify / tag / regress heads, bidirectional
layers, feature inputs, packed batches of mixed lengths).

For every case (all of CASES below unless names are given; --list prints
them) this writes into OUTDIR/<case>/:

  data.h5              a "recur-sequences" file (io/seqdata.h): /train (11
                       sequences) and /val (5), lengths 1..~40 in no order,
                       so every batch is ragged and unsorted
  init.h5              a "recur-checkpoint" with random weights: the root
                       attributes format, version, cell, vocab_size,
                       embed_size, hidden_size, num_layers (vocab_size =
                       embed_size = 0 for feature inputs), task,
                       bidirectional, input_size (feature inputs only),
                       num_classes (classify, tag) or output_size (regress),
                       pooling (classify and per-sequence regress only), and
                       /model with PyTorch's names: embedding/weight (token
                       inputs only), rnn/weight_ih_l{k}, weight_hh_l{k},
                       bias_ih_l{k}, bias_hh_l{k} and their _reverse
                       variants, head/weight [C or K, D*H], head/bias
  expected_<run>.h5    the weights PyTorch ends with after
                         recur train --data data.h5 --init init.h5 --steps 3
                             --no-shuffle --batch B --optimizer sgd|adam
                             --lr LR --clip 0
                       (same root attributes and /model layout as init.h5)

and, for all cases, OUTDIR/manifest.json (human readable: every case, its
sizes, lengths, files, CLI arguments, the sequences of every batch, expected
and float64 losses, per-step losses and gradient norms) and OUTDIR/cases.txt,
one whitespace-separated record a line, for tests/wip/test_seq_reference.c:

  case  <case> <task> <cell> <layers> <bidirectional 0|1> <tokens|features> <pooling|-> <data> <init>
  eval  <case> <split> <expected_loss>
  train <case>/<run> <expected.h5> <steps> <batch> <sgd|adam> <lr> <clip>
  step  <case>/<run> <step> <loss> <grad_norm>

A case line comes first; its eval and train lines follow, each train line
followed by its step lines (steps 1..steps).  File names are relative to
OUTDIR.  Numbers are printed with repr() so they round-trip exactly.

Semantics (issue 9 section 2):
  model    tokens -> nn.Embedding(V, E), or F float features per step;
           L stacked layers of nn.LSTM / nn.GRU (= recur's lbr_gru) /
           nn.RNN(tanh|relu) (bidirectional: outputs concatenated, D = 2),
           on pack_padded_sequence(enforce_sorted=False); recur's `gru` (the
           textbook GRU, r applied to h before W_hn, z weights the candidate)
           is a hand-written cell with nn.GRU's names, shapes and gate order,
           run over the padded batch with a mask (no state change past a
           sequence's end; the reverse direction starts at each sequence's
           own last step)
  pooling  last: cat(h_n[-2], h_n[-1]) when bidirectional (the top layer's
           forward state at the sequence's last step and its reverse state
           at its first step), else h_n[-1]; mean / max: over each
           sequence's own steps of the top layer's output
  head     nn.Linear(D*H, C or K) on the pooled vector (classify, regress
           with /seq_targets) or on every step's output (tag, regress with
           /targets)
  loss     classify: mean cross-entropy over the batch's sequences;
           tag: mean cross-entropy over the batch's steps;
           regress: nn.MSELoss() over all target elements of the batch
  eval     the same loss over a whole split in one batch (mean over all its
           sequences / steps / target elements), initial weights
  train    --no-shuffle: batch k of an epoch holds train sequences
           kB .. kB+B-1 in file order, the last one possibly shorter, then
           the next epoch starts again at sequence 0; each step zero_grad,
           forward, backward, global gradient L2 norm (reported, no
           clipping), optimizer step (torch.optim.SGD(lr), torch.optim.Adam(lr)
           with torch's defaults).  Each case has one run whose 3 steps end
           an epoch on a short batch and one that wraps into the next epoch.

The truth is float32 (torch's default) with one thread.  Checks, all fatal
(exit 1, nothing is claimed):
  * the hand-written textbook GRU: autograd vs finite differences through a
    bidirectional 2-layer masked stack (float64), and one step against the
    formula written out per unit;
  * per case, float64: the packed batch (torch's packed path, or the mask
    loop for the textbook GRU) gives the same loss and gradients as running
    each sequence alone (a batch of one, no padding), and the mask loop with
    every cell equals torch's packed modules, on a ragged training batch and
    on the whole train split;
  * per case: every float32 result (eval losses, per-step losses and
    gradient norms, final weights) is within CONDITION_MARGIN of the C
    test's tolerances of the same computation in float64 from the same
    float32 starting weights; a case that is not is retried with other
    initial weights (up to MAX_SEED_TRIES), so a case too ill-conditioned to
    test recur at those tolerances is never shipped.

Usage: /usr/bin/python3 tests/torch_seq_reference.py OUTDIR [CASE ...]
       /usr/bin/python3 tests/torch_seq_reference.py --list
"""
import argparse
import json
import math
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

# Tolerances the C test applies (issue 9 section 4).
LOSS_RTOL = 1e-4
W_ATOL = 1e-5
W_RTOL = 1e-4
# The float32 truth must be within this fraction of those tolerances of the
# float64 result (recur is another float32 implementation: it needs headroom).
CONDITION_MARGIN = 0.5
MAX_SEED_TRIES = 6
# "packed == each sequence alone" and "mask loop == torch" in float64.
SAME_TOL = 1e-10

STEPS = 3
N_TRAIN, N_VAL = 11, 5
CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru", "lbr_gru")


# --------------------------------------------------------------------------
# The case matrix.  out = C (classify, tag) or K (regress); runs: (run, B, lr).
# With N_TRAIN = 11 and 3 steps: B=4 -> batches 0-3, 4-7, 8-10 (a short last
# batch ends the epoch); B=6 -> 0-5, 6-10 (short), then 0-5 of epoch 2.
# --------------------------------------------------------------------------
CASES = [
    dict(name="lstm_bi_cls", task="classify", cell="lstm", layers=2, bidirectional=1,
         inputs="tokens", V=13, E=6, H=10, out=4, pooling="last", per_step=0,
         runs=[("sgd", 4, 0.5), ("adam", 6, 0.003)]),
    dict(name="lbr_gru_cls", task="classify", cell="lbr_gru", layers=2, bidirectional=0,
         inputs="tokens", V=11, E=5, H=12, out=3, pooling="mean", per_step=0,
         runs=[("sgd", 6, 0.5), ("adam", 4, 0.003)]),
    dict(name="rnn_tanh_bi_tag", task="tag", cell="rnn_tanh", layers=2, bidirectional=1,
         inputs="tokens", V=9, E=4, H=8, out=5, pooling=None, per_step=1,
         runs=[("sgd", 4, 0.3), ("adam", 6, 0.003)]),
    dict(name="lstm_bi_reg_seq", task="regress", cell="lstm", layers=1, bidirectional=1,
         inputs="features", F=3, H=9, out=2, pooling="max", per_step=0,
         runs=[("sgd", 6, 0.1), ("adam", 4, 0.003)]),
    dict(name="rnn_relu_reg_step", task="regress", cell="rnn_relu", layers=2, bidirectional=0,
         inputs="features", F=4, H=10, out=2, pooling=None, per_step=1,
         runs=[("sgd", 4, 0.05), ("adam", 6, 0.003)]),
    dict(name="gru_bi_cls", task="classify", cell="gru", layers=2, bidirectional=1,
         inputs="tokens", V=10, E=5, H=8, out=3, pooling="last", per_step=0,
         runs=[("sgd", 6, 0.5), ("adam", 4, 0.003)]),
]


# --------------------------------------------------------------------------
# One step of one direction of one layer (all five cells).
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
    H = h.shape[1]
    i_r, i_z, i_n = gi.chunk(3, dim=1)
    if cell == "lbr_gru":  # exactly torch.nn.GRU
        h_r, h_z, h_n = (h @ w_hh.t() + b_hh).chunk(3, dim=1)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        return (1 - z) * n + z * h, None
    if cell == "gru":  # textbook: reset applied before W_hn, z weights the candidate
        w_hr, w_hz, w_hn = w_hh[:H], w_hh[H:2 * H], w_hh[2 * H:]
        b_hr, b_hz, b_hn = b_hh[:H], b_hh[H:2 * H], b_hh[2 * H:]
        r = torch.sigmoid(i_r + h @ w_hr.t() + b_hr)
        z = torch.sigmoid(i_z + h @ w_hz.t() + b_hz)
        n = torch.tanh(i_n + (r * h) @ w_hn.t() + b_hn)
        return (1 - z) * h + z * n, None
    raise ValueError(cell)


def mask_stack(cell, params, x, lengths, layers, bidirectional):
    """The layer stack over a padded time-major batch x [T,B,in] with a mask:
    a sequence's state does not change past its end, the reverse direction
    starts (from zero) at each sequence's own last step.  params(name) gives
    the tensor called weight_ih_l0 etc.  Returns out [T,B,D*H], zero past
    each sequence's end."""
    T, B = x.shape[0], x.shape[1]
    lens = torch.as_tensor(lengths)
    mask = (torch.arange(T).view(T, 1) < lens.view(1, B)).unsqueeze(-1)  # [T,B,1]
    inp = x
    for k in range(layers):
        dirs = []
        for suffix in (["", "_reverse"] if bidirectional else [""]):
            w_ih, w_hh = params(f"weight_ih_l{k}{suffix}"), params(f"weight_hh_l{k}{suffix}")
            b_ih, b_hh = params(f"bias_ih_l{k}{suffix}"), params(f"bias_hh_l{k}{suffix}")
            H = w_hh.shape[1]
            h = x.new_zeros(B, H)
            c = x.new_zeros(B, H) if cell == "lstm" else None
            outs = [None] * T
            order = range(T) if suffix == "" else range(T - 1, -1, -1)
            for t in order:
                hn, cn = cell_step(cell, inp[t], h, c, w_ih, w_hh, b_ih, b_hh)
                h = torch.where(mask[t], hn, h)
                if c is not None:
                    c = torch.where(mask[t], cn, c)
                outs[t] = torch.where(mask[t], h, torch.zeros_like(h))
            dirs.append(torch.stack(outs))
        inp = torch.cat(dirs, dim=-1)
    return inp


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------
class SeqModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        c = cfg["cell"]
        tokens = cfg["inputs"] == "tokens"
        insz = cfg["E"] if tokens else cfg["F"]
        H, L, bi = cfg["H"], cfg["layers"], bool(cfg["bidirectional"])
        if tokens:
            self.emb = nn.Embedding(cfg["V"], cfg["E"])
        if c in ("rnn_tanh", "rnn_relu"):
            self.rnn = nn.RNN(insz, H, L, nonlinearity=c[4:], bidirectional=bi)
        elif c == "lstm":
            self.rnn = nn.LSTM(insz, H, L, bidirectional=bi)
        else:  # lbr_gru is nn.GRU; gru (textbook) uses nn.GRU as parameter container
            self.rnn = nn.GRU(insz, H, L, bidirectional=bi)
        self.head = nn.Linear((2 if bi else 1) * H, cfg["out"])

    def embed(self, x):
        return self.emb(x) if self.cfg["inputs"] == "tokens" else x

    def _last_from_hn(self, hn):
        h = hn[0] if self.cfg["cell"] == "lstm" else hn
        return torch.cat([h[-2], h[-1]], dim=1) if self.cfg["bidirectional"] else h[-1]

    def _last_from_out(self, out, lengths):
        """[n, D*H]: forward output at each sequence's last step, reverse at its first."""
        H = self.cfg["H"]
        rows = []
        for i, l in enumerate(lengths):
            if self.cfg["bidirectional"]:
                rows.append(torch.cat([out[l - 1, i, :H], out[0, i, H:]]))
            else:
                rows.append(out[l - 1, i])
        return torch.stack(rows)

    def run_packed(self, xs):
        """torch's packed path (the truth for the native cells).  Returns
        (per-sequence top-layer outputs [T_i, D*H], last vectors [n, D*H])."""
        assert self.cfg["cell"] != "gru"
        lengths = [len(x) for x in xs]
        inp = self.embed(pad_sequence(xs))
        packed = pack_padded_sequence(inp, torch.as_tensor(lengths), enforce_sorted=False)
        out, hn = self.rnn(packed)
        out, _ = pad_packed_sequence(out)
        return [out[:l, i] for i, l in enumerate(lengths)], self._last_from_hn(hn)

    def run_mask(self, xs):
        """The hand-written mask loop over the padded batch (the truth for the
        textbook GRU; a cross-check for the others)."""
        lengths = [len(x) for x in xs]
        inp = self.embed(pad_sequence(xs))
        out = mask_stack(self.cfg["cell"], lambda n: getattr(self.rnn, n), inp, lengths,
                         self.cfg["layers"], self.cfg["bidirectional"])
        return [out[:l, i] for i, l in enumerate(lengths)], self._last_from_out(out, lengths)

    def run_alone(self, xs):
        """Each sequence alone, as a batch of one without padding."""
        outs, lasts = [], []
        for x in xs:
            inp = self.embed(x).unsqueeze(1)
            if self.cfg["cell"] == "gru":
                o = mask_stack("gru", lambda n: getattr(self.rnn, n), inp, [len(x)],
                               self.cfg["layers"], self.cfg["bidirectional"])
                last = self._last_from_out(o, [len(x)])[0]
            else:
                o, hn = self.rnn(inp)
                last = self._last_from_hn(hn)[0]
            outs.append(o[:, 0])
            lasts.append(last)
        return outs, torch.stack(lasts)

    def loss(self, batch, path="truth"):
        xs, ys = batch
        if path == "truth":
            path = "mask" if self.cfg["cell"] == "gru" else "packed"
        outs, lasts = {"packed": self.run_packed, "mask": self.run_mask,
                       "alone": self.run_alone}[path](xs)
        cfg = self.cfg
        if cfg["per_step"]:
            z = self.head(torch.cat(outs))
            y = torch.cat(ys)
            return F.cross_entropy(z, y) if cfg["task"] == "tag" else F.mse_loss(z, y)
        if cfg["pooling"] == "last":
            feats = lasts
        elif cfg["pooling"] == "mean":
            feats = torch.stack([o.mean(0) for o in outs])
        elif cfg["pooling"] == "max":
            feats = torch.stack([o.max(0).values for o in outs])
        else:
            raise ValueError(cfg["pooling"])
        z = self.head(feats)
        return F.cross_entropy(z, ys) if cfg["task"] == "classify" else F.mse_loss(z, ys)


def tensor_names(cfg):
    names = ["embedding/weight"] if cfg["inputs"] == "tokens" else []
    for k in range(cfg["layers"]):
        for s in (["", "_reverse"] if cfg["bidirectional"] else [""]):
            names += [f"rnn/weight_ih_l{k}{s}", f"rnn/weight_hh_l{k}{s}",
                      f"rnn/bias_ih_l{k}{s}", f"rnn/bias_hh_l{k}{s}"]
    return names + ["head/weight", "head/bias"]


def torch_name(ck_name):
    a, b = ck_name.split("/")
    return {"embedding": "emb", "rnn": "rnn", "head": "head"}[a] + "." + b


def get_params(m):
    sd = m.state_dict()
    return {n: sd[torch_name(n)].detach().cpu().numpy().astype(np.float32)
            for n in tensor_names(m.cfg)}


def build(cfg, params, dtype):
    m = SeqModel(cfg).to(dtype)
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
def make_lengths(rng, n):
    """Lengths 1..~40, a 1 and a >= 34 always present, never sorted."""
    while True:
        lens = rng.integers(1, 31, size=n)
        pos = rng.permutation(n)
        lens[pos[0]] = 1
        lens[pos[1]] = int(rng.integers(34, 41))
        lens[pos[2]] = int(rng.integers(2, 4))
        if not (np.all(np.diff(lens) >= 0) or np.all(np.diff(lens) <= 0)):
            return [int(v) for v in lens]


def make_split(cfg, rng, n):
    lens = make_lengths(rng, n)
    total = sum(lens)
    s = {"offsets": np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)}
    if cfg["inputs"] == "tokens":
        s["tokens"] = rng.integers(0, cfg["V"], size=total).astype(np.int32)
    else:
        s["features"] = rng.standard_normal((total, cfg["F"])).astype(np.float32)
    if cfg["task"] == "classify":
        labels = rng.integers(0, cfg["out"], size=n)
        labels[: min(n, cfg["out"])] = rng.permutation(cfg["out"])[:n]  # every class seen
        s["labels"] = labels.astype(np.int32)
    elif cfg["task"] == "tag":
        s["step_labels"] = rng.integers(0, cfg["out"], size=total).astype(np.int32)
    elif cfg["per_step"]:
        s["targets"] = rng.standard_normal((total, cfg["out"])).astype(np.float32)
    else:
        s["seq_targets"] = rng.standard_normal((n, cfg["out"])).astype(np.float32)
    return s


def vocab_bytes(V):
    return np.frombuffer(bytes(range(ord("a"), ord("a") + V)), dtype=np.uint8)


def write_dataset(path, cfg, splits):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "recur-sequences"
        f.attrs["version"] = 1
        f.attrs["task"] = cfg["task"]
        for name, s in splits.items():
            g = f.create_group(name)
            for k, v in s.items():
                g.create_dataset(k, data=v)
        if cfg["inputs"] == "tokens":
            f.create_dataset("vocab", data=vocab_bytes(cfg["V"]))
        if cfg["task"] in ("classify", "tag"):
            names = [f"class{c}" for c in range(cfg["out"])]
            f.create_dataset("label_names", data=names, dtype=h5py.string_dtype("utf-8"))


def write_checkpoint(path, cfg, params, with_vocab=False):
    tokens = cfg["inputs"] == "tokens"
    with h5py.File(path, "w") as f:
        a = f.attrs
        a["format"] = "recur-checkpoint"
        a["version"] = 1
        a["cell"] = cfg["cell"]
        a["vocab_size"] = cfg["V"] if tokens else 0
        a["embed_size"] = cfg["E"] if tokens else 0
        a["hidden_size"] = cfg["H"]
        a["num_layers"] = cfg["layers"]
        a["task"] = cfg["task"]
        a["bidirectional"] = int(cfg["bidirectional"])
        if not tokens:
            a["input_size"] = cfg["F"]
        if cfg["task"] in ("classify", "tag"):
            a["num_classes"] = cfg["out"]
        else:
            a["output_size"] = cfg["out"]
        if not cfg["per_step"]:
            a["pooling"] = cfg["pooling"]
        for n in tensor_names(cfg):
            f.create_dataset("model/" + n, data=np.asarray(params[n], dtype=np.float32))
        if with_vocab:
            f.create_dataset("vocab", data=vocab_bytes(cfg["V"]))


def batch_of(cfg, split, idx, dtype):
    """Sequences idx of a split as (inputs list, targets) torch tensors."""
    off = split["offsets"]
    xs, ys = [], []
    for i in idx:
        a, b = int(off[i]), int(off[i + 1])
        if cfg["inputs"] == "tokens":
            xs.append(torch.as_tensor(split["tokens"][a:b].astype(np.int64)))
        else:
            xs.append(torch.as_tensor(split["features"][a:b]).to(dtype))
        if cfg["task"] == "tag":
            ys.append(torch.as_tensor(split["step_labels"][a:b].astype(np.int64)))
        elif cfg["task"] == "regress" and cfg["per_step"]:
            ys.append(torch.as_tensor(split["targets"][a:b]).to(dtype))
    if cfg["task"] == "classify":
        ys = torch.as_tensor(split["labels"][list(idx)].astype(np.int64))
    elif cfg["task"] == "regress" and not cfg["per_step"]:
        ys = torch.as_tensor(split["seq_targets"][list(idx)]).to(dtype)
    return xs, ys


def n_seqs(split):
    return len(split["offsets"]) - 1


def batch_indices(n, B, step):
    """--no-shuffle: the sequences of (0-based) step `step`."""
    nb = (n + B - 1) // B
    k = step % nb
    return list(range(k * B, min(k * B + B, n)))


# --------------------------------------------------------------------------
# Eval and training
# --------------------------------------------------------------------------
def eval_loss(cfg, params, split, dtype):
    m = build(cfg, params, dtype)
    with torch.no_grad():
        return float(m.loss(batch_of(cfg, split, range(n_seqs(split)), dtype)))


def train(cfg, params, split, B, opt, lr, steps, dtype):
    m = build(cfg, params, dtype)
    ps = list(m.parameters())
    o = torch.optim.SGD(ps, lr=lr) if opt == "sgd" else torch.optim.Adam(ps, lr=lr)
    losses, norms, batches = [], [], []
    for s in range(steps):
        idx = batch_indices(n_seqs(split), B, s)
        loss = m.loss(batch_of(cfg, split, idx, dtype))
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
    print("torch_seq_reference: SELF-CHECK FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


def selfcheck_textbook_gru():
    """The hand-written textbook GRU: gradcheck through a bidirectional
    2-layer ragged mask stack, and one step against the per-unit formula."""
    g = torch.Generator().manual_seed(4321)
    E, H, L = 3, 4, 2
    lengths = [3, 1, 2]
    T, B = max(lengths), len(lengths)
    cont = nn.GRU(E, H, L, bidirectional=True).double()
    names = [n for n, _ in cont.named_parameters()]
    base = [p.detach().clone() for p in cont.parameters()]
    x = torch.randn(T, B, E, dtype=torch.float64, generator=g)

    def f(*ps):
        d = dict(zip(names, ps))
        out = mask_stack("gru", lambda n: d[n], x, lengths, L, True)
        return out.sum(-1)

    ins = [p.clone().requires_grad_(True) for p in base]
    if not torch.autograd.gradcheck(f, ins, eps=1e-6, atol=1e-8, rtol=1e-6):
        fail("textbook GRU gradcheck")
    # One step, unit by unit: r gates h BEFORE the recurrent product of n.
    xg = torch.randn(1, E, dtype=torch.float64, generator=g)
    hg = torch.randn(1, H, dtype=torch.float64, generator=g)
    w_ih, w_hh = cont.weight_ih_l0.detach(), cont.weight_hh_l0.detach()
    b_ih, b_hh = cont.bias_ih_l0.detach(), cont.bias_hh_l0.detach()
    hn, _ = cell_step("gru", xg, hg, None, w_ih, w_hh, b_ih, b_hh)
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    r = [sig(float(w_ih[j] @ xg[0] + b_ih[j] + w_hh[j] @ hg[0] + b_hh[j])) for j in range(H)]
    rh = torch.tensor([r[j] * float(hg[0, j]) for j in range(H)], dtype=torch.float64)
    for j in range(H):
        z = sig(float(w_ih[H + j] @ xg[0] + b_ih[H + j] + w_hh[H + j] @ hg[0] + b_hh[H + j]))
        n = math.tanh(float(w_ih[2 * H + j] @ xg[0] + b_ih[2 * H + j] + w_hh[2 * H + j] @ rh
                            + b_hh[2 * H + j]))
        want = (1 - z) * float(hg[0, j]) + z * n
        if abs(want - float(hn[0, j])) > 1e-12:
            fail(f"textbook GRU forward, unit {j}: {float(hn[0, j])!r} vs formula {want!r}")


def loss_and_grads(m, batch, path):
    m.zero_grad()
    loss = m.loss(batch, path)
    loss.backward()
    return float(loss), {n: p.grad.detach().clone() for n, p in m.named_parameters()}


def selfcheck_packing(cfg, params, split, B):
    """float64: packed == each sequence alone == mask loop (native cells), on
    a ragged unsorted training batch and on the whole train split."""
    m = build(cfg, params, torch.float64)
    worst = 0.0
    for idx in (batch_indices(n_seqs(split), B, 0), list(range(n_seqs(split)))):
        batch = batch_of(cfg, split, idx, torch.float64)
        lens = [len(x) for x in batch[0]]
        if len(idx) == n_seqs(split):  # make_lengths' promise: ragged and unsorted
            assert sorted(lens) != lens and sorted(lens, reverse=True) != lens, lens
        paths = ["mask", "alone"] if cfg["cell"] == "gru" else ["packed", "alone", "mask"]
        ref_loss, ref_g = loss_and_grads(m, batch, paths[0])
        for p in paths[1:]:
            lo, gr = loss_and_grads(m, batch, p)
            d = abs(lo - ref_loss) / max(abs(ref_loss), 1e-30)
            for n in ref_g:
                scale = 1.0 + float(ref_g[n].abs().max())
                d = max(d, float((gr[n] - ref_g[n]).abs().max()) / scale)
            worst = max(worst, d)
            if not d <= SAME_TOL:
                fail(f"{cfg['name']}: path '{p}' differs from '{paths[0]}' by {d:.3g} on sequences "
                     f"{idx} (lengths {lens})")
        # Some gradient flows to every recurrent tensor and the head.
        for n, gv in ref_g.items():
            if n.startswith(("rnn.", "head.")) and float(gv.abs().max()) == 0.0:
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
    m = SeqModel(cfg)
    with torch.no_grad():  # a bit sharper than torch's init so losses move
        for n, p in m.named_parameters():
            if n.startswith("rnn."):
                p.mul_(1.0 if cfg["cell"] == "rnn_relu" else 1.5)
            elif n.startswith("head."):
                p.mul_(2.0)
    return get_params(m)


def run_case(cfg, ci, outdir, use64):
    name = cfg["name"]
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7000 + ci)
    splits = {"train": make_split(cfg, rng, N_TRAIN), "val": make_split(cfg, rng, N_VAL)}
    write_dataset(os.path.join(d, "data.h5"), cfg, splits)
    with_vocab = cfg["inputs"] == "tokens" and ci % 2 == 0
    data_rel, init_rel = f"{name}/data.h5", f"{name}/init.h5"

    for attempt in range(MAX_SEED_TRIES):
        seed = 2000 + ci + 100 * attempt
        problems, lines, worst64 = [], [], 0.0
        init = init_params(cfg, seed)
        write_checkpoint(os.path.join(d, "init.h5"), cfg, init, with_vocab)
        same = selfcheck_packing(cfg, init, splits["train"], cfg["runs"][0][1])
        case = {"name": name, "seed": seed, "task": cfg["task"], "cell": cfg["cell"],
                "layers": cfg["layers"], "bidirectional": cfg["bidirectional"],
                "inputs": cfg["inputs"], "pooling": cfg["pooling"], "per_step": cfg["per_step"],
                "sizes": {k: cfg[k] for k in ("V", "E", "F", "H", "out") if k in cfg},
                "lengths": {s: np.diff(v["offsets"]).tolist() for s, v in splits.items()},
                "data": data_rel, "init": init_rel, "init_has_vocab": with_vocab,
                "packed_vs_alone_max_diff": same, "eval": [], "runs": []}
        lines.append(f"case {name} {cfg['task']} {cfg['cell']} {cfg['layers']} "
                     f"{cfg['bidirectional']} {cfg['inputs']} {cfg['pooling'] or '-'} "
                     f"{data_rel} {init_rel}")
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
        for rname, B, lr in cfg["runs"]:
            opt = rname
            final, losses, norms, batches = train(cfg, init, splits["train"], B, opt, lr, STEPS,
                                                  torch.float32)
            nb = (N_TRAIN + B - 1) // B
            wraps = wraps or STEPS > nb
            short = short or any(len(b) < B for b in batches)
            run = f"{name}/{rname}"
            exp = f"{name}/expected_{rname}.h5"
            write_checkpoint(os.path.join(outdir, exp), cfg, final)
            cli = ["train", "--data", data_rel, "--init", init_rel, "--steps", str(STEPS),
                   "--no-shuffle", "--batch", str(B), "--optimizer", opt, "--lr", repr(lr),
                   "--clip", "0", "--out", "OUT.h5", "--metrics", "METRICS.jsonl"]
            r = {"name": run, "expected": exp, "args": cli, "batch": B, "steps": STEPS,
                 "batches_per_epoch": nb, "optimizer": opt, "lr": lr, "clip": 0.0,
                 "batches": batches,
                 "batch_lengths": [[case["lengths"]["train"][i] for i in b] for b in batches],
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
            print(f"torch_seq_reference: seed {seed}: {p}; trying other initial weights",
                  file=sys.stderr)
    return case, lines, problems, worst64


def main():
    ap = argparse.ArgumentParser(
        description="PyTorch truth for recur's sequence-model reference tests: datasets, initial "
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

    selfcheck_textbook_gru()
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
            print("torch_seq_reference: " + p, file=sys.stderr)
        return 1
    same = max(c["packed_vs_alone_max_diff"] for c in manifest["cases"])
    print(f"torch_seq_reference: {len(manifest['cases'])} cases, "
          f"{sum(len(c['runs']) for c in manifest['cases'])} training runs written to "
          f"{args.outdir}; packed == alone within {same:.2g} (float64); float32 truth within "
          f"{worst:.3g} of the tolerance vs float64")
    return 0


if __name__ == "__main__":
    sys.exit(main())
