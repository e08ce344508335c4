#!/usr/bin/python3
"""Load a recur checkpoint into PyTorch and score it on a recur token dataset.

    /usr/bin/python3 scripts/torch_checkpoint.py CKPT.h5 DATA.h5 [--split tokens|val_tokens] [--check]

The model is torch.nn.Embedding -> nn.LSTM / nn.GRU / nn.RNN (tanh or relu) ->
nn.Linear, with the checkpoint's /model datasets copied in by name (recur
stores PyTorch's names, shapes and gate order).  The cell `lbr_gru` is exactly
nn.GRU; the textbook `gru` (reset applied before W_hn, h' = (1-z)*h + z*n) has
no torch module, so its forward is written by hand over an nn.GRU used only as
the container of the same parameter names.

Prints {"loss": L, "predictions": N} where L is the mean cross-entropy of
predicting tokens[i+1] from tokens[0..i], i = 0..N-1, from a zero state (what
`recur eval --streams 1` computes).  The forward runs in float64.

--check also runs `$RECUR eval --model CKPT --data DATA --split S --streams 1
--json` (RECUR defaults to bin/recur next to this script) and exits 1 unless
both losses agree to 1e-4 relative.

Needs Debian's torch, h5py and numpy (/usr/bin/python3).
"""
import argparse
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import torch

CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru", "lbr_gru")


def fail(msg):
    print(f"torch_checkpoint: error: {msg}", file=sys.stderr)
    sys.exit(2)


def attr(f, path, name):
    if name not in f.attrs:
        fail(f"{path}: attribute '{name}': expected it, found nothing (missing)")
    v = f.attrs[name]
    return v.decode() if isinstance(v, bytes) else v


class RecurModel(torch.nn.Module):
    def __init__(self, cell, V, E, H, L):
        super().__init__()
        self.cell = cell
        self.embedding = torch.nn.Embedding(V, E)
        if cell == "lstm":
            self.rnn = torch.nn.LSTM(E, H, L)
        elif cell in ("gru", "lbr_gru"):
            self.rnn = torch.nn.GRU(E, H, L)
        else:
            self.rnn = torch.nn.RNN(E, H, L, nonlinearity=cell[4:])
        self.head = torch.nn.Linear(H, V)

    def forward(self, tokens):
        """tokens [T] -> logits [T, V], from a zero state."""
        x = self.embedding(tokens).unsqueeze(1)  # [T, 1, E]
        if self.cell != "gru":
            out, _ = self.rnn(x)
        else:
            out = self.textbook_gru(x)
        return self.head(out[:, 0])

    def textbook_gru(self, x):
        rnn, H = self.rnn, self.rnn.hidden_size
        for k in range(rnn.num_layers):
            w_ih, w_hh = getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}")
            b_ih, b_hh = getattr(rnn, f"bias_ih_l{k}"), getattr(rnn, f"bias_hh_l{k}")
            w_hr, w_hz, w_hn = w_hh[:H], w_hh[H:2 * H], w_hh[2 * H:]
            b_hr, b_hz, b_hn = b_hh[:H], b_hh[H:2 * H], b_hh[2 * H:]
            gi = x @ w_ih.t() + b_ih  # [T, B, 3H], all steps at once
            h = x.new_zeros(x.shape[1], H)
            outs = []
            for t in range(x.shape[0]):
                i_r, i_z, i_n = gi[t].chunk(3, dim=1)
                r = torch.sigmoid(i_r + h @ w_hr.t() + b_hr)
                z = torch.sigmoid(i_z + h @ w_hz.t() + b_hz)
                n = torch.tanh(i_n + (r * h) @ w_hn.t() + b_hn)
                h = (1 - z) * h + z * n
                outs.append(h)
            x = torch.stack(outs)
        return x


def load(path):
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        fail(f"{path}: expected a readable HDF5 file ({e})")
    with f:
        fmt = attr(f, path, "format")
        if fmt != "recur-checkpoint":
            fail(f"{path}: attribute 'format': expected the string \"recur-checkpoint\", found \"{fmt}\"")
        cell = attr(f, path, "cell")
        if cell not in CELLS:
            fail(f"{path}: attribute 'cell': expected one of {', '.join(CELLS)}, found \"{cell}\"")
        V, E, H, L = (int(attr(f, path, k)) for k in ("vocab_size", "embed_size", "hidden_size", "num_layers"))
        m = RecurModel(cell, V, E, H, L)
        sd = m.state_dict()
        for name, p in sd.items():
            ds = "model/" + name.replace(".", "/")
            if ds not in f:
                fail(f"{path}: dataset '/{ds}': expected float32 {list(p.shape)}, found nothing (missing)")
            x = f[ds][...]
            if x.dtype != np.float32 or list(x.shape) != list(p.shape):
                fail(f"{path}: dataset '/{ds}': expected float32 {list(p.shape)}, found {x.dtype} {list(x.shape)}")
            sd[name] = torch.from_numpy(x)
        m.load_state_dict(sd)
    return m.double().eval()


def read_tokens(path, split):
    try:
        with h5py.File(path, "r") as f:
            if split not in f:
                fail(f"{path}: dataset '/{split}': expected int32 [N], found nothing (missing)")
            return torch.from_numpy(f[split][...].astype(np.int64))
    except OSError as e:
        fail(f"{path}: expected a readable HDF5 file ({e})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ckpt")
    ap.add_argument("data")
    ap.add_argument("--split", default="tokens", choices=("tokens", "val_tokens"))
    ap.add_argument("--check", action="store_true", help="compare with `recur eval --streams 1` (1e-4 relative)")
    a = ap.parse_args()
    m = load(a.ckpt)
    tok = read_tokens(a.data, a.split)
    if tok.numel() < 2:
        fail(f"{a.data}: dataset '/{a.split}': expected at least 2 tokens, found {tok.numel()}")
    V = m.head.out_features
    if int(tok.min()) < 0 or int(tok.max()) >= V:
        fail(f"{a.data}: dataset '/{a.split}': expected ids in [0, {V}), found [{int(tok.min())}, {int(tok.max())}]")
    torch.set_num_threads(1)
    with torch.no_grad():
        logits = m(tok[:-1])
        loss = torch.nn.functional.cross_entropy(logits, tok[1:]).item()
    rec = {"loss": loss, "predictions": tok.numel() - 1}
    if a.check:
        here = os.path.dirname(os.path.abspath(__file__))
        recur = os.environ.get("RECUR") or os.path.join(here, "..", "bin", "recur")
        cmd = [recur, "eval", "--model", a.ckpt, "--data", a.data, "--split", a.split, "--streams", "1", "--json"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            print(json.dumps(rec))
            fail(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
        theirs = json.loads(p.stdout.strip().splitlines()[-1])["loss"]
        rel = abs(theirs - loss) / max(abs(loss), 1e-30)
        rec.update(recur_loss=theirs, rel_diff=rel, agree=rel <= 1e-4)
        print(json.dumps(rec))
        sys.exit(0 if rel <= 1e-4 else 1)
    print(json.dumps(rec))


if __name__ == "__main__":
    main()
